/*
 * templog.c - temperature readings of the storage units and their excursion
 * alerts (see templog.h).
 *
 * A request that records readings first takes the unit's row (an UPDATE that
 * changes nothing but locks it on PostgreSQL; SQLite's BEGIN IMMEDIATE locks
 * already), so that two requests for one unit never both open an alert: the
 * second sees the alert the first committed and joins it. The alert's
 * running figures (first and last time, extreme, count) are kept in memory
 * while the readings of a request are applied in time order, and written
 * once at the end.
 */
#include "equip/templog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/storage.h"
#include "stock/stock.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))
#define DAY_US     (86400LL * 1000000LL) /* one UTC day */
#define LIST_MAX   10000                 /* readings listed by one query */
#define ALERTS_MAX 500

/* ---- pure ---- */

double equip_excursion(double celsius, double low, double high)
{
    if (celsius < low)
        return low - celsius;
    if (celsius > high)
        return celsius - high;
    return 0;
}

/* ---- SQL ---- */

static const char sql_unit_lock[] = "UPDATE storage_units SET low = low WHERE name = ?";
static const char sql_open_alert[] =
    "SELECT id, low, high, first_at, last_at, extreme, extreme_at, readings"
    " FROM temperature_alerts WHERE unit = ? AND status = 'open'";
static const char sql_same[] = "SELECT celsius FROM temperature_readings"
                               " WHERE unit = ? AND sensor = ? AND at = ?";
static const char sql_reading_insert[] =
    "INSERT INTO temperature_readings (id, unit, at, celsius, source, sensor, note, recorded_by,"
    " recorded_at, alert_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_alert_insert[] =
    "INSERT INTO temperature_alerts (id, unit, status, low, high, first_at, last_at, extreme,"
    " extreme_at, readings, stored, opened_at, opened_by)"
    " VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)";
static const char sql_alert_update[] =
    "UPDATE temperature_alerts SET first_at = ?, last_at = ?, extreme = ?, extreme_at = ?,"
    " readings = ? WHERE id = ? AND status = 'open'";
static const char sql_alert_close[] =
    "UPDATE temperature_alerts SET status = 'closed', closed_at = ?, closed_by = ?, action = ?,"
    " disposition = ? WHERE id = ? AND status = 'open'";

#define ALERT_COLS                                                                                 \
    "SELECT a.id, a.unit, u.kind, a.status, a.low, a.high, a.first_at, a.last_at, a.extreme,"      \
    " a.extreme_at, a.readings, a.opened_at, a.opened_by, a.closed_at, a.closed_by, a.action,"     \
    " a.disposition, a.stored FROM temperature_alerts a JOIN storage_units u ON u.name = a.unit"

static const char sql_alert[] = ALERT_COLS " WHERE a.id = ?";
static const char sql_alerts[] = ALERT_COLS " WHERE (CAST(? AS TEXT) IS NULL OR a.status = ?)"
                                            " AND (CAST(? AS TEXT) IS NULL OR a.unit = ?)"
                                            " ORDER BY a.opened_at DESC, a.id DESC LIMIT 500";

/* A specimen is in the unit when its latest custody event (by time, then by
 * id, which is time-ordered) is "stored" there and its state says so. */
static const char sql_stored[] =
    "SELECT s.accession, s.patient_id, s.specimen_type, COALESCE(s.parent_id, s.id), e.at,"
    " e.detail FROM specimen_events e JOIN specimens s ON s.id = e.specimen_id"
    " WHERE e.event = 'stored' AND e.location = ? AND s.status = 'stored'"
    " AND NOT EXISTS (SELECT 1 FROM specimen_events l WHERE l.specimen_id = e.specimen_id"
    " AND (l.at > e.at OR (l.at = e.at AND l.id > e.id))) ORDER BY s.accession";
static const char sql_tests[] = "SELECT test_code FROM order_tests WHERE specimen_id = ?"
                                " AND status <> 'cancelled' ORDER BY test_code";

static const char sql_days[] =
    "SELECT at / 86400000000, MIN(celsius), MAX(celsius), COUNT(*), COUNT(alert_id)"
    " FROM temperature_readings WHERE unit = ? AND at >= ? AND at < ?"
    " GROUP BY at / 86400000000 ORDER BY 1";
