/*
 * review.c - the monthly QC report and its signature (see review.h).
 */
#include "qc/review.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/time.h"
#include "lab/result.h"
#include "qc/qc.h"
#include "lab/draw.h"

#define PAGE_W 595.0 /* A4, points */
#define PAGE_H 842.0
#define MARGIN 40.0

static const char sql_pairs[] =
    "SELECT DISTINCT test_code, instrument FROM qc_results WHERE at >= ? AND at < ?"
    " AND (CAST(? AS TEXT) IS NULL OR instrument = ?) ORDER BY instrument, test_code";
static const char sql_rejected[] =
    "SELECT COUNT(*) FROM qc_results WHERE material_id = ? AND test_code = ? AND instrument = ?"
    " AND status = 'rejected' AND at >= ? AND at < ?";
static const char sql_lockouts[] =
    "SELECT test_code, instrument, opened_at, reason, closed_at, closed_by, corrective_action"
    " FROM qc_lockouts WHERE opened_at < ? AND (closed_at IS NULL OR closed_at >= ?)"
    " AND (CAST(? AS TEXT) IS NULL OR instrument = ?) ORDER BY opened_at";
static const char sql_review[] = "SELECT signed_by, signed_at, comment FROM qc_reviews"
                                 " WHERE month = ? AND instrument = ?";
static const char sql_sign[] = "INSERT INTO qc_reviews (id, month, instrument, signed_by,"
                               " signed_at, comment) VALUES (?, ?, ?, ?, ?, ?)";

