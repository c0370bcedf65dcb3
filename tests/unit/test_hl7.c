/*
 * test_hl7.c - unit tests of src/proto/hl7: every sample message in
 * tests/data/hl7 parses, with values read against the text of several (NIST
 * ORU^R01 case 1, an ELR hepatitis C report, a Cerner lead report, the wrapped
 * and joined files, the "invalid" bad-phone file); delimiters other than
 * |^~\&; errors with their segment and byte; segment terminators; accessors;
 * escapes both ways (random round trips, \X0D0A\, unknown sequences kept); the
 * writer read back field by field; the one-pass cursor; TS formats. And an independent reader:
 * Debian's python3-hl7 parses what the writer wrote (it fails, not skips,
 * when /usr/bin/python3 cannot import hl7: scripts/install-deps installs it).
 *
 * The sample files are found next to this source file (tests/data/hl7), from
 * the path the compiler was given and the place of the test program, so the
 * test runs from any working directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/str.h"
#include "base/time.h"
#include "proto/hl7.h"

/* --- Helpers --------------------------------------------------------------- */

/* Compare a view with a NUL-terminated expectation, printing both on failure. */
#define assert_sv(v, want)                                                                         \
    do {                                                                                           \
        strv v_ = (v);                                                                             \
        char tmp_[4096];                                                                           \
        size_t n_ = v_.n < sizeof(tmp_) - 1 ? v_.n : sizeof(tmp_) - 1;                             \
        memcpy(tmp_, v_.p, n_);                                                                    \
        tmp_[n_] = '\0';                                                                           \
        assert_string_equal(tmp_, (want));                                                         \
        assert_int_equal(v_.n, strlen(want));                                                      \
    } while (0)

static strv sv(const char *s)
{
    return (strv){s, strlen(s)};
}

/* tests/data/hl7 beside this source file (the buffer lives for the program). */
static const char *data_dir(void)
{
    static buf dir = BUF_INIT;
    if (dir.len)
        return dir.data;
    const char *env = getenv("BENCHSIDE_TEST_DATA");
    if (env) {
        assert_int_equal(buf_printf(&dir, "%s/hl7", env), ERR_OK);
        return dir.data;
    }
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    int srclen = slash ? (int)(slash - src) : 0; /* .../tests/unit */
    if (src[0] == '/') {
        assert_int_equal(buf_printf(&dir, "%.*s/../data/hl7", srclen, src), ERR_OK);
        return dir.data;
    }
    /* Relative to the build directory, which holds tests/test_hl7. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *e = strrchr(exe, '/');
        if (e)
            *e = '\0'; /* <build>/tests */
        assert_int_equal(buf_printf(&dir, "%s/../%.*s/../data/hl7", exe, srclen, src), ERR_OK);
        if (access(dir.data, R_OK) == 0)
            return dir.data;
        buf_reset(&dir);
    }
    assert_int_equal(buf_puts(&dir, "tests/data/hl7"), ERR_OK);
    return dir.data;
}

static void read_sample(const char *name, buf *out)
{
    buf path = BUF_INIT;
    assert_int_equal(buf_printf(&path, "%s/%s", data_dir(), name), ERR_OK);
    FILE *f = fopen(path.data, "rb");
    if (!f)
        fail_msg("cannot open %s", path.data);
    buf_free(&path);
    char chunk[4096];
    size_t n;
    buf_reset(out);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(out, chunk, n), ERR_OK);
    fclose(f);
}

/* Parse a NUL-terminated message, asserting success. */
static void parse_ok(const char *text, size_t len, arena *a, hl7_msg *m)
{
    errinfo ei;
    err_clear(&ei);
    err_t rc = hl7_parse(text, len, a, m, &ei);
    if (rc != ERR_OK)
        fail_msg("hl7_parse: %s", ei.message);
}

/* Segment ids of m joined by spaces. */
static void ids_of(const hl7_msg *m, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < hl7_segment_count(m) && o + 5 < cap; i++) {
        hl7_seg s = hl7_segment(m, i);
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "", s.id);
    }
}

/*
 * Walk every segment of m down to sub-components with hl7_next() and check
 * the pieces against the accessors: hl7_field(s, k) is the k-th part, and the
 * parts of each level joined again give the level above.
 */
static void check_structure(const hl7_msg *m)
{
    for (size_t i = 0; i < hl7_segment_count(m); i++) {
        hl7_seg s = hl7_segment(m, i);
        const hl7_delims *d = &s.delims;
        bool header = strcmp(s.id, "MSH") == 0;
        strv rest = s.text, f;
        size_t k = 0, leaves = 0;
        if (s.text.n > 3 && s.text.p[3] != d->field) { /* the id and a wrapped line */
            assert_int_equal(hl7_field_count(&s), 0);
            assert_int_equal(hl7_field(&s, 1).n, 0);
            continue;
        }
        while (hl7_next(&rest, d->field, &f)) {
            size_t field = header && k > 0 ? k + 1 : k;
            strv viaget = hl7_field(&s, field);
            if (k == 0) { /* the id (a wrapped line may follow it when no field does) */
                assert_ptr_equal(viaget.p, f.p);
                assert_int_equal(viaget.n, 3);
                k++;
                continue;
            }
            if (f.n)
                assert_ptr_equal(viaget.p, f.p);
            assert_int_equal(viaget.n, f.n);
            if (!(header && field <= 2) && field > 0) {
                strv reps = f, r;
                size_t ri = 0;
                size_t joined = 0;
                while (hl7_next(&reps, d->repetition, &r)) {
                    ri++;
                    strv rr = hl7_repetition(f, d, ri);
                    if (r.n)
                        assert_ptr_equal(rr.p, r.p);
                    assert_int_equal(rr.n, r.n);
                    strv comps = r, c;
                    size_t ci = 0;
                    while (hl7_next(&comps, d->component, &c)) {
                        ci++;
                        strv cc = hl7_get(&s, field, ri, ci, 0);
                        assert_int_equal(cc.n, c.n);
                        if (c.n)
                            assert_ptr_equal(cc.p, c.p);
                        strv subs = c, sc;
                        size_t si = 0;
                        while (hl7_next(&subs, d->subcomponent, &sc)) {
                            si++;
                            strv ss = hl7_get(&s, field, ri, ci, si);
                            assert_int_equal(ss.n, sc.n);
                            leaves++;
                        }
                        assert_int_equal(si, c.n ? hl7_count(c, d->subcomponent) : 1);
                    }
                    joined += r.n + 1;
                }
                assert_int_equal(joined, f.n + 1);
                assert_int_equal(ri, f.n ? hl7_count(f, d->repetition) : 1);
            }
            k++;
        }
        /* k parts: the id and one per separator */
        size_t count = hl7_field_count(&s);
        assert_int_equal(k == 1 ? 0 : header ? k : k - 1, count);
        assert_int_equal(hl7_field(&s, count + 1).n, 0);
        /* the cursor visits the same sub-components in one pass */
        hl7_cursor cur;
        hl7_cursor_init(&cur, &s);
        strv leaf;
        size_t visited = 0, last_field = 0;
        while (hl7_cursor_next(&cur, &leaf)) {
            strv want = hl7_get(&s, cur.field, cur.rep, cur.comp, cur.sub);
            assert_int_equal(leaf.n, want.n);
            if (leaf.n)
                assert_ptr_equal(leaf.p, want.p);
            assert_true(cur.field >= last_field);
            last_field = cur.field;
            visited++;
        }
        assert_int_equal(visited, leaves);
        assert_int_equal(last_field, header && count <= 2 ? 0 : count);
    }
}

/* --- Every sample parses -------------------------------------------------- */

static const struct sample {
    const char *file;
    size_t segments, wrapped;
    const char *ids;
} samples[] = {
    {"athena-health_oru-example.hl7", 6, 0, "MSH PID NTE ORC OBR TQ1"},
    /* OBR-17 "(608)258-" LF "8866": a wrapped line */
    {"catalyze-io_orm-example.hl7", 7, 1, "MSH PID PD1 PV1 ORC OBR DG1"},
    {"cerner_cerner_bordetella.hl7", 7, 0, "MSH SFT PID ORC OBR SPM OBX"},
    {"cerner_cerner_en.hl7", 7, 0, "MSH SFT PID ORC OBR SPM OBX"},
    {"cerner_cerner_lead.hl7", 7, 0, "MSH SFT PID ORC OBR SPM OBX"},
    {"cerner_cerner_sequential.hl7", 7, 0, "MSH SFT PID ORC OBR SPM OBX"},
    {"corepoint-health_siu-example.hl7", 8, 0, "MSH SCH PID PV1 RGS AIL NTE AIP"},
    {"health-standards_bar-example.hl7", 5, 0, "MSH PID PV1 GT1 IN1"},
    /* its segments were joined by spaces: one long MSH */
    {"healthcare-it-systems_adt-example.hl7", 1, 0, "MSH"},
    {"invalid_misc_bad-phone-example.hl7", 2, 0, "MSH PID"},
    /* two messages, a blank line between them */
    {"mieweb_dft-example.hl7", 14, 0, "MSH EVN PID FT1 PR1 DG1 DG1 MSH EVN PID FT1 PR1 DG1 DG1"},
    {"mirthproject_mfn-example.hl7", 5, 0, "MSH MFI MFE STF PRA"},
    {"nist_ORU_R01_2.5.1_SampleTestCase1.hl7", 7, 0, "MSH SFT PID ORC OBR OBX SPM"},
    {"nist_ORU_R01_2.5.1_SampleTestCase2.hl7", 7, 0, "MSH SFT PID ORC OBR OBX SPM"},
    {"nist_ORU_R01_2.5.1_SampleTestCase3.hl7", 7, 0, "MSH SFT PID ORC OBR OBX SPM"},
    {"nist_ORU_R01_2.5.1_SampleTestCase4.hl7", 7, 0, "MSH SFT PID ORC OBR OBX SPM"},
    {"nist_ORU_R01_2.5.1_SampleTestCase5.hl7", 6, 0, "MSH SFT PID OBR OBX SPM"},
    {"nist_ORU_R01_2.5.1_SampleTestCase6.hl7", 9, 0, "MSH SFT PID ORC OBR OBX OBX OBX SPM"},
    {"realm_realm-animal-rabies.hl7", 8, 0, "MSH SFT PID NK1 ORC OBR OBX SPM"},
    {"realm_realm-campylobacter-jejuni.hl7", 9, 0, "MSH SFT PID PV1 PV2 ORC OBR OBX SPM"},
    {"realm_realm-cj-badloinc.hl7", 9, 0, "MSH SFT PID PV1 PV2 ORC OBR OBX SPM"},
    {"realm_realm-cj-joeslab.hl7", 12, 0, "MSH SFT PID PV1 PV2 ORC OBR OBX SPM OBR OBX SPM"},
    {"realm_realm-cj.hl7", 9, 0, "MSH SFT PID PV1 PV2 ORC OBR OBX SPM"},
    {"realm_realm-hepatitis-c-virus.hl7", 11, 0, "MSH SFT PID PV1 PV2 ORC OBR OBX SPM OBX OBX"},
    /* copied out of a PDF: lines wrapped inside fields, segments joined by
     * spaces, a page footer between two segments */
    {"remote-operations_mdm-example.hl7", 31, 16,
     "MSH PID PV1 TXA OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX "
     "OBX OBX OBX OBX OBX OBX OBX OBX OBX"},
};

