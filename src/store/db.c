/*
 * db.c - backend choice by URL, dispatch, transactions, placeholders and the
 * connection pool (see db.h).
 */
#include "store/db.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/evbus.h"
#include "base/log.h"
#include "store/db_impl.h"

static const struct db_ops *backend_for(const char *url, const char **target)
{
    if (!url)
        return NULL;
    if (!strncmp(url, "sqlite:", 7)) {
        *target = url + 7;
        if (!strncmp(*target, "//", 2))
            *target += 2;
        return &db_sqlite_ops;
    }
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        *target = url;
        return &db_pg_ops;
    }
    return NULL;
}

bool db_url_valid(const char *url)
{
    const char *t;
    return backend_for(url, &t) != NULL && *t != '\0';
}

err_t db_open(const char *url, db **out, errinfo *ei)
{
    const char *target = NULL;
    const struct db_ops *ops = backend_for(url, &target);
    *out = NULL;
    if (!ops || !*target)
        return err_set(ei, ERR_USAGE, "db",
                       "database URL must be sqlite:PATH or postgresql://...; got '%.200s'",
                       url ? url : "");
    err_t rc = ops->open(target, out, ei);
    if (rc)
        return rc;
    (*out)->ops = ops;
    (*out)->depth = 0;
    (*out)->read_intent = false;
    (*out)->pending = NULL;
    (*out)->npending = (*out)->cap_pending = 0;
    return ERR_OK;
}

void db_close(db *d)
{
    if (!d)
        return;
    while (d->depth > 0)
        db_rollback(d);
    free(d->pending);
    d->ops->close(d);
}

db_backend db_kind(const db *d)
{
    return d->ops->kind;
}

const char *db_backend_name(const db *d)
{
    return d->ops->name;
}

err_t db_exec(db *d, const char *sql, errinfo *ei)
{
    return d->ops->exec(d, sql, ei);
}

err_t db_checkpoint(db *d, errinfo *ei)
{
    return d->ops->checkpoint ? d->ops->checkpoint(d, ei) : ERR_OK;
}

err_t db_autocheckpoint(db *d, int pages, errinfo *ei)
{
    return d->ops->autocheckpoint ? d->ops->autocheckpoint(d, pages, ei) : ERR_OK;
}

/* This process's node name while events are shared (db_share_events); set
 * at start-up, before the threads that publish, and only read after. */
static char share_node[65];

void db_share_events(const char *node)
{
    snprintf(share_node, sizeof(share_node), "%s", node ? node : "");
}

static bool sharing(const db *d)
{
    return share_node[0] && d->ops->kind == DB_POSTGRES;
}

static const char sql_notify[] = "SELECT pg_notify('" DB_EVENTS_CHANNEL "', ?)";

/* Send one payload: the node's line, then the lines gathered in b. */
static err_t notify_send(db *d, buf *b, errinfo *ei)
{
    err_t rc = b->len ? db_run(d, ei, NULL, sql_notify, "t", b->data) : ERR_OK;
    buf_reset(b);
    return rc;
}

/*
 * NOTIFY the events of the transaction about to commit, as few payloads as
 * fit (db.h). An event that holds a newline or would not fit alone is not
 * sent (the bus refuses such events too).
 */
static err_t notify_pending(db *d, errinfo *ei)
{
    buf b = BUF_INIT;
    err_t rc = ERR_OK;
    size_t head = strlen(share_node) + 1;
    for (size_t i = 0; i < d->npending && !rc; i++) {
        const struct db_pending *p = &d->pending[i];
        size_t line = strlen(p->kind) + 1 + p->len + 1;
        if (memchr(p->data, '\n', p->len) || head + line > DB_NOTIFY_MAX)
            continue;
        if (b.len && b.len + line > DB_NOTIFY_MAX)
            rc = notify_send(d, &b, ei);
        if (!rc && !b.len && buf_printf(&b, "%s\n", share_node))
            rc = ERR_NOMEM;
        if (!rc && buf_printf(&b, "%s %.*s\n", p->kind, (int)p->len, p->data))
            rc = ERR_NOMEM;
    }
    if (!rc)
        rc = notify_send(d, &b, ei);
    buf_free(&b);
    return rc;
}

