/*
 * test_tolerance.c - tolerance QC of devices (src/qc/tolerance.c). The
 * judgement on worked examples with no database: the CT number of water on
 * the daily phantom (0 +- 5 HU), a centrifuge's speed (3000 rpm +- 5%, that
 * is 150 rpm), a value on the limit. Then the record on a real database: a
 * check from its definition through a failure, the lockout it opens, the
 * refused close before a passing result, the signed close; a check overdue;
 * refusals that name the field and write nothing; a changed target that
 * leaves earlier results as they were judged.
 *
 * The database suite runs on BENCHSIDE_TEST_DB (a PostgreSQL database that
 * may be reused between runs) or a temporary SQLite file; asset tags carry a
 * random suffix made once per run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/user.h"
#include "base/id.h"
#include "base/time.h"
#include "qc/tolerance.h"
#include "testdb.h"

#define TOL_PW   "correct horse battery"
#define TOL_HOUR (3600LL * 1000000LL)

/* ------------------------------------------------------------- judgement */

static void test_ct_water(void **state)
{
    (void)state;
    /* CT number of water: 0 +- 5 HU */
    assert_true(qc_tolerance_pass(0, 0, 5));
    assert_true(qc_tolerance_pass(3.2, 0, 5));
    assert_true(qc_tolerance_pass(5, 0, 5)); /* on the limit */
    assert_true(qc_tolerance_pass(-5, 0, 5));
    assert_false(qc_tolerance_pass(5.1, 0, 5));
    assert_false(qc_tolerance_pass(-5.01, 0, 5));
    assert_false(qc_tolerance_pass(7.4, 0, 5));
}

static void test_centrifuge_and_rounding(void **state)
{
    (void)state;
    /* a centrifuge set to 3000 rpm, +- 5% = 150 rpm */
    assert_true(qc_tolerance_pass(3150, 3000, 150));
    assert_true(qc_tolerance_pass(2850, 3000, 150));
    assert_false(qc_tolerance_pass(2849, 3000, 150));
    assert_false(qc_tolerance_pass(3151, 3000, 150));
    /* 4.4 against 4.1 +- 0.3 is on the limit although 4.4 - 4.1 > 0.3 in binary */
    assert_true(4.4 - 4.1 > 0.3);
    assert_true(qc_tolerance_pass(4.4, 4.1, 0.3));
    /* frequencies */
    assert_int_equal(qc_tolerance_hours("8h"), 8);
    assert_int_equal(qc_tolerance_hours("24h"), 24);
    assert_int_equal(qc_tolerance_hours("7d"), 168);
    assert_int_equal(qc_tolerance_hours("1h"), 0);
    assert_int_equal(qc_tolerance_hours(NULL), 0);
}

/* --------------------------------------------------------------- on record */

static db *tol_db;
static char tol_url[512], tol_tmp[256], tol_sfx[11];
static user tol_user;
static audit_ctx tol_ctx;
static const audit_ctx tol_sys = {NULL, "test", "test"};

static int64_t tol_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = -1;
    err_t rc = testdb_scalar(tol_db, sql, arg, &v, &ei);
    if (rc && rc != ERR_NOT_FOUND)
        fail_msg("%s: %s", sql, ei.message);
    return rc ? -1 : v;
}

static json_t *tol_parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

/* A new asset of class cls with tag "<name>-<suffix>": its id into id and
 * its tag into tag (64 bytes). */
static void tol_asset(const char *name, const char *cls, char *id, char *tag)
{
    errinfo ei = {0};
    int64_t now = time_now_us();
    id_new(id);
    snprintf(tag, 64, "%s-%s", name, tol_sfx);
    err_t rc = db_run(tol_db, &ei, NULL,
                      "INSERT INTO assets (id, tag, class, manufacturer, model, serial, location,"
                      " risk_class, owner, status, status_at, created_at, created_by, updated_at)"
                      " VALUES (?, ?, ?, 'Maker', 'M1', ?, 'Imaging', 'high', 'Radiology',"
                      " 'in-service', ?, ?, 'test', ?)",
                      "ttttiii", id, tag, cls, tag, now, now, now);
    if (rc)
        fail_msg("asset: %s", ei.message);
}

