/*
 * test_label.c - unit tests of src/lab/label: the ZPL label's structure,
 * barcode subsets and module widths, escaping of hostile text (no name can add
 * a ZPL command), UTF-8 pass-through and cutting, validation; the PDF label
 * rendered at 300 dpi with pdftoppm (poppler-utils) and its barcode decoded
 * with zbarimg (zbar-tools), its page size and text checked with pdfinfo and
 * pdftotext. The PDF tests fail, not skip, when a tool is missing.
 *
 * External tools run from a fresh temporary directory with fixed command
 * strings (no data in any command); the directory is removed afterwards.
 * One rendered label is kept as /tmp/benchside-label.png for people to look at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "lab/label.h"

#define PREVIEW_PNG "/tmp/benchside-label.png"

/* 2026-03-01T08:15:42Z */
#define COLLECTED_AT INT64_C(1772352942000000)

static label_data sample(void)
{
    label_data l = {
        .accession = "261230001234",
        .family = "Smith",
        .given = "Anna",
        .mrn = "00012345",
        .birth_date = "1980-02-29",
        .sex = "female",
        .container = "EDTA (lavender)",
        .specimen_type = "Whole blood",
        .collected_at = COLLECTED_AT,
        .tests = "CBC BMP",
        .priority = "routine",
    };
    return l;
}

/* --- Reading ZPL back ------------------------------------------------------ */

static size_t count_str(const char *s, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

#define MAX_FIELDS 32
#define FIELD_SIZE 512

typedef struct zpl_fields {
    size_t n;
    char text[MAX_FIELDS][FIELD_SIZE];
} zpl_fields;

/*
 * Every ^FD...^FS field of zpl, decoded as the printer would: after ^FH, each
 * "_XX" is the byte 0xXX. Fails the test on a field that is not closed, a bad
 * escape, or a raw control byte in the data.
 */
static void read_fields(const char *zpl, zpl_fields *f)
{
    f->n = 0;
    for (const char *p = strstr(zpl, "^FD"); p; p = strstr(p, "^FD")) {
        bool hex = p - zpl >= 3 && strncmp(p - 3, "^FH", 3) == 0;
        const char *d = p + 3;
        const char *end = strstr(d, "^FS");
        assert_non_null(end);
        /* The data ends at the first '^': nothing inside may start a command. */
        assert_ptr_equal(strchr(d, '^'), end);
        assert_true(f->n < MAX_FIELDS);
        char *o = f->text[f->n];
        size_t k = 0;
        for (const char *c = d; c < end; c++) {
            assert_true(k + 1 < FIELD_SIZE);
            assert_false((unsigned char)*c < 0x20 || *c == 0x7F);
            assert_true(*c != '~');
            if (hex && *c == '_') {
                assert_true(end - c >= 3);
                int hi = hexval(c[1]), lo = hexval(c[2]);
                assert_true(hi >= 0 && lo >= 0);
                o[k++] = (char)(hi * 16 + lo);
                c += 2;
            } else {
                o[k++] = *c;
            }
        }
        o[k] = '\0';
        f->n++;
        p = end;
    }
}

static bool has_field(const zpl_fields *f, const char *text)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->text[i], text) == 0)
            return true;
    return false;
}

static void zpl_of(const label_data *l, buf *out)
{
    errinfo ei;
    err_clear(&ei);
    buf_reset(out);
    err_t rc = label_zpl(l, out, &ei);
    if (rc != ERR_OK)
        fail_msg("label_zpl: %s (%s: %s)", err_name(rc), ei.field, ei.message);
}

/* Number of Unicode code points of the valid UTF-8 string s (fails if invalid). */
static size_t utf8_count(const char *s)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t len = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC2 ? 2 : 0;
        assert_true(len > 0);
        for (size_t i = 1; i < len; i++)
            assert_int_equal(p[i] & 0xC0, 0x80);
        p += len;
        n++;
    }
    return n;
}

