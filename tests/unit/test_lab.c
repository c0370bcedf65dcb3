/*
 * test_lab.c - unit tests of the laboratory core (src/lab): accession numbers
 * and their check digit, patients (validation, duplicates, search, audited
 * reads, age), and orders with their expansion into specimens. Runs on the
 * database in BENCHSIDE_TEST_DB or on a temporary SQLite file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/user.h"
#include "base/id.h"
#include "base/time.h"
#include "lab/accession.h"
#include "lab/catalog.h"
#include "lab/charge.h"

#include "lab/custody.h"
#include "lab/order.h"
#include "lab/report.h"
#include "lab/result.h"

#include "lab/specimen.h"
#include "lab/tat.h"
#include "proto/hl7.h"

#include "lab/patient.h"
#include "store/db.h"
#include "testdb.h"

static db *lab_db;
static char lab_url[512], lab_tmp[256], lab_sfx[11];
static const audit_ctx lab_ctx = {NULL, "test", "test"};

static int64_t lab_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = -1;
    err_t rc = testdb_scalar(lab_db, sql, arg, &v, &ei);
    if (rc && rc != ERR_NOT_FOUND)
        fail_msg("%s: %s", sql, ei.message);
    return rc ? -1 : v;
}

static int64_t lab_head(void)
{
    return lab_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

/* ------------------------------------------------------------ accession */

static void test_check_digit(void **state)
{
    (void)state;
    /* Luhn worked examples: 7992739871 -> 3; 0 -> 0; 18 -> 2 */
    assert_int_equal(accession_check_digit("7992739871", 10), '3');
    assert_int_equal(accession_check_digit("0", 1), '0');
    assert_int_equal(accession_check_digit("18", 2), '2');
    assert_int_equal(accession_check_digit("1a", 2), -1);

    char good[ACCESSION_LEN + 1] = "26325000042";
    good[11] = (char)accession_check_digit(good, 11);
    good[12] = '\0';
    errinfo ei = {0};
    assert_int_equal(accession_check(good, 12, &ei), ERR_OK);
    /* every single-digit typo is caught */
    for (int pos = 0; pos < 12; pos++) {
        for (char c = '0'; c <= '9'; c++) {
            char bad[13];
            memcpy(bad, good, 13);
            if (bad[pos] == c)
                continue;
            bad[pos] = c;
            assert_int_equal(accession_check(bad, 12, &ei), ERR_INVALID);
            assert_string_equal(ei.field, "accession");
        }
    }
    /* swapped neighbours (other than 0<->9) are caught */
    for (int pos = 0; pos < 11; pos++) {
        char bad[13];
        memcpy(bad, good, 13);
        if (bad[pos] == bad[pos + 1] || (bad[pos] - '0') + (bad[pos + 1] - '0') == 9)
            continue;
        char t = bad[pos];
        bad[pos] = bad[pos + 1];
        bad[pos + 1] = t;
        assert_int_equal(accession_check(bad, 12, &ei), ERR_INVALID);
    }
    assert_int_equal(accession_check("1234", 4, &ei), ERR_INVALID);
    assert_non_null(strstr(ei.message, "12 digits"));
    assert_int_equal(accession_check("26325000042X", 12, &ei), ERR_INVALID);
}

static void test_accession_next(void **state)
{
    (void)state;
    errinfo ei = {0};
    char a[ACCESSION_LEN + 1], b[ACCESSION_LEN + 1], c[ACCESSION_LEN + 1];
    int64_t t = 0, t2 = 0;
    /* a day far in the past, so that runs never collide with real numbers */
    assert_int_equal(time_parse_iso("2001-02-03T10:00:00Z", 20, &t, NULL), ERR_OK);
    assert_int_equal(time_parse_iso("2001-12-31T23:59:59Z", 20, &t2, NULL), ERR_OK);
    assert_int_equal(db_begin(lab_db, &ei), ERR_OK);
    assert_int_equal(accession_next(lab_db, t, a, &ei), ERR_OK);
    assert_int_equal(accession_next(lab_db, t, b, &ei), ERR_OK);
    assert_int_equal(accession_next(lab_db, t2, c, &ei), ERR_OK);
    db_rollback(lab_db);
    assert_int_equal(strlen(a), ACCESSION_LEN);
    assert_memory_equal(a, "01034", 5); /* year 01, day 034 */
    assert_memory_equal(c, "01365", 5); /* 31 December of a common year */
    assert_int_equal(accession_check(a, 12, &ei), ERR_OK);
    assert_int_equal(accession_check(b, 12, &ei), ERR_OK);
    assert_true(strcmp(a, b) < 0);
    /* consecutive numbers */
    assert_int_equal(atoi(b + 5) / 10 - atoi(a + 5) / 10, 1);
}

/* ------------------------------------------------------------- patients */

static json_t *lab_patient_body(const char *mrn, const char *family, const char *given,
                                const char *birth, const char *sex)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "mrn", mrn, "family", family, "given", given,
                     "birth_date", birth, "sex", sex);
}

static void lab_mrn(char *out, size_t n, const char *prefix)
{
    snprintf(out, n, "%s-%s", prefix, lab_sfx);
}

