/*
 * care.h - what the modules of people and care share (src/care/): the
 * checks of request fields they all make (dates, times, names from a list,
 * people, patients, devices of the asset register), the reading of query
 * rows into JSON, and the end of a write transaction.
 *
 * Every check names the field at fault in ei and changes nothing; the
 * modules call them before they open their transaction.
 */
#ifndef BENCHSIDE_CARE_CARE_H
#define BENCHSIDE_CARE_CARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "base/id.h"
#include "base/jsonv.h"
#include "equip/asset.h"
#include "store/db.h"
#include "store/dbjson.h"

#define CARE_CODE_MAX 32   /* codes: a test system, a set, a document, a room: bytes */
#define CARE_TEXT_MAX 128  /* names, numbers, issuers, titles: bytes */
#define CARE_NOTE_MAX 2000 /* notes and reasons: bytes */
#define CARE_LIST_MAX 500  /* rows of one list answer */
#define CARE_SKEW_US  (5 * 60 * 1000000LL) /* how far ahead a client's clock may be */

#define CARE_NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Today's date (UTC), "YYYY-MM-DD". */
void care_today(char out[11]);

/*
 * date (YYYY-MM-DD) plus months (may be negative) into out; a day past the
 * end of the month it lands in becomes that month's last day (31 August
 * plus six months is 28 or 29 February). False when date is not a date.
 */
bool care_date_add_months(const char *date, int months, char out[11]);

/* Days from date a to date b (b - a); both must be valid dates. */
int64_t care_date_diff(const char *a, const char *b);

/*
 * Check item i of array against fields (base/jsonv.h: jsonv_check_item),
 * naming the field at fault with its path: "samples[2].test". A non-object
 * item is ERR_INVALID naming "array[i]".
 */
err_t care_item_check(const json_t *item, const char *array, size_t i, const jsonv_field *fields,
                      size_t n, errinfo *ei);

/* ERR_INVALID naming field unless value is one of list[0..n):
 * "field must be a, b or c". */
err_t care_enum(const char *value, const char *const *list, size_t n, const char *field,
                errinfo *ei);

/* ERR_INVALID naming field unless value is a YYYY-MM-DD date of a real day
 * (and, when past_only, not after today). */
err_t care_date(const char *value, const char *field, bool past_only, errinfo *ei);

/*
 * An ISO 8601 time of an act into *at: value NULL means now; otherwise it
 * must parse and not lie ahead of now by more than CARE_SKEW_US
 * (ERR_INVALID naming field).
 */
err_t care_time(const char *value, const char *field, int64_t now, int64_t *at, errinfo *ei);

/* ERR_INVALID naming field when v (may be NULL: fine) is not printable text. */
err_t care_text(const char *v, const char *field, errinfo *ei);

/* The user named username into *u; ERR_INVALID naming field when there is
 * none or the account is disabled. */
err_t care_user(db *d, const char *username, const char *field, user *u, errinfo *ei);

/* The patient with id exists; ERR_INVALID naming field otherwise. */
err_t care_patient(db *d, const char *id, const char *field, errinfo *ei);

/*
 * The asset tagged tag: in service, and of one of classes[0..n) (n 0: any
 * class). Its id into id and its class into cls (EQUIP_CLASS_MAX + 1 bytes;
 * may be NULL). ERR_INVALID naming field otherwise.
 */
err_t care_asset(db *d, const char *tag, const char *field, const char *const *classes, size_t n,
                 char id[ID_LEN + 1], char *cls, errinfo *ei);

/*
 * An electronic signature, then the transaction of the act it signs: the
 * password must be u's own (lab/result.h: result_signature_check, which
 * audits a wrong one), checked before db_begin() as argon2id takes a
 * while. rc is what the checks before said: nothing is done unless ERR_OK.
 */
err_t care_signed_begin(db *d, err_t rc, const audit_ctx *ctx, const user *u, const json_t *body,
                        errinfo *ei);

/*
 * Close an open record with a note: body {"note"}, the record read by
 * read_sql (id its one parameter) with row into *out, then update_sql run
 * with (now, actor, note, id), which must change one row; otherwise
 * ERR_CONFLICT naming "id" with the message refusal(record) gives. The
 * record's "patient"."id" names the patient of the audit event action, and
 * of the live event (db_publish) of kind event: {id_key: id, "patient_id"}.
 * *out is the record read again. For alerts: a NEWS2 alert acknowledged, a
 * dose above its reference level reviewed.
 */
typedef struct care_closing {
    const char *read_sql, *update_sql;
    json_t *(*row)(db_stmt *st);
    const char *missing; /* ERR_NOT_FOUND's message */
    const char *action;
    const char *(*refusal)(const json_t *record);
    const char *event, *id_key; /* the live event's kind, and the key of the id in it */
} care_closing;

err_t care_close_with_note(db *d, const audit_ctx *ctx, const care_closing *c, const char *id,
                           const json_t *body, json_t **out, errinfo *ei);

/* Who acts, for the columns that record it: the actor's name or "system". */
const char *care_actor(const audit_ctx *ctx);

/* audit_write with detail, which is released here (may be NULL). */
err_t care_audit(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                 const char *entity_id, json_t *detail, errinfo *ei);

/* Whether the JSON array arr holds the string s. */
bool care_has_string(const json_t *arr, const char *s);

/* The first column of the row as a JSON string (a db_row_fn). */
json_t *care_text_row(db_stmt *st);

/* The one row of sql with key as its one parameter, made by row (care_one). */
err_t care_get(db *d, const char *sql, const char *key, db_row_fn row, json_t **out,
               const char *field, const char *what, errinfo *ei);

/* A record and its lines: the row of sql (with id, made by row; no row is
 * ERR_NOT_FOUND naming "id" saying missing) with the rows of lines_sql
 * (with id, made by line) under key. *out is a new reference. */
err_t care_get_with_lines(db *d, const char *sql, const char *id, db_row_fn row,
                          const char *missing, const char *lines_sql, db_row_fn line,
                          const char *key, json_t **out, errinfo *ei);

/* The rows of sql, which takes no parameter, made by row (care_collect). */
err_t care_list(db *d, const char *sql, db_row_fn row, json_t **items, errinfo *ei);

/*
 * An audited search of what names patients: the rows of sql (whose one
 * parameter is only, 1 or 0) made by row into *items, and the audit event
 * action with {flag: only, "count"} in the same transaction.
 */
err_t care_search(db *d, const audit_ctx *ctx, const char *sql, bool only, db_row_fn row,
                  const char *action, const char *flag, json_t **items, errinfo *ei);

/* The first column of the row of sql (key its one parameter) as text into
 * out (n bytes): "" when there is no row or it is NULL; *found (may be
 * NULL) says whether there was a row. */
err_t care_text_of(db *d, const char *sql, const char *key, char *out, size_t n, bool *found,
                   errinfo *ei);

/* The first column of the first row of sql (text parameters args[0..n))
 * as an integer into *out; 0 when there is no row. */
err_t care_count(db *d, const char *sql, const char *const *args, size_t n, int64_t *out,
                 errinfo *ei);

/*
 * End a write: commit when rc is ERR_OK, else roll back and release *out
 * (set to NULL). Returns the final code.
 */
err_t care_finish(db *d, err_t rc, json_t **out, errinfo *ei);

#endif
