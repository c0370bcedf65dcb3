/*
 * astm.c - ASTM E1394 / CLSI LIS02-A2 records (see astm.h): the parser, the
 * accessors, escaping and the writer.
 */
#include "proto/astm.h"

#include <string.h>

const astm_delims astm_standard_delims = {'|', '\\', '^', '&'};

static const strv empty = {"", 0};

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A character that can be a delimiter: printable ASCII, not a letter, digit
 * or space. */
static bool delim_ok(char c)
{
    return c > 0x20 && c < 0x7F && !is_alnum(c);
}

static bool delims_ok(const astm_delims *d)
{
    return delim_ok(d->field) && delim_ok(d->repeat) && delim_ok(d->component) &&
           delim_ok(d->escape) && d->field != d->repeat && d->field != d->component &&
           d->field != d->escape && d->repeat != d->component && d->repeat != d->escape &&
           d->component != d->escape;
}

/* Does a record declare delimiters ("H" alone or "H" and a non-alphanumeric
 * character)? A record "Hx..." is some other record type. */
static bool is_header(strv rec)
{
    return rec.n >= 1 && rec.p[0] == 'H' && (rec.n == 1 || !is_alnum(rec.p[1]));
}

err_t astm_parse_delims(strv rec, astm_delims *out, bool *repaired, errinfo *ei)
{
    if (repaired)
        *repaired = false;
    if (rec.n == 0 || rec.p[0] != 'H')
        return err_set(ei, ERR_INVALID, "H.1", "not an H record");
    astm_delims d = astm_standard_delims;
    if (rec.n == 1) {
        *out = d;
        return ERR_OK;
    }
    d.field = rec.p[1];
    if (!delim_ok(d.field))
        return err_set(ei, ERR_INVALID, "H.2", "field delimiter 0x%02X is not punctuation",
                       (unsigned)(unsigned char)d.field);
    size_t end = 2;
    while (end < rec.n && rec.p[end] != d.field)
        end++;
    const char *def = rec.p + 2;
    size_t n = end - 2;
    if (n == 0) {
        /* "H|" and nothing declared: the standard three with this field
         * delimiter. */
        if (!delims_ok(&d))
            return err_set(ei, ERR_INVALID, "H.2",
                           "no delimiter definition, and the field "
                           "delimiter clashes with the standard ones");
        *out = d;
        return ERR_OK;
    }
    if (n == 3) {
        d.repeat = def[0];
        d.component = def[1];
        d.escape = def[2];
        if (delims_ok(&d)) {
            *out = d;
            return ERR_OK;
        }
    } else if (n > 3 && n <= 16) {
        /* The repair rule: collapse adjacent duplicates ("\\^&" -> "\^&"). */
        char c[16];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (k == 0 || c[k - 1] != def[i])
                c[k++] = def[i];
        if (k == 3) {
            d.repeat = c[0];
            d.component = c[1];
            d.escape = c[2];
            if (delims_ok(&d)) {
                *out = d;
                if (repaired)
                    *repaired = true;
                return ERR_OK;
            }
        }
    }
    return err_set(ei, ERR_INVALID, "H.2",
                   "delimiter definition of %zu characters is not three distinct delimiters "
                   "(repeat, component, escape)",
                   n);
}

size_t astm_count(strv s, char sep)
{
    if (s.n == 0)
        return 0;
    size_t k = 1;
    for (size_t i = 0; i < s.n; i++)
        k += s.p[i] == sep;
    return k;
}

strv astm_part(strv s, char sep, size_t i)
{
    if (i == 0 || s.n == 0)
        return empty;
    size_t start = 0, k = 1;
    for (size_t j = 0; j <= s.n; j++) {
        if (j == s.n || s.p[j] == sep) {
            if (k == i)
                return (strv){s.p + start, j - start};
            k++;
            start = j + 1;
        }
    }
    return empty;
}

strv astm_trim(strv s)
{
    while (s.n && s.p[0] == ' ') {
        s.p++;
        s.n--;
    }
    while (s.n && s.p[s.n - 1] == ' ')
        s.n--;
    if (s.n == 0)
        s.p = "";
    return s;
}

/* Fill r from the record text rec under delimiters d. */
static err_t parse_record(strv rec, const astm_delims *d, arena *a, astm_record *r)
{
    size_t nf = 1;
    for (size_t i = 0; i < rec.n; i++)
        nf += rec.p[i] == d->field;
    strv *f = arena_alloc(a, nf * sizeof *f);
    if (!f)
        return ERR_NOMEM;
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= rec.n; i++) {
        if (i == rec.n || rec.p[i] == d->field) {
            f[k++] = i > start ? (strv){rec.p + start, i - start} : empty;
            start = i + 1;
        }
    }
    r->type = f[0].n ? f[0].p[0] : '\0';
    r->text = rec;
    r->delims = *d;
    r->nfields = nf;
    r->fields = f;
    return ERR_OK;
}

