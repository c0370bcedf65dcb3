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
#include "base/metrics.h"
#include "base/str.h"
#include "base/time.h"
#include "proto/astm.h"
#include "proto/e1381.h"
#include "proto/hl7.h"
#include "proto/mllp.h"
#include "store/db.h"

#define BATCH          32
#define POLL_MS        250
#define ACK_TIMEOUT_MS 30000
#define CONNECT_MS     5000
#define BACKOFF_MAX_S  300
#define DESTS_MAX      8
/* How long a claimed row stays this node's (lab/delivery.h): longer than
 * one attempt can take (connecting, sending, waiting for the ACK), since
 * the claim is renewed before each attempt. */
#define LEASE_US (120 * 1000000LL)

typedef struct dest_conn {
    char name[65], addr[129];
    int fd;
    mllp_decoder dec;
} dest_conn;

struct outbox_worker {
    char *url;
    char node[65];
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

static dest_conn *dest_for(outbox_worker *w, const char *name, const char *addr)
{
    for (int i = 0; i < w->ndests; i++)
        if (!strcmp(w->dests[i].name, name)) {
            if (strcmp(w->dests[i].addr, addr)) {
                dest_close(&w->dests[i]);
                snprintf(w->dests[i].addr, sizeof(w->dests[i].addr), "%s", addr);
            }
            return &w->dests[i];
        }
    if (w->ndests == DESTS_MAX)
        return NULL;
    dest_conn *c = &w->dests[w->ndests++];
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    c->fd = -1;
    mllp_decoder_init(&c->dec, 0);
    return c;
}

/* Send one HL7 message (msg) to a destination over its MLLP connection and
 * wait for its ACK; false with why on failure (the connection is closed). */
static bool send_hl7(outbox_worker *w, const char *name, const char *addr, const buf *msg,
                     const char *control, char *why, size_t n)
{
    buf framed = BUF_INIT;
    dest_conn *c = dest_for(w, name, addr);
    bool ok = false;
    if (!c)
        snprintf(why, n, "too many destinations");
    else if (mllp_frame(msg->data, msg->len, &framed))
        snprintf(why, n, "the message could not be framed");
    else {
        if (c->fd < 0)
            c->fd = connect_to(addr, why, n);
        if (c->fd >= 0) {
            ok = exchange(c, &framed, control, why, n);
            if (!ok)
                dest_close(c);
        }
    }
    buf_free(&framed);
    return ok;
}

/* The next attempt after a failure: 1 s doubling to 5 minutes. */
static int64_t backoff_s(int attempts)
{
    int64_t b = (int64_t)1 << (attempts < 9 ? attempts : 9);
    return b > BACKOFF_MAX_S ? BACKOFF_MAX_S : b;
}

/* Count an attempt for /metrics: kind "result" or "order". */
static void count_out(const char *kind, bool ok)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "kind=\"%s\",outcome=\"%s\"", kind,
             ok ? "delivered" : "failed");
    metrics_count("benchside_messages_out_total",
                  "Deliveries attempted: results to the EHRs and orders to analyzers, by outcome",
                  labels, 1);
}

/* Deliver one result; its outcome is recorded in the database. */
/*
 * Renew the claim on a row before its attempt; false when it is no longer
 * this node's (its lease lapsed while earlier rows were sent and another
 * node took it), so that it is not sent twice.
 */
static bool still_ours(outbox_worker *w, db *d, const char *id, bool order)
{
    errinfo ei = {0};
    bool ours = false;
    int64_t until = time_now_us() + LEASE_US;
    err_t rc = order ? delivery_order_hold(d, id, w->node, until, &ours, &ei)
                     : delivery_hold(d, id, w->node, until, &ours, &ei);
    if (rc)
        log_msg(LOG_WARN, id, "outbox: cannot renew the claim: %s", ei.message);
    return ours;
}

