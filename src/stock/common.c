/*
 * common.c - lookups and checks the files of src/stock/ share (see
 * stock_impl.h): items and lots by their names, storage units, quantities
 * on hand, and the fields of requests.
 */
#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "stock/stock_impl.h"
#include "store/dbjson.h"

static const char *const kinds[] = {
    "reagent", "control", "calibrator", "tube", "phlebotomy-supply", "ppe", "other", NULL,
};

static const char sql_item[] =
    "SELECT id, code, name, kind, unit, open_stability_days, uses_per_test FROM stock_items"
    " WHERE code = ?";
static const char sql_lot[] =
    "SELECT id, item_id, lot, expiry, status, received_at, opened_at, verified_at"
    " FROM stock_lots WHERE item_id = ? AND lot = ?";
static const char sql_unit[] = "SELECT 1 FROM storage_units WHERE name = ?";
static const char sql_on_hand[] =
    "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM stock_movements WHERE lot_id = ?"
    " AND (CAST(? AS TEXT) IS NULL OR location = ?)";
static const char sql_lock[] = "UPDATE stock_lots SET status = status WHERE id = ?";
static const char sql_tests_of[] =
    "SELECT test_code FROM stock_item_tests WHERE item_id = ? ORDER BY test_code";

bool stock_kind_valid(const char *kind)
{
    for (const char *const *k = kinds; *k; k++)
        if (!strcmp(*k, kind))
            return true;
    return false;
}

bool stock_kind_verified(const char *kind)
{
    return !strcmp(kind, "reagent") || !strcmp(kind, "control") || !strcmp(kind, "calibrator");
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

err_t stock_item_find(db *d, const char *code, const char *field, bool not_found,
                      stock_item_row *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_item, "t", code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        copy(out->id, sizeof(out->id), db_col_text(st, 0));
        copy(out->code, sizeof(out->code), db_col_text(st, 1));
        copy(out->name, sizeof(out->name), db_col_text(st, 2));
        copy(out->kind, sizeof(out->kind), db_col_text(st, 3));
        copy(out->unit, sizeof(out->unit), db_col_text(st, 4));
        out->open_days = (int)db_col_int64(st, 5);
        out->uses_per_test = db_col_int64(st, 6);
    }
    db_finalize(st);
    if (!rc && !row)
        rc = err_set(ei, not_found ? ERR_NOT_FOUND : ERR_INVALID, field,
                     "no item of supplies has code '%.32s'", code);
    return rc;
}

err_t stock_lot_find(db *d, const char *item_id, const char *lot, bool *found, stock_lot_row *out,
                     errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_lot, "tt", item_id, lot);
    *found = false;
    if (!rc)
        rc = db_step(st, found, ei);
    if (!rc && *found) {
        copy(out->id, sizeof(out->id), db_col_text(st, 0));
        copy(out->item_id, sizeof(out->item_id), db_col_text(st, 1));
        copy(out->lot, sizeof(out->lot), db_col_text(st, 2));
        copy(out->expiry, sizeof(out->expiry), db_col_text(st, 3));
        copy(out->status, sizeof(out->status), db_col_text(st, 4));
        out->received_at = db_col_int64(st, 5);
        out->opened_at = db_col_null(st, 6) ? 0 : db_col_int64(st, 6);
        out->verified_at = db_col_null(st, 7) ? 0 : db_col_int64(st, 7);
    }
    db_finalize(st);
    return rc;
}

err_t stock_lot_named(db *d, const stock_item_row *item, const char *lot, stock_lot_row *out,
                      errinfo *ei)
{
    bool found = false;
    err_t rc = stock_lot_find(d, item->id, lot, &found, out, ei);
    if (!rc && !found)
        rc = err_set(ei, ERR_INVALID, "lot", "%s has no lot %.40s", item->code, lot);
    return rc;
}

