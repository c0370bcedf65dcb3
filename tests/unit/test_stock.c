/*
 * test_stock.c - supplies (src/stock/). First the arithmetic, with no
 * database: exact quantities in millionths, the quantity to reorder, and
 * whether a lot was fit for a measurement. Then the record on a real
 * database: quantity on hand as the sum of movements against worked
 * examples (receive 10, use 3, transfer 2, count, dispose), refusals that
 * name the field and write nothing, the catalogue of items, a result from an
 * instrument consuming the reagent lot in use there and held by the gate
 * while that lot is unverified, expired or past its open-vial stability,
 * consumption that outruns the books, alerts and the reorder list.
 *
 * The database suite runs on BENCHSIDE_TEST_DB (a PostgreSQL database that
 * may be reused between runs) or a temporary SQLite file. Item codes,
 * storage units and instruments carry a random suffix made once per run, and
 * lists read back are filtered to them. Storage units are rows of table
 * storage_units (migration 0010) written here with SQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/user.h"
#include "base/time.h"
#include "lab/custody.h"
#include "lab/gate.h"
#include "lab/instrument.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "lab/result.h"
#include "stock/stock.h"
#include "testdb.h"

#define ST_DAY  (86400LL * 1000000LL)
#define ST_HOUR (3600LL * 1000000LL)
#define M       STOCK_QTY_SCALE /* one unit, in millionths */

/* ------------------------------------------------------------ arithmetic */

static json_t *st_parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

/* stock_qty_parse of a JSON text; the code it returns, the value into *out. */
static err_t st_qty(const char *text, bool zero_ok, int64_t *out)
{
    json_t *v = st_parse(text);
    errinfo ei = {0};
    *out = -1;
    err_t rc = stock_qty_parse(v, "quantity", zero_ok, out, &ei);
    if (rc)
        assert_string_equal(ei.field, "quantity");
    json_decref(v);
    return rc;
}

static void test_quantities_are_exact(void **state)
{
    (void)state;
    int64_t q;
    assert_int_equal(st_qty("10", false, &q), ERR_OK);
    assert_int_equal(q, 10 * M);
    assert_int_equal(st_qty("0.15", false, &q), ERR_OK);
    assert_int_equal(q, 150000);
    /* 0.1 + 0.2 is not 0.3 in binary; 0.3 read as millionths is exact */
    assert_int_equal(st_qty("0.3", false, &q), ERR_OK);
    assert_int_equal(q, 300000);
    assert_int_equal(st_qty("0.000001", false, &q), ERR_OK);
    assert_int_equal(q, 1);
    assert_int_equal(st_qty("2.5e2", false, &q), ERR_OK);
    assert_int_equal(q, 250 * M);
    assert_int_equal(st_qty("1000000000", false, &q), ERR_OK);
    assert_int_equal(q, 1000000000LL * M);
    /* seven decimals, too much, not a number, not positive */
    assert_int_equal(st_qty("0.0000005", false, &q), ERR_INVALID);
    assert_int_equal(st_qty("1.1234567", false, &q), ERR_INVALID);
    assert_int_equal(st_qty("1000000001", false, &q), ERR_INVALID);
    assert_int_equal(st_qty("\"10\"", false, &q), ERR_INVALID);
    assert_int_equal(st_qty("0", false, &q), ERR_INVALID);
    assert_int_equal(st_qty("-1", false, &q), ERR_INVALID);
    assert_int_equal(st_qty("-0.5", true, &q), ERR_INVALID);
    /* a count may find nothing */
    assert_int_equal(st_qty("0", true, &q), ERR_OK);
    assert_int_equal(q, 0);

    /* summing millionths: 100 tests of 0.15 mL are 15 mL exactly */
    int64_t sum = 0;
    for (int i = 0; i < 100; i++)
        sum += 150000;
    assert_int_equal(sum, 15 * M);

    char text[32];
    assert_string_equal(stock_qty_text(7 * M, text), "7");
    assert_string_equal(stock_qty_text(-M / 4, text), "-0.25");
    assert_string_equal(stock_qty_text(150000, text), "0.15");
    assert_string_equal(stock_qty_text(1, text), "0.000001");
    assert_string_equal(stock_qty_text(0, text), "0");
    json_t *j = stock_qty_json(6 * M);
    assert_true(json_is_integer(j));
    assert_int_equal(json_integer_value(j), 6);
    json_decref(j);
    j = stock_qty_json(-500000);
    assert_true(json_is_real(j));
    assert_true(json_real_value(j) == -0.5);
    json_decref(j);
}

static void test_order_quantity(void **state)
{
    (void)state;
    /* above the point: nothing to order */
    assert_int_equal(stock_order_quantity(6 * M, 5 * M, 10 * M), 0);
    assert_int_equal(stock_order_quantity(5 * M + 1, 5 * M, 10 * M), 0);
    /* on the point: one order of 10 brings 15 */
    assert_int_equal(stock_order_quantity(5 * M, 5 * M, 10 * M), 10 * M);
    /* 3 on hand, point 5, orders of 10: 10 (13 > 5) */
    assert_int_equal(stock_order_quantity(3 * M, 5 * M, 10 * M), 10 * M);
    /* nothing on hand, point 20, orders of 10: 30 (30 > 20; 20 is not above) */
    assert_int_equal(stock_order_quantity(0, 20 * M, 10 * M), 30 * M);
    /* the books show -12 (consumption outran them): 20 brings 8 > 5 */
    assert_int_equal(stock_order_quantity(-12 * M, 5 * M, 10 * M), 20 * M);
    /* point 0, nothing on hand: one order */
    assert_int_equal(stock_order_quantity(0, 0, 4 * M), 4 * M);
    /* fractions: 0.4 on hand, point 0.5, orders of 0.25: 0.25 brings 0.65 */
    assert_int_equal(stock_order_quantity(400000, 500000, 250000), 250000);
}

static void test_lot_fitness(void **state)
{
    (void)state;
    char why[256];
    int64_t t;
    errinfo ei = {0};
    stock_lot_state l = {.item = "ALB-R1",
                         .lot = "L2301",
                         .expiry = "2026-03-31",
                         .opened_at = 0,
                         .open_days = 28,
                         .needs_verification = true,
                         .verified = true};
    /* usable through its expiry day (UTC) */
    assert_int_equal(time_parse_iso("2026-03-31T23:59:59Z", 20, &t, &ei), ERR_OK);
    assert_false(stock_lot_unfit(&l, t, why, sizeof(why)));
    assert_string_equal(why, "");
    assert_int_equal(time_parse_iso("2026-04-01T00:00:00Z", 20, &t, &ei), ERR_OK);
    assert_true(stock_lot_unfit(&l, t, why, sizeof(why)));
    assert_non_null(strstr(why, "ALB-R1 lot L2301 expired on 2026-03-31"));
    /* opened on 2026-01-10 at 08:00, stable 28 days: until 2026-02-07 08:00 */
    assert_int_equal(time_parse_iso("2026-01-10T08:00:00Z", 20, &l.opened_at, &ei), ERR_OK);
    assert_int_equal(time_parse_iso("2026-02-07T08:00:00Z", 20, &t, &ei), ERR_OK);
    assert_false(stock_lot_unfit(&l, t, why, sizeof(why)));
    assert_true(stock_lot_unfit(&l, t + 1, why, sizeof(why)));
    assert_non_null(strstr(why, "open-vial stability of 28 days"));
    assert_non_null(strstr(why, "2026-02-07T08:00"));
    /* no stability set: opening does not matter */
    l.open_days = 0;
    assert_false(stock_lot_unfit(&l, t + 30 * ST_DAY, why, sizeof(why)));
    /* not verified */
    l.verified = false;
    assert_true(stock_lot_unfit(&l, t, why, sizeof(why)));
    assert_non_null(strstr(why, "not verified"));
    /* a kind that needs no verification */
    l.needs_verification = false;
    assert_false(stock_lot_unfit(&l, t, why, sizeof(why)));
}

