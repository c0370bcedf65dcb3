/*
 * tolerance.c - tolerance QC for any device (see tolerance.h).
 */
#include "qc/tolerance.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "lab/result.h"
#include "qc/pt.h"
#include "store/dbjson.h"

#define HOUR_US (3600LL * 1000000)

static const char sql_asset_by_tag[] = "SELECT id, instrument FROM assets WHERE tag = ?";
static const char sql_check_insert[] =
    "INSERT INTO qc_checks (id, asset_id, code, name, unit, target, tolerance, frequency, active,"
    " created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)";
static const char sql_check_cols[] =
    "SELECT c.id, a.tag, c.code, c.name, c.unit, c.target, c.tolerance, c.frequency, c.active,"
    " c.asset_id, a.class, a.instrument FROM qc_checks c JOIN assets a ON a.id = c.asset_id";
static const char sql_check_update[] =
    "UPDATE qc_checks SET name = ?, target = ?, tolerance = ?, frequency = ?, active = ?,"
    " updated_at = ? WHERE id = ?";
static const char sql_result_insert[] =
    "INSERT INTO qc_check_results (id, check_id, value, target, tolerance, passed, at, operator,"
    " note, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_result_cols[] =
    "SELECT id, check_id, value, target, tolerance, passed, at, operator, note FROM"
    " qc_check_results";
static const char sql_last_pass[] =
    "SELECT MAX(at) FROM qc_check_results WHERE check_id = ? AND passed = 1 AND at <= ?";
static const char sql_open_lockout[] =
    "SELECT id, reason FROM qc_check_lockouts WHERE check_id = ? AND closed_at IS NULL";
static const char sql_lockout_insert[] =
    "INSERT INTO qc_check_lockouts (id, check_id, opened_at, opened_by, reason) VALUES"
    " (?, ?, ?, ?, ?)";
static const char sql_lockout_cols[] =
    "SELECT l.id, l.check_id, a.tag, c.code, l.opened_at, l.opened_by, l.reason,"
    " l.passing_result, l.corrective_action, l.closed_at, l.closed_by FROM qc_check_lockouts l"
    " JOIN qc_checks c ON c.id = l.check_id JOIN assets a ON a.id = c.asset_id";
/* The first passing result recorded after the lockout opened. */
static const char sql_passing_after[] =
    "SELECT id FROM qc_check_results WHERE check_id = ? AND passed = 1 AND recorded_at > ?"
    " ORDER BY at, id LIMIT 1";
static const char sql_lockout_close[] =
    "UPDATE qc_check_lockouts SET passing_result = ?, corrective_action = ?, closed_at = ?,"
    " closed_by = ? WHERE id = ? AND closed_at IS NULL";
static const char sql_device_checks[] =
    "SELECT c.id, c.code, c.frequency, c.created_at FROM qc_checks c WHERE c.asset_id = ? AND"
    " c.active = 1 ORDER BY c.code";

