/*
 * steril.c - instrument sets, sterilizer cycles, where sets went and the
 * recall of a load (see steril.h).
 */
#include "care/steril.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/time.h"
#include "care/care.h"
#include "care/procedure.h"
#include "store/dbjson.h"

/* Steam programs and what their exposure must reach at least (AAMI ST79;
 * HTM 01-01 for 134 degrees). */
static const struct program {
    const char *name;
    double min_temperature; /* degrees Celsius */
    double min_minutes;     /* exposure */
} programs[] = {
    {"gravity", 121.0, 30.0},
    {"prevacuum", 132.0, 4.0},
    {"prevacuum-134", 134.0, 3.0},
};

static const char *const program_names[] = {"gravity", "prevacuum", "prevacuum-134"};
static const char *const chemical_results[] = {"pass", "fail"};
static const char *const biological_results[] = {"pending", "negative", "positive"};
static const char *const biological_reads[] = {"negative", "positive"};

#define CYCLE_COLS                                                                                 \
    "SELECT c.id, a.tag, c.cycle_number, c.program, c.started_at, c.exposure_minutes,"             \
    " c.temperature, c.pressure, c.physical_pass, c.chemical, c.biological,"                       \
    " c.biological_read_at, c.biological_read_by, c.implants, c.status, c.recorded_at,"            \
    " c.recorded_by, (SELECT COUNT(*) FROM care_steril_loads l WHERE l.cycle_id = c.id)"           \
    " FROM care_steril_cycles c JOIN assets a ON a.id = c.sterilizer_id"

static const char sql_cycle_one[] = CYCLE_COLS " WHERE c.id = ?";
static const char sql_cycle_list[] = CYCLE_COLS " WHERE (CAST(? AS TEXT) IS NULL OR a.tag = ?)"
                                                " ORDER BY c.started_at DESC, c.id DESC LIMIT 500";
static const char sql_cycle_insert[] =
    "INSERT INTO care_steril_cycles (id, sterilizer_id, cycle_number, program, started_at,"
    " exposure_minutes, temperature, pressure, physical_pass, chemical, biological, implants,"
    " status, recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_load_insert[] =
    "INSERT INTO care_steril_loads (cycle_id, set_code) VALUES (?, ?)";
static const char sql_load_of[] =
    "SELECT set_code FROM care_steril_loads WHERE cycle_id = ? ORDER BY set_code";
static const char sql_set_insert[] =
    "INSERT INTO care_instrument_sets (code, name, created_at, created_by) VALUES (?, ?, ?, ?)";
static const char sql_set_list[] =
    "SELECT s.code, s.name, c.id, c.status, c.cycle_number, a.tag, c.started_at,"
    " (SELECT COUNT(*) FROM care_set_uses u WHERE u.set_code = s.code AND u.cycle_id = c.id)"
    " FROM care_instrument_sets s LEFT JOIN care_steril_cycles c ON c.id = (SELECT l.cycle_id"
    " FROM care_steril_loads l JOIN care_steril_cycles c2 ON c2.id = l.cycle_id WHERE"
    " l.set_code = s.code ORDER BY c2.started_at DESC, c2.id DESC LIMIT 1) LEFT JOIN assets a"
    " ON a.id = c.sterilizer_id ORDER BY s.code LIMIT 500";
static const char sql_set_known[] = "SELECT COUNT(*) FROM care_instrument_sets WHERE code = ?";
static const char sql_last_cycle[] =
    "SELECT c.id, c.status, c.cycle_number, a.tag FROM care_steril_loads l"
    " JOIN care_steril_cycles c ON c.id = l.cycle_id JOIN assets a ON a.id = c.sterilizer_id"
    " WHERE l.set_code = ? ORDER BY c.started_at DESC, c.id DESC LIMIT 1";
static const char sql_used_from[] =
    "SELECT procedure_id FROM care_set_uses WHERE set_code = ? AND cycle_id = ?";
