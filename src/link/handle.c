/*
 * handle.c - inbound messages (see handle.h).
 */
#include "link/handle.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/jsonv.h"
#include "base/time.h"
#include "care/vitals.h"
#include "lab/catalog.h"
#include "lab/instrument.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "lab/result.h"
#include "lab/specimen.h"
#include "lab/journal.h"
#include "proto/astm.h"
#include "proto/hl7.h"
#include "qc/qc.h"

#define OUR_APPLICATION "benchside"
#define OUR_FACILITY    "LAB"
#define MAX_GROUPS      64

/* What one message turned out to be, for the journal and the reply. */
typedef struct outcome {
    const char *status; /* accepted, duplicate, rejected, error */
    const char *ack;    /* AA AE AR / ACK NAK */
    char error[384];
    char field[64];
    int hl7_code;      /* HL7 table 0357 code for ERR-3 */
    char location[32]; /* ERR-2: "OBX^3^5" */
    json_t *summary;
} outcome;

static void refuse(outcome *o, const char *status, const char *ack, int code, const char *field,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void refuse(outcome *o, const char *status, const char *ack, int code, const char *field,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->error, sizeof(o->error), fmt, ap);
    va_end(ap);
    o->status = status;
    o->ack = ack;
    o->hl7_code = code;
    snprintf(o->field, sizeof(o->field), "%s", field ? field : "");
}

static void copy_strv(char *out, size_t n, strv v)
{
    size_t k = v.n < n - 1 ? v.n : n - 1;
    memcpy(out, v.p, k);
    out[k] = '\0';
}

/* A value's plain text (HL7 unescaped), trimmed of spaces, into out. */
static void hl7_text(strv raw, const hl7_delims *dl, arena *a, char *out, size_t n)
{
    strv v = raw;
    if (hl7_decode(raw, dl, a, &v))
        v = raw;
    v = astm_trim(v);
    copy_strv(out, n, v);
}

static void astm_text(const astm_record *r, size_t f, size_t rep, size_t comp, arena *a, char *out,
                      size_t n)
{
    strv v = {"", 0};
    if (astm_get(r, f, rep, comp, a, &v))
        v = (strv){"", 0};
    copy_strv(out, n, astm_trim(v));
}

/* The audit actor for messages from an instrument. */
typedef struct actor {
    char name[80], source[160];
    audit_ctx ctx;
} actor;

static void actor_init(actor *ac, const char *inst_name, const link_msg *m)
{
    snprintf(ac->name, sizeof(ac->name), "interface:%s", inst_name);
    snprintf(ac->source, sizeof(ac->source), "%s:%s", m->transport, m->peer);
    ac->ctx = (audit_ctx){NULL, ac->name, ac->source};
}

/* ---- results, shared by HL7 and ASTM ---- */

/* The results of one specimen, and where each came from in the message. */
typedef struct group {
    char accession[40];
    char mrn[PATIENT_MRN_MAX + 1]; /* the sender's patient id, "" when none */
    json_t *items;
    size_t where[RESULT_BATCH_MAX]; /* segment / record number (1-based) of each */
} group;

typedef struct groups {
    group g[MAX_GROUPS];
    size_t n;
} groups;

static group *group_for(groups *gs, const char *accession, const char *mrn, outcome *o)
{
    for (size_t i = 0; i < gs->n; i++)
        if (!strcmp(gs->g[i].accession, accession))
            return &gs->g[i];
    if (gs->n == MAX_GROUPS) {
        refuse(o, "rejected", "AR", 207, NULL, "more than %d specimens in one message", MAX_GROUPS);
        return NULL;
    }
    group *g = &gs->g[gs->n++];
    memset(g, 0, sizeof(*g));
    snprintf(g->accession, sizeof(g->accession), "%s", accession);
    snprintf(g->mrn, sizeof(g->mrn), "%s", mrn);
    g->items = json_array();
    return g;
}

static void groups_free(groups *gs)
{
    for (size_t i = 0; i < gs->n; i++)
        json_decref(gs->g[i].items);
    gs->n = 0;
}

static bool add_result(group *g, size_t where, const char *code, const char *value,
                       const char *unit, const char *flags, const char *inst_name, outcome *o)
{
    size_t k = json_array_size(g->items);
    if (k == RESULT_BATCH_MAX) {
        refuse(o, "rejected", "AR", 207, NULL, "more than %d results for specimen %s",
               RESULT_BATCH_MAX, g->accession);
        return false;
    }
    json_t *it = json_pack("{s:s,s:s,s:s}", "code", code, "value", value, "instrument", inst_name);
    if (!it)
        return false;
    if (unit && *unit)
        json_object_set_new(it, "unit", json_string(unit));
    if (flags && *flags)
        json_object_set_new(it, "instrument_flags", json_string(flags));
    g->where[k] = where;
    json_array_append_new(g->items, it);
    return true;
}

/* The results of a group whose specimen id is a control material's: each
 * recorded and judged as QC of its test on this instrument. */
static err_t store_qc(db *d, const audit_ctx *ctx, const group *g, const char *material,
                      const char *seg_name, const char *const fields[3], outcome *o, errinfo *ei)
{
    json_t *list = json_object_get(o->summary, "qc_results"), *it;
    size_t k;
    if (!list) {
        list = json_array();
        json_object_set_new(o->summary, "qc_results", list);
    }
    json_array_foreach(g->items, k, it)
    {
        char code[CATALOG_CODE_MAX + 1];
        const char *inst = jsonv_str(it, "instrument");
        errinfo e2 = {0};
        err_t rc = catalog_resolve(d, inst, jsonv_str(it, "code"), code, &e2);
        json_t *res = NULL;
        if (!rc) {
            qc_input in = {
                .material_id = material,
                .test = code,
                .instrument = inst,
                .value = jsonv_str(it, "value"),
                .operator_name = ctx->actor,
                .from_instrument = true,
            };
            rc = qc_result_record(d, ctx, &in, &res, &e2);
        }
        if (rc == ERR_NOMEM || rc == ERR_DB || rc == ERR_DB_UNAVAILABLE || rc == ERR_INTERNAL) {
            *ei = e2;
            return rc;
        }
        if (rc) {
            const char *f = e2.field;
            const char *num = !strcmp(f, "value") ? fields[1] : fields[0];
            refuse(o, "error", "AE", 207, f, "QC %s on %s: %s", jsonv_str(it, "code"), g->accession,
                   e2.message);
            snprintf(o->location, sizeof(o->location), "%s^%zu^%s", seg_name, g->where[k], num);
            return ERR_INVALID;
        }
        json_array_append_new(list, json_pack("{s:O,s:O}", "id", json_object_get(res, "id"),
                                              "status", json_object_get(res, "status")));
        json_decref(res);
    }
    return ERR_OK;
}

/*
 * Store every group through result_enter. On failure the outcome names the
 * specimen, the test and the segment or record at fault. The caller has
 * opened a savepoint and rolls it back when this fails.
 */
