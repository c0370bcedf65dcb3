/*
 * tat.h - turnaround time: from receipt in the laboratory to release, against
 * each test's target for the order's priority (the catalog's tat_minutes).
 */
#ifndef BENCHSIDE_LAB_TAT_H
#define BENCHSIDE_LAB_TAT_H

#include <jansson.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

/*
 * Tests released in [from, to) (UTC microseconds), per priority: count,
 * median and 90th percentile minutes from collection to release, from receipt
 * to release, from receipt to result and from result to release, and the
 * share released within target (receipt to release). *out is {"from","to",
 * "priorities":[...]}.
 */
err_t tat_summary(db *d, int64_t from, int64_t to, json_t **out, errinfo *ei);

/*
 * Tests received but not released whose target has passed at now, the most
 * overdue first, with how late (minutes). Audited as a search (the list names
 * patients' specimens).
 */
err_t tat_overdue(db *d, const audit_ctx *ctx, int64_t now, json_t **out, errinfo *ei);

#endif
