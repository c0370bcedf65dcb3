/*
 * e1381.c - the ASTM E1381 / CLSI LIS01-A2 low-level protocol (see e1381.h):
 * frame checksums, the link state machine, and the capture decoder.
 *
 * The state machine collects the actions of one call in e->act, with the
 * bytes they carry in e->wbuf referred to by offset (wbuf may move while it
 * grows); views are made when the call returns. Allocation failure anywhere
 * sets e->oom, after which nothing more happens and the call resets the link
 * and returns ERR_NOMEM.
 */
#include "proto/e1381.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hexdig[] = "0123456789ABCDEF";

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The two checksum characters as a number, or -1 when they are not hex. */
static int hex2(char c1, char c2)
{
    int h = hexval(c1), l = hexval(c2);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
}

unsigned e1381_checksum(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += b[i];
    return s & 0xFFu;
}

/* Bytes that must not appear in frame text because they delimit frames or
 * transmissions. */
static bool frame_breaking(unsigned char c)
{
    return c == E1381_STX || c == E1381_ETX || c == E1381_ETB || c == E1381_EOT || c == E1381_ENQ;
}

err_t e1381_frame_build(buf *out, unsigned fn, const char *text, size_t n, bool last)
{
    for (size_t i = 0; i < n; i++)
        if (frame_breaking((unsigned char)text[i]))
            return ERR_INVALID;
    size_t start = out->len;
    err_t rc = buf_reserve(out, n + 7);
    if (rc)
        return rc;
    char d = (char)('0' + fn % 8);
    char end = last ? E1381_ETX : E1381_ETB;
    unsigned sum = ((unsigned char)d + e1381_checksum(text, n) + (unsigned char)end) & 0xFFu;
    char *w = out->data + start;
    w[0] = E1381_STX;
    w[1] = d;
    if (n)
        memcpy(w + 2, text, n);
    w[2 + n] = end;
    w[3 + n] = hexdig[sum >> 4];
    w[4 + n] = hexdig[sum & 15];
    w[5 + n] = E1381_CR;
    w[6 + n] = E1381_LF;
    out->len = start + n + 7;
    out->data[out->len] = '\0';
    return ERR_OK;
}

err_t e1381_frame_check(const char *frame, size_t len, e1381_frame_info *info, errinfo *ei)
{
    e1381_frame_info tmp;
    if (!info)
        info = &tmp;
    memset(info, 0, sizeof *info);
    info->text.p = "";
    if (len == 0 || frame[0] != E1381_STX)
        return err_set(ei, ERR_INVALID, "frame", "a frame begins with STX");
    if (len < 2 || frame[1] < '0' || frame[1] > '7')
        return err_set(ei, ERR_INVALID, "frame", "no frame number (a digit 0-7) after STX");
    info->fn = (unsigned)(frame[1] - '0');
    size_t end = 2;
    while (end < len && frame[end] != E1381_ETX && frame[end] != E1381_ETB) {
        if (frame_breaking((unsigned char)frame[end]))
            return err_set(ei, ERR_INVALID, "frame", "frame %u: control character 0x%02X in text",
                           info->fn, (unsigned)(unsigned char)frame[end]);
        end++;
    }
    if (end == len)
        return err_set(ei, ERR_INVALID, "frame", "frame %u: no ETB or ETX", info->fn);
    info->last = frame[end] == E1381_ETX;
    info->text = (strv){frame + 2, end - 2};
    info->sum = e1381_checksum(frame + 1, end);
    if (len < end + 3)
        return err_set(ei, ERR_INVALID, "frame", "frame %u: checksum missing", info->fn);
    int given = hex2(frame[end + 1], frame[end + 2]);
    if (given < 0)
        return err_set(ei, ERR_INVALID, "frame", "frame %u: checksum characters are not hex",
                       info->fn);
    info->given = (unsigned)given;
    if (info->given != info->sum)
        return err_set(ei, ERR_INVALID, "frame", "frame %u: checksum %02X, computed %02X", info->fn,
                       info->given, info->sum);
    size_t rest = end + 3;
    if (rest < len && frame[rest] == E1381_CR)
        rest++;
    if (rest < len && frame[rest] == E1381_LF)
        rest++;
    if (rest != len)
        return err_set(ei, ERR_INVALID, "frame", "frame %u: bytes after CR LF", info->fn);
    return ERR_OK;
}

/* ------------------------------------------------------------------------ */
/* The state machine. */

/* Frame reader phases (e->phase), in the receiving state. */
enum {
    PH_SEEK = 0, /* between frames: waiting for STX or EOT */
    PH_TEXT,     /* after STX: FN and text until ETB/ETX */
    PH_CS1,      /* first checksum character */
    PH_CS2,      /* second checksum character */
    PH_END,      /* CR (or LF) after the checksum */
};

const char *e1381_action_name(e1381_action_kind k)
{
    switch (k) {
    case E1381_WRITE:
        return "write";
    case E1381_TIMER_START:
        return "timer_start";
    case E1381_TIMER_STOP:
        return "timer_stop";
    case E1381_MESSAGE:
        return "message";
    case E1381_SENT:
        return "sent";
    case E1381_SEND_FAILED:
        return "send_failed";
    case E1381_FAULT:
        return "fault";
    case E1381_HOLD:
        return "hold";
    }
    return "unknown";
}

