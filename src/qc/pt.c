/*
 * pt.c - proficiency testing: events and their samples, submitted results,
 * grades against the provider's targets, scores per analyte and corrective
 * actions (see pt.h).
 *
 * Each write first takes the event's row (an UPDATE that changes nothing but
 * locks it on PostgreSQL; SQLite's BEGIN IMMEDIATE locks already), so that a
 * submission, a grading and the corrective actions of one event never
 * interleave: each reads what the one before it committed.
 */
#include "qc/pt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "lab/catalog.h"
#include "lab/result.h"
#include "qc/sigma.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))
#define PT_SKEW_US (5 * 60 * 1000000LL) /* how far ahead a client's clock may be */

/* ---- grading ---- */

double pt_limit(double target, double pct, double abs)
{
    double from_pct = pct > 0 ? pct * fabs(target) / 100.0 : 0;
    double amount = abs > 0 ? abs : 0;
    return from_pct > amount ? from_pct : amount;
}

bool pt_grade(double value, double target, double pct, double abs)
{
    double limit = pt_limit(target, pct, abs);
    double slack = 1e-12 * (fabs(value) + fabs(target) + limit);
    return fabs(value - target) <= limit + slack;
}

double pt_score(int acceptable, int graded)
{
    return graded > 0 ? (double)acceptable * 100.0 / (double)graded : NAN;
}

bool pt_satisfactory(int acceptable, int graded)
{
    return graded > 0 && (int64_t)acceptable * 100 >= (int64_t)PT_SATISFACTORY * graded;
}

/* ---- SQL ---- */

#define PT_EVENT_COLS                                                                              \
    "SELECT e.id, e.provider, e.event_code, e.due_date, e.status, e.created_at, e.created_by,"     \
    " e.graded_at, e.graded_by, e.closed_at, (SELECT COUNT(*) FROM pt_samples s WHERE"             \
    " s.event_id = e.id), (SELECT COUNT(*) FROM pt_samples s JOIN pt_results r ON r.sample_id ="   \
    " s.id WHERE s.event_id = e.id AND r.value IS NOT NULL) FROM pt_events e"

static const char sql_event[] = PT_EVENT_COLS " WHERE e.id = ?";
static const char sql_events[] = PT_EVENT_COLS " WHERE (CAST(? AS TEXT) IS NULL OR e.status = ?)"
                                               " ORDER BY e.due_date DESC, e.created_at DESC"
                                               " LIMIT 500";
static const char sql_head[] = "SELECT status, due_date FROM pt_events WHERE id = ?";
static const char sql_event_insert[] =
    "INSERT INTO pt_events (id, provider, event_code, due_date, status, created_at, created_by)"
    " VALUES (?, ?, ?, ?, 'open', ?, ?)";
static const char sql_sample_insert[] =
    "INSERT INTO pt_samples (id, event_id, sample, test_code, instrument, place)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_lock[] = "UPDATE pt_events SET status = status WHERE id = ? AND status = ?";
static const char sql_samples[] =
    "SELECT s.sample, s.test_code, s.instrument, t.unit, r.value, r.submitted_at,"
    " r.submitted_by, r.entered_at, r.target, r.limit_percent, r.limit_abs, r.limit_source,"
    " r.acceptable FROM pt_samples s JOIN tests t ON t.code = s.test_code"
    " LEFT JOIN pt_results r ON r.sample_id = s.id WHERE s.event_id = ? ORDER BY s.place";
static const char sql_scores[] =
    "SELECT s.test_code, COUNT(*), SUM(r.acceptable) FROM pt_samples s JOIN pt_results r"
    " ON r.sample_id = s.id WHERE s.event_id = ? AND r.acceptable IS NOT NULL"
    " GROUP BY s.test_code ORDER BY MIN(s.place)";
static const char sql_actions[] = "SELECT test_code, action, signed_by, signed_at"
                                  " FROM pt_corrective_actions WHERE event_id = ?";
static const char sql_sample_of[] =
    "SELECT s.id, s.test_code, r.sample_id FROM pt_samples s LEFT JOIN pt_results r"
    " ON r.sample_id = s.id WHERE s.event_id = ? AND s.sample = ?";
static const char sql_result_insert[] =
    "INSERT INTO pt_results (sample_id, value, submitted_at, submitted_by, entered_at)"
    " VALUES (?, ?, ?, ?, ?)";
