/*
 * gen_year.c - a year of a large laboratory into a database, for the
 * benchmarks (bench/run.py --only year, bench_year, the read benchmarks).
 * The work is src/app/yeargen.c's; this program reads its options, applies
 * the migrations, runs it, and says what it wrote.
 *
 * usage: gen_year --version   (the generator's version: a database made by
 *                              another holds other rows)
 *        gen_year DB_URL [--patients N] [--results N] [--seed S] [--days D]
 *                        [--scale F] [--end ISO8601] [--prefix P] [--quiet]
 *   --patients  patients (default 1,000,000)
 *   --results   tests ordered, about the results (default 30,000,000)
 *   --scale     multiplies both counts (0.01 = 1% of them)
 *   --seed      the random sequence (default fixed): same options, same rows
 *   --days      how many days back from the end (default 365)
 *   --end       when the data ends, ISO 8601 (default: now, to the minute)
 *   --prefix    MRNs begin with it (default Y)
 * Progress goes to standard error; one JSON object to standard output: rows
 * per table, seconds, rows a second, the database's size. Exit 0, 1 on a
 * failure, 2 on bad usage.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/app.h"
#include "app/yeargen.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

static int usage(const char *why)
{
    fprintf(stderr,
            "gen_year: %s\nusage: gen_year DB_URL [--patients N] [--results N] [--seed S]"
            " [--days D] [--scale F] [--end ISO8601] [--prefix P] [--quiet]\n",
            why);
    return 2;
}

/* The database's size in bytes: the SQLite file with its log, or what
 * PostgreSQL says of the current database. */
static int64_t db_size(db *d, const char *url)
{
    if (db_kind(d) == DB_SQLITE) {
        const char *path = url + strlen("sqlite:");
        char p[4096];
        size_t n = strcspn(path, "?");
        int64_t total = 0;
        static const char *const sfx[] = {"", "-wal"};
        for (int i = 0; i < 2; i++) {
            struct stat sb;
            snprintf(p, sizeof(p), "%.*s%s", (int)n, path, sfx[i]);
            if (!stat(p, &sb))
                total += (int64_t)sb.st_size;
        }
        return total;
    }
    db_stmt *st = NULL;
    bool row = false;
    errinfo ei = {0};
    int64_t size = -1;
    if (!db_query(d, &st, &ei, "SELECT pg_database_size(current_database())", "") &&
        !db_step(st, &row, &ei) && row)
        size = db_col_int64(st, 0);
    db_finalize(st);
    return size;
}

int main(int argc, char **argv)
{
    yeargen_opts o;
    yeargen_counts c;
    errinfo ei = {0};
    double scale = 1.0;
    int64_t seed = 0;
    bool seeded = false;
    db *d = NULL;
    int status = 1;

    yeargen_opts_init(&o);
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("%d\n", YEARGEN_VERSION);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-')
        return usage("a database URL is needed");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            o.progress = false;
            continue;
        }
        if (!v)
            return usage("an option without its value");
        i++;
        size_t n = strlen(v);
        if (!strcmp(a, "--patients")) {
            if (str_to_int64(v, n, 1, 100000000, &o.patients))
                return usage("--patients must be from 1 to 100000000");
        } else if (!strcmp(a, "--results")) {
            if (str_to_int64(v, n, 1, 2000000000, &o.results))
                return usage("--results must be from 1 to 2000000000");
        } else if (!strcmp(a, "--days")) {
            if (str_to_int64(v, n, 1, 3660, &o.days))
                return usage("--days must be from 1 to 3660");
        } else if (!strcmp(a, "--seed")) {
            if (str_to_int64(v, n, 0, INT64_MAX, &seed))
                return usage("--seed must be a whole number from 0");
            seeded = true;
        } else if (!strcmp(a, "--scale")) {
            if (str_to_double(v, n, &scale) || !(scale > 0) || scale > 100)
                return usage("--scale must be above 0 and at most 100");
        } else if (!strcmp(a, "--end")) {
            if (time_parse_iso(v, n, &o.end, &ei))
                return usage("--end must be an ISO 8601 date or date-time");
        } else if (!strcmp(a, "--prefix")) {
            o.prefix = v;
        } else {
            return usage("unknown option");
        }
    }
    if (seeded)
        o.seed = (uint64_t)seed;
    o.patients = (int64_t)((double)o.patients * scale + 0.5);
    o.results = (int64_t)((double)o.results * scale + 0.5);
    if (o.patients < 1)
        o.patients = 1;
    if (o.results < 1)
        o.results = 1;
    if (sodium_init() < 0) {
        fprintf(stderr, "gen_year: libsodium cannot start\n");
        return 1;
    }
    log_set_level(LOG_WARN);

    int64_t t0 = time_mono_us();
    if (app_open_db(argv[1], &d, &ei)) {
        fprintf(stderr, "gen_year: %s\n", ei.message);
        goto out;
    }
    if (yeargen_run(d, &o, &c, &ei)) {
        fprintf(stderr, "gen_year: %s%s%s\n", ei.field[0] ? ei.field : "", ei.field[0] ? ": " : "",
                ei.message);
        goto out;
    }
    double secs = (double)(time_mono_us() - t0) / 1e6;
    int64_t rows = c.patients + c.orders + c.specimens + c.specimen_events + c.order_tests +
                   c.results + c.result_history + c.critical_alerts + c.signatures;
    char end[TIME_ISO_LEN];
    time_format_iso(o.end, end);
    json_t *j = json_pack(
        "{s:i,s:s,s:s,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:I,s:I,s:f,s:I,s:I,s:f,"
        "s:I}",
        "version", YEARGEN_VERSION, "backend", db_backend_name(d), "end", end, "seed",
        (json_int_t)o.seed, "days", (json_int_t)o.days, "rows", "patients", (json_int_t)c.patients,
        "orders", (json_int_t)c.orders, "specimens", (json_int_t)c.specimens, "specimen_events",
        (json_int_t)c.specimen_events, "order_tests", (json_int_t)c.order_tests, "results",
        (json_int_t)c.results, "result_history", (json_int_t)c.result_history, "critical_alerts",
        (json_int_t)c.critical_alerts, "signatures", (json_int_t)c.signatures, "rows_total",
        (json_int_t)rows, "open_specimens", (json_int_t)c.open_specimens, "seconds", secs,
        "seconds_load", (json_int_t)c.seconds_load, "seconds_index", (json_int_t)c.seconds_index,
        "rows_per_second", secs > 0 ? (double)rows / secs : 0.0, "database_bytes",
        (json_int_t)db_size(d, argv[1]));
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) {
        fprintf(stderr, "gen_year: out of memory\n");
        goto out;
    }
    printf("%s\n", text);
    free(text);
    status = 0;
out:
    db_close(d);
    return status;
}
