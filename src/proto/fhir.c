/*
 * fhir.c - HL7 FHIR R4 mapping of benchside's views (see fhir.h).
 *
 * Every resource is built from its view alone, so the same record always
 * maps to the same resource, and the unit tests check the mapping on worked
 * examples without a database. Optional elements are left out rather than
 * written empty: FHIR forbids empty strings, arrays and objects.
 */
#include "proto/fhir.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "base/time.h"

#define SYS_V2_0203       "http://terminology.hl7.org/CodeSystem/v2-0203"
#define SYS_V2_0074       "http://terminology.hl7.org/CodeSystem/v2-0074"
#define SYS_V2_0487       "http://terminology.hl7.org/CodeSystem/v2-0487"
#define SYS_OBS_CATEGORY  "http://terminology.hl7.org/CodeSystem/observation-category"
#define SYS_INTERPRET     "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#define SYS_STATUS_REASON "http://terminology.hl7.org/CodeSystem/device-status-reason"
#define SYS_SNOMED        "http://snomed.info/sct"
#define SYS_ABSENT        "http://terminology.hl7.org/CodeSystem/data-absent-reason"
#define PROFILE_BASE      "http://hl7.org/fhir/StructureDefinition/"
#define US_PER_S          1000000LL
#define US_PER_DAY        (86400LL * US_PER_S)

/* ------------------------------------------------------------- helpers */

/* A non-empty string member of a view, or NULL. */
static const char *vs(const json_t *v, const char *key)
{
    const char *s = json_string_value(json_object_get(v, key));
    return s && *s ? s : NULL;
}

/* Set key to a string when s is non-empty (FHIR has no empty strings). */
static void put_str(json_t *o, const char *key, const char *s)
{
    if (s && *s)
        json_object_set_new(o, key, json_string(s));
}

/* Set key to value unless value is NULL or an empty array or object. */
static void put(json_t *o, const char *key, json_t *value)
{
    if (!value)
        return;
    if ((json_is_array(value) && !json_array_size(value)) ||
        (json_is_object(value) && !json_object_size(value))) {
        json_decref(value);
        return;
    }
    json_object_set_new(o, key, value);
}

static json_t *resource(const char *type, const char *id)
{
    json_t *r = json_object();
    put_str(r, "resourceType", type);
    put_str(r, "id", id);
    return r;
}

/* {"reference":"Type/id"}, or NULL when id is NULL or empty. */
static json_t *ref(const char *type, const char *id)
{
    char text[FHIR_ID_MAX + 40];
    if (!id || !*id)
        return NULL;
    snprintf(text, sizeof(text), "%s/%s", type, id);
    return json_pack("{s:s}", "reference", text);
}

/* A reference to type/id with display, or one with the display alone when
 * there is no id; NULL when there is neither. */
static json_t *ref_or_display(const char *type, const char *id, const char *display)
{
    json_t *r = ref(type, id);
    if (!r && display)
        r = json_object();
    if (r)
        put_str(r, "display", display);
    return r;
}

/* A list of references to type from an array of ids. */
static json_t *refs(const char *type, const json_t *ids)
{
    json_t *out = json_array(), *v;
    size_t i;
    json_array_foreach(ids, i, v)
    {
        json_t *r = ref(type, json_string_value(v));
        if (r)
            json_array_append_new(out, r);
    }
    return out;
}

static json_t *coding(const char *system, const char *code, const char *display)
{
    json_t *c = json_object();
    put_str(c, "system", system);
    put_str(c, "code", code);
    put_str(c, "display", display);
    return c;
}

/* A CodeableConcept of one coding. */
static json_t *concept(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[o]}", "coding", coding(system, code, display));
}

static json_t *concept_text(const char *text)
{
    return text && *text ? json_pack("{s:s}", "text", text) : NULL;
}

/* The code of a test or panel: LOINC first when it has one, then benchside's. */
static json_t *test_code(const json_t *v)
{
    json_t *c = json_object(), *list = json_array();
    const char *name = vs(v, "name");
    if (vs(v, "loinc"))
        json_array_append_new(list, coding(FHIR_SYS_LOINC, vs(v, "loinc"), name));
    if (vs(v, "code"))
        json_array_append_new(list, coding(FHIR_SYS_TEST, vs(v, "code"), name));
    put(c, "coding", list);
    put_str(c, "text", name);
    return c;
}

/* A quantity in UCUM whose unit for people may differ from its code (value
 * stolen; an integer stays an integer). No unit, no system. */
static json_t *ucum(json_t *value, const char *unit, const char *code)
{
    json_t *q = json_pack("{s:o}", "value", value);
    if (q && code && *code) {
        put_str(q, "unit", unit);
        put_str(q, "system", FHIR_SYS_UCUM);
        put_str(q, "code", code);
    }
    return q;
}

/* A UCUM quantity (the unit is UCUM throughout the catalog). */
static json_t *quantity(double value, const char *unit)
{
    return ucum(json_real(value), unit, unit);
}

static const char *map_word(const char *const (*table)[2], size_t n, const char *from)
{
    for (size_t i = 0; from && i < n; i++)
        if (!strcmp(table[i][0], from))
            return table[i][1];
    return NULL;
}

#define MAP(table, from) map_word((table), sizeof(table) / sizeof((table)[0]), (from))

bool fhir_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > FHIR_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* ----------------------------------------------------------- resources */

json_t *fhir_patient(const json_t *v)
{
    json_t *r = resource("Patient", vs(v, "id"));
    json_t *ids = json_array(), *x;
    size_t i;
    if (!r || !ids)
        goto fail;
    if (vs(v, "updated_at"))
        json_object_set_new(r, "meta", json_pack("{s:s}", "lastUpdated", vs(v, "updated_at")));
    json_array_append_new(ids, json_pack("{s:s,s:o,s:s,s:s}", "use", "usual", "type",
                                         concept(SYS_V2_0203, "MR", "Medical record number"),
                                         "system", FHIR_SYS_MRN, "value", vs(v, "mrn")));
    json_array_foreach(json_object_get(v, "identifiers"), i, x)
    {
        const char *sys = vs(x, "system"), *val = vs(x, "value");
        json_t *id = json_object();
        if (!val || !id) {
            json_decref(id);
            continue;
        }
        /* A system with spaces is no URI: it becomes the identifier's type. */
        if (sys && !strpbrk(sys, " \t\r\n"))
            put_str(id, "system", sys);
        else
            put(id, "type", concept_text(sys));
        put_str(id, "value", val);
        json_array_append_new(ids, id);
    }
    put(r, "identifier", ids);
    ids = NULL;
    json_t *name = json_pack("{s:s}", "use", "official");
    put_str(name, "family", vs(v, "family"));
    if (vs(v, "given"))
        json_object_set_new(name, "given", json_pack("[s]", vs(v, "given")));
    put(r, "name", json_pack("[o]", name));
    put_str(r, "gender", vs(v, "sex"));
    put_str(r, "birthDate", vs(v, "birth_date"));
    return r;
fail:
    json_decref(ids);
    json_decref(r);
    return NULL;
}

