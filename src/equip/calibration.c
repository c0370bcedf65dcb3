/*
 * calibration.c - calibration records and their traceability (see
 * calibration.h).
 */
#include "equip/calibration.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/asset.h"
#include "equip/record.h"
#include "equip/schedule.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

bool equip_point_within(double value, double nominal, double tolerance)
{
    double slack = 1e-12 * (fabs(value) + fabs(nominal) + fabs(tolerance));
    return fabs(value - nominal) <= tolerance + slack;
}

/* ---- SQL ---- */

#define CAL_COLS                                                                                   \
    "SELECT c.id, a.tag, c.performed_at, c.performed_by, c.passed, c.as_found_passed, sa.tag,"     \
    " c.standard_calibration_id, c.standard_valid_until, c.provider, c.certificate,"               \
    " c.valid_until, c.notes, c.recorded_at, c.recorded_by, c.asset_id FROM equip_calibrations c"  \
    " JOIN assets a ON a.id = c.asset_id LEFT JOIN assets sa ON sa.id = c.standard_asset_id"

static const char sql_one[] = CAL_COLS " WHERE c.id = ?";
static const char sql_of_asset[] =
    CAL_COLS " WHERE a.tag = ? ORDER BY c.performed_at DESC, c.id DESC LIMIT 200";
static const char sql_points[] =
    "SELECT name, unit, nominal, tolerance, as_found, as_left, found_ok, left_ok"
    " FROM equip_calibration_points WHERE calibration_id = ? ORDER BY place";
static const char sql_previous[] =
    "SELECT MAX(performed_at) FROM equip_calibrations WHERE asset_id = ? AND performed_at < ?";
static const char sql_last_of_standard[] =
    "SELECT id, performed_at, passed, valid_until FROM equip_calibrations WHERE asset_id = ?"
    " AND performed_at <= ? ORDER BY performed_at DESC, id DESC LIMIT 1";
static const char sql_standard[] = "SELECT id, class, status FROM assets WHERE tag = ?";
static const char sql_insert[] =
    "INSERT INTO equip_calibrations (id, asset_id, performed_at, performed_by, passed,"
    " as_found_passed, standard_asset_id, standard_calibration_id, standard_valid_until,"
    " provider, certificate, valid_until, notes, recorded_at, recorded_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_point_insert[] =
    "INSERT INTO equip_calibration_points (calibration_id, place, name, unit, nominal,"
    " tolerance, as_found, as_left, found_ok, left_ok) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* ---- request bodies ---- */

static const jsonv_field cal_fields[] = {
    {"asset", JSONV_STRING, true, EQUIP_TAG_MAX},
    {"performed_at", JSONV_STRING, false, 40},
    {"by", JSONV_STRING, false, EQUIP_TEXT_MAX},
    {"notes", JSONV_STRING, false, EQUIP_REASON_MAX},
    {"standard", JSONV_STRING, false, EQUIP_TAG_MAX},
    {"external", JSONV_OBJECT, false, 0},
    {"points", JSONV_ARRAY, true, EQUIP_POINTS_MAX},
};
static const jsonv_field external_fields[] = {
    {"provider", JSONV_STRING, true, EQUIP_TEXT_MAX},
    {"certificate", JSONV_STRING, true, 64},
    {"valid_until", JSONV_STRING, true, 10},
};
static const jsonv_field point_fields[] = {
    {"name", JSONV_STRING, true, 64},     {"unit", JSONV_STRING, true, 16},
    {"nominal", JSONV_NUMBER, true, 0},   {"tolerance", JSONV_NUMBER, true, 0},
    {"as_found", JSONV_NUMBER, false, 0}, {"as_left", JSONV_NUMBER, true, 0},
};

/* Check an object member against fields; the field at fault is named with
 * where ("points[2].unit"). */
static err_t check_member(const json_t *v, const char *where, const jsonv_field *fields, size_t n,
                          errinfo *ei)
{
    if (!json_is_object(v))
        return err_set(ei, ERR_INVALID, where, "%s must be an object", where);
    err_t rc = jsonv_check(v, fields, n, ei);
    return rc ? equip_field_at(ei, rc, where) : ERR_OK;
}

