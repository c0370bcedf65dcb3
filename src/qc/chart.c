/*
 * chart.c - Levey-Jennings charts (see chart.h).
 */
#include "qc/chart.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "lab/catalog.h"
#include "lab/draw.h"

#define FONT     "sans-serif"
#define WIDTH    1000.0
#define PANEL_H  220.0
#define TOP      70.0
#define LEFT     70.0
#define RIGHT    30.0
#define NOTE_H   16.0
#define LEVELS   8
#define POINTS   5000
#define LOCKOUTS 40
#define DAY_US   (86400LL * 1000000)
#define SD_LIMIT 4.0 /* the scale runs from -4 to +4 SD; points beyond sit on the edge */

static const char sql_points[] =
    "SELECT q.material_id, m.level, m.lot, q.value, q.mean, q.sd, q.at, q.status, q.violations"
    " FROM qc_results q JOIN qc_materials m ON m.id = q.material_id"
    " WHERE q.test_code = ? AND q.instrument = ? AND q.at >= ? AND q.at < ?"
    " ORDER BY m.level, m.lot, q.material_id, q.at, q.id LIMIT 5000";
static const char sql_target[] =
    "SELECT mean, sd FROM qc_targets WHERE material_id = ? AND test_code = ?"
    " AND (instrument = ? OR instrument = '') ORDER BY instrument DESC LIMIT 1";
static const char sql_lockouts[] =
    "SELECT opened_at, reason, closed_at, closed_by, corrective_action FROM qc_lockouts"
    " WHERE test_code = ? AND instrument = ? AND opened_at < ? AND (closed_at IS NULL OR"
    " closed_at >= ?) ORDER BY opened_at LIMIT 40";

struct point {
    int64_t at;
    double z;
    bool judged;
    char status[12];
    char rules[64];
};

struct level {
    char material[32], title[160];
    size_t first, n; /* its points */
};

struct lockout {
    int64_t opened, closed;
    char reason[200], by[64], action[300];
};

struct chart {
    char test[CATALOG_CODE_MAX + 1], name[520], unit[40], instrument[65];
    bool tolerance; /* a tolerance check: z is 3 (value - target) / tolerance */
    char title_line[120];
    int64_t from, to;
    struct point *pts;
    size_t npts;
    struct level levels[LEVELS];
    size_t nlevels;
    struct lockout locks[LOCKOUTS];
    size_t nlocks;
};

bool qc_chart_format_parse(const char *s, qc_chart_format *out)
{
    if (!s || !strcmp(s, "svg"))
        *out = QC_CHART_SVG;
    else if (!strcmp(s, "png"))
        *out = QC_CHART_PNG;
    else if (!strcmp(s, "pdf"))
        *out = QC_CHART_PDF;
    else
        return false;
    return true;
}

/* The rejecting rules a result broke, "1-3s 2-2s", from its violations JSON. */
static void rules_of(const char *json, char *out, size_t n)
{
    json_t *v = json_loads(json ? json : "[]", 0, NULL), *x;
    size_t i, off = 0;
    out[0] = '\0';
    json_array_foreach(v, i, x)
    {
        const char *r = json_string_value(json_object_get(x, "rule"));
        const char *act = json_string_value(json_object_get(x, "action"));
        if (r && act && !strcmp(act, "reject") && off < n)
            off += (size_t)snprintf(out + off, n - off, "%s%s", off ? " " : "", r);
    }
    json_decref(v);
}

