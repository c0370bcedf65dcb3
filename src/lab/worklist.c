/*
 * worklist.c - the bench's worklist (see worklist.h).
 *
 * The worklist reads its own small state rather than the tests of a year:
 * a row a specimen (worklist_specimens, migration 0020) with the count of
 * its tests to do and the stage they place it in, of those waiting for
 * review, the time its last test was released and its place in the
 * worklist's order, which worklist_touch recomputes in the transaction of
 * every write that changes them. The counts of the tabs and the candidate specimens of a page come
 * from the partial indexes on that state (a few thousand rows however many
 * tests have been done); the test and instrument filters look at the
 * candidates' own tests; the page then reads the test rows of the specimens
 * it shows, and only those. Filters are bound parameters that match
 * everything when NULL.
 */
#include "lab/worklist.h"

#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "store/dbjson.h"

#define MINUTE_US     (60LL * 1000000)
#define RELEASED_SPAN (24LL * 3600 * 1000000)

/* A specimen's place in the worklist's order: its priority's rank, then
 * since when it waits. */
#define RANK(pri) "CASE " pri " WHEN 'stat' THEN 0 WHEN 'asap' THEN 1 ELSE 2 END"
#define SINCE     "COALESCE(s.received_at, s.collected_at, s.created_at)"

/* The state of the specimens chosen by `key` (a list or a query giving
 * their ids, with one parameter), from their tests: forgotten, then counted
 * again. */
#define WL_FORGET(key) "DELETE FROM worklist_specimens WHERE specimen_id IN (" key ")"
#define WL_COUNT_AGAIN(key)                                                                        \
    "INSERT INTO worklist_specimens (specimen_id, open_tests, open_stage, review_tests, rnk,"      \
    " since, released_at, specimen_type) SELECT s.id,"                                             \
    " SUM(CASE WHEN ot.status IN ('ordered', 'in-progress') THEN 1 ELSE 0 END),"                   \
    " CASE WHEN s.status = 'pending' THEN 'to-collect' WHEN s.status = 'collected'"                \
    " THEN 'to-receive' WHEN s.status IN ('received', 'in-process', 'stored')"                     \
    " THEN 'in-progress' END,"                                                                     \
    " SUM(CASE WHEN ot.status = 'resulted' THEN 1 ELSE 0 END), " RANK(                             \
        "o.priority") ", " SINCE ","                                                               \
                      " MAX(CASE WHEN ot.status = 'released' THEN r.released_at END), "            \
                      "s.specimen_type"                                                            \
                      " FROM order_tests ot JOIN specimens s ON s.id = ot.specimen_id"             \
                      " JOIN orders o ON o.id = s.order_id LEFT JOIN results r ON "                \
                      "r.order_test_id = ot.id"                                                    \
                      " WHERE ot.specimen_id IN (" key                                             \
                      ") GROUP BY s.id, s.status, o.priority, s.received_at,"                      \
                      " s.collected_at, s.created_at, s.specimen_type"

#define KEY_SPECIMEN "CAST(? AS TEXT)"
#define KEY_ORDER    "SELECT id FROM specimens WHERE order_id = ?"
#define KEY_TEST     "SELECT specimen_id FROM order_tests WHERE id = ?"

/*
 * The test and instrument filters, on one test row (ot, its result r): 5
 * parameters, test x2 and instrument x3.
 */
#define WL_TEST_FILTERS                                                                            \
    "(CAST(? AS TEXT) IS NULL OR ot.test_code = ?)"                                                \
    " AND (CAST(? AS TEXT) IS NULL OR r.instrument = ? OR EXISTS (SELECT 1 FROM test_mappings m"   \
    " WHERE m.test_code = ot.test_code AND m.instrument = ?))"

