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

/* One procedure with its device, the sets used in it, and (imaging) its
 * preparation and dose. ERR_NOT_FOUND naming "id". No audit of its own (the
 * caller's audit_read). */
err_t care_procedure_get(db *d, const char *id, json_t **out, errinfo *ei);

/*
 * The patient and status of procedure id, for a module that records
 * something in it (an instrument set used). ERR_INVALID naming field when
 * there is no such procedure.
 */
err_t care_procedure_of(db *d, const char *id, const char *field, char patient_id[ID_LEN + 1],
                        char status[16], errinfo *ei);

#endif
