/*
 * link.c - listeners, connections, serial lines, the ingest writer and its
 * checkpointer (see link.h). The outbox worker is in outbox.c.
 */
#include "link/link.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/str.h"
#include "base/jsonv.h"
#include "base/time.h"
#include "lab/instrument.h"
#include "link/handle.h"
#include "lab/journal.h"
#include "link/outbox.h"
#include "proto/e1381.h"
#include "proto/hl7.h"
#include "proto/mllp.h"
#include "store/ckpt.h"
#include "store/db.h"

#define SERIAL_MAX      32
#define RECONCILE_MS    5000
#define READ_CHUNK      65536
#define FAULT_RAW_BYTES 4096
/* Log pages after which a commit of the writer copies the write-ahead log
 * itself: the checkpointer normally does it first; this bounds the log when
 * it falls behind. */
#define WRITER_AUTOCHECKPOINT 10000

typedef struct conn conn;
typedef struct link_server link_server;

/* A message (or a protocol fault to journal) on its way to the writer. */
typedef struct job {
    struct job *next;
    conn *c;      /* the connection waiting for the reply; NULL for faults */
    link_msg msg; /* its strings point into the fields below */
    char *data;   /* owned copy of the message */
    char peer[JOURNAL_PEER_MAX + 1], peer_ip[64], instrument[INSTRUMENT_NAME_MAX + 1];
    bool fault; /* only journal: fault_error, status rejected */
    char fault_error[160];
    link_reply reply; /* filled by the writer */
    err_t rc;
} job;

typedef struct job_queue {
    job *head, *tail;
    size_t n;
} job_queue;

static void q_push(job_queue *q, job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->n++;
}

static job *q_pop(job_queue *q)
{
    job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
    }
    return j;
}

struct conn {
    link_server *srv;
    link_proto proto;
    const char *transport; /* "mllp", "astm-tcp", "serial" */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_tty_t tty;
    } h;
    uv_timer_t timer; /* idle and stall time-out (MLLP); E1381 timers (ASTM) */
    uv_timer_t idle;  /* ASTM: idle time-out */
    int open_handles; /* handles still to be closed before the conn is freed */
    int waiting;      /* jobs at the writer */
    bool closing;
    char peer[JOURNAL_PEER_MAX + 1], peer_ip[64];
    char instrument[INSTRUMENT_NAME_MAX + 1]; /* serial lines: fixed */
    int fd;                                   /* serial lines: the device */
    mllp_decoder mllp;
    e1381 e;
    buf sendq; /* ASTM: reply transmissions waiting for the line, each ended by '\0' */
    struct conn *next_serial;
    /* what link_connections() tells, under the server's conns_lock */
    struct conn *prev_live, *next_live;
    int64_t connected_at, last_message_at, messages, not_accepted;
    char last_status[12];
    char recognised[INSTRUMENT_NAME_MAX + 1]; /* the sender of its last message stored */
};

struct link_server {
    link_config cfg;
    uv_loop_t loop;
    uv_tcp_t mllp_srv, astm_srv;
    bool mllp_on, astm_on;
    int mllp_port, astm_port;
    uv_async_t stop_async, done_async;
    uv_timer_t reconcile;
    pthread_t loop_thread, writer_thread;
    bool loop_started, writer_started;
    db_ckpt *ckpt; /* the log's copying (store/ckpt.h) */
    db *read_db;   /* the loop's own connection, for the register */
    /* writer */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job_queue in, done;
    bool stopping;
    /* serial lines open now */
    conn *serials;
    outbox_worker *outbox;
    /* every connection and serial line open now, for link_connections() */
    pthread_mutex_t conns_lock;
    conn *live;
};

/* ---- connections ---- */

static bool is_serial(const conn *c)
{
    return !strcmp(c->transport, "serial");
}

/* Free a closed connection, taking it out of what link_connections() tells. */
static void conn_destroy(conn *c)
{
    link_server *s = c->srv;
    pthread_mutex_lock(&s->conns_lock);
    if (c->prev_live)
        c->prev_live->next_live = c->next_live;
    else if (s->live == c)
        s->live = c->next_live;
    if (c->next_live)
        c->next_live->prev_live = c->prev_live;
    pthread_mutex_unlock(&s->conns_lock);
    mllp_decoder_free(&c->mllp);
    e1381_free(&c->e);
    buf_free(&c->sendq);
    free(c);
}

