/*
 * test_e1381.c - unit tests of src/proto/e1381: checksums of known frames,
 * the capture decoder over every sample in tests/data/astm, and the link
 * state machine as receiver (normal transfer, bad checksum then
 * retransmission, wrong frame number, duplicate frame, ETB continuation,
 * timeout between frames, EOT in the middle of a message, busy) and as sender
 * (normal, six retransmissions then abort, contention, busy receiver,
 * timeouts), and two machines talking over a lossy wire.
 *
 * Actions are checked as a trace string: "write <ACK>; timer 30000" and so
 * on, control characters shown by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/astm.h"
#include "proto/e1381.h"
#include "testdata.h"

/* ---- helpers ---- */

/* tests/data/astm/<name>, found from the repository root (how tests/run.py
 * runs), the build directory (meson test) or BENCHSIDE_TEST_DATA. */
/* tests/data/astm/<name> (testdata.h says where it is looked for). */
static const char *data_path(const char *name)
{
    static char path[1024];
    const char *p = testdata_path("astm", name, path, sizeof(path));
    if (!p)
        fail_msg("sample %s not found (run from the repository root or set BENCHSIDE_TEST_DATA)",
                 name);
    return p;
}

/* The whole file, NUL-terminated; caller frees. */
static char *slurp(const char *name, size_t *len)
{
    FILE *f = fopen(data_path(name), "rb");
    assert_non_null(f);
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), ERR_OK);
    fclose(f);
    *len = b.len;
    if (!b.data)
        buf_append(&b, "", 0);
    return buf_take(&b);
}

/* Bytes with the control characters named: "<STX>1H|...<CR><ETX>E5<CR><LF>". */
static void show(buf *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL;
        switch ((unsigned char)p[i]) {
        case E1381_STX:
            name = "<STX>";
            break;
        case E1381_ETX:
            name = "<ETX>";
            break;
        case E1381_EOT:
            name = "<EOT>";
            break;
        case E1381_ENQ:
            name = "<ENQ>";
            break;
        case E1381_ACK:
            name = "<ACK>";
            break;
        case E1381_NAK:
            name = "<NAK>";
            break;
        case E1381_ETB:
            name = "<ETB>";
            break;
        case E1381_CR:
            name = "<CR>";
            break;
        case E1381_LF:
            name = "<LF>";
            break;
        }
        if (name)
            buf_puts(out, name);
        else
            buf_append(out, p + i, 1);
    }
}

/* One-line trace of a call's actions. */
static const char *trace(e1381_actions a)
{
    static buf b = BUF_INIT;
    buf_reset(&b);
    buf_puts(&b, "");
    for (size_t i = 0; i < a.n; i++) {
        const e1381_action *x = &a.v[i];
        if (i)
            buf_puts(&b, "; ");
        buf_puts(&b, e1381_action_name(x->kind));
        switch (x->kind) {
        case E1381_WRITE:
            buf_puts(&b, " ");
            show(&b, x->data.p, x->data.n);
            break;
        case E1381_TIMER_START:
            buf_printf(&b, " %lld", (long long)x->ms);
            break;
        case E1381_MESSAGE:
            buf_printf(&b, " %zu", x->nrecords);
            break;
        case E1381_SEND_FAILED:
        case E1381_FAULT:
            buf_printf(&b, " %s", err_name(x->err));
            break;
        default:
            break;
        }
    }
    return b.data;
}

/* The first action of kind k, or NULL. */
static const e1381_action *find(e1381_actions a, e1381_action_kind k)
{
    for (size_t i = 0; i < a.n; i++)
        if (a.v[i].kind == k)
            return &a.v[i];
    return NULL;
}

static const char *feed(e1381 *e, const char *s, size_t n, e1381_actions *a)
{
    e1381_actions tmp;
    if (!a)
        a = &tmp;
    assert_int_equal(e1381_feed(e, s, n, a), ERR_OK);
    return trace(*a);
}

static const char *feeds(e1381 *e, const char *s, e1381_actions *a)
{
    return feed(e, s, strlen(s), a);
}

static const char *tick(e1381 *e, e1381_actions *a)
{
    e1381_actions tmp;
    if (!a)
        a = &tmp;
    assert_int_equal(e1381_timeout(e, a), ERR_OK);
    return trace(*a);
}

/* A frame as the wire carries it, in a static buffer (one at a time). */
static const char *frame(unsigned fn, const char *text, bool last, size_t *n)
{
    static buf b = BUF_INIT;
    buf_reset(&b);
    assert_int_equal(e1381_frame_build(&b, fn, text, strlen(text), last), ERR_OK);
    *n = b.len;
    return b.data;
}

static const char *feed_frame(e1381 *e, unsigned fn, const char *text, bool last, e1381_actions *a)
{
    size_t n;
    const char *f = frame(fn, text, last, &n);
    return feed(e, f, n, a);
}

#define ACK_T30 "write <ACK>; timer_start 30000"
#define NAK_T30 "write <NAK>; timer_start 30000"

/* ---- checksums and frames ---- */

