/*
 * test_sigma.c - Sigma metrics against worked examples: TEa from the CLIA
 * limits (percentage or fixed amount, whichever is larger), Sigma from TEa,
 * bias and CV, and the rules the Westgard Sigma Rules suggest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "qc/sigma.h"

static void assert_near(double a, double b)
{
    if (fabs(a - b) > 1e-9)
        fail_msg("%.12g != %.12g", a, b);
}

static void test_tea_from_clia(void **state)
{
    (void)state;
    const qc_tea_limit *glu = qc_tea_clia("GLU");
    assert_non_null(glu);
    /* glucose: 8% or 6 mg/dL, whichever is larger */
    assert_near(qc_tea_percent(glu, 100), 8.0); /* 6 mg/dL is 6% at 100 */
    assert_near(qc_tea_percent(glu, 50), 12.0); /* 6 mg/dL is 12% at 50 */
    assert_near(qc_tea_percent(glu, 300), 8.0);
    /* potassium: 0.3 mmol/L only: 7.5% at 4.0 */
    assert_near(qc_tea_percent(qc_tea_clia("K"), 4.0), 7.5);
    /* sodium: 4 mmol/L: 2.857...% at 140 */
    assert_near(qc_tea_percent(qc_tea_clia("NA"), 140), 4.0 / 140 * 100);
    assert_near(qc_tea_percent(qc_tea_clia("HGB"), 13.5), 4.0);
    assert_null(qc_tea_clia("UCOLOR"));
    assert_null(qc_tea_clia("NOPE"));
    assert_null(qc_tea_clia(NULL));
}

static void test_sigma_and_rules(void **state)
{
    (void)state;
    /* TEa 10%, bias 2%, CV 2%: (10 - 2) / 2 = 4 */
    assert_near(qc_sigma(10, 2, 2), 4.0);
    assert_string_equal(qc_sigma_rules(4.0), "1-3s,2-2s,R-4s,4-1s");
    assert_string_equal(qc_sigma_controls(4.0), "4 (or 2 in each of 2 runs)");
    /* a negative bias counts by its size: (8 - 1.5) / 1.3 = 5 */
    assert_near(qc_sigma(8, -1.5, 1.3), 5.0);
    assert_string_equal(qc_sigma_rules(qc_sigma(8, -1.5, 1.3)), "1-3s,2-2s,R-4s");
    /* glucose at 100 mg/dL, bias 0.5%, CV 1.2%: (8 - 0.5) / 1.2 = 6.25 */
    double s = qc_sigma(qc_tea_percent(qc_tea_clia("GLU"), 100), 0.5, 1.2);
    assert_near(s, 6.25);
    assert_string_equal(qc_sigma_rules(s), "1-3s");
    assert_string_equal(qc_sigma_controls(s), "2");
    /* just under a boundary takes the stricter rules */
    assert_string_equal(qc_sigma_rules(5.999), "1-3s,2-2s,R-4s");
    assert_string_equal(qc_sigma_rules(3.2), "1-3s,2-2s,R-4s,4-1s,8x");
    /* bias beyond TEa: negative Sigma, the most QC */
    assert_true(qc_sigma(5, 6, 1) < 0);
    assert_string_equal(qc_sigma_rules(qc_sigma(5, 6, 1)), "1-3s,2-2s,R-4s,4-1s,8x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tea_from_clia),
        cmocka_unit_test(test_sigma_and_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
