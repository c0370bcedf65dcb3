/*
 * fuzz_e1381.c - libFuzzer target: the E1381 link state machine.
 *
 * Two links, A (computer system) and B (instrument), and a script read from
 * the input: bytes injected into either side, well-formed frames injected
 * (so that checksums do not stop the fuzzer at the door), what one side wrote
 * delivered to the other (or damaged on the way), timers firing, messages to
 * send, busy toggled, links reset. After every call the actions must make
 * sense: writes are single control characters or frames that pass
 * e1381_frame_check, timers are the standard durations, messages are records
 * without CR, SENT and SEND_FAILED come only for a pending message. Any
 * broken property aborts.
 *
 * Script (first byte: configuration), then per operation one byte:
 *   00-3F  inject the next (op & 3F) + 1 input bytes into A;  40-7F into B
 *   80-8F  deliver A's output to B;  90-9F  B's to A (op & 1: flip one bit of
 *          the byte the next input byte picks)
 *   A0-A7  A's timer fires;  A8-AF  B's
 *   B0-B7  A sends the next n bytes (n = next byte) as a message;  B8-BF  B
 *   C0/C1  toggle busy on A/B;  C2/C3  reset A/B;  C4-C7  A (hold_last, when
 *          configuration bit 6 is set) answers its held frame: stored = op & 1
 *   D0-DF  inject into A a good frame: number op & 7, ETX when op & 8, text
 *          the next n bytes (n = next byte);  E0-EF  into B
 *   F0-FF  deliver both ways until quiet or 64 rounds
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "proto/e1381.h"

#define WIRE_MAX 65536

typedef struct side {
    e1381 e;
    buf wire; /* written, not yet delivered */
    bool busy;
} side;

static void check(int ok)
{
    if (!ok)
        abort();
}

static void look(side *s, bool was_pending, e1381_actions a)
{
    for (size_t i = 0; i < a.n; i++) {
        const e1381_action *x = &a.v[i];
        switch (x->kind) {
        case E1381_WRITE:
            check(x->data.n > 0);
            if (x->data.n == 1) {
                unsigned char c = (unsigned char)x->data.p[0];
                check(c == E1381_ACK || c == E1381_NAK || c == E1381_ENQ || c == E1381_EOT);
            } else {
                e1381_frame_info fi;
                check(e1381_frame_check(x->data.p, x->data.n, &fi, NULL) == ERR_OK);
                check(fi.text.n >= 1 && fi.text.n <= s->e.cfg.frame_text);
            }
            if (s->wire.len + x->data.n <= WIRE_MAX)
                buf_append(&s->wire, x->data.p, x->data.n);
            break;
        case E1381_TIMER_START:
            check(x->ms == E1381_T_REPLY_MS || x->ms == E1381_T_RECEIVE_MS ||
                  x->ms == E1381_T_BUSY_MS || x->ms == E1381_T_CONTENTION_COMPUTER_MS ||
                  x->ms == E1381_T_CONTENTION_INSTRUMENT_MS);
            break;
        case E1381_TIMER_STOP:
            break;
        case E1381_MESSAGE:
            check(x->data.n > 0 && x->data.p[x->data.n - 1] == '\r');
            check(x->nrecords >= 1);
            for (size_t r = 0; r < x->nrecords; r++) {
                check(x->records[r].n > 0);
                check(!memchr(x->records[r].p, '\r', x->records[r].n));
                check(x->records[r].p >= x->data.p &&
                      x->records[r].p + x->records[r].n <= x->data.p + x->data.n);
            }
            break;
        case E1381_SENT:
        case E1381_SEND_FAILED:
            check(was_pending);
            break;
        case E1381_FAULT:
            check(x->err != ERR_OK && x->detail[0]);
            break;
        case E1381_HOLD:
            check(s->e.cfg.hold_last && i > 0 && a.v[i - 1].kind == E1381_MESSAGE);
            break;
        default:
            abort();
        }
    }
    e1381_state st = e1381_get_state(&s->e);
    if (st == E1381_ENQ_SENT || st == E1381_FRAME_SENT || st == E1381_WAITING)
        check(e1381_pending(&s->e));
}

static void inject(side *s, const char *p, size_t n)
{
    bool pending = e1381_pending(&s->e);
    e1381_actions a;
    if (e1381_feed(&s->e, p, n, &a) == ERR_OK)
        look(s, pending, a);
}

