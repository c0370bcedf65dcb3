/*
 * h_care.c - people-and-care routes: certifications, the competency program
 * and assessments, operators of record, reminders; vital signs and NEWS2;
 * sterilization; procedure documents; training; imaging preparation and
 * dose; appointments. Each handler hands its body to src/care/.
 */
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "care/appt.h"
#include "care/competency.h"
#include "care/document.h"
#include "care/procedure.h"
#include "care/steril.h"
#include "care/training.h"
#include "care/vitals.h"
#include "http/handlers.h"

/* The shapes of the domain calls most routes make. */
typedef err_t (*care_body_fn)(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                              errinfo *ei);
typedef err_t (*care_key_fn)(db *d, const audit_ctx *ctx, const char *key, const json_t *body,
                             json_t **out, errinfo *ei);
typedef err_t (*care_list_fn)(db *d, json_t **items, errinfo *ei);
typedef err_t (*care_read_fn)(db *d, const char *key, json_t **out, errinfo *ei);

/* A write with the body, as the signed-in user. */
static err_t care_with_body(http_req *r, care_body_fn fn)
{
    audit_ctx ctx = http_actor(r);
    return fn(r->db, &ctx, r->body, &r->out, &r->ei);
}

/* A write on the record the path names, with the body. */
static err_t care_on_key(http_req *r, care_key_fn fn)
{
    audit_ctx ctx = http_actor(r);
    return fn(r->db, &ctx, r->params[0], r->body, &r->out, &r->ei);
}

/* A read of what names patients: audited as action on entity. */
static err_t care_read(http_req *r, const char *action, const char *entity, care_read_fn fn)
{
    audit_ctx ctx = http_actor(r);
    return audit_read(r->db, &ctx, action, entity, r->params[0], fn, &r->out, &r->ei);
}

/* {"items": items} into r->out (items stolen). */
static err_t care_items(http_req *r, err_t rc, json_t *items)
{
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", items);
    return r->out ? ERR_OK : ERR_NOMEM;
}

/* A list with no parameters as {"items"}. */
static err_t care_list_all(http_req *r, care_list_fn fn)
{
    json_t *items = NULL;
    err_t rc = fn(r->db, &items, &r->ei);
    return care_items(r, rc, items);
}

/* A query parameter true or false (def when absent) into *out. */
static err_t care_flag(http_req *r, const char *name, bool def, bool *out)
{
    const char *v = http_query(r, name);
    *out = def;
    if (!v)
        return ERR_OK;
    if (strcmp(v, "true") && strcmp(v, "false"))
        return err_set(&r->ei, ERR_INVALID, name, "%s must be true or false", name);
    *out = !strcmp(v, "true");
    return ERR_OK;
}

/* An audited search narrowed by a flag of the query (false when absent). */
static err_t care_flag_list(http_req *r, const char *flag,
                            err_t (*fn)(db *d, const audit_ctx *ctx, bool only, json_t **items,
                                        errinfo *ei))
{
    audit_ctx ctx = http_actor(r);
    json_t *items = NULL;
    bool only = false;
    err_t rc = care_flag(r, flag, false, &only);
    if (!rc)
        rc = fn(r->db, &ctx, only, &items, &r->ei);
    return care_items(r, rc, items);
}

/* A whole number of days from a query parameter (def when absent). */
static err_t care_days(http_req *r, const char *name, int def, int max, int *out)
{
    const char *v = http_query(r, name);
    int64_t n = def;
    if (v && str_to_int64(v, strlen(v), 0, max, &n))
        return err_set(&r->ei, ERR_INVALID, name, "%s must be whole days from 0 to %d", name, max);
    *out = (int)n;
    return ERR_OK;
}

err_t http_care_certs_create(http_req *r)
{
    return care_with_body(r, care_cert_create);
}

err_t http_care_certs_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc = care_cert_list(r->db, http_query(r, "user"), &items, &r->ei);
    return care_items(r, rc, items);
}

