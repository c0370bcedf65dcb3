/*
 * checklist.c - checklist templates and checks (see checklist.h).
 *
 * A template's fields are checked once, when it is stored, so that judging
 * a check can trust them: every reference (when, relative_to) names an
 * earlier field of the right type.
 */
#include "equip/checklist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/asset.h"
#include "equip/record.h"
#include "equip/schedule.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* ---- template fields ---- */

static const jsonv_field field_fields[] = {
    {"key", JSONV_STRING, true, EQUIP_KEY_MAX},
    {"label", JSONV_STRING, true, 200},
    {"type", JSONV_STRING, true, 8},
    {"required", JSONV_BOOL, false, 0},
    {"expected", JSONV_BOOL, false, 0},
    {"unit", JSONV_STRING, false, 16},
    {"min", JSONV_NUMBER, false, 0},
    {"max", JSONV_NUMBER, false, 0},
    {"relative_to", JSONV_STRING, false, EQUIP_KEY_MAX},
    {"tolerance_percent", JSONV_NUMBER, false, 0},
    {"choices", JSONV_ARRAY, false, EQUIP_CHOICES_MAX},
    {"pass", JSONV_ARRAY, false, EQUIP_CHOICES_MAX},
    {"when", JSONV_OBJECT, false, 0},
};
static const jsonv_field when_fields[] = {
    {"field", JSONV_STRING, true, EQUIP_KEY_MAX},
    {"in", JSONV_ARRAY, true, EQUIP_CHOICES_MAX},
};
static const jsonv_field template_fields[] = {
    {"code", JSONV_STRING, true, EQUIP_TAG_MAX},
    {"name", JSONV_STRING, true, 200},
    {"kind", JSONV_STRING, true, 20},
    {"fields", JSONV_ARRAY, true, EQUIP_FIELDS_MAX},
};
static const jsonv_field import_fields[] = {
    {"checklists", JSONV_ARRAY, true, EQUIP_TEMPLATES_MAX},
};
static const jsonv_field check_fields[] = {
    {"asset", JSONV_STRING, true, EQUIP_TAG_MAX},
    {"template", JSONV_STRING, true, EQUIP_TAG_MAX},
    {"performed_at", JSONV_STRING, false, 40},
    {"by", JSONV_STRING, false, EQUIP_TEXT_MAX},
    {"values", JSONV_OBJECT, true, 0},
    {"notes", JSONV_STRING, false, EQUIP_REASON_MAX},
};

static bool key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > EQUIP_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return false;
    return true;
}

/* An array of distinct printable strings (1..EQUIP_CHOICES_MAX). */
static err_t string_set(const json_t *arr, const char *name, errinfo *ei)
{
    size_t i;
    json_t *v;
    if (json_array_size(arr) == 0)
        return err_set(ei, ERR_INVALID, name, "%s must list at least one value", name);
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || !str_is_text(json_string_value(v)) || json_string_length(v) > 64)
            return err_set(ei, ERR_INVALID, name, "%s: printable strings of at most 64 bytes",
                           name);
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(arr, k), v))
                return err_set(ei, ERR_INVALID, name, "%s lists %s twice", name,
                               json_string_value(v));
    }
    return ERR_OK;
}

/* Whether every string of sub is in set. */
static bool subset(const json_t *sub, const json_t *set)
{
    size_t i, k;
    json_t *v, *w;
    json_array_foreach(sub, i, v)
    {
        bool found = false;
        json_array_foreach(set, k, w) found = found || json_equal(v, w);
        if (!found)
            return false;
    }
    return true;
}

/* The field keyed key among fields[0..n), or NULL. */
static const json_t *field_of(const json_t *fields, size_t n, const char *key)
{
    for (size_t k = 0; k < n; k++) {
        const json_t *f = json_array_get(fields, k);
        if (!strcmp(jsonv_str(f, "key"), key))
            return f;
    }
    return NULL;
}

static bool is_type(const json_t *f, const char *type)
{
    return !strcmp(jsonv_str(f, "type"), type);
}

static bool required(const json_t *f)
{
    return !json_is_false(json_object_get(f, "required"));
}

