/*
 * pbqc.c - patient-based QC on record: settings and running state, points,
 * alerts (see pbqc.h; the averages themselves are qc/movavg.c).
 */
#include "qc/pbqc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/time.h"
#include "lab/catalog.h"
#include "qc/movavg.h"
#include "store/dbjson.h"

/* No laboratory value comes near this (lab/result.c refuses results beyond it). */
#define VALUE_BOUND 1e12

static const char sql_cols[] =
    "SELECT test_code, instrument, method, batch, lambda, target, limit_value, limit_kind,"
    " truncate_low, truncate_high, enabled, updated_at, updated_by, avg_value, acc, pending,"
    " seen, left_out, points, started_at FROM qc_pbqc";
enum {
    C_TEST,
    C_INST,
    C_METHOD,
    C_BATCH,
    C_LAMBDA,
    C_TARGET,
    C_LIMIT,
    C_KIND,
    C_TLOW,
    C_THIGH,
    C_ENABLED,
    C_UPDATED_AT,
    C_UPDATED_BY,
    C_AVG,
    C_ACC,
    C_PENDING,
    C_SEEN,
    C_LEFT_OUT,
    C_POINTS,
    C_STARTED_AT,
};
static const char sql_upsert[] =
    "INSERT INTO qc_pbqc (test_code, instrument, method, batch, lambda, target, limit_value,"
    " limit_kind, truncate_low, truncate_high, enabled, updated_at, updated_by, avg_value, acc,"
    " pending, seen, left_out, points, started_at) VALUES (?, ?, ?, ?, CAST(? AS DOUBLE"
    " PRECISION), ?, ?, ?, CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), ?, ?, ?, ?,"
    " ?, ?, 0, 0, 0, ?) ON CONFLICT (test_code, instrument) DO UPDATE SET method ="
    " excluded.method, batch = excluded.batch, lambda = excluded.lambda, target ="
    " excluded.target, limit_value = excluded.limit_value, limit_kind = excluded.limit_kind,"
    " truncate_low = excluded.truncate_low, truncate_high = excluded.truncate_high, enabled ="
    " excluded.enabled, updated_at = excluded.updated_at, updated_by = excluded.updated_by,"
    " avg_value = excluded.avg_value, acc = excluded.acc, pending = excluded.pending,"
    " started_at = excluded.started_at";
/* Count the result and read the state; on PostgreSQL the row stays locked
 * to the end of the transaction, so concurrent entries take turns. */
static const char sql_take[] =
    "UPDATE qc_pbqc SET seen = seen + 1 WHERE test_code = ? AND instrument = ? AND enabled = 1"
    " RETURNING method, batch, lambda, target, limit_value, limit_kind, truncate_low,"
    " truncate_high, avg_value, acc, pending, left_out, points";
static const char sql_state[] =
    "UPDATE qc_pbqc SET avg_value = ?, acc = ?, pending = ?, left_out = ?, points = ?"
    " WHERE test_code = ? AND instrument = ?";
static const char sql_restart[] =
    "UPDATE qc_pbqc SET avg_value = target, acc = 0, pending = 0, started_at = ?"
    " WHERE test_code = ? AND instrument = ?";
static const char sql_point_insert[] =
    "INSERT INTO qc_pbqc_points (id, test_code, instrument, seq, at, method, value, target, low,"
    " high, n, out_of_limits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_points[] =
    "SELECT id, seq, at, method, value, target, low, high, n, out_of_limits FROM qc_pbqc_points"
    " WHERE test_code = ? AND instrument = ? AND at >= ? AND at < ?"
    " ORDER BY at DESC, seq DESC LIMIT ?";
static const char sql_open_alert[] = "SELECT id FROM qc_pbqc_alerts WHERE test_code = ?"
                                     " AND instrument = ? AND acknowledged_at IS NULL";
static const char sql_alert_insert[] =
    "INSERT INTO qc_pbqc_alerts (id, test_code, instrument, opened_at, point_id, method, value,"
    " target, low, high) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_alert_cols[] =
    "SELECT id, test_code, instrument, opened_at, point_id, method, value, target, low, high,"
    " acknowledged_at, acknowledged_by, note FROM qc_pbqc_alerts";