static bool deliver(side *from, side *to, int flip, size_t where)
{
    if (from->wire.len == 0)
        return false;
    buf b = from->wire;
    from->wire = (buf)BUF_INIT;
    if (flip)
        b.data[where % b.len] ^= (char)(1u << (where % 8));
    inject(to, b.data, b.len);
    buf_free(&b);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *in = (const char *)data;
    size_t i = 1;
    uint8_t c0 = data[0];
    e1381_config ca = {.role = E1381_COMPUTER,
                       .accept_text = (c0 & 1) ? 32 : 0,
                       .frame_text = (c0 & 2) ? 16 : 0,
                       .max_message = (c0 & 4) ? 256 : 0,
                       .hold_last = (c0 & 64) != 0};
    e1381_config cb = {.role = E1381_INSTRUMENT,
                       .accept_text = (c0 & 8) ? 20 : 0,
                       .frame_text = (c0 & 16) ? 7 : 0,
                       .max_message = (c0 & 32) ? 128 : 0};
    side A = {.wire = BUF_INIT}, B = {.wire = BUF_INIT};
    e1381_init(&A.e, &ca);
    e1381_init(&B.e, &cb);
    buf tmp = BUF_INIT;

    while (i < size) {
        uint8_t op = data[i++];
        if (op < 0x80) {
            side *s = op < 0x40 ? &A : &B;
            size_t n = (size_t)(op & 0x3F) + 1;
            if (n > size - i)
                n = size - i;
            inject(s, in + i, n);
            i += n;
        } else if (op < 0xA0) {
            size_t where = i < size ? data[i++] : 0;
            if (op < 0x90)
                deliver(&A, &B, op & 1, where);
            else
                deliver(&B, &A, op & 1, where);
        } else if (op < 0xB0) {
            side *s = op < 0xA8 ? &A : &B;
            bool pending = e1381_pending(&s->e);
            e1381_actions a;
            if (e1381_timeout(&s->e, &a) == ERR_OK)
                look(s, pending, a);
        } else if (op < 0xC0) {
            side *s = op < 0xB8 ? &A : &B;
            size_t n = i < size ? data[i++] : 0;
            if (n > size - i)
                n = size - i;
            bool pending = e1381_pending(&s->e);
            e1381_actions a;
            err_t rc = e1381_send(&s->e, in + i, n, &a);
            if (rc == ERR_OK) {
                check(e1381_pending(&s->e));
                look(s, pending, a);
            } else {
                check(rc == ERR_CONFLICT || rc == ERR_INVALID || rc == ERR_TOO_LARGE);
                check(e1381_pending(&s->e) == pending);
            }
            i += n;
        } else if (op < 0xD0) {
            side *s = (op & 1) ? &B : &A;
            if (op & 4) {
                bool pending = e1381_pending(&A.e);
                e1381_actions a;
                if (e1381_release(&A.e, op & 1, &a) == ERR_OK)
                    look(&A, pending, a);
                check(!e1381_holding(&A.e));
            } else if (op & 2) {
                e1381_reset(&s->e);
                check(e1381_get_state(&s->e) == E1381_IDLE && !e1381_pending(&s->e));
            } else {
                s->busy = !s->busy;
                e1381_set_busy(&s->e, s->busy);
            }
        } else if (op < 0xF0) {
            side *s = op < 0xE0 ? &A : &B;
            size_t n = i < size ? data[i++] : 0;
            if (n > size - i)
                n = size - i;
            buf t = BUF_INIT;
            for (size_t k = 0; k < n; k++) {
                char ch = in[i + k];
                if (ch != E1381_STX && ch != E1381_ETX && ch != E1381_ETB && ch != E1381_EOT &&
                    ch != E1381_ENQ)
                    buf_append(&t, &ch, 1);
            }
            buf_reset(&tmp);
            if (e1381_frame_build(&tmp, op & 7, t.data ? t.data : "", t.len, op & 8) == ERR_OK)
                inject(s, tmp.data, tmp.len);
            buf_free(&t);
            i += n;
        } else {
            for (int round = 0; round < 64; round++) {
                bool ab = deliver(&A, &B, 0, 0);
                bool ba = deliver(&B, &A, 0, 0);
                if (!ab && !ba)
                    break;
            }
        }
    }
    e1381_free(&A.e);
    e1381_free(&B.e);
    buf_free(&A.wire);
    buf_free(&B.wire);
    buf_free(&tmp);
    return 0;
}