/* Tell link_connections() of a connection now open. */
static void conn_live(conn *c)
{
    link_server *s = c->srv;
    pthread_mutex_lock(&s->conns_lock);
    c->connected_at = time_now_us();
    c->next_live = s->live;
    if (s->live)
        s->live->prev_live = c;
    s->live = c;
    pthread_mutex_unlock(&s->conns_lock);
}

static void conn_free_cb(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    if (c->waiting > 0)
        return; /* freed when its last job comes back */
    conn_destroy(c);
}

static void conn_close(conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    if (why)
        log_info("link %s %s closed: %s", c->transport, c->peer, why);
    if (is_serial(c)) {
        link_server *s = c->srv;
        for (conn **p = &s->serials; *p; p = &(*p)->next_serial)
            if (*p == c) {
                *p = c->next_serial;
                break;
            }
    }
    c->open_handles = 3;
    uv_close((uv_handle_t *)&c->timer, conn_free_cb);
    uv_close((uv_handle_t *)&c->idle, conn_free_cb);
    uv_close(&c->h.handle, conn_free_cb);
}

typedef struct wreq {
    uv_write_t req;
    char data[];
} wreq;

static void write_done(uv_write_t *req, int status)
{
    conn *c = req->data;
    free(req);
    if (status < 0 && !c->closing)
        conn_close(c, uv_strerror(status));
}

static void conn_write(conn *c, const char *p, size_t n)
{
    if (c->closing || n == 0)
        return;
    wreq *w = malloc(sizeof(*w) + n);
    if (!w) {
        conn_close(c, "out of memory");
        return;
    }
    memcpy(w->data, p, n);
    w->req.data = c;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc = uv_write(&w->req, &c->h.stream, &b, 1, write_done);
    if (rc < 0) {
        free(w);
        conn_close(c, uv_strerror(rc));
    }
}

