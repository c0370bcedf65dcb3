/*
 * workorder.c - work orders, their entries, the return to service, and the
 * downtime and availability they make (see workorder.h).
 *
 * Each write to an order first takes its row (an UPDATE that changes
 * nothing but locks it on PostgreSQL; SQLite's BEGIN IMMEDIATE locks
 * already), so that a return to service and a close of one order never
 * interleave: each reads what the one before it committed.
 */
#include "equip/workorder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/asset.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))
#define DAY_US     (86400LL * 1000000LL)
#define US_PER_S   1000000LL

/* ---- downtime and availability ---- */

static int interval_cmp(const void *a, const void *b)
{
    const equip_interval *x = a, *y = b;
    return x->from < y->from ? -1 : (x->from > y->from);
}

int64_t equip_downtime(equip_interval *iv, size_t n, int64_t from, int64_t to)
{
    int64_t total = 0, run_from = 0, run_to = 0;
    bool run = false;
    if (to <= from)
        return 0;
    if (n > 1)
        qsort(iv, n, sizeof(*iv), interval_cmp);
    for (size_t i = 0; i < n; i++) {
        /* Clipping keeps the order by start: max(start, from) does not reorder. */
        int64_t a = iv[i].from > from ? iv[i].from : from;
        int64_t b = iv[i].to < to ? iv[i].to : to;
        if (b <= a)
            continue;
        if (run && a <= run_to) {
            if (b > run_to)
                run_to = b;
            continue;
        }
        if (run)
            total += run_to - run_from;
        run_from = a;
        run_to = b;
        run = true;
    }
    if (run)
        total += run_to - run_from;
    return total;
}

double equip_availability(int64_t downtime, int64_t from, int64_t to)
{
    if (to <= from)
        return 1;
    if (downtime <= 0)
        return 1;
    if (downtime >= to - from)
        return 0;
    return 1.0 - (double)downtime / (double)(to - from);
}

err_t equip_month(const char *month, int64_t *from, int64_t *to, errinfo *ei)
{
    int64_t y = 0, m = 0;
    if (!month || strlen(month) != 7 || month[4] != '-' || str_to_int64(month, 4, 1900, 9999, &y) ||
        str_to_int64(month + 5, 2, 1, 12, &m) || month[5] < '0' || month[5] > '1')
        return err_set(ei, ERR_INVALID, "month", "month must be YYYY-MM, not '%.20s'",
                       month ? month : "");
    *from = time_days_from_civil(y, (int)m, 1) * DAY_US;
    *to = (m == 12 ? time_days_from_civil(y + 1, 1, 1) : time_days_from_civil(y, (int)m + 1, 1)) *
          DAY_US;
    return ERR_OK;
}

/* ---- SQL ---- */

#define WO_COLS                                                                                    \
    "SELECT w.id, a.tag, w.asset_id, a.status, w.fault, w.severity, w.out_of_service, w.status,"   \
    " w.reported_at, w.reported_by, w.returned_at, w.returned_by, w.closed_at, w.closed_by,"       \
    " w.resolution, (SELECT COALESCE(SUM(e.cost_cents), 0) FROM work_order_entries e"              \
    " WHERE e.work_order_id = w.id AND e.kind = 'part')"                                           \
    " FROM work_orders w JOIN assets a ON a.id = w.asset_id"

static const char sql_order[] = WO_COLS " WHERE w.id = ?";
static const char sql_orders[] = WO_COLS " WHERE (CAST(? AS TEXT) IS NULL OR w.asset_id = ?)"
                                         " AND (CAST(? AS TEXT) IS NULL OR w.status = ?)"
                                         " ORDER BY w.reported_at DESC, w.id DESC LIMIT 500";
static const char sql_entries[] =
    "SELECT id, kind, at, by_user, note, part_number, description, quantity, cost_cents, vendor,"
    " reference, visit_date, verified, outcome, record_id FROM work_order_entries"
    " WHERE work_order_id = ? ORDER BY at, id";
