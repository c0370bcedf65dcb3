/*
 * test_westgard.c - unit tests of src/qc/westgard: rule lists parsed (every
 * spelling, case, errors naming the rule); for each rule a textbook sequence
 * that breaks it and sequences that do not (just under the limit, opposite
 * sides, broken by a point on the other side, a window not yet full), in
 * every scope it has: 2-2s, 2of3-2s within a run and across runs; 4-1s, 3-1s
 * and 6x/8x/9x/10x/12x across runs and across levels; R-4s within a run only;
 * 1-2s a warning only. Limits held exactly on decimal inputs; text and
 * integer keys; run blocks; bad points named by position and member; the
 * order violations come in. And the engine against a slow reference written
 * from the header's definitions, on random sequences.
 *
 * Points are written as z scores on mean 100, SD 2 (z 2.5 is the value 105),
 * so each sequence reads as the control chart it draws.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/str.h"
#include "qc/westgard.h"

/* --- Helpers ---------------------------------------------------------------- */

#define SEQ_MAX 400

struct seq {
    qc_westgard_point p[SEQ_MAX];
    size_t n;
};

#define MINUTE_US (60LL * 1000000)
#define T0        1767225600000000LL /* 2026-01-01T00:00:00Z */

/* A point of run run, level level, z score z (mean 100, SD 2). */
static void add(struct seq *s, int64_t run, int64_t level, double z)
{
    assert_true(s->n < SEQ_MAX);
    qc_westgard_point *p = &s->p[s->n];
    memset(p, 0, sizeof *p);
    p->time = T0 + (int64_t)s->n * MINUTE_US;
    p->run = QC_WESTGARD_KEY_NUM(run);
    p->level = QC_WESTGARD_KEY_NUM(level);
    p->mean = 100;
    p->sd = 2;
    p->value = 100 + 2 * z;
    s->n++;
}

/* One level, one point a run: run k holds point k. */
static void add_series(struct seq *s, int64_t level, const double *z, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add(s, (int64_t)s->n + 1, level, z[i]);
}

static void key_text(buf *b, const qc_westgard_key *k)
{
    if (!k)
        assert_int_equal(buf_puts(b, "-"), ERR_OK);
    else if (k->text.p)
        assert_int_equal(buf_printf(b, "%.*s", (int)k->text.n, k->text.p), ERR_OK);
    else
        assert_int_equal(buf_printf(b, "L%lld", (long long)k->num), ERR_OK);
}

/* Violations as "rule scope level {points} action; ...", points 0-based. */
static void render(const qc_westgard_violations *vs, buf *b)
{
    buf_reset(b);
    assert_int_equal(buf_puts(b, ""), ERR_OK);
    for (size_t k = 0; k < vs->n; k++) {
        const qc_westgard_violation *v = &vs->v[k];
        if (k)
            assert_int_equal(buf_puts(b, "; "), ERR_OK);
        assert_int_equal(buf_printf(b, "%s %s ", qc_westgard_rule_name(v->rule),
                                    qc_westgard_scope_name(v->scope)),
                         ERR_OK);
        key_text(b, v->level);
        assert_int_equal(buf_puts(b, " {"), ERR_OK);
        for (size_t j = 0; j < v->npoints; j++)
            assert_int_equal(buf_printf(b, "%s%zu", j ? "," : "", v->points[j]), ERR_OK);
        assert_int_equal(buf_printf(b, "} %s", v->reject ? "reject" : "warning"), ERR_OK);
    }
}

static uint32_t rules_of(const char *list)
{
    uint32_t r = 0;
    errinfo ei;
    err_clear(&ei);
    assert_int_equal(qc_westgard_rules_parse(list, strlen(list), &r, &ei), ERR_OK);
    return r;
}

/* Evaluate s under list and return the rendering (valid until the next call). */
static const char *eval(const struct seq *s, const char *list)
{
    static buf out = BUF_INIT;
    qc_westgard_violations vs = QC_WESTGARD_VIOLATIONS_INIT;
    errinfo ei;
    err_clear(&ei);
    assert_int_equal(qc_westgard_eval(s->p, s->n, rules_of(list), &vs, &ei), ERR_OK);
    render(&vs, &out);
    qc_westgard_violations_free(&vs);
    return out.data;
}

/* --- Rule lists --------------------------------------------------------------- */