static void test_checksum_known_frames(void **state)
{
    (void)state;
    /* From the captures: frame 1 of cobas_c111 ends "<CR><ETB>C6", frame 7 of
     * pentra_xlr (R|10|) ends "<CR><ETX>0A", the last of dca_vantage "43". */
    const char c111[] = "1H|\\^&|||SENAITE^Roche^c111^4.2.2.1730^1^13147|||||host|RSUPL^REAL|P|"
                        "1|20230803131713\r\x17";
    assert_int_equal(e1381_checksum(c111, sizeof c111 - 1), 0xC6);
    const char pentra[] = "7R|10|^^^BAS#^704-7^1|-----|1||HH||X||NNE NNEMT||20220727121550\r\x03";
    assert_int_equal(e1381_checksum(pentra, sizeof pentra - 1), 0x0A);
    assert_int_equal(e1381_checksum("", 0), 0);
    assert_int_equal(e1381_checksum("\xff\xff", 2), 0xFE);

    buf b = BUF_INIT;
    assert_int_equal(e1381_frame_build(&b, 1, "H|\\^&\r", 6, true), ERR_OK);
    assert_memory_equal(b.data,
                        "\x02"
                        "1H|\\^&\r\x03"
                        "E5\r\n",
                        b.len);
    assert_int_equal(b.len, 13);
    buf_reset(&b);
    assert_int_equal(e1381_frame_build(&b, 10, "L|1|N\r", 6, true), ERR_OK); /* 10 % 8 = 2 */
    assert_memory_equal(b.data,
                        "\x02"
                        "2L|1|N\r\x03"
                        "05\r\n",
                        b.len);
    buf_reset(&b);
    assert_int_equal(e1381_frame_build(&b, 1,
                                       "a\x03"
                                       "b",
                                       3, true),
                     ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_free(&b);

    e1381_frame_info fi;
    errinfo ei;
    const char ok[] = "\x02"
                      "7R|10|^^^BAS#^704-7^1|-----|1||HH||X||NNE NNEMT||20220727121550\r"
                      "\x03"
                      "0A\r\n";
    assert_int_equal(e1381_frame_check(ok, sizeof ok - 1, &fi, &ei), ERR_OK);
    assert_int_equal(fi.fn, 7);
    assert_true(fi.last);
    assert_int_equal(fi.sum, 0x0A);
    assert_int_equal(fi.text.n, sizeof ok - 1 - 2 - 5);
    /* lower-case hex is read; LF alone, or nothing, after the checksum too */
    assert_int_equal(e1381_frame_check("\x02"
                                       "1H|\\^&\r\x03"
                                       "e5\r\n",
                                       13, &fi, NULL),
                     ERR_OK);
    assert_int_equal(e1381_frame_check("\x02"
                                       "1H|\\^&\r\x03"
                                       "E5",
                                       11, &fi, NULL),
                     ERR_OK);
    assert_int_equal(e1381_frame_check("\x02"
                                       "1H|\\^&\r\x03"
                                       "E4\r\n",
                                       13, &fi, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.message, "frame 1: checksum E4, computed E5");
    assert_int_equal(e1381_frame_check("\x02"
                                       "8H\x03"
                                       "00\r\n",
                                       8, &fi, &ei),
                     ERR_INVALID);
    assert_int_equal(e1381_frame_check("\x02"
                                       "1H\r\n",
                                       5, &fi, &ei),
                     ERR_INVALID);
    assert_int_equal(e1381_frame_check("\x02"
                                       "1H|\\^&\r\x03"
                                       "E5\r\nX",
                                       14, &fi, &ei),
                     ERR_INVALID);
    assert_int_equal(e1381_frame_check("\x02"
                                       "1H|\\^&\r\x03"
                                       "G5\r\n",
                                       13, &fi, &ei),
                     ERR_INVALID);
}

/* Every frame of the framed captures passes e1381_frame_check. */
static void test_sample_frames_check(void **state)
{
    (void)state;
    const char *files[] = {"abbott_afinion2.txt", "cobas_c111.txt",      "cobas_c311.txt",
                           "dca_vantage.txt",     "genexpert.txt",       "pentra_xlr.txt",
                           "sysmex_xn550.txt",    "sysmex_xp100.txt",    "yumizen_h500.txt",
                           "mini_vidas_mock.txt", "spotchem_el_mock.txt"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        size_t len;
        char *d = slurp(files[k], &len);
        size_t frames = 0;
        for (size_t i = 0; i < len; i++) {
            if (d[i] != E1381_STX)
                continue;
            size_t j = i + 1;
            while (j < len && d[j] != E1381_ETX && d[j] != E1381_ETB)
                j++;
            size_t end = j + 3;
            while (end < len && (d[end] == '\r' || d[end] == '\n') && end < j + 5)
                end++;
            errinfo ei;
            err_clear(&ei);
            assert_int_equal(e1381_frame_check(d + i, end - i, NULL, &ei), ERR_OK);
            frames++;
            i = end - 1;
        }
        assert_true(frames > 0);
        free(d);
    }
}

/* ---- the capture decoder over every sample ---- */

typedef struct expect {
    const char *file;
    e1381_capture_kind kind;
    size_t frames, long_frames, fn_breaks;
    char first, last; /* record types of the decoded E1394 message; 0 for non-ASTM */
    size_t records;
} expect;

static void test_capture_every_sample(void **state)
{
    (void)state;
    static const expect ex[] = {
        {"abbott_afinion2.txt", E1381_CAPTURE_FRAMED, 1, 0, 0, 'H', 'L', 5},
        {"cobas_c111.txt", E1381_CAPTURE_FRAMED, 7, 0, 0, 'H', 'L', 7},
        {"cobas_c311.txt", E1381_CAPTURE_FRAMED, 1, 1, 0, 'H', 'L', 18},
        {"dca_vantage.txt", E1381_CAPTURE_FRAMED, 1, 1, 0, 'H', 'L', 9},
        {"genexpert.txt", E1381_CAPTURE_FRAMED, 1, 1, 0, 'H', 'L', 91},
        {"mini_vidas.txt", E1381_CAPTURE_VIDAS, 1, 0, 0, 0, 0, 0},
        {"mini_vidas_mock.txt", E1381_CAPTURE_FRAMED, 5, 0, 0, 'H', 'L', 5},
        {"pentra_xlr.txt", E1381_CAPTURE_FRAMED, 28, 0, 0, 'H', 'L', 28},
        {"spotchem_el.txt", E1381_CAPTURE_BLOCK, 1, 0, 0, 0, 0, 0},
        {"spotchem_el_mock.txt", E1381_CAPTURE_FRAMED, 6, 0, 0, 'H', 'L', 6},
        {"sysmex_xn550.txt", E1381_CAPTURE_FRAMED, 1, 1, 0, 'H', 'L', 48},
        {"sysmex_xp100.txt", E1381_CAPTURE_FRAMED, 1, 1, 0, 'H', 'L', 24},
        {"yumizen_h500.txt", E1381_CAPTURE_FRAMED, 31, 3, 4, 'H', 'L', 31},
    };
    for (size_t k = 0; k < sizeof ex / sizeof ex[0]; k++) {
        size_t len;
        char *d = slurp(ex[k].file, &len);
        arena a;
        arena_init(&a, 0);
        e1381_capture cap;
        errinfo ei;
        assert_int_equal(e1381_capture_decode(d, len, &a, &cap, &ei), ERR_OK);
        assert_int_equal(cap.nmsgs, 1);
        assert_int_equal(cap.truncated, 0);
        const e1381_capture_msg *m = &cap.msgs[0];
        if (m->kind != ex[k].kind || m->nframes != ex[k].frames ||
            m->long_frames != ex[k].long_frames || m->fn_breaks != ex[k].fn_breaks)
            fail_msg("%s: kind %d frames %zu long %zu breaks %zu", ex[k].file, m->kind, m->nframes,
                     m->long_frames, m->fn_breaks);
        /* No sample has a wrong checksum: the report the brief asks for. */
        assert_int_equal(m->bad_checksums, 0);
        for (size_t f = 0; f < m->nframes; f++)
            assert_true(!m->frames[f].checksummed || m->frames[f].checksum_ok);
        assert_false(m->incomplete);
        if (ex[k].first) {
            astm_message msg;
            assert_int_equal(astm_parse_message(m->text.p, m->text.n, &a, &msg, &ei), ERR_OK);
            if (msg.nrecords != ex[k].records)
                fail_msg("%s: %zu records", ex[k].file, msg.nrecords);
            assert_int_equal(msg.records[0].type, ex[k].first);
            assert_int_equal(msg.records[msg.nrecords - 1].type, ex[k].last);
            assert_true(msg.has_header);
            /* the text is records each ended by CR, nothing else */
            assert_int_equal(m->text.p[m->text.n - 1], '\r');
            assert_null(memchr(m->text.p, '\n', m->text.n));
        }
        arena_free(&a);
        free(d);
    }
}

static void test_capture_vidas_and_block(void **state)
{
    (void)state;
    size_t len;
    arena a;
    arena_init(&a, 0);
    e1381_capture cap;

    char *d = slurp("mini_vidas.txt", &len);
    assert_int_equal(e1381_capture_decode(d, len, &a, &cap, NULL), ERR_OK);
    const e1381_capture_msg *m = &cap.msgs[0];
    assert_int_equal(m->frames[0].sum, 0xB0); /* sent as "b0" */
    assert_true(m->frames[0].checksum_ok);
    assert_int_equal(m->text.p[0], 0x1E);
    assert_non_null(memmem(m->text.p, m->text.n,
                           "\x1e"
                           "ciZ1G021SCR|",
                           12));
    assert_non_null(memmem(m->text.p, m->text.n,
                           "\x1e"
                           "qlPositif|",
                           10));
    assert_int_equal(m->text.p[m->text.n - 1], '|'); /* up to, not including, GS */
    free(d);

    d = slurp("spotchem_el.txt", &len);
    assert_int_equal(e1381_capture_decode(d, len, &a, &cap, NULL), ERR_OK);
    m = &cap.msgs[0];
    assert_false(m->frames[0].checksummed);
    assert_int_equal(strncmp(m->text.p, "24/10/29 13:08 ID# 1DC042FP   [B. Plasma] Na", 44), 0);
    assert_int_equal(m->text.n, len - 3); /* STX ... ETX LF */
    free(d);
    arena_free(&a);
}

static void test_capture_tolerance(void **state)
{
    (void)state;
    arena a;
    arena_init(&a, 0);
    e1381_capture cap;

    /* Bare records, LF or CR LF, two messages split at the second H. */
    const char bare[] = "H|\\^&\nP|1\r\nR|1|^^^GLU|5.5\n\nL|1|N\nH|\\^&\nL|1\n";
    assert_int_equal(e1381_capture_decode(bare, sizeof bare - 1, &a, &cap, NULL), ERR_OK);
    assert_int_equal(cap.nmsgs, 2);
    assert_int_equal(cap.msgs[0].kind, E1381_CAPTURE_BARE);
    assert_int_equal(cap.msgs[0].text.n, strlen("H|\\^&\rP|1\rR|1|^^^GLU|5.5\rL|1|N\r"));
    assert_memory_equal(cap.msgs[0].text.p, "H|\\^&\rP|1\rR|1|^^^GLU|5.5\rL|1|N\r",
                        cap.msgs[0].text.n);
    assert_memory_equal(cap.msgs[1].text.p, "H|\\^&\rL|1\r", 10);

    /* Mnemonics as manuals print them, with log line breaks; a wrong checksum
     * is kept and counted; ENQ/EOT delimit transmissions. */
    const char mn[] = "<ENQ>\n<STX>1H|\\^&<CR><ETX>E5<CR><LF>\n<stx>2L|1|N<cr><etx>FF<CR><LF>\n"
                      "<EOT>\n<ENQ><STX>1H|\\^&<CR><ETB>E5<CR><LF><EOT>";
    assert_int_equal(e1381_capture_decode(mn, sizeof mn - 1, &a, &cap, NULL), ERR_OK);
    assert_int_equal(cap.nmsgs, 2);
    assert_int_equal(cap.msgs[0].kind, E1381_CAPTURE_FRAMED);
    assert_int_equal(cap.msgs[0].nframes, 2);
    assert_int_equal(cap.msgs[0].bad_checksums, 1);
    assert_true(cap.msgs[0].frames[0].checksum_ok);
    assert_false(cap.msgs[0].frames[1].checksum_ok);
    assert_int_equal(cap.msgs[0].frames[1].sum, 0x05);
    assert_int_equal(cap.msgs[0].frames[1].given, 0xFF);
    assert_memory_equal(cap.msgs[0].text.p, "H|\\^&\rL|1|N\r", 12);
    assert_true(cap.msgs[1].incomplete);            /* ended by an ETB frame */
    assert_int_equal(cap.msgs[1].bad_checksums, 1); /* E5 was for ETX, not ETB */

    /* Two transmissions back to back without ENQ/EOT: split at the H; a frame
     * cut off by the next STX is counted; frame numbers out of order too. */
    buf b = BUF_INIT;
    assert_int_equal(e1381_frame_build(&b, 1, "H|\\^&\r", 6, true), ERR_OK);
    assert_int_equal(e1381_frame_build(&b, 2, "L|1|N\r", 6, true), ERR_OK);
    buf_append(&b,
               "\x02"
               "3R|1|cut",
               9);
    assert_int_equal(e1381_frame_build(&b, 1, "H|\\^&\r", 6, true), ERR_OK);
    assert_int_equal(e1381_frame_build(&b, 3, "L|1|N", 5, true), ERR_OK); /* no CR: added */
    assert_int_equal(e1381_capture_decode(b.data, b.len, &a, &cap, NULL), ERR_OK);
    assert_int_equal(cap.nmsgs, 2);
    assert_int_equal(cap.truncated, 1);
    assert_int_equal(cap.msgs[1].fn_breaks, 1);
    assert_memory_equal(cap.msgs[1].text.p, "H|\\^&\rL|1|N\r", 12);
    buf_free(&b);

    /* Nothing at all, and too much. */
    assert_int_equal(e1381_capture_decode("", 0, &a, &cap, NULL), ERR_OK);
    assert_int_equal(cap.nmsgs, 0);
    assert_int_equal(e1381_capture_decode("x", E1381_CAPTURE_MAX + 1, &a, &cap, NULL),
                     ERR_TOO_LARGE);
    arena_free(&a);
}

/* ---- receiver ---- */

static void test_receive_normal(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    assert_int_equal(e1381_get_state(&e), E1381_RECEIVING);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&|||Analyzer\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 2, "P|1\rO|1|S-1||^^^GLU\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 3, "R|1|^^^GLU|5.5|mmol/L\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 4, "L|1|N\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", &a), "message 5; timer_stop");
    const e1381_action *m = find(a, E1381_MESSAGE);
    assert_int_equal(m->nrecords, 5);
    const char text[] = "H|\\^&|||Analyzer\rP|1\rO|1|S-1||^^^GLU\rR|1|^^^GLU|5.5|mmol/L\rL|1|N\r";
    assert_int_equal(m->data.n, sizeof text - 1);
    assert_memory_equal(m->data.p, text, m->data.n);
    assert_true(strv_eq(m->records[0], "H|\\^&|||Analyzer"));
    assert_true(strv_eq(m->records[3], "R|1|^^^GLU|5.5|mmol/L"));
    assert_true(strv_eq(m->records[4], "L|1|N"));
    assert_int_equal(e1381_get_state(&e), E1381_IDLE);
    /* The message parses as E1394. */
    arena ar;
    arena_init(&ar, 0);
    astm_message msg;
    assert_int_equal(astm_parse_message(m->data.p, m->data.n, &ar, &msg, NULL), ERR_OK);
    assert_int_equal(msg.nrecords, 5);
    assert_true(strv_eq(astm_field(&msg.records[3], 4), "5.5"));
    arena_free(&ar);
    /* A byte at a time gives the same. */
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    size_t n;
    const char *f = frame(1, "H|\\^&\r", true, &n);
    char copy[64];
    memcpy(copy, f, n);
    for (size_t i = 0; i + 1 < n - 1; i++) /* all but CR LF: nothing happens */
        assert_string_equal(feed(&e, copy + i, 1, NULL), "");
    assert_string_equal(feed(&e, copy + n - 2, 1, NULL), ACK_T30); /* judged at CR */
    assert_string_equal(feed(&e, copy + n - 1, 1, NULL), "");      /* LF: nothing */
    assert_string_equal(feeds(&e, "\x04", NULL), "message 1; timer_stop");
    e1381_free(&e);
}

