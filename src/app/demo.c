/*
 * demo.c - demo data for `benchside demo`: one account per role, so a newcomer
 * can sign in as each and see what that role may do. Demo passwords exist only
 * here; `serve` never creates an account by itself.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "auth/user.h"
#include "lab/catalog.h"
#include "lab/instrument.h"
#include "lab/custody.h"
#include "lab/order.h"
#include "lab/patient.h"
#include "lab/result.h"
#include "base/log.h"
#include "base/time.h"
#include "equip/asset.h"
#include "equip/calibration.h"
#include "equip/checklist.h"
#include "equip/schedule.h"
#include "equip/storage.h"
#include "equip/templog.h"
#include "equip/workorder.h"
#include "qc/tolerance.h"
#include "care/care.h"
#include "care/competency.h"
#include "care/document.h"
#include "link/sim.h"
/* supplies */
#include "base/jsonv.h"
#include "stock/stock.h"

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

/* Run one domain call on a JSON body written as text; the answer is dropped
 * unless out is given. */
typedef err_t (*demo_call)(db *d, const audit_ctx *ctx, const char *key, const json_t *body,
                           json_t **out, errinfo *ei);

static err_t demo_json(db *d, const audit_ctx *ctx, demo_call fn, const char *key, const char *text,
                       json_t **out, errinfo *ei)
{
    json_error_t je;
    json_t *body = json_loads(text, 0, &je), *o = NULL;
    if (!body)
        return err_set(ei, ERR_INTERNAL, NULL, "demo data: %s", je.text);
    err_t rc = fn(d, ctx, key, body, &o, ei);
    json_decref(body);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static err_t demo_patient(db *d, const audit_ctx *ctx, const char *key, const json_t *body,
                          json_t **out, errinfo *ei)
{
    patient p;
    json_t *cand = NULL;
    (void)key;
    err_t rc = patient_create(d, ctx, body, &p, &cand, ei);
    json_decref(cand);
    if (!rc)
        *out = patient_to_json(&p, NULL);
    return rc;
}

static err_t demo_order(db *d, const audit_ctx *ctx, const char *key, const json_t *body,
                        json_t **out, errinfo *ei)
{
    (void)key;
    return order_create(d, ctx, body, out, ei);
}

/* The two simulated analyzers `benchside demo` runs against itself. */
static const char demo_instruments_json[] =
    "{\"instruments\":["
    "{\"name\":\"CHEM-1\",\"kind\":\"analyzer\",\"protocol\":\"astm\","
    "\"match\":{\"sender\":\"SIM-ASTM\"},\"allowed_peers\":[\"127.0.0.1\"]},"
    "{\"name\":\"HEME-1\",\"kind\":\"analyzer\",\"protocol\":\"hl7\","
    "\"match\":{\"application\":\"SIM-HL7\"},\"allowed_peers\":[\"127.0.0.1\"]}]}";

static err_t demo_instruments(db *d, const audit_ctx *ctx, const char *key, const json_t *body,
                              json_t **out, errinfo *ei)
{
    int n = 0;
    (void)key;
    *out = NULL;
    return instrument_import(d, ctx, body, &n, ei);
}

/* A working day in miniature: patients, orders, specimens received, results
 * released, one waiting for review, one critical value to call. */
static err_t demo_workload(db *d, const audit_ctx *ctx, errinfo *ei)
{
    static const char *const patients[] = {
        "{\"mrn\":\"MRN-100231\",\"family\":\"Okafor\",\"given\":\"Adaeze\","
        "\"birth_date\":\"1968-04-12\",\"sex\":\"female\"}",
        "{\"mrn\":\"MRN-100232\",\"family\":\"Lindqvist\",\"given\":\"Erik\","
        "\"birth_date\":\"1951-11-03\",\"sex\":\"male\"}",
        "{\"mrn\":\"MRN-100233\",\"family\":\"Nguyen\",\"given\":\"Thi Lan\","
        "\"birth_date\":\"1989-07-21\",\"sex\":\"female\"}",
    };
    static const struct {
        int patient;
        const char *tests, *priority, *reasons;
        bool receive;
        const char *results; /* for the first specimen, or NULL */
    } orders[] = {
        {0, "[\"BMP\",\"CBC\"]", "stat", "[\"R53.83\"]", true,
         "{\"results\":[{\"code\":\"GLU\",\"value\":92},{\"code\":\"NA\",\"value\":139},"
         "{\"code\":\"K\",\"value\":6.8},{\"code\":\"CL\",\"value\":103},"
         "{\"code\":\"CO2\",\"value\":24},{\"code\":\"BUN\",\"value\":15},"
         "{\"code\":\"CREA\",\"value\":0.8},{\"code\":\"CA\",\"value\":9.4}]}"},
        {1, "[\"LIPID\",\"HBA1C\"]", "routine", "[\"E11.9\",\"E78.5\"]", true,
         "{\"results\":[{\"code\":\"CHOL\",\"value\":236},{\"code\":\"TRIG\",\"value\":140},"
         "{\"code\":\"HDL\",\"value\":44},{\"code\":\"LDL\",\"value\":96}]}"},
        {2, "[\"TSH\",\"CBC\"]", "asap", "[\"R53.83\"]", false, NULL},
        /* received and waiting for the analyzers the demo runs */
        {2, "[\"BMP\",\"HEPATIC\",\"CBC\"]", "routine", "[\"Z00.00\"]", true, NULL},
    };
    json_t *ids[3] = {NULL, NULL, NULL};
    err_t rc = ERR_OK;
    for (int i = 0; !rc && i < 3; i++)
        rc = demo_json(d, ctx, demo_patient, NULL, patients[i], &ids[i], ei);
    for (size_t k = 0; !rc && k < sizeof(orders) / sizeof(orders[0]); k++) {
        char body[512];
        json_t *o = NULL;
        snprintf(body, sizeof(body),
                 "{\"patient_id\":\"%s\",\"tests\":%s,\"priority\":\"%s\","
                 "\"clinician\":\"Dr. M. Ortega\",\"reasons\":%s}",
                 json_string_value(json_object_get(ids[orders[k].patient], "id")), orders[k].tests,
                 orders[k].priority, orders[k].reasons);
        rc = demo_json(d, ctx, demo_order, NULL, body, &o, ei);
        if (rc || !orders[k].receive) {
            json_decref(o);
            continue;
        }
        size_t i;
        json_t *sp;
        json_array_foreach(json_object_get(o, "specimens"), i, sp)
        {
            const char *acc = json_string_value(json_object_get(sp, "accession"));
            if (!rc)
                rc = demo_json(d, ctx, custody_record, acc,
                               "{\"event\":\"collected\",\"location\":\"Outpatient draw "
                               "station 2\",\"site\":\"left antecubital\"}",
                               NULL, ei);
            if (!rc)
                rc = demo_json(d, ctx, custody_record, acc, "{\"event\":\"received\"}", NULL, ei);
            if (!rc && i == 0 && orders[k].results)
                rc = demo_json(d, ctx, result_enter, acc, orders[k].results, NULL, ei);
        }
        json_decref(o);
    }
    for (int i = 0; i < 3; i++)
        json_decref(ids[i]);
    return rc;
}

/* ---- equipment ---- */

/* The register of a small department: the two demo analyzers (linked to
 * their instruments), a calibration standard, and devices of other classes;
 * a refrigerator that is a storage unit. */
static const char demo_assets_json[] =
    "[{\"tag\":\"BME-00412\",\"class\":\"chemistry-analyzer\",\"manufacturer\":\"Beckman "
    "Coulter\",\"model\":\"AU680\",\"serial\":\"2019AU0412\",\"location\":\"Core lab, bench 3\","
    "\"risk_class\":\"high\",\"owner\":\"Clinical chemistry\",\"install_date\":\"2021-03-15\","
    "\"instrument\":\"CHEM-1\"},"
    "{\"tag\":\"BME-00413\",\"class\":\"hematology-analyzer\",\"manufacturer\":\"Sysmex\","
    "\"model\":\"XN-550\",\"serial\":\"XN55-13077\",\"location\":\"Core lab, bench 5\","
    "\"risk_class\":\"high\",\"owner\":\"Hematology\",\"install_date\":\"2022-06-01\","
    "\"instrument\":\"HEME-1\"},"
    "{\"tag\":\"STD-0001\",\"class\":\"calibration-standard\",\"manufacturer\":\"NIST\","
    "\"model\":\"SRM 965b glucose in frozen serum\",\"serial\":\"965b-0183\",\"location\":\"Core "
    "lab, freezer 1\",\"risk_class\":\"low\",\"owner\":\"Clinical chemistry\"},"
    "{\"tag\":\"BME-00977\",\"class\":\"refrigerator\",\"manufacturer\":\"Helmer\","
    "\"model\":\"iLR120\",\"serial\":\"HLR-55120\",\"location\":\"Core lab, reagent room\","
    "\"risk_class\":\"medium\",\"owner\":\"Clinical chemistry\",\"install_date\":\"2020-09-10\"},"
    "{\"tag\":\"BME-01020\",\"class\":\"defibrillator\",\"manufacturer\":\"ZOLL\","
    "\"model\":\"R Series\",\"serial\":\"AF19C012345\",\"location\":\"Emergency, bay 2\","
    "\"risk_class\":\"high\",\"owner\":\"Emergency department\",\"install_date\":\"2023-01-20\"},"
    "{\"tag\":\"BME-00231\",\"class\":\"patient-monitor\",\"manufacturer\":\"Philips\","
    "\"model\":\"IntelliVue MX450\",\"serial\":\"DE71234567\",\"location\":\"Ward 4, bed 12\","
    "\"risk_class\":\"high\",\"owner\":\"Nursing\",\"install_date\":\"2022-02-14\"},"
    "{\"tag\":\"BME-00530\",\"class\":\"centrifuge\",\"manufacturer\":\"Eppendorf\","
    "\"model\":\"5702\",\"serial\":\"5702AB0530\",\"location\":\"Specimen reception\","
    "\"risk_class\":\"low\",\"owner\":\"Specimen reception\"},"
    "{\"tag\":\"BME-00611\",\"class\":\"autoclave\",\"manufacturer\":\"Tuttnauer\","
    "\"model\":\"3870ELV\",\"serial\":\"TT3870-611\",\"location\":\"Microbiology\","
    "\"risk_class\":\"medium\",\"owner\":\"Microbiology\"},"
    "{\"tag\":\"BME-02001\",\"class\":\"mri\",\"manufacturer\":\"Siemens Healthineers\","
    "\"model\":\"MAGNETOM Vida 3T\",\"serial\":\"MRV-175201\",\"location\":\"Imaging, MR 1\","
    "\"risk_class\":\"high\",\"owner\":\"Radiology\",\"install_date\":\"2024-05-06\"},"
    "{\"tag\":\"BME-02010\",\"class\":\"ct\",\"manufacturer\":\"Siemens Healthineers\","
    "\"model\":\"SOMATOM go.Up\",\"serial\":\"CTG-110482\",\"location\":\"Imaging, CT 1\","
    "\"risk_class\":\"high\",\"owner\":\"Radiology\",\"install_date\":\"2023-09-18\"}]";

/* Schedules: what is safety-critical holds results or devices. */
static const char *const demo_schedules[] = {
    "{\"asset\":\"BME-00412\",\"kind\":\"calibration\",\"interval_days\":90}",
    "{\"asset\":\"BME-00413\",\"kind\":\"calibration\",\"interval_days\":180,\"grace_days\":7}",
    "{\"class\":\"calibration-standard\",\"kind\":\"calibration\",\"interval_days\":365}",
    "{\"class\":\"defibrillator\",\"kind\":\"check\",\"template\":\"defib-daily\","
    "\"interval_days\":1,\"safety_critical\":true}",
    "{\"class\":\"patient-monitor\",\"kind\":\"electrical-safety\",\"template\":\"iec62353\","
    "\"interval_days\":365,\"grace_days\":30}",
    "{\"class\":\"centrifuge\",\"kind\":\"check\",\"template\":\"centrifuge-speed\","
    "\"interval_days\":90}",
    "{\"class\":\"autoclave\",\"kind\":\"check\",\"template\":\"autoclave-bowie-dick\","
    "\"interval_days\":1}",
    "{\"class\":\"mri\",\"kind\":\"pm\",\"interval_days\":90,\"grace_days\":14}",
};

/* Today's records: the analyzers calibrated against the standard, the
 * defibrillator's daily check. */
static const struct {
    const char *key, *body;
} demo_records[] = {
    {"calibration",
     "{\"asset\":\"BME-00412\",\"by\":\"biomed\",\"standard\":\"STD-0001\",\"points\":[{"
     "\"name\":\"GLU 72.3\",\"unit\":\"mg/dL\",\"nominal\":72.3,\"tolerance\":2.2,"
     "\"as_found\":73.1,\"as_left\":72.6}]}"},
    {"calibration",
     "{\"asset\":\"BME-00413\",\"by\":\"biomed\",\"standard\":\"STD-0001\",\"points\":[{"
     "\"name\":\"HGB control\",\"unit\":\"g/dL\",\"nominal\":13.6,\"tolerance\":0.3,"
     "\"as_found\":13.7,\"as_left\":13.6}]}"},
    {"check", "{\"asset\":\"BME-01020\",\"template\":\"defib-daily\",\"values\":{"
              "\"self_test_passed\":true,\"battery_ok\":true,\"selected_energy_j\":200,"
              "\"delivered_energy_j\":196,\"pads_in_date\":true,\"cables_intact\":true,"
              "\"ecg_paper_ok\":true}}"},
};

/* The equipment calls the demo makes, by the key demo_json passes on. */
static const struct {
    const char *key;
    err_t (*fn)(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);
} demo_equip_calls[] = {
    {"storage", equip_storage_create},
    {"schedule", equip_schedule_create},
    {"calibration", equip_calibration_record},
    {"check", equip_check_record},
};

static err_t demo_equip(db *d, const audit_ctx *ctx, const char *key, const json_t *body,
                        json_t **out, errinfo *ei)
{
    for (size_t i = 0; i < sizeof(demo_equip_calls) / sizeof(demo_equip_calls[0]); i++)
        if (!strcmp(demo_equip_calls[i].key, key))
            return demo_equip_calls[i].fn(d, ctx, body, out, ei);
    return err_set(ei, ERR_INTERNAL, NULL, "demo data: no equipment call %s", key);
}

/* The CT scanner's daily water phantom, 0 +- 5 HU: passed on each of the
 * last three mornings. */
static err_t demo_tolerance_qc(db *d, const audit_ctx *ctx, errinfo *ei)
{
    static const double values[] = {1.4, -0.8, 2.1};
    char at[TIME_ISO_LEN], id[ID_LEN + 1] = "";
    json_t *check = NULL, *out = NULL;
    json_error_t je;
    json_t *body = json_loads("{\"device\":\"BME-02010\",\"code\":\"CT-WATER-HU\",\"name\":"
                              "\"CT number of water, daily phantom\",\"unit\":\"[hnsf'U]\","
                              "\"target\":0,\"tolerance\":5,\"frequency\":\"24h\"}",
                              0, &je);
    if (!body)
        return err_set(ei, ERR_INTERNAL, NULL, "demo check: %s", je.text);
    err_t rc = qc_tolerance_check_create(d, ctx, body, &check, ei);
    json_decref(body);
    if (!rc)
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(check, "id")));
    json_decref(check);
    int64_t morning = time_now_us() - 2 * 86400LL * 1000000LL - 3600LL * 1000000LL;
    for (size_t i = 0; !rc && i < sizeof(values) / sizeof(values[0]); i++) {
        time_format_iso(morning + (int64_t)i * 86400LL * 1000000LL, at);
        body = json_pack("{s:f,s:s}", "value", values[i], "at", at);
        rc = body ? qc_tolerance_result_enter(d, ctx, id, body, &out, ei) : ERR_NOMEM;
        json_decref(body);
        json_decref(out);
        out = NULL;
    }
    return rc;
}

