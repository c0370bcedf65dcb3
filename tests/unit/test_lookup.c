/*
 * test_lookup.c - unit tests of the searches behind the FHIR API
 * (lab/lookup.c) on a worked example: one patient's laboratory results and
 * vital signs read back as Observations, in date order either way, page by
 * page without a match lost or repeated, with the total of what matches and
 * each filter the search takes; a read by id; the other searches as
 * specialize() writes them for the filters given.
 *
 * The example, all on 2026-01-05 (UTC):
 *   order O1, specimen S1 collected at 10:00: the panel BMP (GLU T1, NA T2,
 *     K T3; results R1, R2, R3 released) and CHOL asked alone (T4, result
 *     X4 in review);
 *   order O2 (ordered at 8:00), specimen S2 never collected: HGB alone (T5,
 *     result R5, corrected, resulted at 11:30, its date);
 *   vital signs V1 taken at 10:00 by hand, all seven parameters (eight
 *     observations with NEWS2), and V2 taken at 12:00 by a monitor, pulse
 *     and SpO2 only (three).
 * Ties at 10:00 go by id: the results R1-R3, V1's parameters, then X4.
 * Another patient's result shows that a search keeps to its patient.
 *
 * Runs on BENCHSIDE_TEST_DB (PostgreSQL in tests/run.py's second pass) or on
 * a temporary SQLite file; the ids carry a suffix of this run, so a database
 * reused between runs does not disturb it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/audit.h"
#include "lab/lookup.h"
#include "store/db.h"
#include "testdb.h"

#define LK_HOUR 3600000000LL
#define LK_T10  1767607200000000LL /* 2026-01-05T10:00:00Z */
#define LK_IDS  1024               /* the ids of a search, as lk_ids writes them */
#define LK_ALL_UP                                                                                  \
    "R1 R2 R3 V1-acvpu V1-bp V1-news2 V1-oxygen V1-pulse V1-resp V1-spo2 V1-temp X4 R5"            \
    " V2-news2 V2-pulse V2-spo2"
#define LK_ALL_DOWN                                                                                \
    "V2-news2 V2-pulse V2-spo2 R5 R1 R2 R3 V1-acvpu V1-bp V1-news2 V1-oxygen V1-pulse V1-resp"     \
    " V1-spo2 V1-temp X4"

static db *lk_db;
static char lk_url[512], lk_tmp[256];
static char lk_sfx[12]; /* every id of this run begins with it */
static const audit_ctx lk_ctx = {NULL, "test", "test"};

/* This run's id for a name of the example ("R1"), in a static buffer (one of eight). */
static const char *lk_id(const char *name)
{
    static char buf[8][64];
    static int next;
    char *out = buf[next++ % 8];
    snprintf(out, sizeof(buf[0]), "%s%s", lk_sfx, name);
    return out;
}

/* db_run on the suite's database, which must succeed. */
#define LK_RUN(...)                                                                                \
    do {                                                                                           \
        errinfo ei_ = {0};                                                                         \
        err_t rc_ = db_run(lk_db, &ei_, NULL, __VA_ARGS__);                                        \
        if (rc_)                                                                                   \
            fprintf(stderr, "%s\n", ei_.message);                                                  \
        assert_int_equal(rc_, ERR_OK);                                                             \
    } while (0)

static void lk_patient(const char *name, const char *mrn)
{
    LK_RUN("INSERT INTO patients (id, mrn, family, given, name_key, birth_date, sex, identifiers,"
           " created_at, updated_at) VALUES (?, ?, 'Lookup', 'Pat', 'LOOKUP|PAT', '1970-01-01',"
           " 'female', '[]', ?, ?)",
           "ttii", lk_id(name), lk_id(mrn), LK_T10 - 48 * LK_HOUR, LK_T10 - 48 * LK_HOUR);
}

