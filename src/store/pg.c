/*
 * pg.c - the PostgreSQL backend of db.h, over libpq.
 *
 * A connection runs with client_min_messages = warning (NOTICEs are dropped
 * anyway by a notice processor), the time zone UTC and client encoding UTF8;
 * these are set again whenever a lost connection is re-established. Statements
 * take `?` placeholders, rewritten to $1, $2, ... by db_rewrite_placeholders();
 * parameters travel as text. Errors are mapped by SQLSTATE: unique violation to
 * ERR_CONFLICT, serialization failure, deadlock, lock not available and
 * insufficient resources to ERR_DB_BUSY, a lost or refused connection to
 * ERR_DB_UNAVAILABLE.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/str.h"
#include "store/db_impl.h"

/* Session settings, run after every (re)connection. */
static const char pg_session_sql[] = "SET client_min_messages = warning; "
                                     "SET TIME ZONE 'UTC'; "
                                     "SET client_encoding = 'UTF8'";

struct pg_db {
    struct db base;
    PGconn *conn;
};

/*
 * A statement runs with PQexecParams rather than PQprepare + PQexecPrepared:
 * statements here are mostly prepared for one run (db_run), where a named
 * server-side statement would cost an extra round trip, a unique name, a
 * DEALLOCATE at finalize, and would be lost silently when the connection is
 * re-established. PQexecParams sends Parse/Bind/Execute in one round trip with
 * the unnamed statement. The whole result is fetched at once (no single-row
 * mode) so that, as on SQLite, other statements can run on the connection
 * while this one's rows are being walked.
 */
struct pg_stmt {
    struct db_stmt base;
    char *sql;     /* rewritten with $n placeholders */
    int nparams;   /* number of placeholders */
    char **params; /* nparams malloc'd text values; NULL is SQL NULL */
    PGresult *res; /* the last run's result; NULL until the first step */
    int row;       /* current row of res, -1 before the first */
    int64_t changes;
};

static void pg_notice_discard(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* libpq's messages end in a newline and may hold "\n\t" hints: make one line. */
static void pg_one_line(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    bool space = false;
    if (cap == 0)
        return;
    for (; *in && o + 1 < cap; in++) {
        if (*in == '\n' || *in == '\r' || *in == '\t' || *in == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap)
            out[o++] = ' ';
        space = false;
        out[o++] = *in;
    }
    out[o] = '\0';
}

static err_t pg_fail(errinfo *ei, err_t code, const char *msg)
{
    char line[440];
    pg_one_line(msg && *msg ? msg : "unknown error", line, sizeof(line));
    return err_set(ei, code, NULL, "postgresql: %s", line);
}

static err_t pg_code_for_state(const char *st)
{
    if (!st || strlen(st) != 5)
        return ERR_DB;
    if (!strcmp(st, "23505"))
        return ERR_CONFLICT;
    if (!strcmp(st, "40001") || !strcmp(st, "40P01") || !strcmp(st, "55P03") ||
        !strncmp(st, "53", 2))
        return ERR_DB_BUSY;
    if (!strncmp(st, "08", 2) || !strcmp(st, "57P01") || !strcmp(st, "57P02") ||
        !strcmp(st, "57P03"))
        return ERR_DB_UNAVAILABLE;
    return ERR_DB;
}

/* Map a failed result (NULL when libpq could not make one) to an error code. */
static err_t pg_map_error(PGconn *c, const PGresult *res, errinfo *ei)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    err_t code;
    if (!msg || !*msg)
        msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(c);
    if (PQstatus(c) != CONNECTION_OK)
        code = ERR_DB_UNAVAILABLE;
    else if (state)
        code = pg_code_for_state(state);
    else if (!res || (msg && strstr(msg, "out of memory")))
        code = ERR_NOMEM; /* libpq returns no result only when out of memory */
    else
        code = ERR_DB;
    return pg_fail(ei, code, msg);
}