static size_t clamp(size_t v, size_t dflt, size_t lo, size_t hi)
{
    if (v == 0)
        v = dflt;
    return v < lo ? lo : v > hi ? hi : v;
}

void e1381_init(e1381 *e, const e1381_config *cfg)
{
    memset(e, 0, sizeof *e);
    if (cfg)
        e->cfg = *cfg;
    if (e->cfg.role != E1381_INSTRUMENT)
        e->cfg.role = E1381_COMPUTER;
    e->cfg.max_message = clamp(e->cfg.max_message, E1381_MESSAGE_MAX, 64, (size_t)1 << 30);
    e->cfg.accept_text = clamp(e->cfg.accept_text, E1381_FRAME_TEXT_ACCEPT, 1, e->cfg.max_message);
    e->cfg.frame_text = clamp(e->cfg.frame_text, E1381_FRAME_TEXT, 1, E1381_FRAME_TEXT);
    e->state = E1381_IDLE;
    e->phase = PH_SEEK;
}

void e1381_free(e1381 *e)
{
    buf_free(&e->frame);
    buf_free(&e->rx);
    buf_free(&e->tx);
    buf_free(&e->out_frame);
    buf_free(&e->wbuf);
    free(e->act);
    free(e->spans);
    free(e->recs);
    e1381_config cfg = e->cfg;
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
}

static void rx_clear(e1381 *e)
{
    buf_reset(&e->rx);
    e->rx_done = 0;
    e->rx_sent = 0;
    e->rx_refused = 0;
    e->held = false;
    e->rx_frames = 0;
    e->have_fn = false;
    e->last_fn = 0;
    e->phase = PH_SEEK;
    buf_reset(&e->frame);
    e->flen = 0;
    e->fsum = 0;
}

void e1381_reset(e1381 *e)
{
    rx_clear(e);
    e->pending = false;
    buf_reset(&e->tx);
    buf_reset(&e->out_frame);
    e->tx_off = e->tx_n = 0;
    e->tx_fn = 0;
    e->tries = 0;
    e->state = E1381_IDLE;
    /* Large buffers from one big transmission are not kept for the next. */
    if (e->rx.cap > ((size_t)1 << 20))
        buf_free(&e->rx);
}

void e1381_set_busy(e1381 *e, bool busy)
{
    e->busy = busy;
}

e1381_state e1381_get_state(const e1381 *e)
{
    return e->state;
}

bool e1381_pending(const e1381 *e)
{
    return e->pending;
}

/* A new action of kind k, or NULL (and e->oom) when memory runs out. */
static e1381_action *push(e1381 *e, e1381_action_kind k)
{
    if (e->oom)
        return NULL;
    if (e->nact == e->capact) {
        size_t cap = e->capact ? e->capact * 2 : 16;
        e1381_action *v = realloc(e->act, cap * sizeof *v);
        if (!v) {
            e->oom = true;
            return NULL;
        }
        e->act = v;
        e->capact = cap;
    }
    e1381_action *a = &e->act[e->nact++];
    memset(a, 0, sizeof *a);
    a->kind = k;
    a->data.p = "";
    return a;
}

static void emit_write(e1381 *e, const void *p, size_t n)
{
    if (e->oom)
        return;
    size_t off = e->wbuf.len;
    if (buf_append(&e->wbuf, p, n)) {
        e->oom = true;
        return;
    }
    e1381_action *a = push(e, E1381_WRITE);
    if (a) {
        a->off_ = off;
        a->data.n = n;
    }
}

static void emit_byte(e1381 *e, unsigned char c)
{
    emit_write(e, &c, 1);
}

static void emit_timer(e1381 *e, int64_t ms)
{
    e1381_action *a = push(e, E1381_TIMER_START);
    if (a)
        a->ms = ms;
}

static void emit_timer_stop(e1381 *e)
{
    push(e, E1381_TIMER_STOP);
}

static void emit_report(e1381 *e, e1381_action_kind k, err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void emit_report(e1381 *e, e1381_action_kind k, err_t err, const char *fmt, ...)
{
    e1381_action *a = push(e, k);
    if (!a)
        return;
    a->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->detail, sizeof a->detail, fmt, ap);
    va_end(ap);
}