void db_events_received(const char *payload, size_t len, const char *node, int *count)
{
    const char *end = payload + len, *nl = memchr(payload, '\n', len);
    size_t nlen = nl ? (size_t)(nl - payload) : len;
    evbus *bus = evbus_global();
    if (count)
        *count = 0;
    /* Its own events are on the bus already, published at its commit. */
    if (!nl || !bus || (nlen == strlen(node) && !memcmp(payload, node, nlen)))
        return;
    for (const char *p = nl + 1; p < end;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *sp = memchr(p, ' ', (size_t)((e ? e : end) - p));
        char kind[EVBUS_KIND_MAX + 1];
        if (!e)
            e = end;
        if (sp && (size_t)(sp - p) <= EVBUS_KIND_MAX) {
            memcpy(kind, p, (size_t)(sp - p));
            kind[sp - p] = '\0';
            if (!evbus_publish(bus, kind, sp + 1, (size_t)(e - sp - 1), NULL) && count)
                (*count)++;
        }
        p = e + 1;
    }
}

err_t db_listen_start(const char *url, db_listener **out, errinfo *ei)
{
    const char *target = NULL;
    *out = NULL;
    if (backend_for(url, &target) != &db_pg_ops)
        return ERR_OK;
    return db_pg_listen_start(url, share_node, out, ei);
}

void db_listen_stop(db_listener *l)
{
    db_pg_listen_stop(l);
}

err_t db_server_info(db *d, int *version, int64_t *clock_us, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *version = 0;
    *clock_us = 0;
    err_t rc = db_query(d, &st, ei,
                        d->ops->kind == DB_POSTGRES
                            ? "SELECT CAST(current_setting('server_version_num') AS BIGINT),"
                              " CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
                            : "SELECT CAST(sqlite_version() AS TEXT),"
                              " CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)",
                        "");
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        if (d->ops->kind == DB_POSTGRES) {
            *version = (int)db_col_int64(st, 0);
        } else {
            /* "3.40.1" as 3040001, as sqlite3_libversion_number() counts */
            const char *v = db_col_text(st, 0);
            int part[3] = {0, 0, 0}, k = 0;
            for (; v && *v && k < 3; v++) {
                if (*v == '.')
                    k++;
                else if (*v >= '0' && *v <= '9')
                    part[k] = part[k] * 10 + (*v - '0');
            }
            *version = part[0] * 1000000 + part[1] * 1000 + part[2];
        }
        *clock_us = db_col_int64(st, 1);
    }
    db_finalize(st);
    return rc;
}

/* ---- backups ---- */

typedef enum { FILE_MISSING, FILE_OTHER, FILE_SQLITE, FILE_PGDUMP } file_kind;

/* What file holds, by its first bytes. */
static file_kind kind_of(const char *file)
{
    static const char sqlite_magic[16] = "SQLite format 3";
    char head[16] = {0};
    FILE *f = fopen(file, "rb");
    if (!f)
        return FILE_MISSING;
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    if (n == sizeof(head) && !memcmp(head, sqlite_magic, sizeof(sqlite_magic)))
        return FILE_SQLITE;
    if (n >= 5 && !memcmp(head, "PGDMP", 5))
        return FILE_PGDUMP;
    return FILE_OTHER;
}

