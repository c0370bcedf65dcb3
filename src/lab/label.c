/*
 * label.c - specimen labels as ZPL II and as PDF (see label.h).
 *
 * Both outputs start from one prepared copy of the label (label_prepare):
 * the input is validated, and every string that will be printed is cleaned
 * (controls out, valid UTF-8, single spaces) and capped at LABEL_FIELD_CP code
 * points in a fixed buffer. ZPL then cuts each field to a character count that
 * fits its line and escapes it; PDF cuts each field by its measured width.
 */
#include "lab/label.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zint.h>

#include "base/utf8.h"
#include "base/time.h"

/* Code points kept of any one field before it is fitted to its line. */
#define LABEL_FIELD_CP    64
#define LABEL_FIELD_BYTES (LABEL_FIELD_CP * 4 + 1)

/* Blank space each side of a barcode, in modules (ISO/IEC 15417 asks 10). */
#define LABEL_QUIET_MODULES 10

/* Year 10000-01-01T00:00:00Z in microseconds: the first time not printable as YYYY. */
#define LABEL_TIME_END INT64_C(253402300800000000)

enum label_priority { LABEL_ROUTINE, LABEL_ASAP, LABEL_STAT };

/* A label ready to print: every string clean, valid UTF-8, NUL-terminated. */
typedef struct label_prepared {
    char accession[LABEL_ACCESSION_MAX + 1];
    char name[LABEL_FIELD_BYTES];     /* "FAMILY, Given" */
    char mrn[LABEL_FIELD_BYTES];      /* "MRN 123456" */
    char dob[16];                     /* "DOB YYYY-MM-DD" or "DOB" */
    char sex[2];                      /* "F", "M", "O", "U" or "" */
    char specimen[LABEL_FIELD_BYTES]; /* "container, specimen type" */
    char collected[40];               /* "Coll: YYYY-MM-DD HH:MM UTC" or "Coll: ____" */
    char tests[LABEL_FIELD_BYTES];
    enum label_priority priority;
} label_prepared;

/* --- Text cleaning ------------------------------------------------------ */

/* Characters that separate words: printed as one space. */
static bool label_is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xA0 || cp == 0x2028 ||
           cp == 0x2029;
}

/*
 * Characters never printed: C0 and C1 controls and DEL, and the invisible
 * direction marks and overrides that could make a name display as another.
 */
static bool label_is_dropped(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

/*
 * Clean s (NULL prints as empty) into out: controls dropped, line breaks and
 * other spaces made one ' ', no space at either end, invalid UTF-8 as '?',
 * capitals when upper, at most max_cp code points. out_size must be at least
 * 4 * max_cp + 1; max_cp is reduced to fit otherwise. Cleaning clean text
 * only cuts it.
 */
static void label_clean(const char *s, bool upper, size_t max_cp, char *out, size_t out_size)
{
    size_t o = 0, ncp = 0;
    bool space = false;
    if (max_cp > (out_size - 1) / 4)
        max_cp = (out_size - 1) / 4;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p && ncp < max_cp) {
        size_t len;
        int32_t c = utf8_decode(p, &len);
        p += len;
        uint32_t cp = c < 0 ? (uint32_t)'?' : (uint32_t)c;
        if (c >= 0 && label_is_space(cp)) {
            space = o > 0;
            continue;
        }
        if (c >= 0 && label_is_dropped(cp))
            continue;
        if (space) {
            if (ncp + 2 > max_cp) /* a space needs a character after it */
                break;
            out[o++] = ' ';
            ncp++;
            space = false;
        }
        o += utf8_encode(upper ? utf8_upper(cp) : cp, out + o);
        ncp++;
    }
    out[o] = '\0';
}

/* Code points in the valid UTF-8 string s: the bytes that start a sequence. */
static size_t label_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Copy clean text a and b into out as "a<sep>b", or just the one not empty. */
static void label_join(const char *a, const char *sep, const char *b, char *out, size_t out_size)
{
    char both[2 * LABEL_FIELD_BYTES + 8];
    if (!*a || !*b)
        snprintf(both, sizeof(both), "%s", *a ? a : b);
    else
        snprintf(both, sizeof(both), "%s%s%s", a, sep, b);
    label_clean(both, false, LABEL_FIELD_CP, out, out_size);
}

