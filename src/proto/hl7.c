/*
 * hl7.c - HL7 v2.x parser, accessors, escaping, writer and TS times (see hl7.h).
 *
 * The parser makes one pass over the message looking only for line breaks
 * (16 bytes at a time where SSE2 is there) and records where each segment
 * begins and ends; it never looks inside a segment except at its first four
 * bytes. Field access scans the one segment asked about, and the cursor
 * reads a whole segment in one more pass. So parsing costs about what reading
 * the bytes once costs, and no memory is taken per field.
 */
#include "proto/hl7.h"

#include "base/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

const hl7_delims hl7_default_delims = {'|', '^', '~', '\\', '&', '\0'};

#define EMPTY ((strv){"", 0})

/* Delimiters are printable ASCII punctuation: no letters, digits or space. */
static bool is_delim_char(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') &&
           !(c >= 'a' && c <= 'z');
}

static bool is_id_first(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Segments whose field 1 is the field separator itself. */
static bool is_header_id(const char *p)
{
    return (p[0] == 'M' && p[1] == 'S' && p[2] == 'H') ||
           ((p[0] == 'F' || p[0] == 'B') && p[1] == 'H' && p[2] == 'S');
}

static bool is_msh(const char *p)
{
    return p[0] == 'M' && p[1] == 'S' && p[2] == 'H';
}

/* Index of the first CR or LF in b[i..n), or n. */
static size_t find_eol(const char *b, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
        if (m)
            return i + (size_t)__builtin_ctz((unsigned)m);
        i += 16;
    }
#endif
    while (i < n && b[i] != '\r' && b[i] != '\n')
        i++;
    return i;
}

/*
 * Does q[0..n) begin a segment? Three id characters followed by the field
 * separator, a line break or the end. "MSH" followed by other punctuation
 * counts too, so that a later MSH declaring other delimiters is refused
 * rather than taken for a wrapped line.
 */
static bool starts_segment(const char *q, size_t n, char fs)
{
    if (n < 3 || !is_id_first((unsigned char)q[0]) || !is_id_char((unsigned char)q[1]) ||
        !is_id_char((unsigned char)q[2]))
        return false;
    if (n == 3 || q[3] == fs || q[3] == '\r' || q[3] == '\n')
        return true;
    return is_msh(q) && is_delim_char((unsigned char)q[3]);
}

