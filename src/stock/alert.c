/*
 * alert.c - what supplies need attention (see stock.h): items at or below
 * their reorder point, lots expiring or expired with stock, lots in use past
 * their open-vial stability, quantities that went below nothing; the reorder
 * list per supplier; and what a storage unit holds.
 *
 * Alerts are read from the records each time they are asked for, never
 * stored: an alert is gone as soon as its cause is (a count, a receipt, a
 * disposal), and nobody has to close it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "stock/stock_impl.h"

#define DAY_US (86400LL * 1000000LL)

/* On hand that counts for reordering: lots not disposed and not expired. */
static const char sql_usable[] =
    "SELECT i.code, i.name, i.unit, i.supplier, i.catalogue_number, i.reorder_point,"
    " i.reorder_quantity, (SELECT CAST(COALESCE(SUM(m.quantity), 0) AS BIGINT)"
    " FROM stock_movements m JOIN stock_lots l ON l.id = m.lot_id WHERE l.item_id = i.id"
    " AND l.status <> 'disposed' AND l.expiry >= ?) FROM stock_items i"
    " ORDER BY COALESCE(i.supplier, ''), i.code";
static const char sql_expiring[] =
    "SELECT i.code, i.name, i.unit, l.lot, l.id, l.expiry, (SELECT CAST(COALESCE(SUM(m.quantity),"
    " 0) AS BIGINT) FROM stock_movements m WHERE m.lot_id = l.id) FROM stock_lots l"
    " JOIN stock_items i ON i.id = l.item_id WHERE l.status <> 'disposed' AND l.expiry <= ?"
    " ORDER BY l.expiry, i.code, l.lot";
static const char sql_open[] =
    "SELECT i.code, i.name, i.unit, l.lot, l.id, l.expiry, u.instrument, l.opened_at,"
    " i.open_stability_days FROM stock_in_use u JOIN stock_lots l ON l.id = u.lot_id"
    " JOIN stock_items i ON i.id = u.item_id WHERE u.ended_at IS NULL AND l.opened_at IS NOT NULL"
    " AND i.open_stability_days IS NOT NULL ORDER BY i.code, l.lot";
static const char sql_negative[] =
    "SELECT i.code, i.name, i.unit, l.lot, l.id, l.expiry, m.location,"
    " CAST(SUM(m.quantity) AS BIGINT) FROM stock_movements m JOIN stock_lots l ON l.id = m.lot_id"
    " JOIN stock_items i ON i.id = l.item_id GROUP BY i.code, i.name, i.unit, l.lot, l.id,"
    " l.expiry, m.location HAVING SUM(m.quantity) < 0 ORDER BY i.code, l.lot, m.location";
static const char sql_at[] =
    "SELECT i.code, i.name, l.lot, l.id, l.expiry, CAST(SUM(m.quantity) AS BIGINT), i.unit"
    " FROM stock_movements m JOIN stock_lots l ON l.id = m.lot_id"
    " JOIN stock_items i ON i.id = l.item_id WHERE m.location = ?"
    " GROUP BY i.code, i.name, l.lot, l.id, l.expiry, i.unit HAVING SUM(m.quantity) > 0"
    " ORDER BY i.code, l.lot";

static void add_days(const char *day, int days, char out[11])
{
    int64_t t = 0;
    errinfo e2 = {0};
    if (time_parse_iso(day, strlen(day), &t, &e2))
        t = time_now_us();
    time_format_date(t + (int64_t)days * DAY_US, out);
}

/* Append a new object to items (it is NULL when it could not be made). */
static err_t push(json_t *items, json_t *alert)
{
    if (!alert || json_array_append_new(items, alert))
        return ERR_NOMEM;
    return ERR_OK;
}

static err_t reorder_alerts(db *d, const char *today, json_t *items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_usable, "t", today);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        int64_t point = db_col_int64(st, 5), on_hand = db_col_int64(st, 7);
        char msg[256], a[32], b[32];
        if (on_hand > point)
            continue;
        snprintf(msg, sizeof(msg), "%s: %s %s usable on hand, at or below the reorder point of %s",
                 db_col_text(st, 0), stock_qty_text(on_hand, a), db_col_text(st, 2),
                 stock_qty_text(point, b));
        rc = push(items, json_pack("{s:s,s:s,s:s,s:o,s:o,s:s}", "kind", "reorder-point", "item",
                                   db_col_text(st, 0), "name", db_col_text(st, 1), "on_hand",
                                   stock_qty_json(on_hand), "reorder_point", stock_qty_json(point),
                                   "message", msg));
    }
    db_finalize(st);
    return rc;
}

static err_t expiry_alerts(db *d, const char *today, const char *until, json_t *items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_expiring, "t", until);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        int64_t on_hand = db_col_int64(st, 6);
        const char *expiry = db_col_text(st, 5);
        bool expired = strcmp(expiry, today) < 0;
        char msg[256], a[32];
        if (on_hand <= 0)
            continue;
        snprintf(msg, sizeof(msg), "%s lot %s: %s %s on hand %s %s", db_col_text(st, 0),
                 db_col_text(st, 3), stock_qty_text(on_hand, a), db_col_text(st, 2),
                 expired ? "expired on" : "expires on", expiry);
        rc = push(items, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "kind",
                                   expired ? "expired" : "expiring", "item", db_col_text(st, 0),
                                   "name", db_col_text(st, 1), "lot", db_col_text(st, 3), "lot_id",
                                   db_col_text(st, 4), "expiry", expiry, "on_hand",
                                   stock_qty_json(on_hand), "message", msg));
    }
    db_finalize(st);
    return rc;
}