/* The register, schedules, the checklist templates, and records that keep
 * the demo analyzers fit (calibrated today against a standard with an
 * external certificate), with something due this week on the due list. */
static err_t demo_equipment(db *d, const audit_ctx *ctx, errinfo *ei)
{
    json_error_t je;
    char body[1024], at[TIME_ISO_LEN], until[11];
    int n = 0;
    int64_t now = time_now_us(), day = 86400LL * 1000000LL;
    json_t *assets = json_loads(demo_assets_json, 0, &je);
    if (!assets)
        return err_set(ei, ERR_INTERNAL, NULL, "demo assets: %s", je.text);
    err_t rc = equip_checklist_defaults(d, ctx, &n, ei);
    if (!rc)
        rc = equip_asset_import(d, ctx, assets, &n, ei);
    json_decref(assets);
    if (!rc)
        rc = demo_json(d, ctx, demo_equip, "storage",
                       "{\"name\":\"FRIDGE-1\",\"kind\":\"refrigerator\",\"asset\":\"BME-00977\","
                       "\"low\":2,\"high\":8,\"description\":\"Reagents and controls\"}",
                       NULL, ei);
    for (size_t i = 0; !rc && i < sizeof(demo_schedules) / sizeof(demo_schedules[0]); i++)
        rc = demo_json(d, ctx, demo_equip, "schedule", demo_schedules[i], NULL, ei);
    /* the standard, calibrated by a metrology laboratory 60 days ago */
    time_format_iso(now - 60 * day, at);
    time_format_date(now + 305 * day, until);
    snprintf(body, sizeof(body),
             "{\"asset\":\"STD-0001\",\"performed_at\":\"%s\",\"by\":\"National metrology "
             "lab\",\"external\":{\"provider\":\"National metrology lab\",\"certificate\":"
             "\"NML-2026-0415\",\"valid_until\":\"%s\"},\"points\":[{\"name\":\"level 1\","
             "\"unit\":\"mg/dL\",\"nominal\":72.3,\"tolerance\":0.8,\"as_left\":72.5}]}",
             at, until);
    if (!rc)
        rc = demo_json(d, ctx, demo_equip, "calibration", body, NULL, ei);
    for (size_t i = 0; !rc && i < sizeof(demo_records) / sizeof(demo_records[0]); i++)
        rc = demo_json(d, ctx, demo_equip, demo_records[i].key, demo_records[i].body, NULL, ei);
    /* the monitor's yearly electrical safety test falls due this week */
    time_format_iso(now - 360 * day, at);
    snprintf(body, sizeof(body),
             "{\"asset\":\"BME-00231\",\"template\":\"iec62353\",\"performed_at\":\"%s\","
             "\"values\":{\"protection_class\":\"I\",\"applied_part_type\":\"CF\","
             "\"visual_inspection_ok\":true,\"protective_earth_resistance_ohm\":0.08,"
             "\"equipment_leakage_class_i_ua\":240,\"applied_part_leakage_cf_ua\":6,"
             "\"functional_test_ok\":true}}",
             at);
    if (!rc)
        rc = demo_json(d, ctx, demo_equip, "check", body, NULL, ei);
    if (!rc)
        rc = demo_tolerance_qc(d, ctx, ei);
    return rc;
}