json_t *fhir_practitioner(const json_t *v)
{
    json_t *r = resource("Practitioner", vs(v, "id"));
    if (!r)
        return NULL;
    put(r, "identifier",
        json_pack("[{s:s,s:s}]", "system", FHIR_SYS_USER, "value", vs(v, "username")));
    json_object_set_new(r, "active", json_boolean(!json_is_true(json_object_get(v, "disabled"))));
    const char *name = vs(v, "display_name") ? vs(v, "display_name") : vs(v, "username");
    put(r, "name", json_pack("[{s:s}]", "text", name));
    return r;
}

static const char *const request_status[][2] = {
    {"open", "active"},
    {"done", "completed"},
    {"cancelled", "revoked"},
};

json_t *fhir_service_request(const json_t *v)
{
    json_t *r = resource("ServiceRequest", vs(v, "id")), *list, *x;
    size_t i;
    if (!r)
        return NULL;
    if (vs(v, "placer") && vs(v, "placer_id"))
        put(r, "identifier",
            json_pack("[{s:o,s:s,s:s}]", "type", concept(SYS_V2_0203, "PLAC", "Placer Identifier"),
                      "system", vs(v, "placer"), "value", vs(v, "placer_id")));
    put(r, "requisition",
        json_pack("{s:s,s:s}", "system", FHIR_SYS_ORDER, "value", vs(v, "order_id")));
    const char *st = MAP(request_status, vs(v, "state"));
    put_str(r, "status", st ? st : "unknown");
    put_str(r, "intent", "order");
    put(r, "category", json_pack("[o]", concept(SYS_SNOMED, "108252007", "Laboratory procedure")));
    put_str(r, "priority", vs(v, "priority"));
    put(r, "code", test_code(v));
    put(r, "subject", ref("Patient", vs(v, "patient_id")));
    put_str(r, "authoredOn", vs(v, "ordered_at"));
    if (vs(v, "clinician"))
        put(r, "requester", json_pack("{s:s}", "display", vs(v, "clinician")));
    list = json_array();
    json_array_foreach(json_object_get(v, "reasons"), i, x)
    {
        if (json_string_value(x) && *json_string_value(x))
            json_array_append_new(list, concept(FHIR_SYS_ICD10CM, json_string_value(x), NULL));
    }
    put(r, "reasonCode", list);
    put(r, "specimen", refs("Specimen", json_object_get(v, "specimens")));
    if (vs(v, "note"))
        put(r, "note", json_pack("[{s:s}]", "text", vs(v, "note")));
    return r;
}

/* HL7 table 0487 codes of the specimen types the catalog uses. */
static const char *const specimen_types[][2] = {
    {"serum", "SER"},         {"plasma", "PLAS"}, {"whole blood", "BLD"},
    {"blood", "BLD"},         {"urine", "UR"},    {"cerebrospinal fluid", "CSF"},
    {"csf", "CSF"},           {"stool", "STL"},   {"arterial blood", "BLDA"},
    {"venous blood", "BLDV"}, {"saliva", "SAL"},  {"sputum", "SPT"},
};

static const char *const specimen_status[][2] = {
    {"held", "available"},
    {"gone", "unavailable"},
    {"rejected", "unsatisfactory"},
};

/* The 0487 code of a specimen type, matched without regard to case. */
static const char *specimen_code(const char *type)
{
    for (size_t i = 0; type && i < sizeof(specimen_types) / sizeof(specimen_types[0]); i++)
        if (!strcasecmp(specimen_types[i][0], type))
            return specimen_types[i][1];
    return NULL;
}

const char *fhir_specimen_type_name(const char *code)
{
    for (size_t i = 0; code && i < sizeof(specimen_types) / sizeof(specimen_types[0]); i++)
        if (!strcmp(specimen_types[i][1], code))
            return specimen_types[i][0];
    return NULL;
}

json_t *fhir_specimen(const json_t *v)
{
    json_t *r = resource("Specimen", vs(v, "id"));
    if (!r)
        return NULL;
    json_t *acc = json_pack("{s:s,s:s}", "system", FHIR_SYS_ACCESSION, "value", vs(v, "accession"));
    put(r, "identifier", json_pack("[O]", acc));
    put(r, "accessionIdentifier", acc);
    put_str(r, "status", MAP(specimen_status, vs(v, "state")));
    const char *type = vs(v, "specimen_type"), *code = specimen_code(type);
    json_t *t = concept_text(type);
    if (t && code)
        json_object_set_new(t, "coding", json_pack("[o]", coding(SYS_V2_0487, code, NULL)));
    put(r, "type", t);
    put(r, "subject", ref("Patient", vs(v, "patient_id")));
    put_str(r, "receivedTime", vs(v, "received_at"));
    json_t *parent = ref("Specimen", vs(v, "parent_id"));
    if (parent)
        put(r, "parent", json_pack("[o]", parent));
    put(r, "request", refs("ServiceRequest", json_object_get(v, "requests")));
    if (vs(v, "collected_at"))
        put(r, "collection", json_pack("{s:s}", "collectedDateTime", vs(v, "collected_at")));
    if (vs(v, "container"))
        put(r, "container", json_pack("[{s:o}]", "type", concept_text(vs(v, "container"))));
    if (vs(v, "rejection_reason")) {
        char text[128];
        snprintf(text, sizeof(text), "rejected: %s", vs(v, "rejection_reason"));
        put(r, "note", json_pack("[{s:s}]", "text", text));
    }
    return r;
}

