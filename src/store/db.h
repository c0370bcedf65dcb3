/*
 * db.h - the one database interface of benchside.
 *
 * One API over SQLite (embedded default) and PostgreSQL (libpq), chosen by URL:
 *   sqlite:PATH[?busy_timeout=MS]     e.g. sqlite:benchside.db
 *   postgresql://... or postgres://... (a libpq connection URI)
 *
 * SQL text is shared by both backends: `?` placeholders (rewritten to $1, $2,
 * ... for PostgreSQL, outside quotes and comments), ids made by the program
 * (TEXT), times as BIGINT UTC microseconds, booleans as INTEGER 0/1, money as
 * BIGINT cents. store/ knows nothing of the domain: it runs SQL text.
 *
 * Ownership: db_open() returns a connection the caller closes with db_close();
 * db_prepare() returns a statement the caller releases with db_finalize()
 * before closing its connection. Text bound to a statement is copied. Column
 * text returned by db_col_text() is owned by the statement and valid until its
 * next db_step(), db_reset() or db_finalize().
 *
 * A connection is used by one thread at a time; db_pool hands them out.
 *
 * Errors: ERR_DB_BUSY (locked, serialization failure: try again, HTTP 503),
 * ERR_DB_UNAVAILABLE (cannot open or connection lost, HTTP 503), ERR_CONFLICT
 * (unique or primary key violated, HTTP 409), ERR_NOMEM, ERR_DB (anything
 * else: SQL error, constraint other than uniqueness). The backend's own text is
 * in ei->message (for logs; not shown to API clients for ERR_DB).
 */
#ifndef BENCHSIDE_STORE_DB_H
#define BENCHSIDE_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct db db;
typedef struct db_stmt db_stmt;

typedef enum { DB_SQLITE = 1, DB_POSTGRES = 2 } db_backend;

/* Open a connection to url. On failure *out is NULL and ei says why. */
err_t db_open(const char *url, db **out, errinfo *ei);
/* Close a connection (rolling back an open transaction). NULL is fine. */
void db_close(db *d);
db_backend db_kind(const db *d);
/* "sqlite" or "postgresql". */
const char *db_backend_name(const db *d);
/* True when url names a backend db_open() knows. */
bool db_url_valid(const char *url);

/* Run one or more ;-separated statements that take no parameters. */
err_t db_exec(db *d, const char *sql, errinfo *ei);

/*
 * Transactions. db_begin() takes the write lock at once on SQLite (BEGIN
 * IMMEDIATE) so that a transaction never fails half-way for a lock upgrade
 * (unless the connection is read-intent, below).
 * db_rollback() is safe to call when no transaction is open.
 *
 * They nest: db_begin() inside an open transaction starts a savepoint, whose
 * db_commit() releases it into the enclosing transaction (nothing is durable
 * until the outermost commit) and whose db_rollback() undoes only what was
 * done since it began. So an action that opens its own transaction can run
 * alone or as one part of a larger one (the ingest writer commits many
 * messages at once, each in its own savepoint).
 */
err_t db_begin(db *d, errinfo *ei);
err_t db_commit(db *d, errinfo *ei);
void db_rollback(db *d);
bool db_in_transaction(const db *d);

/*
 * Read intent: a connection that only reads in its transactions (an HTTP
 * GET, whose audit events go to the audit writer) says so, and db_begin()
 * then starts a deferred transaction on SQLite (BEGIN) that takes no write
 * lock, so that such transactions run side by side in WAL mode. A write
 * inside one could fail when another connection has written since it began
 * (SQLITE_BUSY_SNAPSHOT): builds without NDEBUG refuse any statement that
 * writes inside a read-intent transaction on SQLite (ERR_INTERNAL, logged),
 * so that the tests find the code that does it. Statements outside a
 * transaction may write (each commits on its own). db_pool_release() clears
 * it. PostgreSQL runs either kind of transaction alike.
 */
void db_set_read_intent(db *d, bool on);
bool db_read_intent(const db *d);
/* Open transactions: 0 none, 1 one, 2 and more with savepoints inside it. */
int db_transaction_depth(const db *d);