static void test_samples_parse(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        arena a;
        arena_init(&a, 0);
        hl7_msg m;
        read_sample(samples[i].file, &b);
        parse_ok(b.data, b.len, &a, &m);
        char ids[512];
        ids_of(&m, ids, sizeof(ids));
        if (strcmp(ids, samples[i].ids) != 0)
            fail_msg("%s: segments %s, expected %s", samples[i].file, ids, samples[i].ids);
        assert_int_equal(hl7_segment_count(&m), samples[i].segments);
        assert_int_equal(m.wrapped, samples[i].wrapped);
        assert_int_equal(m.delims.field, '|');
        assert_int_equal(m.delims.component, '^');
        assert_int_equal(m.delims.repetition, '~');
        assert_int_equal(m.delims.escape, '\\');
        assert_int_equal(m.delims.subcomponent, '&');
        assert_int_equal(m.delims.truncation, '\0');
        check_structure(&m);
        arena_free(&a);
    }
    buf_free(&b);
}

/* NIST ORU^R01 2.5.1 sample test case 1: a blood lead result. */
static void test_nist_case1(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    read_sample("nist_ORU_R01_2.5.1_SampleTestCase1.hl7", &b);
    parse_ok(b.data, b.len, &a, &m);

    hl7_seg msh = hl7_segment(&m, 0);
    assert_string_equal(msh.id, "MSH");
    assert_int_equal(msh.index, 0);
    assert_sv(hl7_field(&msh, 0), "MSH");
    assert_sv(hl7_field(&msh, 1), "|");
    assert_sv(hl7_field(&msh, 2), "^~\\&");
    assert_sv(hl7_get(&msh, 2, 1, 1, 1), "^~\\&"); /* MSH-2 is never split */
    assert_sv(hl7_get(&msh, 2, 0, 2, 0), "");
    assert_sv(hl7_field(&msh, 3), "EHR Application^2.16.840.1.113883.3.72.7.1^HL7");
    assert_sv(hl7_get(&msh, 3, 0, 1, 0), "EHR Application");
    assert_sv(hl7_get(&msh, 3, 0, 2, 0), "2.16.840.1.113883.3.72.7.1");
    assert_sv(hl7_field(&msh, 7), "20100929110702");
    assert_sv(hl7_field(&msh, 8), "");
    assert_sv(hl7_field(&msh, 9), "ORU^R01^ORU_R01");
    assert_sv(hl7_get(&msh, 9, 1, 1, 0), "ORU");
    assert_sv(hl7_get(&msh, 9, 1, 2, 0), "R01");
    assert_sv(hl7_get(&msh, 9, 1, 3, 0), "ORU_R01");
    assert_sv(hl7_field(&msh, 10), "NIST-100929110701660");
    assert_sv(hl7_field(&msh, 11), "P");
    assert_sv(hl7_field(&msh, 12), "2.5.1");
    assert_sv(hl7_get(&msh, 21, 1, 1, 0), "PHLabReport-NoAck");
    assert_sv(hl7_get(&msh, 21, 1, 3, 0), "2.16.840.1.114222.4.10.3");
    assert_int_equal(hl7_field_count(&msh), 21);
    int64_t t = 0;
    assert_int_equal(hl7_ts_parse(hl7_field(&msh, 7), &t, NULL), ERR_OK);
    char iso[TIME_ISO_LEN];
    time_format_iso(t, iso);
    assert_string_equal(iso, "2010-09-29T11:07:02.000000Z"); /* no offset: read as UTC */

    size_t ip = hl7_find(&m, "PID", 0);
    assert_int_equal(ip, 2);
    hl7_seg pid = hl7_segment(&m, ip);
    assert_sv(hl7_get(&pid, 3, 1, 1, 0), "9817566735");
    assert_sv(hl7_get(&pid, 3, 1, 4, 0), "MPI&2.16.840.1.113883.19.3.2.1&ISO");
    assert_sv(hl7_get(&pid, 3, 1, 4, 1), "MPI");
    assert_sv(hl7_get(&pid, 3, 1, 4, 2), "2.16.840.1.113883.19.3.2.1");
    assert_sv(hl7_get(&pid, 3, 1, 4, 3), "ISO");
    assert_sv(hl7_get(&pid, 3, 1, 5, 0), "MR");
    assert_sv(hl7_field(&pid, 5), "Johnson^Philip");
    assert_sv(hl7_get(&pid, 5, 1, 1, 0), "Johnson"); /* family name */
    assert_sv(hl7_get(&pid, 5, 1, 2, 0), "Philip");
    assert_sv(hl7_get(&pid, 5, 1, 3, 0), "");
    assert_sv(hl7_field(&pid, 7), "20070526");
    assert_sv(hl7_field(&pid, 8), "M");
    assert_sv(hl7_get(&pid, 11, 1, 3, 0), "Aurora");
    assert_sv(hl7_get(&pid, 11, 1, 5, 0), "80011");
    assert_sv(hl7_get(&pid, 13, 1, 6, 0), "303");
    assert_sv(hl7_get(&pid, 22, 1, 2, 0), "Not Hispanic or Latino");
    assert_int_equal(hl7_field_count(&pid), 22);

    size_t io = hl7_find(&m, "OBX", 0);
    assert_int_equal(io, 5);
    assert_int_equal(hl7_find(&m, "OBX", io + 1), hl7_segment_count(&m));
    hl7_seg obx = hl7_segment(&m, io);
    assert_sv(hl7_field(&obx, 1), "1");
    assert_sv(hl7_field(&obx, 2), "NM");
    assert_sv(hl7_get(&obx, 3, 1, 1, 0), "10368-9"); /* LOINC blood lead */
    assert_sv(hl7_get(&obx, 3, 1, 2, 0), "Lead BldC-mCnc");
    assert_sv(hl7_get(&obx, 3, 1, 3, 0), "LN");
    assert_sv(hl7_field(&obx, 5), "50");
    assert_sv(hl7_get(&obx, 6, 1, 1, 0), "ug/dL");
    assert_sv(hl7_get(&obx, 6, 1, 3, 0), "UCUM");
    assert_sv(hl7_field(&obx, 7), "<9 mcg/dL:  Acceptable background lead exposure");
    assert_sv(hl7_field(&obx, 8), "H");
    assert_sv(hl7_field(&obx, 11), "F");
    assert_sv(hl7_get(&obx, 23, 1, 6, 2), "2.16.840.1.113883.19.4.6");
    assert_int_equal(hl7_field_count(&obx), 24);
    assert_int_equal(hl7_ts_parse(hl7_field(&obx, 14), &t, NULL), ERR_OK);
    time_format_iso(t, iso);
    assert_string_equal(iso, "2008-08-15T17:30:00.000000Z"); /* 10:30 at -0700 */

    hl7_seg spm = hl7_segment(&m, hl7_find(&m, "SPM", 0));
    assert_sv(hl7_get(&spm, 4, 1, 2, 0), "Capillary blood specimen");
    assert_sv(hl7_get(&spm, 4, 1, 8, 0), "2.5.1");

    arena_free(&a);
    buf_free(&b);
}