err_t astm_parse_message(const char *text, size_t len, arena *a, astm_message *out, errinfo *ei)
{
    memset(out, 0, sizeof *out);
    out->delims = astm_standard_delims;
    if (len > ASTM_MESSAGE_MAX)
        return err_set(ei, ERR_TOO_LARGE, NULL, "message of %zu bytes, more than %zu", len,
                       ASTM_MESSAGE_MAX);
    if (!text)
        text = "";
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\r' && text[j] != '\n')
            j++;
        n += j > i;
        i = j + 1;
    }
    if (n == 0)
        return err_set(ei, ERR_INVALID, NULL, "empty message");
    if (n > ASTM_RECORDS_MAX)
        return err_set(ei, ERR_TOO_LARGE, NULL, "%zu records, more than %d", n, ASTM_RECORDS_MAX);
    astm_record *recs = arena_alloc(a, n * sizeof *recs);
    if (!recs)
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    astm_delims d = astm_standard_delims;
    bool repaired_any = false;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\r' && text[j] != '\n')
            j++;
        if (j > i) {
            strv rec = {text + i, j - i};
            if (is_header(rec)) {
                bool repaired = false;
                err_t rc = astm_parse_delims(rec, &d, &repaired, ei);
                if (rc) {
                    if (ei) {
                        ei->line = (int)(k < 0x7fffffff ? k + 1 : 0x7fffffff);
                        ei->column = 3;
                    }
                    return rc;
                }
                repaired_any |= repaired;
            }
            err_t rc = parse_record(rec, &d, a, &recs[k]);
            if (rc)
                return err_set(ei, rc, NULL, NULL);
            recs[k].index = k;
            k++;
        }
        i = j + 1;
    }
    out->records = recs;
    out->nrecords = k;
    out->has_header = recs[0].type == 'H' && is_header(recs[0].text);
    if (out->has_header)
        out->delims = recs[0].delims;
    out->delims_repaired = repaired_any;
    return ERR_OK;
}

const astm_record *astm_record_at(const astm_message *m, size_t i)
{
    return i < m->nrecords ? &m->records[i] : NULL;
}

size_t astm_find(const astm_message *m, char type, size_t from)
{
    for (size_t i = from; i < m->nrecords; i++)
        if (m->records[i].type == type)
            return i;
    return m->nrecords;
}

const char *astm_type_name(char type)
{
    switch (type) {
    case 'H':
        return "header";
    case 'P':
        return "patient";
    case 'O':
        return "order";
    case 'R':
        return "result";
    case 'C':
        return "comment";
    case 'Q':
        return "query";
    case 'M':
        return "manufacturer";
    case 'S':
        return "scientific";
    case 'L':
        return "terminator";
    }
    return "unknown";
}

strv astm_field(const astm_record *r, size_t n)
{
    return n >= 1 && n <= r->nfields ? r->fields[n - 1] : empty;
}

/* H.2 holds the delimiters themselves and is never split. */
static bool is_def(const astm_record *r, size_t n)
{
    return n == 2 && is_header(r->text);
}

size_t astm_repeat_count(const astm_record *r, size_t n)
{
    strv f = astm_field(r, n);
    if (f.n == 0)
        return 0;
    return is_def(r, n) ? 1 : astm_count(f, r->delims.repeat);
}

strv astm_repeat(const astm_record *r, size_t n, size_t rep)
{
    strv f = astm_field(r, n);
    if (is_def(r, n))
        return rep == 1 ? f : empty;
    return astm_part(f, r->delims.repeat, rep);
}

strv astm_component(const astm_record *r, size_t n, size_t rep, size_t comp)
{
    if (rep == 0)
        rep = 1;
    if (is_def(r, n))
        return rep == 1 && comp == 1 ? astm_field(r, n) : empty;
    return astm_part(astm_repeat(r, n, rep), r->delims.component, comp);
}

err_t astm_get(const astm_record *r, size_t n, size_t rep, size_t comp, arena *a, strv *out)
{
    strv v;
    if (comp)
        v = astm_component(r, n, rep, comp);
    else if (rep)
        v = astm_repeat(r, n, rep);
    else
        v = astm_field(r, n);
    *out = v;
    if (is_def(r, n) || !memchr(v.p, r->delims.escape, v.n))
        return ERR_OK;
    buf b = BUF_INIT;
    err_t rc = astm_unescape(v, &r->delims, &b);
    char *copy = rc ? NULL : arena_strndup(a, b.data ? b.data : "", b.len);
    size_t blen = b.len;
    buf_free(&b);
    if (!copy) {
        *out = empty;
        return ERR_NOMEM;
    }
    *out = (strv){copy, blen};
    return ERR_OK;
}

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

