/*
 * bench_ingest.c - durable ingest through the MLLP link, end to end, in one
 * process: a fresh database with the demo catalog, an analyzer HEME-1 (HL7,
 * MSH-3 BENCH), and one received specimen per message, each ordered a basic
 * metabolic panel with albumin and total protein (10 numeric serum tests, one
 * SST tube). Then the links start on loopback and CONNECTIONS client threads,
 * each with its own TCP connection, send OUL^R22 messages of 10 OBX (values
 * inside the reference ranges, so that every result is auto-released) and wait
 * for each ACK before sending the next. Every result goes the whole way: the
 * ingest writer, result entry (result_enter_ids) with its audit events, the
 * release gate, the journal, the durable commit, then the ACK.
 *
 * Each connection first sends WARMUP messages (not timed); then all start
 * together and the wall time runs until the last ACK of the timed messages.
 * Latency is from the first byte sent to the whole ACK read, per message.
 * Afterwards the database is read back: results stored must be 10 times the
 * messages acknowledged and the audit chain must verify, or the run fails.
 *
 * usage: bench_ingest DB_URL [MESSAGES] [CONNECTIONS]
 *   MESSAGES     timed messages in all (default 20000), rounded up to a
 *                multiple of CONNECTIONS
 *   CONNECTIONS  concurrent MLLP connections (default 32)
 * Prints one JSON object with the figures; exit 1 when anything failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/app.h"
#include "bench_stats.h"
#include "auth/audit.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "lab/catalog.h"
#include "lab/custody.h"
#include "lab/instrument.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "link/link.h"
#include "proto/hl7.h"

#define WARMUP         10 /* messages per connection before the clock starts */
#define RESULTS_PER    10 /* OBX per message */
#define SETUP_PER_TX   250
#define ACK_TIMEOUT_S  60
#define MSG_MAX        4096
#define ACK_MAX        4096
#define ACCESSION_SIZE 40

/* The tests ordered on each specimen and the values sent for them: inside the
 * adult reference range of either sex, spread a little around the middle
 * (delta checks would hold values far apart on one patient). */
static const struct {
    const char *code, *name, *unit, *range;
    double low, high;
    int decimals;
} tests[RESULTS_PER] = {
    {"GLU", "Glucose", "mg/dL", "70-99", 78, 94, 0},
    {"BUN", "Urea nitrogen", "mg/dL", "7-20", 9, 18, 0},
    {"CREA", "Creatinine", "mg/dL", "0.59-1.35", 0.76, 1.00, 2},
    {"NA", "Sodium", "mmol/L", "136-145", 137, 144, 0},
    {"K", "Potassium", "mmol/L", "3.5-5.1", 3.9, 4.7, 1},
    {"CL", "Chloride", "mmol/L", "98-107", 99, 106, 0},
    {"CO2", "Carbon dioxide", "mmol/L", "22-29", 23, 28, 0},
    {"CA", "Calcium", "mg/dL", "8.6-10.2", 8.8, 10.0, 1},
    {"ALB", "Albumin", "g/dL", "3.5-5.2", 3.7, 5.0, 1},
    {"TP", "Total protein", "g/dL", "6.4-8.3", 6.6, 8.1, 1},
};

static const char instrument_doc[] =
    "{\"instruments\":[{\"name\":\"HEME-1\",\"kind\":\"analyzer\",\"protocol\":\"hl7\","
    "\"match\":{\"application\":\"BENCH\"}}]}";

typedef struct specimen_ref {
    char accession[ACCESSION_SIZE];
    char mrn[PATIENT_MRN_MAX + 1];
} specimen_ref;

typedef struct client {
    pthread_t thread;
    int index, port;
    const specimen_ref *specimens; /* WARMUP + timed, this connection's own */
    size_t timed;
    pthread_barrier_t *start;
    int64_t *latency_us; /* timed messages */
    size_t acked;        /* every message acknowledged AA, warm-up included */
    char error[256];
} client;

static double per_second(double n, int64_t us)
{
    return us > 0 ? n * 1e6 / (double)us : 0.0;
}

/* A small deterministic generator: the same values on every run. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- set-up ---- */

static err_t load_json(const char *text, size_t len, json_t **out, errinfo *ei)
{
    json_error_t je;
    *out = json_loadb(text, len, 0, &je);
    return *out ? ERR_OK : err_set(ei, ERR_INTERNAL, NULL, "bench: %s", je.text);
}