static void submit(link_server *s, job *j)
{
    if (j->c)
        j->c->waiting++;
    pthread_mutex_lock(&s->lock);
    q_push(&s->in, j);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

static job *job_new(conn *c, const char *data, size_t len)
{
    job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->data = malloc(len + 1);
    if (!j->data) {
        free(j);
        return NULL;
    }
    memcpy(j->data, data, len);
    j->data[len] = '\0';
    j->c = c;
    snprintf(j->peer, sizeof(j->peer), "%s", c->peer);
    snprintf(j->peer_ip, sizeof(j->peer_ip), "%s", c->peer_ip);
    snprintf(j->instrument, sizeof(j->instrument), "%s", c->instrument);
    j->msg = (link_msg){
        .proto = c->proto,
        .transport = c->transport,
        .peer = j->peer,
        .peer_ip = j->peer_ip,
        .instrument = j->instrument[0] ? j->instrument : NULL,
        .data = j->data,
        .len = len,
    };
    return j;
}

static void job_free(job *j)
{
    buf_free(&j->reply.out);
    free(j->data);
    free(j);
}

/* A fault on a connection: logged, and journalled with what bytes there are. */
static void fault(conn *c, const char *data, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fault(conn *c, const char *data, size_t len, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    log_warn("link %s %s: %s", c->transport, c->peer, why);
    job *j =
        job_new(c, data ? data : "", data ? (len < FAULT_RAW_BYTES ? len : FAULT_RAW_BYTES) : 0);
    if (!j)
        return;
    j->fault = true;
    j->c = NULL; /* nothing to answer */
    snprintf(j->fault_error, sizeof(j->fault_error), "%s", why);
    submit(c->srv, j);
}

/* ---- MLLP ---- */

static void mllp_arm(conn *c);

static void on_mllp_message(void *cls, const char *msg, size_t len)
{
    conn *c = cls;
    job *j = job_new(c, msg, len);
    if (!j) {
        conn_close(c, "out of memory");
        return;
    }
    submit(c->srv, j);
}

/* An AR for a message the decoder had to drop (too large): no MSH to answer. */
static void mllp_refuse(conn *c, const char *why)
{
    buf b = BUF_INIT, framed = BUF_INIT;
    hl7_writer w;
    char ts[HL7_TS_LEN], ctrl[ID_LEN + 1];
    hl7_ts_format(time_now_us(), ts);
    id_new(ctrl);
    hl7_writer_init(&w, &b);
    hl7_writer_segment(&w, "MSH");
    hl7_writer_field(&w, "benchside");
    hl7_writer_field(&w, "LAB");
    hl7_writer_field_at(&w, 7, ts);
    hl7_writer_field_at(&w, 9, "ACK");
    hl7_writer_field(&w, ctrl);
    hl7_writer_field(&w, "P");
    hl7_writer_field(&w, "2.5.1");
    hl7_writer_segment(&w, "MSA");
    hl7_writer_field(&w, "AR");
    hl7_writer_field(&w, "");
    hl7_writer_segment(&w, "ERR");
    hl7_writer_field_at(&w, 3, "207");
    hl7_writer_component(&w, why);
    hl7_writer_component(&w, "HL70357");
    hl7_writer_field(&w, "E");
    hl7_writer_field_at(&w, 8, why);
    if (!hl7_writer_end(&w) && !mllp_frame(b.data, b.len, &framed))
        conn_write(c, framed.data, framed.len);
    buf_free(&b);
    buf_free(&framed);
}

static void mllp_timeout(uv_timer_t *t)
{
    conn *c = t->data;
    if (is_serial(c)) {
        /* A serial line stays open: drop the stalled message and go on. */
        errinfo ei = {0};
        mllp_decoder_finish(&c->mllp, &ei);
        fault(c, NULL, 0, "message begun and not ended within %d s: dropped", c->srv->cfg.stall_s);
        return;
    }
    if (mllp_decoder_in_frame(&c->mllp)) {
        fault(c, NULL, 0, "message begun and not ended within %d s: dropped", c->srv->cfg.stall_s);
        conn_close(c, "stalled in the middle of a message");
    } else {
        conn_close(c, "idle");
    }
}

static void mllp_arm(conn *c)
{
    if (c->closing)
        return;
    bool in_frame = mllp_decoder_in_frame(&c->mllp);
    if (is_serial(c) && !in_frame) {
        uv_timer_stop(&c->timer);
        return;
    }
    int s = in_frame ? c->srv->cfg.stall_s : c->srv->cfg.idle_s;
    uv_timer_start(&c->timer, mllp_timeout, (uint64_t)s * 1000, 0);
}

static void mllp_read(conn *c, const char *p, size_t n)
{
    errinfo ei = {0};
    err_t rc = mllp_decoder_feed(&c->mllp, p, n, on_mllp_message, c, &ei);
    if (rc == ERR_TOO_LARGE) {
        fault(c, NULL, 0, "%s", ei.message);
        mllp_refuse(c, ei.message);
    } else if (rc) {
        fault(c, p, n, "%s", ei.message);
    }
    mllp_arm(c);
}

/* ---- ASTM (E1381) ---- */

static void astm_carry_out(conn *c, e1381_actions a);

static void astm_timer_cb(uv_timer_t *t)
{
    conn *c = t->data;
    e1381_actions a;
    if (e1381_timeout(&c->e, &a)) {
        conn_close(c, "out of memory");
        return;
    }
    astm_carry_out(c, a);
}

static void astm_idle_cb(uv_timer_t *t)
{
    conn *c = t->data;
    if (e1381_get_state(&c->e) == E1381_IDLE && !e1381_holding(&c->e) && c->waiting == 0)
        conn_close(c, "idle");
    else
        uv_timer_again(t);
}

/* Start the next queued reply transmission when the line allows. */
static void astm_send_next(conn *c)
{
    if (c->closing || c->sendq.len == 0 || e1381_pending(&c->e))
        return;
    size_t n = strlen(c->sendq.data);
    e1381_actions a;
    err_t rc = e1381_send(&c->e, c->sendq.data, n, &a);
    memmove(c->sendq.data, c->sendq.data + n + 1, c->sendq.len - n - 1);
    c->sendq.len -= n + 1;
    if (rc == ERR_NOMEM) {
        conn_close(c, "out of memory");
        return;
    }
    if (rc)
        log_warn("link %s %s: reply not sent: %s", c->transport, c->peer, err_name(rc));
    else
        astm_carry_out(c, a);
}

static void astm_carry_out(conn *c, e1381_actions a)
{
    for (size_t i = 0; i < a.n && !c->closing; i++) {
        const e1381_action *x = &a.v[i];
        switch (x->kind) {
        case E1381_WRITE:
            conn_write(c, x->data.p, x->data.n);
            break;
        case E1381_TIMER_START:
            uv_timer_start(&c->timer, astm_timer_cb, (uint64_t)x->ms, 0);
            break;
        case E1381_TIMER_STOP:
            uv_timer_stop(&c->timer);
            break;
        case E1381_MESSAGE: {
            job *j = job_new(c, x->data.p, x->data.n);
            if (!j)
                conn_close(c, "out of memory");
            else
                submit(c->srv, j);
            break;
        }
        case E1381_HOLD:
            break; /* the ACK goes when the writer has committed */
        case E1381_SENT:
            log_info("link %s %s: reply transmission accepted", c->transport, c->peer);
            break;
        case E1381_SEND_FAILED:
            fault(c, NULL, 0, "reply transmission abandoned: %s", x->detail);
            break;
        case E1381_FAULT:
            fault(c, NULL, 0, "%s", x->detail);
            break;
        }
    }
    if (!c->closing && e1381_get_state(&c->e) == E1381_IDLE)
        astm_send_next(c);
}

static void astm_read(conn *c, const char *p, size_t n)
{
    e1381_actions a;
    uv_timer_again(&c->idle);
    if (e1381_feed(&c->e, p, n, &a)) {
        conn_close(c, "out of memory");
        return;
    }
    astm_carry_out(c, a);
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    (void)hint;
    static __thread char chunk[READ_CHUNK];
    *b = uv_buf_init(chunk, sizeof(chunk));
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    conn *c = st->data;
    if (n < 0) {
        if (c->proto == LINK_HL7) {
            errinfo ei = {0};
            if (mllp_decoder_finish(&c->mllp, &ei))
                fault(c, NULL, 0, "%s", ei.message);
        }
        conn_close(c, n == UV_EOF ? "closed by the peer" : uv_strerror((int)n));
        return;
    }
    if (n == 0 || c->closing)
        return;
    if (c->proto == LINK_HL7)
        mllp_read(c, b->base, (size_t)n);
    else
        astm_read(c, b->base, (size_t)n);
}

static conn *conn_new(link_server *s, link_proto proto, const char *transport)
{
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->srv = s;
    c->proto = proto;
    c->transport = transport;
    c->fd = -1;
    c->h.handle.data = c;
    uv_timer_init(&s->loop, &c->timer);
    uv_timer_init(&s->loop, &c->idle);
    c->timer.data = c;
    c->idle.data = c;
    mllp_decoder_init(&c->mllp, s->cfg.max_message);
    e1381_config ec = {
        .role = E1381_COMPUTER, .max_message = s->cfg.max_message, .hold_last = true};
    e1381_init(&c->e, &ec);
    return c;
}

static void start_conn(conn *c)
{
    if (c->proto == LINK_HL7) {
        mllp_arm(c);
    } else if (!is_serial(c)) {
        uint64_t idle = (uint64_t)c->srv->cfg.idle_s * 1000;
        uv_timer_start(&c->idle, astm_idle_cb, idle, idle);
    }
    uv_read_start(&c->h.stream, alloc_cb, read_cb);
}

static void peer_name(uv_tcp_t *t, char *peer, size_t np, char *ip, size_t ni)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    snprintf(peer, np, "?");
    ip[0] = '\0';
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len))
        return;
    char host[64] = "";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        snprintf(peer, np, "%s:%d", host, port);
    } else {
        uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        snprintf(peer, np, "[%s]:%d", host, port);
    }
    snprintf(ip, ni, "%s", host);
}

