/*
 * tat.c - turnaround times and the overdue list (see tat.h).
 */
#include "lab/tat.h"

#include <stdlib.h>
#include <string.h>

#include "base/time.h"

#define MINUTE_US (60LL * 1000000)

static const char sql_released[] =
    "SELECT o.priority, s.collected_at, s.received_at, r.released_at, r.resulted_at,"
    " CASE o.priority WHEN 'stat' THEN t.tat_stat_minutes WHEN 'asap' THEN t.tat_asap_minutes"
    " ELSE t.tat_routine_minutes END"
    " FROM results r JOIN specimens s ON s.id = r.specimen_id"
    " JOIN order_tests ot ON ot.id = r.order_test_id JOIN orders o ON o.id = ot.order_id"
    " JOIN tests t ON t.code = r.test_code"
    " WHERE r.released_at >= ? AND r.released_at < ? AND s.received_at IS NOT NULL";

/* Open tests on received specimens with the moment their target passes. */
static const char sql_open[] =
    "SELECT ot.id, ot.test_code, ot.status, o.priority, s.accession, s.patient_id,"
    " s.received_at + CAST(60000000 AS BIGINT) * (CASE o.priority WHEN 'stat' THEN "
    "t.tat_stat_minutes"
    " WHEN 'asap' THEN t.tat_asap_minutes ELSE t.tat_routine_minutes END) AS due"
    " FROM order_tests ot JOIN specimens s ON s.id = ot.specimen_id"
    " JOIN orders o ON o.id = ot.order_id JOIN tests t ON t.code = ot.test_code"
    " WHERE ot.status IN ('ordered', 'in-progress', 'resulted')"
    " AND s.received_at IS NOT NULL AND s.status <> 'rejected'"
    " ORDER BY due LIMIT 1000";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of sorted v[0..n), nearest rank. */
static double percentile(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/* The intervals measured, in minutes: collection to release, receipt to
 * release, receipt to result (the analytic phase), result to release (review). */
enum { M_COLLECTION, M_RECEIPT, M_ANALYTIC, M_REVIEW, M__COUNT };

struct series {
    double *v[M__COUNT];
    size_t n, cap, within;
};

static err_t push(struct series *s, const double x[M__COUNT], bool within)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        for (int m = 0; m < M__COUNT; m++) {
            double *a = realloc(s->v[m], cap * sizeof(double));
            if (!a)
                return ERR_NOMEM;
            s->v[m] = a;
        }
        s->cap = cap;
    }
    for (int m = 0; m < M__COUNT; m++)
        s->v[m][s->n] = x[m];
    s->n++;
    s->within += within;
    return ERR_OK;
}

static json_t *median_p90(const struct series *s, int m)
{
    return json_pack("{s:f,s:f}", "median", percentile(s->v[m], s->n, 50), "p90",
                     percentile(s->v[m], s->n, 90));
}

err_t tat_summary(db *d, int64_t from, int64_t to, json_t **out, errinfo *ei)
{
    static const char *const names[] = {"stat", "asap", "routine"};
    struct series s[3];
    db_stmt *st = NULL;
    bool row = false;
    char f[TIME_ISO_LEN], t[TIME_ISO_LEN];
    err_t rc;

    *out = NULL;
    memset(s, 0, sizeof(s));
    if (to <= from)
        return err_set(ei, ERR_INVALID, "to", "to must be after from");
    rc = db_prepare(d, sql_released, &st, ei);
    if (!rc)
        rc = db_bind_int64(st, 1, from);
    if (!rc)
        rc = db_bind_int64(st, 2, to);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        const char *pr = db_col_text(st, 0);
        int k = !strcmp(pr, "stat") ? 0 : (!strcmp(pr, "asap") ? 1 : 2);
        int64_t coll = db_col_int64(st, 1), rec = db_col_int64(st, 2), rel = db_col_int64(st, 3);
        int64_t target = db_col_int64(st, 5), resulted = db_col_int64(st, 4);
        double x[M__COUNT];
        x[M_RECEIPT] = (double)(rel - rec) / MINUTE_US;
        x[M_COLLECTION] = coll ? (double)(rel - coll) / MINUTE_US : x[M_RECEIPT];
        x[M_ANALYTIC] = (double)(resulted - rec) / MINUTE_US;
        x[M_REVIEW] = (double)(rel - resulted) / MINUTE_US;
        rc = push(&s[k], x, x[M_RECEIPT] <= (double)target);
    }
    db_finalize(st);
    json_t *arr = rc ? NULL : json_array();
    for (int k = 0; !rc && k < 3; k++) {
        if (s[k].n > 1) /* an empty series has no array at all */
            for (int m = 0; m < M__COUNT; m++)
                qsort(s[k].v[m], s[k].n, sizeof(double), cmp_double);
        json_array_append_new(arr,
                              json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:f}", "priority", names[k],
                                        "count", (json_int_t)s[k].n, "from_collection_minutes",
                                        median_p90(&s[k], M_COLLECTION), "from_receipt_minutes",
                                        median_p90(&s[k], M_RECEIPT), "receipt_to_result_minutes",
                                        median_p90(&s[k], M_ANALYTIC), "result_to_release_minutes",
                                        median_p90(&s[k], M_REVIEW), "within_target",
                                        s[k].n ? (double)s[k].within / (double)s[k].n : 1.0));
    }
    for (int k = 0; k < 3; k++)
        for (int m = 0; m < M__COUNT; m++)
            free(s[k].v[m]);
    if (rc)
        return rc;
    time_format_iso(from, f);
    time_format_iso(to, t);
    *out = json_pack("{s:s,s:s,s:o}", "from", f, "to", t, "priorities", arr);
    return *out ? ERR_OK : ERR_NOMEM;
}

err_t tat_overdue(db *d, const audit_ctx *ctx, int64_t now, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array(), *ids = json_array();
    err_t rc = arr && ids ? db_begin(d, ei) : ERR_NOMEM;
    *out = NULL;
    if (rc)
        goto done;
    rc = db_prepare(d, sql_open, &st, ei);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        int64_t due = db_col_int64(st, 6);
        if (due >= now)
            break; /* ordered by due: the rest are not late yet */
        char iso[TIME_ISO_LEN];
        time_format_iso(due, iso);
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "order_test_id", db_col_text(st, 0),
                           "code", db_col_text(st, 1), "status", db_col_text(st, 2), "priority",
                           db_col_text(st, 3), "accession", db_col_text(st, 4), "patient_id",
                           db_col_text(st, 5), "due_at", iso, "minutes_late",
                           (json_int_t)((now - due) / MINUTE_US)));
        json_array_append_new(ids, json_string(db_col_text(st, 4)));
    }
    db_finalize(st);
    if (!rc) {
        json_t *detail = json_pack("{s:O}", "accessions", ids);
        rc = audit_write(d, ctx, "specimen.search", "specimen", "", "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        goto done;
    }
    *out = json_pack("{s:O}", "items", arr);
done:
    json_decref(arr);
    json_decref(ids);
    return rc;
}