/* --- Validation and preparation ---------------------------------------- */

static err_t label_check_accession(const char *a, errinfo *ei)
{
    if (!a || !*a)
        return err_set(ei, ERR_INVALID, "accession", "accession is required");
    size_t n = strnlen(a, LABEL_ACCESSION_MAX + 1);
    if (n > LABEL_ACCESSION_MAX)
        return err_set(ei, ERR_INVALID, "accession", "accession is longer than %d characters",
                       LABEL_ACCESSION_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '-'))
            return err_set(ei, ERR_INVALID, "accession",
                           "accession may hold only digits, capital letters and '-'");
    }
    return ERR_OK;
}

static err_t label_prepare(const label_data *l, label_prepared *p, errinfo *ei)
{
    static const struct {
        const char *name, *letter;
    } sexes[] = {{"female", "F"}, {"male", "M"}, {"other", "O"}, {"unknown", "U"}};
    char a[LABEL_FIELD_BYTES], b[LABEL_FIELD_BYTES];
    err_t rc;

    memset(p, 0, sizeof(*p));
    if (!l)
        return err_set(ei, ERR_INVALID, "accession", "no label data");
    rc = label_check_accession(l->accession, ei);
    if (rc)
        return rc;
    snprintf(p->accession, sizeof(p->accession), "%s", l->accession);

    label_clean(l->family, true, LABEL_FIELD_CP, a, sizeof(a));
    label_clean(l->given, false, LABEL_FIELD_CP, b, sizeof(b));
    label_join(a, ", ", b, p->name, sizeof(p->name));

    label_clean(l->mrn, false, LABEL_FIELD_CP, a, sizeof(a));
    label_join("MRN", " ", a, p->mrn, sizeof(p->mrn));

    snprintf(p->dob, sizeof(p->dob), "DOB");
    if (l->birth_date && *l->birth_date) {
        int64_t t;
        size_t n = strnlen(l->birth_date, 11);
        if (n != 10 || time_parse_iso(l->birth_date, n, &t, NULL) != ERR_OK)
            return err_set(ei, ERR_INVALID, "birth_date", "birth date is not YYYY-MM-DD");
        snprintf(p->dob, sizeof(p->dob), "DOB %.10s", l->birth_date);
    }

    if (l->sex && *l->sex) {
        size_t i;
        for (i = 0; i < sizeof(sexes) / sizeof(sexes[0]); i++)
            if (strcmp(l->sex, sexes[i].name) == 0)
                break;
        if (i == sizeof(sexes) / sizeof(sexes[0]))
            return err_set(ei, ERR_INVALID, "sex", "sex is not female, male, other or unknown");
        snprintf(p->sex, sizeof(p->sex), "%s", sexes[i].letter);
    }

    label_clean(l->container, false, LABEL_FIELD_CP, a, sizeof(a));
    label_clean(l->specimen_type, false, LABEL_FIELD_CP, b, sizeof(b));
    label_join(a, ", ", b, p->specimen, sizeof(p->specimen));

    if (l->collected_at == 0) {
        snprintf(p->collected, sizeof(p->collected), "Coll: ____");
    } else if (l->collected_at < 0 || l->collected_at >= LABEL_TIME_END) {
        return err_set(ei, ERR_INVALID, "collected_at", "collection time is out of range");
    } else {
        /* The printer's time zone is not known here: say plainly that it is UTC. */
        char iso[TIME_ISO_LEN];
        time_format_iso(l->collected_at, iso);
        snprintf(p->collected, sizeof(p->collected), "Coll: %.10s %.5s UTC", iso, iso + 11);
    }

    label_clean(l->tests, false, LABEL_FIELD_CP, p->tests, sizeof(p->tests));

    if (!l->priority || !*l->priority || strcmp(l->priority, "routine") == 0)
        p->priority = LABEL_ROUTINE;
    else if (strcmp(l->priority, "asap") == 0)
        p->priority = LABEL_ASAP;
    else if (strcmp(l->priority, "stat") == 0)
        p->priority = LABEL_STAT;
    else
        return err_set(ei, ERR_INVALID, "priority", "priority is not routine, asap or stat");
    return ERR_OK;
}

/* Give back what a failed call appended to out. */
static void label_truncate(buf *out, size_t len)
{
    if (out->data && out->len > len) {
        out->len = len;
        out->data[len] = '\0';
    }
}