/*
 * COPY needs a data stream this interface does not offer. End it and read the
 * remaining results so that the connection stays usable.
 */
static void pg_abandon_copy(PGconn *c, ExecStatusType st)
{
    char *data = NULL;
    PGresult *r = NULL;
    if (st == PGRES_COPY_IN) {
        PQputCopyEnd(c, "COPY is not supported by benchside's store");
    } else if (st == PGRES_COPY_OUT) {
        while (PQgetCopyData(c, &data, 0) > 0) {
            PQfreemem(data);
            data = NULL;
        }
    }
    for (;;) {
        r = PQgetResult(c);
        if (!r)
            break;
        PQclear(r);
    }
}

/* ERR_OK when res is a success; otherwise the mapped error. Does not free res. */
static err_t pg_check_result(PGconn *c, PGresult *res, errinfo *ei)
{
    ExecStatusType st = PQresultStatus(res); /* PGRES_FATAL_ERROR for NULL */
    switch (st) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
        return ERR_OK;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
        pg_abandon_copy(c, st);
        return pg_fail(ei, ERR_DB, "COPY is not supported");
    default:
        return pg_map_error(c, res, ei);
    }
}

static err_t pg_session_setup(struct pg_db *d, errinfo *ei)
{
    PGresult *res = PQexec(d->conn, pg_session_sql);
    err_t rc = pg_check_result(d->conn, res, ei);
    PQclear(res);
    return rc;
}

static err_t pg_open(const char *target, db **out, errinfo *ei)
{
    struct pg_db *d = NULL;
    char *perr = NULL;
    err_t rc;
    /* A URL libpq cannot parse is a configuration mistake, not an outage. */
    PQconninfoOption *opts = PQconninfoParse(target, &perr);
    if (!opts) {
        if (!perr)
            return err_set(ei, ERR_NOMEM, NULL, NULL);
        rc = pg_fail(ei, ERR_USAGE, perr);
        PQfreemem(perr);
        return rc;
    }
    PQconninfoFree(opts);
    d = calloc(1, sizeof(*d));
    if (!d)
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    d->conn = PQconnectdb(target);
    if (!d->conn) {
        rc = err_set(ei, ERR_NOMEM, NULL, NULL);
        goto fail;
    }
    if (PQstatus(d->conn) != CONNECTION_OK) {
        rc = pg_fail(ei, ERR_DB_UNAVAILABLE, PQerrorMessage(d->conn));
        goto fail;
    }
    PQsetNoticeProcessor(d->conn, pg_notice_discard, NULL);
    rc = pg_session_setup(d, ei);
    if (rc)
        goto fail;
    *out = &d->base;
    return ERR_OK;
fail:
    PQfinish(d->conn);
    free(d);
    return rc;
}

static void pg_close(db *base)
{
    struct pg_db *d = (struct pg_db *)base;
    PQfinish(d->conn);
    free(d);
}

static err_t pg_exec(db *base, const char *sql, errinfo *ei)
{
    struct pg_db *d = (struct pg_db *)base;
    PGresult *res = PQexec(d->conn, sql);
    err_t rc = pg_check_result(d->conn, res, ei);
    /* COMMIT of a transaction that failed earlier rolls it back and reports
     * success with the tag ROLLBACK: the caller must hear that nothing was kept. */
    if (!rc && !strcasecmp(sql, "COMMIT") && !strcmp(PQcmdStatus(res), "ROLLBACK"))
        rc = pg_fail(ei, ERR_DB, "the transaction had failed and was rolled back");
    PQclear(res);
    return rc;
}

/*
 * An idle connection receives nothing unasked, except when the server ends it
 * (restart, pg_terminate_backend): then the socket holds an error and EOF.
 * Reading what is there, without waiting, lets libpq notice the loss now rather
 * than on the next query. A few rounds: the message and the EOF may come apart.
 */
static void pg_probe(PGconn *c)
{
    for (int i = 0; i < 4 && PQstatus(c) == CONNECTION_OK; i++) {
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
            return;
        if (!PQconsumeInput(c))
            return;
    }
}

