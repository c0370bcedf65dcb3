/*
 * procedure.c - procedures on patients, on the devices of the asset
 * register (see procedure.h).
 */
#include "care/procedure.h"

#include <stdio.h>
#include <string.h>

#include "base/str.h"
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

/* ---- the preparation checklist ---- */

/* What an answer does: nothing, ask for a note, or stop the procedure. */
enum { PREP_OK = 'o', PREP_NOTE = 'n', PREP_STOP = 's' };

static const struct prep_item {
    const char *modalities; /* space-separated; NULL: every modality */
    const char *item, *question;
    bool contrast_only; /* asked only when a contrast medium is given */
    struct {
        const char *value;
        char effect;
    } answers[3];      /* none: a number is asked for (value) */
    double stop_below; /* a number below this stops the procedure */
    const char *stops; /* why the stopping answer stops it */
} checklist[] = {
    {NULL,
     "identity",
     "Patient identity confirmed with two identifiers?",
     false,
     {{"yes", PREP_OK}, {"no", PREP_STOP}},
     0,
     "the patient's identity is not confirmed"},
    {"mri",
     "pacemaker",
     "Pacemaker, ICD or other active implanted device?",
     false,
     {{"no", PREP_OK}, {"mr-conditional", PREP_NOTE}, {"yes", PREP_STOP}},
     0,
     "an active implanted device that is not MR-conditional"},
    {"mri",
     "implants",
     "Other implants, clips, stents or prostheses (name them and their MR status)?",
     false,
     {{"no", PREP_OK}, {"yes", PREP_NOTE}},
     0,
     NULL},
    {"mri",
     "metal_fragments",
     "Metal fragments, in the eyes or elsewhere?",
     false,
     {{"no", PREP_OK}, {"yes", PREP_STOP}},
     0,
     "metal fragments in the body"},
    {"mri ct xray",
     "pregnancy",
     "Could the patient be pregnant?",
     false,
     {{"no", PREP_OK}, {"unknown", PREP_NOTE}, {"yes", PREP_NOTE}},
     0,
     NULL},
    {"mri ct",
     "contrast_allergy",
     "Earlier reaction to a contrast medium?",
     true,
     {{"no", PREP_OK}, {"yes", PREP_NOTE}},
     0,
     NULL},
    {"mri ct",
     "egfr",
     "Renal function: eGFR in mL/min/1.73 m2",
     true,
     {{NULL, 0}},
     30,
     "renal function too low for a contrast medium (eGFR under 30)"},
    {"ct", "metformin", "Taking metformin?", true, {{"no", PREP_OK}, {"yes", PREP_NOTE}}, 0, NULL},
    {"ultrasound",
     "preparation",
     "Preparation followed (fasting or a full bladder, as the exam needs)?",
     false,
     {{"yes", PREP_OK}, {"no", PREP_NOTE}},
     0,
     NULL},
    {"ecg",
     "skin",
     "Skin prepared and electrodes at the standard positions?",
     false,
     {{"yes", PREP_OK}, {"no", PREP_STOP}},
     0,
     "the electrodes are not placed"},
    {"ecg",
     "pacemaker",
     "Pacemaker (the tracing is read with it in mind)?",
     false,
     {{"no", PREP_OK}, {"yes", PREP_NOTE}},
     0,
     NULL},
};

#define PREP_ITEMS CARE_NFIELDS(checklist)

