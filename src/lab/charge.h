/*
 * charge.h - charges: each released test gives one charge line (patient,
 * date of service, CPT code, ICD-10-CM reasons, ordering clinician). A
 * cancelled or rejected test has no result and so no charge; a correction
 * changes the result, not the number of lines, so nothing is charged twice.
 * Lines are taken by their first release in a date range and exported as CSV
 * or as HL7 v2 DFT^P03 messages for a billing system.
 */
#ifndef BENCHSIDE_LAB_CHARGE_H
#define BENCHSIDE_LAB_CHARGE_H

#include <stdint.h>

#include "auth/audit.h"
#include "base/buf.h"
#include "base/err.h"
#include "store/db.h"

typedef enum {
    CHARGE_CSV, /* RFC 4180 with a header line */
    CHARGE_HL7, /* one HL7 v2.5.1 DFT^P03 message per line (MSH, EVN, PID, PV1, FT1) */
} charge_format;

/*
 * Append the charges released in [from, to) (UTC microseconds) to out, in
 * format. *count receives the number of lines. Audited as charge.export.
 */
err_t charge_export(db *d, const audit_ctx *ctx, int64_t from, int64_t to, charge_format format,
                    buf *out, int *count, errinfo *ei);

#endif