/* Define a check of device tag; its id into id. */
static void tol_check(const char *tag, const char *code, double target, double tol,
                      const char *freq, char *id)
{
    char text[512];
    errinfo ei = {0};
    json_t *out = NULL;
    snprintf(text, sizeof(text),
             "{\"device\":\"%s\",\"code\":\"%s\",\"name\":\"CT number of water\","
             "\"unit\":\"[hnsf'U]\",\"target\":%g,\"tolerance\":%g,\"frequency\":\"%s\"}",
             tag, code, target, tol, freq);
    json_t *body = tol_parse(text);
    err_t rc = qc_tolerance_check_create(tol_db, &tol_ctx, body, &out, &ei);
    json_decref(body);
    if (rc)
        fail_msg("check create: %s (%s)", ei.message, ei.field);
    snprintf(id, ID_LEN + 1, "%s", json_string_value(json_object_get(out, "id")));
    json_decref(out);
}

/* Record a result (JSON body text); the result or NULL with *rc. */
static json_t *tol_result(const char *check, const char *text, err_t *rc, errinfo *ei)
{
    json_t *body = tol_parse(text), *out = NULL;
    memset(ei, 0, sizeof(*ei));
    *rc = qc_tolerance_result_enter(tol_db, &tol_ctx, check, body, &out, ei);
    json_decref(body);
    return out;
}

static void tol_fitness(const char *asset, int64_t at, char *why, size_t n)
{
    errinfo ei = {0};
    if (qc_tolerance_fitness(tol_db, asset, at, why, n, &ei))
        fail_msg("fitness: %s", ei.message);
}

static void test_failure_lockout_and_close(void **state)
{
    (void)state;
    char asset[ID_LEN + 1], tag[64], check[ID_LEN + 1], why[300], lock[ID_LEN + 1];
    errinfo ei;
    err_t rc;
    tol_asset("CT", "ct", asset, tag);
    tol_check(tag, "CT-WATER-HU", 0, 5, "24h", check);
    /* defined and never passed: the device waits for its first check */
    tol_fitness(asset, time_now_us(), why, sizeof(why));
    assert_non_null(strstr(why, "never passed"));

    json_t *r = tol_result(check, "{\"value\":1.2}", &rc, &ei);
    assert_int_equal(rc, ERR_OK);
    assert_true(json_is_true(json_object_get(r, "passed")));
    assert_true(json_is_null(json_object_get(r, "lockout")));
    json_decref(r);
    tol_fitness(asset, time_now_us(), why, sizeof(why));
    assert_string_equal(why, "");

    /* 7.4 HU: out of tolerance, the device is locked */
    r = tol_result(check, "{\"value\":\"7.4\",\"note\":\"phantom re-centred\"}", &rc, &ei);
    assert_int_equal(rc, ERR_OK);
    assert_false(json_is_true(json_object_get(r, "passed")));
    assert_true(json_is_string(json_object_get(r, "lockout")));
    snprintf(lock, sizeof(lock), "%s", json_string_value(json_object_get(r, "lockout")));
    json_decref(r);
    tol_fitness(asset, time_now_us(), why, sizeof(why));
    assert_non_null(strstr(why, "out of tolerance: 7.4"));
    assert_non_null(strstr(why, tag));
    assert_int_equal(tol_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND"
                                " action = 'qc.check.lockout.open'",
                                lock),
                     1);
    /* a second failure does not open a second lockout */
    r = tol_result(check, "{\"value\":-6}", &rc, &ei);
    assert_string_equal(json_string_value(json_object_get(r, "lockout")), lock);
    json_decref(r);
    assert_int_equal(tol_scalar("SELECT COUNT(*) FROM qc_check_lockouts WHERE check_id = ?", check),
                     1);

    /* no passing result since the failure: refused */
    json_t *body = tol_parse(
               "{\"corrective_action\":\"recalibrated the detector\",\"password\":\"" TOL_PW "\"}"),
           *out = NULL;
    memset(&ei, 0, sizeof(ei));
    rc = qc_tolerance_lockout_close(tol_db, &tol_ctx, &tol_user, lock, body, &out, &ei);
    assert_int_equal(rc, ERR_CONFLICT);
    assert_null(out);
    r = tol_result(check, "{\"value\":0.4}", &rc, &ei);
    assert_int_equal(rc, ERR_OK);
    json_decref(r);
    /* still locked until the corrective action is signed */
    tol_fitness(asset, time_now_us(), why, sizeof(why));
    assert_non_null(strstr(why, "locked"));
    /* a wrong password is refused */
    json_t *bad = tol_parse("{\"corrective_action\":\"x\",\"password\":\"wrong password\"}");
    memset(&ei, 0, sizeof(ei));
    rc = qc_tolerance_lockout_close(tol_db, &tol_ctx, &tol_user, lock, bad, &out, &ei);
    json_decref(bad);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(ei.field, "password");
    memset(&ei, 0, sizeof(ei));
    rc = qc_tolerance_lockout_close(tol_db, &tol_ctx, &tol_user, lock, body, &out, &ei);
    assert_int_equal(rc, ERR_OK);
    assert_false(json_is_true(json_object_get(out, "open")));
    assert_string_equal(json_string_value(json_object_get(out, "corrective_action")),
                        "recalibrated the detector");
    assert_true(json_is_array(json_object_get(out, "released")));
    json_decref(out);
    out = NULL;
    tol_fitness(asset, time_now_us(), why, sizeof(why));
    assert_string_equal(why, "");
    /* closed already */
    memset(&ei, 0, sizeof(ei));
    assert_int_equal(qc_tolerance_lockout_close(tol_db, &tol_ctx, &tol_user, lock, body, &out, &ei),
                     ERR_CONFLICT);
    json_decref(body);
    json_t *list = NULL;
    memset(&ei, 0, sizeof(ei));
    assert_int_equal(qc_tolerance_results_list(tol_db, check, 0, 0, &list, &ei), ERR_OK);
    assert_int_equal(json_array_size(list), 4);
    json_decref(list);
}

