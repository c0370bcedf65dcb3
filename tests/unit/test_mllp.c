/*
 * test_mllp.c - unit tests of src/proto/mllp: one frame fed byte by byte,
 * several frames in one buffer (handed over without a copy), a stream split
 * at every position and at every pair of positions, garbage between frames,
 * a missing end block then a new start block, a 0x1C without its 0x0D,
 * oversize messages (also the 1 MiB default), the end of a stream inside a
 * frame, the framer, and the memory the decoder keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "proto/hl7.h"
#include "proto/mllp.h"

/* Every message delivered, each as "<len>:<bytes>;" so that they compare as one. */
typedef struct got {
    buf all;
    size_t count;
    const char *last_ptr; /* where the last message lay */
} got;

static void collect(void *cls, const char *msg, size_t len)
{
    got *g = cls;
    g->count++;
    g->last_ptr = msg;
    assert_int_equal(buf_printf(&g->all, "%zu:", len), ERR_OK);
    assert_int_equal(buf_append(&g->all, msg, len), ERR_OK);
    assert_int_equal(buf_append(&g->all, ";", 1), ERR_OK);
}

static const char *got_text(const got *g)
{
    return g->all.data ? g->all.data : "";
}

/* A result of feeding a whole stream: messages, statistics, problems. */
typedef struct outcome {
    got g;
    uint64_t messages, garbage, dropped;
    int errors; /* feeds that returned an error */
    err_t first;
    errinfo ei; /* of the first error */
} outcome;

static void outcome_free(outcome *o)
{
    buf_free(&o->g.all);
}

/* Feed s[0..n) in pieces ending at the cut positions (ascending, < n). */
static void feed_cut(outcome *o, size_t max, const char *s, size_t n, const size_t *cuts,
                     size_t ncuts)
{
    memset(o, 0, sizeof(*o));
    mllp_decoder dec;
    mllp_decoder_init(&dec, max);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        errinfo ei;
        err_clear(&ei);
        err_t rc = mllp_decoder_feed(&dec, s + at, end - at, collect, &o->g, &ei);
        if (rc) {
            if (!o->errors) {
                o->first = rc;
                o->ei = ei;
            }
            o->errors++;
        }
        at = end;
    }
    o->messages = dec.messages;
    o->garbage = dec.garbage_bytes;
    o->dropped = dec.dropped;
    assert_int_equal(o->messages, o->g.count);
    assert_true(dec.len <= dec.max && dec.cap <= dec.max);
    mllp_decoder_free(&dec);
}

static void feed_all(outcome *o, size_t max, const char *s, size_t n)
{
    feed_cut(o, max, s, n, NULL, 0);
}

#define SB "\x0b"
#define EB "\x1c"
#define CR "\r"

static const char oru[] = "MSH|^~\\&|LAB|FAC|EHR|HOSP|20260301081542||ORU^R01^ORU_R01|1|P|2.5.1\r"
                          "PID|1||123^^^HOSP^MR||Doe^Jane\r"
                          "OBX|1|NM|718-7^Hemoglobin^LN||13.5|g/dL|12-16|N|||F\r";

static void test_byte_by_byte(void **state)
{
    (void)state;
    buf frame = BUF_INIT;
    assert_int_equal(mllp_frame(oru, strlen(oru), &frame), ERR_OK);
    mllp_decoder dec;
    mllp_decoder_init(&dec, 0);
    got g = {BUF_INIT, 0, NULL};
    for (size_t i = 0; i < frame.len; i++) {
        assert_int_equal(mllp_decoder_feed(&dec, frame.data + i, 1, collect, &g, NULL), ERR_OK);
        assert_int_equal(g.count, i + 1 == frame.len ? 1 : 0);
    }
    char want[512];
    snprintf(want, sizeof(want), "%zu:%s;", strlen(oru), oru);
    assert_string_equal(got_text(&g), want);
    assert_int_equal(dec.messages, 1);
    assert_int_equal(dec.garbage_bytes, 0);
    assert_int_equal(dec.dropped, 0);
    /* the message came from the decoder's own buffer */
    assert_true(g.last_ptr < frame.data || g.last_ptr >= frame.data + frame.len);
    /* and parses */
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    assert_int_equal(hl7_parse(oru, strlen(oru), &a, &m, NULL), ERR_OK);
    assert_int_equal(hl7_segment_count(&m), 3);
    arena_free(&a);
    assert_int_equal(mllp_decoder_finish(&dec, NULL), ERR_OK);
    mllp_decoder_free(&dec);
    buf_free(&g.all);
    buf_free(&frame);
}

