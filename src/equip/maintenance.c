/*
 * maintenance.c - preventive maintenance records (see maintenance.h).
 */
#include "equip/maintenance.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/asset.h"
#include "equip/record.h"
#include "equip/schedule.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

#define PM_COLS                                                                                    \
    "SELECT p.id, a.tag, p.performed_at, p.performed_by, p.notes, p.passed, p.recorded_at,"        \
    " p.recorded_by FROM equip_pm_records p JOIN assets a ON a.id = p.asset_id"

static const char sql_one[] = PM_COLS " WHERE p.id = ?";
static const char sql_of_asset[] =
    PM_COLS " WHERE a.tag = ? ORDER BY p.performed_at DESC, p.id DESC LIMIT 200";
static const char sql_insert[] =
    "INSERT INTO equip_pm_records (id, asset_id, performed_at, performed_by, notes, passed,"
    " recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

static const jsonv_field pm_fields[] = {
    {"performed_at", JSONV_STRING, false, 40},
    {"by", JSONV_STRING, false, EQUIP_TEXT_MAX},
    {"notes", JSONV_STRING, false, EQUIP_REASON_MAX},
    {"passed", JSONV_BOOL, true, 0},
};

static json_t *pm_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:o,s:s,s:o,s:b,s:o,s:s}", "id", db_col_text(st, 0), "asset",
                     db_col_text(st, 1), "performed_at", db_col_json_time(st, 2), "performed_by",
                     db_col_text(st, 3), "notes", db_col_json_text(st, 4), "passed",
                     db_col_int64(st, 5) != 0, "recorded_at", db_col_json_time(st, 6),
                     "recorded_by", db_col_text(st, 7));
}

err_t equip_pm_list(db *d, const char *tag, json_t **items, errinfo *ei)
{
    return equip_record_list(d, sql_of_asset, tag, pm_row, items, ei);
}

err_t equip_pm_record(db *d, const audit_ctx *ctx, const char *tag, const json_t *body,
                      json_t **out, errinfo *ei)
{
    equip_record_head h;
    char id[ID_LEN + 1];
    *out = NULL;
    err_t rc = jsonv_check(body, pm_fields, NFIELDS(pm_fields), ei);
    if (!rc)
        rc = equip_record_begin(d, ctx, tag, "tag", body, &h, ei);
    if (rc)
        return rc;
    const char *notes = jsonv_str(body, "notes");
    bool passed = json_is_true(json_object_get(body, "passed"));
    if (notes && !str_is_text(notes))
        rc = err_set(ei, ERR_INVALID, "notes", "notes must be printable text");
    id_new(id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_insert, "ttittiit", id, h.asset_id, h.performed_at, h.by,
                    notes, (int64_t)passed, h.now, h.recorder);
    if (!rc) {
        db_stmt *st = NULL;
        rc = db_query_by_id(d, &st, sql_one, id, "maintenance record", ei);
        if (!rc && !(*out = pm_row(st)))
            rc = ERR_NOMEM;
        db_finalize(st);
    }
    rc = equip_record_end(d, ctx, &h, rc, "equip.pm.record", "equip_pm_record", id, *out, ei);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
