/*
 * test_care.c - people and care (src/care/). First with no database: dates
 * a number of months on (the end of a month), when a competency assessment
 * is due again (six months in the first year, then yearly) and whether it
 * is satisfactory. Then on a real database: certifications and assessments
 * refused for bad input with nothing written, the release gate's
 * competency check for a person releasing and for automatic release by the
 * operator of record, the renewal that restores the privilege, reminders;
 * the live events of NEWS2 alerts and doses above their reference level.
 *
 * The database suite runs on BENCHSIDE_TEST_DB (a PostgreSQL database that
 * may be reused between runs) or a temporary SQLite file; names carry a
 * random suffix made once per run.
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

#include "auth/user.h"
#include "base/time.h"
#include "care/appt.h"
#include "care/care.h"
#include "care/competency.h"
#include "care/document.h"
#include "care/procedure.h"
#include "care/steril.h"
#include "care/training.h"
#include "care/vitals.h"
#include "equip/asset.h"
#include "lab/gate.h"
#include "lab/instrument.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "lab/result.h"
#include "lab/custody.h"
#include "base/evbus.h"
#include "testdb.h"

#define CARE_PW  "correct horse battery"
#define CARE_DAY (86400LL * 1000000LL)

/* ------------------------------------------------------------------ dates */

static void assert_months(const char *date, int months, const char *want)
{
    char out[11];
    assert_true(care_date_add_months(date, months, out));
    assert_string_equal(out, want);
}

static void test_date_add_months(void **state)
{
    (void)state;
    assert_months("2025-03-15", 12, "2026-03-15");
    assert_months("2025-12-10", 1, "2026-01-10");
    assert_months("2025-01-10", 6, "2025-07-10");
    /* the end of a month: the last day of the month it lands in */
    assert_months("2025-01-31", 1, "2025-02-28");
    assert_months("2023-08-31", 6, "2024-02-29"); /* a leap year */
    assert_months("2024-08-31", 6, "2025-02-28");
    assert_months("2025-05-31", 1, "2025-06-30");
    assert_months("2024-02-29", 24, "2026-02-28");
    /* backwards */
    assert_months("2025-03-31", -1, "2025-02-28");
    assert_months("2025-01-15", -1, "2024-12-15");
    char out[11];
    assert_false(care_date_add_months("2025-02-30", 1, out));
    assert_false(care_date_add_months("soon", 1, out));
    assert_int_equal(care_date_diff("2025-01-01", "2025-03-01"), 59);
    assert_int_equal(care_date_diff("2024-01-01", "2024-03-01"), 60);
    assert_int_equal(care_date_diff("2025-03-01", "2025-01-01"), -59);
}

/* A new technician's year: assessed when they start, at six months, at a
 * year, then yearly. */
static void test_competency_due(void **state)
{
    (void)state;
    char due[11];
    /* the first assessment: first year, due at six months */
    assert_true(care_competency_first_year(NULL, "2025-01-10"));
    assert_true(care_competency_due("2025-01-10", true, due));
    assert_string_equal(due, "2025-07-10");
    /* at six months: still the first year, due at twelve */
    assert_true(care_competency_first_year("2025-01-10", "2025-07-08"));
    assert_true(care_competency_due("2025-07-08", true, due));
    assert_string_equal(due, "2026-01-08");
    /* the day before the anniversary is still in the first year */
    assert_true(care_competency_first_year("2025-01-10", "2026-01-09"));
    /* at a year: no longer, due a year later */
    assert_false(care_competency_first_year("2025-01-10", "2026-01-10"));
    assert_true(care_competency_due("2026-01-10", false, due));
    assert_string_equal(due, "2027-01-10");
    assert_false(care_competency_first_year("2025-01-10", "2028-05-02"));
    /* an assessment recorded with an earlier date than the first one known is the first */
    assert_true(care_competency_first_year("2025-01-10", "2024-12-01"));
    /* started at the end of August: due at the end of February */
    assert_true(care_competency_due("2025-08-31", true, due));
    assert_string_equal(due, "2026-02-28");
    assert_false(care_competency_due("31/08/2025", true, due));
}

static void test_competency_satisfactory(void **state)
{
    (void)state;
    const char *all[6] = {"met", "met", "met", "met", "met", "met"};
    assert_true(care_competency_satisfactory(all));
    /* no maintenance on a manual method, no blind samples this round */
    const char *na[6] = {"met", "met", "met", "not-applicable", "not-applicable", "met"};
    assert_true(care_competency_satisfactory(na));
    const char *one[6] = {"met", "met", "met", "met", "not-met", "met"};
    assert_false(care_competency_satisfactory(one));
    /* routine testing is always observed */
    const char *unobserved[6] = {"not-applicable", "met", "met", "met", "met", "met"};
    assert_false(care_competency_satisfactory(unobserved));
    const char *missing[6] = {"met", NULL, "met", "met", "met", "met"};
    assert_false(care_competency_satisfactory(missing));
    assert_true(care_cert_kind_valid("ASCP"));
    assert_true(care_cert_kind_valid("state-licence"));
    assert_false(care_cert_kind_valid("ascp"));
    assert_false(care_cert_kind_valid(NULL));
}

/* ------------------------------------------------------------- on record */

static db *care_db;
static char care_url[512], care_tmp[256], care_sfx[11];
static user care_sup, care_tech, care_tech2;
static audit_ctx care_ctx; /* acts as care_sup */
static const audit_ctx care_sys = {NULL, "test", "test"};

static int64_t care_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = -1;
    err_t rc = testdb_scalar(care_db, sql, arg, &v, &ei);
    if (rc && rc != ERR_NOT_FOUND)
        fail_msg("%s: %s", sql, ei.message);
    return rc ? -1 : v;
}