static void lk_order(const char *name, const char *patient)
{
    LK_RUN("INSERT INTO orders (id, patient_id, priority, clinician, reasons, instructions, status,"
           " ordered_at, created_by) VALUES (?, ?, 'routine', 'Dr. Test', '[]', '{}', 'active', ?,"
           " 'test')",
           "tti", lk_id(name), lk_id(patient), LK_T10 - 2 * LK_HOUR);
}

/* A specimen, collected at collected (0: not collected). */
static void lk_specimen(const char *name, const char *order, const char *patient, int64_t collected)
{
    LK_RUN(
        "INSERT INTO specimens (id, accession, order_id, patient_id, specimen_type, container,"
        " status, received_at, created_at) VALUES (?, ?, ?, ?, 'serum', 'SST', 'received', ?, ?)",
        "ttttii", lk_id(name), lk_id(name), lk_id(order), lk_id(patient), LK_T10 + LK_HOUR,
        LK_T10 - 2 * LK_HOUR);
    if (collected)
        LK_RUN("UPDATE specimens SET collected_at = ? WHERE id = ?", "it", collected, lk_id(name));
}

/* A test of an order (panel NULL: asked alone) and its result. */
static void lk_result(const char *test_row, const char *order, const char *specimen,
                      const char *patient, const char *test, const char *panel, const char *result,
                      const char *status, int64_t resulted)
{
    LK_RUN("INSERT INTO order_tests (id, order_id, test_code, panel_code, specimen_id, status)"
           " VALUES (?, ?, ?, ?, ?, ?)",
           "tttttt", lk_id(test_row), lk_id(order), test, panel, lk_id(specimen),
           strcmp(status, "review") ? "released" : "resulted");
    LK_RUN("INSERT INTO results (id, order_test_id, specimen_id, patient_id, test_code, kind,"
           " value_num, value_text, critical, delta_failed, status, holds, resulted_at,"
           " resulted_by, version) VALUES (?, ?, ?, ?, ?, 'numeric', 5, '5', 0, 0, ?, '[]', ?,"
           " 'tech', 1)",
           "tttttti", lk_id(result), lk_id(test_row), lk_id(specimen), lk_id(patient), test, status,
           resulted);
    if (strcmp(status, "review"))
        LK_RUN("UPDATE results SET released_at = ?, released_by = 'auto-verification'"
               " WHERE id = ?",
               "it", resulted + LK_HOUR / 2, lk_id(result));
}

/* A set of vital signs: all seven parameters by hand, or pulse and SpO2 from source. */
static void lk_vitals(const char *name, const char *patient, int64_t taken, const char *source)
{
    LK_RUN("INSERT INTO care_vitals (id, patient_id, taken_at, source, spo2, spo2_scale, pulse,"
           " score, complete, red, band, recorded_at, recorded_by) VALUES (?, ?, ?, ?, 96, 1, 88,"
           " 1, 0, 0, 'low', ?, 'nurse')",
           "ttiti", lk_id(name), lk_id(patient), taken, source, taken + 60000000);
    if (!strcmp(source, "hand"))
        LK_RUN("UPDATE care_vitals SET respiration_rate = 18, oxygen = 0, systolic_bp = 124,"
               " diastolic_bp = 78, acvpu = 'A', temperature = 37.2, complete = 1 WHERE id = ?",
               "t", lk_id(name));
}

/* The ids of views, this run's prefix taken off, space-separated into out. */
static void lk_ids(json_t *views, char out[LK_IDS])
{
    size_t i, o = 0, n = strlen(lk_sfx);
    json_t *v;
    out[0] = '\0';
    json_array_foreach(views, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        assert_non_null(id);
        assert_memory_equal(id, lk_sfx, n);
        o += (size_t)snprintf(out + o, LK_IDS - o, "%s%s", o ? " " : "", id + n);
        assert_true(o < LK_IDS);
    }
}