/* hold_last: each message goes up at its L frame, whose ACK waits for
 * e1381_release(); refused, the frame is NAKed and brings the message again. */
static void test_receive_hold_last(void **state)
{
    (void)state;
    e1381 e;
    e1381_config cfg = {.hold_last = true};
    e1381_init(&e, &cfg);
    e1381_actions a;
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&|||Analyzer\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 2, "R|1|^^^GLU|5.5\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 3, "L|1|N\r", true, &a), "message 3; hold");
    assert_true(e1381_holding(&e));
    const e1381_action *m = find(a, E1381_MESSAGE);
    assert_true(strv_eq(m->records[0], "H|\\^&|||Analyzer"));
    assert_true(strv_eq(m->records[2], "L|1|N"));
    /* The sender repeats the frame while we hold: no answer yet. */
    assert_string_equal(feed_frame(&e, 3, "L|1|N\r", true, NULL), "");
    /* Not stored: NAK; the repeat brings the whole message up again. */
    assert_int_equal(e1381_release(&e, false, &a), ERR_OK);
    assert_string_equal(trace(a), "fault io_error; " NAK_T30);
    assert_false(e1381_holding(&e));
    assert_string_equal(feed_frame(&e, 3, "L|1|N\r", true, &a), "message 3; hold");
    assert_int_equal(e1381_release(&e, true, &a), ERR_OK);
    assert_string_equal(trace(a), ACK_T30);
    /* A second message in the same transmission, then EOT: nothing again. */
    assert_string_equal(feed_frame(&e, 4, "H|\\^&\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 5, "L|1|N\r", true, &a), "message 2; hold");
    assert_int_equal(e1381_release(&e, true, &a), ERR_OK);
    assert_string_equal(trace(a), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", NULL), "timer_stop");
    /* Released after the line was reset: nothing to do. */
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 1, "L|1\r", true, NULL), "message 1; hold");
    e1381_reset(&e);
    assert_int_equal(e1381_release(&e, true, &a), ERR_OK);
    assert_int_equal(a.n, 0);
    /* Refused, and the sender gives up: its records do not come up again at EOT. */
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 2, "L|1\r", true, NULL), "message 2; hold");
    assert_int_equal(e1381_release(&e, false, &a), ERR_OK);
    assert_string_equal(feeds(&e, "\x04", NULL), "fault invalid; timer_stop");
    /* A transmission without L: delivered at EOT as before. */
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", NULL), "message 1; timer_stop");
    e1381_free(&e);
}

