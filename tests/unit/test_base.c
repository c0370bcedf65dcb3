/*
 * test_base.c - unit tests of src/base: errors, arena, buffers, strict number
 * parsing, JSON quoting, ISO 8601 time, ids and JSON body checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/id.h"
#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"

static void test_err_table(void **state)
{
    (void)state;
    errinfo ei;
    assert_string_equal(err_name(ERR_OK), "ok");
    assert_string_equal(err_name(ERR_BAD_JSON), "bad_json");
    assert_int_equal(err_http_status(ERR_FORBIDDEN), 403);
    assert_int_equal(err_http_status(ERR_TOO_LARGE), 413);
    assert_int_equal(err_http_status(ERR_DB_BUSY), 503);
    assert_string_equal(err_name((err_t)9999), "internal");
    assert_int_equal(err_set(&ei, ERR_INVALID, "username", "bad %d", 7), ERR_INVALID);
    assert_string_equal(ei.field, "username");
    assert_string_equal(ei.message, "bad 7");
    assert_int_equal(err_set(&ei, ERR_CONFLICT, NULL, NULL), ERR_CONFLICT);
    assert_string_equal(ei.field, "");
    assert_string_equal(ei.message, err_message(ERR_CONFLICT));
    assert_int_equal(err_set(NULL, ERR_NOMEM, "x", "y"), ERR_NOMEM);
}

static void test_arena(void **state)
{
    (void)state;
    arena a;
    arena_init(&a, 64);
    char *s = arena_strdup(&a, "hello");
    assert_string_equal(s, "hello");
    char *big = arena_alloc(&a, 10000); /* larger than a chunk */
    assert_non_null(big);
    memset(big, 'x', 10000);
    assert_true(((uintptr_t)big % _Alignof(max_align_t)) == 0);
    char *p = arena_printf(&a, "%s-%d", "n", 42);
    assert_string_equal(p, "n-42");
    assert_string_equal(arena_strndup(&a, "abcdef", 3), "abc");
    assert_string_equal(s, "hello"); /* earlier allocations stay put */
    arena_free(&a);
    assert_null(a.head);
}

static void test_buf(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_puts(&b, "ab"), ERR_OK);
    assert_int_equal(buf_printf(&b, "%d%s", 12, "cd"), ERR_OK);
    assert_string_equal(b.data, "ab12cd");
    assert_int_equal(b.len, 6);
    for (int i = 0; i < 1000; i++)
        buf_append(&b, "0123456789", 10);
    assert_int_equal(b.len, 10006);
    assert_int_equal(b.data[b.len], '\0');
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    buf_puts(&b, "z");
    char *t = buf_take(&b);
    assert_string_equal(t, "z");
    assert_null(b.data);
    free(t);
    buf_free(&b);
}