static const jsonv_field sign_fields[] = {
    {"month", JSONV_STRING, true, 7},
    {"instrument", JSONV_STRING, false, 64},
    {"comment", JSONV_STRING, false, 1000},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

err_t qc_month_range(const char *month, int64_t *from, int64_t *to, errinfo *ei)
{
    char a[32], b[32];
    int y = 0, m = 0;
    if (!month || strlen(month) != 7 || sscanf(month, "%4d-%2d", &y, &m) != 2 || month[4] != '-' ||
        m < 1 || m > 12 || y < 1900)
        return err_set(ei, ERR_INVALID, "month", "month must be YYYY-MM, not '%.20s'",
                       month ? month : "");
    snprintf(a, sizeof(a), "%04d-%02d-01T00:00:00Z", y, m);
    snprintf(b, sizeof(b), "%04d-%02d-01T00:00:00Z", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
    if (time_parse_iso(a, strlen(a), from, NULL) || time_parse_iso(b, strlen(b), to, NULL))
        return err_set(ei, ERR_INVALID, "month", "month must be YYYY-MM");
    return ERR_OK;
}

/* ---- the PDF ---- */

struct page {
    cairo_t *cr;
    double y;
    int n;
    char title[160];
};

/* Room for h more points on this page, or a new page. */
static void need(struct page *pg, double h)
{
    if (pg->y + h < PAGE_H - MARGIN)
        return;
    cairo_show_page(pg->cr);
    pg->n++;
    pg->y = MARGIN + 10;
    char line[200];
    snprintf(line, sizeof(line), "%s (page %d)", pg->title, pg->n);
    cairo_set_source_rgb(pg->cr, 0.4, 0.4, 0.4);
    draw_text(pg->cr, MARGIN, pg->y, 8, false, line);
    cairo_set_source_rgb(pg->cr, 0, 0, 0);
    pg->y += 18;
}

static void line_at(struct page *pg, double size, bool bold, const char *s)
{
    need(pg, size + 5);
    draw_text(pg->cr, MARGIN, pg->y, size, bold, s);
    pg->y += size + 5;
}

/* A number of the statistics with the digits it deserves, "-" when absent. */
static void num(char *out, size_t n, const json_t *v, int kind)
{
    double x = json_number_value(v);
    if (!json_is_number(v))
        snprintf(out, n, "-");
    else if (kind == 'g')
        snprintf(out, n, "%.4g", x);
    else if (kind == 'b')
        snprintf(out, n, "%+.2f", x);
    else
        snprintf(out, n, "%.2f", x);
}

/* One row of the table: the columns at fixed positions. */
static void row(struct page *pg, bool bold, const char *const cols[9])
{
    static const double x[9] = {0, 60, 150, 205, 250, 300, 345, 395, 445};
    need(pg, 13);
    for (int i = 0; i < 9; i++)
        draw_text(pg->cr, MARGIN + x[i], pg->y, 8, bold, cols[i]);
    pg->y += 13;
}

static err_t draw_test(db *d, struct page *pg, const char *test, const char *inst, int64_t from,
                       int64_t to, errinfo *ei)
{
    json_t *st = NULL, *m;
    size_t i;
    err_t rc = qc_stats(d, test, inst, from, to, &st, ei);
    if (rc)
        return rc;
    char head[200];
    snprintf(head, sizeof(head), "%s on %s - rules in use: %s", test,
             inst[0] ? inst : "the manual bench",
             json_array_size(json_object_get(st, "materials"))
                 ? json_string_value(json_object_get(
                       json_array_get(json_object_get(st, "materials"), 0), "rules_in_use"))
                 : "-");
    need(pg, 40);
    pg->y += 4;
    line_at(pg, 10, true, head);
    static const char *const cols[9] = {"level", "lot",    "N",     "mean",    "SD",
                                        "CV %",  "bias %", "Sigma", "rejected"};
    row(pg, true, cols);
    json_array_foreach(json_object_get(st, "materials"), i, m)
    {
        const json_t *p = json_object_get(m, "period");
        char n[16], mean[24], sd[24], cv[24], bias[24], sig[40], rej[16];
        db_stmt *q = NULL;
        bool r = false;
        int64_t rejected = 0;
        rc = db_query(d, &q, ei, sql_rejected, "tttii", jsonv_str(m, "material_id"), test, inst,
                      from, to);
        if (!rc && !(rc = db_step(q, &r, ei)) && r)
            rejected = db_col_int64(q, 0);
        db_finalize(q);
        if (rc)
            break;
        snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(json_object_get(p, "n")));
        num(mean, sizeof(mean), json_object_get(p, "mean"), 'g');
        num(sd, sizeof(sd), json_object_get(p, "sd"), 'g');
        num(cv, sizeof(cv), json_object_get(p, "cv_percent"), 'f');
        num(bias, sizeof(bias), json_object_get(p, "bias_percent"), 'b');
        num(sig, sizeof(sig), json_object_get(m, "sigma"), 'f');
        snprintf(rej, sizeof(rej), "%lld", (long long)rejected);
        const char *vals[9] = {
            jsonv_str(m, "level"), jsonv_str(m, "lot"), n, mean, sd, cv, bias, sig, rej};
        row(pg, false, vals);
        const char *sugg = jsonv_str(m, "rules_suggested");
        if (sugg && strcmp(sugg, jsonv_str(m, "rules_in_use"))) {
            char s[200];
            snprintf(s, sizeof(s), "    Sigma %.1f: the Westgard Sigma Rules suggest %s",
                     json_number_value(json_object_get(m, "sigma")), sugg);
            cairo_set_source_rgb(pg->cr, 0.3, 0.3, 0.3);
            line_at(pg, 8, false, s);
            cairo_set_source_rgb(pg->cr, 0, 0, 0);
        }
    }
    json_decref(st);
    return rc;
}

err_t qc_month_report(db *d, const audit_ctx *ctx, const char *month, const char *instrument,
                      buf *out, errinfo *ei)
{
    int64_t from = 0, to = 0;
    const char *inst = instrument && *instrument ? instrument : NULL;
    err_t rc = qc_month_range(month, &from, &to, ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(draw_to_buf, out, PAGE_W, PAGE_H);
    cairo_t *cr = cairo_create(s);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "Monthly QC report");
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "benchside");
    struct page pg = {cr, MARGIN + 10, 1, ""};
    snprintf(pg.title, sizeof(pg.title), "Monthly QC report %s, %s", month,
             inst ? inst : "all instruments");
    line_at(&pg, 16, true, pg.title);
    line_at(&pg, 9, false,
            "Per control material: accepted and warning results of the month (rejected ones "
            "counted apart); bias against the target; Sigma from the allowable total error.");
    db_stmt *st = NULL;
    bool r = false;
    json_t *pairs = json_array(), *p;
    size_t i;
    rc = db_query(d, &st, ei, sql_pairs, "iitt", from, to, inst, inst);
    while (!rc && !(rc = db_step(st, &r, ei)) && r)
        json_array_append_new(pairs, json_pack("[s,s]", db_col_text(st, 0), db_col_text(st, 1)));
    db_finalize(st);
    st = NULL;
    if (!rc && json_array_size(pairs) == 0)
        line_at(&pg, 10, false, "No QC results this month.");
    json_array_foreach(pairs, i, p)
    {
        if (!rc)
            rc = draw_test(d, &pg, json_string_value(json_array_get(p, 0)),
                           json_string_value(json_array_get(p, 1)), from, to, ei);
    }
    json_decref(pairs);
    /* lockouts and corrective actions */
    if (!rc) {
        pg.y += 8;
        line_at(&pg, 11, true, "Lockouts and corrective actions");
        rc = db_query(d, &st, ei, sql_lockouts, "iitt", to, from, inst, inst);
    }
    int nlock = 0;
    while (!rc && !(rc = db_step(st, &r, ei)) && r) {
        char a[32], b[32], line[700];
        time_format_minute(db_col_int64(st, 2), a);
        snprintf(line, sizeof(line), "%s on %s, %s: %.300s", db_col_text(st, 0),
                 db_col_text(st, 1)[0] ? db_col_text(st, 1) : "the manual bench", a,
                 db_col_text(st, 3));
        line_at(&pg, 8, false, line);
        if (db_col_null(st, 4)) {
            line_at(&pg, 8, true, "    not closed: no corrective action yet");
        } else {
            time_format_minute(db_col_int64(st, 4), b);
            snprintf(line, sizeof(line), "    closed %s by %.60s: %.400s", b, db_col_text(st, 5),
                     db_col_text(st, 6) ? db_col_text(st, 6) : "");
            line_at(&pg, 8, false, line);
        }
        nlock++;
    }
    db_finalize(st);
    st = NULL;
    if (!rc && nlock == 0)
        line_at(&pg, 9, false, "None.");
    /* the review */
    if (!rc) {
        pg.y += 10;
        line_at(&pg, 11, true, "Supervisor review");
        rc = db_query(d, &st, ei, sql_review, "tt", month, inst ? inst : "");
    }
    if (!rc && !(rc = db_step(st, &r, ei))) {
        char line[1200], a[32];
        if (r) {
            time_format_minute(db_col_int64(st, 1), a);
            snprintf(line, sizeof(line), "Reviewed and signed electronically by %.60s on %s UTC.",
                     db_col_text(st, 0), a);
            line_at(&pg, 10, false, line);
            if (db_col_text(st, 2) && db_col_text(st, 2)[0]) {
                snprintf(line, sizeof(line), "Comment: %.1000s", db_col_text(st, 2));
                line_at(&pg, 9, false, line);
            }
        } else {
            line_at(&pg, 10, false,
                    "Not signed yet. Reviewed by: ____________________  "
                    "Date: ____________");
        }
    }
    db_finalize(st);
    cairo_show_page(cr);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if (!rc && cs != CAIRO_STATUS_SUCCESS)
        rc = err_set(ei, ERR_INTERNAL, NULL, "cairo: %s", cairo_status_to_string(cs));
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s}", "month", month, "instrument", inst ? inst : "");
        rc = audit_write(d, ctx, "qc.report", "qc_report", month, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
    return rc;
}

