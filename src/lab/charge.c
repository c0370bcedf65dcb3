/*
 * charge.c - charge lines from released results (see charge.h).
 */
#include "lab/charge.h"

#include <jansson.h>
#include <string.h>

#include "base/time.h"

static const char sql_lines[] =
    "SELECT r.id, p.mrn, p.family, p.given, p.birth_date, s.collected_at, t.cpt, r.test_code,"
    " t.name, o.reasons, o.clinician, s.accession, r.released_at, o.id"
    " FROM results r JOIN specimens s ON s.id = r.specimen_id"
    " JOIN order_tests ot ON ot.id = r.order_test_id JOIN orders o ON o.id = ot.order_id"
    " JOIN patients p ON p.id = r.patient_id JOIN tests t ON t.code = r.test_code"
    " WHERE r.status IN ('released', 'corrected') AND r.released_at >= ? AND r.released_at < ?"
    " ORDER BY r.released_at, r.id";

/* One CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
static void csv_field(buf *b, const char *s, bool last)
{
    s = s ? s : "";
    if (strpbrk(s, ",\"\r\n")) {
        buf_puts(b, "\"");
        for (; *s; s++) {
            if (*s == '"')
                buf_puts(b, "\"");
            buf_append(b, s, 1);
        }
        buf_puts(b, "\"");
    } else {
        buf_puts(b, s);
    }
    buf_puts(b, last ? "\r\n" : ",");
}

/* The reasons array as "E11.9;R73.09". */
static void reasons_text(const char *json, char *out, size_t n)
{
    json_error_t je;
    json_t *arr = json_loads(json ? json : "[]", 0, &je);
    size_t i, o = 0;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        const char *c = json_string_value(v);
        size_t len = c ? strlen(c) : 0;
        if (!len || o + len + 2 > n)
            continue;
        if (o)
            out[o++] = ';';
        memcpy(out + o, c, len);
        o += len;
        out[o] = '\0';
    }
    json_decref(arr);
}

err_t charge_export(db *d, const audit_ctx *ctx, int64_t from, int64_t to, charge_format format,
                    buf *out, int *count, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    size_t start = out->len;
    json_t *ids = json_array();
    err_t rc;

    *count = 0;
    if (!ids)
        return ERR_NOMEM;
    if (to <= from) {
        json_decref(ids);
        return err_set(ei, ERR_INVALID, "to", "to must be after from");
    }
    (void)format; /* CSV is the one format so far */

    rc = db_begin(d, ei);
    if (rc)
        goto done;
    buf_puts(out, "charge_id,mrn,family,given,birth_date,date_of_service,cpt,test_code,"
                  "test_name,icd10,ordering_clinician,accession,released_at,order_id\r\n");
    rc = db_prepare(d, sql_lines, &st, ei);
    if (!rc)
        rc = db_bind_int64(st, 1, from);
    if (!rc)
        rc = db_bind_int64(st, 2, to);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        char dos[TIME_ISO_LEN], rel[TIME_ISO_LEN], reasons[256];
        time_format_iso(db_col_int64(st, 5), dos);
        dos[10] = '\0'; /* the date of service is a date */
        time_format_iso(db_col_int64(st, 12), rel);
        reasons_text(db_col_text(st, 9), reasons, sizeof(reasons));
        const char *fields[] = {db_col_text(st, 0),
                                db_col_text(st, 1),
                                db_col_text(st, 2),
                                db_col_text(st, 3),
                                db_col_text(st, 4),
                                dos,
                                db_col_text(st, 6),
                                db_col_text(st, 7),
                                db_col_text(st, 8),
                                reasons,
                                db_col_text(st, 10),
                                db_col_text(st, 11),
                                rel,
                                db_col_text(st, 13)};
        size_t nf = sizeof(fields) / sizeof(fields[0]);
        for (size_t i = 0; i < nf; i++)
            csv_field(out, fields[i], i == nf - 1);
        json_array_append_new(ids, json_string(db_col_text(st, 0)));
        (*count)++;
    }
    db_finalize(st);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:i}", "format", "csv", "lines", *count);
        rc = audit_write(d, ctx, "charge.export", "charge", "", "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        db_rollback(d);
done:
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    json_decref(ids);
    return rc;
}
