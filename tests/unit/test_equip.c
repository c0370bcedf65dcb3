/*
 * test_equip.c - equipment (src/equip/). The asset register on a real
 * database: the class table, registration and its refusals (each naming the
 * field, nothing written), the instrument link (an instrument of the
 * register, one asset each), the list and its filters and pages, edits,
 * status changes (a reason to take a device out of service, retirement
 * final), the import of a register (all or nothing); storage units and
 * their limits.
 *
 * The database suite runs on BENCHSIDE_TEST_DB (a PostgreSQL database that
 * may be reused between runs) or a temporary SQLite file; tags and names
 * carry a random suffix made once per run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "equip/asset.h"
#include "equip/calibration.h"
#include "equip/checklist.h"
#include "equip/fitness.h"
#include "equip/maintenance.h"
#include "equip/schedule.h"
#include "equip/storage.h"
#include "lab/instrument.h"
#include "testdb.h"

#define EQ_DAY (86400LL * 1000000LL)

static db *eq_db;
static char eq_url[512], eq_tmp[256], eq_sfx[9];
static const audit_ctx eq_ctx = {NULL, "test", "test"};

static int64_t eq_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = -1;
    err_t rc = testdb_scalar(eq_db, sql, arg, &v, &ei);
    if (rc && rc != ERR_NOT_FOUND)
        fail_msg("%s: %s", sql, ei.message);
    return rc ? -1 : v;
}

static int64_t eq_head(void)
{
    return eq_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

static int64_t eq_assets(void)
{
    return eq_scalar("SELECT COUNT(*) FROM assets", NULL);
}

static json_t *eq_parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

/* A name made unique to the run: "<base>-<suffix>" into a rotating buffer. */
static const char *eq_name(const char *base)
{
    static char out[8][48];
    static int k;
    char *s = out[k++ % 8];
    snprintf(s, 48, "%s-%s", base, eq_sfx);
    return s;
}

/* YYYY-MM-DD of now plus days. */
static const char *eq_date(int days)
{
    static char out[4][11];
    static int k;
    char *d = out[k++ % 4];
    time_format_date(time_now_us() + days * EQ_DAY, d);
    return d;
}

/* The body of an asset: tag, class and extra members (",\"k\":v" or ""). */
static json_t *eq_asset_body(const char *tag, const char *cls, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"tag\":\"%s\",\"class\":\"%s\",\"manufacturer\":\"Beckman Coulter\","
             "\"model\":\"AU680\",\"serial\":\"SN-%s\",\"location\":\"Core lab, bench 3\","
             "\"risk_class\":\"medium\",\"owner\":\"Clinical chemistry\"%s}",
             tag, cls, tag, extra);
    return eq_parse(text);
}

static json_t *eq_create(const char *tag, const char *cls, const char *extra)
{
    errinfo ei = {0};
    json_t *body = eq_asset_body(tag, cls, extra), *out = NULL;
    err_t rc = equip_asset_create(eq_db, &eq_ctx, body, &out, &ei);
    json_decref(body);
    if (rc)
        fail_msg("equip_asset_create %s: %s (%s)", tag, ei.message, ei.field);
    return out;
}

static const char *eq_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* An instrument of the interface register named name. */
static void eq_instrument(const char *name)
{
    char text[512];
    errinfo ei = {0};
    int n = 0;
    snprintf(text, sizeof(text),
             "{\"instruments\":[{\"name\":\"%s\",\"kind\":\"analyzer\",\"protocol\":\"astm\","
             "\"match\":{\"sender\":\"%s\"}}]}",
             name, name);
    json_t *doc = eq_parse(text);
    if (instrument_import(eq_db, &eq_ctx, doc, &n, &ei))
        fail_msg("instrument_import: %s", ei.message);
    json_decref(doc);
}

/* ------------------------------------------------------------- the register */

static void test_classes_and_names(void **state)
{
    (void)state;
    static const char *const required[] = {"chemistry-analyzer",
                                           "hematology-analyzer",
                                           "immunoassay-analyzer",
                                           "coagulation-analyzer",
                                           "urinalysis-analyzer",
                                           "blood-gas-analyzer",
                                           "poct",
                                           "mri",
                                           "ct",
                                           "xray",
                                           "ultrasound",
                                           "mammography",
                                           "ecg",
                                           "patient-monitor",
                                           "pulse-oximeter",
                                           "defibrillator",
                                           "infusion-pump",
                                           "centrifuge",
                                           "autoclave",
                                           "cryostat",
                                           "microtome",
                                           "refrigerator",
                                           "freezer",
                                           "incubator",
                                           "biosafety-cabinet",
                                           "pipette",
                                           "balance",
                                           "thermometer",
                                           "calibration-standard"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!equip_class_valid(required[i]))
            fail_msg("class %s is missing", required[i]);
    assert_false(equip_class_valid("toaster"));
    assert_false(equip_class_valid("MRI"));
    assert_false(equip_class_valid(""));
    assert_false(equip_class_valid(NULL));
    assert_non_null(strstr(equip_class_names(), "calibration-standard"));
    assert_true(equip_name_valid("BME-00412"));
    assert_true(equip_name_valid("fridge_2.a"));
    assert_true(equip_name_valid("A"));
    assert_true(equip_name_valid("12345678901234567890123456789012")); /* 32 */
    assert_false(equip_name_valid("123456789012345678901234567890123"));
    assert_false(equip_name_valid(""));
    assert_false(equip_name_valid("BME 1"));
    assert_false(equip_name_valid("BME/1"));
    assert_false(equip_name_valid("BMÉ"));
    assert_false(equip_name_valid(NULL));
}

static void test_create_and_read(void **state)
{
    (void)state;
    char inst[48];
    snprintf(inst, sizeof(inst), "%s", eq_name("CHEM"));
    eq_instrument(inst);
    char extra[256];
    snprintf(extra, sizeof(extra), ",\"install_date\":\"2024-03-01\",\"instrument\":\"%s\"", inst);
    int64_t head = eq_head();
    json_t *a = eq_create(eq_name("BME-1"), "chemistry-analyzer", extra);
    assert_string_equal(eq_str(a, "tag"), eq_name("BME-1"));
    assert_string_equal(eq_str(a, "class"), "chemistry-analyzer");
    assert_string_equal(eq_str(a, "status"), "in-service");
    assert_true(json_is_null(json_object_get(a, "status_reason")));
    assert_string_equal(eq_str(a, "install_date"), "2024-03-01");
    assert_string_equal(eq_str(a, "instrument"), inst);
    assert_string_equal(eq_str(a, "risk_class"), "medium");
    assert_string_equal(eq_str(a, "created_by"), "test");
    assert_int_equal(strlen(eq_str(a, "id")), ID_LEN);
    assert_int_equal(eq_head(), head + 1);
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND"
                               " action = 'equip.asset.create'",
                               eq_str(a, "id")),
                     1);

    errinfo ei = {0};
    json_t *got = NULL;
    assert_int_equal(equip_asset_get(eq_db, eq_name("BME-1"), &got, &ei), ERR_OK);
    assert_true(json_equal(got, a));
    json_decref(got);
    assert_int_equal(equip_asset_get(eq_db, eq_name("NOPE"), &got, &ei), ERR_NOT_FOUND);
    assert_string_equal(ei.field, "tag");
    assert_null(got);

    char id[ID_LEN + 1], status[EQUIP_STATUS_MAX];
    assert_int_equal(equip_asset_id(eq_db, eq_name("BME-1"), "asset", id, status, &ei), ERR_OK);
    assert_string_equal(id, eq_str(a, "id"));
    assert_string_equal(status, "in-service");
    assert_int_equal(equip_asset_id(eq_db, eq_name("NOPE"), "standard", id, NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "standard");

    /* the tag and the instrument link are taken */
    head = eq_head();
    int64_t n = eq_assets();
    json_t *body = eq_asset_body(eq_name("BME-1"), "centrifuge", ""), *out = NULL;
    assert_int_equal(equip_asset_create(eq_db, &eq_ctx, body, &out, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "tag");
    json_decref(body);
    body = eq_asset_body(eq_name("BME-2"), "chemistry-analyzer", extra);
    assert_int_equal(equip_asset_create(eq_db, &eq_ctx, body, &out, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "instrument");
    assert_non_null(strstr(ei.message, eq_name("BME-1")));
    json_decref(body);
    assert_null(out);
    assert_int_equal(eq_assets(), n);
    assert_int_equal(eq_head(), head);
    json_decref(a);
}

static void test_create_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *tag, *cls, *extra, *field;
        err_t code;
    } bad[] = {
        {"BAD TAG", "centrifuge", "", "tag", ERR_INVALID},
        {"OK-1", "toaster", "", "class", ERR_INVALID},
        {"OK-1", "centrifuge", ",\"risk_class\":\"extreme\"", "risk_class", ERR_INVALID},
        {"OK-1", "centrifuge", ",\"install_date\":\"2024-02-30\"", "install_date", ERR_INVALID},
        {"OK-1", "centrifuge", ",\"install_date\":\"01/02/2024\"", "install_date", ERR_INVALID},
        {"OK-1", "centrifuge", ",\"instrument\":\"NO-SUCH-INSTRUMENT\"", "instrument", ERR_INVALID},
        {"OK-1", "centrifuge", ",\"status\":\"broken\"", "status", ERR_INVALID},
        {"OK-1", "centrifuge", ",\"status\":\"out-of-service\"", "status_reason", ERR_INVALID},
        {"OK-1", "centrifuge", ",\"status\":\"retired\",\"status_reason\":\" \"", "status_reason",
         ERR_INVALID},
        {"OK-1", "centrifuge", ",\"colour\":\"blue\"", "colour", ERR_UNKNOWN_FIELD},
        {"OK-1", "centrifuge", ",\"model\":7", "model", ERR_INVALID},
    };
    int64_t n = eq_assets(), head = eq_head();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errinfo ei = {0};
        json_t *body = eq_asset_body(bad[i].tag, bad[i].cls, bad[i].extra), *out = NULL;
        /* a later member replaces an earlier one of the same name */
        err_t rc = equip_asset_create(eq_db, &eq_ctx, body, &out, &ei);
        json_decref(body);
        assert_null(out);
        if (rc != bad[i].code || strcmp(ei.field, bad[i].field))
            fail_msg("case %zu: got %s '%s' (%s)", i, err_name(rc), ei.field, ei.message);
    }
    /* the install date is not in the future; a missing field is named */
    errinfo ei = {0};
    char extra[64];
    snprintf(extra, sizeof(extra), ",\"install_date\":\"%s\"", eq_date(2));
    json_t *body = eq_asset_body("OK-2", "centrifuge", extra), *out = NULL;
    assert_int_equal(equip_asset_create(eq_db, &eq_ctx, body, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "install_date");
    json_object_del(body, "install_date");
    json_object_del(body, "owner");
    assert_int_equal(equip_asset_create(eq_db, &eq_ctx, body, &out, &ei), ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "owner");
    json_decref(body);
    assert_int_equal(eq_assets(), n);
    assert_int_equal(eq_head(), head);
    /* today is not in the future */
    snprintf(extra, sizeof(extra), ",\"install_date\":\"%s\"", eq_date(0));
    json_decref(eq_create(eq_name("TODAY"), "balance", extra));
}

