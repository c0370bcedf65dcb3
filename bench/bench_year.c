/*
 * bench_year.c - the reads people wait for, timed in process on a year of a
 * large laboratory (made by gen_year), through the functions the HTTP
 * handlers call:
 *   - the cumulative report (report_patient_pdf, GET .../report.pdf) for
 *     patients drawn at random and for the heaviest patients (those with the
 *     most orders), with their result counts, PDF pages and bytes;
 *   - the worklist page (worklist_list, GET /api/v1/worklist) of the default
 *     stage, of each stage, and with filters, called again and again;
 *   - the FHIR Observation search of one patient (lookup_search, what
 *     GET /fhir/R4/Observation?patient=... runs), a page of 20 and its total.
 * Every call writes its audit event, as it does behind the API. The time of
 * the worklist is the data's own end (its latest release), so that the
 * released tab holds a day of work whenever the bench runs.
 *
 * usage: bench_year DB_URL [--samples N] [--repeat N] [--prefix P] [--seed S]
 *   --samples  random patients for the report and the search (default 200)
 *   --repeat   calls of each worklist page (default 50)
 *   --prefix   the generator's MRN prefix (default Y)
 * Prints one JSON object: per read p50, p95, p99 and max in milliseconds.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "bench_stats.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "lab/lookup.h"
#include "lab/report.h"
#include "lab/worklist.h"

#define HEAVY 10

static const audit_ctx ctx = {NULL, "bench", "bench"};

/* {"n","p50_ms","p95_ms","p99_ms","max_ms"} of v (sorted here). */
static json_t *summary(int64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), bench_cmp_i64);
    return json_pack("{s:I,s:f,s:f,s:f,s:f}", "n", (json_int_t)n, "p50_ms",
                     bench_pct_ms(v, n, 0.50), "p95_ms", bench_pct_ms(v, n, 0.95), "p99_ms",
                     bench_pct_ms(v, n, 0.99), "max_ms", n ? (double)v[n - 1] / 1000.0 : 0.0);
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Pages of a PDF cairo wrote: its page objects. */
static int pdf_pages(const buf *b)
{
    int n = 0;
    const char *p = b->data, *end = b->data + b->len;
    while (p && p < end) {
        p = memmem(p, (size_t)(end - p), "/Type /Page", 11);
        if (!p)
            break;
        p += 11;
        if (p < end && *p != 's')
            n++;
    }
    return n;
}

typedef struct reports {
    int64_t *us;
    size_t n;
    int64_t results_max, results_sum, bytes_max, pages_max;
} reports;

static err_t one_report(db *d, const char *pid, reports *r, errinfo *ei)
{
    buf b = BUF_INIT;
    int64_t results = 0;
    err_t rc = db_scalar(d,
                         "SELECT COUNT(*) FROM results WHERE patient_id = ?"
                         " AND status IN ('released', 'corrected')",
                         pid, &results, ei);
    int64_t t0 = time_mono_us();
    if (!rc)
        rc = report_patient_pdf(d, &ctx, pid, &b, ei);
    int64_t us = time_mono_us() - t0;
    if (!rc) {
        r->us[r->n++] = us;
        r->results_sum += results;
        if (results > r->results_max)
            r->results_max = results;
        if ((int64_t)b.len > r->bytes_max)
            r->bytes_max = (int64_t)b.len;
        if (pdf_pages(&b) > r->pages_max)
            r->pages_max = pdf_pages(&b);
    }
    buf_free(&b);
    return rc;
}

static json_t *reports_json(reports *r)
{
    json_t *j = summary(r->us, r->n);
    if (j) {
        json_object_set_new(j, "results_mean",
                            json_real(r->n ? (double)r->results_sum / (double)r->n : 0));
        json_object_set_new(j, "results_max", json_integer(r->results_max));
        json_object_set_new(j, "pdf_pages_max", json_integer(r->pages_max));
        json_object_set_new(j, "pdf_bytes_max", json_integer(r->bytes_max));
    }
    return j;
}

static err_t patient_by_mrn(db *d, const char *prefix, int64_t k, char *out, size_t n, errinfo *ei)
{
    char mrn[64];
    db_stmt *st = NULL;
    bool row = false;
    snprintf(mrn, sizeof(mrn), "%s%08lld", prefix, (long long)k);
    err_t rc = db_query(d, &st, ei, "SELECT id FROM patients WHERE mrn = ?", "t", mrn);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no patient %s", mrn);
    if (!rc)
        snprintf(out, n, "%s", db_col_text(st, 0));
    db_finalize(st);
    return rc;
}

/* One worklist page, repeat times; the shown rows of the last call. */
static err_t worklist_case(db *d, const worklist_filter *f, int64_t now, int repeat, json_t *out,
                           const char *name, errinfo *ei)
{
    int64_t *us = calloc((size_t)repeat, sizeof(*us));
    size_t items = 0;
    json_t *counts = NULL;
    err_t rc = us ? ERR_OK : ERR_NOMEM;
    for (int i = 0; i < repeat && !rc; i++) {
        json_t *page = NULL;
        int64_t t0 = time_mono_us();
        rc = worklist_list(d, &ctx, f, now, &page, ei);
        us[i] = time_mono_us() - t0;
        if (!rc && i == repeat - 1) {
            items = json_array_size(json_object_get(page, "items"));
            counts = json_incref(json_object_get(page, "counts"));
        }
        json_decref(page);
    }
    if (!rc) {
        json_t *j = summary(us, (size_t)repeat);
        if (j) {
            json_object_set_new(j, "items", json_integer((json_int_t)items));
            json_object_set(j, "counts", counts ? counts : json_null());
        }
        json_object_set_new(out, name, j);
    }
    json_decref(counts);
    free(us);
    return rc;
}