err_t astm_unescape(strv in, const astm_delims *d, buf *out)
{
    err_t rc = buf_reserve(out, in.n);
    if (rc)
        return rc;
    const char *p = in.p;
    size_t n = in.n, i = 0;
    char esc = d->escape;
    while (i < n) {
        if (p[i] != esc) {
            size_t j = i;
            while (j < n && p[j] != esc)
                j++;
            buf_append(out, p + i, j - i); /* reserved: cannot fail */
            i = j;
            continue;
        }
        size_t k = i + 1;
        while (k < n && p[k] != esc)
            k++;
        if (k == n) { /* no closing escape: copied as it is */
            buf_append(out, p + i, n - i);
            break;
        }
        const char *s = p + i + 1;
        size_t sl = k - i - 1;
        char one = 0;
        if (sl == 1) {
            one = s[0] == 'F'   ? d->field
                  : s[0] == 'S' ? d->component
                  : s[0] == 'R' ? d->repeat
                  : s[0] == 'E' ? d->escape
                                : 0;
        }
        if (one) {
            buf_append(out, &one, 1);
        } else if (sl >= 3 && s[0] == 'X' && (sl - 1) % 2 == 0) {
            bool ok = true;
            for (size_t m = 1; m < sl && ok; m++)
                ok = hexval(s[m]) >= 0;
            if (ok) {
                for (size_t m = 1; m < sl; m += 2) {
                    char byte = (char)(hexval(s[m]) * 16 + hexval(s[m + 1]));
                    buf_append(out, &byte, 1);
                }
            } else {
                buf_append(out, p + i, k + 1 - i);
            }
        } else {
            buf_append(out, p + i, k + 1 - i); /* &Z..& and the unknown */
        }
        i = k + 1;
    }
    return ERR_OK;
}

err_t astm_escape(strv in, const astm_delims *d, buf *out)
{
    static const char hexdig[] = "0123456789ABCDEF";
    size_t start = out->len;
    for (size_t i = 0; i < in.n; i++) {
        unsigned char c = (unsigned char)in.p[i];
        char seq[5] = {d->escape, 0, d->escape, 0, 0};
        size_t sl = 3;
        if (c == (unsigned char)d->field)
            seq[1] = 'F';
        else if (c == (unsigned char)d->component)
            seq[1] = 'S';
        else if (c == (unsigned char)d->repeat)
            seq[1] = 'R';
        else if (c == (unsigned char)d->escape)
            seq[1] = 'E';
        else if (c < 0x20 || c == 0x7F) {
            seq[1] = 'X';
            seq[2] = hexdig[c >> 4];
            seq[3] = hexdig[c & 15];
            seq[4] = d->escape;
            sl = 5;
        } else {
            seq[0] = (char)c;
            sl = 1;
        }
        if (buf_append(out, seq, sl)) {
            out->len = start;
            if (out->data)
                out->data[start] = '\0';
            return ERR_NOMEM;
        }
    }
    return ERR_OK;
}

/* ---- the writer ---- */

void astm_writer_init(astm_writer *w, buf *out, const astm_delims *d)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->delims = d ? *d : astm_standard_delims;
    if (!delims_ok(&w->delims))
        w->err = ERR_INVALID;
}

err_t astm_writer_error(const astm_writer *w)
{
    return w->err;
}

static void put(astm_writer *w, const char *p, size_t n)
{
    if (!w->err && buf_append(w->out, p, n))
        w->err = ERR_NOMEM;
}

static void putc_(astm_writer *w, char c)
{
    put(w, &c, 1);
}

void astm_write_end(astm_writer *w)
{
    if (w->err || !w->in_record)
        return;
    putc_(w, '\r');
    w->in_record = false;
}

void astm_write_begin(astm_writer *w, char type)
{
    if (w->err)
        return;
    astm_write_end(w);
    const astm_delims *d = &w->delims;
    if (type <= 0x20 || type >= 0x7F || type == d->field || type == d->repeat ||
        type == d->component || type == d->escape) {
        w->err = ERR_USAGE;
        return;
    }
    putc_(w, type);
    w->in_record = true;
    w->type = type;
    w->field = 1;
    w->comp = 1;
    w->comp_used = true;
    if (type == 'H') {
        char def[4] = {d->field, d->repeat, d->component, d->escape};
        put(w, def, 4);
        w->field = 2; /* the definition: nothing more may go in it */
        w->pseq = w->oseq = w->qseq = 0;
    } else if (type == 'P') {
        w->oseq = 0;
    }
}

