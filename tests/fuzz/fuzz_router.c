/*
 * fuzz_router.c - libFuzzer target: a request line's method and path through
 * what the server does with them before any handler runs: the percent-
 * decoding libmicrohttpd is given (http_unescape), the REST route table
 * (http_route_find) and the FHIR paths (http_fhir_route). Input: the method,
 * a space, the path. Checked (abort() when one fails):
 *   - decoding never lengthens the path and leaves no NUL inside it;
 *   - a route found is one of the method (GET for HEAD), has one non-empty
 *     parameter without '/' for each {name} of its pattern, and the pattern
 *     with its parameters put back is the path;
 *   - a FHIR path read is a resource type served with an id of at most
 *     FHIR_ID_MAX bytes and no '/', a creation is a POST, and a method
 *     refused names the methods allowed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "http/handlers.h"
#include "http/route.h"

#define PATH_MAX_FUZZ 8192

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* The pattern with params put back, compared with path. */
static bool rebuilds(const char *pattern, const char *const *params, const char *path)
{
    buf b = BUF_INIT;
    int np = 0;
    bool ok = true;
    for (const char *p = pattern; *p && ok;) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            ok = e && np < HTTP_MAX_PARAMS && params[np] && params[np][0] &&
                 !strchr(params[np], '/') && buf_puts(&b, params[np]) == ERR_OK;
            np++;
            p = e ? e + 1 : p + 1;
        } else {
            ok = buf_append(&b, p, 1) == ERR_OK;
            p++;
        }
    }
    ok = ok && b.len == strlen(path) && (b.len == 0 || !memcmp(b.data, path, b.len));
    buf_free(&b);
    return ok;
}

static void fhir(const char *method, const char *path)
{
    const char *type, *allow;
    char id[FHIR_ID_MAX + 2];
    bool create;
    errinfo ei;
    err_t rc = http_fhir_route(method, path, &type, id, &create, &allow, &ei);
    if (rc == ERR_METHOD) {
        check(allow != NULL && ei.message[0]);
        return;
    }
    check(rc == ERR_OK || rc == ERR_NOT_FOUND);
    if (rc)
        return;
    check(type != NULL && strlen(id) <= FHIR_ID_MAX && !strchr(id, '/'));
    check(!create || (!strcmp(method, "POST") && !id[0]));
    check(!strcmp(type, "metadata") || fhir_type_served(type, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char method[16], *path;
    const char *sp = memchr(data, ' ', size < sizeof(method) ? size : sizeof(method));
    if (!sp || size > PATH_MAX_FUZZ)
        return 0;
    size_t ml = (size_t)(sp - (const char *)data);
    memcpy(method, data, ml);
    method[ml] = '\0';
    size_t pl = size - ml - 1;
    path = malloc(pl + 1);
    if (!path)
        return 0;
    memcpy(path, sp + 1, pl);
    path[pl] = '\0'; /* libmicrohttpd hands the path over NUL-terminated */
    size_t before = strlen(path);
    size_t after = http_unescape(path);
    check(after <= before && after == strlen(path));

    arena a;
    arena_init(&a, 0);
    const char *params[HTTP_MAX_PARAMS] = {0};
    buf allow = BUF_INIT;
    const http_route *rt = http_route_find(&a, method, path, params, &allow);
    if (rt) {
        check(!strcmp(rt->method, method) ||
              (!strcmp(method, "HEAD") && !strcmp(rt->method, "GET")));
        check(rebuilds(rt->pattern, params, path));
    }
    if (!strncmp(path, "/fhir/R4", 8))
        fhir(method, path);
    buf_free(&allow);
    arena_free(&a);
    free(path);
    return 0;
}
