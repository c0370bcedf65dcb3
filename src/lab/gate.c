/*
 * gate.c - the release gate (see gate.h). Its checks are a table: each names
 * the reason code it gives, whether it applies to automatic release only,
 * and the function that decides. Modules add their rows here: the
 * specimen's, the review rules, quality control (qc/qc.h: a lockout, QC
 * overdue), equipment (equip/fitness.h: the device is not fit for use),
 * supplies (stock/stock.h: a reagent lot expired, past its open-vial
 * stability or not verified); and people (care/competency.h: the person releasing, or for automatic
 * release the instrument's operator of record, is not competent for the test system).
 */
#include "lab/gate.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "care/competency.h"
#include "equip/fitness.h"
#include "stock/stock.h"

/* What the checks look at, read once per result. */
struct gate_input {
    char specimen_status[16];
    int64_t collected_at, resulted_at;
    char storage[160];
    int stability_h[3]; /* room, refrigerated, frozen; -1 unknown */
    char flag[4];
    bool critical, delta_failed, open_alert;
    char instrument_flags[64];
    char delta_previous[64];
    bool has_reference;
    /* quality control of the test on the instrument ("" the manual bench) */
    char instrument[65];
    char qc_lockout[420]; /* the open lockout's reason, "" when none */
    char qc_frequency[8]; /* run, 8h, 24h; "" when QC is not required */
    int64_t qc_last_ok;   /* the last accepted QC at or before the result; 0 none */
    /* equipment: why the instrument's device is not fit now, "" when it is */
    char device_unfit[256];
    /* supplies (stock/stock.h): why a reagent lot that measured it was unfit, "" when none */
    char reagent_lot[256];
    /* people: who lacked what, "" when competence is not in question */
    char competency[256];
};

typedef bool (*gate_fn)(const struct gate_input *in, char *msg, size_t n);

static bool rejected(const struct gate_input *in, char *msg, size_t n)
{
    if (strcmp(in->specimen_status, "rejected"))
        return false;
    snprintf(msg, n, "the specimen was rejected");
    return true;
}

static bool past_stability(const struct gate_input *in, char *msg, size_t n)
{
    int which = strstr(in->storage, "frozen") ? 2 : (strstr(in->storage, "refrigerated") ? 1 : 0);
    static const char *const names[] = {"at room temperature", "refrigerated", "frozen"};
    int hours = in->stability_h[which];
    if (hours < 0 || !in->collected_at)
        return false;
    int64_t deadline = in->collected_at + (int64_t)hours * 3600 * 1000000;
    if (in->resulted_at <= deadline)
        return false;
    snprintf(msg, n, "measured %.1f hours after collection; the test is stable %d hours %s",
             (double)(in->resulted_at - in->collected_at) / 3.6e9, hours, names[which]);
    return true;
}

static bool critical_pending(const struct gate_input *in, char *msg, size_t n)
{
    if (!in->open_alert)
        return false;
    snprintf(msg, n, "a critical value (%s): the call to the clinician is not documented yet",
             in->flag);
    return true;
}

static bool out_of_range(const struct gate_input *in, char *msg, size_t n)
{
    if (!in->flag[0])
        return false;
    snprintf(msg, n, "flagged %s: outside the reference range", in->flag);
    return true;
}

static bool no_reference(const struct gate_input *in, char *msg, size_t n)
{
    if (in->has_reference)
        return false;
    snprintf(msg, n,
             "no reference range applies to this patient (sex and age): a person must "
             "judge the value");
    return true;
}

static bool delta_failed(const struct gate_input *in, char *msg, size_t n)
{
    if (!in->delta_failed)
        return false;
    snprintf(msg, n, "delta check failed against the previous value %s", in->delta_previous);
    return true;
}

static bool instrument_flag(const struct gate_input *in, char *msg, size_t n)
{
    if (!in->instrument_flags[0])
        return false;
    snprintf(msg, n, "the instrument flagged the result: %s", in->instrument_flags);
    return true;
}

static bool qc_locked(const struct gate_input *in, char *msg, size_t n)
{
    if (!in->qc_lockout[0])
        return false;
    snprintf(msg, n,
             "%.200s on %s: held until a run passes and a supervisor documents the "
             "corrective action",
             in->qc_lockout, in->instrument[0] ? in->instrument : "the manual bench");
    return true;
}

static bool qc_overdue(const struct gate_input *in, char *msg, size_t n)
{
    if (!in->qc_frequency[0])
        return false;
    /* "run": QC in the same hour as the measurement (one analytical run) */
    int hours = !strcmp(in->qc_frequency, "8h") ? 8 : !strcmp(in->qc_frequency, "24h") ? 24 : 1;
    const char *where = in->instrument[0] ? in->instrument : "the manual bench";
    if (!in->qc_last_ok) {
        snprintf(msg, n, "no accepted QC on %s before this result (QC is required every %s)", where,
                 in->qc_frequency);
        return true;
    }
    int64_t age = in->resulted_at - in->qc_last_ok;
    if (age <= (int64_t)hours * 3600 * 1000000)
        return false;
    snprintf(msg, n,
             "QC overdue on %s: the last accepted QC was %.1f hours before this result; it is "
             "required every %s",
             where, (double)age / 3.6e9, in->qc_frequency);
    return true;
}

