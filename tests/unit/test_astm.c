/*
 * test_astm.c - unit tests of src/proto/astm: E1394 records read from the
 * analyzer captures in tests/data/astm (decoded with e1381_capture_decode)
 * and checked against their text, delimiters declared in the H record
 * (GeneXpert's "H|@^\", the doubled backslash of the mock files), the
 * accessors, escapes both ways, and the writer's records parsed back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/astm.h"
#include "proto/e1381.h"
#include "testdata.h"

/* ---- helpers ---- */

/* tests/data/astm/<name> (testdata.h says where it is looked for). */
static const char *data_path(const char *name)
{
    static char path[1024];
    const char *p = testdata_path("astm", name, path, sizeof(path));
    if (!p)
        fail_msg("sample %s not found (run from the repository root or set BENCHSIDE_TEST_DATA)",
                 name);
    return p;
}

/* A sample decoded and parsed; everything lives in the arena. */
typedef struct sample {
    arena a;
    char *raw;
    astm_message m;
} sample;

static void load(sample *s, const char *name)
{
    FILE *f = fopen(data_path(name), "rb");
    assert_non_null(f);
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), ERR_OK);
    fclose(f);
    arena_init(&s->a, 0);
    size_t len = b.len;
    s->raw = buf_take(&b);
    assert_non_null(s->raw);
    e1381_capture cap;
    errinfo ei;
    assert_int_equal(e1381_capture_decode(s->raw, len, &s->a, &cap, &ei), ERR_OK);
    assert_int_equal(cap.nmsgs, 1);
    assert_int_equal(cap.msgs[0].kind, E1381_CAPTURE_FRAMED);
    assert_int_equal(cap.msgs[0].bad_checksums, 0);
    err_clear(&ei);
    if (astm_parse_message(cap.msgs[0].text.p, cap.msgs[0].text.n, &s->a, &s->m, &ei))
        fail_msg("%s: %s", name, ei.message);
}

static void unload(sample *s)
{
    arena_free(&s->a);
    free(s->raw);
}

/* Component as a NUL-terminated string (unescaped and trimmed), in the arena. */
static const char *get(arena *a, const astm_record *r, size_t f, size_t rep, size_t comp)
{
    strv v;
    assert_int_equal(astm_get(r, f, rep, comp, a, &v), ERR_OK);
    v = astm_trim(v);
    return arena_strndup(a, v.p, v.n);
}

/* ---- the captures ---- */