static const char sql_readings[] =
    "SELECT id, at, celsius, source, sensor, note, recorded_by, recorded_at, alert_id"
    " FROM temperature_readings WHERE unit = ? AND at >= ? AND at < ? ORDER BY at, id LIMIT ?";

/* ---- request bodies ---- */

static const jsonv_field record_fields[] = {
    {"readings", JSONV_ARRAY, false, EQUIP_READINGS_MAX},
    {"celsius", JSONV_NUMBER, false, 0},
    {"at", JSONV_STRING, false, 40},
    {"sensor", JSONV_STRING, false, EQUIP_SENSOR_MAX},
    {"note", JSONV_STRING, false, EQUIP_NOTE_MAX},
};
static const jsonv_field reading_fields[] = {
    {"at", JSONV_STRING, true, 40},
    {"celsius", JSONV_NUMBER, true, 0},
    {"sensor", JSONV_STRING, false, EQUIP_SENSOR_MAX},
    {"note", JSONV_STRING, false, EQUIP_NOTE_MAX},
};
static const jsonv_field close_fields[] = {
    {"action", JSONV_STRING, true, EQUIP_NOTE_MAX},
    {"disposition", JSONV_STRING, true, EQUIP_NOTE_MAX},
};

/* ---- readings as given ---- */

struct reading {
    int64_t at;
    double celsius;
    const char *sensor; /* "" for none; borrowed from the body */
    const char *note;   /* NULL for none */
    size_t item;        /* its index in the request, for errors */
};

/* The field of item i, "readings[i].name", or "name" for a single reading. */
static const char *item_field(bool batch, size_t i, const char *name, char *out, size_t n)
{
    if (!batch)
        return name;
    snprintf(out, n, "readings[%zu].%.40s", i, name);
    return out;
}

/* Check one reading (obj: the body or an item of "readings") into r. */
static err_t reading_check(const json_t *obj, bool batch, size_t i, int64_t now, struct reading *r,
                           errinfo *ei)
{
    char f[96];
    errinfo e2 = {0};
    err_t rc = ERR_OK;
    if (batch) {
        if (!json_is_object(obj)) {
            snprintf(f, sizeof(f), "readings[%zu]", i);
            return err_set(ei, ERR_INVALID, f, "%s must be an object", f);
        }
        rc = jsonv_check(obj, reading_fields, NFIELDS(reading_fields), &e2);
        if (rc)
            return err_set(ei, rc, item_field(true, i, e2.field, f, sizeof(f)), "readings[%zu]: %s",
                           i, e2.message);
    }
    const char *at = jsonv_str(obj, "at");
    r->item = i;
    r->at = now;
    r->celsius = json_number_value(json_object_get(obj, "celsius"));
    r->sensor = jsonv_str(obj, "sensor") ? jsonv_str(obj, "sensor") : "";
    r->note = jsonv_str(obj, "note");
    if (at && time_parse_iso(at, strlen(at), &r->at, &e2))
        return err_set(ei, ERR_INVALID, item_field(batch, i, "at", f, sizeof(f)), "%s: %s",
                       item_field(batch, i, "at", f, sizeof(f)), e2.message);
    if (r->at > now + EQUIP_SKEW_US)
        return err_set(ei, ERR_INVALID, item_field(batch, i, "at", f, sizeof(f)),
                       "%s is in the future", item_field(batch, i, "at", f, sizeof(f)));
    if (!(r->celsius >= EQUIP_CELSIUS_MIN && r->celsius <= EQUIP_CELSIUS_MAX))
        return err_set(ei, ERR_INVALID, item_field(batch, i, "celsius", f, sizeof(f)),
                       "%s must be a temperature from %.2f to %.0f degrees Celsius",
                       item_field(batch, i, "celsius", f, sizeof(f)), EQUIP_CELSIUS_MIN,
                       EQUIP_CELSIUS_MAX);
    if (r->note && !str_is_text(r->note))
        return err_set(ei, ERR_INVALID, item_field(batch, i, "note", f, sizeof(f)),
                       "%s must be printable text", item_field(batch, i, "note", f, sizeof(f)));
    if (r->sensor[0] && !str_is_text(r->sensor))
        return err_set(ei, ERR_INVALID, item_field(batch, i, "sensor", f, sizeof(f)),
                       "%s must be printable text", item_field(batch, i, "sensor", f, sizeof(f)));
    return ERR_OK;
}

