/*
 * h_stock.c - supplies routes: the catalogue of items, lots and their
 * movements, lot-to-lot verifications, alerts and the reorder list, and the
 * reagent lots in use on each instrument (stock/stock.h).
 */
#include <string.h>

#include "base/str.h"
#include "http/handlers.h"
#include "stock/stock.h"

/* {"items": list} from a list function. */
static err_t stock_items_answer(http_req *r, err_t rc, json_t *list)
{
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", list);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_stock_items_put(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    json_t *list = NULL;
    err_t rc = stock_items_import(r->db, &ctx, r->body, &list, &r->ei);
    return stock_items_answer(r, rc, list);
}

err_t http_stock_items_list(http_req *r)
{
    json_t *list = NULL;
    err_t rc = stock_items_list(r->db, http_query(r, "kind"), &list, &r->ei);
    return stock_items_answer(r, rc, list);
}

err_t http_stock_items_get(http_req *r)
{
    return stock_item_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_stock_lots_list(http_req *r)
{
    json_t *list = NULL;
    err_t rc = stock_lots_list(r->db, http_query(r, "item"), http_query(r, "status"),
                               http_query(r, "location"), &list, &r->ei);
    return stock_items_answer(r, rc, list);
}

err_t http_stock_lots_get(http_req *r)
{
    return stock_lot_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_stock_movements_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return stock_movement_record(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_stock_movements_list(http_req *r)
{
    stock_movement_filter f = {
        .item = http_query(r, "item"),
        .lot_id = http_query(r, "lot"),
        .kind = http_query(r, "kind"),
    };
    json_t *list = NULL;
    err_t rc = http_query_limit(r, 100, STOCK_LIST_MAX, &f.limit);
    if (!rc)
        rc = http_query_time(r, "from", &f.from);
    if (!rc)
        rc = http_query_time(r, "to", &f.to);
    if (!rc)
        rc = stock_movements_list(r->db, &f, &list, &r->ei);
    return stock_items_answer(r, rc, list);
}

err_t http_stock_verifications_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return stock_verification_record(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_stock_verifications_list(http_req *r)
{
    json_t *list = NULL;
    err_t rc = stock_verifications_list(r->db, http_query(r, "item"), &list, &r->ei);
    return stock_items_answer(r, rc, list);
}

err_t http_stock_alerts(http_req *r)
{
    const char *s = http_query(r, "days");
    int64_t days = STOCK_ALERT_DAYS;
    json_t *list = NULL;
    if (s && str_to_int64(s, strlen(s), 0, STOCK_OPEN_DAYS_MAX, &days))
        return err_set(&r->ei, ERR_INVALID, "days", "days must be a whole number from 0 to %d",
                       STOCK_OPEN_DAYS_MAX);
    err_t rc = stock_alerts(r->db, (int)days, &list, &r->ei);
    return stock_items_answer(r, rc, list);
}

err_t http_stock_reorder(http_req *r)
{
    return stock_reorder(r->db, &r->out, &r->ei);
}

err_t http_stock_reagents_get(http_req *r)
{
    return stock_reagents_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_stock_reagents_put(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return stock_reagent_put(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_stock_reagents_delete(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return stock_reagent_remove(r->db, &ctx, r->params[0], r->params[1], &r->out, &r->ei);
}
