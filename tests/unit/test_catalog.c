/*
 * test_catalog.c - the test catalog suite (src/lab/catalog.c) against a real
 * backend: the demo catalog, import and export round trips, every validation
 * rule (each refusal names its JSON path and writes nothing), the LOINC check
 * digit, reference band selection, panel expansion, instrument code resolution,
 * re-import and the audit event.
 *
 * Runs against the URL in BENCHSIDE_TEST_DB (a PostgreSQL database the runner
 * may share between suites and reuse between runs) or, when it is unset, a
 * temporary SQLite file removed at the end. Every test and panel code, and
 * every instrument name, written by a test other than the demo import carries
 * a random suffix made once per run ('@' in the JSON below), so runs never
 * meet; the demo catalog itself is upserted, which any run may repeat. Audit
 * checks compare with the head sequence read before the action.
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

#include "auth/audit.h"
#include "base/err.h"
#include "lab/catalog.h"
#include "store/db.h"
#include "testdb.h"

static char cat_url[1024];
static char cat_tmp_path[256]; /* the temporary SQLite file, "" when none */
static char cat_sfx[8];        /* random, upper case, once per run */
static db *cat_db;
static const audit_ctx cat_cli = {NULL, "cli", "cli"};

/* ---------------------------------------------------------------- helpers */

/* in with every '@' replaced by the run's suffix, into a new string (caller frees). */
static char *cat_subst(const char *in)
{
    size_t n = strlen(in), k = 0;
    char *out = malloc(n * sizeof(cat_sfx) + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '@') {
            memcpy(out + k, cat_sfx, strlen(cat_sfx));
            k += strlen(cat_sfx);
        } else {
            out[k++] = in[i];
        }
    }
    out[k] = '\0';
    return out;
}

/* "<prefix>-<suffix>" into out. */
static void cat_name(char *out, size_t n, const char *prefix)
{
    snprintf(out, n, "%s-%s", prefix, cat_sfx);
}

/* Parse JSON text (any value) after '@' substitution; new reference. */
static json_t *cat_json(const char *text)
{
    json_error_t je;
    char *s = cat_subst(text);
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad JSON in the test (%s): %s", je.text, s);
    free(s);
    return v;
}

/* The first column of the only row of sql, with one text parameter unless arg is NULL. */
static int64_t cat_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = 0;
    if (testdb_scalar(cat_db, sql, arg, &v, &ei))
        fail_msg("%s: %s", sql, ei.message);
    return v;
}

static int64_t cat_head_seq(void)
{
    return cat_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

/* Import doc; the return code, with ei filled. */
static err_t cat_import(const json_t *doc, int *tests, int *panels, errinfo *ei)
{
    err_clear(ei);
    return catalog_import(cat_db, &cat_cli, doc, tests, panels, ei);
}

static void cat_import_ok(const json_t *doc, int *tests, int *panels)
{
    errinfo ei = {0};
    err_t rc = cat_import(doc, tests, panels, &ei);
    if (rc)
        fail_msg("catalog_import: %s: field '%s': %s", err_name(rc), ei.field, ei.message);
}

static void cat_import_text_ok(const char *text)
{
    json_t *doc = cat_json(text);
    cat_import_ok(doc, NULL, NULL);
    json_decref(doc);
}

static json_t *cat_demo(void)
{
    json_error_t je;
    json_t *doc = json_loadb(catalog_demo_json, catalog_demo_json_len, 0, &je);
    if (!doc)
        fail_msg("demo catalog: line %d: %s", je.line, je.text);
    return doc;
}

static void cat_import_demo(void)
{
    json_t *doc = cat_demo();
    cat_import_ok(doc, NULL, NULL);
    json_decref(doc);
}

/* A deep copy of v without null members (export never writes null). New reference. */
static json_t *cat_strip_nulls(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            if (!json_is_null(m))
                json_object_set_new(o, k, cat_strip_nulls(m));
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(a, cat_strip_nulls(json_array_get(v, i)));
        return a;
    }
    return json_deep_copy(v);
}

/* The member of array a whose "code" is code, or NULL. Borrowed. */
static json_t *cat_by_code(const json_t *a, const char *code)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i);
        const char *c = json_string_value(json_object_get(o, "code"));
        if (c && !strcmp(c, code))
            return o;
    }
    return NULL;
}

/* want (nulls left out) equals got; otherwise fail showing both. */
static void cat_expect_same(const json_t *want, const json_t *got)
{
    json_t *w = cat_strip_nulls(want);
    if (!got || !json_equal(w, (json_t *)got)) {
        char *a = json_dumps(w, JSON_SORT_KEYS | JSON_COMPACT);
        char *b = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        fprintf(stderr, "want %s\n got %s\n", a, b ? b : "(nothing)");
        free(a);
        free(b);
        json_decref(w);
        fail_msg("exported catalog entry differs from the imported one");
    }
    json_decref(w);
}

static json_t *cat_export(void)
{
    errinfo ei = {0};
    json_t *out = NULL;
    err_t rc = catalog_export(cat_db, &out, &ei);
    if (rc)
        fail_msg("catalog_export: %s: %s", err_name(rc), ei.message);
    assert_non_null(out);
    return out;
}

/* Every member of a is ordered by "code" (byte order). */
static void cat_expect_sorted(const json_t *a)
{
    for (size_t i = 1; i < json_array_size(a); i++) {
        const char *x = json_string_value(json_object_get(json_array_get(a, i - 1), "code"));
        const char *y = json_string_value(json_object_get(json_array_get(a, i), "code"));
        assert_non_null(x);
        assert_non_null(y);
        if (strcmp(x, y) >= 0)
            fail_msg("export not sorted by code: '%s' before '%s'", x, y);
    }
}

static void cat_resolve_is(const char *instrument, const char *code, const char *want)
{
    char out[CATALOG_CODE_MAX + 1];
    errinfo ei = {0};
    err_t rc = catalog_resolve(cat_db, instrument, code, out, &ei);
    if (rc)
        fail_msg("catalog_resolve(%s, %s): %s: %s", instrument ? instrument : "(null)", code,
                 err_name(rc), ei.message);
    assert_string_equal(out, want);
}

/* ------------------------------------------------------- suite set-up */

static bool cat_open_suite(void)
{
    if (!testdb_pick("catalog", cat_url, sizeof(cat_url), cat_tmp_path, sizeof(cat_tmp_path)))
        return false;
    /* Random Crockford base32, upper case and digits, as test codes must be. */
    testdb_suffix(cat_sfx, 6, false);
    return testdb_open(cat_url, NULL, &cat_db);
}

static void cat_close_suite(void)
{
    testdb_close(cat_db, cat_tmp_path);
    cat_db = NULL;
}

/* ------------------------------------------------------ demo catalog */

/* The codes the analyzers in /work/shared/samples/astm send (sysmex_xn550.txt,
 * cobas_c311.txt), and the test each means. */
static const struct {
    const char *instrument, *code, *test;
} cat_sample_codes[] = {
    {"sysmex-xn550", "WBC", "WBC"},    {"sysmex-xn550", "RBC", "RBC"},
    {"sysmex-xn550", "HGB", "HGB"},    {"sysmex-xn550", "HCT", "HCT"},
    {"sysmex-xn550", "MCV", "MCV"},    {"sysmex-xn550", "MCH", "MCH"},
    {"sysmex-xn550", "MCHC", "MCHC"},  {"sysmex-xn550", "PLT", "PLT"},
    {"sysmex-xn550", "RDW-CV", "RDW"}, {"cobas-c311", "685", "ALT"},
    {"cobas-c311", "687", "AST"},      {"cobas-c311", "712", "TBIL"},
    {"cobas-c311", "158", "ALP"},      {"cobas-c311", "717", "GLU"},
    {"cobas-c311", "690", "CREA"},
};