/* One patient, an order of BMP + ALB + TP, its one specimen collected and received. */
static err_t make_specimen(db *d, const audit_ctx *ctx, size_t i, specimen_ref *out, errinfo *ei)
{
    patient p;
    json_t *cand = NULL, *order = NULL, *spec = NULL;
    char mrn[32], given[32], birth[16];
    uint64_t r = 0x9e3779b97f4a7c15ULL ^ (i + 1);
    next_random(&r);
    snprintf(mrn, sizeof(mrn), "BENCH-%07zu", i);
    snprintf(given, sizeof(given), "Ingest%zu", i);
    snprintf(birth, sizeof(birth), "%d-%02d-%02d", 1940 + (int)(next_random(&r) % 60),
             1 + (int)(next_random(&r) % 12), 1 + (int)(next_random(&r) % 28));
    json_t *pb = json_pack("{s:s,s:s,s:s,s:s,s:s}", "mrn", mrn, "family", "Benchmark", "given",
                           given, "birth_date", birth, "sex", i % 2 ? "male" : "female");
    err_t rc = pb ? patient_create(d, ctx, pb, &p, &cand, ei) : ERR_NOMEM;
    json_decref(pb);
    json_decref(cand);
    if (rc)
        return rc;
    json_t *ob =
        json_pack("{s:s,s:[s,s,s],s:s,s:s,s:[s]}", "patient_id", p.id, "tests", "BMP", "ALB", "TP",
                  "priority", "routine", "clinician", "Ward physician", "reasons", "Z00.00");
    rc = ob ? order_create(d, ctx, ob, &order, ei) : ERR_NOMEM;
    json_decref(ob);
    if (rc)
        return rc;
    json_t *specs = json_object_get(order, "specimens");
    if (json_array_size(specs) != 1) {
        json_decref(order);
        return err_set(ei, ERR_INTERNAL, NULL,
                       "bench: the order made %zu specimens, not one: the tests must share a "
                       "container",
                       json_array_size(specs));
    }
    snprintf(out->accession, sizeof(out->accession), "%s",
             json_string_value(json_object_get(json_array_get(specs, 0), "accession")));
    snprintf(out->mrn, sizeof(out->mrn), "%s", mrn);
    json_decref(order);
    static const char *const events[] = {"{\"event\":\"collected\",\"site\":\"left antecubital\"}",
                                         "{\"event\":\"received\"}"};
    for (int k = 0; k < 2 && !rc; k++) {
        json_t *body = NULL;
        rc = load_json(events[k], strlen(events[k]), &body, ei);
        if (!rc)
            rc = custody_record(d, ctx, out->accession, body, &spec, ei);
        json_decref(body);
        json_decref(spec);
        spec = NULL;
    }
    return rc;
}

static err_t setup(const char *url, specimen_ref *specimens, size_t n, errinfo *ei)
{
    db *d = NULL;
    audit_ctx ctx = {NULL, "bench", "bench"};
    json_t *doc = NULL;
    int tests_n = 0, panels_n = 0, instruments_n = 0;
    err_t rc = app_open_db(url, &d, ei);
    if (!rc)
        rc = load_json(catalog_demo_json, catalog_demo_json_len, &doc, ei);
    if (!rc)
        rc = catalog_import(d, &ctx, doc, &tests_n, &panels_n, ei);
    json_decref(doc);
    doc = NULL;
    if (!rc)
        rc = load_json(instrument_doc, strlen(instrument_doc), &doc, ei);
    if (!rc)
        rc = instrument_import(d, &ctx, doc, &instruments_n, ei);
    json_decref(doc);
    /* Many specimens a transaction: each call's own transaction is a savepoint. */
    for (size_t i = 0; i < n && !rc; i += SETUP_PER_TX) {
        rc = db_begin(d, ei);
        for (size_t k = i; k < n && k < i + SETUP_PER_TX && !rc; k++)
            rc = make_specimen(d, &ctx, k, &specimens[k], ei);
        if (!rc)
            rc = db_commit(d, ei);
        else
            db_rollback(d);
    }
    db_close(d);
    return rc;
}

/* ---- the clients ---- */