/* ---- equipment at work ---- */

/* A domain call that acts as a signed-in user. */
typedef err_t (*demo_user_call)(db *d, const audit_ctx *ctx, const user *u, const char *key,
                                const json_t *body, json_t **out, errinfo *ei);

/* Run fn as user u on body (stolen); its answer into *out, or dropped when
 * out is NULL. */
static err_t demo_as(db *d, const user *u, demo_user_call fn, const char *key, json_t *body,
                     json_t **out, errinfo *ei)
{
    audit_ctx ctx = {u->id, u->username, "local"};
    json_t *dropped = NULL;
    if (out)
        *out = NULL;
    err_t rc = body ? fn(d, &ctx, u, key, body, out ? out : &dropped, ei) : ERR_NOMEM;
    json_decref(body);
    json_decref(dropped);
    return rc;
}

static err_t demo_readings(db *d, const audit_ctx *ctx, const user *u, const char *unit,
                           const json_t *body, json_t **out, errinfo *ei)
{
    return equip_templog_record(d, ctx, u, unit, body, out, ei);
}

static err_t demo_report(db *d, const audit_ctx *ctx, const user *u, const char *key,
                         const json_t *body, json_t **out, errinfo *ei)
{
    (void)key;
    return equip_workorder_report(d, ctx, u, body, out, ei);
}

