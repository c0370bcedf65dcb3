/*
 * jsonv.h - strict reading of JSON request bodies (jansson underneath).
 *
 * A body is parsed with its error position, then checked against a table of the
 * fields it may have: an unknown field, a missing required one, or one of the
 * wrong type or length is refused with the field named in the errinfo.
 */
#ifndef BENCHSIDE_BASE_JSONV_H
#define BENCHSIDE_BASE_JSONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef enum {
    JSONV_STRING,
    JSONV_INT,
    JSONV_BOOL,
    JSONV_NUMBER,
    JSONV_OBJECT,
    JSONV_ARRAY,
} jsonv_type;

typedef struct jsonv_field {
    const char *name;
    jsonv_type type;
    bool required;
    size_t max_len; /* strings: most bytes allowed (0 = 1024); arrays: most items (0 = 1000) */
} jsonv_field;

/*
 * Parse body[0..len) as one JSON object. On success *out is a new reference the
 * caller releases with json_decref(). On failure returns ERR_BAD_JSON with the
 * line and column in ei (also in the message).
 */
err_t jsonv_parse_object(const char *body, size_t len, json_t **out, errinfo *ei);

/* Check obj against fields[0..n). Returns ERR_UNKNOWN_FIELD, ERR_MISSING_FIELD or
 * ERR_INVALID naming the field in ei. Strings must be non-empty valid UTF-8. */
err_t jsonv_check(const json_t *obj, const jsonv_field *fields, size_t n, errinfo *ei);

/* Check v, a member of a larger body at where ("samples[2]"), against
 * fields: ERR_INVALID naming where when v is not an object; the field at
 * fault named with its path ("samples[2].test") otherwise. */
err_t jsonv_check_item(const json_t *v, const char *where, const jsonv_field *fields, size_t n,
                       errinfo *ei);

/* The string value of obj[name], or NULL when absent or not a string. Borrowed. */
const char *jsonv_str(const json_t *obj, const char *name);

/* A time for an answer: UTC microseconds as an ISO 8601 string, JSON null
 * for 0 (not happened yet). A new reference. */
json_t *jsonv_time(int64_t at);

#endif
