/*
 * bench_hl7.c - throughput of the HL7 v2 parser (src/proto/hl7.c) over a corpus
 * of laboratory messages made here: ORU^R01 results (v2.5.1) and OUL^R22
 * results from analysers (IHE LAW), about half each, 1 to 8 KB a message.
 *
 * The corpus is generated from a fixed seed, so the same arguments give the
 * same bytes on every machine. It is written to CORPUS_FILE so that other HL7
 * parsers can be timed on the same messages (bench/hl7_parse_python.py,
 * bench/tools/hl7_parse.mjs), then benchside's parser is timed in two modes:
 *
 *   full:       for each message, hl7_parse() into an arena freed after the
 *               message, then every value read: each segment's id, MSH-1 and
 *               MSH-2 (hl7_field), and every sub-component with the cursor
 *               (hl7_cursor_next), the work a library does that splits every
 *               field. "values" in the output counts them; the other parsers'
 *               scripts count the same way, so the totals must agree;
 *   index_only: hl7_parse() alone, which indexes the segments.
 *
 * Corpus file format: one message per line. The segments of a message each
 * end with CR (0x0D), as HL7 writes them; one LF (0x0A) follows the last
 * segment of every message. Messages hold no LF of their own (a line break in
 * text is escaped as \X0D\ or \X0A\), so splitting the file at LF gives the
 * messages back. The text is UTF-8 (MSH-18 says so); some names are not ASCII.
 *
 * Throughput counts the bytes of the messages (their CRs, not the LFs between
 * them); MB is 10^6 bytes. Each mode runs PASSES times over the whole corpus,
 * after one pass to warm caches; the best and the median pass are reported.
 *
 * usage: bench_hl7 CORPUS_FILE [MEGABYTES [PASSES [SEED]]]
 * Prints one JSON object with the figures.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "proto/hl7.h"

#define MAX_MESSAGE     8192 /* no message is made longer than this */
#define COUNT(a)        (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a)      ((a)[rng_below((r), COUNT(a))])
#define DEFAULT_SEED    20260101ULL
#define DEFAULT_MB      64
#define DEFAULT_PASSES  15
#define TS_BASE_SECONDS 1767225600LL /* 2026-01-01T00:00:00Z */

/* --- Deterministic randomness (splitmix64) -------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint32_t rng_below(rng *r, size_t n)
{
    return (uint32_t)(rng_next(r) % (uint64_t)n);
}

/* Uniform in [lo, hi]. */
static int rng_range(rng *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (size_t)(hi - lo + 1));
}

static bool rng_chance(rng *r, int percent)
{
    return (int)rng_below(r, 100) < percent;
}