static err_t store_groups(db *d, const audit_ctx *ctx, groups *gs, const char *seg_name,
                          const char *const fields[3], outcome *o, errinfo *ei)
{
    json_t *ids = json_array();
    if (!ids)
        return ERR_NOMEM;
    for (size_t i = 0; i < gs->n; i++) {
        group *g = &gs->g[i];
        specimen s;
        errinfo e2 = {0};
        char material[ID_LEN + 1];
        err_t rc = qc_material_by_qc_id(d, g->accession, material, ei);
        if (rc) {
            json_decref(ids);
            return rc;
        }
        if (material[0]) {
            /* a control material's id: these are QC results */
            rc = store_qc(d, ctx, g, material, seg_name, fields, o, ei);
            if (rc) {
                json_decref(ids);
                return rc;
            }
            continue;
        }
        rc = specimen_get(d, g->accession, &s, &e2);
        if (rc == ERR_NOT_FOUND || rc == ERR_INVALID) {
            refuse(o, "error", "AE", 204, "specimen", "specimen %s is not known here: %s",
                   g->accession, e2.message);
            json_decref(ids);
            return ERR_INVALID;
        }
        if (!rc && g->mrn[0]) {
            patient p;
            rc = patient_get(d, s.patient_id, &p, &e2);
            if (!rc && strcmp(p.mrn, g->mrn)) {
                refuse(o, "error", "AE", 204, "patient",
                       "specimen %s belongs to another patient than %s: results refused",
                       g->accession, g->mrn);
                json_decref(ids);
                return ERR_INVALID;
            }
        }
        json_t *body = json_pack("{s:O}", "results", g->items), *res = NULL;
        if (!rc)
            rc = body ? result_enter_ids(d, ctx, g->accession, body, &res, &e2) : ERR_NOMEM;
        json_decref(body);
        if (rc == ERR_NOMEM || rc == ERR_DB || rc == ERR_DB_UNAVAILABLE || rc == ERR_INTERNAL) {
            *ei = e2;
            json_decref(ids);
            json_decref(res);
            return rc;
        }
        if (rc) {
            /* "results[3].value" -> the segment or record it came from */
            size_t k = 0;
            const char *f = e2.field;
            if (!strncmp(f, "results[", 8))
                k = strtoul(f + 8, NULL, 10);
            /* the field of the segment or record: code, value, unit */
            const char *leaf = strrchr(f, '.'), *num = NULL;
            if (leaf)
                num = !strcmp(leaf, ".code")    ? fields[0]
                      : !strcmp(leaf, ".value") ? fields[1]
                      : !strcmp(leaf, ".unit")  ? fields[2]
                                                : NULL;
            refuse(o, "error", "AE", rc == ERR_CONFLICT ? 205 : 207, f, "specimen %s: %s",
                   g->accession, e2.message);
            if (k < json_array_size(g->items))
                snprintf(o->location, sizeof(o->location), "%s^%zu%s%s", seg_name, g->where[k],
                         num ? "^" : "", num ? num : "");
            json_decref(ids);
            return ERR_INVALID;
        }
        json_array_extend(ids, res);
        json_decref(res);
    }
    json_t *specs = json_array();
    for (size_t i = 0; i < gs->n; i++)
        json_array_append_new(specs, json_string(gs->g[i].accession));
    json_object_set_new(o->summary, "specimens", specs);
    json_object_set_new(o->summary, "results", ids);
    return ERR_OK;
}

/* One result of the message into its specimen's group (*g: the current one). */
static err_t collect(groups *gs, group **g, const char *accession, const char *mrn, size_t where,
                     const char *code, const char *value, const char *unit, const char *flags,
                     const char *inst_name, outcome *o)
{
    if (!*g)
        *g = group_for(gs, accession, mrn, o);
    if (!*g || !add_result(*g, where, code, value, unit, flags, inst_name, o))
        return o->error[0] ? ERR_INVALID : ERR_NOMEM;
    return ERR_OK;
}

/* After the walk over a results message (rc its outcome): store the groups
 * and free them. seg names the result segment or record ("OBX", "R"). */
static err_t finish_groups(db *d, const audit_ctx *ctx, groups *gs, err_t rc, const char *ack,
                           const char *seg, const char *const fields[3], size_t skipped,
                           json_t *comments, outcome *o, errinfo *ei)
{
    if (!rc && gs->n == 0) {
        refuse(o, "error", ack, 101, seg, "the message carries no final result (%s)", seg);
        rc = ERR_INVALID;
    }
    if (!rc)
        rc = store_groups(d, ctx, gs, seg, fields, o, ei);
    if (!rc && skipped)
        json_object_set_new(o->summary, "skipped", json_integer((json_int_t)skipped));
    if (!rc && json_array_size(comments))
        json_object_set(o->summary, "comments", comments);
    json_decref(comments);
    groups_free(gs);
    free(gs);
    return rc;
}

/* ---- HL7 ---- */

typedef struct hl7_head {
    char application[65], facility[65], type[8], event[8], structure[16], control[65];
    char processing[4], version[12];
} hl7_head;

static void read_head(const hl7_msg *m, arena *a, hl7_head *h)
{
    hl7_seg msh = hl7_segment(m, 0);
    const hl7_delims *dl = &m->delims;
    memset(h, 0, sizeof(*h));
    hl7_text(hl7_get(&msh, 3, 0, 1, 0), dl, a, h->application, sizeof(h->application));
    hl7_text(hl7_get(&msh, 4, 0, 1, 0), dl, a, h->facility, sizeof(h->facility));
    hl7_text(hl7_get(&msh, 9, 0, 1, 0), dl, a, h->type, sizeof(h->type));
    hl7_text(hl7_get(&msh, 9, 0, 2, 0), dl, a, h->event, sizeof(h->event));
    hl7_text(hl7_get(&msh, 9, 0, 3, 0), dl, a, h->structure, sizeof(h->structure));
    hl7_text(hl7_get(&msh, 10, 0, 0, 0), dl, a, h->control, sizeof(h->control));
    hl7_text(hl7_get(&msh, 11, 0, 1, 0), dl, a, h->processing, sizeof(h->processing));
    hl7_text(hl7_get(&msh, 12, 0, 1, 0), dl, a, h->version, sizeof(h->version));
}

/* Begin a reply message: MSH addressed back to the sender. */
static void reply_msh(hl7_writer *w, const hl7_head *h, const char *type, const char *event,
                      const char *structure)
{
    char ts[HL7_TS_LEN], ctrl[ID_LEN + 1];
    hl7_ts_format(time_now_us(), ts);
    id_new(ctrl);
    hl7_writer_segment(w, "MSH");
    hl7_writer_field(w, OUR_APPLICATION);
    hl7_writer_field(w, OUR_FACILITY);
    hl7_writer_field(w, h->application);
    hl7_writer_field(w, h->facility);
    hl7_writer_field(w, ts);
    hl7_writer_field(w, NULL);
    hl7_writer_field(w, type);
    hl7_writer_component(w, event);
    hl7_writer_component(w, structure);
    hl7_writer_field(w, ctrl);
    hl7_writer_field(w, h->processing[0] ? h->processing : "P");
    hl7_writer_field(w, "2.5.1");
}

/* MSA and, when refused, ERR. */
static void reply_msa(hl7_writer *w, const hl7_head *h, const outcome *o)
{
    hl7_writer_segment(w, "MSA");
    hl7_writer_field(w, o->ack);
    hl7_writer_field(w, h->control);
    if (o->error[0]) {
        char code[8];
        snprintf(code, sizeof(code), "%d", o->hl7_code ? o->hl7_code : 207);
        hl7_writer_segment(w, "ERR");
        hl7_writer_field(w, NULL);
        if (o->location[0]) {
            /* ERR-2 (ERL): segment id ^ sequence ^ field position */
            char loc[sizeof(o->location)];
            snprintf(loc, sizeof(loc), "%s", o->location);
            char *save = NULL, *part = strtok_r(loc, "^", &save);
            hl7_writer_field(w, part);
            while ((part = strtok_r(NULL, "^", &save)))
                hl7_writer_component(w, part);
        }
        hl7_writer_field_at(w, 3, code);
        hl7_writer_component(w, o->error);
        hl7_writer_component(w, "HL70357");
        hl7_writer_field(w, "E");
        hl7_writer_field_at(w, 8, o->error);
    }
}

static void write_ack(buf *out, const hl7_head *h, const outcome *o)
{
    hl7_writer w;
    hl7_writer_init(&w, out);
    reply_msh(&w, h, "ACK", h->event, "ACK");
    reply_msa(&w, h, o);
    hl7_writer_end(&w);
}

