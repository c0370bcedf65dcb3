/*
 * appt.c - resources, slots, appointments and a technician's day (see
 * appt.h).
 */
#include "care/appt.h"

#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/time.h"
#include "care/care.h"
#include "store/dbjson.h"

#define DAY_US (86400LL * 1000000LL)

static const char *const resource_kinds[] = {"room", "chair", "device"};

#define RES_COLS                                                                                   \
    "SELECT r.code, r.kind, r.name, a.tag, r.created_at, r.created_by FROM care_resources r"       \
    " LEFT JOIN assets a ON a.id = r.asset_id"
#define SLOT_COLS                                                                                  \
    "SELECT s.id, s.resource_code, s.starts_at, s.ends_at, u.username, (SELECT COUNT(*) FROM"      \
    " care_appointments p WHERE p.slot_id = s.id AND p.status <> 'cancelled') FROM care_slots s"   \
    " LEFT JOIN users u ON u.id = s.technician_id"
#define APPT_COLS                                                                                  \
    "SELECT a.id, a.slot_id, s.resource_code, s.starts_at, s.ends_at, a.patient_id, t.mrn,"        \
    " t.family, t.given, a.reason, a.status, a.booked_at, a.booked_by, a.changed_at,"              \
    " a.changed_by, a.cancel_reason FROM care_appointments a JOIN care_slots s ON s.id ="          \
    " a.slot_id JOIN patients t ON t.id = a.patient_id"

static const char sql_res_one[] = RES_COLS " WHERE r.code = ?";
static const char sql_res_list[] = RES_COLS " ORDER BY r.code LIMIT 500";
static const char sql_res_insert[] =
    "INSERT INTO care_resources (code, kind, name, asset_id, created_at, created_by)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_slot_one[] = SLOT_COLS " WHERE s.id = ?";
static const char sql_slots_of[] = SLOT_COLS " WHERE s.resource_code = ? AND s.starts_at >= ?"
                                             " AND s.starts_at < ? ORDER BY s.starts_at LIMIT 1000";
static const char sql_overlap[] = "SELECT COUNT(*) FROM care_slots WHERE resource_code = ? AND"
                                  " starts_at < ? AND ends_at > ?";
static const char sql_slot_insert[] =
    "INSERT INTO care_slots (id, resource_code, starts_at, ends_at, technician_id, created_at,"
    " created_by) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_appt_one[] = APPT_COLS " WHERE a.id = ?";
static const char sql_appt_insert[] =
    "INSERT INTO care_appointments (id, slot_id, patient_id, reason, status, booked_at,"
    " booked_by) VALUES (?, ?, ?, ?, 'booked', ?, ?)";
static const char sql_appt_change[] =
    "UPDATE care_appointments SET status = ?, changed_at = ?, changed_by = ?, cancel_reason = ?"
    " WHERE id = ? AND status = 'booked'";
static const char sql_day[] =
    "SELECT s.id, s.resource_code, r.name, s.starts_at, s.ends_at, a.id, a.status, a.reason,"
    " t.id, t.mrn, t.family, t.given FROM care_slots s JOIN care_resources r ON r.code ="
    " s.resource_code LEFT JOIN care_appointments a ON a.slot_id = s.id AND a.status <>"
    " 'cancelled' LEFT JOIN patients t ON t.id = a.patient_id WHERE s.technician_id = ? AND"
    " s.starts_at >= ? AND s.starts_at < ? ORDER BY s.starts_at, s.resource_code LIMIT 1000";

/* ---- rows ---- */

static json_t *res_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:s}", "code", db_col_text(st, 0), "kind",
                     db_col_text(st, 1), "name", db_col_text(st, 2), "device",
                     db_col_json_text(st, 3), "created_at", db_col_json_time(st, 4), "created_by",
                     db_col_text(st, 5));
}

static json_t *slot_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:b}", "id", db_col_text(st, 0), "resource",
                     db_col_text(st, 1), "starts_at", db_col_json_time(st, 2), "ends_at",
                     db_col_json_time(st, 3), "technician", db_col_json_text(st, 4), "booked",
                     db_col_int64(st, 5) > 0);
}