/*
 * A filter written "(CAST(? AS TEXT) IS NULL OR col = ?)" matches every row
 * when its value is NULL, and the planners cannot use col's index for it,
 * since the same prepared statement must serve both cases. db_sql_given()
 * returns sql written for the values given (is_null[k] says placeholder k,
 * from 1 up to max, is bound NULL): a filter whose first placeholder's
 * value is given becomes "(CAST(? AS TEXT) IS NOT NULL AND col = ?)", the
 * same for that value with the equality where the index serves; one whose
 * placeholders are all NULL becomes "(CAST(? AS TEXT) IS NULL AND CAST(?
 * AS TEXT) IS NULL)", as true as it was and naming no column, so that an
 * index holding only the given filters' columns answers alone.
 * Placeholders keep their numbers; quoted literals are copied as they are.
 * A new string (free()), NULL when out of memory.
 *
 * db_sql_given_kept() is the same, with the text kept for the life of the
 * process, one per sql (by its address: a static text) and set of NULLs
 * among its first 64 placeholders: a connection's prepared statements are
 * found by the address of their text (sqlite.c), so searches of one shape
 * share one. When the table is full the text is new and also in *owned,
 * for the caller to free. NULL when out of memory.
 */
char *db_sql_given(const char *sql, const bool *is_null, int max);
const char *db_sql_given_kept(const char *sql, const bool *is_null, int max, char **owned);

/*
 * Upkeep of SQLite's write-ahead log, for a program with one busy writer
 * that leaves the copying of the log into the database file to a thread of
 * its own (the links do: the ingest writer's commits then only append).
 * db_checkpoint() copies what the log holds as far as no reader still needs
 * it, blocking no one (a passive checkpoint). db_autocheckpoint() sets after
 * how many log pages a commit on this connection copies the log itself
 * (SQLite's default is 1000; 0 never), so that the log stays bounded even
 * when the other thread falls behind. PostgreSQL has nothing to do here:
 * both return ERR_OK.
 */
err_t db_checkpoint(db *d, errinfo *ei);
err_t db_autocheckpoint(db *d, int pages, errinfo *ei);

/*
 * Publish an event on the process's event bus (base/evbus.h) once the
 * transaction that made it commits: kind as "result.released", data a JSON
 * object as text (copied; at most EVBUS_DATA_MAX bytes, no newline). Outside
 * a transaction it goes at once. Rolling back (a savepoint or the whole
 * transaction) drops the events published inside what was undone; a savepoint
 * released hands them to the enclosing transaction. So listeners never hear of
 * a change that did not happen. ERR_NOMEM, or ERR_INVALID for a bad kind or
 * data (a programming error: the domain makes both).
 */
err_t db_publish(db *d, const char *kind, const char *data, size_t len, errinfo *ei);

/*
 * Events shared between the nodes of one PostgreSQL database: once
 * db_share_events() has named this process's node (at most 64 bytes, set
 * at start-up before any connection publishes), the events a transaction
 * on PostgreSQL publishes are also sent with NOTIFY on the channel
 * DB_EVENTS_CHANNEL just before its COMMIT, so that they reach the other
 * nodes when, and only when, it commits. A payload is the node's name on
 * its first line, then one event a line, "kind data", as many as fit in
 * DB_NOTIFY_MAX bytes (several payloads when they do not). SQLite has one
 * node: nothing is sent there. NULL stops the sharing.
 */
#define DB_EVENTS_CHANNEL "benchside_events"
#define DB_NOTIFY_MAX     7900 /* PostgreSQL takes payloads under 8000 bytes */
void db_share_events(const char *node);

/*
 * The other side: a thread with a connection of its own that LISTENs on
 * DB_EVENTS_CHANNEL and publishes on the process's event bus every event
 * that another node sent (its own are on the bus already). A lost
 * connection is made again every second; what was sent meanwhile is not
 * seen here. For a SQLite URL there is nothing to listen to: ERR_OK and
 * *out NULL. The caller stops it with db_listen_stop (NULL is fine).
 */
typedef struct db_listener db_listener;
err_t db_listen_start(const char *url, db_listener **out, errinfo *ei);
void db_listen_stop(db_listener *l);

/*
 * Backups. db_backup copies the database at url into file (which it makes;
 * an existing file is refused) while servers go on using it: SQLite through
 * its online backup API, every page under one read transaction, into one
 * self-contained file; PostgreSQL with pg_dump in its custom format, one
 * snapshot. Either is written beside file as FILE.part and renamed when
 * complete, so that file is never half a backup.
 *
 * db_restore replaces everything in the database at url with file's
 * content: a SQLite backup into a sqlite: URL (refused, ERR_DB_BUSY, while
 * a server holds the database), a pg_dump file into a postgresql: URL with
 * pg_restore in one transaction. A file of the other backend, or that is
 * no benchside backup, is refused (ERR_INVALID naming "file"). The caller
 * applies the migrations afterwards (the backup may be older). pg_dump and
 * pg_restore write their own messages on standard error.
 */