/* Time order; one sensor's readings of one time side by side, in request order. */
static int reading_cmp(const void *a, const void *b)
{
    const struct reading *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    int s = strcmp(x->sensor, y->sensor);
    if (s)
        return s;
    return x->item < y->item ? -1 : (x->item > y->item);
}

/* The readings of a body into *rs (malloc'd, *n of them), checked and sorted. */
static err_t readings_parse(const json_t *body, struct reading **rs, size_t *n, bool *batch,
                            errinfo *ei)
{
    int64_t now = time_now_us();
    err_t rc = jsonv_check(body, record_fields, NFIELDS(record_fields), ei);
    if (rc)
        return rc;
    const json_t *list = json_object_get(body, "readings");
    *batch = json_is_array(list);
    *rs = NULL;
    *n = *batch ? json_array_size(list) : 1;
    if (*batch) {
        for (size_t k = 1; k < NFIELDS(record_fields); k++)
            if (json_object_get(body, record_fields[k].name))
                return err_set(ei, ERR_INVALID, record_fields[k].name,
                               "%s belongs in each item of readings: give one reading or "
                               "readings, not both",
                               record_fields[k].name);
        if (*n == 0)
            return err_set(ei, ERR_INVALID, "readings", "readings must hold at least one reading");
    } else if (!json_is_number(json_object_get(body, "celsius"))) {
        return err_set(ei, ERR_MISSING_FIELD, "celsius",
                       "missing field 'celsius' (or 'readings' for a batch)");
    }
    *rs = calloc(*n, sizeof(**rs));
    if (!*rs)
        return ERR_NOMEM;
    for (size_t i = 0; !rc && i < *n; i++)
        rc = reading_check(*batch ? json_array_get(list, i) : body, *batch, i, now, &(*rs)[i], ei);
    if (!rc)
        qsort(*rs, *n, sizeof(**rs), reading_cmp);
    if (rc) {
        free(*rs);
        *rs = NULL;
    }
    return rc;
}

/* ---- what is stored in a unit ---- */

/* The tests of a specimen (an aliquot's are its parent's). */
static err_t specimen_tests(db *d, const char *specimen_id, json_t *tests, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_tests, "t", specimen_id);
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        if (json_array_append_new(tests, json_string(db_col_text(st, 0))))
            rc = ERR_NOMEM;
    db_finalize(st);
    return rc;
}

/* The specimens stored in the unit, with their tests, rack and position. */
static err_t stored_specimens(db *d, const char *unit, json_t *list, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_stored, "t", unit);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        json_t *detail = json_loads(db_col_text(st, 5), 0, NULL);
        json_t *tests = json_array();
        json_t *item = json_pack(
            "{s:s,s:s,s:s,s:o,s:o,s:O,s:O}", "accession", db_col_text(st, 0), "patient_id",
            db_col_text(st, 1), "specimen_type", db_col_text(st, 2), "stored_at",
            db_col_json_time(st, 4), "tests", json_incref(tests), "rack",
            json_object_get(detail, "rack") ? json_object_get(detail, "rack") : json_null(),
            "position",
            json_object_get(detail, "position") ? json_object_get(detail, "position")
                                                : json_null());
        json_decref(detail);
        if (!item || !tests || json_array_append_new(list, item))
            rc = ERR_NOMEM;
        if (!rc)
            rc = specimen_tests(d, db_col_text(st, 3), tests, ei);
        json_decref(tests);
    }
    db_finalize(st);
    return rc;
}

err_t equip_templog_stored(db *d, const char *unit, json_t **out, errinfo *ei)
{
    json_t *specimens = json_array(), *lots = NULL;
    *out = NULL;
    err_t rc = specimens ? stored_specimens(d, unit, specimens, ei) : ERR_NOMEM;
    if (!rc)
        rc = stock_lots_at(d, unit, &lots, ei);
    if (!rc)
        *out = json_pack("{s:O,s:O}", "specimens", specimens, "lots", lots);
    json_decref(specimens);
    json_decref(lots);
    if (!rc && !*out)
        rc = ERR_NOMEM;
    return rc;
}

