/*
 * result.c - results, from entry to release and correction (see result.h).
 */
#include "lab/result.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "lab/catalog.h"
#include "lab/delivery.h"
#include "lab/gate.h"
#include "lab/patient.h"
#include "lab/specimen.h"
#include "lab/worklist.h"
#include "qc/pbqc.h"
#include "stock/stock.h"
#include "store/dbjson.h"

#define VALUE_MAX 256

static const char sql_open_test[] =
    "SELECT id FROM order_tests WHERE specimen_id = ? AND test_code = ?"
    " AND status IN ('ordered', 'in-progress')";
static const char sql_any_test[] =
    "SELECT COUNT(*) FROM order_tests WHERE specimen_id = ? AND test_code = ?";
static const char sql_previous[] =
    "SELECT value_num, value_text, resulted_at FROM results WHERE patient_id = ?"
    " AND test_code = ? AND status IN ('released', 'corrected') AND value_num IS NOT NULL"
    " AND resulted_at >= ? ORDER BY resulted_at DESC LIMIT 1";
static const char sql_insert[] =
    "INSERT INTO results (id, order_test_id, specimen_id, patient_id, test_code, kind,"
    " value_num, value_text, unit, ref_low, ref_high, ref_text, flag, critical, delta_failed,"
    " delta_previous, instrument, instrument_flags, status, holds, resulted_at, resulted_by,"
    " version) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION), ?, ?,"
    " CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), ?, ?, ?, ?, ?, ?, ?, 'review',"
    " '[]', ?, ?, 1)";
static const char sql_test_status[] = "UPDATE order_tests SET status = ? WHERE id = ?";
static const char sql_alert[] =
    "INSERT INTO critical_alerts (id, result_id, opened_at) VALUES (?, ?, ?)";
static const char sql_holds[] = "UPDATE results SET holds = ? WHERE id = ?";
static const char sql_release[] =
    "UPDATE results SET status = 'released', released_at = ?, released_by = ?,"
    " release_mode = ?, holds = '[]' WHERE id = ? AND status = 'review'";
static const char sql_signature[] = "INSERT INTO signatures (id, result_id, user_id, meaning,"
                                    " signed_at) VALUES (?, ?, ?, ?, ?)";
static const char sql_row[] =
    "SELECT r.id, r.order_test_id, r.specimen_id, r.patient_id, r.test_code, r.kind,"
    " r.value_num, r.value_text, r.unit, r.ref_low, r.ref_high, r.ref_text, r.flag, r.critical,"
    " r.delta_failed, r.delta_previous, r.instrument, r.instrument_flags, r.status, r.holds,"
    " r.resulted_at, r.resulted_by, r.released_at, r.released_by, r.release_mode, r.version,"
    " t.name, t.loinc, s.accession FROM results r JOIN tests t ON t.code = r.test_code"
    " JOIN specimens s ON s.id = r.specimen_id WHERE r.id = ?";
static const char sql_history[] = "SELECT version, value_text, flag, status, replaced_at,"
                                  " replaced_by, reason FROM result_history WHERE result_id = ?"
                                  " ORDER BY version";
static const char sql_alert_of[] = "SELECT opened_at, closed_at, notified, notified_at,"
                                   " read_back, closed_by FROM critical_alerts"
                                   " WHERE result_id = ? ORDER BY opened_at DESC LIMIT 1";
static const char sql_sign_fail[] =
    "UPDATE users SET failed_logins = failed_logins + 1,"
    " locked = CASE WHEN failed_logins + 1 >= ? THEN 1 ELSE locked END WHERE id = ?";
static const char sql_open_alert_of[] =
    "SELECT opened_at FROM critical_alerts WHERE result_id = ? AND closed_at IS NULL";
static const char sql_close_alert[] =
    "UPDATE critical_alerts SET closed_at = ?, notified = ?, notified_at = ?, read_back = 1,"
    " closed_by = ? WHERE result_id = ? AND closed_at IS NULL";
static const char sql_status_of[] = "SELECT status, order_test_id FROM results WHERE id = ?";
static const char sql_queue[] =
    "SELECT r.id FROM results r JOIN specimens s ON s.id = r.specimen_id"
    " JOIN orders o ON o.id = s.order_id WHERE r.status = 'review'"
    " ORDER BY CASE o.priority WHEN 'stat' THEN 0 WHEN 'asap' THEN 1 ELSE 2 END, r.resulted_at"
    " LIMIT ?";
static const char sql_open_alerts[] = "SELECT result_id FROM critical_alerts"
                                      " WHERE closed_at IS NULL ORDER BY opened_at LIMIT 500";
static const char sql_history_add[] =
    "INSERT INTO result_history (id, result_id, version, value_text, value_num, flag, status,"
    " replaced_at, replaced_by, reason) VALUES (?, ?, ?, ?, CAST(? AS DOUBLE PRECISION), ?, ?,"
    " ?, ?, ?)";
static const char sql_correct[] =
    "UPDATE results SET value_num = CAST(? AS DOUBLE PRECISION), value_text = ?, flag = ?,"
    " critical = ?, status = 'corrected', version = version + 1 WHERE id = ? AND version = ?";

static const jsonv_field enter_fields[] = {{"results", JSONV_ARRAY, true, RESULT_BATCH_MAX}};
static const jsonv_field item_fields[] = {
    {"code", JSONV_STRING, true, 32},
    {"value", JSONV_STRING, true, VALUE_MAX}, /* or a number: checked below */
    {"unit", JSONV_STRING, false, 32},
    {"instrument", JSONV_STRING, false, 64},
    {"instrument_flags", JSONV_STRING, false, 63},
};
static const jsonv_field release_fields[] = {
    {"ids", JSONV_ARRAY, true, RESULT_BATCH_MAX},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};
