/*
 * assets.c - lookup of the embedded web files (see assets.h).
 */
#include "http/assets.h"

#include <string.h>

const struct asset *assets_find(const char *path)
{
    if (!strcmp(path, "/"))
        path = "/index.html";
    for (size_t i = 0; i < assets_table_len; i++)
        if (!strcmp(assets_table[i].path, path))
            return &assets_table[i];
    return NULL;
}
