/*
 * session.h - signing in and out, and finding the user behind a token.
 *
 * A sign-in hands out a random 256-bit token (64 hex characters). Only its
 * BLAKE2b hash is stored. A session ends when signed out or when it has been
 * idle longer than the configured time. Five wrong passwords in a row lock the
 * account (user.h); a locked or disabled account cannot sign in, whatever the
 * password, and its open sessions stop working.
 */
#ifndef BENCHSIDE_AUTH_SESSION_H
#define BENCHSIDE_AUTH_SESSION_H

#include <stdint.h>

#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define SESSION_TOKEN_LEN 64

/*
 * Check the password and open a session. source is the client's address.
 * Returns ERR_BAD_CREDENTIALS (unknown user or wrong password, alike),
 * ERR_LOCKED or ERR_DISABLED; each refusal is audited as session.fail, and the
 * wrong password that locks the account also as user.lock.
 */
err_t session_login(db *d, const char *username, const char *password, const char *source,
                    char token[SESSION_TOKEN_LEN + 1], user *out, errinfo *ei);

/*
 * The user of a live session. idle_us is the idle time-out. Marks the session
 * as seen (at most every few seconds, so that reads stay reads). Returns
 * ERR_UNAUTHORIZED when the token is unknown, ended, idle too long, or its user
 * is locked or disabled.
 */
err_t session_lookup(db *d, const char *token, int64_t idle_us, user *out, errinfo *ei);

/*
 * The same check without marking the session as seen: for what a page does by
 * itself (a live-update stream, a refresh after an event), which must not
 * keep an unattended session open past its idle time-out.
 */
err_t session_peek(db *d, const char *token, int64_t idle_us, user *out, errinfo *ei);

/* End the session of token (audited as session.delete by ctx). */
err_t session_logout(db *d, const audit_ctx *ctx, const char *token, errinfo *ei);

/* Change one's own password, checking the current one first. The user's other
 * sessions end; the one of token (may be NULL) goes on. */
err_t session_change_password(db *d, const audit_ctx *ctx, const char *user_id, const char *token,
                              const char *current, const char *next, errinfo *ei);

#endif