static void deliver(outbox_worker *w, db *d, const delivery_item *it)
{
    char control[ID_LEN + 1], why[256] = "";
    buf msg = BUF_INIT;
    bool ok = false;
    if (!still_ours(w, d, it->id, false))
        return;
    if (outbox_oru(it, &msg, control))
        snprintf(why, sizeof(why), "the message could not be written");
    else
        ok = send_hl7(w, it->destination, it->send_to, &msg, control, why, sizeof(why));
    count_out("result", ok);
    errinfo ei = {0};
    err_t rc;
    if (ok) {
        rc = delivery_done(d, it->id, control, &ei);
        log_msg(LOG_INFO, it->id, "outbox: result %s delivered to %s (%s)", it->result_id,
                it->destination, control);
    } else {
        int64_t b = backoff_s(it->attempts);
        rc = delivery_failed(d, it->id, why, time_now_us() + b * 1000000, &ei);
        log_msg(LOG_WARN, it->id, "outbox: result %s to %s: %s (attempt %d; next in %lld s)",
                it->result_id, it->destination, why, it->attempts + 1, (long long)b);
    }
    if (rc)
        log_msg(LOG_ERROR, it->id, "outbox: cannot record the delivery: %s", ei.message);
    buf_free(&msg);
}

/* ---- orders to analyzers ---- */

err_t outbox_order_hl7(const delivery_order *o, buf *out, char control[ID_LEN + 1])
{
    hl7_writer w;
    char birth[9], seq[24];
    bool oml = strcmp(o->in.hl7_orders, "orm") != 0;
    id_new(control);
    hl7_writer_init(&w, out);
    hl7_writer_segment(&w, "MSH");
    hl7_writer_field(&w, "benchside");
    hl7_writer_field(&w, "LAB");
    hl7_writer_field(&w, o->in.name);
    hl7_writer_field(&w, NULL);
    ts_at(&w, 7, time_now_us());
    hl7_writer_field_at(&w, 9, oml ? "OML" : "ORM");
    hl7_writer_component(&w, oml ? "O33" : "O01");
    hl7_writer_component(&w, oml ? "OML_O33" : "ORM_O01");
    hl7_writer_field(&w, control);
    hl7_writer_field(&w, "P");
    hl7_writer_field(&w, "2.5.1");
    snprintf(birth, sizeof(birth), "%.4s%.2s%.2s", o->birth_date, o->birth_date + 5,
             o->birth_date + 8);
    hl7_writer_segment(&w, "PID");
    hl7_writer_field(&w, "1");
    hl7_writer_field_at(&w, 3, o->mrn);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, "MR");
    hl7_writer_field_at(&w, 5, o->family);
    hl7_writer_component(&w, o->given);
    hl7_writer_field_at(&w, 7, birth);
    hl7_writer_field(&w, !strcmp(o->sex, "female") ? "F" : !strcmp(o->sex, "male") ? "M" : "U");
    if (oml) {
        /* IHE LAW: the specimen, then one order per test */
        hl7_writer_segment(&w, "SPM");
        hl7_writer_field(&w, "1");
        hl7_writer_field(&w, o->accession);
        hl7_writer_field_at(&w, 4, o->specimen_type);
        hl7_writer_field_at(&w, 11, "P");
        ts_at(&w, 17, o->collected_at);
    }
    for (size_t i = 0; i < o->ntests; i++) {
        snprintf(seq, sizeof(seq), "%zu", i + 1);
        hl7_writer_segment(&w, "ORC");
        hl7_writer_field(&w, "NW");
        hl7_writer_field(&w, o->accession);
        hl7_writer_field_at(&w, 7, NULL);
        for (int k = 0; k < 5; k++)
            hl7_writer_component(&w, NULL);
        hl7_writer_component(&w, !strcmp(o->priority, "stat") ? "S" : "R");
        hl7_writer_segment(&w, "OBR");
        hl7_writer_field(&w, seq);
        hl7_writer_field(&w, o->accession);
        hl7_writer_field(&w, NULL);
        hl7_writer_field(&w, o->tests[i].code);
        hl7_writer_component(&w, o->tests[i].name);
        hl7_writer_component(&w, "L");
        hl7_writer_field(&w, !strcmp(o->priority, "stat") ? "S" : "R");
        ts_at(&w, 7, o->collected_at);
    }
    return hl7_writer_end(&w);
}

