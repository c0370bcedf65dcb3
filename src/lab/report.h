/*
 * report.h - the patient's cumulative laboratory report as a PDF (cairo):
 * every released result by test, newest first, with its reference range,
 * flag and unit; corrected results marked and their earlier values given in
 * footnotes with who, when and why; critical values with their documented
 * call. Results still in review are counted, not shown.
 */
#ifndef BENCHSIDE_LAB_REPORT_H
#define BENCHSIDE_LAB_REPORT_H

#include "auth/audit.h"
#include "base/buf.h"
#include "base/err.h"
#include "store/db.h"

/* Append the PDF to out (the caller frees it). Audited as report.read. */
err_t report_patient_pdf(db *d, const audit_ctx *ctx, const char *patient_id, buf *out,
                         errinfo *ei);

#endif