static const jsonv_field check_fields[] = {
    {"device", JSONV_STRING, true, QC_TOL_TEXT_MAX},
    {"code", JSONV_STRING, true, QC_TOL_TEXT_MAX},
    {"name", JSONV_STRING, true, QC_TOL_NAME_MAX},
    {"unit", JSONV_STRING, true, QC_TOL_TEXT_MAX},
    {"target", JSONV_NUMBER, true, 0},
    {"tolerance", JSONV_NUMBER, true, 0},
    {"frequency", JSONV_STRING, true, 4},
};
static const jsonv_field update_fields[] = {
    {"name", JSONV_STRING, false, QC_TOL_NAME_MAX},
    {"target", JSONV_NUMBER, false, 0},
    {"tolerance", JSONV_NUMBER, false, 0},
    {"frequency", JSONV_STRING, false, 4},
    {"active", JSONV_BOOL, false, 0},
};
static const jsonv_field result_fields[] = {
    {"value", JSONV_STRING, true, 40},
    {"at", JSONV_STRING, false, 40},
    {"note", JSONV_STRING, false, 2000},
};
static const jsonv_field close_fields[] = {
    {"corrective_action", JSONV_STRING, true, 2000},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

bool qc_tolerance_pass(double value, double target, double tolerance)
{
    return pt_grade(value, target, 0, tolerance);
}

int qc_tolerance_hours(const char *frequency)
{
    if (!frequency)
        return 0;
    if (!strcmp(frequency, "8h"))
        return 8;
    if (!strcmp(frequency, "24h"))
        return 24;
    if (!strcmp(frequency, "7d"))
        return 7 * 24;
    return 0;
}

static err_t asset_of_tag(db *d, const char *tag, char id[ID_LEN + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_asset_by_tag, "t", tag);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc =
            err_set(ei, ERR_INVALID, "device", "no asset of the register has the tag '%.64s'", tag);
    if (!rc)
        snprintf(id, ID_LEN + 1, "%s", db_col_text(st, 0));
    db_finalize(st);
    return rc;
}

/* The time of the last passing result of check at or before at (0: none). */
static err_t last_pass(db *d, const char *check_id, int64_t at, int64_t *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *out = 0;
    err_t rc = db_query(d, &st, ei, sql_last_pass, "ti", check_id, at);
    if (!rc && !(rc = db_step(st, &row, ei)) && row && !db_col_null(st, 0))
        *out = db_col_int64(st, 0);
    db_finalize(st);
    return rc;
}

/* The open lockout of a check: its id and reason ("" when none). */
static err_t open_lockout(db *d, const char *check_id, char id[ID_LEN + 1], char *reason, size_t n,
                          errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    id[0] = '\0';
    if (reason)
        reason[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_open_lockout, "t", check_id);
    if (!rc && !(rc = db_step(st, &row, ei)) && row) {
        snprintf(id, ID_LEN + 1, "%s", db_col_text(st, 0));
        if (reason)
            snprintf(reason, n, "%s", db_col_text(st, 1));
    }
    db_finalize(st);
    return rc;
}

static json_t *result_row(db_stmt *st)
{
    double v = db_col_double(st, 2), t = db_col_double(st, 3);
    return json_pack("{s:s,s:s,s:f,s:f,s:f,s:f,s:b,s:o,s:s,s:o}", "id", db_col_text(st, 0),
                     "check_id", db_col_text(st, 1), "value", v, "target", t, "tolerance",
                     db_col_double(st, 4), "deviation", v - t, "passed", db_col_int64(st, 5) != 0,
                     "at", db_col_json_time(st, 6), "operator", db_col_text(st, 7), "note",
                     db_col_json_text(st, 8));
}

/* The check whose row st holds, with its state at now. */
static err_t check_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    char id[ID_LEN + 1], lock[ID_LEN + 1], reason[300];
    int64_t now = time_now_us(), last = 0;
    snprintf(id, sizeof(id), "%s", db_col_text(st, 0));
    const char *freq = db_col_text(st, 7);
    bool active = db_col_int64(st, 8) != 0;
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:s,s:b,s:s,s:o}", "id", id, "device",
                  db_col_text(st, 1), "code", db_col_text(st, 2), "name", db_col_text(st, 3),
                  "unit", db_col_text(st, 4), "target", db_col_double(st, 5), "tolerance",
                  db_col_double(st, 6), "frequency", freq, "active", active, "device_class",
                  db_col_text(st, 10), "instrument", db_col_json_text(st, 11));
    if (!o)
        return ERR_NOMEM;
    int hours = qc_tolerance_hours(freq);
    err_t rc = last_pass(d, id, now, &last, ei);
    if (!rc)
        rc = open_lockout(d, id, lock, reason, sizeof(reason), ei);
    if (rc) {
        json_decref(o);
        return rc;
    }
    char due[TIME_ISO_LEN] = "";
    if (last)
        time_format_iso(last + hours * HOUR_US, due);
    json_object_set_new(o, "last_passed_at", last ? json_string("") : json_null());
    if (last) {
        char at[TIME_ISO_LEN];
        time_format_iso(last, at);
        json_object_set_new(o, "last_passed_at", json_string(at));
    }
    json_object_set_new(o, "due_at", last ? json_string(due) : json_null());
    json_object_set_new(o, "overdue",
                        json_boolean(active && (!last || now > last + hours * HOUR_US)));
    json_object_set_new(
        o, "lockout", lock[0] ? json_pack("{s:s,s:s}", "id", lock, "reason", reason) : json_null());
    *out = o;
    return ERR_OK;
}

err_t qc_tolerance_check_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    char sql[600];
    db_stmt *st = NULL;
    *out = NULL;
    snprintf(sql, sizeof(sql), "%s WHERE c.id = ?", sql_check_cols);
    err_t rc = db_query_by_id(d, &st, sql, id, "tolerance check", ei);
    if (!rc)
        rc = check_row(d, st, out, ei);
    db_finalize(st);
    return rc;
}

