/*
 * auditq.c - the audit writer (see auditq.h).
 *
 * Jobs wait in a singly linked list under one mutex. The writer takes the
 * whole list at once, so every read that arrived while the previous commit
 * was on its way to the disk shares the next one: the busier the server,
 * the more events a commit carries. The connection comes from a pool of
 * one, which makes a lost PostgreSQL connection again before each batch.
 *
 * On SQLite the copying of the write-ahead log into the database file (a
 * checkpoint, with an fsync of its own) runs on a checkpointer thread
 * (store/ckpt.h), poked after the writer's commits, as the ingest writer's
 * is (link/link.c): a passive checkpoint blocks no one, so the writer's
 * commits only append to the log and no read waits for the copying.
 * AUDITQ_AUTOCHECKPOINT bounds the log if the checkpointer falls behind.
 */
#include "auth/auditq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/metrics.h"
#include "store/ckpt.h"
#include "store/db.h"

#define AUDITQ_DB_WAIT_MS     5000
#define AUDITQ_AUTOCHECKPOINT 10000

struct auditq {
    pthread_mutex_t lock;
    pthread_cond_t work;    /* a job was queued, or stop was asked */
    pthread_cond_t written; /* a batch was told (for auditq_write) */
    pthread_t thread;
    db_pool *pool;
    auditq_job *head, *tail;
    bool stopping;
    auditq_stats stats;
    db_ckpt *ckpt;
};

/* Write the events of the jobs from first on, in one transaction and one
 * run of the chain. */
static err_t write_batch(auditq *q, auditq_job *first, int64_t *events, errinfo *ei)
{
    size_t n = 0, k = 0;
    err_t rc;
    *events = 0;
    for (auditq_job *j = first; j; j = j->next)
        n++;
    const audit_held **held = malloc(n * sizeof(*held));
    if (!held)
        return ERR_NOMEM;
    for (auditq_job *j = first; j; j = j->next) {
        held[k++] = j->held;
        *events += (int64_t)j->held->n;
    }
    db *d = db_pool_acquire(q->pool, AUDITQ_DB_WAIT_MS, ei);
    if (!d) {
        free(held);
        return ei->code ? ei->code : ERR_DB_UNAVAILABLE;
    }
    rc = db_begin(d, ei);
    if (!rc)
        rc = audit_write_held(d, held, n, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        db_rollback(d);
    db_pool_release(q->pool, d);
    free(held);
    return rc;
}

static void *writer_main(void *arg)
{
    auditq *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->work, &q->lock);
        auditq_job *batch = q->head;
        q->head = q->tail = NULL;
        q->stats.waiting = 0;
        pthread_mutex_unlock(&q->lock);
        if (!batch)
            break; /* stopping, and nothing is left */

        errinfo ei = {0};
        int64_t events = 0, jobs = 0;
        err_t rc = write_batch(q, batch, &events, &ei);
        if (rc) {
            log_error("audit writer: the events of a batch were not written (%s: %s); "
                      "their reads are refused",
                      err_name(rc), ei.message);
            /* A commit that failed may say ERR_DB (an SQL error): to a reader
             * it is the audit that is out of reach, not its own request. */
            if (rc != ERR_DB_BUSY && rc != ERR_NOMEM)
                rc = ERR_DB_UNAVAILABLE;
        }
        for (auditq_job *j = batch; j; j = j->next)
            jobs++;
        /* Counted before the jobs are told, so that a job told sees its batch counted. */
        pthread_mutex_lock(&q->lock);
        if (rc) {
            q->stats.failed += jobs;
        } else {
            q->stats.commits++;
            q->stats.events += events;
        }
        pthread_mutex_unlock(&q->lock);
        if (!rc)
            db_ckpt_poke(q->ckpt);
        if (!rc)
            metrics_count("benchside_audit_read_events_total",
                          "Audit events of reads written by the audit writer", "", events);
        metrics_count("benchside_audit_read_commits_total",
                      "Commits of the audit writer, by outcome",
                      rc ? "outcome=\"failed\"" : "outcome=\"ok\"", 1);
        for (auditq_job *j = batch, *next; j; j = next) {
            next = j->next; /* j belongs to its caller once told */
            j->done(j->arg, rc);
        }
        pthread_mutex_lock(&q->lock);
        pthread_cond_broadcast(&q->written);
        pthread_mutex_unlock(&q->lock);
    }
    return NULL;
}