static const char sql_order_insert[] =
    "INSERT INTO work_orders (id, asset_id, fault, severity, out_of_service, status, reported_at,"
    " reported_by) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)";
static const char sql_lock[] = "UPDATE work_orders SET status = status WHERE id = ?";
static const char sql_head[] =
    "SELECT w.status, w.out_of_service, w.reported_at, w.asset_id, a.tag, a.status,"
    " (SELECT COUNT(*) FROM work_order_entries e WHERE e.work_order_id = w.id)"
    " FROM work_orders w JOIN assets a ON a.id = w.asset_id WHERE w.id = ?";
static const char sql_entry_insert[] =
    "INSERT INTO work_order_entries (id, work_order_id, kind, at, by_user, note, part_number,"
    " description, quantity, cost_cents, vendor, reference, visit_date, verified, outcome,"
    " record_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_returned[] =
    "UPDATE work_orders SET status = 'returned', returned_at = ?, returned_by = ?"
    " WHERE id = ? AND status = 'open'";
static const char sql_others_out[] =
    "SELECT COUNT(*) FROM work_orders WHERE asset_id = ? AND id <> ? AND status = 'open'"
    " AND out_of_service = 1";
static const char sql_closed[] =
    "UPDATE work_orders SET status = 'closed', closed_at = ?, closed_by = ?, resolution = ?"
    " WHERE id = ? AND status <> 'closed'";
static const char sql_record_of[] =
    "SELECT 'calibration', passed FROM equip_calibrations WHERE id = ? AND asset_id = ?"
    " UNION ALL SELECT 'check', passed FROM equip_checks WHERE id = ? AND asset_id = ?";
static const char sql_downtime[] =
    "SELECT a.id, a.tag, a.class, a.status, w.id, w.reported_at, w.returned_at FROM assets a"
    " LEFT JOIN work_orders w ON w.asset_id = a.id AND w.out_of_service = 1"
    " AND w.reported_at < ? AND (w.returned_at IS NULL OR w.returned_at > ?)"
    " WHERE (CAST(? AS TEXT) IS NULL OR a.tag = ?) ORDER BY a.tag, w.reported_at, w.id";

/* ---- request bodies ---- */

static const char *const severities[] = {"low", "medium", "high", "critical"};

static const jsonv_field report_fields[] = {
    {"asset", JSONV_STRING, true, 64},        {"fault", JSONV_STRING, true, EQUIP_WO_TEXT_MAX},
    {"severity", JSONV_STRING, true, 16},     {"out_of_service", JSONV_BOOL, false, 0},
    {"reported_at", JSONV_STRING, false, 40},
};
static const jsonv_field note_fields[] = {
    {"kind", JSONV_STRING, true, 16},
    {"note", JSONV_STRING, true, EQUIP_WO_TEXT_MAX},
};
static const jsonv_field part_fields[] = {
    {"kind", JSONV_STRING, true, 16},
    {"part_number", JSONV_STRING, true, EQUIP_WO_NAME_MAX},
    {"description", JSONV_STRING, true, EQUIP_WO_TEXT_MAX},
    {"quantity", JSONV_INT, true, 0},
    {"cost_cents", JSONV_INT, true, 0},
};
static const jsonv_field vendor_fields[] = {
    {"kind", JSONV_STRING, true, 16},
    {"vendor", JSONV_STRING, true, EQUIP_WO_NAME_MAX},
    {"reference", JSONV_STRING, true, EQUIP_WO_NAME_MAX},
    {"visit_date", JSONV_STRING, true, 10},
    {"note", JSONV_STRING, false, EQUIP_WO_TEXT_MAX},
};
static const jsonv_field return_fields[] = {
    {"verified", JSONV_STRING, true, EQUIP_WO_TEXT_MAX},
    {"outcome", JSONV_STRING, true, 8},
    {"record_id", JSONV_STRING, false, 64},
    {"note", JSONV_STRING, false, EQUIP_WO_TEXT_MAX},
    {"at", JSONV_STRING, false, 40},
};
static const jsonv_field close_fields[] = {
    {"resolution", JSONV_STRING, true, EQUIP_WO_TEXT_MAX},
};

