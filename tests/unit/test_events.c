/*
 * test_events.c - unit tests of live events: the event bus (src/base/evbus.c:
 * order and ids, resuming after an id, a ring overrun and a cursor from
 * another run seen as a gap, many readers at once, a reader that never reads
 * not holding a writer back, wake once per arming, bad input), events held
 * until their transaction commits (db_publish in src/store/db.c: savepoints
 * released and rolled back), what the laboratory publishes (a result
 * entered with its critical value, its call and release; a refused entry
 * publishing nothing), and what the equipment publishes (a temperature
 * excursion opening its alert and the alert closed, a high-severity work order
 * and the device going out of service, a tolerance-QC lockout opening and
 * closing; a refused request and a low-severity fault publishing nothing) with
 * the permission each kind needs in the stream.
 *
 * The database part runs on BENCHSIDE_TEST_DB (PostgreSQL in tests/run.py's
 * second pass) or on a temporary SQLite file.
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

#include "base/evbus.h"
#include "equip/asset.h"
#include "equip/storage.h"
#include "equip/templog.h"
#include "equip/workorder.h"
#include "http/sse.h"
#include "lab/accession.h"
#include "lab/custody.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "lab/result.h"
#include "qc/tolerance.h"
#include "store/db.h"
#include "store/dbjson.h"
#include "testdb.h"

static db *ev_db;
static char ev_url[512], ev_tmp[256], ev_sfx[11];
static const audit_ctx ev_ctx = {NULL, "test", "test"};

/* ---------------------------------------------------------------- helpers */

static void ev_publish(evbus *b, const char *kind, const char *data, uint64_t *id)
{
    assert_int_equal(evbus_publish(b, kind, data, strlen(data), id), ERR_OK);
}

/* The next event: its status, and kind and data into the caller's buffers. */
static evbus_status ev_next(evbus_sub *s, uint64_t *id, char *kind, char *data, size_t n)
{
    evbus_event ev;
    evbus_status st = evbus_next(s, &ev);
    if (st == EVBUS_EVENT) {
        if (id)
            *id = ev.id;
        if (kind)
            snprintf(kind, EVBUS_KIND_MAX + 1, "%s", ev.kind);
        if (data)
            snprintf(data, n, "%s", ev.data);
        evbus_event_clear(&ev);
    }
    return st;
}

static void count_wake(void *arg)
{
    (*(int *)arg)++;
}

/* ------------------------------------------------------------------ bus */

static void test_order_and_ids(void **state)
{
    evbus *b = NULL;
    evbus_sub *s = NULL;
    uint64_t id1 = 0, id2 = 0, got = 0;
    char kind[EVBUS_KIND_MAX + 1], data[64];
    (void)state;
    assert_int_equal(evbus_new(8, 100, &b), ERR_OK);
    assert_int_equal(evbus_subscribe(b, 0, NULL, NULL, &s), ERR_OK);
    assert_int_equal(ev_next(s, NULL, NULL, NULL, 0), EVBUS_NONE);
    ev_publish(b, "result.entered", "{\"n\":1}", &id1);
    ev_publish(b, "critical.raised", "{\"n\":2}", &id2);
    assert_int_equal(id1, 100);
    assert_int_equal(id2, 101);
    assert_int_equal(ev_next(s, &got, kind, data, sizeof(data)), EVBUS_EVENT);
    assert_int_equal(got, 100);
    assert_string_equal(kind, "result.entered");
    assert_string_equal(data, "{\"n\":1}");
    assert_int_equal(ev_next(s, &got, kind, data, sizeof(data)), EVBUS_EVENT);
    assert_int_equal(got, 101);
    assert_string_equal(kind, "critical.raised");
    assert_int_equal(evbus_cursor(s), 101);
    assert_int_equal(ev_next(s, NULL, NULL, NULL, 0), EVBUS_NONE);
    evbus_unsubscribe(s);
    evbus_free(b);
}

