/*
 * outbox.c - delivery of results to the EHRs (see outbox.h).
 */
#include "link/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "proto/hl7.h"
#include "proto/mllp.h"
#include "store/db.h"

#define BATCH          32
#define POLL_MS        250
#define ACK_TIMEOUT_MS 30000
#define CONNECT_MS     5000
#define BACKOFF_MAX_S  300
#define DESTS_MAX      8

typedef struct dest_conn {
    char name[65], addr[129];
    int fd;
    mllp_decoder dec;
} dest_conn;

struct outbox_worker {
    char *url;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    dest_conn dests[DESTS_MAX];
    int ndests;
};

/* ---- the message ---- */

/* Field n as an HL7 time (empty for 0). */
static void ts_at(hl7_writer *w, size_t n, int64_t t)
{
    char ts[HL7_TS_LEN] = "";
    if (t)
        hl7_ts_format(t, ts);
    hl7_writer_field_at(w, n, ts);
}

/* The next field as the test: LOINC^name^LN^code^name^L (the catalog code
 * alone, ^L, when the test has no LOINC). */
static void test_id(hl7_writer *w, const delivery_item *it)
{
    hl7_writer_field(w, it->loinc[0] ? it->loinc : it->code);
    hl7_writer_component(w, it->name);
    hl7_writer_component(w, it->loinc[0] ? "LN" : "L");
    hl7_writer_component(w, it->code);
    hl7_writer_component(w, it->name);
    hl7_writer_component(w, "L");
}

err_t outbox_oru(const delivery_item *it, buf *out, char control[ID_LEN + 1])
{
    hl7_writer w;
    char num[48], birth[9];
    id_new(control);
    hl7_writer_init(&w, out);
    hl7_writer_segment(&w, "MSH");
    hl7_writer_field(&w, "benchside");
    hl7_writer_field(&w, "LAB");
    hl7_writer_field(&w, it->destination);
    hl7_writer_field(&w, NULL);
    ts_at(&w, 7, time_now_us());
    hl7_writer_field_at(&w, 9, "ORU");
    hl7_writer_component(&w, "R01");
    hl7_writer_component(&w, "ORU_R01");
    hl7_writer_field(&w, control);
    hl7_writer_field(&w, "P");
    hl7_writer_field(&w, "2.5.1");

    snprintf(birth, sizeof(birth), "%.4s%.2s%.2s", it->birth_date, it->birth_date + 5,
             it->birth_date + 8);
    hl7_writer_segment(&w, "PID");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, NULL);
    hl7_writer_field(&w, it->mrn);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, "MR");
    hl7_writer_field_at(&w, 5, it->family);
    hl7_writer_component(&w, it->given);
    hl7_writer_field_at(&w, 7, birth);
    hl7_writer_field(&w, !strcmp(it->sex, "female")  ? "F"
                         : !strcmp(it->sex, "male")  ? "M"
                         : !strcmp(it->sex, "other") ? "O"
                                                     : "U");

    hl7_writer_segment(&w, "ORC");
    hl7_writer_field(&w, "RE");
    hl7_writer_field(&w, it->placer_id[0] ? it->placer_id : NULL);
    hl7_writer_field(&w, it->accession);
    hl7_writer_field_at(&w, 12, it->clinician);

    hl7_writer_segment(&w, "OBR");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, it->placer_id[0] ? it->placer_id : NULL);
    hl7_writer_field(&w, it->accession);
    test_id(&w, it);
    hl7_writer_field(&w, !strcmp(it->priority, "stat") ? "S" : "R");
    ts_at(&w, 7, it->collected_at);
    hl7_writer_field_at(&w, 16, it->clinician);
    ts_at(&w, 22, it->released_at);
    hl7_writer_field_at(&w, 25, it->result_status == 'C' ? "C" : "F");

    hl7_writer_segment(&w, "OBX");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, !strcmp(it->kind, "numeric") ? "NM" : "ST");
    test_id(&w, it);
    hl7_writer_field(&w, NULL);
    hl7_writer_field(&w, it->value);
    hl7_writer_field(&w, it->unit[0] ? it->unit : NULL);
    if (it->has_low || it->has_high) {
        if (it->has_low && it->has_high)
            snprintf(num, sizeof(num), "%g-%g", it->low, it->high);
        else if (it->has_low)
            snprintf(num, sizeof(num), ">%g", it->low);
        else
            snprintf(num, sizeof(num), "<%g", it->high);
        hl7_writer_field(&w, num);
    } else {
        hl7_writer_field(&w, it->ref_text[0] ? it->ref_text : NULL);
    }
    hl7_writer_field(&w, it->flag[0] ? it->flag : "N");
    hl7_writer_field_at(&w, 11, it->result_status == 'C' ? "C" : "F");
    ts_at(&w, 14, it->resulted_at);
    hl7_writer_field_at(&w, 16, it->released_by[0] ? it->released_by : NULL);
    return hl7_writer_end(&w);
}