/* The rows whose module said why already: held when it did. */
static bool said(const char *why, char *msg, size_t n)
{
    if (!why[0])
        return false;
    snprintf(msg, n, "%s", why);
    return true;
}

static bool device_unfit(const struct gate_input *in, char *msg, size_t n)
{
    return said(in->device_unfit, msg, n);
}

static bool reagent_lot(const struct gate_input *in, char *msg, size_t n)
{
    return said(in->reagent_lot, msg, n);
}

static bool not_competent(const struct gate_input *in, char *msg, size_t n)
{
    return said(in->competency, msg, n);
}

static const struct gate_rule {
    const char *code;
    bool auto_only;
    gate_fn held;
} rules[] = {
    {"specimen-rejected", false, rejected},
    {"stability-exceeded", false, past_stability},
    {"critical-call-pending", false, critical_pending},
    {"qc-lockout", false, qc_locked},
    {"qc-overdue", false, qc_overdue},
    {"out-of-range", true, out_of_range},
    {"no-reference-range", true, no_reference},
    {"delta-check-failed", true, delta_failed},
    {"instrument-flag", true, instrument_flag},
    {"device-unfit", false, device_unfit},
    {"reagent-lot", false, reagent_lot},
    {"competency", false, not_competent},
};

static const char sql_input[] =
    "SELECT s.status, s.collected_at, s.storage, t.stability_room_hours,"
    " t.stability_refrigerated_hours, t.stability_frozen_hours, r.flag, r.critical,"
    " r.delta_failed, r.instrument_flags, r.resulted_at, r.delta_previous,"
    " (SELECT COUNT(*) FROM critical_alerts a WHERE a.result_id = r.id AND a.closed_at IS NULL),"
    " CASE WHEN r.ref_low IS NULL AND r.ref_high IS NULL AND r.ref_text IS NULL THEN 0 ELSE 1 END,"
    " COALESCE(r.instrument, ''),"
    " (SELECT l.reason FROM qc_lockouts l WHERE l.test_code = r.test_code AND l.instrument ="
    " COALESCE(r.instrument, '') AND l.closed_at IS NULL ORDER BY l.opened_at LIMIT 1),"
    " (SELECT q.frequency FROM qc_settings q WHERE q.test_code = r.test_code AND q.instrument ="
    " COALESCE(r.instrument, '')),"
    " (SELECT MAX(q.at) FROM qc_results q WHERE q.test_code = r.test_code AND q.instrument ="
    " COALESCE(r.instrument, '') AND q.status IN ('accepted', 'warning') AND q.at <="
    " r.resulted_at)"
    " FROM results r JOIN specimens s ON s.id = r.specimen_id JOIN tests t ON t.code = r.test_code"
    " WHERE r.id = ?";

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

err_t gate_check(db *d, const char *result_id, gate_mode mode, const char *user_id,
                 json_t **reasons, errinfo *ei)
{
    struct gate_input in;
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    *reasons = NULL;
    if (!arr)
        return ERR_NOMEM;
    err_t rc = db_query(d, &st, ei, sql_input, "t", result_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such result");
    if (!rc) {
        memset(&in, 0, sizeof(in));
        copy(in.specimen_status, sizeof(in.specimen_status), db_col_text(st, 0));
        in.collected_at = db_col_int64(st, 1);
        copy(in.storage, sizeof(in.storage), db_col_text(st, 2));
        for (int i = 0; i < 3; i++)
            in.stability_h[i] = db_col_null(st, 3 + i) ? -1 : (int)db_col_int64(st, 3 + i);
        copy(in.flag, sizeof(in.flag), db_col_text(st, 6));
        in.critical = db_col_int64(st, 7) != 0;
        in.delta_failed = db_col_int64(st, 8) != 0;
        copy(in.instrument_flags, sizeof(in.instrument_flags), db_col_text(st, 9));
        in.resulted_at = db_col_int64(st, 10);
        copy(in.delta_previous, sizeof(in.delta_previous), db_col_text(st, 11));
        in.open_alert = db_col_int64(st, 12) > 0;
        in.has_reference = db_col_int64(st, 13) != 0;
        copy(in.instrument, sizeof(in.instrument), db_col_text(st, 14));
        copy(in.qc_lockout, sizeof(in.qc_lockout), db_col_text(st, 15));
        copy(in.qc_frequency, sizeof(in.qc_frequency), db_col_text(st, 16));
        in.qc_last_ok = db_col_null(st, 17) ? 0 : db_col_int64(st, 17);
    }
    db_finalize(st);
    /* the device must be fit when the result is released: now */
    if (!rc && in.instrument[0])
        rc = equip_fitness(d, in.instrument, time_now_us(), in.device_unfit,
                           sizeof(in.device_unfit), ei);
    if (!rc)
        rc = stock_gate_reason(d, result_id, in.resulted_at, in.reagent_lot, sizeof(in.reagent_lot),
                               ei);
    /* who releases (or, automatically, the operator of record) must be competent */
    if (!rc)
        rc = care_competency_gate(d, result_id, user_id, time_now_us(), in.competency,
                                  sizeof(in.competency), ei);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        char msg[256];
        if (rules[i].auto_only && mode != GATE_AUTO)
            continue;
        if (rules[i].held(&in, msg, sizeof(msg)))
            json_array_append_new(arr,
                                  json_pack("{s:s,s:s}", "code", rules[i].code, "message", msg));
    }
    *reasons = arr;
    return ERR_OK;
}
