/*
 * h_qc.c - quality-control routes: control materials and targets, rules and
 * frequency, QC results, lockouts and their corrective actions, and
 * patient-based QC (moving averages of patient results and their alerts).
 */
#include <stdio.h>
#include <string.h>

#include "http/handlers.h"
#include "qc/chart.h"
#include "qc/pbqc.h"
#include "qc/qc.h"
#include "qc/review.h"
#include "qc/tolerance.h"

/* {"items": list} from a list function. */
static err_t items(http_req *r, err_t rc, json_t *list)
{
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", list);
    return r->out ? ERR_OK : ERR_NOMEM;
}

/* The series a request asks for: test (required), from and to (ISO 8601). */
static err_t series_query(http_req *r, const char **test, int64_t *from, int64_t *to)
{
    *test = http_query(r, "test");
    if (!*test)
        return err_set(&r->ei, ERR_INVALID, "test", "test is required");
    err_t rc = http_query_time(r, "from", from);
    if (!rc)
        rc = http_query_time(r, "to", to);
    return rc;
}

err_t http_qc_materials_list(http_req *r)
{
    json_t *list = NULL;
    err_t rc = qc_materials_list(r->db, &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_materials_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_material_create(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_qc_targets_set(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_target_set(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_qc_settings_list(http_req *r)
{
    json_t *list = NULL;
    err_t rc = qc_settings_list(r->db, &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_settings_put(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_settings_set(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_qc_results_enter(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_result_enter(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_qc_results_list(http_req *r)
{
    const char *test = NULL;
    int64_t from = 0, to = 0;
    json_t *list = NULL;
    err_t rc = series_query(r, &test, &from, &to);
    if (!rc)
        rc = qc_results_list(r->db, test, http_query(r, "instrument"), from, to, &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_lockouts_list(http_req *r)
{
    const char *open = http_query(r, "open");
    json_t *list = NULL;
    if (open && strcmp(open, "true") && strcmp(open, "false"))
        return err_set(&r->ei, ERR_INVALID, "open", "open must be true or false");
    err_t rc = qc_lockouts_list(r->db, open && !strcmp(open, "true"), &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_lockouts_get(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    err_t rc = qc_lockout_read(r->db, &ctx, r->params[0], &r->out, &r->ei);
    /* qc.read reaches biomedical technicians, who may not read patient
     * results: the lockout without the results it holds. */
    if (!rc && !perm_role_has(r->user.role, PERM_PATIENTS_READ))
        json_object_del(r->out, "patient_results_since_last_good_qc");
    return rc;
}

err_t http_qc_lockouts_close(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_lockout_close(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_qc_chart(http_req *r)
{
    const char *test = NULL, *inst = http_query(r, "instrument");
    qc_chart_format f;
    int64_t from = 0, to = 0;
    err_t rc = series_query(r, &test, &from, &to);
    if (!rc && !qc_chart_format_parse(http_query(r, "format"), &f))
        rc = err_set(&r->ei, ERR_INVALID, "format", "format must be svg, png or pdf");
    if (!rc)
        rc = qc_chart(r->db, test, inst ? inst : "", from, to, f, &r->raw, &r->ei);
    if (rc)
        return rc;
    static const char *const types[] = {"image/svg+xml", "image/png", "application/pdf"};
    static const char *const ext[] = {"svg", "png", "pdf"};
    r->raw_type = types[f];
    snprintf(r->filename, sizeof(r->filename), "qc-%.16s-%.40s.%s", test, inst ? inst : "bench",
             ext[f]);
    return ERR_OK;
}

err_t http_qc_stats(http_req *r)
{
    const char *test = NULL;
    int64_t from = 0, to = 0;
    err_t rc = series_query(r, &test, &from, &to);
    if (!rc)
        rc = qc_stats(r->db, test, http_query(r, "instrument"), from, to, &r->out, &r->ei);
    return rc;
}

err_t http_qc_report(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    const char *month = http_query(r, "month");
    if (!month)
        return err_set(&r->ei, ERR_INVALID, "month", "month (YYYY-MM) is required");
    err_t rc = qc_month_report(r->db, &ctx, month, http_query(r, "instrument"), &r->raw, &r->ei);
    if (rc)
        return rc;
    r->raw_type = "application/pdf";
    snprintf(r->filename, sizeof(r->filename), "qc-%.7s.pdf", month);
    return ERR_OK;
}

err_t http_qc_report_sign(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_month_sign(r->db, &ctx, &r->user, r->body, &r->out, &r->ei);
}

/* ---- patient-based QC ---- */

err_t http_qc_pbqc_settings_list(http_req *r)
{
    json_t *list = NULL;
    err_t rc = qc_pbqc_settings_list(r->db, &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_pbqc_settings_put(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_pbqc_settings_set(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_qc_pbqc_series(http_req *r)
{
    const char *test = NULL;
    int64_t from = 0, to = 0;
    err_t rc = series_query(r, &test, &from, &to);
    if (!rc)
        rc = qc_pbqc_series(r->db, test, http_query(r, "instrument"), from, to, &r->out, &r->ei);
    return rc;
}

err_t http_qc_pbqc_alerts_list(http_req *r)
{
    const char *open = http_query(r, "open");
    json_t *list = NULL;
    if (open && strcmp(open, "true") && strcmp(open, "false"))
        return err_set(&r->ei, ERR_INVALID, "open", "open must be true or false");
    err_t rc = qc_pbqc_alerts_list(r->db, open && !strcmp(open, "true"), http_query(r, "test"),
                                   http_query(r, "instrument"), &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_pbqc_alerts_acknowledge(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_pbqc_alert_acknowledge(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

/* ---- tolerance QC of devices ---- */

err_t http_qc_checks_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_tolerance_check_create(r->db, &ctx, r->body, &r->out, &r->ei);
}

err_t http_qc_checks_list(http_req *r)
{
    json_t *list = NULL;
    err_t rc = qc_tolerance_checks_list(r->db, http_query(r, "device"), &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_checks_get(http_req *r)
{
    return qc_tolerance_check_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_qc_checks_update(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_tolerance_check_update(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_qc_check_results_enter(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_tolerance_result_enter(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_qc_check_results_list(http_req *r)
{
    int64_t from = 0, to = 0;
    json_t *list = NULL;
    err_t rc = http_query_time(r, "from", &from);
    if (!rc)
        rc = http_query_time(r, "to", &to);
    if (!rc)
        rc = qc_tolerance_results_list(r->db, r->params[0], from, to, &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_check_chart(http_req *r)
{
    qc_chart_format f;
    int64_t from = 0, to = 0;
    err_t rc = http_query_time(r, "from", &from);
    if (!rc)
        rc = http_query_time(r, "to", &to);
    if (!rc && !qc_chart_format_parse(http_query(r, "format"), &f))
        rc = err_set(&r->ei, ERR_INVALID, "format", "format must be svg, png or pdf");
    if (!rc)
        rc = qc_chart_check(r->db, r->params[0], from, to, f, &r->raw, &r->ei);
    if (rc)
        return rc;
    static const char *const types[] = {"image/svg+xml", "image/png", "application/pdf"};
    static const char *const ext[] = {"svg", "png", "pdf"};
    r->raw_type = types[f];
    snprintf(r->filename, sizeof(r->filename), "qc-check-%.40s.%s", r->params[0], ext[f]);
    return ERR_OK;
}

err_t http_qc_check_lockouts_list(http_req *r)
{
    const char *open = http_query(r, "open");
    json_t *list = NULL;
    if (open && strcmp(open, "true") && strcmp(open, "false"))
        return err_set(&r->ei, ERR_INVALID, "open", "open must be true or false");
    err_t rc = qc_tolerance_lockouts_list(r->db, open && !strcmp(open, "true"), &list, &r->ei);
    return items(r, rc, list);
}

err_t http_qc_check_lockouts_close(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return qc_tolerance_lockout_close(r->db, &ctx, &r->user, r->params[0], r->body, &r->out,
                                      &r->ei);
}