static void test_rules_parse(void **state)
{
    (void)state;
    const char *all = "1-2s,1-3s,2-2s,R-4s,4-1s,2of3-2s,3-1s,6x,8x,9x,10x,12x";
    assert_int_equal(rules_of(all), QC_WESTGARD_ALL_RULES);
    assert_int_equal(rules_of("1-2s,1-3s,2-2s,R-4s,4-1s,10x"), QC_WESTGARD_DEFAULT_RULES);
    assert_int_equal(rules_of("10x"), QC_WESTGARD_BIT(QC_WESTGARD_10X));
    assert_int_equal(rules_of("10-x"), QC_WESTGARD_BIT(QC_WESTGARD_10X));
    assert_int_equal(rules_of("10_X"), QC_WESTGARD_BIT(QC_WESTGARD_10X));
    assert_int_equal(rules_of("r-4S"), QC_WESTGARD_BIT(QC_WESTGARD_R_4S));
    assert_int_equal(rules_of("R4s"), QC_WESTGARD_BIT(QC_WESTGARD_R_4S));
    assert_int_equal(rules_of("2OF3-2S"), QC_WESTGARD_BIT(QC_WESTGARD_2OF3_2S));
    assert_int_equal(rules_of("13s,1_3s,1-3S"), QC_WESTGARD_BIT(QC_WESTGARD_1_3S));
    assert_int_equal(rules_of(" 1-2s , 12X\t"),
                     QC_WESTGARD_BIT(QC_WESTGARD_1_2S) | QC_WESTGARD_BIT(QC_WESTGARD_12X));
    assert_int_equal(rules_of("6-x,8x,9-x"), QC_WESTGARD_BIT(QC_WESTGARD_6X) |
                                                 QC_WESTGARD_BIT(QC_WESTGARD_8X) |
                                                 QC_WESTGARD_BIT(QC_WESTGARD_9X));
    assert_int_equal(rules_of("41s,31S,22s"), QC_WESTGARD_BIT(QC_WESTGARD_4_1S) |
                                                  QC_WESTGARD_BIT(QC_WESTGARD_3_1S) |
                                                  QC_WESTGARD_BIT(QC_WESTGARD_2_2S));

    /* Canonical names, the inverse of the parse. */
    for (int r = 0; r < QC_WESTGARD__COUNT; r++) {
        const char *name = qc_westgard_rule_name((qc_westgard_rule)r);
        assert_int_equal(rules_of(name), QC_WESTGARD_BIT(r));
    }
    assert_string_equal(qc_westgard_rule_name(QC_WESTGARD_2OF3_2S), "2of3-2s");
    assert_string_equal(qc_westgard_rule_name(QC_WESTGARD_R_4S), "R-4s");
    assert_string_equal(qc_westgard_rule_name(QC_WESTGARD__COUNT), "unknown");
    assert_string_equal(qc_westgard_scope_name(QC_WESTGARD_WITHIN_RUN), "within-run");
    assert_string_equal(qc_westgard_scope_name(QC_WESTGARD_ACROSS_RUNS), "across-runs");
    assert_string_equal(qc_westgard_scope_name(QC_WESTGARD_ACROSS_LEVELS), "across-levels");
}

static void parse_fails(const char *list, const char *in_message)
{
    uint32_t r = 0xdead;
    errinfo ei;
    err_clear(&ei);
    assert_int_equal(qc_westgard_rules_parse(list, strlen(list), &r, &ei), ERR_INVALID);
    assert_int_equal(r, 0xdead); /* untouched */
    assert_string_equal(ei.field, "rules");
    if (!strstr(ei.message, in_message))
        fail_msg("'%s': message '%s' lacks '%s'", list, ei.message, in_message);
}

static void test_rules_parse_errors(void **state)
{
    (void)state;
    parse_fails("1-5s", "'1-5s'");
    parse_fails("1-3s,2-2s,7x", "'7x'");
    parse_fails("1-3s,R-4", "'R-4'");
    parse_fails("1-3s;2-2s", "'1-3s;2-2s'");
    parse_fails("2of3", "'2of3'");
    parse_fails("1--3s", "'1--3s'");
    parse_fails("", "no rules");
    parse_fails("   ", "no rules");
    parse_fails("1-3s,,2-2s", "empty");
    parse_fails("1-3s,", "empty");
    parse_fails(",1-3s", "empty");
    /* A long unknown name is cut in the message, not overflowing it. */
    char lng[300];
    memset(lng, 'q', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    parse_fails(lng, "'qqqq");
    /* NULL with length 0 is an empty list. */
    uint32_t r = 0;
    assert_int_equal(qc_westgard_rules_parse(NULL, 0, &r, NULL), ERR_INVALID);
}

/* --- 1-2s and 1-3s ----------------------------------------------------------- */

static void test_1_2s_warning_only(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    add(&s, 1, 1, 2.5);  /* 105: beyond +2 SD */
    add(&s, 1, 2, 2.0);  /* 104: on the limit, not beyond */
    add(&s, 2, 1, -2.0); /* 96: on the limit */
    add(&s, 2, 2, -2.01);
    add(&s, 3, 1, 1.99);
    assert_string_equal(eval(&s, "1-2s"),
                        "1-2s within-run L1 {0} warning; 1-2s within-run L2 {3} warning");
    /* The same points under the other rules that look at 2 SD break none of
     * them: one point a level beyond, no pair on a side, no opposite pair. */
    assert_string_equal(eval(&s, "2-2s,R-4s,2of3-2s,1-3s"), "");
}

static void test_1_2s_decimal_limits(void **state)
{
    (void)state;
    /* mean 4.1, SD 0.3: 4.7 and 3.5 are exactly on +/-2 SD in decimal, though
     * (4.7 - 4.1) / 0.3 is 2.0000000000000018 in binary floating point. */
    struct seq s = {.n = 0};
    double values[] = {4.7, 3.5, 4.71, 3.49, 5.0, 3.2};
    for (size_t i = 0; i < 6; i++) {
        add(&s, (int64_t)i + 1, 1, 0);
        s.p[i].mean = 4.1;
        s.p[i].sd = 0.3;
        s.p[i].value = values[i];
    }
    /* 5.0 and 3.2 are exactly +/-3 SD: 1-2s, not 1-3s. */
    assert_string_equal(eval(&s, "1-2s,1-3s"),
                        "1-2s within-run L1 {2} warning; 1-2s within-run L1 {3} warning; "
                        "1-2s within-run L1 {4} warning; 1-2s within-run L1 {5} warning");
}

static void test_1_3s(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    add(&s, 1, 1, 3.2);
    add(&s, 1, 2, 3.0);  /* on the limit */
    add(&s, 2, 1, -3.5); /* below */
    add(&s, 2, 2, 2.9);
    assert_string_equal(eval(&s, "1-3s"),
                        "1-3s within-run L1 {0} reject; 1-3s within-run L1 {2} reject");
    /* With 1-2s too, a point beyond 3 SD is beyond 2 SD as well: both. */
    assert_string_equal(eval(&s, "1-3s,1-2s"),
                        "1-2s within-run L1 {0} warning; 1-3s within-run L1 {0} reject; "
                        "1-2s within-run L2 {1} warning; 1-2s within-run L1 {2} warning; "
                        "1-3s within-run L1 {2} reject; 1-2s within-run L2 {3} warning");
}

/* --- 2-2s ---------------------------------------------------------------------- */

static void test_2_2s_within_run(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 2.3); /* both levels of run 1 above +2 SD */
    assert_string_equal(eval(&s, "2-2s"), "2-2s within-run - {0,1} reject");

    s.n = 0;
    add(&s, 1, 1, -2.5);
    add(&s, 1, 2, -2.1); /* both below */
    assert_string_equal(eval(&s, "2-2s"), "2-2s within-run - {0,1} reject");

    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 2.0); /* the second on the limit */
    assert_string_equal(eval(&s, "2-2s"), "");

    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, -2.5); /* opposite sides: R-4s, not 2-2s */
    assert_string_equal(eval(&s, "2-2s"), "");

    /* Adjacent points of two levels but in different runs: not within a run,
     * and not one level either. */
    s.n = 0;
    add(&s, 1, 1, 0);
    add(&s, 1, 2, 2.5);
    add(&s, 2, 1, 2.5);
    add(&s, 2, 2, 0);
    assert_string_equal(eval(&s, "2-2s"), "");

    /* Three levels: only adjacent points of the run count (L1 and L3 with L2
     * between them are 2of3-2s, not 2-2s). */
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 0.5);
    add(&s, 1, 3, 2.5);
    assert_string_equal(eval(&s, "2-2s"), "");
    s.n = 0;
    add(&s, 1, 1, 0.5);
    add(&s, 1, 2, 2.5);
    add(&s, 1, 3, 2.5);
    assert_string_equal(eval(&s, "2-2s"), "2-2s within-run - {1,2} reject");
}