/* An ELR hepatitis C report: SN values, repeating fields, three OBX. */
static void test_hepatitis_c(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    read_sample("realm_realm-hepatitis-c-virus.hl7", &b);
    parse_ok(b.data, b.len, &a, &m);
    const hl7_delims *d = &m.delims;

    hl7_seg msh = hl7_segment(&m, 0);
    assert_sv(hl7_get(&msh, 4, 0, 1, 0), ""); /* "^1234^CLIA" */
    assert_sv(hl7_get(&msh, 4, 0, 2, 0), "1234");
    assert_sv(hl7_get(&msh, 11, 0, 2, 0), "T");
    int64_t t;
    assert_int_equal(hl7_ts_parse(hl7_field(&msh, 7), &t, NULL), ERR_OK);
    char iso[TIME_ISO_LEN];
    time_format_iso(t, iso);
    assert_string_equal(iso, "2008-08-19T01:30:02.100000Z"); /* 18:30:02.1 at -0700 */

    hl7_seg pid = hl7_segment(&m, hl7_find(&m, "PID", 0));
    strv ids = hl7_field(&pid, 3);
    assert_int_equal(hl7_count(ids, d->repetition), 2);
    assert_sv(hl7_component(hl7_repetition(ids, d, 1), d, 1), "36363636");
    assert_sv(hl7_component(ids, d, 1), "36363636"); /* the first repetition */
    assert_sv(hl7_component(hl7_repetition(ids, d, 2), d, 1), "444333333");
    /* the sender put the assigning authority's type in a component of its own */
    assert_sv(hl7_component(hl7_repetition(ids, d, 2), d, 5), "ISO");
    assert_sv(hl7_component(hl7_repetition(ids, d, 2), d, 6), "SS");
    assert_sv(hl7_subcomponent(hl7_component(hl7_repetition(ids, d, 2), d, 4), d, 2),
              "2.16.840.1.113883.4.1");
    assert_sv(hl7_repetition(ids, d, 3), "");
    assert_sv(hl7_get(&pid, 5, 1, 1, 0), "Everyman");
    assert_sv(hl7_get(&pid, 5, 1, 7, 0), "L");
    assert_sv(hl7_get(&pid, 6, 1, 1, 0), "Mum");

    /* The first OBX of this sample has two empty fields before its value, so
     * the SN value sits in OBX-7 and its units in OBX-8: read as written. */
    const char *values[] = {"", "29", "food handler"};
    const char *codes[] = {"5198-7", "35659-2", "11294-6"};
    size_t want_at[] = {7, 9, 10}, n = 0;
    for (size_t i = hl7_find(&m, "OBX", 0); i < hl7_segment_count(&m);
         i = hl7_find(&m, "OBX", i + 1)) {
        assert_true(n < 3);
        assert_int_equal(i, want_at[n]);
        hl7_seg obx = hl7_segment(&m, i);
        assert_sv(hl7_field(&obx, 5), values[n]);
        assert_sv(hl7_get(&obx, 3, 1, 1, 0), codes[n]);
        n++;
    }
    assert_int_equal(n, 3);
    hl7_seg obx1 = hl7_segment(&m, 7);
    assert_sv(hl7_field(&obx1, 2), "SN");
    assert_sv(hl7_field(&obx1, 7), ">^11.0");
    assert_sv(hl7_get(&obx1, 7, 1, 1, 0), ">");
    assert_sv(hl7_get(&obx1, 7, 1, 2, 0), "11.0");
    assert_sv(hl7_get(&obx1, 8, 1, 9, 0), "s/co ratio");
    strv flags = hl7_field(&obx1, 10);
    assert_int_equal(hl7_count(flags, d->repetition), 2);
    assert_sv(hl7_get(&obx1, 10, 1, 0, 0), "H");
    assert_sv(hl7_get(&obx1, 10, 2, 0, 0), "POS");
    hl7_seg obx2 = hl7_segment(&m, 9);
    assert_sv(hl7_get(&obx2, 6, 1, 1, 0), "a");
    assert_sv(hl7_get(&obx2, 6, 1, 2, 0), "year");

    arena_free(&a);
    buf_free(&b);
}

/* A Cerner lead report: CR between segments, repeating OBR-31. */
static void test_cerner_lead(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    read_sample("cerner_cerner_lead.hl7", &b);
    parse_ok(b.data, b.len, &a, &m);
    hl7_seg obr = hl7_segment(&m, hl7_find(&m, "OBR", 0));
    assert_int_equal(hl7_count(hl7_field(&obr, 31), m.delims.repetition), 3);
    assert_sv(hl7_get(&obr, 31, 2, 2, 0), "ABDOMINAL PAIN");
    assert_sv(hl7_get(&obr, 31, 3, 1, 0), "780.79");
    hl7_seg orc = hl7_segment(&m, hl7_find(&m, "ORC", 0));
    assert_sv(hl7_get(&orc, 12, 1, 1, 0), "Harrison , Kyle");
    assert_sv(hl7_get(&orc, 12, 1, 9, 2), "33D1234567");
    hl7_seg obx = hl7_segment(&m, hl7_find(&m, "OBX", 0));
    assert_sv(hl7_field(&obx, 5), "50");
    assert_sv(hl7_get(&obx, 6, 1, 1, 0), "ug/dL");
    assert_sv(hl7_get(&obx, 7, 1, 3, 0), "10.000000");
    /* the file ends with CR LF: no empty segment after the last */
    hl7_seg last = hl7_segment(&m, hl7_segment_count(&m) - 1);
    assert_int_equal(last.text.p[last.text.n - 1], 'B');
    arena_free(&a);
    buf_free(&b);
}

/* Files edited by hand: wrapped lines, joined segments, two messages. */
static void test_wrapped_and_joined(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;

    read_sample("catalyze-io_orm-example.hl7", &b);
    parse_ok(b.data, b.len, &a, &m);
    hl7_seg obr = hl7_segment(&m, hl7_find(&m, "OBR", 0));
    assert_sv(hl7_field(&obr, 17), "(608)258-\n8866"); /* the wrap stays in the value */
    assert_sv(hl7_field(&obr, 18), "");
    assert_sv(hl7_get(&obr, 4, 1, 2, 0), "X-RAY ANKLE 3+ VW");
    assert_int_equal(hl7_field_count(&obr), 36);

    read_sample("remote-operations_mdm-example.hl7", &b);
    parse_ok(b.data, b.len, &a, &m);
    hl7_seg msh = hl7_segment(&m, 0);
    assert_sv(hl7_field(&msh, 9), "MDM^T04");
    assert_sv(hl7_field(&msh, 10), "{6AF4DC6C-5BF1-\n4563-8EBD-F54B880B3613}");
    assert_sv(hl7_field(&msh, 11), "P");
    assert_sv(hl7_field(&msh, 12), "2.3");
    assert_sv(hl7_field(&msh, 18), " EVN"); /* EVN was joined to MSH by a space */
    assert_sv(hl7_field(&msh, 19), "T04");
    hl7_seg txa = hl7_segment(&m, 3);
    assert_string_equal(txa.id, "TXA");
    assert_sv(hl7_field(&txa, 20), "AC\n"); /* then "|||1095^JOHNSON..." wrapped */
    assert_sv(hl7_get(&txa, 23, 1, 2, 0), "JOHNSON");
    assert_sv(hl7_get(&txa, 23, 2, 0, 0), " OBX");
    assert_sv(hl7_field(&txa, 28), "PATIENT NAME:");
    /* OBX 4 and 5 were joined to OBX 3 by spaces, OBX 4 wrapped inside */
    hl7_seg obx3 = hl7_segment(&m, 5);
    assert_sv(hl7_field(&obx3, 1), "3");
    assert_sv(hl7_field(&obx3, 14), "200509180000");
    assert_sv(hl7_field(&obx3, 17), " OBX");
    assert_sv(hl7_field(&obx3, 18), "4");
    assert_sv(hl7_field(&obx3, 22), "ACCT.\nNUMBER:");
    assert_sv(hl7_field(&obx3, 35), "5");
    hl7_seg obx6 = hl7_segment(&m, hl7_find(&m, "OBX", 6));
    assert_sv(hl7_field(&obx6, 1), "6");

    read_sample("healthcare-it-systems_adt-example.hl7", &b);
    parse_ok(b.data, b.len, &a, &m);
    msh = hl7_segment(&m, 0);
    assert_sv(hl7_field(&msh, 9), "ADT^A01");
    assert_sv(hl7_field(&msh, 12), "2.3");
    assert_sv(hl7_field(&msh, 15), " EVN");

    read_sample("mieweb_dft-example.hl7", &b);
    parse_ok(b.data, b.len, &a, &m);
    assert_int_equal(hl7_find(&m, "MSH", 1), 7);
    hl7_seg msh2 = hl7_segment(&m, 7);
    assert_sv(hl7_field(&msh2, 1), "|");
    assert_sv(hl7_field(&msh2, 9), "DFT^P03");
    assert_sv(hl7_field(&msh2, 10), "DSD1184189125");
    hl7_seg ft1 = hl7_segment(&m, hl7_find(&m, "FT1", 0));
    assert_sv(hl7_field(&ft1, 7), "73630");
    assert_sv(hl7_get(&ft1, 26, 2, 0, 0), "GA");

    arena_free(&a);
    buf_free(&b);
}

/*
 * Is s an HL7 TN, [NN ][(999)]999-9999[X99999][B99999][C any text]? (The
 * pattern of HL7 v2.4 section 2.9.45, which HAPI's strict validation applies.)
 */
static bool digits_run(strv s, size_t *i, size_t min, size_t max)
{
    size_t k = 0;
    while (*i < s.n && k < max && s.p[*i] >= '0' && s.p[*i] <= '9') {
        (*i)++;
        k++;
    }
    return k >= min;
}

static bool tn_at(strv s, size_t i)
{
    if (i < s.n && s.p[i] == '(') {
        i++;
        if (!digits_run(s, &i, 3, 3) || i >= s.n || s.p[i] != ')')
            return false;
        i++;
    }
    if (!digits_run(s, &i, 3, 3) || i >= s.n || s.p[i] != '-')
        return false;
    i++;
    if (!digits_run(s, &i, 4, 4))
        return false;
    if (i < s.n && s.p[i] == 'X') {
        i++;
        if (!digits_run(s, &i, 1, 5))
            return false;
    }
    if (i < s.n && s.p[i] == 'B') {
        i++;
        if (!digits_run(s, &i, 1, 5))
            return false;
    }
    return i == s.n || s.p[i] == 'C';
}

static bool is_tn(strv s)
{
    if (tn_at(s, 0))
        return true;
    size_t i = 0;
    return digits_run(s, &i, 1, 2) && i < s.n && s.p[i] == ' ' && tn_at(s, i + 1);
}