/* The refrigerator of the register and a freezer with a day of readings (the
 * morning check by hand, the sensors' hourly batches, all within limits),
 * and the centrifuge's work order from the fault to its close. */
static err_t demo_equip_ops(db *d, const audit_ctx *ctx, errinfo *ei)
{
    static const char *const units[] = {"FRIDGE-1", "FREEZER-1"};
    int64_t now = time_now_us(), hour = 3600LL * 1000000LL;
    user tech, sensor, biomed;
    json_t *wo = NULL;
    char at[TIME_ISO_LEN], id[ID_LEN + 1] = "";
    err_t rc = user_get_by_name(d, "tech", &tech, ei);
    if (!rc)
        rc = user_get_by_name(d, "analyzer", &sensor, ei);
    if (!rc)
        rc = user_get_by_name(d, "biomed", &biomed, ei);
    if (!rc)
        rc = demo_json(d, ctx, demo_equip, "storage",
                       "{\"name\":\"FREEZER-1\",\"kind\":\"freezer\",\"low\":-25,\"high\":-15,"
                       "\"description\":\"Serum bank and the glucose standard\"}",
                       NULL, ei);
    for (int u = 0; !rc && u < 2; u++) {
        json_t *list = json_array();
        for (int k = 24; list && k >= 1; k--) {
            time_format_iso(now - k * hour, at);
            double c = u == 0 ? 4.2 + 0.3 * (k % 5) : -19.5 + 0.5 * (k % 4);
            json_array_append_new(list, json_pack("{s:s,s:f,s:s}", "at", at, "celsius", c, "sensor",
                                                  u == 0 ? "T-17" : "T-03"));
        }
        rc = demo_as(d, &sensor, demo_readings, units[u], json_pack("{s:o}", "readings", list),
                     NULL, ei);
        if (!rc)
            rc = demo_as(
                d, &tech, demo_readings, units[u],
                json_pack("{s:f,s:s}", "celsius", u == 0 ? 4.8 : -20.0, "note", "morning check"),
                NULL, ei);
    }
    time_format_iso(now - 72 * hour, at);
    if (!rc)
        rc = demo_as(d, &tech, demo_report, NULL,
                     json_pack("{s:s,s:s,s:s,s:s}", "asset", "BME-00530", "fault",
                               "Imbalance alarm at 4000 rpm with a balanced load", "severity",
                               "high", "reported_at", at),
                     &wo, ei);
    if (!rc)
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(wo, "id")));
    json_decref(wo);
    if (!rc)
        rc = demo_as(d, &biomed, equip_workorder_entry, id,
                     json_pack("{s:s,s:s}", "kind", "note", "note",
                               "Rotor bucket 3 seal cracked; bucket runs heavy"),
                     NULL, ei);
    if (!rc)
        rc = demo_as(d, &biomed, equip_workorder_entry, id,
                     json_pack("{s:s,s:s,s:s,s:i,s:i}", "kind", "part", "part_number",
                               "5702-720.004", "description", "Bucket seal set", "quantity", 4,
                               "cost_cents", 3960),
                     NULL, ei);
    time_format_iso(now - 48 * hour, at);
    if (!rc)
        rc = demo_as(d, &biomed, equip_workorder_return, id,
                     json_pack("{s:s,s:s,s:s}", "verified",
                               "Speed 4000 rpm within 1 % by tachometer, no imbalance alarm in "
                               "three runs",
                               "outcome", "pass", "at", at),
                     NULL, ei);
    if (!rc)
        rc = demo_as(d, &biomed, equip_workorder_close, id,
                     json_pack("{s:s}", "resolution", "Bucket seals replaced"), NULL, ei);
    return rc;
}

