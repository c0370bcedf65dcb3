/*
 * specimen.c - reading specimens (see specimen.h).
 */
#include "lab/specimen.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/time.h"
#include "lab/label.h"
#include "lab/patient.h"

static const char sql_by_accession[] =
    "SELECT s.id, s.accession, s.order_id, s.patient_id, s.parent_id, s.specimen_type,"
    " s.container, s.status, o.priority, s.collected_at, s.received_at, s.storage,"
    " s.rejection_reason, s.created_at FROM specimens s JOIN orders o ON o.id = s.order_id"
    " WHERE s.accession = ?";
static const char sql_tests[] = "SELECT ot.id, ot.test_code, t.name, ot.panel_code, ot.status"
                                " FROM order_tests ot JOIN tests t ON t.code = ot.test_code"
                                " WHERE ot.specimen_id = ? ORDER BY ot.id";

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

err_t specimen_get(db *d, const char *accession, specimen *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = accession_check(accession, strlen(accession), ei);
    if (rc)
        return rc;
    rc = db_query(d, &st, ei, sql_by_accession, "t", accession);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "accession", "no specimen has accession %s", accession);
    if (!rc) {
        memset(out, 0, sizeof(*out));
        copy(out->id, sizeof(out->id), db_col_text(st, 0));
        copy(out->accession, sizeof(out->accession), db_col_text(st, 1));
        copy(out->order_id, sizeof(out->order_id), db_col_text(st, 2));
        copy(out->patient_id, sizeof(out->patient_id), db_col_text(st, 3));
        copy(out->parent_id, sizeof(out->parent_id), db_col_text(st, 4));
        copy(out->specimen_type, sizeof(out->specimen_type), db_col_text(st, 5));
        copy(out->container, sizeof(out->container), db_col_text(st, 6));
        copy(out->status, sizeof(out->status), db_col_text(st, 7));
        copy(out->priority, sizeof(out->priority), db_col_text(st, 8));
        out->collected_at = db_col_int64(st, 9);
        out->received_at = db_col_int64(st, 10);
        copy(out->storage, sizeof(out->storage), db_col_text(st, 11));
        copy(out->rejection_reason, sizeof(out->rejection_reason), db_col_text(st, 12));
        out->created_at = db_col_int64(st, 13);
    }
    db_finalize(st);
    return rc;
}

err_t specimen_tests_json(db *d, const char *specimen_id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    err_t rc = arr ? db_prepare(d, sql_tests, &st, ei) : ERR_NOMEM;
    if (!rc)
        rc = db_bind_str(st, 1, specimen_id);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        const char *panel = db_col_text(st, 3);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:o,s:s}", "id", db_col_text(st, 0),
                                             "code", db_col_text(st, 1), "name", db_col_text(st, 2),
                                             "panel", panel ? json_string(panel) : json_null(),
                                             "status", db_col_text(st, 4)));
    }
    db_finalize(st);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return ERR_OK;
}

json_t *specimen_to_json(const specimen *s)
{
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "id", s->id, "accession",
        s->accession, "order_id", s->order_id, "patient_id", s->patient_id, "parent_id",
        s->parent_id[0] ? json_string(s->parent_id) : json_null(), "specimen_type",
        s->specimen_type, "container", s->container, "status", s->status, "priority", s->priority,
        "collected_at", jsonv_time(s->collected_at), "received_at", jsonv_time(s->received_at),
        "storage", s->storage[0] ? json_string(s->storage) : json_null(), "rejection_reason",
        s->rejection_reason[0] ? json_string(s->rejection_reason) : json_null());
}

static const char sql_events[] = "SELECT event, at, by_user, location, detail, recorded_at"
                                 " FROM specimen_events WHERE specimen_id = ? ORDER BY at, id";

static err_t events_json(db *d, const char *specimen_id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    err_t rc = arr ? db_prepare(d, sql_events, &st, ei) : ERR_NOMEM;
    if (!rc)
        rc = db_bind_str(st, 1, specimen_id);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        char at[TIME_ISO_LEN], rec[TIME_ISO_LEN];
        json_error_t je;
        time_format_iso(db_col_int64(st, 1), at);
        time_format_iso(db_col_int64(st, 5), rec);
        json_t *detail = json_loads(db_col_text(st, 4) ? db_col_text(st, 4) : "{}", 0, &je);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "event",
                                             db_col_text(st, 0), "at", at, "by", db_col_text(st, 2),
                                             "location", db_col_text(st, 3), "detail",
                                             detail ? detail : json_object(), "recorded_at", rec));
    }
    db_finalize(st);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return ERR_OK;
}

err_t specimen_json(db *d, const char *accession, json_t **out, errinfo *ei)
{
    specimen s;
    json_t *tests = NULL, *events = NULL;
    err_t rc = specimen_get(d, accession, &s, ei);
    if (!rc)
        rc = specimen_tests_json(d, s.id, &tests, ei);
    if (!rc)
        rc = events_json(d, s.id, &events, ei);
    if (rc) {
        json_decref(tests);
        return rc;
    }
    *out = specimen_to_json(&s);
    json_object_set_new(*out, "tests", tests);
    json_object_set_new(*out, "events", events);
    return ERR_OK;
}

err_t specimen_read(db *d, const audit_ctx *ctx, const char *accession, json_t **out, errinfo *ei)
{
    specimen s;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    *out = NULL;
    rc = specimen_get(d, accession, &s, ei);
    if (!rc)
        rc = specimen_json(d, accession, out, ei);
    if (!rc)
        rc = audit_write(d, ctx, "specimen.read", "specimen", s.id, "ok", NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* The codes to print: each panel once, and the tests ordered on their own. */
static void label_tests(const json_t *tests, char *out, size_t n)
{
    size_t i, o = 0;
    json_t *t;
    out[0] = '\0';
    json_array_foreach(tests, i, t)
    {
        const char *panel = json_string_value(json_object_get(t, "panel"));
        const char *code = panel ? panel : json_string_value(json_object_get(t, "code"));
        size_t len = strlen(code);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const json_t *u = json_array_get(tests, j);
            const char *p = json_string_value(json_object_get(u, "panel"));
            seen = !strcmp(p ? p : json_string_value(json_object_get(u, "code")), code);
        }
        if (seen || o + len + 2 > n)
            continue;
        if (o)
            out[o++] = ' ';
        memcpy(out + o, code, len);
        o += len;
        out[o] = '\0';
    }
}

err_t specimen_label(db *d, const audit_ctx *ctx, const char *accession, bool pdf, buf *out,
                     errinfo *ei)
{
    specimen s;
    patient p;
    json_t *tests = NULL;
    char codes[128];
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = specimen_get(d, accession, &s, ei);
    if (!rc)
        rc = patient_get(d, s.patient_id, &p, ei);
    if (!rc)
        rc = specimen_tests_json(d, s.id, &tests, ei);
    if (!rc) {
        json_t *detail = json_pack("{s:s}", "format", pdf ? "pdf" : "zpl");
        rc = audit_write(d, ctx, "specimen.label", "specimen", s.id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(tests);
        return rc;
    }
    label_tests(tests, codes, sizeof(codes));
    json_decref(tests);
    label_data l = {
        .accession = s.accession,
        .family = p.family,
        .given = p.given,
        .mrn = p.mrn,
        .birth_date = p.birth_date,
        .sex = p.sex,
        .container = s.container,
        .specimen_type = s.specimen_type,
        .collected_at = s.collected_at,
        .tests = codes,
        .priority = s.priority,
    };
    return pdf ? label_pdf(&l, out, ei) : label_zpl(&l, out, ei);
}