static err_t check_points(const json_t *points, errinfo *ei)
{
    size_t i;
    json_t *p;
    if (json_array_size(points) == 0)
        return err_set(ei, ERR_INVALID, "points", "points: at least one point");
    json_array_foreach(points, i, p)
    {
        char where[24], f[48];
        snprintf(where, sizeof(where), "points[%d]", (int)i);
        err_t rc = check_member(p, where, point_fields, NFIELDS(point_fields), ei);
        if (rc)
            return rc;
        const char *name = jsonv_str(p, "name");
        snprintf(f, sizeof(f), "%s.name", where);
        if (!str_is_text(name))
            return err_set(ei, ERR_INVALID, f, "%s must be printable text", f);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(jsonv_str(json_array_get(points, k), "name"), name))
                return err_set(ei, ERR_INVALID, f, "%s: point %s is listed twice", f, name);
        snprintf(f, sizeof(f), "%s.unit", where);
        if (!str_is_text(jsonv_str(p, "unit")))
            return err_set(ei, ERR_INVALID, f, "%s must be printable text", f);
        snprintf(f, sizeof(f), "%s.tolerance", where);
        if (!(json_number_value(json_object_get(p, "tolerance")) > 0))
            return err_set(ei, ERR_INVALID, f, "%s must be above 0 (absolute, in the unit)", f);
    }
    return ERR_OK;
}

/* ---- validity ---- */

/* The end (inclusive) of the validity of the calibration cal_id of asset_id
 * performed at performed: an external certificate's valid_until (NULL for
 * none) to the end of that day, else the interval plus grace of the
 * asset's calibration schedule (the shortest). *end 0 when nothing says. */
static err_t valid_end(db *d, const char *asset_id, int64_t performed, const char *valid_until,
                       int64_t *end, errinfo *ei)
{
    equip_applied sch[16];
    size_t n = 0;
    *end = 0;
    if (valid_until) {
        int64_t day = 0;
        if (!time_parse_iso(valid_until, strlen(valid_until), &day, NULL))
            *end = day + EQUIP_DAY_US - 1;
        return ERR_OK;
    }
    err_t rc = equip_schedules_applied(d, asset_id, performed, true, sch, 16, &n, ei);
    for (size_t i = 0; !rc && i < n; i++) {
        int64_t e = performed + (int64_t)(sch[i].interval_days + sch[i].grace_days) * EQUIP_DAY_US;
        if (!*end || e < *end)
            *end = e;
    }
    return rc;
}

err_t equip_standard_valid(db *d, const char *std_id, const char *std_tag, int64_t at,
                           char cal_id[ID_LEN + 1], char until[11], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false, passed = false;
    char day[11], done[11], valid_until[11] = "";
    int64_t performed = 0, end = 0;
    cal_id[0] = until[0] = '\0';
    time_format_date(at, day);
    err_t rc = db_query(d, &st, ei, sql_last_of_standard, "ti", std_id, at);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        snprintf(cal_id, ID_LEN + 1, "%s", db_col_text(st, 0));
        performed = db_col_int64(st, 1);
        passed = db_col_int64(st, 2) != 0;
        if (!db_col_null(st, 3))
            snprintf(valid_until, sizeof(valid_until), "%s", db_col_text(st, 3));
    }
    db_finalize(st);
    if (rc)
        return rc;
    if (!row)
        return err_set(ei, ERR_INVALID, "standard",
                       "standard %s has no calibration on or before %s: it is not traceable",
                       std_tag, day);
    time_format_date(performed, done);
    if (!passed)
        return err_set(ei, ERR_INVALID, "standard",
                       "standard %s failed its last calibration before %s (of %s)", std_tag, day,
                       done);
    rc = valid_end(d, std_id, performed, valid_until[0] ? valid_until : NULL, &end, ei);
    if (rc)
        return rc;
    if (!end)
        return err_set(ei, ERR_INVALID, "standard",
                       "standard %s: nothing says how long its calibration of %s holds (give it "
                       "a calibration schedule, or calibrate it externally with a certificate)",
                       std_tag, done);
    time_format_date(end, until);
    if (at > end)
        return err_set(ei, ERR_INVALID, "standard", "standard %s's calibration expired on %s",
                       std_tag, until);
    return ERR_OK;
}

