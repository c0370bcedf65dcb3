/*
 * metrics.c - counters and histograms in one hashed table (see metrics.h).
 *
 * Series are kept in a list in the order first seen (so that the output is
 * stable between scrapes) and found through a hash of name and labels.
 * Families are not stored apart: rendering walks the list once per family,
 * which is cheap for the few hundred series a server has.
 */
#include "base/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_BUCKETS 1024 /* a power of two */

typedef enum { KIND_COUNTER, KIND_HISTOGRAM } series_kind;

typedef struct series {
    const char *name, *help;
    char labels[METRICS_LABELS_MAX + 1];
    series_kind kind;
    int64_t count;                     /* the counter, or the observations */
    int64_t buckets[METRICS_NBUCKETS]; /* observations at or under each bound */
    double sum;                        /* histograms */
    struct series *next_hash, *next_all;
} series;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series *table[HASH_BUCKETS];
static series *first, *last;
static const double bounds[METRICS_NBUCKETS] = METRICS_BUCKETS;

/* FNV-1a over the name, a separator and the labels. */
static uint64_t hash_of(const char *name, const char *labels)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *p = labels; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* Copy labels, cut after the last whole label that fits. */
static void labels_copy(char *out, const char *labels)
{
    size_t n = strlen(labels);
    if (n > METRICS_LABELS_MAX) {
        n = METRICS_LABELS_MAX;
        while (n > 0 && labels[n - 1] != '"')
            n--;
    }
    memcpy(out, labels, n);
    out[n] = '\0';
}

/* The series name{labels}, made when new; NULL when out of memory. Under lock. */
static series *find(const char *name, const char *help, const char *labels, series_kind kind)
{
    char key[METRICS_LABELS_MAX + 1];
    labels_copy(key, labels ? labels : "");
    uint64_t h = hash_of(name, key) & (HASH_BUCKETS - 1);
    for (series *s = table[h]; s; s = s->next_hash)
        if (s->kind == kind && !strcmp(s->name, name) && !strcmp(s->labels, key))
            return s;
    series *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->name = name;
    s->help = help;
    s->kind = kind;
    memcpy(s->labels, key, sizeof(key));
    s->next_hash = table[h];
    table[h] = s;
    if (last)
        last->next_all = s;
    else
        first = s;
    last = s;
    return s;
}

void metrics_count(const char *name, const char *help, const char *labels, int64_t by)
{
    pthread_mutex_lock(&lock);
    series *s = find(name, help, labels, KIND_COUNTER);
    if (s)
        s->count += by;
    pthread_mutex_unlock(&lock);
}

void metrics_observe(const char *name, const char *help, const char *labels, double value)
{
    if (!isfinite(value))
        return;
    pthread_mutex_lock(&lock);
    series *s = find(name, help, labels, KIND_HISTOGRAM);
    if (s) {
        for (int i = 0; i < METRICS_NBUCKETS; i++)
            if (value <= bounds[i])
                s->buckets[i]++;
        s->count++;
        s->sum += value;
    }
    pthread_mutex_unlock(&lock);
}

/* name{labels[,extra]} */
static err_t put_series(buf *out, const char *name, const char *suffix, const char *labels,
                        const char *extra)
{
    bool any = labels[0] || extra;
    return buf_printf(out, "%s%s%s%s%s%s%s", name, suffix, any ? "{" : "", labels,
                      labels[0] && extra ? "," : "", extra ? extra : "", any ? "}" : "");
}

static err_t put_histogram(buf *out, const series *s)
{
    char le[48];
    err_t rc = ERR_OK;
    for (int i = 0; i < METRICS_NBUCKETS && !rc; i++) {
        snprintf(le, sizeof(le), "le=\"%g\"", bounds[i]);
        rc = put_series(out, s->name, "_bucket", s->labels, le);
        if (!rc)
            rc = buf_printf(out, " %lld\n", (long long)s->buckets[i]);
    }
    if (!rc)
        rc = put_series(out, s->name, "_bucket", s->labels, "le=\"+Inf\"");
    if (!rc)
        rc = buf_printf(out, " %lld\n", (long long)s->count);
    if (!rc)
        rc = put_series(out, s->name, "_sum", s->labels, NULL);
    if (!rc)
        rc = buf_printf(out, " %.6f\n", s->sum);
    if (!rc)
        rc = put_series(out, s->name, "_count", s->labels, NULL);
    if (!rc)
        rc = buf_printf(out, " %lld\n", (long long)s->count);
    return rc;
}

/* Whether an earlier series than s has its family (already rendered). */
static bool seen_before(const series *s)
{
    for (const series *p = first; p != s; p = p->next_all)
        if (!strcmp(p->name, s->name))
            return true;
    return false;
}

err_t metrics_render(buf *out)
{
    err_t rc = ERR_OK;
    pthread_mutex_lock(&lock);
    for (const series *f = first; f && !rc; f = f->next_all) {
        if (seen_before(f))
            continue;
        rc = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                        f->kind == KIND_COUNTER ? "counter" : "histogram");
        for (const series *s = f; s && !rc; s = s->next_all) {
            if (strcmp(s->name, f->name))
                continue;
            if (s->kind == KIND_HISTOGRAM) {
                rc = put_histogram(out, s);
            } else {
                rc = put_series(out, s->name, "", s->labels, NULL);
                if (!rc)
                    rc = buf_printf(out, " %lld\n", (long long)s->count);
            }
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

err_t metrics_render_gauge(buf *out, const char *name, const char *help, const char *const *labels,
                           const double *values, int n)
{
    err_t rc = buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (int i = 0; i < n && !rc; i++) {
        rc = put_series(out, name, "", labels[i] ? labels[i] : "", NULL);
        if (!rc)
            rc = buf_printf(out, " %.17g\n", values[i]);
    }
    return rc;
}

void metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    for (series *s = first, *next; s; s = next) {
        next = s->next_all;
        free(s);
    }
    memset(table, 0, sizeof(table));
    first = last = NULL;
    pthread_mutex_unlock(&lock);
}
