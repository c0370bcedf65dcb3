/*
 * h_patients.c - patient routes: create (with the duplicate check), search and
 * read; every read is audited by the domain (lab/patient.c).
 */
#include "http/handlers.h"
#include "lab/patient.h"
#include "lab/report.h"

#include <stdio.h>

err_t http_patients_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    json_t *candidate = NULL;
    patient p;
    err_t rc = patient_create(r->db, &ctx, r->body, &p, &candidate, &r->ei);
    if (rc) {
        if (candidate)
            r->err_extra = json_pack("{s:o}", "candidate", candidate);
        return rc;
    }
    r->out = patient_to_json(&p, json_object_get(r->body, "identifiers"));
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_patients_search(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    json_t *items = NULL;
    char next[ID_LEN + 1];
    int limit = 0;
    err_t rc = http_query_limit(r, 50, 200, &limit);
    if (rc)
        return rc;
    rc = patient_search(r->db, &ctx, http_query(r, "mrn"), http_query(r, "name"),
                        http_query(r, "birth_date"), limit, http_query(r, "cursor"), &items, next,
                        &r->ei);
    if (rc)
        return rc;
    r->out =
        json_pack("{s:o,s:o}", "items", items, "next", next[0] ? json_string(next) : json_null());
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_patients_get(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    json_t *ids = NULL;
    patient p;
    err_t rc = patient_read(r->db, &ctx, r->params[0], &p, &ids, &r->ei);
    if (rc)
        return rc;
    r->out = patient_to_json(&p, ids);
    json_decref(ids);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_patients_report(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    err_t rc = report_patient_pdf(r->db, &ctx, r->params[0], &r->raw, &r->ei);
    if (rc)
        return rc;
    r->raw_type = "application/pdf";
    snprintf(r->filename, sizeof(r->filename), "report-%.26s.pdf", r->params[0]);
    return ERR_OK;
}