/* --- ZPL ---------------------------------------------------------------- */

/*
 * Geometry in dots (203 dpi, 8 dots a millimetre) of a 406 x 203 dot label.
 *
 * Text is font 0 (scalable, proportional). At height h its characters average
 * about 0.6 h wide, capitals like M and W more, so a line of w dots holds about
 * w / (0.6 h) characters. Each field is cut to that many code points (never
 * inside a UTF-8 sequence) so that it neither runs off the label nor into the
 * field beside it; the printer is not left to wrap or clip:
 *
 *   line               y    h   from x   width  characters
 *   barcode            6   60   centred  <= 406 quiet zone 10 modules each side
 *   accession         70   24   12       ~290   20 at most (validated)
 *   STAT/ASAP flag    68   27   314      86     fixed text (STAT reversed)
 *   FAMILY, Given     96   22   12       382    28, or when longer:
 *   (long name)       99   18   12       382    35
 *   MRN ...          120   18   12       200    18 ("MRN " + 14)
 *   DOB YYYY-MM-DD   120   18   214      160    fixed length
 *   sex F/M/O/U      120   18   380      14     1
 *   container, type  140   18   12       382    35
 *   Coll: ...        160   18   12       382    fixed length
 *   tests            180   18   12       382    35
 */
enum {
    ZPL_W = 406,
    ZPL_H = 203,
    ZPL_BAR_Y = 6,
    ZPL_BAR_H = 60,
    ZPL_LEFT = 12,
};

/* Appends that remember the first failure, so a label is written top to bottom
 * and checked once at the end. */
typedef struct zpl_writer {
    buf *out;
    err_t rc;
} zpl_writer;

static void zpl_printf(zpl_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void zpl_printf(zpl_writer *w, const char *fmt, ...)
{
    char line[128];
    va_list ap;
    if (w->rc)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        w->rc = ERR_INTERNAL;
        return;
    }
    w->rc = buf_append(w->out, line, (size_t)n);
}

/*
 * One text field: at (x, y), font 0 of height h, the clean text s cut to
 * max_cp code points. The data goes through ^FH: '^' and '~' (which would start
 * a command) and '_' (the escape character itself) are written as _5E, _7E and
 * _5F, so that nothing in s can end the field or start a command.
 */
static void zpl_field(zpl_writer *w, int x, int y, int h, const char *s, size_t max_cp)
{
    char cut[LABEL_FIELD_BYTES];
    label_clean(s, false, max_cp, cut, sizeof(cut));
    zpl_printf(w, "^FO%d,%d^A0N,%d,%d^FH^FD", x, y, h, h);
    for (const char *c = cut; *c && !w->rc; c++) {
        if (*c == '^')
            w->rc = buf_puts(w->out, "_5E");
        else if (*c == '~')
            w->rc = buf_puts(w->out, "_7E");
        else if (*c == '_')
            w->rc = buf_puts(w->out, "_5F");
        else
            w->rc = buf_append(w->out, c, 1);
    }
    zpl_printf(w, "^FS\n");
}

