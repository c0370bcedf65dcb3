/*
 * yeargen.c - a year of a large laboratory (see yeargen.h).
 *
 * The plan is made in memory first and then written in time order: the
 * orders are drawn (their panels, their patient, their time), sorted by the
 * time they were placed, and written one after the other with everything
 * that followed from each (specimens, custody, tests, results). Ids carry
 * the order's time like base/id.c's do, so that every table's primary key
 * grows at its end, as it does in a laboratory that runs for a year.
 *
 * Every random choice comes from one generator seeded by the options, in a
 * fixed sequence, so that the same options give the same rows.
 */
#include "app/yeargen.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/id.h"
#include "base/time.h"
#include "lab/accession.h"
#include "lab/catalog.h"

#define US_MINUTE     (60LL * 1000000)
#define US_HOUR       (60 * US_MINUTE)
#define US_DAY        (24 * US_HOUR)
#define ORDERS_PER_TX 1000
#define TESTS_MAX     64 /* a catalog test list; the demo catalog has 44 */
#define ORDER_MAX     32 /* tests of one order */
#define CODE_MAX      16
#define LABEL_MAX     96
#define CODED_MAX     8
#define ACTOR         "gen_year"
#define TECH          "year-tech"

/* ---------------------------------------------------------------- random */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

/* xoshiro256** */
static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [lo, hi]. */
static int64_t rng_range(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static bool rng_chance(rng *r, double p)
{
    return rng_unit(r) < p;
}

/* Standard normal (Box-Muller; one of the pair is enough here). */
static double rng_normal(rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ------------------------------------------------------------------- ids */

/* An id of base/id.h's form: 48 bits of the time's milliseconds, then 80
 * bits that are a running count (so that ids of one millisecond still grow)
 * and a hash of the options (so that loads with other prefixes do not
 * collide). */
static void make_id(int64_t t_us, uint64_t count, uint64_t salt, char out[ID_LEN + 1])
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)(t_us / 1000);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    for (int i = 0; i < 6; i++)
        b[6 + i] = (unsigned char)(count >> (8 * (5 - i)));
    for (int i = 0; i < 4; i++)
        b[12 + i] = (unsigned char)(salt >> (8 * i));
    b[6] &= 0x7f;
    id_encode(b, out);
}

/* --------------------------------------------------------------- catalog */

enum { SEX_ANY, SEX_FEMALE, SEX_MALE, SEX_N };

typedef struct band {
    bool has, has_low, has_high;
    double low, high;
    char normal[32];
} band;

typedef struct gtest {
    char code[CODE_MAX];
    char kind[12];
    char specimen_type[LABEL_MAX], container[LABEL_MAX];
    char unit[32];
    char instrument[64]; /* the first instrument mapped to it, "" for none */
    int decimals;
    bool has_clo, has_chi, batch;
    double clo, chi;
    band bands[SEX_N];
    char coded[CODED_MAX][24];
    int ncoded;
} gtest;

typedef struct catalog {
    gtest t[TESTS_MAX];
    int n;
} catalog;

static const char sql_tests[] = "SELECT code, kind, specimen_type, container, unit, decimals,"
                                " critical_low, critical_high, coded_values FROM tests"
                                " WHERE active = 1 ORDER BY code";
static const char sql_bands[] =
    "SELECT test_code, sex, low, high, normal_text FROM test_ranges"
    " WHERE age_min_days <= 10000 AND age_max_days > 10000 ORDER BY test_code, seq";
static const char sql_mappings[] =
    "SELECT test_code, instrument FROM test_mappings ORDER BY test_code, instrument";
static const char sql_panel[] =
    "SELECT test_code FROM panel_tests WHERE panel_code = ? ORDER BY seq";
static const char sql_have_catalog[] = "SELECT COUNT(*) FROM tests";

static gtest *find_test(catalog *c, const char *code)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].code, code))
            return &c->t[i];
    return NULL;
}

static void copy_col(db_stmt *st, int i, char *out, size_t n)
{
    const char *s = db_col_text(st, i);
    snprintf(out, n, "%s", s ? s : "");
}

static err_t load_coded(gtest *t, const char *text, errinfo *ei)
{
    json_error_t je;
    json_t *a = json_loads(text, 0, &je), *v;
    size_t i;
    if (!a)
        return err_set(ei, ERR_INTERNAL, NULL, "coded values of %s: %s", t->code, je.text);
    json_array_foreach(a, i, v)
    {
        if (t->ncoded < CODED_MAX && json_is_string(v))
            snprintf(t->coded[t->ncoded++], sizeof(t->coded[0]), "%s", json_string_value(v));
    }
    json_decref(a);
    return ERR_OK;
}

static err_t catalog_load(db *d, catalog *c, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_tests, "");
    c->n = 0;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        if (c->n == TESTS_MAX) {
            rc = err_set(ei, ERR_INTERNAL, NULL, "more than %d tests in the catalog", TESTS_MAX);
            break;
        }
        gtest *t = &c->t[c->n++];
        memset(t, 0, sizeof(*t));
        copy_col(st, 0, t->code, sizeof(t->code));
        copy_col(st, 1, t->kind, sizeof(t->kind));
        copy_col(st, 2, t->specimen_type, sizeof(t->specimen_type));
        copy_col(st, 3, t->container, sizeof(t->container));
        copy_col(st, 4, t->unit, sizeof(t->unit));
        t->decimals = (int)db_col_int64(st, 5);
        t->has_clo = !db_col_null(st, 6);
        t->clo = db_col_double(st, 6);
        t->has_chi = !db_col_null(st, 7);
        t->chi = db_col_double(st, 7);
        /* Run in batches once or twice a day rather than as they come. */
        t->batch = !strcmp(t->code, "HBA1C") || !strcmp(t->code, "TSH") || !strcmp(t->code, "FERR");
        if (!db_col_null(st, 8))
            rc = load_coded(t, db_col_text(st, 8), ei);
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_bands, "");
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        gtest *t = find_test(c, db_col_text(st, 0));
        const char *sex = db_col_text(st, 1);
        int k = !strcmp(sex, "female") ? SEX_FEMALE : !strcmp(sex, "male") ? SEX_MALE : SEX_ANY;
        if (!t || t->bands[k].has)
            continue;
        band *b = &t->bands[k];
        b->has = true;
        b->has_low = !db_col_null(st, 2);
        b->low = db_col_double(st, 2);
        b->has_high = !db_col_null(st, 3);
        b->high = db_col_double(st, 3);
        copy_col(st, 4, b->normal, sizeof(b->normal));
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_mappings, "");
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        gtest *t = find_test(c, db_col_text(st, 0));
        if (t && !t->instrument[0])
            copy_col(st, 1, t->instrument, sizeof(t->instrument));
    }
    db_finalize(st);
    return rc;
}

/* The band catalog_range_for would choose for an adult of this sex. */
static const band *band_for(const gtest *t, int sex)
{
    if (sex != SEX_ANY && t->bands[sex].has)
        return &t->bands[sex];
    return t->bands[SEX_ANY].has ? &t->bands[SEX_ANY] : NULL;
}

