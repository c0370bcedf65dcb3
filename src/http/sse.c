/*
 * sse.c - GET /api/v1/events as Server-Sent Events (see sse.h).
 *
 * A stream is a subscriber of the process's event bus plus a small state
 * machine shared by three threads: libmicrohttpd's worker (the content reader
 * below), whoever publishes (the bus calls wake_stream) and the hub's
 * heartbeat thread. libmicrohttpd forbids resuming a connection that is not
 * suspended, so the suspend (by the reader) and the resume (by the others)
 * are both made under the stream's own mutex, in the state it records:
 *
 *   RUNNING   the reader is being called or will be;
 *   SUSPENDED the reader found nothing to send and suspended the connection;
 *   WOKEN     a wake came while RUNNING: the reader must not suspend this time.
 *
 * A suspended connection cannot be closed (libmicrohttpd neither reads nor
 * times it out), so a stream whose state is SUSPENDED always has a live
 * connection; its memory goes only in the response's free callback, after it
 * has left the hub's list and the bus.
 */
#include "http/sse.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/evbus.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#define SSE_RETRY_MS    3000 /* what the browser waits before reconnecting */
#define SSE_BATCH       64   /* events formatted per call of the reader */
#define SSE_DB_WAIT_MS  200  /* a busy pool skips a session check, it does not wait */
#define SSE_STOP_WAIT_S 5

enum stream_state { S_RUNNING, S_SUSPENDED, S_WOKEN };

struct sse_stream {
    http_sse_hub *hub;
    struct MHD_Connection *conn;
    evbus_sub *sub;
    pthread_mutex_t mu;
    enum stream_state state; /* under mu */
    perm_role role;
    char token[SESSION_TOKEN_LEN + 1];
    unsigned seen_tick; /* the hub's tick of the last heartbeat written */
    bool hello, ended;
    buf out; /* formatted bytes not yet handed to libmicrohttpd */
    size_t out_pos;
    struct sse_stream *prev, *next; /* the hub's list, under the hub's lock */
};

struct http_sse_hub {
    const http_config *cfg;
    int heartbeat_s;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a stream ended, or the hub stops */
    struct sse_stream *streams;
    int count;
    atomic_bool closing; /* written under lock, read by the readers without */
    atomic_uint tick;
    pthread_t thread;
    bool thread_started;
};

/*
 * Who may see which events: the permission a kind's prefix needs, the
 * longest prefix that matches deciding (so "device.qc." narrows "device.").
 * A kind not listed is shown to nobody, so a module that publishes something
 * new decides here who reads it.
 */
static const struct {
    const char *prefix;
    perm_id perm;
} kind_perms[] = {
    {"result.", PERM_PATIENTS_READ},
    {"critical.", PERM_PATIENTS_READ},
    {"specimen.", PERM_PATIENTS_READ},
    {"qc.", PERM_QC_READ},
    {"device.", PERM_EQUIPMENT_READ},
    {"stock.", PERM_STOCK_READ},
    /* a device's tolerance-QC lockout is QC's to read */
    {"device.qc.", PERM_QC_READ},
    {"care.", PERM_CARE_READ},
};

perm_id http_sse_kind_perm(const char *kind)
{
    perm_id perm = PERM_NONE;
    size_t best = 0;
    for (size_t i = 0; i < sizeof(kind_perms) / sizeof(kind_perms[0]); i++) {
        size_t n = strlen(kind_perms[i].prefix);
        if (n > best && !strncmp(kind, kind_perms[i].prefix, n)) {
            best = n;
            perm = kind_perms[i].perm;
        }
    }
    return perm;
}

static bool may_see(perm_role role, const char *kind)
{
    perm_id perm = http_sse_kind_perm(kind);
    return perm != PERM_NONE && perm_role_has(role, perm);
}

/*
 * The data of an event as role sees it: a "patient_id" only to those who
 * read patients (a biomedical technician learns that a NEWS2 alert opened,
 * not whose). A new string into *owned when something was left out (the
 * caller frees it), else ev's own.
 */
static const char *data_for(perm_role role, const evbus_event *ev, char **owned)
{
    *owned = NULL;
    if (perm_role_has(role, PERM_PATIENTS_READ) || !strstr(ev->data, "\"patient_id\""))
        return ev->data;
    json_t *o = json_loadb(ev->data, ev->len, 0, NULL);
    if (o && !json_object_get(o, "patient_id")) {
        json_decref(o);
        return ev->data; /* the words were in a value */
    }
    if (o && json_object_del(o, "patient_id") == 0)
        *owned = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    /* Nothing is sent that could not be made without the id. */
    return *owned ? *owned : "{}";
}