err_t label_zpl(const label_data *l, buf *out, errinfo *ei)
{
    label_prepared p;
    size_t start = out->len;
    zpl_writer w = {out, ERR_OK};
    err_t rc = label_prepare(l, &p, ei);
    if (rc)
        goto fail;

    /* Code 128 in subset C packs two digits a symbol; otherwise subset B, one
     * character a symbol. Start, check and stop symbols add 11 + 11 + 13
     * modules. The widest module (up to 3 dots) that leaves the quiet zones. */
    size_t n = strlen(p.accession);
    bool subset_c = n % 2 == 0 && strspn(p.accession, "0123456789") == n;
    int modules = 35 + 11 * (int)(subset_c ? n / 2 : n);
    int module = 3;
    while (module > 1 && (modules + 2 * LABEL_QUIET_MODULES) * module > ZPL_W)
        module--;
    int bar_x = (ZPL_W - modules * module) / 2;

    zpl_printf(&w, "^XA\n^CI28\n^PW%d\n^LL%d\n^LH0,0\n", ZPL_W, ZPL_H);
    /* Interpretation line off: the accession is printed below as text. The
     * accession holds only [0-9A-Z-], none of them special in ^FD. */
    zpl_printf(&w, "^BY%d,3,%d\n^FO%d,%d^BCN,%d,N,N,N^FD%s%s^FS\n", module, ZPL_BAR_H, bar_x,
               ZPL_BAR_Y, ZPL_BAR_H, subset_c ? ">;" : ">:", p.accession);
    zpl_field(&w, ZPL_LEFT, 70, 24, p.accession, LABEL_ACCESSION_MAX);
    if (p.priority == LABEL_STAT) {
        /* Black box, white letters: ^FR prints the field reversed over it. */
        zpl_printf(&w, "^FO314,68^GB86,27,27^FS\n^FO325,70^A0N,24,24^FR^FDSTAT^FS\n");
    } else if (p.priority == LABEL_ASAP) {
        zpl_printf(&w, "^FO325,70^A0N,24,24^FDASAP^FS\n");
    }
    /* A long name is printed smaller before it is cut. */
    if (label_utf8_len(p.name) <= 28)
        zpl_field(&w, ZPL_LEFT, 96, 22, p.name, 28);
    else
        zpl_field(&w, ZPL_LEFT, 99, 18, p.name, 35);
    zpl_field(&w, ZPL_LEFT, 120, 18, p.mrn, 18);
    zpl_field(&w, 214, 120, 18, p.dob, 14);
    zpl_field(&w, 380, 120, 18, p.sex, 1);
    zpl_field(&w, ZPL_LEFT, 140, 18, p.specimen, 35);
    zpl_field(&w, ZPL_LEFT, 160, 18, p.collected, 35);
    zpl_field(&w, ZPL_LEFT, 180, 18, p.tests, 35);
    zpl_printf(&w, "^XZ\n");
    rc = w.rc;
    if (rc) {
        err_set(ei, rc, NULL, "could not write the ZPL label");
        goto fail;
    }
    return ERR_OK;

fail:
    label_truncate(out, start);
    return rc;
}

/* --- PDF ---------------------------------------------------------------- */

/*
 * Geometry in points (1/72 inch) of a 144 x 72 pt page, mirroring the ZPL
 * layout. The barcode's modules are a whole number of 300 dpi pixels (0.24 pt
 * each), two to four of them, and its left edge sits on that pixel grid, so a
 * 300 dpi rendering or printer draws every bar the same width.
 */
#define PDF_W          144.0
#define PDF_H          72.0
#define PDF_LEFT       4.0
#define PDF_TEXT_W     (PDF_W - 2 * PDF_LEFT)
#define PDF_BAR_Y      2.0
#define PDF_BAR_H      21.0
#define PDF_DPI        300
#define PDF_PX         (72.0 / PDF_DPI)
#define PDF_MODULE_MIN 2 /* pixels */
#define PDF_MODULE_MAX 4