static void test_2_2s_across_runs(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    double up[] = {0.5, 2.5, 2.4};
    add_series(&s, 1, up, 3);
    assert_string_equal(eval(&s, "2-2s"), "2-2s across-runs L1 {1,2} reject");

    /* Two levels: level 1 in runs 1 and 2, level 2 normal between. */
    s.n = 0;
    add(&s, 1, 1, -2.5);
    add(&s, 1, 2, 0.3);
    add(&s, 2, 1, -2.2);
    add(&s, 2, 2, -0.3);
    assert_string_equal(eval(&s, "2-2s"), "2-2s across-runs L1 {0,2} reject");

    /* Just under, opposite, and broken by a point on the other side. */
    s.n = 0;
    double under[] = {2.5, 1.9, 2.5};
    add_series(&s, 1, under, 3);
    assert_string_equal(eval(&s, "2-2s"), "");
    s.n = 0;
    double opposite[] = {2.5, -2.5, 2.5, -2.5};
    add_series(&s, 1, opposite, 4);
    assert_string_equal(eval(&s, "2-2s"), "");
    /* Opposite sides across runs are not R-4s either. */
    assert_string_equal(eval(&s, "R-4s"), "");

    /* Going on: reported again at each further point. */
    s.n = 0;
    double on[] = {2.5, 2.5, 2.5};
    add_series(&s, 1, on, 3);
    assert_string_equal(eval(&s, "2-2s"),
                        "2-2s across-runs L1 {0,1} reject; 2-2s across-runs L1 {1,2} reject");
}

/* --- R-4s ----------------------------------------------------------------------- */

static void test_r_4s_within_run(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, -2.5);
    assert_string_equal(eval(&s, "R-4s"), "R-4s within-run - {0,1} reject");

    s.n = 0;
    add(&s, 1, 1, -2.1);
    add(&s, 1, 2, 2.1);
    assert_string_equal(eval(&s, "R-4s"), "R-4s within-run - {0,1} reject");

    /* Just under: one of them on -2 SD. */
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, -2.0);
    assert_string_equal(eval(&s, "R-4s"), "");

    /* A range over 4 SD without one point beyond each limit is not R-4s as
     * implemented (+3.5 and -1.0). */
    s.n = 0;
    add(&s, 1, 1, 3.5);
    add(&s, 1, 2, -1.0);
    assert_string_equal(eval(&s, "R-4s"), "");

    /* Three levels: the point that completes it is paired with every other
     * level of the run beyond the other limit. */
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 2.6);
    add(&s, 1, 3, -2.2);
    assert_string_equal(eval(&s, "R-4s"), "R-4s within-run - {0,1,2} reject");
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, -2.5);
    add(&s, 1, 3, -2.6);
    assert_string_equal(eval(&s, "R-4s"),
                        "R-4s within-run - {0,1} reject; R-4s within-run - {0,2} reject");
}

static void test_r_4s_never_across_runs(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    /* One level, consecutive runs +2.5 then -2.5. */
    double z[] = {2.5, -2.5};
    add_series(&s, 1, z, 2);
    assert_string_equal(eval(&s, "R-4s"), "");
    /* Two levels: level 2 high at the end of run 1, level 1 low at the start
     * of run 2 (adjacent in time, different runs). */
    s.n = 0;
    add(&s, 1, 1, 0);
    add(&s, 1, 2, 2.5);
    add(&s, 2, 1, -2.5);
    add(&s, 2, 2, 0);
    assert_string_equal(eval(&s, "R-4s"), "");
    /* The same run id again after another run is a new run block. */
    s.n = 0;
    add(&s, 7, 1, 2.5);
    add(&s, 8, 1, 0);
    add(&s, 7, 2, -2.5);
    assert_string_equal(eval(&s, "R-4s"), "");
}

/* --- 4-1s ----------------------------------------------------------------------- */