/* Search observations with q: the ids of the page into out (NULL: count only), the total back. */
static int64_t lk_search(lookup_kind kind, const lookup_query *q, char out[LK_IDS])
{
    errinfo ei = {0};
    json_t *views = NULL;
    int64_t total = -1;
    err_t rc = lookup_search(lk_db, &lk_ctx, kind, q, out ? &views : NULL, &total, &ei);
    if (rc)
        fprintf(stderr, "lookup_search: %s\n", ei.message);
    assert_int_equal(rc, ERR_OK);
    if (out)
        lk_ids(views, out);
    json_decref(views);
    return total;
}

/* Search with q: the total is total, and the ids of the page are ids. */
static void lk_expect(lookup_kind kind, const lookup_query *q, int64_t total, const char *ids)
{
    char got[LK_IDS];
    assert_int_equal(lk_search(kind, q, got), total);
    assert_string_equal(got, ids);
}

/* A query of the example's patient, a page of 100. */
static void lk_query(lookup_query *q)
{
    lookup_query_init(q);
    q->patient = lk_id("P");
    q->count = LOOKUP_PAGE_MAX;
}

static void test_patient_in_date_order(void **state)
{
    lookup_query q;
    (void)state;
    lk_query(&q);
    lk_expect(LOOKUP_OBSERVATIONS, &q, 16, LK_ALL_UP);
    q.descending = true;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 16, LK_ALL_DOWN);
    /* The total alone. */
    q.count = 0;
    assert_int_equal(lk_search(LOOKUP_OBSERVATIONS, &q, NULL), 16);
    /* The other patient's one result. */
    q.patient = lk_id("Q");
    q.count = 20;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 1, "Q1");
}

/* Every page size from 1 to 7, both ways: the pages put together are the
 * whole list, each page says the same total, and the page after the last is
 * empty. */
static void test_pages_cover_every_match_once(void **state)
{
    (void)state;
    for (int down = 0; down < 2; down++)
        for (int size = 1; size <= 7; size++) {
            lookup_query q;
            char all[LK_IDS] = "", page[LK_IDS];
            size_t o = 0;
            lk_query(&q);
            q.descending = down;
            q.count = size;
            for (q.offset = 0; q.offset < 16; q.offset += size) {
                assert_int_equal(lk_search(LOOKUP_OBSERVATIONS, &q, page), 16);
                assert_true(strlen(page) > 0);
                o += (size_t)snprintf(all + o, sizeof(all) - o, "%s%s", o ? " " : "", page);
            }
            assert_string_equal(all, down ? LK_ALL_DOWN : LK_ALL_UP);
            assert_int_equal(lk_search(LOOKUP_OBSERVATIONS, &q, page), 16);
            assert_string_equal(page, "");
        }
}