/* Ask the threads to end, wait for those started (the writer first writes
 * what it took), and free q. */
static void end(auditq *q, bool writer)
{
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
    if (writer)
        pthread_join(q->thread, NULL);
    db_ckpt_stop(q->ckpt);
    db_pool_close(q->pool);
    pthread_cond_destroy(&q->written);
    pthread_cond_destroy(&q->work);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

err_t auditq_start(const char *url, auditq **out, errinfo *ei)
{
    auditq *q = calloc(1, sizeof(*q));
    err_t rc;
    *out = NULL;
    if (!q)
        return ERR_NOMEM;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->written, NULL);
    rc = db_pool_open(url, 1, &q->pool, ei);
    if (rc)
        goto fail;
    db *d = db_pool_acquire(q->pool, AUDITQ_DB_WAIT_MS, ei);
    if (!d) {
        rc = ei->code ? ei->code : ERR_DB_UNAVAILABLE;
        goto fail;
    }
    rc = db_autocheckpoint(d, AUDITQ_AUTOCHECKPOINT, ei);
    db_pool_release(q->pool, d);
    if (rc)
        goto fail;
    rc = db_ckpt_start(url, "audit", &q->ckpt, ei);
    if (rc)
        goto fail;
    if (pthread_create(&q->thread, NULL, writer_main, q)) {
        rc = err_set(ei, ERR_INTERNAL, NULL, "cannot start the audit writer thread");
        goto fail;
    }
    *out = q;
    return ERR_OK;
fail:
    end(q, false);
    return rc;
}

void auditq_stop(auditq *q)
{
    if (q)
        end(q, true);
}

err_t auditq_submit(auditq *q, auditq_job *job)
{
    if (job->held->n == 0) {
        job->done(job->arg, ERR_OK);
        return ERR_OK;
    }
    job->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->stopping) {
        pthread_mutex_unlock(&q->lock);
        return ERR_DB_UNAVAILABLE;
    }
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->stats.waiting++;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
    return ERR_OK;
}

/* A job whose caller waits for it (auditq_write). */
struct waiter {
    auditq *q;
    bool told;
    err_t rc;
};

static void waiter_told(void *arg, err_t rc)
{
    struct waiter *w = arg;
    /* Told on the writer's thread, which broadcasts `written` after the
     * batch; the flag is set under the lock the waiter reads it under. */
    pthread_mutex_lock(&w->q->lock);
    w->told = true;
    w->rc = rc;
    pthread_mutex_unlock(&w->q->lock);
}

err_t auditq_write(auditq *q, const audit_held *held, errinfo *ei)
{
    struct waiter w = {q, false, ERR_OK};
    auditq_job job = {held, waiter_told, &w, NULL};
    if (held->n == 0)
        return ERR_OK;
    err_t rc = auditq_submit(q, &job);
    if (rc)
        return err_set(ei, rc, NULL, "the audit writer is stopping");
    pthread_mutex_lock(&q->lock);
    while (!w.told)
        pthread_cond_wait(&q->written, &q->lock);
    pthread_mutex_unlock(&q->lock);
    if (w.rc)
        return err_set(ei, w.rc, NULL, "the audit events of this read could not be written");
    return ERR_OK;
}

void auditq_get_stats(auditq *q, auditq_stats *out)
{
    pthread_mutex_lock(&q->lock);
    *out = q->stats;
    pthread_mutex_unlock(&q->lock);
}
