/*
 * delivery.h - the outbox: released and corrected results waiting to go to
 * each EHR (instruments of kind ehr), delivered in order per patient and
 * retried until the EHR acknowledges them.
 *
 * Rows are added in the transaction that releases or corrects a result, so
 * a release is never lost between the database and the EHR. The link
 * layer's worker (link/outbox.h) takes what is due, sends it, and records
 * the outcome here.
 */
#ifndef BENCHSIDE_LAB_DELIVERY_H
#define BENCHSIDE_LAB_DELIVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"
#include "lab/instrument.h"
#include "store/db.h"

/* Queue result_id (status 'F' released, 'C' corrected) for every enabled
 * EHR; call inside the transaction that released or corrected it. */
err_t delivery_enqueue(db *d, const char *result_id, char status, errinfo *ei);

/* One result as it is to be sent. */
typedef struct delivery_item {
    char id[ID_LEN + 1]; /* the outbox row */
    char destination[65], send_to[129];
    int attempts;
    char result_status; /* 'F' or 'C' */
    /* the patient */
    char mrn[33], family[65], given[65], birth_date[11], sex[8];
    /* the order and specimen */
    char placer[65], placer_id[65], order_id[ID_LEN + 1], clinician[129], priority[8];
    char accession[32], specimen_type[65];
    int64_t collected_at, received_at;
    /* the result */
    char result_id[ID_LEN + 1], code[17], name[129], loinc[16], kind[8];
    char value[256], unit[33], ref_text[129], flag[4];
    bool has_low, has_high;
    double low, high;
    int64_t resulted_at, released_at;
    char released_by[65];
    int version;
} delivery_item;

/*
 * Claim up to max rows that are due at now for node (a name unique to the
 * running process, at most 64 bytes), oldest first, at most one per patient
 * and destination (a patient's later results wait for the earlier ones).
 * Rows another node holds are left alone until its claim lapses; the rows
 * taken are held by node until now + lease_us, in one transaction of their
 * own. *n is how many were filled (0 on failure).
 */
err_t delivery_due(db *d, const char *node, int64_t now, int64_t lease_us, delivery_item *items,
                   int max, int *n, errinfo *ei);

/* Extend node's claim on row id to until, just before it is sent: *ours is
 * false when the claim lapsed and another node took the row (or it is
 * delivered), and then the row must not be sent. */
err_t delivery_hold(db *d, const char *id, const char *node, int64_t until, bool *ours,
                    errinfo *ei);

/* Give back every row node still holds (results and orders), as it stops. */
err_t delivery_unclaim(db *d, const char *node, errinfo *ei);

/* Record an attempt: delivered (with the control id sent), or failed with
 * why and the time of the next attempt. Either ends the claim. */
err_t delivery_done(db *d, const char *id, const char *control_id, errinfo *ei);
err_t delivery_failed(db *d, const char *id, const char *why, int64_t next_at, errinfo *ei);

/* The outbox as the API shows it: newest first, optionally one status
 * (pending, delivered). New reference in *items. */
err_t delivery_list_json(db *d, const char *status, int limit, json_t **items, errinfo *ei);

/*
 * Orders pushed to analyzers (instruments with orders mode push): when a
 * specimen is received, a row for each push analyzer that runs one of its
 * pending tests; call inside the receiving transaction.
 */
err_t delivery_enqueue_orders(db *d, const char *specimen_id, errinfo *ei);

#define DELIVERY_ORDER_TESTS 60

typedef struct delivery_order {
    char id[ID_LEN + 1];
    instrument in; /* the analyzer */
    int attempts;
    char mrn[33], family[65], given[65], birth_date[11], sex[8];
    char accession[32], specimen_type[65], priority[8], placer_id[65];
    int64_t collected_at;
    size_t ntests; /* the tests still pending that it runs, in its own codes */
    struct {
        char code[33], name[129];
    } tests[DELIVERY_ORDER_TESTS];
} delivery_order;

/* Claim up to max order rows due at now for node, oldest first, as
 * delivery_due does; *n how many. */
err_t delivery_orders_due(db *d, const char *node, int64_t now, int64_t lease_us,
                          delivery_order *items, int max, int *n, errinfo *ei);
/* As delivery_hold, for an order row. */
err_t delivery_order_hold(db *d, const char *id, const char *node, int64_t until, bool *ours,
                          errinfo *ei);

/* Record the outcome of an order row (tests: what was sent, JSON). */
err_t delivery_order_done(db *d, const char *id, const char *control_id, const char *tests,
                          errinfo *ei);
err_t delivery_order_failed(db *d, const char *id, const char *why, int64_t next_at, errinfo *ei);

/* Order rows as the API shows them, newest first (new reference in *items). */
err_t delivery_orders_json(db *d, const char *status, int limit, json_t **items, errinfo *ei);

#endif