/* ---- alerts as JSON ---- */

/* How many things the stored list of an alert names, in all its lists. */
static size_t stored_count(const json_t *stored)
{
    const char *key;
    json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)stored, key, v)
    {
        n += json_array_size(v);
    }
    return n;
}

/* A row of ALERT_COLS; with the stored list (parsed), or its count. */
static json_t *alert_row(db_stmt *st, bool full)
{
    json_t *stored = json_loads(db_col_text(st, 17), 0, NULL);
    json_t *a =
        json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:o,s:o,s:f,s:o,s:I,s:o,s:s,s:o,s:o,s:o,s:o}", "id",
                  db_col_text(st, 0), "unit", db_col_text(st, 1), "kind", db_col_text(st, 2),
                  "status", db_col_text(st, 3), "low", db_col_double(st, 4), "high",
                  db_col_double(st, 5), "first_at", db_col_json_time(st, 6), "last_at",
                  db_col_json_time(st, 7), "extreme", db_col_double(st, 8), "extreme_at",
                  db_col_json_time(st, 9), "readings", (json_int_t)db_col_int64(st, 10),
                  "opened_at", db_col_json_time(st, 11), "opened_by", db_col_text(st, 12),
                  "closed_at", db_col_json_time(st, 13), "closed_by", db_col_json_text(st, 14),
                  "action", db_col_json_text(st, 15), "disposition", db_col_json_text(st, 16));
    if (a && stored && full)
        json_object_set(a, "stored", stored);
    else if (a && stored)
        json_object_set_new(a, "stored_count", json_integer((json_int_t)stored_count(stored)));
    if (a && !stored) {
        json_decref(a);
        a = NULL;
    }
    json_decref(stored);
    return a;
}

static err_t alert_read(db *d, const char *id, bool full, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    *out = NULL;
    err_t rc = db_query_by_id(d, &st, sql_alert, id, "temperature alert", ei);
    if (!rc) {
        *out = alert_row(st, full);
        if (!*out)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    return rc;
}

static err_t alert_full(db *d, const char *id, json_t **out, errinfo *ei)
{
    return alert_read(d, id, true, out, ei);
}

/* Patient ids left out for a reader who may not read patient data. */
static void without_patients(json_t *alert)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(json_object_get(alert, "stored"), "specimens"), i, s)
    {
        json_object_set_new(s, "patient_id", json_null());
    }
}

err_t equip_templog_alerts(db *d, const char *status, const char *unit, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *items = json_array();
    if (!*items)
        return ERR_NOMEM;
    err_t rc = db_query(d, &st, ei, sql_alerts, "tttt", status, status, unit, unit);
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        if (json_array_append_new(*items, alert_row(st, false)))
            rc = ERR_NOMEM;
    db_finalize(st);
    if (rc) {
        json_decref(*items);
        *items = NULL;
    }
    return rc;
}

err_t equip_templog_alert_get(db *d, const audit_ctx *ctx, const char *id, bool patients,
                              json_t **out, errinfo *ei)
{
    err_t rc = audit_read(d, ctx, "equip.temperature.alert.read", "temperature_alert", id,
                          alert_full, out, ei);
    if (!rc && !patients)
        without_patients(*out);
    return rc;
}

/* ---- recording ---- */

/* The open alert of a unit while readings are applied. */
struct alert {
    bool open, opened, changed;
    char id[ID_LEN + 1];
    double low, high, extreme;
    int64_t first_at, last_at, extreme_at, readings;
};

static err_t alert_load(db *d, const char *unit, struct alert *a, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    memset(a, 0, sizeof(*a));
    err_t rc = db_query(d, &st, ei, sql_open_alert, "t", unit);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        a->open = true;
        snprintf(a->id, sizeof(a->id), "%s", db_col_text(st, 0));
        a->low = db_col_double(st, 1);
        a->high = db_col_double(st, 2);
        a->first_at = db_col_int64(st, 3);
        a->last_at = db_col_int64(st, 4);
        a->extreme = db_col_double(st, 5);
        a->extreme_at = db_col_int64(st, 6);
        a->readings = db_col_int64(st, 7);
    }
    db_finalize(st);
    return rc;
}