static void test_several_frames(void **state)
{
    (void)state;
    buf s = BUF_INIT;
    assert_int_equal(mllp_frame("MSH|A", 5, &s), ERR_OK);
    assert_int_equal(mllp_frame("", 0, &s), ERR_OK); /* an empty message */
    assert_int_equal(mllp_frame(oru, strlen(oru), &s), ERR_OK);
    assert_int_equal(mllp_frame("MSH|C", 5, &s), ERR_OK);
    mllp_decoder dec;
    mllp_decoder_init(&dec, 0);
    got g = {BUF_INIT, 0, NULL};
    assert_int_equal(mllp_decoder_feed(&dec, s.data, s.len, collect, &g, NULL), ERR_OK);
    char want[1024];
    snprintf(want, sizeof(want), "5:MSH|A;0:;%zu:%s;5:MSH|C;", strlen(oru), oru);
    assert_string_equal(got_text(&g), want);
    /* whole frames are handed over where they lie, without a copy */
    assert_ptr_equal(g.last_ptr, s.data + s.len - 7);
    assert_null(dec.data);
    assert_int_equal(dec.messages, 4);
    /* CR and LF between frames are not garbage */
    buf_reset(&s);
    assert_int_equal(buf_puts(&s, SB "A" EB CR "\n" SB "B" EB CR "\r\n\n" SB "C" EB CR "\n"),
                     ERR_OK);
    buf_reset(&g.all);
    g.count = 0;
    assert_int_equal(mllp_decoder_feed(&dec, s.data, s.len, collect, &g, NULL), ERR_OK);
    assert_string_equal(got_text(&g), "1:A;1:B;1:C;");
    assert_int_equal(dec.garbage_bytes, 0);
    mllp_decoder_free(&dec);
    buf_free(&g.all);
    buf_free(&s);
}