/* Whether item applies to a procedure of modality, with contrast or not. */
static bool prep_applies(const struct prep_item *it, const char *modality, bool contrast)
{
    if (it->contrast_only && !contrast)
        return false;
    if (!it->modalities)
        return true;
    size_t n = strlen(modality);
    for (const char *p = strstr(it->modalities, modality); p; p = strstr(p + 1, modality))
        if ((p == it->modalities || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* The effect of an answer (or a number) to item; 0 when it is not one of
 * its answers. */
static char prep_effect(const struct prep_item *it, const char *answer, double value)
{
    if (!it->answers[0].value)
        return value < it->stop_below ? PREP_STOP : PREP_OK;
    for (int k = 0; k < 3 && it->answers[k].value; k++)
        if (answer && !strcmp(answer, it->answers[k].value))
            return it->answers[k].effect;
    return 0;
}

/* The items of a procedure with the answers each takes, as JSON. */
static json_t *checklist_json(const char *modality, bool contrast)
{
    json_t *items = json_array();
    for (size_t i = 0; items && i < PREP_ITEMS; i++) {
        const struct prep_item *it = &checklist[i];
        if (!prep_applies(it, modality, contrast))
            continue;
        json_t *answers = json_array();
        for (int k = 0; answers && k < 3 && it->answers[k].value; k++)
            json_array_append_new(answers, json_string(it->answers[k].value));
        json_array_append_new(items, json_pack("{s:s,s:s,s:o}", "item", it->item, "question",
                                               it->question, "answers", answers));
    }
    return items;
}

static const char sql_prep_of[] =
    "SELECT item, answer, value, note, recorded_at, recorded_by FROM care_prep_answers"
    " WHERE procedure_id = ?";
static const char sql_prep_clear[] = "DELETE FROM care_prep_answers WHERE procedure_id = ?";
static const char sql_prep_insert[] =
    "INSERT INTO care_prep_answers (procedure_id, item, answer, value, note, recorded_at,"
    " recorded_by) VALUES (?, ?, ?, CAST(? AS DOUBLE PRECISION), ?, ?, ?)";

/* The preparation of procedure id into proc's "checklist" and
 * "preparation" (null when none is recorded): each item with its answer
 * and effect, whether complete, and what stops the procedure. */
static err_t preparation_json(db *d, const char *id, json_t *proc, errinfo *ei)
{
    const char *modality = jsonv_str(proc, "modality");
    bool contrast = json_is_true(json_object_get(proc, "contrast"));
    json_t *rows = json_object(), *answers = json_array(), *stops = json_array();
    db_stmt *st = NULL;
    bool row = false, complete = true;
    int64_t at = 0;
    char by[USER_NAME_MAX + 16] = "", iso[TIME_ISO_LEN];
    err_t rc = rows && answers && stops ? db_query(d, &st, ei, sql_prep_of, "t", id) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        json_object_set_new(rows, db_col_text(st, 0),
                            json_pack("{s:o,s:o,s:o}", "answer", db_col_json_text(st, 1), "value",
                                      db_col_json_num(st, 2), "note", db_col_json_text(st, 3)));
        at = db_col_int64(st, 4);
        snprintf(by, sizeof(by), "%s", db_col_text(st, 5));
    }
    db_finalize(st);
    for (size_t i = 0; !rc && i < PREP_ITEMS; i++) {
        const struct prep_item *it = &checklist[i];
        json_t *a = json_object_get(rows, it->item);
        if (!prep_applies(it, modality, contrast))
            continue;
        const char *answer = jsonv_str(a, "answer");
        json_t *value = json_object_get(a, "value");
        char effect = a ? prep_effect(it, answer, json_number_value(value)) : 0;
        complete = complete && effect;
        if (effect == PREP_STOP)
            json_array_append_new(stops, json_string(it->stops));
        json_array_append_new(answers,
                              json_pack("{s:s,s:s,s:O,s:O,s:O,s:o}", "item", it->item, "question",
                                        it->question, "answer",
                                        a ? json_object_get(a, "answer") : json_null(), "value",
                                        a ? value : json_null(), "note",
                                        a ? json_object_get(a, "note") : json_null(), "effect",
                                        !effect ? json_null()
                                                : json_string(effect == PREP_OK     ? "ok"
                                                              : effect == PREP_NOTE ? "note"
                                                                                    : "stop")));
    }
    time_format_iso(at, iso);
    json_t *prep = json_object_size(rows) == 0
                       ? json_null()
                       : json_pack("{s:O,s:b,s:O,s:s,s:s}", "answers", answers, "complete",
                                   complete, "stops", stops, "recorded_at", iso, "recorded_by", by);
    if (!rc && (json_object_set_new(proc, "checklist", checklist_json(modality, contrast)) ||
                json_object_set_new(proc, "preparation", prep)))
        rc = ERR_NOMEM;
    json_decref(rows);
    json_decref(answers);
    json_decref(stops);
    return rc;
}

static const jsonv_field prep_fields[] = {
    {"answers", JSONV_ARRAY, true, PREP_ITEMS},
};
static const jsonv_field answer_fields[] = {
    {"item", JSONV_STRING, true, 32},
    {"answer", JSONV_STRING, false, 32},
    {"value", JSONV_NUMBER, false, 0},
    {"note", JSONV_STRING, false, CARE_NOTE_MAX},
};

/* One answer of a checklist: item i of answers, checked against the items
 * that apply; *which the item it answers. */
static err_t check_answer(const json_t *a, size_t i, const char *modality, bool contrast,
                          const json_t *answers, const struct prep_item **which, errinfo *ei)
{
    char f[48];
    err_t rc = care_item_check(a, "answers", i, answer_fields, CARE_NFIELDS(answer_fields), ei);
    if (rc)
        return rc;
    const char *item = jsonv_str(a, "item"), *answer = jsonv_str(a, "answer");
    const char *note = jsonv_str(a, "note");
    json_t *value = json_object_get(a, "value");
    const struct prep_item *it = NULL;
    if (json_is_null(value)) /* null is as good as absent */
        value = NULL;
    for (size_t k = 0; k < PREP_ITEMS && !it; k++)
        if (!strcmp(checklist[k].item, item) && prep_applies(&checklist[k], modality, contrast))
            it = &checklist[k];
    snprintf(f, sizeof(f), "answers[%zu].item", i);
    if (!it)
        return err_set(ei, ERR_INVALID, f, "%s: %.32s is not an item of this checklist", f, item);
    for (size_t k = 0; k < i; k++)
        if (!strcmp(jsonv_str(json_array_get(answers, k), "item"), item))
            return err_set(ei, ERR_INVALID, f, "%s: %s is answered twice", f, item);
    if (!it->answers[0].value) {
        snprintf(f, sizeof(f), "answers[%zu].value", i);
        if (!json_is_number(value) || answer)
            return err_set(ei, ERR_INVALID, f, "%s: %s is answered with a number (value)", f, item);
        if (!(json_number_value(value) >= 0 && json_number_value(value) <= 200))
            return err_set(ei, ERR_INVALID, f, "%s: %s must be from 0 to 200", f, item);
    } else {
        snprintf(f, sizeof(f), "answers[%zu].answer", i);
        if (value || !prep_effect(it, answer, 0)) {
            char list[80] = "";
            for (int k = 0; k < 3 && it->answers[k].value; k++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
                         it->answers[k].value);
            return err_set(ei, ERR_INVALID, f, "%s: %s is answered %s", f, item, list);
        }
    }
    snprintf(f, sizeof(f), "answers[%zu].note", i);
    if (prep_effect(it, answer, json_number_value(value)) == PREP_NOTE && !note)
        return err_set(ei, ERR_INVALID, f, "%s: %s %s needs a note saying what", f, item, answer);
    rc = care_text(note, f, ei);
    *which = it;
    return rc;
}

err_t care_procedure_prepare(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                             json_t **out, errinfo *ei)
{
    json_t *proc = NULL, *a;
    size_t i;
    int64_t now = time_now_us();
    *out = NULL;
    err_t rc = jsonv_check(body, prep_fields, CARE_NFIELDS(prep_fields), ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = care_procedure_get(d, id, &proc, ei);
    const char *modality = jsonv_str(proc, "modality");
    bool contrast = json_is_true(json_object_get(proc, "contrast"));
    const json_t *answers = json_object_get(body, "answers");
    if (!rc && strcmp(jsonv_str(proc, "status"), "scheduled"))
        rc = err_set(ei, ERR_CONFLICT, "id", "the procedure is %s: its preparation is done",
                     jsonv_str(proc, "status"));
    json_array_foreach(answers, i, a)
    {
        const struct prep_item *it = NULL;
        if (!rc)
            rc = check_answer(a, i, modality, contrast, answers, &it, ei);
    }
    /* every item that applies is answered */
    for (size_t k = 0; !rc && k < PREP_ITEMS; k++) {
        bool found = false;
        if (!prep_applies(&checklist[k], modality, contrast))
            continue;
        json_array_foreach(answers, i, a) found =
            found || !strcmp(jsonv_str(a, "item"), checklist[k].item);
        if (!found)
            rc = err_set(ei, ERR_INVALID, "answers", "answers: the %s checklist is missing %s: %s",
                         modality, checklist[k].item, checklist[k].question);
    }
    if (!rc)
        rc = db_run(d, ei, NULL, sql_prep_clear, "t", id);
    json_array_foreach(answers, i, a)
    {
        char num[DB_NUM_TEXT];
        json_t *v = json_object_get(a, "value");
        if (!rc)
            rc = db_run(d, ei, NULL, sql_prep_insert, "tttttit", id, jsonv_str(a, "item"),
                        jsonv_str(a, "answer"),
                        db_num_text(json_is_number(v), json_number_value(v), num),
                        jsonv_str(a, "note"), now, care_actor(ctx));
    }
    json_decref(proc);
    proc = NULL;
    if (!rc)
        rc = care_procedure_get(d, id, out, ei);
    if (!rc)
        rc = care_audit(d, ctx, "care.procedure.prepare", "patient", jsonv_str(*out, "patient_id"),
                        json_pack("{s:s,s:O,s:O}", "procedure", id, "complete",
                                  json_object_get(json_object_get(*out, "preparation"), "complete"),
                                  "stops",
                                  json_object_get(json_object_get(*out, "preparation"), "stops")),
                        ei);
    return care_finish(d, rc, out, ei);
}

static err_t dose_of(db *d, const char *id, json_t *proc, errinfo *ei);

err_t care_procedure_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    err_t rc = care_get_with_lines(d, sql_proc_one, id, proc_row, "no procedure has this id",
                                   sql_proc_sets, set_use_row, "sets", out, ei);
    if (!rc)
        rc = preparation_json(d, id, *out, ei);
    if (!rc)
        rc = dose_of(d, id, *out, ei);
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

/* A CT or radiography exam has a reference level of its modality: its
 * dose is judged against it. */
static err_t dosed_exam(db *d, const char *modality, const char *exam, errinfo *ei)
{
    const char *args[] = {exam, modality};
    int64_t n = 0;
    err_t rc = care_count(d, "SELECT COUNT(*) FROM care_drls WHERE exam = ? AND modality = ?", args,
                          2, &n, ei);
    if (!rc && n == 0)
        rc = err_set(ei, ERR_INVALID, "exam",
                     "exam: %.40s has no diagnostic reference level for %s (GET "
                     "/api/v1/care/drls lists them; a supervisor sets new ones)",
                     exam, modality);
    return rc;
}

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
    if (!rc && (!strcmp(modality, "ct") || !strcmp(modality, "xray")))
        rc = dosed_exam(d, modality, exam, ei);
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

/* ---- the course of a procedure ---- */

static const char sql_status[] =
    "UPDATE care_procedures SET status = ?, started_at = COALESCE(CAST(? AS BIGINT), started_at),"
    " started_by = COALESCE(CAST(? AS TEXT), started_by), completed_at = COALESCE(CAST(? AS"
    " BIGINT), completed_at), completed_by = COALESCE(CAST(? AS TEXT), completed_by) WHERE id = ?"
    " AND status = ?";

/* Move procedure id from status from to to (the times and who are set for
 * in-progress and completed); the procedure (before) into *proc. */
static err_t move(db *d, const audit_ctx *ctx, const char *id, const char *from, const char *to,
                  json_t **proc, errinfo *ei)
{
    char now[24];
    int64_t changed = 0;
    bool start = !strcmp(to, "in-progress"), done = !strcmp(to, "completed");
    snprintf(now, sizeof(now), "%lld", (long long)time_now_us());
    err_t rc = db_run(d, ei, &changed, sql_status, "ttttttt", to, start ? now : NULL,
                      start ? care_actor(ctx) : NULL, done ? now : NULL,
                      done ? care_actor(ctx) : NULL, id, from);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "id", "the procedure is %s, not %s",
                     jsonv_str(*proc, "status"), from);
    return rc;
}

/* Begin a transition: the procedure into *proc inside a new transaction. */
static err_t begin_on(db *d, const char *id, json_t **proc, errinfo *ei)
{
    *proc = NULL;
    err_t rc = db_begin(d, ei);
    if (!rc)
        rc = care_procedure_get(d, id, proc, ei);
    if (rc)
        db_rollback(d);
    return rc;
}

/* Audit a transition and answer with the procedure as it is now. */
static err_t end_on(db *d, const audit_ctx *ctx, const char *id, const char *action, err_t rc,
                    json_t *proc, json_t *detail, json_t **out, errinfo *ei)
{
    if (!rc)
        rc = care_audit(d, ctx, action, "patient", jsonv_str(proc, "patient_id"), detail, ei);
    else
        json_decref(detail);
    json_decref(proc);
    if (!rc)
        rc = care_procedure_get(d, id, out, ei);
    return care_finish(d, rc, out, ei);
}

static const jsonv_field note_fields[] = {
    {"note", JSONV_STRING, false, CARE_NOTE_MAX},
};

/* The beginning of a step with an optional note: the note checked, then
 * the procedure in a new transaction (begin_on). */
static err_t step_begin(db *d, const char *id, const json_t *body, const char **note, json_t **proc,
                        errinfo *ei)
{
    err_t rc = jsonv_check(body, note_fields, CARE_NFIELDS(note_fields), ei);
    *note = jsonv_str(body, "note");
    *proc = NULL;
    if (!rc)
        rc = care_text(*note, "note", ei);
    if (!rc)
        rc = begin_on(d, id, proc, ei);
    return rc;
}

err_t care_procedure_start(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                           json_t **out, errinfo *ei)
{
    json_t *proc = NULL;
    char device_id[ID_LEN + 1];
    const char *note = NULL;
    *out = NULL;
    err_t rc = step_begin(d, id, body, &note, &proc, ei);
    if (rc)
        return rc;
    json_t *prep = json_object_get(proc, "preparation");
    json_t *stops = json_object_get(prep, "stops");
    const char *device = jsonv_str(json_object_get(proc, "device"), "tag");
    if (!strcmp(jsonv_str(proc, "status"), "scheduled") && json_is_null(prep))
        rc = err_set(ei, ERR_CONFLICT, "id",
                     "the preparation checklist is not recorded: the procedure does not start");
    else if (!strcmp(jsonv_str(proc, "status"), "scheduled") && json_array_size(stops))
        rc = err_set(ei, ERR_CONFLICT, "id", "the procedure does not start: %s",
                     json_string_value(json_array_get(stops, 0)));
    if (!rc && device) {
        errinfo e2 = {0};
        if (care_asset(d, device, "device", NULL, 0, device_id, NULL, &e2))
            rc = err_set(ei, ERR_CONFLICT, "id", "the procedure does not start: %s", e2.message);
    }
    if (!rc)
        rc = move(d, ctx, id, "scheduled", "in-progress", &proc, ei);
    return end_on(d, ctx, id, "care.procedure.start", rc, proc,
                  json_pack("{s:s,s:s?}", "procedure", id, "note", note), out, ei);
}

err_t care_procedure_complete(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                              json_t **out, errinfo *ei)
{
    json_t *proc = NULL;
    const char *note = NULL;
    *out = NULL;
    err_t rc = step_begin(d, id, body, &note, &proc, ei);
    if (rc)
        return rc;
    const char *modality = jsonv_str(proc, "modality");
    if (!strcmp(jsonv_str(proc, "status"), "in-progress") &&
        (!strcmp(modality, "ct") || !strcmp(modality, "xray")) &&
        json_is_null(json_object_get(proc, "dose")))
        rc = err_set(ei, ERR_CONFLICT, "id", "record the dose of this %s before completing it",
                     !strcmp(modality, "ct") ? "CT" : "radiograph");
    if (!rc)
        rc = move(d, ctx, id, "in-progress", "completed", &proc, ei);
    return end_on(d, ctx, id, "care.procedure.complete", rc, proc,
                  json_pack("{s:s,s:s?}", "procedure", id, "note", note), out, ei);
}

static const jsonv_field cancel_fields[] = {
    {"reason", JSONV_STRING, true, CARE_NOTE_MAX},
};

err_t care_procedure_cancel(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                            json_t **out, errinfo *ei)
{
    json_t *proc = NULL;
    *out = NULL;
    err_t rc = jsonv_check(body, cancel_fields, CARE_NFIELDS(cancel_fields), ei);
    const char *reason = jsonv_str(body, "reason");
    if (!rc)
        rc = care_text(reason, "reason", ei);
    if (!rc)
        rc = begin_on(d, id, &proc, ei);
    if (rc)
        return rc;
    rc = move(d, ctx, id, "scheduled", "cancelled", &proc, ei);
    return end_on(d, ctx, id, "care.procedure.cancel", rc, proc,
                  json_pack("{s:s,s:s}", "procedure", id, "reason", reason), out, ei);
}

/* ---- dose and reference levels ---- */

#define DOSE_COLS                                                                                  \
    "SELECT d.ctdivol, d.dlp, d.dap, d.drl_ctdivol, d.drl_dlp, d.drl_dap, d.drl_source,"           \
    " d.above_drl, d.recorded_at, d.recorded_by, d.reviewed_at, d.reviewed_by, d.review_note,"     \
    " p.exam, p.id, p.modality, t.id, t.mrn, t.family, t.given FROM care_doses d"                  \
    " JOIN care_procedures p ON p.id = d.procedure_id JOIN patients t ON t.id = p.patient_id"
#define DRL_COLS                                                                                   \
    "SELECT exam, modality, name, ctdivol, dlp, dap, source, updated_at, updated_by FROM "         \
    "care_drls"

static const char sql_dose_one[] = DOSE_COLS " WHERE d.procedure_id = ?";
static const char sql_dose_list[] = DOSE_COLS " WHERE (? = 0 OR (d.above_drl = 1 AND"
                                              " d.reviewed_at IS NULL)) ORDER BY d.recorded_at DESC"
                                              " LIMIT 500";
static const char sql_dose_insert[] =
    "INSERT INTO care_doses (procedure_id, ctdivol, dlp, dap, drl_ctdivol, drl_dlp, drl_dap,"
    " drl_source, above_drl, recorded_at, recorded_by) VALUES (?, CAST(? AS DOUBLE PRECISION),"
    " CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION),"
    " CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), ?, ?, ?, ?)";
static const char sql_dose_review[] =
    "UPDATE care_doses SET reviewed_at = ?, reviewed_by = ?, review_note = ? WHERE"
    " procedure_id = ? AND above_drl = 1 AND reviewed_at IS NULL";
static const char sql_drl_one[] = DRL_COLS " WHERE exam = ?";
static const char sql_drl_list[] = DRL_COLS " ORDER BY exam LIMIT 500";
static const char sql_drl_delete[] = "DELETE FROM care_drls WHERE exam = ?";
static const char sql_drl_insert[] =
    "INSERT INTO care_drls (exam, modality, name, ctdivol, dlp, dap, source, updated_at,"
    " updated_by) VALUES (?, ?, ?, CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION),"
    " CAST(? AS DOUBLE PRECISION), ?, ?, ?)";

/* The three dose quantities: name, unit, column of the value and of its level. */
static const struct quantity {
    const char *name, *label, *unit;
    int value_col, drl_col;
} quantities[] = {
    {"ctdivol", "CTDIvol", "mGy", 0, 3},
    {"dlp", "DLP", "mGy.cm", 1, 4},
    {"dap", "DAP", "Gy.cm2", 2, 5},
};

static json_t *dose_json(db_stmt *st)
{
    json_t *exceeded = json_array();
    for (size_t q = 0; exceeded && q < CARE_NFIELDS(quantities); q++) {
        const struct quantity *k = &quantities[q];
        char text[120];
        if (db_col_null(st, k->value_col) || db_col_null(st, k->drl_col) ||
            db_col_double(st, k->value_col) <= db_col_double(st, k->drl_col))
            continue;
        snprintf(text, sizeof(text), "%s %g %s is above the %g %s reference level of %s", k->label,
                 db_col_double(st, k->value_col), k->unit, db_col_double(st, k->drl_col), k->unit,
                 db_col_text(st, 13));
        json_array_append_new(exceeded, json_string(text));
    }
    return json_pack("{s:o,s:o,s:o,s:{s:s,s:o,s:o,s:o,s:s},s:b,s:o,s:o,s:s,s:o,s:o,s:o}", "ctdivol",
                     db_col_json_num(st, 0), "dlp", db_col_json_num(st, 1), "dap",
                     db_col_json_num(st, 2), "drl", "exam", db_col_text(st, 13), "ctdivol",
                     db_col_json_num(st, 3), "dlp", db_col_json_num(st, 4), "dap",
                     db_col_json_num(st, 5), "source", db_col_text(st, 6), "above_drl",
                     db_col_int64(st, 7) != 0, "exceeded", exceeded, "recorded_at",
                     db_col_json_time(st, 8), "recorded_by", db_col_text(st, 9), "reviewed_at",
                     db_col_json_time(st, 10), "reviewed_by", db_col_json_text(st, 11),
                     "review_note", db_col_json_text(st, 12));
}

static json_t *dose_row(db_stmt *st)
{
    char name[2 * 64 + 3];
    snprintf(name, sizeof(name), "%s, %s", db_col_text(st, 18), db_col_text(st, 19));
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s},s:o}", "procedure_id", db_col_text(st, 14),
                     "modality", db_col_text(st, 15), "exam", db_col_text(st, 13), "patient", "id",
                     db_col_text(st, 16), "mrn", db_col_text(st, 17), "name", name, "dose",
                     dose_json(st));
}