static void test_filters(void **state)
{
    lookup_query q;
    (void)state;
    /* category=laboratory */
    lk_query(&q);
    q.no_vitals = true;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 5, "R1 R2 R3 X4 R5");
    /* category=vital-signs, category=survey */
    lk_query(&q);
    q.no_lab = true;
    q.category = "vital-signs";
    lk_expect(LOOKUP_OBSERVATIONS, &q, 9,
              "V1-acvpu V1-bp V1-oxygen V1-pulse V1-resp V1-spo2 V1-temp"
              " V2-pulse V2-spo2");
    q.category = "survey";
    lk_expect(LOOKUP_OBSERVATIONS, &q, 2, "V1-news2 V2-news2");
    /* A catalog code, a LOINC code (GLU's), a vital sign's LOINC (heart rate). */
    lk_query(&q);
    q.code = "NA";
    q.no_vitals = true;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 1, "R2");
    lk_query(&q);
    q.loinc = "2345-7";
    q.no_vitals = true;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 1, "R1");
    lk_query(&q);
    q.loinc = "8867-4";
    q.vital = "pulse";
    lk_expect(LOOKUP_OBSERVATIONS, &q, 2, "V1-pulse V2-pulse");
    /* A specimen leaves the vital signs out. */
    lk_query(&q);
    q.specimen = lk_id("S1");
    lk_expect(LOOKUP_OBSERVATIONS, &q, 4, "R1 R2 R3 X4");
    /* States: vital signs are released. */
    lk_query(&q);
    q.state = "review";
    lk_expect(LOOKUP_OBSERVATIONS, &q, 1, "X4");
    q.state = "corrected";
    lk_expect(LOOKUP_OBSERVATIONS, &q, 1, "R5");
    q.state = "released";
    lk_expect(LOOKUP_OBSERVATIONS, &q, 14,
              "R1 R2 R3 V1-acvpu V1-bp V1-news2 V1-oxygen V1-pulse V1-resp V1-spo2 V1-temp"
              " V2-news2 V2-pulse V2-spo2");
    /* Dates: from, to, both; R5's date is its result time, S2 never collected. */
    lk_query(&q);
    q.from = LK_T10 + LK_HOUR / 2;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 4, "R5 V2-news2 V2-pulse V2-spo2");
    lk_query(&q);
    q.to = LK_T10 + LK_HOUR / 2;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 12,
              "R1 R2 R3 V1-acvpu V1-bp V1-news2 V1-oxygen V1-pulse V1-resp V1-spo2 V1-temp X4");
    lk_query(&q);
    q.from = LK_T10 + LK_HOUR;
    q.to = LK_T10 + 2 * LK_HOUR;
    q.descending = true;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 1, "R5");
    q.to = LK_T10 + LK_HOUR + LK_HOUR / 2;
    lk_expect(LOOKUP_OBSERVATIONS, &q, 0, "");
}

static void test_read_by_id(void **state)
{
    lookup_query q;
    (void)state;
    lookup_query_init(&q);
    q.count = 1;
    q.id = lk_id("R5");
    lk_expect(LOOKUP_OBSERVATIONS, &q, 1, "R5");
    q.id = lk_id("V2-pulse");
    lk_expect(LOOKUP_OBSERVATIONS, &q, 1, "V2-pulse");
    /* V2 has no temperature; nothing is another patient's. */
    q.id = lk_id("V2-temp");
    lk_expect(LOOKUP_OBSERVATIONS, &q, 0, "");
    q.id = lk_id("R1");
    q.patient = lk_id("Q");
    lk_expect(LOOKUP_OBSERVATIONS, &q, 0, "");
}

/* What the page's rows join: the item a result answers (the first test row
 * of its panel, or its own), its date, the vital signs' device. */
static void test_views(void **state)
{
    lookup_query q;
    errinfo ei = {0};
    json_t *views = NULL;
    int64_t total = 0;
    (void)state;
    lk_query(&q);
    assert_int_equal(lookup_search(lk_db, &lk_ctx, LOOKUP_OBSERVATIONS, &q, &views, &total, &ei),
                     ERR_OK);
    assert_int_equal(json_array_size(views), 16);
    json_t *r2 = json_array_get(views, 1), *x4 = json_array_get(views, 11);
    json_t *r5 = json_array_get(views, 12), *v2 = json_array_get(views, 14);
    assert_string_equal(json_string_value(json_object_get(r2, "request_id")), lk_id("T1"));
    assert_string_equal(json_string_value(json_object_get(r2, "effective")),
                        "2026-01-05T10:00:00.000000Z");
    assert_string_equal(json_string_value(json_object_get(r2, "performer")), "tech");
    assert_string_equal(json_string_value(json_object_get(x4, "request_id")), lk_id("T4"));
    assert_string_equal(json_string_value(json_object_get(x4, "status")), "review");
    assert_string_equal(json_string_value(json_object_get(r5, "request_id")), lk_id("T5"));
    assert_string_equal(json_string_value(json_object_get(r5, "effective")),
                        "2026-01-05T11:30:00.000000Z");
    assert_string_equal(json_string_value(json_object_get(v2, "param")), "pulse");
    assert_string_equal(json_string_value(json_object_get(v2, "set_id")), lk_id("V2"));
    assert_string_equal(json_string_value(json_object_get(v2, "device_id")), lk_id("A"));
    assert_int_equal(json_integer_value(json_object_get(v2, "pulse")), 88);
    assert_true(json_is_null(json_object_get(v2, "temperature")));
    json_decref(views);
}

