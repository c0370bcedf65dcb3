/*
 * test_results.c - unit tests of results and the release gate (src/lab/result.c,
 * src/lab/gate.c): flags from the reference range for the patient's sex and
 * age, input checks that write nothing, auto-verification and its reasons,
 * delta checks, critical values and their documented call, release with an
 * electronic signature (all or none), corrections with their history, the
 * specimen's stability as a hard hold, and the audit events of each act.
 *
 * Runs on the database in BENCHSIDE_TEST_DB (a PostgreSQL database that may be
 * reused between runs) or on a temporary SQLite file. MRNs and usernames carry
 * a random suffix made once per run; every audit check compares with the head
 * read just before the act; state is checked in the tables of
 * 0003_results.sql, whose shape is fixed, as well as in the API's answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/id.h"
#include "base/time.h"
#include "lab/accession.h"
#include "lab/catalog.h"
#include "lab/custody.h"
#include "lab/gate.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "lab/result.h"
#include "lab/worklist.h"
#include "store/db.h"
#include "testdb.h"

#define RES_PW    "correct horse battery"
#define RES_WRONG "not the password at all"
#define RES_HOUR  (3600LL * 1000000LL)

static db *res_db;
static char res_url[512], res_tmp[256], res_sfx[11];
static user res_user; /* signs releases and corrections */
static char res_username[USER_NAME_MAX + 1];
static audit_ctx res_ctx; /* acts as res_user */
static const audit_ctx res_sys = {NULL, "test", "test"};

/* ---------------------------------------------------------------- helpers */

static int64_t res_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = -1;
    err_t rc = testdb_scalar(res_db, sql, arg, &v, &ei);
    if (rc && rc != ERR_NOT_FOUND)
        fail_msg("%s: %s", sql, ei.message);
    return rc ? -1 : v;
}

/* The first column of the first row as text into out ("" for no row, "<null>" for NULL). */
static void res_text(const char *sql, const char *arg, const char *arg2, char *out, size_t n)
{
    db_stmt *st = NULL;
    bool row = false;
    errinfo ei = {0};
    assert_int_equal(db_prepare(res_db, sql, &st, &ei), ERR_OK);
    if (arg)
        assert_int_equal(db_bind_str(st, 1, arg), ERR_OK);
    if (arg2)
        assert_int_equal(db_bind_str(st, 2, arg2), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    if (!row)
        snprintf(out, n, "%s", "");
    else if (db_col_null(st, 0))
        snprintf(out, n, "%s", "<null>");
    else
        snprintf(out, n, "%s", db_col_text(st, 0));
    db_finalize(st);
}

static int64_t res_head(void)
{
    return res_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

static int64_t res_count_results(void)
{
    return res_scalar("SELECT COUNT(*) FROM results", NULL);
}

/* One column of results row id, as text (columns named by the test itself). */
static const char *res_col(const char *id, const char *column)
{
    static char val[4][1024];
    static int k;
    char sql[160];
    char *out = val[k++ % 4];
    snprintf(sql, sizeof(sql), "SELECT %s FROM results WHERE id = ?", column);
    res_text(sql, id, NULL, out, sizeof(val[0]));
    return out;
}

static int64_t res_col_int(const char *id, const char *column)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT %s FROM results WHERE id = ?", column);
    return res_scalar(sql, id);
}

/* The flag as text: "" when none. */
static const char *res_flag(const char *id)
{
    const char *f = res_col(id, "flag");
    return strcmp(f, "<null>") ? f : "";
}

/* Whether the reasons array (of {"code","message"}) holds code. */
static bool res_reasons_have(const json_t *reasons, const char *code)
{
    size_t i;
    json_t *r;
    json_array_foreach(reasons, i, r)
    {
        const char *c = json_string_value(json_object_get(r, "code"));
        if (c && !strcmp(c, code))
            return true;
    }
    return false;
}

/* Whether results.holds of id (a JSON array of reasons) holds code. */
static bool res_holds(const char *id, const char *code)
{
    json_error_t je;
    json_t *h = json_loads(res_col(id, "holds"), 0, &je);
    assert_non_null(h);
    assert_true(json_is_array(h));
    bool yes = res_reasons_have(h, code);
    json_decref(h);
    return yes;
}

static size_t res_holds_count(const char *id)
{
    json_error_t je;
    json_t *h = json_loads(res_col(id, "holds"), 0, &je);
    assert_non_null(h);
    size_t n = json_array_size(h);
    json_decref(h);
    return n;
}

/* A new adult patient of sex (born 1970-05-05 for adults). */
static void res_patient(const char *sex, const char *birth, patient *p)
{
    char mrn[48], family[48];
    errinfo ei = {0};
    json_t *cand = NULL;
    static int n;
    n++;
    snprintf(mrn, sizeof(mrn), "R%d-%s", n, res_sfx);
    snprintf(family, sizeof(family), "Result%d%s", n, res_sfx);
    json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "mrn", mrn, "family", family, "given", "Pat",
                          "birth_date", birth ? birth : "1970-05-05", "sex", sex, "confirm_new", 1);
    assert_int_equal(patient_create(res_db, &res_sys, b, p, &cand, &ei), ERR_OK);
    json_decref(b);
}

/* Record one custody event given as JSON text. */
static err_t res_event(const char *acc, const char *json, errinfo *ei)
{
    json_error_t je;
    json_t *b = json_loads(json, 0, &je), *o = NULL;
    assert_non_null(b);
    err_clear(ei);
    err_t rc = custody_record(res_db, &res_sys, acc, b, &o, ei);
    json_decref(b);
    json_decref(o);
    return rc;
}

/*
 * Order tests (a JSON array text, e.g. "[\"K\"]") for patient p; the first
 * specimen's accession into acc. state: 0 pending, 1 collected, 2 received.
 * collected_at: ISO time of collection, or NULL for now.
 */
static void res_specimen(const patient *p, const char *tests, int state, const char *collected_at,
                         char acc[ACCESSION_LEN + 1])
{
    errinfo ei = {0};
    json_t *out = NULL;
    json_error_t je;
    json_t *t = json_loads(tests, 0, &je);
    assert_non_null(t);
    json_t *b = json_pack("{s:s,s:o,s:s,s:s,s:[s]}", "patient_id", p->id, "tests", t, "priority",
                          "routine", "clinician", "Dr. R. Esult", "reasons", "R73.09");
    assert_int_equal(order_create(res_db, &res_sys, b, &out, &ei), ERR_OK);
    json_decref(b);
    json_t *specs = json_object_get(out, "specimens");
    assert_int_equal(json_array_size(specs), 1);
    snprintf(acc, ACCESSION_LEN + 1, "%s",
             json_string_value(json_object_get(json_array_get(specs, 0), "accession")));
    json_decref(out);
    if (state >= 1) {
        char ev[160];
        if (collected_at)
            snprintf(ev, sizeof(ev), "{\"event\":\"collected\",\"at\":\"%s\"}", collected_at);
        else
            snprintf(ev, sizeof(ev), "{\"event\":\"collected\"}");
        assert_int_equal(res_event(acc, ev, &ei), ERR_OK);
    }
    if (state >= 2)
        assert_int_equal(res_event(acc, "{\"event\":\"received\"}", &ei), ERR_OK);
}

