/*
 * jsonv.c - strict JSON body checks (see jsonv.h).
 */
#include "base/jsonv.h"

#include <string.h>

#include "base/time.h"

err_t jsonv_parse_object(const char *body, size_t len, json_t **out, errinfo *ei)
{
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        goto bad;
    if (!json_is_object(v)) {
        json_decref(v);
        if (ei) {
            ei->line = 1;
            ei->column = 1;
        }
        return err_set(ei, ERR_BAD_JSON, NULL, "the body must be a JSON object");
    }
    *out = v;
    return ERR_OK;
bad:
    /* jansson counts an error before the first character as line 1, column 0. */
    if (je.line < 1)
        je.line = 1;
    if (je.column < 1)
        je.column = 1;
    if (ei) {
        ei->line = je.line;
        ei->column = je.column;
    }
    return err_set(ei, ERR_BAD_JSON, NULL, "malformed JSON at line %d, column %d: %s", je.line,
                   je.column, je.text);
}

static const char *type_name(jsonv_type t)
{
    switch (t) {
    case JSONV_STRING:
        return "a string";
    case JSONV_INT:
        return "an integer";
    case JSONV_BOOL:
        return "true or false";
    case JSONV_NUMBER:
        return "a number";
    case JSONV_OBJECT:
        return "an object";
    case JSONV_ARRAY:
        return "an array";
    }
    return "a value";
}

static bool type_ok(const json_t *v, jsonv_type t)
{
    switch (t) {
    case JSONV_STRING:
        return json_is_string(v);
    case JSONV_INT:
        return json_is_integer(v);
    case JSONV_BOOL:
        return json_is_boolean(v);
    case JSONV_NUMBER:
        return json_is_number(v);
    case JSONV_OBJECT:
        return json_is_object(v);
    case JSONV_ARRAY:
        return json_is_array(v);
    }
    return false;
}

err_t jsonv_check(const json_t *obj, const jsonv_field *fields, size_t n, errinfo *ei)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        for (i = 0; i < n; i++)
            if (!strcmp(fields[i].name, key))
                break;
        if (i == n)
            return err_set(ei, ERR_UNKNOWN_FIELD, key, "unknown field '%.60s'", key);
        const jsonv_field *f = &fields[i];
        if (json_is_null(v)) /* null is as good as absent; required ones are caught below */
            continue;
        if (!type_ok(v, f->type))
            return err_set(ei, ERR_INVALID, key, "field '%s' must be %s", key, type_name(f->type));
        if (f->type == JSONV_STRING) {
            size_t max = f->max_len ? f->max_len : 1024;
            size_t len = json_string_length(v);
            if (len == 0)
                return err_set(ei, ERR_INVALID, key, "field '%s' must not be empty", key);
            if (len > max)
                return err_set(ei, ERR_INVALID, key, "field '%s' is longer than %zu bytes", key,
                               max);
        } else if (f->type == JSONV_ARRAY) {
            size_t max = f->max_len ? f->max_len : 1000;
            if (json_array_size(v) > max)
                return err_set(ei, ERR_INVALID, key, "field '%s' has more than %zu items", key,
                               max);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!fields[i].required)
            continue;
        v = json_object_get(obj, fields[i].name);
        if (!v || json_is_null(v))
            return err_set(ei, ERR_MISSING_FIELD, fields[i].name, "missing field '%s'",
                           fields[i].name);
    }
    return ERR_OK;
}

const char *jsonv_str(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

err_t jsonv_check_item(const json_t *v, const char *where, const jsonv_field *fields, size_t n,
                       errinfo *ei)
{
    char field[64];
    errinfo e2 = {0};
    if (!json_is_object(v))
        return err_set(ei, ERR_INVALID, where, "%s must be an object", where);
    err_t rc = jsonv_check(v, fields, n, &e2);
    if (!rc)
        return ERR_OK;
    snprintf(field, sizeof(field), "%.30s.%.30s", where, e2.field);
    return err_set(ei, rc, field, "%s: %.400s", where, e2.message);
}

json_t *jsonv_time(int64_t at)
{
    char iso[TIME_ISO_LEN];
    if (!at)
        return json_null();
    time_format_iso(at, iso);
    return json_string(iso);
}