static void on_connection(uv_stream_t *server, int status)
{
    link_server *s = server->data;
    bool hl7 = server == (uv_stream_t *)&s->mllp_srv;
    if (status < 0)
        return;
    conn *c = conn_new(s, hl7 ? LINK_HL7 : LINK_ASTM, hl7 ? "mllp" : "astm-tcp");
    if (!c)
        return;
    uv_tcp_init(&s->loop, &c->h.tcp);
    c->h.handle.data = c;
    if (uv_accept(server, &c->h.stream)) {
        conn_close(c, NULL);
        return;
    }
    uv_tcp_nodelay(&c->h.tcp, 1);
    peer_name(&c->h.tcp, c->peer, sizeof(c->peer), c->peer_ip, sizeof(c->peer_ip));
    log_info("link %s %s connected", c->transport, c->peer);
    conn_live(c);
    start_conn(c);
}

/* ---- serial lines ---- */

static speed_t speed_of(int baud)
{
    switch (baud) {
    case 1200:
        return B1200;
    case 2400:
        return B2400;
    case 4800:
        return B4800;
    case 19200:
        return B19200;
    case 38400:
        return B38400;
    case 57600:
        return B57600;
    case 115200:
        return B115200;
    default:
        return B9600;
    }
}

/* Open and set a serial line as the register says: raw bytes, no flow control. */
static int serial_open(const instrument *in)
{
    int fd = open(in->serial_device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        cfsetispeed(&t, speed_of(in->serial_baud));
        cfsetospeed(&t, speed_of(in->serial_baud));
        t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
        t.c_cflag |= CLOCAL | CREAD | (in->serial_data_bits == 7 ? CS7 : CS8);
        if (!strcmp(in->serial_parity, "even"))
            t.c_cflag |= PARENB;
        else if (!strcmp(in->serial_parity, "odd"))
            t.c_cflag |= PARENB | PARODD;
        if (in->serial_stop_bits == 2)
            t.c_cflag |= CSTOPB;
        t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

static bool serial_is_open(link_server *s, const char *name)
{
    for (conn *c = s->serials; c; c = c->next_serial)
        if (!strcmp(c->instrument, name))
            return true;
    return false;
}

static err_t open_serial(void *cls, const instrument *in)
{
    link_server *s = cls;
    if (serial_is_open(s, in->name) || !in->serial_device[0])
        return ERR_OK;
    int fd = serial_open(in);
    if (fd < 0)
        return ERR_OK; /* tried again at the next reconcile */
    conn *c = conn_new(s, !strcmp(in->protocol, "hl7") ? LINK_HL7 : LINK_ASTM, "serial");
    if (!c) {
        close(fd);
        return ERR_NOMEM;
    }
    if (uv_tty_init(&s->loop, &c->h.tty, fd, 1)) {
        close(fd);
        c->closing = true;
        c->open_handles = 2;
        uv_close((uv_handle_t *)&c->timer, conn_free_cb);
        uv_close((uv_handle_t *)&c->idle, conn_free_cb);
        return ERR_OK;
    }
    /* libuv may reopen a tty for a descriptor of its own. */
    uv_os_fd_t used = -1;
    if (uv_fileno(&c->h.handle, &used) == 0 && used != fd)
        close(fd);
    c->h.handle.data = c;
    c->fd = used;
    snprintf(c->instrument, sizeof(c->instrument), "%s", in->name);
    snprintf(c->peer, sizeof(c->peer), "%.120s", in->serial_device);
    c->next_serial = s->serials;
    s->serials = c;
    log_info("link serial %s opened for %s (%d baud)", in->serial_device, in->name,
             in->serial_baud);
    /* A serial line is never idle-closed: the instrument is always there. */
    conn_live(c);
    start_conn(c);
    return ERR_OK;
}

static void reconcile_cb(uv_timer_t *t)
{
    link_server *s = t->data;
    errinfo ei = {0};
    if (s->read_db && instrument_each(s->read_db, "transport", "serial", open_serial, s, &ei))
        log_warn("link: reading the serial lines of the register failed: %s", ei.message);
}

/* ---- the writer ---- */

static err_t run_job(db *d, job *j, errinfo *ei)
{
    buf_reset(&j->reply.out);
    j->reply.journal_id[0] = '\0';
    if (!j->fault)
        return link_handle(d, &j->msg, &j->reply, ei);
    journal_entry e = {
        .direction = "in",
        .protocol = j->msg.proto == LINK_HL7 ? "hl7" : "astm",
        .transport = j->msg.transport,
        .peer = j->peer,
        .instrument = j->instrument[0] ? j->instrument : NULL,
        .sender = "",
        .control_id = "",
        .type = "fault",
        .status = "rejected",
        .ack = j->msg.proto == LINK_HL7 ? "AR" : "NAK",
        .error = j->fault_error,
        .raw = j->data,
        .len = j->msg.len,
    };
    return journal_write(d, &e, j->reply.journal_id, ei);
}

/* Run jobs[0..n) in one transaction; false when it could not be committed. */
static bool run_batch(db *d, job **jobs, size_t n)
{
    errinfo ei = {0};
    err_t rc = db_begin(d, &ei);
    for (size_t i = 0; i < n && !rc; i++)
        rc = run_job(d, jobs[i], &ei);
    if (!rc)
        rc = db_commit(d, &ei);
    else
        db_rollback(d);
    if (rc)
        log_error("ingest: a batch of %zu could not be stored: %s", n, ei.message);
    return rc == ERR_OK;
}

static const char in_name[] = "benchside_messages_in_total";
static const char in_help[] = "Messages received from instruments and EHRs, by protocol and what "
                              "became of them (not-stored: the commit failed and no reply was "
                              "sent)";

/* Count by messages of protocol with status, for /metrics. */
static void count_in_as(const char *protocol, const char *status, int64_t by)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "protocol=\"%s\",status=\"%s\"", protocol, status);
    metrics_count(in_name, in_help, labels, by);
}

