/*
 * dbjson.h - a column of the current row as a JSON value for an API answer,
 * the rows of a query as a JSON array (or its one row as an object), a
 * double as the text a nullable DOUBLE PRECISION parameter takes, and an
 * event published with its JSON object.
 */
#ifndef BENCHSIDE_STORE_DBJSON_H
#define BENCHSIDE_STORE_DBJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "store/db.h"

#define DB_NUM_TEXT 40

/* Text, number, or UTC time (ISO 8601 from BIGINT microseconds); JSON null
 * for SQL NULL. New references. */
json_t *db_col_json_text(db_stmt *st, int i);
json_t *db_col_json_num(db_stmt *st, int i);
json_t *db_col_json_time(db_stmt *st, int i);

/* A function that makes the JSON of the current row of a statement (NULL
 * when out of memory). */
typedef json_t *(*db_row_fn)(db_stmt *st);

/*
 * The rows of st (prepared by db_query, whose return is rc: an error there
 * is returned as it is), each made by row, into a new array *items (NULL on
 * error). st is finalized here.
 */
err_t db_rows_json(err_t rc, db_stmt *st, db_row_fn row, json_t **items, errinfo *ei);

/*
 * The first row of st made by row into *out (new reference); no row is
 * ERR_NOT_FOUND naming field with the message missing ("no cycle has id
 * X"). rc and st as for db_rows_json.
 */
err_t db_row_json(err_t rc, db_stmt *st, db_row_fn row, json_t **out, const char *field,
                  const char *missing, errinfo *ei);

/* v as "%.17g" in out when has, else NULL (binds NULL with type 't').
 * Doubles travel as decimal text so that absent ones can be NULL. */
const char *db_num_text(bool has, double v, char out[DB_NUM_TEXT]);

/*
 * db_publish() (db.h) of a JSON object: data is consumed (its reference is
 * taken, NULL from a failed json_pack is ERR_NOMEM), so a caller writes
 * db_publish_json(d, "critical.raised", json_pack(...), ei).
 */
err_t db_publish_json(db *d, const char *kind, json_t *data, errinfo *ei);

#endif