static err_t load(db *d, struct chart *c, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    c->pts = calloc(POINTS, sizeof(*c->pts));
    if (!c->pts)
        return ERR_NOMEM;
    err_t rc = db_query(d, &st, ei, sql_points, "ttii", c->test, c->instrument, c->from, c->to);
    while (!rc && !(rc = db_step(st, &row, ei)) && row && c->npts < POINTS) {
        const char *mat = db_col_text(st, 0);
        struct level *lv = c->nlevels ? &c->levels[c->nlevels - 1] : NULL;
        if (!lv || strcmp(lv->material, mat)) {
            if (c->nlevels == LEVELS)
                break;
            lv = &c->levels[c->nlevels++];
            snprintf(lv->material, sizeof(lv->material), "%s", mat);
            snprintf(lv->title, sizeof(lv->title), "Level %.40s, lot %.40s", db_col_text(st, 1),
                     db_col_text(st, 2));
            lv->first = c->npts;
        }
        struct point *p = &c->pts[c->npts++];
        lv->n++;
        p->at = db_col_int64(st, 6);
        p->judged = !db_col_null(st, 5) && db_col_double(st, 5) > 0;
        p->z = p->judged ? (db_col_double(st, 3) - db_col_double(st, 4)) / db_col_double(st, 5) : 0;
        snprintf(p->status, sizeof(p->status), "%s", db_col_text(st, 7));
        rules_of(db_col_text(st, 8), p->rules, sizeof(p->rules));
    }
    db_finalize(st);
    st = NULL;
    /* each level's title: its current target */
    for (size_t i = 0; !rc && i < c->nlevels; i++) {
        struct level *lv = &c->levels[i];
        rc = db_query(d, &st, ei, sql_target, "ttt", lv->material, c->test, c->instrument);
        if (!rc && !(rc = db_step(st, &row, ei)) && row && !db_col_null(st, 0) &&
            !db_col_null(st, 1)) {
            size_t len = strlen(lv->title);
            snprintf(lv->title + len, sizeof(lv->title) - len, " - mean %.4g %s, SD %.4g",
                     db_col_double(st, 0), c->unit, db_col_double(st, 1));
        } else if (!rc) {
            size_t len = strlen(lv->title);
            snprintf(lv->title + len, sizeof(lv->title) - len, " - target being established");
        }
        db_finalize(st);
        st = NULL;
    }
    if (!rc)
        rc = db_query(d, &st, ei, sql_lockouts, "ttii", c->test, c->instrument, c->to, c->from);
    while (!rc && !(rc = db_step(st, &row, ei)) && row && c->nlocks < LOCKOUTS) {
        struct lockout *l = &c->locks[c->nlocks++];
        l->opened = db_col_int64(st, 0);
        snprintf(l->reason, sizeof(l->reason), "%s", db_col_text(st, 1));
        l->closed = db_col_null(st, 2) ? 0 : db_col_int64(st, 2);
        snprintf(l->by, sizeof(l->by), "%s", db_col_text(st, 3) ? db_col_text(st, 3) : "");
        snprintf(l->action, sizeof(l->action), "%s", db_col_text(st, 4) ? db_col_text(st, 4) : "");
    }
    db_finalize(st);
    return rc;
}

/* ---- drawing ---- */

static double x_of(const struct chart *c, int64_t t)
{
    double span = (double)(c->to - c->from);
    double f = span > 0 ? (double)(t - c->from) / span : 0;
    return LEFT + f * (WIDTH - LEFT - RIGHT);
}

static double y_of(double top, double z)
{
    if (z > SD_LIMIT)
        z = SD_LIMIT;
    if (z < -SD_LIMIT)
        z = -SD_LIMIT;
    double mid = top + PANEL_H / 2 - 10;
    return mid - z * ((PANEL_H - 50) / (2 * SD_LIMIT));
}

static void hline(cairo_t *cr, double y, double r, double g, double b, double dash, double width)
{
    cairo_save(cr);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, width);
    if (dash > 0)
        cairo_set_dash(cr, &dash, 1, 0);
    cairo_move_to(cr, LEFT, y);
    cairo_line_to(cr, WIDTH - RIGHT, y);
    cairo_stroke(cr);
    cairo_restore(cr);
}

static void vmark(cairo_t *cr, double x, double top, double r, double g, double b,
                  const char *label)
{
    double dash = 3;
    cairo_save(cr);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, 1);
    cairo_set_dash(cr, &dash, 1, 0);
    cairo_move_to(cr, x, top + 22);
    cairo_line_to(cr, x, top + PANEL_H - 28);
    cairo_stroke(cr);
    cairo_restore(cr);
    cairo_save(cr);
    cairo_set_source_rgb(cr, r, g, b);
    draw_text(cr, x + 2, top + PANEL_H - 30, 9, true, label);
    cairo_restore(cr);
}

