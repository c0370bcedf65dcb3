/*
 * buf.h - a growable byte buffer, always NUL-terminated after its contents.
 *
 * The buffer owns its memory; buf_free() releases it. On allocation failure the
 * functions return ERR_NOMEM and leave the contents as they were.
 */
#ifndef BENCHSIDE_BASE_BUF_H
#define BENCHSIDE_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/err.h"

typedef struct buf {
    char *data; /* NULL until the first append; then NUL-terminated */
    size_t len, cap;
} buf;

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_free(buf *b);
void buf_reset(buf *b); /* keep the memory, forget the contents */
err_t buf_reserve(buf *b, size_t extra);
err_t buf_append(buf *b, const void *p, size_t n);
err_t buf_puts(buf *b, const char *s);
err_t buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Take the contents (caller frees with free()); the buffer is left empty. */
char *buf_take(buf *b);

#endif
