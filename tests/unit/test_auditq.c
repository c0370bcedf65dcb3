/*
 * test_auditq.c - the audit writer (src/auth/auditq.c), the events a thread
 * holds back (audit_hold in src/auth/audit.c) and read-intent connections
 * (db_set_read_intent in src/store/db.c), on a real database.
 *
 * Many threads reading at once each leave exactly their events and the
 * chain verifies; a held event keeps the time of its read unless that would
 * put it before the event it follows; a commit that fails tells every job
 * in it and writes none of their events; stopping the writer while jobs
 * wait behind a lock writes them all and refuses what comes after; two
 * read-intent transactions run side by side on SQLite, and a write inside
 * one is refused in a debug build.
 *
 * The suite runs on BENCHSIDE_TEST_DB (a PostgreSQL database that may be
 * shared and reused between runs) or a temporary SQLite file; the entity
 * ids it writes carry a random suffix made once per run, and it counts only
 * those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/auditq.h"
#include "base/time.h"
#include "testdb.h"

#define AQ_THREADS 12
#define AQ_READS   25

static const audit_ctx aq_sys = {NULL, "test", "test"};
static char aq_url[512], aq_tmp[256], aq_sfx[11];
static db *aq_db;

/* How many events this run wrote with entity ids starting with prefix. */
static int64_t count_prefix(const char *prefix)
{
    char like[128];
    int64_t n = -1;
    errinfo ei = {0};
    snprintf(like, sizeof(like), "%s%%", prefix);
    if (testdb_scalar(aq_db, "SELECT COUNT(*) FROM audit_event WHERE entity_id LIKE ?", like, &n,
                      &ei))
        fail_msg("count: %s", ei.message);
    return n;
}

static void assert_chain_verifies(void)
{
    audit_verify_result vr;
    errinfo ei = {0};
    assert_int_equal(audit_verify(aq_db, &vr, &ei), ERR_OK);
    if (!vr.ok)
        fail_msg("audit verify: %s", vr.problem);
}

/* The id of one read's event: "<what>-<suffix>-<a>-<b>". */
static void entity(char *out, size_t n, const char *what, int a, int b)
{
    snprintf(out, n, "%s-%s-%d-%d", what, aq_sfx, a, b);
}

/* One read as a handler makes it: its event held, then written by the writer. */
static err_t one_read(auditq *q, const char *id)
{
    audit_held h;
    errinfo ei = {0};
    audit_held_init(&h);
    audit_held *before = audit_hold(&h);
    err_t rc = audit_record(aq_db, &aq_sys, "test.read", "patient", id, "ok", NULL, &ei);
    audit_hold(before);
    if (!rc)
        rc = auditq_write(q, &h, &ei);
    audit_held_free(&h);
    return rc;
}

struct reader {
    auditq *q;
    int n;
    int failures;
};

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    char id[96];
    for (int k = 0; k < AQ_READS; k++) {
        entity(id, sizeof(id), "many", rd->n, k);
        if (one_read(rd->q, id))
            rd->failures++;
    }
    return NULL;
}

static void test_held_events_are_not_written(void **state)
{
    (void)state;
    char id[96];
    audit_held h;
    errinfo ei = {0};
    entity(id, sizeof(id), "held", 0, 0);
    audit_held_init(&h);
    assert_null(audit_hold(&h));
    /* No transaction is needed, and nothing reaches the database. */
    assert_int_equal(audit_record(aq_db, &aq_sys, "test.read", "patient", id, "ok", NULL, &ei),
                     ERR_OK);
    json_t *detail = json_pack("{s:s}", "why", "worked example");
    assert_int_equal(audit_record(aq_db, &aq_sys, "test.read", "patient", id, "ok", detail, &ei),
                     ERR_OK);
    json_decref(detail);
    assert_ptr_equal(audit_hold(NULL), &h);
    assert_int_equal(count_prefix(id), 0);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.ev[0].actor, "test");
    assert_string_equal(h.ev[0].actor_id, "");
    assert_string_equal(h.ev[0].entity_id, id);
    assert_string_equal(h.ev[0].detail, "{}");
    assert_string_equal(h.ev[1].detail, "{\"why\":\"worked example\"}");
    assert_true(h.ev[0].at > 0 && h.ev[0].at <= h.ev[1].at);
    audit_held_free(&h);
    assert_int_equal(h.n, 0);
    assert_null(h.ev);
}