err_t http_care_systems_create(http_req *r)
{
    return care_with_body(r, care_system_create);
}

err_t http_care_systems_list(http_req *r)
{
    return care_list_all(r, care_system_list);
}

err_t http_care_assessments_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return care_assessment_create(r->db, &ctx, &r->user, r->body, &r->out, &r->ei);
}

err_t http_care_staff_get(http_req *r)
{
    return care_staff_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_care_expiring(http_req *r)
{
    json_t *items = NULL;
    int within = 0;
    err_t rc = care_days(r, "within", 30, 366, &within);
    if (!rc)
        rc = care_expiring(r->db, within, &items, &r->ei);
    return care_items(r, rc, items);
}

err_t http_care_operators_sign_on(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return care_operator_sign_on(r->db, &ctx, &r->user,
                                 perm_role_has(r->user.role, PERM_CARE_MANAGE), r->body, &r->out,
                                 &r->ei);
}

err_t http_care_operators_sign_off(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return care_operator_sign_off(r->db, &ctx, r->params[0], &r->ei);
}

err_t http_care_operators_list(http_req *r)
{
    return care_list_all(r, care_operator_list);
}

err_t http_care_vitals_create(http_req *r)
{
    return care_with_body(r, care_vitals_record);
}

err_t http_care_vitals_list(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return audit_read(r->db, &ctx, "care.vitals.read", "patient", r->params[0], care_vitals_of,
                      &r->out, &r->ei);
}

err_t http_care_spo2_scale(http_req *r)
{
    return care_on_key(r, care_spo2_scale_set);
}

err_t http_care_news2_alerts(http_req *r)
{
    return care_flag_list(r, "open", care_news2_alerts);
}

err_t http_care_news2_acknowledge(http_req *r)
{
    return care_on_key(r, care_news2_acknowledge);
}

err_t http_care_procedures_create(http_req *r)
{
    return care_with_body(r, care_procedure_create);
}

err_t http_care_procedures_get(http_req *r)
{
    return care_read(r, "care.procedure.read", "procedure", care_procedure_get);
}

err_t http_care_sets_create(http_req *r)
{
    return care_with_body(r, care_set_create);
}

err_t http_care_sets_list(http_req *r)
{
    return care_list_all(r, care_set_list);
}

err_t http_care_cycles_create(http_req *r)
{
    return care_with_body(r, care_cycle_create);
}

err_t http_care_cycles_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc = care_cycle_list(r->db, http_query(r, "sterilizer"), &items, &r->ei);
    return care_items(r, rc, items);
}