err_t db_backup(const char *url, const char *file, errinfo *ei)
{
    const char *target = NULL;
    const struct db_ops *ops = backend_for(url, &target);
    if (!ops || !*target)
        return err_set(ei, ERR_USAGE, "db", "not a database URL: '%.200s'", url ? url : "");
    if (!file || !*file)
        return err_set(ei, ERR_USAGE, "file", "name the backup file");
    if (kind_of(file) != FILE_MISSING)
        return err_set(ei, ERR_USAGE, "file", "%s exists already; a backup never overwrites", file);
    char part[4200];
    if ((size_t)snprintf(part, sizeof(part), "%s.part", file) >= sizeof(part))
        return err_set(ei, ERR_USAGE, "file", "the backup file's name is too long");
    unlink(part);
    err_t rc =
        ops == &db_sqlite_ops ? db_sqlite_backup(target, part, ei) : db_pg_backup(target, part, ei);
    if (!rc && rename(part, file))
        rc = err_set(ei, ERR_IO, "file", "cannot rename %s to %s", part, file);
    if (rc)
        unlink(part);
    return rc;
}

err_t db_restore_check(const char *url, const char *file, errinfo *ei)
{
    const char *target = NULL;
    const struct db_ops *ops = backend_for(url, &target);
    if (!ops || !*target)
        return err_set(ei, ERR_USAGE, "db", "not a database URL: '%.200s'", url ? url : "");
    file_kind k = kind_of(file ? file : "");
    if (k == FILE_MISSING)
        return err_set(ei, ERR_USAGE, "file", "cannot read %s", file ? file : "");
    if (k == FILE_OTHER)
        return err_set(ei, ERR_INVALID, "file", "%s is neither a SQLite backup nor a pg_dump file",
                       file);
    if ((k == FILE_SQLITE) != (ops == &db_sqlite_ops))
        return err_set(ei, ERR_INVALID, "file",
                       "%s is a %s backup; it restores into a %s database only", file,
                       k == FILE_SQLITE ? "SQLite" : "PostgreSQL",
                       k == FILE_SQLITE ? "sqlite:" : "postgresql:");
    return ERR_OK;
}

err_t db_restore(const char *url, const char *file, errinfo *ei)
{
    const char *target = NULL;
    const struct db_ops *ops = backend_for(url, &target);
    err_t rc = db_restore_check(url, file, ei);
    if (rc)
        return rc;
    return ops == &db_sqlite_ops ? db_sqlite_restore(target, file, ei)
                                 : db_pg_restore(target, file, ei);
}

/* The bus an event goes to; a full or missing bus loses the event, which
 * costs a live update and nothing stored. */
static void pending_send(const char *kind, const char *data, size_t len)
{
    evbus *b = evbus_global();
    if (!b || evbus_publish(b, kind, data, len, NULL))
        log_warn("event %s not published", kind);
}

/* After a commit lowered the depth: a released savepoint's events now belong
 * to the enclosing transaction; the outermost commit sends them all. */
static void pending_settle(db *d)
{
    if (d->depth > 0) {
        for (size_t i = 0; i < d->npending; i++)
            if (d->pending[i].depth > d->depth)
                d->pending[i].depth = d->depth;
        return;
    }
    for (size_t i = 0; i < d->npending; i++) {
        pending_send(d->pending[i].kind, d->pending[i].data, d->pending[i].len);
        free(d->pending[i].data);
    }
    d->npending = 0;
}

/* Before a rollback lowers the depth: the events of what is undone go. */
static void pending_drop(db *d)
{
    size_t keep = 0;
    for (size_t i = 0; i < d->npending; i++) {
        if (d->pending[i].depth >= d->depth)
            free(d->pending[i].data);
        else
            d->pending[keep++] = d->pending[i];
    }
    d->npending = keep;
}

