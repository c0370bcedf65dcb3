/*
 * test_movavg.c - patient-based QC averages (qc/movavg.h): Bull's algorithm
 * on worked examples, a +3% shift of MCV that the patients' XB shows while
 * the controls' Westgard rules do not, stable data that raises no alert,
 * EWMA and the batch mean, limits, truncation and the checks of a
 * configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "qc/movavg.h"
#include "qc/westgard.h"

static void assert_near(double a, double b, double tol)
{
    if (fabs(a - b) > tol)
        fail_msg("%.12g != %.12g (tolerance %g)", a, b, tol);
}

/* XB on MCV: target 90 fL, batches of 20, limits +/-3%. */
static qc_movavg_config xb_mcv(void)
{
    return (qc_movavg_config){
        .method = QC_MOVAVG_BULL, .batch = 20, .target = 90, .limit = 3, .limit_percent = true};
}

/* A fixed pseudo-random sequence (a 64-bit LCG, Knuth's MMIX constants),
 * so that every run sees the same patients. */
struct rng {
    uint64_t x;
};

static double uniform(struct rng *r)
{
    r->x = r->x * 6364136223846793005u + 1442695040888963407u;
    return ((double)(r->x >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

/* A normal deviate (Box-Muller). */
static double normal(struct rng *r)
{
    double u1 = uniform(r), u2 = uniform(r);
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* An adult's MCV as the analyzer reports it: mean 90 fL, SD 5 fL, to 0.1 fL,
 * times factor (1.03: the instrument reads 3% high). */
static double patient_mcv(struct rng *r, double factor)
{
    return round((90 + 5 * normal(r)) * factor * 10) / 10;
}

static void test_bull_worked_examples(void **state)
{
    (void)state;
    /* The worked example of the Sysmex SF-3000 manual (X-M control): the
     * previous batch 90; S = sqrt 2 - 2 sqrt 6 + sqrt 5 - sqrt 2 = -2.663,
     * S / N = -0.533, XB = 90 - 0.533^2 = 89.72 (the plain mean is 88.6). */
    const double batch[] = {92, 84, 84, 95, 88};
    double xb = qc_movavg_bull(90, batch, 5);
    double s = sqrt(2) - 2 * sqrt(6) + sqrt(5) - sqrt(2);
    assert_near(xb, 90 - (s / 5) * (s / 5), 1e-12);
    assert_near(xb, 89.72, 0.005);
    /* By hand: every result 1 above: S/N = 1, XB moves 1; 4 above: 2^2 = 4. */
    double same[20];
    for (int i = 0; i < 20; i++)
        same[i] = 91;
    assert_near(qc_movavg_bull(90, same, 20), 91, 1e-12);
    for (int i = 0; i < 20; i++)
        same[i] = 94;
    assert_near(qc_movavg_bull(90, same, 20), 94, 1e-12);
    /* Balanced around XB: no move. */
    for (int i = 0; i < 20; i++)
        same[i] = i % 2 ? 86 : 94;
    assert_near(qc_movavg_bull(90, same, 20), 90, 1e-12);
    /* One outlier among 19 on target: the root shrinks its pull. S = 10,
     * XB = 90 + (10/20)^2 = 90.25, where the plain mean is 95. */
    for (int i = 0; i < 20; i++)
        same[i] = i ? 90 : 190;
    assert_near(qc_movavg_bull(90, same, 20), 90.25, 1e-12);
    assert_near(qc_movavg_bull(90, same, 0), 90, 0);

    /* The running form gives the same as the batch form: the manual's batch
     * twice over (N = 10) has the same S / N. */
    qc_movavg_config c = xb_mcv();
    qc_movavg_state st;
    qc_movavg_point p;
    c.batch = 10;
    qc_movavg_start(&c, &st);
    assert_near(st.value, 90, 0);
    for (int i = 0; i < 9; i++)
        assert_int_equal(qc_movavg_add(&c, &st, batch[i % 5], &p), QC_MOVAVG_COUNTED);
    assert_int_equal(st.pending, 9);
    assert_int_equal(qc_movavg_add(&c, &st, batch[4], &p), QC_MOVAVG_POINT);
    assert_near(p.value, xb, 1e-12);
    assert_int_equal(p.n, 10);
    assert_false(p.out);
    assert_near(p.low, 87.3, 1e-9);
    assert_near(p.high, 92.7, 1e-9);
    assert_int_equal(st.pending, 0);
    assert_near(st.value, xb, 1e-12);
    /* The next batch starts from the new XB. */
    for (int i = 0; i < 10; i++)
        qc_movavg_add(&c, &st, batch[i % 5], &p);
    double x10[10];
    for (int i = 0; i < 10; i++)
        x10[i] = batch[i % 5];
    assert_near(p.value, qc_movavg_bull(xb, x10, 10), 1e-12);
}

/* Patients of factor into the XB of c until a point is out of limits or
 * batches points are computed; the point number of the first out, or 0. */
static int run_xb(const qc_movavg_config *c, qc_movavg_state *st, struct rng *r, double factor,
                  int batches, double *last)
{
    int points = 0;
    while (points < batches) {
        qc_movavg_point p;
        if (qc_movavg_add(c, st, patient_mcv(r, factor), &p) != QC_MOVAVG_POINT)
            continue;
        points++;
        *last = p.value;
        if (p.out)
            return points;
    }
    return 0;
}

static void test_stable_mcv_raises_no_alert(void **state)
{
    (void)state;
    qc_movavg_config c = xb_mcv();
    assert_int_equal(qc_movavg_check(&c, NULL), ERR_OK);
    /* 20 laboratories' worth of days: 20 seeds x 200 batches of 20 patients */
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct rng r = {seed};
        qc_movavg_state st;
        double last = 0;
        qc_movavg_start(&c, &st);
        assert_int_equal(run_xb(&c, &st, &r, 1.0, 200, &last), 0);
        assert_near(last, 90, 2.7);
    }
}

static void test_shift_of_three_percent(void **state)
{
    (void)state;
    /* The controls: a hematology control at MCV 90 fL with SD 1.8 fL (CV
     * 2%), judged by 1-3s, 2-2s and R-4s (the rules Sigma 5 to 6 suggests).
     * Read 3% high, its three runs of the day land 1.2 to 1.8 SD above the
     * mean: no rule breaks. */
    const double z[] = {1.3, 1.7, 1.2, 1.8, 1.4, 1.6};
    qc_westgard_point ctl[6];
    for (int i = 0; i < 6; i++)
        ctl[i] = (qc_westgard_point){.time = (int64_t)i * 1000000,
                                     .run = QC_WESTGARD_KEY_NUM(i / 2),
                                     .level = QC_WESTGARD_KEY_NUM(i % 2),
                                     .value = 90 + z[i] * 1.8,
                                     .mean = 90,
                                     .sd = 1.8};
    uint32_t rules = 0;
    assert_int_equal(qc_westgard_rules_parse("1-3s,2-2s,R-4s", 14, &rules, NULL), ERR_OK);
    qc_westgard_violations vs = QC_WESTGARD_VIOLATIONS_INIT;
    assert_int_equal(qc_westgard_eval(ctl, 6, rules, &vs, NULL), ERR_OK);
    assert_int_equal(vs.n, 0);
    qc_westgard_violations_free(&vs);

    /* The patients: XB on target for 50 batches, then every MCV 3% high
     * (exactly the limit: XB hovers about it once it has followed) or 5%
     * high. XB smooths hard and follows over several batches: over 20 fixed
     * sequences a 3% shift crosses the limit by the 10th batch in most
     * (median 7) and by the 25th in all; a 5% shift by the 5th in all. */
    qc_movavg_config c = xb_mcv();
    int within10 = 0, worst3 = 0, worst5 = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        for (int shift = 3; shift <= 5; shift += 2) {
            struct rng r = {seed};
            qc_movavg_state st;
            double last = 0;
            qc_movavg_start(&c, &st);
            assert_int_equal(run_xb(&c, &st, &r, 1.0, 50, &last), 0);
            int at = run_xb(&c, &st, &r, 1 + shift / 100.0, 60, &last);
            assert_true(at > 0);
            assert_true(last > 92.7);
            if (shift == 3) {
                within10 += at <= 10;
                worst3 = at > worst3 ? at : worst3;
            } else {
                worst5 = at > worst5 ? at : worst5;
            }
        }
    }
    assert_true(within10 >= 12);
    assert_true(worst3 <= 25);
    assert_true(worst5 <= 5);
}

static void test_ewma_and_mean(void **state)
{
    (void)state;
    /* EWMA with lambda 0.5 from target 100: 110 -> 105, 120 -> 112.5,
     * 100 -> 106.25; a point every result. */
    qc_movavg_config e = {.method = QC_MOVAVG_EWMA,
                          .batch = 1,
                          .lambda = 0.5,
                          .target = 100,
                          .limit = 6,
                          .limit_percent = false};
    qc_movavg_state st;
    qc_movavg_point p;
    assert_int_equal(qc_movavg_check(&e, NULL), ERR_OK);
    qc_movavg_start(&e, &st);
    assert_int_equal(qc_movavg_add(&e, &st, 110, &p), QC_MOVAVG_POINT);
    assert_near(p.value, 105, 1e-12);
    assert_false(p.out);
    assert_int_equal(qc_movavg_add(&e, &st, 120, &p), QC_MOVAVG_POINT);
    assert_near(p.value, 112.5, 1e-12);
    assert_true(p.out); /* beyond 106 */
    assert_near(p.low, 94, 1e-12);
    assert_near(p.high, 106, 1e-12);
    assert_int_equal(qc_movavg_add(&e, &st, 100, &p), QC_MOVAVG_POINT);
    assert_near(p.value, 106.25, 1e-12);
    assert_true(p.out);
    /* A point every third result: the average moves at each one. */
    e.batch = 3;
    e.lambda = 0.1;
    qc_movavg_start(&e, &st);
    assert_int_equal(qc_movavg_add(&e, &st, 110, &p), QC_MOVAVG_COUNTED);
    assert_near(st.value, 101, 1e-12);
    assert_int_equal(qc_movavg_add(&e, &st, 110, &p), QC_MOVAVG_COUNTED);
    assert_int_equal(qc_movavg_add(&e, &st, 110, &p), QC_MOVAVG_POINT);
    assert_near(p.value, 110 - 10 * 0.9 * 0.9 * 0.9, 1e-12);
    assert_int_equal(p.n, 3);

    /* Stable sodium (mean 140, SD 2.5): EWMA lambda 0.05 stays within +/-1.5%. */
    qc_movavg_config na = {.method = QC_MOVAVG_EWMA,
                           .batch = 1,
                           .lambda = 0.05,
                           .target = 140,
                           .limit = 1.5,
                           .limit_percent = true};
    struct rng r = {7};
    qc_movavg_start(&na, &st);
    for (int i = 0; i < 5000; i++) {
        qc_movavg_add(&na, &st, round(140 + 2.5 * normal(&r)), &p);
        assert_false(p.out);
    }
    /* 2% high (2.8 mmol/L): out within the next 60 results. */
    int n = 0;
    do {
        qc_movavg_add(&na, &st, round(142.8 + 2.5 * normal(&r)), &p);
        n++;
    } while (!p.out && n < 1000);
    assert_true(p.out);
    assert_true(n <= 60);

    /* The batch mean. */
    qc_movavg_config m = {
        .method = QC_MOVAVG_MEAN, .batch = 4, .target = 5, .limit = 10, .limit_percent = true};
    qc_movavg_start(&m, &st);
    const double k[] = {4, 5, 6, 5, 6, 6, 6, 6};
    for (int i = 0; i < 3; i++)
        assert_int_equal(qc_movavg_add(&m, &st, k[i], &p), QC_MOVAVG_COUNTED);
    assert_int_equal(qc_movavg_add(&m, &st, k[3], &p), QC_MOVAVG_POINT);
    assert_near(p.value, 5, 1e-12);
    assert_false(p.out);
    for (int i = 4; i < 8; i++)
        qc_movavg_add(&m, &st, k[i], &p);
    assert_near(p.value, 6, 1e-12);
    assert_true(p.out); /* 5.5 is the limit */
}

static void test_limits_and_truncation(void **state)
{
    (void)state;
    qc_movavg_config c = xb_mcv();
    /* on the limit is in, even when binary floating point says otherwise */
    assert_false(qc_movavg_out(&c, 90 * 1.03));
    assert_false(qc_movavg_out(&c, 92.7));
    assert_false(qc_movavg_out(&c, 87.3));
    assert_true(qc_movavg_out(&c, 92.71));
    assert_true(qc_movavg_out(&c, 87.29));
    /* a negative target: the band is a percentage of its size */
    qc_movavg_config neg = {
        .method = QC_MOVAVG_MEAN, .batch = 1, .target = -2, .limit = 50, .limit_percent = true};
    double lo, hi;
    qc_movavg_limits(&neg, &lo, &hi);
    assert_near(lo, -3, 1e-12);
    assert_near(hi, -1, 1e-12);
    /* truncation: outside [80, 100] counts toward no batch; the bounds are in */
    c.has_low = c.has_high = true;
    c.truncate_low = 80;
    c.truncate_high = 100;
    c.batch = 10;
    qc_movavg_state st;
    qc_movavg_point p;
    qc_movavg_start(&c, &st);
    assert_int_equal(qc_movavg_add(&c, &st, 79.9, &p), QC_MOVAVG_LEFT_OUT);
    assert_int_equal(qc_movavg_add(&c, &st, 140, &p), QC_MOVAVG_LEFT_OUT);
    assert_int_equal(qc_movavg_add(&c, &st, NAN, &p), QC_MOVAVG_LEFT_OUT);
    assert_int_equal(st.pending, 0);
    assert_int_equal(qc_movavg_add(&c, &st, 80, &p), QC_MOVAVG_COUNTED);
    assert_int_equal(qc_movavg_add(&c, &st, 100, &p), QC_MOVAVG_COUNTED);
    assert_int_equal(st.pending, 2);
}

static void test_configuration_checks(void **state)
{
    (void)state;
    errinfo ei;
    qc_movavg_config c = xb_mcv();
    c.batch = 5;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "batch");
    c.batch = 501;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "batch");
    c = xb_mcv();
    c.limit = 0;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "limit");
    c.limit = 100;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "limit");
    c = xb_mcv();
    c.target = 0;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "limit");
    c.limit_percent = false; /* 3 units around 0 is a band */
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_OK);
    c = xb_mcv();
    c.target = NAN;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "target");
    c = xb_mcv();
    c.has_low = c.has_high = true;
    c.truncate_low = 100;
    c.truncate_high = 80;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "truncate_high");
    c.truncate_low = 91;
    c.truncate_high = 110;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "truncate_low");
    c = (qc_movavg_config){.method = QC_MOVAVG_EWMA, .batch = 1, .target = 1, .limit = 1};
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "lambda");
    c.lambda = 1.5;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_INVALID);
    c.lambda = 1;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_OK);
    c.method = QC_MOVAVG_MEAN;
    c.batch = 1;
    assert_int_equal(qc_movavg_check(&c, &ei), ERR_OK);

    qc_movavg_method m;
    assert_true(qc_movavg_method_parse("bull", &m) && m == QC_MOVAVG_BULL);
    assert_true(qc_movavg_method_parse("ewma", &m) && m == QC_MOVAVG_EWMA);
    assert_true(qc_movavg_method_parse("mean", &m) && m == QC_MOVAVG_MEAN);
    assert_false(qc_movavg_method_parse("Bull", &m));
    assert_false(qc_movavg_method_parse("", &m));
    assert_false(qc_movavg_method_parse(NULL, &m));
    assert_string_equal(qc_movavg_method_name(QC_MOVAVG_EWMA), "ewma");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bull_worked_examples),
        cmocka_unit_test(test_stable_mcv_raises_no_alert),
        cmocka_unit_test(test_shift_of_three_percent),
        cmocka_unit_test(test_ewma_and_mean),
        cmocka_unit_test(test_limits_and_truncation),
        cmocka_unit_test(test_configuration_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