/* A reconnection with Last-Event-ID gets what came after it, and only that. */
static void test_resume_after_id(void **state)
{
    evbus *b = NULL;
    evbus_sub *s = NULL;
    uint64_t got = 0;
    char data[64];
    (void)state;
    assert_int_equal(evbus_new(8, 1, &b), ERR_OK);
    for (int i = 1; i <= 5; i++) {
        char d[16];
        snprintf(d, sizeof(d), "{\"n\":%d}", i);
        ev_publish(b, "result.released", d, NULL);
    }
    assert_int_equal(evbus_subscribe(b, 3, NULL, NULL, &s), ERR_OK);
    assert_int_equal(ev_next(s, &got, NULL, data, sizeof(data)), EVBUS_EVENT);
    assert_int_equal(got, 4);
    assert_string_equal(data, "{\"n\":4}");
    assert_int_equal(ev_next(s, &got, NULL, data, sizeof(data)), EVBUS_EVENT);
    assert_int_equal(got, 5);
    assert_int_equal(ev_next(s, NULL, NULL, NULL, 0), EVBUS_NONE);
    evbus_unsubscribe(s);
    evbus_free(b);
}

/* Ring of 4, ten events: a reader at id 2 lost 3..6 and goes on at 7. */
static void test_ring_overrun_is_a_gap(void **state)
{
    evbus *b = NULL;
    evbus_sub *s = NULL;
    uint64_t got = 0;
    (void)state;
    assert_int_equal(evbus_new(4, 1, &b), ERR_OK);
    for (int i = 0; i < 10; i++)
        ev_publish(b, "qc.rejected", "{}", NULL);
    assert_int_equal(evbus_subscribe(b, 2, NULL, NULL, &s), ERR_OK);
    assert_int_equal(ev_next(s, NULL, NULL, NULL, 0), EVBUS_GAP);
    for (uint64_t want = 7; want <= 10; want++) {
        assert_int_equal(ev_next(s, &got, NULL, NULL, 0), EVBUS_EVENT);
        assert_int_equal(got, want);
    }
    assert_int_equal(ev_next(s, NULL, NULL, NULL, 0), EVBUS_NONE);
    evbus_unsubscribe(s);
    evbus_free(b);
}

/* An id this bus never gave (a browser that saw an earlier run) is a gap too. */
static void test_cursor_from_elsewhere(void **state)
{
    evbus *b = NULL;
    evbus_sub *ahead = NULL, *behind = NULL;
    uint64_t got = 0;
    (void)state;
    assert_int_equal(evbus_new(16, 1000, &b), ERR_OK);
    ev_publish(b, "result.entered", "{}", NULL);
    ev_publish(b, "result.entered", "{}", NULL);
    assert_int_equal(evbus_subscribe(b, 5000, NULL, NULL, &ahead), ERR_OK);
    assert_int_equal(ev_next(ahead, NULL, NULL, NULL, 0), EVBUS_GAP);
    assert_int_equal(ev_next(ahead, NULL, NULL, NULL, 0), EVBUS_NONE);
    ev_publish(b, "result.entered", "{}", NULL);
    assert_int_equal(ev_next(ahead, &got, NULL, NULL, 0), EVBUS_EVENT);
    assert_int_equal(got, 1002);
    /* from before this bus's first event: everything it holds, after the gap */
    assert_int_equal(evbus_subscribe(b, 17, NULL, NULL, &behind), ERR_OK);
    assert_int_equal(ev_next(behind, NULL, NULL, NULL, 0), EVBUS_GAP);
    assert_int_equal(ev_next(behind, &got, NULL, NULL, 0), EVBUS_EVENT);
    assert_int_equal(got, 1000);
    evbus_unsubscribe(ahead);
    evbus_unsubscribe(behind);
    evbus_free(b);
}

/* wake is called once per arming: an armed reader hears of the first new
 * event only; a reader that has not looked yet is not woken at all. */
static void test_wake_once_per_arming(void **state)
{
    evbus *b = NULL;
    evbus_sub *s = NULL, *quiet = NULL;
    int wakes = 0, quiet_wakes = 0;
    (void)state;
    assert_int_equal(evbus_new(8, 1, &b), ERR_OK);
    assert_int_equal(evbus_subscribe(b, 0, count_wake, &wakes, &s), ERR_OK);
    assert_int_equal(evbus_subscribe(b, 0, count_wake, &quiet_wakes, &quiet), ERR_OK);
    ev_publish(b, "result.entered", "{}", NULL);
    assert_int_equal(wakes, 0); /* never armed */
    assert_int_equal(ev_next(s, NULL, NULL, NULL, 0), EVBUS_EVENT);
    assert_int_equal(ev_next(s, NULL, NULL, NULL, 0), EVBUS_NONE); /* armed */
    ev_publish(b, "result.entered", "{}", NULL);
    ev_publish(b, "result.entered", "{}", NULL);
    assert_int_equal(wakes, 1);
    assert_int_equal(quiet_wakes, 0);
    evbus_unsubscribe(s);
    ev_publish(b, "result.entered", "{}", NULL);
    assert_int_equal(wakes, 1);
    evbus_unsubscribe(quiet);
    evbus_free(b);
}