err_t qc_tolerance_checks_list(db *d, const char *device, json_t **items, errinfo *ei)
{
    char sql[700], asset[ID_LEN + 1] = "";
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    *items = NULL;
    if (!arr)
        return ERR_NOMEM;
    err_t rc = device ? asset_of_tag(d, device, asset, ei) : ERR_OK;
    snprintf(sql, sizeof(sql),
             "%s WHERE (CAST(? AS TEXT) IS NULL OR c.asset_id = ?) ORDER BY a.tag, c.code"
             " LIMIT 1000",
             sql_check_cols);
    if (!rc)
        rc = db_query(d, &st, ei, sql, "tt", device ? asset : NULL, asset);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        json_t *o = NULL;
        rc = check_row(d, st, &o, ei);
        if (!rc)
            json_array_append_new(arr, o);
    }
    db_finalize(st);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *items = arr;
    return ERR_OK;
}

/* Common checks of target, tolerance and frequency, present or not. */
static err_t check_values(const json_t *body, errinfo *ei)
{
    json_t *t = json_object_get(body, "target"), *tol = json_object_get(body, "tolerance");
    const char *freq = jsonv_str(body, "frequency");
    if (t && !isfinite(json_number_value(t)))
        return err_set(ei, ERR_INVALID, "target", "target must be a finite number");
    if (tol && !(json_number_value(tol) > 0 && isfinite(json_number_value(tol))))
        return err_set(ei, ERR_INVALID, "tolerance",
                       "tolerance must be greater than 0 (pass within target +- tolerance)");
    if (freq && !qc_tolerance_hours(freq))
        return err_set(ei, ERR_INVALID, "frequency", "frequency must be 8h, 24h or 7d");
    const char *name = jsonv_str(body, "name");
    if (name && !str_is_text(name))
        return err_set(ei, ERR_INVALID, "name", "name must be printable text, not blank");
    return ERR_OK;
}

/* Commit, or roll back and drop *out. */
static err_t finish(db *d, err_t rc, json_t **out, errinfo *ei)
{
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t qc_tolerance_check_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                                errinfo *ei)
{
    char id[ID_LEN + 1], asset[ID_LEN + 1];
    *out = NULL;
    err_t rc = jsonv_check(body, check_fields, NFIELDS(check_fields), ei);
    if (!rc)
        rc = check_values(body, ei);
    static const char *const texts[] = {"code", "unit"};
    for (size_t i = 0; !rc && i < 2; i++)
        if (!str_is_text(jsonv_str(body, texts[i])))
            rc = err_set(ei, ERR_INVALID, texts[i], "%s must be printable text, not blank",
                         texts[i]);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = asset_of_tag(d, jsonv_str(body, "device"), asset, ei);
    int64_t now = time_now_us();
    id_new(id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_check_insert, "tttttddtiti", id, asset,
                    jsonv_str(body, "code"), jsonv_str(body, "name"), jsonv_str(body, "unit"),
                    json_number_value(json_object_get(body, "target")),
                    json_number_value(json_object_get(body, "tolerance")),
                    jsonv_str(body, "frequency"), now, ctx->actor ? ctx->actor : "system", now);
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "code", "device %.64s has a check %.64s already",
                     jsonv_str(body, "device"), jsonv_str(body, "code"));
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:f,s:f}", "device", jsonv_str(body, "device"), "code",
                                   jsonv_str(body, "code"), "target",
                                   json_number_value(json_object_get(body, "target")), "tolerance",
                                   json_number_value(json_object_get(body, "tolerance")));
        rc = audit_write(d, ctx, "qc.check.create", "qc_check", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = qc_tolerance_check_get(d, id, out, ei);
    return finish(d, rc, out, ei);
}

