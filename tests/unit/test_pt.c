/*
 * test_pt.c - proficiency testing (src/qc/pt.c). Grading and scoring on
 * worked examples, with no database: the acceptance limit (a percentage of
 * the target or a fixed amount, whichever is larger; CLIA's glucose limit of
 * 8% or 6 mg/dL), a difference on the limit, the 80% line. Then the record
 * on a real database: an event from creation to its close, refusals that
 * name the field and write nothing, the due date and sent_at, CLIA limits
 * by default and the provider's when given, the signed corrective action.
 *
 * The database suite runs on BENCHSIDE_TEST_DB (a PostgreSQL database that
 * may be reused between runs) or a temporary SQLite file; event names carry
 * a random suffix made once per run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/user.h"
#include "base/time.h"
#include "qc/pt.h"
#include "qc/sigma.h"
#include "testdb.h"

#define PT_PW  "correct horse battery"
#define PT_DAY (86400LL * 1000000LL)

static void assert_near(double a, double b)
{
    if (fabs(a - b) > 1e-9)
        fail_msg("%.17g != %.17g", a, b);
}

/* ---------------------------------------------------------------- grading */

static void test_limit_percent_or_amount(void **state)
{
    (void)state;
    const qc_tea_limit *glu = qc_tea_clia("GLU");
    assert_non_null(glu);
    /* glucose: 8% or 6 mg/dL, whichever is larger */
    assert_near(pt_limit(100, glu->pct, glu->abs), 8);  /* 8% of 100 */
    assert_near(pt_limit(50, glu->pct, glu->abs), 6);   /* 8% of 50 is 4: 6 mg/dL */
    assert_near(pt_limit(75, glu->pct, glu->abs), 6);   /* 8% of 75 is 6 exactly */
    assert_near(pt_limit(300, glu->pct, glu->abs), 24); /* 8% of 300 */
    /* a percentage alone, an amount alone */
    assert_near(pt_limit(140, 0, 4), 4);
    assert_near(pt_limit(13.5, 4, 0), 0.54);
    /* a negative target: the percentage of its size */
    assert_near(pt_limit(-4, 10, 0), 0.4);
    assert_near(pt_limit(0, 10, 0.5), 0.5);
    assert_near(pt_limit(0, 10, 0), 0);
}

static void test_grade_against_target(void **state)
{
    (void)state;
    /* glucose at 100 mg/dL: limit 8 mg/dL */
    assert_true(pt_grade(100, 100, 8, 6));
    assert_true(pt_grade(108, 100, 8, 6)); /* on the limit */
    assert_true(pt_grade(92, 100, 8, 6));
    assert_false(pt_grade(108.1, 100, 8, 6));
    assert_false(pt_grade(91.9, 100, 8, 6));
    /* at 50 mg/dL the limit is 6 mg/dL, not 4 */
    assert_true(pt_grade(56, 50, 8, 6));
    assert_true(pt_grade(44, 50, 8, 6));
    assert_true(pt_grade(55, 50, 8, 6));
    assert_false(pt_grade(56.1, 50, 8, 6));
    assert_false(pt_grade(43.9, 50, 8, 6));
    /* potassium, 0.3 mmol/L: 4.4 against 4.1 is on the limit, although
     * 4.4 - 4.1 is 0.30000000000000071 as a double */
    assert_true(4.4 - 4.1 > 0.3);
    assert_true(pt_grade(4.4, 4.1, 0, 0.3));
    assert_true(pt_grade(3.8, 4.1, 0, 0.3));
    assert_false(pt_grade(4.41, 4.1, 0, 0.3));
    assert_false(pt_grade(3.79, 4.1, 0, 0.3));
    /* sodium, 4 mmol/L */
    assert_true(pt_grade(144, 140, 0, 4));
    assert_false(pt_grade(144.01, 140, 0, 4));
    /* no limit: only the target itself */
    assert_true(pt_grade(7, 7, 0, 0));
    assert_false(pt_grade(7.0001, 7, 0, 0));
    /* not a number is never acceptable */
    assert_false(pt_grade(NAN, 100, 8, 6));
    assert_false(pt_grade(100, NAN, 8, 6));
}