static void test_receive_bad_checksum_then_retransmission(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    feeds(&e, "\x05", NULL);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), ACK_T30);
    size_t n;
    const char *f = frame(2, "R|1|^^^GLU|5.5\r", true, &n);
    char bad[64];
    memcpy(bad, f, n);
    assert_int_equal(bad[15], '5');
    bad[15] = '6'; /* a bit flipped on the line: 5.5 -> 5.6 */
    assert_string_equal(feed(&e, bad, n, &a), "fault invalid; " NAK_T30);
    assert_string_equal(find(a, E1381_FAULT)->detail, "frame 2: checksum D3, computed D4: NAK");
    assert_string_equal(feed_frame(&e, 2, "R|1|^^^GLU|5.5\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 3, "C|1\r", true, NULL), ACK_T30);
    /* a checksum that is not hex, and a frame without CR LF */
    f = frame(4, "L|1|N\r", true, &n);
    memcpy(bad, f, n);
    bad[n - 4] = 'G';
    assert_string_equal(feed(&e, bad, n, &a), "fault invalid; " NAK_T30);
    assert_string_equal(find(a, E1381_FAULT)->detail,
                        "frame 4: checksum characters are not hex: NAK");
    memcpy(bad, f, n);
    bad[n - 2] = 'x';
    assert_string_equal(feed(&e, bad, n, &a), "fault invalid; " NAK_T30);
    assert_string_equal(find(a, E1381_FAULT)->detail,
                        "frame without CR LF after its checksum: NAK");
    assert_string_equal(feed_frame(&e, 4, "L|1|N\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", &a), "message 4; timer_stop");
    const char want[] = "H|\\^&\rR|1|^^^GLU|5.5\rC|1\rL|1|N\r";
    assert_int_equal(find(a, E1381_MESSAGE)->data.n, sizeof want - 1);
    assert_memory_equal(find(a, E1381_MESSAGE)->data.p, want, sizeof want - 1);
    e1381_free(&e);
}

static void test_receive_wrong_frame_number(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    feeds(&e, "\x05", NULL);
    /* the first frame must be 1 */
    assert_string_equal(feed_frame(&e, 2, "H|\\^&\r", true, &a), "fault invalid; " NAK_T30);
    assert_string_equal(find(a, E1381_FAULT)->detail, "frame number 2, expected 1: NAK");
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 3, "P|1\r", true, &a), "fault invalid; " NAK_T30);
    assert_string_equal(find(a, E1381_FAULT)->detail, "frame number 3, expected 2: NAK");
    /* not a digit 0-7 (the checksum is right for it) */
    size_t n;
    const char *f = frame(1, "P|1\r", true, &n);
    char bad[32];
    memcpy(bad, f, n);
    bad[1] = '9'; /* with a checksum that is right for it */
    unsigned sum = e1381_checksum(bad + 1, n - 5);
    bad[n - 4] = "0123456789ABCDEF"[sum >> 4];
    bad[n - 3] = "0123456789ABCDEF"[sum & 15];
    assert_string_equal(feed(&e, bad, n, &a), "fault invalid; " NAK_T30);
    assert_string_equal(feed_frame(&e, 2, "P|1\r", true, NULL), ACK_T30);
    /* frame numbers wrap: 3 4 5 6 7 0 1 */
    for (unsigned fn = 3; fn <= 9; fn++)
        assert_string_equal(feed_frame(&e, fn, "C|1\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", &a), "message 9; timer_stop");
    e1381_free(&e);
}