/* A patient of a row (id, MRN, family, given at col..col+3) as JSON. */
static json_t *patient_at(db_stmt *st, int col)
{
    char name[2 * 64 + 3];
    snprintf(name, sizeof(name), "%s, %s", db_col_text(st, col + 2), db_col_text(st, col + 3));
    return json_pack("{s:s,s:s,s:s}", "id", db_col_text(st, col), "mrn", db_col_text(st, col + 1),
                     "name", name);
}

static json_t *appt_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:s,s:o,s:s,s:o,s:o,s:o}", "id",
                     db_col_text(st, 0), "slot_id", db_col_text(st, 1), "resource",
                     db_col_text(st, 2), "starts_at", db_col_json_time(st, 3), "ends_at",
                     db_col_json_time(st, 4), "patient", patient_at(st, 5), "reason",
                     db_col_text(st, 9), "status", db_col_text(st, 10), "booked_at",
                     db_col_json_time(st, 11), "booked_by", db_col_text(st, 12), "changed_at",
                     db_col_json_time(st, 13), "changed_by", db_col_json_text(st, 14),
                     "cancel_reason", db_col_json_text(st, 15));
}

static json_t *day_row(db_stmt *st)
{
    json_t *appt = db_col_null(st, 5) ? json_null()
                                      : json_pack("{s:s,s:s,s:s,s:o}", "id", db_col_text(st, 5),
                                                  "status", db_col_text(st, 6), "reason",
                                                  db_col_text(st, 7), "patient", patient_at(st, 8));
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "slot_id", db_col_text(st, 0), "resource",
                     db_col_text(st, 1), "resource_name", db_col_text(st, 2), "starts_at",
                     db_col_json_time(st, 3), "ends_at", db_col_json_time(st, 4), "appointment",
                     appt);
}

/* The UTC day of date (YYYY-MM-DD) as [from, from + a day); ERR_INVALID
 * naming field otherwise. */
static err_t day_range(const char *date, const char *field, int64_t *from, errinfo *ei)
{
    err_t rc = care_date(date, field, false, ei);
    if (!rc)
        *from = care_date_diff("1970-01-01", date) * DAY_US;
    return rc;
}

/* ---- resources ---- */

static const jsonv_field res_fields[] = {
    {"code", JSONV_STRING, true, CARE_CODE_MAX},
    {"kind", JSONV_STRING, true, 16},
    {"name", JSONV_STRING, true, CARE_TEXT_MAX},
    {"device", JSONV_STRING, false, EQUIP_TAG_MAX},
};

err_t care_resource_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei)
{
    char asset_id[ID_LEN + 1] = "";
    *out = NULL;
    err_t rc = jsonv_check(body, res_fields, CARE_NFIELDS(res_fields), ei);
    const char *code = jsonv_str(body, "code"), *kind = jsonv_str(body, "kind");
    const char *name = jsonv_str(body, "name"), *device = jsonv_str(body, "device");
    if (!rc && !equip_name_valid(code))
        rc =
            err_set(ei, ERR_INVALID, "code",
                    "code: 1 to %d letters, digits, '-', '_' or '.' (DRAW-CHAIR-2)", EQUIP_TAG_MAX);
    if (!rc)
        rc = care_enum(kind, resource_kinds, CARE_NFIELDS(resource_kinds), "kind", ei);
    if (!rc)
        rc = care_text(name, "name", ei);
    bool is_device = !rc && !strcmp(kind, "device");
    if (!rc && is_device != (device != NULL))
        rc = err_set(ei, is_device ? ERR_MISSING_FIELD : ERR_INVALID, "device", "device: %s",
                     is_device ? "a device resource names its asset's tag"
                               : "only a device resource names an asset");
    if (!rc && device)
        rc = care_asset(d, device, "device", NULL, 0, asset_id, NULL, ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_res_insert, "ttttit", code, kind, name, device ? asset_id : NULL,
                time_now_us(), care_actor(ctx));
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "code", "a resource has code %s already", code);
    if (!rc)
        rc = care_audit(d, ctx, "care.resource.create", "resource", code,
                        json_pack("{s:s,s:s,s:s?}", "kind", kind, "name", name, "device", device),
                        ei);
    if (!rc)
        rc = care_get(d, sql_res_one, code, res_row, out, "code", "the resource is gone", ei);
    return care_finish(d, rc, out, ei);
}

