/*
 * pbqc.h - patient-based QC on record: per test and instrument ("" for the
 * manual bench) a running average of the patient results (qc/movavg.h:
 * Bull's algorithm, EWMA or a batch mean) with its own target and limits,
 * the points it computes, and the alert a point out of limits opens.
 *
 * Every numeric patient result entered (lab/result.c, by hand or from an
 * analyzer) is passed to qc_pbqc_observe() inside the transaction that
 * stores it. The state lives in one row per test and instrument, updated in
 * place, so that the cost to result entry is one statement for a test
 * without settings, two for one with them, and one more for a point.
 *
 * An alert warns; it does not hold results at the release gate. The average
 * of a population reacts a batch or more after the fact, and a change in the
 * population (a clinic's patients run together) moves it as well as the
 * instrument does: it calls for running the controls, and a control that
 * fails then locks the test out through the gate as usual (qc/qc.h). A
 * supervisor acknowledges the alert with a note, and may restart the average
 * from the target (after a recalibration).
 */
#ifndef BENCHSIDE_QC_PBQC_H
#define BENCHSIDE_QC_PBQC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define QC_PBQC_NOTE_MAX   2000
#define QC_PBQC_POINTS_MAX 1000 /* points one series read returns: the latest */

/*
 * Set the patient-based QC of a test on an instrument: {"test",
 * "instrument"?, "method":"bull"|"ewma"|"mean", "batch"?, "lambda"?,
 * "target", "limit", "limit_kind"?:"percent"|"absolute", "truncate_low"?,
 * "truncate_high"?, "enabled"?}. batch defaults to 20, limit_kind to
 * percent, enabled to true; lambda is for ewma only (and required there).
 * The test must be a numeric test of the catalog. Errors name the field;
 * nothing is written then. Changing the method, batch, lambda, target or
 * truncation limits restarts the average from the target; changing the
 * limits or enabled keeps it. Audited as qc.pbqc.settings. *out is the
 * settings with their state.
 */
err_t qc_pbqc_settings_set(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei);
/* Every test and instrument with settings, with their state. */
err_t qc_pbqc_settings_list(db *d, json_t **items, errinfo *ei);

/*
 * The points of a test on an instrument computed in [from, to) (0: open),
 * oldest first, at most the latest QC_PBQC_POINTS_MAX: {"test",
 * "instrument","settings"(or null),"points":[...]}. ERR_INVALID naming
 * "test" when it is not a test of the catalog.
 */
err_t qc_pbqc_series(db *d, const char *test, const char *instrument, int64_t from, int64_t to,
                     json_t **out, errinfo *ei);

/* Alerts, newest first (at most 500): only those not acknowledged when
 * open_only; of one test and instrument when given (NULL: any). */
err_t qc_pbqc_alerts_list(db *d, bool open_only, const char *test, const char *instrument,
                          json_t **items, errinfo *ei);

/*
 * Acknowledge an alert: {"note","restart"?}. ERR_NOT_FOUND for no such
 * alert, ERR_CONFLICT when it was acknowledged already. With "restart":true
 * the average of its test and instrument starts again from the target.
 * Audited as qc.pbqc.alert.acknowledge. *out is the alert.
 */
err_t qc_pbqc_alert_acknowledge(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                                json_t **out, errinfo *ei);

/*
 * One patient result of test on instrument ("" the manual bench), entered
 * at `at`: counted into the average when the test and instrument have
 * enabled settings (nothing happens otherwise). A point it completes is
 * recorded; a point out of limits opens an alert when none is open for the
 * test and instrument (audited as qc.pbqc.alert, by ctx). Must run inside the
 * caller's transaction; returns an error only when the database fails.
 */
err_t qc_pbqc_observe(db *d, const audit_ctx *ctx, const char *test, const char *instrument,
                      double value, int64_t at, errinfo *ei);

#endif