static void test_demo_embedded(void **state)
{
    json_t *doc;
    (void)state;
    assert_int_equal(strlen(catalog_demo_json), catalog_demo_json_len);
    doc = cat_demo();
    assert_true(json_array_size(json_object_get(doc, "tests")) >= 30);
    /* Every LOINC code of the demo catalog passes the check digit. */
    for (size_t i = 0; i < json_array_size(json_object_get(doc, "tests")); i++) {
        const char *l = json_string_value(
            json_object_get(json_array_get(json_object_get(doc, "tests"), i), "loinc"));
        assert_non_null(l);
        if (!catalog_loinc_valid(l, strlen(l)))
            fail_msg("demo LOINC %s fails its check digit", l);
    }
    json_decref(doc);
}

static void test_demo_import_round_trip(void **state)
{
    static const struct {
        const char *code, *loinc;
    } want[] = {
        {"WBC", "6690-2"},    {"RBC", "789-8"},    {"HGB", "718-7"},    {"HCT", "4544-3"},
        {"MCV", "787-2"},     {"MCH", "785-6"},    {"MCHC", "786-4"},   {"RDW", "788-0"},
        {"PLT", "777-3"},     {"GLU", "2345-7"},   {"BUN", "3094-0"},   {"CREA", "2160-0"},
        {"NA", "2951-2"},     {"K", "2823-3"},     {"CL", "2075-0"},    {"CO2", "2028-9"},
        {"CA", "17861-6"},    {"CHOL", "2093-3"},  {"TRIG", "2571-8"},  {"HDL", "2085-9"},
        {"LDL", "13457-7"},   {"ALT", "1742-6"},   {"AST", "1920-8"},   {"ALP", "6768-6"},
        {"TBIL", "1975-2"},   {"ALB", "1751-7"},   {"TP", "2885-2"},    {"TSH", "3016-3"},
        {"TROPI", "89579-7"}, {"HBA1C", "4548-4"}, {"PT", "5902-2"},    {"INR", "6301-6"},
        {"USG", "5811-5"},    {"UPH", "5803-2"},   {"UPRO", "20454-5"}, {"UGLU", "25428-4"},
    };
    json_t *doc = cat_demo(), *out;
    const json_t *tests = json_object_get(doc, "tests"), *panels = json_object_get(doc, "panels");
    int nt = -1, np = -1;
    bool fresh = cat_tmp_path[0] != '\0';
    (void)state;
    cat_import_ok(doc, &nt, &np);
    assert_int_equal(nt, (int)json_array_size(tests));
    assert_int_equal(np, (int)json_array_size(panels));
    assert_true(nt >= 30);
    out = cat_export();
    cat_expect_sorted(json_object_get(out, "tests"));
    cat_expect_sorted(json_object_get(out, "panels"));
    if (fresh) { /* nothing else in the database yet: the export is exactly the demo */
        assert_int_equal(json_array_size(json_object_get(out, "tests")), json_array_size(tests));
        assert_int_equal(json_array_size(json_object_get(out, "panels")), json_array_size(panels));
    }
    for (size_t i = 0; i < json_array_size(tests); i++) {
        const json_t *t = json_array_get(tests, i);
        const char *code = json_string_value(json_object_get(t, "code"));
        json_t *one = NULL;
        errinfo ei = {0};
        cat_expect_same(t, cat_by_code(json_object_get(out, "tests"), code));
        assert_int_equal(catalog_test_json(cat_db, code, &one, &ei), ERR_OK);
        cat_expect_same(t, one);
        json_decref(one);
    }
    for (size_t i = 0; i < json_array_size(panels); i++) {
        const json_t *p = json_array_get(panels, i);
        cat_expect_same(p, cat_by_code(json_object_get(out, "panels"),
                                       json_string_value(json_object_get(p, "code"))));
    }
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const json_t *t = cat_by_code(tests, want[i].code);
        assert_non_null(t);
        assert_string_equal(json_string_value(json_object_get(t, "loinc")), want[i].loinc);
    }
    for (size_t i = 0; i < sizeof(cat_sample_codes) / sizeof(cat_sample_codes[0]); i++)
        cat_resolve_is(cat_sample_codes[i].instrument, cat_sample_codes[i].code,
                       cat_sample_codes[i].test);
    json_decref(out);
    json_decref(doc);
}

static void test_demo_panels_and_views(void **state)
{
    static const char *const cbc[] = {"WBC", "RBC",  "HGB", "HCT", "MCV",
                                      "MCH", "MCHC", "RDW", "PLT"};
    static const char *const bmp[] = {"GLU", "BUN", "CREA", "NA", "K", "CL", "CO2", "CA"};
    char codes[20][CATALOG_CODE_MAX + 1];
    catalog_test t;
    errinfo ei = {0};
    json_t *tl = NULL, *pl = NULL;
    int n = -1;
    (void)state;
    cat_import_demo();
    assert_int_equal(catalog_expand(cat_db, "CBC", codes, 20, &n, &ei), ERR_OK);
    assert_int_equal(n, 9);
    for (int i = 0; i < n; i++)
        assert_string_equal(codes[i], cbc[i]);
    assert_int_equal(catalog_expand(cat_db, "BMP", codes, 20, &n, &ei), ERR_OK);
    assert_int_equal(n, 8);
    for (int i = 0; i < n; i++)
        assert_string_equal(codes[i], bmp[i]);

    assert_int_equal(catalog_get(cat_db, "GLU", &t, &ei), ERR_OK);
    assert_string_equal(t.code, "GLU");
    assert_string_equal(t.name, "Glucose");
    assert_string_equal(t.loinc, "2345-7");
    assert_int_equal(t.kind, CATALOG_NUMERIC);
    assert_string_equal(t.specimen_type, "serum");
    assert_string_equal(t.container, "SST (gold)");
    assert_string_equal(t.unit, "mg/dL");
    assert_int_equal(t.decimals, 0);
    assert_true(t.has_critical_low && t.has_critical_high);
    assert_true(t.critical_low == 40 && t.critical_high == 500);
    assert_true(t.has_delta);
    assert_int_equal(t.delta_kind, CATALOG_DELTA_PERCENT);
    assert_true(t.delta_limit == 50);
    assert_int_equal(t.delta_window_hours, 72);
    assert_int_equal(t.stability_room_hours, 8);
    assert_int_equal(t.stability_refrigerated_hours, 72);
    assert_int_equal(t.stability_frozen_hours, 720);
    assert_int_equal(t.tat_routine_minutes, 240);
    assert_int_equal(t.tat_asap_minutes, 120);
    assert_int_equal(t.tat_stat_minutes, 60);
    assert_string_equal(t.cpt, "82947");
    assert_true(t.active);

    assert_int_equal(catalog_get(cat_db, "PT", &t, &ei), ERR_OK);
    assert_int_equal(t.stability_refrigerated_hours, -1); /* not refrigerated */
    assert_false(t.has_delta);
    assert_int_equal(catalog_get(cat_db, "TROPI", &t, &ei), ERR_OK);
    assert_false(t.has_critical_low);
    assert_true(t.has_critical_high);
    assert_int_equal(catalog_get(cat_db, "CREA", &t, &ei), ERR_OK);
    assert_int_equal(t.delta_kind, CATALOG_DELTA_ABSOLUTE);
    assert_true(t.delta_limit == 0.3);
    assert_int_equal(catalog_get(cat_db, "UCOLOR", &t, &ei), ERR_OK);
    assert_int_equal(t.kind, CATALOG_TEXT);
    assert_string_equal(t.unit, "");
    assert_int_equal(catalog_get(cat_db, "UPRO", &t, &ei), ERR_OK);
    assert_int_equal(t.kind, CATALOG_CODED);
    assert_string_equal(t.cpt, "");
    assert_int_equal(catalog_get(cat_db, "NOSUCH-@", &t, &ei), ERR_NOT_FOUND);
    assert_int_equal(catalog_get(cat_db, "NOSUCHTEST", &t, &ei), ERR_NOT_FOUND);

    assert_int_equal(catalog_list_json(cat_db, &tl, &pl, &ei), ERR_OK);
    assert_true(json_array_size(tl) >= 30);
    cat_expect_sorted(tl);
    cat_expect_sorted(pl);
    assert_string_equal(json_string_value(json_object_get(cat_by_code(tl, "GLU"), "unit")),
                        "mg/dL");
    assert_true(json_is_true(json_object_get(cat_by_code(tl, "GLU"), "active")));
    assert_int_equal(json_array_size(json_object_get(cat_by_code(pl, "CBC"), "tests")), 9);
    json_decref(tl);
    json_decref(pl);
}