static const char *const observation_status[][2] = {
    {"review", "preliminary"},
    {"released", "final"},
    {"corrected", "corrected"},
};

/* HL7 v2 table 0078 flags, which FHIR R4 carries in v3 ObservationInterpretation. */
static const char *const interpretations[][2] = {
    {"L", "Low"},      {"H", "High"},   {"LL", "Critical low"}, {"HH", "Critical high"},
    {"A", "Abnormal"}, {"N", "Normal"},
};

/* What every Observation says of its patient, time and performer. */
static void put_subject_and_times(json_t *r, const json_t *v)
{
    put(r, "subject", ref("Patient", vs(v, "patient_id")));
    put_str(r, "effectiveDateTime", vs(v, "effective"));
    put_str(r, "issued", vs(v, "issued"));
    json_t *perf = ref_or_display("Practitioner", vs(v, "performer_id"), vs(v, "performer"));
    if (perf)
        put(r, "performer", json_pack("[o]", perf));
}

json_t *fhir_observation(const json_t *v)
{
    const char *category = vs(v, "category");
    if (category && strcmp(category, "laboratory"))
        return fhir_vital_sign(v);
    json_t *r = resource("Observation", vs(v, "id"));
    if (!r)
        return NULL;
    json_t *based = ref("ServiceRequest", vs(v, "request_id"));
    if (based)
        put(r, "basedOn", json_pack("[o]", based));
    const char *st = MAP(observation_status, vs(v, "status"));
    put_str(r, "status", st ? st : "unknown");
    put(r, "category", json_pack("[o]", concept(SYS_OBS_CATEGORY, "laboratory", "Laboratory")));
    put(r, "code", test_code(v));
    put_subject_and_times(r, v);
    const char *kind = vs(v, "kind"), *unit = vs(v, "unit");
    json_t *num = json_object_get(v, "value_num");
    bool numeric = kind && !strcmp(kind, "numeric") && json_is_number(num);
    if (numeric)
        put(r, "valueQuantity", quantity(json_number_value(num), unit));
    else if (kind && !strcmp(kind, "coded"))
        put(r, "valueCodeableConcept", concept_text(vs(v, "value")));
    else
        put_str(r, "valueString", vs(v, "value"));
    const char *flag = vs(v, "flag");
    json_t *low = json_object_get(v, "ref_low"), *high = json_object_get(v, "ref_high");
    bool ranged = json_is_number(low) || json_is_number(high);
    if (!flag && numeric && ranged)
        flag = "N";
    if (flag && MAP(interpretations, flag))
        put(r, "interpretation",
            json_pack("[o]", concept(SYS_INTERPRET, flag, MAP(interpretations, flag))));
    put(r, "specimen", ref("Specimen", vs(v, "specimen_id")));
    put(r, "device", ref("Device", vs(v, "device_id")));
    json_t *range = json_object();
    if (json_is_number(low))
        put(range, "low", quantity(json_number_value(low), unit));
    if (json_is_number(high))
        put(range, "high", quantity(json_number_value(high), unit));
    put_str(range, "text", vs(v, "ref_text"));
    if (json_object_size(range))
        put(r, "referenceRange", json_pack("[o]", range));
    else
        json_decref(range);
    return r;
}

/* ------------------------------------------------------- vital signs */

/* The observations of a set of vital signs (fhir.h lists them). */
static const struct vital {
    const char *param;  /* the view's "param", the end of the id */
    const char *member; /* the view member that holds its value */
    const char *loinc, *display;
    const char *loinc2, *display2; /* a second LOINC coding, more specific */
    const char *local;             /* the code in FHIR_SYS_OBSERVATION when no LOINC */
    const char *unit, *ucum;       /* a quantity's unit for people and in UCUM */
    const char *profile;           /* the R4 vital-signs profile it meets */
} vital_table[] = {
    {"resp", "respiration_rate", "9279-1", "Respiratory rate", NULL, NULL, NULL, "breaths/minute",
     "/min", "resprate"},
    {"spo2", "spo2", "2708-6", "Oxygen saturation in Arterial blood", "59408-5",
     "Oxygen saturation in Arterial blood by Pulse oximetry", NULL, "%", "%", "oxygensat"},
    {"oxygen", "oxygen", NULL, "On supplemental oxygen", NULL, NULL, "oxygen", NULL, NULL, NULL},
    {"bp", "systolic_bp", "85354-9", "Blood pressure panel with all children optional", NULL, NULL,
     NULL, "mmHg", "mm[Hg]", "bp"},
    {"pulse", "pulse", "8867-4", "Heart rate", NULL, NULL, NULL, "beats/minute", "/min",
     "heartrate"},
    {"acvpu", "acvpu", NULL, "Level of consciousness (ACVPU)", NULL, NULL, "acvpu", NULL, NULL,
     NULL},
    {"temp", "temperature", "8310-5", "Body temperature", NULL, NULL, NULL, "C", "Cel", "bodytemp"},
    {"news2", "score", NULL, "NEWS2 total score", NULL, NULL, "news2", NULL, NULL, NULL},
};

#define NVITALS (sizeof(vital_table) / sizeof(vital_table[0]))

static const char *const acvpu_names[][2] = {
    {"A", "Alert"},
    {"C", "New confusion"},
    {"V", "Responds to voice"},
    {"P", "Responds to pain"},
    {"U", "Unresponsive"},
};

static const char *const news2_risks[][2] = {
    {"low", "Low clinical risk"},
    {"low-medium", "Low-medium clinical risk"},
    {"medium", "Medium clinical risk"},
    {"high", "High clinical risk"},
};

const char *fhir_vital_param(bool loinc, const char *code)
{
    for (size_t i = 0; code && i < NVITALS; i++) {
        const struct vital *x = &vital_table[i];
        if (loinc ? (x->loinc && !strcmp(x->loinc, code)) || (x->loinc2 && !strcmp(x->loinc2, code))
                  : x->local && !strcmp(x->local, code))
            return x->param;
    }
    return NULL;
}