static void test_receive_duplicate_frame(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    feeds(&e, "\x05", NULL);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 2, "R|1|^^^K|4.1\r", true, NULL), ACK_T30);
    /* our ACK was lost: the sender repeats frame 2; ACKed, not taken twice */
    assert_string_equal(feed_frame(&e, 2, "R|1|^^^K|4.1\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 3, "L|1|N\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", &a), "message 3; timer_stop");
    assert_memory_equal(find(a, E1381_MESSAGE)->data.p, "H|\\^&\rR|1|^^^K|4.1\rL|1|N\r", 25);
    /* an ENQ repeated before any frame (our ACK to it was lost) is ACKed again */
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x05", NULL), ""); /* later: ignored */
    e1381_free(&e);
}

static void test_receive_etb_continuation(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    char rec[701];
    memcpy(rec, "M|1|IMAGE|", 10);
    for (size_t i = 10; i < 699; i++)
        rec[i] = (char)('A' + i % 26);
    rec[699] = '\r';
    rec[700] = '\0';
    feeds(&e, "\x05", NULL);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), ACK_T30);
    char part[241];
    /* 700 characters: 240 + 240 ETB, 220 ETX */
    for (unsigned k = 0; k < 3; k++) {
        size_t len = k < 2 ? 240 : 220;
        memcpy(part, rec + 240 * k, len);
        part[len] = '\0';
        assert_string_equal(feed_frame(&e, 2 + k, part, k == 2, NULL), ACK_T30);
    }
    assert_string_equal(feed_frame(&e, 5, "L|1|N\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", &a), "message 3; timer_stop");
    const e1381_action *m = find(a, E1381_MESSAGE);
    assert_int_equal(m->records[1].n, 699);
    assert_memory_equal(m->records[1].p, rec, 699);
    e1381_free(&e);
}

static void test_receive_timeout_between_frames(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    feeds(&e, "\x05", NULL);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 2, "P|1\r", true, NULL), ACK_T30);
    /* 30 s without a frame or EOT: discarded, nothing delivered */
    assert_string_equal(tick(&e, &a), "fault timeout; timer_stop");
    assert_string_equal(find(a, E1381_FAULT)->detail,
                        "no frame or EOT within 30 s: 2 frames (10 characters) discarded");
    assert_int_equal(e1381_get_state(&e), E1381_IDLE);
    /* a late EOT means nothing; the next transmission starts afresh */
    assert_string_equal(feeds(&e, "\x04", NULL), "");
    assert_string_equal(tick(&e, NULL), ""); /* no timer in the neutral state */
    feeds(&e, "\x05", NULL);
    assert_string_equal(feed_frame(&e, 1, "L|1|N\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", &a), "message 1; timer_stop");
    assert_memory_equal(find(a, E1381_MESSAGE)->data.p, "L|1|N\r", 6);
    /* timeout before any frame */
    feeds(&e, "\x05", NULL);
    assert_string_equal(tick(&e, NULL), "fault timeout; timer_stop");
    e1381_free(&e);
}

static void test_receive_eot_mid_message(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    feeds(&e, "\x05", NULL);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\rP|1\r", true, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 2, "R|1|^^^GLU|5.", false, NULL), ACK_T30);
    /* the sender gives up after an intermediate frame: the complete records
     * are delivered, the unfinished one is discarded and reported */
    assert_string_equal(feeds(&e, "\x04", &a), "fault invalid; message 2; timer_stop");
    assert_string_equal(find(a, E1381_FAULT)->detail,
                        "EOT after an intermediate (ETB) frame: 13 characters of an unfinished "
                        "record discarded");
    assert_memory_equal(find(a, E1381_MESSAGE)->data.p, "H|\\^&\rP|1\r", 10);
    /* EOT inside a frame, and nothing complete at all */
    feeds(&e, "\x05", NULL);
    assert_string_equal(feeds(&e,
                              "\x02"
                              "1H|\\^&\r\x04",
                              &a),
                        "fault invalid; timer_stop");
    assert_int_equal(e1381_get_state(&e), E1381_IDLE);
    /* STX inside a frame: the new frame replaces the broken one */
    feeds(&e, "\x05", NULL);
    size_t n;
    const char *f = frame(1, "H|\\^&\r", true, &n);
    char buf2[64] = "\x02"
                    "1H|\\^";
    memcpy(buf2 + 6, f, n);
    assert_string_equal(feed(&e, buf2, 6 + n, NULL), "fault invalid; " ACK_T30);
    assert_string_equal(feeds(&e, "\x04", NULL), "message 1; timer_stop");
    e1381_free(&e);
}

static void test_receive_busy_and_limits(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    e1381_set_busy(&e, true);
    assert_string_equal(feeds(&e, "\x05", NULL), "write <NAK>");
    assert_int_equal(e1381_get_state(&e), E1381_IDLE);
    e1381_set_busy(&e, false);
    /* a frame without ENQ is reported and ignored */
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\r", true, NULL), "fault invalid");
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    /* 247 characters of text are accepted, 248 are not */
    char t[300];
    memset(t, 'x', sizeof t);
    t[0] = 'C';
    t[1] = '|';
    t[246] = '\r';
    t[247] = '\0';
    assert_string_equal(feed_frame(&e, 1, t, true, NULL), ACK_T30);
    t[246] = 'x';
    t[247] = '\r';
    t[248] = '\0';
    assert_string_equal(feed_frame(&e, 2, t, true, &a), "fault too_large; " NAK_T30);
    assert_string_equal(find(a, E1381_FAULT)->detail,
                        "frame 2: 248 characters of text, more than 247: NAK");
    e1381_free(&e);

    /* instruments that ignore the limit: accept_text raised; and the cap on a
     * whole transmission */
    e1381_config cfg = {.accept_text = 5000, .max_message = 600};
    e1381_init(&e, &cfg);
    feeds(&e, "\x05", NULL);
    memset(t, 'y', 299);
    t[299] = '\0';
    assert_string_equal(feed_frame(&e, 1, t, false, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 2, t, false, NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 3, t, true, NULL), "fault too_large; " NAK_T30);
    e1381_free(&e);
}