static const char sql_alert_ack[] =
    "UPDATE qc_pbqc_alerts SET acknowledged_at = ?, acknowledged_by = ?, note = ?"
    " WHERE id = ? AND acknowledged_at IS NULL";

static const jsonv_field settings_fields[] = {
    {"test", JSONV_STRING, true, CATALOG_CODE_MAX},
    {"instrument", JSONV_STRING, false, CATALOG_INSTRUMENT_MAX},
    {"method", JSONV_STRING, true, 8},
    {"batch", JSONV_INT, false, 0},
    {"lambda", JSONV_NUMBER, false, 0},
    {"target", JSONV_NUMBER, true, 0},
    {"limit", JSONV_NUMBER, true, 0},
    {"limit_kind", JSONV_STRING, false, 8},
    {"truncate_low", JSONV_NUMBER, false, 0},
    {"truncate_high", JSONV_NUMBER, false, 0},
    {"enabled", JSONV_BOOL, false, 0},
};
static const jsonv_field ack_fields[] = {
    {"note", JSONV_STRING, true, QC_PBQC_NOTE_MAX},
    {"restart", JSONV_BOOL, false, 0},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Printable text without control characters (lines: but for line ends and
 * tabs), not blank. */
static bool text_ok(const char *s, bool lines)
{
    bool any = false;
    for (; *s; s++) {
        bool space = *s == ' ' || (lines && (*s == '\n' || *s == '\r' || *s == '\t'));
        if (!space && ((unsigned char)*s < 0x20 || *s == 0x7f))
            return false;
        any |= !space;
    }
    return any;
}

/* The configuration in columns first.. of a row: method, batch, lambda,
 * target, limit_value, limit_kind, truncate_low, truncate_high. */
static void config_of(db_stmt *st, int first, qc_movavg_config *c)
{
    memset(c, 0, sizeof(*c));
    if (!qc_movavg_method_parse(db_col_text(st, first), &c->method))
        c->method = QC_MOVAVG_MEAN;
    c->batch = (int)db_col_int64(st, first + 1);
    c->lambda = db_col_double(st, first + 2);
    c->target = db_col_double(st, first + 3);
    c->limit = db_col_double(st, first + 4);
    const char *kind = db_col_text(st, first + 5);
    c->limit_percent = kind && !strcmp(kind, "percent");
    c->has_low = !db_col_null(st, first + 6);
    c->truncate_low = db_col_double(st, first + 6);
    c->has_high = !db_col_null(st, first + 7);
    c->truncate_high = db_col_double(st, first + 7);
}

/* The settings and state of a row of sql_cols. */
static json_t *settings_row(db_stmt *st)
{
    qc_movavg_config c;
    double low, high;
    config_of(st, C_METHOD, &c);
    qc_movavg_limits(&c, &low, &high);
    double avg = db_col_double(st, C_AVG);
    json_t *state = json_pack(
        "{s:f,s:b,s:I,s:I,s:I,s:I,s:o}", "average", avg, "out_of_limits", qc_movavg_out(&c, avg),
        "pending", (json_int_t)db_col_int64(st, C_PENDING), "seen",
        (json_int_t)db_col_int64(st, C_SEEN), "left_out", (json_int_t)db_col_int64(st, C_LEFT_OUT),
        "points", (json_int_t)db_col_int64(st, C_POINTS), "started_at",
        db_col_json_time(st, C_STARTED_AT));
    return json_pack("{s:s,s:s,s:s,s:i,s:o,s:f,s:f,s:s,s:f,s:f,s:o,s:o,s:b,s:o,s:s,s:o}", "test",
                     db_col_text(st, C_TEST), "instrument", db_col_text(st, C_INST), "method",
                     qc_movavg_method_name(c.method), "batch", c.batch, "lambda",
                     db_col_json_num(st, C_LAMBDA), "target", c.target, "limit", c.limit,
                     "limit_kind", c.limit_percent ? "percent" : "absolute", "low", low, "high",
                     high, "truncate_low", db_col_json_num(st, C_TLOW), "truncate_high",
                     db_col_json_num(st, C_THIGH), "enabled", db_col_int64(st, C_ENABLED) != 0,
                     "updated_at", db_col_json_time(st, C_UPDATED_AT), "updated_by",
                     db_col_text(st, C_UPDATED_BY), "state", state);
}

/* The settings of test on inst into *out, or NULL when there are none. */
static err_t settings_of(db *d, const char *test, const char *inst, json_t **out, errinfo *ei)
{
    char sql[600];
    db_stmt *st = NULL;
    bool row = false;
    *out = NULL;
    snprintf(sql, sizeof(sql), "%s WHERE test_code = ? AND instrument = ?", sql_cols);
    err_t rc = db_query(d, &st, ei, sql, "tt", test, inst);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        *out = settings_row(st);
        if (!*out)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    return rc;
}

/* ---- settings ---- */

/* The configuration a request body asks for; errors name the field. */
static err_t config_from_body(const json_t *body, qc_movavg_config *c, bool *enabled, errinfo *ei)
{
    memset(c, 0, sizeof(*c));
    const char *method = jsonv_str(body, "method");
    if (!qc_movavg_method_parse(method, &c->method))
        return err_set(ei, ERR_INVALID, "method", "method must be bull, ewma or mean, not '%.8s'",
                       method);
    json_t *batch = json_object_get(body, "batch");
    json_int_t b = batch ? json_integer_value(batch) : QC_MOVAVG_BATCH_DEFAULT;
    c->batch = b < 0 || b > QC_MOVAVG_BATCH_MAX ? -1 : (int)b;
    json_t *lambda = json_object_get(body, "lambda");
    if (lambda && c->method != QC_MOVAVG_EWMA)
        return err_set(ei, ERR_INVALID, "lambda", "lambda is for method ewma only");
    if (!lambda && c->method == QC_MOVAVG_EWMA)
        return err_set(ei, ERR_INVALID, "lambda",
                       "method ewma needs lambda, the weight of the newest result (0 to 1)");
    c->lambda = lambda ? json_number_value(lambda) : 0;
    c->target = json_number_value(json_object_get(body, "target"));
    if (fabs(c->target) >= VALUE_BOUND)
        return err_set(ei, ERR_INVALID, "target", "target is out of the range of any result");
    c->limit = json_number_value(json_object_get(body, "limit"));
    if (c->limit >= VALUE_BOUND)
        return err_set(ei, ERR_INVALID, "limit", "limit is out of the range of any result");
    const char *kind = jsonv_str(body, "limit_kind");
    if (kind && strcmp(kind, "percent") && strcmp(kind, "absolute"))
        return err_set(ei, ERR_INVALID, "limit_kind", "limit_kind must be percent or absolute");
    c->limit_percent = !kind || !strcmp(kind, "percent");
    json_t *lo = json_object_get(body, "truncate_low"),
           *hi = json_object_get(body, "truncate_high");
    c->has_low = lo != NULL;
    c->truncate_low = lo ? json_number_value(lo) : 0;
    c->has_high = hi != NULL;
    c->truncate_high = hi ? json_number_value(hi) : 0;
    json_t *en = json_object_get(body, "enabled");
    *enabled = !en || json_is_true(en);
    return qc_movavg_check(c, ei);
}

/* Whether two configurations compute the same average (the limits aside). */
static bool same_average(const qc_movavg_config *a, const qc_movavg_config *b)
{
    return a->method == b->method && a->batch == b->batch &&
           (a->method != QC_MOVAVG_EWMA || a->lambda == b->lambda) && a->target == b->target &&
           a->has_low == b->has_low && (!a->has_low || a->truncate_low == b->truncate_low) &&
           a->has_high == b->has_high && (!a->has_high || a->truncate_high == b->truncate_high);
}

err_t qc_pbqc_settings_set(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei)
{
    qc_movavg_config c, old;
    qc_movavg_state s = {0};
    catalog_test ct;
    bool enabled = true, keep = false;
    int64_t started = 0;
    char sql[600];
    db_stmt *st = NULL;
    bool row = false;
    *out = NULL;
    err_t rc = jsonv_check(body, settings_fields, NFIELDS(settings_fields), ei);
    if (rc)
        return rc;
    rc = catalog_get(d, jsonv_str(body, "test"), &ct, ei);
    if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
        return err_set(ei, ERR_INVALID, "test", "'%.16s' is not a test of the catalog",
                       jsonv_str(body, "test"));
    if (rc)
        return rc;
    if (ct.kind != CATALOG_NUMERIC)
        return err_set(ei, ERR_INVALID, "test",
                       "patient-based QC averages numeric results; %s is not numeric", ct.code);
    const char *inst = jsonv_str(body, "instrument");
    if (inst && !text_ok(inst, false))
        return err_set(ei, ERR_INVALID, "instrument",
                       "instrument must be printable text, not blank (leave it out for the "
                       "manual bench)");
    if (!inst)
        inst = "";
    rc = config_from_body(body, &c, &enabled, ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    /* The audit event first: the chain's head orders this transaction with
     * the result entries that update the same row (they take it after their
     * own event), so that neither waits for the other's lock while holding
     * the one it needs. */
    json_t *detail = json_pack("{s:s,s:s,s:s,s:i,s:f,s:f,s:s,s:b}", "test", ct.code, "instrument",
                               inst, "method", qc_movavg_method_name(c.method), "batch", c.batch,
                               "target", c.target, "limit", c.limit, "limit_kind",
                               c.limit_percent ? "percent" : "absolute", "enabled", enabled);
    rc = detail ? audit_write(d, ctx, "qc.pbqc.settings", "test", ct.code, "ok", detail, ei)
                : ERR_NOMEM;
    json_decref(detail);
    /* The running average carries on when only the limits or enabled change. */
    snprintf(sql, sizeof(sql), "%s WHERE test_code = ? AND instrument = ?", sql_cols);
    if (!rc)
        rc = db_query(d, &st, ei, sql, "tt", ct.code, inst);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        config_of(st, C_METHOD, &old);
        keep = same_average(&old, &c);
        s.value = db_col_double(st, C_AVG);
        s.acc = db_col_double(st, C_ACC);
        s.pending = (int)db_col_int64(st, C_PENDING);
        started = db_col_int64(st, C_STARTED_AT);
    }
    db_finalize(st);
    st = NULL;
    int64_t now = time_now_us();
    if (!keep) {
        qc_movavg_start(&c, &s);
        started = now;
    }
    char lam[40], lo[40], hi[40];
    const char *by = ctx->actor ? ctx->actor : "system";
    if (!rc)
        rc = db_run(d, ei, NULL, sql_upsert, "tttitddtttiitddii", ct.code, inst,
                    qc_movavg_method_name(c.method), (int64_t)c.batch,
                    db_num_text(c.method == QC_MOVAVG_EWMA, c.lambda, lam), c.target, c.limit,
                    c.limit_percent ? "percent" : "absolute",
                    db_num_text(c.has_low, c.truncate_low, lo),
                    db_num_text(c.has_high, c.truncate_high, hi), (int64_t)enabled, now, by,
                    s.value, s.acc, (int64_t)s.pending, started);
    if (!rc)
        rc = settings_of(d, ct.code, inst, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t qc_pbqc_settings_list(db *d, json_t **items, errinfo *ei)
{
    char sql[600];
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    snprintf(sql, sizeof(sql), "%s ORDER BY test_code, instrument", sql_cols);
    err_t rc = arr ? db_query(d, &st, ei, sql, "") : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        json_t *o = settings_row(st);
        if (!o || json_array_append_new(arr, o))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (rc) {
        json_decref(arr);
        arr = NULL;
    }
    *items = arr;
    return rc;
}

/* ---- points ---- */

err_t qc_pbqc_series(db *d, const char *test, const char *instrument, int64_t from, int64_t to,
                     json_t **out, errinfo *ei)
{
    catalog_test ct;
    db_stmt *st = NULL;
    bool row = false;
    json_t *settings = NULL, *points = NULL;
    const char *inst = instrument ? instrument : "";
    *out = NULL;
    err_t rc = catalog_get(d, test, &ct, ei);
    if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
        return err_set(ei, ERR_INVALID, "test", "'%.16s' is not a test of the catalog", test);
    if (rc)
        return rc;
    if (to && from >= to)
        return err_set(ei, ERR_INVALID, "from", "from must be before to");
    rc = settings_of(d, ct.code, inst, &settings, ei);
    points = json_array();
    if (!rc && !points)
        rc = ERR_NOMEM;
    if (!rc)
        rc = db_query(d, &st, ei, sql_points, "ttiii", ct.code, inst, from, to ? to : INT64_MAX,
                      (int64_t)QC_PBQC_POINTS_MAX);
    /* newest first from the database: each goes in front, to read oldest first */
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        json_t *p = json_pack("{s:s,s:I,s:o,s:s,s:f,s:f,s:f,s:f,s:I,s:b}", "id", db_col_text(st, 0),
                              "seq", (json_int_t)db_col_int64(st, 1), "at", db_col_json_time(st, 2),
                              "method", db_col_text(st, 3), "value", db_col_double(st, 4), "target",
                              db_col_double(st, 5), "low", db_col_double(st, 6), "high",
                              db_col_double(st, 7), "n", (json_int_t)db_col_int64(st, 8),
                              "out_of_limits", db_col_int64(st, 9) != 0);
        if (!p || json_array_insert_new(points, 0, p))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (!rc) {
        *out = json_pack("{s:s,s:s,s:o,s:o}", "test", ct.code, "instrument", inst, "settings",
                         settings ? settings : json_null(), "points", points);
        settings = points = NULL;
        if (!*out)
            rc = ERR_NOMEM;
    }
    json_decref(settings);
    json_decref(points);
    return rc;
}

/* ---- alerts ---- */

static json_t *alert_row(db_stmt *st)
{
    double value = db_col_double(st, 6), target = db_col_double(st, 7);
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:f,s:f,s:f,s:f,s:o,s:b,s:o,s:o,s:o}", "id",
                     db_col_text(st, 0), "test", db_col_text(st, 1), "instrument",
                     db_col_text(st, 2), "opened_at", db_col_json_time(st, 3), "point_id",
                     db_col_text(st, 4), "method", db_col_text(st, 5), "value", value, "target",
                     target, "low", db_col_double(st, 8), "high", db_col_double(st, 9),
                     "deviation_percent",
                     target != 0 ? json_real((value - target) / fabs(target) * 100) : json_null(),
                     "open", db_col_null(st, 10), "acknowledged_at", db_col_json_time(st, 10),
                     "acknowledged_by", db_col_json_text(st, 11), "note", db_col_json_text(st, 12));
}

static err_t alert_json(db *d, const char *id, json_t **out, errinfo *ei)
{
    char sql[600];
    db_stmt *st = NULL;
    *out = NULL;
    snprintf(sql, sizeof(sql), "%s WHERE id = ?", sql_alert_cols);
    err_t rc = db_query_by_id(d, &st, sql, id, "patient-based QC alert", ei);
    if (!rc) {
        *out = alert_row(st);
        if (!*out)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    return rc;
}

err_t qc_pbqc_alerts_list(db *d, bool open_only, const char *test, const char *instrument,
                          json_t **items, errinfo *ei)
{
    char sql[800];
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    snprintf(sql, sizeof(sql),
             "%s WHERE (CAST(? AS TEXT) IS NULL OR test_code = ?) AND (CAST(? AS TEXT) IS NULL"
             " OR instrument = ?)%s ORDER BY opened_at DESC, id DESC LIMIT 500",
             sql_alert_cols, open_only ? " AND acknowledged_at IS NULL" : "");
    err_t rc =
        arr ? db_query(d, &st, ei, sql, "tttt", test, test, instrument, instrument) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        json_t *o = alert_row(st);
        if (!o || json_array_append_new(arr, o))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (rc) {
        json_decref(arr);
        arr = NULL;
    }
    *items = arr;
    return rc;
}

err_t qc_pbqc_alert_acknowledge(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                                json_t **out, errinfo *ei)
{
    json_t *cur = NULL;
    int64_t changed = 0, now = time_now_us();
    *out = NULL;
    err_t rc = jsonv_check(body, ack_fields, NFIELDS(ack_fields), ei);
    if (rc)
        return rc;
    const char *note = jsonv_str(body, "note");
    if (!text_ok(note, true))
        return err_set(ei, ERR_INVALID, "note", "note must say what was found or done");
    bool restart = json_is_true(json_object_get(body, "restart"));
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = alert_json(d, id, &cur, ei);
    if (!rc && !json_is_true(json_object_get(cur, "open")))
        rc = err_set(ei, ERR_CONFLICT, "id", "this alert was acknowledged already");
    const char *by = ctx->actor ? ctx->actor : "system";
    /* The audit event before the writes, as in qc_pbqc_settings_set. */
    if (!rc) {
        json_t *detail =
            json_pack("{s:s,s:s,s:s,s:b}", "test", jsonv_str(cur, "test"), "instrument",
                      jsonv_str(cur, "instrument"), "note", note, "restart", restart);
        rc = detail ? audit_write(d, ctx, "qc.pbqc.alert.acknowledge", "qc_pbqc_alert", id, "ok",
                                  detail, ei)
                    : ERR_NOMEM;
        json_decref(detail);
    }
    if (!rc)
        rc = db_run(d, ei, &changed, sql_alert_ack, "ittt", now, by, note, id);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "id", "this alert was acknowledged already");
    if (!rc && restart)
        rc = db_run(d, ei, NULL, sql_restart, "itt", now, jsonv_str(cur, "test"),
                    jsonv_str(cur, "instrument"));
    json_decref(cur);
    if (!rc)
        rc = alert_json(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- the hook ---- */

/* A point out of limits: an alert, unless one is open for the test already. */
static err_t alert_open(db *d, const audit_ctx *ctx, const char *test, const char *inst,
                        const char *point_id, const qc_movavg_config *c, const qc_movavg_point *p,
                        int64_t at, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    char aid[ID_LEN + 1];
    err_t rc = db_query(d, &st, ei, sql_open_alert, "tt", test, inst);
    if (!rc)
        rc = db_step(st, &row, ei);
    db_finalize(st);
    if (rc || row)
        return rc;
    id_new(aid);
    const char *method = qc_movavg_method_name(c->method);
    rc = db_run(d, ei, NULL, sql_alert_insert, "tttittdddd", aid, test, inst, at, point_id, method,
                p->value, c->target, p->low, p->high);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:s}", "test", test, "instrument",
                                   inst, "method", method, "value", p->value, "target", c->target,
                                   "low", p->low, "high", p->high, "point_id", point_id);
        rc = audit_write(d, ctx, "qc.pbqc.alert", "qc_pbqc_alert", aid, "ok", detail, ei);
        json_decref(detail);
    }
    return rc;
}