/* A component of the blood pressure panel: its value, or why there is none. */
static json_t *bp_component(const char *loinc, const char *display, const json_t *value)
{
    json_t *c = json_pack("{s:o}", "code", concept(FHIR_SYS_LOINC, loinc, display));
    if (!c)
        return NULL;
    if (json_is_number(value))
        put(c, "valueQuantity", ucum(json_deep_copy(value), "mmHg", "mm[Hg]"));
    else
        put(c, "dataAbsentReason", concept(SYS_ABSENT, "unknown", "Unknown"));
    return c;
}

/* The set's observations NEWS2 scored, for the score's derivedFrom. */
static json_t *news2_sources(const json_t *v)
{
    json_t *list = json_array();
    const char *set = vs(v, "set_id");
    for (size_t i = 0; list && set && i < NVITALS; i++) {
        const struct vital *x = &vital_table[i];
        json_t *value = json_object_get(v, x->member);
        char id[FHIR_ID_MAX + 1];
        if (!strcmp(x->param, "news2") || !value || json_is_null(value))
            continue;
        snprintf(id, sizeof(id), "%s-%s", set, x->param);
        json_array_append_new(list, ref("Observation", id));
    }
    return list;
}

/* The value of one vital-sign observation (x) of the set v into r. */
static void vital_value(json_t *r, const struct vital *x, const json_t *v)
{
    json_t *value = json_object_get(v, x->member);
    if (!strcmp(x->param, "bp")) {
        put(r, "component",
            json_pack("[o,o]", bp_component("8480-6", "Systolic blood pressure", value),
                      bp_component("8462-4", "Diastolic blood pressure",
                                   json_object_get(v, "diastolic_bp"))));
    } else if (!strcmp(x->param, "oxygen")) {
        json_object_set_new(r, "valueBoolean", json_boolean(json_integer_value(value) != 0));
    } else if (!strcmp(x->param, "acvpu")) {
        const char *letter = json_string_value(value), *name = MAP(acvpu_names, letter);
        json_t *c = concept(FHIR_SYS_ACVPU, letter, name);
        put_str(c, "text", name);
        put(r, "valueCodeableConcept", c);
    } else if (!strcmp(x->param, "news2")) {
        const char *band = vs(v, "band");
        put(r, "valueInteger", json_integer(json_integer_value(value)));
        if (band) {
            json_t *c = concept(FHIR_SYS_NEWS2_RISK, band, MAP(news2_risks, band));
            put_str(c, "text", MAP(news2_risks, band));
            put(r, "interpretation", json_pack("[o]", c));
        }
        /* A monitor measures what it measures: the score is then a floor. */
        if (json_is_false(json_object_get(v, "complete")))
            put(r, "note",
                json_pack("[{s:s}]", "text",
                          "Not every parameter was measured: the score is a lower "
                          "bound"));
        put(r, "derivedFrom", news2_sources(v));
    } else if (json_is_number(value)) {
        put(r, "valueQuantity", ucum(json_deep_copy(value), x->unit, x->ucum));
    }
    if (!strcmp(x->param, "spo2") && json_integer_value(json_object_get(v, "spo2_scale")) == 2)
        put(r, "note",
            json_pack("[{s:s}]", "text",
                      "Scored on NEWS2 SpO2 scale 2 (hypercapnic respiratory failure, "
                      "target 88-92%)"));
}

json_t *fhir_vital_sign(const json_t *v)
{
    const struct vital *x = NULL;
    const char *param = vs(v, "param");
    for (size_t i = 0; param && i < NVITALS && !x; i++)
        if (!strcmp(vital_table[i].param, param))
            x = &vital_table[i];
    json_t *r = resource("Observation", vs(v, "id"));
    if (!r || !x)
        return r;
    if (x->profile) {
        char url[96];
        snprintf(url, sizeof(url), PROFILE_BASE "%s", x->profile);
        put(r, "meta", json_pack("{s:[s]}", "profile", url));
    }
    put_str(r, "status", "final");
    bool score = !strcmp(x->param, "news2");
    put(r, "category",
        json_pack("[o]", score ? concept(SYS_OBS_CATEGORY, "survey", "Survey")
                               : concept(SYS_OBS_CATEGORY, "vital-signs", "Vital Signs")));
    json_t *code = json_object(), *codings = json_array();
    if (x->loinc)
        json_array_append_new(codings, coding(FHIR_SYS_LOINC, x->loinc, x->display));
    if (x->loinc2)
        json_array_append_new(codings, coding(FHIR_SYS_LOINC, x->loinc2, x->display2));
    if (x->local)
        json_array_append_new(codings, coding(FHIR_SYS_OBSERVATION, x->local, x->display));
    put(code, "coding", codings);
    put_str(code, "text", x->display);
    put(r, "code", code);
    put_subject_and_times(r, v);
    put(r, "device", ref_or_display("Device", vs(v, "device_id"), vs(v, "device")));
    vital_value(r, x, v);
    return r;
}

json_t *fhir_diagnostic_report(const json_t *v)
{
    json_t *r = resource("DiagnosticReport", vs(v, "id"));
    if (!r)
        return NULL;
    put(r, "identifier", json_pack("[{s:s,s:s}]", "system", FHIR_SYS_ORDER, "value", vs(v, "id")));
    put(r, "basedOn", refs("ServiceRequest", json_object_get(v, "requests")));
    /* benchside's states are FHIR's words for them. */
    put_str(r, "status", vs(v, "state") ? vs(v, "state") : "unknown");
    put(r, "category", json_pack("[o]", concept(SYS_V2_0074, "LAB", "Laboratory")));
    put(r, "code", concept(FHIR_SYS_LOINC, "11502-2", "Laboratory report"));
    put(r, "subject", ref("Patient", vs(v, "patient_id")));
    put_str(r, "effectiveDateTime", vs(v, "effective"));
    put_str(r, "issued", vs(v, "issued"));
    put(r, "result", refs("Observation", json_object_get(v, "results")));
    return r;
}