static void test_bad_input(void **state)
{
    evbus *b = NULL;
    char big[EVBUS_DATA_MAX + 2];
    (void)state;
    assert_int_equal(evbus_new(0, 1, &b), ERR_INVALID);
    assert_int_equal(evbus_new(4, 0, &b), ERR_INVALID);
    assert_int_equal(evbus_new(4, 1, &b), ERR_OK);
    assert_int_equal(evbus_publish(b, "two words", "{}", 2, NULL), ERR_INVALID);
    assert_int_equal(evbus_publish(b, "", "{}", 2, NULL), ERR_INVALID);
    assert_int_equal(evbus_publish(b, "result.entered", "{\n}", 3, NULL), ERR_INVALID);
    memset(big, 'x', sizeof(big));
    assert_int_equal(evbus_publish(b, "result.entered", big, sizeof(big), NULL), ERR_INVALID);
    /* nothing was published: the first good event has the first id */
    uint64_t id = 0;
    ev_publish(b, "result.entered", "{}", &id);
    assert_int_equal(id, 1);
    evbus_free(b);
}

/* A reader that never reads does not hold the writer back: the ring simply
 * moves on, and the reader learns of the gap when it looks. */
static void test_slow_reader_does_not_block(void **state)
{
    evbus *b = NULL;
    evbus_sub *slow = NULL;
    uint64_t got = 0;
    (void)state;
    assert_int_equal(evbus_new(16, 1, &b), ERR_OK);
    assert_int_equal(evbus_subscribe(b, 0, NULL, NULL, &slow), ERR_OK);
    for (int i = 0; i < 10000; i++)
        ev_publish(b, "result.entered", "{\"x\":1}", NULL);
    assert_int_equal(ev_next(slow, NULL, NULL, NULL, 0), EVBUS_GAP);
    assert_int_equal(ev_next(slow, &got, NULL, NULL, 0), EVBUS_EVENT);
    assert_int_equal(got, 10000 - 16 + 1);
    evbus_unsubscribe(slow);
    evbus_free(b);
}

/* Many readers in their own threads, each waiting on its wake, receive every
 * event in order while a writer publishes. */
#define READERS 8
#define EVENTS  2000

struct reader {
    evbus *bus;
    evbus_sub *sub;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool woken;
    int received;
    bool in_order;
};

