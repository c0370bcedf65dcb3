/*
 * ops.h - what the people who run a site watch: the figures of GET
 * /metrics read from the database when scraped (the outbox waiting, the QC
 * lockouts and the alerts open), with the process's own counters
 * (base/metrics.h) around them.
 *
 * Every figure is a count over the tables of several modules; none names a
 * patient, so reading them is not an audited read. With several nodes on
 * one database the figures read here are the same on every node, while the
 * counters are each node's own.
 */
#ifndef BENCHSIDE_OPS_OPS_H
#define BENCHSIDE_OPS_OPS_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/db.h"

/* The figures read from the database at one time. */
typedef struct ops_gauges {
    int64_t outbox_results;  /* results waiting for an EHR's ACK */
    int64_t outbox_orders;   /* orders waiting to be pushed to an analyzer */
    double outbox_oldest_s;  /* age of the oldest result waiting, 0 when none */
    int64_t lockouts_qc;     /* Westgard lockouts open (QC of a test) */
    int64_t lockouts_checks; /* tolerance-check lockouts open (QC of a device) */
    int64_t alerts_critical; /* critical values whose call is not documented */
    int64_t alerts_pbqc;     /* patient-based QC alerts not acknowledged */
    int64_t alerts_temp;     /* temperature excursions open */
} ops_gauges;

/* Read the figures as of now (UTC microseconds) in one statement. */
err_t ops_gauges_read(db *d, int64_t now, ops_gauges *out, errinfo *ei);

/*
 * The whole /metrics document appended to out (Prometheus text format
 * 0.0.4): the build, the process's resident memory, its counters and
 * histograms (requests by route and status and their latency, messages in
 * and out), then the figures above. ERR_NOMEM, or the database's error.
 */
err_t ops_metrics(db *d, buf *out, errinfo *ei);

#endif