/* Enter results given as JSON text; the answer into *out when out is not NULL. */
static err_t res_enter(const char *acc, const char *json, json_t **out, errinfo *ei)
{
    json_error_t je;
    json_t *b = json_loads(json, 0, &je), *o = NULL;
    if (!b)
        fail_msg("bad JSON in test: %s", je.text);
    err_clear(ei);
    err_t rc = result_enter(res_db, &res_ctx, acc, b, &o, ei);
    json_decref(b);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

/* The id of the result for test code on the specimen of acc, "" when none. */
static void res_id(const char *acc, const char *code, char id[ID_LEN + 1])
{
    res_text("SELECT r.id FROM results r JOIN specimens s ON s.id = r.specimen_id"
             " WHERE s.accession = ? AND r.test_code = ?",
             acc, code, id, ID_LEN + 1);
}

/* Enter one result (value is JSON text: 4.0, "\"4.0\"", "\"negative\""); must succeed. */
static void res_enter1(const char *acc, const char *code, const char *value, char id[ID_LEN + 1])
{
    char body[512];
    errinfo ei = {0};
    snprintf(body, sizeof(body), "{\"results\":[{\"code\":\"%s\",\"value\":%s}]}", code, value);
    err_t rc = res_enter(acc, body, NULL, &ei);
    if (rc)
        fail_msg("result_enter(%s %s=%s): %s [%s] %s", acc, code, value, err_name(rc), ei.field,
                 ei.message);
    res_id(acc, code, id);
    assert_int_equal(strlen(id), ID_LEN);
}

/* A received specimen of one test for a new patient of sex, and one result on it. */
static void res_one(const char *sex, const char *code, const char *value, char id[ID_LEN + 1])
{
    patient p;
    char acc[ACCESSION_LEN + 1], tests[64];
    res_patient(sex, NULL, &p);
    snprintf(tests, sizeof(tests), "[\"%s\"]", code);
    res_specimen(&p, tests, 2, NULL, acc);
    res_enter1(acc, code, value, id);
}

/* Release ids (NULL-terminated) with password; *out the answer (may be NULL). */
static err_t res_release(const char *password, json_t **out, errinfo *ei, ...)
{
    va_list ap;
    json_t *ids = json_array(), *o = NULL;
    va_start(ap, ei);
    for (const char *id = va_arg(ap, const char *); id; id = va_arg(ap, const char *))
        json_array_append_new(ids, json_string(id));
    va_end(ap);
    json_t *b = json_pack("{s:o}", "ids", ids);
    if (password)
        json_object_set_new(b, "password", json_string(password));
    err_clear(ei);
    err_t rc = result_release(res_db, &res_ctx, &res_user, b, &o, ei);
    json_decref(b);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static err_t res_call(const char *id, const char *json, errinfo *ei)
{
    json_error_t je;
    json_t *b = json_loads(json, 0, &je), *o = NULL;
    assert_non_null(b);
    err_clear(ei);
    err_t rc = result_critical_call(res_db, &res_ctx, id, b, &o, ei);
    json_decref(b);
    json_decref(o);
    return rc;
}

static err_t res_correct(const char *id, const char *json, json_t **out, errinfo *ei)
{
    json_error_t je;
    json_t *b = json_loads(json, 0, &je), *o = NULL;
    assert_non_null(b);
    err_clear(ei);
    err_t rc = result_correct(res_db, &res_ctx, &res_user, id, b, &o, ei);
    json_decref(b);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

/* Whether the JSON text of v mentions s. */
static bool res_mentions(const json_t *v, const char *s)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(text);
    bool yes = strstr(text, s) != NULL;
    free(text);
    return yes;
}

static void res_iso_ago(int64_t us, char out[TIME_ISO_LEN])
{
    time_format_iso(time_now_us() - us, out);
}

static const char *res_order_test_status(const char *id)
{
    static char buf[32];
    res_text("SELECT ot.status FROM order_tests ot JOIN results r ON r.order_test_id = ot.id"
             " WHERE r.id = ?",
             id, NULL, buf, sizeof(buf));
    return buf;
}

static int64_t res_signatures(const char *id, const char *meaning)
{
    char buf[32];
    res_text("SELECT COUNT(*) FROM signatures WHERE result_id = ? AND meaning = ?", id, meaning,
             buf, sizeof(buf));
    return strtoll(buf, NULL, 10);
}

/* ------------------------------------------------------------------ flags */

static void test_flags_numeric(void **state)
{
    (void)state;
    /* potassium 3.5-5.1 mmol/L, critical 2.8 / 6.2; one patient per value */
    static const struct {
        const char *value, *flag;
        int critical;
    } k[] = {
        {"3.5", "", 0},   {"5.1", "", 0},     {"4.2", "", 0},       {"3.4", "L", 0},
        {"5.2", "H", 0},  {"2.8", "L", 0},    {"6.2", "H", 0},      {"2.7", "LL", 1},
        {"6.3", "HH", 1}, {"\"3.5\"", "", 0}, {"\"6.5\"", "HH", 1},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        char id[ID_LEN + 1];
        res_one("female", "K", k[i].value, id);
        if (strcmp(res_flag(id), k[i].flag))
            fail_msg("K %s: flag \"%s\", want \"%s\"", k[i].value, res_flag(id), k[i].flag);
        if (res_col_int(id, "critical") != k[i].critical)
            fail_msg("K %s: critical %lld, want %d", k[i].value,
                     (long long)res_col_int(id, "critical"), k[i].critical);
    }
    /* glucose 70-99 mg/dL, critical 40 / 500, an integer JSON value */
    static const struct {
        const char *value, *flag;
    } g[] = {
        {"70", ""}, {"99", ""}, {"69", "L"}, {"100", "H"}, {"39", "LL"}, {"501", "HH"}, {"40", "L"},
    };
    for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
        char id[ID_LEN + 1];
        res_one("male", "GLU", g[i].value, id);
        if (strcmp(res_flag(id), g[i].flag))
            fail_msg("GLU %s: flag \"%s\", want \"%s\"", g[i].value, res_flag(id), g[i].flag);
    }
}

static void test_flags_by_sex(void **state)
{
    (void)state;
    char f[ID_LEN + 1], m[ID_LEN + 1];
    /* hemoglobin: female 12-15.5, male 13.5-17.5 g/dL */
    res_one("female", "HGB", "13.0", f);
    res_one("male", "HGB", "13.0", m);
    assert_string_equal(res_flag(f), "");
    assert_string_equal(res_flag(m), "L");
    res_one("female", "HGB", "16.0", f);
    res_one("male", "HGB", "16.0", m);
    assert_string_equal(res_flag(f), "H");
    assert_string_equal(res_flag(m), "");
    /* the reference range kept with the result is the patient's band */
    double lo = 0, hi = 0;
    {
        db_stmt *st = NULL;
        bool row = false;
        errinfo ei = {0};
        assert_int_equal(
            db_prepare(res_db, "SELECT ref_low, ref_high FROM results WHERE id = ?", &st, &ei),
            ERR_OK);
        assert_int_equal(db_bind_str(st, 1, m), ERR_OK);
        assert_int_equal(db_step(st, &row, &ei), ERR_OK);
        assert_true(row);
        lo = db_col_double(st, 0);
        hi = db_col_double(st, 1);
        db_finalize(st);
    }
    assert_true(lo == 13.5 && hi == 17.5);
    /* creatinine: female 0.59-1.04, male 0.74-1.35 mg/dL */
    res_one("female", "CREA", "1.20", f);
    res_one("male", "CREA", "1.20", m);
    assert_string_equal(res_flag(f), "H");
    assert_string_equal(res_flag(m), "");
    res_one("female", "CREA", "0.65", f);
    res_one("male", "CREA", "0.65", m);
    assert_string_equal(res_flag(f), "");
    assert_string_equal(res_flag(m), "L");
}

static void test_flags_age_at_collection(void **state)
{
    (void)state;
    patient p;
    char acc[ACCESSION_LEN + 1], id[ID_LEN + 1], birth[TIME_ISO_LEN], at[TIME_ISO_LEN];
    /* The demo catalog's potassium band starts at 6570 days (18 years). Born 6575 days ago,
     * the patient was 6565 days old at a collection 10 days ago: no band applies then. */
    res_iso_ago(6575LL * 24 * RES_HOUR, birth);
    birth[10] = '\0';
    res_patient("female", birth, &p);
    res_iso_ago(10LL * 24 * RES_HOUR, at);
    res_specimen(&p, "[\"K\"]", 2, at, acc);
    res_enter1(acc, "K", "5.5", id);
    assert_string_equal(res_col(id, "ref_low"), "<null>");
    assert_string_equal(res_col(id, "ref_high"), "<null>");
    assert_string_equal(res_flag(id), "");
    /* collected today the adult band applies: high */
    res_specimen(&p, "[\"K\"]", 2, NULL, acc);
    res_enter1(acc, "K", "5.5", id);
    assert_string_equal(res_flag(id), "H");
    assert_string_not_equal(res_col(id, "ref_high"), "<null>");
}

static void test_flags_coded_and_text(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    /* urine protein: coded, normal "negative" */
    res_one("female", "UPRO", "\"negative\"", id);
    assert_string_equal(res_flag(id), "");
    assert_string_equal(res_col(id, "kind"), "coded");
    assert_string_equal(res_col(id, "value_text"), "negative");
    assert_string_equal(res_col(id, "status"), "released");
    res_one("female", "UPRO", "\"2+\"", id);
    assert_string_equal(res_flag(id), "A");
    assert_string_equal(res_col(id, "status"), "review");
    assert_true(res_holds(id, "out-of-range"));
    /* urine colour: text, normal "yellow" */
    res_one("male", "UCOLOR", "\"yellow\"", id);
    assert_string_equal(res_flag(id), "");
    res_one("male", "UCOLOR", "\"red\"", id);
    assert_string_equal(res_flag(id), "A");
}

static void test_value_rounded_to_decimals(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    res_one("female", "K", "4.27", id);
    assert_string_equal(res_col(id, "value_text"), "4.3");
    res_one("female", "GLU", "\"85.4\"", id);
    assert_string_equal(res_col(id, "value_text"), "85");
    res_one("female", "CREA", "1", id);
    assert_string_equal(res_col(id, "value_text"), "1.00");
    assert_string_equal(res_col(id, "unit"), "mg/dL");
}

/* ------------------------------------------------------------- bad input */

static void test_value_beyond_any_scale(void **state)
{
    (void)state;
    patient p;
    char acc[ACCESSION_LEN + 1], id[ID_LEN + 1];
    errinfo ei = {0};
    res_patient("male", NULL, &p);
    res_specimen(&p, "[\"K\"]", 2, NULL, acc);
    /* a decimal literal, but 71 digits once written out: refused, or kept as what it is */
    err_t rc = res_enter(acc, "{\"results\":[{\"code\":\"K\",\"value\":\"1e70\"}]}", NULL, &ei);
    if (rc == ERR_OK) {
        res_id(acc, "K", id);
        if (strcmp(res_flag(id), "HH"))
            fail_msg("K 1e70 accepted as value_text %.20s... value_num %s, flag \"%s\"",
                     res_col(id, "value_text"), res_col(id, "value_num"), res_flag(id));
    } else {
        assert_int_equal(rc, ERR_INVALID);
        assert_string_equal(ei.field, "results[0].value");
    }
}

static void test_enter_refusals(void **state)
{
    (void)state;
    patient p;
    char acc[ACCESSION_LEN + 1];
    res_patient("female", NULL, &p);
    res_specimen(&p, "[\"K\",\"GLU\",\"NA\"]", 2, NULL, acc);
    static const struct {
        const char *body;
        err_t code;
        const char *field;
    } cases[] = {
        {"{\"results\":[{\"code\":\"K\",\"value\":\"abc\"}]}", ERR_INVALID, "results[0].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":\"4.2abc\"}]}", ERR_INVALID, "results[0].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":\"\"}]}", ERR_INVALID, "results[0].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":\"nan\"}]}", ERR_INVALID, "results[0].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":\"inf\"}]}", ERR_INVALID, "results[0].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":\"0x4\"}]}", ERR_INVALID, "results[0].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":\"1e999\"}]}", ERR_INVALID, "results[0].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":true}]}", ERR_INVALID, "results[0].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":4.2,\"unit\":\"mEq/L\"}]}", ERR_INVALID,
         "results[0].unit"},
        {"{\"results\":[{\"code\":\"HGB\",\"value\":13.0}]}", ERR_INVALID, "results[0].code"},
        {"{\"results\":[{\"code\":\"NOPE\",\"value\":1}]}", ERR_INVALID, "results[0].code"},
        /* the second one is bad: the first is not written either */
        {"{\"results\":[{\"code\":\"K\",\"value\":4.2},{\"code\":\"GLU\",\"value\":\"high\"}]}",
         ERR_INVALID, "results[1].value"},
        {"{\"results\":[{\"code\":\"K\",\"value\":4.2},{\"code\":\"GLU\",\"value\":80,"
         "\"unit\":\"mmol/L\"}]}",
         ERR_INVALID, "results[1].unit"},
        {"{\"results\":[{\"code\":\"K\",\"value\":4.2,\"colour\":\"red\"}]}", ERR_UNKNOWN_FIELD,
         "results[0].colour"},
        {"{\"results\":[{\"value\":4.2}]}", ERR_MISSING_FIELD, "results[0].code"},
        {"{\"results\":[{\"code\":\"K\"}]}", ERR_MISSING_FIELD, "results[0].value"},
        {"{}", ERR_MISSING_FIELD, "results"},
    };
    int64_t before = res_head(), rows = res_count_results();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        errinfo ei = {0};
        json_t *out = NULL;
        err_t rc = res_enter(acc, cases[i].body, &out, &ei);
        if (rc != cases[i].code || strcmp(ei.field, cases[i].field))
            fail_msg("%s: got %s [%s] \"%s\", want %s [%s]", cases[i].body, err_name(rc), ei.field,
                     ei.message, err_name(cases[i].code), cases[i].field);
        assert_null(out);
    }
    assert_int_equal(res_head(), before);
    assert_int_equal(res_count_results(), rows);

    /* a batch larger than RESULT_BATCH_MAX */
    json_t *b = json_object(), *arr = json_array();
    for (int i = 0; i <= RESULT_BATCH_MAX; i++)
        json_array_append_new(arr, json_pack("{s:s,s:f}", "code", "K", "value", 4.0));
    json_object_set_new(b, "results", arr);
    errinfo ei = {0};
    json_t *out = NULL;
    assert_int_equal(result_enter(res_db, &res_ctx, acc, b, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "results");
    json_decref(b);

    /* the same test twice in one batch */
    err_t rc = res_enter(
        acc, "{\"results\":[{\"code\":\"K\",\"value\":4.2},{\"code\":\"K\",\"value\":4.3}]}", NULL,
        &ei);
    assert_true(rc == ERR_CONFLICT || rc == ERR_INVALID);
    assert_int_equal(res_head(), before);
    assert_int_equal(res_count_results(), rows);

    /* all good now: three results at once, in the answer in order */
    before = res_head();
    assert_int_equal(
        res_enter(acc,
                  "{\"results\":[{\"code\":\"K\",\"value\":4.2,\"unit\":\"mmol/L\"},"
                  "{\"code\":\"GLU\",\"value\":\"88\"},{\"code\":\"NA\",\"value\":140}]}",
                  &out, &ei),
        ERR_OK);
    assert_int_equal(res_count_results(), rows + 3);
    assert_true(res_head() > before);
    json_t *rs = json_object_get(out, "results");
    assert_int_equal(json_array_size(rs), 3);
    char id[ID_LEN + 1];
    res_id(acc, "K", id);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rs, 0), "id")), id);
    json_decref(out);

    /* the same test resulted twice: conflict, nothing written */
    before = res_head();
    rc = res_enter(acc, "{\"results\":[{\"code\":\"K\",\"value\":4.4}]}", NULL, &ei);
    if (rc != ERR_CONFLICT)
        fail_msg("K again: %s [%s] %s", err_name(rc), ei.field, ei.message);
    assert_int_equal(res_head(), before);
    assert_int_equal(res_count_results(), rows + 3);
    assert_string_equal(res_col(id, "value_text"), "4.2");
}