static const char sql_use_insert[] =
    "INSERT INTO care_set_uses (id, set_code, cycle_id, procedure_id, patient_id, used_at,"
    " recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_biological[] =
    "UPDATE care_steril_cycles SET biological = ?, biological_read_at = ?, biological_read_by = ?,"
    " status = ? WHERE id = ? AND biological = 'pending'";
static const char sql_recall_sets[] =
    "SELECT l.set_code, s.name FROM care_steril_loads l JOIN care_instrument_sets s"
    " ON s.code = l.set_code WHERE l.cycle_id = ? ORDER BY l.set_code";
static const char sql_recall_uses[] =
    "SELECT u.procedure_id, p.modality, p.exam, u.used_at, t.id, t.mrn, t.family, t.given"
    " FROM care_set_uses u JOIN care_procedures p ON p.id = u.procedure_id JOIN patients t"
    " ON t.id = u.patient_id WHERE u.cycle_id = ? AND u.set_code = ? ORDER BY u.used_at";

static const struct program *program_of(const char *name)
{
    for (size_t i = 0; name && i < CARE_NFIELDS(programs); i++)
        if (!strcmp(programs[i].name, name))
            return &programs[i];
    return NULL;
}

/* ---- rows ---- */

/* What is wrong with a cycle, from its values: a new array. */
static json_t *cycle_problems(db_stmt *st)
{
    json_t *p = json_array();
    const struct program *pg = program_of(db_col_text(st, 3));
    char text[160];
    if (!p)
        return NULL;
    if (pg && db_col_double(st, 6) < pg->min_temperature) {
        snprintf(text, sizeof(text), "temperature %.1f C is below the %.0f C of %s",
                 db_col_double(st, 6), pg->min_temperature, pg->name);
        json_array_append_new(p, json_string(text));
    }
    if (pg && db_col_double(st, 5) < pg->min_minutes) {
        snprintf(text, sizeof(text), "exposure %g min is shorter than the %g min of %s",
                 db_col_double(st, 5), pg->min_minutes, pg->name);
        json_array_append_new(p, json_string(text));
    }
    if (!strcmp(db_col_text(st, 9), "fail"))
        json_array_append_new(p, json_string("the chemical indicator failed"));
    if (!strcmp(db_col_text(st, 10), "positive"))
        json_array_append_new(p, json_string("the biological indicator is positive"));
    return p;
}

static json_t *cycle_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:I,s:s,s:o,s:f,s:f,s:f,s:b,s:s,s:s,s:o,s:o,s:b,s:s,s:o,s:o,s:o,"
                     "s:I}",
                     "id", db_col_text(st, 0), "sterilizer", db_col_text(st, 1), "cycle_number",
                     (json_int_t)db_col_int64(st, 2), "program", db_col_text(st, 3), "started_at",
                     db_col_json_time(st, 4), "exposure_minutes", db_col_double(st, 5),
                     "temperature", db_col_double(st, 6), "pressure", db_col_double(st, 7),
                     "physical_pass", db_col_int64(st, 8) != 0, "chemical", db_col_text(st, 9),
                     "biological", db_col_text(st, 10), "biological_read_at",
                     db_col_json_time(st, 11), "biological_read_by", db_col_json_text(st, 12),
                     "implants", db_col_int64(st, 13) != 0, "status", db_col_text(st, 14),
                     "recorded_at", db_col_json_time(st, 15), "recorded_by",
                     db_col_json_text(st, 16), "problems", cycle_problems(st), "set_count",
                     (json_int_t)db_col_int64(st, 17));
}

static json_t *set_row(db_stmt *st)
{
    json_t *last =
        db_col_null(st, 2)
            ? json_null()
            : json_pack("{s:s,s:s,s:I,s:s,s:o,s:b}", "cycle_id", db_col_text(st, 2), "status",
                        db_col_text(st, 3), "cycle_number", (json_int_t)db_col_int64(st, 4),
                        "sterilizer", db_col_text(st, 5), "started_at", db_col_json_time(st, 6),
                        "used", db_col_int64(st, 7) > 0);
    return json_pack("{s:s,s:s,s:o}", "code", db_col_text(st, 0), "name", db_col_text(st, 1),
                     "last_cycle", last);
}

