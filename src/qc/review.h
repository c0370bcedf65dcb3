/*
 * review.h - the monthly QC report: for a month (and one instrument, or all),
 * every test's QC per control material (N, mean, SD, CV, bias, Sigma, runs
 * rejected), the lockouts and their corrective actions, and the supervisor's
 * electronic signature once the month has been reviewed.
 */
#ifndef BENCHSIDE_QC_REVIEW_H
#define BENCHSIDE_QC_REVIEW_H

#include <jansson.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/buf.h"
#include "base/err.h"
#include "store/db.h"

/* The month "YYYY-MM" (a real month) as [from, to) in UTC microseconds;
 * ERR_INVALID naming "month" otherwise. */
err_t qc_month_range(const char *month, int64_t *from, int64_t *to, errinfo *ei);

/* The report as a PDF appended to out (instrument NULL or "": all).
 * Audited as qc.report. */
err_t qc_month_report(db *d, const audit_ctx *ctx, const char *month, const char *instrument,
                      buf *out, errinfo *ei);

/* Sign the month's QC as reviewed: {"month","instrument"?,"comment"?,
 * "password"}. Refused for a month not yet over, or signed already
 * (ERR_CONFLICT). *out is the signature. */
err_t qc_month_sign(db *d, const audit_ctx *ctx, const user *u, const json_t *body, json_t **out,
                    errinfo *ei);

#endif