static void reader_wake(void *arg)
{
    struct reader *r = arg;
    pthread_mutex_lock(&r->mu);
    r->woken = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    uint64_t last = 0;
    while (r->received < EVENTS) {
        evbus_event ev;
        evbus_status st = evbus_next(r->sub, &ev);
        if (st == EVBUS_EVENT) {
            if (last && ev.id != last + 1)
                r->in_order = false;
            last = ev.id;
            r->received++;
            evbus_event_clear(&ev);
            continue;
        }
        if (st == EVBUS_GAP) {
            r->in_order = false;
            continue;
        }
        pthread_mutex_lock(&r->mu);
        while (!r->woken)
            pthread_cond_wait(&r->cv, &r->mu);
        r->woken = false;
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

static void test_many_readers(void **state)
{
    evbus *b = NULL;
    struct reader rd[READERS];
    pthread_t th[READERS];
    (void)state;
    assert_int_equal(evbus_new(EVENTS, 1, &b), ERR_OK);
    for (int i = 0; i < READERS; i++) {
        memset(&rd[i], 0, sizeof(rd[i]));
        rd[i].bus = b;
        rd[i].in_order = true;
        pthread_mutex_init(&rd[i].mu, NULL);
        pthread_cond_init(&rd[i].cv, NULL);
        assert_int_equal(evbus_subscribe(b, 0, reader_wake, &rd[i], &rd[i].sub), ERR_OK);
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    for (int i = 0; i < EVENTS; i++) {
        char d[32];
        snprintf(d, sizeof(d), "{\"n\":%d}", i);
        ev_publish(b, "result.entered", d, NULL);
    }
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rd[i].received, EVENTS);
        assert_true(rd[i].in_order);
        evbus_unsubscribe(rd[i].sub);
        pthread_mutex_destroy(&rd[i].mu);
        pthread_cond_destroy(&rd[i].cv);
    }
    evbus_free(b);
}

/* ------------------------------------------------- events and transactions */

/* Kinds the process bus delivers to s, in order, joined by spaces into out. */
static void ev_drain(evbus_sub *s, char *out, size_t n)
{
    char kind[EVBUS_KIND_MAX + 1];
    size_t off = 0;
    out[0] = '\0';
    while (ev_next(s, NULL, kind, NULL, 0) == EVBUS_EVENT)
        off += (size_t)snprintf(out + off, off < n ? n - off : 0, "%s%s", off ? " " : "", kind);
}

static void ev_put(const char *kind)
{
    errinfo ei = {0};
    assert_int_equal(db_publish_json(ev_db, kind, json_pack("{s:s}", "k", kind), &ei), ERR_OK);
}

static void test_published_on_commit(void **state)
{
    evbus_sub *s = NULL;
    errinfo ei = {0};
    char got[512];
    (void)state;
    assert_non_null(evbus_global());
    assert_int_equal(evbus_subscribe(evbus_global(), 0, NULL, NULL, &s), ERR_OK);

    /* outside a transaction: at once */
    ev_put("t.now");
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "t.now");

    /* inside: only at the commit */
    assert_int_equal(db_begin(ev_db, &ei), ERR_OK);
    ev_put("t.a");
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");
    assert_int_equal(db_commit(ev_db, &ei), ERR_OK);
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "t.a");

    /* rolled back: never */
    assert_int_equal(db_begin(ev_db, &ei), ERR_OK);
    ev_put("t.lost");
    db_rollback(ev_db);
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");

    /* savepoints: a released one waits for the outer commit, a rolled-back
     * one loses only its own events */
    assert_int_equal(db_begin(ev_db, &ei), ERR_OK);
    ev_put("t.outer");
    assert_int_equal(db_begin(ev_db, &ei), ERR_OK);
    ev_put("t.kept");
    assert_int_equal(db_commit(ev_db, &ei), ERR_OK);
    assert_int_equal(db_begin(ev_db, &ei), ERR_OK);
    ev_put("t.undone");
    assert_int_equal(db_begin(ev_db, &ei), ERR_OK);
    ev_put("t.undone-inner");
    assert_int_equal(db_commit(ev_db, &ei), ERR_OK);
    db_rollback(ev_db);
    ev_put("t.last");
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");
    assert_int_equal(db_commit(ev_db, &ei), ERR_OK);
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "t.outer t.kept t.last");

    /* the outer transaction rolled back takes its released savepoints along */
    assert_int_equal(db_begin(ev_db, &ei), ERR_OK);
    assert_int_equal(db_begin(ev_db, &ei), ERR_OK);
    ev_put("t.inner");
    assert_int_equal(db_commit(ev_db, &ei), ERR_OK);
    db_rollback(ev_db);
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");

    assert_int_equal(db_publish(ev_db, "bad", "{}", EVBUS_DATA_MAX + 1, &ei), ERR_INVALID);
    evbus_unsubscribe(s);
}

/* A received specimen of a new patient with tests (JSON array text). */
static void ev_specimen(const char *tests, char acc[ACCESSION_LEN + 1])
{
    static int n;
    char mrn[48], family[48], body[512];
    errinfo ei = {0};
    patient p;
    json_t *cand = NULL, *o = NULL, *b;
    json_error_t je;
    n++;
    snprintf(mrn, sizeof(mrn), "EV%d-%s", n, ev_sfx);
    snprintf(family, sizeof(family), "Event%d%s", n, ev_sfx);
    b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "mrn", mrn, "family", family, "given", "Pat",
                  "birth_date", "1970-05-05", "sex", "female", "confirm_new", 1);
    assert_int_equal(patient_create(ev_db, &ev_ctx, b, &p, &cand, &ei), ERR_OK);
    json_decref(b);
    snprintf(body, sizeof(body),
             "{\"patient_id\":\"%s\",\"tests\":%s,\"priority\":\"stat\",\"clinician\":\"Dr. E\","
             "\"reasons\":[\"R73.09\"]}",
             p.id, tests);
    b = json_loads(body, 0, &je);
    assert_non_null(b);
    assert_int_equal(order_create(ev_db, &ev_ctx, b, &o, &ei), ERR_OK);
    json_decref(b);
    snprintf(acc, ACCESSION_LEN + 1, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(o, "specimens"), 0), "accession")));
    json_decref(o);
    for (int i = 0; i < 2; i++) {
        b = json_pack("{s:s}", "event", i ? "received" : "collected");
        assert_int_equal(custody_record(ev_db, &ev_ctx, acc, b, &o, &ei), ERR_OK);
        json_decref(b);
        json_decref(o);
    }
}