static int64_t care_head(void)
{
    return care_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

static json_t *care_parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

/* YYYY-MM-DD of today plus days (UTC). */
static const char *day_of(int days)
{
    static char out[32][11];
    static int k;
    char *d = out[k++ % 32];
    time_format_date(time_now_us() + days * CARE_DAY, d);
    return d;
}

/* A domain call on a body written as text; the answer into *out (may be NULL). */
typedef err_t (*care_call)(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei);

static err_t care_do(care_call fn, const char *text, json_t **out, errinfo *ei)
{
    json_t *b = care_parse(text), *o = NULL;
    err_clear(ei);
    err_t rc = fn(care_db, &care_ctx, b, &o, ei);
    json_decref(b);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

/* The same, expected to be refused with code naming field, writing nothing. */
static void care_refused(care_call fn, const char *text, err_t code, const char *field)
{
    errinfo ei;
    int64_t head = care_head();
    err_t rc = care_do(fn, text, NULL, &ei);
    if (rc != code || strcmp(ei.field, field))
        fail_msg("%s: got %s [%s] %s, want %s [%s]", text, err_name(rc), ei.field, ei.message,
                 err_name(code), field);
    assert_true(ei.message[0]);
    assert_int_equal(care_head(), head);
}

/* A monitor's set from source refused with code naming field, the message
 * saying what, nothing written. */
static void care_refused_as(audit_ctx ctx, const char *text, const char *source, err_t code,
                            const char *field, const char *what)
{
    errinfo ei = {0};
    json_t *b = care_parse(text), *o = NULL;
    int64_t head = care_head();
    err_t rc = care_vitals_monitor(care_db, &ctx, source, b, &o, &ei);
    json_decref(b);
    json_decref(o);
    if (rc != code || strcmp(ei.field, field) || !strstr(ei.message, what))
        fail_msg("%s: got %s [%s] %s", text, err_name(rc), ei.field, ei.message);
    assert_int_equal(care_head(), head);
}

static err_t care_assess(const json_t *body, json_t **out, errinfo *ei)
{
    return care_assessment_create(care_db, &care_ctx, &care_sup, body, out, ei);
}

/* An assessment of who on system dated on, all elements met unless failed
 * names one not met. */
static void care_assess_ok(const char *who, const char *system, const char *on, const char *failed,
                           json_t **out)
{
    char text[800];
    errinfo ei = {0};
    snprintf(text, sizeof(text),
             "{\"user\":\"%s\",\"system\":\"%s\",\"assessed_on\":\"%s\",\"password\":\"%s\","
             "\"elements\":{\"direct_observation\":\"met\",\"monitoring_records\":\"met\","
             "\"review_worksheets\":\"met\",\"maintenance_observation\":\"met\","
             "\"blind_samples\":\"%s\",\"problem_solving\":\"met\"}}",
             who, system, on, CARE_PW, failed ? "not-met" : "met");
    json_t *b = care_parse(text), *o = NULL;
    err_t rc = care_assess(b, &o, &ei);
    json_decref(b);
    if (rc)
        fail_msg("assessment: %s [%s] %s", err_name(rc), ei.field, ei.message);
    if (out)
        *out = o;
    else
        json_decref(o);
}

/* A new HL7 analyzer named after the run, its name into name. */
static void care_analyzer(const char *prefix, char *name, size_t n)
{
    static int k;
    errinfo ei = {0};
    int count = 0;
    char text[400];
    snprintf(name, n, "%s-%d-%s", prefix, ++k, care_sfx);
    snprintf(text, sizeof(text),
             "{\"instruments\":[{\"name\":\"%s\",\"kind\":\"analyzer\",\"protocol\":\"hl7\","
             "\"match\":{\"application\":\"APP-%s\"}}]}",
             name, name);
    json_t *doc = care_parse(text);
    if (instrument_import(care_db, &care_sys, doc, &count, &ei))
        fail_msg("instrument_import: %s", ei.message);
    json_decref(doc);
}

/* A received glucose specimen of a new patient; its accession into acc. */
static void care_specimen(char acc[32])
{
    static int k;
    errinfo ei = {0};
    patient p;
    json_t *cand = NULL, *o = NULL;
    char text[300];
    k++;
    snprintf(text, sizeof(text),
             "{\"mrn\":\"C%d-%s\",\"family\":\"Care%d%s\",\"given\":\"Pat\","
             "\"birth_date\":\"1970-05-05\",\"sex\":\"female\",\"confirm_new\":true}",
             k, care_sfx, k, care_sfx);
    json_t *b = care_parse(text);
    assert_int_equal(patient_create(care_db, &care_sys, b, &p, &cand, &ei), ERR_OK);
    json_decref(b);
    b = json_pack("{s:s,s:[s],s:s,s:s,s:[s]}", "patient_id", p.id, "tests", "GLU", "priority",
                  "routine", "clinician", "Dr. C. Are", "reasons", "R73.09");
    assert_int_equal(order_create(care_db, &care_sys, b, &o, &ei), ERR_OK);
    json_decref(b);
    snprintf(acc, 32, "%s",
             jsonv_str(json_array_get(json_object_get(o, "specimens"), 0), "accession"));
    json_decref(o);
    const char *events[] = {"{\"event\":\"collected\"}", "{\"event\":\"received\"}"};
    for (int i = 0; i < 2; i++) {
        b = care_parse(events[i]);
        assert_int_equal(custody_record(care_db, &care_sys, acc, b, &o, &ei), ERR_OK);
        json_decref(b);
        json_decref(o);
    }
}

/* A normal glucose from inst entered as ctx (an interface when it is
 * care_sys); the result's id and status into id and status. */
static void care_result(const audit_ctx *ctx, const char *inst, char id[ID_LEN + 1],
                        char status[16])
{
    char acc[32], text[200];
    errinfo ei = {0};
    json_t *o = NULL;
    care_specimen(acc);
    snprintf(text, sizeof(text),
             "{\"results\":[{\"code\":\"GLU\",\"value\":88,\"instrument\":\"%s\"}]}", inst);
    json_t *b = care_parse(text);
    err_t rc = result_enter(care_db, ctx, acc, b, &o, &ei);
    if (rc)
        fail_msg("result_enter: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_decref(b);
    json_t *r = json_array_get(json_object_get(o, "results"), 0);
    snprintf(id, ID_LEN + 1, "%s", jsonv_str(r, "id"));
    snprintf(status, 16, "%s", jsonv_str(r, "status"));
    json_decref(o);
}

/* The gate's competency message for id released by user_id (NULL: automatic),
 * "" when it does not hold it. */
static const char *care_gate(const char *id, const char *user_id)
{
    static char msg[512];
    json_t *reasons = NULL, *r;
    errinfo ei = {0};
    size_t i;
    assert_int_equal(
        gate_check(care_db, id, user_id ? GATE_MANUAL : GATE_AUTO, user_id, &reasons, &ei), ERR_OK);
    msg[0] = '\0';
    json_array_foreach(reasons, i, r)
    {
        if (!strcmp(jsonv_str(r, "code"), "competency"))
            snprintf(msg, sizeof(msg), "%s", jsonv_str(r, "message"));
    }
    json_decref(reasons);
    return msg;
}

static const char *care_status(const char *id)
{
    static char status[16];
    db_stmt *st = NULL;
    bool row = false;
    errinfo ei = {0};
    assert_int_equal(
        db_query(care_db, &st, &ei, "SELECT status FROM results WHERE id = ?", "t", id), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    snprintf(status, sizeof(status), "%s", db_col_text(st, 0));
    db_finalize(st);
    return status;
}

static void test_certification_refusals(void **state)
{
    (void)state;
    char text[400];
    json_t *c = NULL;
    errinfo ei;
    const char *u = care_tech.username;
    int64_t before = care_scalar("SELECT COUNT(*) FROM care_certifications", NULL);
    struct {
        const char *kind, *issued, *expires, *field;
        err_t code;
    } bad[] = {
        {"ASCP", day_of(-800), day_of(-70), "expires_on", ERR_INVALID}, /* expired */
        {"ascp", day_of(-30), day_of(700), "kind", ERR_INVALID},
        {"ASCP", day_of(3), day_of(700), "issued_on", ERR_INVALID}, /* not yet issued */
        {"BLS", day_of(-30), day_of(-30), "expires_on", ERR_INVALID},
        {"BLS", "2025-02-30", day_of(700), "issued_on", ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text),
                 "{\"user\":\"%s\",\"kind\":\"%s\",\"number\":\"MT-1\",\"issuer\":\"ASCP BOC\","
                 "\"issued_on\":\"%s\",\"expires_on\":\"%s\"}",
                 u, bad[i].kind, bad[i].issued, bad[i].expires);
        care_refused(care_cert_create, text, bad[i].code, bad[i].field);
    }
    care_refused(care_cert_create,
                 "{\"user\":\"nobody-at-all\",\"kind\":\"BLS\",\"number\":\"1\",\"issuer\":\"AHA\","
                 "\"issued_on\":\"2025-01-01\",\"expires_on\":\"2099-01-01\"}",
                 ERR_INVALID, "user");
    care_refused(care_cert_create,
                 "{\"user\":\"x\",\"kind\":\"BLS\",\"number\":\"1\",\"issuer\":\"AHA\","
                 "\"issued_on\":\"2025-01-01\"}",
                 ERR_MISSING_FIELD, "expires_on");
    assert_int_equal(care_scalar("SELECT COUNT(*) FROM care_certifications", NULL), before);
    /* a valid one: recorded, audited, valid today */
    int64_t head = care_head();
    snprintf(text, sizeof(text),
             "{\"user\":\"%s\",\"kind\":\"BLS\",\"number\":\"AHA-77\",\"issuer\":\"American "
             "Heart Association\",\"issued_on\":\"%s\",\"expires_on\":\"%s\"}",
             u, day_of(-100), day_of(630));
    assert_int_equal(care_do(care_cert_create, text, &c, &ei), ERR_OK);
    assert_string_equal(jsonv_str(c, "kind"), "BLS");
    assert_string_equal(jsonv_str(c, "user"), u);
    assert_true(json_is_true(json_object_get(c, "valid")));
    assert_string_equal(jsonv_str(c, "recorded_by"), care_sup.username);
    assert_int_equal(care_head(), head + 1);
    json_decref(c);
}

static void test_assessment_refusals(void **state)
{
    (void)state;
    char inst[64], text[900];
    json_t *o = NULL;
    errinfo ei;
    care_analyzer("REF", inst, sizeof(inst));
    care_refused(care_system_create,
                 "{\"code\":\"NO-SUCH-ANALYZER\",\"kind\":\"instrument\",\"name\":\"x\"}",
                 ERR_INVALID, "code");
    care_refused(care_system_create, "{\"code\":\"blender\",\"kind\":\"class\",\"name\":\"x\"}",
                 ERR_INVALID, "code");
    care_refused(care_system_create, "{\"code\":\"GLU\",\"kind\":\"bench\",\"name\":\"x\"}",
                 ERR_INVALID, "kind");
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"instrument\",\"name\":\"Chemistry\","
             "\"certification\":\"MLS\"}",
             inst);
    care_refused(care_system_create, text, ERR_INVALID, "certification");
    snprintf(text, sizeof(text), "{\"code\":\"%s\",\"kind\":\"instrument\",\"name\":\"Chemistry\"}",
             inst);
    assert_int_equal(care_do(care_system_create, text, &o, &ei), ERR_OK);
    assert_true(json_is_null(json_object_get(o, "certification")));
    json_decref(o);
    care_refused(care_system_create, text, ERR_CONFLICT, "code");

    int64_t before = care_scalar("SELECT COUNT(*) FROM care_assessments", NULL);
    static const struct {
        const char *who, *system, *on, *el, *password, *field;
        err_t code;
    } bad[] = {
        {NULL, "SYS", "TODAY", "met", CARE_PW, "user", ERR_INVALID}, /* oneself */
        {"T", "SYS", "TODAY", "met", "wrong password!", "password", ERR_INVALID},
        {"T", "SYS", "TODAY", "passed", CARE_PW, "elements.blind_samples", ERR_INVALID},
        {"T", "NO-SUCH", "TODAY", "met", CARE_PW, "system", ERR_INVALID},
        {"T", "SYS", "FUTURE", "met", CARE_PW, "assessed_on", ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *who = !bad[i].who ? care_sup.username : care_tech.username;
        const char *system = !strcmp(bad[i].system, "SYS") ? inst : bad[i].system;
        const char *on = !strcmp(bad[i].on, "TODAY") ? day_of(0) : day_of(2);
        snprintf(text, sizeof(text),
                 "{\"user\":\"%s\",\"system\":\"%s\",\"assessed_on\":\"%s\",\"password\":\"%s\","
                 "\"elements\":{\"direct_observation\":\"met\",\"monitoring_records\":\"met\","
                 "\"review_worksheets\":\"met\",\"maintenance_observation\":\"met\","
                 "\"blind_samples\":\"%s\",\"problem_solving\":\"met\"}}",
                 who, system, on, bad[i].password, bad[i].el);
        json_t *b = care_parse(text);
        int64_t head = care_head();
        err_clear(&ei);
        err_t rc = care_assess(b, &o, &ei);
        json_decref(b);
        if (rc != bad[i].code || strcmp(ei.field, bad[i].field))
            fail_msg("case %zu: %s [%s] %s", i, err_name(rc), ei.field, ei.message);
        /* a wrong password is audited as a failed signature, nothing else */
        assert_int_equal(care_head(), head + (!strcmp(bad[i].field, "password") ? 1 : 0));
    }
    /* routine testing cannot be left out, and an element cannot be missing */
    snprintf(text, sizeof(text),
             "{\"user\":\"%s\",\"system\":\"%s\",\"assessed_on\":\"%s\",\"password\":\"%s\","
             "\"elements\":{\"direct_observation\":\"not-applicable\",\"monitoring_records\":"
             "\"met\",\"review_worksheets\":\"met\",\"maintenance_observation\":\"met\","
             "\"blind_samples\":\"met\",\"problem_solving\":\"met\"}}",
             care_tech.username, inst, day_of(0), CARE_PW);
    json_t *b = care_parse(text);
    assert_int_equal(care_assess(b, &o, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "elements.direct_observation");
    json_object_del(json_object_get(b, "elements"), "problem_solving");
    json_object_set_new(json_object_get(b, "elements"), "direct_observation", json_string("met"));
    assert_int_equal(care_assess(b, &o, &ei), ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "elements.problem_solving");
    json_decref(b);
    assert_int_equal(care_scalar("SELECT COUNT(*) FROM care_assessments", NULL), before);
}

/* The story on the record: a technician's competency expired, the
 * gate says so; a renewal restores the privilege; a system's certification
 * is needed as well. */
static void test_gate_manual_release(void **state)
{
    (void)state;
    char inst[64], text[400], id[ID_LEN + 1], status[16], want[400];
    json_t *o = NULL;
    errinfo ei;
    care_analyzer("MAN", inst, sizeof(inst));
    /* outside the program: competence is not asked, the result is released */
    care_result(&care_sys, inst, id, status);
    assert_string_equal(status, "released");
    assert_string_equal(care_gate(id, care_tech.id), "");
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"instrument\",\"name\":\"Chemistry\","
             "\"certification\":\"ASCP\"}",
             inst);
    assert_int_equal(care_do(care_system_create, text, NULL, &ei), ERR_OK);
    /* in it, a result from the interface with no operator waits for a person */
    care_result(&care_sys, inst, id, status);
    assert_string_equal(status, "review");
    snprintf(want, sizeof(want), "%s is not competent: no competency assessment on record for %s",
             care_tech.username, inst);
    assert_string_equal(care_gate(id, care_tech.id), want);

    /* assessed 400 days ago as a new hire: due after six months, expired */
    const char *old = day_of(-400);
    char due[11];
    care_assess_ok(care_tech.username, inst, old, NULL, &o);
    assert_string_equal(jsonv_str(o, "result"), "satisfactory");
    assert_true(json_is_true(json_object_get(o, "first_year")));
    assert_true(care_date_add_months(old, 6, due));
    assert_string_equal(jsonv_str(o, "due_on"), due);
    assert_string_equal(jsonv_str(o, "assessor"), care_sup.username);
    json_decref(o);
    snprintf(want, sizeof(want),
             "%s is not competent: competency for %s expired: assessed %s, "
             "due again by %s",
             care_tech.username, inst, old, due);
    assert_string_equal(care_gate(id, care_tech.id), want);
    /* the release is refused and says who lacked what */
    json_t *b = json_pack("{s:[s],s:s}", "ids", id, "password", CARE_PW);
    assert_int_equal(result_release(care_db, &care_ctx, &care_tech, b, &o, &ei), ERR_CONFLICT);
    json_t *held = json_array_get(json_object_get(o, "held"), 0);
    assert_string_equal(jsonv_str(json_array_get(json_object_get(held, "reasons"), 0), "code"),
                        "competency");
    json_decref(o);
    assert_string_equal(care_status(id), "review");

    /* renewed today (a year on from the first: due in a year); the ASCP
     * certification the system requires is missing */
    care_assess_ok(care_tech.username, inst, day_of(0), NULL, &o);
    assert_false(json_is_true(json_object_get(o, "first_year")));
    assert_true(care_date_add_months(day_of(0), 12, due));
    assert_string_equal(jsonv_str(o, "due_on"), due);
    json_decref(o);
    snprintf(want, sizeof(want),
             "%s is not competent: holds no ASCP certification, which %s "
             "requires",
             care_tech.username, inst);
    assert_string_equal(care_gate(id, care_tech.id), want);
    snprintf(text, sizeof(text),
             "{\"user\":\"%s\",\"kind\":\"ASCP\",\"number\":\"MLS-%s\",\"issuer\":\"ASCP BOC\","
             "\"issued_on\":\"%s\",\"expires_on\":\"%s\"}",
             care_tech.username, care_sfx, day_of(-900), day_of(200));
    assert_int_equal(care_do(care_cert_create, text, NULL, &ei), ERR_OK);
    assert_string_equal(care_gate(id, care_tech.id), "");
    assert_int_equal(result_release(care_db, &care_ctx, &care_tech, b, &o, &ei), ERR_OK);
    json_decref(o);
    json_decref(b);
    assert_string_equal(care_status(id), "released");

    /* the certification lapses (its row aged by hand): the privilege goes */
    care_result(&care_sys, inst, id, status);
    char number[40];
    snprintf(number, sizeof(number), "MLS-%s", care_sfx);
    assert_int_equal(db_run(care_db, &ei, NULL,
                            "UPDATE care_certifications SET expires_on = ? WHERE number = ?", "tt",
                            day_of(-1), number),
                     ERR_OK);
    snprintf(want, sizeof(want),
             "%s is not competent: the ASCP certification %s requires expired "
             "on %s",
             care_tech.username, inst, day_of(-1));
    assert_string_equal(care_gate(id, care_tech.id), want);

    /* an unsatisfactory assessment removes it too (care_tech2, with ASCP) */
    snprintf(text, sizeof(text),
             "{\"user\":\"%s\",\"kind\":\"ASCP\",\"number\":\"MLT-%s\",\"issuer\":\"ASCP BOC\","
             "\"issued_on\":\"%s\",\"expires_on\":\"%s\"}",
             care_tech2.username, care_sfx, day_of(-10), day_of(1000));
    assert_int_equal(care_do(care_cert_create, text, NULL, &ei), ERR_OK);
    care_assess_ok(care_tech2.username, inst, day_of(-30), NULL, NULL);
    assert_string_equal(care_gate(id, care_tech2.id), "");
    care_assess_ok(care_tech2.username, inst, day_of(0), "blind_samples", &o);
    assert_string_equal(jsonv_str(o, "result"), "unsatisfactory");
    assert_string_equal(jsonv_str(o, "due_on"), day_of(0));
    json_decref(o);
    snprintf(want, sizeof(want),
             "%s is not competent: the competency assessment for %s of %s was "
             "unsatisfactory",
             care_tech2.username, inst, day_of(0));
    assert_string_equal(care_gate(id, care_tech2.id), want);
}

/* Automatic release asks about the operator of record. */
static void test_gate_operator_of_record(void **state)
{
    (void)state;
    char inst[64], text[400], id[ID_LEN + 1], status[16], want[400];
    json_t *o = NULL;
    errinfo ei;
    care_analyzer("OPR", inst, sizeof(inst));
    snprintf(text, sizeof(text), "{\"code\":\"%s\",\"kind\":\"instrument\",\"name\":\"Chem\"}",
             inst);
    assert_int_equal(care_do(care_system_create, text, NULL, &ei), ERR_OK);
    care_assess_ok(care_tech.username, inst, day_of(-10), NULL, NULL);

    /* from the interface, no one signed on: held */
    care_result(&care_sys, inst, id, status);
    assert_string_equal(status, "review");
    snprintf(want, sizeof(want),
             "no operator of record was signed on to %s when the result was measured", inst);
    assert_string_equal(care_gate(id, NULL), want);

    /* the competent technician signs on: the next result is released */
    snprintf(text, sizeof(text), "{\"instrument\":\"%s\"}", inst);
    json_t *b = care_parse(text);
    audit_ctx tech_ctx = {care_tech.id, care_tech.username, "test"};
    assert_int_equal(care_operator_sign_on(care_db, &tech_ctx, &care_tech, false, b, &o, &ei),
                     ERR_OK);
    assert_true(json_is_true(json_object_get(o, "competent")));
    assert_string_equal(jsonv_str(o, "user"), care_tech.username);
    json_decref(o);
    char id2[ID_LEN + 1];
    care_result(&care_sys, inst, id2, status);
    assert_string_equal(status, "released");
    /* the earlier result keeps its hold: no one ran it */
    assert_string_equal(care_status(id), "review");

    /* a technician may not sign someone else on; a supervisor may */
    json_object_set_new(b, "user", json_string(care_tech2.username));
    assert_int_equal(care_operator_sign_on(care_db, &tech_ctx, &care_tech, false, b, &o, &ei),
                     ERR_FORBIDDEN);
    assert_string_equal(ei.field, "user");
    assert_int_equal(care_operator_sign_on(care_db, &care_ctx, &care_sup, true, b, &o, &ei),
                     ERR_OK);
    /* care_tech2 has no assessment on it: not competent, said at sign-on */
    assert_false(json_is_true(json_object_get(o, "competent")));
    json_decref(o);
    json_decref(b);
    care_result(&care_sys, inst, id2, status);
    assert_string_equal(status, "review");
    snprintf(want, sizeof(want),
             "the operator of record %s is not competent: no competency assessment on record "
             "for %s",
             care_tech2.username, inst);
    assert_string_equal(care_gate(id2, NULL), want);
    /* assessed now: the held result is released at once */
    care_assess_ok(care_tech2.username, inst, day_of(0), NULL, NULL);
    assert_string_equal(care_status(id2), "released");
    assert_string_equal(care_status(id), "review");

    /* the list of operators; sign-off, and again is a conflict */
    assert_int_equal(care_operator_list(care_db, &o, &ei), ERR_OK);
    size_t i;
    json_t *row;
    bool seen = false;
    json_array_foreach(o, i, row)
    {
        if (!strcmp(jsonv_str(row, "instrument"), inst)) {
            assert_string_equal(jsonv_str(row, "user"), care_tech2.username);
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(o);
    assert_int_equal(care_operator_sign_off(care_db, &care_ctx, inst, &ei), ERR_OK);
    assert_int_equal(care_operator_sign_off(care_db, &care_ctx, inst, &ei), ERR_CONFLICT);
    care_result(&care_sys, inst, id2, status);
    assert_string_equal(status, "review");
    /* entered by a person with no one signed on: that person is the operator */
    audit_ctx by_tech = {care_tech.id, care_tech.username, "test"};
    care_result(&by_tech, inst, id2, status);
    assert_string_equal(status, "released");
}

static void test_reminders_and_record(void **state)
{
    (void)state;
    char inst[64], text[400], name[64];
    json_t *o = NULL, *row;
    errinfo ei;
    size_t i;
    user u;
    snprintf(name, sizeof(name), "rem-%s", care_sfx);
    assert_int_equal(
        user_create(care_db, &care_sys, name, "Reminder Tech", "technician", CARE_PW, &u, &ei),
        ERR_OK);
    care_analyzer("REM", inst, sizeof(inst));
    snprintf(text, sizeof(text), "{\"code\":\"%s\",\"kind\":\"instrument\",\"name\":\"Coag\"}",
             inst);
    assert_int_equal(care_do(care_system_create, text, NULL, &ei), ERR_OK);
    /* BLS expiring in 10 days; competency assessed 170 days ago in the first year */
    snprintf(text, sizeof(text),
             "{\"user\":\"%s\",\"kind\":\"BLS\",\"number\":\"B-%s\",\"issuer\":\"AHA\","
             "\"issued_on\":\"%s\",\"expires_on\":\"%s\"}",
             name, care_sfx, day_of(-720), day_of(10));
    assert_int_equal(care_do(care_cert_create, text, NULL, &ei), ERR_OK);
    care_assess_ok(name, inst, day_of(-170), NULL, NULL);
    char due[11];
    assert_true(care_date_add_months(day_of(-170), 6, due));
    int64_t left = care_date_diff(day_of(0), due);

    assert_int_equal(care_expiring(care_db, 30, &o, &ei), ERR_OK);
    int seen = 0;
    json_array_foreach(o, i, row)
    {
        if (strcmp(jsonv_str(row, "user"), name))
            continue;
        if (!strcmp(jsonv_str(row, "type"), "certification")) {
            assert_string_equal(jsonv_str(row, "what"), "BLS");
            assert_int_equal(json_integer_value(json_object_get(row, "days_left")), 10);
            assert_false(json_is_true(json_object_get(row, "expired")));
        } else {
            assert_string_equal(jsonv_str(row, "what"), inst);
            assert_string_equal(jsonv_str(row, "date"), due);
            assert_int_equal(json_integer_value(json_object_get(row, "days_left")), left);
        }
        seen++;
    }
    assert_int_equal(seen, 2);
    json_decref(o);
    /* within 5 days: neither */
    assert_int_equal(care_expiring(care_db, 5, &o, &ei), ERR_OK);
    json_array_foreach(o, i, row) assert_string_not_equal(jsonv_str(row, "user"), name);
    json_decref(o);
    assert_int_equal(care_expiring(care_db, 400, &o, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "within");

    /* the person's record */
    assert_int_equal(care_staff_get(care_db, name, &o, &ei), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(o, "certifications")), 1);
    assert_int_equal(json_array_size(json_object_get(o, "assessments")), 1);
    bool found = false;
    json_array_foreach(json_object_get(o, "competency"), i, row)
    {
        if (strcmp(jsonv_str(row, "system"), inst))
            continue;
        found = true;
        assert_true(json_is_true(json_object_get(row, "competent")));
        assert_string_equal(jsonv_str(row, "due_on"), due);
        assert_true(json_is_null(json_object_get(row, "reason")));
    }
    assert_true(found);
    json_decref(o);
    assert_int_equal(care_staff_get(care_db, "no-such-person", &o, &ei), ERR_NOT_FOUND);
}

/* ---------------------------------------------------------- vital signs */

/* A new patient; its id into id and MRN into mrn. */
static void care_new_patient(char id[ID_LEN + 1], char mrn[40])
{
    static int k;
    errinfo ei = {0};
    patient p;
    json_t *cand = NULL;
    char text[300];
    k++;
    snprintf(mrn, 40, "V%d-%s", k, care_sfx);
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"family\":\"Vital%d%s\",\"given\":\"Pat\","
             "\"birth_date\":\"1950-02-03\",\"sex\":\"male\",\"confirm_new\":true}",
             mrn, k, care_sfx);
    json_t *b = care_parse(text);
    assert_int_equal(patient_create(care_db, &care_sys, b, &p, &cand, &ei), ERR_OK);
    json_decref(b);
    snprintf(id, ID_LEN + 1, "%s", p.id);
}

static int64_t care_points(const json_t *set, const char *param)
{
    json_t *p =
        json_object_get(json_object_get(json_object_get(set, "news2"), "parameters"), param);
    return p ? json_integer_value(json_object_get(p, "points")) : -1;
}

static int64_t care_score(const json_t *set)
{
    return json_integer_value(json_object_get(json_object_get(set, "news2"), "score"));
}

/* A set by hand as JSON text: systolic 118, 37.9 degrees, the rest given. */
static void vitals_text(char *out, size_t n, const char *pid, const char *rr, const char *spo2,
                        const char *oxygen, const char *pulse, const char *acvpu)
{
    snprintf(out, n,
             "{\"patient_id\":\"%s\",\"respiration_rate\":%s,\"spo2\":%s,\"oxygen\":%s,"
             "\"systolic_bp\":118,\"pulse\":%s,\"acvpu\":\"%s\",\"temperature\":37.9}",
             pid, rr, spo2, oxygen, pulse, acvpu);
}

static void test_vitals_by_hand(void **state)
{
    (void)state;
    char pid[ID_LEN + 1], mrn[40], text[600];
    json_t *o = NULL;
    errinfo ei;
    care_new_patient(pid, mrn);
    /* refused, naming the field, nothing written */
    int64_t before = care_scalar("SELECT COUNT(*) FROM care_vitals", NULL);
    static const struct {
        const char *rr, *spo2, *oxygen, *pulse, *acvpu, *field;
    } bad[] = {
        {"23", "94", "true", "900", "A", "pulse"},
        {"0", "94", "true", "90", "A", "respiration_rate"},
        {"23", "104", "true", "90", "A", "spo2"},
        {"23", "94", "true", "90", "X", "acvpu"},
        {"23", "94", "1", "90", "A", "oxygen"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vitals_text(text, sizeof(text), pid, bad[i].rr, bad[i].spo2, bad[i].oxygen, bad[i].pulse,
                    bad[i].acvpu);
        care_refused(care_vitals_record, text, ERR_INVALID, bad[i].field);
    }
    vitals_text(text, sizeof(text), "NO-SUCH-PATIENT", "23", "94", "true", "90", "A");
    care_refused(care_vitals_record, text, ERR_INVALID, "patient_id");
    care_refused(care_vitals_record,
                 "{\"patient_id\":\"x\",\"respiration_rate\":12,\"spo2\":97,\"oxygen\":false,"
                 "\"systolic_bp\":120,\"pulse\":70,\"acvpu\":\"A\"}",
                 ERR_MISSING_FIELD, "temperature");
    /* the diastolic pressure: a reading, and below the systolic (118) */
    static const char *const bad_dia[] = {"10", "201", "118", "130.2"};
    for (size_t i = 0; i < sizeof(bad_dia) / sizeof(bad_dia[0]); i++) {
        char with[700];
        vitals_text(text, sizeof(text), pid, "23", "94", "true", "90", "A");
        snprintf(with, sizeof(with), "%.*s,\"diastolic_bp\":%s}", (int)strlen(text) - 1, text,
                 bad_dia[i]);
        care_refused(care_vitals_record, with, ERR_INVALID, "diastolic_bp");
    }
    assert_int_equal(care_scalar("SELECT COUNT(*) FROM care_vitals", NULL), before);

    /* pneumonia on oxygen: 2 + 1 + 2 + 0 + 2 + 0 + 0 = 7, high, an alert */
    vitals_text(text, sizeof(text), pid, "23", "94", "true", "112", "A");
    int64_t head = care_head();
    assert_int_equal(care_do(care_vitals_record, text, &o, &ei), ERR_OK);
    assert_int_equal(care_score(o), 7);
    assert_string_equal(jsonv_str(json_object_get(o, "news2"), "band"), "high");
    assert_string_equal(jsonv_str(o, "source"), "hand");
    json_t *alert = json_object_get(o, "alert");
    assert_string_equal(jsonv_str(alert, "reason"), "NEWS2 7 (high)");
    assert_int_equal(care_head(), head + 2); /* the set and its alert */
    char alert_id[ID_LEN + 1];
    snprintf(alert_id, sizeof(alert_id), "%s", jsonv_str(alert, "id"));
    json_decref(o);

    /* well but newly confused: 3 in one parameter raises an alert at 3 */
    vitals_text(text, sizeof(text), pid, "16", "97", "false", "80", "C");
    assert_int_equal(care_do(care_vitals_record, text, &o, &ei), ERR_OK);
    assert_int_equal(care_score(o), 3);
    assert_string_equal(jsonv_str(json_object_get(o, "news2"), "band"), "low-medium");
    assert_string_equal(jsonv_str(json_object_get(o, "alert"), "reason"), "3 points for acvpu (C)");
    json_decref(o);
    /* nothing to say: no alert */
    vitals_text(text, sizeof(text), pid, "16", "97", "false", "80", "A");
    assert_int_equal(care_do(care_vitals_record, text, &o, &ei), ERR_OK);
    assert_int_equal(care_score(o), 0);
    assert_true(json_is_null(json_object_get(o, "alert")));
    assert_true(json_is_null(json_object_get(o, "diastolic_bp")));
    json_decref(o);
    /* with the diastolic, kept whole (72.5 is 73) and not scored */
    char with[700];
    snprintf(with, sizeof(with), "%.*s,\"diastolic_bp\":72.5}", (int)strlen(text) - 1, text);
    assert_int_equal(care_do(care_vitals_record, with, &o, &ei), ERR_OK);
    assert_int_equal(care_score(o), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "diastolic_bp")), 73);
    json_decref(o);

    /* scale 2 prescribed: 97% on oxygen now scores 3 for saturation */
    json_t *b = care_parse("{\"scale\":2,\"reason\":\"COPD with type 2 respiratory failure\"}");
    assert_int_equal(care_spo2_scale_set(care_db, &care_ctx, pid, b, &o, &ei), ERR_OK);
    assert_int_equal(json_integer_value(json_object_get(o, "scale")), 2);
    json_decref(o);
    json_object_set_new(b, "scale", json_integer(3));
    assert_int_equal(care_spo2_scale_set(care_db, &care_ctx, pid, b, &o, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "scale");
    json_decref(b);
    vitals_text(text, sizeof(text), pid, "16", "97", "true", "80", "A");
    assert_int_equal(care_do(care_vitals_record, text, &o, &ei), ERR_OK);
    assert_int_equal(care_points(o, "spo2"), 3);
    assert_int_equal(care_points(o, "oxygen"), 2);
    assert_int_equal(care_score(o), 5);
    json_decref(o);

    /* the patient's record, latest first, on scale 2 */
    assert_int_equal(care_vitals_of(care_db, pid, &o, &ei), ERR_OK);
    assert_int_equal(json_integer_value(json_object_get(o, "spo2_scale")), 2);
    json_t *items = json_object_get(o, "items");
    assert_int_equal(json_array_size(items), 5);
    assert_int_equal(care_score(json_array_get(items, 0)), 5);
    assert_int_equal(care_score(json_array_get(items, 4)), 7);
    json_decref(o);

    /* the alert: listed open, acknowledged once */
    assert_int_equal(care_news2_alerts(care_db, &care_ctx, true, &o, &ei), ERR_OK);
    size_t i;
    json_t *row;
    bool seen = false;
    json_array_foreach(o, i, row) seen = seen || !strcmp(jsonv_str(row, "id"), alert_id);
    assert_true(seen);
    json_decref(o);
    b = care_parse("{\"note\":\"Registrar informed, antibiotics started, hourly obs\"}");
    assert_int_equal(care_news2_acknowledge(care_db, &care_ctx, alert_id, b, &o, &ei), ERR_OK);
    assert_string_equal(jsonv_str(o, "acknowledged_by"), care_sup.username);
    assert_string_equal(jsonv_str(json_object_get(o, "patient"), "mrn"), mrn);
    json_decref(o);
    assert_int_equal(care_news2_acknowledge(care_db, &care_ctx, alert_id, b, &o, &ei),
                     ERR_CONFLICT);
    assert_int_equal(care_news2_acknowledge(care_db, &care_ctx, "NO-SUCH", b, &o, &ei),
                     ERR_NOT_FOUND);
    json_decref(b);
    assert_int_equal(care_news2_alerts(care_db, &care_ctx, true, &o, &ei), ERR_OK);
    json_array_foreach(o, i, row) assert_string_not_equal(jsonv_str(row, "id"), alert_id);
    json_decref(o);
}

static void test_vitals_from_monitor(void **state)
{
    (void)state;
    char pid[ID_LEN + 1], mrn[40], text[1200];
    json_t *o = NULL;
    errinfo ei;
    care_new_patient(pid, mrn);
    /* what a PCD-01 message carries once link/handle.c has read it */
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"taken_at\":\"2026-01-05T10:00:00Z\",\"observations\":["
             "{\"code\":\"147842\",\"name\":\"MDC_ECG_HEART_RATE\",\"value\":\"118\","
             "\"segment\":5},"
             "{\"code\":\"150456\",\"name\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":\"93\","
             "\"unit\":\"262688^MDC_DIM_PERCENT^MDC\",\"segment\":7},"
             "{\"code\":\"149530\",\"name\":\"MDC_PULS_OXIM_PULS_RATE\",\"value\":\"60\","
             "\"segment\":8},"
             "{\"code\":\"151562\",\"name\":\"MDC_RESP_RATE\",\"value\":\"26\","
             "\"segment\":10},"
             "{\"code\":\"999999\",\"name\":\"MDC_SOMETHING_ELSE\",\"value\":\"1\","
             "\"segment\":11},"
             "{\"code\":\"150344\",\"name\":\"MDC_TEMP\",\"value\":\"101.3\","
             "\"unit\":\"266560^MDC_DIM_FAHR^MDC\",\"segment\":12}]}",
             mrn);
    json_t *b = care_parse(text);
    assert_int_equal(care_vitals_monitor(care_db, &care_sys, "MON-7", b, &o, &ei), ERR_OK);
    json_t *n = json_object_get(o, "news2");
    /* pulse from the ECG (the first given): 118 -> 2; SpO2 93 -> 2; RR 26 -> 3;
     * 101.3 F = 38.5 C -> 1; no blood pressure, consciousness or oxygen */
    assert_int_equal(care_points(o, "pulse"), 2);
    assert_int_equal(care_points(o, "spo2"), 2);
    assert_int_equal(care_points(o, "respiration_rate"), 3);
    assert_int_equal(care_points(o, "temperature"), 1);
    assert_int_equal(care_points(o, "systolic_bp"), -1);
    assert_int_equal(care_points(o, "acvpu"), -1);
    assert_int_equal(care_score(o), 8);
    assert_true(json_is_false(json_object_get(n, "complete")));
    assert_string_equal(jsonv_str(o, "source"), "MON-7");
    assert_string_equal(jsonv_str(o, "taken_at"), "2026-01-05T10:00:00.000000Z");
    assert_string_equal(jsonv_str(json_object_get(o, "alert"), "reason"),
                        "NEWS2 8 or more (high); 3 points for respiration_rate (26)");
    json_decref(o);
    json_decref(b);

    /* refusals: a value that is no reading, an unknown patient, nothing known */
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"observations\":[{\"code\":\"147842\",\"value\":\"900\","
             "\"segment\":4}]}",
             mrn);
    care_refused_as(care_sys, text, "MON-7", ERR_INVALID, "observations[0].value", "segment 4");
    care_refused_as(care_sys,
                    "{\"mrn\":\"NOBODY\",\"observations\":[{\"code\":\"147842\","
                    "\"value\":\"90\",\"segment\":4}]}",
                    "MON-7", ERR_NOT_FOUND, "mrn", "NOBODY");
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"observations\":[{\"code\":\"69965\",\"value\":\"1\","
             "\"segment\":3}]}",
             mrn);
    care_refused_as(care_sys, text, "MON-7", ERR_INVALID, "observations", "no vital sign");
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"observations\":[{\"code\":\"150456\",\"value\":\"9x\","
             "\"segment\":6}]}",
             mrn);
    care_refused_as(care_sys, text, "MON-7", ERR_INVALID, "observations[0].value", "not a number");
    /* oxygen from the flow, consciousness from the local code */
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"observations\":[{\"code\":\"3151-8\",\"value\":\"2\","
             "\"segment\":4},{\"code\":\"ACVPU\",\"value\":\"V\",\"segment\":5}]}",
             mrn);
    b = care_parse(text);
    assert_int_equal(care_vitals_monitor(care_db, &care_sys, "MON-7", b, &o, &ei), ERR_OK);
    assert_int_equal(care_points(o, "oxygen"), 2);
    assert_int_equal(care_points(o, "acvpu"), 3);
    assert_int_equal(care_score(o), 5);
    json_decref(o);
    json_decref(b);
    /* the diastolic pressure, before its systolic in the message; the first
     * of two kept */
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"observations\":[{\"code\":\"150022\",\"value\":\"64\","
             "\"segment\":4},{\"code\":\"8462-4\",\"value\":\"70\",\"segment\":5},"
             "{\"code\":\"150021\",\"value\":\"104\",\"segment\":6}]}",
             mrn);
    b = care_parse(text);
    assert_int_equal(care_vitals_monitor(care_db, &care_sys, "MON-7", b, &o, &ei), ERR_OK);
    assert_int_equal(json_integer_value(json_object_get(o, "diastolic_bp")), 64);
    assert_int_equal(care_points(o, "systolic_bp"), 1);
    json_decref(o);
    json_decref(b);
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"observations\":[{\"code\":\"150021\",\"value\":\"64\","
             "\"segment\":4},{\"code\":\"150022\",\"value\":\"104\",\"segment\":5}]}",
             mrn);
    care_refused_as(care_sys, text, "MON-7", ERR_INVALID, "observations[1].value",
                    "segment 5: diastolic_bp: 104 is not below the systolic pressure (64 mmHg)");
}