/* --- ZPL ------------------------------------------------------------------- */

static void test_zpl_structure(void **state)
{
    (void)state;
    label_data l = sample();
    buf out = BUF_INIT;
    zpl_fields f;
    zpl_of(&l, &out);
    const char *z = out.data;

    assert_memory_equal(z, "^XA", 3);
    assert_true(out.len >= 4);
    size_t end = out.len;
    while (end > 0 && (z[end - 1] == '\n' || z[end - 1] == '\r'))
        end--;
    assert_memory_equal(z + end - 3, "^XZ", 3);
    assert_int_equal(count_str(z, "^XA"), 1);
    assert_int_equal(count_str(z, "^XZ"), 1);
    assert_non_null(strstr(z, "^CI28"));
    assert_non_null(strstr(z, "^PW406"));
    assert_non_null(strstr(z, "^LL203"));
    /* Code 128, 60 dots high, no interpretation line; 12 digits in subset C. */
    assert_non_null(strstr(z, "^BCN,60,N,N,N^FD>;261230001234^FS"));
    assert_int_equal(count_str(z, "^BC"), 1);
    assert_int_equal(count_char(z, '~'), 0);
    assert_null(strstr(z, "STAT"));

    read_fields(z, &f);
    assert_true(has_field(&f, ">;261230001234"));
    assert_true(has_field(&f, "261230001234"));
    assert_true(has_field(&f, "SMITH, Anna"));
    assert_true(has_field(&f, "MRN 00012345"));
    assert_true(has_field(&f, "DOB 1980-02-29"));
    assert_true(has_field(&f, "F"));
    assert_true(has_field(&f, "EDTA (lavender), Whole blood"));
    assert_true(has_field(&f, "Coll: 2026-03-01 08:15 UTC"));
    assert_true(has_field(&f, "CBC BMP"));

    /* Appends: what was in the buffer stays. */
    buf_reset(&out);
    buf_puts(&out, "head\n");
    assert_int_equal(label_zpl(&l, &out, NULL), ERR_OK);
    assert_memory_equal(out.data, "head\n^XA", 8);
    buf_free(&out);
}

static void test_zpl_barcode(void **state)
{
    (void)state;
    static const struct {
        const char *accession, *data, *by;
    } cases[] = {
        /* 12 digits, subset C: 101 modules, 3 dots each fit with quiet zones. */
        {"261230001234", "^FD>;261230001234^FS", "^BY3,"},
        {"00", "^FD>;00^FS", "^BY3,"},
        /* Odd digit count: subset B, 134 modules, 2 dots. */
        {"123456789", "^FD>:123456789^FS", "^BY2,"},
        {"A24-0001", "^FD>:A24-0001^FS", "^BY2,"},
        {"7", "^FD>:7^FS", "^BY3,"},
        /* The longest: 255 modules, 1 dot. */
        {"ABCDEFGHIJ0123456789", "^FD>:ABCDEFGHIJ0123456789^FS", "^BY1,"},
        {"12345678901234567890", "^FD>;12345678901234567890^FS", "^BY2,"},
    };
    buf out = BUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        label_data l = sample();
        l.accession = cases[i].accession;
        zpl_of(&l, &out);
        if (!strstr(out.data, cases[i].data) || !strstr(out.data, cases[i].by))
            fail_msg("accession %s: want %s and %s in\n%s", cases[i].accession, cases[i].data,
                     cases[i].by, out.data);
    }
    buf_free(&out);
}