/* ---------------------------------------------------------- LOINC */

static void test_loinc_check_digit(void **state)
{
    static const char *const good[] = {"2345-7",  "718-7",  "6690-2",  "17861-6",
                                       "89579-7", "4548-4", "13457-7", "58410-2",
                                       "24357-6", "1-8",    "2160-0",  "788-0"};
    static const char *const bad[] = {
        "2345-8", "718-6", "6690-3", "89579-1", "1-7",        "2160-1",  "",       "-7",
        "2345-",  "2345",  "23a5-7", "02345-7", "12345678-9", "2345-77", "2345_7", " 2345-7"};
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!catalog_loinc_valid(good[i], strlen(good[i])))
            fail_msg("%s should pass", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (catalog_loinc_valid(bad[i], strlen(bad[i])))
            fail_msg("'%s' should fail", bad[i]);
    assert_false(catalog_loinc_valid(NULL, 0));
    /* Only n bytes count. */
    assert_true(catalog_loinc_valid("2345-7xyz", 6));
}

/* -------------------------------------------------------- validation */

/*
 * A valid document; each case below changes one thing in it and must be
 * refused with the code and field given, writing nothing.
 */
static const char cat_base[] =
    "{\"tests\":["
    "{\"code\":\"VA-@\",\"name\":\"Valid A\",\"loinc\":\"2345-7\",\"kind\":\"numeric\","
    "\"specimen_type\":\"serum\",\"container\":\"SST (gold)\",\"unit\":\"mg/dL\",\"decimals\":0,"
    "\"ranges\":[{\"sex\":\"female\",\"age_min_days\":0,\"age_max_days\":6570,\"low\":60,"
    "\"high\":100},{\"sex\":\"female\",\"age_min_days\":6570,\"age_max_days\":54750,\"low\":70,"
    "\"high\":99},{\"sex\":\"any\",\"age_min_days\":0,\"age_max_days\":54750,\"low\":65,"
    "\"high\":105}],\"critical\":{\"low\":40,\"high\":500},"
    "\"delta\":{\"kind\":\"percent\",\"limit\":50,\"window_hours\":72},"
    "\"stability_hours\":{\"room\":8,\"refrigerated\":72,\"frozen\":720},"
    "\"tat_minutes\":{\"routine\":240,\"asap\":120,\"stat\":60},\"cpt\":\"82947\","
    "\"coded_values\":null,\"mappings\":[{\"instrument\":\"inst-@\",\"code\":\"A1\"}]},"
    "{\"code\":\"VB-@\",\"name\":\"Valid B\",\"kind\":\"coded\",\"specimen_type\":\"urine\","
    "\"container\":\"Urine cup\",\"coded_values\":[\"negative\",\"positive\"],"
    "\"ranges\":[{\"sex\":\"any\",\"age_min_days\":0,\"age_max_days\":54750,"
    "\"normal_text\":\"negative\"}],\"tat_minutes\":{\"routine\":120,\"asap\":60,\"stat\":30},"
    "\"mappings\":[{\"instrument\":\"inst-@\",\"code\":\"B1\"}]}],"
    "\"panels\":[{\"code\":\"VP-@\",\"name\":\"Valid panel\",\"cpt\":\"80048\","
    "\"tests\":[\"VA-@\",\"VB-@\"]}]}";

/* A path step: "name" or "name[i]". */
static json_t *cat_step(json_t *cur, const char *tok, char *name, size_t namelen, long *idx)
{
    const char *br = strchr(tok, '[');
    size_t n = br ? (size_t)(br - tok) : strlen(tok);
    char *end = NULL;
    assert_true(n < namelen);
    memcpy(name, tok, n);
    name[n] = '\0';
    *idx = -1;
    if (br) {
        *idx = strtol(br + 1, &end, 10);
        assert_true(end && *end == ']');
    }
    return cur;
}

/* Set the member at path ("tests[0].ranges[1].low") to value (stolen), or delete it (NULL). */
static void cat_set(json_t *root, const char *path, json_t *value)
{
    char buf[128], name[64];
    char *save = NULL, *tok, *next;
    json_t *cur = root;
    long idx;
    snprintf(buf, sizeof(buf), "%s", path);
    tok = strtok_r(buf, ".", &save);
    next = strtok_r(NULL, ".", &save);
    while (next) {
        cat_step(cur, tok, name, sizeof(name), &idx);
        cur = json_object_get(cur, name);
        if (idx >= 0)
            cur = json_array_get(cur, (size_t)idx);
        assert_non_null(cur);
        tok = next;
        next = strtok_r(NULL, ".", &save);
    }
    cat_step(cur, tok, name, sizeof(name), &idx);
    if (idx >= 0) {
        json_t *a = json_object_get(cur, name);
        assert_non_null(a);
        assert_int_equal(json_array_set_new(a, (size_t)idx, value), 0);
    } else if (value) {
        assert_int_equal(json_object_set_new(cur, name, value), 0);
    } else {
        assert_int_equal(json_object_del(cur, name), 0);
    }
}

/* A value: JSON text after '@' substitution, or "#N": a string of N letters. */
static json_t *cat_value(const char *text)
{
    if (text[0] == '#') {
        char *end = NULL;
        long n = strtol(text + 1, &end, 10);
        char *s;
        json_t *v;
        assert_true(end && *end == '\0' && n > 0 && n < 4096);
        s = malloc((size_t)n + 1);
        assert_non_null(s);
        memset(s, 'A', (size_t)n);
        s[n] = '\0';
        v = json_string(s);
        free(s);
        return v;
    }
    return cat_json(text);
}

/* Nothing of the base document is in the database, and the trail did not move. */
static void cat_expect_nothing_written(int64_t head)
{
    char a[32], b[32], p[32], inst[32];
    cat_name(a, sizeof(a), "VA");
    cat_name(b, sizeof(b), "VB");
    cat_name(p, sizeof(p), "VP");
    cat_name(inst, sizeof(inst), "inst");
    assert_int_equal(cat_head_seq(), head);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM tests WHERE code = ?", a), 0);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM tests WHERE code = ?", b), 0);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM test_ranges WHERE test_code = ?", a), 0);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM panels WHERE code = ?", p), 0);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM panel_tests WHERE panel_code = ?", p), 0);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM test_mappings WHERE instrument = ?", inst),
                     0);
}

