/*
 * test_year.c - unit tests of the year generator (app/yeargen.c) at a tiny
 * scale (200 patients, 2,000 tests over three days): what it writes hangs
 * together (every result has its order test, specimen, order and patient;
 * statuses, flags, critical alerts and signatures agree with each other and
 * with the catalog; accessions carry their check digit), the worklist shows
 * its open work, the cumulative report renders, the audit chain verifies,
 * and the same options give the same data.
 *
 * Runs on BENCHSIDE_TEST_DB (PostgreSQL in tests/run.py's second pass) or on
 * a temporary SQLite file. Each run's MRNs have a prefix of their own, and
 * every check reads only the patients of that prefix, so that a database
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

#include "app/yeargen.h"
#include "auth/audit.h"
#include "base/buf.h"
#include "base/time.h"
#include "lab/accession.h"
#include "lab/report.h"
#include "lab/worklist.h"
#include "store/db.h"
#include "testdb.h"

static db *yr_db;
static char yr_url[512], yr_tmp[256];
static char yr_prefix[YEARGEN_PREFIX_MAX + 1], yr_like[32];
static int64_t yr_end;
static yeargen_counts yr_counts;
static const audit_ctx yr_ctx = {NULL, "test", "test"};

/* The patients of this run: their MRNs begin with the prefix. */
#define OURS " JOIN patients p ON p.id = r.patient_id AND p.mrn LIKE ?"

static int64_t yr_count(const char *sql, const char *arg)
{
    int64_t n = -1;
    errinfo ei = {0};
    assert_int_equal(testdb_scalar(yr_db, sql, arg, &n, &ei), ERR_OK);
    return n;
}

static void yr_opts(yeargen_opts *o, const char *prefix)
{
    yeargen_opts_init(o);
    o->patients = 200;
    o->results = 2000;
    o->days = 3;
    o->seed = 42;
    o->end = yr_end;
    o->prefix = prefix;
    o->progress = false;
}

static void test_counts_match_the_rows(void **state)
{
    (void)state;
    assert_int_equal(yr_counts.patients, 200);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM patients WHERE mrn LIKE ?", yr_like), 200);
    /* At least the tests asked for, in whole orders. */
    assert_true(yr_counts.order_tests >= 2000 && yr_counts.order_tests < 2100);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM order_tests ot JOIN orders r"
                              " ON r.id = ot.order_id" OURS,
                              yr_like),
                     yr_counts.order_tests);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS, yr_like), yr_counts.results);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM specimens r" OURS, yr_like),
                     yr_counts.specimens);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM orders r" OURS, yr_like), yr_counts.orders);
    /* Most tests have their result; the last day's open ones do not. */
    assert_true(yr_counts.results > yr_counts.order_tests / 2);
    assert_true(yr_counts.results < yr_counts.order_tests);
    assert_true(yr_counts.open_specimens > 0);
    assert_true(yr_counts.signatures > 0);
    /* Every patient has an order; a few have many. */
    assert_int_equal(yr_count("SELECT COUNT(*) FROM patients p WHERE p.mrn LIKE ? AND NOT EXISTS"
                              " (SELECT 1 FROM orders o WHERE o.patient_id = p.id)",
                              yr_like),
                     0);
}