/* The JSON data of the next event of kind (skipping others); NULL if none. */
static json_t *ev_find(evbus_sub *s, const char *kind)
{
    evbus_event ev;
    while (evbus_next(s, &ev) == EVBUS_EVENT) {
        json_t *j = strcmp(ev.kind, kind) ? NULL : json_loads(ev.data, 0, NULL);
        evbus_event_clear(&ev);
        if (j)
            return j;
    }
    return NULL;
}

static void test_laboratory_publishes(void **state)
{
    char acc[ACCESSION_LEN + 1], got[512];
    errinfo ei = {0};
    evbus_sub *s = NULL;
    json_t *b, *o = NULL, *e;
    (void)state;
    ev_specimen("[\"K\",\"NA\"]", acc);
    assert_int_equal(evbus_subscribe(evbus_global(), 0, NULL, NULL, &s), ERR_OK);

    /* a refused entry (a value that is no number) publishes nothing */
    b = json_loads(
        "{\"results\":[{\"code\":\"NA\",\"value\":140},{\"code\":\"K\",\"value\":\"x\"}]}", 0,
        NULL);
    assert_int_equal(result_enter(ev_db, &ev_ctx, acc, b, &o, &ei), ERR_INVALID);
    json_decref(b);
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");

    /* K 7.1 is critical: entered, critical raised; NA 140 released at once */
    b = json_loads("{\"results\":[{\"code\":\"K\",\"value\":7.1},{\"code\":\"NA\",\"value\":140}]}",
                   0, NULL);
    assert_int_equal(result_enter(ev_db, &ev_ctx, acc, b, &o, &ei), ERR_OK);
    json_decref(b);
    const char *k_id = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(o, "results"), i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "code")), "K"))
            k_id = json_string_value(json_object_get(r, "id"));
    }
    assert_non_null(k_id);
    char kid[ID_LEN + 1];
    snprintf(kid, sizeof(kid), "%s", k_id);
    json_decref(o);
    o = NULL;

    e = ev_find(s, "result.entered");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "result_id")), kid);
    assert_string_equal(json_string_value(json_object_get(e, "accession")), acc);
    assert_string_equal(json_string_value(json_object_get(e, "test")), "K");
    assert_string_equal(json_string_value(json_object_get(e, "flag")), "HH");
    assert_true(json_is_true(json_object_get(e, "critical")));
    assert_string_equal(json_string_value(json_object_get(e, "priority")), "stat");
    assert_null(json_object_get(e, "value")); /* no values travel */
    json_decref(e);
    e = ev_find(s, "critical.raised");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "result_id")), kid);
    json_decref(e);
    e = ev_find(s, "result.released"); /* NA, automatically */
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "mode")), "auto");
    json_decref(e);
    ev_drain(s, got, sizeof(got));

    /* the call, then a release by hand */
    b = json_pack("{s:s,s:b}", "notified", "RN E", "read_back", 1);
    assert_int_equal(result_critical_call(ev_db, &ev_ctx, kid, b, &o, &ei), ERR_OK);
    json_decref(b);
    json_decref(o);
    e = ev_find(s, "critical.called");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "result_id")), kid);
    json_decref(e);
    evbus_unsubscribe(s);
}

/* ---------------------------------------------------------------- devices */

#define EV_PW "device events password 1"

/* f(d, ctx, body, &out, ei) on the JSON text; the answer (NULL when refused,
 * with *rc and ei). */