err_t care_resource_list(db *d, json_t **items, errinfo *ei)
{
    return care_list(d, sql_res_list, res_row, items, ei);
}

/* ---- slots ---- */

static const jsonv_field slot_fields[] = {
    {"resource", JSONV_STRING, true, CARE_CODE_MAX},
    {"start", JSONV_STRING, true, 40},
    {"end", JSONV_STRING, true, 40},
    {"minutes", JSONV_INT, true, 0},
    {"technician", JSONV_STRING, false, USER_NAME_MAX},
};

/* A time of body's field into *at (ERR_INVALID naming it). */
static err_t time_of(const json_t *body, const char *field, int64_t *at, errinfo *ei)
{
    const char *v = jsonv_str(body, field);
    errinfo e2 = {0};
    if (time_parse_iso(v, strlen(v), at, &e2))
        return err_set(ei, ERR_INVALID, field, "%s: %s", field, e2.message);
    return ERR_OK;
}

err_t care_slots_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    int64_t start = 0, end = 0, now = time_now_us(), known = 0;
    json_t *made = NULL;
    user tech;
    *out = NULL;
    err_t rc = jsonv_check(body, slot_fields, CARE_NFIELDS(slot_fields), ei);
    const char *resource = jsonv_str(body, "resource"), *technician = jsonv_str(body, "technician");
    json_int_t minutes = json_integer_value(json_object_get(body, "minutes"));
    if (!rc)
        rc = time_of(body, "start", &start, ei);
    if (!rc)
        rc = time_of(body, "end", &end, ei);
    if (!rc && (minutes < 5 || minutes > 480))
        rc = err_set(ei, ERR_INVALID, "minutes", "minutes must be from 5 to 480");
    int64_t step = minutes * 60 * 1000000LL;
    if (!rc && end < start + step)
        rc = err_set(ei, ERR_INVALID, "end", "end must leave room for a slot after start");
    if (!rc && end <= now)
        rc = err_set(ei, ERR_INVALID, "end", "end is past: slots are for what is to come");
    if (!rc && (end - start) / step > CARE_SLOTS_MAX)
        rc = err_set(ei, ERR_INVALID, "end", "at most %d slots at once", CARE_SLOTS_MAX);
    if (!rc)
        rc = care_count(d, "SELECT COUNT(*) FROM care_resources WHERE code = ?", &resource, 1,
                        &known, ei);
    if (!rc && !known)
        rc = err_set(ei, ERR_INVALID, "resource", "resource: none has code %.32s", resource);
    if (!rc && technician)
        rc = care_user(d, technician, "technician", &tech, ei);
    if (!rc && technician && (tech.role == ROLE_INTERFACE || tech.role == ROLE_CLINICIAN))
        rc =
            err_set(ei, ERR_INVALID, "technician", "technician: %s is not bench staff", technician);
    if (!rc && !(made = json_array()))
        rc = ERR_NOMEM;
    if (!rc)
        rc = db_begin(d, ei);
    if (rc) {
        json_decref(made);
        return rc;
    }
    for (int64_t at = start; !rc && at + step <= end; at += step) {
        db_stmt *st = NULL;
        bool row = false;
        char id[ID_LEN + 1];
        rc = db_query(d, &st, ei, sql_overlap, "tii", resource, at + step, at);
        if (!rc)
            rc = db_step(st, &row, ei);
        if (!rc && row && db_col_int64(st, 0) > 0) {
            char iso[TIME_ISO_LEN];
            time_format_iso(at, iso);
            rc = err_set(ei, ERR_CONFLICT, "start",
                         "the slot at %s would overlap one of %s on record", iso, resource);
        }
        db_finalize(st);
        id_new(id);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_slot_insert, "ttiitit", id, resource, at, at + step,
                        technician ? tech.id : NULL, now, care_actor(ctx));
        if (!rc) {
            json_t *s = NULL;
            st = NULL;
            rc = care_get(d, sql_slot_one, id, slot_row, &s, "id", "the slot is gone", ei);
            if (!rc)
                json_array_append_new(made, s);
        }
    }
    if (!rc)
        rc = care_audit(d, ctx, "care.slots.create", "resource", resource,
                        json_pack("{s:s,s:s,s:I,s:I,s:s?}", "start", jsonv_str(body, "start"),
                                  "end", jsonv_str(body, "end"), "minutes", minutes, "slots",
                                  (json_int_t)json_array_size(made), "technician", technician),
                        ei);
    if (!rc && !(*out = json_pack("{s:O}", "items", made)))
        rc = ERR_NOMEM;
    json_decref(made);
    return care_finish(d, rc, out, ei);
}