static void test_every_result_hangs_together(void **state)
{
    (void)state;
    /* Its order test, the same specimen, order and patient, the same test. */
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS " WHERE NOT EXISTS (SELECT 1"
                              " FROM order_tests ot JOIN specimens s ON s.id = ot.specimen_id"
                              " JOIN orders o ON o.id = ot.order_id WHERE ot.id = r.order_test_id"
                              " AND s.id = r.specimen_id AND s.patient_id = r.patient_id"
                              " AND o.patient_id = r.patient_id AND ot.test_code = r.test_code"
                              " AND s.specimen_type = (SELECT t.specimen_type FROM tests t"
                              " WHERE t.code = r.test_code))",
                              yr_like),
                     0);
    /* Released results: their test released, a time and a releaser; the
     * others in review with their test resulted. */
    assert_int_equal(
        yr_count("SELECT COUNT(*) FROM results r" OURS " JOIN order_tests ot"
                 " ON ot.id = r.order_test_id WHERE (r.status IN ('released', 'corrected')"
                 " AND (ot.status <> 'released' OR r.released_at IS NULL OR r.released_by IS NULL"
                 " OR r.released_at < r.resulted_at)) OR (r.status = 'review' AND"
                 " (ot.status <> 'resulted' OR r.released_at IS NOT NULL))",
                 yr_like),
        0);
    /* Results follow receipt, which follows collection, which follows the order. */
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " JOIN specimens s ON s.id = r.specimen_id"
                              " JOIN orders o ON o.id = s.order_id WHERE NOT"
                              " (o.ordered_at < s.collected_at AND s.collected_at < s.received_at"
                              " AND s.received_at < r.resulted_at)",
                              yr_like),
                     0);
    /* Nothing after the end. */
    int64_t later = -1;
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(db_query(yr_db, &st, &ei,
                              "SELECT COUNT(*) FROM results r" OURS
                              " WHERE r.resulted_at > ? OR r.released_at > ?",
                              "tii", yr_like, yr_end, yr_end),
                     ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    later = db_col_int64(st, 0);
    db_finalize(st);
    assert_int_equal(later, 0);
}

static void test_flags_as_result_entry_sets_them(void **state)
{
    (void)state;
    /* Against the range stored with the result and the catalog's critical limits. */
    assert_int_equal(
        yr_count("SELECT COUNT(*) FROM results r" OURS " JOIN tests t ON t.code = r.test_code"
                 " WHERE r.kind = 'numeric' AND NOT (CASE"
                 " WHEN t.critical_low IS NOT NULL AND r.value_num < t.critical_low THEN 'LL'"
                 " WHEN t.critical_high IS NOT NULL AND r.value_num > t.critical_high THEN 'HH'"
                 " WHEN r.ref_low IS NOT NULL AND r.value_num < r.ref_low THEN 'L'"
                 " WHEN r.ref_high IS NOT NULL AND r.value_num > r.ref_high THEN 'H'"
                 " ELSE '-' END = COALESCE(r.flag, '-'))",
                 yr_like),
        0);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " WHERE (r.critical = 1) <> (r.flag IN ('LL', 'HH'))",
                              yr_like),
                     0);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " WHERE r.kind <> 'numeric' AND (r.flag = 'A') <>"
                              " (r.ref_text IS NOT NULL AND r.value_text <> r.ref_text)",
                              yr_like),
                     0);
    /* Values drawn around the ranges: most inside, some flagged. */
    int64_t flagged =
        yr_count("SELECT COUNT(*) FROM results r" OURS " WHERE r.flag IS NOT NULL", yr_like);
    assert_true(flagged > 0 && flagged < yr_counts.results / 3);
    /* Numeric values carry the test's decimals. */
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " WHERE r.test_code = 'K' AND r.value_text NOT LIKE '%_._'",
                              yr_like),
                     0);
}

static void test_criticals_corrections_and_signatures(void **state)
{
    (void)state;
    /* Every critical result has its alert; once released, the call is documented. */
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS " WHERE r.critical = 1"
                              " AND NOT EXISTS (SELECT 1 FROM critical_alerts a"
                              " WHERE a.result_id = r.id)",
                              yr_like),
                     0);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " JOIN critical_alerts a ON a.result_id = r.id"
                              " WHERE r.status = 'released' AND (a.closed_at IS NULL"
                              " OR a.notified IS NULL OR a.read_back <> 1"
                              " OR a.closed_at > r.released_at)",
                              yr_like),
                     0);
    /* Released by hand: one release signature each; automatically: none. */
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " WHERE r.release_mode = 'manual' AND (SELECT COUNT(*)"
                              " FROM signatures g WHERE g.result_id = r.id"
                              " AND g.meaning = 'release') <> 1",
                              yr_like),
                     0);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " JOIN signatures g ON g.result_id = r.id"
                              " WHERE r.release_mode = 'auto' AND g.meaning = 'release'",
                              yr_like),
                     0);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " WHERE r.flag IS NOT NULL AND r.release_mode = 'auto'",
                              yr_like),
                     0);
    /* A corrected result: version 2 and its earlier value in the history. */
    assert_int_equal(yr_count("SELECT COUNT(*) FROM results r" OURS
                              " WHERE (r.status = 'corrected') <> (r.version = 2)"
                              " OR (r.status = 'corrected' AND NOT EXISTS (SELECT 1"
                              " FROM result_history h WHERE h.result_id = r.id"
                              " AND h.version = 1))",
                              yr_like),
                     0);
}