err_t qc_tolerance_check_update(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                                json_t **out, errinfo *ei)
{
    json_t *cur = NULL;
    *out = NULL;
    err_t rc = jsonv_check(body, update_fields, NFIELDS(update_fields), ei);
    if (!rc)
        rc = check_values(body, ei);
    if (!rc && json_object_size(body) == 0)
        rc = err_set(ei, ERR_INVALID, NULL,
                     "give at least one of name, target, tolerance, frequency, active");
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = qc_tolerance_check_get(d, id, &cur, ei);
    if (!rc) {
        const json_t *src[2] = {body, cur};
        const char *name = NULL, *freq = NULL;
        double target = 0, tol = 0;
        bool active = true;
        for (int i = 1; i >= 0; i--) {
            const json_t *b = src[i];
            if (jsonv_str(b, "name"))
                name = jsonv_str(b, "name");
            if (jsonv_str(b, "frequency"))
                freq = jsonv_str(b, "frequency");
            if (json_object_get(b, "target"))
                target = json_number_value(json_object_get(b, "target"));
            if (json_object_get(b, "tolerance"))
                tol = json_number_value(json_object_get(b, "tolerance"));
            if (json_object_get(b, "active"))
                active = json_is_true(json_object_get(b, "active"));
        }
        rc = db_run(d, ei, NULL, sql_check_update, "tddtiit", name, target, tol, freq,
                    (int64_t)active, time_now_us(), id);
    }
    if (!rc) {
        json_t *detail = json_pack("{s:O,s:O}", "before", cur, "change", body);
        rc = audit_write(d, ctx, "qc.check.update", "qc_check", id, "ok", detail, ei);
        json_decref(detail);
    }
    json_decref(cur);
    if (!rc)
        rc = qc_tolerance_check_get(d, id, out, ei);
    return finish(d, rc, out, ei);
}

/* The live event of a lockout of check_id (chk: the check as
 * qc_tolerance_check_get() gives it) opening or closing: ids, no values. */
static err_t lockout_publish(db *d, const char *kind, const char *lockout_id, const char *check_id,
                             const json_t *chk, errinfo *ei)
{
    return db_publish_json(d, kind,
                           json_pack("{s:s,s:s,s:s,s:s}", "lockout_id", lockout_id, "check_id",
                                     check_id, "device", jsonv_str(chk, "device"), "code",
                                     jsonv_str(chk, "code")),
                           ei);
}