static void test_list_filters_and_pages(void **state)
{
    (void)state;
    char loc[64], extra[160];
    snprintf(loc, sizeof(loc), "Room %s", eq_sfx);
    snprintf(extra, sizeof(extra), ",\"location\":\"%s\"", loc);
    json_decref(eq_create(eq_name("L-C"), "centrifuge", extra));
    json_decref(eq_create(eq_name("L-A"), "centrifuge", extra));
    json_decref(eq_create(eq_name("L-B"), "autoclave", extra));
    snprintf(extra, sizeof(extra),
             ",\"location\":\"%s\",\"status\":\"out-of-service\",\"status_reason\":\"rotor "
             "imbalance\"",
             loc);
    json_decref(eq_create(eq_name("L-D"), "centrifuge", extra));

    errinfo ei = {0};
    json_t *items = NULL, *next = NULL;
    assert_int_equal(equip_asset_list(eq_db, NULL, NULL, loc, NULL, 10, &items, &next, &ei),
                     ERR_OK);
    assert_int_equal(json_array_size(items), 4);
    assert_null(next);
    /* by tag */
    assert_string_equal(eq_str(json_array_get(items, 0), "tag"), eq_name("L-A"));
    assert_string_equal(eq_str(json_array_get(items, 3), "tag"), eq_name("L-D"));
    json_decref(items);

    assert_int_equal(
        equip_asset_list(eq_db, "centrifuge", "in-service", loc, NULL, 10, &items, &next, &ei),
        ERR_OK);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(eq_str(json_array_get(items, 0), "tag"), eq_name("L-A"));
    assert_string_equal(eq_str(json_array_get(items, 1), "tag"), eq_name("L-C"));
    json_decref(items);
    assert_int_equal(
        equip_asset_list(eq_db, NULL, "out-of-service", loc, NULL, 10, &items, &next, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(eq_str(json_array_get(items, 0), "status_reason"), "rotor imbalance");
    json_decref(items);

    /* pages of two: A B | C D */
    assert_int_equal(equip_asset_list(eq_db, NULL, NULL, loc, NULL, 2, &items, &next, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(next), eq_name("L-B"));
    json_decref(items);
    char cursor[64];
    snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
    json_decref(next);
    assert_int_equal(equip_asset_list(eq_db, NULL, NULL, loc, cursor, 2, &items, &next, &ei),
                     ERR_OK);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(eq_str(json_array_get(items, 0), "tag"), eq_name("L-C"));
    assert_null(next);
    json_decref(items);

    assert_int_equal(equip_asset_list(eq_db, "toaster", NULL, NULL, NULL, 2, &items, &next, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "class");
    assert_int_equal(equip_asset_list(eq_db, NULL, "gone", NULL, NULL, 2, &items, &next, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "status");
    assert_null(items);
}

static void test_update(void **state)
{
    (void)state;
    char inst[48];
    snprintf(inst, sizeof(inst), "%s", eq_name("HEME"));
    eq_instrument(inst);
    json_t *a =
        eq_create(eq_name("UPD"), "hematology-analyzer", ",\"install_date\":\"2023-05-05\"");
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"class\":\"hematology-analyzer\",\"manufacturer\":\"Sysmex\",\"model\":\"XN-550\","
             "\"serial\":\"SN-9\",\"location\":\"Core lab, bench 5\",\"risk_class\":\"high\","
             "\"owner\":\"Hematology\",\"instrument\":\"%s\"}",
             inst);
    json_t *body = eq_parse(text), *out = NULL;
    errinfo ei = {0};
    assert_int_equal(equip_asset_update(eq_db, &eq_ctx, eq_name("UPD"), body, &out, &ei), ERR_OK);
    assert_string_equal(eq_str(out, "model"), "XN-550");
    assert_string_equal(eq_str(out, "risk_class"), "high");
    assert_string_equal(eq_str(out, "instrument"), inst);
    /* absent: cleared */
    assert_true(json_is_null(json_object_get(out, "install_date")));
    assert_string_equal(eq_str(out, "tag"), eq_name("UPD"));
    assert_string_equal(eq_str(out, "created_at"), eq_str(a, "created_at"));
    json_decref(out);
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND"
                               " action = 'equip.asset.update' AND detail LIKE '%XN-550%'",
                               eq_str(a, "id")),
                     1);

    /* refused: a bad class, the tag or status in the body, an unknown tag */
    int64_t head = eq_head();
    json_object_set_new(body, "class", json_string("toaster"));
    assert_int_equal(equip_asset_update(eq_db, &eq_ctx, eq_name("UPD"), body, &out, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "class");
    json_object_set_new(body, "class", json_string("hematology-analyzer"));
    json_object_set_new(body, "status", json_string("retired"));
    assert_int_equal(equip_asset_update(eq_db, &eq_ctx, eq_name("UPD"), body, &out, &ei),
                     ERR_UNKNOWN_FIELD);
    assert_string_equal(ei.field, "status");
    json_object_del(body, "status");
    json_object_del(body, "instrument");
    assert_int_equal(equip_asset_update(eq_db, &eq_ctx, eq_name("NONE"), body, &out, &ei),
                     ERR_NOT_FOUND);
    assert_int_equal(eq_head(), head);

    /* retired: its record is closed */
    char id[ID_LEN + 1];
    assert_int_equal(equip_asset_id(eq_db, eq_name("UPD"), "tag", id, NULL, &ei), ERR_OK);
    assert_int_equal(
        equip_asset_set_status(eq_db, &eq_ctx, id, "retired", "replaced by a new analyzer", &ei),
        ERR_OK);
    head = eq_head();
    assert_int_equal(equip_asset_update(eq_db, &eq_ctx, eq_name("UPD"), body, &out, &ei),
                     ERR_CONFLICT);
    assert_string_equal(ei.field, "tag");
    assert_null(out);
    assert_int_equal(eq_head(), head);
    json_decref(body);
    json_decref(a);
}

static void test_status(void **state)
{
    (void)state;
    json_t *a = eq_create(eq_name("ST"), "defibrillator", ""), *out = NULL;
    const char *id = eq_str(a, "id");
    errinfo ei = {0};
    int64_t head = eq_head();
    /* a reason is needed out of service; an unknown status; the same status */
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "out-of-service", NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "reason");
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "out-of-service", "  ", &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "reason");
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "lost", "x", &ei), ERR_INVALID);
    assert_string_equal(ei.field, "status");
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "in-service", NULL, &ei),
                     ERR_CONFLICT);
    assert_string_equal(ei.field, "status");
    assert_int_equal(
        equip_asset_set_status(eq_db, &eq_ctx, "01NOSUCHASSET0000000000000", "retired", "x", &ei),
        ERR_NOT_FOUND);
    assert_int_equal(eq_head(), head);

    /* out of service with its reason, back in service, retired for good */
    json_t *body = eq_parse("{\"status\":\"out-of-service\",\"reason\":\"failed its daily "
                            "check: pads expired\"}");
    assert_int_equal(equip_asset_status(eq_db, &eq_ctx, eq_name("ST"), body, &out, &ei), ERR_OK);
    json_decref(body);
    assert_string_equal(eq_str(out, "status"), "out-of-service");
    assert_string_equal(eq_str(out, "status_reason"), "failed its daily check: pads expired");
    json_decref(out);
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "in-service", NULL, &ei), ERR_OK);
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "retired", "end of life", &ei),
                     ERR_OK);
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND"
                               " action = 'equip.asset.status'",
                               id),
                     3);
    head = eq_head();
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "in-service", "repaired", &ei),
                     ERR_CONFLICT);
    assert_string_equal(ei.field, "status");
    assert_non_null(strstr(ei.message, "retired"));
    assert_int_equal(
        equip_asset_set_status(eq_db, &eq_ctx, id, "out-of-service", "still broken", &ei),
        ERR_CONFLICT);
    body = eq_parse("{\"status\":\"in-service\"}");
    assert_int_equal(equip_asset_status(eq_db, &eq_ctx, eq_name("NONE"), body, &out, &ei),
                     ERR_NOT_FOUND);
    json_decref(body);
    assert_int_equal(eq_head(), head);
    assert_int_equal(
        eq_scalar("SELECT COUNT(*) FROM assets WHERE id = ? AND status = 'retired'", id), 1);

    /* inside a caller's transaction, as a work order does: undone with it */
    json_t *b = eq_create(eq_name("ST2"), "infusion-pump", "");
    assert_int_equal(db_begin(eq_db, &ei), ERR_OK);
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, eq_str(b, "id"), "out-of-service",
                                            "occlusion alarm", &ei),
                     ERR_OK);
    db_rollback(eq_db);
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM assets WHERE id = ? AND status = 'in-service'",
                               eq_str(b, "id")),
                     1);
    json_decref(b);
    json_decref(a);
}