static void test_accessions_and_custody(void **state)
{
    (void)state;
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    int64_t n = 0;
    assert_int_equal(db_query(yr_db, &st, &ei,
                              "SELECT s.accession FROM specimens s"
                              " JOIN patients p ON p.id = s.patient_id WHERE p.mrn LIKE ?",
                              "t", yr_like),
                     ERR_OK);
    while (db_step(st, &row, &ei) == ERR_OK && row) {
        const char *a = db_col_text(st, 0);
        assert_int_equal(accession_check(a, strlen(a), &ei), ERR_OK);
        n++;
    }
    db_finalize(st);
    assert_int_equal(n, yr_counts.specimens);
    /* A collected specimen has its collection event, a received one both. */
    assert_int_equal(yr_count("SELECT COUNT(*) FROM specimens r" OURS
                              " WHERE (r.collected_at IS NOT NULL) <> EXISTS (SELECT 1"
                              " FROM specimen_events e WHERE e.specimen_id = r.id"
                              " AND e.event = 'collected' AND e.at = r.collected_at)"
                              " OR (r.received_at IS NOT NULL) <> EXISTS (SELECT 1"
                              " FROM specimen_events e WHERE e.specimen_id = r.id"
                              " AND e.event = 'received' AND e.at = r.received_at)",
                              yr_like),
                     0);
    /* The counters go on after the numbers given out: a new accession is no duplicate. */
    char acc[ACCESSION_LEN + 1];
    assert_int_equal(db_begin(yr_db, &ei), ERR_OK);
    assert_int_equal(accession_next(yr_db, yr_end, acc, &ei), ERR_OK);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM specimens WHERE accession = ?", acc), 0);
    db_rollback(yr_db);
}