/* Open the unit's alert on reading r, with what is stored there now. */
static err_t alert_open(db *d, const audit_ctx *ctx, const equip_storage_unit *u,
                        const struct reading *r, struct alert *a, errinfo *ei)
{
    json_t *stored = NULL;
    char *text = NULL;
    err_t rc = equip_templog_stored(d, u->name, &stored, ei);
    if (!rc && !(text = json_dumps(stored, JSON_COMPACT)))
        rc = ERR_NOMEM;
    id_new(a->id);
    a->open = a->opened = true;
    a->low = u->low;
    a->high = u->high;
    a->first_at = a->last_at = a->extreme_at = r->at;
    a->extreme = r->celsius;
    a->readings = 0;
    if (!rc)
        rc = db_run(d, ei, NULL, sql_alert_insert, "ttddiiditit", a->id, u->name, u->low, u->high,
                    r->at, r->at, r->celsius, r->at, text, time_now_us(),
                    ctx->actor ? ctx->actor : "system");
    if (!rc) {
        char at[TIME_ISO_LEN];
        time_format_iso(r->at, at);
        json_t *detail =
            json_pack("{s:s,s:f,s:s,s:f,s:f,s:I}", "unit", u->name, "celsius", r->celsius, "at", at,
                      "low", u->low, "high", u->high, "stored", (json_int_t)stored_count(stored));
        rc = audit_write(d, ctx, "equip.temperature.alert.open", "temperature_alert", a->id, "ok",
                         detail, ei);
        json_decref(detail);
    }
    /* The pages fetch the alert (and what is stored) through the audited read. */
    if (!rc)
        rc = db_publish_json(d, "device.temperature.opened",
                             json_pack("{s:s,s:s}", "alert_id", a->id, "unit", u->name), ei);
    free(text);
    json_decref(stored);
    return rc;
}

/* Reading r, outside the limits, joins the open alert. */
static void alert_join(struct alert *a, const struct reading *r)
{
    if (r->at < a->first_at)
        a->first_at = r->at;
    if (r->at > a->last_at)
        a->last_at = r->at;
    if (equip_excursion(r->celsius, a->low, a->high) >
        equip_excursion(a->extreme, a->low, a->high)) {
        a->extreme = r->celsius;
        a->extreme_at = r->at;
    }
    a->readings++;
    a->changed = true;
}

/* Whether r was recorded already: ERR_OK with *dup when the same reading is
 * stored; ERR_CONFLICT when the same sensor and time hold another value. */
static err_t reading_known(db *d, const char *unit, const struct reading *r, bool batch, bool *dup,
                           errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    double stored = 0;
    *dup = false;
    err_t rc = db_query(d, &st, ei, sql_same, "tti", unit, r->sensor, r->at);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        stored = db_col_double(st, 0);
    db_finalize(st);
    if (rc || !row)
        return rc;
    if (stored == r->celsius) {
        *dup = true;
        return ERR_OK;
    }
    char f[96], at[TIME_ISO_LEN];
    time_format_iso(r->at, at);
    return err_set(ei, ERR_CONFLICT, item_field(batch, r->item, "at", f, sizeof(f)),
                   "%s: a reading of %s%s at %s is recorded already, with %g degrees Celsius "
                   "(readings are not changed)",
                   item_field(batch, r->item, "at", f, sizeof(f)), r->sensor[0] ? "sensor " : "",
                   r->sensor[0] ? r->sensor : "this unit by hand", at, stored);
}

