/*
 * catalog.c - the test catalog (see catalog.h): the rules a catalog document
 * must keep, its import in one transaction, its export, and the look-ups other
 * modules use (a test's view, its reference band, panel expansion, instrument
 * code resolution).
 *
 * Import reads the document twice: validate_* walk it and refuse the first
 * thing wrong, naming its JSON path; write_* walk it again, knowing it is
 * right, and bind its values. Codes and mappings are collected on the way for
 * the checks that span the document (duplicates, panel members) and for the
 * checks against the database, which run inside the write transaction.
 */
#include "lab/catalog.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"

#define JPATH_LEN        64    /* one JSON path, as long as errinfo.field */
#define STABILITY_MAX_H  87600 /* ten years */
#define DELTA_WINDOW_MAX 8760  /* one year */
#define TAT_MAX_MIN      100000

static const char *const sex_names[] = {"any", "female", "male"};

/* --------------------------------------------------------------- helpers */

static err_t failf(errinfo *ei, err_t code, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Refuse with field "path.key" (or whichever is given) and "path.key: message". */
static err_t failf(errinfo *ei, err_t code, const char *path, const char *key, const char *fmt, ...)
{
    char field[JPATH_LEN];
    char msg[400];
    va_list ap;
    if (path && *path && key)
        snprintf(field, sizeof(field), "%s.%s", path, key);
    else
        snprintf(field, sizeof(field), "%s", key ? key : (path ? path : ""));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(ei, code, field, "%s: %s", field, msg);
}

static void jpath(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A JSON path into out, cut at size (errinfo.field is as long): paths name, they do not parse. */
static void jpath(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, size, fmt, ap);
    va_end(ap);
}

static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Characters (code points) of valid UTF-8 s[0..n). */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/* 1..16 of A-Z 0-9 _ - */
static bool code_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > CATALOG_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Printable ASCII (spaces inside allowed, not at either end), 1..max bytes. */
static bool ascii_label_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 1 || n > max || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

const char *catalog_kind_name(catalog_kind k)
{
    switch (k) {
    case CATALOG_NUMERIC:
        return "numeric";
    case CATALOG_TEXT:
        return "text";
    case CATALOG_CODED:
        return "coded";
    }
    return "";
}

static catalog_kind kind_from_name(const char *s)
{
    if (!s)
        return 0;
    if (!strcmp(s, "numeric"))
        return CATALOG_NUMERIC;
    if (!strcmp(s, "text"))
        return CATALOG_TEXT;
    if (!strcmp(s, "coded"))
        return CATALOG_CODED;
    return 0;
}

/*
 * LOINC's check digit is the Luhn (mod 10) digit: from the right, every other
 * digit starting with the rightmost is doubled (digits of the product summed),
 * the others are added as they are, and the check digit brings the sum to a
 * multiple of ten.
 */
bool catalog_loinc_valid(const char *s, size_t n)
{
    size_t digits, sum = 0;
    if (!s || n < 3 || n > CATALOG_LOINC_MAX)
        return false;
    digits = n - 2;
    if (s[digits] != '-' || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (i != digits && (s[i] < '0' || s[i] > '9'))
            return false;
    for (size_t k = 0; k < digits; k++) {
        int d = s[digits - 1 - k] - '0';
        if (k % 2 == 0) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += (size_t)d;
    }
    return (int)((10 - sum % 10) % 10) == s[n - 1] - '0';
}

/* --------------------------------------------------- typed member reading */

static bool is_absent(const json_t *v)
{
    return !v || json_is_null(v);
}

/* obj[key]: a string of 1..max_chars characters without control characters, or absent. */
static err_t get_text(const json_t *obj, const char *key, const char *path, bool required,
                      size_t max_chars, const char **out, errinfo *ei)
{
    const json_t *v = json_object_get(obj, key);
    const char *s;
    size_t n, chars;
    *out = NULL;
    if (is_absent(v))
        return required ? failf(ei, ERR_MISSING_FIELD, path, key, "is required") : ERR_OK;
    if (!json_is_string(v))
        return failf(ei, ERR_INVALID, path, key, "must be a string");
    s = json_string_value(v);
    n = json_string_length(v);
    chars = utf8_chars(s, n);
    if (chars < 1 || chars > max_chars)
        return failf(ei, ERR_INVALID, path, key, "must be 1 to %zu characters", max_chars);
    if (strlen(s) != n || has_control(s, n))
        return failf(ei, ERR_INVALID, path, key, "must not hold control characters");
    *out = s;
    return ERR_OK;
}

/* obj[key]: a JSON integer in [min, max], or absent (*has false). */
static err_t get_int(const json_t *obj, const char *key, const char *path, bool required,
                     int64_t min, int64_t max, bool *has, int64_t *out, errinfo *ei)
{
    const json_t *v = json_object_get(obj, key);
    *has = false;
    *out = 0;
    if (is_absent(v))
        return required ? failf(ei, ERR_MISSING_FIELD, path, key, "is required") : ERR_OK;
    if (!json_is_integer(v))
        return failf(ei, ERR_INVALID, path, key, "must be a whole number");
    if (json_integer_value(v) < min || json_integer_value(v) > max)
        return failf(ei, ERR_INVALID, path, key, "must be %lld to %lld", (long long)min,
                     (long long)max);
    *has = true;
    *out = json_integer_value(v);
    return ERR_OK;
}

/* obj[key]: a finite JSON number, or absent (*has false). */
static err_t get_num(const json_t *obj, const char *key, const char *path, bool required, bool *has,
                     double *out, errinfo *ei)
{
    const json_t *v = json_object_get(obj, key);
    *has = false;
    *out = 0;
    if (is_absent(v))
        return required ? failf(ei, ERR_MISSING_FIELD, path, key, "is required") : ERR_OK;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return failf(ei, ERR_INVALID, path, key, "must be a number");
    *has = true;
    *out = json_number_value(v);
    return ERR_OK;
}

/* obj[key]: an object, or absent (*out NULL). */
static err_t get_obj(const json_t *obj, const char *key, const char *path, bool required,
                     const json_t **out, errinfo *ei)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (is_absent(v))
        return required ? failf(ei, ERR_MISSING_FIELD, path, key, "is required") : ERR_OK;
    if (!json_is_object(v))
        return failf(ei, ERR_INVALID, path, key, "must be an object");
    *out = v;
    return ERR_OK;
}

/* obj[key]: an array of at most max items, or absent (*out NULL). */
static err_t get_arr(const json_t *obj, const char *key, const char *path, bool required,
                     size_t max, const json_t **out, errinfo *ei)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (is_absent(v))
        return required ? failf(ei, ERR_MISSING_FIELD, path, key, "is required") : ERR_OK;
    if (!json_is_array(v))
        return failf(ei, ERR_INVALID, path, key, "must be an array");
    if (json_array_size(v) > max)
        return failf(ei, ERR_INVALID, path, key, "must have at most %zu items", max);
    *out = v;
    return ERR_OK;
}

/* Every member of obj is one of keys (NULL-terminated). */
static err_t check_keys(const json_t *obj, const char *path, const char *const *keys, errinfo *ei)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t i;
        for (i = 0; keys[i]; i++)
            if (!strcmp(keys[i], k))
                break;
        if (!keys[i])
            return failf(ei, ERR_UNKNOWN_FIELD, path, k, "unknown field");
    }
    return ERR_OK;
}

/* An object of path, with only keys. */
static err_t check_object(const json_t *v, const char *path, const char *const *keys, errinfo *ei)
{
    if (!json_is_object(v))
        return failf(ei, ERR_INVALID, path, NULL, "must be an object");
    return check_keys(v, path, keys, ei);
}

/* ---------------------------------------------------------- validation */

struct code_ref {
    const char *code;
    size_t idx;
};

struct map_ref {
    const char *instrument, *code;
    size_t test, idx;
};

struct band {
    int sex;
    int64_t min, max;
};

/* What validation gathers for the checks that span the document. */
struct vstate {
    struct code_ref *tests; /* sorted by code once all tests are read */
    size_t ntests;
    struct code_ref *panels;
    size_t npanels;
    struct map_ref *maps;
    size_t nmaps, capmaps;
};

static void vstate_free(struct vstate *vs)
{
    free(vs->tests);
    free(vs->panels);
    free(vs->maps);
    memset(vs, 0, sizeof(*vs));
}