json_t *fhir_device(const json_t *v)
{
    json_t *r = resource("Device", vs(v, "id"));
    if (!r)
        return NULL;
    put(r, "identifier", json_pack("[{s:s,s:s}]", "system", FHIR_SYS_ASSET, "value", vs(v, "tag")));
    const char *st = vs(v, "status");
    bool active = st && !strcmp(st, "in-service");
    put_str(r, "status", st ? (active ? "active" : "inactive") : "unknown");
    if (st && !active) {
        json_t *reason = !strcmp(st, "out-of-service")
                             ? concept(SYS_STATUS_REASON, "offline", "Offline")
                             : json_object();
        put_str(reason, "text", vs(v, "status_reason") ? vs(v, "status_reason") : st);
        put(r, "statusReason", json_pack("[o]", reason));
    }
    put_str(r, "manufacturer", vs(v, "manufacturer"));
    put_str(r, "serialNumber", vs(v, "serial"));
    if (vs(v, "model"))
        put(r, "deviceName",
            json_pack("[{s:s,s:s}]", "name", vs(v, "model"), "type", "model-name"));
    put_str(r, "modelNumber", vs(v, "model"));
    put(r, "type", concept_text(vs(v, "class")));
    if (vs(v, "owner"))
        put(r, "owner", json_pack("{s:s}", "display", vs(v, "owner")));
    if (vs(v, "location"))
        put(r, "location", json_pack("{s:s}", "display", vs(v, "location")));
    return r;
}

/* ---------------------------------------------------- capability, search */

/* The search parameters each resource type answers ("name:type ..."). */
static const struct {
    const char *type, *params, *include;
    bool create;
} capability[] = {
    {"Patient",
     "_id:token identifier:token name:string family:string given:string "
     "birthdate:date gender:token",
     NULL, false},
    {"Practitioner", "_id:token identifier:token name:string", NULL, false},
    {"ServiceRequest",
     "_id:token patient:reference subject:reference status:token code:token "
     "authored:date requisition:token",
     NULL, true},
    {"Specimen",
     "_id:token identifier:token patient:reference subject:reference type:token "
     "collected:date status:token",
     NULL, false},
    {"Observation",
     "_id:token patient:reference subject:reference code:token date:date "
     "category:token status:token specimen:reference",
     "Observation:specimen", false},
    {"DiagnosticReport",
     "_id:token patient:reference subject:reference status:token "
     "category:token code:token date:date",
     "DiagnosticReport:result", false},
    {"Device", "_id:token identifier:token type:token status:token", NULL, false},
};

/* The params string of a type, or NULL when the type is not served. */
static const char *params_of(const char *type, const char **include)
{
    for (size_t i = 0; i < sizeof(capability) / sizeof(capability[0]); i++)
        if (!strcmp(capability[i].type, type)) {
            if (include)
                *include = capability[i].include;
            return capability[i].params;
        }
    return NULL;
}

/* The R4 vital-signs profiles of the table, once each. */
static json_t *vital_profiles(void)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < NVITALS; i++) {
        char url[96];
        if (!vital_table[i].profile)
            continue;
        snprintf(url, sizeof(url), PROFILE_BASE "%s", vital_table[i].profile);
        json_array_append_new(list, json_string(url));
    }
    return list;
}

json_t *fhir_capability(const char *version, const char *now)
{
    json_t *res = json_array();
    for (size_t i = 0; res && i < sizeof(capability) / sizeof(capability[0]); i++) {
        json_t *sp = json_array(),
               *inter = json_pack("[{s:s},{s:s}]", "code", "read", "code", "search-type");
        const char *p = capability[i].params;
        while (*p) {
            const char *sp_end = strchr(p, ' '), *colon = strchr(p, ':');
            size_t n = sp_end ? (size_t)(sp_end - p) : strlen(p);
            char name[32], type[16];
            snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
            snprintf(type, sizeof(type), "%.*s", (int)(n - (size_t)(colon - p) - 1), colon + 1);
            json_array_append_new(sp, json_pack("{s:s,s:s}", "name", name, "type", type));
            p += n;
            while (*p == ' ')
                p++;
        }
        if (capability[i].create)
            json_array_append_new(inter, json_pack("{s:s}", "code", "create"));
        json_t *one = json_pack("{s:s,s:o,s:s,s:o}", "type", capability[i].type, "interaction",
                                inter, "versioning", "no-version", "searchParam", sp);
        if (one && capability[i].include)
            json_object_set_new(one, "searchInclude", json_pack("[s]", capability[i].include));
        /* The vital-sign observations declare the R4 profiles they meet. */
        if (one && !strcmp(capability[i].type, "Observation"))
            put(one, "supportedProfile", vital_profiles());
        json_array_append_new(res, one);
    }
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s},s:s,s:[s,s],s:[{s:s,s:{s:s},s:o}]}",
        "resourceType", "CapabilityStatement", "status", "active", "date", now, "publisher",
        "benchside", "kind", "instance", "software", "name", "benchside", "version", version,
        "implementation", "description", "benchside laboratory information system", "fhirVersion",
        "4.0.1", "format", "application/fhir+json", "json", "rest", "mode", "server", "security",
        "description",
        "Bearer tokens from POST /api/v1/session; each resource needs the permission of the "
        "REST API that shows the same records",
        "resource", res);
}

struct outcome_code {
    err_t code;
    const char *issue;
};

static const struct outcome_code outcome_codes[] = {
    {ERR_INVALID, "invalid"},         {ERR_BAD_JSON, "structure"},
    {ERR_UNKNOWN_FIELD, "structure"}, {ERR_MISSING_FIELD, "required"},
    {ERR_UNAUTHORIZED, "login"},      {ERR_BAD_CREDENTIALS, "login"},
    {ERR_FORBIDDEN, "forbidden"},     {ERR_LOCKED, "security"},
    {ERR_DISABLED, "security"},       {ERR_NOT_FOUND, "not-found"},
    {ERR_METHOD, "not-supported"},    {ERR_MEDIA_TYPE, "not-supported"},
    {ERR_CONFLICT, "duplicate"},      {ERR_TOO_LARGE, "too-costly"},
    {ERR_DB_BUSY, "transient"},       {ERR_DB_UNAVAILABLE, "transient"},
    {ERR_TIMEOUT, "timeout"},         {ERR_UNPROCESSABLE, "business-rule"},
    {ERR_RATE_LIMITED, "throttled"},
};

json_t *fhir_outcome(err_t code, const char *message, const char *expression)
{
    const char *issue = "exception";
    for (size_t i = 0; i < sizeof(outcome_codes) / sizeof(outcome_codes[0]); i++)
        if (outcome_codes[i].code == code)
            issue = outcome_codes[i].issue;
    json_t *is = json_pack("{s:s,s:s,s:s}", "severity", "error", "code", issue, "diagnostics",
                           message && *message ? message : err_message(code));
    if (is && expression && *expression)
        json_object_set_new(is, "expression", json_pack("[s]", expression));
    return json_pack("{s:s,s:[o]}", "resourceType", "OperationOutcome", "issue", is);
}

