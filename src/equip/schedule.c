/*
 * schedule.c - schedules, what was done last, and the due list (see
 * schedule.h).
 *
 * A schedule applies to an asset directly or through the asset's class. One
 * query pairs schedules with the assets they apply to and reads, for each
 * pair, the time and outcome of the last record of the schedule's kind at
 * or before a given time; the due state is then computed in C by
 * equip_due_compute().
 */
#include "equip/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/checklist.h"
#include "equip/record.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* ---- due ---- */

equip_due equip_due_compute(int64_t last, int64_t install, int64_t created, int interval_days,
                            int grace_days, int within_days, int64_t now)
{
    equip_due d;
    d.base = last ? last : (install > created ? install : created);
    d.due_at = d.base + (int64_t)interval_days * EQUIP_DAY_US;
    d.overdue_at = d.due_at + (int64_t)grace_days * EQUIP_DAY_US;
    if (now > d.overdue_at)
        d.state = EQUIP_DUE_OVERDUE;
    else if (now >= d.due_at - (int64_t)within_days * EQUIP_DAY_US)
        d.state = EQUIP_DUE_SOON;
    else
        d.state = EQUIP_DUE_OK;
    return d;
}

const char *equip_due_state_name(equip_due_state s)
{
    return s == EQUIP_DUE_OVERDUE ? "overdue" : s == EQUIP_DUE_SOON ? "due" : "ok";
}

equip_due equip_applied_due(const equip_applied *a, int within_days, int64_t now)
{
    return equip_due_compute(a->last, a->install, a->created_at, a->interval_days, a->grace_days,
                             within_days, now);
}

/* ---- SQL ---- */

/* Schedules paired with the assets they apply to; the last record's time
 * and outcome at or before ? (six times the same time). */
#define PAIRS                                                                                      \
    "SELECT s.id, s.kind, s.template, s.interval_days, s.grace_days, s.safety_critical,"           \
    " s.created_at, a.id, a.tag, a.install_date, a.class, a.location, a.instrument,"               \
    " CASE s.kind WHEN 'pm' THEN (SELECT MAX(p.performed_at) FROM equip_pm_records p"              \
    " WHERE p.asset_id = a.id AND p.performed_at <= ?) WHEN 'calibration' THEN"                    \
    " (SELECT MAX(c.performed_at) FROM equip_calibrations c WHERE c.asset_id = a.id AND"           \
    " c.performed_at <= ?) ELSE (SELECT MAX(k.performed_at) FROM equip_checks k WHERE"             \
    " k.asset_id = a.id AND k.template = s.template AND k.performed_at <= ?) END,"                 \
    " CASE s.kind WHEN 'pm' THEN (SELECT p.passed FROM equip_pm_records p WHERE p.asset_id ="      \
    " a.id AND p.performed_at <= ? ORDER BY p.performed_at DESC, p.id DESC LIMIT 1)"               \
    " WHEN 'calibration' THEN (SELECT c.passed FROM equip_calibrations c WHERE c.asset_id ="       \
    " a.id AND c.performed_at <= ? ORDER BY c.performed_at DESC, c.id DESC LIMIT 1)"               \
    " ELSE (SELECT k.passed FROM equip_checks k WHERE k.asset_id = a.id AND k.template ="          \
    " s.template AND k.performed_at <= ? ORDER BY k.performed_at DESC, k.id DESC LIMIT 1) END"     \
    " FROM equip_schedules s JOIN assets a ON a.id = s.asset_id OR (s.asset_id IS NULL AND"        \
    " a.class = s.class)"

static const char sql_applied[] = PAIRS " WHERE a.id = ? AND (? = 0 OR s.kind = 'calibration')"
                                        " ORDER BY s.kind, s.created_at, s.id";
static const char sql_due[] = PAIRS " WHERE a.status = 'in-service' ORDER BY a.tag, s.kind, s.id";

#define SCHEDULE_COLS                                                                              \
    "SELECT s.id, a.tag, s.class, s.kind, s.template, s.interval_days, s.grace_days,"              \
    " s.safety_critical, s.description, s.created_at, s.created_by FROM equip_schedules s"         \
    " LEFT JOIN assets a ON a.id = s.asset_id"

static const char sql_one[] = SCHEDULE_COLS " WHERE s.id = ?";
static const char sql_list[] =
    SCHEDULE_COLS " WHERE (CAST(? AS TEXT) IS NULL AND CAST(? AS TEXT) IS NULL)"
                  " OR s.asset_id = ? OR s.class = ? ORDER BY s.class, a.tag, s.kind, s.id"
                  " LIMIT 2000";