static void test_patient_create_and_duplicates(void **state)
{
    (void)state;
    char mrn[40], mrn2[40], family[40];
    errinfo ei = {0};
    json_t *cand = NULL;
    patient p, q;
    lab_mrn(mrn, sizeof(mrn), "M1");
    lab_mrn(mrn2, sizeof(mrn2), "M2");
    snprintf(family, sizeof(family), "Okafor%s", lab_sfx);

    json_t *b = lab_patient_body(mrn, family, "Ada", "1984-03-09", "female");
    int64_t before = lab_head();
    assert_int_equal(patient_create(lab_db, &lab_ctx, b, &p, &cand, &ei), ERR_OK);
    assert_null(cand);
    assert_string_equal(p.mrn, mrn);
    assert_string_equal(p.birth_date, "1984-03-09");
    assert_int_equal(lab_head(), before + 1);
    json_decref(b);

    /* same MRN: conflict on mrn, nothing written */
    before = lab_head();
    b = lab_patient_body(mrn, "Other", "Person", "1990-01-01", "male");
    assert_int_equal(patient_create(lab_db, &lab_ctx, b, &q, &cand, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "mrn");
    assert_int_equal(lab_head(), before);
    json_decref(b);

    /* same person by name (any case, spaces) and birth date: conflict with the candidate */
    char lower[48];
    snprintf(lower, sizeof(lower), "  %s ", family);
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    b = lab_patient_body(mrn2, lower, "ADA", "1984-03-09", "female");
    assert_int_equal(patient_create(lab_db, &lab_ctx, b, &q, &cand, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "birth_date");
    assert_non_null(cand);
    assert_string_equal(json_string_value(json_object_get(cand, "id")), p.id);
    json_decref(cand);
    cand = NULL;
    assert_int_equal(lab_scalar("SELECT COUNT(*) FROM patients WHERE mrn = ?", mrn2), 0);
    /* ... unless confirmed as a different person */
    json_object_set_new(b, "confirm_new", json_true());
    assert_int_equal(patient_create(lab_db, &lab_ctx, b, &q, &cand, &ei), ERR_OK);
    assert_string_equal(q.family, lower + 2 == NULL ? "" : q.family);
    assert_int_equal(strchr(q.family, ' ') == NULL, 1); /* trimmed */
    json_decref(b);
}

static void test_patient_refusals(void **state)
{
    (void)state;
    struct {
        const char *mrn, *family, *given, *birth, *sex, *field;
    } cases[] = {
        {"M x", "A", "B", "1980-01-01", "female", "mrn"},
        {"OK1", "A", "B", "2999-01-01", "female", "birth_date"},
        {"OK1", "A", "B", "1980-02-30", "female", "birth_date"},
        {"OK1", "A", "B", "1800-01-01", "female", "birth_date"},
        {"OK1", "A", "B", "01/02/1980", "female", "birth_date"},
        {"OK1", "A", "B", "1980-01-01", "f", "sex"},
        {"OK1", "   ", "B", "1980-01-01", "female", "family"},
        {"OK1", "A\tB", "B", "1980-01-01", "female", "family"},
    };
    int64_t before = lab_head();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        errinfo ei = {0};
        json_t *cand = NULL;
        patient p;
        json_t *b = lab_patient_body(cases[i].mrn, cases[i].family, cases[i].given, cases[i].birth,
                                     cases[i].sex);
        assert_int_equal(patient_create(lab_db, &lab_ctx, b, &p, &cand, &ei), ERR_INVALID);
        assert_string_equal(ei.field, cases[i].field);
        json_decref(b);
    }
    /* identifiers: shape checked, the path named */
    errinfo ei = {0};
    json_t *cand = NULL;
    patient p;
    json_t *b = lab_patient_body("OK2", "A", "B", "1980-01-01", "male");
    json_object_set_new(b, "identifiers", json_pack("[{s:s}]", "system", "x"));
    assert_int_equal(patient_create(lab_db, &lab_ctx, b, &p, &cand, &ei), ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "identifiers[0].value");
    json_object_set_new(b, "extra", json_true());
    assert_int_equal(patient_create(lab_db, &lab_ctx, b, &p, &cand, &ei), ERR_UNKNOWN_FIELD);
    json_decref(b);
    assert_int_equal(lab_head(), before);
    assert_int_equal(lab_scalar("SELECT COUNT(*) FROM patients WHERE mrn = ?", "OK1"), 0);
}

static void test_patient_search_and_read(void **state)
{
    (void)state;
    char mrn[40], family[40], next[ID_LEN + 1];
    errinfo ei = {0};
    json_t *cand = NULL, *items = NULL, *ids = NULL;
    patient p, r;
    lab_mrn(mrn, sizeof(mrn), "S1");
    snprintf(family, sizeof(family), "Nguyen_%s", lab_sfx);
    json_t *b = lab_patient_body(mrn, family, "Minh", "1955-07-21", "male");
    json_object_set_new(b, "identifiers", json_pack("[{s:s,s:s}]", "system", "ehr", "value", "E9"));
    assert_int_equal(patient_create(lab_db, &lab_ctx, b, &p, &cand, &ei), ERR_OK);
    json_decref(b);

    /* by family prefix, any case; '_' is a literal, not a wildcard */
    char prefix[40];
    snprintf(prefix, sizeof(prefix), "NGUYEN_%s", lab_sfx);
    int64_t before = lab_head();
    assert_int_equal(
        patient_search(lab_db, &lab_ctx, NULL, prefix, NULL, 10, NULL, &items, next, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(lab_head(), before + 1); /* the search is audited */
    json_decref(items);
    char wild[40];
    snprintf(wild, sizeof(wild), "Nguyen%%%s", lab_sfx);
    assert_int_equal(
        patient_search(lab_db, &lab_ctx, NULL, wild, NULL, 10, NULL, &items, next, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    /* "family, given" and mrn and birth date */
    char fg[60];
    snprintf(fg, sizeof(fg), "%s, mi", family);
    assert_int_equal(
        patient_search(lab_db, &lab_ctx, mrn, fg, "1955-07-21", 10, NULL, &items, next, &ei),
        ERR_OK);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);
    assert_int_equal(
        patient_search(lab_db, &lab_ctx, NULL, NULL, NULL, 10, NULL, &items, next, &ei),
        ERR_MISSING_FIELD);
    assert_int_equal(
        patient_search(lab_db, &lab_ctx, NULL, NULL, "1955-13-01", 10, NULL, &items, next, &ei),
        ERR_INVALID);

    /* read: audited, with identifiers */
    before = lab_head();
    assert_int_equal(patient_read(lab_db, &lab_ctx, p.id, &r, &ids, &ei), ERR_OK);
    assert_string_equal(r.mrn, mrn);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ids, 0), "value")), "E9");
    json_decref(ids);
    assert_int_equal(lab_head(), before + 1);
    assert_int_equal(patient_read(lab_db, &lab_ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &r, &ids, &ei),
                     ERR_NOT_FOUND);
    assert_int_equal(lab_head(), before + 1);

    /* age in days at a time */
    int64_t t = 0;
    time_parse_iso("1956-07-21T00:00:00Z", 20, &t, NULL);
    assert_int_equal(patient_age_days(&p, t), 366); /* 1956 is a leap year */
    time_parse_iso("1950-01-01T00:00:00Z", 20, &t, NULL);
    assert_int_equal(patient_age_days(&p, t), -1);
}

/* --------------------------------------------------------------- orders */