static json_t *drl_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:o,s:s}", "exam", db_col_text(st, 0),
                     "modality", db_col_text(st, 1), "name", db_col_text(st, 2), "ctdivol",
                     db_col_json_num(st, 3), "dlp", db_col_json_num(st, 4), "dap",
                     db_col_json_num(st, 5), "source", db_col_text(st, 6), "updated_at",
                     db_col_json_time(st, 7), "updated_by", db_col_text(st, 8));
}

/* The dose of procedure id into proc's "dose" (null when none). */
static err_t dose_of(db *d, const char *id, json_t *proc, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *dose = NULL;
    err_t rc = db_query(d, &st, ei, sql_dose_one, "t", id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !(dose = row ? dose_json(st) : json_null()))
        rc = ERR_NOMEM;
    db_finalize(st);
    if (!rc && json_object_set_new(proc, "dose", dose))
        rc = ERR_NOMEM;
    return rc;
}

static const jsonv_field dose_fields[] = {
    {"ctdivol", JSONV_NUMBER, false, 0},
    {"dlp", JSONV_NUMBER, false, 0},
    {"dap", JSONV_NUMBER, false, 0},
};

err_t care_dose_record(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                       json_t **out, errinfo *ei)
{
    static const double most[] = {500, 20000, 1000}; /* no exam gives more */
    json_t *proc = NULL, *drl = NULL;
    char values[3][DB_NUM_TEXT], levels[3][DB_NUM_TEXT];
    const char *v[3], *l[3];
    bool above = false;
    *out = NULL;
    err_t rc = jsonv_check(body, dose_fields, CARE_NFIELDS(dose_fields), ei);
    if (rc)
        return rc;
    rc = begin_on(d, id, &proc, ei);
    if (rc)
        return rc;
    const char *modality = jsonv_str(proc, "modality"), *status = jsonv_str(proc, "status");
    bool ct = !strcmp(modality, "ct");
    if (!ct && strcmp(modality, "xray"))
        rc = err_set(ei, ERR_INVALID, "modality",
                     "a dose is recorded for CT and radiography, not %s", modality);
    else if (strcmp(status, "in-progress") && strcmp(status, "completed"))
        rc = err_set(ei, ERR_CONFLICT, "id",
                     "the procedure is %s: a dose is recorded once it "
                     "has started",
                     status);
    else if (!json_is_null(json_object_get(proc, "dose")))
        rc = err_set(ei, ERR_CONFLICT, "id", "the dose of this procedure is recorded already");
    if (!rc) {
        db_stmt *st = NULL;
        rc = db_query(d, &st, ei, sql_drl_one, "t", jsonv_str(proc, "exam"));
        rc = db_row_json(rc, st, drl_row, &drl, "exam", "the exam has no reference level", ei);
    }
    for (size_t q = 0; !rc && q < CARE_NFIELDS(quantities); q++) {
        const char *name = quantities[q].name;
        json_t *x = json_object_get(body, name), *level = json_object_get(drl, name);
        if (json_is_null(x))
            x = NULL;
        bool wanted = ct ? q < 2 : q == 2;
        if (wanted && !x)
            rc = err_set(ei, ERR_MISSING_FIELD, name, "%s: a %s records its %s", name,
                         ct ? "CT" : "radiograph", quantities[q].label);
        else if (!wanted && x)
            rc = err_set(ei, ERR_INVALID, name, "%s: a %s has no %s", name,
                         ct ? "CT" : "radiograph", quantities[q].label);
        else if (x && !(json_number_value(x) > 0 && json_number_value(x) <= most[q]))
            rc = err_set(ei, ERR_INVALID, name, "%s must be above 0 and at most %g %s", name,
                         most[q], quantities[q].unit);
        v[q] = db_num_text(x != NULL, json_number_value(x), values[q]);
        l[q] = db_num_text(json_is_number(level), json_number_value(level), levels[q]);
        above = above ||
                (x && json_is_number(level) && json_number_value(x) > json_number_value(level));
    }
    if (!rc)
        rc = db_run(d, ei, NULL, sql_dose_insert, "ttttttttiit", id, v[0], v[1], v[2], l[0], l[1],
                    l[2], jsonv_str(drl, "source"), (int64_t)above, time_now_us(), care_actor(ctx));
    if (!rc && above)
        rc = care_audit(d, ctx, "care.dose.above-drl", "patient", jsonv_str(proc, "patient_id"),
                        json_pack("{s:s,s:s}", "procedure", id, "exam", jsonv_str(proc, "exam")),
                        ei);
    if (!rc && above)
        rc = db_publish_json(d, "care.dose.above-drl",
                             json_pack("{s:s,s:s,s:s,s:s}", "procedure_id", id, "patient_id",
                                       jsonv_str(proc, "patient_id"), "exam",
                                       jsonv_str(proc, "exam"), "modality", modality),
                             ei);
    json_decref(drl);
    return end_on(d, ctx, id, "care.dose.record", rc, proc,
                  json_pack("{s:s,s:O,s:b}", "procedure", id, "dose", body, "above_drl", above),
                  out, ei);
}

