/*
 * test_news2.c - the National Early Warning Score 2 (src/care/news2.c)
 * against the Royal College of Physicians' chart (2017): both edges of
 * every band of every parameter, on both SpO2 scales, on air and on oxygen;
 * then whole sets worked by hand through each clinical response band (0,
 * 1-4, a single 3, 5-6, 7 and over), rounding as the chart reads values,
 * the bounds that refuse a value that is no reading, and the JSON the API
 * and `benchside news2` print.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "care/news2.h"

struct band {
    int value, points;
};

#define NBANDS(t) (sizeof(t) / sizeof((t)[0]))

static void check_bands(const char *what, int (*fn)(int), const struct band *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fn(b[i].value) != b[i].points)
            fail_msg("%s %d: %d points, the chart says %d", what, b[i].value, fn(b[i].value),
                     b[i].points);
}

static void test_respiration_rate(void **state)
{
    (void)state;
    /* <=8: 3 | 9-11: 1 | 12-20: 0 | 21-24: 2 | >=25: 3 */
    static const struct band b[] = {
        {1, 3},  {8, 3},  {9, 1},  {11, 1}, {12, 0}, {16, 0},
        {20, 0}, {21, 2}, {24, 2}, {25, 3}, {40, 3},
    };
    check_bands("respiration rate", care_news2_rr, b, NBANDS(b));
}

static int spo2_scale1(int v)
{
    return care_news2_spo2(v, 1, false);
}

static int spo2_scale1_oxygen(int v)
{
    return care_news2_spo2(v, 1, true);
}

static int spo2_scale2_air(int v)
{
    return care_news2_spo2(v, 2, false);
}

static int spo2_scale2_oxygen(int v)
{
    return care_news2_spo2(v, 2, true);
}

static void test_spo2_scale_1(void **state)
{
    (void)state;
    /* <=91: 3 | 92-93: 2 | 94-95: 1 | >=96: 0, on air or oxygen alike (the
     * oxygen scores in its own row) */
    static const struct band b[] = {
        {70, 3}, {91, 3}, {92, 2}, {93, 2}, {94, 1}, {95, 1}, {96, 0}, {100, 0},
    };
    check_bands("SpO2 scale 1", spo2_scale1, b, NBANDS(b));
    check_bands("SpO2 scale 1 on oxygen", spo2_scale1_oxygen, b, NBANDS(b));
}

static void test_spo2_scale_2(void **state)
{
    (void)state;
    /* <=83: 3 | 84-85: 2 | 86-87: 1 | 88-92 and >=93 on air: 0 */
    static const struct band air[] = {
        {75, 3}, {83, 3}, {84, 2}, {85, 2}, {86, 1}, {87, 1},
        {88, 0}, {92, 0}, {93, 0}, {96, 0}, {97, 0}, {100, 0},
    };
    /* on oxygen above the target range: 93-94: 1 | 95-96: 2 | >=97: 3 */
    static const struct band oxygen[] = {
        {75, 3}, {83, 3}, {84, 2}, {85, 2}, {86, 1}, {87, 1}, {88, 0},
        {92, 0}, {93, 1}, {94, 1}, {95, 2}, {96, 2}, {97, 3}, {100, 3},
    };
    check_bands("SpO2 scale 2 on air", spo2_scale2_air, air, NBANDS(air));
    check_bands("SpO2 scale 2 on oxygen", spo2_scale2_oxygen, oxygen, NBANDS(oxygen));
}

static void test_air_or_oxygen(void **state)
{
    (void)state;
    assert_int_equal(care_news2_air(false), 0);
    assert_int_equal(care_news2_air(true), 2);
}

static void test_systolic_bp(void **state)
{
    (void)state;
    /* <=90: 3 | 91-100: 2 | 101-110: 1 | 111-219: 0 | >=220: 3 */
    static const struct band b[] = {
        {60, 3},  {90, 3},  {91, 2},  {100, 2}, {101, 1},
        {110, 1}, {111, 0}, {219, 0}, {220, 3}, {260, 3},
    };
    check_bands("systolic BP", care_news2_sbp, b, NBANDS(b));
}

