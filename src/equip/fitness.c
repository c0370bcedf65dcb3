/*
 * fitness.c - device fitness for the release gate (see fitness.h).
 */
#include "equip/fitness.h"

#include <stdio.h>
#include <string.h>

#include "lab/result.h"

static const char sql_held_tests[] =
    "SELECT DISTINCT test_code FROM results WHERE status = 'review' AND instrument = ?"
    " ORDER BY test_code";

err_t equip_fitness_recheck(db *d, const audit_ctx *ctx, const char *instrument, json_t **released,
                            errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    size_t i;
    json_t *tests = json_array(), *all = json_array(), *t;
    if (released)
        *released = NULL;
    err_t rc = tests && all ? db_query(d, &st, ei, sql_held_tests, "t", instrument) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        if (json_array_append_new(tests, json_string(db_col_text(st, 0))))
            rc = ERR_NOMEM;
    db_finalize(st);
    json_array_foreach(tests, i, t)
    {
        json_t *ids = NULL;
        if (rc)
            break;
        rc = result_recheck(d, ctx, json_string_value(t), instrument, &ids, ei);
        if (!rc && json_array_extend(all, ids))
            rc = ERR_NOMEM;
        json_decref(ids);
    }
    json_decref(tests);
    if (!rc && released)
        *released = all;
    else
        json_decref(all);
    return rc;
}