/* Each text field of a body that must be printable text (present ones). */
static err_t texts_check(const json_t *body, const jsonv_field *fields, size_t n, errinfo *ei)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = fields[i].type == JSONV_STRING ? jsonv_str(body, fields[i].name) : NULL;
        if (s && !str_is_text(s))
            return err_set(ei, ERR_INVALID, fields[i].name, "%s must be printable text",
                           fields[i].name);
    }
    return ERR_OK;
}

/* An act's time: the field (ISO 8601) or now, never in the future; once it
 * is known good, the transaction that records the act begins. */
static err_t begin_act(db *d, const json_t *body, const char *field, int64_t *at, errinfo *ei)
{
    const char *s = jsonv_str(body, field);
    int64_t now = time_now_us();
    errinfo e2 = {0};
    *at = now;
    if (s && time_parse_iso(s, strlen(s), at, &e2))
        return err_set(ei, ERR_INVALID, field, "%s: %s", field, e2.message);
    if (*at > now + EQUIP_SKEW_US)
        return err_set(ei, ERR_INVALID, field, "%s is in the future", field);
    return db_begin(d, ei);
}

/* ---- reading ---- */

static json_t *order_row(db_stmt *st)
{
    bool out = db_col_int64(st, 6) != 0;
    int64_t reported = db_col_int64(st, 8);
    int64_t until = db_col_null(st, 10) ? time_now_us() : db_col_int64(st, 10);
    int64_t down = out && until > reported ? until - reported : 0;
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:I,s:I}", "id",
                     db_col_text(st, 0), "asset", db_col_text(st, 1), "asset_id",
                     db_col_text(st, 2), "asset_status", db_col_text(st, 3), "fault",
                     db_col_text(st, 4), "severity", db_col_text(st, 5), "out_of_service", out,
                     "status", db_col_text(st, 7), "reported_at", db_col_json_time(st, 8),
                     "reported_by", db_col_text(st, 9), "returned_at", db_col_json_time(st, 10),
                     "returned_by", db_col_json_text(st, 11), "closed_at", db_col_json_time(st, 12),
                     "closed_by", db_col_json_text(st, 13), "resolution", db_col_json_text(st, 14),
                     "downtime_seconds", (json_int_t)(down / US_PER_S), "parts_cost_cents",
                     (json_int_t)db_col_int64(st, 15));
}

/* The columns of sql_entries from 4 on, by name; integers where marked. */
static const struct {
    const char *name;
    bool integer;
} entry_cols[] = {
    {"note", false},      {"part_number", false}, {"description", false}, {"quantity", true},
    {"cost_cents", true}, {"vendor", false},      {"reference", false},   {"visit_date", false},
    {"verified", false},  {"outcome", false},     {"record_id", false},
};

/* An entry: id, kind, at, by, and the fields its kind has. */
static json_t *entry_row(db_stmt *st)
{
    json_t *e = json_pack("{s:s,s:s,s:o,s:s}", "id", db_col_text(st, 0), "kind", db_col_text(st, 1),
                          "at", db_col_json_time(st, 2), "by", db_col_text(st, 3));
    for (size_t i = 0; e && i < NFIELDS(entry_cols); i++) {
        int c = (int)i + 4;
        if (db_col_null(st, c))
            continue;
        json_t *v = entry_cols[i].integer ? json_integer((json_int_t)db_col_int64(st, c))
                                          : json_string(db_col_text(st, c));
        if (json_object_set_new(e, entry_cols[i].name, v)) {
            json_decref(e);
            e = NULL;
        }
    }
    return e;
}

