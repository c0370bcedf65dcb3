/*
 * test_scale.c - unit tests of what lets several nodes share one database:
 * the outbox claimed by one node at a time, for a lease (lab/delivery.c:
 * one row per patient at a time, a claim another node cannot renew, a
 * lapsed claim taken over, claims given back, two claimers at once never
 * taking the same row), and events told to the other nodes with NOTIFY and
 * heard with LISTEN (store/db.c, store/pg.c: only at commit, never a node's
 * own, several events in one payload).
 *
 * Runs on BENCHSIDE_TEST_DB (PostgreSQL in tests/run.py's second pass) or on
 * a temporary SQLite file; the events part needs PostgreSQL and is skipped
 * on SQLite, which has one node.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evbus.h"
#include "base/time.h"
#include "lab/accession.h"
#include "lab/custody.h"
#include "lab/delivery.h"
#include "lab/instrument.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "lab/result.h"
#include "store/db.h"
#include "testdb.h"

#define LEASE_US (60 * 1000000LL)

static db *sc_db;
static char sc_url[512], sc_tmp[256], sc_sfx[11];
static const audit_ctx sc_ctx = {NULL, "test", "test"};

/* ---------------------------------------------------------------- helpers */

/* A received specimen of a new patient, its normal results entered (and so
 * released at once, each with an outbox row for the test's EHR). */
static void sc_released(const char *results)
{
    static int n;
    char mrn[48], family[48], body[512], acc[ACCESSION_LEN + 1];
    errinfo ei = {0};
    patient p;
    json_t *cand = NULL, *o = NULL, *b;
    n++;
    snprintf(mrn, sizeof(mrn), "SC%d-%s", n, sc_sfx);
    snprintf(family, sizeof(family), "Scale%d%s", n, sc_sfx);
    b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "mrn", mrn, "family", family, "given", "Pat",
                  "birth_date", "1970-05-05", "sex", "female", "confirm_new", 1);
    assert_int_equal(patient_create(sc_db, &sc_ctx, b, &p, &cand, &ei), ERR_OK);
    json_decref(b);
    snprintf(body, sizeof(body),
             "{\"patient_id\":\"%s\",\"tests\":[\"NA\",\"K\"],\"priority\":\"routine\","
             "\"clinician\":\"Dr. S\",\"reasons\":[\"R73.09\"]}",
             p.id);
    b = json_loads(body, 0, NULL);
    assert_non_null(b);
    assert_int_equal(order_create(sc_db, &sc_ctx, b, &o, &ei), ERR_OK);
    json_decref(b);
    snprintf(acc, sizeof(acc), "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(o, "specimens"), 0), "accession")));
    json_decref(o);
    for (int i = 0; i < 2; i++) {
        b = json_pack("{s:s}", "event", i ? "received" : "collected");
        assert_int_equal(custody_record(sc_db, &sc_ctx, acc, b, &o, &ei), ERR_OK);
        json_decref(b);
        json_decref(o);
    }
    b = json_loads(results, 0, NULL);
    assert_non_null(b);
    assert_int_equal(result_enter(sc_db, &sc_ctx, acc, b, &o, &ei), ERR_OK);
    json_decref(b);
    json_decref(o);
}

static int64_t sc_count(const char *sql, const char *arg)
{
    int64_t v = -1;
    errinfo ei = {0};
    assert_int_equal(testdb_scalar(sc_db, sql, arg, &v, &ei), ERR_OK);
    return v;
}

/* Nothing pending from an earlier run on the same database. */
static void sc_outbox_clear(void)
{
    errinfo ei = {0};
    assert_int_equal(db_run(sc_db, &ei, NULL,
                            "UPDATE outbox SET status = 'delivered', claimed_by = NULL,"
                            " claimed_until = NULL WHERE status = 'pending'",
                            ""),
                     ERR_OK);
}

static bool sc_has(const delivery_item *items, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(items[i].id, id))
            return true;
    return false;
}

/* ----------------------------------------------------------------- claims */