static void test_icd10(void **state)
{
    (void)state;
    static const char *const good[] = {"E11.9", "R73.09", "Z00.00", "S72.001A",
                                       "R51",   "U07.1",  "I10",    "O09.523"};
    static const char *const bad[] = {"E11.",  "e11.9",  "11.9", "E1",   "E11.12345",
                                      "E11-9", "E11.9 ", "",     "EE1.9"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(order_icd10_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(order_icd10_valid(bad[i]));
}

static void lab_new_patient(patient *p)
{
    char mrn[40];
    errinfo ei = {0};
    json_t *cand = NULL;
    static int n;
    snprintf(mrn, sizeof(mrn), "O%d-%s", ++n, lab_sfx);
    json_t *b = lab_patient_body(mrn, "Order", "Patient", "1970-05-05", "male");
    json_object_set_new(b, "confirm_new", json_true());
    assert_int_equal(patient_create(lab_db, &lab_ctx, b, p, &cand, &ei), ERR_OK);
    json_decref(b);
}

static json_t *lab_order_body(const char *patient_id, json_t *tests, json_t *reasons)
{
    return json_pack("{s:s,s:o,s:s,s:s,s:o,s:{s:b,s:s}}", "patient_id", patient_id, "tests", tests,
                     "priority", "stat", "clinician", "Dr. A. Clinician", "reasons", reasons,
                     "instructions", "fasting", 1, "note", "draw before insulin");
}

static void test_order_expansion(void **state)
{
    (void)state;
    errinfo ei = {0};
    json_t *out = NULL, *again = NULL;
    patient p;
    lab_new_patient(&p);
    /* BMP and CBC panels, GLU again on its own, TSH alone: serum (SST) and EDTA tubes */
    json_t *b = lab_order_body(p.id, json_pack("[s,s,s,s]", "BMP", "CBC", "GLU", "TSH"),
                               json_pack("[s,s]", "E11.9", "R73.09"));
    int64_t before = lab_head();
    assert_int_equal(order_create(lab_db, &lab_ctx, b, &out, &ei), ERR_OK);
    json_decref(b);
    assert_int_equal(lab_head(), before + 2); /* order.create, then the read that answers */
    assert_string_equal(json_string_value(json_object_get(out, "priority")), "stat");
    assert_true(json_is_true(json_object_get(json_object_get(out, "instructions"), "fasting")));
    json_t *specs = json_object_get(out, "specimens");
    assert_int_equal(json_array_size(specs), 2);
    int total = 0, glu = 0;
    size_t i, j;
    json_t *s, *t;
    json_array_foreach(specs, i, s)
    {
        errinfo e2 = {0};
        const char *acc = json_string_value(json_object_get(s, "accession"));
        assert_int_equal(accession_check(acc, strlen(acc), &e2), ERR_OK);
        assert_string_equal(json_string_value(json_object_get(s, "status")), "pending");
        const char *container = json_string_value(json_object_get(s, "container"));
        json_array_foreach(json_object_get(s, "tests"), j, t)
        {
            const char *code = json_string_value(json_object_get(t, "code"));
            catalog_test ct;
            assert_int_equal(catalog_get(lab_db, code, &ct, &e2), ERR_OK);
            assert_string_equal(ct.container, container); /* the right tube */
            if (!strcmp(code, "GLU")) {
                glu++;
                /* ordered in BMP first: it belongs to the panel */
                assert_string_equal(json_string_value(json_object_get(t, "panel")), "BMP");
            }
            total++;
        }
    }
    assert_int_equal(glu, 1);           /* asked twice, measured once */
    assert_int_equal(total, 8 + 9 + 1); /* BMP, CBC, TSH */

    /* read back: the same, and audited */
    before = lab_head();
    assert_int_equal(
        order_read(lab_db, &lab_ctx, json_string_value(json_object_get(out, "id")), &again, &ei),
        ERR_OK);
    assert_true(json_equal(out, again));
    assert_int_equal(lab_head(), before + 1);
    json_decref(again);
    json_decref(out);
}

static void test_order_refusals(void **state)
{
    (void)state;
    patient p;
    lab_new_patient(&p);
    struct {
        json_t *body;
        const char *field;
    } cases[] = {
        {lab_order_body(p.id, json_pack("[s,s]", "CBC", "NOPE"), json_pack("[s]", "E11.9")),
         "tests[1]"},
        {lab_order_body(p.id, json_pack("[]"), json_pack("[s]", "E11.9")), "tests"},
        {lab_order_body(p.id, json_pack("[s]", "CBC"), json_pack("[s,s]", "E11.9", "diabetes")),
         "reasons[1]"},
        {lab_order_body(p.id, json_pack("[s]", "CBC"), json_pack("[]")), "reasons"},
        {lab_order_body("01ARZ3NDEKTSV4RRFFQ69G5FAV", json_pack("[s]", "CBC"),
                        json_pack("[s]", "E11.9")),
         "patient_id"},
    };
    cases[0].body = cases[0].body;
    json_object_set_new(cases[1].body, "priority", json_string("stat"));
    json_t *bad_priority = lab_order_body(p.id, json_pack("[s]", "CBC"), json_pack("[s]", "E11.9"));
    json_object_set_new(bad_priority, "priority", json_string("urgent"));
    json_t *bad_time = lab_order_body(p.id, json_pack("[s]", "CBC"), json_pack("[s]", "E11.9"));
    json_object_set_new(json_object_get(bad_time, "instructions"), "timed_at",
                        json_string("tomorrow"));
    int64_t before = lab_head();
    int64_t orders = lab_scalar("SELECT COUNT(*) FROM orders", NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        errinfo ei = {0};
        json_t *out = NULL;
        assert_int_equal(order_create(lab_db, &lab_ctx, cases[i].body, &out, &ei), ERR_INVALID);
        assert_string_equal(ei.field, cases[i].field);
        assert_null(out);
        json_decref(cases[i].body);
    }
    errinfo ei = {0};
    json_t *out = NULL;
    assert_int_equal(order_create(lab_db, &lab_ctx, bad_priority, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "priority");
    assert_int_equal(order_create(lab_db, &lab_ctx, bad_time, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "instructions.timed_at");
    json_decref(bad_priority);
    json_decref(bad_time);
    assert_int_equal(lab_head(), before);
    assert_int_equal(lab_scalar("SELECT COUNT(*) FROM orders", NULL), orders);
}

static void test_specimen_read_and_label(void **state)
{
    (void)state;
    errinfo ei = {0};
    json_t *out = NULL, *sp = NULL;
    patient p;
    lab_new_patient(&p);
    json_t *b = lab_order_body(p.id, json_pack("[s]", "CBC"), json_pack("[s]", "D64.9"));
    assert_int_equal(order_create(lab_db, &lab_ctx, b, &out, &ei), ERR_OK);
    json_decref(b);
    const char *acc = json_string_value(
        json_object_get(json_array_get(json_object_get(out, "specimens"), 0), "accession"));
    int64_t before = lab_head();
    assert_int_equal(specimen_read(lab_db, &lab_ctx, acc, &sp, &ei), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(sp, "tests")), 9);
    assert_int_equal(lab_head(), before + 1);
    json_decref(sp);

    buf zpl = BUF_INIT, pdf = BUF_INIT;
    assert_int_equal(specimen_label(lab_db, &lab_ctx, acc, false, &zpl, &ei), ERR_OK);
    assert_non_null(strstr(zpl.data, acc));
    assert_non_null(strstr(zpl.data, "CBC"));
    assert_non_null(strstr(zpl.data, "ORDER")); /* family name in capitals */
    assert_int_equal(specimen_label(lab_db, &lab_ctx, acc, true, &pdf, &ei), ERR_OK);
    assert_memory_equal(pdf.data, "%PDF-", 5);
    assert_int_equal(lab_head(), before + 3);
    buf_free(&zpl);
    buf_free(&pdf);

    /* a mistyped accession is refused for its check digit, an unknown one is not found */
    char typo[ACCESSION_LEN + 1];
    memcpy(typo, acc, sizeof(typo));
    typo[3] = typo[3] == '9' ? '0' : (char)(typo[3] + 1);
    assert_int_equal(specimen_read(lab_db, &lab_ctx, typo, &sp, &ei), ERR_INVALID);
    assert_non_null(strstr(ei.message, "check digit"));
    char other[ACCESSION_LEN + 1] = "00001999999";
    other[11] = (char)accession_check_digit(other, 11);
    other[12] = '\0';
    assert_int_equal(specimen_read(lab_db, &lab_ctx, other, &sp, &ei), ERR_NOT_FOUND);
    json_decref(out);
}

/* -------------------------------------------------------------- custody */

/* A new CBC order; its one specimen's accession into acc. */
static void lab_new_specimen(char acc[ACCESSION_LEN + 1])
{
    errinfo ei = {0};
    json_t *out = NULL;
    patient p;
    lab_new_patient(&p);
    json_t *b = lab_order_body(p.id, json_pack("[s]", "CBC"), json_pack("[s]", "D64.9"));
    assert_int_equal(order_create(lab_db, &lab_ctx, b, &out, &ei), ERR_OK);
    json_decref(b);
    snprintf(acc, ACCESSION_LEN + 1, "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(out, "specimens"), 0),
                                               "accession")));
    json_decref(out);
}

/* Record an event given as JSON text; returns the code, the answer in *out (may be NULL). */
static err_t lab_event(const char *acc, const char *json, json_t **out, errinfo *ei)
{
    json_error_t je;
    json_t *b = json_loads(json, 0, &je), *o = NULL;
    assert_non_null(b);
    err_clear(ei);
    err_t rc = custody_record(lab_db, &lab_ctx, acc, b, &o, ei);
    json_decref(b);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static const char *lab_status(const json_t *spec)
{
    return json_string_value(json_object_get(spec, "status"));
}

static void test_custody_path(void **state)
{
    (void)state;
    char acc[ACCESSION_LEN + 1];
    errinfo ei;
    json_t *o = NULL;
    lab_new_specimen(acc);

    /* received before collected: refused, nothing changes */
    int64_t before = lab_head();
    assert_int_equal(lab_event(acc, "{\"event\":\"received\"}", NULL, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "event");
    assert_non_null(strstr(ei.message, "pending"));
    assert_int_equal(lab_head(), before);

    assert_int_equal(lab_event(acc,
                               "{\"event\":\"collected\",\"at\":\"2026-01-05T08:00:00Z\","
                               "\"location\":\"Ward 4B\",\"site\":\"left antecubital\"}",
                               &o, &ei),
                     ERR_OK);
    assert_string_equal(lab_status(o), "collected");
    assert_string_equal(json_string_value(json_object_get(o, "collected_at")),
                        "2026-01-05T08:00:00.000000Z");
    json_decref(o);
    /* an event earlier than the previous one is refused */
    assert_int_equal(
        lab_event(acc, "{\"event\":\"received\",\"at\":\"2026-01-05T07:59:00Z\"}", NULL, &ei),
        ERR_INVALID);
    assert_string_equal(ei.field, "at");
    /* the future is refused */
    assert_int_equal(
        lab_event(acc, "{\"event\":\"received\",\"at\":\"2999-01-01T00:00:00Z\"}", NULL, &ei),
        ERR_INVALID);
    assert_string_equal(ei.field, "at");
    /* fields of other events are refused */
    assert_int_equal(lab_event(acc, "{\"event\":\"received\",\"rack\":\"R1\"}", NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "rack");
    assert_int_equal(lab_event(acc, "{\"event\":\"spun\"}", NULL, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "event");

    assert_int_equal(
        lab_event(acc, "{\"event\":\"received\",\"at\":\"2026-01-05T08:40:00Z\"}", &o, &ei),
        ERR_OK);
    assert_string_equal(lab_status(o), "received");
    json_decref(o);
    assert_int_equal(
        lab_event(acc, "{\"event\":\"centrifuged\",\"at\":\"2026-01-05T08:50:00Z\"}", NULL, &ei),
        ERR_OK);
    /* aliquots: new specimens with their own accession, pointing at the parent */
    assert_int_equal(lab_event(acc, "{\"event\":\"aliquoted\",\"count\":11}", NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "count");
    assert_int_equal(lab_event(acc,
                               "{\"event\":\"aliquoted\",\"count\":2,"
                               "\"at\":\"2026-01-05T09:00:00Z\"}",
                               &o, &ei),
                     ERR_OK);
    json_t *al = json_object_get(o, "aliquots");
    assert_int_equal(json_array_size(al), 2);
    json_t *child = NULL;
    assert_int_equal(
        specimen_read(lab_db, &lab_ctx, json_string_value(json_array_get(al, 0)), &child, &ei),
        ERR_OK);
    assert_string_equal(json_string_value(json_object_get(child, "parent_id")),
                        json_string_value(json_object_get(o, "id")));
    assert_string_equal(lab_status(child), "in-process");
    json_decref(child);
    json_decref(o);
    /* stored needs rack, position and temperature */
    assert_int_equal(
        lab_event(acc, "{\"event\":\"stored\",\"rack\":\"R7\",\"position\":\"B3\"}", NULL, &ei),
        ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "temperature");
    assert_int_equal(lab_event(acc,
                               "{\"event\":\"stored\",\"rack\":\"R7\",\"position\":\"B3\","
                               "\"temperature\":\"refrigerated\",\"at\":\"2026-01-05T10:00:00Z\"}",
                               &o, &ei),
                     ERR_OK);
    assert_string_equal(lab_status(o), "stored");
    assert_non_null(strstr(json_string_value(json_object_get(o, "storage")), "R7"));
    json_decref(o);
    assert_int_equal(
        lab_event(acc, "{\"event\":\"disposed\",\"at\":\"2026-01-12T10:00:00Z\"}", &o, &ei),
        ERR_OK);
    assert_string_equal(lab_status(o), "disposed");
    /* the whole chain, in order */
    json_t *ev = json_object_get(o, "events");
    static const char *const want[] = {"collected", "received", "centrifuged",
                                       "aliquoted", "stored",   "disposed"};
    assert_int_equal(json_array_size(ev), 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(ev, i), "event")),
                            want[i]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "location")),
                        "Ward 4B");
    json_decref(o);
    /* nothing after disposal */
    assert_int_equal(lab_event(acc, "{\"event\":\"retrieved\"}", NULL, &ei), ERR_INVALID);
}

static void test_collection_before_birth(void **state)
{
    (void)state;
    char acc[ACCESSION_LEN + 1];
    errinfo ei;
    lab_new_specimen(acc); /* the patient was born 1970-05-05 */
    assert_int_equal(
        lab_event(acc, "{\"event\":\"collected\",\"at\":\"1969-01-01T00:00:00Z\"}", NULL, &ei),
        ERR_INVALID);
    assert_string_equal(ei.field, "at");
    assert_non_null(strstr(ei.message, "birth"));
}

static void test_rejection(void **state)
{
    (void)state;
    char acc[ACCESSION_LEN + 1];
    errinfo ei = {0};
    json_t *o = NULL, *b;
    json_error_t je;
    lab_new_specimen(acc);
    /* a pending specimen cannot be rejected */
    b = json_loads("{\"reason\":\"hemolyzed\"}", 0, &je);
    assert_int_equal(custody_reject(lab_db, &lab_ctx, acc, b, &o, &ei), ERR_INVALID);
    assert_int_equal(lab_event(acc, "{\"event\":\"collected\"}", NULL, &ei), ERR_OK);
    assert_int_equal(lab_event(acc, "{\"event\":\"received\"}", NULL, &ei), ERR_OK);
    json_t *bad = json_loads("{\"reason\":\"looked odd\"}", 0, &je);
    assert_int_equal(custody_reject(lab_db, &lab_ctx, acc, bad, &o, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "reason");
    json_decref(bad);

    int64_t before = lab_head();
    assert_int_equal(custody_reject(lab_db, &lab_ctx, acc, b, &o, &ei), ERR_OK);
    json_decref(b);
    assert_string_equal(lab_status(o), "rejected");
    assert_string_equal(json_string_value(json_object_get(o, "rejection_reason")), "hemolyzed");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(o, "tests"), i, t)
    {
        assert_string_equal(json_string_value(json_object_get(t, "status")), "cancelled");
    }
    json_t *re = json_object_get(o, "recollection");
    assert_string_equal(lab_status(re), "pending");
    assert_int_equal(json_array_size(json_object_get(re, "tests")), 9);
    json_array_foreach(json_object_get(re, "tests"), i, t)
    {
        assert_string_equal(json_string_value(json_object_get(t, "status")), "ordered");
        assert_string_equal(json_string_value(json_object_get(t, "panel")), "CBC");
    }
    const char *racc = json_string_value(json_object_get(re, "accession"));
    assert_int_equal(accession_check(racc, strlen(racc), &ei), ERR_OK);
    assert_int_equal(lab_head(), before + 2); /* specimen.event and specimen.reject */
    /* a rejected specimen is not received again, but may be disposed of */
    assert_int_equal(lab_event(acc, "{\"event\":\"received\"}", NULL, &ei), ERR_INVALID);
    assert_int_equal(lab_event(acc, "{\"event\":\"disposed\"}", NULL, &ei), ERR_OK);
    json_decref(o);
}

/* ----------------------------------------------------------- turnaround */

static void test_turnaround(void **state)
{
    (void)state;
    errinfo ei = {0};
    json_t *out = NULL, *od = NULL, *sum = NULL;
    patient p;
    char body[160], when[TIME_ISO_LEN], coll[TIME_ISO_LEN];
    int64_t now = time_now_us();
    lab_new_patient(&p);
    /* a STAT glucose (target 60 minutes from receipt), received 3 hours ago */
    json_t *b = json_pack("{s:s,s:[s],s:s,s:s,s:[s]}", "patient_id", p.id, "tests", "GLU",
                          "priority", "stat", "clinician", "Dr T", "reasons", "R73.9");
    assert_int_equal(order_create(lab_db, &lab_ctx, b, &out, &ei), ERR_OK);
    json_decref(b);
    char acc[ACCESSION_LEN + 1];
    snprintf(acc, sizeof(acc), "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(out, "specimens"), 0),
                                               "accession")));
    json_decref(out);
    time_format_iso(now - 4 * 3600LL * 1000000, coll);
    time_format_iso(now - 3 * 3600LL * 1000000, when);
    snprintf(body, sizeof(body), "{\"event\":\"collected\",\"at\":\"%s\"}", coll);
    assert_int_equal(lab_event(acc, body, NULL, &ei), ERR_OK);
    snprintf(body, sizeof(body), "{\"event\":\"received\",\"at\":\"%s\"}", when);
    assert_int_equal(lab_event(acc, body, NULL, &ei), ERR_OK);

    assert_int_equal(tat_overdue(lab_db, &lab_ctx, now, &od, &ei), ERR_OK);
    size_t i;
    json_t *it, *mine = NULL;
    json_array_foreach(json_object_get(od, "items"), i, it)
    {
        if (!strcmp(json_string_value(json_object_get(it, "accession")), acc))
            mine = it;
    }
    assert_non_null(mine);
    assert_string_equal(json_string_value(json_object_get(mine, "code")), "GLU");
    /* received 180 minutes ago, target 60: 120 minutes late */
    assert_int_equal(json_integer_value(json_object_get(mine, "minutes_late")), 120);
    json_decref(od);

    /* released now: 180 minutes from receipt, 240 from collection, not within target */
    json_t *rb = json_pack("{s:[{s:s,s:i}]}", "results", "code", "GLU", "value", 90);
    assert_int_equal(result_enter(lab_db, &lab_ctx, acc, rb, &out, &ei), ERR_OK);
    json_decref(rb);
    json_decref(out);
    assert_int_equal(tat_summary(lab_db, now - 60LL * 1000000, time_now_us() + 1, &sum, &ei),
                     ERR_OK);
    json_t *stat = json_array_get(json_object_get(sum, "priorities"), 0);
    assert_string_equal(json_string_value(json_object_get(stat, "priority")), "stat");
    assert_true(json_integer_value(json_object_get(stat, "count")) >= 1);
    double med =
        json_real_value(json_object_get(json_object_get(stat, "from_receipt_minutes"), "median"));
    assert_true(med >= 179.9 && med <= 181.0);
    double analytic = json_real_value(
        json_object_get(json_object_get(stat, "receipt_to_result_minutes"), "median"));
    double review = json_real_value(
        json_object_get(json_object_get(stat, "result_to_release_minutes"), "median"));
    assert_true(analytic >= 179.9 && analytic <= 181.0);
    assert_true(review >= 0.0 && review < 1.0); /* auto-verified at once */
    json_decref(sum);
    assert_int_equal(tat_summary(lab_db, now, now - 1, &sum, &ei), ERR_INVALID);
}

