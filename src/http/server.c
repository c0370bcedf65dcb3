/*
 * server.c - the libmicrohttpd daemon and the one dispatcher.
 *
 * Every request passes the same checks, in this order, before a handler runs:
 * route and method (404, 405), body size (413), query parameters (400),
 * content type (415), JSON syntax (400 with line and column), a database
 * connection (503), sign-in (401) and the route's permission (403, audited).
 * Every response carries the security headers. Handlers fill r->out or return
 * an error code with detail in r->ei; the dispatcher renders both.
 *
 * A read (GET, HEAD) holds its audit events back (auth/audit.h) on a
 * read-intent connection (store/db.h), so that reads take no write lock.
 * Once the handler is done and its connection is back in the pool, the
 * request is suspended and its events go to the audit writer
 * (auth/auditq.h); the writer's commit resumes it, and only then is its
 * answer queued: a 503 instead when the commit failed, so that no read is
 * shown whose audit is not durable. A suspended request holds no thread,
 * so a few threads keep many reads waiting for the same commit.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "auth/audit.h"
#include "auth/session.h"
#include "base/buf.h"
#include "base/jsonv.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/str.h"
#include "base/time.h"
#include "http/assets.h"
#include "http/handlers.h"
#include "http/route.h"
#include "http/sse.h"

#define TLS_FILE_MAX (1024 * 1024)
#define DB_WAIT_MS   5000
#define STOP_WAIT_MS 30000       /* what http_stop waits for reads whose audit is being written */
#define POOL_BYTES   (32 * 1024) /* a connection's memory pool in libmicrohttpd */
#define QUERY_MAX    64          /* query parameters libmicrohttpd is given to parse */

struct http_server {
    struct MHD_Daemon *daemon;
    http_config cfg;
    char *tls_cert, *tls_key;
    int port;
    http_sse_hub *hub;    /* live-event streams */
    atomic_bool stopping; /* http_stop: reads wait for their audit on their thread */
    atomic_int suspended; /* requests suspended until their audit commits */
};

/* Where a request is with its held audit events. */
enum audit_phase {
    AUDIT_NONE,    /* nothing held back, or not yet answered */
    AUDIT_WAITING, /* suspended until the audit writer tells */
    AUDIT_TOLD,    /* resumed: audit_rc says how the commit went */
};

/* One request in flight: what MHD keeps in *con_cls between calls. */
struct req_state {
    http_req r;
    buf body;
    bool too_large;
    bool fhir; /* answered by dispatch_fhir's rules */
    int64_t started;
    struct http_server *srv;
    audit_held held; /* the audit events of a read */
    auditq_job job;  /* them, on their way to the audit writer */
    enum audit_phase phase;
    err_t rc;       /* the handler's outcome, kept while its events are written */
    err_t audit_rc; /* the audit writer's */
};

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
                          "data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                          "form-action 'self'; object-src 'none'";

static void add_common_headers(struct MHD_Response *resp, const http_req *r, bool api)
{
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", api ? "no-store" : "no-cache");
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    if (r->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security",
                                "max-age=31536000; includeSubDomains");
}

/* Queue a response whose bytes are copied (MHD owns the copy). */
static enum MHD_Result queue(http_req *r, int status, const char *type, const char *data,
                             size_t len, enum MHD_ResponseMemoryMode mode, const char *allow)
{
    struct MHD_Connection *conn = r->conn;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, mode);
    enum MHD_Result ret;
    if (!resp)
        return MHD_NO;
    const char *path = r->path ? r->path : "";
    add_common_headers(resp, r, !strncmp(path, "/api/", 5) || !strncmp(path, "/fhir/", 6));
    if (type && status != 204)
        MHD_add_response_header(resp, "Content-Type", type);
    if (!allow)
        allow = r->allow;
    if (allow)
        MHD_add_response_header(resp, "Allow", allow);
    if (r->location)
        MHD_add_response_header(resp, "Location", r->location);
    if (r->cookie[0])
        MHD_add_response_header(resp, "Set-Cookie", r->cookie);
    if (r->disposition)
        MHD_add_response_header(resp, "Content-Disposition", r->disposition);
    if (status == 503)
        MHD_add_response_header(resp, "Retry-After", "1");
    if (status == 429 && r->retry_after_s > 0) {
        char secs[24];
        snprintf(secs, sizeof(secs), "%d", r->retry_after_s);
        MHD_add_response_header(resp, "Retry-After", secs);
    }
    if (status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"benchside\"");
    ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Queue the live-event stream the handler opened (sse.h). */
