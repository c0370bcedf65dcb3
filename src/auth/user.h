/*
 * user.h - people and machine accounts who sign in.
 *
 * A user has a unique username (3 to 64 of a-z 0-9 . _ -), a display name, one
 * role (perm.h), an argon2id password hash (libsodium), a count of wrong
 * passwords in a row, and the flags locked (set by the fifth wrong password,
 * cleared only by an administrator) and disabled. Every change writes its audit
 * event in the same transaction.
 */
#ifndef BENCHSIDE_AUTH_USER_H
#define BENCHSIDE_AUTH_USER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "auth/perm.h"
#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

#define USER_NAME_MAX         64
#define USER_DISPLAY_MAX      128
#define USER_PASSWORD_MIN     10
#define USER_PASSWORD_MAX     1024
#define USER_MAX_FAILED_LOGIN 5

typedef struct user {
    char id[ID_LEN + 1];
    char username[USER_NAME_MAX + 1];
    char display_name[USER_DISPLAY_MAX + 1];
    perm_role role;
    int failed_logins;
    bool locked, disabled;
    int64_t created_at, updated_at;
} user;

/* Rules on input, each naming the field in ei ("username", "password", "role"). */
err_t user_check_username(const char *username, errinfo *ei);
err_t user_check_password(const char *password, const char *field, errinfo *ei);

/* Create a user; ERR_CONFLICT (field "username") when the name is taken. */
err_t user_create(db *d, const audit_ctx *ctx, const char *username, const char *display_name,
                  const char *role, const char *password, user *out, errinfo *ei);
/* ERR_NOT_FOUND when there is none. */
err_t user_get(db *d, const char *id, user *out, errinfo *ei);
err_t user_get_by_name(db *d, const char *username, user *out, errinfo *ei);
/* The argon2id hash of the user's password into out (crypto_pwhash_STRBYTES). */
err_t user_password_hash(db *d, const char *id, char *out, size_t outlen, errinfo *ei);

/* Change what is given: display_name/role NULL and disabled < 0 leave a field as it is.
 * Disabling ends the user's sessions. A change that changes nothing writes nothing. */
err_t user_update(db *d, const audit_ctx *ctx, const char *id, const char *display_name,
                  const char *role, int disabled, user *out, errinfo *ei);
err_t user_unlock(db *d, const audit_ctx *ctx, const char *id, user *out, errinfo *ei);
/* Set a password and end the user's sessions, all but the one whose token hash
 * is keep_session (NULL: all of them). */
err_t user_set_password(db *d, const audit_ctx *ctx, const char *id, const char *password,
                        const char *keep_session, errinfo *ei);

/* End the open sessions of user id but the one whose token hash is keep_session
 * (may be NULL). Runs inside the caller's transaction. */
err_t user_end_sessions(db *d, const char *id, const char *keep_session, errinfo *ei);

/* Users ordered by username after `after` (NULL: from the start); at most limit. */
err_t user_list(db *d, const char *after, int limit, user *out, int *count, errinfo *ei);
/* Enabled administrators. */
err_t user_count_admins(db *d, int64_t *count, errinfo *ei);

/* The user as the API shows it (no hash, no counters). New reference. */
json_t *user_to_json(const user *u);

/* argon2id: hash a password (out has crypto_pwhash_STRBYTES), verify one. */
err_t user_hash_password(const char *password, char *out, errinfo *ei);
bool user_verify_password(const char *hash, const char *password);

#endif
