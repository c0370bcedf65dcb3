/*
 * fuzz_body.c - libFuzzer target: JSON request bodies through the route
 * table's handlers, as the dispatcher runs them after its own checks, on a
 * database seeded with the demo's data (an in-memory SQLite).
 *
 * Input: a line "METHOD /pattern" naming a route of the table that takes a
 * body, then the body. A line that names none picks a route by its bytes, so
 * that mutated lines still reach a handler. Path parameters are filled with
 * records of the demo (an accession, a patient, an asset tag ...), so that a
 * handler goes past "not found" to the body. Routes whose body holds a
 * password are left out: each would spend an argon2 hash (tens of
 * milliseconds) on a valid-looking body, and the system tests send them
 * hostile text (tests/system/test_attacks.py).
 *
 * Checked (abort() when one fails): a handler returns a code of the error
 * list; a success leaves a JSON body or a raw one, an error leaves none; an
 * error of the client's (400, 404, 409, 415, 422) says what is wrong; no
 * handler answers 500 for a body the JSON parser accepted (a server fault is
 * what the fuzzer is looking for). The database is shared between inputs, so
 * what one input writes another may meet: as in a server.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "auth/user.h"
#include "base/jsonv.h"
#include "base/log.h"
#include "http/route.h"
#include "store/migrate.h"

#define LINE_MAX_FUZZ 128
#define BODY_ROUTES   256

static db *d;
static user admin;
static http_config cfg;
static const http_route *routes[BODY_ROUTES];
static size_t nroutes;
static char accession[32], patient[ID_LEN + 1], order_id[ID_LEN + 1], result_id[ID_LEN + 1];

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void first_text(const char *sql, char *out, size_t n)
{
    db_stmt *st = NULL;
    bool row = false;
    errinfo ei;
    out[0] = '\0';
    if (!db_query(d, &st, &ei, sql, "") && !db_step(st, &row, &ei) && row && db_col_text(st, 0))
        snprintf(out, n, "%s", db_col_text(st, 0));
    db_finalize(st);
}

/* Whether the request schema named holds a password (an electronic signature). */
static bool has_password(json_t *schemas, const char *name)
{
    json_t *props = json_object_get(json_object_get(schemas, name), "properties");
    return json_object_get(props, "password") || json_object_get(props, "current_password") ||
           json_object_get(props, "new_password");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    errinfo ei;
    bool seeded = false;
    int applied = 0;
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    if (db_open("sqlite::memory:", &d, &ei) || migrate_apply(d, &applied, &ei) ||
        app_demo_seed(d, &seeded, &ei) || user_get_by_name(d, "admin", &admin, &ei)) {
        fprintf(stderr, "fuzz_body: cannot seed the database: %s\n", ei.message);
        abort();
    }
    first_text("SELECT accession FROM specimens ORDER BY accession", accession, sizeof(accession));
    first_text("SELECT id FROM patients ORDER BY id", patient, sizeof(patient));
    first_text("SELECT id FROM orders ORDER BY id", order_id, sizeof(order_id));
    first_text("SELECT id FROM results ORDER BY id", result_id, sizeof(result_id));
    cfg.max_body = 1024 * 1024;
    cfg.session_idle_us = 900LL * 1000000;
    json_t *doc = http_openapi();
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    for (size_t i = 0; i < http_routes_len && nroutes < BODY_ROUTES; i++)
        if ((http_routes[i].flags & ROUTE_BODY) &&
            !(http_routes[i].request && has_password(schemas, http_routes[i].request)))
            routes[nroutes++] = &http_routes[i];
    json_decref(doc);
    return 0;
}

/* A record of the demo for a path parameter, by its name and where it is. */
static const char *param_value(const char *pattern, const char *name, size_t n)
{
    if (n == 9 && !strncmp(name, "accession", n))
        return accession;
    if (n == 3 && !strncmp(name, "tag", n))
        return "BME-00412";
    if (n == 4 && !strncmp(name, "name", n))
        return strstr(pattern, "storage-units") ? "FRIDGE-1" : "CHEM-1";
    if (n == 4 && !strncmp(name, "code", n))
        return "GLU";
    if (!strncmp(pattern, "/api/v1/patients/", 17))
        return patient;
    if (!strncmp(pattern, "/api/v1/orders/", 15))
        return order_id;
    if (!strncmp(pattern, "/api/v1/results/", 16))
        return result_id;
    return "nothing";
}

static const http_route *pick(const char *line, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < nroutes; i++) {
        const http_route *rt = routes[i];
        size_t ml = strlen(rt->method);
        if (n == ml + 1 + strlen(rt->pattern) && !strncmp(line, rt->method, ml) &&
            line[ml] == ' ' && !strncmp(line + ml + 1, rt->pattern, n - ml - 1))
            return rt;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)line[i]) * 16777619u;
    return routes[h % nroutes];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size < LINE_MAX_FUZZ ? size : LINE_MAX_FUZZ);
    size_t ln = nl ? (size_t)(nl - text) : 0;
    if (!nl || !nroutes)
        return 0;
    const http_route *rt = pick(text, ln);
    http_req r;
    memset(&r, 0, sizeof(r));
    arena_init(&r.a, 4096);
    id_new(r.id);
    r.method = rt->method;
    r.path = rt->pattern;
    r.db = d;
    r.signed_in = true;
    r.user = admin;
    r.source = "fuzz";
    r.cfg = &cfg;
    int np = 0;
    for (const char *p = strchr(rt->pattern, '{'); p && np < HTTP_MAX_PARAMS;
         p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        r.params[np++] = param_value(rt->pattern, p + 1, e ? (size_t)(e - p - 1) : 0);
    }
    if (jsonv_parse_object(nl + 1, size - ln - 1, &r.body, &r.ei) == ERR_OK) {
        r.status = rt->ok_status ? rt->ok_status : 200;
        err_t rc = rt->handler(&r);
        check(rc >= ERR_OK && rc < ERR__COUNT);
        if (rc == ERR_OK) {
            check(r.out != NULL || r.raw_type != NULL || r.status == 204);
        } else {
            int status = err_http_status(rc);
            check(status != 500);
            check(status >= 400);
            if (status == 400 || status == 404 || status == 409 || status == 422)
                check(r.ei.code == rc && r.ei.message[0]);
        }
    }
    if (db_in_transaction(d))
        abort(); /* a handler left a transaction open */
    json_decref(r.body);
    json_decref(r.out);
    json_decref(r.err_extra);
    buf_free(&r.raw);
    arena_free(&r.a);
    return 0;
}