static json_t *ev_call(err_t (*f)(db *, const audit_ctx *, const json_t *, json_t **, errinfo *),
                       const char *text, err_t *rc, errinfo *ei)
{
    json_t *body = json_loads(text, 0, NULL), *out = NULL;
    assert_non_null(body);
    memset(ei, 0, sizeof(*ei));
    *rc = f(ev_db, &ev_ctx, body, &out, ei);
    json_decref(body);
    return out;
}

/* A string member of an event's data, "" when absent. */
static const char *ev_str(const json_t *e, const char *key)
{
    const char *v = json_string_value(json_object_get(e, key));
    return v ? v : "";
}

/* Record a reading of celsius in unit as u: the unit's open alert after it
 * into alert (ID_LEN + 1 bytes; "" when none). */
static void ev_reading(const audit_ctx *ctx, const user *u, const char *unit, double celsius,
                       char *alert)
{
    errinfo ei = {0};
    json_t *out = NULL, *b = json_pack("{s:f}", "celsius", celsius);
    assert_int_equal(equip_templog_record(ev_db, ctx, u, unit, b, &out, &ei), ERR_OK);
    snprintf(alert, ID_LEN + 1, "%s", ev_str(json_object_get(out, "alert"), "id"));
    json_decref(b);
    json_decref(out);
}

/* Record a result of value on a tolerance check: its lockout (the open one
 * after it) into lock (ID_LEN + 1 bytes; "" when none). */
static void ev_check_result(const audit_ctx *ctx, const char *check, double value, char *lock)
{
    errinfo ei = {0};
    json_t *out = NULL, *b = json_pack("{s:f}", "value", value);
    assert_int_equal(qc_tolerance_result_enter(ev_db, ctx, check, b, &out, &ei), ERR_OK);
    snprintf(lock, ID_LEN + 1, "%s", ev_str(out, "lockout"));
    json_decref(b);
    json_decref(out);
}

/* Close a tolerance-QC lockout signed with password, as u. */
static err_t ev_lockout_close(const audit_ctx *ctx, const user *u, const char *lock,
                              const char *password)
{
    errinfo ei = {0};
    json_t *out = NULL,
           *b = json_pack("{s:s,s:s}", "corrective_action", "probe replaced", "password", password);
    err_t rc = qc_tolerance_lockout_close(ev_db, ctx, u, lock, b, &out, &ei);
    json_decref(b);
    json_decref(out);
    return rc;
}