static void test_4_1s_across_runs(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    double z[] = {1.5, 1.2, 1.1, 1.8, 1.3};
    add_series(&s, 1, z, 5);
    assert_string_equal(
        eval(&s, "4-1s"),
        "4-1s across-runs L1 {0,1,2,3} reject; 4-1s across-runs L1 {1,2,3,4} reject");

    s.n = 0;
    double low[] = {-1.5, -1.2, -1.1, -1.8};
    add_series(&s, 1, low, 4);
    assert_string_equal(eval(&s, "4-1s"), "4-1s across-runs L1 {0,1,2,3} reject");

    s.n = 0;
    double under[] = {1.5, 1.2, 1.0, 1.8}; /* one on +1 SD */
    add_series(&s, 1, under, 4);
    assert_string_equal(eval(&s, "4-1s"), "");

    s.n = 0;
    double broken[] = {1.5, 1.2, -1.1, 1.8, 1.4, 1.9};
    add_series(&s, 1, broken, 6);
    assert_string_equal(eval(&s, "4-1s"), "");

    s.n = 0;
    double three[] = {1.5, 1.2, 1.1};
    add_series(&s, 1, three, 3);
    assert_string_equal(eval(&s, "4-1s"), "");

    /* Two levels, level 1 across four runs; level 2 around its mean. */
    s.n = 0;
    for (int r = 1; r <= 4; r++) {
        add(&s, r, 1, 1.4);
        add(&s, r, 2, r % 2 ? 0.5 : -0.5);
    }
    assert_string_equal(eval(&s, "4-1s"), "4-1s across-runs L1 {0,2,4,6} reject");
}

static void test_4_1s_across_levels(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    /* Two levels, two runs: the last four points are above +1 SD. */
    add(&s, 1, 1, 1.5);
    add(&s, 1, 2, 1.3);
    add(&s, 2, 1, 1.2);
    add(&s, 2, 2, 1.4);
    assert_string_equal(eval(&s, "4-1s"), "4-1s across-levels - {0,1,2,3} reject");

    /* Four levels in one run. */
    s.n = 0;
    for (int l = 1; l <= 4; l++)
        add(&s, 1, l, -1.1 - 0.1 * l);
    assert_string_equal(eval(&s, "4-1s"), "4-1s across-levels - {0,1,2,3} reject");

    /* Broken by one level on the other side; and one just under. */
    s.n = 0;
    add(&s, 1, 1, 1.5);
    add(&s, 1, 2, -1.3);
    add(&s, 2, 1, 1.2);
    add(&s, 2, 2, 1.4);
    assert_string_equal(eval(&s, "4-1s"), "");
    s.n = 0;
    add(&s, 1, 1, 1.5);
    add(&s, 1, 2, 1.0);
    add(&s, 2, 1, 1.2);
    add(&s, 2, 2, 1.4);
    assert_string_equal(eval(&s, "4-1s"), "");
}

/* --- 2of3-2s --------------------------------------------------------------------- */

static void test_2of3_2s_within_run(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 0.5);
    add(&s, 1, 3, 2.2);
    assert_string_equal(eval(&s, "2of3-2s"), "2of3-2s within-run - {0,2} reject");

    s.n = 0;
    add(&s, 1, 1, -2.5);
    add(&s, 1, 2, -2.4);
    add(&s, 1, 3, -2.2);
    assert_string_equal(eval(&s, "2of3-2s"), "2of3-2s within-run - {0,1,2} reject");

    /* Opposite sides, just under, and two beyond but the third (the newest)
     * normal: that is 2-2s at the second point, and no 2of3-2s. */
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 0.5);
    add(&s, 1, 3, -2.2);
    assert_string_equal(eval(&s, "2of3-2s"), "");
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 0.5);
    add(&s, 1, 3, 2.0);
    assert_string_equal(eval(&s, "2of3-2s"), "");
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 2.5);
    add(&s, 1, 3, 0.5);
    assert_string_equal(eval(&s, "2of3-2s,2-2s"), "2-2s within-run - {0,1} reject");
    /* Two levels in a run: no window of three. */
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 2.5);
    assert_string_equal(eval(&s, "2of3-2s"), "");
}

static void test_2of3_2s_across_runs(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    double z[] = {2.5, 1.0, 2.1};
    add_series(&s, 1, z, 3);
    assert_string_equal(eval(&s, "2of3-2s"), "2of3-2s across-runs L1 {0,2} reject");

    s.n = 0;
    double opposite[] = {2.5, 1.0, -2.1};
    add_series(&s, 1, opposite, 3);
    assert_string_equal(eval(&s, "2of3-2s"), "");

    s.n = 0;
    double under[] = {2.5, 1.0, 2.0};
    add_series(&s, 1, under, 3);
    assert_string_equal(eval(&s, "2of3-2s"), "");

    /* Too far apart: beyond, normal, normal, beyond. */
    s.n = 0;
    double apart[] = {2.5, 1.0, 0.2, 2.5};
    add_series(&s, 1, apart, 4);
    assert_string_equal(eval(&s, "2of3-2s"), "");

    /* Two levels: level 2 across three runs. */
    s.n = 0;
    add(&s, 1, 1, 0);
    add(&s, 1, 2, -2.4);
    add(&s, 2, 1, 0);
    add(&s, 2, 2, -1.0);
    add(&s, 3, 1, 0);
    add(&s, 3, 2, -2.3);
    assert_string_equal(eval(&s, "2of3-2s"), "2of3-2s across-runs L2 {1,5} reject");
}

/* --- 3-1s -------------------------------------------------------------------------- */

