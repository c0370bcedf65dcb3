/*
 * catalog.h - the test catalog: what the laboratory can order and measure.
 *
 * A test has a code (1 to 16 of A-Z 0-9 _ -), a name, an optional LOINC code
 * (check digit verified), a kind (numeric, text or coded), the specimen and
 * container it needs, for numeric tests a UCUM unit and the decimals reported,
 * reference ranges by sex and age band [age_min_days, age_max_days), critical
 * limits, a delta check, specimen stability, turnaround targets by priority, a
 * CPT code, for coded tests the allowed values, and what each instrument calls
 * it (mappings). A panel is a named, ordered list of tests. Panel codes and test
 * codes share one name space.
 *
 * The catalog travels as one JSON document, the same shape for import and
 * export:
 *
 *   {"tests":[{"code","name","loinc"?,"kind","specimen_type","container",
 *              "unit"?,"decimals"?,"ranges"?:[{"sex","age_min_days",
 *              "age_max_days","low"?,"high"?,"normal_text"?}],
 *              "critical"?:{"low"?,"high"?},
 *              "delta"?:{"kind","limit","window_hours"},
 *              "stability_hours"?:{"room"?,"refrigerated"?,"frozen"?},
 *              "tat_minutes":{"routine","asap","stat"},"cpt"?,
 *              "coded_values"?:[...],"mappings"?:[{"instrument","code"}]}],
 *    "panels":[{"code","name","loinc"?,"cpt"?,"tests":[code,...]}]}
 *
 * Absent and null are the same on import; export leaves out what is absent
 * (never writes null), and also leaves out an empty "ranges" or "mappings"
 * array and a "critical" or "stability_hours" object with no member, which
 * import treats as absent too. Whole numbers are exported as JSON integers.
 * Ranges, coded values and panel members keep their order; mappings are a set,
 * exported sorted by instrument, then code (byte order); tests and panels are
 * exported sorted by code (byte order). So export(import(x)) equals x up to key
 * order and nulls when x lists its mappings in that order.
 *
 * Import refuses, naming the JSON path in ei->field ("tests[3].ranges[1].low"):
 * an unknown member anywhere (ERR_UNKNOWN_FIELD); a missing required one
 * (ERR_MISSING_FIELD); and (ERR_INVALID) a member of the wrong type, a string
 * out of its length or holding control characters, and any of these rules:
 *  - code 1-16 of A-Z 0-9 _ -, unique in the document; name 1-128 characters;
 *    specimen_type and container 1-64; loinc optional, check digit verified;
 *    cpt optional, 5 of 0-9 A-Z;
 *  - numeric tests need unit (UCUM: 1-32 printable ASCII, no spaces) and
 *    decimals 0-6; text and coded tests have neither, nor critical or delta;
 *    coded tests need coded_values (1-100 distinct strings of 1-64 characters),
 *    the others have none;
 *  - a band: sex any|female|male, 0 <= age_min_days < age_max_days <= 54750;
 *    numeric bands have low and/or high (low <= high) and no normal_text; text
 *    and coded bands have normal_text (for coded tests one of coded_values)
 *    and no low/high; bands of one sex do not overlap;
 *  - critical low < high; delta kind absolute|percent, limit > 0, window_hours
 *    1-8760; stability hours 0-87600 each; tat_minutes routine, asap and stat
 *    all given, 1-100000, stat <= asap <= routine;
 *  - mappings: instrument 1-64 and code 1-32 printable ASCII without a space at
 *    either end; an (instrument, code) pair once in the whole catalog;
 *  - a panel code is no test's code; a panel has 1-200 distinct member tests,
 *    each in the document or an active test of the catalog.
 *
 * Ownership: JSON results are new references the caller releases with
 * json_decref(); strings in the C views are copies the caller owns.
 */
