/*
 * care.c - the checks and helpers the modules of people and care share
 * (see care.h).
 */
#include "care/care.h"

#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "store/dbjson.h"
#include "lab/result.h"

void care_today(char out[11])
{
    time_format_date(time_now_us(), out);
}

/* Days since 1970-01-01 of a valid YYYY-MM-DD. */
static int64_t days_of(const char *date)
{
    int64_t y = 0, m = 0, d = 0;
    str_to_int64(date, 4, 0, 9999, &y);
    str_to_int64(date + 5, 2, 1, 12, &m);
    str_to_int64(date + 8, 2, 1, 31, &d);
    return time_days_from_civil(y, (int)m, (int)d);
}

bool care_date_add_months(const char *date, int months, char out[11])
{
    int64_t y = 0, m = 0, d = 0;
    if (!date || !time_date_valid(date))
        return false;
    str_to_int64(date, 4, 0, 9999, &y);
    str_to_int64(date + 5, 2, 1, 12, &m);
    str_to_int64(date + 8, 2, 1, 31, &d);
    int64_t index = y * 12 + (m - 1) + months; /* months since year 0 */
    if (index < 0 || index >= 10000 * 12)
        return false;
    y = index / 12;
    m = index % 12 + 1;
    int last = time_days_in_month((int)y, (int)m);
    if (d > last)
        d = last;
    snprintf(out, 11, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
    return true;
}

int64_t care_date_diff(const char *a, const char *b)
{
    return days_of(b) - days_of(a);
}

err_t care_item_check(const json_t *item, const char *array, size_t i, const jsonv_field *fields,
                      size_t n, errinfo *ei)
{
    char path[40];
    snprintf(path, sizeof(path), "%.20s[%zu]", array, i);
    return jsonv_check_item(item, path, fields, n, ei);
}

err_t care_enum(const char *value, const char *const *list, size_t n, const char *field,
                errinfo *ei)
{
    char names[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        if (value && !strcmp(value, list[i]))
            return ERR_OK;
    for (size_t i = 0; i < n && used < sizeof(names); i++) {
        int k = snprintf(names + used, sizeof(names) - used, "%s%s",
                         i == 0 ? "" : (i + 1 == n ? " or " : ", "), list[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    return err_set(ei, ERR_INVALID, field, "%s must be %s", field, names);
}

err_t care_date(const char *value, const char *field, bool past_only, errinfo *ei)
{
    char today[11];
    if (!value || !time_date_valid(value))
        return err_set(ei, ERR_INVALID, field, "%s must be a date, YYYY-MM-DD", field);
    care_today(today);
    if (past_only && strcmp(value, today) > 0)
        return err_set(ei, ERR_INVALID, field, "%s (%s) is in the future", field, value);
    return ERR_OK;
}

err_t care_time(const char *value, const char *field, int64_t now, int64_t *at, errinfo *ei)
{
    errinfo e2 = {0};
    *at = now;
    if (!value)
        return ERR_OK;
    if (time_parse_iso(value, strlen(value), at, &e2))
        return err_set(ei, ERR_INVALID, field, "%s: %s", field, e2.message);
    if (*at > now + CARE_SKEW_US)
        return err_set(ei, ERR_INVALID, field, "%s is in the future", field);
    return ERR_OK;
}

err_t care_text(const char *v, const char *field, errinfo *ei)
{
    if (v && !str_is_text(v))
        return err_set(ei, ERR_INVALID, field, "%s must be printable text", field);
    return ERR_OK;
}

err_t care_user(db *d, const char *username, const char *field, user *u, errinfo *ei)
{
    errinfo e2 = {0};
    err_t rc = user_get_by_name(d, username, u, &e2);
    if (rc == ERR_NOT_FOUND)
        return err_set(ei, ERR_INVALID, field, "%s: no user is named %.64s", field, username);
    if (rc) {
        if (ei)
            *ei = e2;
        return rc;
    }
    if (u->disabled)
        return err_set(ei, ERR_INVALID, field, "%s: the account %s is disabled", field,
                       u->username);
    return ERR_OK;
}

err_t care_patient(db *d, const char *id, const char *field, errinfo *ei)
{
    int64_t n = 0;
    const char *args[] = {id};
    err_t rc = care_count(d, "SELECT COUNT(*) FROM patients WHERE id = ?", args, 1, &n, ei);
    if (!rc && n == 0)
        rc = err_set(ei, ERR_INVALID, field, "%s: no patient has id %.40s", field, id);
    return rc;
}

err_t care_asset(db *d, const char *tag, const char *field, const char *const *classes, size_t n,
                 char id[ID_LEN + 1], char *cls, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    char klass[EQUIP_CLASS_MAX + 1] = "";
    err_t rc = db_query(d, &st, ei, "SELECT id, class, status FROM assets WHERE tag = ?", "t", tag);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_INVALID, field, "%s: no asset is tagged %.40s", field, tag);
    if (!rc) {
        snprintf(id, ID_LEN + 1, "%s", db_col_text(st, 0));
        snprintf(klass, sizeof(klass), "%s", db_col_text(st, 1));
        if (strcmp(db_col_text(st, 2), "in-service"))
            rc = err_set(ei, ERR_INVALID, field, "%s: %s is %s", field, tag, db_col_text(st, 2));
    }
    db_finalize(st);
    if (!rc && n > 0 && care_enum(klass, classes, n, "class", NULL))
        rc = err_set(ei, ERR_INVALID, field, "%s: %s is a %s, not a device of this kind", field,
                     tag, klass);
    if (!rc && cls)
        snprintf(cls, EQUIP_CLASS_MAX + 1, "%s", klass);
    return rc;
}

err_t care_signed_begin(db *d, err_t rc, const audit_ctx *ctx, const user *u, const json_t *body,
                        errinfo *ei)
{
    if (!rc)
        rc = result_signature_check(d, ctx, u, jsonv_str(body, "password"), ei);
    if (!rc)
        rc = db_begin(d, ei);
    return rc;
}

static const jsonv_field note_fields[] = {
    {"note", JSONV_STRING, true, CARE_NOTE_MAX},
};

err_t care_close_with_note(db *d, const audit_ctx *ctx, const care_closing *c, const char *id,
                           const json_t *body, json_t **out, errinfo *ei)
{
    int64_t changed = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, note_fields, CARE_NFIELDS(note_fields), ei);
    const char *note = jsonv_str(body, "note");
    if (!rc)
        rc = care_text(note, "note", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = care_get(d, c->read_sql, id, c->row, out, "id", c->missing, ei);
    if (!rc)
        rc = db_run(d, ei, &changed, c->update_sql, "ittt", time_now_us(), care_actor(ctx), note,
                    id);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "id", "%s", c->refusal(*out));
    const char *patient = jsonv_str(json_object_get(*out, "patient"), "id");
    if (!rc)
        rc = care_audit(d, ctx, c->action, "patient", patient,
                        json_pack("{s:s,s:s}", "id", id, "note", note), ei);
    if (!rc)
        rc = db_publish_json(d, c->event,
                             json_pack("{s:s,s:s}", c->id_key, id, "patient_id", patient), ei);
    json_decref(*out);
    *out = NULL;
    if (!rc)
        rc = care_get(d, c->read_sql, id, c->row, out, "id", c->missing, ei);
    return care_finish(d, rc, out, ei);
}

const char *care_actor(const audit_ctx *ctx)
{
    return ctx && ctx->actor ? ctx->actor : "system";
}

err_t care_audit(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                 const char *entity_id, json_t *detail, errinfo *ei)
{
    err_t rc = audit_write(d, ctx, action, entity_type, entity_id, "ok", detail, ei);
    json_decref(detail);
    return rc;
}

bool care_has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (s && json_is_string(v) && !strcmp(json_string_value(v), s))
            return true;
    }
    return false;
}

json_t *care_text_row(db_stmt *st)
{
    return json_string(db_col_text(st, 0));
}

err_t care_get(db *d, const char *sql, const char *key, db_row_fn row, json_t **out,
               const char *field, const char *what, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql, "t", key);
    return db_row_json(rc, st, row, out, field, what, ei);
}