/* Members that only one type of field may have. */
static const struct {
    const char *member, *type;
} only_for[] = {
    {"expected", "boolean"}, {"unit", "number"},        {"min", "number"},
    {"max", "number"},       {"relative_to", "number"}, {"tolerance_percent", "number"},
    {"choices", "choice"},   {"pass", "choice"},
};

/* Check field i of fields (the earlier ones are checked already). */
static err_t check_field(const json_t *fields, size_t i, errinfo *ei)
{
    const json_t *f = json_array_get(fields, i);
    if (!json_is_object(f))
        return err_set(ei, ERR_INVALID, NULL, "a field must be an object");
    err_t rc = jsonv_check(f, field_fields, NFIELDS(field_fields), ei);
    if (rc)
        return rc;
    const char *key = jsonv_str(f, "key"), *type = jsonv_str(f, "type");
    if (!key_valid(key))
        return err_set(ei, ERR_INVALID, "key", "key: 1 to %d of a-z, 0-9 and '_'", EQUIP_KEY_MAX);
    if (field_of(fields, i, key))
        return err_set(ei, ERR_INVALID, "key", "key %s is another field's", key);
    if (!str_is_text(jsonv_str(f, "label")))
        return err_set(ei, ERR_INVALID, "label", "label must be printable text");
    if (strcmp(type, "boolean") && strcmp(type, "number") && strcmp(type, "text") &&
        strcmp(type, "choice"))
        return err_set(ei, ERR_INVALID, "type", "type must be boolean, number, text or choice");
    for (size_t k = 0; k < NFIELDS(only_for); k++)
        if (json_object_get(f, only_for[k].member) &&
            !json_is_null(json_object_get(f, only_for[k].member)) && strcmp(type, only_for[k].type))
            return err_set(ei, ERR_INVALID, only_for[k].member, "%s is for %s fields only",
                           only_for[k].member, only_for[k].type);
    const json_t *min = json_object_get(f, "min"), *max = json_object_get(f, "max");
    if (json_is_number(min) && json_is_number(max) &&
        !(json_number_value(min) <= json_number_value(max)))
        return err_set(ei, ERR_INVALID, "max", "max must not be below min");
    const char *rel = jsonv_str(f, "relative_to");
    const json_t *pct = json_object_get(f, "tolerance_percent");
    if ((rel != NULL) != json_is_number(pct))
        return err_set(ei, ERR_INVALID, rel ? "tolerance_percent" : "relative_to",
                       "relative_to and tolerance_percent go together");
    if (rel) {
        const json_t *ref = field_of(fields, i, rel);
        if (!ref || !is_type(ref, "number") || !required(ref) || json_object_get(ref, "when"))
            return err_set(ei, ERR_INVALID, "relative_to",
                           "relative_to must name an earlier number field that is always "
                           "required");
        if (!(json_number_value(pct) > 0 && json_number_value(pct) <= 100))
            return err_set(ei, ERR_INVALID, "tolerance_percent",
                           "tolerance_percent must be above 0 and at most 100");
    }
    const json_t *choices = json_object_get(f, "choices"), *pass = json_object_get(f, "pass");
    if (!strcmp(type, "choice")) {
        rc = string_set(choices, "choices", ei);
        if (!rc && json_is_array(pass))
            rc = string_set(pass, "pass", ei);
        if (!rc && json_is_array(pass) && !subset(pass, choices))
            rc = err_set(ei, ERR_INVALID, "pass", "pass must list some of the choices");
        if (rc)
            return rc;
    }
    const json_t *when = json_object_get(f, "when");
    if (json_is_object(when)) {
        errinfo e2 = {0};
        rc = jsonv_check(when, when_fields, NFIELDS(when_fields), &e2);
        if (rc)
            return err_set(ei, rc, "when", "when: %s", e2.message);
        const json_t *on = field_of(fields, i, jsonv_str(when, "field"));
        if (!on || !is_type(on, "choice"))
            return err_set(ei, ERR_INVALID, "when", "when must name an earlier choice field");
        rc = string_set(json_object_get(when, "in"), "when", ei);
        if (!rc && !subset(json_object_get(when, "in"), json_object_get(on, "choices")))
            rc = err_set(ei, ERR_INVALID, "when", "when.in must list choices of %s",
                         jsonv_str(when, "field"));
        if (rc)
            return rc;
    }
    return ERR_OK;
}

