/*
 * report.c - the cumulative patient report (see report.h).
 *
 * Layout: A4 portrait in points. A header block with the patient, then one
 * block per test (name, LOINC, unit, reference range) whose lines are the
 * results, newest first; a new page when the next line does not fit, with
 * the header repeated in short. Footnotes for corrections and critical calls
 * follow the results.
 */
#include "lab/report.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "lab/patient.h"
#include "lab/draw.h"

#define PAGE_W    595.0
#define PAGE_H    842.0
#define MARGIN    42.0
#define LINE      13.0
#define NOTES_MAX 64

static const char sql_results[] =
    "SELECT r.id, r.test_code, t.name, t.loinc, r.value_text, r.unit, r.flag, r.critical,"
    " r.ref_low, r.ref_high, r.ref_text, r.status, s.collected_at, r.released_at, s.accession,"
    " r.version, r.released_by"
    " FROM results r JOIN tests t ON t.code = r.test_code JOIN specimens s ON s.id = r.specimen_id"
    " WHERE r.patient_id = ? AND r.status IN ('released', 'corrected')"
    " ORDER BY t.name, s.collected_at DESC, r.id DESC";
static const char sql_pending[] =
    "SELECT COUNT(*) FROM results WHERE patient_id = ? AND status = 'review'";
static const char sql_history[] = "SELECT value_text, replaced_by, replaced_at, reason"
                                  " FROM result_history WHERE result_id = ? ORDER BY version";
static const char sql_call[] = "SELECT notified, notified_at, closed_by FROM critical_alerts"
                               " WHERE result_id = ? AND closed_at IS NOT NULL"
                               " ORDER BY closed_at DESC LIMIT 1";

struct page {
    cairo_t *cr;
    double y;
    int number;
    const patient *p;
    char printed[32];
};

static void rule(cairo_t *cr, double y)
{
    cairo_set_line_width(cr, 0.5);
    cairo_move_to(cr, MARGIN, y);
    cairo_line_to(cr, PAGE_W - MARGIN, y);
    cairo_stroke(cr);
}

static void header(struct page *pg, bool corrected)
{
    cairo_t *cr = pg->cr;
    char line[256];
    pg->number++;
    draw_text(cr, MARGIN, MARGIN + 10, 14, true, "Cumulative laboratory report");
    snprintf(line, sizeof(line), "Page %d", pg->number);
    draw_text(cr, PAGE_W - MARGIN - 40, MARGIN + 10, 9, false, line);
    snprintf(line, sizeof(line), "%s, %s    MRN %s    Born %s    Sex %s", pg->p->family,
             pg->p->given, pg->p->mrn, pg->p->birth_date, pg->p->sex);
    draw_text(cr, MARGIN, MARGIN + 28, 10, true, line);
    snprintf(line, sizeof(line), "Printed %s UTC", pg->printed);
    draw_text(cr, MARGIN, MARGIN + 41, 8, false, line);
    if (corrected) {
        cairo_set_source_rgb(cr, 0.64, 0.05, 0.05);
        draw_text(cr, PAGE_W - MARGIN - 150, MARGIN + 41, 10, true, "CORRECTED REPORT");
        cairo_set_source_rgb(cr, 0, 0, 0);
    }
    rule(cr, MARGIN + 48);
    draw_text(cr, MARGIN, MARGIN + 62, 8, true, "Collected (UTC)");
    draw_text(cr, MARGIN + 110, MARGIN + 62, 8, true, "Result");
    draw_text(cr, MARGIN + 200, MARGIN + 62, 8, true, "Flag");
    draw_text(cr, MARGIN + 235, MARGIN + 62, 8, true, "Units");
    draw_text(cr, MARGIN + 310, MARGIN + 62, 8, true, "Reference");
    draw_text(cr, MARGIN + 400, MARGIN + 62, 8, true, "Accession / status");
    pg->y = MARGIN + 78;
}

/* Room for n more lines, or a new page. */
static void need(struct page *pg, int n, bool corrected)
{
    if (pg->y + n * LINE <= PAGE_H - MARGIN - 20)
        return;
    cairo_show_page(pg->cr);
    header(pg, corrected);
}