static void panel(cairo_t *cr, const struct chart *c, const struct level *lv, double top)
{
    static const struct {
        double z, r, g, b, dash;
    } lines[] = {
        {0, 0.2, 0.2, 0.2, 0},   {1, 0.6, 0.6, 0.6, 2},   {-1, 0.6, 0.6, 0.6, 2},
        {2, 0.95, 0.6, 0.1, 5},  {-2, 0.95, 0.6, 0.1, 5}, {3, 0.85, 0.1, 0.1, 0},
        {-3, 0.85, 0.1, 0.1, 0},
    };
    static const char *const labels[] = {"mean", "+1SD", "-1SD", "+2SD", "-2SD", "+3SD", "-3SD"};
    static const char *const tol_labels[] = {"target", "", "", "", "", "+tol", "-tol"};
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, LEFT, top + 14, 12, true, lv->title);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (c->tolerance && !tol_labels[i][0])
            continue; /* a tolerance check has its target and its two limits */
        double y = y_of(top, lines[i].z);
        hline(cr, y, lines[i].r, lines[i].g, lines[i].b, lines[i].dash,
              lines[i].z == 0 ? 1.2 : 0.8);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        draw_text(cr, 8, y + 3, 9, false, c->tolerance ? tol_labels[i] : labels[i]);
    }
    /* time axis: the start, the middle and the end (to the minute when short) */
    char day[32];
    bool minutes = c->to - c->from < 2 * DAY_US;
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    if (minutes)
        time_format_minute(c->from, day);
    else
        time_format_date(c->from, day);
    draw_text(cr, LEFT, top + PANEL_H - 8, 9, false, day);
    if (minutes)
        time_format_minute(c->from + (c->to - c->from) / 2, day);
    else
        time_format_date(c->from + (c->to - c->from) / 2, day);
    draw_text(cr, (LEFT + WIDTH - RIGHT) / 2 - 40, top + PANEL_H - 8, 9, false, day);
    if (minutes)
        time_format_minute(c->to - 1, day);
    else
        time_format_date(c->to - 1, day);
    draw_text(cr, WIDTH - RIGHT - 85, top + PANEL_H - 8, 9, false, day);
    /* lockouts and corrective actions */
    for (size_t i = 0; i < c->nlocks; i++) {
        char label[24];
        const struct lockout *l = &c->locks[i];
        if (l->opened >= c->from && l->opened < c->to) {
            snprintf(label, sizeof(label), "L%zu", i + 1);
            vmark(cr, x_of(c, l->opened), top, 0.85, 0.1, 0.1, label);
        }
        if (l->closed && l->closed >= c->from && l->closed < c->to) {
            snprintf(label, sizeof(label), "A%zu", i + 1);
            vmark(cr, x_of(c, l->closed), top, 0.1, 0.55, 0.2, label);
        }
    }
    /* the series, joined in time order */
    cairo_set_source_rgb(cr, 0.35, 0.45, 0.7);
    cairo_set_line_width(cr, 0.8);
    bool started = false;
    for (size_t i = lv->first; i < lv->first + lv->n; i++) {
        const struct point *p = &c->pts[i];
        if (!p->judged)
            continue;
        double x = x_of(c, p->at), y = y_of(top, p->z);
        if (started)
            cairo_line_to(cr, x, y);
        else
            cairo_move_to(cr, x, y);
        started = true;
    }
    cairo_stroke(cr);
    for (size_t i = lv->first; i < lv->first + lv->n; i++) {
        const struct point *p = &c->pts[i];
        double x = x_of(c, p->at), y = y_of(top, p->z);
        if (!p->judged) {
            cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
            cairo_arc(cr, x, y_of(top, 0), 3.5, 0, 2 * M_PI);
            cairo_stroke(cr);
        } else if (!strcmp(p->status, "rejected")) {
            cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
            cairo_set_line_width(cr, 2);
            cairo_move_to(cr, x - 5, y - 5);
            cairo_line_to(cr, x + 5, y + 5);
            cairo_move_to(cr, x - 5, y + 5);
            cairo_line_to(cr, x + 5, y - 5);
            cairo_stroke(cr);
            draw_text(cr, x + 6, y > top + 30 ? y - 6 : y + 14, 9, true, p->rules);
            cairo_set_line_width(cr, 0.8);
        } else {
            if (!strcmp(p->status, "warning"))
                cairo_set_source_rgb(cr, 0.95, 0.55, 0.05);
            else
                cairo_set_source_rgb(cr, 0.1, 0.2, 0.5);
            cairo_arc(cr, x, y, 3.5, 0, 2 * M_PI);
            cairo_fill(cr);
        }
    }
}

static double height_of(const struct chart *c)
{
    size_t panels = c->nlevels ? c->nlevels : 1;
    return TOP + (double)panels * PANEL_H + 30 + (double)c->nlocks * 2 * NOTE_H + 20;
}

