/*
 * handle.h - what an inbound message means: recognise the sender, refuse
 * what it may not send, store what it carried through the lab core, journal
 * it raw, and make the reply.
 *
 * link_handle() runs inside the ingest writer's open transaction: the
 * message's work is a savepoint of its own, undone alone when it fails, and
 * the journal entry is written either way. Nothing is durable, and no reply
 * may leave, until the writer's commit.
 *
 * HL7 (v2.x, over MLLP):
 *   ORU^R01, OUL^R22   results from an analyzer           -> ACK (AA/AE/AR)
 *   QBP^Q11 (WOS)      host query by specimen             -> RSP^K11 with the orders
 *   ADT^A01/A04/A08/A28/A31  register or update a patient (EHR) -> ACK
 *   ORM^O01, OML^O21   new (NW) or cancelled (CA) orders (EHR) -> ACK
 * ASTM (E1394 records over E1381):
 *   Q records          host query                         -> a reply transmission
 *                                                            H, P, O..., L
 *   O and R records    results                            -> ACK, or NAK
 * docs/interfaces.md is the conformance statement: which fields are read.
 */
#ifndef BENCHSIDE_LINK_HANDLE_H
#define BENCHSIDE_LINK_HANDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/id.h"
#include "lab/instrument.h"
#include "store/db.h"

typedef enum { LINK_HL7 = 1, LINK_ASTM = 2 } link_proto;

typedef struct link_msg {
    link_proto proto;
    const char *transport;  /* "mllp", "astm-tcp", "serial", "replay" */
    const char *peer;       /* address:port, or the device path */
    const char *peer_ip;    /* the address alone; "" for a serial line */
    const char *instrument; /* fixed by the port (serial lines), else NULL */
    const char *data;       /* the message: HL7 without MLLP framing; ASTM records */
    size_t len;
    const char *replay_of; /* journal id when replayed, else NULL */
} link_msg;

typedef struct link_reply {
    buf out;     /* HL7: the reply message (unframed); ASTM: the records of a
                    reply transmission, empty when there is none */
    bool stored; /* ASTM: ACK the last frame (true) or NAK it */
    char status[12];
    char journal_id[ID_LEN + 1];
    char error[384];                          /* why it was refused, "" when it was not */
    char instrument[INSTRUMENT_NAME_MAX + 1]; /* the sender recognised, "" when none was */
} link_reply;

/* Handle m (see above) inside the open transaction of d; fill r (its buf is
 * appended to; the caller frees it). Returns an error only when the journal
 * itself could not be written: then the caller must not reply. */
err_t link_handle(db *d, const link_msg *m, link_reply *r, errinfo *ei);

#endif