/* Make the reader run again: resume the connection if it is suspended. */
static void wake_stream(void *arg)
{
    struct sse_stream *s = arg;
    pthread_mutex_lock(&s->mu);
    if (s->state == S_SUSPENDED)
        MHD_resume_connection(s->conn);
    s->state = s->state == S_SUSPENDED ? S_RUNNING : S_WOKEN;
    pthread_mutex_unlock(&s->mu);
}

static void *heartbeat_main(void *arg)
{
    http_sse_hub *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->closing) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += h->heartbeat_s;
        int w = 0;
        while (!h->closing && w == 0)
            w = pthread_cond_timedwait(&h->changed, &h->lock, &until);
        if (h->closing)
            break;
        atomic_fetch_add(&h->tick, 1);
        for (struct sse_stream *s = h->streams; s; s = s->next)
            wake_stream(s);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

err_t http_sse_hub_start(const http_config *cfg, int heartbeat_s, http_sse_hub **out)
{
    http_sse_hub *h = calloc(1, sizeof(*h));
    *out = NULL;
    if (!h)
        return ERR_NOMEM;
    h->cfg = cfg;
    h->heartbeat_s = heartbeat_s > 0 ? heartbeat_s : 15;
    atomic_init(&h->tick, 0);
    atomic_init(&h->closing, false);
    if (pthread_mutex_init(&h->lock, NULL)) {
        free(h);
        return ERR_INTERNAL;
    }
    if (pthread_cond_init(&h->changed, NULL)) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return ERR_INTERNAL;
    }
    if (pthread_create(&h->thread, NULL, heartbeat_main, h)) {
        http_sse_hub_free(h);
        return ERR_INTERNAL;
    }
    h->thread_started = true;
    *out = h;
    return ERR_OK;
}

void http_sse_hub_stop(http_sse_hub *h)
{
    struct timespec until;
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->closing = true;
    pthread_cond_broadcast(&h->changed);
    for (struct sse_stream *s = h->streams; s; s = s->next)
        wake_stream(s);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SSE_STOP_WAIT_S;
    while (h->count > 0)
        if (pthread_cond_timedwait(&h->changed, &h->lock, &until))
            break;
    if (h->count > 0)
        log_warn("%d event stream(s) still open at stop", h->count);
    pthread_mutex_unlock(&h->lock);
    if (h->thread_started) {
        pthread_join(h->thread, NULL);
        h->thread_started = false;
    }
}

