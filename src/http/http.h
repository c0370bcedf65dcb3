/*
 * http.h - the HTTP server: REST API, OpenAPI document and the embedded web
 * assets, on libmicrohttpd with its thread pool and optional TLS (GnuTLS).
 */
#ifndef BENCHSIDE_HTTP_HTTP_H
#define BENCHSIDE_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/auditq.h"
#include "base/err.h"
#include "store/db.h"

typedef struct http_config {
    const char *addr;          /* IPv4 or IPv6 address to listen on */
    int port;                  /* 0 picks a free port (see http_port) */
    const char *tls_cert_path; /* PEM; both or neither */
    const char *tls_key_path;
    size_t max_body;         /* bytes; larger bodies get 413 */
    int64_t session_idle_us; /* idle time after which a session ends */
    int threads;             /* worker threads */
    int timeout_s;           /* a connection idle this long is closed */
    db_pool *pool;           /* borrowed; outlives the server */
    auditq *audit_writer;    /* borrowed, outlives the server; writes the audit events of reads
                                (GET, HEAD) in group commits; NULL: each read commits its own */
    int heartbeat_s;         /* seconds between heartbeats of live-event streams (0: 15) */
    /* what this process's instrument links are doing now (link_connections);
     * NULL when it runs none. Called from any request thread. */
    err_t (*link_state)(json_t **out);
    /* security (docs/security.md) */
    const char *origin;     /* this server's origin as browsers address it
                               ("https://lab.example.org"); NULL: the scheme and the Host header */
    int per_address;        /* connections one client address may hold at once; 0: no limit */
    int sign_in_burst;      /* failed sign-ins an address may make at once, then one every
                               sign_in_interval_s; 0: no limit */
    int sign_in_interval_s; /* 0: 10 */
} http_config;

typedef struct http_server http_server;

/* Start listening. cfg and the pool are borrowed until http_stop(). */
err_t http_start(const http_config *cfg, http_server **out, errinfo *ei);
/* Whether s is an origin as --origin takes it: http:// or https://, a host
 * (name, IPv4 or [IPv6]) and an optional port, nothing after. */
bool http_origin_valid(const char *s);
/* The port actually bound. */
int http_port(const http_server *s);
/* Stop accepting, finish what runs, free the server. NULL is fine. */
void http_stop(http_server *s);

#endif