static void test_sysmex_xn550(void **state)
{
    (void)state;
    sample s;
    load(&s, "sysmex_xn550.txt");
    const astm_message *m = &s.m;
    assert_int_equal(m->nrecords, 48);
    assert_true(m->has_header);
    assert_false(m->delims_repaired);
    assert_int_equal(m->delims.field, '|');
    assert_int_equal(m->delims.repeat, '\\');
    assert_int_equal(m->delims.component, '^');
    assert_int_equal(m->delims.escape, '&');

    const astm_record *h = &m->records[0];
    assert_true(strv_eq(astm_field(h, 1), "H"));
    assert_true(strv_eq(astm_field(h, 2), "\\^&")); /* the definition, never split */
    assert_int_equal(astm_repeat_count(h, 2), 1);
    assert_true(strv_eq(astm_component(h, 2, 1, 1), "\\^&"));
    assert_true(strv_eq(astm_component(h, 2, 1, 2), ""));
    assert_string_equal(get(&s.a, h, 5, 1, 1), "XN-550");
    assert_string_equal(get(&s.a, h, 5, 1, 7), "BD634545");
    assert_true(strv_eq(astm_field(h, 13), "E1394-97"));

    const astm_record *p = &m->records[1];
    assert_int_equal(p->type, 'P');
    assert_true(strv_eq(astm_field(p, 5), "37182"));
    assert_string_equal(get(&s.a, p, 6, 1, 2), "Jim");
    assert_string_equal(get(&s.a, p, 6, 1, 3), "Brown");
    assert_true(strv_eq(astm_field(p, 8), "19870626"));
    assert_true(strv_eq(astm_field(p, 9), "M"));

    /* The order: O.4 instrument specimen id "^^                    27^M"; O.5
     * one repeat per test, the code in the fifth component. */
    size_t oi = astm_find(m, 'O', 0);
    assert_int_equal(oi, 3);
    const astm_record *o = &m->records[oi];
    assert_true(strv_eq(astm_field(o, 3), ""));
    assert_string_equal(get(&s.a, o, 4, 1, 3), "27");
    assert_true(strv_eq(astm_component(o, 4, 1, 4), "M"));
    assert_int_equal(astm_repeat_count(o, 5), 23);
    assert_true(strv_eq(astm_component(o, 5, 1, 5), "WBC"));
    assert_true(strv_eq(astm_component(o, 5, 2, 5), "RBC"));
    assert_true(strv_eq(astm_component(o, 5, 23, 5), "IG%"));
    assert_true(strv_eq(astm_component(o, 5, 24, 5), ""));

    /* The results: R.3 "^^^^WBC^1", R.4 value, R.5 units, R.7 flag. */
    static const struct {
        const char *code, *value, *units, *flag;
    } want[] = {{"WBC", "8.13", "10*3/uL", "N"}, {"RBC", "2.60", "10*6/uL", "N"},
                {"HGB", "8.0", "g/dL", "N"},     {"HCT", "22.7", "%", "L"},
                {"MCV", "87.3", "fL", "N"},      {"MCH", "30.8", "pg", "N"},
                {"MCHC", "35.2", "g/dL", "N"},   {"PLT", "99", "10*3/uL", "N"}};
    size_t k = 0, nres = 0;
    for (size_t i = astm_find(m, 'R', 0); i < m->nrecords; i = astm_find(m, 'R', i + 1)) {
        const astm_record *r = &m->records[i];
        if (k < sizeof want / sizeof want[0]) {
            assert_true(strv_eq(astm_component(r, 3, 1, 5), want[k].code));
            assert_true(strv_eq(astm_component(r, 3, 1, 6), "1"));
            assert_true(strv_eq(astm_field(r, 4), want[k].value));
            assert_true(strv_eq(astm_field(r, 5), want[k].units));
            assert_true(strv_eq(astm_field(r, 7), want[k].flag));
            assert_true(strv_eq(astm_field(r, 13), "20240627135407"));
            k++;
        }
        nres++;
    }
    assert_int_equal(nres, 41);
    const astm_record *eo = &m->records[astm_find(m, 'R', 0) + 11];
    assert_true(strv_eq(astm_component(eo, 3, 1, 5), "EO%"));
    assert_true(strv_eq(astm_field(eo, 4), "22.1"));
    assert_true(strv_eq(astm_field(eo, 7), "H"));

    /* R.4 of the scattergram records carries escaped repeat delimiters. */
    const astm_record *img = &m->records[astm_find(m, 'R', 0) + 37];
    assert_true(strv_eq(astm_component(img, 3, 1, 5), "SCAT_WDF"));
    assert_true(strv_eq(astm_field(img, 4), "PNG&R&20240628&R&2024_06_27_13_54_27_WDF.PNG"));
    assert_int_equal(astm_repeat_count(img, 4), 1); /* escaped: not a repeat */
    assert_string_equal(get(&s.a, img, 4, 0, 0), "PNG\\20240628\\2024_06_27_13_54_27_WDF.PNG");

    assert_int_equal(m->records[m->nrecords - 1].type, 'L');
    assert_true(strv_eq(astm_field(&m->records[m->nrecords - 1], 3), "N"));
    unload(&s);
}

static void test_sysmex_xp100(void **state)
{
    (void)state;
    sample s;
    load(&s, "sysmex_xp100.txt");
    const astm_record *o = &s.m.records[astm_find(&s.m, 'O', 0)];
    assert_string_equal(get(&s.a, o, 4, 1, 3), "113");
    const astm_record *r = &s.m.records[astm_find(&s.m, 'R', 0)];
    assert_true(strv_eq(astm_component(r, 3, 1, 5), "WBC"));
    assert_true(strv_eq(astm_field(r, 4), "  5.5")); /* raw: padded */
    assert_string_equal(get(&s.a, r, 4, 0, 0), "5.5");
    unload(&s);
}

static void test_cobas_c311(void **state)
{
    (void)state;
    sample s;
    load(&s, "cobas_c311.txt");
    const astm_message *m = &s.m;
    assert_int_equal(m->nrecords, 18);
    const astm_record *o = &m->records[2];
    assert_int_equal(o->type, 'O');
    assert_string_equal(get(&s.a, o, 3, 1, 1), "11625");
    assert_string_equal(get(&s.a, o, 3, 1, 2), "CL-PL-24-0370");
    assert_true(strv_eq(astm_field(o, 4), "R1"));
    assert_int_equal(astm_repeat_count(o, 5), 7);
    assert_true(strv_eq(astm_component(o, 5, 7, 4), "690/"));
    assert_true(strv_eq(astm_field(o, 6), "R"));

    /* Each R: application code (R.3 component 4, "685/" is test 685 at the
     * default dilution), value, units, flag; each followed by its C. */
    static const struct {
        const char *app, *value, *units, *flag, *comment;
    } want[] = {{"685", "22.4", "U/l", "A", "43"},  {"687", "15.0", "U/l", "N", "0"},
                {"712", "4.1", "umol/l", "L", "0"}, {"158", "301", "U/l", "N", "0"},
                {"735", "1.6", "umol/l", "N", "0"}, {"717", "5.85", "mmol/l", "N", "0"},
                {"690", "34", "umol/l", "A", "43"}};
    size_t k = 0;
    for (size_t i = astm_find(m, 'R', 0); i < m->nrecords; i = astm_find(m, 'R', i + 1), k++) {
        const astm_record *r = &m->records[i];
        assert_true(k < 7);
        strv code = astm_component(r, 3, 1, 4);
        assert_int_equal(code.n, 4);
        assert_int_equal(code.p[3], '/');
        assert_true(strv_eq(astm_part(code, '/', 1), want[k].app));
        /* the order asked for the same test in the same position */
        strv asked = astm_component(o, 5, k + 1, 4);
        assert_int_equal(asked.n, code.n);
        assert_memory_equal(asked.p, code.p, code.n);
        assert_true(strv_eq(astm_field(r, 4), want[k].value));
        assert_true(strv_eq(astm_field(r, 5), want[k].units));
        assert_true(strv_eq(astm_field(r, 7), want[k].flag));
        assert_true(strv_eq(astm_field(r, 9), "F"));
        assert_true(strv_eq(astm_field(r, 14), "P1"));
        const astm_record *c = &m->records[i + 1];
        assert_int_equal(c->type, 'C');
        assert_true(strv_eq(astm_field(c, 4), want[k].comment));
    }
    assert_int_equal(k, 7);
    unload(&s);
}