err_t stock_unit_check(db *d, const char *unit, const char *field, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_unit, "t", unit);
    if (!rc)
        rc = db_step(st, &row, ei);
    db_finalize(st);
    if (!rc && !row)
        rc = err_set(ei, ERR_INVALID, field,
                     "%s: no storage unit is named '%.64s' (storage units are registered "
                     "under /api/v1/storage-units)",
                     field, unit);
    return rc;
}

err_t stock_on_hand(db *d, const char *lot_id, const char *location, int64_t *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *out = 0;
    err_t rc = db_query(d, &st, ei, sql_on_hand, "ttt", lot_id, location, location);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        *out = db_col_int64(st, 0);
    db_finalize(st);
    return rc;
}

err_t stock_lot_lock(db *d, const char *lot_id, errinfo *ei)
{
    return db_run(d, ei, NULL, sql_lock, "t", lot_id);
}

err_t stock_check_nested(const json_t *obj, const char *path, const jsonv_field *fields, size_t n,
                         errinfo *ei)
{
    char field[64];
    errinfo e2 = {0};
    if (!path)
        return jsonv_check(obj, fields, n, ei);
    if (!json_is_object(obj))
        return err_set(ei, ERR_INVALID, path, "%s must be an object", path);
    err_t rc = jsonv_check(obj, fields, n, &e2);
    if (!rc)
        return ERR_OK;
    snprintf(field, sizeof(field), "%.24s.%.38s", path, e2.field);
    return err_set(ei, rc, field, "%.24s: %.400s", path, e2.message);
}

err_t stock_text_check(const json_t *obj, const char *name, const char *path, errinfo *ei)
{
    const char *s = jsonv_str(obj, name);
    char field[64];
    if (!s || str_is_text(s))
        return ERR_OK;
    if (path)
        snprintf(field, sizeof(field), "%.24s.%.38s", path, name);
    else
        snprintf(field, sizeof(field), "%.62s", name);
    return err_set(ei, ERR_INVALID, field, "%s must be printable text, not blank", field);
}

err_t stock_at_parse(const json_t *obj, int64_t now, int64_t *at, errinfo *ei)
{
    const char *s = jsonv_str(obj, "at");
    errinfo e2 = {0};
    *at = now;
    if (!s)
        return ERR_OK;
    if (time_parse_iso(s, strlen(s), at, &e2))
        return err_set(ei, ERR_INVALID, "at", "at: %s", e2.message);
    if (*at > now + STOCK_SKEW_US)
        return err_set(ei, ERR_INVALID, "at",
                       "at is in the future: a movement is recorded "
                       "once it has happened");
    return ERR_OK;
}

err_t stock_collect(db *d, db_stmt *st, err_t rc, stock_row_fn row, json_t **items, errinfo *ei)
{
    bool more = false;
    json_t *list = json_array();
    *items = NULL;
    if (!rc && !list)
        rc = ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &more, ei)) && more) {
        json_t *o = NULL;
        rc = row(d, st, &o, ei);
        if (!rc && o && json_array_append_new(list, o))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *items = list;
    return ERR_OK;
}

static err_t test_code_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    (void)d;
    (void)ei;
    *out = json_string(db_col_text(st, 0));
    return *out ? ERR_OK : ERR_NOMEM;
}

err_t stock_item_tests(db *d, const char *item_id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_tests_of, "t", item_id);
    return stock_collect(d, st, rc, test_code_row, out, ei);
}

err_t stock_audit_event(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                        const char *id_key, const char *id, json_t *detail, errinfo *ei)
{
    err_t rc = detail ? audit_write(d, ctx, action, entity_type, id, "ok", detail, ei) : ERR_NOMEM;
    if (!rc && json_object_set_new(detail, id_key, json_string(id)))
        rc = ERR_NOMEM;
    if (!rc)
        return db_publish_json(d, action, detail, ei);
    json_decref(detail);
    return rc;
}

err_t stock_finish(db *d, err_t rc, json_t **out, errinfo *ei)
{
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