static void draw(cairo_t *cr, const struct chart *c)
{
    char line[600], a[32], b[32];
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (c->tolerance)
        snprintf(line, sizeof(line), "Tolerance QC: %.200s (%s) on %s", c->name, c->test,
                 c->instrument);
    else
        snprintf(line, sizeof(line), "Levey-Jennings: %.200s (%s) on %s", c->name, c->test,
                 c->instrument[0] ? c->instrument : "the manual bench");
    draw_text(cr, LEFT, 28, 16, true, line);
    time_format_minute(c->from, a);
    time_format_minute(c->to, b);
    if (c->tolerance)
        snprintf(line, sizeof(line),
                 "%s to %s UTC. Deviation from the target in force, to scale with the tolerance; "
                 "dot within tolerance, red cross outside.",
                 a, b);
    else
        snprintf(line, sizeof(line),
                 "%s to %s UTC. z-scores against the target in force; dot accepted, orange 1-2s "
                 "warning, red cross rejected, ring provisional.",
                 a, b);
    draw_text(cr, LEFT, 46, 9, false, line);
    double top = TOP;
    if (c->nlevels == 0) {
        draw_text(cr, LEFT, top + 40, 12, false, "No QC results in this range.");
        top += PANEL_H;
    }
    for (size_t i = 0; i < c->nlevels; i++, top += PANEL_H)
        panel(cr, c, &c->levels[i], top);
    top += 20;
    for (size_t i = 0; i < c->nlocks; i++) {
        const struct lockout *l = &c->locks[i];
        time_format_minute(l->opened, a);
        cairo_set_source_rgb(cr, 0.7, 0.05, 0.05);
        snprintf(line, sizeof(line), "L%zu %s: %.200s", i + 1, a, l->reason);
        draw_text(cr, LEFT, top, 10, false, line);
        top += NOTE_H;
        if (l->closed) {
            time_format_minute(l->closed, a);
            cairo_set_source_rgb(cr, 0.05, 0.45, 0.15);
            snprintf(line, sizeof(line), "A%zu %s, %.60s: %.300s", i + 1, a, l->by, l->action);
        } else {
            cairo_set_source_rgb(cr, 0.7, 0.05, 0.05);
            snprintf(line, sizeof(line), "A%zu: no corrective action yet: the %s is locked", i + 1,
                     c->tolerance ? "device" : "test");
        }
        draw_text(cr, LEFT, top, 10, false, line);
        top += NOTE_H;
    }
}

/* With no range asked, fit the results of the last 31 days, with a margin. */
static void fit_range(struct chart *c, int64_t from, int64_t to)
{
    if (from || c->npts == 0)
        return;
    int64_t first = c->to;
    for (size_t i = 0; i < c->npts; i++)
        if (c->pts[i].at < first)
            first = c->pts[i].at;
    int64_t span = c->to - first;
    int64_t pad = span / 20 > 60000000 ? span / 20 : 60000000;
    c->from = first - pad;
    if (!to)
        c->to += pad;
}