/* -------------------------------------------------------- sterilization */

/* A new in-service asset of class cls; its tag into tag. */
static void care_device(const char *cls, char tag[40])
{
    static int k;
    errinfo ei = {0};
    json_t *o = NULL;
    char text[400];
    k++;
    snprintf(tag, 40, "DEV-%d-%s", k, care_sfx);
    snprintf(text, sizeof(text),
             "{\"tag\":\"%s\",\"class\":\"%s\",\"manufacturer\":\"Maker\",\"model\":\"M1\","
             "\"serial\":\"S%d\",\"location\":\"Floor 2\",\"risk_class\":\"medium\","
             "\"owner\":\"Care\"}",
             tag, cls, k);
    json_t *b = care_parse(text);
    if (equip_asset_create(care_db, &care_sys, b, &o, &ei))
        fail_msg("equip_asset_create: %s", ei.message);
    json_decref(b);
    json_decref(o);
}

/* A cycle of sterilizer tag (number n) holding sets (JSON array text);
 * chemical and biological as given; its id into id, its status into status. */
static err_t care_cycle(const char *tag, int n, double temperature, const char *chemical,
                        const char *biological, bool implants, const char *sets,
                        char id[ID_LEN + 1], char status[16], errinfo *ei)
{
    char text[800];
    json_t *o = NULL;
    snprintf(text, sizeof(text),
             "{\"sterilizer\":\"%s\",\"cycle_number\":%d,\"program\":\"prevacuum\","
             "\"exposure_minutes\":4,\"temperature\":%g,\"pressure\":296,\"chemical\":\"%s\","
             "\"biological\":\"%s\",\"implants\":%s,\"sets\":%s}",
             tag, n, temperature, chemical, biological, implants ? "true" : "false", sets);
    err_t rc = care_do(care_cycle_create, text, &o, ei);
    if (!rc) {
        snprintf(id, ID_LEN + 1, "%s", jsonv_str(o, "id"));
        snprintf(status, 16, "%s", jsonv_str(o, "status"));
    }
    json_decref(o);
    return rc;
}