/* Count a message the writer is done with. */
static void count_in(const job *j)
{
    const char *status = j->rc ? "not-stored" : j->fault ? "rejected" : j->reply.status;
    count_in_as(j->msg.proto == LINK_HL7 ? "hl7" : "astm", status[0] ? status : "unknown", 1);
}

static void *writer_main(void *arg)
{
    link_server *s = arg;
    db *d = NULL;
    size_t cap = (size_t)s->cfg.batch_max;
    job **batch = calloc(cap, sizeof(*batch));
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&s->lock);
        while (!s->in.head && !s->stopping)
            pthread_cond_wait(&s->wake, &s->lock);
        while (n < cap && s->in.head)
            batch[n++] = q_pop(&s->in);
        bool stop = s->stopping && n == 0;
        pthread_mutex_unlock(&s->lock);
        if (stop || !batch)
            break;
        if (!d) {
            errinfo ei = {0};
            if (db_open(s->cfg.db_url, &d, &ei))
                log_error("ingest: cannot open the database: %s", ei.message);
            else if (db_autocheckpoint(d, WRITER_AUTOCHECKPOINT, &ei))
                log_warn("ingest: %s", ei.message);
        }
        bool ok = d && run_batch(d, batch, n);
        if (!ok && d && n > 1) {
            /* One at a time, so that one message cannot sink the others. */
            for (size_t i = 0; i < n; i++)
                batch[i]->rc = run_batch(d, &batch[i], 1) ? ERR_OK : ERR_DB;
        } else {
            for (size_t i = 0; i < n; i++)
                batch[i]->rc = ok ? ERR_OK : ERR_DB;
        }
        if (!ok && d) {
            db_close(d); /* opened again for the next batch */
            d = NULL;
        }
        for (size_t i = 0; i < n; i++)
            count_in(batch[i]);
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < n; i++)
            q_push(&s->done, batch[i]);
        pthread_mutex_unlock(&s->lock);
        if (ok)
            db_ckpt_poke(s->ckpt);
        uv_async_send(&s->done_async);
    }
    free(batch);
    db_close(d);
    return NULL;
}

