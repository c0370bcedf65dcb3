/*
 * tools.c - HL7 and ASTM messages as JSON, and QC results from CSV judged by
 * the Westgard rules (see tools.h).
 */
#include "app/tools.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "base/utf8.h"

#include "proto/astm.h"
#include "proto/e1381.h"
#include "proto/hl7.h"
#include "qc/westgard.h"

/* s as a JSON string; bytes that are no UTF-8 (instruments often send
 * Latin-1) become U+FFFD, so the output stays valid JSON and shows them. */
static json_t *string_of(strv s)
{
    json_t *v = json_stringn(s.p ? s.p : "", s.n);
    if (v)
        return v;
    buf b = BUF_INIT;
    for (size_t i = 0; i < s.n;) {
        char tmp[5];
        size_t n = s.n - i < 4 ? s.n - i : 4, used = 1;
        memcpy(tmp, s.p + i, n);
        tmp[n] = '\0';
        int32_t cp = tmp[0] ? utf8_decode((const unsigned char *)tmp, &used) : 0;
        if (cp < 0 || (cp == 0 && s.p[i] != '\0'))
            buf_append(&b, "\xEF\xBF\xBD", 3);
        else if (cp == 0)
            buf_append(&b, "\xEF\xBF\xBD", 3); /* NUL has no place in a JSON string here */
        else
            buf_append(&b, s.p + i, used);
        i += used;
    }
    v = json_stringn(b.data ? b.data : "", b.len);
    buf_free(&b);
    return v;
}

/* An unescaped HL7 value. */
static json_t *hl7_text(strv v, const hl7_delims *d, arena *a)
{
    strv plain;
    if (hl7_decode(v, d, a, &plain))
        return NULL;
    return string_of(plain);
}

/* A field as text, or repetitions of components (of sub-components). */
static json_t *hl7_value(strv field, const hl7_delims *d, arena *a)
{
    if (!memchr(field.p ? field.p : "", d->repetition, field.n) &&
        !memchr(field.p ? field.p : "", d->component, field.n) &&
        !memchr(field.p ? field.p : "", d->subcomponent, field.n))
        return hl7_text(field, d, a);
    json_t *reps = json_array();
    size_t nr = hl7_count(field, d->repetition);
    for (size_t r = 1; reps && r <= nr; r++) {
        strv rep = hl7_repetition(field, d, r);
        json_t *comps = json_array();
        size_t nc = hl7_count(rep, d->component);
        for (size_t c = 1; comps && c <= nc; c++) {
            strv comp = hl7_component(rep, d, c);
            size_t ns = hl7_count(comp, d->subcomponent);
            if (ns <= 1) {
                json_array_append_new(comps, hl7_text(comp, d, a));
                continue;
            }
            json_t *subs = json_array();
            for (size_t sc = 1; subs && sc <= ns; sc++)
                json_array_append_new(subs, hl7_text(hl7_subcomponent(comp, d, sc), d, a));
            json_array_append_new(comps, subs);
        }
        json_array_append_new(reps, comps);
    }
    return reps;
}

err_t tools_hl7_json(const char *bytes, size_t len, json_t **out, errinfo *ei)
{
    arena a;
    hl7_msg m;
    json_t *segs = NULL;
    err_t rc;
    *out = NULL;
    arena_init(&a, 0);
    rc = hl7_parse(bytes, len, &a, &m, ei);
    if (rc)
        goto done;
    segs = json_array();
    for (size_t i = 0; segs && i < hl7_segment_count(&m); i++) {
        hl7_seg s = hl7_segment(&m, i);
        json_t *fields = json_array();
        bool msh = !strcmp(s.id, "MSH");
        for (size_t f = 1; fields && f <= hl7_field_count(&s); f++) {
            strv v = hl7_field(&s, f);
            /* MSH-1 and MSH-2 are the delimiters themselves, never split */
            json_array_append_new(fields,
                                  msh && f <= 2 ? string_of(v) : hl7_value(v, &s.delims, &a));
        }
        json_array_append_new(segs, json_pack("{s:s,s:o}", "id", s.id, "fields", fields));
    }
    char delims[6] = {m.delims.field,  m.delims.component,    m.delims.repetition,
                      m.delims.escape, m.delims.subcomponent, m.delims.truncation};
    *out = json_pack("{s:s%,s:o,s:I}", "delimiters", delims, strlen(delims), "segments", segs,
                     "wrapped_lines", (json_int_t)m.wrapped);
    segs = NULL;
    rc = *out ? ERR_OK : ERR_NOMEM;
done:
    json_decref(segs);
    arena_free(&a);
    return rc;
}

