/*
 * fhir.h - HL7 FHIR R4 mapping: benchside's JSON views of its records to FHIR
 * resources, and a FHIR ServiceRequest to the order benchside places.
 *
 * Pure functions: no database, no network, no clock. The views are the JSON
 * objects the domain gives (lab/lookup.h says their members); each mapping
 * returns a new resource (a new reference, NULL only when out of memory)
 * that validates against the official FHIR R4 JSON schema. Times in views
 * are ISO 8601 UTC instants; absent values are JSON null.
 *
 * Identifier systems and code systems benchside owns are URNs under
 * urn:benchside: (FHIR_SYS_*); everything else is the standard system
 * (LOINC, UCUM, HL7 terminology, ICD-10-CM).
 */
#ifndef BENCHSIDE_PROTO_FHIR_H
#define BENCHSIDE_PROTO_FHIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define FHIR_SYS_MRN       "urn:benchside:mrn"
#define FHIR_SYS_ACCESSION "urn:benchside:accession"
#define FHIR_SYS_ORDER     "urn:benchside:order"
#define FHIR_SYS_TEST      "urn:benchside:test"
#define FHIR_SYS_USER      "urn:benchside:user"
#define FHIR_SYS_ASSET     "urn:benchside:asset-tag"
#define FHIR_SYS_LOINC     "http://loinc.org"
#define FHIR_SYS_UCUM      "http://unitsofmeasure.org"
#define FHIR_SYS_ICD10CM   "http://hl7.org/fhir/sid/icd-10-cm"
/* Codes of the observations of a vital-signs set that have no LOINC code of
 * their own: acvpu (consciousness), oxygen (on supplemental oxygen), news2
 * (the NEWS2 total score). */
#define FHIR_SYS_OBSERVATION "urn:benchside:observation"
#define FHIR_SYS_ACVPU       "urn:benchside:acvpu"      /* A, C, V, P, U */
#define FHIR_SYS_NEWS2_RISK  "urn:benchside:news2-risk" /* low, low-medium, medium, high */

#define FHIR_CODE_MAX    64  /* a code in a token or a coding, bytes */
#define FHIR_ID_MAX      64  /* a resource id, bytes (the R4 id type) */
#define FHIR_REASONS_MAX 12  /* reasonCode entries of a ServiceRequest */
#define FHIR_TEXT_MAX    256 /* requester display, a note: bytes */

/* Whether s is an R4 id: 1 to 64 of letters, digits, '-' and '.'. */
bool fhir_id_valid(const char *s);

/* ------------------------------------------------------------ resources */

/* Patient from a patient view {"id","mrn","family","given","birth_date",
 * "sex","identifiers":[{"system","value"}],"updated_at"}. */
json_t *fhir_patient(const json_t *view);

/* Practitioner from a user view {"id","username","display_name","disabled"}. */
json_t *fhir_practitioner(const json_t *view);

/*
 * ServiceRequest from an ordered item (a test or a panel of one order):
 * {"id","order_id","patient_id","code","name","loinc","state":"open|done|
 * cancelled","priority","clinician","reasons":[ICD-10-CM],"ordered_at",
 * "placer","placer_id","note","specimens":[ids]}.
 */
json_t *fhir_service_request(const json_t *view);

/*
 * Specimen from {"id","accession","patient_id","specimen_type","container",
 * "status","parent_id","collected_at","received_at","rejection_reason",
 * "requests":[ServiceRequest ids]}. status is benchside's (pending,
 * collected, received, in-process, stored, sent-out, disposed, rejected).
 */
json_t *fhir_specimen(const json_t *view);

/* The specimen type (as the catalog writes it) of an HL7 table 0487 code
 * ("SER" is "serum"), or NULL for a code the mapping does not know. */
const char *fhir_specimen_type_name(const char *code);

/*
 * Observation (laboratory) from a result view {"id","patient_id",
 * "specimen_id","request_id","code","name","loinc","kind":"numeric|text|
 * coded","value","value_num","unit","ref_low","ref_high","ref_text","flag",
 * "status":"review|released|corrected","effective","issued","performer_id",
 * "performer","device_id"}.
 *
 * A view whose "category" is vital-signs or survey is one observation of a
 * set of vital signs instead, mapped by fhir_vital_sign().
 */
json_t *fhir_observation(const json_t *view);

/*
 * One Observation of a set of vital signs, from {"id","set_id","param",
 * "patient_id","effective","issued","performer_id","performer","device_id",
 * "device","respiration_rate","spo2","spo2_scale","oxygen","systolic_bp",
 * "diastolic_bp","pulse","acvpu","temperature","score","complete","band"}
 * (the whole set; null for what was not measured). param says which one:
 *
 *   resp    respiratory rate      LOINC 9279-1, /min        profile resprate
 *   spo2    oxygen saturation     LOINC 2708-6, 59408-5, %  profile oxygensat
 *   oxygen  on supplemental oxygen  local oxygen, boolean
 *   bp      blood pressure panel  LOINC 85354-9: systolic 8480-6, diastolic
 *           8462-4 in mm[Hg] (an absent one has dataAbsentReason)  profile bp
 *   pulse   heart rate            LOINC 8867-4, /min        profile heartrate
 *   acvpu   consciousness         local acvpu, FHIR_SYS_ACVPU concept
 *   temp    body temperature      LOINC 8310-5, Cel         profile bodytemp
 *   news2   NEWS2 total score     local news2, integer, category survey,
 *           the risk band as interpretation, derivedFrom the set's others
 *
 * The others have category vital-signs; all are final. performer is the
 * person who entered a set by hand, device the monitor that sent it (its
 * asset, or its name as display).
 */