/* --------------------------------------------------------------- report */

/* The patient's cumulative report into txt as text, read back with poppler's
 * pdftotext (-layout keeps each grid row on one line); one report.read. */
static void lab_report_text(const char *patient_id, buf *txt)
{
    errinfo ei = {0};
    buf pdf = BUF_INIT;
    char path[] = "/tmp/benchside-report-XXXXXX", cmd[128], chunk[4096];
    size_t n;
    int64_t before = lab_head();
    assert_int_equal(report_patient_pdf(lab_db, &lab_ctx, patient_id, &pdf, &ei), ERR_OK);
    assert_int_equal(lab_head(), before + 1); /* report.read */
    assert_memory_equal(pdf.data, "%PDF-", 5);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, pdf.data, pdf.len), (ssize_t)pdf.len);
    close(fd);
    buf_free(&pdf);
    snprintf(cmd, sizeof(cmd), "pdftotext -layout %s - 2>/dev/null", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(txt, chunk, n), ERR_OK);
    assert_int_equal(pclose(f), 0);
    unlink(path);
    assert_non_null(txt->data);
}

/* One test ordered for the patient, collected and received now and its value
 * entered, released in automatic mode; the result's id into rid. */
static void lab_resulted(const char *patient_id, const char *test, const char *value,
                         char rid[ID_LEN + 1])
{
    errinfo ei = {0};
    json_t *out = NULL;
    char acc[ACCESSION_LEN + 1];
    json_t *b = json_pack("{s:s,s:[s],s:s,s:s,s:[s]}", "patient_id", patient_id, "tests", test,
                          "priority", "routine", "clinician", "Dr T", "reasons", "R73.9");
    assert_int_equal(order_create(lab_db, &lab_ctx, b, &out, &ei), ERR_OK);
    json_decref(b);
    snprintf(acc, sizeof(acc), "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(out, "specimens"), 0),
                                               "accession")));
    json_decref(out);
    assert_int_equal(lab_event(acc, "{\"event\":\"collected\"}", NULL, &ei), ERR_OK);
    assert_int_equal(lab_event(acc, "{\"event\":\"received\"}", NULL, &ei), ERR_OK);
    json_t *rb = json_pack("{s:[{s:s,s:s}]}", "results", "code", test, "value", value);
    assert_int_equal(result_enter(lab_db, &lab_ctx, acc, rb, &out, &ei), ERR_OK);
    json_decref(rb);
    json_t *r = json_array_get(json_object_get(out, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "released");
    snprintf(rid, ID_LEN + 1, "%s", json_string_value(json_object_get(r, "id")));
    json_decref(out);
}

