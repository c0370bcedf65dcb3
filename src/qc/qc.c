/*
 * qc.c - control materials, QC results, the Westgard judgement and lockouts
 * (see qc.h).
 */
#include "qc/qc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "lab/catalog.h"
#include "lab/result.h"
#include "qc/sigma.h"
#include "qc/westgard.h"
#include "store/dbjson.h"

static const char sql_material_insert[] =
    "INSERT INTO qc_materials (id, name, manufacturer, lot, level, expires, qc_id, created_at,"
    " created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_material[] = "SELECT id, name, manufacturer, lot, level, expires, qc_id"
                                   " FROM qc_materials WHERE id = ?";
static const char sql_materials[] = "SELECT id, name, manufacturer, lot, level, expires, qc_id"
                                    " FROM qc_materials ORDER BY manufacturer, lot, level";
static const char sql_by_qc_id[] = "SELECT id FROM qc_materials WHERE qc_id = ?";
static const char sql_target_upsert[] =
    "INSERT INTO qc_targets (material_id, test_code, instrument, mean, sd, source, runs,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (material_id, test_code,"
    " instrument) DO UPDATE SET mean = excluded.mean, sd = excluded.sd, source ="
    " excluded.source, runs = 0, updated_at = excluded.updated_at";
static const char sql_targets_of[] = "SELECT test_code, instrument, mean, sd, source, runs"
                                     " FROM qc_targets WHERE material_id = ?"
                                     " ORDER BY test_code, instrument";
/* The target for an instrument, else the one for every instrument (""). */
static const char sql_target_for[] =
    "SELECT instrument, mean, sd, source, runs FROM qc_targets WHERE material_id = ?"
    " AND test_code = ? AND (instrument = ? OR instrument = '') ORDER BY instrument DESC LIMIT 1";
static const char sql_target_copy[] =
    "INSERT INTO qc_targets (material_id, test_code, instrument, mean, sd, source, runs,"
    " updated_at) VALUES (?, ?, ?, NULL, NULL, 'established', 0, ?)";
static const char sql_establish_values[] =
    "SELECT value FROM qc_results WHERE material_id = ? AND test_code = ? AND instrument = ?"
    " ORDER BY at, id LIMIT 20";
static const char sql_target_established[] =
    "UPDATE qc_targets SET mean = ?, sd = ?, runs = ?, updated_at = ? WHERE material_id = ?"
    " AND test_code = ? AND instrument = ?";
static const char sql_settings_upsert[] =
    "INSERT INTO qc_settings (test_code, instrument, rules, frequency, tea_percent, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (test_code, instrument) DO UPDATE SET rules ="
    " excluded.rules, frequency = excluded.frequency, tea_percent = excluded.tea_percent,"
    " updated_at = excluded.updated_at";
static const char sql_settings_all[] =
    "SELECT test_code, instrument, rules, frequency, tea_percent FROM qc_settings"
    " ORDER BY test_code, instrument";
static const char sql_rules_of[] =
    "SELECT rules FROM qc_settings WHERE test_code = ? AND instrument = ?";
/* The earlier judged results the rules look back over, newest first. */
static const char sql_series[] =
    "SELECT q.id, q.at, q.run, q.material_id, q.value, q.mean, q.sd FROM qc_results q"
    " WHERE q.test_code = ? AND q.instrument = ? AND q.status IN ('accepted', 'warning')"
    " AND q.sd > 0 ORDER BY q.at DESC, q.id DESC LIMIT ?";
static const char sql_result_insert[] =
    "INSERT INTO qc_results (id, material_id, test_code, instrument, run, value, mean, sd, at,"
    " operator, source, status, violations, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?, ?, ?)";
static const char sql_result_cols[] =
    "SELECT q.id, q.material_id, m.level, m.lot, q.test_code, q.instrument, q.run, q.value,"
    " q.mean, q.sd, q.at, q.operator, q.source, q.status, q.violations FROM qc_results q"
    " JOIN qc_materials m ON m.id = q.material_id";
static const char sql_open_lockout[] =
    "SELECT id FROM qc_lockouts WHERE test_code = ? AND instrument = ? AND closed_at IS NULL";
static const char sql_last_good[] =
    "SELECT MAX(at) FROM qc_results WHERE test_code = ? AND instrument = ?"
    " AND status IN ('accepted', 'warning') AND at <= ?";
static const char sql_lockout_insert[] =
    "INSERT INTO qc_lockouts (id, test_code, instrument, opened_at, opened_by, reason,"
    " last_good_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_lockout_cols[] =
    "SELECT id, test_code, instrument, opened_at, opened_by, reason, last_good_at,"
    " passing_result, corrective_action, closed_at, closed_by FROM qc_lockouts";
/* Runs recorded after the lockout opened whose every result passed. */
static const char sql_passing_run[] =
    "SELECT q.run, MAX(q.id) FROM qc_results q WHERE q.test_code = ? AND q.instrument = ?"
    " AND q.at > ? GROUP BY q.run HAVING SUM(CASE WHEN q.status IN ('accepted', 'warning')"
    " THEN 0 ELSE 1 END) = 0 ORDER BY MAX(q.at) LIMIT 1";
static const char sql_lockout_close[] =
    "UPDATE qc_lockouts SET passing_result = ?, corrective_action = ?, closed_at = ?,"
    " closed_by = ? WHERE id = ? AND closed_at IS NULL";
static const char sql_since_good[] =
    "SELECT r.id, s.accession, r.value_text, r.status, r.resulted_at, r.released_at"
    " FROM results r JOIN specimens s ON s.id = r.specimen_id WHERE r.test_code = ?"
    " AND COALESCE(r.instrument, '') = ? AND r.resulted_at >= ? ORDER BY r.resulted_at";