/* On the loop: answer what the writer has committed. */
static void finish_job(job *j)
{
    conn *c = j->c;
    if (!c) {
        job_free(j);
        return;
    }
    c->waiting--;
    if (c->closing) {
        if (c->waiting == 0 && c->open_handles == 0)
            conn_destroy(c);
        job_free(j);
        return;
    }
    pthread_mutex_lock(&c->srv->conns_lock);
    c->messages++;
    c->last_message_at = time_now_us();
    const char *status = j->rc ? "not-stored" : j->fault ? "rejected" : j->reply.status;
    if (strcmp(status, "accepted") && strcmp(status, "duplicate"))
        c->not_accepted++;
    snprintf(c->last_status, sizeof(c->last_status), "%s", status);
    if (!j->rc && j->reply.instrument[0])
        snprintf(c->recognised, sizeof(c->recognised), "%s", j->reply.instrument);
    pthread_mutex_unlock(&c->srv->conns_lock);
    if (j->fault) {
        job_free(j);
        return;
    }
    if (j->rc) {
        /* Not stored: no reply, so that the sender sends it again. */
        conn_close(c, "the message could not be stored: closed without a reply");
        job_free(j);
        return;
    }
    if (c->proto == LINK_HL7) {
        buf framed = BUF_INIT;
        if (j->reply.out.len && !mllp_frame(j->reply.out.data, j->reply.out.len, &framed))
            conn_write(c, framed.data, framed.len);
        buf_free(&framed);
    } else {
        e1381_actions a;
        if (j->reply.out.len) {
            buf_append(&c->sendq, j->reply.out.data, j->reply.out.len);
            buf_append(&c->sendq, "", 1);
        }
        if (e1381_release(&c->e, j->reply.stored, &a))
            conn_close(c, "out of memory");
        else
            astm_carry_out(c, a);
    }
    job_free(j);
}

