/*
 * lookup.h - searches over the records an interoperable reader asks for:
 * patients, ordered items, specimens, results, reports (the results of one
 * order), and for reference the users and the asset register. The FHIR R4
 * API (src/http/h_fhir.c, mapped by src/proto/fhir.h) is built on them.
 *
 * Each search takes one query (the filters it knows; others are ignored),
 * answers one page of views in a stable order and the total that match, and
 * writes its audit event in the same transaction as the read: "<entity>.read"
 * when the query names one record by id, "<entity>.search" with the ids
 * returned otherwise (the detail says "via":"fhir"). Users and assets are no
 * patient data and are not audited, as in the REST API.
 *
 * The views are the JSON objects proto/fhir.h maps; times in them are ISO
 * 8601 UTC instants, absent values null.
 */
#ifndef BENCHSIDE_LAB_LOOKUP_H
#define BENCHSIDE_LAB_LOOKUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "lab/catalog.h"
#include "store/db.h"

#define LOOKUP_PAGE_MAX 100 /* views in one page */

typedef struct lookup_query {
    const char *id;         /* one record (a read) */
    const char *patient;    /* patient id */
    const char *code;       /* catalog test or panel code */
    const char *loinc;      /* LOINC code */
    const char *state;      /* benchside's state, per search below */
    const char *specimen;   /* specimen id */
    const char *identifier; /* MRN, accession, order id or placer number, username, asset tag */
    const char *type;       /* specimen type (any case), asset class */
    const char *family, *given, *name; /* prefixes, ASCII letters in any case */
    const char *gender;                /* female, male, other, unknown */
    const char *category;              /* observations: laboratory, vital-signs, survey */
    const char *vital;                 /* observations: the vital sign (fhir.h's param) */
    bool no_lab, no_vitals;            /* observations: leave out results, vital signs */
    int64_t from, to; /* the record's date in [from, to); INT64_MIN, INT64_MAX: open */
    bool descending;  /* newest first (searches by date) */
    int count;        /* page size 0..LOOKUP_PAGE_MAX; 0 only counts */
    int64_t offset;   /* views skipped */
} lookup_query;

/* A query with no filter, dates open, a page of 20 from the first. */
void lookup_query_init(lookup_query *q);

/* What to search. */
typedef enum {
    LOOKUP_PATIENTS,
    LOOKUP_REQUESTS,
    LOOKUP_SPECIMENS,
    LOOKUP_RESULTS,
    LOOKUP_REPORTS,
    LOOKUP_USERS,
    LOOKUP_ASSETS,
    LOOKUP_OBSERVATIONS,
} lookup_kind;

/*
 * Search kind. *items (a new array of views; may be NULL to skip the page)
 * and *total (may be NULL to skip the count). Storage errors only; a query
 * that matches nothing answers an empty page.
 *
 * LOOKUP_PATIENTS: id, identifier (MRN), family, given, name (family or
 *   given), gender, dates on the birth date. Order: family, given, id.
 *   View: patient_to_json's.
 * LOOKUP_REQUESTS: the ordered items (a test, or a panel, of one order; the
 *   id of an item is that of its first test row): id, patient, identifier
 *   (order id or placer number), code, loinc, state (open: a test still to
 *   do; done; cancelled), dates on the order time. View {"id","order_id",
 *   "patient_id","code","name","loinc","state","priority","clinician",
 *   "reasons","ordered_at","placer","placer_id","note","specimens"}.
 * LOOKUP_SPECIMENS: id, patient, identifier (accession), type, state
 *   (pending: not collected; held; gone: sent out or disposed; rejected),
 *   dates on the collection (registration while not collected). View:
 *   specimen_to_json's with "state" and "requests" (item ids).
 * LOOKUP_RESULTS: id, patient, code, loinc, state (review, released,
 *   corrected), specimen, dates on the collection (the result time when
 *   none). View: see fhir_observation.
 * LOOKUP_REPORTS: one per order with a result: id (the order's), patient,
 *   state (preliminary: nothing released; partial; final; corrected), dates
 *   on the first collection. View: see fhir_diagnostic_report.
 * LOOKUP_USERS: id, identifier (username), name (display name or username).
 * LOOKUP_ASSETS: id, identifier (tag), type (class), state (in-service, or
 *   inactive for out-of-service and retired). View: the register's.
 * LOOKUP_OBSERVATIONS: the results (as LOOKUP_RESULTS) and the vital signs
 *   of care_vitals together, in date order. A set of vital signs is one
 *   view per parameter it holds and one of its NEWS2 (see fhir_vital_sign
 *   for the params and the view), each with its "category" (vital-signs,
 *   survey; a result's view has none), its id "<set id>-<param>". Vital
 *   signs take id, patient, vital, category, state (released: they are
 *   final), dates on the time taken; a specimen or a catalog code leaves
 *   them out, as no_vitals does; no_lab leaves out the results. Audited as
 *   result.* (the results, or an empty page) and care.vitals.read /
 *   care.vitals.search (entity the patient) for the vital signs.
 */
err_t lookup_search(db *d, const audit_ctx *ctx, lookup_kind kind, const lookup_query *q,
                    json_t **items, int64_t *total, errinfo *ei);

/*
 * The active catalog test or panel an orderer means: system "test" (a
 * catalog code) or "loinc" (the smallest code with that LOINC code). Its
 * code into out. ERR_UNPROCESSABLE naming "code" when there is none.
 */
err_t lookup_orderable(db *d, const char *system, const char *code, char out[CATALOG_CODE_MAX + 1],
                       errinfo *ei);

#endif