/* Feeding in two or three pieces, cut anywhere, changes nothing. */
static void check_every_split(const char *s, size_t n, size_t max)
{
    outcome whole;
    feed_all(&whole, max, s, n);
    for (size_t i = 0; i <= n; i++) {
        outcome o;
        size_t cut[1] = {i};
        feed_cut(&o, max, s, n, cut, 1);
        if (strcmp(got_text(&o.g), got_text(&whole.g)) != 0)
            fail_msg("cut at %zu: got %s, want %s", i, got_text(&o.g), got_text(&whole.g));
        assert_int_equal(o.messages, whole.messages);
        assert_int_equal(o.garbage, whole.garbage);
        assert_int_equal(o.dropped, whole.dropped);
        assert_int_equal(o.first, whole.first);
        outcome_free(&o);
        for (size_t j = i; j <= n; j++) {
            size_t cuts[2] = {i, j};
            feed_cut(&o, max, s, n, cuts, 2);
            if (strcmp(got_text(&o.g), got_text(&whole.g)) != 0)
                fail_msg("cuts at %zu, %zu: got %s, want %s", i, j, got_text(&o.g),
                         got_text(&whole.g));
            assert_int_equal(o.garbage, whole.garbage);
            assert_int_equal(o.dropped, whole.dropped);
            outcome_free(&o);
        }
    }
    /* and byte by byte */
    size_t *cuts = malloc((n + 1) * sizeof(size_t));
    assert_non_null(cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    outcome o;
    feed_cut(&o, max, s, n, cuts, n ? n - 1 : 0);
    assert_string_equal(got_text(&o.g), got_text(&whole.g));
    assert_int_equal(o.garbage, whole.garbage);
    assert_int_equal(o.dropped, whole.dropped);
    /* a run of bad bytes is reported once however it is split */
    assert_int_equal(o.errors > 0, whole.errors > 0);
    outcome_free(&o);
    free(cuts);
    outcome_free(&whole);
}

static void test_every_split(void **state)
{
    (void)state;
    const char clean[] = SB "MSH|^~\\&|A|B\rPID|1\r" EB CR SB "MSH|C" EB CR;
    check_every_split(clean, sizeof(clean) - 1, 0);
    outcome o;
    feed_all(&o, 0, clean, sizeof(clean) - 1);
    assert_string_equal(got_text(&o.g), "19:MSH|^~\\&|A|B\rPID|1\r;5:MSH|C;");
    assert_int_equal(o.errors, 0);
    outcome_free(&o);

    /* garbage, a cut-short frame, an end block without CR, an oversize frame */
    const char messy[] = "xy" SB "AB" SB "MSH|1" EB CR "zz" SB "Q" EB "R" SB "MSH|2" EB CR "\n" SB
                         "0123456789ABCDEFG" EB CR SB "MSH|3" EB CR;
    check_every_split(messy, sizeof(messy) - 1, 16);
    feed_all(&o, 16, messy, sizeof(messy) - 1);
    assert_string_equal(got_text(&o.g), "5:MSH|1;5:MSH|2;5:MSH|3;");
    assert_int_equal(o.garbage, 4 + 1); /* "xy", "zz", then the "R" after the broken end */
    assert_int_equal(o.dropped, 3);
    assert_int_equal(o.first, ERR_INVALID);
    outcome_free(&o);
}

static void test_garbage(void **state)
{
    (void)state;
    const char s[] = "HELLO" SB "MSH|1" EB CR "junk\x00\xff" SB "MSH|2" EB CR "tail";
    outcome o;
    feed_all(&o, 0, s, sizeof(s) - 1);
    assert_string_equal(got_text(&o.g), "5:MSH|1;5:MSH|2;");
    assert_int_equal(o.first, ERR_INVALID);
    assert_int_equal(o.ei.code, ERR_INVALID);
    assert_string_equal(o.ei.message, "MLLP stream byte 0: bytes outside a frame (expected the "
                                      "start block 0x0B); skipped");
    assert_int_equal(o.ei.column, 1);
    assert_int_equal(o.garbage, 5 + 6 + 4);
    assert_int_equal(o.dropped, 0);
    outcome_free(&o);

    /* fed one piece per run: each run reported once, with its offset */
    mllp_decoder dec;
    mllp_decoder_init(&dec, 0);
    got g = {BUF_INIT, 0, NULL};
    errinfo ei;
    assert_int_equal(mllp_decoder_feed(&dec, s, 5, collect, &g, &ei), ERR_INVALID);
    assert_int_equal(mllp_decoder_feed(&dec, s + 5, 8, collect, &g, &ei), ERR_OK);
    assert_int_equal(mllp_decoder_feed(&dec, s + 13, 3, collect, &g, &ei), ERR_INVALID);
    assert_string_equal(ei.message, "MLLP stream byte 13: bytes outside a frame (expected the "
                                    "start block 0x0B); skipped");
    assert_int_equal(mllp_decoder_feed(&dec, s + 16, 3, collect, &g, &ei), ERR_OK);
    assert_int_equal(mllp_decoder_feed(&dec, s + 19, sizeof(s) - 1 - 19, collect, &g, &ei),
                     ERR_INVALID);
    assert_string_equal(got_text(&g), "5:MSH|1;5:MSH|2;");
    mllp_decoder_free(&dec);
    buf_free(&g.all);
}

static void test_missing_end_block(void **state)
{
    (void)state;
    const char s[] = SB "MSH|lost, the sender restarted" SB "MSH|2" EB CR SB "MSH|3" EB CR;
    outcome o;
    feed_all(&o, 0, s, sizeof(s) - 1);
    assert_string_equal(got_text(&o.g), "5:MSH|2;5:MSH|3;");
    assert_int_equal(o.first, ERR_INVALID);
    assert_string_equal(o.ei.message, "MLLP stream byte 0: frame cut short by a new start block "
                                      "before its end block 0x1C 0x0D; discarded");
    assert_int_equal(o.dropped, 1);
    assert_int_equal(o.garbage, 0);
    outcome_free(&o);
    check_every_split(s, sizeof(s) - 1, 0);
}

static void test_end_without_cr(void **state)
{
    (void)state;
    /* 0x1C then something else: the frame is discarded, the next one kept */
    const char s[] = SB "MSH|1" EB "X more" SB "MSH|2" EB CR SB "MSH|3" EB SB "MSH|4" EB CR;
    outcome o;
    feed_all(&o, 0, s, sizeof(s) - 1);
    assert_string_equal(got_text(&o.g), "5:MSH|2;5:MSH|4;");
    assert_int_equal(o.first, ERR_INVALID);
    assert_string_equal(o.ei.message,
                        "MLLP stream byte 6: end block 0x1C not followed by 0x0D; frame discarded");
    assert_int_equal(o.dropped, 2);
    assert_int_equal(o.garbage, 6); /* "X more", reported with the broken end */
    assert_int_equal(o.errors, 1);
    outcome_free(&o);
    check_every_split(s, sizeof(s) - 1, 0);
}

static void test_oversize(void **state)
{
    (void)state;
    /* exactly the limit passes; one more byte does not */
    const char s[] = SB "0123456789ABCDEF" EB CR SB "0123456789ABCDEFG" EB CR SB "MSH|ok" EB CR;
    outcome o;
    feed_all(&o, 16, s, sizeof(s) - 1);
    assert_string_equal(got_text(&o.g), "16:0123456789ABCDEF;6:MSH|ok;");
    assert_int_equal(o.first, ERR_TOO_LARGE);
    assert_string_equal(o.ei.message,
                        "MLLP stream byte 19: message over the size limit; discarded");
    assert_int_equal(o.dropped, 1);
    outcome_free(&o);
    check_every_split(s, sizeof(s) - 1, 16);

    /* an oversize frame that never ends until a new start block */
    const char t[] = SB "0123456789ABCDEFGHIJ" SB "MSH|ok" EB CR;
    feed_all(&o, 16, t, sizeof(t) - 1);
    assert_string_equal(got_text(&o.g), "6:MSH|ok;");
    assert_int_equal(o.dropped, 1);
    outcome_free(&o);

    /* the default limit: 1 MiB */
    mllp_decoder dec;
    mllp_decoder_init(&dec, 0);
    assert_int_equal(dec.max, MLLP_DEFAULT_MAX_MESSAGE);
    assert_int_equal(MLLP_DEFAULT_MAX_MESSAGE, 1024 * 1024);
    size_t big = MLLP_DEFAULT_MAX_MESSAGE;
    char *msg = malloc(big + 1);
    assert_non_null(msg);
    memset(msg, 'x', big + 1);
    got g = {BUF_INIT, 0, NULL};
    for (int extra = 0; extra <= 1; extra++) {
        size_t len = big + (size_t)extra;
        assert_int_equal(mllp_decoder_feed(&dec, SB, 1, collect, &g, NULL), ERR_OK);
        err_t last = ERR_OK;
        for (size_t at = 0; at < len; at += 4000) { /* in pieces: through the buffer */
            size_t piece = len - at < 4000 ? len - at : 4000;
            err_t rc = mllp_decoder_feed(&dec, msg + at, piece, collect, &g, NULL);
            if (rc)
                last = rc;
            assert_true(dec.cap <= MLLP_DEFAULT_MAX_MESSAGE);
        }
        assert_int_equal(mllp_decoder_feed(&dec, EB CR, 2, collect, &g, NULL), ERR_OK);
        assert_int_equal(last, extra ? ERR_TOO_LARGE : ERR_OK);
        assert_int_equal(g.count, 1);
    }
    assert_int_equal(dec.dropped, 1);
    /* a big buffer is not kept once its frame is delivered */
    assert_null(dec.data);
    assert_int_equal(dec.cap, 0);
    mllp_decoder_free(&dec);
    buf_free(&g.all);
    free(msg);
}

static void test_finish(void **state)
{
    (void)state;
    mllp_decoder dec;
    mllp_decoder_init(&dec, 0);
    got g = {BUF_INIT, 0, NULL};
    errinfo ei;
    assert_int_equal(mllp_decoder_feed(&dec, "\n" SB "MSH|half", 10, collect, &g, &ei), ERR_OK);
    assert_int_equal(mllp_decoder_finish(&dec, &ei), ERR_INVALID);
    assert_string_equal(ei.message, "MLLP stream byte 1: stream ended inside a frame; discarded");
    assert_int_equal(dec.dropped, 1);
    /* ready for a new stream */
    assert_int_equal(mllp_decoder_feed(&dec, SB "MSH|1" EB CR, 8, collect, &g, &ei), ERR_OK);
    assert_int_equal(mllp_decoder_finish(&dec, &ei), ERR_OK);
    /* an end block waiting for its CR is inside the frame too */
    assert_int_equal(mllp_decoder_feed(&dec, SB "MSH|2" EB, 7, collect, &g, &ei), ERR_OK);
    assert_int_equal(mllp_decoder_finish(&dec, NULL), ERR_INVALID);
    assert_string_equal(got_text(&g), "5:MSH|1;");
    mllp_decoder_free(&dec);
    mllp_decoder_free(&dec); /* twice is harmless */
    buf_free(&g.all);
}

static void test_frame(void **state)
{
    (void)state;
    buf out = BUF_INIT;
    assert_int_equal(buf_puts(&out, "keep"), ERR_OK);
    assert_int_equal(mllp_frame("MSH|x", 5, &out), ERR_OK);
    assert_int_equal(out.len, 4 + 8);
    assert_memory_equal(out.data, "keep\x0bMSH|x\x1c\r", 12);
    assert_int_equal(mllp_frame("a\x0b", 2, &out), ERR_INVALID);
    assert_int_equal(mllp_frame("a\x1c\rb", 4, &out), ERR_INVALID);
    assert_int_equal(out.len, 12); /* unchanged */
    buf_free(&out);

    /* the writer's output, escaped text and all, frames and comes back */
    buf msg = BUF_INIT, framed = BUF_INIT;
    hl7_writer w;
    hl7_writer_init(&w, &msg);
    hl7_writer_segment(&w, "MSH");
    hl7_writer_field(&w, "LAB");
    hl7_writer_segment(&w, "NTE");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, "text with \x0b and \x1c\r inside");
    assert_int_equal(hl7_writer_end(&w), ERR_OK);
    assert_int_equal(mllp_frame(msg.data, msg.len, &framed), ERR_OK);
    outcome o;
    feed_all(&o, 0, framed.data, framed.len);
    assert_int_equal(o.messages, 1);
    char want[256];
    snprintf(want, sizeof(want), "%zu:%s;", msg.len, msg.data);
    assert_string_equal(got_text(&o.g), want);
    outcome_free(&o);
    buf_free(&msg);
    buf_free(&framed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_several_frames),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_missing_end_block),
        cmocka_unit_test(test_end_without_cr),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
