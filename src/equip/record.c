/*
 * record.c - what the records of work on a device share (see record.h).
 */
#include "equip/record.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/fitness.h"
#include "equip/schedule.h"

static const char sql_asset[] =
    "SELECT id, status, class, COALESCE(instrument, '') FROM assets WHERE tag = ?";

err_t equip_record_begin(db *d, const audit_ctx *ctx, const char *tag, const char *field,
                         const json_t *body, equip_record_head *h, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    char status[EQUIP_STATUS_MAX] = "";
    memset(h, 0, sizeof(*h));
    h->now = time_now_us();
    h->recorder = ctx->actor ? ctx->actor : "system";
    err_t rc = equip_performed_at(jsonv_str(body, "performed_at"), h->now, &h->performed_at, ei);
    if (rc)
        return rc;
    const char *by = jsonv_str(body, "by");
    if (by && !str_is_text(by))
        return err_set(ei, ERR_INVALID, "by", "by must say who did the work");
    snprintf(h->by, sizeof(h->by), "%s", by ? by : h->recorder);
    rc = db_query(d, &st, ei, sql_asset, "t", tag);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = !strcmp(field, "tag")
                 ? err_set(ei, ERR_NOT_FOUND, "tag", "no asset is tagged %.40s", tag)
                 : err_set(ei, ERR_INVALID, field, "%s: no asset is tagged %.40s", field, tag);
    if (!rc) {
        snprintf(h->asset_id, sizeof(h->asset_id), "%s", db_col_text(st, 0));
        snprintf(status, sizeof(status), "%s", db_col_text(st, 1));
        snprintf(h->cls, sizeof(h->cls), "%s", db_col_text(st, 2));
        snprintf(h->instrument, sizeof(h->instrument), "%s", db_col_text(st, 3));
        snprintf(h->tag, sizeof(h->tag), "%s", tag);
    }
    db_finalize(st);
    if (!rc && !strcmp(status, "retired"))
        rc = err_set(ei, ERR_CONFLICT, field, "asset %s is retired: nothing more is recorded", tag);
    if (!rc)
        rc = db_begin(d, ei);
    return rc;
}

err_t equip_record_end(db *d, const audit_ctx *ctx, const equip_record_head *h, err_t rc,
                       const char *action, const char *entity, const char *id, const json_t *detail,
                       errinfo *ei)
{
    if (!rc)
        rc = audit_write(d, ctx, action, entity, id, "ok", detail, ei);
    /* the record may make the device fit again: what the gate held from it */
    if (!rc && h->instrument[0])
        rc = equip_fitness_recheck(d, ctx, h->instrument, NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        db_rollback(d);
    return rc;
}

err_t equip_record_list(db *d, const char *sql, const char *tag, json_t *(*row)(db_stmt *),
                        json_t **items, errinfo *ei)
{
    char id[ID_LEN + 1];
    db_stmt *st = NULL;
    *items = NULL;
    err_t rc = equip_asset_id(d, tag, "tag", id, NULL, ei);
    if (rc == ERR_INVALID)
        return err_set(ei, ERR_NOT_FOUND, "tag", "no asset is tagged %.40s", tag);
    if (rc)
        return rc;
    rc = db_query(d, &st, ei, sql, "t", tag);
    return db_rows_json(rc, st, row, items, ei);
}

err_t equip_row(err_t rc, db_stmt *st, json_t *(*row)(db_stmt *), json_t **out, const char *field,
                const char *what, const char *key, errinfo *ei)
{
    char missing[160];
    snprintf(missing, sizeof(missing), "no %s %.40s", what, key);
    return db_row_json(rc, st, row, out, field, missing, ei);
}