static void test_enter_coded_not_in_list(void **state)
{
    (void)state;
    patient p;
    char acc[ACCESSION_LEN + 1];
    errinfo ei = {0};
    res_patient("male", NULL, &p);
    res_specimen(&p, "[\"UPRO\"]", 2, NULL, acc);
    int64_t before = res_head(), rows = res_count_results();
    err_t rc = res_enter(acc, "{\"results\":[{\"code\":\"UPRO\",\"value\":\"5+\"}]}", NULL, &ei);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(ei.field, "results[0].value");
    rc = res_enter(acc, "{\"results\":[{\"code\":\"UPRO\",\"value\":\"Negative \"}]}", NULL, &ei);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(ei.field, "results[0].value");
    /* coded tests take no unit */
    rc =
        res_enter(acc, "{\"results\":[{\"code\":\"UPRO\",\"value\":\"trace\",\"unit\":\"mg/dL\"}]}",
                  NULL, &ei);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(ei.field, "results[0].unit");
    assert_int_equal(res_head(), before);
    assert_int_equal(res_count_results(), rows);
}

static void test_enter_specimen_state(void **state)
{
    (void)state;
    patient p;
    char pending[ACCESSION_LEN + 1], collected[ACCESSION_LEN + 1], rejected[ACCESSION_LEN + 1];
    errinfo ei = {0};
    res_patient("female", NULL, &p);
    res_specimen(&p, "[\"K\"]", 0, NULL, pending);
    res_specimen(&p, "[\"K\"]", 1, NULL, collected);
    res_specimen(&p, "[\"K\"]", 2, NULL, rejected);
    json_error_t je;
    json_t *rb = json_loads("{\"reason\":\"hemolyzed\"}", 0, &je), *o = NULL;
    assert_int_equal(custody_reject(res_db, &res_sys, rejected, rb, &o, &ei), ERR_OK);
    json_decref(rb);
    json_decref(o);

    const char *body = "{\"results\":[{\"code\":\"K\",\"value\":4.0}]}";
    int64_t before = res_head(), rows = res_count_results();
    err_t rc = res_enter(pending, body, NULL, &ei);
    if (rc != ERR_CONFLICT)
        fail_msg("pending specimen: %s [%s] %s", err_name(rc), ei.field, ei.message);
    rc = res_enter(collected, body, NULL, &ei);
    if (rc != ERR_CONFLICT)
        fail_msg("collected, not received: %s [%s] %s", err_name(rc), ei.field, ei.message);
    rc = res_enter(rejected, body, NULL, &ei);
    if (rc != ERR_CONFLICT)
        fail_msg("rejected specimen: %s [%s] %s", err_name(rc), ei.field, ei.message);
    assert_int_equal(res_head(), before);
    assert_int_equal(res_count_results(), rows);

    /* an unknown accession */
    char other[ACCESSION_LEN + 1] = "00001999999";
    other[11] = (char)accession_check_digit(other, 11);
    other[12] = '\0';
    assert_int_equal(res_enter(other, body, NULL, &ei), ERR_NOT_FOUND);
}