static enum MHD_Result queue_stream(http_req *r)
{
    struct MHD_Response *resp = http_sse_response(r);
    enum MHD_Result ret;
    if (!resp)
        return MHD_NO;
    add_common_headers(resp, r, true);
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    /* A buffering proxy would hold the events back. */
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    r->status = 200;
    ret = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result queue_json(http_req *r, int status, json_t *body, const char *allow)
{
    char *text = NULL;
    size_t len = 0;
    if (body && status != 204) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            return MHD_NO;
        len = strlen(text);
    }
    r->status = status;
    enum MHD_Result ret = queue(r, status, "application/json", text ? text : "", len,
                                text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT, allow);
    if (ret == MHD_NO)
        free(text);
    return ret;
}

/* What a client is told of an error; a server fault is logged, not told. */
static const char *public_message(http_req *r, err_t code)
{
    errinfo *ei = &r->ei;
    const char *message = ei->code == code && ei->message[0] ? ei->message : err_message(code);
    int status = err_http_status(code);
    if (code == ERR_DB || code == ERR_INTERNAL || code == ERR_NOMEM || code == ERR_IO) {
        /* The detail is for the log, not for the client. */
        log_msg(LOG_ERROR, r->id, "%s %s failed: %s: %s", r->method, r->path, err_name(code),
                ei->message);
        message = "the server could not complete the request; it has been logged";
    } else if (status == 503) {
        log_msg(LOG_WARN, r->id, "%s %s: %s: %s", r->method, r->path, err_name(code), ei->message);
        message = err_message(code);
    }
    return message;
}

static enum MHD_Result queue_error(http_req *r, err_t code, const char *allow)
{
    errinfo *ei = &r->ei;
    const char *message = public_message(r, code);
    int status = err_http_status(code);
    json_t *err =
        json_pack("{s:s,s:s,s:o,s:s}", "code", err_name(code), "message", message, "field",
                  ei->code == code && ei->field[0] ? json_string(ei->field) : json_null(),
                  "request_id", r->id);
    if (err && code == ERR_BAD_JSON && ei->line > 0) {
        json_object_set_new(err, "line", json_integer(ei->line));
        json_object_set_new(err, "column", json_integer(ei->column));
    }
    json_t *body = json_pack("{s:o}", "error", err);
    if (body && r->err_extra)
        json_object_update(body, r->err_extra);
    enum MHD_Result ret = queue_json(r, status, body, allow);
    r->status = status;
    json_decref(body);
    return ret;
}

/* Match path against pattern, filling params; segments must be non-empty. */
static bool match(arena *a, const char *params[HTTP_MAX_PARAMS], const char *pattern,
                  const char *path)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t n = se ? (size_t)(se - s) : strlen(s);
            if (!pe || n == 0 || np >= HTTP_MAX_PARAMS)
                return false;
            params[np++] = arena_strndup(a, s, n);
            if (!params[np - 1])
                return false;
            p = pe + 1;
            s += n;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return false;
        }
    }
    return *p == '\0' && *s == '\0';
}

/* A request without a connection is one a test or a fuzzer makes up: it has
 * no query parameters and no headers. */
const char *http_query(http_req *r, const char *key)
{
    return r->conn ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key) : NULL;
}

err_t http_query_limit(http_req *r, int def, int max, int *out)
{
    const char *s = http_query(r, "limit");
    int64_t v = def;
    if (s && str_to_int64(s, strlen(s), 1, max, &v))
        return err_set(&r->ei, ERR_INVALID, "limit", "limit must be a whole number from 1 to %d",
                       max);
    *out = (int)v;
    return ERR_OK;
}

audit_ctx http_actor(const http_req *r)
{
    audit_ctx c = {r->user.id, r->user.username, r->source};
    return c;
}

struct query_check {
    const char *allowed;
    const char *bad;
};

static enum MHD_Result check_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    struct query_check *qc = cls;
    (void)kind;
    (void)value;
    if (qc->allowed) {
        size_t n = strlen(key);
        const char *a = qc->allowed;
        while (*a) {
            const char *e = strchr(a, ' ');
            size_t len = e ? (size_t)(e - a) : strlen(a);
            if (len == n && !memcmp(a, key, n))
                return MHD_YES;
            a += len;
            while (*a == ' ')
                a++;
        }
    }
    qc->bad = key;
    return MHD_NO;
}