static json_t *astm_text(const astm_record *r, size_t n, size_t rep, size_t comp, arena *a)
{
    strv v;
    if (astm_get(r, n, rep, comp, a, &v))
        return NULL;
    return string_of(v);
}

static json_t *astm_value(const astm_record *r, size_t n, arena *a)
{
    strv field = astm_field(r, n);
    const astm_delims *d = &r->delims;
    /* H.2, the delimiter definition, is one value */
    if ((r->type == 'H' && n == 2) || (!memchr(field.p ? field.p : "", d->repeat, field.n) &&
                                       !memchr(field.p ? field.p : "", d->component, field.n)))
        return astm_text(r, n, 0, 0, a);
    json_t *reps = json_array();
    for (size_t rep = 1; reps && rep <= astm_repeat_count(r, n); rep++) {
        json_t *comps = json_array();
        size_t nc = astm_count(astm_repeat(r, n, rep), d->component);
        for (size_t c = 1; comps && c <= nc; c++)
            json_array_append_new(comps, astm_text(r, n, rep, c, a));
        json_array_append_new(reps, comps);
    }
    return reps;
}

static const char *kind_name(e1381_capture_kind k)
{
    switch (k) {
    case E1381_CAPTURE_FRAMED:
        return "framed";
    case E1381_CAPTURE_BARE:
        return "bare";
    case E1381_CAPTURE_BLOCK:
        return "block";
    case E1381_CAPTURE_VIDAS:
        return "vidas";
    }
    return "unknown";
}

err_t tools_astm_json(const char *bytes, size_t len, json_t **out, errinfo *ei)
{
    arena a;
    e1381_capture cap;
    json_t *msgs = json_array();
    err_t rc;
    *out = NULL;
    arena_init(&a, 0);
    if (!msgs) {
        rc = ERR_NOMEM;
        goto done;
    }
    rc = e1381_capture_decode(bytes, len, &a, &cap, ei);
    if (rc)
        goto done;
    for (size_t i = 0; i < cap.nmsgs; i++) {
        const e1381_capture_msg *cm = &cap.msgs[i];
        json_t *recs = json_array();
        astm_message m;
        if (cm->kind == E1381_CAPTURE_FRAMED || cm->kind == E1381_CAPTURE_BARE) {
            rc = astm_parse_message(cm->text.p, cm->text.n, &a, &m, ei);
            if (rc) {
                json_decref(recs);
                goto done;
            }
            for (size_t k = 0; k < m.nrecords; k++) {
                const astm_record *r = astm_record_at(&m, k);
                json_t *fields = json_array();
                for (size_t f = 1; fields && f <= r->nfields; f++)
                    json_array_append_new(fields, astm_value(r, f, &a));
                char type[2] = {r->type, '\0'};
                json_array_append_new(recs, json_pack("{s:s,s:s,s:o}", "type", type, "name",
                                                      astm_type_name(r->type), "fields", fields));
            }
        }
        json_t *msg =
            json_pack("{s:s,s:I,s:I,s:I,s:b,s:o}", "kind", kind_name(cm->kind), "frames",
                      (json_int_t)cm->nframes, "bad_checksums", (json_int_t)cm->bad_checksums,
                      "frame_number_breaks", (json_int_t)cm->fn_breaks, "incomplete",
                      cm->incomplete, "records", recs);
        if (cm->kind == E1381_CAPTURE_BLOCK || cm->kind == E1381_CAPTURE_VIDAS)
            json_object_set_new(msg, "text", string_of(cm->text));
        json_array_append_new(msgs, msg);
    }
    *out = json_pack("{s:O,s:I}", "messages", msgs, "truncated_frames", (json_int_t)cap.truncated);
    rc = *out ? ERR_OK : ERR_NOMEM;
done:
    json_decref(msgs);
    arena_free(&a);
    return rc;
}

/* --- QC results from CSV ---------------------------------------------------- */

enum { COL_TIME, COL_RUN, COL_LEVEL, COL_VALUE, COL_MEAN, COL_SD, COL__COUNT };