/* ---- reading ---- */

static json_t *point_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:f,s:f,s:o,s:f,s:o,s:b}", "name", db_col_text(st, 0), "unit",
                     db_col_text(st, 1), "nominal", db_col_double(st, 2), "tolerance",
                     db_col_double(st, 3), "as_found", db_col_json_num(st, 4), "as_left",
                     db_col_double(st, 5), "found_ok",
                     db_col_null(st, 6) ? json_null() : json_boolean(db_col_int64(st, 6) != 0),
                     "left_ok", db_col_int64(st, 7) != 0);
}

/* A calibration row without its points and chain. */
static json_t *cal_row(db_stmt *st)
{
    json_t *standard = db_col_null(st, 6) ? json_null()
                                          : json_pack("{s:s,s:o,s:o}", "tag", db_col_text(st, 6),
                                                      "calibration_id", db_col_json_text(st, 7),
                                                      "valid_until", db_col_json_text(st, 8));
    json_t *external =
        db_col_null(st, 10)
            ? json_null()
            : json_pack("{s:o,s:s,s:o}", "provider", db_col_json_text(st, 9), "certificate",
                        db_col_text(st, 10), "valid_until", db_col_json_text(st, 11));
    return json_pack("{s:s,s:s,s:o,s:s,s:b,s:b,s:o,s:o,s:o,s:o,s:s}", "id", db_col_text(st, 0),
                     "asset", db_col_text(st, 1), "performed_at", db_col_json_time(st, 2),
                     "performed_by", db_col_text(st, 3), "passed", db_col_int64(st, 4) != 0,
                     "as_found_passed", db_col_int64(st, 5) != 0, "standard",
                     standard ? standard : json_null(), "external",
                     external ? external : json_null(), "notes", db_col_json_text(st, 12),
                     "recorded_at", db_col_json_time(st, 13), "recorded_by", db_col_text(st, 14));
}

err_t equip_calibration_list(db *d, const char *tag, json_t **items, errinfo *ei)
{
    return equip_record_list(d, sql_of_asset, tag, cal_row, items, ei);
}

/* The row of calibration id into *out (cal_row) with its asset id. */
static err_t cal_read(db *d, const char *id, json_t **out, char asset_id[ID_LEN + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    *out = NULL;
    err_t rc = db_query_by_id(d, &st, sql_one, id, "calibration", ei);
    if (!rc) {
        snprintf(asset_id, ID_LEN + 1, "%s", db_col_text(st, 15));
        if (!(*out = cal_row(st)))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    return rc;
}

/* The chain above calibration c: each standard's calibration that made the
 * one below valid, up to an external certificate (EQUIP_CHAIN_MAX links). */
static err_t chain_of(db *d, const json_t *c, json_t *chain, errinfo *ei)
{
    json_t *below = json_incref((json_t *)c);
    err_t rc = ERR_OK;
    for (int depth = 0; !rc && depth < EQUIP_CHAIN_MAX; depth++) {
        const json_t *std = json_object_get(below, "standard");
        const char *next = jsonv_str(std, "calibration_id");
        json_t *link = NULL;
        char asset_id[ID_LEN + 1];
        if (!next)
            break;
        rc = cal_read(d, next, &link, asset_id, ei);
        if (rc == ERR_NOT_FOUND) /* the chain is what it is: show where it ends */
            rc = err_set(ei, ERR_INTERNAL, NULL, "calibration %s names a missing one", next);
        if (!rc) {
            json_object_set(link, "valid_until", json_object_get(std, "valid_until"));
            if (json_array_append(chain, link))
                rc = ERR_NOMEM;
        }
        json_decref(below);
        below = link;
    }
    json_decref(below);
    return rc;
}

err_t equip_calibration_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    char asset_id[ID_LEN + 1];
    db_stmt *st = NULL;
    bool row = false;
    json_t *c = NULL, *points = json_array(), *found_out = json_array(), *chain = json_array();
    *out = NULL;
    err_t rc = points && found_out && chain ? cal_read(d, id, &c, asset_id, ei) : ERR_NOMEM;
    if (!rc)
        rc = db_query(d, &st, ei, sql_points, "t", id);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        if (json_array_append_new(points, point_row(st)))
            rc = ERR_NOMEM;
        else if (!db_col_null(st, 6) && !db_col_int64(st, 6))
            json_array_append_new(found_out, json_string(db_col_text(st, 0)));
    }
    db_finalize(st);
    st = NULL;
    /* found out of tolerance: the results since the previous calibration */
    json_t *look_back = json_null();
    if (!rc && json_array_size(found_out)) {
        int64_t performed = 0;
        const char *at = jsonv_str(c, "performed_at");
        time_parse_iso(at, strlen(at), &performed, NULL);
        rc = db_query(d, &st, ei, sql_previous, "ti", asset_id, performed);
        if (!rc && !(rc = db_step(st, &row, ei)) && row) {
            json_decref(look_back);
            look_back = json_pack("{s:o,s:s}", "from", db_col_json_time(st, 0), "to", at);
        }
        db_finalize(st);
    }
    if (!rc)
        rc = chain_of(d, c, chain, ei);
    if (!rc && (json_object_set(c, "points", points) ||
                json_object_set(c, "as_found_out_of_tolerance", found_out) ||
                json_object_set(c, "look_back", look_back ? look_back : json_null()) ||
                json_object_set(c, "traceability", chain)))
        rc = ERR_NOMEM;
    json_decref(points);
    json_decref(found_out);
    json_decref(chain);
    json_decref(look_back);
    if (rc)
        json_decref(c);
    else
        *out = c;
    return rc;
}