static const jsonv_field call_fields[] = {
    {"notified", JSONV_STRING, true, 128},
    {"read_back", JSONV_BOOL, true, 0},
    {"at", JSONV_STRING, false, 40},
};
static const jsonv_field correct_fields[] = {
    {"value", JSONV_STRING, true, VALUE_MAX},
    {"unit", JSONV_STRING, false, 32},
    {"reason", JSONV_STRING, true, 256},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

/* A field path like "results[2].value" into ei->field after a nested check. */
static err_t nest(errinfo *ei, err_t rc, const char *prefix)
{
    if (rc && ei) {
        char inner[64];
        snprintf(inner, sizeof(inner), "%s", ei->field);
        snprintf(ei->field, sizeof(ei->field), "%.30s.%.30s", prefix, inner);
    }
    return rc;
}

/* A JSON number is as good as a decimal string for "value". */
static json_t *value_as_string(const json_t *item, const char *key)
{
    json_t *v = json_object_get(item, key);
    char text[64];
    if (json_is_integer(v)) {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
        return json_string(text);
    }
    if (json_is_real(v)) {
        snprintf(text, sizeof(text), "%.15g", json_real_value(v));
        return json_string(text);
    }
    return NULL;
}

/* The parsed value: numeric ones rounded to the test's decimals. */
struct value {
    bool numeric;
    double num;
    char text[VALUE_MAX + 1];
};

static err_t parse_value(const catalog_test *t, const char *raw, const char *field, struct value *v,
                         errinfo *ei)
{
    memset(v, 0, sizeof(*v));
    if (t->kind == CATALOG_NUMERIC) {
        double x;
        /* "<0.01" and similar are reported as text by instruments; not accepted here. */
        if (str_to_double(raw, strlen(raw), &x))
            return err_set(ei, ERR_INVALID, field, "%s must be a number for %s, not '%.40s'", field,
                           t->code, raw);
        /* No laboratory value comes near this; beyond it is a typing or device error. */
        if (fabs(x) >= 1e12)
            return err_set(ei, ERR_INVALID, field, "%s: %.40s is out of the range of any result",
                           field, raw);
        snprintf(v->text, sizeof(v->text), "%.*f", t->decimals, x);
        if (str_to_double(v->text, strlen(v->text), &v->num))
            return err_set(ei, ERR_INVALID, field, "%s: %.40s cannot be reported", field, raw);
        v->numeric = true;
        return ERR_OK;
    }
    if (t->kind == CATALOG_CODED) {
        /* The allowed codes are in the test's JSON. */
        return ERR_OK; /* checked by the caller against coded_values */
    }
    snprintf(v->text, sizeof(v->text), "%s", raw);
    return ERR_OK;
}

/* Flags for a numeric value against its band and critical limits. */
static const char *numeric_flag(const catalog_test *t, const catalog_range *r, bool has_range,
                                double x, bool *critical)
{
    *critical = false;
    if (t->has_critical_low && x < t->critical_low) {
        *critical = true;
        return "LL";
    }
    if (t->has_critical_high && x > t->critical_high) {
        *critical = true;
        return "HH";
    }
    if (has_range && r->has_low && x < r->low)
        return "L";
    if (has_range && r->has_high && x > r->high)
        return "H";
    return NULL;
}

static err_t coded_allowed(db *d, const catalog_test *t, const char *value, bool *ok, errinfo *ei)
{
    json_t *tj = NULL;
    size_t i;
    json_t *c;
    *ok = false;
    err_t rc = catalog_test_json(d, t->code, &tj, ei);
    if (rc)
        return rc;
    json_array_foreach(json_object_get(tj, "coded_values"), i, c)
    {
        if (!strcmp(json_string_value(c), value))
            *ok = true;
    }
    json_decref(tj);
    return ERR_OK;
}

static json_t *opt_str(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* The result as the API shows it, without an audit event. */
static err_t result_json(db *d, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *r = NULL, *hist = json_array();
    json_error_t je;
    err_t rc = hist ? db_prepare(d, sql_row, &st, ei) : ERR_NOMEM;
    if (!rc)
        rc = db_bind_str(st, 1, id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such result");
    if (!rc) {
        json_t *holds = json_loads(db_col_text(st, 19) ? db_col_text(st, 19) : "[]", 0, &je);
        r = json_pack(
            "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:{s:o,s:o,s:o},s:o,s:b,s:b,s:o,"
            "s:o,s:o,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:I}",
            "id", db_col_text(st, 0), "order_test_id", db_col_text(st, 1), "specimen_id",
            db_col_text(st, 2), "accession", db_col_text(st, 28), "patient_id", db_col_text(st, 3),
            "code", db_col_text(st, 4), "name", db_col_text(st, 26), "kind", db_col_text(st, 5),
            "loinc", opt_str(db_col_text(st, 27)), "value", db_col_text(st, 7), "value_num",
            db_col_json_num(st, 6), "unit", opt_str(db_col_text(st, 8)), "reference", "low",
            db_col_json_num(st, 9), "high", db_col_json_num(st, 10), "text",
            opt_str(db_col_text(st, 11)), "flag", opt_str(db_col_text(st, 12)), "critical",
            (int)db_col_int64(st, 13), "delta_failed", (int)db_col_int64(st, 14), "delta_previous",
            opt_str(db_col_text(st, 15)), "instrument", opt_str(db_col_text(st, 16)),
            "instrument_flags", opt_str(db_col_text(st, 17)), "status", db_col_text(st, 18),
            "holds", holds ? holds : json_array(), "resulted_at", "", "resulted_by",
            db_col_text(st, 21), "released_at", jsonv_time(db_col_int64(st, 22)), "released_by",
            opt_str(db_col_text(st, 23)), "release_mode", opt_str(db_col_text(st, 24)), "version",
            (json_int_t)db_col_int64(st, 25));
        if (r)
            json_object_set_new(r, "resulted_at", jsonv_time(db_col_int64(st, 20)));
        else
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_history, "t", id);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        json_array_append_new(
            hist,
            json_pack("{s:I,s:s,s:o,s:s,s:o,s:s,s:s}", "version", (json_int_t)db_col_int64(st, 0),
                      "value", db_col_text(st, 1), "flag", opt_str(db_col_text(st, 2)), "status",
                      db_col_text(st, 3), "replaced_at", jsonv_time(db_col_int64(st, 4)),
                      "replaced_by", db_col_text(st, 5), "reason", db_col_text(st, 6)));
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_alert_of, "t", id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc) {
        json_t *alert = json_null();
        if (row)
            alert = json_pack(
                "{s:o,s:o,s:o,s:o,s:b,s:o}", "opened_at", jsonv_time(db_col_int64(st, 0)),
                "closed_at", jsonv_time(db_col_int64(st, 1)), "notified",
                opt_str(db_col_text(st, 2)), "notified_at", jsonv_time(db_col_int64(st, 3)),
                "read_back", (int)db_col_int64(st, 4), "closed_by", opt_str(db_col_text(st, 5)));
        json_object_set_new(r, "critical_alert", alert);
        json_object_set_new(r, "history", hist);
        hist = NULL;
    }
    db_finalize(st);
    json_decref(hist);
    if (rc) {
        json_decref(r);
        return rc;
    }
    *out = r;
    return ERR_OK;
}

/* Release one result (automatic or manual) and mark its test released. */
static err_t release_one(db *d, const audit_ctx *ctx, const char *id, const char *order_test_id,
                         const char *by, const char *user_id, bool manual, errinfo *ei)
{
    int64_t now = time_now_us(), changed = 0;
    err_t rc =
        db_run(d, ei, &changed, sql_release, "ittt", now, by, manual ? "manual" : "auto", id);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "ids", "result %s is not waiting for review", id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_test_status, "tt", "released", order_test_id);
    if (!rc)
        rc = worklist_touch_test(d, order_test_id, ei);
    if (!rc)
        rc = delivery_enqueue(d, id, 'F', ei);
    if (!rc && manual) {
        char sid[ID_LEN + 1];
        id_new(sid);
        rc = db_run(d, ei, NULL, sql_signature, "tttti", sid, id, user_id, "release", now);
    }
    if (!rc) {
        json_t *detail = json_pack("{s:s}", "mode", manual ? "manual" : "auto");
        rc = audit_write(d, ctx, "result.release", "result", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_publish_json(
            d, "result.released",
            json_pack("{s:s,s:s}", "result_id", id, "mode", manual ? "manual" : "auto"), ei);
    return rc;
}

/* Pass the gate in automatic mode: release (release_one marks the test
 * released), or keep in review with the reasons and mark the test resulted.
 * The test's status is written once, when its result's fate is known. */
static err_t auto_verify(db *d, const audit_ctx *ctx, const char *id, const char *order_test_id,
                         errinfo *ei)
{
    json_t *reasons = NULL;
    err_t rc = gate_check(d, id, GATE_AUTO, NULL, &reasons, ei);
    if (rc)
        return rc;
    if (json_array_size(reasons) == 0) {
        json_decref(reasons);
        audit_ctx av = {NULL, "auto-verification", ctx->source};
        return release_one(d, &av, id, order_test_id, "auto-verification", NULL, false, ei);
    }
    char *text = json_dumps(reasons, JSON_COMPACT);
    json_decref(reasons);
    if (!text)
        return ERR_NOMEM;
    rc = db_run(d, ei, NULL, sql_holds, "tt", text, id);
    free(text);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_test_status, "tt", "resulted", order_test_id);
    if (!rc)
        rc = worklist_touch_test(d, order_test_id, ei);
    return rc;
}

static err_t find_open_test(db *d, const specimen *s, const char *code, const char *field,
                            char out[ID_LEN + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_open_test, "tt", s->id, code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        snprintf(out, ID_LEN + 1, "%s", db_col_text(st, 0));
    db_finalize(st);
    if (rc || row)
        return rc;
    /* An aliquot serves the tests of the specimen it was taken from. */
    if (s->parent_id[0]) {
        rc = db_query(d, &st, ei, sql_open_test, "tt", s->parent_id, code);
        if (!rc)
            rc = db_step(st, &row, ei);
        if (!rc && row)
            snprintf(out, ID_LEN + 1, "%s", db_col_text(st, 0));
        db_finalize(st);
        if (rc || row)
            return rc;
    }
    /* Why not: resulted already, or never ordered here. */
    int64_t any = 0;
    rc = db_query(d, &st, ei, sql_any_test, "tt", s->id, code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        any = db_col_int64(st, 0);
    db_finalize(st);
    if (rc)
        return rc;
    if (any)
        return err_set(ei, ERR_CONFLICT, field,
                       "%s on specimen %s has a result already (or was cancelled): correct it "
                       "instead",
                       code, s->accession);
    return err_set(ei, ERR_INVALID, field, "%s is not ordered on specimen %s", code, s->accession);
}

/* The latest released value within the delta window, for the delta check. */
static err_t previous_value(db *d, const char *patient_id, const catalog_test *t, int64_t now,
                            bool *found, double *prev, char *text, size_t n, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *found = false;
    err_t rc = db_query(d, &st, ei, sql_previous, "tti", patient_id, t->code,
                        now - (int64_t)t->delta_window_hours * 3600 * 1000000);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        *found = true;
        *prev = db_col_double(st, 0);
        char at[TIME_ISO_LEN];
        time_format_iso(db_col_int64(st, 2), at);
        snprintf(text, n, "%s at %.16s", db_col_text(st, 1), at);
    }
    db_finalize(st);
    return rc;
}

/* Enter one item; its id into id_out. */
static err_t enter_one(db *d, const audit_ctx *ctx, const specimen *s, const patient *p,
                       const json_t *item, size_t i, char id_out[ID_LEN + 1], errinfo *ei)
{
    char prefix[32], field[48], code[CATALOG_CODE_MAX + 1], ot_id[ID_LEN + 1] = "";
    char prev_text[96] = "";
    const char *flag = NULL;
    bool critical = false, delta_fail = false, has_range = false;
    catalog_test t;
    catalog_range range;
    struct value v;
    json_t *copy = json_deep_copy(item), *num;
    err_t rc;

    snprintf(prefix, sizeof(prefix), "results[%zu]", i);
    if (!copy)
        return ERR_NOMEM;
    /* A number for "value" is checked as its decimal text. */
    num = value_as_string(item, "value");
    if (num)
        json_object_set_new(copy, "value", num);
    rc = nest(ei, jsonv_check(copy, item_fields, sizeof(item_fields) / sizeof(item_fields[0]), ei),
              prefix);
    if (rc)
        goto done;
    const char *raw = jsonv_str(copy, "value");
    const char *inst = jsonv_str(copy, "instrument");
    snprintf(field, sizeof(field), "%s.code", prefix);
    /* An instrument's own code is mapped to the catalog's. */
    rc = inst ? catalog_resolve(d, inst, jsonv_str(copy, "code"), code, ei)
              : catalog_get(d, jsonv_str(copy, "code"), &t, ei);
    if (rc == ERR_NOT_FOUND || rc == ERR_INVALID) {
        rc = err_set(ei, ERR_INVALID, field, "unknown test code '%.20s'", jsonv_str(copy, "code"));
        goto done;
    }
    if (rc)
        goto done;
    if (inst) {
        rc = catalog_get(d, code, &t, ei);
        if (rc)
            goto done;
    }
    rc = find_open_test(d, s, t.code, field, ot_id, ei);
    if (rc)
        goto done;
    snprintf(field, sizeof(field), "%s.unit", prefix);
    const char *unit = jsonv_str(copy, "unit");
    if (unit && (t.kind != CATALOG_NUMERIC || strcmp(unit, t.unit))) {
        rc = err_set(ei, ERR_INVALID, field, "the unit of %s is %s, not %.32s", t.code,
                     t.kind == CATALOG_NUMERIC ? t.unit : "none", unit);
        goto done;
    }
    snprintf(field, sizeof(field), "%s.value", prefix);
    rc = parse_value(&t, raw, field, &v, ei);
    if (rc)
        goto done;

    int64_t age = patient_age_days(p, s->collected_at ? s->collected_at : time_now_us());
    rc = catalog_range_for(d, t.code, p->sex, age < 0 ? 0 : age, &range, ei);
    if (rc == ERR_NOT_FOUND)
        rc = ERR_OK;
    else if (!rc)
        has_range = true;
    if (rc)
        goto done;
    if (t.kind == CATALOG_NUMERIC) {
        flag = numeric_flag(&t, &range, has_range, v.num, &critical);
    } else {
        if (t.kind == CATALOG_CODED) {
            bool ok = false;
            rc = coded_allowed(d, &t, raw, &ok, ei);
            if (rc)
                goto done;
            if (!ok) {
                rc = err_set(ei, ERR_INVALID, field, "'%.40s' is not one of the codes of %s", raw,
                             t.code);
                goto done;
            }
            snprintf(v.text, sizeof(v.text), "%s", raw);
        }
        if (has_range && range.normal_text[0] && strcmp(v.text, range.normal_text))
            flag = "A";
    }
    int64_t now = time_now_us();
    if (t.kind == CATALOG_NUMERIC && t.has_delta) {
        bool found = false;
        double prev = 0;
        rc = previous_value(d, p->id, &t, now, &found, &prev, prev_text, sizeof(prev_text), ei);
        if (rc)
            goto done;
        if (found) {
            double diff = fabs(v.num - prev);
            if (t.delta_kind == CATALOG_DELTA_ABSOLUTE)
                delta_fail = diff > t.delta_limit;
            else
                delta_fail = prev != 0 && diff / fabs(prev) * 100.0 > t.delta_limit;
        }
    }

    id_new(id_out);
    char lo[40] = "", hi[40] = "", val[40] = "";
    if (has_range && range.has_low)
        snprintf(lo, sizeof(lo), "%.17g", range.low);
    if (has_range && range.has_high)
        snprintf(hi, sizeof(hi), "%.17g", range.high);
    if (v.numeric)
        snprintf(val, sizeof(val), "%.17g", v.num);
    /* Doubles travel as decimal text here so that absent ones can be NULL. */
    rc = db_run(d, ei, NULL, sql_insert, "tttttttttttttiitttit", id_out, ot_id, s->id, p->id,
                t.code, catalog_kind_name(t.kind), val[0] ? val : NULL, v.text,
                t.kind == CATALOG_NUMERIC ? t.unit : NULL, lo[0] ? lo : NULL, hi[0] ? hi : NULL,
                has_range && range.normal_text[0] ? range.normal_text : NULL, flag,
                (int64_t)critical, (int64_t)delta_fail, delta_fail ? prev_text : NULL, inst,
                jsonv_str(copy, "instrument_flags"), now, ctx->actor ? ctx->actor : "system");
    if (!rc && critical) {
        char aid[ID_LEN + 1];
        id_new(aid);
        rc = db_run(d, ei, NULL, sql_alert, "tti", aid, id_out, now);
    }
    if (!rc) {
        json_t *detail =
            json_pack("{s:s,s:s,s:o,s:b}", "code", t.code, "accession", s->accession, "flag",
                      flag ? json_string(flag) : json_null(), "critical", critical);
        rc = audit_write(d, ctx, "result.enter", "result", id_out, "ok", detail, ei);
        json_decref(detail);
    }
    /* Patient-based QC: the running average of the test on the instrument.
     * After the audit event, whose chain head orders this transaction with
     * every other writer before it takes the average's row. */
    if (!rc && v.numeric)
        rc = qc_pbqc_observe(d, ctx, t.code, inst ? inst : "", v.num, now, ei);
    /* Live updates carry ids and flags, never values or names: the pages read
     * those through the audited API. */
    if (!rc)
        rc = db_publish_json(d, "result.entered",
                             json_pack("{s:s,s:s,s:s,s:o,s:b,s:o,s:s}", "result_id", id_out,
                                       "accession", s->accession, "test", t.code, "flag",
                                       flag ? json_string(flag) : json_null(), "critical", critical,
                                       "instrument", inst ? json_string(inst) : json_null(),
                                       "priority", s->priority),
                             ei);
    if (!rc && critical)
        rc = db_publish_json(d, "critical.raised",
                             json_pack("{s:s,s:s,s:s,s:o}", "result_id", id_out, "accession",
                                       s->accession, "test", t.code, "flag",
                                       flag ? json_string(flag) : json_null()),
                             ei);
    /* Supplies: the reagent lots in use on the instrument, consumed and
     * linked to the result before the gate judges them. */
    if (!rc && inst)
        rc = stock_consume(d, ctx, id_out, t.code, inst, now, ei);
    if (!rc)
        rc = auto_verify(d, ctx, id_out, ot_id, ei);
done:
    json_decref(copy);
    return rc;
}

/* Enter the results of body inside a transaction of its own (a savepoint when
 * one is open) and, when list is given, append each as result_json shows it
 * before the commit. Their ids are appended to ids. */
static err_t enter(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                   json_t *ids, json_t *list, errinfo *ei)
{
    specimen s;
    patient p;
    json_t *items;
    size_t i;
    json_t *item;
    err_t rc;

    rc = jsonv_check(body, enter_fields, 1, ei);
    if (rc)
        goto done;
    items = json_object_get(body, "results");
    if (json_array_size(items) == 0) {
        rc = err_set(ei, ERR_INVALID, "results", "results must hold at least one result");
        goto done;
    }
    rc = db_begin(d, ei);
    if (rc)
        goto done;
    rc = specimen_get(d, accession, &s, ei);
    if (rc)
        goto fail;
    if (strcmp(s.status, "received") && strcmp(s.status, "in-process") &&
        strcmp(s.status, "stored")) {
        rc = err_set(ei, ERR_CONFLICT, "accession",
                     "specimen %s is %s: results are entered for received specimens", s.accession,
                     s.status);
        goto fail;
    }
    rc = patient_get(d, s.patient_id, &p, ei);
    if (rc)
        goto fail;
    json_array_foreach(items, i, item)
    {
        char id[ID_LEN + 1], prefix[32];
        if (!json_is_object(item)) {
            snprintf(prefix, sizeof(prefix), "results[%zu]", i);
            rc = err_set(ei, ERR_INVALID, prefix, "%s must be an object", prefix);
            goto fail;
        }
        rc = enter_one(d, ctx, &s, &p, item, i, id, ei);
        if (rc)
            goto fail;
        if (json_array_append_new(ids, json_string(id))) {
            rc = ERR_NOMEM;
            goto fail;
        }
    }
    json_array_foreach(list ? ids : NULL, i, item)
    {
        json_t *r = NULL;
        rc = result_json(d, json_string_value(item), &r, ei);
        if (rc)
            goto fail;
        json_array_append_new(list, r);
    }
    return db_commit(d, ei);
fail:
    db_rollback(d);
done:
    return rc;
}

err_t result_enter(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                   json_t **out, errinfo *ei)
{
    json_t *list = json_array(), *ids = json_array();
    err_t rc = list && ids ? enter(d, ctx, accession, body, ids, list, ei) : ERR_NOMEM;
    *out = NULL;
    if (!rc) {
        *out = json_pack("{s:O}", "results", list);
        if (!*out)
            rc = ERR_NOMEM;
    }
    json_decref(list);
    json_decref(ids);
    return rc;
}

err_t result_enter_ids(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                       json_t **ids, errinfo *ei)
{
    json_t *arr = json_array();
    err_t rc = arr ? enter(d, ctx, accession, body, arr, NULL, ei) : ERR_NOMEM;
    *ids = NULL;
    if (rc)
        json_decref(arr);
    else
        *ids = arr;
    return rc;
}

err_t result_read(db *d, const audit_ctx *ctx, const char *id, json_t **out, errinfo *ei)
{
    return audit_read(d, ctx, "result.read", "result", id, result_json, out, ei);
}

/* The ids a query returns, as results in full, audited as one search. */
static err_t list_query(db *d, const audit_ctx *ctx, const char *sql, int limit, json_t **items,
                        errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *ids = json_array(), *arr = json_array();
    err_t rc = ids && arr ? db_begin(d, ei) : ERR_NOMEM;
    *items = NULL;
    if (rc)
        goto done;
    rc = db_prepare(d, sql, &st, ei);
    if (!rc && limit > 0)
        rc = db_bind_int64(st, 1, limit);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        json_array_append_new(ids, json_string(db_col_text(st, 0)));
    }
    db_finalize(st);
    for (size_t i = 0; !rc && i < json_array_size(ids); i++) {
        json_t *r = NULL;
        rc = result_json(d, json_string_value(json_array_get(ids, i)), &r, ei);
        if (!rc)
            json_array_append_new(arr, r);
    }
    if (!rc) {
        json_t *detail = json_pack("{s:O}", "results", ids);
        rc = audit_write(d, ctx, "result.search", "result", "", "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        goto done;
    }
    *items = arr;
    arr = NULL;
done:
    json_decref(ids);
    json_decref(arr);
    return rc;
}

err_t result_review_queue(db *d, const audit_ctx *ctx, int limit, json_t **items, errinfo *ei)
{
    *items = NULL;
    if (limit < 1 || limit > 500)
        return err_set(ei, ERR_INVALID, "limit", "limit must be from 1 to 500");
    return list_query(d, ctx, sql_queue, limit, items, ei);
}

err_t result_open_criticals(db *d, const audit_ctx *ctx, json_t **items, errinfo *ei)
{
    return list_query(d, ctx, sql_open_alerts, 0, items, ei);
}

/*
 * The user's password, entered again: the electronic signature. A wrong one
 * counts toward the lockout like a wrong sign-in (a stolen session must not
 * be a way to guess the password) and is audited.
 */
err_t result_signature_check(db *d, const audit_ctx *ctx, const user *u, const char *password,
                             errinfo *ei)
{
    char hash[crypto_pwhash_STRBYTES];
    err_t rc = user_password_hash(d, u->id, hash, sizeof(hash), ei);
    if (rc)
        return rc;
    if (password && user_verify_password(hash, password))
        return ERR_OK;
    rc = db_begin(d, ei);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_sign_fail, "it", (int64_t)USER_MAX_FAILED_LOGIN, u->id);
    if (!rc)
        rc = audit_write(d, ctx, "signature.fail", "user", u->id, "failed", NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        return rc;
    }
    return err_set(ei, ERR_INVALID, "password",
                   "the password does not match: results are signed with your own password");
}

static err_t status_of(db *d, const char *id, char status[16], char ot[ID_LEN + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_status_of, "t", id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "ids", "no result has id %.30s", id);
    if (!rc) {
        snprintf(status, 16, "%s", db_col_text(st, 0));
        snprintf(ot, ID_LEN + 1, "%s", db_col_text(st, 1));
    }
    db_finalize(st);
    return rc;
}

err_t result_release(db *d, const audit_ctx *ctx, const user *u, const json_t *body, json_t **out,
                     errinfo *ei)
{
    json_t *ids, *held = json_array(), *list = json_array();
    size_t i;
    json_t *v;
    err_t rc;

    *out = NULL;
    if (!held || !list) {
        rc = ERR_NOMEM;
        goto done;
    }
    rc = jsonv_check(body, release_fields, 2, ei);
    if (rc)
        goto done;
    ids = json_object_get(body, "ids");
    if (json_array_size(ids) == 0) {
        rc = err_set(ei, ERR_INVALID, "ids", "ids must name at least one result");
        goto done;
    }
    json_array_foreach(ids, i, v)
    {
        if (!json_is_string(v)) {
            rc = err_set(ei, ERR_INVALID, "ids", "ids must be result ids");
            goto done;
        }
    }
    /* Checked before the transaction: argon2id takes a while. */
    rc = result_signature_check(d, ctx, u, jsonv_str(body, "password"), ei);
    if (rc)
        goto done;
    rc = db_begin(d, ei);
    if (rc)
        goto done;
    json_array_foreach(ids, i, v)
    {
        char status[16], ot[ID_LEN + 1];
        json_t *reasons = NULL;
        rc = status_of(d, json_string_value(v), status, ot, ei);
        if (!rc && strcmp(status, "review"))
            rc = err_set(ei, ERR_CONFLICT, "ids", "result %s is %s, not waiting for review",
                         json_string_value(v), status);
        if (!rc)
            rc = gate_check(d, json_string_value(v), GATE_MANUAL, u->id, &reasons, ei);
        if (rc)
            goto fail;
        if (json_array_size(reasons))
            json_array_append_new(held, json_pack("{s:O,s:o}", "id", v, "reasons", reasons));
        else
            json_decref(reasons);
    }
    if (json_array_size(held)) {
        db_rollback(d);
        *out = json_pack("{s:O}", "held", held);
        rc = err_set(ei, ERR_CONFLICT, "ids",
                     "%zu of the results may not be released yet; nothing was released",
                     json_array_size(held));
        goto done;
    }
    json_array_foreach(ids, i, v)
    {
        char status[16], ot[ID_LEN + 1];
        json_t *r = NULL;
        rc = status_of(d, json_string_value(v), status, ot, ei);
        if (!rc)
            rc = release_one(d, ctx, json_string_value(v), ot, u->username, u->id, true, ei);
        if (!rc)
            rc = result_json(d, json_string_value(v), &r, ei);
        if (rc)
            goto fail;
        json_array_append_new(list, r);
    }
    rc = db_commit(d, ei);
    if (!rc)
        *out = json_pack("{s:O}", "results", list);
    goto done;
fail:
    db_rollback(d);
done:
    json_decref(held);
    json_decref(list);
    return rc;
}

/* When the open alert of a result was opened; 0 when none is open. */
static err_t alert_opened_at(db *d, const char *id, int64_t *opened, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *opened = 0;
    err_t rc = db_query(d, &st, ei, sql_open_alert_of, "t", id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        *opened = db_col_int64(st, 0);
    db_finalize(st);
    return rc;
}

err_t result_critical_call(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                           json_t **out, errinfo *ei)
{
    int64_t now = time_now_us(), at = now, changed = 0;
    const char *at_text;
    char status[16], ot[ID_LEN + 1];
    errinfo tei = {0};
    err_t rc;

    *out = NULL;
    rc = jsonv_check(body, call_fields, sizeof(call_fields) / sizeof(call_fields[0]), ei);
    if (rc)
        return rc;
    if (!json_is_true(json_object_get(body, "read_back")))
        return err_set(ei, ERR_INVALID, "read_back",
                       "the value must be read back by whoever took the call");
    at_text = jsonv_str(body, "at");
    if (at_text && time_parse_iso(at_text, strlen(at_text), &at, &tei))
        return err_set(ei, ERR_INVALID, "at", "at: %s", tei.message);
    if (at > now + 120 * 1000000LL)
        return err_set(ei, ERR_INVALID, "at", "at is in the future");
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = status_of(d, id, status, ot, ei);
    if (rc == ERR_NOT_FOUND)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such result");
    if (!rc) {
        int64_t opened = 0;
        rc = alert_opened_at(d, id, &opened, ei);
        if (!rc && opened && at < opened) {
            char iso[TIME_ISO_LEN];
            time_format_iso(opened, iso);
            rc = err_set(ei, ERR_INVALID, "at", "at is before the critical value was found (%s)",
                         iso);
        }
    }
    if (!rc)
        rc = db_run(d, ei, &changed, sql_close_alert, "ititt", now, jsonv_str(body, "notified"), at,
                    ctx->actor ? ctx->actor : "system", id);
    if (!rc && changed == 0)
        rc = err_set(ei, ERR_CONFLICT, NULL, "result %s has no open critical alert", id);
    if (!rc) {
        json_t *detail =
            json_pack("{s:s,s:b}", "notified", jsonv_str(body, "notified"), "read_back", 1);
        rc = audit_write(d, ctx, "result.critical-call", "result", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_publish_json(d, "critical.called", json_pack("{s:s}", "result_id", id), ei);
    if (!rc && !strcmp(status, "review")) {
        /* Show what still holds it (now only the review itself). */
        json_t *reasons = NULL;
        rc = gate_check(d, id, GATE_AUTO, NULL, &reasons, ei);
        if (!rc) {
            char *text = json_dumps(reasons, JSON_COMPACT);
            rc = text ? db_run(d, ei, NULL, sql_holds, "tt", text, id) : ERR_NOMEM;
            free(text);
        }
        json_decref(reasons);
    }
    if (!rc)
        rc = result_json(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t result_correct(db *d, const audit_ctx *ctx, const user *u, const char *id, const json_t *body,
                     json_t **out, errinfo *ei)
{
    json_t *cur = NULL, *copy = json_deep_copy(body), *num;
    catalog_test t;
    struct value v;
    const char *flag = NULL;
    bool critical = false;
    err_t rc;

    *out = NULL;
    if (!copy)
        return ERR_NOMEM;
    num = value_as_string(body, "value");
    if (num)
        json_object_set_new(copy, "value", num);
    rc = jsonv_check(copy, correct_fields, sizeof(correct_fields) / sizeof(correct_fields[0]), ei);
    if (!rc)
        rc = result_signature_check(d, ctx, u, jsonv_str(copy, "password"), ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        goto done;
    rc = result_json(d, id, &cur, ei);
    if (rc)
        goto fail;
    const char *status = json_string_value(json_object_get(cur, "status"));
    if (strcmp(status, "released") && strcmp(status, "corrected")) {
        rc = err_set(ei, ERR_CONFLICT, NULL,
                     "only a released result is corrected; this one is %s (edit the review)",
                     status);
        goto fail;
    }
    rc = catalog_get(d, json_string_value(json_object_get(cur, "code")), &t, ei);
    if (rc)
        goto fail;
    const char *unit = jsonv_str(copy, "unit");
    if (unit && (t.kind != CATALOG_NUMERIC || strcmp(unit, t.unit))) {
        rc = err_set(ei, ERR_INVALID, "unit", "the unit of %s is %s", t.code,
                     t.kind == CATALOG_NUMERIC ? t.unit : "none");
        goto fail;
    }
    rc = parse_value(&t, jsonv_str(copy, "value"), "value", &v, ei);
    if (rc)
        goto fail;
    /* Flag again against the range recorded with the result. */
    json_t *ref = json_object_get(cur, "reference");
    catalog_range range;
    memset(&range, 0, sizeof(range));
    range.has_low = json_is_number(json_object_get(ref, "low"));
    range.low = json_number_value(json_object_get(ref, "low"));
    range.has_high = json_is_number(json_object_get(ref, "high"));
    range.high = json_number_value(json_object_get(ref, "high"));
    const char *normal = json_string_value(json_object_get(ref, "text"));
    if (t.kind == CATALOG_NUMERIC) {
        flag = numeric_flag(&t, &range, true, v.num, &critical);
    } else {
        if (t.kind == CATALOG_CODED) {
            bool ok = false;
            rc = coded_allowed(d, &t, jsonv_str(copy, "value"), &ok, ei);
            if (rc)
                goto fail;
            if (!ok) {
                rc = err_set(ei, ERR_INVALID, "value", "not one of the codes of %s", t.code);
                goto fail;
            }
        }
        snprintf(v.text, sizeof(v.text), "%s", jsonv_str(copy, "value"));
        if (normal && strcmp(v.text, normal))
            flag = "A";
    }
    int64_t now = time_now_us(), version = json_integer_value(json_object_get(cur, "version"));
    char hid[ID_LEN + 1], sid[ID_LEN + 1], old_num[40] = "", new_num[40] = "";
    json_t *old_v = json_object_get(cur, "value_num");
    if (json_is_number(old_v))
        snprintf(old_num, sizeof(old_num), "%.17g", json_number_value(old_v));
    if (v.numeric)
        snprintf(new_num, sizeof(new_num), "%.17g", v.num);
    id_new(hid);
    id_new(sid);
    rc = db_run(d, ei, NULL, sql_history_add, "ttittttitt", hid, id, version,
                json_string_value(json_object_get(cur, "value")), old_num[0] ? old_num : NULL,
                json_string_value(json_object_get(cur, "flag")), status, now, u->username,
                jsonv_str(copy, "reason"));
    if (!rc) {
        int64_t changed = 0;
        rc = db_run(d, ei, &changed, sql_correct, "tttiti", new_num[0] ? new_num : NULL, v.text,
                    flag, (int64_t)critical, id, version);
        if (!rc && changed != 1)
            rc = err_set(ei, ERR_CONFLICT, NULL, "the result changed meanwhile; try again");
    }
    if (!rc)
        rc = db_run(d, ei, NULL, sql_signature, "tttti", sid, id, u->id, "correction", now);
    /* The test stays released; its specimen's state is recomputed all the
     * same, so that no write to a result can leave it stale. */
    if (!rc)
        rc = worklist_touch_test(d, json_string_value(json_object_get(cur, "order_test_id")), ei);
    if (!rc)
        rc = delivery_enqueue(d, id, 'C', ei);
    if (!rc && critical) {
        char aid[ID_LEN + 1];
        id_new(aid);
        rc = db_run(d, ei, NULL, sql_alert, "tti", aid, id, now);
    }
    if (!rc) {
        json_t *detail =
            json_pack("{s:s,s:s,s:s}", "from", json_string_value(json_object_get(cur, "value")),
                      "to", v.text, "reason", jsonv_str(copy, "reason"));
        rc = audit_write(d, ctx, "result.correct", "result", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_publish_json(d, "result.corrected",
                             json_pack("{s:s,s:s,s:o}", "result_id", id, "test", t.code, "flag",
                                       flag ? json_string(flag) : json_null()),
                             ei);
    if (!rc && critical)
        rc = db_publish_json(d, "critical.raised",
                             json_pack("{s:s,s:s,s:s,s:o}", "result_id", id, "accession",
                                       json_string_value(json_object_get(cur, "accession")), "test",
                                       t.code, "flag", flag ? json_string(flag) : json_null()),
                             ei);
    if (!rc)
        rc = result_json(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        goto fail;
    goto done;
fail:
    db_rollback(d);
    json_decref(*out);
    *out = NULL;
done:
    json_decref(cur);
    json_decref(copy);
    return rc;
}

err_t result_recheck(db *d, const audit_ctx *ctx, const char *test, const char *inst,
                     json_t **released, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *held = json_array(), *out = json_array(), *h;
    size_t i;
    *released = NULL;
    err_t rc = held && out ? db_query(d, &st, ei,
                                      "SELECT id, order_test_id FROM results WHERE status ="
                                      " 'review' AND (CAST(? AS TEXT) IS NULL OR test_code = ?)"
                                      " AND COALESCE(instrument, '') = ? ORDER BY resulted_at",
                                      "ttt", test, test, inst)
                           : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_array_append_new(held, json_pack("[s,s]", db_col_text(st, 0), db_col_text(st, 1)));
    db_finalize(st);
    json_array_foreach(held, i, h)
    {
        char status[16], ot[ID_LEN + 1];
        const char *id = json_string_value(json_array_get(h, 0));
        if (!rc)
            rc = auto_verify(d, ctx, id, json_string_value(json_array_get(h, 1)), ei);
        if (!rc)
            rc = status_of(d, id, status, ot, ei);
        if (!rc && strcmp(status, "review"))
            json_array_append_new(out, json_string(id));
    }
    json_decref(held);
    if (rc)
        json_decref(out);
    else
        *released = out;
    return rc;
}