/* ------------------------------------------------------------- on record */

static db *st_db;
static char st_url[512], st_tmp[256], st_sfx[9];
static user st_user;
static char st_username[USER_NAME_MAX + 1];
static audit_ctx st_ctx; /* a supervisor */
static const audit_ctx st_sys = {NULL, "test", "test"};
static char f1[32], f2[32], inst[32]; /* two refrigerators and an analyzer of this run */

static int64_t st_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = -1;
    err_t rc = testdb_scalar(st_db, sql, arg, &v, &ei);
    if (rc && rc != ERR_NOT_FOUND)
        fail_msg("%s: %s", sql, ei.message);
    return rc ? -1 : v;
}

static int64_t st_head(void)
{
    return st_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

static int64_t st_moves(void)
{
    return st_scalar("SELECT COUNT(*) FROM stock_movements", NULL);
}

/* A name of this run: prefix and the run's suffix. */
static const char *st_name(const char *prefix)
{
    static char out[8][48];
    static int k;
    char *o = out[k++ % 8];
    snprintf(o, 48, "%s-%s", prefix, st_sfx);
    return o;
}

/* Printf into a JSON body. */
static json_t *st_body(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *st_body(const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return st_parse(text);
}

/* template with $R and $T replaced by r and t, parsed. */
static json_t *st_subst(const char *template, const char *r, const char *t)
{
    char text[4096];
    size_t n = 0;
    for (const char *p = template; *p && n + 48 < sizeof(text); p++) {
        if (p[0] == '$' && (p[1] == 'R' || p[1] == 'T')) {
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", p[1] == 'R' ? r : t);
            p++;
        } else {
            text[n++] = *p;
        }
    }
    text[n] = '\0';
    return st_parse(text);
}

/* Import items (a body made by st_body); must succeed. */
static void st_items(json_t *b)
{
    errinfo ei = {0};
    json_t *out = NULL;
    err_t rc = stock_items_import(st_db, &st_ctx, b, &out, &ei);
    if (rc)
        fail_msg("stock_items_import: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_decref(b);
    json_decref(out);
}

/* An answer into *out when the caller wants it, else released. */
static void st_keep(json_t *answer, json_t **out)
{
    if (out)
        *out = answer;
    else
        json_decref(answer);
}

/* Record a movement; *out (when given) gets the answer. */
static err_t st_move(json_t *body, json_t **out, errinfo *ei)
{
    json_t *o = NULL;
    err_clear(ei);
    err_t rc = stock_movement_record(st_db, &st_ctx, body, &o, ei);
    json_decref(body);
    st_keep(o, out);
    return rc;
}

static void st_move_ok(json_t *body, json_t **out)
{
    errinfo ei = {0};
    err_t rc = st_move(body, out, &ei);
    if (rc)
        fail_msg("movement refused: %s [%s] %s", err_name(rc), ei.field, ei.message);
}

/* A refused movement: its code and field, and nothing written (no
 * movement, no audit event). */
static void st_refused(json_t *body, err_t code, const char *field)
{
    errinfo ei = {0};
    int64_t moves = st_moves(), head = st_head();
    err_t rc = st_move(body, NULL, &ei);
    if (rc != code)
        fail_msg("expected %s, got %s [%s] %s", err_name(code), err_name(rc), ei.field, ei.message);
    assert_string_equal(ei.field, field);
    assert_true(ei.message[0] != '\0');
    assert_int_equal(st_moves(), moves);
    assert_int_equal(st_head(), head);
}

/* The lot's quantity on hand as the sum of its rows, at location (NULL: all). */
static int64_t st_sum(const char *lot_id, const char *location)
{
    char sql[200];
    if (!location)
        return st_scalar("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM stock_movements"
                         " WHERE lot_id = ?",
                         lot_id);
    snprintf(sql, sizeof(sql),
             "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM stock_movements WHERE"
             " lot_id = ? AND location = '%s'",
             location);
    return st_scalar(sql, lot_id);
}

/* obj[key] as text, "" when absent or not text. */
static const char *st_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* A JSON quantity as millionths. */
static int64_t st_micro(const json_t *v)
{
    assert_true(json_is_number(v));
    return llround(json_number_value(v) * (double)M);
}

/* The quantity at location in a lot's JSON ("locations"); 0 when absent. */
static int64_t st_at(const json_t *lot, const char *location)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(lot, "locations"), i, l)
    {
        if (!strcmp(st_str(l, "location"), location))
            return st_micro(json_object_get(l, "quantity"));
    }
    return 0;
}

static int64_t st_on_hand(const json_t *lot)
{
    return st_micro(json_object_get(lot, "on_hand"));
}

/* The answer's lot of a movement, and its id into id. */
static const json_t *st_lot_of(const json_t *answer, char id[ID_LEN + 1])
{
    const json_t *lot = json_object_get(answer, "lot");
    assert_non_null(lot);
    if (id)
        snprintf(id, ID_LEN + 1, "%s", st_str(lot, "id"));
    return lot;
}

/* A result of test for a new patient, from the run's instrument (or by
 * hand when instrument is NULL); its id into id. */
static void st_result(const char *test, const char *value, const char *analyzer,
                      char id[ID_LEN + 1])
{
    static int n;
    char mrn[48], family[48], acc[32];
    errinfo ei = {0};
    patient p;
    json_t *cand = NULL, *out = NULL;
    n++;
    snprintf(mrn, sizeof(mrn), "ST%d-%s", n, st_sfx);
    snprintf(family, sizeof(family), "Stock%d%s", n, st_sfx);
    json_t *b = st_body("{\"mrn\":\"%s\",\"family\":\"%s\",\"given\":\"Sam\","
                        "\"birth_date\":\"1970-05-05\",\"sex\":\"female\",\"confirm_new\":true}",
                        mrn, family);
    assert_int_equal(patient_create(st_db, &st_sys, b, &p, &cand, &ei), ERR_OK);
    json_decref(b);
    json_decref(cand);
    b = st_body("{\"patient_id\":\"%s\",\"tests\":[\"%s\"],\"priority\":\"routine\","
                "\"clinician\":\"Dr. S. Tock\",\"reasons\":[\"R73.09\"]}",
                p.id, test);
    assert_int_equal(order_create(st_db, &st_sys, b, &out, &ei), ERR_OK);
    json_decref(b);
    snprintf(acc, sizeof(acc), "%s",
             st_str(json_array_get(json_object_get(out, "specimens"), 0), "accession"));
    json_decref(out);
    static const char *const events[] = {"{\"event\":\"collected\"}", "{\"event\":\"received\"}"};
    for (int i = 0; i < 2; i++) {
        b = st_parse(events[i]);
        assert_int_equal(custody_record(st_db, &st_sys, acc, b, &out, &ei), ERR_OK);
        json_decref(b);
        json_decref(out);
    }
    if (analyzer)
        b = st_body("{\"results\":[{\"code\":\"%s\",\"value\":%s,\"instrument\":\"%s\"}]}", test,
                    value, analyzer);
    else
        b = st_body("{\"results\":[{\"code\":\"%s\",\"value\":%s}]}", test, value);
    err_t rc = result_enter(st_db, &st_ctx, acc, b, &out, &ei);
    if (rc)
        fail_msg("result_enter: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_decref(b);
    snprintf(id, ID_LEN + 1, "%s",
             st_str(json_array_get(json_object_get(out, "results"), 0), "id"));
    json_decref(out);
    assert_int_equal(strlen(id), ID_LEN);
}

/* One text column of results row id. */
static const char *st_result_col(const char *id, const char *column)
{
    static char out[4][1024];
    static int k;
    char sql[128];
    char *o = out[k++ % 4];
    db_stmt *st = NULL;
    bool row = false;
    errinfo ei = {0};
    snprintf(sql, sizeof(sql), "SELECT %s FROM results WHERE id = ?", column);
    assert_int_equal(db_query(st_db, &st, &ei, sql, "t", id), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    snprintf(o, 1024, "%s", db_col_text(st, 0) ? db_col_text(st, 0) : "");
    db_finalize(st);
    return o;
}

/* Put lot of item in use on the run's instrument; the answer's warnings
 * into *warnings when given. */
static void st_put(const char *item, const char *lot, json_t **warnings)
{
    errinfo ei = {0};
    json_t *out = NULL, *b = st_body("{\"item\":\"%s\",\"lot\":\"%s\"}", item, lot);
    err_t rc = stock_reagent_put(st_db, &st_ctx, inst, b, &out, &ei);
    if (rc)
        fail_msg("stock_reagent_put: %s [%s] %s", err_name(rc), ei.field, ei.message);
    json_decref(b);
    if (warnings)
        *warnings = json_incref(json_object_get(out, "warnings"));
    json_decref(out);
}

/* Record an accepted verification of lot of item; *out (when given) the answer. */
static err_t st_verify(const char *item, const char *lot, bool accepted, json_t **out, errinfo *ei)
{
    json_t *o = NULL, *b = st_body("{\"item\":\"%s\",\"lot\":\"%s\",\"samples\":20,"
                                   "\"mean_difference\":-0.8,\"bias_percent\":-0.9,"
                                   "\"criterion\":\"|bias| <= 3%%\",\"accepted\":%s}",
                                   item, lot, accepted ? "true" : "false");
    err_clear(ei);
    err_t rc = stock_verification_record(st_db, &st_ctx, b, &o, ei);
    json_decref(b);
    st_keep(o, out);
    return rc;
}

/* The alerts of this run's items: those whose item code ends with the suffix. */
static json_t *st_alerts(int days)
{
    json_t *all = NULL, *mine = json_array(), *a;
    errinfo ei = {0};
    size_t i;
    assert_int_equal(stock_alerts(st_db, days, &all, &ei), ERR_OK);
    json_array_foreach(all, i, a)
    {
        const char *item = st_str(a, "item");
        size_t n = strlen(item), k = strlen(st_sfx);
        if (n > k && !strcmp(item + n - k, st_sfx))
            json_array_append(mine, a);
    }
    json_decref(all);
    return mine;
}

/* The alert of kind for item (and lot, when given), or NULL. */
static const json_t *st_alert(const json_t *alerts, const char *kind, const char *item,
                              const char *lot)
{
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        if (!strcmp(st_str(a, "kind"), kind) && !strcmp(st_str(a, "item"), item) &&
            (!lot || !strcmp(st_str(a, "lot"), lot)))
            return a;
    }
    return NULL;
}

/* ------------------------------------------------------ worked examples */

/*
 * A box of tubes, step by step (on hand after each, per storage unit):
 *   receive 10 at F1                    10   F1 10
 *   use 3 at F1                          7   F1 7
 *   transfer 2 from F1 to F2             7   F1 5, F2 2
 *   count at F1 finds 4: adjustment -1   6   F1 4, F2 2
 *   dispose 2 at F2 (crushed)            4   F1 4
 *   dispose 4 at F1 (recalled)           0   the lot is disposed
 */
static void test_movements_worked_example(void **state)
{
    (void)state;
    const char *item = st_name("SST"), *lot = st_name("T1");
    char lot_id[ID_LEN + 1];
    json_t *out = NULL;
    st_items(st_body(
        "{\"items\":[{\"code\":\"%s\",\"name\":\"SST tube 5 mL\",\"kind\":\"tube\","
        "\"unit\":\"box\",\"supplier\":\"BD\",\"reorder_point\":5,\"reorder_quantity\":20}]}",
        item));
    int64_t head = st_head();

    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":10,"
                       "\"location\":\"%s\",\"expiry\":\"2099-12-31\"}",
                       item, lot, f1),
               &out);
    const json_t *l = st_lot_of(out, lot_id);
    assert_string_equal(st_str(l, "status"), "available"); /* tubes need no verification */
    assert_string_equal(st_str(l, "expiry"), "2099-12-31");
    assert_int_equal(st_on_hand(l), 10 * M);
    assert_int_equal(st_sum(lot_id, NULL), 10 * M);
    json_decref(out);

    st_move_ok(st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":3,"
                       "\"location\":\"%s\"}",
                       item, lot, f1),
               &out);
    l = st_lot_of(out, NULL);
    assert_int_equal(st_on_hand(l), 7 * M);
    assert_int_equal(
        st_micro(json_object_get(json_array_get(json_object_get(out, "movements"), 0), "quantity")),
        -3 * M);
    json_decref(out);

    st_move_ok(st_body("{\"kind\":\"transfer\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":2,"
                       "\"from\":\"%s\",\"to\":\"%s\"}",
                       item, lot, f1, f2),
               &out);
    l = st_lot_of(out, NULL);
    assert_int_equal(st_on_hand(l), 7 * M);
    assert_int_equal(st_at(l, f1), 5 * M);
    assert_int_equal(st_at(l, f2), 2 * M);
    json_t *legs = json_object_get(out, "movements");
    assert_int_equal(json_array_size(legs), 2);
    assert_string_equal(st_str(json_array_get(legs, 0), "transfer_id"),
                        st_str(json_array_get(legs, 1), "transfer_id"));
    assert_int_equal(st_sum(lot_id, f1), 5 * M);
    assert_int_equal(st_sum(lot_id, f2), 2 * M);
    json_decref(out);

    st_move_ok(st_body("{\"kind\":\"count\",\"item\":\"%s\",\"lot\":\"%s\",\"counted\":4,"
                       "\"location\":\"%s\",\"note\":\"monthly count\"}",
                       item, lot, f1),
               &out);
    l = st_lot_of(out, NULL);
    json_t *count = json_array_get(json_object_get(out, "movements"), 0);
    assert_int_equal(st_micro(json_object_get(count, "quantity")), -1 * M); /* the adjustment */
    assert_int_equal(st_micro(json_object_get(count, "counted")), 4 * M);
    assert_int_equal(st_on_hand(l), 6 * M);
    assert_int_equal(st_at(l, f1), 4 * M);
    assert_int_equal(st_at(l, f2), 2 * M);
    json_decref(out);

    st_move_ok(st_body("{\"kind\":\"dispose\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":2,"
                       "\"location\":\"%s\",\"reason\":\"box crushed in transport\"}",
                       item, lot, f2),
               &out);
    l = st_lot_of(out, NULL);
    assert_int_equal(st_on_hand(l), 4 * M);
    assert_string_equal(st_str(l, "status"), "available"); /* 4 left at F1 */
    json_decref(out);

    st_move_ok(st_body("{\"kind\":\"dispose\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":4,"
                       "\"location\":\"%s\",\"reason\":\"recalled by the supplier\"}",
                       item, lot, f1),
               &out);
    l = st_lot_of(out, NULL);
    assert_int_equal(st_on_hand(l), 0);
    assert_string_equal(st_str(l, "status"), "disposed");
    json_decref(out);
    assert_int_equal(st_sum(lot_id, NULL), 0);

    /* seven rows (the transfer has two), six audited acts */
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM stock_movements WHERE lot_id = ?", lot_id), 7);
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND action ="
                               " 'stock.movement'",
                               lot_id),
                     6);
    assert_int_equal(st_head(), head + 6);

    /* a disposed lot takes nothing more */
    st_refused(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       item, lot, f1),
               ERR_CONFLICT, "lot");

    /* the lot read back whole: movements newest first */
    assert_int_equal(stock_lot_get(st_db, lot_id, &out, &(errinfo){0}), ERR_OK);
    json_t *moves = json_object_get(out, "movements");
    assert_int_equal(json_array_size(moves), 7);
    assert_string_equal(st_str(json_array_get(moves, 0), "kind"), "dispose");
    assert_string_equal(st_str(json_array_get(moves, 0), "reason"), "recalled by the supplier");
    assert_string_equal(st_str(json_array_get(moves, 6), "kind"), "receive");
    json_decref(out);
}