err_t care_slots_list(db *d, const char *resource, const char *date, bool free_only, json_t **items,
                      errinfo *ei)
{
    db_stmt *st = NULL;
    int64_t from = 0, now = time_now_us();
    json_t *all = NULL, *kept = NULL, *s;
    size_t i;
    *items = NULL;
    err_t rc = day_range(date, "date", &from, ei);
    if (!rc)
        rc = db_query(d, &st, ei, sql_slots_of, "tii", resource, from, from + DAY_US);
    rc = db_rows_json(rc, st, slot_row, &all, ei);
    if (rc || !free_only) {
        *items = all;
        return rc;
    }
    if (!(kept = json_array())) {
        json_decref(all);
        return ERR_NOMEM;
    }
    json_array_foreach(all, i, s)
    {
        int64_t ends = 0;
        const char *e = jsonv_str(s, "ends_at");
        time_parse_iso(e, strlen(e), &ends, NULL);
        if (!json_is_true(json_object_get(s, "booked")) && ends > now)
            json_array_append(kept, s);
    }
    json_decref(all);
    *items = kept;
    return ERR_OK;
}

/* ---- appointments ---- */

static const jsonv_field book_fields[] = {
    {"slot", JSONV_STRING, true, 64},
    {"patient_id", JSONV_STRING, true, 64},
    {"reason", JSONV_STRING, true, CARE_TEXT_MAX},
};

err_t care_appointment_book(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                            errinfo *ei)
{
    json_t *slot = NULL;
    char id[ID_LEN + 1];
    int64_t now = time_now_us(), ends = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, book_fields, CARE_NFIELDS(book_fields), ei);
    const char *slot_id = jsonv_str(body, "slot"), *patient = jsonv_str(body, "patient_id");
    const char *reason = jsonv_str(body, "reason");
    if (!rc)
        rc = care_text(reason, "reason", ei);
    if (!rc)
        rc = care_patient(d, patient, "patient_id", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = care_get(d, sql_slot_one, slot_id, slot_row, &slot, "slot", "slot: there is no such slot",
                  ei);
    if (rc == ERR_NOT_FOUND)
        rc = err_set(ei, ERR_INVALID, "slot", "slot: no slot has id %.40s", slot_id);
    if (!rc) {
        const char *e = jsonv_str(slot, "ends_at");
        time_parse_iso(e, strlen(e), &ends, NULL);
    }
    if (!rc && json_is_true(json_object_get(slot, "booked")))
        rc = err_set(ei, ERR_CONFLICT, "slot", "the slot at %s on %s is booked already",
                     jsonv_str(slot, "starts_at"), jsonv_str(slot, "resource"));
    else if (!rc && ends <= now)
        rc = err_set(ei, ERR_CONFLICT, "slot", "the slot at %s is over",
                     jsonv_str(slot, "starts_at"));
    id_new(id);
    if (!rc) {
        rc = db_run(d, ei, NULL, sql_appt_insert, "ttttit", id, slot_id, patient, reason, now,
                    care_actor(ctx));
        if (rc == ERR_CONFLICT) /* the slot's one appointment, booked meanwhile */
            rc = err_set(ei, ERR_CONFLICT, "slot", "the slot was booked meanwhile");
    }
    if (!rc)
        rc = care_audit(
            d, ctx, "care.appointment.book", "patient", patient,
            json_pack("{s:s,s:s,s:O}", "appointment", id, "reason", reason, "slot", slot), ei);
    json_decref(slot);
    if (!rc)
        rc = care_get(d, sql_appt_one, id, appt_row, out, "id", "the appointment is gone", ei);
    return care_finish(d, rc, out, ei);
}