/* Deliver rx[rx_sent..rx_done) as a MESSAGE, split into records at CR. */
static void emit_message(e1381 *e)
{
    if (e->oom)
        return;
    size_t off = e->wbuf.len, n = e->rx_done - e->rx_sent;
    if (buf_append(&e->wbuf, e->rx.data + e->rx_sent, n)) {
        e->oom = true;
        return;
    }
    size_t first = e->nspans;
    const char *t = e->rx.data + e->rx_sent;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && t[j] != E1381_CR)
            j++;
        if (j > i) {
            if (e->nspans == e->capspans) {
                size_t cap = e->capspans ? e->capspans * 2 : 64;
                size_t *v = realloc(e->spans, cap * 2 * sizeof *v);
                if (!v) {
                    e->oom = true;
                    return;
                }
                e->spans = v;
                e->capspans = cap;
            }
            e->spans[2 * e->nspans] = off + i;
            e->spans[2 * e->nspans + 1] = j - i;
            e->nspans++;
        }
        i = j + 1;
    }
    if (e->nspans == first) {
        /* Only empty records (ETX frames without text): nothing to hand on. */
        e->wbuf.len = off;
        e->wbuf.data[off] = '\0';
        emit_report(e, E1381_FAULT, ERR_INVALID,
                    "transmission of empty records only: nothing delivered");
        return;
    }
    e1381_action *a = push(e, E1381_MESSAGE);
    if (a) {
        a->off_ = off;
        a->data.n = n;
        a->nrec_first_ = first;
        a->nrecords = e->nspans - first;
    }
}

/* Start of every public event: forget the last call's actions. */
static void begin(e1381 *e)
{
    e->nact = 0;
    e->nspans = 0;
    e->oom = false;
    buf_reset(&e->wbuf);
}

/* End of every public event: make the views, or reset after a failure. */
static err_t finish(e1381 *e, e1381_actions *out)
{
    if (!e->oom && e->nspans > e->caprecs) {
        strv *v = realloc(e->recs, e->nspans * sizeof *v);
        if (!v)
            e->oom = true;
        else {
            e->recs = v;
            e->caprecs = e->nspans;
        }
    }
    if (e->oom) {
        e1381_reset(e);
        e->nact = 0;
        e->nspans = 0;
        if (out)
            *out = (e1381_actions){NULL, 0};
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < e->nspans; i++)
        e->recs[i] = (strv){e->wbuf.data + e->spans[2 * i], e->spans[2 * i + 1]};
    for (size_t i = 0; i < e->nact; i++) {
        e1381_action *a = &e->act[i];
        if (a->kind == E1381_WRITE || a->kind == E1381_MESSAGE)
            a->data.p = e->wbuf.data + a->off_;
        if (a->kind == E1381_MESSAGE)
            a->records = e->recs + a->nrec_first_;
    }
    if (out)
        *out = (e1381_actions){e->act, e->nact};
    return ERR_OK;
}

/* ---- sender ---- */

static void bid(e1381 *e)
{
    emit_byte(e, E1381_ENQ);
    e->state = E1381_ENQ_SENT;
    emit_timer(e, E1381_T_REPLY_MS);
}

/* Drop the pending message with SEND_FAILED; the line is neutral. */
static void send_failed(e1381 *e, bool write_eot, err_t err, const char *why)
{
    if (write_eot)
        emit_byte(e, E1381_EOT);
    emit_report(e, E1381_SEND_FAILED, err, "%s", why);
    e->pending = false;
    buf_reset(&e->tx);
    e->tries = 0;
    e->state = E1381_IDLE;
    emit_timer_stop(e);
}

/* Write the frame that begins at tx_off. */
static void send_frame(e1381 *e)
{
    const char *t = e->tx.data + e->tx_off;
    size_t left = e->tx.len - e->tx_off, n = 0;
    while (n < left && t[n] != E1381_CR)
        n++;
    n++; /* the CR that ends the record: every record in tx has one */
    bool last = n <= e->cfg.frame_text;
    if (!last)
        n = e->cfg.frame_text;
    e->tx_n = n;
    buf_reset(&e->out_frame);
    if (e1381_frame_build(&e->out_frame, e->tx_fn, t, n, last)) {
        e->oom = true; /* the text was checked in e1381_send: only memory can fail */
        return;
    }
    emit_write(e, e->out_frame.data, e->out_frame.len);
    e->state = E1381_FRAME_SENT;
    emit_timer(e, E1381_T_REPLY_MS);
}

/* A reply to our ENQ. */
static void on_bid_reply(e1381 *e, unsigned char c)
{
    if (c == E1381_ACK) {
        e->tries = 0;
        e->tx_off = 0;
        e->tx_fn = 1;
        send_frame(e);
    } else if (c == E1381_NAK || c == E1381_ENQ) {
        if (++e->tries > E1381_RETRIES) {
            send_failed(e, false, ERR_IO,
                        c == E1381_NAK ? "receiver busy: bid refused (NAK) 7 times"
                                       : "contention on 7 bids in a row");
            return;
        }
        e->state = E1381_WAITING;
        if (c == E1381_NAK)
            emit_timer(e, E1381_T_BUSY_MS);
        else if (e->cfg.role == E1381_INSTRUMENT)
            emit_timer(e, E1381_T_CONTENTION_INSTRUMENT_MS);
        else
            emit_timer(e, E1381_T_CONTENTION_COMPUTER_MS);
    }
    /* "Sender will ignore all responses other than <ACK>, <NAK>, or <ENQ>." */
}

