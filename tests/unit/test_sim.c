/*
 * test_sim.c - unit tests of src/link/sim: the built-in value table held to
 * the embedded demo catalog (every test, name, kind, specimen type, unit,
 * decimals, ranges, critical limits, coded values), the draws (decimals,
 * flags, never critical unless asked, always critical when asked, the same
 * seed giving the same values), the range texts, the option checks, and the
 * summary as JSON. The link itself is tested end to end in
 * tests/system/test_sim.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "lab/catalog.h"
#include "link/sim.h"

static json_t *load_catalog(void)
{
    json_error_t je;
    json_t *doc = json_loadb(catalog_demo_json, catalog_demo_json_len, 0, &je);
    assert_non_null(doc);
    return doc;
}

/* A catalog limit, or NAN when the object lacks it. */
static double limit(const json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return v ? json_number_value(v) : NAN;
}

static void assert_same(double table, double catalog, const char *code, const char *what)
{
    if (isnan(table) && isnan(catalog))
        return;
    if (isnan(table) || isnan(catalog) || fabs(table - catalog) > 1e-9)
        fail_msg("%s: %s is %g in the table, %g in the catalog", code, what, table, catalog);
}

/* The range of one sex ("female", "male") in a catalog test. */
static void range_of(const json_t *t, const char *sex, double *low, double *high)
{
    size_t i;
    json_t *r;
    *low = *high = NAN;
    json_array_foreach(json_object_get(t, "ranges"), i, r)
    {
        const char *s = json_string_value(json_object_get(r, "sex"));
        if (!strcmp(s, "any") || !strcmp(s, sex)) {
            *low = limit(r, "low");
            *high = limit(r, "high");
            return;
        }
    }
}

static void test_table_matches_catalog(void **state)
{
    (void)state;
    json_t *doc = load_catalog(), *t;
    json_t *tests = json_object_get(doc, "tests");
    size_t i;
    assert_int_equal(json_array_size(tests), sim_test_count());
    json_array_foreach(tests, i, t)
    {
        const char *code = json_string_value(json_object_get(t, "code"));
        const char *kind = json_string_value(json_object_get(t, "kind"));
        const sim_test *s = sim_test_find(code);
        if (!s)
            fail_msg("%s: not in the simulator's table", code);
        assert_ptr_equal(s, sim_test_at(i)); /* the same order, for people reading both */
        assert_string_equal(s->name, json_string_value(json_object_get(t, "name")));
        assert_string_equal(s->specimen_type,
                            json_string_value(json_object_get(t, "specimen_type")));
        assert_int_equal(s->kind, !strcmp(kind, "numeric") ? SIM_NUMERIC
                                  : !strcmp(kind, "coded") ? SIM_CODED
                                                           : SIM_TEXT);
        if (s->kind == SIM_NUMERIC) {
            assert_non_null(s->unit);
            assert_string_equal(s->unit, json_string_value(json_object_get(t, "unit")));
            assert_int_equal(s->decimals, json_integer_value(json_object_get(t, "decimals")));
            double lo, hi;
            range_of(t, "female", &lo, &hi);
            assert_same(s->female.low, lo, code, "female low");
            assert_same(s->female.high, hi, code, "female high");
            range_of(t, "male", &lo, &hi);
            assert_same(s->male.low, lo, code, "male low");
            assert_same(s->male.high, hi, code, "male high");
            json_t *crit = json_object_get(t, "critical");
            assert_same(s->critical.low, limit(crit, "low"), code, "critical low");
            assert_same(s->critical.high, limit(crit, "high"), code, "critical high");
            /* the means lie inside their ranges, and three SDs stay clear of
             * the critical limits */
            const sim_dist *d[2] = {&s->dist_female, &s->dist_male};
            const sim_range *r[2] = {&s->female, &s->male};
            for (int k = 0; k < 2; k++) {
                if (!(d[k]->sd > 0) || (!isnan(r[k]->low) && d[k]->mean <= r[k]->low) ||
                    (!isnan(r[k]->high) && d[k]->mean >= r[k]->high))
                    fail_msg("%s: mean %g (SD %g) outside its range", code, d[k]->mean, d[k]->sd);
                if ((!isnan(s->critical.low) && d[k]->mean - 3 * d[k]->sd <= s->critical.low) ||
                    (!isnan(s->critical.high) && d[k]->mean + 3 * d[k]->sd >= s->critical.high))
                    fail_msg("%s: mean %g +/- 3 SD reaches a critical limit", code, d[k]->mean);
            }
        } else {
            assert_null(s->unit);
            assert_non_null(s->values);
            json_t *r0 = json_array_get(json_object_get(t, "ranges"), 0);
            assert_string_equal(s->values[0],
                                json_string_value(json_object_get(r0, "normal_text")));
            json_t *coded = json_object_get(t, "coded_values");
            if (s->kind == SIM_CODED) {
                size_t n = 0;
                while (s->values[n])
                    n++;
                assert_int_equal(n, json_array_size(coded));
                for (size_t k = 0; k < n; k++)
                    assert_string_equal(s->values[k], json_string_value(json_array_get(coded, k)));
            }
        }
    }
    assert_null(sim_test_find("NOPE"));
    assert_null(sim_test_find("wbc")); /* codes are exact */
    assert_null(sim_test_at(sim_test_count()));
    json_decref(doc);
}