static const struct cat_case {
    const char *path;  /* what to change */
    const char *value; /* the new value (see cat_value), NULL to delete it */
    err_t code;
    const char *field;
} cat_cases[] = {
    /* unknown fields, anywhere */
    {"extra", "1", ERR_UNKNOWN_FIELD, "extra"},
    {"tests[0].colour", "\"red\"", ERR_UNKNOWN_FIELD, "tests[0].colour"},
    {"tests[0].ranges[1].age", "3", ERR_UNKNOWN_FIELD, "tests[0].ranges[1].age"},
    {"tests[0].critical.panic", "3", ERR_UNKNOWN_FIELD, "tests[0].critical.panic"},
    {"tests[0].delta.unit", "\"x\"", ERR_UNKNOWN_FIELD, "tests[0].delta.unit"},
    {"tests[0].stability_hours.ambient", "3", ERR_UNKNOWN_FIELD,
     "tests[0].stability_hours.ambient"},
    {"tests[0].tat_minutes.urgent", "3", ERR_UNKNOWN_FIELD, "tests[0].tat_minutes.urgent"},
    {"tests[1].mappings[0].channel", "3", ERR_UNKNOWN_FIELD, "tests[1].mappings[0].channel"},
    {"panels[0].active", "true", ERR_UNKNOWN_FIELD, "panels[0].active"},
    /* shapes */
    {"tests", "{}", ERR_INVALID, "tests"},
    {"panels", "3", ERR_INVALID, "panels"},
    {"tests[0]", "3", ERR_INVALID, "tests[0]"},
    {"tests[0].ranges[0]", "[]", ERR_INVALID, "tests[0].ranges[0]"},
    {"tests[0].name", "5", ERR_INVALID, "tests[0].name"},
    {"tests[0].critical", "[]", ERR_INVALID, "tests[0].critical"},
    /* code */
    {"tests[0].code", NULL, ERR_MISSING_FIELD, "tests[0].code"},
    {"tests[0].code", "\"va-@\"", ERR_INVALID, "tests[0].code"},
    {"tests[0].code", "\"\"", ERR_INVALID, "tests[0].code"},
    {"tests[0].code", "\"ABCDEFGHIJKLMNOPQ\"", ERR_INVALID, "tests[0].code"},
    {"tests[0].code", "\"V A-@\"", ERR_INVALID, "tests[0].code"},
    {"tests[1].code", "\"VA-@\"", ERR_INVALID, "tests[1].code"},
    /* name */
    {"tests[0].name", NULL, ERR_MISSING_FIELD, "tests[0].name"},
    {"tests[0].name", "\"\"", ERR_INVALID, "tests[0].name"},
    {"tests[0].name", "#129", ERR_INVALID, "tests[0].name"},
    {"tests[0].name", "\"line\\nbreak\"", ERR_INVALID, "tests[0].name"},
    /* LOINC */
    {"tests[0].loinc", "\"2345-8\"", ERR_INVALID, "tests[0].loinc"},
    {"tests[0].loinc", "\"2345\"", ERR_INVALID, "tests[0].loinc"},
    {"tests[0].loinc", "\"02345-7\"", ERR_INVALID, "tests[0].loinc"},
    {"tests[0].loinc", "\"LP2345-7\"", ERR_INVALID, "tests[0].loinc"},
    /* kind, unit, decimals */
    {"tests[0].kind", NULL, ERR_MISSING_FIELD, "tests[0].kind"},
    {"tests[0].kind", "\"number\"", ERR_INVALID, "tests[0].kind"},
    {"tests[0].specimen_type", NULL, ERR_MISSING_FIELD, "tests[0].specimen_type"},
    {"tests[0].container", "#65", ERR_INVALID, "tests[0].container"},
    {"tests[0].unit", NULL, ERR_MISSING_FIELD, "tests[0].unit"},
    {"tests[0].unit", "\"mg dL\"", ERR_INVALID, "tests[0].unit"},
    {"tests[0].unit", "#33", ERR_INVALID, "tests[0].unit"},
    {"tests[0].decimals", NULL, ERR_MISSING_FIELD, "tests[0].decimals"},
    {"tests[0].decimals", "7", ERR_INVALID, "tests[0].decimals"},
    {"tests[0].decimals", "-1", ERR_INVALID, "tests[0].decimals"},
    {"tests[0].decimals", "1.5", ERR_INVALID, "tests[0].decimals"},
    {"tests[1].unit", "\"mg/dL\"", ERR_INVALID, "tests[1].unit"},
    {"tests[1].decimals", "0", ERR_INVALID, "tests[1].decimals"},
    /* coded values */
    {"tests[1].coded_values", NULL, ERR_MISSING_FIELD, "tests[1].coded_values"},
    {"tests[1].coded_values", "[]", ERR_INVALID, "tests[1].coded_values"},
    {"tests[1].coded_values", "\"negative\"", ERR_INVALID, "tests[1].coded_values"},
    {"tests[1].coded_values[1]", "#65", ERR_INVALID, "tests[1].coded_values[1]"},
    {"tests[1].coded_values[1]", "7", ERR_INVALID, "tests[1].coded_values[1]"},
    {"tests[1].coded_values[1]", "\"negative\"", ERR_INVALID, "tests[1].coded_values[1]"},
    {"tests[0].coded_values", "[\"x\"]", ERR_INVALID, "tests[0].coded_values"},
    /* ranges */
    {"tests[0].ranges", "{}", ERR_INVALID, "tests[0].ranges"},
    {"tests[0].ranges[1].sex", NULL, ERR_MISSING_FIELD, "tests[0].ranges[1].sex"},
    {"tests[0].ranges[1].sex", "\"woman\"", ERR_INVALID, "tests[0].ranges[1].sex"},
    {"tests[0].ranges[1].age_min_days", NULL, ERR_MISSING_FIELD, "tests[0].ranges[1].age_min_days"},
    {"tests[0].ranges[1].age_min_days", "-1", ERR_INVALID, "tests[0].ranges[1].age_min_days"},
    {"tests[0].ranges[1].age_min_days", "54750", ERR_INVALID, "tests[0].ranges[1].age_min_days"},
    {"tests[0].ranges[1].age_max_days", "54751", ERR_INVALID, "tests[0].ranges[1].age_max_days"},
    {"tests[0].ranges[1].age_max_days", "6570", ERR_INVALID, "tests[0].ranges[1].age_max_days"},
    {"tests[0].ranges[1].age_max_days", "100.5", ERR_INVALID, "tests[0].ranges[1].age_max_days"},
    {"tests[0].ranges[1].low", "120", ERR_INVALID, "tests[0].ranges[1].low"},
    {"tests[0].ranges[1].low", "\"70\"", ERR_INVALID, "tests[0].ranges[1].low"},
    {"tests[0].ranges[1].age_min_days", "6000", ERR_INVALID, "tests[0].ranges[1]"},
    {"tests[0].ranges[0].sex", "\"any\"", ERR_INVALID, "tests[0].ranges[2]"},
    {"tests[0].ranges[2]", "{\"sex\":\"male\",\"age_min_days\":0,\"age_max_days\":9}",
     ERR_MISSING_FIELD, "tests[0].ranges[2].low"},
    {"tests[0].ranges[2].normal_text", "\"normal\"", ERR_INVALID, "tests[0].ranges[2].normal_text"},
    {"tests[1].ranges[0].low", "1", ERR_INVALID, "tests[1].ranges[0].low"},
    {"tests[1].ranges[0].normal_text", NULL, ERR_MISSING_FIELD, "tests[1].ranges[0].normal_text"},
    {"tests[1].ranges[0].normal_text", "\"maybe\"", ERR_INVALID, "tests[1].ranges[0].normal_text"},
    /* critical, delta */
    {"tests[0].critical.low", "500", ERR_INVALID, "tests[0].critical.low"},
    {"tests[0].critical.high", "\"high\"", ERR_INVALID, "tests[0].critical.high"},
    {"tests[1].critical", "{\"low\":1}", ERR_INVALID, "tests[1].critical"},
    {"tests[0].delta.kind", "\"ratio\"", ERR_INVALID, "tests[0].delta.kind"},
    {"tests[0].delta.kind", NULL, ERR_MISSING_FIELD, "tests[0].delta.kind"},
    {"tests[0].delta.limit", "0", ERR_INVALID, "tests[0].delta.limit"},
    {"tests[0].delta.limit", NULL, ERR_MISSING_FIELD, "tests[0].delta.limit"},
    {"tests[0].delta.window_hours", "0", ERR_INVALID, "tests[0].delta.window_hours"},
    {"tests[0].delta.window_hours", "8761", ERR_INVALID, "tests[0].delta.window_hours"},
    {"tests[1].delta", "{\"kind\":\"absolute\",\"limit\":1,\"window_hours\":24}", ERR_INVALID,
     "tests[1].delta"},
    /* stability, turnaround */
    {"tests[0].stability_hours.room", "-1", ERR_INVALID, "tests[0].stability_hours.room"},
    {"tests[0].stability_hours.frozen", "\"long\"", ERR_INVALID, "tests[0].stability_hours.frozen"},
    {"tests[0].tat_minutes", NULL, ERR_MISSING_FIELD, "tests[0].tat_minutes"},
    {"tests[0].tat_minutes.asap", NULL, ERR_MISSING_FIELD, "tests[0].tat_minutes.asap"},
    {"tests[0].tat_minutes.stat", "0", ERR_INVALID, "tests[0].tat_minutes.stat"},
    {"tests[0].tat_minutes.routine", "100001", ERR_INVALID, "tests[0].tat_minutes.routine"},
    {"tests[0].tat_minutes.stat", "121", ERR_INVALID, "tests[0].tat_minutes.stat"},
    {"tests[0].tat_minutes.asap", "241", ERR_INVALID, "tests[0].tat_minutes.asap"},
    /* CPT */
    {"tests[0].cpt", "\"8294\"", ERR_INVALID, "tests[0].cpt"},
    {"tests[0].cpt", "\"8294a\"", ERR_INVALID, "tests[0].cpt"},
    {"tests[0].cpt", "\"829470\"", ERR_INVALID, "tests[0].cpt"},
    {"panels[0].cpt", "\"80-48\"", ERR_INVALID, "panels[0].cpt"},
    /* mappings */
    {"tests[0].mappings", "{}", ERR_INVALID, "tests[0].mappings"},
    {"tests[0].mappings[0].instrument", NULL, ERR_MISSING_FIELD, "tests[0].mappings[0].instrument"},
    {"tests[0].mappings[0].instrument", "#65", ERR_INVALID, "tests[0].mappings[0].instrument"},
    {"tests[0].mappings[0].code", "#33", ERR_INVALID, "tests[0].mappings[0].code"},
    {"tests[0].mappings[0].code", "\"A1 \"", ERR_INVALID, "tests[0].mappings[0].code"},
    {"tests[1].mappings[0].code", "\"A1\"", ERR_INVALID, "tests[1].mappings[0].code"},
    /* panels */
    {"panels[0].code", "\"VA-@\"", ERR_INVALID, "panels[0].code"},
    {"panels[0].code", "\"vp\"", ERR_INVALID, "panels[0].code"},
    {"panels[0].name", NULL, ERR_MISSING_FIELD, "panels[0].name"},
    {"panels[0].loinc", "\"24331-2\"", ERR_INVALID, "panels[0].loinc"},
    {"panels[0].tests", NULL, ERR_MISSING_FIELD, "panels[0].tests"},
    {"panels[0].tests", "[]", ERR_INVALID, "panels[0].tests"},
    {"panels[0].tests[1]", "\"VA-@\"", ERR_INVALID, "panels[0].tests[1]"},
    {"panels[0].tests[1]", "\"NO-@\"", ERR_INVALID, "panels[0].tests[1]"},
    {"panels[0].tests[1]", "5", ERR_INVALID, "panels[0].tests[1]"},
};