/* A reply to a frame. */
static void on_frame_reply(e1381 *e, unsigned char c)
{
    if (c == E1381_ACK || c == E1381_EOT) {
        /* EOT is a receiver interrupt: it acknowledges the frame and asks us
         * to stop; the standard lets the sender carry on, which we do so that
         * the message is not split. */
        e->tx_off += e->tx_n;
        e->tx_fn = (e->tx_fn + 1) % 8;
        e->tries = 0;
        if (e->tx_off >= e->tx.len) {
            emit_byte(e, E1381_EOT);
            push(e, E1381_SENT);
            e->pending = false;
            buf_reset(&e->tx);
            e->state = E1381_IDLE;
            emit_timer_stop(e);
        } else {
            send_frame(e);
        }
        return;
    }
    /* "Upon receiving a <NAK> or any character except <ACK> or <EOT>, the
     * sender increments a retransmit counter and retransmits the frame." */
    if (++e->tries > E1381_RETRIES) {
        char why[80];
        snprintf(why, sizeof why, "frame %u refused 7 times (sent and retransmitted 6 times)",
                 e->tx_fn);
        send_failed(e, true, ERR_IO, why);
        return;
    }
    emit_write(e, e->out_frame.data, e->out_frame.len);
    emit_timer(e, E1381_T_REPLY_MS);
}

/* ---- receiver ---- */

static void accept_enq(e1381 *e)
{
    if (e->busy) {
        emit_byte(e, E1381_NAK);
        return;
    }
    rx_clear(e);
    emit_byte(e, E1381_ACK);
    e->state = E1381_RECEIVING;
    emit_timer(e, E1381_T_RECEIVE_MS);
}

/* The line is neutral after a transmission ended or timed out: bid for the
 * pending message, if any. */
static void neutral(e1381 *e)
{
    rx_clear(e);
    e->state = E1381_IDLE;
    emit_timer_stop(e);
    if (e->pending) {
        e->tries = 0;
        bid(e);
    }
}

static void reply(e1381 *e, unsigned char c)
{
    emit_byte(e, c);
    emit_timer(e, E1381_T_RECEIVE_MS);
}

/* A whole frame has been read (up to its CR): check it and answer. */
static void judge_frame(e1381 *e)
{
    const char *f = e->frame.data ? e->frame.data : "";
    e->phase = PH_SEEK;
    if (e->flen == 0) {
        emit_report(e, E1381_FAULT, ERR_INVALID, "frame without frame number: NAK");
        reply(e, E1381_NAK);
        return;
    }
    char d = f[0];
    if (d < '0' || d > '7') {
        emit_report(e, E1381_FAULT, ERR_INVALID, "frame number 0x%02X is not a digit 0-7: NAK",
                    (unsigned)(unsigned char)d);
        reply(e, E1381_NAK);
        return;
    }
    unsigned fn = (unsigned)(d - '0');
    unsigned sum = (e->fsum + e->fterm) & 0xFFu;
    int given = hex2(e->fcs[0], e->fcs[1]);
    if (given < 0) {
        emit_report(e, E1381_FAULT, ERR_INVALID, "frame %u: checksum characters are not hex: NAK",
                    fn);
        reply(e, E1381_NAK);
        return;
    }
    if ((unsigned)given != sum) {
        emit_report(e, E1381_FAULT, ERR_INVALID, "frame %u: checksum %02X, computed %02X: NAK", fn,
                    (unsigned)given, sum);
        reply(e, E1381_NAK);
        return;
    }
    size_t tlen = e->flen - 1;
    if (tlen > e->cfg.accept_text) {
        emit_report(e, E1381_FAULT, ERR_TOO_LARGE,
                    "frame %u: %zu characters of text, more than %zu: NAK", fn, tlen,
                    e->cfg.accept_text);
        reply(e, E1381_NAK);
        return;
    }
    if (e->held && e->have_fn && fn == e->last_fn)
        return; /* the reply to it is being held: it comes with e1381_release() */
    if (e->have_fn && fn == e->last_fn) {
        /* "The frame number is not the same as the last accepted frame or
         * one number higher": the same number is the sender repeating a frame
         * whose ACK it did not get. Acknowledge, do not take it twice. */
        reply(e, E1381_ACK);
        return;
    }
    unsigned want = e->have_fn ? (e->last_fn + 1) % 8 : 1;
    if (fn != want) {
        emit_report(e, E1381_FAULT, ERR_INVALID, "frame number %u, expected %u: NAK", fn, want);
        reply(e, E1381_NAK);
        return;
    }
    if (tlen + 1 > e->cfg.max_message - e->rx.len) {
        emit_report(e, E1381_FAULT, ERR_TOO_LARGE,
                    "frame %u: the transmission would exceed %zu characters: NAK", fn,
                    e->cfg.max_message);
        reply(e, E1381_NAK);
        return;
    }
    size_t prev_len = e->rx.len, prev_done = e->rx_done;
    if (buf_append(&e->rx, f + 1, tlen)) {
        e->oom = true;
        return;
    }
    if (e->fterm == E1381_ETX) {
        /* ETX ends a record; senders that put no CR before it mean one. */
        if ((e->rx.len == 0 || e->rx.data[e->rx.len - 1] != E1381_CR) &&
            buf_append(&e->rx, "\r", 1)) {
            e->oom = true;
            return;
        }
        e->rx_done = e->rx.len;
    }
    bool prev_have = e->have_fn;
    unsigned prev_fn = e->last_fn;
    e->have_fn = true;
    e->last_fn = fn;
    e->rx_frames++;
    /* The record this ETX frame ended is the terminator (L): with hold_last
     * the message goes up now and the ACK waits until it is stored. */
    if (e->cfg.hold_last && e->fterm == E1381_ETX && prev_done < e->rx.len &&
        e->rx.data[prev_done] == 'L' && e->rx_done > e->rx_sent) {
        e->held = true;
        e->held_prev_fn = prev_have;
        e->held_last_fn = prev_fn;
        e->held_rx_len = prev_len;
        e->held_rx_done = prev_done;
        emit_message(e);
        push(e, E1381_HOLD);
        return;
    }
    reply(e, E1381_ACK);
}

