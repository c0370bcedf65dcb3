/*
 * testdata.c - finding sample files for the unit tests (see testdata.h).
 */
#include "testdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const char *testdata_path(const char *subdir, const char *name, char *out, size_t n)
{
    static const char *const roots[] = {"tests/data", "../tests/data", "../../tests/data",
                                        "../../../tests/data"};
    struct stat st;
    const char *env = getenv("BENCHSIDE_TEST_DATA");
    if (env) {
        snprintf(out, n, "%s/%s/%s", env, subdir, name);
        if (stat(out, &st) == 0)
            return out;
    }
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        snprintf(out, n, "%s/%s/%s", roots[i], subdir, name);
        if (stat(out, &st) == 0)
            return out;
    }
    return NULL;
}