/* ---- supplies (stock/stock.h) ---- */

/* Items for the demo analyzers and the bench: reagents whose verified lots
 * are in use on CHEM-1 and HEME-1 (so the demo's results still release), a
 * control lot near its expiry, and gloves below their reorder point. */
static const char demo_stock_items_json[] =
    "{\"items\":["
    "{\"code\":\"GLU-HK\",\"name\":\"Glucose HK reagent\",\"kind\":\"reagent\",\"unit\":\"mL\","
    "\"supplier\":\"Roche Diagnostics\",\"catalogue_number\":\"04404483190\","
    "\"reorder_point\":50,\"reorder_quantity\":200,\"open_stability_days\":28,"
    "\"storage\":\"2-8 C\",\"tests\":[\"GLU\"],\"uses_per_test\":0.1},"
    "{\"code\":\"ISE-PACK\",\"name\":\"ISE reagent pack (Na, K, Cl)\",\"kind\":\"reagent\","
    "\"unit\":\"{test}\",\"supplier\":\"Roche Diagnostics\",\"catalogue_number\":"
    "\"04880480190\",\"reorder_point\":500,\"reorder_quantity\":2000,"
    "\"open_stability_days\":28,\"storage\":\"2-8 C\",\"tests\":[\"NA\",\"K\",\"CL\"],"
    "\"uses_per_test\":1},"
    "{\"code\":\"WDF-LYSE\",\"name\":\"Lysercell WDF (white cell channel)\",\"kind\":\"reagent\","
    "\"unit\":\"{test}\",\"supplier\":\"Sysmex\",\"catalogue_number\":\"AQ-564-328\","
    "\"reorder_point\":300,\"reorder_quantity\":1500,\"open_stability_days\":90,"
    "\"storage\":\"2-35 C\",\"tests\":[\"WBC\"],\"uses_per_test\":1},"
    "{\"code\":\"CTRL-CHEM\",\"name\":\"Chemistry control, two levels\",\"kind\":\"control\","
    "\"unit\":\"mL\",\"supplier\":\"Bio-Rad\",\"catalogue_number\":\"C-310-5\","
    "\"reorder_point\":10,\"reorder_quantity\":24,\"open_stability_days\":7,"
    "\"storage\":\"2-8 C\",\"tests\":[\"GLU\",\"NA\",\"K\"]},"
    "{\"code\":\"SST-5\",\"name\":\"SST tube 5 mL (100 a box)\",\"kind\":\"tube\","
    "\"unit\":\"box\",\"supplier\":\"BD\",\"catalogue_number\":\"367986\","
    "\"reorder_point\":10,\"reorder_quantity\":50},"
    "{\"code\":\"GLOVE-M\",\"name\":\"Nitrile gloves, medium (100 a box)\",\"kind\":\"ppe\","
    "\"unit\":\"box\",\"supplier\":\"Medline\",\"catalogue_number\":\"MDS195085\","
    "\"reorder_point\":10,\"reorder_quantity\":20}]}";

