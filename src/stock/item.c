/*
 * item.c - the catalogue of supplies (see stock.h): items with their unit of
 * issue, supplier, reorder point and quantity, open-vial stability, storage
 * requirement and the tests they serve; imported whole, all or nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "lab/catalog.h"
#include "stock/stock_impl.h"
#include "store/dbjson.h"

#define ITEM_COLS                                                                                  \
    "SELECT i.id, i.code, i.name, i.kind, i.unit, i.supplier, i.catalogue_number,"                 \
    " i.reorder_point, i.reorder_quantity, i.open_stability_days, i.storage, i.uses_per_test,"     \
    " i.created_at, i.created_by, i.updated_at, (SELECT CAST(COALESCE(SUM(m.quantity), 0) AS"      \
    " BIGINT) FROM stock_movements m JOIN stock_lots l ON l.id = m.lot_id WHERE l.item_id ="       \
    " i.id) FROM stock_items i"

static const char sql_item_json[] = ITEM_COLS " WHERE i.code = ?";
static const char sql_items[] = ITEM_COLS " WHERE (CAST(? AS TEXT) IS NULL OR i.kind = ?)"
                                          " ORDER BY i.code";
static const char sql_lots_of[] = "SELECT id FROM stock_lots WHERE item_id = ?"
                                  " ORDER BY expiry, lot";
static const char sql_existing[] =
    "SELECT i.id, i.kind, (SELECT COUNT(*) FROM stock_lots l WHERE l.item_id = i.id)"
    " FROM stock_items i WHERE i.code = ?";
static const char sql_upsert[] =
    "INSERT INTO stock_items (id, code, name, kind, unit, supplier, catalogue_number,"
    " reorder_point, reorder_quantity, open_stability_days, storage, uses_per_test, created_at,"
    " created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS INTEGER), ?,"
    " CAST(? AS BIGINT), ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name,"
    " kind = excluded.kind, unit = excluded.unit, supplier = excluded.supplier,"
    " catalogue_number = excluded.catalogue_number, reorder_point = excluded.reorder_point,"
    " reorder_quantity = excluded.reorder_quantity,"
    " open_stability_days = excluded.open_stability_days, storage = excluded.storage,"
    " uses_per_test = excluded.uses_per_test, updated_at = excluded.updated_at";
static const char sql_id_of[] = "SELECT id FROM stock_items WHERE code = ?";
static const char sql_tests_delete[] = "DELETE FROM stock_item_tests WHERE item_id = ?";
static const char sql_test_insert[] =
    "INSERT INTO stock_item_tests (item_id, test_code) VALUES (?, ?)";

static const jsonv_field doc_fields[] = {
    {"items", JSONV_ARRAY, true, STOCK_ITEMS_MAX},
};
static const jsonv_field item_fields[] = {
    {"code", JSONV_STRING, true, STOCK_CODE_MAX},
    {"name", JSONV_STRING, true, STOCK_TEXT_MAX},
    {"kind", JSONV_STRING, true, 20},
    {"unit", JSONV_STRING, true, STOCK_UNIT_MAX},
    {"supplier", JSONV_STRING, false, STOCK_TEXT_MAX},
    {"catalogue_number", JSONV_STRING, false, 64},
    {"reorder_point", JSONV_NUMBER, true, 0},
    {"reorder_quantity", JSONV_NUMBER, true, 0},
    {"open_stability_days", JSONV_INT, false, 0},
    {"storage", JSONV_STRING, false, 64},
    {"tests", JSONV_ARRAY, false, STOCK_TESTS_MAX},
    {"uses_per_test", JSONV_NUMBER, false, 0},
};

/* An item of the document, checked. */
struct item_in {
    const json_t *src;
    char code[STOCK_CODE_MAX + 1];
    int64_t reorder_point, reorder_quantity, uses_per_test;
    int open_days;
    char tests[STOCK_TESTS_MAX][CATALOG_CODE_MAX + 1];
    size_t ntests;
};

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* Whether s is not empty and made of the characters of set only. */
static bool made_of(const char *s, const char *set)
{
    return *s && s[strspn(s, set)] == '\0';
}