static const jsonv_field material_fields[] = {
    {"name", JSONV_STRING, true, QC_TEXT_MAX}, {"manufacturer", JSONV_STRING, true, QC_TEXT_MAX},
    {"lot", JSONV_STRING, true, QC_TEXT_MAX},  {"level", JSONV_STRING, true, QC_TEXT_MAX},
    {"expires", JSONV_STRING, true, 10},       {"qc_id", JSONV_STRING, false, QC_TEXT_MAX},
    {"targets", JSONV_ARRAY, false, 200},
};
static const jsonv_field target_fields[] = {
    {"test", JSONV_STRING, true, CATALOG_CODE_MAX},
    {"instrument", JSONV_STRING, false, 64},
    {"mean", JSONV_NUMBER, false, 0},
    {"sd", JSONV_NUMBER, false, 0},
};
static const jsonv_field settings_fields[] = {
    {"test", JSONV_STRING, true, CATALOG_CODE_MAX},
    {"instrument", JSONV_STRING, false, 64},
    {"rules", JSONV_STRING, false, 200},
    {"frequency", JSONV_STRING, true, 4},
    {"tea_percent", JSONV_NUMBER, false, 0},
};
static const jsonv_field result_fields[] = {
    {"material_id", JSONV_STRING, false, ID_LEN},
    {"qc_id", JSONV_STRING, false, QC_TEXT_MAX},
    {"test", JSONV_STRING, true, CATALOG_CODE_MAX},
    {"instrument", JSONV_STRING, false, 64},
    {"run", JSONV_STRING, false, QC_TEXT_MAX},
    {"value", JSONV_STRING, true, 40},
    {"at", JSONV_STRING, false, 40},
};
static const jsonv_field close_fields[] = {
    {"corrective_action", JSONV_STRING, true, QC_ACTION_MAX},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* ---- materials and targets ---- */

static err_t check_target(db *d, const json_t *t, const char *path, errinfo *ei)
{
    char f[64];
    err_t rc = jsonv_check(t, target_fields, NFIELDS(target_fields), ei);
    if (rc) {
        char inner[sizeof(ei->field)];
        snprintf(inner, sizeof(inner), "%s", ei->field);
        snprintf(ei->field, sizeof(ei->field), "%.30s%s%.30s", path, path[0] ? "." : "", inner);
        return rc;
    }
    catalog_test ct;
    snprintf(f, sizeof(f), "%s%stest", path, path[0] ? "." : "");
    rc = catalog_get(d, jsonv_str(t, "test"), &ct, ei);
    if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
        return err_set(ei, ERR_INVALID, f, "%s '%.16s' is not a test of the catalog", f,
                       jsonv_str(t, "test"));
    if (rc)
        return rc;
    if (ct.kind != CATALOG_NUMERIC)
        return err_set(ei, ERR_INVALID, f, "%s: QC is charted for numeric tests; %s is not", f,
                       ct.code);
    json_t *mean = json_object_get(t, "mean"), *sd = json_object_get(t, "sd");
    if (!mean != !sd) {
        snprintf(f, sizeof(f), "%s%s%s", path, path[0] ? "." : "", mean ? "sd" : "mean");
        return err_set(ei, ERR_INVALID, f,
                       "mean and sd go together (leave both out to establish them from the "
                       "first %d runs)",
                       QC_ESTABLISH_RUNS);
    }
    if (sd && !(json_number_value(sd) > 0)) {
        snprintf(f, sizeof(f), "%s%ssd", path, path[0] ? "." : "");
        return err_set(ei, ERR_INVALID, f, "%s must be greater than 0", f);
    }
    return ERR_OK;
}

static err_t write_target(db *d, const char *material_id, const json_t *t, errinfo *ei)
{
    const char *inst = jsonv_str(t, "instrument");
    json_t *mean = json_object_get(t, "mean"), *sd = json_object_get(t, "sd");
    char m[40] = "", s[40] = "";
    if (mean) {
        snprintf(m, sizeof(m), "%.17g", json_number_value(mean));
        snprintf(s, sizeof(s), "%.17g", json_number_value(sd));
    }
    return db_run(d, ei, NULL, sql_target_upsert, "tttttti", material_id, jsonv_str(t, "test"),
                  inst ? inst : "", mean ? m : NULL, mean ? s : NULL,
                  mean ? "manual" : "established", time_now_us());
}

static err_t material_json(db *d, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *out = NULL;
    err_t rc = db_query(d, &st, ei, sql_material, "t", id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "material_id", "no control material has id %.30s", id);
    json_t *o = NULL;
    if (!rc) {
        o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", db_col_text(st, 0), "name",
                      db_col_text(st, 1), "manufacturer", db_col_text(st, 2), "lot",
                      db_col_text(st, 3), "level", db_col_text(st, 4), "expires",
                      db_col_text(st, 5), "qc_id", db_col_json_text(st, 6));
        if (!o)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    json_t *targets = json_array();
    if (!rc)
        rc = db_query(d, &st, ei, sql_targets_of, "t", id);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        bool manual = !strcmp(db_col_text(st, 4), "manual");
        int64_t runs = db_col_int64(st, 5);
        json_array_append_new(targets,
                              json_pack("{s:s,s:s,s:o,s:o,s:s,s:I,s:b}", "test", db_col_text(st, 0),
                                        "instrument", db_col_text(st, 1), "mean",
                                        db_col_json_num(st, 2), "sd", db_col_json_num(st, 3),
                                        "source", db_col_text(st, 4), "runs", (json_int_t)runs,
                                        "provisional", !manual && runs < QC_ESTABLISH_RUNS));
    }
    db_finalize(st);
    st = NULL;
    if (rc) {
        json_decref(o);
        json_decref(targets);
        return rc;
    }
    json_object_set_new(o, "targets", targets);
    *out = o;
    return ERR_OK;
}

