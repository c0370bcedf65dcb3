/*
 * test_equip_ops.c - temperature logs (src/equip/templog.c) and work orders
 * (src/equip/workorder.c). First with no database: how far a reading lies
 * outside its limits, downtime merged over intervals and availability on
 * worked examples (two days down in a 30-day month is 93.33 %, an order
 * across a month boundary, overlapping orders), months as UTC intervals.
 * Then on a real database, with assets and storage units put in by SQL:
 * readings by hand and from a sensor, an excursion opening an alert that
 * lists the specimen stored in the refrigerator, readings joining it, its
 * close with a documented action; work orders from the report to the close
 * with the asset's status following; availability of orders on record;
 * refusals that name the field and write nothing.
 *
 * The database suite runs on BENCHSIDE_TEST_DB (a PostgreSQL database that
 * may be reused between runs) or a temporary SQLite file; tags, units and
 * names carry a random suffix made once per run.
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
#include "base/id.h"
#include "base/time.h"
#include "equip/templog.h"
#include "equip/workorder.h"
#include "lab/accession.h"
#include "lab/custody.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "testdb.h"

#define EO_DAY  (86400LL * 1000000LL)
#define EO_HOUR (3600LL * 1000000LL)
#define EO_MIN  (60LL * 1000000LL)

static void assert_near(double a, double b, double eps)
{
    if (fabs(a - b) > eps)
        fail_msg("%.17g != %.17g", a, b);
}

/* UTC microseconds of an ISO 8601 text. */
static int64_t eo_at(const char *iso)
{
    int64_t t = 0;
    if (time_parse_iso(iso, strlen(iso), &t, NULL))
        fail_msg("bad time in test: %s", iso);
    return t;
}

/* ------------------------------------------------------------------ pure */

static void test_excursion(void **state)
{
    (void)state;
    /* a refrigerator kept from 2 to 8 degrees, both limits inside */
    assert_near(equip_excursion(5, 2, 8), 0, 0);
    assert_near(equip_excursion(2, 2, 8), 0, 0);
    assert_near(equip_excursion(8, 2, 8), 0, 0);
    assert_near(equip_excursion(8.5, 2, 8), 0.5, 1e-12);
    assert_near(equip_excursion(12, 2, 8), 4, 1e-12);
    assert_near(equip_excursion(0.5, 2, 8), 1.5, 1e-12);
    /* a freezer from -25 to -15 */
    assert_near(equip_excursion(-20, -25, -15), 0, 0);
    assert_near(equip_excursion(-12, -25, -15), 3, 1e-12);
    assert_near(equip_excursion(-30, -25, -15), 5, 1e-12);
}

static void test_month(void **state)
{
    (void)state;
    int64_t from = 0, to = 0;
    errinfo ei = {0};
    assert_int_equal(equip_month("2026-04", &from, &to, &ei), ERR_OK);
    assert_true(from == eo_at("2026-04-01T00:00:00Z"));
    assert_true(to == eo_at("2026-05-01T00:00:00Z"));
    assert_true(to - from == 30 * EO_DAY);
    assert_int_equal(equip_month("2026-02", &from, &to, &ei), ERR_OK);
    assert_true(to - from == 28 * EO_DAY);
    assert_int_equal(equip_month("2024-02", &from, &to, &ei), ERR_OK);
    assert_true(to - from == 29 * EO_DAY); /* a leap year */
    assert_int_equal(equip_month("2026-12", &from, &to, &ei), ERR_OK);
    assert_true(to == eo_at("2027-01-01T00:00:00Z"));
    static const char *const bad[] = {"2026-13", "2026-00", "2026-1", "26-01",    "2026/01",
                                      "2026-1a", "1899-12", "",       "2026-01x", "+026-01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&ei);
        if (equip_month(bad[i], &from, &to, &ei) != ERR_INVALID || strcmp(ei.field, "month"))
            fail_msg("month '%s' was not refused", bad[i]);
    }
    assert_int_equal(equip_month(NULL, &from, &to, &ei), ERR_INVALID);
}

/* April 2026 has 30 days: two days down leave 28 of 30, 93.33 %. */
static void test_two_days_in_thirty(void **state)
{
    (void)state;
    int64_t from = 0, to = 0;
    assert_int_equal(equip_month("2026-04", &from, &to, NULL), ERR_OK);
    equip_interval iv[] = {{eo_at("2026-04-10T00:00:00Z"), eo_at("2026-04-12T00:00:00Z")}};
    int64_t down = equip_downtime(iv, 1, from, to);
    assert_true(down == 2 * EO_DAY);
    double a = equip_availability(down, from, to);
    assert_near(a, 28.0 / 30.0, 1e-12);
    assert_near(round(a * 10000) / 100, 93.33, 1e-9);
    /* nothing down: 100 % */
    assert_true(equip_downtime(iv, 0, from, to) == 0);
    assert_near(equip_availability(0, from, to), 1, 0);
}

/* An order open from 30 January 12:00 to 2 February 00:00: one and a half
 * days of January's 31, one day of February's 28. */
static void test_across_a_month_boundary(void **state)
{
    (void)state;
    int64_t jan_from, jan_to, feb_from, feb_to;
    assert_int_equal(equip_month("2026-01", &jan_from, &jan_to, NULL), ERR_OK);
    assert_int_equal(equip_month("2026-02", &feb_from, &feb_to, NULL), ERR_OK);
    equip_interval iv[] = {{eo_at("2026-01-30T12:00:00Z"), eo_at("2026-02-02T00:00:00Z")}};
    int64_t jan = equip_downtime(iv, 1, jan_from, jan_to);
    int64_t feb = equip_downtime(iv, 1, feb_from, feb_to);
    assert_true(jan == 36 * EO_HOUR);
    assert_true(feb == 24 * EO_HOUR);
    assert_near(equip_availability(jan, jan_from, jan_to), 1 - 1.5 / 31, 1e-12); /* 95.16 % */
    assert_near(equip_availability(feb, feb_from, feb_to), 1 - 1.0 / 28, 1e-12); /* 96.43 % */
    /* an order still open: until now, say 10 March; all of February down */
    equip_interval open[] = {{eo_at("2026-02-01T00:00:00Z"), eo_at("2026-03-10T00:00:00Z")}};
    assert_true(equip_downtime(open, 1, feb_from, feb_to) == 28 * EO_DAY);
    assert_near(equip_availability(28 * EO_DAY, feb_from, feb_to), 0, 0);
}

/* Overlapping orders count their common time once. June 2026, 30 days:
 * [3 Jun 08:00, 4 Jun 08:00) and [3 Jun 20:00, 5 Jun 20:00) make
 * [3 Jun 08:00, 5 Jun 20:00), 2.5 days; [4 Jun 00:00, 4 Jun 06:00) lies
 * inside; [20 Jun, 21 Jun) adds one day: 3.5 days, 88.33 %. */