err_t e1381_release(e1381 *e, bool stored, e1381_actions *out)
{
    begin(e);
    if (e->held && e->state == E1381_RECEIVING) {
        e->held = false;
        if (stored) {
            e->rx_sent = e->rx_done;
            reply(e, E1381_ACK);
        } else {
            /* Not taken: the sender repeats the L frame, which brings the
             * whole message up again. */
            e->have_fn = e->held_prev_fn;
            e->last_fn = e->held_last_fn;
            e->rx.len = e->held_rx_len;
            e->rx_done = e->held_rx_done;
            e->rx_refused = e->rx_done;
            e->rx_frames--;
            emit_report(e, E1381_FAULT, ERR_IO, "message not stored: its last frame is NAKed");
            reply(e, E1381_NAK);
        }
    }
    return finish(e, out);
}

bool e1381_holding(const e1381 *e)
{
    return e->held;
}

/* EOT: the sender ends the transmission. */
static void end_transmission(e1381 *e)
{
    if (e->held) {
        /* EOT before our reply: the sender gave up on that frame. What it
         * brought up is the caller's; nothing more to deliver. */
        e->held = false;
        e->rx_sent = e->rx_done;
    }
    if (e->rx.len > e->rx_done)
        emit_report(e, E1381_FAULT, ERR_INVALID,
                    "EOT after an intermediate (ETB) frame: %zu characters of an unfinished "
                    "record discarded",
                    e->rx.len - e->rx_done);
    if (e->cfg.hold_last && e->rx_done > e->rx_sent && e->rx_done <= e->rx_refused)
        /* the records of a message refused at its L frame: not again */
        emit_report(e, E1381_FAULT, ERR_INVALID,
                    "EOT after a refused message: its records are not delivered again");
    else if (e->rx_done > e->rx_sent)
        emit_message(e);
    e->tries = 0; /* the peer is alive: fresh bids for a pending message */
    neutral(e);
}

/* Start reading a frame (an STX was read). */
static void frame_start(e1381 *e)
{
    buf_reset(&e->frame);
    e->flen = 0;
    e->fsum = 0;
    e->phase = PH_TEXT;
}

/* Feed bytes in the receiving state; returns how many were used (all, or
 * fewer when the state changed and the rest must be read in the new one). */
static size_t feed_receiving(e1381 *e, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && e->state == E1381_RECEIVING && !e->oom) {
        unsigned char c = p[i];
        switch (e->phase) {
        case PH_SEEK:
            i++;
            if (c == E1381_STX)
                frame_start(e);
            else if (c == E1381_EOT)
                end_transmission(e);
            else if (c == E1381_ENQ && e->rx_frames == 0 && e->rx.len == 0)
                /* Our ACK to its ENQ was lost and the sender bids again. */
                reply(e, E1381_ACK);
            /* anything else between frames (the LF after a frame's CR, noise,
             * an ENQ in the middle of a transmission) means nothing here */
            break;
        case PH_TEXT: {
            size_t j = i;
            while (j < n && p[j] != E1381_ETX && p[j] != E1381_ETB && p[j] != E1381_STX &&
                   p[j] != E1381_EOT)
                j++;
            size_t run = j - i;
            if (run) {
                size_t room =
                    e->cfg.accept_text + 1 > e->flen ? e->cfg.accept_text + 1 - e->flen : 0;
                size_t keep = run < room ? run : room;
                if (keep && buf_append(&e->frame, p + i, keep)) {
                    e->oom = true;
                    break;
                }
                e->fsum += e1381_checksum(p + i, run);
                e->flen += run;
                i = j;
            }
            if (i == n)
                break;
            c = p[i];
            if (c == E1381_STX) {
                emit_report(e, E1381_FAULT, ERR_INVALID,
                            "STX inside a frame: the unfinished frame is discarded");
                i++;
                frame_start(e);
            } else if (c == E1381_EOT) {
                emit_report(e, E1381_FAULT, ERR_INVALID,
                            "EOT inside a frame: the unfinished frame is discarded");
                i++;
                end_transmission(e);
            } else {
                e->fterm = c;
                e->phase = PH_CS1;
                i++;
            }
            break;
        }
        case PH_CS1:
        case PH_CS2:
            if (c == E1381_STX || c == E1381_EOT) {
                e->phase = PH_TEXT; /* let PH_TEXT report and handle it */
                break;
            }
            e->fcs[e->phase == PH_CS1 ? 0 : 1] = (char)c;
            e->phase = e->phase == PH_CS1 ? PH_CS2 : PH_END;
            i++;
            break;
        case PH_END:
            if (c == E1381_CR || c == E1381_LF) {
                /* Judged at CR: the LF that follows is read as noise between
                 * frames, so a sender that omits it is not left waiting. */
                i++;
                judge_frame(e);
            } else {
                emit_report(e, E1381_FAULT, ERR_INVALID,
                            "frame without CR LF after its checksum: NAK");
                e->phase = PH_SEEK;
                reply(e, E1381_NAK);
                /* c is read again between frames (it may be the next STX) */
            }
            break;
        }
    }
    return i;
}