static json_t *use_row(db_stmt *st)
{
    char name[2 * 64 + 3];
    snprintf(name, sizeof(name), "%s, %s", db_col_text(st, 6), db_col_text(st, 7));
    return json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:s,s:s}}", "procedure_id", db_col_text(st, 0),
                     "modality", db_col_text(st, 1), "exam", db_col_text(st, 2), "used_at",
                     db_col_json_time(st, 3), "patient", "id", db_col_text(st, 4), "mrn",
                     db_col_text(st, 5), "name", name);
}

/* ---- sets ---- */

static const jsonv_field set_fields[] = {
    {"code", JSONV_STRING, true, CARE_CODE_MAX},
    {"name", JSONV_STRING, true, CARE_TEXT_MAX},
};

err_t care_set_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    char at[TIME_ISO_LEN];
    int64_t now = time_now_us();
    *out = NULL;
    err_t rc = jsonv_check(body, set_fields, CARE_NFIELDS(set_fields), ei);
    const char *code = jsonv_str(body, "code"), *name = jsonv_str(body, "name");
    if (!rc && !equip_name_valid(code))
        rc =
            err_set(ei, ERR_INVALID, "code",
                    "code: 1 to %d letters, digits, '-', '_' or '.' (LAP-MAJOR-03)", EQUIP_TAG_MAX);
    if (!rc)
        rc = care_text(name, "name", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_set_insert, "ttit", code, name, now, care_actor(ctx));
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "code", "a set is labelled %s already", code);
    if (!rc)
        rc = care_audit(d, ctx, "care.set.create", "instrument_set", code,
                        json_pack("{s:s}", "name", name), ei);
    time_format_iso(now, at);
    if (!rc && !(*out = json_pack("{s:s,s:s,s:s,s:s}", "code", code, "name", name, "created_at", at,
                                  "created_by", care_actor(ctx))))
        rc = ERR_NOMEM;
    return care_finish(d, rc, out, ei);
}

err_t care_set_list(db *d, json_t **items, errinfo *ei)
{
    return care_list(d, sql_set_list, set_row, items, ei);
}

/* ---- cycles ---- */

static const jsonv_field cycle_fields[] = {
    {"sterilizer", JSONV_STRING, true, EQUIP_TAG_MAX},
    {"cycle_number", JSONV_INT, true, 0},
    {"program", JSONV_STRING, true, 16},
    {"started_at", JSONV_STRING, false, 40},
    {"exposure_minutes", JSONV_NUMBER, true, 0},
    {"temperature", JSONV_NUMBER, true, 0},
    {"pressure", JSONV_NUMBER, true, 0},
    {"chemical", JSONV_STRING, true, 16},
    {"biological", JSONV_STRING, true, 16},
    {"implants", JSONV_BOOL, false, 0},
    {"sets", JSONV_ARRAY, true, CARE_LOAD_MAX},
};

/* A number of body in [min, max], ERR_INVALID naming it otherwise. */
static err_t in_range(const json_t *body, const char *name, double min, double max,
                      const char *unit, double *out, errinfo *ei)
{
    *out = json_number_value(json_object_get(body, name));
    if (!(*out >= min && *out <= max))
        return err_set(ei, ERR_INVALID, name, "%s must be from %g to %g %s", name, min, max, unit);
    return ERR_OK;
}