err_t db_publish(db *d, const char *kind, const char *data, size_t len, errinfo *ei)
{
    struct db_pending *p;
    if (!kind || strlen(kind) > EVBUS_KIND_MAX || !data || len > EVBUS_DATA_MAX)
        return err_set(ei, ERR_INVALID, NULL, "event %.40s is malformed or too large",
                       kind ? kind : "");
    if (d->depth == 0) {
        pending_send(kind, data, len);
        if (sharing(d)) {
            /* No transaction: the event happened already; tell the others now. */
            struct db_pending one = {.depth = 0, .data = (char *)data, .len = len};
            struct db_pending *keep = d->pending;
            size_t n = d->npending;
            snprintf(one.kind, sizeof(one.kind), "%s", kind);
            d->pending = &one;
            d->npending = 1;
            err_t rc = notify_pending(d, ei);
            d->pending = keep;
            d->npending = n;
            return rc;
        }
        return ERR_OK;
    }
    if (d->npending == d->cap_pending) {
        size_t cap = d->cap_pending ? d->cap_pending * 2 : 16;
        p = realloc(d->pending, cap * sizeof(*p));
        if (!p)
            return ERR_NOMEM;
        d->pending = p;
        d->cap_pending = cap;
    }
    p = &d->pending[d->npending];
    p->data = malloc(len + 1);
    if (!p->data)
        return ERR_NOMEM;
    memcpy(p->data, data, len);
    p->data[len] = '\0';
    p->len = len;
    p->depth = d->depth;
    snprintf(p->kind, sizeof(p->kind), "%s", kind);
    d->npending++;
    return ERR_OK;
}

err_t db_begin(db *d, errinfo *ei)
{
    char sql[40];
    if (d->depth > 0)
        snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", d->depth);
    err_t rc = d->ops->exec(d,
                            d->depth > 0                                   ? sql
                            : d->ops->kind == DB_SQLITE && !d->read_intent ? "BEGIN IMMEDIATE"
                                                                           : "BEGIN",
                            ei);
    if (!rc)
        d->depth++;
    return rc;
}

err_t db_commit(db *d, errinfo *ei)
{
    char sql[40];
    if (d->depth == 0)
        return err_set(ei, ERR_INTERNAL, NULL, "no transaction is open");
    if (d->depth > 1)
        snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT sp%d", d->depth - 1);
    /* NOTIFY inside the transaction: the others hear of it only if it commits. */
    err_t rc = d->depth == 1 && d->npending && sharing(d) ? notify_pending(d, ei) : ERR_OK;
    if (!rc)
        rc = d->ops->exec(d, d->depth > 1 ? sql : "COMMIT", ei);
    if (rc) {
        db_rollback(d);
        return rc;
    }
    d->depth--;
    pending_settle(d);
    return ERR_OK;
}

void db_rollback(db *d)
{
    char sql[80];
    if (d->depth == 0)
        return;
    if (d->depth > 1) {
        /* Undo the savepoint's work and drop it; the enclosing transaction goes on. */
        snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT sp%d; RELEASE SAVEPOINT sp%d",
                 d->depth - 1, d->depth - 1);
        d->ops->exec(d, sql, NULL);
    } else {
        d->ops->exec(d, "ROLLBACK", NULL);
    }
    pending_drop(d);
    d->depth--;
}

void db_set_read_intent(db *d, bool on)
{
    d->read_intent = on;
}

bool db_read_intent(const db *d)
{
    return d->read_intent;
}

bool db_in_transaction(const db *d)
{
    return d->depth > 0;
}

int db_transaction_depth(const db *d)
{
    return d->depth;
}

err_t db_prepare(db *d, const char *sql, db_stmt **out, errinfo *ei)
{
    *out = NULL;
    err_t rc = d->ops->prepare(d, sql, out, ei);
    if (!rc)
        (*out)->owner = d;
    return rc;
}

err_t db_bind_text(db_stmt *s, int i, const char *v, size_t n)
{
    return s->owner->ops->bind_text(s, i, v, n);
}

err_t db_bind_str(db_stmt *s, int i, const char *v)
{
    return v ? db_bind_text(s, i, v, strlen(v)) : db_bind_null(s, i);
}

err_t db_bind_int64(db_stmt *s, int i, int64_t v)
{
    return s->owner->ops->bind_int64(s, i, v);
}