err_t e1381_feed(e1381 *e, const void *data, size_t len, e1381_actions *out)
{
    const unsigned char *p = data;
    size_t i = 0;
    begin(e);
    while (i < len && !e->oom) {
        if (e->state == E1381_RECEIVING) {
            i += feed_receiving(e, p + i, len - i);
            continue;
        }
        unsigned char c = p[i++];
        switch (e->state) {
        case E1381_IDLE:
        case E1381_WAITING:
            if (c == E1381_ENQ)
                accept_enq(e);
            else if (c == E1381_STX)
                emit_report(e, E1381_FAULT, ERR_INVALID,
                            "frame outside a transmission (no ENQ before it): ignored");
            break;
        case E1381_ENQ_SENT:
            on_bid_reply(e, c);
            break;
        case E1381_FRAME_SENT:
            on_frame_reply(e, c);
            break;
        case E1381_RECEIVING:
            break;
        }
    }
    return finish(e, out);
}

err_t e1381_timeout(e1381 *e, e1381_actions *out)
{
    begin(e);
    switch (e->state) {
    case E1381_IDLE:
        break;
    case E1381_RECEIVING:
        emit_report(e, E1381_FAULT, ERR_TIMEOUT,
                    "no frame or EOT within %d s: %zu frames (%zu characters) discarded",
                    E1381_T_RECEIVE_MS / 1000, e->rx_frames, e->rx.len);
        neutral(e);
        break;
    case E1381_ENQ_SENT:
        send_failed(e, true, ERR_TIMEOUT, "no reply to ENQ within 15 s");
        break;
    case E1381_FRAME_SENT: {
        char why[64];
        snprintf(why, sizeof why, "no reply to frame %u within 15 s", e->tx_fn);
        send_failed(e, true, ERR_TIMEOUT, why);
        break;
    }
    case E1381_WAITING:
        bid(e);
        break;
    }
    return finish(e, out);
}

/* Control characters e1381_send refuses in message text. */
static bool restricted(unsigned char c)
{
    return (c >= 0x01 && c <= 0x06) || (c >= 0x10 && c <= 0x17);
}

err_t e1381_send(e1381 *e, const char *text, size_t len, e1381_actions *out)
{
    if (out)
        *out = (e1381_actions){NULL, 0};
    if (e->pending)
        return ERR_CONFLICT;
    if (len > e->cfg.max_message)
        return ERR_TOO_LARGE;
    for (size_t i = 0; i < len; i++)
        if (restricted((unsigned char)text[i]))
            return ERR_INVALID;
    /* Each record once, ended by CR: the sender's framing relies on it. */
    buf t = BUF_INIT;
    err_t rc = buf_reserve(&t, len + 1);
    size_t i = 0;
    while (!rc && i < len) {
        size_t j = i;
        while (j < len && text[j] != '\r' && text[j] != '\n')
            j++;
        if (j > i) {
            rc = buf_append(&t, text + i, j - i);
            if (!rc)
                rc = buf_append(&t, "\r", 1);
        }
        i = j + 1;
    }
    if (!rc && t.len == 0)
        rc = ERR_INVALID;
    if (rc) {
        buf_free(&t);
        if (rc == ERR_NOMEM)
            e1381_reset(e);
        return rc;
    }
    buf_free(&e->tx);
    e->tx = t;
    e->pending = true;
    e->tries = 0;
    begin(e);
    if (e->state == E1381_IDLE)
        bid(e);
    /* RECEIVING: neutral() bids after the EOT. */
    return finish(e, out);
}

/* ------------------------------------------------------------------------ */
/* Capture decoding. */

/* A growable array of messages or frames, before they go to the arena. */
typedef struct vec {
    void *v;
    size_t n, cap, size;
} vec;

static void *vec_push(vec *x)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        void *v = realloc(x->v, cap * x->size);
        if (!v)
            return NULL;
        x->v = v;
        x->cap = cap;
    }
    void *slot = (char *)x->v + x->n++ * x->size;
    memset(slot, 0, x->size);
    return slot;
}

/* The decoder's working state. */
typedef struct cap {
    arena *a;
    vec msgs;   /* e1381_capture_msg */
    vec frames; /* e1381_capture_frame of the open message */
    buf text;   /* text of the open message */
    e1381_capture_msg cur;
    bool open;
    bool last_etx; /* the open message's last frame ended with ETX */
    err_t rc;
} cap;