/* An item code: letters, digits, '-', '_', '.'. A unit: each, box, kit, or a
 * UCUM unit, which is letters, digits and UCUM's punctuation ("mL",
 * "{test}", "10*3/uL"). */
#define CODE_CHARS ALNUM "-_."
#define UNIT_CHARS ALNUM "{}[]/.*^_-%'"

static err_t bad(errinfo *ei, const char *path, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ERR_INVALID naming path.member, with the message fmt says. */
static err_t bad(errinfo *ei, const char *path, const char *member, const char *fmt, ...)
{
    char field[64], msg[256];
    va_list ap;
    snprintf(field, sizeof(field), "%.24s.%.38s", path, member);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(ei, ERR_INVALID, field, "%s: %s", field, msg);
}

/* The tests an item serves: catalog codes, each once. */
static err_t check_tests(db *d, const json_t *tests, const char *path, struct item_in *in,
                         errinfo *ei)
{
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t)
    {
        char member[32];
        catalog_test ct;
        errinfo e2 = {0};
        snprintf(member, sizeof(member), "tests[%zu]", i);
        if (!json_is_string(t))
            return bad(ei, path, member, "%s", "must be a catalog test code");
        err_t rc = catalog_get(d, json_string_value(t), &ct, &e2);
        if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
            return bad(ei, path, member, "'%.16s' is not a test of the catalog",
                       json_string_value(t));
        if (rc)
            return err_set(ei, rc, NULL, "%s", e2.message);
        for (size_t k = 0; k < in->ntests; k++)
            if (!strcmp(in->tests[k], ct.code))
                return bad(ei, path, member, "%s is listed twice", ct.code);
        snprintf(in->tests[in->ntests++], CATALOG_CODE_MAX + 1, "%s", ct.code);
    }
    return ERR_OK;
}

static err_t check_item(db *d, const json_t *it, const char *path, struct item_in *in, errinfo *ei)
{
    char field[64];
    memset(in, 0, sizeof(*in));
    in->src = it;
    err_t rc = stock_check_nested(it, path, item_fields, STOCK_NFIELDS(item_fields), ei);
    if (rc)
        return rc;
    const char *code = jsonv_str(it, "code"), *kind = jsonv_str(it, "kind");
    if (!made_of(code, CODE_CHARS))
        return bad(ei, path, "code", "%s", "letters, digits, '-', '_' and '.' only");
    snprintf(in->code, sizeof(in->code), "%s", code);
    static const char *const texts[] = {"name", "supplier", "catalogue_number", "storage"};
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        rc = stock_text_check(it, texts[k], path, ei);
        if (rc)
            return rc;
    }
    if (!stock_kind_valid(kind))
        return bad(ei, path, "kind", "%s",
                   "must be reagent, control, calibrator, tube, phlebotomy-supply, ppe or other");
    if (!made_of(jsonv_str(it, "unit"), UNIT_CHARS))
        return bad(ei, path, "unit", "%s", "must be each, box, kit or a UCUM unit (mL, {test})");
    snprintf(field, sizeof(field), "%.24s.reorder_point", path);
    rc = stock_qty_parse(json_object_get(it, "reorder_point"), field, true, &in->reorder_point, ei);
    snprintf(field, sizeof(field), "%.24s.reorder_quantity", path);
    if (!rc)
        rc = stock_qty_parse(json_object_get(it, "reorder_quantity"), field, false,
                             &in->reorder_quantity, ei);
    if (rc)
        return rc;
    bool verified = stock_kind_verified(kind), reagent = !strcmp(kind, "reagent");
    json_t *days = json_object_get(it, "open_stability_days");
    json_t *tests = json_object_get(it, "tests"), *uses = json_object_get(it, "uses_per_test");
    if (json_is_integer(days)) {
        if (!verified)
            return bad(ei, path, "open_stability_days", "%s",
                       "is for reagents, controls and calibrators");
        if (json_integer_value(days) < 1 || json_integer_value(days) > STOCK_OPEN_DAYS_MAX)
            return bad(ei, path, "open_stability_days", "%s", "must be from 1 to 3650");
        in->open_days = (int)json_integer_value(days);
    }
    if (json_array_size(tests) > 0 && !verified)
        return bad(ei, path, "tests", "%s", "only reagents, controls and calibrators serve tests");
    rc = check_tests(d, tests, path, in, ei);
    if (rc)
        return rc;
    if (json_is_number(uses)) {
        if (!reagent)
            return bad(ei, path, "uses_per_test", "%s", "is for reagents");
        snprintf(field, sizeof(field), "%.24s.uses_per_test", path);
        rc = stock_qty_parse(uses, field, false, &in->uses_per_test, ei);
        if (rc)
            return rc;
    } else if (reagent && in->ntests > 0) {
        return bad(ei, path, "uses_per_test", "%s",
                   "is required for a reagent that serves tests: how much one test consumes");
    }
    return ERR_OK;
}