/* Record a parse failure "segment N (ID) at byte B: ..." in ei. */
static err_t parse_fail(errinfo *ei, const char *field, size_t segno, const char *id, size_t at,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static err_t parse_fail(errinfo *ei, const char *field, size_t segno, const char *id, size_t at,
                        const char *fmt, ...)
{
    if (!ei)
        return ERR_INVALID;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (id)
        err_set(ei, ERR_INVALID, field, "segment %zu (%s) at byte %zu: %s", segno, id, at, what);
    else
        err_set(ei, ERR_INVALID, field, "segment %zu at byte %zu: %s", segno, at, what);
    ei->line = segno > 0x7fffffff ? 0x7fffffff : (int)segno;
    ei->column = at >= 0x7fffffff ? 0x7fffffff : (int)at + 1;
    return ERR_INVALID;
}

/*
 * Read MSH-1 and MSH-2 of the header segment at bytes[at..len) into d.
 * segno and id name the segment in errors.
 */
static err_t read_delims(const char *bytes, size_t len, size_t at, size_t segno, hl7_delims *d,
                         errinfo *ei)
{
    const char *b = bytes + at;
    size_t n = len - at;
    char id[4] = {b[0], b[1], b[2], '\0'};
    if (n < 4 || !is_delim_char((unsigned char)b[3]))
        return parse_fail(ei, "MSH-1", segno, id, at + 3,
                          "the field separator (MSH-1) must be printable punctuation such as '|'");
    char fs = b[3];
    size_t k = 4;
    while (k < n && k < 10 && b[k] != fs && b[k] != '\r' && b[k] != '\n')
        k++;
    size_t count = k - 4;
    if (count < 4 || count > 5)
        return parse_fail(ei, "MSH-2", segno, id, at + 4,
                          "the encoding characters (MSH-2) must be 4 or 5 characters (component, "
                          "repetition, escape, sub-component[, truncation]), found %s%zu",
                          count > 5 ? "more than " : "", count > 5 ? (size_t)5 : count);
    char all[6] = {fs, b[4], b[5], b[6], b[7], count == 5 ? b[8] : '\0'};
    for (size_t i = 1; i <= count; i++) {
        if (!is_delim_char((unsigned char)all[i]))
            return parse_fail(ei, "MSH-2", segno, id, at + 3 + i,
                              "encoding character %zu of MSH-2 (byte 0x%02x) must be printable "
                              "punctuation",
                              i, (unsigned char)all[i]);
        for (size_t j = 0; j < i; j++)
            if (all[j] == all[i])
                return parse_fail(ei, "MSH-2", segno, id, at + 3 + i,
                                  "encoding character %zu of MSH-2 ('%c') repeats an earlier "
                                  "delimiter",
                                  i, all[i]);
    }
    d->field = fs;
    d->component = all[1];
    d->repetition = all[2];
    d->escape = all[3];
    d->subcomponent = all[4];
    d->truncation = all[5];
    return ERR_OK;
}

/* The growing segment index, in the arena. */
typedef struct seglist {
    strv *v;
    size_t n, cap;
    arena *a;
} seglist;

static err_t seglist_grow(seglist *l)
{
    size_t cap = l->cap ? l->cap * 2 : 32;
    if (cap > SIZE_MAX / 2 / sizeof(strv))
        return ERR_NOMEM;
    strv *v = arena_alloc(l->a, cap * sizeof(strv));
    if (!v)
        return ERR_NOMEM;
    if (l->n)
        memcpy(v, l->v, l->n * sizeof(strv));
    l->v = v;
    l->cap = cap;
    return ERR_OK;
}

static inline err_t seglist_push(seglist *l, const char *p, size_t n)
{
    if (l->n == l->cap) {
        err_t rc = seglist_grow(l);
        if (rc)
            return rc;
    }
    l->v[l->n].p = p;
    l->v[l->n].n = n;
    l->n++;
    return ERR_OK;
}

err_t hl7_parse(const char *bytes, size_t len, arena *a, hl7_msg *out, errinfo *ei)
{
    hl7_msg m;
    memset(&m, 0, sizeof(m));
    *out = m;
    if (!a)
        return err_set(ei, ERR_USAGE, NULL, "hl7_parse needs an arena");
    if (!bytes || len < 3 || !is_msh(bytes))
        return parse_fail(ei, NULL, 1, NULL, 0, "a message must begin with \"MSH\"");
    err_t rc = read_delims(bytes, len, 0, 1, &m.delims, ei);
    if (rc)
        return rc;
    const char fs = m.delims.field;
    seglist l = {NULL, 0, 0, a};
    size_t start = 0; /* where the current segment begins */
    size_t p = 4;     /* where to look for its end */
    for (;;) {
        size_t e = find_eol(bytes, p, len);
        size_t t = e;
        while (t < len && (bytes[t] == '\r' || bytes[t] == '\n'))
            t++;
        if (t < len && !starts_segment(bytes + t, len - t, fs)) {
            m.wrapped++; /* a wrapped line: the segment goes on */
            p = t;
            continue;
        }
        rc = seglist_push(&l, bytes + start, e - start);
        if (rc)
            return err_set(ei, rc, NULL, "out of memory for the segment index");
        if (t >= len)
            break;
        if (is_msh(bytes + t)) {
            hl7_delims d2;
            rc = read_delims(bytes, len, t, l.n + 1, &d2, ei);
            if (rc)
                return rc;
            if (memcmp(&d2, &m.delims, sizeof(d2)) != 0)
                return parse_fail(ei, "MSH-2", l.n + 1, "MSH", t,
                                  "declares delimiters other than those of the first MSH; parse "
                                  "each message on its own");
        }
        start = t;
        p = t + 3;
    }
    m.buf = bytes;
    m.len = len;
    m.nsegs = l.n;
    m.segs = l.v;
    *out = m;
    return ERR_OK;
}

size_t hl7_segment_count(const hl7_msg *m)
{
    return m->nsegs;
}

hl7_seg hl7_segment(const hl7_msg *m, size_t i)
{
    hl7_seg s;
    memset(&s, 0, sizeof(s));
    s.delims = m->delims;
    s.index = i;
    if (i >= m->nsegs || m->segs[i].n < 3) {
        s.text = EMPTY;
        return s;
    }
    s.text = m->segs[i];
    memcpy(s.id, s.text.p, 3);
    s.id[3] = '\0';
    return s;
}

size_t hl7_find(const hl7_msg *m, const char *id, size_t from)
{
    if (!id || strnlen(id, 4) != 3)
        return m->nsegs;
    for (size_t i = from; i < m->nsegs; i++)
        if (m->segs[i].n >= 3 && memcmp(m->segs[i].p, id, 3) == 0)
            return i;
    return m->nsegs;
}

strv hl7_field(const hl7_seg *s, size_t n)
{
    if (s->text.n < 3)
        return EMPTY;
    if (n == 0)
        return (strv){s->text.p, 3};
    const char *p = s->text.p + 3, *end = s->text.p + s->text.n;
    const char fs = s->delims.field;
    size_t k = n;
    if (s->text.n < 4 || s->text.p[3] != fs)
        return EMPTY; /* the id alone, perhaps with a wrapped line after it */
    if (is_header_id(s->text.p)) {
        if (n == 1)
            return (strv){s->text.p + 3, 1};
        k = n - 1;
    }
    /* p is at the separator before field 1 (or at the end): field k follows
     * the k-th separator from here. */
    for (size_t i = 0; i < k; i++) {
        const char *q = memchr(p, fs, (size_t)(end - p));
        if (!q)
            return EMPTY;
        p = q + 1;
    }
    const char *q = memchr(p, fs, (size_t)(end - p));
    return (strv){p, (size_t)((q ? q : end) - p)};
}

size_t hl7_field_count(const hl7_seg *s)
{
    if (s->text.n < 4 || s->text.p[3] != s->delims.field)
        return 0; /* the id alone, perhaps with a wrapped line after it */
    size_t count = 0;
    for (size_t i = 3; i < s->text.n; i++)
        count += s->text.p[i] == s->delims.field;
    return is_header_id(s->text.p) ? count + 1 : count;
}

/* Part n (1-based) of v split at sep. */
static strv nth_part(strv v, char sep, size_t n)
{
    if (n == 0 || v.n == 0)
        return EMPTY;
    const char *p = v.p, *end = v.p + v.n;
    for (size_t i = 1; i < n; i++) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        if (!q)
            return EMPTY;
        p = q + 1;
    }
    const char *q = memchr(p, sep, (size_t)(end - p));
    return (strv){p, (size_t)((q ? q : end) - p)};
}