static int cmp_code_ref(const void *a, const void *b)
{
    const struct code_ref *x = a, *y = b;
    int c = strcmp(x->code, y->code);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_map_ref(const void *a, const void *b)
{
    const struct map_ref *x = a, *y = b;
    int c = strcmp(x->instrument, y->instrument);
    if (!c)
        c = strcmp(x->code, y->code);
    if (!c)
        c = x->test < y->test ? -1 : x->test > y->test;
    if (!c)
        c = x->idx < y->idx ? -1 : x->idx > y->idx;
    return c;
}

/* True when the document holds test code (vs->tests sorted). */
static bool doc_has_test(const struct vstate *vs, const char *code)
{
    size_t lo = 0, hi = vs->ntests;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(vs->tests[mid].code, code);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static err_t validate_range(const json_t *r, const char *path, catalog_kind kind,
                            const json_t *coded, struct band *b, errinfo *ei)
{
    static const char *const keys[] = {
        "sex", "age_min_days", "age_max_days", "low", "high", "normal_text", NULL};
    const char *sex, *text;
    bool has_min, has_max, has_low, has_high;
    int64_t min, max;
    double low, high;
    err_t rc;
    *b = (struct band){0};
    rc = check_object(r, path, keys, ei);
    if (!rc)
        rc = get_text(r, "sex", path, true, 8, &sex, ei);
    if (rc)
        return rc;
    for (b->sex = 0; b->sex < 3; b->sex++)
        if (!strcmp(sex, sex_names[b->sex]))
            break;
    if (b->sex == 3)
        return failf(ei, ERR_INVALID, path, "sex", "must be any, female or male");
    rc = get_int(r, "age_min_days", path, true, 0, CATALOG_AGE_MAX_DAYS - 1, &has_min, &min, ei);
    if (!rc)
        rc = get_int(r, "age_max_days", path, true, 1, CATALOG_AGE_MAX_DAYS, &has_max, &max, ei);
    if (rc)
        return rc;
    if (min >= max)
        return failf(ei, ERR_INVALID, path, "age_max_days", "must be greater than age_min_days");
    b->min = min;
    b->max = max;
    rc = get_num(r, "low", path, false, &has_low, &low, ei);
    if (!rc)
        rc = get_num(r, "high", path, false, &has_high, &high, ei);
    if (!rc)
        rc = get_text(r, "normal_text", path, false, CATALOG_TEXT_MAX, &text, ei);
    if (rc)
        return rc;
    if (kind == CATALOG_NUMERIC) {
        if (text)
            return failf(ei, ERR_INVALID, path, "normal_text",
                         "numeric tests take low and high, not normal_text");
        if (!has_low && !has_high)
            return failf(ei, ERR_MISSING_FIELD, path, "low", "a numeric band needs low or high");
        if (has_low && has_high && low > high)
            return failf(ei, ERR_INVALID, path, "low", "must not be greater than high");
        return ERR_OK;
    }
    if (has_low || has_high)
        return failf(ei, ERR_INVALID, path, has_low ? "low" : "high",
                     "%s tests have no numeric ranges", catalog_kind_name(kind));
    if (!text)
        return failf(ei, ERR_MISSING_FIELD, path, "normal_text", "is required for %s tests",
                     catalog_kind_name(kind));
    if (kind == CATALOG_CODED) {
        size_t i;
        for (i = 0; i < json_array_size(coded); i++)
            if (!strcmp(json_string_value(json_array_get(coded, i)), text))
                break;
        if (i == json_array_size(coded))
            return failf(ei, ERR_INVALID, path, "normal_text", "must be one of coded_values");
    }
    return ERR_OK;
}

static err_t validate_ranges(const json_t *ranges, const char *tpath, catalog_kind kind,
                             const json_t *coded, errinfo *ei)
{
    struct band bands[CATALOG_MAX_RANGES];
    char path[JPATH_LEN];
    size_t n = json_array_size(ranges);
    if (n > CATALOG_MAX_RANGES) /* get_arr has refused it already */
        return failf(ei, ERR_INVALID, tpath, "ranges", "must have at most %d items",
                     CATALOG_MAX_RANGES);
    for (size_t j = 0; j < n; j++) {
        jpath(path, sizeof(path), "%s.ranges[%zu]", tpath, j);
        err_t rc = validate_range(json_array_get(ranges, j), path, kind, coded, &bands[j], ei);
        if (rc)
            return rc;
        for (size_t k = 0; k < j; k++) {
            if (bands[k].sex != bands[j].sex)
                continue;
            if (bands[j].min < bands[k].max && bands[k].min < bands[j].max)
                return failf(ei, ERR_INVALID, path, NULL,
                             "overlaps %s.ranges[%zu]: bands of one sex must not overlap", tpath,
                             k);
        }
    }
    return ERR_OK;
}

static err_t validate_coded(const json_t *t, const char *tpath, catalog_kind kind,
                            const json_t **coded, errinfo *ei)
{
    char path[JPATH_LEN];
    err_t rc = get_arr(t, "coded_values", tpath, kind == CATALOG_CODED, CATALOG_MAX_CODED_VALUES,
                       coded, ei);
    if (rc)
        return rc;
    if (!*coded)
        return ERR_OK;
    if (kind != CATALOG_CODED)
        return failf(ei, ERR_INVALID, tpath, "coded_values", "only coded tests take coded_values");
    if (json_array_size(*coded) == 0)
        return failf(ei, ERR_INVALID, tpath, "coded_values", "must have at least one value");
    for (size_t k = 0; k < json_array_size(*coded); k++) {
        const json_t *v = json_array_get(*coded, k);
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        jpath(path, sizeof(path), "%s.coded_values[%zu]", tpath, k);
        if (!json_is_string(v))
            return failf(ei, ERR_INVALID, path, NULL, "must be a string");
        if (utf8_chars(s, n) < 1 || utf8_chars(s, n) > CATALOG_CODED_VALUE_MAX)
            return failf(ei, ERR_INVALID, path, NULL, "must be 1 to %d characters",
                         CATALOG_CODED_VALUE_MAX);
        if (strlen(s) != n || has_control(s, n))
            return failf(ei, ERR_INVALID, path, NULL, "must not hold control characters");
        for (size_t m = 0; m < k; m++)
            if (!strcmp(json_string_value(json_array_get(*coded, m)), s))
                return failf(ei, ERR_INVALID, path, NULL, "repeats coded_values[%zu]", m);
    }
    return ERR_OK;
}

static err_t validate_numeric_extras(const json_t *t, const char *tpath, catalog_kind kind,
                                     errinfo *ei)
{
    static const char *const crit_keys[] = {"low", "high", NULL};
    static const char *const delta_keys[] = {"kind", "limit", "window_hours", NULL};
    char path[JPATH_LEN];
    const json_t *crit, *delta;
    const char *dkind;
    bool has_low, has_high, has;
    double low, high, limit;
    int64_t window;
    err_t rc = get_obj(t, "critical", tpath, false, &crit, ei);
    if (!rc)
        rc = get_obj(t, "delta", tpath, false, &delta, ei);
    if (rc)
        return rc;
    if (crit) {
        jpath(path, sizeof(path), "%s.critical", tpath);
        rc = check_keys(crit, path, crit_keys, ei);
        if (!rc)
            rc = get_num(crit, "low", path, false, &has_low, &low, ei);
        if (!rc)
            rc = get_num(crit, "high", path, false, &has_high, &high, ei);
        if (rc)
            return rc;
        if (kind != CATALOG_NUMERIC && (has_low || has_high))
            return failf(ei, ERR_INVALID, tpath, "critical",
                         "only numeric tests have critical "
                         "limits");
        if (has_low && has_high && low >= high)
            return failf(ei, ERR_INVALID, path, "low", "must be less than high");
    }
    if (delta) {
        jpath(path, sizeof(path), "%s.delta", tpath);
        if (kind != CATALOG_NUMERIC)
            return failf(ei, ERR_INVALID, tpath, "delta", "only numeric tests have delta checks");
        rc = check_keys(delta, path, delta_keys, ei);
        if (!rc)
            rc = get_text(delta, "kind", path, true, 16, &dkind, ei);
        if (rc)
            return rc;
        if (strcmp(dkind, "absolute") && strcmp(dkind, "percent"))
            return failf(ei, ERR_INVALID, path, "kind", "must be absolute or percent");
        rc = get_num(delta, "limit", path, true, &has, &limit, ei);
        if (rc)
            return rc;
        if (limit <= 0)
            return failf(ei, ERR_INVALID, path, "limit", "must be greater than 0");
        rc = get_int(delta, "window_hours", path, true, 1, DELTA_WINDOW_MAX, &has, &window, ei);
        if (rc)
            return rc;
    }
    return ERR_OK;
}

static err_t validate_times(const json_t *t, const char *tpath, errinfo *ei)
{
    static const char *const stab_keys[] = {"room", "refrigerated", "frozen", NULL};
    static const char *const tat_keys[] = {"routine", "asap", "stat", NULL};
    char path[JPATH_LEN];
    const json_t *stab, *tat;
    bool has;
    int64_t v, routine, asap, stat;
    err_t rc = get_obj(t, "stability_hours", tpath, false, &stab, ei);
    if (rc)
        return rc;
    if (stab) {
        jpath(path, sizeof(path), "%s.stability_hours", tpath);
        rc = check_keys(stab, path, stab_keys, ei);
        for (int i = 0; !rc && i < 3; i++)
            rc = get_int(stab, stab_keys[i], path, false, 0, STABILITY_MAX_H, &has, &v, ei);
        if (rc)
            return rc;
    }
    rc = get_obj(t, "tat_minutes", tpath, true, &tat, ei);
    if (rc)
        return rc;
    jpath(path, sizeof(path), "%s.tat_minutes", tpath);
    rc = check_keys(tat, path, tat_keys, ei);
    if (!rc)
        rc = get_int(tat, "routine", path, true, 1, TAT_MAX_MIN, &has, &routine, ei);
    if (!rc)
        rc = get_int(tat, "asap", path, true, 1, TAT_MAX_MIN, &has, &asap, ei);
    if (!rc)
        rc = get_int(tat, "stat", path, true, 1, TAT_MAX_MIN, &has, &stat, ei);
    if (rc)
        return rc;
    if (stat > asap)
        return failf(ei, ERR_INVALID, path, "stat", "must not be longer than asap");
    if (asap > routine)
        return failf(ei, ERR_INVALID, path, "asap", "must not be longer than routine");
    return ERR_OK;
}

static err_t validate_cpt(const json_t *o, const char *path, errinfo *ei)
{
    const char *cpt;
    err_t rc = get_text(o, "cpt", path, false, CATALOG_CPT_LEN, &cpt, ei);
    if (rc || !cpt)
        return rc;
    if (strlen(cpt) != CATALOG_CPT_LEN)
        return failf(ei, ERR_INVALID, path, "cpt", "must be 5 characters");
    for (size_t i = 0; i < CATALOG_CPT_LEN; i++)
        if (!((cpt[i] >= '0' && cpt[i] <= '9') || (cpt[i] >= 'A' && cpt[i] <= 'Z')))
            return failf(ei, ERR_INVALID, path, "cpt", "must be 5 of 0-9 and A-Z");
    return ERR_OK;
}

static err_t validate_loinc(const json_t *o, const char *path, errinfo *ei)
{
    const char *loinc;
    err_t rc = get_text(o, "loinc", path, false, 32, &loinc, ei);
    if (rc || !loinc)
        return rc;
    if (!catalog_loinc_valid(loinc, strlen(loinc))) {
        /* Say which: the form, or the check digit. */
        size_t n = strlen(loinc);
        bool form = n >= 3 && n <= CATALOG_LOINC_MAX && loinc[n - 2] == '-' && loinc[0] != '0';
        for (size_t i = 0; form && i < n; i++)
            if (i != n - 2 && (loinc[i] < '0' || loinc[i] > '9'))
                form = false;
        if (form)
            return failf(ei, ERR_INVALID, path, "loinc", "'%s' has a wrong check digit", loinc);
        return failf(ei, ERR_INVALID, path, "loinc",
                     "must be a LOINC code: 1 to 7 digits, '-', check digit");
    }
    return ERR_OK;
}

static err_t vstate_add_map(struct vstate *vs, const char *instrument, const char *code,
                            size_t test, size_t idx)
{
    if (vs->nmaps == vs->capmaps) {
        size_t cap = vs->capmaps ? vs->capmaps * 2 : 64;
        struct map_ref *m = realloc(vs->maps, cap * sizeof(*m));
        if (!m)
            return ERR_NOMEM;
        vs->maps = m;
        vs->capmaps = cap;
    }
    vs->maps[vs->nmaps++] = (struct map_ref){instrument, code, test, idx};
    return ERR_OK;
}

static err_t validate_mappings(const json_t *t, const char *tpath, size_t ti, struct vstate *vs,
                               errinfo *ei)
{
    static const char *const keys[] = {"instrument", "code", NULL};
    char path[JPATH_LEN];
    const json_t *maps;
    const char *instrument, *code;
    err_t rc = get_arr(t, "mappings", tpath, false, CATALOG_MAX_MAPPINGS, &maps, ei);
    for (size_t m = 0; !rc && m < json_array_size(maps); m++) {
        const json_t *o = json_array_get(maps, m);
        jpath(path, sizeof(path), "%s.mappings[%zu]", tpath, m);
        rc = check_object(o, path, keys, ei);
        if (!rc)
            rc = get_text(o, "instrument", path, true, CATALOG_INSTRUMENT_MAX, &instrument, ei);
        if (!rc && !ascii_label_valid(instrument, CATALOG_INSTRUMENT_MAX))
            rc = failf(ei, ERR_INVALID, path, "instrument",
                       "must be 1 to %d printable ASCII characters, no space at either end",
                       CATALOG_INSTRUMENT_MAX);
        if (!rc)
            rc = get_text(o, "code", path, true, CATALOG_INSTR_CODE_MAX, &code, ei);
        if (!rc && !ascii_label_valid(code, CATALOG_INSTR_CODE_MAX))
            rc = failf(ei, ERR_INVALID, path, "code",
                       "must be 1 to %d printable ASCII characters, no space at either end",
                       CATALOG_INSTR_CODE_MAX);
        if (!rc && vstate_add_map(vs, instrument, code, ti, m))
            rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    }
    return rc;
}

static err_t validate_test(const json_t *t, size_t ti, struct vstate *vs, errinfo *ei)
{
    static const char *const keys[] = {
        "code",         "name",     "loinc",    "kind",  "specimen_type",   "container",   "unit",
        "decimals",     "ranges",   "critical", "delta", "stability_hours", "tat_minutes", "cpt",
        "coded_values", "mappings", NULL};
    char tpath[JPATH_LEN];
    const char *code, *name, *kind_s, *label, *unit;
    const json_t *coded = NULL, *ranges;
    catalog_kind kind;
    bool has;
    int64_t decimals;
    err_t rc;
    jpath(tpath, sizeof(tpath), "tests[%zu]", ti);
    rc = check_object(t, tpath, keys, ei);
    if (!rc)
        rc = get_text(t, "code", tpath, true, CATALOG_CODE_MAX, &code, ei);
    if (!rc && !code_valid(code))
        rc = failf(ei, ERR_INVALID, tpath, "code", "must be 1 to %d of A-Z, 0-9, '_' and '-'",
                   CATALOG_CODE_MAX);
    if (!rc)
        rc = get_text(t, "name", tpath, true, CATALOG_NAME_MAX, &name, ei);
    if (!rc)
        rc = validate_loinc(t, tpath, ei);
    if (!rc)
        rc = get_text(t, "kind", tpath, true, 16, &kind_s, ei);
    if (rc)
        return rc;
    kind = kind_from_name(kind_s);
    if (!kind)
        return failf(ei, ERR_INVALID, tpath, "kind", "must be numeric, text or coded");
    rc = get_text(t, "specimen_type", tpath, true, CATALOG_LABEL_MAX, &label, ei);
    if (!rc)
        rc = get_text(t, "container", tpath, true, CATALOG_LABEL_MAX, &label, ei);
    if (!rc)
        rc = get_text(t, "unit", tpath, kind == CATALOG_NUMERIC, CATALOG_UNIT_MAX, &unit, ei);
    if (!rc)
        rc = get_int(t, "decimals", tpath, kind == CATALOG_NUMERIC, 0, 6, &has, &decimals, ei);
    if (rc)
        return rc;
    if (kind != CATALOG_NUMERIC && unit)
        return failf(ei, ERR_INVALID, tpath, "unit", "%s tests have no unit",
                     catalog_kind_name(kind));
    if (kind != CATALOG_NUMERIC && has)
        return failf(ei, ERR_INVALID, tpath, "decimals", "%s tests have no decimals",
                     catalog_kind_name(kind));
    if (unit) {
        for (const char *p = unit; *p; p++)
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                return failf(ei, ERR_INVALID, tpath, "unit",
                             "must be a UCUM unit: printable ASCII without spaces");
    }
    rc = validate_coded(t, tpath, kind, &coded, ei);
    if (!rc)
        rc = get_arr(t, "ranges", tpath, false, CATALOG_MAX_RANGES, &ranges, ei);
    if (!rc && ranges)
        rc = validate_ranges(ranges, tpath, kind, coded, ei);
    if (!rc)
        rc = validate_numeric_extras(t, tpath, kind, ei);
    if (!rc)
        rc = validate_times(t, tpath, ei);
    if (!rc)
        rc = validate_cpt(t, tpath, ei);
    if (!rc)
        rc = validate_mappings(t, tpath, ti, vs, ei);
    if (rc)
        return rc;
    vs->tests[vs->ntests++] = (struct code_ref){code, ti};
    return ERR_OK;
}

static err_t validate_panel(const json_t *p, size_t pi, struct vstate *vs, errinfo *ei)
{
    static const char *const keys[] = {"code", "name", "loinc", "cpt", "tests", NULL};
    char ppath[JPATH_LEN], path[JPATH_LEN];
    const char *code, *name;
    const json_t *members;
    err_t rc;
    jpath(ppath, sizeof(ppath), "panels[%zu]", pi);
    rc = check_object(p, ppath, keys, ei);
    if (!rc)
        rc = get_text(p, "code", ppath, true, CATALOG_CODE_MAX, &code, ei);
    if (!rc && !code_valid(code))
        rc = failf(ei, ERR_INVALID, ppath, "code", "must be 1 to %d of A-Z, 0-9, '_' and '-'",
                   CATALOG_CODE_MAX);
    if (!rc && doc_has_test(vs, code))
        rc = failf(ei, ERR_INVALID, ppath, "code", "'%s' is also a test code", code);
    if (!rc)
        rc = get_text(p, "name", ppath, true, CATALOG_NAME_MAX, &name, ei);
    if (!rc)
        rc = validate_loinc(p, ppath, ei);
    if (!rc)
        rc = validate_cpt(p, ppath, ei);
    if (!rc)
        rc = get_arr(p, "tests", ppath, true, CATALOG_MAX_PANEL_TESTS, &members, ei);
    if (rc)
        return rc;
    if (json_array_size(members) == 0)
        return failf(ei, ERR_INVALID, ppath, "tests", "must name at least one test");
    for (size_t k = 0; k < json_array_size(members); k++) {
        const char *m = json_string_value(json_array_get(members, k));
        jpath(path, sizeof(path), "%s.tests[%zu]", ppath, k);
        if (!m || !code_valid(m))
            return failf(ei, ERR_INVALID, path, NULL, "must be a test code");
        for (size_t j = 0; j < k; j++)
            if (!strcmp(json_string_value(json_array_get(members, j)), m))
                return failf(ei, ERR_INVALID, path, NULL, "repeats %s.tests[%zu]", ppath, j);
    }
    vs->panels[vs->npanels++] = (struct code_ref){code, pi};
    return ERR_OK;
}

/* Everything that can be checked without the database; fills vs. */
static err_t validate_doc(const json_t *doc, const json_t **tests, const json_t **panels,
                          struct vstate *vs, errinfo *ei)
{
    static const char *const keys[] = {"tests", "panels", NULL};
    err_t rc;
    if (!json_is_object(doc))
        return err_set(ei, ERR_INVALID, NULL, "the catalog must be a JSON object");
    rc = check_keys(doc, "", keys, ei);
    if (!rc)
        rc = get_arr(doc, "tests", "", false, CATALOG_MAX_TESTS, tests, ei);
    if (!rc)
        rc = get_arr(doc, "panels", "", false, CATALOG_MAX_PANELS, panels, ei);
    if (rc)
        return rc;
    vs->tests = calloc(json_array_size(*tests) + 1, sizeof(*vs->tests));
    vs->panels = calloc(json_array_size(*panels) + 1, sizeof(*vs->panels));
    if (!vs->tests || !vs->panels)
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    for (size_t i = 0; i < json_array_size(*tests); i++) {
        rc = validate_test(json_array_get(*tests, i), i, vs, ei);
        if (rc)
            return rc;
    }
    if (vs->ntests > 1)
        qsort(vs->tests, vs->ntests, sizeof(*vs->tests), cmp_code_ref);
    for (size_t i = 1; i < vs->ntests; i++) {
        char path[JPATH_LEN];
        if (strcmp(vs->tests[i - 1].code, vs->tests[i].code))
            continue;
        jpath(path, sizeof(path), "tests[%zu]", vs->tests[i].idx);
        return failf(ei, ERR_INVALID, path, "code", "'%s' appears twice (also tests[%zu])",
                     vs->tests[i].code, vs->tests[i - 1].idx);
    }
    if (vs->nmaps > 1)
        qsort(vs->maps, vs->nmaps, sizeof(*vs->maps), cmp_map_ref);
    for (size_t i = 1; i < vs->nmaps; i++) {
        const struct map_ref *a = &vs->maps[i - 1], *b = &vs->maps[i];
        char path[JPATH_LEN];
        if (strcmp(a->instrument, b->instrument) || strcmp(a->code, b->code))
            continue;
        jpath(path, sizeof(path), "tests[%zu].mappings[%zu]", b->test, b->idx);
        return failf(ei, ERR_INVALID, path, "code",
                     "instrument '%s' code '%s' is already mapped by tests[%zu].mappings[%zu]",
                     b->instrument, b->code, a->test, a->idx);
    }
    for (size_t i = 0; i < json_array_size(*panels); i++) {
        rc = validate_panel(json_array_get(*panels, i), i, vs, ei);
        if (rc)
            return rc;
    }
    if (vs->npanels > 1)
        qsort(vs->panels, vs->npanels, sizeof(*vs->panels), cmp_code_ref);
    for (size_t i = 1; i < vs->npanels; i++) {
        char path[JPATH_LEN];
        if (strcmp(vs->panels[i - 1].code, vs->panels[i].code))
            continue;
        jpath(path, sizeof(path), "panels[%zu]", vs->panels[i].idx);
        return failf(ei, ERR_INVALID, path, "code", "'%s' appears twice (also panels[%zu])",
                     vs->panels[i].code, vs->panels[i - 1].idx);
    }
    return ERR_OK;
}

/* --------------------------------------------------------------- import */

static const char sql_panel_exists[] = "SELECT 1 FROM panels WHERE code = ?";
static const char sql_test_active[] = "SELECT active FROM tests WHERE code = ?";
static const char sql_mapping_owner[] =
    "SELECT test_code FROM test_mappings WHERE instrument = ? AND instrument_code = ?";

static const char sql_test_upsert[] =
    "INSERT INTO tests (code, name, loinc, kind, specimen_type, container, unit, decimals,"
    " critical_low, critical_high, delta_kind, delta_limit, delta_window_hours,"
    " stability_room_hours, stability_refrigerated_hours, stability_frozen_hours,"
    " tat_routine_minutes, tat_asap_minutes, tat_stat_minutes, cpt, coded_values, active,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"
    " ON CONFLICT (code) DO UPDATE SET name = excluded.name, loinc = excluded.loinc,"
    " kind = excluded.kind, specimen_type = excluded.specimen_type,"
    " container = excluded.container, unit = excluded.unit, decimals = excluded.decimals,"
    " critical_low = excluded.critical_low, critical_high = excluded.critical_high,"
    " delta_kind = excluded.delta_kind, delta_limit = excluded.delta_limit,"
    " delta_window_hours = excluded.delta_window_hours,"
    " stability_room_hours = excluded.stability_room_hours,"
    " stability_refrigerated_hours = excluded.stability_refrigerated_hours,"
    " stability_frozen_hours = excluded.stability_frozen_hours,"
    " tat_routine_minutes = excluded.tat_routine_minutes,"
    " tat_asap_minutes = excluded.tat_asap_minutes, tat_stat_minutes = excluded.tat_stat_minutes,"
    " cpt = excluded.cpt, coded_values = excluded.coded_values, active = 1,"
    " updated_at = excluded.updated_at";
static const char sql_ranges_delete[] = "DELETE FROM test_ranges WHERE test_code = ?";
static const char sql_range_insert[] =
    "INSERT INTO test_ranges (test_code, seq, sex, age_min_days, age_max_days, low, high,"
    " normal_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_mappings_delete[] = "DELETE FROM test_mappings WHERE test_code = ?";
static const char sql_mapping_insert[] =
    "INSERT INTO test_mappings (instrument, instrument_code, test_code) VALUES (?, ?, ?)";
static const char sql_panel_upsert[] =
    "INSERT INTO panels (code, name, loinc, cpt, active, updated_at) VALUES (?, ?, ?, ?, 1, ?)"
    " ON CONFLICT (code) DO UPDATE SET name = excluded.name, loinc = excluded.loinc,"
    " cpt = excluded.cpt, active = 1, updated_at = excluded.updated_at";
static const char sql_panel_tests_delete[] = "DELETE FROM panel_tests WHERE panel_code = ?";
static const char sql_panel_test_insert[] =
    "INSERT INTO panel_tests (panel_code, seq, test_code) VALUES (?, ?, ?)";

/* Keep the first failure of a run of binds. */
#define BIND(expr)                                                                                 \
    do {                                                                                           \
        if (!rc)                                                                                   \
            rc = (expr);                                                                           \
    } while (0)

/* Values of a document already validated: absent, null or the wrong type read as none. */
static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jnum(const json_t *o, const char *k, double *out)
{
    const json_t *v = json_object_get(o, k);
    *out = json_is_number(v) ? json_number_value(v) : 0;
    return json_is_number(v);
}

static bool jint(const json_t *o, const char *k, int64_t *out)
{
    const json_t *v = json_object_get(o, k);
    *out = json_is_integer(v) ? json_integer_value(v) : 0;
    return json_is_integer(v);
}

static err_t bind_opt_num(db_stmt *st, int i, const json_t *o, const char *k)
{
    double v;
    return jnum(o, k, &v) ? db_bind_double(st, i, v) : db_bind_null(st, i);
}

static err_t bind_opt_int(db_stmt *st, int i, const json_t *o, const char *k)
{
    int64_t v;
    return jint(o, k, &v) ? db_bind_int64(st, i, v) : db_bind_null(st, i);
}

/* Run a bound statement to its end and make it ready for the next binds. */
static err_t run_stmt(db_stmt *st, err_t bind_rc, errinfo *ei)
{
    bool row = true;
    err_t rc = bind_rc;
    if (rc)
        rc = err_set(ei, rc, NULL, "cannot bind a catalog value");
    while (!rc && row)
        rc = db_step(st, &row, ei);
    db_reset(st);
    return rc;
}

/* The first column of the first row of st bound with a (and b unless NULL), into out. */
static err_t first_text(db_stmt *st, const char *a, const char *b, bool *found, char *out,
                        size_t outlen, errinfo *ei)
{
    bool row = false;
    err_t rc = db_bind_str(st, 1, a);
    if (!rc && b)
        rc = db_bind_str(st, 2, b);
    if (rc)
        rc = err_set(ei, rc, NULL, "cannot bind a catalog value");
    if (!rc)
        rc = db_step(st, &row, ei);
    *found = !rc && row;
    if (*found && out)
        copy_text(out, outlen, db_col_text(st, 0));
    db_reset(st);
    return rc;
}

/* The checks against what the database holds; inside the write transaction. */
static err_t validate_against_db(db *d, const json_t *tests, const json_t *panels,
                                 const struct vstate *vs, errinfo *ei)
{
    db_stmt *panel_st = NULL, *test_st = NULL, *map_st = NULL;
    char path[JPATH_LEN], text[CATALOG_CODE_MAX + 2];
    bool found;
    err_t rc = db_prepare(d, sql_panel_exists, &panel_st, ei);
    if (!rc)
        rc = db_prepare(d, sql_test_active, &test_st, ei);
    if (!rc)
        rc = db_prepare(d, sql_mapping_owner, &map_st, ei);
    for (size_t i = 0; !rc && i < json_array_size(tests); i++) {
        const json_t *t = json_array_get(tests, i);
        const json_t *maps = json_object_get(t, "mappings");
        const char *code = jstr(t, "code");
        jpath(path, sizeof(path), "tests[%zu]", i);
        rc = first_text(panel_st, code, NULL, &found, NULL, 0, ei);
        if (!rc && found)
            rc = failf(ei, ERR_INVALID, path, "code", "'%s' is already a panel code", code);
        for (size_t m = 0; !rc && m < json_array_size(maps); m++) {
            const json_t *o = json_array_get(maps, m);
            rc = first_text(map_st, jstr(o, "instrument"), jstr(o, "code"), &found, text,
                            sizeof(text), ei);
            if (!rc && found && !doc_has_test(vs, text)) {
                jpath(path, sizeof(path), "tests[%zu].mappings[%zu]", i, m);
                rc = failf(ei, ERR_INVALID, path, "code",
                           "instrument '%s' code '%s' is already mapped to test '%s'",
                           jstr(o, "instrument"), jstr(o, "code"), text);
            }
        }
    }
    for (size_t p = 0; !rc && p < json_array_size(panels); p++) {
        const json_t *o = json_array_get(panels, p);
        const json_t *members = json_object_get(o, "tests");
        const char *code = jstr(o, "code");
        jpath(path, sizeof(path), "panels[%zu]", p);
        rc = first_text(test_st, code, NULL, &found, NULL, 0, ei);
        if (!rc && found)
            rc = failf(ei, ERR_INVALID, path, "code", "'%s' is already a test code", code);
        for (size_t k = 0; !rc && k < json_array_size(members); k++) {
            const char *m = json_string_value(json_array_get(members, k));
            if (doc_has_test(vs, m))
                continue;
            rc = first_text(test_st, m, NULL, &found, text, sizeof(text), ei);
            jpath(path, sizeof(path), "panels[%zu].tests[%zu]", p, k);
            if (!rc && !found)
                rc = failf(ei, ERR_INVALID, path, NULL,
                           "no test '%s' in this document or the catalog", m);
            else if (!rc && strcmp(text, "1") != 0)
                rc = failf(ei, ERR_INVALID, path, NULL, "test '%s' is inactive", m);
        }
    }
    db_finalize(panel_st);
    db_finalize(test_st);
    db_finalize(map_st);
    return rc;
}

struct writer {
    db_stmt *test, *rdel, *rins, *mdel, *mins, *pup, *ptdel, *ptins;
};

static void writer_close(struct writer *w)
{
    db_finalize(w->test);
    db_finalize(w->rdel);
    db_finalize(w->rins);
    db_finalize(w->mdel);
    db_finalize(w->mins);
    db_finalize(w->pup);
    db_finalize(w->ptdel);
    db_finalize(w->ptins);
}

static err_t writer_open(db *d, struct writer *w, errinfo *ei)
{
    err_t rc = db_prepare(d, sql_test_upsert, &w->test, ei);
    if (!rc)
        rc = db_prepare(d, sql_ranges_delete, &w->rdel, ei);
    if (!rc)
        rc = db_prepare(d, sql_range_insert, &w->rins, ei);
    if (!rc)
        rc = db_prepare(d, sql_mappings_delete, &w->mdel, ei);
    if (!rc)
        rc = db_prepare(d, sql_mapping_insert, &w->mins, ei);
    if (!rc)
        rc = db_prepare(d, sql_panel_upsert, &w->pup, ei);
    if (!rc)
        rc = db_prepare(d, sql_panel_tests_delete, &w->ptdel, ei);
    if (!rc)
        rc = db_prepare(d, sql_panel_test_insert, &w->ptins, ei);
    return rc;
}

/* Upsert test t and replace its ranges (its mappings are written afterwards). */
static err_t write_test(struct writer *w, const json_t *t, int64_t now, errinfo *ei)
{
    const json_t *crit = json_object_get(t, "critical");
    const json_t *delta = json_object_get(t, "delta");
    const json_t *stab = json_object_get(t, "stability_hours");
    const json_t *tat = json_object_get(t, "tat_minutes");
    const json_t *coded = json_object_get(t, "coded_values");
    const json_t *ranges = json_object_get(t, "ranges");
    const char *code = jstr(t, "code");
    char *coded_text = NULL;
    int64_t decimals = 0;
    err_t rc = ERR_OK;
    if (json_is_array(coded)) {
        coded_text = json_dumps(coded, JSON_COMPACT);
        if (!coded_text)
            return err_set(ei, ERR_NOMEM, NULL, NULL);
    }
    jint(t, "decimals", &decimals);
    BIND(db_bind_str(w->test, 1, code));
    BIND(db_bind_str(w->test, 2, jstr(t, "name")));
    BIND(db_bind_str(w->test, 3, jstr(t, "loinc")));
    BIND(db_bind_str(w->test, 4, jstr(t, "kind")));
    BIND(db_bind_str(w->test, 5, jstr(t, "specimen_type")));
    BIND(db_bind_str(w->test, 6, jstr(t, "container")));
    BIND(db_bind_str(w->test, 7, jstr(t, "unit")));
    BIND(db_bind_int64(w->test, 8, decimals));
    BIND(bind_opt_num(w->test, 9, crit, "low"));
    BIND(bind_opt_num(w->test, 10, crit, "high"));
    BIND(db_bind_str(w->test, 11, jstr(delta, "kind")));
    BIND(bind_opt_num(w->test, 12, delta, "limit"));
    BIND(bind_opt_int(w->test, 13, delta, "window_hours"));
    BIND(bind_opt_int(w->test, 14, stab, "room"));
    BIND(bind_opt_int(w->test, 15, stab, "refrigerated"));
    BIND(bind_opt_int(w->test, 16, stab, "frozen"));
    BIND(bind_opt_int(w->test, 17, tat, "routine"));
    BIND(bind_opt_int(w->test, 18, tat, "asap"));
    BIND(bind_opt_int(w->test, 19, tat, "stat"));
    BIND(db_bind_str(w->test, 20, jstr(t, "cpt")));
    BIND(db_bind_str(w->test, 21, coded_text));
    BIND(db_bind_int64(w->test, 22, now));
    rc = run_stmt(w->test, rc, ei);
    free(coded_text);
    if (!rc)
        rc = run_stmt(w->rdel, db_bind_str(w->rdel, 1, code), ei);
    for (size_t j = 0; !rc && j < json_array_size(ranges); j++) {
        const json_t *r = json_array_get(ranges, j);
        int64_t v;
        BIND(db_bind_str(w->rins, 1, code));
        BIND(db_bind_int64(w->rins, 2, (int64_t)j + 1));
        BIND(db_bind_str(w->rins, 3, jstr(r, "sex")));
        BIND(db_bind_int64(w->rins, 4, jint(r, "age_min_days", &v) ? v : 0));
        BIND(db_bind_int64(w->rins, 5, jint(r, "age_max_days", &v) ? v : 0));
        BIND(bind_opt_num(w->rins, 6, r, "low"));
        BIND(bind_opt_num(w->rins, 7, r, "high"));
        BIND(db_bind_str(w->rins, 8, jstr(r, "normal_text")));
        rc = run_stmt(w->rins, rc, ei);
    }
    return rc;
}

static err_t write_panel(struct writer *w, const json_t *p, int64_t now, errinfo *ei)
{
    const json_t *members = json_object_get(p, "tests");
    const char *code = jstr(p, "code");
    err_t rc = ERR_OK;
    BIND(db_bind_str(w->pup, 1, code));
    BIND(db_bind_str(w->pup, 2, jstr(p, "name")));
    BIND(db_bind_str(w->pup, 3, jstr(p, "loinc")));
    BIND(db_bind_str(w->pup, 4, jstr(p, "cpt")));
    BIND(db_bind_int64(w->pup, 5, now));
    rc = run_stmt(w->pup, rc, ei);
    if (!rc)
        rc = run_stmt(w->ptdel, db_bind_str(w->ptdel, 1, code), ei);
    for (size_t k = 0; !rc && k < json_array_size(members); k++) {
        BIND(db_bind_str(w->ptins, 1, code));
        BIND(db_bind_int64(w->ptins, 2, (int64_t)k + 1));
        BIND(db_bind_str(w->ptins, 3, json_string_value(json_array_get(members, k))));
        rc = run_stmt(w->ptins, rc, ei);
    }
    return rc;
}

static err_t write_doc(db *d, const json_t *tests, const json_t *panels, errinfo *ei)
{
    struct writer w = {0};
    int64_t now = time_now_us();
    err_t rc = writer_open(d, &w, ei);
    for (size_t i = 0; !rc && i < json_array_size(tests); i++)
        rc = write_test(&w, json_array_get(tests, i), now, ei);
    /* All of the document's old mappings go before any new one is written, so
     * that a mapping may move from one of its tests to another. */
    for (size_t i = 0; !rc && i < json_array_size(tests); i++)
        rc = run_stmt(w.mdel, db_bind_str(w.mdel, 1, jstr(json_array_get(tests, i), "code")), ei);
    for (size_t i = 0; !rc && i < json_array_size(tests); i++) {
        const json_t *t = json_array_get(tests, i);
        const json_t *maps = json_object_get(t, "mappings");
        for (size_t m = 0; !rc && m < json_array_size(maps); m++) {
            const json_t *o = json_array_get(maps, m);
            BIND(db_bind_str(w.mins, 1, jstr(o, "instrument")));
            BIND(db_bind_str(w.mins, 2, jstr(o, "code")));
            BIND(db_bind_str(w.mins, 3, jstr(t, "code")));
            rc = run_stmt(w.mins, rc, ei);
        }
    }
    for (size_t p = 0; !rc && p < json_array_size(panels); p++)
        rc = write_panel(&w, json_array_get(panels, p), now, ei);
    writer_close(&w);
    return rc;
}

err_t catalog_import(db *d, const audit_ctx *ctx, const json_t *doc, int *tests, int *panels,
                     errinfo *ei)
{
    struct vstate vs = {0};
    const json_t *tarr = NULL, *parr = NULL;
    json_t *detail = NULL;
    err_t rc;
    if (tests)
        *tests = 0;
    if (panels)
        *panels = 0;
    rc = validate_doc(doc, &tarr, &parr, &vs, ei);
    if (rc)
        goto out;
    rc = db_begin(d, ei);
    if (rc)
        goto out;
    rc = validate_against_db(d, tarr, parr, &vs, ei);
    if (!rc)
        rc = write_doc(d, tarr, parr, ei);
    if (!rc) {
        detail = json_pack("{s:I,s:I}", "tests", (json_int_t)json_array_size(tarr), "panels",
                           (json_int_t)json_array_size(parr));
        rc = detail ? audit_write(d, ctx, "catalog.import", "catalog", NULL, "ok", detail, ei)
                    : err_set(ei, ERR_NOMEM, NULL, NULL);
    }
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
    if (!rc && tests)
        *tests = (int)json_array_size(tarr);
    if (!rc && panels)
        *panels = (int)json_array_size(parr);
out:
    json_decref(detail);
    vstate_free(&vs);
    return rc;
}

/* -------------------------------------------------------- reading back */

#define TEST_COLS                                                                                  \
    "code, name, loinc, kind, specimen_type, container, unit, decimals, critical_low,"             \
    " critical_high, delta_kind, delta_limit, delta_window_hours, stability_room_hours,"           \
    " stability_refrigerated_hours, stability_frozen_hours, tat_routine_minutes,"                  \
    " tat_asap_minutes, tat_stat_minutes, cpt, coded_values, active"
#define TEST_COL_CODED 20

#define RANGE_COLS "sex, age_min_days, age_max_days, low, high, normal_text"

static const char sql_tests_all[] = "SELECT " TEST_COLS " FROM tests";
static const char sql_tests_one[] = "SELECT " TEST_COLS " FROM tests WHERE code = ?";
static const char sql_ranges_all[] =
    "SELECT test_code, " RANGE_COLS " FROM test_ranges ORDER BY seq";
static const char sql_ranges_one[] =
    "SELECT test_code, " RANGE_COLS " FROM test_ranges WHERE test_code = ? ORDER BY seq";
static const char sql_maps_all[] =
    "SELECT test_code, instrument, instrument_code FROM test_mappings";
static const char sql_maps_one[] =
    "SELECT test_code, instrument, instrument_code FROM test_mappings WHERE test_code = ?";
static const char sql_panels_all[] = "SELECT code, name, loinc, cpt, active FROM panels";
static const char sql_members_all[] = "SELECT panel_code, test_code FROM panel_tests ORDER BY seq";
static const char sql_list_tests[] =
    "SELECT code, name, kind, loinc, specimen_type, unit, active FROM tests";
static const char sql_bands[] =
    "SELECT " RANGE_COLS " FROM test_ranges WHERE test_code = ? AND age_min_days <= ?"
    " AND age_max_days > ? ORDER BY seq";
static const char sql_test_kind[] = "SELECT active FROM tests WHERE code = ?";
static const char sql_panel_active[] = "SELECT active FROM panels WHERE code = ?";
static const char sql_panel_members[] =
    "SELECT pt.test_code, t.active FROM panel_tests pt JOIN tests t ON t.code = pt.test_code"
    " WHERE pt.panel_code = ? ORDER BY pt.seq";
static const char sql_resolve_map[] =
    "SELECT test_code FROM test_mappings WHERE instrument = ? AND instrument_code = ?";
static const char sql_resolve_code[] = "SELECT code FROM tests WHERE code = ?";
static const char sql_resolve_loinc[] = "SELECT code, active FROM tests WHERE loinc = ?";

/* Call fn on every row of sql (with one text parameter unless arg is NULL). */
static err_t for_rows(db *d, const char *sql, const char *arg,
                      err_t (*fn)(db_stmt *st, void *ctx, errinfo *ei), void *ctx, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = true;
    err_t rc = db_prepare(d, sql, &st, ei);
    if (!rc && arg && db_bind_str(st, 1, arg))
        rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        rc = fn(st, ctx, ei);
    }
    db_finalize(st);
    return rc;
}

static void row_to_test(db_stmt *st, catalog_test *t)
{
    const char *dk = db_col_text(st, 10);
    memset(t, 0, sizeof(*t));
    copy_text(t->code, sizeof(t->code), db_col_text(st, 0));
    copy_text(t->name, sizeof(t->name), db_col_text(st, 1));
    copy_text(t->loinc, sizeof(t->loinc), db_col_text(st, 2));
    t->kind = kind_from_name(db_col_text(st, 3));
    copy_text(t->specimen_type, sizeof(t->specimen_type), db_col_text(st, 4));
    copy_text(t->container, sizeof(t->container), db_col_text(st, 5));
    copy_text(t->unit, sizeof(t->unit), db_col_text(st, 6));
    t->decimals = (int)db_col_int64(st, 7);
    t->has_critical_low = !db_col_null(st, 8);
    t->critical_low = db_col_double(st, 8);
    t->has_critical_high = !db_col_null(st, 9);
    t->critical_high = db_col_double(st, 9);
    t->has_delta = dk != NULL;
    t->delta_kind = dk && !strcmp(dk, "percent") ? CATALOG_DELTA_PERCENT : CATALOG_DELTA_ABSOLUTE;
    t->delta_limit = db_col_double(st, 11);
    t->delta_window_hours = (int)db_col_int64(st, 12);
    t->stability_room_hours = db_col_null(st, 13) ? -1 : (int)db_col_int64(st, 13);
    t->stability_refrigerated_hours = db_col_null(st, 14) ? -1 : (int)db_col_int64(st, 14);
    t->stability_frozen_hours = db_col_null(st, 15) ? -1 : (int)db_col_int64(st, 15);
    t->tat_routine_minutes = (int)db_col_int64(st, 16);
    t->tat_asap_minutes = (int)db_col_int64(st, 17);
    t->tat_stat_minutes = (int)db_col_int64(st, 18);
    copy_text(t->cpt, sizeof(t->cpt), db_col_text(st, 19));
    t->active = db_col_int64(st, 21) != 0;
}

/* A whole number as a JSON integer (so that 70 reads back as 70, not 70.0). */
static json_t *num_json(double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* Set o[k] = v (stolen); false when v is NULL or memory runs out. */
static bool put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0;
}

static bool put_text(json_t *o, const char *k, const char *s)
{
    return !s || !*s || put(o, k, json_string(s));
}

/* The export shape of t, without ranges and mappings. New reference or NULL. */
static json_t *test_to_json(const catalog_test *t, const char *coded_text)
{
    json_t *o = json_object(), *sub;
    bool ok = o != NULL;
    ok = ok && put(o, "code", json_string(t->code));
    ok = ok && put(o, "name", json_string(t->name));
    ok = ok && put_text(o, "loinc", t->loinc);
    ok = ok && put(o, "kind", json_string(catalog_kind_name(t->kind)));
    ok = ok && put(o, "specimen_type", json_string(t->specimen_type));
    ok = ok && put(o, "container", json_string(t->container));
    if (t->kind == CATALOG_NUMERIC) {
        ok = ok && put_text(o, "unit", t->unit);
        ok = ok && put(o, "decimals", json_integer(t->decimals));
    }
    if (ok && (t->has_critical_low || t->has_critical_high)) {
        sub = json_object();
        ok = put(o, "critical", sub);
        if (ok && t->has_critical_low)
            ok = put(sub, "low", num_json(t->critical_low));
        if (ok && t->has_critical_high)
            ok = put(sub, "high", num_json(t->critical_high));
    }
    if (ok && t->has_delta)
        ok = put(o, "delta",
                 json_pack("{s:s,s:o,s:i}", "kind",
                           t->delta_kind == CATALOG_DELTA_PERCENT ? "percent" : "absolute", "limit",
                           num_json(t->delta_limit), "window_hours", t->delta_window_hours));
    if (ok && (t->stability_room_hours >= 0 || t->stability_refrigerated_hours >= 0 ||
               t->stability_frozen_hours >= 0)) {
        sub = json_object();
        ok = put(o, "stability_hours", sub);
        if (ok && t->stability_room_hours >= 0)
            ok = put(sub, "room", json_integer(t->stability_room_hours));
        if (ok && t->stability_refrigerated_hours >= 0)
            ok = put(sub, "refrigerated", json_integer(t->stability_refrigerated_hours));
        if (ok && t->stability_frozen_hours >= 0)
            ok = put(sub, "frozen", json_integer(t->stability_frozen_hours));
    }
    ok = ok && put(o, "tat_minutes",
                   json_pack("{s:i,s:i,s:i}", "routine", t->tat_routine_minutes, "asap",
                             t->tat_asap_minutes, "stat", t->tat_stat_minutes));
    ok = ok && put_text(o, "cpt", t->cpt);
    if (ok && coded_text && t->kind == CATALOG_CODED)
        ok = put(o, "coded_values", json_loads(coded_text, 0, NULL));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* JSON objects by code: what export and the lists build, then sort. */
struct entry {
    const char *code; /* borrowed from obj's "code" */
    json_t *obj;
};

struct entries {
    struct entry *v;
    size_t n, cap;
};

static void entries_free(struct entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        json_decref(e->v[i].obj);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* Add obj (stolen). */
static err_t entries_add(struct entries *e, json_t *obj, errinfo *ei)
{
    if (!obj)
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        struct entry *v = realloc(e->v, cap * sizeof(*v));
        if (!v) {
            json_decref(obj);
            return err_set(ei, ERR_NOMEM, NULL, NULL);
        }
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n].code = json_string_value(json_object_get(obj, "code"));
    e->v[e->n++].obj = obj;
    return ERR_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->code, ((const struct entry *)b)->code);
}

static void entries_sort(struct entries *e)
{
    if (e->n > 1)
        qsort(e->v, e->n, sizeof(*e->v), cmp_entry);
}

/* The object of code in sorted e, or NULL. */
static json_t *entries_find(const struct entries *e, const char *code)
{
    struct entry key = {code, NULL};
    struct entry *hit;
    if (!code || !e->n)
        return NULL;
    hit = bsearch(&key, e->v, e->n, sizeof(*e->v), cmp_entry);
    return hit ? hit->obj : NULL;
}

/* The entries as a new JSON array, in their order. */
static err_t entries_array(const struct entries *e, json_t **out, errinfo *ei)
{
    json_t *a = json_array();
    bool ok = a != NULL;
    for (size_t i = 0; ok && i < e->n; i++)
        ok = json_array_append(a, e->v[i].obj) == 0;
    if (!ok) {
        json_decref(a);
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    }
    *out = a;
    return ERR_OK;
}

/* Append item (stolen) to o[key], creating the array. */
static err_t append_to(json_t *o, const char *key, json_t *item, errinfo *ei)
{
    json_t *a = json_object_get(o, key);
    if (!a) {
        a = json_array();
        if (!put(o, key, a)) {
            json_decref(item);
            return err_set(ei, ERR_NOMEM, NULL, NULL);
        }
    }
    if (!item || json_array_append_new(a, item))
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    return ERR_OK;
}

static err_t on_test_row(db_stmt *st, void *ctx, errinfo *ei)
{
    catalog_test t;
    row_to_test(st, &t);
    return entries_add(ctx, test_to_json(&t, db_col_text(st, TEST_COL_CODED)), ei);
}

static json_t *range_to_json(db_stmt *st, int c)
{
    json_t *o = json_pack("{s:s,s:I,s:I}", "sex", db_col_text(st, c) ? db_col_text(st, c) : "",
                          "age_min_days", (json_int_t)db_col_int64(st, c + 1), "age_max_days",
                          (json_int_t)db_col_int64(st, c + 2));
    bool ok = o != NULL;
    if (ok && !db_col_null(st, c + 3))
        ok = put(o, "low", num_json(db_col_double(st, c + 3)));
    if (ok && !db_col_null(st, c + 4))
        ok = put(o, "high", num_json(db_col_double(st, c + 4)));
    if (ok)
        ok = put_text(o, "normal_text", db_col_text(st, c + 5));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static err_t on_range_row(db_stmt *st, void *ctx, errinfo *ei)
{
    json_t *t = entries_find(ctx, db_col_text(st, 0));
    return t ? append_to(t, "ranges", range_to_json(st, 1), ei) : ERR_OK;
}

static err_t on_map_row(db_stmt *st, void *ctx, errinfo *ei)
{
    json_t *t = entries_find(ctx, db_col_text(st, 0));
    if (!t)
        return ERR_OK;
    return append_to(
        t, "mappings",
        json_pack("{s:s,s:s}", "instrument", db_col_text(st, 1), "code", db_col_text(st, 2)), ei);
}

static int cmp_mapping(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    int c = strcmp(jstr(x, "instrument"), jstr(y, "instrument"));
    return c ? c : strcmp(jstr(x, "code"), jstr(y, "code"));
}

/* Put every test's mappings in (instrument, code) order: they are a set in the database. */
static err_t sort_mappings(const struct entries *e, errinfo *ei)
{
    for (size_t i = 0; i < e->n; i++) {
        json_t *a = json_object_get(e->v[i].obj, "mappings");
        size_t n = json_array_size(a);
        json_t **items;
        if (n < 2)
            continue;
        items = malloc(n * sizeof(json_t *));
        if (!items)
            return err_set(ei, ERR_NOMEM, NULL, NULL);
        for (size_t k = 0; k < n; k++)
            items[k] = json_incref(json_array_get(a, k));
        qsort(items, n, sizeof(json_t *), cmp_mapping);
        json_array_clear(a);
        for (size_t k = 0; k < n; k++)
            json_array_append_new(a, items[k]);
        free(items);
        if (json_array_size(a) != n)
            return err_set(ei, ERR_NOMEM, NULL, NULL);
    }
    return ERR_OK;
}

/* Every test (or only the one of code), with ranges and mappings, sorted by code. */
static err_t load_tests(db *d, const char *only, struct entries *e, errinfo *ei)
{
    err_t rc = for_rows(d, only ? sql_tests_one : sql_tests_all, only, on_test_row, e, ei);
    if (!rc)
        entries_sort(e);
    if (!rc && e->n)
        rc = for_rows(d, only ? sql_ranges_one : sql_ranges_all, only, on_range_row, e, ei);
    if (!rc && e->n)
        rc = for_rows(d, only ? sql_maps_one : sql_maps_all, only, on_map_row, e, ei);
    if (!rc)
        rc = sort_mappings(e, ei);
    return rc;
}

struct panel_load {
    struct entries e;
    bool with_active;
};

static err_t on_panel_row(db_stmt *st, void *ctx, errinfo *ei)
{
    struct panel_load *pl = ctx;
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = ok && put(o, "code", json_string(db_col_text(st, 0)));
    ok = ok && put(o, "name", json_string(db_col_text(st, 1)));
    ok = ok && put_text(o, "loinc", db_col_text(st, 2));
    ok = ok && put_text(o, "cpt", db_col_text(st, 3));
    ok = ok && put(o, "tests", json_array());
    if (ok && pl->with_active)
        ok = put(o, "active", json_boolean(db_col_int64(st, 4) != 0));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    return entries_add(&pl->e, o, ei);
}

static err_t on_member_row(db_stmt *st, void *ctx, errinfo *ei)
{
    struct panel_load *pl = ctx;
    json_t *p = entries_find(&pl->e, db_col_text(st, 0));
    return p ? append_to(p, "tests", json_string(db_col_text(st, 1)), ei) : ERR_OK;
}

static err_t load_panels(db *d, struct panel_load *pl, errinfo *ei)
{
    err_t rc = for_rows(d, sql_panels_all, NULL, on_panel_row, pl, ei);
    if (!rc)
        entries_sort(&pl->e);
    if (!rc && pl->e.n)
        rc = for_rows(d, sql_members_all, NULL, on_member_row, pl, ei);
    return rc;
}

err_t catalog_export(db *d, json_t **out, errinfo *ei)
{
    struct entries tests = {0};
    struct panel_load panels = {{0}, false};
    json_t *tarr = NULL, *parr = NULL;
    err_t rc;
    *out = NULL;
    rc = load_tests(d, NULL, &tests, ei);
    if (!rc)
        rc = load_panels(d, &panels, ei);
    if (!rc)
        rc = entries_array(&tests, &tarr, ei);
    if (!rc)
        rc = entries_array(&panels.e, &parr, ei);
    if (!rc) {
        *out = json_pack("{s:o,s:o}", "tests", tarr, "panels", parr);
        tarr = parr = NULL; /* stolen by json_pack, even when it fails */
        if (!*out)
            rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    }
    json_decref(tarr);
    json_decref(parr);
    entries_free(&tests);
    entries_free(&panels.e);
    return rc;
}

err_t catalog_test_json(db *d, const char *code, json_t **out, errinfo *ei)
{
    struct entries tests = {0};
    err_t rc;
    *out = NULL;
    if (!code_valid(code))
        return err_set(ei, ERR_NOT_FOUND, "code", "no test '%.40s' in the catalog",
                       code ? code : "");
    rc = load_tests(d, code, &tests, ei);
    if (!rc && tests.n == 0)
        rc = err_set(ei, ERR_NOT_FOUND, "code", "no test '%s' in the catalog", code);
    if (!rc)
        *out = json_incref(tests.v[0].obj);
    entries_free(&tests);
    return rc;
}

static err_t on_list_test_row(db_stmt *st, void *ctx, errinfo *ei)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = ok && put(o, "code", json_string(db_col_text(st, 0)));
    ok = ok && put(o, "name", json_string(db_col_text(st, 1)));
    ok = ok && put(o, "kind", json_string(db_col_text(st, 2)));
    ok = ok && put_text(o, "loinc", db_col_text(st, 3));
    ok = ok && put(o, "specimen_type", json_string(db_col_text(st, 4)));
    ok = ok && put_text(o, "unit", db_col_text(st, 5));
    ok = ok && put(o, "active", json_boolean(db_col_int64(st, 6) != 0));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    return entries_add(ctx, o, ei);
}

err_t catalog_list_json(db *d, json_t **tests, json_t **panels, errinfo *ei)
{
    struct entries te = {0};
    struct panel_load pl = {{0}, true};
    err_t rc;
    *tests = *panels = NULL;
    rc = for_rows(d, sql_list_tests, NULL, on_list_test_row, &te, ei);
    if (!rc) {
        entries_sort(&te);
        rc = load_panels(d, &pl, ei);
    }
    if (!rc)
        rc = entries_array(&te, tests, ei);
    if (!rc)
        rc = entries_array(&pl.e, panels, ei);
    if (rc) {
        json_decref(*tests);
        *tests = NULL;
    }
    entries_free(&te);
    entries_free(&pl.e);
    return rc;
}

/* ------------------------------------------------------------ look-ups */

err_t catalog_get(db *d, const char *code, catalog_test *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc;
    if (!code_valid(code))
        return err_set(ei, ERR_NOT_FOUND, "code", "no test '%.40s' in the catalog",
                       code ? code : "");
    rc = db_prepare(d, sql_tests_one, &st, ei);
    if (!rc && db_bind_str(st, 1, code))
        rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "code", "no test '%s' in the catalog", code);
    if (!rc)
        row_to_test(st, out);
    db_finalize(st);
    return rc;
}

