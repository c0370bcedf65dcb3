/*
 * patient.h - patients: medical record number, names, birth date, sex and other
 * identifiers.
 *
 * Every read of a patient record writes an audit event ("patient.read", or
 * "patient.search" naming the records returned) in the same transaction as the
 * read, and every write its own event. A new patient whose name and birth date
 * match an existing one is refused with the candidate (ERR_CONFLICT), unless the
 * caller confirms it is a different person.
 */
#ifndef BENCHSIDE_LAB_PATIENT_H
#define BENCHSIDE_LAB_PATIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

#define PATIENT_MRN_MAX  32
#define PATIENT_NAME_MAX 64

typedef struct patient {
    char id[ID_LEN + 1];
    char mrn[PATIENT_MRN_MAX + 1];
    char family[PATIENT_NAME_MAX + 1];
    char given[PATIENT_NAME_MAX + 1];
    char birth_date[11]; /* YYYY-MM-DD */
    char sex[8];         /* female, male, other, unknown */
    int64_t created_at, updated_at;
} patient;

/*
 * Create a patient from a request body {"mrn","family","given","birth_date",
 * "sex","identifiers"?,"confirm_new"?}. Errors name the field. ERR_CONFLICT
 * with field "mrn" when the MRN is taken; ERR_CONFLICT with field
 * "birth_date" and *candidate (a new reference, the matching patient) when the
 * same name and birth date exist and confirm_new is not true.
 */
err_t patient_create(db *d, const audit_ctx *ctx, const json_t *body, patient *out,
                     json_t **candidate, errinfo *ei);

/*
 * Register or update a patient from a feed (an EHR's ADT, an order's PID):
 * the body of patient_create, matched by MRN. A new MRN is created (the MRN
 * is the EHR's identity: no name-and-birth-date question); a known one has
 * its names, birth date and sex updated when they changed (audited as
 * patient.update). *created says which.
 */
err_t patient_sync(db *d, const audit_ctx *ctx, const json_t *body, patient *out, bool *created,
                   errinfo *ei);
/* Read one patient by id, audited as patient.read. ERR_NOT_FOUND when none. */
err_t patient_read(db *d, const audit_ctx *ctx, const char *id, patient *out, json_t **ids,
                   errinfo *ei);

/* The same without an audit event, for use inside another audited action. */
err_t patient_get(db *d, const char *id, patient *out, errinfo *ei);

/*
 * Search by any of mrn (exact), name ("family" or "family, given", prefix,
 * case-insensitive) and birth_date (YYYY-MM-DD). At least one is needed.
 * Newest first by id; after is the cursor (an id) or NULL. Audited as
 * patient.search. *items is a new JSON array; *next an id or "".
 */
err_t patient_search(db *d, const audit_ctx *ctx, const char *mrn, const char *name,
                     const char *birth_date, int limit, const char *after, json_t **items,
                     char next[ID_LEN + 1], errinfo *ei);

/* Age in whole days at time t (UTC microseconds); -1 when t is before birth. */
int64_t patient_age_days(const patient *p, int64_t t);

/* A patient as the API shows it; ids may be NULL. New reference. */
json_t *patient_to_json(const patient *p, const json_t *ids);

#endif