/* v up to the first sep. */
static strv first_part(strv v, char sep)
{
    const char *q = v.n ? memchr(v.p, sep, v.n) : NULL;
    if (q)
        v.n = (size_t)(q - v.p);
    return v;
}

strv hl7_repetition(strv field, const hl7_delims *d, size_t r)
{
    return nth_part(field, d->repetition, r);
}

strv hl7_component(strv v, const hl7_delims *d, size_t c)
{
    return nth_part(first_part(v, d->repetition), d->component, c);
}

strv hl7_subcomponent(strv v, const hl7_delims *d, size_t sc)
{
    v = first_part(first_part(v, d->repetition), d->component);
    return nth_part(v, d->subcomponent, sc);
}

strv hl7_get(const hl7_seg *s, size_t field, size_t rep, size_t comp, size_t sub)
{
    strv v = hl7_field(s, field);
    if (s->text.n >= 3 && is_header_id(s->text.p) && (field == 1 || field == 2))
        return rep <= 1 && comp <= 1 && sub <= 1 ? v : EMPTY;
    if (rep)
        v = hl7_repetition(v, &s->delims, rep);
    if (comp)
        v = hl7_component(v, &s->delims, comp);
    if (sub)
        v = hl7_subcomponent(v, &s->delims, sub);
    return v;
}

size_t hl7_count(strv v, char sep)
{
    if (v.n == 0)
        return 0;
    size_t count = 1;
    for (size_t i = 0; i < v.n; i++)
        count += v.p[i] == sep;
    return count;
}