static const char sql_unsubmitted[] =
    "SELECT COUNT(*) FROM pt_samples s LEFT JOIN pt_results r ON r.sample_id = s.id"
    " WHERE s.event_id = ? AND r.sample_id IS NULL";
static const char sql_submitted[] =
    "UPDATE pt_events SET status = 'submitted' WHERE id = ? AND status = 'open'";
static const char sql_grading[] =
    "SELECT s.id, s.sample, s.test_code, r.value FROM pt_samples s LEFT JOIN pt_results r"
    " ON r.sample_id = s.id WHERE s.event_id = ? ORDER BY s.place";
static const char sql_graded[] =
    "UPDATE pt_events SET status = 'graded', graded_at = ?, graded_by = ? WHERE id = ?"
    " AND status IN ('open', 'submitted')";
static const char sql_missing_insert[] = "INSERT INTO pt_results (sample_id) VALUES (?)";
static const char sql_grade[] =
    "UPDATE pt_results SET target = ?, limit_percent = ?, limit_abs = ?, limit_source = ?,"
    " acceptable = ?, graded_at = ? WHERE sample_id = ?";
static const char sql_closed[] =
    "UPDATE pt_events SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'graded'";
static const char sql_action_insert[] =
    "INSERT INTO pt_corrective_actions (id, event_id, test_code, action, signed_by, signed_at)"
    " VALUES (?, ?, ?, ?, ?, ?)";

/* ---- request bodies ---- */

static const jsonv_field event_fields[] = {
    {"provider", JSONV_STRING, true, PT_TEXT_MAX},
    {"event", JSONV_STRING, true, PT_TEXT_MAX},
    {"due_date", JSONV_STRING, true, 10},
    {"samples", JSONV_ARRAY, true, PT_SAMPLES_MAX},
};
static const jsonv_field sample_fields[] = {
    {"sample", JSONV_STRING, true, PT_TEXT_MAX},
    {"test", JSONV_STRING, true, CATALOG_CODE_MAX},
    {"instrument", JSONV_STRING, false, PT_TEXT_MAX},
};
static const jsonv_field submit_fields[] = {
    {"results", JSONV_ARRAY, true, PT_SAMPLES_MAX},
    {"sent_at", JSONV_STRING, false, 40},
};
/* value: a number is checked as its decimal text */
static const jsonv_field result_fields[] = {
    {"sample", JSONV_STRING, true, PT_TEXT_MAX},
    {"value", JSONV_STRING, true, 40},
};
static const jsonv_field grade_fields[] = {
    {"targets", JSONV_ARRAY, true, PT_SAMPLES_MAX},
};
static const jsonv_field target_fields[] = {
    {"sample", JSONV_STRING, true, PT_TEXT_MAX},
    {"target", JSONV_NUMBER, true, 0},
    {"limit_percent", JSONV_NUMBER, false, 0},
    {"limit_abs", JSONV_NUMBER, false, 0},
};
static const jsonv_field action_fields[] = {
    {"test", JSONV_STRING, true, CATALOG_CODE_MAX},
    {"corrective_action", JSONV_STRING, true, PT_ACTION_MAX},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

/* ---- helpers ---- */

/* Check item i of array against fields; the field at fault is named with its
 * path ("samples[2].test"). */
static err_t item_check(const json_t *item, const char *array, size_t i, const jsonv_field *fields,
                        size_t n, errinfo *ei)
{
    char path[32];
    snprintf(path, sizeof(path), "%.16s[%zu]", array, i);
    return jsonv_check_item(item, path, fields, n, ei);
}

/* The test of a sample: a numeric test of the catalog, its code into code. */
static err_t numeric_test(db *d, const char *test, const char *field,
                          char code[CATALOG_CODE_MAX + 1], errinfo *ei)
{
    catalog_test ct;
    err_t rc = catalog_get(d, test, &ct, ei);
    if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
        return err_set(ei, ERR_INVALID, field, "%s: '%.16s' is not a test of the catalog", field,
                       test);
    if (rc)
        return rc;
    if (ct.kind != CATALOG_NUMERIC)
        return err_set(ei, ERR_INVALID, field,
                       "%s: %s is not a numeric test (proficiency testing grades numbers)", field,
                       ct.code);
    memcpy(code, ct.code, sizeof(ct.code));
    return ERR_OK;
}

/* ---- reading ---- */

static json_t *head_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:I,s:I}", "id", db_col_text(st, 0),
                     "provider", db_col_text(st, 1), "event", db_col_text(st, 2), "due_date",
                     db_col_text(st, 3), "status", db_col_text(st, 4), "created_at",
                     db_col_json_time(st, 5), "created_by", db_col_text(st, 6), "graded_at",
                     db_col_json_time(st, 7), "graded_by", db_col_json_text(st, 8), "closed_at",
                     db_col_json_time(st, 9), "sample_count", (json_int_t)db_col_int64(st, 10),
                     "submitted_count", (json_int_t)db_col_int64(st, 11));
}

