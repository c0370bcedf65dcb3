/*
 * vitals.c - vital signs on record, from people and patient monitors, with
 * their NEWS2 and its alerts (see vitals.h).
 */
#include "care/vitals.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/str.h"
#include "base/time.h"
#include "care/care.h"
#include "care/news2.h"
#include "lab/patient.h"
#include "store/dbjson.h"

/* Two more things a monitor may send that say whether the patient is on
 * oxygen: the oxygen flow (L/min) and the inspired oxygen fraction. */
#define OBS_O2_FLOW (CARE_NEWS2_PARAMS + 1)
#define OBS_FIO2    (CARE_NEWS2_PARAMS + 2)
/* The diastolic pressure: kept with the set, not scored. */
#define OBS_DIA (CARE_NEWS2_PARAMS + 3)

/* The observations a monitor's message may carry, by code (MDC numeric
 * code or LOINC) and MDC reference id. */
static const struct observation_code {
    const char *code, *name;
    int param; /* care_news2_param, or OBS_O2_FLOW, OBS_FIO2, OBS_DIA */
} codes[] = {
    {"151562", "MDC_RESP_RATE", CARE_NEWS2_RR},
    {"9279-1", NULL, CARE_NEWS2_RR},
    {"150456", "MDC_PULS_OXIM_SAT_O2", CARE_NEWS2_SPO2},
    {"59408-5", NULL, CARE_NEWS2_SPO2},
    {"2708-6", NULL, CARE_NEWS2_SPO2},
    {"150021", "MDC_PRESS_BLD_NONINV_SYS", CARE_NEWS2_SBP},
    {"150033", "MDC_PRESS_BLD_ART_SYS", CARE_NEWS2_SBP},
    {"8480-6", NULL, CARE_NEWS2_SBP},
    {"150022", "MDC_PRESS_BLD_NONINV_DIA", OBS_DIA},
    {"150034", "MDC_PRESS_BLD_ART_DIA", OBS_DIA},
    {"8462-4", NULL, OBS_DIA},
    {"147842", "MDC_ECG_HEART_RATE", CARE_NEWS2_PULSE},
    {"149530", "MDC_PULS_OXIM_PULS_RATE", CARE_NEWS2_PULSE},
    {"149546", "MDC_PULS_RATE_NON_INV", CARE_NEWS2_PULSE},
    {"8867-4", NULL, CARE_NEWS2_PULSE},
    {"150344", "MDC_TEMP", CARE_NEWS2_TEMP},
    {"150364", "MDC_TEMP_BODY", CARE_NEWS2_TEMP},
    {"8310-5", NULL, CARE_NEWS2_TEMP},
    {"ACVPU", NULL, CARE_NEWS2_ACVPU},
    {"3151-8", NULL, OBS_O2_FLOW},
    {"3150-0", NULL, OBS_FIO2},
};

#define VITALS_COLS                                                                                \
    "SELECT v.id, v.patient_id, v.taken_at, v.source, v.respiration_rate, v.spo2, v.spo2_scale,"   \
    " v.oxygen, v.systolic_bp, v.pulse, v.acvpu, v.temperature, v.recorded_at, v.recorded_by,"     \
    " a.id, a.reason, a.acknowledged_at, v.diastolic_bp FROM care_vitals v"                        \
    " LEFT JOIN care_news2_alerts a"                                                               \
    " ON a.vitals_id = v.id"
#define ALERT_COLS                                                                                 \
    "SELECT a.id, a.vitals_id, a.patient_id, p.mrn, p.family, p.given, a.opened_at, a.score,"      \
    " a.band, a.reason, a.acknowledged_at, a.acknowledged_by, a.note FROM care_news2_alerts a"     \
    " JOIN patients p ON p.id = a.patient_id"

static const char sql_vitals_one[] = VITALS_COLS " WHERE v.id = ?";
static const char sql_vitals_of[] = VITALS_COLS " WHERE v.patient_id = ? ORDER BY v.taken_at DESC,"
                                                " v.id DESC LIMIT 500";
static const char sql_scale_of[] = "SELECT scale FROM care_spo2_scales WHERE patient_id = ?"
                                   " ORDER BY set_at DESC, id DESC LIMIT 1";
