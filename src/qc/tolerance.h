/*
 * tolerance.h - tolerance QC for any device: a check with a target and a
 * fixed tolerance, judged pass or fail against target +- tolerance rather
 * than by the Westgard rules. The CT number of water on the daily phantom
 * (0 +- 5 HU), an ultrasound phantom's depth of penetration, a centrifuge's
 * measured speed: each is a check of one asset of the register.
 *
 * A failed result opens a lockout on its check, as a rejected Westgard run
 * locks a test: the device is not fit for use (qc_tolerance_fitness(), read
 * by the equipment fitness gate) until a result recorded after the failure
 * passes and a supervisor documents the corrective action, signed with their
 * password. A check that is overdue (its frequency: every 8 hours, 24 hours
 * or 7 days since the last passing result) also makes the device unfit.
 * Each result keeps the target and tolerance it was judged against, so
 * changing them does not rewrite history; the chart (qc/chart.h) plots them.
 *
 * Every write is audited in its transaction; a refused request writes nothing
 * and names the field at fault.
 */
#ifndef BENCHSIDE_QC_TOLERANCE_H
#define BENCHSIDE_QC_TOLERANCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define QC_TOL_TEXT_MAX 64 /* code, unit: bytes */
#define QC_TOL_NAME_MAX 200

/* Pass: |value - target| <= tolerance (a value on the limit passes; decimal
 * inputs are compared with the slack pt_grade() allows for binary rounding). */
bool qc_tolerance_pass(double value, double target, double tolerance);

/* Hours in a frequency ("8h", "24h", "7d"); 0 for anything else. */
int qc_tolerance_hours(const char *frequency);

/*
 * Define a check of a device:
 *   {"device": asset tag, "code","name","unit","target","tolerance" (> 0),
 *    "frequency": "8h"|"24h"|"7d"}
 * ERR_CONFLICT (field "code") when the device has a check of that code.
 * *out is the check as qc_tolerance_check_get() gives it. Audited as
 * qc.check.create.
 */
err_t qc_tolerance_check_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                                errinfo *ei);

/* Change a check: {"name"?,"target"?,"tolerance"?,"frequency"?,"active"?}.
 * Earlier results keep what they were judged against. Audited. */
err_t qc_tolerance_check_update(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                                json_t **out, errinfo *ei);

/* One check with its device, its last result, whether it is overdue and its
 * open lockout. ERR_NOT_FOUND naming "id". *out is a new reference. */
err_t qc_tolerance_check_get(db *d, const char *id, json_t **out, errinfo *ei);

/* Checks of a device (its asset tag; NULL for every device), by device and
 * code. An unknown tag is ERR_INVALID naming "device". */
err_t qc_tolerance_checks_list(db *d, const char *device, json_t **items, errinfo *ei);

/*
 * Record a result of a check: {"value": number or decimal text, "at"?: ISO
 * time, not in the future (default now), "note"?}. The check must be active.
 * A failing result opens a lockout when none is open. *out is the result
 * with "passed", "deviation" and "lockout" (the open lockout's id or null).
 * Audited as qc.check.result.
 */
err_t qc_tolerance_result_enter(db *d, const audit_ctx *ctx, const char *check_id,
                                const json_t *body, json_t **out, errinfo *ei);

/* Results of a check in [from, to) (to 0: no end), oldest first, at most 5000. */
err_t qc_tolerance_results_list(db *d, const char *check_id, int64_t from, int64_t to,
                                json_t **items, errinfo *ei);

/* Lockouts of every device, newest first; open_only for those not closed. */
err_t qc_tolerance_lockouts_list(db *d, bool open_only, json_t **items, errinfo *ei);

/*
 * Close a lockout: {"corrective_action","password"}, by a supervisor signing
 * with their password. ERR_CONFLICT until a result recorded after the failure
 * has passed. The patient results held because the device was unfit are then
 * checked by the gate again; *out has "released" (their ids).
 */
err_t qc_tolerance_lockout_close(db *d, const audit_ctx *ctx, const user *u, const char *id,
                                 const json_t *body, json_t **out, errinfo *ei);

/*
 * Whether the device asset_id is fit as far as its tolerance checks go, at
 * time at: why is "" when fit, else names the check and the reason (an open
 * lockout, or no passing result within the check's frequency before at).
 */
err_t qc_tolerance_fitness(db *d, const char *asset_id, int64_t at, char *why, size_t n,
                           errinfo *ei);

#endif
