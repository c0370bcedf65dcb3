/*
 * metrics.h - the process's counters and histograms, for GET /metrics in
 * the Prometheus text exposition format (version 0.0.4).
 *
 * A series is a family name ("benchside_http_requests_total") with a label
 * set written as Prometheus writes it (`method="GET",status="200"`, or ""
 * for none). The callers make the label sets from bounded vocabularies (a
 * route's pattern, never its path; a status code; a protocol), so the number
 * of series stays small. Counters only go up; a histogram counts
 * observations into the fixed buckets METRICS_BUCKETS (seconds) and keeps
 * their sum and count.
 *
 * The figures are this process's since it started: with several nodes,
 * each node has its own and the scraper adds them up. Thread-safe: one
 * mutex over the table, held for a hash look-up and an addition.
 */
#ifndef BENCHSIDE_BASE_METRICS_H
#define BENCHSIDE_BASE_METRICS_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Upper bounds of the histogram buckets, in seconds (+Inf is implied). */
#define METRICS_BUCKETS                                                                            \
    {                                                                                              \
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10                     \
    }
#define METRICS_NBUCKETS 13

/* Longest label set kept, in bytes; a longer one is cut at a label's end. */
#define METRICS_LABELS_MAX 256

/*
 * Add by to the counter name{labels}. help is the family's description
 * (a static string: kept by address), used the first time name is seen.
 * A series that cannot be allocated is not counted (nothing else fails).
 */
void metrics_count(const char *name, const char *help, const char *labels, int64_t by);

/* Observe value (seconds) in the histogram name{labels}; help as above. */
void metrics_observe(const char *name, const char *help, const char *labels, double value);

/*
 * Append every series to out in the text format: per family its # HELP and
 * # TYPE lines, then its series in the order they were first seen; a
 * histogram as _bucket{le=...} (cumulative), _sum and _count. ERR_NOMEM.
 */
err_t metrics_render(buf *out);

/*
 * Append one gauge family with one series per label set: labels[i] and
 * values[i] for i < n. For figures read when scraped (the outbox depth, the
 * alerts open), which the caller owns. ERR_NOMEM.
 */
err_t metrics_render_gauge(buf *out, const char *name, const char *help, const char *const *labels,
                           const double *values, int n);

/* Forget every series (for tests). */
void metrics_reset(void);

#endif
