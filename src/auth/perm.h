/*
 * perm.h - roles and permissions, as tables of data.
 *
 * Every HTTP route and every CLI action that needs rights names one permission.
 * PERM_NONE (zero, what an unset field holds) grants nothing: a route that does
 * not declare its permission is refused to everyone. PERM_PUBLIC needs no
 * sign-in; PERM_SIGNED_IN needs only a valid session.
 */
#ifndef BENCHSIDE_AUTH_PERM_H
#define BENCHSIDE_AUTH_PERM_H

#include <stdbool.h>
#include <stddef.h>

#define PERM_ROLE_LIST(X)                                                                          \
    X(ROLE_ADMIN, "admin")                                                                         \
    X(ROLE_SUPERVISOR, "supervisor")                                                               \
    X(ROLE_TECHNICIAN, "technician")                                                               \
    X(ROLE_BIOMED, "biomed")                                                                       \
    X(ROLE_CLINICIAN, "clinician")                                                                 \
    X(ROLE_INTERFACE, "interface")

typedef enum {
    ROLE_NONE = -1,
#define PERM_ROLE_ENUM(id, name) id,
    PERM_ROLE_LIST(PERM_ROLE_ENUM)
#undef PERM_ROLE_ENUM
        ROLE__COUNT
} perm_role;

/* Permission code, its name (shown in GET /api/v1/session and OpenAPI). */
#define PERM_LIST(X)                                                                               \
    X(PERM_NONE, "none")                                                                           \
    X(PERM_PUBLIC, "public")                                                                       \
    X(PERM_SIGNED_IN, "signed_in")                                                                 \
    X(PERM_USERS_MANAGE, "users.manage")                                                           \
    X(PERM_AUDIT_READ, "audit.read")                                                               \
    X(PERM_AUDIT_VERIFY, "audit.verify")                                                           \
    X(PERM_PATIENTS_READ, "patients.read")                                                         \
    X(PERM_PATIENTS_WRITE, "patients.write")                                                       \
    X(PERM_ORDERS_WRITE, "orders.write")                                                           \
    X(PERM_CATALOG_READ, "catalog.read")                                                           \
    X(PERM_CATALOG_WRITE, "catalog.write")                                                         \
    X(PERM_SPECIMENS_HANDLE, "specimens.handle")                                                   \
    X(PERM_RESULTS_ENTER, "results.enter")                                                         \
    X(PERM_RESULTS_RELEASE, "results.release")                                                     \
    X(PERM_CHARGES_EXPORT, "charges.export")                                                       \
    X(PERM_INTERFACES_READ, "interfaces.read")                                                     \
    X(PERM_INTERFACES_MANAGE, "interfaces.manage")                                                 \
    X(PERM_QC_READ, "qc.read")                                                                     \
    X(PERM_QC_ENTER, "qc.enter")                                                                   \
    X(PERM_QC_MANAGE, "qc.manage")                                                                 \
    X(PERM_EQUIPMENT_READ, "equipment.read")                                                       \
    X(PERM_EQUIPMENT_RECORD, "equipment.record")                                                   \
    X(PERM_EQUIPMENT_MANAGE, "equipment.manage")                                                   \
    X(PERM_STOCK_READ, "stock.read")                                                               \
    X(PERM_STOCK_RECORD, "stock.record")                                                           \
    X(PERM_STOCK_MANAGE, "stock.manage")                                                           \
    X(PERM_CARE_READ, "care.read")                                                                 \
    X(PERM_CARE_RECORD, "care.record")                                                             \
    X(PERM_CARE_MANAGE, "care.manage")                                                             \
    X(PERM_METRICS_READ, "metrics.read")

typedef enum {
#define PERM_ENUM(id, name) id,
    PERM_LIST(PERM_ENUM)
#undef PERM_ENUM
        PERM__COUNT
} perm_id;

/* ROLE_NONE when name is no role. */
perm_role perm_role_from_name(const char *name);
const char *perm_role_name(perm_role role);
const char *perm_name(perm_id perm);
/* Whether a signed-in user of role may do what perm guards. */
bool perm_role_has(perm_role role, perm_id perm);
/* The list of role names, for messages: "admin, supervisor, ...". */
const char *perm_role_names(void);

#endif