static bool is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct || strncasecmp(ct, want, sizeof(want) - 1))
        return false;
    ct += sizeof(want) - 1;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static bool body_is_empty(const buf *b)
{
    size_t i = 0;
    for (; i < b->len; i++)
        if (b->data[i] != ' ' && b->data[i] != '\t' && b->data[i] != '\r' && b->data[i] != '\n')
            break;
    if (i == b->len)
        return true;
    /* An empty object is as good as no body. */
    size_t j = b->len;
    while (j > i && (b->data[j - 1] == ' ' || b->data[j - 1] == '\n' || b->data[j - 1] == '\r' ||
                     b->data[j - 1] == '\t'))
        j--;
    if (j - i < 2 || b->data[i] != '{' || b->data[j - 1] != '}')
        return false;
    for (size_t k = i + 1; k < j - 1; k++)
        if (b->data[k] != ' ' && b->data[k] != '\t' && b->data[k] != '\r' && b->data[k] != '\n')
            return false;
    return true;
}

static const char *session_token(http_req *r)
{
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7)) {
        auth += 7;
        while (*auth == ' ')
            auth++;
        return auth;
    }
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "bs_session");
}

static enum MHD_Result serve_asset(http_req *r)
{
    const struct asset *a = assets_find(r->path);
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
        err_set(&r->ei, ERR_METHOD, NULL, "only GET and HEAD are allowed here");
        return queue_error(r, ERR_METHOD, "GET, HEAD");
    }
    if (!a) {
        err_set(&r->ei, ERR_NOT_FOUND, NULL, "no such page: %.200s", r->path);
        return queue_error(r, ERR_NOT_FOUND, NULL);
    }
    r->status = 200;
    return queue(r, 200, a->type, a->data, a->len, MHD_RESPMEM_PERSISTENT, NULL);
}

err_t http_sign_in(http_req *r, perm_id perm, const char *what, bool quiet)
{
    const char *token = session_token(r);
    /* What a page does by itself (X-Background) does not keep it signed in. */
    quiet = quiet || MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Background");
    err_t rc = quiet ? session_peek(r->db, token, r->cfg->session_idle_us, &r->user, &r->ei)
                     : session_lookup(r->db, token, r->cfg->session_idle_us, &r->user, &r->ei);
    if (rc)
        return rc;
    r->signed_in = true;
    snprintf(r->token, sizeof(r->token), "%s", token);
    if (perm_role_has(r->user.role, perm))
        return ERR_OK;
    audit_ctx ctx = http_actor(r);
    json_t *detail = json_pack("{s:s,s:s,s:s}", "method", r->method, "path", r->path, "permission",
                               perm_name(perm));
    rc = audit_record(r->db, &ctx, "permission.denied", "route", what, "denied", detail, &r->ei);
    json_decref(detail);
    if (!rc)
        rc = err_set(&r->ei, ERR_FORBIDDEN, NULL,
                     "your role (%s) may not do this: it needs the permission %s",
                     perm_role_name(r->user.role), perm_name(perm));
    return rc;
}

const char *http_header(http_req *r, const char *name)
{
    return r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name) : NULL;
}

struct query_all {
    http_req *r;
    http_param *out;
    size_t max, n;
    bool nomem;
};

static enum MHD_Result collect_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    struct query_all *qa = cls;
    (void)kind;
    if (qa->n >= qa->max) {
        qa->n++; /* counted, so that the caller sees there were too many */
        return MHD_YES;
    }
    http_param *p = &qa->out[qa->n++];
    p->key = arena_strdup(&qa->r->a, key);
    p->value = arena_strdup(&qa->r->a, value ? value : "");
    if (!p->key || !p->value)
        qa->nomem = true;
    return MHD_YES;
}

err_t http_query_all(http_req *r, http_param *out, size_t max, size_t *n)
{
    struct query_all qa = {r, out, max, 0, false};
    if (r->conn)
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query_arg, &qa);
    *n = qa.n;
    return qa.nomem ? ERR_NOMEM : ERR_OK;
}

/* ---- cross-site requests ---- */

#define ORIGIN_MAX 300