/*
 * The "invalid" sample is sound HL7 syntax; what is wrong is a value: PID-13's
 * telephone number "(123) 123-1234" is not of the TN form (no space may follow
 * the area code). That is a data-type check for the domain; the codec reads it.
 */
static void test_bad_phone(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    read_sample("invalid_misc_bad-phone-example.hl7", &b);
    parse_ok(b.data, b.len, &a, &m);
    hl7_seg msh = hl7_segment(&m, 0);
    assert_sv(hl7_field(&msh, 9), "SIU^S12");
    assert_sv(hl7_field(&msh, 12), "2.3.1");
    hl7_seg pid = hl7_segment(&m, 1);
    assert_sv(hl7_get(&pid, 5, 1, 1, 0), "Someone");
    strv phones = hl7_field(&pid, 13);
    assert_int_equal(hl7_count(phones, m.delims.repetition), 2);
    strv tn = hl7_get(&pid, 13, 1, 1, 0);
    assert_sv(tn, "(123) 123-1234");
    assert_false(is_tn(tn));
    assert_sv(hl7_get(&pid, 13, 1, 2, 0), "PRN");
    assert_sv(hl7_get(&pid, 13, 2, 2, 0), "NET");
    assert_sv(hl7_get(&pid, 13, 2, 4, 0), "someemailaddress@yahoo.com");
    /* the checker itself: forms that are TN */
    assert_true(is_tn(sv("(123)123-1234")));
    assert_true(is_tn(sv("1 (123)123-1234X12B3Cnight")));
    assert_true(is_tn(sv("555-1234")));
    assert_false(is_tn(sv("5551234")));
    arena_free(&a);
    buf_free(&b);
}

/* --- Delimiters, terminators, errors -------------------------------------- */

static void test_other_delimiters(void **state)
{
    (void)state;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    /* field '#', component '$', repetition '*', escape '!', sub-component '%' */
    const char *text = "MSH#$*!%#LAB$1.2.3$ISO#FAC#20260301081542+0100#ORU$R01$ORU_R01\r"
                       "PID#1##ID1$$$AUTH%1.2%ISO*ID2#Fam!F!ily$Giv!S!en!E!\r"
                       "OBX#1#ST#X$Y##a!T!b!R!c\r";
    parse_ok(text, strlen(text), &a, &m);
    assert_int_equal(m.delims.field, '#');
    assert_int_equal(m.delims.component, '$');
    assert_int_equal(m.delims.repetition, '*');
    assert_int_equal(m.delims.escape, '!');
    assert_int_equal(m.delims.subcomponent, '%');
    assert_int_equal(m.delims.truncation, '\0');
    assert_int_equal(hl7_segment_count(&m), 3);
    hl7_seg msh = hl7_segment(&m, 0);
    assert_sv(hl7_field(&msh, 1), "#");
    assert_sv(hl7_field(&msh, 2), "$*!%");
    assert_sv(hl7_get(&msh, 3, 1, 2, 0), "1.2.3");
    assert_sv(hl7_field(&msh, 4), "FAC");
    assert_sv(hl7_get(&msh, 6, 0, 2, 0), "R01");
    hl7_seg pid = hl7_segment(&m, 1);
    assert_sv(hl7_get(&pid, 3, 1, 1, 0), "ID1");
    assert_sv(hl7_get(&pid, 3, 1, 4, 2), "1.2");
    assert_sv(hl7_get(&pid, 3, 2, 1, 0), "ID2");
    buf out = BUF_INIT;
    assert_int_equal(hl7_unescape(hl7_get(&pid, 4, 1, 1, 0), &m.delims, &out), ERR_OK);
    assert_string_equal(out.data, "Fam#ily");
    buf_reset(&out);
    assert_int_equal(hl7_unescape(hl7_get(&pid, 4, 1, 2, 0), &m.delims, &out), ERR_OK);
    assert_string_equal(out.data, "Giv$en!");
    hl7_seg obx = hl7_segment(&m, 2);
    buf_reset(&out);
    assert_int_equal(hl7_unescape(hl7_field(&obx, 5), &m.delims, &out), ERR_OK);
    assert_string_equal(out.data, "a%b*c");
    /* '|' and '^' are plain text here */
    buf_reset(&out);
    assert_int_equal(hl7_escape(sv("a|b^c#d!e"), &m.delims, &out), ERR_OK);
    assert_string_equal(out.data, "a|b^c!F!d!E!e");

    /* five encoding characters: the v2.7 truncation character */
    const char *t27 = "MSH|^~\\&#|APP|FAC|||20260301||ADT^A01|1|P|2.7\rNTE|1||cut\\P\\here#\r";
    parse_ok(t27, strlen(t27), &a, &m);
    assert_int_equal(m.delims.truncation, '#');
    msh = hl7_segment(&m, 0);
    assert_sv(hl7_field(&msh, 2), "^~\\&#");
    assert_sv(hl7_field(&msh, 3), "APP");
    hl7_seg nte = hl7_segment(&m, 1);
    buf_reset(&out);
    assert_int_equal(hl7_unescape(hl7_field(&nte, 3), &m.delims, &out), ERR_OK);
    assert_string_equal(out.data, "cut#here#");
    buf_reset(&out);
    assert_int_equal(hl7_escape(sv("a#b"), &m.delims, &out), ERR_OK);
    assert_string_equal(out.data, "a\\P\\b");
    buf_free(&out);
    arena_free(&a);
}

static void test_terminators(void **state)
{
    (void)state;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    const char *forms[] = {
        "MSH|^~\\&|A\rPID|1|x\rOBX|1\r",
        "MSH|^~\\&|A\nPID|1|x\nOBX|1\n",
        "MSH|^~\\&|A\r\nPID|1|x\r\nOBX|1\r\n",
        "MSH|^~\\&|A\r\n\r\nPID|1|x\n\n\rOBX|1", /* blank lines, no final terminator */
        "MSH|^~\\&|A\rPID|1|x\nOBX|1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        parse_ok(forms[i], strlen(forms[i]), &a, &m);
        assert_int_equal(hl7_segment_count(&m), 3);
        assert_int_equal(m.wrapped, 0);
        hl7_seg s = hl7_segment(&m, 0);
        assert_sv(s.text, "MSH|^~\\&|A");
        s = hl7_segment(&m, 1);
        assert_sv(s.text, "PID|1|x");
        assert_sv(hl7_field(&s, 2), "x");
        s = hl7_segment(&m, 2);
        assert_sv(s.text, "OBX|1");
    }
    /* a segment of its id alone; a Z segment; MSH without fields */
    const char *bare = "MSH|^~\\&\rEVN\rZXY|1\rEVN";
    parse_ok(bare, strlen(bare), &a, &m);
    assert_int_equal(hl7_segment_count(&m), 4);
    hl7_seg evn = hl7_segment(&m, 1);
    assert_string_equal(evn.id, "EVN");
    assert_int_equal(hl7_field_count(&evn), 0);
    assert_sv(hl7_field(&evn, 1), "");
    hl7_seg msh = hl7_segment(&m, 0);
    assert_int_equal(hl7_field_count(&msh), 2);
    assert_sv(hl7_field(&msh, 3), "");
    assert_int_equal(hl7_find(&m, "ZXY", 0), 2);
    assert_int_equal(hl7_find(&m, "EVN", 2), 3);
    assert_int_equal(hl7_find(&m, "EV", 0), 4); /* not a segment id */
    assert_int_equal(hl7_find(&m, "EVNT", 0), 4);
    /* a line that does not begin a segment continues the one before */
    const char *wrap = "MSH|^~\\&|A\rOBX|1|TX|||line one\rline two\n\nPID lookalike|F\rOBX|2";
    parse_ok(wrap, strlen(wrap), &a, &m);
    assert_int_equal(hl7_segment_count(&m), 3);
    assert_int_equal(m.wrapped, 2);
    hl7_seg obx = hl7_segment(&m, 1);
    assert_sv(hl7_field(&obx, 5), "line one\rline two\n\nPID lookalike");
    assert_sv(hl7_field(&obx, 6), "F");
    /* a wrapped line right after a segment id belongs to no field */
    const char *idwrap = "MSH|^~\\&|A\rEVN\rnot a segment|x\rBHS\rmore";
    parse_ok(idwrap, strlen(idwrap), &a, &m);
    assert_int_equal(hl7_segment_count(&m), 3);
    assert_int_equal(m.wrapped, 2);
    evn = hl7_segment(&m, 1);
    assert_sv(evn.text, "EVN\rnot a segment|x");
    assert_sv(hl7_field(&evn, 0), "EVN");
    assert_int_equal(hl7_field_count(&evn), 0);
    assert_sv(hl7_field(&evn, 1), "");
    hl7_seg bhs = hl7_segment(&m, 2);
    assert_int_equal(hl7_field_count(&bhs), 0);
    assert_sv(hl7_field(&bhs, 1), "");
    assert_sv(hl7_field(&bhs, 2), "");
    /* out of range */
    hl7_seg none = hl7_segment(&m, 3);
    assert_string_equal(none.id, "");
    assert_int_equal(none.text.n, 0);
    assert_non_null(none.text.p);
    assert_sv(hl7_field(&none, 1), "");
    assert_int_equal(hl7_field_count(&none), 0);
    arena_free(&a);
}