static const char *sex_name(const char *c)
{
    switch (c[0]) {
    case 'F':
        return "female";
    case 'M':
        return "male";
    case 'O':
    case 'A':
        return "other";
    default:
        return "unknown";
    }
}

/* PID -> the body patient_sync takes; NULL (with the outcome) when unusable. */
static json_t *pid_body(const hl7_seg *pid, arena *a, outcome *o)
{
    const hl7_delims *dl = &pid->delims;
    char mrn[PATIENT_MRN_MAX + 1] = "", family[PATIENT_NAME_MAX + 1], given[PATIENT_NAME_MAX + 1];
    char birth[16], sex[4], date[11];
    strv f3 = hl7_field(pid, 3);
    size_t nrep = hl7_count(f3, dl->repetition);
    /* The medical record number: the identifier of type MR, else the first. */
    for (size_t r = 1; r <= nrep && !mrn[0]; r++) {
        char type[8];
        hl7_text(hl7_get(pid, 3, r, 5, 0), dl, a, type, sizeof(type));
        if (!strcmp(type, "MR"))
            hl7_text(hl7_get(pid, 3, r, 1, 0), dl, a, mrn, sizeof(mrn));
    }
    if (!mrn[0])
        hl7_text(hl7_get(pid, 3, 1, 1, 0), dl, a, mrn, sizeof(mrn));
    hl7_text(hl7_get(pid, 5, 1, 1, 1), dl, a, family, sizeof(family));
    hl7_text(hl7_get(pid, 5, 1, 2, 0), dl, a, given, sizeof(given));
    hl7_text(hl7_get(pid, 7, 0, 1, 0), dl, a, birth, sizeof(birth));
    hl7_text(hl7_get(pid, 8, 0, 1, 0), dl, a, sex, sizeof(sex));
    if (!mrn[0]) {
        refuse(o, "error", "AE", 101, "PID-3", "PID-3 (patient identifier) is empty");
        snprintf(o->location, sizeof(o->location), "PID^1^3");
        return NULL;
    }
    if (strlen(birth) < 8) {
        refuse(o, "error", "AE", 101, "PID-7", "PID-7 (birth date) must be YYYYMMDD, not '%s'",
               birth);
        snprintf(o->location, sizeof(o->location), "PID^1^7");
        return NULL;
    }
    snprintf(date, sizeof(date), "%.4s-%.2s-%.2s", birth, birth + 4, birth + 6);
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "mrn", mrn, "family", family, "given", given,
                     "birth_date", date, "sex", sex_name(sex));
}

/* A domain refusal (bad field) -> the outcome; other errors go up. */
static err_t domain_refusal(err_t rc, const errinfo *e2, const char *what, outcome *o, errinfo *ei)
{
    if (rc == ERR_NOMEM || rc == ERR_DB || rc == ERR_DB_UNAVAILABLE || rc == ERR_INTERNAL) {
        *ei = *e2;
        return rc;
    }
    refuse(o, "error", "AE",
           rc == ERR_CONFLICT    ? 205
           : rc == ERR_NOT_FOUND ? 204
                                 : 207,
           e2->field, "%s: %s", what, e2->message);
    return ERR_INVALID;
}

static err_t hl7_patient(db *d, const audit_ctx *ctx, const hl7_msg *m, arena *a, patient *p,
                         outcome *o, errinfo *ei)
{
    size_t i = hl7_find(m, "PID", 0);
    if (i == hl7_segment_count(m)) {
        refuse(o, "error", "AE", 100, "PID", "the message has no PID segment");
        return ERR_INVALID;
    }
    hl7_seg pid = hl7_segment(m, i);
    json_t *body = pid_body(&pid, a, o);
    if (!body)
        return ERR_INVALID;
    bool created = false;
    errinfo e2 = {0};
    err_t rc = patient_sync(d, ctx, body, p, &created, &e2);
    json_decref(body);
    if (rc) {
        rc = domain_refusal(rc, &e2, "PID", o, ei);
        if (rc == ERR_INVALID && e2.field[0]) {
            const char *pf = !strcmp(e2.field, "mrn")          ? "3"
                             : !strcmp(e2.field, "birth_date") ? "7"
                             : !strcmp(e2.field, "sex")        ? "8"
                                                               : "5";
            snprintf(o->location, sizeof(o->location), "PID^1^%s", pf);
        }
        return rc;
    }
    json_object_set_new(o->summary, "patient_id", json_string(p->id));
    json_object_set_new(o->summary, "patient_created", json_boolean(created));
    return ERR_OK;
}

static err_t hl7_adt(db *d, const audit_ctx *ctx, const hl7_msg *m, arena *a, outcome *o,
                     errinfo *ei)
{
    patient p;
    return hl7_patient(d, ctx, m, a, &p, o, ei);
}

static const char *priority_of(const char *c)
{
    return c[0] == 'S' ? "stat" : c[0] == 'A' ? "asap" : "routine";
}

/* One order being read from ORC/OBR segments. */
typedef struct wanted_order {
    char placer_id[ORDER_PLACER_ID_MAX + 1];
    char control[4];
    char priority[8];
    char clinician[129];
    json_t *tests, *reasons;
    size_t seg; /* its ORC, 1-based */
} wanted_order;

static void xcn_text(const hl7_seg *s, size_t field, arena *a, char *out, size_t n)
{
    char id[32], fam[64], giv[64];
    const hl7_delims *dl = &s->delims;
    hl7_text(hl7_get(s, field, 1, 1, 0), dl, a, id, sizeof(id));
    hl7_text(hl7_get(s, field, 1, 2, 1), dl, a, fam, sizeof(fam));
    hl7_text(hl7_get(s, field, 1, 3, 0), dl, a, giv, sizeof(giv));
    if (fam[0])
        snprintf(out, n, "%.40s%s%.50s%s%.30s%s", giv, giv[0] ? " " : "", fam, id[0] ? " (" : "",
                 id, id[0] ? ")" : "");
    else if (id[0])
        snprintf(out, n, "%s", id);
}