static void test_overdue(void **state)
{
    (void)state;
    char asset[ID_LEN + 1], tag[64], check[ID_LEN + 1], why[300], text[128], iso[TIME_ISO_LEN];
    errinfo ei;
    err_t rc;
    tol_asset("US", "ultrasound", asset, tag);
    tol_check(tag, "US-DEPTH-MM", 160, 10, "24h", check);
    /* passed 30 hours ago: overdue now, fit an hour after it passed */
    int64_t at = time_now_us() - 30 * TOL_HOUR;
    time_format_iso(at, iso);
    snprintf(text, sizeof(text), "{\"value\":158,\"at\":\"%s\"}", iso);
    json_t *r = tol_result(check, text, &rc, &ei);
    assert_int_equal(rc, ERR_OK);
    json_decref(r);
    tol_fitness(asset, time_now_us(), why, sizeof(why));
    assert_non_null(strstr(why, "overdue"));
    tol_fitness(asset, at + TOL_HOUR, why, sizeof(why));
    assert_string_equal(why, "");
    json_t *c = NULL;
    memset(&ei, 0, sizeof(ei));
    assert_int_equal(qc_tolerance_check_get(tol_db, check, &c, &ei), ERR_OK);
    assert_true(json_is_true(json_object_get(c, "overdue")));
    json_decref(c);
    /* an inactive check is not required */
    json_t *body = tol_parse("{\"active\":false}"), *out = NULL;
    memset(&ei, 0, sizeof(ei));
    assert_int_equal(qc_tolerance_check_update(tol_db, &tol_ctx, check, body, &out, &ei), ERR_OK);
    json_decref(body);
    json_decref(out);
    tol_fitness(asset, time_now_us(), why, sizeof(why));
    assert_string_equal(why, "");
}

static void test_refusals_change_nothing(void **state)
{
    (void)state;
    char asset[ID_LEN + 1], tag[64], check[ID_LEN + 1], text[512];
    errinfo ei;
    err_t rc;
    tol_asset("CF", "centrifuge", asset, tag);
    tol_check(tag, "CF-RPM", 3000, 150, "7d", check);
    int64_t head = tol_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
    static const struct {
        const char *body;
        err_t rc;
        const char *field;
    } bad_results[] = {
        {"{\"value\":\"fast\"}", ERR_INVALID, "value"},
        {"{\"value\":3000,\"at\":\"2099-01-01T00:00:00Z\"}", ERR_INVALID, "at"},
        {"{\"value\":3000,\"speed\":1}", ERR_UNKNOWN_FIELD, "speed"},
        {"{}", ERR_MISSING_FIELD, "value"},
    };
    for (size_t i = 0; i < sizeof(bad_results) / sizeof(bad_results[0]); i++) {
        json_t *r = tol_result(check, bad_results[i].body, &rc, &ei);
        assert_null(r);
        assert_int_equal(rc, bad_results[i].rc);
        assert_string_equal(ei.field, bad_results[i].field);
    }
    json_t *r = tol_result("no-such-check", "{\"value\":1}", &rc, &ei);
    assert_null(r);
    assert_int_equal(rc, ERR_NOT_FOUND);
    assert_int_equal(tol_scalar("SELECT COUNT(*) FROM qc_check_results WHERE check_id = ?", check),
                     0);
    static const struct {
        const char *device_suffix, *code, *frequency;
        double tolerance;
        err_t rc;
        const char *field;
    } bad_checks[] = {
        {"", "X", "24h", 0, ERR_INVALID, "tolerance"},
        {"", "X", "hourly", 1, ERR_INVALID, "frequency"},
        {"-none", "X", "24h", 1, ERR_INVALID, "device"},
        {"", "CF-RPM", "24h", 1, ERR_CONFLICT, "code"},
    };
    for (size_t i = 0; i < sizeof(bad_checks) / sizeof(bad_checks[0]); i++) {
        json_t *out = NULL;
        snprintf(text, sizeof(text), "%s%s", tag, bad_checks[i].device_suffix);
        json_t *body =
            json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:s}", "device", text, "code", bad_checks[i].code,
                      "name", "n", "unit", "mm", "target", 1.0, "tolerance",
                      bad_checks[i].tolerance, "frequency", bad_checks[i].frequency);
        memset(&ei, 0, sizeof(ei));
        rc = qc_tolerance_check_create(tol_db, &tol_ctx, body, &out, &ei);
        json_decref(body);
        assert_null(out);
        assert_int_equal(rc, bad_checks[i].rc);
        assert_string_equal(ei.field, bad_checks[i].field);
    }
    assert_int_equal(tol_scalar("SELECT COUNT(*) FROM qc_checks WHERE asset_id = ?", asset), 1);
    assert_int_equal(tol_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL), head);
}