static void test_base_document_is_valid(void **state)
{
    /* The base document itself imports (under other codes, so the cases stay clean). */
    char *text = cat_subst(cat_base), *p;
    json_t *doc;
    (void)state;
    for (p = strstr(text, cat_sfx); p; p = strstr(p + 1, cat_sfx))
        p[0] = cat_sfx[0] == 'Z' ? 'Y' : 'Z'; /* a different suffix, same length */
    doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    cat_import_ok(doc, NULL, NULL);
    json_decref(doc);
    free(text);
}

static void test_validation_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cat_cases) / sizeof(cat_cases[0]); i++) {
        const struct cat_case *c = &cat_cases[i];
        json_t *doc = cat_json(cat_base);
        char *field = cat_subst(c->field);
        errinfo ei = {0};
        int64_t head = cat_head_seq();
        int nt = -1, np = -1;
        err_t rc;
        cat_set(doc, c->path, c->value ? cat_value(c->value) : NULL);
        rc = cat_import(doc, &nt, &np, &ei);
        if (rc != c->code || strcmp(ei.field, field) != 0)
            fail_msg("case %zu (%s = %s): want %s at '%s', got %s at '%s': %s", i, c->path,
                     c->value ? c->value : "(deleted)", err_name(c->code), field, err_name(rc),
                     ei.field, ei.message);
        /* The message names the path too. */
        assert_non_null(strstr(ei.message, field));
        assert_int_equal(nt, 0);
        assert_int_equal(np, 0);
        cat_expect_nothing_written(head);
        free(field);
        json_decref(doc);
    }
}

static void test_validation_not_object(void **state)
{
    json_t *doc = json_array();
    errinfo ei = {0};
    int64_t head = cat_head_seq();
    (void)state;
    assert_int_equal(cat_import(doc, NULL, NULL, &ei), ERR_INVALID);
    assert_int_equal(cat_head_seq(), head);
    json_decref(doc);
}

/* Checks that need the database: codes and mappings already there, members in the catalog. */
static void test_validation_against_database(void **state)
{
    static const char *const bad[][2] = {
        /* a test code that is an existing panel's */
        {"{\"tests\":[{\"code\":\"DP-@\",\"name\":\"x\",\"kind\":\"text\","
         "\"specimen_type\":\"urine\",\"container\":\"cup\","
         "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}}]}",
         "tests[0].code"},
        /* a panel code that is an existing test's */
        {"{\"panels\":[{\"code\":\"DB-@\",\"name\":\"x\",\"tests\":[\"DB-@\"]}]}",
         "panels[0].code"},
        /* a member neither in the document nor in the catalog */
        {"{\"panels\":[{\"code\":\"DQ-@\",\"name\":\"x\",\"tests\":[\"DB-@\",\"ZZ-@\"]}]}",
         "panels[0].tests[1]"},
        /* an instrument code mapped to a test the document does not hold */
        {"{\"tests\":[{\"code\":\"DC-@\",\"name\":\"x\",\"kind\":\"text\","
         "\"specimen_type\":\"urine\",\"container\":\"cup\","
         "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1},"
         "\"mappings\":[{\"instrument\":\"dbinst-@\",\"code\":\"M1\"}]}]}",
         "tests[0].mappings[0].code"},
    };
    char dc[32], dq[32];
    (void)state;
    cat_name(dc, sizeof(dc), "DC");
    cat_name(dq, sizeof(dq), "DQ");
    cat_import_text_ok("{\"tests\":[{\"code\":\"DB-@\",\"name\":\"Held\",\"kind\":\"text\","
                       "\"specimen_type\":\"urine\",\"container\":\"cup\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1},"
                       "\"mappings\":[{\"instrument\":\"dbinst-@\",\"code\":\"M1\"}]}],"
                       "\"panels\":[{\"code\":\"DP-@\",\"name\":\"P\",\"tests\":[\"DB-@\"]}]}");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc = cat_json(bad[i][0]);
        errinfo ei = {0};
        int64_t head = cat_head_seq();
        err_t rc = cat_import(doc, NULL, NULL, &ei);
        if (rc != ERR_INVALID || strcmp(ei.field, bad[i][1]))
            fail_msg("case %zu: want invalid at '%s', got %s at '%s': %s", i, bad[i][1],
                     err_name(rc), ei.field, ei.message);
        assert_int_equal(cat_head_seq(), head);
        assert_int_equal(cat_scalar("SELECT COUNT(*) FROM tests WHERE code = ?", dc), 0);
        assert_int_equal(cat_scalar("SELECT COUNT(*) FROM panels WHERE code = ?", dq), 0);
        json_decref(doc);
    }
    /* A panel of tests already in the catalog is fine. */
    cat_import_text_ok("{\"panels\":[{\"code\":\"DQ-@\",\"name\":\"x\",\"tests\":[\"DB-@\"]}]}");
    /* A mapping may move to another test when the document holds both. */
    cat_import_text_ok("{\"tests\":[{\"code\":\"DB-@\",\"name\":\"Held\",\"kind\":\"text\","
                       "\"specimen_type\":\"urine\",\"container\":\"cup\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}},"
                       "{\"code\":\"DC-@\",\"name\":\"x\",\"kind\":\"text\","
                       "\"specimen_type\":\"urine\",\"container\":\"cup\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1},"
                       "\"mappings\":[{\"instrument\":\"dbinst-@\",\"code\":\"M1\"}]}]}");
    {
        char inst[32];
        cat_name(inst, sizeof(inst), "dbinst");
        cat_resolve_is(inst, "M1", dc);
    }
}