err_t equip_workorder_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *entries = NULL;
    *out = NULL;
    err_t rc = db_query_by_id(d, &st, sql_order, id, "work order", ei);
    if (!rc && !(*out = order_row(st)))
        rc = ERR_NOMEM;
    db_finalize(st);
    st = NULL;
    if (!rc && !(entries = json_array()))
        rc = ERR_NOMEM;
    if (!rc)
        rc = db_query(d, &st, ei, sql_entries, "t", id);
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        if (json_array_append_new(entries, entry_row(st)))
            rc = ERR_NOMEM;
    db_finalize(st);
    if (!rc && json_object_set(*out, "entries", entries))
        rc = ERR_NOMEM;
    json_decref(entries);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t equip_workorders_list(db *d, const char *asset, const char *status, json_t **items,
                            errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    char asset_id[ID_LEN + 1] = "";
    *items = NULL;
    err_t rc = asset ? equip_asset_id(d, asset, "asset", asset_id, NULL, ei) : ERR_OK;
    if (rc)
        return rc;
    *items = json_array();
    if (!*items)
        return ERR_NOMEM;
    const char *aid = asset ? asset_id : NULL;
    rc = db_query(d, &st, ei, sql_orders, "tttt", aid, aid, status, status);
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        if (json_array_append_new(*items, order_row(st)))
            rc = ERR_NOMEM;
    db_finalize(st);
    if (rc) {
        json_decref(*items);
        *items = NULL;
    }
    return rc;
}

/* ---- writing ---- */

/* Move the asset to status (in the caller's transaction) unless it has it
 * already: another order, or a person, may have moved it first. */
static err_t asset_move(db *d, const audit_ctx *ctx, const char *asset_id, const char *now,
                        const char *status, const char *reason, errinfo *ei)
{
    if (!strcmp(now, status))
        return ERR_OK;
    return equip_asset_set_status(d, ctx, asset_id, status, reason, ei);
}

/* The head of an order, its row locked for the transaction. */
struct head {
    char status[16];
    bool out_of_service;
    int64_t reported_at, entries;
    char asset_id[ID_LEN + 1];
    char tag[EQUIP_TAG_MAX + 1];
    char asset_status[EQUIP_STATUS_MAX];
};

static err_t order_lock(db *d, const char *id, struct head *h, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_run(d, ei, NULL, sql_lock, "t", id);
    if (!rc)
        rc = db_query_by_id(d, &st, sql_head, id, "work order", ei);
    if (!rc) {
        snprintf(h->status, sizeof(h->status), "%s", db_col_text(st, 0));
        h->out_of_service = db_col_int64(st, 1) != 0;
        h->reported_at = db_col_int64(st, 2);
        snprintf(h->asset_id, sizeof(h->asset_id), "%s", db_col_text(st, 3));
        snprintf(h->tag, sizeof(h->tag), "%s", db_col_text(st, 4));
        snprintf(h->asset_status, sizeof(h->asset_status), "%s", db_col_text(st, 5));
        h->entries = db_col_int64(st, 6);
    }
    db_finalize(st);
    return rc;
}

/* Audit action on order id with detail (stolen), read the order into *out,
 * commit; roll back on any failure. */