/* Every framed capture replayed into a receiver gives the text the capture
 * decoder gives (yumizen_h500's out-of-order frame numbers are NAKed). */
static void test_receive_samples(void **state)
{
    (void)state;
    const char *files[] = {"abbott_afinion2.txt", "cobas_c111.txt",   "cobas_c311.txt",
                           "dca_vantage.txt",     "genexpert.txt",    "pentra_xlr.txt",
                           "sysmex_xn550.txt",    "sysmex_xp100.txt", "mini_vidas_mock.txt",
                           "spotchem_el_mock.txt"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        size_t len;
        char *d = slurp(files[k], &len);
        e1381_config cfg = {.accept_text = 65536};
        e1381 e;
        e1381_init(&e, &cfg);
        e1381_actions a;
        feeds(&e, "\x05", NULL);
        feed(&e, d, len, &a);
        for (size_t i = 0; i < a.n; i++)
            if (a.v[i].kind == E1381_WRITE && a.v[i].data.p[0] != E1381_ACK)
                fail_msg("%s: %s", files[k], trace(a));
        feeds(&e, "\x04", &a);
        const e1381_action *m = find(a, E1381_MESSAGE);
        assert_non_null(m);
        assert_int_equal(a.v[a.n - 1].kind, E1381_TIMER_STOP);
        arena ar;
        arena_init(&ar, 0);
        e1381_capture cap;
        assert_int_equal(e1381_capture_decode(d, len, &ar, &cap, NULL), ERR_OK);
        assert_int_equal(m->data.n, cap.msgs[0].text.n);
        assert_memory_equal(m->data.p, cap.msgs[0].text.p, m->data.n);
        arena_free(&ar);
        e1381_free(&e);
        free(d);
    }
}

/* ---- sender ---- */

static void test_send_normal(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    assert_int_equal(e1381_send(&e, "H|\\^&\nL|1|N", 11, &a), ERR_OK);
    assert_string_equal(trace(a), "write <ENQ>; timer_start 15000");
    assert_true(e1381_pending(&e));
    assert_int_equal(e1381_send(&e, "L|1", 3, &a), ERR_CONFLICT);
    assert_string_equal(feeds(&e, "\x06", NULL),
                        "write <STX>1H|\\^&<CR><ETX>E5<CR><LF>; timer_start 15000");
    assert_string_equal(feeds(&e, "\x06", NULL),
                        "write <STX>2L|1|N<CR><ETX>05<CR><LF>; timer_start 15000");
    assert_string_equal(feeds(&e, "\x06", NULL), "write <EOT>; sent; timer_stop");
    assert_false(e1381_pending(&e));
    assert_int_equal(e1381_get_state(&e), E1381_IDLE);
    /* EOT (receiver interrupt) is taken as ACK */
    assert_int_equal(e1381_send(&e, "H|\\^&\rL|1|N\r", 12, &a), ERR_OK);
    feeds(&e, "\x06", NULL);
    assert_string_equal(feeds(&e, "\x04", NULL),
                        "write <STX>2L|1|N<CR><ETX>05<CR><LF>; timer_start 15000");
    assert_string_equal(feeds(&e, "\x06", NULL), "write <EOT>; sent; timer_stop");
    /* refused texts */
    assert_int_equal(e1381_send(&e, "\r\n\r", 3, &a), ERR_INVALID);
    assert_int_equal(e1381_send(&e, "H|\\^&\x02", 6, &a), ERR_INVALID);
    assert_int_equal(e1381_send(&e, "H|\\^&\x17", 6, &a), ERR_INVALID);
    assert_false(e1381_pending(&e));
    e1381_free(&e);
}

static void test_send_long_record_and_numbering(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    /* one record of 500 characters, then nine short ones: frames 1-3 carry
     * 240 + 240 (ETB) + 21 (ETX, with the CR), then 4 5 6 7 0 1 2 3 4 */
    buf t = BUF_INIT;
    for (int i = 0; i < 500; i++)
        buf_append(&t, i == 0 ? "C" : "z", 1);
    buf_puts(&t, "\r");
    for (int i = 0; i < 9; i++)
        buf_printf(&t, "C|%d\r", i + 1);
    assert_int_equal(e1381_send(&e, t.data, t.len, &a), ERR_OK);
    buf rx = BUF_INIT;
    const char *want_fn = "123456701234";
    e1381_actions r;
    feeds(&e, "\x06", &r);
    for (size_t k = 0; k < 12; k++) {
        const e1381_action *w = find(r, E1381_WRITE);
        e1381_frame_info fi;
        assert_int_equal(e1381_frame_check(w->data.p, w->data.n, &fi, NULL), ERR_OK);
        assert_int_equal(fi.fn, (unsigned)(want_fn[k] - '0'));
        assert_int_equal(fi.last, k >= 2);
        assert_true(fi.text.n <= 240);
        buf_append(&rx, fi.text.p, fi.text.n);
        feeds(&e, "\x06", &r);
    }
    assert_string_equal(trace(r), "write <EOT>; sent; timer_stop");
    assert_int_equal(rx.len, t.len);
    assert_memory_equal(rx.data, t.data, t.len);
    buf_free(&rx);
    buf_free(&t);

    /* frame_text configured smaller */
    e1381_free(&e);
    e1381_config cfg = {.frame_text = 4};
    e1381_init(&e, &cfg);
    assert_int_equal(e1381_send(&e, "L|1|N", 5, &a), ERR_OK);
    assert_string_equal(feeds(&e, "\x06", NULL),
                        "write <STX>1L|1|<ETB>BD<CR><LF>; timer_start 15000");
    assert_string_equal(feeds(&e, "\x06", NULL),
                        "write <STX>2N<CR><ETX>90<CR><LF>; timer_start 15000");
    e1381_free(&e);
}