/* The other searches, as specialize() writes them for the filters given:
 * the same answers with a filter given or left out. */
static void test_other_searches(void **state)
{
    lookup_query q;
    (void)state;
    lk_query(&q);
    lk_expect(LOOKUP_RESULTS, &q, 5, "R1 R2 R3 X4 R5");
    q.code = "CHOL";
    lk_expect(LOOKUP_RESULTS, &q, 1, "X4");
    lk_query(&q);
    lk_expect(LOOKUP_SPECIMENS, &q, 2, "S2 S1");
    lookup_query_init(&q);
    q.id = lk_id("S1");
    lk_expect(LOOKUP_SPECIMENS, &q, 1, "S1");
    lookup_query_init(&q);
    q.identifier = lk_id("MQ");
    lk_expect(LOOKUP_PATIENTS, &q, 1, "Q");
    lk_query(&q);
    lk_expect(LOOKUP_REPORTS, &q, 2, "O2 O1");
}

static int lk_setup(void **state)
{
    (void)state;
    testdb_suffix(lk_sfx, 8, false);
    if (!testdb_pick("lookup", lk_url, sizeof(lk_url), lk_tmp, sizeof(lk_tmp)))
        return -1;
    if (!testdb_open(lk_url, &lk_ctx, &lk_db))
        return -1;
    lk_patient("P", "MP");
    lk_patient("Q", "MQ");
    lk_order("O1", "P");
    lk_order("O2", "P");
    lk_order("O3", "Q");
    lk_specimen("S1", "O1", "P", LK_T10);
    lk_specimen("S2", "O2", "P", 0);
    lk_specimen("S3", "O3", "Q", LK_T10);
    lk_result("T1", "O1", "S1", "P", "GLU", "BMP", "R1", "released", LK_T10 + LK_HOUR);
    lk_result("T2", "O1", "S1", "P", "NA", "BMP", "R2", "released", LK_T10 + LK_HOUR);
    lk_result("T3", "O1", "S1", "P", "K", "BMP", "R3", "released", LK_T10 + LK_HOUR);
    lk_result("T4", "O1", "S1", "P", "CHOL", NULL, "X4", "review", LK_T10 + LK_HOUR);
    lk_result("T5", "O2", "S2", "P", "HGB", NULL, "R5", "corrected",
              LK_T10 + LK_HOUR + LK_HOUR / 2);
    lk_result("T6", "O3", "S3", "Q", "GLU", NULL, "Q1", "released", LK_T10 + LK_HOUR);
    LK_RUN("INSERT INTO assets (id, tag, class, manufacturer, model, serial, location, risk_class,"
           " owner, status, status_at, instrument, created_at, created_by, updated_at)"
           " VALUES (?, ?, 'patient monitor', 'M', 'M1', '1', 'Ward 3', 'medium', 'Ward 3',"
           " 'in-service', 0, ?, 0, 'test', 0)",
           "ttt", lk_id("A"), lk_id("A"), lk_id("mon"));
    lk_vitals("V1", "P", LK_T10, "hand");
    lk_vitals("V2", "P", LK_T10 + 2 * LK_HOUR, lk_id("mon"));
    return 0;
}

static int lk_teardown(void **state)
{
    (void)state;
    testdb_close(lk_db, lk_tmp);
    lk_db = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patient_in_date_order),
        cmocka_unit_test(test_pages_cover_every_match_once),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_read_by_id),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_other_searches),
    };
    return cmocka_run_group_tests_name(testdb_group("lookup"), tests, lk_setup, lk_teardown);
}