static void test_refusals_write_nothing(void **state)
{
    (void)state;
    const char *item = st_name("GLOVE"), *lot = st_name("G1"), *old = st_name("OLD");
    json_t *out = NULL;
    st_items(st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"Nitrile gloves M\",\"kind\":\"ppe\","
                     "\"unit\":\"box\",\"reorder_point\":2,\"reorder_quantity\":10}]}",
                     item));
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":5,"
                       "\"location\":\"%s\",\"expiry\":\"2099-01-31\"}",
                       item, lot, f1),
               NULL);

#define USE(extra)                                                                                 \
    st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"%s\",\"location\":\"%s\"" extra "}",      \
            item, lot, f1)
    /* less than nothing: at the unit, and in total */
    st_refused(USE(",\"quantity\":6"), ERR_CONFLICT, "quantity");
    st_refused(st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       item, lot, f2),
               ERR_CONFLICT, "quantity");
    st_refused(st_body("{\"kind\":\"dispose\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":5.5,"
                       "\"location\":\"%s\",\"reason\":\"wet\"}",
                       item, lot, f1),
               ERR_CONFLICT, "quantity");
    st_refused(st_body("{\"kind\":\"transfer\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":6,"
                       "\"from\":\"%s\",\"to\":\"%s\"}",
                       item, lot, f1, f2),
               ERR_CONFLICT, "quantity");
    /* quantities */
    st_refused(USE(",\"quantity\":0"), ERR_INVALID, "quantity");
    st_refused(USE(",\"quantity\":-1"), ERR_INVALID, "quantity");
    st_refused(USE(",\"quantity\":0.0000001"), ERR_INVALID, "quantity");
    st_refused(USE(",\"quantity\":\"1\""), ERR_INVALID, "quantity");
    st_refused(USE(""), ERR_MISSING_FIELD, "quantity");
    /* times */
    st_refused(USE(",\"quantity\":1,\"at\":\"2099-01-01T00:00:00Z\""), ERR_INVALID, "at");
    st_refused(USE(",\"quantity\":1,\"at\":\"yesterday\""), ERR_INVALID, "at");
    st_refused(USE(",\"quantity\":1,\"at\":\"2020-01-01\""), ERR_INVALID,
               "at"); /* before receipt */
    /* names */
    st_refused(st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"NO-SUCH-UNIT-%s\"}",
                       item, lot, st_sfx),
               ERR_INVALID, "location");
    st_refused(st_body("{\"kind\":\"transfer\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"from\":\"%s\",\"to\":\"NO-SUCH-UNIT-%s\"}",
                       item, lot, f1, st_sfx),
               ERR_INVALID, "to");
    st_refused(st_body("{\"kind\":\"transfer\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"from\":\"%s\",\"to\":\"%s\"}",
                       item, lot, f1, f1),
               ERR_INVALID, "to");
    st_refused(st_body("{\"kind\":\"use\",\"item\":\"NOPE-%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       st_sfx, lot, f1),
               ERR_INVALID, "item");
    st_refused(st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"NOPE\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       item, f1),
               ERR_INVALID, "lot");
    /* kinds and their fields */
    st_refused(USE(",\"quantity\":1,\"reason\":\"x\""), ERR_UNKNOWN_FIELD, "reason");
    st_refused(st_body("{\"kind\":\"lend\",\"item\":\"%s\",\"lot\":\"%s\"}", item, lot),
               ERR_INVALID, "kind");
    st_refused(st_body("{\"item\":\"%s\",\"lot\":\"%s\"}", item, lot), ERR_MISSING_FIELD, "kind");
    st_refused(st_body("{\"kind\":\"dispose\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       item, lot, f1),
               ERR_MISSING_FIELD, "reason");
    st_refused(st_body("{\"kind\":\"count\",\"item\":\"%s\",\"lot\":\"%s\",\"counted\":-1,"
                       "\"location\":\"%s\"}",
                       item, lot, f1),
               ERR_INVALID, "counted");
    /* receipts: a new lot needs its expiry, not a past one; a known lot keeps its own */
    st_refused(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"NEW-%s\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       item, st_sfx, f1),
               ERR_MISSING_FIELD, "expiry");
    st_refused(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"NEW-%s\",\"quantity\":1,"
                       "\"location\":\"%s\",\"expiry\":\"2020-01-01\"}",
                       item, st_sfx, f1),
               ERR_INVALID, "expiry");
    st_refused(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\",\"expiry\":\"2098-01-31\"}",
                       item, lot, f1),
               ERR_INVALID, "expiry");
    st_refused(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\",\"expiry\":\"2099-02-30\"}",
                       item, lot, f1),
               ERR_INVALID, "expiry");
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM stock_lots l JOIN stock_items i ON i.id ="
                               " l.item_id WHERE i.code = ?",
                               item),
                     1);

    /* a delivery recorded late moves the first receipt back */
    char earlier[TIME_ISO_LEN];
    time_format_iso(time_now_us() - 3 * ST_DAY, earlier);
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\",\"at\":\"%s\"}",
                       item, lot, f1, earlier),
               &out);
    assert_string_equal(st_str(json_object_get(out, "lot"), "received_at"), earlier);
    assert_int_equal(st_on_hand(json_object_get(out, "lot")), 6 * M);
    json_decref(out);

    /* an expired lot: received (back then) before its expiry, refused now
     * for everything but its disposal */
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":4,"
                       "\"location\":\"%s\",\"expiry\":\"2020-06-30\",\"at\":\"2020-01-02\"}",
                       item, old, f1),
               NULL);
    st_refused(st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       item, old, f1),
               ERR_CONFLICT, "lot");
    st_refused(st_body("{\"kind\":\"count\",\"item\":\"%s\",\"lot\":\"%s\",\"counted\":4,"
                       "\"location\":\"%s\"}",
                       item, old, f1),
               ERR_CONFLICT, "lot");
    st_refused(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       item, old, f1),
               ERR_CONFLICT, "lot");
    /* but a use dated while it was good is recorded */
    st_move_ok(st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\",\"at\":\"2020-03-01T10:00:00Z\"}",
                       item, old, f1),
               NULL);
    st_move_ok(st_body("{\"kind\":\"dispose\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":3,"
                       "\"location\":\"%s\",\"reason\":\"expired\"}",
                       item, old, f1),
               &out);
    assert_string_equal(st_str(json_object_get(out, "lot"), "status"), "disposed");
    json_decref(out);