err_t qc_material_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    char id[ID_LEN + 1];
    *out = NULL;
    err_t rc = jsonv_check(body, material_fields, NFIELDS(material_fields), ei);
    if (rc)
        return rc;
    const char *names[] = {"name", "manufacturer", "lot", "level"};
    for (size_t i = 0; i < 4; i++)
        if (!str_is_text(jsonv_str(body, names[i])))
            return err_set(ei, ERR_INVALID, names[i], "%s must be printable text, not blank",
                           names[i]);
    if (!time_date_valid(jsonv_str(body, "expires")))
        return err_set(ei, ERR_INVALID, "expires", "expires must be a date YYYY-MM-DD");
    const char *qc_id = jsonv_str(body, "qc_id");
    if (qc_id && !str_is_text(qc_id))
        return err_set(ei, ERR_INVALID, "qc_id", "qc_id must be printable text, not blank");
    const json_t *targets = json_object_get(body, "targets"), *t;
    size_t i;
    json_array_foreach(targets, i, t)
    {
        char path[32];
        snprintf(path, sizeof(path), "targets[%zu]", i);
        if (!json_is_object(t))
            return err_set(ei, ERR_INVALID, path, "%s must be an object", path);
        rc = check_target(d, t, path, ei);
        if (rc)
            return rc;
    }
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    id_new(id);
    rc = db_run(d, ei, NULL, sql_material_insert, "tttttttit", id, jsonv_str(body, "name"),
                jsonv_str(body, "manufacturer"), jsonv_str(body, "lot"), jsonv_str(body, "level"),
                jsonv_str(body, "expires"), qc_id, time_now_us(),
                ctx->actor ? ctx->actor : "system");
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, qc_id ? "qc_id" : "lot",
                     "a material with this manufacturer, lot and level%s exists already",
                     qc_id ? " (or this qc_id)" : "");
    json_array_foreach(targets, i, t)
    {
        if (!rc)
            rc = write_target(d, id, t, ei);
    }
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_INVALID, "targets", "a test and instrument is listed twice");
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s}", "lot", jsonv_str(body, "lot"), "level",
                                   jsonv_str(body, "level"));
        rc = audit_write(d, ctx, "qc.material.create", "qc_material", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = material_json(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* The ids in column 0 of the rows of st (queried by the caller, rc its
 * outcome), each made into JSON by one, as a new array in *items. */
static err_t ids_to_json(db *d, db_stmt *st, err_t rc,
                         err_t (*one)(db *, const char *, json_t **, errinfo *), json_t **items,
                         errinfo *ei)
{
    bool row = false;
    json_t *ids = json_array(), *arr = json_array(), *v;
    size_t i;
    if (!ids || !arr)
        rc = rc ? rc : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_array_append_new(ids, json_string(db_col_text(st, 0)));
    db_finalize(st);
    json_array_foreach(ids, i, v)
    {
        json_t *x = NULL;
        if (!rc)
            rc = one(d, json_string_value(v), &x, ei);
        if (x)
            json_array_append_new(arr, x);
    }
    json_decref(ids);
    if (rc) {
        json_decref(arr);
        arr = NULL;
    }
    *items = arr;
    return rc;
}

err_t qc_materials_list(db *d, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_materials, "");
    return ids_to_json(d, st, rc, material_json, items, ei);
}

err_t qc_target_set(db *d, const audit_ctx *ctx, const char *material_id, const json_t *body,
                    json_t **out, errinfo *ei)
{
    json_t *m = NULL;
    *out = NULL;
    err_t rc = check_target(d, body, "", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = material_json(d, material_id, &m, ei);
    json_decref(m);
    if (!rc)
        rc = write_target(d, material_id, body, ei);
    if (!rc) {
        json_t *detail = json_pack("{s:s}", "test", jsonv_str(body, "test"));
        rc = audit_write(d, ctx, "qc.target.set", "qc_material", material_id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = material_json(d, material_id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- settings ---- */

err_t qc_settings_set(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    uint32_t mask = 0;
    catalog_test ct;
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
    const char *rules = jsonv_str(body, "rules");
    if (!rules)
        rules = QC_DEFAULT_RULES;
    errinfo e2 = {0};
    if (qc_westgard_rules_parse(rules, strlen(rules), &mask, &e2))
        return err_set(ei, ERR_INVALID, "rules", "rules: %s", e2.message);
    const char *freq = jsonv_str(body, "frequency");
    if (strcmp(freq, "run") && strcmp(freq, "8h") && strcmp(freq, "24h"))
        return err_set(ei, ERR_INVALID, "frequency", "frequency must be run, 8h or 24h");
    json_t *tea = json_object_get(body, "tea_percent");
    if (tea && !(json_number_value(tea) > 0 && json_number_value(tea) < 100))
        return err_set(ei, ERR_INVALID, "tea_percent", "tea_percent must be between 0 and 100");
    const char *inst = jsonv_str(body, "instrument");
    char t[40] = "";
    if (tea)
        snprintf(t, sizeof(t), "%.17g", json_number_value(tea));
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_settings_upsert, "ttttti", ct.code, inst ? inst : "", rules, freq,
                tea ? t : NULL, time_now_us());
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:s,s:s}", "test", ct.code, "instrument",
                                   inst ? inst : "", "rules", rules, "frequency", freq);
        rc = audit_write(d, ctx, "qc.settings", "test", ct.code, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
    if (!rc) {
        *out = json_pack("{s:s,s:s,s:s,s:s,s:o}", "test", ct.code, "instrument", inst ? inst : "",
                         "rules", rules, "frequency", freq, "tea_percent",
                         tea ? json_real(json_number_value(tea)) : json_null());
        rc = *out ? ERR_OK : ERR_NOMEM;
    }
    return rc;
}

err_t qc_settings_list(db *d, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    err_t rc = arr ? db_query(d, &st, ei, sql_settings_all, "") : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:o}", "test", db_col_text(st, 0),
                                             "instrument", db_col_text(st, 1), "rules",
                                             db_col_text(st, 2), "frequency", db_col_text(st, 3),
                                             "tea_percent", db_col_json_num(st, 4)));
    db_finalize(st);
    st = NULL;
    if (rc) {
        json_decref(arr);
        arr = NULL;
    }
    *items = arr;
    return rc;
}

/* ---- results ---- */

err_t qc_material_by_qc_id(db *d, const char *id, char material_id[ID_LEN + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    material_id[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_by_qc_id, "t", id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        snprintf(material_id, ID_LEN + 1, "%s", db_col_text(st, 0));
    db_finalize(st);
    return rc;
}

/* The target in force for material, test and instrument. */
struct target {
    bool found, has, provisional, own; /* own: a row for this instrument */
    char source[16];
    double mean, sd;
    int64_t runs;
};

static err_t target_for(db *d, const char *material, const char *test, const char *inst,
                        struct target *t, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    memset(t, 0, sizeof(*t));
    err_t rc = db_query(d, &st, ei, sql_target_for, "ttt", material, test, inst);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        t->found = true;
        t->own = !strcmp(db_col_text(st, 0), inst);
        t->has = !db_col_null(st, 1) && !db_col_null(st, 2);
        t->mean = db_col_double(st, 1);
        t->sd = db_col_double(st, 2);
        snprintf(t->source, sizeof(t->source), "%s", db_col_text(st, 3));
        t->runs = db_col_int64(st, 4);
        t->provisional = !strcmp(t->source, "established") && t->runs < QC_ESTABLISH_RUNS;
    }
    db_finalize(st);
    return rc;
}

/* After a result: an established target takes the first 20 runs' mean and SD. */
static err_t establish(db *d, const char *material, const char *test, const char *inst, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    double v[QC_ESTABLISH_RUNS], sum = 0, ss = 0;
    int n = 0;
    err_t rc = db_query(d, &st, ei, sql_establish_values, "ttt", material, test, inst);
    while (!rc && !(rc = db_step(st, &row, ei)) && row && n < QC_ESTABLISH_RUNS)
        v[n++] = db_col_double(st, 0);
    db_finalize(st);
    st = NULL;
    if (rc || n == 0)
        return rc;
    for (int i = 0; i < n; i++)
        sum += v[i];
    double mean = sum / n;
    for (int i = 0; i < n; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    double sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
    char m[40], s[40];
    snprintf(m, sizeof(m), "%.17g", mean);
    snprintf(s, sizeof(s), "%.17g", sd);
    return db_run(d, ei, NULL, sql_target_established, "ttiittt", m, n > 1 && sd > 0 ? s : NULL,
                  (int64_t)n, time_now_us(), material, test, inst);
}

static bool json_key_eq(const qc_westgard_key *a, const char *s)
{
    return a->text.n == strlen(s) && !memcmp(a->text.p, s, a->text.n);
}

/*
 * Judge the new point against the earlier accepted ones: the violations the
 * new point completes, as a JSON array; *reject and *warn say what they mean.
 */
static err_t judge(db *d, const char *test, const char *inst, const char *material, const char *run,
                   int64_t at, double value, double mean, double sd, json_t **violations,
                   bool *reject, bool *warn, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    uint32_t mask = 0;
    char rules[201] = QC_DEFAULT_RULES;
    /* Text the keys point into lives in these arrays. */
    static const size_t cap = QC_SERIES_MAX + 1;
    qc_westgard_point *pts = calloc(cap, sizeof(*pts));
    char(*runs)[QC_TEXT_MAX + 1] = calloc(cap, sizeof(*runs));
    char(*levels)[ID_LEN + 1] = calloc(cap, sizeof(*levels));
    char(*ids)[ID_LEN + 1] = calloc(cap, sizeof(*ids));
    size_t n = 0;
    err_t rc = pts && runs && levels && ids ? ERR_OK : ERR_NOMEM;
    *violations = json_array();
    *reject = *warn = false;
    if (!rc)
        rc = db_query(d, &st, ei, sql_rules_of, "tt", test, inst);
    if (!rc && !(rc = db_step(st, &row, ei)) && row)
        snprintf(rules, sizeof(rules), "%s", db_col_text(st, 0));
    db_finalize(st);
    st = NULL;
    if (!rc && qc_westgard_rules_parse(rules, strlen(rules), &mask, NULL))
        mask = 0;
    if (!rc)
        rc = db_query(d, &st, ei, sql_series, "tti", test, inst, (int64_t)QC_SERIES_MAX);
    /* newest first: fill from the end so the array is in time order */
    size_t k = QC_SERIES_MAX;
    while (!rc && !(rc = db_step(st, &row, ei)) && row && k > 0) {
        k--;
        snprintf(ids[k], sizeof(ids[k]), "%s", db_col_text(st, 0));
        snprintf(runs[k], sizeof(runs[k]), "%s", db_col_text(st, 2));
        snprintf(levels[k], sizeof(levels[k]), "%s", db_col_text(st, 3));
        pts[k].time = db_col_int64(st, 1);
        pts[k].value = db_col_double(st, 4);
        pts[k].mean = db_col_double(st, 5);
        pts[k].sd = db_col_double(st, 6);
    }
    db_finalize(st);
    st = NULL;
    if (!rc) {
        /* move the rows read to the front, then the new point */
        n = QC_SERIES_MAX - k;
        memmove(pts, pts + k, n * sizeof(*pts));
        memmove(runs, runs + k, n * sizeof(*runs));
        memmove(levels, levels + k, n * sizeof(*levels));
        memmove(ids, ids + k, n * sizeof(*ids));
        snprintf(runs[n], sizeof(runs[n]), "%s", run);
        snprintf(levels[n], sizeof(levels[n]), "%s", material);
        snprintf(ids[n], sizeof(ids[n]), "new");
        pts[n] = (qc_westgard_point){.time = at, .value = value, .mean = mean, .sd = sd};
        n++;
        for (size_t i = 0; i < n; i++) {
            pts[i].run = (qc_westgard_key){{runs[i], strlen(runs[i])}, 0};
            pts[i].level = (qc_westgard_key){{levels[i], strlen(levels[i])}, 0};
            /* an earlier point later in time than the new one keeps order */
            if (i > 0 && pts[i].time < pts[i - 1].time)
                pts[i].time = pts[i - 1].time;
        }
        qc_westgard_violations vs = QC_WESTGARD_VIOLATIONS_INIT;
        errinfo e2 = {0};
        if (qc_westgard_eval(pts, n, mask, &vs, &e2)) {
            rc =
                err_set(ei, ERR_INVALID, "value", "the QC series cannot be judged: %s", e2.message);
        } else {
            for (size_t v = 0; v < vs.n; v++) {
                const qc_westgard_violation *x = &vs.v[v];
                if (x->npoints == 0 || x->points[x->npoints - 1] != n - 1)
                    continue; /* completed by an earlier point */
                json_t *points = json_array();
                for (size_t p = 0; p < x->npoints; p++)
                    json_array_append_new(points, json_string(ids[x->points[p]]));
                json_array_append_new(
                    *violations,
                    json_pack("{s:s,s:s,s:s,s:o,s:o}", "rule", qc_westgard_rule_name(x->rule),
                              "scope", qc_westgard_scope_name(x->scope), "action",
                              x->reject ? "reject" : "warning", "material",
                              x->level && json_key_eq(x->level, material)
                                  ? json_string(material)
                                  : (x->level ? json_stringn(x->level->text.p, x->level->text.n)
                                              : json_null()),
                              "results", points));
                *reject |= x->reject;
                *warn |= !x->reject;
            }
        }
        qc_westgard_violations_free(&vs);
    }
    free(pts);
    free(runs);
    free(levels);
    free(ids);
    return rc;
}

static err_t result_json(db *d, const char *id, json_t **out, errinfo *ei)
{
    char sql[600];
    db_stmt *st = NULL;
    *out = NULL;
    snprintf(sql, sizeof(sql), "%s WHERE q.id = ?", sql_result_cols);
    err_t rc = db_query_by_id(d, &st, sql, id, "QC result", ei);
    if (!rc) {
        double sd = db_col_double(st, 9);
        json_t *z = db_col_null(st, 9) || sd <= 0
                        ? json_null()
                        : json_real((db_col_double(st, 7) - db_col_double(st, 8)) / sd);
        json_t *viol = json_loads(db_col_text(st, 14), 0, NULL);
        *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:o}", "id",
                         db_col_text(st, 0), "material_id", db_col_text(st, 1), "level",
                         db_col_text(st, 2), "lot", db_col_text(st, 3), "test", db_col_text(st, 4),
                         "instrument", db_col_text(st, 5), "run", db_col_text(st, 6), "value",
                         db_col_double(st, 7), "mean", db_col_json_num(st, 8), "sd",
                         db_col_json_num(st, 9), "z", z, "at", db_col_json_time(st, 10), "operator",
                         db_col_text(st, 11), "source", db_col_text(st, 12), "status",
                         db_col_text(st, 13), "violations", viol ? viol : json_array());
        if (!*out)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    return rc;
}

/* The open lockout of a test and instrument: its id into id ("" when none). */
static err_t open_lockout(db *d, const char *test, const char *inst, char id[ID_LEN + 1],
                          errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    id[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_open_lockout, "tt", test, inst);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        snprintf(id, ID_LEN + 1, "%s", db_col_text(st, 0));
    db_finalize(st);
    return rc;
}

err_t qc_result_record(db *d, const audit_ctx *ctx, const qc_input *in, json_t **out, errinfo *ei)
{
    char material[ID_LEN + 1] = "", id[ID_LEN + 1], run[QC_TEXT_MAX + 1], day[11];
    const char *inst = in->instrument ? in->instrument : "";
    catalog_test ct;
    struct target t = {0};
    double value = 0;
    json_t *m = NULL, *violations = NULL;
    bool reject = false, warn = false;
    *out = NULL;
    int64_t at = in->at ? in->at : time_now_us();
    if (in->at && in->at > time_now_us() + 5 * 60 * 1000000LL)
        return err_set(ei, ERR_INVALID, "at", "at is in the future");
    if (!in->value || str_to_double(in->value, strlen(in->value), &value) || !isfinite(value))
        return err_set(ei, ERR_INVALID, "value", "value must be a number, not '%.30s'",
                       in->value ? in->value : "");
    if (in->run && !str_is_text(in->run))
        return err_set(ei, ERR_INVALID, "run", "run must be printable text, not blank");
    if (in->run)
        snprintf(run, sizeof(run), "%s", in->run);
    else {
        char iso_at[TIME_ISO_LEN];
        time_format_iso(at, iso_at);
        snprintf(run, sizeof(run), "%.13s", iso_at); /* the clock hour: 2026-11-21T08 */
    }
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    if (in->material_id) {
        snprintf(material, sizeof(material), "%s", in->material_id);
    } else if (in->qc_id) {
        rc = qc_material_by_qc_id(d, in->qc_id, material, ei);
        if (!rc && !material[0])
            rc =
                err_set(ei, ERR_INVALID, "qc_id", "no control material has qc_id %.40s", in->qc_id);
    } else {
        rc = err_set(ei, ERR_INVALID, "material_id", "material_id or qc_id is required");
    }
    if (!rc) {
        rc = material_json(d, material, &m, ei);
        if (rc == ERR_NOT_FOUND)
            rc = err_set(ei, ERR_INVALID, "material_id", "no control material has id %.30s",
                         material);
    }
    if (!rc) {
        time_format_date(at, day);
        const char *exp = jsonv_str(m, "expires");
        if (strcmp(day, exp) > 0)
            rc = err_set(ei, ERR_INVALID, "material_id",
                         "lot %s (%s) expired on %s: it cannot be used on %s", jsonv_str(m, "lot"),
                         jsonv_str(m, "level"), exp, day);
    }
    if (!rc) {
        rc = catalog_get(d, in->test, &ct, ei);
        if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
            rc = err_set(ei, ERR_INVALID, "test", "'%.16s' is not a test of the catalog", in->test);
    }
    if (!rc)
        rc = target_for(d, material, ct.code, inst, &t, ei);
    if (!rc && !t.found)
        rc = err_set(ei, ERR_INVALID, "test", "lot %s (%s) has no target for %s",
                     jsonv_str(m, "lot"), jsonv_str(m, "level"), ct.code);
    /* An established target is kept per instrument: start this one's. */
    if (!rc && !t.own && !strcmp(t.source, "established")) {
        rc = db_run(d, ei, NULL, sql_target_copy, "ttti", material, ct.code, inst, time_now_us());
        if (!rc)
            rc = target_for(d, material, ct.code, inst, &t, ei);
    }
    bool judged = !rc && t.has && !t.provisional;
    if (judged)
        rc = judge(d, ct.code, inst, material, run, at, value, t.mean, t.sd, &violations, &reject,
                   &warn, ei);
    const char *status = !judged  ? "provisional"
                         : reject ? "rejected"
                         : warn   ? "warning"
                                  : "accepted";
    char *vtext = NULL;
    if (!rc) {
        if (!violations)
            violations = json_array();
        vtext = violations ? json_dumps(violations, JSON_COMPACT) : NULL;
        if (!vtext)
            rc = ERR_NOMEM;
    }
    char mean[40] = "", sd[40] = "", val[40];
    snprintf(val, sizeof(val), "%.17g", value);
    if (t.has) {
        snprintf(mean, sizeof(mean), "%.17g", t.mean);
        snprintf(sd, sizeof(sd), "%.17g", t.sd);
    }
    if (!rc) {
        id_new(id);
        rc = db_run(d, ei, NULL, sql_result_insert, "ttttttttitttti", id, material, ct.code, inst,
                    run, val, t.has ? mean : NULL, t.has ? sd : NULL, at,
                    in->operator_name ? in->operator_name : "system",
                    in->from_instrument ? "instrument" : "manual", status, vtext, time_now_us());
    }
    if (!rc && !strcmp(t.source, "established") && t.runs < QC_ESTABLISH_RUNS)
        rc = establish(d, material, ct.code, inst, ei);
    if (!rc && reject) {
        char lock[ID_LEN + 1];
        rc = open_lockout(d, ct.code, inst, lock, ei);
        if (!rc && !lock[0]) {
            char reason[300] = "", lid[ID_LEN + 1], at_iso[TIME_ISO_LEN];
            size_t off = 0;
            json_t *v;
            size_t i;
            json_array_foreach(violations, i, v)
            {
                if (strcmp(jsonv_str(v, "action"), "reject"))
                    continue;
                off +=
                    (size_t)snprintf(reason + off, off < sizeof(reason) ? sizeof(reason) - off : 0,
                                     "%s%s", off ? ", " : "", jsonv_str(v, "rule"));
                if (off >= sizeof(reason))
                    break;
            }
            time_format_iso(at, at_iso);
            char full[420];
            snprintf(full, sizeof(full), "QC %.200s on lot %.40s (%.40s), run %.40s at %.16s",
                     reason, jsonv_str(m, "lot"), jsonv_str(m, "level"), run, at_iso);
            db_stmt *st = NULL;
            bool row = false;
            int64_t good = 0;
            rc = db_query(d, &st, ei, sql_last_good, "tti", ct.code, inst, at);
            if (!rc && !(rc = db_step(st, &row, ei)) && row && !db_col_null(st, 0))
                good = db_col_int64(st, 0);
            db_finalize(st);
            st = NULL;
            id_new(lid);
            if (!rc && good)
                rc = db_run(d, ei, NULL, sql_lockout_insert, "tttitti", lid, ct.code, inst, at, id,
                            full, good);
            else if (!rc)
                rc = db_run(d, ei, NULL, sql_lockout_insert, "tttittn", lid, ct.code, inst, at, id,
                            full);
            if (!rc) {
                json_t *detail =
                    json_pack("{s:s,s:s,s:s}", "test", ct.code, "instrument", inst, "reason", full);
                rc = audit_write(d, ctx, "qc.lockout.open", "qc_lockout", lid, "ok", detail, ei);
                json_decref(detail);
            }
            if (!rc)
                rc = db_publish_json(d, "qc.lockout.opened",
                                     json_pack("{s:s,s:s,s:s,s:s}", "lockout_id", lid, "test",
                                               ct.code, "instrument", inst, "reason", full),
                                     ei);
        }
    }
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:s,s:s}", "test", ct.code, "instrument", inst,
                                   "material_id", material, "status", status);
        rc = audit_write(d, ctx, "qc.result", "qc_result", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc && reject)
        rc = db_publish_json(d, "qc.rejected",
                             json_pack("{s:s,s:s,s:s,s:O}", "qc_result_id", id, "test", ct.code,
                                       "instrument", inst, "violations", violations),
                             ei);
    if (!rc)
        rc = result_json(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    free(vtext);
    json_decref(violations);
    json_decref(m);
    return rc;
}

err_t qc_result_enter(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    json_t *copy = json_deep_copy(body), *v;
    int64_t at = 0;
    *out = NULL;
    if (!copy)
        return ERR_NOMEM;
    /* A number for "value" is checked as its decimal text. */
    v = json_object_get(copy, "value");
    if (json_is_number(v)) {
        char num[40];
        snprintf(num, sizeof(num), "%.17g", json_number_value(v));
        json_object_set_new(copy, "value", json_string(num));
    }
    err_t rc = jsonv_check(copy, result_fields, NFIELDS(result_fields), ei);
    const char *ats = jsonv_str(copy, "at");
    if (!rc && ats) {
        errinfo e2 = {0};
        if (time_parse_iso(ats, strlen(ats), &at, &e2))
            rc = err_set(ei, ERR_INVALID, "at", "at: %s", e2.message);
    }
    if (!rc && !!jsonv_str(copy, "material_id") == !!jsonv_str(copy, "qc_id"))
        rc = err_set(ei, ERR_INVALID, "material_id", "give material_id or qc_id (one of them)");
    if (!rc) {
        qc_input in = {
            .material_id = jsonv_str(copy, "material_id"),
            .qc_id = jsonv_str(copy, "qc_id"),
            .test = jsonv_str(copy, "test"),
            .instrument = jsonv_str(copy, "instrument"),
            .run = jsonv_str(copy, "run"),
            .value = jsonv_str(copy, "value"),
            .at = at,
            .operator_name = ctx->actor,
        };
        rc = qc_result_record(d, ctx, &in, out, ei);
    }
    json_decref(copy);
    return rc;
}

err_t qc_results_list(db *d, const char *test, const char *instrument, int64_t from, int64_t to,
                      json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei,
                        "SELECT q.id FROM qc_results q WHERE q.test_code = ? AND (CAST(? AS TEXT)"
                        " IS NULL OR q.instrument = ?) AND q.at >= ? AND q.at < ?"
                        " ORDER BY q.at, q.id LIMIT 5000",
                        "tttii", test, instrument, instrument, from, to ? to : INT64_MAX);
    return ids_to_json(d, st, rc, result_json, items, ei);
}