/* ------------------------------------------------- round trip, re-import */

static const char cat_full[] =
    "{\"tests\":["
    "{\"code\":\"RT1-@\",\"name\":\"Round trip numeric \\u00b5\",\"loinc\":\"2823-3\","
    "\"kind\":\"numeric\",\"specimen_type\":\"plasma\",\"container\":\"Lithium heparin\","
    "\"unit\":\"mmol/L\",\"decimals\":2,"
    "\"ranges\":[{\"sex\":\"male\",\"age_min_days\":6570,\"age_max_days\":54750,\"low\":3.5,"
    "\"high\":5.1},{\"sex\":\"any\",\"age_min_days\":0,\"age_max_days\":54750,\"high\":5.5,"
    "\"low\":null}],\"critical\":{\"high\":6.25},"
    "\"delta\":{\"kind\":\"absolute\",\"limit\":0.75,\"window_hours\":24},"
    "\"stability_hours\":{\"frozen\":0},\"tat_minutes\":{\"routine\":60,\"asap\":60,\"stat\":60},"
    "\"cpt\":\"8413A\",\"coded_values\":null,\"mappings\":["
    "{\"instrument\":\"rt-@\",\"code\":\"K\"},{\"instrument\":\"rt-@\",\"code\":\"K+\"},"
    "{\"instrument\":\"rt2-@\",\"code\":\"990\"}]},"
    "{\"code\":\"RT2-@\",\"name\":\"Round trip text\",\"loinc\":null,\"kind\":\"text\","
    "\"specimen_type\":\"urine\",\"container\":\"cup\",\"unit\":null,"
    "\"ranges\":[{\"sex\":\"any\",\"age_min_days\":0,\"age_max_days\":100,"
    "\"normal_text\":\"clear\"}],"
    "\"tat_minutes\":{\"routine\":10,\"asap\":5,\"stat\":1}},"
    "{\"code\":\"RT3-@\",\"name\":\"Round trip coded\",\"kind\":\"coded\","
    "\"specimen_type\":\"urine\",\"container\":\"cup\",\"coded_values\":[\"neg\",\"pos\",\"1+\"],"
    "\"ranges\":[{\"sex\":\"female\",\"age_min_days\":0,\"age_max_days\":54750,"
    "\"normal_text\":\"neg\"}],\"tat_minutes\":{\"routine\":10,\"asap\":5,\"stat\":1}}],"
    "\"panels\":[{\"code\":\"RTP-@\",\"name\":\"Round trip panel\",\"loinc\":\"24357-6\","
    "\"tests\":[\"RT3-@\",\"RT1-@\",\"RT2-@\"]},"
    "{\"code\":\"RTQ-@\",\"name\":\"Bare panel\",\"cpt\":null,\"tests\":[\"RT2-@\"]}]}";

static void test_round_trip(void **state)
{
    json_t *doc = cat_json(cat_full), *out;
    const json_t *tests = json_object_get(doc, "tests"), *panels = json_object_get(doc, "panels");
    (void)state;
    cat_import_ok(doc, NULL, NULL);
    out = cat_export();
    for (size_t i = 0; i < json_array_size(tests); i++) {
        const json_t *t = json_array_get(tests, i);
        json_t *one = NULL;
        errinfo ei = {0};
        cat_expect_same(t, cat_by_code(json_object_get(out, "tests"),
                                       json_string_value(json_object_get(t, "code"))));
        assert_int_equal(
            catalog_test_json(cat_db, json_string_value(json_object_get(t, "code")), &one, &ei),
            ERR_OK);
        cat_expect_same(t, one);
        json_decref(one);
    }
    for (size_t i = 0; i < json_array_size(panels); i++) {
        const json_t *p = json_array_get(panels, i);
        cat_expect_same(p, cat_by_code(json_object_get(out, "panels"),
                                       json_string_value(json_object_get(p, "code"))));
    }
    /* Absent stays absent: nothing null, no empty objects. */
    {
        char code[32];
        const json_t *t2;
        cat_name(code, sizeof(code), "RT2");
        t2 = cat_by_code(json_object_get(out, "tests"), code);
        assert_null(json_object_get(t2, "loinc"));
        assert_null(json_object_get(t2, "unit"));
        assert_null(json_object_get(t2, "decimals"));
        assert_null(json_object_get(t2, "critical"));
        assert_null(json_object_get(t2, "stability_hours"));
        assert_null(json_object_get(t2, "mappings"));
        assert_null(json_object_get(t2, "cpt"));
    }
    json_decref(out);
    json_decref(doc);
    {
        json_t *one = NULL;
        errinfo ei = {0};
        assert_int_equal(catalog_test_json(cat_db, "NO-@", &one, &ei), ERR_NOT_FOUND);
        assert_null(one);
    }
}

static void test_reimport_replaces(void **state)
{
    char ri[32], rj[32], rp[32], inst[32];
    char codes[8][CATALOG_CODE_MAX + 1];
    char out[CATALOG_CODE_MAX + 1];
    errinfo ei = {0};
    catalog_range r;
    json_t *one = NULL;
    int n = 0;
    (void)state;
    cat_name(ri, sizeof(ri), "RI");
    cat_name(rj, sizeof(rj), "RJ");
    cat_name(rp, sizeof(rp), "RP");
    cat_name(inst, sizeof(inst), "ri");
    cat_import_text_ok(
        "{\"tests\":[{\"code\":\"RI-@\",\"name\":\"First\",\"kind\":\"numeric\","
        "\"specimen_type\":\"serum\",\"container\":\"SST\",\"unit\":\"U/L\",\"decimals\":0,"
        "\"ranges\":[{\"sex\":\"female\",\"age_min_days\":0,\"age_max_days\":54750,\"low\":1,"
        "\"high\":2},{\"sex\":\"male\",\"age_min_days\":0,\"age_max_days\":54750,\"low\":3,"
        "\"high\":4}],\"critical\":{\"low\":0.5},"
        "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1},"
        "\"mappings\":[{\"instrument\":\"ri-@\",\"code\":\"R1\"},"
        "{\"instrument\":\"ri-@\",\"code\":\"R2\"}]},"
        "{\"code\":\"RJ-@\",\"name\":\"Other\",\"kind\":\"text\",\"specimen_type\":\"serum\","
        "\"container\":\"SST\",\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}}],"
        "\"panels\":[{\"code\":\"RP-@\",\"name\":\"P\",\"tests\":[\"RI-@\",\"RJ-@\"]}]}");
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM test_ranges WHERE test_code = ?", ri), 2);
    /* Second version: RJ is not in the document and stays; RP now holds RJ only. */
    cat_import_text_ok(
        "{\"tests\":[{\"code\":\"RI-@\",\"name\":\"Second\",\"kind\":\"numeric\","
        "\"specimen_type\":\"serum\",\"container\":\"SST\",\"unit\":\"U/L\",\"decimals\":1,"
        "\"ranges\":[{\"sex\":\"any\",\"age_min_days\":0,\"age_max_days\":54750,\"low\":5,"
        "\"high\":6}],\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1},"
        "\"mappings\":[{\"instrument\":\"ri-@\",\"code\":\"R3\"}]}],"
        "\"panels\":[{\"code\":\"RP-@\",\"name\":\"P2\",\"tests\":[\"RJ-@\"]}]}");
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM test_ranges WHERE test_code = ?", ri), 1);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM test_mappings WHERE test_code = ?", ri), 1);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM panel_tests WHERE panel_code = ?", rp), 1);
    assert_int_equal(cat_scalar("SELECT COUNT(*) FROM tests WHERE code = ?", rj), 1);
    assert_int_equal(catalog_range_for(cat_db, ri, "female", 100, &r, &ei), ERR_OK);
    assert_string_equal(r.sex, "any");
    assert_true(r.low == 5 && r.high == 6);
    assert_int_equal(catalog_resolve(cat_db, inst, "R1", out, &ei), ERR_NOT_FOUND);
    cat_resolve_is(inst, "R3", ri);
    assert_int_equal(catalog_expand(cat_db, rp, codes, 8, &n, &ei), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(codes[0], rj);
    assert_int_equal(catalog_test_json(cat_db, ri, &one, &ei), ERR_OK);
    assert_string_equal(json_string_value(json_object_get(one, "name")), "Second");
    assert_int_equal(json_integer_value(json_object_get(one, "decimals")), 1);
    assert_null(json_object_get(one, "critical")); /* gone with the new version */
    json_decref(one);
}