/* The sets of a load: known, each once. */
static err_t check_load(db *d, const json_t *sets, errinfo *ei)
{
    size_t i;
    json_t *v;
    if (json_array_size(sets) == 0)
        return err_set(ei, ERR_INVALID, "sets", "sets: the load holds at least one set");
    json_array_foreach(sets, i, v)
    {
        char f[32];
        int64_t n = 0;
        const char *code = json_string_value(v);
        snprintf(f, sizeof(f), "sets[%zu]", i);
        if (!code)
            return err_set(ei, ERR_INVALID, f, "%s must be a set's code", f);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(json_string_value(json_array_get(sets, k)), code))
                return err_set(ei, ERR_INVALID, f, "%s: %s is listed twice", f, code);
        err_t rc = care_count(d, sql_set_known, &code, 1, &n, ei);
        if (rc)
            return rc;
        if (n == 0)
            return err_set(ei, ERR_INVALID, f, "%s: no instrument set is labelled %.32s", f, code);
    }
    return ERR_OK;
}

err_t care_cycle_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    static const char *const autoclave[] = {"autoclave"};
    char id[ID_LEN + 1], sterilizer_id[ID_LEN + 1] = "";
    double minutes = 0, temperature = 0, pressure = 0;
    int64_t now = time_now_us(), started = now;
    size_t i;
    json_t *v;
    *out = NULL;
    err_t rc = jsonv_check(body, cycle_fields, CARE_NFIELDS(cycle_fields), ei);
    const char *program = jsonv_str(body, "program"), *chemical = jsonv_str(body, "chemical");
    const char *biological = jsonv_str(body, "biological");
    json_int_t number = json_integer_value(json_object_get(body, "cycle_number"));
    bool implants = json_is_true(json_object_get(body, "implants"));
    const json_t *sets = json_object_get(body, "sets");
    if (!rc && (number < 1 || number > 100000000))
        rc = err_set(ei, ERR_INVALID, "cycle_number", "cycle_number must be a positive number");
    if (!rc)
        rc = care_enum(program, program_names, CARE_NFIELDS(program_names), "program", ei);
    if (!rc)
        rc = in_range(body, "exposure_minutes", 0.5, 180, "minutes", &minutes, ei);
    if (!rc)
        rc = in_range(body, "temperature", 100, 150, "degrees Celsius", &temperature, ei);
    if (!rc)
        rc = in_range(body, "pressure", 50, 500, "kPa", &pressure, ei);
    if (!rc)
        rc = care_enum(chemical, chemical_results, CARE_NFIELDS(chemical_results), "chemical", ei);
    if (!rc)
        rc = care_enum(biological, biological_results, CARE_NFIELDS(biological_results),
                       "biological", ei);
    if (!rc)
        rc = care_time(jsonv_str(body, "started_at"), "started_at", now, &started, ei);
    if (!rc)
        rc = care_asset(d, jsonv_str(body, "sterilizer"), "sterilizer", autoclave, 1, sterilizer_id,
                        NULL, ei);
    if (!rc)
        rc = check_load(d, sets, ei);
    if (rc)
        return rc;
    const struct program *pg = program_of(program);
    bool physical = temperature >= pg->min_temperature && minutes >= pg->min_minutes;
    const char *status = !physical || !strcmp(chemical, "fail")       ? "failed"
                         : !strcmp(biological, "positive")            ? "recalled"
                         : implants && strcmp(biological, "negative") ? "quarantined"
                                                                      : "released";
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    id_new(id);
    rc =
        db_run(d, ei, NULL, sql_cycle_insert, "ttitidddittitit", id, sterilizer_id, (int64_t)number,
               program, started, minutes, temperature, pressure, (int64_t)physical, chemical,
               biological, (int64_t)implants, status, now, care_actor(ctx));
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "cycle_number", "cycle %lld of %s is on record already",
                     (long long)number, jsonv_str(body, "sterilizer"));
    json_array_foreach(sets, i, v)
    {
        if (!rc)
            rc = db_run(d, ei, NULL, sql_load_insert, "tt", id, json_string_value(v));
    }
    if (!rc)
        rc = care_audit(d, ctx, "care.cycle.create", "steril_cycle", id,
                        json_pack("{s:s,s:I,s:s,s:s,s:s,s:O}", "sterilizer",
                                  jsonv_str(body, "sterilizer"), "cycle_number", number, "status",
                                  status, "chemical", chemical, "biological", biological, "sets",
                                  sets),
                        ei);
    if (!rc)
        rc = care_cycle_get(d, id, out, ei);
    return care_finish(d, rc, out, ei);
}

