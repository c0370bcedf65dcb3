/*
 * stock.h - supplies: the items a laboratory stocks (reagents, controls,
 * calibrators, tubes, phlebotomy supplies, PPE), their lots with expiry,
 * storage and open-vial stability, every movement of stock, lot-to-lot
 * verification of new lots, the reagent lot in use on each instrument and
 * what each result consumed of it, the release gate's reagent-lot check,
 * alerts and the reorder list.
 *
 * Quantities are exact: millionths of the item's unit of issue inside
 * (int64_t), JSON numbers with at most six decimals outside. Quantity on
 * hand is the sum of a lot's movements, never a field edited in place:
 *
 *   receive   creates the lot (with its expiry) or adds to it, at a storage unit
 *   use       takes from a storage unit; by hand, or by a result (see below)
 *   transfer  moves between two storage units (one row each side)
 *   dispose   takes out with a reason
 *   count     a physical count at a storage unit: the difference between what
 *             was found and what was on hand there is recorded as an adjustment
 *
 * A movement by hand is refused (ERR_INVALID or ERR_CONFLICT, naming the
 * field, nothing written) when it would leave less than nothing at its
 * storage unit, when the lot is expired at the movement's time (except a
 * disposal), when its quantity is not positive, when its time is in the
 * future or before the lot was received, and when the storage unit is not
 * one of the register's (table storage_units).
 *
 * A result from an instrument consumes, in the transaction that stores it,
 * uses_per_test of every reagent lot in use on that instrument for items
 * serving its test (stock_consume). That use is never refused: a result must
 * not fail because the books say the stock ran out; what is on hand may then
 * become negative, which the alerts show as a discrepancy to count.
 *
 * The gate (stock_gate_reason) judges the lots that measured a result, never
 * the lot in use when someone releases it: expiry and open-vial stability at
 * the time of measurement, verification at the time of release (a result
 * measured with a lot in quarantine waits until that lot's verification is
 * accepted; stock_verification_record re-checks such results).
 *
 * Every write is audited in the transaction that makes it. Ownership: every
 * json_t ** out is a new reference the caller releases; strings passed in are
 * borrowed for the call.
 */
#ifndef BENCHSIDE_STOCK_STOCK_H
#define BENCHSIDE_STOCK_STOCK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define STOCK_CODE_MAX      32         /* item codes: letters, digits, '-', '_', '.' */
#define STOCK_LOT_MAX       40         /* lot numbers, bytes */
#define STOCK_TEXT_MAX      128        /* names, suppliers, bytes */
#define STOCK_NOTE_MAX      1000       /* reasons, notes, criteria, bytes */
#define STOCK_UNIT_MAX      16         /* units of issue, bytes */
#define STOCK_ITEMS_MAX     1000       /* items in one import */
#define STOCK_TESTS_MAX     50         /* tests one item serves */
#define STOCK_QTY_SCALE     1000000LL  /* millionths of a unit */
#define STOCK_QTY_MAX       1000000000 /* the largest quantity, in units */
#define STOCK_OPEN_DAYS_MAX 3650
#define STOCK_ALERT_DAYS    30 /* expiring within, by default */
#define STOCK_LIST_MAX      500

/* ---- pure: no database ---- */

/*
 * v (a JSON number) as millionths into *out: at most six decimals, at most
 * STOCK_QTY_MAX, greater than 0 (or at least 0 when zero_ok). ERR_INVALID
 * naming field otherwise.
 */
err_t stock_qty_parse(const json_t *v, const char *field, bool zero_ok, int64_t *out, errinfo *ei);

/* Millionths as a JSON number: an integer when whole. New reference. */
json_t *stock_qty_json(int64_t micro);

/* Millionths as decimal text ("7", "-0.25"), for messages; out holds 32 bytes. */
const char *stock_qty_text(int64_t micro, char out[32]);

/*
 * How much to order of an item with on_hand, reorder_point and
 * reorder_quantity (> 0), all in millionths: 0 when on_hand is above the
 * reorder point, else the smallest multiple of reorder_quantity that brings
 * on hand above it (on hand 3, point 5, quantity 10: 10; on hand -12: 20).
 */