static const char sql_scale_insert[] =
    "INSERT INTO care_spo2_scales (id, patient_id, scale, reason, set_at, set_by)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_vitals_insert[] =
    "INSERT INTO care_vitals (id, patient_id, taken_at, source, respiration_rate, spo2,"
    " spo2_scale, oxygen, systolic_bp, pulse, acvpu, temperature, score, complete, red, band,"
    " recorded_at, recorded_by, diastolic_bp) VALUES (?, ?, ?, ?, CAST(? AS INTEGER),"
    " CAST(? AS INTEGER), ?, CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER), ?,"
    " CAST(? AS DOUBLE PRECISION), ?, ?, ?, ?, ?, ?, CAST(? AS INTEGER))";
static const char sql_alert_insert[] =
    "INSERT INTO care_news2_alerts (id, vitals_id, patient_id, opened_at, score, band, reason)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_alert_one[] = ALERT_COLS " WHERE a.id = ?";
static const char sql_alerts[] = ALERT_COLS " WHERE (? = 0 OR a.acknowledged_at IS NULL)"
                                            " ORDER BY a.opened_at DESC, a.id DESC LIMIT 500";
static const char sql_alert_ack[] =
    "UPDATE care_news2_alerts SET acknowledged_at = ?, acknowledged_by = ?, note = ?"
    " WHERE id = ? AND acknowledged_at IS NULL";
static const char sql_patient_by_mrn[] = "SELECT id FROM patients WHERE mrn = ?";

/* ---- rows ---- */

/* The set of a row (columns 4 to 11) as news2's input. */
static void row_set(db_stmt *st, care_news2_in *in)
{
    const int col[CARE_NEWS2_PARAMS] = {4, 5, 7, 8, 9, 10, 11};
    memset(in, 0, sizeof(*in));
    in->scale = (int)db_col_int64(st, 6);
    for (int p = 0; p < CARE_NEWS2_PARAMS; p++)
        if (!db_col_null(st, col[p]))
            in->present |= 1u << p;
    in->rr = (int)db_col_int64(st, 4);
    in->spo2 = (int)db_col_int64(st, 5);
    in->oxygen = db_col_int64(st, 7) != 0;
    in->sbp = (int)db_col_int64(st, 8);
    in->pulse = (int)db_col_int64(st, 9);
    in->acvpu = db_col_null(st, 10) ? 0 : db_col_text(st, 10)[0];
    in->temp10 = (int)lround(db_col_double(st, 11) * 10);
}

static json_t *vitals_row(db_stmt *st)
{
    care_news2_in in;
    care_news2 s;
    row_set(st, &in);
    care_news2_score(&in, &s);
    json_t *alert = db_col_null(st, 14)
                        ? json_null()
                        : json_pack("{s:s,s:s,s:b}", "id", db_col_text(st, 14), "reason",
                                    db_col_text(st, 15), "acknowledged", !db_col_null(st, 16));
    json_t *dia = db_col_null(st, 17) ? json_null() : json_integer(db_col_int64(st, 17));
    return json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:s,s:o}", "id", db_col_text(st, 0),
                     "patient_id", db_col_text(st, 1), "taken_at", db_col_json_time(st, 2),
                     "source", db_col_text(st, 3), "news2", care_news2_json(&in, &s), "alert",
                     alert, "recorded_at", db_col_json_time(st, 12), "recorded_by",
                     db_col_text(st, 13), "diastolic_bp", dia);
}

static json_t *alert_row(db_stmt *st)
{
    char name[2 * 64 + 3];
    snprintf(name, sizeof(name), "%s, %s", db_col_text(st, 4), db_col_text(st, 5));
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:o,s:I,s:s,s:s,s:o,s:o,s:o}", "id",
                     db_col_text(st, 0), "vitals_id", db_col_text(st, 1), "patient", "id",
                     db_col_text(st, 2), "mrn", db_col_text(st, 3), "name", name, "opened_at",
                     db_col_json_time(st, 6), "score", (json_int_t)db_col_int64(st, 7), "band",
                     db_col_text(st, 8), "reason", db_col_text(st, 9), "acknowledged_at",
                     db_col_json_time(st, 10), "acknowledged_by", db_col_json_text(st, 11), "note",
                     db_col_json_text(st, 12));
}

/* ---- recording ---- */

