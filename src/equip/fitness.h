/*
 * fitness.h - whether a device is fit for use, for the release gate
 * (lab/gate.c: "device-unfit"), and the look again at the results the gate
 * held once something restores fitness.
 */
#ifndef BENCHSIDE_EQUIP_FITNESS_H
#define BENCHSIDE_EQUIP_FITNESS_H

#include <jansson.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

/*
 * Run automatic verification again on every result from instrument that
 * waits for review (lab/result.h: result_recheck, for each test held), after
 * a record that may restore the device's fitness: a calibration, a check, a
 * return to service. *released (may be NULL) receives the ids released
 * (new reference). Runs in the caller's transaction.
 */
err_t equip_fitness_recheck(db *d, const audit_ctx *ctx, const char *instrument, json_t **released,
                            errinfo *ei);

#endif
