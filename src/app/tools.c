/*
 * tools.c - HL7 and ASTM messages as JSON (see tools.h).
 */
#include "app/tools.h"

#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/utf8.h"

#include "proto/astm.h"
#include "proto/e1381.h"
#include "proto/hl7.h"

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