static void test_genexpert_delimiters(void **state)
{
    (void)state;
    sample s;
    load(&s, "genexpert.txt");
    const astm_message *m = &s.m;
    /* H|@^\| : repeat '@', component '^', escape '\' */
    assert_int_equal(m->delims.field, '|');
    assert_int_equal(m->delims.repeat, '@');
    assert_int_equal(m->delims.component, '^');
    assert_int_equal(m->delims.escape, '\\');
    assert_false(m->delims_repaired);
    for (size_t i = 0; i < m->nrecords; i++)
        assert_int_equal(m->records[i].delims.repeat, '@');
    const astm_record *h = &m->records[0];
    assert_true(strv_eq(astm_field(h, 2), "@^\\"));
    assert_true(strv_eq(astm_field(h, 3), "URM-8lT4abZA-06"));
    assert_string_equal(get(&s.a, h, 5, 1, 2), "GeneXpert");
    assert_string_equal(get(&s.a, h, 5, 1, 3), "4.8");
    assert_true(strv_eq(astm_field(h, 13), "1394-97"));

    const astm_record *o = &m->records[astm_find(m, 'O', 0)];
    assert_true(strv_eq(astm_field(o, 3), "PR25A137"));
    assert_true(strv_eq(astm_component(o, 5, 1, 4), "MTB-RIF"));

    assert_int_equal(m->nrecords, 91);
    size_t nr = 0;
    for (size_t i = astm_find(m, 'R', 0); i < m->nrecords; i = astm_find(m, 'R', i + 1))
        nr++;
    assert_int_equal(nr, 84);
    const astm_record *r1 = &m->records[astm_find(m, 'R', 0)];
    assert_true(strv_eq(astm_component(r1, 3, 1, 2), "MTB-RIF"));
    assert_true(strv_eq(astm_component(r1, 3, 1, 4), "Xpert"));
    assert_true(strv_eq(astm_component(r1, 3, 1, 5), "Xpert MTB-RIF Ultra"));
    assert_true(strv_eq(astm_component(r1, 3, 1, 7), "MTB"));
    assert_true(strv_eq(astm_component(r1, 4, 1, 1), "NOT DETECTED"));
    assert_true(strv_eq(astm_field(r1, 11), "John Doe"));
    assert_true(strv_eq(astm_component(r1, 14, 1, 1), "Cepheid-44413S0"));
    const astm_record *c = &m->records[astm_find(m, 'C', 0)];
    assert_string_equal(get(&s.a, c, 4, 1, 3), "Id# 118176 Sardani P Lantion CDU/Dr. A Marcil cp");
    const astm_record *ct = &m->records[astm_find(m, 'R', 0) + 3]; /* R|3 */
    assert_true(strv_eq(astm_component(ct, 3, 1, 7), "rpoB1"));
    assert_true(strv_eq(astm_component(ct, 3, 1, 8), "Ct"));
    assert_true(strv_eq(astm_component(ct, 4, 1, 2), "0.0"));
    unload(&s);
}