/* The lots received: item, lot, quantity, storage unit, days to expiry; the
 * reagents and the control verified; the reagents put in use on an analyzer. */
static const struct {
    const char *item, *lot, *unit;
    int quantity, expires_in_days;
    const char *in_use_on; /* instrument, or NULL */
} demo_stock_lots[] = {
    {"GLU-HK", "GLU-2407", "FRIDGE-1", 300, 200, "CHEM-1"},
    {"ISE-PACK", "ISE-2409", "FRIDGE-1", 2000, 150, "CHEM-1"},
    {"WDF-LYSE", "WDF-2411", "STORE-1", 1500, 300, "HEME-1"},
    {"CTRL-CHEM", "LQ-26051", "FRIDGE-1", 12, 12, NULL}, /* expiring within the month */
    {"SST-5", "SST-4412", "STORE-1", 40, 400, NULL},
    {"GLOVE-M", "GL-0925", "STORE-1", 4, 700, NULL}, /* below the reorder point */
};

/* The storage units the lots are kept in, when the register has none of
 * these names yet. */
static const char *const demo_stock_units[] = {
    "{\"name\":\"FRIDGE-1\",\"kind\":\"refrigerator\",\"low\":2,\"high\":8,"
    "\"description\":\"Reagents and controls\"}",
    "{\"name\":\"STORE-1\",\"kind\":\"room\",\"low\":15,\"high\":25,"
    "\"description\":\"Consumables store\"}",
};

/* One supplies call on a demo body. key: "unit" (a storage unit, created
 * unless the register has one of that name), "items", "receive", "verify",
 * or the name of the instrument a reagent lot is put in use on. */
static err_t demo_supplies(db *d, const audit_ctx *ctx, const char *key, const json_t *body,
                           json_t **out, errinfo *ei)
{
    if (!strcmp(key, "unit")) {
        errinfo e2 = {0};
        err_t rc = equip_storage_get(d, jsonv_str(body, "name"), out, &e2);
        if (rc == ERR_NOT_FOUND)
            return equip_storage_create(d, ctx, body, out, ei);
        if (rc)
            *ei = e2;
        return rc;
    }
    if (!strcmp(key, "items"))
        return stock_items_import(d, ctx, body, out, ei);
    if (!strcmp(key, "receive"))
        return stock_movement_record(d, ctx, body, out, ei);
    if (!strcmp(key, "verify"))
        return stock_verification_record(d, ctx, body, out, ei);
    return stock_reagent_put(d, ctx, key, body, out, ei);
}

static err_t demo_stock(db *d, const audit_ctx *ctx, errinfo *ei)
{
    char body[512], expiry[11];
    int64_t now = time_now_us();
    err_t rc = ERR_OK;
    for (size_t i = 0; !rc && i < sizeof(demo_stock_units) / sizeof(demo_stock_units[0]); i++)
        rc = demo_json(d, ctx, demo_supplies, "unit", demo_stock_units[i], NULL, ei);
    if (!rc)
        rc = demo_json(d, ctx, demo_supplies, "items", demo_stock_items_json, NULL, ei);
    for (size_t i = 0; !rc && i < sizeof(demo_stock_lots) / sizeof(demo_stock_lots[0]); i++) {
        const char *item = demo_stock_lots[i].item, *lot = demo_stock_lots[i].lot;
        time_format_date(now + (int64_t)demo_stock_lots[i].expires_in_days * 86400 * 1000000,
                         expiry);
        snprintf(body, sizeof(body),
                 "{\"kind\":\"receive\",\"item\":\"%s\",\"lot\":\"%s\",\"quantity\":%d,"
                 "\"location\":\"%s\",\"expiry\":\"%s\"}",
                 item, lot, demo_stock_lots[i].quantity, demo_stock_lots[i].unit, expiry);
        rc = demo_json(d, ctx, demo_supplies, "receive", body, NULL, ei);
        if (!rc && strncmp(item, "SST", 3) && strncmp(item, "GLOVE", 5)) {
            snprintf(body, sizeof(body),
                     "{\"item\":\"%s\",\"lot\":\"%s\",\"samples\":20,\"mean_difference\":0.4,"
                     "\"bias_percent\":0.5,\"criterion\":\"|bias| <= 3%% at two levels\","
                     "\"accepted\":true,\"note\":\"first lot: patient samples against the "
                     "reference laboratory\"}",
                     item, lot);
            rc = demo_json(d, ctx, demo_supplies, "verify", body, NULL, ei);
        }
        if (!rc && demo_stock_lots[i].in_use_on) {
            snprintf(body, sizeof(body), "{\"item\":\"%s\",\"lot\":\"%s\"}", item, lot);
            rc = demo_json(d, ctx, demo_supplies, demo_stock_lots[i].in_use_on, body, NULL, ei);
        }
    }
    return rc;
}