static void test_audit_once(void **state)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    json_t *detail;
    int64_t head = cat_head_seq();
    (void)state;
    cat_import_text_ok("{\"tests\":[{\"code\":\"AU1-@\",\"name\":\"a\",\"kind\":\"text\","
                       "\"specimen_type\":\"s\",\"container\":\"c\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}},"
                       "{\"code\":\"AU2-@\",\"name\":\"b\",\"kind\":\"text\","
                       "\"specimen_type\":\"s\",\"container\":\"c\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}}],"
                       "\"panels\":[{\"code\":\"AUP-@\",\"name\":\"p\","
                       "\"tests\":[\"AU1-@\",\"AU2-@\"]}]}");
    assert_int_equal(cat_head_seq(), head + 1);
    assert_int_equal(db_prepare(cat_db,
                                "SELECT action, entity_type, outcome, actor, detail FROM"
                                " audit_event WHERE seq = ?",
                                &st, &ei),
                     ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, head + 1), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_string_equal(db_col_text(st, 0), "catalog.import");
    assert_string_equal(db_col_text(st, 1), "catalog");
    assert_string_equal(db_col_text(st, 2), "ok");
    assert_string_equal(db_col_text(st, 3), "cli");
    detail = json_loads(db_col_text(st, 4), 0, NULL);
    assert_non_null(detail);
    assert_int_equal(json_integer_value(json_object_get(detail, "tests")), 2);
    assert_int_equal(json_integer_value(json_object_get(detail, "panels")), 1);
    json_decref(detail);
    db_finalize(st);
}

/* -------------------------------------------------------------- ranges */

static void cat_band_is(const char *code, const char *sex, int64_t age, const char *band_sex,
                        double low)
{
    catalog_range r;
    errinfo ei = {0};
    err_t rc = catalog_range_for(cat_db, code, sex, age, &r, &ei);
    if (rc)
        fail_msg("catalog_range_for(%s, %s, %lld): %s: %s", code, sex, (long long)age, err_name(rc),
                 ei.message);
    assert_string_equal(r.sex, band_sex);
    assert_true(r.has_low);
    if (r.low != low)
        fail_msg("%s %s at %lld days: low %g, want %g", code, sex, (long long)age, r.low, low);
}

static void cat_no_band(const char *code, const char *sex, int64_t age)
{
    catalog_range r;
    errinfo ei = {0};
    err_t rc = catalog_range_for(cat_db, code, sex, age, &r, &ei);
    if (rc != ERR_NOT_FOUND)
        fail_msg("catalog_range_for(%s, %s, %lld): want not_found, got %s (%s band, low %g)", code,
                 sex, (long long)age, err_name(rc), r.sex, r.low);
}

