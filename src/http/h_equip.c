/*
 * h_equip.c - equipment routes: the asset register and storage units.
 */
#include <string.h>

#include "equip/asset.h"
#include "equip/storage.h"
#include "http/handlers.h"

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
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", items);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_storage_get(http_req *r)
{
    return equip_storage_get(r->db, r->params[0], &r->out, &r->ei);
}