static size_t make_message(char *out, size_t cap, const specimen_ref *s, const char *control,
                           uint64_t seed)
{
    char ts[HL7_TS_LEN];
    hl7_ts_format(time_now_us(), ts);
    size_t n = (size_t)snprintf(out, cap,
                                "MSH|^~\\&|BENCH|HEMELAB|benchside|LAB|%s||OUL^R22^OUL_R22|%s|P|"
                                "2.5.1\rPID|1||%s^^^HOSP^MR\rSPM|1|%s||SER^Serum^HL70487\r"
                                "OBR|1||%s|BMP^Basic metabolic panel^L\r",
                                ts, control, s->mrn, s->accession, s->accession);
    uint64_t r = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (int k = 0; k < RESULTS_PER && n < cap; k++) {
        double f = (double)(next_random(&r) % 1001) / 1000.0;
        double v = tests[k].low + (tests[k].high - tests[k].low) * f;
        n += (size_t)snprintf(out + n, cap - n, "OBX|%d|NM|%s^%s^L||%.*f|%s|%s|N|||F|||%s\r", k + 1,
                              tests[k].code, tests[k].name, tests[k].decimals, v, tests[k].unit,
                              tests[k].range, ts);
    }
    return n < cap ? n : cap;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Read one MLLP frame into ack (unframed, NUL-terminated); false on error. */
static bool read_ack(int fd, char *ack, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = recv(fd, ack + n, cap - 1 - n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        n += (size_t)k;
        if (n >= 2 && ack[n - 2] == 0x1c && ack[n - 1] == 0x0d)
            break;
        if (n >= cap - 1)
            return false;
    }
    if (ack[0] != 0x0b)
        return false;
    memmove(ack, ack + 1, n - 3);
    ack[n - 3] = '\0';
    return true;
}

/* MSA-1 AA and MSA-2 the control id sent. */
static bool ack_ok(const char *ack, const char *control)
{
    char want[96];
    snprintf(want, sizeof(want), "\rMSA|AA|%s", control);
    const char *p = strstr(ack, want);
    if (!p)
        return false;
    char after = p[strlen(want)];
    return after == '\0' || after == '|' || after == '\r';
}

static void *client_main(void *arg)
{
    client *c = arg;
    char msg[MSG_MAX + 3], ack[ACK_MAX];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    struct timeval tv = {.tv_sec = ACK_TIMEOUT_S};
    int one = 1;
    bool started = false;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        snprintf(c->error, sizeof(c->error), "connection %d: cannot connect: %s", c->index,
                 strerror(errno));
        goto done;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (size_t i = 0; i < WARMUP + c->timed; i++) {
        char control[64];
        if (i == WARMUP) {
            started = true;
            pthread_barrier_wait(c->start);
        }
        snprintf(control, sizeof(control), "BENCH-%d-%zu", c->index, i);
        msg[0] = 0x0b;
        size_t n = make_message(msg + 1, MSG_MAX, &c->specimens[i], control,
                                (uint64_t)c->index * 1000003u + i);
        msg[n + 1] = 0x1c;
        msg[n + 2] = 0x0d;
        int64_t t0 = time_mono_us();
        if (!send_all(fd, msg, n + 3) || !read_ack(fd, ack, sizeof(ack))) {
            snprintf(c->error, sizeof(c->error), "connection %d: message %s: no ACK: %s", c->index,
                     control, errno ? strerror(errno) : "closed");
            break;
        }
        int64_t t1 = time_mono_us();
        if (!ack_ok(ack, control)) {
            for (char *p = ack; *p; p++)
                if (*p == '\r')
                    *p = ' ';
            snprintf(c->error, sizeof(c->error), "connection %d: message %s: %.160s", c->index,
                     control, ack);
            break;
        }
        c->acked++;
        if (i >= WARMUP)
            c->latency_us[i - WARMUP] = t1 - t0;
    }
done:
    if (!started)
        pthread_barrier_wait(c->start); /* the others must not wait for it */
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* CPU time of the whole process (every thread), user and system. */
static int64_t cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return 0;
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* ---- reading back ---- */

static err_t count(db *d, const char *sql, int64_t *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql, "");
    if (!rc)
        rc = db_step(st, &row, ei);
    *out = !rc && row ? db_col_int64(st, 0) : -1;
    db_finalize(st);
    return rc;
}

int main(int argc, char **argv)
{
    int64_t messages = 20000, conns = 32;
    errinfo ei = {0};
    if (argc < 2) {
        fprintf(stderr, "usage: bench_ingest DB_URL [MESSAGES] [CONNECTIONS]\n");
        return 2;
    }
    if (argc > 2 && str_to_int64(argv[2], strlen(argv[2]), 1, 10000000, &messages)) {
        fprintf(stderr, "MESSAGES must be 1 to 10000000\n");
        return 2;
    }
    if (argc > 3 && str_to_int64(argv[3], strlen(argv[3]), 1, 1000, &conns)) {
        fprintf(stderr, "CONNECTIONS must be 1 to 1000\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "bench: libsodium cannot start\n");
        return 1;
    }
    log_set_level(LOG_WARN);
    size_t per = (size_t)((messages + conns - 1) / conns), nc = (size_t)conns;
    size_t each = WARMUP + per, total = nc * each;
    specimen_ref *specimens = calloc(total, sizeof(*specimens));
    int64_t *latency = calloc(nc * per, sizeof(*latency));
    client *clients = calloc(nc, sizeof(*clients));
    link_server *srv = NULL;
    db *d = NULL;
    int status = 1;
    if (!specimens || !latency || !clients) {
        fprintf(stderr, "bench: out of memory\n");
        goto out;
    }

    int64_t t0 = time_mono_us();
    if (setup(argv[1], specimens, total, &ei)) {
        fprintf(stderr, "bench: set-up: %s\n", ei.message);
        goto out;
    }
    int64_t setup_us = time_mono_us() - t0;

    link_config cfg = {.db_url = argv[1], .mllp = "127.0.0.1:0"};
    if (link_start(&cfg, &srv, &ei)) {
        fprintf(stderr, "bench: links: %s\n", ei.message);
        goto out;
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)nc + 1);
    for (size_t i = 0; i < nc; i++) {
        clients[i] = (client){
            .index = (int)i,
            .port = link_mllp_port(srv),
            .specimens = specimens + i * each,
            .timed = per,
            .start = &start,
            .latency_us = latency + i * per,
        };
        if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i])) {
            fprintf(stderr, "bench: cannot start client threads\n");
            exit(1); /* threads already started wait at the barrier */
        }
    }
    pthread_barrier_wait(&start);
    int64_t t1 = time_mono_us(), cpu0 = cpu_us();
    for (size_t i = 0; i < nc; i++)
        pthread_join(clients[i].thread, NULL);
    int64_t wall_us = time_mono_us() - t1, timed_cpu_us = cpu_us() - cpu0;
    pthread_barrier_destroy(&start);
    link_stop(srv);
    srv = NULL;

    size_t acked = 0, timed_acked = 0, nlat = 0;
    const char *error = NULL;
    for (size_t i = 0; i < nc; i++) {
        acked += clients[i].acked;
        timed_acked += clients[i].acked > WARMUP ? clients[i].acked - WARMUP : 0;
        if (clients[i].error[0] && !error)
            error = clients[i].error;
        size_t got = clients[i].acked > WARMUP ? clients[i].acked - WARMUP : 0;
        for (size_t k = 0; k < got; k++)
            latency[nlat++] = clients[i].latency_us[k];
    }
    qsort(latency, nlat, sizeof(*latency), bench_cmp_i64);

    /* A bench that loses data is not a result: read everything back. */
    int64_t stored = -1, released = -1, journalled = -1;
    audit_verify_result av = {0};
    if (db_open(argv[1], &d, &ei) ||
        count(d, "SELECT COUNT(*) FROM results WHERE instrument = 'HEME-1'", &stored, &ei) ||
        count(d, "SELECT COUNT(*) FROM results WHERE instrument = 'HEME-1' AND status = 'released'",
              &released, &ei) ||
        count(d,
              "SELECT COUNT(*) FROM messages WHERE instrument = 'HEME-1' AND status = 'accepted'",
              &journalled, &ei) ||
        audit_verify(d, &av, &ei)) {
        fprintf(stderr, "bench: reading back: %s\n", ei.message);
        goto out;
    }
    bool complete = stored == (int64_t)(acked * RESULTS_PER) && journalled == (int64_t)acked;
    printf("{\"backend\":\"%s\",\"connections\":%zu,\"results_per_message\":%d,"
           "\"warmup_messages\":%zu,\"messages\":%zu,\"results\":%zu,\"wall_s\":%.3f,"
           "\"results_per_s\":%.0f,\"messages_per_s\":%.0f,\"ack_ms_p50\":%.2f,"
           "\"ack_ms_p99\":%.2f,\"ack_ms_max\":%.2f,\"cpu_cores\":%.2f,\"cpu_us_per_result\":%.1f,"
           "\"acked_total\":%zu,\"stored_results\":%lld,"
           "\"released_results\":%lld,\"journalled_accepted\":%lld,\"audit_events\":%lld,"
           "\"audit_chain_ok\":%s,\"complete\":%s,\"setup_specimens\":%zu,\"setup_s\":%.1f}\n",
           db_backend_name(d), nc, RESULTS_PER, nc * WARMUP, timed_acked, timed_acked * RESULTS_PER,
           (double)wall_us / 1e6, per_second((double)(timed_acked * RESULTS_PER), wall_us),
           per_second((double)timed_acked, wall_us), bench_pct_ms(latency, nlat, 0.50),
           bench_pct_ms(latency, nlat, 0.99), nlat ? (double)latency[nlat - 1] / 1000.0 : 0.0,
           wall_us > 0 ? (double)timed_cpu_us / (double)wall_us : 0.0,
           timed_acked ? (double)timed_cpu_us / (double)(timed_acked * RESULTS_PER) : 0.0, acked,
           (long long)stored, (long long)released, (long long)journalled, (long long)av.events,
           av.ok ? "true" : "false", complete ? "true" : "false", total, (double)setup_us / 1e6);
    if (error)
        fprintf(stderr, "bench: %s\n", error);
    else if (!complete)
        fprintf(stderr, "bench: %lld results stored for %zu messages acknowledged\n",
                (long long)stored, acked);
    else if (!av.ok)
        fprintf(stderr, "bench: the audit chain does not verify: %s\n", av.problem);
    else
        status = 0;
out:
    link_stop(srv);
    db_close(d);
    free(specimens);
    free(latency);
    free(clients);
    return status;
}