/* Position the output at component comp of field n (current repeat). */
static bool seek(astm_writer *w, size_t n, size_t comp)
{
    if (w->err)
        return false;
    if (!w->in_record || n < 2 || comp < 1 || n < w->field || (w->type == 'H' && n == 2)) {
        w->err = ERR_USAGE;
        return false;
    }
    while (w->field < n) {
        putc_(w, w->delims.field);
        w->field++;
        w->comp = 1;
        w->comp_used = false;
    }
    if (comp < w->comp || (comp == w->comp && w->comp_used)) {
        w->err = ERR_USAGE;
        return false;
    }
    while (w->comp < comp) {
        putc_(w, w->delims.component);
        w->comp++;
    }
    w->comp_used = true;
    return !w->err;
}

void astm_write_component(astm_writer *w, size_t n, size_t comp, strv text)
{
    if (!seek(w, n, comp))
        return;
    if (astm_escape(text, &w->delims, w->out))
        w->err = ERR_NOMEM;
}

void astm_write_text(astm_writer *w, size_t n, strv text)
{
    astm_write_component(w, n, 1, text);
}

void astm_write_uint(astm_writer *w, size_t n, unsigned v)
{
    char d[16];
    size_t k = sizeof d;
    do {
        d[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (seek(w, n, 1))
        put(w, d + k, sizeof d - k);
}

void astm_write_repeat(astm_writer *w)
{
    if (w->err)
        return;
    if (!w->in_record || w->field < 2 || (w->type == 'H' && w->field == 2) || !w->comp_used) {
        w->err = ERR_USAGE;
        return;
    }
    putc_(w, w->delims.repeat);
    w->comp = 1;
    w->comp_used = false;
}

/* Write a value only when there is one, so that records carry no trailing
 * empty fields. */
static void opt(astm_writer *w, size_t n, size_t comp, strv v)
{
    if (v.n)
        astm_write_component(w, n, comp, v);
}

static strv or_default(strv v, const char *dflt)
{
    return v.n ? v : (strv){dflt, strlen(dflt)};
}

void astm_write_header(astm_writer *w, const astm_header_spec *h)
{
    astm_write_begin(w, 'H');
    opt(w, 3, 1, h->message_id);
    opt(w, 4, 1, h->password);
    opt(w, 5, 1, h->sender);
    opt(w, 10, 1, h->receiver);
    astm_write_text(w, 12, or_default(h->processing_id, "P"));
    astm_write_text(w, 13, or_default(h->version, "LIS2-A2"));
    opt(w, 14, 1, h->timestamp);
    astm_write_end(w);
}

void astm_write_patient(astm_writer *w, const astm_patient_spec *p)
{
    astm_write_begin(w, 'P');
    astm_write_uint(w, 2, ++w->pseq);
    opt(w, 3, 1, p->practice_id);
    opt(w, 4, 1, p->lab_id);
    opt(w, 6, 1, p->last_name);
    opt(w, 6, 2, p->first_name);
    opt(w, 8, 1, p->birth_date);
    opt(w, 9, 1, p->sex);
    astm_write_end(w);
}

void astm_write_order(astm_writer *w, const astm_order_spec *o)
{
    astm_write_begin(w, 'O');
    astm_write_uint(w, 2, ++w->oseq);
    opt(w, 3, 1, o->specimen_id);
    size_t written = 0;
    for (size_t i = 0; i < o->ntests; i++) {
        if (o->tests[i].n == 0)
            continue;
        if (written++)
            astm_write_repeat(w);
        astm_write_component(w, 5, 4, o->tests[i]);
    }
    opt(w, 6, 1, o->priority);
    opt(w, 7, 1, o->requested);
    opt(w, 8, 1, o->collected);
    opt(w, 12, 1, o->action);
    opt(w, 16, 1, o->specimen_type);
    opt(w, 26, 1, o->report_type);
    astm_write_end(w);
}

void astm_write_query(astm_writer *w, const astm_query_spec *q)
{
    astm_write_begin(w, 'Q');
    astm_write_uint(w, 2, ++w->qseq);
    opt(w, 3, 1, q->patient_id);
    opt(w, 3, 2, q->specimen_id);
    astm_write_component(w, 5, 4, or_default(q->test, "ALL"));
    astm_write_text(w, 13, or_default(q->status, "O"));
    astm_write_end(w);
}

void astm_write_terminator(astm_writer *w, char code)
{
    astm_write_begin(w, 'L');
    astm_write_uint(w, 2, 1);
    if (code)
        astm_write_text(w, 3, (strv){&code, 1});
    astm_write_end(w);
}
