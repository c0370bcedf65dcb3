/*
 * route.h - what the dispatcher (server.c), the handlers (routes.c) and the
 * OpenAPI writer (openapi.c) share. Private to src/http/.
 *
 * The route table is data: method, path pattern, the permission it needs, the
 * body it takes and the query parameters it accepts. The dispatcher checks all
 * of that, and the sign-in, before any handler runs; openapi.c describes the
 * very same table, so the document lists every route that exists.
 */
#ifndef BENCHSIDE_HTTP_ROUTE_H
#define BENCHSIDE_HTTP_ROUTE_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "auth/perm.h"
#include "auth/session.h"
#include "auth/user.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "http/http.h"
#include "store/db.h"

#define HTTP_MAX_PARAMS 4

typedef struct http_req {
    arena a;             /* freed when the request ends */
    char id[ID_LEN + 1]; /* request id, in logs and error bodies */
    const char *method, *path;
    const char *params[HTTP_MAX_PARAMS]; /* {name} segments of the path, in order */
    json_t *body;                        /* the JSON body, for routes that take one */
    db *db;                              /* borrowed from the pool for the request */
    audit_held *held; /* a read's audit events, held for the audit writer while its handler
                         runs (audit_hold); NULL: written at once */
    bool signed_in;
    user user;                         /* the signed-in user */
    char token[SESSION_TOKEN_LEN + 1]; /* the session token, "" when none */
    const char *source;                /* client address */
    const http_config *cfg;
    void *conn;   /* struct MHD_Connection */
    void *hub;    /* the server's http_sse_hub (sse.h) */
    void *stream; /* a live-event stream the handler opened, for the dispatcher */
    bool tls;
    /* response */
    int status;              /* 200 unless set */
    json_t *out;             /* JSON body (owned), NULL for none */
    buf raw;                 /* or a body that is not JSON (owned) ... */
    const char *raw_type;    /* ... with its Content-Type (static string) */
    char filename[96];       /* Content-Disposition attachment name, "" for none */
    const char *disposition; /* the header made from it (arena) */
    json_t *err_extra;       /* members added to an error body (owned), e.g. a candidate */
    char cookie[256];        /* Set-Cookie value, "" for none */
    const char *location;    /* Location header (arena), NULL for none */
    const char *allow;       /* Allow header of a 405 (static string), NULL for none */
    int retry_after_s;       /* Retry-After of a 429, in seconds */
    errinfo ei;              /* detail of a failure */
    const char *route;       /* what it matched, for metrics: a pattern, "static", "/fhir/R4",
                                "unmatched" (static strings) */
} http_req;

typedef err_t (*http_handler)(http_req *r);

enum {
    ROUTE_BODY = 1u << 0,     /* takes a JSON object body */
    ROUTE_CONFLICT = 1u << 1, /* may answer 409 (besides every POST that creates) */
    ROUTE_QUIET = 1u << 2,    /* does not count as activity for the session's idle time-out */
    ROUTE_WRITES = 1u << 3,   /* a GET that writes more than its audit events: its connection is
                                 write-intent and its events are written in its own transaction */
};

typedef struct http_route {
    const char *method;
    const char *pattern; /* "/api/v1/users/{id}" */
    perm_id perm;
    unsigned flags;
    http_handler handler;
    const char *query; /* accepted query parameters, space-separated, or NULL */
    /* for the OpenAPI document */
    const char *tag, *summary;
    const char *request;  /* schema name of the body, or NULL */
    const char *response; /* schema name of the success body, or NULL for none */
    int ok_status;
} http_route;

extern const http_route http_routes[];
extern const size_t http_routes_len;

/* A query parameter (decoded), or NULL. */
const char *http_query(http_req *r, const char *key);
/* "limit" in [1, max], def when absent; ERR_INVALID naming it otherwise. */
err_t http_query_limit(http_req *r, int def, int max, int *out);
/* An ISO 8601 query parameter as UTC microseconds, 0 when absent;
 * ERR_INVALID naming it when malformed. */
err_t http_query_time(http_req *r, const char *name, int64_t *out);
/* One query parameter as the client sent it (decoded; arena strings). */
typedef struct http_param {
    const char *key, *value;
} http_param;

/* Every query parameter in the order sent, repeats included, into out[0..max);
 * *n is how many there were (more than max when some did not fit). */
err_t http_query_all(http_req *r, http_param *out, size_t max, size_t *n);
/* A request header, or NULL. */
const char *http_header(http_req *r, const char *name);
/* Sign in with the request's token (401) and check perm (403, audited as
 * permission.denied on what). quiet (or an X-Background header): the
 * request does not count as activity for the session's idle time-out. */
err_t http_sign_in(http_req *r, perm_id perm, const char *what, bool quiet);

/* Who acts, for the audit trail: the signed-in user from the client's address. */
audit_ctx http_actor(const http_req *r);

/*
 * The route for method and path, its {name} segments into params (arena
 * strings, in order); NULL when none matches, with the methods of the
 * routes whose pattern matches the path appended to allow (", "-separated).
 */
const http_route *http_route_find(arena *a, const char *method, const char *path,
                                  const char *params[HTTP_MAX_PARAMS], buf *allow);
/* Percent-decode s in place, as libmicrohttpd is told to decode paths and
 * query values; %00 stays as written (decoded it would cut a path short).
 * Returns the new length. */
size_t http_unescape(char *s);

/* The OpenAPI 3.0 document of http_routes (new reference, or NULL). */
json_t *http_openapi(void);

#endif