bool http_origin_valid(const char *s)
{
    const char *host = !strncmp(s, "https://", 8)  ? s + 8
                       : !strncmp(s, "http://", 7) ? s + 7
                                                   : NULL;
    size_t n = host ? strlen(host) : 0;
    if (!n || n > ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
            return false;
    }
    return true;
}

/* Whether origin (an Origin header) is this server: --origin when given,
 * else the scheme and the Host header; without TLS here, https too (a proxy
 * in front may hold it). Origins compare without regard to case. */
static bool own_origin(http_req *r, const char *origin)
{
    if (r->cfg->origin)
        return !strcasecmp(origin, r->cfg->origin);
    const char *host = http_header(r, "Host");
    const char *rest = !strncasecmp(origin, "https://", 8)             ? origin + 8
                       : !r->tls && !strncasecmp(origin, "http://", 7) ? origin + 7
                                                                       : NULL;
    return rest && host && *host && !strcasecmp(rest, host);
}

/*
 * A browser sends the session cookie with every request to this server,
 * whichever site's page makes it. SameSite=Strict keeps it off requests
 * another site starts; this is the second lock, for browsers that ignore
 * SameSite and for sibling sites: a request that may change something and
 * would be signed in by the cookie must carry an Origin header naming this
 * server (browsers send one with every such request). A Bearer token is
 * never sent by a browser on its own, so a request carrying one needs none.
 * A public route (the sign-in) with another site's Origin is refused too, so
 * that no site can sign a browser in to an account of its choosing.
 */
static err_t check_cross_site(http_req *r, bool signs_in)
{
    if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD") || !strcmp(r->method, "OPTIONS"))
        return ERR_OK;
    const char *auth = http_header(r, "Authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7))
        return ERR_OK;
    const char *origin = http_header(r, "Origin");
    bool cookie =
        signs_in && MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "bs_session") != NULL;
    if (origin ? own_origin(r, origin) : !cookie)
        return ERR_OK;
    log_msg(LOG_WARN, r->id, "%s %s refused as cross-site (Origin %.100s)", r->method, r->path,
            origin ? origin : "absent");
    if (!origin)
        return err_set(&r->ei, ERR_FORBIDDEN, NULL,
                       "a request signed in by the session cookie that changes something must "
                       "carry this server's Origin header (or use a Bearer token)");
    return err_set(&r->ei, ERR_FORBIDDEN, NULL,
                   "cross-site request refused: the Origin %.100s is not this server", origin);
}

static enum MHD_Result answer(struct req_state *st, err_t rc);