/*
 * The filters on the specimen of a state row w. The priority is the row's
 * own rank, the specimen type its own type. The test filter
 * is a range of an index by code (`codes`): for the stages of open tests
 * and tests in review, order_tests_open_code (migration 0021), which holds
 * those tests; for the released stage, results_released_code (migration
 * 0022), the results of a code by release time. No candidate's tests are
 * read for it. The instrument filter looks at the candidates' own tests of
 * the stage (those passing `tests`). Parameters: priority x2, test x2 (and
 * the released stage's time), specimen type x2, then NULL (the test, done
 * above) and the instrument, (the tests' own,) then WL_TEST_FILTERS's. The
 * specimen's rank is its order's priority's.
 */
#define WL_TEST_CODES(query) " AND (CAST(? AS TEXT) IS NULL OR w.specimen_id IN (" query "))"
#define OPEN_CODES                                                                                 \
    WL_TEST_CODES("SELECT ot.specimen_id FROM order_tests ot WHERE ot.status IN ('ordered',"       \
                  " 'in-progress', 'resulted') AND " OPEN_TESTS " AND ot.test_code = ?")
#define REVIEW_CODES                                                                               \
    WL_TEST_CODES("SELECT ot.specimen_id FROM order_tests ot WHERE ot.status IN ('ordered',"       \
                  " 'in-progress', 'resulted') AND " REVIEW_TESTS " AND ot.test_code = ?")
/* A result has a release time once released (corrected ones keep it), when
 * its order test is released too. */
#define RELEASED_CODES                                                                             \
    WL_TEST_CODES("SELECT r.specimen_id FROM results r WHERE r.test_code = ?"                      \
                  " AND r.released_at >= ?")
#define WL_SPECIMEN_FILTERS(tests, test_codes)                                                     \
    " AND (CAST(? AS TEXT) IS NULL OR w.rnk = " RANK(                                              \
        "CAST(? AS TEXT)") ")" test_codes " AND (CAST(? AS TEXT) IS NULL OR w.specimen_type = ?)"  \
                           " AND ((CAST(? AS TEXT) IS NULL AND CAST(? AS TEXT) IS NULL) OR "       \
                           "EXISTS (SELECT 1"                                                      \
                           " FROM order_tests ot LEFT JOIN results r ON r.order_test_id = ot.id"   \
                           " WHERE ot.specimen_id = w.specimen_id AND " tests                      \
                           " AND " WL_TEST_FILTERS "))"

/* The specimens of a stage (`where` on the state w), with the filters: the page's
 * first specimens in the worklist's order, LIMIT the last parameter. Those
 * waiting since the same moment (an order's specimens) are cut by id: the
 * state alone decides, so that no specimen row is read for the thousands a
 * tab may hold; the page then shows its own in accession order. */
#define WL_CANDIDATES(where, tests, codes)                                                         \
    "SELECT w.specimen_id AS id FROM worklist_specimens w WHERE " where WL_SPECIMEN_FILTERS(       \
        tests, codes) " ORDER BY w.rnk, w.since, w.specimen_id LIMIT ?"

/*
 * The test rows of a page: those of the candidate specimens that are in the
 * stage (`tests`) and pass the row filters (priority x2, then
 * WL_TEST_FILTERS's), in the worklist's order.
 */
#define WL_PAGE(where, tests, codes)                                                               \
    "SELECT s.accession, s.status, o.priority, s.specimen_type, s.container, s.collected_at,"      \
    " s.received_at, p.id, p.mrn, p.family, p.given, ot.test_code, t.name, ot.status, r.id,"       \
    " r.flag, CASE WHEN s.received_at IS NULL THEN NULL ELSE s.received_at +"                      \
    " CAST(60000000 AS BIGINT) * (CASE o.priority WHEN 'stat' THEN t.tat_stat_minutes"             \
    " WHEN 'asap' THEN t.tat_asap_minutes ELSE t.tat_routine_minutes END) END,"                    \
    " " RANK(                                                                                      \
        "o.priority") " AS rnk, " SINCE " AS since"                                                \
                      " FROM (" WL_CANDIDATES(                                                     \
                          where, tests,                                                            \
                          codes) ") c JOIN order_tests ot ON ot.specimen_id = c.id"                \
                                 " JOIN specimens s ON s.id = ot.specimen_id JOIN orders o ON "    \
                                 "o.id = ot.order_id"                                              \
                                 " JOIN patients p ON p.id = s.patient_id JOIN tests t ON t.code " \
                                 "= ot.test_code"                                                  \
                                 " LEFT JOIN results r ON r.order_test_id = ot.id WHERE " tests    \
                                 " AND (CAST(? AS TEXT) IS NULL OR o.priority = ?) "               \
                                 "AND " WL_TEST_FILTERS                                            \
                                 " ORDER BY rnk, since, s.accession, ot.test_code LIMIT 5000"