static json_t *sample_row(db_stmt *st)
{
    bool submitted = !db_col_null(st, 4), graded = !db_col_null(st, 12) && !db_col_null(st, 8);
    double value = db_col_double(st, 4), target = db_col_double(st, 8);
    double limit = pt_limit(target, db_col_double(st, 9), db_col_double(st, 10));
    return json_pack(
        "{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "sample",
        db_col_text(st, 0), "test", db_col_text(st, 1), "instrument", db_col_text(st, 2), "unit",
        db_col_json_text(st, 3), "value", db_col_json_num(st, 4), "submitted_at",
        db_col_json_time(st, 5), "submitted_by", db_col_json_text(st, 6), "entered_at",
        db_col_json_time(st, 7), "target", db_col_json_num(st, 8), "limit_percent",
        db_col_json_num(st, 9), "limit_abs", db_col_json_num(st, 10), "limit",
        graded ? json_real(limit) : json_null(), "limit_source", db_col_json_text(st, 11),
        "difference", graded && submitted ? json_real(value - target) : json_null(), "acceptable",
        graded ? json_boolean(db_col_int64(st, 12) != 0) : json_null());
}

/* The event with its samples, scores and corrective actions. */
static err_t event_json(db *d, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *o = NULL, *x;
    json_t *samples = json_array(), *scores = json_array(), *actions = json_object();
    *out = NULL;
    err_t rc = samples && scores && actions ? ERR_OK : ERR_NOMEM;
    if (!rc)
        rc = db_query_by_id(d, &st, sql_event, id, "proficiency-testing event", ei);
    if (!rc) {
        o = head_row(st);
        rc = o ? ERR_OK : ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_samples, "t", id);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        x = sample_row(st);
        if (!x || json_array_append_new(samples, x))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_actions, "t", id);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        x = json_pack("{s:s,s:s,s:o}", "text", db_col_text(st, 1), "signed_by", db_col_text(st, 2),
                      "signed_at", db_col_json_time(st, 3));
        if (!x || json_object_set_new(actions, db_col_text(st, 0), x))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_scores, "t", id);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        int graded = (int)db_col_int64(st, 1), acceptable = (int)db_col_int64(st, 2);
        bool ok = pt_satisfactory(acceptable, graded);
        json_t *act = json_object_get(actions, db_col_text(st, 0));
        x = json_pack("{s:s,s:i,s:i,s:f,s:b,s:b,s:O}", "test", db_col_text(st, 0), "graded", graded,
                      "acceptable", acceptable, "score", pt_score(acceptable, graded),
                      "satisfactory", ok, "corrective_action_required", !ok, "corrective_action",
                      act ? act : json_null());
        if (!x || json_array_append_new(scores, x))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    json_decref(actions);
    if (rc) {
        json_decref(o);
        json_decref(samples);
        json_decref(scores);
        return rc;
    }
    json_object_set_new(o, "samples", samples);
    json_object_set_new(o, "scores", scores);
    *out = o;
    return ERR_OK;
}

err_t pt_event_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    return event_json(d, id, out, ei);
}

err_t pt_events_list(db *d, const char *status, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array(), *x;
    err_t rc = arr ? db_query(d, &st, ei, sql_events, "tt", status, status) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        x = head_row(st);
        if (!x || json_array_append_new(arr, x))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    if (rc) {
        json_decref(arr);
        arr = NULL;
    }
    *items = arr;
    return rc;
}

/* The status and due date of an event. */
static err_t event_head(db *d, const char *id, char status[16], char due[11], errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query_by_id(d, &st, sql_head, id, "proficiency-testing event", ei);
    if (!rc) {
        snprintf(status, 16, "%s", db_col_text(st, 0));
        snprintf(due, 11, "%s", db_col_text(st, 1));
    }
    db_finalize(st);
    return rc;
}