static const char *const qc_column_names[COL__COUNT] = {"time",  "run",  "level",
                                                        "value", "mean", "sd"};

/* Most columns a line may have. */
#define CSV_FIELDS_MAX 64

/* Where the reader is, for messages. */
struct csv_at {
    errinfo *ei;
    size_t row;  /* data row, 1-based; 0 for the header */
    size_t line; /* line of the file, 1-based */
};

static err_t csv_fail(const struct csv_at *at, const char *column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static err_t csv_fail(const struct csv_at *at, const char *column, const char *fmt, ...)
{
    char what[400], where[100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (at->row == 0)
        snprintf(where, sizeof where, "line %zu (the header)", at->line);
    else if (column)
        snprintf(where, sizeof where, "row %zu (line %zu), column %s", at->row, at->line, column);
    else
        snprintf(where, sizeof where, "row %zu (line %zu)", at->row, at->line);
    err_set(at->ei, ERR_INVALID, column, "%s: %s", where, what);
    if (at->ei)
        at->ei->line = at->line > (size_t)INT32_MAX ? 0 : (int)at->line;
    return ERR_INVALID;
}

static bool csv_blank(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Split line at commas into f[0..*n). A field in double quotes may hold
 * commas, and "" for a quote (then it is copied into a without the doubled
 * quotes); otherwise fields are views of line. Spaces and tabs around a field
 * are dropped.
 */
static err_t csv_split(strv line, arena *a, const struct csv_at *at, strv *f, size_t *n)
{
    size_t i = 0;
    *n = 0;
    for (;;) {
        strv v;
        while (i < line.n && csv_blank(line.p[i]))
            i++;
        if (i < line.n && line.p[i] == '"') {
            size_t start = ++i;
            bool doubled = false;
            for (;;) {
                if (i >= line.n)
                    return csv_fail(at, NULL, "a quoted field is not closed");
                if (line.p[i] == '"' && i + 1 < line.n && line.p[i + 1] == '"') {
                    doubled = true;
                    i += 2;
                } else if (line.p[i] == '"') {
                    break;
                } else {
                    i++;
                }
            }
            v = (strv){line.p + start, i - start};
            i++;
            if (doubled) {
                char *copy = arena_alloc(a, v.n);
                size_t k = 0;
                if (!copy)
                    return err_set(at->ei, ERR_NOMEM, NULL, NULL);
                for (size_t j = 0; j < v.n; j++) {
                    copy[k++] = v.p[j];
                    if (v.p[j] == '"')
                        j++;
                }
                v = (strv){copy, k};
            }
            while (i < line.n && csv_blank(line.p[i]))
                i++;
            if (i < line.n && line.p[i] != ',')
                return csv_fail(at, NULL, "text after the closing quote of field %zu", *n + 1);
        } else {
            size_t start = i;
            while (i < line.n && line.p[i] != ',')
                i++;
            size_t end = i;
            while (end > start && csv_blank(line.p[end - 1]))
                end--;
            v = (strv){line.p + start, end - start};
        }
        if (*n == CSV_FIELDS_MAX)
            return csv_fail(at, NULL, "more than %d fields", CSV_FIELDS_MAX);
        f[(*n)++] = v;
        if (i >= line.n)
            return ERR_OK;
        i++; /* the comma */
    }
}

/* The header: which field holds each column. */
static err_t csv_header(const strv *f, size_t n, const struct csv_at *at, size_t col[COL__COUNT])
{
    for (int c = 0; c < COL__COUNT; c++)
        col[c] = SIZE_MAX;
    for (size_t k = 0; k < n; k++)
        for (int c = 0; c < COL__COUNT; c++) {
            if (!strv_eq_nocase(f[k], qc_column_names[c]))
                continue;
            if (col[c] != SIZE_MAX)
                return csv_fail(at, NULL, "column '%s' twice (fields %zu and %zu)",
                                qc_column_names[c], col[c] + 1, k + 1);
            col[c] = k;
        }
    for (int c = 0; c < COL__COUNT; c++)
        if (col[c] == SIZE_MAX)
            return csv_fail(at, NULL,
                            "no column '%s' (the header wants time,run,level,value,mean,sd)",
                            qc_column_names[c]);
    return ERR_OK;
}

/* A run or level: a whole number, or text. */
static err_t csv_key(strv v, const struct csv_at *at, const char *column, qc_westgard_key *key)
{
    char tmp[TOOLS_QC_KEY_MAX + 1];
    int64_t num;
    if (v.n == 0)
        return csv_fail(at, column, "empty");
    if (!str_to_int64(v.p, v.n, INT64_MIN, INT64_MAX, &num)) {
        *key = (qc_westgard_key){{NULL, 0}, num};
        return ERR_OK;
    }
    if (v.n > TOOLS_QC_KEY_MAX)
        return csv_fail(at, column, "longer than %d bytes", TOOLS_QC_KEY_MAX);
    memcpy(tmp, v.p, v.n);
    tmp[v.n] = '\0';
    for (size_t i = 0; i < v.n;) {
        size_t used = 1;
        unsigned char c = (unsigned char)tmp[i];
        if (c < 0x20 || c == 0x7f)
            return csv_fail(at, column, "a control character at byte %zu", i + 1);
        if (utf8_decode((const unsigned char *)tmp + i, &used) < 0)
            return csv_fail(at, column, "not UTF-8 at byte %zu", i + 1);
        i += used;
    }
    *key = (qc_westgard_key){v, 0};
    return ERR_OK;
}

static err_t csv_number(strv v, const struct csv_at *at, const char *column, double *out)
{
    if (v.n == 0)
        return csv_fail(at, column, "empty");
    if (str_to_double(v.p, v.n, out))
        return csv_fail(at, column, "not a decimal number: '%.*s'", (int)(v.n > 40 ? 40 : v.n),
                        v.p);
    return ERR_OK;
}

static err_t csv_time(strv v, const struct csv_at *at, int64_t *out)
{
    errinfo tei;
    err_clear(&tei);
    if (v.n == 0)
        return csv_fail(at, "time", "empty");
    if (v.n <= 10) /* a date alone */
        return csv_fail(at, "time",
                        "wants a date-time with a zone (2026-03-02T08:00:00Z), got '%.*s'",
                        (int)v.n, v.p);
    if (time_parse_iso(v.p, v.n, out, &tei))
        return csv_fail(at, "time", "%s", tei.message);
    return ERR_OK;
}

/* One violation as a JSON line. */
static err_t qc_violation_json(const qc_westgard_violation *v, const qc_westgard_point *pts, buf *b)
{
    char when[TIME_ISO_LEN];
    if (v->npoints == 0) /* every violation has the point that completed it */
        return ERR_INTERNAL;
    err_t rc = buf_printf(b, "{\"rule\":\"%s\",\"scope\":\"%s\",\"level\":",
                          qc_westgard_rule_name(v->rule), qc_westgard_scope_name(v->scope));
    if (!rc && !v->level)
        rc = buf_puts(b, "null");
    else if (!rc && !v->level->text.p)
        rc = buf_printf(b, "%lld", (long long)v->level->num);
    else if (!rc)
        rc = str_json_quote(b, v->level->text.p, v->level->text.n);
    if (!rc)
        rc = buf_puts(b, ",\"rows\":[");
    for (size_t k = 0; !rc && k < v->npoints; k++)
        rc = buf_printf(b, "%s%zu", k ? "," : "", v->points[k] + 1);
    time_format_iso(pts[v->points[v->npoints - 1]].time, when);
    if (!rc)
        rc = buf_printf(b, "],\"time\":\"%s\",\"action\":\"%s\"}\n", when,
                        v->reject ? "reject" : "warning");
    return rc;
}

err_t tools_qc_evaluate(const char *csv, size_t len, uint32_t rules, buf *out, errinfo *ei)
{
    qc_westgard_point *pts = NULL;
    size_t *lines = NULL, npts = 0, cap = 0, col[COL__COUNT], nf, nheader = 0, start = 0;
    qc_westgard_violations vs = QC_WESTGARD_VIOLATIONS_INIT;
    struct csv_at at = {ei, 0, 0};
    size_t out_len = out->len;
    strv f[CSV_FIELDS_MAX];
    bool header = true;
    arena a;
    err_t rc = ERR_OK;

    arena_init(&a, 0);
    if (len >= 3 && !memcmp(csv, "\xEF\xBB\xBF", 3))
        start = 3;
    while (start < len || header) {
        const char *nl = start < len ? memchr(csv + start, '\n', len - start) : NULL;
        size_t end = nl ? (size_t)(nl - csv) : len;
        strv line = {csv + start, end - start};
        start = end + 1;
        at.line++;
        if (line.n && line.p[line.n - 1] == '\r')
            line.n--;
        if (header) {
            at.row = 0;
            if (line.n == 0) {
                rc = csv_fail(&at, NULL,
                              "empty; the first line names the columns time,run,level,value,"
                              "mean,sd");
                goto done;
            }
            rc = csv_split(line, &a, &at, f, &nf);
            if (!rc)
                rc = csv_header(f, nf, &at, col);
            if (rc)
                goto done;
            nheader = nf;
            header = false;
            continue;
        }
        if (line.n == 0)
            continue;
        at.row = npts + 1;
        if (npts == TOOLS_QC_ROWS_MAX) {
            rc = csv_fail(&at, NULL, "more than %d rows", TOOLS_QC_ROWS_MAX);
            goto done;
        }
        rc = csv_split(line, &a, &at, f, &nf);
        if (rc)
            goto done;
        if (nf < nheader) {
            int first = -1; /* the leftmost column missing */
            for (int c = 0; c < COL__COUNT; c++)
                if (col[c] >= nf && (first < 0 || col[c] < col[first]))
                    first = c;
            if (first < 0)
                rc = csv_fail(&at, NULL, "%zu fields, the header has %zu", nf, nheader);
            else
                rc = csv_fail(&at, qc_column_names[first],
                              "missing (the row has %zu fields, the header %zu)", nf, nheader);
            goto done;
        }
        if (nf > nheader) {
            rc =
                csv_fail(&at, NULL, "%zu fields, the header has %zu (a decimal comma needs quotes)",
                         nf, nheader);
            goto done;
        }
        if (npts == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            qc_westgard_point *np = realloc(pts, ncap * sizeof(*np));
            if (np)
                pts = np;
            size_t *nl2 = np ? realloc(lines, ncap * sizeof(*nl2)) : NULL;
            if (!nl2) {
                rc = err_set(ei, ERR_NOMEM, NULL, NULL);
                goto done;
            }
            lines = nl2;
            cap = ncap;
        }
        qc_westgard_point *p = &pts[npts];
        memset(p, 0, sizeof *p);
        rc = csv_time(f[col[COL_TIME]], &at, &p->time);
        if (!rc)
            rc = csv_key(f[col[COL_RUN]], &at, "run", &p->run);
        if (!rc)
            rc = csv_key(f[col[COL_LEVEL]], &at, "level", &p->level);
        if (!rc)
            rc = csv_number(f[col[COL_VALUE]], &at, "value", &p->value);
        if (!rc)
            rc = csv_number(f[col[COL_MEAN]], &at, "mean", &p->mean);
        if (!rc)
            rc = csv_number(f[col[COL_SD]], &at, "sd", &p->sd);
        if (rc)
            goto done;
        errinfo pei;
        err_clear(&pei);
        if (qc_westgard_point_check(p, npts ? &pts[npts - 1] : NULL, &pei)) {
            rc = csv_fail(&at, pei.field, "%s", pei.message);
            goto done;
        }
        lines[npts++] = at.line;
    }

    if (npts == 0) /* a header alone: nothing to judge */
        goto done;
    errinfo eei;
    err_clear(&eei);
    rc = qc_westgard_eval(pts, npts, rules, &vs, &eei);
    if (rc == ERR_INVALID && eei.line > 0 && (size_t)eei.line <= npts) {
        at.row = (size_t)eei.line;
        at.line = lines[eei.line - 1];
        rc = csv_fail(&at, eei.field[0] ? eei.field : NULL, "%s", eei.message);
    } else if (rc) {
        rc = err_set(ei, rc, eei.field[0] ? eei.field : NULL, "%s", eei.message);
    }
    for (size_t k = 0; !rc && k < vs.n; k++)
        rc = qc_violation_json(&vs.v[k], pts, out);
    if (rc == ERR_NOMEM || rc == ERR_INTERNAL)
        err_set(ei, rc, NULL, NULL);
done:
    if (rc) {
        out->len = out_len;
        if (out->data)
            out->data[out_len] = '\0';
    }
    qc_westgard_violations_free(&vs);
    free(pts);
    free(lines);
    arena_free(&a);
    return rc;
}
