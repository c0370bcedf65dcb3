/*
 * user.c - user accounts and their passwords (see user.h).
 */
#include "auth/user.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"

#define USER_COLS                                                                                  \
    "id, username, display_name, role, failed_logins, locked, disabled, created_at, updated_at"

static const char sql_insert[] =
    "INSERT INTO users (id, username, display_name, role, password_hash, failed_logins, locked,"
    " disabled, created_at, updated_at, password_changed_at) VALUES (?, ?, ?, ?, ?, 0, 0, 0, ?, ?,"
    " ?)";
static const char sql_by_id[] = "SELECT " USER_COLS " FROM users WHERE id = ?";
static const char sql_by_name[] = "SELECT " USER_COLS " FROM users WHERE username = ?";
static const char sql_hash[] = "SELECT password_hash FROM users WHERE id = ?";
static const char sql_update[] =
    "UPDATE users SET display_name = ?, role = ?, disabled = ?, updated_at = ? WHERE id = ?";
static const char sql_unlock[] =
    "UPDATE users SET locked = 0, failed_logins = 0, updated_at = ? WHERE id = ?";
static const char sql_passwd[] = "UPDATE users SET password_hash = ?, password_changed_at = ?,"
                                 " updated_at = ? WHERE id = ?";
static const char sql_end_sessions[] =
    "UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL"
    " AND token_hash <> ?";
static const char sql_list[] = "SELECT " USER_COLS " FROM users WHERE username > ?"
                               " ORDER BY username LIMIT ?";
static const char sql_admins[] = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0";

err_t user_check_username(const char *username, errinfo *ei)
{
    size_t n = username ? strlen(username) : 0;
    if (n < 3 || n > USER_NAME_MAX)
        return err_set(ei, ERR_INVALID, "username", "username must be 3 to %d characters",
                       USER_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = username[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return err_set(ei, ERR_INVALID, "username",
                           "username may hold only a-z, 0-9, '.', '_' and '-'");
    }
    return ERR_OK;
}

err_t user_check_password(const char *password, const char *field, errinfo *ei)
{
    size_t n = password ? strlen(password) : 0;
    if (n < USER_PASSWORD_MIN)
        return err_set(ei, ERR_INVALID, field, "%s must be at least %d characters", field,
                       USER_PASSWORD_MIN);
    if (n > USER_PASSWORD_MAX)
        return err_set(ei, ERR_INVALID, field, "%s must be at most %d characters", field,
                       USER_PASSWORD_MAX);
    return ERR_OK;
}

err_t user_hash_password(const char *password, char *out, errinfo *ei)
{
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE))
        return err_set(ei, ERR_NOMEM, NULL, "not enough memory to hash the password");
    return ERR_OK;
}