/* Take the event's row while it has status; *held false when it has not
 * (or does not exist). */
static err_t lock_event(db *d, const char *id, const char *status, bool *held, errinfo *ei)
{
    int64_t changed = 0;
    err_t rc = db_run(d, ei, &changed, sql_lock, "tt", id, status);
    *held = !rc && changed == 1;
    return rc;
}

/* Whether every unsatisfactory analyte of a graded event has its action. */
static bool actions_complete(const json_t *ev)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ev, "scores"), i, s)
    {
        if (!json_is_true(json_object_get(s, "satisfactory")) &&
            json_is_null(json_object_get(s, "corrective_action")))
            return false;
    }
    return true;
}

/* Close a graded event whose corrective actions are complete (audited);
 * *ev is read again. */
static err_t close_if_complete(db *d, const audit_ctx *ctx, const char *id, json_t **ev,
                               errinfo *ei)
{
    if (!actions_complete(*ev))
        return ERR_OK;
    err_t rc = db_run(d, ei, NULL, sql_closed, "it", time_now_us(), id);
    if (!rc)
        rc = audit_write(d, ctx, "pt.event.close", "pt_event", id, "ok", NULL, ei);
    json_decref(*ev);
    *ev = NULL;
    if (!rc)
        rc = event_json(d, id, ev, ei);
    return rc;
}

/* ---- events ---- */

err_t pt_event_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    char id[ID_LEN + 1];
    char(*codes)[CATALOG_CODE_MAX + 1] = NULL;
    *out = NULL;
    err_t rc = jsonv_check(body, event_fields, NFIELDS(event_fields), ei);
    if (rc)
        return rc;
    const char *provider = jsonv_str(body, "provider"), *event = jsonv_str(body, "event");
    const char *due = jsonv_str(body, "due_date");
    if (!str_is_text(provider))
        return err_set(ei, ERR_INVALID, "provider", "provider must be printable text, not blank");
    if (!str_is_text(event))
        return err_set(ei, ERR_INVALID, "event", "event must be printable text, not blank");
    if (!time_date_valid(due))
        return err_set(ei, ERR_INVALID, "due_date", "due_date must be a date YYYY-MM-DD");
    const json_t *samples = json_object_get(body, "samples"), *s;
    size_t n = json_array_size(samples), i;
    if (n == 0)
        return err_set(ei, ERR_INVALID, "samples", "an event has at least one sample");
    codes = calloc(n, sizeof(*codes));
    if (!codes)
        return ERR_NOMEM;
    json_array_foreach(samples, i, s)
    {
        char f[48];
        rc = item_check(s, "samples", i, sample_fields, NFIELDS(sample_fields), ei);
        if (rc)
            break;
        const char *label = jsonv_str(s, "sample"), *inst = jsonv_str(s, "instrument");
        snprintf(f, sizeof(f), "samples[%zu].sample", i);
        if (!str_is_text(label)) {
            rc = err_set(ei, ERR_INVALID, f, "%s must be printable text, not blank", f);
            break;
        }
        for (size_t k = 0; k < i && !rc; k++)
            if (!strcmp(jsonv_str(json_array_get(samples, k), "sample"), label))
                rc = err_set(ei, ERR_INVALID, f, "%s: sample %s is listed twice", f, label);
        snprintf(f, sizeof(f), "samples[%zu].instrument", i);
        if (!rc && inst && !str_is_text(inst))
            rc = err_set(ei, ERR_INVALID, f, "%s must be printable text, not blank", f);
        snprintf(f, sizeof(f), "samples[%zu].test", i);
        if (!rc)
            rc = numeric_test(d, jsonv_str(s, "test"), f, codes[i], ei);
        if (rc)
            break;
    }
    if (!rc)
        rc = db_begin(d, ei);
    if (rc) {
        free(codes);
        return rc;
    }
    id_new(id);
    rc = db_run(d, ei, NULL, sql_event_insert, "ttttit", id, provider, event, due, time_now_us(),
                ctx->actor ? ctx->actor : "system");
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "event", "%s has an event %s already", provider, event);
    json_array_foreach(samples, i, s)
    {
        char sid[ID_LEN + 1];
        const char *inst = jsonv_str(s, "instrument");
        if (rc)
            break;
        id_new(sid);
        rc = db_run(d, ei, NULL, sql_sample_insert, "ttttti", sid, id, jsonv_str(s, "sample"),
                    codes[i], inst ? inst : "", (int64_t)i);
    }
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:s,s:i}", "provider", provider, "event", event,
                                   "due_date", due, "samples", (int)n);
        rc = audit_write(d, ctx, "pt.event.create", "pt_event", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = event_json(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    free(codes);
    return rc;
}

/* ---- results ---- */

/* Items of a submission, checked before anything is read or written. */
static err_t check_results(const json_t *results, double *values, errinfo *ei)
{
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        char f[48];
        json_t *copy = json_is_object(r) ? json_deep_copy(r) : NULL, *v;
        if (json_is_object(r) && !copy)
            return ERR_NOMEM;
        v = json_object_get(copy, "value");
        if (json_is_number(v)) {
            char num[40];
            snprintf(num, sizeof(num), "%.17g", json_number_value(v));
            if (json_object_set_new(copy, "value", json_string(num))) {
                json_decref(copy);
                return ERR_NOMEM;
            }
        }
        err_t rc =
            item_check(copy ? copy : r, "results", i, result_fields, NFIELDS(result_fields), ei);
        const char *text = jsonv_str(copy, "value"), *label = jsonv_str(r, "sample");
        snprintf(f, sizeof(f), "results[%zu].value", i);
        if (!rc && (str_to_double(text, strlen(text), &values[i]) || !isfinite(values[i])))
            rc = err_set(ei, ERR_INVALID, f, "%s must be a number, not '%.30s'", f, text);
        snprintf(f, sizeof(f), "results[%zu].sample", i);
        for (size_t k = 0; k < i && !rc; k++)
            if (!strcmp(jsonv_str(json_array_get(results, k), "sample"), label))
                rc = err_set(ei, ERR_INVALID, f, "%s: sample %s is listed twice", f, label);
        json_decref(copy);
        if (rc)
            return rc;
    }
    return ERR_OK;
}