int64_t stock_order_quantity(int64_t on_hand, int64_t reorder_point, int64_t reorder_quantity);

/* What the gate knows of one lot that measured a result. */
typedef struct stock_lot_state {
    const char *item, *lot; /* for the message */
    const char *expiry;     /* YYYY-MM-DD, usable through that day (UTC) */
    int64_t opened_at;      /* 0 when never opened */
    int open_days;          /* open-vial stability; 0 when none is set */
    bool needs_verification;
    bool verified; /* an accepted verification is on record (now) */
} stock_lot_state;

/*
 * Whether a lot was unfit for a measurement at time at: expired (at is after
 * its expiry day), past its open-vial stability (at is more than open_days
 * after it was opened), or not verified. why (n bytes) says which, naming
 * the item and the lot; "" when fit.
 */
bool stock_lot_unfit(const stock_lot_state *l, int64_t at, char *why, size_t n);

/* ---- items ---- */

/*
 * Add or update items: {"items":[{"code","name","kind","unit","supplier"?,
 * "catalogue_number"?,"reorder_point","reorder_quantity",
 * "open_stability_days"?,"storage"?,"tests"?:[catalog codes],
 * "uses_per_test"?}]}, all checked first, then written at once (an item's
 * tests are replaced). kind: reagent, control, calibrator, tube,
 * phlebotomy-supply, ppe, other. open_stability_days and tests are for
 * reagents, controls and calibrators; uses_per_test for reagents, and
 * required for one that serves tests. An item with lots keeps its kind
 * (ERR_CONFLICT naming items[i].kind). *items is the items written, as
 * stock_item_get gives them. Audited as stock.items.import.
 */
err_t stock_items_import(db *d, const audit_ctx *ctx, const json_t *doc, json_t **items,
                         errinfo *ei);

/* Every item (kind NULL) or those of one kind, by code, each with its
 * quantity on hand (all lots not disposed). */
err_t stock_items_list(db *d, const char *kind, json_t **items, errinfo *ei);

/* One item by code with its lots; ERR_NOT_FOUND naming "code" when none. */
err_t stock_item_get(db *d, const char *code, json_t **out, errinfo *ei);

/* ---- lots and movements ---- */

/* Lots, by item code and expiry, at most STOCK_LIST_MAX; each filter NULL
 * for any: item code, status (quarantine, verified, available, depleted,
 * disposed), location (lots with stock there). */
err_t stock_lots_list(db *d, const char *item, const char *status, const char *location,
                      json_t **items, errinfo *ei);

/* One lot with its quantity per storage unit, its movements (newest first,
 * at most STOCK_LIST_MAX), verifications and use on instruments.
 * ERR_NOT_FOUND naming "id". */
err_t stock_lot_get(db *d, const char *id, json_t **out, errinfo *ei);

/*
 * Record one movement by hand:
 *   {"kind":"receive","item","lot","quantity","location","expiry","at"?,"note"?}
 *   {"kind":"use","item","lot","quantity","location","at"?,"note"?}
 *   {"kind":"transfer","item","lot","quantity","from","to","at"?,"note"?}
 *   {"kind":"dispose","item","lot","quantity","location","reason","at"?}
 *   {"kind":"count","item","lot","counted","location","at"?,"note"?}
 * at: ISO 8601 (default now). A receipt of a new lot number creates the lot
 * (expiry required; a known lot's expiry must match when given). See the
 * top of this file for what is refused. *out is {"movements":[...],"lot"}
 * (a count's movement holds the adjustment). Audited as stock.movement.
 */
err_t stock_movement_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                            errinfo *ei);

typedef struct stock_movement_filter {
    const char *item, *lot_id, *kind; /* NULL: any */
    int64_t from, to;                 /* times of the movements; 0: open */
    int limit;                        /* 1..STOCK_LIST_MAX */
} stock_movement_filter;

/* Movements, newest first. */
err_t stock_movements_list(db *d, const stock_movement_filter *f, json_t **items, errinfo *ei);

/* ---- verification and use on instruments ---- */