/* ---- recording ---- */

/* The reference of a calibration: a standard in calibration at h's time,
 * or an external certificate valid on its day. */
struct reference {
    char std_id[ID_LEN + 1], cal_id[ID_LEN + 1], until[11];
    const char *std_tag, *provider, *certificate, *valid_until;
};

static err_t check_reference(db *d, const json_t *body, const equip_record_head *h,
                             struct reference *r, errinfo *ei)
{
    const json_t *ext = json_object_get(body, "external");
    memset(r, 0, sizeof(*r));
    r->std_tag = jsonv_str(body, "standard");
    if (ext) {
        char day[11];
        r->provider = jsonv_str(ext, "provider");
        r->certificate = jsonv_str(ext, "certificate");
        r->valid_until = jsonv_str(ext, "valid_until");
        if (!str_is_text(r->provider))
            return err_set(ei, ERR_INVALID, "external.provider",
                           "external.provider must be printable text");
        if (!str_is_text(r->certificate))
            return err_set(ei, ERR_INVALID, "external.certificate",
                           "external.certificate must be printable text");
        if (!time_date_valid(r->valid_until))
            return err_set(ei, ERR_INVALID, "external.valid_until",
                           "external.valid_until must be a date YYYY-MM-DD");
        time_format_date(h->performed_at, day);
        if (strcmp(r->valid_until, day) < 0)
            return err_set(ei, ERR_INVALID, "external.valid_until",
                           "external.valid_until %s is before the calibration (%s)", r->valid_until,
                           day);
        return ERR_OK;
    }
    db_stmt *st = NULL;
    bool row = false;
    char cls[EQUIP_CLASS_MAX + 1] = "", status[EQUIP_STATUS_MAX] = "";
    err_t rc = db_query(d, &st, ei, sql_standard, "t", r->std_tag);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        snprintf(r->std_id, sizeof(r->std_id), "%s", db_col_text(st, 0));
        snprintf(cls, sizeof(cls), "%s", db_col_text(st, 1));
        snprintf(status, sizeof(status), "%s", db_col_text(st, 2));
    }
    db_finalize(st);
    if (rc)
        return rc;
    if (!row)
        return err_set(ei, ERR_INVALID, "standard", "standard: no asset is tagged %.40s",
                       r->std_tag);
    if (strcmp(cls, "calibration-standard"))
        return err_set(ei, ERR_INVALID, "standard",
                       "standard: %s is a %s, not a calibration-standard", r->std_tag, cls);
    if (!strcmp(r->std_id, h->asset_id))
        return err_set(ei, ERR_INVALID, "standard",
                       "standard: a device is not calibrated against itself");
    if (strcmp(status, "in-service"))
        return err_set(ei, ERR_INVALID, "standard", "standard %s is %s", r->std_tag, status);
    return equip_standard_valid(d, r->std_id, r->std_tag, h->performed_at, r->cal_id, r->until, ei);
}