json_t *fhir_searchset(json_t *entries, int64_t total, const char *self, const char *next)
{
    json_t *b = json_pack("{s:s,s:s}", "resourceType", "Bundle", "type", "searchset");
    json_t *links = json_array();
    if (!b || !links) {
        json_decref(b);
        json_decref(links);
        json_decref(entries);
        return NULL;
    }
    if (total >= 0)
        json_object_set_new(b, "total", json_integer(total));
    if (self)
        json_array_append_new(links, json_pack("{s:s,s:s}", "relation", "self", "url", self));
    if (next)
        json_array_append_new(links, json_pack("{s:s,s:s}", "relation", "next", "url", next));
    put(b, "link", links);
    put(b, "entry", entries);
    return b;
}

json_t *fhir_entry(const char *base, json_t *resource_, const char *mode)
{
    char url[512];
    const char *type = vs(resource_, "resourceType"), *id = vs(resource_, "id");
    if (!type || !id) {
        json_decref(resource_);
        return NULL;
    }
    snprintf(url, sizeof(url), "%s/%s/%s", base, type, id);
    return json_pack("{s:s,s:o,s:{s:s}}", "fullUrl", url, "resource", resource_, "search", "mode",
                     mode);
}

/* n digits of s as a number, or -1 when they are not all digits. */
static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The range [start, end) a date search value stands for. */
static err_t date_range(const char *s, int64_t *start, int64_t *end)
{
    size_t n = strlen(s);
    int y = n >= 4 ? digits(s, 4) : -1, m = 1;
    if (y < 1)
        return ERR_INVALID;
    if (n == 4) {
        *start = time_days_from_civil(y, 1, 1) * US_PER_DAY;
        *end = time_days_from_civil(y + 1, 1, 1) * US_PER_DAY;
        return ERR_OK;
    }
    if (n >= 7 && s[4] == '-')
        m = digits(s + 5, 2);
    if (n < 7 || s[4] != '-' || m < 1 || m > 12)
        return ERR_INVALID;
    if (n == 7) {
        *start = time_days_from_civil(y, m, 1) * US_PER_DAY;
        *end = time_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * US_PER_DAY;
        return ERR_OK;
    }
    char day[11];
    snprintf(day, sizeof(day), "%.10s", s);
    if (n < 10 || !time_date_valid(day))
        return ERR_INVALID;
    if (n == 10) {
        if (time_parse_iso(s, n, start, NULL))
            return ERR_INVALID;
        *end = *start + US_PER_DAY;
        return ERR_OK;
    }
    /* A date-time: its precision is that of its time part (hh:mm, :ss, .fff). */
    if (s[10] != 'T')
        return ERR_INVALID;
    size_t t = 11;
    while (t < n && s[t] != 'Z' && s[t] != '+' && s[t] != '-')
        t++;
    size_t tlen = t - 11;
    int64_t unit = tlen == 5 ? 60 * US_PER_S : tlen == 8 ? US_PER_S : 1;
    char text[64];
    /* Without a zone the value is read as UTC. */
    int len = snprintf(text, sizeof(text), "%s%s", s, t == n ? "Z" : "");
    if (len < 0 || (size_t)len >= sizeof(text) || time_parse_iso(text, (size_t)len, start, NULL))
        return ERR_INVALID;
    *end = *start + unit;
    return ERR_OK;
}

err_t fhir_date_narrow(const char *param, const char *value, int64_t *lo, int64_t *hi, errinfo *ei)
{
    static const char *const prefixes[] = {"eq", "lt", "le", "gt", "ge"};
    char pre[3] = "eq";
    const char *s = value;
    int64_t start = 0, end = 0;
    if (strlen(value) >= 2 && value[0] >= 'a' && value[0] <= 'z' && value[1] >= 'a' &&
        value[1] <= 'z') {
        snprintf(pre, sizeof(pre), "%.2s", value);
        s = value + 2;
        bool ok = false;
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
            ok = ok || !strcmp(pre, prefixes[i]);
        if (!ok)
            return err_set(ei, ERR_INVALID, param,
                           "%s: the prefix '%s' is not supported (eq, lt, le, gt, ge are)", param,
                           pre);
    }
    if (strlen(s) > 40 || date_range(s, &start, &end))
        return err_set(ei, ERR_INVALID, param,
                       "%s: '%.40s' is not a date (YYYY, YYYY-MM, YYYY-MM-DD or a date-time)",
                       param, s);
    if (!strcmp(pre, "eq") || !strcmp(pre, "ge")) {
        if (start > *lo)
            *lo = start;
    }
    if (!strcmp(pre, "eq") || !strcmp(pre, "le")) {
        if (end < *hi)
            *hi = end;
    }
    if (!strcmp(pre, "lt") && start < *hi)
        *hi = start;
    if (!strcmp(pre, "gt") && end > *lo)
        *lo = end;
    return ERR_OK;
}

err_t fhir_token(const char *param, const char *value, const char **system, size_t *system_len,
                 char code[FHIR_CODE_MAX + 1], errinfo *ei)
{
    const char *bar = strchr(value, '|');
    const char *c = bar ? bar + 1 : value;
    *system = bar ? value : NULL;
    *system_len = bar ? (size_t)(bar - value) : 0;
    code[0] = '\0';
    if (!*c || strlen(c) > FHIR_CODE_MAX || strchr(c, '|'))
        return err_set(ei, ERR_INVALID, param, "%s: '%.80s' is not a token (system|code or code)",
                       param, value);
    snprintf(code, FHIR_CODE_MAX + 1, "%s", c);
    return ERR_OK;
}

