/*
 * h_lab.c - laboratory routes: the test catalog, orders, specimens and their
 * labels. Reads of patient data are audited by the domain (src/lab/).
 */
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "http/handlers.h"
#include "lab/catalog.h"
#include "lab/charge.h"
#include "lab/custody.h"
#include "lab/order.h"
#include "lab/result.h"
#include "lab/tat.h"
#include "lab/specimen.h"
#include "lab/worklist.h"

err_t http_catalog_get(http_req *r)
{
    return catalog_export(r->db, &r->out, &r->ei);
}

err_t http_catalog_test(http_req *r)
{
    return catalog_test_json(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_catalog_put(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    int tests = 0, panels = 0;
    err_t rc = catalog_import(r->db, &ctx, r->body, &tests, &panels, &r->ei);
    if (rc)
        return rc;
    r->out = json_pack("{s:i,s:i}", "tests", tests, "panels", panels);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_orders_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return order_create(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_orders_get(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return order_read(r->db, &ctx, r->params[0], &r->out, &r->ei);
}

err_t http_specimens_get(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return specimen_read(r->db, &ctx, r->params[0], &r->out, &r->ei);
}

err_t http_specimens_label(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    const char *format = http_query(r, "format");
    bool pdf;
    if (!format || !strcmp(format, "zpl"))
        pdf = false;
    else if (!strcmp(format, "pdf"))
        pdf = true;
    else
        return err_set(&r->ei, ERR_INVALID, "format", "format must be zpl or pdf");
    err_t rc = specimen_label(r->db, &ctx, r->params[0], pdf, &r->raw, &r->ei);
    if (rc)
        return rc;
    r->raw_type = pdf ? "application/pdf" : "text/plain; charset=utf-8";
    snprintf(r->filename, sizeof(r->filename), "%.20s.%s", r->params[0], pdf ? "pdf" : "zpl");
    return ERR_OK;
}

err_t http_specimens_event(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return custody_record(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_specimens_reject(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return custody_reject(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_results_enter(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return result_enter(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_results_get(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return result_read(r->db, &ctx, r->params[0], &r->out, &r->ei);
}

err_t http_results_review(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    json_t *items = NULL;
    int limit = 0;
    err_t rc = http_query_limit(r, 100, 500, &limit);
    if (!rc)
        rc = result_review_queue(r->db, &ctx, limit, &items, &r->ei);
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", items);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_results_critical(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    json_t *items = NULL;
    err_t rc = result_open_criticals(r->db, &ctx, &items, &r->ei);
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", items);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_results_release(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    json_t *out = NULL;
    err_t rc = result_release(r->db, &ctx, &r->user, r->body, &out, &r->ei);
    if (rc) {
        r->err_extra = out; /* {"held":[...]} when the gate holds some */
        return rc;
    }
    r->out = out;
    return ERR_OK;
}

err_t http_results_call(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return result_critical_call(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_results_correct(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return result_correct(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}

/* A time query parameter, or def when absent. */
static err_t query_time(http_req *r, const char *name, int64_t def, int64_t *out)
{
    const char *s = http_query(r, name);
    errinfo tei = {0};
    *out = def;
    if (s && time_parse_iso(s, strlen(s), out, &tei))
        return err_set(&r->ei, ERR_INVALID, name, "%s: %s", name, tei.message);
    return ERR_OK;
}

err_t http_tat_summary(http_req *r)
{
    int64_t now = time_now_us(), from = 0, to = 0;
    err_t rc = query_time(r, "from", now - 7 * 86400LL * 1000000, &from);
    if (!rc)
        rc = query_time(r, "to", now, &to);
    if (!rc)
        rc = tat_summary(r->db, from, to, &r->out, &r->ei);
    return rc;
}

err_t http_tat_overdue(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return tat_overdue(r->db, &ctx, time_now_us(), &r->out, &r->ei);
}

err_t http_charges_export(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    int64_t now = time_now_us(), from = 0, to = 0;
    int count = 0;
    const char *format = http_query(r, "format");
    bool hl7 = format && !strcmp(format, "hl7");
    if (format && !hl7 && strcmp(format, "csv"))
        return err_set(&r->ei, ERR_INVALID, "format", "format must be csv or hl7");
    err_t rc = query_time(r, "from", now - 86400LL * 1000000, &from);
    if (!rc)
        rc = query_time(r, "to", now, &to);
    if (!rc)
        rc = charge_export(r->db, &ctx, from, to, hl7 ? CHARGE_HL7 : CHARGE_CSV, &r->raw, &count,
                           &r->ei);
    if (rc)
        return rc;
    /* HL7 v2 in its ER7 text form, one DFT^P03 after another. */
    r->raw_type = hl7 ? "text/plain; charset=utf-8" : "text/csv; charset=utf-8";
    snprintf(r->filename, sizeof(r->filename), hl7 ? "charges.hl7" : "charges.csv");
    return ERR_OK;
}

err_t http_worklist(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    worklist_filter f = {
        .stage = http_query(r, "stage"),
        .priority = http_query(r, "priority"),
        .specimen_type = http_query(r, "specimen_type"),
        .instrument = http_query(r, "instrument"),
        .test = http_query(r, "test"),
    };
    err_t rc = http_query_limit(r, 200, WORKLIST_LIMIT_MAX, &f.limit);
    if (rc)
        return rc;
    return worklist_list(r->db, &ctx, &f, time_now_us(), &r->out, &r->ei);
}