err_t pt_results_submit(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                        json_t **out, errinfo *ei)
{
    char status[16] = "", due[11] = "", day[11], at_iso[TIME_ISO_LEN];
    int64_t now = time_now_us(), sent = now;
    double *values = NULL;
    json_t *labels = NULL;
    bool held = false;
    *out = NULL;
    err_t rc = jsonv_check(body, submit_fields, NFIELDS(submit_fields), ei);
    if (rc)
        return rc;
    const json_t *results = json_object_get(body, "results"), *r;
    const char *sent_at = jsonv_str(body, "sent_at");
    size_t n = json_array_size(results), i;
    if (n == 0)
        return err_set(ei, ERR_INVALID, "results", "results must hold at least one result");
    if (sent_at) {
        errinfo e2 = {0};
        if (time_parse_iso(sent_at, strlen(sent_at), &sent, &e2))
            return err_set(ei, ERR_INVALID, "sent_at", "sent_at: %s", e2.message);
        if (sent > now + PT_SKEW_US)
            return err_set(ei, ERR_INVALID, "sent_at", "sent_at is in the future");
    }
    values = calloc(n, sizeof(*values));
    labels = json_array();
    rc = values && labels ? check_results(results, values, ei) : ERR_NOMEM;
    if (!rc)
        rc = db_begin(d, ei);
    if (rc) {
        free(values);
        json_decref(labels);
        return rc;
    }
    rc = lock_event(d, id, "open", &held, ei);
    if (!rc)
        rc = event_head(d, id, status, due, ei);
    if (!rc && !held)
        rc = err_set(ei, ERR_CONFLICT, "id",
                     !strcmp(status, "submitted")
                         ? "every sample of this event has its result already"
                         : "this event is graded: results can no longer be submitted");
    time_format_date(sent, day);
    if (!rc && strcmp(day, due) > 0) {
        time_format_iso(sent, at_iso);
        if (sent_at)
            rc = err_set(ei, ERR_INVALID, "sent_at",
                         "sent_at %s is after the due date %s: the provider does not grade "
                         "late results",
                         at_iso, due);
        else
            rc = err_set(ei, ERR_CONFLICT, "due_date",
                         "the due date %s has passed: results are refused (when they reached "
                         "the provider in time, give sent_at, the time they were sent)",
                         due);
    }
    json_array_foreach(results, i, r)
    {
        char f[48], sid[ID_LEN + 1] = "", code[CATALOG_CODE_MAX + 1] = "";
        const char *label = jsonv_str(r, "sample");
        db_stmt *st = NULL;
        bool row = false, has = false;
        if (rc)
            break;
        snprintf(f, sizeof(f), "results[%zu].sample", i);
        rc = db_query(d, &st, ei, sql_sample_of, "tt", id, label);
        if (!rc)
            rc = db_step(st, &row, ei);
        if (!rc && row) {
            snprintf(sid, sizeof(sid), "%s", db_col_text(st, 0));
            snprintf(code, sizeof(code), "%s", db_col_text(st, 1));
            has = !db_col_null(st, 2);
        }
        db_finalize(st);
        st = NULL;
        if (!rc && !row)
            rc = err_set(ei, ERR_INVALID, f, "%s: this event has no sample %s", f, label);
        if (!rc && has)
            rc = err_set(ei, ERR_CONFLICT, f, "%s: sample %s has its result already", f, label);
        if (!rc)
            rc = numeric_test(d, code, f, code, ei);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_result_insert, "tditi", sid, values[i], sent,
                        ctx->actor ? ctx->actor : "system", now);
        if (rc == ERR_CONFLICT && !has) /* another submission came first */
            rc = err_set(ei, ERR_CONFLICT, f, "%s: sample %s has its result already", f, label);
        if (!rc && json_array_append_new(labels, json_string(label)))
            rc = ERR_NOMEM;
    }
    if (!rc) {
        db_stmt *st = NULL;
        bool row = false;
        int64_t missing = -1;
        rc = db_query(d, &st, ei, sql_unsubmitted, "t", id);
        if (!rc && !(rc = db_step(st, &row, ei)) && row)
            missing = db_col_int64(st, 0);
        db_finalize(st);
        st = NULL;
        if (!rc && missing == 0)
            rc = db_run(d, ei, NULL, sql_submitted, "t", id);
    }
    if (!rc) {
        /* entered after the due date, sent to the provider before it */
        time_format_date(now, day);
        bool late = strcmp(day, due) > 0;
        time_format_iso(sent, at_iso);
        json_t *detail =
            json_pack("{s:O,s:s,s:b}", "samples", labels, "sent_at", at_iso, "late_entry", late);
        rc = audit_write(d, ctx, "pt.results.submit", "pt_event", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = event_json(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    free(values);
    json_decref(labels);
    return rc;
}

/* ---- grading ---- */

/* A sample of the event being graded, and its target. */
struct grading {
    char id[ID_LEN + 1];
    char label[PT_TEXT_MAX + 1];
    char test[CATALOG_CODE_MAX + 1];
    bool submitted;
    double value;
    const json_t *target; /* its item of the request */
    size_t item;          /* the item's index */
};

/* Targets checked on their own: numbers, limits, no sample twice. */
static err_t check_targets(const json_t *targets, errinfo *ei)
{
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t)
    {
        char f[48];
        err_t rc = item_check(t, "targets", i, target_fields, NFIELDS(target_fields), ei);
        if (rc)
            return rc;
        json_t *pct = json_object_get(t, "limit_percent"), *abs = json_object_get(t, "limit_abs");
        snprintf(f, sizeof(f), "targets[%zu].limit_percent", i);
        if (json_is_number(pct) && !(json_number_value(pct) > 0 && json_number_value(pct) <= 100))
            return err_set(ei, ERR_INVALID, f, "%s must be greater than 0 and at most 100", f);
        snprintf(f, sizeof(f), "targets[%zu].limit_abs", i);
        if (json_is_number(abs) && !(json_number_value(abs) > 0))
            return err_set(ei, ERR_INVALID, f, "%s must be greater than 0", f);
        const char *label = jsonv_str(t, "sample");
        snprintf(f, sizeof(f), "targets[%zu].sample", i);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(jsonv_str(json_array_get(targets, k), "sample"), label))
                return err_set(ei, ERR_INVALID, f, "%s: sample %s is listed twice", f, label);
    }
    return ERR_OK;
}

