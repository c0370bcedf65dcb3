/*
 * worklist.c - the bench's worklist (see worklist.h).
 *
 * One query reads the open tests (and those released in the last day) with
 * the stage each puts its specimen in, through indexes that hold only those
 * (migration 0019), so that its cost follows the open work and not the
 * years of tests behind it; the same text, grouped, counts the
 * specimens of every stage for the tabs. Filters are bound parameters that
 * match everything when NULL.
 */
#include "lab/worklist.h"

#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "store/dbjson.h"

#define MINUTE_US     (60LL * 1000000)
#define RELEASED_SPAN (24LL * 3600 * 1000000)

/* The columns of one test row, with the stage it puts its specimen in. */
#define WL_COLS(stage)                                                                             \
    "SELECT s.id AS sid, s.accession, s.status AS sstatus, o.priority, s.specimen_type,"           \
    " s.container, s.collected_at, s.received_at, p.id AS patient_id, p.mrn, p.family, p.given,"   \
    " ot.test_code AS code, t.name, ot.status AS tstatus, r.id AS result_id, r.flag,"              \
    " r.instrument AS rinst,"                                                                      \
    " CASE WHEN s.received_at IS NULL THEN NULL ELSE s.received_at + CAST(60000000 AS BIGINT) *"   \
    " (CASE o.priority WHEN 'stat' THEN t.tat_stat_minutes WHEN 'asap' THEN t.tat_asap_minutes"    \
    " ELSE t.tat_routine_minutes END) END AS due, " stage " AS stage,"                             \
    " CASE o.priority WHEN 'stat' THEN 0 WHEN 'asap' THEN 1 ELSE 2 END AS rnk,"                    \
    " COALESCE(s.received_at, s.collected_at, s.created_at) AS since"
#define WL_JOINS                                                                                   \
    " JOIN specimens s ON s.id = ot.specimen_id JOIN orders o ON o.id = ot.order_id"               \
    " JOIN patients p ON p.id = s.patient_id JOIN tests t ON t.code = ot.test_code"

/*
 * The tests of the worklist: those still open (found through the partial
 * index order_tests_open, whose list this WHERE repeats), and those released
 * since the time bound first (through results_released). Every other test
 * (cancelled, or released earlier) puts its specimen in no stage, so the
 * millions of a year are never read.
 */
#define WL_ROWS_OF(open_only, released_only)                                                       \
    "(" WL_COLS(                                                                                   \
        "CASE WHEN ot.status = 'resulted' THEN 'to-review'"                                        \
        " WHEN s.status = 'pending' THEN 'to-collect'"                                             \
        " WHEN s.status = 'collected' THEN 'to-receive'"                                           \
        " WHEN s.status IN ('received', 'in-process', 'stored') THEN 'in-progress'"                \
        " ELSE NULL END") " FROM order_tests ot" WL_JOINS                                          \
                          " LEFT JOIN results r ON r.order_test_id = ot.id"                        \
                          " WHERE ot.status IN ('ordered', 'in-progress', 'resulted')" open_only   \
                          " UNION ALL " WL_COLS(                                                   \
                              "'released'") " FROM results r"                                      \
                                            " JOIN order_tests ot ON ot.id = "                     \
                                            "r.order_test_id" WL_JOINS " WHERE " released_only     \
                                            "r.released_at >= ? AND ot.status = 'released') w"
/* Both branches, for the counts of every stage. */
#define WL_ROWS WL_ROWS_OF("", "")
/* One stage's page reads one branch: the other's constant condition is
 * false (its parameter is the stage), so the planner skips it whole. */
#define WL_ROWS_OF_STAGE                                                                           \
    WL_ROWS_OF(" AND CAST(? AS TEXT) <> 'released'", "CAST(? AS TEXT) = 'released' AND ")

#define WL_FILTERS                                                                                 \
    " WHERE w.stage IS NOT NULL AND (CAST(? AS TEXT) IS NULL OR w.priority = ?)"                   \
    " AND (CAST(? AS TEXT) IS NULL OR w.specimen_type = ?)"                                        \
    " AND (CAST(? AS TEXT) IS NULL OR w.code = ?)"                                                 \
    " AND (CAST(? AS TEXT) IS NULL OR w.rinst = ? OR EXISTS (SELECT 1 FROM test_mappings m"        \
    " WHERE m.test_code = w.code AND m.instrument = ?))"

static const char sql_rows[] =
    "SELECT w.accession, w.sstatus, w.priority, w.specimen_type, w.container, w.collected_at,"
    " w.received_at, w.patient_id, w.mrn, w.family, w.given, w.code, w.name, w.tstatus,"
    " w.result_id, w.flag, w.due FROM " WL_ROWS_OF_STAGE WL_FILTERS
    " AND w.stage = ? ORDER BY w.rnk, w.since, w.accession, w.code LIMIT 5000";

static const char sql_counts[] =
    "SELECT w.stage, COUNT(DISTINCT w.sid) FROM " WL_ROWS WL_FILTERS " GROUP BY w.stage";

static const char *const stages[] = {"to-collect", "to-receive", "in-progress", "to-review",
                                     "released"};
static const char *const priorities[] = {"routine", "asap", "stat"};

static bool one_of(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, list[i]))
            return true;
    return false;
}

/* Bind the filters shared by both statements, from parameter 1. */
static err_t query(db *d, const char *sql, const worklist_filter *f, int64_t now, bool stage,
                   db_stmt **st, errinfo *ei)
{
    /* (the stage twice,) since, priority x2, specimen_type x2, test x2,
     * instrument x3, (and the stage) */
    if (stage)
        return db_query(d, st, ei, sql, "ttitttttttttt", f->stage, f->stage, now - RELEASED_SPAN,
                        f->priority, f->priority, f->specimen_type, f->specimen_type, f->test,
                        f->test, f->instrument, f->instrument, f->instrument, f->stage);
    return db_query(d, st, ei, sql, "ittttttttt", now - RELEASED_SPAN, f->priority, f->priority,
                    f->specimen_type, f->specimen_type, f->test, f->test, f->instrument,
                    f->instrument, f->instrument);
}

static err_t counts(db *d, const worklist_filter *f, int64_t now, json_t *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
        json_object_set_new(out, stages[i], json_integer(0));
    err_t rc = query(d, sql_counts, f, now, false, &st, ei);
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_object_set_new(out, db_col_text(st, 0), json_integer(db_col_int64(st, 1)));
    db_finalize(st);
    return rc;
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

static err_t rows(db *d, const worklist_filter *f, int64_t now, int limit, json_t *items,
                  json_t *accessions, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *item = NULL;
    char cur[32] = "";
    int64_t due = 0;
    err_t rc = query(d, sql_rows, f, now, true, &st, ei);
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
    err_t rc;
    *out = NULL;
    if (!f.stage)
        f.stage = "in-progress";
    if (!f.limit)
        f.limit = 200;
    if (!one_of(f.stage, stages, sizeof(stages) / sizeof(stages[0])))
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
        rc = rows(d, &f, now, f.limit, items, accs, ei);
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