err_t outbox_order_astm(const delivery_order *o, buf *out)
{
    astm_writer w;
    char ts[HL7_TS_LEN], birth[9];
    strv codes[DELIVERY_ORDER_TESTS];
    hl7_ts_format(time_now_us(), ts);
    ts[14] = '\0';
    snprintf(birth, sizeof(birth), "%.4s%.2s%.2s", o->birth_date, o->birth_date + 5,
             o->birth_date + 8);
    for (size_t i = 0; i < o->ntests; i++)
        codes[i] = (strv){o->tests[i].code, strlen(o->tests[i].code)};
    astm_writer_init(&w, out, NULL);
    astm_write_header(
        &w, &(astm_header_spec){.sender = STRV("benchside"), .timestamp = {ts, strlen(ts)}});
    astm_write_patient(&w, &(astm_patient_spec){
                               .practice_id = {o->mrn, strlen(o->mrn)},
                               .last_name = {o->family, strlen(o->family)},
                               .first_name = {o->given, strlen(o->given)},
                               .birth_date = {birth, strlen(birth)},
                               .sex = !strcmp(o->sex, "female") ? STRV("F")
                                      : !strcmp(o->sex, "male") ? STRV("M")
                                                                : STRV("U"),
                           });
    astm_write_order(&w, &(astm_order_spec){
                             .specimen_id = {o->accession, strlen(o->accession)},
                             .tests = codes,
                             .ntests = o->ntests,
                             .priority = !strcmp(o->priority, "stat") ? STRV("S") : STRV("R"),
                             .action = STRV("N"),
                             .specimen_type = {o->specimen_type, strlen(o->specimen_type)},
                             .report_type = STRV("O"),
                         });
    astm_write_terminator(&w, 'N');
    return astm_writer_error(&w);
}

/* One E1381 transmission of text to addr, as the computer system: connect,
 * bid, send frame by frame, EOT. false with why on failure. */
static bool send_astm(const char *addr, const buf *text, char *why, size_t n)
{
    int fd = connect_to(addr, why, n);
    if (fd < 0)
        return false;
    e1381 e;
    e1381_actions a;
    e1381_init(&e, NULL);
    bool done = false, ok = false;
    int64_t timer_at = 0, deadline = time_mono_us() + 120 * 1000000LL;
    err_t rc = e1381_send(&e, text->data, text->len, &a);
    if (rc)
        snprintf(why, n, "the records could not be sent: %s", err_name(rc));
    while (!rc && !done) {
        for (size_t i = 0; i < a.n && !done; i++) {
            const e1381_action *x = &a.v[i];
            if (x->kind == E1381_WRITE &&
                send(fd, x->data.p, x->data.n, MSG_NOSIGNAL) != (ssize_t)x->data.n) {
                snprintf(why, n, "send failed: %s", strerror(errno));
                done = true;
            } else if (x->kind == E1381_TIMER_START) {
                timer_at = time_mono_us() + x->ms * 1000;
            } else if (x->kind == E1381_TIMER_STOP) {
                timer_at = 0;
            } else if (x->kind == E1381_SENT) {
                ok = done = true;
            } else if (x->kind == E1381_SEND_FAILED) {
                snprintf(why, n, "the analyzer did not take the orders: %s", x->detail);
                done = true;
            }
        }
        if (done)
            break;
        int64_t now = time_mono_us();
        if (now > deadline) {
            snprintf(why, n, "the transmission took too long");
            break;
        }
        int wait_ms = timer_at ? (int)((timer_at - now) / 1000) : 1000;
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, wait_ms < 0 ? 0 : wait_ms);
        char chunk[4096];
        if (pr == 1) {
            ssize_t k = recv(fd, chunk, sizeof(chunk), 0);
            if (k <= 0) {
                snprintf(why, n, "the analyzer closed the connection");
                break;
            }
            rc = e1381_feed(&e, chunk, (size_t)k, &a);
        } else if (timer_at && time_mono_us() >= timer_at) {
            timer_at = 0;
            rc = e1381_timeout(&e, &a);
        } else {
            a.n = 0;
        }
    }
    e1381_free(&e);
    close(fd);
    return ok;
}