/* ------------------------------------------------------ auto-verification */

static void test_auto_release(void **state)
{
    (void)state;
    patient p;
    char acc[ACCESSION_LEN + 1], id[ID_LEN + 1];
    errinfo ei = {0};
    json_t *out = NULL;
    res_patient("female", NULL, &p);
    res_specimen(&p, "[\"K\"]", 2, NULL, acc);
    int64_t before = res_head();
    assert_int_equal(res_enter(acc, "{\"results\":[{\"code\":\"K\",\"value\":4.0}]}", &out, &ei),
                     ERR_OK);
    assert_true(res_head() > before); /* entering is audited */
    json_t *r = json_array_get(json_object_get(out, "results"), 0);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "released");
    assert_string_equal(json_string_value(json_object_get(r, "release_mode")), "auto");
    res_id(acc, "K", id);
    assert_string_equal(json_string_value(json_object_get(r, "id")), id);
    json_decref(out);
    assert_string_equal(res_col(id, "status"), "released");
    assert_string_equal(res_col(id, "release_mode"), "auto");
    assert_string_equal(res_col(id, "flag"), "<null>");
    assert_string_equal(res_col(id, "value_text"), "4.0");
    assert_int_equal(res_col_int(id, "version"), 1);
    assert_string_not_equal(res_col(id, "released_at"), "<null>");
    assert_int_equal(res_holds_count(id), 0);
    assert_string_equal(res_order_test_status(id), "released");
    assert_string_equal(res_col(id, "patient_id"), p.id);

    /* the read: audited, with the result's fields */
    before = res_head();
    assert_int_equal(result_read(res_db, &res_ctx, id, &out, &ei), ERR_OK);
    assert_int_equal(res_head(), before + 1);
    assert_string_equal(json_string_value(json_object_get(out, "id")), id);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "released");
    json_t *h = json_object_get(out, "history");
    assert_true(json_is_array(h));
    assert_int_equal(json_array_size(h), 0);
    json_decref(out);
    assert_int_equal(result_read(res_db, &res_ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &out, &ei),
                     ERR_NOT_FOUND);

    /* a specimen collected a few hours ago, well within stability, is released too */
    char at[TIME_ISO_LEN];
    res_iso_ago(4 * RES_HOUR, at);
    res_patient("male", NULL, &p);
    res_specimen(&p, "[\"GLU\"]", 2, at, acc);
    res_enter1(acc, "GLU", "85", id);
    assert_string_equal(res_col(id, "status"), "released");
    assert_string_equal(res_col(id, "release_mode"), "auto");
}

static void test_auto_review_reasons(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    /* high: review, out-of-range, order test not released */
    res_one("female", "K", "5.5", id);
    assert_string_equal(res_flag(id), "H");
    assert_string_equal(res_col(id, "status"), "review");
    assert_string_equal(res_col(id, "release_mode"), "<null>");
    assert_string_equal(res_col(id, "released_at"), "<null>");
    assert_true(res_holds(id, "out-of-range"));
    assert_false(res_holds(id, "critical-call-pending"));
    assert_string_not_equal(res_order_test_status(id), "released");

    /* the gate itself: automatic mode holds it, a person may release it */
    json_t *reasons = NULL;
    errinfo ei = {0};
    assert_int_equal(gate_check(res_db, id, GATE_AUTO, NULL, &reasons, &ei), ERR_OK);
    assert_true(res_reasons_have(reasons, "out-of-range"));
    json_decref(reasons);
    assert_int_equal(gate_check(res_db, id, GATE_MANUAL, res_user.id, &reasons, &ei), ERR_OK);
    assert_true(json_is_array(reasons));
    assert_int_equal(json_array_size(reasons), 0);
    json_decref(reasons);

    /* review queue lists it, and is audited */
    json_t *items = NULL;
    int64_t before = res_head();
    assert_int_equal(result_review_queue(res_db, &res_ctx, 500, &items, &ei), ERR_OK);
    assert_true(json_is_array(items));
    assert_int_equal(res_head(), before + 1);
    if (json_array_size(items) < 500)
        assert_true(res_mentions(items, id));
    json_decref(items);

    /* a normal value with instrument flags: review, instrument-flag */
    patient p;
    char acc[ACCESSION_LEN + 1];
    res_patient("male", NULL, &p);
    res_specimen(&p, "[\"K\"]", 2, NULL, acc);
    assert_int_equal(res_enter(acc,
                               "{\"results\":[{\"code\":\"K\",\"value\":4.1,\"instrument\":"
                               "\"cobas-c311\",\"instrument_flags\":\"HEM\"}]}",
                               NULL, &ei),
                     ERR_OK);
    res_id(acc, "K", id);
    assert_string_equal(res_flag(id), "");
    assert_string_equal(res_col(id, "status"), "review");
    assert_true(res_holds(id, "instrument-flag"));
    assert_false(res_holds(id, "out-of-range"));
    assert_string_equal(res_col(id, "instrument"), "cobas-c311");
    assert_non_null(strstr(res_col(id, "instrument_flags"), "HEM"));

    /* an instrument without flags is released automatically */
    res_patient("male", NULL, &p);
    res_specimen(&p, "[\"K\"]", 2, NULL, acc);
    assert_int_equal(res_enter(acc,
                               "{\"results\":[{\"code\":\"K\",\"value\":4.1,\"instrument\":"
                               "\"cobas-c311\"}]}",
                               NULL, &ei),
                     ERR_OK);
    res_id(acc, "K", id);
    assert_string_equal(res_col(id, "status"), "released");
}

static void test_review_queue_limit(void **state)
{
    (void)state;
    errinfo ei = {0};
    json_t *items = NULL;
    /* a limit from outside (a query string) that makes no sense is refused, not a storage error */
    static const int bad[] = {0, -5};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_t rc = result_review_queue(res_db, &res_ctx, bad[i], &items, &ei);
        if (rc != ERR_OK && rc != ERR_INVALID)
            fail_msg("review queue, limit %d: %s %s", bad[i], err_name(rc), ei.message);
        json_decref(items);
        items = NULL;
    }
    assert_int_equal(result_review_queue(res_db, &res_ctx, 1, &items, &ei), ERR_OK);
    assert_true(json_array_size(items) <= 1);
    json_decref(items);
}

