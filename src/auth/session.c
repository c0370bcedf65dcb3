/*
 * session.c - sign-in, sessions and lockout (see session.h).
 */
#include "auth/session.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

static const char sql_insert[] = "INSERT INTO sessions (token_hash, user_id, created_at,"
                                 " last_seen, ended_at, source) VALUES (?, ?, ?, ?, NULL, ?)";
static const char sql_find[] =
    "SELECT s.user_id, s.last_seen, s.ended_at FROM sessions s WHERE s.token_hash = ?";
static const char sql_touch[] = "UPDATE sessions SET last_seen = ? WHERE token_hash = ?";
static const char sql_end[] =
    "UPDATE sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL";
static const char sql_claim[] =
    "UPDATE users SET failed_logins = failed_logins + 1"
    " WHERE id = ? AND locked = 0 AND disabled = 0 AND failed_logins < ? RETURNING failed_logins";
static const char sql_lock[] = "UPDATE users SET locked = 1 WHERE id = ?";
static const char sql_reset[] = "UPDATE users SET failed_logins = 0 WHERE id = ?";

/* A hash to check wrong names against, so that they cost what a real check costs. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
    user_hash_password("benchside-timing-equaliser", dummy_hash, NULL);
}

static void token_hash(const char *token, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    str_hex(h, sizeof(h), out);
}

/* A refusal: audit it in its own transaction, then answer code. */
static err_t refuse(db *d, const audit_ctx *ctx, const char *user_id, const char *reason,
                    err_t code, errinfo *ei)
{
    errinfo aei = {0};
    json_t *detail = json_pack("{s:s}", "reason", reason);
    err_t rc = audit_record(d, ctx, "session.fail", "user", user_id, "failed", detail, &aei);
    json_decref(detail);
    if (rc)
        return err_set(ei, rc, NULL, "%s", aei.message);
    switch (code) {
    case ERR_LOCKED:
        return err_set(ei, code, NULL,
                       "this account is locked after %d wrong passwords; an administrator must "
                       "unlock it",
                       USER_MAX_FAILED_LOGIN);
    case ERR_DISABLED:
        return err_set(ei, code, NULL, "this account is disabled");
    default:
        return err_set(ei, ERR_BAD_CREDENTIALS, NULL, "wrong username or password");
    }
}

err_t session_login(db *d, const char *username, const char *password, const char *source,
                    char token[SESSION_TOKEN_LEN + 1], user *out, errinfo *ei)
{
    char hash[crypto_pwhash_STRBYTES], th[65];
    unsigned char raw[32];
    user u;
    db_stmt *st = NULL;
    bool row = false;
    int64_t now;
    err_t rc;
    /* The attempted name is recorded as the actor, cut to a username's length. */
    char actor[USER_NAME_MAX + 1];
    snprintf(actor, sizeof(actor), "%s", username ? username : "");
    audit_ctx ctx = {NULL, actor, source};
    if (!password)
        password = "";

    rc = user_get_by_name(d, username, &u, ei);
    if (rc == ERR_NOT_FOUND) {
        /* Spend the same time as for a real account, so names cannot be probed. */
        pthread_once(&dummy_once, dummy_init);
        user_verify_password(dummy_hash, password);
        return refuse(d, &ctx, NULL, "unknown_user", ERR_BAD_CREDENTIALS, ei);
    }
    if (rc)
        return rc;
    ctx.actor_id = u.id;
    if (u.disabled)
        return refuse(d, &ctx, u.id, "disabled", ERR_DISABLED, ei);
    if (u.locked)
        return refuse(d, &ctx, u.id, "locked", ERR_LOCKED, ei);

    /*
     * Count the attempt before checking the password, in one statement, so
     * that parallel attempts cannot all pass the lock check while the slow
     * hash runs: at most USER_MAX_FAILED_LOGIN passwords are ever checked
     * before the account locks. A right password sets the count back to 0.
     */
    int64_t attempt = 0;
    rc = db_query(d, &st, ei, sql_claim, "ti", u.id, (int64_t)USER_MAX_FAILED_LOGIN);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        attempt = db_col_int64(st, 0);
    db_finalize(st);
    st = NULL;
    if (rc)
        return rc;
    if (!row) {
        /* Locked or disabled meanwhile, or all attempts are in flight. */
        rc = user_get(d, u.id, &u, ei);
        if (rc)
            return rc;
        if (u.disabled)
            return refuse(d, &ctx, u.id, "disabled", ERR_DISABLED, ei);
        return refuse(d, &ctx, u.id, "locked", ERR_LOCKED, ei);
    }

    rc = user_password_hash(d, u.id, hash, sizeof(hash), ei);
    if (rc)
        return rc;
    if (!user_verify_password(hash, password)) {
        bool locks = attempt >= USER_MAX_FAILED_LOGIN;
        rc = db_begin(d, ei);
        if (rc)
            return rc;
        if (locks)
            rc = db_run(d, ei, NULL, sql_lock, "t", u.id);
        if (!rc && locks)
            rc = user_end_sessions(d, u.id, NULL, ei);
        if (!rc) {
            json_t *detail = json_pack("{s:s}", "reason", "bad_password");
            rc = audit_write(d, &ctx, "session.fail", "user", u.id, "failed", detail, ei);
            json_decref(detail);
        }
        if (!rc && locks) {
            json_t *detail = json_pack("{s:i}", "failed_logins", USER_MAX_FAILED_LOGIN);
            rc = audit_write(d, &ctx, "user.lock", "user", u.id, "ok", detail, ei);
            json_decref(detail);
        }
        if (!rc)
            rc = db_commit(d, ei);
        if (rc) {
            db_rollback(d);
            return rc;
        }
        return err_set(ei, ERR_BAD_CREDENTIALS, NULL, "wrong username or password");
    }

    randombytes_buf(raw, sizeof(raw));
    str_hex(raw, sizeof(raw), token);
    token_hash(token, th);
    now = time_now_us();
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_reset, "t", u.id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_insert, "ttiit", th, u.id, now, now, source);
    if (!rc)
        rc = audit_write(d, &ctx, "session.create", "user", u.id, "ok", NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        sodium_memzero(token, SESSION_TOKEN_LEN + 1);
        return rc;
    }
    u.failed_logins = 0;
    if (out)
        *out = u;
    return ERR_OK;
}