/* An item of the document whose code is on record with lots keeps its kind. */
static err_t check_existing(db *d, const struct item_in *in, const char *path, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_existing, "t", in->code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row && db_col_int64(st, 2) > 0 &&
        strcmp(db_col_text(st, 1), jsonv_str(in->src, "kind"))) {
        char field[64];
        snprintf(field, sizeof(field), "%.24s.kind", path);
        rc = err_set(ei, ERR_CONFLICT, field, "%s: %s has lots as a %s: its kind stays", field,
                     in->code, db_col_text(st, 1));
    }
    db_finalize(st);
    return rc;
}

static err_t write_item(db *d, const audit_ctx *ctx, const struct item_in *in, int64_t now,
                        errinfo *ei)
{
    char id[ID_LEN + 1], days[16], uses[24];
    const json_t *it = in->src;
    const char *by = ctx->actor ? ctx->actor : "system";
    db_stmt *st = NULL;
    bool row = false;
    id_new(id);
    snprintf(days, sizeof(days), "%d", in->open_days);
    snprintf(uses, sizeof(uses), "%lld", (long long)in->uses_per_test);
    err_t rc = db_run(d, ei, NULL, sql_upsert, "tttttttiitttiti", id, in->code,
                      jsonv_str(it, "name"), jsonv_str(it, "kind"), jsonv_str(it, "unit"),
                      jsonv_str(it, "supplier"), jsonv_str(it, "catalogue_number"),
                      in->reorder_point, in->reorder_quantity, in->open_days ? days : NULL,
                      jsonv_str(it, "storage"), in->uses_per_test ? uses : NULL, now, by, now);
    /* the id of the row: this one, or the one it updated */
    if (!rc)
        rc = db_query(d, &st, ei, sql_id_of, "t", in->code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        snprintf(id, sizeof(id), "%s", db_col_text(st, 0));
    db_finalize(st);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_tests_delete, "t", id);
    for (size_t k = 0; !rc && k < in->ntests; k++)
        rc = db_run(d, ei, NULL, sql_test_insert, "tt", id, in->tests[k]);
    if (!rc) {
        json_t *tests = json_object_get(it, "tests");
        json_t *detail =
            json_pack("{s:s,s:s,s:o}", "code", in->code, "kind", jsonv_str(it, "kind"), "tests",
                      json_is_array(tests) ? json_incref(tests) : json_array());
        rc = audit_write(d, ctx, "stock.items.import", "stock_item", id, "ok", detail, ei);
        json_decref(detail);
    }
    return rc;
}

/* The item of the current row (columns of ITEM_COLS), with its tests. */
static err_t item_row_json(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    json_t *tests = NULL;
    *out = NULL;
    err_t rc = stock_item_tests(d, db_col_text(st, 0), &tests, ei);
    if (rc)
        return rc;
    *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o,s:o}", "id",
                     db_col_text(st, 0), "code", db_col_text(st, 1), "name", db_col_text(st, 2),
                     "kind", db_col_text(st, 3), "unit", db_col_text(st, 4), "supplier",
                     db_col_json_text(st, 5), "catalogue_number", db_col_json_text(st, 6),
                     "reorder_point", stock_qty_json(db_col_int64(st, 7)), "reorder_quantity",
                     stock_qty_json(db_col_int64(st, 8)), "open_stability_days",
                     db_col_null(st, 9) ? json_null() : json_integer(db_col_int64(st, 9)),
                     "storage", db_col_json_text(st, 10), "uses_per_test",
                     db_col_null(st, 11) ? json_null() : stock_qty_json(db_col_int64(st, 11)),
                     "created_at", db_col_json_time(st, 12), "created_by", db_col_text(st, 13),
                     "updated_at", db_col_json_time(st, 14), "on_hand",
                     stock_qty_json(db_col_int64(st, 15)), "tests", tests);
    return *out ? ERR_OK : ERR_NOMEM;
}

