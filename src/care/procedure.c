/*
 * procedure.c - procedures on patients, on the devices of the asset
 * register (see procedure.h).
 */
#include "care/procedure.h"

#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "care/care.h"
#include "store/dbjson.h"

static const char *const modalities[] = {"mri", "ct", "xray", "ultrasound", "ecg", "other"};

#define PROC_COLS                                                                                  \
    "SELECT p.id, p.patient_id, p.modality, p.exam, p.contrast, a.tag, a.class, p.scheduled_at,"   \
    " p.status, p.started_at, p.started_by, p.completed_at, p.completed_by, p.created_at,"         \
    " p.created_by FROM care_procedures p LEFT JOIN assets a ON a.id = p.device_id"

static const char sql_proc_one[] = PROC_COLS " WHERE p.id = ?";
static const char sql_proc_insert[] =
    "INSERT INTO care_procedures (id, patient_id, modality, exam, contrast, device_id,"
    " scheduled_at, status, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, 'scheduled', ?,"
    " ?)";
static const char sql_proc_sets[] =
    "SELECT u.set_code, u.cycle_id, c.cycle_number, a.tag, u.used_at, u.recorded_by"
    " FROM care_set_uses u JOIN care_steril_cycles c ON c.id = u.cycle_id JOIN assets a"
    " ON a.id = c.sterilizer_id WHERE u.procedure_id = ? ORDER BY u.used_at, u.set_code";
static const char sql_proc_head[] = "SELECT patient_id, status FROM care_procedures WHERE id = ?";

static json_t *proc_row(db_stmt *st)
{
    json_t *device = db_col_null(st, 5) ? json_null()
                                        : json_pack("{s:s,s:s}", "tag", db_col_text(st, 5), "class",
                                                    db_col_text(st, 6));
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:s}", "id", db_col_text(st, 0),
        "patient_id", db_col_text(st, 1), "modality", db_col_text(st, 2), "exam",
        db_col_text(st, 3), "contrast", db_col_int64(st, 4) != 0, "device", device, "scheduled_at",
        db_col_json_time(st, 7), "status", db_col_text(st, 8), "started_at",
        db_col_json_time(st, 9), "started_by", db_col_json_text(st, 10), "completed_at",
        db_col_json_time(st, 11), "completed_by", db_col_json_text(st, 12), "created_at",
        db_col_json_time(st, 13), "created_by", db_col_text(st, 14));
}

static json_t *set_use_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:I,s:s,s:o,s:s}", "set", db_col_text(st, 0), "cycle_id",
                     db_col_text(st, 1), "cycle_number", (json_int_t)db_col_int64(st, 2),
                     "sterilizer", db_col_text(st, 3), "used_at", db_col_json_time(st, 4),
                     "recorded_by", db_col_text(st, 5));
}

err_t care_procedure_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    json_t *sets = NULL;
    err_t rc = db_query(d, &st, ei, sql_proc_one, "t", id);
    rc = care_one(rc, st, proc_row, out, "id", "no procedure has this id", ei);
    if (!rc) {
        rc = db_query(d, &st, ei, sql_proc_sets, "t", id);
        rc = care_collect(rc, st, set_use_row, &sets, ei);
    }
    if (!rc && json_object_set_new(*out, "sets", sets))
        rc = ERR_NOMEM;
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t care_procedure_of(db *d, const char *id, const char *field, char patient_id[ID_LEN + 1],
                        char status[16], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_proc_head, "t", id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_INVALID, field, "%s: no procedure has id %.40s", field, id);
    if (!rc) {
        snprintf(patient_id, ID_LEN + 1, "%s", db_col_text(st, 0));
        snprintf(status, 16, "%s", db_col_text(st, 1));
    }
    db_finalize(st);
    return rc;
}

static const jsonv_field proc_fields[] = {
    {"patient_id", JSONV_STRING, true, 64},
    {"modality", JSONV_STRING, true, CARE_MODALITY_MAX},
    {"exam", JSONV_STRING, true, CARE_TEXT_MAX},
    {"device", JSONV_STRING, false, EQUIP_TAG_MAX},
    {"scheduled_at", JSONV_STRING, true, 40},
    {"contrast", JSONV_BOOL, false, 0},
};

err_t care_procedure_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                            errinfo *ei)
{
    char id[ID_LEN + 1], device_id[ID_LEN + 1] = "";
    int64_t at = 0;
    errinfo e2 = {0};
    *out = NULL;
    err_t rc = jsonv_check(body, proc_fields, CARE_NFIELDS(proc_fields), ei);
    const char *patient = jsonv_str(body, "patient_id"), *modality = jsonv_str(body, "modality");
    const char *exam = jsonv_str(body, "exam"), *device = jsonv_str(body, "device");
    const char *when = jsonv_str(body, "scheduled_at");
    bool contrast = json_is_true(json_object_get(body, "contrast"));
    if (!rc)
        rc = care_enum(modality, modalities, CARE_NFIELDS(modalities), "modality", ei);
    if (!rc)
        rc = care_text(exam, "exam", ei);
    if (!rc && time_parse_iso(when, strlen(when), &at, &e2))
        rc = err_set(ei, ERR_INVALID, "scheduled_at", "scheduled_at: %s", e2.message);
    bool other = !rc && !strcmp(modality, "other");
    if (!rc && !device && !other)
        rc = err_set(ei, ERR_MISSING_FIELD, "device",
                     "device: a %s is done on a device of the asset register (its tag)", modality);
    if (!rc && device)
        rc = care_asset(d, device, "device", other ? NULL : &modality, other ? 0 : 1, device_id,
                        NULL, ei);
    if (!rc)
        rc = care_patient(d, patient, "patient_id", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    id_new(id);
    rc = db_run(d, ei, NULL, sql_proc_insert, "ttttitiit", id, patient, modality, exam,
                (int64_t)contrast, device ? device_id : NULL, at, time_now_us(), care_actor(ctx));
    if (!rc)
        rc = care_audit(d, ctx, "care.procedure.create", "patient", patient,
                        json_pack("{s:s,s:s,s:s,s:s?}", "procedure", id, "modality", modality,
                                  "exam", exam, "device", device),
                        ei);
    if (!rc)
        rc = care_procedure_get(d, id, out, ei);
    return care_finish(d, rc, out, ei);
}