/* ---- lockouts ---- */

static json_t *lockout_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:b}", "id", db_col_text(st, 0),
                     "test", db_col_text(st, 1), "instrument", db_col_text(st, 2), "opened_at",
                     db_col_json_time(st, 3), "opened_by", db_col_text(st, 4), "reason",
                     db_col_text(st, 5), "last_good_at", db_col_json_time(st, 6), "passing_result",
                     db_col_json_text(st, 7), "corrective_action", db_col_json_text(st, 8),
                     "closed_at", db_col_json_time(st, 9), "closed_by", db_col_json_text(st, 10),
                     "open", db_col_null(st, 9));
}

err_t qc_lockouts_list(db *d, bool open_only, json_t **items, errinfo *ei)
{
    char sql[600];
    db_stmt *st = NULL;
    snprintf(sql, sizeof(sql), "%s%s ORDER BY opened_at DESC LIMIT 500", sql_lockout_cols,
             open_only ? " WHERE closed_at IS NULL" : "");
    err_t rc = db_query(d, &st, ei, sql, "");
    return db_rows_json(rc, st, lockout_row, items, ei);
}

/* One lockout (no audit), with the patient results since the last good QC. */
static err_t lockout_json(db *d, const char *id, json_t **out, errinfo *ei)
{
    char sql[600];
    db_stmt *st = NULL;
    bool row = false;
    *out = NULL;
    snprintf(sql, sizeof(sql), "%s WHERE id = ?", sql_lockout_cols);
    err_t rc = db_query_by_id(d, &st, sql, id, "QC lockout", ei);
    json_t *o = NULL;
    char test[CATALOG_CODE_MAX + 1] = "", inst[65] = "";
    int64_t since = 0;
    if (!rc) {
        o = lockout_row(st);
        snprintf(test, sizeof(test), "%s", db_col_text(st, 1));
        snprintf(inst, sizeof(inst), "%s", db_col_text(st, 2));
        since = db_col_null(st, 6) ? 0 : db_col_int64(st, 6);
    }
    db_finalize(st);
    st = NULL;
    json_t *pts = json_array();
    if (!rc)
        rc = db_query(d, &st, ei, sql_since_good, "tti", test, inst, since);
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_array_append_new(pts, json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "id", db_col_text(st, 0),
                                             "accession", db_col_text(st, 1), "value",
                                             db_col_text(st, 2), "status", db_col_text(st, 3),
                                             "resulted_at", db_col_json_time(st, 4), "released_at",
                                             db_col_json_time(st, 5)));
    db_finalize(st);
    st = NULL;
    if (rc) {
        json_decref(o);
        json_decref(pts);
        return rc;
    }
    json_object_set_new(o, "patient_results_since_last_good_qc", pts);
    *out = o;
    return ERR_OK;
}