static void done_cb(uv_async_t *a)
{
    link_server *s = a->data;
    job_queue q;
    pthread_mutex_lock(&s->lock);
    q = s->done;
    s->done = (job_queue){0};
    pthread_mutex_unlock(&s->lock);
    job *j;
    while ((j = q_pop(&q)))
        finish_job(j);
}

/* ---- start and stop ---- */

static void close_walk(uv_handle_t *h, void *arg)
{
    link_server *s = arg;
    if (uv_is_closing(h))
        return;
    if (h->data == s) {
        uv_close(h, NULL); /* listeners, asyncs, the reconcile timer */
        return;
    }
    conn *c = h->data;
    if (c && h == &c->h.handle)
        conn_close(c, NULL); /* closes its timers too */
}

static void stop_cb(uv_async_t *a)
{
    link_server *s = a->data;
    done_cb(&s->done_async); /* answer what the writer finished first */
    uv_walk(&s->loop, close_walk, s);
}

static void *loop_main(void *arg)
{
    link_server *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static err_t listen_on(link_server *s, uv_tcp_t *t, const char *spec, const char *what, int *port,
                       errinfo *ei)
{
    char addr[128];
    int p = 0;
    struct sockaddr_storage ss;
    if (str_split_hostport(spec, addr, sizeof(addr), &p))
        return err_set(ei, ERR_USAGE, what, "--%s wants ADDR:PORT, got '%s'", what, spec);
    if (uv_ip4_addr(addr, p, (struct sockaddr_in *)&ss) &&
        uv_ip6_addr(addr, p, (struct sockaddr_in6 *)&ss))
        return err_set(ei, ERR_USAGE, what, "--%s: '%s' is not an IP address", what, addr);
    uv_tcp_init(&s->loop, t);
    t->data = s;
    int rc = uv_tcp_bind(t, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)t, 128, on_connection);
    if (rc)
        return err_set(ei, ERR_SETUP, what, "cannot listen on %s for %s: %s", spec, what,
                       uv_strerror(rc));
    int len = sizeof(ss);
    uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len);
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return ERR_OK;
}

err_t link_start(const link_config *cfg, link_server **out, errinfo *ei)
{
    link_server *s = calloc(1, sizeof(*s));
    err_t rc = ERR_OK;
    *out = NULL;
    if (!s)
        return ERR_NOMEM;
    s->cfg = *cfg;
    if (!s->cfg.max_message)
        s->cfg.max_message = MLLP_DEFAULT_MAX_MESSAGE;
    if (s->cfg.idle_s <= 0)
        s->cfg.idle_s = 600;
    if (s->cfg.stall_s <= 0)
        s->cfg.stall_s = 30;
    if (s->cfg.batch_max <= 0)
        s->cfg.batch_max = 256;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->conns_lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    /* The series a scraper watches exist from the start, at 0. */
    count_in_as("hl7", "accepted", 0);
    count_in_as("astm", "accepted", 0);
    count_in_as("hl7", "not-stored", 0);
    count_in_as("astm", "not-stored", 0);
    uv_loop_init(&s->loop);
    uv_async_init(&s->loop, &s->stop_async, stop_cb);
    uv_async_init(&s->loop, &s->done_async, done_cb);
    s->stop_async.data = s->done_async.data = s;
    if (cfg->mllp) {
        rc = listen_on(s, &s->mllp_srv, cfg->mllp, "mllp", &s->mllp_port, ei);
        s->mllp_on = rc == ERR_OK;
    }
    if (!rc && cfg->astm) {
        rc = listen_on(s, &s->astm_srv, cfg->astm, "astm", &s->astm_port, ei);
        s->astm_on = rc == ERR_OK;
    }
    if (!rc && cfg->serial) {
        rc = db_open(cfg->db_url, &s->read_db, ei);
        if (!rc) {
            uv_timer_init(&s->loop, &s->reconcile);
            s->reconcile.data = s;
            uv_timer_start(&s->reconcile, reconcile_cb, 0, RECONCILE_MS);
        }
    }
    if (!rc && cfg->outbox) {
        char node[65];
        if (cfg->node)
            snprintf(node, sizeof(node), "%s", cfg->node);
        else
            link_node_default(node, sizeof(node));
        rc = outbox_start(cfg->db_url, node, &s->outbox, ei);
    }
    if (!rc)
        rc = db_ckpt_start(cfg->db_url, "ingest", &s->ckpt, ei);
    if (!rc) {
        s->writer_started = pthread_create(&s->writer_thread, NULL, writer_main, s) == 0;
        s->loop_started = pthread_create(&s->loop_thread, NULL, loop_main, s) == 0;
        if (!s->writer_started || !s->loop_started)
            rc = err_set(ei, ERR_SETUP, NULL, "cannot start the link threads");
    }
    if (rc) {
        link_stop(s);
        return rc;
    }
    *out = s;
    return ERR_OK;
}

