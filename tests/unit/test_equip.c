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
    const char *inst = eq_name("CHEM");
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
    const char *inst = eq_name("HEME");
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
    const struct CMUnitTest record[] = {
        cmocka_unit_test(test_classes_and_names),
        cmocka_unit_test(test_create_and_read),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_list_filters_and_pages),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_import_all_or_nothing),
        cmocka_unit_test(test_storage_units),
    };
    return cmocka_run_group_tests_name(testdb_group("equip"), record, eq_setup, eq_teardown);
}
