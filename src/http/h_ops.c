/*
 * h_ops.c - operations routes: the node's figures for a Prometheus scraper.
 */
#include "http/handlers.h"
#include "ops/ops.h"

err_t http_metrics(http_req *r)
{
    r->raw_type = "text/plain; version=0.0.4; charset=utf-8";
    return ops_metrics(r->db, &r->raw, &r->ei);
}
