/*
 * dbjson.c - columns as JSON values (see dbjson.h).
 */
#include "store/dbjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"

json_t *db_col_json_text(db_stmt *st, int i)
{
    return db_col_null(st, i) ? json_null() : json_string(db_col_text(st, i));
}

json_t *db_col_json_num(db_stmt *st, int i)
{
    return db_col_null(st, i) ? json_null() : json_real(db_col_double(st, i));
}

json_t *db_col_json_time(db_stmt *st, int i)
{
    char at[TIME_ISO_LEN];
    if (db_col_null(st, i))
        return json_null();
    time_format_iso(db_col_int64(st, i), at);
    return json_string(at);
}

const char *db_num_text(bool has, double v, char out[DB_NUM_TEXT])
{
    if (!has)
        return NULL;
    snprintf(out, DB_NUM_TEXT, "%.17g", v);
    return out;
}

err_t db_publish_json(db *d, const char *kind, json_t *data, errinfo *ei)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    err_t rc = text ? db_publish(d, kind, text, strlen(text), ei) : ERR_NOMEM;
    free(text);
    json_decref(data);
    return rc;
}

err_t db_rows_json(err_t rc, db_stmt *st, db_row_fn row, json_t **items, errinfo *ei)
{
    bool more = false;
    json_t *arr = NULL;
    *items = NULL;
    if (!rc && !(arr = json_array()))
        rc = ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &more, ei)) && more)
        if (json_array_append_new(arr, row(st)))
            rc = ERR_NOMEM;
    db_finalize(st);
    if (rc)
        json_decref(arr);
    else
        *items = arr;
    return rc;
}

err_t db_row_json(err_t rc, db_stmt *st, db_row_fn row, json_t **out, const char *field,
                  const char *missing, errinfo *ei)
{
    bool found = false;
    *out = NULL;
    if (!rc)
        rc = db_step(st, &found, ei);
    if (!rc && !found)
        rc = err_set(ei, ERR_NOT_FOUND, field, "%s", missing);
    if (!rc && !(*out = row(st)))
        rc = ERR_NOMEM;
    db_finalize(st);
    return rc;
}