/* Why the set raises an alert: its score, and each parameter with 3. */
static void alert_reason(const care_news2_in *in, const care_news2 *s, char *out, size_t n)
{
    size_t used = 0;
    int k = 0;
    out[0] = '\0';
    if (s->total >= 5)
        k = snprintf(out, n, "NEWS2 %d%s (%s)", s->total, s->complete ? "" : " or more", s->band);
    used = k > 0 ? (size_t)k : 0;
    for (int p = 0; p < CARE_NEWS2_PARAMS && used < n; p++) {
        if (s->points[p] != 3)
            continue;
        char value[16];
        if (p == CARE_NEWS2_ACVPU)
            snprintf(value, sizeof(value), "%c", in->acvpu);
        else if (p == CARE_NEWS2_TEMP)
            snprintf(value, sizeof(value), "%.1f", in->temp10 / 10.0);
        else
            snprintf(value, sizeof(value), "%d",
                     p == CARE_NEWS2_RR     ? in->rr
                     : p == CARE_NEWS2_SPO2 ? in->spo2
                     : p == CARE_NEWS2_SBP  ? in->sbp
                                            : in->pulse);
        k = snprintf(out + used, n - used, "%s3 points for %s (%s)", used ? "; " : "",
                     care_news2_name((care_news2_param)p), value);
        used += k > 0 ? (size_t)k : 0;
    }
}

/* A parameter's value as the text a nullable column takes, or NULL. */
static const char *col_text(const care_news2_in *in, care_news2_param p, char out[16])
{
    if (!(in->present & (1u << p)))
        return NULL;
    int v = p == CARE_NEWS2_RR     ? in->rr
            : p == CARE_NEWS2_SPO2 ? in->spo2
            : p == CARE_NEWS2_AIR  ? in->oxygen
            : p == CARE_NEWS2_SBP  ? in->sbp
                                   : in->pulse;
    if (p == CARE_NEWS2_TEMP)
        snprintf(out, 16, "%.1f", in->temp10 / 10.0);
    else
        snprintf(out, 16, "%d", v);
    return out;
}

/* Score the set on the patient's scale, write it, and its alert. */
static err_t record_set(db *d, const audit_ctx *ctx, const char *patient_id, int64_t taken_at,
                        const char *source, care_news2_in *in, int dia, json_t **out, errinfo *ei)
{
    char id[ID_LEN + 1], aid[ID_LEN + 1], reason[300], t[CARE_NEWS2_PARAMS][16], acvpu[2] = "";
    char dia_text[16];
    db_stmt *st = NULL;
    bool row = false;
    care_news2 s;
    int64_t now = time_now_us();
    *out = NULL;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    in->scale = 1;
    rc = db_query(d, &st, ei, sql_scale_of, "t", patient_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        in->scale = (int)db_col_int64(st, 0);
    db_finalize(st);
    care_news2_score(in, &s);
    acvpu[0] = in->acvpu;
    id_new(id);
    snprintf(dia_text, sizeof(dia_text), "%d", dia);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_vitals_insert, "ttitttitttttiiititt", id, patient_id, taken_at,
                    source, col_text(in, CARE_NEWS2_RR, t[0]), col_text(in, CARE_NEWS2_SPO2, t[1]),
                    (int64_t)in->scale, col_text(in, CARE_NEWS2_AIR, t[2]),
                    col_text(in, CARE_NEWS2_SBP, t[3]), col_text(in, CARE_NEWS2_PULSE, t[4]),
                    in->acvpu ? acvpu : NULL, col_text(in, CARE_NEWS2_TEMP, t[6]), (int64_t)s.total,
                    (int64_t)s.complete, (int64_t)s.red, s.band, now, care_actor(ctx),
                    dia ? dia_text : NULL);
    if (!rc)
        rc = care_audit(d, ctx, "care.vitals.record", "patient", patient_id,
                        json_pack("{s:s,s:s,s:i,s:s,s:b}", "vitals", id, "source", source, "score",
                                  s.total, "band", s.band, "complete", s.complete),
                        ei);
    if (!rc && s.alert) {
        alert_reason(in, &s, reason, sizeof(reason));
        id_new(aid);
        rc = db_run(d, ei, NULL, sql_alert_insert, "tttiitt", aid, id, patient_id, now,
                    (int64_t)s.total, s.band, reason);
        if (!rc)
            rc = care_audit(d, ctx, "care.news2.alert", "patient", patient_id,
                            json_pack("{s:s,s:s,s:i,s:s}", "alert", aid, "vitals", id, "score",
                                      s.total, "reason", reason),
                            ei);
        /* Live: the band says how urgent, as a result's flag does; the score
         * and its reason (values) are read through the audited API. */
        if (!rc)
            rc = db_publish_json(d, "care.news2.raised",
                                 json_pack("{s:s,s:s,s:s,s:s,s:b}", "alert_id", aid, "vitals_id",
                                           id, "patient_id", patient_id, "band", s.band, "complete",
                                           s.complete),
                                 ei);
    }
    if (!rc)
        rc = care_get(d, sql_vitals_one, id, vitals_row, out, "id", "the vital signs are gone", ei);
    return care_finish(d, rc, out, ei);
}