/* A register of three: an MRI, an ECG and a pulse oximeter of risk class risk. */
static json_t *eq_import_doc(const char *t1, const char *t2, const char *t3, const char *risk)
{
    char text[4096];
    snprintf(
        text, sizeof(text),
        "[{\"tag\":\"%s\",\"class\":\"mri\",\"manufacturer\":\"Siemens\",\"model\":\"Magnetom\","
        "\"serial\":\"1\",\"location\":\"Imaging\",\"risk_class\":\"high\",\"owner\":\"Radiology\"}"
        ","
        "{\"tag\":\"%s\",\"class\":\"ecg\",\"manufacturer\":\"GE\",\"model\":\"MAC 2000\","
        "\"serial\":\"2\",\"location\":\"Cardiology\",\"risk_class\":\"medium\","
        "\"owner\":\"Cardiology\"},"
        "{\"tag\":\"%s\",\"class\":\"pulse-oximeter\",\"manufacturer\":\"Masimo\","
        "\"model\":\"Rad-97\",\"serial\":\"3\",\"location\":\"Ward 4\",\"risk_class\":\"%s\","
        "\"owner\":\"Nursing\"}]",
        t1, t2, t3, risk);
    return eq_parse(text);
}

static void test_import_all_or_nothing(void **state)
{
    (void)state;
    errinfo ei = {0};
    int count = -1;
    int64_t n = eq_assets(), head = eq_head();
    json_t *doc = eq_import_doc(eq_name("IMP-1"), eq_name("IMP-2"), eq_name("IMP-3"), "severe");
    assert_int_equal(equip_asset_import(eq_db, &eq_ctx, doc, &count, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "assets[2].risk_class");
    json_decref(doc);
    /* a tag twice in the document */
    doc = eq_import_doc(eq_name("IMP-1"), eq_name("IMP-2"), eq_name("IMP-1"), "low");
    assert_int_equal(equip_asset_import(eq_db, &eq_ctx, doc, &count, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "assets[2].tag");
    json_decref(doc);
    /* a tag taken in the register: found while writing, all undone */
    doc = eq_import_doc(eq_name("IMP-1"), eq_name("IMP-2"), eq_name("BME-1"), "low");
    assert_int_equal(equip_asset_import(eq_db, &eq_ctx, doc, &count, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "assets[2].tag");
    json_decref(doc);
    doc = eq_parse("{\"assets\":[]}");
    assert_int_equal(equip_asset_import(eq_db, &eq_ctx, doc, &count, &ei), ERR_INVALID);
    json_decref(doc);
    doc = eq_parse("[7]");
    assert_int_equal(equip_asset_import(eq_db, &eq_ctx, doc, &count, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "assets[0]");
    json_decref(doc);
    assert_int_equal(count, 0);
    assert_int_equal(eq_assets(), n);
    assert_int_equal(eq_head(), head);

    doc = eq_import_doc(eq_name("IMP-1"), eq_name("IMP-2"), eq_name("IMP-3"), "low");
    assert_int_equal(equip_asset_import(eq_db, &eq_ctx, doc, &count, &ei), ERR_OK);
    json_decref(doc);
    assert_int_equal(count, 3);
    assert_int_equal(eq_assets(), n + 3);
    assert_int_equal(eq_head(), head + 1); /* one event for the document */
}

/* ------------------------------------------------------------ storage units */

static void test_storage_units(void **state)
{
    (void)state;
    json_t *fridge = eq_create(eq_name("FR-A"), "refrigerator", "");
    char text[512];
    errinfo ei = {0};
    json_t *out = NULL;
    snprintf(text, sizeof(text),
             "{\"name\":\"%s\",\"kind\":\"refrigerator\",\"asset\":\"%s\",\"low\":2,\"high\":8,"
             "\"description\":\"Reagent refrigerator, core lab\"}",
             eq_name("FRIDGE"), eq_name("FR-A"));
    json_t *body = eq_parse(text);
    err_t rc = equip_storage_create(eq_db, &eq_ctx, body, &out, &ei);
    if (rc)
        fail_msg("equip_storage_create: %s %s (%s)", err_name(rc), ei.message, ei.field);
    assert_string_equal(eq_str(out, "name"), eq_name("FRIDGE"));
    assert_string_equal(eq_str(out, "kind"), "refrigerator");
    assert_string_equal(eq_str(out, "asset"), eq_name("FR-A"));
    assert_true(json_number_value(json_object_get(out, "low")) == 2.0);
    assert_true(json_number_value(json_object_get(out, "high")) == 8.0);
    json_decref(out);
    /* the name is taken */
    int64_t head = eq_head();
    assert_int_equal(equip_storage_create(eq_db, &eq_ctx, body, &out, &ei), ERR_CONFLICT);
    assert_string_equal(ei.field, "name");
    json_decref(body);

    equip_storage_unit u;
    assert_int_equal(equip_storage_find(eq_db, eq_name("FRIDGE"), "unit", &u, &ei), ERR_OK);
    assert_string_equal(u.asset_id, eq_str(fridge, "id"));
    assert_string_equal(u.asset_tag, eq_name("FR-A"));
    assert_true(u.low == 2.0 && u.high == 8.0);
    assert_int_equal(equip_storage_find(eq_db, eq_name("NONE"), "unit", &u, &ei), ERR_NOT_FOUND);
    assert_string_equal(ei.field, "unit");

    static const struct {
        const char *body, *field;
        err_t code;
    } bad[] = {
        {"{\"name\":\"X Y\",\"kind\":\"room\",\"low\":15,\"high\":25}", "name", ERR_INVALID},
        {"{\"name\":\"XY\",\"kind\":\"cupboard\",\"low\":15,\"high\":25}", "kind", ERR_INVALID},
        {"{\"name\":\"XY\",\"kind\":\"freezer\",\"low\":-20,\"high\":-20}", "high", ERR_INVALID},
        {"{\"name\":\"XY\",\"kind\":\"freezer\",\"low\":-15,\"high\":-25}", "high", ERR_INVALID},
        {"{\"name\":\"XY\",\"kind\":\"freezer\",\"low\":-1e9,\"high\":-25}", "low", ERR_INVALID},
        {"{\"name\":\"XY\",\"kind\":\"room\",\"low\":\"15\",\"high\":25}", "low", ERR_INVALID},
        {"{\"name\":\"XY\",\"kind\":\"room\",\"high\":25}", "low", ERR_MISSING_FIELD},
        {"{\"name\":\"XY\",\"kind\":\"room\",\"low\":15,\"high\":25,\"asset\":\"NO-SUCH\"}",
         "asset", ERR_INVALID},
    };
    int64_t units = eq_scalar("SELECT COUNT(*) FROM storage_units", NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        body = eq_parse(bad[i].body);
        rc = equip_storage_create(eq_db, &eq_ctx, body, &out, &ei);
        json_decref(body);
        assert_null(out);
        if (rc != bad[i].code || strcmp(ei.field, bad[i].field))
            fail_msg("case %zu: got %s '%s' (%s)", i, err_name(rc), ei.field, ei.message);
    }
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM storage_units", NULL), units);
    assert_int_equal(eq_head(), head);

    /* a room without an appliance; the list by name */
    snprintf(text, sizeof(text), "{\"name\":\"%s\",\"kind\":\"room\",\"low\":15,\"high\":25}",
             eq_name("ROOM"));
    body = eq_parse(text);
    assert_int_equal(equip_storage_create(eq_db, &eq_ctx, body, &out, &ei), ERR_OK);
    assert_true(json_is_null(json_object_get(out, "asset")));
    json_decref(out);
    json_decref(body);
    json_t *items = NULL;
    assert_int_equal(equip_storage_list(eq_db, &items, &ei), ERR_OK);
    int seen = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *name = eq_str(it, "name");
        seen += !strcmp(name, eq_name("FRIDGE")) || !strcmp(name, eq_name("ROOM"));
    }
    assert_int_equal(seen, 2);
    json_decref(items);
    json_decref(fridge);
}

/* ------------------------------------------------------------ due, pure */

static int64_t eq_at(const char *iso)
{
    int64_t t = 0;
    errinfo ei = {0};
    if (time_parse_iso(iso, strlen(iso), &t, &ei))
        fail_msg("%s: %s", iso, ei.message);
    return t;
}

static void assert_due(equip_due d, const char *due_at, const char *overdue_at,
                       equip_due_state state)
{
    char a[TIME_ISO_LEN], b[TIME_ISO_LEN];
    time_format_iso(d.due_at, a);
    time_format_iso(d.overdue_at, b);
    assert_string_equal(a, due_at);
    assert_string_equal(b, overdue_at);
    if (d.state != state)
        fail_msg("state %s, want %s", equip_due_state_name(d.state), equip_due_state_name(state));
}

/*
 * Worked examples (days counted by hand on the calendar):
 *
 * 1. Calibration every 90 days, no grace, last done 2026-07-04 09:00 UTC.
 *    July 4 + 27 days = July 31, + 31 = Aug 31 (58), + 30 = Sep 30 (88),
 *    + 2 = Oct 2 (90): due 2026-10-02 09:00, overdue after that instant.
 *    Looking a week ahead, it is "due" from 2026-09-25 09:00.
 * 2. Maintenance every 180 days with 14 days of grace, never done; the
 *    analyzer was installed 2026-01-10, the schedule made 2026-03-01 10:00
 *    (later: it counts). March 1 + 30 = Mar 31, Apr 30 (60), May 31 (91),
 *    Jun 30 (121), Jul 31 (152), + 28 = Aug 28 (180): due 2026-08-28 10:00;
 *    overdue after 2026-09-11 10:00.
 * 3. Never done, installed 2026-05-20 after the schedule was made
 *    (2026-03-01): every 30 days from the install date, due 2026-06-19.
 * 4. A daily check done 2026-11-20 07:30: due 2026-11-21 07:30. At 20:00
 *    the same day it is due within the week, but not within 0 days.
 */
static void test_due_worked_examples(void **state)
{
    (void)state;
    int64_t last = eq_at("2026-07-04T09:00:00Z");
    int64_t made = eq_at("2026-01-01T00:00:00Z");
    const char *due = "2026-10-02T09:00:00.000000Z";
    assert_due(equip_due_compute(last, 0, made, 90, 0, 7, eq_at("2026-09-24T12:00:00Z")), due, due,
               EQUIP_DUE_OK);
    assert_due(equip_due_compute(last, 0, made, 90, 0, 7, eq_at("2026-09-25T08:59:59Z")), due, due,
               EQUIP_DUE_OK);
    assert_due(equip_due_compute(last, 0, made, 90, 0, 7, eq_at("2026-09-25T09:00:00Z")), due, due,
               EQUIP_DUE_SOON);
    assert_due(equip_due_compute(last, 0, made, 90, 0, 7, eq_at("2026-10-02T09:00:00Z")), due, due,
               EQUIP_DUE_SOON);
    assert_due(equip_due_compute(last, 0, made, 90, 0, 7, eq_at("2026-10-02T09:00:00.000001Z")),
               due, due, EQUIP_DUE_OVERDUE);

    int64_t install = eq_at("2026-01-10"), created = eq_at("2026-03-01T10:00:00Z");
    const char *due2 = "2026-08-28T10:00:00.000000Z", *over2 = "2026-09-11T10:00:00.000000Z";
    assert_due(equip_due_compute(0, install, created, 180, 14, 7, eq_at("2026-08-20T00:00:00Z")),
               due2, over2, EQUIP_DUE_OK);
    assert_due(equip_due_compute(0, install, created, 180, 14, 7, eq_at("2026-09-01T00:00:00Z")),
               due2, over2, EQUIP_DUE_SOON); /* past due, within its grace */
    assert_due(equip_due_compute(0, install, created, 180, 14, 7, eq_at("2026-09-11T10:00:00Z")),
               due2, over2, EQUIP_DUE_SOON);
    assert_due(equip_due_compute(0, install, created, 180, 14, 7, eq_at("2026-09-12T00:00:00Z")),
               due2, over2, EQUIP_DUE_OVERDUE);
    /* the last record counts, once there is one */
    assert_due(equip_due_compute(eq_at("2026-09-10T08:00:00Z"), install, created, 180, 14, 7,
                                 eq_at("2026-09-12T00:00:00Z")),
               "2027-03-09T08:00:00.000000Z", "2027-03-23T08:00:00.000000Z", EQUIP_DUE_OK);

    const char *due3 = "2026-06-19T00:00:00.000000Z";
    assert_due(equip_due_compute(0, eq_at("2026-05-20"), eq_at("2026-03-01T00:00:00Z"), 30, 0, 7,
                                 eq_at("2026-06-01T00:00:00Z")),
               due3, due3, EQUIP_DUE_OK);

    int64_t daily = eq_at("2026-11-20T07:30:00Z"), evening = eq_at("2026-11-20T20:00:00Z");
    const char *due4 = "2026-11-21T07:30:00.000000Z";
    assert_due(equip_due_compute(daily, 0, made, 1, 0, 7, evening), due4, due4, EQUIP_DUE_SOON);
    assert_due(equip_due_compute(daily, 0, made, 1, 0, 0, evening), due4, due4, EQUIP_DUE_OK);
    assert_string_equal(equip_due_state_name(EQUIP_DUE_OK), "ok");
    assert_string_equal(equip_due_state_name(EQUIP_DUE_SOON), "due");
    assert_string_equal(equip_due_state_name(EQUIP_DUE_OVERDUE), "overdue");
}

static void test_point_within(void **state)
{
    (void)state;
    /* a 100 g mass, tolerance 0.2 g: 100.2 is on the limit although
     * 100.2 - 100 is 0.20000000000000284 as a double */
    assert_true(100.2 - 100 > 0.2);
    assert_true(equip_point_within(100.2, 100, 0.2));
    assert_true(equip_point_within(99.8, 100, 0.2));
    assert_false(equip_point_within(100.21, 100, 0.2));
    assert_false(equip_point_within(99.79, 100, 0.2));
    /* 37.0 degrees, 0.1 */
    assert_true(equip_point_within(36.9, 37.0, 0.1));
    assert_false(equip_point_within(36.89, 37.0, 0.1));
    /* negative nominals: a freezer probe at -80 */
    assert_true(equip_point_within(-80.5, -80, 0.5));
    assert_false(equip_point_within(-80.51, -80, 0.5));
}

/* ------------------------------------------------------ checklists, pure */

/* The fields of the shipped template code. */
static json_t *eq_template(const char *code)
{
    json_error_t je;
    json_t *doc = json_loadb(equip_checklists_json, equip_checklists_json_len, 0, &je), *t;
    size_t i;
    if (!doc)
        fail_msg("checklists.json: %s", je.text);
    json_array_foreach(json_object_get(doc, "checklists"), i, t)
    {
        if (!strcmp(eq_str(t, "code"), code)) {
            json_t *fields = json_incref(json_object_get(t, "fields"));
            json_decref(doc);
            return fields;
        }
    }
    fail_msg("no template %s", code);
    return NULL;
}

/* Judge values (JSON text) against fields: the outcome, and the keys that
 * failed joined by ','. */
static err_t eq_judge(const json_t *fields, const char *values, bool *passed, char *failed,
                      size_t n, errinfo *ei)
{
    json_t *v = eq_parse(values), *bad = NULL, *f;
    size_t i, len = 0;
    memset(ei, 0, sizeof(*ei));
    failed[0] = '\0';
    err_t rc = equip_checklist_evaluate(fields, v, passed, &bad, ei);
    json_array_foreach(bad, i, f)
    {
        len += (size_t)snprintf(failed + len, n - len, "%s%s", i ? "," : "", eq_str(f, "key"));
    }
    json_decref(bad);
    json_decref(v);
    return rc;
}

static void test_shipped_templates_are_valid(void **state)
{
    (void)state;
    static const char *const codes[] = {"defib-daily", "autoclave-bowie-dick", "centrifuge-speed",
                                        "iec62353"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        errinfo ei = {0};
        json_t *f = eq_template(codes[i]);
        if (equip_checklist_check_fields(f, &ei))
            fail_msg("%s: %s (%s)", codes[i], ei.message, ei.field);
        json_decref(f);
    }
}

/* A defibrillator check: battery_ok and delivered_energy_j given. */
#define DEFIB_FMT                                                                                  \
    "{\"self_test_passed\":true,\"battery_ok\":%s,\"selected_energy_j\":150,"                      \
    "\"delivered_energy_j\":%s,\"pads_in_date\":true,\"cables_intact\":true}"
/* IEC 62353, class I, BF: earth resistance, equipment and applied-part leakage given. */
#define CLASS1_FMT                                                                                 \
    "{\"protection_class\":\"I\",\"applied_part_type\":\"BF\","                                    \
    "\"visual_inspection_ok\":true,\"protective_earth_resistance_ohm\":%s,"                        \
    "\"equipment_leakage_class_i_ua\":%s,\"applied_part_leakage_bf_ua\":%s,"                       \
    "\"functional_test_ok\":true}"

static void test_checklist_judging(void **state)
{
    (void)state;
    errinfo ei;
    bool ok = false;
    char failed[256];
    json_t *defib = eq_template("defib-daily");
    /* 150 J selected: delivered within 15%, 127.5 to 172.5 J */
    char text[512];
    snprintf(text, sizeof(text), DEFIB_FMT, "true", "127.5");
    assert_int_equal(eq_judge(defib, text, &ok, failed, sizeof(failed), &ei), ERR_OK);
    assert_true(ok);
    assert_string_equal(failed, "");
    snprintf(text, sizeof(text), DEFIB_FMT, "true", "172.5");
    assert_int_equal(eq_judge(defib, text, &ok, failed, sizeof(failed), &ei), ERR_OK);
    assert_true(ok);
    snprintf(text, sizeof(text), DEFIB_FMT, "false", "127.4");
    assert_int_equal(eq_judge(defib, text, &ok, failed, sizeof(failed), &ei), ERR_OK);
    assert_false(ok);
    assert_string_equal(failed, "battery_ok,delivered_energy_j");
    /* bad input names the field */
    assert_int_equal(eq_judge(defib,
                              "{\"self_test_passed\":true,\"battery_ok\":true,"
                              "\"selected_energy_j\":150,\"delivered_energy_j\":150,"
                              "\"pads_in_date\":true,\"cables_intact\":true,\"colour\":\"red\"}",
                              &ok, failed, sizeof(failed), &ei),
                     ERR_UNKNOWN_FIELD);
    assert_string_equal(ei.field, "values.colour");
    assert_int_equal(eq_judge(defib,
                              "{\"self_test_passed\":true,\"battery_ok\":true,"
                              "\"selected_energy_j\":150,\"delivered_energy_j\":150,"
                              "\"cables_intact\":true}",
                              &ok, failed, sizeof(failed), &ei),
                     ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "values.pads_in_date");
    assert_int_equal(eq_judge(defib,
                              "{\"self_test_passed\":true,\"battery_ok\":\"yes\","
                              "\"selected_energy_j\":150,\"delivered_energy_j\":150,"
                              "\"pads_in_date\":true,\"cables_intact\":true}",
                              &ok, failed, sizeof(failed), &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "values.battery_ok");
    json_decref(defib);

    /* centrifuge at 3000 rpm, within 5%: 2850 to 3150 */
    json_t *cf = eq_template("centrifuge-speed");
    assert_int_equal(
        eq_judge(cf, "{\"set_rpm\":3000,\"measured_rpm\":3150}", &ok, failed, sizeof(failed), &ei),
        ERR_OK);
    assert_true(ok);
    assert_int_equal(
        eq_judge(cf, "{\"set_rpm\":3000,\"measured_rpm\":2849}", &ok, failed, sizeof(failed), &ei),
        ERR_OK);
    assert_false(ok);
    assert_string_equal(failed, "measured_rpm");
    assert_int_equal(eq_judge(cf, "{\"set_rpm\":3000,\"measured_rpm\":\"3000\"}", &ok, failed,
                              sizeof(failed), &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "values.measured_rpm");
    json_decref(cf);

    /* IEC 62353: class I with a BF applied part */
    json_t *es = eq_template("iec62353");
    snprintf(text, sizeof(text), CLASS1_FMT, "0.3", "1000", "5000"); /* every limit, on it */
    assert_int_equal(eq_judge(es, text, &ok, failed, sizeof(failed), &ei), ERR_OK);
    assert_true(ok);
    snprintf(text, sizeof(text), CLASS1_FMT, "0.31", "1000.5", "4999");
    assert_int_equal(eq_judge(es, text, &ok, failed, sizeof(failed), &ei), ERR_OK);
    assert_false(ok);
    assert_string_equal(failed, "protective_earth_resistance_ohm,equipment_leakage_class_i_ua");
    /* class II, CF: no protective earth; 50 uA for the CF applied part */
    assert_int_equal(eq_judge(es,
                              "{\"protection_class\":\"II\",\"applied_part_type\":\"CF\","
                              "\"visual_inspection_ok\":true,\"equipment_leakage_class_ii_ua\":120,"
                              "\"applied_part_leakage_cf_ua\":51,\"functional_test_ok\":true}",
                              &ok, failed, sizeof(failed), &ei),
                     ERR_OK);
    assert_false(ok);
    assert_string_equal(failed, "applied_part_leakage_cf_ua");
    /* a field that does not apply, a choice not allowed, one that applies missing */
    assert_int_equal(
        eq_judge(es,
                 "{\"protection_class\":\"II\",\"applied_part_type\":\"CF\","
                 "\"visual_inspection_ok\":true,\"protective_earth_resistance_ohm\":0.1,"
                 "\"equipment_leakage_class_ii_ua\":120,\"applied_part_leakage_cf_ua\":5,"
                 "\"functional_test_ok\":true}",
                 &ok, failed, sizeof(failed), &ei),
        ERR_INVALID);
    assert_string_equal(ei.field, "values.protective_earth_resistance_ohm");
    assert_int_equal(eq_judge(es,
                              "{\"protection_class\":\"III\",\"applied_part_type\":\"CF\","
                              "\"visual_inspection_ok\":true,\"functional_test_ok\":true}",
                              &ok, failed, sizeof(failed), &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "values.protection_class");
    assert_int_equal(eq_judge(es,
                              "{\"protection_class\":\"I\",\"applied_part_type\":\"none\","
                              "\"visual_inspection_ok\":true,\"equipment_leakage_class_i_ua\":100,"
                              "\"functional_test_ok\":true}",
                              &ok, failed, sizeof(failed), &ei),
                     ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "values.protective_earth_resistance_ohm");
    json_decref(es);
}

static void test_template_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *fields, *field;
    } bad[] = {
        {"[]", "fields"},
        {"[{\"key\":\"A\",\"label\":\"a\",\"type\":\"text\"}]", "fields[0].key"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"date\"}]", "fields[0].type"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"text\"},{\"key\":\"a\",\"label\":\"b\","
         "\"type\":\"text\"}]",
         "fields[1].key"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"number\",\"min\":5,\"max\":1}]",
         "fields[0].max"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"text\",\"max\":1}]", "fields[0].max"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"boolean\",\"expected\":\"yes\"}]",
         "fields[0].expected"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"choice\"}]", "fields[0].choices"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"choice\",\"choices\":[\"x\",\"x\"]}]",
         "fields[0].choices"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"choice\",\"choices\":[\"x\"],"
         "\"pass\":[\"y\"]}]",
         "fields[0].pass"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"number\",\"relative_to\":\"b\","
         "\"tolerance_percent\":5}]",
         "fields[0].relative_to"},
        {"[{\"key\":\"b\",\"label\":\"b\",\"type\":\"number\"},{\"key\":\"a\",\"label\":\"a\","
         "\"type\":\"number\",\"relative_to\":\"b\"}]",
         "fields[1].tolerance_percent"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"text\",\"when\":{\"field\":\"c\","
         "\"in\":[\"x\"]}}]",
         "fields[0].when"},
        {"[{\"key\":\"c\",\"label\":\"c\",\"type\":\"choice\",\"choices\":[\"x\"]},{\"key\":\"a\","
         "\"label\":\"a\",\"type\":\"text\",\"when\":{\"field\":\"c\",\"in\":[\"z\"]}}]",
         "fields[1].when"},
        {"[{\"key\":\"a\",\"label\":\"a\",\"type\":\"text\",\"colour\":1}]", "fields[0].colour"},
        {"[7]", "fields[0]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errinfo ei = {0};
        json_t *f = eq_parse(bad[i].fields);
        err_t rc = equip_checklist_check_fields(f, &ei);
        json_decref(f);
        if (!rc || strcmp(ei.field, bad[i].field))
            fail_msg("case %zu: got %s '%s' (%s), want '%s'", i, err_name(rc), ei.field, ei.message,
                     bad[i].field);
    }
}

/* ------------------------------------------ schedules, records, fitness */

static err_t eq_call(err_t (*f)(db *, const audit_ctx *, const json_t *, json_t **, errinfo *),
                     const char *text, json_t **out, errinfo *ei)
{
    json_t *body = eq_parse(text), *o = NULL;
    memset(ei, 0, sizeof(*ei));
    err_t rc = f(eq_db, &eq_ctx, body, &o, ei);
    json_decref(body);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static json_t *eq_ok(err_t (*f)(db *, const audit_ctx *, const json_t *, json_t **, errinfo *),
                     const char *text)
{
    errinfo ei;
    json_t *out = NULL;
    err_t rc = eq_call(f, text, &out, &ei);
    if (rc)
        fail_msg("%s: %s %s (%s)", text, err_name(rc), ei.message, ei.field);
    return out;
}

/* ISO 8601 of now plus days. */
static const char *eq_iso(double days)
{
    static char out[4][TIME_ISO_LEN];
    static int k;
    char *s = out[k++ % 4];
    time_format_iso(time_now_us() + (int64_t)(days * (double)EQ_DAY), s);
    return s;
}

/* text with each '@' replaced by tag, into out. */
static void eq_subst(char *out, size_t n, const char *text, const char *tag)
{
    size_t len = 0, t = strlen(tag);
    for (const char *p = text; *p && len + 1 < n; p++) {
        if (*p == '@' && len + t + 1 < n) {
            memcpy(out + len, tag, t);
            len += t;
        } else if (*p != '@') {
            out[len++] = *p;
        }
    }
    out[len] = '\0';
}

static void test_schedules(void **state)
{
    (void)state;
    int created = 0;
    errinfo ei = {0};
    assert_int_equal(equip_checklist_defaults(eq_db, &eq_ctx, &created, &ei), ERR_OK);
    json_decref(eq_create(eq_name("SCH"), "defibrillator", ""));
    char text[512];
    json_t *s = NULL;
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"kind\":\"check\",\"template\":\"defib-daily\","
             "\"interval_days\":1,\"safety_critical\":true}",
             eq_name("SCH"));
    s = eq_ok(equip_schedule_create, text);
    assert_string_equal(eq_str(s, "asset"), eq_name("SCH"));
    assert_true(json_is_null(json_object_get(s, "class")));
    assert_int_equal(json_integer_value(json_object_get(s, "grace_days")), 0);
    assert_true(json_is_true(json_object_get(s, "safety_critical")));
    char sid[ID_LEN + 1];
    snprintf(sid, sizeof(sid), "%s", eq_str(s, "id"));
    json_decref(s);
    /* calibration is safety-critical by default, maintenance is not */
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"kind\":\"calibration\",\"interval_days\":365}", eq_name("SCH"));
    s = eq_ok(equip_schedule_create, text);
    assert_true(json_is_true(json_object_get(s, "safety_critical")));
    json_decref(s);
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"kind\":\"pm\",\"interval_days\":180,\"grace_days\":14}",
             eq_name("SCH"));
    s = eq_ok(equip_schedule_create, text);
    assert_false(json_is_true(json_object_get(s, "safety_critical")));
    json_decref(s);

    int64_t rows = eq_scalar("SELECT COUNT(*) FROM equip_schedules", NULL), head = eq_head();
    static const struct {
        const char *body, *field;
        err_t code;
    } bad[] = {
        {"{\"asset\":\"@\",\"class\":\"mri\",\"kind\":\"pm\",\"interval_days\":1}", "class",
         ERR_INVALID},
        {"{\"kind\":\"pm\",\"interval_days\":1}", "asset", ERR_INVALID},
        {"{\"asset\":\"@\",\"kind\":\"service\",\"interval_days\":1}", "kind", ERR_INVALID},
        {"{\"asset\":\"@\",\"kind\":\"check\",\"interval_days\":1}", "template", ERR_MISSING_FIELD},
        {"{\"asset\":\"@\",\"kind\":\"pm\",\"template\":\"defib-daily\",\"interval_days\":1}",
         "template", ERR_INVALID},
        {"{\"asset\":\"@\",\"kind\":\"check\",\"template\":\"iec62353\",\"interval_days\":1}",
         "template", ERR_INVALID},
        {"{\"asset\":\"@\",\"kind\":\"check\",\"template\":\"nope\",\"interval_days\":1}",
         "template", ERR_INVALID},
        {"{\"asset\":\"@\",\"kind\":\"pm\",\"interval_days\":0}", "interval_days", ERR_INVALID},
        {"{\"asset\":\"@\",\"kind\":\"pm\",\"interval_days\":1.5}", "interval_days", ERR_INVALID},
        {"{\"asset\":\"@\",\"kind\":\"pm\",\"interval_days\":7,\"grace_days\":-1}", "grace_days",
         ERR_INVALID},
        {"{\"asset\":\"@-X\",\"kind\":\"pm\",\"interval_days\":7}", "asset", ERR_INVALID},
        {"{\"asset\":\"@\",\"kind\":\"pm\",\"interval_days\":30}", "kind", ERR_CONFLICT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        eq_subst(text, sizeof(text), bad[i].body, eq_name("SCH"));
        err_t rc = eq_call(equip_schedule_create, text, NULL, &ei);
        if (rc != bad[i].code || strcmp(ei.field, bad[i].field))
            fail_msg("case %zu: got %s '%s' (%s)", i, err_name(rc), ei.field, ei.message);
    }
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM equip_schedules", NULL), rows);
    assert_int_equal(eq_head(), head);

    json_t *items = NULL;
    assert_int_equal(equip_schedule_list(eq_db, eq_name("SCH"), NULL, &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 3);
    json_decref(items);
    assert_int_equal(equip_schedule_delete(eq_db, &eq_ctx, sid, &ei), ERR_OK);
    assert_int_equal(equip_schedule_delete(eq_db, &eq_ctx, sid, &ei), ERR_NOT_FOUND);
    assert_int_equal(equip_schedule_list(eq_db, eq_name("SCH"), NULL, &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 2);
    json_decref(items);
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM audit_event WHERE entity_id = ? AND"
                               " action = 'equip.schedule.delete'",
                               sid),
                     1);
}

/* The item of the due list for tag and kind, or NULL. */
static const json_t *eq_due_item(const json_t *items, const char *tag, const char *kind)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!strcmp(eq_str(it, "asset"), tag) && !strcmp(eq_str(it, "kind"), kind))
            return it;
    }
    return NULL;
}

static void test_maintenance_and_due_list(void **state)
{
    (void)state;
    char text[512];
    errinfo ei = {0};
    json_t *out = NULL, *items = NULL;
    json_decref(eq_create(eq_name("PM"), "centrifuge", ""));
    json_decref(eq_create(eq_name("PM2"), "autoclave", ""));
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",\"kind\":\"pm\",\"interval_days\":30}",
             eq_name("PM"));
    json_decref(eq_ok(equip_schedule_create, text));
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"kind\":\"pm\",\"interval_days\":90,\"grace_days\":5}",
             eq_name("PM2"));
    json_decref(eq_ok(equip_schedule_create, text));

    /* maintenance 40 days ago: due 10 days ago, overdue (no grace) */
    json_t *body = NULL;
    snprintf(text, sizeof(text),
             "{\"performed_at\":\"%s\",\"by\":\"Vendor engineer\",\"passed\":true,"
             "\"notes\":\"rotor inspected, brushes replaced\"}",
             eq_iso(-40));
    body = eq_parse(text);
    assert_int_equal(equip_pm_record(eq_db, &eq_ctx, eq_name("PM"), body, &out, &ei), ERR_OK);
    json_decref(body);
    assert_string_equal(eq_str(out, "performed_by"), "Vendor engineer");
    assert_string_equal(eq_str(out, "recorded_by"), "test");
    json_decref(out);
    /* PM2 maintained 87 days ago: due in 3 days */
    snprintf(text, sizeof(text), "{\"performed_at\":\"%s\",\"passed\":true}", eq_iso(-87));
    body = eq_parse(text);
    assert_int_equal(equip_pm_record(eq_db, &eq_ctx, eq_name("PM2"), body, &out, &ei), ERR_OK);
    json_decref(body);
    assert_string_equal(eq_str(out, "performed_by"), "test");
    json_decref(out);

    assert_int_equal(equip_due_list(eq_db, 7, time_now_us(), &items, &ei), ERR_OK);
    const json_t *a = eq_due_item(items, eq_name("PM"), "pm");
    const json_t *b = eq_due_item(items, eq_name("PM2"), "pm");
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(eq_str(a, "state"), "overdue");
    assert_string_equal(eq_str(b, "state"), "due");
    assert_true(json_is_true(json_object_get(a, "last_passed")));
    /* overdue first */
    size_t ia = 0, ib = 0, i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (it == a)
            ia = i;
        if (it == b)
            ib = i;
    }
    assert_true(ia < ib);
    json_decref(items);
    /* within 2 days PM2 is not listed */
    assert_int_equal(equip_due_list(eq_db, 2, time_now_us(), &items, &ei), ERR_OK);
    assert_null(eq_due_item(items, eq_name("PM2"), "pm"));
    assert_non_null(eq_due_item(items, eq_name("PM"), "pm"));
    json_decref(items);
    assert_int_equal(equip_due_list(eq_db, 400, time_now_us(), &items, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "within");

    /* done today: no longer due; out of service: not on the list */
    body = eq_parse("{\"passed\":true}");
    assert_int_equal(equip_pm_record(eq_db, &eq_ctx, eq_name("PM"), body, &out, &ei), ERR_OK);
    json_decref(out);
    json_decref(body);
    char id[ID_LEN + 1];
    assert_int_equal(equip_asset_id(eq_db, eq_name("PM2"), "tag", id, NULL, &ei), ERR_OK);
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "out-of-service", "door seal", &ei),
                     ERR_OK);
    assert_int_equal(equip_due_list(eq_db, 7, time_now_us(), &items, &ei), ERR_OK);
    assert_null(eq_due_item(items, eq_name("PM"), "pm"));
    assert_null(eq_due_item(items, eq_name("PM2"), "pm"));
    json_decref(items);

    /* refused: in the future, not a time, unknown asset, retired */
    int64_t rows = eq_scalar("SELECT COUNT(*) FROM equip_pm_records", NULL), head = eq_head();
    snprintf(text, sizeof(text), "{\"performed_at\":\"%s\",\"passed\":true}", eq_iso(1));
    body = eq_parse(text);
    assert_int_equal(equip_pm_record(eq_db, &eq_ctx, eq_name("PM"), body, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "performed_at");
    json_decref(body);
    body = eq_parse("{\"performed_at\":\"yesterday\",\"passed\":true}");
    assert_int_equal(equip_pm_record(eq_db, &eq_ctx, eq_name("PM"), body, &out, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "performed_at");
    json_decref(body);
    body = eq_parse("{\"passed\":true}");
    assert_int_equal(equip_pm_record(eq_db, &eq_ctx, eq_name("NONE"), body, &out, &ei),
                     ERR_NOT_FOUND);
    assert_int_equal(equip_asset_set_status(eq_db, &eq_ctx, id, "retired", "end of life", &ei),
                     ERR_OK);
    head = eq_head();
    assert_int_equal(equip_pm_record(eq_db, &eq_ctx, eq_name("PM2"), body, &out, &ei),
                     ERR_CONFLICT);
    json_decref(body);
    assert_null(out);
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM equip_pm_records", NULL), rows);
    assert_int_equal(eq_head(), head);
    assert_int_equal(equip_pm_list(eq_db, eq_name("PM"), &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 2);
    json_decref(items);
}

/* A calibration of asset tag: its reference (",\"standard\":\"..\"" or an
 * external certificate) and points. */
static err_t eq_calibrate(const char *tag, const char *when, const char *reference,
                          const char *points, json_t **out, errinfo *ei)
{
    char text[2048];
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",\"performed_at\":\"%s\"%s,\"points\":%s}", tag,
             when, reference, points);
    return eq_call(equip_calibration_record, text, out, ei);
}

static const char eq_points_ok[] =
    "[{\"name\":\"100 g\",\"unit\":\"g\",\"nominal\":100,\"tolerance\":0.2,\"as_found\":100.1,"
    "\"as_left\":100.02},{\"name\":\"1 kg\",\"unit\":\"g\",\"nominal\":1000,\"tolerance\":1,"
    "\"as_left\":1000.5}]";

static void test_calibration_traceability(void **state)
{
    (void)state;
    errinfo ei = {0};
    json_t *out = NULL;
    char ref[256], ext[256];
    json_decref(eq_create(eq_name("STD-1"), "calibration-standard", ""));
    json_decref(eq_create(eq_name("STD-2"), "calibration-standard", ""));
    json_decref(eq_create(eq_name("BAL"), "balance", ""));

    /* STD-1: calibrated by an outside laboratory 200 days ago, certificate
     * valid until 30 days ago */
    snprintf(ext, sizeof(ext),
             ",\"external\":{\"provider\":\"National metrology lab\",\"certificate\":\"NML-%s\","
             "\"valid_until\":\"%s\"}",
             eq_sfx, eq_date(-30));
    assert_int_equal(eq_calibrate(eq_name("STD-1"), eq_iso(-200), ext, eq_points_ok, &out, &ei),
                     ERR_OK);
    assert_true(json_is_true(json_object_get(out, "passed")));
    assert_true(json_is_null(json_object_get(out, "standard")));
    assert_string_equal(eq_str(json_object_get(out, "external"), "valid_until"), eq_date(-30));
    json_decref(out);

    /* the balance against STD-1 today: expired 30 days ago, refused */
    int64_t cals = eq_scalar("SELECT COUNT(*) FROM equip_calibrations", NULL), head = eq_head();
    snprintf(ref, sizeof(ref), ",\"standard\":\"%s\"", eq_name("STD-1"));
    assert_int_equal(eq_calibrate(eq_name("BAL"), eq_iso(0), ref, eq_points_ok, &out, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "standard");
    char want[128];
    snprintf(want, sizeof(want), "standard %s's calibration expired on %s", eq_name("STD-1"),
             eq_date(-30));
    assert_string_equal(ei.message, want);
    /* before any calibration of the standard: not traceable */
    assert_int_equal(eq_calibrate(eq_name("BAL"), eq_iso(-300), ref, eq_points_ok, &out, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "standard");
    assert_non_null(strstr(ei.message, "no calibration on or before"));
    /* STD-2 has no calibration at all; the balance is not a standard */
    snprintf(ref, sizeof(ref), ",\"standard\":\"%s\"", eq_name("STD-2"));
    assert_int_equal(eq_calibrate(eq_name("BAL"), eq_iso(0), ref, eq_points_ok, &out, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "standard");
    snprintf(ref, sizeof(ref), ",\"standard\":\"%s\"", eq_name("BAL"));
    assert_int_equal(eq_calibrate(eq_name("BAL"), eq_iso(0), ref, eq_points_ok, &out, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "standard");
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM equip_calibrations", NULL), cals);
    assert_int_equal(eq_head(), head);

    /* 100 days ago STD-1 was valid: the balance was calibrated then */
    snprintf(ref, sizeof(ref), ",\"standard\":\"%s\"", eq_name("STD-1"));
    assert_int_equal(eq_calibrate(eq_name("BAL"), eq_iso(-100), ref, eq_points_ok, &out, &ei),
                     ERR_OK);
    const json_t *std = json_object_get(out, "standard");
    assert_string_equal(eq_str(std, "tag"), eq_name("STD-1"));
    assert_string_equal(eq_str(std, "valid_until"), eq_date(-30));
    json_t *chain = json_object_get(out, "traceability");
    assert_int_equal(json_array_size(chain), 1);
    assert_string_equal(eq_str(json_array_get(chain, 0), "asset"), eq_name("STD-1"));
    assert_string_equal(eq_str(json_object_get(json_array_get(chain, 0), "external"), "provider"),
                        "National metrology lab");
    json_decref(out);

    /* STD-2 calibrated against STD-1 120 days ago; its own schedule (a year)
     * says how long that holds. Without one it cannot be used. */
    assert_int_equal(eq_calibrate(eq_name("STD-2"), eq_iso(-120), ref, eq_points_ok, &out, &ei),
                     ERR_OK);
    char std2_cal[ID_LEN + 1];
    snprintf(std2_cal, sizeof(std2_cal), "%s", eq_str(out, "id"));
    json_decref(out);
    snprintf(ref, sizeof(ref), ",\"standard\":\"%s\"", eq_name("STD-2"));
    assert_int_equal(eq_calibrate(eq_name("BAL"), eq_iso(0), ref, eq_points_ok, &out, &ei),
                     ERR_INVALID);
    assert_non_null(strstr(ei.message, "nothing says how long"));
    char text[256];
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"kind\":\"calibration\",\"interval_days\":365}", eq_name("STD-2"));
    json_decref(eq_ok(equip_schedule_create, text));
    /* a point found out of tolerance, one left out of it: fails, look back */
    assert_int_equal(
        eq_calibrate(eq_name("BAL"), eq_iso(0), ref,
                     "[{\"name\":\"100 g\",\"unit\":\"g\",\"nominal\":100,\"tolerance\":0.2,"
                     "\"as_found\":100.35,\"as_left\":100.2},{\"name\":\"1 kg\",\"unit\":\"g\","
                     "\"nominal\":1000,\"tolerance\":1,\"as_found\":1000,\"as_left\":1001.5}]",
                     &out, &ei),
        ERR_OK);
    assert_false(json_is_true(json_object_get(out, "passed")));
    assert_false(json_is_true(json_object_get(out, "as_found_passed")));
    json_t *found_out = json_object_get(out, "as_found_out_of_tolerance");
    assert_int_equal(json_array_size(found_out), 1);
    assert_string_equal(json_string_value(json_array_get(found_out, 0)), "100 g");
    json_t *pts = json_object_get(out, "points");
    assert_true(json_is_true(json_object_get(json_array_get(pts, 0), "left_ok"))); /* on it */
    assert_false(json_is_true(json_object_get(json_array_get(pts, 1), "left_ok")));
    /* look back from the balance's previous calibration, 100 days ago */
    assert_non_null(json_object_get(json_object_get(out, "look_back"), "from"));
    assert_true(json_is_string(json_object_get(json_object_get(out, "look_back"), "from")));
    /* the chain: STD-2's calibration, then STD-1's with its certificate */
    chain = json_object_get(out, "traceability");
    assert_int_equal(json_array_size(chain), 2);
    assert_string_equal(eq_str(json_array_get(chain, 0), "id"), std2_cal);
    assert_string_equal(eq_str(json_array_get(chain, 0), "asset"), eq_name("STD-2"));
    assert_string_equal(eq_str(json_array_get(chain, 1), "asset"), eq_name("STD-1"));
    assert_non_null(json_object_get(json_array_get(chain, 1), "external"));
    char id[ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", eq_str(out, "id"));
    json_decref(out);
    assert_int_equal(equip_calibration_get(eq_db, id, &out, &ei), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(out, "traceability")), 2);
    json_decref(out);
    json_t *items = NULL;
    assert_int_equal(equip_calibration_list(eq_db, eq_name("BAL"), &items, &ei), ERR_OK);
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(eq_str(json_array_get(items, 0), "id"), id);
    json_decref(items);

    /* bad input */
    static const struct {
        const char *reference, *points, *field;
    } bad[] = {
        {"", "[{\"name\":\"a\",\"unit\":\"g\",\"nominal\":1,\"tolerance\":1,\"as_left\":1}]",
         "standard"},
        {",\"standard\":\"X\",\"external\":{\"provider\":\"p\",\"certificate\":\"c\","
         "\"valid_until\":\"2030-01-01\"}",
         "[{\"name\":\"a\",\"unit\":\"g\",\"nominal\":1,\"tolerance\":1,\"as_left\":1}]",
         "standard"},
        {",\"external\":{\"provider\":\"p\",\"certificate\":\"c\",\"valid_until\":\"2020-01-01\"}",
         "[{\"name\":\"a\",\"unit\":\"g\",\"nominal\":1,\"tolerance\":1,\"as_left\":1}]",
         "external.valid_until"},
        {",\"external\":{\"provider\":\"p\",\"valid_until\":\"2030-01-01\"}",
         "[{\"name\":\"a\",\"unit\":\"g\",\"nominal\":1,\"tolerance\":1,\"as_left\":1}]",
         "external.certificate"},
        {",\"external\":{\"provider\":\"p\",\"certificate\":\"c\",\"valid_until\":\"2030-01-01\"}",
         "[]", "points"},
        {",\"external\":{\"provider\":\"p\",\"certificate\":\"c\",\"valid_until\":\"2030-01-01\"}",
         "[{\"name\":\"a\",\"unit\":\"g\",\"nominal\":1,\"tolerance\":0,\"as_left\":1}]",
         "points[0].tolerance"},
        {",\"external\":{\"provider\":\"p\",\"certificate\":\"c\",\"valid_until\":\"2030-01-01\"}",
         "[{\"name\":\"a\",\"unit\":\"g\",\"nominal\":1,\"tolerance\":1,\"as_left\":1},"
         "{\"name\":\"a\",\"unit\":\"g\",\"nominal\":2,\"tolerance\":1,\"as_left\":2}]",
         "points[1].name"},
        {",\"external\":{\"provider\":\"p\",\"certificate\":\"c\",\"valid_until\":\"2030-01-01\"}",
         "[{\"name\":\"a\",\"unit\":\"g\",\"nominal\":1,\"tolerance\":1}]", "points[0].as_left"},
    };
    cals = eq_scalar("SELECT COUNT(*) FROM equip_calibrations", NULL);
    head = eq_head();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_t rc =
            eq_calibrate(eq_name("BAL"), eq_iso(0), bad[i].reference, bad[i].points, &out, &ei);
        assert_null(out);
        if (rc == ERR_OK || strcmp(ei.field, bad[i].field))
            fail_msg("case %zu: got %s '%s' (%s)", i, err_name(rc), ei.field, ei.message);
    }
    /* in the future */
    assert_int_equal(eq_calibrate(eq_name("BAL"), eq_iso(2), ref, eq_points_ok, &out, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "performed_at");
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM equip_calibrations", NULL), cals);
    assert_int_equal(eq_head(), head);
}

static void test_fitness(void **state)
{
    (void)state;
    errinfo ei = {0};
    char why[256], text[512], ext[256], want[256];
    json_t *out = NULL;
    char inst[48];
    snprintf(inst, sizeof(inst), "%s", eq_name("FIT-AN"));
    eq_instrument(inst);
    snprintf(text, sizeof(text), ",\"instrument\":\"%s\",\"install_date\":\"2025-01-15\"", inst);
    json_decref(eq_create(eq_name("FIT"), "chemistry-analyzer", text));

    /* no schedule: fit; an instrument without an asset: fit */
    assert_int_equal(equip_fitness(eq_db, inst, time_now_us(), why, sizeof(why), &ei), ERR_OK);
    assert_string_equal(why, "");
    assert_int_equal(
        equip_fitness(eq_db, "NO-SUCH-INSTRUMENT", time_now_us(), why, sizeof(why), &ei), ERR_OK);
    assert_string_equal(why, "");

    /* calibration every 90 days; the last 100 days ago: overdue since 10
     * days ago */
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",\"kind\":\"calibration\",\"interval_days\":90}",
             eq_name("FIT"));
    json_decref(eq_ok(equip_schedule_create, text));
    snprintf(ext, sizeof(ext),
             ",\"external\":{\"provider\":\"Vendor\",\"certificate\":\"V-%s\","
             "\"valid_until\":\"%s\"}",
             eq_sfx, eq_date(400));
    const char *pt = "[{\"name\":\"GLU\",\"unit\":\"mg/dL\",\"nominal\":100,\"tolerance\":3,"
                     "\"as_left\":100.4}]";
    int64_t before = time_now_us() - 100 * EQ_DAY;
    char iso[TIME_ISO_LEN], due_day[11];
    time_format_iso(before, iso);
    assert_int_equal(eq_calibrate(eq_name("FIT"), iso, ext, pt, &out, &ei), ERR_OK);
    json_decref(out);
    time_format_date(before + 90 * EQ_DAY, due_day);
    assert_int_equal(equip_fitness(eq_db, inst, time_now_us(), why, sizeof(why), &ei), ERR_OK);
    snprintf(want, sizeof(want), "%s (%s): calibration overdue since %s", inst, eq_name("FIT"),
             due_day);
    assert_string_equal(why, want);
    /* fit at a time before it fell due */
    assert_int_equal(equip_fitness(eq_db, inst, before + 10 * EQ_DAY, why, sizeof(why), &ei),
                     ERR_OK);
    assert_string_equal(why, "");
    assert_int_equal(equip_fitness_json(eq_db, eq_name("FIT"), time_now_us(), &out, &ei), ERR_OK);
    assert_false(json_is_true(json_object_get(out, "fit")));
    assert_string_equal(eq_str(json_object_get(out, "schedules")
                                   ? json_array_get(json_object_get(out, "schedules"), 0)
                                   : NULL,
                               "state"),
                        "overdue");
    json_decref(out);

    /* a calibration today that fails: unfit for that; one that passes: fit */
    assert_int_equal(eq_calibrate(eq_name("FIT"), eq_iso(-0.01), ext,
                                  "[{\"name\":\"GLU\",\"unit\":\"mg/dL\",\"nominal\":100,"
                                  "\"tolerance\":3,\"as_left\":104}]",
                                  &out, &ei),
                     ERR_OK);
    json_decref(out);
    assert_int_equal(equip_fitness(eq_db, inst, time_now_us(), why, sizeof(why), &ei), ERR_OK);
    snprintf(want, sizeof(want), "%s (%s): calibration failed on %s", inst, eq_name("FIT"),
             eq_date(0));
    /* (a run near midnight UTC may date it yesterday) */
    if (strcmp(why, want))
        assert_non_null(strstr(why, "calibration failed on"));
    assert_int_equal(eq_calibrate(eq_name("FIT"), eq_iso(0), ext, pt, &out, &ei), ERR_OK);
    json_decref(out);
    assert_int_equal(equip_fitness(eq_db, inst, time_now_us(), why, sizeof(why), &ei), ERR_OK);
    assert_string_equal(why, "");

    /* out of service: unfit, with the reason */
    char id[ID_LEN + 1];
    assert_int_equal(equip_asset_id(eq_db, eq_name("FIT"), "tag", id, NULL, &ei), ERR_OK);
    assert_int_equal(
        equip_asset_set_status(eq_db, &eq_ctx, id, "out-of-service", "reagent probe crash", &ei),
        ERR_OK);
    assert_int_equal(equip_fitness(eq_db, inst, time_now_us(), why, sizeof(why), &ei), ERR_OK);
    snprintf(want, sizeof(want), "%s (%s): out-of-service since %s: reagent probe crash", inst,
             eq_name("FIT"), eq_date(0));
    assert_string_equal(why, want);
    assert_int_equal(
        equip_asset_set_status(eq_db, &eq_ctx, id, "in-service", "probe replaced", &ei), ERR_OK);

    /* a failed safety-critical check makes it unfit; maintenance is not
     * safety-critical: overdue maintenance leaves it fit */
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"kind\":\"electrical-safety\",\"template\":\"iec62353\","
             "\"interval_days\":365}",
             eq_name("FIT"));
    json_decref(eq_ok(equip_schedule_create, text));
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",\"kind\":\"pm\",\"interval_days\":1}",
             eq_name("FIT"));
    json_decref(eq_ok(equip_schedule_create, text));
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"template\":\"iec62353\",\"values\":{\"protection_class\":\"I\","
             "\"applied_part_type\":\"none\",\"visual_inspection_ok\":true,"
             "\"protective_earth_resistance_ohm\":0.45,\"equipment_leakage_class_i_ua\":310,"
             "\"functional_test_ok\":true}}",
             eq_name("FIT"));
    out = eq_ok(equip_check_record, text);
    assert_false(json_is_true(json_object_get(out, "passed")));
    assert_int_equal(json_integer_value(json_object_get(out, "version")), 1);
    assert_string_equal(eq_str(json_array_get(json_object_get(out, "failed"), 0), "key"),
                        "protective_earth_resistance_ohm");
    json_decref(out);
    assert_int_equal(equip_fitness(eq_db, inst, time_now_us(), why, sizeof(why), &ei), ERR_OK);
    assert_non_null(strstr(why, "electrical safety test iec62353 failed on"));
    assert_null(strstr(why, "maintenance"));
    /* passed again */
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"template\":\"iec62353\",\"values\":{\"protection_class\":\"I\","
             "\"applied_part_type\":\"none\",\"visual_inspection_ok\":true,"
             "\"protective_earth_resistance_ohm\":0.12,\"equipment_leakage_class_i_ua\":310,"
             "\"functional_test_ok\":true}}",
             eq_name("FIT"));
    out = eq_ok(equip_check_record, text);
    assert_true(json_is_true(json_object_get(out, "passed")));
    json_decref(out);
    assert_int_equal(equip_fitness(eq_db, inst, time_now_us(), why, sizeof(why), &ei), ERR_OK);
    assert_string_equal(why, "");

    /* a check with a key not in the template: refused, nothing written */
    int64_t checks = eq_scalar("SELECT COUNT(*) FROM equip_checks", NULL), head = eq_head();
    snprintf(text, sizeof(text),
             "{\"asset\":\"%s\",\"template\":\"iec62353\",\"values\":{\"protection_class\":\"I\","
             "\"applied_part_type\":\"none\",\"visual_inspection_ok\":true,"
             "\"protective_earth_resistance_ohm\":0.12,\"equipment_leakage_class_i_ua\":310,"
             "\"functional_test_ok\":true,\"insulation_mohm\":50}}",
             eq_name("FIT"));
    assert_int_equal(eq_call(equip_check_record, text, NULL, &ei), ERR_UNKNOWN_FIELD);
    assert_string_equal(ei.field, "values.insulation_mohm");
    snprintf(text, sizeof(text), "{\"asset\":\"%s\",\"template\":\"nope\",\"values\":{}}",
             eq_name("FIT"));
    assert_int_equal(eq_call(equip_check_record, text, NULL, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "template");
    assert_int_equal(eq_scalar("SELECT COUNT(*) FROM equip_checks", NULL), checks);
    assert_int_equal(eq_head(), head);
}