static void test_delta_check(void **state)
{
    (void)state;
    patient p;
    char a1[ACCESSION_LEN + 1], a2[ACCESSION_LEN + 1], first[ID_LEN + 1], second[ID_LEN + 1];
    errinfo ei = {0};
    /* potassium: absolute, limit 1 mmol/L, window 24 h; both values normal */
    res_patient("female", NULL, &p);
    res_specimen(&p, "[\"K\"]", 2, NULL, a1);
    res_enter1(a1, "K", "3.6", first);
    assert_string_equal(res_col(first, "status"), "released");
    assert_int_equal(res_col_int(first, "delta_failed"), 0);
    res_specimen(&p, "[\"K\"]", 2, NULL, a2);
    res_enter1(a2, "K", "4.9", second);
    assert_string_equal(res_flag(second), "");
    assert_int_equal(res_col_int(second, "delta_failed"), 1);
    assert_string_equal(res_col(second, "status"), "review");
    assert_true(res_holds(second, "delta-check-failed"));
    assert_false(res_holds(second, "out-of-range"));
    /* the value the delta was taken against (with its time) */
    assert_memory_equal(res_col(second, "delta_previous"), "3.6", 3);
    json_t *out = NULL;
    assert_int_equal(result_read(res_db, &res_ctx, second, &out, &ei), ERR_OK);
    assert_true(res_mentions(out, "3.6"));
    json_decref(out);
    /* a person may release it */
    assert_int_equal(res_release(RES_PW, NULL, &ei, second, NULL), ERR_OK);
    assert_string_equal(res_col(second, "status"), "released");

    /* within the limit: released automatically */
    char a3[ACCESSION_LEN + 1], third[ID_LEN + 1];
    res_patient("male", NULL, &p);
    res_specimen(&p, "[\"K\"]", 2, NULL, a1);
    res_enter1(a1, "K", "3.6", first);
    res_specimen(&p, "[\"K\"]", 2, NULL, a3);
    res_enter1(a3, "K", "4.5", third);
    assert_int_equal(res_col_int(third, "delta_failed"), 0);
    assert_string_equal(res_col(third, "status"), "released");

    /* outside the window (24 h): the earlier specimen collected 26 h ago, resulted 25 h ago */
    char at[TIME_ISO_LEN];
    res_patient("female", NULL, &p);
    res_iso_ago(26 * RES_HOUR, at);
    res_specimen(&p, "[\"K\"]", 2, at, a1);
    res_enter1(a1, "K", "3.6", first);
    assert_string_equal(res_col(first, "status"), "released");
    int64_t back = time_now_us() - 25 * RES_HOUR;
    assert_int_equal(db_run(res_db, &ei, NULL,
                            "UPDATE results SET resulted_at = ?, released_at = ? WHERE id = ?",
                            "iit", back, back, first),
                     ERR_OK);
    res_specimen(&p, "[\"K\"]", 2, NULL, a2);
    res_enter1(a2, "K", "4.9", second);
    assert_int_equal(res_col_int(second, "delta_failed"), 0);
    assert_string_equal(res_col(second, "status"), "released");

    /* another patient's earlier value does not count */
    patient q;
    res_patient("male", NULL, &q);
    res_specimen(&q, "[\"K\"]", 2, NULL, a2);
    res_enter1(a2, "K", "5.0", second);
    assert_int_equal(res_col_int(second, "delta_failed"), 0);
    assert_string_equal(res_col(second, "status"), "released");

    /* glucose: percent, limit 50 %, window 72 h */
    res_patient("female", NULL, &p);
    res_specimen(&p, "[\"GLU\"]", 2, NULL, a1);
    res_enter1(a1, "GLU", "80", first);
    assert_string_equal(res_col(first, "status"), "released");
    res_specimen(&p, "[\"GLU\"]", 2, NULL, a2);
    res_enter1(a2, "GLU", "95", second); /* +19 %: fine */
    assert_int_equal(res_col_int(second, "delta_failed"), 0);
    res_specimen(&p, "[\"GLU\"]", 2, NULL, a3);
    res_enter1(a3, "GLU", "48", third); /* -49.5 % against 95: fine, but low */
    assert_int_equal(res_col_int(third, "delta_failed"), 0);
    assert_string_equal(res_flag(third), "L");
    /* 98 -> 45 is -54 % (and low: the range is narrower than the delta) */
    res_patient("male", NULL, &p);
    res_specimen(&p, "[\"GLU\"]", 2, NULL, a1);
    res_enter1(a1, "GLU", "98", first);
    assert_string_equal(res_col(first, "status"), "released");
    res_specimen(&p, "[\"GLU\"]", 2, NULL, a2);
    res_enter1(a2, "GLU", "45", second);
    assert_int_equal(res_col_int(second, "delta_failed"), 1);
    assert_true(res_holds(second, "delta-check-failed"));
    assert_memory_equal(res_col(second, "delta_previous"), "98", 2);
}

/* ---------------------------------------------------------------- critical */

static void test_critical_value(void **state)
{
    (void)state;
    char id[ID_LEN + 1], other[ID_LEN + 1];
    errinfo ei = {0};
    json_t *items = NULL, *out = NULL;
    int64_t before;
    res_one("female", "K", "6.8", id);
    assert_string_equal(res_flag(id), "HH");
    assert_int_equal(res_col_int(id, "critical"), 1);
    assert_string_equal(res_col(id, "status"), "review");
    assert_true(res_holds(id, "critical-call-pending"));
    assert_int_equal(res_scalar("SELECT COUNT(*) FROM critical_alerts WHERE result_id = ?"
                                " AND closed_at IS NULL",
                                id),
                     1);

    /* listed among the open alerts; the listing is audited */
    before = res_head();
    assert_int_equal(result_open_criticals(res_db, &res_ctx, &items, &ei), ERR_OK);
    assert_true(res_head() > before);
    assert_true(res_mentions(items, id));
    json_decref(items);

    /* the gate holds it even for a person */
    json_t *reasons = NULL;
    assert_int_equal(gate_check(res_db, id, GATE_MANUAL, res_user.id, &reasons, &ei), ERR_OK);
    assert_true(res_reasons_have(reasons, "critical-call-pending"));
    json_decref(reasons);

    /* release refused with the reason, nothing released */
    err_t rc = res_release(RES_PW, &out, &ei, id, NULL);
    if (rc != ERR_CONFLICT)
        fail_msg("release of an uncalled critical: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_t *held = json_object_get(out, "held");
    assert_int_equal(json_array_size(held), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(held, 0), "id")), id);
    assert_true(res_reasons_have(json_object_get(json_array_get(held, 0), "reasons"),
                                 "critical-call-pending"));
    json_decref(out);
    out = NULL;
    assert_string_equal(res_col(id, "status"), "review");
    assert_int_equal(res_signatures(id, "release"), 0);

    /* the call: read back is required, and true */
    before = res_head();
    rc = res_call(id, "{\"notified\":\"RN Smith\",\"read_back\":false}", &ei);
    if (rc != ERR_INVALID || strcmp(ei.field, "read_back"))
        fail_msg("read_back false: %s [%s] %s", err_name(rc), ei.field, ei.message);
    rc = res_call(id, "{\"notified\":\"RN Smith\"}", &ei);
    /* the brief asks for ERR_INVALID; jsonv answers ERR_MISSING_FIELD for any missing member */
    if ((rc != ERR_INVALID && rc != ERR_MISSING_FIELD) || strcmp(ei.field, "read_back"))
        fail_msg("read_back missing: %s [%s] %s", err_name(rc), ei.field, ei.message);
    rc = res_call(id, "{\"read_back\":true}", &ei);
    assert_int_not_equal(rc, ERR_OK);
    assert_string_equal(ei.field, "notified");
    assert_int_equal(res_head(), before);
    assert_int_equal(res_scalar("SELECT COUNT(*) FROM critical_alerts WHERE result_id = ?"
                                " AND closed_at IS NULL",
                                id),
                     1);
    /* a result with no alert cannot be called */
    res_one("female", "K", "4.0", other);
    assert_int_not_equal(res_call(other, "{\"notified\":\"RN Smith\",\"read_back\":true}", &ei),
                         ERR_OK);

    before = res_head();
    assert_int_equal(res_call(id, "{\"notified\":\"RN Smith\",\"read_back\":true}", &ei), ERR_OK);
    assert_true(res_head() > before);
    assert_int_equal(res_scalar("SELECT COUNT(*) FROM critical_alerts WHERE result_id = ?"
                                " AND closed_at IS NULL",
                                id),
                     0);
    char who[64];
    res_text("SELECT notified FROM critical_alerts WHERE result_id = ?", id, NULL, who,
             sizeof(who));
    assert_string_equal(who, "RN Smith");
    assert_int_equal(res_scalar("SELECT read_back FROM critical_alerts WHERE result_id = ?", id),
                     1);
    /* called once only */
    assert_int_not_equal(res_call(id, "{\"notified\":\"RN Jones\",\"read_back\":true}", &ei),
                         ERR_OK);
    assert_int_equal(result_open_criticals(res_db, &res_ctx, &items, &ei), ERR_OK);
    assert_false(res_mentions(items, id));
    json_decref(items);
    assert_int_equal(gate_check(res_db, id, GATE_MANUAL, res_user.id, &reasons, &ei), ERR_OK);
    assert_false(res_reasons_have(reasons, "critical-call-pending"));
    json_decref(reasons);

    /* now a person releases it */
    before = res_head();
    rc = res_release(RES_PW, NULL, &ei, id, NULL);
    if (rc)
        fail_msg("release after the call: %s [%s] %s", err_name(rc), ei.field, ei.message);
    assert_true(res_head() > before);
    assert_string_equal(res_col(id, "status"), "released");
    assert_string_equal(res_col(id, "release_mode"), "manual");
    assert_int_equal(res_signatures(id, "release"), 1);

    /* a critical low, given as a string */
    res_one("male", "GLU", "\"35\"", id);
    assert_string_equal(res_flag(id), "LL");
    assert_true(res_holds(id, "critical-call-pending"));
}