/* Apply the sorted readings rs[0..n) to the unit: *recorded, *dups, *outside. */
static err_t readings_apply(db *d, const audit_ctx *ctx, const user *usr,
                            const equip_storage_unit *u, const struct reading *rs, size_t n,
                            bool batch, struct alert *a, int64_t counts[3], errinfo *ei)
{
    const char *source = usr->role == ROLE_INTERFACE ? "sensor" : "manual";
    int64_t now = time_now_us();
    err_t rc = ERR_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        const struct reading *r = &rs[i];
        bool dup = false;
        if (i > 0 && rs[i - 1].at == r->at && !strcmp(rs[i - 1].sensor, r->sensor)) {
            char f[96];
            if (rs[i - 1].celsius != r->celsius)
                return err_set(ei, ERR_INVALID, item_field(batch, r->item, "at", f, sizeof(f)),
                               "%s: readings[%zu] has the same sensor and time with another "
                               "value",
                               item_field(batch, r->item, "at", f, sizeof(f)), rs[i - 1].item);
            counts[1]++;
            continue;
        }
        rc = reading_known(d, u->name, r, batch, &dup, ei);
        if (rc || dup) {
            counts[1] += dup;
            continue;
        }
        const char *alert_id = NULL;
        if (equip_excursion(r->celsius, u->low, u->high) > 0) {
            if (!a->open)
                rc = alert_open(d, ctx, u, r, a, ei);
            if (!rc)
                alert_join(a, r);
            alert_id = a->id;
            counts[2]++;
        }
        char id[ID_LEN + 1];
        id_new(id);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_reading_insert, "ttidttttit", id, u->name, r->at,
                        r->celsius, source, r->sensor, r->note, ctx->actor ? ctx->actor : "system",
                        now, alert_id);
        counts[0]++;
    }
    if (!rc && a->changed)
        rc = db_run(d, ei, NULL, sql_alert_update, "iidiit", a->first_at, a->last_at, a->extreme,
                    a->extreme_at, a->readings, a->id);
    return rc;
}

err_t equip_templog_record(db *d, const audit_ctx *ctx, const user *u, const char *unit,
                           const json_t *body, json_t **out, errinfo *ei)
{
    struct reading *rs = NULL;
    equip_storage_unit un;
    struct alert a;
    size_t n = 0;
    bool batch = false;
    int64_t changed = 0, counts[3] = {0, 0, 0}; /* recorded, duplicates, outside the limits */
    json_t *alert = NULL;
    *out = NULL;
    err_t rc = readings_parse(body, &rs, &n, &batch, ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc) {
        free(rs);
        return rc;
    }
    rc = db_run(d, ei, &changed, sql_unit_lock, "t", unit);
    if (!rc)
        rc = equip_storage_find(d, unit, "name", &un, ei);
    if (!rc)
        rc = alert_load(d, un.name, &a, ei);
    if (!rc)
        rc = readings_apply(d, ctx, u, &un, rs, n, batch, &a, counts, ei);
    if (!rc) {
        json_t *detail =
            json_pack("{s:s,s:I,s:I,s:I,s:s?}", "unit", un.name, "recorded", (json_int_t)counts[0],
                      "duplicates", (json_int_t)counts[1], "excursions", (json_int_t)counts[2],
                      "alert", counts[2] ? a.id : NULL);
        rc = audit_write(d, ctx, "equip.temperature.record", "storage_unit", un.name, "ok", detail,
                         ei);
        json_decref(detail);
    }
    if (!rc && a.open)
        rc = alert_read(d, a.id, false, &alert, ei);
    if (!rc)
        *out = json_pack("{s:s,s:I,s:I,s:I,s:b,s:o}", "unit", un.name, "recorded",
                         (json_int_t)counts[0], "duplicates", (json_int_t)counts[1], "excursions",
                         (json_int_t)counts[2], "alert_opened", a.opened, "alert",
                         alert ? alert : json_null());
    if (!rc && !*out)
        rc = ERR_NOMEM;
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    free(rs);
    return rc;
}

/* ---- reading back ---- */

static json_t *reading_row(db_stmt *st)
{
    return json_pack("{s:s,s:o,s:f,s:s,s:o,s:o,s:s,s:o,s:b,s:o}", "id", db_col_text(st, 0), "at",
                     db_col_json_time(st, 1), "celsius", db_col_double(st, 2), "source",
                     db_col_text(st, 3), "sensor",
                     db_col_text(st, 4)[0] ? json_string(db_col_text(st, 4)) : json_null(), "note",
                     db_col_json_text(st, 5), "recorded_by", db_col_text(st, 6), "recorded_at",
                     db_col_json_time(st, 7), "excursion", !db_col_null(st, 8), "alert_id",
                     db_col_json_text(st, 8));
}

