/*
 * throttle.c - the rate limit on sign-in attempts per address (see
 * throttle.h): a generic cell rate algorithm on one row per address.
 *
 * ready_at is when the address would owe nothing. A claim moves it one
 * interval past the later of itself and now, allowed while it stays within
 * burst intervals of now; a release moves it one interval back.
 */
#include "auth/throttle.h"

/* The upsert claims only when the row's debt leaves room for one more. */
static const char sql_claim[] =
    "INSERT INTO sign_in_throttle (source, ready_at) VALUES (?, CAST(? AS BIGINT))"
    " ON CONFLICT (source) DO UPDATE SET ready_at = (CASE WHEN sign_in_throttle.ready_at >"
    " CAST(? AS BIGINT) THEN sign_in_throttle.ready_at ELSE CAST(? AS BIGINT) END) +"
    " CAST(? AS BIGINT) WHERE sign_in_throttle.ready_at <= CAST(? AS BIGINT) RETURNING ready_at";
static const char sql_ready[] = "SELECT ready_at FROM sign_in_throttle WHERE source = ?";
static const char sql_release[] =
    "UPDATE sign_in_throttle SET ready_at = ready_at - CAST(? AS BIGINT) WHERE source = ?";
static const char sql_forget[] = "DELETE FROM sign_in_throttle WHERE ready_at <= ?";

err_t throttle_claim(db *d, const char *source, const throttle_limit *lim, int64_t now,
                     int64_t *retry_s, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    int64_t ready = 0;
    *retry_s = 0;
    if (lim->burst <= 0)
        return ERR_OK;
    int64_t room = now + (int64_t)(lim->burst - 1) * lim->interval_us;
    err_t rc = db_query(d, &st, ei, sql_claim, "tiiiii", source, now + lim->interval_us, now, now,
                        lim->interval_us, room);
    if (!rc)
        rc = db_step(st, &row, ei);
    db_finalize(st);
    st = NULL;
    if (rc || row)
        return rc;
    /* Refused: how long until the debt leaves room for one attempt. */
    rc = db_query(d, &st, ei, sql_ready, "t", source);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        ready = db_col_int64(st, 0);
    db_finalize(st);
    if (rc)
        return rc;
    int64_t wait_us = ready - room;
    *retry_s = wait_us > 0 ? (wait_us + 999999) / 1000000 : 1;
    return err_set(ei, ERR_RATE_LIMITED, NULL,
                   "too many failed sign-ins from this address; try again in %lld s",
                   (long long)*retry_s);
}

err_t throttle_release(db *d, const char *source, const throttle_limit *lim, int64_t now,
                       errinfo *ei)
{
    if (lim->burst <= 0)
        return ERR_OK;
    err_t rc = db_run(d, ei, NULL, sql_release, "it", lim->interval_us, source);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_forget, "i", now);
    return rc;
}