err_t equip_checklist_check_fields(const json_t *fields, errinfo *ei)
{
    size_t n = json_array_size(fields);
    if (!json_is_array(fields) || n == 0 || n > EQUIP_FIELDS_MAX)
        return err_set(ei, ERR_INVALID, "fields", "fields: 1 to %d fields", EQUIP_FIELDS_MAX);
    for (size_t i = 0; i < n; i++) {
        err_t rc = check_field(fields, i, ei);
        if (rc) {
            char where[24];
            snprintf(where, sizeof(where), "fields[%d]", (int)i);
            return equip_field_at(ei, rc, where);
        }
    }
    return ERR_OK;
}

/* ---- judging a check ---- */

/* |v - ref| <= limit, with one part in 10^12 of slack so that decimal
 * inputs stay exact (3150 against 3000 at 5% is on the limit). */
static bool within(double v, double ref, double limit)
{
    return fabs(v - ref) <= limit + 1e-12 * (fabs(v) + fabs(ref) + limit);
}

/* Whether field f applies given values. */
static bool applies(const json_t *f, const json_t *values)
{
    const json_t *when = json_object_get(f, "when");
    if (!json_is_object(when))
        return true;
    const char *on = jsonv_str(values, jsonv_str(when, "field"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(when, "in"), i, v)
    {
        if (on && !strcmp(json_string_value(v), on))
            return true;
    }
    return false;
}

/* Say what passes for f, into out. */
static void expected_text(const json_t *f, const json_t *values, char *out, size_t n)
{
    const char *unit = jsonv_str(f, "unit");
    const json_t *min = json_object_get(f, "min"), *max = json_object_get(f, "max");
    const char *rel = jsonv_str(f, "relative_to");
    char u[24];
    snprintf(u, sizeof(u), "%s%.16s", unit ? " " : "", unit ? unit : "");
    if (is_type(f, "boolean"))
        snprintf(out, n, "%s", json_is_true(json_object_get(f, "expected")) ? "true" : "false");
    else if (rel)
        snprintf(out, n, "within %g%% of %s (%g%s)",
                 json_number_value(json_object_get(f, "tolerance_percent")), rel,
                 json_number_value(json_object_get(values, rel)), u);
    else if (json_is_number(min) && json_is_number(max))
        snprintf(out, n, "%g to %g%s", json_number_value(min), json_number_value(max), u);
    else if (json_is_number(min))
        snprintf(out, n, "at least %g%s", json_number_value(min), u);
    else if (json_is_number(max))
        snprintf(out, n, "at most %g%s", json_number_value(max), u);
    else {
        size_t k, len = (size_t)snprintf(out, n, "one of");
        json_t *v;
        json_array_foreach(json_object_get(f, "pass"), k, v)
        {
            if (len < n)
                len += (size_t)snprintf(out + len, n - len, "%s %s", k ? "," : "",
                                        json_string_value(v));
        }
    }
}

/* Whether value v of field f passes. */
static bool passes(const json_t *f, const json_t *v, const json_t *values)
{
    if (is_type(f, "boolean")) {
        const json_t *e = json_object_get(f, "expected");
        return !json_is_boolean(e) || json_equal(e, v);
    }
    if (is_type(f, "number")) {
        double x = json_number_value(v);
        const json_t *min = json_object_get(f, "min"), *max = json_object_get(f, "max");
        const char *rel = jsonv_str(f, "relative_to");
        if (json_is_number(min) &&
            !(x >= json_number_value(min) || within(x, json_number_value(min), 0)))
            return false;
        if (json_is_number(max) &&
            !(x <= json_number_value(max) || within(x, json_number_value(max), 0)))
            return false;
        if (rel) {
            double ref = json_number_value(json_object_get(values, rel));
            double pct = json_number_value(json_object_get(f, "tolerance_percent"));
            return within(x, ref, fabs(ref) * pct / 100.0);
        }
        return true;
    }
    if (is_type(f, "choice")) {
        const json_t *pass = json_object_get(f, "pass");
        size_t i;
        json_t *p;
        if (!json_is_array(pass))
            return true;
        json_array_foreach(pass, i, p)
        {
            if (json_equal(p, v))
                return true;
        }
        return false;
    }
    return true; /* text is recorded, not judged */
}

/* The type of value v for field f; ERR_INVALID naming it otherwise. */
static err_t check_value(const json_t *f, const json_t *v, const char *name, errinfo *ei)
{
    if (is_type(f, "boolean") && !json_is_boolean(v))
        return err_set(ei, ERR_INVALID, name, "%s must be true or false", name);
    if (is_type(f, "number") && !json_is_number(v))
        return err_set(ei, ERR_INVALID, name, "%s must be a number%s%s", name,
                       jsonv_str(f, "unit") ? " in " : "",
                       jsonv_str(f, "unit") ? jsonv_str(f, "unit") : "");
    if (is_type(f, "text") && (!json_is_string(v) || !str_is_text(json_string_value(v)) ||
                               json_string_length(v) > EQUIP_REASON_MAX))
        return err_set(ei, ERR_INVALID, name, "%s must be printable text of at most %d bytes", name,
                       EQUIP_REASON_MAX);
    if (is_type(f, "choice")) {
        size_t i;
        json_t *c;
        bool ok = false;
        json_array_foreach(json_object_get(f, "choices"), i, c) ok = ok || json_equal(c, v);
        if (!ok)
            return err_set(ei, ERR_INVALID, name, "%s must be one of the choices of %s", name,
                           jsonv_str(f, "key"));
    }
    return ERR_OK;
}

err_t equip_checklist_evaluate(const json_t *fields, const json_t *values, bool *passed,
                               json_t **failed, errinfo *ei)
{
    size_t n = json_array_size(fields), i;
    const char *key;
    json_t *v;
    char name[64];
    *passed = false;
    *failed = NULL;
    if (!json_is_object(values))
        return err_set(ei, ERR_INVALID, "values", "values must be an object by field key");
    json_object_foreach((json_t *)values, key, v)
    {
        if (!field_of(fields, n, key)) {
            snprintf(name, sizeof(name), "values.%.50s", key);
            return err_set(ei, ERR_UNKNOWN_FIELD, name, "%s is not a field of the template", name);
        }
    }
    json_t *bad = json_array();
    if (!bad)
        return ERR_NOMEM;
    for (i = 0; i < n; i++) {
        const json_t *f = json_array_get(fields, i);
        const char *k = jsonv_str(f, "key");
        snprintf(name, sizeof(name), "values.%s", k);
        v = json_object_get(values, k);
        bool present = v && !json_is_null(v), applicable = applies(f, values);
        err_t rc = ERR_OK;
        if (present && !applicable)
            rc = err_set(ei, ERR_INVALID, name, "%s applies only when %s is one of its when.in",
                         name, jsonv_str(json_object_get(f, "when"), "field"));
        else if (!present && applicable && required(f))
            rc = err_set(ei, ERR_MISSING_FIELD, name, "%s (%s) is required", name,
                         jsonv_str(f, "label"));
        else if (present)
            rc = check_value(f, v, name, ei);
        if (rc) {
            json_decref(bad);
            return rc;
        }
        if (present && !passes(f, v, values)) {
            char expected[200];
            expected_text(f, values, expected, sizeof(expected));
            if (json_array_append_new(bad, json_pack("{s:s,s:s,s:O,s:s}", "key", k, "label",
                                                     jsonv_str(f, "label"), "value", v, "expected",
                                                     expected))) {
                json_decref(bad);
                return ERR_NOMEM;
            }
        }
    }
    *passed = json_array_size(bad) == 0;
    *failed = bad;
    return ERR_OK;
}

/* ---- templates on record ---- */

static const char sql_latest[] =
    "SELECT code, version, name, kind, fields, created_at, created_by FROM equip_checklists c"
    " WHERE code = ? AND version = (SELECT MAX(version) FROM equip_checklists WHERE code = ?)";
static const char sql_version[] =
    "SELECT code, version, name, kind, fields, created_at, created_by FROM equip_checklists"
    " WHERE code = ? AND version = ?";
static const char sql_all_latest[] =
    "SELECT c.code, c.version, c.name, c.kind, c.fields, c.created_at, c.created_by"
    " FROM equip_checklists c WHERE c.version = (SELECT MAX(x.version) FROM equip_checklists x"
    " WHERE x.code = c.code) ORDER BY c.code";
static const char sql_template_insert[] =
    "INSERT INTO equip_checklists (code, version, name, kind, fields, created_at, created_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)";

static json_t *template_row(db_stmt *st)
{
    json_error_t je;
    json_t *fields = json_loads(db_col_text(st, 4), 0, &je);
    return json_pack("{s:s,s:I,s:s,s:s,s:o,s:o,s:s}", "code", db_col_text(st, 0), "version",
                     (json_int_t)db_col_int64(st, 1), "name", db_col_text(st, 2), "kind",
                     db_col_text(st, 3), "fields", fields ? fields : json_array(), "created_at",
                     db_col_json_time(st, 5), "created_by", db_col_text(st, 6));
}

err_t equip_checklist_get(db *d, const char *code, int version, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *out = NULL;
    err_t rc = version ? db_query(d, &st, ei, sql_version, "ti", code, (int64_t)version)
                       : db_query(d, &st, ei, sql_latest, "tt", code, code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = version ? err_set(ei, ERR_NOT_FOUND, "version", "template %.40s has no version %d",
                               code, version)
                     : err_set(ei, ERR_NOT_FOUND, "code", "no checklist template %.40s", code);
    if (!rc && !(*out = template_row(st)))
        rc = ERR_NOMEM;
    db_finalize(st);
    return rc;
}

err_t equip_checklist_list(db *d, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_all_latest, "");
    return db_rows_json(rc, st, template_row, items, ei);
}

err_t equip_checklist_latest(db *d, const char *code, const char *field, int *version, char *kind,
                             errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_latest, "tt", code, code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_INVALID, field, "%s: no checklist template %.40s", field, code);
    if (!rc) {
        *version = (int)db_col_int64(st, 1);
        snprintf(kind, EQUIP_KIND_MAX, "%s", db_col_text(st, 3));
    }
    db_finalize(st);
    return rc;
}

