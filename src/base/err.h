/*
 * err.h - the one error vocabulary of benchside.
 *
 * Every function that can fail returns an err_t. The list below is the single
 * source of each code's stable name (used in API error bodies and logs), its
 * default message for people, and the HTTP status it maps to. The list is
 * append-only: codes are never renumbered or removed.
 *
 * Detail for people (which field, where in the input, what exactly) travels in
 * an errinfo the caller passes down; it is optional everywhere (NULL is fine).
 */
#ifndef BENCHSIDE_BASE_ERR_H
#define BENCHSIDE_BASE_ERR_H

#include <stddef.h>

#define ERR_LIST(X)                                                                                \
    X(ERR_OK, "ok", "success", 200)                                                                \
    X(ERR_NOMEM, "out_of_memory", "out of memory", 500)                                            \
    X(ERR_INVALID, "invalid", "invalid input", 400)                                                \
    X(ERR_BAD_JSON, "bad_json", "malformed JSON", 400)                                             \
    X(ERR_UNKNOWN_FIELD, "unknown_field", "unknown field", 400)                                    \
    X(ERR_MISSING_FIELD, "missing_field", "missing field", 400)                                    \
    X(ERR_TOO_LARGE, "too_large", "request body too large", 413)                                   \
    X(ERR_UNAUTHORIZED, "unauthorized", "sign-in required", 401)                                   \
    X(ERR_BAD_CREDENTIALS, "bad_credentials", "wrong username or password", 401)                   \
    X(ERR_LOCKED, "account_locked", "account is locked", 403)                                      \
    X(ERR_DISABLED, "account_disabled", "account is disabled", 403)                                \
    X(ERR_FORBIDDEN, "forbidden", "permission denied", 403)                                        \
    X(ERR_NOT_FOUND, "not_found", "not found", 404)                                                \
    X(ERR_METHOD, "method_not_allowed", "method not allowed", 405)                                 \
    X(ERR_CONFLICT, "conflict", "conflicts with an existing record", 409)                          \
    X(ERR_MEDIA_TYPE, "unsupported_media_type", "unsupported content type", 415)                   \
    X(ERR_DB, "database_error", "database error", 500)                                             \
    X(ERR_DB_BUSY, "database_busy", "database is busy, try again", 503)                            \
    X(ERR_DB_UNAVAILABLE, "database_unavailable", "database is unavailable", 503)                  \
    X(ERR_IO, "io_error", "input/output error", 500)                                               \
    X(ERR_INTERNAL, "internal", "internal error", 500)                                             \
    X(ERR_USAGE, "usage", "bad usage", 400)                                                        \
    X(ERR_AUDIT_BROKEN, "audit_broken", "audit trail does not verify", 500)                        \
    X(ERR_TIMEOUT, "timeout", "timed out", 408)                                                    \
    X(ERR_SETUP, "setup_required", "setup required", 500)                                          \
    X(ERR_UNPROCESSABLE, "unprocessable", "well formed but not acceptable", 422)                   \
    X(ERR_RATE_LIMITED, "rate_limited", "too many attempts; try again later", 429)

typedef enum {
#define ERR_ENUM(code, name, msg, status) code,
    ERR_LIST(ERR_ENUM)
#undef ERR_ENUM
        ERR__COUNT
} err_t;

/* Detail for people about one failure. All strings are NUL-terminated. */
typedef struct errinfo {
    err_t code;
    char field[64];    /* the input field at fault, "" when none */
    char message[512]; /* what is wrong, for people */
    int line, column;  /* 1-based position in a text input, 0 when unknown */
} errinfo;

/* Stable machine name of a code ("bad_json"); never NULL. */
const char *err_name(err_t code);
/* Default message for people; never NULL. */
const char *err_message(err_t code);
/* HTTP status a code maps to. */
int err_http_status(err_t code);

/*
 * Record a failure in ei (which may be NULL) and return code, so that callers
 * can write `return err_set(ei, ERR_INVALID, "username", "must not be empty");`.
 * field may be NULL. fmt may be NULL (the code's default message is used).
 */
err_t err_set(errinfo *ei, err_t code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Clear ei to "no error". */
void err_clear(errinfo *ei);

#endif
