/*
 * demo.c - demo data for `benchside demo`: one account per role, so a newcomer
 * can sign in as each and see what that role may do. Demo passwords exist only
 * here; `serve` never creates an account by itself.
 */
#include <stdio.h>

#include "app/app.h"
#include "auth/user.h"
#include "lab/catalog.h"

static const struct {
    const char *username, *display_name, *role, *password;
} demo_users[] = {
    {"admin", "Demo Administrator", "admin", "demo-admin-pass"},
    {"supervisor", "Demo Laboratory Supervisor", "supervisor", "demo-supervisor-pass"},
    {"tech", "Demo Medical Technologist", "technician", "demo-tech-pass"},
    {"biomed", "Demo Biomedical Technician", "biomed", "demo-biomed-pass"},
    {"clinician", "Demo Ordering Clinician", "clinician", "demo-clinician-pass"},
    {"analyzer", "Demo Interface Account", "interface", "demo-interface-pass"},
};

err_t app_demo_seed(db *d, bool *seeded, errinfo *ei)
{
    audit_ctx ctx = {NULL, "demo", "local"};
    user u;
    *seeded = false;
    err_t rc = user_get_by_name(d, demo_users[0].username, &u, ei);
    if (rc != ERR_NOT_FOUND)
        return rc;
    for (size_t i = 0; i < sizeof(demo_users) / sizeof(demo_users[0]); i++) {
        rc = user_create(d, &ctx, demo_users[i].username, demo_users[i].display_name,
                         demo_users[i].role, demo_users[i].password, NULL, ei);
        if (rc)
            return rc;
    }
    /* The demo catalog: 40-odd common tests with LOINC codes, and panels. */
    json_error_t je;
    json_t *doc = json_loadb(catalog_demo_json, catalog_demo_json_len, 0, &je);
    int tests = 0, panels = 0;
    if (!doc)
        return err_set(ei, ERR_INTERNAL, NULL, "demo catalog: line %d: %s", je.line, je.text);
    rc = catalog_import(d, &ctx, doc, &tests, &panels, ei);
    json_decref(doc);
    if (rc)
        return rc;
    *seeded = true;
    return ERR_OK;
}

void app_demo_print(const char *url)
{
    printf("\nbenchside demo (%s)\nSign in with one of these demo accounts:\n", url);
    for (size_t i = 0; i < sizeof(demo_users) / sizeof(demo_users[0]); i++)
        printf("  %-11s role %-11s password %s\n", demo_users[i].username, demo_users[i].role,
               demo_users[i].password);
    printf("\n");
}