static void expect_error(const char *text, size_t len, int line, int column, const char *field,
                         const char *message)
{
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    errinfo ei;
    err_clear(&ei);
    assert_int_equal(hl7_parse(text, len, &a, &m, &ei), ERR_INVALID);
    assert_int_equal(ei.code, ERR_INVALID);
    assert_string_equal(ei.message, message);
    assert_int_equal(ei.line, line);
    assert_int_equal(ei.column, column);
    assert_string_equal(ei.field, field);
    assert_int_equal(hl7_segment_count(&m), 0); /* left empty */
    assert_string_equal(hl7_segment(&m, 0).id, "");
    assert_int_equal(hl7_parse(text, len, &a, &m, NULL), ERR_INVALID); /* ei is optional */
    arena_free(&a);
}

static void test_parse_errors(void **state)
{
    (void)state;
    const char *begin = "segment 1 at byte 0: a message must begin with \"MSH\"";
    expect_error("", 0, 1, 1, "", begin);
    expect_error(NULL, 0, 1, 1, "", begin);
    expect_error("PID|1", 5, 1, 1, "", begin);
    expect_error("\nMSH|^~\\&|A", 11, 1, 1, "", begin);
    expect_error("MS", 2, 1, 1, "", begin);
    expect_error("MSH", 3, 1, 4, "MSH-1",
                 "segment 1 (MSH) at byte 3: the field separator (MSH-1) must be printable "
                 "punctuation such as '|'");
    expect_error("MSHA^~\\&", 8, 1, 4, "MSH-1",
                 "segment 1 (MSH) at byte 3: the field separator (MSH-1) must be printable "
                 "punctuation such as '|'");
    expect_error("MSH ^~\\&", 8, 1, 4, "MSH-1",
                 "segment 1 (MSH) at byte 3: the field separator (MSH-1) must be printable "
                 "punctuation such as '|'");
    const char *count = "segment 1 (MSH) at byte 4: the encoding characters (MSH-2) must be 4 or "
                        "5 characters (component, repetition, escape, sub-component[, "
                        "truncation]), found ";
    char want[512];
    snprintf(want, sizeof(want), "%s3", count);
    expect_error("MSH|^~\\|A", 9, 1, 5, "MSH-2", want);
    snprintf(want, sizeof(want), "%s0", count);
    expect_error("MSH||A", 6, 1, 5, "MSH-2", want);
    snprintf(want, sizeof(want), "%s3", count);
    expect_error("MSH|^~\\\rPID|1", 13, 1, 5, "MSH-2", want);
    snprintf(want, sizeof(want), "%smore than 5", count);
    expect_error("MSH|^~\\&#$|A", 12, 1, 5, "MSH-2", want);
    expect_error("MSH|^^\\&|A", 10, 1, 6, "MSH-2",
                 "segment 1 (MSH) at byte 5: encoding character 2 of MSH-2 ('^') repeats an "
                 "earlier delimiter");
    expect_error("MSH|^~\\^|A", 10, 1, 8, "MSH-2",
                 "segment 1 (MSH) at byte 7: encoding character 4 of MSH-2 ('^') repeats an "
                 "earlier delimiter");
    expect_error("MSH|^~A&|A", 10, 1, 7, "MSH-2",
                 "segment 1 (MSH) at byte 6: encoding character 3 of MSH-2 (byte 0x41) must be "
                 "printable punctuation");
    /* a later MSH with other delimiters: named by its number and offset */
    const char *two = "MSH|^~\\&|A\rPID|1\rOBX|1\rMSH#^~\\&#B\r";
    expect_error(two, strlen(two), 4, 24, "MSH-2",
                 "segment 4 (MSH) at byte 23: declares delimiters other than those of the first "
                 "MSH; parse each message on its own");
    const char *bad2 = "MSH|^~\\&|A\nPID|1\nMSH|^~|B\n";
    expect_error(bad2, strlen(bad2), 3, 22, "MSH-2",
                 "segment 3 (MSH) at byte 21: the encoding characters (MSH-2) must be 4 or 5 "
                 "characters (component, repetition, escape, sub-component[, truncation]), "
                 "found 2");
    const char *bare = "MSH|^~\\&|A\nMSH";
    expect_error(bare, strlen(bare), 2, 15, "MSH-1",
                 "segment 2 (MSH) at byte 14: the field separator (MSH-1) must be printable "
                 "punctuation such as '|'");
    /* the same MSH twice is fine */
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    const char *same = "MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B\rPID|2\r";
    parse_ok(same, strlen(same), &a, &m);
    assert_int_equal(hl7_segment_count(&m), 4);
    /* an arena is required */
    errinfo ei;
    assert_int_equal(hl7_parse(same, strlen(same), NULL, &m, &ei), ERR_USAGE);
    arena_free(&a);
}

/* Many segments: the index grows in the arena. */
static void test_many_segments(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_puts(&b, "MSH|^~\\&|A|B\r"), ERR_OK);
    for (int i = 1; i <= 5000; i++)
        assert_int_equal(buf_printf(&b, "OBX|%d|NM|%d^Code||%d|mg\r", i, i, i * 3), ERR_OK);
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    parse_ok(b.data, b.len, &a, &m);
    assert_int_equal(hl7_segment_count(&m), 5001);
    size_t n = 0;
    for (size_t i = hl7_find(&m, "OBX", 0); i < hl7_segment_count(&m);
         i = hl7_find(&m, "OBX", i + 1)) {
        hl7_seg s = hl7_segment(&m, i);
        char want[32];
        snprintf(want, sizeof(want), "%zu", (n + 1) * 3);
        assert_sv(hl7_field(&s, 5), want);
        n++;
    }
    assert_int_equal(n, 5000);
    arena_free(&a);
    buf_free(&b);
}

static void test_accessors(void **state)
{
    (void)state;
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    const char *text = "MSH|^~\\&|A\rPID|a^b&c&d^e~f^g||h\r";
    parse_ok(text, strlen(text), &a, &m);
    hl7_seg s = hl7_segment(&m, 1);
    const hl7_delims *d = &s.delims;
    strv f1 = hl7_field(&s, 1);
    assert_sv(f1, "a^b&c&d^e~f^g");
    assert_sv(hl7_field(&s, 2), "");
    assert_sv(hl7_field(&s, 3), "h");
    assert_sv(hl7_field(&s, 4), "");
    assert_sv(hl7_field(&s, SIZE_MAX), "");
    assert_int_equal(hl7_field_count(&s), 3);
    assert_sv(hl7_repetition(f1, d, 0), "");
    assert_sv(hl7_repetition(f1, d, 1), "a^b&c&d^e");
    assert_sv(hl7_repetition(f1, d, 2), "f^g");
    assert_sv(hl7_repetition(f1, d, 3), "");
    assert_sv(hl7_component(f1, d, 2), "b&c&d"); /* first repetition */
    assert_sv(hl7_component(f1, d, 4), "");
    assert_sv(hl7_component(hl7_repetition(f1, d, 2), d, 2), "g");
    assert_sv(hl7_subcomponent(hl7_component(f1, d, 2), d, 3), "d");
    assert_sv(hl7_subcomponent(f1, d, 1), "a"); /* first repetition, first component */
    assert_sv(hl7_subcomponent(f1, d, 2), "");
    assert_sv(hl7_get(&s, 1, 0, 0, 0), "a^b&c&d^e~f^g");
    assert_sv(hl7_get(&s, 1, 0, 2, 2), "c");
    assert_sv(hl7_get(&s, 1, 2, 1, 0), "f");
    assert_sv(hl7_get(&s, 1, 2, 1, 1), "f");
    assert_sv(hl7_get(&s, 1, 2, 1, 2), "");
    assert_sv(hl7_get(&s, 9, 1, 1, 1), "");
    assert_sv(hl7_get(&s, 0, 0, 0, 0), "PID");
    assert_int_equal(hl7_count(f1, d->repetition), 2);
    assert_int_equal(hl7_count(f1, d->subcomponent), 3);
    assert_int_equal(hl7_count(hl7_field(&s, 2), d->repetition), 0);
    /* hl7_next */
    strv rest = sv("x||y|"), part;
    const char *want[] = {"x", "", "y", ""};
    size_t k = 0;
    while (hl7_next(&rest, '|', &part)) {
        assert_true(k < 4);
        assert_sv(part, want[k]);
        k++;
    }
    assert_int_equal(k, 4);
    rest = sv("");
    assert_true(hl7_next(&rest, '|', &part));
    assert_int_equal(part.n, 0);
    assert_false(hl7_next(&rest, '|', &part));
    /* the cursor: every sub-component with its path */
    hl7_cursor cur;
    hl7_cursor_init(&cur, &s);
    strv leaf;
    const char *paths[] = {"1.1.1.1=a", "1.1.2.1=b", "1.1.2.2=c", "1.1.2.3=d", "1.1.3.1=e",
                           "1.2.1.1=f", "1.2.2.1=g", "2.1.1.1=",  "3.1.1.1=h"};
    k = 0;
    while (hl7_cursor_next(&cur, &leaf)) {
        char got[64];
        snprintf(got, sizeof(got), "%zu.%zu.%zu.%zu=%.*s", cur.field, cur.rep, cur.comp, cur.sub,
                 (int)leaf.n, leaf.p);
        assert_true(k < 9);
        assert_string_equal(got, paths[k]);
        k++;
    }
    assert_int_equal(k, 9);
    assert_false(hl7_cursor_next(&cur, &leaf));
    hl7_seg msh = hl7_segment(&m, 0);
    hl7_cursor_init(&cur, &msh);
    assert_true(hl7_cursor_next(&cur, &leaf));
    assert_int_equal(cur.field, 3);
    assert_sv(leaf, "A");
    assert_false(hl7_cursor_next(&cur, &leaf));
    /* an hl7_seg outlives its hl7_msg value */
    hl7_msg copy = m;
    hl7_seg s2 = hl7_segment(&copy, 0);
    memset(&m, 0, sizeof(m));
    assert_sv(hl7_field(&s2, 3), "A");
    arena_free(&a);
}

