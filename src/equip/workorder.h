/*
 * workorder.h - work orders: a fault reported on an asset, what was done
 * about it, and its return to service; downtime and availability.
 *
 * An order goes open -> returned (a verification passed; the asset is back
 * in service) -> closed. An order of severity high or critical takes the
 * asset out of service unless it says otherwise (low and medium leave it in
 * service unless they say so). Troubleshooting notes, parts used and vendor
 * service are entries appended to the order, never changed. The return to
 * service records a verification: what was checked and its outcome; a failed
 * one is kept on the order and the asset stays out of service. The asset is
 * put back in service only when no other open order still holds it out.
 * An order that took the asset out of service closes after its return; the
 * others close at any time.
 *
 * Downtime of an order that took the asset out of service runs from the
 * report to the return to service (until now while it is not back).
 * Availability of an asset in a month is 1 - its downtime within the month /
 * the month's length, the downtime of overlapping orders counted once.
 * Months are UTC.
 *
 * Every write is audited in the transaction that makes it; a refused request
 * writes nothing and names the field at fault.
 */
#ifndef BENCHSIDE_EQUIP_WORKORDER_H
#define BENCHSIDE_EQUIP_WORKORDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define EQUIP_WO_TEXT_MAX  2000 /* faults, notes, resolutions: bytes */
#define EQUIP_WO_NAME_MAX  128  /* part numbers, vendors, references: bytes */
#define EQUIP_WO_QTY_MAX   100000
#define EQUIP_WO_COST_MAX  100000000000LL /* cents: a billion in the currency */
#define EQUIP_WO_ENTRY_MAX 1000           /* entries on one order */

/* ---- downtime and availability: pure ---- */

/* A time interval [from, to), UTC microseconds. */
typedef struct equip_interval {
    int64_t from, to;
} equip_interval;

/*
 * The time within [from, to) covered by at least one of iv[0..n): the
 * intervals are clipped to the window and overlapping ones counted once.
 * iv is sorted in place. Empty or reversed intervals count nothing.
 */
int64_t equip_downtime(equip_interval *iv, size_t n, int64_t from, int64_t to);

/* 1 - downtime / (to - from), in [0, 1]; 1 for an empty window. */
double equip_availability(int64_t downtime, int64_t from, int64_t to);

/* The UTC month "YYYY-MM" as [from, to); ERR_INVALID naming "month" for
 * anything else (a year before 1900 included). */
err_t equip_month(const char *month, int64_t *from, int64_t *to, errinfo *ei);

/* ---- on record ---- */

/*
 * Report a fault:
 *   {"asset":"<tag>","fault","severity":"low|medium|high|critical",
 *    "out_of_service"?:bool,"reported_at"?}
 * by u (the signed-in user). reported_at (ISO 8601, default now) is not in
 * the future. A retired asset takes no work orders (ERR_CONFLICT, field
 * "asset"); an unknown tag is ERR_INVALID naming "asset". When the order
 * takes it out of service the asset's status becomes out-of-service. *out is
 * the order as equip_workorder_get() gives it. Audited as
 * equip.work_order.report.
 */
err_t equip_workorder_report(db *d, const audit_ctx *ctx, const user *u, const json_t *body,
                             json_t **out, errinfo *ei);

/*
 * Orders, newest report first (at most 500): asset a tag or NULL, status
 * NULL or one of open, returned, closed. Summaries without their entries.
 * ERR_INVALID naming "asset" for an unknown tag. *items is a new reference.
 */
err_t equip_workorders_list(db *d, const char *asset, const char *status, json_t **items,
                            errinfo *ei);

/*
 * One order with its entries in order, the cost of its parts and its
 * downtime: {"id","asset","asset_id","fault","severity","out_of_service",
 * "status","reported_at","reported_by","returned_at","returned_by",
 * "closed_at","closed_by","resolution","downtime_seconds",
 * "parts_cost_cents","asset_status","entries":[...]}. ERR_NOT_FOUND (field
 * "id"). *out is a new reference.
 */
err_t equip_workorder_get(db *d, const char *id, json_t **out, errinfo *ei);

/*
 * Append an entry to an order that is not closed:
 *   {"kind":"note","note"}
 *   {"kind":"part","part_number","description","quantity","cost_cents"}
 *   {"kind":"vendor","vendor","reference","visit_date","note"?}
 * quantity is 1 to EQUIP_WO_QTY_MAX, cost_cents (of the whole line) 0 to
 * EQUIP_WO_COST_MAX; visit_date is YYYY-MM-DD, not in the future.
 * ERR_CONFLICT when the order is closed. *out is the order. Audited as
 * equip.work_order.entry.
 */
err_t equip_workorder_entry(db *d, const audit_ctx *ctx, const user *u, const char *id,
                            const json_t *body, json_t **out, errinfo *ei);

/*
 * Return to service with a verification:
 *   {"verified","outcome":"pass|fail","record_id"?,"note"?,"at"?}
 * verified says what was checked; record_id names the calibration or
 * checklist record it rests on. at (default now) is not in the future nor
 * before the report. The verification is appended as an entry either way.
 * On pass the order becomes "returned" at that time and, unless another open
 * order holds the asset out of service, the asset is in service again; on
 * fail nothing else changes. ERR_CONFLICT unless the order is open. *out is
 * the order. Audited as equip.work_order.return_to_service (outcome in the
 * detail).
 */
err_t equip_workorder_return(db *d, const audit_ctx *ctx, const user *u, const char *id,
                             const json_t *body, json_t **out, errinfo *ei);

/*
 * Close an order: {"resolution"}, what fixed it. An order that took the
 * asset out of service must have been returned to service first
 * (ERR_CONFLICT otherwise); ERR_CONFLICT when closed already. *out is the
 * order. Audited as equip.work_order.close.
 */
err_t equip_workorder_close(db *d, const audit_ctx *ctx, const user *u, const char *id,
                            const json_t *body, json_t **out, errinfo *ei);

/*
 * Availability of assets in a month ("YYYY-MM"): of the asset with tag
 * asset, or of every asset (asset NULL) by tag. Each:
 *   {"asset","asset_id","class","status","month","month_seconds",
 *    "downtime_seconds","availability_percent","work_orders":[ids]}
 * availability_percent is rounded to two decimals; work_orders lists the
 * orders whose downtime falls in the month. For one asset *out is that
 * object; for every asset {"month","items":[...]}. Downtime of an order not
 * back in service runs until now. ERR_NOT_FOUND (field "tag") for an
 * unknown tag. New reference.
 */
err_t equip_availability_month(db *d, const char *asset, const char *month, json_t **out,
                               errinfo *ei);

#endif