/* Procedure documents: two SOPs written by the administrator and approved
 * by the supervisor, in force from today; the supervisor has signed that
 * they read the chemistry one, so the technician is still to read both. */
static err_t demo_documents(db *d, errinfo *ei)
{
    static const char *const docs[][3] = {
        {"SOP-CHEM-001", "Daily start-up and QC of the chemistry analyzer",
         "1. Check the reagent inventory and the on-board stability of open packs.\n"
         "2. Run the daily maintenance checklist.\n3. Run two levels of QC for every "
         "assay; release patient results only when the Westgard rules accept the run.\n"
         "4. Record corrective action for every rejected run before patient testing."},
        {"SOP-HEME-001", "Critical values: calling and documenting",
         "1. A critical value is read back by the person who receives it.\n2. Call "
         "within 30 minutes of verification; record whom, when and the read-back.\n"
         "3. When nobody answers, escalate to the supervisor and record each attempt."},
    };
    audit_ctx actx = {NULL, "admin", "local"};
    user sup;
    char today[11];
    care_today(today);
    err_t rc = user_get_by_name(d, "supervisor", &sup, ei);
    audit_ctx sctx = {sup.id, sup.username, "local"};
    for (size_t i = 0; !rc && i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *o = NULL, *b = json_pack("{s:s,s:s,s:s}", "code", docs[i][0], "title", docs[i][1],
                                         "text", docs[i][2]);
        rc = b ? care_doc_create(d, &actx, b, &o, ei) : ERR_NOMEM;
        json_decref(b);
        json_decref(o);
        o = NULL;
        b = json_pack("{s:s,s:s}", "effective_on", today, "password", "demo-supervisor-pass");
        if (!rc)
            rc = b ? care_doc_approve(d, &sctx, &sup, docs[i][0], 1, b, &o, ei) : ERR_NOMEM;
        json_decref(b);
        json_decref(o);
    }
    if (!rc) {
        json_t *o = NULL, *b = json_pack("{s:s}", "password", "demo-supervisor-pass");
        rc = b ? care_doc_acknowledge(d, &sctx, &sup, docs[0][0], b, &o, ei) : ERR_NOMEM;
        json_decref(b);
        json_decref(o);
    }
    return rc;
}

/* People and care: the demo analyzers are in the competency program (an
 * ASCP certification required); the bench staff hold their certifications
 * and satisfactory assessments, and the technician is the operator of
 * record of both analyzers, so their results are still released
 * automatically. */
static err_t demo_care(db *d, errinfo *ei)
{
    static const char *const systems[] = {
        "{\"code\":\"CHEM-1\",\"kind\":\"instrument\",\"name\":\"Chemistry analyzer\","
        "\"certification\":\"ASCP\"}",
        "{\"code\":\"HEME-1\",\"kind\":\"instrument\",\"name\":\"Hematology analyzer\","
        "\"certification\":\"ASCP\"}",
    };
    /* who is assessed, by whom (with the assessor's demo password) */
    static const struct {
        const char *person, *assessor, *password;
    } staff[] = {
        {"tech", "supervisor", "demo-supervisor-pass"},
        {"supervisor", "admin", "demo-admin-pass"},
    };
    audit_ctx ctx = {NULL, "demo", "local"};
    char text[700], today[11], issued[11], expires[11];
    json_error_t je;
    user who, by;
    care_today(today);
    care_date_add_months(today, -14, issued);
    care_date_add_months(issued, 36, expires);
    err_t rc = ERR_OK;
    for (size_t i = 0; !rc && i < sizeof(systems) / sizeof(systems[0]); i++) {
        json_t *b = json_loads(systems[i], 0, &je), *o = NULL;
        rc = b ? care_system_create(d, &ctx, b, &o, ei) : ERR_NOMEM;
        json_decref(b);
        json_decref(o);
    }
    for (size_t i = 0; !rc && i < sizeof(staff) / sizeof(staff[0]); i++) {
        json_t *o = NULL;
        snprintf(text, sizeof(text),
                 "{\"user\":\"%s\",\"kind\":\"ASCP\",\"number\":\"MLS-%06zu\","
                 "\"issuer\":\"ASCP Board of Certification\",\"issued_on\":\"%s\","
                 "\"expires_on\":\"%s\"}",
                 staff[i].person, 204410 + i, issued, expires);
        json_t *b = json_loads(text, 0, &je);
        rc = b ? care_cert_create(d, &ctx, b, &o, ei) : ERR_NOMEM;
        json_decref(b);
        json_decref(o);
        if (!rc)
            rc = user_get_by_name(d, staff[i].assessor, &by, ei);
        audit_ctx actx = {by.id, by.username, "local"};
        for (size_t k = 0; !rc && k < sizeof(systems) / sizeof(systems[0]); k++) {
            snprintf(text, sizeof(text),
                     "{\"user\":\"%s\",\"system\":\"%s\",\"assessed_on\":\"%s\","
                     "\"password\":\"%s\",\"elements\":{\"direct_observation\":\"met\","
                     "\"monitoring_records\":\"met\",\"review_worksheets\":\"met\","
                     "\"maintenance_observation\":\"met\",\"blind_samples\":\"met\","
                     "\"problem_solving\":\"met\"}}",
                     staff[i].person, k == 0 ? "CHEM-1" : "HEME-1", today, staff[i].password);
            b = json_loads(text, 0, &je);
            rc = b ? care_assessment_create(d, &actx, &by, b, &o, ei) : ERR_NOMEM;
            json_decref(b);
            json_decref(o);
        }
    }
    if (!rc)
        rc = user_get_by_name(d, "tech", &who, ei);
    audit_ctx tctx = {who.id, who.username, "local"};
    for (size_t k = 0; !rc && k < sizeof(systems) / sizeof(systems[0]); k++) {
        json_t *o = NULL, *b = json_pack("{s:s}", "instrument", k == 0 ? "CHEM-1" : "HEME-1");
        rc = b ? care_operator_sign_on(d, &tctx, &who, false, b, &o, ei) : ERR_NOMEM;
        json_decref(b);
        json_decref(o);
    }
    if (!rc)
        rc = demo_documents(d, ei);
    return rc;
}

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
    if (!rc)
        rc = demo_json(d, &ctx, demo_instruments, NULL, demo_instruments_json, NULL, ei);
    if (!rc)
        rc = demo_equipment(d, &ctx, ei);
    if (!rc)
        rc = demo_workload(d, &ctx, ei);
    if (!rc)
        rc = demo_equip_ops(d, &ctx, ei);
    if (!rc)
        rc = demo_stock(d, &ctx, ei);
    if (!rc)
        rc = demo_care(d, ei);
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

