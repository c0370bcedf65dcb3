/*
 * steril.h - sterilization of instrument sets: the sets, the cycles of the
 * sterilizers (assets of class autoclave) with their parameters, load and
 * indicators, where each set went afterwards, and the recall of a load
 * whose biological indicator grew.
 *
 * A cycle is judged when it is recorded: its parameters against the
 * program's minimum temperature and exposure time (the table in steril.c),
 * and its chemical indicator. A cycle that fails either is "failed": its
 * sets are not used until sterilized again. A load with implants waits
 * ("quarantined") until its biological indicator is read negative; other
 * loads are "released" at once and their biological indicator is read when
 * its incubation ends. A positive biological indicator "recalls" the load:
 * care_steril_recall() lists every set of it, the procedures it was used in
 * and their patients.
 *
 * A set is used (care_set_use) from the last cycle that sterilized it, once:
 * a second use needs a new cycle. Every write is audited in the transaction
 * that makes it; the recall names patients and its reading is audited.
 */
#ifndef BENCHSIDE_CARE_STERIL_H
#define BENCHSIDE_CARE_STERIL_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define CARE_LOAD_MAX 100 /* sets in one load */

/* Register an instrument set: {"code","name"}. ERR_CONFLICT naming "code"
 * when it exists. Audited as care.set.create. */
err_t care_set_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);

/* The sets by code, each with the status of the last cycle that
 * sterilized it (null when none) and whether it was used since. */
err_t care_set_list(db *d, json_t **items, errinfo *ei);

/*
 * Record a cycle:
 *   {"sterilizer","cycle_number","program","started_at"?,"exposure_minutes",
 *    "temperature","pressure","chemical":"pass|fail",
 *    "biological":"pending|negative|positive","implants"?,"sets":[codes]}
 * Both indicators must be given (a missing one is ERR_MISSING_FIELD). The
 * sterilizer is an in-service autoclave of the asset register; started_at
 * not in the future; the cycle number is the sterilizer's own (ERR_CONFLICT
 * when it is on record). *out is the cycle. Audited as care.cycle.create.
 */
err_t care_cycle_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);

/* One cycle with its load. ERR_NOT_FOUND naming "id". */
err_t care_cycle_get(db *d, const char *id, json_t **out, errinfo *ei);

/* Cycles, latest first (at most 500), of one sterilizer (a tag; NULL all). */
err_t care_cycle_list(db *d, const char *sterilizer, json_t **items, errinfo *ei);

/*
 * Read a pending biological indicator: {"result":"negative|positive"}.
 * Negative releases a quarantined load; positive recalls the load.
 * ERR_CONFLICT when it was read already. *out is the cycle. Audited as
 * care.cycle.biological (and care.cycle.recall).
 */
err_t care_cycle_biological(db *d, const audit_ctx *ctx, const char *id, const json_t *body,
                            json_t **out, errinfo *ei);

/*
 * Where the load of cycle id went: {"cycle","sets":[{"set","name","uses":
 * [{"procedure_id","modality","exam","used_at","patient":{"id","mrn",
 * "name"}}]}],"patients":[ids]}. ERR_NOT_FOUND naming "id". No audit of
 * its own (the caller's audit_read).
 */
err_t care_steril_recall(db *d, const char *id, json_t **out, errinfo *ei);

/*
 * A set used in procedure procedure_id: {"set","used_at"?}. Refused
 * (ERR_CONFLICT naming "set") when the set's last cycle failed, was
 * recalled or is quarantined, when it has no cycle on record, or was used
 * since; and when the procedure is completed or cancelled. *out is the
 * procedure. Audited as care.set.use.
 */
err_t care_set_use(db *d, const audit_ctx *ctx, const char *procedure_id, const json_t *body,
                   json_t **out, errinfo *ei);

#endif