static err_t days_list(db *d, const char *unit, int64_t from, int64_t to, json_t *days, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_days, "tii", unit, from, to);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        char date[11];
        time_format_date(db_col_int64(st, 0) * DAY_US, date);
        if (json_array_append_new(days, json_pack("{s:s,s:f,s:f,s:I,s:I}", "date", date, "min",
                                                  db_col_double(st, 1), "max", db_col_double(st, 2),
                                                  "readings", (json_int_t)db_col_int64(st, 3),
                                                  "excursions", (json_int_t)db_col_int64(st, 4))))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    return rc;
}

err_t equip_templog_readings(db *d, const char *unit, int64_t from, int64_t to, json_t **out,
                             errinfo *ei)
{
    equip_storage_unit u;
    db_stmt *st = NULL;
    bool row = false;
    size_t n = 0;
    char from_iso[TIME_ISO_LEN], to_iso[TIME_ISO_LEN];
    *out = NULL;
    if (!to)
        to = time_now_us() + 1; /* readings of this very moment included */
    if (!from)
        from = to - 7 * DAY_US;
    if (from >= to)
        return err_set(ei, ERR_INVALID, "from", "from must be before to");
    if (to - from > EQUIP_RANGE_DAYS * DAY_US)
        return err_set(ei, ERR_INVALID, "to", "a query covers at most %d days", EQUIP_RANGE_DAYS);
    err_t rc = equip_storage_find(d, unit, "name", &u, ei);
    if (rc)
        return rc;
    json_t *days = json_array(), *list = json_array();
    rc = days && list ? days_list(d, u.name, from, to, days, ei) : ERR_NOMEM;
    if (!rc)
        rc = db_query(d, &st, ei, sql_readings, "tiii", u.name, from, to, (int64_t)LIST_MAX + 1);
    while (!rc && !(rc = db_step(st, &row, ei)) && row && n < LIST_MAX) {
        if (json_array_append_new(list, reading_row(st)))
            rc = ERR_NOMEM;
        n++;
    }
    db_finalize(st);
    time_format_iso(from, from_iso);
    time_format_iso(to, to_iso);
    if (!rc)
        *out = json_pack("{s:{s:s,s:s,s:f,s:f},s:s,s:s,s:O,s:O,s:b}", "unit", "name", u.name,
                         "kind", u.kind, "low", u.low, "high", u.high, "from", from_iso, "to",
                         to_iso, "days", days, "readings", list, "truncated", row);
    if (!rc && !*out)
        rc = ERR_NOMEM;
    json_decref(days);
    json_decref(list);
    return rc;
}

/* ---- closing ---- */

err_t equip_templog_alert_close(db *d, const audit_ctx *ctx, const user *u, const char *id,
                                const json_t *body, bool patients, json_t **out, errinfo *ei)
{
    int64_t changed = 0;
    json_t *before = NULL;
    *out = NULL;
    if (u->role == ROLE_INTERFACE)
        return err_set(ei, ERR_FORBIDDEN, NULL,
                       "a person closes a temperature alert: an interface account cannot");
    err_t rc = jsonv_check(body, close_fields, NFIELDS(close_fields), ei);
    if (rc)
        return rc;
    const char *action = jsonv_str(body, "action"), *disposition = jsonv_str(body, "disposition");
    if (!str_is_text(action))
        return err_set(ei, ERR_INVALID, "action", "action must say what was done");
    if (!str_is_text(disposition))
        return err_set(ei, ERR_INVALID, "disposition",
                       "disposition must say what became of the products stored in the unit");
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = alert_read(d, id, false, &before, ei);
    if (!rc)
        rc = db_run(d, ei, &changed, sql_alert_close, "itttt", time_now_us(), u->username, action,
                    disposition, id);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "id", "this temperature alert is closed already");
    if (!rc) {
        json_t *detail = json_pack("{s:O,s:s,s:s}", "unit", json_object_get(before, "unit"),
                                   "action", action, "disposition", disposition);
        rc = audit_write(d, ctx, "equip.temperature.alert.close", "temperature_alert", id, "ok",
                         detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_publish_json(
            d, "device.temperature.closed",
            json_pack("{s:s,s:O}", "alert_id", id, "unit", json_object_get(before, "unit")), ei);
    if (!rc)
        rc = alert_full(d, id, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    } else if (!patients) {
        without_patients(*out);
    }
    json_decref(before);
    return rc;
}
