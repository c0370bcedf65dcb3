/*
 * vitals.h - vital signs on record with their NEWS2 (care/news2.h): sets
 * entered by hand or sent by patient monitors (HL7 ORU^R01, IHE PCD-01,
 * through the MLLP listener: link/handle.c), the SpO2 scale prescribed for
 * a patient, and the alerts a high score raises.
 *
 * A set entered by hand has all seven parameters. A monitor's set has what
 * the monitor measures (respiration, saturation, blood pressure, pulse,
 * temperature; consciousness and oxygen when the site sends them); its
 * score is then a lower bound, and still raises an alert at 5 or when one
 * parameter scores 3. The SpO2 scale is the patient's: scale 2 only where a
 * clinician prescribed it (care_spo2_scale_set), never per set.
 *
 * Every write is audited in the transaction that makes it; reads name a
 * patient and are audited too.
 */
#ifndef BENCHSIDE_CARE_VITALS_H
#define BENCHSIDE_CARE_VITALS_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define CARE_OBSERVATIONS_MAX 200 /* observations in one monitor message */
#define CARE_DBP_MIN          20  /* a diastolic pressure outside these, mmHg, is no reading */
#define CARE_DBP_MAX          200

/*
 * Record a set entered by hand:
 *   {"patient_id","taken_at"?,"respiration_rate","spo2","oxygen":bool,
 *    "systolic_bp","pulse","acvpu":"A|C|V|P|U","temperature","diastolic_bp"?}
 * taken_at (ISO 8601, default now) not in the future. A value outside its
 * bounds (news2.h: a pulse of 900; the diastolic CARE_DBP_MIN to
 * CARE_DBP_MAX and below the systolic) is ERR_INVALID naming it. *out is
 * the set with its "news2", its "diastolic_bp" (NEWS2 does not score it;
 * null when not measured) and its "alert" (or null). Audited as
 * care.vitals.record (and care.news2.alert).
 */
err_t care_vitals_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                         errinfo *ei);

/*
 * Record a set sent by the monitor source (an instrument name):
 *   {"mrn","taken_at"?,"observations":[{"code","name"?,"value","unit"?,
 *    "segment"}]}
 * Each observation is known by its code or name: IEEE 11073 MDC (150456 or
 * MDC_PULS_OXIM_SAT_O2, ...) or LOINC (59408-5, ...), and the local code
 * ACVPU; see the table in vitals.c (the diastolic pressure too: 150022,
 * 150034, 8462-4). Unknown codes are skipped; a parameter
 * given twice keeps its first value. A Fahrenheit temperature is converted.
 * ERR_NOT_FOUND naming "mrn" when no patient has that MRN; ERR_INVALID
 * naming "observations[i].value" (the message says its segment) for a value
 * that is no reading, or naming "observations" when none is a vital sign.
 * *out is as care_vitals_record's.
 */
err_t care_vitals_monitor(db *d, const audit_ctx *ctx, const char *source, const json_t *body,
                          json_t **out, errinfo *ei);

/* A patient's sets, latest first (at most 500), and the scale in force:
 * {"patient_id","spo2_scale","items"}. ERR_NOT_FOUND naming "id" when
 * there is no such patient. No audit of its own (see audit_read). */
err_t care_vitals_of(db *d, const char *patient_id, json_t **out, errinfo *ei);

/*
 * Prescribe the SpO2 scale of a patient: {"scale":1|2,"reason"}. *out is
 * {"patient_id","scale","reason","set_at","set_by"}. Audited as
 * care.spo2-scale.
 */
err_t care_spo2_scale_set(db *d, const audit_ctx *ctx, const char *patient_id, const json_t *body,
                          json_t **out, errinfo *ei);

/* NEWS2 alerts, newest first (at most 500); open_only: those not yet
 * acknowledged. Audited as care.news2.alert.search. */
err_t care_news2_alerts(db *d, const audit_ctx *ctx, bool open_only, json_t **items, errinfo *ei);

/* Acknowledge an alert with what was done: {"note"}. ERR_CONFLICT when it
 * is acknowledged already. *out is the alert. Audited as
 * care.news2.acknowledge. */
err_t care_news2_acknowledge(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                             json_t **out, errinfo *ei);

#endif
