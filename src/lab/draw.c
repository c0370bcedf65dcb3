/*
 * draw.c - shared cairo helpers (see draw.h).
 */
#include "lab/draw.h"

cairo_status_t draw_to_buf(void *closure, const unsigned char *data, unsigned int length)
{
    return buf_append(closure, data, length) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

void draw_text(cairo_t *cr, double x, double y, double size, bool bold, const char *s)
{
    cairo_select_font_face(cr, DRAW_FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s);
}