err_t care_get_with_lines(db *d, const char *sql, const char *id, db_row_fn row,
                          const char *missing, const char *lines_sql, db_row_fn line,
                          const char *key, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    json_t *lines = NULL;
    err_t rc = care_get(d, sql, id, row, out, "id", missing, ei);
    if (!rc) {
        rc = db_query(d, &st, ei, lines_sql, "t", id);
        rc = db_rows_json(rc, st, line, &lines, ei);
    }
    if (!rc && json_object_set_new(*out, key, lines))
        rc = ERR_NOMEM;
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t care_list(db *d, const char *sql, db_row_fn row, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql, "");
    return db_rows_json(rc, st, row, items, ei);
}

err_t care_search(db *d, const audit_ctx *ctx, const char *sql, bool only, db_row_fn row,
                  const char *action, const char *flag, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    *items = NULL;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_query(d, &st, ei, sql, "i", (int64_t)only);
    rc = db_rows_json(rc, st, row, items, ei);
    if (!rc)
        rc = care_audit(
            d, ctx, action, NULL, NULL,
            json_pack("{s:b,s:I}", flag, only, "count", (json_int_t)json_array_size(*items)), ei);
    return care_finish(d, rc, items, ei);
}

err_t care_text_of(db *d, const char *sql, const char *key, char *out, size_t n, bool *found,
                   errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    out[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql, "t", key);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row && !db_col_null(st, 0))
        snprintf(out, n, "%s", db_col_text(st, 0));
    db_finalize(st);
    if (found)
        *found = row;
    return rc;
}

err_t care_count(db *d, const char *sql, const char *const *args, size_t n, int64_t *out,
                 errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *out = 0;
    err_t rc = db_prepare(d, sql, &st, ei);
    for (size_t i = 0; !rc && i < n; i++)
        rc = db_bind_str(st, (int)i + 1, args[i]);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        *out = db_col_int64(st, 0);
    db_finalize(st);
    return rc;
}

err_t care_finish(db *d, err_t rc, json_t **out, errinfo *ei)
{
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        if (out) {
            json_decref(*out);
            *out = NULL;
        }
    }
    return rc;
}
