/*
 * asset.h - the asset register: every device a department keeps, from
 * chemistry analyzers and MRI scanners to pipettes and the calibration
 * standards themselves (table assets, migration 0010).
 *
 * An asset is known by its tag (the inventory label on the device, e.g.
 * BME-00412: letters, digits, '-', '_', '.', at most EQUIP_TAG_MAX bytes). Its
 * class is one of the table in asset.c (equip_class_valid). It may be linked
 * to one instrument of the interface register (instruments.name), and an
 * instrument to at most one asset: the release gate finds a result's device
 * through that link (equip/fitness.h).
 *
 * Status: in-service, out-of-service or retired. Taking an asset out of
 * service or retiring it needs a reason; a retired asset never comes back
 * and its record is no longer edited.
 *
 * Every write is audited in the transaction that makes it; a refused request
 * writes nothing and names the field at fault.
 */
#ifndef BENCHSIDE_EQUIP_ASSET_H
#define BENCHSIDE_EQUIP_ASSET_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

#define EQUIP_TAG_MAX    32   /* tags, storage-unit names, template codes: bytes */
#define EQUIP_TEXT_MAX   128  /* manufacturer, model, serial, location, owner: bytes */
#define EQUIP_REASON_MAX 1000 /* a status reason, notes: bytes */
#define EQUIP_STATUS_MAX 16   /* "out-of-service" and its NUL fit */
#define EQUIP_IMPORT_MAX 5000 /* assets in one import document */
#define EQUIP_PAGE_MAX   500  /* assets in one page of the list */
#define EQUIP_CLASS_MAX  32   /* the longest class name: bytes */
#define EQUIP_SKEW_US    (5 * 60 * 1000000LL) /* how far ahead a client's clock may be */

/* Whether s is a tag (or a storage-unit name, a template code): 1 to
 * EQUIP_TAG_MAX of letters, digits, '-', '_' and '.'. */
bool equip_name_valid(const char *s);

/* Say where in a document the field named in ei is: with where
 * "points[2]", the field "unit" becomes "points[2].unit" and the message
 * is prefixed "points[2]: ". Returns rc. */
err_t equip_field_at(errinfo *ei, err_t rc, const char *where);

/* Whether cls is one of the asset classes of the table in asset.c. */
bool equip_class_valid(const char *cls);

/* The classes, comma-separated, for messages and documentation (static). */
const char *equip_class_names(void);

/*
 * Register an asset:
 *   {"tag","class","manufacturer","model","serial","location",
 *    "risk_class":"low|medium|high","owner","install_date"?:"YYYY-MM-DD",
 *    "instrument"?,"status"?,"status_reason"?}
 * status defaults to in-service; out-of-service and retired need
 * status_reason. The install date is not in the future. ERR_CONFLICT naming
 * "tag" when the tag is taken, "instrument" when another asset is linked to
 * that instrument. *out is the asset as equip_asset_get() gives it (new
 * reference). Audited as equip.asset.create.
 */
err_t equip_asset_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                         errinfo *ei);

/*
 * Assets by tag, filtered by class, status and location (each NULL for
 * any; an unknown class or status is ERR_INVALID naming it). At most limit
 * (1..EQUIP_PAGE_MAX) after the tag cursor (NULL: from the first). *items is
 * a new array; *next the cursor of the following page (new string) or NULL
 * when there is none.
 */
err_t equip_asset_list(db *d, const char *cls, const char *status, const char *location,
                       const char *cursor, int limit, json_t **items, json_t **next, errinfo *ei);

/* One asset by tag; ERR_NOT_FOUND naming "tag" when there is none. *out is
 * a new reference. */
err_t equip_asset_get(db *d, const char *tag, json_t **out, errinfo *ei);

/*
 * Replace what the register says of an asset (everything but its tag and
 * status): {"class","manufacturer","model","serial","location","risk_class",
 * "owner","install_date"?,"instrument"?}; an absent optional field is
 * cleared. A retired asset is not edited (ERR_CONFLICT naming "tag").
 * *out is the asset. Audited as equip.asset.update with the fields changed.
 */
err_t equip_asset_update(db *d, const audit_ctx *ctx, const char *tag, const json_t *body,
                         json_t **out, errinfo *ei);

/*
 * Change the status of the asset asset_id (an id, not a tag) to status
 * (in-service, out-of-service, retired) for reason (needed for
 * out-of-service and retired: ERR_INVALID naming "reason"; may be NULL for
 * in-service). ERR_CONFLICT naming "status" when the asset has that status
 * already or is retired; ERR_NOT_FOUND naming "asset" when there is none.
 * Runs in a transaction of its own, or as a savepoint of the caller's (a
 * work order puts its asset out of service in its own transaction).
 * Audited as equip.asset.status. Returning to service looks again at the
 * results the release gate held from the asset's instrument.
 */
err_t equip_asset_set_status(db *d, const audit_ctx *ctx, const char *asset_id, const char *status,
                             const char *reason, errinfo *ei);

/* The same by tag with a body {"status","reason"?}; *out is the asset. */
err_t equip_asset_status(db *d, const audit_ctx *ctx, const char *tag, const json_t *body,
                         json_t **out, errinfo *ei);

/*
 * The id of the asset tagged tag into id, and its status into status (may
 * be NULL; EQUIP_STATUS_MAX bytes). ERR_INVALID naming field ("asset",
 * "standard"...) when no asset has that tag, so that a request naming one
 * gets a 400 for its field.
 */
err_t equip_asset_id(db *d, const char *tag, const char *field, char id[ID_LEN + 1], char *status,
                     errinfo *ei);

/*
 * Import a register: a JSON array of assets as equip_asset_create() takes
 * them, all checked first (errors name "assets[i].field"), then written in
 * one transaction; an asset whose tag exists already is refused
 * (ERR_CONFLICT). *count is the number written. Audited as
 * equip.asset.import.
 */
err_t equip_asset_import(db *d, const audit_ctx *ctx, const json_t *doc, int *count, errinfo *ei);

#endif