static void test_many_readers_one_event_each(void **state)
{
    (void)state;
    auditq *q = NULL;
    errinfo ei = {0};
    pthread_t th[AQ_THREADS];
    struct reader rd[AQ_THREADS];
    char prefix[64];
    assert_int_equal(auditq_start(aq_url, &q, &ei), ERR_OK);
    for (int i = 0; i < AQ_THREADS; i++) {
        rd[i] = (struct reader){q, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    for (int i = 0; i < AQ_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rd[i].failures, 0);
    }
    auditq_stats s;
    auditq_get_stats(q, &s);
    auditq_stop(q);

    snprintf(prefix, sizeof(prefix), "many-%s-", aq_sfx);
    assert_int_equal(count_prefix(prefix), AQ_THREADS * AQ_READS);
    /* Each read's own event, once. */
    int64_t distinct = 0;
    char like[80];
    snprintf(like, sizeof(like), "%s%%", prefix);
    assert_int_equal(testdb_scalar(aq_db,
                                   "SELECT COUNT(DISTINCT entity_id) FROM audit_event"
                                   " WHERE entity_id LIKE ?",
                                   like, &distinct, &ei),
                     ERR_OK);
    assert_int_equal(distinct, AQ_THREADS * AQ_READS);
    assert_int_equal(s.events, AQ_THREADS * AQ_READS);
    assert_true(s.commits >= 1 && s.commits <= s.events);
    assert_int_equal(s.failed, 0);
    assert_chain_verifies();
}

static void test_event_keeps_the_time_of_its_read(void **state)
{
    (void)state;
    auditq *q = NULL;
    errinfo ei = {0};
    char early[96], late[96], between[96];
    audit_held h1, h2;
    int64_t at = 0;
    entity(early, sizeof(early), "time", 1, 0);
    entity(between, sizeof(between), "time", 2, 0);
    entity(late, sizeof(late), "time", 3, 0);
    assert_int_equal(auditq_start(aq_url, &q, &ei), ERR_OK);

    /* A read held at t0 ... */
    audit_held_init(&h1);
    audit_hold(&h1);
    assert_int_equal(audit_record(aq_db, &aq_sys, "test.read", "patient", early, "ok", NULL, &ei),
                     ERR_OK);
    audit_hold(NULL);
    /* ... is written one second earlier than it is committed, as it says ... */
    h1.ev[0].at = time_now_us() - 1000000;
    /* ... unless an event written meanwhile is later: never before that one. */
    assert_int_equal(
        audit_record(aq_db, &aq_sys, "test.write", "patient", between, "ok", NULL, &ei), ERR_OK);
    assert_int_equal(auditq_write(q, &h1, &ei), ERR_OK);
    int64_t t_between = 0, t_early = 0;
    assert_int_equal(testdb_scalar(aq_db, "SELECT at FROM audit_event WHERE entity_id = ?", between,
                                   &t_between, &ei),
                     ERR_OK);
    assert_int_equal(testdb_scalar(aq_db, "SELECT at FROM audit_event WHERE entity_id = ?", early,
                                   &t_early, &ei),
                     ERR_OK);
    assert_int_equal(t_early, t_between);

    /* Held after the last event: its own time, exactly. */
    audit_held_init(&h2);
    audit_hold(&h2);
    assert_int_equal(audit_record(aq_db, &aq_sys, "test.read", "patient", late, "ok", NULL, &ei),
                     ERR_OK);
    audit_hold(NULL);
    int64_t held_at = h2.ev[0].at;
    assert_int_equal(auditq_write(q, &h2, &ei), ERR_OK);
    assert_int_equal(
        testdb_scalar(aq_db, "SELECT at FROM audit_event WHERE entity_id = ?", late, &at, &ei),
        ERR_OK);
    assert_int_equal(at, held_at);
    audit_held_free(&h1);
    audit_held_free(&h2);
    auditq_stop(q);
    assert_chain_verifies();
}

/* ---- jobs told through their callback ---- */

static pthread_mutex_t told_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t told_cond = PTHREAD_COND_INITIALIZER;

struct job {
    auditq_job job;
    audit_held held;
    int told; /* times told: must end at 1 */
    err_t rc;
};

static void job_told(void *arg, err_t rc)
{
    struct job *j = arg;
    pthread_mutex_lock(&told_lock);
    j->told++;
    j->rc = rc;
    pthread_cond_broadcast(&told_cond);
    pthread_mutex_unlock(&told_lock);
}

/* A job of n events with the given actions, entity ids "<what>-<sfx>-<k>-<i>". */
static void job_make(struct job *j, const char *what, int k, int n, const char *const *actions)
{
    char id[96];
    errinfo ei = {0};
    memset(j, 0, sizeof(*j));
    audit_held_init(&j->held);
    audit_hold(&j->held);
    for (int i = 0; i < n; i++) {
        entity(id, sizeof(id), what, k, i);
        assert_int_equal(audit_record(aq_db, &aq_sys, actions ? actions[i] : "test.read", "patient",
                                      id, "ok", NULL, &ei),
                         ERR_OK);
    }
    audit_hold(NULL);
    j->job = (auditq_job){&j->held, job_told, j, NULL};
}

static void wait_told(struct job *jobs, int n)
{
    pthread_mutex_lock(&told_lock);
    for (int i = 0; i < n; i++)
        while (!jobs[i].told)
            pthread_cond_wait(&told_cond, &told_lock);
    pthread_mutex_unlock(&told_lock);
}

/* Until the writer has taken every job queued (it then waits on the lock). */
static void wait_taken(auditq *q, int64_t waiting)
{
    auditq_stats s;
    for (;;) {
        auditq_get_stats(q, &s);
        if (s.waiting == waiting)
            return;
        sched_yield();
    }
}

/* Another connection holding the audit head: writers wait behind it. */
static db *hold_head(void)
{
    db *b = NULL;
    errinfo ei = {0};
    assert_int_equal(db_open(aq_url, &b, &ei), ERR_OK);
    assert_int_equal(db_begin(b, &ei), ERR_OK);
    assert_int_equal(db_run(b, &ei, NULL, "UPDATE audit_head SET seq = seq WHERE id = 1", ""),
                     ERR_OK);
    return b;
}

static void refuse_action(bool on)
{
    errinfo ei = {0};
    const char *sql;
    if (testdb_is_pg())
        sql = on ? "CREATE OR REPLACE FUNCTION auditq_refuse() RETURNS trigger AS $$"
                   " BEGIN IF NEW.action = 'test.refused' THEN"
                   " RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"
                   " LANGUAGE plpgsql;"
                   " DROP TRIGGER IF EXISTS auditq_refuse ON audit_event;"
                   " CREATE TRIGGER auditq_refuse BEFORE INSERT ON audit_event"
                   " FOR EACH ROW EXECUTE FUNCTION auditq_refuse()"
                 : "DROP TRIGGER IF EXISTS auditq_refuse ON audit_event;"
                   " DROP FUNCTION IF EXISTS auditq_refuse()";
    else
        sql = on ? "CREATE TRIGGER auditq_refuse BEFORE INSERT ON audit_event"
                   " WHEN NEW.action = 'test.refused'"
                   " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                 : "DROP TRIGGER IF EXISTS auditq_refuse";
    if (db_exec(aq_db, sql, &ei))
        fail_msg("trigger: %s", ei.message);
}

static void test_failed_commit_fails_its_jobs_whole(void **state)
{
    (void)state;
    static const char *const mixed[] = {"test.read", "test.refused", "test.read"};
    auditq *q = NULL;
    errinfo ei = {0};
    struct job jobs[4];
    char prefix[64];
    refuse_action(true);
    assert_int_equal(auditq_start(aq_url, &q, &ei), ERR_OK);
    db *blocker = hold_head();

    /* A is taken alone and waits on the lock; B, C, D queue behind it and
     * go in the next commit, which C's refused event fails. */
    job_make(&jobs[0], "fail", 0, 1, NULL);
    assert_int_equal(auditq_submit(q, &jobs[0].job), ERR_OK);
    wait_taken(q, 0);
    job_make(&jobs[1], "fail", 1, 2, NULL);
    job_make(&jobs[2], "fail", 2, 3, mixed);
    job_make(&jobs[3], "fail", 3, 1, NULL);
    for (int i = 1; i < 4; i++)
        assert_int_equal(auditq_submit(q, &jobs[i].job), ERR_OK);
    wait_taken(q, 3);
    assert_int_equal(db_commit(blocker, &ei), ERR_OK);
    db_close(blocker);
    wait_told(jobs, 4);

    assert_int_equal(jobs[0].rc, ERR_OK);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(jobs[i].told, 1);
        assert_int_not_equal(jobs[i].rc, ERR_OK);
    }
    /* A's event, and nothing of B, C or D. */
    snprintf(prefix, sizeof(prefix), "fail-%s-0-", aq_sfx);
    assert_int_equal(count_prefix(prefix), 1);
    for (int i = 1; i < 4; i++) {
        snprintf(prefix, sizeof(prefix), "fail-%s-%d-", aq_sfx, i);
        assert_int_equal(count_prefix(prefix), 0);
    }
    auditq_stats s;
    auditq_get_stats(q, &s);
    assert_int_equal(s.failed, 3);
    assert_int_equal(s.events, 1);
    auditq_stop(q);
    refuse_action(false);
    for (int i = 0; i < 4; i++)
        audit_held_free(&jobs[i].held);
    assert_chain_verifies();
}