err_t qc_month_sign(db *d, const audit_ctx *ctx, const user *u, const json_t *body, json_t **out,
                    errinfo *ei)
{
    int64_t from = 0, to = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, sign_fields, sizeof(sign_fields) / sizeof(sign_fields[0]), ei);
    if (!rc)
        rc = qc_month_range(jsonv_str(body, "month"), &from, &to, ei);
    if (rc)
        return rc;
    if (to > time_now_us())
        return err_set(ei, ERR_INVALID, "month", "%s is not over yet: it is signed after its end",
                       jsonv_str(body, "month"));
    rc = result_signature_check(d, ctx, u, jsonv_str(body, "password"), ei);
    if (rc)
        return rc;
    const char *inst = jsonv_str(body, "instrument"), *comment = jsonv_str(body, "comment");
    char id[ID_LEN + 1];
    int64_t now = time_now_us();
    id_new(id);
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_sign, "ttttit", id, jsonv_str(body, "month"), inst ? inst : "",
                ctx->actor ? ctx->actor : u->username, now, comment ? comment : "");
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "month", "the QC of %s was signed already",
                     jsonv_str(body, "month"));
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s}", "month", jsonv_str(body, "month"), "instrument",
                                   inst ? inst : "");
        rc = audit_write(d, ctx, "qc.report.sign", "qc_report", jsonv_str(body, "month"), "ok",
                         detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
    if (!rc) {
        char at[TIME_ISO_LEN];
        time_format_iso(now, at);
        *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "month", jsonv_str(body, "month"),
                         "instrument", inst ? inst : "", "signed_by",
                         ctx->actor ? ctx->actor : u->username, "signed_at", at, "comment",
                         comment ? comment : "");
        rc = *out ? ERR_OK : ERR_NOMEM;
    }
    return rc;
}