/* A procedure of modality "other" for patient pid; its id into id. */
static void care_minor(const char *pid, char id[ID_LEN + 1])
{
    char text[300];
    json_t *o = NULL;
    errinfo ei = {0};
    snprintf(text, sizeof(text),
             "{\"patient_id\":\"%s\",\"modality\":\"other\",\"exam\":\"Skin biopsy\","
             "\"scheduled_at\":\"2026-01-05T09:00:00Z\"}",
             pid);
    assert_int_equal(care_do(care_procedure_create, text, &o, &ei), ERR_OK);
    snprintf(id, ID_LEN + 1, "%s", jsonv_str(o, "id"));
    json_decref(o);
}

/* Use set in procedure pid; the error code (detail into ei). */
static err_t care_use(const char *procedure, const char *set, errinfo *ei)
{
    char text[100];
    json_t *o = NULL;
    snprintf(text, sizeof(text), "{\"set\":\"%s\"}", set);
    json_t *b = care_parse(text);
    err_clear(ei);
    err_t rc = care_set_use(care_db, &care_ctx, procedure, b, &o, ei);
    json_decref(b);
    json_decref(o);
    return rc;
}

static void test_sterilization(void **state)
{
    (void)state;
    char ac[40], ct[40], text[800], sets[4][40], cyc[ID_LEN + 1], status[16];
    char pat[3][ID_LEN + 1], mrn[3][40], proc[3][ID_LEN + 1];
    json_t *o = NULL;
    errinfo ei;
    care_device("autoclave", ac);
    care_device("ct", ct);
    for (int i = 0; i < 4; i++) {
        snprintf(sets[i], sizeof(sets[i]), "TRAY-%d-%s", i, care_sfx);
        snprintf(text, sizeof(text), "{\"code\":\"%s\",\"name\":\"Minor set %d\"}", sets[i], i);
        assert_int_equal(care_do(care_set_create, text, NULL, &ei), ERR_OK);
    }
    care_refused(care_set_create, "{\"code\":\"bad code!\",\"name\":\"x\"}", ERR_INVALID, "code");
    snprintf(text, sizeof(text), "{\"code\":\"%s\",\"name\":\"again\"}", sets[0]);
    care_refused(care_set_create, text, ERR_CONFLICT, "code");

    /* refusals: a missing indicator, a sterilizer that is not one, parameters
     * out of range, sets unknown or twice; nothing written */
    int64_t before = care_scalar("SELECT COUNT(*) FROM care_steril_cycles", NULL);
    snprintf(text, sizeof(text),
             "{\"sterilizer\":\"%s\",\"cycle_number\":1,\"program\":\"prevacuum\","
             "\"exposure_minutes\":4,\"temperature\":134,\"pressure\":296,\"chemical\":\"pass\","
             "\"sets\":[\"%s\"]}",
             ac, sets[0]);
    care_refused(care_cycle_create, text, ERR_MISSING_FIELD, "biological");
    struct {
        const char *tag, *chemical, *biological, *sets, *field;
        double temperature;
    } bad[] = {
        {ct, "pass", "pending", "[\"S0\"]", "sterilizer", 134},
        {ac, "pass", "pending", "[\"S0\"]", "temperature", 160},
        {ac, "blue", "pending", "[\"S0\"]", "chemical", 134},
        {ac, "pass", "grew", "[\"S0\"]", "biological", 134},
        {ac, "pass", "pending", "[]", "sets", 134},
        {ac, "pass", "pending", "[\"S0\",\"NO-SUCH-SET\"]", "sets[1]", 134},
        {ac, "pass", "pending", "[\"S0\",\"S0\"]", "sets[1]", 134},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char load[200];
        snprintf(load, sizeof(load), "%s", bad[i].sets);
        for (char *p = strstr(load, "S0"); p; p = strstr(load, "S0")) {
            char rest[200];
            snprintf(rest, sizeof(rest), "%s", p + 2);
            snprintf(p, sizeof(load) - (size_t)(p - load), "%s%s", sets[0], rest);
        }
        snprintf(text, sizeof(text),
                 "{\"sterilizer\":\"%s\",\"cycle_number\":1,\"program\":\"prevacuum\","
                 "\"exposure_minutes\":4,\"temperature\":%g,\"pressure\":296,"
                 "\"chemical\":\"%s\",\"biological\":\"%s\",\"sets\":%s}",
                 bad[i].tag, bad[i].temperature, bad[i].chemical, bad[i].biological, load);
        care_refused(care_cycle_create, text, ERR_INVALID, bad[i].field);
    }
    assert_int_equal(care_scalar("SELECT COUNT(*) FROM care_steril_cycles", NULL), before);

    /* a cycle below the program's 132 C fails, with the reason */
    char load01[100], load2[60], load3[60];
    snprintf(load01, sizeof(load01), "[\"%s\",\"%s\"]", sets[0], sets[1]);
    snprintf(load2, sizeof(load2), "[\"%s\"]", sets[2]);
    snprintf(load3, sizeof(load3), "[\"%s\"]", sets[3]);
    assert_int_equal(care_cycle(ac, 100, 129.5, "pass", "pending", false, load2, cyc, status, &ei),
                     ERR_OK);
    assert_string_equal(status, "failed");
    assert_int_equal(care_cycle_get(care_db, cyc, &o, &ei), ERR_OK);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "problems"), 0)),
                        "temperature 129.5 C is below the 132 C of prevacuum");
    assert_false(json_is_true(json_object_get(o, "physical_pass")));
    json_decref(o);
    /* the same number again on this sterilizer: a conflict */
    assert_int_equal(care_cycle(ac, 100, 134, "pass", "pending", false, load2, cyc, status, &ei),
                     ERR_CONFLICT);
    assert_string_equal(ei.field, "cycle_number");

    /* three patients' procedures */
    for (int i = 0; i < 3; i++) {
        care_new_patient(pat[i], mrn[i]);
        care_minor(pat[i], proc[i]);
    }
    /* a failed load is not used */
    assert_int_equal(care_use(proc[0], sets[2], &ei), ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "failed: reprocess"));
    /* never sterilized */
    assert_int_equal(care_use(proc[0], sets[3], &ei), ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "no sterilization cycle"));
    /* implants: quarantined until the biological indicator is negative */
    char qcyc[ID_LEN + 1];
    assert_int_equal(care_cycle(ac, 101, 134, "pass", "pending", true, load3, qcyc, status, &ei),
                     ERR_OK);
    assert_string_equal(status, "quarantined");
    assert_int_equal(care_use(proc[0], sets[3], &ei), ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "biological indicator"));
    json_t *neg = care_parse("{\"result\":\"negative\"}");
    assert_int_equal(care_cycle_biological(care_db, &care_ctx, qcyc, neg, &o, &ei), ERR_OK);
    assert_string_equal(jsonv_str(o, "status"), "released");
    json_decref(o);
    assert_int_equal(care_cycle_biological(care_db, &care_ctx, qcyc, neg, &o, &ei), ERR_CONFLICT);
    json_decref(neg);
    assert_int_equal(care_use(proc[2], sets[3], &ei), ERR_OK);

    /* a load released at once, its indicator incubating: sets 0 and 1 go to
     * patients 0 and 1; set 0 is not used twice from one cycle */
    assert_int_equal(care_cycle(ac, 102, 134, "pass", "pending", false, load01, cyc, status, &ei),
                     ERR_OK);
    assert_string_equal(status, "released");
    assert_int_equal(care_use(proc[0], sets[0], &ei), ERR_OK);
    assert_int_equal(care_use(proc[1], sets[1], &ei), ERR_OK);
    assert_int_equal(care_use(proc[2], sets[0], &ei), ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "sterilize it again"));

    /* the indicator grows: the load is recalled, and the recall names each
     * set's procedure and patient */
    json_t *pos = care_parse("{\"result\":\"positive\"}");
    int64_t head = care_head();
    assert_int_equal(care_cycle_biological(care_db, &care_ctx, cyc, pos, &o, &ei), ERR_OK);
    assert_string_equal(jsonv_str(o, "status"), "recalled");
    assert_int_equal(care_head(), head + 2); /* the reading and the recall */
    json_decref(o);
    json_decref(pos);
    assert_int_equal(care_steril_recall(care_db, cyc, &o, &ei), ERR_OK);
    json_t *rs = json_object_get(o, "sets");
    assert_int_equal(json_array_size(rs), 2);
    for (int i = 0; i < 2; i++) {
        json_t *s = json_array_get(rs, (size_t)i);
        assert_string_equal(jsonv_str(s, "set"), sets[i]);
        json_t *uses = json_object_get(s, "uses");
        assert_int_equal(json_array_size(uses), 1);
        json_t *u = json_array_get(uses, 0);
        assert_string_equal(jsonv_str(u, "procedure_id"), proc[i]);
        assert_string_equal(jsonv_str(json_object_get(u, "patient"), "mrn"), mrn[i]);
    }
    json_t *patients = json_object_get(o, "patients");
    assert_int_equal(json_array_size(patients), 2);
    assert_string_equal(json_string_value(json_array_get(patients, 0)), pat[0]);
    assert_string_equal(json_string_value(json_array_get(patients, 1)), pat[1]);
    json_decref(o);
    /* a recalled set is not used */
    assert_int_equal(care_use(proc[2], sets[1], &ei), ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "recalled"));
    /* procedures: a CT needs a CT scanner */
    snprintf(text, sizeof(text),
             "{\"patient_id\":\"%s\",\"modality\":\"ct\",\"exam\":\"CT-HEAD\","
             "\"scheduled_at\":\"2026-01-05T09:00:00Z\"}",
             pat[0]);
    care_refused(care_procedure_create, text, ERR_MISSING_FIELD, "device");
    snprintf(text, sizeof(text),
             "{\"patient_id\":\"%s\",\"modality\":\"ct\",\"exam\":\"CT-HEAD\","
             "\"device\":\"%s\",\"scheduled_at\":\"2026-01-05T09:00:00Z\"}",
             pat[0], ac);
    care_refused(care_procedure_create, text, ERR_INVALID, "device");
    /* the procedure shows its sets */
    assert_int_equal(care_procedure_get(care_db, proc[2], &o, &ei), ERR_OK);
    json_t *used = json_object_get(o, "sets");
    assert_int_equal(json_array_size(used), 1);
    assert_string_equal(jsonv_str(json_array_get(used, 0), "set"), sets[3]);
    assert_string_equal(jsonv_str(json_array_get(used, 0), "sterilizer"), ac);
    json_decref(o);
}

