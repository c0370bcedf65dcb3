/*
 * journal.h - the message journal: every message received (and sent) by a
 * link, raw, with its peer, time, control id, what became of it and why.
 *
 * An inbound message is journalled in the same transaction as what it
 * carried, so the journal and the data never disagree. Bytes that are not
 * UTF-8 text (Latin-1 from an older analyzer, NULs, garbage) are kept
 * exactly, as base64.
 */
#ifndef BENCHSIDE_LAB_JOURNAL_H
#define BENCHSIDE_LAB_JOURNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/audit.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

#define JOURNAL_PEER_MAX    127
#define JOURNAL_CONTROL_MAX 64
#define JOURNAL_SEARCH_MAX  500

typedef struct journal_entry {
    const char *direction;  /* "in" or "out" */
    const char *protocol;   /* "hl7" or "astm" */
    const char *transport;  /* "mllp", "astm-tcp", "serial", "replay" */
    const char *peer;       /* address:port or device path */
    const char *instrument; /* NULL when not recognised */
    const char *sender;     /* the sender's key for control ids ("" when unknown) */
    const char *control_id; /* "" when the message has none */
    const char *type;       /* "ORU^R01", "astm:results" ... */
    const char *status;     /* accepted, duplicate, rejected, error */
    const char *ack;        /* AA, AE, AR, ACK, NAK */
    const char *error;      /* NULL when none */
    const char *error_field;
    const json_t *summary; /* what it carried; NULL for {} */
    const char *raw;
    size_t len;
    const char *replay_of; /* NULL unless replayed */
} journal_entry;

/* Write one entry; its new id into id (may be NULL). */
err_t journal_write(db *d, const journal_entry *e, char id[ID_LEN + 1], errinfo *ei);

/* Whether sender has a message with control_id accepted already; its id into id. */
err_t journal_find_accepted(db *d, const char *sender, const char *control_id, bool *found,
                            char id[ID_LEN + 1], errinfo *ei);

typedef struct journal_filter {
    const char *instrument, *status, *type, *control_id, *peer;
    int64_t from, to; /* received_at bounds (UTC microseconds); 0 = open */
} journal_filter;

/*
 * Entries matching f, newest first, without their raw text; after is the
 * cursor (an id) or NULL. *items is a new array; *next the cursor of the next
 * page or "". Audited as message.search.
 */
err_t journal_search(db *d, const audit_ctx *ctx, const journal_filter *f, int limit,
                     const char *after, json_t **items, char next[ID_LEN + 1], errinfo *ei);

/* One entry with its raw text ("raw", and "raw_base64" when not text);
 * audited as message.read. ERR_NOT_FOUND when none. */
err_t journal_read(db *d, const audit_ctx *ctx, const char *id, json_t **out, errinfo *ei);

/* The raw bytes and how it came (for replay): protocol, transport, peer and
 * instrument into the caller's arrays. */
typedef struct journal_source {
    char protocol[8], transport[16];
    char peer[JOURNAL_PEER_MAX + 1];
    char instrument[65];
    char direction[4];
} journal_source;
err_t journal_raw(db *d, const char *id, buf *raw, journal_source *src, errinfo *ei);

#endif