/* The first column of the only row of sql with text parameters a and b (b may be NULL). */
static err_t lookup(db *d, const char *sql, const char *a, const char *b, bool *found, char *out,
                    size_t outlen, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_prepare(d, sql, &st, ei);
    *found = false;
    if (!rc)
        rc = first_text(st, a, b, found, out, outlen, ei);
    db_finalize(st);
    return rc;
}

err_t catalog_range_for(db *d, const char *code, const char *sex, int64_t age_days,
                        catalog_range *out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = true, found, any_found = false, own_found = false;
    bool specific = sex && (!strcmp(sex, "female") || !strcmp(sex, "male"));
    char active[8];
    err_t rc;
    memset(out, 0, sizeof(*out));
    if (!sex || !(specific || !strcmp(sex, "other") || !strcmp(sex, "unknown")))
        return err_set(ei, ERR_INVALID, "sex", "sex must be female, male, other or unknown");
    if (age_days < 0)
        return err_set(ei, ERR_INVALID, "age_days", "age must not be negative");
    if (!code_valid(code))
        return err_set(ei, ERR_NOT_FOUND, "code", "no test '%.40s' in the catalog",
                       code ? code : "");
    rc = lookup(d, sql_test_kind, code, NULL, &found, active, sizeof(active), ei);
    if (rc)
        return rc;
    if (!found)
        return err_set(ei, ERR_NOT_FOUND, "code", "no test '%s' in the catalog", code);
    if (age_days >= CATALOG_AGE_MAX_DAYS)
        goto none; /* no band reaches that far */
    rc = db_prepare(d, sql_bands, &st, ei);
    if (!rc && (db_bind_str(st, 1, code) || db_bind_int64(st, 2, age_days) ||
                db_bind_int64(st, 3, age_days)))
        rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    while (!rc && !own_found) {
        catalog_range r;
        const char *band_sex;
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        band_sex = db_col_text(st, 0);
        if (!band_sex)
            continue;
        bool own = specific && !strcmp(band_sex, sex);
        if (!own && (strcmp(band_sex, "any") || any_found))
            continue;
        memset(&r, 0, sizeof(r));
        copy_text(r.sex, sizeof(r.sex), band_sex);
        r.age_min_days = db_col_int64(st, 1);
        r.age_max_days = db_col_int64(st, 2);
        r.has_low = !db_col_null(st, 3);
        r.low = db_col_double(st, 3);
        r.has_high = !db_col_null(st, 4);
        r.high = db_col_double(st, 4);
        copy_text(r.normal_text, sizeof(r.normal_text), db_col_text(st, 5));
        *out = r;
        if (own)
            own_found = true;
        else
            any_found = true;
    }
    db_finalize(st);
    if (rc)
        return rc;
    if (own_found || any_found)
        return ERR_OK;
none:
    memset(out, 0, sizeof(*out));
    return err_set(ei, ERR_NOT_FOUND, NULL,
                   "test '%s' has no reference range for sex %s at %lld days of age", code, sex,
                   (long long)age_days);
}

