/*
 * throttle.h - the rate limit on sign-in attempts per client address.
 *
 * The lockout (session.h) stops guessing one account's password; it does not
 * stop one address from trying a few passwords on every account (password
 * spraying) or from probing names. This limit does: an address may fail to
 * sign in `burst` times at once, then once every `interval`; successful
 * sign-ins cost nothing. It is kept in the database (table sign_in_throttle,
 * migration 0017), so that several nodes share it and a restart does not
 * reset it.
 *
 * An attempt is claimed before its password is checked, in one statement,
 * so that attempts sent together cannot all pass the limit while the slow
 * hash runs; a successful sign-in gives its claim back.
 */
#ifndef BENCHSIDE_AUTH_THROTTLE_H
#define BENCHSIDE_AUTH_THROTTLE_H

#include <stdint.h>

#include "base/err.h"
#include "store/db.h"

#define THROTTLE_BURST       30       /* failures an address may make at once */
#define THROTTLE_INTERVAL_US 10000000 /* then one every 10 s */

typedef struct throttle_limit {
    int burst;           /* failures allowed at once; 0 turns the limit off */
    int64_t interval_us; /* then one attempt every interval */
} throttle_limit;

/*
 * Claim an attempt for source at now (UTC microseconds). ERR_OK: go on (and
 * call throttle_release() when the attempt succeeds). ERR_RATE_LIMITED when
 * the address must wait: *retry_s says how many seconds (at least 1), and ei
 * says so for people. ERR_DB on a database failure.
 */
err_t throttle_claim(db *d, const char *source, const throttle_limit *lim, int64_t now,
                     int64_t *retry_s, errinfo *ei);

/*
 * Give back the claim of an attempt that succeeded, and forget addresses
 * whose claims have all run out by now.
 */
err_t throttle_release(db *d, const char *source, const throttle_limit *lim, int64_t now,
                       errinfo *ei);

#endif