/* Correct result rid to value for reason, signed by u (password report-pass-1). */
static void lab_corrected(const user *u, const char *rid, const char *value, const char *reason)
{
    errinfo ei = {0};
    json_t *cor = NULL;
    json_t *cb =
        json_pack("{s:s,s:s,s:s}", "value", value, "reason", reason, "password", "report-pass-1");
    assert_int_equal(result_correct(lab_db, &lab_ctx, u, rid, cb, &cor, &ei), ERR_OK);
    json_decref(cb);
    json_decref(cor);
}

static void test_report(void **state)
{
    (void)state;
    errinfo ei = {0};
    patient p;
    char rid[ID_LEN + 1], uname[40];
    user u;
    lab_new_patient(&p);
    /* corrections, signed by a user of ours: one numeric, one free text far
     * wider than its column */
    snprintf(uname, sizeof(uname), "rep-%s", lab_sfx);
    assert_int_equal(
        user_create(lab_db, &lab_ctx, uname, NULL, "technician", "report-pass-1", &u, &ei), ERR_OK);
    lab_resulted(p.id, "GLU", "88", rid);
    lab_corrected(&u, rid, "58", "wrong tube entered");
    static const char long_value[] = "dark amber, cloudy, with visible sediment and a strong odour";
    lab_resulted(p.id, "UCOLOR", "yellow", rid);
    lab_corrected(&u, rid, long_value, "read under the wrong light");

    buf txt = BUF_INIT;
    lab_report_text(p.id, &txt);
    assert_non_null(strstr(txt.data, "CORRECTED REPORT"));
    assert_non_null(strstr(txt.data, p.mrn));
    /* the glucose row of the metabolic panel: name, unit, range, the corrected low value */
    const char *sect = strstr(txt.data, "Basic metabolic panel");
    assert_non_null(sect);
    const char *row = strstr(sect, "Glucose (GLU)");
    assert_non_null(row);
    const char *eol = strchr(row, '\n');
    assert_non_null(eol);
    const char *cell = strstr(row, "58 (c) L");
    assert_true(cell && cell < eol);
    assert_true(strstr(row, "mg/dL") < eol && strstr(row, "70 - 99") < eol);
    /* the long value wraps within its column, every word of it kept, in order */
    row = strstr(txt.data, "Urine color (UCOLOR)");
    assert_non_null(row);
    assert_non_null(strstr(txt.data, "Urinalysis, dipstick"));
    const char *word = row;
    for (const char *w = long_value; *w;) {
        char one[16];
        size_t n = strcspn(w, " ");
        snprintf(one, sizeof(one), "%.*s", (int)n, w);
        word = strstr(word, one);
        assert_non_null(word);
        w += n + (w[n] == ' ');
    }
    assert_null(strstr(txt.data, long_value)); /* not on one line: it wrapped */
    /* the footnotes with the earlier values, who and why */
    assert_non_null(strstr(txt.data, "earlier value 88 replaced by"));
    assert_non_null(strstr(txt.data, "wrong tube entered"));
    assert_non_null(strstr(txt.data, "earlier value yellow replaced by"));
    assert_non_null(strstr(txt.data, "Flags: L low"));
    buf_free(&txt);

    buf pdf = BUF_INIT;
    int64_t before = lab_head();
    assert_int_equal(report_patient_pdf(lab_db, &lab_ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &pdf, &ei),
                     ERR_NOT_FOUND);
    assert_int_equal(pdf.len, 0);
    assert_int_equal(lab_head(), before);
    buf_free(&pdf);
}