static err_t lot_of_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    return stock_lot_json(d, db_col_text(st, 0), out, ei);
}

/* One item as the API shows it; with_lots adds its lots. */
static err_t item_json(db *d, const char *code, bool with_lots, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *o = NULL, *lots = NULL;
    *out = NULL;
    err_t rc = db_query(d, &st, ei, sql_item_json, "t", code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "code", "no item of supplies has code '%.32s'", code);
    if (!rc)
        rc = item_row_json(d, st, &o, ei);
    db_finalize(st);
    st = NULL;
    if (!rc && with_lots) {
        rc = db_query(d, &st, ei, sql_lots_of, "t", jsonv_str(o, "id"));
        rc = stock_collect(d, st, rc, lot_of_row, &lots, ei);
        if (!rc && json_object_set_new(o, "lots", lots))
            rc = ERR_NOMEM;
    }
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return ERR_OK;
}

err_t stock_items_import(db *d, const audit_ctx *ctx, const json_t *doc, json_t **items,
                         errinfo *ei)
{
    struct item_in *ins = NULL;
    json_t *list = NULL, *it;
    size_t n, i;
    int64_t now = time_now_us();
    *items = NULL;
    err_t rc = jsonv_check(doc, doc_fields, STOCK_NFIELDS(doc_fields), ei);
    if (rc)
        return rc;
    const json_t *arr = json_object_get(doc, "items");
    n = json_array_size(arr);
    if (n == 0)
        return err_set(ei, ERR_INVALID, "items", "items must hold at least one item");
    ins = calloc(n, sizeof(*ins));
    list = json_array();
    if (!ins || !list) {
        rc = ERR_NOMEM;
        goto done;
    }
    json_array_foreach(arr, i, it)
    {
        char path[32];
        snprintf(path, sizeof(path), "items[%zu]", i);
        rc = check_item(d, it, path, &ins[i], ei);
        for (size_t k = 0; !rc && k < i; k++)
            if (!strcmp(ins[k].code, ins[i].code))
                rc = bad(ei, path, "code", "%s is listed twice", ins[i].code);
        if (rc)
            goto done;
    }
    rc = db_begin(d, ei);
    if (rc)
        goto done;
    for (i = 0; !rc && i < n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "items[%zu]", i);
        rc = check_existing(d, &ins[i], path, ei);
        if (!rc)
            rc = write_item(d, ctx, &ins[i], now, ei);
    }
    for (i = 0; !rc && i < n; i++) {
        json_t *o = NULL;
        rc = item_json(d, ins[i].code, false, &o, ei);
        if (!rc && json_array_append_new(list, o))
            rc = ERR_NOMEM;
    }
    rc = stock_finish(d, rc, &list, ei);
    *items = list;
    list = NULL;
done:
    free(ins);
    json_decref(list);
    return rc;
}

err_t stock_items_list(db *d, const char *kind, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    *items = NULL;
    if (kind && !stock_kind_valid(kind))
        return err_set(ei, ERR_INVALID, "kind",
                       "kind must be reagent, control, calibrator, tube, phlebotomy-supply, ppe "
                       "or other");
    err_t rc = db_query(d, &st, ei, sql_items, "tt", kind, kind);
    return stock_collect(d, st, rc, item_row_json, items, ei);
}

err_t stock_item_get(db *d, const char *code, json_t **out, errinfo *ei)
{
    return item_json(d, code, true, out, ei);
}