static void test_zpl_injection(void **state)
{
    (void)state;
    static const struct {
        const char *family, *given, *name;
    } cases[] = {
        {"X^XZ^XA^FO0,0^FDPWNED", "~JR", "X^XZ^XA^FO0,0^FDPWNED, ~JR"},
        {"o_5E_hex", "a\nb\r\nc\td", "O_5E_HEX, a b c d"},
        {"\x01\x1b[31mevil\x7f", "\xc2\x85x", "[31MEVIL, x"},
        {"ab\xff\xc3",
         "\xe2\x80\xae"
         "Anna",
         "AB??, Anna"},
        {"^FS^XZ", "~DGR:X.GRF,2,1,FF^FS", "^FS^XZ, ~DGR:X.GRF,2,1,FF^FS"},
        {"  lee  \n", "\n\n ^ ~ _ ", "LEE, ^ ~ _"},
        {"\n\x1b\x07", "\r\n", ""},
    };
    label_data l = sample();
    buf out = BUF_INIT;
    zpl_fields f;
    zpl_of(&l, &out);
    size_t carets = count_char(out.data, '^');

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        l.family = cases[i].family;
        l.given = cases[i].given;
        l.container = cases[i].family; /* other fields are escaped the same way */
        l.tests = cases[i].given;
        zpl_of(&l, &out);
        if (count_char(out.data, '^') != carets)
            fail_msg("case %zu: %zu '^' instead of %zu in\n%s", i, count_char(out.data, '^'),
                     carets, out.data);
        assert_int_equal(count_char(out.data, '~'), 0);
        assert_int_equal(count_str(out.data, "^XA"), 1);
        assert_int_equal(count_str(out.data, "^XZ"), 1);
        read_fields(out.data, &f);
        if (!has_field(&f, cases[i].name))
            fail_msg("case %zu: no field \"%s\" in\n%s", i, cases[i].name, out.data);
    }
    /* The escapes themselves, as the printer reads them after ^FH. */
    l.family = "a^b";
    l.given = "c~d_e";
    zpl_of(&l, &out);
    assert_non_null(strstr(out.data, "^FH^FDA_5EB, c_7Ed_5Fe^FS"));
    buf_free(&out);
}