static void test_3_1s(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    double z[] = {0.2, -1.5, -1.2, -1.1};
    add_series(&s, 1, z, 4);
    assert_string_equal(eval(&s, "3-1s"), "3-1s across-runs L1 {1,2,3} reject");

    s.n = 0;
    double under[] = {1.5, 1.2, 1.0};
    add_series(&s, 1, under, 3);
    assert_string_equal(eval(&s, "3-1s"), "");

    s.n = 0;
    double broken[] = {1.5, -1.2, 1.1, 1.3};
    add_series(&s, 1, broken, 4);
    assert_string_equal(eval(&s, "3-1s"), "");

    /* Across levels: three levels of one run. */
    s.n = 0;
    add(&s, 1, 1, 1.5);
    add(&s, 1, 2, 1.2);
    add(&s, 1, 3, 1.1);
    assert_string_equal(eval(&s, "3-1s"), "3-1s across-levels - {0,1,2} reject");
    /* ... and two levels over two runs, with the first point normal. */
    s.n = 0;
    add(&s, 1, 1, 0.4);
    add(&s, 1, 2, -1.2);
    add(&s, 2, 1, -1.6);
    add(&s, 2, 2, -1.05);
    assert_string_equal(eval(&s, "3-1s"), "3-1s across-levels - {1,2,3} reject");
    s.n = 0;
    add(&s, 1, 1, 0.4);
    add(&s, 1, 2, -1.2);
    add(&s, 2, 1, -0.9);
    add(&s, 2, 2, -1.05);
    assert_string_equal(eval(&s, "3-1s"), "");
}

/* --- Nx -------------------------------------------------------------------------- */

static void check_nx_one_level(const char *rule, size_t n)
{
    struct seq s = {.n = 0};
    char want[256];
    double z[SEQ_MAX];
    for (size_t i = 0; i < n; i++)
        z[i] = i % 2 ? 0.3 : 1.7;
    /* n - 1 on one side: nothing. */
    add_series(&s, 1, z, n - 1);
    assert_string_equal(eval(&s, rule), "");
    /* The nth completes it, at index n-1. */
    add(&s, (int64_t)s.n + 1, 1, 0.01);
    int at = snprintf(want, sizeof want, "%s across-runs L1 {", rule);
    for (size_t i = 0; i < n; i++)
        at += snprintf(want + at, sizeof want - (size_t)at, "%s%zu", i ? "," : "", i);
    snprintf(want + at, sizeof want - (size_t)at, "} reject");
    assert_string_equal(eval(&s, rule), want);
    /* A point on the mean breaks it; so does one below. */
    s.p[n / 2].value = s.p[n / 2].mean;
    assert_string_equal(eval(&s, rule), "");
    s.p[n / 2].value = s.p[n / 2].mean - 0.1;
    assert_string_equal(eval(&s, rule), "");
}

static void test_nx_across_runs(void **state)
{
    (void)state;
    check_nx_one_level("6x", 6);
    check_nx_one_level("8x", 8);
    check_nx_one_level("9x", 9);
    check_nx_one_level("10x", 10);
    check_nx_one_level("12x", 12);

    /* Going on: 12 points below the mean report 10x three times. */
    struct seq s = {.n = 0};
    double z[12];
    for (size_t i = 0; i < 12; i++)
        z[i] = -0.4;
    add_series(&s, 1, z, 12);
    assert_string_equal(eval(&s, "10x"), "10x across-runs L1 {0,1,2,3,4,5,6,7,8,9} reject; "
                                         "10x across-runs L1 {1,2,3,4,5,6,7,8,9,10} reject; "
                                         "10x across-runs L1 {2,3,4,5,6,7,8,9,10,11} reject");
    /* And 6x, 8x at each point from their own length on. */
    const char *r = eval(&s, "6x");
    size_t count = 0;
    for (const char *p = r; (p = strstr(p, "6x ")); p++)
        count++;
    assert_int_equal(count, 7);
}

static void test_nx_across_levels(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    /* Two levels, five runs, every point above the mean: 10x across levels
     * at the 10th point; no level has ten of its own. */
    for (int r = 1; r <= 5; r++) {
        add(&s, r, 1, 0.3);
        add(&s, r, 2, 0.8);
    }
    assert_string_equal(eval(&s, "10x"), "10x across-levels - {0,1,2,3,4,5,6,7,8,9} reject");
    /* Three levels, two runs: 6x across levels. */
    s.n = 0;
    for (int r = 1; r <= 2; r++)
        for (int l = 1; l <= 3; l++)
            add(&s, r, l, -0.2 * l);
    assert_string_equal(eval(&s, "6x"), "6x across-levels - {0,1,2,3,4,5} reject");
    /* One point of the other level on the other side breaks it. */
    s.p[4].value = 100.5;
    assert_string_equal(eval(&s, "6x"), "");
    /* One level alone: reported across runs, not again across levels. */
    s.n = 0;
    double z[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    add_series(&s, 1, z, 6);
    assert_string_equal(eval(&s, "6x"), "6x across-runs L1 {0,1,2,3,4,5} reject");
}

/* --- Keys, runs, order -------------------------------------------------------------- */

static void test_text_and_integer_keys(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    add(&s, 0, 0, 2.5);
    add(&s, 0, 0, 2.5);
    s.p[0].run = QC_WESTGARD_KEY_TEXT("R-0001");
    s.p[1].run = QC_WESTGARD_KEY_TEXT("R-0001");
    s.p[0].level = QC_WESTGARD_KEY_TEXT("low");
    s.p[1].level = QC_WESTGARD_KEY_TEXT("high");
    assert_string_equal(eval(&s, "2-2s,1-2s"), "1-2s within-run low {0} warning; "
                                               "1-2s within-run high {1} warning; "
                                               "2-2s within-run - {0,1} reject");
    /* Text "1" and integer 1 are different levels; the same run text with
     * different bytes is a different run. */
    s.p[0].level = QC_WESTGARD_KEY_TEXT("1");
    s.p[1].level = QC_WESTGARD_KEY_NUM(1);
    assert_string_equal(eval(&s, "2-2s"), "2-2s within-run - {0,1} reject");
    s.p[1].run = QC_WESTGARD_KEY_TEXT("R-0002");
    assert_string_equal(eval(&s, "2-2s"), "");
    s.p[1].level = QC_WESTGARD_KEY_TEXT("1");
    assert_string_equal(eval(&s, "2-2s"), "2-2s across-runs 1 {0,1} reject");

    /* A violation's level points into the input. */
    qc_westgard_violations vs = QC_WESTGARD_VIOLATIONS_INIT;
    assert_int_equal(qc_westgard_eval(s.p, s.n, rules_of("1-2s"), &vs, NULL), ERR_OK);
    assert_int_equal(vs.n, 2);
    assert_ptr_equal(vs.v[1].level, &s.p[1].level);
    assert_false(vs.v[1].reject);
    assert_int_equal(vs.v[1].rule, QC_WESTGARD_1_2S);
    assert_int_equal(vs.v[1].scope, QC_WESTGARD_WITHIN_RUN);
    qc_westgard_violations_free(&vs);
    assert_null(vs.v);
}

static void test_equal_times_and_repeats(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    /* Two levels measured at the same instant. */
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 2.5);
    s.p[1].time = s.p[0].time;
    assert_string_equal(eval(&s, "2-2s"), "2-2s within-run - {0,1} reject");
    /* A level repeated within one run: the repeat is the next point of that
     * level (across runs), not a second level of the run. */
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 1, 2.3);
    assert_string_equal(eval(&s, "2-2s,R-4s"), "2-2s across-runs L1 {0,1} reject");
    s.n = 0;
    add(&s, 1, 1, 2.5);
    add(&s, 1, 2, 0);
    add(&s, 1, 2, -2.5); /* the latest point of level 2 in the run counts */
    assert_string_equal(eval(&s, "R-4s"), "R-4s within-run - {0,2} reject");
}