/* Where want first occurs at or after from; NULL when it does not, or from is NULL. */
static const char *lab_after(const char *from, const char *want)
{
    return from ? strstr(from, want) : NULL;
}

/*
 * Twelve collections an hour apart, each of calcium (basic metabolic panel)
 * and albumin (hepatic function panel), and one more calcium still in
 * review: two sections, each a block of the ten newest collections and a
 * continued block of the two oldest with the row labels repeated; every
 * value in the text, newest first; the one in review counted, not shown.
 */
static void test_report_grid(void **state)
{
    (void)state;
    errinfo ei = {0};
    patient p;
    char ca[12][8], alb[12][8], acc[ACCESSION_LEN + 1];
    int64_t first = time_now_us() - 13LL * 3600 * 1000000;
    lab_new_patient(&p);
    for (int i = 0; i <= 12; i++) {
        json_t *out = NULL;
        json_t *b =
            json_pack("{s:s,s:[s,s],s:s,s:s,s:[s]}", "patient_id", p.id, "tests", "CA", "ALB",
                      "priority", "routine", "clinician", "Dr T", "reasons", "E83.5");
        assert_int_equal(order_create(lab_db, &lab_ctx, b, &out, &ei), ERR_OK);
        json_decref(b);
        json_t *specs = json_object_get(out, "specimens");
        assert_int_equal(json_array_size(specs), 1); /* one serum tube for both */
        snprintf(acc, sizeof(acc), "%s",
                 json_string_value(json_object_get(json_array_get(specs, 0), "accession")));
        json_decref(out);
        char iso[TIME_ISO_LEN], ev[128];
        time_format_iso(first + (int64_t)i * 3600 * 1000000, iso);
        snprintf(ev, sizeof(ev), "{\"event\":\"collected\",\"at\":\"%s\"}", iso);
        assert_int_equal(lab_event(acc, ev, NULL, &ei), ERR_OK);
        time_format_iso(first + (int64_t)i * 3600 * 1000000 + 600000000, iso);
        snprintf(ev, sizeof(ev), "{\"event\":\"received\",\"at\":\"%s\"}", iso);
        assert_int_equal(lab_event(acc, ev, NULL, &ei), ERR_OK);
        if (i == 12) {
            /* out of range: held for review in automatic mode */
            json_t *rb = json_pack("{s:[{s:s,s:s}]}", "results", "code", "CA", "value", "11.5");
            assert_int_equal(result_enter(lab_db, &lab_ctx, acc, rb, &out, &ei), ERR_OK);
            json_decref(rb);
            assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(out, "results"), 0), "status")),
                                "review");
            json_decref(out);
            break;
        }
        snprintf(ca[i], sizeof(ca[i]), "%d.%d", 8 + (7 + i) / 10, (7 + i) % 10);   /* 8.7 ... 9.8 */
        snprintf(alb[i], sizeof(alb[i]), "%d.%d", 3 + (6 + i) / 10, (6 + i) % 10); /* 3.6 ... 4.7 */
        json_t *rb = json_pack("{s:[{s:s,s:s},{s:s,s:s}]}", "results", "code", "CA", "value", ca[i],
                               "code", "ALB", "value", alb[i]);
        assert_int_equal(result_enter(lab_db, &lab_ctx, acc, rb, &out, &ei), ERR_OK);
        json_decref(rb);
        for (size_t k = 0; k < 2; k++)
            assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(out, "results"), k), "status")),
                                "released");
        json_decref(out);
    }

    buf txt = BUF_INIT;
    lab_report_text(p.id, &txt);
    const char *t = txt.data;
    assert_null(strstr(t, "CORRECTED REPORT"));
    assert_non_null(strstr(t, "1 result(s) are still in review"));
    assert_null(strstr(t, "11.5"));
    static const struct {
        const char *section, *label;
    } sections[] = {{"Basic metabolic panel", "Calcium (CA)"},
                    {"Hepatic function panel", "Albumin (ALB)"}};
    const char *at = t;
    for (size_t s = 0; s < 2; s++) {
        char(*values)[8] = s ? alb : ca;
        char cont[64];
        snprintf(cont, sizeof(cont), "%s (continued)", sections[s].section);
        at = lab_after(at, sections[s].section);
        assert_non_null(at);
        const char *next = strstr(at, cont);
        assert_non_null(next);
        /* the first block: its row, the ten newest values in order, on one line */
        const char *row = lab_after(at, sections[s].label);
        assert_true(row && row < next);
        const char *eol = strchr(row, '\n');
        at = row;
        for (int i = 11; i >= 2; i--) {
            at = lab_after(at, values[i]);
            assert_true(at && at < eol);
        }
        /* the continued block: the row again, the two oldest */
        row = lab_after(next, sections[s].label);
        assert_non_null(row);
        eol = strchr(row, '\n');
        at = row;
        for (int i = 1; i >= 0; i--) {
            at = lab_after(at, values[i]);
            assert_true(at && at < eol);
        }
    }
    /* the row labels twice each: once a block */
    for (size_t s = 0; s < 2; s++) {
        int n = 0;
        for (const char *q = strstr(t, sections[s].label); q; q = strstr(q + 1, sections[s].label))
            n++;
        assert_int_equal(n, 2);
    }
    buf_free(&txt);
}

