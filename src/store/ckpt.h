/*
 * ckpt.h - a checkpointer thread for a program with one busy SQLite writer.
 *
 * The writer's commits then only append to the write-ahead log; the copying
 * of the log into the database file (db_checkpoint, with its two fsyncs)
 * runs on a thread and a connection of its own, at most once every
 * DB_CKPT_INTERVAL_MS after a commit asked for it. Spacing the copies lets
 * one copy carry many commits: the pages every commit touches again (a
 * table's last page, an index's tail) are copied once, not once a commit,
 * and the log stays a few megabytes long. Durability is the commit's (the
 * log is synced when it commits); a checkpoint only moves what is safe
 * already. On PostgreSQL the thread ends at once: nothing to copy.
 */
#ifndef BENCHSIDE_STORE_CKPT_H
#define BENCHSIDE_STORE_CKPT_H

#include "base/err.h"

#define DB_CKPT_INTERVAL_MS 100

typedef struct db_ckpt db_ckpt;

/*
 * Start the thread for the database at url; who names it in the log
 * ("ingest", "audit"). The connection is opened on the thread, at the first
 * poke (a failure is logged and tried again at the next). Returns ERR_NOMEM
 * or ERR_INTERNAL (no thread); *out is the caller's, for db_ckpt_stop().
 */
err_t db_ckpt_start(const char *url, const char *who, db_ckpt **out, errinfo *ei);

/* A commit made the log longer: copy it at the next round. Cheap; any thread. */
void db_ckpt_poke(db_ckpt *c);

/* End the thread (a round under way finishes first) and free c. NULL is fine. */
void db_ckpt_stop(db_ckpt *c);

#endif