bool hl7_next(strv *rest, char sep, strv *part)
{
    if (!rest->p)
        return false;
    const char *q = rest->n ? memchr(rest->p, sep, rest->n) : NULL;
    if (!q) {
        *part = *rest;
        rest->p = NULL;
        rest->n = 0;
        return true;
    }
    part->p = rest->p;
    part->n = (size_t)(q - rest->p);
    rest->n -= part->n + 1;
    rest->p = q + 1;
    return true;
}

/* --- Cursor --------------------------------------------------------------- */

/*
 * The cursor classifies the segment 16 bytes at a time (with SSE2) into a
 * bit mask of separator positions and then takes one bit per value, so a
 * value costs a few instructions however short it is.
 */

static bool is_sep(char ch, const hl7_delims *d)
{
    return ch == d->field || ch == d->repetition || ch == d->component || ch == d->subcomponent;
}

#if defined(__SSE2__)
static unsigned block_mask(const char *p, const hl7_delims *d)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(d->field)),
                                            _mm_cmpeq_epi8(v, _mm_set1_epi8(d->repetition))),
                               _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(d->component)),
                                            _mm_cmpeq_epi8(v, _mm_set1_epi8(d->subcomponent))));
    return (unsigned)_mm_movemask_epi8(hit);
}
#endif

/* Index of the next separator at or after c->p, or c->len. */
static size_t next_sep(hl7_cursor *c)
{
#if defined(__SSE2__)
    while (!c->tail) {
        if (c->mask) {
            size_t q = c->blk + (size_t)__builtin_ctz(c->mask);
            c->mask &= c->mask - 1;
            return q;
        }
        c->blk += 16;
        if (c->len - c->blk < 16) {
            c->tail = true;
            break;
        }
        c->mask = block_mask(c->text + c->blk, &c->delims);
    }
#endif
    size_t q = c->p > c->blk ? c->p : c->blk;
    while (q < c->len && !is_sep(c->text[q], &c->delims))
        q++;
    return q;
}

void hl7_cursor_init(hl7_cursor *c, const hl7_seg *s)
{
    memset(c, 0, sizeof(*c));
    c->delims = s->delims;
    c->done = true;
    if (s->text.n < 4 || s->text.p[3] != s->delims.field)
        return; /* no fields */
    c->text = s->text.p;
    c->len = s->text.n;
    c->p = 4;
    c->next_field = 1;
    if (is_header_id(s->text.p)) {
        /* skip MSH-2: up to the next field separator, or no fields at all */
        const char *q = memchr(c->text + 4, s->delims.field, c->len - 4);
        if (!q)
            return;
        c->p = (size_t)(q - c->text) + 1;
        c->next_field = 3;
    }
    c->next_rep = c->next_comp = c->next_sub = 1;
    c->blk = c->p;
    c->tail = true;
#if defined(__SSE2__)
    if (c->len - c->blk >= 16) {
        c->tail = false;
        c->mask = block_mask(c->text + c->blk, &c->delims);
    }
#endif
    c->done = false;
}

bool hl7_cursor_next(hl7_cursor *c, strv *value)
{
    if (c->done)
        return false;
    size_t q = next_sep(c);
    value->p = c->text + c->p;
    value->n = q - c->p;
    c->field = c->next_field;
    c->rep = c->next_rep;
    c->comp = c->next_comp;
    c->sub = c->next_sub;
    if (q >= c->len) {
        c->done = true;
        return true;
    }
    char sep = c->text[q];
    if (sep == c->delims.field) {
        c->next_field++;
        c->next_rep = c->next_comp = c->next_sub = 1;
    } else if (sep == c->delims.repetition) {
        c->next_rep++;
        c->next_comp = c->next_sub = 1;
    } else if (sep == c->delims.component) {
        c->next_comp++;
        c->next_sub = 1;
    } else {
        c->next_sub++;
    }
    c->p = q + 1;
    return true;
}

/* --- Escaping ------------------------------------------------------------- */

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The character a one-letter escape stands for, or -1. */
static int escape_letter_char(char letter, const hl7_delims *d)
{
    switch (letter) {
    case 'F':
        return (unsigned char)d->field;
    case 'S':
        return (unsigned char)d->component;
    case 'T':
        return (unsigned char)d->subcomponent;
    case 'R':
        return (unsigned char)d->repetition;
    case 'E':
        return (unsigned char)d->escape;
    case 'P':
        return d->truncation ? (unsigned char)d->truncation : -1;
    default:
        return -1;
    }
}