static bool is_read(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* A read holds its audit events back on a read-intent connection (see the
 * top of this file), unless there is no audit writer or its route writes. */
static void hold_reads(struct req_state *st, unsigned route_flags)
{
    http_req *r = &st->r;
    if (!r->cfg->audit_writer || !is_read(r->method) || (route_flags & ROUTE_WRITES))
        return;
    r->held = &st->held;
    audit_hold(r->held);
    db_set_read_intent(r->db, true);
}

/*
 * /fhir/R4/...: one prefix with a dispatcher of its own (h_fhir.c), since
 * FHIR has its own paths, search parameters, content type and errors (an
 * OperationOutcome). The body, its size and the database connection are
 * handled here as for the REST API.
 */
static enum MHD_Result dispatch_fhir(struct req_state *st)
{
    http_req *r = &st->r;
    err_t rc = ERR_OK;
    st->fhir = true;
    if (st->too_large) {
        rc = err_set(&r->ei, ERR_TOO_LARGE, NULL, "the request body is larger than %zu bytes",
                     r->cfg->max_body);
        goto reply;
    }
    rc = check_cross_site(r, true);
    if (rc)
        goto reply;
    r->db = db_pool_acquire(r->cfg->pool, DB_WAIT_MS, &r->ei);
    if (!r->db) {
        rc = r->ei.code ? r->ei.code : ERR_DB_UNAVAILABLE;
        goto reply;
    }
    hold_reads(st, 0);
    r->status = 200;
    rc = http_fhir_dispatch(r, st->body.data ? st->body.data : "", st->body.len);
reply:
    if (r->db) {
        db_pool_release(r->cfg->pool, r->db);
        r->db = NULL;
    }
    return answer(st, rc);
}

/* The FHIR answer: the resource, or an OperationOutcome for rc. */
static enum MHD_Result finish_fhir(struct req_state *st, err_t rc)
{
    http_req *r = &st->r;
    json_t *body = NULL;
    if (rc) {
        r->status = err_http_status(rc);
        body = http_fhir_outcome(rc, public_message(r, rc),
                                 r->ei.code == rc && r->ei.field[0] ? r->ei.field : NULL);
    }
    char *text = NULL;
    json_t *out = rc ? body : r->out;
    if (out)
        text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    if (out && !text)
        return MHD_NO;
    enum MHD_Result ret =
        queue(r, r->status, "application/fhir+json; charset=utf-8", text ? text : "",
              text ? strlen(text) : 0, text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT, NULL);
    if (ret == MHD_NO)
        free(text);
    return ret;
}

const http_route *http_route_find(arena *a, const char *method, const char *path,
                                  const char *params[HTTP_MAX_PARAMS], buf *allow)
{
    for (size_t i = 0; i < http_routes_len; i++) {
        const http_route *rt = &http_routes[i];
        if (!match(a, params, rt->pattern, path))
            continue;
        /* HEAD is GET without the body (libmicrohttpd drops it). */
        bool get = !strcmp(rt->method, "GET");
        if (!strcmp(rt->method, method) || (get && !strcmp(method, "HEAD")))
            return rt;
        if (allow->len)
            buf_puts(allow, ", ");
        buf_puts(allow, get ? "GET, HEAD" : rt->method);
    }
    return NULL;
}

static enum MHD_Result dispatch(struct req_state *st)
{
    http_req *r = &st->r;
    buf allow = BUF_INIT;
    const http_route *rt;
    enum MHD_Result ret;
    err_t rc = ERR_OK;

    /* Where a Prometheus scraper looks by default; the route is the API's. */
    if (!strcmp(r->path, "/metrics"))
        r->path = "/api/v1/metrics";
    r->route = "unmatched";
    if (!strcmp(r->path, "/fhir") || !strncmp(r->path, "/fhir/", 6)) {
        r->route = "/fhir/R4";
        return dispatch_fhir(st);
    }
    if (strncmp(r->path, "/api/", 5)) {
        r->route = "static";
        return serve_asset(r);
    }
    rt = http_route_find(&r->a, r->method, r->path, r->params, &allow);
    if (rt)
        r->route = rt->pattern;
    if (!rt) {
        if (allow.len) {
            err_set(&r->ei, ERR_METHOD, NULL, "%s is not allowed on %.200s; allowed: %s", r->method,
                    r->path, allow.data);
            ret = queue_error(r, ERR_METHOD, allow.data);
        } else {
            err_set(&r->ei, ERR_NOT_FOUND, NULL, "no such resource: %.200s", r->path);
            ret = queue_error(r, ERR_NOT_FOUND, NULL);
        }
        buf_free(&allow);
        return ret;
    }
    buf_free(&allow);

    if (st->too_large) {
        rc = err_set(&r->ei, ERR_TOO_LARGE, NULL, "the request body is larger than %zu bytes",
                     r->cfg->max_body);
        goto reply;
    }
    rc = check_cross_site(r, rt->perm != PERM_PUBLIC);
    if (rc)
        goto reply;
    struct query_check qc = {rt->query, NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_query_arg, &qc);
    if (qc.bad) {
        rc = err_set(&r->ei, ERR_INVALID, qc.bad, "unknown query parameter '%.60s'", qc.bad);
        goto reply;
    }
    if (rt->flags & ROUTE_BODY) {
        const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
        if (!is_json_type(ct)) {
            rc = err_set(&r->ei, ERR_MEDIA_TYPE, NULL,
                         "the body must be JSON with Content-Type: application/json");
            goto reply;
        }
        rc = jsonv_parse_object(st->body.data ? st->body.data : "", st->body.len, &r->body, &r->ei);
        if (rc)
            goto reply;
    } else if (!body_is_empty(&st->body)) {
        rc = err_set(&r->ei, ERR_INVALID, NULL, "%s %s takes no body", r->method, rt->pattern);
        goto reply;
    }

    r->db = db_pool_acquire(r->cfg->pool, DB_WAIT_MS, &r->ei);
    if (!r->db) {
        rc = r->ei.code ? r->ei.code : ERR_DB_UNAVAILABLE;
        goto reply;
    }
    hold_reads(st, rt->flags);
    if (rt->perm != PERM_PUBLIC) {
        rc = http_sign_in(r, rt->perm, rt->pattern, (rt->flags & ROUTE_QUIET) != 0);
        if (rc)
            goto reply;
    }
    r->status = rt->ok_status ? rt->ok_status : 200;
    rc = rt->handler(r);
reply:
    if (r->db) {
        db_pool_release(r->cfg->pool, r->db);
        r->db = NULL;
    }
    return answer(st, rc);
}

/* The REST answer: the handler's body, or the error rc. */
static enum MHD_Result finish_rest(struct req_state *st, err_t rc)
{
    http_req *r = &st->r;
    if (rc)
        return queue_error(r, rc, NULL);
    if (r->stream)
        return queue_stream(r);
    if (r->raw_type) {
        if (r->filename[0]) {
            char disp[160];
            snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", r->filename);
            r->disposition = arena_strdup(&r->a, disp);
        }
        /* MHD copies the bytes; the request's buffer is freed with the request. */
        return queue(r, r->status, r->raw_type, r->raw.data ? r->raw.data : "", r->raw.len,
                     MHD_RESPMEM_MUST_COPY, NULL);
    }
    return queue_json(r, r->status, r->out, NULL);
}

static enum MHD_Result finish(struct req_state *st, err_t rc)
{
    return st->fhir ? finish_fhir(st, rc) : finish_rest(st, rc);
}

/* The audit writer has told (or could not take the events): answer. */
static enum MHD_Result finish_told(struct req_state *st)
{
    http_req *r = &st->r;
    st->phase = AUDIT_NONE;
    audit_held_free(&st->held);
    if (!st->audit_rc)
        return finish(st, st->rc);
    /* Nothing of the read is shown: its audit is not durable. */
    err_set(&r->ei, ERR_DB_UNAVAILABLE, NULL,
            "the audit event of this read could not be written; try again");
    return finish(st, ERR_DB_UNAVAILABLE);
}

/* The writer's word on a suspended request's events (on its thread). */
static void audit_told(void *arg, err_t rc)
{
    struct req_state *st = arg;
    struct http_server *srv = st->srv;
    struct MHD_Connection *conn = st->r.conn;
    st->audit_rc = rc;
    st->phase = AUDIT_TOLD;
    /* From here the request may end on its own thread: st is not touched. */
    MHD_resume_connection(conn);
    atomic_fetch_sub(&srv->suspended, 1);
}

/*
 * Answer rc once the events the request held are durable: at once when it
 * held none; else suspended until the audit writer commits them (MHD calls
 * on_request again after the resume), or on this thread while the server
 * stops (no connection may stay suspended then).
 */
static enum MHD_Result answer(struct req_state *st, err_t rc)
{
    http_req *r = &st->r;
    auditq *q = r->cfg->audit_writer;
    if (r->held)
        audit_hold(NULL);
    r->held = NULL;
    if (!st->held.n || !q)
        return finish(st, rc);
    st->rc = rc;
    /* Counted before stopping is read (http_stop does the converse), so that
     * either the stop waits for this request or this request does not suspend. */
    atomic_fetch_add(&st->srv->suspended, 1);
    if (atomic_load(&st->srv->stopping)) {
        errinfo aei = {0};
        atomic_fetch_sub(&st->srv->suspended, 1);
        st->audit_rc = auditq_write(q, &st->held, &aei);
        return finish_told(st);
    }
    st->phase = AUDIT_WAITING;
    st->job = (auditq_job){&st->held, audit_told, st, NULL};
    MHD_suspend_connection(r->conn);
    if (auditq_submit(q, &st->job))
        audit_told(st, ERR_DB_UNAVAILABLE);
    return MHD_YES;
}

static void client_address(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "unknown");
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out,
                  (socklen_t)n);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out,
                  (socklen_t)n);
}