/* Read the samples of the event into g (PT_SAMPLES_MAX of them), match each
 * with its target; *missing: how many have no result. */
static err_t match_targets(db *d, const char *id, const json_t *targets, struct grading *g,
                           size_t *n, size_t *missing, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    size_t i;
    json_t *t;
    *n = *missing = 0;
    err_t rc = db_query(d, &st, ei, sql_grading, "t", id);
    while (!rc && *n < PT_SAMPLES_MAX && !(rc = db_step(st, &row, ei)) && row) {
        struct grading *s = &g[(*n)++];
        snprintf(s->id, sizeof(s->id), "%s", db_col_text(st, 0));
        snprintf(s->label, sizeof(s->label), "%s", db_col_text(st, 1));
        snprintf(s->test, sizeof(s->test), "%s", db_col_text(st, 2));
        s->submitted = !db_col_null(st, 3);
        s->value = db_col_double(st, 3);
        s->target = NULL;
        *missing += !s->submitted;
    }
    db_finalize(st);
    st = NULL;
    json_array_foreach(targets, i, t)
    {
        const char *label = jsonv_str(t, "sample");
        size_t k = 0;
        if (rc)
            break;
        while (k < *n && strcmp(g[k].label, label))
            k++;
        if (k == *n) {
            char f[48];
            snprintf(f, sizeof(f), "targets[%zu].sample", i);
            rc = err_set(ei, ERR_INVALID, f, "%s: this event has no sample %s", f, label);
            break;
        }
        g[k].target = t;
        g[k].item = i;
    }
    for (size_t k = 0; !rc && k < *n; k++)
        if (!g[k].target)
            rc = err_set(ei, ERR_INVALID, "targets",
                         "targets: sample %s has no target (every sample of the event is "
                         "graded)",
                         g[k].label);
    return rc;
}