/* Unescape in into w (room for in.n bytes); returns the length written. */
static size_t unescape_into(char *w, strv in, const hl7_delims *d)
{
    char *start = w;
    const char *p = in.p, *end = in.p + in.n;
    const char esc = d->escape;
    while (p < end) {
        const char *q = memchr(p, esc, (size_t)(end - p));
        if (!q) {
            memcpy(w, p, (size_t)(end - p));
            w += end - p;
            break;
        }
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        const char *c = q + 1;
        const char *r = c < end ? memchr(c, esc, (size_t)(end - c)) : NULL;
        if (!r) { /* no closing escape character: the rest is text */
            memcpy(w, q, (size_t)(end - q));
            w += end - q;
            break;
        }
        size_t k = (size_t)(r - c);
        int one = k == 1 ? escape_letter_char(c[0], d) : -1;
        bool done = false;
        if (one >= 0) {
            *w++ = (char)one;
            done = true;
        } else if (k == 3 && memcmp(c, ".br", 3) == 0) {
            *w++ = '\n';
            done = true;
        } else if (k >= 3 && c[0] == 'X' && (k - 1) % 2 == 0) {
            bool hex = true;
            for (size_t i = 1; i < k && hex; i++)
                hex = hex_value((unsigned char)c[i]) >= 0;
            if (hex) {
                for (size_t i = 1; i < k; i += 2)
                    *w++ = (char)(hex_value((unsigned char)c[i]) * 16 +
                                  hex_value((unsigned char)c[i + 1]));
                done = true;
            }
        }
        if (!done) { /* unknown or malformed: keep it as it is */
            memcpy(w, q, (size_t)(r - q + 1));
            w += r - q + 1;
        }
        p = r + 1;
    }
    return (size_t)(w - start);
}

err_t hl7_unescape(strv in, const hl7_delims *d, buf *out)
{
    err_t rc = buf_reserve(out, in.n);
    if (rc)
        return rc;
    out->len += unescape_into(out->data + out->len, in, d);
    out->data[out->len] = '\0';
    return ERR_OK;
}

err_t hl7_decode(strv in, const hl7_delims *d, arena *a, strv *out)
{
    if (in.n == 0 || !memchr(in.p, d->escape, in.n)) {
        *out = in.n ? in : EMPTY;
        return ERR_OK;
    }
    char *w = arena_alloc(a, in.n + 1);
    if (!w)
        return ERR_NOMEM;
    size_t n = unescape_into(w, in, d);
    w[n] = '\0';
    out->p = w;
    out->n = n;
    return ERR_OK;
}

/* The letter that escapes c, or 0 when c is not a delimiter. */
static char escape_letter_for(unsigned char c, const hl7_delims *d)
{
    if (c == (unsigned char)d->field)
        return 'F';
    if (c == (unsigned char)d->component)
        return 'S';
    if (c == (unsigned char)d->subcomponent)
        return 'T';
    if (c == (unsigned char)d->repetition)
        return 'R';
    if (c == (unsigned char)d->escape)
        return 'E';
    if (d->truncation && c == (unsigned char)d->truncation)
        return 'P';
    return 0;
}

static bool is_ctl(unsigned char c)
{
    return c < 0x20 && c != '\t';
}

/* Escape in into w when w is not NULL; returns the escaped length. */
static size_t escape_into(char *w, strv in, const hl7_delims *d)
{
    static const char hexd[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)in.p;
    size_t total = 0, i = 0;
    while (i < in.n) {
        unsigned char c = p[i];
        char letter = escape_letter_for(c, d);
        if (letter) {
            if (w) {
                w[total] = d->escape;
                w[total + 1] = letter;
                w[total + 2] = d->escape;
            }
            total += 3;
            i++;
        } else if (is_ctl(c)) {
            size_t j = i;
            while (j < in.n && is_ctl(p[j]) && !escape_letter_for(p[j], d))
                j++;
            if (w) {
                char *o = w + total;
                *o++ = d->escape;
                *o++ = 'X';
                for (size_t k = i; k < j; k++) {
                    *o++ = hexd[p[k] >> 4];
                    *o++ = hexd[p[k] & 15];
                }
                *o = d->escape;
            }
            total += 3 + 2 * (j - i);
            i = j;
        } else {
            if (w)
                w[total] = (char)c;
            total++;
            i++;
        }
    }
    return total;
}