static void test_str_to_int64(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(str_to_int64("42", 2, 0, 100, &v), ERR_OK);
    assert_int_equal(v, 42);
    assert_int_equal(str_to_int64("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &v), ERR_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(str_to_int64("9223372036854775807", 19, INT64_MIN, INT64_MAX, &v), ERR_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(str_to_int64("9223372036854775808", 19, INT64_MIN, INT64_MAX, &v),
                     ERR_INVALID);
    assert_int_equal(str_to_int64("", 0, 0, 10, &v), ERR_INVALID);
    assert_int_equal(str_to_int64("-", 1, -10, 10, &v), ERR_INVALID);
    assert_int_equal(str_to_int64(" 1", 2, 0, 10, &v), ERR_INVALID);
    assert_int_equal(str_to_int64("1x", 2, 0, 10, &v), ERR_INVALID);
    assert_int_equal(str_to_int64("11", 2, 0, 10, &v), ERR_INVALID); /* above max */
    assert_int_equal(str_to_int64("123", 2, 0, 100, &v), ERR_OK);    /* only n bytes */
    assert_int_equal(v, 12);
}

static void test_str_to_double(void **state)
{
    (void)state;
    double v = 0;
    assert_int_equal(str_to_double("97.25", 5, &v), ERR_OK);
    assert_true(v == 97.25);
    assert_int_equal(str_to_double("-1e-3", 5, &v), ERR_OK);
    assert_true(v == -0.001);
    assert_int_equal(str_to_double(".5", 2, &v), ERR_OK);
    assert_true(v == 0.5);
    static const char *const bad[] = {"",    "-",   "abc",  "1.2.3x", " 1", "1 ",
                                      "inf", "nan", "0x10", "1e999",  "+",  "e5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(str_to_double(bad[i], strlen(bad[i]), &v), ERR_INVALID);
}

static void test_str_json_and_hex(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    str_json_quote(&b, "a\"b\\c\n\x01", 7);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    buf_free(&b);
    char hex[9];
    const unsigned char raw[] = {0xde, 0xad, 0x00, 0x0f};
    str_hex(raw, 4, hex);
    assert_string_equal(hex, "dead000f");
    assert_true(str_ct_equal("abc", "abc", 3));
    assert_false(str_ct_equal("abc", "abd", 3));
    assert_true(strv_eq(STRV("MSH"), "MSH"));
    assert_true(strv_eq_nocase(STRV("Bearer"), "bearer"));
    assert_false(strv_eq(STRV("MS"), "MSH"));
}

static void test_time(void **state)
{
    (void)state;
    char out[TIME_ISO_LEN];
    int64_t t = 0;
    time_format_iso(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
    assert_int_equal(time_parse_iso("2024-02-29T12:34:56.5Z", 22, &t, NULL), ERR_OK);
    time_format_iso(t, out);
    assert_string_equal(out, "2024-02-29T12:34:56.500000Z");
    assert_int_equal(time_parse_iso("2024-02-29T14:34:56.5+02:00", 27, &t, NULL), ERR_OK);
    time_format_iso(t, out);
    assert_string_equal(out, "2024-02-29T12:34:56.500000Z");
    assert_int_equal(time_parse_iso("2000-01-01", 10, &t, NULL), ERR_OK);
    assert_true(t == INT64_C(946684800000000));
    time_format_iso(-1, out); /* just before the epoch */
    assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
    errinfo ei;
    assert_int_equal(time_parse_iso("2023-02-29", 10, &t, &ei), ERR_INVALID);
    assert_non_null(strstr(ei.message, "calendar"));
    assert_int_equal(time_parse_iso("2023-13-01", 10, &t, NULL), ERR_INVALID);
    assert_int_equal(time_parse_iso("2023-01-01T10:00", 16, &t, &ei), ERR_INVALID);
    assert_non_null(strstr(ei.message, "zone"));
    assert_int_equal(time_parse_iso("2023-01-01T25:00Z", 17, &t, NULL), ERR_INVALID);
    assert_int_equal(time_parse_iso("yesterday", 9, &t, NULL), ERR_INVALID);
    assert_int_equal(time_parse_iso("2023-01-01Tx", 12, &t, NULL), ERR_INVALID);
    assert_true(time_now_us() > INT64_C(1700000000000000));
}

static void test_id(void **state)
{
    (void)state;
    char a[ID_LEN + 1], b[ID_LEN + 1];
    id_new(a);
    assert_int_equal(strlen(a), ID_LEN);
    assert_true(id_valid(a, strlen(a)));
    for (int i = 0; i < 10000; i++) {
        id_new(b);
        assert_true(strcmp(a, b) < 0); /* time-ordered, strictly increasing */
        memcpy(a, b, sizeof(a));
    }
    assert_false(id_valid("short", 5));
    assert_false(id_valid("0000000000000000000000000I", ID_LEN)); /* I is not Crockford */
    assert_false(id_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", ID_LEN)); /* over 128 bits */
}

static const jsonv_field fields[] = {
    {"username", JSONV_STRING, true, 8},
    {"age", JSONV_INT, false, 0},
    {"tags", JSONV_ARRAY, false, 2},
};

static void test_jsonv(void **state)
{
    (void)state;
    errinfo ei;
    json_t *v = NULL;
    const char bad[] = "{\"username\": \"a\",\n \"password\": }";
    err_clear(&ei);
    assert_int_equal(jsonv_parse_object(bad, sizeof(bad) - 1, &v, &ei), ERR_BAD_JSON);
    assert_int_equal(ei.line, 2);
    assert_true(ei.column > 0);
    assert_int_equal(jsonv_parse_object("[1]", 3, &v, &ei), ERR_BAD_JSON);
    assert_int_equal(jsonv_parse_object("{\"a\":1,\"a\":2}", 13, &v, &ei), ERR_BAD_JSON);

    const char ok[] = "{\"username\":\"ann\",\"age\":4}";
    assert_int_equal(jsonv_parse_object(ok, sizeof(ok) - 1, &v, &ei), ERR_OK);
    assert_int_equal(jsonv_check(v, fields, 3, &ei), ERR_OK);
    assert_string_equal(jsonv_str(v, "username"), "ann");
    assert_null(jsonv_str(v, "age"));
    json_decref(v);

    struct {
        const char *body;
        err_t code;
        const char *field;
    } cases[] = {
        {"{\"age\":1}", ERR_MISSING_FIELD, "username"},
        {"{\"username\":\"a\",\"color\":1}", ERR_UNKNOWN_FIELD, "color"},
        {"{\"username\":5}", ERR_INVALID, "username"},
        {"{\"username\":\"\"}", ERR_INVALID, "username"},
        {"{\"username\":\"123456789\"}", ERR_INVALID, "username"},
        {"{\"username\":\"a\",\"age\":\"4\"}", ERR_INVALID, "age"},
        {"{\"username\":\"a\",\"tags\":[1,2,3]}", ERR_INVALID, "tags"},
        {"{\"username\":null}", ERR_MISSING_FIELD, "username"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err_clear(&ei);
        assert_int_equal(jsonv_parse_object(cases[i].body, strlen(cases[i].body), &v, &ei), ERR_OK);
        assert_int_equal(jsonv_check(v, fields, 3, &ei), cases[i].code);
        assert_string_equal(ei.field, cases[i].field);
        json_decref(v);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table),     cmocka_unit_test(test_arena),
        cmocka_unit_test(test_buf),           cmocka_unit_test(test_str_to_int64),
        cmocka_unit_test(test_str_to_double), cmocka_unit_test(test_str_json_and_hex),
        cmocka_unit_test(test_time),          cmocka_unit_test(test_id),
        cmocka_unit_test(test_jsonv),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