/*
 * The diastolic pressure value (mmHg, rounded to a whole number) into *dia:
 * ERR_INVALID naming field when it is no reading, or not below the set's
 * systolic pressure (which NEWS2 checked already).
 */
static err_t diastolic(const care_news2_in *in, double value, const char *field, int *dia,
                       errinfo *ei)
{
    long v = isfinite(value) ? lround(value) : 0;
    if (!isfinite(value) || v < CARE_DBP_MIN || v > CARE_DBP_MAX)
        return err_set(ei, ERR_INVALID, field,
                       "diastolic_bp: %g is outside %d to %d mmHg: not a reading (mistyped?)",
                       value, CARE_DBP_MIN, CARE_DBP_MAX);
    /* A diastolic at or above the systolic is two readings swapped or mistyped. */
    if ((in->present & (1u << CARE_NEWS2_SBP)) && v >= in->sbp)
        return err_set(ei, ERR_INVALID, field,
                       "diastolic_bp: %ld is not below the systolic pressure (%d mmHg)", v,
                       in->sbp);
    *dia = (int)v;
    return ERR_OK;
}

static const jsonv_field hand_fields[] = {
    {"patient_id", JSONV_STRING, true, 64},
    {"taken_at", JSONV_STRING, false, 40},
    {"respiration_rate", JSONV_NUMBER, true, 0},
    {"spo2", JSONV_NUMBER, true, 0},
    {"oxygen", JSONV_BOOL, true, 0},
    {"systolic_bp", JSONV_NUMBER, true, 0},
    {"pulse", JSONV_NUMBER, true, 0},
    {"acvpu", JSONV_STRING, true, 1},
    {"temperature", JSONV_NUMBER, true, 0},
    {"diastolic_bp", JSONV_NUMBER, false, 0},
};

err_t care_vitals_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    care_news2_in in;
    int64_t now = time_now_us(), taken = now;
    int dia = 0;
    json_t *dbp = json_object_get(body, "diastolic_bp");
    *out = NULL;
    memset(&in, 0, sizeof(in));
    err_t rc = jsonv_check(body, hand_fields, CARE_NFIELDS(hand_fields), ei);
    for (int p = 0; !rc && p < CARE_NEWS2_PARAMS; p++) {
        const char *name = care_news2_name((care_news2_param)p);
        json_t *v = json_object_get(body, name);
        double value = p == CARE_NEWS2_AIR     ? (double)json_is_true(v)
                       : p == CARE_NEWS2_ACVPU ? (double)care_news2_acvpu_of(json_string_value(v))
                                               : json_number_value(v);
        rc = care_news2_set(&in, (care_news2_param)p, value, name, ei);
    }
    if (!rc && dbp && !json_is_null(dbp))
        rc = diastolic(&in, json_number_value(dbp), "diastolic_bp", &dia, ei);
    if (!rc)
        rc = care_time(jsonv_str(body, "taken_at"), "taken_at", now, &taken, ei);
    if (!rc)
        rc = care_patient(d, jsonv_str(body, "patient_id"), "patient_id", ei);
    if (rc)
        return rc;
    return record_set(d, ctx, jsonv_str(body, "patient_id"), taken, "hand", &in, dia, out, ei);
}

/* ---- from monitors ---- */

static const jsonv_field monitor_fields[] = {
    {"mrn", JSONV_STRING, true, PATIENT_MRN_MAX},
    {"taken_at", JSONV_STRING, false, 40},
    {"observations", JSONV_ARRAY, true, CARE_OBSERVATIONS_MAX},
};
static const jsonv_field observation_fields[] = {
    {"code", JSONV_STRING, true, 64},  {"name", JSONV_STRING, false, 64},
    {"value", JSONV_STRING, true, 64}, {"unit", JSONV_STRING, false, 64},
    {"segment", JSONV_INT, true, 0},
};