static void test_template_versions(void **state)
{
    (void)state;
    char text[512];
    errinfo ei = {0};
    char code[48];
    snprintf(code, sizeof(code), "%s", eq_name("tmpl"));
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"name\":\"Incubator check\",\"kind\":\"check\",\"fields\":["
             "{\"key\":\"temp_c\",\"label\":\"Temperature\",\"type\":\"number\",\"unit\":\"Cel\","
             "\"min\":36.5,\"max\":37.5}]}",
             code);
    json_t *t = eq_ok(equip_checklist_put, text);
    assert_int_equal(json_integer_value(json_object_get(t, "version")), 1);
    assert_true(json_is_true(json_object_get(t, "created")));
    json_decref(t);
    /* the same again: nothing new */
    t = eq_ok(equip_checklist_put, text);
    assert_int_equal(json_integer_value(json_object_get(t, "version")), 1);
    assert_false(json_is_true(json_object_get(t, "created")));
    json_decref(t);
    json_decref(eq_create(eq_name("INC"), "incubator", ""));
    char check[256];
    snprintf(check, sizeof(check),
             "{\"asset\":\"%s\",\"template\":\"%s\",\"values\":{\"temp_c\":37.6}}", eq_name("INC"),
             code);
    t = eq_ok(equip_check_record, check);
    assert_false(json_is_true(json_object_get(t, "passed")));
    assert_string_equal(eq_str(json_array_get(json_object_get(t, "failed"), 0), "expected"),
                        "36.5 to 37.5 Cel");
    char first[ID_LEN + 1];
    snprintf(first, sizeof(first), "%s", eq_str(t, "id"));
    json_decref(t);
    /* a changed template is version 2; the earlier check keeps version 1 */
    snprintf(text, sizeof(text),
             "{\"code\":\"%s\",\"name\":\"Incubator check\",\"kind\":\"check\",\"fields\":["
             "{\"key\":\"temp_c\",\"label\":\"Temperature\",\"type\":\"number\",\"unit\":\"Cel\","
             "\"min\":36,\"max\":38},{\"key\":\"co2_pct\",\"label\":\"CO2\",\"type\":\"number\","
             "\"unit\":\"%%\",\"min\":4.5,\"max\":5.5}]}",
             code);
    t = eq_ok(equip_checklist_put, text);
    assert_int_equal(json_integer_value(json_object_get(t, "version")), 2);
    json_decref(t);
    assert_int_equal(eq_call(equip_check_record, check, NULL, &ei), ERR_MISSING_FIELD);
    assert_string_equal(ei.field, "values.co2_pct");
    snprintf(check, sizeof(check),
             "{\"asset\":\"%s\",\"template\":\"%s\",\"values\":{\"temp_c\":37.6,\"co2_pct\":5}}",
             eq_name("INC"), code);
    t = eq_ok(equip_check_record, check);
    assert_true(json_is_true(json_object_get(t, "passed")));
    assert_int_equal(json_integer_value(json_object_get(t, "version")), 2);
    json_decref(t);
    assert_int_equal(equip_check_get(eq_db, first, &t, &ei), ERR_OK);
    assert_int_equal(json_integer_value(json_object_get(t, "version")), 1);
    json_decref(t);
    assert_int_equal(equip_checklist_get(eq_db, code, 1, &t, &ei), ERR_OK);
    assert_int_equal(json_array_size(json_object_get(t, "fields")), 1);
    json_decref(t);
    assert_int_equal(equip_checklist_get(eq_db, code, 3, &t, &ei), ERR_NOT_FOUND);
    assert_string_equal(ei.field, "version");
    /* an import document names the template and field at fault */
    json_t *doc = eq_parse("{\"checklists\":[{\"code\":\"ok-1\",\"name\":\"n\",\"kind\":\"check\","
                           "\"fields\":[{\"key\":\"a\",\"label\":\"a\",\"type\":\"text\"}]},"
                           "{\"code\":\"ok-2\",\"name\":\"n\",\"kind\":\"check\",\"fields\":["
                           "{\"key\":\"a\",\"label\":\"a\",\"type\":\"number\",\"min\":2,"
                           "\"max\":1}]}]}");
    int created = -1;
    assert_int_equal(equip_checklist_import(eq_db, &eq_ctx, doc, &created, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "checklists[1].fields[0].max");
    assert_int_equal(created, 0);
    json_decref(doc);
    /* the defaults again: nothing new */
    assert_int_equal(equip_checklist_defaults(eq_db, &eq_ctx, &created, &ei), ERR_OK);
    assert_int_equal(created, 0);
}

