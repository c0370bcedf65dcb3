/*
 * fuzz_astm.c - libFuzzer target: E1394 records and the capture decoder.
 *
 * The input is read four ways: as message text for astm_parse_message()
 * (every field, repeat and component of every record is visited and
 * unescaped); as a capture for e1381_capture_decode() (each decoded message
 * is parsed in turn); as a value that must come back unchanged from
 * astm_escape() then astm_unescape(), under the standard delimiters and
 * GeneXpert's; and as values for the writer, whose records must parse back
 * to the same values. Any broken property aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/astm.h"
#include "proto/e1381.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void visit(const astm_message *m, arena *a)
{
    for (size_t i = 0; i < m->nrecords; i++) {
        const astm_record *r = &m->records[i];
        check(r->nfields >= 1 && r->index == i && r->text.n > 0);
        check(!memchr(r->text.p, '\r', r->text.n) && !memchr(r->text.p, '\n', r->text.n));
        size_t total = r->nfields - 1;
        for (size_t f = 1; f <= r->nfields + 1; f++) {
            strv v = astm_field(r, f);
            if (f <= r->nfields)
                total += v.n;
            size_t reps = astm_repeat_count(r, f);
            check(reps <= v.n + 1);
            if (f > 40)
                continue; /* the accessors are the same for every field: keep it fast */
            for (size_t rep = 0; rep <= reps + 1 && rep < 4; rep++) {
                size_t comps = astm_count(astm_repeat(r, f, rep ? rep : 1), r->delims.component);
                for (size_t c = 0; c <= comps + 1 && c < 5; c++) {
                    strv x;
                    if (astm_get(r, f, rep, c, a, &x) != ERR_OK)
                        return;
                    strv raw = c     ? astm_component(r, f, rep, c)
                               : rep ? astm_repeat(r, f, rep)
                                     : astm_field(r, f);
                    check(x.n <= raw.n);
                    check(x.p == raw.p || memchr(raw.p, r->delims.escape, raw.n));
                }
            }
        }
        check(total == r->text.n);
    }
}

static void roundtrip(const char *p, size_t n, const astm_delims *d)
{
    buf e = BUF_INIT, u = BUF_INIT;
    if (astm_escape((strv){p, n}, d, &e) == ERR_OK) {
        for (size_t i = 0; i < e.len; i++) {
            char c = e.data[i];
            check(c != d->field && c != d->repeat && c != d->component);
            check((unsigned char)c >= 0x20 && c != 0x7F);
        }
        if (astm_unescape((strv){e.data ? e.data : "", e.len}, d, &u) == ERR_OK)
            check(u.len == n && (n == 0 || memcmp(u.data, p, n) == 0));
    }
    buf_free(&e);
    buf_free(&u);
}

/* The input cut into values for H, P, O, Q and L records: they must read
 * back unchanged. */
static void writer(const char *p, size_t n, arena *a)
{
    strv v[6];
    for (size_t i = 0; i < 6; i++) {
        size_t from = n * i / 6, to = n * (i + 1) / 6;
        v[i] = (strv){p + from, to - from};
    }
    buf b = BUF_INIT;
    astm_writer w;
    astm_writer_init(&w, &b, NULL);
    astm_write_header(&w, &(astm_header_spec){.sender = v[0]});
    astm_write_patient(&w, &(astm_patient_spec){.last_name = v[1], .first_name = v[2]});
    astm_write_order(&w, &(astm_order_spec){.specimen_id = v[3], .tests = &v[4], .ntests = 2});
    astm_write_query(&w, &(astm_query_spec){.specimen_id = v[5]});
    astm_write_terminator(&w, 'N');
    if (astm_writer_error(&w) == ERR_OK) {
        astm_message m;
        check(astm_parse_message(b.data, b.len, a, &m, NULL) == ERR_OK);
        check(m.nrecords == 5);
        strv x;
        check(astm_get(&m.records[0], 5, 1, 1, a, &x) == ERR_OK);
        check(x.n == v[0].n && (x.n == 0 || memcmp(x.p, v[0].p, x.n) == 0));
        check(astm_get(&m.records[1], 6, 1, 2, a, &x) == ERR_OK);
        check(x.n == v[2].n && (x.n == 0 || memcmp(x.p, v[2].p, x.n) == 0));
        check(astm_get(&m.records[2], 3, 1, 1, a, &x) == ERR_OK);
        check(x.n == v[3].n && (x.n == 0 || memcmp(x.p, v[3].p, x.n) == 0));
        check(astm_get(&m.records[3], 3, 1, 2, a, &x) == ERR_OK);
        check(x.n == v[5].n && (x.n == 0 || memcmp(x.p, v[5].p, x.n) == 0));
    }
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    arena a;
    arena_init(&a, 0);
    astm_message m;
    if (astm_parse_message(p, size, &a, &m, NULL) == ERR_OK)
        visit(&m, &a);

    e1381_capture cap;
    if (e1381_capture_decode(p, size, &a, &cap, NULL) == ERR_OK) {
        for (size_t i = 0; i < cap.nmsgs; i++) {
            const e1381_capture_msg *c = &cap.msgs[i];
            check(c->bad_checksums <= c->nframes);
            if (c->kind == E1381_CAPTURE_FRAMED || c->kind == E1381_CAPTURE_BARE) {
                check(c->text.n == 0 || c->text.p[c->text.n - 1] == '\r' || c->incomplete);
                if (astm_parse_message(c->text.p, c->text.n, &a, &m, NULL) == ERR_OK)
                    visit(&m, &a);
            }
        }
    }

    static const astm_delims gx = {'|', '@', '^', '\\'};
    roundtrip(p, size, &astm_standard_delims);
    roundtrip(p, size, &gx);
    writer(p, size, &a);
    arena_free(&a);
    return 0;
}
