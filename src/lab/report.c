/*
 * report.c - the cumulative patient report (see report.h), laid out the way
 * a laboratory's cumulative report is: for each section of the laboratory a
 * grid whose rows are the tests (name, unit, reference range) and whose
 * columns are the collection times, newest first.
 *
 * Sections. The catalog has no department column; the grouping it keeps is
 * panel membership (panel_tests). Each test belongs to one section: the
 * largest panel that holds it (ties to the lower panel code), its rows in the
 * panel's order; tests in no panel come last, under "Other tests", by name. A
 * section is a property of the test rather than of the order, so a test ordered
 * alone and within its panel is still one row with its whole trend, and a
 * test in two panels (BMP within CMP) sits in the fuller one.
 *
 * Rows. One per test, or one per (unit, reference range) where these changed
 * over the patient's history (an age band, a correction with a new unit): a
 * value never stands beside a range that is not its own.
 *
 * Columns. One per collection time in the section; two results of a row
 * collected at the same instant get a column each. Columns that do not fit
 * across the page continue in a next block of the same section with the row
 * labels repeated; blocks stack down the page, a new page when the next block
 * does not fit (a block taller than a whole page continues on the next with
 * its title and column header repeated).
 *
 * Page. A4 landscape: the row labels take 284 pt, which leaves room for ten
 * collection columns across landscape where portrait leaves five; a block
 * then reads as a trend over ten draws and a heavy patient's year takes half
 * the blocks. Text wider than its column (a long test name, a free-text
 * result) wraps within the column and the row grows: nothing is cut.
 *
 * Reading. One query, ordered for the layout, reads the patient's results
 * into memory, those still in review included (counted, not shown); then the
 * footnotes are read for the corrected and critical results only; then the
 * PDF is drawn, so that the first page already knows whether the report is a
 * corrected one.
 */
#include "lab/report.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/time.h"
#include "lab/draw.h"
#include "lab/patient.h"

#define PAGE_W    842.0 /* A4 landscape, in points */
#define PAGE_H    595.0
#define MARGIN    30.0
#define TOP       (MARGIN + 58.0) /* below the page header */
#define BOTTOM    (PAGE_H - MARGIN)
#define TEXT      7.5 /* grid text */
#define ROW_H     9.5 /* one line of a grid row */
#define NAME_W    170.0
#define UNIT_W    50.0
#define REF_W     64.0
#define LABEL_W   (NAME_W + UNIT_W + REF_W)
#define COL_MIN   48.0 /* "2026-11-22" in bold, "1.030 (c) H" */
#define PAD       4.0  /* between a column's text and the next column */
#define TITLE     9.0
#define TITLE_H   12.0
#define HEAD_H    20.0 /* the column header: date, time, rule */
#define BLOCK_GAP 9.0
#define NOTE      8.0
#define NOTE_H    10.5

#define GLYPH_EM_MAX 1.25 /* see pen_para */

/* The one read: the patient's results in the order the grid is drawn. */
static const char sql_results[] =
    "WITH sizes AS (SELECT panel_code, COUNT(*) AS n FROM panel_tests GROUP BY panel_code),"
    " homes AS (SELECT pt.test_code, pt.panel_code, pt.seq, ROW_NUMBER() OVER"
    " (PARTITION BY pt.test_code ORDER BY z.n DESC, pt.panel_code, pt.seq) AS k"
    " FROM panel_tests pt JOIN sizes z ON z.panel_code = pt.panel_code)"
    " SELECT r.id, r.test_code, t.name, r.value_text, r.unit, r.flag, r.critical, r.ref_low,"
    " r.ref_high, r.ref_text, r.status, COALESCE(s.collected_at, 0), h.panel_code, p.name"
    " FROM results r JOIN tests t ON t.code = r.test_code JOIN specimens s ON s.id = r.specimen_id"
    " LEFT JOIN homes h ON h.test_code = r.test_code AND h.k = 1"
    " LEFT JOIN panels p ON p.code = h.panel_code"
    " WHERE r.patient_id = ? AND r.status IN ('review', 'released', 'corrected')"
    " ORDER BY CASE WHEN h.panel_code IS NULL THEN 1 ELSE 0 END, p.name, h.panel_code, h.seq,"
    " t.name, r.test_code, COALESCE(s.collected_at, 0) DESC, r.id DESC";
static const char sql_history[] = "SELECT value_text, replaced_by, replaced_at, reason"
                                  " FROM result_history WHERE result_id = ? ORDER BY version";
