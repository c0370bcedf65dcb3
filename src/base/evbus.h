/*
 * evbus.h - the in-process event bus: what happened (a result entered, a
 * critical value raised, a QC run rejected, a device alert) told to whoever
 * listens, such as the browsers' live-update streams (http/sse.c).
 *
 * The domain does not publish here directly: it calls db_publish() (store/db.h)
 * so that an event leaves only when the transaction that made it commits. The
 * bus knows nothing of HTTP, permissions or the domain: an event is a kind
 * ("result.released"), a time and a JSON text.
 *
 * Events are numbered in the order they are published and kept in a ring of
 * fixed size. A subscriber reads them in order from a cursor (the last id it
 * has seen, as an SSE client's Last-Event-ID), so it can resume after a
 * reconnection; one that falls further behind than the ring holds is told so
 * (EVBUS_GAP) and goes on from the oldest event kept. Publishing never waits
 * for a reader: a slow reader only loses the events the ring no longer holds.
 *
 * Thread-safe: any thread may publish, subscribe and read.
 */
#ifndef BENCHSIDE_BASE_EVBUS_H
#define BENCHSIDE_BASE_EVBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define EVBUS_KIND_MAX  40   /* characters of a kind */
#define EVBUS_DATA_MAX  2048 /* bytes of an event's JSON text */
#define EVBUS_RING_SIZE 1024 /* events the process bus keeps */

typedef struct evbus evbus;
typedef struct evbus_sub evbus_sub;

/* One event as a reader receives it; data is its own copy (free with
 * evbus_event_clear). */
typedef struct evbus_event {
    uint64_t id;
    int64_t at; /* UTC microseconds, when published */
    char kind[EVBUS_KIND_MAX + 1];
    char *data; /* JSON text, NUL-terminated */
    size_t len;
} evbus_event;

typedef enum {
    EVBUS_NONE,  /* nothing new (the subscriber is armed: see evbus_next) */
    EVBUS_EVENT, /* *ev holds the next event */
    EVBUS_GAP,   /* events were lost (ring overrun, or a cursor from elsewhere) */
    EVBUS_NOMEM, /* the next event could not be copied; try again */
} evbus_status;

/*
 * A new bus keeping ring events; ids start at first_id (at least 1).
 * Returns ERR_NOMEM or ERR_INVALID (ring 0, first_id 0). Free with evbus_free
 * once every subscriber has unsubscribed.
 */
err_t evbus_new(size_t ring, uint64_t first_id, evbus **out);
void evbus_free(evbus *b);

/*
 * The process's bus, made on first use with EVBUS_RING_SIZE events and ids
 * starting at the start time in microseconds, so that an id a browser kept
 * from an earlier run of the server reads as older than any event of this
 * one. NULL only when it cannot be allocated. Never freed.
 */
evbus *evbus_global(void);

/*
 * Publish kind (a printable name of at most EVBUS_KIND_MAX characters) with
 * data (JSON text of len bytes, at most EVBUS_DATA_MAX, no newline): copied
 * into the ring, overwriting the oldest event when full, then every armed
 * subscriber's wake is called (at most once per arming). *id_out (may be
 * NULL) receives its id. ERR_INVALID for a bad kind or data, ERR_NOMEM.
 */
err_t evbus_publish(evbus *b, const char *kind, const char *data, size_t len, uint64_t *id_out);

/*
 * Subscribe. after is the id of the last event the reader has seen: 0 for
 * "from now on"; an id still in the ring resumes right after it. wake (may
 * be NULL) is called with arg, on the publisher's thread and under the bus's
 * lock, when an event arrives for an armed subscriber: it must only signal
 * (never call back into the bus). ERR_NOMEM.
 */
err_t evbus_subscribe(evbus *b, uint64_t after, void (*wake)(void *arg), void *arg,
                      evbus_sub **out);

/*
 * The next event after the subscriber's cursor (moving it on). EVBUS_NONE
 * arms the subscriber: the next publish calls its wake. EVBUS_GAP moves the
 * cursor to just before the oldest event kept (or to the newest when the
 * cursor was ahead of the bus); the following call goes on from there.
 */
evbus_status evbus_next(evbus_sub *s, evbus_event *ev);

/* The subscriber's cursor: the id of the last event it read. */
uint64_t evbus_cursor(const evbus_sub *s);

/* Stop: after it returns, wake is never called again for s. NULL is fine. */
void evbus_unsubscribe(evbus_sub *s);

/* Free an event's data (the struct itself is the caller's). */
void evbus_event_clear(evbus_event *ev);

#endif