static void test_pulse(void **state)
{
    (void)state;
    /* <=40: 3 | 41-50: 1 | 51-90: 0 | 91-110: 1 | 111-130: 2 | >=131: 3 */
    static const struct band b[] = {
        {30, 3}, {40, 3},  {41, 1},  {50, 1},  {51, 0},  {90, 0},
        {91, 1}, {110, 1}, {111, 2}, {130, 2}, {131, 3}, {180, 3},
    };
    check_bands("pulse", care_news2_pulse, b, NBANDS(b));
}

static void test_consciousness(void **state)
{
    (void)state;
    /* alert: 0 | new confusion, voice, pain, unresponsive: 3 */
    assert_int_equal(care_news2_acvpu('A'), 0);
    assert_int_equal(care_news2_acvpu('C'), 3);
    assert_int_equal(care_news2_acvpu('V'), 3);
    assert_int_equal(care_news2_acvpu('P'), 3);
    assert_int_equal(care_news2_acvpu('U'), 3);
    assert_int_equal(care_news2_acvpu_of("a"), 'A');
    assert_int_equal(care_news2_acvpu_of("U"), 'U');
    assert_int_equal(care_news2_acvpu_of("X"), 0);
    assert_int_equal(care_news2_acvpu_of("AV"), 0);
    assert_int_equal(care_news2_acvpu_of(""), 0);
}

static void test_temperature(void **state)
{
    (void)state;
    /* in tenths: <=35.0: 3 | 35.1-36.0: 1 | 36.1-38.0: 0 | 38.1-39.0: 1 | >=39.1: 2 */
    static const struct band b[] = {
        {330, 3}, {350, 3}, {351, 1}, {360, 1}, {361, 0}, {370, 0},
        {380, 0}, {381, 1}, {390, 1}, {391, 2}, {415, 2},
    };
    check_bands("temperature (tenths)", care_news2_temp, b, NBANDS(b));
}

/* A whole set; acvpu a letter, temp in degrees. */
static care_news2_in set(double rr, double spo2, int scale, bool oxygen, double sbp, double pulse,
                         char acvpu, double temp)
{
    care_news2_in in;
    errinfo ei = {0};
    memset(&in, 0, sizeof(in));
    in.scale = scale;
    const double v[CARE_NEWS2_PARAMS] = {rr, spo2, oxygen, sbp, pulse, acvpu, temp};
    for (int p = 0; p < CARE_NEWS2_PARAMS; p++)
        if (care_news2_set(&in, (care_news2_param)p, v[p], care_news2_name(p), &ei))
            fail_msg("set %s: %s", care_news2_name(p), ei.message);
    return in;
}

static void assert_score(const care_news2_in *in, const int want[CARE_NEWS2_PARAMS], int total,
                         const char *band, bool alert)
{
    care_news2 s;
    care_news2_score(in, &s);
    for (int p = 0; p < CARE_NEWS2_PARAMS; p++)
        if (s.points[p] != want[p])
            fail_msg("%s: %d points, want %d", care_news2_name(p), s.points[p], want[p]);
    assert_int_equal(s.total, total);
    assert_string_equal(s.band, band);
    assert_int_equal(s.alert, alert);
    assert_true(s.complete);
}