static void test_devices_publish(void **state)
{
    char tag[48], unit[48], text[512], got[512], alert[ID_LEN + 1], wo[ID_LEN + 1];
    char check[ID_LEN + 1], lock[ID_LEN + 1], still[ID_LEN + 1], uname[USER_NAME_MAX + 1],
        lower[11];
    errinfo ei = {0};
    err_t rc;
    user u;
    evbus_sub *s = NULL;
    json_t *o, *e, *b;
    (void)state;
    testdb_suffix(lower, 10, true);
    snprintf(uname, sizeof(uname), "ev-%s", lower);
    assert_int_equal(user_create(ev_db, &ev_ctx, uname, "Biomed", "supervisor", EV_PW, &u, &ei),
                     ERR_OK);
    const audit_ctx ctx = {u.id, u.username, "test"};
    snprintf(tag, sizeof(tag), "EV-FRIDGE-%s", ev_sfx);
    snprintf(unit, sizeof(unit), "EV-F-%s", ev_sfx);
    snprintf(text, sizeof(text),
             "{\"tag\":\"%s\",\"class\":\"refrigerator\",\"manufacturer\":\"Acme\",\"model\":"
             "\"R2\",\"serial\":\"%s\",\"location\":\"Core lab\",\"risk_class\":\"medium\","
             "\"owner\":\"Laboratory\"}",
             tag, tag);
    json_decref(ev_call(equip_asset_create, text, &rc, &ei));
    assert_int_equal(rc, ERR_OK);
    snprintf(text, sizeof(text),
             "{\"name\":\"%s\",\"kind\":\"refrigerator\",\"asset\":\"%s\",\"low\":2,\"high\":8}",
             unit, tag);
    json_decref(ev_call(equip_storage_create, text, &rc, &ei));
    assert_int_equal(rc, ERR_OK);
    assert_int_equal(evbus_subscribe(evbus_global(), 0, NULL, NULL, &s), ERR_OK);

    /* 5.1 degrees is within 2-8: nothing to tell */
    ev_reading(&ctx, &u, unit, 5.1, alert);
    assert_string_equal(alert, "");
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");

    /* 9.4 opens the unit's alert; 10.2 joins it and says nothing new */
    ev_reading(&ctx, &u, unit, 9.4, alert);
    e = ev_find(s, "device.temperature.opened");
    assert_non_null(e);
    assert_string_equal(ev_str(e, "alert_id"), alert);
    assert_string_equal(ev_str(e, "unit"), unit);
    assert_null(json_object_get(e, "celsius")); /* no values travel */
    json_decref(e);
    ev_reading(&ctx, &u, unit, 10.2, wo);
    assert_string_equal(wo, alert);
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");

    /* closed with what was done */
    b = json_pack("{s:s,s:s}", "action", "door closed, compressor checked", "disposition",
                  "reagents moved to FRIDGE-1");
    assert_int_equal(equip_templog_alert_close(ev_db, &ctx, &u, alert, b, false, &o, &ei), ERR_OK);
    json_decref(b);
    json_decref(o);
    e = ev_find(s, "device.temperature.closed");
    assert_non_null(e);
    assert_string_equal(ev_str(e, "alert_id"), alert);
    assert_string_equal(ev_str(e, "unit"), unit);
    json_decref(e);

    /* a refused report and a low-severity fault publish nothing */
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",\"fault\":\"noisy\",\"severity\":\"severe\"}",
             tag);
    b = json_loads(text, 0, NULL);
    assert_int_equal(equip_workorder_report(ev_db, &ctx, &u, b, &o, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "severity");
    json_decref(b);
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",\"fault\":\"noisy fan\",\"severity\":\"low\"}",
             tag);
    b = json_loads(text, 0, NULL);
    assert_int_equal(equip_workorder_report(ev_db, &ctx, &u, b, &o, &ei), ERR_OK);
    json_decref(b);
    json_decref(o);
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");

    /* high: told at once, and the device is out of service */
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"fault\":\"compressor stopped\",\"severity\":\"high\"}", tag);
    b = json_loads(text, 0, NULL);
    assert_int_equal(equip_workorder_report(ev_db, &ctx, &u, b, &o, &ei), ERR_OK);
    json_decref(b);
    snprintf(wo, sizeof(wo), "%s", ev_str(o, "id"));
    json_decref(o);
    e = ev_find(s, "device.status");
    assert_non_null(e);
    assert_string_equal(ev_str(e, "asset"), tag);
    assert_string_equal(ev_str(e, "status"), "out-of-service");
    assert_string_equal(ev_str(e, "from"), "in-service");
    json_decref(e);
    e = ev_find(s, "device.work_order.reported");
    assert_non_null(e);
    assert_string_equal(ev_str(e, "work_order_id"), wo);
    assert_string_equal(ev_str(e, "asset"), tag);
    assert_string_equal(ev_str(e, "severity"), "high");
    assert_null(json_object_get(e, "fault"));
    json_decref(e);

    /* back in service after a passing verification */
    b = json_pack("{s:s,s:s}", "verified", "holds 4 degrees for an hour", "outcome", "pass");
    assert_int_equal(equip_workorder_return(ev_db, &ctx, &u, wo, b, &o, &ei), ERR_OK);
    json_decref(b);
    json_decref(o);
    e = ev_find(s, "device.status");
    assert_non_null(e);
    assert_string_equal(ev_str(e, "status"), "in-service");
    json_decref(e);

    /* a tolerance check failing locks the device; passing and signed, it opens */
    snprintf(text, sizeof(text),
             "{\"device\":\"%s\",\"code\":\"TEMP-PROBE\",\"name\":\"Reference probe\","
             "\"unit\":\"Cel\",\"target\":4,\"tolerance\":0.5,\"frequency\":\"24h\"}",
             tag);
    o = ev_call(qc_tolerance_check_create, text, &rc, &ei);
    assert_int_equal(rc, ERR_OK);
    snprintf(check, sizeof(check), "%s", ev_str(o, "id"));
    json_decref(o);
    ev_check_result(&ctx, check, 4.3, lock);
    assert_string_equal(lock, "");
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, ""); /* a pass */
    ev_check_result(&ctx, check, 5.1, lock);
    e = ev_find(s, "device.qc.lockout.opened");
    assert_non_null(e);
    assert_string_equal(ev_str(e, "lockout_id"), lock);
    assert_string_equal(ev_str(e, "check_id"), check);
    assert_string_equal(ev_str(e, "device"), tag);
    assert_string_equal(ev_str(e, "code"), "TEMP-PROBE");
    assert_null(json_object_get(e, "value"));
    json_decref(e);
    ev_check_result(&ctx, check, 3.9, still); /* a pass: locked until the action is signed */
    assert_string_equal(still, lock);
    /* a wrong signature closes nothing and says nothing */
    assert_int_equal(ev_lockout_close(&ctx, &u, lock, "not it"), ERR_INVALID);
    ev_drain(s, got, sizeof(got));
    assert_string_equal(got, "");
    assert_int_equal(ev_lockout_close(&ctx, &u, lock, EV_PW), ERR_OK);
    e = ev_find(s, "device.qc.lockout.closed");
    assert_non_null(e);
    assert_string_equal(ev_str(e, "lockout_id"), lock);
    assert_string_equal(ev_str(e, "device"), tag);
    json_decref(e);
    evbus_unsubscribe(s);
}