/* Check a template on its own: code, name, kind, fields. */
static err_t check_template(const json_t *t, errinfo *ei)
{
    if (!json_is_object(t))
        return err_set(ei, ERR_INVALID, NULL, "a template must be an object");
    err_t rc = jsonv_check(t, template_fields, NFIELDS(template_fields), ei);
    if (rc)
        return rc;
    const char *kind = jsonv_str(t, "kind");
    if (!equip_name_valid(jsonv_str(t, "code")))
        return err_set(ei, ERR_INVALID, "code", "code: 1 to %d letters, digits, '-', '_' or '.'",
                       EQUIP_TAG_MAX);
    if (!str_is_text(jsonv_str(t, "name")))
        return err_set(ei, ERR_INVALID, "name", "name must be printable text");
    if (strcmp(kind, "check") && strcmp(kind, "electrical-safety"))
        return err_set(ei, ERR_INVALID, "kind", "kind must be check or electrical-safety");
    return equip_checklist_check_fields(json_object_get(t, "fields"), ei);
}

/* Store t (checked) as a new version unless its latest is the same; *version
 * the version that holds it, *created whether it is new. */
static err_t store_template(db *d, const audit_ctx *ctx, const json_t *t, int *version,
                            bool *created, errinfo *ei)
{
    const char *code = jsonv_str(t, "code");
    json_t *cur = NULL;
    char *fields = json_dumps(json_object_get(t, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
    *created = false;
    *version = 0;
    if (!fields)
        return ERR_NOMEM;
    err_t rc = equip_checklist_get(d, code, 0, &cur, ei);
    if (rc == ERR_NOT_FOUND) {
        rc = ERR_OK;
    } else if (!rc) {
        *version = (int)json_integer_value(json_object_get(cur, "version"));
        char *had = json_dumps(json_object_get(cur, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
        bool same = had && !strcmp(had, fields) &&
                    !strcmp(jsonv_str(cur, "name"), jsonv_str(t, "name")) &&
                    !strcmp(jsonv_str(cur, "kind"), jsonv_str(t, "kind"));
        free(had);
        if (same)
            goto done;
    }
    if (!rc) {
        (*version)++;
        *created = true;
        rc = db_run(d, ei, NULL, sql_template_insert, "titttit", code, (int64_t)*version,
                    jsonv_str(t, "name"), jsonv_str(t, "kind"), fields, time_now_us(),
                    ctx->actor ? ctx->actor : "system");
    }
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:i,s:s}", "code", code, "version", *version, "name",
                                   jsonv_str(t, "name"));
        rc = audit_write(d, ctx, "equip.checklist.create", "equip_checklist", code, "ok", detail,
                         ei);
        json_decref(detail);
    }
done:
    json_decref(cur);
    free(fields);
    return rc;
}

err_t equip_checklist_put(db *d, const audit_ctx *ctx, const json_t *tmpl, json_t **out,
                          errinfo *ei)
{
    int version = 0;
    bool created = false;
    *out = NULL;
    err_t rc = check_template(tmpl, ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = store_template(d, ctx, tmpl, &version, &created, ei);
    if (!rc)
        rc = equip_checklist_get(d, jsonv_str(tmpl, "code"), version, out, ei);
    if (!rc && json_object_set_new(*out, "created", json_boolean(created)))
        rc = ERR_NOMEM;
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t equip_checklist_import(db *d, const audit_ctx *ctx, const json_t *doc, int *created,
                             errinfo *ei)
{
    size_t i;
    json_t *t;
    *created = 0;
    err_t rc = json_is_object(doc) ? jsonv_check(doc, import_fields, NFIELDS(import_fields), ei)
                                   : err_set(ei, ERR_INVALID, "checklists",
                                             "the document must be {\"checklists\":[...]}");
    if (rc)
        return rc;
    const json_t *list = json_object_get(doc, "checklists");
    if (json_array_size(list) == 0)
        return err_set(ei, ERR_INVALID, "checklists", "the document lists no template");
    json_array_foreach(list, i, t)
    {
        char where[32];
        snprintf(where, sizeof(where), "checklists[%d]", (int)i);
        rc = check_template(t, ei);
        for (size_t k = 0; !rc && k < i; k++)
            if (!strcmp(jsonv_str(json_array_get(list, k), "code"), jsonv_str(t, "code")))
                rc = err_set(ei, ERR_INVALID, "code", "code %s is listed twice",
                             jsonv_str(t, "code"));
        if (rc)
            return equip_field_at(ei, rc, where);
    }
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    json_array_foreach(list, i, t)
    {
        int version = 0;
        bool made = false;
        if (rc)
            break;
        rc = store_template(d, ctx, t, &version, &made, ei);
        *created += made;
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        *created = 0;
    }
    return rc;
}

err_t equip_checklist_defaults(db *d, const audit_ctx *ctx, int *created, errinfo *ei)
{
    json_error_t je;
    json_t *doc = json_loadb(equip_checklists_json, equip_checklists_json_len, 0, &je);
    *created = 0;
    if (!doc)
        return err_set(ei, ERR_INTERNAL, NULL, "checklists.json: line %d: %s", je.line, je.text);
    err_t rc = equip_checklist_import(d, ctx, doc, created, ei);
    json_decref(doc);
    return rc;
}

/* ---- checks on record ---- */

#define CHECK_COLS                                                                                 \
    "SELECT k.id, a.tag, k.template, k.version, t.name, t.kind, k.performed_at, k.performed_by,"   \
    " k.entries, k.passed, k.failed, k.notes, k.recorded_at, k.recorded_by FROM equip_checks k"    \
    " JOIN assets a ON a.id = k.asset_id JOIN equip_checklists t ON t.code = k.template AND"       \
    " t.version = k.version"

static const char sql_check[] = CHECK_COLS " WHERE k.id = ?";
static const char sql_checks_of[] =
    CHECK_COLS " WHERE a.tag = ? ORDER BY k.performed_at DESC, k.id DESC LIMIT 200";
static const char sql_check_insert[] =
    "INSERT INTO equip_checks (id, asset_id, template, version, performed_at, performed_by,"
    " entries, passed, failed, notes, recorded_at, recorded_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static json_t *check_row(db_stmt *st)
{
    json_error_t je;
    json_t *values = json_loads(db_col_text(st, 8), 0, &je);
    json_t *failed = json_loads(db_col_text(st, 10), 0, &je);
    return json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:o,s:s,s:o,s:b,s:o,s:o,s:o,s:s}", "id",
                     db_col_text(st, 0), "asset", db_col_text(st, 1), "template",
                     db_col_text(st, 2), "version", (json_int_t)db_col_int64(st, 3),
                     "template_name", db_col_text(st, 4), "kind", db_col_text(st, 5),
                     "performed_at", db_col_json_time(st, 6), "performed_by", db_col_text(st, 7),
                     "values", values ? values : json_object(), "passed", db_col_int64(st, 9) != 0,
                     "failed", failed ? failed : json_array(), "notes", db_col_json_text(st, 11),
                     "recorded_at", db_col_json_time(st, 12), "recorded_by", db_col_text(st, 13));
}

err_t equip_check_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_check, "t", id);
    return equip_row(rc, st, check_row, out, "id", "check has id", id, ei);
}