/* --- Escapes -------------------------------------------------------------- */

static void unescape_is(const char *in, const char *want)
{
    buf out = BUF_INIT;
    assert_int_equal(hl7_unescape(sv(in), &hl7_default_delims, &out), ERR_OK);
    assert_non_null(out.data);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    assert_int_equal(out.data[out.len], '\0');
    assert_true(out.len <= strlen(in));
    /* hl7_decode gives the same */
    arena a;
    arena_init(&a, 0);
    strv v;
    assert_int_equal(hl7_decode(sv(in), &hl7_default_delims, &a, &v), ERR_OK);
    assert_int_equal(v.n, out.len);
    assert_memory_equal(v.p, want, v.n);
    arena_free(&a);
    buf_free(&out);
}

static void test_unescape(void **state)
{
    (void)state;
    unescape_is("", "");
    unescape_is("plain", "plain");
    unescape_is("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", "a|b^c&d~e\\f");
    unescape_is("\\X0D0A\\", "\r\n");
    unescape_is("line 1\\X0D0A\\line 2", "line 1\r\nline 2");
    unescape_is("\\X41\\\\X4a4B\\", "AJK");
    unescape_is("one\\.br\\two", "one\ntwo");
    /* left as they are: formatting, unknown, malformed, unclosed */
    unescape_is("\\H\\bold\\N\\", "\\H\\bold\\N\\");
    buf nul = BUF_INIT;
    assert_int_equal(hl7_unescape(sv("a\\X00\\b"), &hl7_default_delims, &nul), ERR_OK);
    assert_int_equal(nul.len, 3);
    assert_memory_equal(nul.data, "a\0b", 3);
    buf_free(&nul);
    unescape_is("\\.sp2\\ \\.in+4\\ \\C2842\\ \\M244C\\ \\Zabc\\",
                "\\.sp2\\ \\.in+4\\ \\C2842\\ \\M244C\\ \\Zabc\\");
    unescape_is("\\X\\ \\X4\\ \\XZZ\\ \\x41\\ \\X414\\", "\\X\\ \\X4\\ \\XZZ\\ \\x41\\ \\X414\\");
    unescape_is("\\\\", "\\\\");
    unescape_is("a\\b", "a\\b");
    unescape_is("end\\", "end\\");
    unescape_is("\\P\\", "\\P\\"); /* no truncation character declared */
    unescape_is("\\F\\\\unknown\\\\S\\", "|\\unknown\\^");
    /* appends to what out holds */
    buf out = BUF_INIT;
    assert_int_equal(buf_puts(&out, "x="), ERR_OK);
    assert_int_equal(hl7_unescape(sv("1\\S\\2"), &hl7_default_delims, &out), ERR_OK);
    assert_string_equal(out.data, "x=1^2");
    buf_free(&out);
    /* hl7_decode does not copy a value without escapes */
    arena a;
    arena_init(&a, 0);
    const char *raw = "no escapes";
    strv v;
    assert_int_equal(hl7_decode(sv(raw), &hl7_default_delims, &a, &v), ERR_OK);
    assert_ptr_equal(v.p, raw);
    assert_null(a.head);
    arena_free(&a);
}

static void test_escape(void **state)
{
    (void)state;
    buf out = BUF_INIT;
    const char in[] = "a|b^c~d\\e&f\r\ng\x0b\x1c\th#";
    assert_int_equal(hl7_escape((strv){in, sizeof(in) - 1}, &hl7_default_delims, &out), ERR_OK);
    assert_string_equal(out.data, "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\X0D0A\\g\\X0B1C\\\th#");
    buf_reset(&out);
    assert_int_equal(hl7_escape(sv(""), &hl7_default_delims, &out), ERR_OK);
    assert_int_equal(out.len, 0);
    buf_reset(&out);
    assert_int_equal(hl7_escape(sv("Müller – µg/L"), &hl7_default_delims, &out), ERR_OK);
    assert_string_equal(out.data, "Müller – µg/L"); /* UTF-8 passes */
    buf_free(&out);
}

/* xorshift64*: a fixed sequence, so failures repeat. */
static uint64_t rnd_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 0x2545F4914F6CDD1DULL;
}

static void test_escape_roundtrip(void **state)
{
    (void)state;
    const hl7_delims with_trunc = {'|', '^', '~', '\\', '&', '#'};
    const hl7_delims odd = {'#', '$', '*', '!', '%', '\0'};
    const hl7_delims *sets[] = {&hl7_default_delims, &with_trunc, &odd};
    buf esc = BUF_INIT, back = BUF_INIT;
    unsigned char in[300];
    for (int iter = 0; iter < 3000; iter++) {
        const hl7_delims *d = sets[iter % 3];
        size_t n = (size_t)(rnd() % sizeof(in));
        for (size_t i = 0; i < n; i++) {
            /* half the time from a small alphabet rich in delimiters */
            static const char rich[] = "|^~\\&#$*!%\r\n\x0b\x1c\x00aX.br";
            uint64_t r = rnd();
            in[i] = (r & 1) ? (unsigned char)(r >> 8) : (unsigned char)rich[(r >> 8) % 19];
        }
        buf_reset(&esc);
        buf_reset(&back);
        assert_int_equal(hl7_escape((strv){(const char *)in, n}, d, &esc), ERR_OK);
        for (size_t i = 0; i < esc.len; i++) {
            char c = esc.data[i];
            assert_true(c != d->field && c != d->component && c != d->repetition &&
                        c != d->subcomponent && c != '\r' && c != '\n' && c != 0x0b && c != 0x1c);
            assert_true(!d->truncation || c != d->truncation);
        }
        assert_int_equal(hl7_unescape((strv){esc.data ? esc.data : "", esc.len}, d, &back), ERR_OK);
        assert_int_equal(back.len, n);
        if (n)
            assert_memory_equal(back.data, in, n);
    }
    buf_free(&esc);
    buf_free(&back);
}

/* --- Writer --------------------------------------------------------------- */

/* Decoded value at a path equals want. */
static void decoded_is(const hl7_seg *s, size_t f, size_t r, size_t c, size_t sc, const char *want)
{
    buf out = BUF_INIT;
    assert_int_equal(hl7_unescape(hl7_get(s, f, r, c, sc), &s->delims, &out), ERR_OK);
    if (out.len != strlen(want) || (out.len && memcmp(out.data, want, out.len) != 0))
        fail_msg("%s-%zu.%zu.%zu.%zu: got \"%s\", want \"%s\"", s->id, f, r, c, sc,
                 out.data ? out.data : "", want);
    buf_free(&out);
}

/* Values with every kind of character a writer must escape. */
#define FAMILY  "O'Brien|Smith^Jr & Sons~\\X"
#define GIVEN   "Ann-Marie"
#define COMMENT "Hemolysed sample.\nRepeat requested\r\n(see NTE)"
#define UNIT    "10*3/uL"
#define NOTE    "Prüfung – µg/L ≥ 5"

/* An ORU^R01 with one patient, one order and two results. */
static void build_oru(buf *b, int64_t at)
{
    hl7_writer w;
    char ts[HL7_TS_LEN];
    hl7_ts_format(at, ts);
    hl7_writer_init(&w, b);
    hl7_writer_segment(&w, "MSH");
    hl7_writer_field(&w, "BENCHSIDE");
    hl7_writer_field(&w, "LAB");
    hl7_writer_field(&w, "EHR");
    hl7_writer_field(&w, "HOSP");
    hl7_writer_field(&w, ts);
    hl7_writer_field(&w, NULL);
    hl7_writer_field(&w, "ORU");
    hl7_writer_component(&w, "R01");
    hl7_writer_component(&w, "ORU_R01");
    hl7_writer_field(&w, "MSG00001");
    hl7_writer_field(&w, "P");
    hl7_writer_field(&w, "2.5.1");
    hl7_writer_segment(&w, "PID");
    hl7_writer_field(&w, "1");
    hl7_writer_field_at(&w, 3, "00012345");
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, "HOSP");
    hl7_writer_subcomponent(&w, "1.2.3.4");
    hl7_writer_subcomponent(&w, "ISO");
    hl7_writer_component(&w, "MR");
    hl7_writer_repetition(&w, "999-99-9999");
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, "SSA");
    hl7_writer_component(&w, "SS");
    hl7_writer_field_at(&w, 5, FAMILY);
    hl7_writer_component(&w, GIVEN);
    hl7_writer_field_at(&w, 7, "19800229");
    hl7_writer_field(&w, "F");
    hl7_writer_segment(&w, "OBR");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, "ORD1");
    hl7_writer_field(&w, "ACC1");
    hl7_writer_field(&w, "58410-2");
    hl7_writer_component(&w, "CBC panel");
    hl7_writer_component(&w, "LN");
    hl7_writer_segment(&w, "OBX");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, "NM");
    hl7_writer_field(&w, "6690-2");
    hl7_writer_component(&w, "WBC");
    hl7_writer_component(&w, "LN");
    hl7_writer_field(&w, NULL);
    hl7_writer_field(&w, "7.5");
    hl7_writer_field(&w, UNIT);
    hl7_writer_component(&w, NULL);
    hl7_writer_component(&w, "UCUM");
    hl7_writer_field(&w, "4.0-11.0");
    hl7_writer_field(&w, "N");
    hl7_writer_field_at(&w, 11, "F");
    hl7_writer_field_at(&w, 14, ts);
    hl7_writer_segment(&w, "OBX");
    hl7_writer_field(&w, "2");
    hl7_writer_field(&w, "TX");
    hl7_writer_field(&w, "8251-1");
    hl7_writer_component(&w, "Comment");
    hl7_writer_component(&w, "LN");
    hl7_writer_field(&w, NULL);
    hl7_writer_field(&w, COMMENT);
    hl7_writer_field_at(&w, 11, "F");
    hl7_writer_segment(&w, "NTE");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, "L");
    hl7_writer_field(&w, NOTE);
    assert_int_equal(hl7_writer_end(&w), ERR_OK);
}