#define WL_COUNT(where, tests, codes)                                                              \
    "SELECT COUNT(*) FROM worklist_specimens w WHERE " where WL_SPECIMEN_FILTERS(tests, codes)

/* Where each stage finds its specimens and which of their tests it shows;
 * the released stage's conditions take the time bound. */
#define OPEN_TESTS     "ot.status IN ('ordered', 'in-progress')"
#define REVIEW_TESTS   "ot.status = 'resulted'"
#define RELEASED_TESTS "ot.status = 'released' AND r.released_at >= ?"
#define AT_COLLECT     "w.open_tests > 0 AND w.open_stage = 'to-collect'"
#define AT_RECEIVE     "w.open_tests > 0 AND w.open_stage = 'to-receive'"
#define AT_BENCH       "w.open_tests > 0 AND w.open_stage = 'in-progress'"
#define AT_REVIEW      "w.review_tests > 0"
#define AT_RELEASED    "w.released_at >= ?"

typedef struct stage_sql {
    const char *name;
    const char *count;
    const char *page;
} stage_sql;

static const stage_sql stage_sqls[] = {
    {"to-collect", WL_COUNT(AT_COLLECT, OPEN_TESTS, OPEN_CODES),
     WL_PAGE(AT_COLLECT, OPEN_TESTS, OPEN_CODES)},
    {"to-receive", WL_COUNT(AT_RECEIVE, OPEN_TESTS, OPEN_CODES),
     WL_PAGE(AT_RECEIVE, OPEN_TESTS, OPEN_CODES)},
    {"in-progress", WL_COUNT(AT_BENCH, OPEN_TESTS, OPEN_CODES),
     WL_PAGE(AT_BENCH, OPEN_TESTS, OPEN_CODES)},
    {"to-review", WL_COUNT(AT_REVIEW, REVIEW_TESTS, REVIEW_CODES),
     WL_PAGE(AT_REVIEW, REVIEW_TESTS, REVIEW_CODES)},
    {"released", WL_COUNT(AT_RELEASED, RELEASED_TESTS, RELEASED_CODES),
     WL_PAGE(AT_RELEASED, RELEASED_TESTS, RELEASED_CODES)},
};
#define RELEASED_STAGE 4

static const char *const priorities[] = {"routine", "asap", "stat"};

static bool one_of(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, list[i]))
            return true;
    return false;
}

/* A statement's parameters, bound in order from 1. */
typedef struct binder {
    db_stmt *st;
    int i;
    err_t rc;
} binder;

static void bind_str(binder *b, const char *v)
{
    if (!b->rc)
        b->rc = db_bind_str(b->st, ++b->i, v);
}

static void bind_int(binder *b, int64_t v)
{
    if (!b->rc)
        b->rc = db_bind_int64(b->st, ++b->i, v);
}

/* WL_TEST_FILTERS's parameters. */
static void bind_test_filters(binder *b, const worklist_filter *f)
{
    bind_str(b, f->test);
    bind_str(b, f->test);
    bind_str(b, f->instrument);
    bind_str(b, f->instrument);
    bind_str(b, f->instrument);
}

/* The parameters of a stage's WHERE and WL_SPECIMEN_FILTERS. */
static void bind_specimens(binder *b, const worklist_filter *f, bool released, int64_t since)
{
    if (released)
        bind_int(b, since);
    bind_str(b, f->priority);
    bind_str(b, f->priority);
    bind_str(b, f->test);
    bind_str(b, f->test);
    if (released)
        bind_int(b, since);
    bind_str(b, f->specimen_type);
    bind_str(b, f->specimen_type);
    /* The test filter alone is done by the codes. */
    bind_str(b, NULL);
    bind_str(b, f->instrument);
    if (released)
        bind_int(b, since);
    bind_test_filters(b, f);
}

