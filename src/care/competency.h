/*
 * competency.h - who may release results: the certifications and licences
 * of staff, the test systems of the competency program, competency
 * assessments with the six CLIA elements, the operators of record of
 * instruments, and the release gate's competency check.
 *
 * The rule (lab/gate.c, "competency"): a result is released only by a
 * person competent for its test system, and released automatically only
 * when the operator of record was. A test system applies to a result when
 * it is the result's instrument, the asset class of that instrument's
 * device, or (a result entered by hand, no instrument) its test. A person is
 * competent for a system on a day when their latest assessment on it up to
 * that day was satisfactory and is not yet due again, and, when the system
 * requires a certification, they hold one of that kind valid that day. When
 * several systems apply, competence for one is enough; when none applies
 * the test system is outside the program and the check passes.
 *
 * Assessments are due six months after one made in the person's first year
 * on the system (counted from their first satisfactory assessment on it),
 * and a year after any later one (CLIA: semiannually in the first year,
 * then annually).
 *
 * The operator of record of an instrument is whoever signed on to it last
 * (care_operator_sign_on) before the result was measured, until they or
 * someone else signs off or on. With no one signed on, the person who
 * entered the result is its operator when it was entered by a person.
 *
 * Every write is audited in the transaction that makes it; a refused
 * request writes nothing and names the field at fault.
 */
#ifndef BENCHSIDE_CARE_COMPETENCY_H
#define BENCHSIDE_CARE_COMPETENCY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define CARE_MONTHS_FIRST_YEAR 6  /* an assessment in the first year holds six months */
#define CARE_MONTHS_LATER      12 /* later ones a year */

/* ---- pure ---- */

/* Whether kind is a certification kind of the list in competency.c (ASCP,
 * AMT, ARRT, ARDMS, CCI, state-licence, BLS, ACLS). */
bool care_cert_kind_valid(const char *kind);

/*
 * Whether an assessment on assessed_on falls in the person's first year on
 * the system: first_on is the date of their first satisfactory assessment
 * on it (NULL or after assessed_on: this one is the first).
 */
bool care_competency_first_year(const char *first_on, const char *assessed_on);

/* When the next assessment is due after one on assessed_on: six months
 * later in the first year, twelve otherwise. False when assessed_on is not
 * a date. */
bool care_competency_due(const char *assessed_on, bool first_year, char out[11]);

/*
 * The result of an assessment from its six elements (each "met", "not-met"
 * or "not-applicable", in the order of the table in competency.c): true
 * (satisfactory) when none is not met and direct observation of routine
 * testing is met.
 */
bool care_competency_satisfactory(const char *const elements[6]);

/* ---- on record ---- */

/*
 * Record a certification or licence:
 *   {"user","kind","number","issuer","issued_on","expires_on"}
 * Issued on or before today; expires after it was issued; one already
 * expired is refused (naming expires_on: record the renewal). *out is the
 * certification (new reference). Audited as care.certification.create.
 * The results held for lack of it are checked again.
 */
err_t care_cert_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);

/* Certifications, of one person (username; NULL all), latest expiry first,
 * each with "valid" today. *items is a new reference. */
err_t care_cert_list(db *d, const char *username, json_t **items, errinfo *ei);

/*
 * Put a test system in the competency program:
 *   {"code","kind":"instrument|class|test","name","certification"?}
 * code is an instrument of the register, an asset class, or a test of the
 * catalog, by kind; certification a kind of certification. ERR_CONFLICT
 * naming "code" when it is in the program already. Audited as
 * care.system.create.
 */
err_t care_system_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                         errinfo *ei);

/* The test systems of the program, by code. */
err_t care_system_list(db *d, json_t **items, errinfo *ei);

/*
 * Record a competency assessment, signed by the assessor u:
 *   {"user","system","assessed_on","elements":{"direct_observation",
 *    "monitoring_records","review_worksheets","maintenance_observation",
 *    "blind_samples","problem_solving"},"notes"?,"password"}
 * each element "met", "not-met" or "not-applicable". The assessor is not
 * the person assessed; assessed_on is not in the future. The result and the
 * date it is due again are computed. *out is the assessment. Audited as
 * care.assessment.create; a satisfactory one checks again the results held
 * on the systems it covers.
 */
err_t care_assessment_create(db *d, const audit_ctx *ctx, const user *u, const json_t *body,
                             json_t **out, errinfo *ei);

/*
 * One person's record: {"user","display_name","role","certifications",
 * "assessments","competency":[{"system","name","kind","competent","due_on",
 * "reason"}]} for every system of the program, as of today. ERR_NOT_FOUND
 * naming "username".
 */
err_t care_staff_get(db *d, const char *username, json_t **out, errinfo *ei);

/*
 * Reminders: certifications (the latest of each kind a person holds) and
 * competencies (the latest assessment of a person on a system) of enabled
 * accounts that expire within the next within days (0..366), or have
 * expired; soonest first: {"type":"certification|competency","user",
 * "what","date","days_left","expired"}.
 */
err_t care_expiring(db *d, int within, json_t **items, errinfo *ei);

/*
 * Sign on to an instrument as its operator of record: {"instrument",
 * "user"?}. user defaults to u; naming someone else needs may_name (a
 * supervisor). The instrument is an analyzer or point-of-care device of the
 * register. *out is {"instrument","user","since","competent","reasons"}
 * (whether the operator is competent for the systems that apply to the
 * instrument now). Audited as care.operator.sign-on.
 */
err_t care_operator_sign_on(db *d, const audit_ctx *ctx, const user *u, bool may_name,
                            const json_t *body, json_t **out, errinfo *ei);

/* Sign off: the instrument has no operator of record from now.
 * ERR_CONFLICT when it has none. Audited as care.operator.sign-off. */
err_t care_operator_sign_off(db *d, const audit_ctx *ctx, const char *inst, errinfo *ei);

/* The current operator of record of every instrument that has had one. */
err_t care_operator_list(db *d, json_t **items, errinfo *ei);

/*
 * The release gate's check of result_id: user_id releases it (NULL:
 * automatic release, judged on the operator of record), on the UTC day of
 * now. why (n bytes) is "" when competence is not in question or is there;
 * otherwise it says who lacked what, e.g. "tech1 is not competent:
 * competency for CHEM-1 expired: assessed 2025-01-10, due again by
 * 2025-07-10". Returns an error only when the check itself could not run.
 */
err_t care_competency_gate(db *d, const char *result_id, const char *user_id, int64_t now,
                           char *why, size_t n, errinfo *ei);

#endif