err_t catalog_expand(db *d, const char *code, char (*codes)[CATALOG_CODE_MAX + 1], int max, int *n,
                     errinfo *ei)
{
    db_stmt *st = NULL;
    bool found, row = true;
    char active[8];
    err_t rc;
    *n = 0;
    if (!code_valid(code))
        return err_set(ei, ERR_INVALID, "code", "'%.40s' is not a test or panel code",
                       code ? code : "");
    rc = lookup(d, sql_test_kind, code, NULL, &found, active, sizeof(active), ei);
    if (rc)
        return rc;
    if (found) {
        if (strcmp(active, "1"))
            return err_set(ei, ERR_INVALID, "code", "test '%s' is inactive", code);
        if (max < 1)
            return err_set(ei, ERR_INVALID, "code", "'%s' expands to more than %d tests", code,
                           max);
        copy_text(codes[0], sizeof(codes[0]), code);
        *n = 1;
        return ERR_OK;
    }
    rc = lookup(d, sql_panel_active, code, NULL, &found, active, sizeof(active), ei);
    if (rc)
        return rc;
    if (!found)
        return err_set(ei, ERR_INVALID, "code", "unknown test or panel code '%s'", code);
    if (strcmp(active, "1"))
        return err_set(ei, ERR_INVALID, "code", "panel '%s' is inactive", code);
    rc = db_prepare(d, sql_panel_members, &st, ei);
    if (!rc && db_bind_str(st, 1, code))
        rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    while (!rc) {
        const char *m;
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        m = db_col_text(st, 0);
        if (db_col_int64(st, 1) == 0)
            rc = err_set(ei, ERR_INVALID, "code", "panel '%s' holds inactive test '%s'", code,
                         m ? m : "");
        else if (*n >= max)
            rc = err_set(ei, ERR_INVALID, "code", "panel '%s' expands to more than %d tests", code,
                         max);
        else
            copy_text(codes[(*n)++], sizeof(codes[0]), m);
    }
    db_finalize(st);
    if (rc)
        *n = 0;
    return rc;
}