err_t care_dose_list(db *d, const audit_ctx *ctx, bool above_only, json_t **items, errinfo *ei)
{
    return care_search(d, ctx, sql_dose_list, above_only, dose_row, "care.dose.search", "above",
                       items, ei);
}

static const char *unreviewable(const json_t *entry)
{
    return json_is_true(json_object_get(json_object_get(entry, "dose"), "above_drl"))
               ? "this dose was reviewed already"
               : "this dose is not above its reference level";
}

err_t care_dose_review(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                       json_t **out, errinfo *ei)
{
    static const care_closing closing = {sql_dose_one,
                                         sql_dose_review,
                                         dose_row,
                                         "no dose is recorded for this procedure",
                                         "care.dose.review",
                                         unreviewable,
                                         "care.dose.reviewed",
                                         "procedure_id"};
    return care_close_with_note(d, ctx, &closing, id, body, out, ei);
}

err_t care_drl_list(db *d, json_t **items, errinfo *ei)
{
    return care_list(d, sql_drl_list, drl_row, items, ei);
}

static const jsonv_field drl_fields[] = {
    {"modality", JSONV_STRING, true, 8}, {"name", JSONV_STRING, true, CARE_TEXT_MAX},
    {"ctdivol", JSONV_NUMBER, false, 0}, {"dlp", JSONV_NUMBER, false, 0},
    {"dap", JSONV_NUMBER, false, 0},     {"source", JSONV_STRING, true, CARE_TEXT_MAX},
};