err_t qc_lockout_read(db *d, const audit_ctx *ctx, const char *id, json_t **out, errinfo *ei)
{
    return audit_read(d, ctx, "qc.lockout.read", "qc_lockout", id, lockout_json, out, ei);
}

err_t qc_lockout_close(db *d, const audit_ctx *ctx, const user *u, const char *id,
                       const json_t *body, json_t **out, errinfo *ei)
{
    json_t *cur = NULL;
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
    rc = lockout_json(d, id, &cur, ei);
    if (!rc && !json_is_true(json_object_get(cur, "open")))
        rc = err_set(ei, ERR_CONFLICT, "id", "this lockout was closed already");
    char test[CATALOG_CODE_MAX + 1] = "", inst[65] = "", passing[ID_LEN + 1] = "";
    if (!rc) {
        snprintf(test, sizeof(test), "%s", jsonv_str(cur, "test"));
        snprintf(inst, sizeof(inst), "%s", jsonv_str(cur, "instrument"));
        int64_t opened = 0;
        const char *oat = jsonv_str(cur, "opened_at");
        time_parse_iso(oat, strlen(oat), &opened, NULL);
        db_stmt *st = NULL;
        bool row = false;
        rc = db_query(d, &st, ei, sql_passing_run, "tti", test, inst, opened);
        if (!rc && !(rc = db_step(st, &row, ei)) && row)
            snprintf(passing, sizeof(passing), "%s", db_col_text(st, 1));
        db_finalize(st);
        st = NULL;
        if (!rc && !passing[0])
            rc = err_set(ei, ERR_CONFLICT, "id",
                         "no QC run has passed since the failure: run the controls again and "
                         "record a passing run before closing the lockout");
    }
    int64_t changed = 0;
    if (!rc)
        rc = db_run(d, ei, &changed, sql_lockout_close, "ttitt", passing, action, time_now_us(),
                    ctx->actor ? ctx->actor : "system", id);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:s}", "test", test, "instrument", inst,
                                   "corrective_action", action);
        rc = audit_write(d, ctx, "qc.lockout.close", "qc_lockout", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_publish_json(
            d, "qc.lockout.closed",
            json_pack("{s:s,s:s,s:s}", "lockout_id", id, "test", test, "instrument", inst), ei);
    /* The results it held: the gate decides again. */
    json_t *released = NULL;
    if (!rc)
        rc = result_recheck(d, ctx, test, inst, &released, ei);
    json_decref(cur);
    cur = NULL;
    if (!rc)
        rc = lockout_json(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    } else {
        json_object_set_new(*out, "released", released ? released : json_array());
        released = NULL;
    }
    json_decref(released);
    return rc;
}