#undef USE
}

static void test_items_import(void **state)
{
    (void)state;
    const char *reag = st_name("ALB"), *tube = st_name("EDTA");
    errinfo ei = {0};
    json_t *out = NULL;
    int64_t items = st_scalar("SELECT COUNT(*) FROM stock_items", NULL), head = st_head();
    static const struct {
        const char *json, *field;
        err_t code;
    } bad[] = {
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":1},{\"code\":\"$T\",\"name\":\"y\","
         "\"kind\":\"spare part\",\"unit\":\"each\",\"reorder_point\":1,\"reorder_quantity\":1}]}",
         "items[1].kind", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":1},{\"code\":\"$T\",\"name\":\"y\","
         "\"kind\":\"tube\",\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":1,"
         "\"tests\":[\"CBC\"]}]}",
         "items[1].tests", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":1,\"tests\":[\"ALB\"]},{\"code\":\"%s\","
         "\"name\":\"y\",\"kind\":\"tube\",\"unit\":\"box\",\"reorder_point\":1,"
         "\"reorder_quantity\":1}]}",
         "items[0].uses_per_test", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":1,\"tests\":[\"ALB\",\"NOPE\"],"
         "\"uses_per_test\":0.1},{\"code\":\"$T\",\"name\":\"y\",\"kind\":\"tube\",\"unit\":"
         "\"box\",\"reorder_point\":1,\"reorder_quantity\":1}]}",
         "items[0].tests[1]", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":0},{\"code\":\"$T\",\"name\":\"y\",\"kind\":"
         "\"tube\",\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":1}]}",
         "items[0].reorder_quantity", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"m L\","
         "\"reorder_point\":1,\"reorder_quantity\":1},{\"code\":\"$T\",\"name\":\"y\",\"kind\":"
         "\"tube\",\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":1}]}",
         "items[0].unit", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":1},{\"code\":\"$T\",\"name\":\"y\",\"kind\":"
         "\"tube\",\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":1,"
         "\"open_stability_days\":30}]}",
         "items[1].open_stability_days", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":1},{\"code\":\"$T\",\"name\":\"y\",\"kind\":"
         "\"tube\",\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":1,"
         "\"uses_per_test\":1}]}",
         "items[1].uses_per_test", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":1},{\"code\":\"$T\",\"name\":\" \",\"kind\":"
         "\"tube\",\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":1}]}",
         "items[1].name", ERR_INVALID},
        {"{\"items\":[{\"code\":\"$R\",\"name\":\"x\",\"kind\":\"reagent\",\"unit\":\"mL\","
         "\"reorder_point\":1,\"reorder_quantity\":1},{\"code\":\"$T\",\"name\":\"y\",\"kind\":"
         "\"tube\",\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":1,\"colour\":1}]}",
         "items[1].colour", ERR_UNKNOWN_FIELD},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = st_subst(bad[i].json, reag, tube);
        err_clear(&ei);
        err_t rc = stock_items_import(st_db, &st_ctx, b, &out, &ei);
        json_decref(b);
        if (rc != bad[i].code || strcmp(ei.field, bad[i].field))
            fail_msg("case %zu: %s [%s] %s", i, err_name(rc), ei.field, ei.message);
        assert_null(out);
    }
    /* the same code twice */
    json_t *b = st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"x\",\"kind\":\"tube\","
                        "\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":1},"
                        "{\"code\":\"%s\",\"name\":\"x\",\"kind\":\"tube\",\"unit\":\"box\","
                        "\"reorder_point\":1,\"reorder_quantity\":1}]}",
                        tube, tube);
    assert_int_equal(stock_items_import(st_db, &st_ctx, b, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "items[1].code");
    json_decref(b);
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM stock_items", NULL), items);
    assert_int_equal(st_head(), head);

    /* written, then updated: the tests are replaced */
    st_items(st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"Albumin BCG\",\"kind\":\"reagent\","
                     "\"unit\":\"mL\",\"supplier\":\"Roche\",\"catalogue_number\":\"03183688122\","
                     "\"reorder_point\":100,\"reorder_quantity\":250,\"open_stability_days\":28,"
                     "\"storage\":\"2-8 C\",\"tests\":[\"ALB\"],\"uses_per_test\":0.002}]}",
                     reag));
    assert_int_equal(st_head(), head + 1);
    st_items(
        st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"Albumin BCG\",\"kind\":\"reagent\","
                "\"unit\":\"mL\",\"supplier\":\"Roche\",\"reorder_point\":100,"
                "\"reorder_quantity\":250,\"tests\":[\"TP\",\"ALB\"],\"uses_per_test\":0.002}]}",
                reag));
    assert_int_equal(stock_item_get(st_db, reag, &out, &ei), ERR_OK);
    json_t *tests = json_object_get(out, "tests");
    assert_int_equal(json_array_size(tests), 2);
    assert_string_equal(json_string_value(json_array_get(tests, 0)), "ALB");
    assert_string_equal(json_string_value(json_array_get(tests, 1)), "TP");
    assert_int_equal(st_micro(json_object_get(out, "uses_per_test")), 2000);
    assert_true(json_is_null(json_object_get(out, "catalogue_number"))); /* replaced whole */
    assert_int_equal(json_array_size(json_object_get(out, "lots")), 0);
    json_decref(out);
    assert_int_equal(stock_item_get(st_db, st_name("NONE"), &out, &ei), ERR_NOT_FOUND);
    assert_string_equal(ei.field, "code");

    /* an item with lots keeps its kind */
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"A1\",\"quantity\":50,"
                       "\"location\":\"%s\",\"expiry\":\"2099-01-01\"}",
                       reag, f1),
               NULL);
    b = st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"Albumin\",\"kind\":\"other\","
                "\"unit\":\"mL\",\"reorder_point\":1,\"reorder_quantity\":1}]}",
                reag);
    assert_int_equal(stock_items_import(st_db, &st_ctx, b, &out, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "items[0].kind");
    json_decref(b);

    /* the list by kind */
    assert_int_equal(stock_items_list(st_db, "reagent", &out, &ei), ERR_OK);
    size_t i, found = 0;
    json_t *it;
    json_array_foreach(out, i, it)
    {
        assert_string_equal(st_str(it, "kind"), "reagent");
        if (!strcmp(st_str(it, "code"), reag)) {
            found++;
            assert_int_equal(st_micro(json_object_get(it, "on_hand")), 50 * M);
        }
    }
    assert_int_equal(found, 1);
    json_decref(out);
    assert_int_equal(stock_items_list(st_db, "spare", &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "kind");
}

/*
 * Glucose on the run's analyzer, 0.5 mL of reagent a test:
 *   lot A (10 mL) put in use unverified: a result is held, 9.5 mL left
 *   lot B received, verified, put in use: A out of use; a result released
 *   the first result stays held (measured with A) until A's verification
 *   is accepted, which releases it.
 */
static void test_consumption_and_verification(void **state)
{
    (void)state;
    const char *item = st_name("GLU"), *a = st_name("A"), *b = st_name("B");
    char r1[ID_LEN + 1], r2[ID_LEN + 1], lot_a[ID_LEN + 1], lot_b[ID_LEN + 1], manual[ID_LEN + 1];
    json_t *out = NULL, *warnings = NULL, *reasons = NULL;
    errinfo ei = {0};
    st_items(st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"Glucose HK\",\"kind\":\"reagent\","
                     "\"unit\":\"mL\",\"reorder_point\":5,\"reorder_quantity\":20,"
                     "\"open_stability_days\":28,\"tests\":[\"GLU\"],\"uses_per_test\":0.5}]}",
                     item));
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":10,"
                       "\"location\":\"%s\",\"expiry\":\"2099-01-01\"}",
                       item, a, f1),
               &out);
    st_lot_of(out, lot_a);
    assert_string_equal(st_str(json_object_get(out, "lot"), "status"), "quarantine");
    json_decref(out);

    /* in use although unverified: recorded, with a warning */
    st_put(item, a, &warnings);
    assert_int_equal(json_array_size(warnings), 1);
    assert_non_null(strstr(json_string_value(json_array_get(warnings, 0)), "not verified"));
    json_decref(warnings);
    assert_true(st_scalar("SELECT opened_at FROM stock_lots WHERE id = ?", lot_a) > 0);

    st_result("GLU", "90", inst, r1);
    assert_string_equal(st_result_col(r1, "status"), "review");
    assert_non_null(strstr(st_result_col(r1, "holds"), "reagent-lot"));
    assert_non_null(strstr(st_result_col(r1, "holds"), "not verified"));
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM stock_movements WHERE result_id = ?", r1), 1);
    assert_int_equal(st_scalar("SELECT quantity FROM stock_movements WHERE result_id = ?", r1),
                     -M / 2);
    assert_int_equal(st_sum(lot_a, f1), 95 * M / 10);
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND action ="
                               " 'stock.consume'",
                               r1),
                     1);
    /* a hard hold: a person cannot release it either */
    assert_int_equal(gate_check(st_db, r1, GATE_MANUAL, st_user.id, &reasons, &ei), ERR_OK);
    assert_int_equal(json_array_size(reasons), 1);
    assert_string_equal(st_str(json_array_get(reasons, 0), "code"), "reagent-lot");
    json_decref(reasons);

    /* by hand (no instrument): nothing consumed, nothing held */
    st_result("GLU", "91", NULL, manual);
    assert_string_equal(st_result_col(manual, "status"), "released");
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM stock_movements WHERE result_id = ?", manual),
                     0);

    /* lot B, verified against A, put in use: A is out of use */
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":10,"
                       "\"location\":\"%s\",\"expiry\":\"2099-06-01\"}",
                       item, b, f2),
               &out);
    st_lot_of(out, lot_b);
    json_decref(out);
    json_t *vb = st_body("{\"item\":\"%s\",\"lot\":\"%s\",\"compared_lot\":\"%s\",\"samples\":20,"
                         "\"mean_difference\":1.2,\"criterion\":\"|bias| <= 3%%\","
                         "\"accepted\":true}",
                         item, b, a);
    assert_int_equal(stock_verification_record(st_db, &st_ctx, vb, &out, &ei), ERR_OK);
    json_decref(vb);
    assert_string_equal(st_str(json_object_get(out, "lot"), "status"), "verified");
    assert_string_equal(st_str(json_object_get(out, "verification"), "compared_lot"), a);
    assert_string_equal(st_str(json_object_get(out, "verification"), "verified_by"), st_username);
    assert_int_equal(json_array_size(json_object_get(out, "released")), 0);
    json_decref(out);
    st_put(item, b, &warnings);
    assert_int_equal(json_array_size(warnings), 0);
    json_decref(warnings);
    assert_int_equal(stock_reagents_get(st_db, inst, &out, &ei), ERR_OK);
    json_t *in_use = json_object_get(out, "in_use"), *hist = json_object_get(out, "history");
    assert_int_equal(json_array_size(in_use), 1);
    assert_string_equal(st_str(json_array_get(in_use, 0), "lot"), b);
    assert_string_equal(st_str(json_array_get(in_use, 0), "location"), f2);
    assert_string_equal(st_str(json_array_get(hist, 0), "lot"), a);
    assert_false(json_is_null(json_object_get(json_array_get(hist, 0), "ended_at")));
    json_decref(out);

    st_result("GLU", "88", inst, r2);
    assert_string_equal(st_result_col(r2, "status"), "released");
    assert_int_equal(st_sum(lot_b, f2), 95 * M / 10);
    assert_int_equal(st_sum(lot_a, f1), 95 * M / 10); /* A no longer consumed */

    /* what measured r1 was A: B in use changes nothing for it */
    assert_int_equal(gate_check(st_db, r1, GATE_MANUAL, st_user.id, &reasons, &ei), ERR_OK);
    assert_int_equal(json_array_size(reasons), 1);
    json_decref(reasons);

    /* A rejected: still held; then accepted: released */
    assert_int_equal(st_verify(item, a, false, &out, &ei), ERR_OK);
    assert_string_equal(st_str(json_object_get(out, "lot"), "status"), "quarantine");
    assert_int_equal(json_array_size(json_object_get(out, "released")), 0);
    json_decref(out);
    assert_string_equal(st_result_col(r1, "status"), "review");
    assert_int_equal(st_verify(item, a, true, &out, &ei), ERR_OK);
    json_t *released = json_object_get(out, "released");
    assert_int_equal(json_array_size(released), 1);
    assert_string_equal(json_string_value(json_array_get(released, 0)), r1);
    json_decref(out);
    assert_string_equal(st_result_col(r1, "status"), "released");
    assert_string_equal(st_result_col(r1, "release_mode"), "auto");

    /* one accepted verification a lot */
    int64_t head = st_head();
    assert_int_equal(st_verify(item, a, true, NULL, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "lot");
    assert_int_equal(st_head(), head);
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM stock_verifications WHERE lot_id = ?", lot_a),
                     2);
    /* only reagents, controls and calibrators are verified; compared with another lot */
    st_items(
        st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"Swabs\",\"kind\":\"phlebotomy-supply\","
                "\"unit\":\"box\",\"reorder_point\":1,\"reorder_quantity\":5}]}",
                st_name("SWAB")));
    head = st_head();
    assert_int_equal(st_verify(st_name("SWAB"), "X", true, NULL, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "item");
    assert_int_equal(st_verify(item, "NOPE", true, NULL, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "lot");
    vb = st_body("{\"item\":\"%s\",\"lot\":\"%s\",\"compared_lot\":\"%s\",\"samples\":20,"
                 "\"mean_difference\":1.2,\"criterion\":\"c\",\"accepted\":true}",
                 item, b, b);
    assert_int_equal(stock_verification_record(st_db, &st_ctx, vb, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "compared_lot");
    json_decref(vb);
    vb = st_body("{\"item\":\"%s\",\"lot\":\"%s\",\"samples\":0,\"mean_difference\":1,"
                 "\"criterion\":\"c\",\"accepted\":true}",
                 item, b);
    assert_int_equal(stock_verification_record(st_db, &st_ctx, vb, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "samples");
    json_decref(vb);
    assert_int_equal(st_head(), head);

    /* putting in use: only reagents, a lot with stock, a known instrument */
    json_t *pb = st_body("{\"item\":\"%s\",\"lot\":\"X\"}", st_name("SWAB"));
    assert_int_equal(stock_reagent_put(st_db, &st_ctx, inst, pb, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "item");
    json_decref(pb);
    pb = st_body("{\"item\":\"%s\",\"lot\":\"%s\",\"location\":\"%s\"}", item, b, f1);
    assert_int_equal(stock_reagent_put(st_db, &st_ctx, inst, pb, &out, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "location");
    assert_int_equal(stock_reagent_put(st_db, &st_ctx, "NO-SUCH-ANALYZER", pb, &out, &ei),
                     ERR_NOT_FOUND);
    assert_string_equal(ei.field, "name");
    json_decref(pb);
    assert_int_equal(st_head(), head);

    /* out of use: nothing consumed any more */
    assert_int_equal(stock_reagent_remove(st_db, &st_ctx, inst, item, &out, &ei), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(out, "in_use")), 0);
    json_decref(out);
    assert_int_equal(stock_reagent_remove(st_db, &st_ctx, inst, item, &out, &ei), ERR_NOT_FOUND);
    assert_string_equal(ei.field, "item");
    st_result("GLU", "87", inst, r2);
    assert_string_equal(st_result_col(r2, "status"), "released");
    assert_int_equal(st_sum(lot_b, f2), 95 * M / 10);
}

/*
 * Expiry is judged at the time of measurement, open-vial stability too:
 * a lot that expired on 2020-06-30, and a lot opened 40 days ago with a
 * stability of 28 days.
 */
static void test_expired_and_open_lots_hold(void **state)
{
    (void)state;
    const char *item = st_name("K"), *old = st_name("OLD"), *open = st_name("OPEN");
    char r[ID_LEN + 1], lot_open[ID_LEN + 1];
    json_t *out = NULL, *warnings = NULL;
    errinfo ei = {0};
    st_items(st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"Potassium ISE cartridge\","
                     "\"kind\":\"reagent\",\"unit\":\"{test}\",\"reorder_point\":0,"
                     "\"reorder_quantity\":500,\"open_stability_days\":28,\"tests\":[\"K\"],"
                     "\"uses_per_test\":1}]}",
                     item));
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":100,"
                       "\"location\":\"%s\",\"expiry\":\"2020-06-30\",\"at\":\"2020-01-02\"}",
                       item, old, f1),
               NULL);
    assert_int_equal(st_verify(item, old, true, NULL, &ei), ERR_OK);
    st_put(item, old, &warnings);
    assert_int_equal(json_array_size(warnings), 1);
    assert_non_null(
        strstr(json_string_value(json_array_get(warnings, 0)), "expired on 2020-06-30"));
    json_decref(warnings);
    st_result("K", "4.1", inst, r);
    assert_string_equal(st_result_col(r, "status"), "review");
    assert_non_null(strstr(st_result_col(r, "holds"), "expired on 2020-06-30"));
    /* consumed all the same, although a movement by hand is refused */
    assert_int_equal(st_scalar("SELECT COUNT(*) FROM stock_movements WHERE result_id = ?", r), 1);

    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":100,"
                       "\"location\":\"%s\",\"expiry\":\"2099-01-01\"}",
                       item, open, f1),
               &out);
    st_lot_of(out, lot_open);
    json_decref(out);
    assert_int_equal(st_verify(item, open, true, NULL, &ei), ERR_OK);
    st_put(item, open, &warnings);
    assert_int_equal(json_array_size(warnings), 0);
    json_decref(warnings);
    st_result("K", "4.2", inst, r);
    assert_string_equal(st_result_col(r, "status"), "released");
    /* forty days later (the opening moved back, as time would) */
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE stock_lots SET opened_at = %lld WHERE id = ?",
             (long long)(time_now_us() - 40 * ST_DAY));
    assert_int_equal(db_run(st_db, &ei, NULL, sql, "t", lot_open), ERR_OK);
    st_result("K", "4.3", inst, r);
    assert_string_equal(st_result_col(r, "status"), "review");
    assert_non_null(strstr(st_result_col(r, "holds"), "open-vial stability of 28 days"));

    json_t *alerts = st_alerts(30);
    const json_t *al = st_alert(alerts, "open-stability", item, open);
    assert_non_null(al);
    assert_string_equal(st_str(al, "instrument"), inst);
    al = st_alert(alerts, "expired", item, old);
    assert_non_null(al);
    assert_int_equal(st_micro(json_object_get(al, "on_hand")), 99 * M);
    json_decref(alerts);
}