err_t equip_calibration_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                               errinfo *ei)
{
    equip_record_head h;
    struct reference ref;
    char id[ID_LEN + 1];
    size_t i;
    json_t *p;
    bool passed = true, found_ok = true;
    *out = NULL;
    err_t rc = jsonv_check(body, cal_fields, NFIELDS(cal_fields), ei);
    if (rc)
        return rc;
    const json_t *ext = json_object_get(body, "external"),
                 *points = json_object_get(body, "points");
    const char *notes = jsonv_str(body, "notes");
    bool has_std = jsonv_str(body, "standard") != NULL, has_ext = json_is_object(ext);
    if (has_std == has_ext)
        return err_set(ei, ERR_INVALID, "standard",
                       "standard: give the reference standard used (its tag), or an external "
                       "certificate, not both");
    if (has_ext) {
        rc = check_member(ext, "external", external_fields, NFIELDS(external_fields), ei);
        if (rc)
            return rc;
    }
    if (notes && !str_is_text(notes))
        return err_set(ei, ERR_INVALID, "notes", "notes must be printable text");
    rc = check_points(points, ei);
    if (!rc)
        rc = equip_record_begin(d, ctx, jsonv_str(body, "asset"), "asset", body, &h, ei);
    if (rc)
        return rc;
    rc = check_reference(d, body, &h, &ref, ei);
    json_array_foreach(points, i, p)
    {
        double nominal = json_number_value(json_object_get(p, "nominal"));
        double tol = json_number_value(json_object_get(p, "tolerance"));
        passed = passed &&
                 equip_point_within(json_number_value(json_object_get(p, "as_left")), nominal, tol);
        const json_t *f = json_object_get(p, "as_found");
        found_ok = found_ok &&
                   (!json_is_number(f) || equip_point_within(json_number_value(f), nominal, tol));
    }
    id_new(id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_insert, "ttitiitttttttit", id, h.asset_id, h.performed_at,
                    h.by, (int64_t)passed, (int64_t)found_ok, ref.std_tag ? ref.std_id : NULL,
                    ref.std_tag ? ref.cal_id : NULL, ref.std_tag ? ref.until : NULL, ref.provider,
                    ref.certificate, ref.valid_until, notes, h.now, h.recorder);
    json_array_foreach(points, i, p)
    {
        double nominal = json_number_value(json_object_get(p, "nominal"));
        double tol = json_number_value(json_object_get(p, "tolerance"));
        double left = json_number_value(json_object_get(p, "as_left"));
        const json_t *f = json_object_get(p, "as_found");
        char found[DB_NUM_TEXT], fok[4];
        bool has_found = json_is_number(f);
        if (has_found)
            snprintf(fok, sizeof(fok), "%d",
                     equip_point_within(json_number_value(f), nominal, tol) ? 1 : 0);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_point_insert, "tittddtdti", id, (int64_t)i,
                        jsonv_str(p, "name"), jsonv_str(p, "unit"), nominal, tol,
                        db_num_text(has_found, json_number_value(f), found), left,
                        has_found ? fok : NULL, (int64_t)equip_point_within(left, nominal, tol));
    }
    if (!rc)
        rc = equip_calibration_get(d, id, out, ei);
    json_t *detail = NULL;
    if (!rc) {
        detail =
            json_pack("{s:s,s:b,s:b,s:o,s:o}", "asset", h.tag, "passed", passed, "as_found_passed",
                      found_ok, "standard", json_incref(json_object_get(*out, "standard")),
                      "external", json_incref(json_object_get(*out, "external")));
        if (!detail)
            rc = ERR_NOMEM;
    }
    rc = equip_record_end(d, ctx, &h, rc, "equip.calibration.record", "equip_calibration", id,
                          detail, ei);
    json_decref(detail);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
