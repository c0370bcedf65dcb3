/*
 * result.h - results: entered by hand or from an instrument, flagged against
 * the reference range for the patient's sex and age at collection, checked
 * against the patient's previous result (delta), critical values alerted,
 * auto-verified or queued for review, released with an electronic signature,
 * corrected with their history kept.
 */
#ifndef BENCHSIDE_LAB_RESULT_H
#define BENCHSIDE_LAB_RESULT_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define RESULT_BATCH_MAX 100

/*
 * Enter results for the specimen of accession: {"results":[{"code","value",
 * "unit"?,"instrument"?,"instrument_flags"?}]}. value is a number or a
 * decimal string for numeric tests, text for text tests, one of the coded
 * values for coded tests. The test must be open on this specimen, the
 * specimen received and not rejected, the unit (when given) the catalog's.
 * Errors name the field ("results[1].value"); nothing is written then. Each
 * result passes the gate in automatic mode: released at once, or left for
 * review with the gate's reasons. *out is {"results":[result...]}.
 */
err_t result_enter(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                   json_t **out, errinfo *ei);

/*
 * The same entry, every rule and audit event alike, for a caller that needs
 * only the ids of the new results (the ingest writer journals them): *ids is
 * a new array of them, in the order of the body. It saves reading each
 * result back as result_enter shows it.
 */
err_t result_enter_ids(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                       json_t **ids, errinfo *ei);

/* One result with its history, critical alert and holds; audited as result.read. */
err_t result_read(db *d, const audit_ctx *ctx, const char *id, json_t **out, errinfo *ei);

/* Results waiting for review, oldest first (STAT first). Audited as result.search. */
err_t result_review_queue(db *d, const audit_ctx *ctx, int limit, json_t **items, errinfo *ei);

/*
 * Release results by hand: {"ids":[...],"password"}. The password is the
 * releasing user's, entered again (electronic signature). All or none: when
 * the gate holds any of them, ERR_CONFLICT with *out {"held":[{"id",
 * "reasons"}]} and nothing is released.
 */
err_t result_release(db *d, const audit_ctx *ctx, const user *u, const json_t *body, json_t **out,
                     errinfo *ei);

/*
 * Document the call of a critical value: {"notified","read_back":true,"at"?}.
 * Closes the alert; the result can then be released.
 */
err_t result_critical_call(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                           json_t **out, errinfo *ei);

/*
 * Correct a released result: {"value","unit"?,"reason","password"}. The
 * earlier value goes to the history with who, when and why; the result is
 * flagged again and becomes "corrected" (still released, version + 1).
 */
err_t result_correct(db *d, const audit_ctx *ctx, const user *u, const char *id, const json_t *body,
                     json_t **out, errinfo *ei);

/* The electronic signature: password must be u's own (a wrong one counts
 * toward the lockout, audited as signature.fail); ERR_INVALID naming
 * "password" otherwise. */
err_t result_signature_check(db *d, const audit_ctx *ctx, const user *u, const char *password,
                             errinfo *ei);
/* Run automatic verification again on the results of test (NULL: every
 * test) from instrument (inst, "" for the manual bench) still waiting for
 * review, after the cause of a hold is gone (a QC lockout closed, a device
 * fit again). *released: the ids now released (new reference). */
err_t result_recheck(db *d, const audit_ctx *ctx, const char *test, const char *inst,
                     json_t **released, errinfo *ei);
/* Open critical alerts, oldest first, audited. */
err_t result_open_criticals(db *d, const audit_ctx *ctx, json_t **items, errinfo *ei);

#endif
