/*
 * sqlite.c - the embedded SQLite backend of db.h.
 *
 * The database file is opened in WAL mode with synchronous=FULL (a committed
 * transaction survives a crash of the machine, not only of the process),
 * foreign keys on, and a busy timeout (default 5000 ms, `?busy_timeout=MS` in
 * the URL) after which a locked database answers ERR_DB_BUSY.
 *
 * Each connection keeps its prepared statements (up to STMT_CACHE_MAX, the
 * least recently used dropped first), found again by their SQL text: a
 * statement that db_finalize() releases is reset, its bindings cleared, and
 * kept for the next db_prepare() of the same text, so that a statement the
 * program runs again and again (the same `static const char` SQL) is parsed
 * once per connection rather than every time. A text prepared again while
 * its kept statement is still in use gets a statement of its own. (See
 * sql_hash: the text's address finds it, the text decides.)
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/str.h"
#include "store/db_impl.h"

#define STMT_CACHE_MAX     256
#define STMT_JOURNAL_SPILL (-1) /* never to a file: see config_library() */
#define STMT_CACHE_BUCKETS 512  /* a power of two */

struct sqlite_stmt {
    struct db_stmt base;
    sqlite3_stmt *h;
    int64_t changes;
    /* kept statements only */
    bool cached, in_use;
    uint64_t hash;
    uint64_t used;            /* the connection's tick at its last prepare */
    struct sqlite_stmt *next; /* in its bucket */
};

struct sqlite_db {
    struct db base;
    sqlite3 *h;
    struct sqlite_stmt *buckets[STMT_CACHE_BUCKETS];
    int ncached;
    uint64_t tick;
};

static err_t map_error(sqlite3 *h, int rc, errinfo *ei)
{
    err_t code;
    int primary = rc & 0xff;
    switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = ERR_DB_BUSY;
        break;
    case SQLITE_NOMEM:
        code = ERR_NOMEM;
        break;
    case SQLITE_CONSTRAINT:
        code = (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) ? ERR_CONFLICT
                                                                                      : ERR_DB;
        break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_READONLY:
        code = ERR_DB_UNAVAILABLE;
        break;
    default:
        code = ERR_DB;
    }
    return err_set(ei, code, NULL, "sqlite: %s", h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
}

static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/*
 * Before the library starts, settings for writers that nest savepoints
 * (the ingest writer: a savepoint per message, another per specimen).
 *
 * The undo record of a savepoint or a statement (the statement journal, a
 * copy of each page as it was before the savepoint first changed it) stays
 * in memory: SQLite's default, 64 KiB, sends it to a temporary file after a
 * few pages, one write call a page, and any larger threshold fails on
 * Debian's SQLite 3.40.1 once the record passes it ("database or disk is
 * full" when a statement of a migration rewrote a year's table). It is
 * never read again unless the savepoint is rolled back, and never needs to
 * be durable: the database's own journal (the WAL) is untouched by this.
 * The price is memory for a statement that changes a great many existing
 * pages at once (some 400 MB to drop a table of three million rows), which
 * only a migration on a large database does.
 *
 * No bulk page-cache allocation per cache. SQLite otherwise allocates room
 * for 20 pages (some 86 KB) whenever a cache is first used, and that
 * includes the ephemeral table behind each IN (...) CHECK constraint and each
 * RETURNING clause, on every run of such a statement: a large malloc and free
 * each time, at the top of the thread's heap, which glibc then hands back to
 * the kernel and faults in again page by page. Pages are allocated one at a
 * time instead.
 *
 * No memory statistics (nothing here reads them): SQLite would otherwise take
 * a process-wide mutex at every allocation and free to keep them.
 *
 * sqlite3_config() fails harmlessly when the library has started already.
 */