static err_t pg_check(db *base, errinfo *ei)
{
    struct pg_db *d = (struct pg_db *)base;
    PGTransactionStatusType ts;
    if (PQstatus(d->conn) == CONNECTION_OK)
        pg_probe(d->conn);
    if (PQstatus(d->conn) == CONNECTION_OK) {
        ts = PQtransactionStatus(d->conn);
        if (ts == PQTRANS_INERROR || ts == PQTRANS_INTRANS)
            PQclear(PQexec(d->conn, "ROLLBACK"));
        if (PQstatus(d->conn) == CONNECTION_OK)
            return ERR_OK;
    }
    PQreset(d->conn);
    if (PQstatus(d->conn) != CONNECTION_OK)
        return pg_fail(ei, ERR_DB_UNAVAILABLE, PQerrorMessage(d->conn));
    return pg_session_setup(d, ei);
}

static err_t pg_prepare(db *base, const char *sql, db_stmt **out, errinfo *ei)
{
    struct pg_stmt *s = calloc(1, sizeof(*s));
    (void)base;
    if (!s)
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    s->row = -1;
    s->sql = db_rewrite_placeholders(sql, &s->nparams);
    if (!s->sql)
        goto fail;
    if (s->nparams > 0) {
        s->params = calloc((size_t)s->nparams, sizeof(char *));
        if (!s->params)
            goto fail;
    }
    *out = &s->base;
    return ERR_OK;
fail:
    free(s->sql);
    free(s);
    return err_set(ei, ERR_NOMEM, NULL, NULL);
}

/* Take ownership of v (NULL for SQL NULL) as parameter i. */
static err_t pg_set_param(struct pg_stmt *s, int i, char *v)
{
    free(s->params[i - 1]);
    s->params[i - 1] = v;
    return ERR_OK;
}

static err_t pg_bind_text(db_stmt *base, int i, const char *v, size_t n)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    char *copy = NULL;
    if (i < 1 || i > s->nparams)
        return ERR_INTERNAL;
    /* Text parameters end at the first NUL: refuse rather than cut silently. */
    if (n > 0 && memchr(v, '\0', n))
        return ERR_INVALID;
    copy = malloc(n + 1);
    if (!copy)
        return ERR_NOMEM;
    if (n > 0)
        memcpy(copy, v, n);
    copy[n] = '\0';
    return pg_set_param(s, i, copy);
}

static err_t pg_bind_int64(db_stmt *base, int i, int64_t v)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%" PRId64, v);
    return pg_bind_text(base, i, text, (size_t)n);
}

static err_t pg_bind_double(db_stmt *base, int i, double v)
{
    /* 17 significant digits read back to the same double. */
    char text[40];
    int n = snprintf(text, sizeof(text), "%.17g", v);
    return pg_bind_text(base, i, text, (size_t)n);
}

static err_t pg_bind_null(db_stmt *base, int i)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    if (i < 1 || i > s->nparams)
        return ERR_INTERNAL;
    return pg_set_param(s, i, NULL);
}

static void pg_reset(db_stmt *base)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->changes = 0;
}

static err_t pg_step(db_stmt *base, bool *row, errinfo *ei)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    PGconn *c = ((struct pg_db *)s->base.owner)->conn;
    const char *tuples;
    int64_t changes = 0;
    err_t rc;
    *row = false;
    if (!s->res) {
        PGresult *res = PQexecParams(c, s->sql, s->nparams, NULL, (const char *const *)s->params,
                                     NULL, NULL, 0);
        rc = pg_check_result(c, res, ei);
        if (rc) {
            PQclear(res);
            return rc;
        }
        s->res = res;
        s->row = -1;
        tuples = PQcmdTuples(res);
        if (str_to_int64(tuples, strlen(tuples), 0, INT64_MAX, &changes))
            changes = 0; /* commands that change no rows have no count */
        s->changes = changes;
    }
    if (s->row < PQntuples(s->res))
        s->row++;
    *row = s->row < PQntuples(s->res);
    return ERR_OK;
}