/*
 * Record a lot-to-lot verification: {"item","lot","compared_lot"?,"samples",
 * "mean_difference","bias_percent"?,"criterion","accepted","note"?}, by the
 * signed-in supervisor (ctx). Only reagents, controls and calibrators; one
 * accepted verification per lot (ERR_CONFLICT after it). Accepted: the lot
 * becomes verified and the results it measured that wait for review are
 * checked again (released when nothing else holds them). *out is
 * {"verification","lot","released":[result ids]}. Audited as
 * stock.verification.
 */
err_t stock_verification_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                                errinfo *ei);

/* Verifications, newest first; item code NULL for all. */
err_t stock_verifications_list(db *d, const char *item, json_t **items, errinfo *ei);

/*
 * Put a reagent lot in use on an instrument: {"item","lot","location"?}.
 * One lot in use per item and instrument: the previous one is taken out of
 * use (kept in the history). location is the storage unit its stock is
 * drawn from (default: the one holding most of it; it must hold some). The
 * lot's opening is set now when it was never opened. A lot expired, past
 * its open-vial stability or not verified is recorded all the same (what is
 * loaded on the analyzer is a fact; the gate holds what it measures), with
 * "warnings" in the answer. *out is the instrument's reagents as
 * stock_reagents_get gives them. Audited as stock.reagent.in-use.
 */
err_t stock_reagent_put(db *d, const audit_ctx *ctx, const char *instrument, const json_t *body,
                        json_t **out, errinfo *ei);

/* Take an item's lot out of use on an instrument (ERR_NOT_FOUND naming
 * "item" when none is in use). Audited as stock.reagent.out-of-use. */
err_t stock_reagent_remove(db *d, const audit_ctx *ctx, const char *instrument, const char *item,
                           json_t **out, errinfo *ei);

/* {"instrument","in_use":[...],"history":[...]}: the lots in use on an
 * instrument and the earlier ones (newest first, at most STOCK_LIST_MAX).
 * ERR_NOT_FOUND naming "name" when there is no such instrument. */
err_t stock_reagents_get(db *d, const char *instrument, json_t **out, errinfo *ei);

/*
 * Consumption by a new result of test on instrument at time at, inside the
 * caller's transaction (lab/result.c calls it for every result stored with
 * an instrument): for each reagent lot in use there whose item serves test,
 * a use of the item's uses_per_test linked to result_id, from the lot's
 * storage unit; never refused for want of stock. Audited as stock.consume
 * when it used anything.
 */
err_t stock_consume(db *d, const audit_ctx *ctx, const char *result_id, const char *test,
                    const char *instrument, int64_t at, errinfo *ei);

/*
 * The release gate's reagent-lot check for result_id, measured at
 * resulted_at: why (n bytes) names the item, the lot and the reason when a
 * lot that measured it was expired or past its open-vial stability then, or
 * is not verified now; "" when none.
 */
err_t stock_gate_reason(db *d, const char *result_id, int64_t resulted_at, char *why, size_t n,
                        errinfo *ei);

/* ---- alerts, reorder, what a storage unit holds ---- */

/*
 * Alerts: items at or below their reorder point ("reorder-point"), lots with
 * stock expiring within days (default STOCK_ALERT_DAYS; "expiring") or
 * expired ("expired"), lots in use past their open-vial stability
 * ("open-stability"), and negative quantities at a storage unit
 * ("discrepancy": consumption outran the books; count it). Each
 * {"kind","item","name","lot"?,"lot_id"?,"location"?,"expiry"?,"on_hand",
 * "message"}.
 */
err_t stock_alerts(db *d, int days, json_t **items, errinfo *ei);

/* The reorder list: {"suppliers":[{"supplier","items":[{"item","name",
 * "catalogue_number","unit","on_hand","reorder_point","reorder_quantity",
 * "order_quantity"}]}]}, items at or below their reorder point per
 * supplier (null: none recorded). On hand counts lots not expired today and
 * not disposed. */
err_t stock_reorder(db *d, json_t **out, errinfo *ei);

/* Lots with a quantity on hand above 0 at storage unit `unit`:
 * [{"item","name","lot","lot_id","expiry","quantity","unit_of_issue"}], by
 * item and lot. An unknown unit gives an empty list. */
err_t stock_lots_at(db *d, const char *unit, json_t **items, errinfo *ei);

#endif