/*
 * What on_uri returns for a request whose query it cut: on_request's first
 * call sees it in *con_cls instead of NULL.
 */
static char query_cut_mark;

/*
 * libmicrohttpd keeps each query parameter in the connection's memory pool,
 * and when the pool runs out while it parses them, it neither answers nor
 * closes (a larger pool only moves the limit, and past it libmicrohttpd
 * 0.9.75 can crash when the connection ends). It calls this with the request
 * target, in its own writable buffer, before it parses the query: the query is
 * ended after QUERY_MAX parameters, so that what is parsed always fits, and
 * the request is marked to be refused with 400.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    char *p = strchr(uri, '?');
    for (int n = 0; p && (p = strchr(p + 1, '&')) != NULL;)
        if (++n == QUERY_MAX && p[1]) {
            *p = '\0';
            return &query_cut_mark;
        }
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    bool query_cut = *con_cls == &query_cut_mark;
    struct req_state *st = query_cut ? NULL : *con_cls;
    (void)version;

    if (!st) {
        char addr[INET6_ADDRSTRLEN + 1];
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        *con_cls = st;
        st->started = time_mono_us();
        st->srv = srv;
        audit_held_init(&st->held);
        arena_init(&st->r.a, 4096);
        id_new(st->r.id);
        st->r.cfg = &srv->cfg;
        st->r.conn = conn;
        st->r.hub = srv->hub;
        st->r.tls = srv->tls_cert != NULL;
        st->r.method = arena_strdup(&st->r.a, method);
        st->r.path = arena_strdup(&st->r.a, url);
        client_address(conn, addr, sizeof(addr));
        st->r.source = arena_strdup(&st->r.a, addr);
        if (!st->r.method || !st->r.path || !st->r.source)
            return MHD_NO;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t len = 0;
        if (cl && (str_to_int64(cl, strlen(cl), 0, INT64_MAX, &len) ||
                   (uint64_t)len > srv->cfg.max_body)) {
            /* Refuse at once rather than read a body that will be thrown away. */
            st->too_large = true;
            err_set(&st->r.ei, ERR_TOO_LARGE, NULL, "the request body is larger than %zu bytes",
                    srv->cfg.max_body);
            return queue_error(&st->r, ERR_TOO_LARGE, NULL);
        }
        if (query_cut) {
            err_set(&st->r.ei, ERR_INVALID, NULL, "a request takes at most %d query parameters",
                    QUERY_MAX);
            return queue_error(&st->r, ERR_INVALID, NULL);
        }
        return MHD_YES;
    }
    if (st->phase == AUDIT_TOLD)
        return finish_told(st);
    if (st->phase == AUDIT_WAITING)
        return MHD_YES; /* not called while suspended; nothing to do if it were */
    if (*upload_data_size) {
        if (!st->too_large) {
            if (st->body.len + *upload_data_size > srv->cfg.max_body) {
                st->too_large = true;
                buf_free(&st->body);
            } else if (buf_append(&st->body, upload_data, *upload_data_size)) {
                return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(st);
}

/*
 * Count an answered request for /metrics, by method, route (the pattern,
 * never the path: bounded) and status; its latency unless it was a
 * live-event stream, whose length is the stream's life.
 */
static void count_request(const http_req *r, int64_t us)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    const char *method = "other";
    char labels[METRICS_LABELS_MAX + 1];
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (!strcmp(r->method, methods[i]))
            method = methods[i];
    int n = snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"", method,
                     r->route ? r->route : "unmatched");
    if (n > 0 && (size_t)n < sizeof(labels) && !r->stream)
        metrics_observe("benchside_http_request_duration_seconds",
                        "Time from a request's first byte to its answer, by method and route",
                        labels, (double)us / 1e6);
    if (n > 0 && (size_t)n + 16 < sizeof(labels)) {
        snprintf(labels + n, sizeof(labels) - (size_t)n, ",status=\"%d\"", r->status);
        metrics_count("benchside_http_requests_total",
                      "HTTP requests answered, by method, route and status", labels, 1);
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;
    (void)cls;
    (void)conn;
    if (!st || *con_cls == &query_cut_mark) {
        *con_cls = NULL;
        return;
    }
    if (st->r.status) {
        int64_t us = time_mono_us() - st->started;
        log_msg(LOG_INFO, st->r.id, "%s %s %d %.1fms", st->r.method, st->r.path, st->r.status,
                (double)us / 1000.0);
        count_request(&st->r, us);
    } else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        log_msg(LOG_INFO, st->r.id, "%s %s ended without a response (%d)", st->r.method, st->r.path,
                (int)toe);
    audit_held_free(&st->held);
    json_decref(st->r.body);
    json_decref(st->r.out);
    json_decref(st->r.err_extra);
    buf_free(&st->r.raw);
    buf_free(&st->body);
    arena_free(&st->r.a);
    free(st);
    *con_cls = NULL;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decoding of paths and query values. %00 is left as it is written:
 * decoded, it would cut the path short (/app.js%00.html would be /app.js), so
 * a path holding it matches nothing.
 */
size_t http_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return http_unescape(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_msg(LOG_DEBUG, NULL, "http: %s", msg);
}

static err_t read_file(const char *path, char **out, errinfo *ei)
{
    FILE *f = fopen(path, "rb");
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    *out = NULL;
    if (!f)
        return err_set(ei, ERR_IO, NULL, "cannot read %s", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > TLS_FILE_MAX || buf_append(&b, chunk, n)) {
            fclose(f);
            buf_free(&b);
            return err_set(ei, ERR_IO, NULL, "%s is too large for a PEM file", path);
        }
    }
    fclose(f);
    if (!b.len) {
        buf_free(&b);
        return err_set(ei, ERR_IO, NULL, "%s is empty", path);
    }
    *out = buf_take(&b);
    return ERR_OK;
}

err_t http_start(const http_config *cfg, http_server **out, errinfo *ei)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    /* Suspend and resume: a live-event stream waits without holding a thread. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    err_t rc;
    http_server *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (!s)
        return ERR_NOMEM;
    s->cfg = *cfg;
    memset(&ss, 0, sizeof(ss));
    if (cfg->port < 0 || cfg->port > 65535) {
        rc = err_set(ei, ERR_USAGE, "http", "port must be 0 to 65535");
        goto fail;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->port);
        sslen = sizeof(*a4);
    } else if (inet_pton(AF_INET6, cfg->addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->port);
        sslen = sizeof(*a6);
        flags |= MHD_USE_IPv6;
    } else {
        rc = err_set(ei, ERR_USAGE, "http", "not an IP address to listen on: %s", cfg->addr);
        goto fail;
    }
    (void)sslen;
    if (!cfg->tls_cert_path != !cfg->tls_key_path) {
        rc = err_set(ei, ERR_USAGE, "tls", "--tls-cert and --tls-key go together");
        goto fail;
    }
    if (cfg->tls_cert_path) {
        rc = read_file(cfg->tls_cert_path, &s->tls_cert, ei);
        if (!rc)
            rc = read_file(cfg->tls_key_path, &s->tls_key, ei);
        if (rc)
            goto fail;
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    rc = http_sse_hub_start(&s->cfg, cfg->heartbeat_s, &s->hub);
    if (rc) {
        err_set(ei, rc, "http", "cannot start the live-event hub");
        goto fail;
    }
    /*
     * A connection's memory pool holds a request's headers and read buffer,
     * and libmicrohttpd clears it at each request: 32 KiB keeps headers of
     * any browser or client, and clearing it is a small part of a read.
     * Longer headers get 431 (bodies are not held there), and on_uri keeps
     * the query parameters it must hold to QUERY_MAX.
     */
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 0 ? cfg->threads : 4),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->timeout_s > 0 ? cfg->timeout_s : 30),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(POOL_BYTES), MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_UNESCAPE_CALLBACK,
        on_unescape, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_ARRAY,
        s->tls_cert ? tls_opts : no_opts, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)(cfg->per_address > 0 ? cfg->per_address : 0), MHD_OPTION_END);
    if (!s->daemon) {
        rc = err_set(ei, ERR_IO, "http", "cannot listen on %s port %d (in use, or no rights?)",
                     cfg->addr, cfg->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    *out = s;
    return ERR_OK;
fail:
    http_sse_hub_free(s->hub);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
    return rc;
}

int http_port(const http_server *s)
{
    return s->port;
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    /* No connection may be left suspended when the daemon stops: reads from
     * now on wait for their audit on their own thread, and those suspended
     * already are resumed by the audit writer (which outlives the server). */
    atomic_store(&s->stopping, true);
    for (int ms = 0; atomic_load(&s->suspended) > 0 && ms < STOP_WAIT_MS; ms++) {
        struct timespec one = {0, 1000000L};
        nanosleep(&one, NULL);
    }
    http_sse_hub_stop(s->hub);
    MHD_stop_daemon(s->daemon);
    http_sse_hub_free(s->hub);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
}

err_t http_query_time(http_req *r, const char *name, int64_t *out)
{
    const char *s = http_query(r, name);
    *out = 0;
    if (!s)
        return ERR_OK;
    errinfo tei = {0};
    if (time_parse_iso(s, strlen(s), out, &tei))
        return err_set(&r->ei, ERR_INVALID, name, "%s: %s", name, tei.message);
    return ERR_OK;
}