static const char sql_call[] = "SELECT notified, notified_at, closed_by FROM critical_alerts"
                               " WHERE result_id = ? AND closed_at IS NOT NULL"
                               " ORDER BY closed_at DESC LIMIT 1";

/* ------------------------------------------------------------ what is read */

/* A grid row: one test with one unit and one reference range. */
struct row {
    const char *code, *label, *unit, *ref;
    int64_t last_at; /* the row's last result read, for two at one instant */
    int last_dup;
    int label_lines; /* 0 until measured */
};

/* A released or corrected result: a cell. */
struct res {
    const char *id;   /* kept for the footnotes of corrected and critical ones */
    const char *text; /* value, " (c)" when corrected, the flag */
    const char *value;
    int64_t at;
    int dup; /* 0, or the nth result of its row collected at the same instant */
    int col; /* within its section, set when the section is drawn */
    size_t row;
    bool flagged, corrected, critical;
};

struct sect {
    const char *title;
    size_t row0, rows, res0, nres;
};

/* Everything the drawing needs; the arrays live in bufs, strings in the arena. */
struct rep {
    arena a;
    buf rows, res, sects, notes; /* struct row, struct res, struct sect, const char * */
    size_t nrows, nres, nsects, nnotes;
    int64_t pending;
    bool corrected;
};

static struct row *row_at(const struct rep *rp, size_t i)
{
    return (struct row *)(void *)rp->rows.data + i;
}

static struct res *res_at(const struct rep *rp, size_t i)
{
    return (struct res *)(void *)rp->res.data + i;
}