static void test_score_and_satisfactory(void **state)
{
    (void)state;
    assert_near(pt_score(4, 5), 80);
    assert_true(pt_satisfactory(4, 5)); /* 80% is satisfactory */
    assert_near(pt_score(3, 5), 60);
    assert_false(pt_satisfactory(3, 5));
    assert_near(pt_score(5, 5), 100);
    assert_true(pt_satisfactory(5, 5));
    assert_true(pt_satisfactory(8, 10));
    assert_false(pt_satisfactory(7, 9)); /* 77.8% */
    assert_false(pt_satisfactory(1, 2)); /* 50% */
    assert_true(pt_satisfactory(4, 4));
    assert_false(pt_satisfactory(0, 1));
    /* nothing graded: no score */
    assert_true(isnan(pt_score(0, 0)));
    assert_false(pt_satisfactory(0, 0));
}

/* A glucose event of five samples, graded by hand: the CLIA limit at each
 * target, then the score. */
static void test_worked_glucose_event(void **state)
{
    (void)state;
    const qc_tea_limit *glu = qc_tea_clia("GLU");
    const struct {
        double target, value;
        bool acceptable;
    } s[] = {
        {100, 108, true},                      /* limit 8 */
        {100, 108.1, false}, {50, 55.5, true}, /* limit 6 */
        {250, 231, true},                      /* limit 20 */
        {250, 229.9, false},
    };
    int ok = 0, n = (int)(sizeof(s) / sizeof(s[0]));
    for (int i = 0; i < n; i++) {
        bool g = pt_grade(s[i].value, s[i].target, glu->pct, glu->abs);
        if (g != s[i].acceptable)
            fail_msg("sample %d: %g against %g graded %d", i, s[i].value, s[i].target, g);
        ok += g;
    }
    assert_int_equal(ok, 3);
    assert_near(pt_score(ok, n), 60);
    assert_false(pt_satisfactory(ok, n));
}

/* --------------------------------------------------------------- on record */

static db *pt_db;
static char pt_url[512], pt_tmp[256], pt_sfx[11];
static user pt_user;
static char pt_username[USER_NAME_MAX + 1];
static audit_ctx pt_ctx;
static const audit_ctx pt_sys = {NULL, "test", "test"};

static int64_t pt_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = -1;
    err_t rc = testdb_scalar(pt_db, sql, arg, &v, &ei);
    if (rc && rc != ERR_NOT_FOUND)
        fail_msg("%s: %s", sql, ei.message);
    return rc ? -1 : v;
}

static int64_t pt_head(void)
{
    return pt_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

static int64_t pt_audits(const char *event_id, const char *action)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND action = '%s'", action);
    return pt_scalar(sql, event_id);
}

/* Rows of the event in pt_results. */
static int64_t pt_result_rows(const char *event_id)
{
    return pt_scalar("SELECT COUNT(*) FROM pt_results r JOIN pt_samples s ON s.id = r.sample_id"
                     " WHERE s.event_id = ?",
                     event_id);
}

/* YYYY-MM-DD of now plus days. */
static const char *pt_date(int days)
{
    static char out[4][11];
    static int k;
    char iso[TIME_ISO_LEN];
    char *d = out[k++ % 4];
    time_format_iso(time_now_us() + days * PT_DAY, iso);
    snprintf(d, 11, "%.10s", iso);
    return d;
}

static json_t *pt_parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

/* Create an event of the samples (a JSON array text); its id into id. */
static json_t *pt_create(const char *name, const char *due, const char *samples, char *id)
{
    char text[4096];
    errinfo ei = {0};
    json_t *out = NULL;
    snprintf(text, sizeof(text),
             "{\"provider\":\"CAP\",\"event\":\"%s-%s\",\"due_date\":\"%s\",\"samples\":%s}", name,
             pt_sfx, due, samples);
    json_t *body = pt_parse(text);
    err_t rc = pt_event_create(pt_db, &pt_ctx, body, &out, &ei);
    json_decref(body);
    if (rc)
        fail_msg("pt_event_create: %s (%s)", ei.message, ei.field);
    snprintf(id, ID_LEN + 1, "%s", json_string_value(json_object_get(out, "id")));
    return out;
}

/* Run f on a body; the error code and field it gives. */
typedef err_t (*pt_act)(db *, const audit_ctx *, const char *, const json_t *, json_t **,
                        errinfo *);