/* ---- the simulated analyzers ---- */

struct demo_analyzers {
    struct demo_sim {
        pthread_t thread;
        bool started;
        sim_opts opts;
        char **accessions;
        size_t n;
        volatile int *stop;
    } sims[2];
    volatile int stop;
};

static void *sim_thread(void *arg)
{
    struct demo_sim *ds = arg;
    sim_stats st;
    errinfo ei = {0};
    if (sim_run(&ds->opts, &st, ds->stop, &ei))
        log_warn("demo analyzer: %s", ei.message);
    return NULL;
}

/* Received specimens with tests still to do: whole blood to the HL7
 * analyzer (hematology), the rest to the ASTM one (chemistry). */
static err_t pending_specimens(const char *url, struct demo_analyzers *a, errinfo *ei)
{
    db *d = NULL;
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_open(url, &d, ei);
    if (!rc)
        rc = db_query(d, &st, ei,
                      "SELECT s.accession, s.specimen_type FROM specimens s"
                      " WHERE s.status IN ('received', 'in-process') AND EXISTS (SELECT 1 FROM"
                      " order_tests t WHERE t.specimen_id = s.id AND t.status IN ('ordered',"
                      " 'in-progress')) ORDER BY s.accession LIMIT 200",
                      "");
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        struct demo_sim *ds = &a->sims[strcmp(db_col_text(st, 1), "whole blood") ? 0 : 1];
        char **v = realloc(ds->accessions, (ds->n + 1) * sizeof(*v));
        if (!v || !(v[ds->n] = strdup(db_col_text(st, 0)))) {
            if (v)
                ds->accessions = v;
            rc = ERR_NOMEM;
            break;
        }
        ds->accessions = v;
        ds->n++;
    }
    db_finalize(st);
    db_close(d);
    return rc;
}

err_t app_demo_analyzers_start(const char *url, int mllp_port, int astm_port, demo_analyzers **out,
                               errinfo *ei)
{
    struct demo_analyzers *a = calloc(1, sizeof(*a));
    *out = NULL;
    if (!a)
        return ERR_NOMEM;
    err_t rc = pending_specimens(url, a, ei);
    for (int i = 0; !rc && i < 2; i++) {
        struct demo_sim *ds = &a->sims[i];
        int port = i == 0 ? astm_port : mllp_port;
        if (ds->n == 0 || port == 0)
            continue;
        ds->opts = (sim_opts){
            .protocol = i == 0 ? SIM_ASTM : SIM_HL7,
            .host = "127.0.0.1",
            .port = (unsigned)port,
            .specimens = (const char *const *)ds->accessions,
            .nspecimens = ds->n,
            .rate = 0.2, /* one results message every 5 s: watchable */
        };
        ds->stop = &a->stop;
        ds->started = pthread_create(&ds->thread, NULL, sim_thread, ds) == 0;
        if (ds->started)
            printf("demo analyzer %s (%s) will result %zu specimen(s) on port %d\n",
                   i == 0 ? "CHEM-1" : "HEME-1", i == 0 ? "ASTM" : "HL7", ds->n, port);
    }
    if (rc) {
        app_demo_analyzers_stop(a);
        return rc;
    }
    *out = a;
    return ERR_OK;
}

void app_demo_analyzers_stop(demo_analyzers *a)
{
    if (!a)
        return;
    a->stop = 1;
    for (int i = 0; i < 2; i++) {
        if (a->sims[i].started)
            pthread_join(a->sims[i].thread, NULL);
        for (size_t k = 0; k < a->sims[i].n; k++)
            free(a->sims[i].accessions[k]);
        free(a->sims[i].accessions);
    }
    free(a);
}