static err_t finish(db *d, const audit_ctx *ctx, err_t rc, const char *action, const char *id,
                    json_t *detail, json_t **out, errinfo *ei)
{
    if (!rc && !detail)
        rc = ERR_NOMEM;
    if (!rc)
        rc = audit_write(d, ctx, action, "work_order", id, "ok", detail, ei);
    json_decref(detail);
    if (!rc)
        rc = equip_workorder_get(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t equip_workorder_report(db *d, const audit_ctx *ctx, const user *u, const json_t *body,
                             json_t **out, errinfo *ei)
{
    char id[ID_LEN + 1], asset_id[ID_LEN + 1], status[EQUIP_STATUS_MAX];
    int64_t at = 0;
    size_t k = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, report_fields, NFIELDS(report_fields), ei);
    if (!rc)
        rc = texts_check(body, report_fields, NFIELDS(report_fields), ei);
    if (rc)
        return rc;
    const char *severity = jsonv_str(body, "severity"), *fault = jsonv_str(body, "fault");
    while (k < NFIELDS(severities) && strcmp(severities[k], severity))
        k++;
    if (k == NFIELDS(severities))
        return err_set(ei, ERR_INVALID, "severity",
                       "severity must be low, medium, high or critical");
    json_t *oos = json_object_get(body, "out_of_service");
    bool out_of_service = json_is_boolean(oos) ? json_is_true(oos) : k >= 2;
    rc = begin_act(d, body, "reported_at", &at, ei);
    if (rc)
        return rc;
    rc = equip_asset_id(d, jsonv_str(body, "asset"), "asset", asset_id, status, ei);
    if (!rc && !strcmp(status, "retired"))
        rc = err_set(ei, ERR_CONFLICT, "asset", "asset %.64s is retired: it takes no work orders",
                     jsonv_str(body, "asset"));
    id_new(id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_order_insert, "ttttiit", id, asset_id, fault, severity,
                    (int64_t)out_of_service, at, u->username);
    if (!rc && out_of_service) {
        char reason[160];
        snprintf(reason, sizeof(reason), "work order %s (%s): %.100s", id, severity, fault);
        rc = asset_move(d, ctx, asset_id, status, "out-of-service", reason, ei);
    }
    /* A high or critical fault is told to the workbenches at once: someone
     * may be about to use the device. */
    if (!rc && k >= 2)
        rc = db_publish_json(d, "device.work_order.reported",
                             json_pack("{s:s,s:s,s:s}", "work_order_id", id, "asset",
                                       jsonv_str(body, "asset"), "severity", severity),
                             ei);
    return finish(d, ctx, rc, "equip.work_order.report", id,
                  json_pack("{s:s,s:s,s:s,s:b}", "asset", jsonv_str(body, "asset"), "severity",
                            severity, "fault", fault, "out_of_service", out_of_service),
                  out, ei);
}

/* A visit date: a real day, not after today (UTC). */
static err_t visit_date_check(const char *date, errinfo *ei)
{
    char today[11];
    if (!time_date_valid(date))
        return err_set(ei, ERR_INVALID, "visit_date", "visit_date must be a date YYYY-MM-DD");
    time_format_date(time_now_us(), today);
    if (strcmp(date, today) > 0)
        return err_set(ei, ERR_INVALID, "visit_date", "visit_date is in the future");
    return ERR_OK;
}

/* The fields of an entry kind, and the body checked against them. */
static err_t entry_check(const json_t *body, const char **kind, errinfo *ei)
{
    static const struct {
        const char *kind;
        const jsonv_field *fields;
        size_t n;
    } kinds[] = {
        {"note", note_fields, NFIELDS(note_fields)},
        {"part", part_fields, NFIELDS(part_fields)},
        {"vendor", vendor_fields, NFIELDS(vendor_fields)},
    };
    json_t *k = json_object_get(body, "kind");
    size_t i = 0;
    if (!k || json_is_null(k))
        return err_set(ei, ERR_MISSING_FIELD, "kind", "missing field 'kind'");
    *kind = json_string_value(k);
    while (*kind && i < NFIELDS(kinds) && strcmp(kinds[i].kind, *kind))
        i++;
    if (!*kind || i == NFIELDS(kinds))
        return err_set(ei, ERR_INVALID, "kind",
                       "kind must be note, part or vendor (the verification is recorded by the "
                       "return to service)");
    err_t rc = jsonv_check(body, kinds[i].fields, kinds[i].n, ei);
    if (!rc)
        rc = texts_check(body, kinds[i].fields, kinds[i].n, ei);
    if (rc)
        return rc;
    if (!strcmp(*kind, "part")) {
        json_int_t q = json_integer_value(json_object_get(body, "quantity"));
        json_int_t c = json_integer_value(json_object_get(body, "cost_cents"));
        if (q < 1 || q > EQUIP_WO_QTY_MAX)
            return err_set(ei, ERR_INVALID, "quantity", "quantity must be from 1 to %d",
                           EQUIP_WO_QTY_MAX);
        if (c < 0 || c > EQUIP_WO_COST_MAX)
            return err_set(ei, ERR_INVALID, "cost_cents",
                           "cost_cents must be from 0 to %lld (the cost of the whole line)",
                           (long long)EQUIP_WO_COST_MAX);
    }
    if (!strcmp(*kind, "vendor"))
        return visit_date_check(jsonv_str(body, "visit_date"), ei);
    return ERR_OK;
}

/* An order that may take entries: not closed, not full. */
static err_t open_for_entries(const struct head *h, errinfo *ei)
{
    if (!strcmp(h->status, "closed"))
        return err_set(ei, ERR_CONFLICT, "id", "this work order is closed: it takes no entries");
    if (h->entries >= EQUIP_WO_ENTRY_MAX)
        return err_set(ei, ERR_CONFLICT, "id", "this work order has %d entries, the most it takes",
                       EQUIP_WO_ENTRY_MAX);
    return ERR_OK;
}

err_t equip_workorder_entry(db *d, const audit_ctx *ctx, const user *u, const char *id,
                            const json_t *body, json_t **out, errinfo *ei)
{
    const char *kind = NULL;
    struct head h;
    char eid[ID_LEN + 1];
    *out = NULL;
    err_t rc = entry_check(body, &kind, ei);
    if (rc)
        return rc;
    bool part = !strcmp(kind, "part");
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = order_lock(d, id, &h, ei);
    if (!rc)
        rc = open_for_entries(&h, ei);
    id_new(eid);
    if (!rc) {
        db_stmt *st = NULL;
        bool row = false;
        rc =
            db_query(d, &st, ei, sql_entry_insert, "tttittttnntttnnn", eid, id, kind, time_now_us(),
                     u->username, jsonv_str(body, "note"), jsonv_str(body, "part_number"),
                     jsonv_str(body, "description"), jsonv_str(body, "vendor"),
                     jsonv_str(body, "reference"), jsonv_str(body, "visit_date"));
        /* quantity and cost_cents are NULL unless this is a part */
        if (!rc && part)
            rc = db_bind_int64(st, 9,
                               (int64_t)json_integer_value(json_object_get(body, "quantity")));
        if (!rc && part)
            rc = db_bind_int64(st, 10,
                               (int64_t)json_integer_value(json_object_get(body, "cost_cents")));
        if (!rc)
            rc = db_step(st, &row, ei);
        db_finalize(st);
    }
    json_t *detail = json_deep_copy(body);
    if (detail)
        json_object_set_new(detail, "entry", json_string(eid));
    return finish(d, ctx, rc, "equip.work_order.entry", id, detail, out, ei);
}

/* The record a verification rests on (record_id, NULL for none): a
 * calibration or a check of the order's asset; a failed one cannot verify a
 * return to service. */
static err_t record_check(db *d, const char *record_id, const struct head *h, bool pass,
                          errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false, passed = false;
    char kind[16] = "";
    if (!record_id)
        return ERR_OK;
    err_t rc =
        db_query(d, &st, ei, sql_record_of, "tttt", record_id, h->asset_id, record_id, h->asset_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        snprintf(kind, sizeof(kind), "%s", db_col_text(st, 0));
        passed = db_col_int64(st, 1) != 0;
    }
    db_finalize(st);
    if (!rc && !row)
        rc = err_set(ei, ERR_INVALID, "record_id",
                     "record_id: asset %s has no calibration or check with id %.30s", h->tag,
                     record_id);
    if (!rc && pass && !passed)
        rc = err_set(ei, ERR_INVALID, "record_id",
                     "record_id: that %s failed: it cannot verify a return to service", kind);
    return rc;
}

err_t equip_workorder_return(db *d, const audit_ctx *ctx, const user *u, const char *id,
                             const json_t *body, json_t **out, errinfo *ei)
{
    struct head h;
    char eid[ID_LEN + 1], asset_status_now[EQUIP_STATUS_MAX] = "";
    int64_t at = 0, others = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, return_fields, NFIELDS(return_fields), ei);
    if (!rc)
        rc = texts_check(body, return_fields, NFIELDS(return_fields), ei);
    if (rc)
        return rc;
    const char *outcome = jsonv_str(body, "outcome");
    if (strcmp(outcome, "pass") && strcmp(outcome, "fail"))
        return err_set(ei, ERR_INVALID, "outcome", "outcome must be pass or fail");
    bool pass = !strcmp(outcome, "pass");
    rc = begin_act(d, body, "at", &at, ei);
    if (rc)
        return rc;
    rc = order_lock(d, id, &h, ei);
    if (!rc && strcmp(h.status, "open"))
        rc = err_set(ei, ERR_CONFLICT, "id",
                     "this work order is %s: it is not waiting for its "
                     "return to service",
                     h.status);
    if (!rc)
        rc = open_for_entries(&h, ei);
    if (!rc && at < h.reported_at)
        rc = err_set(ei, ERR_INVALID, "at", "at is before the fault was reported");
    if (!rc)
        rc = record_check(d, jsonv_str(body, "record_id"), &h, pass, ei);
    id_new(eid);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_entry_insert, "tttittnnnnnnnttt", eid, id, "verification", at,
                    u->username, jsonv_str(body, "note"), jsonv_str(body, "verified"), outcome,
                    jsonv_str(body, "record_id"));
    if (!rc && pass)
        rc = db_run(d, ei, NULL, sql_returned, "itt", at, u->username, id);
    if (!rc && pass && h.out_of_service) {
        db_stmt *st = NULL;
        bool row = false;
        rc = db_query(d, &st, ei, sql_others_out, "tt", h.asset_id, id);
        if (!rc && !(rc = db_step(st, &row, ei)) && row)
            others = db_col_int64(st, 0);
        db_finalize(st);
        if (!rc && others == 0) {
            char reason[160];
            snprintf(reason, sizeof(reason), "work order %s: verified: %.100s", id,
                     jsonv_str(body, "verified"));
            rc = asset_move(d, ctx, h.asset_id, h.asset_status, "in-service", reason, ei);
            snprintf(asset_status_now, sizeof(asset_status_now), "in-service");
        }
    }
    return finish(d, ctx, rc, "equip.work_order.return_to_service", id,
                  json_pack("{s:s,s:s,s:s?,s:b,s:I}", "verified", jsonv_str(body, "verified"),
                            "outcome", outcome, "record_id", jsonv_str(body, "record_id"),
                            "back_in_service", asset_status_now[0] != '\0', "other_orders_out",
                            (json_int_t)others),
                  out, ei);
}

