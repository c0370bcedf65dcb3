/*
 * test_fhir.c - the FHIR R4 mapping (src/proto/fhir.c) on worked examples,
 * with no database: date search values and their ranges (a year, a month, a
 * day, a minute; each prefix; two values together), tokens, status search
 * values, each resource from its view (a high potassium with its range and
 * interpretation, a rejected specimen, a device out of service, a patient
 * whose identifier system is no URI), the ServiceRequest an EHR posts read
 * into an order and every refusal naming its FHIR path, the observations
 * of a set of vital signs (a monitor's set with its blood pressure panel and
 * a NEWS2 that is a lower bound; a set by hand on oxygen, confused, scale 2,
 * without its diastolic), and the
 * OperationOutcome of each error. Expected instants are written out as Unix
 * seconds computed apart from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/fhir.h"

#define S(x) ((int64_t)(x)*1000000LL)

/* Unix seconds of the instants the examples use (from Python's datetime). */
#define T_2026_01_01    1767225600LL
#define T_2027_01_01    1798761600LL
#define T_2026_02_01    1769904000LL
#define T_2026_03_01    1772323200LL
#define T_2026_02_28_10 1772272800LL /* 2026-02-28T10:00:00Z */

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad JSON in the test: %s", je.text);
    return v;
}

/* The compact JSON of v at path ("a.b.0.c"), for comparisons. */
static const char *at(json_t *v, const char *path)
{
    static char out[2048];
    char key[64];
    const char *p = path;
    while (v && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        v = json_is_array(v) ? json_array_get(v, (size_t)strtol(key, NULL, 10))
                             : json_object_get(v, key);
        p += n;
        if (*p == '.')
            p++;
    }
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) : NULL;
    snprintf(out, sizeof(out), "%s", text ? text : "(absent)");
    free(text);
    return out;
}

/* ------------------------------------------------------------------ dates */

static void narrow(const char *value, int64_t *lo, int64_t *hi)
{
    errinfo ei = {0};
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    assert_int_equal(fhir_date_narrow("date", value, lo, hi, &ei), ERR_OK);
}

static void test_date_ranges(void **state)
{
    int64_t lo, hi;
    (void)state;
    narrow("2026", &lo, &hi); /* eq a year: the whole year */
    assert_true(lo == S(T_2026_01_01) && hi == S(T_2027_01_01));
    narrow("eq2026-02", &lo, &hi); /* February */
    assert_true(lo == S(T_2026_02_01) && hi == S(T_2026_03_01));
    narrow("ge2026-03-01", &lo, &hi);
    assert_true(lo == S(T_2026_03_01) && hi == INT64_MAX);
    narrow("lt2026-03", &lo, &hi); /* before March began */
    assert_true(lo == INT64_MIN && hi == S(T_2026_03_01));
    narrow("gt2026-02", &lo, &hi); /* after February ended */
    assert_true(lo == S(T_2026_03_01) && hi == INT64_MAX);
    narrow("le2026-02-28T10:00Z", &lo, &hi); /* to the end of that minute */
    assert_true(lo == INT64_MIN && hi == S(T_2026_02_28_10 + 60));
    narrow("2026-02-28T10:00:00", &lo, &hi); /* seconds, no zone: UTC, one second */
    assert_true(lo == S(T_2026_02_28_10) && hi == S(T_2026_02_28_10 + 1));
    narrow("2026-02-28T11:00:00+01:00", &lo, &hi);
    assert_true(lo == S(T_2026_02_28_10));

    /* two values of one parameter: both hold */
    errinfo ei = {0};
    lo = INT64_MIN;
    hi = INT64_MAX;
    assert_int_equal(fhir_date_narrow("date", "ge2026-02", &lo, &hi, &ei), ERR_OK);
    assert_int_equal(fhir_date_narrow("date", "lt2026-03", &lo, &hi, &ei), ERR_OK);
    assert_true(lo == S(T_2026_02_01) && hi == S(T_2026_03_01));
    /* a narrower bound wins; a wider one changes nothing */
    assert_int_equal(fhir_date_narrow("date", "ge2026", &lo, &hi, &ei), ERR_OK);
    assert_true(lo == S(T_2026_02_01));

    static const char *const bad[] = {"2026-13", "2026-02-30",  "ne2026", "sa2026",      "20",
                                      "2026-2",  "2026-02-01X", "abcd",   "2026-02-01T", "ge"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errinfo e = {0};
        lo = INT64_MIN;
        hi = INT64_MAX;
        assert_int_equal(fhir_date_narrow("birthdate", bad[i], &lo, &hi, &e), ERR_INVALID);
        assert_string_equal(e.field, "birthdate");
        assert_true(lo == INT64_MIN && hi == INT64_MAX);
    }
}