static void test_send_nak_six_times_aborts(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    assert_int_equal(e1381_send(&e, "H|\\^&\rL|1|N\r", 12, &a), ERR_OK);
    const char *f1 = "write <STX>1H|\\^&<CR><ETX>E5<CR><LF>; timer_start 15000";
    assert_string_equal(feeds(&e, "\x06", NULL), f1);
    /* NAKed: retransmitted six times, the same frame with the same number */
    for (int i = 0; i < 6; i++)
        assert_string_equal(feeds(&e, "\x15", NULL), f1);
    /* the sixth retransmission NAKed too: abort */
    assert_string_equal(feeds(&e, "\x15", &a), "write <EOT>; send_failed io_error; timer_stop");
    assert_string_equal(find(a, E1381_SEND_FAILED)->detail,
                        "frame 1 refused 7 times (sent and retransmitted 6 times)");
    assert_false(e1381_pending(&e));
    /* a NAK then an ACK: the count starts again for the next frame; any
     * other byte counts as NAK */
    assert_int_equal(e1381_send(&e, "H|\\^&\rL|1|N\r", 12, &a), ERR_OK);
    feeds(&e, "\x06", NULL);
    assert_string_equal(feeds(&e, "?", NULL), f1);
    assert_string_equal(feeds(&e, "\x06", NULL),
                        "write <STX>2L|1|N<CR><ETX>05<CR><LF>; timer_start 15000");
    for (int i = 0; i < 6; i++)
        feeds(&e, "\x15", NULL);
    assert_string_equal(feeds(&e, "\x06", NULL), "write <EOT>; sent; timer_stop");
    /* no reply to a frame within 15 s */
    assert_int_equal(e1381_send(&e, "L|1|N\r", 6, &a), ERR_OK);
    feeds(&e, "\x06", NULL);
    assert_string_equal(tick(&e, &a), "write <EOT>; send_failed timeout; timer_stop");
    assert_string_equal(find(a, E1381_SEND_FAILED)->detail, "no reply to frame 1 within 15 s");
    /* no reply to ENQ within 15 s */
    assert_int_equal(e1381_send(&e, "L|1|N\r", 6, &a), ERR_OK);
    assert_string_equal(tick(&e, &a), "write <EOT>; send_failed timeout; timer_stop");
    e1381_free(&e);
}

static void test_send_busy_receiver(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    assert_int_equal(e1381_send(&e, "L|1|N\r", 6, &a), ERR_OK);
    /* NAK to ENQ: wait 10 s, bid again; replies other than ACK NAK ENQ ignored */
    assert_string_equal(feeds(&e, "x\x04", NULL), "");
    for (int i = 0; i < 6; i++) {
        assert_string_equal(feeds(&e, "\x15", NULL), "timer_start 10000");
        assert_int_equal(e1381_get_state(&e), E1381_WAITING);
        assert_string_equal(tick(&e, NULL), "write <ENQ>; timer_start 15000");
    }
    assert_string_equal(feeds(&e, "\x15", &a), "send_failed io_error; timer_stop");
    assert_string_equal(find(a, E1381_SEND_FAILED)->detail,
                        "receiver busy: bid refused (NAK) 7 times");
    e1381_free(&e);
}

static void test_send_contention(void **state)
{
    (void)state;
    /* As computer system: yield, receive the instrument's message, bid after. */
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    assert_int_equal(e1381_send(&e, "H|\\^&\rL|1|N\r", 12, &a), ERR_OK);
    assert_string_equal(feeds(&e, "\x05", NULL), "timer_start 20000");
    assert_int_equal(e1381_get_state(&e), E1381_WAITING);
    /* the instrument bids again after 1 s: we answer and receive */
    assert_string_equal(feeds(&e, "\x05", NULL), ACK_T30);
    assert_string_equal(feed_frame(&e, 1, "H|\\^&\rR|1|^^^NA|140\rL|1|N\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", &a),
                        "message 3; timer_stop; write <ENQ>; timer_start 15000");
    assert_string_equal(feeds(&e, "\x06", NULL),
                        "write <STX>1H|\\^&<CR><ETX>E5<CR><LF>; timer_start 15000");
    feeds(&e, "\x06", NULL);
    assert_string_equal(feeds(&e, "\x06", NULL), "write <EOT>; sent; timer_stop");
    /* contention and then no ENQ within 20 s: bid again */
    assert_int_equal(e1381_send(&e, "L|1|N\r", 6, &a), ERR_OK);
    assert_string_equal(feeds(&e, "\x05", NULL), "timer_start 20000");
    assert_string_equal(tick(&e, NULL), "write <ENQ>; timer_start 15000");
    assert_string_equal(feeds(&e, "\x06", NULL),
                        "write <STX>1L|1|N<CR><ETX>04<CR><LF>; timer_start 15000");
    feeds(&e, "\x06", NULL);
    /* a message handed over while receiving waits for the EOT */
    feeds(&e, "\x05", NULL);
    assert_int_equal(e1381_send(&e, "L|1|N\r", 6, &a), ERR_OK);
    assert_string_equal(trace(a), "");
    assert_string_equal(feed_frame(&e, 1, "L|1|N\r", true, NULL), ACK_T30);
    assert_string_equal(feeds(&e, "\x04", NULL),
                        "message 1; timer_stop; write <ENQ>; timer_start 15000");
    /* ... or for the 30 s timeout */
    e1381_reset(&e);
    feeds(&e, "\x05", NULL);
    assert_int_equal(e1381_send(&e, "L|1|N\r", 6, &a), ERR_OK);
    assert_string_equal(tick(&e, NULL),
                        "fault timeout; timer_stop; write <ENQ>; timer_start 15000");
    e1381_free(&e);

    /* As instrument: keep priority, bid again after 1 s. */
    e1381_config cfg = {.role = E1381_INSTRUMENT};
    e1381_init(&e, &cfg);
    assert_int_equal(e1381_send(&e, "L|1|N\r", 6, &a), ERR_OK);
    assert_string_equal(feeds(&e, "\x05", NULL), "timer_start 1000");
    assert_string_equal(tick(&e, NULL), "write <ENQ>; timer_start 15000");
    assert_string_equal(feeds(&e, "\x06", NULL),
                        "write <STX>1L|1|N<CR><ETX>04<CR><LF>; timer_start 15000");
    e1381_free(&e);
}

/* ---- two machines over a wire that loses and corrupts bytes ---- */

typedef struct side {
    e1381 e;
    buf wire;      /* bytes on their way to the other side */
    int64_t timer; /* ms until it fires, -1 when stopped */
    buf got;       /* messages received, concatenated */
    int sent, failed, faults;
} side;

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void carry_out(side *s, e1381_actions a)
{
    for (size_t i = 0; i < a.n; i++) {
        const e1381_action *x = &a.v[i];
        switch (x->kind) {
        case E1381_WRITE:
            buf_append(&s->wire, x->data.p, x->data.n);
            break;
        case E1381_TIMER_START:
            s->timer = x->ms;
            break;
        case E1381_TIMER_STOP:
            s->timer = -1;
            break;
        case E1381_MESSAGE:
            buf_append(&s->got, x->data.p, x->data.n);
            break;
        case E1381_SENT:
            s->sent++;
            break;
        case E1381_SEND_FAILED:
            s->failed++;
            break;
        case E1381_FAULT:
            s->faults++;
            break;
        case E1381_HOLD:
            fail_msg("no hold without hold_last");
            break;
        }
    }
}

