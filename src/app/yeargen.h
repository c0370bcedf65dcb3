/*
 * yeargen.h - a year of a large laboratory, generated into a database for
 * benchmarks (bench/gen_year.c, bench/bench_year.c) and for the tests that
 * check the reads stay right and fast on it.
 *
 * Patients with MRNs, names, birth dates and sex; orders of the demo
 * catalog's panels and tests with priorities; specimens with accession
 * numbers, their chain of custody; order tests; results drawn around each
 * test's reference range and flagged as result entry flags them, critical
 * values with their call documented, a few corrected results with their
 * history, manual releases with their signatures. Times are spread over the
 * days before the end with diurnal and weekly peaks; part of the last day's
 * work is left open (to collect, to receive, in progress, to review) so the
 * worklist has real work. The rows have the shape the domain code writes
 * (src/lab/order.c, custody.c, result.c), written through prepared
 * statements in transactions of some thousands of rows, not through the
 * domain functions: those would take days for a year. One audit event,
 * "data.generated", records the load with its counts.
 *
 * The data depends only on the options: the same options give the same rows
 * (ids included), so a benchmark can be run again on the same year.
 */
#ifndef BENCHSIDE_APP_YEARGEN_H
#define BENCHSIDE_APP_YEARGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/db.h"

/* Bumped whenever the rows generated for the same options change, so that a
 * database made by an earlier generator is known to be stale. */
#define YEARGEN_VERSION 2 /* 2: the worklist state of migration 0020 */

#define YEARGEN_PREFIX_MAX 12

typedef struct yeargen_opts {
    int64_t patients;   /* 1 .. 100,000,000 */
    int64_t results;    /* tests ordered, about the results written; 1 .. 2,000,000,000 */
    int64_t days;       /* 1 .. 3660: how far back from end the data reaches */
    uint64_t seed;      /* any */
    int64_t end;        /* UTC microseconds: the moment the data ends ("now" for it) */
    const char *prefix; /* MRNs begin with it: letters and digits, 1..YEARGEN_PREFIX_MAX */
    bool progress;      /* progress lines on standard error */
} yeargen_opts;

/* Defaults: 1,000,000 patients, 30,000,000 results, 365 days, a fixed seed,
 * end the current minute, prefix "Y", progress on. */
void yeargen_opts_init(yeargen_opts *o);

/* What was written. */
typedef struct yeargen_counts {
    int64_t patients, orders, specimens, specimen_events, order_tests, results;
    int64_t result_history, critical_alerts, signatures;
    int64_t open_specimens; /* pending, collected or received with a test not yet released */
    int64_t seconds_load, seconds_index; /* wall time of the rows and of the indexes */
} yeargen_counts;

/*
 * Fill d (migrated; the demo catalog is imported when missing) with the year
 * o describes and write its audit event as actor "gen_year". On SQLite, when
 * the database holds no patient yet, the indexes of the filled tables are
 * dropped during the load and made again from the migrations' own text
 * afterwards (so the schema ends as the migrations make it), and the
 * connection's cache is enlarged and its syncs left out during the load
 * (settings of this connection only). ERR_INVALID naming the option
 * ("patients", "results", "days", "prefix", "end") for a bad one; ERR_CONFLICT
 * when patients with the prefix's MRNs exist already; storage errors. On an
 * error part of the year may be written (each batch is a transaction).
 */
err_t yeargen_run(db *d, const yeargen_opts *o, yeargen_counts *out, errinfo *ei);

#endif