err_t equip_workorder_close(db *d, const audit_ctx *ctx, const user *u, const char *id,
                            const json_t *body, json_t **out, errinfo *ei)
{
    struct head h;
    *out = NULL;
    err_t rc = jsonv_check(body, close_fields, NFIELDS(close_fields), ei);
    if (!rc)
        rc = texts_check(body, close_fields, NFIELDS(close_fields), ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = order_lock(d, id, &h, ei);
    if (!rc && !strcmp(h.status, "closed"))
        rc = err_set(ei, ERR_CONFLICT, "id", "this work order is closed already");
    if (!rc && h.out_of_service && strcmp(h.status, "returned"))
        rc = err_set(ei, ERR_CONFLICT, "id",
                     "this work order took asset %s out of service: return it to service with "
                     "a passing verification before the close",
                     h.tag);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_closed, "ittt", time_now_us(), u->username,
                    jsonv_str(body, "resolution"), id);
    return finish(d, ctx, rc, "equip.work_order.close", id,
                  json_pack("{s:s}", "resolution", jsonv_str(body, "resolution")), out, ei);
}

/* ---- availability ---- */

/* One asset's figures for the month [from, to) from its intervals. */
static json_t *availability_item(const char *tag, const char *asset_id, const char *cls,
                                 const char *status, const char *month, int64_t from, int64_t to,
                                 equip_interval *iv, size_t n, json_t *orders)
{
    int64_t down = equip_downtime(iv, n, from, to);
    double pct = round(equip_availability(down, from, to) * 10000.0) / 100.0;
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:f,s:O}", "asset", tag, "asset_id", asset_id,
                     "class", cls, "status", status, "month", month, "month_seconds",
                     (json_int_t)((to - from) / US_PER_S), "downtime_seconds",
                     (json_int_t)(down / US_PER_S), "availability_percent", pct, "work_orders",
                     orders);
}

