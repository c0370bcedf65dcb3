/*
 * sse.h - live events for browsers: GET /api/v1/events as Server-Sent Events,
 * fed by the process's event bus (base/evbus.h). Private to src/http/.
 *
 * One stream per request. Its content reader never blocks a worker thread of
 * libmicrohttpd: with nothing to send it suspends the connection, and the bus
 * (a new event), the hub's heartbeat thread or the server's stop resume it.
 * Each stream shows only the events the signed-in role may read (kind to
 * permission, below in sse.c), resumes after Last-Event-ID from the bus's
 * ring, and ends when its session does.
 */
#ifndef BENCHSIDE_HTTP_SSE_H
#define BENCHSIDE_HTTP_SSE_H

#include "http/route.h"

#define HTTP_SSE_MAX_STREAMS 512

typedef struct http_sse_hub http_sse_hub;

/*
 * Start the hub of a server: its heartbeat thread comments every
 * heartbeat_s seconds on every stream (keeping proxies from closing them,
 * finding clients that left) and checks that each stream's session is still
 * alive. cfg is borrowed (the pool, the idle time-out). ERR_NOMEM, ERR_INTERNAL.
 */
err_t http_sse_hub_start(const http_config *cfg, int heartbeat_s, http_sse_hub **out);

/*
 * End every stream (each sends its last bytes and completes) and wait, at
 * most a few seconds, until libmicrohttpd has let go of them all, so that no
 * connection is left suspended when the daemon stops. New streams are refused
 * from then on. NULL is fine.
 */
void http_sse_hub_stop(http_sse_hub *h);

/* Free the hub after the daemon has stopped. NULL is fine. */
void http_sse_hub_free(http_sse_hub *h);

/*
 * The permission a role needs to see events of kind: that of the longest
 * prefix in sse.c's table that kind starts with ("device.qc.lockout.opened":
 * qc.read; "device.status": equipment.read), PERM_NONE (nobody) for a kind
 * the table does not know.
 */
perm_id http_sse_kind_perm(const char *kind);

/* The handler of GET /api/v1/events: opens the stream as r->stream. */
err_t http_events(http_req *r);

/*
 * The response that plays r->stream (a struct MHD_Response *, NULL on
 * allocation failure, after which the stream is freed). The dispatcher adds
 * the headers and queues it.
 */
void *http_sse_response(http_req *r);

#endif