err_t care_drl_put(db *d, const audit_ctx *ctx, const char *exam, const json_t *body, json_t **out,
                   errinfo *ei)
{
    static const char *const modalities_dosed[] = {"ct", "xray"};
    char n[3][DB_NUM_TEXT];
    const char *v[3];
    *out = NULL;
    err_t rc = jsonv_check(body, drl_fields, CARE_NFIELDS(drl_fields), ei);
    const char *modality = jsonv_str(body, "modality");
    if (!rc && !equip_name_valid(exam))
        rc = err_set(ei, ERR_INVALID, "exam",
                     "exam: 1 to %d letters, digits, '-', '_' or '.' (CT-HEAD)", EQUIP_TAG_MAX);
    if (!rc)
        rc = care_enum(modality, modalities_dosed, 2, "modality", ei);
    if (!rc)
        rc = care_text(jsonv_str(body, "name"), "name", ei);
    if (!rc)
        rc = care_text(jsonv_str(body, "source"), "source", ei);
    bool ct = !rc && !strcmp(modality, "ct");
    for (size_t q = 0; !rc && q < CARE_NFIELDS(quantities); q++) {
        json_t *x = json_object_get(body, quantities[q].name);
        if (json_is_null(x))
            x = NULL;
        if (x && (ct ? q == 2 : q < 2))
            rc = err_set(ei, ERR_INVALID, quantities[q].name, "%s: a %s level has no %s",
                         quantities[q].name, modality, quantities[q].label);
        else if (x && !(json_number_value(x) > 0))
            rc = err_set(ei, ERR_INVALID, quantities[q].name, "%s must be above 0",
                         quantities[q].name);
        v[q] = db_num_text(x != NULL, json_number_value(x), n[q]);
    }
    if (!rc && (ct ? !v[0] && !v[1] : !v[2]))
        rc = err_set(ei, ERR_MISSING_FIELD, ct ? "ctdivol" : "dap",
                     "%s: the reference level itself", ct ? "ctdivol (or dlp)" : "dap");
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_drl_delete, "t", exam);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_drl_insert, "tttttttit", exam, modality,
                    jsonv_str(body, "name"), v[0], v[1], v[2], jsonv_str(body, "source"),
                    time_now_us(), care_actor(ctx));
    if (!rc)
        rc = care_audit(d, ctx, "care.drl.set", "drl", exam, json_deep_copy(body), ei);
    if (!rc)
        rc =
            care_get(d, sql_drl_one, exam, drl_row, out, "exam", "the reference level is gone", ei);
    return care_finish(d, rc, out, ei);
}