static void test_tokens_and_states(void **state)
{
    const char *sys;
    size_t n;
    char code[FHIR_CODE_MAX + 1];
    errinfo ei = {0};
    bool known;
    (void)state;
    assert_int_equal(fhir_token("code", "http://loinc.org|2823-3", &sys, &n, code, &ei), ERR_OK);
    assert_int_equal((int)n, 16);
    assert_memory_equal(sys, "http://loinc.org", 16);
    assert_string_equal(code, "2823-3");
    assert_int_equal(fhir_token("code", "|GLU", &sys, &n, code, &ei), ERR_OK);
    assert_true(sys && n == 0 && !strcmp(code, "GLU"));
    assert_int_equal(fhir_token("code", "GLU", &sys, &n, code, &ei), ERR_OK);
    assert_null(sys);
    assert_int_equal(fhir_token("code", "http://loinc.org|", &sys, &n, code, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "code");
    assert_int_equal(fhir_token("code", "a|b|c", &sys, &n, code, &ei), ERR_INVALID);

    assert_string_equal(fhir_status_state("Observation", "final", &known), "released");
    assert_true(known);
    assert_string_equal(fhir_status_state("Observation", "preliminary", &known), "review");
    assert_null(fhir_status_state("Observation", "amended", &known)); /* never given */
    assert_true(known);
    assert_null(fhir_status_state("Observation", "active", &known)); /* no such status */
    assert_false(known);
    assert_string_equal(fhir_status_state("ServiceRequest", "revoked", &known), "cancelled");
    assert_string_equal(fhir_status_state("Specimen", "unsatisfactory", &known), "rejected");
    assert_string_equal(fhir_status_state("Device", "inactive", &known), "inactive");

    char kind[16];
    assert_true(fhir_search_param("Observation", "date", kind));
    assert_string_equal(kind, "date");
    assert_true(fhir_search_param("Patient", "birthdate", kind));
    assert_false(fhir_search_param("Patient", "date", kind));
    assert_false(fhir_search_param("Medication", "code", kind));
    assert_true(fhir_id_valid("01M7ABCDEF.x-1"));
    assert_false(fhir_id_valid("a_b"));
    assert_false(fhir_id_valid(""));
}

/* ------------------------------------------------------------- resources */

static void test_observation_of_a_high_potassium(void **state)
{
    (void)state;
    json_t *view = parse(
        "{\"id\":\"R1\",\"patient_id\":\"P1\",\"specimen_id\":\"S1\",\"request_id\":\"Q1\","
        "\"code\":\"K\",\"name\":\"Potassium\",\"loinc\":\"2823-3\",\"kind\":\"numeric\","
        "\"value\":\"5.9\",\"value_num\":5.9,\"unit\":\"mmol/L\",\"ref_low\":3.5,"
        "\"ref_high\":5.1,\"ref_text\":null,\"flag\":\"H\",\"status\":\"released\","
        "\"effective\":\"2026-02-28T10:00:00.000000Z\",\"issued\":\"2026-02-28T11:00:00.000000Z\","
        "\"performer_id\":\"U1\",\"performer\":\"tech\",\"device_id\":\"D1\"}");
    json_t *o = fhir_observation(view);
    assert_string_equal(at(o, "status"), "\"final\"");
    assert_string_equal(at(o, "code"),
                        "{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"2823-3\","
                        "\"display\":\"Potassium\"},{\"system\":\"urn:benchside:test\","
                        "\"code\":\"K\",\"display\":\"Potassium\"}],\"text\":\"Potassium\"}");
    assert_string_equal(at(o, "valueQuantity"),
                        "{\"value\":5.9,\"unit\":\"mmol/L\",\"system\":"
                        "\"http://unitsofmeasure.org\",\"code\":\"mmol/L\"}");
    assert_string_equal(at(o, "interpretation.0.coding.0.code"), "\"H\"");
    assert_string_equal(at(o, "referenceRange.0.low.value"), "3.5");
    assert_string_equal(at(o, "referenceRange.0.high.value"), "5.1");
    assert_string_equal(at(o, "referenceRange.0.text"), "(absent)");
    assert_string_equal(at(o, "subject.reference"), "\"Patient/P1\"");
    assert_string_equal(at(o, "specimen.reference"), "\"Specimen/S1\"");
    assert_string_equal(at(o, "device.reference"), "\"Device/D1\"");
    assert_string_equal(at(o, "basedOn.0.reference"), "\"ServiceRequest/Q1\"");
    assert_string_equal(at(o, "performer.0"),
                        "{\"reference\":\"Practitioner/U1\",\"display\":\"tech\"}");
    assert_string_equal(at(o, "effectiveDateTime"), "\"2026-02-28T10:00:00.000000Z\"");
    assert_string_equal(at(o, "category.0.coding.0.code"), "\"laboratory\"");
    json_decref(o);

    /* in range: N; in review: preliminary; corrected stays corrected */
    json_object_set_new(view, "flag", json_null());
    json_object_set_new(view, "status", json_string("review"));
    o = fhir_observation(view);
    assert_string_equal(at(o, "interpretation.0.coding.0.code"), "\"N\"");
    assert_string_equal(at(o, "status"), "\"preliminary\"");
    json_decref(o);
    /* a coded result is a concept; a text one a string; no range, no interpretation */
    json_object_set_new(view, "kind", json_string("coded"));
    json_object_set_new(view, "value", json_string("trace"));
    json_object_set_new(view, "value_num", json_null());
    json_object_set_new(view, "ref_low", json_null());
    json_object_set_new(view, "ref_high", json_null());
    json_object_set_new(view, "ref_text", json_string("negative"));
    json_object_set_new(view, "performer_id", json_null());
    o = fhir_observation(view);
    assert_string_equal(at(o, "valueCodeableConcept"), "{\"text\":\"trace\"}");
    assert_string_equal(at(o, "valueQuantity"), "(absent)");
    assert_string_equal(at(o, "interpretation"), "(absent)");
    assert_string_equal(at(o, "referenceRange"), "[{\"text\":\"negative\"}]");
    assert_string_equal(at(o, "performer"), "[{\"display\":\"tech\"}]");
    json_decref(o);
    json_decref(view);
}
/* One observation (param) of the set view. */
static json_t *vital(json_t *view, const char *param)
{
    char id[64];
    snprintf(id, sizeof(id), "%s-%s", json_string_value(json_object_get(view, "set_id")), param);
    json_object_set_new(view, "id", json_string(id));
    json_object_set_new(view, "param", json_string(param));
    return fhir_observation(view);
}

static void test_vital_signs_of_a_monitor_set(void **state)
{
    (void)state;
    /* A monitor's set: SpO2 91, pulse 124, RR 24, BP 98/61, 38.6 C; no
     * consciousness or oxygen; NEWS2 10 or more. */
    json_t *view = parse(
        "{\"set_id\":\"V1\",\"category\":\"vital-signs\",\"patient_id\":\"P1\","
        "\"effective\":\"2026-11-21T10:29:55.000000Z\",\"issued\":\"2026-11-21T10:30:01.000000Z\","
        "\"performer_id\":null,\"performer\":null,\"device_id\":\"D9\",\"device\":\"MON-4\","
        "\"respiration_rate\":24,\"spo2\":91,\"spo2_scale\":1,\"oxygen\":null,"
        "\"systolic_bp\":98,\"diastolic_bp\":61,\"pulse\":124,\"acvpu\":null,"
        "\"temperature\":38.6,\"score\":10,\"complete\":false,\"band\":\"high\"}");
    json_t *o = vital(view, "resp");
    assert_string_equal(at(o, "id"), "\"V1-resp\"");
    assert_string_equal(at(o, "meta.profile"),
                        "[\"http://hl7.org/fhir/StructureDefinition/resprate\"]");
    assert_string_equal(at(o, "status"), "\"final\"");
    assert_string_equal(at(o, "category"),
                        "[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                        "observation-category\",\"code\":\"vital-signs\",\"display\":"
                        "\"Vital Signs\"}]}]");
    assert_string_equal(at(o, "code"),
                        "{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"9279-1\","
                        "\"display\":\"Respiratory rate\"}],\"text\":\"Respiratory rate\"}");
    assert_string_equal(at(o, "valueQuantity"),
                        "{\"value\":24,\"unit\":\"breaths/minute\",\"system\":"
                        "\"http://unitsofmeasure.org\",\"code\":\"/min\"}");
    assert_string_equal(at(o, "subject.reference"), "\"Patient/P1\"");
    assert_string_equal(at(o, "effectiveDateTime"), "\"2026-11-21T10:29:55.000000Z\"");
    assert_string_equal(at(o, "issued"), "\"2026-11-21T10:30:01.000000Z\"");
    assert_string_equal(at(o, "device"), "{\"reference\":\"Device/D9\",\"display\":\"MON-4\"}");
    assert_string_equal(at(o, "performer"), "(absent)");
    json_decref(o);
    /* SpO2: both LOINC codes, in %; no note on scale 1 */
    o = vital(view, "spo2");
    assert_string_equal(at(o, "code.coding.0.code"), "\"2708-6\"");
    assert_string_equal(at(o, "code.coding.1.code"), "\"59408-5\"");
    assert_string_equal(at(o, "valueQuantity.code"), "\"%\"");
    assert_string_equal(at(o, "valueQuantity.value"), "91");
    assert_string_equal(at(o, "meta.profile.0"),
                        "\"http://hl7.org/fhir/StructureDefinition/oxygensat\"");
    assert_string_equal(at(o, "note"), "(absent)");
    json_decref(o);
    /* the blood pressure panel: no value of its own, both components */
    o = vital(view, "bp");
    assert_string_equal(at(o, "code.coding.0.code"), "\"85354-9\"");
    assert_string_equal(at(o, "valueQuantity"), "(absent)");
    assert_string_equal(at(o, "component"),
                        "[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
                        "\"8480-6\",\"display\":\"Systolic blood pressure\"}]},\"valueQuantity\":"
                        "{\"value\":98,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\","
                        "\"code\":\"mm[Hg]\"}},{\"code\":{\"coding\":[{\"system\":"
                        "\"http://loinc.org\",\"code\":\"8462-4\",\"display\":\"Diastolic blood "
                        "pressure\"}]},\"valueQuantity\":{\"value\":61,\"unit\":\"mmHg\","
                        "\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]");
    json_decref(o);
    o = vital(view, "pulse");
    assert_string_equal(at(o, "code.coding.0.code"), "\"8867-4\"");
    assert_string_equal(at(o, "valueQuantity.unit"), "\"beats/minute\"");
    json_decref(o);
    o = vital(view, "temp");
    assert_string_equal(at(o, "code.coding.0.code"), "\"8310-5\"");
    assert_string_equal(at(o, "valueQuantity"), "{\"value\":38.6,\"unit\":\"C\",\"system\":"
                                                "\"http://unitsofmeasure.org\",\"code\":\"Cel\"}");
    json_decref(o);
    /* the score: a survey, its band, a lower bound, from the five measured */
    o = vital(view, "news2");
    assert_string_equal(at(o, "category.0.coding.0.code"), "\"survey\"");
    assert_string_equal(at(o, "code"),
                        "{\"coding\":[{\"system\":\"urn:benchside:observation\",\"code\":"
                        "\"news2\",\"display\":\"NEWS2 total score\"}],\"text\":"
                        "\"NEWS2 total score\"}");
    assert_string_equal(at(o, "valueInteger"), "10");
    assert_string_equal(at(o, "meta"), "(absent)");
    assert_string_equal(at(o, "interpretation"),
                        "[{\"coding\":[{\"system\":\"urn:benchside:news2-risk\",\"code\":"
                        "\"high\",\"display\":\"High clinical risk\"}],\"text\":\"High "
                        "clinical risk\"}]");
    assert_string_equal(at(o, "note.0.text"),
                        "\"Not every parameter was measured: the score is a lower bound\"");
    assert_string_equal(at(o, "derivedFrom"),
                        "[{\"reference\":\"Observation/V1-resp\"},{\"reference\":"
                        "\"Observation/V1-spo2\"},{\"reference\":\"Observation/V1-bp\"},"
                        "{\"reference\":\"Observation/V1-pulse\"},{\"reference\":"
                        "\"Observation/V1-temp\"}]");
    json_decref(o);
    json_decref(view);
}

static void test_vital_signs_by_hand(void **state)
{
    (void)state;
    /* By hand, on oxygen, newly confused, scale 2, no diastolic: all seven */
    json_t *view = parse(
        "{\"set_id\":\"V2\",\"category\":\"vital-signs\",\"patient_id\":\"P1\","
        "\"effective\":\"2026-11-21T08:00:00.000000Z\",\"issued\":\"2026-11-21T08:05:00.000000Z\","
        "\"performer_id\":\"U1\",\"performer\":\"nurse\",\"device_id\":null,\"device\":null,"
        "\"respiration_rate\":18,\"spo2\":90,\"spo2_scale\":2,\"oxygen\":1,"
        "\"systolic_bp\":128,\"diastolic_bp\":null,\"pulse\":80,\"acvpu\":\"C\","
        "\"temperature\":37,\"score\":5,\"complete\":true,\"band\":\"medium\"}");
    json_t *o = vital(view, "oxygen");
    assert_string_equal(at(o, "code"),
                        "{\"coding\":[{\"system\":\"urn:benchside:observation\",\"code\":"
                        "\"oxygen\",\"display\":\"On supplemental oxygen\"}],\"text\":"
                        "\"On supplemental oxygen\"}");
    assert_string_equal(at(o, "valueBoolean"), "true");
    assert_string_equal(at(o, "meta"), "(absent)");
    assert_string_equal(at(o, "performer"),
                        "[{\"reference\":\"Practitioner/U1\",\"display\":\"nurse\"}]");
    assert_string_equal(at(o, "device"), "(absent)");
    json_decref(o);
    o = vital(view, "acvpu");
    assert_string_equal(at(o, "valueCodeableConcept"),
                        "{\"coding\":[{\"system\":\"urn:benchside:acvpu\",\"code\":\"C\","
                        "\"display\":\"New confusion\"}],\"text\":\"New confusion\"}");
    json_decref(o);
    o = vital(view, "spo2");
    assert_string_equal(at(o, "note.0.text"),
                        "\"Scored on NEWS2 SpO2 scale 2 (hypercapnic respiratory failure, "
                        "target 88-92%)\"");
    json_decref(o);
    /* no diastolic: said absent, as the bp profile wants both components */
    o = vital(view, "bp");
    assert_string_equal(at(o, "component.0.valueQuantity.value"), "128");
    assert_string_equal(at(o, "component.1.valueQuantity"), "(absent)");
    assert_string_equal(at(o, "component.1.dataAbsentReason"),
                        "{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                        "data-absent-reason\",\"code\":\"unknown\",\"display\":\"Unknown\"}]}");
    json_decref(o);
    o = vital(view, "news2");
    assert_string_equal(at(o, "valueInteger"), "5");
    assert_string_equal(at(o, "note"), "(absent)");
    assert_int_equal(json_array_size(json_object_get(o, "derivedFrom")), 7);
    assert_string_equal(at(o, "interpretation.0.coding.0.code"), "\"medium\"");
    json_decref(o);
    json_decref(view);

    /* codes a search names */
    assert_string_equal(fhir_vital_param(true, "59408-5"), "spo2");
    assert_string_equal(fhir_vital_param(true, "2708-6"), "spo2");
    assert_string_equal(fhir_vital_param(true, "85354-9"), "bp");
    assert_null(fhir_vital_param(true, "8480-6")); /* a component, not an observation's code */
    assert_null(fhir_vital_param(true, "2823-3"));
    assert_string_equal(fhir_vital_param(false, "news2"), "news2");
    assert_string_equal(fhir_vital_param(false, "acvpu"), "acvpu");
    assert_null(fhir_vital_param(false, "9279-1"));
}

static void test_patient_specimen_device_report(void **state)
{
    (void)state;
    json_t *view = parse("{\"id\":\"P1\",\"mrn\":\"MRN-7\",\"family\":\"Okafor\",\"given\":\"Ada\","
                         "\"birth_date\":\"1961-05-20\",\"sex\":\"female\",\"identifiers\":"
                         "[{\"system\":\"urn:oid:2.16.840.1.113883.4.1\",\"value\":\"123\"},"
                         "{\"system\":\"driver licence\",\"value\":\"D-9\"}],"
                         "\"updated_at\":\"2026-01-01T00:00:00.000000Z\"}");
    json_t *r = fhir_patient(view);
    assert_string_equal(at(r, "identifier.0.value"), "\"MRN-7\"");
    assert_string_equal(at(r, "identifier.0.system"), "\"urn:benchside:mrn\"");
    assert_string_equal(at(r, "identifier.1"),
                        "{\"system\":\"urn:oid:2.16.840.1.113883.4.1\",\"value\":\"123\"}");
    /* a system with a space is no URI: it names the identifier's type */
    assert_string_equal(at(r, "identifier.2"),
                        "{\"type\":{\"text\":\"driver licence\"},\"value\":\"D-9\"}");
    assert_string_equal(at(r, "name"),
                        "[{\"use\":\"official\",\"family\":\"Okafor\",\"given\":[\"Ada\"]}]");
    assert_string_equal(at(r, "birthDate"), "\"1961-05-20\"");
    json_decref(r);
    json_decref(view);

    view = parse("{\"id\":\"S1\",\"accession\":\"260590000015\",\"patient_id\":\"P1\","
                 "\"specimen_type\":\"Serum\",\"container\":\"SST (gold)\",\"status\":\"rejected\","
                 "\"state\":\"rejected\",\"parent_id\":null,\"collected_at\":"
                 "\"2026-02-28T10:00:00.000000Z\",\"received_at\":null,\"rejection_reason\":"
                 "\"hemolyzed\",\"requests\":[\"Q1\",\"Q2\"]}");
    r = fhir_specimen(view);
    assert_string_equal(at(r, "status"), "\"unsatisfactory\"");
    assert_string_equal(at(r, "type"),
                        "{\"text\":\"Serum\",\"coding\":[{\"system\":"
                        "\"http://terminology.hl7.org/CodeSystem/v2-0487\",\"code\":\"SER\"}]}");
    assert_string_equal(at(r, "accessionIdentifier.value"), "\"260590000015\"");
    assert_string_equal(at(r, "request.1.reference"), "\"ServiceRequest/Q2\"");
    assert_string_equal(at(r, "note.0.text"), "\"rejected: hemolyzed\"");
    assert_string_equal(at(r, "receivedTime"), "(absent)");
    assert_string_equal(fhir_specimen_type_name("SER"), "serum");
    assert_null(fhir_specimen_type_name("XYZ"));
    json_decref(r);
    json_decref(view);

    view = parse("{\"id\":\"D1\",\"tag\":\"BME-1\",\"class\":\"centrifuge\",\"manufacturer\":"
                 "\"Hettich\",\"model\":\"Rotina 380\",\"serial\":\"SN-1\",\"location\":\"Core\","
                 "\"owner\":\"Lab\",\"status\":\"out-of-service\",\"status_reason\":\"rotor\"}");
    r = fhir_device(view);
    assert_string_equal(at(r, "status"), "\"inactive\"");
    assert_string_equal(at(r, "statusReason.0.coding.0.code"), "\"offline\"");
    assert_string_equal(at(r, "statusReason.0.text"), "\"rotor\"");
    assert_string_equal(at(r, "deviceName"), "[{\"name\":\"Rotina 380\",\"type\":\"model-name\"}]");
    json_decref(r);
    json_decref(view);

    view = parse("{\"id\":\"O1\",\"patient_id\":\"P1\",\"state\":\"partial\",\"effective\":"
                 "\"2026-02-28T10:00:00.000000Z\",\"issued\":null,\"results\":[\"R1\"],"
                 "\"requests\":[]}");
    r = fhir_diagnostic_report(view);
    assert_string_equal(at(r, "status"), "\"partial\"");
    assert_string_equal(at(r, "code.coding.0.code"), "\"11502-2\"");
    assert_string_equal(at(r, "result"), "[{\"reference\":\"Observation/R1\"}]");
    assert_string_equal(at(r, "basedOn"), "(absent)"); /* FHIR has no empty arrays */
    assert_string_equal(at(r, "issued"), "(absent)");
    json_decref(r);
    json_decref(view);
}

/* ---------------------------------------------------------------- create */

static const char order_json[] =
    "{\"resourceType\":\"ServiceRequest\",\"status\":\"active\",\"intent\":\"order\","
    "\"subject\":{\"reference\":\"https://ehr.example/fhir/Patient/01M7AAA\"},"
    "\"code\":{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"1\"},"
    "{\"system\":\"http://loinc.org\",\"code\":\"51990-0\"}]},\"priority\":\"urgent\","
    "\"requester\":{\"display\":\"Dr. Okafor\"},\"reasonCode\":[{\"coding\":[{\"system\":"
    "\"http://hl7.org/fhir/sid/icd-10-cm\",\"code\":\"E11.9\"}]},{\"coding\":[{\"system\":"
    "\"http://hl7.org/fhir/sid/icd-10-cm\",\"code\":\"I10\"}]}],"
    "\"identifier\":[{\"system\":\"urn:ehr\",\"value\":\"PO-1\"}],\"note\":[{\"text\":\"fast\"}]}";

static void test_order_parse(void **state)
{
    fhir_order o;
    errinfo ei = {0};
    (void)state;
    json_t *body = parse(order_json);
    assert_int_equal(fhir_order_parse(body, &o, &ei), ERR_OK);
    assert_string_equal(o.patient_id, "01M7AAA");
    assert_string_equal(o.code_system, "loinc");
    assert_string_equal(o.code, "51990-0");
    assert_string_equal(o.priority, "asap");
    assert_string_equal(o.clinician, "Dr. Okafor");
    assert_int_equal(o.nreasons, 2);
    assert_string_equal(o.reasons[1], "I10");
    assert_string_equal(o.placer, "urn:ehr");
    assert_string_equal(o.placer_id, "PO-1");
    assert_string_equal(o.note, "fast");

    static const struct {
        const char *key, *value; /* a member replaced (NULL value: removed) */
        err_t rc;
        const char *field;
    } bad[] = {
        {"resourceType", "\"Patient\"", ERR_INVALID, "resourceType"},
        {"status", NULL, ERR_INVALID, "status"},
        {"status", "\"draft\"", ERR_UNPROCESSABLE, "status"},
        {"intent", "\"plan\"", ERR_UNPROCESSABLE, "intent"},
        {"subject", "{\"reference\":\"Group/1\"}", ERR_INVALID, "subject.reference"},
        {"subject", "{\"reference\":\"Patient/a_b\"}", ERR_INVALID, "subject.reference"},
        {"subject", "\"Patient/1\"", ERR_INVALID, "subject"},
        {"code", "{\"coding\":[{\"system\":\"urn:x\",\"code\":\"1\"}]}", ERR_UNPROCESSABLE, "code"},
        {"code", "{\"coding\":[{\"system\":\"http://loinc.org\"}]}", ERR_INVALID,
         "code.coding[0].code"},
        {"code", NULL, ERR_INVALID, "code"},
        {"priority", "\"soon\"", ERR_INVALID, "priority"},
        {"requester", "{}", ERR_INVALID, "requester.reference"},
        {"reasonCode", "[]", ERR_INVALID, "reasonCode"},
        {"reasonCode", "[{\"text\":\"diabetes\"}]", ERR_UNPROCESSABLE, "reasonCode[0]"},
        {"reasonCode", "[1]", ERR_INVALID, "reasonCode[0]"},
        {"identifier", "[{\"value\":\"x\"}]", ERR_INVALID, "identifier[0].system"},
        {"note", "[{\"text\":7}]", ERR_INVALID, "note[0].text"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = json_deep_copy(body);
        errinfo e = {0};
        if (bad[i].value)
            json_object_set_new(b, bad[i].key, parse(bad[i].value));
        else
            json_object_del(b, bad[i].key);
        err_t rc = fhir_order_parse(b, &o, &e);
        if (rc != bad[i].rc || strcmp(e.field, bad[i].field))
            fail_msg("%s=%s: %d %s (%s)", bad[i].key, bad[i].value ? bad[i].value : "(none)",
                     (int)rc, e.field, e.message);
        json_decref(b);
    }
    json_decref(body);

    char path[64];
    fhir_order_field("tests[0]", path, sizeof(path));
    assert_string_equal(path, "code");
    fhir_order_field("reasons[2]", path, sizeof(path));
    assert_string_equal(path, "reasonCode[2]");
    fhir_order_field("patient_id", path, sizeof(path));
    assert_string_equal(path, "subject");
    fhir_order_field("placer_id", path, sizeof(path));
    assert_string_equal(path, "identifier");
}

static void test_outcome_and_bundle(void **state)
{
    (void)state;
    json_t *oo = fhir_outcome(ERR_INVALID, "date: bad", "date");
    assert_string_equal(at(oo, "issue"),
                        "[{\"severity\":\"error\",\"code\":\"invalid\","
                        "\"diagnostics\":\"date: bad\",\"expression\":[\"date\"]}]");
    json_decref(oo);
    static const struct {
        err_t rc;
        const char *code;
    } codes[] = {{ERR_NOT_FOUND, "\"not-found\""},         {ERR_UNAUTHORIZED, "\"login\""},
                 {ERR_FORBIDDEN, "\"forbidden\""},         {ERR_CONFLICT, "\"duplicate\""},
                 {ERR_UNPROCESSABLE, "\"business-rule\""}, {ERR_DB, "\"exception\""},
                 {ERR_BAD_JSON, "\"structure\""}};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        oo = fhir_outcome(codes[i].rc, NULL, NULL);
        assert_string_equal(at(oo, "issue.0.code"), codes[i].code);
        assert_string_equal(at(oo, "issue.0.expression"), "(absent)");
        json_decref(oo);
    }

    json_t *entries = json_array();
    json_array_append_new(entries, fhir_entry("http://h/fhir/R4",
                                              parse("{\"resourceType\":\"Patient\",\"id\":\"P1\"}"),
                                              "match"));
    json_t *b = fhir_searchset(entries, 3, "http://h/fhir/R4/Patient?x=1",
                               "http://h/fhir/R4/Patient?x=1&_offset=1");
    assert_string_equal(at(b, "total"), "3");
    assert_string_equal(at(b, "entry.0.fullUrl"), "\"http://h/fhir/R4/Patient/P1\"");
    assert_string_equal(at(b, "entry.0.search.mode"), "\"match\"");
    assert_string_equal(at(b, "link.1.relation"), "\"next\"");
    json_decref(b);
    b = fhir_searchset(json_array(), 0, "http://h/fhir/R4/Patient", NULL);
    assert_string_equal(at(b, "entry"), "(absent)");
    assert_string_equal(at(b, "link"),
                        "[{\"relation\":\"self\",\"url\":\"http://h/fhir/R4/Patient\"}]");
    json_decref(b);

    json_t *cs = fhir_capability("0.1.0", "2026-01-01T00:00:00Z");
    assert_string_equal(at(cs, "fhirVersion"), "\"4.0.1\"");
    assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(cs, "rest"), 0),
                                                     "resource")),
                     7);
    /* Observation declares the vital-signs profiles its vital signs meet */
    json_t *obs = json_array_get(
        json_object_get(json_array_get(json_object_get(cs, "rest"), 0), "resource"), 4);
    assert_string_equal(at(obs, "type"), "\"Observation\"");
    assert_string_equal(at(obs, "supportedProfile"),
                        "[\"http://hl7.org/fhir/StructureDefinition/resprate\","
                        "\"http://hl7.org/fhir/StructureDefinition/oxygensat\","
                        "\"http://hl7.org/fhir/StructureDefinition/bp\","
                        "\"http://hl7.org/fhir/StructureDefinition/heartrate\","
                        "\"http://hl7.org/fhir/StructureDefinition/bodytemp\"]");
    json_decref(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_ranges),
        cmocka_unit_test(test_tokens_and_states),
        cmocka_unit_test(test_observation_of_a_high_potassium),
        cmocka_unit_test(test_patient_specimen_device_report),
        cmocka_unit_test(test_vital_signs_of_a_monitor_set),
        cmocka_unit_test(test_vital_signs_by_hand),
        cmocka_unit_test(test_order_parse),
        cmocka_unit_test(test_outcome_and_bundle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