/* ---------------------------------------------------------- what is ordered */

/* Panels and tests ordered together, how often, and how urgently. */
static const struct profile {
    const char *codes[3];
    int weight;
    int stat_pct, asap_pct;
} profiles[] = {
    {{"BMP"}, 24, 10, 8},        {{"CBC"}, 22, 10, 8},
    {{"BMP", "CBC"}, 14, 15, 8}, {{"LIPID"}, 8, 0, 2},
    {{"HEPATIC"}, 6, 3, 5},      {{"BMP", "HEPATIC"}, 5, 5, 5},
    {{"PTINR"}, 5, 10, 10},      {{"TSH"}, 3, 0, 2},
    {{"HBA1C"}, 3, 0, 2},        {{"TROPI", "BMP", "CBC"}, 2, 80, 10},
    {{"UA"}, 5, 5, 5},           {{"FERR"}, 2, 0, 2},
    {{"TROPI"}, 1, 70, 10},
};
#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

typedef struct item {
    const gtest *t;
    const char *panel; /* NULL for a test ordered alone */
} item;

typedef struct expanded {
    item items[ORDER_MAX];
    int n;
} expanded;

static err_t expand_profiles(db *d, catalog *c, expanded *out, errinfo *ei)
{
    err_t rc = ERR_OK;
    for (size_t p = 0; p < NPROFILES && !rc; p++) {
        expanded *e = &out[p];
        e->n = 0;
        for (int k = 0; k < 3 && profiles[p].codes[k] && !rc; k++) {
            const char *code = profiles[p].codes[k];
            db_stmt *st = NULL;
            bool row = false;
            int before = e->n;
            rc = db_query(d, &st, ei, sql_panel, "t", code);
            while (!rc && !(rc = db_step(st, &row, ei)) && row) {
                const gtest *t = find_test(c, db_col_text(st, 0));
                if (t && e->n < ORDER_MAX)
                    e->items[e->n++] = (item){t, code};
            }
            db_finalize(st);
            if (!rc && e->n == before) {
                const gtest *t = find_test(c, code);
                if (!t)
                    rc = err_set(ei, ERR_INTERNAL, NULL, "the catalog has no test or panel %s",
                                 code);
                else
                    e->items[e->n++] = (item){t, NULL};
            }
        }
    }
    return rc;
}

/* ------------------------------------------------------------------ people */

static const char *const family_names[] = {
    "Smith",  "Johnson",  "Williams", "Brown",    "Jones",  "Garcia",  "Miller",    "Davis",
    "Lopez",  "Wilson",   "Anderson", "Thomas",   "Taylor", "Moore",   "Jackson",   "Martin",
    "Lee",    "Perez",    "Thompson", "White",    "Harris", "Sanchez", "Clark",     "Ramirez",
    "Lewis",  "Robinson", "Walker",   "Young",    "Allen",  "King",    "Wright",    "Scott",
    "Torres", "Nguyen",   "Hill",     "Flores",   "Green",  "Adams",   "Nelson",    "Baker",
    "Hall",   "Rivera",   "Campbell", "Mitchell", "Carter", "Roberts", "Okafor",    "Kowalski",
    "Muller", "Rossi",    "Dubois",   "Silva",    "Haddad", "Novak",   "Andersson", "Tanaka",
};
static const char *const given_female[] = {
    "Mary",  "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan",  "Jessica",
    "Sarah", "Karen",    "Lisa",     "Nancy", "Betty",     "Sandra",  "Ashley", "Emily",
    "Maria", "Fatima",   "Aisha",    "Sofia", "Chloe",     "Hannah",  "Grace",  "Olivia",
};
static const char *const given_male[] = {
    "James",  "Robert",  "John",   "Michael",  "David",   "William", "Richard", "Joseph",
    "Thomas", "Charles", "Daniel", "Matthew",  "Anthony", "Mark",    "Steven",  "Paul",
    "Ahmed",  "Jose",    "Wei",    "Mohammed", "Lucas",   "Noah",    "Ivan",    "Kwame",
};
#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const clinicians[] = {
    "Dr. A. Patel (Internal Medicine)", "Dr. M. Chen (Cardiology)",
    "Dr. S. Okoye (Emergency)",         "Dr. L. Novak (Nephrology)",
    "Dr. R. Silva (Family Medicine)",   "Dr. J. Meyer (Oncology)",
    "Dr. K. Haddad (Endocrinology)",    "Dr. E. Rossi (Surgery)",
};
static const char *const reasons[] = {
    "[\"Z00.00\"]", "[\"I10\"]",   "[\"E11.9\"]",  "[\"N18.3\"]", "[\"R07.9\"]",
    "[\"D64.9\"]",  "[\"E78.5\"]", "[\"Z79.01\"]", "[\"R50.9\"]", "[\"E03.9\"]",
};
static const char *const wards[] = {
    "RN Ward 4B (ext 4410)",   "RN Emergency (ext 2200)", "RN ICU (ext 3100)",
    "Dr. on call (pager 551)", "RN Ward 6A (ext 6120)",
};

/* Hourly weights of the time orders are placed: the morning round of draws,
 * the afternoon clinics, a quiet night. */
static const int hour_weight[24] = {2, 1, 1, 1, 3, 8, 14, 16, 14, 11, 9, 8,
                                    7, 7, 8, 8, 7, 6, 5,  4,  4,  3,  3, 2};

typedef struct gpatient {
    char id[ID_LEN + 1];
    int sex;     /* SEX_FEMALE, SEX_MALE, SEX_ANY for other and unknown */
    bool unwell; /* values further from the middle of their range */
} gpatient;

typedef struct gorder {
    int64_t at;
    uint32_t patient;
    uint32_t seq; /* drawing order: ties of time broken by it */
    uint8_t profile, priority;
} gorder;