static err_t hl7_orders(db *d, const audit_ctx *ctx, const instrument *in, const hl7_msg *m,
                        arena *a, outcome *o, errinfo *ei)
{
    wanted_order w[16];
    size_t nw = 0;
    const hl7_delims *dl = &m->delims;
    json_t *reasons = json_array(), *done = json_array();
    err_t rc = ERR_OK;
    patient p;
    if (!reasons || !done) {
        json_decref(reasons);
        json_decref(done);
        return ERR_NOMEM;
    }
    /* Diagnoses anywhere in the message are the orders' reasons. */
    for (size_t i = hl7_find(m, "DG1", 0); i < hl7_segment_count(m);
         i = hl7_find(m, "DG1", i + 1)) {
        hl7_seg dg = hl7_segment(m, i);
        char code[16];
        hl7_text(hl7_get(&dg, 3, 0, 1, 0), dl, a, code, sizeof(code));
        if (code[0])
            json_array_append_new(reasons, json_string(code));
    }
    for (size_t i = 0; i < hl7_segment_count(m) && !rc; i++) {
        hl7_seg s = hl7_segment(m, i);
        if (!strcmp(s.id, "ORC")) {
            char placer[ORDER_PLACER_ID_MAX + 1], ctl[4];
            hl7_text(hl7_get(&s, 2, 0, 1, 0), dl, a, placer, sizeof(placer));
            hl7_text(hl7_get(&s, 1, 0, 0, 0), dl, a, ctl, sizeof(ctl));
            if (nw > 0 && !strcmp(w[nw - 1].placer_id, placer) && placer[0])
                continue; /* the same order, another test */
            if (nw == sizeof(w) / sizeof(w[0])) {
                refuse(o, "rejected", "AR", 207, NULL, "more than %zu orders in one message", nw);
                rc = ERR_INVALID;
                break;
            }
            wanted_order *x = &w[nw++];
            memset(x, 0, sizeof(*x));
            snprintf(x->placer_id, sizeof(x->placer_id), "%s", placer);
            snprintf(x->control, sizeof(x->control), "%s", ctl);
            char pr[4];
            hl7_text(hl7_get(&s, 7, 1, 6, 0), dl, a, pr, sizeof(pr));
            snprintf(x->priority, sizeof(x->priority), "%s", priority_of(pr));
            xcn_text(&s, 12, a, x->clinician, sizeof(x->clinician));
            x->tests = json_array();
            x->seg = i + 1;
        } else if (!strcmp(s.id, "OBR")) {
            if (nw == 0) {
                refuse(o, "error", "AE", 100, "ORC", "OBR (segment %zu) comes before any ORC",
                       i + 1);
                rc = ERR_INVALID;
                break;
            }
            wanted_order *x = &w[nw - 1];
            char code[40], alt[40], pr[4], canon[CATALOG_CODE_MAX + 1];
            if (!x->placer_id[0])
                hl7_text(hl7_get(&s, 2, 0, 1, 0), dl, a, x->placer_id, sizeof(x->placer_id));
            hl7_text(hl7_get(&s, 4, 0, 1, 0), dl, a, code, sizeof(code));
            hl7_text(hl7_get(&s, 4, 0, 4, 0), dl, a, alt, sizeof(alt));
            hl7_text(hl7_get(&s, 5, 0, 1, 0), dl, a, pr, sizeof(pr));
            if (pr[0])
                snprintf(x->priority, sizeof(x->priority), "%s", priority_of(pr));
            if (!x->clinician[0])
                xcn_text(&s, 16, a, x->clinician, sizeof(x->clinician));
            errinfo e2 = {0};
            rc = catalog_resolve(d, in->name, code, canon, &e2);
            if (rc == ERR_NOT_FOUND && alt[0])
                rc = catalog_resolve(d, in->name, alt, canon, &e2);
            if (rc == ERR_NOT_FOUND && strlen(code) <= CATALOG_CODE_MAX) {
                /* a panel is ordered by the catalog's own code */
                char members[ORDER_TESTS_MAX][CATALOG_CODE_MAX + 1];
                int nm = 0;
                errinfo e3 = {0};
                err_t prc = catalog_expand(d, code, members, ORDER_TESTS_MAX, &nm, &e3);
                if (!prc) {
                    snprintf(canon, sizeof(canon), "%.16s", code);
                    rc = ERR_OK;
                } else if (prc != ERR_INVALID) {
                    rc = prc;
                    e2 = e3;
                }
            }
            if (rc == ERR_NOT_FOUND) {
                refuse(o, "error", "AE", 103, "OBR-4",
                       "OBR-4 '%s' (segment %zu) matches no test of the catalog", code, i + 1);
                snprintf(o->location, sizeof(o->location), "OBR^%zu^4", i + 1);
                rc = ERR_INVALID;
            } else if (rc) {
                *ei = e2;
            } else {
                json_array_append_new(x->tests, json_string(canon));
            }
        }
    }
    if (!rc && nw == 0) {
        refuse(o, "error", "AE", 100, "ORC", "the message has no ORC segment");
        rc = ERR_INVALID;
    }
    bool need_patient = false;
    for (size_t k = 0; k < nw; k++)
        need_patient |= strcmp(w[k].control, "CA") != 0;
    if (!rc && need_patient)
        rc = hl7_patient(d, ctx, m, a, &p, o, ei);
    for (size_t k = 0; k < nw && !rc; k++) {
        wanted_order *x = &w[k];
        errinfo e2 = {0};
        char what[96];
        snprintf(what, sizeof(what), "order %.64s", x->placer_id[0] ? x->placer_id : "(no ORC-2)");
        if (!x->placer_id[0]) {
            refuse(o, "error", "AE", 101, "ORC-2", "ORC-2 (placer order number) is empty");
            snprintf(o->location, sizeof(o->location), "ORC^%zu^2", x->seg);
            rc = ERR_INVALID;
        } else if (!strcmp(x->control, "NW")) {
            if (!x->clinician[0])
                snprintf(x->clinician, sizeof(x->clinician), "%s", in->name);
            json_t *body =
                       json_pack("{s:s,s:O,s:s,s:s,s:O,s:s,s:s}", "patient_id", p.id, "tests",
                                 x->tests, "priority", x->priority, "clinician", x->clinician,
                                 "reasons", reasons, "placer", in->name, "placer_id", x->placer_id),
                   *out = NULL;
            rc = body ? order_create(d, ctx, body, &out, &e2) : ERR_NOMEM;
            json_decref(body);
            if (rc) {
                rc = domain_refusal(rc, &e2, what, o, ei);
                if (!strcmp(e2.field, "reasons"))
                    snprintf(o->error, sizeof(o->error),
                             "%s: an order needs at least one ICD-10-CM reason code (DG1-3)", what);
            } else {
                json_t *acc = json_array(), *sp;
                size_t j;
                json_array_foreach(json_object_get(out, "specimens"), j, sp)
                    json_array_append(acc, json_object_get(sp, "accession"));
                json_array_append_new(done,
                                      json_pack("{s:s,s:O,s:s,s:o}", "placer_id", x->placer_id,
                                                "id", json_object_get(out, "id"), "control", "NW",
                                                "accessions", acc));
            }
            json_decref(out);
        } else if (!strcmp(x->control, "CA")) {
            char oid[ID_LEN + 1];
            rc = order_cancel_placed(d, ctx, in->name, x->placer_id, "cancelled by the placer", oid,
                                     &e2);
            if (rc)
                rc = domain_refusal(rc, &e2, what, o, ei);
            else
                json_array_append_new(done, json_pack("{s:s,s:s,s:s}", "placer_id", x->placer_id,
                                                      "id", oid, "control", "CA"));
        } else {
            refuse(o, "error", "AE", 103, "ORC-1",
                   "ORC-1 order control '%s' is not supported (NW or CA)", x->control);
            snprintf(o->location, sizeof(o->location), "ORC^%zu^1", x->seg);
            rc = ERR_INVALID;
        }
    }
    for (size_t k = 0; k < nw; k++)
        json_decref(w[k].tests);
    json_decref(reasons);
    if (!rc)
        json_object_set_new(o->summary, "orders", done);
    else
        json_decref(done);
    return rc;
}