/* The state of one asset while the rows of sql_downtime are read. */
struct avail_acc {
    char id[ID_LEN + 1], tag[EQUIP_TAG_MAX + 1], cls[EQUIP_CLASS_MAX + 1], status[EQUIP_STATUS_MAX];
    equip_interval *iv;
    size_t n, cap;
    json_t *orders;
};

/* Add the asset in acc to items (and start afresh). */
static err_t avail_flush(struct avail_acc *acc, const char *month, int64_t from, int64_t to,
                         json_t *items)
{
    json_t *item = availability_item(acc->tag, acc->id, acc->cls, acc->status, month, from, to,
                                     acc->iv, acc->n, acc->orders);
    json_decref(acc->orders);
    acc->orders = NULL;
    acc->n = 0;
    acc->id[0] = '\0';
    return json_array_append_new(items, item) ? ERR_NOMEM : ERR_OK;
}

/* Row of sql_downtime into acc: a new asset starts, or an order's interval is added. */
static err_t avail_row(db_stmt *st, struct avail_acc *acc, int64_t now)
{
    if (!acc->id[0]) {
        snprintf(acc->id, sizeof(acc->id), "%s", db_col_text(st, 0));
        snprintf(acc->tag, sizeof(acc->tag), "%s", db_col_text(st, 1));
        snprintf(acc->cls, sizeof(acc->cls), "%s", db_col_text(st, 2));
        snprintf(acc->status, sizeof(acc->status), "%s", db_col_text(st, 3));
        acc->orders = json_array();
        if (!acc->orders)
            return ERR_NOMEM;
    }
    if (db_col_null(st, 4))
        return ERR_OK;
    if (acc->n == acc->cap) {
        size_t cap = acc->cap ? acc->cap * 2 : 16;
        equip_interval *iv = realloc(acc->iv, cap * sizeof(*iv));
        if (!iv)
            return ERR_NOMEM;
        acc->iv = iv;
        acc->cap = cap;
    }
    acc->iv[acc->n].from = db_col_int64(st, 5);
    acc->iv[acc->n].to = db_col_null(st, 6) ? now : db_col_int64(st, 6);
    acc->n++;
    return json_array_append_new(acc->orders, json_string(db_col_text(st, 4))) ? ERR_NOMEM : ERR_OK;
}

