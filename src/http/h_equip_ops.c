/*
 * h_equip_ops.c - temperature logs of the storage units and their alerts;
 * work orders, their entries, the return to service, and availability.
 */
#include <string.h>

#include "base/time.h"
#include "equip/templog.h"
#include "equip/workorder.h"
#include "http/handlers.h"

/* status, when given, must be one of list (n of them, said in words). */
static err_t status_query(http_req *r, const char *const *list, size_t n, const char *words,
                          const char **status)
{
    *status = http_query(r, "status");
    for (size_t i = 0; *status && i < n; i++)
        if (!strcmp(list[i], *status))
            return ERR_OK;
    if (*status)
        return err_set(&r->ei, ERR_INVALID, "status", "status must be %s", words);
    return ERR_OK;
}

/* {"items": list} from a list function. */
static err_t items_out(http_req *r, err_t rc, json_t *list)
{
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", list);
    return r->out ? ERR_OK : ERR_NOMEM;
}

/* Whether the signed-in user may see which patient a stored specimen is of. */
static bool sees_patients(const http_req *r)
{
    return perm_role_has(r->user.role, PERM_PATIENTS_READ);
}

err_t http_equip_readings_record(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_templog_record(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_equip_readings_list(http_req *r)
{
    int64_t from = 0, to = 0;
    err_t rc = http_query_time(r, "from", &from);
    if (!rc)
        rc = http_query_time(r, "to", &to);
    if (!rc)
        rc = equip_templog_readings(r->db, r->params[0], from, to, &r->out, &r->ei);
    return rc;
}

err_t http_equip_temp_alerts_list(http_req *r)
{
    static const char *const statuses[] = {"open", "closed"};
    const char *status = NULL;
    json_t *list = NULL;
    err_t rc = status_query(r, statuses, 2, "open or closed", &status);
    if (!rc)
        rc = equip_templog_alerts(r->db, status, http_query(r, "unit"), &list, &r->ei);
    return items_out(r, rc, list);
}

err_t http_equip_temp_alerts_get(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_templog_alert_get(r->db, &ctx, r->params[0], sees_patients(r), &r->out, &r->ei);
}

err_t http_equip_temp_alerts_close(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_templog_alert_close(r->db, &ctx, &r->user, r->params[0], r->body, sees_patients(r),
                                     &r->out, &r->ei);
}

err_t http_equip_workorders_report(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_workorder_report(r->db, &ctx, &r->user, r->body, &r->out, &r->ei);
}

err_t http_equip_workorders_list(http_req *r)
{
    static const char *const statuses[] = {"open", "returned", "closed"};
    const char *status = NULL;
    json_t *list = NULL;
    err_t rc = status_query(r, statuses, 3, "open, returned or closed", &status);
    if (!rc)
        rc = equip_workorders_list(r->db, http_query(r, "asset"), status, &list, &r->ei);
    return items_out(r, rc, list);
}

err_t http_equip_workorders_get(http_req *r)
{
    return equip_workorder_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_equip_workorders_entry(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_workorder_entry(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_equip_workorders_return(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_workorder_return(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_equip_workorders_close(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return equip_workorder_close(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}

/* month, or this month (UTC) when it is left out. */
static const char *month_query(http_req *r, char month[8])
{
    const char *given = http_query(r, "month");
    if (given)
        return given;
    char today[11];
    time_format_date(time_now_us(), today);
    memcpy(month, today, 7);
    month[7] = '\0';
    return month;
}

err_t http_equip_asset_availability(http_req *r)
{
    char month[8];
    return equip_availability_month(r->db, r->params[0], month_query(r, month), &r->out, &r->ei);
}

err_t http_equip_availability(http_req *r)
{
    char month[8];
    return equip_availability_month(r->db, NULL, month_query(r, month), &r->out, &r->ei);
}