static void test_overlapping_orders(void **state)
{
    (void)state;
    int64_t from, to;
    assert_int_equal(equip_month("2026-06", &from, &to, NULL), ERR_OK);
    equip_interval iv[] = {
        {eo_at("2026-06-20T00:00:00Z"), eo_at("2026-06-21T00:00:00Z")},
        {eo_at("2026-06-03T20:00:00Z"), eo_at("2026-06-05T20:00:00Z")},
        {eo_at("2026-06-04T00:00:00Z"), eo_at("2026-06-04T06:00:00Z")},
        {eo_at("2026-06-03T08:00:00Z"), eo_at("2026-06-04T08:00:00Z")},
    };
    int64_t down = equip_downtime(iv, 4, from, to);
    assert_true(down == 84 * EO_HOUR);
    assert_near(round(equip_availability(down, from, to) * 10000) / 100, 88.33, 1e-9);
    /* two orders end to end: nothing counted twice, nothing lost */
    equip_interval chain[] = {{eo_at("2026-06-10T00:00:00Z"), eo_at("2026-06-11T00:00:00Z")},
                              {eo_at("2026-06-11T00:00:00Z"), eo_at("2026-06-11T12:00:00Z")}};
    assert_true(equip_downtime(chain, 2, from, to) == 36 * EO_HOUR);
    /* the same order twice */
    equip_interval twice[] = {{eo_at("2026-06-10T00:00:00Z"), eo_at("2026-06-12T00:00:00Z")},
                              {eo_at("2026-06-10T00:00:00Z"), eo_at("2026-06-12T00:00:00Z")}};
    assert_true(equip_downtime(twice, 2, from, to) == 2 * EO_DAY);
    /* empty and reversed intervals, and ones outside the month, count nothing */
    equip_interval none[] = {{eo_at("2026-06-10T00:00:00Z"), eo_at("2026-06-10T00:00:00Z")},
                             {eo_at("2026-06-12T00:00:00Z"), eo_at("2026-06-11T00:00:00Z")},
                             {eo_at("2026-05-01T00:00:00Z"), eo_at("2026-06-01T00:00:00Z")},
                             {eo_at("2026-07-01T00:00:00Z"), eo_at("2026-07-05T00:00:00Z")}};
    assert_true(equip_downtime(none, 4, from, to) == 0);
    /* one order longer than the month: nothing available */
    equip_interval all[] = {{eo_at("2026-05-20T00:00:00Z"), eo_at("2026-07-02T00:00:00Z")}};
    int64_t whole = equip_downtime(all, 1, from, to);
    assert_true(whole == 30 * EO_DAY);
    assert_near(equip_availability(whole, from, to), 0, 0);
    assert_near(equip_availability(0, to, from), 1, 0); /* an empty window */
}

/* ------------------------------------------------------------- on record */

static db *eo_db;
static char eo_url[512], eo_tmp[256], eo_sfx[11];
static const audit_ctx eo_sys = {NULL, "test", "test"};
static user eo_tech, eo_sensor, eo_biomed;
static audit_ctx eo_tech_ctx, eo_sensor_ctx, eo_biomed_ctx;
static char eo_fridge[40], eo_freezer[40], eo_analyzer[40], eo_centrifuge[40], eo_old[40];

static int64_t eo_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = -1;
    err_t rc = testdb_scalar(eo_db, sql, arg, &v, &ei);
    if (rc && rc != ERR_NOT_FOUND)
        fail_msg("%s: %s", sql, ei.message);
    return rc ? -1 : v;
}

static int64_t eo_head(void)
{
    return eo_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

static int64_t eo_readings(const char *unit)
{
    return eo_scalar("SELECT COUNT(*) FROM temperature_readings WHERE unit = ?", unit);
}

static json_t *eo_parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

static const char *eo_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("no string '%s'", key);
    return s;
}

static json_int_t eo_int(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer '%s'", key);
    return json_integer_value(v);
}

/* ISO 8601 of now plus minutes, in one of a few static buffers. */
static const char *eo_iso(int64_t minutes)
{
    static char out[8][TIME_ISO_LEN];
    static int k;
    char *s = out[k++ % 8];
    time_format_iso(time_now_us() + minutes * EO_MIN, s);
    return s;
}

/* Record readings (body as JSON text) on unit as user u. */
static err_t eo_record(const user *u, const audit_ctx *ctx, const char *unit, const char *text,
                       json_t **out, errinfo *ei)
{
    json_t *body = eo_parse(text), *o = NULL;
    memset(ei, 0, sizeof(*ei));
    err_t rc = equip_templog_record(eo_db, ctx, u, unit, body, &o, ei);
    json_decref(body);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static json_t *eo_record_ok(const user *u, const audit_ctx *ctx, const char *unit, const char *text)
{
    errinfo ei;
    json_t *out = NULL;
    if (eo_record(u, ctx, unit, text, &out, &ei))
        fail_msg("record on %s: %s (%s): %s", unit, ei.message, ei.field, text);
    return out;
}

/* A refused recording: the code and field, and nothing written. */
static void eo_record_refused(const user *u, const audit_ctx *ctx, const char *unit,
                              const char *text, err_t code, const char *field)
{
    errinfo ei;
    json_t *out = NULL;
    int64_t head = eo_head(), rows = eo_readings(unit);
    int64_t alerts = eo_scalar("SELECT COUNT(*) FROM temperature_alerts", NULL);
    err_t rc = eo_record(u, ctx, unit, text, &out, &ei);
    assert_null(out);
    if (rc != code || strcmp(ei.field, field))
        fail_msg("%s: got %s '%s' (%s), want %s '%s'", text, err_name(rc), ei.field, ei.message,
                 err_name(code), field);
    assert_int_equal(eo_head(), head);
    assert_int_equal(eo_readings(unit), rows);
    assert_int_equal(eo_scalar("SELECT COUNT(*) FROM temperature_alerts", NULL), alerts);
}

static void eo_insert_asset(const char *tag, const char *cls, const char *status)
{
    char id[ID_LEN + 1];
    errinfo ei = {0};
    int64_t now = time_now_us();
    id_new(id);
    if (db_run(eo_db, &ei, NULL,
               "INSERT INTO assets (id, tag, class, manufacturer, model, serial, location,"
               " risk_class, owner, install_date, status, status_at, created_at, created_by,"
               " updated_at) VALUES (?, ?, ?, 'Acme', 'M-1', ?, 'Core lab', 'medium',"
               " 'Laboratory', '2020-01-15', ?, ?, ?, 'test', ?)",
               "tttttiii", id, tag, cls, tag, status, now, now, now))
        fail_msg("asset %s: %s", tag, ei.message);
}

static void eo_insert_unit(const char *name, const char *kind, double low, double high)
{
    errinfo ei = {0};
    if (db_run(eo_db, &ei, NULL,
               "INSERT INTO storage_units (name, kind, low, high, created_at, created_by)"
               " VALUES (?, ?, ?, ?, ?, 'test')",
               "ttddi", name, kind, low, high, time_now_us()))
        fail_msg("storage unit %s: %s", name, ei.message);
}

/* A calibration of the asset tagged tag by an external laboratory, passed or
 * not; its id into id. */
static void eo_insert_calibration(const char *tag, bool passed, char id[ID_LEN + 1])
{
    errinfo ei = {0};
    int64_t now = time_now_us();
    id_new(id);
    if (db_run(eo_db, &ei, NULL,
               "INSERT INTO equip_calibrations (id, asset_id, performed_at, performed_by, passed,"
               " as_found_passed, provider, certificate, valid_until, recorded_at, recorded_by)"
               " SELECT ?, id, ?, 'test', ?, 1, 'Acme Metrology', 'C-1', '2099-12-31', ?, 'test'"
               " FROM assets WHERE tag = ?",
               "tiiit", id, now, (int64_t)passed, now, tag))
        fail_msg("calibration of %s: %s", tag, ei.message);
}

static void eo_event(const char *acc, const char *text)
{
    errinfo ei = {0};
    json_t *b = eo_parse(text), *o = NULL;
    if (custody_record(eo_db, &eo_sys, acc, b, &o, &ei))
        fail_msg("custody %s: %s", text, ei.message);
    json_decref(b);
    json_decref(o);
}

/* A specimen of GLU and K for a new patient, stored in unit; its accession
 * and patient id into acc and pid. */
static void eo_store_specimen(const char *unit, char acc[ACCESSION_LEN + 1], char pid[ID_LEN + 1])
{
    static int n;
    char mrn[48], family[48], ev[200];
    errinfo ei = {0};
    patient p;
    json_t *cand = NULL, *out = NULL;
    n++;
    snprintf(mrn, sizeof(mrn), "EQ%d-%s", n, eo_sfx);
    snprintf(family, sizeof(family), "Cold%d%s", n, eo_sfx);
    json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "mrn", mrn, "family", family, "given",
                          "Frida", "birth_date", "1975-03-09", "sex", "female", "confirm_new", 1);
    assert_int_equal(patient_create(eo_db, &eo_sys, b, &p, &cand, &ei), ERR_OK);
    json_decref(b);
    json_decref(cand);
    b = json_pack("{s:s,s:[s,s],s:s,s:s,s:[s]}", "patient_id", p.id, "tests", "GLU", "K",
                  "priority", "routine", "clinician", "Dr. F. Rost", "reasons", "R73.09");
    assert_int_equal(order_create(eo_db, &eo_sys, b, &out, &ei), ERR_OK);
    json_decref(b);
    json_t *specs = json_object_get(out, "specimens");
    assert_int_equal(json_array_size(specs), 1);
    snprintf(acc, ACCESSION_LEN + 1, "%s", eo_str(json_array_get(specs, 0), "accession"));
    snprintf(pid, ID_LEN + 1, "%s", p.id);
    json_decref(out);
    eo_event(acc, "{\"event\":\"collected\"}");
    eo_event(acc, "{\"event\":\"received\"}");
    snprintf(ev, sizeof(ev),
             "{\"event\":\"stored\",\"location\":\"%s\",\"rack\":\"R7\",\"position\":\"C4\","
             "\"temperature\":\"refrigerated\"}",
             unit);
    eo_event(acc, ev);
}

