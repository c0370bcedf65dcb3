/*
 * routes.c - the REST API's route table and its handlers.
 *
 * Handlers run after the dispatcher (server.c) has checked the route, the body,
 * the sign-in and the permission; they read r->body and r->params, call the
 * domain, and fill r->out (or return an error code with detail in r->ei).
 */
#include <stdio.h>
#include <string.h>

#include "auth/audit.h"
#include "auth/session.h"
#include "auth/throttle.h"
#include "auth/user.h"
#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "config.h"
#include "http/handlers.h"
#include "http/route.h"
#include "http/sse.h"

#define USERS_PAGE_MAX 200

#define CHECK_BODY(r, fields)                                                                      \
    jsonv_check((r)->body, (fields), sizeof(fields) / sizeof((fields)[0]), &(r)->ei)

static err_t h_health(http_req *r)
{
    char now[TIME_ISO_LEN];
    err_t rc = db_run(r->db, &r->ei, NULL, "SELECT 1", NULL);
    if (rc)
        return rc == ERR_DB ? err_set(&r->ei, ERR_DB_UNAVAILABLE, NULL, "%s", r->ei.message) : rc;
    time_format_iso(time_now_us(), now);
    r->out = json_pack("{s:s,s:s,s:s,s:s}", "status", "ok", "version", BENCHSIDE_VERSION,
                       "database", db_backend_name(r->db), "time", now);
    return r->out ? ERR_OK : ERR_NOMEM;
}

static err_t h_openapi(http_req *r)
{
    r->out = http_openapi();
    return r->out ? ERR_OK : ERR_NOMEM;
}

