/*
 * report.h - the patient's cumulative laboratory report as a PDF (cairo), A4
 * landscape: for each section of the laboratory (the catalog panel holding
 * the test) a grid of the tests (name, unit, reference range) by collection
 * time, newest first, each value with its flag, "(c)" when corrected; columns
 * that do not fit continue in the section's next block. Corrected results'
 * earlier values (who, when, why) and critical values' documented calls are
 * footnotes; results still in review are counted, not shown; every released
 * result appears. report.c says how the layout is chosen.
 */
#ifndef BENCHSIDE_LAB_REPORT_H
#define BENCHSIDE_LAB_REPORT_H

#include "auth/audit.h"
#include "base/buf.h"
#include "base/err.h"
#include "store/db.h"

/* Append the PDF to out (the caller frees it). Audited as report.read.
 * ERR_NOT_FOUND for an unknown patient, ERR_NOMEM, the database's errors, ERR_INTERNAL
 * for a cairo failure; on any error nothing is appended and nothing written. */
err_t report_patient_pdf(db *d, const audit_ctx *ctx, const char *patient_id, buf *out,
                         errinfo *ei);

#endif
