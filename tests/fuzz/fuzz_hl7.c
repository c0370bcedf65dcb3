/*
 * fuzz_hl7.c - libFuzzer target: an inbound HL7 message through the parser and
 * every accessor, as an instrument session reads one, with these properties
 * checked (abort() when one fails):
 *   - a failure names a segment (ei.line >= 1, ei.column >= 1) and leaves an
 *     empty message;
 *   - every segment begins with its id, lies inside the input, and segments do
 *     not overlap;
 *   - hl7_field(s, k) is the k-th part of the segment at the field separator,
 *     and the repetitions, components and sub-components found by hl7_next()
 *     are those hl7_get() returns;
 *   - the one-pass cursor visits the sub-components hl7_get() names;
 *   - unescaping never lengthens a value, and escaping the plain text then
 *     unescaping it gives the plain text back;
 *   - a value that reads as a TS formats and reads back at second precision;
 *   - the writer, given the plain text of each field, makes a message the
 *     parser reads back to the same plain text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/hl7.h"

#define MAX_SEGMENTS 64 /* checked in depth per input, to keep runs fast */
#define MAX_FIELDS   64

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool same(strv a, strv b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Unescape v; check the escape round trip on its plain text. */
static strv plain(strv v, const hl7_delims *d, arena *a, buf *tmp)
{
    strv text;
    if (hl7_decode(v, d, a, &text) != ERR_OK)
        abort(); /* the arena failing is not expected under the fuzzer */
    check(text.n <= v.n);
    buf_reset(tmp);
    check(hl7_escape(text, d, tmp) == ERR_OK);
    strv esc = {tmp->data ? tmp->data : "", tmp->len};
    strv back;
    check(hl7_decode(esc, d, a, &back) == ERR_OK);
    check(same(back, text));
    return text;
}

static void check_value(const hl7_seg *s, size_t field, strv f, arena *a, buf *tmp)
{
    const hl7_delims *d = &s->delims;
    strv reps = f, r;
    size_t ri = 0;
    while (ri < 16 && hl7_next(&reps, d->repetition, &r)) {
        ri++;
        check(same(hl7_repetition(f, d, ri), r) || (f.n == 0 && r.n == 0));
        strv comps = r, c;
        size_t ci = 0;
        while (ci < 16 && hl7_next(&comps, d->component, &c)) {
            ci++;
            check(same(hl7_get(s, field, ri, ci, 0), c));
            strv subs = c, sc;
            size_t si = 0;
            while (si < 8 && hl7_next(&subs, d->subcomponent, &sc)) {
                si++;
                check(same(hl7_get(s, field, ri, ci, si), sc));
                (void)plain(sc, d, a, tmp);
            }
        }
    }
    int64_t t;
    strv first = hl7_component(f, d, 1);
    if (hl7_ts_parse(first, &t, NULL) == ERR_OK) {
        char ts[HL7_TS_LEN];
        int64_t back;
        hl7_ts_format(t, ts);
        check(hl7_ts_parse((strv){ts, HL7_TS_LEN - 1}, &back, NULL) == ERR_OK);
        int64_t secs = t / 1000000 - (t % 1000000 < 0);
        /* an offset can move a time just outside years 1..9999: formatted clamped */
        if (secs >= INT64_C(-62135596800) && secs <= INT64_C(253402300799))
            check(back == secs * 1000000);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    errinfo ei;
    err_clear(&ei);
    err_t rc = hl7_parse(text, size, &a, &m, &ei);
    if (rc != ERR_OK) {
        check(rc == ERR_INVALID && ei.line >= 1 && ei.column >= 1 && ei.message[0]);
        check(hl7_segment_count(&m) == 0);
        arena_free(&a);
        return 0;
    }
    check(hl7_segment_count(&m) >= 1);
    buf tmp = BUF_INIT, out = BUF_INIT;
    hl7_writer w;
    hl7_writer_init(&w, &out);
    const char *prev_end = text;
    size_t nseg = hl7_segment_count(&m);
    for (size_t i = 0; i < nseg; i++) {
        hl7_seg s = hl7_segment(&m, i);
        check(s.text.n >= 3 && s.text.p >= prev_end && s.text.p + s.text.n <= text + size);
        check(memcmp(s.id, s.text.p, 3) == 0 && s.id[3] == '\0');
        check(hl7_find(&m, s.id, i) == i);
        prev_end = s.text.p + s.text.n;
        if (i >= MAX_SEGMENTS)
            continue;
        bool header =
            strcmp(s.id, "MSH") == 0 || strcmp(s.id, "FHS") == 0 || strcmp(s.id, "BHS") == 0;
        size_t count = hl7_field_count(&s);
        check(hl7_field(&s, count + 1).n == 0);
        if (hl7_writer_segment(&w, s.id) != ERR_OK)
            abort();
        if (s.text.n > 3 && s.text.p[3] != s.delims.field) { /* the id and a wrapped line */
            check(count == 0 && hl7_field(&s, 1).n == 0 && hl7_field(&s, 3).n == 0);
            continue;
        }
        /* the fields by one walk, against hl7_field() */
        strv rest = s.text, f;
        size_t k = 0;
        while (hl7_next(&rest, s.delims.field, &f)) {
            size_t field = header && k > 0 ? k + 1 : k;
            check(same(hl7_field(&s, field), f));
            if (field > 0 && field <= MAX_FIELDS && !(header && field <= 2)) {
                check_value(&s, field, f, &a, &tmp);
                strv p = plain(f, &s.delims, &a, &tmp);
                check(hl7_writer_put(&w, HL7_FIELD, p.p, p.n) == ERR_OK);
            }
            k++;
        }
        check(k >= 1);
        /* the one-pass cursor agrees with hl7_get() */
        hl7_cursor cur;
        hl7_cursor_init(&cur, &s);
        strv leaf;
        size_t last = 0;
        while (hl7_cursor_next(&cur, &leaf)) {
            check(same(hl7_get(&s, cur.field, cur.rep, cur.comp, cur.sub), leaf));
            check(cur.field >= last && cur.rep >= 1 && cur.comp >= 1 && cur.sub >= 1);
            last = cur.field;
        }
        check(last == (header && count <= 2 ? 0 : count));
    }
    check(hl7_writer_end(&w) == ERR_OK);

    /* What the writer made parses, segment for segment, to the same text. */
    arena b;
    arena_init(&b, 0);
    hl7_msg m2;
    errinfo ei2;
    rc = hl7_parse(out.data, out.len, &b, &m2, &ei2);
    check(rc == ERR_OK);
    size_t n2 = nseg < MAX_SEGMENTS ? nseg : MAX_SEGMENTS;
    check(hl7_segment_count(&m2) == n2 && m2.wrapped == 0);
    for (size_t i = 0; i < n2; i++) {
        hl7_seg s = hl7_segment(&m, i), s2 = hl7_segment(&m2, i);
        check(strcmp(s.id, s2.id) == 0);
        bool header =
            strcmp(s.id, "MSH") == 0 || strcmp(s.id, "FHS") == 0 || strcmp(s.id, "BHS") == 0;
        size_t count = hl7_field_count(&s);
        for (size_t field = header ? 3 : 1; field <= count && field <= MAX_FIELDS; field++) {
            strv p1 = plain(hl7_field(&s, field), &s.delims, &a, &tmp);
            strv p2 = plain(hl7_field(&s2, field), &s2.delims, &b, &tmp);
            check(same(p1, p2));
        }
    }
    arena_free(&b);
    buf_free(&out);
    buf_free(&tmp);
    arena_free(&a);
    return 0;
}