/* Uniform in [lo, hi). */
static double rng_real(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/* --- What the messages are made of --------------------------------------- */

static const char *const family_names[] = {
    "SMITH",  "JOHNSON",     "WILLIAMS", "BROWN",     "JONES",     "GARCIA",   "MILLER",
    "DAVIS",  "RODRIGUEZ",   "MARTINEZ", "HERNANDEZ", "LOPEZ",     "WILSON",   "ANDERSON",
    "THOMAS", "TAYLOR",      "MOORE",    "JACKSON",   "MARTIN",    "LEE",      "O'BRIEN",
    "NGUYEN", "SMITH-JONES", "MÜLLER",   "GONZÁLEZ",  "ØSTERGÅRD", "KOWALSKI", "DUBOIS",
};

static const char *const given_names[] = {
    "JAMES", "MARY",  "ROBERT", "PATRICIA", "JOHN",  "JENNIFER", "MICHAEL", "LINDA",
    "DAVID", "SUSAN", "MARIA",  "JOSÉ",     "CHLOÉ", "SØREN",    "AMIR",    "MEI",
    "KWAME", "ELENA", "OLIVER", "SOPHIA",   "LIAM",  "NOAH",     "EMMA",    "ZOË",
};

static const char *const streets[] = {
    "MAIN ST",         "OAK AVE",      "MAPLE DR", "CEDAR LN",       "ELM ST", "PARK RD",
    "LAKE SHORE BLVD", "HILLCREST CT", "RIVER RD", "WASHINGTON AVE", "2ND ST", "SUNSET BLVD",
};

static const struct {
    const char *city, *state, *zip, *area;
} cities[] = {
    {"SPRINGFIELD", "IL", "62701", "217"}, {"MADISON", "WI", "53703", "608"},
    {"COLUMBUS", "OH", "43215", "614"},    {"PORTLAND", "OR", "97205", "503"},
    {"AUSTIN", "TX", "78701", "512"},      {"DENVER", "CO", "80202", "303"},
    {"RALEIGH", "NC", "27601", "919"},     {"BOISE", "ID", "83702", "208"},
};

static const char *const races[] = {
    "2106-3^White^CDCREC",      "2054-5^Black or African American^CDCREC",
    "2028-9^Asian^CDCREC",      "1002-5^American Indian or Alaska Native^CDCREC",
    "2131-1^Other Race^CDCREC",
};

static const char *const ethnic_groups[] = {
    "2186-5^Not Hispanic or Latino^CDCREC",
    "2135-2^Hispanic or Latino^CDCREC",
};

static const struct {
    const char *name, *oid, *clia;
} facilities[] = {
    {"CENTRAL LAB", "2.16.840.1.113883.3.72.5.21", "14D0123456"},
    {"ST MARY HOSPITAL LAB", "2.16.840.1.113883.3.1234.1", "05D2034567"},
    {"NORTHSIDE CLINIC", "2.16.840.1.113883.3.5678.2", "33D0987654"},
    {"VALLEY REGIONAL MC", "2.16.840.1.113883.3.4321.7", "45D1122334"},
};

static const struct {
    const char *id, *model, *vendor;
} analysers[] = {
    {"C8000-01", "cobas 8000 c702", "ROCHE"}, {"ARC-I2", "Alinity ci", "ABBOTT"},
    {"XN-10-3", "XN-1000", "SYSMEX"},         {"ATELLICA-1", "Atellica CH 930", "SIEMENS"},
    {"AU5800-2", "AU5800", "BECKMAN"},
};

/* A numeric test: LOINC code and long name, a short name, the laboratory's
 * own code, UCUM unit, reference interval and decimals. */
typedef struct numeric_test {
    const char *loinc, *name, *short_name, *local, *unit;
    double low, high;
    int decimals;
} numeric_test;

static const numeric_test numeric_tests[] = {
    {"2345-7", "Glucose [Mass/volume] in Serum or Plasma", "Glucose", "GLU", "mg/dL", 70, 99, 0},
    {"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "Creatinine", "CREA", "mg/dL", 0.6,
     1.3, 2},
    {"3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "BUN", "BUN", "mg/dL", 7, 20, 0},
    {"2951-2", "Sodium [Moles/volume] in Serum or Plasma", "Sodium", "NA", "mmol/L", 136, 145, 0},
    {"2823-3", "Potassium [Moles/volume] in Serum or Plasma", "Potassium", "K", "mmol/L", 3.5, 5.1,
     1},
    {"2075-0", "Chloride [Moles/volume] in Serum or Plasma", "Chloride", "CL", "mmol/L", 98, 107,
     0},
    {"2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "CO2", "CO2", "mmol/L",
     22, 29, 0},
    {"17861-6", "Calcium [Mass/volume] in Serum or Plasma", "Calcium", "CA", "mg/dL", 8.6, 10.3, 1},
    {"2885-2", "Protein [Mass/volume] in Serum or Plasma", "Total protein", "TP", "g/dL", 6.0, 8.3,
     1},
    {"1751-7", "Albumin [Mass/volume] in Serum or Plasma", "Albumin", "ALB", "g/dL", 3.5, 5.2, 1},
    {"1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "Bilirubin, total", "TBIL",
     "mg/dL", 0.1, 1.2, 1},
    {"6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", "ALP", "ALP",
     "U/L", 44, 147, 0},
    {"1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "ALT",
     "ALT", "U/L", 7, 56, 0},
    {"1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "AST",
     "AST", "U/L", 10, 40, 0},
    {"6690-2", "Leukocytes [#/volume] in Blood by Automated count", "WBC", "WBC", "10*3/uL", 4.5,
     11.0, 1},
    {"789-8", "Erythrocytes [#/volume] in Blood by Automated count", "RBC", "RBC", "10*6/uL", 4.2,
     5.9, 2},
    {"718-7", "Hemoglobin [Mass/volume] in Blood", "Hemoglobin", "HGB", "g/dL", 12.0, 17.5, 1},
    {"4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "Hematocrit", "HCT", "%",
     36, 50, 1},
    {"787-2", "MCV [Entitic volume] by Automated count", "MCV", "MCV", "fL", 80, 100, 1},
    {"777-3", "Platelets [#/volume] in Blood by Automated count", "Platelets", "PLT", "10*3/uL",
     150, 400, 0},
    {"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "Cholesterol", "CHOL", "mg/dL", 100,
     200, 0},
    {"2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "Triglycerides", "TRIG", "mg/dL",
     40, 150, 0},
    {"2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "HDL cholesterol", "HDL",
     "mg/dL", 40, 60, 0},
    {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c", "A1C", "%", 4.0, 5.6, 1},
    {"3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "TSH", "TSH", "m[IU]/L", 0.4, 4.0,
     2},
    {"5902-2", "Prothrombin time (PT)", "PT", "PT", "s", 11.0, 13.5, 1},
    {"6301-6", "INR in Platelet poor plasma by Coagulation assay", "INR", "INR", "{INR}", 0.8, 1.1,
     2},
    {"2532-0", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", "LDH", "LDH",
     "U/L", 140, 280, 0},
};

/* A text test: LOINC code, name, and the answers it may have (the first is
 * the normal one). */
typedef struct text_test {
    const char *loinc, *name, *local;
    const char *answers[4];
} text_test;

static const text_test text_tests[] = {
    {"5778-6", "Color of Urine", "UCOL", {"Yellow", "Straw", "Amber", "Red"}},
    {"5767-9", "Appearance of Urine", "UAPP", {"Clear", "Hazy", "Cloudy", "Turbid"}},
    {"5804-0",
     "Protein [Mass/volume] in Urine by Test strip",
     "UPRO",
     {"Negative", "Trace", "1+", "2+ (100 mg/dL)"}},
    {"5792-7",
     "Glucose [Mass/volume] in Urine by Test strip",
     "UGLU",
     {"Negative", "Trace", "1+", "3+"}},
    {"664-3",
     "Microscopic observation [Identifier] in Specimen by Gram stain",
     "GRAM",
     {"No organisms seen", "Gram positive cocci in clusters", "Gram negative rods",
      "Yeast & pseudohyphae"}},
    {"600-7",
     "Bacteria identified in Blood by Culture",
     "BCUL",
     {"No growth at 5 days", "Staphylococcus aureus", "Escherichia coli",
      "Mixed flora ~ probable contaminant"}},
    {"882-1", "ABO and Rh group [Type] in Blood", "ABORH", {"O Pos", "A Pos", "B Neg", "AB Pos"}},
};

static const struct {
    const char *loinc, *name, *local;
} panels[] = {
    {"24323-8", "Comprehensive metabolic 2000 panel - Serum or Plasma", "CMP"},
    {"58410-2", "CBC panel - Blood by Automated count", "CBC"},
    {"57698-3", "Lipid panel with direct LDL - Serum or Plasma", "LIPID"},
    {"24357-6", "Urinalysis macro (dipstick) panel - Urine", "UA"},
    {"34714-6", "INR in Blood by Coagulation assay", "COAG"},
};

static const struct {
    const char *code, *name;
} specimen_types[] = {
    {"SER", "Serum"},
    {"PLAS", "Plasma"},
    {"BLD", "Whole blood"},
    {"UR", "Urine"},
};

/* Comments as people type them: plain text that the writer escapes (| ^ ~ &
 * and \ become \F\ \S\ \R\ \T\ \E\, line breaks \X0D\ or \X0A\). */
static const char *const comments[] = {
    "Specimen slightly hemolyzed; potassium may be falsely elevated.",
    "Result verified by repeat analysis.",
    "Critical value called to the ordering physician & ward nurse at 08:15, read back confirmed.",
    "Lipemic sample | result obtained after ultracentrifugation.",
    "Ratio 3^1 (see reference note).",
    "Reference intervals updated 2025-10-01, see C:\\LIS\\ref\\chem.pdf",
    "Specimen received unlabeled.\rRecollection requested.\rPhysician notified.",
    "Fasting status: unknown.\nInterpret triglycerides with caution.",
    "Repeat ~ dilution 1:10 applied.",
    "Sample age > 24 h at receipt; stability limits exceeded for some analytes.",
    "Delta check failed against previous result (2 days ago); instrument checked, QC in range.",
    "Performed at reference laboratory; method: immunoturbidimetric assay.",
};

/* --- Writing -------------------------------------------------------------- */

/*
 * Write field n of the current segment from a printf template whose result
 * is read as HL7 structure: ^ begins a component, ~ a repetition and & a
 * sub-component; every part is escaped by the writer. Errors stay in w.
 */
static void put(hl7_writer *w, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put(hl7_writer *w, size_t n, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof(text)) {
        if (!w->err)
            w->err = ERR_USAGE; /* hl7_writer_end() reports it */
        return;
    }
    size_t len = (size_t)k, start = 0;
    hl7_level level = HL7_FIELD;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? text[i] : '\0';
        if (c != '\0' && c != '^' && c != '~' && c != '&')
            continue;
        if (level == HL7_FIELD) {
            text[i] = '\0';
            hl7_writer_field_at(w, n, text + start);
        } else {
            hl7_writer_put(w, level, text + start, i - start);
        }
        level = c == '^' ? HL7_COMPONENT : c == '~' ? HL7_REPETITION : HL7_SUBCOMPONENT;
        start = i + 1;
    }
}

/* Write field n as plain text (every delimiter in it escaped). */
static void put_text(hl7_writer *w, size_t n, const char *text)
{
    hl7_writer_field_at(w, n, text);
}

/* An HL7 DTM for secs (since 1970, UTC) in a zone of tz minutes east of UTC. */
static void ts_text(int64_t secs, int tz, char out[32])
{
    int64_t local = secs + (int64_t)tz * 60;
    int64_t days = local / 86400, sod = local % 86400;
    int64_t y;
    int m, d;
    time_civil_from_days(days, &y, &m, &d);
    int a = tz < 0 ? -tz : tz;
    snprintf(out, 32, "%04d%02d%02d%02d%02d%02d%c%02d%02d", (int)y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), tz < 0 ? '-' : '+', a / 60, a % 60);
}

/* The message being made: who it is about, when, and how its sender writes. */
typedef struct gen {
    rng r;
    hl7_writer w;
    bool oul;   /* OUL^R22 (else ORU^R01) */
    bool terse; /* short display names, optional fields left out */
    char family[32], given[32], middle[8], birth[16], mrn[16], account[16];
    char street[48], phone[16];
    int city, facility, sex;
    int64_t t; /* specimen collected, seconds since 1970 */
    int tz;    /* the sender's zone, minutes east of UTC */
} gen;

static void gen_patient(gen *g)
{
    rng *r = &g->r;
    snprintf(g->family, sizeof(g->family), "%s", PICK(r, family_names));
    snprintf(g->given, sizeof(g->given), "%s", PICK(r, given_names));
    snprintf(g->middle, sizeof(g->middle), "%c", 'A' + rng_range(r, 0, 25));
    snprintf(g->birth, sizeof(g->birth), "%04d%02d%02d", rng_range(r, 1930, 2024),
             rng_range(r, 1, 12), rng_range(r, 1, 28));
    snprintf(g->mrn, sizeof(g->mrn), "%08u", rng_below(r, 100000000));
    snprintf(g->account, sizeof(g->account), "A%09u", rng_below(r, 1000000000));
    snprintf(g->street, sizeof(g->street), "%d %s", rng_range(r, 1, 9999), PICK(r, streets));
    snprintf(g->phone, sizeof(g->phone), "%07u", 2000000 + rng_below(r, 8000000));
    g->city = (int)rng_below(r, COUNT(cities));
    g->facility = (int)rng_below(r, COUNT(facilities));
    g->sex = (int)rng_below(r, 3);
    g->t = TS_BASE_SECONDS + (int64_t)rng_below(r, 365 * 86400);
    g->tz = rng_chance(r, 80) ? -300 : 60;
}

/* A time offset seconds from the collection time, as a DTM. */
static void gen_ts(const gen *g, int64_t offset, char out[32])
{
    ts_text(g->t + offset, g->tz, out);
}

/* A provider as an XCN with an NPI. */
static void put_provider(gen *g, size_t n)
{
    put(&g->w, n, "%010u^%s^%s^^^Dr^^^NPI&2.16.840.1.113883.4.6&ISO^L^^^NPI",
        1000000000u + rng_below(&g->r, 900000000), PICK(&g->r, family_names),
        PICK(&g->r, given_names));
}

static void put_msh(gen *g, uint64_t control)
{
    hl7_writer *w = &g->w;
    const char *fac = facilities[g->facility].name, *oid = facilities[g->facility].oid;
    char ts[32];
    gen_ts(g, rng_range(&g->r, 3600, 86400), ts);
    hl7_writer_segment(w, "MSH");
    if (g->oul)
        put(w, 3, "%s^%s^ISO", PICK(&g->r, analysers).id, "1.3.6.1.4.1.12559.11.1.4");
    else
        put(w, 3, "LIS^2.16.840.1.113883.3.72.5.20^ISO");
    put(w, 4, "%s^%s^ISO", fac, oid);
    put(w, 5,
        g->oul ? "LIS^2.16.840.1.113883.3.72.5.20^ISO" : "EHR^2.16.840.1.113883.3.72.5.30^ISO");
    put(w, 6, "%s^%s^ISO", fac, oid);
    put(w, 7, "%s", ts);
    put(w, 9, g->oul ? "OUL^R22^OUL_R22" : "ORU^R01^ORU_R01");
    put(w, 10, "%s%012llu", g->oul ? "LAW" : "ORU", (unsigned long long)control);
    put(w, 11, "P");
    put(w, 12, "2.5.1");
    put(w, 15, g->oul ? "NE" : "AL");
    put(w, 16, g->oul ? "AL" : "NE");
    put(w, 17, "USA");
    put(w, 18, "UNICODE UTF-8");
    if (g->oul)
        put(w, 21, "LAB-29^IHE");
    else if (!g->terse)
        put(w, 21, "LRI_NG_RU_Profile^HL7^2.16.840.1.113883.9.19^ISO");
}

/* PID; with full set, identifiers, mother's name, race, address, phone,
 * account and ethnic group too. */
static void put_pid(gen *g, bool full)
{
    hl7_writer *w = &g->w;
    rng *r = &g->r;
    const char *fac = facilities[g->facility].name, *oid = facilities[g->facility].oid;
    hl7_writer_segment(w, "PID");
    put(w, 1, "1");
    if (full)
        put(w, 3, "%s^^^%s&%s&ISO^MR~%03u%02u%04u^^^SSA&2.16.840.1.113883.4.1&ISO^SS", g->mrn, fac,
            oid, 100 + rng_below(r, 800), 10 + rng_below(r, 90), rng_below(r, 10000));
    else
        put(w, 3, "%s^^^%s&%s&ISO^MR", g->mrn, fac, oid);
    put(w, 5, "%s^%s^%s^^^^L", g->family, g->given, g->middle);
    if (full && rng_chance(r, 40))
        put(w, 6, "%s^^^^^^M", PICK(r, family_names));
    put(w, 7, "%s", g->birth);
    put(w, 8, "%s", g->sex == 0 ? "F" : g->sex == 1 ? "M" : "U");
    if (!full)
        return;
    put(w, 10, "%s", PICK(r, races));
    put(w, 11, "%s^%s^%s^%s^%s^USA^H", g->street, rng_chance(r, 30) ? "APT 4B" : "",
        cities[g->city].city, cities[g->city].state, cities[g->city].zip);
    put(w, 13, "^PRN^PH^^1^%s^%s", cities[g->city].area, g->phone);
    put(w, 18, "%s^^^%s&%s&ISO^AN", g->account, fac, oid);
    put(w, 22, "%s", PICK(r, ethnic_groups));
}

static void put_pv1(gen *g)
{
    static const char *const classes[] = {"O", "I", "E"};
    static const char *const wards[] = {"4WEST", "ICU", "ED", "ONC", "CARD", "OPCLINIC"};
    hl7_writer *w = &g->w;
    rng *r = &g->r;
    char ts[32];
    gen_ts(g, -rng_range(r, 3600, 5 * 86400), ts);
    hl7_writer_segment(w, "PV1");
    put(w, 1, "1");
    put(w, 2, "%s", PICK(r, classes));
    put(w, 3, "%s^%d^%c^%s", PICK(r, wards), rng_range(r, 100, 499), 'A' + rng_range(r, 0, 3),
        facilities[g->facility].name);
    put_provider(g, 7);
    if (rng_chance(r, 50))
        put_provider(g, 8);
    put(w, 10, "MED");
    put(w, 19, "V%08u^^^%s&%s&ISO^VN", rng_below(r, 100000000), facilities[g->facility].name,
        facilities[g->facility].oid);
    put(w, 44, "%s", ts);
}

static void put_nte(gen *g, int set_id)
{
    hl7_writer_segment(&g->w, "NTE");
    put(&g->w, 1, "%d", set_id);
    put(&g->w, 2, "L");
    put_text(&g->w, 3, PICK(&g->r, comments));
    put(&g->w, 4, "RE^Remark^HL70364");
}

/* Placer and filler order numbers, shared by ORC and OBR. */
typedef struct order_ids {
    char placer[24], filler[24];
} order_ids;

static void order_ids_make(rng *r, order_ids *o)
{
    snprintf(o->placer, sizeof(o->placer), "PLC%09u", rng_below(r, 1000000000));
    snprintf(o->filler, sizeof(o->filler), "FIL%09u", rng_below(r, 1000000000));
}

static void put_orc(gen *g, const order_ids *o)
{
    hl7_writer *w = &g->w;
    rng *r = &g->r;
    char ts[32];
    gen_ts(g, -rng_range(r, 600, 7200), ts);
    hl7_writer_segment(w, "ORC");
    put(w, 1, g->oul ? "SC" : "RE");
    put(w, 2, "%s^EHR^2.16.840.1.113883.3.72.5.30^ISO", o->placer);
    put(w, 3, "%s^LAB^%s^ISO", o->filler, facilities[g->facility].oid);
    put(w, 5, "CM");
    put(w, 9, "%s", ts);
    if (g->oul || g->terse)
        return;
    put_provider(g, 12);
    put(w, 14, "^WPN^PH^^1^%s^%07u", cities[g->city].area, 2000000 + rng_below(r, 8000000));
    put(w, 21, "%s^L^^^^CLIA&2.16.840.1.113883.4.7&ISO^XX^^^%s", facilities[g->facility].name,
        facilities[g->facility].clia);
    put(w, 22, "%d %s^^%s^%s^%s^USA^B", rng_range(r, 1, 999), PICK(r, streets),
        cities[g->city].city, cities[g->city].state, cities[g->city].zip);
}

static void put_obr(gen *g, const order_ids *o, int set_id)
{
    hl7_writer *w = &g->w;
    rng *r = &g->r;
    char collected[32], received[32], reported[32];
    gen_ts(g, 0, collected);
    gen_ts(g, rng_range(r, 600, 3600), received);
    gen_ts(g, rng_range(r, 3600, 14400), reported);
    int k = (int)rng_below(r, COUNT(panels));
    hl7_writer_segment(w, "OBR");
    put(w, 1, "%d", set_id);
    put(w, 2, "%s^EHR^2.16.840.1.113883.3.72.5.30^ISO", o->placer);
    put(w, 3, "%s^LAB^%s^ISO", o->filler, facilities[g->facility].oid);
    if (g->terse)
        put(w, 4, "%s^%s^LN", panels[k].loinc, panels[k].local);
    else
        put(w, 4, "%s^%s^LN^%s^%s^99LAB", panels[k].loinc, panels[k].name, panels[k].local,
            panels[k].local);
    put(w, 7, "%s", collected);
    if (g->oul)
        return;
    if (!g->terse) {
        put(w, 14, "%s", received);
        put_provider(g, 16);
    }
    put(w, 22, "%s", reported);
    put(w, 24, "LAB");
    put(w, 25, "F");
}

/* One OBX, numeric (about 80%) or text. */
static void put_obx(gen *g, int set_id)
{
    hl7_writer *w = &g->w;
    rng *r = &g->r;
    char observed[32], analysed[32], value[32];
    const char *flag;
    gen_ts(g, 0, observed);
    gen_ts(g, rng_range(r, 900, 10800), analysed);
    hl7_writer_segment(w, "OBX");
    put(w, 1, "%d", set_id);
    if (rng_chance(r, 80)) {
        const numeric_test *t = &PICK(r, numeric_tests);
        double span = t->high - t->low, v;
        int band = rng_range(r, 0, 99);
        if (band < 70)
            v = rng_real(r, t->low, t->high);
        else if (band < 85)
            v = rng_real(r, t->high, t->high + span * 0.6);
        else
            v = rng_real(r, t->low * 0.6, t->low);
        snprintf(value, sizeof(value), "%.*f", t->decimals, v);
        if (v > t->high + span * 0.5)
            flag = "HH";
        else if (v > t->high)
            flag = "H";
        else if (v < t->low * 0.7)
            flag = "LL";
        else if (v < t->low)
            flag = "L";
        else
            flag = rng_chance(r, 50) ? "N" : "";
        put(w, 2, "NM");
        if (g->terse)
            put(w, 3, "%s^%s^LN", t->loinc, t->short_name);
        else
            put(w, 3, "%s^%s^LN^%s^%s^99LAB", t->loinc, t->name, t->local, t->short_name);
        put(w, 5, "%s", value);
        if (g->terse)
            put(w, 6, "%s", t->unit);
        else
            put(w, 6, "%s^%s^UCUM", t->unit, t->unit);
        put(w, 7, "%.*f-%.*f", t->decimals, t->low, t->decimals, t->high);
    } else {
        const text_test *t = &PICK(r, text_tests);
        int a = rng_chance(r, 60) ? 0 : rng_range(r, 1, 3);
        put(w, 2, "ST");
        if (g->terse)
            put(w, 3, "%s^%s^LN", t->loinc, t->name);
        else
            put(w, 3, "%s^%s^LN^%s^%s^99LAB", t->loinc, t->name, t->local, t->local);
        put_text(w, 5, t->answers[a]);
        flag = a ? "A" : "N";
    }
    put(w, 8, "%s", flag);
    put(w, 11, "F");
    if (!g->oul)
        put(w, 14, "%s", observed);
    if (g->terse)
        return;
    if (g->oul)
        put(w, 16, "%u^%s^%s", 1000 + rng_below(r, 9000), PICK(r, family_names),
            PICK(r, given_names));
    put(w, 18, "%s^%s^1.3.6.1.4.1.12559.11.1.4^ISO", PICK(r, analysers).id, g->oul ? "LAW" : "LAB");
    put(w, 19, "%s", analysed);
    if (!g->oul) {
        put(w, 23, "%s^L^^^^CLIA&2.16.840.1.113883.4.7&ISO^XX^^^%s", facilities[g->facility].name,
            facilities[g->facility].clia);
        put(w, 24, "%d %s^^%s^%s^%s^USA^B", rng_range(r, 1, 999), PICK(r, streets),
            cities[g->city].city, cities[g->city].state, cities[g->city].zip);
    }
}

/* Bytes written so far for the message that began at start. */
static size_t gen_size(const gen *g, size_t start)
{
    return g->w.out->len - start;
}

/* ORU^R01: MSH PID [PV1], then order groups (ORC OBR [NTE] {OBX [NTE]}) of 5
 * to 25 results each, until the message reaches target bytes. */
static void make_oru(gen *g, size_t start, size_t target, uint64_t control)
{
    rng *r = &g->r;
    put_msh(g, control);
    put_pid(g, !g->terse);
    if (!g->terse)
        put_pv1(g);
    for (int group = 1;; group++) {
        order_ids o;
        order_ids_make(r, &o);
        put_orc(g, &o);
        put_obr(g, &o, group);
        if (rng_chance(r, 15))
            put_nte(g, 1);
        int nobx = rng_range(r, 5, 25);
        for (int i = 1; i <= nobx; i++) {
            put_obx(g, i);
            if (rng_chance(r, 12))
                put_nte(g, 1);
            if (i >= 5 && gen_size(g, start) >= target)
                return;
        }
        if (gen_size(g, start) >= target)
            return;
    }
}

/* OUL^R22 (IHE LAW): MSH PID, then specimens (SPM [SAC [INV]]) each with
 * orders (OBR ORC {OBX [TCD] [SID] [NTE]}), until the message reaches target
 * bytes, with at least 5 results. */
static void make_oul(gen *g, size_t start, size_t target, uint64_t control)
{
    hl7_writer *w = &g->w;
    rng *r = &g->r;
    char collected[32], received[32];
    int results = 0;
    put_msh(g, control);
    put_pid(g, !g->terse && rng_chance(r, 30));
    for (int spm = 1;; spm++) {
        int k = (int)rng_below(r, COUNT(specimen_types));
        gen_ts(g, 0, collected);
        gen_ts(g, rng_range(r, 600, 3600), received);
        hl7_writer_segment(w, "SPM");
        put(w, 1, "%d", spm);
        put(w, 2, "S%09u&LAB&%s&ISO", rng_below(r, 1000000000), facilities[g->facility].oid);
        put(w, 4, "%s^%s^HL70487", specimen_types[k].code, specimen_types[k].name);
        put(w, 11, "P^Patient^HL70369");
        put(w, 17, "%s", collected);
        put(w, 18, "%s", received);
        if (rng_chance(r, 40)) {
            hl7_writer_segment(w, "SAC");
            put(w, 3, "C%09u^LAB", rng_below(r, 1000000000));
            put(w, 10, "RACK%03u^LAB", rng_below(r, 1000));
            put(w, 11, "%d", rng_range(r, 1, 5));
            if (rng_chance(r, 50)) {
                hl7_writer_segment(w, "INV");
                put(w, 1, "%s-R1^Reagent pack^99LAB", PICK(r, numeric_tests).local);
                put(w, 2, "OK^OK^HL70383");
                put(w, 3, "RE^Reagent^HL70384");
                put(w, 10, "2027%02d%02d", rng_range(r, 1, 12), rng_range(r, 1, 28));
                put(w, 12, "%d", rng_range(r, 10, 800));
            }
        }
        int orders = rng_range(r, 1, 2);
        for (int ord = 1; ord <= orders; ord++) {
            order_ids o;
            order_ids_make(r, &o);
            put_obr(g, &o, ord);
            put_orc(g, &o);
            int nobx = rng_range(r, 3, 12);
            for (int i = 1; i <= nobx; i++) {
                put_obx(g, i);
                results++;
                if (rng_chance(r, 25)) {
                    const numeric_test *t = &PICK(r, numeric_tests);
                    hl7_writer_segment(w, "TCD");
                    put(w, 1, "%s^%s^LN", t->loinc, t->local);
                    put(w, 2, "^1^:^%d", rng_chance(r, 80) ? 1 : 10);
                }
                if (rng_chance(r, 15)) {
                    hl7_writer_segment(w, "SID");
                    put(w, 1, "%s^%s", PICK(r, analysers).vendor, PICK(r, analysers).model);
                    put(w, 2, "LOT%06u", rng_below(r, 1000000));
                    put(w, 3, "%u", rng_below(r, 100000));
                }
                if (rng_chance(r, 10))
                    put_nte(g, 1);
                if (results >= 5 && gen_size(g, start) >= target)
                    return;
            }
        }
        if (results >= 5 && gen_size(g, start) >= target)
            return;
    }
}

/* Where one message lies in the corpus. */
typedef struct span {
    size_t off, len;
} span;

typedef struct corpus {
    buf text;   /* the corpus file's bytes */
    span *msgs; /* message i is text.data[msgs[i].off ..] */
    size_t nmsg, cap;
    size_t bytes; /* sum of the messages' lengths (no LFs) */
    size_t oru, oul, min_len, max_len;
} corpus;

/*
 * Make messages until their bytes reach want. A message that came out longer
 * than MAX_MESSAGE is dropped and another made in its place.
 */
static err_t corpus_make(corpus *c, size_t want, uint64_t seed)
{
    gen g;
    uint64_t control = 0;
    err_t rc = ERR_OK;
    memset(&g, 0, sizeof(g));
    g.r.s = seed;
    c->min_len = SIZE_MAX;
    while (c->bytes < want) {
        size_t start = c->text.len;
        size_t target = (size_t)rng_range(&g.r, 800, 7600);
        g.oul = rng_chance(&g.r, 50);
        g.terse = rng_chance(&g.r, 35);
        gen_patient(&g);
        hl7_writer_init(&g.w, &c->text);
        if (g.oul)
            make_oul(&g, start, target, ++control);
        else
            make_oru(&g, start, target, ++control);
        rc = hl7_writer_end(&g.w);
        if (rc)
            return rc;
        size_t len = c->text.len - start;
        if (len > MAX_MESSAGE) {
            c->text.len = start;
            c->text.data[start] = '\0';
            continue;
        }
        rc = buf_append(&c->text, "\n", 1);
        if (rc)
            return rc;
        if (c->nmsg == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 4096;
            span *m = realloc(c->msgs, cap * sizeof(span));
            if (!m)
                return ERR_NOMEM;
            c->msgs = m;
            c->cap = cap;
        }
        c->msgs[c->nmsg].off = start;
        c->msgs[c->nmsg].len = len;
        c->nmsg++;
        c->bytes += len;
        if (g.oul)
            c->oul++;
        else
            c->oru++;
        if (len < c->min_len)
            c->min_len = len;
        if (len > c->max_len)
            c->max_len = len;
    }
    return ERR_OK;
}

static void corpus_free(corpus *c)
{
    buf_free(&c->text);
    free(c->msgs);
}

/* --- Timing --------------------------------------------------------------- */

/* What a pass saw, so that the work cannot be skipped and passes agree. */
typedef struct tally {
    uint64_t segments, values, value_bytes;
} tally;

/* One pass: every message parsed (and read in full when full is set). */
static err_t pass(const corpus *c, bool full, tally *t, errinfo *ei)
{
    arena a;
    hl7_msg m;
    err_t rc = ERR_OK;
    memset(t, 0, sizeof(*t));
    arena_init(&a, 0);
    for (size_t i = 0; i < c->nmsg; i++) {
        rc = hl7_parse(c->text.data + c->msgs[i].off, c->msgs[i].len, &a, &m, ei);
        if (rc)
            goto fail;
        t->segments += m.nsegs;
        if (full) {
            for (size_t s = 0; s < m.nsegs; s++) {
                hl7_seg seg = hl7_segment(&m, s);
                hl7_cursor cur;
                strv v;
                /* the id, and in MSH the delimiters (which the cursor skips) */
                t->values++;
                t->value_bytes += 3;
                if (memcmp(seg.id, "MSH", 4) == 0) {
                    strv f1 = hl7_field(&seg, 1), f2 = hl7_field(&seg, 2);
                    t->values += 2;
                    t->value_bytes += f1.n + f2.n;
                }
                hl7_cursor_init(&cur, &seg);
                while (hl7_cursor_next(&cur, &v)) {
                    t->values++;
                    t->value_bytes += v.n;
                }
            }
        }
        arena_free(&a);
    }
fail:
    arena_free(&a);
    return rc;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Best (shortest) and median of n pass times, sorted in place. */
typedef struct timing {
    int64_t best_us, median_us;
} timing;

static timing timing_of(int64_t *us, size_t n)
{
    qsort(us, n, sizeof(*us), cmp_i64);
    timing t = {us[0], n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2};
    return t;
}

static double rate(double n, int64_t us)
{
    return us > 0 ? n * 1e6 / (double)us : 0.0;
}

static void print_mode(const char *name, const corpus *c, timing t, const char *tail)
{
    printf("\"%s\":{\"best_mb_per_s\":%.1f,\"median_mb_per_s\":%.1f,"
           "\"best_messages_per_s\":%.0f,\"median_messages_per_s\":%.0f}%s",
           name, rate((double)c->bytes / 1e6, t.best_us), rate((double)c->bytes / 1e6, t.median_us),
           rate((double)c->nmsg, t.best_us), rate((double)c->nmsg, t.median_us), tail);
}

int main(int argc, char **argv)
{
    corpus c;
    errinfo ei;
    int64_t mb = DEFAULT_MB, passes = DEFAULT_PASSES, seed = (int64_t)DEFAULT_SEED;
    int64_t *full_us = NULL, *index_us = NULL;
    tally first, t;
    FILE *f;
    int status = 1;

    memset(&c, 0, sizeof(c));
    memset(&ei, 0, sizeof(ei));
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: bench_hl7 CORPUS_FILE [MEGABYTES [PASSES [SEED]]]\n");
        return 2;
    }
    if ((argc > 2 && str_to_int64(argv[2], strlen(argv[2]), 1, 4096, &mb)) ||
        (argc > 3 && str_to_int64(argv[3], strlen(argv[3]), 1, 1000, &passes)) ||
        (argc > 4 && str_to_int64(argv[4], strlen(argv[4]), 0, INT64_MAX, &seed))) {
        fprintf(stderr, "MEGABYTES must be 1 to 4096, PASSES 1 to 1000, SEED 0 or more\n");
        return 2;
    }
    if (corpus_make(&c, (size_t)mb * 1000000, (uint64_t)seed)) {
        fprintf(stderr, "bench_hl7: out of memory making the corpus\n");
        goto done;
    }
    f = fopen(argv[1], "wb");
    bool written = f && fwrite(c.text.data, 1, c.text.len, f) == c.text.len;
    if (f && fclose(f) != 0)
        written = false;
    if (!written) {
        fprintf(stderr, "bench_hl7: cannot write %s\n", argv[1]);
        goto done;
    }

    full_us = calloc((size_t)passes, sizeof(int64_t));
    index_us = calloc((size_t)passes, sizeof(int64_t));
    if (!full_us || !index_us) {
        fprintf(stderr, "bench_hl7: out of memory\n");
        goto done;
    }
    /* A warm-up pass, which also gives the figures every pass must repeat. */
    if (pass(&c, true, &first, &ei))
        goto parse_fail;
    for (int64_t i = 0; i < passes; i++) {
        int64_t t0 = time_mono_us();
        if (pass(&c, true, &t, &ei))
            goto parse_fail;
        full_us[i] = time_mono_us() - t0;
        if (memcmp(&t, &first, sizeof(t)) != 0) {
            fprintf(stderr, "bench_hl7: passes disagree\n");
            goto done;
        }
        t0 = time_mono_us();
        if (pass(&c, false, &t, &ei))
            goto parse_fail;
        index_us[i] = time_mono_us() - t0;
        if (t.segments != first.segments) {
            fprintf(stderr, "bench_hl7: passes disagree\n");
            goto done;
        }
    }
    timing tf = timing_of(full_us, (size_t)passes), ti = timing_of(index_us, (size_t)passes);

    printf("{\"parser\":\"benchside\",\"seed\":%lld,\"passes\":%lld,\"corpus_bytes\":%zu,"
           "\"message_bytes\":%zu,\"messages\":%zu,\"oru_r01\":%zu,\"oul_r22\":%zu,"
           "\"min_message_bytes\":%zu,\"max_message_bytes\":%zu,\"segments\":%llu,"
           "\"values\":%llu,\"value_bytes\":%llu,\"mb_per_s\":%.1f,\"messages_per_s\":%.0f,",
           (long long)seed, (long long)passes, c.text.len, c.bytes, c.nmsg, c.oru, c.oul,
           c.nmsg ? c.min_len : 0, c.max_len, (unsigned long long)first.segments,
           (unsigned long long)first.values, (unsigned long long)first.value_bytes,
           rate((double)c.bytes / 1e6, tf.best_us), rate((double)c.nmsg, tf.best_us));
    print_mode("full", &c, tf, ",");
    print_mode("index_only", &c, ti, "}\n");
    status = 0;
    goto done;
parse_fail:
    fprintf(stderr, "bench_hl7: a generated message does not parse: %s\n", ei.message);
done:
    free(full_us);
    free(index_us);
    corpus_free(&c);
    return status;
}