static int eq_setup(void **state)
{
    (void)state;
    if (!testdb_pick("equip", eq_url, sizeof(eq_url), eq_tmp, sizeof(eq_tmp)))
        return -1;
    testdb_suffix(eq_sfx, 8, false);
    return testdb_open(eq_url, &eq_ctx, &eq_db) ? 0 : -1;
}

static int eq_teardown(void **state)
{
    (void)state;
    testdb_close(eq_db, eq_tmp);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_due_worked_examples),
        cmocka_unit_test(test_point_within),
        cmocka_unit_test(test_shipped_templates_are_valid),
        cmocka_unit_test(test_checklist_judging),
        cmocka_unit_test(test_template_refusals),
    };
    const struct CMUnitTest record[] = {
        cmocka_unit_test(test_classes_and_names),
        cmocka_unit_test(test_create_and_read),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_list_filters_and_pages),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_import_all_or_nothing),
        cmocka_unit_test(test_storage_units),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_maintenance_and_due_list),
        cmocka_unit_test(test_calibration_traceability),
        cmocka_unit_test(test_fitness),
        cmocka_unit_test(test_template_versions),
    };
    int bad = cmocka_run_group_tests_name("equip/pure", pure, NULL, NULL);
    bad += cmocka_run_group_tests_name(testdb_group("equip"), record, eq_setup, eq_teardown);
    return bad;
}