static const struct {
    const char *type, *status, *state;
} status_states[] = {
    {"Observation", "preliminary", "review"},
    {"Observation", "final", "released"},
    {"Observation", "corrected", "corrected"},
    {"Observation", "registered", NULL},
    {"Observation", "amended", NULL},
    {"Observation", "cancelled", NULL},
    {"Observation", "entered-in-error", NULL},
    {"Observation", "unknown", NULL},
    {"DiagnosticReport", "preliminary", "preliminary"},
    {"DiagnosticReport", "partial", "partial"},
    {"DiagnosticReport", "final", "final"},
    {"DiagnosticReport", "corrected", "corrected"},
    {"DiagnosticReport", "registered", NULL},
    {"DiagnosticReport", "amended", NULL},
    {"DiagnosticReport", "appended", NULL},
    {"DiagnosticReport", "cancelled", NULL},
    {"DiagnosticReport", "entered-in-error", NULL},
    {"DiagnosticReport", "unknown", NULL},
    {"ServiceRequest", "active", "open"},
    {"ServiceRequest", "completed", "done"},
    {"ServiceRequest", "revoked", "cancelled"},
    {"ServiceRequest", "draft", NULL},
    {"ServiceRequest", "on-hold", NULL},
    {"ServiceRequest", "entered-in-error", NULL},
    {"ServiceRequest", "unknown", NULL},
    {"Specimen", "available", "held"},
    {"Specimen", "unavailable", "gone"},
    {"Specimen", "unsatisfactory", "rejected"},
    {"Specimen", "entered-in-error", NULL},
    {"Device", "active", "in-service"},
    {"Device", "inactive", "inactive"},
    {"Device", "entered-in-error", NULL},
    {"Device", "unknown", NULL},
};

const char *fhir_status_state(const char *type, const char *status, bool *known)
{
    *known = false;
    for (size_t i = 0; i < sizeof(status_states) / sizeof(status_states[0]); i++)
        if (!strcmp(status_states[i].type, type) && !strcmp(status_states[i].status, status)) {
            *known = true;
            return status_states[i].state;
        }
    return NULL;
}

/* Whether name is a search parameter of type (sets *ptype to its kind). */
bool fhir_search_param(const char *type, const char *name, char ptype[16])
{
    const char *p = params_of(type, NULL);
    size_t n = strlen(name);
    while (p && *p) {
        const char *colon = strchr(p, ':'), *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if ((size_t)(colon - p) == n && !strncmp(p, name, n)) {
            snprintf(ptype, 16, "%.*s", (int)(len - n - 1), colon + 1);
            return true;
        }
        p += len;
        while (*p == ' ')
            p++;
    }
    return false;
}

bool fhir_type_served(const char *type, const char **include)
{
    return params_of(type, include) != NULL;
}

/* -------------------------------------------------------------- create */

static const char *const priorities[][2] = {
    {"routine", "routine"},
    {"urgent", "asap"},
    {"asap", "asap"},
    {"stat", "stat"},
};

/* A string member that must be there: ERR_INVALID naming path when it is not. */
static err_t need_str(const json_t *o, const char *key, const char *path, size_t max,
                      const char **out, errinfo *ei)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v)
        return err_set(ei, ERR_INVALID, path, "%s is required", path);
    if (!json_is_string(v) || !*json_string_value(v) || !str_is_text(json_string_value(v)))
        return err_set(ei, ERR_INVALID, path, "%s must be a non-empty string", path);
    if (strlen(json_string_value(v)) > max)
        return err_set(ei, ERR_INVALID, path, "%s is longer than %zu bytes", path, max);
    *out = json_string_value(v);
    return ERR_OK;
}

/* An optional member of a JSON type: ERR_INVALID naming path when it has another. */
static err_t opt_type(const json_t *o, const char *key, json_type type, const char *path,
                      json_t **out, errinfo *ei)
{
    *out = json_object_get(o, key);
    if (*out && json_typeof(*out) != type)
        return err_set(ei, ERR_INVALID, path, "%s must be a JSON %s", path,
                       type == JSON_ARRAY    ? "array"
                       : type == JSON_OBJECT ? "object"
                                             : "string");
    return ERR_OK;
}

/* The code of the first coding of concept in system (NULL when none). */
static err_t concept_code(const json_t *cc, const char *system, const char *path, const char **code,
                          errinfo *ei)
{
    json_t *codings, *c;
    size_t i;
    char at[96];
    *code = NULL;
    err_t rc = opt_type(cc, "coding", JSON_ARRAY, path, &codings, ei);
    json_array_foreach(codings, i, c)
    {
        const char *sys = json_string_value(json_object_get(c, "system"));
        if (rc || !sys || strcmp(sys, system))
            continue;
        snprintf(at, sizeof(at), "%.40s.coding[%zu].code", path, i);
        rc = need_str(c, "code", at, FHIR_CODE_MAX, code, ei);
        break;
    }
    return rc;
}

static err_t parse_reference(const json_t *body, fhir_order *o, errinfo *ei)
{
    json_t *subject;
    const char *r;
    err_t rc = opt_type(body, "subject", JSON_OBJECT, "subject", &subject, ei);
    if (!rc && !subject)
        rc = err_set(ei, ERR_INVALID, "subject", "subject is required (a Patient reference)");
    if (!rc)
        rc = need_str(subject, "reference", "subject.reference", 256, &r, ei);
    if (rc)
        return rc;
    const char *p = strstr(r, "Patient/");
    /* "Patient/{id}", absolute or not; never a history version. */
    if (!p || (p != r && p[-1] != '/') || !fhir_id_valid(p + 8))
        return err_set(ei, ERR_INVALID, "subject.reference",
                       "subject.reference must be Patient/{id}, not '%.80s'", r);
    snprintf(o->patient_id, sizeof(o->patient_id), "%s", p + 8);
    return ERR_OK;
}

static err_t parse_code(const json_t *body, fhir_order *o, errinfo *ei)
{
    json_t *code;
    const char *c = NULL;
    err_t rc = opt_type(body, "code", JSON_OBJECT, "code", &code, ei);
    if (!rc && !code)
        rc = err_set(ei, ERR_INVALID, "code", "code is required (the test or panel to do)");
    if (!rc)
        rc = concept_code(code, FHIR_SYS_TEST, "code", &c, ei);
    if (!rc && c)
        snprintf(o->code_system, sizeof(o->code_system), "test");
    if (!rc && !c) {
        rc = concept_code(code, FHIR_SYS_LOINC, "code", &c, ei);
        snprintf(o->code_system, sizeof(o->code_system), "loinc");
    }
    if (!rc && !c)
        rc = err_set(ei, ERR_UNPROCESSABLE, "code",
                     "code needs a coding in %s (LOINC) or %s (the test catalog)", FHIR_SYS_LOINC,
                     FHIR_SYS_TEST);
    if (!rc)
        snprintf(o->code, sizeof(o->code), "%s", c);
    return rc;
}

