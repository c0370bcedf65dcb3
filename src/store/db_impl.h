/*
 * db_impl.h - what a storage backend provides to db.c. Private to src/store/.
 *
 * A backend's connection struct begins with `struct db`, its statement struct
 * with `struct db_stmt`; db.c dispatches through the ops table and keeps the
 * transaction flag. Every op fills ei (may be NULL) on failure.
 */
#ifndef BENCHSIDE_STORE_DB_IMPL_H
#define BENCHSIDE_STORE_DB_IMPL_H

#include "base/evbus.h"
#include "store/db.h"

struct db_ops {
    const char *name;
    db_backend kind;
    /* target is the URL (whole for PostgreSQL, after "sqlite:" for SQLite). */
    err_t (*open)(const char *target, db **out, errinfo *ei);
    void (*close)(db *d);
    err_t (*exec)(db *d, const char *sql, errinfo *ei);
    /* Re-establish a lost connection; ERR_OK when it is usable. */
    err_t (*check)(db *d, errinfo *ei);
    /* Write-ahead log upkeep (db.h); NULL when the backend has none. */
    err_t (*checkpoint)(db *d, errinfo *ei);
    err_t (*autocheckpoint)(db *d, int pages, errinfo *ei);
    err_t (*prepare)(db *d, const char *sql, db_stmt **out, errinfo *ei);
    err_t (*bind_text)(db_stmt *s, int i, const char *v, size_t n);
    err_t (*bind_int64)(db_stmt *s, int i, int64_t v);
    err_t (*bind_null)(db_stmt *s, int i);
    err_t (*bind_double)(db_stmt *s, int i, double v);
    err_t (*step)(db_stmt *s, bool *row, errinfo *ei);
    int (*param_count)(db_stmt *s);
    int64_t (*changes)(db_stmt *s);
    int (*col_count)(db_stmt *s);
    bool (*col_null)(db_stmt *s, int i);
    const char *(*col_text)(db_stmt *s, int i);
    size_t (*col_len)(db_stmt *s, int i);
    int64_t (*col_int64)(db_stmt *s, int i);
    double (*col_double)(db_stmt *s, int i);
    void (*reset)(db_stmt *s);
    void (*finalize)(db_stmt *s);
};

/* An event waiting for its transaction to commit (db_publish). */
struct db_pending {
    int depth; /* the transaction level it was published at */
    char kind[EVBUS_KIND_MAX + 1];
    char *data;
    size_t len;
};

struct db {
    const struct db_ops *ops;
    int depth;        /* open transactions: 0 none, 1 the outer one, more are savepoints */
    bool read_intent; /* db_set_read_intent: transactions only read */
    struct db_pending *pending; /* events published inside the open transaction */
    size_t npending, cap_pending;
};

struct db_stmt {
    db *owner;
};

/* The listener of db_listen_start on PostgreSQL (pg.c); node is the name of
 * this process, whose own events are skipped. */
err_t db_pg_listen_start(const char *url, const char *node, db_listener **out, errinfo *ei);
void db_pg_listen_stop(db_listener *l);
/* Publish the events of one payload (db.h) on the process's bus unless
 * they are node's own; *count (may be NULL) is how many were. */
void db_events_received(const char *payload, size_t len, const char *node, int *count);

/* Backups (db.h db_backup, db_restore), by backend; target as for open.
 * A backup is written into part (db_backup renames it when complete). */
err_t db_sqlite_backup(const char *target, const char *part, errinfo *ei);
err_t db_sqlite_restore(const char *target, const char *file, errinfo *ei);
err_t db_pg_backup(const char *url, const char *part, errinfo *ei);
err_t db_pg_restore(const char *url, const char *file, errinfo *ei);

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

#endif