/* The limit of a sample: the provider's, else the CLIA limit of its test. */
static err_t limit_of(const struct grading *s, double *pct, double *abs, bool *has_pct,
                      bool *has_abs, const char **source, errinfo *ei)
{
    json_t *p = json_object_get(s->target, "limit_percent");
    json_t *a = json_object_get(s->target, "limit_abs");
    *has_pct = json_is_number(p);
    *has_abs = json_is_number(a);
    *pct = *has_pct ? json_number_value(p) : 0;
    *abs = *has_abs ? json_number_value(a) : 0;
    *source = "provider";
    if (*has_pct || *has_abs)
        return ERR_OK;
    const qc_tea_limit *clia = qc_tea_clia(s->test);
    if (!clia) {
        char f[48];
        snprintf(f, sizeof(f), "targets[%zu].limit_percent", s->item);
        return err_set(ei, ERR_INVALID, f,
                       "%s: CLIA sets no acceptance limit for %s: give limit_percent or "
                       "limit_abs",
                       f, s->test);
    }
    *pct = clia->pct;
    *abs = clia->abs;
    *has_pct = clia->pct > 0;
    *has_abs = clia->abs > 0;
    *source = "CLIA";
    return ERR_OK;
}

err_t pt_event_grade(db *d, const audit_ctx *ctx, const char *id, const json_t *body, json_t **out,
                     errinfo *ei)
{
    char status[16] = "", due[11] = "", today[11];
    struct grading *g = NULL;
    size_t n = 0, missing = 0;
    int64_t now = time_now_us(), changed = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, grade_fields, NFIELDS(grade_fields), ei);
    if (rc)
        return rc;
    const json_t *targets = json_object_get(body, "targets");
    if (json_array_size(targets) == 0)
        return err_set(ei, ERR_INVALID, "targets", "targets must hold a target for every sample");
    rc = check_targets(targets, ei);
    if (rc)
        return rc;
    g = calloc(PT_SAMPLES_MAX, sizeof(*g));
    if (!g)
        return ERR_NOMEM;
    rc = db_begin(d, ei);
    if (rc) {
        free(g);
        return rc;
    }
    rc = event_head(d, id, status, due, ei);
    if (!rc)
        rc =
            db_run(d, ei, &changed, sql_graded, "itt", now, ctx->actor ? ctx->actor : "system", id);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "id", "this event is graded already");
    if (!rc)
        rc = match_targets(d, id, targets, g, &n, &missing, ei);
    time_format_date(now, today);
    if (!rc && missing > 0 && strcmp(today, due) <= 0)
        rc = err_set(ei, ERR_CONFLICT, "due_date",
                     "results are due until %s and %zu sample(s) have none: grade after the due "
                     "date, or once every sample has its result",
                     due, missing);
    for (size_t k = 0; !rc && k < n; k++) {
        const struct grading *s = &g[k];
        double pct = 0, abs = 0, target = json_number_value(json_object_get(s->target, "target"));
        bool has_pct = false, has_abs = false;
        const char *source = NULL;
        char pct_text[40], abs_text[40];
        rc = limit_of(s, &pct, &abs, &has_pct, &has_abs, &source, ei);
        if (!rc && !s->submitted)
            rc = db_run(d, ei, NULL, sql_missing_insert, "t", s->id);
        bool ok = s->submitted && pt_grade(s->value, target, pct, abs);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_grade, "dtttiit", target,
                        db_num_text(has_pct, pct, pct_text), db_num_text(has_abs, abs, abs_text),
                        source, (int64_t)ok, now, s->id);
    }
    json_t *ev = NULL;
    if (!rc)
        rc = event_json(d, id, &ev, ei);
    if (!rc) {
        json_t *detail = json_pack("{s:O,s:i}", "scores", json_object_get(ev, "scores"),
                                   "not_submitted", (int)missing);
        rc = audit_write(d, ctx, "pt.event.grade", "pt_event", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = close_if_complete(d, ctx, id, &ev, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(ev);
        ev = NULL;
    }
    *out = ev;
    free(g);
    return rc;
}

/* ---- corrective actions ---- */

err_t pt_corrective_action(db *d, const audit_ctx *ctx, const user *u, const char *id,
                           const json_t *body, json_t **out, errinfo *ei)
{
    json_t *ev = NULL, *score = NULL, *s;
    bool held = false;
    size_t i;
    *out = NULL;
    err_t rc = jsonv_check(body, action_fields, NFIELDS(action_fields), ei);
    if (rc)
        return rc;
    const char *test = jsonv_str(body, "test"), *action = jsonv_str(body, "corrective_action");
    if (!str_is_text(action))
        return err_set(ei, ERR_INVALID, "corrective_action",
                       "corrective_action must say what was done");
    rc = result_signature_check(d, ctx, u, jsonv_str(body, "password"), ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = lock_event(d, id, "graded", &held, ei);
    if (!rc)
        rc = event_json(d, id, &ev, ei);
    if (!rc && !held)
        rc = err_set(ei, ERR_CONFLICT, "id",
                     !strcmp(jsonv_str(ev, "status"), "closed")
                         ? "this event is closed already"
                         : "this event is not graded yet: corrective actions follow the grades");
    json_array_foreach(json_object_get(ev, "scores"), i, s)
    {
        if (!strcmp(jsonv_str(s, "test"), test))
            score = s;
    }
    if (!rc && !score)
        rc = err_set(ei, ERR_INVALID, "test", "%s is not an analyte of this event", test);
    if (!rc && json_integer_value(json_object_get(score, "acceptable")) ==
                   json_integer_value(json_object_get(score, "graded")))
        rc = err_set(ei, ERR_CONFLICT, "test",
                     "every %s result of this event was acceptable: there is nothing to correct",
                     test);
    if (!rc && !json_is_null(json_object_get(score, "corrective_action")))
        rc = err_set(ei, ERR_CONFLICT, "test", "%s has its corrective action already", test);
    if (!rc) {
        char aid[ID_LEN + 1];
        id_new(aid);
        rc = db_run(d, ei, NULL, sql_action_insert, "ttttti", aid, id, test, action, u->username,
                    time_now_us());
        if (rc == ERR_CONFLICT)
            rc = err_set(ei, ERR_CONFLICT, "test", "%s has its corrective action already", test);
    }
    if (!rc) {
        json_t *detail = json_pack(
            "{s:s,s:O,s:O,s:s}", "test", test, "score", json_object_get(score, "score"),
            "satisfactory", json_object_get(score, "satisfactory"), "corrective_action", action);
        rc = audit_write(d, ctx, "pt.corrective_action", "pt_event", id, "ok", detail, ei);
        json_decref(detail);
    }
    score = NULL; /* it lived in ev */
    json_decref(ev);
    ev = NULL;
    if (!rc)
        rc = event_json(d, id, &ev, ei);
    if (!rc)
        rc = close_if_complete(d, ctx, id, &ev, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(ev);
        ev = NULL;
    }
    *out = ev;
    return rc;
}