err_t hl7_escape(strv in, const hl7_delims *d, buf *out)
{
    size_t need = escape_into(NULL, in, d);
    err_t rc = buf_reserve(out, need);
    if (rc)
        return rc;
    out->len += escape_into(out->data + out->len, in, d);
    out->data[out->len] = '\0';
    return ERR_OK;
}

/* --- Writer --------------------------------------------------------------- */

void hl7_writer_init(hl7_writer *w, buf *out)
{
    w->out = out;
    w->delims = hl7_default_delims;
    w->field = 0;
    w->min_field = 1;
    w->in_segment = false;
    w->err = ERR_OK;
}

static err_t writer_fail(hl7_writer *w, err_t rc)
{
    if (!w->err)
        w->err = rc;
    return w->err;
}

err_t hl7_writer_segment(hl7_writer *w, const char *id)
{
    if (w->err)
        return w->err;
    if (!id || strnlen(id, 4) != 3 || !is_id_first((unsigned char)id[0]) ||
        !is_id_char((unsigned char)id[1]) || !is_id_char((unsigned char)id[2]))
        return writer_fail(w, ERR_USAGE);
    char head[9];
    size_t n = 3;
    if (w->in_segment) {
        head[0] = '\r';
        n = 4;
    }
    memcpy(head + n - 3, id, 3);
    bool header = is_header_id(id);
    if (header) {
        const hl7_delims *d = &w->delims;
        char enc[5] = {d->field, d->component, d->repetition, d->escape, d->subcomponent};
        memcpy(head + n, enc, 5);
        n += 5;
    }
    err_t rc = buf_append(w->out, head, n);
    if (rc)
        return writer_fail(w, rc);
    w->in_segment = true;
    w->field = header ? 2 : 0;
    w->min_field = header ? 3 : 1;
    return ERR_OK;
}

err_t hl7_writer_put(hl7_writer *w, hl7_level level, const char *p, size_t n)
{
    if (w->err)
        return w->err;
    if (!w->in_segment)
        return writer_fail(w, ERR_USAGE);
    char sep;
    switch (level) {
    case HL7_FIELD:
        sep = w->delims.field;
        break;
    case HL7_REPETITION:
        sep = w->delims.repetition;
        break;
    case HL7_COMPONENT:
        sep = w->delims.component;
        break;
    case HL7_SUBCOMPONENT:
        sep = w->delims.subcomponent;
        break;
    default:
        return writer_fail(w, ERR_USAGE);
    }
    if (level != HL7_FIELD && w->field < w->min_field)
        return writer_fail(w, ERR_USAGE);
    strv text = {p ? p : "", p ? n : 0};
    size_t need = escape_into(NULL, text, &w->delims);
    err_t rc = buf_reserve(w->out, need + 1);
    if (rc)
        return writer_fail(w, rc);
    buf *b = w->out;
    b->data[b->len++] = sep;
    b->len += escape_into(b->data + b->len, text, &w->delims);
    b->data[b->len] = '\0';
    if (level == HL7_FIELD)
        w->field++;
    return ERR_OK;
}

err_t hl7_writer_field(hl7_writer *w, const char *text)
{
    return hl7_writer_put(w, HL7_FIELD, text, text ? strlen(text) : 0);
}

err_t hl7_writer_repetition(hl7_writer *w, const char *text)
{
    return hl7_writer_put(w, HL7_REPETITION, text, text ? strlen(text) : 0);
}

err_t hl7_writer_component(hl7_writer *w, const char *text)
{
    return hl7_writer_put(w, HL7_COMPONENT, text, text ? strlen(text) : 0);
}

err_t hl7_writer_subcomponent(hl7_writer *w, const char *text)
{
    return hl7_writer_put(w, HL7_SUBCOMPONENT, text, text ? strlen(text) : 0);
}