json_t *fhir_vital_sign(const json_t *view);

/* The param (above) of a vital-sign code: a LOINC code when loinc, else a
 * code of FHIR_SYS_OBSERVATION; NULL when no vital sign has it (static). */
const char *fhir_vital_param(bool loinc, const char *code);

/*
 * DiagnosticReport (one per order with results) from {"id","patient_id",
 * "state":"preliminary|partial|final|corrected","effective","issued",
 * "results":[result ids],"requests":[ServiceRequest ids]}.
 */
json_t *fhir_diagnostic_report(const json_t *view);

/* Device from an asset of the register (equip/asset.h's JSON). */
json_t *fhir_device(const json_t *view);

/* The CapabilityStatement of this server; version is benchside's, now the
 * instant it is made (the caller's clock). */
json_t *fhir_capability(const char *version, const char *now);

/*
 * An OperationOutcome for an error: issue code from the error code (invalid,
 * required, login, forbidden, not-found, duplicate, code-invalid,
 * not-supported, too-costly, transient, exception), diagnostics the message,
 * expression the FHIR path or search parameter at fault (may be NULL or "").
 */
json_t *fhir_outcome(err_t code, const char *message, const char *expression);

/* ---------------------------------------------------------------- search */

/*
 * A searchset Bundle: entries (stolen) are {"fullUrl","resource","search"}
 * made by fhir_entry; total < 0 leaves total out; self and next are the
 * links (next NULL on the last page).
 */
json_t *fhir_searchset(json_t *entries, int64_t total, const char *self, const char *next);

/* One entry of a searchset: resource (stolen) at base/Type/id, mode "match"
 * or "include". */
json_t *fhir_entry(const char *base, json_t *resource, const char *mode);

/*
 * A date search value with its prefix (eq, ne is refused, lt, le, gt, ge;
 * none means eq): "ge2026-03-01", "2026", "lt2026-03-01T10:00Z". The value's
 * precision makes a range [start, end) in UTC microseconds (a date-time
 * without a zone is UTC); the condition narrows [*lo, *hi) (0 is open), so
 * that several values of one parameter combine with AND. ERR_INVALID with
 * ei->field = param when the value is not one.
 */
err_t fhir_date_narrow(const char *param, const char *value, int64_t *lo, int64_t *hi, errinfo *ei);

/*
 * A token search value "system|code", "|code" or "code": *system points into
 * value (NULL when none was given, "" for "|code"), code is copied out.
 * ERR_INVALID naming param when the code is empty or longer than
 * FHIR_CODE_MAX.
 */
err_t fhir_token(const char *param, const char *value, const char **system, size_t *system_len,
                 char code[FHIR_CODE_MAX + 1], errinfo *ei);

/* Whether type is a resource type this server serves; *include (may be
 * NULL) is its one _include value, or NULL when it has none. */
bool fhir_type_served(const char *type, const char **include);

/* Whether name is a search parameter of type; its kind ("token", "date",
 * "string", "reference") into kind. */
bool fhir_search_param(const char *type, const char *name, char kind[16]);

/* benchside's state for a FHIR status search value, per resource type
 * ("Observation": preliminary->review, final->released, corrected); NULL
 * when the status is FHIR's but benchside never gives it (no match), and
 * *known false when it is not a status of that resource at all. */
const char *fhir_status_state(const char *type, const char *status, bool *known);

/* ---------------------------------------------------------------- create */

/* The order a ServiceRequest asks for. */
typedef struct fhir_order {
    char patient_id[FHIR_ID_MAX + 1];
    char code_system[8]; /* "loinc", "test" (benchside's catalog) */
    char code[FHIR_CODE_MAX + 1];
    char priority[8]; /* routine, asap, stat */
    char clinician[FHIR_TEXT_MAX + 1];
    char reasons[FHIR_REASONS_MAX][FHIR_CODE_MAX + 1];
    int nreasons;
    char placer[FHIR_CODE_MAX + 1];    /* identifier[0].system, "" when none */
    char placer_id[FHIR_CODE_MAX + 1]; /* identifier[0].value */
    char note[FHIR_TEXT_MAX + 1];
} fhir_order;

/*
 * Read a ServiceRequest body: resourceType ServiceRequest, status active,
 * intent order (or original-order), subject Patient/{id}, code with a LOINC
 * or benchside test coding, priority (urgent is asap), requester with a
 * display or a reference, reasonCode with ICD-10-CM codings, identifier[0]
 * as the placer's order number, note[0].text. ERR_INVALID naming the FHIR
 * path ("subject.reference", "code.coding", "reasonCode[1]") otherwise.
 */
err_t fhir_order_parse(const json_t *body, fhir_order *out, errinfo *ei);

/* The FHIR path of a field benchside's order_create names ("tests[0]" is
 * "code", "reasons[2]" "reasonCode[2]", "patient_id" "subject"), into out. */
void fhir_order_field(const char *field, char *out, size_t n);

#endif
