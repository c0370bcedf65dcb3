/*
 * fitness.h - whether a device is fit for use, for the release gate
 * (lab/gate.c: "device-unfit"), and the look again at the results the gate
 * held once something may have restored fitness.
 *
 * A device is not fit when it is out of service or retired; when a
 * safety-critical schedule of it (schedule.h) is overdue; or when the last
 * record of a safety-critical schedule failed; or when a tolerance QC check
 * of it (qc/tolerance.h) is locked or overdue. Everything is judged at a
 * given time (the gate: now, the time of release), from the records made at
 * or before it; the status is the asset's current one.
 */
#ifndef BENCHSIDE_EQUIP_FITNESS_H
#define BENCHSIDE_EQUIP_FITNESS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

/*
 * Whether the device linked to instrument (assets.instrument) is fit at
 * time at. why (n bytes) is "" when it is, or when no asset is linked to
 * that instrument; otherwise it names the device and says why, e.g.
 * "CHEM-1 (BME-00412): calibration overdue since 2026-10-02" (several
 * reasons are joined by "; "). Returns an error only when the check itself
 * could not run.
 */
err_t equip_fitness(db *d, const char *instrument, int64_t at, char *why, size_t n, errinfo *ei);

/*
 * The fitness of the asset tagged tag at time at: {"asset","instrument",
 * "at","fit","reasons":[...],"schedules":[{"schedule_id","kind","template",
 * "safety_critical","state","due_at","overdue_at","last_done",
 * "last_passed"}]}. ERR_NOT_FOUND naming "tag". *out is a new reference.
 */
err_t equip_fitness_json(db *d, const char *tag, int64_t at, json_t **out, errinfo *ei);

/*
 * Run automatic verification again on every result from instrument that
 * waits for review (lab/result.h: result_recheck, for each test held), after
 * a record that may restore the device's fitness: a calibration, a check,
 * maintenance, a return to service. *released (may be NULL) receives the ids
 * released (new reference). Runs in the caller's transaction.
 */
err_t equip_fitness_recheck(db *d, const audit_ctx *ctx, const char *instrument, json_t **released,
                            errinfo *ei);

#endif