err_t hl7_writer_field_at(hl7_writer *w, size_t n, const char *text)
{
    if (w->err)
        return w->err;
    if (!w->in_segment || n <= w->field)
        return writer_fail(w, ERR_USAGE);
    size_t gap = n - w->field - 1;
    if (gap) {
        err_t rc = buf_reserve(w->out, gap);
        if (rc)
            return writer_fail(w, rc);
        memset(w->out->data + w->out->len, w->delims.field, gap);
        w->out->len += gap;
        w->out->data[w->out->len] = '\0';
        w->field += gap;
    }
    return hl7_writer_field(w, text);
}

err_t hl7_writer_end(hl7_writer *w)
{
    if (w->err)
        return w->err;
    if (w->in_segment) {
        err_t rc = buf_append(w->out, "\r", 1);
        if (rc)
            return writer_fail(w, rc);
        w->in_segment = false;
    }
    return ERR_OK;
}

/* --- TS / DTM ------------------------------------------------------------- */

static char *put_digits(char *o, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

void hl7_ts_format(int64_t utc_us, char out[HL7_TS_LEN])
{
    const int64_t lo = time_days_from_civil(1, 1, 1) * 86400;
    const int64_t hi = time_days_from_civil(9999, 12, 31) * 86400 + 86399;
    int64_t secs = utc_us / 1000000 - (utc_us % 1000000 < 0);
    if (secs < lo)
        secs = lo;
    if (secs > hi)
        secs = hi;
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t sod = secs - days * 86400;
    int64_t y;
    int m, d;
    time_civil_from_days(days, &y, &m, &d);
    char *o = out;
    o = put_digits(o, y, 4);
    o = put_digits(o, m, 2);
    o = put_digits(o, d, 2);
    o = put_digits(o, sod / 3600, 2);
    o = put_digits(o, sod / 60 % 60, 2);
    o = put_digits(o, sod % 60, 2);
    memcpy(o, "+0000", 6);
}

static int digits_at(const char *s, size_t at, size_t count)
{
    int v = 0;
    for (size_t i = at; i < at + count; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

err_t hl7_ts_parse(strv v, int64_t *utc_us, errinfo *ei)
{
    const char *s = v.p ? v.p : "";
    size_t n = v.p ? v.n : 0, dig = 0, i;
    int show = n > 40 ? 40 : (int)n;
    while (dig < n && s[dig] >= '0' && s[dig] <= '9')
        dig++;
    if (dig < 4 || dig > 14 || dig % 2)
        goto bad;
    int y = digits_at(s, 0, 4);
    int mo = dig >= 6 ? digits_at(s, 4, 2) : 1;
    int d = dig >= 8 ? digits_at(s, 6, 2) : 1;
    int hh = dig >= 10 ? digits_at(s, 8, 2) : 0;
    int mi = dig >= 12 ? digits_at(s, 10, 2) : 0;
    int ss = dig >= 14 ? digits_at(s, 12, 2) : 0;
    int64_t us = 0;
    i = dig;
    if (i < n && s[i] == '.') {
        if (dig != 14)
            goto bad;
        size_t start = ++i;
        int64_t scale = 100000;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 6) {
            us += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start || (i < n && s[i] >= '0' && s[i] <= '9'))
            goto bad;
    }
    int tz = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        if (n - i != 5)
            goto bad;
        for (size_t k = i + 1; k < n; k++)
            if (s[k] < '0' || s[k] > '9')
                goto bad;
        int tzh = digits_at(s, i + 1, 2), tzm = digits_at(s, i + 3, 2);
        if (tzh > 23 || tzm > 59)
            return err_set(ei, ERR_INVALID, NULL, "not a UTC offset (+/-HHMM): %.*s", show, s);
        tz = (s[i] == '+' ? 1 : -1) * (tzh * 3600 + tzm * 60);
        i = n;
    }
    if (i != n)
        goto bad;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > time_days_in_month(y, mo))
        return err_set(ei, ERR_INVALID, NULL, "not a calendar date: %.*s", show, s);
    if (hh > 23 || mi > 59 || ss > 60)
        return err_set(ei, ERR_INVALID, NULL, "not a time of day: %.*s", show, s);
    int64_t secs =
        time_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + (ss > 59 ? 59 : ss);
    *utc_us = (secs - tz) * 1000000 + us;
    return ERR_OK;
bad:
    return err_set(ei, ERR_INVALID, NULL,
                   "not an HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]): %.*s", show, s);
}
