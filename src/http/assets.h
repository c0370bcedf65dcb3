/*
 * assets.h - web files embedded in the binary at build time (src/web/).
 */
#ifndef BENCHSIDE_HTTP_ASSETS_H
#define BENCHSIDE_HTTP_ASSETS_H

#include <stddef.h>

struct asset {
    const char *path; /* "/index.html" */
    const char *type; /* Content-Type */
    const char *data;
    size_t len;
};

extern const struct asset assets_table[];
extern const size_t assets_table_len;

/* The asset served at path ("/" is "/index.html"), or NULL. */
const struct asset *assets_find(const char *path);

#endif