err_t db_bind_null(db_stmt *s, int i)
{
    return s->owner->ops->bind_null(s, i);
}

err_t db_bind_double(db_stmt *s, int i, double v)
{
    if (!isfinite(v))
        return ERR_INVALID;
    return s->owner->ops->bind_double(s, i, v);
}

double db_col_double(db_stmt *s, int i)
{
    return s->owner->ops->col_double(s, i);
}

err_t db_step(db_stmt *s, bool *row, errinfo *ei)
{
    return s->owner->ops->step(s, row, ei);
}

int db_param_count(db_stmt *s)
{
    return s->owner->ops->param_count(s);
}

int64_t db_changes(db_stmt *s)
{
    return s->owner->ops->changes(s);
}

int db_col_count(db_stmt *s)
{
    return s->owner->ops->col_count(s);
}

bool db_col_null(db_stmt *s, int i)
{
    return s->owner->ops->col_null(s, i);
}

const char *db_col_text(db_stmt *s, int i)
{
    return s->owner->ops->col_text(s, i);
}

size_t db_col_len(db_stmt *s, int i)
{
    return s->owner->ops->col_len(s, i);
}

int64_t db_col_int64(db_stmt *s, int i)
{
    return s->owner->ops->col_int64(s, i);
}

void db_reset(db_stmt *s)
{
    s->owner->ops->reset(s);
}

void db_finalize(db_stmt *s)
{
    if (s)
        s->owner->ops->finalize(s);
}

/* Prepare and bind from a type string; the shared part of db_query and db_run. */
static err_t prepare_bound(db *d, db_stmt **out, errinfo *ei, const char *sql, const char *types,
                           va_list ap)
{
    db_stmt *st = NULL;
    err_t rc = db_prepare(d, sql, &st, ei);
    *out = NULL;
    if (rc)
        return rc;
    /* A type string that does not match the placeholders is a programming
     * error that would read the wrong arguments: refuse before binding. */
    if ((int)(types ? strlen(types) : 0) != db_param_count(st)) {
        rc = err_set(ei, ERR_INTERNAL, NULL, "db: %d placeholder(s) but types \"%s\"",
                     db_param_count(st), types ? types : "");
        db_finalize(st);
        return rc;
    }
    for (int i = 0; !rc && types && types[i]; i++) {
        switch (types[i]) {
        case 't':
            rc = db_bind_str(st, i + 1, va_arg(ap, const char *));
            break;
        case 'i':
            rc = db_bind_int64(st, i + 1, va_arg(ap, int64_t));
            break;
        case 'n':
            rc = db_bind_null(st, i + 1);
            break;
        case 'd':
            rc = db_bind_double(st, i + 1, va_arg(ap, double));
            break;
        default:
            rc = err_set(ei, ERR_INTERNAL, NULL, "db: unknown type '%c'", types[i]);
        }
    }
    if (rc) {
        db_finalize(st);
        return rc;
    }
    *out = st;
    return ERR_OK;
}

err_t db_query(db *d, db_stmt **out, errinfo *ei, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    err_t rc = prepare_bound(d, out, ei, sql, types, ap);
    va_end(ap);
    return rc;
}

err_t db_run(db *d, errinfo *ei, int64_t *changes, const char *sql, const char *types, ...)
{
    db_stmt *st = NULL;
    bool row = false;
    va_list ap;
    va_start(ap, types);
    err_t rc = prepare_bound(d, &st, ei, sql, types, ap);
    va_end(ap);
    if (rc)
        return rc;
    do {
        rc = db_step(st, &row, ei);
    } while (!rc && row);
    if (!rc && changes)
        *changes = db_changes(st);
    db_finalize(st);
    return rc;
}