err_t care_cycle_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    return care_get_with_lines(d, sql_cycle_one, id, cycle_row,
                               "no sterilization cycle has this id", sql_load_of, care_text_row,
                               "sets", out, ei);
}

err_t care_cycle_list(db *d, const char *sterilizer, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_cycle_list, "tt", sterilizer, sterilizer);
    return db_rows_json(rc, st, cycle_row, items, ei);
}

static const jsonv_field biological_fields[] = {
    {"result", JSONV_STRING, true, 16},
};

err_t care_cycle_biological(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                            json_t **out, errinfo *ei)
{
    json_t *before = NULL;
    int64_t changed = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, biological_fields, CARE_NFIELDS(biological_fields), ei);
    const char *result = jsonv_str(body, "result");
    if (!rc)
        rc = care_enum(result, biological_reads, CARE_NFIELDS(biological_reads), "result", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = care_cycle_get(d, id, &before, ei);
    const char *was = jsonv_str(before, "status");
    if (!rc && strcmp(jsonv_str(before, "biological"), "pending"))
        rc = err_set(ei, ERR_CONFLICT, "id", "the biological indicator was read already: %s",
                     jsonv_str(before, "biological"));
    /* a failed load stays failed: its sets were never released */
    const char *status = !rc && !strcmp(was, "failed") ? "failed"
                         : !strcmp(result, "positive") ? "recalled"
                                                       : "released";
    if (!rc)
        rc = db_run(d, ei, &changed, sql_biological, "tittt", result, time_now_us(),
                    care_actor(ctx), status, id);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "id", "the biological indicator was read meanwhile");
    if (!rc)
        rc =
            care_audit(d, ctx, "care.cycle.biological", "steril_cycle", id,
                       json_pack("{s:s,s:s,s:s}", "result", result, "from", was, "to", status), ei);
    if (!rc && !strcmp(status, "recalled"))
        rc = care_audit(d, ctx, "care.cycle.recall", "steril_cycle", id,
                        json_pack("{s:s,s:I}", "sterilizer", jsonv_str(before, "sterilizer"),
                                  "cycle_number",
                                  json_integer_value(json_object_get(before, "cycle_number"))),
                        ei);
    json_decref(before);
    if (!rc)
        rc = care_cycle_get(d, id, out, ei);
    return care_finish(d, rc, out, ei);
}

err_t care_steril_recall(db *d, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *cycle = NULL, *sets = json_array(), *patients = json_array();
    *out = NULL;
    err_t rc = sets && patients ? care_cycle_get(d, id, &cycle, ei) : ERR_NOMEM;
    if (!rc)
        rc = db_query(d, &st, ei, sql_recall_sets, "t", id);
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_array_append_new(
            sets, json_pack("{s:s,s:s}", "set", db_col_text(st, 0), "name", db_col_text(st, 1)));
    db_finalize(st);
    size_t i, k;
    json_t *s, *u;
    json_array_foreach(sets, i, s)
    {
        json_t *uses = NULL;
        if (rc)
            break;
        st = NULL;
        rc = db_query(d, &st, ei, sql_recall_uses, "tt", id, jsonv_str(s, "set"));
        rc = db_rows_json(rc, st, use_row, &uses, ei);
        json_array_foreach(uses, k, u)
        {
            const char *pid = jsonv_str(json_object_get(u, "patient"), "id");
            size_t j = 0;
            while (j < json_array_size(patients) &&
                   strcmp(json_string_value(json_array_get(patients, j)), pid))
                j++;
            if (j == json_array_size(patients))
                json_array_append_new(patients, json_string(pid));
        }
        if (!rc)
            json_object_set_new(s, "uses", uses);
    }
    if (!rc &&
        !(*out = json_pack("{s:O,s:O,s:O}", "cycle", cycle, "sets", sets, "patients", patients)))
        rc = ERR_NOMEM;
    json_decref(cycle);
    json_decref(sets);
    json_decref(patients);
    return rc;
}