err_t db_backup(const char *url, const char *file, errinfo *ei);
err_t db_restore(const char *url, const char *file, errinfo *ei);
/* What db_restore checks before it touches anything: url is a database URL
 * and file a backup of its backend. */
err_t db_restore_check(const char *url, const char *file, errinfo *ei);

/*
 * What the database server says of itself, for `benchside doctor`: its
 * version as a number (PostgreSQL's server_version_num, 150004; SQLite's
 * library version, 3040001) and its clock (UTC microseconds; SQLite has no
 * server: this machine's).
 */
err_t db_server_info(db *d, int *version, int64_t *clock_us, errinfo *ei);

/* Prepare one statement with `?` placeholders. */
err_t db_prepare(db *d, const char *sql, db_stmt **out, errinfo *ei);
/* Parameters are numbered from 1. The value is copied. */
err_t db_bind_text(db_stmt *s, int i, const char *v, size_t n);
err_t db_bind_str(db_stmt *s, int i, const char *v); /* NUL-terminated; NULL binds NULL */
err_t db_bind_int64(db_stmt *s, int i, int64_t v);
err_t db_bind_null(db_stmt *s, int i);
/* A finite double (stored as DOUBLE PRECISION / REAL). */
err_t db_bind_double(db_stmt *s, int i, double v);
/*
 * Run the statement (first call) or move to its next row. *row is true while a
 * row is available, false when done. Returns an error code when the statement
 * failed; the statement must then be reset or finalized.
 */
err_t db_step(db_stmt *s, bool *row, errinfo *ei);
/* How many `?` placeholders the statement has. */
int db_param_count(db_stmt *s);
/* Rows changed by the statement's last run (INSERT, UPDATE, DELETE). */
int64_t db_changes(db_stmt *s);
/* Columns are numbered from 0. */
int db_col_count(db_stmt *s);
bool db_col_null(db_stmt *s, int i);
const char *db_col_text(db_stmt *s, int i); /* NULL for SQL NULL */
size_t db_col_len(db_stmt *s, int i);
int64_t db_col_int64(db_stmt *s, int i); /* 0 for NULL or text that is no integer */
double db_col_double(db_stmt *s, int i); /* 0 for NULL or text that is no number */
/* Make the statement ready to run again; bindings are kept until rebound. */
void db_reset(db_stmt *s);
void db_finalize(db_stmt *s);

/*
 * Prepare sql and bind args described by types (as db_run below), ready for
 * db_step(). On failure *out is NULL and nothing needs finalizing.
 */
err_t db_query(db *d, db_stmt **out, errinfo *ei, const char *sql, const char *types, ...);

/*
 * Convenience: prepare sql, bind args described by types ('t' const char *
 * (NULL binds NULL), 'i' int64_t, 'd' double, 'n' NULL takes no argument), run it to the
 * end, finalize. *changes (may be NULL) receives db_changes().
 */
err_t db_run(db *d, errinfo *ei, int64_t *changes, const char *sql, const char *types, ...);

/*
 * Placeholder rewriting for PostgreSQL: `?` outside string literals, quoted
 * identifiers and comments becomes $1, $2, ... Returns a malloc'd string (caller
 * frees) and the number of placeholders, or NULL on allocation failure.
 */
/*
 * The first column of the first row of sql (with arg as its one text
 * parameter, or none when arg is NULL) as an integer in *out (0 on error).
 * No row is ERR_NOT_FOUND.
 */
err_t db_scalar(db *d, const char *sql, const char *arg, int64_t *out, errinfo *ei);

/*
 * Run sql with id as its one parameter and step to its row: *st is left on
 * it (the caller finalizes). No row is ERR_NOT_FOUND naming the field "id":
 * "no <what> has id <id>".
 */
err_t db_query_by_id(db *d, db_stmt **st, const char *sql, const char *id, const char *what,
                     errinfo *ei);

char *db_rewrite_placeholders(const char *sql, int *nparams);

/* A fixed set of connections shared by threads. */
typedef struct db_pool db_pool;
err_t db_pool_open(const char *url, int size, db_pool **out, errinfo *ei);
/*
 * Borrow a connection, waiting up to timeout_ms for one to be free. A
 * PostgreSQL connection that was lost is re-established here. Returns NULL on
 * time-out or when the database cannot be reached (ei says which).
 */
db *db_pool_acquire(db_pool *p, int timeout_ms, errinfo *ei);
/* Give it back; an open transaction is rolled back. */
void db_pool_release(db_pool *p, db *d);
void db_pool_close(db_pool *p);
const char *db_pool_url(const db_pool *p);

#endif
