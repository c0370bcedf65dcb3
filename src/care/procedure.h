/*
 * procedure.h - procedures on patients: imaging (MRI, CT, X-ray,
 * ultrasound, ECG) scheduled on a device of the asset register, and others
 * (a biopsy, a minor operation) where sterilized instrument sets are used
 * (care/steril.h records which).
 *
 * A procedure goes scheduled -> in-progress -> completed, or is cancelled
 * before it starts. The device is an in-service asset of the modality's
 * class (mri, ct, xray, ultrasound, ecg); a procedure of modality "other"
 * may name a device of any class, or none.
 *
 * Imaging has a preparation checklist per modality (the table in
 * procedure.c: identity, MRI safety screening for pacemakers, implants and
 * metal fragments, contrast allergy and renal function when a contrast
 * medium is given, pregnancy, the ECG's skin preparation). It is recorded
 * whole, every item answered; an answer may need a note (an MR-conditional
 * pacemaker, a possible pregnancy) or stop the procedure (a pacemaker that
 * is not MR-conditional, metal fragments, an eGFR under 30 with contrast,
 * an identity not confirmed). A procedure starts only with its checklist
 * complete and nothing stopping it, on a device still in service.
 *
 * CT and radiography procedures name an exam with a diagnostic reference
 * level (table care_drls: CTDIvol and DLP for CT, DAP for radiography); the
 * dose recorded is compared with it, and one above it is listed for review.
 *
 * Every write is audited in the transaction that makes it; a procedure
 * names a patient, so reading one is audited too.
 */
#ifndef BENCHSIDE_CARE_PROCEDURE_H
#define BENCHSIDE_CARE_PROCEDURE_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

#define CARE_MODALITY_MAX 16 /* "ultrasound" and its NUL fit */

/*
 * Schedule a procedure:
 *   {"patient_id","modality","exam","device"?,"scheduled_at","contrast"?}
 * modality mri, ct, xray, ultrasound, ecg or other; device an asset tag
 * (needed but for "other"). *out is the procedure as care_procedure_get()
 * gives it. Audited as care.procedure.create.
 */
err_t care_procedure_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                            errinfo *ei);

/* One procedure with its device, the sets used in it, its checklist (the
 * items and the answers each takes), its preparation and dose (null when
 * not recorded). ERR_NOT_FOUND naming "id". No audit of its own (the
 * caller's audit_read). */
err_t care_procedure_get(db *d, const char *id, json_t **out, errinfo *ei);

/*
 * The patient and status of procedure id, for a module that records
 * something in it (an instrument set used). ERR_INVALID naming field when
 * there is no such procedure.
 */
err_t care_procedure_of(db *d, const char *id, const char *field, char patient_id[ID_LEN + 1],
                        char status[16], errinfo *ei);

/*
 * Record the preparation checklist of a scheduled procedure, every item:
 *   {"answers":[{"item","answer"?,"value"?,"note"?}]}
 * answer one of the item's answers (yes, no, ...), value for an item asking
 * for a number (eGFR), note where the answer needs one. A missing item is
 * ERR_INVALID naming "answers"; a wrong one names "answers[i].answer" (or
 * .item, .value, .note). Replaces an earlier record. *out is the procedure.
 * Audited as care.procedure.prepare.
 */
err_t care_procedure_prepare(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                             json_t **out, errinfo *ei);

/* Start a scheduled procedure: {"note"?}. ERR_CONFLICT naming "id"
 * unless its checklist is recorded with nothing stopping it and its device
 * is in service. Audited as care.procedure.start (with the note). */
err_t care_procedure_start(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                           json_t **out, errinfo *ei);

/* Complete a procedure in progress (a CT or radiography one once its dose
 * is recorded): {"note"?}. Audited as care.procedure.complete. */
err_t care_procedure_complete(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                              json_t **out, errinfo *ei);

/* Cancel a scheduled procedure: {"reason"}. Audited as
 * care.procedure.cancel. */
err_t care_procedure_cancel(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                            json_t **out, errinfo *ei);

/*
 * Record the dose of a CT ({"ctdivol","dlp"}, mGy and mGy.cm) or
 * radiography ({"dap"}, Gy.cm2) procedure in progress or completed, once.
 * Compared with its exam's reference level: above_drl, and the values that
 * exceed it. Audited as care.dose.record (and care.dose.above-drl).
 */
err_t care_dose_record(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                       json_t **out, errinfo *ei);

/* Doses, latest first (at most 500), with their patient; above_only: those
 * above their reference level not yet reviewed. Audited as
 * care.dose.search. */
err_t care_dose_list(db *d, const audit_ctx *ctx, bool above_only, json_t **items, errinfo *ei);

/* A supervisor's review of a dose above its reference level: {"note"}.
 * ERR_CONFLICT when it is not above, or reviewed already. *out is the dose.
 * Audited as care.dose.review. */
err_t care_dose_review(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                       json_t **out, errinfo *ei);

/* The diagnostic reference levels, by exam. */
err_t care_drl_list(db *d, json_t **items, errinfo *ei);

/* Set the reference level of an exam (new or the site's own):
 *   {"modality":"ct|xray","name","ctdivol"?,"dlp"?,"dap"?,"source"}
 * CT needs ctdivol or dlp, radiography dap. Audited as care.drl.set. */
err_t care_drl_put(db *d, const audit_ctx *ctx, const char *exam, const json_t *body, json_t **out,
                   errinfo *ei);

#endif
