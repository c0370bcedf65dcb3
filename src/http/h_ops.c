/*
 * h_ops.c - operations routes: the node's figures for a Prometheus scraper,
 * with the connections its instrument links hold now.
 */
#include <string.h>

#include "base/metrics.h"
#include "http/handlers.h"
#include "ops/ops.h"

/* benchside_link_connections by transport, from the links' state. */
static err_t link_gauge(http_req *r)
{
    static const char *const transports[] = {"mllp", "astm-tcp", "serial"};
    const char *labels[] = {"transport=\"mllp\"", "transport=\"astm-tcp\"", "transport=\"serial\""};
    double counts[3] = {0, 0, 0};
    json_t *state = NULL, *c;
    size_t i;
    err_t rc = r->cfg->link_state(&state);
    if (rc)
        return rc;
    json_array_foreach(json_object_get(state, "connections"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "transport"));
        for (size_t k = 0; t && k < 3; k++)
            counts[k] += !strcmp(t, transports[k]);
    }
    json_decref(state);
    return metrics_render_gauge(&r->raw, "benchside_link_connections",
                                "Instrument connections and serial lines this node holds open now",
                                labels, counts, 3);
}

err_t http_metrics(http_req *r)
{
    r->raw_type = "text/plain; version=0.0.4; charset=utf-8";
    err_t rc = ops_metrics(r->db, &r->raw, &r->ei);
    if (!rc && r->cfg->link_state)
        rc = link_gauge(r);
    return rc == ERR_NOMEM ? err_set(&r->ei, ERR_NOMEM, NULL, NULL) : rc;
}