/* ---- use ---- */

static const jsonv_field use_fields[] = {
    {"set", JSONV_STRING, true, CARE_CODE_MAX},
    {"used_at", JSONV_STRING, false, 40},
};

err_t care_set_use(db *d, const audit_ctx *ctx, const char *procedure_id, const json_t *body,
                   json_t **out, errinfo *ei)
{
    char patient_id[ID_LEN + 1] = "", status[16] = "", cycle[ID_LEN + 1] = "";
    char cycle_status[16] = "", sterilizer[EQUIP_TAG_MAX + 1] = "", uid[ID_LEN + 1];
    int64_t now = time_now_us(), used = now, number = 0, known = 0;
    db_stmt *st = NULL;
    bool row = false;
    *out = NULL;
    err_t rc = jsonv_check(body, use_fields, CARE_NFIELDS(use_fields), ei);
    const char *set = jsonv_str(body, "set");
    if (!rc)
        rc = care_time(jsonv_str(body, "used_at"), "used_at", now, &used, ei);
    if (!rc)
        rc = care_count(d, sql_set_known, &set, 1, &known, ei);
    if (!rc && !known)
        rc = err_set(ei, ERR_INVALID, "set", "set: no instrument set is labelled %.32s", set);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = care_procedure_of(d, procedure_id, "id", patient_id, status, ei);
    if (rc == ERR_INVALID)
        rc = err_set(ei, ERR_NOT_FOUND, "id", "no procedure has id %.40s", procedure_id);
    if (!rc && (!strcmp(status, "completed") || !strcmp(status, "cancelled")))
        rc = err_set(ei, ERR_CONFLICT, "id", "the procedure is %s", status);
    if (!rc)
        rc = db_query(d, &st, ei, sql_last_cycle, "t", set);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        snprintf(cycle, sizeof(cycle), "%s", db_col_text(st, 0));
        snprintf(cycle_status, sizeof(cycle_status), "%s", db_col_text(st, 1));
        number = db_col_int64(st, 2);
        snprintf(sterilizer, sizeof(sterilizer), "%s", db_col_text(st, 3));
    }
    db_finalize(st);
    st = NULL;
    if (!rc && !row)
        rc = err_set(ei, ERR_CONFLICT, "set", "set %s has no sterilization cycle on record", set);
    if (!rc && strcmp(cycle_status, "released"))
        rc = err_set(ei, ERR_CONFLICT, "set",
                     "set %s may not be used: its last cycle (%lld on %s) %s", set,
                     (long long)number, sterilizer,
                     !strcmp(cycle_status, "quarantined")
                         ? "holds implants and awaits its biological indicator"
                     : !strcmp(cycle_status, "recalled") ? "was recalled: reprocess the set"
                                                         : "failed: reprocess the set");
    if (!rc)
        rc = db_query(d, &st, ei, sql_used_from, "tt", set, cycle);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        rc = err_set(ei, ERR_CONFLICT, "set",
                     "set %s was used since cycle %lld (procedure %s): sterilize it again", set,
                     (long long)number, db_col_text(st, 0));
    db_finalize(st);
    id_new(uid);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_use_insert, "tttttit", uid, set, cycle, procedure_id,
                    patient_id, used, care_actor(ctx));
    if (!rc)
        rc = care_audit(
            d, ctx, "care.set.use", "patient", patient_id,
            json_pack("{s:s,s:s,s:s}", "set", set, "cycle", cycle, "procedure", procedure_id), ei);
    if (!rc)
        rc = care_procedure_get(d, procedure_id, out, ei);
    return care_finish(d, rc, out, ei);
}
