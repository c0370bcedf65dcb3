/*
 * maintenance.h - preventive maintenance records: what was done to a device,
 * when, by whom, and whether it works as it should afterwards. The latest
 * record is what a "pm" schedule counts from (schedule.h).
 */
#ifndef BENCHSIDE_EQUIP_MAINTENANCE_H
#define BENCHSIDE_EQUIP_MAINTENANCE_H

#include <jansson.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

/*
 * Record maintenance done on the asset tagged tag:
 *   {"performed_at"?:ISO 8601 (default now, never in the future),
 *    "by"? (default the signed-in user),"notes"?,"passed":true|false}
 * A retired asset is refused (ERR_CONFLICT naming "tag"); an unknown tag is
 * ERR_NOT_FOUND. *out is the record (new reference). Audited as
 * equip.pm.record; the results held from the asset's instrument are looked
 * at again.
 */
err_t equip_pm_record(db *d, const audit_ctx *ctx, const char *tag, const json_t *body,
                      json_t **out, errinfo *ei);

/* The maintenance records of an asset, latest first (at most 200). */
err_t equip_pm_list(db *d, const char *tag, json_t **items, errinfo *ei);

#endif