static err_t hl7_results(db *d, const audit_ctx *ctx, const instrument *in, const hl7_msg *m,
                         arena *a, outcome *o, errinfo *ei)
{
    groups *gs = calloc(1, sizeof(*gs));
    const hl7_delims *dl = &m->delims;
    char accession[40] = "", mrn[PATIENT_MRN_MAX + 1] = "";
    group *g = NULL;
    size_t skipped = 0;
    bool has_spm = hl7_find(m, "SPM", 0) < hl7_segment_count(m);
    err_t rc = ERR_OK;
    if (!gs)
        return ERR_NOMEM;
    for (size_t i = 0; i < hl7_segment_count(m) && !rc; i++) {
        hl7_seg s = hl7_segment(m, i);
        if (!strcmp(s.id, "PID")) {
            hl7_text(hl7_get(&s, 3, 1, 1, 0), dl, a, mrn, sizeof(mrn));
            accession[0] = '\0';
        } else if (!strcmp(s.id, "SPM")) {
            hl7_text(hl7_get(&s, 2, 0, 1, 1), dl, a, accession, sizeof(accession));
            if (!accession[0])
                hl7_text(hl7_get(&s, 2, 0, 2, 1), dl, a, accession, sizeof(accession));
            g = NULL;
        } else if (!strcmp(s.id, "OBR")) {
            /* OUL^R22 names the specimen in SPM; ORU^R01 in OBR-3 or OBR-2. */
            if (!has_spm) {
                char acc[40];
                hl7_text(hl7_get(&s, 3, 0, 1, 0), dl, a, acc, sizeof(acc));
                if (!acc[0])
                    hl7_text(hl7_get(&s, 2, 0, 1, 0), dl, a, acc, sizeof(acc));
                snprintf(accession, sizeof(accession), "%s", acc);
            }
            g = NULL;
        } else if (!strcmp(s.id, "OBX")) {
            char code[40], value[256], unit[40], flags[64], status[4], type[4];
            hl7_text(hl7_get(&s, 2, 0, 0, 0), dl, a, type, sizeof(type));
            hl7_text(hl7_get(&s, 3, 0, 1, 0), dl, a, code, sizeof(code));
            if (!code[0])
                hl7_text(hl7_get(&s, 3, 0, 4, 0), dl, a, code, sizeof(code));
            /* Coded values (CE, CWE) give their code; other types the whole value. */
            bool coded = !strcmp(type, "CE") || !strcmp(type, "CWE");
            hl7_text(hl7_get(&s, 5, 1, coded ? 1 : 0, 0), dl, a, value, sizeof(value));
            hl7_text(hl7_get(&s, 6, 0, 1, 0), dl, a, unit, sizeof(unit));
            hl7_text(hl7_get(&s, 8, 0, 0, 0), dl, a, flags, sizeof(flags));
            for (char *c = flags; *c; c++)
                if (*c == dl->repetition)
                    *c = ',';
            if (!strcmp(flags, "N"))
                flags[0] = '\0'; /* normal: no flag */
            hl7_text(hl7_get(&s, 11, 0, 1, 0), dl, a, status, sizeof(status));
            if (status[0] && strcmp(status, "F") && strcmp(status, "C")) {
                skipped++; /* preliminary, cancelled...: only final results are stored */
                continue;
            }
            if (!accession[0]) {
                refuse(o, "error", "AE", 101, "SPM-2",
                       "OBX (segment %zu) has no specimen: SPM-2, OBR-3 or OBR-2 must name it",
                       i + 1);
                snprintf(o->location, sizeof(o->location), "OBX^%zu", i + 1);
                rc = ERR_INVALID;
                break;
            }
            if (!code[0] || !value[0]) {
                refuse(o, "error", "AE", 101, code[0] ? "OBX-5" : "OBX-3",
                       "OBX (segment %zu) has no %s", i + 1,
                       code[0] ? "value (OBX-5)" : "test code (OBX-3)");
                snprintf(o->location, sizeof(o->location), "OBX^%zu^%d", i + 1, code[0] ? 5 : 3);
                rc = ERR_INVALID;
                break;
            }
            rc = collect(gs, &g, accession, mrn, i + 1, code, value, unit, flags, in->name, o);
        }
    }
    return finish_groups(d, ctx, gs, rc, "AE", "OBX", (const char *const[]){"3", "5", "6"}, skipped,
                         0, o, ei);
}

/* A patient monitor's ORU^R01 (IHE PCD-01): the vital signs of its OBX
 * segments are one set for the patient of PID-3, scored by NEWS2
 * (care/vitals.h). Device and channel OBX segments carry no value and are
 * passed over, as are observations marked invalid or deleted. */
static err_t hl7_vitals(db *d, const audit_ctx *ctx, const instrument *in, const hl7_msg *m,
                        arena *a, outcome *o, errinfo *ei)
{
    const hl7_delims *dl = &m->delims;
    char mrn[PATIENT_MRN_MAX + 1] = "", when[TIME_ISO_LEN] = "";
    json_t *obs = json_array(), *set = NULL, *body = NULL;
    errinfo e2 = {0};
    err_t rc = ERR_OK;
    if (!obs)
        return ERR_NOMEM;
    for (size_t i = 0; i < hl7_segment_count(m) && !rc; i++) {
        hl7_seg s = hl7_segment(m, i);
        char code[64], name[64], value[64], unit[64], status[4];
        if (!strcmp(s.id, "PID"))
            hl7_text(hl7_get(&s, 3, 1, 1, 0), dl, a, mrn, sizeof(mrn));
        if (strcmp(s.id, "OBX") && strcmp(s.id, "OBR"))
            continue;
        /* the time of the observation: OBX-14, else OBR-7 */
        int64_t at = 0;
        errinfo te = {0};
        if (!when[0] &&
            !hl7_ts_parse(hl7_get(&s, !strcmp(s.id, "OBX") ? 14 : 7, 0, 1, 0), &at, &te) && at)
            time_format_iso(at, when);
        if (strcmp(s.id, "OBX"))
            continue;
        hl7_text(hl7_get(&s, 3, 0, 1, 0), dl, a, code, sizeof(code));
        hl7_text(hl7_get(&s, 3, 0, 2, 0), dl, a, name, sizeof(name));
        hl7_text(hl7_get(&s, 5, 1, 0, 0), dl, a, value, sizeof(value));
        hl7_text(hl7_get(&s, 6, 0, 0, 0), dl, a, unit, sizeof(unit));
        hl7_text(hl7_get(&s, 11, 0, 1, 0), dl, a, status, sizeof(status));
        if (!code[0] || !value[0] || (status[0] && !strchr("FRCP", status[0])))
            continue;
        json_t *one = json_pack("{s:s,s:s,s:s,s:i}", "code", code, "name", name[0] ? name : code,
                                "value", value, "segment", (int)i + 1);
        if (one && unit[0])
            json_object_set_new(one, "unit", json_string(unit));
        if (json_array_append_new(obs, one))
            rc = ERR_NOMEM;
    }
    if (!rc && !mrn[0]) {
        refuse(o, "error", "AE", 101, "PID-3", "the message names no patient (PID-3)");
        snprintf(o->location, sizeof(o->location), "PID^1^3");
        rc = ERR_INVALID;
    }
    if (!rc && !(body = json_pack("{s:s,s:O}", "mrn", mrn, "observations", obs)))
        rc = ERR_NOMEM;
    if (!rc && when[0])
        json_object_set_new(body, "taken_at", json_string(when));
    if (!rc) {
        rc = care_vitals_monitor(d, ctx, in->name, body, &set, &e2);
        if (rc) {
            bool pid = !strcmp(e2.field, "mrn");
            snprintf(e2.field, sizeof(e2.field), "%s", pid ? "PID-3" : "OBX-5");
            rc = domain_refusal(rc, &e2, pid ? "PID" : "OBX", o, ei);
            snprintf(o->location, sizeof(o->location), "%s", pid ? "PID^1^3" : "OBX");
        }
    }
    if (!rc) {
        json_t *news2 = json_object_get(set, "news2");
        json_object_set_new(o->summary, "vitals", json_string(jsonv_str(set, "id")));
        json_object_set_new(o->summary, "patient_id", json_string(jsonv_str(set, "patient_id")));
        json_object_set(o->summary, "news2", json_object_get(news2, "score"));
        json_object_set_new(o->summary, "alert",
                            json_boolean(!json_is_null(json_object_get(set, "alert"))));
    }
    json_decref(set);
    json_decref(body);
    json_decref(obs);
    return rc;
}

/* A specimen test (from specimen_tests_json) still to do, on this instrument. */
static bool pending_here(const instrument *in, const json_t *t)
{
    const char *st = jsonv_str(t, "status");
    return (!strcmp(st, "ordered") || !strcmp(st, "in-progress")) &&
           instrument_runs(in, jsonv_str(t, "code"));
}

