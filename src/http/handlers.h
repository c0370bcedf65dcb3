/*
 * handlers.h - route handlers that live outside routes.c, one file per area
 * (h_<area>.c). The route table in routes.c names them. Private to src/http/.
 */
#ifndef BENCHSIDE_HTTP_HANDLERS_H
#define BENCHSIDE_HTTP_HANDLERS_H

#include "http/route.h"
#include "proto/fhir.h"

/* h_patients.c */
err_t http_patients_create(http_req *r);
err_t http_patients_search(http_req *r);
err_t http_patients_get(http_req *r);
err_t http_patients_report(http_req *r);

/* h_lab.c */
err_t http_catalog_get(http_req *r);
err_t http_catalog_test(http_req *r);
err_t http_catalog_put(http_req *r);
err_t http_orders_create(http_req *r);
err_t http_orders_get(http_req *r);
err_t http_specimens_get(http_req *r);
err_t http_specimens_label(http_req *r);
err_t http_specimens_event(http_req *r);
err_t http_specimens_reject(http_req *r);
err_t http_results_enter(http_req *r);
err_t http_results_get(http_req *r);
err_t http_results_review(http_req *r);
err_t http_results_critical(http_req *r);
err_t http_results_release(http_req *r);
err_t http_results_call(http_req *r);
err_t http_results_correct(http_req *r);
err_t http_tat_summary(http_req *r);
err_t http_tat_overdue(http_req *r);
err_t http_charges_export(http_req *r);

/* h_links.c */
err_t http_instruments_list(http_req *r);
err_t http_instruments_get(http_req *r);
err_t http_instruments_put(http_req *r);
err_t http_messages_search(http_req *r);
err_t http_links_state(http_req *r);
err_t http_messages_get(http_req *r);
err_t http_messages_replay(http_req *r);
err_t http_outbox_list(http_req *r);
err_t http_outbox_orders(http_req *r);

/* h_qc.c */
err_t http_qc_materials_list(http_req *r);
err_t http_qc_materials_create(http_req *r);
err_t http_qc_targets_set(http_req *r);
err_t http_qc_settings_list(http_req *r);
err_t http_qc_settings_put(http_req *r);
err_t http_qc_results_enter(http_req *r);
err_t http_qc_results_list(http_req *r);
err_t http_qc_lockouts_list(http_req *r);
err_t http_qc_lockouts_get(http_req *r);
err_t http_qc_lockouts_close(http_req *r);
err_t http_qc_chart(http_req *r);
err_t http_qc_stats(http_req *r);
err_t http_qc_report(http_req *r);
err_t http_qc_report_sign(http_req *r);

/* h_pt.c */
err_t http_pt_events_create(http_req *r);
err_t http_pt_events_list(http_req *r);
err_t http_pt_events_get(http_req *r);
err_t http_pt_results_submit(http_req *r);
err_t http_pt_events_grade(http_req *r);
err_t http_pt_corrective_action(http_req *r);
err_t http_qc_pbqc_settings_list(http_req *r);
err_t http_qc_pbqc_settings_put(http_req *r);
err_t http_qc_pbqc_series(http_req *r);
err_t http_qc_pbqc_alerts_list(http_req *r);
err_t http_qc_pbqc_alerts_acknowledge(http_req *r);
err_t http_qc_checks_create(http_req *r);
err_t http_qc_checks_list(http_req *r);
err_t http_qc_checks_get(http_req *r);
err_t http_qc_checks_update(http_req *r);
err_t http_qc_check_results_enter(http_req *r);
err_t http_qc_check_results_list(http_req *r);
err_t http_qc_check_chart(http_req *r);
err_t http_qc_check_lockouts_list(http_req *r);
err_t http_qc_check_lockouts_close(http_req *r);

/* h_equip.c */
err_t http_assets_create(http_req *r);
err_t http_assets_list(http_req *r);
err_t http_assets_get(http_req *r);
err_t http_assets_put(http_req *r);
err_t http_assets_status(http_req *r);
err_t http_storage_create(http_req *r);
err_t http_storage_list(http_req *r);
err_t http_storage_get(http_req *r);
err_t http_schedules_create(http_req *r);
err_t http_schedules_list(http_req *r);
err_t http_schedules_delete(http_req *r);
err_t http_equipment_due(http_req *r);
err_t http_pm_create(http_req *r);
err_t http_pm_list(http_req *r);
err_t http_calibrations_create(http_req *r);
err_t http_calibrations_get(http_req *r);
err_t http_calibrations_list(http_req *r);
err_t http_checklists_put(http_req *r);
err_t http_checklists_list(http_req *r);
err_t http_checklists_get(http_req *r);
err_t http_checks_create(http_req *r);
err_t http_checks_get(http_req *r);
err_t http_checks_list(http_req *r);
err_t http_assets_fitness(http_req *r);

/* h_equip_ops.c */
err_t http_equip_readings_record(http_req *r);
err_t http_equip_readings_list(http_req *r);
err_t http_equip_temp_alerts_list(http_req *r);
err_t http_equip_temp_alerts_get(http_req *r);
err_t http_equip_temp_alerts_close(http_req *r);
err_t http_equip_workorders_report(http_req *r);
err_t http_equip_workorders_list(http_req *r);
err_t http_equip_workorders_get(http_req *r);
err_t http_equip_workorders_entry(http_req *r);
err_t http_equip_workorders_return(http_req *r);
err_t http_equip_workorders_close(http_req *r);
err_t http_equip_asset_availability(http_req *r);
err_t http_equip_availability(http_req *r);