char *db_rewrite_placeholders(const char *sql, int *nparams)
{
    size_t n = strlen(sql);
    /* Each '?' (1 byte) becomes at most "$" plus 5 digits. */
    char *out = malloc(n * 6 + 1);
    size_t o = 0;
    int count = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = sql[i];
        if (c == '\'' || c == '"') {
            /* literal or quoted identifier; a doubled quote stays inside */
            out[o++] = c;
            for (i++; i < n; i++) {
                out[o++] = sql[i];
                if (sql[i] == c) {
                    if (i + 1 < n && sql[i + 1] == c)
                        out[o++] = sql[++i];
                    else
                        break;
                }
            }
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            for (; i < n && sql[i] != '\n'; i++)
                out[o++] = sql[i];
            if (i < n)
                out[o++] = sql[i];
        } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
            out[o++] = sql[i++];
            out[o++] = sql[i++];
            for (; i < n && !(sql[i] == '*' && i + 1 < n && sql[i + 1] == '/'); i++)
                out[o++] = sql[i];
            if (i < n) {
                out[o++] = sql[i++];
                out[o++] = sql[i];
            }
        } else if (c == '?') {
            count++;
            o += (size_t)snprintf(out + o, 7, "$%d", count);
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    if (nparams)
        *nparams = count;
    return out;
}

/* The pool: a fixed array of connections, a free list and a condition. */
struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char *url;
    int size, nfree;
    db **all;
    db **free_list;
};

void db_pool_close(db_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++)
        db_close(p->all[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->all);
    free(p->free_list);
    free(p->url);
    free(p);
}

err_t db_pool_open(const char *url, int size, db_pool **out, errinfo *ei)
{
    err_t rc = ERR_NOMEM;
    db_pool *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (!p)
        return ERR_NOMEM;
    if (size < 1)
        size = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->url = strdup(url);
    p->all = calloc((size_t)size, sizeof(db *));
    p->free_list = calloc((size_t)size, sizeof(db *));
    if (!p->url || !p->all || !p->free_list)
        goto fail;
    for (int i = 0; i < size; i++) {
        rc = db_open(url, &p->all[i], ei);
        if (rc)
            goto fail;
        p->size++;
        p->free_list[p->nfree++] = p->all[i];
    }
    *out = p;
    return ERR_OK;
fail:
    db_pool_close(p);
    return rc;
}

db *db_pool_acquire(db_pool *p, int timeout_ms, errinfo *ei)
{
    struct timespec until;
    db *d = NULL;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0) {
        if (pthread_cond_timedwait(&p->freed, &p->lock, &until)) {
            pthread_mutex_unlock(&p->lock);
            err_set(ei, ERR_DB_BUSY, NULL, "no database connection free within %d ms", timeout_ms);
            return NULL;
        }
    }
    d = p->free_list[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    if (d->ops->check(d, ei)) {
        db_pool_release(p, d);
        return NULL;
    }
    return d;
}