/* ---- the connection ---- */

static void dest_close(dest_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    mllp_decoder_free(&c->dec);
    mllp_decoder_init(&c->dec, 0);
}

static int connect_to(const char *addr, char *why, size_t n)
{
    char host[128];
    int port = 0;
    if (str_split_hostport(addr, host, sizeof(host), &port)) {
        snprintf(why, n, "send_to '%s' is not HOST:PORT", addr);
        return -1;
    }
    char ps[8];
    snprintf(ps, sizeof(ps), "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc) {
        snprintf(why, n, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) && errno != EINPROGRESS) {
            snprintf(why, n, "cannot connect to %s: %s", addr, strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof(err);
        if (poll(&p, 1, CONNECT_MS) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
            err) {
            snprintf(why, n, "cannot connect to %s: %s", addr, err ? strerror(err) : "timed out");
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

typedef struct ack_wait {
    char code[4];
    char control[72];
    char text[200];
    bool got;
} ack_wait;

static void on_ack(void *cls, const char *msg, size_t len)
{
    ack_wait *aw = cls;
    arena a;
    hl7_msg m;
    arena_init(&a, 0);
    if (!aw->got && !hl7_parse(msg, len, &a, &m, NULL)) {
        size_t i = hl7_find(&m, "MSA", 0);
        if (i < hl7_segment_count(&m)) {
            hl7_seg msa = hl7_segment(&m, i);
            strv code = hl7_get(&msa, 1, 0, 0, 0), ctl = hl7_get(&msa, 2, 0, 0, 0);
            snprintf(aw->code, sizeof(aw->code), "%.*s", (int)(code.n < 3 ? code.n : 3), code.p);
            snprintf(aw->control, sizeof(aw->control), "%.*s", (int)(ctl.n < 70 ? ctl.n : 70),
                     ctl.p);
            size_t e = hl7_find(&m, "ERR", 0);
            if (e < hl7_segment_count(&m)) {
                hl7_seg err = hl7_segment(&m, e);
                strv t = hl7_get(&err, 8, 0, 0, 0);
                if (!t.n)
                    t = hl7_get(&err, 3, 0, 2, 0);
                snprintf(aw->text, sizeof(aw->text), "%.*s", (int)(t.n < 190 ? t.n : 190), t.p);
            }
            aw->got = true;
        }
    }
    arena_free(&a);
}

/* Send one framed message and wait for its ACK; false with why on failure. */
static bool exchange(dest_conn *c, const buf *framed, const char *control, char *why, size_t n)
{
    size_t off = 0;
    while (off < framed->len) {
        ssize_t k = send(c->fd, framed->data + off, framed->len - off, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {c->fd, POLLOUT, 0};
            if (poll(&p, 1, ACK_TIMEOUT_MS) != 1) {
                snprintf(why, n, "send timed out");
                return false;
            }
            continue;
        }
        if (k <= 0) {
            snprintf(why, n, "send failed: %s", strerror(errno));
            return false;
        }
        off += (size_t)k;
    }
    ack_wait aw = {0};
    int64_t deadline = time_mono_us() + (int64_t)ACK_TIMEOUT_MS * 1000;
    char chunk[8192];
    while (!aw.got) {
        int64_t left = (deadline - time_mono_us()) / 1000;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) != 1) {
            snprintf(why, n, "no ACK within %d s", ACK_TIMEOUT_MS / 1000);
            return false;
        }
        ssize_t k = recv(c->fd, chunk, sizeof(chunk), 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0) {
            snprintf(why, n, "the connection was closed before the ACK");
            return false;
        }
        mllp_decoder_feed(&c->dec, chunk, (size_t)k, on_ack, &aw, NULL);
    }
    if (strcmp(aw.control, control)) {
        snprintf(why, n, "ACK for control id '%s', not %s", aw.control, control);
        return false;
    }
    if (strcmp(aw.code, "AA") && strcmp(aw.code, "CA")) {
        snprintf(why, n, "answered %s%s%s", aw.code, aw.text[0] ? ": " : "", aw.text);
        return false;
    }
    return true;
}

static dest_conn *dest_for(outbox_worker *w, const delivery_item *it)
{
    for (int i = 0; i < w->ndests; i++)
        if (!strcmp(w->dests[i].name, it->destination)) {
            if (strcmp(w->dests[i].addr, it->send_to)) {
                dest_close(&w->dests[i]);
                snprintf(w->dests[i].addr, sizeof(w->dests[i].addr), "%s", it->send_to);
            }
            return &w->dests[i];
        }
    if (w->ndests == DESTS_MAX)
        return NULL;
    dest_conn *c = &w->dests[w->ndests++];
    snprintf(c->name, sizeof(c->name), "%s", it->destination);
    snprintf(c->addr, sizeof(c->addr), "%s", it->send_to);
    c->fd = -1;
    mllp_decoder_init(&c->dec, 0);
    return c;
}

/* Deliver one row; its outcome is recorded in the database. */
static void deliver(outbox_worker *w, db *d, const delivery_item *it)
{
    char control[ID_LEN + 1], why[256] = "";
    buf msg = BUF_INIT, framed = BUF_INIT;
    dest_conn *c = dest_for(w, it);
    bool ok = false;
    if (!c)
        snprintf(why, sizeof(why), "too many destinations");
    else if (outbox_oru(it, &msg, control) || mllp_frame(msg.data, msg.len, &framed))
        snprintf(why, sizeof(why), "the message could not be written");
    else {
        if (c->fd < 0)
            c->fd = connect_to(it->send_to, why, sizeof(why));
        if (c->fd >= 0) {
            ok = exchange(c, &framed, control, why, sizeof(why));
            if (!ok)
                dest_close(c);
        }
    }
    errinfo ei = {0};
    err_t rc;
    if (ok) {
        rc = delivery_done(d, it->id, control, &ei);
        log_info("outbox: result %s delivered to %s (%s)", it->result_id, it->destination, control);
    } else {
        int64_t backoff = (int64_t)1 << (it->attempts < 9 ? it->attempts : 9);
        if (backoff > BACKOFF_MAX_S)
            backoff = BACKOFF_MAX_S;
        rc = delivery_failed(d, it->id, why, time_now_us() + backoff * 1000000, &ei);
        log_warn("outbox: result %s to %s: %s (attempt %d; next in %lld s)", it->result_id,
                 it->destination, why, it->attempts + 1, (long long)backoff);
    }
    if (rc)
        log_error("outbox: cannot record the delivery of %s: %s", it->id, ei.message);
    buf_free(&msg);
    buf_free(&framed);
}

static void *worker_main(void *arg)
{
    outbox_worker *w = arg;
    db *d = NULL;
    delivery_item *items = calloc(BATCH, sizeof(*items));
    while (items) {
        pthread_mutex_lock(&w->lock);
        if (!w->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += POLL_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&w->wake, &w->lock, &ts);
        }
        bool stop = w->stop;
        pthread_mutex_unlock(&w->lock);
        if (stop)
            break;
        errinfo ei = {0};
        if (!d && db_open(w->url, &d, &ei)) {
            log_error("outbox: cannot open the database: %s", ei.message);
            continue;
        }
        int n = 0;
        if (delivery_due(d, time_now_us(), items, BATCH, &n, &ei)) {
            log_error("outbox: cannot read the outbox: %s", ei.message);
            db_close(d);
            d = NULL;
            continue;
        }
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&w->lock);
            stop = w->stop;
            pthread_mutex_unlock(&w->lock);
            if (stop)
                break;
            deliver(w, d, &items[i]);
        }
    }
    free(items);
    for (int i = 0; i < w->ndests; i++) {
        dest_close(&w->dests[i]);
        mllp_decoder_free(&w->dests[i].dec);
    }
    db_close(d);
    return NULL;
}

err_t outbox_start(const char *db_url, outbox_worker **out, errinfo *ei)
{
    outbox_worker *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (!w || !(w->url = strdup(db_url))) {
        free(w);
        return ERR_NOMEM;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w)) {
        free(w->url);
        free(w);
        return err_set(ei, ERR_SETUP, NULL, "cannot start the outbox worker");
    }
    *out = w;
    return ERR_OK;
}

void outbox_stop(outbox_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w->url);
    free(w);
}