static void test_worked_sets(void **state)
{
    (void)state;
    /* a well adult: every parameter in the middle band, 0, low */
    care_news2_in in = set(16, 97, 1, false, 124, 72, 'A', 36.8);
    assert_score(&in, (const int[]){0, 0, 0, 0, 0, 0, 0}, 0, "low", false);
    care_news2 s;
    care_news2_score(&in, &s);
    assert_false(s.red);
    assert_non_null(strstr(s.response, "12 hours"));

    /* a mild fever and a fast pulse: 1 + 1 = 2, low (4-6-hourly) */
    in = set(18, 96, 1, false, 130, 96, 'A', 38.4);
    assert_score(&in, (const int[]){0, 0, 0, 0, 1, 0, 1}, 2, "low", false);
    care_news2_score(&in, &s);
    assert_non_null(strstr(s.response, "4-6 hours"));

    /* newly confused but otherwise well: 3 in one parameter, low-medium,
     * an alert although the total is 3 */
    in = set(14, 98, 1, false, 132, 80, 'C', 37.0);
    assert_score(&in, (const int[]){0, 0, 0, 0, 0, 3, 0}, 3, "low-medium", true);
    care_news2_score(&in, &s);
    assert_true(s.red);

    /* pneumonia on oxygen: RR 23 (2) + SpO2 94 (1) + oxygen (2) = 5, medium */
    in = set(23, 94, 1, true, 118, 88, 'A', 37.9);
    assert_score(&in, (const int[]){2, 1, 2, 0, 0, 0, 0}, 5, "medium", true);
    /* the same with a pulse of 112 (2): 7, high */
    in = set(23, 94, 1, true, 118, 112, 'A', 37.9);
    assert_score(&in, (const int[]){2, 1, 2, 0, 2, 0, 0}, 7, "high", true);

    /* septic shock: RR 28 (3), SpO2 90 (3), oxygen (2), SBP 85 (3), pulse
     * 135 (3), voice (3), 39.5 (2) = 19 */
    in = set(28, 90, 1, true, 85, 135, 'V', 39.5);
    assert_score(&in, (const int[]){3, 3, 2, 3, 3, 3, 2}, 19, "high", true);
    /* the most points the chart gives: 20 */
    in = set(6, 80, 1, true, 80, 35, 'U', 34.0);
    assert_score(&in, (const int[]){3, 3, 2, 3, 3, 3, 3}, 20, "high", true);

    /* COPD on scale 2: 90% on air scores nothing; 97% on oxygen scores 3 + 2 */
    in = set(18, 90, 2, false, 125, 80, 'A', 37.0);
    assert_score(&in, (const int[]){0, 0, 0, 0, 0, 0, 0}, 0, "low", false);
    in = set(18, 97, 2, true, 125, 80, 'A', 37.0);
    assert_score(&in, (const int[]){0, 3, 2, 0, 0, 0, 0}, 5, "medium", true);
    /* the same 97% on scale 1 would score nothing for saturation */
    in = set(18, 97, 1, true, 125, 80, 'A', 37.0);
    assert_score(&in, (const int[]){0, 0, 2, 0, 0, 0, 0}, 2, "low", false);

    /* 4 is the top of low; 5 and 6 medium */
    in = set(22, 95, 1, false, 105, 80, 'A', 37.0); /* 2 + 1 + 1 */
    assert_score(&in, (const int[]){2, 1, 0, 1, 0, 0, 0}, 4, "low", false);
    in = set(22, 95, 1, false, 105, 95, 'A', 37.0); /* + pulse 1 */
    assert_score(&in, (const int[]){2, 1, 0, 1, 1, 0, 0}, 5, "medium", true);
    in = set(22, 95, 1, false, 105, 95, 'A', 38.5); /* + temperature 1 */
    assert_score(&in, (const int[]){2, 1, 0, 1, 1, 0, 1}, 6, "medium", true);
}

