/*
 * worklist.h - the bench's worklist: specimens and their tests by stage (to
 * collect, to receive, in progress, to review, released), STAT first, with
 * how late each is against its turnaround target.
 */
#ifndef BENCHSIDE_LAB_WORKLIST_H
#define BENCHSIDE_LAB_WORKLIST_H

#include <jansson.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define WORKLIST_LIMIT_MAX 500

/* Filters; NULL (or 0 for limit) leaves one out. */
typedef struct worklist_filter {
    const char *stage;         /* to-collect, to-receive, in-progress, to-review, released */
    const char *priority;      /* routine, asap, stat */
    const char *specimen_type; /* as in the catalog: serum, whole blood, urine, ... */
    const char *instrument;    /* tests mapped to it, or resulted by it */
    const char *test;          /* a catalog test code */
    int limit;                 /* specimens, 1..WORKLIST_LIMIT_MAX; default 200 */
} worklist_filter;

/*
 * The specimens of f->stage (default in-progress) whose tests pass the
 * filters, at now (UTC microseconds): STAT first, then ASAP, then routine,
 * oldest first within each. Released shows the last 24 hours. *out is
 * {"stage","now","counts":{stage:specimens...},"items":[{"accession",
 * "specimen_status","priority","specimen_type","container","collected_at",
 * "received_at","patient":{"id","mrn","name"},"tests":[{"code","name",
 * "status","result_id","flag"}],"due_at","minutes_late"}]}; due_at is the
 * earliest turnaround target of the specimen's open tests (received ones
 * only), minutes_late how far past it now is (0 when not late).
 * ERR_INVALID naming the filter ("stage", "priority", "limit"). The list
 * names patients: audited as specimen.search with the accessions shown.
 */
err_t worklist_list(db *d, const audit_ctx *ctx, const worklist_filter *f, int64_t now,
                    json_t **out, errinfo *ei);

/*
 * The worklist's state of one specimen (its row of worklist_specimens,
 * migration 0020) recomputed from its tests and results.
 * Called inside the transaction of every write that changes a specimen's
 * tests, their status or the specimen's status, so the worklist never reads
 * a stale state; recomputing (not counting changes) makes it idempotent.
 * A specimen without tests has no row. Returns ERR_OK or the database's
 * error; a specimen that does not exist is no error.
 */
err_t worklist_touch(db *d, const char *specimen_id, errinfo *ei);
/* The same for every specimen of an order. */
err_t worklist_touch_order(db *d, const char *order_id, errinfo *ei);
/* The same for the specimen of one order test (order_tests.id). */
err_t worklist_touch_test(db *d, const char *order_test_id, errinfo *ei);

#endif