err_t http_care_cycles_get(http_req *r)
{
    return care_cycle_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_care_cycles_biological(http_req *r)
{
    return care_on_key(r, care_cycle_biological);
}

err_t http_care_cycles_recall(http_req *r)
{
    return care_read(r, "care.recall.read", "steril_cycle", care_steril_recall);
}

err_t http_care_set_use(http_req *r)
{
    return care_on_key(r, care_set_use);
}

err_t http_care_docs_create(http_req *r)
{
    return care_with_body(r, care_doc_create);
}

err_t http_care_docs_list(http_req *r)
{
    return care_list_all(r, care_doc_list);
}

err_t http_care_docs_get(http_req *r)
{
    return care_doc_get(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_care_docs_version(http_req *r)
{
    return care_on_key(r, care_doc_version);
}

err_t http_care_docs_approve(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    int64_t n = 0;
    if (str_to_int64(r->params[1], strlen(r->params[1]), 1, 1000000, &n))
        return err_set(&r->ei, ERR_NOT_FOUND, "version", "no version %.20s", r->params[1]);
    return care_doc_approve(r->db, &ctx, &r->user, r->params[0], (int)n, r->body, &r->out, &r->ei);
}

err_t http_care_docs_acknowledge(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return care_doc_acknowledge(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_care_training_items_create(http_req *r)
{
    return care_with_body(r, care_training_item_create);
}

err_t http_care_training_items_list(http_req *r)
{
    return care_list_all(r, care_training_item_list);
}

err_t http_care_training_assign(http_req *r)
{
    return care_with_body(r, care_training_assign);
}

err_t http_care_training_list(http_req *r)
{
    json_t *items = NULL;
    bool open = false;
    err_t rc = care_flag(r, "open", false, &open);
    if (!rc)
        rc = care_training_list(r->db, http_query(r, "user"), open, &items, &r->ei);
    return care_items(r, rc, items);
}

err_t http_care_training_sign_off(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return care_training_sign_off(r->db, &ctx, &r->user, r->params[0], r->body, &r->out, &r->ei);
}

err_t http_care_procedures_prepare(http_req *r)
{
    return care_on_key(r, care_procedure_prepare);
}

err_t http_care_procedures_start(http_req *r)
{
    return care_on_key(r, care_procedure_start);
}

err_t http_care_procedures_complete(http_req *r)
{
    return care_on_key(r, care_procedure_complete);
}

err_t http_care_procedures_cancel(http_req *r)
{
    return care_on_key(r, care_procedure_cancel);
}

err_t http_care_dose_record(http_req *r)
{
    return care_on_key(r, care_dose_record);
}

err_t http_care_doses_list(http_req *r)
{
    return care_flag_list(r, "above", care_dose_list);
}

err_t http_care_dose_review(http_req *r)
{
    return care_on_key(r, care_dose_review);
}

err_t http_care_drls_list(http_req *r)
{
    return care_list_all(r, care_drl_list);
}

err_t http_care_drls_put(http_req *r)
{
    return care_on_key(r, care_drl_put);
}

err_t http_care_resources_create(http_req *r)
{
    return care_with_body(r, care_resource_create);
}

err_t http_care_resources_list(http_req *r)
{
    return care_list_all(r, care_resource_list);
}

err_t http_care_slots_create(http_req *r)
{
    return care_with_body(r, care_slots_create);
}

/* The date query parameter, today when absent, into out. */
static void care_date_param(http_req *r, char out[11])
{
    const char *date = http_query(r, "date");
    if (date)
        snprintf(out, 11, "%.10s", date);
    else
        time_format_date(time_now_us(), out);
    if (date && strlen(date) != 10)
        out[0] = '\0'; /* refused as a date by the domain */
}

err_t http_care_slots_list(http_req *r)
{
    json_t *items = NULL;
    char date[11];
    bool free_only = false;
    const char *resource = http_query(r, "resource");
    care_date_param(r, date);
    err_t rc = care_flag(r, "free", false, &free_only);
    if (!rc && !resource)
        rc = err_set(&r->ei, ERR_MISSING_FIELD, "resource", "resource: whose slots?");
    if (!rc)
        rc = care_slots_list(r->db, resource, date, free_only, &items, &r->ei);
    return care_items(r, rc, items);
}

err_t http_care_appointments_book(http_req *r)
{
    return care_with_body(r, care_appointment_book);
}

err_t http_care_appointments_check_in(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return care_appointment_change(r->db, &ctx, r->params[0], "checked-in", r->body, &r->out,
                                   &r->ei);
}

err_t http_care_appointments_no_show(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return care_appointment_change(r->db, &ctx, r->params[0], "no-show", r->body, &r->out, &r->ei);
}

err_t http_care_appointments_cancel(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return care_appointment_change(r->db, &ctx, r->params[0], "cancelled", r->body, &r->out,
                                   &r->ei);
}

err_t http_care_day(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    const char *tech = http_query(r, "technician");
    char date[11];
    care_date_param(r, date);
    err_t rc = care_day(r->db, tech ? tech : r->user.username, date, &r->out, &r->ei);
    if (!rc) {
        json_t *detail =
            json_pack("{s:s,s:s}", "technician", tech ? tech : r->user.username, "date", date);
        rc = audit_record(r->db, &ctx, "care.day.read", "user", NULL, "ok", detail, &r->ei);
        json_decref(detail);
    }
    return rc;
}