static struct sect *sect_at(const struct rep *rp, size_t i)
{
    return (struct sect *)(void *)rp->sects.data + i;
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

/* The result's reference range as printed: its text, else its limits. */
static const char *fmt_ref(db_stmt *st, char out[64])
{
    char lo[24], hi[24];
    if (db_col_text(st, 9))
        return db_col_text(st, 9);
    fmt_number(st, 7, lo, sizeof(lo));
    fmt_number(st, 8, hi, sizeof(hi));
    if (lo[0] && hi[0])
        snprintf(out, 64, "%s - %s", lo, hi);
    else if (hi[0])
        snprintf(out, 64, "< %s", hi);
    else if (lo[0])
        snprintf(out, 64, "> %s", lo);
    else
        snprintf(out, 64, "-");
    return out;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static err_t nomem(errinfo *ei)
{
    return err_set(ei, ERR_NOMEM, NULL, NULL);
}

/* A section beginning with the current row of st. */
static err_t add_sect(struct rep *rp, db_stmt *st, errinfo *ei)
{
    const char *name = db_col_text(st, 13), *code = db_col_text(st, 12);
    struct sect s = {code ? arena_strdup(&rp->a, name ? name : code) : "Other tests", rp->nrows, 0,
                     rp->nres, 0};
    if (!s.title || buf_append(&rp->sects, &s, sizeof(s)))
        return nomem(ei);
    rp->nsects++;
    return ERR_OK;
}

/* The row of the current test (code, its rows from test_row0) for st's unit
 * and range, added when new. */
static err_t find_row(struct rep *rp, db_stmt *st, const char *code, size_t test_row0, size_t *out,
                      errinfo *ei)
{
    char num[64];
    const char *name = db_col_text(st, 2);
    const char *unit = db_col_text(st, 4) ? db_col_text(st, 4) : "";
    const char *ref = fmt_ref(st, num);
    for (size_t i = test_row0; i < rp->nrows; i++) {
        const struct row *r = row_at(rp, i);
        if (!strcmp(r->unit, unit) && !strcmp(r->ref, ref)) {
            *out = i;
            return ERR_OK;
        }
    }
    /* "Urea nitrogen (BUN)" already says its code */
    char paren[24];
    snprintf(paren, sizeof(paren), "(%s)", code);
    struct row r = {code,
                    strstr(name, paren) ? arena_strdup(&rp->a, name)
                                        : arena_printf(&rp->a, "%s %s", name, paren),
                    arena_strdup(&rp->a, unit),
                    arena_strdup(&rp->a, ref),
                    0,
                    -1,
                    0};
    if (!r.label || !r.unit || !r.ref || buf_append(&rp->rows, &r, sizeof(r)))
        return nomem(ei);
    *out = rp->nrows++;
    sect_at(rp, rp->nsects - 1)->rows++;
    return ERR_OK;
}

/* The flag as a constant string: the database's own is gone at the next
 * step. The table allows no other; one would still be shown as abnormal. */
static const char *flag_of(const char *f)
{
    static const char *const flags[] = {"L", "H", "LL", "HH", "A"};
    if (!f)
        return NULL;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (!strcmp(f, flags[i]))
            return flags[i];
    return "A";
}

static err_t add_res(struct rep *rp, db_stmt *st, size_t row, errinfo *ei)
{
    struct row *r = row_at(rp, row);
    const char *flag = flag_of(db_col_text(st, 5));
    bool corrected = !strcmp(db_col_text(st, 10), "corrected");
    bool critical = db_col_int64(st, 6) != 0;
    struct res x = {.at = db_col_int64(st, 11),
                    .row = row,
                    .flagged = flag != NULL,
                    .corrected = corrected,
                    .critical = critical};
    x.dup = r->last_dup >= 0 && r->last_at == x.at ? r->last_dup + 1 : 0;
    r->last_at = x.at;
    r->last_dup = x.dup;
    x.value = arena_strdup(&rp->a, db_col_text(st, 3));
    x.text = flag || corrected
                 ? arena_printf(&rp->a, "%s%s%s%s", db_col_text(st, 3), corrected ? " (c)" : "",
                                flag ? " " : "", flag ? flag : "")
                 : x.value;
    if (corrected || critical)
        x.id = arena_strdup(&rp->a, db_col_text(st, 0));
    if (!x.value || !x.text || ((corrected || critical) && !x.id) ||
        buf_append(&rp->res, &x, sizeof(x)))
        return nomem(ei);
    rp->nres++;
    sect_at(rp, rp->nsects - 1)->nres++;
    if (corrected)
        rp->corrected = true;
    return ERR_OK;
}

/* The one pass over the patient's results. */
static err_t read_results(db *d, const char *patient_id, struct rep *rp, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false, any = false;
    const char *sect_code = NULL, *test = NULL;
    size_t test_row0 = 0, r = 0;
    err_t rc = db_query(d, &st, ei, sql_results, "t", patient_id);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        if (!strcmp(db_col_text(st, 10), "review")) {
            rp->pending++;
            continue;
        }
        const char *sc = db_col_text(st, 12), *code = db_col_text(st, 1);
        if (!any || !same_text(sc, sect_code)) {
            rc = add_sect(rp, st, ei);
            sect_code = sc ? arena_strdup(&rp->a, sc) : NULL;
            if (!rc && sc && !sect_code)
                rc = nomem(ei);
            test = NULL;
            any = true;
        }
        if (!rc && (!test || strcmp(code, test))) {
            test_row0 = rp->nrows;
            test = arena_strdup(&rp->a, code);
            if (!test)
                rc = nomem(ei);
        }
        if (!rc)
            rc = find_row(rp, st, test, test_row0, &r, ei);
        if (!rc)
            rc = add_res(rp, st, r, ei);
    }
    db_finalize(st);
    return rc;
}

static const char *nz(const char *s)
{
    return s ? s : "-";
}

static err_t add_note(struct rep *rp, const char *note, errinfo *ei)
{
    if (!note || buf_append(&rp->notes, &note, sizeof(note)))
        return nomem(ei);
    rp->nnotes++;
    return ERR_OK;
}

/* Footnotes, read for the corrected and critical results only: earlier
 * values with who, when and why; the documented call of a critical value. */
static err_t read_notes(db *d, struct rep *rp, errinfo *ei)
{
    db_stmt *hs = NULL;
    bool row = false;
    err_t rc = ERR_OK;
    for (size_t i = 0; i < rp->nres && !rc; i++) {
        const struct res *x = res_at(rp, i);
        const char *code = row_at(rp, x->row)->code;
        char when[20], at[20];
        if (!x->corrected && !x->critical)
            continue;
        fmt_time(x->at, when);
        if (x->corrected) {
            rc = db_query(d, &hs, ei, sql_history, "t", x->id);
            while (!rc) {
                rc = db_step(hs, &row, ei);
                if (rc || !row)
                    break;
                fmt_time(db_col_int64(hs, 2), at);
                rc = add_note(rp,
                              arena_printf(&rp->a,
                                           "(c) %s collected %s: earlier value %s replaced by %s"
                                           " at %s: %s",
                                           code, when, nz(db_col_text(hs, 0)),
                                           nz(db_col_text(hs, 1)), at, nz(db_col_text(hs, 3))),
                              ei);
            }
            db_finalize(hs);
            hs = NULL;
        }
        if (!rc && x->critical) {
            rc = db_query(d, &hs, ei, sql_call, "t", x->id);
            if (!rc)
                rc = db_step(hs, &row, ei);
            if (!rc && row) {
                fmt_time(db_col_int64(hs, 1), at);
                rc = add_note(rp,
                              arena_printf(&rp->a,
                                           "!! %s %s collected %s is a critical value: called to"
                                           " %s at %s by %s, read back",
                                           code, x->value, when, nz(db_col_text(hs, 0)), at,
                                           nz(db_col_text(hs, 2))),
                              ei);
            }
            db_finalize(hs);
            hs = NULL;
        }
    }
    return rc;
}

/* ------------------------------------------------------------------ text */

/* Glyphs of one font, size and colour waiting to be shown. */
struct run {
    double size;
    int bold, color;
    cairo_glyph_t *g;
    size_t n, cap;
};

#define PEN_RUNS 6

/*
 * The drawing state, changed only when a piece of text needs another, and
 * the text itself gathered into runs shown once a page: the report draws
 * thousands of short strings, and what a PDF surface costs goes with the
 * number of drawing calls more than with the number of glyphs.
 */
struct pen {
    cairo_t *cr;
    int bold;  /* -1 until chosen */
    int color; /* 0 black, 1 dark red, -1 other */
    double size;
    bool nomem; /* a wrap could not copy its text, or a run grow */
    struct run runs[PEN_RUNS];
    size_t nruns;
};

static void pen_color(struct pen *pn, bool red)
{
    if (pn->color == (int)red)
        return;
    if (red)
        cairo_set_source_rgb(pn->cr, 0.64, 0.05, 0.05);
    else
        cairo_set_source_rgb(pn->cr, 0, 0, 0);
    pn->color = red;
}

static void pen_set(struct pen *pn, double size, bool bold, bool red)
{
    if (pn->bold != (int)bold) {
        cairo_select_font_face(pn->cr, DRAW_FONT, CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        pn->bold = bold;
    }
    if (pn->size != size) {
        cairo_set_font_size(pn->cr, size);
        pn->size = size;
    }
    pen_color(pn, red);
}

/* Show the runs gathered, each in its font; the pen's state is then unknown. */
static void pen_flush(struct pen *pn)
{
    for (size_t i = 0; i < pn->nruns; i++) {
        struct run *r = &pn->runs[i];
        if (!r->n)
            continue;
        pn->bold = pn->color = -1;
        pn->size = -1;
        pen_set(pn, r->size, r->bold, r->color);
        cairo_show_glyphs(pn->cr, r->g, (int)r->n);
        r->n = 0;
    }
    pn->bold = pn->color = -1;
    pn->size = -1;
}

static void pen_free(struct pen *pn)
{
    for (size_t i = 0; i < pn->nruns; i++)
        free(pn->runs[i].g);
}

/* The run for the pen's font and colour, with room for n more glyphs; NULL
 * when out of memory. */
static struct run *pen_run(struct pen *pn, size_t n)
{
    struct run *r = NULL;
    for (size_t i = 0; i < pn->nruns && !r; i++)
        if (pn->runs[i].size == pn->size && pn->runs[i].bold == pn->bold &&
            pn->runs[i].color == pn->color)
            r = &pn->runs[i];
    if (!r && pn->nruns < PEN_RUNS)
        r = &pn->runs[pn->nruns++];
    if (!r) {
        int bold = pn->bold, color = pn->color;
        double size = pn->size;
        pen_flush(pn);
        pen_set(pn, size, bold, color);
        r = &pn->runs[0];
    }
    r->size = pn->size;
    r->bold = pn->bold;
    r->color = pn->color;
    if (r->n + n > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->n + n)
            cap *= 2;
        cairo_glyph_t *g = realloc(r->g, cap * sizeof(*g));
        if (!g)
            return NULL;
        r->g = g;
        r->cap = cap;
    }
    return r;
}

/* s with its baseline starting at (x, y), shown when the page is. */
static void pen_show(struct pen *pn, double x, double y, const char *s)
{
    size_t len = strlen(s);
    struct run *r = pen_run(pn, len);
    if (!r) {
        pn->nomem = true;
        return;
    }
    cairo_glyph_t *g = r->g + r->n;
    int n = (int)(r->cap - r->n);
    cairo_status_t st = cairo_scaled_font_text_to_glyphs(cairo_get_scaled_font(pn->cr), x, y, s,
                                                         (int)len, &g, &n, NULL, NULL, NULL);
    if (st == CAIRO_STATUS_SUCCESS && g == r->g + r->n) {
        r->n += (size_t)n;
        return;
    }
    if (st == CAIRO_STATUS_SUCCESS)
        cairo_glyph_free(g);
    /* not text cairo can show: let it say so on the context */
    cairo_move_to(pn->cr, x, y);
    cairo_show_text(pn->cr, s);
}

static void pen_text(struct pen *pn, double x, double y, double size, bool bold, bool red,
                     const char *s)
{
    pen_set(pn, size, bold, red);
    pen_show(pn, x, y, s);
}

/* Whether t[a..b) fits width in the pen's font (t is written to and restored). */
static bool fits(struct pen *pn, char *t, size_t a, size_t b, double width)
{
    cairo_text_extents_t e;
    char c = t[b];
    t[b] = '\0';
    cairo_text_extents(pn->cr, t + a, &e);
    t[b] = c;
    return e.x_advance <= width;
}

static size_t next_char(const char *t, size_t i, size_t n)
{
    i++;
    while (i < n && ((unsigned char)t[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* Where the line of t that begins at pos ends: after the last word that
 * fits, or when the first word alone is too wide, after its last character
 * that fits (one at least). */
static size_t line_end(struct pen *pn, char *t, size_t pos, size_t n, double width)
{
    size_t best = pos, e = pos;
    while (e < n) {
        size_t next = e;
        while (next < n && t[next] == ' ')
            next++;
        while (next < n && t[next] != ' ')
            next++;
        if (!fits(pn, t, pos, next, width))
            break;
        best = e = next;
    }
    if (best > pos)
        return best;
    e = next_char(t, pos, n);
    while (e < n && t[e] != ' ' && fits(pn, t, pos, next_char(t, e, n), width))
        e = next_char(t, e, n);
    return e;
}

/*
 * The lines s takes in width in the pen's current font; when draw, drawn
 * from baseline y down by lh. Breaks at spaces, inside a word only when the
 * word alone is too wide; never drops text. The common case, a string that
 * plainly fits, measures nothing: no glyph of a text face is wider than
 * GLYPH_EM_MAX times its size (DejaVu Sans Bold's widest, "W", is 1.1).
 */
static int pen_para(struct pen *pn, const char *s, double x, double y, double width, double lh,
                    bool draw)
{
    size_t n = strlen(s), pos = 0;
    int lines = 0;
    bool fit = (double)n * pn->size * GLYPH_EM_MAX <= width;
    if (!fit) {
        cairo_text_extents_t e;
        cairo_text_extents(pn->cr, s, &e);
        fit = e.x_advance <= width;
    }
    if (fit) {
        if (draw && n)
            pen_show(pn, x, y, s);
        return 1;
    }
    char *t = malloc(n + 1);
    if (!t) {
        pn->nomem = true;
        return 1;
    }
    memcpy(t, s, n + 1);
    while (pos < n) {
        while (pos < n && t[pos] == ' ')
            pos++;
        if (pos >= n)
            break;
        size_t end = line_end(pn, t, pos, n, width);
        if (draw) {
            char c = t[end];
            t[end] = '\0';
            pen_show(pn, x, y + lines * lh, t + pos);
            t[end] = c;
        }
        lines++;
        pos = end;
    }
    free(t);
    return lines ? lines : 1;
}

/* --------------------------------------------------------------- drawing */

struct page {
    struct pen pn;
    double y;
    int number;
    const patient *p;
    bool corrected;
    char printed[20];
};

static void rule(struct page *pg, double x0, double x1, double y)
{
    pen_color(&pg->pn, false);
    cairo_set_line_width(pg->pn.cr, 0.5);
    cairo_move_to(pg->pn.cr, x0, y);
    cairo_line_to(pg->pn.cr, x1, y);
    cairo_stroke(pg->pn.cr);
}

/* The patient header every page carries. */
static void page_header(struct page *pg)
{
    struct pen *pn = &pg->pn;
    char line[320];
    pg->number++;
    pen_text(pn, MARGIN, MARGIN + 10, 14, true, false, "Cumulative laboratory report");
    snprintf(line, sizeof(line), "Page %d", pg->number);
    pen_text(pn, PAGE_W - MARGIN - 40, MARGIN + 10, 9, false, false, line);
    snprintf(line, sizeof(line), "%s, %s    MRN %s    Born %s    Sex %s", pg->p->family,
             pg->p->given, pg->p->mrn, pg->p->birth_date, pg->p->sex);
    pen_text(pn, MARGIN, MARGIN + 28, 10, true, false, line);
    snprintf(line, sizeof(line), "Printed %s UTC", pg->printed);
    pen_text(pn, MARGIN, MARGIN + 41, 8, false, false, line);
    if (pg->corrected)
        pen_text(pn, PAGE_W - MARGIN - 150, MARGIN + 41, 10, true, true, "CORRECTED REPORT");
    rule(pg, MARGIN, PAGE_W - MARGIN, MARGIN + 48);
    pg->y = TOP;
}

static void page_new(struct page *pg)
{
    pen_flush(&pg->pn);
    cairo_show_page(pg->pn.cr);
    page_header(pg);
}

/* Room for h more points, or a new page. */
static void need(struct page *pg, double h)
{
    if (pg->y + h > BOTTOM && pg->y > TOP)
        page_new(pg);
}

struct col {
    int64_t at;
    int dup;
};

/* Columns newest first; two results of a row at one instant, in read order. */
static int col_cmp(const void *a, const void *b)
{
    const struct col *x = a, *y = b;
    if (x->at != y->at)
        return x->at > y->at ? -1 : 1;
    return (x->dup > y->dup) - (x->dup < y->dup);
}

/* A section's grid: its columns, and its results by row then column. */
struct grid {
    const struct rep *rp;
    const struct sect *sc;
    struct col *cols;
    size_t ncols;
    size_t *order; /* result indices by row, then column */
    size_t *cur;   /* per row, its first result not yet drawn (index into order) */
    size_t *end;   /* per row, one past its last */
    int *lines;    /* per row, lines in the block being drawn */
    int per;       /* columns in a block */
    double colw;
};

static void grid_free(struct grid *g)
{
    free(g->cols);
    free(g->order);
    free(g->cur);
    free(g->end);
    free(g->lines);
}

static err_t grid_build(struct grid *g, const struct rep *rp, const struct sect *sc, errinfo *ei)
{
    size_t n = sc->nres;
    memset(g, 0, sizeof(*g));
    g->rp = rp;
    g->sc = sc;
    g->cols = malloc(n * sizeof(*g->cols));
    g->order = malloc(n * sizeof(*g->order));
    g->cur = malloc(sc->rows * sizeof(*g->cur));
    g->end = malloc(sc->rows * sizeof(*g->end));
    g->lines = malloc(sc->rows * sizeof(*g->lines));
    if (!g->cols || !g->order || !g->cur || !g->end || !g->lines)
        return nomem(ei);
    for (size_t i = 0; i < n; i++) {
        const struct res *x = res_at(rp, sc->res0 + i);
        g->cols[i] = (struct col){x->at, x->dup};
    }
    qsort(g->cols, n, sizeof(*g->cols), col_cmp);
    for (size_t i = 0; i < n; i++)
        if (!g->ncols || col_cmp(&g->cols[g->ncols - 1], &g->cols[i]))
            g->cols[g->ncols++] = g->cols[i];
    for (size_t i = 0; i < n; i++) {
        struct res *x = res_at(rp, sc->res0 + i);
        struct col key = {x->at, x->dup};
        const struct col *c = bsearch(&key, g->cols, g->ncols, sizeof(*g->cols), col_cmp);
        x->col = (int)(c - g->cols);
    }
    /* By row, keeping the read order within a row: a row's results were
     * read newest first, so their columns already ascend. */
    memset(g->end, 0, sc->rows * sizeof(*g->end));
    for (size_t i = 0; i < n; i++)
        g->end[res_at(rp, sc->res0 + i)->row - sc->row0]++;
    for (size_t r = 0, acc = 0; r < sc->rows; r++) {
        g->cur[r] = acc;
        acc += g->end[r];
        g->end[r] = g->cur[r];
    }
    for (size_t i = 0; i < n; i++)
        g->order[g->end[res_at(rp, sc->res0 + i)->row - sc->row0]++] = sc->res0 + i;
    g->per = (int)((PAGE_W - 2 * MARGIN - LABEL_W) / COL_MIN);
    g->colw = (PAGE_W - 2 * MARGIN - LABEL_W) / g->per;
    return ERR_OK;
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

/* Lines of the row's labels (measured once) and of its cells in [c0, c1). */
static int row_lines(struct page *pg, struct grid *g, size_t r, int c1)
{
    struct row *rw = row_at(g->rp, g->sc->row0 + r);
    struct pen *pn = &pg->pn;
    if (!rw->label_lines) {
        pen_set(pn, TEXT, false, false);
        rw->label_lines = max_int(pen_para(pn, rw->label, 0, 0, NAME_W - PAD, ROW_H, false),
                                  max_int(pen_para(pn, rw->unit, 0, 0, UNIT_W - PAD, ROW_H, false),
                                          pen_para(pn, rw->ref, 0, 0, REF_W - PAD, ROW_H, false)));
    }
    int lines = rw->label_lines;
    for (size_t i = g->cur[r]; i < g->end[r]; i++) {
        const struct res *x = res_at(g->rp, g->order[i]);
        if (x->col >= c1)
            break;
        pen_set(pn, TEXT, x->flagged, x->flagged);
        lines = max_int(lines, pen_para(pn, x->text, 0, 0, g->colw - PAD, ROW_H, false));
    }
    return lines;
}

/* The block's title and column header: date over time, newest first. */
static void block_head(struct page *pg, struct grid *g, int c0, int c1, bool cont)
{
    struct pen *pn = &pg->pn;
    char title[600], when[20];
    double x0 = MARGIN + LABEL_W, y = pg->y;
    snprintf(title, sizeof(title), "%s%s", g->sc->title, cont ? " (continued)" : "");
    pen_set(pn, TITLE, true, false);
    int tl = pen_para(pn, title, MARGIN, y + TITLE, PAGE_W - 2 * MARGIN, TITLE_H, true);
    y += tl * TITLE_H + 2;
    pen_set(pn, 7, true, false);
    pen_show(pn, MARGIN, y + 15, "Test");
    pen_show(pn, MARGIN + NAME_W, y + 15, "Units");
    pen_show(pn, MARGIN + NAME_W + UNIT_W, y + 15, "Reference");
    for (int c = c0; c < c1; c++) {
        fmt_time(g->cols[c].at, when);
        when[10] = '\0';
        pen_show(pn, x0 + (c - c0) * g->colw, y + 7, when);
    }
    pen_set(pn, 7, false, false);
    for (int c = c0; c < c1; c++) {
        char t[24];
        fmt_time(g->cols[c].at, when);
        if (g->cols[c].dup)
            snprintf(t, sizeof(t), "%s #%d", when[0] == '-' ? "-" : when + 11, g->cols[c].dup + 1);
        else
            snprintf(t, sizeof(t), "%s", when[0] == '-' ? "-" : when + 11);
        pen_show(pn, x0 + (c - c0) * g->colw, y + 15, t);
    }
    rule(pg, MARGIN, x0 + (c1 - c0) * g->colw - PAD, y + HEAD_H - 2);
    pg->y = y + HEAD_H;
}

/* One row of a block: labels, shading on every other row, the cells in [c0, c1). */
static void block_row(struct page *pg, struct grid *g, size_t r, int c0, int c1, int lines)
{
    struct pen *pn = &pg->pn;
    const struct row *rw = row_at(g->rp, g->sc->row0 + r);
    double y = pg->y, base = y + 7;
    if (r % 2) {
        cairo_set_source_rgb(pn->cr, 0.93, 0.93, 0.93);
        cairo_rectangle(pn->cr, MARGIN, y - 0.5, LABEL_W + (c1 - c0) * g->colw - PAD,
                        lines * ROW_H);
        cairo_fill(pn->cr);
        pn->color = -1;
    }
    pen_set(pn, TEXT, false, false);
    pen_para(pn, rw->label, MARGIN, base, NAME_W - PAD, ROW_H, true);
    pen_para(pn, rw->unit, MARGIN + NAME_W, base, UNIT_W - PAD, ROW_H, true);
    pen_para(pn, rw->ref, MARGIN + NAME_W + UNIT_W, base, REF_W - PAD, ROW_H, true);
    for (; g->cur[r] < g->end[r]; g->cur[r]++) {
        const struct res *x = res_at(g->rp, g->order[g->cur[r]]);
        if (x->col >= c1)
            break;
        pen_set(pn, TEXT, x->flagged, x->flagged);
        pen_para(pn, x->text, MARGIN + LABEL_W + (x->col - c0) * g->colw, base, g->colw - PAD,
                 ROW_H, true);
    }
    pg->y += lines * ROW_H;
}

/* A section: its blocks of columns, stacked down the pages. */
static err_t draw_section(struct page *pg, struct rep *rp, const struct sect *sc, errinfo *ei)
{
    struct grid g;
    err_t rc = grid_build(&g, rp, sc, ei);
    for (int c0 = 0; !rc && (size_t)c0 < g.ncols; c0 += g.per) {
        int c1 = (size_t)(c0 + g.per) < g.ncols ? c0 + g.per : (int)g.ncols;
        double h = TITLE_H + 2 + HEAD_H; /* the gap after it may fall off the page */
        for (size_t r = 0; r < sc->rows; r++) {
            g.lines[r] = row_lines(pg, &g, r, c1);
            h += g.lines[r] * ROW_H;
        }
        need(pg, h);
        block_head(pg, &g, c0, c1, c0 > 0);
        for (size_t r = 0; r < sc->rows; r++) {
            if (pg->y + g.lines[r] * ROW_H > BOTTOM) {
                page_new(pg);
                block_head(pg, &g, c0, c1, true);
            }
            block_row(pg, &g, r, c0, c1, g.lines[r]);
        }
        pg->y += BLOCK_GAP;
    }
    grid_free(&g);
    return rc;
}

/* A paragraph across the page, on the next page when it does not fit. */
static void page_para(struct page *pg, double size, bool bold, const char *s, double lh)
{
    pen_set(&pg->pn, size, bold, false);
    int lines = pen_para(&pg->pn, s, MARGIN, 0, PAGE_W - 2 * MARGIN, lh, false);
    need(pg, lines * lh);
    pen_set(&pg->pn, size, bold, false);
    pen_para(&pg->pn, s, MARGIN, pg->y + size, PAGE_W - 2 * MARGIN, lh, true);
    pg->y += lines * lh;
}

static err_t draw_report(cairo_t *cr, struct rep *rp, const patient *p, errinfo *ei)
{
    struct page pg = {
        .pn = {.cr = cr, .bold = -1, .color = -1}, .p = p, .corrected = rp->corrected};
    err_t rc = ERR_OK;
    fmt_time(time_now_us(), pg.printed);
    page_header(&pg);
    for (size_t i = 0; i < rp->nsects && !rc; i++)
        rc = draw_section(&pg, rp, sect_at(rp, i), ei);
    if (rc) {
        pen_free(&pg.pn);
        return rc;
    }
    if (!rp->nres)
        page_para(&pg, 10, false, "No released results.", 13);
    if (rp->pending) {
        char line[96];
        snprintf(line, sizeof(line), "%lld result(s) are still in review and not reported here.",
                 (long long)rp->pending);
        pg.y += 4;
        page_para(&pg, 9, false, line, 13);
    }
    if (rp->nnotes) {
        need(&pg, 2 * NOTE_H + 8);
        pg.y += 6;
        rule(&pg, MARGIN, PAGE_W - MARGIN, pg.y);
        pg.y += 2;
        page_para(&pg, 9, true, "Notes", 13);
        for (size_t i = 0; i < rp->nnotes; i++)
            page_para(&pg, NOTE, false, ((const char **)(void *)rp->notes.data)[i], NOTE_H);
    }
    pg.y += 8;
    page_para(&pg, 7, false,
              "Flags: L low, H high, LL critical low, HH critical high, A abnormal. (c) corrected "
              "result. Columns are collection times (UTC), newest first; a section's older "
              "columns continue in its next block. Reference ranges are for the patient's sex "
              "and age at collection; a test whose range or unit changed has a row for each.",
              9);
    pen_flush(&pg.pn);
    cairo_show_page(cr);
    pen_free(&pg.pn);
    return pg.pn.nomem ? nomem(ei) : ERR_OK;
}

err_t report_patient_pdf(db *d, const audit_ctx *ctx, const char *patient_id, buf *out, errinfo *ei)
{
    patient p;
    cairo_surface_t *surface = NULL;
    cairo_t *cr = NULL;
    struct rep rp = {.rows = BUF_INIT, .res = BUF_INIT, .sects = BUF_INIT, .notes = BUF_INIT};
    size_t start = out->len;
    err_t rc;

    arena_init(&rp.a, 0);
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = patient_get(d, patient_id, &p, ei);
    if (!rc)
        rc = read_results(d, patient_id, &rp, ei);
    if (!rc)
        rc = read_notes(d, &rp, ei);
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
    cairo_set_source_rgb(cr, 0, 0, 0);
    rc = draw_report(cr, &rp, &p, ei);
    if (rc)
        goto fail;
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
    arena_free(&rp.a);
    buf_free(&rp.rows);
    buf_free(&rp.res);
    buf_free(&rp.sects);
    buf_free(&rp.notes);
    return ERR_OK;
fail:
    if (cr)
        cairo_destroy(cr);
    if (surface)
        cairo_surface_destroy(surface);
    db_rollback(d);
    arena_free(&rp.a);
    buf_free(&rp.rows);
    buf_free(&rp.res);
    buf_free(&rp.sects);
    buf_free(&rp.notes);
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return rc;
}