#ifndef BENCHSIDE_LAB_CATALOG_H
#define BENCHSIDE_LAB_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define CATALOG_CODE_MAX         16    /* test and panel codes, bytes */
#define CATALOG_NAME_MAX         128   /* test and panel names, characters */
#define CATALOG_LABEL_MAX        64    /* specimen_type and container, characters */
#define CATALOG_UNIT_MAX         32    /* UCUM unit, bytes */
#define CATALOG_LOINC_MAX        9     /* up to 7 digits, '-', check digit */
#define CATALOG_CPT_LEN          5     /* CPT code, exactly */
#define CATALOG_TEXT_MAX         128   /* normal_text, characters */
#define CATALOG_CODED_VALUE_MAX  64    /* one coded value, characters */
#define CATALOG_INSTRUMENT_MAX   64    /* mapping instrument name, bytes */
#define CATALOG_INSTR_CODE_MAX   32    /* mapping instrument code, bytes */
#define CATALOG_AGE_MAX_DAYS     54750 /* 150 years */
#define CATALOG_MAX_TESTS        10000 /* per document */
#define CATALOG_MAX_PANELS       2000  /* per document */
#define CATALOG_MAX_RANGES       64    /* per test */
#define CATALOG_MAX_MAPPINGS     64    /* per test */
#define CATALOG_MAX_CODED_VALUES 100   /* per test */
#define CATALOG_MAX_PANEL_TESTS  200   /* per panel */

/* Bytes of a character-limited field's buffer: UTF-8 takes up to 4 per character. */
#define CATALOG_UTF8_BYTES(chars) ((chars)*4)

typedef enum {
    CATALOG_NUMERIC = 1,
    CATALOG_TEXT = 2,
    CATALOG_CODED = 3,
} catalog_kind;

typedef enum {
    CATALOG_DELTA_ABSOLUTE = 1, /* |new - previous| > limit, in the test's unit */
    CATALOG_DELTA_PERCENT = 2,  /* |new - previous| / |previous| * 100 > limit */
} catalog_delta_kind;

/* One test as other modules see it. Text fields are "" when the test has none. */
typedef struct catalog_test {
    char code[CATALOG_CODE_MAX + 1];
    char name[CATALOG_UTF8_BYTES(CATALOG_NAME_MAX) + 1];
    char loinc[CATALOG_LOINC_MAX + 1];
    catalog_kind kind;
    char specimen_type[CATALOG_UTF8_BYTES(CATALOG_LABEL_MAX) + 1];
    char container[CATALOG_UTF8_BYTES(CATALOG_LABEL_MAX) + 1];
    char unit[CATALOG_UNIT_MAX + 1]; /* numeric tests only */
    int decimals;                    /* numeric tests: 0..6; 0 otherwise */
    bool has_critical_low, has_critical_high;
    double critical_low, critical_high;
    bool has_delta;
    catalog_delta_kind delta_kind; /* when has_delta */
    double delta_limit;            /* when has_delta: > 0 */
    int delta_window_hours;        /* when has_delta: 1..8760 */
    int stability_room_hours;      /* -1 when unknown */
    int stability_refrigerated_hours;
    int stability_frozen_hours;
    int tat_routine_minutes, tat_asap_minutes, tat_stat_minutes;
    char cpt[CATALOG_CPT_LEN + 1];
    bool active;
} catalog_test;

/* One reference band. */
typedef struct catalog_range {
    char sex[8];                        /* the band's: "any", "female" or "male" */
    int64_t age_min_days, age_max_days; /* [min, max) */
    bool has_low, has_high;
    double low, high;                                           /* numeric tests */
    char normal_text[CATALOG_UTF8_BYTES(CATALOG_TEXT_MAX) + 1]; /* text and coded tests; or "" */
} catalog_range;

/* The demo catalog (src/lab/demo_catalog.json), NUL-terminated; _len excludes the NUL. */
extern const char catalog_demo_json[];
extern const size_t catalog_demo_json_len;

/* "numeric", "text" or "coded"; "" for anything else. Never NULL. */
const char *catalog_kind_name(catalog_kind k);