/* QBP^Q11 (IHE LAW work order step query) -> RSP^K11 with the pending tests. */
static err_t hl7_query(db *d, const instrument *in, const hl7_msg *m, arena *a, const hl7_head *h,
                       buf *out, outcome *o, errinfo *ei)
{
    const hl7_delims *dl = &m->delims;
    size_t qi = hl7_find(m, "QPD", 0);
    char tag[65] = "", acc[40] = "";
    hl7_seg qpd = hl7_segment(m, qi);
    hl7_text(hl7_get(&qpd, 2, 0, 0, 0), dl, a, tag, sizeof(tag));
    hl7_text(hl7_get(&qpd, 3, 0, 1, 0), dl, a, acc, sizeof(acc));
    if (qi == hl7_segment_count(m) || !acc[0]) {
        refuse(o, "error", "AE", 101, "QPD-3", "QPD-3 must hold the specimen id asked about");
        snprintf(o->location, sizeof(o->location), "QPD^1^3");
        return ERR_INVALID;
    }
    specimen s;
    patient p;
    json_t *tests = NULL;
    errinfo e2 = {0};
    err_t rc = specimen_get(d, acc, &s, &e2);
    bool found = rc == ERR_OK && strcmp(s.status, "rejected");
    if (rc && rc != ERR_NOT_FOUND && rc != ERR_INVALID) {
        *ei = e2;
        return rc;
    }
    rc = ERR_OK;
    if (found)
        rc = patient_get(d, s.patient_id, &p, ei);
    if (found && !rc)
        rc = specimen_tests_json(d, s.id, &tests, ei);
    if (rc)
        return rc;
    size_t npending = 0, j;
    json_t *t;
    json_array_foreach(tests, j, t)
    {
        npending += pending_here(in, t);
    }
    hl7_writer w;
    hl7_writer_init(&w, out);
    outcome ok = *o;
    ok.ack = "AA";
    reply_msh(&w, h, "RSP", "K11", "RSP_K11");
    reply_msa(&w, h, &ok);
    hl7_writer_segment(&w, "QAK");
    hl7_writer_field(&w, tag);
    hl7_writer_field(&w, npending ? "OK" : "NF");
    hl7_writer_field(&w, "WOS");
    hl7_writer_component(&w, "Work Order Step");
    hl7_writer_component(&w, "IHE_LABTF");
    hl7_writer_segment(&w, "QPD");
    hl7_writer_field(&w, "WOS");
    hl7_writer_component(&w, "Work Order Step");
    hl7_writer_component(&w, "IHE_LABTF");
    hl7_writer_field(&w, tag);
    hl7_writer_field(&w, acc);
    if (npending) {
        char birth[9];
        snprintf(birth, sizeof(birth), "%.4s%.2s%.2s", p.birth_date, p.birth_date + 5,
                 p.birth_date + 8);
        hl7_writer_segment(&w, "PID");
        hl7_writer_field(&w, "1");
        hl7_writer_field(&w, NULL);
        hl7_writer_field(&w, p.mrn);
        hl7_writer_component(&w, NULL);
        hl7_writer_component(&w, NULL);
        hl7_writer_component(&w, NULL);
        hl7_writer_component(&w, "MR");
        hl7_writer_field(&w, NULL);
        hl7_writer_field(&w, p.family);
        hl7_writer_component(&w, p.given);
        hl7_writer_field(&w, NULL);
        hl7_writer_field(&w, birth);
        hl7_writer_field(&w, !strcmp(p.sex, "female") ? "F" : !strcmp(p.sex, "male") ? "M" : "U");
        hl7_writer_segment(&w, "SPM");
        hl7_writer_field(&w, "1");
        hl7_writer_field(&w, s.accession);
        hl7_writer_field(&w, NULL);
        hl7_writer_field(&w, s.specimen_type);
        size_t n = 0;
        json_array_foreach(tests, j, t)
        {
            if (!pending_here(in, t))
                continue;
            char code[CATALOG_INSTR_CODE_MAX + 1], seq[12];
            rc = catalog_instrument_code(d, in->name, jsonv_str(t, "code"), code, ei);
            if (rc)
                break;
            snprintf(seq, sizeof(seq), "%zu", ++n);
            hl7_writer_segment(&w, "ORC");
            hl7_writer_field(&w, "NW");
            hl7_writer_field(&w, s.accession);
            hl7_writer_segment(&w, "OBR");
            hl7_writer_field(&w, seq);
            hl7_writer_field(&w, s.accession);
            hl7_writer_field(&w, NULL);
            hl7_writer_field(&w, code);
            hl7_writer_component(&w, jsonv_str(t, "name"));
            hl7_writer_component(&w, "L");
            hl7_writer_field(&w, !strcmp(s.priority, "stat") ? "S" : "R");
        }
    }
    json_decref(tests);
    if (!rc)
        rc = hl7_writer_end(&w);
    json_object_set_new(o->summary, "specimen", json_string(acc));
    json_object_set_new(o->summary, "pending", json_integer((json_int_t)npending));
    return rc;
}

static bool is(const hl7_head *h, const char *type, const char *event)
{
    return !strcmp(h->type, type) && (!event || !strcmp(h->event, event));
}

static err_t handle_hl7(db *d, const link_msg *m, link_reply *r, outcome *o, instrument *in,
                        char *sender, size_t nsender, char *control, size_t ncontrol, char *type,
                        size_t ntype, errinfo *ei)
{
    arena a;
    hl7_msg msg;
    hl7_head h;
    errinfo pe = {0};
    err_t rc = ERR_OK;
    arena_init(&a, 0);
    memset(&h, 0, sizeof(h));
    if (hl7_parse(m->data, m->len, &a, &msg, &pe)) {
        refuse(o, "rejected", "AR", 100, pe.field, "not an HL7 message: %s", pe.message);
        /* Answer what can be read of a broken MSH: nothing reliable. */
        write_ack(&r->out, &h, o);
        goto done;
    }
    read_head(&msg, &a, &h);
    snprintf(control, ncontrol, "%s", h.control);
    snprintf(type, ntype, "%s%s%s", h.type, h.event[0] ? "^" : "", h.event);
    snprintf(sender, nsender, "%s^%s", h.application, h.facility);
    errinfo e2 = {0};
    rc = m->instrument
             ? instrument_get(d, m->instrument, in, &e2)
             : instrument_recognise(d, "hl7", h.application, h.facility, m->peer_ip, in, &e2);
    if (rc == ERR_NOT_FOUND) {
        rc = ERR_OK;
        refuse(o, "rejected", "AR", 204, "MSH-3",
               "unknown sender: no instrument is configured for MSH-3 '%s' MSH-4 '%s' or peer %s",
               h.application, h.facility, m->peer_ip[0] ? m->peer_ip : m->peer);
        snprintf(o->location, sizeof(o->location), "MSH^1^3");
    } else if (rc) {
        *ei = e2;
        goto done;
    } else if (m->peer_ip[0] && !instrument_peer_allowed(in, m->peer_ip)) {
        refuse(o, "rejected", "AR", 204, "peer", "%s may not send from %s", in->name, m->peer_ip);
    } else if (!h.control[0]) {
        refuse(o, "rejected", "AR", 101, "MSH-10", "MSH-10 (message control id) is empty");
        snprintf(o->location, sizeof(o->location), "MSH^1^10");
    } else if (strcmp(h.processing, "P") && strcmp(h.processing, "T") && h.processing[0] &&
               strcmp(h.processing, "D")) {
        refuse(o, "rejected", "AR", 202, "MSH-11", "MSH-11 processing id '%s' is not P, T or D",
               h.processing);
    }
    if (!o->error[0] && in->name[0])
        snprintf(sender, nsender, "%s", in->name);
    if (o->error[0]) {
        write_ack(&r->out, &h, o);
        goto done;
    }

    bool query = is(&h, "QBP", NULL);
    bool ehr = !strcmp(in->kind, "ehr");
    if (!query) {
        bool dup = false;
        char first[ID_LEN + 1];
        rc = journal_find_accepted(d, sender, h.control, &dup, first, ei);
        if (rc)
            goto done;
        if (dup) {
            o->status = "duplicate";
            o->ack = "AA";
            json_object_set_new(o->summary, "duplicate_of", json_string(first));
            write_ack(&r->out, &h, o);
            goto done;
        }
    }
    actor ac;
    actor_init(&ac, in->name, m);
    rc = db_begin(d, ei);
    if (rc)
        goto done;
    if (is(&h, "ORU", "R01") || is(&h, "OUL", "R22")) {
        if (ehr)
            refuse(o, "rejected", "AR", 200, "MSH-9", "%s is an EHR: results come from analyzers",
                   in->name);
        else if (!strcmp(in->kind, "monitor") && is(&h, "ORU", "R01"))
            rc = hl7_vitals(d, &ac.ctx, in, &msg, &a, o, ei);
        else
            rc = hl7_results(d, &ac.ctx, in, &msg, &a, o, ei);
    } else if (is(&h, "ADT", NULL) &&
               (!strcmp(h.event, "A01") || !strcmp(h.event, "A04") || !strcmp(h.event, "A08") ||
                !strcmp(h.event, "A28") || !strcmp(h.event, "A31"))) {
        if (!ehr)
            refuse(o, "rejected", "AR", 200, "MSH-9", "%s is not an EHR: it cannot send ADT",
                   in->name);
        else
            rc = hl7_adt(d, &ac.ctx, &msg, &a, o, ei);
    } else if (is(&h, "ORM", "O01") || is(&h, "OML", "O21")) {
        if (!ehr)
            refuse(o, "rejected", "AR", 200, "MSH-9", "%s is not an EHR: it cannot place orders",
                   in->name);
        else
            rc = hl7_orders(d, &ac.ctx, in, &msg, &a, o, ei);
    } else if (query && !strcmp(h.event, "Q11")) {
        rc = hl7_query(d, in, &msg, &a, &h, &r->out, o, ei);
    } else {
        refuse(o, "rejected", "AR", h.type[0] && strchr("AOQ", h.type[0]) ? 201 : 200, "MSH-9",
               "message type %s^%s is not supported", h.type, h.event);
        snprintf(o->location, sizeof(o->location), "MSH^1^9");
    }
    if (rc == ERR_INVALID || o->error[0]) {
        rc = ERR_OK;
        db_rollback(d);
        json_object_clear(o->summary);
        if (!o->error[0])
            refuse(o, "error", "AE", 207, NULL, "the message could not be stored");
    } else if (rc) {
        db_rollback(d);
        goto done;
    } else {
        rc = db_commit(d, ei);
        if (rc)
            goto done;
    }
    if (!query || o->error[0]) {
        buf_reset(&r->out);
        write_ack(&r->out, &h, o);
    }
done:
    arena_free(&a);
    return rc;
}