/* Digits after the point in text. */
static int decimals_of(const char *text)
{
    const char *dot = strchr(text, '.');
    return dot ? (int)strlen(dot + 1) : 0;
}

static void test_draws(void **state)
{
    (void)state;
    static const char sexes[] = {'F', 'M', 'U'};
    sim_rng r;
    sim_rng_seed(&r, 42);
    for (size_t i = 0; i < sim_test_count(); i++) {
        const sim_test *t = sim_test_at(i);
        bool has_critical = !isnan(t->critical.low) || !isnan(t->critical.high);
        size_t normal = 0, draws = 0;
        for (int n = 0; n < 3000; n++) {
            char sex = sexes[n % 3];
            bool crit = n % 5 == 4;
            sim_value v;
            sim_value_make(t, sex, crit, &r, &v);
            draws++;
            if (t->kind != SIM_NUMERIC) {
                bool known = false;
                for (size_t k = 0; t->values[k]; k++)
                    known |= !strcmp(v.text, t->values[k]);
                assert_true(known);
                assert_string_equal(v.flag, strcmp(v.text, t->values[0]) ? "A" : "N");
                assert_false(v.critical);
                normal += !strcmp(v.flag, "N");
                continue;
            }
            assert_int_equal(decimals_of(v.text), t->decimals);
            double x = strtod(v.text, NULL);
            assert_true(x > 0);
            bool beyond = (!isnan(t->critical.low) && x < t->critical.low) ||
                          (!isnan(t->critical.high) && x > t->critical.high);
            if (crit && has_critical) {
                if (!beyond || !v.critical)
                    fail_msg("%s: asked critical, got %s %s", t->code, v.text, v.flag);
                assert_true(!strcmp(v.flag, "HH") || !strcmp(v.flag, "LL"));
                continue;
            }
            if (beyond || v.critical || (!isnan(t->critical.low) && x <= t->critical.low) ||
                (!isnan(t->critical.high) && x >= t->critical.high))
                fail_msg("%s: a normal draw %s reached a critical limit", t->code, v.text);
            normal += !strcmp(v.flag, "N");
        }
        /* most draws are normal: the distributions sit inside the ranges */
        size_t plain = t->kind == SIM_NUMERIC && has_critical ? draws - draws / 5 : draws;
        if (normal * 10 < plain * 7)
            fail_msg("%s: only %zu of %zu draws normal", t->code, normal, plain);
    }
}

static void test_same_seed_same_values(void **state)
{
    (void)state;
    sim_rng a, b, c;
    sim_rng_seed(&a, 7);
    sim_rng_seed(&b, 7);
    sim_rng_seed(&c, 8);
    bool differs = false;
    for (int n = 0; n < 200; n++) {
        const sim_test *t = sim_test_at((size_t)n % sim_test_count());
        sim_value va, vb, vc;
        sim_value_make(t, 'F', n % 7 == 0, &a, &va);
        sim_value_make(t, 'F', n % 7 == 0, &b, &vb);
        sim_value_make(t, 'F', n % 7 == 0, &c, &vc);
        assert_string_equal(va.text, vb.text);
        assert_string_equal(va.flag, vb.flag);
        differs |= strcmp(va.text, vc.text) != 0;
    }
    assert_true(differs);
}