err_t qc_tolerance_result_enter(db *d, const audit_ctx *ctx, const char *check_id,
                                const json_t *body, json_t **out, errinfo *ei)
{
    char id[ID_LEN + 1], lock[ID_LEN + 1] = "";
    json_t *chk = NULL, *copy = json_deep_copy(body);
    double value = 0;
    int64_t now = time_now_us(), at = now;
    *out = NULL;
    if (!copy)
        return ERR_NOMEM;
    /* A number for "value" is checked as its decimal text. */
    json_t *v = json_object_get(copy, "value");
    if (json_is_number(v)) {
        char num[40];
        snprintf(num, sizeof(num), "%.17g", json_number_value(v));
        json_object_set_new(copy, "value", json_string(num));
    }
    err_t rc = jsonv_check(copy, result_fields, NFIELDS(result_fields), ei);
    const char *vs = rc ? NULL : jsonv_str(copy, "value");
    if (!rc && (str_to_double(vs, strlen(vs), &value) || !isfinite(value)))
        rc = err_set(ei, ERR_INVALID, "value", "value must be a number, not '%.30s'", vs);
    const char *ats = rc ? NULL : jsonv_str(copy, "at");
    if (ats) {
        errinfo e2 = {0};
        if (time_parse_iso(ats, strlen(ats), &at, &e2))
            rc = err_set(ei, ERR_INVALID, "at", "at: %s", e2.message);
        else if (at > now + 5 * 60 * 1000000LL)
            rc = err_set(ei, ERR_INVALID, "at", "at is in the future");
    }
    const char *note = rc ? NULL : jsonv_str(copy, "note");
    if (note && !str_is_text(note))
        rc = err_set(ei, ERR_INVALID, "note", "note must be printable text, not blank");
    if (!rc)
        rc = db_begin(d, ei);
    if (rc) {
        json_decref(copy);
        return rc;
    }
    rc = qc_tolerance_check_get(d, check_id, &chk, ei);
    if (!rc && !json_is_true(json_object_get(chk, "active")))
        rc = err_set(ei, ERR_INVALID, "id", "check %.64s of %.64s is not active",
                     jsonv_str(chk, "code"), jsonv_str(chk, "device"));
    double target = 0, tol = 0;
    bool passed = false;
    if (!rc) {
        target = json_number_value(json_object_get(chk, "target"));
        tol = json_number_value(json_object_get(chk, "tolerance"));
        passed = qc_tolerance_pass(value, target, tol);
        id_new(id);
        rc = db_run(d, ei, NULL, sql_result_insert, "ttdddiitti", id, check_id, value, target, tol,
                    (int64_t)passed, at, ctx->actor ? ctx->actor : "system", note, now);
    }
    if (!rc)
        rc = open_lockout(d, check_id, lock, NULL, 0, ei);
    if (!rc && !passed && !lock[0]) {
        char reason[400];
        snprintf(reason, sizeof(reason),
                 "%.64s of %.64s out of tolerance: %.6g %.20s against %.6g +- %.6g",
                 jsonv_str(chk, "code"), jsonv_str(chk, "device"), value, jsonv_str(chk, "unit"),
                 target, tol);
        id_new(lock);
        rc = db_run(d, ei, NULL, sql_lockout_insert, "ttitt", lock, check_id, now, id, reason);
        if (!rc) {
            json_t *detail = json_pack("{s:s,s:s}", "check", check_id, "reason", reason);
            rc = audit_write(d, ctx, "qc.check.lockout.open", "qc_check_lockout", lock, "ok",
                             detail, ei);
            json_decref(detail);
        }
        if (!rc)
            rc = lockout_publish(d, "device.qc.lockout.opened", lock, check_id, chk, ei);
    }
    if (!rc) {
        json_t *detail =
            json_pack("{s:s,s:f,s:b}", "check", check_id, "value", value, "passed", passed);
        rc = audit_write(d, ctx, "qc.check.result", "qc_check_result", id, "ok", detail, ei);
        json_decref(detail);
    }
    db_stmt *st = NULL;
    bool row = false;
    if (!rc) {
        char sql[300];
        snprintf(sql, sizeof(sql), "%s WHERE id = ?", sql_result_cols);
        rc = db_query(d, &st, ei, sql, "t", id);
    }
    if (!rc && !(rc = db_step(st, &row, ei)) && row) {
        *out = result_row(st);
        if (!*out)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    if (!rc)
        json_object_set_new(*out, "lockout", lock[0] ? json_string(lock) : json_null());
    json_decref(chk);
    json_decref(copy);
    return finish(d, rc, out, ei);
}

err_t qc_tolerance_results_list(db *d, const char *check_id, int64_t from, int64_t to,
                                json_t **items, errinfo *ei)
{
    char sql[400];
    db_stmt *st = NULL;
    json_t *chk = NULL;
    *items = NULL;
    err_t rc = qc_tolerance_check_get(d, check_id, &chk, ei);
    json_decref(chk);
    snprintf(sql, sizeof(sql),
             "%s WHERE check_id = ? AND at >= ? AND at < ? ORDER BY at, id LIMIT 5000",
             sql_result_cols);
    if (!rc)
        rc = db_query(d, &st, ei, sql, "tii", check_id, from, to ? to : INT64_MAX);
    return db_rows_json(rc, st, result_row, items, ei);
}

static json_t *lockout_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:b}", "id", db_col_text(st, 0),
                     "check_id", db_col_text(st, 1), "device", db_col_text(st, 2), "code",
                     db_col_text(st, 3), "opened_at", db_col_json_time(st, 4), "opened_by",
                     db_col_text(st, 5), "reason", db_col_text(st, 6), "passing_result",
                     db_col_json_text(st, 7), "corrective_action", db_col_json_text(st, 8),
                     "closed_at", db_col_json_time(st, 9), "closed_by", db_col_json_text(st, 10),
                     "open", db_col_null(st, 9));
}

err_t qc_tolerance_lockouts_list(db *d, bool open_only, json_t **items, errinfo *ei)
{
    char sql[700];
    db_stmt *st = NULL;
    snprintf(sql, sizeof(sql), "%s%s ORDER BY l.opened_at DESC LIMIT 500", sql_lockout_cols,
             open_only ? " WHERE l.closed_at IS NULL" : "");
    err_t rc = db_query(d, &st, ei, sql, "");
    return db_rows_json(rc, st, lockout_row, items, ei);
}

static err_t lockout_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    char sql[700];
    db_stmt *st = NULL;
    *out = NULL;
    snprintf(sql, sizeof(sql), "%s WHERE l.id = ?", sql_lockout_cols);
    err_t rc = db_query_by_id(d, &st, sql, id, "device QC lockout", ei);
    if (!rc && !(*out = lockout_row(st)))
        rc = ERR_NOMEM;
    db_finalize(st);
    return rc;
}