struct loinc_pick {
    char code[CATALOG_CODE_MAX + 1];
    bool active, found;
};

/* Prefer an active test, then the smallest code. */
static err_t on_loinc_row(db_stmt *st, void *ctx, errinfo *ei)
{
    struct loinc_pick *p = ctx;
    const char *code = db_col_text(st, 0);
    bool active = db_col_int64(st, 1) != 0;
    (void)ei;
    if (!code)
        return ERR_OK;
    if (!p->found || (active && !p->active) || (active == p->active && strcmp(code, p->code) < 0)) {
        copy_text(p->code, sizeof(p->code), code);
        p->active = active;
        p->found = true;
    }
    return ERR_OK;
}

err_t catalog_resolve(db *d, const char *instrument, const char *code,
                      char out[CATALOG_CODE_MAX + 1], errinfo *ei)
{
    struct loinc_pick pick = {{0}, false, false};
    bool found = false;
    err_t rc = ERR_OK;
    out[0] = '\0';
    if (!code || !*code)
        return err_set(ei, ERR_NOT_FOUND, "code", "no instrument code given");
    if (instrument && *instrument && strlen(instrument) <= CATALOG_INSTRUMENT_MAX &&
        strlen(code) <= CATALOG_INSTR_CODE_MAX)
        rc = lookup(d, sql_resolve_map, instrument, code, &found, out, CATALOG_CODE_MAX + 1, ei);
    if (!rc && !found && code_valid(code))
        rc = lookup(d, sql_resolve_code, code, NULL, &found, out, CATALOG_CODE_MAX + 1, ei);
    if (!rc && !found && catalog_loinc_valid(code, strlen(code))) {
        rc = for_rows(d, sql_resolve_loinc, code, on_loinc_row, &pick, ei);
        if (!rc && pick.found) {
            copy_text(out, CATALOG_CODE_MAX + 1, pick.code);
            found = true;
        }
    }
    if (rc)
        return rc;
    if (!found) {
        out[0] = '\0';
        return err_set(ei, ERR_NOT_FOUND, "code",
                       "instrument '%.64s' code '%.64s' matches no catalog test",
                       instrument ? instrument : "", code);
    }
    return ERR_OK;
}

err_t catalog_instrument_code(db *d, const char *instrument, const char *code,
                              char out[CATALOG_INSTR_CODE_MAX + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    snprintf(out, CATALOG_INSTR_CODE_MAX + 1, "%s", code);
    err_t rc = db_query(d, &st, ei,
                        "SELECT instrument_code FROM test_mappings WHERE instrument = ?"
                        " AND test_code = ? ORDER BY instrument_code LIMIT 1",
                        "tt", instrument, code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        snprintf(out, CATALOG_INSTR_CODE_MAX + 1, "%s", db_col_text(st, 0));
    db_finalize(st);
    return rc;
}