static const jsonv_field cancel_fields[] = {
    {"reason", JSONV_STRING, true, CARE_NOTE_MAX},
};

/* Whether a booked appointment may become to at now; why not into ei. */
static err_t change_allowed(const json_t *appt, const char *to, int64_t now, errinfo *ei)
{
    int64_t starts = 0, ends = 0;
    const char *s = jsonv_str(appt, "starts_at"), *e = jsonv_str(appt, "ends_at");
    time_parse_iso(s, strlen(s), &starts, NULL);
    time_parse_iso(e, strlen(e), &ends, NULL);
    if (strcmp(jsonv_str(appt, "status"), "booked"))
        return err_set(ei, ERR_CONFLICT, "id", "the appointment is %s, not booked",
                       jsonv_str(appt, "status"));
    if (!strcmp(to, "checked-in") && now < starts - CARE_CHECKIN_EARLY_US)
        return err_set(ei, ERR_CONFLICT, "id",
                       "check-in opens two hours before the appointment (%s)", s);
    if (!strcmp(to, "checked-in") && now >= ends)
        return err_set(ei, ERR_CONFLICT, "id",
                       "the appointment ended at %s: mark it a no-show or book again", e);
    if (!strcmp(to, "no-show") && now < starts)
        return err_set(ei, ERR_CONFLICT, "id",
                       "the appointment has not started yet (%s): the patient may still come", s);
    return ERR_OK;
}

err_t care_appointment_change(db *d, const audit_ctx *ctx, const char *id, const char *to,
                              const json_t *body, json_t **out, errinfo *ei)
{
    json_t *appt = NULL;
    int64_t now = time_now_us(), changed = 0;
    char action[48];
    bool cancel = !strcmp(to, "cancelled");
    *out = NULL;
    err_t rc = cancel ? jsonv_check(body, cancel_fields, 1, ei) : jsonv_check(body, NULL, 0, ei);
    const char *reason = cancel ? jsonv_str(body, "reason") : NULL;
    if (!rc)
        rc = care_text(reason, "reason", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = care_get(d, sql_appt_one, id, appt_row, &appt, "id", "no appointment has this id", ei);
    if (!rc)
        rc = change_allowed(appt, to, now, ei);
    if (!rc)
        rc =
            db_run(d, ei, &changed, sql_appt_change, "tittt", to, now, care_actor(ctx), reason, id);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "id", "the appointment changed meanwhile");
    snprintf(action, sizeof(action), "care.appointment.%s", to);
    if (!rc)
        rc =
            care_audit(d, ctx, action, "patient", jsonv_str(json_object_get(appt, "patient"), "id"),
                       json_pack("{s:s,s:s?}", "appointment", id, "reason", reason), ei);
    json_decref(appt);
    if (!rc)
        rc = care_get(d, sql_appt_one, id, appt_row, out, "id", "the appointment is gone", ei);
    return care_finish(d, rc, out, ei);
}

err_t care_day(db *d, const char *technician, const char *date, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    json_t *slots = NULL;
    int64_t from = 0;
    user u;
    *out = NULL;
    err_t rc = day_range(date, "date", &from, ei);
    if (!rc)
        rc = care_user(d, technician, "technician", &u, ei);
    if (!rc)
        rc = db_query(d, &st, ei, sql_day, "tii", u.id, from, from + DAY_US);
    if (rc)
        return rc;
    rc = db_rows_json(rc, st, day_row, &slots, ei);
    if (!rc && !(*out = json_pack("{s:s,s:s,s:o}", "technician", u.username, "date", date, "slots",
                                  slots)))
        rc = ERR_NOMEM;
    return rc;
}
