/*
 * testdb.c - the set-up and tear-down shared by the unit-test programs that
 * run against a real database (see testdb.h).
 */
#include "testdb.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "lab/catalog.h"
#include "store/migrate.h"

#define TESTDB_ENV        "BENCHSIDE_TEST_DB"
#define TESTDB_RANDOM_LEN 16 /* the last 16 characters of an id: 80 random bits */

bool testdb_pick(const char *suite, char *url, size_t url_size, char *tmp, size_t tmp_size)
{
    const char *env = getenv(TESTDB_ENV);
    int n;
    tmp[0] = '\0';
    if (env && *env) {
        n = snprintf(url, url_size, "%s", env);
    } else {
        int fd;
        n = snprintf(tmp, tmp_size, "/tmp/benchside-test-%s-XXXXXX", suite);
        if (n < 0 || (size_t)n >= tmp_size) {
            fprintf(stderr, "%s: the temporary file name is too long\n", suite);
            tmp[0] = '\0';
            return false;
        }
        fd = mkstemp(tmp);
        if (fd < 0) {
            fprintf(stderr, "mkstemp(%s) failed\n", tmp);
            tmp[0] = '\0';
            return false;
        }
        close(fd); /* an empty file is an empty SQLite database */
        n = snprintf(url, url_size, "sqlite:%s", tmp);
    }
    if (n < 0 || (size_t)n >= url_size) {
        fprintf(stderr, "%s: the database URL is too long\n", suite);
        return false;
    }
    if (!db_url_valid(url)) {
        fprintf(stderr, "%s: not a database URL: %s\n", suite, url);
        return false;
    }
    return true;
}

/* Import the demo catalog acting as ctx. */
static bool testdb_import_demo(db *d, const audit_ctx *ctx)
{
    json_error_t je;
    errinfo ei = {0};
    int tests = 0, panels = 0;
    json_t *doc = json_loadb(catalog_demo_json, catalog_demo_json_len, 0, &je);
    bool ok = false;
    if (!doc) {
        fprintf(stderr, "demo catalog: %s\n", je.text);
        goto done;
    }
    if (catalog_import(d, ctx, doc, &tests, &panels, &ei)) {
        fprintf(stderr, "demo catalog: %s\n", ei.message);
        goto done;
    }
    ok = true;
done:
    json_decref(doc);
    return ok;
}

bool testdb_open(const char *url, const audit_ctx *demo_ctx, db **out)
{
    errinfo ei = {0};
    err_t rc = db_open(url, out, &ei);
    if (rc) {
        fprintf(stderr, "db_open(%s): %s: %s\n", url, err_name(rc), ei.message);
        goto fail;
    }
    rc = migrate_apply(*out, NULL, &ei);
    if (rc) {
        fprintf(stderr, "migrate_apply: %s: %s\n", err_name(rc), ei.message);
        goto fail;
    }
    if (demo_ctx && !testdb_import_demo(*out, demo_ctx))
        goto fail;
    return true;
fail:
    db_close(*out);
    *out = NULL;
    return false;
}

void testdb_close(db *d, const char *tmp)
{
    static const char *const siblings[] = {"", "-wal", "-shm", "-journal"};
    char path[300];
    db_close(d);
    if (!tmp[0])
        return;
    for (size_t i = 0; i < sizeof(siblings) / sizeof(siblings[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", tmp, siblings[i]);
        unlink(path);
    }
}

void testdb_suffix(char *out, size_t n, bool lower)
{
    char id[ID_LEN + 1];
    if (n > TESTDB_RANDOM_LEN)
        n = TESTDB_RANDOM_LEN;
    id_new(id);
    for (size_t i = 0; i < n; i++) {
        char c = id[ID_LEN - n + i];
        out[i] = lower ? (char)tolower((unsigned char)c) : c;
    }
    out[n] = '\0';
}

bool testdb_is_pg(void)
{
    const char *env = getenv(TESTDB_ENV);
    return env && (!strncmp(env, "postgresql://", 13) || !strncmp(env, "postgres://", 11));
}

const char *testdb_group(const char *suite)
{
    static char group[64];
    snprintf(group, sizeof(group), "%s/%s", suite, testdb_is_pg() ? "postgresql" : "sqlite");
    return group;
}

err_t testdb_scalar(db *d, const char *sql, const char *arg, int64_t *out, errinfo *ei)
{
    return db_scalar(d, sql, arg, out, ei);
}

void testdb_events(evbus_sub *sub, char *out, size_t n)
{
    evbus_event ev;
    size_t used = 0;
    out[0] = '\0';
    while (evbus_next(sub, &ev) == EVBUS_EVENT) {
        int k = snprintf(out + used, n - used, "%s %s\n", ev.kind, ev.data);
        used += k > 0 && (size_t)k < n - used ? (size_t)k : 0;
        evbus_event_clear(&ev);
    }
}