static void test_changed_target_keeps_history(void **state)
{
    (void)state;
    char asset[ID_LEN + 1], tag[64], check[ID_LEN + 1];
    errinfo ei;
    err_t rc;
    tol_asset("CT2", "ct", asset, tag);
    tol_check(tag, "CT-NOISE", 4, 1, "24h", check);
    json_t *r = tol_result(check, "{\"value\":4.5}", &rc, &ei);
    assert_int_equal(rc, ERR_OK);
    json_decref(r);
    json_t *body = tol_parse("{\"target\":6,\"tolerance\":0.5}"), *out = NULL;
    memset(&ei, 0, sizeof(ei));
    assert_int_equal(qc_tolerance_check_update(tol_db, &tol_ctx, check, body, &out, &ei), ERR_OK);
    json_decref(body);
    assert_true(json_number_value(json_object_get(out, "target")) == 6);
    json_decref(out);
    /* 4.5 against the new target fails; the first result stays as judged */
    r = tol_result(check, "{\"value\":4.5}", &rc, &ei);
    assert_false(json_is_true(json_object_get(r, "passed")));
    json_decref(r);
    json_t *list = NULL;
    memset(&ei, 0, sizeof(ei));
    assert_int_equal(qc_tolerance_results_list(tol_db, check, 0, 0, &list, &ei), ERR_OK);
    assert_int_equal(json_array_size(list), 2);
    json_t *first = json_array_get(list, 0);
    assert_true(json_is_true(json_object_get(first, "passed")));
    assert_true(json_number_value(json_object_get(first, "target")) == 4);
    assert_true(json_number_value(json_object_get(first, "deviation")) == 0.5);
    json_decref(list);
}

static int tol_setup(void **state)
{
    (void)state;
    errinfo ei = {0};
    char username[USER_NAME_MAX + 1], lower[11];
    if (!testdb_pick("tolerance", tol_url, sizeof(tol_url), tol_tmp, sizeof(tol_tmp)))
        return -1;
    testdb_suffix(tol_sfx, 10, false);
    if (!testdb_open(tol_url, &tol_sys, &tol_db))
        return -1;
    testdb_suffix(lower, 10, true);
    snprintf(username, sizeof(username), "tol-%s", lower);
    if (user_create(tol_db, &tol_sys, username, "QC Supervisor", "supervisor", TOL_PW, &tol_user,
                    &ei)) {
        fprintf(stderr, "user_create: %s\n", ei.message);
        return -1;
    }
    tol_ctx.actor_id = tol_user.id;
    tol_ctx.actor = tol_user.username;
    tol_ctx.source = "test";
    return 0;
}

static int tol_teardown(void **state)
{
    (void)state;
    testdb_close(tol_db, tol_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest judgement[] = {
        cmocka_unit_test(test_ct_water),
        cmocka_unit_test(test_centrifuge_and_rounding),
    };
    const struct CMUnitTest record[] = {
        cmocka_unit_test(test_failure_lockout_and_close),
        cmocka_unit_test(test_overdue),
        cmocka_unit_test(test_refusals_change_nothing),
        cmocka_unit_test(test_changed_target_keeps_history),
    };
    int bad = cmocka_run_group_tests_name("tolerance/judgement", judgement, NULL, NULL);
    bad += cmocka_run_group_tests_name(testdb_group("tolerance"), record, tol_setup, tol_teardown);
    return bad;
}