static void test_worklist_shows_the_open_work(void **state)
{
    (void)state;
    static const char *const stages[] = {"to-collect", "to-receive", "in-progress", "to-review"};
    /* Ours, by stage, as the worklist defines them. */
    static const char *const ours[] = {
        "SELECT COUNT(DISTINCT r.id) FROM specimens r" OURS " WHERE r.status = 'pending'",
        "SELECT COUNT(DISTINCT r.id) FROM specimens r" OURS " WHERE r.status = 'collected'",
        "SELECT COUNT(DISTINCT r.id) FROM specimens r" OURS " JOIN order_tests ot"
        " ON ot.specimen_id = r.id WHERE r.status = 'received'"
        " AND ot.status IN ('ordered', 'in-progress')",
        "SELECT COUNT(DISTINCT r.id) FROM specimens r" OURS " JOIN order_tests ot"
        " ON ot.specimen_id = r.id WHERE ot.status = 'resulted'",
    };
    errinfo ei = {0};
    int64_t open = 0;
    for (size_t i = 0; i < 4; i++) {
        json_t *page = NULL;
        worklist_filter f = {.stage = stages[i], .limit = WORKLIST_LIMIT_MAX};
        assert_int_equal(worklist_list(yr_db, &yr_ctx, &f, yr_end, &page, &ei), ERR_OK);
        int64_t mine = yr_count(ours[i], yr_like);
        json_int_t shown =
            json_integer_value(json_object_get(json_object_get(page, "counts"), stages[i]));
        assert_true(shown >= mine);
        if (mine > 0)
            assert_true(json_array_size(json_object_get(page, "items")) > 0);
        open += mine;
        json_decref(page);
    }
    assert_true(open > 0);
    /* The released tab: the specimens of the tests released in the day
     * before the end (nothing of ours is later). */
    json_t *page = NULL;
    worklist_filter f = {.stage = "released"};
    db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(worklist_list(yr_db, &yr_ctx, &f, yr_end, &page, &ei), ERR_OK);
    assert_int_equal(db_query(yr_db, &st, &ei,
                              "SELECT COUNT(DISTINCT r.specimen_id) FROM results r" OURS
                              " JOIN order_tests ot ON ot.id = r.order_test_id"
                              " WHERE ot.status = 'released' AND r.released_at >= ?",
                              "ti", yr_like, yr_end - 86400000000LL),
                     ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    int64_t released = db_col_int64(st, 0);
    db_finalize(st);
    assert_true(released > 0);
    assert_true(json_integer_value(json_object_get(json_object_get(page, "counts"), "released")) >=
                released);
    json_decref(page);
}

/* The worklist's state the generator wrote is what worklist_touch computes
 * from the tests, for every one of our specimens. */
static void test_worklist_state_as_touch_computes(void **state)
{
    (void)state;
    int64_t ours = yr_count("SELECT COUNT(*) FROM specimens r" OURS
                            " JOIN worklist_specimens w ON w.specimen_id = r.id",
                            yr_like);
    assert_true(ours > 0);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM specimens r" OURS, yr_like), ours);
    int64_t wrong = yr_count(
        "SELECT COUNT(*) FROM specimens r" OURS " JOIN orders o ON o.id = r.order_id"
        " JOIN worklist_specimens w ON w.specimen_id = r.id"
        " WHERE w.open_tests <> (SELECT COUNT(*) FROM order_tests ot WHERE ot.specimen_id = r.id"
        " AND ot.status IN ('ordered', 'in-progress'))"
        " OR w.review_tests <> (SELECT COUNT(*) FROM order_tests ot"
        " WHERE ot.specimen_id = r.id AND ot.status = 'resulted')"
        " OR COALESCE(w.released_at, 0) <> COALESCE((SELECT MAX(x.released_at) FROM order_tests"
        " ot JOIN results x ON x.order_test_id = ot.id WHERE ot.specimen_id = r.id"
        " AND ot.status = 'released'), 0)"
        " OR COALESCE(w.open_stage, '') <> CASE r.status WHEN 'pending' THEN 'to-collect'"
        " WHEN 'collected' THEN 'to-receive' WHEN 'received' THEN 'in-progress' ELSE '' END"
        " OR w.rnk <> CASE o.priority WHEN 'stat' THEN 0 WHEN 'asap' THEN 1 ELSE 2 END"
        " OR w.since <> COALESCE(r.received_at, r.collected_at, r.created_at)"
        " OR w.specimen_type <> r.specimen_type",
        yr_like);
    assert_int_equal(wrong, 0);
}

/*
 * Every tab's count under each filter is what the worklist's definition
 * gives when read from the tests themselves: the specimens of the stage
 * (its state, checked above) of the order's priority and the specimen
 * type, with a test of the stage of the code, mapped to the instrument or
 * resulted by it. The worklist reads these through its own keys (the rank,
 * the open tests by code); this reads them the long way.
 */
static void test_worklist_filters_count_as_defined(void **state)
{
    (void)state;
    static const char *const stages[] = {"to-collect", "to-receive", "in-progress", "to-review",
                                         "released"};
    static const char *const where[] = {
        "w.open_tests > 0 AND w.open_stage = 'to-collect'",
        "w.open_tests > 0 AND w.open_stage = 'to-receive'",
        "w.open_tests > 0 AND w.open_stage = 'in-progress'",
        "w.review_tests > 0",
        "w.released_at >= ?",
    };
    static const char *const tests[] = {
        "ot.status IN ('ordered', 'in-progress')",       "ot.status IN ('ordered', 'in-progress')",
        "ot.status IN ('ordered', 'in-progress')",       "ot.status = 'resulted'",
        "ot.status = 'released' AND r.released_at >= ?",
    };
    errinfo ei = {0};
    char instrument[64] = "";
    db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(db_query(yr_db, &st, &ei,
                              "SELECT instrument FROM test_mappings WHERE test_code = 'GLU'"
                              " ORDER BY instrument LIMIT 1",
                              ""),
                     ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    snprintf(instrument, sizeof(instrument), "%s", db_col_text(st, 0));
    db_finalize(st);
    const worklist_filter filters[] = {
        {.priority = "stat"},
        {.priority = "routine"},
        {.test = "K"},
        {.test = "GLU", .priority = "routine"},
        {.specimen_type = "serum"},
        {.specimen_type = "serum", .test = "K"},
        {.instrument = instrument},
        {.instrument = instrument, .test = "GLU"},
        {.instrument = instrument, .test = "HGB"},
    };
    int64_t since = yr_end - 86400000000LL;
    int64_t seen = 0;
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        worklist_filter f = filters[i];
        json_t *page = NULL;
        f.stage = "in-progress";
        assert_int_equal(worklist_list(yr_db, &yr_ctx, &f, yr_end, &page, &ei), ERR_OK);
        json_t *counts = json_object_get(page, "counts");
        for (size_t k = 0; k < 5; k++) {
            char sql[2048];
            snprintf(sql, sizeof(sql),
                     "SELECT COUNT(*) FROM worklist_specimens w JOIN specimens s"
                     " ON s.id = w.specimen_id JOIN orders o ON o.id = s.order_id WHERE %s"
                     " AND (CAST(? AS TEXT) IS NULL OR o.priority = ?)"
                     " AND (CAST(? AS TEXT) IS NULL OR s.specimen_type = ?)"
                     " AND ((CAST(? AS TEXT) IS NULL AND CAST(? AS TEXT) IS NULL)"
                     " OR EXISTS (SELECT 1 FROM order_tests ot"
                     " LEFT JOIN results r ON r.order_test_id = ot.id WHERE ot.specimen_id = s.id"
                     " AND %s AND (CAST(? AS TEXT) IS NULL OR ot.test_code = ?)"
                     " AND (CAST(? AS TEXT) IS NULL OR r.instrument = ? OR EXISTS (SELECT 1"
                     " FROM test_mappings m WHERE m.test_code = ot.test_code"
                     " AND m.instrument = ?))))",
                     where[k], tests[k]);
            assert_int_equal(db_prepare(yr_db, sql, &st, &ei), ERR_OK);
            int b = 0;
            const char *v[] = {
                f.priority,   f.priority,  f.specimen_type, f.specimen_type, f.test,
                f.instrument, NULL,        f.test,          f.test,          f.instrument,
                f.instrument, f.instrument};
            if (k == 4)
                assert_int_equal(db_bind_int64(st, ++b, since), ERR_OK);
            for (size_t j = 0; j < sizeof(v) / sizeof(v[0]); j++) {
                if (j == 6) { /* the released tests' own time bound */
                    if (k == 4)
                        assert_int_equal(db_bind_int64(st, ++b, since), ERR_OK);
                    continue;
                }
                assert_int_equal(v[j] ? db_bind_str(st, ++b, v[j]) : db_bind_null(st, ++b), ERR_OK);
            }
            assert_int_equal(db_step(st, &row, &ei), ERR_OK);
            assert_true(row);
            int64_t expected = db_col_int64(st, 0);
            db_finalize(st);
            json_int_t shown = json_integer_value(json_object_get(counts, stages[k]));
            if (shown != expected)
                fail_msg("filter %zu, %s: the worklist counts %lld, the tests say %lld", i,
                         stages[k], (long long)shown, (long long)expected);
            seen += expected;
        }
        json_decref(page);
    }
    assert_true(seen > 0);
}

static void test_report_renders_and_audit_verifies(void **state)
{
    (void)state;
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    char pid[64];
    /* The patient with the most results. */
    assert_int_equal(db_query(yr_db, &st, &ei,
                              "SELECT r.patient_id FROM results r" OURS
                              " GROUP BY r.patient_id ORDER BY COUNT(*) DESC, r.patient_id",
                              "t", yr_like),
                     ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    snprintf(pid, sizeof(pid), "%s", db_col_text(st, 0));
    db_finalize(st);
    buf b = BUF_INIT;
    assert_int_equal(report_patient_pdf(yr_db, &yr_ctx, pid, &b, &ei), ERR_OK);
    assert_true(b.len > 2000);
    assert_memory_equal(b.data, "%PDF", 4);
    buf_free(&b);
    /* One event for the load, with its counts. */
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "%%\"prefix\":\"%s\"%%", yr_prefix);
    assert_int_equal(yr_count("SELECT COUNT(*) FROM audit_event WHERE action = 'data.generated'"
                              " AND detail LIKE ?",
                              pattern),
                     1);
    audit_verify_result av = {0};
    assert_int_equal(audit_verify(yr_db, &av, &ei), ERR_OK);
    assert_true(av.ok);
}

static void test_same_options_same_data(void **state)
{
    (void)state;
    char prefix[YEARGEN_PREFIX_MAX + 1], like[32];
    yeargen_opts o;
    yeargen_counts c;
    errinfo ei = {0};
    snprintf(prefix, sizeof(prefix), "%.10sB", yr_prefix);
    snprintf(like, sizeof(like), "%s%%", prefix);
    yr_opts(&o, prefix);
    assert_int_equal(yeargen_run(yr_db, &o, &c, &ei), ERR_OK);
    assert_int_equal(c.results, yr_counts.results);
    assert_int_equal(c.specimens, yr_counts.specimens);
    assert_int_equal(c.critical_alerts, yr_counts.critical_alerts);
    /* The same patients and the same values, in the same order. */
    static const char sql[] =
        "SELECT p.family, p.given, p.birth_date, p.sex, r.test_code, r.value_text,"
        " COALESCE(r.flag, '-'), r.status, r.resulted_at FROM results r" OURS
        " ORDER BY r.resulted_at, r.id";
    db_stmt *a = NULL, *b = NULL;
    bool ra = false, rb = false;
    int64_t n = 0;
    assert_int_equal(db_query(yr_db, &a, &ei, sql, "t", yr_like), ERR_OK);
    assert_int_equal(db_query(yr_db, &b, &ei, sql, "t", like), ERR_OK);
    for (;;) {
        assert_int_equal(db_step(a, &ra, &ei), ERR_OK);
        assert_int_equal(db_step(b, &rb, &ei), ERR_OK);
        assert_int_equal(ra, rb);
        if (!ra)
            break;
        for (int i = 0; i < 9; i++)
            assert_string_equal(db_col_text(a, i), db_col_text(b, i));
        n++;
    }
    db_finalize(a);
    db_finalize(b);
    assert_int_equal(n, yr_counts.results);
    /* A prefix already loaded is refused. */
    assert_int_equal(yeargen_run(yr_db, &o, &c, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "prefix");
}

static void test_bad_options(void **state)
{
    (void)state;
    yeargen_opts o;
    yeargen_counts c;
    errinfo ei = {0};
    yr_opts(&o, "Z-1");
    assert_int_equal(yeargen_run(yr_db, &o, &c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "prefix");
    yr_opts(&o, yr_prefix);
    o.days = 0;
    assert_int_equal(yeargen_run(yr_db, &o, &c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "days");
    yr_opts(&o, yr_prefix);
    o.end = time_now_us() + 3600LL * 1000000;
    assert_int_equal(yeargen_run(yr_db, &o, &c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "end");
}

static int yr_setup(void **state)
{
    errinfo ei = {0};
    yeargen_opts o;
    char sfx[9];
    (void)state;
    testdb_suffix(sfx, sizeof(sfx) - 1, false);
    /* Letters and digits only: the suffix is base32, made upper case here. */
    for (char *p = sfx; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    snprintf(yr_prefix, sizeof(yr_prefix), "T%s", sfx);
    snprintf(yr_like, sizeof(yr_like), "%s0%%", yr_prefix);
    /* A minute ago, to the minute: what the generator takes by default. */
    yr_end = (time_now_us() / 60000000 - 1) * 60000000;
    if (!testdb_pick("year", yr_url, sizeof(yr_url), yr_tmp, sizeof(yr_tmp)))
        return -1;
    if (!testdb_open(yr_url, &yr_ctx, &yr_db))
        return -1;
    yr_opts(&o, yr_prefix);
    if (yeargen_run(yr_db, &o, &yr_counts, &ei)) {
        fprintf(stderr, "yeargen: %s\n", ei.message);
        return -1;
    }
    return 0;
}

static int yr_teardown(void **state)
{
    (void)state;
    testdb_close(yr_db, yr_tmp);
    yr_db = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_match_the_rows),
        cmocka_unit_test(test_every_result_hangs_together),
        cmocka_unit_test(test_flags_as_result_entry_sets_them),
        cmocka_unit_test(test_criticals_corrections_and_signatures),
        cmocka_unit_test(test_accessions_and_custody),
        cmocka_unit_test(test_worklist_shows_the_open_work),
        cmocka_unit_test(test_worklist_state_as_touch_computes),
        cmocka_unit_test(test_worklist_filters_count_as_defined),
        cmocka_unit_test(test_report_renders_and_audit_verifies),
        cmocka_unit_test(test_same_options_same_data),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests_name(testdb_group("year"), tests, yr_setup, yr_teardown);
}