/* 2026-03-01T08:15:42Z */
#define AT INT64_C(1772352942000000)

static void test_writer_roundtrip(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    build_oru(&b, AT);
    /* CR after every segment, nothing else breaks a line */
    assert_int_equal(b.data[b.len - 1], '\r');
    assert_null(memchr(b.data, '\n', b.len));
    assert_memory_equal(b.data,
                        "MSH|^~\\&|BENCHSIDE|LAB|EHR|HOSP|20260301081542+0000||ORU^R01^ORU_R01|",
                        strlen("MSH|^~\\&|BENCHSIDE|LAB|EHR|HOSP|20260301081542+0000||ORU^R01^"
                               "ORU_R01|"));
    arena a;
    arena_init(&a, 0);
    hl7_msg m;
    parse_ok(b.data, b.len, &a, &m);
    char ids[128];
    ids_of(&m, ids, sizeof(ids));
    assert_string_equal(ids, "MSH PID OBR OBX OBX NTE");
    assert_int_equal(m.wrapped, 0);
    check_structure(&m);
    hl7_seg msh = hl7_segment(&m, 0);
    decoded_is(&msh, 3, 0, 0, 0, "BENCHSIDE");
    decoded_is(&msh, 6, 0, 0, 0, "HOSP");
    decoded_is(&msh, 8, 0, 0, 0, "");
    decoded_is(&msh, 9, 1, 1, 0, "ORU");
    decoded_is(&msh, 9, 1, 2, 0, "R01");
    decoded_is(&msh, 9, 1, 3, 0, "ORU_R01");
    decoded_is(&msh, 10, 0, 0, 0, "MSG00001");
    decoded_is(&msh, 12, 0, 0, 0, "2.5.1");
    int64_t t;
    assert_int_equal(hl7_ts_parse(hl7_field(&msh, 7), &t, NULL), ERR_OK);
    assert_int_equal(t, AT);
    hl7_seg pid = hl7_segment(&m, 1);
    decoded_is(&pid, 1, 0, 0, 0, "1");
    decoded_is(&pid, 2, 0, 0, 0, "");
    decoded_is(&pid, 3, 1, 1, 0, "00012345");
    decoded_is(&pid, 3, 1, 4, 1, "HOSP");
    decoded_is(&pid, 3, 1, 4, 2, "1.2.3.4");
    decoded_is(&pid, 3, 1, 4, 3, "ISO");
    decoded_is(&pid, 3, 1, 5, 0, "MR");
    decoded_is(&pid, 3, 2, 1, 0, "999-99-9999");
    decoded_is(&pid, 3, 2, 4, 0, "SSA");
    decoded_is(&pid, 3, 2, 5, 0, "SS");
    decoded_is(&pid, 5, 1, 1, 0, FAMILY);
    decoded_is(&pid, 5, 1, 2, 0, GIVEN);
    decoded_is(&pid, 7, 0, 0, 0, "19800229");
    decoded_is(&pid, 8, 0, 0, 0, "F");
    assert_int_equal(hl7_field_count(&pid), 8);
    hl7_seg obx = hl7_segment(&m, hl7_find(&m, "OBX", 0));
    decoded_is(&obx, 3, 1, 2, 0, "WBC");
    decoded_is(&obx, 5, 0, 0, 0, "7.5");
    decoded_is(&obx, 6, 1, 1, 0, UNIT);
    decoded_is(&obx, 6, 1, 3, 0, "UCUM");
    decoded_is(&obx, 7, 0, 0, 0, "4.0-11.0");
    decoded_is(&obx, 11, 0, 0, 0, "F");
    decoded_is(&obx, 14, 0, 0, 0, "20260301081542+0000");
    assert_int_equal(hl7_field_count(&obx), 14);
    hl7_seg obx2 = hl7_segment(&m, hl7_find(&m, "OBX", 4));
    decoded_is(&obx2, 5, 0, 0, 0, COMMENT);
    hl7_seg nte = hl7_segment(&m, 5);
    decoded_is(&nte, 3, 0, 0, 0, NOTE);
    arena_free(&a);
    buf_free(&b);
}

/* An ACK and a DFT^P03, byte for byte. */
static void test_writer_exact(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    hl7_writer w;
    char ts[HL7_TS_LEN];
    hl7_ts_format(AT, ts);
    hl7_writer_init(&w, &b);
    hl7_writer_segment(&w, "MSH");
    hl7_writer_field(&w, "LIS");
    hl7_writer_field(&w, "LAB");
    hl7_writer_field(&w, "ANALYZER");
    hl7_writer_field(&w, "LAB");
    hl7_writer_field(&w, ts);
    hl7_writer_field_at(&w, 9, "ACK");
    hl7_writer_component(&w, "R01");
    hl7_writer_component(&w, "ACK");
    hl7_writer_field(&w, "ACK0001");
    hl7_writer_field(&w, "P");
    hl7_writer_field(&w, "2.5.1");
    hl7_writer_segment(&w, "MSA");
    hl7_writer_field(&w, "AE");
    hl7_writer_field(&w, "MSG|1");
    hl7_writer_segment(&w, "ERR");
    hl7_writer_field_at(&w, 2, "OBX");
    hl7_writer_component(&w, "1");
    hl7_writer_component(&w, "5");
    hl7_writer_field(&w, "102");
    hl7_writer_component(&w, "Data type error");
    hl7_writer_component(&w, "HL70357");
    hl7_writer_field(&w, "E");
    assert_int_equal(hl7_writer_end(&w), ERR_OK);
    assert_string_equal(b.data, "MSH|^~\\&|LIS|LAB|ANALYZER|LAB|20260301081542+0000||ACK^R01^ACK|"
                                "ACK0001|P|2.5.1\r"
                                "MSA|AE|MSG\\F\\1\r"
                                "ERR||OBX^1^5|102^Data type error^HL70357|E\r");
    /* a second message appended to the same buf */
    hl7_writer_init(&w, &b);
    hl7_writer_segment(&w, "MSH");
    hl7_writer_field(&w, "LIS");
    hl7_writer_field_at(&w, 9, "DFT");
    hl7_writer_component(&w, "P03");
    hl7_writer_segment(&w, "FT1");
    hl7_writer_field(&w, "1");
    hl7_writer_field_at(&w, 6, "CG");
    hl7_writer_field(&w, "85025");
    hl7_writer_component(&w, "CBC W AUTO DIFF");
    hl7_writer_component(&w, "CPT");
    hl7_writer_field_at(&w, 10, "1");
    assert_int_equal(hl7_writer_end(&w), ERR_OK);
    assert_int_equal(hl7_writer_end(&w), ERR_OK); /* ending twice adds nothing */
    const char *dft = strstr(b.data, "MSH|^~\\&|LIS||||||DFT^P03\rFT1|1|||||CG|85025^CBC W AUTO "
                                     "DIFF^CPT|||1\r");
    assert_non_null(dft);
    assert_int_equal(b.data + b.len - dft, strlen(dft));
    buf_free(&b);
}

static void test_writer_errors(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    hl7_writer w;
    const char *bad_ids[] = {NULL, "", "PI", "PIDX", "pid", "1AB", "P-D"};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        hl7_writer_init(&w, &b);
        assert_int_equal(hl7_writer_segment(&w, bad_ids[i]), ERR_USAGE);
        assert_int_equal(hl7_writer_end(&w), ERR_USAGE);
    }
    hl7_writer_init(&w, &b);
    assert_int_equal(hl7_writer_field(&w, "x"), ERR_USAGE); /* no segment */
    hl7_writer_init(&w, &b);
    hl7_writer_segment(&w, "PID");
    assert_int_equal(hl7_writer_component(&w, "x"), ERR_USAGE); /* before field 1 */
    assert_int_equal(hl7_writer_field(&w, "1"), ERR_USAGE);     /* sticky */
    hl7_writer_init(&w, &b);
    hl7_writer_segment(&w, "MSH");
    assert_int_equal(hl7_writer_repetition(&w, "x"), ERR_USAGE); /* into MSH-2 */
    hl7_writer_init(&w, &b);
    hl7_writer_segment(&w, "MSH");
    assert_int_equal(hl7_writer_field_at(&w, 2, "x"), ERR_USAGE);
    hl7_writer_init(&w, &b);
    hl7_writer_segment(&w, "OBX");
    hl7_writer_field_at(&w, 5, "x");
    assert_int_equal(hl7_writer_field_at(&w, 5, "y"), ERR_USAGE);
    assert_int_equal(hl7_writer_put(&w, (hl7_level)42, "x", 1), ERR_USAGE);
    buf_free(&b);
}

/*
 * An independent reader: Debian's python3-hl7 (/usr/bin/python3, not a Python
 * found on PATH) parses the writer's output; every value it reads, unescaped,
 * must be the text the writer was given. Values travel back as hex, one per
 * line, so that line breaks and UTF-8 inside them compare exactly.
 */
static const char py_script[] = "import sys, hl7\n"
                                "m = hl7.parse(sys.stdin.buffer.read().decode('utf-8'))\n"
                                "print(len(m))\n"
                                "for k in sys.argv[1:]:\n"
                                "    print(str(m[k]).encode('utf-8').hex())\n";