static const struct observation_code *code_of(const char *code, const char *name)
{
    for (size_t i = 0; i < CARE_NFIELDS(codes); i++)
        if (!strcmp(codes[i].code, code) || (name && codes[i].name && !strcmp(codes[i].name, name)))
            return &codes[i];
    return NULL;
}

/* Take one observation into in, or its diastolic pressure into *dia_value
 * (NAN until one comes; a parameter given before keeps its value). */
static err_t take(care_news2_in *in, double *dia_value, const struct observation_code *c,
                  const json_t *obs, size_t i, errinfo *ei)
{
    const char *text = jsonv_str(obs, "value"), *unit = jsonv_str(obs, "unit");
    int seg = (int)json_integer_value(json_object_get(obs, "segment"));
    char field[48];
    double v = 0;
    errinfo e2 = {0};
    int param = c->param == OBS_O2_FLOW || c->param == OBS_FIO2 ? CARE_NEWS2_AIR : c->param;
    snprintf(field, sizeof(field), "observations[%zu].value", i);
    if ((c->param == OBS_DIA && !isnan(*dia_value)) ||
        (c->param != OBS_DIA && (in->present & (1u << param))))
        return ERR_OK;
    if (param == CARE_NEWS2_ACVPU)
        v = care_news2_acvpu_of(text);
    else if (str_to_double(text, strlen(text), &v))
        return err_set(ei, ERR_INVALID, field, "segment %d: '%.40s' is not a number", seg, text);
    if (c->param == OBS_O2_FLOW)
        v = v > 0; /* any flow of oxygen */
    else if (c->param == OBS_FIO2)
        v = v > (v <= 1 ? 0.21 : 21); /* more than room air, as a fraction or % */
    else if (param == CARE_NEWS2_TEMP && unit && (strstr(unit, "FAHR") || strstr(unit, "degF")))
        v = (v - 32) * 5 / 9;
    if (c->param == OBS_DIA) {
        /* Checked once the systolic, which may come after it, is known. */
        *dia_value = v;
        return ERR_OK;
    }
    if (care_news2_set(in, (care_news2_param)param, v, care_news2_name(param), &e2))
        return err_set(ei, ERR_INVALID, field, "segment %d: %s", seg, e2.message);
    return ERR_OK;
}

err_t care_vitals_monitor(db *d, const audit_ctx *ctx, const char *source, const json_t *body,
                          json_t **out, errinfo *ei)
{
    care_news2_in in;
    char patient_id[ID_LEN + 1] = "", field[48] = "";
    int64_t now = time_now_us(), taken = now;
    bool row = false;
    size_t i;
    json_t *obs;
    double dia_value = NAN;
    int dia = 0, dia_seg = 0;
    errinfo e2 = {0};
    *out = NULL;
    memset(&in, 0, sizeof(in));
    err_t rc = jsonv_check(body, monitor_fields, CARE_NFIELDS(monitor_fields), ei);
    json_array_foreach(json_object_get(body, "observations"), i, obs)
    {
        const struct observation_code *c = NULL;
        if (!rc)
            rc = care_item_check(obs, "observations", i, observation_fields,
                                 CARE_NFIELDS(observation_fields), ei);
        if (!rc)
            c = code_of(jsonv_str(obs, "code"), jsonv_str(obs, "name"));
        if (!rc && c && c->param == OBS_DIA && isnan(dia_value)) {
            snprintf(field, sizeof(field), "observations[%zu].value", i);
            dia_seg = (int)json_integer_value(json_object_get(obs, "segment"));
        }
        if (!rc && c)
            rc = take(&in, &dia_value, c, obs, i, ei);
    }
    if (!rc && !isnan(dia_value) && diastolic(&in, dia_value, field, &dia, &e2))
        rc = err_set(ei, ERR_INVALID, field, "segment %d: %s", dia_seg, e2.message);
    if (!rc && !(in.present & ((1u << CARE_NEWS2_PARAMS) - 1) & ~(1u << CARE_NEWS2_AIR)))
        rc = err_set(ei, ERR_INVALID, "observations",
                     "the message carries no vital sign that NEWS2 scores");
    if (!rc)
        rc = care_time(jsonv_str(body, "taken_at"), "taken_at", now, &taken, ei);
    if (!rc)
        rc = care_text_of(d, sql_patient_by_mrn, jsonv_str(body, "mrn"), patient_id,
                          sizeof(patient_id), &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "mrn", "no patient has MRN %.32s", jsonv_str(body, "mrn"));
    if (rc)
        return rc;
    return record_set(d, ctx, patient_id, taken, source, &in, dia, out, ei);
}