/* ---- statistics and Sigma ---- */

static const char sql_stats[] =
    "SELECT COUNT(*), AVG(value), AVG(value * value) FROM qc_results WHERE material_id = ?"
    " AND test_code = ? AND instrument = ? AND status IN ('accepted', 'warning')"
    " AND at >= ? AND at < ?";
static const char sql_stat_materials[] =
    "SELECT DISTINCT q.material_id, m.level, m.lot FROM qc_results q JOIN qc_materials m"
    " ON m.id = q.material_id WHERE q.test_code = ? AND q.instrument = ? ORDER BY m.level, m.lot";
static const char sql_settings_of[] =
    "SELECT rules, tea_percent FROM qc_settings WHERE test_code = ? AND instrument = ?";

/* N, mean, SD, CV of a material's results in [from, to); NULLs when too few. */
static err_t period(db *d, const char *material, const char *test, const char *inst, int64_t from,
                    int64_t to, const struct target *t, json_t **out, double *cv_out,
                    double *bias_out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    int64_t n = 0;
    double mean = 0, sq = 0;
    *cv_out = NAN;
    *bias_out = NAN;
    err_t rc = db_query(d, &st, ei, sql_stats, "tttii", material, test, inst, from, to);
    if (!rc && !(rc = db_step(st, &row, ei)) && row) {
        n = db_col_int64(st, 0);
        mean = db_col_double(st, 1);
        sq = db_col_double(st, 2);
    }
    db_finalize(st);
    if (rc)
        return rc;
    double var = n > 1 ? (sq - mean * mean) * (double)n / (double)(n - 1) : NAN;
    double sd = n > 1 ? sqrt(var > 0 ? var : 0) : NAN;
    double cv = n > 1 && mean != 0 ? sd / fabs(mean) * 100 : NAN;
    double bias = n > 0 && t->has && t->mean != 0 ? (mean - t->mean) / t->mean * 100 : NAN;
    *cv_out = cv;
    *bias_out = bias;
#define NUM_OR_NULL(x) (isfinite(x) ? json_real(x) : json_null())
    *out = json_pack("{s:I,s:o,s:o,s:o,s:o}", "n", (json_int_t)n, "mean",
                     n > 0 ? json_real(mean) : json_null(), "sd", NUM_OR_NULL(sd), "cv_percent",
                     NUM_OR_NULL(cv), "bias_percent", NUM_OR_NULL(bias));
#undef NUM_OR_NULL
    return *out ? ERR_OK : ERR_NOMEM;
}

