/*
 * routelist.h - every HTTP route the server answers, as data: the REST route
 * table and the FHIR routes, each with its permission and the roles holding
 * it. `benchside routes` prints it, and the authorization-matrix test
 * (tests/system/test_authz.py) compares it with the decisions written down in
 * tests/data/authz.json, so that a route added without a decision fails.
 */
#ifndef BENCHSIDE_HTTP_ROUTELIST_H
#define BENCHSIDE_HTTP_ROUTELIST_H

#include <jansson.h>

/*
 * A new JSON array, one object a route: method, path (with {name} segments),
 * permission (its name), roles (the names of the roles holding it; for a
 * public route every role, and "public": true), body (whether it takes a
 * JSON body), request (the OpenAPI schema of the body, or null), query (the
 * query parameters it accepts). NULL when out of memory. The caller owns it.
 */
json_t *http_route_list(void);

#endif