bool user_verify_password(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void row_to_user(db_stmt *st, user *u)
{
    memset(u, 0, sizeof(*u));
    copy_field(u->id, sizeof(u->id), db_col_text(st, 0));
    copy_field(u->username, sizeof(u->username), db_col_text(st, 1));
    copy_field(u->display_name, sizeof(u->display_name), db_col_text(st, 2));
    u->role = perm_role_from_name(db_col_text(st, 3));
    u->failed_logins = (int)db_col_int64(st, 4);
    u->locked = db_col_int64(st, 5) != 0;
    u->disabled = db_col_int64(st, 6) != 0;
    u->created_at = db_col_int64(st, 7);
    u->updated_at = db_col_int64(st, 8);
}

static err_t get_one(db *d, const char *sql, const char *key, user *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_prepare(d, sql, &st, ei);
    if (rc)
        return rc;
    rc = db_bind_str(st, 1, key);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such user");
    if (!rc)
        row_to_user(st, out);
    db_finalize(st);
    return rc;
}

err_t user_get(db *d, const char *id, user *out, errinfo *ei)
{
    return get_one(d, sql_by_id, id, out, ei);
}

err_t user_get_by_name(db *d, const char *username, user *out, errinfo *ei)
{
    return get_one(d, sql_by_name, username, out, ei);
}

err_t user_password_hash(db *d, const char *id, char *out, size_t outlen, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_prepare(d, sql_hash, &st, ei);
    if (rc)
        return rc;
    rc = db_bind_str(st, 1, id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such user");
    if (!rc)
        copy_field(out, outlen, db_col_text(st, 0));
    db_finalize(st);
    return rc;
}

err_t user_create(db *d, const audit_ctx *ctx, const char *username, const char *display_name,
                  const char *role, const char *password, user *out, errinfo *ei)
{
    char hash[crypto_pwhash_STRBYTES], id[ID_LEN + 1];
    int64_t now = time_now_us();
    err_t rc = user_check_username(username, ei);
    if (rc)
        return rc;
    if (perm_role_from_name(role) == ROLE_NONE)
        return err_set(ei, ERR_INVALID, "role", "role must be one of: %s", perm_role_names());
    if (display_name && (!*display_name || strlen(display_name) > USER_DISPLAY_MAX))
        return err_set(ei, ERR_INVALID, "display_name", "display_name must be 1 to %d bytes",
                       USER_DISPLAY_MAX);
    rc = user_check_password(password, "password", ei);
    if (rc)
        return rc;
    /* Hash before the transaction: argon2id takes a while and needs no lock. */
    rc = user_hash_password(password, hash, ei);
    if (rc)
        return rc;
    id_new(id);

    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_insert, "tttttiii", id, username,
                display_name ? display_name : username, role, hash, now, now, now);
    if (rc == ERR_CONFLICT)
        err_set(ei, ERR_CONFLICT, "username", "username '%s' is taken", username);
    if (rc)
        goto fail;
    json_t *detail = json_pack("{s:s,s:s}", "username", username, "role", role);
    rc = audit_write(d, ctx, "user.create", "user", id, "ok", detail, ei);
    json_decref(detail);
    if (rc)
        goto fail;
    rc = db_commit(d, ei);
    if (rc)
        return rc;
    return out ? user_get(d, id, out, ei) : ERR_OK;
fail:
    db_rollback(d);
    return rc;
}

err_t user_update(db *d, const audit_ctx *ctx, const char *id, const char *display_name,
                  const char *role, int disabled, user *out, errinfo *ei)
{
    user u;
    json_t *detail = NULL;
    err_t rc;
    if (role && perm_role_from_name(role) == ROLE_NONE)
        return err_set(ei, ERR_INVALID, "role", "role must be one of: %s", perm_role_names());
    if (display_name && (!*display_name || strlen(display_name) > USER_DISPLAY_MAX))
        return err_set(ei, ERR_INVALID, "display_name", "display_name must be 1 to %d bytes",
                       USER_DISPLAY_MAX);
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = user_get(d, id, &u, ei);
    if (rc)
        goto fail;
    detail = json_object();
    if (!detail) {
        rc = ERR_NOMEM;
        goto fail;
    }
    if (display_name && strcmp(display_name, u.display_name))
        json_object_set_new(detail, "display_name", json_string(display_name));
    if (role && strcmp(role, perm_role_name(u.role)))
        json_object_set_new(detail, "role",
                            json_pack("{s:s,s:s}", "from", perm_role_name(u.role), "to", role));
    if (disabled >= 0 && (bool)disabled != u.disabled)
        json_object_set_new(detail, "disabled", json_boolean(disabled));
    if (json_object_size(detail) == 0) {
        /* Nothing changes: nothing to write, nothing to audit. */
        json_decref(detail);
        db_rollback(d);
        if (out)
            *out = u;
        return ERR_OK;
    }
    rc = db_run(d, ei, NULL, sql_update, "ttiit", display_name ? display_name : u.display_name,
                role ? role : perm_role_name(u.role),
                (int64_t)(disabled >= 0 ? disabled != 0 : u.disabled), time_now_us(), id);
    if (!rc && disabled > 0 && !u.disabled)
        rc = user_end_sessions(d, id, NULL, ei);
    if (rc)
        goto fail;
    rc = audit_write(d, ctx, "user.update", "user", id, "ok", detail, ei);
    if (rc)
        goto fail;
    json_decref(detail);
    rc = db_commit(d, ei);
    if (rc)
        return rc;
    return out ? user_get(d, id, out, ei) : ERR_OK;
fail:
    json_decref(detail);
    db_rollback(d);
    return rc;
}

err_t user_unlock(db *d, const audit_ctx *ctx, const char *id, user *out, errinfo *ei)
{
    int64_t changed = 0;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, &changed, sql_unlock, "it", time_now_us(), id);
    if (!rc && changed == 0)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such user");
    if (!rc)
        rc = audit_write(d, ctx, "user.unlock", "user", id, "ok", NULL, ei);
    if (rc) {
        db_rollback(d);
        return rc;
    }
    rc = db_commit(d, ei);
    if (rc)
        return rc;
    return out ? user_get(d, id, out, ei) : ERR_OK;
}

err_t user_end_sessions(db *d, const char *id, const char *keep_session, errinfo *ei)
{
    return db_run(d, ei, NULL, sql_end_sessions, "itt", time_now_us(), id,
                  keep_session ? keep_session : "");
}

err_t user_set_password(db *d, const audit_ctx *ctx, const char *id, const char *password,
                        const char *keep_session, errinfo *ei)
{
    char hash[crypto_pwhash_STRBYTES];
    int64_t changed = 0, now = time_now_us();
    err_t rc = user_check_password(password, "password", ei);
    if (rc)
        return rc;
    rc = user_hash_password(password, hash, ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, &changed, sql_passwd, "tiit", hash, now, now, id);
    if (!rc && changed == 0)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such user");
    if (!rc)
        rc = user_end_sessions(d, id, keep_session, ei);
    if (!rc)
        rc = audit_write(d, ctx, "user.password", "user", id, "ok", NULL, ei);
    if (rc) {
        db_rollback(d);
        return rc;
    }
    return db_commit(d, ei);
}

err_t user_list(db *d, const char *after, int limit, user *out, int *count, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_prepare(d, sql_list, &st, ei);
    *count = 0;
    if (rc)
        return rc;
    rc = db_bind_str(st, 1, after ? after : "");
    if (!rc)
        rc = db_bind_int64(st, 2, limit);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row || *count >= limit)
            break;
        row_to_user(st, &out[(*count)++]);
    }
    db_finalize(st);
    return rc;
}

err_t user_count_admins(db *d, int64_t *count, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_prepare(d, sql_admins, &st, ei);
    if (rc)
        return rc;
    rc = db_step(st, &row, ei);
    *count = (!rc && row) ? db_col_int64(st, 0) : 0;
    db_finalize(st);
    return rc;
}

json_t *user_to_json(const user *u)
{
    char created[TIME_ISO_LEN], updated[TIME_ISO_LEN];
    time_format_iso(u->created_at, created);
    time_format_iso(u->updated_at, updated);
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s}", "id", u->id, "username", u->username,
                     "display_name", u->display_name, "role", perm_role_name(u->role), "locked",
                     u->locked, "disabled", u->disabled, "created_at", created, "updated_at",
                     updated);
}