/* h_fhir.c: the FHIR R4 API under /fhir/R4, dispatched by server.c. The
 * request's database connection is held; body[0..len) is the raw body.
 * Fills r->out (a resource or Bundle) and r->status, or returns an error
 * with detail in r->ei (the FHIR path or parameter at fault in its field). */
err_t http_fhir_dispatch(http_req *r, const char *body, size_t len);
/* The OperationOutcome of an error (new reference). */
json_t *http_fhir_outcome(err_t code, const char *message, const char *expression);

/* h_lab.c: the workbench */
err_t http_worklist(http_req *r);
/* h_care.c */
err_t http_care_certs_create(http_req *r);
err_t http_care_certs_list(http_req *r);
err_t http_care_systems_create(http_req *r);
err_t http_care_systems_list(http_req *r);
err_t http_care_assessments_create(http_req *r);
err_t http_care_staff_get(http_req *r);
err_t http_care_expiring(http_req *r);
err_t http_care_operators_sign_on(http_req *r);
err_t http_care_operators_sign_off(http_req *r);
err_t http_care_operators_list(http_req *r);
err_t http_care_vitals_create(http_req *r);
err_t http_care_vitals_list(http_req *r);
err_t http_care_spo2_scale(http_req *r);
err_t http_care_news2_alerts(http_req *r);
err_t http_care_news2_acknowledge(http_req *r);
err_t http_care_procedures_create(http_req *r);
err_t http_care_procedures_get(http_req *r);
err_t http_care_sets_create(http_req *r);
err_t http_care_sets_list(http_req *r);
err_t http_care_cycles_create(http_req *r);
err_t http_care_cycles_list(http_req *r);
err_t http_care_cycles_get(http_req *r);
err_t http_care_cycles_biological(http_req *r);
err_t http_care_cycles_recall(http_req *r);
err_t http_care_set_use(http_req *r);
err_t http_care_docs_create(http_req *r);
err_t http_care_docs_list(http_req *r);
err_t http_care_docs_get(http_req *r);
err_t http_care_docs_version(http_req *r);
err_t http_care_docs_approve(http_req *r);
err_t http_care_docs_acknowledge(http_req *r);
err_t http_care_training_items_create(http_req *r);
err_t http_care_training_items_list(http_req *r);
err_t http_care_training_assign(http_req *r);
err_t http_care_training_list(http_req *r);
err_t http_care_training_sign_off(http_req *r);
err_t http_care_procedures_prepare(http_req *r);
err_t http_care_procedures_start(http_req *r);
err_t http_care_procedures_complete(http_req *r);
err_t http_care_procedures_cancel(http_req *r);
err_t http_care_dose_record(http_req *r);
err_t http_care_doses_list(http_req *r);
err_t http_care_dose_review(http_req *r);
err_t http_care_drls_list(http_req *r);
err_t http_care_drls_put(http_req *r);
err_t http_care_resources_create(http_req *r);
err_t http_care_resources_list(http_req *r);
err_t http_care_slots_create(http_req *r);
err_t http_care_slots_list(http_req *r);
err_t http_care_appointments_book(http_req *r);
err_t http_care_appointments_check_in(http_req *r);
err_t http_care_appointments_no_show(http_req *r);
err_t http_care_appointments_cancel(http_req *r);
err_t http_care_day(http_req *r);

/* h_stock.c */
err_t http_stock_items_put(http_req *r);
err_t http_stock_items_list(http_req *r);
err_t http_stock_items_get(http_req *r);
err_t http_stock_lots_list(http_req *r);
err_t http_stock_lots_get(http_req *r);
err_t http_stock_movements_create(http_req *r);
err_t http_stock_movements_list(http_req *r);
err_t http_stock_verifications_create(http_req *r);
err_t http_stock_verifications_list(http_req *r);
err_t http_stock_alerts(http_req *r);
err_t http_stock_reorder(http_req *r);
err_t http_stock_reagents_get(http_req *r);
err_t http_stock_reagents_put(http_req *r);
err_t http_stock_reagents_delete(http_req *r);

/* routelist.c: append one route to list (routelist.h says its members);
 * request is the OpenAPI schema of its body and query its accepted query
 * parameters, space-separated (both may be NULL). ERR_NOMEM. */
err_t http_route_entry(json_t *list, const char *method, const char *path, perm_id perm, bool body,
                       const char *request, const char *query);
/* h_fhir.c: what a FHIR request's method and path ask for: *type the
 * resource type (a static string; "metadata" for the CapabilityStatement),
 * id the resource's id ("" for a search), *create for the creation of a
 * ServiceRequest. ERR_NOT_FOUND, or ERR_METHOD with the methods the path
 * takes in *allow (a static string). */
err_t http_fhir_route(const char *method, const char *path, const char **type,
                      char id[FHIR_ID_MAX + 2], bool *create, const char **allow, errinfo *ei);
/* h_fhir.c: append the FHIR routes (the metadata, the search and read of
 * each resource type served, the creation of a ServiceRequest). ERR_NOMEM. */
err_t http_fhir_routes(json_t *list);
/* h_ops.c: operations (GET /api/v1/metrics, also served at /metrics) */
err_t http_metrics(http_req *r);

#endif