void http_sse_hub_free(http_sse_hub *h)
{
    if (!h)
        return;
    if (h->thread_started) {
        pthread_mutex_lock(&h->lock);
        h->closing = true;
        pthread_cond_broadcast(&h->changed);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->thread, NULL);
    }
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static void stream_free(struct sse_stream *s)
{
    http_sse_hub *h = s->hub;
    pthread_mutex_lock(&h->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->count--;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
    /* After this no publisher can reach the stream. */
    evbus_unsubscribe(s->sub);
    pthread_mutex_destroy(&s->mu);
    buf_free(&s->out);
    free(s);
}

static void on_free(void *cls)
{
    stream_free(cls);
}

/* Is the stream's session still alive? A busy or unreachable database says
 * nothing either way: the stream goes on until the next check. */
static bool session_alive(struct sse_stream *s)
{
    errinfo ei = {0};
    user u;
    bool alive = true;
    db *d = db_pool_acquire(s->hub->cfg->pool, SSE_DB_WAIT_MS, &ei);
    if (!d)
        return true;
    err_t rc = session_peek(d, s->token, s->hub->cfg->session_idle_us, &u, &ei);
    if (rc == ERR_UNAUTHORIZED)
        alive = false;
    else if (!rc)
        s->role = u.role; /* a role changed meanwhile applies from now on */
    db_pool_release(s->hub->cfg->pool, d);
    return alive;
}

/* Format what there is to send into s->out; false when nothing is. */
static bool fill(struct sse_stream *s)
{
    bool any = false;
    unsigned tick = atomic_load(&s->hub->tick);
    if (!s->hello) {
        s->hello = true;
        buf_printf(&s->out, "retry: %d\n: benchside live events\n\n", SSE_RETRY_MS);
        any = true;
    }
    if (tick != s->seen_tick) {
        s->seen_tick = tick;
        if (!session_alive(s)) {
            buf_puts(&s->out, "event: session-ended\ndata: {\"reason\":\"the session ended or "
                              "expired\"}\n\n");
            s->ended = true;
            return true;
        }
        /* A comment: keeps proxies from closing an idle stream, and finds a
         * client that has gone. */
        buf_puts(&s->out, ": heartbeat\n\n");
        any = true;
    }
    for (int i = 0; i < SSE_BATCH; i++) {
        evbus_event ev;
        evbus_status st = evbus_next(s->sub, &ev);
        if (st == EVBUS_NONE || st == EVBUS_NOMEM)
            break;
        if (st == EVBUS_GAP) {
            /* The reader's Last-Event-ID is older than the ring (or from
             * another run of the server): the page reloads what it shows. */
            buf_puts(&s->out, "event: reset\ndata: {\"reason\":\"events were missed\"}\n\n");
            any = true;
            continue;
        }
        if (may_see(s->role, ev.kind)) {
            char at[TIME_ISO_LEN], *owned;
            const char *data = data_for(s->role, &ev, &owned);
            time_format_iso(ev.at, at);
            /* The data is the publisher's JSON object with its time added. */
            bool more = strlen(data) > 2 && data[0] == '{';
            buf_printf(&s->out, "id: %llu\nevent: %s\ndata: {\"at\":\"%s\"%s%s\n\n",
                       (unsigned long long)ev.id, ev.kind, at, more ? "," : "",
                       more ? data + 1 : "}");
            free(owned);
            any = true;
        }
        evbus_event_clear(&ev);
    }
    return any;
}

static ssize_t on_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct sse_stream *s = cls;
    (void)pos;
    if (s->out_pos >= s->out.len) {
        buf_reset(&s->out);
        s->out_pos = 0;
        if (s->ended || s->hub->closing)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!fill(s)) {
            pthread_mutex_lock(&s->mu);
            if (s->state == S_WOKEN) {
                /* Something came while formatting: look again at once. */
                s->state = S_RUNNING;
            } else {
                s->state = S_SUSPENDED;
                MHD_suspend_connection(s->conn);
            }
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        if (!s->out.data)
            return MHD_CONTENT_READER_END_WITH_ERROR; /* out of memory */
    }
    size_t n = s->out.len - s->out_pos;
    if (n > max)
        n = max;
    memcpy(out, s->out.data + s->out_pos, n);
    s->out_pos += n;
    return (ssize_t)n;
}

/* Last-Event-ID from the header (a reconnecting EventSource) or the query. */
static err_t last_event_id(http_req *r, uint64_t *out)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    const char *field = "Last-Event-ID";
    int64_t n = 0;
    *out = 0;
    if (!v) {
        v = http_query(r, "last_event_id");
        field = "last_event_id";
    }
    if (!v || !*v)
        return ERR_OK;
    if (str_to_int64(v, strlen(v), 1, INT64_MAX, &n))
        return err_set(&r->ei, ERR_INVALID, field, "%s must be the id of an event", field);
    *out = (uint64_t)n;
    return ERR_OK;
}

err_t http_events(http_req *r)
{
    http_sse_hub *h = r->hub;
    evbus *bus = evbus_global();
    uint64_t after = 0;
    err_t rc = last_event_id(r, &after);
    if (rc)
        return rc;
    if (!h || !bus)
        return err_set(&r->ei, ERR_INTERNAL, NULL, "live events are not available");
    struct sse_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return ERR_NOMEM;
    if (pthread_mutex_init(&s->mu, NULL)) {
        free(s);
        return ERR_NOMEM;
    }
    s->hub = h;
    s->conn = r->conn;
    s->role = r->user.role;
    s->state = S_RUNNING;
    s->seen_tick = atomic_load(&h->tick);
    snprintf(s->token, sizeof(s->token), "%s", r->token);

    pthread_mutex_lock(&h->lock);
    if (h->closing || h->count >= HTTP_SSE_MAX_STREAMS) {
        bool closing = h->closing;
        pthread_mutex_unlock(&h->lock);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return err_set(&r->ei, ERR_DB_BUSY, NULL,
                       closing ? "the server is stopping" : "too many live event streams are open");
    }
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    h->count++;
    pthread_mutex_unlock(&h->lock);

    rc = evbus_subscribe(bus, after, wake_stream, s, &s->sub);
    if (rc) {
        stream_free(s);
        return rc;
    }
    r->stream = s;
    return ERR_OK;
}

void *http_sse_response(http_req *r)
{
    struct sse_stream *s = r->stream;
    struct MHD_Response *resp;
    r->stream = NULL;
    /* A block of 4 KiB per call: events are small, latency matters more. */
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, on_read, s, on_free);
    if (!resp)
        stream_free(s);
    return resp;
}
