/*
 * doctor.c - `benchside doctor`: a site's configuration checked before (or
 * while) it runs, one line a check, so that whoever installs or looks after
 * a node sees at once what is wrong and what to do about it.
 *
 * The checks are a table. Each says ok, warn (works, but look at it) or
 * fail (the server would not start, or would lose something), with its
 * reason. Checks that need the database are skipped when it cannot be
 * opened. Nothing is written anywhere: a missing SQLite file is reported,
 * not made.
 */
#include "app/app.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/str.h"
#include "base/time.h"
#include "link/link.h"
#include "store/migrate.h"

#define PEM_MAX         (1024 * 1024)
#define CLOCK_WARN_US   (2 * 1000000LL)  /* nodes apart by more: leases and ids skew */
#define CLOCK_FAIL_US   (60 * 1000000LL) /* a claim of 120 s is then half gone */
#define DISK_FAIL_BYTES (64LL << 20)
#define DISK_WARN_BYTES (1LL << 30)
#define CERT_WARN_DAYS  30
#define PG_MIN_VERSION  150000
#define EPOCH_2024_US   1704067200000000LL
#define EPOCH_2100_US   4102444800000000LL

typedef enum { CHECK_OK, CHECK_WARN, CHECK_FAIL, CHECK_SKIP } check_status;

typedef struct doctor_ctx {
    const app_doctor_opts *o;
    db *d; /* NULL when the database could not be opened */
} doctor_ctx;

typedef check_status (*check_fn)(doctor_ctx *c, char *msg, size_t n);