/* ---- ASTM ---- */

static void astm_reply_head(astm_writer *w)
{
    char ts[HL7_TS_LEN];
    hl7_ts_format(time_now_us(), ts);
    ts[14] = '\0'; /* E1394 times: YYYYMMDDHHMMSS */
    astm_write_header(
        w, &(astm_header_spec){.sender = STRV(OUR_APPLICATION), .timestamp = {ts, strlen(ts)}});
}

static strv sv(const char *s)
{
    return (strv){s, strlen(s)};
}

/* Q records -> a reply transmission: per specimen P and O with its pending tests. */
static err_t astm_query(db *d, const instrument *in, const astm_message *msg, arena *a, buf *out,
                        outcome *o, errinfo *ei)
{
    astm_writer w;
    size_t answered = 0;
    json_t *asked = json_array();
    err_t rc = ERR_OK;
    astm_writer_init(&w, out, NULL);
    astm_reply_head(&w);
    for (size_t i = astm_find(msg, 'Q', 0); i < msg->nrecords && !rc;
         i = astm_find(msg, 'Q', i + 1)) {
        const astm_record *q = &msg->records[i];
        char acc[40];
        astm_text(q, 3, 1, 2, a, acc, sizeof(acc));
        if (!acc[0])
            astm_text(q, 3, 1, 1, a, acc, sizeof(acc));
        json_array_append_new(asked, json_string(acc));
        specimen s;
        patient p;
        json_t *tests = NULL;
        errinfo e2 = {0};
        rc = specimen_get(d, acc, &s, &e2);
        if (rc == ERR_NOT_FOUND || rc == ERR_INVALID || (!rc && !strcmp(s.status, "rejected"))) {
            rc = ERR_OK;
            continue;
        }
        if (rc) {
            *ei = e2;
            break;
        }
        rc = patient_get(d, s.patient_id, &p, ei);
        if (!rc)
            rc = specimen_tests_json(d, s.id, &tests, ei);
        if (rc)
            break;
        strv codes[ORDER_TESTS_MAX];
        char buf_codes[ORDER_TESTS_MAX][CATALOG_INSTR_CODE_MAX + 1];
        size_t n = 0, j;
        json_t *t;
        json_array_foreach(tests, j, t)
        {
            if (!pending_here(in, t) || n == ORDER_TESTS_MAX)
                continue;
            rc = catalog_instrument_code(d, in->name, jsonv_str(t, "code"), buf_codes[n], ei);
            if (rc)
                break;
            codes[n] = sv(buf_codes[n]);
            n++;
        }
        json_decref(tests);
        if (rc || n == 0)
            continue;
        char birth[9];
        snprintf(birth, sizeof(birth), "%.4s%.2s%.2s", p.birth_date, p.birth_date + 5,
                 p.birth_date + 8);
        astm_write_patient(&w, &(astm_patient_spec){
                                   .practice_id = sv(p.mrn),
                                   .last_name = sv(p.family),
                                   .first_name = sv(p.given),
                                   .birth_date = sv(birth),
                                   .sex = sv(!strcmp(p.sex, "female") ? "F"
                                             : !strcmp(p.sex, "male") ? "M"
                                                                      : "U"),
                               });
        astm_write_order(&w, &(astm_order_spec){
                                 .specimen_id = sv(s.accession),
                                 .tests = codes,
                                 .ntests = n,
                                 .priority = sv(!strcmp(s.priority, "stat") ? "S" : "R"),
                                 .action = STRV("N"),
                                 .specimen_type = sv(s.specimen_type),
                                 .report_type = STRV("O"),
                             });
        answered++;
    }
    astm_write_terminator(&w, answered ? 'F' : 'I');
    if (!rc)
        rc = astm_writer_error(&w);
    json_object_set_new(o->summary, "asked", asked);
    json_object_set_new(o->summary, "answered", json_integer((json_int_t)answered));
    return rc;
}