static const char sql_class_of[] = "SELECT class FROM assets WHERE id = ?";
static const char sql_same[] =
    "SELECT COUNT(*) FROM equip_schedules WHERE (asset_id = ? OR class = ?) AND kind = ?"
    " AND COALESCE(template, '') = ?";
static const char sql_insert[] =
    "INSERT INTO equip_schedules (id, asset_id, class, kind, template, interval_days,"
    " grace_days, safety_critical, description, created_at, created_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_delete[] = "DELETE FROM equip_schedules WHERE id = ?";

static const jsonv_field schedule_fields[] = {
    {"asset", JSONV_STRING, false, EQUIP_TAG_MAX},
    {"class", JSONV_STRING, false, EQUIP_CLASS_MAX},
    {"kind", JSONV_STRING, true, EQUIP_KIND_MAX},
    {"template", JSONV_STRING, false, EQUIP_TAG_MAX},
    {"interval_days", JSONV_INT, true, 0},
    {"grace_days", JSONV_INT, false, 0},
    {"safety_critical", JSONV_BOOL, false, 0},
    {"description", JSONV_STRING, false, EQUIP_REASON_MAX},
};

/* ---- helpers ---- */

err_t equip_performed_at(const char *text, int64_t now, int64_t *out, errinfo *ei)
{
    errinfo e2 = {0};
    *out = now;
    if (!text)
        return ERR_OK;
    if (time_parse_iso(text, strlen(text), out, &e2))
        return err_set(ei, ERR_INVALID, "performed_at", "performed_at: %s", e2.message);
    if (*out > now + EQUIP_SKEW_US)
        return err_set(ei, ERR_INVALID, "performed_at",
                       "performed_at %s is in the future: record what was done", text);
    return ERR_OK;
}

/* YYYY-MM-DD as the time of its 00:00 UTC; 0 for NULL or not a date. */
static int64_t date_time(const char *date)
{
    int64_t t = 0;
    if (!date || time_parse_iso(date, strlen(date), &t, NULL))
        return 0;
    return t;
}

static void applied_row(db_stmt *st, equip_applied *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->schedule_id, sizeof(a->schedule_id), "%s", db_col_text(st, 0));
    snprintf(a->kind, sizeof(a->kind), "%s", db_col_text(st, 1));
    snprintf(a->template_code, sizeof(a->template_code), "%s",
             db_col_null(st, 2) ? "" : db_col_text(st, 2));
    a->interval_days = (int)db_col_int64(st, 3);
    a->grace_days = (int)db_col_int64(st, 4);
    a->safety_critical = db_col_int64(st, 5) != 0;
    a->created_at = db_col_int64(st, 6);
    snprintf(a->asset_id, sizeof(a->asset_id), "%s", db_col_text(st, 7));
    snprintf(a->tag, sizeof(a->tag), "%s", db_col_text(st, 8));
    a->install = date_time(db_col_text(st, 9));
    a->last = db_col_null(st, 13) ? 0 : db_col_int64(st, 13);
    a->last_passed = db_col_int64(st, 14) != 0;
}

err_t equip_schedules_applied(db *d, const char *asset_id, int64_t at, bool calibration_only,
                              equip_applied *out, size_t max, size_t *n, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    err_t rc = db_query(d, &st, ei, sql_applied, "iiiiiiti", at, at, at, at, at, at, asset_id,
                        (int64_t)calibration_only);
    while (!rc && *n < max && !(rc = db_step(st, &row, ei)) && row)
        applied_row(st, &out[(*n)++]);
    db_finalize(st);
    return rc;
}

/* ---- on record ---- */

static json_t *schedule_row(db_stmt *st)
{
    return json_pack("{s:s,s:o,s:o,s:s,s:o,s:I,s:I,s:b,s:o,s:o,s:s}", "id", db_col_text(st, 0),
                     "asset", db_col_json_text(st, 1), "class", db_col_json_text(st, 2), "kind",
                     db_col_text(st, 3), "template", db_col_json_text(st, 4), "interval_days",
                     (json_int_t)db_col_int64(st, 5), "grace_days", (json_int_t)db_col_int64(st, 6),
                     "safety_critical", db_col_int64(st, 7) != 0, "description",
                     db_col_json_text(st, 8), "created_at", db_col_json_time(st, 9), "created_by",
                     db_col_text(st, 10));
}

static err_t schedule_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_one, "t", id);
    return equip_row(rc, st, schedule_row, out, "id", "schedule has id", id, ei);
}