err_t qc_pbqc_observe(db *d, const audit_ctx *ctx, const char *test, const char *instrument,
                      double value, int64_t at, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    qc_movavg_config c;
    qc_movavg_state s;
    qc_movavg_point p;
    int64_t left_out = 0, points = 0;
    const char *inst = instrument ? instrument : "";
    err_t rc = db_query(d, &st, ei, sql_take, "tt", test, inst);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        config_of(st, 0, &c);
        s.value = db_col_double(st, 8);
        s.acc = db_col_double(st, 9);
        s.pending = (int)db_col_int64(st, 10);
        left_out = db_col_int64(st, 11);
        points = db_col_int64(st, 12);
    }
    db_finalize(st);
    st = NULL;
    if (rc || !row)
        return rc;
    /* Settings stored by qc_pbqc_settings_set are checked; a row that is
     * not (written by hand) is left alone rather than divided by zero. */
    if (qc_movavg_check(&c, NULL))
        return ERR_OK;
    qc_movavg_outcome o = qc_movavg_add(&c, &s, value, &p);
    if (o == QC_MOVAVG_LEFT_OUT)
        left_out++;
    if (o == QC_MOVAVG_POINT)
        points++;
    rc = db_run(d, ei, NULL, sql_state, "ddiiitt", s.value, s.acc, (int64_t)s.pending, left_out,
                points, test, inst);
    if (rc || o != QC_MOVAVG_POINT)
        return rc;
    char pid[ID_LEN + 1];
    id_new(pid);
    rc = db_run(d, ei, NULL, sql_point_insert, "tttiitddddii", pid, test, inst, points, at,
                qc_movavg_method_name(c.method), p.value, c.target, p.low, p.high, (int64_t)p.n,
                (int64_t)p.out);
    if (!rc && p.out)
        rc = alert_open(d, ctx, test, inst, pid, &c, &p, at, ei);
    return rc;
}
