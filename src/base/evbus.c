/*
 * evbus.c - the in-process event bus (see evbus.h): a ring of copied events
 * under one mutex, and a list of subscribers each with its cursor.
 */
#include "base/evbus.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"

struct slot {
    uint64_t id; /* 0: never written */
    int64_t at;
    char kind[EVBUS_KIND_MAX + 1];
    char *data;
    size_t len;
};

struct evbus_sub {
    evbus *bus;
    uint64_t cursor; /* the last id read */
    bool armed;      /* wake on the next publish */
    void (*wake)(void *arg);
    void *arg;
    evbus_sub *prev, *next;
};

struct evbus {
    pthread_mutex_t lock;
    struct slot *ring;
    size_t size;
    uint64_t next_id;  /* the id the next event gets */
    uint64_t first_id; /* the id of the first event ever published */
    evbus_sub *subs;   /* every subscriber */
};

err_t evbus_new(size_t ring, uint64_t first_id, evbus **out)
{
    evbus *b = NULL;
    *out = NULL;
    if (ring == 0 || first_id == 0)
        return ERR_INVALID;
    b = calloc(1, sizeof(*b));
    if (!b)
        return ERR_NOMEM;
    b->ring = calloc(ring, sizeof(*b->ring));
    if (!b->ring || pthread_mutex_init(&b->lock, NULL)) {
        free(b->ring);
        free(b);
        return ERR_NOMEM;
    }
    b->size = ring;
    b->next_id = first_id;
    b->first_id = first_id;
    *out = b;
    return ERR_OK;
}

void evbus_free(evbus *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->size; i++)
        free(b->ring[i].data);
    free(b->ring);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static evbus *global_bus;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    int64_t now = time_now_us();
    if (evbus_new(EVBUS_RING_SIZE, now > 0 ? (uint64_t)now : 1, &global_bus))
        global_bus = NULL;
}

evbus *evbus_global(void)
{
    pthread_once(&global_once, global_init);
    return global_bus;
}

static bool kind_ok(const char *kind)
{
    size_t n = kind ? strlen(kind) : 0;
    if (n == 0 || n > EVBUS_KIND_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (kind[i] <= ' ' || kind[i] > '~')
            return false;
    return true;
}

err_t evbus_publish(evbus *b, const char *kind, const char *data, size_t len, uint64_t *id_out)
{
    char *copy;
    if (!kind_ok(kind) || !data || len > EVBUS_DATA_MAX || memchr(data, '\n', len) ||
        memchr(data, '\r', len))
        return ERR_INVALID;
    /* The copy is made before taking the lock, so that publishers hold it briefly. */
    copy = malloc(len + 1);
    if (!copy)
        return ERR_NOMEM;
    memcpy(copy, data, len);
    copy[len] = '\0';

    pthread_mutex_lock(&b->lock);
    uint64_t id = b->next_id++;
    struct slot *s = &b->ring[id % b->size];
    char *old = s->data;
    s->id = id;
    s->at = time_now_us();
    memcpy(s->kind, kind, strlen(kind) + 1);
    s->data = copy;
    s->len = len;
    for (evbus_sub *sub = b->subs; sub; sub = sub->next) {
        if (!sub->armed)
            continue;
        sub->armed = false;
        if (sub->wake)
            sub->wake(sub->arg);
    }
    pthread_mutex_unlock(&b->lock);
    free(old);
    if (id_out)
        *id_out = id;
    return ERR_OK;
}

err_t evbus_subscribe(evbus *b, uint64_t after, void (*wake)(void *arg), void *arg, evbus_sub **out)
{
    evbus_sub *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s)
        return ERR_NOMEM;
    s->bus = b;
    s->wake = wake;
    s->arg = arg;
    pthread_mutex_lock(&b->lock);
    s->cursor = after ? after : b->next_id - 1;
    s->next = b->subs;
    if (b->subs)
        b->subs->prev = s;
    b->subs = s;
    pthread_mutex_unlock(&b->lock);
    *out = s;
    return ERR_OK;
}

evbus_status evbus_next(evbus_sub *s, evbus_event *ev)
{
    evbus *b = s->bus;
    evbus_status st;
    memset(ev, 0, sizeof(*ev));
    pthread_mutex_lock(&b->lock);
    uint64_t newest = b->next_id - 1;
    /* The oldest id the ring still holds (first_id until it has wrapped). */
    uint64_t oldest = b->next_id - b->first_id > b->size ? b->next_id - b->size : b->first_id;
    if (s->cursor > newest) {
        /* A cursor this bus never gave out (another run of the server). */
        s->cursor = newest;
        st = EVBUS_GAP;
    } else if (s->cursor == newest) {
        s->armed = true;
        st = EVBUS_NONE;
    } else if (s->cursor + 1 < oldest) {
        s->cursor = oldest - 1;
        st = EVBUS_GAP;
    } else {
        const struct slot *sl = &b->ring[(s->cursor + 1) % b->size];
        ev->data = malloc(sl->len + 1);
        if (!ev->data) {
            st = EVBUS_NOMEM;
        } else {
            memcpy(ev->data, sl->data, sl->len + 1);
            ev->len = sl->len;
            ev->id = sl->id;
            ev->at = sl->at;
            memcpy(ev->kind, sl->kind, sizeof(ev->kind));
            s->cursor = sl->id;
            st = EVBUS_EVENT;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return st;
}

uint64_t evbus_cursor(const evbus_sub *s)
{
    return s->cursor;
}

void evbus_unsubscribe(evbus_sub *s)
{
    if (!s)
        return;
    evbus *b = s->bus;
    pthread_mutex_lock(&b->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        b->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&b->lock);
    free(s);
}

void evbus_event_clear(evbus_event *ev)
{
    free(ev->data);
    ev->data = NULL;
    ev->len = 0;
}