err_t equip_availability_month(db *d, const char *asset, const char *month, json_t **out,
                               errinfo *ei)
{
    int64_t from = 0, to = 0, now = time_now_us();
    struct avail_acc acc;
    db_stmt *st = NULL;
    bool row = false;
    json_t *items = NULL;
    *out = NULL;
    err_t rc = equip_month(month, &from, &to, ei);
    if (rc)
        return rc;
    if (from > now)
        return err_set(ei, ERR_INVALID, "month", "month %s has not begun", month);
    memset(&acc, 0, sizeof(acc));
    items = json_array();
    rc = items ? db_query(d, &st, ei, sql_downtime, "iitt", to, from, asset, asset) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        if (acc.id[0] && strcmp(acc.id, db_col_text(st, 0)))
            rc = avail_flush(&acc, month, from, to, items);
        if (!rc)
            rc = avail_row(st, &acc, now);
    }
    db_finalize(st);
    if (!rc && acc.id[0])
        rc = avail_flush(&acc, month, from, to, items);
    if (!rc && asset && json_array_size(items) == 0)
        rc = err_set(ei, ERR_NOT_FOUND, "tag", "there is no asset with tag %.64s", asset);
    if (!rc && asset)
        *out = json_incref(json_array_get(items, 0));
    else if (!rc)
        *out = json_pack("{s:s,s:O}", "month", month, "items", items);
    if (!rc && !*out)
        rc = ERR_NOMEM;
    json_decref(acc.orders);
    json_decref(items);
    free(acc.iv);
    return rc;
}