/* Draw c in format and append it to out. */
static err_t render(const struct chart *c, qc_chart_format format, buf *out, errinfo *ei)
{
    double h = height_of(c);
    cairo_surface_t *s;
    switch (format) {
    case QC_CHART_PDF:
        s = cairo_pdf_surface_create_for_stream(draw_to_buf, out, WIDTH * 0.75, h * 0.75);
        break;
    case QC_CHART_SVG:
        s = cairo_svg_surface_create_for_stream(draw_to_buf, out, WIDTH, h);
        break;
    default:
        s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)WIDTH, (int)h);
        break;
    }
    cairo_t *cr = cairo_create(s);
    if (format == QC_CHART_PDF) {
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE,
                                       c->tolerance ? "Tolerance QC chart"
                                                    : "Levey-Jennings chart");
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "benchside");
        cairo_scale(cr, 0.75, 0.75);
    }
    draw(cr, c);
    cairo_show_page(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (format == QC_CHART_PNG && st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png_stream(s, draw_to_buf, out);
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        return err_set(ei, ERR_INTERNAL, NULL, "cairo: %s", cairo_status_to_string(st));
    return ERR_OK;
}

err_t qc_chart(db *d, const char *test, const char *instrument, int64_t from, int64_t to,
               qc_chart_format format, buf *out, errinfo *ei)
{
    struct chart *c = calloc(1, sizeof(*c));
    catalog_test t;
    if (!c)
        return ERR_NOMEM;
    err_t rc = catalog_get(d, test, &t, ei);
    if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
        rc = err_set(ei, ERR_INVALID, "test", "'%.16s' is not a test of the catalog", test);
    if (!rc) {
        snprintf(c->test, sizeof(c->test), "%s", t.code);
        snprintf(c->name, sizeof(c->name), "%s", t.name);
        snprintf(c->unit, sizeof(c->unit), "%s", t.kind == CATALOG_NUMERIC ? t.unit : "");
        snprintf(c->instrument, sizeof(c->instrument), "%s", instrument ? instrument : "");
        c->to = to ? to : time_now_us();
        c->from = from ? from : c->to - 31 * DAY_US;
        if (c->from >= c->to)
            rc = err_set(ei, ERR_INVALID, "from", "from must be before to");
    }
    if (!rc)
        rc = load(d, c, ei);
    if (!rc)
        fit_range(c, from, to);
    if (!rc)
        rc = render(c, format, out, ei);
    free(c->pts);
    free(c);
    return rc;
}

static const char sql_check[] =
    "SELECT c.code, c.name, c.unit, c.target, c.tolerance, a.tag FROM qc_checks c JOIN assets a"
    " ON a.id = c.asset_id WHERE c.id = ?";
static const char sql_check_points[] =
    "SELECT value, target, tolerance, at, passed FROM qc_check_results WHERE check_id = ? AND"
    " at >= ? AND at < ? ORDER BY at, id LIMIT 5000";
static const char sql_check_lockouts[] =
    "SELECT opened_at, reason, closed_at, closed_by, corrective_action FROM qc_check_lockouts"
    " WHERE check_id = ? AND opened_at < ? AND (closed_at IS NULL OR closed_at >= ?)"
    " ORDER BY opened_at LIMIT 40";

/* A tolerance check's results, as one panel; each point's z is three times
 * its deviation over the tolerance it was judged against, so the limits sit
 * on the chart's outer lines. */
static err_t load_check(db *d, struct chart *c, const char *check_id, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    c->pts = calloc(POINTS, sizeof(*c->pts));
    if (!c->pts)
        return ERR_NOMEM;
    struct level *lv = &c->levels[0];
    c->nlevels = 1;
    snprintf(lv->material, sizeof(lv->material), "%.31s", check_id);
    snprintf(lv->title, sizeof(lv->title), "%.60s", c->title_line);
    err_t rc = db_query(d, &st, ei, sql_check_points, "tii", check_id, c->from, c->to);
    while (!rc && !(rc = db_step(st, &row, ei)) && row && c->npts < POINTS) {
        struct point *p = &c->pts[c->npts++];
        double tol = db_col_double(st, 2);
        lv->n++;
        p->at = db_col_int64(st, 3);
        p->judged = tol > 0;
        p->z = p->judged ? 3 * (db_col_double(st, 0) - db_col_double(st, 1)) / tol : 0;
        bool passed = db_col_int64(st, 4) != 0;
        snprintf(p->status, sizeof(p->status), "%s", passed ? "accepted" : "rejected");
        snprintf(p->rules, sizeof(p->rules), "%s", passed ? "" : "out of tolerance");
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_check_lockouts, "tii", check_id, c->to, c->from);
    while (!rc && !(rc = db_step(st, &row, ei)) && row && c->nlocks < LOCKOUTS) {
        struct lockout *l = &c->locks[c->nlocks++];
        l->opened = db_col_int64(st, 0);
        snprintf(l->reason, sizeof(l->reason), "%s", db_col_text(st, 1));
        l->closed = db_col_null(st, 2) ? 0 : db_col_int64(st, 2);
        snprintf(l->by, sizeof(l->by), "%s", db_col_text(st, 3) ? db_col_text(st, 3) : "");
        snprintf(l->action, sizeof(l->action), "%s", db_col_text(st, 4) ? db_col_text(st, 4) : "");
    }
    db_finalize(st);
    return rc;
}

err_t qc_chart_check(db *d, const char *check_id, int64_t from, int64_t to, qc_chart_format format,
                     buf *out, errinfo *ei)
{
    db_stmt *st = NULL;
    struct chart *c = calloc(1, sizeof(*c));
    if (!c)
        return ERR_NOMEM;
    c->tolerance = true;
    err_t rc = db_query_by_id(d, &st, sql_check, check_id, "tolerance check", ei);
    if (!rc) {
        snprintf(c->test, sizeof(c->test), "%.*s", (int)sizeof(c->test) - 1, db_col_text(st, 0));
        snprintf(c->name, sizeof(c->name), "%s", db_col_text(st, 1));
        snprintf(c->unit, sizeof(c->unit), "%s", db_col_text(st, 2));
        snprintf(c->title_line, sizeof(c->title_line), "target %.6g %.20s, tolerance +- %.6g",
                 db_col_double(st, 3), c->unit, db_col_double(st, 4));
        snprintf(c->instrument, sizeof(c->instrument), "%s", db_col_text(st, 5));
        c->to = to ? to : time_now_us();
        c->from = from ? from : c->to - 31 * DAY_US;
        if (c->from >= c->to)
            rc = err_set(ei, ERR_INVALID, "from", "from must be before to");
    }
    db_finalize(st);
    if (!rc)
        rc = load_check(d, c, check_id, ei);
    if (!rc)
        fit_range(c, from, to);
    if (!rc)
        rc = render(c, format, out, ei);
    free(c->pts);
    free(c);
    return rc;
}