err_t qc_tolerance_lockout_close(db *d, const audit_ctx *ctx, const user *u, const char *id,
                                 const json_t *body, json_t **out, errinfo *ei)
{
    json_t *cur = NULL, *chk = NULL, *released = NULL;
    char passing[ID_LEN + 1] = "";
    *out = NULL;
    err_t rc = jsonv_check(body, close_fields, NFIELDS(close_fields), ei);
    if (rc)
        return rc;
    const char *action = jsonv_str(body, "corrective_action");
    if (!str_is_text(action))
        return err_set(ei, ERR_INVALID, "corrective_action",
                       "corrective_action must say what was done");
    rc = result_signature_check(d, ctx, u, jsonv_str(body, "password"), ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = lockout_get(d, id, &cur, ei);
    if (!rc && !json_is_true(json_object_get(cur, "open")))
        rc = err_set(ei, ERR_CONFLICT, "id", "this lockout was closed already");
    if (!rc) {
        db_stmt *st = NULL;
        bool row = false;
        int64_t opened = 0;
        const char *oat = jsonv_str(cur, "opened_at");
        time_parse_iso(oat, strlen(oat), &opened, NULL);
        rc = db_query(d, &st, ei, sql_passing_after, "ti", jsonv_str(cur, "check_id"), opened);
        if (!rc && !(rc = db_step(st, &row, ei)) && row)
            snprintf(passing, sizeof(passing), "%s", db_col_text(st, 0));
        db_finalize(st);
        if (!rc && !passing[0])
            rc = err_set(ei, ERR_CONFLICT, "id",
                         "no result has passed since the failure: repeat the check and record a "
                         "passing result before closing the lockout");
    }
    if (!rc)
        rc = db_run(d, ei, NULL, sql_lockout_close, "ttitt", passing, action, time_now_us(),
                    ctx->actor ? ctx->actor : "system", id);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s}", "check", jsonv_str(cur, "check_id"),
                                   "corrective_action", action);
        rc =
            audit_write(d, ctx, "qc.check.lockout.close", "qc_check_lockout", id, "ok", detail, ei);
        json_decref(detail);
    }
    /* The patient results held while the device was unfit: the gate decides again. */
    if (!rc)
        rc = qc_tolerance_check_get(d, jsonv_str(cur, "check_id"), &chk, ei);
    if (!rc)
        rc =
            lockout_publish(d, "device.qc.lockout.closed", id, jsonv_str(cur, "check_id"), chk, ei);
    const char *inst = chk ? jsonv_str(chk, "instrument") : NULL;
    if (!rc && inst)
        rc = result_recheck(d, ctx, NULL, inst, &released, ei);
    json_decref(chk);
    json_decref(cur);
    if (!rc)
        rc = lockout_get(d, id, out, ei);
    rc = finish(d, rc, out, ei);
    if (!rc)
        json_object_set_new(*out, "released", released ? released : json_array());
    else
        json_decref(released);
    return rc;
}

err_t qc_tolerance_fitness(db *d, const char *asset_id, int64_t at, char *why, size_t n,
                           errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    why[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_device_checks, "t", asset_id);
    while (!rc && !why[0] && !(rc = db_step(st, &row, ei)) && row) {
        char cid[ID_LEN + 1], code[QC_TOL_TEXT_MAX + 1], freq[8], lock[ID_LEN + 1], reason[300];
        snprintf(cid, sizeof(cid), "%s", db_col_text(st, 0));
        snprintf(code, sizeof(code), "%s", db_col_text(st, 1));
        snprintf(freq, sizeof(freq), "%s", db_col_text(st, 2));
        int64_t last = 0, hours = qc_tolerance_hours(freq);
        rc = open_lockout(d, cid, lock, reason, sizeof(reason), ei);
        if (!rc && lock[0]) {
            snprintf(why, n,
                     "%.200s: locked until a passing check and a supervisor's corrective action",
                     reason);
            break;
        }
        if (!rc)
            rc = last_pass(d, cid, at, &last, ei);
        if (!rc && !last) {
            snprintf(why, n, "tolerance check %s (every %s) has never passed", code, freq);
        } else if (!rc && at - last > hours * HOUR_US) {
            char when[TIME_ISO_LEN];
            time_format_iso(last, when);
            snprintf(why, n,
                     "tolerance check %s overdue: it is required every %s; it last passed %s", code,
                     freq, when);
        }
    }
    db_finalize(st);
    return rc;
}