static void test_rounding_and_bounds(void **state)
{
    (void)state;
    care_news2_in in;
    errinfo ei = {0};
    memset(&in, 0, sizeof(in));
    /* the chart reads whole numbers and tenths of a degree */
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_RR, 20.4, "rr", &ei), ERR_OK);
    assert_int_equal(in.rr, 20);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_RR, 20.5, "rr", &ei), ERR_OK);
    assert_int_equal(in.rr, 21);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_TEMP, 38.04, "temp", &ei), ERR_OK);
    assert_int_equal(in.temp10, 380);
    assert_int_equal(care_news2_temp(in.temp10), 0);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_TEMP, 38.05, "temp", &ei), ERR_OK);
    assert_int_equal(in.temp10, 381);
    assert_int_equal(care_news2_temp(in.temp10), 1);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_TEMP, 35.0, "temp", &ei), ERR_OK);
    assert_int_equal(care_news2_temp(in.temp10), 3);
    /* not readings at all */
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_PULSE, 900, "pulse", &ei), ERR_INVALID);
    assert_string_equal(ei.field, "pulse");
    assert_non_null(strstr(ei.message, "900"));
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_PULSE, 19, "pulse", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_PULSE, 20, "pulse", &ei), ERR_OK);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_SPO2, 101, "spo2", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_SPO2, 49, "spo2", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_RR, 0, "rr", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_RR, 81, "rr", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_SBP, 301, "sbp", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_SBP, 39, "sbp", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_TEMP, 45.1, "temp", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_TEMP, 24.9, "temp", &ei), ERR_INVALID);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_ACVPU, 'X', "acvpu", &ei), ERR_INVALID);
    assert_string_equal(ei.field, "acvpu");
}

static void test_partial_set_and_json(void **state)
{
    (void)state;
    care_news2_in in;
    care_news2 s;
    errinfo ei = {0};
    memset(&in, 0, sizeof(in));
    in.scale = 1;
    /* a monitor: respiration, saturation, pulse; no consciousness, no air or oxygen */
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_RR, 26, "rr", &ei), ERR_OK);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_SPO2, 93, "spo2", &ei), ERR_OK);
    assert_int_equal(care_news2_set(&in, CARE_NEWS2_PULSE, 118, "pulse", &ei), ERR_OK);
    care_news2_score(&in, &s);
    assert_false(s.complete);
    assert_int_equal(s.total, 7); /* 3 + 2 + 2: at least this much */
    assert_int_equal(s.points[CARE_NEWS2_ACVPU], -1);
    assert_int_equal(s.points[CARE_NEWS2_AIR], -1);
    assert_true(s.alert);
    assert_string_equal(s.band, "high");

    json_t *j = care_news2_json(&in, &s);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "score")), 7);
    assert_true(json_is_false(json_object_get(j, "complete")));
    assert_true(json_is_true(json_object_get(j, "red_parameter")));
    json_t *params = json_object_get(j, "parameters");
    assert_int_equal(json_object_size(params), 3);
    json_t *spo2 = json_object_get(params, "spo2");
    assert_int_equal(json_integer_value(json_object_get(spo2, "value")), 93);
    assert_int_equal(json_integer_value(json_object_get(spo2, "points")), 2);
    assert_int_equal(json_integer_value(json_object_get(spo2, "scale")), 1);
    assert_null(json_object_get(params, "acvpu"));
    json_decref(j);

    /* a full set in JSON: the values as read, oxygen and ACVPU as words */
    in = set(21, 95, 2, true, 100, 51, 'P', 36.05);
    care_news2_score(&in, &s);
    j = care_news2_json(&in, &s);
    params = json_object_get(j, "parameters");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(params, "oxygen"), "value")), "oxygen");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(params, "acvpu"), "value")), "P");
    assert_true(json_real_value(json_object_get(json_object_get(params, "temperature"), "value")) ==
                36.1);
    /* 2 + 2 (scale 2, 95 on oxygen) + 2 + 2 + 0 + 3 + 0 = 11 */
    assert_int_equal(json_integer_value(json_object_get(j, "score")), 11);
    assert_string_equal(json_string_value(json_object_get(j, "band")), "high");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_respiration_rate),     cmocka_unit_test(test_spo2_scale_1),
        cmocka_unit_test(test_spo2_scale_2),         cmocka_unit_test(test_air_or_oxygen),
        cmocka_unit_test(test_systolic_bp),          cmocka_unit_test(test_pulse),
        cmocka_unit_test(test_consciousness),        cmocka_unit_test(test_temperature),
        cmocka_unit_test(test_worked_sets),          cmocka_unit_test(test_rounding_and_bounds),
        cmocka_unit_test(test_partial_set_and_json),
    };
    return cmocka_run_group_tests_name("news2", tests, NULL, NULL);
}