static bool token_wellformed(const char *token)
{
    if (!token || strlen(token) != SESSION_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < SESSION_TOKEN_LEN; i++)
        if (!((token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f')))
            return false;
    return true;
}

static err_t lookup(db *d, const char *token, int64_t idle_us, bool touch, user *out, errinfo *ei)
{
    char th[65], user_id[ID_LEN + 1];
    db_stmt *st = NULL;
    bool row = false;
    int64_t last_seen = 0, now = time_now_us();
    bool ended = false;
    err_t rc;

    if (!token_wellformed(token))
        return err_set(ei, ERR_UNAUTHORIZED, NULL, "sign-in required");
    token_hash(token, th);
    rc = db_prepare(d, sql_find, &st, ei);
    if (rc)
        return rc;
    rc = db_bind_str(st, 1, th);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        snprintf(user_id, sizeof(user_id), "%s", db_col_text(st, 0) ? db_col_text(st, 0) : "");
        last_seen = db_col_int64(st, 1);
        ended = !db_col_null(st, 2);
    }
    db_finalize(st);
    if (rc)
        return rc;
    if (!row || ended)
        return err_set(ei, ERR_UNAUTHORIZED, NULL, "sign-in required");
    if (now - last_seen > idle_us)
        return err_set(ei, ERR_UNAUTHORIZED, NULL, "the session expired; sign in again");
    rc = user_get(d, user_id, out, ei);
    if (rc == ERR_NOT_FOUND || (!rc && (out->locked || out->disabled)))
        return err_set(ei, ERR_UNAUTHORIZED, NULL, "sign-in required");
    if (rc)
        return rc;
    /* Refresh last_seen when a good part of the idle time has passed. */
    int64_t every = idle_us / 4 < 5000000 ? idle_us / 4 : 5000000;
    if (touch && now - last_seen >= every) {
        /* A missed refresh costs nothing but an earlier time-out: go on. */
        errinfo tei = {0};
        if (db_run(d, &tei, NULL, sql_touch, "it", now, th))
            log_msg(LOG_WARN, NULL, "session last_seen not updated: %s", tei.message);
    }
    return ERR_OK;
}

err_t session_lookup(db *d, const char *token, int64_t idle_us, user *out, errinfo *ei)
{
    return lookup(d, token, idle_us, true, out, ei);
}

err_t session_peek(db *d, const char *token, int64_t idle_us, user *out, errinfo *ei)
{
    return lookup(d, token, idle_us, false, out, ei);
}

err_t session_logout(db *d, const audit_ctx *ctx, const char *token, errinfo *ei)
{
    char th[65];
    int64_t changed = 0;
    err_t rc;
    if (!token_wellformed(token))
        return err_set(ei, ERR_UNAUTHORIZED, NULL, "sign-in required");
    token_hash(token, th);
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, &changed, sql_end, "it", time_now_us(), th);
    if (!rc && changed == 0)
        rc = err_set(ei, ERR_UNAUTHORIZED, NULL, "sign-in required");
    if (!rc)
        rc = audit_write(d, ctx, "session.delete", "user", ctx->actor_id, "ok", NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        db_rollback(d);
    return rc;
}

err_t session_change_password(db *d, const audit_ctx *ctx, const char *user_id, const char *token,
                              const char *current, const char *next, errinfo *ei)
{
    char hash[crypto_pwhash_STRBYTES], th[65] = "";
    err_t rc = user_check_password(next, "new_password", ei);
    if (rc)
        return rc;
    rc = user_password_hash(d, user_id, hash, sizeof(hash), ei);
    if (rc)
        return rc;
    if (!current || !user_verify_password(hash, current))
        return err_set(ei, ERR_INVALID, "current_password", "current_password is wrong");
    if (token_wellformed(token))
        token_hash(token, th);
    rc = user_set_password(d, ctx, user_id, next, th[0] ? th : NULL, ei);
    if (rc && ei && !strcmp(ei->field, "password"))
        snprintf(ei->field, sizeof(ei->field), "new_password");
    return rc;
}