static void config_library(void)
{
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STMT_JOURNAL_SPILL);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static err_t sq_open(const char *target, db **out, errinfo *ei)
{
    char path[4096];
    int64_t busy_ms = 5000;
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    struct sqlite_db *d = NULL;
    err_t rc;
    if (plen == 0 || plen >= sizeof(path))
        return err_set(ei, ERR_USAGE, "db", "sqlite: the database path is empty or too long");
    memcpy(path, target, plen);
    path[plen] = '\0';
    if (q) {
        const char *opt = q + 1;
        if (strncmp(opt, "busy_timeout=", 13) ||
            str_to_int64(opt + 13, strlen(opt + 13), 0, 600000, &busy_ms))
            return err_set(ei, ERR_USAGE, "db",
                           "sqlite: the only URL option is busy_timeout=MS (0 to 600000)");
    }
    pthread_once(&config_once, config_library);
    d = calloc(1, sizeof(*d));
    if (!d)
        return ERR_NOMEM;
    int src = sqlite3_open_v2(
        path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = map_error(d->h, src, ei);
        goto fail;
    }
    sqlite3_extended_result_codes(d->h, 1);
    sqlite3_busy_timeout(d->h, (int)busy_ms);
    /* A page cache of 16 MiB a connection (SQLite's default is 2 MiB): a
     * year's indexes are large, and the pages a bench reads again and again
     * (the open work, the day's results) stay in it rather than being read
     * from the file each time. */
    src = sqlite3_exec(d->h,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                       " PRAGMA cache_size=-16384;",
                       NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = map_error(d->h, src, ei);
        goto fail;
    }
    *out = &d->base;
    return ERR_OK;
fail:
    sqlite3_close_v2(d->h);
    free(d);
    return rc;
}

static void sq_close(db *base)
{
    struct sqlite_db *d = (struct sqlite_db *)base;
    for (size_t b = 0; b < STMT_CACHE_BUCKETS; b++) {
        struct sqlite_stmt *s = d->buckets[b];
        while (s) {
            struct sqlite_stmt *next = s->next;
            if (s->in_use) {
                s->cached = false; /* its db_finalize() frees it */
            } else {
                sqlite3_finalize(s->h);
                free(s);
            }
            s = next;
        }
    }
    sqlite3_close_v2(d->h); /* kept open until those are finalized */
    free(d);
}

/*
 * Where a statement is kept: by the address of its SQL text, which for the
 * program's `static const char` statements is the same at every call, so
 * that the text need not be read to find it. The text itself is compared
 * before a kept statement is used, so a buffer that holds different SQL at
 * different times (text built at run time) finds only its own statements.
 */