err_t qc_stats(db *d, const char *test, const char *instrument, int64_t from, int64_t to,
               json_t **out, errinfo *ei)
{
    catalog_test ct;
    db_stmt *st = NULL;
    bool row = false;
    char rules[201] = QC_DEFAULT_RULES;
    double site_tea = NAN;
    const char *inst = instrument ? instrument : "";
    *out = NULL;
    err_t rc = catalog_get(d, test, &ct, ei);
    if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
        return err_set(ei, ERR_INVALID, "test", "'%.16s' is not a test of the catalog", test);
    if (rc)
        return rc;
    if (!from && !to) {
        /* the current calendar month, UTC */
        char iso[TIME_ISO_LEN], first[32];
        int64_t now = time_now_us();
        time_format_iso(now, iso);
        snprintf(first, sizeof(first), "%.7s-01T00:00:00Z", iso);
        time_parse_iso(first, strlen(first), &from, NULL);
        to = now + 1;
    } else if (!to) {
        to = time_now_us() + 1;
    }
    if (from >= to)
        return err_set(ei, ERR_INVALID, "from", "from must be before to");
    rc = db_query(d, &st, ei, sql_settings_of, "tt", ct.code, inst);
    if (!rc && !(rc = db_step(st, &row, ei)) && row) {
        snprintf(rules, sizeof(rules), "%s", db_col_text(st, 0));
        if (!db_col_null(st, 1))
            site_tea = db_col_double(st, 1);
    }
    db_finalize(st);
    st = NULL;
    json_t *mats = json_array(), *list = json_array();
    if (!rc)
        rc = mats && list ? db_query(d, &st, ei, sql_stat_materials, "tt", ct.code, inst)
                          : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_array_append_new(
            mats, json_pack("[s,s,s]", db_col_text(st, 0), db_col_text(st, 1), db_col_text(st, 2)));
    db_finalize(st);
    const qc_tea_limit *clia = qc_tea_clia(ct.code);
    size_t i;
    json_t *m;
    json_array_foreach(mats, i, m)
    {
        const char *mid = json_string_value(json_array_get(m, 0));
        struct target t;
        json_t *month = NULL, *cum = NULL;
        double cv = NAN, bias = NAN, cv_all = NAN, bias_all = NAN;
        if (!rc)
            rc = target_for(d, mid, ct.code, inst, &t, ei);
        if (!rc)
            rc = period(d, mid, ct.code, inst, from, to, &t, &month, &cv, &bias, ei);
        if (!rc)
            rc = period(d, mid, ct.code, inst, 0, INT64_MAX, &t, &cum, &cv_all, &bias_all, ei);
        if (rc) {
            json_decref(month);
            json_decref(cum);
            break;
        }
        double tea = isfinite(site_tea) ? site_tea
                     : clia && t.has    ? qc_tea_percent(clia, t.mean)
                                        : NAN;
        double sigma = isfinite(tea) && isfinite(cv) && cv > 0 && isfinite(bias)
                           ? qc_sigma(tea, bias, cv)
                           : NAN;
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:s,s:o,s:o}", "material_id", mid, "level",
            json_string_value(json_array_get(m, 1)), "lot", json_string_value(json_array_get(m, 2)),
            "target_mean", t.has ? json_real(t.mean) : json_null(), "target_sd",
            t.has ? json_real(t.sd) : json_null(), "period", month, "cumulative", cum,
            "tea_percent", isfinite(tea) ? json_real(tea) : json_null(), "tea_source",
            isfinite(site_tea) ? "site"
            : clia             ? "CLIA"
                               : "none",
            "sigma", isfinite(sigma) ? json_real(sigma) : json_null(), "rules_in_use", rules,
            "rules_suggested", isfinite(sigma) ? json_string(qc_sigma_rules(sigma)) : json_null(),
            "controls_suggested",
            isfinite(sigma) ? json_string(qc_sigma_controls(sigma)) : json_null());
        if (!o) {
            rc = ERR_NOMEM;
            break;
        }
        json_array_append_new(list, o);
    }
    json_decref(mats);
    if (rc) {
        json_decref(list);
        return rc;
    }
    char a[TIME_ISO_LEN], b[TIME_ISO_LEN];
    time_format_iso(from, a);
    time_format_iso(to, b);
    *out = json_pack("{s:s,s:s,s:s,s:s,s:o}", "test", ct.code, "instrument", inst, "from", a, "to",
                     b, "materials", list);
    return *out ? ERR_OK : ERR_NOMEM;
}
