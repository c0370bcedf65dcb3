/*
 * ops.c - the figures of /metrics (see ops.h).
 */
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/metrics.h"
#include "base/str.h"
#include "base/time.h"
#include "config.h"

static const char sql_gauges[] =
    "SELECT (SELECT COUNT(*) FROM outbox WHERE status = 'pending'),"
    " (SELECT COUNT(*) FROM order_outbox WHERE status = 'pending'),"
    " (SELECT MIN(created_at) FROM outbox WHERE status = 'pending'),"
    " (SELECT COUNT(*) FROM qc_lockouts WHERE closed_at IS NULL),"
    " (SELECT COUNT(*) FROM qc_check_lockouts WHERE closed_at IS NULL),"
    " (SELECT COUNT(*) FROM critical_alerts WHERE closed_at IS NULL),"
    " (SELECT COUNT(*) FROM qc_pbqc_alerts WHERE acknowledged_at IS NULL),"
    " (SELECT COUNT(*) FROM temperature_alerts WHERE status = 'open')";

err_t ops_gauges_read(db *d, int64_t now, ops_gauges *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *out = (ops_gauges){0};
    err_t rc = db_query(d, &st, ei, sql_gauges, "");
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        out->outbox_results = db_col_int64(st, 0);
        out->outbox_orders = db_col_int64(st, 1);
        if (!db_col_null(st, 2) && db_col_int64(st, 2) < now)
            out->outbox_oldest_s = (double)(now - db_col_int64(st, 2)) / 1e6;
        out->lockouts_qc = db_col_int64(st, 3);
        out->lockouts_checks = db_col_int64(st, 4);
        out->alerts_critical = db_col_int64(st, 5);
        out->alerts_pbqc = db_col_int64(st, 6);
        out->alerts_temp = db_col_int64(st, 7);
    }
    db_finalize(st);
    return rc;
}

/* Resident memory of this process in bytes, from /proc (0 when unknown). */
static double resident_bytes(void)
{
    char text[128];
    int64_t pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    /* statm: size resident shared ...; the second field, in pages */
    const char *sp = memchr(text, ' ', n);
    if (!sp)
        return 0;
    const char *end = strchr(sp + 1, ' ');
    if (!end || str_to_int64(sp + 1, (size_t)(end - sp - 1), 0, INT64_MAX, &pages))
        return 0;
    return (double)pages * (double)sysconf(_SC_PAGESIZE);
}

err_t ops_metrics(db *d, buf *out, errinfo *ei)
{
    ops_gauges g;
    err_t rc = ops_gauges_read(d, time_now_us(), &g, ei);
    if (rc)
        return rc;
    const char *one[] = {"version=\"" BENCHSIDE_VERSION "\""};
    double info = 1, rss = resident_bytes();
    rc = metrics_render_gauge(out, "benchside_build_info", "The running build (always 1)", one,
                              &info, 1);
    const char *none[] = {NULL};
    if (!rc)
        rc = metrics_render_gauge(out, "process_resident_memory_bytes",
                                  "Resident memory of the server process", none, &rss, 1);
    if (!rc)
        rc = metrics_render(out);
    /* The figures read from the database, family by family. */
    const struct {
        const char *name, *help;
        const char *labels[3];
        double values[3];
        int n;
    } gauges[] = {
        {"benchside_outbox_pending",
         "Rows of the outbox waiting to be delivered (results to the EHRs, orders to analyzers)",
         {"kind=\"result\"", "kind=\"order\""},
         {(double)g.outbox_results, (double)g.outbox_orders},
         2},
        {"benchside_outbox_oldest_pending_seconds",
         "Age of the oldest result waiting for an EHR (0 when none)",
         {NULL},
         {g.outbox_oldest_s},
         1},
        {"benchside_qc_lockouts_open",
         "QC lockouts holding patient results: of a test (Westgard) or of a device (tolerance "
         "checks)",
         {"kind=\"westgard\"", "kind=\"device-check\""},
         {(double)g.lockouts_qc, (double)g.lockouts_checks},
         2},
        {"benchside_alerts_open",
         "Alerts open: critical values not called, patient-based QC alerts not acknowledged, "
         "temperature excursions",
         {"kind=\"critical\"", "kind=\"pbqc\"", "kind=\"temperature\""},
         {(double)g.alerts_critical, (double)g.alerts_pbqc, (double)g.alerts_temp},
         3},
    };
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]) && !rc; i++)
        rc = metrics_render_gauge(out, gauges[i].name, gauges[i].help, gauges[i].labels,
                                  gauges[i].values, gauges[i].n);
    return rc == ERR_NOMEM ? err_set(ei, ERR_NOMEM, NULL, NULL) : rc;
}