static int pg_param_count(db_stmt *base)
{
    return ((struct pg_stmt *)base)->nparams;
}

static int64_t pg_changes(db_stmt *base)
{
    return ((struct pg_stmt *)base)->changes;
}

static int pg_col_count(db_stmt *base)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    return s->res ? PQnfields(s->res) : 0;
}

/* True when column i of the current row exists. */
static bool pg_has_cell(const struct pg_stmt *s, int i)
{
    return s->res && s->row >= 0 && s->row < PQntuples(s->res) && i >= 0 && i < PQnfields(s->res);
}

static bool pg_col_null(db_stmt *base, int i)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    return !pg_has_cell(s, i) || PQgetisnull(s->res, s->row, i);
}

static const char *pg_col_text(db_stmt *base, int i)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    if (pg_col_null(base, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

static size_t pg_col_len(db_stmt *base, int i)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    if (pg_col_null(base, i))
        return 0;
    return (size_t)PQgetlength(s->res, s->row, i);
}

static int64_t pg_col_int64(db_stmt *base, int i)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    int64_t v = 0;
    if (pg_col_null(base, i))
        return 0;
    if (str_to_int64(PQgetvalue(s->res, s->row, i), (size_t)PQgetlength(s->res, s->row, i),
                     INT64_MIN, INT64_MAX, &v))
        return 0;
    return v;
}

static double pg_col_double(db_stmt *base, int i)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    double v = 0;
    if (pg_col_null(base, i))
        return 0;
    if (str_to_double(PQgetvalue(s->res, s->row, i), (size_t)PQgetlength(s->res, s->row, i), &v))
        return 0;
    return v;
}

static void pg_finalize(db_stmt *base)
{
    struct pg_stmt *s = (struct pg_stmt *)base;
    PQclear(s->res);
    for (int i = 0; i < s->nparams; i++)
        free(s->params[i]);
    free(s->params);
    free(s->sql);
    free(s);
}

const struct db_ops db_pg_ops = {
    .name = "postgresql",
    .kind = DB_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .check = pg_check,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .param_count = pg_param_count,
    .changes = pg_changes,
    .col_count = pg_col_count,
    .col_null = pg_col_null,
    .col_text = pg_col_text,
    .col_len = pg_col_len,
    .col_int64 = pg_col_int64,
    .col_double = pg_col_double,
    .reset = pg_reset,
    .finalize = pg_finalize,
};

/* ---- the listener of events from other nodes (db_listen_start) ---- */

#define LISTEN_RETRY_MS 1000

struct db_listener {
    char *url;
    char node[65];
    pthread_t thread;
    bool started;
    int stop_fds[2]; /* a byte written to [1] wakes the thread to stop */
};

/* Connect and LISTEN; NULL when the database cannot be reached now. */
static PGconn *listen_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    PGresult *res = NULL;
    if (!c || PQstatus(c) != CONNECTION_OK)
        goto fail;
    PQsetNoticeProcessor(c, pg_notice_discard, NULL);
    res = PQexec(c, "LISTEN " DB_EVENTS_CHANNEL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto fail;
    PQclear(res);
    return c;
fail:
    PQclear(res);
    PQfinish(c);
    return NULL;
}

/* Wait up to ms for the connection's socket (fd -1: none) or the stop pipe;
 * true when asked to stop. */
