/*
 * record.h - what the records of work done on a device share (maintenance,
 * calibration, checks): the asset they are for, when and by whom the work
 * was done, the transaction they are written in with their audit event, and
 * the look again at results held from the device once it is written.
 */
#ifndef BENCHSIDE_EQUIP_RECORD_H
#define BENCHSIDE_EQUIP_RECORD_H

#include <jansson.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "base/id.h"
#include "equip/asset.h"
#include "store/db.h"
#include "store/dbjson.h"

typedef struct equip_record_head {
    char asset_id[ID_LEN + 1];
    char tag[EQUIP_TAG_MAX + 1];
    char cls[EQUIP_CLASS_MAX + 1];
    char instrument[65]; /* "" when the asset has none */
    int64_t performed_at;
    int64_t now;
    char by[EQUIP_TEXT_MAX + 1]; /* who did the work */
    const char *recorder;        /* who records it (the actor) */
} equip_record_head;

/*
 * Read what every record has: the asset tagged tag (named by field: "tag",
 * a path parameter, gives ERR_NOT_FOUND when unknown; another field gives
 * ERR_INVALID naming it; a retired asset is ERR_CONFLICT), "performed_at"
 * (default now, never in the future) and "by" (default the actor) of body;
 * then open the transaction the record is written in. On failure nothing is
 * open.
 */
err_t equip_record_begin(db *d, const audit_ctx *ctx, const char *tag, const char *field,
                         const json_t *body, equip_record_head *h, errinfo *ei);

/*
 * Finish the record: with rc (the outcome so far) ERR_OK, write the audit
 * event action on entity id with detail, look again at the results held
 * from the asset's instrument, and commit; otherwise, or when any of that
 * fails, roll back. Returns the outcome.
 */
err_t equip_record_end(db *d, const audit_ctx *ctx, const equip_record_head *h, err_t rc,
                       const char *action, const char *entity, const char *id, const json_t *detail,
                       errinfo *ei);

/* The rows of sql (one text parameter: the asset's tag) made into JSON by
 * row; ERR_NOT_FOUND naming "tag" when no asset has that tag. */
err_t equip_record_list(db *d, const char *sql, const char *tag, json_t *(*row)(db_stmt *),
                        json_t **items, errinfo *ei);

/*
 * db_row_json (store/dbjson.h) with the message every module of equip/
 * gives when the row is missing: "no <what> <key>". rc is what db_query()
 * returned for st; st is finalized here.
 */
err_t equip_row(err_t rc, db_stmt *st, json_t *(*row)(db_stmt *), json_t **out, const char *field,
                const char *what, const char *key, errinfo *ei);

#endif