/* -------------------------------------------------------------- charges */

static void test_charges(void **state)
{
    (void)state;
    errinfo ei = {0};
    json_t *out = NULL;
    patient p;
    char acc[ACCESSION_LEN + 1], order_id[ID_LEN + 1];
    int64_t t0 = time_now_us();
    lab_new_patient(&p);
    json_t *b = json_pack("{s:s,s:[s,s],s:s,s:s,s:[s,s]}", "patient_id", p.id, "tests", "GLU", "K",
                          "priority", "routine", "clinician", "Rivera, J. \"Jo\"", "reasons",
                          "E11.9", "I10");
    assert_int_equal(order_create(lab_db, &lab_ctx, b, &out, &ei), ERR_OK);
    json_decref(b);
    snprintf(order_id, sizeof(order_id), "%s", json_string_value(json_object_get(out, "id")));
    snprintf(acc, sizeof(acc), "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(out, "specimens"), 0),
                                               "accession")));
    json_decref(out);
    assert_int_equal(lab_event(acc, "{\"event\":\"collected\"}", NULL, &ei), ERR_OK);
    assert_int_equal(lab_event(acc, "{\"event\":\"received\"}", NULL, &ei), ERR_OK);
    json_t *rb = json_pack("{s:[{s:s,s:i},{s:s,s:f}]}", "results", "code", "GLU", "value", 90,
                           "code", "K", "value", 4.2);
    assert_int_equal(result_enter(lab_db, &lab_ctx, acc, rb, &out, &ei), ERR_OK);
    json_decref(rb);
    const char *glu = json_string_value(
        json_object_get(json_array_get(json_object_get(out, "results"), 0), "id"));
    /* a correction does not charge again */
    char uname[40];
    user u;
    snprintf(uname, sizeof(uname), "chg-%s", lab_sfx);
    assert_int_equal(
        user_create(lab_db, &lab_ctx, uname, NULL, "supervisor", "charge-pass-1", &u, &ei), ERR_OK);
    json_t *cb =
        json_pack("{s:s,s:s,s:s}", "value", "91", "reason", "re-run", "password", "charge-pass-1");
    json_t *cor = NULL;
    assert_int_equal(result_correct(lab_db, &lab_ctx, &u, glu, cb, &cor, &ei), ERR_OK);
    json_decref(cb);
    json_decref(cor);
    json_decref(out);

    buf csv = BUF_INIT;
    int count = 0;
    int64_t before = lab_head();
    assert_int_equal(
        charge_export(lab_db, &lab_ctx, t0, time_now_us() + 1, CHARGE_CSV, &csv, &count, &ei),
        ERR_OK);
    assert_int_equal(lab_head(), before + 1);
    assert_true(count >= 2);
    assert_memory_equal(csv.data, "charge_id,mrn,", 14);
    /* exactly two lines for this order, with CPT, reasons and the quoted clinician */
    int mine = 0;
    for (char *line = strtok(csv.data, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        if (!strstr(line, order_id))
            continue;
        mine++;
        assert_non_null(strstr(line, "E11.9;I10"));
        assert_non_null(strstr(line, "\"Rivera, J. \"\"Jo\"\"\""));
        assert_true(strstr(line, ",82947,GLU,") || strstr(line, ",84132,K,"));
    }
    assert_int_equal(mine, 2);
    buf_free(&csv);

    /* the same lines as DFT^P03 messages, read back with the HL7 parser */
    buf h = BUF_INIT;
    assert_int_equal(
        charge_export(lab_db, &lab_ctx, t0, time_now_us() + 1, CHARGE_HL7, &h, &count, &ei),
        ERR_OK);
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    assert_int_equal(hl7_parse(h.data, h.len, &a, &m, &ei), ERR_OK);
    assert_int_equal((int)(hl7_find(&m, "MSH", 0) < hl7_segment_count(&m)), 1);
    int ft1 = 0, msh = 0;
    for (size_t i = 0; i < hl7_segment_count(&m); i++) {
        hl7_seg s = hl7_segment(&m, i);
        if (!strcmp(s.id, "MSH")) {
            msh++;
            assert_true(strv_eq(hl7_get(&s, 9, 1, 1, 1), "DFT"));
            assert_true(strv_eq(hl7_get(&s, 9, 1, 2, 1), "P03"));
        }
        if (strcmp(s.id, "FT1") || !strv_eq(hl7_get(&s, 23, 1, 1, 1), acc))
            continue;
        ft1++;
        strv cpt = hl7_get(&s, 25, 1, 1, 1);
        assert_true(strv_eq(cpt, "82947") || strv_eq(cpt, "84132"));
        assert_true(strv_eq(hl7_get(&s, 25, 1, 3, 1), "C4"));
        assert_true(strv_eq(hl7_get(&s, 6, 1, 1, 1), "CG"));
        assert_true(strv_eq(hl7_get(&s, 19, 1, 1, 1), "E11.9"));
        assert_true(strv_eq(hl7_get(&s, 19, 2, 1, 1), "I10"));
        assert_true(strv_eq(hl7_get(&s, 19, 2, 3, 1), "I10"));
        assert_true(strv_eq(hl7_get(&s, 21, 1, 2, 1), "Rivera"));
    }
    assert_int_equal(ft1, 2);
    assert_int_equal(msh, count);
    arena_free(&a);
    buf_free(&h);
    assert_int_equal(charge_export(lab_db, &lab_ctx, t0, t0, CHARGE_CSV, &csv, &count, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "to");
    buf_free(&csv);
}

static int lab_setup(void **state)
{
    (void)state;
    if (!testdb_pick("lab", lab_url, sizeof(lab_url), lab_tmp, sizeof(lab_tmp)))
        return -1;
    testdb_suffix(lab_sfx, 10, true);
    /* With the demo catalog (importing it again changes nothing). */
    if (!testdb_open(lab_url, &lab_ctx, &lab_db))
        return -1;
    return 0;
}

static int lab_teardown(void **state)
{
    (void)state;
    testdb_close(lab_db, lab_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_digit),
        cmocka_unit_test(test_accession_next),
        cmocka_unit_test(test_patient_create_and_duplicates),
        cmocka_unit_test(test_patient_refusals),
        cmocka_unit_test(test_patient_search_and_read),
        cmocka_unit_test(test_icd10),
        cmocka_unit_test(test_order_expansion),
        cmocka_unit_test(test_order_refusals),
        cmocka_unit_test(test_specimen_read_and_label),
        cmocka_unit_test(test_custody_path),
        cmocka_unit_test(test_collection_before_birth),
        cmocka_unit_test(test_rejection),
        cmocka_unit_test(test_turnaround),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_report_grid),
        cmocka_unit_test(test_charges),
    };
    return cmocka_run_group_tests_name(testdb_group("lab"), tests, lab_setup, lab_teardown);
}