static void test_order_of_violations(void **state)
{
    (void)state;
    /* Two levels, four runs, every rule in the set: by point, then rule
     * (1-2s 1-3s 2-2s R-4s 4-1s 2of3-2s 3-1s 6x...), then scope. */
    struct seq s = {.n = 0};
    add(&s, 1, 1, 1.5);
    add(&s, 1, 2, 1.2);
    add(&s, 2, 1, 2.2);
    add(&s, 2, 2, 3.3);
    add(&s, 3, 1, 2.4);
    add(&s, 3, 2, -2.1);
    assert_string_equal(
        eval(&s, "1-2s,1-3s,2-2s,R-4s,4-1s,2of3-2s,3-1s,6x,8x,9x,10x,12x"),
        "1-2s within-run L1 {2} warning; 3-1s across-levels - {0,1,2} reject; "
        "1-2s within-run L2 {3} warning; 1-3s within-run L2 {3} reject; "
        "2-2s within-run - {2,3} reject; 4-1s across-levels - {0,1,2,3} reject; "
        "3-1s across-levels - {1,2,3} reject; "
        "1-2s within-run L1 {4} warning; 2-2s across-runs L1 {2,4} reject; "
        "4-1s across-levels - {1,2,3,4} reject; 2of3-2s across-runs L1 {2,4} reject; "
        "3-1s across-runs L1 {0,2,4} reject; 3-1s across-levels - {2,3,4} reject; "
        "1-2s within-run L2 {5} warning; R-4s within-run - {4,5} reject");
}

/* --- Bad input -------------------------------------------------------------------- */

static void eval_fails(const struct seq *s, int line, const char *field, const char *in_message)
{
    qc_westgard_violations vs = QC_WESTGARD_VIOLATIONS_INIT;
    qc_westgard_violation dummy;
    memset(&dummy, 0, sizeof dummy);
    /* Something in out first: it must come back empty. */
    vs.v = calloc(1, sizeof dummy);
    assert_non_null(vs.v);
    vs.n = vs.cap = 1;
    errinfo ei;
    err_clear(&ei);
    assert_int_equal(qc_westgard_eval(s->p, s->n, QC_WESTGARD_ALL_RULES, &vs, &ei), ERR_INVALID);
    assert_int_equal(vs.n, 0);
    assert_int_equal(ei.line, line);
    assert_string_equal(ei.field, field);
    if (!strstr(ei.message, in_message))
        fail_msg("message '%s' lacks '%s'", ei.message, in_message);
    qc_westgard_violations_free(&vs);
}