static err_t open_alerts(db *d, int64_t now, json_t *items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_open, "");
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        int64_t until = db_col_int64(st, 7) + db_col_int64(st, 8) * DAY_US;
        char msg[256], iso[TIME_ISO_LEN];
        if (now <= until)
            continue;
        time_format_iso(until, iso);
        snprintf(msg, sizeof(msg),
                 "%s lot %s in use on %s: its open-vial stability ended at %.16s (results "
                 "measured with it are held)",
                 db_col_text(st, 0), db_col_text(st, 3), db_col_text(st, 6), iso);
        rc = push(items,
                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "open-stability", "item",
                            db_col_text(st, 0), "name", db_col_text(st, 1), "lot",
                            db_col_text(st, 3), "lot_id", db_col_text(st, 4), "expiry",
                            db_col_text(st, 5), "instrument", db_col_text(st, 6), "message", msg));
    }
    db_finalize(st);
    return rc;
}

static err_t discrepancy_alerts(db *d, json_t *items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_negative, "");
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        int64_t q = db_col_int64(st, 7);
        char msg[256], a[32];
        snprintf(msg, sizeof(msg),
                 "%s lot %s at %s: the records show %s %s, less than nothing: results used more "
                 "than was received there; count it",
                 db_col_text(st, 0), db_col_text(st, 3), db_col_text(st, 6), stock_qty_text(q, a),
                 db_col_text(st, 2));
        rc = push(items, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "kind", "discrepancy",
                                   "item", db_col_text(st, 0), "name", db_col_text(st, 1), "lot",
                                   db_col_text(st, 3), "lot_id", db_col_text(st, 4), "expiry",
                                   db_col_text(st, 5), "location", db_col_text(st, 6), "on_hand",
                                   stock_qty_json(q), "message", msg));
    }
    db_finalize(st);
    return rc;
}

err_t stock_alerts(db *d, int days, json_t **items, errinfo *ei)
{
    char today[11], until[11];
    int64_t now = time_now_us();
    json_t *list = NULL;
    *items = NULL;
    if (days < 0 || days > STOCK_OPEN_DAYS_MAX)
        return err_set(ei, ERR_INVALID, "days", "days must be from 0 to %d", STOCK_OPEN_DAYS_MAX);
    time_format_date(now, today);
    add_days(today, days, until);
    list = json_array();
    err_t rc = list ? reorder_alerts(d, today, list, ei) : ERR_NOMEM;
    if (!rc)
        rc = expiry_alerts(d, today, until, list, ei);
    if (!rc)
        rc = open_alerts(d, now, list, ei);
    if (!rc)
        rc = discrepancy_alerts(d, list, ei);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *items = list;
    return ERR_OK;
}

err_t stock_reorder(db *d, json_t **out, errinfo *ei)
{
    char today[11];
    db_stmt *st = NULL;
    bool row = false;
    json_t *suppliers = json_array(), *group = NULL;
    const char *current = NULL;
    *out = NULL;
    time_format_date(time_now_us(), today);
    err_t rc = suppliers ? db_query(d, &st, ei, sql_usable, "t", today) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        int64_t point = db_col_int64(st, 5), qty = db_col_int64(st, 6),
                on_hand = db_col_int64(st, 7);
        int64_t order = stock_order_quantity(on_hand, point, qty);
        const char *supplier = db_col_text(st, 3);
        if (!order)
            continue;
        /* rows come by supplier: a new group when it changes */
        if (!group || (supplier ? !current || strcmp(current, supplier) : current != NULL)) {
            group = json_pack("{s:o,s:[]}", "supplier",
                              supplier ? json_string(supplier) : json_null(), "items");
            if (!group || json_array_append_new(suppliers, group)) {
                rc = ERR_NOMEM;
                break;
            }
            current = json_string_value(json_object_get(group, "supplier"));
        }
        json_t *it = json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:o}", "item", db_col_text(st, 0),
                               "name", db_col_text(st, 1), "catalogue_number",
                               db_col_null(st, 4) ? json_null() : json_string(db_col_text(st, 4)),
                               "unit", db_col_text(st, 2), "on_hand", stock_qty_json(on_hand),
                               "reorder_point", stock_qty_json(point), "reorder_quantity",
                               stock_qty_json(qty), "order_quantity", stock_qty_json(order));
        rc = push(json_object_get(group, "items"), it);
    }
    db_finalize(st);
    if (!rc && !(*out = json_pack("{s:O}", "suppliers", suppliers)))
        rc = ERR_NOMEM;
    json_decref(suppliers);
    return rc;
}

err_t stock_lots_at(db *d, const char *unit, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *list = json_array();
    *items = NULL;
    err_t rc = list ? db_query(d, &st, ei, sql_at, "t", unit) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        rc = push(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "item", db_col_text(st, 0),
                                  "name", db_col_text(st, 1), "lot", db_col_text(st, 2), "lot_id",
                                  db_col_text(st, 3), "expiry", db_col_text(st, 4), "quantity",
                                  stock_qty_json(db_col_int64(st, 5)), "unit_of_issue",
                                  db_col_text(st, 6)));
    db_finalize(st);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *items = list;
    return ERR_OK;
}