static void test_critical_call_time(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    errinfo ei = {0};
    res_one("female", "GLU", "560", id);
    assert_string_equal(res_flag(id), "HH");
    /* a call in the future, or before the critical value existed, is refused */
    err_t rc = res_call(
        id, "{\"notified\":\"RN Smith\",\"read_back\":true,\"at\":\"2999-01-01T00:00:00Z\"}", &ei);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(ei.field, "at");
    rc = res_call(
        id, "{\"notified\":\"RN Smith\",\"read_back\":true,\"at\":\"2001-01-01T00:00:00Z\"}", &ei);
    if (rc != ERR_INVALID || strcmp(ei.field, "at"))
        fail_msg("a call dated 2001 for an alert opened today: %s [%s] %s", err_name(rc), ei.field,
                 ei.message);
    assert_int_equal(res_scalar("SELECT COUNT(*) FROM critical_alerts WHERE result_id = ?"
                                " AND closed_at IS NULL",
                                id),
                     1);
}

/* ---------------------------------------------------------- manual release */

static void test_manual_release(void **state)
{
    (void)state;
    char h1[ID_LEN + 1], h2[ID_LEN + 1], crit[ID_LEN + 1];
    errinfo ei = {0};
    json_t *out = NULL;
    res_one("female", "K", "5.4", h1);
    res_one("male", "GLU", "120", h2);
    res_one("female", "K", "7.0", crit);
    assert_string_equal(res_col(h1, "status"), "review");
    assert_string_equal(res_col(h2, "status"), "review");

    /* a wrong password: nothing released */
    err_t rc = res_release(RES_WRONG, &out, &ei, h1, h2, NULL);
    if (rc != ERR_INVALID || strcmp(ei.field, "password"))
        fail_msg("wrong password: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_decref(out);
    rc = res_release(NULL, &out, &ei, h1, NULL);
    assert_int_not_equal(rc, ERR_OK);
    assert_string_equal(ei.field, "password");
    json_decref(out);
    assert_string_equal(res_col(h1, "status"), "review");
    assert_string_equal(res_col(h2, "status"), "review");
    assert_int_equal(res_signatures(h1, "release"), 0);

    /* all or none: one held, none released */
    int64_t before = res_head();
    rc = res_release(RES_PW, &out, &ei, h1, crit, h2, NULL);
    if (rc != ERR_CONFLICT)
        fail_msg("one of three held: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_t *held = json_object_get(out, "held");
    assert_int_equal(json_array_size(held), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(held, 0), "id")), crit);
    json_decref(out);
    out = NULL;
    assert_string_equal(res_col(h1, "status"), "review");
    assert_string_equal(res_col(h2, "status"), "review");
    assert_int_equal(res_signatures(h1, "release"), 0);
    assert_int_equal(res_signatures(h2, "release"), 0);
    assert_string_not_equal(res_order_test_status(h1), "released");

    /* an unknown id */
    rc = res_release(RES_PW, &out, &ei, h1, "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL);
    assert_int_not_equal(rc, ERR_OK);
    json_decref(out);
    out = NULL;
    assert_string_equal(res_col(h1, "status"), "review");

    /* the two out-of-range results: a person releases them */
    before = res_head();
    rc = res_release(RES_PW, &out, &ei, h1, h2, NULL);
    if (rc)
        fail_msg("release: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_decref(out);
    assert_true(res_head() > before);
    const char *both[] = {h1, h2};
    for (int i = 0; i < 2; i++) {
        assert_string_equal(res_col(both[i], "status"), "released");
        assert_string_equal(res_col(both[i], "release_mode"), "manual");
        /* the releasing user (by username, as resulted_by and replaced_by) */
        const char *by = res_col(both[i], "released_by");
        assert_true(!strcmp(by, res_username) || !strcmp(by, res_user.id));
        assert_string_not_equal(res_col(both[i], "released_at"), "<null>");
        assert_int_equal(res_signatures(both[i], "release"), 1);
        assert_string_equal(res_order_test_status(both[i]), "released");
        char sig_user[64];
        res_text("SELECT user_id FROM signatures WHERE result_id = ?", both[i], NULL, sig_user,
                 sizeof(sig_user));
        assert_string_equal(sig_user, res_user.id);
    }
    /* the flag stays */
    assert_string_equal(res_flag(h1), "H");
    assert_string_equal(res_flag(h2), "H");
}

/* -------------------------------------------------------------- correction */

static void test_correction(void **state)
{
    (void)state;
    char id[ID_LEN + 1], rev[ID_LEN + 1];
    errinfo ei = {0};
    json_t *out = NULL;
    res_one("female", "K", "4.0", id);
    assert_string_equal(res_col(id, "status"), "released");

    /* only a released result can be corrected */
    res_one("female", "K", "5.6", rev);
    assert_string_equal(res_col(rev, "status"), "review");
    int64_t before = res_head();
    err_t rc = res_correct(
        rev, "{\"value\":5.0,\"reason\":\"transcription error\",\"password\":\"" RES_PW "\"}", NULL,
        &ei);
    if (rc != ERR_CONFLICT)
        fail_msg("correcting a result in review: %s [%s] %s", err_name(rc), ei.field, ei.message);
    assert_int_equal(res_head(), before);
    assert_int_equal(res_col_int(rev, "version"), 1);

    /* reason and password are needed, the value is checked */
    rc = res_correct(id, "{\"value\":5.5,\"password\":\"" RES_PW "\"}", NULL, &ei);
    assert_true(rc == ERR_MISSING_FIELD || rc == ERR_INVALID);
    assert_string_equal(ei.field, "reason");
    rc = res_correct(id, "{\"value\":5.5,\"reason\":\"wrong sample\"}", NULL, &ei);
    assert_true(rc == ERR_MISSING_FIELD || rc == ERR_INVALID);
    assert_string_equal(ei.field, "password");
    rc = res_correct(id,
                     "{\"value\":5.5,\"reason\":\"wrong sample\",\"password\":\"" RES_WRONG "\"}",
                     NULL, &ei);
    if (rc != ERR_INVALID || strcmp(ei.field, "password"))
        fail_msg("wrong password: %s [%s] %s", err_name(rc), ei.field, ei.message);
    rc = res_correct(id,
                     "{\"value\":\"five\",\"reason\":\"wrong sample\",\"password\":\"" RES_PW "\"}",
                     NULL, &ei);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(ei.field, "value");
    rc = res_correct(id,
                     "{\"value\":5.5,\"unit\":\"mEq/L\",\"reason\":\"wrong sample\","
                     "\"password\":\"" RES_PW "\"}",
                     NULL, &ei);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(ei.field, "unit");
    assert_string_equal(res_col(id, "value_text"), "4.0");
    assert_string_equal(res_col(id, "status"), "released");
    assert_int_equal(res_col_int(id, "version"), 1);
    assert_int_equal(res_scalar("SELECT COUNT(*) FROM result_history WHERE result_id = ?", id), 0);
    assert_int_equal(res_signatures(id, "correction"), 0);

    /* the correction */
    before = res_head();
    rc = res_correct(
        id, "{\"value\":5.5,\"reason\":\"transcription error\",\"password\":\"" RES_PW "\"}", &out,
        &ei);
    if (rc)
        fail_msg("correction: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_decref(out);
    assert_true(res_head() > before);
    assert_string_equal(res_col(id, "status"), "corrected");
    assert_int_equal(res_col_int(id, "version"), 2);
    assert_string_equal(res_col(id, "value_text"), "5.5");
    assert_string_equal(res_flag(id), "H");
    assert_int_equal(res_signatures(id, "correction"), 1);
    assert_int_equal(res_scalar("SELECT COUNT(*) FROM result_history WHERE result_id = ?", id), 1);
    char hv[64];
    res_text("SELECT value_text FROM result_history WHERE result_id = ? AND version = 1", id, NULL,
             hv, sizeof(hv));
    assert_string_equal(hv, "4.0");
    res_text("SELECT replaced_by FROM result_history WHERE result_id = ?", id, NULL, hv,
             sizeof(hv));
    assert_true(!strcmp(hv, res_user.id) || !strcmp(hv, res_username));

    /* result_read: the earlier value with who and why */
    assert_int_equal(result_read(res_db, &res_ctx, id, &out, &ei), ERR_OK);
    json_t *h = json_object_get(out, "history");
    assert_int_equal(json_array_size(h), 1);
    assert_true(res_mentions(json_array_get(h, 0), "4.0"));
    assert_true(res_mentions(json_array_get(h, 0), "transcription error"));
    assert_true(res_mentions(json_array_get(h, 0), res_user.id) ||
                res_mentions(json_array_get(h, 0), res_username));
    assert_string_equal(json_string_value(json_object_get(out, "status")), "corrected");
    json_decref(out);

    /* a second correction keeps both earlier values */
    before = res_head();
    rc = res_correct(
        id, "{\"value\":\"3.0\",\"reason\":\"wrong patient's tube\",\"password\":\"" RES_PW "\"}",
        NULL, &ei);
    if (rc)
        fail_msg("second correction: %s [%s] %s", err_name(rc), ei.field, ei.message);
    assert_true(res_head() > before);
    assert_int_equal(res_col_int(id, "version"), 3);
    assert_string_equal(res_col(id, "value_text"), "3.0");
    assert_string_equal(res_flag(id), "L");
    assert_string_equal(res_col(id, "status"), "corrected");
    assert_int_equal(res_scalar("SELECT COUNT(*) FROM result_history WHERE result_id = ?", id), 2);
    assert_int_equal(result_read(res_db, &res_ctx, id, &out, &ei), ERR_OK);
    h = json_object_get(out, "history");
    assert_int_equal(json_array_size(h), 2);
    assert_true(res_mentions(h, "4.0"));
    assert_true(res_mentions(h, "5.5"));
    assert_true(res_mentions(h, "transcription error"));
    assert_true(res_mentions(h, "wrong patient's tube"));
    json_decref(out);
    assert_int_equal(res_signatures(id, "correction"), 2);

    /* a manually released result may be corrected as well */
    char m[ID_LEN + 1];
    res_one("male", "GLU", "150", m);
    assert_int_equal(res_release(RES_PW, NULL, &ei, m, NULL), ERR_OK);
    rc = res_correct(m, "{\"value\":90,\"reason\":\"recalibrated\",\"password\":\"" RES_PW "\"}",
                     NULL, &ei);
    assert_int_equal(rc, ERR_OK);
    assert_string_equal(res_flag(m), "");
    assert_string_equal(res_col(m, "status"), "corrected");
}

/* -------------------------------------------------------------------- gate */

static void test_gate_stability(void **state)
{
    (void)state;
    patient p;
    char acc[ACCESSION_LEN + 1], id[ID_LEN + 1], at[TIME_ISO_LEN];
    errinfo ei = {0};
    json_t *out = NULL, *reasons = NULL;
    /* glucose: 8 hours at room temperature; collected 30 days ago */
    res_iso_ago(30LL * 24 * RES_HOUR, at);
    res_patient("female", NULL, &p);
    res_specimen(&p, "[\"GLU\"]", 2, at, acc);
    res_enter1(acc, "GLU", "85", id);
    assert_string_equal(res_flag(id), "");
    assert_string_equal(res_col(id, "status"), "review");
    assert_true(res_holds(id, "stability-exceeded"));

    assert_int_equal(gate_check(res_db, id, GATE_MANUAL, res_user.id, &reasons, &ei), ERR_OK);
    assert_true(res_reasons_have(reasons, "stability-exceeded"));
    json_decref(reasons);

    err_t rc = res_release(RES_PW, &out, &ei, id, NULL);
    if (rc != ERR_CONFLICT)
        fail_msg("release past stability: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_t *held = json_object_get(out, "held");
    assert_int_equal(json_array_size(held), 1);
    assert_true(res_reasons_have(json_object_get(json_array_get(held, 0), "reasons"),
                                 "stability-exceeded"));
    json_decref(out);
    assert_string_equal(res_col(id, "status"), "review");
    assert_int_equal(res_signatures(id, "release"), 0);

    /* just past 8 hours too */
    res_iso_ago(9 * RES_HOUR, at);
    res_patient("male", NULL, &p);
    res_specimen(&p, "[\"GLU\"]", 2, at, acc);
    res_enter1(acc, "GLU", "85", id);
    assert_true(res_holds(id, "stability-exceeded"));
    assert_string_equal(res_col(id, "status"), "review");
}

static void test_gate_rejected_after_entry(void **state)
{
    (void)state;
    patient p;
    char acc[ACCESSION_LEN + 1], id[ID_LEN + 1];
    errinfo ei = {0};
    json_t *o = NULL, *reasons = NULL;
    res_patient("female", NULL, &p);
    res_specimen(&p, "[\"K\"]", 2, NULL, acc);
    res_enter1(acc, "K", "5.6", id); /* high: waits for review */
    assert_string_equal(res_col(id, "status"), "review");
    json_error_t je;
    json_t *rb = json_loads("{\"reason\":\"hemolyzed\"}", 0, &je);
    assert_int_equal(custody_reject(res_db, &res_sys, acc, rb, &o, &ei), ERR_OK);
    json_decref(rb);
    json_decref(o);
    /* the specimen was rejected: a hard hold */
    assert_int_equal(gate_check(res_db, id, GATE_MANUAL, res_user.id, &reasons, &ei), ERR_OK);
    assert_true(json_array_size(reasons) > 0);
    json_decref(reasons);
    assert_int_equal(res_release(RES_PW, &o, &ei, id, NULL), ERR_CONFLICT);
    json_decref(o);
    assert_string_equal(res_col(id, "status"), "review");
}

/* ---------------------------------------------------------- worklist state */

/*
 * The worklist's state of the specimen of acc (migration 0020) against a
 * recomputation from its tests and results, and against what the step
 * expects: tests to do, to review, and whether one is released.
 */
static void res_wl_check(const char *acc, int64_t open, int64_t review, bool released)
{
    int64_t wl_open = res_scalar("SELECT w.open_tests FROM worklist_specimens w JOIN specimens s "
                                 "ON s.id = w.specimen_id WHERE s.accession = ?",
                                 acc);
    int64_t wl_review = res_scalar("SELECT w.review_tests FROM worklist_specimens w JOIN specimens "
                                   "s ON s.id = w.specimen_id WHERE s.accession = ?",
                                   acc);
    int64_t wl_rel = res_scalar("SELECT COALESCE(w.released_at, 0) FROM worklist_specimens w JOIN "
                                "specimens s ON s.id = w.specimen_id WHERE s.accession = ?",
                                acc);
    assert_int_equal(wl_open, res_scalar("SELECT COUNT(*) FROM order_tests ot JOIN specimens s"
                                         " ON s.id = ot.specimen_id WHERE s.accession = ?"
                                         " AND ot.status IN ('ordered', 'in-progress')",
                                         acc));
    assert_int_equal(wl_review, res_scalar("SELECT COUNT(*) FROM order_tests ot JOIN specimens s"
                                           " ON s.id = ot.specimen_id WHERE s.accession = ?"
                                           " AND ot.status = 'resulted'",
                                           acc));
    assert_int_equal(wl_rel, res_scalar("SELECT COALESCE(MAX(r.released_at), 0) FROM order_tests"
                                        " ot JOIN results r ON r.order_test_id = ot.id JOIN"
                                        " specimens s ON s.id = ot.specimen_id WHERE"
                                        " s.accession = ? AND ot.status = 'released'",
                                        acc));
    char stage[16], again[16];
    res_text("SELECT COALESCE(w.open_stage, '') FROM worklist_specimens w JOIN specimens s"
             " ON s.id = w.specimen_id WHERE s.accession = ?",
             acc, NULL, stage, sizeof(stage));
    res_text("SELECT CASE status WHEN 'pending' THEN 'to-collect' WHEN 'collected' THEN"
             " 'to-receive' WHEN 'rejected' THEN '' ELSE 'in-progress' END FROM specimens"
             " WHERE accession = ?",
             acc, NULL, again, sizeof(again));
    assert_string_equal(stage, again);
    /* its place: the order's priority rank, since when it waits */
    assert_int_equal(res_scalar("SELECT w.rnk - CASE o.priority WHEN 'stat' THEN 0 WHEN 'asap'"
                                " THEN 1 ELSE 2 END FROM worklist_specimens w JOIN specimens s"
                                " ON s.id = w.specimen_id JOIN orders o ON o.id = s.order_id"
                                " WHERE s.accession = ?",
                                acc),
                     0);
    assert_int_equal(res_scalar("SELECT w.since - COALESCE(s.received_at, s.collected_at,"
                                " s.created_at) FROM worklist_specimens w JOIN specimens s"
                                " ON s.id = w.specimen_id WHERE s.accession = ?",
                                acc),
                     0);
    assert_int_equal(wl_open, open);
    assert_int_equal(wl_review, review);
    assert_int_equal(wl_rel != 0, released);
}

/* The state put wrong on purpose really is wrong before it is touched. */
static void res_wl_check_broken(const char *acc)
{
    assert_int_equal(res_scalar("SELECT w.open_tests FROM worklist_specimens w JOIN specimens s"
                                " ON s.id = w.specimen_id WHERE s.accession = ?",
                                acc),
                     7);
}

static void test_worklist_state(void **state)
{
    (void)state;
    patient p;
    char acc[ACCESSION_LEN + 1], acc2[ACCESSION_LEN + 1], k[ID_LEN + 1], na[ID_LEN + 1];
    errinfo ei = {0};
    json_t *o = NULL;
    json_error_t je;
    res_patient("female", NULL, &p);

    /* ordered: two tests to do */
    res_specimen(&p, "[\"K\", \"NA\"]", 0, NULL, acc);
    res_wl_check(acc, 2, 0, false);
    /* collected, received: still to do, the specimen's status places it */
    assert_int_equal(res_event(acc, "{\"event\":\"collected\"}", &ei), ERR_OK);
    res_wl_check(acc, 2, 0, false);
    assert_int_equal(res_event(acc, "{\"event\":\"received\"}", &ei), ERR_OK);
    res_wl_check(acc, 2, 0, false);
    /* resulted: K high waits for review, NA normal is released at once */
    res_enter1(acc, "K", "5.6", k);
    assert_string_equal(res_col(k, "status"), "review");
    res_wl_check(acc, 1, 1, false);
    res_enter1(acc, "NA", "140", na);
    assert_string_equal(res_col(na, "status"), "released");
    res_wl_check(acc, 0, 1, true);
    assert_int_equal(res_scalar("SELECT w.released_at FROM worklist_specimens w JOIN specimens s "
                                "ON s.id = w.specimen_id WHERE s.accession = ?",
                                acc),
                     res_col_int(na, "released_at"));
    /* released by hand: nothing left to do or review */
    assert_int_equal(res_release(RES_PW, NULL, &ei, k, NULL), ERR_OK);
    res_wl_check(acc, 0, 0, true);
    assert_int_equal(res_scalar("SELECT w.released_at FROM worklist_specimens w JOIN specimens s "
                                "ON s.id = w.specimen_id WHERE s.accession = ?",
                                acc),
                     res_col_int(k, "released_at"));
    /* corrected: the test stays released, the state with it */
    assert_int_equal(
        res_correct(k, "{\"value\":4.1,\"reason\":\"wrong sample\",\"password\":\"" RES_PW "\"}",
                    NULL, &ei),
        ERR_OK);
    res_wl_check(acc, 0, 0, true);

    /* rejected with a test in review and one to do: the one to do is
     * cancelled and ordered again on the recollection */
    res_specimen(&p, "[\"K\", \"NA\"]", 2, NULL, acc2);
    res_enter1(acc2, "K", "5.6", k);
    res_wl_check(acc2, 1, 1, false);
    json_t *rb = json_loads("{\"reason\":\"hemolyzed\"}", 0, &je);
    assert_int_equal(custody_reject(res_db, &res_sys, acc2, rb, &o, &ei), ERR_OK);
    json_decref(rb);
    const char *racc =
        json_string_value(json_object_get(json_object_get(o, "recollection"), "accession"));
    res_wl_check(acc2, 0, 1, false);
    res_wl_check(racc, 1, 0, false);
    json_decref(o);

    /* the state put wrong on purpose is put right by the next touch */
    char sid[ID_LEN + 1];
    res_text("SELECT id FROM specimens WHERE accession = ?", acc, NULL, sid, sizeof(sid));
    assert_int_equal(db_run(res_db, &ei, NULL,
                            "UPDATE worklist_specimens SET open_tests = 7, review_tests = 3,"
                            " released_at = NULL WHERE specimen_id = ?",
                            "t", sid),
                     ERR_OK);
    res_wl_check_broken(acc);
    assert_int_equal(worklist_touch(res_db, sid, &ei), ERR_OK);
    res_wl_check(acc, 0, 0, true);
}

/* ------------------------------------------------------------------ setup */

static int res_setup(void **state)
{
    (void)state;
    errinfo ei = {0};
    if (!testdb_pick("results", res_url, sizeof(res_url), res_tmp, sizeof(res_tmp)))
        return -1;
    testdb_suffix(res_sfx, 10, true);
    if (!testdb_open(res_url, &res_sys, &res_db))
        return -1;
    snprintf(res_username, sizeof(res_username), "res-%s", res_sfx);
    if (user_create(res_db, &res_sys, res_username, "Results Signer", "supervisor", RES_PW,
                    &res_user, &ei)) {
        fprintf(stderr, "user_create: %s\n", ei.message);
        return -1;
    }
    res_ctx.actor_id = res_user.id;
    res_ctx.actor = res_user.username;
    res_ctx.source = "test";
    return 0;
}

static int res_teardown(void **state)
{
    (void)state;
    testdb_close(res_db, res_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_numeric),
        cmocka_unit_test(test_flags_by_sex),
        cmocka_unit_test(test_flags_age_at_collection),
        cmocka_unit_test(test_flags_coded_and_text),
        cmocka_unit_test(test_value_rounded_to_decimals),
        cmocka_unit_test(test_value_beyond_any_scale),
        cmocka_unit_test(test_enter_refusals),
        cmocka_unit_test(test_enter_coded_not_in_list),
        cmocka_unit_test(test_enter_specimen_state),
        cmocka_unit_test(test_auto_release),
        cmocka_unit_test(test_auto_review_reasons),
        cmocka_unit_test(test_review_queue_limit),
        cmocka_unit_test(test_delta_check),
        cmocka_unit_test(test_critical_value),
        cmocka_unit_test(test_critical_call_time),
        cmocka_unit_test(test_manual_release),
        cmocka_unit_test(test_correction),
        cmocka_unit_test(test_gate_stability),
        cmocka_unit_test(test_gate_rejected_after_entry),
        cmocka_unit_test(test_worklist_state),
    };
    return cmocka_run_group_tests_name(testdb_group("results"), tests, res_setup, res_teardown);
}