static void test_range_selection(void **state)
{
    char rg[32], rh[32], rt[32], none[32];
    catalog_range r;
    errinfo ei = {0};
    (void)state;
    cat_name(rg, sizeof(rg), "RG");
    cat_name(rh, sizeof(rh), "RH");
    cat_name(rt, sizeof(rt), "RX");
    cat_name(none, sizeof(none), "RN");
    cat_import_text_ok(
        "{\"tests\":[{\"code\":\"RG-@\",\"name\":\"Bands\",\"kind\":\"numeric\","
        "\"specimen_type\":\"serum\",\"container\":\"SST\",\"unit\":\"U/L\",\"decimals\":0,"
        "\"ranges\":["
        "{\"sex\":\"any\",\"age_min_days\":0,\"age_max_days\":365,\"low\":1,\"high\":2},"
        "{\"sex\":\"any\",\"age_min_days\":365,\"age_max_days\":6570,\"low\":3,\"high\":4},"
        "{\"sex\":\"female\",\"age_min_days\":6570,\"age_max_days\":54750,\"low\":10,"
        "\"high\":20},"
        "{\"sex\":\"any\",\"age_min_days\":6570,\"age_max_days\":54750,\"low\":5,\"high\":6},"
        "{\"sex\":\"male\",\"age_min_days\":20000,\"age_max_days\":54750,\"low\":7,\"high\":8}],"
        "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}},"
        "{\"code\":\"RH-@\",\"name\":\"Women only\",\"kind\":\"numeric\","
        "\"specimen_type\":\"serum\",\"container\":\"SST\",\"unit\":\"U/L\",\"decimals\":0,"
        "\"ranges\":[{\"sex\":\"female\",\"age_min_days\":0,\"age_max_days\":54750,\"high\":9}],"
        "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}},"
        "{\"code\":\"RX-@\",\"name\":\"Text\",\"kind\":\"text\",\"specimen_type\":\"urine\","
        "\"container\":\"cup\",\"ranges\":[{\"sex\":\"any\",\"age_min_days\":0,"
        "\"age_max_days\":54750,\"normal_text\":\"clear\"}],"
        "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}},"
        "{\"code\":\"RN-@\",\"name\":\"No bands\",\"kind\":\"numeric\","
        "\"specimen_type\":\"serum\",\"container\":\"SST\",\"unit\":\"U/L\",\"decimals\":0,"
        "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}}]}");
    /* age bands: min inclusive, max exclusive */
    cat_band_is(rg, "female", 0, "any", 1);
    cat_band_is(rg, "female", 364, "any", 1);
    cat_band_is(rg, "female", 365, "any", 3);
    cat_band_is(rg, "female", 6569, "any", 3);
    /* a band for the patient's sex wins over an 'any' band */
    cat_band_is(rg, "female", 6570, "female", 10);
    cat_band_is(rg, "female", 54749, "female", 10);
    cat_band_is(rg, "male", 6570, "any", 5);
    cat_band_is(rg, "male", 19999, "any", 5);
    cat_band_is(rg, "male", 20000, "male", 7);
    /* other and unknown sex use 'any' bands only */
    cat_band_is(rg, "other", 30000, "any", 5);
    cat_band_is(rg, "unknown", 30000, "any", 5);
    cat_band_is(rg, "unknown", 100, "any", 1);
    /* nothing applies */
    cat_no_band(rg, "female", 54750);
    cat_no_band(rg, "male", 1000000);
    cat_no_band(rh, "male", 100);
    cat_no_band(rh, "other", 100);
    cat_no_band(rh, "unknown", 100);
    cat_no_band(none, "female", 100);
    assert_int_equal(catalog_range_for(cat_db, rh, "female", 100, &r, &ei), ERR_OK);
    assert_false(r.has_low);
    assert_true(r.has_high && r.high == 9);
    assert_int_equal(r.age_min_days, 0);
    assert_int_equal(r.age_max_days, 54750);
    /* text tests carry their normal value */
    assert_int_equal(catalog_range_for(cat_db, rt, "male", 100, &r, &ei), ERR_OK);
    assert_string_equal(r.normal_text, "clear");
    assert_false(r.has_low || r.has_high);
    /* unknown test, bad arguments */
    assert_int_equal(catalog_range_for(cat_db, "NO-@", "female", 100, &r, &ei), ERR_NOT_FOUND);
    assert_int_equal(catalog_range_for(cat_db, rg, "f", 100, &r, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "sex");
    assert_int_equal(catalog_range_for(cat_db, rg, "any", 100, &r, &ei), ERR_INVALID);
    assert_int_equal(catalog_range_for(cat_db, rg, NULL, 100, &r, &ei), ERR_INVALID);
    assert_int_equal(catalog_range_for(cat_db, rg, "male", -1, &r, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "age_days");
}

/* -------------------------------------------------------- expand, resolve */

static void test_expand(void **state)
{
    char codes[4][CATALOG_CODE_MAX + 1];
    char e1[32], e2[32], ep[32], unknown[32];
    errinfo ei = {0};
    int n = -1;
    (void)state;
    cat_name(e1, sizeof(e1), "EX1");
    cat_name(e2, sizeof(e2), "EX2");
    cat_name(ep, sizeof(ep), "EXP");
    cat_name(unknown, sizeof(unknown), "EXZ");
    cat_import_text_ok("{\"tests\":[{\"code\":\"EX1-@\",\"name\":\"a\",\"kind\":\"text\","
                       "\"specimen_type\":\"s\",\"container\":\"c\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}},"
                       "{\"code\":\"EX2-@\",\"name\":\"b\",\"kind\":\"text\","
                       "\"specimen_type\":\"s\",\"container\":\"c\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}}],"
                       "\"panels\":[{\"code\":\"EXP-@\",\"name\":\"p\","
                       "\"tests\":[\"EX2-@\",\"EX1-@\"]}]}");
    /* a test gives itself */
    assert_int_equal(catalog_expand(cat_db, e1, codes, 4, &n, &ei), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(codes[0], e1);
    /* a panel gives its members in order */
    assert_int_equal(catalog_expand(cat_db, ep, codes, 4, &n, &ei), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(codes[0], e2);
    assert_string_equal(codes[1], e1);
    /* too many for the caller's room */
    assert_int_equal(catalog_expand(cat_db, ep, codes, 1, &n, &ei), ERR_INVALID);
    assert_int_equal(n, 0);
    /* unknown: invalid, field "code", the message names it */
    err_clear(&ei);
    assert_int_equal(catalog_expand(cat_db, unknown, codes, 4, &n, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "code");
    assert_non_null(strstr(ei.message, unknown));
    assert_int_equal(catalog_expand(cat_db, "not a code", codes, 4, &n, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "code");
    assert_int_equal(catalog_expand(cat_db, NULL, codes, 4, &n, &ei), ERR_INVALID);
    /* inactive tests and the panels holding them */
    assert_int_equal(
        db_run(cat_db, &ei, NULL, "UPDATE tests SET active = 0 WHERE code = ?", "t", e1), ERR_OK);
    err_clear(&ei);
    assert_int_equal(catalog_expand(cat_db, e1, codes, 4, &n, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "code");
    assert_non_null(strstr(ei.message, e1));
    assert_int_equal(catalog_expand(cat_db, ep, codes, 4, &n, &ei), ERR_INVALID);
    assert_non_null(strstr(ei.message, e1));
    /* a panel may not take an inactive catalog test as a member */
    {
        json_t *doc = cat_json("{\"panels\":[{\"code\":\"EXQ-@\",\"name\":\"q\","
                               "\"tests\":[\"EX1-@\"]}]}");
        assert_int_equal(cat_import(doc, NULL, NULL, &ei), ERR_INVALID);
        assert_string_equal(ei.field, "panels[0].tests[0]");
        json_decref(doc);
    }
    /* importing the test again makes it active */
    cat_import_text_ok("{\"tests\":[{\"code\":\"EX1-@\",\"name\":\"a\",\"kind\":\"text\","
                       "\"specimen_type\":\"s\",\"container\":\"c\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1}}]}");
    assert_int_equal(catalog_expand(cat_db, ep, codes, 4, &n, &ei), ERR_OK);
    assert_int_equal(n, 2);
}

static void test_resolve(void **state)
{
    char rs[32], inst[32], out[CATALOG_CODE_MAX + 1];
    errinfo ei = {0};
    (void)state;
    cat_name(rs, sizeof(rs), "RS");
    cat_name(inst, sizeof(inst), "rs");
    cat_import_demo();
    cat_import_text_ok("{\"tests\":[{\"code\":\"RS-@\",\"name\":\"Mapped\",\"kind\":\"text\","
                       "\"specimen_type\":\"s\",\"container\":\"c\","
                       "\"tat_minutes\":{\"routine\":3,\"asap\":2,\"stat\":1},"
                       "\"mappings\":[{\"instrument\":\"rs-@\",\"code\":\"GLU\"},"
                       "{\"instrument\":\"rs-@\",\"code\":\"2823-3\"}]}]}");
    /* the instrument's mapping first */
    cat_resolve_is("sysmex-xn550", "RDW-CV", "RDW");
    cat_resolve_is("cobas-c311", "717", "GLU");
    cat_resolve_is(inst, "GLU", rs);    /* the mapping wins over the catalog code */
    cat_resolve_is(inst, "2823-3", rs); /* and over the LOINC code */
    /* then a catalog code */
    cat_resolve_is("cobas-c311", "GLU", "GLU");
    cat_resolve_is(NULL, "K", "K");
    cat_resolve_is("", "CREA", "CREA");
    /* then a LOINC code */
    cat_resolve_is("some-analyzer", "2823-3", "K");
    cat_resolve_is(NULL, "718-7", "HGB");
    /* nothing */
    assert_int_equal(catalog_resolve(cat_db, "cobas-c311", "999", out, &ei), ERR_NOT_FOUND);
    assert_string_equal(out, "");
    assert_int_equal(catalog_resolve(cat_db, "sysmex-xn550", "NEUT#", out, &ei), ERR_NOT_FOUND);
    assert_int_equal(catalog_resolve(cat_db, NULL, "2823-4", out, &ei), ERR_NOT_FOUND);
    assert_int_equal(catalog_resolve(cat_db, NULL, "", out, &ei), ERR_NOT_FOUND);
    assert_int_equal(catalog_resolve(cat_db, "x", NULL, out, &ei), ERR_NOT_FOUND);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        /* First: on a fresh database the export must be exactly the demo catalog. */
        cmocka_unit_test(test_demo_import_round_trip),
        cmocka_unit_test(test_demo_embedded),
        cmocka_unit_test(test_demo_panels_and_views),
        cmocka_unit_test(test_loinc_check_digit),
        cmocka_unit_test(test_base_document_is_valid),
        cmocka_unit_test(test_validation_refusals),
        cmocka_unit_test(test_validation_not_object),
        cmocka_unit_test(test_validation_against_database),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_reimport_replaces),
        cmocka_unit_test(test_audit_once),
        cmocka_unit_test(test_range_selection),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_resolve),
    };
    int failed;
    if (!cat_open_suite()) {
        cat_close_suite();
        return 1;
    }
    failed = cmocka_run_group_tests_name(testdb_group("catalog"), tests, NULL, NULL);
    cat_close_suite();
    return failed;
}