static err_t astm_results(db *d, const audit_ctx *ctx, const instrument *in,
                          const astm_message *msg, arena *a, outcome *o, errinfo *ei)
{
    groups *gs = calloc(1, sizeof(*gs));
    char accession[40] = "", mrn[PATIENT_MRN_MAX + 1] = "";
    group *g = NULL;
    size_t skipped = 0;
    json_t *comments = json_array(); /* kept in the journal with the message */
    err_t rc = ERR_OK;
    if (!gs || !comments) {
        free(gs);
        json_decref(comments);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < msg->nrecords && !rc; i++) {
        const astm_record *r = &msg->records[i];
        if (r->type == 'P') {
            astm_text(r, 3, 1, 1, a, mrn, sizeof(mrn));
            accession[0] = '\0';
            g = NULL;
        } else if (r->type == 'O') {
            /* O.3: the first component that holds something (Sysmex pads it). */
            accession[0] = '\0';
            for (size_t c = 1; c <= 4 && !accession[0]; c++)
                astm_text(r, 3, 1, c, a, accession, sizeof(accession));
            g = NULL;
        } else if (r->type == 'C') {
            /* C.3 source, C.4 text (components joined), C.5 type */
            char text[256], source[8], kind[8];
            astm_text(r, 4, 0, 0, a, text, sizeof(text));
            astm_text(r, 3, 1, 1, a, source, sizeof(source));
            astm_text(r, 5, 1, 1, a, kind, sizeof(kind));
            for (char *c = text; *c; c++)
                if (*c == r->delims.component)
                    *c = ' ';
            json_array_append_new(comments,
                                  json_pack("{s:I,s:s,s:s,s:s,s:s}", "record", (json_int_t)(i + 1),
                                            "specimen", accession, "source", source, "type", kind,
                                            "text", text));
        } else if (r->type == 'R') {
            char code[40] = "", value[256], unit[40], flags[64], status[4];
            /* R.3 universal test id ^^^code: the local code is component 4
             * (some analyzers put it in 5); component 1 otherwise. */
            for (size_t c = 4; c <= 6 && !code[0]; c++)
                astm_text(r, 3, 1, c, a, code, sizeof(code));
            if (!code[0])
                astm_text(r, 3, 1, 1, a, code, sizeof(code));
            astm_text(r, 4, 1, 1, a, value, sizeof(value));
            astm_text(r, 5, 1, 1, a, unit, sizeof(unit));
            astm_text(r, 7, 0, 0, a, flags, sizeof(flags));
            astm_text(r, 9, 1, 1, a, status, sizeof(status));
            if (status[0] && strcmp(status, "F") && strcmp(status, "C") && strcmp(status, "R")) {
                skipped++;
                continue;
            }
            if (!strcmp(flags, "N"))
                flags[0] = '\0';
            if (!accession[0]) {
                refuse(o, "error", "NAK", 101, "O.3",
                       "result (record %zu) follows no order record naming its specimen", i + 1);
                rc = ERR_INVALID;
                break;
            }
            if (!code[0] || !value[0]) {
                refuse(o, "error", "NAK", 101, code[0] ? "R.4" : "R.3", "record %zu has no %s",
                       i + 1, code[0] ? "value (R.4)" : "test code (R.3)");
                rc = ERR_INVALID;
                break;
            }
            rc = collect(gs, &g, accession, mrn, i + 1, code, value, unit, flags, in->name, o);
        }
    }
    return finish_groups(d, ctx, gs, rc, "NAK", "R", (const char *const[]){"3", "4", "5"}, skipped,
                         comments, o, ei);
}

static err_t handle_astm(db *d, const link_msg *m, link_reply *r, outcome *o, instrument *in,
                         char *sender, size_t nsender, char *control, size_t ncontrol, char *type,
                         size_t ntype, errinfo *ei)
{
    arena a;
    astm_message msg;
    errinfo pe = {0};
    err_t rc = ERR_OK;
    arena_init(&a, 0);
    snprintf(type, ntype, "astm");
    if (astm_parse_message(m->data, m->len, &a, &msg, &pe)) {
        refuse(o, "rejected", "NAK", 0, pe.field, "not an ASTM message: %s", pe.message);
        goto done;
    }
    char who[65] = "";
    if (msg.has_header) {
        astm_text(&msg.records[0], 5, 1, 1, &a, who, sizeof(who));
        astm_text(&msg.records[0], 3, 0, 0, &a, control, ncontrol);
    }
    snprintf(sender, nsender, "%s", who);
    bool query = astm_find(&msg, 'Q', 0) < msg.nrecords;
    snprintf(type, ntype, "%s", query ? "astm:query" : "astm:results");
    errinfo e2 = {0};
    rc = m->instrument ? instrument_get(d, m->instrument, in, &e2)
                       : instrument_recognise(d, "astm", who, NULL, m->peer_ip, in, &e2);
    if (rc == ERR_NOT_FOUND) {
        rc = ERR_OK;
        refuse(o, "rejected", "NAK", 0, "H.5",
               "unknown sender: no instrument is configured for H.5 '%s' or peer %s", who,
               m->peer_ip[0] ? m->peer_ip : m->peer);
        goto done;
    }
    if (rc) {
        *ei = e2;
        goto done;
    }
    if (m->peer_ip[0] && !instrument_peer_allowed(in, m->peer_ip)) {
        refuse(o, "rejected", "NAK", 0, "peer", "%s may not send from %s", in->name, m->peer_ip);
        goto done;
    }
    if (!strcmp(in->kind, "ehr")) {
        refuse(o, "rejected", "NAK", 0, "H.5", "%s is an EHR, not an ASTM analyzer", in->name);
        goto done;
    }
    snprintf(sender, nsender, "%s", in->name);
    if (!query && control[0]) {
        bool dup = false;
        char first[ID_LEN + 1];
        rc = journal_find_accepted(d, sender, control, &dup, first, ei);
        if (rc)
            goto done;
        if (dup) {
            o->status = "duplicate";
            json_object_set_new(o->summary, "duplicate_of", json_string(first));
            goto done;
        }
    }
    actor ac;
    actor_init(&ac, in->name, m);
    rc = db_begin(d, ei);
    if (rc)
        goto done;
    rc = query ? astm_query(d, in, &msg, &a, &r->out, o, ei)
               : astm_results(d, &ac.ctx, in, &msg, &a, o, ei);
    if (rc == ERR_INVALID || o->error[0]) {
        rc = ERR_OK;
        db_rollback(d);
        json_object_clear(o->summary);
        buf_reset(&r->out);
        if (!o->error[0])
            refuse(o, "error", "NAK", 0, NULL, "the message could not be stored");
    } else if (rc) {
        db_rollback(d);
    } else {
        rc = db_commit(d, ei);
    }
done:
    arena_free(&a);
    return rc;
}

err_t link_handle(db *d, const link_msg *m, link_reply *r, errinfo *ei)
{
    outcome o;
    instrument in;
    char sender[140] = "", control[JOURNAL_CONTROL_MAX + 1] = "", type[40] = "";
    memset(&o, 0, sizeof(o));
    memset(&in, 0, sizeof(in));
    o.status = "accepted";
    o.ack = m->proto == LINK_HL7 ? "AA" : "ACK";
    o.summary = json_object();
    if (!o.summary)
        return ERR_NOMEM;
    size_t mark = r->out.len;
    err_t rc = m->proto == LINK_HL7 ? handle_hl7(d, m, r, &o, &in, sender, sizeof(sender), control,
                                                 sizeof(control), type, sizeof(type), ei)
                                    : handle_astm(d, m, r, &o, &in, sender, sizeof(sender), control,
                                                  sizeof(control), type, sizeof(type), ei);
    if (!rc && !strcmp(o.status, "accepted") && o.error[0])
        o.status = "error";
    if (!rc) {
        journal_entry e = {
            .direction = "in",
            .protocol = m->proto == LINK_HL7 ? "hl7" : "astm",
            .transport = m->transport,
            .peer = m->peer,
            .instrument = in.name[0] ? in.name : NULL,
            .sender = sender,
            .control_id = control,
            .type = type,
            .status = o.status,
            .ack = o.ack,
            .error = o.error[0] ? o.error : NULL,
            .error_field = o.field[0] ? o.field : NULL,
            .summary = o.summary,
            .raw = m->data,
            .len = m->len,
            .replay_of = m->replay_of,
        };
        rc = journal_write(d, &e, r->journal_id, ei);
    }
    if (rc)
        r->out.len = mark;
    r->stored = !rc && (!strcmp(o.status, "accepted") || !strcmp(o.status, "duplicate"));
    snprintf(r->status, sizeof(r->status), "%s", o.status);
    snprintf(r->error, sizeof(r->error), "%s", o.error);
    snprintf(r->instrument, sizeof(r->instrument), "%s", in.name);
    json_decref(o.summary);
    return rc;
}
