/*
 * perm.c - the role/permission matrix (see perm.h).
 */
#include "auth/perm.h"

#include <string.h>

static const char *const role_names[] = {
#define PERM_ROLE_NAME(id, name) name,
    PERM_ROLE_LIST(PERM_ROLE_NAME)
#undef PERM_ROLE_NAME
};

static const char *const perm_names[] = {
#define PERM_NAME(id, name) name,
    PERM_LIST(PERM_NAME)
#undef PERM_NAME
};

#define R(role)   (1u << (role))
#define ALL_ROLES ((1u << ROLE__COUNT) - 1)

/* Which roles hold each permission. PERM_NONE holds none. */
static const unsigned perm_roles[PERM__COUNT] = {
    [PERM_NONE] = 0,
    [PERM_PUBLIC] = ALL_ROLES,
    [PERM_SIGNED_IN] = ALL_ROLES,
    [PERM_USERS_MANAGE] = R(ROLE_ADMIN),
    [PERM_AUDIT_READ] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR),
    [PERM_AUDIT_VERIFY] = R(ROLE_ADMIN),
    /* Patient data: everyone who works with specimens; biomedical technicians
     * look after devices, not patients. Clinicians read only. */
    [PERM_PATIENTS_READ] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) |
                           R(ROLE_CLINICIAN) | R(ROLE_INTERFACE),
    [PERM_PATIENTS_WRITE] =
        R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) | R(ROLE_INTERFACE),
    [PERM_ORDERS_WRITE] =
        R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) | R(ROLE_INTERFACE),
    [PERM_CATALOG_READ] = ALL_ROLES,
    [PERM_CATALOG_WRITE] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR),
    [PERM_RESULTS_ENTER] =
        R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) | R(ROLE_INTERFACE),
    /* Releasing, calling critical values and correcting are acts of people. */
    [PERM_RESULTS_RELEASE] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN),
    [PERM_CHARGES_EXPORT] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR),
    /* The message journal holds patient data: the people who run the bench
     * read it to troubleshoot; supervisors configure and replay. */
    [PERM_INTERFACES_READ] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN),
    [PERM_INTERFACES_MANAGE] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR),
    /* Quality control: the bench runs and records it; supervisors set the
     * materials and rules and sign corrective actions. */
    [PERM_QC_READ] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) | R(ROLE_BIOMED),
    [PERM_QC_ENTER] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN),
    [PERM_QC_MANAGE] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR),
    /* Equipment: everyone on the bench reads the register and records daily
     * checks, temperatures and faults; biomedical technicians and supervisors
     * keep the register, the schedules and the templates. */
    [PERM_EQUIPMENT_READ] =
        R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) | R(ROLE_BIOMED),
    [PERM_EQUIPMENT_RECORD] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) |
                              R(ROLE_BIOMED) | R(ROLE_INTERFACE),
    [PERM_EQUIPMENT_MANAGE] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_BIOMED),
    /* Supplies: the bench receives, uses and counts; supervisors set items,
     * reorder points and verify new lots. */
    [PERM_STOCK_READ] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) | R(ROLE_BIOMED),
    [PERM_STOCK_RECORD] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN),
    [PERM_STOCK_MANAGE] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR),
    [PERM_SPECIMENS_HANDLE] =
        R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) | R(ROLE_INTERFACE),
    /* People and care: staff read their records (certifications, competency,
     * training, procedures, sterilization, schedules); the bench records
     * vital signs, cycles, checklists, doses and appointments; supervisors
     * assess, approve and assign. What names patients is read with
     * patients.read, as every other patient record. */
    [PERM_CARE_READ] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN) | R(ROLE_BIOMED),
    [PERM_CARE_RECORD] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_TECHNICIAN),
    [PERM_CARE_MANAGE] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR),
    /* The figures of /metrics: counts only, no patient data, but they tell
     * how busy the laboratory is, so not public. Those who run the site
     * (admin), those who run the bench (supervisor), and the machine
     * accounts (interface), so that a scraper signs in as a machine rather
     * than as a person. */
    [PERM_METRICS_READ] = R(ROLE_ADMIN) | R(ROLE_SUPERVISOR) | R(ROLE_INTERFACE),
};

perm_role perm_role_from_name(const char *name)
{
    for (int i = 0; name && i < ROLE__COUNT; i++)
        if (!strcmp(role_names[i], name))
            return (perm_role)i;
    return ROLE_NONE;
}

const char *perm_role_name(perm_role role)
{
    return role >= 0 && role < ROLE__COUNT ? role_names[role] : "none";
}

const char *perm_name(perm_id perm)
{
    return (unsigned)perm < PERM__COUNT ? perm_names[perm] : "none";
}

bool perm_role_has(perm_role role, perm_id perm)
{
    if (role < 0 || role >= ROLE__COUNT || (unsigned)perm >= PERM__COUNT)
        return false;
    return (perm_roles[perm] & R(role)) != 0;
}

const char *perm_role_names(void)
{
    return "admin, supervisor, technician, biomed, clinician, interface";
}
