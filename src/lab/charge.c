/*
 * charge.c - charge lines from released results (see charge.h).
 */
#include "lab/charge.h"

#include <jansson.h>
#include <string.h>

#include "base/id.h"
#include "base/time.h"
#include "proto/hl7.h"

static const char sql_lines[] =
    "SELECT r.id, p.mrn, p.family, p.given, p.birth_date, s.collected_at, t.cpt, r.test_code,"
    " t.name, o.reasons, o.clinician, s.accession, r.released_at, o.id, p.sex"
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

/* Field n as an XCN from "Rivera, J.": ^family^given (no id number). */
static void put_person(hl7_writer *w, size_t n, const char *name)
{
    const char *comma = strchr(name, ',');
    char family[128], given[128] = "";
    if (comma) {
        snprintf(family, sizeof(family), "%.*s", (int)(comma - name), name);
        const char *g = comma + 1;
        while (*g == ' ')
            g++;
        snprintf(given, sizeof(given), "%s", g);
    } else {
        snprintf(family, sizeof(family), "%s", name);
    }
    hl7_writer_field_at(w, n, NULL); /* XCN.1: no id number */
    hl7_writer_component(w, family); /* XCN.2 */
    hl7_writer_component(w, given);  /* XCN.3 */
}

static const char *sex_code(const char *sex)
{
    if (!strcmp(sex, "female"))
        return "F";
    if (!strcmp(sex, "male"))
        return "M";
    return !strcmp(sex, "other") ? "O" : "U";
}

/*
 * One DFT^P03 for the current row of sql_lines (columns as there): MSH, EVN,
 * PID, PV1 and one FT1 with the charge: transaction date = date of service,
 * type CG, the test as transaction code, quantity 1, the ICD-10-CM reasons
 * (FT1-19), the ordering clinician (FT1-21), the accession as filler order
 * number (FT1-23) and the CPT code as procedure code (FT1-25).
 */
static err_t dft_message(db_stmt *st, int n, buf *out, errinfo *ei)
{
    hl7_writer w;
    char now[HL7_TS_LEN], dos[HL7_TS_LEN], control[ID_LEN + 1], set[16];
    json_error_t je;
    hl7_ts_format(time_now_us(), now);
    hl7_ts_format(db_col_int64(st, 5), dos);
    dos[8] = '\0'; /* the date of service is a date */
    id_new(control);
    snprintf(set, sizeof(set), "%d", n);
    hl7_writer_init(&w, out);
    hl7_writer_segment(&w, "MSH");
    hl7_writer_field(&w, "benchside"); /* MSH-3 sending application */
    hl7_writer_field(&w, "LAB");       /* MSH-4 sending facility */
    hl7_writer_field(&w, "BILLING");   /* MSH-5 receiving application */
    hl7_writer_field(&w, NULL);        /* MSH-6 */
    hl7_writer_field(&w, now);         /* MSH-7 */
    hl7_writer_field(&w, NULL);        /* MSH-8 */
    hl7_writer_field(&w, "DFT");       /* MSH-9 */
    hl7_writer_component(&w, "P03");
    hl7_writer_component(&w, "DFT_P03");
    hl7_writer_field(&w, control); /* MSH-10 */
    hl7_writer_field(&w, "P");     /* MSH-11 */
    hl7_writer_field(&w, "2.5.1"); /* MSH-12 */
    hl7_writer_segment(&w, "EVN");
    hl7_writer_field(&w, "P03");
    hl7_writer_field(&w, now);
    hl7_writer_segment(&w, "PID");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, NULL);
    hl7_writer_field(&w, db_col_text(st, 1)); /* PID-3 MRN^^^benchside^MR */
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, "benchside");
    hl7_writer_component(&w, "MR");
    hl7_writer_field(&w, NULL);
    hl7_writer_field(&w, db_col_text(st, 2)); /* PID-5 family^given */
    hl7_writer_component(&w, db_col_text(st, 3));
    hl7_writer_field(&w, NULL);
    char birth[9];
    const char *b = db_col_text(st, 4) ? db_col_text(st, 4) : "";
    snprintf(birth, sizeof(birth), "%.4s%.2s%.2s", b, b + (strlen(b) > 5 ? 5 : 0),
             b + (strlen(b) > 8 ? 8 : 0));
    hl7_writer_field(&w, birth);                         /* PID-7 */
    hl7_writer_field(&w, sex_code(db_col_text(st, 14))); /* PID-8 */
    hl7_writer_segment(&w, "PV1");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, "O"); /* outpatient: the laboratory does not know the visit */
    hl7_writer_segment(&w, "FT1");
    hl7_writer_field(&w, set);                /* FT1-1 */
    hl7_writer_field(&w, db_col_text(st, 0)); /* FT1-2 transaction id: the charge */
    hl7_writer_field(&w, NULL);               /* FT1-3 */
    hl7_writer_field(&w, dos);                /* FT1-4 transaction date */
    hl7_writer_field(&w, now);                /* FT1-5 posting date */
    hl7_writer_field(&w, "CG");               /* FT1-6 charge */
    hl7_writer_field(&w, db_col_text(st, 7)); /* FT1-7 transaction code: the test */
    hl7_writer_component(&w, db_col_text(st, 8));
    hl7_writer_component(&w, "L");    /* local code */
    hl7_writer_field_at(&w, 10, "1"); /* FT1-10 quantity */
    json_t *reasons = json_loads(db_col_text(st, 9) ? db_col_text(st, 9) : "[]", 0, &je);
    size_t i;
    json_t *v;
    /* FT1-19 diagnoses: one repetition per ICD-10-CM code, code^^I10 */
    json_array_foreach(reasons, i, v)
    {
        if (i == 0)
            hl7_writer_field_at(&w, 19, json_string_value(v));
        else
            hl7_writer_repetition(&w, json_string_value(v));
        hl7_writer_component(&w, NULL);
        hl7_writer_component(&w, "I10");
    }
    json_decref(reasons);
    put_person(&w, 21, db_col_text(st, 10));          /* FT1-21 ordered by */
    hl7_writer_field_at(&w, 23, db_col_text(st, 11)); /* FT1-23 filler order number */
    hl7_writer_field_at(&w, 25, db_col_text(st, 6));  /* FT1-25 procedure code: CPT */
    hl7_writer_component(&w, db_col_text(st, 8));
    hl7_writer_component(&w, "C4");
    err_t rc = hl7_writer_end(&w);
    return rc ? err_set(ei, rc, NULL, "DFT^P03 for charge %s could not be written",
                        db_col_text(st, 0))
              : ERR_OK;
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

    rc = db_begin(d, ei);
    if (rc)
        goto done;
    if (format == CHARGE_CSV)
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
        if (format == CHARGE_HL7) {
            rc = dft_message(st, *count + 1, out, ei);
            if (rc)
                break;
            json_array_append_new(ids, json_string(db_col_text(st, 0)));
            (*count)++;
            continue;
        }
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
        json_t *detail =
            json_pack("{s:s,s:i}", "format", format == CHARGE_HL7 ? "hl7" : "csv", "lines", *count);
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