typedef struct pdf_sink {
    buf *out;
    bool nomem;
} pdf_sink;

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int length)
{
    pdf_sink *sink = closure;
    if (buf_append(sink->out, data, length) != ERR_OK) {
        sink->nomem = true;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

/* ERR_OK for CAIRO_STATUS_SUCCESS; else ERR_NOMEM or ERR_INTERNAL saying what failed. */
static err_t pdf_status(cairo_status_t st, const pdf_sink *sink, const char *what, errinfo *ei)
{
    if (st == CAIRO_STATUS_SUCCESS)
        return ERR_OK;
    if (st == CAIRO_STATUS_NO_MEMORY || sink->nomem)
        return err_set(ei, ERR_NOMEM, NULL, "out of memory %s", what);
    return err_set(ei, ERR_INTERNAL, NULL, "cairo failed %s: %s", what, cairo_status_to_string(st));
}

/* Encode the accession as Code 128 and lay it out as rectangles. */
static err_t pdf_barcode_encode(const char *accession, struct zint_symbol **out, errinfo *ei)
{
    struct zint_symbol *sym = ZBarcode_Create();
    if (!sym) {
        err_set(ei, ERR_NOMEM, NULL, "out of memory creating the barcode");
        return ERR_NOMEM;
    }
    sym->symbology = BARCODE_CODE128;
    sym->input_mode = DATA_MODE;
    sym->show_hrt = 0;
    sym->whitespace_width = 0;
    sym->border_width = 0;
    int zr = ZBarcode_Encode(sym, (const unsigned char *)accession, (int)strlen(accession));
    if (zr >= ZINT_ERROR) {
        err_set(ei, ERR_INTERNAL, NULL, "zint could not encode the barcode (%d): %s", zr,
                sym->errtxt);
        goto fail;
    }
    zr = ZBarcode_Buffer_Vector(sym, 0);
    if (zr >= ZINT_ERROR) {
        err_set(ei, ERR_INTERNAL, NULL, "zint could not lay out the barcode (%d): %s", zr,
                sym->errtxt);
        goto fail;
    }
    if (!sym->vector || !sym->vector->rectangles || sym->width <= 0) {
        err_set(ei, ERR_INTERNAL, NULL, "zint returned an empty barcode");
        goto fail;
    }
    *out = sym;
    return ERR_OK;

fail:
    ZBarcode_Delete(sym);
    return ERR_INTERNAL;
}

/*
 * Draw the bars. zint's vector units are its own (two a module at scale 1), so
 * the bars' extent, which is exactly sym->width modules (Code 128 starts and
 * ends with a bar), gives the unit.
 */
static err_t pdf_barcode_draw(cairo_t *cr, const struct zint_symbol *sym, errinfo *ei)
{
    float min_x = 0, max_x = 0;
    bool any = false;
    for (const struct zint_vector_rect *r = sym->vector->rectangles; r; r = r->next) {
        if (r->colour != -1)
            continue;
        if (!any || r->x < min_x)
            min_x = r->x;
        if (!any || r->x + r->width > max_x)
            max_x = r->x + r->width;
        any = true;
    }
    double unit = (double)(max_x - min_x) / sym->width;
    if (!any || !(unit > 0))
        return err_set(ei, ERR_INTERNAL, NULL, "zint returned a barcode without bars");

    int page_px = (int)(PDF_W / PDF_PX + 0.5);
    int module = page_px / (sym->width + 2 * LABEL_QUIET_MODULES);
    if (module > PDF_MODULE_MAX)
        module = PDF_MODULE_MAX;
    if (module < PDF_MODULE_MIN)
        return err_set(ei, ERR_INTERNAL, NULL, "barcode of %d modules does not fit the label",
                       sym->width);
    double mw = module * PDF_PX;
    int x0_px = (page_px - sym->width * module) / 2; /* on the pixel grid */
    double x0 = x0_px * PDF_PX;

    cairo_set_source_rgb(cr, 0, 0, 0);
    for (const struct zint_vector_rect *r = sym->vector->rectangles; r; r = r->next) {
        if (r->colour != -1)
            continue;
        /* Whole modules: round away float noise from zint's coordinates. */
        double mx = round((r->x - min_x) / unit), mwid = round(r->width / unit);
        cairo_rectangle(cr, x0 + mx * mw, PDF_BAR_Y, mwid * mw, PDF_BAR_H);
    }
    cairo_fill(cr);
    return ERR_OK;
}

/* Drop the last code point of the UTF-8 string s, then any space before it. */
static void pdf_cut_last(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && ((unsigned char)s[n - 1] & 0xC0) == 0x80)
        n--;
    if (n > 0)
        n--;
    while (n > 0 && s[n - 1] == ' ')
        n--;
    s[n] = '\0';
}

/*
 * Show the clean text s with its baseline at (x, y), in sans-serif of the
 * given size, at most max_w wide: text too wide is first made smaller, down to
 * min_size, then cut (by code points from the end).
 */
static err_t pdf_text(cairo_t *cr, const pdf_sink *sink, double x, double y, double size,
                      double min_size, bool bold, const char *s, double max_w, errinfo *ei)
{
    char fit[LABEL_FIELD_BYTES];
    cairo_text_extents_t te;
    err_t rc;
    label_clean(s, false, LABEL_FIELD_CP, fit, sizeof(fit));
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    for (;;) {
        cairo_text_extents(cr, fit, &te);
        rc = pdf_status(cairo_status(cr), sink, "measuring text", ei);
        if (rc)
            return rc;
        if (te.x_advance <= max_w || !*fit)
            break;
        if (size > min_size) {
            size = size - 0.25 < min_size ? min_size : size - 0.25;
            cairo_set_font_size(cr, size);
        } else {
            pdf_cut_last(fit);
        }
    }
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, fit);
    return pdf_status(cairo_status(cr), sink, "drawing text", ei);
}