/*
 * Sodium, 1 mL a test, 2 mL received: the third result takes the books to
 * -1 mL. It is stored and released all the same; the alerts show the
 * discrepancy and the reorder point, the reorder list the order; a count
 * that finds nothing puts the books right.
 */
/* Live events: a movement, a lot put in use and taken out say so to the
 * benches (stock.*); a refused movement says nothing. */
static void test_live_events(void **state)
{
    (void)state;
    const char *item = st_name("EVT"), *lot = st_name("E1");
    char lot_id[ID_LEN + 1], got[2048], want[1024];
    json_t *out = NULL, *warnings = NULL;
    errinfo ei = {0};
    evbus_sub *sub = NULL;
    st_items(st_body("{\"items\":[{\"code\":\"%s\",\"name\":\"Glucose HK\",\"kind\":\"reagent\","
                     "\"unit\":\"mL\",\"reorder_point\":5,\"reorder_quantity\":20,"
                     "\"tests\":[\"GLU\"],\"uses_per_test\":0.5}]}",
                     item));
    assert_int_equal(evbus_subscribe(evbus_global(), 0, NULL, NULL, &sub), ERR_OK);
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":10,"
                       "\"location\":\"%s\",\"expiry\":\"2099-01-01\"}",
                       item, lot, f1),
               &out);
    st_lot_of(out, lot_id);
    json_decref(out);
    testdb_events(sub, got, sizeof(got));
    snprintf(want, sizeof(want),
             "stock.movement {\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\","
             "\"quantity\":\"10\",\"location\":\"%s\",\"change\":\"10\",\"new_lot\":true,"
             "\"lot_id\":\"%s\"}\n",
             item, lot, f1, lot_id);
    assert_string_equal(got, want);

    st_refused(st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":11,"
                       "\"location\":\"%s\"}",
                       item, lot, f1),
               ERR_CONFLICT, "quantity");
    testdb_events(sub, got, sizeof(got));
    assert_string_equal(got, "");

    st_put(item, lot, &warnings);
    json_decref(warnings);
    testdb_events(sub, got, sizeof(got));
    assert_non_null(strstr(got, "stock.reagent.in-use {"));
    snprintf(want, sizeof(want), "\"instrument\":\"%s\"}\n", inst);
    assert_non_null(strstr(got, want));
    assert_ptr_equal(strchr(got, '\n'), got + strlen(got) - 1); /* one event */

    assert_int_equal(stock_reagent_remove(st_db, &st_ctx, inst, item, &out, &ei), ERR_OK);
    json_decref(out);
    testdb_events(sub, got, sizeof(got));
    snprintf(want, sizeof(want),
             "stock.reagent.out-of-use {\"item\":\"%s\",\"instrument\":\"%s\"}\n", item, inst);
    assert_string_equal(got, want);
    evbus_unsubscribe(sub);
}