/* Move what one side wrote to the other, damaging one byte in `every`. */
static bool deliver(side *from, side *to, uint32_t *seed, uint32_t every)
{
    if (from->wire.len == 0)
        return false;
    buf b = BUF_INIT;
    buf_append(&b, from->wire.data, from->wire.len);
    buf_reset(&from->wire);
    for (size_t i = 0; i < b.len; i++)
        if (every && lcg(seed) % every == 0)
            b.data[i] ^= 0x20;
    e1381_actions a;
    assert_int_equal(e1381_feed(&to->e, b.data, b.len, &a), ERR_OK);
    carry_out(to, a);
    buf_free(&b);
    return true;
}

/* Run until both sides are quiet; timers fire when nothing else happens. */
static void run(side *lis, side *ins, uint32_t *seed, uint32_t every)
{
    for (int step = 0; step < 100000; step++) {
        bool to_ins = deliver(lis, ins, seed, every);
        bool to_lis = deliver(ins, lis, seed, every);
        if (to_ins || to_lis)
            continue;
        side *next = NULL;
        if (lis->timer >= 0 && (ins->timer < 0 || lis->timer <= ins->timer))
            next = lis;
        else if (ins->timer >= 0)
            next = ins;
        if (!next)
            return;
        side *other = next == lis ? ins : lis;
        if (other->timer >= 0)
            other->timer -= next->timer;
        next->timer = -1;
        e1381_actions a;
        assert_int_equal(e1381_timeout(&next->e, &a), ERR_OK);
        carry_out(next, a);
    }
    fail_msg("the link never went quiet");
}

static void test_loopback(void **state)
{
    (void)state;
    size_t len;
    char *d = slurp("sysmex_xn550.txt", &len);
    arena ar;
    arena_init(&ar, 0);
    e1381_capture cap;
    assert_int_equal(e1381_capture_decode(d, len, &ar, &cap, NULL), ERR_OK);
    strv text = cap.msgs[0].text; /* 2,607 characters, records up to 520 */
    int recovered = 0;

    for (uint32_t every = 0; every <= 400; every += 100) {
        side lis = {.timer = -1}, ins = {.timer = -1};
        e1381_init(&lis.e, NULL);
        e1381_config icfg = {.role = E1381_INSTRUMENT};
        e1381_init(&ins.e, &icfg);
        uint32_t seed = 12345u + every;
        /* both bid at once: contention, the instrument wins */
        e1381_actions a;
        assert_int_equal(e1381_send(&ins.e, text.p, text.n, &a), ERR_OK);
        carry_out(&ins, a);
        assert_int_equal(e1381_send(&lis.e, "H|\\^&\rQ|1|^S-9||^^^ALL\rL|1|N\r", 29, &a), ERR_OK);
        carry_out(&lis, a);
        run(&lis, &ins, &seed, every == 0 ? 0 : 1000 - every);
        if (every == 0) {
            /* a clean wire: both messages arrive once, exactly */
            assert_int_equal(ins.sent, 1);
            assert_int_equal(lis.sent, 1);
            assert_int_equal(lis.got.len, text.n);
            assert_memory_equal(lis.got.data, text.p, text.n);
            assert_memory_equal(ins.got.data, "H|\\^&\rQ|1|^S-9||^^^ALL\rL|1|N\r", 29);
        } else {
            /* damage: whatever arrives arrives whole and in order; every
             * send ends in SENT or SEND_FAILED */
            assert_int_equal(ins.sent + ins.failed, 1);
            assert_int_equal(lis.sent + lis.failed, 1);
            if (ins.sent && lis.got.len == text.n)
                assert_memory_equal(lis.got.data, text.p, text.n);
            recovered += lis.faults + ins.faults;
        }
        assert_false(e1381_pending(&lis.e));
        assert_false(e1381_pending(&ins.e));
        e1381_free(&lis.e);
        e1381_free(&ins.e);
        buf_free(&lis.wire);
        buf_free(&ins.wire);
        buf_free(&lis.got);
        buf_free(&ins.got);
    }
    assert_true(recovered > 0); /* the damage was noticed (NAKs, timeouts) */
    arena_free(&ar);
    free(d);
}

static void test_reset_and_names(void **state)
{
    (void)state;
    e1381 e;
    e1381_init(&e, NULL);
    e1381_actions a;
    feeds(&e, "\x05", NULL);
    feed_frame(&e, 1, "H|\\^&\r", true, NULL);
    assert_int_equal(e1381_send(&e, "L|1\r", 4, &a), ERR_OK);
    e1381_reset(&e);
    assert_int_equal(e1381_get_state(&e), E1381_IDLE);
    assert_false(e1381_pending(&e));
    assert_string_equal(feeds(&e, "\x04", NULL), "");
    assert_string_equal(e1381_action_name(E1381_FAULT), "fault");
    assert_string_equal(e1381_action_name((e1381_action_kind)99), "unknown");
    /* out-of-range configuration is clamped */
    e1381_config cfg = {.frame_text = 9999, .accept_text = 1u << 31, .max_message = 1};
    e1381_free(&e);
    e1381_init(&e, &cfg);
    assert_int_equal(e.cfg.frame_text, 240);
    assert_int_equal(e.cfg.max_message, 64);
    assert_int_equal(e.cfg.accept_text, 64);
    e1381_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_known_frames),
        cmocka_unit_test(test_sample_frames_check),
        cmocka_unit_test(test_capture_every_sample),
        cmocka_unit_test(test_capture_vidas_and_block),
        cmocka_unit_test(test_capture_tolerance),
        cmocka_unit_test(test_receive_normal),
        cmocka_unit_test(test_receive_bad_checksum_then_retransmission),
        cmocka_unit_test(test_receive_wrong_frame_number),
        cmocka_unit_test(test_receive_duplicate_frame),
        cmocka_unit_test(test_receive_etb_continuation),
        cmocka_unit_test(test_receive_timeout_between_frames),
        cmocka_unit_test(test_receive_eot_mid_message),
        cmocka_unit_test(test_receive_busy_and_limits),
        cmocka_unit_test(test_receive_samples),
        cmocka_unit_test(test_send_normal),
        cmocka_unit_test(test_send_long_record_and_numbering),
        cmocka_unit_test(test_send_nak_six_times_aborts),
        cmocka_unit_test(test_send_busy_receiver),
        cmocka_unit_test(test_send_contention),
        cmocka_unit_test(test_receive_hold_last),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_reset_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