static uint64_t sql_hash(const char *sql)
{
    uint64_t h = (uint64_t)(uintptr_t)sql;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

/* A kept statement for sql that is not in use, or NULL. */
static struct sqlite_stmt *cache_find(struct sqlite_db *d, const char *sql, uint64_t hash)
{
    for (struct sqlite_stmt *s = d->buckets[hash & (STMT_CACHE_BUCKETS - 1)]; s; s = s->next)
        if (s->hash == hash && !s->in_use && !strcmp(sqlite3_sql(s->h), sql))
            return s;
    return NULL;
}

static void cache_unlink(struct sqlite_db *d, struct sqlite_stmt *s)
{
    for (struct sqlite_stmt **p = &d->buckets[s->hash & (STMT_CACHE_BUCKETS - 1)]; *p;
         p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            d->ncached--;
            return;
        }
}

/* Make room for one more kept statement: drop the least recently used one
 * not in use. False when every kept statement is in use. */
static bool cache_make_room(struct sqlite_db *d)
{
    struct sqlite_stmt *oldest = NULL;
    if (d->ncached < STMT_CACHE_MAX)
        return true;
    for (size_t b = 0; b < STMT_CACHE_BUCKETS; b++)
        for (struct sqlite_stmt *s = d->buckets[b]; s; s = s->next)
            if (!s->in_use && (!oldest || s->used < oldest->used))
                oldest = s;
    if (!oldest)
        return false;
    cache_unlink(d, oldest);
    sqlite3_finalize(oldest->h);
    free(oldest);
    return true;
}

/* A statement for sql: a kept one when there is one free, else a new one
 * (kept when there is room). */
static err_t stmt_get(struct sqlite_db *d, const char *sql, struct sqlite_stmt **out, errinfo *ei)
{
    uint64_t hash = sql_hash(sql);
    struct sqlite_stmt *s = cache_find(d, sql, hash);
    if (s) {
        s->in_use = true;
        s->used = ++d->tick;
        *out = s;
        return ERR_OK;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return ERR_NOMEM;
    bool keep = cache_make_room(d);
    int src = sqlite3_prepare_v3(d->h, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, &s->h, NULL);
    if (src != SQLITE_OK) {
        free(s);
        return map_error(d->h, src, ei);
    }
    if (keep && s->h) {
        size_t b = hash & (STMT_CACHE_BUCKETS - 1);
        s->cached = true;
        s->in_use = true;
        s->hash = hash;
        s->used = ++d->tick;
        s->next = d->buckets[b];
        d->buckets[b] = s;
        d->ncached++;
    }
    *out = s;
    return ERR_OK;
}

/* Give a statement back: a kept one is reset for its next use, another finalized. */
static void stmt_put(struct sqlite_stmt *s)
{
    if (s->cached) {
        sqlite3_reset(s->h);
        sqlite3_clear_bindings(s->h);
        s->changes = 0;
        s->in_use = false;
        return;
    }
    sqlite3_finalize(s->h);
    free(s);
}

static err_t sq_exec(db *base, const char *sql, errinfo *ei)
{
    struct sqlite_db *d = (struct sqlite_db *)base;
    /* One statement (BEGIN, SAVEPOINT spN, RELEASE...): through the kept ones. */
    if (!strchr(sql, ';')) {
        struct sqlite_stmt *s = NULL;
        err_t rc = stmt_get(d, sql, &s, ei);
        if (rc)
            return rc;
        int src = s->h ? sqlite3_step(s->h) : SQLITE_DONE;
        while (src == SQLITE_ROW)
            src = sqlite3_step(s->h);
        if (src != SQLITE_DONE)
            rc = map_error(d->h, sqlite3_extended_errcode(d->h), ei);
        stmt_put(s);
        return rc;
    }
    int src = sqlite3_exec(d->h, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? ERR_OK : map_error(d->h, src, ei);
}

static err_t sq_check(db *base, errinfo *ei)
{
    (void)base;
    (void)ei;
    return ERR_OK;
}

static err_t sq_checkpoint(db *base, errinfo *ei)
{
    struct sqlite_db *d = (struct sqlite_db *)base;
    int src = sqlite3_wal_checkpoint_v2(d->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    /* Busy: another checkpoint is under way, which does the same work. */
    if (src == SQLITE_OK || src == SQLITE_BUSY)
        return ERR_OK;
    return map_error(d->h, src, ei);
}

static err_t sq_autocheckpoint(db *base, int pages, errinfo *ei)
{
    struct sqlite_db *d = (struct sqlite_db *)base;
    int src = sqlite3_wal_autocheckpoint(d->h, pages < 0 ? 0 : pages);
    return src == SQLITE_OK ? ERR_OK : map_error(d->h, src, ei);
}

static err_t sq_prepare(db *base, const char *sql, db_stmt **out, errinfo *ei)
{
    struct sqlite_db *d = (struct sqlite_db *)base;
    struct sqlite_stmt *s = NULL;
    err_t rc = stmt_get(d, sql, &s, ei);
    if (rc)
        return rc;
    *out = &s->base;
    return ERR_OK;
}

static err_t bind_result(int src)
{
    if (src == SQLITE_OK)
        return ERR_OK;
    return src == SQLITE_NOMEM ? ERR_NOMEM : (src == SQLITE_RANGE ? ERR_INTERNAL : ERR_DB);
}

static err_t sq_bind_text(db_stmt *base, int i, const char *v, size_t n)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    return bind_result(sqlite3_bind_text64(s->h, i, v, n, SQLITE_TRANSIENT, SQLITE_UTF8));
}

static err_t sq_bind_int64(db_stmt *base, int i, int64_t v)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    return bind_result(sqlite3_bind_int64(s->h, i, v));
}

static err_t sq_bind_double(db_stmt *base, int i, double v)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    return bind_result(sqlite3_bind_double(s->h, i, v));
}

static double sq_col_double(db_stmt *base, int i)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    int t = sqlite3_column_type(s->h, i);
    if (t == SQLITE_FLOAT || t == SQLITE_INTEGER)
        return sqlite3_column_double(s->h, i);
    if (t == SQLITE_TEXT) {
        double v = 0;
        const char *p = (const char *)sqlite3_column_text(s->h, i);
        if (p && !str_to_double(p, strlen(p), &v))
            return v;
    }
    return 0;
}