static const jsonv_field session_fields[] = {
    {"username", JSONV_STRING, true, 256},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

/* A sign-in refused by the limit per address (auth/throttle.h): audited as
 * a failed sign-in, without checking the password. */
static err_t sign_in_throttled(http_req *r, int64_t retry_s)
{
    char actor[USER_NAME_MAX + 1];
    errinfo aei = {0};
    const char *name = jsonv_str(r->body, "username");
    snprintf(actor, sizeof(actor), "%s", name ? name : "");
    audit_ctx ctx = {NULL, actor, r->source};
    json_t *detail = json_pack("{s:s,s:I}", "reason", "rate_limited", "retry_after_seconds",
                               (json_int_t)retry_s);
    err_t rc = audit_record(r->db, &ctx, "session.fail", "user", NULL, "failed", detail, &aei);
    json_decref(detail);
    if (rc)
        return err_set(&r->ei, rc, NULL, "%s", aei.message);
    r->retry_after_s = (int)retry_s;
    return ERR_RATE_LIMITED;
}

static err_t h_session_create(http_req *r)
{
    char token[SESSION_TOKEN_LEN + 1];
    user u;
    int64_t retry_s = 0;
    throttle_limit lim = {r->cfg->sign_in_burst, r->cfg->sign_in_interval_s > 0
                                                     ? (int64_t)r->cfg->sign_in_interval_s * 1000000
                                                     : THROTTLE_INTERVAL_US};
    err_t rc = CHECK_BODY(r, session_fields);
    if (rc)
        return rc;
    rc = throttle_claim(r->db, r->source, &lim, time_now_us(), &retry_s, &r->ei);
    if (rc == ERR_RATE_LIMITED)
        return sign_in_throttled(r, retry_s);
    if (rc)
        return rc;
    rc = session_login(r->db, jsonv_str(r->body, "username"), jsonv_str(r->body, "password"),
                       r->source, token, &u, &r->ei);
    if (!rc)
        rc = throttle_release(r->db, r->source, &lim, time_now_us(), &r->ei);
    if (rc)
        return rc;
    snprintf(r->cookie, sizeof(r->cookie), "bs_session=%s; Path=/; HttpOnly; SameSite=Strict%s",
             token, r->tls ? "; Secure" : "");
    r->out = json_pack("{s:s,s:o,s:I}", "token", token, "user", user_to_json(&u),
                       "idle_timeout_seconds", (json_int_t)(r->cfg->session_idle_us / 1000000));
    return r->out ? ERR_OK : ERR_NOMEM;
}

static err_t h_session_get(http_req *r)
{
    json_t *perms = json_array();
    for (int p = PERM_SIGNED_IN; p < PERM__COUNT; p++)
        if (perm_role_has(r->user.role, (perm_id)p))
            json_array_append_new(perms, json_string(perm_name((perm_id)p)));
    r->out = json_pack("{s:o,s:o,s:I}", "user", user_to_json(&r->user), "permissions", perms,
                       "idle_timeout_seconds", (json_int_t)(r->cfg->session_idle_us / 1000000));
    return r->out ? ERR_OK : ERR_NOMEM;
}

static err_t h_session_delete(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    err_t rc = session_logout(r->db, &ctx, r->token, &r->ei);
    if (rc)
        return rc;
    snprintf(r->cookie, sizeof(r->cookie),
             "bs_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             r->tls ? "; Secure" : "");
    return ERR_OK;
}

static const jsonv_field password_change_fields[] = {
    {"current_password", JSONV_STRING, true, USER_PASSWORD_MAX},
    {"new_password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

static err_t h_session_password(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    err_t rc = CHECK_BODY(r, password_change_fields);
    if (rc)
        return rc;
    return session_change_password(r->db, &ctx, r->user.id, r->token,
                                   jsonv_str(r->body, "current_password"),
                                   jsonv_str(r->body, "new_password"), &r->ei);
}

static const jsonv_field user_create_fields[] = {
    {"username", JSONV_STRING, true, 256},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
    {"role", JSONV_STRING, true, 64},
    {"display_name", JSONV_STRING, false, 256},
};

static err_t h_users_create(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    user u;
    err_t rc = CHECK_BODY(r, user_create_fields);
    if (rc)
        return rc;
    rc =
        user_create(r->db, &ctx, jsonv_str(r->body, "username"), jsonv_str(r->body, "display_name"),
                    jsonv_str(r->body, "role"), jsonv_str(r->body, "password"), &u, &r->ei);
    if (rc)
        return rc;
    r->out = user_to_json(&u);
    return r->out ? ERR_OK : ERR_NOMEM;
}

static err_t h_users_list(http_req *r)
{
    int limit = 0, count = 0;
    const char *cursor = http_query(r, "cursor");
    err_t rc = http_query_limit(r, 100, USERS_PAGE_MAX, &limit);
    if (rc)
        return rc;
    /* One more than asked, to know whether a next page exists. */
    user *page = arena_alloc(&r->a, sizeof(user) * (size_t)(limit + 1));
    if (!page)
        return ERR_NOMEM;
    rc = user_list(r->db, cursor, limit + 1, page, &count, &r->ei);
    if (rc)
        return rc;
    json_t *items = json_array();
    for (int i = 0; i < count && i < limit; i++)
        json_array_append_new(items, user_to_json(&page[i]));
    r->out = json_pack("{s:o,s:o}", "items", items, "next",
                       count > limit ? json_string(page[limit - 1].username) : json_null());
    return r->out ? ERR_OK : ERR_NOMEM;
}

static err_t h_users_get(http_req *r)
{
    user u;
    err_t rc = user_get(r->db, r->params[0], &u, &r->ei);
    if (rc)
        return rc;
    r->out = user_to_json(&u);
    return r->out ? ERR_OK : ERR_NOMEM;
}

static const jsonv_field user_patch_fields[] = {
    {"display_name", JSONV_STRING, false, 256},
    {"role", JSONV_STRING, false, 64},
    {"disabled", JSONV_BOOL, false, 0},
};

static err_t h_users_patch(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    user u;
    const char *role;
    json_t *dis;
    err_t rc = CHECK_BODY(r, user_patch_fields);
    if (rc)
        return rc;
    role = jsonv_str(r->body, "role");
    dis = json_object_get(r->body, "disabled");
    if (!strcmp(r->params[0], r->user.id) && ((role && strcmp(role, "admin")) || json_is_true(dis)))
        return err_set(&r->ei, ERR_INVALID, json_is_true(dis) ? "disabled" : "role",
                       "you cannot disable or demote your own account");
    rc = user_update(r->db, &ctx, r->params[0], jsonv_str(r->body, "display_name"), role,
                     json_is_boolean(dis) ? json_is_true(dis) : -1, &u, &r->ei);
    if (rc)
        return rc;
    r->out = user_to_json(&u);
    return r->out ? ERR_OK : ERR_NOMEM;
}

static err_t h_users_unlock(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    user u;
    err_t rc = user_unlock(r->db, &ctx, r->params[0], &u, &r->ei);
    if (rc)
        return rc;
    r->out = user_to_json(&u);
    return r->out ? ERR_OK : ERR_NOMEM;
}

static const jsonv_field password_set_fields[] = {
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

static err_t h_users_password(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    err_t rc = CHECK_BODY(r, password_set_fields);
    if (rc)
        return rc;
    return user_set_password(r->db, &ctx, r->params[0], jsonv_str(r->body, "password"), NULL,
                             &r->ei);
}

static err_t h_audit_list(http_req *r)
{
    audit_filter f = {
        .actor = http_query(r, "actor"),
        .action = http_query(r, "action"),
        .entity_type = http_query(r, "entity_type"),
        .entity_id = http_query(r, "entity_id"),
        .outcome = http_query(r, "outcome"),
    };
    const char *cursor = http_query(r, "cursor");
    json_t *items = NULL;
    int64_t next = 0;
    err_t rc = http_query_limit(r, 100, 500, &f.limit);
    if (!rc)
        rc = http_query_time(r, "from", &f.from);
    if (!rc)
        rc = http_query_time(r, "to", &f.to);
    if (rc)
        return rc;
    if (cursor && str_to_int64(cursor, strlen(cursor), 1, INT64_MAX, &f.before_seq))
        return err_set(&r->ei, ERR_INVALID, "cursor", "cursor must be a value from 'next'");
    rc = audit_list(r->db, &f, &items, &next, &r->ei);
    if (rc)
        return rc;
    char nexts[24];
    snprintf(nexts, sizeof(nexts), "%lld", (long long)next);
    r->out =
        json_pack("{s:o,s:o}", "items", items, "next", next ? json_string(nexts) : json_null());
    return r->out ? ERR_OK : ERR_NOMEM;
}

static err_t h_audit_verify(http_req *r)
{
    audit_verify_result v;
    err_t rc = audit_verify(r->db, &v, &r->ei);
    if (rc)
        return rc;
    if (v.ok)
        r->out = json_pack("{s:b,s:I}", "ok", 1, "events", (json_int_t)v.events);
    else
        r->out = json_pack("{s:b,s:I,s:I,s:s}", "ok", 0, "events", (json_int_t)v.events, "seq",
                           (json_int_t)v.seq, "problem", v.problem);
    return r->out ? ERR_OK : ERR_NOMEM;
}

const http_route http_routes[] = {
    {"GET", "/api/v1/health", PERM_PUBLIC, 0, h_health, NULL, "system",
     "Liveness and database check", NULL, "Health", 200},
    {"GET", "/api/v1/openapi.json", PERM_PUBLIC, 0, h_openapi, NULL, "system",
     "This OpenAPI document", NULL, "OpenAPI", 200},
    {"POST", "/api/v1/session", PERM_PUBLIC, ROUTE_BODY, h_session_create, NULL, "session",
     "Sign in; sets the bs_session cookie and returns a bearer token", "SessionCreate",
     "SessionCreated", 200},
    {"GET", "/api/v1/session", PERM_SIGNED_IN, 0, h_session_get, NULL, "session",
     "The signed-in user and their permissions", NULL, "Session", 200},
    {"DELETE", "/api/v1/session", PERM_SIGNED_IN, 0, h_session_delete, NULL, "session", "Sign out",
     NULL, NULL, 204},
    {"POST", "/api/v1/session/password", PERM_SIGNED_IN, ROUTE_BODY, h_session_password, NULL,
     "session", "Change one's own password", "PasswordChange", NULL, 204},
    {"GET", "/api/v1/users", PERM_USERS_MANAGE, 0, h_users_list, "limit cursor", "users",
     "List users by username", NULL, "UserPage", 200},
    {"POST", "/api/v1/users", PERM_USERS_MANAGE, ROUTE_BODY, h_users_create, NULL, "users",
     "Create a user", "UserCreate", "User", 201},
    {"GET", "/api/v1/users/{id}", PERM_USERS_MANAGE, 0, h_users_get, NULL, "users", "Read a user",
     NULL, "User", 200},
    {"PATCH", "/api/v1/users/{id}", PERM_USERS_MANAGE, ROUTE_BODY, h_users_patch, NULL, "users",
     "Change a user's display name, role or disabled flag", "UserPatch", "User", 200},
    {"POST", "/api/v1/users/{id}/unlock", PERM_USERS_MANAGE, 0, h_users_unlock, NULL, "users",
     "Unlock an account locked by wrong passwords", NULL, "User", 200},
    {"POST", "/api/v1/users/{id}/password", PERM_USERS_MANAGE, ROUTE_BODY, h_users_password, NULL,
     "users", "Set a user's password", "PasswordSet", NULL, 204},
    {"GET", "/api/v1/audit", PERM_AUDIT_READ, 0, h_audit_list,
     "actor action entity_type entity_id outcome from to limit cursor", "audit",
     "Search audit events, newest first", NULL, "AuditPage", 200},
    {"GET", "/api/v1/audit/verify", PERM_AUDIT_VERIFY, 0, h_audit_verify, NULL, "audit",
     "Recompute the audit hash chain", NULL, "AuditVerify", 200},
    {"POST", "/api/v1/patients", PERM_PATIENTS_WRITE, ROUTE_BODY, http_patients_create, NULL,
     "patients", "Register a patient (409 with the candidate when name and birth date match)",
     "PatientCreate", "Patient", 201},
    {"GET", "/api/v1/patients", PERM_PATIENTS_READ, 0, http_patients_search,
     "mrn name birth_date limit cursor", "patients",
     "Search patients by MRN, name (family or 'family, given') or birth date", NULL, "PatientPage",
     200},
    {"GET", "/api/v1/patients/{id}", PERM_PATIENTS_READ, 0, http_patients_get, NULL, "patients",
     "Read a patient (audited)", NULL, "Patient", 200},
    {"GET", "/api/v1/patients/{id}/report", PERM_PATIENTS_READ, 0, http_patients_report, NULL,
     "patients", "The cumulative laboratory report as a PDF (audited)", NULL, "Pdf", 200},
    {"GET", "/api/v1/catalog", PERM_CATALOG_READ, 0, http_catalog_get, NULL, "catalog",
     "The whole test catalog (tests and panels)", NULL, "Catalog", 200},
    {"PUT", "/api/v1/catalog", PERM_CATALOG_WRITE, ROUTE_BODY, http_catalog_put, NULL, "catalog",
     "Import tests and panels (all checked first, then written at once)", "Catalog",
     "CatalogImported", 200},
    {"GET", "/api/v1/catalog/tests/{code}", PERM_CATALOG_READ, 0, http_catalog_test, NULL,
     "catalog", "One test of the catalog", NULL, "CatalogTest", 200},
    {"POST", "/api/v1/orders", PERM_ORDERS_WRITE, ROUTE_BODY, http_orders_create, NULL, "orders",
     "Place an order; it expands into specimens with accession numbers", "OrderCreate", "Order",
     201},
    {"GET", "/api/v1/orders/{id}", PERM_PATIENTS_READ, 0, http_orders_get, NULL, "orders",
     "Read an order with its specimens and tests (audited)", NULL, "Order", 200},
    {"GET", "/api/v1/specimens/{accession}", PERM_PATIENTS_READ, 0, http_specimens_get, NULL,
     "specimens", "Read a specimen by accession number (audited)", NULL, "Specimen", 200},
    {"POST", "/api/v1/specimens/{accession}/events", PERM_SPECIMENS_HANDLE, ROUTE_BODY,
     http_specimens_event, NULL, "specimens",
     "Record a chain-of-custody event (collected, received, centrifuged, aliquoted, stored, "
     "retrieved, sent-out, disposed)",
     "CustodyEvent", "Specimen", 200},
    {"POST", "/api/v1/specimens/{accession}/reject", PERM_SPECIMENS_HANDLE, ROUTE_BODY,
     http_specimens_reject, NULL, "specimens",
     "Reject a specimen: its open tests are cancelled and a recollection is created", "Rejection",
     "Specimen", 200},
    {"POST", "/api/v1/specimens/{accession}/results", PERM_RESULTS_ENTER, ROUTE_BODY,
     http_results_enter, NULL, "results",
     "Enter results for a received specimen; each is flagged, checked and auto-verified or "
     "queued for review",
     "ResultEntry", "ResultList", 200},
    {"GET", "/api/v1/results/review", PERM_RESULTS_RELEASE, 0, http_results_review, "limit",
     "results", "Results waiting for review, STAT first", NULL, "ResultPage", 200},
    {"GET", "/api/v1/results/critical", PERM_PATIENTS_READ, 0, http_results_critical, NULL,
     "results", "Critical values whose call is not documented yet", NULL, "ResultPage", 200},
    {"POST", "/api/v1/results/release", PERM_RESULTS_RELEASE, ROUTE_BODY, http_results_release,
     NULL, "results",
     "Release results with an electronic signature (the password again); all or none",
     "ResultRelease", "ResultList", 200},
    {"GET", "/api/v1/results/{id}", PERM_PATIENTS_READ, 0, http_results_get, NULL, "results",
     "Read a result with its history (audited)", NULL, "Result", 200},
    {"POST", "/api/v1/results/{id}/critical-call", PERM_RESULTS_RELEASE, ROUTE_BODY,
     http_results_call, NULL, "results", "Document the call of a critical value", "CriticalCall",
     "Result", 200},
    {"POST", "/api/v1/results/{id}/correct", PERM_RESULTS_RELEASE, ROUTE_BODY, http_results_correct,
     NULL, "results", "Correct a released result; the earlier value is kept with who, when and why",
     "ResultCorrection", "Result", 200},
    {"GET", "/api/v1/turnaround", PERM_RESULTS_RELEASE, 0, http_tat_summary, "from to", "results",
     "Turnaround per priority (median and 90th percentile, share within target) for tests "
     "released between from and to (default: the last 7 days)",
     NULL, "Turnaround", 200},
    {"GET", "/api/v1/turnaround/overdue", PERM_PATIENTS_READ, 0, http_tat_overdue, NULL, "results",
     "Tests past their turnaround target now, most overdue first", NULL, "Overdue", 200},
    {"GET", "/api/v1/charges", PERM_CHARGES_EXPORT, 0, http_charges_export, "from to format",
     "charges",
     "Charge lines of the tests released between from and to (default: the last day), as CSV "
     "or as HL7 v2.5.1 DFT^P03 messages (format=hl7)",
     NULL, "Csv", 200},
    {"GET", "/api/v1/specimens/{accession}/label", PERM_PATIENTS_READ, 0, http_specimens_label,
     "format", "specimens", "The specimen's label as ZPL (default) or PDF (audited)", NULL, "Label",
     200},
    {"GET", "/api/v1/instruments", PERM_INTERFACES_READ, 0, http_instruments_list, NULL,
     "interfaces", "The instrument register: analyzers, monitors and EHRs", NULL, "InstrumentList",
     200},
    {"PUT", "/api/v1/instruments", PERM_INTERFACES_MANAGE, ROUTE_BODY, http_instruments_put, NULL,
     "interfaces",
     "Add or update instruments (all checked first, then written at once; their mappings are "
     "replaced)",
     "InstrumentImport", "InstrumentsImported", 200},
    {"GET", "/api/v1/instruments/{name}", PERM_INTERFACES_READ, 0, http_instruments_get, NULL,
     "interfaces", "One instrument with its test-code mappings", NULL, "Instrument", 200},
    {"GET", "/api/v1/links", PERM_INTERFACES_READ, 0, http_links_state, NULL, "interfaces",
     "What this node's instrument links are doing now: its listeners and each open connection or "
     "serial line with the instrument it speaks for, its messages and the last one's status",
     NULL, "LinkState", 200},
    {"GET", "/api/v1/messages", PERM_INTERFACES_READ, 0, http_messages_search,
     "instrument status type control_id peer from to limit cursor", "interfaces",
     "Search the message journal, newest first (audited)", NULL, "MessagePage", 200},
    {"GET", "/api/v1/messages/{id}", PERM_INTERFACES_READ, 0, http_messages_get, NULL, "interfaces",
     "One journalled message with its raw text (audited)", NULL, "Message", 200},
    {"POST", "/api/v1/messages/{id}/replay", PERM_INTERFACES_MANAGE, 0, http_messages_replay, NULL,
     "interfaces",
     "Handle a journalled message again (a message stored once is a duplicate, never stored "
     "twice)",
     NULL, "Replay", 200},
    {"GET", "/api/v1/outbox", PERM_INTERFACES_READ, 0, http_outbox_list, "status limit",
     "interfaces", "Results queued for the EHRs and their delivery status, newest first", NULL,
     "OutboxList", 200},
    {"GET", "/api/v1/outbox/orders", PERM_INTERFACES_READ, 0, http_outbox_orders, "status limit",
     "interfaces",
     "Orders of received specimens queued for the analyzers they are pushed to, newest first", NULL,
     "OrderOutboxList", 200},
    {"GET", "/api/v1/qc/materials", PERM_QC_READ, 0, http_qc_materials_list, NULL, "qc",
     "Control materials (lots and levels) with their targets", NULL, "QcMaterialList", 200},
    {"POST", "/api/v1/qc/materials", PERM_QC_MANAGE, ROUTE_BODY, http_qc_materials_create, NULL,
     "qc",
     "Register a control material; a target without mean and SD is established from the first "
     "20 runs",
     "QcMaterialCreate", "QcMaterial", 201},
    {"PUT", "/api/v1/qc/materials/{id}/targets", PERM_QC_MANAGE, ROUTE_BODY, http_qc_targets_set,
     NULL, "qc", "Set one target (mean and SD) of a material for a test and instrument", "QcTarget",
     "QcMaterial", 200},
    {"GET", "/api/v1/qc/settings", PERM_QC_READ, 0, http_qc_settings_list, NULL, "qc",
     "The Westgard rules and QC frequency of each test and instrument", NULL, "QcSettingsList",
     200},
    {"PUT", "/api/v1/qc/settings", PERM_QC_MANAGE, ROUTE_BODY, http_qc_settings_put, NULL, "qc",
     "Set the rules, frequency and allowable total error of a test on an instrument", "QcSettings",
     "QcSettings", 200},
    {"POST", "/api/v1/qc/results", PERM_QC_ENTER, ROUTE_BODY, http_qc_results_enter, NULL, "qc",
     "Record a QC result; it is judged by the rules and a rejection locks the test on the "
     "instrument",
     "QcResultEntry", "QcResult", 201},
    {"GET", "/api/v1/qc/results", PERM_QC_READ, 0, http_qc_results_list, "test instrument from to",
     "qc", "QC results of a test, oldest first", NULL, "QcResultList", 200},
    {"GET", "/api/v1/qc/chart", PERM_QC_READ, 0, http_qc_chart, "test instrument from to format",
     "qc",
     "Levey-Jennings chart of a test on an instrument (default: the last 31 days), as SVG, PNG "
     "or PDF",
     NULL, "Chart", 200},
    {"GET", "/api/v1/qc/stats", PERM_QC_READ, 0, http_qc_stats, "test instrument from to", "qc",
     "N, mean, SD, CV and bias per control material for a period (default: this month) and "
     "cumulative; allowable total error, Sigma and the rules the Westgard Sigma Rules suggest",
     NULL, "QcStats", 200},
    {"GET", "/api/v1/qc/report", PERM_QC_READ, 0, http_qc_report, "month instrument", "qc",
     "The monthly QC report as a PDF for the supervisor's signature (audited)", NULL, "Pdf", 200},
    {"POST", "/api/v1/qc/report/sign", PERM_QC_MANAGE, ROUTE_BODY, http_qc_report_sign, NULL, "qc",
     "Sign a past month's QC as reviewed (electronic signature: the password again)",
     "QcReportSign", "QcReview", 201},
    {"GET", "/api/v1/qc/lockouts", PERM_QC_READ, 0, http_qc_lockouts_list, "open", "qc",
     "QC lockouts, newest first", NULL, "QcLockoutList", 200},
    {"GET", "/api/v1/qc/lockouts/{id}", PERM_QC_READ, 0, http_qc_lockouts_get, NULL, "qc",
     "A lockout with the patient results since the last accepted QC (audited)", NULL, "QcLockout",
     200},
    {"POST", "/api/v1/qc/lockouts/{id}/close", PERM_QC_MANAGE, ROUTE_BODY, http_qc_lockouts_close,
     NULL, "qc",
     "Document the corrective action and close the lockout (a passing run is needed; signed "
     "with the password); held results are checked again",
     "QcLockoutClose", "QcLockout", 200},
    {"POST", "/api/v1/qc/pt/events", PERM_QC_MANAGE, ROUTE_BODY, http_pt_events_create, NULL, "qc",
     "Register a proficiency-testing event with its samples (each for a numeric test)",
     "PtEventCreate", "PtEvent", 201},
    {"GET", "/api/v1/qc/pt/events", PERM_QC_READ, 0, http_pt_events_list, "status", "qc",
     "Proficiency-testing events, latest due date first", NULL, "PtEventList", 200},
    {"GET", "/api/v1/qc/pt/events/{id}", PERM_QC_READ, 0, http_pt_events_get, NULL, "qc",
     "A proficiency-testing event with its samples, results, grades, scores per analyte and "
     "corrective actions",
     NULL, "PtEvent", 200},
    {"POST", "/api/v1/qc/pt/events/{id}/results", PERM_QC_ENTER, ROUTE_BODY, http_pt_results_submit,
     NULL, "qc",
     "Submit results for samples of an event (one per sample, on or before the due date; all "
     "or none)",
     "PtResultsSubmit", "PtEvent", 201},
    {"POST", "/api/v1/qc/pt/events/{id}/grade", PERM_QC_MANAGE, ROUTE_BODY | ROUTE_CONFLICT,
     http_pt_events_grade, NULL, "qc",
     "Grade an event with the provider's targets (the provider's limits, else CLIA's); scores "
     "per analyte, 80% or better satisfactory",
     "PtGrade", "PtEvent", 200},
    {"POST", "/api/v1/qc/pt/events/{id}/corrective-actions", PERM_QC_MANAGE, ROUTE_BODY,
     http_pt_corrective_action, NULL, "qc",
     "Document the corrective action for an analyte with unacceptable results (signed with the "
     "password); the event closes when every unsatisfactory analyte has one",
     "PtCorrectiveAction", "PtEvent", 201},
    {"GET", "/api/v1/qc/pbqc/settings", PERM_QC_READ, 0, http_qc_pbqc_settings_list, NULL, "qc",
     "Patient-based QC of each test and instrument: the moving average, its target and limits, "
     "and its running state",
     NULL, "QcPbqcSettingsList", 200},
    {"PUT", "/api/v1/qc/pbqc/settings", PERM_QC_MANAGE, ROUTE_BODY, http_qc_pbqc_settings_put, NULL,
     "qc",
     "Set the patient-based QC of a test on an instrument (Bull's algorithm, EWMA or a batch "
     "mean) with its target and limits",
     "QcPbqcSettingsSet", "QcPbqcSettings", 200},
    {"GET", "/api/v1/qc/pbqc", PERM_QC_READ, 0, http_qc_pbqc_series, "test instrument from to",
     "qc", "The points the moving average of a test on an instrument computed, oldest first", NULL,
     "QcPbqcSeries", 200},
    {"GET", "/api/v1/qc/pbqc/alerts", PERM_QC_READ, 0, http_qc_pbqc_alerts_list,
     "open test instrument", "qc",
     "Patient-based QC alerts (a moving average out of its limits), newest first", NULL,
     "QcPbqcAlertList", 200},
    {"POST", "/api/v1/qc/pbqc/alerts/{id}/acknowledge", PERM_QC_MANAGE, ROUTE_BODY,
     http_qc_pbqc_alerts_acknowledge, NULL, "qc",
     "Acknowledge a patient-based QC alert with a note; optionally restart the average from the "
     "target",
     "QcPbqcAcknowledge", "QcPbqcAlert", 200},
    {"POST", "/api/v1/assets", PERM_EQUIPMENT_MANAGE, ROUTE_BODY, http_assets_create, NULL,
     "equipment", "Register an asset (a device of one of the asset classes) with its tag",
     "AssetCreate", "Asset", 201},
    {"GET", "/api/v1/assets", PERM_EQUIPMENT_READ, 0, http_assets_list,
     "class status location limit cursor", "equipment",
     "The asset register by tag, filtered by class, status and location", NULL, "AssetPage", 200},
    {"GET", "/api/v1/assets/{tag}", PERM_EQUIPMENT_READ, 0, http_assets_get, NULL, "equipment",
     "One asset by tag", NULL, "Asset", 200},
    {"PUT", "/api/v1/assets/{tag}", PERM_EQUIPMENT_MANAGE, ROUTE_BODY | ROUTE_CONFLICT,
     http_assets_put, NULL, "equipment",
     "Replace what the register says of an asset (not its tag or status); a retired asset is "
     "not edited",
     "AssetUpdate", "Asset", 200},
    {"POST", "/api/v1/assets/{tag}/status", PERM_EQUIPMENT_MANAGE, ROUTE_BODY | ROUTE_CONFLICT,
     http_assets_status, NULL, "equipment",
     "Put an asset in or out of service, or retire it (a reason for out-of-service and "
     "retired; a retired asset does not return)",
     "AssetStatusChange", "Asset", 200},
    {"POST", "/api/v1/storage-units", PERM_EQUIPMENT_MANAGE, ROUTE_BODY, http_storage_create, NULL,
     "equipment",
     "Create a storage unit (refrigerator, freezer, incubator or room) with its temperature "
     "limits",
     "StorageUnitCreate", "StorageUnit", 201},
    {"GET", "/api/v1/storage-units", PERM_EQUIPMENT_READ, 0, http_storage_list, NULL, "equipment",
     "Storage units by name", NULL, "StorageUnitList", 200},
    {"GET", "/api/v1/storage-units/{name}", PERM_EQUIPMENT_READ, 0, http_storage_get, NULL,
     "equipment", "One storage unit by name", NULL, "StorageUnit", 200},
    {"POST", "/api/v1/equipment/schedules", PERM_EQUIPMENT_MANAGE, ROUTE_BODY,
     http_schedules_create, NULL, "equipment",
     "Schedule maintenance, calibration, electrical safety tests or checks for an asset or a "
     "class, with an interval and a grace period",
     "ScheduleCreate", "Schedule", 201},
    {"GET", "/api/v1/equipment/schedules", PERM_EQUIPMENT_READ, 0, http_schedules_list,
     "asset class", "equipment",
     "Schedules: of an asset (its own and its class's), of a class, or all", NULL, "ScheduleList",
     200},
    {"DELETE", "/api/v1/equipment/schedules/{id}", PERM_EQUIPMENT_MANAGE, 0, http_schedules_delete,
     NULL, "equipment", "Delete a schedule (its records stay)", NULL, NULL, 204},
    {"GET", "/api/v1/equipment/due", PERM_EQUIPMENT_READ, 0, http_equipment_due, "within",
     "equipment",
     "What is overdue or due within the next days (default 7) on in-service assets, overdue "
     "first",
     NULL, "DueList", 200},
    {"POST", "/api/v1/assets/{tag}/maintenance", PERM_EQUIPMENT_RECORD, ROUTE_BODY | ROUTE_CONFLICT,
     http_pm_create, NULL, "equipment", "Record preventive maintenance done on an asset",
     "MaintenanceCreate", "Maintenance", 201},
    {"GET", "/api/v1/assets/{tag}/maintenance", PERM_EQUIPMENT_READ, 0, http_pm_list, NULL,
     "equipment", "The maintenance records of an asset, latest first", NULL, "MaintenanceList",
     200},
    {"POST", "/api/v1/calibrations", PERM_EQUIPMENT_RECORD, ROUTE_BODY, http_calibrations_create,
     NULL, "equipment",
     "Record a calibration with its points (as found, as left, tolerance) against a reference "
     "standard in calibration then, or an external certificate",
     "CalibrationCreate", "Calibration", 201},
    {"GET", "/api/v1/calibrations/{id}", PERM_EQUIPMENT_READ, 0, http_calibrations_get, NULL,
     "equipment",
     "A calibration with its points, look-back period and traceability chain up to an external "
     "certificate",
     NULL, "Calibration", 200},
    {"GET", "/api/v1/assets/{tag}/calibrations", PERM_EQUIPMENT_READ, 0, http_calibrations_list,
     NULL, "equipment", "The calibrations of an asset, latest first", NULL, "CalibrationList", 200},
    {"POST", "/api/v1/equipment/checklists", PERM_EQUIPMENT_MANAGE, ROUTE_BODY, http_checklists_put,
     NULL, "equipment",
     "Store a checklist template (a new version when it differs from its latest)",
     "ChecklistTemplate", "Checklist", 200},
    {"GET", "/api/v1/equipment/checklists", PERM_EQUIPMENT_READ, 0, http_checklists_list, NULL,
     "equipment", "The latest version of every checklist template", NULL, "ChecklistList", 200},
    {"GET", "/api/v1/equipment/checklists/{code}", PERM_EQUIPMENT_READ, 0, http_checklists_get,
     "version", "equipment", "A checklist template: its latest version or the one asked for", NULL,
     "Checklist", 200},
    {"POST", "/api/v1/equipment/checks", PERM_EQUIPMENT_RECORD, ROUTE_BODY, http_checks_create,
     NULL, "equipment",
     "Record a check or electrical safety test against a template; pass or fail from its limits",
     "CheckCreate", "Check", 201},
    {"GET", "/api/v1/equipment/checks/{id}", PERM_EQUIPMENT_READ, 0, http_checks_get, NULL,
     "equipment", "One check with its values and the fields that failed", NULL, "Check", 200},
    {"GET", "/api/v1/assets/{tag}/checks", PERM_EQUIPMENT_READ, 0, http_checks_list, NULL,
     "equipment", "The checks of an asset, latest first", NULL, "CheckList", 200},
    {"GET", "/api/v1/assets/{tag}/fitness", PERM_EQUIPMENT_READ, 0, http_assets_fitness, NULL,
     "equipment",
     "Whether an asset is fit for use now, why not, and the state of each of its schedules", NULL,
     "Fitness", 200},
    {"POST", "/api/v1/qc/checks", PERM_QC_MANAGE, ROUTE_BODY, http_qc_checks_create, NULL, "qc",
     "Define a tolerance check of a device: a target and a fixed tolerance (the CT number of "
     "water on the daily phantom, a centrifuge's speed)",
     "QcCheckCreate", "QcCheck", 201},
    {"GET", "/api/v1/qc/checks", PERM_QC_READ, 0, http_qc_checks_list, "device", "qc",
     "Tolerance checks of devices, with their last passing result, whether they are overdue and "
     "their open lockout",
     NULL, "QcCheckList", 200},
    {"GET", "/api/v1/qc/checks/{id}", PERM_QC_READ, 0, http_qc_checks_get, NULL, "qc",
     "One tolerance check", NULL, "QcCheck", 200},
    {"PUT", "/api/v1/qc/checks/{id}", PERM_QC_MANAGE, ROUTE_BODY, http_qc_checks_update, NULL, "qc",
     "Change a check's name, target, tolerance, frequency or whether it is active; earlier "
     "results keep what they were judged against",
     "QcCheckUpdate", "QcCheck", 200},
    {"POST", "/api/v1/qc/checks/{id}/results", PERM_QC_ENTER, ROUTE_BODY,
     http_qc_check_results_enter, NULL, "qc",
     "Record a result of a tolerance check; one outside the tolerance locks the device",
     "QcCheckResultEntry", "QcCheckResult", 201},
    {"GET", "/api/v1/qc/checks/{id}/results", PERM_QC_READ, 0, http_qc_check_results_list,
     "from to", "qc", "Results of a tolerance check, oldest first", NULL, "QcCheckResultList", 200},
    {"GET", "/api/v1/qc/checks/{id}/chart", PERM_QC_READ, 0, http_qc_check_chart, "from to format",
     "qc",
     "Chart of a tolerance check against its target and tolerance (default: the last 31 days), "
     "as SVG, PNG or PDF",
     NULL, "Chart", 200},
    {"GET", "/api/v1/qc/check-lockouts", PERM_QC_READ, 0, http_qc_check_lockouts_list, "open", "qc",
     "Devices locked by a failed tolerance check, newest first", NULL, "QcCheckLockoutList", 200},
    {"POST", "/api/v1/qc/check-lockouts/{id}/close", PERM_QC_MANAGE, ROUTE_BODY | ROUTE_CONFLICT,
     http_qc_check_lockouts_close, NULL, "qc",
     "Document the corrective action and close a device's lockout (a passing result is needed; "
     "signed with the password); held results are checked again",
     "QcLockoutClose", "QcCheckLockout", 200},
    {"POST", "/api/v1/storage-units/{name}/readings", PERM_EQUIPMENT_RECORD, ROUTE_BODY,
     http_equip_readings_record, NULL, "equipment",
     "Record temperature readings of a storage unit: one by hand, or a batch a sensor pushes "
     "(all or none); a reading outside the limits opens or joins the unit's alert",
     "TemperatureReadingsRecord", "TemperatureReadingsRecorded", 201},
    {"GET", "/api/v1/storage-units/{name}/readings", PERM_EQUIPMENT_READ, 0,
     http_equip_readings_list, "from to", "equipment",
     "Temperature readings of a storage unit in a period (default: the last 7 days), oldest "
     "first, with the minimum and maximum of each day",
     NULL, "TemperatureReadings", 200},
    {"GET", "/api/v1/temperature/alerts", PERM_EQUIPMENT_READ, 0, http_equip_temp_alerts_list,
     "status unit", "equipment", "Temperature alerts, newest first", NULL, "TemperatureAlertList",
     200},
    {"GET", "/api/v1/temperature/alerts/{id}", PERM_EQUIPMENT_READ, 0, http_equip_temp_alerts_get,
     NULL, "equipment",
     "A temperature alert with what was stored in the unit when it opened (audited)", NULL,
     "TemperatureAlert", 200},
    {"POST", "/api/v1/temperature/alerts/{id}/close", PERM_EQUIPMENT_RECORD,
     ROUTE_BODY | ROUTE_CONFLICT, http_equip_temp_alerts_close, NULL, "equipment",
     "Close a temperature alert with the action taken and the disposition of the stored "
     "products (a person, not an interface account)",
     "TemperatureAlertClose", "TemperatureAlert", 200},
    {"POST", "/api/v1/work-orders", PERM_EQUIPMENT_RECORD, ROUTE_BODY, http_equip_workorders_report,
     NULL, "equipment",
     "Report a fault on an asset; high and critical ones take it out of service unless told "
     "otherwise",
     "WorkOrderReport", "WorkOrder", 201},
    {"GET", "/api/v1/work-orders", PERM_EQUIPMENT_READ, 0, http_equip_workorders_list,
     "asset status", "equipment", "Work orders, newest report first", NULL, "WorkOrderList", 200},
    {"GET", "/api/v1/work-orders/{id}", PERM_EQUIPMENT_READ, 0, http_equip_workorders_get, NULL,
     "equipment", "A work order with its entries, the cost of its parts and its downtime", NULL,
     "WorkOrder", 200},
    {"POST", "/api/v1/work-orders/{id}/entries", PERM_EQUIPMENT_RECORD, ROUTE_BODY,
     http_equip_workorders_entry, NULL, "equipment",
     "Append a troubleshooting note, a part used or a vendor's service visit to an open work "
     "order",
     "WorkOrderEntryCreate", "WorkOrder", 201},
    {"POST", "/api/v1/work-orders/{id}/return-to-service", PERM_EQUIPMENT_MANAGE,
     ROUTE_BODY | ROUTE_CONFLICT, http_equip_workorders_return, NULL, "equipment",
     "Record the verification check; when it passes the asset is in service again (unless "
     "another open order holds it out)",
     "WorkOrderReturn", "WorkOrder", 200},
    {"POST", "/api/v1/work-orders/{id}/close", PERM_EQUIPMENT_MANAGE, ROUTE_BODY | ROUTE_CONFLICT,
     http_equip_workorders_close, NULL, "equipment",
     "Close a work order with its resolution (after the return to service when it took the "
     "asset out of service)",
     "WorkOrderClose", "WorkOrder", 200},
    {"GET", "/api/v1/assets/{tag}/availability", PERM_EQUIPMENT_READ, 0,
     http_equip_asset_availability, "month", "equipment",
     "Availability of an asset in a month (default: this month): 1 - downtime / the month's "
     "length, overlapping work orders counted once",
     NULL, "Availability", 200},
    {"GET", "/api/v1/equipment/availability", PERM_EQUIPMENT_READ, 0, http_equip_availability,
     "month", "equipment", "Availability of every asset in a month (default: this month), by tag",
     NULL, "AvailabilityList", 200},
    {"GET", "/api/v1/events", PERM_SIGNED_IN, ROUTE_QUIET, http_events, "last_event_id", "events",
     "Live events as Server-Sent Events (text/event-stream): results entered and released, "
     "critical values raised and called, specimens handled, QC rejections and lockouts, device "
     "alerts; each shown to the roles that may read it; resumes after Last-Event-ID",
     NULL, "EventStream", 200},
    {"GET", "/api/v1/worklist", PERM_PATIENTS_READ, 0, http_worklist,
     "stage priority specimen_type instrument test limit", "results",
     "The bench's worklist: specimens with their tests by stage (to-collect, to-receive, "
     "in-progress, to-review, released), STAT first, with how late each is (audited)",
     NULL, "Worklist", 200},
    {"PUT", "/api/v1/stock/items", PERM_STOCK_MANAGE, ROUTE_BODY | ROUTE_CONFLICT,
     http_stock_items_put, NULL, "stock",
     "Add or update items of supplies (all checked first, then written at once; the tests an "
     "item serves are replaced)",
     "StockItemImport", "StockItemList", 200},
    {"GET", "/api/v1/stock/items", PERM_STOCK_READ, 0, http_stock_items_list, "kind", "stock",
     "Items of supplies by code, each with its quantity on hand", NULL, "StockItemList", 200},
    {"GET", "/api/v1/stock/items/{code}", PERM_STOCK_READ, 0, http_stock_items_get, NULL, "stock",
     "One item of supplies with its lots", NULL, "StockItem", 200},
    {"GET", "/api/v1/stock/lots", PERM_STOCK_READ, 0, http_stock_lots_list, "item status location",
     "stock",
     "Lots by item and expiry, with their quantity per storage unit (location: those with stock "
     "there)",
     NULL, "StockLotList", 200},
    {"GET", "/api/v1/stock/lots/{id}", PERM_STOCK_READ, 0, http_stock_lots_get, NULL, "stock",
     "One lot with its movements, verifications and use on instruments", NULL, "StockLotDetail",
     200},
    {"POST", "/api/v1/stock/movements", PERM_STOCK_RECORD, ROUTE_BODY | ROUTE_CONFLICT,
     http_stock_movements_create, NULL, "stock",
     "Record a receipt, use, transfer, disposal or count; refused when it would leave less than "
     "nothing, on an expired lot (but a disposal), in the future or at an unknown storage unit",
     "StockMovementCreate", "StockMovementRecorded", 201},
    {"GET", "/api/v1/stock/movements", PERM_STOCK_READ, 0, http_stock_movements_list,
     "item lot kind from to limit", "stock", "Movements of stock, newest first", NULL,
     "StockMovementList", 200},
    {"POST", "/api/v1/stock/verifications", PERM_STOCK_MANAGE, ROUTE_BODY | ROUTE_CONFLICT,
     http_stock_verifications_create, NULL, "stock",
     "Record a lot-to-lot verification; an accepted one makes the lot verified and re-checks the "
     "results it measured",
     "StockVerificationCreate", "StockVerificationRecorded", 201},
    {"GET", "/api/v1/stock/verifications", PERM_STOCK_READ, 0, http_stock_verifications_list,
     "item", "stock", "Lot-to-lot verifications, newest first", NULL, "StockVerificationList", 200},
    {"GET", "/api/v1/stock/alerts", PERM_STOCK_READ, 0, http_stock_alerts, "days", "stock",
     "Items at or below their reorder point, lots expiring within days (default 30) or expired "
     "with stock, lots in use past their open-vial stability, quantities below nothing",
     NULL, "StockAlertList", 200},
    {"GET", "/api/v1/stock/reorder", PERM_STOCK_READ, 0, http_stock_reorder, NULL, "stock",
     "The reorder list per supplier: items at or below their reorder point and how much to order",
     NULL, "StockReorder", 200},
    {"GET", "/api/v1/instruments/{name}/reagents", PERM_STOCK_READ, 0, http_stock_reagents_get,
     NULL, "stock", "The reagent lots in use on an instrument, and the earlier ones", NULL,
     "StockReagents", 200},
    {"PUT", "/api/v1/instruments/{name}/reagents", PERM_STOCK_RECORD, ROUTE_BODY | ROUTE_CONFLICT,
     http_stock_reagents_put, NULL, "stock",
     "Put a reagent lot in use on an instrument for the tests its item serves (the item's "
     "previous lot there is taken out of use); warnings when it is expired, past its open-vial "
     "stability or not verified",
     "StockReagentPut", "StockReagents", 200},
    {"DELETE", "/api/v1/instruments/{name}/reagents/{item}", PERM_STOCK_RECORD, 0,
     http_stock_reagents_delete, NULL, "stock", "Take an item's lot out of use on an instrument",
     NULL, "StockReagents", 200},
    {"POST", "/api/v1/care/certifications", PERM_CARE_MANAGE, ROUTE_BODY, http_care_certs_create,
     NULL, "care",
     "Record a certification or licence of a person (ASCP, ARRT, state licence, BLS...) with its "
     "number, issuer and expiry; an expired one is refused",
     "CareCertificationCreate", "CareCertification", 201},
    {"GET", "/api/v1/care/certifications", PERM_CARE_READ, 0, http_care_certs_list, "user", "care",
     "Certifications, of one person or all, latest expiry first", NULL, "CareCertificationList",
     200},
    {"POST", "/api/v1/care/test-systems", PERM_CARE_MANAGE, ROUTE_BODY, http_care_systems_create,
     NULL, "care",
     "Put a test system in the competency program: an instrument, an asset class or a test "
     "entered by hand, with the certification it requires",
     "CareTestSystemCreate", "CareTestSystem", 201},
    {"GET", "/api/v1/care/test-systems", PERM_CARE_READ, 0, http_care_systems_list, NULL, "care",
     "The test systems of the competency program", NULL, "CareTestSystemList", 200},
    {"POST", "/api/v1/care/assessments", PERM_CARE_MANAGE, ROUTE_BODY, http_care_assessments_create,
     NULL, "care",
     "Record a competency assessment with the six CLIA elements, signed by the assessor; due "
     "again at six months in the first year, then yearly",
     "CareAssessmentCreate", "CareAssessment", 201},
    {"GET", "/api/v1/care/staff/{username}", PERM_CARE_READ, 0, http_care_staff_get, NULL, "care",
     "A person's certifications, assessments and competency for each test system today", NULL,
     "CareStaff", 200},
    {"GET", "/api/v1/care/expiring", PERM_CARE_READ, 0, http_care_expiring, "within", "care",
     "Reminders: certifications and competencies expired or expiring within the next days "
     "(default 30), soonest first",
     NULL, "CareExpiringList", 200},
    {"POST", "/api/v1/care/operators", PERM_CARE_RECORD, ROUTE_BODY, http_care_operators_sign_on,
     NULL, "care",
     "Sign on to an instrument as its operator of record (a supervisor may sign someone else "
     "on); automatic release asks whether the operator is competent",
     "CareOperatorSignOn", "CareOperator", 201},
    {"DELETE", "/api/v1/care/operators/{instrument}", PERM_CARE_RECORD, ROUTE_CONFLICT,
     http_care_operators_sign_off, NULL, "care",
     "Sign off an instrument: it has no operator of record until someone signs on", NULL, NULL,
     204},
    {"GET", "/api/v1/care/operators", PERM_CARE_READ, 0, http_care_operators_list, NULL, "care",
     "The operator of record of each instrument", NULL, "CareOperatorList", 200},
    {"POST", "/api/v1/care/vitals", PERM_CARE_RECORD, ROUTE_BODY, http_care_vitals_create, NULL,
     "care",
     "Record a set of vital signs taken by hand; its NEWS2 on the patient's SpO2 scale, and an "
     "alert at 5 or more or 3 in one parameter",
     "CareVitalsCreate", "CareVitals", 201},
    {"GET", "/api/v1/care/patients/{id}/vitals", PERM_PATIENTS_READ, 0, http_care_vitals_list, NULL,
     "care",
     "A patient's vital signs with their NEWS2, latest first, from people and monitors (audited)",
     NULL, "CareVitalsList", 200},
    {"POST", "/api/v1/care/patients/{id}/spo2-scale", PERM_CARE_RECORD, ROUTE_BODY,
     http_care_spo2_scale, NULL, "care",
     "Prescribe the SpO2 scale NEWS2 uses for a patient (2 for hypercapnic respiratory failure)",
     "CareSpo2ScaleSet", "CareSpo2Scale", 201},
    {"GET", "/api/v1/care/news2-alerts", PERM_PATIENTS_READ, 0, http_care_news2_alerts, "open",
     "care", "NEWS2 alerts, newest first; ?open=true for those not acknowledged (audited)", NULL,
     "CareNews2AlertList", 200},
    {"POST", "/api/v1/care/news2-alerts/{id}/acknowledge", PERM_CARE_RECORD,
     ROUTE_BODY | ROUTE_CONFLICT, http_care_news2_acknowledge, NULL, "care",
     "Acknowledge a NEWS2 alert with what was done", "CareNews2Acknowledge", "CareNews2Alert", 200},
    {"POST", "/api/v1/care/procedures", PERM_CARE_RECORD, ROUTE_BODY, http_care_procedures_create,
     NULL, "care",
     "Schedule a procedure: imaging (MRI, CT, X-ray, ultrasound, ECG) on a device of the asset "
     "register, or another in which instrument sets are used",
     "CareProcedureCreate", "CareProcedure", 201},
    {"GET", "/api/v1/care/procedures/{id}", PERM_PATIENTS_READ, 0, http_care_procedures_get, NULL,
     "care",
     "A procedure with its device, the instrument sets used in it, its preparation and dose "
     "(audited)",
     NULL, "CareProcedure", 200},
    {"POST", "/api/v1/care/procedures/{id}/sets", PERM_CARE_RECORD, ROUTE_BODY, http_care_set_use,
     NULL, "care",
     "Record an instrument set used in a procedure, from the cycle that sterilized it last (not "
     "a failed, recalled or quarantined one; once per cycle)",
     "CareSetUse", "CareProcedure", 201},
    {"POST", "/api/v1/care/sterilization/sets", PERM_CARE_MANAGE, ROUTE_BODY, http_care_sets_create,
     NULL, "care", "Register an instrument set (a tray) by its label", "CareSetCreate", "CareSet",
     201},
    {"GET", "/api/v1/care/sterilization/sets", PERM_CARE_READ, 0, http_care_sets_list, NULL, "care",
     "Instrument sets with the last cycle that sterilized each and whether it was used", NULL,
     "CareSetList", 200},
    {"POST", "/api/v1/care/sterilization/cycles", PERM_CARE_RECORD, ROUTE_BODY,
     http_care_cycles_create, NULL, "care",
     "Record a sterilizer cycle with its load, parameters and chemical and biological "
     "indicators; judged against the program's temperature and exposure",
     "CareCycleCreate", "CareCycle", 201},
    {"GET", "/api/v1/care/sterilization/cycles", PERM_CARE_READ, 0, http_care_cycles_list,
     "sterilizer", "care", "Sterilizer cycles, latest first, of one sterilizer or all", NULL,
     "CareCycleList", 200},
    {"GET", "/api/v1/care/sterilization/cycles/{id}", PERM_CARE_READ, 0, http_care_cycles_get, NULL,
     "care", "One cycle with its load", NULL, "CareCycle", 200},
    {"POST", "/api/v1/care/sterilization/cycles/{id}/biological", PERM_CARE_RECORD,
     ROUTE_BODY | ROUTE_CONFLICT, http_care_cycles_biological, NULL, "care",
     "Read a cycle's pending biological indicator: negative releases a quarantined load, "
     "positive recalls the load",
     "CareBiologicalRead", "CareCycle", 200},
    {"GET", "/api/v1/care/sterilization/cycles/{id}/recall", PERM_PATIENTS_READ, 0,
     http_care_cycles_recall, NULL, "care",
     "Where each set of a cycle's load went: the procedures and their patients (audited)", NULL,
     "CareRecall", 200},
    {"POST", "/api/v1/care/documents", PERM_CARE_RECORD, ROUTE_BODY, http_care_docs_create, NULL,
     "care",
     "Create a procedure document (SOP) with its first version, a draft; the audience are the "
     "roles that must read it",
     "CareDocumentCreate", "CareDocument", 201},
    {"GET", "/api/v1/care/documents", PERM_CARE_READ, 0, http_care_docs_list, NULL, "care",
     "Procedure documents with the version in force, its review date and how many have not read "
     "it",
     NULL, "CareDocumentList", 200},
    {"GET", "/api/v1/care/documents/{code}", PERM_CARE_READ, 0, http_care_docs_get, NULL, "care",
     "A procedure document: its versions, the version in force, who acknowledged it and who has "
     "not",
     NULL, "CareDocument", 200},
    {"POST", "/api/v1/care/documents/{code}/versions", PERM_CARE_RECORD, ROUTE_BODY,
     http_care_docs_version, NULL, "care",
     "Write a new version of a document (a draft; one at a time)", "CareDocumentVersionCreate",
     "CareDocument", 201},
    {"POST", "/api/v1/care/documents/{code}/versions/{n}/approve", PERM_CARE_MANAGE,
     ROUTE_BODY | ROUTE_CONFLICT, http_care_docs_approve, NULL, "care",
     "Approve a draft version with its effective date (signed; not by its author); review due "
     "two years later",
     "CareDocumentApprove", "CareDocument", 200},
    {"POST", "/api/v1/care/documents/{code}/acknowledge", PERM_CARE_READ, ROUTE_BODY,
     http_care_docs_acknowledge, NULL, "care",
     "Acknowledge, signed, having read and understood the version in force", "CareSignature",
     "CareDocument", 201},
    {"POST", "/api/v1/care/training/items", PERM_CARE_MANAGE, ROUTE_BODY,
     http_care_training_items_create, NULL, "care",
     "Define a training item: a course, a device (its asset class) or a procedure (its "
     "document); new_staff puts it on the new-staff checklist",
     "CareTrainingItemCreate", "CareTrainingItem", 201},
    {"GET", "/api/v1/care/training/items", PERM_CARE_READ, 0, http_care_training_items_list, NULL,
     "care", "Training items by code", NULL, "CareTrainingItemList", 200},
    {"POST", "/api/v1/care/training/assignments", PERM_CARE_MANAGE, ROUTE_BODY,
     http_care_training_assign, NULL, "care",
     "Assign training items to a person with a due date, or the new-staff checklist; all or none",
     "CareTrainingAssign", "CareTrainingAssignmentList", 201},
    {"GET", "/api/v1/care/training/assignments", PERM_CARE_READ, 0, http_care_training_list,
     "user open", "care", "Training assignments, due date first, each saying whether overdue", NULL,
     "CareTrainingAssignmentList", 200},
    {"POST", "/api/v1/care/training/assignments/{id}/sign-off", PERM_CARE_MANAGE,
     ROUTE_BODY | ROUTE_CONFLICT, http_care_training_sign_off, NULL, "care",
     "Sign a training off as its trainer (signed; not the trainee)", "CareTrainingSignOff",
     "CareTrainingAssignment", 200},
    {"POST", "/api/v1/care/procedures/{id}/preparation", PERM_CARE_RECORD,
     ROUTE_BODY | ROUTE_CONFLICT, http_care_procedures_prepare, NULL, "care",
     "Record the preparation checklist of a scheduled procedure, every item of its modality "
     "answered (MRI safety screening, contrast allergy, renal function, pregnancy)",
     "CarePreparationSet", "CareProcedure", 200},
    {"POST", "/api/v1/care/procedures/{id}/start", PERM_CARE_RECORD, ROUTE_BODY | ROUTE_CONFLICT,
     http_care_procedures_start, NULL, "care",
     "Start a procedure: its checklist complete with nothing stopping it, its device in service",
     "CareStepNote", "CareProcedure", 200},
    {"POST", "/api/v1/care/procedures/{id}/complete", PERM_CARE_RECORD, ROUTE_BODY | ROUTE_CONFLICT,
     http_care_procedures_complete, NULL, "care",
     "Complete a procedure in progress (CT and radiography once their dose is recorded)",
     "CareStepNote", "CareProcedure", 200},
    {"POST", "/api/v1/care/procedures/{id}/cancel", PERM_CARE_RECORD, ROUTE_BODY | ROUTE_CONFLICT,
     http_care_procedures_cancel, NULL, "care", "Cancel a scheduled procedure with the reason",
     "CareCancel", "CareProcedure", 200},
    {"POST", "/api/v1/care/procedures/{id}/dose", PERM_CARE_RECORD, ROUTE_BODY,
     http_care_dose_record, NULL, "care",
     "Record the dose of a CT (CTDIvol, DLP) or radiograph (DAP), compared with the exam's "
     "diagnostic reference level",
     "CareDoseSet", "CareProcedure", 201},
    {"GET", "/api/v1/care/doses", PERM_PATIENTS_READ, 0, http_care_doses_list, "above", "care",
     "Doses recorded, latest first; ?above=true for those above their reference level not yet "
     "reviewed (audited)",
     NULL, "CareDoseList", 200},
    {"POST", "/api/v1/care/doses/{id}/review", PERM_CARE_MANAGE, ROUTE_BODY | ROUTE_CONFLICT,
     http_care_dose_review, NULL, "care",
     "Review a dose above its reference level (by its procedure's id) with a note", "CareNote",
     "CareDoseEntry", 200},
    {"GET", "/api/v1/care/drls", PERM_CARE_READ, 0, http_care_drls_list, NULL, "care",
     "Diagnostic reference levels of CT and radiography exams", NULL, "CareDrlList", 200},
    {"PUT", "/api/v1/care/drls/{exam}", PERM_CARE_MANAGE, ROUTE_BODY, http_care_drls_put, NULL,
     "care", "Set the site's reference level of an exam", "CareDrlSet", "CareDrl", 200},
    {"POST", "/api/v1/care/resources", PERM_CARE_MANAGE, ROUTE_BODY, http_care_resources_create,
     NULL, "care",
     "Create a resource appointments are kept on: a room, a phlebotomy chair, a device of the "
     "asset register",
     "CareResourceCreate", "CareResource", 201},
    {"GET", "/api/v1/care/resources", PERM_CARE_READ, 0, http_care_resources_list, NULL, "care",
     "Resources by code", NULL, "CareResourceList", 200},
    {"POST", "/api/v1/care/slots", PERM_CARE_MANAGE, ROUTE_BODY, http_care_slots_create, NULL,
     "care",
     "Make slots of a resource from a start to an end, each so many minutes, with the "
     "technician who works them; none may overlap",
     "CareSlotsCreate", "CareSlotList", 201},
    {"GET", "/api/v1/care/slots", PERM_CARE_READ, 0, http_care_slots_list, "resource date free",
     "care", "The slots of a resource on a day (UTC, default today); ?free=true for those open",
     NULL, "CareSlotList", 200},
    {"POST", "/api/v1/care/appointments", PERM_CARE_RECORD, ROUTE_BODY, http_care_appointments_book,
     NULL, "care", "Book a patient into a slot; a booked slot is refused", "CareAppointmentBook",
     "CareAppointment", 201},
    {"POST", "/api/v1/care/appointments/{id}/check-in", PERM_CARE_RECORD,
     ROUTE_BODY | ROUTE_CONFLICT, http_care_appointments_check_in, NULL, "care",
     "Check a patient in, from two hours before the slot until it ends", "CareEmpty",
     "CareAppointment", 200},
    {"POST", "/api/v1/care/appointments/{id}/no-show", PERM_CARE_RECORD,
     ROUTE_BODY | ROUTE_CONFLICT, http_care_appointments_no_show, NULL, "care",
     "Mark a booked appointment a no-show once its slot has started", "CareEmpty",
     "CareAppointment", 200},
    {"POST", "/api/v1/care/appointments/{id}/cancel", PERM_CARE_RECORD, ROUTE_BODY | ROUTE_CONFLICT,
     http_care_appointments_cancel, NULL, "care",
     "Cancel a booked appointment with the reason; its slot is free again", "CareCancel",
     "CareAppointment", 200},
    {"GET", "/api/v1/care/day", PERM_PATIENTS_READ, 0, http_care_day, "technician date", "care",
     "A technician's day (default: oneself, today): their slots with the appointments and "
     "patients (audited)",
     NULL, "CareDay", 200},
    {"GET", "/api/v1/metrics", PERM_METRICS_READ, 0, http_metrics, NULL, "operations",
     "The node's figures in the Prometheus text format (also at /metrics): requests by route and "
     "status and their latency, messages in and out, the outbox waiting, QC lockouts and alerts "
     "open",
     NULL, "Metrics", 200},
};

const size_t http_routes_len = sizeof(http_routes) / sizeof(http_routes[0]);