/* The text lines and the priority flag; see the ZPL table for the layout. */
static err_t pdf_draw_text(cairo_t *cr, const pdf_sink *sink, const label_prepared *p, errinfo *ei)
{
    err_t rc;
    cairo_set_source_rgb(cr, 0, 0, 0);
    rc = pdf_text(cr, sink, PDF_LEFT, 31, 8, 8, true, p->accession, 104, ei);
    if (rc)
        return rc;
    if (p->priority == LABEL_STAT) {
        cairo_rectangle(cr, 111, 24, 29, 9.5);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        rc = pdf_text(cr, sink, 113, 31.5, 8, 8, true, "STAT", 26, ei);
        cairo_set_source_rgb(cr, 0, 0, 0);
        if (rc)
            return rc;
    } else if (p->priority == LABEL_ASAP) {
        rc = pdf_text(cr, sink, 113, 31, 7, 7, true, "ASAP", 27, ei);
        if (rc)
            return rc;
    }
    rc = pdf_text(cr, sink, PDF_LEFT, 39.5, 7.5, 6, true, p->name, PDF_TEXT_W, ei);
    if (rc)
        return rc;
    rc = pdf_text(cr, sink, PDF_LEFT, 46.5, 6, 6, false, p->mrn, 62, ei);
    if (rc)
        return rc;
    rc = pdf_text(cr, sink, 70, 46.5, 6, 6, false, p->dob, 56, ei);
    if (rc)
        return rc;
    rc = pdf_text(cr, sink, 132, 46.5, 6, 6, true, p->sex, 8, ei);
    if (rc)
        return rc;
    rc = pdf_text(cr, sink, PDF_LEFT, 53.5, 6, 6, false, p->specimen, PDF_TEXT_W, ei);
    if (rc)
        return rc;
    rc = pdf_text(cr, sink, PDF_LEFT, 60.5, 6, 6, false, p->collected, PDF_TEXT_W, ei);
    if (rc)
        return rc;
    return pdf_text(cr, sink, PDF_LEFT, 67.5, 6, 6, false, p->tests, PDF_TEXT_W, ei);
}

err_t label_pdf(const label_data *l, buf *out, errinfo *ei)
{
    label_prepared p;
    size_t start = out->len;
    pdf_sink sink = {out, false};
    struct zint_symbol *sym = NULL;
    cairo_surface_t *surface = NULL;
    cairo_t *cr = NULL;
    err_t rc = label_prepare(l, &p, ei);
    if (rc)
        goto fail;
    rc = pdf_barcode_encode(p.accession, &sym, ei);
    if (rc)
        goto fail;

    surface = cairo_pdf_surface_create_for_stream(pdf_write, &sink, PDF_W, PDF_H);
    rc = pdf_status(cairo_surface_status(surface), &sink, "creating the PDF", ei);
    if (rc)
        goto fail;
    cr = cairo_create(surface);
    rc = pdf_status(cairo_status(cr), &sink, "creating the drawing context", ei);
    if (rc)
        goto fail;

    rc = pdf_barcode_draw(cr, sym, ei);
    if (rc)
        goto fail;
    rc = pdf_status(cairo_status(cr), &sink, "drawing the barcode", ei);
    if (rc)
        goto fail;
    rc = pdf_draw_text(cr, &sink, &p, ei);
    if (rc)
        goto fail;
    cairo_show_page(cr);
    rc = pdf_status(cairo_status(cr), &sink, "ending the page", ei);
    if (rc)
        goto fail;

    cairo_destroy(cr);
    cr = NULL;
    cairo_surface_finish(surface); /* writes the PDF through pdf_write */
    rc = pdf_status(cairo_surface_status(surface), &sink, "writing the PDF", ei);
    if (rc)
        goto fail;
    cairo_surface_destroy(surface);
    ZBarcode_Delete(sym);
    return ERR_OK;

fail:
    if (cr)
        cairo_destroy(cr);
    if (surface)
        cairo_surface_destroy(surface); /* may still write: truncated below */
    if (sym)
        ZBarcode_Delete(sym);
    label_truncate(out, start);
    return rc;
}