static void *stop_main(void *arg)
{
    auditq_stop(arg);
    return NULL;
}

static void test_stop_while_jobs_wait(void **state)
{
    (void)state;
    enum { QUEUED = 5, PROBES = 64 };
    auditq *q = NULL;
    errinfo ei = {0};
    struct job jobs[QUEUED + PROBES];
    char prefix[64];
    pthread_t stopper;
    int accepted = 0;
    assert_int_equal(auditq_start(aq_url, &q, &ei), ERR_OK);
    db *blocker = hold_head();
    job_make(&jobs[0], "stop", 0, 1, NULL);
    assert_int_equal(auditq_submit(q, &jobs[0].job), ERR_OK);
    wait_taken(q, 0);
    for (int i = 1; i < QUEUED; i++) {
        job_make(&jobs[i], "stop", i, 2, NULL);
        assert_int_equal(auditq_submit(q, &jobs[i].job), ERR_OK);
    }
    accepted = QUEUED;
    assert_int_equal(pthread_create(&stopper, NULL, stop_main, q), 0);
    /* Once the writer is stopping it takes no more jobs, though those it
     * has are still waiting behind the lock. */
    int refused = 0;
    for (int i = QUEUED; i < QUEUED + PROBES && !refused; i++) {
        job_make(&jobs[i], "stop", i, 1, NULL);
        if (auditq_submit(q, &jobs[i].job) == ERR_OK) {
            accepted++;
        } else {
            refused = 1;
            jobs[i].told = 1; /* never told: counted as settled */
            jobs[i].rc = ERR_DB_UNAVAILABLE;
        }
        if (!refused)
            sched_yield();
    }
    assert_int_equal(db_commit(blocker, &ei), ERR_OK);
    db_close(blocker);
    pthread_join(stopper, NULL);
    /* Every job taken was written and told once. */
    for (int i = 0; i < accepted; i++) {
        assert_int_equal(jobs[i].told, 1);
        assert_int_equal(jobs[i].rc, ERR_OK);
        snprintf(prefix, sizeof(prefix), "stop-%s-%d-", aq_sfx, i);
        assert_int_equal(count_prefix(prefix), i == 0 || i >= QUEUED ? 1 : 2);
    }
    for (int i = 0; i < accepted + refused; i++)
        audit_held_free(&jobs[i].held);
    assert_chain_verifies();
    /* A probe that came too late was refused and left nothing. */
    if (refused) {
        snprintf(prefix, sizeof(prefix), "stop-%s-%d-", aq_sfx, accepted);
        assert_int_equal(count_prefix(prefix), 0);
    }
}