/* Close the open message, if any: copy it to the arena. */
static void cap_close(cap *c)
{
    if (!c->open || c->rc)
        return;
    c->open = false;
    e1381_capture_msg *m = vec_push(&c->msgs);
    char *t = arena_strndup(c->a, c->text.data ? c->text.data : "", c->text.len);
    e1381_capture_frame *f = NULL;
    if (c->frames.n) {
        f = arena_alloc(c->a, c->frames.n * sizeof *f);
        if (f)
            memcpy(f, c->frames.v, c->frames.n * sizeof *f);
    }
    if (!m || !t || (c->frames.n && !f)) {
        c->rc = ERR_NOMEM;
        return;
    }
    *m = c->cur;
    m->text = (strv){t, c->text.len};
    m->frames = f;
    m->nframes = c->frames.n;
    c->frames.n = 0;
    buf_reset(&c->text);
}

static void cap_open(cap *c, e1381_capture_kind kind)
{
    cap_close(c);
    memset(&c->cur, 0, sizeof c->cur);
    c->cur.kind = kind;
    c->open = true;
    c->last_etx = false;
    c->frames.n = 0;
    buf_reset(&c->text);
}

static void cap_text(cap *c, const char *p, size_t n)
{
    if (!c->rc && buf_append(&c->text, p, n))
        c->rc = ERR_NOMEM;
}

static e1381_capture_frame *cap_frame(cap *c)
{
    if (c->rc)
        return NULL;
    e1381_capture_frame *f = vec_push(&c->frames);
    if (!f)
        c->rc = ERR_NOMEM;
    return f;
}

static bool is_alnum(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

/* Does text begin an H record ("H" and a delimiter)? */
static bool starts_header(const char *p, size_t n)
{
    return n >= 2 && p[0] == 'H' && !is_alnum(p[1]) && p[1] != ' ' && p[1] != '\r' && p[1] != '\n';
}

/* Bare records: lines ended by CR, LF or CR LF. */
static void cap_bare(cap *c, const char *d, size_t len)
{
    size_t i = 0;
    while (i < len && !c->rc) {
        size_t j = i;
        while (j < len && d[j] != '\r' && d[j] != '\n')
            j++;
        if (j > i) {
            if (!c->open || (c->text.len && starts_header(d + i, j - i)))
                cap_open(c, E1381_CAPTURE_BARE);
            cap_text(c, d + i, j - i);
            cap_text(c, "\r", 1);
        }
        i = j + 1;
    }
    cap_close(c);
}

/* Replace the mnemonics <STX> ... <LF> by the bytes they name, into the
 * arena. Returns NULL when memory runs out. */
static const char *unmnemonic(arena *a, const char *d, size_t len, size_t *outlen)
{
    static const struct {
        const char *name;
        char byte;
    } names[] = {{"STX", E1381_STX}, {"ETX", E1381_ETX}, {"ETB", E1381_ETB},
                 {"EOT", E1381_EOT}, {"ENQ", E1381_ENQ}, {"ACK", E1381_ACK},
                 {"NAK", E1381_NAK}, {"CR", E1381_CR},   {"LF", E1381_LF}};
    char *o = arena_alloc(a, len + 1);
    if (!o)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        bool done = false;
        if (d[i] == '<') {
            for (size_t k = 0; k < sizeof names / sizeof names[0] && !done; k++) {
                size_t nl = strlen(names[k].name);
                if (i + nl + 2 > len || d[i + nl + 1] != '>')
                    continue;
                bool eq = true;
                for (size_t m = 0; m < nl && eq; m++) {
                    char ch = d[i + 1 + m];
                    if (ch >= 'a' && ch <= 'z')
                        ch = (char)(ch - 'a' + 'A');
                    eq = ch == names[k].name[m];
                }
                if (eq) {
                    o[w++] = names[k].byte;
                    i += nl + 2;
                    done = true;
                }
            }
        }
        if (!done)
            o[w++] = d[i++];
    }
    o[w] = '\0';
    *outlen = w;
    return o;
}

static bool has_mnemonic_stx(const char *d, size_t len)
{
    for (size_t i = 0; i + 5 <= len; i++)
        if (d[i] == '<' && d[i + 4] == '>' && (d[i + 1] == 'S' || d[i + 1] == 's') &&
            (d[i + 2] == 'T' || d[i + 2] == 't') && (d[i + 3] == 'X' || d[i + 3] == 'x'))
            return true;
    return false;
}

/* A VIDAS block at d[i] (STX RS): returns the index after it, or 0 when it
 * is not one (no GS and two hex digits before the next STX). */
static size_t cap_vidas(cap *c, const char *d, size_t len, size_t i)
{
    size_t g = i + 1;
    while (g < len && d[g] != 0x1D && d[g] != E1381_STX)
        g++;
    if (g + 2 >= len || d[g] != 0x1D)
        return 0;
    int given = hex2(d[g + 1], d[g + 2]);
    if (given < 0)
        return 0;
    cap_open(c, E1381_CAPTURE_VIDAS);
    cap_text(c, d + i + 1, g - i - 1);
    e1381_capture_frame *f = cap_frame(c);
    if (f) {
        f->offset = i;
        f->fn = -1;
        f->last = true;
        f->checksummed = true;
        f->sum = e1381_checksum(d + i + 1, g - i); /* after STX through GS */
        f->given = (unsigned)given;
        f->checksum_ok = f->sum == f->given;
        f->text_len = g - i - 1;
        if (!f->checksum_ok)
            c->cur.bad_checksums++;
    }
    cap_close(c);
    return g + 3;
}