static bool listen_wait(struct db_listener *l, int fd, int ms)
{
    struct pollfd p[2] = {{.fd = l->stop_fds[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    return n > 0 && (p[0].revents & POLLIN);
}

static void *listen_main(void *arg)
{
    struct db_listener *l = arg;
    PGconn *c = NULL;
    bool lost_logged = false;
    for (;;) {
        if (!c) {
            c = listen_connect(l->url);
            if (!c) {
                if (!lost_logged)
                    log_warn("events: cannot listen to the other nodes; trying every second");
                lost_logged = true;
                if (listen_wait(l, -1, LISTEN_RETRY_MS))
                    break;
                continue;
            }
            if (lost_logged)
                log_info("events: listening to the other nodes again");
            lost_logged = false;
        }
        if (listen_wait(l, PQsocket(c), LISTEN_RETRY_MS))
            break;
        if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
            log_warn("events: the connection listening to the other nodes was lost");
            lost_logged = true;
            PQfinish(c);
            c = NULL;
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(c)) != NULL) {
            if (n->extra)
                db_events_received(n->extra, strlen(n->extra), l->node, NULL);
            PQfreemem(n);
        }
    }
    PQfinish(c);
    return NULL;
}

err_t db_pg_listen_start(const char *url, const char *node, db_listener **out, errinfo *ei)
{
    struct db_listener *l = calloc(1, sizeof(*l));
    *out = NULL;
    if (!l)
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    l->stop_fds[0] = l->stop_fds[1] = -1;
    snprintf(l->node, sizeof(l->node), "%s", node ? node : "");
    l->url = strdup(url);
    if (!l->url || pipe2(l->stop_fds, O_CLOEXEC)) {
        db_pg_listen_stop(l);
        return err_set(ei, ERR_NOMEM, NULL, "cannot start the event listener");
    }
    l->started = pthread_create(&l->thread, NULL, listen_main, l) == 0;
    if (!l->started) {
        db_pg_listen_stop(l);
        return err_set(ei, ERR_SETUP, NULL, "cannot start the event listener thread");
    }
    *out = l;
    return ERR_OK;
}

void db_pg_listen_stop(db_listener *l)
{
    if (!l)
        return;
    if (l->started) {
        ssize_t w = write(l->stop_fds[1], "x", 1);
        (void)w;
        pthread_join(l->thread, NULL);
    }
    if (l->stop_fds[0] >= 0)
        close(l->stop_fds[0]);
    if (l->stop_fds[1] >= 0)
        close(l->stop_fds[1]);
    free(l->url);
    free(l);
}

/* ---- backup and restore with the PostgreSQL client programs ---- */

/* Run argv (found on PATH) and wait; its output goes where ours does. */
static err_t run_program(char *const argv[], errinfo *ei)
{
    pid_t pid = 0;
    int status = 0;
    int e = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (e)
        return err_set(ei, ERR_SETUP, NULL,
                       "cannot run %s: %s (is the PostgreSQL client installed?)", argv[0],
                       strerror(e));
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return err_set(ei, ERR_IO, NULL, "waiting for %s failed: %s", argv[0], strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return err_set(ei, ERR_IO, NULL, "%s failed (exit status %d; its message is above)",
                       argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return ERR_OK;
}

err_t db_pg_backup(const char *url, const char *part, errinfo *ei)
{
    char fopt[4300], dopt[4200];
    snprintf(fopt, sizeof(fopt), "--file=%s", part);
    snprintf(dopt, sizeof(dopt), "--dbname=%s", url);
    /* One snapshot of the whole database, in the custom format pg_restore reads. */
    char *argv[] = {"pg_dump", "--format=custom", "--no-owner", "--no-privileges", fopt, dopt,
                    NULL};
    return run_program(argv, ei);
}

err_t db_pg_restore(const char *url, const char *file, errinfo *ei)
{
    char dopt[4200], path[4200];
    snprintf(dopt, sizeof(dopt), "--dbname=%s", url);
    snprintf(path, sizeof(path), "%s", file);
    /* Everything it holds replaces what is there, in one transaction: a
     * failure leaves the database as it was. */
    char *argv[] = {
        "pg_restore",           "--clean",         "--if-exists", "--no-owner", "--no-privileges",
        "--single-transaction", "--exit-on-error", dopt,          path,         NULL};
    return run_program(argv, ei);
}