static err_t pt_do(pt_act f, const char *id, const char *text, json_t **out, errinfo *ei)
{
    json_t *body = pt_parse(text), *o = NULL;
    memset(ei, 0, sizeof(*ei));
    err_t rc = f(pt_db, &pt_ctx, id, body, &o, ei);
    json_decref(body);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static void pt_refused(pt_act f, const char *id, const char *text, err_t code, const char *field)
{
    errinfo ei;
    int64_t head = pt_head(), rows = pt_result_rows(id);
    err_t rc = pt_do(f, id, text, NULL, &ei);
    if (rc != code || strcmp(ei.field, field))
        fail_msg("%s: got %s '%s' (%s), want %s '%s'", text, err_name(rc), ei.field, ei.message,
                 err_name(code), field);
    assert_int_equal(pt_head(), head);
    assert_int_equal(pt_result_rows(id), rows);
}

static err_t pt_action(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                       json_t **out, errinfo *ei)
{
    return pt_corrective_action(d, ctx, &pt_user, id, body, out, ei);
}

static const json_t *pt_sample(const json_t *ev, const char *label)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ev, "samples"), i, s)
    {
        if (!strcmp(json_string_value(json_object_get(s, "sample")), label))
            return s;
    }
    fail_msg("no sample %s", label);
    return NULL;
}

static const json_t *pt_score_of(const json_t *ev, const char *test)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ev, "scores"), i, s)
    {
        if (!strcmp(json_string_value(json_object_get(s, "test")), test))
            return s;
    }
    fail_msg("no score for %s", test);
    return NULL;
}

static const char *pt_status(const json_t *ev)
{
    return json_string_value(json_object_get(ev, "status"));
}

static void test_create_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body, *field;
        err_t code;
    } bad[] = {
        {"{\"event\":\"E\",\"due_date\":\"2030-01-01\",\"samples\":[{\"sample\":\"A\","
         "\"test\":\"GLU\"}]}",
         "provider", ERR_MISSING_FIELD},
        {"{\"provider\":\" \",\"event\":\"E\",\"due_date\":\"2030-01-01\",\"samples\":[{"
         "\"sample\":\"A\",\"test\":\"GLU\"}]}",
         "provider", ERR_INVALID},
        {"{\"provider\":\"CAP\",\"event\":\"E\",\"due_date\":\"2030-02-30\",\"samples\":[{"
         "\"sample\":\"A\",\"test\":\"GLU\"}]}",
         "due_date", ERR_INVALID},
        {"{\"provider\":\"CAP\",\"event\":\"E\",\"due_date\":\"2030-01-01\",\"samples\":[]}",
         "samples", ERR_INVALID},
        {"{\"provider\":\"CAP\",\"event\":\"E\",\"due_date\":\"2030-01-01\",\"samples\":[{"
         "\"sample\":\"A\",\"test\":\"GLU\"},{\"sample\":\"B\",\"test\":\"UCOLOR\"}]}",
         "samples[1].test", ERR_INVALID},
        {"{\"provider\":\"CAP\",\"event\":\"E\",\"due_date\":\"2030-01-01\",\"samples\":[{"
         "\"sample\":\"A\",\"test\":\"NOPE\"}]}",
         "samples[0].test", ERR_INVALID},
        {"{\"provider\":\"CAP\",\"event\":\"E\",\"due_date\":\"2030-01-01\",\"samples\":[{"
         "\"sample\":\"A\",\"test\":\"GLU\"},{\"sample\":\"A\",\"test\":\"K\"}]}",
         "samples[1].sample", ERR_INVALID},
        {"{\"provider\":\"CAP\",\"event\":\"E\",\"due_date\":\"2030-01-01\",\"samples\":[{"
         "\"sample\":\"A\",\"test\":\"GLU\",\"lot\":\"1\"}]}",
         "samples[0].lot", ERR_UNKNOWN_FIELD},
        {"{\"provider\":\"CAP\",\"event\":\"E\",\"due_date\":\"2030-01-01\",\"samples\":[7]}",
         "samples[0]", ERR_INVALID},
    };
    int64_t events = pt_scalar("SELECT COUNT(*) FROM pt_events", NULL), head = pt_head();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errinfo ei = {0};
        json_t *body = pt_parse(bad[i].body), *out = NULL;
        err_t rc = pt_event_create(pt_db, &pt_ctx, body, &out, &ei);
        json_decref(body);
        assert_null(out);
        if (rc != bad[i].code || strcmp(ei.field, bad[i].field))
            fail_msg("case %zu: got %s '%s' (%s)", i, err_name(rc), ei.field, ei.message);
    }
    assert_int_equal(pt_scalar("SELECT COUNT(*) FROM pt_events", NULL), events);
    assert_int_equal(pt_head(), head);
    /* the same provider and event twice */
    char id[ID_LEN + 1];
    json_decref(pt_create("DUP", pt_date(10), "[{\"sample\":\"A\",\"test\":\"GLU\"}]", id));
    char text[256];
    snprintf(text, sizeof(text),
             "{\"provider\":\"CAP\",\"event\":\"DUP-%s\",\"due_date\":\"%s\",\"samples\":[{"
             "\"sample\":\"A\",\"test\":\"GLU\"}]}",
             pt_sfx, pt_date(10));
    errinfo ei = {0};
    json_t *body = pt_parse(text), *out = NULL;
    assert_int_equal(pt_event_create(pt_db, &pt_ctx, body, &out, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "event");
    json_decref(body);
}