err_t e1381_capture_decode(const char *data, size_t len, arena *a, e1381_capture *out, errinfo *ei)
{
    *out = (e1381_capture){NULL, 0, 0};
    if (len > E1381_CAPTURE_MAX)
        return err_set(ei, ERR_TOO_LARGE, "capture", "capture of %zu bytes, more than %zu", len,
                       E1381_CAPTURE_MAX);
    const char *d = data ? data : "";
    if (len && !memchr(d, E1381_STX, len) && has_mnemonic_stx(d, len)) {
        d = unmnemonic(a, d, len, &len);
        if (!d)
            return err_set(ei, ERR_NOMEM, NULL, NULL);
    }
    cap c = {.a = a};
    c.msgs.size = sizeof(e1381_capture_msg);
    c.frames.size = sizeof(e1381_capture_frame);
    size_t truncated = 0;

    if (len && !memchr(d, E1381_STX, len)) {
        cap_bare(&c, d, len);
    } else {
        size_t i = 0;
        while (i < len && !c.rc) {
            char ch = d[i];
            if (ch == E1381_EOT || ch == E1381_ENQ) {
                cap_close(&c);
                i++;
                continue;
            }
            if (ch != E1381_STX) {
                i++; /* CR LF after frames, ACK/NAK of the other side, noise */
                continue;
            }
            if (i + 1 < len && d[i + 1] == 0x1E) {
                size_t next = cap_vidas(&c, d, len, i);
                if (next) {
                    i = next;
                    continue;
                }
            }
            size_t j = i + 1;
            while (j < len && d[j] != E1381_ETX && d[j] != E1381_ETB && d[j] != E1381_STX &&
                   d[j] != E1381_EOT)
                j++;
            if (j == len || d[j] == E1381_STX || d[j] == E1381_EOT) {
                truncated++;
                i = j;
                continue;
            }
            int given = j + 2 < len ? hex2(d[j + 1], d[j + 2]) : -1;
            bool framed = j > i + 1 && d[i + 1] >= '0' && d[i + 1] <= '7' && given >= 0;
            if (!framed) {
                cap_open(&c, E1381_CAPTURE_BLOCK);
                cap_text(&c, d + i + 1, j - i - 1);
                e1381_capture_frame *f = cap_frame(&c);
                if (f) {
                    f->offset = i;
                    f->fn = -1;
                    f->last = true;
                    f->text_len = j - i - 1;
                }
                cap_close(&c);
                i = j + 1;
                continue;
            }
            const char *t = d + i + 2;
            size_t tn = j - i - 2;
            bool last = d[j] == E1381_ETX;
            if (!c.open || c.cur.kind != E1381_CAPTURE_FRAMED ||
                (c.last_etx && c.text.len && starts_header(t, tn)))
                cap_open(&c, E1381_CAPTURE_FRAMED);
            e1381_capture_frame *f = cap_frame(&c);
            if (!f)
                break;
            f->offset = i;
            f->fn = d[i + 1] - '0';
            f->last = last;
            f->checksummed = true;
            f->sum = e1381_checksum(d + i + 1, j - i); /* FN through ETB/ETX */
            f->given = (unsigned)given;
            f->checksum_ok = f->sum == f->given;
            f->text_len = tn;
            if (!f->checksum_ok)
                c.cur.bad_checksums++;
            if (tn > E1381_FRAME_TEXT)
                c.cur.long_frames++;
            int want = 1;
            if (c.frames.n > 1) {
                const e1381_capture_frame *prev =
                    (const e1381_capture_frame *)c.frames.v + (c.frames.n - 2);
                want = (prev->fn + 1) % 8;
            }
            if (f->fn != want)
                c.cur.fn_breaks++;
            cap_text(&c, t, tn);
            if (last && (c.text.len == 0 || c.text.data[c.text.len - 1] != '\r'))
                cap_text(&c, "\r", 1);
            c.last_etx = last;
            c.cur.incomplete = !last;
            i = j + 3;
        }
        cap_close(&c);
    }
    err_t rc = c.rc;
    e1381_capture_msg *msgs = NULL;
    if (!rc && c.msgs.n) {
        msgs = arena_alloc(a, c.msgs.n * sizeof *msgs);
        if (!msgs)
            rc = ERR_NOMEM;
        else
            memcpy(msgs, c.msgs.v, c.msgs.n * sizeof *msgs);
    }
    size_t nmsgs = c.msgs.n;
    free(c.msgs.v);
    free(c.frames.v);
    buf_free(&c.text);
    if (rc)
        return err_set(ei, rc, NULL, NULL);
    *out = (e1381_capture){msgs, nmsgs, truncated};
    return ERR_OK;
}
