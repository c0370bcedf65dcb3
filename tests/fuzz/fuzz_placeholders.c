/*
 * fuzz_placeholders.c - libFuzzer target: rewriting `?` placeholders for
 * PostgreSQL over any SQL text; the count must match the `$n` written.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = malloc(size + 1);
    int n = -1;
    if (!sql)
        return 0;
    memcpy(sql, data, size);
    sql[size] = '\0'; /* the rewriter reads C strings: stop at the first NUL */
    char *out = db_rewrite_placeholders(sql, &n);
    if (out) {
        if (n < 0 || strlen(out) > strlen(sql) * 6)
            abort();
        free(out);
    }
    free(sql);
    return 0;
}
