/*
 * storage.c - storage units and their temperature limits (see storage.h).
 */
#include "equip/storage.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/record.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

#define UNIT_COLS                                                                                  \
    "SELECT u.name, u.kind, u.asset_id, a.tag, u.low, u.high, u.description, u.created_at,"        \
    " u.created_by FROM storage_units u LEFT JOIN assets a ON a.id = u.asset_id"

static const char sql_one[] = UNIT_COLS " WHERE u.name = ?";
static const char sql_all[] = UNIT_COLS " ORDER BY u.name LIMIT 1000";
static const char sql_taken[] = "SELECT COUNT(*) FROM storage_units WHERE name = ?";
static const char sql_insert[] =
    "INSERT INTO storage_units (name, kind, asset_id, low, high, description, created_at,"
    " created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

static const jsonv_field unit_fields[] = {
    {"name", JSONV_STRING, true, EQUIP_TAG_MAX},
    {"kind", JSONV_STRING, true, 16},
    {"asset", JSONV_STRING, false, EQUIP_TAG_MAX},
    {"low", JSONV_NUMBER, true, 0},
    {"high", JSONV_NUMBER, true, 0},
    {"description", JSONV_STRING, false, EQUIP_REASON_MAX},
};

static json_t *unit_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:o,s:f,s:f,s:o,s:o,s:s}", "name", db_col_text(st, 0), "kind",
                     db_col_text(st, 1), "asset", db_col_json_text(st, 3), "low",
                     db_col_double(st, 4), "high", db_col_double(st, 5), "description",
                     db_col_json_text(st, 6), "created_at", db_col_json_time(st, 7), "created_by",
                     db_col_text(st, 8));
}

err_t equip_storage_get(db *d, const char *name, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_one, "t", name);
    return equip_row(rc, st, unit_row, out, "name", "storage unit is named", name, ei);
}

err_t equip_storage_list(db *d, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_all, "");
    return db_rows_json(rc, st, unit_row, items, ei);
}

err_t equip_storage_find(db *d, const char *name, const char *field, equip_storage_unit *u,
                         errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    memset(u, 0, sizeof(*u));
    err_t rc = db_query(d, &st, ei, sql_one, "t", name);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, field, "%s: no storage unit is named %.40s", field, name);
    if (!rc) {
        snprintf(u->name, sizeof(u->name), "%s", db_col_text(st, 0));
        snprintf(u->kind, sizeof(u->kind), "%s", db_col_text(st, 1));
        snprintf(u->asset_id, sizeof(u->asset_id), "%s",
                 db_col_null(st, 2) ? "" : db_col_text(st, 2));
        snprintf(u->asset_tag, sizeof(u->asset_tag), "%s",
                 db_col_null(st, 3) ? "" : db_col_text(st, 3));
        u->low = db_col_double(st, 4);
        u->high = db_col_double(st, 5);
    }
    db_finalize(st);
    return rc;
}

err_t equip_storage_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei)
{
    static const char *const kinds[] = {"refrigerator", "freezer", "incubator", "room"};
    char asset_id[ID_LEN + 1] = "", status[EQUIP_STATUS_MAX] = "";
    int64_t taken = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, unit_fields, NFIELDS(unit_fields), ei);
    if (rc)
        return rc;
    const char *name = jsonv_str(body, "name"), *kind = jsonv_str(body, "kind");
    const char *asset = jsonv_str(body, "asset"), *description = jsonv_str(body, "description");
    double low = json_number_value(json_object_get(body, "low"));
    double high = json_number_value(json_object_get(body, "high"));
    size_t k = 0;
    if (!equip_name_valid(name))
        return err_set(ei, ERR_INVALID, "name",
                       "name: 1 to %d letters, digits, '-', '_' or '.' (FRIDGE-2)", EQUIP_TAG_MAX);
    while (k < NFIELDS(kinds) && strcmp(kinds[k], kind))
        k++;
    if (k == NFIELDS(kinds))
        return err_set(ei, ERR_INVALID, "kind",
                       "kind must be refrigerator, freezer, incubator or room");
    if (!(fabs(low) <= EQUIP_STORAGE_LIMIT))
        return err_set(ei, ERR_INVALID, "low", "low must be from -%g to %g degrees Celsius",
                       EQUIP_STORAGE_LIMIT, EQUIP_STORAGE_LIMIT);
    if (!(fabs(high) <= EQUIP_STORAGE_LIMIT))
        return err_set(ei, ERR_INVALID, "high", "high must be from -%g to %g degrees Celsius",
                       EQUIP_STORAGE_LIMIT, EQUIP_STORAGE_LIMIT);
    if (!(low < high))
        return err_set(ei, ERR_INVALID, "high", "high (%g) must be above low (%g)", high, low);
    if (description && !str_is_text(description))
        return err_set(ei, ERR_INVALID, "description", "description must be printable text");
    if (asset) {
        rc = equip_asset_id(d, asset, "asset", asset_id, status, ei);
        if (!rc && !strcmp(status, "retired"))
            rc = err_set(ei, ERR_INVALID, "asset", "asset: %s is retired", asset);
        if (rc)
            return rc;
    }
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    db_stmt *st = NULL;
    bool row = false;
    rc = db_query(d, &st, ei, sql_taken, "t", name);
    if (!rc && !(rc = db_step(st, &row, ei)) && row)
        taken = db_col_int64(st, 0);
    db_finalize(st);
    if (!rc && taken)
        rc = err_set(ei, ERR_CONFLICT, "name", "a storage unit is named %s already", name);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_insert, "tttddtit", name, kind, asset ? asset_id : NULL, low,
                    high, description, time_now_us(), ctx->actor ? ctx->actor : "system");
    if (rc == ERR_CONFLICT && !taken)
        rc = err_set(ei, ERR_CONFLICT, "name", "a storage unit named %s was created meanwhile",
                     name);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:s?,s:f,s:f}", "name", name, "kind", kind, "asset",
                                   asset, "low", low, "high", high);
        rc = audit_write(d, ctx, "equip.storage.create", "storage_unit", name, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = equip_storage_get(d, name, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