static check_status say(char *msg, size_t n, check_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static check_status say(char *msg, size_t n, check_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return st;
}

/* The path of a sqlite: URL into path; false for another backend. */
static bool sqlite_path(const char *url, char *path, size_t n)
{
    if (strncmp(url, "sqlite:", 7))
        return false;
    const char *p = url + 7;
    if (!strncmp(p, "//", 2))
        p += 2;
    size_t len = strcspn(p, "?");
    if (len == 0 || len >= n)
        return false;
    memcpy(path, p, len);
    path[len] = '\0';
    return true;
}

/* ---- the database ---- */

static check_status check_database(doctor_ctx *c, char *msg, size_t n)
{
    char path[4096];
    errinfo ei = {0};
    if (!db_url_valid(c->o->db_url))
        return say(msg, n, CHECK_FAIL,
                   "'%s' is not a database URL (sqlite:PATH or postgresql://...)", c->o->db_url);
    if (sqlite_path(c->o->db_url, path, sizeof(path)) && access(path, F_OK))
        return say(msg, n, CHECK_FAIL, "no database at %s (benchside migrate --db %s makes one)",
                   path, c->o->db_url);
    if (db_open(c->o->db_url, &c->d, &ei))
        return say(msg, n, CHECK_FAIL, "cannot open it: %s", ei.message);
    int version = 0;
    int64_t clock = 0;
    if (db_server_info(c->d, &version, &clock, &ei))
        return say(msg, n, CHECK_FAIL, "it does not answer: %s", ei.message);
    if (db_kind(c->d) == DB_POSTGRES && version < PG_MIN_VERSION)
        return say(msg, n, CHECK_FAIL, "PostgreSQL %d.%d is too old: 15 or later is needed",
                   version / 10000, version % 10000);
    return say(msg, n, CHECK_OK, "%s %d.%d reachable", db_backend_name(c->d),
               db_kind(c->d) == DB_POSTGRES ? version / 10000 : version / 1000000,
               db_kind(c->d) == DB_POSTGRES ? version % 10000 : version / 1000 % 1000);
}

static check_status check_schema(doctor_ctx *c, char *msg, size_t n)
{
    int version = 0;
    int latest = migrate_table_len ? migrate_table[migrate_table_len - 1].version : 0;
    errinfo ei = {0};
    if (!c->d)
        return say(msg, n, CHECK_SKIP, "the database could not be opened");
    if (migrate_version(c->d, &version, &ei))
        return say(msg, n, CHECK_FAIL, "cannot read its schema version: %s", ei.message);
    if (version > latest)
        return say(msg, n, CHECK_FAIL,
                   "schema version %d is newer than this program knows (%d): run the newer "
                   "program, or restore a backup",
                   version, latest);
    if (version < latest)
        return say(msg, n, CHECK_WARN,
                   "schema version %d, this program's is %d: `benchside migrate` (or serve) "
                   "applies %d migration(s)",
                   version, latest, latest - version);
    return say(msg, n, CHECK_OK, "schema version %d, up to date", version);
}

static check_status check_admin(doctor_ctx *c, char *msg, size_t n)
{
    int64_t admins = 0;
    errinfo ei = {0};
    if (!c->d)
        return say(msg, n, CHECK_SKIP, "the database could not be opened");
    if (user_count_admins(c->d, &admins, &ei))
        return say(msg, n, CHECK_FAIL, "cannot count them: %s", ei.message);
    if (admins == 0)
        return say(msg, n, CHECK_FAIL,
                   "no enabled administrator: benchside user add --role admin ... makes one");
    return say(msg, n, CHECK_OK, "%lld enabled administrator(s)", (long long)admins);
}

static check_status check_audit(doctor_ctx *c, char *msg, size_t n)
{
    audit_verify_result v;
    errinfo ei = {0};
    if (!c->d)
        return say(msg, n, CHECK_SKIP, "the database could not be opened");
    err_t rc = c->o->full ? audit_verify(c->d, &v, &ei) : audit_head_check(c->d, &v, &ei);
    if (rc)
        return say(msg, n, CHECK_FAIL, "cannot read the trail: %s", ei.message);
    if (!v.ok)
        return say(msg, n, CHECK_FAIL, "BROKEN at event %lld: %s", (long long)v.seq, v.problem);
    if (c->o->full)
        return say(msg, n, CHECK_OK, "%lld events, the whole hash chain verified",
                   (long long)v.events);
    return say(msg, n, CHECK_OK,
               "the head (event %lld) matches the last event (--full verifies every one)",
               (long long)v.events);
}

/* ---- the machine ---- */

static check_status check_clock(doctor_ctx *c, char *msg, size_t n)
{
    int64_t now = time_now_us(), server = 0;
    int version = 0;
    errinfo ei = {0};
    char iso[TIME_ISO_LEN];
    time_format_iso(now, iso);
    if (now < EPOCH_2024_US || now >= EPOCH_2100_US)
        return say(msg, n, CHECK_FAIL, "this machine says %s: set its clock (NTP)", iso);
    if (!c->d || db_kind(c->d) != DB_POSTGRES)
        return say(msg, n, CHECK_OK, "%s", iso);
    if (db_server_info(c->d, &version, &server, &ei))
        return say(msg, n, CHECK_WARN, "%s; the database server's clock could not be read", iso);
    int64_t skew = now - server;
    if (skew < 0)
        skew = -skew;
    check_status st = skew > CLOCK_FAIL_US   ? CHECK_FAIL
                      : skew > CLOCK_WARN_US ? CHECK_WARN
                                             : CHECK_OK;
    return say(msg, n, st, "%s, %.3f s from the database server's%s", iso, (double)skew / 1e6,
               st == CHECK_OK ? ""
                              : ": nodes must agree on the time (NTP), or outbox claims "
                                "lapse early or late");
}

static check_status check_disk(doctor_ctx *c, char *msg, size_t n)
{
    char path[4096], dir[4096];
    struct statvfs vfs;
    if (!sqlite_path(c->o->db_url, path, sizeof(path)))
        return say(msg, n, CHECK_SKIP,
                   "PostgreSQL keeps its data on its own server: watch its disk there");
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
    else
        snprintf(dir, sizeof(dir), ".");
    if (statvfs(dir, &vfs))
        return say(msg, n, CHECK_FAIL, "cannot look at %s: %s", dir, strerror(errno));
    if (access(dir, W_OK))
        return say(msg, n, CHECK_FAIL,
                   "%s is not writable: SQLite writes its log and lock files beside the database",
                   dir);
    int64_t avail = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    double share = vfs.f_blocks ? (double)vfs.f_bavail / (double)vfs.f_blocks : 0;
    check_status st = avail < DISK_FAIL_BYTES                   ? CHECK_FAIL
                      : avail < DISK_WARN_BYTES || share < 0.05 ? CHECK_WARN
                                                                : CHECK_OK;
    return say(msg, n, st, "%.1f GiB free in %s (%.0f%%)%s", (double)avail / (1 << 30), dir,
               share * 100,
               st == CHECK_OK ? "" : ": writes are refused when it is full; free some space");
}

/* Whether ADDR:PORT can be bound now (as the server would, SO_REUSEADDR). */
static check_status check_port(const char *what, const char *spec, char *msg, size_t n)
{
    char host[128];
    int port = 0;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (!spec || !strcmp(spec, "off"))
        return say(msg, n, CHECK_SKIP, "%s is off", what);
    if (str_split_hostport(spec, host, sizeof(host), &port))
        return say(msg, n, CHECK_FAIL, "%s: '%s' is not ADDR:PORT", what, spec);
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        len = sizeof(*a6);
    } else {
        return say(msg, n, CHECK_FAIL, "%s: '%s' is not an IP address", what, host);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return say(msg, n, CHECK_FAIL, "%s: cannot make a socket: %s", what, strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = bind(fd, (struct sockaddr *)&ss, len), e = errno;
    close(fd);
    if (!rc)
        return say(msg, n, CHECK_OK, "%s %s is free", what, spec);
    if (e == EADDRINUSE)
        return say(msg, n, CHECK_WARN, "%s %s is in use (by a server already running?)", what,
                   spec);
    if (e == EACCES)
        return say(msg, n, CHECK_FAIL, "%s %s: no right to listen there (a port under 1024?)", what,
                   spec);
    return say(msg, n, CHECK_FAIL, "%s %s: cannot listen there: %s", what, spec, strerror(e));
}

static check_status check_http(doctor_ctx *c, char *msg, size_t n)
{
    return check_port("http", c->o->http ? c->o->http : APP_DEFAULT_HTTP, msg, n);
}

static check_status check_mllp(doctor_ctx *c, char *msg, size_t n)
{
    return check_port("mllp", c->o->mllp ? c->o->mllp : LINK_DEFAULT_MLLP, msg, n);
}

static check_status check_astm(doctor_ctx *c, char *msg, size_t n)
{
    return check_port("astm", c->o->astm ? c->o->astm : LINK_DEFAULT_ASTM, msg, n);
}

/* ---- TLS ---- */

/* The whole of a PEM file into *out (a gnutls datum the caller frees). */
static bool read_pem(const char *path, gnutls_datum_t *out, char *why, size_t n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t len = 0;
    out->data = NULL;
    out->size = 0;
    if (!f) {
        snprintf(why, n, "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    data = malloc(PEM_MAX + 1);
    if (data)
        len = fread(data, 1, PEM_MAX + 1, f);
    fclose(f);
    if (!data || len == 0 || len > PEM_MAX) {
        snprintf(why, n, "%s is %s", path,
                 !data ? "unreadable (out of memory)"
                 : len ? "too large for a PEM file"
                       : "empty");
        free(data);
        return false;
    }
    out->data = data;
    out->size = (unsigned)len;
    return true;
}

static check_status check_tls(doctor_ctx *c, char *msg, size_t n)
{
    const char *cert = c->o->tls_cert, *key = c->o->tls_key;
    gnutls_datum_t cd = {0}, kd = {0};
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t pk = NULL;
    unsigned char cid[64], kid[64];
    size_t cidn = sizeof(cid), kidn = sizeof(kid);
    char why[512] = "";
    check_status st = CHECK_FAIL;
    if (!cert && !key)
        return say(msg, n, CHECK_SKIP,
                   "no --tls-cert and --tls-key: HTTP without TLS (put a TLS "
                   "proxy or load balancer in front)");
    if (!cert || !key)
        return say(msg, n, CHECK_FAIL, "--tls-cert and --tls-key go together");
    if (!read_pem(cert, &cd, why, sizeof(why)) || !read_pem(key, &kd, why, sizeof(why)))
        goto done;
    if (gnutls_x509_crt_init(&crt) || gnutls_x509_privkey_init(&pk)) {
        snprintf(why, sizeof(why), "out of memory");
        goto done;
    }
    if (gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM) < 0) {
        snprintf(why, sizeof(why), "%s holds no PEM certificate", cert);
        goto done;
    }
    if (gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN) < 0) {
        snprintf(why, sizeof(why), "%s holds no PEM private key (or it is encrypted)", key);
        goto done;
    }
    if (gnutls_x509_crt_get_key_id(crt, 0, cid, &cidn) < 0 ||
        gnutls_x509_privkey_get_key_id(pk, 0, kid, &kidn) < 0 || cidn != kidn ||
        memcmp(cid, kid, cidn)) {
        snprintf(why, sizeof(why), "the key in %s is not the certificate's", key);
        goto done;
    }
    int64_t now = time_now_us() / 1000000;
    int64_t from = (int64_t)gnutls_x509_crt_get_activation_time(crt);
    int64_t until = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    char until_iso[TIME_ISO_LEN];
    time_format_iso(until * 1000000, until_iso);
    if (now < from) {
        snprintf(why, sizeof(why), "the certificate is not valid yet");
    } else if (now >= until) {
        snprintf(why, sizeof(why), "the certificate expired at %s", until_iso);
    } else if (until - now < CERT_WARN_DAYS * 86400LL) {
        st = CHECK_WARN;
        snprintf(why, sizeof(why), "the certificate expires at %s, in %lld day(s): renew it",
                 until_iso, (long long)((until - now) / 86400));
    } else {
        st = CHECK_OK;
        snprintf(why, sizeof(why), "certificate and key match, valid until %s", until_iso);
    }
done:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (pk)
        gnutls_x509_privkey_deinit(pk);
    free(cd.data);
    free(kd.data);
    return say(msg, n, st, "%s", why);
}

/* ---- the table ---- */

static const struct {
    const char *name;
    check_fn fn;
} checks[] = {
    {"database", check_database}, {"schema", check_schema}, {"admin", check_admin},
    {"audit", check_audit},       {"clock", check_clock},   {"disk", check_disk},
    {"tls", check_tls},           {"http", check_http},     {"mllp", check_mllp},
    {"astm", check_astm},
};

int app_doctor(const app_doctor_opts *o, FILE *out)
{
    static const char *const words[] = {"ok", "WARN", "FAIL", "skip"};
    doctor_ctx c = {o, NULL};
    int counts[4] = {0, 0, 0, 0};
    char msg[1024];
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        msg[0] = '\0';
        check_status st = checks[i].fn(&c, msg, sizeof(msg));
        counts[st]++;
        fprintf(out, "%-4s  %-8s  %s\n", words[st], checks[i].name, msg);
    }
    db_close(c.d);
    fprintf(out, "doctor: %d ok, %d warning(s), %d failed, %d skipped\n", counts[CHECK_OK],
            counts[CHECK_WARN], counts[CHECK_FAIL], counts[CHECK_SKIP]);
    return counts[CHECK_FAIL];
}
