/*
 * bench_foundation.c - throughput of the foundation's hot spots on one
 * database: audit events appended (one transaction each, durable), audit events
 * appended in batches of 100 per transaction, the chain verified, and session
 * look-ups (what every signed-in request does first).
 *
 * usage: bench_foundation DB_URL [EVENTS]
 * Prints one JSON object with the figures.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/audit.h"
#include "auth/session.h"
#include "auth/user.h"
#include "base/str.h"
#include "base/time.h"
#include "store/migrate.h"

static double per_second(int64_t n, int64_t us)
{
    return us > 0 ? (double)n * 1e6 / (double)us : 0.0;
}

int main(int argc, char **argv)
{
    db *d = NULL;
    errinfo ei;
    int64_t events = 2000, t0;
    audit_ctx ctx = {NULL, "bench", "bench"};
    audit_verify_result v;
    char token[SESSION_TOKEN_LEN + 1], name[64];
    user u;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_foundation DB_URL [EVENTS]\n");
        return 2;
    }
    if (argc > 2 && str_to_int64(argv[2], strlen(argv[2]), 100, 10000000, &events)) {
        fprintf(stderr, "EVENTS must be 100 to 10000000\n");
        return 2;
    }
    if (sodium_init() < 0 || db_open(argv[1], &d, &ei) || migrate_apply(d, NULL, &ei)) {
        fprintf(stderr, "bench: %s\n", ei.message);
        return 1;
    }
    json_t *detail = json_pack("{s:s,s:i}", "path", "/api/v1/patients/123", "status", 200);

    t0 = time_mono_us();
    for (int64_t i = 0; i < events; i++)
        if (audit_record(d, &ctx, "bench.single", "patient", "P1", "ok", detail, &ei))
            goto fail;
    int64_t single_us = time_mono_us() - t0;

    t0 = time_mono_us();
    for (int64_t i = 0; i < events; i += 100) {
        if (db_begin(d, &ei))
            goto fail;
        for (int k = 0; k < 100; k++)
            if (audit_write(d, &ctx, "bench.batch", "patient", "P1", "ok", detail, &ei))
                goto fail;
        if (db_commit(d, &ei))
            goto fail;
    }
    int64_t batch_us = time_mono_us() - t0;

    t0 = time_mono_us();
    if (audit_verify(d, &v, &ei) || !v.ok)
        goto fail;
    int64_t verify_us = time_mono_us() - t0;

    char idpart[ID_LEN + 1];
    id_new(idpart);
    snprintf(name, sizeof(name), "bench-%.10s", idpart);
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (user_create(d, &ctx, name, NULL, "technician", "bench-password", NULL, &ei) ||
        session_login(d, name, "bench-password", "bench", token, &u, &ei))
        goto fail;
    int64_t lookups = events * 5;
    t0 = time_mono_us();
    for (int64_t i = 0; i < lookups; i++)
        if (session_lookup(d, token, 900000000LL, &u, &ei))
            goto fail;
    int64_t lookup_us = time_mono_us() - t0;

    printf("{\"backend\":\"%s\",\"events\":%lld,"
           "\"audit_single_per_s\":%.0f,\"audit_batch100_per_s\":%.0f,"
           "\"audit_verify_per_s\":%.0f,\"verified_events\":%lld,"
           "\"session_lookups_per_s\":%.0f}\n",
           db_backend_name(d), (long long)events, per_second(events, single_us),
           per_second(events, batch_us), per_second(v.events, verify_us), (long long)v.events,
           per_second(lookups, lookup_us));
    json_decref(detail);
    db_close(d);
    return 0;
fail:
    fprintf(stderr, "bench: %s\n", ei.message);
    json_decref(detail);
    db_close(d);
    return 1;
}