err_t equip_check_list(db *d, const char *tag, json_t **items, errinfo *ei)
{
    return equip_record_list(d, sql_checks_of, tag, check_row, items, ei);
}

err_t equip_check_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    equip_record_head h;
    json_t *tmpl = NULL, *failed = NULL;
    char *values = NULL, *failed_text = NULL, id[ID_LEN + 1];
    bool passed = false;
    *out = NULL;
    err_t rc = jsonv_check(body, check_fields, NFIELDS(check_fields), ei);
    if (rc)
        return rc;
    const char *code = jsonv_str(body, "template"), *notes = jsonv_str(body, "notes");
    if (notes && !str_is_text(notes))
        return err_set(ei, ERR_INVALID, "notes", "notes must be printable text");
    rc = equip_checklist_get(d, code, 0, &tmpl, ei);
    if (rc == ERR_NOT_FOUND)
        rc = err_set(ei, ERR_INVALID, "template", "template: no checklist template %.40s", code);
    if (!rc)
        rc = equip_checklist_evaluate(json_object_get(tmpl, "fields"),
                                      json_object_get(body, "values"), &passed, &failed, ei);
    if (!rc) {
        values = json_dumps(json_object_get(body, "values"), JSON_COMPACT);
        failed_text = json_dumps(failed, JSON_COMPACT);
        if (!values || !failed_text)
            rc = ERR_NOMEM;
    }
    if (!rc)
        rc = equip_record_begin(d, ctx, jsonv_str(body, "asset"), "asset", body, &h, ei);
    if (rc)
        goto done;
    id_new(id);
    rc = db_run(d, ei, NULL, sql_check_insert, "tttiittittit", id, h.asset_id, code,
                (int64_t)json_integer_value(json_object_get(tmpl, "version")), h.performed_at, h.by,
                values, (int64_t)passed, failed_text, notes, h.now, h.recorder);
    if (!rc)
        rc = equip_check_get(d, id, out, ei);
    json_t *detail = NULL;
    if (!rc) {
        detail = json_pack("{s:s,s:s,s:O,s:b,s:O}", "asset", h.tag, "template", code, "version",
                           json_object_get(tmpl, "version"), "passed", passed, "failed", failed);
        if (!detail)
            rc = ERR_NOMEM;
    }
    rc = equip_record_end(d, ctx, &h, rc, "equip.check.record", "equip_check", id, detail, ei);
    json_decref(detail);
done:
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    json_decref(tmpl);
    json_decref(failed);
    free(values);
    free(failed_text);
    return rc;
}