/* The path: five glucose and two potassium samples, results
 * submitted, graded against the CLIA limits; potassium unsatisfactory until
 * a supervisor signs its corrective action, which closes the event. */
static void test_event_story(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    errinfo ei;
    json_t *ev = pt_create("2026-A", pt_date(7),
                           "[{\"sample\":\"GLU-01\",\"test\":\"GLU\",\"instrument\":\"CHEM-1\"},"
                           "{\"sample\":\"GLU-02\",\"test\":\"GLU\",\"instrument\":\"CHEM-1\"},"
                           "{\"sample\":\"GLU-03\",\"test\":\"GLU\",\"instrument\":\"CHEM-1\"},"
                           "{\"sample\":\"GLU-04\",\"test\":\"GLU\",\"instrument\":\"CHEM-1\"},"
                           "{\"sample\":\"GLU-05\",\"test\":\"GLU\",\"instrument\":\"CHEM-1\"},"
                           "{\"sample\":\"K-01\",\"test\":\"K\"},{\"sample\":\"K-02\","
                           "\"test\":\"K\"}]",
                           id);
    assert_string_equal(pt_status(ev), "open");
    assert_int_equal(json_array_size(json_object_get(ev, "samples")), 7);
    assert_int_equal(json_array_size(json_object_get(ev, "scores")), 0);
    assert_string_equal(json_string_value(json_object_get(pt_sample(ev, "GLU-01"), "unit")),
                        "mg/dL");
    assert_true(json_is_null(json_object_get(pt_sample(ev, "GLU-01"), "value")));
    json_decref(ev);
    assert_int_equal(pt_audits(id, "pt.event.create"), 1);

    /* bad input: refused naming the field, nothing written */
    pt_refused(pt_results_submit, id,
               "{\"results\":[{\"sample\":\"GLU-01\",\"value\":100},{\"sample\":\"GLU-02\","
               "\"value\":\"abc\"}]}",
               ERR_INVALID, "results[1].value");
    pt_refused(pt_results_submit, id, "{\"results\":[{\"sample\":\"GLU-01\",\"value\":true}]}",
               ERR_INVALID, "results[0].value");
    pt_refused(pt_results_submit, id,
               "{\"results\":[{\"sample\":\"GLU-01\",\"value\":100},{\"sample\":\"GLU-99\","
               "\"value\":100}]}",
               ERR_INVALID, "results[1].sample");
    pt_refused(pt_results_submit, id,
               "{\"results\":[{\"sample\":\"GLU-01\",\"value\":100},{\"sample\":\"GLU-01\","
               "\"value\":101}]}",
               ERR_INVALID, "results[1].sample");
    pt_refused(pt_results_submit, id, "{\"results\":[{\"sample\":\"GLU-01\"}]}", ERR_MISSING_FIELD,
               "results[0].value");
    pt_refused(pt_results_submit, id, "{\"results\":[]}", ERR_INVALID, "results");
    pt_refused(pt_results_submit, id,
               "{\"results\":[{\"sample\":\"GLU-01\",\"value\":100}],\"sent_at\":\"yesterday\"}",
               ERR_INVALID, "sent_at");
    pt_refused(pt_results_submit, id,
               "{\"results\":[{\"sample\":\"GLU-01\",\"value\":100}],\"sent_at\":"
               "\"2999-01-01T00:00:00Z\"}",
               ERR_INVALID, "sent_at");
    pt_refused(pt_results_submit, "01NOSUCHEVENT000000000000",
               "{\"results\":[{\"sample\":\"GLU-01\",\"value\":100}]}", ERR_NOT_FOUND, "id");

    /* the glucose results; a number or its decimal text */
    assert_int_equal(pt_do(pt_results_submit, id,
                           "{\"results\":[{\"sample\":\"GLU-01\",\"value\":100},"
                           "{\"sample\":\"GLU-02\",\"value\":\"104\"},{\"sample\":\"GLU-03\","
                           "\"value\":108},{\"sample\":\"GLU-04\",\"value\":108.1},"
                           "{\"sample\":\"GLU-05\",\"value\":95}]}",
                           &ev, &ei),
                     ERR_OK);
    assert_string_equal(pt_status(ev), "open");
    assert_near(json_real_value(json_object_get(pt_sample(ev, "GLU-04"), "value")), 108.1);
    assert_string_equal(json_string_value(json_object_get(pt_sample(ev, "GLU-02"), "submitted_by")),
                        pt_username);
    json_decref(ev);
    /* a sample has one result */
    pt_refused(pt_results_submit, id, "{\"results\":[{\"sample\":\"GLU-01\",\"value\":99}]}",
               ERR_CONFLICT, "results[0].sample");
    /* grading waits while results are still due */
    pt_refused(pt_event_grade, id, "{\"targets\":[{\"sample\":\"GLU-01\",\"target\":100}]}",
               ERR_INVALID, "targets");
    pt_refused(pt_event_grade, id,
               "{\"targets\":[{\"sample\":\"GLU-01\",\"target\":100},{\"sample\":\"GLU-02\","
               "\"target\":100},{\"sample\":\"GLU-03\",\"target\":100},{\"sample\":\"GLU-04\","
               "\"target\":100},{\"sample\":\"GLU-05\",\"target\":100},{\"sample\":\"K-01\","
               "\"target\":4.1},{\"sample\":\"K-02\",\"target\":4.1}]}",
               ERR_CONFLICT, "due_date");
    /* no corrective action before the grades */
    pt_refused(pt_action, id,
               "{\"test\":\"K\",\"corrective_action\":\"Recalibrated\",\"password\":\"" PT_PW "\"}",
               ERR_CONFLICT, "id");

    assert_int_equal(pt_do(pt_results_submit, id,
                           "{\"results\":[{\"sample\":\"K-01\",\"value\":4.4},"
                           "{\"sample\":\"K-02\",\"value\":4.5}]}",
                           &ev, &ei),
                     ERR_OK);
    assert_string_equal(pt_status(ev), "submitted");
    json_decref(ev);
    assert_int_equal(pt_audits(id, "pt.results.submit"), 2);

    /* targets: refused naming the field */
    pt_refused(pt_event_grade, id,
               "{\"targets\":[{\"sample\":\"GLU-01\",\"target\":100,\"limit_percent\":0}]}",
               ERR_INVALID, "targets[0].limit_percent");
    pt_refused(pt_event_grade, id,
               "{\"targets\":[{\"sample\":\"GLU-01\",\"target\":100,\"limit_abs\":-1}]}",
               ERR_INVALID, "targets[0].limit_abs");
    pt_refused(pt_event_grade, id, "{\"targets\":[{\"sample\":\"GLU-01\",\"target\":\"100\"}]}",
               ERR_INVALID, "targets[0].target");
    pt_refused(pt_event_grade, id,
               "{\"targets\":[{\"sample\":\"GLU-01\",\"target\":100},{\"sample\":\"X-01\","
               "\"target\":100}]}",
               ERR_INVALID, "targets[1].sample");

    /* graded against the CLIA limits: glucose 8% of 100 = 8 mg/dL, 4 of 5
     * acceptable (80%, satisfactory); potassium 0.3 mmol/L, 1 of 2 (50%) */
    int64_t head = pt_head();
    assert_int_equal(pt_do(pt_event_grade, id,
                           "{\"targets\":[{\"sample\":\"GLU-01\",\"target\":100},"
                           "{\"sample\":\"GLU-02\",\"target\":100},{\"sample\":\"GLU-03\","
                           "\"target\":100},{\"sample\":\"GLU-04\",\"target\":100},"
                           "{\"sample\":\"GLU-05\",\"target\":100},{\"sample\":\"K-01\","
                           "\"target\":4.1},{\"sample\":\"K-02\",\"target\":4.1}]}",
                           &ev, &ei),
                     ERR_OK);
    assert_int_equal(pt_head(), head + 1);
    assert_string_equal(pt_status(ev), "graded");
    const json_t *s3 = pt_sample(ev, "GLU-03"), *s4 = pt_sample(ev, "GLU-04");
    assert_true(json_is_true(json_object_get(s3, "acceptable")));
    assert_false(json_is_true(json_object_get(s4, "acceptable")));
    assert_near(json_real_value(json_object_get(s4, "limit")), 8);
    assert_near(json_real_value(json_object_get(s4, "limit_percent")), 8);
    assert_near(json_real_value(json_object_get(s4, "limit_abs")), 6);
    assert_string_equal(json_string_value(json_object_get(s4, "limit_source")), "CLIA");
    assert_true(json_is_true(json_object_get(pt_sample(ev, "K-01"), "acceptable")));
    assert_true(json_is_null(json_object_get(pt_sample(ev, "K-01"), "limit_percent")));
    const json_t *glu = pt_score_of(ev, "GLU"), *k = pt_score_of(ev, "K");
    assert_int_equal(json_integer_value(json_object_get(glu, "graded")), 5);
    assert_int_equal(json_integer_value(json_object_get(glu, "acceptable")), 4);
    assert_near(json_real_value(json_object_get(glu, "score")), 80);
    assert_true(json_is_true(json_object_get(glu, "satisfactory")));
    assert_near(json_real_value(json_object_get(k, "score")), 50);
    assert_false(json_is_true(json_object_get(k, "satisfactory")));
    assert_true(json_is_true(json_object_get(k, "corrective_action_required")));
    json_decref(ev);
    assert_int_equal(pt_audits(id, "pt.event.grade"), 1);
    /* graded once */
    pt_refused(pt_event_grade, id, "{\"targets\":[{\"sample\":\"GLU-01\",\"target\":100}]}",
               ERR_CONFLICT, "id");
    pt_refused(pt_results_submit, id, "{\"results\":[{\"sample\":\"GLU-01\",\"value\":99}]}",
               ERR_CONFLICT, "id");

    /* corrective actions: the supervisor's password signs them */
    pt_refused(pt_action, id, "{\"test\":\"K\",\"corrective_action\":\" \",\"password\":\"x\"}",
               ERR_INVALID, "corrective_action");
    pt_refused(pt_action, id,
               "{\"test\":\"NA\",\"corrective_action\":\"a\",\"password\":\"" PT_PW "\"}",
               ERR_INVALID, "test");
    int64_t fails = pt_audits(pt_user.id, "signature.fail");
    assert_int_equal(pt_do(pt_action, id,
                           "{\"test\":\"K\",\"corrective_action\":\"Recalibrated\","
                           "\"password\":\"not the password\"}",
                           NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "password");
    assert_int_equal(pt_audits(pt_user.id, "signature.fail"), fails + 1);
    assert_int_equal(pt_scalar("SELECT COUNT(*) FROM pt_corrective_actions WHERE event_id = ?", id),
                     0);
    /* glucose was satisfactory, but its one failure may be documented */
    assert_int_equal(pt_do(pt_action, id,
                           "{\"test\":\"GLU\",\"corrective_action\":\"GLU-04: transcription "
                           "checked, random error\",\"password\":\"" PT_PW "\"}",
                           &ev, &ei),
                     ERR_OK);
    assert_string_equal(pt_status(ev), "graded");
    json_decref(ev);
    pt_refused(pt_action, id,
               "{\"test\":\"GLU\",\"corrective_action\":\"again\",\"password\":\"" PT_PW "\"}",
               ERR_CONFLICT, "test");
    assert_int_equal(pt_do(pt_action, id,
                           "{\"test\":\"K\",\"corrective_action\":\"Electrode replaced; "
                           "recalibrated; patient results since the last event reviewed\","
                           "\"password\":\"" PT_PW "\"}",
                           &ev, &ei),
                     ERR_OK);
    assert_string_equal(pt_status(ev), "closed");
    assert_false(json_is_null(json_object_get(ev, "closed_at")));
    const json_t *ca = json_object_get(pt_score_of(ev, "K"), "corrective_action");
    assert_string_equal(json_string_value(json_object_get(ca, "signed_by")), pt_username);
    json_decref(ev);
    assert_int_equal(pt_audits(id, "pt.corrective_action"), 2);
    assert_int_equal(pt_audits(id, "pt.event.close"), 1);
    pt_refused(pt_action, id,
               "{\"test\":\"K\",\"corrective_action\":\"more\",\"password\":\"" PT_PW "\"}",
               ERR_CONFLICT, "id");

    /* the list shows it */
    json_t *items = NULL;
    assert_int_equal(pt_events_list(pt_db, "closed", &items, &ei), ERR_OK);
    bool found = false;
    size_t i;
    json_t *x;
    json_array_foreach(items, i, x)
    {
        if (!strcmp(json_string_value(json_object_get(x, "id")), id)) {
            found = true;
            assert_int_equal(json_integer_value(json_object_get(x, "sample_count")), 7);
            assert_int_equal(json_integer_value(json_object_get(x, "submitted_count")), 7);
        }
    }
    assert_true(found);
    json_decref(items);
    assert_int_equal(pt_events_list(pt_db, "open", &items, &ei), ERR_OK);
    json_array_foreach(items, i, x)
    {
        assert_string_not_equal(json_string_value(json_object_get(x, "id")), id);
    }
    json_decref(items);
}

/* After the due date: refused, unless sent_at says the results reached the
 * provider in time; a sample without a result is graded not acceptable; the
 * provider's own limits; an event whose analytes all pass closes at once. */
static void test_due_date_and_limits(void **state)
{
    (void)state;
    char id[ID_LEN + 1], text[512], sent[64];
    errinfo ei;
    json_t *ev = pt_create("LATE", pt_date(-1),
                           "[{\"sample\":\"NA-01\",\"test\":\"NA\"},{\"sample\":\"NA-02\","
                           "\"test\":\"NA\"},{\"sample\":\"MCV-01\",\"test\":\"MCV\"}]",
                           id);
    json_decref(ev);
    pt_refused(pt_results_submit, id, "{\"results\":[{\"sample\":\"NA-01\",\"value\":140}]}",
               ERR_CONFLICT, "due_date");
    pt_refused(pt_results_submit, id,
               "{\"results\":[{\"sample\":\"NA-01\",\"value\":140}],\"sent_at\":"
               "\"2999-01-01T00:00:00Z\"}",
               ERR_INVALID, "sent_at");
    snprintf(sent, sizeof(sent), "%sT00:00:00Z", pt_date(0));
    snprintf(text, sizeof(text),
             "{\"results\":[{\"sample\":\"NA-01\",\"value\":140}],\"sent_at\":\"%s\"}", sent);
    pt_refused(pt_results_submit, id, text, ERR_INVALID, "sent_at");
    /* sent yesterday at noon, entered today */
    snprintf(sent, sizeof(sent), "%sT12:00:00Z", pt_date(-1));
    snprintf(text, sizeof(text),
             "{\"results\":[{\"sample\":\"NA-01\",\"value\":143.5},{\"sample\":\"MCV-01\","
             "\"value\":90}],\"sent_at\":\"%s\"}",
             sent);
    assert_int_equal(pt_do(pt_results_submit, id, text, &ev, &ei), ERR_OK);
    const char *at = json_string_value(json_object_get(pt_sample(ev, "NA-01"), "submitted_at"));
    assert_memory_equal(at, sent, 19);
    assert_string_not_equal(
        json_string_value(json_object_get(pt_sample(ev, "NA-01"), "entered_at")), at);
    json_decref(ev);

    /* MCV has no CLIA limit: the provider's must be given */
    pt_refused(pt_event_grade, id,
               "{\"targets\":[{\"sample\":\"NA-01\",\"target\":140},{\"sample\":\"NA-02\","
               "\"target\":140},{\"sample\":\"MCV-01\",\"target\":88}]}",
               ERR_INVALID, "targets[2].limit_percent");
    /* after the due date a missing result does not hold the grading back */
    assert_int_equal(pt_do(pt_event_grade, id,
                           "{\"targets\":[{\"sample\":\"NA-01\",\"target\":140},"
                           "{\"sample\":\"NA-02\",\"target\":140},{\"sample\":\"MCV-01\","
                           "\"target\":88,\"limit_percent\":2,\"limit_abs\":1}]}",
                           &ev, &ei),
                     ERR_OK);
    const json_t *na1 = pt_sample(ev, "NA-01"), *na2 = pt_sample(ev, "NA-02");
    const json_t *mcv = pt_sample(ev, "MCV-01");
    assert_true(json_is_true(json_object_get(na1, "acceptable")));
    assert_near(json_real_value(json_object_get(na1, "difference")), 3.5);
    assert_true(json_is_null(json_object_get(na2, "value")));
    assert_false(json_is_true(json_object_get(na2, "acceptable")));
    assert_true(json_is_boolean(json_object_get(na2, "acceptable")));
    /* 2% of 88 is 1.76: 90 is 2 away */
    assert_string_equal(json_string_value(json_object_get(mcv, "limit_source")), "provider");
    assert_near(json_real_value(json_object_get(mcv, "limit")), 1.76);
    assert_false(json_is_true(json_object_get(mcv, "acceptable")));
    assert_near(json_real_value(json_object_get(pt_score_of(ev, "NA"), "score")), 50);
    assert_string_equal(pt_status(ev), "graded");
    json_decref(ev);
    assert_int_equal(pt_result_rows(id), 3);

    /* every analyte satisfactory: closed when graded */
    ev = pt_create("PASS", pt_date(3), "[{\"sample\":\"HGB-01\",\"test\":\"HGB\"}]", id);
    json_decref(ev);
    assert_int_equal(pt_do(pt_results_submit, id,
                           "{\"results\":[{\"sample\":\"HGB-01\",\"value\":13.9}]}", NULL, &ei),
                     ERR_OK);
    assert_int_equal(pt_do(pt_event_grade, id,
                           "{\"targets\":[{\"sample\":\"HGB-01\",\"target\":13.5}]}", &ev, &ei),
                     ERR_OK);
    assert_string_equal(pt_status(ev), "closed");
    assert_true(json_is_true(json_object_get(pt_score_of(ev, "HGB"), "satisfactory")));
    json_decref(ev);
    assert_int_equal(pt_audits(id, "pt.event.close"), 1);
    /* closed: nothing more to sign */
    pt_refused(pt_action, id,
               "{\"test\":\"HGB\",\"corrective_action\":\"a\",\"password\":\"" PT_PW "\"}",
               ERR_CONFLICT, "id");
}

static int pt_setup(void **state)
{
    (void)state;
    errinfo ei = {0};
    if (!testdb_pick("pt", pt_url, sizeof(pt_url), pt_tmp, sizeof(pt_tmp)))
        return -1;
    testdb_suffix(pt_sfx, 10, false);
    if (!testdb_open(pt_url, &pt_sys, &pt_db))
        return -1;
    char lower[11];
    testdb_suffix(lower, 10, true);
    snprintf(pt_username, sizeof(pt_username), "pt-%s", lower);
    if (user_create(pt_db, &pt_sys, pt_username, "PT Supervisor", "supervisor", PT_PW, &pt_user,
                    &ei)) {
        fprintf(stderr, "user_create: %s\n", ei.message);
        return -1;
    }
    pt_ctx.actor_id = pt_user.id;
    pt_ctx.actor = pt_user.username;
    pt_ctx.source = "test";
    return 0;
}

static int pt_teardown(void **state)
{
    (void)state;
    testdb_close(pt_db, pt_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest grading[] = {
        cmocka_unit_test(test_limit_percent_or_amount),
        cmocka_unit_test(test_grade_against_target),
        cmocka_unit_test(test_score_and_satisfactory),
        cmocka_unit_test(test_worked_glucose_event),
    };
    const struct CMUnitTest record[] = {
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_event_story),
        cmocka_unit_test(test_due_date_and_limits),
    };
    int bad = cmocka_run_group_tests_name("pt/grading", grading, NULL, NULL);
    bad += cmocka_run_group_tests_name(testdb_group("pt"), record, pt_setup, pt_teardown);
    return bad;
}