static const struct {
    const char *key, *want;
} py_checks[] = {
    {"MSH.F1", "|"},
    {"MSH.F2", "^~\\&"},
    {"MSH.F3", "BENCHSIDE"},
    {"MSH.F7", "20260301081542+0000"},
    {"MSH.F9.R1.C1", "ORU"},
    {"MSH.F9.R1.C2", "R01"},
    {"MSH.F9.R1.C3", "ORU_R01"},
    {"MSH.F10", "MSG00001"},
    {"MSH.F12", "2.5.1"},
    {"PID.F3.R1.C1", "00012345"},
    {"PID.F3.R1.C4.S2", "1.2.3.4"},
    {"PID.F3.R1.C5", "MR"},
    {"PID.F3.R2.C1", "999-99-9999"},
    {"PID.F3.R2.C5", "SS"},
    {"PID.F5.R1.C1", FAMILY},
    {"PID.F5.R1.C2", GIVEN},
    {"PID.F7", "19800229"},
    {"OBR.F4.R1.C2", "CBC panel"},
    {"OBX.F3.R1.C2", "WBC"},
    {"OBX.F5", "7.5"},
    {"OBX.F6.R1.C1", UNIT},
    {"OBX.F14", "20260301081542+0000"},
    {"OBX2.F5", COMMENT},
    {"NTE.F3", NOTE},
};

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void test_python_hl7_reads_writer_output(void **state)
{
    (void)state;
    buf b = BUF_INIT;
    build_oru(&b, AT);
    char msg_path[] = "/tmp/benchside-hl7-XXXXXX";
    int fd = mkstemp(msg_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    char script_path[] = "/tmp/benchside-hl7py-XXXXXX";
    fd = mkstemp(script_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, py_script, sizeof(py_script) - 1), (ssize_t)sizeof(py_script) - 1);
    close(fd);

    buf cmd = BUF_INIT;
    assert_int_equal(buf_printf(&cmd, "/usr/bin/python3 %s", script_path), ERR_OK);
    for (size_t i = 0; i < sizeof(py_checks) / sizeof(py_checks[0]); i++) {
        /* keys are fixed strings of this file; "OBX2" is the second OBX */
        assert_int_equal(buf_printf(&cmd, " '%s'", py_checks[i].key), ERR_OK);
    }
    assert_int_equal(buf_printf(&cmd, " < %s 2>&1", msg_path), ERR_OK);
    FILE *p = popen(cmd.data, "r");
    assert_non_null(p);
    char line[4096];
    buf all = BUF_INIT;
    size_t n = 0;
    bool first = true;
    while (fgets(line, sizeof(line), p)) {
        buf_puts(&all, line);
        line[strcspn(line, "\n")] = '\0';
        if (first) {
            first = false;
            if (strcmp(line, "6") != 0)
                break;
            continue;
        }
        if (n >= sizeof(py_checks) / sizeof(py_checks[0]))
            break;
        char got[2048];
        size_t len = strlen(line), g = 0;
        for (size_t i = 0; i + 1 < len && g < sizeof(got) - 1; i += 2)
            got[g++] = (char)(hexval(line[i]) * 16 + hexval(line[i + 1]));
        got[g] = '\0';
        if (strcmp(got, py_checks[n].want) != 0)
            fail_msg("python3-hl7 read %s as \"%s\", want \"%s\"", py_checks[n].key, got,
                     py_checks[n].want);
        n++;
    }
    int status = pclose(p);
    unlink(msg_path);
    unlink(script_path);
    if (status != 0 || n != sizeof(py_checks) / sizeof(py_checks[0]))
        fail_msg("python3-hl7 (apt package python3-hl7, scripts/install-deps) did not read the "
                 "writer's message: exit %d, %zu of %zu values; output:\n%s",
                 status, n, sizeof(py_checks) / sizeof(py_checks[0]), all.data ? all.data : "");
    buf_free(&all);
    buf_free(&cmd);
    buf_free(&b);
}

/* --- TS ------------------------------------------------------------------- */

static void ts_is(const char *in, const char *iso)
{
    int64_t t = -1;
    errinfo ei;
    err_clear(&ei);
    err_t rc = hl7_ts_parse(sv(in), &t, &ei);
    if (rc != ERR_OK)
        fail_msg("hl7_ts_parse(\"%s\"): %s", in, ei.message);
    char got[TIME_ISO_LEN];
    time_format_iso(t, got);
    if (strcmp(got, iso) != 0)
        fail_msg("hl7_ts_parse(\"%s\") = %s, want %s", in, got, iso);
}

static void ts_bad(const char *in, const char *message_start)
{
    int64_t t = 12345;
    errinfo ei;
    err_clear(&ei);
    assert_int_equal(hl7_ts_parse(sv(in), &t, &ei), ERR_INVALID);
    assert_int_equal(t, 12345);
    if (strncmp(ei.message, message_start, strlen(message_start)) != 0)
        fail_msg("hl7_ts_parse(\"%s\"): \"%s\"", in, ei.message);
}

static void test_ts(void **state)
{
    (void)state;
    ts_is("2008", "2008-01-01T00:00:00.000000Z");
    ts_is("200808", "2008-08-01T00:00:00.000000Z");
    ts_is("20080815", "2008-08-15T00:00:00.000000Z");
    ts_is("2008081510", "2008-08-15T10:00:00.000000Z");
    ts_is("200808151030", "2008-08-15T10:30:00.000000Z");
    ts_is("20080815103045", "2008-08-15T10:30:45.000000Z");
    ts_is("20080815103045.1", "2008-08-15T10:30:45.100000Z");
    ts_is("20080815103045.1234", "2008-08-15T10:30:45.123400Z");
    ts_is("20080815103045.123456", "2008-08-15T10:30:45.123456Z");
    ts_is("200808151030-0700", "2008-08-15T17:30:00.000000Z");
    ts_is("20080815-0700", "2008-08-15T07:00:00.000000Z");
    ts_is("2008+0100", "2007-12-31T23:00:00.000000Z");
    ts_is("20080818183002.1-0700", "2008-08-19T01:30:02.100000Z");
    ts_is("20260301081542+0530", "2026-03-01T02:45:42.000000Z");
    ts_is("20260301081542+0000", "2026-03-01T08:15:42.000000Z");
    ts_is("20240229", "2024-02-29T00:00:00.000000Z");
    ts_is("20161231235960", "2016-12-31T23:59:59.000000Z"); /* leap second */
    ts_is("19691231235959", "1969-12-31T23:59:59.000000Z");
    ts_is("00010101", "0001-01-01T00:00:00.000000Z");
    const char *form = "not an HL7 date/time";
    ts_bad("", form);
    ts_bad("200", form);
    ts_bad("20081", form);
    ts_bad("200808151", form);
    ts_bad("2008081510304", form);
    ts_bad("200808151030451", form);
    ts_bad("2008-08-15", form);
    ts_bad("20080815 ", form);
    ts_bad(" 20080815", form);
    ts_bad("2008.5", form);
    ts_bad("200808151030.5", form); /* a fraction needs seconds */
    ts_bad("20080815103045.", form);
    ts_bad("20080815103045.1234567", form);
    ts_bad("20080815103045+07", form);
    ts_bad("20080815103045+07000", form);
    ts_bad("20080815103045+07a0", form);
    ts_bad("20080815103045-0700x", form);
    ts_bad("2008081510^M", form);
    ts_bad("200813", "not a calendar date");
    ts_bad("20080230", "not a calendar date");
    ts_bad("20230229", "not a calendar date");
    ts_bad("00000101", "not a calendar date");
    ts_bad("200808150000+2400", "not a UTC offset");
    ts_bad("200808150000+0060", "not a UTC offset");
    ts_bad("2008081524", "not a time of day");
    ts_bad("200808152360", "not a time of day");
    ts_bad("20080815235961", "not a time of day");
    int64_t t;
    assert_int_equal(hl7_ts_parse((strv){NULL, 0}, &t, NULL), ERR_INVALID);

    char out[HL7_TS_LEN];
    hl7_ts_format(0, out);
    assert_string_equal(out, "19700101000000+0000");
    hl7_ts_format(AT + 999999, out); /* sub-second digits dropped */
    assert_string_equal(out, "20260301081542+0000");
    hl7_ts_format(-500000, out); /* 1969-12-31T23:59:59.5Z, rounded down */
    assert_string_equal(out, "19691231235959+0000");
    hl7_ts_format(INT64_MAX, out);
    assert_string_equal(out, "99991231235959+0000");
    hl7_ts_format(INT64_MIN, out);
    assert_string_equal(out, "00010101000000+0000");
    assert_int_equal(strlen(out), HL7_TS_LEN - 1);
    /* random instants: format, parse back, and agree with ISO 8601 */
    for (int i = 0; i < 2000; i++) {
        int64_t at =
            (int64_t)(rnd() % (UINT64_C(253402300799) * 1000000)) - INT64_C(62135596800000000);
        at -= at % 1000000;
        hl7_ts_format(at, out);
        int64_t back;
        assert_int_equal(hl7_ts_parse(sv(out), &back, NULL), ERR_OK);
        assert_int_equal(back, at);
        char iso[TIME_ISO_LEN];
        time_format_iso(at, iso);
        char want[HL7_TS_LEN];
        snprintf(want, sizeof(want), "%.4s%.2s%.2s%.2s%.2s%.2s+0000", iso, iso + 5, iso + 8,
                 iso + 11, iso + 14, iso + 17);
        assert_string_equal(out, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_parse),
        cmocka_unit_test(test_nist_case1),
        cmocka_unit_test(test_hepatitis_c),
        cmocka_unit_test(test_cerner_lead),
        cmocka_unit_test(test_wrapped_and_joined),
        cmocka_unit_test(test_bad_phone),
        cmocka_unit_test(test_other_delimiters),
        cmocka_unit_test(test_terminators),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_many_segments),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_roundtrip),
        cmocka_unit_test(test_writer_roundtrip),
        cmocka_unit_test(test_writer_exact),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_python_hl7_reads_writer_output),
        cmocka_unit_test(test_ts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