static err_t counts(db *d, const worklist_filter *f, int64_t now, json_t *out, errinfo *ei)
{
    err_t rc = ERR_OK;
    for (size_t i = 0; i < sizeof(stage_sqls) / sizeof(stage_sqls[0]) && !rc; i++) {
        binder b = {0};
        bool row = false;
        rc = db_prepare(d, stage_sqls[i].count, &b.st, ei);
        if (rc)
            break;
        bind_specimens(&b, f, i == RELEASED_STAGE, now - RELEASED_SPAN);
        rc = b.rc ? err_set(ei, b.rc, NULL, "cannot bind the worklist's filters") : ERR_OK;
        if (!rc)
            rc = db_step(b.st, &row, ei);
        if (!rc && json_object_set_new(out, stage_sqls[i].name,
                                       json_integer(row ? db_col_int64(b.st, 0) : 0)))
            rc = ERR_NOMEM;
        db_finalize(b.st);
    }
    return rc;
}

/* The page of a stage, ready to step: its candidate specimens, then their rows. */
static err_t page(db *d, const worklist_filter *f, size_t stage, int64_t now, db_stmt **st,
                  errinfo *ei)
{
    binder b = {0};
    bool released = stage == RELEASED_STAGE;
    *st = NULL;
    err_t rc = db_prepare(d, stage_sqls[stage].page, &b.st, ei);
    if (rc)
        return rc;
    bind_specimens(&b, f, released, now - RELEASED_SPAN);
    bind_int(&b, f->limit);
    if (released)
        bind_int(&b, now - RELEASED_SPAN);
    bind_str(&b, f->priority);
    bind_str(&b, f->priority);
    bind_test_filters(&b, f);
    if (b.rc) {
        db_finalize(b.st);
        return err_set(ei, b.rc, NULL, "cannot bind the worklist's filters");
    }
    *st = b.st;
    return ERR_OK;
}

/* Close the specimen being built: its due time and lateness. */
static void finish(json_t *item, int64_t due, int64_t now)
{
    char iso[TIME_ISO_LEN];
    if (!item)
        return;
    if (due) {
        time_format_iso(due, iso);
        json_object_set_new(item, "due_at", json_string(iso));
    } else {
        json_object_set_new(item, "due_at", json_null());
    }
    json_object_set_new(item, "minutes_late",
                        json_integer(due && now > due ? (now - due) / MINUTE_US : 0));
}

static err_t rows(db *d, const worklist_filter *f, size_t stage, int64_t now, int limit,
                  json_t *items, json_t *accessions, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *item = NULL;
    char cur[32] = "";
    int64_t due = 0;
    err_t rc = page(d, f, stage, now, &st, ei);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        const char *acc = db_col_text(st, 0);
        if (strcmp(acc, cur)) {
            finish(item, due, now);
            if (json_array_size(items) >= (size_t)limit)
                break;
            char name[300];
            snprintf(name, sizeof(name), "%s, %s", db_col_text(st, 9), db_col_text(st, 10));
            item = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:{s:s,s:s,s:s},s:[]}", "accession", acc,
                             "specimen_status", db_col_text(st, 1), "priority", db_col_text(st, 2),
                             "specimen_type", db_col_text(st, 3), "container", db_col_text(st, 4),
                             "collected_at", db_col_json_time(st, 5), "received_at",
                             db_col_json_time(st, 6), "patient", "id", db_col_text(st, 7), "mrn",
                             db_col_text(st, 8), "name", name, "tests");
            if (!item || json_array_append_new(items, item) ||
                json_array_append_new(accessions, json_string(acc))) {
                rc = ERR_NOMEM;
                break;
            }
            snprintf(cur, sizeof(cur), "%s", acc);
            due = 0;
        }
        const char *ts = db_col_text(st, 13);
        if (!db_col_null(st, 16) && strcmp(ts, "released")) {
            int64_t d1 = db_col_int64(st, 16);
            if (!due || d1 < due)
                due = d1;
        }
        json_t *t = json_pack("{s:s,s:s,s:s,s:o,s:o}", "code", db_col_text(st, 11), "name",
                              db_col_text(st, 12), "status", ts, "result_id",
                              db_col_json_text(st, 14), "flag", db_col_json_text(st, 15));
        if (!t || json_array_append_new(json_object_get(item, "tests"), t)) {
            rc = ERR_NOMEM;
            break;
        }
    }
    if (!rc && row == false)
        finish(item, due, now);
    db_finalize(st);
    return rc;
}