static void fmt_time(int64_t t, char out[20])
{
    char iso[TIME_ISO_LEN];
    if (!t) {
        snprintf(out, 20, "-");
        return;
    }
    time_format_iso(t, iso);
    snprintf(out, 20, "%.10s %.5s", iso, iso + 11);
}

static void fmt_number(db_stmt *st, int i, char *out, size_t n)
{
    if (db_col_null(st, i))
        out[0] = '\0';
    else
        snprintf(out, n, "%g", db_col_double(st, i));
}

err_t report_patient_pdf(db *d, const audit_ctx *ctx, const char *patient_id, buf *out, errinfo *ei)
{
    patient p;
    db_stmt *st = NULL, *hs = NULL;
    bool row = false, corrected = false;
    cairo_surface_t *surface = NULL;
    cairo_t *cr = NULL;
    char notes[NOTES_MAX][320];
    int nnotes = 0;
    int64_t pending = 0;
    size_t start = out->len;
    err_t rc;

    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = patient_get(d, patient_id, &p, ei);
    if (rc)
        goto fail;
    /* Corrected anywhere: the whole report says so. */
    rc = db_query(d, &st, ei, sql_results, "t", patient_id);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        if (!strcmp(db_col_text(st, 11), "corrected"))
            corrected = true;
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_pending, "t", patient_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        pending = db_col_int64(st, 0);
    db_finalize(st);
    st = NULL;
    if (rc)
        goto fail;

    surface = cairo_pdf_surface_create_for_stream(draw_to_buf, out, PAGE_W, PAGE_H);
    cr = cairo_create(surface);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        rc = err_set(ei, ERR_INTERNAL, NULL, "cairo: %s", cairo_status_to_string(cairo_status(cr)));
        goto fail;
    }
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE,
                                   "Cumulative laboratory report");
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "benchside");
    struct page pg = {cr, 0, 0, &p, ""};
    fmt_time(time_now_us(), pg.printed);
    cairo_set_source_rgb(cr, 0, 0, 0);
    header(&pg, corrected);

    char last_test[64] = "";
    rc = db_query(d, &st, ei, sql_results, "t", patient_id);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        const char *code = db_col_text(st, 1);
        char line[256], when[20], lo[24], hi[24], ref[64];
        if (strcmp(code, last_test)) {
            need(&pg, 3, corrected);
            pg.y += 4;
            /* "Urea nitrogen (BUN)" already says its code */
            char paren[24];
            snprintf(paren, sizeof(paren), "(%s)", code);
            bool named = strstr(db_col_text(st, 2), paren) != NULL;
            snprintf(line, sizeof(line), "%s%s%s%s%s", db_col_text(st, 2), named ? "" : " ",
                     named ? "" : paren, db_col_text(st, 3) ? "   LOINC " : "",
                     db_col_text(st, 3) ? db_col_text(st, 3) : "");
            draw_text(cr, MARGIN, pg.y, 9, true, line);
            pg.y += LINE;
            snprintf(last_test, sizeof(last_test), "%s", code);
        }
        need(&pg, 1, corrected);
        fmt_time(db_col_int64(st, 12), when);
        fmt_number(st, 8, lo, sizeof(lo));
        fmt_number(st, 9, hi, sizeof(hi));
        if (db_col_text(st, 10))
            snprintf(ref, sizeof(ref), "%s", db_col_text(st, 10));
        else if (lo[0] && hi[0])
            snprintf(ref, sizeof(ref), "%s - %s", lo, hi);
        else if (hi[0])
            snprintf(ref, sizeof(ref), "< %s", hi);
        else if (lo[0])
            snprintf(ref, sizeof(ref), "> %s", lo);
        else
            snprintf(ref, sizeof(ref), "-");
        const char *flag = db_col_text(st, 6);
        bool is_corrected = !strcmp(db_col_text(st, 11), "corrected");
        draw_text(cr, MARGIN, pg.y, 9, false, when);
        if (flag)
            cairo_set_source_rgb(cr, 0.64, 0.05, 0.05);
        snprintf(line, sizeof(line), "%s%s", db_col_text(st, 4), is_corrected ? " (c)" : "");
        draw_text(cr, MARGIN + 110, pg.y, 9, flag != NULL, line);
        draw_text(cr, MARGIN + 200, pg.y, 9, true, flag ? flag : "");
        cairo_set_source_rgb(cr, 0, 0, 0);
        draw_text(cr, MARGIN + 235, pg.y, 9, false, db_col_text(st, 5) ? db_col_text(st, 5) : "");
        draw_text(cr, MARGIN + 310, pg.y, 9, false, ref);
        snprintf(line, sizeof(line), "%s  %s", db_col_text(st, 14),
                 is_corrected ? "corrected" : "final");
        draw_text(cr, MARGIN + 400, pg.y, 8, false, line);
        pg.y += LINE;

        /* Footnotes: earlier values of a corrected result, the critical call. */
        const char *rid = db_col_text(st, 0);
        if (is_corrected) {
            rc = db_query(d, &hs, ei, sql_history, "t", rid);
            while (!rc) {
                bool hrow = false;
                rc = db_step(hs, &hrow, ei);
                if (rc || !hrow || nnotes >= NOTES_MAX)
                    break;
                char at[20];
                fmt_time(db_col_int64(hs, 2), at);
                snprintf(notes[nnotes++], sizeof(notes[0]),
                         "(c) %s collected %s: earlier value %s replaced by %s at %s: %s", code,
                         when, db_col_text(hs, 0), db_col_text(hs, 1), at, db_col_text(hs, 3));
            }
            db_finalize(hs);
            hs = NULL;
        }
        if (!rc && db_col_int64(st, 7)) {
            rc = db_query(d, &hs, ei, sql_call, "t", rid);
            bool hrow = false;
            if (!rc)
                rc = db_step(hs, &hrow, ei);
            if (!rc && hrow && nnotes < NOTES_MAX) {
                char at[20];
                fmt_time(db_col_int64(hs, 1), at);
                snprintf(notes[nnotes++], sizeof(notes[0]),
                         "!! %s %s is a critical value: called to %s at %s by %s, read back", code,
                         db_col_text(st, 4), db_col_text(hs, 0), at, db_col_text(hs, 2));
            }
            db_finalize(hs);
            hs = NULL;
        }
    }
    db_finalize(st);
    st = NULL;
    if (rc)
        goto fail;
    if (!last_test[0]) {
        draw_text(cr, MARGIN, pg.y, 10, false, "No released results.");
        pg.y += LINE;
    }
    if (pending) {
        char line[96];
        need(&pg, 2, corrected);
        pg.y += 6;
        snprintf(line, sizeof(line), "%lld result(s) are still in review and not reported here.",
                 (long long)pending);
        draw_text(cr, MARGIN, pg.y, 9, false, line);
        pg.y += LINE;
    }
    if (nnotes) {
        need(&pg, 2, corrected);
        pg.y += 6;
        rule(cr, pg.y - 9);
        draw_text(cr, MARGIN, pg.y + 2, 9, true, "Notes");
        pg.y += LINE + 2;
        for (int i = 0; i < nnotes; i++) {
            need(&pg, 1, corrected);
            draw_text(cr, MARGIN, pg.y, 8, false, notes[i]);
            pg.y += LINE;
        }
    }
    need(&pg, 2, corrected);
    pg.y += 8;
    draw_text(cr, MARGIN, pg.y, 7, false,
              "Flags: L low, H high, LL critical low, HH critical high, A abnormal. (c) corrected "
              "result. Reference ranges are for the patient's sex and age at collection.");
    cairo_show_page(cr);
    cairo_destroy(cr);
    cr = NULL;
    cairo_surface_finish(surface);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        rc = err_set(ei, ERR_INTERNAL, NULL, "cairo: %s",
                     cairo_status_to_string(cairo_surface_status(surface)));
        goto fail;
    }
    cairo_surface_destroy(surface);
    surface = NULL;

    json_t *detail = json_pack("{s:s}", "format", "pdf");
    rc = audit_write(d, ctx, "report.read", "patient", patient_id, "ok", detail, ei);
    json_decref(detail);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        goto fail;
    return ERR_OK;
fail:
    db_finalize(st);
    db_finalize(hs);
    if (cr)
        cairo_destroy(cr);
    if (surface)
        cairo_surface_destroy(surface);
    db_rollback(d);
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return rc;
}