/* ---- read-intent connections ---- */

static void test_read_intent_transactions(void **state)
{
    (void)state;
    db *a = NULL, *b = NULL;
    errinfo ei = {0};
    char url_b[600];
    int64_t n = 0;
    /* b gives up at once on a lock: it must not need one to read. */
    snprintf(url_b, sizeof(url_b), "%s%s", aq_url, testdb_is_pg() ? "" : "?busy_timeout=0");
    assert_int_equal(db_open(aq_url, &a, &ei), ERR_OK);
    assert_int_equal(db_open(url_b, &b, &ei), ERR_OK);
    db_set_read_intent(a, true);
    db_set_read_intent(b, true);
    assert_true(db_read_intent(a));
    assert_int_equal(db_begin(a, &ei), ERR_OK);
    assert_int_equal(testdb_scalar(a, "SELECT COUNT(*) FROM audit_head", NULL, &n, &ei), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(db_begin(b, &ei), ERR_OK);
    assert_int_equal(testdb_scalar(b, "SELECT COUNT(*) FROM audit_head", NULL, &n, &ei), ERR_OK);
    assert_int_equal(n, 1);
#ifndef NDEBUG
    if (!testdb_is_pg()) {
        /* A write inside a read-intent transaction is a mistake the tests find. */
        err_t rc = db_run(a, &ei, NULL, "UPDATE audit_head SET seq = seq WHERE id = 1", "");
        assert_int_equal(rc, ERR_INTERNAL);
        assert_non_null(strstr(ei.message, "read-intent"));
    }
#endif
    assert_int_equal(db_commit(a, &ei), ERR_OK);
    assert_int_equal(db_commit(b, &ei), ERR_OK);
    /* Outside a transaction a statement commits on its own: it may write. */
    assert_int_equal(db_run(a, &ei, NULL, "UPDATE audit_head SET seq = seq WHERE id = 1", ""),
                     ERR_OK);
    /* Cleared, the connection's transactions take the write lock again. */
    db_set_read_intent(a, false);
    assert_false(db_read_intent(a));
    assert_int_equal(db_begin(a, &ei), ERR_OK);
    assert_int_equal(db_run(a, &ei, NULL, "UPDATE audit_head SET seq = seq WHERE id = 1", ""),
                     ERR_OK);
    assert_int_equal(db_commit(a, &ei), ERR_OK);
    db_close(a);
    db_close(b);
}

static int aq_setup(void **state)
{
    (void)state;
    if (!testdb_pick("auditq", aq_url, sizeof(aq_url), aq_tmp, sizeof(aq_tmp)))
        return -1;
    testdb_suffix(aq_sfx, 10, false);
    return testdb_open(aq_url, NULL, &aq_db) ? 0 : -1;
}

static int aq_teardown(void **state)
{
    (void)state;
    testdb_close(aq_db, aq_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_events_are_not_written),
        cmocka_unit_test(test_many_readers_one_event_each),
        cmocka_unit_test(test_event_keeps_the_time_of_its_read),
        cmocka_unit_test(test_failed_commit_fails_its_jobs_whole),
        cmocka_unit_test(test_stop_while_jobs_wait),
        cmocka_unit_test(test_read_intent_transactions),
    };
    return cmocka_run_group_tests_name(testdb_group("auditq"), tests, aq_setup, aq_teardown);
}