static void test_range_text(void **state)
{
    (void)state;
    char out[48];
    sim_range_text(sim_test_find("WBC"), 'F', false, out, sizeof out);
    assert_string_equal(out, "4-11");
    sim_range_text(sim_test_find("WBC"), 'F', true, out, sizeof out);
    assert_string_equal(out, "4 to 11");
    sim_range_text(sim_test_find("HGB"), 'M', true, out, sizeof out);
    assert_string_equal(out, "13.5 to 17.5");
    sim_range_text(sim_test_find("HGB"), 'U', false, out, sizeof out); /* both sexes */
    assert_string_equal(out, "12-17.5");
    sim_range_text(sim_test_find("USG"), 'F', false, out, sizeof out);
    assert_string_equal(out, "1.005-1.03");
    sim_range_text(sim_test_find("CHOL"), 'F', false, out, sizeof out);
    assert_string_equal(out, "<199");
    sim_range_text(sim_test_find("HDL"), 'M', true, out, sizeof out);
    assert_string_equal(out, ">40");
    sim_range_text(sim_test_find("HDL"), 'U', true, out, sizeof out);
    assert_string_equal(out, ">40");
    sim_range_text(sim_test_find("UPRO"), 'F', true, out, sizeof out);
    assert_string_equal(out, "negative");
    sim_range_text(sim_test_find("HGB"), 'M', true, out, 5);
    assert_string_equal(out, "13.5");
}

static void test_check(void **state)
{
    (void)state;
    static const char *const one[] = {"S-1"};
    static const char *const bad_tests[] = {"WBC", "XYZ"};
    static const char *const bad_spec[] = {"S\x01"};
    sim_opts o = {.specimens = one, .nspecimens = 1};
    errinfo ei;
    assert_int_equal(sim_check(&o, &ei), ERR_OK);

    sim_opts x = o;
    x.nspecimens = 0;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--specimen");
    x.specimens_file = "accessions.txt";
    assert_int_equal(sim_check(&x, &ei), ERR_OK);

    x = o;
    x.tests = bad_tests;
    x.ntests = 2;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--tests");
    assert_non_null(strstr(ei.message, "XYZ"));

    x = o;
    x.no_query = true;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--no-query");

    x = o;
    x.protocol = SIM_HL7;
    x.bad_checksum_every = 3;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--bad-checksum-every");
    x.protocol = SIM_ASTM;
    assert_int_equal(sim_check(&x, &ei), ERR_OK);

    x = o;
    x.pty = true;
    x.drop_every = 2;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--drop-every");
    x.drop_every = 0;
    x.host = "127.0.0.1";
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--pty");

    x = o;
    x.rate = NAN;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--rate");
    x.rate = 20000;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);

    x = o;
    x.specimens = bad_spec;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--specimen");

    x = o;
    x.sender = "";
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--sender");

    x = o;
    x.protocol = (sim_protocol)7;
    assert_int_equal(sim_check(&x, &ei), ERR_USAGE);
    assert_string_equal(ei.field, "--protocol");

    /* sim_run refuses the same, before touching anything */
    sim_stats st;
    x = o;
    x.no_query = true;
    assert_int_equal(sim_run(&x, &st, NULL, &ei), ERR_USAGE);
    assert_int_equal(st.messages_sent, 0);
}

static void test_stats_json(void **state)
{
    (void)state;
    sim_stats st;
    buf b = BUF_INIT;
    json_error_t je;
    memset(&st, 0, sizeof st);
    st.protocol = SIM_HL7;
    st.messages_sent = 5;
    st.acknowledged = 4;
    st.unanswered = 1;
    st.seed = 99;
    assert_int_equal(sim_stats_json(&st, &b), ERR_OK);
    json_t *doc = json_loads(b.data, 0, &je);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "protocol")), "hl7");
    assert_int_equal(json_integer_value(json_object_get(doc, "messages_sent")), 5);
    assert_int_equal(json_integer_value(json_object_get(doc, "seed")), 99);
    json_t *lat = json_object_get(doc, "ack_latency_ms");
    assert_true(json_is_null(json_object_get(lat, "p50")));
    assert_false(sim_stats_ok(&st));
    json_decref(doc);

    buf_reset(&b);
    st.acknowledged = 5;
    st.unanswered = 0;
    st.latency_samples = 5;
    st.latency_p50_ms = 1.5;
    st.latency_p99_ms = 12.25;
    assert_int_equal(sim_stats_json(&st, &b), ERR_OK);
    doc = json_loads(b.data, 0, &je);
    assert_non_null(doc);
    lat = json_object_get(doc, "ack_latency_ms");
    assert_true(fabs(json_real_value(json_object_get(lat, "p99")) - 12.25) < 1e-9);
    assert_int_equal(json_integer_value(json_object_get(lat, "samples")), 5);
    assert_true(sim_stats_ok(&st));
    json_decref(doc);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_catalog),
        cmocka_unit_test(test_draws),
        cmocka_unit_test(test_same_seed_same_values),
        cmocka_unit_test(test_range_text),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_stats_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
