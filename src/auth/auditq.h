/*
 * auditq.h - the audit writer: group commit of the events that reads hold
 * back (audit.h, audit_held).
 *
 * A read of patient data writes one audit event, and that event must be
 * durable before any byte of the read is shown. Committing each on its own
 * costs one durable commit a read and, on SQLite, the write lock: reads
 * would go one at a time. Instead a read holds its events back; the HTTP
 * dispatcher hands them here as a job, and one thread with its own database
 * connection takes every job waiting, writes their events in the order the
 * jobs came (audit_write_held: numbered and chained exactly as audit_write
 * would), commits once, and then tells each job how it went. A commit that
 * fails fails every job in it and writes none of their events.
 */
#ifndef BENCHSIDE_AUTH_AUDITQ_H
#define BENCHSIDE_AUTH_AUDITQ_H

#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"

typedef struct auditq auditq;

/*
 * What is told when a job's events are durable (rc ERR_OK) or are not
 * (ERR_DB_UNAVAILABLE, ERR_DB_BUSY, ...: none of them is written). Called
 * once per job on the writer's thread, without its lock held: it must be
 * short and must not submit.
 */
typedef void (*auditq_done_fn)(void *arg, err_t rc);

/*
 * One job: the caller owns it and its holder, keeps both unchanged from
 * auditq_submit() until done is called, and frees them afterwards.
 */
typedef struct auditq_job {
    const audit_held *held;
    auditq_done_fn done;
    void *arg;
    struct auditq_job *next; /* the queue's own */
} auditq_job;

/*
 * Start the writer on a connection of its own to url. ERR_OK and *out, or
 * the error of opening the database. auditq_stop() ends it.
 */
err_t auditq_start(const char *url, auditq **out, errinfo *ei);

/*
 * Stop taking jobs, write every job already taken (each is told as usual),
 * end the thread and free q. NULL is fine.
 */
void auditq_stop(auditq *q);

/*
 * Queue job for the next commit. ERR_OK: done will be called once.
 * ERR_DB_UNAVAILABLE when the writer is stopping (done is not called). A
 * job whose holder is empty is told ERR_OK at once, on the caller's thread.
 */
err_t auditq_submit(auditq *q, auditq_job *job);

/* Submit held and wait until it is durable: ERR_OK, or why it is not (ei). */
err_t auditq_write(auditq *q, const audit_held *held, errinfo *ei);

typedef struct auditq_stats {
    int64_t commits; /* transactions committed */
    int64_t events;  /* events in them */
    int64_t failed;  /* jobs told of a failure */
    int64_t waiting; /* jobs queued and not yet taken */
} auditq_stats;

/* A snapshot of the writer's counters. */
void auditq_get_stats(auditq *q, auditq_stats *out);

#endif