/* The kind a schedule's template must have, NULL when it takes none. */
static const char *template_kind(const char *kind)
{
    if (!strcmp(kind, "check"))
        return "check";
    if (!strcmp(kind, "electrical-safety"))
        return "electrical-safety";
    return NULL;
}

err_t equip_schedule_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                            errinfo *ei)
{
    char asset_id[ID_LEN + 1] = "", status[EQUIP_STATUS_MAX] = "", sid[ID_LEN + 1];
    *out = NULL;
    err_t rc = jsonv_check(body, schedule_fields, NFIELDS(schedule_fields), ei);
    if (rc)
        return rc;
    const char *asset = jsonv_str(body, "asset"), *cls = jsonv_str(body, "class");
    const char *kind = jsonv_str(body, "kind"), *tmpl = jsonv_str(body, "template");
    const char *description = jsonv_str(body, "description");
    json_t *iv = json_object_get(body, "interval_days"), *gv = json_object_get(body, "grace_days");
    json_t *sc = json_object_get(body, "safety_critical");
    json_int_t interval = json_integer_value(iv),
               grace = json_is_integer(gv) ? json_integer_value(gv) : 0;
    if ((asset != NULL) == (cls != NULL))
        return err_set(ei, ERR_INVALID, asset ? "class" : "asset",
                       "a schedule is for one asset or for one class: give exactly one of "
                       "asset and class");
    if (cls && !equip_class_valid(cls))
        return err_set(ei, ERR_INVALID, "class", "class must be one of: %s", equip_class_names());
    if (strcmp(kind, "pm") && strcmp(kind, "calibration") && strcmp(kind, "electrical-safety") &&
        strcmp(kind, "check"))
        return err_set(ei, ERR_INVALID, "kind",
                       "kind must be pm, calibration, electrical-safety or check");
    const char *needs = template_kind(kind);
    if (needs && !tmpl)
        return err_set(ei, ERR_MISSING_FIELD, "template",
                       "a %s schedule names the checklist template it is made against", kind);
    if (!needs && tmpl)
        return err_set(ei, ERR_INVALID, "template",
                       "template: only check and electrical-safety schedules have one");
    if (interval < 1 || interval > EQUIP_INTERVAL_MAX)
        return err_set(ei, ERR_INVALID, "interval_days", "interval_days must be from 1 to %d",
                       EQUIP_INTERVAL_MAX);
    if (grace < 0 || grace > EQUIP_INTERVAL_MAX)
        return err_set(ei, ERR_INVALID, "grace_days", "grace_days must be from 0 to %d",
                       EQUIP_INTERVAL_MAX);
    if (description && !str_is_text(description))
        return err_set(ei, ERR_INVALID, "description", "description must be printable text");
    bool critical = json_is_boolean(sc)
                        ? json_is_true(sc)
                        : (!strcmp(kind, "calibration") || !strcmp(kind, "electrical-safety"));
    if (asset) {
        rc = equip_asset_id(d, asset, "asset", asset_id, status, ei);
        if (!rc && !strcmp(status, "retired"))
            rc = err_set(ei, ERR_INVALID, "asset", "asset: %s is retired", asset);
        if (rc)
            return rc;
    }
    if (needs) {
        char got[EQUIP_KIND_MAX] = "";
        int version = 0;
        rc = equip_checklist_latest(d, tmpl, "template", &version, got, ei);
        if (!rc && strcmp(got, needs))
            rc = err_set(ei, ERR_INVALID, "template", "template: %s is a %s template, not a %s one",
                         tmpl, got, needs);
        if (rc)
            return rc;
    }
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    db_stmt *st = NULL;
    bool row = false;
    int64_t same = 0;
    rc = db_query(d, &st, ei, sql_same, "tttt", asset ? asset_id : NULL, cls, kind,
                  tmpl ? tmpl : "");
    if (!rc && !(rc = db_step(st, &row, ei)) && row)
        same = db_col_int64(st, 0);
    db_finalize(st);
    if (!rc && same)
        rc = err_set(ei, ERR_CONFLICT, "kind", "%s %s has a %s schedule%s%s already",
                     asset ? "asset" : "class", asset ? asset : cls, kind, tmpl ? " for " : "",
                     tmpl ? tmpl : "");
    id_new(sid);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_insert, "tttttiiitit", sid, asset ? asset_id : NULL, cls, kind,
                    tmpl, (int64_t)interval, (int64_t)grace, (int64_t)critical, description,
                    time_now_us(), ctx->actor ? ctx->actor : "system");
    if (!rc)
        rc = schedule_get(d, sid, out, ei);
    if (!rc) {
        rc = audit_write(d, ctx, "equip.schedule.create", "equip_schedule", sid, "ok", *out, ei);
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t equip_schedule_list(db *d, const char *asset_tag, const char *cls, json_t **items,
                          errinfo *ei)
{
    char asset_id[ID_LEN + 1] = "", asset_cls[EQUIP_CLASS_MAX + 1] = "";
    db_stmt *st = NULL;
    bool row = false;
    *items = NULL;
    if (cls && !equip_class_valid(cls))
        return err_set(ei, ERR_INVALID, "class", "class must be one of: %s", equip_class_names());
    if (asset_tag) {
        err_t rc = equip_asset_id(d, asset_tag, "asset", asset_id, NULL, ei);
        if (!rc)
            rc = db_query(d, &st, ei, sql_class_of, "t", asset_id);
        if (!rc && !(rc = db_step(st, &row, ei)) && row)
            snprintf(asset_cls, sizeof(asset_cls), "%s", db_col_text(st, 0));
        db_finalize(st);
        st = NULL;
        if (rc)
            return rc;
        if (!cls)
            cls = asset_cls; /* the asset's own and its class's */
    }
    err_t rc =
        db_query(d, &st, ei, sql_list, "tttt", asset_tag, cls, asset_tag ? asset_id : NULL, cls);
    return db_rows_json(rc, st, schedule_row, items, ei);
}

err_t equip_schedule_delete(db *d, const audit_ctx *ctx, const char *id, errinfo *ei)
{
    json_t *was = NULL;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = schedule_get(d, id, &was, ei);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_delete, "t", id);
    if (!rc)
        rc = audit_write(d, ctx, "equip.schedule.delete", "equip_schedule", id, "ok", was, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        db_rollback(d);
    json_decref(was);
    return rc;
}

/* ---- the due list ---- */

static int due_order(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    bool oa = !strcmp(jsonv_str(a, "state"), "overdue"),
         ob = !strcmp(jsonv_str(b, "state"), "overdue");
    if (oa != ob)
        return oa ? -1 : 1;
    int c = strcmp(jsonv_str(a, "due_at"), jsonv_str(b, "due_at"));
    return c ? c : strcmp(jsonv_str(a, "asset"), jsonv_str(b, "asset"));
}

err_t equip_due_list(db *d, int within_days, int64_t now, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t **found = NULL;
    size_t n = 0, cap = 0;
    *items = NULL;
    if (within_days < 0 || within_days > EQUIP_WITHIN_MAX)
        return err_set(ei, ERR_INVALID, "within", "within must be from 0 to %d days",
                       EQUIP_WITHIN_MAX);
    err_t rc = db_query(d, &st, ei, sql_due, "iiiiii", now, now, now, now, now, now);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        equip_applied a;
        char due[TIME_ISO_LEN], overdue[TIME_ISO_LEN];
        applied_row(st, &a);
        equip_due du = equip_applied_due(&a, within_days, now);
        if (du.state == EQUIP_DUE_OK)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            json_t **grown = realloc(found, ncap * sizeof(*grown));
            if (!grown) {
                rc = ERR_NOMEM;
                break;
            }
            found = grown;
            cap = ncap;
        }
        time_format_iso(du.due_at, due);
        time_format_iso(du.overdue_at, overdue);
        found[n] = json_pack(
            "{s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:b,s:i,s:i,s:o,s:o,s:s,s:s,s:s}", "asset", a.tag,
            "class", db_col_text(st, 10), "location", db_col_text(st, 11), "instrument",
            db_col_json_text(st, 12), "schedule_id", a.schedule_id, "kind", a.kind, "template",
            a.template_code[0] ? json_string(a.template_code) : json_null(), "safety_critical",
            a.safety_critical, "interval_days", a.interval_days, "grace_days", a.grace_days,
            "last_done", db_col_json_time(st, 13), "last_passed",
            a.last ? json_boolean(a.last_passed) : json_null(), "due_at", due, "overdue_at",
            overdue, "state", equip_due_state_name(du.state));
        if (!found[n]) {
            rc = ERR_NOMEM;
            break;
        }
        n++;
    }
    db_finalize(st);
    json_t *arr = rc ? NULL : json_array();
    if (!rc && !arr)
        rc = ERR_NOMEM;
    if (!rc && n > 1) /* qsort must not be given NULL, which an empty list is */
        qsort(found, n, sizeof(*found), due_order);
    for (size_t i = 0; i < n; i++) {
        if (arr && json_array_append_new(arr, found[i]))
            rc = ERR_NOMEM;
        else if (!arr)
            json_decref(found[i]);
    }
    free(found);
    if (rc)
        json_decref(arr);
    else
        *items = arr;
    return rc;
}
