/*
 * h_pt.c - proficiency-testing routes: events and their samples, submitted
 * results, grading with the provider's targets, corrective actions.
 */
#include <string.h>

#include "http/handlers.h"
#include "qc/pt.h"

err_t http_pt_events_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return pt_event_create(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_pt_events_list(http_req *r)
{
    static const char *const statuses[] = {"open", "submitted", "graded", "closed"};
    const char *status = http_query(r, "status");
    json_t *list = NULL;
    if (status) {
        size_t i = 0;
        while (i < sizeof(statuses) / sizeof(statuses[0]) && strcmp(statuses[i], status))
            i++;
        if (i == sizeof(statuses) / sizeof(statuses[0]))
            return err_set(&r->ei, ERR_INVALID, "status",
                           "status must be open, submitted, graded or closed");
    }
    err_t rc = pt_events_list(r->db, status, &list, &r->ei);
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", list);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_pt_events_get(http_req *r)
{
    return pt_event_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_pt_results_submit(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return pt_results_submit(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_pt_events_grade(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return pt_event_grade(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_pt_corrective_action(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return pt_corrective_action(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}
