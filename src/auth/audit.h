/*
 * audit.h - the tamper-evident audit trail.
 *
 * Every sign-in, failed sign-in, permission refusal and every read or write of
 * patient data writes one event: who (actor), when, what (action), which record
 * (entity type and id), from where (source), the outcome and a JSON detail.
 * Events are numbered 1, 2, 3, ... and chained: each event's hash is BLAKE2b-256
 * over the previous event's hash and every field of the event, and the table
 * audit_head keeps the last number and hash. audit_verify() recomputes the
 * chain and names the first event that was changed, removed or inserted.
 *
 * A write's audit event goes in the same transaction as the write:
 * audit_write() must be called inside db_begin()/db_commit(). audit_record()
 * is for events that stand alone (a refusal, a failed sign-in).
 *
 * A read's event may be held back instead (audit_held): while the HTTP
 * dispatcher runs the handler of a GET it sets a holder for its thread
 * (audit_hold), audit_write() and audit_record() append a copy of each event
 * to it, and the dispatcher has the audit writer (auth/auditq.h) commit the
 * events of many reads together before any byte of those reads is sent. The
 * event keeps the time the read happened. (The holder is the thread's rather
 * than a member of audit_ctx so that every event of the request is held,
 * whoever builds its context, and contexts stay three borrowed strings.)
 */
#ifndef BENCHSIDE_AUTH_AUDIT_H
#define BENCHSIDE_AUTH_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

/* One event held back, every string owned (audit_held_free frees them). */
typedef struct audit_event {
    int64_t at; /* when it happened, UTC microseconds */
    char *actor_id, *actor, *source, *action, *entity_type, *entity_id, *outcome;
    char *detail; /* compact JSON text with sorted keys */
} audit_event;

/* The events one request holds back, in the order they happened. */
typedef struct audit_held {
    audit_event *ev;
    size_t n, cap;
} audit_held;

/* Who acts and from where. Strings are borrowed for the call. */
typedef struct audit_ctx {
    const char *actor_id; /* user id, or NULL for the system or an unknown person */
    const char *actor;    /* username, "cli" or "system" */
    const char *source;   /* client IP address, "cli" or "system" */
} audit_ctx;

/*
 * Hold the events this thread writes in h (borrowed) until audit_hold(NULL).
 * Returns the holder that was set before (NULL when none).
 */
audit_held *audit_hold(audit_held *h);

/* An empty holder; audit_held_free() gives back what it holds and leaves it
 * empty again. */
void audit_held_init(audit_held *h);
void audit_held_free(audit_held *h);

/*
 * Write the events the n sets h[0..n) hold, in order, inside the caller's
 * open transaction (each as audit_write would, at its own time: never
 * before the event before it), taking their numbers at once. ERR_OK leaves
 * the sets as they were; the caller frees them.
 */
err_t audit_write_held(db *d, const audit_held *const *h, size_t n, errinfo *ei);

/*
 * Append one event inside the caller's open transaction. entity_type and
 * entity_id may be NULL (stored as ""). outcome is "ok", "failed" or "denied".
 * detail may be NULL (stored as {}); it is not stolen. While the thread holds
 * events (audit_hold) the event is copied to the holder instead, stamped with the time of the call,
 * and no transaction is needed (ERR_NOMEM when the copy cannot be made).
 */
err_t audit_write(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                  const char *entity_id, const char *outcome, const json_t *detail, errinfo *ei);

/*
 * An audited read in a transaction of its own: read(d, id, out, ei) makes the
 * JSON (no audit of its own), then the event action on entity_type id is
 * written. *out is NULL unless both succeed.
 */
err_t audit_read(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                 const char *id, err_t (*read)(db *, const char *, json_t **, errinfo *),
                 json_t **out, errinfo *ei);

/* The same in a transaction of its own (or held back, as audit_write). */
err_t audit_record(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                   const char *entity_id, const char *outcome, const json_t *detail, errinfo *ei);

typedef struct audit_verify_result {
    bool ok;
    int64_t events;    /* events checked */
    int64_t seq;       /* when !ok: the first event at fault (or where one is missing) */
    char problem[512]; /* when !ok: what is wrong, for people */
} audit_verify_result;

/* Recompute the whole chain. ERR_OK with r->ok false means the trail is broken. */
err_t audit_verify(db *d, audit_verify_result *r, errinfo *ei);

typedef struct audit_filter {
    const char *actor, *action, *entity_type, *entity_id, *outcome; /* NULL: any */
    int64_t from, to;                                               /* UTC microseconds; 0: open */
    int64_t before_seq; /* cursor: events with seq below this; 0: from the newest */
    int limit;          /* 1..500 */
} audit_filter;

/*
 * Events matching f, newest first, as a new JSON array in *items; *next_seq is
 * the cursor for the following page, or 0 when there is none.
 */
err_t audit_list(db *d, const audit_filter *f, json_t **items, int64_t *next_seq, errinfo *ei);

/*
 * The head of the chain against its last event, in a few reads whatever the
 * trail's length (for `benchside doctor`; audit_verify reads every event):
 * the head's event is the last one, its hash recomputes from its content
 * and equals the head's. r->events is the head's number. ERR_OK with r->ok
 * false says what disagrees. A change further back shows only to
 * audit_verify.
 */
err_t audit_head_check(db *d, audit_verify_result *r, errinfo *ei);

#endif
