/*
 * bench_stats.h - percentiles of timings, shared by the benchmark programs
 * (each its own executable: these are static inline, no library of their
 * own).
 */
#ifndef BENCHSIDE_BENCH_STATS_H
#define BENCHSIDE_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* qsort's comparison of int64_t values, ascending. */
static inline int bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th quantile (0..1, nearest rank) of the n sorted microsecond values
 * v, in milliseconds; 0 when there are none. */
static inline double bench_pct_ms(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1000.0;
}

#endif
