/*
 * h_equip.c - equipment routes: the asset register and storage units,
 * schedules and the due list, maintenance and calibration records, checklist
 * templates and checks, and a device's fitness.
 */
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "equip/asset.h"
#include "equip/calibration.h"
#include "equip/checklist.h"
#include "equip/fitness.h"
#include "equip/maintenance.h"
#include "equip/schedule.h"
#include "equip/storage.h"
#include "http/handlers.h"

/* {"items": items} into r->out (items stolen). */
static err_t items_out(http_req *r, err_t rc, json_t *items)
{
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", items);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_assets_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_asset_create(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_assets_list(http_req *r)
{
    json_t *items = NULL, *next = NULL;
    int limit = 0;
    err_t rc = http_query_limit(r, 100, EQUIP_PAGE_MAX, &limit);
    if (!rc)
        rc = equip_asset_list(r->db, http_query(r, "class"), http_query(r, "status"),
                              http_query(r, "location"), http_query(r, "cursor"), limit, &items,
                              &next, &r->ei);
    if (rc)
        return rc;
    r->out = json_pack("{s:o,s:o}", "items", items, "next", next ? next : json_null());
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_assets_get(http_req *r)
{
    return equip_asset_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_assets_put(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_asset_update(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_assets_status(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_asset_status(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_storage_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_storage_create(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_storage_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc = equip_storage_list(r->db, &items, &r->ei);
    return items_out(r, rc, items);
}

err_t http_storage_get(http_req *r)
{
    return equip_storage_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_schedules_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_schedule_create(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_schedules_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc =
        equip_schedule_list(r->db, http_query(r, "asset"), http_query(r, "class"), &items, &r->ei);
    return items_out(r, rc, items);
}

err_t http_schedules_delete(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_schedule_delete(r->db, &ctx, r->params[0], &r->ei);
}

err_t http_equipment_due(http_req *r)
{
    const char *w = http_query(r, "within");
    int64_t within = 7, now = time_now_us();
    json_t *items = NULL;
    if (w && str_to_int64(w, strlen(w), 0, EQUIP_WITHIN_MAX, &within))
        return err_set(&r->ei, ERR_INVALID, "within", "within must be whole days from 0 to %d",
                       EQUIP_WITHIN_MAX);
    err_t rc = equip_due_list(r->db, (int)within, now, &items, &r->ei);
    if (rc)
        return rc;
    char at[TIME_ISO_LEN];
    time_format_iso(now, at);
    r->out =
        json_pack("{s:s,s:I,s:o}", "at", at, "within_days", (json_int_t)within, "items", items);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_pm_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_pm_record(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_pm_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc = equip_pm_list(r->db, r->params[0], &items, &r->ei);
    return items_out(r, rc, items);
}

err_t http_calibrations_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_calibration_record(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_calibrations_get(http_req *r)
{
    return equip_calibration_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_calibrations_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc = equip_calibration_list(r->db, r->params[0], &items, &r->ei);
    return items_out(r, rc, items);
}

err_t http_checklists_put(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_checklist_put(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_checklists_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc = equip_checklist_list(r->db, &items, &r->ei);
    return items_out(r, rc, items);
}

err_t http_checklists_get(http_req *r)
{
    const char *v = http_query(r, "version");
    int64_t version = 0;
    if (v && str_to_int64(v, strlen(v), 1, 1000000, &version))
        return err_set(&r->ei, ERR_INVALID, "version", "version must be a whole number from 1");
    return equip_checklist_get(r->db, r->params[0], (int)version, &r->out, &r->ei);
}

err_t http_checks_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_check_record(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_checks_get(http_req *r)
{
    return equip_check_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_checks_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc = equip_check_list(r->db, r->params[0], &items, &r->ei);
    return items_out(r, rc, items);
}

err_t http_assets_fitness(http_req *r)
{
    return equip_fitness_json(r->db, r->params[0], time_now_us(), &r->out, &r->ei);
}