static void test_other_captures(void **state)
{
    (void)state;
    sample s;
    /* cobas c111: M record with a repeat field of 18 readings */
    load(&s, "cobas_c111.txt");
    const astm_record *r = &s.m.records[astm_find(&s.m, 'R', 0)];
    assert_true(strv_eq(astm_component(r, 3, 1, 4), "413"));
    assert_true(strv_eq(astm_field(r, 4), "40.13"));
    assert_true(strv_eq(astm_field(r, 5), "g/L"));
    const astm_record *mr = &s.m.records[astm_find(&s.m, 'M', 0)];
    assert_string_equal(astm_type_name(mr->type), "manufacturer");
    assert_int_equal(astm_repeat_count(mr, 5), 18);
    assert_true(strv_eq(astm_repeat(mr, 5, 17), "140"));
    assert_true(strv_eq(astm_field(mr, 6), "0.018514"));
    unload(&s);

    /* Horiba Pentra XLR: LOINC in component 5, comments with many components */
    load(&s, "pentra_xlr.txt");
    assert_int_equal(s.m.nrecords, 28);
    r = &s.m.records[astm_find(&s.m, 'R', 0)];
    assert_true(strv_eq(astm_component(r, 3, 1, 4), "WBC"));
    assert_true(strv_eq(astm_component(r, 3, 1, 5), "804-5"));
    assert_true(strv_eq(astm_field(r, 4), "8.5"));
    const astm_record *c = &s.m.records[astm_find(&s.m, 'C', 0)];
    assert_true(strv_eq(astm_component(c, 4, 1, 1), "Alarm_WBC"));
    assert_true(strv_eq(astm_component(c, 4, 1, 8), "SL1"));
    const astm_record *p = &s.m.records[1];
    assert_true(strv_eq(astm_component(p, 6, 1, 1), "Mohale"));
    assert_true(strv_eq(astm_component(p, 6, 1, 2), "Rita"));
    unload(&s);

    /* Siemens DCA Vantage and Abbott Afinion 2 */
    load(&s, "dca_vantage.txt");
    r = &s.m.records[astm_find(&s.m, 'R', 0)];
    assert_true(strv_eq(astm_component(r, 3, 1, 4), "Alb"));
    assert_true(strv_eq(astm_field(r, 4), "63.7"));
    assert_true(strv_eq(astm_field(r, 5), "mg/L"));
    unload(&s);
    load(&s, "abbott_afinion2.txt");
    r = &s.m.records[astm_find(&s.m, 'R', 0)];
    assert_true(strv_eq(astm_component(r, 3, 1, 4), "HbA1c"));
    assert_true(strv_eq(astm_field(r, 4), "5.9"));
    assert_true(strv_eq(astm_field(r, 5), "%"));
    unload(&s);

    /* Horiba Yumizen H500: M records of 26 KB, R with reference ranges */
    load(&s, "yumizen_h500.txt");
    assert_int_equal(s.m.nrecords, 31);
    const astm_record *mm = &s.m.records[astm_find(&s.m, 'M', 0)];
    assert_true(strv_eq(astm_field(mm, 3), "HISTOGRAM"));
    r = &s.m.records[astm_find(&s.m, 'R', 0)];
    assert_true(strv_eq(astm_component(r, 3, 1, 4), "MCV"));
    assert_true(strv_eq(astm_component(r, 6, 1, 1), "84.0 - 94.0"));
    unload(&s);

    /* The hand-made mocks: H|\\^& read with the repair rule */
    load(&s, "spotchem_el_mock.txt");
    assert_true(s.m.delims_repaired);
    assert_int_equal(s.m.delims.repeat, '\\');
    assert_int_equal(s.m.delims.component, '^');
    assert_int_equal(s.m.delims.escape, '&');
    assert_string_equal(get(&s.a, &s.m.records[0], 5, 1, 2), "Spotchem");
    r = &s.m.records[astm_find(&s.m, 'R', 0)];
    assert_true(strv_eq(astm_field(r, 3), "Na"));
    assert_true(strv_eq(astm_field(r, 4), "131.0"));
    assert_true(strv_eq(astm_field(r, 5), "mmol/L"));
    unload(&s);
    load(&s, "mini_vidas_mock.txt");
    assert_true(s.m.delims_repaired);
    r = &s.m.records[astm_find(&s.m, 'R', 0)];
    assert_true(strv_eq(astm_field(r, 3), "HBCT"));
    assert_true(strv_eq(astm_field(r, 9), "Positif"));
    unload(&s);
}

/* ---- delimiters, parsing, accessors ---- */