void link_node_default(char *out, size_t n)
{
    char host[65] = "";
    if (gethostname(host, sizeof(host) - 1) || !host[0])
        snprintf(host, sizeof(host), "node");
    host[sizeof(host) - 1] = '\0';
    snprintf(out, n, "%.50s-%ld", host, (long)getpid());
}

static json_t *conn_json(const conn *c)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:I,s:I,s:o}", "transport", c->transport, "protocol",
                     c->proto == LINK_HL7 ? "hl7" : "astm", "peer", c->peer, "instrument",
                     c->instrument[0]   ? json_string(c->instrument)
                     : c->recognised[0] ? json_string(c->recognised)
                                        : json_null(),
                     "connected_at", jsonv_time(c->connected_at), "last_message_at",
                     jsonv_time(c->last_message_at), "messages", (json_int_t)c->messages,
                     "not_accepted", (json_int_t)c->not_accepted, "last_status",
                     c->last_status[0] ? json_string(c->last_status) : json_null());
}

err_t link_connections(link_server *s, json_t **out)
{
    char node[65];
    json_t *conns = json_array();
    if (s && s->cfg.node)
        snprintf(node, sizeof(node), "%s", s->cfg.node);
    else
        link_node_default(node, sizeof(node));
    *out = NULL;
    if (!conns)
        return ERR_NOMEM;
    err_t rc = ERR_OK;
    if (s) {
        pthread_mutex_lock(&s->conns_lock);
        for (const conn *c = s->live; c && !rc; c = c->next_live)
            if (json_array_append_new(conns, conn_json(c)))
                rc = ERR_NOMEM;
        pthread_mutex_unlock(&s->conns_lock);
    }
    if (!rc)
        *out = json_pack("{s:s,s:{s:b,s:i},s:{s:b,s:i},s:o}", "node", node, "mllp", "listening",
                         s && s->mllp_on, "port", link_mllp_port(s), "astm", "listening",
                         s && s->astm_on, "port", link_astm_port(s), "connections", conns);
    else
        json_decref(conns);
    return rc ? rc : *out ? ERR_OK : ERR_NOMEM;
}

int link_mllp_port(const link_server *s)
{
    return s && s->mllp_on ? s->mllp_port : 0;
}

int link_astm_port(const link_server *s)
{
    return s && s->astm_on ? s->astm_port : 0;
}

void link_stop(link_server *s)
{
    if (!s)
        return;
    outbox_stop(s->outbox);
    /* The writer finishes what it holds; the loop answers it, then closes. */
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (s->writer_started)
        pthread_join(s->writer_thread, NULL);
    db_ckpt_stop(s->ckpt);
    if (s->loop_started) {
        uv_async_send(&s->done_async);
        uv_async_send(&s->stop_async);
        pthread_join(s->loop_thread, NULL);
    } else {
        uv_walk(&s->loop, close_walk, s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
    }
    /* Jobs the loop never took back. */
    job *j;
    while ((j = q_pop(&s->in)))
        job_free(j);
    while ((j = q_pop(&s->done)))
        job_free(j);
    uv_loop_close(&s->loop);
    db_close(s->read_db);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->conns_lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}