static void deliver_order(outbox_worker *w, db *d, const delivery_order *o)
{
    char control[ID_LEN + 1] = "", why[256] = "";
    buf msg = BUF_INIT;
    bool ok = false;
    if (!still_ours(w, d, o->id, true))
        return;
    json_t *tests = json_array();
    for (size_t i = 0; i < o->ntests; i++)
        json_array_append_new(tests, json_string(o->tests[i].code));
    if (o->ntests == 0) {
        ok = true; /* resulted or cancelled meanwhile: nothing left to send */
    } else if (!strcmp(o->in.protocol, "hl7")) {
        if (outbox_order_hl7(o, &msg, control))
            snprintf(why, sizeof(why), "the message could not be written");
        else
            ok = send_hl7(w, o->in.name, o->in.send_to, &msg, control, why, sizeof(why));
    } else {
        if (outbox_order_astm(o, &msg))
            snprintf(why, sizeof(why), "the records could not be written");
        else
            ok = send_astm(o->in.send_to, &msg, why, sizeof(why));
    }
    count_out("order", ok);
    char *text = json_dumps(tests, JSON_COMPACT);
    errinfo ei = {0};
    err_t rc;
    if (ok) {
        rc = delivery_order_done(d, o->id, control[0] ? control : NULL, text ? text : "[]", &ei);
        log_msg(LOG_INFO, o->id, "outbox: orders for %s (%zu test(s)) delivered to %s",
                o->accession, o->ntests, o->in.name);
    } else {
        int64_t b = backoff_s(o->attempts);
        rc = delivery_order_failed(d, o->id, why, time_now_us() + b * 1000000, &ei);
        log_msg(LOG_WARN, o->id, "outbox: orders for %s to %s: %s (attempt %d; next in %lld s)",
                o->accession, o->in.name, why, o->attempts + 1, (long long)b);
    }
    if (rc)
        log_msg(LOG_ERROR, o->id, "outbox: cannot record the delivery: %s", ei.message);
    free(text);
    json_decref(tests);
    buf_free(&msg);
}

static bool stopping(outbox_worker *w)
{
    pthread_mutex_lock(&w->lock);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->lock);
    return stop;
}

static void *worker_main(void *arg)
{
    outbox_worker *w = arg;
    db *d = NULL;
    delivery_item *items = calloc(BATCH, sizeof(*items));
    delivery_order *orders = calloc(BATCH, sizeof(*orders));
    while (items && orders) {
        pthread_mutex_lock(&w->lock);
        if (!w->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += POLL_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&w->wake, &w->lock, &ts);
        }
        pthread_mutex_unlock(&w->lock);
        if (stopping(w))
            break;
        errinfo ei = {0};
        if (!d && db_open(w->url, &d, &ei)) {
            log_error("outbox: cannot open the database: %s", ei.message);
            continue;
        }
        int n = 0, m = 0;
        if (delivery_due(d, w->node, time_now_us(), LEASE_US, items, BATCH, &n, &ei) ||
            delivery_orders_due(d, w->node, time_now_us(), LEASE_US, orders, BATCH, &m, &ei)) {
            log_error("outbox: cannot read the outbox: %s", ei.message);
            db_close(d);
            d = NULL;
            continue;
        }
        for (int i = 0; i < m && !stopping(w); i++)
            deliver_order(w, d, &orders[i]);
        for (int i = 0; i < n && !stopping(w); i++)
            deliver(w, d, &items[i]);
    }
    /* What was claimed and not sent goes back at once rather than when its
     * lease lapses. */
    errinfo uei = {0};
    if (d && delivery_unclaim(d, w->node, &uei))
        log_warn("outbox: cannot give back the rows claimed: %s", uei.message);
    free(items);
    free(orders);
    for (int i = 0; i < w->ndests; i++) {
        dest_close(&w->dests[i]);
        mllp_decoder_free(&w->dests[i].dec);
    }
    db_close(d);
    return NULL;
}

err_t outbox_start(const char *db_url, const char *node, outbox_worker **out, errinfo *ei)
{
    outbox_worker *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (!w || !(w->url = strdup(db_url))) {
        free(w);
        return ERR_NOMEM;
    }
    snprintf(w->node, sizeof(w->node), "%s", node);
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