static void test_parse_delims(void **state)
{
    (void)state;
    astm_delims d;
    bool rep;
    errinfo ei;
    assert_int_equal(astm_parse_delims(STRV("H|\\^&|||x"), &d, &rep, &ei), ERR_OK);
    assert_int_equal(d.repeat, '\\');
    assert_false(rep);
    assert_int_equal(astm_parse_delims(STRV("H|\\^&"), &d, &rep, &ei), ERR_OK);
    assert_int_equal(astm_parse_delims(STRV("H!~$%!x"), &d, &rep, &ei), ERR_OK);
    assert_int_equal(d.field, '!');
    assert_int_equal(d.repeat, '~');
    assert_int_equal(d.component, '$');
    assert_int_equal(d.escape, '%');
    assert_int_equal(astm_parse_delims(STRV("H|\\\\^&|"), &d, &rep, &ei), ERR_OK);
    assert_true(rep);
    assert_int_equal(d.repeat, '\\');
    assert_int_equal(astm_parse_delims(STRV("H"), &d, &rep, &ei), ERR_OK);
    assert_int_equal(d.field, '|');
    assert_int_equal(astm_parse_delims(STRV("H|"), &d, &rep, &ei), ERR_OK);
    assert_int_equal(d.escape, '&');
    assert_int_equal(astm_parse_delims(STRV("H^"), &d, &rep, &ei), ERR_INVALID);
    assert_int_equal(astm_parse_delims(STRV("H|^^^|"), &d, &rep, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "H.2");
    assert_int_equal(astm_parse_delims(STRV("H|ab&|"), &d, &rep, &ei), ERR_INVALID);
    assert_int_equal(astm_parse_delims(STRV("H|\\^|"), &d, &rep, &ei), ERR_INVALID);
    assert_int_equal(astm_parse_delims(STRV("H|\\^&~|"), &d, &rep, &ei), ERR_INVALID);
    assert_int_equal(astm_parse_delims(STRV("H a"), &d, &rep, &ei), ERR_INVALID);
    assert_int_equal(astm_parse_delims(STRV("P|1"), &d, NULL, &ei), ERR_INVALID);
}

static void test_parse_message(void **state)
{
    (void)state;
    arena a;
    arena_init(&a, 0);
    astm_message m;
    errinfo ei;
    /* LF and CR LF too; blank lines; records before any H use | \ ^ & */
    const char t1[] = "R|1|^^^GLU|5.5\r\n\nC|1|||\n";
    assert_int_equal(astm_parse_message(t1, sizeof t1 - 1, &a, &m, &ei), ERR_OK);
    assert_int_equal(m.nrecords, 2);
    assert_false(m.has_header);
    assert_int_equal(m.records[1].nfields, 5);
    assert_true(strv_eq(astm_field(&m.records[1], 5), ""));
    assert_true(strv_eq(astm_field(&m.records[1], 6), "")); /* absent */
    assert_true(strv_eq(astm_field(&m.records[1], 0), ""));
    assert_int_equal(m.records[1].index, 1);
    assert_string_equal(astm_type_name(m.records[0].type), "result");
    assert_string_equal(astm_type_name('Z'), "unknown");
    assert_null(astm_record_at(&m, 2));
    assert_ptr_equal(astm_record_at(&m, 1), &m.records[1]);
    assert_int_equal(astm_find(&m, 'Q', 0), 2);

    /* a second H changes the delimiters of what follows it */
    const char t2[] = "H|\\^&\rR|1|a^b\\c^d\rL|1\rH!@#$\rR!1!a#b@c#d\rL!1";
    assert_int_equal(astm_parse_message(t2, sizeof t2 - 1, &a, &m, &ei), ERR_OK);
    assert_int_equal(m.nrecords, 6);
    assert_true(strv_eq(astm_component(&m.records[1], 3, 2, 2), "d"));
    assert_true(strv_eq(astm_component(&m.records[4], 3, 2, 2), "d"));
    assert_int_equal(m.records[4].delims.field, '!');
    assert_true(strv_eq(astm_field(&m.records[3], 2), "@#$"));
    /* a record type that is not H+delimiter is an ordinary record */
    const char t3[] = "H|\\^&\rHX|1\r";
    assert_int_equal(astm_parse_message(t3, sizeof t3 - 1, &a, &m, &ei), ERR_OK);
    assert_int_equal(m.records[1].type, 'H');
    assert_true(strv_eq(astm_field(&m.records[1], 1), "HX"));

    /* errors */
    assert_int_equal(astm_parse_message("\r\n\r", 3, &a, &m, &ei), ERR_INVALID);
    assert_string_equal(ei.message, "empty message");
    assert_int_equal(astm_parse_message(NULL, 0, &a, &m, &ei), ERR_INVALID);
    const char t4[] = "H|\\^&\rP|1\rH|^^^|\r";
    assert_int_equal(astm_parse_message(t4, sizeof t4 - 1, &a, &m, &ei), ERR_INVALID);
    assert_int_equal(ei.line, 3);
    assert_string_equal(ei.field, "H.2");
    assert_int_equal(m.nrecords, 0);
    assert_int_equal(astm_parse_message("x", ASTM_MESSAGE_MAX + 1, &a, &m, &ei), ERR_TOO_LARGE);
    arena_free(&a);
}

static void test_accessors(void **state)
{
    (void)state;
    arena a;
    arena_init(&a, 0);
    astm_message m;
    const char t[] = "O|1|S1^^X||^^^GLU^1\\^^^NA\\\\^^^K|R";
    assert_int_equal(astm_parse_message(t, sizeof t - 1, &a, &m, NULL), ERR_OK);
    const astm_record *o = &m.records[0];
    assert_int_equal(astm_repeat_count(o, 5), 4);
    assert_true(strv_eq(astm_repeat(o, 5, 3), ""));
    assert_true(strv_eq(astm_component(o, 5, 4, 4), "K"));
    assert_true(strv_eq(astm_component(o, 5, 0, 5), "1")); /* rep 0 = first */
    assert_true(strv_eq(astm_component(o, 3, 1, 3), "X"));
    assert_true(strv_eq(astm_component(o, 3, 1, 4), ""));
    assert_int_equal(astm_repeat_count(o, 4), 0);
    assert_int_equal(astm_count(STRV(""), '^'), 0);
    assert_int_equal(astm_count(STRV("a^^"), '^'), 3);
    assert_true(strv_eq(astm_part(STRV("a^^b"), '^', 2), ""));
    assert_true(strv_eq(astm_part(STRV("a^^b"), '^', 3), "b"));
    assert_true(strv_eq(astm_part(STRV("a^^b"), '^', 4), ""));
    assert_true(strv_eq(astm_part(STRV("a^^b"), '^', 0), ""));
    assert_true(strv_eq(astm_trim(STRV("   ")), ""));
    assert_true(strv_eq(astm_trim(STRV(" 5.5  ")), "5.5"));
    strv v;
    assert_int_equal(astm_get(o, 5, 4, 0, &a, &v), ERR_OK);
    assert_true(strv_eq(v, "^^^K"));
    assert_ptr_equal(v.p, o->fields[4].p + o->fields[4].n - 4); /* no copy */
    arena_free(&a);
}

/* ---- escapes ---- */

static void roundtrip(const astm_delims *d, const char *s, size_t n)
{
    buf e = BUF_INIT, u = BUF_INIT;
    assert_int_equal(astm_escape((strv){s, n}, d, &e), ERR_OK);
    for (size_t i = 0; i < e.len; i++) {
        assert_true(e.data[i] != d->field && e.data[i] != d->repeat && e.data[i] != d->component &&
                    e.data[i] != '\r' && e.data[i] != '\n');
        assert_true((unsigned char)e.data[i] >= 0x20 && e.data[i] != 0x7F);
    }
    assert_int_equal(astm_unescape((strv){e.data ? e.data : "", e.len}, d, &u), ERR_OK);
    assert_int_equal(u.len, n);
    if (n)
        assert_memory_equal(u.data, s, n);
    buf_free(&e);
    buf_free(&u);
}

static void test_escapes(void **state)
{
    (void)state;
    const astm_delims *std = &astm_standard_delims;
    const astm_delims gx = {'|', '@', '^', '\\'};
    buf b = BUF_INIT;
    assert_int_equal(astm_escape(STRV("a|b\\c^d&e\r"), std, &b), ERR_OK);
    assert_string_equal(b.data, "a&F&b&R&c&S&d&E&e&X0D&");
    buf_reset(&b);
    assert_int_equal(astm_escape(STRV("a|b@c^d\\e"), &gx, &b), ERR_OK);
    assert_string_equal(b.data, "a\\F\\b\\R\\c\\S\\d\\E\\e");
    buf_reset(&b);
    /* decoding: the four, hex, the unknown and the malformed kept */
    assert_int_equal(astm_unescape(STRV("&F&&S&&R&&E&&X0D0A&&Zlocal&&Q&&X0&&XZZ&&&a&"), std, &b),
                     ERR_OK);
    assert_int_equal(b.len, strlen("|^\\&\r\n&Zlocal&&Q&&X0&&XZZ&&&a&"));
    assert_memory_equal(b.data, "|^\\&\r\n&Zlocal&&Q&&X0&&XZZ&&&a&", b.len);
    buf_reset(&b);
    assert_int_equal(astm_unescape(STRV("5 & 6 &F"), std, &b), ERR_OK);
    assert_string_equal(b.data, "5 & 6 &F");
    buf_reset(&b);
    assert_int_equal(astm_unescape(STRV("&X4142&"), std, &b), ERR_OK);
    assert_string_equal(b.data, "AB");
    buf_free(&b);

    const char *cases[] = {"",
                           "plain",
                           "|",
                           "\\",
                           "^",
                           "&",
                           "&F&",
                           "&X41&",
                           "a&b&c",
                           "\r\n\t\x01\x7f",
                           "caf\xc3\xa9 \xe2\x82\xac",
                           "&&&&",
                           "|\\^&|\\^&"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        roundtrip(std, cases[i], strlen(cases[i]));
        roundtrip(&gx, cases[i], strlen(cases[i]));
    }
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    roundtrip(std, all, sizeof all);
    roundtrip(&gx, all, sizeof all);
}

/* ---- the writer ---- */

static void test_writer_records(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    astm_writer w;
    astm_writer_init(&w, &b, NULL);
    astm_write_header(&w, &(astm_header_spec){.sender = STRV("benchside"),
                                              .receiver = STRV("XN-550"),
                                              .timestamp = STRV("20250101120000")});
    astm_write_patient(&w, &(astm_patient_spec){.practice_id = STRV("PAT-1"),
                                                .last_name = STRV("O'Brien|Smith"),
                                                .first_name = STRV("Ann^Marie"),
                                                .birth_date = STRV("19800101"),
                                                .sex = STRV("F")});
    strv tests[] = {STRV("WBC"), STRV(""), STRV("HGB"), STRV("A\\B")};
    astm_write_order(&w, &(astm_order_spec){.specimen_id = STRV("S-0001"),
                                            .tests = tests,
                                            .ntests = 4,
                                            .priority = STRV("R"),
                                            .action = STRV("N"),
                                            .report_type = STRV("O")});
    astm_write_order(&w, &(astm_order_spec){.specimen_id = STRV("S-0002&3")});
    astm_write_patient(&w, &(astm_patient_spec){.first_name = STRV("Bo")});
    astm_write_order(&w, &(astm_order_spec){.specimen_id = STRV("S-0004")});
    astm_write_query(&w, &(astm_query_spec){.specimen_id = STRV("S-0001")});
    astm_write_terminator(&w, 'N');
    assert_int_equal(astm_writer_error(&w), ERR_OK);
    const char want[] = "H|\\^&|||benchside|||||XN-550||P|LIS2-A2|20250101120000\r"
                        "P|1|PAT-1|||O'Brien&F&Smith^Ann&S&Marie||19800101|F\r"
                        "O|1|S-0001||^^^WBC\\^^^HGB\\^^^A&R&B|R||||||N||||||||||||||O\r"
                        "O|2|S-0002&E&3\r"
                        "P|2||||^Bo\r"
                        "O|1|S-0004\r"
                        "Q|1|^S-0001||^^^ALL||||||||O\r"
                        "L|1|N\r";
    assert_string_equal(b.data, want);

    /* and it parses back to the same values */
    arena a;
    arena_init(&a, 0);
    astm_message m;
    assert_int_equal(astm_parse_message(b.data, b.len, &a, &m, NULL), ERR_OK);
    assert_int_equal(m.nrecords, 8);
    assert_true(m.has_header);
    const astm_record *p = &m.records[1];
    strv v;
    assert_int_equal(astm_get(p, 6, 1, 1, &a, &v), ERR_OK);
    assert_true(strv_eq(v, "O'Brien|Smith"));
    assert_int_equal(astm_get(p, 6, 1, 2, &a, &v), ERR_OK);
    assert_true(strv_eq(v, "Ann^Marie"));
    const astm_record *o = &m.records[2];
    assert_int_equal(astm_repeat_count(o, 5), 3);
    assert_int_equal(astm_get(o, 5, 3, 4, &a, &v), ERR_OK);
    assert_true(strv_eq(v, "A\\B"));
    assert_true(strv_eq(astm_field(o, 26), "O"));
    assert_int_equal(astm_get(&m.records[3], 3, 0, 0, &a, &v), ERR_OK);
    assert_true(strv_eq(v, "S-0002&3"));
    assert_true(strv_eq(astm_component(&m.records[6], 3, 1, 2), "S-0001"));
    assert_true(strv_eq(astm_field(&m.records[6], 13), "O"));
    buf_free(&b);
    arena_free(&a);
}

static void test_writer_generic_and_errors(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    astm_writer w;
    /* other delimiters, and every value escaped with them */
    const astm_delims gx = {'|', '@', '^', '\\'};
    astm_writer_init(&w, &b, &gx);
    astm_write_begin(&w, 'H');
    astm_write_text(&w, 5, STRV("a@b"));
    astm_write_begin(&w, 'R'); /* ends the H */
    astm_write_uint(&w, 2, 4294967295u);
    astm_write_component(&w, 3, 2, STRV("MTB"));
    astm_write_component(&w, 3, 4, STRV("Xpert"));
    astm_write_repeat(&w);
    astm_write_component(&w, 3, 2, STRV("x"));
    astm_write_text(&w, 4, STRV("1\r2"));
    astm_write_end(&w);
    assert_int_equal(astm_writer_error(&w), ERR_OK);
    assert_string_equal(b.data, "H|@^\\|||a\\R\\b\rR|4294967295|^MTB^^Xpert@^x|1\\X0D\\2\r");
    arena a;
    arena_init(&a, 0);
    astm_message m;
    assert_int_equal(astm_parse_message(b.data, b.len, &a, &m, NULL), ERR_OK);
    strv v;
    assert_int_equal(astm_get(&m.records[0], 5, 0, 0, &a, &v), ERR_OK);
    assert_true(strv_eq(v, "a@b"));
    assert_int_equal(astm_get(&m.records[1], 4, 0, 0, &a, &v), ERR_OK);
    assert_true(strv_eq(v, "1\r2"));
    assert_true(strv_eq(astm_component(&m.records[1], 3, 2, 2), "x"));
    arena_free(&a);

    /* misuse: going back, writing H.2 or field 1, repeat without value */
    buf_reset(&b);
    astm_writer_init(&w, &b, NULL);
    astm_write_begin(&w, 'R');
    astm_write_text(&w, 3, STRV("x"));
    astm_write_text(&w, 2, STRV("y"));
    assert_int_equal(astm_writer_error(&w), ERR_USAGE);
    astm_write_end(&w); /* no effect once failed */
    assert_int_equal(astm_writer_error(&w), ERR_USAGE);
    astm_writer_init(&w, &b, NULL);
    astm_write_begin(&w, 'H');
    astm_write_text(&w, 2, STRV("x"));
    assert_int_equal(astm_writer_error(&w), ERR_USAGE);
    astm_writer_init(&w, &b, NULL);
    astm_write_begin(&w, 'R');
    astm_write_repeat(&w);
    assert_int_equal(astm_writer_error(&w), ERR_USAGE);
    astm_writer_init(&w, &b, NULL);
    astm_write_begin(&w, 'R');
    astm_write_text(&w, 3, STRV("x"));
    astm_write_text(&w, 3, STRV("y"));
    assert_int_equal(astm_writer_error(&w), ERR_USAGE);
    astm_writer_init(&w, &b, NULL);
    astm_write_text(&w, 3, STRV("x")); /* no record */
    assert_int_equal(astm_writer_error(&w), ERR_USAGE);
    astm_writer_init(&w, &b, NULL);
    astm_write_begin(&w, '|');
    assert_int_equal(astm_writer_error(&w), ERR_USAGE);
    const astm_delims bad = {'|', '|', '^', '&'};
    astm_writer_init(&w, &b, &bad);
    assert_int_equal(astm_writer_error(&w), ERR_INVALID);
    astm_write_begin(&w, 'H');
    assert_int_equal(astm_writer_error(&w), ERR_INVALID);
    buf_free(&b);
}

/* An order written, sent by one link and received by another, parses back. */
static void test_writer_over_e1381(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    astm_writer w;
    astm_writer_init(&w, &b, NULL);
    astm_write_header(&w, &(astm_header_spec){.sender = STRV("benchside")});
    astm_write_patient(&w, &(astm_patient_spec){.lab_id = STRV("P-77")});
    strv many[60];
    char names[60][16];
    for (int i = 0; i < 60; i++) {
        snprintf(names[i], sizeof names[i], "T%02d", i);
        many[i] = (strv){names[i], strlen(names[i])};
    }
    astm_write_order(&w,
                     &(astm_order_spec){.specimen_id = STRV("S-9"), .tests = many, .ntests = 60});
    astm_write_terminator(&w, 'N');
    assert_int_equal(astm_writer_error(&w), ERR_OK);
    assert_true(b.len > 400); /* the O record (430 characters) needs ETB frames */

    e1381 lis, ins;
    e1381_init(&lis, NULL);
    e1381_config icfg = {.role = E1381_INSTRUMENT};
    e1381_init(&ins, &icfg);
    e1381_actions a;
    assert_int_equal(e1381_send(&lis, b.data, b.len, &a), ERR_OK);
    buf got = BUF_INIT;
    int sent = 0;
    for (int step = 0; step < 100 && !sent; step++) {
        buf wire = BUF_INIT;
        for (size_t i = 0; i < a.n; i++)
            if (a.v[i].kind == E1381_WRITE)
                buf_append(&wire, a.v[i].data.p, a.v[i].data.n);
            else if (a.v[i].kind == E1381_SENT)
                sent = 1;
        if (!wire.len) {
            buf_free(&wire);
            break;
        }
        e1381_actions r;
        assert_int_equal(e1381_feed(&ins, wire.data, wire.len, &r), ERR_OK);
        buf back = BUF_INIT;
        for (size_t i = 0; i < r.n; i++)
            if (r.v[i].kind == E1381_WRITE)
                buf_append(&back, r.v[i].data.p, r.v[i].data.n);
            else if (r.v[i].kind == E1381_MESSAGE)
                buf_append(&got, r.v[i].data.p, r.v[i].data.n);
        if (back.len)
            assert_int_equal(e1381_feed(&lis, back.data, back.len, &a), ERR_OK);
        else
            a.n = 0;
        buf_free(&wire);
        buf_free(&back);
    }
    assert_true(sent);
    assert_int_equal(got.len, b.len);
    assert_memory_equal(got.data, b.data, b.len);
    arena ar;
    arena_init(&ar, 0);
    astm_message m;
    assert_int_equal(astm_parse_message(got.data, got.len, &ar, &m, NULL), ERR_OK);
    const astm_record *o = &m.records[astm_find(&m, 'O', 0)];
    assert_int_equal(astm_repeat_count(o, 5), 60);
    assert_true(strv_eq(astm_component(o, 5, 60, 4), "T59"));
    arena_free(&ar);
    buf_free(&got);
    buf_free(&b);
    e1381_free(&lis);
    e1381_free(&ins);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sysmex_xn550),
        cmocka_unit_test(test_sysmex_xp100),
        cmocka_unit_test(test_cobas_c311),
        cmocka_unit_test(test_genexpert_delimiters),
        cmocka_unit_test(test_other_captures),
        cmocka_unit_test(test_parse_delims),
        cmocka_unit_test(test_parse_message),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_writer_records),
        cmocka_unit_test(test_writer_generic_and_errors),
        cmocka_unit_test(test_writer_over_e1381),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
