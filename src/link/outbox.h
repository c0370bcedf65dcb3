/*
 * outbox.h - the worker that delivers the outbox (lab/delivery.h): results
 * to each EHR as HL7 ORU^R01 over MLLP, and the orders of received specimens
 * to the analyzers that are sent them (push), one connection per EHR kept open, waiting
 * for each ACK. AA (or CA) marks a row delivered; anything else (AE, AR, no
 * answer within 30 s, no connection) is retried with a backoff doubling from
 * 1 s up to 5 minutes. A patient's results go in the order they were
 * released; the rows are in the database, so delivery survives restarts.
 * Several nodes on one database share the work: each row is claimed, for a
 * lease, by the node that sends it (lab/delivery.h).
 */
#ifndef BENCHSIDE_LINK_OUTBOX_H
#define BENCHSIDE_LINK_OUTBOX_H

#include "base/buf.h"
#include "base/err.h"
#include "base/id.h"
#include "lab/delivery.h"

typedef struct outbox_worker outbox_worker;

/*
 * Start the worker thread (its own connection to db_url). node names this
 * process among the nodes sharing the database (at most 64 bytes): the rows
 * it sends are claimed in its name, so that several nodes deliver each row
 * once; what it still holds when it stops is given back.
 */
err_t outbox_start(const char *db_url, const char *node, outbox_worker **out, errinfo *ei);

/* Stop and join it; NULL is ignored. */
void outbox_stop(outbox_worker *w);

/*
 * Append the ORU^R01 (v2.5.1) for one result to out: MSH, PID, ORC, OBR,
 * OBX (result status F or C), with a new control id in control.
 */
err_t outbox_oru(const delivery_item *it, buf *out, char control[ID_LEN + 1]);

/*
 * Orders pushed to an analyzer (lab/delivery.h delivery_order): HL7 OML^O33
 * (IHE LAW: PID, SPM, then ORC and OBR per test) or ORM^O01 (PID, ORC and OBR
 * per test), with a new control id; or ASTM records H, P, O (every test in
 * O.5), L, sent as one E1381 transmission to its send_to address.
 */
err_t outbox_order_hl7(const delivery_order *o, buf *out, char control[ID_LEN + 1]);
err_t outbox_order_astm(const delivery_order *o, buf *out);

#endif