/* ---- reading ---- */

err_t care_vitals_of(db *d, const char *patient_id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *items = NULL;
    int64_t scale = 1, n = 0;
    const char *args[] = {patient_id};
    *out = NULL;
    err_t rc = care_count(d, "SELECT COUNT(*) FROM patients WHERE id = ?", args, 1, &n, ei);
    if (!rc && n == 0)
        return err_set(ei, ERR_NOT_FOUND, "id", "no patient has id %.40s", patient_id);
    if (!rc)
        rc = db_query(d, &st, ei, sql_scale_of, "t", patient_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        scale = db_col_int64(st, 0);
    db_finalize(st);
    st = NULL;
    if (!rc) {
        rc = db_query(d, &st, ei, sql_vitals_of, "t", patient_id);
        rc = db_rows_json(rc, st, vitals_row, &items, ei);
    }
    if (!rc && !(*out = json_pack("{s:s,s:I,s:o}", "patient_id", patient_id, "spo2_scale",
                                  (json_int_t)scale, "items", items)))
        rc = ERR_NOMEM;
    return rc;
}

static const jsonv_field scale_fields[] = {
    {"scale", JSONV_INT, true, 0},
    {"reason", JSONV_STRING, true, CARE_NOTE_MAX},
};

err_t care_spo2_scale_set(db *d, const audit_ctx *ctx, const char *patient_id, const json_t *body,
                          json_t **out, errinfo *ei)
{
    char id[ID_LEN + 1], at[TIME_ISO_LEN];
    int64_t now = time_now_us(), n = 0;
    const char *args[] = {patient_id};
    *out = NULL;
    err_t rc = jsonv_check(body, scale_fields, CARE_NFIELDS(scale_fields), ei);
    json_int_t scale = json_integer_value(json_object_get(body, "scale"));
    const char *reason = jsonv_str(body, "reason");
    if (!rc && scale != 1 && scale != 2)
        rc = err_set(ei, ERR_INVALID, "scale",
                     "scale must be 1, or 2 for hypercapnic respiratory failure");
    if (!rc)
        rc = care_text(reason, "reason", ei);
    if (!rc)
        rc = care_count(d, "SELECT COUNT(*) FROM patients WHERE id = ?", args, 1, &n, ei);
    if (!rc && n == 0)
        rc = err_set(ei, ERR_NOT_FOUND, "id", "no patient has id %.40s", patient_id);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    id_new(id);
    rc = db_run(d, ei, NULL, sql_scale_insert, "ttitit", id, patient_id, (int64_t)scale, reason,
                now, care_actor(ctx));
    if (!rc)
        rc = care_audit(d, ctx, "care.spo2-scale", "patient", patient_id,
                        json_pack("{s:I,s:s}", "scale", scale, "reason", reason), ei);
    time_format_iso(now, at);
    if (!rc && !(*out = json_pack("{s:s,s:I,s:s,s:s,s:s}", "patient_id", patient_id, "scale", scale,
                                  "reason", reason, "set_at", at, "set_by", care_actor(ctx))))
        rc = ERR_NOMEM;
    return care_finish(d, rc, out, ei);
}

err_t care_news2_alerts(db *d, const audit_ctx *ctx, bool open_only, json_t **items, errinfo *ei)
{
    return care_search(d, ctx, sql_alerts, open_only, alert_row, "care.news2.alert.search", "open",
                       items, ei);
}

static const char *acknowledged(const json_t *alert)
{
    (void)alert;
    return "this alert was acknowledged already";
}

err_t care_news2_acknowledge(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                             json_t **out, errinfo *ei)
{
    static const care_closing closing = {sql_alert_one,
                                         sql_alert_ack,
                                         alert_row,
                                         "no NEWS2 alert has this id",
                                         "care.news2.acknowledge",
                                         acknowledged,
                                         "care.news2.acknowledged",
                                         "alert_id"};
    return care_close_with_note(d, ctx, &closing, id, body, out, ei);
}