static const json_t *eo_specimen_in(const json_t *alert, const char *acc)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(json_object_get(alert, "stored"), "specimens"), i, s)
    {
        if (!strcmp(eo_str(s, "accession"), acc))
            return s;
    }
    return NULL;
}

static json_t *eo_alert(const char *id, bool patients)
{
    errinfo ei = {0};
    json_t *out = NULL;
    if (equip_templog_alert_get(eo_db, &eo_tech_ctx, id, patients, &out, &ei))
        fail_msg("alert %s: %s", id, ei.message);
    return out;
}

static err_t eo_close(const user *u, const audit_ctx *ctx, const char *id, const char *text,
                      json_t **out, errinfo *ei)
{
    json_t *body = eo_parse(text), *o = NULL;
    memset(ei, 0, sizeof(*ei));
    err_t rc = equip_templog_alert_close(eo_db, ctx, u, id, body, true, &o, ei);
    json_decref(body);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

/* By hand and from a sensor, in range: no alert; the days' minimum and maximum. */
static void test_readings_in_range(void **state)
{
    (void)state;
    char text[512];
    json_t *out = eo_record_ok(&eo_tech, &eo_tech_ctx, eo_freezer,
                               "{\"celsius\":-20.5,\"note\":\"door checked\"}");
    assert_int_equal(eo_int(out, "recorded"), 1);
    assert_int_equal(eo_int(out, "excursions"), 0);
    assert_true(json_is_false(json_object_get(out, "alert_opened")));
    assert_true(json_is_null(json_object_get(out, "alert")));
    json_decref(out);
    snprintf(text, sizeof(text),
             "{\"readings\":[{\"at\":\"%s\",\"celsius\":-18,\"sensor\":\"T-1\"},"
             "{\"at\":\"%s\",\"celsius\":-24.25,\"sensor\":\"T-1\"},"
             "{\"at\":\"%s\",\"celsius\":-15,\"sensor\":\"T-1\"}]}",
             eo_iso(-30), eo_iso(-20), eo_iso(-10));
    out = eo_record_ok(&eo_sensor, &eo_sensor_ctx, eo_freezer, text);
    assert_int_equal(eo_int(out, "recorded"), 3);
    assert_int_equal(eo_int(out, "duplicates"), 0);
    json_decref(out);
    assert_int_equal(eo_readings(eo_freezer), 4);
    assert_int_equal(eo_scalar("SELECT COUNT(*) FROM temperature_readings WHERE unit = ? AND"
                               " source = 'sensor' AND sensor = 'T-1'",
                               eo_freezer),
                     3);
    assert_int_equal(eo_scalar("SELECT COUNT(*) FROM temperature_readings WHERE unit = ? AND"
                               " source = 'manual' AND sensor = ''",
                               eo_freezer),
                     1);
    /* the same batch again: duplicates, nothing added */
    out = eo_record_ok(&eo_sensor, &eo_sensor_ctx, eo_freezer, text);
    assert_int_equal(eo_int(out, "recorded"), 0);
    assert_int_equal(eo_int(out, "duplicates"), 3);
    json_decref(out);
    assert_int_equal(eo_readings(eo_freezer), 4);

    errinfo ei = {0};
    assert_int_equal(equip_templog_readings(eo_db, eo_freezer, 0, 0, &out, &ei), ERR_OK);
    json_t *list = json_object_get(out, "readings"), *days = json_object_get(out, "days");
    assert_int_equal(json_array_size(list), 4);
    assert_near(json_real_value(json_object_get(json_array_get(list, 0), "celsius")), -18, 0);
    assert_string_equal(eo_str(json_array_get(list, 0), "sensor"), "T-1");
    assert_true(json_is_null(json_object_get(json_array_get(list, 3), "sensor")));
    assert_string_equal(eo_str(json_array_get(list, 3), "note"), "door checked");
    assert_string_equal(eo_str(json_array_get(list, 3), "source"), "manual");
    assert_near(json_real_value(json_object_get(json_object_get(out, "unit"), "low")), -25, 0);
    /* all within the last 30 minutes: one day, or two just after midnight */
    double lo = 100, hi = -100;
    json_int_t count = 0;
    size_t i;
    json_t *day;
    json_array_foreach(days, i, day)
    {
        double mn = json_real_value(json_object_get(day, "min"));
        double mx = json_real_value(json_object_get(day, "max"));
        lo = mn < lo ? mn : lo;
        hi = mx > hi ? mx : hi;
        count += eo_int(day, "readings");
        assert_int_equal(eo_int(day, "excursions"), 0);
    }
    assert_true(json_array_size(days) >= 1 && json_array_size(days) <= 2);
    assert_near(lo, -24.25, 0);
    assert_near(hi, -15, 0);
    assert_int_equal(count, 4);
    json_decref(out);
    assert_int_equal(
        eo_scalar("SELECT COUNT(*) FROM temperature_alerts WHERE unit = ?", eo_freezer), 0);

    /* a period: empty, reversed or too long is refused naming it */
    assert_int_equal(equip_templog_readings(eo_db, eo_freezer, 100, 100, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "from");
    int64_t now = time_now_us();
    assert_int_equal(equip_templog_readings(eo_db, eo_freezer, now - 93 * EO_DAY, now, &out, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "to");
    assert_int_equal(equip_templog_readings(eo_db, "NO-SUCH-UNIT", 0, 0, &out, &ei), ERR_NOT_FOUND);
    assert_string_equal(ei.field, "name");
    /* a period that holds only the first reading by time */
    assert_int_equal(
        equip_templog_readings(eo_db, eo_freezer, now - 40 * EO_MIN, now - 25 * EO_MIN, &out, &ei),
        ERR_OK);
    assert_int_equal(json_array_size(json_object_get(out, "readings")), 1);
    json_decref(out);
}

/* The path: a specimen stored in the refrigerator, a reading out of
 * range opens an alert that lists it; readings join it; its stored list stays
 * what was there then; a person closes it with the action and disposition. */
static void test_excursion_alert(void **state)
{
    (void)state;
    char acc[ACCESSION_LEN + 1], pid[ID_LEN + 1], text[512], alert_id[ID_LEN + 1];
    errinfo ei;
    eo_store_specimen(eo_fridge, acc, pid);
    json_t *stored = NULL;
    assert_int_equal(equip_templog_stored(eo_db, eo_fridge, &stored, &ei), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(stored, "specimens")), 1);
    json_decref(stored);

    json_t *out = eo_record_ok(&eo_tech, &eo_tech_ctx, eo_fridge, "{\"celsius\":5.0}");
    assert_true(json_is_null(json_object_get(out, "alert")));
    json_decref(out);

    /* 9.5 degrees: outside [2, 8] */
    snprintf(text, sizeof(text), "{\"readings\":[{\"at\":\"%s\",\"celsius\":9.5}]}", eo_iso(-50));
    out = eo_record_ok(&eo_sensor, &eo_sensor_ctx, eo_fridge, text);
    assert_true(json_is_true(json_object_get(out, "alert_opened")));
    assert_int_equal(eo_int(out, "excursions"), 1);
    json_t *a = json_object_get(out, "alert");
    assert_string_equal(eo_str(a, "status"), "open");
    assert_int_equal(eo_int(a, "stored_count"), 1);
    assert_null(json_object_get(a, "stored"));
    snprintf(alert_id, sizeof(alert_id), "%s", eo_str(a, "id"));
    json_decref(out);
    assert_int_equal(eo_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND"
                               " action = 'equip.temperature.alert.open'",
                               alert_id),
                     1);

    /* the alert lists the specimen: accession, patient, tests, where in the unit */
    json_t *al = eo_alert(alert_id, true);
    const json_t *s = eo_specimen_in(al, acc);
    assert_non_null(s);
    assert_string_equal(eo_str(s, "patient_id"), pid);
    assert_string_equal(eo_str(s, "rack"), "R7");
    assert_string_equal(eo_str(s, "position"), "C4");
    json_t *tests = json_object_get(s, "tests");
    assert_int_equal(json_array_size(tests), 2);
    assert_string_equal(json_string_value(json_array_get(tests, 0)), "GLU");
    assert_string_equal(json_string_value(json_array_get(tests, 1)), "K");
    assert_near(json_real_value(json_object_get(al, "low")), 2, 0);
    assert_near(json_real_value(json_object_get(al, "high")), 8, 0);
    assert_near(json_real_value(json_object_get(al, "extreme")), 9.5, 0);
    assert_int_equal(eo_int(al, "readings"), 1);
    json_decref(al);
    assert_int_equal(eo_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND"
                               " action = 'equip.temperature.alert.read'",
                               alert_id),
                     1);
    /* a reader who may not read patient data sees no patient id */
    al = eo_alert(alert_id, false);
    assert_true(json_is_null(json_object_get(eo_specimen_in(al, acc), "patient_id")));
    assert_string_equal(eo_str(eo_specimen_in(al, acc), "accession"), acc);
    json_decref(al);

    /* the specimen is taken out; readings join the alert: 11 is the extreme,
     * 0.5 is nearer its limit (1.5 off) than 11 (3 off); back in range
     * does not close it. Sent out of order: the earliest is the first. */
    eo_event(acc, "{\"event\":\"retrieved\"}");
    snprintf(text, sizeof(text),
             "{\"readings\":[{\"at\":\"%s\",\"celsius\":6.0},{\"at\":\"%s\",\"celsius\":11},"
             "{\"at\":\"%s\",\"celsius\":0.5},{\"at\":\"%s\",\"celsius\":10.25}]}",
             eo_iso(-5), eo_iso(-40), eo_iso(-20), eo_iso(-60));
    out = eo_record_ok(&eo_sensor, &eo_sensor_ctx, eo_fridge, text);
    assert_true(json_is_false(json_object_get(out, "alert_opened")));
    assert_int_equal(eo_int(out, "recorded"), 4);
    assert_int_equal(eo_int(out, "excursions"), 3);
    assert_string_equal(eo_str(json_object_get(out, "alert"), "id"), alert_id);
    json_decref(out);
    al = eo_alert(alert_id, true);
    assert_string_equal(eo_str(al, "status"), "open");
    assert_int_equal(eo_int(al, "readings"), 4);
    assert_near(json_real_value(json_object_get(al, "extreme")), 11, 0);
    assert_true(eo_at(eo_str(al, "extreme_at")) < time_now_us() - 39 * EO_MIN);
    /* first: the reading of 60 minutes ago; last: 20 minutes ago */
    assert_true(eo_at(eo_str(al, "first_at")) < time_now_us() - 59 * EO_MIN);
    assert_true(eo_at(eo_str(al, "last_at")) > time_now_us() - 21 * EO_MIN);
    assert_true(eo_at(eo_str(al, "last_at")) < time_now_us() - 19 * EO_MIN);
    /* what was stored then, although it has left since */
    assert_non_null(eo_specimen_in(al, acc));
    json_decref(al);
    assert_int_equal(equip_templog_stored(eo_db, eo_fridge, &stored, &ei), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(stored, "specimens")), 0);
    json_decref(stored);
    assert_int_equal(
        eo_scalar("SELECT COUNT(*) FROM temperature_readings WHERE alert_id = ?", alert_id), 4);

    json_t *items = NULL;
    assert_int_equal(equip_templog_alerts(eo_db, "open", eo_fridge, &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);

    /* closing needs both the action and the disposition, and a person */
    int64_t head = eo_head();
    assert_int_equal(
        eo_close(&eo_tech, &eo_tech_ctx, alert_id, "{\"action\":\"door shut\"}", NULL, &ei),
        ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "disposition");
    assert_int_equal(eo_close(&eo_tech, &eo_tech_ctx, alert_id,
                              "{\"action\":\"  \",\"disposition\":\"moved\"}", NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "action");
    assert_int_equal(eo_close(&eo_sensor, &eo_sensor_ctx, alert_id,
                              "{\"action\":\"a\",\"disposition\":\"b\"}", NULL, &ei),
                     ERR_FORBIDDEN);
    assert_int_equal(eo_head(), head);
    assert_int_equal(eo_close(&eo_tech, &eo_tech_ctx, alert_id,
                              "{\"action\":\"Door seal replaced; temperature back to 5 C within "
                              "20 min\",\"disposition\":\"moved to FRIDGE-3; reagents "
                              "quarantined\"}",
                              &out, &ei),
                     ERR_OK);
    assert_string_equal(eo_str(out, "status"), "closed");
    assert_string_equal(eo_str(out, "closed_by"), eo_tech.username);
    assert_string_equal(eo_str(out, "disposition"), "moved to FRIDGE-3; reagents quarantined");
    assert_non_null(eo_specimen_in(out, acc));
    json_decref(out);
    assert_int_equal(eo_close(&eo_tech, &eo_tech_ctx, alert_id,
                              "{\"action\":\"a\",\"disposition\":\"b\"}", NULL, &ei),
                     ERR_CONFLICT);
    assert_int_equal(eo_close(&eo_tech, &eo_tech_ctx, "01NOSUCHALERT0000000000000",
                              "{\"action\":\"a\",\"disposition\":\"b\"}", NULL, &ei),
                     ERR_NOT_FOUND);

    /* the next excursion opens a new alert, with nothing stored now */
    out = eo_record_ok(&eo_tech, &eo_tech_ctx, eo_fridge, "{\"celsius\":1.5}");
    assert_true(json_is_true(json_object_get(out, "alert_opened")));
    assert_string_not_equal(eo_str(json_object_get(out, "alert"), "id"), alert_id);
    assert_int_equal(eo_int(json_object_get(out, "alert"), "stored_count"), 0);
    json_decref(out);
    assert_int_equal(equip_templog_alerts(eo_db, "closed", eo_fridge, &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(eo_str(json_array_get(items, 0), "id"), alert_id);
    json_decref(items);
    assert_int_equal(equip_templog_alerts(eo_db, NULL, eo_fridge, &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 2);
    json_decref(items);
}

/* Bad input: refused naming the field, nothing written. */
static void test_reading_refusals(void **state)
{
    (void)state;
    char text[512];
    const user *s = &eo_sensor;
    const audit_ctx *c = &eo_sensor_ctx;
    snprintf(text, sizeof(text),
             "{\"readings\":[{\"at\":\"%s\",\"celsius\":9},{\"at\":\"%s\",\"celsius\":5},"
             "{\"at\":\"2999-01-01T00:00:00Z\",\"celsius\":5}]}",
             eo_iso(-3), eo_iso(-2));
    eo_record_refused(s, c, eo_fridge, text, ERR_INVALID, "readings[2].at");
    snprintf(text, sizeof(text),
             "{\"readings\":[{\"at\":\"%s\",\"celsius\":9},{\"at\":\"%s\",\"celsius\":-300}]}",
             eo_iso(-3), eo_iso(-2));
    eo_record_refused(s, c, eo_fridge, text, ERR_INVALID, "readings[1].celsius");
    eo_record_refused(s, c, eo_fridge, "{\"readings\":[{\"at\":\"yesterday\",\"celsius\":4}]}",
                      ERR_INVALID, "readings[0].at");
    eo_record_refused(s, c, eo_fridge, "{\"readings\":[{\"celsius\":4}]}", ERR_MISSING_FIELD,
                      "readings[0].at");
    eo_record_refused(s, c, eo_fridge, "{\"readings\":[{\"at\":\"2026-01-01T00:00:00Z\"}]}",
                      ERR_MISSING_FIELD, "readings[0].celsius");
    eo_record_refused(s, c, eo_fridge,
                      "{\"readings\":[{\"at\":\"2026-01-01T00:00:00Z\",\"celsius\":\"4\"}]}",
                      ERR_INVALID, "readings[0].celsius");
    eo_record_refused(s, c, eo_fridge,
                      "{\"readings\":[{\"at\":\"2026-01-01T00:00:00Z\",\"celsius\":4,"
                      "\"humidity\":40}]}",
                      ERR_UNKNOWN_FIELD, "readings[0].humidity");
    eo_record_refused(s, c, eo_fridge, "{\"readings\":[4]}", ERR_INVALID, "readings[0]");
    eo_record_refused(s, c, eo_fridge, "{\"readings\":[]}", ERR_INVALID, "readings");
    eo_record_refused(s, c, eo_fridge,
                      "{\"readings\":[{\"at\":\"2026-01-01T00:00:00Z\",\"celsius\":4}],"
                      "\"celsius\":4}",
                      ERR_INVALID, "celsius");
    eo_record_refused(s, c, eo_fridge, "{}", ERR_MISSING_FIELD, "celsius");
    eo_record_refused(s, c, eo_fridge, "{\"celsius\":4,\"at\":\"2999-01-01T00:00:00Z\"}",
                      ERR_INVALID, "at");
    eo_record_refused(s, c, eo_fridge, "{\"celsius\":1500}", ERR_INVALID, "celsius");
    eo_record_refused(s, c, eo_fridge, "{\"celsius\":4,\"note\":\"a\\u0001b\"}", ERR_INVALID,
                      "note");
    eo_record_refused(s, c, "NO-SUCH-UNIT", "{\"celsius\":4}", ERR_NOT_FOUND, "name");
    /* the same sensor and time twice in one batch, with two values */
    const char *at = eo_iso(-7);
    snprintf(text, sizeof(text),
             "{\"readings\":[{\"at\":\"%s\",\"celsius\":4,\"sensor\":\"S\"},"
             "{\"at\":\"%s\",\"celsius\":4.5,\"sensor\":\"S\"}]}",
             at, at);
    eo_record_refused(s, c, eo_fridge, text, ERR_INVALID, "readings[1].at");
    /* a reading recorded once is not changed: the same time with another value */
    snprintf(text, sizeof(text), "{\"readings\":[{\"at\":\"%s\",\"celsius\":4,\"sensor\":\"S\"}]}",
             at);
    json_decref(eo_record_ok(s, c, eo_fridge, text));
    snprintf(text, sizeof(text),
             "{\"readings\":[{\"at\":\"%s\",\"celsius\":3,\"sensor\":\"S\"},"
             "{\"at\":\"%s\",\"celsius\":4.25,\"sensor\":\"S\"}]}",
             eo_iso(-1), at);
    eo_record_refused(s, c, eo_fridge, text, ERR_CONFLICT, "readings[1].at");
    /* more than 1000 readings */
    json_t *big = json_pack("{s:[]}", "readings");
    for (int i = 0; i < EQUIP_READINGS_MAX + 1; i++)
        json_array_append_new(json_object_get(big, "readings"),
                              json_pack("{s:s,s:f}", "at", "2026-01-01T00:00:00Z", "celsius", 4.0));
    char *bigtext = json_dumps(big, JSON_COMPACT);
    json_decref(big);
    eo_record_refused(s, c, eo_fridge, bigtext, ERR_INVALID, "readings");
    free(bigtext);
}

/* ---- work orders ---- */

static json_t *eo_wo_report(const char *text, err_t want, const char *field)
{
    errinfo ei = {0};
    json_t *body = eo_parse(text), *out = NULL;
    int64_t head = eo_head(), orders = eo_scalar("SELECT COUNT(*) FROM work_orders", NULL);
    err_t rc = equip_workorder_report(eo_db, &eo_tech_ctx, &eo_tech, body, &out, &ei);
    json_decref(body);
    if (rc != want || (field && strcmp(ei.field, field)))
        fail_msg("%s: got %s '%s' (%s)", text, err_name(rc), ei.field, ei.message);
    if (rc) {
        assert_int_equal(eo_head(), head);
        assert_int_equal(eo_scalar("SELECT COUNT(*) FROM work_orders", NULL), orders);
    }
    return out;
}

typedef err_t (*eo_wo_act)(db *, const audit_ctx *, const user *, const char *, const json_t *,
                           json_t **, errinfo *);

/* Run act on order id as the biomedical technician; want the code (and field). */
static json_t *eo_wo(eo_wo_act act, const char *id, const char *text, err_t want, const char *field)
{
    errinfo ei = {0};
    json_t *body = eo_parse(text), *out = NULL;
    int64_t head = eo_head();
    int64_t entries = eo_scalar("SELECT COUNT(*) FROM work_order_entries", NULL);
    err_t rc = act(eo_db, &eo_biomed_ctx, &eo_biomed, id, body, &out, &ei);
    json_decref(body);
    if (rc != want || (field && strcmp(ei.field, field)))
        fail_msg("%s: got %s '%s' (%s), want %s", text, err_name(rc), ei.field, ei.message,
                 err_name(want));
    if (rc) {
        assert_null(out);
        assert_int_equal(eo_head(), head);
        assert_int_equal(eo_scalar("SELECT COUNT(*) FROM work_order_entries", NULL), entries);
    }
    return out;
}

static const char *eo_asset_status(const char *tag)
{
    static char out[4][24];
    static int k;
    char *s = out[k++ % 4];
    int64_t in =
        eo_scalar("SELECT COUNT(*) FROM assets WHERE tag = ? AND status = 'in-service'", tag);
    int64_t oos =
        eo_scalar("SELECT COUNT(*) FROM assets WHERE tag = ? AND status = 'out-of-service'", tag);
    snprintf(s, 24, "%s", in == 1 ? "in-service" : oos == 1 ? "out-of-service" : "other");
    return s;
}

/* From the report to the close: notes, a part, a vendor's visit, a failed
 * verification, a passing one, the asset out of service and back. */
static void test_workorder_story(void **state)
{
    (void)state;
    char text[512], id[ID_LEN + 1];
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"fault\":\"Error E-231: sample probe crash\","
             "\"severity\":\"high\"}",
             eo_analyzer);
    json_t *wo = eo_wo_report(text, ERR_OK, NULL);
    snprintf(id, sizeof(id), "%s", eo_str(wo, "id"));
    assert_string_equal(eo_str(wo, "status"), "open");
    assert_true(json_is_true(json_object_get(wo, "out_of_service")));
    assert_string_equal(eo_str(wo, "reported_by"), eo_tech.username);
    assert_string_equal(eo_str(wo, "asset"), eo_analyzer);
    assert_string_equal(eo_str(wo, "asset_status"), "out-of-service");
    assert_int_equal(json_array_size(json_object_get(wo, "entries")), 0);
    json_decref(wo);
    assert_string_equal(eo_asset_status(eo_analyzer), "out-of-service");

    json_decref(eo_wo(equip_workorder_entry, id,
                      "{\"kind\":\"note\",\"note\":\"Probe bent; Z-axis sensor reads open\"}",
                      ERR_OK, NULL));
    json_decref(eo_wo(equip_workorder_entry, id,
                      "{\"kind\":\"part\",\"part_number\":\"PRB-1102\",\"description\":"
                      "\"Sample probe assembly\",\"quantity\":1,\"cost_cents\":48500}",
                      ERR_OK, NULL));
    json_decref(eo_wo(equip_workorder_entry, id,
                      "{\"kind\":\"part\",\"part_number\":\"ORG-7\",\"description\":\"O-ring\","
                      "\"quantity\":4,\"cost_cents\":1200}",
                      ERR_OK, NULL));
    json_decref(eo_wo(equip_workorder_entry, id,
                      "{\"kind\":\"vendor\",\"vendor\":\"Acme Service\",\"reference\":"
                      "\"SR-55821\",\"visit_date\":\"2026-01-05\"}",
                      ERR_OK, NULL));
    /* closing before the return to service is refused */
    eo_wo(equip_workorder_close, id, "{\"resolution\":\"probe replaced\"}", ERR_CONFLICT, "id");
    /* a failed verification is kept, the asset stays out */
    wo = eo_wo(equip_workorder_return, id,
               "{\"verified\":\"Precision run, 20 replicates of level 2\",\"outcome\":\"fail\","
               "\"note\":\"CV 6.1 %\"}",
               ERR_OK, NULL);
    assert_string_equal(eo_str(wo, "status"), "open");
    assert_true(json_is_null(json_object_get(wo, "returned_at")));
    assert_string_equal(eo_asset_status(eo_analyzer), "out-of-service");
    json_t *entries = json_object_get(wo, "entries");
    assert_int_equal(json_array_size(entries), 5);
    json_t *last = json_array_get(entries, 4);
    assert_string_equal(eo_str(last, "kind"), "verification");
    assert_string_equal(eo_str(last, "outcome"), "fail");
    assert_string_equal(eo_str(last, "by"), eo_biomed.username);
    assert_null(json_object_get(last, "quantity"));
    json_t *part = json_array_get(entries, 1);
    assert_string_equal(eo_str(part, "part_number"), "PRB-1102");
    assert_int_equal(eo_int(part, "quantity"), 1);
    assert_int_equal(eo_int(part, "cost_cents"), 48500);
    assert_null(json_object_get(part, "vendor"));
    assert_int_equal(eo_int(wo, "parts_cost_cents"), 49700);
    json_decref(wo);
    /* a passing one returns it to service; the record it rests on is a
     * passing calibration of this asset */
    char cal[ID_LEN + 1], failed_cal[ID_LEN + 1], other_cal[ID_LEN + 1];
    eo_insert_calibration(eo_analyzer, true, cal);
    eo_insert_calibration(eo_analyzer, false, failed_cal);
    eo_insert_calibration(eo_centrifuge, true, other_cal);
    static const char ret_fmt[] =
        "{\"verified\":\"Precision run after probe alignment\",\"outcome\":\"pass\","
        "\"record_id\":\"%s\"}";
    const char *bad_records[] = {"01NOSUCHRECORD000000000000", failed_cal, other_cal};
    for (size_t i = 0; i < 3; i++) {
        snprintf(text, sizeof(text), ret_fmt, bad_records[i]);
        eo_wo(equip_workorder_return, id, text, ERR_INVALID, "record_id");
    }
    assert_string_equal(eo_asset_status(eo_analyzer), "out-of-service");
    snprintf(text, sizeof(text), ret_fmt, cal);
    wo = eo_wo(equip_workorder_return, id, text, ERR_OK, NULL);
    assert_string_equal(eo_str(json_array_get(json_object_get(wo, "entries"), 5), "record_id"),
                        cal);
    assert_string_equal(eo_str(wo, "status"), "returned");
    assert_string_equal(eo_str(wo, "returned_by"), eo_biomed.username);
    assert_string_equal(eo_str(wo, "asset_status"), "in-service");
    int64_t down = eo_int(wo, "downtime_seconds");
    assert_true(down >= 0 && down < 600);
    json_decref(wo);
    assert_string_equal(eo_asset_status(eo_analyzer), "in-service");
    /* returned once only; notes still welcome until the close */
    eo_wo(equip_workorder_return, id, "{\"verified\":\"again\",\"outcome\":\"pass\"}", ERR_CONFLICT,
          "id");
    json_decref(eo_wo(equip_workorder_entry, id,
                      "{\"kind\":\"note\",\"note\":\"Probe alignment added to the weekly "
                      "checks\"}",
                      ERR_OK, NULL));
    wo = eo_wo(equip_workorder_close, id, "{\"resolution\":\"Sample probe replaced\"}", ERR_OK,
               NULL);
    assert_string_equal(eo_str(wo, "status"), "closed");
    assert_string_equal(eo_str(wo, "resolution"), "Sample probe replaced");
    assert_int_equal(json_array_size(json_object_get(wo, "entries")), 7);
    json_decref(wo);
    eo_wo(equip_workorder_close, id, "{\"resolution\":\"again\"}", ERR_CONFLICT, "id");
    eo_wo(equip_workorder_entry, id, "{\"kind\":\"note\",\"note\":\"late\"}", ERR_CONFLICT, "id");
    assert_int_equal(eo_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND action"
                               " LIKE 'equip.work_order.%'",
                               id),
                     9);

    json_t *items = NULL;
    errinfo ei = {0};
    assert_int_equal(equip_workorders_list(eo_db, eo_analyzer, "closed", &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_null(json_object_get(json_array_get(items, 0), "entries"));
    json_decref(items);
    assert_int_equal(equip_workorders_list(eo_db, eo_analyzer, "open", &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    assert_int_equal(equip_workorders_list(eo_db, "NO-SUCH-TAG", NULL, &items, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "asset");
}

/* Report a fault on asset tag, the members of the body after the asset in
 * rest; the order's id into id. *oos: whether it took the asset out. */
static void eo_report(const char *tag, const char *rest, char id[ID_LEN + 1], bool *oos)
{
    char text[512];
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",%s}", tag, rest);
    json_t *wo = eo_wo_report(text, ERR_OK, NULL);
    snprintf(id, ID_LEN + 1, "%s", eo_str(wo, "id"));
    *oos = json_is_true(json_object_get(wo, "out_of_service"));
    if (!*oos)
        assert_int_equal(eo_int(wo, "downtime_seconds"), 0);
    json_decref(wo);
}

/* Severity says whether the asset goes out of service, unless the order says;
 * two orders holding it out: the asset returns with the last. */
static void test_workorder_service(void **state)
{
    (void)state;
    char low[ID_LEN + 1], a[ID_LEN + 1], b[ID_LEN + 1], c[ID_LEN + 1];
    bool oos = true;
    eo_report(eo_centrifuge, "\"fault\":\"Lid latch stiff\",\"severity\":\"low\"", low, &oos);
    assert_false(oos);
    assert_string_equal(eo_asset_status(eo_centrifuge), "in-service");
    /* it closes at once: it never took the asset out */
    json_decref(
        eo_wo(equip_workorder_close, low, "{\"resolution\":\"Latch lubricated\"}", ERR_OK, NULL));

    eo_report(eo_centrifuge,
              "\"fault\":\"Imbalance alarm\",\"severity\":\"medium\",\"out_of_service\":true", a,
              &oos);
    assert_true(oos);
    eo_report(eo_centrifuge, "\"fault\":\"Speed drops under load\",\"severity\":\"critical\"", b,
              &oos);
    assert_true(oos);
    assert_string_equal(eo_asset_status(eo_centrifuge), "out-of-service");
    /* critical, but the order says it stays in service */
    eo_report(eo_centrifuge,
              "\"fault\":\"Display flickers\",\"severity\":\"critical\",\"out_of_service\":false",
              c, &oos);
    assert_false(oos);

    json_t *wo = NULL;
    wo = eo_wo(equip_workorder_return, a, "{\"verified\":\"Balance test\",\"outcome\":\"pass\"}",
               ERR_OK, NULL);
    assert_string_equal(eo_str(wo, "status"), "returned");
    assert_string_equal(eo_str(wo, "asset_status"), "out-of-service"); /* b holds it */
    json_decref(wo);
    assert_string_equal(eo_asset_status(eo_centrifuge), "out-of-service");
    wo = eo_wo(equip_workorder_return, b,
               "{\"verified\":\"Tachometer: 3000 rpm within 1 %\",\"outcome\":\"pass\"}", ERR_OK,
               NULL);
    assert_string_equal(eo_str(wo, "asset_status"), "in-service");
    json_decref(wo);
    assert_string_equal(eo_asset_status(eo_centrifuge), "in-service");

    json_t *items = NULL;
    errinfo ei = {0};
    assert_int_equal(equip_workorders_list(eo_db, eo_centrifuge, NULL, &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 4);
    json_decref(items);
    assert_int_equal(equip_workorders_list(eo_db, eo_centrifuge, "returned", &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 2);
    json_decref(items);
}

static void test_workorder_refusals(void **state)
{
    (void)state;
    char text[512], id[ID_LEN + 1];
    static const struct {
        const char *asset, *rest, *field; /* asset NULL: the centrifuge */
        err_t code;
    } bad[] = {
        {"NO-SUCH-TAG", "\"fault\":\"f\",\"severity\":\"low\"", "asset", ERR_INVALID},
        {NULL, "\"fault\":\"f\",\"severity\":\"urgent\"", "severity", ERR_INVALID},
        {NULL, "\"fault\":\" \",\"severity\":\"low\"", "fault", ERR_INVALID},
        {NULL, "\"severity\":\"low\"", "fault", ERR_MISSING_FIELD},
        {NULL, "\"fault\":\"f\",\"severity\":\"low\",\"reported_at\":\"2999-01-01T00:00:00Z\"",
         "reported_at", ERR_INVALID},
        {NULL, "\"fault\":\"f\",\"severity\":\"low\",\"out_of_service\":\"yes\"", "out_of_service",
         ERR_INVALID},
        {NULL, "\"fault\":\"f\",\"severity\":\"low\",\"priority\":1", "priority",
         ERR_UNKNOWN_FIELD},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "{\"asset\":\"%s\",%s}",
                 bad[i].asset ? bad[i].asset : eo_centrifuge, bad[i].rest);
        eo_wo_report(text, bad[i].code, bad[i].field);
    }
    /* a retired asset takes no orders */
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",\"fault\":\"f\",\"severity\":\"high\"}",
             eo_old);
    eo_wo_report(text, ERR_CONFLICT, "asset");
    assert_string_equal(eo_asset_status(eo_centrifuge), "in-service");

    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"fault\":\"Rotor chamber frost\",\"severity\":\"high\","
             "\"reported_at\":\"%s\"}",
             eo_centrifuge, eo_iso(-120));
    json_t *wo = eo_wo_report(text, ERR_OK, NULL);
    snprintf(id, sizeof(id), "%s", eo_str(wo, "id"));
    int64_t down = eo_int(wo, "downtime_seconds");
    assert_true(down >= 7200 && down < 7200 + 600);
    json_decref(wo);
    static const struct {
        const char *body, *field;
        err_t code;
    } entries[] = {
        {"{\"note\":\"n\"}", "kind", ERR_MISSING_FIELD},
        {"{\"kind\":\"verification\",\"verified\":\"x\"}", "kind", ERR_INVALID},
        {"{\"kind\":7}", "kind", ERR_INVALID},
        {"{\"kind\":\"note\"}", "note", ERR_MISSING_FIELD},
        {"{\"kind\":\"note\",\"note\":\"n\",\"quantity\":1}", "quantity", ERR_UNKNOWN_FIELD},
        {"{\"kind\":\"part\",\"part_number\":\"P\",\"description\":\"d\",\"quantity\":0,"
         "\"cost_cents\":5}",
         "quantity", ERR_INVALID},
        {"{\"kind\":\"part\",\"part_number\":\"P\",\"description\":\"d\",\"quantity\":1.5,"
         "\"cost_cents\":5}",
         "quantity", ERR_INVALID},
        {"{\"kind\":\"part\",\"part_number\":\"P\",\"description\":\"d\",\"quantity\":1,"
         "\"cost_cents\":-1}",
         "cost_cents", ERR_INVALID},
        {"{\"kind\":\"part\",\"part_number\":\"P\",\"description\":\"d\",\"quantity\":1}",
         "cost_cents", ERR_MISSING_FIELD},
        {"{\"kind\":\"vendor\",\"vendor\":\"V\",\"reference\":\"R\",\"visit_date\":"
         "\"2999-01-01\"}",
         "visit_date", ERR_INVALID},
        {"{\"kind\":\"vendor\",\"vendor\":\"V\",\"reference\":\"R\",\"visit_date\":"
         "\"2026-02-30\"}",
         "visit_date", ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
        eo_wo(equip_workorder_entry, id, entries[i].body, entries[i].code, entries[i].field);
    eo_wo(equip_workorder_entry, "01NOSUCHORDER0000000000000", "{\"kind\":\"note\",\"note\":\"n\"}",
          ERR_NOT_FOUND, "id");
    eo_wo(equip_workorder_return, id, "{\"verified\":\"v\",\"outcome\":\"maybe\"}", ERR_INVALID,
          "outcome");
    eo_wo(equip_workorder_return, id, "{\"outcome\":\"pass\"}", ERR_MISSING_FIELD, "verified");
    snprintf(text, sizeof(text), "{\"verified\":\"v\",\"outcome\":\"pass\",\"at\":\"%s\"}",
             eo_iso(-180));
    eo_wo(equip_workorder_return, id, text, ERR_INVALID, "at");
    eo_wo(equip_workorder_return, id,
          "{\"verified\":\"v\",\"outcome\":\"pass\",\"at\":\"2999-01-01T00:00:00Z\"}", ERR_INVALID,
          "at");
    eo_wo(equip_workorder_close, id, "{}", ERR_MISSING_FIELD, "resolution");
    assert_string_equal(eo_asset_status(eo_centrifuge), "out-of-service");
    /* put right: returned an hour after the report */
    snprintf(text, sizeof(text),
             "{\"verified\":\"Defrosted, run at 4 C\",\"outcome\":\"pass\","
             "\"at\":\"%s\"}",
             eo_iso(-60));
    wo = eo_wo(equip_workorder_return, id, text, ERR_OK, NULL);
    down = eo_int(wo, "downtime_seconds");
    assert_true(down >= 3599 && down <= 3601);
    json_decref(wo);
    assert_string_equal(eo_asset_status(eo_centrifuge), "in-service");
}

/* Availability of orders on record: April 2025 (30 days), an analyzer down
 * 10-12 April: 93.33 %; an order from 31 May 12:00 to 2 June 00:00 and one
 * overlapping it from 1 June 06:00 to 1 June 18:00: May 98.39 %, June
 * 96.67 %. */
static void test_availability_on_record(void **state)
{
    (void)state;
    char tag[40], text[512], id[ID_LEN + 1];
    errinfo ei = {0};
    json_t *out = NULL;
    snprintf(tag, sizeof(tag), "AV-%s", eo_sfx);
    eo_insert_asset(tag, "hematology-analyzer", "in-service");
    static const struct {
        const char *from, *to;
    } orders[] = {
        {"2025-04-10T00:00:00Z", "2025-04-12T00:00:00Z"},
        {"2025-05-31T12:00:00Z", "2025-06-02T00:00:00Z"},
        {"2025-06-01T06:00:00Z", "2025-06-01T18:00:00Z"},
    };
    for (size_t i = 0; i < 3; i++) {
        snprintf(text, sizeof(text),
                 "{\"asset\":\"%s\",\"fault\":\"Fault %zu\",\"severity\":\"critical\","
                 "\"reported_at\":\"%s\"}",
                 tag, i, orders[i].from);
        json_t *wo = eo_wo_report(text, ERR_OK, NULL);
        snprintf(id, sizeof(id), "%s", eo_str(wo, "id"));
        json_decref(wo);
        snprintf(text, sizeof(text),
                 "{\"verified\":\"Controls in range\",\"outcome\":\"pass\","
                 "\"at\":\"%s\"}",
                 orders[i].to);
        json_decref(eo_wo(equip_workorder_return, id, text, ERR_OK, NULL));
    }
    /* a low-severity order in April that kept it in service counts nothing */
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"fault\":\"Printer jam\",\"severity\":\"low\","
             "\"reported_at\":\"2025-04-20T00:00:00Z\"}",
             tag);
    json_decref(eo_wo_report(text, ERR_OK, NULL));

    assert_int_equal(equip_availability_month(eo_db, tag, "2025-04", &out, &ei), ERR_OK);
    assert_int_equal(eo_int(out, "month_seconds"), 30 * 86400);
    assert_int_equal(eo_int(out, "downtime_seconds"), 2 * 86400);
    assert_near(json_real_value(json_object_get(out, "availability_percent")), 93.33, 1e-9);
    assert_int_equal(json_array_size(json_object_get(out, "work_orders")), 1);
    json_decref(out);
    assert_int_equal(equip_availability_month(eo_db, tag, "2025-05", &out, &ei), ERR_OK);
    assert_int_equal(eo_int(out, "downtime_seconds"), 12 * 3600);
    assert_near(json_real_value(json_object_get(out, "availability_percent")), 98.39, 1e-9);
    json_decref(out);
    assert_int_equal(equip_availability_month(eo_db, tag, "2025-06", &out, &ei), ERR_OK);
    assert_int_equal(eo_int(out, "downtime_seconds"), 24 * 3600);
    assert_near(json_real_value(json_object_get(out, "availability_percent")), 96.67, 1e-9);
    assert_int_equal(json_array_size(json_object_get(out, "work_orders")), 2);
    json_decref(out);
    assert_int_equal(equip_availability_month(eo_db, tag, "2025-07", &out, &ei), ERR_OK);
    assert_near(json_real_value(json_object_get(out, "availability_percent")), 100, 0);
    assert_int_equal(json_array_size(json_object_get(out, "work_orders")), 0);
    json_decref(out);

    /* every asset: this one among them, with the same figures */
    assert_int_equal(equip_availability_month(eo_db, NULL, "2025-06", &out, &ei), ERR_OK);
    size_t i, found = 0;
    json_t *item;
    json_array_foreach(json_object_get(out, "items"), i, item)
    {
        if (strcmp(eo_str(item, "asset"), tag))
            continue;
        found++;
        assert_near(json_real_value(json_object_get(item, "availability_percent")), 96.67, 1e-9);
    }
    assert_int_equal(found, 1);
    assert_true(json_array_size(json_object_get(out, "items")) >= 4);
    json_decref(out);

    assert_int_equal(equip_availability_month(eo_db, "NO-SUCH-TAG", "2025-06", &out, &ei),
                     ERR_NOT_FOUND);
    assert_string_equal(ei.field, "tag");
    assert_int_equal(equip_availability_month(eo_db, tag, "2025-6", &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "month");
    assert_int_equal(equip_availability_month(eo_db, tag, "2999-01", &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "month");
}

static bool eo_user(const char *prefix, const char *role, user *u, audit_ctx *ctx)
{
    char name[USER_NAME_MAX + 1], lower[11];
    errinfo ei = {0};
    testdb_suffix(lower, 10, true);
    snprintf(name, sizeof(name), "%s-%s", prefix, lower);
    if (user_create(eo_db, &eo_sys, name, "Equipment Test", role, "correct horse battery", u,
                    &ei)) {
        fprintf(stderr, "user_create: %s\n", ei.message);
        return false;
    }
    ctx->actor_id = u->id;
    ctx->actor = u->username;
    ctx->source = "test";
    return true;
}

static int eo_setup(void **state)
{
    (void)state;
    if (!testdb_pick("equip_ops", eo_url, sizeof(eo_url), eo_tmp, sizeof(eo_tmp)))
        return -1;
    testdb_suffix(eo_sfx, 10, false);
    if (!testdb_open(eo_url, &eo_sys, &eo_db))
        return -1;
    if (!eo_user("tech", "technician", &eo_tech, &eo_tech_ctx) ||
        !eo_user("sensor", "interface", &eo_sensor, &eo_sensor_ctx) ||
        !eo_user("biomed", "biomed", &eo_biomed, &eo_biomed_ctx))
        return -1;
    snprintf(eo_fridge, sizeof(eo_fridge), "FRIDGE-%s", eo_sfx);
    snprintf(eo_freezer, sizeof(eo_freezer), "FREEZER-%s", eo_sfx);
    snprintf(eo_analyzer, sizeof(eo_analyzer), "BME-A-%s", eo_sfx);
    snprintf(eo_centrifuge, sizeof(eo_centrifuge), "BME-C-%s", eo_sfx);
    snprintf(eo_old, sizeof(eo_old), "BME-R-%s", eo_sfx);
    eo_insert_unit(eo_fridge, "refrigerator", 2, 8);
    eo_insert_unit(eo_freezer, "freezer", -25, -15);
    eo_insert_asset(eo_analyzer, "chemistry-analyzer", "in-service");
    eo_insert_asset(eo_centrifuge, "centrifuge", "in-service");
    eo_insert_asset(eo_old, "centrifuge", "retired");
    return 0;
}

static int eo_teardown(void **state)
{
    (void)state;
    testdb_close(eo_db, eo_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_excursion),          cmocka_unit_test(test_month),
        cmocka_unit_test(test_two_days_in_thirty), cmocka_unit_test(test_across_a_month_boundary),
        cmocka_unit_test(test_overlapping_orders),
    };
    const struct CMUnitTest record[] = {
        cmocka_unit_test(test_readings_in_range),      cmocka_unit_test(test_excursion_alert),
        cmocka_unit_test(test_reading_refusals),       cmocka_unit_test(test_workorder_story),
        cmocka_unit_test(test_workorder_service),      cmocka_unit_test(test_workorder_refusals),
        cmocka_unit_test(test_availability_on_record),
    };
    int bad = cmocka_run_group_tests_name("equip_ops/pure", pure, NULL, NULL);
    bad += cmocka_run_group_tests_name(testdb_group("equip_ops"), record, eo_setup, eo_teardown);
    return bad;
}