/* Which permission a stream needs for each kind: the longest prefix decides. */
static void test_kind_permissions(void **state)
{
    (void)state;
    assert_int_equal(http_sse_kind_perm("device.temperature.opened"), PERM_EQUIPMENT_READ);
    assert_int_equal(http_sse_kind_perm("device.work_order.reported"), PERM_EQUIPMENT_READ);
    assert_int_equal(http_sse_kind_perm("device.status"), PERM_EQUIPMENT_READ);
    assert_int_equal(http_sse_kind_perm("device.qc.lockout.opened"), PERM_QC_READ);
    assert_int_equal(http_sse_kind_perm("device.qc.lockout.closed"), PERM_QC_READ);
    assert_int_equal(http_sse_kind_perm("qc.lockout.opened"), PERM_QC_READ);
    assert_int_equal(http_sse_kind_perm("result.entered"), PERM_PATIENTS_READ);
    assert_int_equal(http_sse_kind_perm("stock.low"), PERM_STOCK_READ);
    /* not listed, or only like a listed prefix: nobody */
    assert_int_equal(http_sse_kind_perm("devices.x"), PERM_NONE);
    assert_int_equal(http_sse_kind_perm("device"), PERM_NONE);
    assert_int_equal(http_sse_kind_perm("audit.event"), PERM_NONE);
    /* a biomedical technician reads devices and QC, a clinician neither */
    assert_true(perm_role_has(ROLE_BIOMED, http_sse_kind_perm("device.qc.lockout.opened")));
    assert_false(perm_role_has(ROLE_CLINICIAN, http_sse_kind_perm("device.status")));
    assert_false(perm_role_has(ROLE_INTERFACE, http_sse_kind_perm("device.temperature.opened")));
}

static int ev_setup(void **state)
{
    (void)state;
    testdb_suffix(ev_sfx, sizeof(ev_sfx) - 1, false);
    if (!testdb_pick("events", ev_url, sizeof(ev_url), ev_tmp, sizeof(ev_tmp)))
        return -1;
    return testdb_open(ev_url, &ev_ctx, &ev_db) ? 0 : -1;
}

static int ev_teardown(void **state)
{
    (void)state;
    testdb_close(ev_db, ev_tmp);
    ev_db = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest bus[] = {
        cmocka_unit_test(test_order_and_ids),
        cmocka_unit_test(test_resume_after_id),
        cmocka_unit_test(test_ring_overrun_is_a_gap),
        cmocka_unit_test(test_cursor_from_elsewhere),
        cmocka_unit_test(test_wake_once_per_arming),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_slow_reader_does_not_block),
        cmocka_unit_test(test_many_readers),
        cmocka_unit_test(test_kind_permissions),
    };
    const struct CMUnitTest store[] = {
        cmocka_unit_test(test_published_on_commit),
        cmocka_unit_test(test_laboratory_publishes),
        cmocka_unit_test(test_devices_publish),
    };
    int failed = cmocka_run_group_tests_name("evbus", bus, NULL, NULL);
    failed += cmocka_run_group_tests_name(testdb_group("events"), store, ev_setup, ev_teardown);
    return failed;
}
