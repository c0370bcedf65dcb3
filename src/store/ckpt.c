/*
 * ckpt.c - the checkpointer thread (see ckpt.h).
 *
 * A poke sets `due` under the lock; the thread sleeps until due, then until
 * DB_CKPT_INTERVAL_MS have passed since its last round began, and copies.
 * Pokes that come during the wait or the copy are carried by the next
 * round. The waits are on the monotonic clock, so that a clock set back
 * does not stop the copying.
 */
#include "store/ckpt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "store/db.h"

struct db_ckpt {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* due, or stop was asked */
    pthread_t thread;
    bool due, stopping;
    char *url;
    char who[32];
};

static void deadline_after(struct timespec *t, const struct timespec *from, long ms)
{
    *t = *from;
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static void *ckpt_main(void *arg)
{
    db_ckpt *c = arg;
    db *d = NULL;
    struct timespec last = {0, 0}, next;
    for (;;) {
        errinfo ei = {0};
        pthread_mutex_lock(&c->lock);
        while (!c->due && !c->stopping)
            pthread_cond_wait(&c->wake, &c->lock);
        /* The rest of the interval since the last round: pokes gather. */
        deadline_after(&next, &last, DB_CKPT_INTERVAL_MS);
        while (!c->stopping && pthread_cond_timedwait(&c->wake, &c->lock, &next) == 0)
            ;
        bool stop = c->stopping;
        c->due = false;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        clock_gettime(CLOCK_MONOTONIC, &last);
        if (!d && db_open(c->url, &d, &ei)) {
            log_warn("%s checkpointer: cannot open the database: %s", c->who, ei.message);
            continue; /* tried again after the next commit */
        }
        if (db_kind(d) != DB_SQLITE)
            break;
        if (db_checkpoint(d, &ei)) {
            log_warn("%s checkpointer: %s", c->who, ei.message);
            db_close(d);
            d = NULL;
        }
    }
    db_close(d);
    return NULL;
}

err_t db_ckpt_start(const char *url, const char *who, db_ckpt **out, errinfo *ei)
{
    pthread_condattr_t attr;
    db_ckpt *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c || !(c->url = strdup(url))) {
        free(c);
        return err_set(ei, ERR_NOMEM, NULL, "out of memory for the %s checkpointer", who);
    }
    snprintf(c->who, sizeof(c->who), "%s", who);
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&c->thread, NULL, ckpt_main, c)) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        free(c->url);
        free(c);
        return err_set(ei, ERR_INTERNAL, NULL, "cannot start the %s checkpointer thread", who);
    }
    *out = c;
    return ERR_OK;
}

void db_ckpt_poke(db_ckpt *c)
{
    pthread_mutex_lock(&c->lock);
    if (!c->due) {
        c->due = true;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
}

void db_ckpt_stop(db_ckpt *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c->url);
    free(c);
}