/*
 * True when s[0..n) is a LOINC code: 1 to 7 digits without a leading zero, '-',
 * and the mod-10 check digit LOINC defines (Luhn over the digits) matching.
 */
bool catalog_loinc_valid(const char *s, size_t n);

/*
 * Validate doc (the shape above) completely, then in one transaction upsert
 * every test it holds (its ranges and mappings replaced by the document's) and
 * every panel (its member list replaced), mark them active, and write one audit
 * event "catalog.import" (entity_type "catalog", detail {"tests":N,"panels":M}).
 * Tests and panels the document does not name are left as they are.
 *
 * Checks against the database (inside the transaction): a test code must not be
 * an existing panel's and a panel code not an existing test's; a panel member
 * must be in the document or an active test in the database; an instrument's
 * code must not be mapped to a test the document does not hold.
 *
 * *tests and *panels (either may be NULL) receive the counts written. Returns
 * ERR_INVALID, ERR_UNKNOWN_FIELD or ERR_MISSING_FIELD with the JSON path in
 * ei->field, or a storage error; on any error nothing is written. doc is
 * borrowed.
 */
err_t catalog_import(db *d, const audit_ctx *ctx, const json_t *doc, int *tests, int *panels,
                     errinfo *ei);

/*
 * The whole catalog, active or not, in the shape above, into *out (a new
 * reference). Storage errors only.
 */
err_t catalog_export(db *d, json_t **out, errinfo *ei);

/* One test in the export shape into *out (new reference). ERR_NOT_FOUND when none. */
err_t catalog_test_json(db *d, const char *code, json_t **out, errinfo *ei);

/*
 * Short lists for pickers, sorted by code, each a new JSON array:
 * *tests [{"code","name","kind","loinc"?,"specimen_type","unit"?,"active"}],
 * *panels [{"code","name","loinc"?,"cpt"?,"tests":[...],"active"}].
 * On error both are NULL.
 */
err_t catalog_list_json(db *d, json_t **tests, json_t **panels, errinfo *ei);

/* The test code into *out. ERR_NOT_FOUND when there is none (inactive ones are found). */
err_t catalog_get(db *d, const char *code, catalog_test *out, errinfo *ei);

/*
 * The reference band of test code for a patient of sex ("female", "male",
 * "other" or "unknown") and age in days: a band for that sex wins over an "any"
 * band; "other" and "unknown" use "any" bands only. age_min_days is inclusive,
 * age_max_days exclusive. ERR_NOT_FOUND when the test does not exist or no band
 * applies; ERR_INVALID (field "sex" or "age_days") for a bad argument.
 */
err_t catalog_range_for(db *d, const char *code, const char *sex, int64_t age_days,
                        catalog_range *out, errinfo *ei);

/*
 * What ordering code means: a test code gives itself, a panel code its member
 * tests in order. codes[0..max) receives them, *n how many. An unknown or
 * inactive code (or a panel holding an inactive test) is ERR_INVALID with field
 * "code" and a message naming the code; a panel of more than max tests is
 * ERR_INVALID too.
 */
err_t catalog_expand(db *d, const char *code, char (*codes)[CATALOG_CODE_MAX + 1], int max, int *n,
                     errinfo *ei);

/*
 * The catalog test an instrument means by code: the instrument's mapping first
 * (instrument may be NULL or "" to skip it), then a test with that code, then a
 * test with that LOINC code (the smallest code when several share it). Inactive
 * tests are found too (results may arrive for orders placed before). The test
 * code goes to out. ERR_NOT_FOUND when nothing matches.
 */
/* What instrument calls catalog test code (its mapping), into out; the
 * catalog code itself when it has no mapping for it. */
err_t catalog_instrument_code(db *d, const char *instrument, const char *code,
                              char out[CATALOG_INSTR_CODE_MAX + 1], errinfo *ei);

err_t catalog_resolve(db *d, const char *instrument, const char *code,
                      char out[CATALOG_CODE_MAX + 1], errinfo *ei);

#endif