static void test_bad_points(void **state)
{
    (void)state;
    struct seq s = {.n = 0};
    for (int i = 0; i < 5; i++)
        add(&s, i + 1, 1, 2.5);
    struct seq bad = s;
    bad.p[2].sd = 0;
    eval_fails(&bad, 3, "sd", "greater than 0");
    bad = s;
    bad.p[4].sd = -1;
    eval_fails(&bad, 5, "sd", "greater than 0, got -1");
    bad = s;
    bad.p[0].sd = NAN;
    eval_fails(&bad, 1, "sd", "finite");
    bad = s;
    bad.p[1].value = NAN;
    eval_fails(&bad, 2, "value", "finite");
    bad = s;
    bad.p[1].value = INFINITY;
    eval_fails(&bad, 2, "value", "finite");
    bad = s;
    bad.p[3].mean = -INFINITY;
    eval_fails(&bad, 4, "mean", "finite");
    bad = s;
    bad.p[3].time = bad.p[1].time; /* before point 3 */
    eval_fails(&bad, 4, "time",
               "2026-01-01T00:01:00.000000Z is earlier than 2026-01-01T00:02:00.000000Z");
    bad = s;
    bad.p[2].level = QC_WESTGARD_KEY_TEXT("");
    eval_fails(&bad, 3, "level", "empty");
    bad = s;
    bad.p[2].run = QC_WESTGARD_KEY_TEXT("");
    eval_fails(&bad, 3, "run", "empty");
    /* The first bad point is named, and the first bad member of it. */
    bad = s;
    bad.p[4].sd = 0;
    bad.p[1].mean = NAN;
    bad.p[1].sd = 0;
    eval_fails(&bad, 2, "mean", "finite");

    /* Sixteen levels are fine, the seventeenth is refused. */
    bad.n = 0;
    for (int l = 1; l <= QC_WESTGARD_LEVELS_MAX; l++)
        add(&bad, 1, l, 0);
    assert_string_equal(eval(&bad, "1-2s"), "");
    add(&bad, 1, 99, 0);
    eval_fails(&bad, QC_WESTGARD_LEVELS_MAX + 1, "level", "more than 16");

    /* The check on its own. */
    errinfo ei;
    err_clear(&ei);
    assert_int_equal(qc_westgard_point_check(&s.p[1], &s.p[0], &ei), ERR_OK);
    assert_int_equal(qc_westgard_point_check(&s.p[0], &s.p[1], &ei), ERR_INVALID);
    assert_string_equal(ei.field, "time");
    assert_int_equal(qc_westgard_point_check(&s.p[0], NULL, NULL), ERR_OK);

    /* Rule bits that name no rule. */
    qc_westgard_violations vs = QC_WESTGARD_VIOLATIONS_INIT;
    err_clear(&ei);
    assert_int_equal(qc_westgard_eval(s.p, s.n, UINT32_C(1) << 20, &vs, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "rules");
    /* No points, no rules: nothing, and no error. */
    assert_int_equal(qc_westgard_eval(s.p, 0, QC_WESTGARD_ALL_RULES, &vs, &ei), ERR_OK);
    assert_int_equal(vs.n, 0);
    assert_int_equal(qc_westgard_eval(s.p, s.n, 0, &vs, &ei), ERR_OK);
    assert_int_equal(vs.n, 0);
    qc_westgard_violations_free(&vs);
}

/* --- Against the definitions -------------------------------------------------------- */

/*
 * A slow reference read straight from westgard.h: it builds RUN(i), LEVEL(i)
 * and ALL(i) as lists of indices at every point and tests each rule on them.
 */
static bool ref_same_key(const qc_westgard_key *a, const qc_westgard_key *b)
{
    if (!a->text.p && !b->text.p)
        return a->num == b->num;
    if (!a->text.p || !b->text.p)
        return false;
    return a->text.n == b->text.n && !memcmp(a->text.p, b->text.p, a->text.n);
}

static int ref_side(const qc_westgard_point *p, double k)
{
    double z = (p->value - p->mean) / p->sd;
    return z > k + 1e-9 ? 1 : z < -(k + 1e-9) ? -1 : 0;
}

static void ref_report(const struct seq *s, qc_westgard_violations *vs, qc_westgard_rule rule,
                       qc_westgard_scope scope, const size_t *w, size_t n)
{
    assert_true(vs->n < vs->cap);
    qc_westgard_violation *v = &vs->v[vs->n++];
    memset(v, 0, sizeof *v);
    v->rule = rule;
    v->scope = scope;
    v->reject = rule != QC_WESTGARD_1_2S;
    v->level = &s->p[w[0]].level;
    for (size_t j = 0; j < n; j++) {
        v->points[j] = w[j];
        if (!ref_same_key(&s->p[w[j]].level, &s->p[w[0]].level))
            v->level = NULL;
    }
    v->npoints = n;
}

static void reference(const struct seq *s, uint32_t rules, qc_westgard_violations *vs)
{
    static const struct {
        double limit;
        size_t window, need;
        qc_westgard_rule rule;
        bool run, level, all;
    } table[] = {
        {2, 1, 1, QC_WESTGARD_1_2S, true, false, false},
        {3, 1, 1, QC_WESTGARD_1_3S, true, false, false},
        {2, 2, 2, QC_WESTGARD_2_2S, true, true, false},
        {2, 0, 0, QC_WESTGARD_R_4S, false, false, false},
        {1, 4, 4, QC_WESTGARD_4_1S, false, true, true},
        {2, 3, 2, QC_WESTGARD_2OF3_2S, true, true, false},
        {1, 3, 3, QC_WESTGARD_3_1S, false, true, true},
        {0, 6, 6, QC_WESTGARD_6X, false, true, true},
        {0, 8, 8, QC_WESTGARD_8X, false, true, true},
        {0, 9, 9, QC_WESTGARD_9X, false, true, true},
        {0, 10, 10, QC_WESTGARD_10X, false, true, true},
        {0, 12, 12, QC_WESTGARD_12X, false, true, true},
    };
    vs->n = 0;
    for (size_t i = 0; i < s->n; i++) {
        /* The sequences at i. */
        size_t run[SEQ_MAX], lev[SEQ_MAX], all[SEQ_MAX], nrun = 0, nlev = 0, nall = 0;
        size_t start = i;
        while (start > 0 && ref_same_key(&s->p[start - 1].run, &s->p[i].run))
            start--;
        for (size_t j = start; j <= i; j++)
            run[nrun++] = j;
        for (size_t j = 0; j <= i; j++) {
            if (ref_same_key(&s->p[j].level, &s->p[i].level))
                lev[nlev++] = j;
            all[nall++] = j;
        }
        for (size_t t = 0; t < sizeof table / sizeof table[0]; t++) {
            if (!(rules & QC_WESTGARD_BIT(table[t].rule)))
                continue;
            double k = table[t].limit;
            int side = ref_side(&s->p[i], k);
            if (table[t].rule == QC_WESTGARD_R_4S) {
                /* the latest point of each other level in the run */
                size_t w[SEQ_MAX], n = 0;
                if (side == 0)
                    continue;
                for (size_t a = 0; a + 1 < nrun; a++) {
                    size_t j = run[a];
                    bool latest = !ref_same_key(&s->p[j].level, &s->p[i].level);
                    for (size_t b = a + 1; latest && b + 1 < nrun; b++)
                        if (ref_same_key(&s->p[run[b]].level, &s->p[j].level))
                            latest = false;
                    if (latest && ref_side(&s->p[j], k) == -side)
                        w[n++] = j;
                }
                if (n) {
                    w[n++] = i;
                    ref_report(s, vs, table[t].rule, QC_WESTGARD_WITHIN_RUN, w, n);
                }
                continue;
            }
            const size_t *seqs[3] = {run, lev, all};
            size_t lens[3] = {nrun, nlev, nall};
            bool uses[3] = {table[t].run, table[t].level, table[t].all};
            for (int sc = 0; sc < 3; sc++) {
                size_t m = table[t].window;
                if (!uses[sc] || lens[sc] < m || side == 0)
                    continue;
                const size_t *win = seqs[sc] + lens[sc] - m;
                size_t levels = 0;
                bool distinct = true;
                for (size_t a = 0; a < m; a++) {
                    bool first = true;
                    for (size_t b = 0; b < a; b++)
                        if (ref_same_key(&s->p[win[a]].level, &s->p[win[b]].level))
                            first = false;
                    levels += first;
                    distinct = distinct && first;
                }
                if ((sc == 0 && !distinct) || (sc == 2 && levels < 2))
                    continue;
                size_t hit[SEQ_MAX], nhit = 0;
                for (size_t a = 0; a < m; a++)
                    if (ref_side(&s->p[win[a]], k) == side)
                        hit[nhit++] = win[a];
                if (nhit >= table[t].need)
                    ref_report(s, vs, table[t].rule, (qc_westgard_scope)sc, hit, nhit);
            }
        }
    }
}

static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void test_against_reference(void **state)
{
    (void)state;
    static const double zs[] = {-3.5, -3, -2.5, -2.1, -2,  -1.5, -1, -0.5, 0,
                                0.5,  1,  1.5,  2,    2.1, 2.5,  3,  3.5};
    static struct seq s;
    qc_westgard_violations got = QC_WESTGARD_VIOLATIONS_INIT, want;
    buf a = BUF_INIT, b = BUF_INIT;
    want.cap = SEQ_MAX * QC_WESTGARD__COUNT * 3;
    want.v = calloc(want.cap, sizeof(*want.v));
    assert_non_null(want.v);
    size_t total = 0;
    for (int round = 0; round < 400; round++) {
        s.n = 0;
        int levels = 1 + (int)(rnd() % 4);
        size_t n = 1 + rnd() % 120;
        int64_t run = 1;
        /* Mostly one point of each level a run, in level order; sometimes a
         * level missing, repeated, or out of its usual place; the sides are
         * biased per round so that long runs on one side happen. */
        int bias = (int)(rnd() % 3);
        while (s.n < n) {
            for (int l = 1; l <= levels && s.n < n; l++) {
                uint64_t r = rnd() % 20;
                if (r == 0)
                    continue;
                int64_t level = r == 1 ? 1 + (int64_t)(rnd() % (uint64_t)levels) : l;
                double z = zs[rnd() % (sizeof zs / sizeof zs[0])];
                if (bias == 1)
                    z = fabs(z);
                else if (bias == 2 && rnd() % 4)
                    z = -fabs(z);
                add(&s, run, level, z);
                if (rnd() % 7 == 0)
                    s.p[s.n - 1].time = s.p[s.n > 1 ? s.n - 2 : 0].time;
            }
            run += rnd() % 13 == 0 ? 0 : 1;
        }
        uint32_t rules =
            rnd() % 5 == 0 ? (uint32_t)(rnd() & QC_WESTGARD_ALL_RULES) : QC_WESTGARD_ALL_RULES;
        assert_int_equal(qc_westgard_eval(s.p, s.n, rules, &got, NULL), ERR_OK);
        reference(&s, rules, &want);
        render(&got, &a);
        render(&want, &b);
        if (strcmp(a.data, b.data))
            fail_msg("round %d (%zu points): engine\n%s\nreference\n%s", round, s.n, a.data,
                     b.data);
        total += got.n;
    }
    /* The random sequences did exercise the rules. */
    assert_true(total > 1000);
    qc_westgard_violations_free(&got);
    free(want.v);
    buf_free(&a);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_parse),
        cmocka_unit_test(test_rules_parse_errors),
        cmocka_unit_test(test_1_2s_warning_only),
        cmocka_unit_test(test_1_2s_decimal_limits),
        cmocka_unit_test(test_1_3s),
        cmocka_unit_test(test_2_2s_within_run),
        cmocka_unit_test(test_2_2s_across_runs),
        cmocka_unit_test(test_r_4s_within_run),
        cmocka_unit_test(test_r_4s_never_across_runs),
        cmocka_unit_test(test_4_1s_across_runs),
        cmocka_unit_test(test_4_1s_across_levels),
        cmocka_unit_test(test_2of3_2s_within_run),
        cmocka_unit_test(test_2of3_2s_across_runs),
        cmocka_unit_test(test_3_1s),
        cmocka_unit_test(test_nx_across_runs),
        cmocka_unit_test(test_nx_across_levels),
        cmocka_unit_test(test_text_and_integer_keys),
        cmocka_unit_test(test_equal_times_and_repeats),
        cmocka_unit_test(test_order_of_violations),
        cmocka_unit_test(test_bad_points),
        cmocka_unit_test(test_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