static void test_zpl_utf8(void **state)
{
    (void)state;
    label_data l = sample();
    buf out = BUF_INIT;
    zpl_fields f;

    l.family = "Müller";
    l.given = "Ngọc";
    zpl_of(&l, &out);
    assert_non_null(strstr(out.data, "^FH^FDMÜLLER, Ngọc^FS"));
    read_fields(out.data, &f);
    assert_true(has_field(&f, "MÜLLER, Ngọc"));

    static const struct {
        const char *family, *upper;
    } cases[] = {
        {"nguyễn", "NGUYỄN"},
        {"иванов", "ИВАНОВ"},
        {"łukasiewicz", "ŁUKASIEWICZ"},
        {"straße", "STRAßE"},
        {"παπαδόπουλος", "ΠΑΠΑΔΌΠΟΥΛΟΣ"},
        {"ÿ", "Ÿ"},
        {"o'brien-žák", "O'BRIEN-ŽÁK"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[128];
        l.family = cases[i].family;
        l.given = "";
        zpl_of(&l, &out);
        read_fields(out.data, &f);
        snprintf(want, sizeof(want), "%s", cases[i].upper);
        if (!has_field(&f, want))
            fail_msg("family %s: no field \"%s\" in\n%s", cases[i].family, want, out.data);
    }
    buf_free(&out);
}

static void test_zpl_cut(void **state)
{
    (void)state;
    label_data l = sample();
    buf out = BUF_INIT;
    zpl_fields f;
    char longname[401], longtests[401], umlauts[2 * 100 + 1];
    memset(longname, 'W', 400);
    longname[400] = '\0';
    memset(longtests, 'T', 400);
    longtests[400] = '\0';
    for (size_t i = 0; i < 100; i++)
        memcpy(umlauts + 2 * i, "ü", 2);
    umlauts[200] = '\0';

    /* The name line holds 28 characters in the large font; a longer name
     * goes to the small font, which holds 35, and is cut there. The tests
     * line holds 35. */
    zpl_of(&l, &out);
    assert_non_null(strstr(out.data, "^A0N,22,22^FH^FDSMITH, Anna^FS"));
    l.family = "Müller-Lüdenscheidt";
    l.given = "Ngọc Anh";
    zpl_of(&l, &out);
    assert_non_null(strstr(out.data, "^A0N,18,18^FH^FDMÜLLER-LÜDENSCHEIDT, Ngọc Anh^FS"));
    l.family = longname;
    l.tests = longtests;
    zpl_of(&l, &out);
    read_fields(out.data, &f);
    assert_true(has_field(&f, "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"));
    assert_true(has_field(&f, "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT"));

    /* Cut on characters, never inside a UTF-8 sequence. */
    l.family = NULL;
    l.given = umlauts;
    zpl_of(&l, &out);
    read_fields(out.data, &f);
    bool found = false;
    for (size_t i = 0; i < f.n; i++) {
        if (strncmp(f.text[i], "üü", 4) == 0) {
            assert_int_equal(utf8_count(f.text[i]), 35);
            assert_int_equal(strlen(f.text[i]), 70);
            found = true;
        }
    }
    assert_true(found);

    /* A cut right after the comma leaves no space at the end. */
    l.family = "abcdefghijklmnopqrstuvwxyzabcdefgh";
    l.given = "Jo";
    zpl_of(&l, &out);
    read_fields(out.data, &f);
    assert_true(has_field(&f, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH,"));

    /* The MRN line: "MRN " and 14 characters. */
    l.mrn = "123456789012345678901234567890";
    zpl_of(&l, &out);
    read_fields(out.data, &f);
    assert_true(has_field(&f, "MRN 12345678901234"));
    buf_free(&out);
}

static void test_zpl_priority(void **state)
{
    (void)state;
    label_data l = sample();
    buf out = BUF_INIT;

    l.priority = "stat";
    zpl_of(&l, &out);
    assert_int_equal(count_str(out.data, "STAT"), 1);
    assert_non_null(strstr(out.data, "^FR^FDSTAT^FS")); /* reversed, over a black box */
    assert_non_null(strstr(out.data, "^GB"));

    const char *others[] = {"routine", "asap", NULL};
    for (size_t i = 0; i < 3; i++) {
        l.priority = others[i];
        zpl_of(&l, &out);
        assert_null(strstr(out.data, "STAT"));
        assert_null(strstr(out.data, "^FR"));
        if (others[i] && strcmp(others[i], "asap") == 0)
            assert_non_null(strstr(out.data, "^FDASAP^FS"));
        else
            assert_null(strstr(out.data, "ASAP"));
    }
    buf_free(&out);
}

static void test_zpl_optional_fields(void **state)
{
    (void)state;
    static const struct {
        const char *sex, *letter;
    } sexes[] = {{"female", "F"}, {"male", "M"}, {"other", "O"}, {"unknown", "U"}};
    label_data l = {.accession = "1"};
    buf out = BUF_INIT;
    zpl_fields f;

    /* Only the accession: everything else prints empty, nothing fails. */
    zpl_of(&l, &out);
    read_fields(out.data, &f);
    assert_true(has_field(&f, "1"));
    assert_true(has_field(&f, ""));
    assert_true(has_field(&f, "MRN"));
    assert_true(has_field(&f, "DOB"));
    assert_true(has_field(&f, "Coll: ____"));
    assert_null(strstr(out.data, "STAT"));

    /* Empty strings are as NULL. */
    l.sex = "";
    l.priority = "";
    l.birth_date = "";
    zpl_of(&l, &out);
    assert_null(strstr(out.data, "STAT"));

    /* Only one name part: no dangling comma. */
    l.family = "Doe";
    zpl_of(&l, &out);
    read_fields(out.data, &f);
    assert_true(has_field(&f, "DOE"));
    l.family = NULL;
    l.given = "Jane";
    zpl_of(&l, &out);
    read_fields(out.data, &f);
    assert_true(has_field(&f, "Jane"));
    l.container = "SST (gold)";
    zpl_of(&l, &out);
    read_fields(out.data, &f);
    assert_true(has_field(&f, "SST (gold)"));

    for (size_t i = 0; i < 4; i++) {
        l.sex = sexes[i].sex;
        zpl_of(&l, &out);
        read_fields(out.data, &f);
        assert_true(has_field(&f, sexes[i].letter));
    }
    buf_free(&out);
}

typedef err_t (*label_fn)(const label_data *, buf *, errinfo *);

static void expect_invalid(label_fn fn, const label_data *l, const char *field)
{
    buf out = BUF_INIT;
    errinfo ei;
    err_clear(&ei);
    buf_puts(&out, "kept");
    err_t rc = fn(l, &out, &ei);
    if (rc != ERR_INVALID || strcmp(ei.field, field) != 0)
        fail_msg("want invalid %s, got %s field \"%s\"", field, err_name(rc), ei.field);
    assert_true(ei.message[0] != '\0');
    assert_string_equal(out.data, "kept"); /* nothing appended */
    assert_int_equal(out.len, 4);
    buf_free(&out);
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *const bad_accessions[] = {
        "",    "abc",  "12 34", "12^XZ", "123456789012345678901", "A_1", "\303\2041", /* "Ä1" */
        "1\n", "12.3",
    };
    label_fn fns[] = {label_zpl, label_pdf};
    for (size_t k = 0; k < 2; k++) {
        label_data l = sample();
        l.accession = NULL;
        expect_invalid(fns[k], &l, "accession");
        for (size_t i = 0; i < sizeof(bad_accessions) / sizeof(bad_accessions[0]); i++) {
            l.accession = bad_accessions[i];
            expect_invalid(fns[k], &l, "accession");
        }
        expect_invalid(fns[k], NULL, "accession");

        l = sample();
        l.sex = "F";
        expect_invalid(fns[k], &l, "sex");
        l = sample();
        l.priority = "urgent";
        expect_invalid(fns[k], &l, "priority");
        l = sample();
        l.birth_date = "1981-02-29";
        expect_invalid(fns[k], &l, "birth_date");
        l.birth_date = "1980-02-29T00:00Z";
        expect_invalid(fns[k], &l, "birth_date");
        l.birth_date = "80-01-01";
        expect_invalid(fns[k], &l, "birth_date");
        l = sample();
        l.collected_at = -1;
        expect_invalid(fns[k], &l, "collected_at");
    }
    /* The longest accession is fine. */
    label_data l = sample();
    buf out = BUF_INIT;
    l.accession = "ABCDEFGHIJ-123456789";
    assert_int_equal(label_zpl(&l, &out, NULL), ERR_OK);
    buf_free(&out);
}

/* --- PDF ------------------------------------------------------------------- */

static void test_pdf_basic(void **state)
{
    (void)state;
    label_data l = sample();
    buf out = BUF_INIT;
    errinfo ei;
    err_clear(&ei);
    err_t rc = label_pdf(&l, &out, &ei);
    if (rc != ERR_OK)
        fail_msg("label_pdf: %s: %s", err_name(rc), ei.message);
    assert_true(out.len > 1000);
    assert_true(out.len < 256 * 1024);
    assert_memory_equal(out.data, "%PDF-", 5);
    assert_non_null(strstr(out.data + out.len - 32, "%%EOF"));

    /* Appends after what was there. */
    buf other = BUF_INIT;
    buf_puts(&other, "x");
    assert_int_equal(label_pdf(&l, &other, NULL), ERR_OK);
    assert_memory_equal(other.data, "x%PDF-", 6);
    buf_free(&other);
    buf_free(&out);
}

/* The scratch directory the external tools run in (by fixed commands), made
 * by scratch_setup and removed by scratch_teardown, which cmocka runs even
 * when the test fails. */
typedef struct scratch {
    char dir[64];
    int home; /* the working directory to return to */
} scratch;

static scratch the_scratch;

static void require_tool(const char *check, const char *tool, const char *package)
{
    if (system(check) != 0)
        fail_msg("%s is not installed (Debian package %s): run scripts/install-deps", tool,
                 package);
}

static int scratch_setup(void **state)
{
    scratch *s = &the_scratch;
    require_tool("command -v pdftoppm >/dev/null 2>&1", "pdftoppm", "poppler-utils");
    require_tool("command -v pdfinfo >/dev/null 2>&1", "pdfinfo", "poppler-utils");
    require_tool("command -v pdftotext >/dev/null 2>&1", "pdftotext", "poppler-utils");
    require_tool("command -v zbarimg >/dev/null 2>&1", "zbarimg", "zbar-tools");
    snprintf(s->dir, sizeof(s->dir), "/tmp/benchside-label-test-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    s->home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(s->home >= 0);
    assert_int_equal(chdir(s->dir), 0);
    *state = s;
    return 0;
}

static int scratch_teardown(void **state)
{
    scratch *s = *state;
    static const char *const files[] = {"label.pdf", "label.png", "zbarimg.err"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    assert_int_equal(fchdir(s->home), 0);
    close(s->home);
    assert_int_equal(rmdir(s->dir), 0);
    return 0;
}

static void write_file(const char *path, const buf *b)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    assert_int_equal(fclose(f), 0);
}

/* Run a fixed command; its standard output in out (NUL-terminated). Returns
 * its exit status, -1 when it did not run. */
static int run(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = 0, got;
    char discard[256];
    while (n + 1 < size && (got = fread(out + n, 1, size - 1 - n, p)) > 0)
        n += got;
    out[n] = '\0';
    while (fread(discard, 1, sizeof(discard), p) > 0) /* let the command finish */
        ;
    int st = pclose(p);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Write l as label.pdf and render label.png at 300 dpi. */
static void render(const label_data *l)
{
    buf pdf = BUF_INIT;
    errinfo ei;
    char msg[512];
    err_clear(&ei);
    err_t rc = label_pdf(l, &pdf, &ei);
    if (rc != ERR_OK)
        fail_msg("label_pdf(%s): %s: %s", l->accession, err_name(rc), ei.message);
    write_file("label.pdf", &pdf);
    buf_free(&pdf);
    if (run("pdftoppm -r 300 -png -singlefile label.pdf label 2>&1", msg, sizeof(msg)) != 0)
        fail_msg("pdftoppm failed: %s", msg);
}

/* Width and height of a PNG from its IHDR chunk. */
static void png_size(const char *path, uint32_t *w, uint32_t *h)
{
    unsigned char head[24];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
    fclose(f);
    assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(head + 12, "IHDR", 4);
    *w = (uint32_t)head[16] << 24 | (uint32_t)head[17] << 16 | (uint32_t)head[18] << 8 | head[19];
    *h = (uint32_t)head[20] << 24 | (uint32_t)head[21] << 16 | (uint32_t)head[22] << 8 | head[23];
}

/* Decode label.png with zbarimg: exactly the accession, nothing else. */
static void expect_scan(const char *accession)
{
    char got[256], err[512] = "";
    int st = run("zbarimg --raw -q label.png 2>zbarimg.err", got, sizeof(got));
    size_t n = strlen(got);
    while (n > 0 && (got[n - 1] == '\n' || got[n - 1] == '\r'))
        got[--n] = '\0';
    if (st != 0 || strcmp(got, accession) != 0) {
        FILE *f = fopen("zbarimg.err", "r");
        if (f) {
            err[fread(err, 1, sizeof(err) - 1, f)] = '\0';
            fclose(f);
        }
        fail_msg("accession %s: zbarimg exit %d, read \"%s\"; %s", accession, st, got, err);
    }
}

static void test_pdf_barcode_scans(void **state)
{
    (void)state;
    static const char *const accessions[] = {
        "261230001234",         /* 12 digits: the real format, subset C */
        "123456789",            /* odd digit count */
        "00",                   /* shortest even */
        "7",                    /* one digit */
        "A24-000123",           /* letters and dash */
        "ZZ-1",                 /* short, mixed */
        "ABCDEFGHIJ0123456789", /* the longest, widest in modules */
        "12345678901234567890", /* 20 digits */
    };
    for (size_t i = 0; i < sizeof(accessions) / sizeof(accessions[0]); i++) {
        label_data l = sample();
        l.accession = accessions[i];
        l.priority = i % 2 ? "stat" : "routine";
        render(&l);
        uint32_t w, h;
        png_size("label.png", &w, &h);
        assert_int_equal(w, 600); /* 2 x 1 inch at 300 dpi */
        assert_int_equal(h, 300);
        expect_scan(accessions[i]);
        unlink("label.png");
        unlink("label.pdf");
    }
}

/* A full STAT label: page size, text as printed, and the preview PNG. */
static void test_pdf_text_and_preview(void **state)
{
    (void)state;
    char out[4096];
    label_data l = sample();
    l.family = "Müller-Lüdenscheidt";
    l.given = "Ngọc Anh";
    l.priority = "stat";
    l.collected_at = 0;
    render(&l);

    assert_int_equal(run("pdfinfo label.pdf", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Pages:"));
    assert_non_null(strstr(out, "Pages:           1\n"));
    if (!strstr(out, "Page size:       144 x 72 pts"))
        fail_msg("pdfinfo:\n%s", out);

    assert_int_equal(run("pdftotext -enc UTF-8 label.pdf -", out, sizeof(out)), 0);
    static const char *const want[] = {
        "261230001234", "MÜLLER-LÜDENSCHEIDT, Ngọc Anh", "MRN 00012345", "DOB 1980-02-29",
        "Coll: ____",   "EDTA (lavender), Whole blood",  "CBC BMP",      "STAT",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(out, want[i]))
            fail_msg("\"%s\" not in the PDF's text:\n%s", want[i], out);

    expect_scan("261230001234");

    /* Keep one rendering for people to look at. */
    unlink(PREVIEW_PNG);
    assert_int_equal(rename("label.png", PREVIEW_PNG), 0);
}

/* The name cut to its measured width, on a routine label. */
static void test_pdf_long_name(void **state)
{
    (void)state;
    char out[4096], longname[201];
    memset(longname, 'W', 200);
    longname[200] = '\0';
    label_data l = sample();
    l.family = longname;
    l.tests = "CBC BMP LIPID TSH HBA1C PT INR APTT FERRITIN B12 FOLATE CRP ESR";
    render(&l);
    assert_int_equal(run("pdftotext -enc UTF-8 label.pdf -", out, sizeof(out)), 0);
    const char *w = strstr(out, "WWWW");
    assert_non_null(w);
    size_t n = strspn(w, "W");
    assert_true(n >= 10 && n < 40);
    assert_null(strstr(out, "FOLATE CRP ESR"));
    assert_null(strstr(out, "STAT"));
    expect_scan("261230001234");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zpl_structure),
        cmocka_unit_test(test_zpl_barcode),
        cmocka_unit_test(test_zpl_injection),
        cmocka_unit_test(test_zpl_utf8),
        cmocka_unit_test(test_zpl_cut),
        cmocka_unit_test(test_zpl_priority),
        cmocka_unit_test(test_zpl_optional_fields),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_pdf_basic),
        cmocka_unit_test_setup_teardown(test_pdf_barcode_scans, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_pdf_text_and_preview, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_pdf_long_name, scratch_setup, scratch_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* cairo and fontconfig keep caches for the life of the process: give them
     * back so that LeakSanitizer sees only real leaks. The test does not link
     * fontconfig itself (cairo does), so FcFini is looked up. */
    cairo_debug_reset_static_data();
    void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
    if (fc_fini)
        fc_fini();
    return failed;
}