static int cmp_order(const void *a, const void *b)
{
    const gorder *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ------------------------------------------------------------ statements */

static const char sql_patient[] =
    "INSERT INTO patients (id, mrn, family, given, name_key, birth_date, sex, identifiers,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?)";
static const char sql_order[] =
    "INSERT INTO orders (id, patient_id, priority, clinician, reasons, instructions, status,"
    " ordered_at, created_by, placer, placer_id) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?,"
    " NULL, NULL)";
static const char sql_specimen[] =
    "INSERT INTO specimens (id, accession, order_id, patient_id, parent_id, specimen_type,"
    " container, status, collected_at, received_at, storage, rejection_reason, created_at)"
    " VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL, ?, ?)";
static const char sql_event[] =
    "INSERT INTO specimen_events (id, specimen_id, event, at, by_user, location, detail,"
    " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_test[] =
    "INSERT INTO order_tests (id, order_id, test_code, panel_code, specimen_id, status,"
    " cancel_reason) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_result[] =
    "INSERT INTO results (id, order_test_id, specimen_id, patient_id, test_code, kind,"
    " value_num, value_text, unit, ref_low, ref_high, ref_text, flag, critical, delta_failed,"
    " delta_previous, instrument, instrument_flags, status, holds, resulted_at, resulted_by,"
    " released_at, released_by, release_mode, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?, ?, ?, 0, NULL, ?, NULL, ?, '[]', ?, ?, ?, ?, ?, ?)";
static const char sql_history[] =
    "INSERT INTO result_history (id, result_id, version, value_text, value_num, flag, status,"
    " replaced_at, replaced_by, reason) VALUES (?, ?, 1, ?, ?, ?, 'released', ?, ?, ?)";
static const char sql_alert[] =
    "INSERT INTO critical_alerts (id, result_id, opened_at, closed_at, notified, notified_at,"
    " read_back, closed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_signature[] = "INSERT INTO signatures (id, result_id, user_id, meaning,"
                                    " signed_at) VALUES (?, ?, ?, ?, ?)";
/* The worklist's state of a specimen (migrations 0020, 0023), from the tests
 * just written, as worklist_touch would compute it. */
static const char sql_worklist[] =
    "INSERT INTO worklist_specimens (specimen_id, open_tests, open_stage, review_tests, rnk,"
    " since, released_at, specimen_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_counter_get[] = "SELECT next FROM accession_counters WHERE day = ?";
static const char sql_counter_put[] = "INSERT INTO accession_counters (day, next) VALUES (?, ?)"
                                      " ON CONFLICT (day) DO UPDATE SET next = excluded.next";
static const char sql_any_patient[] = "SELECT COUNT(*) FROM (SELECT 1 FROM patients LIMIT 1) p";
static const char sql_prefix_taken[] = "SELECT COUNT(*) FROM patients WHERE mrn = ?";
/* SQLite only: the indexes of the tables filled, as the migrations wrote them. */
static const char sql_indexes[] =
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    " AND tbl_name IN ('patients', 'orders', 'specimens', 'specimen_events', 'order_tests',"
    " 'results', 'result_history', 'critical_alerts', 'signatures', 'worklist_specimens')"
    " ORDER BY name";

enum {
    S_PATIENT,
    S_ORDER,
    S_SPECIMEN,
    S_EVENT,
    S_TEST,
    S_RESULT,
    S_HISTORY,
    S_ALERT,
    S_SIGNATURE,
    S_WORKLIST,
    S_N
};

typedef struct gen {
    db *d;
    const yeargen_opts *o;
    yeargen_counts *c;
    rng r;
    uint64_t salt, idcount;
    catalog cat;
    expanded exp[NPROFILES];
    gpatient *patients;
    gorder *orders;
    int64_t norders;
    int64_t start;     /* the first day's midnight */
    int64_t *acc_next; /* accession sequence by day from start, -1 not read yet */
    int64_t acc_days;
    db_stmt *st[S_N];
    char tech_id[ID_LEN + 1]; /* the user who releases by hand and signs */
} gen;

static void next_id(gen *g, int64_t t, char out[ID_LEN + 1])
{
    make_id(t, ++g->idcount, g->salt, out);
}

/* Step an insert to its end and make it ready for the next row. */
static err_t insert(db_stmt *st, errinfo *ei)
{
    bool row = false;
    err_t rc = db_step(st, &row, ei);
    db_reset(st);
    return rc;
}

/* Bind v, or NULL when absent. */
static err_t bind_opt_double(db_stmt *st, int i, bool has, double v)
{
    return has ? db_bind_double(st, i, v) : db_bind_null(st, i);
}

static err_t bind_opt_int(db_stmt *st, int i, int64_t v)
{
    return v ? db_bind_int64(st, i, v) : db_bind_null(st, i);
}

/* ------------------------------------------------------------- accessions */

/* The next accession of the day of t, as accession_next makes them: two
 * digits of the year, the day of the year, a sequence and a Luhn digit.
 * Sequences continue those the database has already given out. */
static err_t accession(gen *g, int64_t t, char out[ACCESSION_LEN + 1], errinfo *ei)
{
    int64_t k = t / US_DAY - g->start / US_DAY;
    char key[ACCESSION_DAY_LEN + 1];
    accession_day(t, key);
    if (k < 0 || k >= g->acc_days)
        return err_set(ei, ERR_INTERNAL, NULL, "accession day out of the year");
    if (g->acc_next[k] < 0) {
        db_stmt *st = NULL;
        bool row = false;
        err_t rc = db_query(g->d, &st, ei, sql_counter_get, "t", key);
        if (!rc)
            rc = db_step(st, &row, ei);
        g->acc_next[k] = !rc && row ? db_col_int64(st, 0) : 1;
        db_finalize(st);
        if (rc)
            return rc;
    }
    return accession_compose(key, g->acc_next[k]++, out, ei);
}

static err_t save_counters(gen *g, errinfo *ei)
{
    err_t rc = ERR_OK;
    for (int64_t k = 0; k < g->acc_days && !rc; k++) {
        char key[ACCESSION_DAY_LEN + 1];
        if (g->acc_next[k] < 0)
            continue;
        accession_day(g->start + k * US_DAY, key);
        rc = db_run(g->d, ei, NULL, sql_counter_put, "ti", key, g->acc_next[k]);
    }
    return rc;
}

/* --------------------------------------------------------------- patients */

static err_t write_patients(gen *g, errinfo *ei)
{
    const yeargen_opts *o = g->o;
    err_t rc = ERR_OK;
    db_stmt *st = g->st[S_PATIENT];
    for (int64_t i = 0; i < o->patients && !rc; i += 5000) {
        rc = db_begin(g->d, ei);
        for (int64_t k = i; k < o->patients && k < i + 5000 && !rc; k++) {
            gpatient *p = &g->patients[k];
            rng *r = &g->r;
            double u = rng_unit(r);
            const char *sex = u < 0.515   ? "female"
                              : u < 0.995 ? "male"
                              : u < 0.998 ? "other"
                                          : "unknown";
            p->sex = sex[0] == 'f' ? SEX_FEMALE : sex[0] == 'm' ? SEX_MALE : SEX_ANY;
            const char *family = family_names[rng_next(r) % NELEMS(family_names)];
            const char *given = p->sex == SEX_MALE || (p->sex == SEX_ANY && rng_chance(r, 0.5))
                                    ? given_male[rng_next(r) % NELEMS(given_male)]
                                    : given_female[rng_next(r) % NELEMS(given_female)];
            /* Adults, more of them old: the ones a hospital laboratory sees. */
            double a = rng_unit(r), b = rng_unit(r);
            int64_t age_days = 18 * 365 + (int64_t)((a > b ? a : b) * 77 * 365);
            int64_t born = o->end / US_DAY - age_days, y = 0;
            int m = 0, dd = 0;
            time_civil_from_days(born, &y, &m, &dd);
            char birth[16], mrn[40], key[160], fam_up[64], giv_up[64];
            snprintf(birth, sizeof(birth), "%04d-%02d-%02d", (int)y, m, dd);
            snprintf(mrn, sizeof(mrn), "%s%08lld", o->prefix, (long long)k + 1);
            size_t n = 0;
            for (; family[n] && n < sizeof(fam_up) - 1; n++)
                fam_up[n] =
                    (char)(family[n] >= 'a' && family[n] <= 'z' ? family[n] - 32 : family[n]);
            fam_up[n] = '\0';
            for (n = 0; given[n] && n < sizeof(giv_up) - 1; n++)
                giv_up[n] = (char)(given[n] >= 'a' && given[n] <= 'z' ? given[n] - 32 : given[n]);
            giv_up[n] = '\0';
            snprintf(key, sizeof(key), "%s|%s", fam_up, giv_up);
            /* Registered before the year began, within three years. */
            int64_t created =
                g->start - rng_range(r, 1, 3 * 365) * US_DAY + rng_range(r, 0, US_DAY - 1);
            p->unwell = rng_chance(r, 0.08);
            make_id(created, (uint64_t)k + 1, g->salt ^ 0x5a5a5a5aULL, p->id);
            rc = db_bind_str(st, 1, p->id);
            if (!rc)
                rc = db_bind_str(st, 2, mrn);
            if (!rc)
                rc = db_bind_str(st, 3, family);
            if (!rc)
                rc = db_bind_str(st, 4, given);
            if (!rc)
                rc = db_bind_str(st, 5, key);
            if (!rc)
                rc = db_bind_str(st, 6, birth);
            if (!rc)
                rc = db_bind_str(st, 7, sex);
            if (!rc)
                rc = db_bind_int64(st, 8, created);
            if (!rc)
                rc = db_bind_int64(st, 9, created);
            if (!rc)
                rc = insert(st, ei);
            if (!rc)
                g->c->patients++;
        }
        if (!rc)
            rc = db_commit(g->d, ei);
        else
            db_rollback(g->d);
    }
    return rc;
}

/* ------------------------------------------------------------------ orders */

/*
 * Which orders there are: profiles drawn until their tests reach the
 * results asked for; every patient one order, the rest to patients by a
 * weight that makes most patients seen once or twice and a few chronic or
 * inpatients hundreds of times; times by day (weekends quieter) and hour.
 */
static err_t plan_orders(gen *g, errinfo *ei)
{
    const yeargen_opts *o = g->o;
    rng *r = &g->r;
    int total_weight = 0;
    for (size_t p = 0; p < NPROFILES; p++)
        total_weight += profiles[p].weight;
    int64_t cap = o->results / 2 + 16, tests = 0;
    g->orders = malloc((size_t)cap * sizeof(*g->orders));
    if (!g->orders)
        return ERR_NOMEM;
    while (tests < o->results) {
        if (g->norders == cap)
            return err_set(ei, ERR_INTERNAL, NULL, "too many orders planned");
        int w = (int)(rng_next(r) % (uint64_t)total_weight);
        size_t p = 0;
        while (w >= profiles[p].weight)
            w -= profiles[p++].weight;
        gorder *x = &g->orders[g->norders];
        x->seq = (uint32_t)g->norders;
        x->profile = (uint8_t)p;
        int u = (int)(rng_next(r) % 100);
        x->priority = u < profiles[p].stat_pct                          ? 2
                      : u < profiles[p].stat_pct + profiles[p].asap_pct ? 1
                                                                        : 0;
        tests += g->exp[p].n;
        g->norders++;
    }

    /* Patients' weights: the cumulative sum for drawing by weight. */
    double *cum = malloc((size_t)o->patients * sizeof(*cum)), sum = 0;
    if (!cum)
        return ERR_NOMEM;
    for (int64_t i = 0; i < o->patients; i++) {
        double u = rng_unit(r), w;
        if (u < 0.70)
            w = 0.15;
        else if (u < 0.92)
            w = 1.0 + 4.0 * rng_unit(r);
        else if (u < 0.995)
            w = 8.0 + 22.0 * rng_unit(r);
        else
            w = 60.0 + 340.0 * rng_unit(r);
        sum += w;
        cum[i] = sum;
    }
    for (int64_t k = 0; k < g->norders; k++) {
        gorder *x = &g->orders[k];
        if (k < o->patients) {
            x->patient = (uint32_t)k;
        } else {
            double v = rng_unit(r) * sum;
            int64_t lo = 0, hi = o->patients - 1;
            while (lo < hi) {
                int64_t mid = (lo + hi) / 2;
                if (cum[mid] > v)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            x->patient = (uint32_t)lo;
        }
    }
    free(cum);

    /* Days weighted (weekends at half), then the hour and the minute. */
    double *dcum = malloc((size_t)o->days * sizeof(*dcum)), dsum = 0;
    if (!dcum)
        return ERR_NOMEM;
    for (int64_t k = 0; k < o->days; k++) {
        int64_t day = g->start / US_DAY + k;
        int dow = (int)((day + 3) % 7); /* 1970-01-01 was a Thursday: 0 is Monday */
        dsum += dow >= 5 ? 0.5 : 1.0;
        dcum[k] = dsum;
    }
    int hsum = 0;
    for (int h = 0; h < 24; h++)
        hsum += hour_weight[h];
    for (int64_t k = 0; k < g->norders; k++) {
        double v = rng_unit(r) * dsum;
        int64_t lo = 0, hi = o->days - 1;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (dcum[mid] > v)
                hi = mid;
            else
                lo = mid + 1;
        }
        int w = (int)(rng_next(r) % (uint64_t)hsum), h = 0;
        while (w >= hour_weight[h])
            w -= hour_weight[h++];
        int64_t at = g->start + lo * US_DAY + h * US_HOUR + rng_range(r, 0, US_HOUR - 1);
        /* The last day ends now: what would come later happened earlier today. */
        if (at > o->end)
            at = o->end - rng_range(r, 0, 20 * US_HOUR);
        g->orders[k].at = at;
    }
    free(dcum);
    qsort(g->orders, (size_t)g->norders, sizeof(*g->orders), cmp_order);
    return ERR_OK;
}

/* A value of t for a patient: around the middle of the range, a few far. */
static void draw_value(gen *g, const gtest *t, const gpatient *p, char *text, size_t n, double *num,
                       bool *numeric, const char **flag, bool *critical)
{
    rng *r = &g->r;
    const band *b = band_for(t, p->sex);
    *flag = NULL;
    *critical = false;
    *numeric = false;
    *num = 0;
    if (!strcmp(t->kind, "numeric")) {
        double mid = 1, sd = 0.2;
        if (b && b->has_low && b->has_high) {
            mid = (b->low + b->high) / 2;
            sd = (b->high - b->low) / 4;
        } else if (b && b->has_high) {
            mid = b->high * 0.7;
            sd = b->high * 0.18;
        } else if (b && b->has_low) {
            mid = b->low * 1.35;
            sd = b->low * 0.25;
        }
        if (p->unwell ? rng_chance(r, 0.35) : rng_chance(r, 0.04))
            sd *= 3.5;
        double scale = pow(10, t->decimals), v = mid + sd * rng_normal(r);
        if (v < 1 / scale)
            v = 1 / scale;
        v = round(v * scale) / scale;
        snprintf(text, n, "%.*f", t->decimals, v);
        *num = v;
        *numeric = true;
        /* As result entry flags it (result.c, numeric_flag). */
        if (t->has_clo && v < t->clo) {
            *flag = "LL";
            *critical = true;
        } else if (t->has_chi && v > t->chi) {
            *flag = "HH";
            *critical = true;
        } else if (b && b->has_low && v < b->low) {
            *flag = "L";
        } else if (b && b->has_high && v > b->high) {
            *flag = "H";
        }
        return;
    }
    if (t->ncoded > 0) {
        int k = rng_chance(r, 0.88) ? 0 : (int)rng_range(r, 1, t->ncoded - 1);
        snprintf(text, n, "%s", t->coded[k]);
    } else {
        static const char *const colours[] = {"yellow", "yellow", "yellow", "yellow", "yellow",
                                              "yellow", "straw",  "amber",  "red",    "brown"};
        snprintf(text, n, "%s",
                 rng_chance(r, 0.85) ? (b ? b->normal : "yellow")
                                     : colours[rng_next(r) % NELEMS(colours)]);
    }
    if (b && b->normal[0] && strcmp(text, b->normal))
        *flag = "A";
}

/* How far the work of one specimen has come at the end. */
enum { L_PENDING, L_COLLECTED, L_RECEIVED, L_RESULTED, L_RELEASED };

typedef struct spec {
    char id[ID_LEN + 1];
    char accession[ACCESSION_LEN + 1];
    const gtest *first;
    int64_t collected, received;
    int level;
    const char *rejected; /* the reason, or NULL */
    /* The worklist's state: tests to do, to review, the last release. */
    int64_t wl_open, wl_review, wl_released;
} spec;

static err_t write_event(gen *g, int64_t oat, const spec *s, const char *event, int64_t at,
                         const char *location, const char *detail, errinfo *ei)
{
    db_stmt *st = g->st[S_EVENT];
    char id[ID_LEN + 1];
    next_id(g, oat, id);
    err_t rc = db_bind_str(st, 1, id);
    if (!rc)
        rc = db_bind_str(st, 2, s->id);
    if (!rc)
        rc = db_bind_str(st, 3, event);
    if (!rc)
        rc = db_bind_int64(st, 4, at);
    if (!rc)
        rc = db_bind_str(st, 5, event[0] == 'c' ? "phlebotomy" : TECH);
    if (!rc)
        rc = db_bind_str(st, 6, location);
    if (!rc)
        rc = db_bind_str(st, 7, detail);
    if (!rc)
        rc = db_bind_int64(st, 8, at);
    if (!rc)
        rc = insert(st, ei);
    if (!rc)
        g->c->specimen_events++;
    return rc;
}

static err_t write_signature(gen *g, int64_t oat, const char *result_id, const char *meaning,
                             int64_t at, errinfo *ei)
{
    db_stmt *st = g->st[S_SIGNATURE];
    char id[ID_LEN + 1];
    next_id(g, oat, id);
    err_t rc = db_bind_str(st, 1, id);
    if (!rc)
        rc = db_bind_str(st, 2, result_id);
    if (!rc)
        rc = db_bind_str(st, 3, g->tech_id);
    if (!rc)
        rc = db_bind_str(st, 4, meaning);
    if (!rc)
        rc = db_bind_int64(st, 5, at);
    if (!rc)
        rc = insert(st, ei);
    if (!rc)
        g->c->signatures++;
    return rc;
}

/* One test of an order: its row and, when it has come so far, its result. */
static err_t write_test(gen *g, const gorder *x, const char *order_id, spec *s, const item *it,
                        bool *open, errinfo *ei)
{
    rng *r = &g->r;
    const gtest *t = it->t;
    const gpatient *p = &g->patients[x->patient];
    int64_t end = g->o->end;
    char ot_id[ID_LEN + 1], rid[ID_LEN + 1], text[64];
    next_id(g, x->at, ot_id);

    /* Times of the result and of its release. */
    int64_t resulted =
        s->received + (x->priority == 2 ? rng_range(r, 15, 45) : rng_range(r, 30, 180)) * US_MINUTE;
    if (t->batch && x->priority != 2)
        resulted += rng_range(r, 0, 8 * 60) * US_MINUTE;
    double num = 0;
    bool numeric = false, critical = false;
    const char *flag = NULL;
    draw_value(g, t, p, text, sizeof(text), &num, &numeric, &flag, &critical);
    bool manual = flag != NULL ? true : rng_chance(r, 0.08);
    int64_t closed = resulted + rng_range(r, 4, 25) * US_MINUTE;
    int64_t released = !manual    ? resulted
                       : critical ? closed + rng_range(r, 1, 20) * US_MINUTE
                                  : resulted + rng_range(r, 3, 90) * US_MINUTE;
    bool has_result = s->level >= L_RESULTED && !s->rejected && resulted <= end;
    bool is_released = has_result && s->level >= L_RELEASED && released <= end;
    bool corrected = is_released && rng_chance(r, 0.0002);
    int64_t replaced = released + rng_range(r, 1, 48 * 60) * US_MINUTE;
    if (corrected && replaced > end)
        corrected = false;
    if (!s->rejected && !is_released)
        *open = true;

    const char *status = s->rejected   ? "cancelled"
                         : is_released ? "released"
                         : has_result  ? "resulted"
                         : s->level >= L_RECEIVED && t->instrument[0] && rng_chance(r, 0.5)
                             ? "in-progress"
                             : "ordered";
    if (!strcmp(status, "released") && released > s->wl_released)
        s->wl_released = released;
    else if (!strcmp(status, "resulted"))
        s->wl_review++;
    else if (!strcmp(status, "ordered") || !strcmp(status, "in-progress"))
        s->wl_open++;
    char reason[96] = "";
    if (s->rejected)
        snprintf(reason, sizeof(reason), "specimen rejected: %s", s->rejected);
    db_stmt *st = g->st[S_TEST];
    err_t rc = db_bind_str(st, 1, ot_id);
    if (!rc)
        rc = db_bind_str(st, 2, order_id);
    if (!rc)
        rc = db_bind_str(st, 3, t->code);
    if (!rc)
        rc = db_bind_str(st, 4, it->panel);
    if (!rc)
        rc = db_bind_str(st, 5, s->id);
    if (!rc)
        rc = db_bind_str(st, 6, status);
    if (!rc)
        rc = db_bind_str(st, 7, reason[0] ? reason : NULL);
    if (!rc)
        rc = insert(st, ei);
    if (rc)
        return rc;
    g->c->order_tests++;
    if (!has_result)
        return ERR_OK;

    /* The value first reported, when it was corrected later. */
    char old_text[64] = "";
    double old_num = num;
    const char *old_flag = flag;
    bool old_critical = critical;
    if (corrected) {
        snprintf(old_text, sizeof(old_text), "%s", text);
        bool c2 = false, n2 = false;
        draw_value(g, t, p, text, sizeof(text), &num, &n2, &flag, &c2);
        critical = c2;
    }
    const band *b = band_for(t, p->sex);
    next_id(g, x->at, rid);
    st = g->st[S_RESULT];
    rc = db_bind_str(st, 1, rid);
    if (!rc)
        rc = db_bind_str(st, 2, ot_id);
    if (!rc)
        rc = db_bind_str(st, 3, s->id);
    if (!rc)
        rc = db_bind_str(st, 4, p->id);
    if (!rc)
        rc = db_bind_str(st, 5, t->code);
    if (!rc)
        rc = db_bind_str(st, 6, t->kind);
    if (!rc)
        rc = bind_opt_double(st, 7, numeric, num);
    if (!rc)
        rc = db_bind_str(st, 8, text);
    if (!rc)
        rc = db_bind_str(st, 9, numeric ? t->unit : NULL);
    if (!rc)
        rc = bind_opt_double(st, 10, b && b->has_low, b ? b->low : 0);
    if (!rc)
        rc = bind_opt_double(st, 11, b && b->has_high, b ? b->high : 0);
    if (!rc)
        rc = db_bind_str(st, 12, b && b->normal[0] ? b->normal : NULL);
    if (!rc)
        rc = db_bind_str(st, 13, flag);
    if (!rc)
        rc = db_bind_int64(st, 14, critical);
    if (!rc)
        rc = db_bind_str(st, 15, t->instrument[0] ? t->instrument : NULL);
    if (!rc)
        rc = db_bind_str(st, 16, corrected ? "corrected" : is_released ? "released" : "review");
    if (!rc)
        rc = db_bind_int64(st, 17, resulted);
    if (!rc)
        rc = db_bind_str(st, 18, t->instrument[0] ? t->instrument : TECH);
    if (!rc)
        rc = bind_opt_int(st, 19, is_released ? released : 0);
    if (!rc)
        rc = db_bind_str(st, 20, !is_released ? NULL : manual ? TECH : "auto-verification");
    if (!rc)
        rc = db_bind_str(st, 21, !is_released ? NULL : manual ? "manual" : "auto");
    if (!rc)
        rc = db_bind_int64(st, 22, corrected ? 2 : 1);
    if (!rc)
        rc = insert(st, ei);
    if (rc)
        return rc;
    g->c->results++;

    /* A critical value: the call documented before the release; still open
     * while the result waits for review. */
    if (critical || old_critical) {
        bool closed_yet = is_released || closed <= end;
        const char *ward = wards[rng_next(r) % NELEMS(wards)];
        char aid[ID_LEN + 1];
        next_id(g, x->at, aid);
        st = g->st[S_ALERT];
        rc = db_bind_str(st, 1, aid);
        if (!rc)
            rc = db_bind_str(st, 2, rid);
        if (!rc)
            rc = db_bind_int64(st, 3, resulted);
        if (!rc)
            rc = bind_opt_int(st, 4, closed_yet ? closed : 0);
        if (!rc)
            rc = db_bind_str(st, 5, closed_yet ? ward : NULL);
        if (!rc)
            rc = bind_opt_int(st, 6, closed_yet ? closed - US_MINUTE : 0);
        if (!rc)
            rc = closed_yet ? db_bind_int64(st, 7, 1) : db_bind_null(st, 7);
        if (!rc)
            rc = db_bind_str(st, 8, closed_yet ? TECH : NULL);
        if (!rc)
            rc = insert(st, ei);
        if (rc)
            return rc;
        g->c->critical_alerts++;
    }
    if (is_released && manual)
        rc = write_signature(g, x->at, rid, "release", released, ei);
    if (!rc && corrected) {
        static const char *const why[] = {
            "transcription error: value re-entered from the analyzer printout",
            "specimen found haemolysed on review; repeated on a new aliquot",
            "wrong dilution factor applied; recalculated",
        };
        char hid[ID_LEN + 1];
        next_id(g, x->at, hid);
        st = g->st[S_HISTORY];
        rc = db_bind_str(st, 1, hid);
        if (!rc)
            rc = db_bind_str(st, 2, rid);
        if (!rc)
            rc = db_bind_str(st, 3, old_text);
        if (!rc)
            rc = bind_opt_double(st, 4, numeric, old_num);
        if (!rc)
            rc = db_bind_str(st, 5, old_flag);
        if (!rc)
            rc = db_bind_int64(st, 6, replaced);
        if (!rc)
            rc = db_bind_str(st, 7, TECH);
        if (!rc)
            rc = db_bind_str(st, 8, why[rng_next(r) % NELEMS(why)]);
        if (!rc)
            rc = insert(st, ei);
        if (!rc)
            g->c->result_history++;
        if (!rc)
            rc = write_signature(g, x->at, rid, "correction", replaced, ei);
    }
    return rc;
}

/* One specimen: its row, its custody, its tests. */
static err_t write_specimen(gen *g, const gorder *x, const char *order_id, const item *items,
                            int nitems, int forced, errinfo *ei)
{
    rng *r = &g->r;
    int64_t end = g->o->end;
    spec s = {.first = items[0].t, .rejected = NULL};
    next_id(g, x->at, s.id);
    err_t rc = accession(g, x->at, s.accession, ei);
    if (rc)
        return rc;
    bool stat = x->priority == 2;
    s.collected = x->at + (stat ? rng_range(r, 2, 15) : rng_range(r, 5, 120)) * US_MINUTE;
    s.received = s.collected + (stat ? rng_range(r, 5, 15) : rng_range(r, 15, 75)) * US_MINUTE;
    s.level = forced;
    if (s.collected > end && s.level > L_PENDING)
        s.level = L_PENDING;
    if (s.received > end && s.level > L_COLLECTED)
        s.level = L_COLLECTED;
    if (s.level >= L_RECEIVED && rng_chance(r, 0.004)) {
        static const char *const why[] = {"haemolysed", "clotted", "insufficient volume",
                                          "unlabelled"};
        s.rejected = why[rng_next(r) % NELEMS(why)];
    }
    const char *status = s.rejected               ? "rejected"
                         : s.level == L_PENDING   ? "pending"
                         : s.level == L_COLLECTED ? "collected"
                                                  : "received";
    db_stmt *st = g->st[S_SPECIMEN];
    rc = db_bind_str(st, 1, s.id);
    if (!rc)
        rc = db_bind_str(st, 2, s.accession);
    if (!rc)
        rc = db_bind_str(st, 3, order_id);
    if (!rc)
        rc = db_bind_str(st, 4, g->patients[x->patient].id);
    if (!rc)
        rc = db_bind_str(st, 5, s.first->specimen_type);
    if (!rc)
        rc = db_bind_str(st, 6, s.first->container);
    if (!rc)
        rc = db_bind_str(st, 7, status);
    if (!rc)
        rc = bind_opt_int(st, 8, s.level >= L_COLLECTED ? s.collected : 0);
    if (!rc)
        rc = bind_opt_int(st, 9, s.level >= L_RECEIVED ? s.received : 0);
    if (!rc)
        rc = db_bind_str(st, 10, s.rejected);
    if (!rc)
        rc = db_bind_int64(st, 11, x->at);
    if (!rc)
        rc = insert(st, ei);
    if (rc)
        return rc;
    g->c->specimens++;
    if (s.level >= L_COLLECTED)
        rc = write_event(g, x->at, &s, "collected", s.collected, "phlebotomy",
                         "{\"site\":\"left antecubital\"}", ei);
    if (!rc && s.level >= L_RECEIVED)
        rc = write_event(g, x->at, &s, "received", s.received, "main laboratory", "{}", ei);
    if (!rc && s.rejected) {
        char detail[96];
        snprintf(detail, sizeof(detail), "{\"reason\":\"%s\"}", s.rejected);
        rc = write_event(g, x->at, &s, "rejected", s.received + US_MINUTE, "main laboratory",
                         detail, ei);
    }
    bool open = false;
    for (int k = 0; k < nitems && !rc; k++)
        rc = write_test(g, x, order_id, &s, &items[k], &open, ei);
    if (!rc && open)
        g->c->open_specimens++;
    if (!rc && nitems > 0) {
        st = g->st[S_WORKLIST];
        rc = db_bind_str(st, 1, s.id);
        if (!rc)
            rc = db_bind_int64(st, 2, s.wl_open);
        if (!rc)
            rc = db_bind_str(st, 3,
                             s.rejected               ? NULL
                             : s.level == L_PENDING   ? "to-collect"
                             : s.level == L_COLLECTED ? "to-receive"
                                                      : "in-progress");
        if (!rc)
            rc = db_bind_int64(st, 4, s.wl_review);
        if (!rc)
            rc = db_bind_int64(st, 5, 2 - x->priority); /* stat 0, asap 1, routine 2 */
        if (!rc)
            rc = db_bind_int64(st, 6,
                               s.level >= L_RECEIVED    ? s.received
                               : s.level >= L_COLLECTED ? s.collected
                                                        : x->at);
        if (!rc)
            rc = bind_opt_int(st, 7, s.wl_released);
        if (!rc)
            rc = db_bind_str(st, 8, s.first->specimen_type);
        if (!rc)
            rc = insert(st, ei);
    }
    return rc;
}

static err_t write_order(gen *g, const gorder *x, errinfo *ei)
{
    rng *r = &g->r;
    const yeargen_opts *o = g->o;
    const expanded *e = &g->exp[x->profile];
    static const char *const prio[] = {"routine", "asap", "stat"};
    char oid[ID_LEN + 1];
    next_id(g, x->at, oid);
    const char *ins = x->profile == 3 ? "{\"fasting\":true}" : "{}";
    db_stmt *st = g->st[S_ORDER];
    err_t rc = db_bind_str(st, 1, oid);
    if (!rc)
        rc = db_bind_str(st, 2, g->patients[x->patient].id);
    if (!rc)
        rc = db_bind_str(st, 3, prio[x->priority]);
    if (!rc)
        rc = db_bind_str(st, 4, clinicians[rng_next(r) % NELEMS(clinicians)]);
    if (!rc)
        rc = db_bind_str(st, 5, reasons[rng_next(r) % NELEMS(reasons)]);
    if (!rc)
        rc = db_bind_str(st, 6, ins);
    if (!rc)
        rc = db_bind_int64(st, 7, x->at);
    if (!rc)
        rc = db_bind_str(st, 8, TECH);
    if (!rc)
        rc = insert(st, ei);
    if (rc)
        return rc;
    g->c->orders++;

    /* The last day's work is partly still open, at each stage. */
    int forced = L_RELEASED;
    if (x->at >= o->end - US_DAY && rng_chance(r, 0.35)) {
        int u = (int)rng_range(r, 0, 99);
        forced = u < 15 ? L_PENDING : u < 25 ? L_COLLECTED : u < 70 ? L_RECEIVED : L_RESULTED;
    }
    /* One container for the tests that share one, as order_create groups them. */
    bool done[ORDER_MAX] = {false};
    for (int i = 0; i < e->n && !rc; i++) {
        if (done[i])
            continue;
        item group[ORDER_MAX];
        int n = 0;
        for (int k = i; k < e->n; k++) {
            if (done[k] || strcmp(e->items[k].t->specimen_type, e->items[i].t->specimen_type) ||
                strcmp(e->items[k].t->container, e->items[i].t->container))
                continue;
            done[k] = true;
            group[n++] = e->items[k];
        }
        rc = write_specimen(g, x, oid, group, n, forced, ei);
    }
    return rc;
}

/* ------------------------------------------------------------------ driver */

static err_t check_opts(const yeargen_opts *o, errinfo *ei)
{
    size_t n = o->prefix ? strlen(o->prefix) : 0;
    if (o->patients < 1 || o->patients > 100000000)
        return err_set(ei, ERR_INVALID, "patients", "patients must be from 1 to 100000000");
    if (o->results < 1 || o->results > 2000000000)
        return err_set(ei, ERR_INVALID, "results", "results must be from 1 to 2000000000");
    if (o->days < 1 || o->days > 3660)
        return err_set(ei, ERR_INVALID, "days", "days must be from 1 to 3660");
    if (o->end <= o->days * US_DAY)
        return err_set(ei, ERR_INVALID, "end", "end must be later than its days after 1970");
    if (o->end > time_now_us())
        return err_set(ei, ERR_INVALID, "end", "end is in the future: the work it records is done");
    if (n < 1 || n > YEARGEN_PREFIX_MAX)
        return err_set(ei, ERR_INVALID, "prefix", "prefix must have 1 to %d characters",
                       YEARGEN_PREFIX_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = o->prefix[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return err_set(ei, ERR_INVALID, "prefix", "prefix may hold only letters and digits");
    }
    return ERR_OK;
}

void yeargen_opts_init(yeargen_opts *o)
{
    *o = (yeargen_opts){
        .patients = 1000000,
        .results = 30000000,
        .days = 365,
        .seed = 20240101,
        .end = time_now_us() / US_MINUTE * US_MINUTE,
        .prefix = "Y",
        .progress = true,
    };
}

static err_t ensure_catalog(db *d, const audit_ctx *ctx, errinfo *ei)
{
    int64_t n = 0;
    int tests = 0, panels = 0;
    err_t rc = db_scalar(d, sql_have_catalog, NULL, &n, ei);
    if (rc || n > 0)
        return rc;
    json_error_t je;
    json_t *doc = json_loadb(catalog_demo_json, catalog_demo_json_len, 0, &je);
    if (!doc)
        return err_set(ei, ERR_INTERNAL, NULL, "demo catalog: %s", je.text);
    rc = catalog_import(d, ctx, doc, &tests, &panels, ei);
    json_decref(doc);
    return rc;
}

/* The user who releases by hand and signs; made once with a password
 * nobody knows (the load is no one's sign-in). */
static err_t ensure_tech(gen *g, const audit_ctx *ctx, errinfo *ei)
{
    user u;
    errinfo tei = {0};
    err_t rc = user_get_by_name(g->d, TECH, &u, &tei);
    if (rc == ERR_NOT_FOUND) {
        unsigned char raw[18];
        char pass[40];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(pass, sizeof(pass), raw, sizeof(raw));
        rc = user_create(g->d, ctx, TECH, "Year technician", "technician", pass, &u, ei);
    } else if (rc) {
        *ei = tei;
    }
    if (!rc)
        snprintf(g->tech_id, sizeof(g->tech_id), "%s", u.id);
    return rc;
}

typedef struct saved_index {
    char name[96];
    char *sql;
} saved_index;

static err_t drop_indexes(db *d, saved_index *out, int cap, int *n, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_indexes, "");
    *n = 0;
    while (!rc && !(rc = db_step(st, &row, ei)) && row && *n < cap) {
        snprintf(out[*n].name, sizeof(out[*n].name), "%s", db_col_text(st, 0));
        out[*n].sql = strdup(db_col_text(st, 1));
        if (!out[*n].sql)
            rc = ERR_NOMEM;
        else
            (*n)++;
    }
    db_finalize(st);
    for (int i = 0; i < *n && !rc; i++) {
        char sql[160];
        /* Names come from sqlite_master, written by the migrations. */
        snprintf(sql, sizeof(sql), "DROP INDEX %.95s", out[i].name);
        rc = db_exec(d, sql, ei);
    }
    return rc;
}

static void progress(const gen *g, const char *what, int64_t done, int64_t total, int64_t t0)
{
    if (!g->o->progress)
        return;
    double s = (double)(time_mono_us() - t0) / 1e6;
    fprintf(stderr, "gen_year: %s %lld/%lld (%.0f%%), %lld results, %.0f s\n", what,
            (long long)done, (long long)total, total ? 100.0 * (double)done / (double)total : 100,
            (long long)g->c->results, s);
}

err_t yeargen_run(db *d, const yeargen_opts *o, yeargen_counts *out, errinfo *ei)
{
    gen g = {.d = d, .o = o, .c = out};
    audit_ctx ctx = {NULL, ACTOR, "cli"};
    saved_index idx[64];
    int nidx = 0;
    bool fresh = false;
    int64_t have = 0;
    memset(out, 0, sizeof(*out));
    err_t rc = check_opts(o, ei);
    if (rc)
        return rc;
    char first_mrn[40];
    snprintf(first_mrn, sizeof(first_mrn), "%s%08d", o->prefix, 1);
    rc = db_scalar(d, sql_prefix_taken, first_mrn, &have, ei);
    if (!rc && have)
        return err_set(ei, ERR_CONFLICT, "prefix", "patients with MRNs %s... exist already",
                       o->prefix);
    if (!rc)
        rc = db_scalar(d, sql_any_patient, NULL, &have, ei);
    fresh = !rc && have == 0;
    if (!rc)
        rc = ensure_catalog(d, &ctx, ei);
    if (!rc)
        rc = ensure_tech(&g, &ctx, ei);
    if (!rc)
        rc = catalog_load(d, &g.cat, ei);
    if (!rc)
        rc = expand_profiles(d, &g.cat, g.exp, ei);
    if (rc)
        return rc;

    uint64_t h = o->seed;
    for (const char *p = o->prefix; *p; p++)
        h = h * 131 + (unsigned char)*p;
    g.salt = splitmix(&h);
    rng_seed(&g.r, o->seed);
    g.start = (o->end / US_DAY - (o->days - 1)) * US_DAY;
    g.acc_days = o->days + 1;
    g.patients = calloc((size_t)o->patients, sizeof(*g.patients));
    g.acc_next = malloc((size_t)g.acc_days * sizeof(*g.acc_next));
    if (!g.patients || !g.acc_next) {
        rc = ERR_NOMEM;
        goto done;
    }
    for (int64_t k = 0; k < g.acc_days; k++)
        g.acc_next[k] = -1;

    int64_t t0 = time_mono_us();
    if (db_kind(d) == DB_SQLITE) {
        /* This connection only, for the load: a large cache, temporary
         * b-trees in memory, and no waiting for the disk at each commit (a
         * load that fails is made again, not recovered). */
        rc = db_exec(d,
                     "PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY;"
                     " PRAGMA synchronous = OFF",
                     ei);
        if (!rc)
            rc = db_autocheckpoint(d, 100000, ei);
        if (!rc && fresh)
            rc = drop_indexes(d, idx, (int)(sizeof(idx) / sizeof(idx[0])), &nidx, ei);
    }
    static const char *const sqls[S_N] = {sql_patient,   sql_order,   sql_specimen, sql_event,
                                          sql_test,      sql_result,  sql_history,  sql_alert,
                                          sql_signature, sql_worklist};
    for (int i = 0; i < S_N && !rc; i++)
        rc = db_prepare(d, sqls[i], &g.st[i], ei);
    if (!rc)
        rc = write_patients(&g, ei);
    if (!rc)
        progress(&g, "patients", out->patients, o->patients, t0);
    if (!rc)
        rc = plan_orders(&g, ei);
    int64_t step = g.norders / 20 + 1;
    for (int64_t i = 0; i < g.norders && !rc; i += ORDERS_PER_TX) {
        rc = db_begin(d, ei);
        for (int64_t k = i; k < g.norders && k < i + ORDERS_PER_TX && !rc; k++) {
            rc = write_order(&g, &g.orders[k], ei);
            if (!rc && (k + 1) % step == 0)
                progress(&g, "orders", k + 1, g.norders, t0);
        }
        if (!rc)
            rc = db_commit(d, ei);
        else
            db_rollback(d);
    }
    for (int i = 0; i < S_N; i++) {
        db_finalize(g.st[i]);
        g.st[i] = NULL;
    }
    if (!rc)
        rc = save_counters(&g, ei);
    out->seconds_load = (time_mono_us() - t0) / 1000000;
    int64_t t1 = time_mono_us();
    for (int i = 0; i < nidx && !rc; i++) {
        if (o->progress)
            fprintf(stderr, "gen_year: index %s\n", idx[i].name);
        rc = db_exec(d, idx[i].sql, ei);
    }
    out->seconds_index = (time_mono_us() - t1) / 1000000;
    if (!rc && db_kind(d) == DB_SQLITE)
        rc = db_exec(d, "PRAGMA synchronous = FULL", ei);
    if (!rc) {
        char end[TIME_ISO_LEN];
        time_format_iso(o->end, end);
        json_t *detail = json_pack(
            "{s:i,s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "version", YEARGEN_VERSION,
            "prefix", o->prefix, "end", end, "days", (int)o->days, "seed", (json_int_t)o->seed,
            "patients", (json_int_t)out->patients, "orders", (json_int_t)out->orders, "specimens",
            (json_int_t)out->specimens, "order_tests", (json_int_t)out->order_tests, "results",
            (json_int_t)out->results, "result_history", (json_int_t)out->result_history,
            "critical_alerts", (json_int_t)out->critical_alerts, "signatures",
            (json_int_t)out->signatures);
        rc = detail ? db_begin(d, ei) : ERR_NOMEM;
        if (!rc)
            rc = audit_write(d, &ctx, "data.generated", "database", "", "ok", detail, ei);
        if (!rc)
            rc = db_commit(d, ei);
        else if (detail)
            db_rollback(d);
        json_decref(detail);
    }
done:
    for (int i = 0; i < nidx; i++)
        free(idx[i].sql);
    free(g.patients);
    free(g.orders);
    free(g.acc_next);
    return rc;
}