static void test_short_stock_alerts_and_reorder(void **state)
{
    (void)state;
    const char *item = st_name("NA"), *lot = st_name("S1"), *tube = st_name("CIT");
    char supplier[48], r[ID_LEN + 1], lot_id[ID_LEN + 1];
    json_t *out = NULL;
    errinfo ei = {0};
    snprintf(supplier, sizeof(supplier), "Acme %s", st_sfx);
    st_items(st_body(
        "{\"items\":[{\"code\":\"%s\",\"name\":\"Sodium ISE\",\"kind\":\"reagent\","
        "\"unit\":\"mL\",\"supplier\":\"%s\",\"catalogue_number\":\"NA-500\","
        "\"reorder_point\":5,\"reorder_quantity\":10,\"tests\":[\"NA\"],"
        "\"uses_per_test\":1},{\"code\":\"%s\",\"name\":\"Citrate tube\",\"kind\":\"tube\","
        "\"unit\":\"box\",\"supplier\":\"%s\",\"reorder_point\":2,\"reorder_quantity\":4}]}",
        item, supplier, tube, supplier));
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":2,"
                       "\"location\":\"%s\",\"expiry\":\"2099-01-01\"}",
                       item, lot, f1),
               &out);
    st_lot_of(out, lot_id);
    json_decref(out);
    assert_int_equal(st_verify(item, lot, true, NULL, &ei), ERR_OK);
    st_put(item, lot, NULL);
    for (int i = 0; i < 3; i++) {
        st_result("NA", "140", inst, r);
        assert_string_equal(st_result_col(r, "status"), "released");
    }
    assert_int_equal(st_sum(lot_id, f1), -M);

    /* tubes: 3 boxes expiring in 10 days */
    char soon[11];
    time_format_date(time_now_us() + 10 * ST_DAY, soon);
    st_move_ok(st_body("{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"C1\",\"quantity\":3,"
                       "\"location\":\"%s\",\"expiry\":\"%s\"}",
                       tube, f2, soon),
               NULL);

    json_t *alerts = st_alerts(30);
    const json_t *al = st_alert(alerts, "discrepancy", item, lot);
    assert_non_null(al);
    assert_string_equal(st_str(al, "location"), f1);
    assert_int_equal(st_micro(json_object_get(al, "on_hand")), -M);
    al = st_alert(alerts, "reorder-point", item, NULL);
    assert_non_null(al);
    assert_int_equal(st_micro(json_object_get(al, "on_hand")), -M);
    al = st_alert(alerts, "expiring", tube, "C1");
    assert_non_null(al);
    assert_string_equal(st_str(al, "expiry"), soon);
    assert_null(st_alert(alerts, "reorder-point", tube, NULL)); /* 3 > 2 */
    json_decref(alerts);
    alerts = st_alerts(5);
    assert_null(st_alert(alerts, "expiring", tube, "C1"));
    json_decref(alerts);

    /* the reorder list: -1 on hand, point 5, orders of 10: 10 brings 9 */
    assert_int_equal(stock_reorder(st_db, &out, &ei), ERR_OK);
    size_t i;
    json_t *g, *mine = NULL;
    json_array_foreach(json_object_get(out, "suppliers"), i, g)
    {
        if (!strcmp(st_str(g, "supplier"), supplier))
            mine = g;
    }
    assert_non_null(mine);
    json_t *items = json_object_get(mine, "items");
    assert_int_equal(json_array_size(items), 1); /* the tubes are above their point */
    assert_string_equal(st_str(json_array_get(items, 0), "item"), item);
    assert_string_equal(st_str(json_array_get(items, 0), "catalogue_number"), "NA-500");
    assert_int_equal(st_micro(json_object_get(json_array_get(items, 0), "order_quantity")), 10 * M);
    json_decref(out);

    /* by hand, the books cannot go lower; a count puts them right */
    st_refused(st_body("{\"kind\":\"use\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":1,"
                       "\"location\":\"%s\"}",
                       item, lot, f1),
               ERR_CONFLICT, "quantity");
    st_move_ok(st_body("{\"kind\":\"count\",\"item\":\"%s\",\"lot\":\"%s\",\"counted\":0,"
                       "\"location\":\"%s\"}",
                       item, lot, f1),
               &out);
    json_t *count = json_array_get(json_object_get(out, "movements"), 0);
    assert_int_equal(st_micro(json_object_get(count, "quantity")), M);
    assert_string_equal(st_str(json_object_get(out, "lot"), "status"), "depleted");
    json_decref(out);
    alerts = st_alerts(30);
    assert_null(st_alert(alerts, "discrepancy", item, lot));
    assert_non_null(st_alert(alerts, "reorder-point", item, NULL));
    json_decref(alerts);

    /* what a storage unit holds: the tubes at F2, nothing of the sodium lot at F1 */
    assert_int_equal(stock_lots_at(st_db, f2, &out, &ei), ERR_OK);
    bool tubes = false;
    json_t *l;
    json_array_foreach(out, i, l)
    {
        assert_true(st_micro(json_object_get(l, "quantity")) > 0);
        if (!strcmp(st_str(l, "item"), tube)) {
            tubes = true;
            assert_string_equal(st_str(l, "lot"), "C1");
            assert_string_equal(st_str(l, "expiry"), soon);
            assert_int_equal(st_micro(json_object_get(l, "quantity")), 3 * M);
        }
    }
    assert_true(tubes);
    json_decref(out);
    assert_int_equal(stock_lots_at(st_db, f1, &out, &ei), ERR_OK);
    json_array_foreach(out, i, l) assert_string_not_equal(st_str(l, "lot"), lot);
    json_decref(out);
    assert_int_equal(stock_lots_at(st_db, "NO-SUCH-UNIT", &out, &ei), ERR_OK);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    assert_int_equal(stock_alerts(st_db, -1, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "days");
}