/* ------------------------------------------------------------ documents */

static void test_documents(void **state)
{
    (void)state;
    char code[40], text[600];
    json_t *o = NULL, *b;
    errinfo ei;
    audit_ctx tech_ctx = {care_tech.id, care_tech.username, "test"};
    snprintf(code, sizeof(code), "SOP-%s", care_sfx);
    care_refused(care_doc_create, "{\"code\":\"SOP 1\",\"title\":\"x\",\"text\":\"y\"}",
                 ERR_INVALID, "code");
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"title\":\"Glucose on the chemistry analyzer\","
             "\"text\":\"1. Load the sample.\",\"audience\":[\"technician\",\"interface\"]}",
             code);
    care_refused(care_doc_create, text, ERR_INVALID, "audience[1]");
    /* written by a technician */
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"title\":\"Glucose on the chemistry analyzer\","
             "\"text\":\"1. Load the sample.\"}",
             code);
    b = care_parse(text);
    assert_int_equal(care_doc_create(care_db, &tech_ctx, b, &o, &ei), ERR_OK);
    assert_true(json_is_null(json_object_get(o, "current")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "draft"), "version")),
                     1);
    assert_string_equal(jsonv_str(json_object_get(o, "draft"), "author"), care_tech.username);
    json_decref(o);
    assert_int_equal(care_doc_create(care_db, &tech_ctx, b, &o, &ei), ERR_CONFLICT);
    json_decref(b);
    /* one draft at a time */
    b = care_parse("{\"text\":\"1. Load.\",\"change\":\"shorter\"}");
    assert_int_equal(care_doc_version(care_db, &tech_ctx, code, b, &o, &ei), ERR_CONFLICT);
    json_decref(b);
    /* nothing to acknowledge before a version is in force */
    b = care_parse("{\"password\":\"" CARE_PW "\"}");
    assert_int_equal(care_doc_acknowledge(care_db, &tech_ctx, &care_tech, code, b, &o, &ei),
                     ERR_CONFLICT);
    json_decref(b);

    /* approval: not by its author, not in the past, signed */
    snprintf(text, sizeof(text), "{\"effective_on\":\"%s\",\"password\":\"%s\"}", day_of(0),
             CARE_PW);
    b = care_parse(text);
    assert_int_equal(care_doc_approve(care_db, &tech_ctx, &care_tech, code, 1, b, &o, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "version");
    assert_int_equal(care_doc_approve(care_db, &care_ctx, &care_sup, code, 2, b, &o, &ei),
                     ERR_NOT_FOUND);
    json_decref(b);
    snprintf(text, sizeof(text), "{\"effective_on\":\"%s\",\"password\":\"%s\"}", day_of(-1),
             CARE_PW);
    b = care_parse(text);
    assert_int_equal(care_doc_approve(care_db, &care_ctx, &care_sup, code, 1, b, &o, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "effective_on");
    json_decref(b);
    snprintf(text, sizeof(text), "{\"effective_on\":\"%s\",\"password\":\"%s\"}", day_of(0),
             CARE_PW);
    b = care_parse(text);
    assert_int_equal(care_doc_approve(care_db, &care_ctx, &care_sup, code, 1, b, &o, &ei), ERR_OK);
    json_t *cur = json_object_get(o, "current");
    char due[11];
    assert_true(care_date_add_months(day_of(0), 24, due));
    assert_string_equal(jsonv_str(cur, "approved_by"), care_sup.username);
    assert_string_equal(jsonv_str(cur, "review_due"), due);
    assert_string_equal(jsonv_str(o, "review_due"), due);
    assert_false(json_is_true(json_object_get(o, "review_overdue")));
    assert_true(json_is_null(json_object_get(o, "draft")));
    /* every technician and supervisor has yet to read it */
    assert_true(care_has_string(json_object_get(o, "not_read"), care_tech.username));
    assert_true(care_has_string(json_object_get(o, "not_read"), care_sup.username));
    json_decref(o);
    assert_int_equal(care_doc_approve(care_db, &care_ctx, &care_sup, code, 1, b, &o, &ei),
                     ERR_CONFLICT);
    json_decref(b);

    /* read and understood, once */
    b = care_parse("{\"password\":\"" CARE_PW "\"}");
    assert_int_equal(care_doc_acknowledge(care_db, &tech_ctx, &care_tech, code, b, &o, &ei),
                     ERR_OK);
    assert_false(care_has_string(json_object_get(o, "not_read"), care_tech.username));
    assert_string_equal(jsonv_str(json_array_get(json_object_get(o, "acknowledged"), 0), "user"),
                        care_tech.username);
    json_decref(o);
    assert_int_equal(care_doc_acknowledge(care_db, &tech_ctx, &care_tech, code, b, &o, &ei),
                     ERR_CONFLICT);
    json_decref(b);

    /* version 2, effective next week: version 1 stays in force until then */
    b = care_parse("{\"text\":\"1. Load the sample. 2. Check the QC.\","
                   "\"change\":\"QC check added\"}");
    assert_int_equal(care_doc_version(care_db, &care_ctx, code, b, &o, &ei), ERR_OK);
    json_decref(o);
    json_decref(b);
    snprintf(text, sizeof(text), "{\"effective_on\":\"%s\",\"password\":\"%s\"}", day_of(7),
             CARE_PW);
    b = care_parse(text);
    user other;
    char name[USER_NAME_MAX + 1];
    snprintf(name, sizeof(name), "sup2-%s", care_sfx);
    assert_int_equal(user_create(care_db, &care_sys, name, "Second Supervisor", "supervisor",
                                 CARE_PW, &other, &ei),
                     ERR_OK);
    audit_ctx other_ctx = {other.id, other.username, "test"};
    assert_int_equal(care_doc_approve(care_db, &other_ctx, &other, code, 2, b, &o, &ei), ERR_OK);
    json_decref(b);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "current"), "version")),
                     1);
    assert_int_equal(json_array_size(json_object_get(o, "versions")), 2);
    json_decref(o);
    /* the list */
    assert_int_equal(care_doc_list(care_db, &o, &ei), ERR_OK);
    size_t i;
    json_t *row;
    bool seen = false;
    json_array_foreach(o, i, row)
    {
        if (strcmp(jsonv_str(row, "code"), code))
            continue;
        seen = true;
        assert_int_equal(json_integer_value(json_object_get(row, "version")), 1);
        assert_true(json_is_null(json_object_get(row, "draft_version")));
    }
    assert_true(seen);
    json_decref(o);
}