static err_t sq_bind_null(db_stmt *base, int i)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    return bind_result(sqlite3_bind_null(s->h, i));
}

static err_t sq_step(db_stmt *base, bool *row, errinfo *ei)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    sqlite3 *h = sqlite3_db_handle(s->h);
    *row = false;
#ifndef NDEBUG
    /* A write inside a read-intent transaction (db.h, db_set_read_intent). */
    const db *owner = s->base.owner;
    if (owner->read_intent && owner->depth > 0 && !sqlite3_stmt_readonly(s->h)) {
        log_error("sqlite: a statement that writes ran inside a read-intent transaction: %.200s",
                  sqlite3_sql(s->h));
        return err_set(ei, ERR_INTERNAL, NULL,
                       "sqlite: a write inside a read-intent transaction: %.200s",
                       sqlite3_sql(s->h));
    }
#endif
    int src = sqlite3_step(s->h);
    if (src == SQLITE_ROW) {
        *row = true;
        return ERR_OK;
    }
    if (src == SQLITE_DONE) {
        s->changes = sqlite3_changes64(h);
        return ERR_OK;
    }
    err_t rc = map_error(h, sqlite3_extended_errcode(h), ei);
    sqlite3_reset(s->h);
    return rc;
}

static int sq_param_count(db_stmt *base)
{
    return sqlite3_bind_parameter_count(((struct sqlite_stmt *)base)->h);
}

static int64_t sq_changes(db_stmt *base)
{
    return ((struct sqlite_stmt *)base)->changes;
}

static int sq_col_count(db_stmt *base)
{
    return sqlite3_column_count(((struct sqlite_stmt *)base)->h);
}

static bool sq_col_null(db_stmt *base, int i)
{
    return sqlite3_column_type(((struct sqlite_stmt *)base)->h, i) == SQLITE_NULL;
}

static const char *sq_col_text(db_stmt *base, int i)
{
    return (const char *)sqlite3_column_text(((struct sqlite_stmt *)base)->h, i);
}

static size_t sq_col_len(db_stmt *base, int i)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    sqlite3_column_text(s->h, i); /* convert first, so that bytes counts the text */
    return (size_t)sqlite3_column_bytes(s->h, i);
}

static int64_t sq_col_int64(db_stmt *base, int i)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    int t = sqlite3_column_type(s->h, i);
    if (t == SQLITE_INTEGER)
        return sqlite3_column_int64(s->h, i);
    if (t == SQLITE_TEXT) {
        int64_t v = 0;
        const char *p = (const char *)sqlite3_column_text(s->h, i);
        if (p && !str_to_int64(p, strlen(p), INT64_MIN, INT64_MAX, &v))
            return v;
    }
    return 0;
}

static void sq_reset(db_stmt *base)
{
    struct sqlite_stmt *s = (struct sqlite_stmt *)base;
    sqlite3_reset(s->h);
    s->changes = 0;
}

static void sq_finalize(db_stmt *base)
{
    stmt_put((struct sqlite_stmt *)base);
}

const struct db_ops db_sqlite_ops = {
    .name = "sqlite",
    .kind = DB_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .check = sq_check,
    .checkpoint = sq_checkpoint,
    .autocheckpoint = sq_autocheckpoint,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_null = sq_bind_null,
    .bind_double = sq_bind_double,
    .step = sq_step,
    .param_count = sq_param_count,
    .changes = sq_changes,
    .col_count = sq_col_count,
    .col_null = sq_col_null,
    .col_text = sq_col_text,
    .col_len = sq_col_len,
    .col_int64 = sq_col_int64,
    .col_double = sq_col_double,
    .reset = sq_reset,
    .finalize = sq_finalize,
};

/* ---- backup and restore (db_backup, db_restore) ---- */

/* The file path of a sqlite: target (without ?options) into path. */
static err_t target_path(const char *target, char *path, size_t n, errinfo *ei)
{
    size_t plen = strcspn(target, "?");
    if (plen == 0 || plen >= n)
        return err_set(ei, ERR_USAGE, "db", "sqlite: the database path is empty or too long");
    memcpy(path, target, plen);
    path[plen] = '\0';
    return ERR_OK;
}