static int st_setup(void **state)
{
    (void)state;
    errinfo ei = {0};
    char sql[256], lower[11];
    int n = 0;
    if (!testdb_pick("stock", st_url, sizeof(st_url), st_tmp, sizeof(st_tmp)))
        return -1;
    testdb_suffix(st_sfx, 8, false);
    if (!testdb_open(st_url, &st_sys, &st_db))
        return -1;
    testdb_suffix(lower, 10, true);
    snprintf(st_username, sizeof(st_username), "stock-%s", lower);
    if (user_create(st_db, &st_sys, st_username, "Stock Supervisor", "supervisor",
                    "correct horse battery", &st_user, &ei)) {
        fprintf(stderr, "user_create: %s\n", ei.message);
        return -1;
    }
    st_ctx.actor_id = st_user.id;
    st_ctx.actor = st_user.username;
    st_ctx.source = "test";
    snprintf(f1, sizeof(f1), "FRIDGE-1-%s", st_sfx);
    snprintf(f2, sizeof(f2), "FRIDGE-2-%s", st_sfx);
    snprintf(inst, sizeof(inst), "CHEM-%s", st_sfx);
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO storage_units (name, kind, low, high, created_at, created_by)"
                 " VALUES (?, 'refrigerator', 2, 8, %lld, 'test')",
                 (long long)time_now_us());
        if (db_run(st_db, &ei, NULL, sql, "t", i ? f2 : f1)) {
            fprintf(stderr, "storage unit: %s\n", ei.message);
            return -1;
        }
    }
    json_t *doc = st_body("{\"instruments\":[{\"name\":\"%s\",\"kind\":\"analyzer\","
                          "\"protocol\":\"astm\",\"match\":{\"sender\":\"S-%s\"}}]}",
                          inst, st_sfx);
    err_t rc = instrument_import(st_db, &st_sys, doc, &n, &ei);
    json_decref(doc);
    if (rc) {
        fprintf(stderr, "instrument_import: %s\n", ei.message);
        return -1;
    }
    return 0;
}

static int st_teardown(void **state)
{
    (void)state;
    testdb_close(st_db, st_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest calc[] = {
        cmocka_unit_test(test_quantities_are_exact),
        cmocka_unit_test(test_order_quantity),
        cmocka_unit_test(test_lot_fitness),
    };
    const struct CMUnitTest record[] = {
        cmocka_unit_test(test_movements_worked_example),
        cmocka_unit_test(test_refusals_write_nothing),
        cmocka_unit_test(test_items_import),
        cmocka_unit_test(test_consumption_and_verification),
        cmocka_unit_test(test_expired_and_open_lots_hold),
        cmocka_unit_test(test_short_stock_alerts_and_reorder),
        cmocka_unit_test(test_live_events),
    };
    int bad = cmocka_run_group_tests_name("stock/calc", calc, NULL, NULL);
    bad += cmocka_run_group_tests_name(testdb_group("stock"), record, st_setup, st_teardown);
    return bad;
}