int main(int argc, char **argv)
{
    int64_t samples = 200, repeat = 50, patients = 0, now = 0, seed = 7;
    const char *prefix = "Y";
    errinfo ei = {0};
    db *d = NULL;
    int status = 1;
    reports rnd = {0}, heavy = {0};
    int64_t *obs = NULL;
    size_t nobs = 0;
    json_t *out = json_object(), *wl = json_object();
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bench_year DB_URL [--samples N] [--repeat N] [--prefix P]"
                        " [--seed S]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        size_t n = strlen(v);
        if ((!strcmp(a, "--samples") && str_to_int64(v, n, 1, 100000, &samples)) ||
            (!strcmp(a, "--repeat") && str_to_int64(v, n, 1, 100000, &repeat)) ||
            (!strcmp(a, "--seed") && str_to_int64(v, n, 1, INT64_MAX, &seed))) {
            fprintf(stderr, "bench_year: bad %s\n", a);
            return 2;
        }
        if (!strcmp(a, "--prefix"))
            prefix = v;
    }
    if (sodium_init() < 0 || !out || !wl)
        return 1;
    log_set_level(LOG_WARN);
    rnd.us = calloc((size_t)samples, sizeof(int64_t));
    heavy.us = calloc(HEAVY, sizeof(int64_t));
    obs = calloc((size_t)samples, sizeof(int64_t));
    if (!rnd.us || !heavy.us || !obs)
        goto fail;
    if (app_open_db(argv[1], &d, &ei))
        goto fail;
    char like[40];
    snprintf(like, sizeof(like), "%s%08d", prefix, 1);
    if (db_scalar(d, "SELECT COUNT(*) FROM patients", NULL, &patients, &ei) ||
        db_scalar(d, "SELECT MAX(released_at) FROM results", NULL, &now, &ei))
        goto fail;
    if (patients < 1 || now == 0) {
        err_set(&ei, ERR_NOT_FOUND, NULL, "no year in this database: run gen_year first");
        goto fail;
    }
    now += 1000000;

    /* The report and the search for the same random patients. */
    uint64_t r = 0x9e3779b97f4a7c15ULL ^ (uint64_t)seed;
    for (int64_t i = 0; i < samples; i++) {
        char pid[64];
        int64_t k = 1 + (int64_t)(next_random(&r) % (uint64_t)patients);
        if (patient_by_mrn(d, prefix, k, pid, sizeof(pid), &ei) || one_report(d, pid, &rnd, &ei))
            goto fail;
        lookup_query q;
        json_t *items = NULL;
        int64_t total = 0;
        lookup_query_init(&q);
        q.patient = pid;
        q.count = 20;
        int64_t t0 = time_mono_us();
        err_t rc = lookup_search(d, &ctx, LOOKUP_OBSERVATIONS, &q, &items, &total, &ei);
        obs[nobs++] = time_mono_us() - t0;
        json_decref(items);
        if (rc)
            goto fail;
    }
    /* The heaviest: the patients with the most orders. */
    db_stmt *st = NULL;
    bool row = false;
    char ids[HEAVY][64];
    int nh = 0;
    if (db_query(d, &st, &ei,
                 "SELECT patient_id FROM orders GROUP BY patient_id ORDER BY COUNT(*) DESC,"
                 " patient_id LIMIT 10",
                 ""))
        goto fail;
    while (nh < HEAVY && !db_step(st, &row, &ei) && row)
        snprintf(ids[nh++], sizeof(ids[0]), "%s", db_col_text(st, 0));
    db_finalize(st);
    for (int i = 0; i < nh; i++)
        if (one_report(d, ids[i], &heavy, &ei))
            goto fail;

    /* The worklist: the default page, each stage, filters. */
    static const char *const stages[] = {"to-collect", "to-receive", "in-progress", "to-review",
                                         "released"};
    worklist_filter f = {0};
    if (worklist_case(d, &f, now, (int)repeat, wl, "default", &ei))
        goto fail;
    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
        worklist_filter g = {.stage = stages[i]};
        if (worklist_case(d, &g, now, (int)repeat, wl, stages[i], &ei))
            goto fail;
    }
    worklist_filter stat = {.priority = "stat"}, serum = {.specimen_type = "serum", .test = "K"};
    if (worklist_case(d, &stat, now, (int)repeat, wl, "in-progress stat", &ei) ||
        worklist_case(d, &serum, now, (int)repeat, wl, "in-progress serum K", &ei))
        goto fail;

    char at[TIME_ISO_LEN];
    time_format_iso(now, at);
    json_object_set_new(out, "backend", json_string(db_backend_name(d)));
    json_object_set_new(out, "patients", json_integer(patients));
    json_object_set_new(out, "now", json_string(at));
    json_object_set_new(out, "report_random", reports_json(&rnd));
    json_object_set_new(out, "report_heaviest", reports_json(&heavy));
    json_object_set_new(out, "fhir_observation_patient", summary(obs, nobs));
    json_object_set(out, "worklist", wl);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        printf("%s\n", text);
    free(text);
    status = text ? 0 : 1;
    goto done;
fail:
    fprintf(stderr, "bench_year: %s\n", ei.message[0] ? ei.message : "out of memory");
done:
    db_close(d);
    free(rnd.us);
    free(heavy.us);
    free(obs);
    json_decref(out);
    json_decref(wl);
    return status;
}