static void test_claim_lease_and_takeover(void **state)
{
    delivery_item a[8], b[8];
    int na = 0, nb = 0;
    bool ours = true;
    errinfo ei = {0};
    db *other = NULL;
    (void)state;
    sc_outbox_clear();
    /* patient 1: two results, patient 2: one; three rows for the EHR */
    sc_released("{\"results\":[{\"code\":\"NA\",\"value\":140},{\"code\":\"K\",\"value\":4.2}]}");
    sc_released("{\"results\":[{\"code\":\"NA\",\"value\":139}]}");
    assert_int_equal(sc_count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'", NULL), 3);
    assert_int_equal(db_open(sc_url, &other, &ei), ERR_OK);

    /* node A takes the first row of each patient; the second of patient 1
     * waits behind the first, claimed or not, so node B finds nothing */
    int64_t now = time_now_us() + 1000000;
    assert_int_equal(delivery_due(sc_db, "node-a", now, LEASE_US, a, 8, &na, &ei), ERR_OK);
    assert_int_equal(na, 2);
    assert_string_not_equal(a[0].mrn, a[1].mrn);
    assert_int_equal(delivery_due(other, "node-b", now, LEASE_US, b, 8, &nb, &ei), ERR_OK);
    assert_int_equal(nb, 0);
    assert_int_equal(sc_count("SELECT COUNT(*) FROM outbox WHERE claimed_by = ?", "node-a"), 2);

    /* only the holder renews its claim */
    assert_int_equal(delivery_hold(other, a[0].id, "node-b", now + LEASE_US, &ours, &ei), ERR_OK);
    assert_false(ours);
    assert_int_equal(delivery_hold(sc_db, a[0].id, "node-a", now + LEASE_US, &ours, &ei), ERR_OK);
    assert_true(ours);

    /* node A goes silent: once its lease lapses, node B takes both rows and
     * node A can no longer renew them */
    int64_t later = now + 2 * LEASE_US + 1;
    assert_int_equal(delivery_due(other, "node-b", later, LEASE_US, b, 8, &nb, &ei), ERR_OK);
    assert_int_equal(nb, 2);
    assert_true(sc_has(b, nb, a[0].id) && sc_has(b, nb, a[1].id));
    assert_int_equal(delivery_hold(sc_db, a[0].id, "node-a", later + LEASE_US, &ours, &ei), ERR_OK);
    assert_false(ours);

    /* B delivers patient 1's first row (its patient has two rows): the
     * second row is due now, for whoever asks */
    const char *p1_row = NULL;
    for (int i = 0; i < nb; i++)
        if (sc_count("SELECT COUNT(*) FROM outbox o JOIN patients p ON p.id = o.patient_id"
                     " WHERE p.mrn = ?",
                     b[i].mrn) == 2)
            p1_row = b[i].id;
    assert_non_null(p1_row);
    assert_int_equal(delivery_done(other, p1_row, "CTL1", &ei), ERR_OK);
    assert_int_equal(delivery_due(sc_db, "node-a", later, LEASE_US, a, 8, &na, &ei), ERR_OK);
    assert_int_equal(na, 1);
    assert_string_equal(a[0].code, "K");

    /* a failed attempt ends the claim; stopping gives back what is held */
    assert_int_equal(delivery_failed(sc_db, a[0].id, "refused", later, &ei), ERR_OK);
    assert_int_equal(sc_count("SELECT COUNT(*) FROM outbox WHERE claimed_by = ?", "node-a"), 0);
    assert_int_equal(sc_count("SELECT COUNT(*) FROM outbox WHERE claimed_by = ?", "node-b"), 1);
    assert_int_equal(delivery_unclaim(other, "node-b", &ei), ERR_OK);
    assert_int_equal(sc_count("SELECT COUNT(*) FROM outbox WHERE claimed_by IS NOT NULL", NULL), 0);
    assert_int_equal(delivery_due(sc_db, "node-a", later, LEASE_US, a, 8, &na, &ei), ERR_OK);
    assert_int_equal(na, 2);
    assert_int_equal(delivery_unclaim(sc_db, "node-a", &ei), ERR_OK);
    db_close(other);
    sc_outbox_clear();
}

/* Two claimers at once, each on its own connection, until nothing is due. */
struct claimer {
    const char *node;
    char ids[64][ID_LEN + 1];
    int n;
    err_t rc;
};

static void *claimer_main(void *arg)
{
    struct claimer *c = arg;
    db *d = NULL;
    errinfo ei = {0};
    delivery_item items[3];
    int idle = 0;
    c->rc = db_open(sc_url, &d, &ei);
    while (!c->rc && idle < 3) {
        int n = 0;
        c->rc = delivery_due(d, c->node, time_now_us() + 1000000, LEASE_US, items, 3, &n, &ei);
        if (c->rc == ERR_DB_BUSY) {
            c->rc = ERR_OK; /* SQLite: the other claimer held the lock too long */
            continue;
        }
        idle = n ? 0 : idle + 1;
        for (int i = 0; !c->rc && i < n; i++) {
            if (c->n < 64)
                snprintf(c->ids[c->n++], ID_LEN + 1, "%.*s", ID_LEN, items[i].id);
            c->rc = delivery_done(d, items[i].id, "CTL", &ei);
        }
        if (!n)
            usleep(20000);
    }
    db_close(d);
    return NULL;
}

static void test_two_claimers_take_each_row_once(void **state)
{
    struct claimer c[2] = {{.node = "node-a"}, {.node = "node-b"}};
    pthread_t t[2];
    (void)state;
    sc_outbox_clear();
    for (int i = 0; i < 16; i++)
        sc_released("{\"results\":[{\"code\":\"NA\",\"value\":141}]}");
    assert_int_equal(sc_count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'", NULL), 16);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, claimer_main, &c[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(c[0].rc, ERR_OK);
    assert_int_equal(c[1].rc, ERR_OK);
    assert_int_equal(c[0].n + c[1].n, 16);
    for (int i = 0; i < c[0].n; i++)
        for (int j = 0; j < c[1].n; j++)
            assert_string_not_equal(c[0].ids[i], c[1].ids[j]);
    assert_int_equal(sc_count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'", NULL), 0);
}

/* ----------------------------------------------------------------- events */

/* Events on the bus within ms, their kinds joined by spaces into out. */
static void sc_collect(evbus_sub *s, int want, int ms, char *out, size_t n)
{
    int got = 0;
    size_t o = 0;
    out[0] = '\0';
    for (int waited = 0; got < want && waited <= ms; waited += 10) {
        evbus_event ev;
        while (got < want && evbus_next(s, &ev) == EVBUS_EVENT) {
            o += (size_t)snprintf(out + o, n - o, "%s%s", o ? " " : "", ev.kind);
            if (o >= n)
                o = n - 1;
            got++;
            evbus_event_clear(&ev);
        }
        if (got < want)
            usleep(10000);
    }
}

static void sc_notify(const char *payload)
{
    errinfo ei = {0};
    assert_int_equal(
        db_run(sc_db, &ei, NULL, "SELECT pg_notify('" DB_EVENTS_CHANNEL "', ?)", "t", payload),
        ERR_OK);
}

/* Wait until the listener hears (it LISTENs on a thread of its own). */
static void sc_listener_ready(evbus_sub *s)
{
    char got[256] = "";
    for (int i = 0; i < 100 && !got[0]; i++) {
        sc_notify("elsewhere\nprobe.ready {}\n");
        sc_collect(s, 1, 50, got, sizeof(got));
    }
    assert_string_equal(got, "probe.ready");
    /* later probes may still come: drain them */
    usleep(200000);
    sc_collect(s, 1000, 0, got, sizeof(got));
}

static void test_events_reach_other_nodes(void **state)
{
    db_listener *l = NULL;
    evbus_sub *s = NULL;
    errinfo ei = {0};
    char got[512];
    (void)state;
    if (!testdb_is_pg()) {
        skip();
        return;
    }
    assert_int_equal(evbus_subscribe(evbus_global(), 0, NULL, NULL, &s), ERR_OK);
    /* this listener plays node B ... */
    db_share_events("node-b");
    assert_int_equal(db_listen_start(sc_url, &l, &ei), ERR_OK);
    assert_non_null(l);
    sc_listener_ready(s);

    /* another node's payload: two events, both published here */
    sc_notify("node-c\nresult.released {\"n\":1}\nqc.rejected {\"n\":2}\n");
    sc_collect(s, 2, 5000, got, sizeof(got));
    assert_string_equal(got, "result.released qc.rejected");
    /* its own payloads are skipped (they are on its bus already) */
    sc_notify("node-b\nresult.released {\"n\":3}\n");

    /* ... while this connection commits as node A: the event is on the bus
     * at once, and again when node B's listener hears it */
    db_share_events("node-a");
    assert_int_equal(db_begin(sc_db, &ei), ERR_OK);
    assert_int_equal(db_publish(sc_db, "result.entered", "{\"n\":4}", 7, &ei), ERR_OK);
    assert_int_equal(db_commit(sc_db, &ei), ERR_OK);
    sc_collect(s, 2, 5000, got, sizeof(got));
    assert_string_equal(got, "result.entered result.entered");

    /* what is rolled back is told to nobody */
    assert_int_equal(db_begin(sc_db, &ei), ERR_OK);
    assert_int_equal(db_publish(sc_db, "result.corrected", "{\"n\":5}", 7, &ei), ERR_OK);
    db_rollback(sc_db);

    /* many events in one transaction travel in several payloads, in order */
    assert_int_equal(db_begin(sc_db, &ei), ERR_OK);
    char data[EVBUS_DATA_MAX];
    memset(data, 'x', sizeof(data));
    memcpy(data, "{\"p\":\"", 6);
    memcpy(data + sizeof(data) - 2, "\"}", 2);
    for (int i = 0; i < 6; i++)
        assert_int_equal(
            db_publish(sc_db, i == 5 ? "device.due" : "custody.received", data, sizeof(data), &ei),
            ERR_OK);
    assert_int_equal(db_commit(sc_db, &ei), ERR_OK);
    /* 6 at commit here, 6 more from the listener */
    sc_collect(s, 12, 5000, got, sizeof(got));
    assert_string_equal(got, "custody.received custody.received custody.received "
                             "custody.received custody.received device.due "
                             "custody.received custody.received custody.received "
                             "custody.received custody.received device.due");
    sc_collect(s, 1, 300, got, sizeof(got));
    assert_string_equal(got, "");

    db_listen_stop(l);
    db_share_events(NULL);
    evbus_unsubscribe(s);
}

/* Sharing off (SQLite, or a single node): a commit sends nothing. */
static void test_no_sharing_on_sqlite(void **state)
{
    db_listener *l = NULL;
    errinfo ei = {0};
    (void)state;
    if (testdb_is_pg()) {
        skip();
        return;
    }
    db_share_events("node-a");
    assert_int_equal(db_listen_start(sc_url, &l, &ei), ERR_OK);
    assert_null(l);
    assert_int_equal(db_begin(sc_db, &ei), ERR_OK);
    assert_int_equal(db_publish(sc_db, "result.entered", "{}", 2, &ei), ERR_OK);
    assert_int_equal(db_commit(sc_db, &ei), ERR_OK);
    db_share_events(NULL);
}

static int sc_setup(void **state)
{
    errinfo ei = {0};
    int count = 0;
    (void)state;
    testdb_suffix(sc_sfx, sizeof(sc_sfx) - 1, false);
    if (!testdb_pick("scale", sc_url, sizeof(sc_url), sc_tmp, sizeof(sc_tmp)))
        return -1;
    if (!testdb_open(sc_url, &sc_ctx, &sc_db))
        return -1;
    /* One EHR: each release adds one outbox row. The address is never used. */
    json_t *doc = json_loads("{\"instruments\":[{\"name\":\"EHR-SCALE\",\"kind\":\"ehr\","
                             "\"protocol\":\"hl7\",\"match\":{\"application\":\"SCALE\"},"
                             "\"send_to\":\"127.0.0.1:9\"}]}",
                             0, NULL);
    err_t rc = doc ? instrument_import(sc_db, &sc_ctx, doc, &count, &ei) : ERR_NOMEM;
    json_decref(doc);
    if (!rc)
        rc = db_run(sc_db, &ei, NULL,
                    "UPDATE instruments SET enabled = 0 WHERE kind = 'ehr' AND name <> 'EHR-SCALE'",
                    "");
    if (rc)
        fprintf(stderr, "scale: set-up failed: %s\n", ei.message);
    return rc ? -1 : 0;
}

static int sc_teardown(void **state)
{
    (void)state;
    testdb_close(sc_db, sc_tmp);
    sc_db = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_lease_and_takeover),
        cmocka_unit_test(test_two_claimers_take_each_row_once),
        cmocka_unit_test(test_events_reach_other_nodes),
        cmocka_unit_test(test_no_sharing_on_sqlite),
    };
    return cmocka_run_group_tests_name(testdb_group("scale"), tests, sc_setup, sc_teardown);
}
