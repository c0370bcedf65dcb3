/*
 * pt.h - proficiency testing: events an external provider (CAP, API, WSLH...)
 * sends, their samples, the results the laboratory submits, their grades
 * against the provider's targets, a score per analyte, and the corrective
 * action an unsatisfactory analyte calls for.
 *
 * An event goes open -> submitted (every sample has its result) -> graded
 * (the provider's targets recorded) -> closed (every unsatisfactory analyte
 * has a supervisor's signed corrective action; at once when none is).
 *
 * Grading (pure, below): a result is acceptable when |value - target| is at
 * most the acceptance limit, pct percent of the target or abs in the test's
 * unit, whichever is larger (the provider's, else the CLIA limit of
 * qc/sigma.h). The score of an analyte in an event is the share of its
 * samples graded acceptable; 80% or better is satisfactory. A sample with no
 * result submitted by the due date is graded not acceptable.
 *
 * Every write is audited in the transaction that makes it; a refused request
 * writes nothing and names the field at fault ("samples[2].test").
 */
#ifndef BENCHSIDE_QC_PT_H
#define BENCHSIDE_QC_PT_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define PT_TEXT_MAX     64   /* provider, event, sample, instrument: bytes */
#define PT_SAMPLES_MAX  200  /* samples of one event */
#define PT_ACTION_MAX   2000 /* a corrective action: bytes */
#define PT_SATISFACTORY 80   /* the lowest satisfactory score, percent */

/* ---- grading: pure, no database ---- */

/* The acceptance limit in the test's unit: pct percent of |target| or abs,
 * whichever is larger (0 for either when there is none). */
double pt_limit(double target, double pct, double abs);

/*
 * Whether value is acceptable against target: |value - target| <= the limit
 * of pt_limit(). A difference on the limit is acceptable; so that decimal
 * inputs stay exact, one part in 10^12 of the numbers compared is allowed
 * for binary rounding (4.4 against 4.1 with a limit of 0.3 is on the limit,
 * although 4.4 - 4.1 is 0.30000000000000071 as a double).
 */
bool pt_grade(double value, double target, double pct, double abs);

/* The score of an analyte: acceptable of graded samples, as a percentage
 * (graded > 0; NAN otherwise). */
double pt_score(int acceptable, int graded);

/* Satisfactory: a score of PT_SATISFACTORY percent or better, counted in
 * whole numbers (4 of 5 is exactly 80). False when graded is 0. */
bool pt_satisfactory(int acceptable, int graded);

/* ---- on record ---- */

/*
 * Create an event with its samples:
 *   {"provider","event","due_date":"YYYY-MM-DD",
 *    "samples":[{"sample","test","instrument"?}]}
 * Samples are unique in the event; each test must be a numeric test of the
 * catalog. ERR_CONFLICT (field "event") when the provider has an event of
 * that name already. *out is the event as pt_event_get() gives it (new
 * reference). Audited as pt.event.create.
 */
err_t pt_event_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);

/* Events, latest due date first (at most 500); status NULL for all, or one
 * of open, submitted, graded, closed. Each with counts of its samples and of
 * the results submitted. *items is a new reference. */
err_t pt_events_list(db *d, const char *status, json_t **items, errinfo *ei);

/* One event with its samples (results and grades) and, once graded, its
 * scores per analyte and their corrective actions. ERR_NOT_FOUND (field
 * "id") when there is none. *out is a new reference. */
err_t pt_event_get(db *d, const char *id, json_t **out, errinfo *ei);

/*
 * Submit results: {"results":[{"sample","value"}],"sent_at"?}. value is a
 * number (or its decimal text). A result counts as sent to the provider at
 * sent_at (ISO 8601; default now), which must be on or before the due date
 * (UTC) and not in the future: after the due date results are refused
 * (ERR_CONFLICT, field "due_date") unless sent_at says they reached the
 * provider in time. A sample has one result: a second is ERR_CONFLICT. All
 * or nothing. When every sample has its result the event is "submitted".
 * *out is the event. Audited as pt.results.submit.
 */
err_t pt_results_submit(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                        json_t **out, errinfo *ei);

/*
 * Grade an event with the provider's targets:
 *   {"targets":[{"sample","target","limit_percent"?,"limit_abs"?}]}
 * one for every sample of the event. Without a limit the CLIA limit of the
 * test applies (ERR_INVALID naming targets[i].limit_percent when CLIA sets
 * none). Refused (ERR_CONFLICT) once graded, and while results are still due
 * (before the due date with samples lacking results). A sample without a
 * result is graded not acceptable. The event becomes "graded", or "closed"
 * when every analyte is satisfactory. *out is the event. Audited as
 * pt.event.grade (and pt.event.close).
 */
err_t pt_event_grade(db *d, const audit_ctx *ctx, const char *id, const json_t *body, json_t **out,
                     errinfo *ei);

/*
 * Record the corrective action for an analyte of a graded event:
 *   {"test","corrective_action","password"}
 * signed by u with their password (lab/result.h: result_signature_check).
 * The analyte must have at least one result graded not acceptable; one
 * action per analyte and event (ERR_CONFLICT otherwise). When every
 * unsatisfactory analyte has its action the event is closed. *out is the
 * event. Audited as pt.corrective_action (and pt.event.close).
 */
err_t pt_corrective_action(db *d, const audit_ctx *ctx, const user *u, const char *id,
                           const json_t *body, json_t **out, errinfo *ei);

#endif