err_t worklist_list(db *d, const audit_ctx *ctx, const worklist_filter *fin, int64_t now,
                    json_t **out, errinfo *ei)
{
    worklist_filter f = *fin;
    json_t *items = NULL, *accs = NULL, *cnt = NULL;
    char at[TIME_ISO_LEN];
    size_t stage = 0;
    err_t rc;
    *out = NULL;
    if (!f.stage)
        f.stage = "in-progress";
    if (!f.limit)
        f.limit = 200;
    while (stage < sizeof(stage_sqls) / sizeof(stage_sqls[0]) &&
           strcmp(f.stage, stage_sqls[stage].name))
        stage++;
    if (stage == sizeof(stage_sqls) / sizeof(stage_sqls[0]))
        return err_set(ei, ERR_INVALID, "stage",
                       "stage is to-collect, to-receive, in-progress, to-review or released");
    if (f.priority && !one_of(f.priority, priorities, sizeof(priorities) / sizeof(priorities[0])))
        return err_set(ei, ERR_INVALID, "priority", "priority is routine, asap or stat");
    if (f.limit < 1 || f.limit > WORKLIST_LIMIT_MAX)
        return err_set(ei, ERR_INVALID, "limit", "limit must be from 1 to %d", WORKLIST_LIMIT_MAX);
    items = json_array();
    accs = json_array();
    cnt = json_object();
    if (!items || !accs || !cnt) {
        rc = ERR_NOMEM;
        goto done;
    }
    /* Two reads, then the audit event in a transaction of its own: the list
     * is answered only once its reading is on record. */
    rc = counts(d, &f, now, cnt, ei);
    if (!rc)
        rc = rows(d, &f, stage, now, f.limit, items, accs, ei);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:O}", "stage", f.stage, "accessions", accs);
        rc = detail ? audit_record(d, ctx, "specimen.search", "specimen", "", "ok", detail, ei)
                    : ERR_NOMEM;
        json_decref(detail);
    }
    if (rc)
        goto done;
    time_format_iso(now, at);
    *out =
        json_pack("{s:s,s:s,s:O,s:O}", "stage", f.stage, "now", at, "counts", cnt, "items", items);
    if (!*out)
        rc = ERR_NOMEM;
done:
    json_decref(items);
    json_decref(accs);
    json_decref(cnt);
    return rc;
}

/* Forget the state of the specimens of key, then count it again. */
static err_t touch(db *d, const char *forget, const char *count, const char *key, errinfo *ei)
{
    err_t rc = db_run(d, ei, NULL, forget, "t", key);
    return rc ? rc : db_run(d, ei, NULL, count, "t", key);
}

err_t worklist_touch(db *d, const char *specimen_id, errinfo *ei)
{
    return touch(d, WL_FORGET(KEY_SPECIMEN), WL_COUNT_AGAIN(KEY_SPECIMEN), specimen_id, ei);
}

err_t worklist_touch_order(db *d, const char *order_id, errinfo *ei)
{
    return touch(d, WL_FORGET(KEY_ORDER), WL_COUNT_AGAIN(KEY_ORDER), order_id, ei);
}

err_t worklist_touch_test(db *d, const char *order_test_id, errinfo *ei)
{
    return touch(d, WL_FORGET(KEY_TEST), WL_COUNT_AGAIN(KEY_TEST), order_test_id, ei);
}