/* Copy every page of from into to in one step (each side's main database). */
static err_t copy_pages(sqlite3 *to, sqlite3 *from, sqlite3 *err_of, errinfo *ei)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return map_error(to, sqlite3_errcode(to), ei);
    int src = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (src != SQLITE_DONE)
        return map_error(err_of, src, ei);
    return ERR_OK;
}

/* Whether h is a benchside database: it has the migrations' table. */
static err_t check_benchside(sqlite3 *h, const char *what, errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(h,
                                 "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                                 " AND name IN ('schema_migrations', 'audit_event')",
                                 -1, &st, NULL);
    bool ok = src == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2;
    sqlite3_finalize(st);
    if (src != SQLITE_OK)
        return err_set(ei, ERR_INVALID, "file", "%s is not a SQLite database", what);
    if (!ok)
        return err_set(ei, ERR_INVALID, "file", "%s is not a benchside database", what);
    return ERR_OK;
}

err_t db_sqlite_backup(const char *target, const char *part, errinfo *ei)
{
    char path[4096];
    sqlite3 *from = NULL, *to = NULL;
    err_t rc = target_path(target, path, sizeof(path), ei);
    if (rc)
        return rc;
    /* Read only, and only an existing file: a wrong path must not make one. */
    int src = sqlite3_open_v2(path, &from, SQLITE_OPEN_READONLY, NULL);
    if (src == SQLITE_OK)
        sqlite3_busy_timeout(from, 10000);
    else
        rc = err_set(ei, ERR_DB_UNAVAILABLE, "db", "cannot open %s: %s", path, sqlite3_errstr(src));
    if (!rc)
        rc = check_benchside(from, path, ei);
    if (!rc && sqlite3_open_v2(part, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL))
        rc = err_set(ei, ERR_IO, "file", "cannot create %s: %s", part, sqlite3_errmsg(to));
    /*
     * One step copies every page under one read transaction: a consistent
     * copy as of its start, while writers go on (WAL mode lets them).
     */
    if (!rc)
        rc = copy_pages(to, from, from, ei);
    /* One file on its own: no write-ahead log beside it. */
    if (!rc && sqlite3_exec(to, "PRAGMA journal_mode=DELETE; PRAGMA quick_check;", NULL, NULL,
                            NULL) != SQLITE_OK)
        rc = map_error(to, sqlite3_errcode(to), ei);
    if (to && sqlite3_close(to) != SQLITE_OK && !rc)
        rc = err_set(ei, ERR_IO, "file", "cannot close %s", part);
    sqlite3_close(from);
    return rc;
}

err_t db_sqlite_restore(const char *target, const char *file, errinfo *ei)
{
    char path[4096];
    sqlite3 *from = NULL, *to = NULL;
    err_t rc = target_path(target, path, sizeof(path), ei);
    if (rc)
        return rc;
    int src = sqlite3_open_v2(file, &from, SQLITE_OPEN_READONLY, NULL);
    if (src != SQLITE_OK)
        rc = err_set(ei, ERR_IO, "file", "cannot open %s: %s", file, sqlite3_errstr(src));
    if (!rc)
        rc = check_benchside(from, file, ei);
    if (!rc && sqlite3_exec(from, "PRAGMA quick_check", NULL, NULL, NULL) != SQLITE_OK)
        rc = err_set(ei, ERR_INVALID, "file", "%s does not pass SQLite's check", file);
    if (!rc && sqlite3_open_v2(path, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL))
        rc = err_set(ei, ERR_DB_UNAVAILABLE, "db", "cannot open %s: %s", path, sqlite3_errmsg(to));
    /*
     * The copy needs the database to itself: a server still running on it
     * holds it, and the restore is refused (busy) after a short wait rather
     * than changing what the server is reading.
     */
    if (!rc) {
        sqlite3_busy_timeout(to, 2000);
        rc = copy_pages(to, from, to, ei);
        if (rc == ERR_DB_BUSY)
            rc = err_set(ei, ERR_DB_BUSY, "db",
                         "%s is in use: stop the servers on it before restoring", path);
    }
    if (!rc && sqlite3_exec(to, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)
        rc = map_error(to, sqlite3_errcode(to), ei);
    sqlite3_close(to);
    sqlite3_close(from);
    return rc;
}
