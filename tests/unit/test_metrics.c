/*
 * test_metrics.c - unit tests of the process's counters and histograms
 * (src/base/metrics.c) as a Prometheus scraper reads them: one HELP and
 * TYPE per family, series in the order first seen, cumulative buckets with
 * their sum and count, gauges, label sets cut at a label's end, counters
 * added from many threads at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "base/metrics.h"

static const char help_req[] = "Requests";
static const char help_lat[] = "Latency";

static void test_counters_by_family(void **state)
{
    buf out = BUF_INIT;
    (void)state;
    metrics_reset();
    metrics_count("t_requests_total", help_req, "route=\"/a\",status=\"200\"", 1);
    metrics_count("t_other_total", "Other", "", 4);
    metrics_count("t_requests_total", help_req, "route=\"/b\",status=\"404\"", 1);
    metrics_count("t_requests_total", help_req, "route=\"/a\",status=\"200\"", 2);
    metrics_count("t_requests_total", help_req, "route=\"/c\",status=\"200\"", 0);
    assert_int_equal(metrics_render(&out), ERR_OK);
    assert_string_equal(out.data, "# HELP t_requests_total Requests\n"
                                  "# TYPE t_requests_total counter\n"
                                  "t_requests_total{route=\"/a\",status=\"200\"} 3\n"
                                  "t_requests_total{route=\"/b\",status=\"404\"} 1\n"
                                  "t_requests_total{route=\"/c\",status=\"200\"} 0\n"
                                  "# HELP t_other_total Other\n"
                                  "# TYPE t_other_total counter\n"
                                  "t_other_total 4\n");
    buf_free(&out);
    metrics_reset();
}

/* 3 ms, 20 ms and 7 s: cumulative buckets, the sum and the count. */
static void test_histogram(void **state)
{
    buf out = BUF_INIT;
    (void)state;
    metrics_reset();
    metrics_observe("t_seconds", help_lat, "route=\"/a\"", 0.003);
    metrics_observe("t_seconds", help_lat, "route=\"/a\"", 0.020);
    metrics_observe("t_seconds", help_lat, "route=\"/a\"", 7.0);
    metrics_observe("t_seconds", help_lat, "route=\"/a\"", 1.0 / 0.0); /* not counted */
    assert_int_equal(metrics_render(&out), ERR_OK);
    assert_string_equal(out.data, "# HELP t_seconds Latency\n"
                                  "# TYPE t_seconds histogram\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.001\"} 0\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.0025\"} 0\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.005\"} 1\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.01\"} 1\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.025\"} 2\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.05\"} 2\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"0.5\"} 2\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"2.5\"} 2\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"5\"} 2\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"10\"} 3\n"
                                  "t_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"
                                  "t_seconds_sum{route=\"/a\"} 7.023000\n"
                                  "t_seconds_count{route=\"/a\"} 3\n");
    buf_free(&out);
    metrics_reset();
}

static void test_gauge(void **state)
{
    buf out = BUF_INIT;
    const char *labels[] = {"kind=\"result\"", "kind=\"order\""};
    const double values[] = {12, 0.5};
    const char *none[] = {NULL};
    const double one = 3;
    (void)state;
    assert_int_equal(metrics_render_gauge(&out, "t_pending", "Waiting", labels, values, 2), ERR_OK);
    assert_int_equal(metrics_render_gauge(&out, "t_age", "Age", none, &one, 1), ERR_OK);
    assert_string_equal(out.data, "# HELP t_pending Waiting\n"
                                  "# TYPE t_pending gauge\n"
                                  "t_pending{kind=\"result\"} 12\n"
                                  "t_pending{kind=\"order\"} 0.5\n"
                                  "# HELP t_age Age\n"
                                  "# TYPE t_age gauge\n"
                                  "t_age 3\n");
    buf_free(&out);
}

/* A label set longer than METRICS_LABELS_MAX keeps its whole labels only. */
static void test_long_labels_cut_at_a_label(void **state)
{
    char labels[METRICS_LABELS_MAX + 64];
    buf out = BUF_INIT;
    size_t n = 0;
    (void)state;
    metrics_reset();
    while (n + 12 < sizeof(labels)) {
        memcpy(labels + n, n ? ",k=\"vvvvv\"" : "k=\"vvvvv\"", n ? 10 : 9);
        n += n ? 10 : 9;
    }
    labels[n] = '\0';
    metrics_count("t_long_total", "Long", labels, 1);
    assert_int_equal(metrics_render(&out), ERR_OK);
    const char *line = strstr(out.data, "t_long_total{");
    assert_non_null(line);
    const char *end = strstr(line, "} 1\n");
    assert_non_null(end);
    assert_true((size_t)(end - line - 13) <= METRICS_LABELS_MAX);
    assert_int_equal(end[-1], '"'); /* the last label is whole */
    buf_free(&out);
    metrics_reset();
}

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        metrics_count("t_threads_total", "Threads", "", 1);
        metrics_observe("t_threads_seconds", "Threads", "", 0.001);
    }
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t t[4];
    buf out = BUF_INIT;
    (void)state;
    metrics_reset();
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, adder, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(metrics_render(&out), ERR_OK);
    assert_non_null(strstr(out.data, "\nt_threads_total 40000\n"));
    assert_non_null(strstr(out.data, "\nt_threads_seconds_bucket{le=\"0.001\"} 40000\n"));
    assert_non_null(strstr(out.data, "\nt_threads_seconds_count 40000\n"));
    buf_free(&out);
    metrics_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_by_family),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_long_labels_cut_at_a_label),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
