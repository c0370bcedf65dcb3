/*
 * draw.h - what the documents drawn with cairo share (reports, labels,
 * charts): writing a surface's bytes into a buf, and a line of text.
 */
#ifndef BENCHSIDE_LAB_DRAW_H
#define BENCHSIDE_LAB_DRAW_H

#include <cairo.h>
#include <stdbool.h>

#include "base/buf.h"

#define DRAW_FONT "sans-serif"

/* A cairo write function appending to the buf given as closure. */
cairo_status_t draw_to_buf(void *closure, const unsigned char *data, unsigned int length);

/* s at (x, y) in the sans-serif font, size points, bold or not. */
void draw_text(cairo_t *cr, double x, double y, double size, bool bold, const char *s);

#endif