/* ------------------------------------------------------------- training */

static void test_training(void **state)
{
    (void)state;
    char text[600], course[40], device[40], sop[40], name[USER_NAME_MAX + 1];
    json_t *o = NULL, *b, *row;
    errinfo ei;
    size_t i;
    user novice;
    snprintf(course, sizeof(course), "BBP-%s", care_sfx);
    snprintf(device, sizeof(device), "CENTRIFUGE-%s", care_sfx);
    snprintf(sop, sizeof(sop), "SOP-TR-%s", care_sfx);
    /* a procedure's training needs its document, a device's its class */
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"procedure\",\"title\":\"Specimen reception\"}", sop);
    care_refused(care_training_item_create, text, ERR_MISSING_FIELD, "document");
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"procedure\",\"title\":\"Specimen reception\","
             "\"document\":\"NO-SUCH-SOP\"}",
             sop);
    care_refused(care_training_item_create, text, ERR_INVALID, "document");
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"device\",\"title\":\"Centrifuge\","
             "\"class\":\"blender\"}",
             device);
    care_refused(care_training_item_create, text, ERR_INVALID, "class");
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"course\",\"title\":\"Blood-borne pathogens\","
             "\"class\":\"centrifuge\"}",
             course);
    care_refused(care_training_item_create, text, ERR_INVALID, "class");
    /* a course and a device on the new-staff checklist, a procedure not */
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"course\",\"title\":\"Blood-borne pathogens\","
             "\"new_staff\":true}",
             course);
    assert_int_equal(care_do(care_training_item_create, text, NULL, &ei), ERR_OK);
    care_refused(care_training_item_create, text, ERR_CONFLICT, "code");
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"device\",\"title\":\"Centrifuge\","
             "\"class\":\"centrifuge\",\"new_staff\":true}",
             device);
    assert_int_equal(care_do(care_training_item_create, text, &o, &ei), ERR_OK);
    assert_string_equal(jsonv_str(o, "class"), "centrifuge");
    json_decref(o);
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"title\":\"Reception\",\"text\":\"Check two identifiers.\"}", sop);
    assert_int_equal(care_do(care_doc_create, text, NULL, &ei), ERR_OK);
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"procedure\",\"title\":\"Specimen reception\","
             "\"document\":\"%s\"}",
             sop, sop);
    assert_int_equal(care_do(care_training_item_create, text, NULL, &ei), ERR_OK);

    /* a new person gets the new-staff checklist and the procedure */
    snprintf(name, sizeof(name), "new-%s", care_sfx);
    assert_int_equal(
        user_create(care_db, &care_sys, name, "New Tech", "technician", CARE_PW, &novice, &ei),
        ERR_OK);
    snprintf(text, sizeof(text),
             "{\"user\":\"%s\",\"new_staff\":true,\"items\":[\"%s\"],\"due_on\":\"%s\"}", name, sop,
             day_of(-1));
    care_refused(care_training_assign, text, ERR_INVALID, "due_on");
    snprintf(text, sizeof(text), "{\"user\":\"%s\",\"items\":[\"%s\",\"NOPE\"],\"due_on\":\"%s\"}",
             name, sop, day_of(30));
    care_refused(care_training_assign, text, ERR_INVALID, "items[1]");
    snprintf(text, sizeof(text),
             "{\"user\":\"%s\",\"new_staff\":true,\"items\":[\"%s\"],\"due_on\":\"%s\"}", name, sop,
             day_of(30));
    assert_int_equal(care_do(care_training_assign, text, &o, &ei), ERR_OK);
    json_t *made = json_object_get(o, "items");
    size_t n_made = json_array_size(made);
    json_t *codes = json_array();
    json_array_foreach(made, i, row)
        json_array_append_new(codes, json_string(jsonv_str(row, "item")));
    assert_true(care_has_string(codes, sop));
    assert_true(care_has_string(codes, course));
    assert_true(care_has_string(codes, device));
    json_decref(codes);
    json_decref(o);
    /* open already: all or none */
    snprintf(text, sizeof(text), "{\"user\":\"%s\",\"items\":[\"%s\"],\"due_on\":\"%s\"}", name,
             course, day_of(30));
    care_refused(care_training_assign, text, ERR_CONFLICT, "items");

    /* signed off by a trainer, not by the trainee */
    char aid[ID_LEN + 1] = "";
    assert_int_equal(care_training_list(care_db, name, true, &o, &ei), ERR_OK);
    json_array_foreach(o, i, row)
    {
        if (!strcmp(jsonv_str(row, "item"), course))
            snprintf(aid, sizeof(aid), "%s", jsonv_str(row, "id"));
        assert_false(json_is_true(json_object_get(row, "overdue")));
    }
    json_decref(o);
    assert_int_equal(strlen(aid), ID_LEN);
    snprintf(text, sizeof(text), "{\"completed_on\":\"%s\",\"password\":\"%s\"}", day_of(0),
             CARE_PW);
    b = care_parse(text);
    audit_ctx novice_ctx = {novice.id, novice.username, "test"};
    assert_int_equal(care_training_sign_off(care_db, &novice_ctx, &novice, aid, b, &o, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "id");
    assert_int_equal(care_training_sign_off(care_db, &care_ctx, &care_sup, aid, b, &o, &ei),
                     ERR_OK);
    assert_string_equal(jsonv_str(o, "trainer"), care_sup.username);
    assert_string_equal(jsonv_str(o, "completed_on"), day_of(0));
    json_decref(o);
    assert_int_equal(care_training_sign_off(care_db, &care_ctx, &care_sup, aid, b, &o, &ei),
                     ERR_CONFLICT);
    json_decref(b);
    snprintf(text, sizeof(text), "{\"completed_on\":\"%s\",\"password\":\"%s\"}", day_of(2),
             CARE_PW);
    b = care_parse(text);
    assert_int_equal(care_training_sign_off(care_db, &care_ctx, &care_sup, aid, b, &o, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "completed_on");
    json_decref(b);
    /* two still open; the course may be assigned again now */
    assert_int_equal(care_training_list(care_db, name, true, &o, &ei), ERR_OK);
    assert_int_equal(json_array_size(o), n_made - 1);
    json_array_foreach(o, i, row) assert_string_not_equal(jsonv_str(row, "item"), course);
    json_decref(o);
    snprintf(text, sizeof(text), "{\"user\":\"%s\",\"items\":[\"%s\"],\"due_on\":\"%s\"}", name,
             course, day_of(365));
    assert_int_equal(care_do(care_training_assign, text, NULL, &ei), ERR_OK);
}

/* ------------------------------------------------------ imaging and dose */

/* A procedure of modality on device for patient pid; its id into id. */
static void care_imaging(const char *pid, const char *modality, const char *exam,
                         const char *device, bool contrast, char id[ID_LEN + 1])
{
    char text[400];
    json_t *o = NULL;
    errinfo ei = {0};
    snprintf(text, sizeof(text),
             "{\"patient_id\":\"%s\",\"modality\":\"%s\",\"exam\":\"%s\",\"device\":\"%s\","
             "\"contrast\":%s,\"scheduled_at\":\"2026-03-02T08:30:00Z\"}",
             pid, modality, exam, device, contrast ? "true" : "false");
    err_t rc = care_do(care_procedure_create, text, &o, &ei);
    if (rc)
        fail_msg("procedure: %s [%s] %s", err_name(rc), ei.field, ei.message);
    snprintf(id, ID_LEN + 1, "%s", jsonv_str(o, "id"));
    json_decref(o);
}

/* A call on procedure id with a body written as text (NULL: {}); *out the
 * procedure when out is not NULL. */
typedef err_t (*care_step)(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                           json_t **out, errinfo *ei);

static err_t care_on(care_step fn, const char *id, const char *text, json_t **out, errinfo *ei)
{
    json_t *b = care_parse(text ? text : "{}"), *o = NULL;
    err_clear(ei);
    err_t rc = fn(care_db, &care_ctx, id, b, &o, ei);
    json_decref(b);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static err_t care_appointment_check_in_fn(db *d, const audit_ctx *ctx, const char *id,
                                          const json_t *body, json_t **out, errinfo *ei)
{
    return care_appointment_change(d, ctx, id, "checked-in", body, out, ei);
}

static err_t care_appointment_no_show_fn(db *d, const audit_ctx *ctx, const char *id,
                                         const json_t *body, json_t **out, errinfo *ei)
{
    return care_appointment_change(d, ctx, id, "no-show", body, out, ei);
}

static void test_imaging_preparation(void **state)
{
    (void)state;
    char pid[ID_LEN + 1], mrn[40], mri[40], proc[ID_LEN + 1];
    json_t *o = NULL;
    errinfo ei;
    care_new_patient(pid, mrn);
    care_device("mri", mri);
    care_imaging(pid, "mri", "MR brain with contrast", mri, true, proc);
    /* the checklist of an MRI with contrast */
    assert_int_equal(care_procedure_get(care_db, proc, &o, &ei), ERR_OK);
    json_t *items = json_array(), *row;
    size_t i;
    json_array_foreach(json_object_get(o, "checklist"), i, row)
        json_array_append_new(items, json_string(jsonv_str(row, "item")));
    char *listed = json_dumps(items, JSON_COMPACT);
    assert_string_equal(listed, "[\"identity\",\"pacemaker\",\"implants\",\"metal_fragments\","
                                "\"pregnancy\",\"contrast_allergy\",\"egfr\"]");
    free(listed);
    json_decref(items);
    assert_true(json_is_null(json_object_get(o, "preparation")));
    json_decref(o);
    /* not started without its checklist */
    assert_int_equal(care_on(care_procedure_start, proc, NULL, NULL, &ei), ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "not recorded"));

    const char *head = "{\"answers\":[{\"item\":\"identity\",\"answer\":\"yes\"},"
                       "{\"item\":\"implants\",\"answer\":\"no\"},"
                       "{\"item\":\"metal_fragments\",\"answer\":\"no\"},"
                       "{\"item\":\"pregnancy\",\"answer\":\"no\"},"
                       "{\"item\":\"contrast_allergy\",\"answer\":\"no\"},";
    char text[1200];
    int64_t before = care_scalar("SELECT COUNT(*) FROM care_prep_answers", NULL);
    static const struct {
        const char *tail, *field;
    } bad[] = {
        /* a missing required item */
        {"{\"item\":\"pacemaker\",\"answer\":\"no\"}]}", "answers"},
        {"{\"item\":\"pacemaker\",\"answer\":\"maybe\"},{\"item\":\"egfr\",\"value\":70}]}",
         "answers[5].answer"},
        {"{\"item\":\"pacemaker\",\"answer\":\"mr-conditional\"},"
         "{\"item\":\"egfr\",\"value\":70}]}",
         "answers[5].note"},
        {"{\"item\":\"pacemaker\",\"answer\":\"no\"},{\"item\":\"egfr\",\"answer\":\"ok\"}]}",
         "answers[6].value"},
        {"{\"item\":\"pacemaker\",\"answer\":\"no\"},{\"item\":\"skin\",\"answer\":\"yes\"},"
         "{\"item\":\"egfr\",\"value\":70}]}",
         "answers[6].item"},
        {"{\"item\":\"pacemaker\",\"answer\":\"no\"},{\"item\":\"pacemaker\",\"answer\":\"no\"},"
         "{\"item\":\"egfr\",\"value\":70}]}",
         "answers[6].item"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        snprintf(text, sizeof(text), "%s%s", head, bad[k].tail);
        int64_t h = care_head();
        err_t rc = care_on(care_procedure_prepare, proc, text, NULL, &ei);
        if (rc != ERR_INVALID || strcmp(ei.field, bad[k].field))
            fail_msg("case %zu: %s [%s] %s", k, err_name(rc), ei.field, ei.message);
        assert_int_equal(care_head(), h);
    }
    assert_int_equal(care_scalar("SELECT COUNT(*) FROM care_prep_answers", NULL), before);

    /* complete, but an eGFR of 25 stops a contrast study */
    snprintf(text, sizeof(text), "%s%s", head,
             "{\"item\":\"pacemaker\",\"answer\":\"mr-conditional\",\"note\":\"Medtronic "
             "Azure, MR-conditional at 1.5 T, cardiology present\"},{\"item\":\"egfr\","
             "\"value\":25}]}");
    assert_int_equal(care_on(care_procedure_prepare, proc, text, &o, &ei), ERR_OK);
    json_t *prep = json_object_get(o, "preparation");
    assert_true(json_is_true(json_object_get(prep, "complete")));
    assert_int_equal(json_array_size(json_object_get(prep, "stops")), 1);
    json_t *last = json_array_get(json_object_get(prep, "answers"), 6);
    assert_string_equal(jsonv_str(last, "effect"), "stop");
    assert_true(json_number_value(json_object_get(last, "value")) == 25);
    assert_string_equal(jsonv_str(json_array_get(json_object_get(prep, "answers"), 1), "effect"),
                        "note");
    json_decref(o);
    assert_int_equal(care_on(care_procedure_start, proc, NULL, NULL, &ei), ERR_CONFLICT);
    assert_string_equal(ei.message, "the procedure does not start: renal function too low for a "
                                    "contrast medium (eGFR under 30)");
    /* repeated renal function, 58: it starts; a dose is not an MRI's */
    snprintf(text, sizeof(text), "%s%s", head,
             "{\"item\":\"pacemaker\",\"answer\":\"no\"},{\"item\":\"egfr\",\"value\":58}]}");
    assert_int_equal(care_on(care_procedure_prepare, proc, text, NULL, &ei), ERR_OK);
    assert_int_equal(
        care_on(care_procedure_start, proc, "{\"note\":\"gadolinium 0.1 mmol/kg\"}", &o, &ei),
        ERR_OK);
    assert_string_equal(jsonv_str(o, "status"), "in-progress");
    assert_string_equal(jsonv_str(o, "started_by"), care_sup.username);
    json_decref(o);
    assert_int_equal(care_on(care_procedure_prepare, proc, text, NULL, &ei), ERR_CONFLICT);
    assert_int_equal(care_on(care_dose_record, proc, "{\"dap\":1}", NULL, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "modality");
    assert_int_equal(care_on(care_procedure_start, proc, NULL, NULL, &ei), ERR_CONFLICT);
    assert_int_equal(care_on(care_procedure_complete, proc, NULL, &o, &ei), ERR_OK);
    assert_string_equal(jsonv_str(o, "status"), "completed");
    json_decref(o);
    assert_int_equal(care_on(care_procedure_cancel, proc, "{\"reason\":\"late\"}", NULL, &ei),
                     ERR_CONFLICT);
}

static void test_dose_against_drl(void **state)
{
    (void)state;
    char pid[ID_LEN + 1], mrn[40], ct[40], xr[40], head_ct[ID_LEN + 1], chest[ID_LEN + 1];
    char text[600];
    json_t *o = NULL, *row;
    errinfo ei;
    size_t i;
    care_new_patient(pid, mrn);
    care_device("ct", ct);
    care_device("xray", xr);
    /* a CT exam needs a reference level */
    snprintf(text, sizeof(text),
             "{\"patient_id\":\"%s\",\"modality\":\"ct\",\"exam\":\"CT-TOE\",\"device\":\"%s\","
             "\"scheduled_at\":\"2026-03-02T08:30:00Z\"}",
             pid, ct);
    care_refused(care_procedure_create, text, ERR_INVALID, "exam");
    care_imaging(pid, "ct", "CT-HEAD", ct, false, head_ct);
    care_imaging(pid, "xray", "XR-CHEST-PA", xr, false, chest);
    const char *prep = "{\"answers\":[{\"item\":\"identity\",\"answer\":\"yes\"},"
                       "{\"item\":\"pregnancy\",\"answer\":\"no\"}]}";
    /* no dose before it starts */
    assert_int_equal(care_on(care_dose_record, head_ct, "{\"ctdivol\":40,\"dlp\":700}", NULL, &ei),
                     ERR_CONFLICT);
    for (int k = 0; k < 2; k++) {
        const char *id = k == 0 ? head_ct : chest;
        assert_int_equal(care_on(care_procedure_prepare, id, prep, NULL, &ei), ERR_OK);
        assert_int_equal(care_on(care_procedure_start, id, NULL, NULL, &ei), ERR_OK);
    }
    /* a CT is completed once its dose is recorded */
    assert_int_equal(care_on(care_procedure_complete, head_ct, NULL, NULL, &ei), ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "dose"));
    assert_int_equal(care_on(care_dose_record, head_ct, "{\"ctdivol\":52}", NULL, &ei),
                     ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "dlp");
    assert_int_equal(
        care_on(care_dose_record, head_ct, "{\"ctdivol\":52,\"dlp\":700,\"dap\":1}", NULL, &ei),
        ERR_INVALID);
    assert_string_equal(ei.field, "dap");
    assert_int_equal(care_on(care_dose_record, head_ct, "{\"ctdivol\":-1,\"dlp\":700}", NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "ctdivol");
    /* CTDIvol 52 mGy against the head's 47: above; DLP 700 against 790: not */
    int64_t h = care_head();
    assert_int_equal(care_on(care_dose_record, head_ct, "{\"ctdivol\":52,\"dlp\":700}", &o, &ei),
                     ERR_OK);
    json_t *dose = json_object_get(o, "dose");
    assert_true(json_is_true(json_object_get(dose, "above_drl")));
    assert_int_equal(json_array_size(json_object_get(dose, "exceeded")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(dose, "exceeded"), 0)),
                        "CTDIvol 52 mGy is above the 47 mGy reference level of CT-HEAD");
    assert_true(json_number_value(json_object_get(json_object_get(dose, "drl"), "dlp")) == 790);
    assert_int_equal(care_head(), h + 2); /* the dose and its alert */
    json_decref(o);
    assert_int_equal(care_on(care_dose_record, head_ct, "{\"ctdivol\":40,\"dlp\":600}", NULL, &ei),
                     ERR_CONFLICT);
    assert_int_equal(care_on(care_procedure_complete, head_ct, NULL, NULL, &ei), ERR_OK);
    /* a chest radiograph of 0.08 Gy.cm2: below its 0.1 */
    assert_int_equal(care_on(care_dose_record, chest, "{\"dap\":0.08}", &o, &ei), ERR_OK);
    assert_false(json_is_true(json_object_get(json_object_get(o, "dose"), "above_drl")));
    json_decref(o);

    /* the doses to review: the head CT, not the chest */
    assert_int_equal(care_dose_list(care_db, &care_ctx, true, &o, &ei), ERR_OK);
    bool head_seen = false, chest_seen = false;
    json_array_foreach(o, i, row)
    {
        head_seen = head_seen || !strcmp(jsonv_str(row, "procedure_id"), head_ct);
        chest_seen = chest_seen || !strcmp(jsonv_str(row, "procedure_id"), chest);
    }
    assert_true(head_seen);
    assert_false(chest_seen);
    json_decref(o);
    assert_int_equal(care_on(care_dose_review, chest, "{\"note\":\"fine\"}", NULL, &ei),
                     ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "not above"));
    assert_int_equal(care_on(care_dose_review, head_ct,
                             "{\"note\":\"Large patient, repeat sequence; protocol checked with "
                             "the physicist\"}",
                             &o, &ei),
                     ERR_OK);
    assert_string_equal(jsonv_str(json_object_get(o, "dose"), "reviewed_by"), care_sup.username);
    json_decref(o);
    assert_int_equal(care_on(care_dose_review, head_ct, "{\"note\":\"again\"}", NULL, &ei),
                     ERR_CONFLICT);

    /* a site's own reference level for a new exam */
    char exam[40];
    snprintf(exam, sizeof(exam), "CT-SINUS-%s", care_sfx);
    assert_int_equal(care_on(care_drl_put, exam,
                             "{\"modality\":\"ct\",\"name\":\"CT sinuses\",\"dap\":2,"
                             "\"source\":\"local\"}",
                             NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "dap");
    assert_int_equal(care_on(care_drl_put, exam,
                             "{\"modality\":\"ct\",\"name\":\"CT sinuses\",\"source\":\"local\"}",
                             NULL, &ei),
                     ERR_MISSING_FIELD);
    assert_int_equal(care_on(care_drl_put, exam,
                             "{\"modality\":\"ct\",\"name\":\"CT sinuses\",\"ctdivol\":12,"
                             "\"dlp\":160,\"source\":\"local audit 2026\"}",
                             &o, &ei),
                     ERR_OK);
    assert_true(json_number_value(json_object_get(o, "ctdivol")) == 12);
    json_decref(o);
    char sinus[ID_LEN + 1];
    care_imaging(pid, "ct", exam, ct, false, sinus);
    assert_int_equal(care_drl_list(care_db, &o, &ei), ERR_OK);
    bool seen = false;
    json_array_foreach(o, i, row) seen = seen || !strcmp(jsonv_str(row, "exam"), exam);
    assert_true(seen);
    json_decref(o);
}

/* ---------------------------------------------------------- appointments */

static int64_t care_base; /* "now" for a test's times, read once */

/* ISO 8601 of care_base plus minutes. */
static const char *care_at(int minutes)
{
    static char out[8][TIME_ISO_LEN];
    static int k;
    char *o = out[k++ % 8];
    time_format_iso(care_base + (int64_t)minutes * 60 * 1000000LL, o);
    return o;
}

/* ------------------------------------------------------------ live events */

/* The events published since the last call, as "kind {data}" lines. */
static void test_live_events(void **state)
{
    (void)state;
    char pid[ID_LEN + 1], mrn[40], text[900], got[2048], want[1024], ct[40], proc[ID_LEN + 1];
    json_t *o = NULL;
    errinfo ei;
    evbus_sub *sub = NULL;
    care_new_patient(pid, mrn);
    assert_int_equal(evbus_subscribe(evbus_global(), 0, NULL, NULL, &sub), ERR_OK);

    /* a set that raises an alert: its ids and band, never the score */
    vitals_text(text, sizeof(text), pid, "23", "94", "true", "112", "A");
    assert_int_equal(care_do(care_vitals_record, text, &o, &ei), ERR_OK);
    char alert[ID_LEN + 1];
    snprintf(alert, sizeof(alert), "%s", jsonv_str(json_object_get(o, "alert"), "id"));
    testdb_events(sub, got, sizeof(got));
    snprintf(want, sizeof(want),
             "care.news2.raised {\"alert_id\":\"%s\",\"vitals_id\":\"%s\",\"patient_id\":"
             "\"%s\",\"band\":\"high\",\"complete\":true}\n",
             alert, jsonv_str(o, "id"), pid);
    assert_string_equal(got, want);
    json_decref(o);
    /* a set with nothing to say, and a refused one: nothing */
    vitals_text(text, sizeof(text), pid, "16", "97", "false", "80", "A");
    assert_int_equal(care_do(care_vitals_record, text, &o, &ei), ERR_OK);
    json_decref(o);
    vitals_text(text, sizeof(text), pid, "23", "94", "true", "900", "A");
    care_refused(care_vitals_record, text, ERR_INVALID, "pulse");
    testdb_events(sub, got, sizeof(got));
    assert_string_equal(got, "");
    /* a monitor's set: a lower bound */
    snprintf(text, sizeof(text),
             "{\"mrn\":\"%s\",\"observations\":[{\"code\":\"147842\",\"value\":\"135\","
             "\"segment\":4}]}",
             mrn);
    json_t *b = care_parse(text);
    assert_int_equal(care_vitals_monitor(care_db, &care_sys, "MON-8", b, &o, &ei), ERR_OK);
    json_decref(b);
    testdb_events(sub, got, sizeof(got));
    assert_non_null(strstr(got, "\"band\":\"low-medium\",\"complete\":false}"));
    json_decref(o);

    /* acknowledged once: one event; the refusal says nothing */
    b = care_parse("{\"note\":\"Registrar informed\"}");
    assert_int_equal(care_news2_acknowledge(care_db, &care_ctx, alert, b, &o, &ei), ERR_OK);
    json_decref(o);
    assert_int_equal(care_news2_acknowledge(care_db, &care_ctx, alert, b, &o, &ei), ERR_CONFLICT);
    json_decref(b);
    testdb_events(sub, got, sizeof(got));
    snprintf(want, sizeof(want),
             "care.news2.acknowledged {\"alert_id\":\"%s\",\"patient_id\":\"%s\"}\n", alert, pid);
    assert_string_equal(got, want);

    /* a head CT above its reference level, then reviewed */
    care_device("ct", ct);
    care_imaging(pid, "ct", "CT-HEAD", ct, false, proc);
    assert_int_equal(care_on(care_procedure_prepare, proc,
                             "{\"answers\":[{\"item\":\"identity\",\"answer\":\"yes\"},"
                             "{\"item\":\"pregnancy\",\"answer\":\"no\"}]}",
                             NULL, &ei),
                     ERR_OK);
    assert_int_equal(care_on(care_procedure_start, proc, NULL, NULL, &ei), ERR_OK);
    testdb_events(sub, got, sizeof(got));
    assert_string_equal(got, "");
    assert_int_equal(care_on(care_dose_record, proc, "{\"ctdivol\":60,\"dlp\":900}", NULL, &ei),
                     ERR_OK);
    testdb_events(sub, got, sizeof(got));
    snprintf(want, sizeof(want),
             "care.dose.above-drl {\"procedure_id\":\"%s\",\"patient_id\":\"%s\",\"exam\":"
             "\"CT-HEAD\",\"modality\":\"ct\"}\n",
             proc, pid);
    assert_string_equal(got, want);
    assert_int_equal(care_on(care_dose_review, proc, "{\"note\":\"Protocol checked\"}", NULL, &ei),
                     ERR_OK);
    testdb_events(sub, got, sizeof(got));
    snprintf(want, sizeof(want),
             "care.dose.reviewed {\"procedure_id\":\"%s\",\"patient_id\":\"%s\"}\n", proc, pid);
    assert_string_equal(got, want);
    evbus_unsubscribe(sub);
}

static void test_appointments(void **state)
{
    (void)state;
    char chair[40], text[600], pid[3][ID_LEN + 1], mrn[3][40], slot[2][ID_LEN + 1];
    char appt[ID_LEN + 1], far_slot[ID_LEN + 1];
    json_t *o = NULL, *b;
    errinfo ei;
    care_base = time_now_us();
    snprintf(chair, sizeof(chair), "CHAIR-%s", care_sfx);
    for (int i = 0; i < 3; i++)
        care_new_patient(pid[i], mrn[i]);
    snprintf(text, sizeof(text), "{\"code\":\"%s\",\"kind\":\"device\",\"name\":\"x\"}", chair);
    care_refused(care_resource_create, text, ERR_MISSING_FIELD, "device");
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"kind\":\"chair\",\"name\":\"Phlebotomy chair 2\"}", chair);
    assert_int_equal(care_do(care_resource_create, text, NULL, &ei), ERR_OK);
    care_refused(care_resource_create, text, ERR_CONFLICT, "code");

    /* two half-hour slots, the first started ten minutes ago, worked by care_tech */
    const char *start = care_at(-10), *end = care_at(50);
    snprintf(text, sizeof(text),
             "{\"resource\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"minutes\":30,"
             "\"technician\":\"%s\"}",
             chair, start, end, care_tech.username);
    assert_int_equal(care_do(care_slots_create, text, &o, &ei), ERR_OK);
    json_t *made = json_object_get(o, "items");
    assert_int_equal(json_array_size(made), 2);
    for (int i = 0; i < 2; i++)
        snprintf(slot[i], sizeof(slot[i]), "%s", jsonv_str(json_array_get(made, (size_t)i), "id"));
    assert_string_equal(jsonv_str(json_array_get(made, 0), "technician"), care_tech.username);
    json_decref(o);
    /* none may overlap; none wholly past; known resource */
    care_refused(care_slots_create, text, ERR_CONFLICT, "start");
    snprintf(text, sizeof(text),
             "{\"resource\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"minutes\":30}", chair,
             care_at(-120), care_at(-60));
    care_refused(care_slots_create, text, ERR_INVALID, "end");
    snprintf(text, sizeof(text),
             "{\"resource\":\"NO-SUCH\",\"start\":\"%s\",\"end\":\"%s\",\"minutes\":30}",
             care_at(60), care_at(120));
    care_refused(care_slots_create, text, ERR_INVALID, "resource");
    /* a slot tomorrow, later */
    snprintf(text, sizeof(text),
             "{\"resource\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"minutes\":15,"
             "\"technician\":\"%s\"}",
             chair, care_at(24 * 60), care_at(24 * 60 + 15), care_tech.username);
    assert_int_equal(care_do(care_slots_create, text, &o, &ei), ERR_OK);
    snprintf(far_slot, sizeof(far_slot), "%s",
             jsonv_str(json_array_get(json_object_get(o, "items"), 0), "id"));
    json_decref(o);

    /* book the first; booking it again is refused and changes nothing */
    snprintf(text, sizeof(text),
             "{\"slot\":\"%s\",\"patient_id\":\"%s\",\"reason\":\"Fasting glucose\"}", slot[0],
             pid[0]);
    assert_int_equal(care_do(care_appointment_book, text, &o, &ei), ERR_OK);
    snprintf(appt, sizeof(appt), "%s", jsonv_str(o, "id"));
    assert_string_equal(jsonv_str(o, "status"), "booked");
    assert_string_equal(jsonv_str(json_object_get(o, "patient"), "mrn"), mrn[0]);
    json_decref(o);
    int64_t before = care_scalar("SELECT COUNT(*) FROM care_appointments", NULL);
    snprintf(text, sizeof(text), "{\"slot\":\"%s\",\"patient_id\":\"%s\",\"reason\":\"ECG\"}",
             slot[0], pid[1]);
    care_refused(care_appointment_book, text, ERR_CONFLICT, "slot");
    snprintf(text, sizeof(text),
             "{\"slot\":\"NO-SUCH-SLOT\",\"patient_id\":\"%s\",\"reason\":\"ECG\"}", pid[1]);
    care_refused(care_appointment_book, text, ERR_INVALID, "slot");
    assert_int_equal(care_scalar("SELECT COUNT(*) FROM care_appointments", NULL), before);

    /* the second slot is booked, then cancelled: it is free again */
    char second[ID_LEN + 1];
    snprintf(text, sizeof(text),
             "{\"slot\":\"%s\",\"patient_id\":\"%s\",\"reason\":\"Lipid panel\"}", slot[1], pid[1]);
    assert_int_equal(care_do(care_appointment_book, text, &o, &ei), ERR_OK);
    snprintf(second, sizeof(second), "%s", jsonv_str(o, "id"));
    json_decref(o);
    /* it has not started: no no-show yet; check-in is open (within two hours) */
    assert_int_equal(care_on(care_appointment_no_show_fn, second, NULL, NULL, &ei), ERR_CONFLICT);
    b = care_parse("{\"reason\":\"Patient rescheduled by phone\"}");
    assert_int_equal(care_appointment_change(care_db, &care_ctx, second, "cancelled", b, &o, &ei),
                     ERR_OK);
    assert_string_equal(jsonv_str(o, "status"), "cancelled");
    json_decref(o);
    assert_int_equal(care_appointment_change(care_db, &care_ctx, second, "cancelled", b, &o, &ei),
                     ERR_CONFLICT);
    json_decref(b);
    snprintf(text, sizeof(text), "{\"slot\":\"%s\",\"patient_id\":\"%s\",\"reason\":\"ECG\"}",
             slot[1], pid[2]);
    assert_int_equal(care_do(care_appointment_book, text, &o, &ei), ERR_OK);
    snprintf(second, sizeof(second), "%s", jsonv_str(o, "id"));
    json_decref(o);
    assert_int_equal(care_on(care_appointment_check_in_fn, second, NULL, &o, &ei), ERR_OK);
    assert_string_equal(jsonv_str(o, "status"), "checked-in");
    json_decref(o);
    /* the first has started: the patient did not come */
    assert_int_equal(care_on(care_appointment_no_show_fn, appt, NULL, &o, &ei), ERR_OK);
    assert_string_equal(jsonv_str(o, "status"), "no-show");
    assert_string_equal(jsonv_str(o, "changed_by"), care_sup.username);
    json_decref(o);
    assert_int_equal(care_on(care_appointment_check_in_fn, appt, NULL, NULL, &ei), ERR_CONFLICT);
    /* tomorrow's: check-in is not open yet */
    snprintf(text, sizeof(text),
             "{\"slot\":\"%s\",\"patient_id\":\"%s\",\"reason\":\"Holter fitting\"}", far_slot,
             pid[0]);
    assert_int_equal(care_do(care_appointment_book, text, &o, &ei), ERR_OK);
    char far_appt[ID_LEN + 1];
    snprintf(far_appt, sizeof(far_appt), "%s", jsonv_str(o, "id"));
    json_decref(o);
    assert_int_equal(care_on(care_appointment_check_in_fn, far_appt, NULL, NULL, &ei),
                     ERR_CONFLICT);
    assert_non_null(strstr(ei.message, "two hours"));

    /* the technician's day: both slots, with who is in them */
    char date[11];
    int64_t first_start = 0;
    time_parse_iso(start, strlen(start), &first_start, NULL);
    time_format_date(first_start, date);
    assert_int_equal(care_day(care_db, care_tech.username, date, &o, &ei), ERR_OK);
    size_t i;
    json_t *row;
    int found = 0;
    json_array_foreach(json_object_get(o, "slots"), i, row)
    {
        json_t *a = json_object_get(row, "appointment");
        if (!strcmp(jsonv_str(row, "slot_id"), slot[0])) {
            found++;
            assert_string_equal(jsonv_str(a, "status"), "no-show");
            assert_string_equal(jsonv_str(json_object_get(a, "patient"), "mrn"), mrn[0]);
        } else if (!strcmp(jsonv_str(row, "slot_id"), slot[1])) {
            found++;
            assert_string_equal(jsonv_str(a, "status"), "checked-in");
            assert_string_equal(jsonv_str(json_object_get(a, "patient"), "mrn"), mrn[2]);
        }
    }
    /* both, unless the second began after midnight UTC */
    assert_true(found >= 1);
    json_decref(o);
    assert_int_equal(care_day(care_db, "nobody-here", date, &o, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "technician");
    assert_int_equal(care_day(care_db, care_tech.username, "21-11-2026", &o, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "date");
    /* the free slots of the chair today */
    assert_int_equal(care_slots_list(care_db, chair, date, true, &o, &ei), ERR_OK);
    json_array_foreach(o, i, row)
    {
        assert_string_not_equal(jsonv_str(row, "id"), slot[0]);
        assert_string_not_equal(jsonv_str(row, "id"), slot[1]);
    }
    json_decref(o);
}

/* ------------------------------------------------------------------- main */

static int care_setup(void **state)
{
    (void)state;
    errinfo ei = {0};
    char name[USER_NAME_MAX + 1];
    if (!testdb_pick("care", care_url, sizeof(care_url), care_tmp, sizeof(care_tmp)))
        return -1;
    testdb_suffix(care_sfx, 10, true);
    if (!testdb_open(care_url, &care_sys, &care_db))
        return -1;
    struct {
        user *u;
        const char *prefix, *role;
    } people[] = {
        {&care_sup, "sup", "supervisor"},
        {&care_tech, "tech", "technician"},
        {&care_tech2, "tech2", "technician"},
    };
    for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
        snprintf(name, sizeof(name), "%s-%s", people[i].prefix, care_sfx);
        if (user_create(care_db, &care_sys, name, "Care Tester", people[i].role, CARE_PW,
                        people[i].u, &ei)) {
            fprintf(stderr, "user_create: %s\n", ei.message);
            return -1;
        }
    }
    care_ctx = (audit_ctx){care_sup.id, care_sup.username, "test"};
    return 0;
}

static int care_teardown(void **state)
{
    (void)state;
    testdb_close(care_db, care_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_date_add_months),
        cmocka_unit_test(test_competency_due),
        cmocka_unit_test(test_competency_satisfactory),
    };
    const struct CMUnitTest record[] = {
        cmocka_unit_test(test_certification_refusals),
        cmocka_unit_test(test_assessment_refusals),
        cmocka_unit_test(test_gate_manual_release),
        cmocka_unit_test(test_gate_operator_of_record),
        cmocka_unit_test(test_reminders_and_record),
        cmocka_unit_test(test_vitals_by_hand),
        cmocka_unit_test(test_vitals_from_monitor),
        cmocka_unit_test(test_sterilization),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_training),
        cmocka_unit_test(test_imaging_preparation),
        cmocka_unit_test(test_dose_against_drl),
        cmocka_unit_test(test_live_events),
        cmocka_unit_test(test_appointments),
    };
    int bad = cmocka_run_group_tests_name("care/pure", pure, NULL, NULL);
    bad += cmocka_run_group_tests_name(testdb_group("care"), record, care_setup, care_teardown);
    return bad ? 1 : 0;
}