void db_pool_release(db_pool *p, db *d)
{
    if (!d)
        return;
    while (d->depth > 0)
        db_rollback(d);
    d->read_intent = false;
    pthread_mutex_lock(&p->lock);
    p->free_list[p->nfree++] = d;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

const char *db_pool_url(const db_pool *p)
{
    return p->url;
}

err_t db_scalar(db *d, const char *sql, const char *arg, int64_t *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = arg ? db_query(d, &st, ei, sql, "t", arg) : db_query(d, &st, ei, sql, "");
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no row for %.200s", sql);
    *out = rc ? 0 : db_col_int64(st, 0);
    db_finalize(st);
    return rc;
}

err_t db_query_by_id(db *d, db_stmt **st, const char *sql, const char *id, const char *what,
                     errinfo *ei)
{
    bool row = false;
    err_t rc = db_query(d, st, ei, sql, "t", id);
    if (!rc)
        rc = db_step(*st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "id", "no %s has id %.30s", what, id);
    return rc;
}

static const char null_or[] = "(CAST(? AS TEXT) IS NULL OR ";
static const char given_and[] = "(CAST(? AS TEXT) IS NOT NULL AND ";
static const char null_only[] = "(CAST(? AS TEXT) IS NULL";
static const char and_null[] = " AND CAST(? AS TEXT) IS NULL";

/* The length of the SQL literal that opens at p, its quotes included. */
static size_t literal_len(const char *p)
{
    const char *end = strchr(p + 1, '\'');
    return end ? (size_t)(end - p) + 1 : strlen(p);
}

/* The length of the parenthesised clause that opens at p, to its ")"
 * included, and in *marks its placeholders; 0 when it does not close. */
static size_t clause_len(const char *p, int *marks)
{
    int depth = 0;
    *marks = 0;
    for (const char *c = p; *c; c++) {
        if (*c == '\'') {
            c += literal_len(c) - 1; /* a literal's '?' and parentheses are text */
        } else if (*c == '?') {
            (*marks)++;
        } else if (*c == '(') {
            depth++;
        } else if (*c == ')' && --depth == 0) {
            return (size_t)(c - p) + 1;
        }
    }
    return 0;
}

char *db_sql_given(const char *sql, const bool *is_null, int max)
{
    buf b = BUF_INIT;
    err_t rc = ERR_OK;
    int k = 0; /* placeholders written so far */
    for (const char *p = sql; *p && !rc;) {
        size_t m = 1;
        int marks = 0;
        if (*p == '\'') {
            m = literal_len(p);
            rc = buf_append(&b, p, m);
        } else if (!strncmp(p, null_or, sizeof(null_or) - 1)) {
            size_t n = clause_len(p, &marks);
            bool all_null = n > 0 && k + marks <= max;
            for (int j = 1; all_null && j <= marks; j++)
                all_null = is_null[k + j];
            if (all_null) {
                rc = buf_puts(&b, null_only);
                for (int j = 1; !rc && j < marks; j++)
                    rc = buf_puts(&b, and_null);
                if (!rc)
                    rc = buf_puts(&b, ")");
                k += marks;
                m = n;
            } else {
                k++;
                rc = buf_puts(&b, k <= max && !is_null[k] ? given_and : null_or);
                m = sizeof(null_or) - 1;
            }
        } else {
            if (*p == '?')
                k++;
            rc = buf_append(&b, p, 1);
        }
        p += m;
    }
    char *out = rc ? NULL : buf_take(&b);
    buf_free(&b);
    return out;
}

/* The texts db_sql_given_kept() has made: one per statement and
 * placeholders bound NULL, kept until the process ends. */
#define SQL_GIVEN_KEPT_MAX 512
static struct {
    const char *sql;
    uint64_t nulls; /* bit k-1: placeholder k NULL */
    char *text;
} given_texts[SQL_GIVEN_KEPT_MAX];
static size_t given_ntexts;
static pthread_mutex_t given_lock = PTHREAD_MUTEX_INITIALIZER;

const char *db_sql_given_kept(const char *sql, const bool *is_null, int max, char **owned)
{
    uint64_t nulls = 0;
    const char *text = NULL;
    *owned = NULL;
    if (max > 64)
        max = 64;
    for (int k = 1; k <= max; k++)
        if (is_null[k])
            nulls |= 1ULL << (k - 1);
    pthread_mutex_lock(&given_lock);
    for (size_t i = 0; i < given_ntexts && !text; i++)
        if (given_texts[i].sql == sql && given_texts[i].nulls == nulls)
            text = given_texts[i].text;
    if (!text) {
        char *made = db_sql_given(sql, is_null, max);
        if (made && given_ntexts < SQL_GIVEN_KEPT_MAX) {
            given_texts[given_ntexts].sql = sql;
            given_texts[given_ntexts].nulls = nulls;
            given_texts[given_ntexts++].text = made;
        } else {
            *owned = made;
        }
        text = made;
    }
    pthread_mutex_unlock(&given_lock);
    return text;
}
