/*
 * gate.h - the release gate: the one place that decides whether a result may
 * be released, and says why not.
 *
 * The rule that ties benchside together: a result is released only from a
 * device fit for use, by a person competent for it, while QC passes. Each
 * module adds its check to the table in gate.c; this one holds the
 * specimen's checks (rejected, past its stability) and the review rules
 * (critical value not yet called; for automatic release also: outside the
 * reference range, delta check failed, instrument flags).
 */
#ifndef BENCHSIDE_LAB_GATE_H
#define BENCHSIDE_LAB_GATE_H

#include <jansson.h>

#include "base/err.h"
#include "store/db.h"

typedef enum {
    GATE_AUTO,   /* auto-verification: every rule must pass */
    GATE_MANUAL, /* a person releases: only the hard holds apply */
} gate_mode;

/*
 * Check result_id for release in mode. *reasons is a new JSON array of
 * {"code","message"} (empty: it may be released). user_id is who releases
 * (NULL for automatic release). Returns an error only when the check itself
 * could not run.
 */
err_t gate_check(db *d, const char *result_id, gate_mode mode, const char *user_id,
                 json_t **reasons, errinfo *ei);

#endif