static err_t parse_reasons(const json_t *body, fhir_order *o, errinfo *ei)
{
    json_t *list, *cc;
    size_t i;
    err_t rc = opt_type(body, "reasonCode", JSON_ARRAY, "reasonCode", &list, ei);
    if (!rc && json_array_size(list) == 0)
        rc = err_set(ei, ERR_INVALID, "reasonCode",
                     "reasonCode is required: at least one ICD-10-CM code (%s)", FHIR_SYS_ICD10CM);
    if (!rc && json_array_size(list) > FHIR_REASONS_MAX)
        rc = err_set(ei, ERR_INVALID, "reasonCode", "reasonCode holds at most %d entries",
                     FHIR_REASONS_MAX);
    json_array_foreach(list, i, cc)
    {
        char at[40];
        const char *code = NULL;
        if (rc)
            break;
        snprintf(at, sizeof(at), "reasonCode[%zu]", i);
        if (!json_is_object(cc))
            rc = err_set(ei, ERR_INVALID, at, "%s must be a CodeableConcept", at);
        if (!rc)
            rc = concept_code(cc, FHIR_SYS_ICD10CM, at, &code, ei);
        if (!rc && !code)
            rc = err_set(ei, ERR_UNPROCESSABLE, at, "%s needs an ICD-10-CM coding (%s)", at,
                         FHIR_SYS_ICD10CM);
        if (!rc)
            snprintf(o->reasons[o->nreasons++], FHIR_CODE_MAX + 1, "%s", code);
    }
    return rc;
}

static err_t parse_requester(const json_t *body, fhir_order *o, errinfo *ei)
{
    json_t *req;
    const char *who = NULL;
    err_t rc = opt_type(body, "requester", JSON_OBJECT, "requester", &req, ei);
    if (!rc && !req)
        rc = err_set(ei, ERR_INVALID, "requester", "requester is required (who orders)");
    if (!rc && json_object_get(req, "display"))
        rc = need_str(req, "display", "requester.display", FHIR_TEXT_MAX, &who, ei);
    else if (!rc)
        rc = need_str(req, "reference", "requester.reference", FHIR_TEXT_MAX, &who, ei);
    if (!rc)
        snprintf(o->clinician, sizeof(o->clinician), "%s", who);
    return rc;
}

static err_t parse_optional(const json_t *body, fhir_order *o, errinfo *ei)
{
    json_t *ids, *notes;
    const char *pri = NULL, *s = NULL;
    err_t rc = ERR_OK;
    snprintf(o->priority, sizeof(o->priority), "routine");
    if (json_object_get(body, "priority")) {
        rc = need_str(body, "priority", "priority", 16, &pri, ei);
        if (!rc && !MAP(priorities, pri))
            rc = err_set(ei, ERR_INVALID, "priority",
                         "priority must be routine, urgent, asap or stat");
        if (!rc)
            snprintf(o->priority, sizeof(o->priority), "%s", MAP(priorities, pri));
    }
    if (!rc)
        rc = opt_type(body, "identifier", JSON_ARRAY, "identifier", &ids, ei);
    if (!rc && json_array_size(ids)) {
        json_t *id0 = json_array_get(ids, 0);
        rc = need_str(id0, "system", "identifier[0].system", FHIR_CODE_MAX, &s, ei);
        if (!rc)
            snprintf(o->placer, sizeof(o->placer), "%s", s);
        if (!rc)
            rc = need_str(id0, "value", "identifier[0].value", FHIR_CODE_MAX, &s, ei);
        if (!rc)
            snprintf(o->placer_id, sizeof(o->placer_id), "%s", s);
    }
    if (!rc)
        rc = opt_type(body, "note", JSON_ARRAY, "note", &notes, ei);
    if (!rc && json_array_size(notes)) {
        rc = need_str(json_array_get(notes, 0), "text", "note[0].text", FHIR_TEXT_MAX, &s, ei);
        if (!rc)
            snprintf(o->note, sizeof(o->note), "%s", s);
    }
    return rc;
}

err_t fhir_order_parse(const json_t *body, fhir_order *o, errinfo *ei)
{
    const char *s = NULL;
    memset(o, 0, sizeof(*o));
    err_t rc = need_str(body, "resourceType", "resourceType", 64, &s, ei);
    if (!rc && strcmp(s, "ServiceRequest"))
        rc = err_set(ei, ERR_INVALID, "resourceType", "resourceType must be ServiceRequest");
    if (!rc)
        rc = need_str(body, "status", "status", 32, &s, ei);
    if (!rc && strcmp(s, "active"))
        rc = err_set(ei, ERR_UNPROCESSABLE, "status",
                     "status must be active: only orders to carry out are taken");
    if (!rc)
        rc = need_str(body, "intent", "intent", 32, &s, ei);
    if (!rc && strcmp(s, "order") && strcmp(s, "original-order"))
        rc = err_set(ei, ERR_UNPROCESSABLE, "intent", "intent must be order or original-order");
    if (!rc)
        rc = parse_reference(body, o, ei);
    if (!rc)
        rc = parse_code(body, o, ei);
    if (!rc)
        rc = parse_requester(body, o, ei);
    if (!rc)
        rc = parse_reasons(body, o, ei);
    if (!rc)
        rc = parse_optional(body, o, ei);
    return rc;
}

void fhir_order_field(const char *field, char *out, size_t n)
{
    static const char *const fields[][2] = {
        {"patient_id", "subject"},   {"priority", "priority"},      {"clinician", "requester"},
        {"placer_id", "identifier"}, {"placer", "identifier"},      {"reasons", "reasonCode"},
        {"instructions", "note"},    {"instructions.note", "note"},
    };
    if (!strncmp(field, "tests", 5)) {
        snprintf(out, n, "code");
        return;
    }
    if (!strncmp(field, "reasons[", 8)) {
        snprintf(out, n, "reasonCode%s", field + 7);
        return;
    }
    const char *f = MAP(fields, field);
    snprintf(out, n, "%s", f ? f : field);
}
