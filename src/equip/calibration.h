/*
 * calibration.h - calibration records with traceability.
 *
 * A calibration lists its points: name, unit, nominal value, tolerance
 * (absolute, in the unit), the value found before adjustment (as_found, may
 * be absent) and the value left after it (as_left). It passes when every
 * as_left is within tolerance of its nominal. An as_found out of tolerance
 * is recorded and reported, with the period since the previous calibration
 * whose results may need a look back.
 *
 * Who and when (never in the future), and what the device was compared
 * with: either a reference standard of the register (an asset of class
 * calibration-standard, not the device itself) that was in calibration at
 * that time, or an external certificate (provider, certificate number,
 * valid_until), as a standard's own calibration by an outside laboratory
 * has.
 *
 * A standard is in calibration at time t when its last calibration at or
 * before t passed and still held at t: until the day of valid_until for an
 * external certificate; for one of its own, for the interval plus grace of
 * its calibration schedule (the shortest when several apply). A calibration
 * against a standard that is not is refused naming "standard" and saying
 * why ("standard STD-004's calibration expired on 2026-09-30"). The record
 * keeps which calibration of the standard made it valid, so the chain up to
 * an external certificate can be read back (traceability).
 */
#ifndef BENCHSIDE_EQUIP_CALIBRATION_H
#define BENCHSIDE_EQUIP_CALIBRATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

#define EQUIP_POINTS_MAX 100 /* points of one calibration */
#define EQUIP_CHAIN_MAX  10  /* links of a traceability chain shown */

/* Whether value is within tolerance of nominal: |value - nominal| <=
 * tolerance, on the limit included (one part in 10^12 of slack so that
 * decimal inputs stay exact: 100.2 against 100 with 0.2 is on it). */
bool equip_point_within(double value, double nominal, double tolerance);

/*
 * Record a calibration:
 *   {"asset":TAG,"performed_at"?,"by"?,"notes"?,
 *    "standard":TAG | "external":{"provider","certificate","valid_until"},
 *    "points":[{"name","unit","nominal","tolerance","as_found"?,"as_left"}]}
 * (exactly one of standard and external; 1 to EQUIP_POINTS_MAX points with
 * distinct names; tolerance > 0; valid_until YYYY-MM-DD, not before the
 * day of the calibration). *out is the calibration as equip_calibration_get()
 * gives it. Audited as equip.calibration.record; the results held from the
 * asset's instrument are looked at again.
 */
err_t equip_calibration_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                               errinfo *ei);

/*
 * One calibration with its points, its standard (tag, the calibration that
 * made it valid, until when) or external certificate, the points found out
 * of tolerance and the look-back period, and the traceability chain: each
 * standard up to an external certificate. ERR_NOT_FOUND naming "id".
 */
err_t equip_calibration_get(db *d, const char *id, json_t **out, errinfo *ei);

/* The calibrations of an asset, latest first (at most 200), without their
 * chains. */
err_t equip_calibration_list(db *d, const char *tag, json_t **items, errinfo *ei);

/*
 * Whether the standard std_id (tagged std_tag) is in calibration at time
 * at (see above). ERR_OK with the calibration that makes it so in cal_id
 * and the last day it holds in until (YYYY-MM-DD); ERR_INVALID naming
 * "standard" with the reason otherwise.
 */
err_t equip_standard_valid(db *d, const char *std_id, const char *std_tag, int64_t at,
                           char cal_id[ID_LEN + 1], char until[11], errinfo *ei);

#endif
