/*
 * routelist.c - the route table and the FHIR routes as one JSON list (see
 * routelist.h). It reads the same tables the dispatchers use, so what it
 * lists is what the server answers.
 */
#include "http/routelist.h"

#include <string.h>

#include "http/handlers.h"
#include "http/route.h"

/* The roles holding perm, as a new array of names. */
static json_t *roles_of(perm_id perm)
{
    json_t *roles = json_array();
    for (int k = 0; roles && k < ROLE__COUNT; k++)
        if (perm_role_has((perm_role)k, perm) &&
            json_array_append_new(roles, json_string(perm_role_name((perm_role)k)))) {
            json_decref(roles);
            return NULL;
        }
    return roles;
}

/* The space-separated query parameters as a new array of names. */
static json_t *query_of(const char *query)
{
    json_t *names = json_array();
    const char *q = query ? query : "";
    while (names && *q) {
        size_t n = strcspn(q, " ");
        if (n && json_array_append_new(names, json_stringn(q, n))) {
            json_decref(names);
            return NULL;
        }
        q += n;
        q += strspn(q, " ");
    }
    return names;
}

err_t http_route_entry(json_t *list, const char *method, const char *path, perm_id perm, bool body,
                       const char *request, const char *query)
{
    json_t *e =
        json_pack("{s:s,s:s,s:s,s:o*,s:b,s:b,s:s?,s:o*}", "method", method, "path", path,
                  "permission", perm_name(perm), "roles", roles_of(perm), "public",
                  perm == PERM_PUBLIC, "body", body, "request", request, "query", query_of(query));
    if (e && !json_object_get(e, "request"))
        json_object_set_new(e, "request", json_null());
    if (!e || !json_object_get(e, "roles") || !json_object_get(e, "query") ||
        json_array_append_new(list, e))
        return ERR_NOMEM;
    return ERR_OK;
}

json_t *http_route_list(void)
{
    json_t *list = json_array();
    err_t rc = list ? ERR_OK : ERR_NOMEM;
    for (size_t i = 0; !rc && i < http_routes_len; i++) {
        const http_route *rt = &http_routes[i];
        rc = http_route_entry(list, rt->method, rt->pattern, rt->perm,
                              (rt->flags & ROUTE_BODY) != 0, rt->request, rt->query);
    }
    if (!rc)
        rc = http_fhir_routes(list);
    if (rc) {
        json_decref(list);
        return NULL;
    }
    return list;
}
