/*
 * sim.c - the virtual analyzer (see sim.h): a table of plausible values for
 * the demo catalog, the messages an instrument sends, and one blocking loop
 * over a TCP socket or a pseudo-terminal with poll() and the monotonic clock.
 */
#include "link/sim.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/id.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "proto/astm.h"
#include "proto/e1381.h"
#include "proto/hl7.h"
#include "proto/mllp.h"

/* ------------------------------------------------------------------------ */
/* The values. */

#define NONE NAN

static const char *const dip_plus[] = {"negative", "trace", "1+", "2+", "3+", "4+", NULL};
static const char *const dip_size[] = {"negative", "trace", "small", "moderate", "large", NULL};
static const char *const dip_bil[] = {"negative", "small", "moderate", "large", NULL};
static const char *const dip_nit[] = {"negative", "positive", NULL};
static const char *const colors[] = {"yellow", "straw", "dark yellow", "amber", "red", NULL};

/*
 * The demo catalog's tests (src/lab/demo_catalog.json; tests/unit/test_sim.c
 * holds this table to it): code, name, kind, specimen type, unit, decimals,
 * reference range female then male, critical limits, then the distribution
 * values are drawn from, female then male: a mean inside the range and an SD
 * that keeps most draws inside it, as a healthy population gives. One test
 * a row (two lines), kept so by hand.
 */
/* clang-format off */
static const sim_test table[] = {
    {"WBC", "Leukocytes (WBC)", SIM_NUMERIC, "whole blood", "10*3/uL", 2,
     {4, 11}, {4, 11}, {2, 30}, {7.2, 1.5}, {7.2, 1.5}, NULL},
    {"RBC", "Erythrocytes (RBC)", SIM_NUMERIC, "whole blood", "10*6/uL", 2,
     {3.8, 5.2}, {4.5, 5.9}, {NONE, NONE}, {4.5, 0.3}, {5.2, 0.3}, NULL},
    {"HGB", "Hemoglobin", SIM_NUMERIC, "whole blood", "g/dL", 1,
     {12, 15.5}, {13.5, 17.5}, {7, 20}, {13.7, 0.8}, {15.5, 0.9}, NULL},
    {"HCT", "Hematocrit", SIM_NUMERIC, "whole blood", "%", 1,
     {36, 46}, {41, 53}, {20, 60}, {41, 2.3}, {47, 2.6}, NULL},
    {"MCV", "Mean corpuscular volume (MCV)", SIM_NUMERIC, "whole blood", "fL", 1,
     {80, 100}, {80, 100}, {NONE, NONE}, {90, 4}, {90, 4}, NULL},
    {"MCH", "Mean corpuscular hemoglobin (MCH)", SIM_NUMERIC, "whole blood", "pg", 1,
     {27, 33}, {27, 33}, {NONE, NONE}, {30, 1.3}, {30, 1.3}, NULL},
    {"MCHC", "Mean corpuscular hemoglobin concentration (MCHC)", SIM_NUMERIC, "whole blood",
     "g/dL", 1, {32, 36}, {32, 36}, {NONE, NONE}, {34, 0.8}, {34, 0.8}, NULL},
    {"RDW", "Erythrocyte distribution width (RDW-CV)", SIM_NUMERIC, "whole blood", "%", 1,
     {11.5, 14.5}, {11.5, 14.5}, {NONE, NONE}, {13, 0.6}, {13, 0.6}, NULL},
    {"PLT", "Platelets", SIM_NUMERIC, "whole blood", "10*3/uL", 0,
     {150, 400}, {150, 400}, {20, 1000}, {260, 50}, {250, 50}, NULL},
    {"GLU", "Glucose", SIM_NUMERIC, "serum", "mg/dL", 0,
     {70, 99}, {70, 99}, {40, 500}, {86, 8}, {88, 8}, NULL},
    {"BUN", "Urea nitrogen (BUN)", SIM_NUMERIC, "serum", "mg/dL", 0,
     {7, 20}, {7, 20}, {NONE, NONE}, {13, 3}, {15, 3}, NULL},
    {"CREA", "Creatinine", SIM_NUMERIC, "serum", "mg/dL", 2,
     {0.59, 1.04}, {0.74, 1.35}, {NONE, NONE}, {0.8, 0.1}, {1.02, 0.13}, NULL},
    {"NA", "Sodium", SIM_NUMERIC, "serum", "mmol/L", 0,
     {136, 145}, {136, 145}, {120, 160}, {140, 2}, {140, 2}, NULL},
    {"K", "Potassium", SIM_NUMERIC, "serum", "mmol/L", 1,
     {3.5, 5.1}, {3.5, 5.1}, {2.8, 6.2}, {4.3, 0.35}, {4.3, 0.35}, NULL},
    {"CL", "Chloride", SIM_NUMERIC, "serum", "mmol/L", 0,
     {98, 107}, {98, 107}, {80, 120}, {102, 2}, {102, 2}, NULL},
    {"CO2", "Carbon dioxide, total (CO2)", SIM_NUMERIC, "serum", "mmol/L", 0,
     {22, 29}, {22, 29}, {10, 40}, {25.5, 1.5}, {25.5, 1.5}, NULL},
    {"CA", "Calcium", SIM_NUMERIC, "serum", "mg/dL", 1,
     {8.6, 10.2}, {8.6, 10.2}, {6, 13}, {9.4, 0.35}, {9.4, 0.35}, NULL},
    {"CHOL", "Cholesterol, total", SIM_NUMERIC, "serum", "mg/dL", 0,
     {NONE, 199}, {NONE, 199}, {NONE, NONE}, {175, 25}, {175, 25}, NULL},
    {"TRIG", "Triglycerides", SIM_NUMERIC, "serum", "mg/dL", 0,
     {NONE, 149}, {NONE, 149}, {NONE, NONE}, {110, 30}, {120, 35}, NULL},
    {"HDL", "HDL cholesterol", SIM_NUMERIC, "serum", "mg/dL", 0,
     {50, NONE}, {40, NONE}, {NONE, NONE}, {62, 10}, {50, 9}, NULL},
    {"LDL", "LDL cholesterol, calculated", SIM_NUMERIC, "serum", "mg/dL", 0,
     {NONE, 99}, {NONE, 99}, {NONE, NONE}, {78, 14}, {82, 14}, NULL},
    {"ALT", "Alanine aminotransferase (ALT)", SIM_NUMERIC, "serum", "U/L", 0,
     {NONE, 33}, {NONE, 41}, {NONE, NONE}, {18, 6}, {24, 7}, NULL},
    {"AST", "Aspartate aminotransferase (AST)", SIM_NUMERIC, "serum", "U/L", 0,
     {NONE, 32}, {NONE, 40}, {NONE, NONE}, {20, 5}, {24, 6}, NULL},
    {"ALP", "Alkaline phosphatase (ALP)", SIM_NUMERIC, "serum", "U/L", 0,
     {35, 104}, {40, 129}, {NONE, NONE}, {68, 14}, {82, 17}, NULL},
    {"TBIL", "Bilirubin, total", SIM_NUMERIC, "serum", "mg/dL", 1,
     {0.3, 1.2}, {0.3, 1.2}, {NONE, NONE}, {0.7, 0.18}, {0.75, 0.18}, NULL},
    {"DBIL", "Bilirubin, direct", SIM_NUMERIC, "serum", "mg/dL", 1,
     {NONE, 0.3}, {NONE, 0.3}, {NONE, NONE}, {0.15, 0.06}, {0.15, 0.06}, NULL},
    {"ALB", "Albumin", SIM_NUMERIC, "serum", "g/dL", 1,
     {3.5, 5.2}, {3.5, 5.2}, {NONE, NONE}, {4.3, 0.3}, {4.4, 0.3}, NULL},
    {"TP", "Protein, total", SIM_NUMERIC, "serum", "g/dL", 1,
     {6.4, 8.3}, {6.4, 8.3}, {NONE, NONE}, {7.3, 0.4}, {7.3, 0.4}, NULL},
    {"TSH", "Thyroid stimulating hormone (TSH)", SIM_NUMERIC, "serum", "m[IU]/L", 2,
     {0.27, 4.2}, {0.27, 4.2}, {NONE, NONE}, {1.8, 0.7}, {1.7, 0.7}, NULL},
    {"TROPI", "Troponin I, cardiac, high-sensitivity", SIM_NUMERIC, "plasma", "ng/L", 0,
     {NONE, 16}, {NONE, 34}, {NONE, 64}, {5, 3}, {9, 5}, NULL},
    {"HBA1C", "Hemoglobin A1c", SIM_NUMERIC, "whole blood", "%", 1,
     {4, 5.6}, {4, 5.6}, {NONE, NONE}, {5.1, 0.35}, {5.2, 0.35}, NULL},
    {"FERR", "Ferritin", SIM_NUMERIC, "serum", "ng/mL", 0,
     {15, 150}, {30, 400}, {NONE, NONE}, {70, 28}, {170, 65}, NULL},
    {"PT", "Prothrombin time (PT)", SIM_NUMERIC, "plasma", "s", 1,
     {11, 13.5}, {11, 13.5}, {NONE, NONE}, {12.2, 0.5}, {12.2, 0.5}, NULL},
    {"INR", "INR", SIM_NUMERIC, "plasma", "{INR}", 1,
     {0.8, 1.1}, {0.8, 1.1}, {NONE, 5}, {0.95, 0.07}, {0.95, 0.07}, NULL},
    {"UCOLOR", "Urine color", SIM_TEXT, "urine", NULL, 0,
     {NONE, NONE}, {NONE, NONE}, {NONE, NONE}, {0, 0}, {0, 0}, colors},
    {"USG", "Urine specific gravity", SIM_NUMERIC, "urine", "{SG}", 3,
     {1.005, 1.03}, {1.005, 1.03}, {NONE, NONE}, {1.018, 0.005}, {1.018, 0.005}, NULL},
    {"UPH", "Urine pH", SIM_NUMERIC, "urine", "[pH]", 1,
     {5, 8}, {5, 8}, {NONE, NONE}, {6.2, 0.6}, {6.2, 0.6}, NULL},
    {"UPRO", "Urine protein (dipstick)", SIM_CODED, "urine", NULL, 0,
     {NONE, NONE}, {NONE, NONE}, {NONE, NONE}, {0, 0}, {0, 0}, dip_plus},
    {"UGLU", "Urine glucose (dipstick)", SIM_CODED, "urine", NULL, 0,
     {NONE, NONE}, {NONE, NONE}, {NONE, NONE}, {0, 0}, {0, 0}, dip_plus},
    {"UKET", "Urine ketones (dipstick)", SIM_CODED, "urine", NULL, 0,
     {NONE, NONE}, {NONE, NONE}, {NONE, NONE}, {0, 0}, {0, 0}, dip_size},
    {"UBLD", "Urine blood (dipstick)", SIM_CODED, "urine", NULL, 0,
     {NONE, NONE}, {NONE, NONE}, {NONE, NONE}, {0, 0}, {0, 0}, dip_size},
    {"UBIL", "Urine bilirubin (dipstick)", SIM_CODED, "urine", NULL, 0,
     {NONE, NONE}, {NONE, NONE}, {NONE, NONE}, {0, 0}, {0, 0}, dip_bil},
    {"UNIT", "Urine nitrite (dipstick)", SIM_CODED, "urine", NULL, 0,
     {NONE, NONE}, {NONE, NONE}, {NONE, NONE}, {0, 0}, {0, 0}, dip_nit},
    {"ULEU", "Urine leukocyte esterase (dipstick)", SIM_CODED, "urine", NULL, 0,
     {NONE, NONE}, {NONE, NONE}, {NONE, NONE}, {0, 0}, {0, 0}, dip_size},
};
/* clang-format on */

#define NTESTS (sizeof(table) / sizeof(table[0]))

/* Share of coded and text results that are not the normal value. */
#define ABNORMAL_SHARE 0.12

size_t sim_test_count(void)
{
    return NTESTS;
}

const sim_test *sim_test_at(size_t i)
{
    return i < NTESTS ? &table[i] : NULL;
}

const sim_test *sim_test_find(const char *code)
{
    for (size_t i = 0; code && i < NTESTS; i++)
        if (!strcmp(table[i].code, code))
            return &table[i];
    return NULL;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    /* splitmix64 spreads one number over the four words of state */
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        r->s[i] = z ^ (z >> 31);
    }
}

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double uniform(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Standard normal (Box-Muller). */
static double gauss(sim_rng *r)
{
    double u1 = 1.0 - uniform(r), u2 = uniform(r); /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* The range for a sex; unknown: the union of both. */
static sim_range range_for(const sim_test *t, char sex)
{
    if (sex == 'F')
        return t->female;
    if (sex == 'M')
        return t->male;
    sim_range u;
    u.low = isnan(t->female.low) || isnan(t->male.low) ? NAN : fmin(t->female.low, t->male.low);
    u.high =
        isnan(t->female.high) || isnan(t->male.high) ? NAN : fmax(t->female.high, t->male.high);
    return u;
}

static sim_dist dist_for(const sim_test *t, char sex)
{
    if (sex == 'F')
        return t->dist_female;
    if (sex == 'M')
        return t->dist_male;
    return (sim_dist){(t->dist_female.mean + t->dist_male.mean) / 2,
                      fmax(t->dist_female.sd, t->dist_male.sd)};
}

static double scale_of(int decimals)
{
    double p = 1;
    for (int i = 0; i < decimals; i++)
        p *= 10;
    return p;
}

/* A value drawn inside the critical limits, in units of the last decimal. */
static long long draw_normal(const sim_test *t, sim_dist d, double p, sim_rng *r)
{
    for (int tries = 0; tries < 32; tries++) {
        long long u = llround((d.mean + d.sd * gauss(r)) * p);
        double v = (double)u / p;
        if (u < 1)
            continue;
        if (!isnan(t->critical.low) && v <= t->critical.low)
            continue;
        if (!isnan(t->critical.high) && v >= t->critical.high)
            continue;
        return u;
    }
    return llround(d.mean * p);
}

/* A value beyond a critical limit: up to 15 % over the high one, or 3 to 15
 * % under the low one; one unit of the last decimal past the limit at least. */
static long long draw_critical(const sim_test *t, double p, sim_rng *r)
{
    bool high = !isnan(t->critical.high);
    if (high && !isnan(t->critical.low))
        high = uniform(r) < 0.5;
    if (high) {
        long long u = llround(t->critical.high * (1.02 + 0.13 * uniform(r)) * p);
        while ((double)u / p <= t->critical.high)
            u++;
        return u;
    }
    long long u = llround(t->critical.low * (0.85 + 0.12 * uniform(r)) * p);
    while ((double)u / p >= t->critical.low && u > 0)
        u--;
    return u;
}

void sim_value_make(const sim_test *t, char sex, bool critical, sim_rng *r, sim_value *out)
{
    memset(out, 0, sizeof *out);
    if (t->kind != SIM_NUMERIC) {
        size_t n = 0;
        while (t->values[n])
            n++;
        size_t pick = 0;
        if (n > 1 && uniform(r) < ABNORMAL_SHARE)
            pick = 1 + (size_t)(uniform(r) * (double)(n - 1));
        snprintf(out->text, sizeof out->text, "%s", t->values[pick]);
        snprintf(out->flag, sizeof out->flag, "%s", pick ? "A" : "N");
        return;
    }
    double p = scale_of(t->decimals);
    bool has_critical = !isnan(t->critical.low) || !isnan(t->critical.high);
    long long u =
        critical && has_critical ? draw_critical(t, p, r) : draw_normal(t, dist_for(t, sex), p, r);
    double v = (double)u / p;
    snprintf(out->text, sizeof out->text, "%.*f", t->decimals, v);
    sim_range rr = range_for(t, sex);
    const char *flag = "N";
    if (!isnan(t->critical.high) && v > t->critical.high)
        flag = "HH";
    else if (!isnan(t->critical.low) && v < t->critical.low)
        flag = "LL";
    else if (!isnan(rr.high) && v > rr.high)
        flag = "H";
    else if (!isnan(rr.low) && v < rr.low)
        flag = "L";
    snprintf(out->flag, sizeof out->flag, "%s", flag);
    out->critical = flag[0] && flag[1]; /* HH or LL */
}

/* The shortest decimal form of a catalog limit: 4, 3.8, 0.27, 1.03. */
static void number_text(double v, char *out, size_t n)
{
    snprintf(out, n, "%.6f", v);
    char *dot = strchr(out, '.');
    if (!dot)
        return;
    char *end = out + strlen(out);
    while (end > dot + 1 && end[-1] == '0')
        *--end = '\0';
    if (end == dot + 1)
        *dot = '\0';
}

void sim_range_text(const sim_test *t, char sex, bool astm, char *out, size_t n)
{
    char lo[32], hi[32];
    if (n == 0)
        return;
    out[0] = '\0';
    if (t->kind != SIM_NUMERIC) {
        snprintf(out, n, "%s", t->values[0]);
        return;
    }
    sim_range r = range_for(t, sex);
    number_text(r.low, lo, sizeof lo);
    number_text(r.high, hi, sizeof hi);
    if (!isnan(r.low) && !isnan(r.high))
        snprintf(out, n, astm ? "%s to %s" : "%s-%s", lo, hi);
    else if (!isnan(r.high))
        snprintf(out, n, "<%s", hi);
    else if (!isnan(r.low))
        snprintf(out, n, ">%s", lo);
}

/* ------------------------------------------------------------------------ */
/* Options. */

/* Non-empty, at most SIM_NAME_MAX bytes, no control characters. */
static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SIM_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return false;
    return true;
}

err_t sim_check(const sim_opts *o, errinfo *ei)
{
    if (o->protocol != SIM_ASTM && o->protocol != SIM_HL7)
        return err_set(ei, ERR_USAGE, "--protocol", "--protocol is astm or hl7");
    if (o->hl7_message != SIM_OUL_R22 && o->hl7_message != SIM_ORU_R01)
        return err_set(ei, ERR_USAGE, "--hl7-message", "--hl7-message is oul or oru");
    if (o->pty && o->host)
        return err_set(ei, ERR_USAGE, "--pty", "--pty and --connect exclude each other");
    if (o->host && (!o->host[0] || strlen(o->host) > 255))
        return err_set(ei, ERR_USAGE, "--connect", "--connect wants HOST:PORT");
    if (o->port > 65535)
        return err_set(ei, ERR_USAGE, "--connect", "--connect: the port is 1 to 65535");
    if (o->sender && !name_ok(o->sender))
        return err_set(ei, ERR_USAGE, "--sender",
                       "--sender wants 1 to %d characters without control characters",
                       SIM_NAME_MAX);
    if (o->nspecimens > SIM_SPECIMENS_MAX)
        return err_set(ei, ERR_USAGE, "--specimen", "--specimen: at most %d accessions",
                       SIM_SPECIMENS_MAX);
    for (size_t i = 0; i < o->nspecimens; i++)
        if (!name_ok(o->specimens[i]))
            return err_set(ei, ERR_USAGE, "--specimen",
                           "--specimen: accession %zu is empty, longer than %d characters or "
                           "holds control characters",
                           i + 1, SIM_NAME_MAX);
    if (o->nspecimens == 0 && !o->specimens_file)
        return err_set(ei, ERR_USAGE, "--specimen",
                       "no specimen: give --specimen ACC (repeatable) or --specimens FILE");
    if (o->ntests > SIM_TESTS_MAX)
        return err_set(ei, ERR_USAGE, "--tests", "--tests: at most %d tests", SIM_TESTS_MAX);
    for (size_t i = 0; i < o->ntests; i++) {
        if (sim_test_find(o->tests[i]))
            continue;
        char known[512] = "";
        size_t len = 0;
        for (size_t k = 0; k < NTESTS && len + 8 < sizeof known; k++)
            len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", k ? " " : "",
                                    table[k].code);
        return err_set(ei, ERR_USAGE, "--tests",
                       "--tests: no simulated values for '%.64s' (the demo catalog's codes: %s)",
                       o->tests[i] ? o->tests[i] : "", known);
    }
    if (o->no_query && o->ntests == 0)
        return err_set(ei, ERR_USAGE, "--no-query",
                       "--no-query needs --tests (the results to send without asking)");
    if (!(o->rate >= 0 && o->rate <= 10000))
        return err_set(ei, ERR_USAGE, "--rate",
                       "--rate: messages per second, more than 0 and at most 10000");
    if (o->bad_checksum_every && o->protocol != SIM_ASTM)
        return err_set(ei, ERR_USAGE, "--bad-checksum-every",
                       "--bad-checksum-every is for --protocol astm (MLLP has no checksum)");
    if (o->drop_every && o->pty)
        return err_set(ei, ERR_USAGE, "--drop-every",
                       "--drop-every needs a TCP connection: a pseudo-terminal cannot be "
                       "dropped and made again under the same path");
    if (o->connect_timeout_ms < 0 || o->connect_timeout_ms > 86400000)
        return err_set(ei, ERR_USAGE, "--connect-timeout", "--connect-timeout: 0 to 86400 seconds");
    if (o->reply_timeout_ms < 0 || o->reply_timeout_ms > 86400000)
        return err_set(ei, ERR_USAGE, "--reply-timeout", "--reply-timeout: 0 to 86400 seconds");
    return ERR_OK;
}

/* ------------------------------------------------------------------------ */
/* The run's state. */

#define GRACE_US     2000000LL /* an exchange under way when asked to stop */
#define ATTEMPTS     3         /* sends of one message over lost connections */
#define LATENCY_KEEP 65536     /* latency samples kept (a uniform reservoir) */
#define STEP_MS      50        /* longest wait in poll(): how soon *stop is seen */

typedef enum outcome {
    OUT_NONE = 0,
    OUT_ACKED,   /* acknowledged (a query: answered) */
    OUT_REFUSED, /* AE/AR, or frames refused */
    OUT_TIMEOUT, /* no answer in time */
    OUT_DROPPED, /* we closed the connection on purpose */
} outcome;

/* A specimen, and what the host said it needs. Strings live in the step's arena
 * or are borrowed from the options. */
typedef struct order {
    const char *accession;
    const char *mrn;  /* NULL when unknown */
    const char *type; /* specimen type text; NULL when unknown */
    char sex;         /* 'F', 'M' or 'U' */
    const char *codes[SIM_TESTS_MAX];
    size_t ncodes;
} order;

typedef struct sim {
    const sim_opts *o;
    sim_stats *st;
    volatile int *stop;
    int64_t stop_at; /* when the stop was first seen; 0 before */
    sim_rng rng;     /* values */
    sim_rng lat_rng; /* the latency reservoir (kept apart so values replay) */
    const char *sender;
    char host[256], port[16];
    int64_t connect_timeout_us, reply_timeout_us;
    const char **specs; /* accessions (malloc'd array; strings borrowed or in run) */
    size_t nspecs;
    arena run; /* lives as long as the run */
    /* the link */
    int fd; /* the socket or the pty master; -1 */
    bool is_pty;
    bool up;      /* connected / the other side holds the terminal open */
    bool ever_up; /* a later connection is a reconnection */
    char pty_path[128];
    err_t nomem; /* ERR_NOMEM met where it could not be returned */
    /* HL7 */
    mllp_decoder dec;
    const char *await_ctrl; /* MSH-10 whose answer is awaited */
    buf reply;              /* that answer */
    bool have_reply;
    /* ASTM */
    e1381 link;
    int64_t timer_at; /* the state machine's timer, monotonic us; 0: stopped */
    outcome astm_out; /* of the message being sent */
    bool awaiting_answer, have_answer;
    buf answer;           /* the host's answer to a query */
    bool retransmit_next; /* the next frame written is a retransmission */
    uint64_t frames;      /* new frames written in the run, for --bad-checksum-every */
    unsigned msg_frames;  /* new frames of the message being sent */
    unsigned drop_at;     /* drop the link instead of writing this frame (1-based); 0 */
    int64_t last_frame_at;
    bool sample_latency;
    buf scratch;
    /* counters behind the options */
    uint64_t messages; /* --drop-every */
    uint64_t results;  /* --critical-every */
    bool critical_due;
    double *lat; /* latency samples, ms */
    size_t nlat;
    uint64_t lat_seen;
} sim;

static bool stopping(const sim *s)
{
    return s->stop && *s->stop;
}

/* d, or earlier once a stop was asked: GRACE_US after it was first seen. */
static int64_t bounded(sim *s, int64_t d)
{
    if (!stopping(s))
        return d;
    if (!s->stop_at)
        s->stop_at = time_mono_us();
    return s->stop_at + GRACE_US < d ? s->stop_at + GRACE_US : d;
}

static void nap_ms(int ms)
{
    poll(NULL, 0, ms);
}

static void add_latency(sim *s, int64_t us)
{
    double ms = (double)us / 1000.0;
    s->lat_seen++;
    if (s->nlat < LATENCY_KEEP) {
        if (!s->lat) {
            s->lat = malloc(LATENCY_KEEP * sizeof *s->lat);
            if (!s->lat) {
                s->nomem = ERR_NOMEM;
                return;
            }
        }
        s->lat[s->nlat++] = ms;
        return;
    }
    uint64_t j = sim_rng_next(&s->lat_rng) % s->lat_seen;
    if (j < LATENCY_KEEP)
        s->lat[j] = ms;
}

/* ------------------------------------------------------------------------ */
/* The link: a TCP connection or a pseudo-terminal. */

static void on_hl7(void *cls, const char *msg, size_t len);
static void run_actions(sim *s, const e1381_actions *acts);

/* The link is gone (or we closed it): forget what was under way on it. */
static void link_down(sim *s)
{
    if (!s->is_pty && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->up = false;
    e1381_reset(&s->link);
    s->timer_at = 0;
    s->retransmit_next = false;
    mllp_decoder_free(&s->dec);
    mllp_decoder_init(&s->dec, 0);
}

static err_t pty_open(sim *s, errinfo *ei)
{
    struct termios tio;
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return err_set(ei, ERR_IO, "--pty", "cannot make a pseudo-terminal: %s", strerror(errno));
    if (grantpt(fd) || unlockpt(fd) || ptsname_r(fd, s->pty_path, sizeof s->pty_path) ||
        tcgetattr(fd, &tio)) {
        int e = errno;
        close(fd);
        return err_set(ei, ERR_IO, "--pty", "cannot set up the pseudo-terminal: %s", strerror(e));
    }
    /* Raw bytes both ways (no echo, no line editing, no CR/LF translation):
     * E1381 and MLLP carry control characters. */
    cfmakeraw(&tio);
    cfsetispeed(&tio, B9600);
    cfsetospeed(&tio, B9600);
    if (tcsetattr(fd, TCSANOW, &tio) || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)) {
        int e = errno;
        close(fd);
        return err_set(ei, ERR_IO, "--pty", "cannot set up the pseudo-terminal: %s", strerror(e));
    }
    s->fd = fd;
    s->is_pty = true;
    if (s->o->on_pty)
        s->o->on_pty(s->o->cls, s->pty_path);
    return ERR_OK;
}

/* Pseudo-terminal: does some program hold the other side open? (The master
 * reports a hang-up while nobody does.) */
static bool pty_peer_open(sim *s)
{
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, 0) < 0)
        return false;
    return !(p.revents & POLLHUP);
}

/* One round of connection attempts to every address of the host. */
static void tcp_try(sim *s, char *why, size_t n)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(s->host, s->port, &hints, &res);
    if (gai) {
        snprintf(why, n, "%s", gai_strerror(gai));
        return;
    }
    for (struct addrinfo *ai = res; ai && !s->up; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            snprintf(why, n, "%s", strerror(errno));
            continue;
        }
        int err = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            err = errno;
            if (err == EINPROGRESS) {
                struct pollfd p = {fd, POLLOUT, 0};
                socklen_t len = sizeof err;
                if (poll(&p, 1, 2000) <= 0)
                    err = ETIMEDOUT;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
                    err = errno; /* else err is the outcome of the connect */
            }
        }
        if (err) {
            snprintf(why, n, "%s", strerror(err));
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s->fd = fd;
        s->up = true;
    }
    freeaddrinfo(res);
}

/*
 * Make the link usable: connect (retrying until the connect timeout), or wait
 * for the host to open the terminal. Returns ERR_OK with s->up, or ERR_OK
 * without it when a stop was asked meanwhile; ERR_IO when the time ran out.
 */
static err_t link_connect(sim *s, errinfo *ei)
{
    int64_t deadline = time_mono_us() + s->connect_timeout_us;
    char why[160] = "no answer";
    while (!s->up) {
        if (stopping(s))
            return ERR_OK;
        if (s->is_pty)
            s->up = pty_peer_open(s);
        else
            tcp_try(s, why, sizeof why);
        if (s->up)
            break;
        if (time_mono_us() >= deadline) {
            double secs = (double)s->connect_timeout_us / 1e6;
            if (s->is_pty)
                return err_set(ei, ERR_IO, "--pty", "no program opened %s within %g s", s->pty_path,
                               secs);
            return err_set(ei, ERR_IO, "--connect", "cannot connect to %s port %s within %g s: %s",
                           s->host, s->port, secs, why);
        }
        nap_ms(s->is_pty ? 20 : 100);
    }
    if (s->ever_up)
        s->st->reconnects++;
    s->ever_up = true;
    if (s->is_pty)
        log_info("sim: %s opened by the host", s->pty_path);
    else
        log_info("sim: %s to %s port %s", s->st->reconnects ? "reconnected" : "connected", s->host,
                 s->port);
    return ERR_OK;
}

/* Write all of p[0..n), or lose the link. */
static void link_write(sim *s, const void *data, size_t n)
{
    const char *p = data;
    int64_t deadline = time_mono_us() + s->reply_timeout_us;
    while (n > 0 && s->up) {
        ssize_t w = s->is_pty ? write(s->fd, p, n) : send(s->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            time_mono_us() < bounded(s, deadline)) {
            struct pollfd pf = {s->fd, POLLOUT, 0};
            poll(&pf, 1, STEP_MS);
            continue;
        }
        log_warn("sim: link lost while writing: %s",
                 w < 0 && errno != EAGAIN ? strerror(errno) : "the host reads nothing");
        link_down(s);
    }
}

/* Bytes from the host. */
static void on_bytes(sim *s, const unsigned char *p, size_t n)
{
    if (s->o->protocol == SIM_HL7) {
        errinfo e;
        err_clear(&e);
        if (mllp_decoder_feed(&s->dec, (const char *)p, n, on_hl7, s, &e))
            log_info("sim: MLLP from the host: %s", e.message);
        return;
    }
    size_t i = 0;
    while (i < n && s->up) {
        size_t take = n - i;
        if (e1381_get_state(&s->link) == E1381_FRAME_SENT) {
            /* A reply to our frame: anything but ACK or EOT makes the state
             * machine send the frame again, which is no new frame. */
            take = 1;
            s->retransmit_next = !(p[i] == E1381_ACK || p[i] == E1381_EOT);
            if (s->retransmit_next)
                s->st->naks++;
        }
        e1381_actions acts;
        if (e1381_feed(&s->link, p + i, take, &acts)) {
            s->nomem = ERR_NOMEM;
            link_down(s);
            return;
        }
        run_actions(s, &acts);
        i += take;
    }
}

/* Wait for bytes until deadline (at most STEP_MS) and handle them, and the
 * state machine's timer when it is due. */
static void io_once(sim *s, int64_t deadline)
{
    int64_t now = time_mono_us(), wake = deadline;
    if (s->timer_at && s->timer_at < wake)
        wake = s->timer_at;
    int64_t ms = wake > now ? (wake - now + 999) / 1000 : 0;
    if (ms > STEP_MS)
        ms = STEP_MS;
    if (!s->up) {
        nap_ms((int)ms);
        return;
    }
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, (int)ms) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
        unsigned char chunk[4096];
        ssize_t n = read(s->fd, chunk, sizeof chunk);
        if (n > 0) {
            on_bytes(s, chunk, (size_t)n);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            log_info("sim: the host %s",
                     s->is_pty ? "closed the terminal" : "closed the connection");
            link_down(s);
        }
    }
    if (s->up && s->timer_at && time_mono_us() >= s->timer_at) {
        e1381_actions acts;
        s->timer_at = 0;
        if (e1381_timeout(&s->link, &acts)) {
            s->nomem = ERR_NOMEM;
            link_down(s);
            return;
        }
        run_actions(s, &acts);
    }
}

/*
 * The end of the run: let the host read everything before the link goes. A
 * pty master that closes hangs the terminal up, and the host would lose
 * what it had not read yet (the last EOT); a socket closed with unread
 * input is reset. Waits at most a second.
 */
static void link_finish(sim *s)
{
    int64_t deadline = time_mono_us() + 1000000;
    if (s->fd < 0)
        return;
    if (s->is_pty && s->up) {
        int slave = open(s->pty_path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        int n = 1;
        while (slave >= 0 && time_mono_us() < deadline && !ioctl(slave, FIONREAD, &n) && n > 0)
            nap_ms(10);
        if (slave >= 0)
            close(slave);
    } else if (s->up && !shutdown(s->fd, SHUT_WR)) {
        char b[512];
        while (time_mono_us() < deadline) {
            struct pollfd p = {s->fd, POLLIN, 0};
            if (poll(&p, 1, STEP_MS) <= 0)
                continue;
            ssize_t n = read(s->fd, b, sizeof b);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                break;
        }
    }
    close(s->fd);
    s->fd = -1;
    s->up = false;
}

/* Keep the link served (answer the host's bids, notice a hang-up) until t. */
static void idle_until(sim *s, int64_t t)
{
    while (!stopping(s) && time_mono_us() < t)
        io_once(s, t);
}

/* ------------------------------------------------------------------------ */
/* HL7 exchanges. */

static void on_hl7(void *cls, const char *msg, size_t len)
{
    sim *s = cls;
    arena a;
    hl7_msg m;
    errinfo e;
    arena_init(&a, 0);
    err_clear(&e);
    if (hl7_parse(msg, len, &a, &m, &e)) {
        log_warn("sim: unreadable HL7 from the host: %s", e.message);
        goto done;
    }
    hl7_seg msa = hl7_segment(&m, hl7_find(&m, "MSA", 0));
    strv ctrl = hl7_field(&msa, 2);
    if (s->await_ctrl && !s->have_reply && strv_eq(ctrl, s->await_ctrl)) {
        buf_reset(&s->reply);
        if (buf_append(&s->reply, msg, len))
            s->nomem = ERR_NOMEM;
        else
            s->have_reply = true;
    } else {
        log_info("sim: HL7 message from the host that answers nothing awaited (MSA-2 '%.*s'): "
                 "ignored",
                 (int)(ctrl.n > 64 ? 64 : ctrl.n), ctrl.p ? ctrl.p : "");
    }
done:
    arena_free(&a);
}

/* The next message is the one --drop-every picks. */
static bool next_drops(sim *s)
{
    s->messages++;
    return s->o->drop_every && s->messages % s->o->drop_every == 0;
}

static void account(sim *s, outcome r)
{
    s->st->messages_sent++;
    if (r == OUT_ACKED)
        s->st->acknowledged++;
    else if (r == OUT_REFUSED)
        s->st->refused++;
    else
        s->st->unanswered++;
}

/*
 * Send one HL7 message (msg, control id ctrl) and wait for the answer that
 * names ctrl in MSA-2; on a lost connection reconnect and send it again. The
 * answer is left in s->reply. Returns ERR_OK with *res, or the error that
 * ends the run (the host unreachable, no memory).
 */
static err_t hl7_exchange(sim *s, const buf *msg, const char *ctrl, bool result, outcome *res,
                          errinfo *ei)
{
    buf framed = BUF_INIT;
    bool drop = next_drops(s);
    err_t rc = mllp_frame(msg->data, msg->len, &framed);
    *res = OUT_TIMEOUT;
    if (rc) {
        rc = err_set(ei, rc, NULL, "an HL7 message could not be framed: %s", err_message(rc));
        goto done;
    }
    for (int attempt = 0; attempt < ATTEMPTS && !s->nomem; attempt++) {
        if (!s->up) {
            rc = link_connect(s, ei);
            if (rc || !s->up)
                break;
        }
        if (drop && attempt == 0) {
            link_write(s, framed.data, framed.len / 2);
            log_info("sim: connection dropped on purpose in the middle of message %s", ctrl);
            s->st->drops++;
            link_down(s);
            continue;
        }
        s->await_ctrl = ctrl;
        s->have_reply = false;
        link_write(s, framed.data, framed.len);
        int64_t t0 = time_mono_us(), deadline = t0 + s->reply_timeout_us;
        while (s->up && !s->have_reply && !s->nomem) {
            int64_t d = bounded(s, deadline);
            if (time_mono_us() >= d)
                break;
            io_once(s, d);
        }
        if (s->have_reply) {
            hl7_msg m;
            arena a;
            arena_init(&a, 0);
            strv code = {"", 0};
            if (!hl7_parse(s->reply.data, s->reply.len, &a, &m, NULL)) {
                hl7_seg msa = hl7_segment(&m, hl7_find(&m, "MSA", 0));
                code = hl7_field(&msa, 1);
            }
            if (strv_eq(code, "AA") || strv_eq(code, "CA")) {
                *res = OUT_ACKED;
                if (result)
                    add_latency(s, time_mono_us() - t0);
            } else {
                *res = OUT_REFUSED;
                hl7_seg err = hl7_segment(&m, hl7_find(&m, "ERR", 0));
                strv text = hl7_field(&err, 8);
                log_warn("sim: message %s refused (MSA-1 '%.*s'): %.*s", ctrl,
                         (int)(code.n > 8 ? 8 : code.n), code.p, (int)(text.n > 200 ? 200 : text.n),
                         text.p ? text.p : "");
            }
            arena_free(&a);
            break;
        }
        if (!s->up)
            continue; /* lost before the answer: send it again */
        log_warn("sim: no answer to message %s within %g s", ctrl,
                 (double)(time_mono_us() - t0) / 1e6);
        break;
    }
done:
    s->await_ctrl = NULL;
    account(s, *res);
    buf_free(&framed);
    if (!rc && s->nomem)
        rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    return rc;
}

/* MSH of a message from the simulator. */
static void msh(hl7_writer *w, const char *sender, const char *ts, const char *type,
                const char *event, const char *structure, const char *ctrl)
{
    hl7_writer_segment(w, "MSH");
    hl7_writer_field(w, sender);      /* MSH-3 sending application */
    hl7_writer_field(w, "LAB");       /* MSH-4 sending facility */
    hl7_writer_field(w, "benchside"); /* MSH-5 receiving application */
    hl7_writer_field(w, "LAB");       /* MSH-6 receiving facility */
    hl7_writer_field(w, ts);          /* MSH-7 */
    hl7_writer_field(w, NULL);        /* MSH-8 */
    hl7_writer_field(w, type);        /* MSH-9 */
    hl7_writer_component(w, event);
    hl7_writer_component(w, structure);
    hl7_writer_field(w, ctrl);    /* MSH-10 control id */
    hl7_writer_field(w, "P");     /* MSH-11 production */
    hl7_writer_field(w, "2.5.1"); /* MSH-12 */
}

/* The plain text of a raw value, NUL-terminated in a; NULL when empty. */
static const char *hl7_text(strv raw, const hl7_delims *d, arena *a)
{
    strv v;
    if (raw.n == 0 || hl7_decode(raw, d, a, &v) || v.n == 0)
        return NULL;
    return arena_strndup(a, v.p, v.n);
}

static void add_code(sim *s, order *ord, const char *code)
{
    if (!code)
        return;
    s->st->orders_received++;
    for (size_t i = 0; i < ord->ncodes; i++)
        if (!strcmp(ord->codes[i], code))
            return;
    if (ord->ncodes < SIM_TESTS_MAX)
        ord->codes[ord->ncodes++] = code;
    else
        log_warn("sim: more than %d tests pending for %s: %s not sent", SIM_TESTS_MAX,
                 ord->accession, code);
}

static char sex_of(const char *v)
{
    return v && (v[0] == 'F' || v[0] == 'M') ? v[0] : 'U';
}

/* RSP^K11 in s->reply: patient, specimen type and the pending tests. */
static void hl7_read_answer(sim *s, arena *a, order *ord)
{
    hl7_msg m;
    errinfo e;
    err_clear(&e);
    if (hl7_parse(s->reply.data, s->reply.len, a, &m, &e)) {
        log_warn("sim: unreadable answer to the query for %s: %s", ord->accession, e.message);
        return;
    }
    hl7_seg qak = hl7_segment(&m, hl7_find(&m, "QAK", 0));
    strv status = hl7_field(&qak, 2);
    if (!strv_eq(status, "OK")) {
        if (strv_eq(status, "NF"))
            s->st->queries_not_found++;
        else
            log_warn("sim: answer to the query for %s with QAK-2 '%.*s'", ord->accession,
                     (int)(status.n > 8 ? 8 : status.n), status.p ? status.p : "");
        return;
    }
    hl7_seg pid = hl7_segment(&m, hl7_find(&m, "PID", 0));
    hl7_seg spm = hl7_segment(&m, hl7_find(&m, "SPM", 0));
    ord->mrn = hl7_text(hl7_get(&pid, 3, 1, 1, 0), &m.delims, a);
    ord->sex = sex_of(hl7_text(hl7_get(&pid, 8, 1, 1, 0), &m.delims, a));
    ord->type = hl7_text(hl7_get(&spm, 4, 1, 1, 0), &m.delims, a);
    if (!ord->type)
        ord->type = hl7_text(hl7_get(&spm, 4, 1, 2, 0), &m.delims, a);
    for (size_t i = hl7_find(&m, "OBR", 0); i < hl7_segment_count(&m);
         i = hl7_find(&m, "OBR", i + 1)) {
        hl7_seg obr = hl7_segment(&m, i);
        add_code(s, ord, hl7_text(hl7_get(&obr, 4, 1, 1, 0), &m.delims, a));
    }
    if (ord->ncodes == 0)
        s->st->queries_not_found++;
}

static err_t hl7_query(sim *s, arena *a, order *ord, errinfo *ei)
{
    char ctrl[ID_LEN + 1], tag[ID_LEN + 1], ts[HL7_TS_LEN];
    buf m = BUF_INIT;
    hl7_writer w;
    outcome r;
    id_new(ctrl);
    id_new(tag);
    hl7_ts_format(time_now_us(), ts);
    hl7_writer_init(&w, &m);
    msh(&w, s->sender, ts, "QBP", "Q11", "QBP_Q11", ctrl);
    hl7_writer_segment(&w, "QPD");
    hl7_writer_field(&w, "WOS"); /* QPD-1 message query name */
    hl7_writer_component(&w, "Work Order Step");
    hl7_writer_component(&w, "IHE_LABTF");
    hl7_writer_field(&w, tag);            /* QPD-2 query tag */
    hl7_writer_field(&w, ord->accession); /* QPD-3 the specimen */
    hl7_writer_segment(&w, "RCP");
    hl7_writer_field(&w, "I"); /* RCP-1 immediate */
    hl7_writer_field(&w, NULL);
    hl7_writer_field(&w, "R"); /* RCP-3 real time */
    err_t rc = hl7_writer_end(&w);
    if (rc) {
        rc = err_set(ei, rc, NULL, NULL);
        goto done;
    }
    s->st->queries++;
    rc = hl7_exchange(s, &m, ctrl, false, &r, ei);
    if (!rc && r == OUT_ACKED)
        hl7_read_answer(s, a, ord);
done:
    buf_free(&m);
    return rc;
}

/* One results message for ord: tests[0..n) with vals. */
static err_t hl7_results(sim *s, const order *ord, const sim_test *const *tests,
                         const sim_value *vals, size_t n, buf *out, char ctrl[ID_LEN + 1])
{
    hl7_writer w;
    char ts[HL7_TS_LEN], num[24], range[48];
    bool oru = s->o->hl7_message == SIM_ORU_R01;
    id_new(ctrl);
    hl7_ts_format(time_now_us(), ts);
    hl7_writer_init(&w, out);
    if (oru)
        msh(&w, s->sender, ts, "ORU", "R01", "ORU_R01", ctrl);
    else
        msh(&w, s->sender, ts, "OUL", "R22", "OUL_R22", ctrl);
    hl7_writer_segment(&w, "PID");
    hl7_writer_field(&w, "1");
    if (ord->mrn) {
        hl7_writer_field_at(&w, 3, ord->mrn); /* PID-3 mrn^^^^MR */
        hl7_writer_component(&w, NULL);
        hl7_writer_component(&w, NULL);
        hl7_writer_component(&w, NULL);
        hl7_writer_component(&w, "MR");
    }
    if (!oru) {
        hl7_writer_segment(&w, "SPM");
        hl7_writer_field(&w, "1");
        hl7_writer_field(&w, ord->accession);                                        /* SPM-2 */
        hl7_writer_field_at(&w, 4, ord->type ? ord->type : tests[0]->specimen_type); /* SPM-4 */
    }
    hl7_writer_segment(&w, "OBR");
    hl7_writer_field(&w, "1");
    hl7_writer_field(&w, ord->accession); /* OBR-2 placer order number */
    if (oru)
        hl7_writer_field(&w, ord->accession); /* OBR-3 filler order number */
    for (size_t i = 0; i < n; i++) {
        const sim_test *t = tests[i];
        snprintf(num, sizeof num, "%zu", i + 1);
        sim_range_text(t, ord->sex, false, range, sizeof range);
        hl7_writer_segment(&w, "OBX");
        hl7_writer_field(&w, num);                                  /* OBX-1 */
        hl7_writer_field(&w, t->kind == SIM_NUMERIC ? "NM" : "ST"); /* OBX-2 */
        hl7_writer_field(&w, t->code);                              /* OBX-3 */
        hl7_writer_component(&w, t->name);
        hl7_writer_component(&w, "L");
        hl7_writer_field_at(&w, 5, vals[i].text); /* OBX-5 */
        hl7_writer_field(&w, t->unit);            /* OBX-6 */
        hl7_writer_field(&w, range);              /* OBX-7 */
        hl7_writer_field(&w, vals[i].flag);       /* OBX-8 */
        hl7_writer_field_at(&w, 11, "F");         /* OBX-11 final */
        hl7_writer_field_at(&w, 14, ts);          /* OBX-14 observation time */
    }
    return hl7_writer_end(&w);
}

/* ------------------------------------------------------------------------ */
/* ASTM exchanges. */

/* A frame is about to go out: count it, inject what is asked, write it. */
static void write_frame(sim *s, strv frame)
{
    bool again = s->retransmit_next;
    s->retransmit_next = false;
    if (!again) {
        s->msg_frames++;
        if (s->drop_at && s->msg_frames == s->drop_at) {
            log_info("sim: connection dropped on purpose before frame %u of a message",
                     s->msg_frames);
            s->st->drops++;
            link_down(s);
            s->astm_out = OUT_DROPPED;
            return;
        }
        s->frames++;
        unsigned every = s->o->bad_checksum_every;
        /* STX FN text ETB|ETX C1 C2 CR LF, as e1381_frame_build() writes it */
        if (every && s->frames % every == 0 && frame.n >= 7 && frame.p[frame.n - 2] == '\r' &&
            frame.p[frame.n - 1] == '\n') {
            static const char hex[] = "0123456789ABCDEF";
            unsigned sum = e1381_checksum(frame.p + 1, frame.n - 5);
            unsigned bad = (sum + 1) & 0xFF;
            buf_reset(&s->scratch);
            if (buf_append(&s->scratch, frame.p, frame.n)) {
                s->nomem = ERR_NOMEM;
                return;
            }
            s->scratch.data[frame.n - 4] = hex[bad >> 4];
            s->scratch.data[frame.n - 3] = hex[bad & 15];
            s->st->checksum_faults_injected++;
            link_write(s, s->scratch.data, s->scratch.len);
            s->last_frame_at = time_mono_us();
            return;
        }
    }
    link_write(s, frame.p, frame.n);
    s->last_frame_at = time_mono_us();
}

static void run_actions(sim *s, const e1381_actions *acts)
{
    for (size_t i = 0; i < acts->n && s->up; i++) {
        const e1381_action *a = &acts->v[i];
        switch (a->kind) {
        case E1381_WRITE:
            if (a->data.n && a->data.p[0] == E1381_STX)
                write_frame(s, a->data);
            else
                link_write(s, a->data.p, a->data.n);
            break;
        case E1381_TIMER_START:
            s->timer_at = time_mono_us() + a->ms * 1000;
            break;
        case E1381_TIMER_STOP:
            s->timer_at = 0;
            break;
        case E1381_MESSAGE:
            if (s->awaiting_answer && !s->have_answer) {
                buf_reset(&s->answer);
                if (buf_append(&s->answer, a->data.p, a->data.n))
                    s->nomem = ERR_NOMEM;
                else
                    s->have_answer = true;
            } else {
                log_info("sim: ASTM message from the host that answers nothing awaited: ignored");
            }
            break;
        case E1381_SENT:
            s->astm_out = OUT_ACKED;
            if (s->sample_latency)
                add_latency(s, time_mono_us() - s->last_frame_at);
            break;
        case E1381_SEND_FAILED:
            s->astm_out = a->err == ERR_TIMEOUT ? OUT_TIMEOUT : OUT_REFUSED;
            log_warn("sim: ASTM message not delivered: %s", a->detail);
            break;
        case E1381_FAULT:
            log_info("sim: E1381: %s", a->detail);
            break;
        case E1381_HOLD:
            break; /* the simulator's receiver does not hold replies */
        }
    }
}

/* End a transmission under way (the run is stopping): EOT, neutral line. */
static void astm_abandon(sim *s)
{
    e1381_state st = e1381_get_state(&s->link);
    if (s->up && (st == E1381_ENQ_SENT || st == E1381_FRAME_SENT)) {
        unsigned char eot = E1381_EOT;
        link_write(s, &eot, 1);
    }
    e1381_reset(&s->link);
    s->timer_at = 0;
}

/* Records in an ASTM message text (each ended by CR). */
static unsigned record_count(const buf *text)
{
    unsigned n = 0;
    for (size_t i = 0; i < text->len; i++)
        n += text->data[i] == '\r';
    return n;
}

/*
 * Send one ASTM message; with want_answer wait for the host's answer
 * message too (left in s->answer). On a lost connection reconnect and send
 * it again. Returns ERR_OK with *res, or the error that ends the run.
 */
static err_t astm_exchange(sim *s, const buf *text, bool result, bool want_answer, outcome *res,
                           errinfo *ei)
{
    bool drop = next_drops(s);
    err_t rc = ERR_OK;
    *res = OUT_TIMEOUT;
    s->awaiting_answer = want_answer;
    s->have_answer = false;
    for (int attempt = 0; attempt < ATTEMPTS && !s->nomem; attempt++) {
        if (!s->up) {
            rc = link_connect(s, ei);
            if (rc || !s->up)
                break;
        }
        e1381_actions acts;
        s->astm_out = OUT_NONE;
        s->msg_frames = 0;
        s->drop_at = drop && attempt == 0 ? record_count(text) / 2 + 1 : 0;
        s->sample_latency = result;
        s->retransmit_next = false;
        rc = e1381_send(&s->link, text->data, text->len, &acts);
        if (rc) {
            rc = err_set(ei, rc, NULL, "an ASTM message could not be sent: %s", err_message(rc));
            break;
        }
        run_actions(s, &acts);
        /* The state machine's timers end every exchange (a busy host may
         * make it bid seven times, 25 s apart); this only bounds a host that
         * keeps the line to itself. */
        int64_t deadline = time_mono_us() + 300 * 1000000LL;
        while (s->up && s->astm_out == OUT_NONE && !s->nomem) {
            int64_t d = bounded(s, deadline);
            if (time_mono_us() >= d)
                break;
            io_once(s, d);
        }
        if (s->astm_out == OUT_DROPPED)
            continue;
        if (s->astm_out == OUT_NONE) {
            if (!s->up)
                continue; /* lost: send it again */
            astm_abandon(s);
            break;
        }
        *res = s->astm_out;
        break;
    }
    if (!rc && want_answer && *res == OUT_ACKED) {
        int64_t deadline = time_mono_us() + s->reply_timeout_us;
        while (s->up && !s->have_answer && !s->nomem) {
            int64_t d = bounded(s, deadline);
            if (time_mono_us() >= d)
                break;
            io_once(s, d);
        }
        if (!s->have_answer) {
            log_warn("sim: no answer to the query within %g s", (double)s->reply_timeout_us / 1e6);
            *res = OUT_TIMEOUT;
        }
    }
    s->awaiting_answer = false;
    account(s, *res);
    if (!rc && s->nomem)
        rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    return rc;
}

/* H|\^&|||<sender>^1.0|||||||P|LIS2-A2|<ts> */
static void astm_header(astm_writer *w, const char *sender, const char *ts)
{
    astm_write_begin(w, 'H');
    astm_write_component(w, 5, 1, (strv){sender, strlen(sender)});
    astm_write_component(w, 5, 2, STRV("1.0"));
    astm_write_text(w, 12, STRV("P"));
    astm_write_text(w, 13, STRV("LIS2-A2"));
    astm_write_text(w, 14, (strv){ts, strlen(ts)});
    astm_write_end(w);
}

static void astm_ts(char out[HL7_TS_LEN])
{
    hl7_ts_format(time_now_us(), out);
    out[14] = '\0'; /* YYYYMMDDHHMMSS */
}

/* A value of r, plain, trimmed, NUL-terminated in a; NULL when empty. */
static const char *astm_text(const astm_record *r, size_t n, size_t rep, size_t comp, arena *a)
{
    strv v;
    if (astm_get(r, n, rep, comp, a, &v))
        return NULL;
    v = astm_trim(v);
    return v.n ? arena_strndup(a, v.p, v.n) : NULL;
}

/* The host's answer in s->answer: patient, specimen type, pending tests. */
static void astm_read_answer(sim *s, arena *a, order *ord)
{
    astm_message m;
    errinfo e;
    bool nothing = false;
    err_clear(&e);
    if (astm_parse_message(s->answer.data, s->answer.len, a, &m, &e)) {
        log_warn("sim: unreadable answer to the query for %s: %s", ord->accession, e.message);
        return;
    }
    for (size_t i = 0; i < m.nrecords; i++) {
        const astm_record *r = astm_record_at(&m, i);
        if (r->type == 'P') {
            ord->mrn = astm_text(r, 4, 0, 0, a);
            ord->sex = sex_of(astm_text(r, 9, 0, 0, a));
        } else if (r->type == 'O') {
            const char *acc = astm_text(r, 3, 0, 0, a);
            if (!acc || strcmp(acc, ord->accession)) {
                log_warn("sim: the answer for %s holds an order for another specimen: ignored",
                         ord->accession);
                continue;
            }
            for (size_t rep = 1; rep <= astm_repeat_count(r, 5); rep++)
                add_code(s, ord, astm_text(r, 5, rep, 4, a));
            const char *type = astm_text(r, 16, 0, 0, a);
            if (type)
                ord->type = type;
        } else if (r->type == 'L') {
            const char *code = astm_text(r, 3, 0, 0, a);
            nothing = code && !strcmp(code, "I");
        }
    }
    if (ord->ncodes == 0 || nothing) {
        ord->ncodes = 0;
        s->st->queries_not_found++;
    }
}

static err_t astm_query(sim *s, arena *a, order *ord, errinfo *ei)
{
    char ts[HL7_TS_LEN];
    buf m = BUF_INIT;
    astm_writer w;
    outcome r;
    astm_ts(ts);
    astm_writer_init(&w, &m, NULL);
    astm_header(&w, s->sender, ts);
    astm_write_begin(&w, 'Q');
    astm_write_uint(&w, 2, 1);
    astm_write_component(&w, 3, 2, (strv){ord->accession, strlen(ord->accession)});
    astm_write_text(&w, 5, STRV("ALL"));
    astm_write_text(&w, 13, STRV("O")); /* orders */
    astm_write_end(&w);
    astm_write_terminator(&w, 'N');
    err_t rc = astm_writer_error(&w);
    if (rc) {
        rc = err_set(ei, rc, NULL, NULL);
        goto done;
    }
    s->st->queries++;
    rc = astm_exchange(s, &m, false, true, &r, ei);
    if (!rc && r == OUT_ACKED)
        astm_read_answer(s, a, ord);
done:
    buf_free(&m);
    return rc;
}

static strv sv(const char *p)
{
    return (strv){p ? p : "", p ? strlen(p) : 0};
}

static err_t astm_results(sim *s, const order *ord, const sim_test *const *tests,
                          const sim_value *vals, size_t n, buf *out)
{
    astm_writer w;
    char ts[HL7_TS_LEN], range[48];
    astm_ts(ts);
    astm_writer_init(&w, out, NULL);
    astm_header(&w, s->sender, ts);
    astm_write_begin(&w, 'P');
    astm_write_uint(&w, 2, 1);
    if (ord->mrn)
        astm_write_text(&w, 4, sv(ord->mrn));
    astm_write_begin(&w, 'O');
    astm_write_uint(&w, 2, 1);
    astm_write_text(&w, 3, sv(ord->accession));
    for (size_t i = 0; i < n; i++) {
        if (i)
            astm_write_repeat(&w);
        astm_write_component(&w, 5, 4, sv(tests[i]->code));
    }
    for (size_t i = 0; i < n; i++) {
        const sim_test *t = tests[i];
        sim_range_text(t, ord->sex, true, range, sizeof range);
        astm_write_begin(&w, 'R');
        astm_write_uint(&w, 2, (unsigned)(i + 1));
        astm_write_component(&w, 3, 4, sv(t->code));
        astm_write_text(&w, 4, sv(vals[i].text));
        if (t->unit)
            astm_write_text(&w, 5, sv(t->unit));
        astm_write_text(&w, 6, sv(range));
        astm_write_text(&w, 7, sv(vals[i].flag));
        astm_write_text(&w, 9, STRV("F"));
        astm_write_text(&w, 13, sv(ts));
        if (vals[i].critical) {
            astm_write_begin(&w, 'C');
            astm_write_uint(&w, 2, 1);
            astm_write_text(&w, 3, STRV("I"));
            astm_write_text(&w, 4, STRV("simulated critical value"));
            astm_write_text(&w, 5, STRV("G"));
        }
    }
    astm_write_end(&w);
    astm_write_terminator(&w, 'N');
    return astm_writer_error(&w);
}

/* ------------------------------------------------------------------------ */
/* One specimen. */

static err_t send_results(sim *s, const order *ord, errinfo *ei)
{
    const sim_test *tests[SIM_TESTS_MAX];
    sim_value vals[SIM_TESTS_MAX];
    size_t n = 0, critical = 0;
    for (size_t i = 0; i < ord->ncodes; i++) {
        const sim_test *t = sim_test_find(ord->codes[i]);
        if (!t) {
            s->st->unknown_tests++;
            log_warn("sim: test %s pending for %s has no simulated values: not sent", ord->codes[i],
                     ord->accession);
            continue;
        }
        s->results++;
        if (s->o->critical_every && s->results % s->o->critical_every == 0)
            s->critical_due = true;
        bool crit = s->critical_due && (!isnan(t->critical.low) || !isnan(t->critical.high));
        sim_value_make(t, ord->sex, crit, &s->rng, &vals[n]);
        if (crit)
            s->critical_due = false;
        critical += vals[n].critical;
        tests[n++] = t;
    }
    if (n == 0)
        return ERR_OK;
    buf m = BUF_INIT;
    char ctrl[ID_LEN + 1];
    outcome r;
    err_t rc = s->o->protocol == SIM_HL7 ? hl7_results(s, ord, tests, vals, n, &m, ctrl)
                                         : astm_results(s, ord, tests, vals, n, &m);
    if (rc) {
        rc = err_set(ei, rc, NULL, NULL);
        goto done;
    }
    s->st->result_messages++;
    s->st->results_sent += n;
    s->st->critical_injected += critical;
    rc = s->o->protocol == SIM_HL7 ? hl7_exchange(s, &m, ctrl, true, &r, ei)
                                   : astm_exchange(s, &m, true, false, &r, ei);
done:
    buf_free(&m);
    return rc;
}

static err_t step(sim *s, const char *accession, errinfo *ei)
{
    arena a;
    order ord;
    err_t rc = ERR_OK;
    memset(&ord, 0, sizeof ord);
    ord.accession = accession;
    ord.sex = 'U';
    arena_init(&a, 0);
    if (s->o->ntests == 0) {
        rc = s->o->protocol == SIM_HL7 ? hl7_query(s, &a, &ord, ei) : astm_query(s, &a, &ord, ei);
    } else {
        for (size_t i = 0; i < s->o->ntests; i++)
            ord.codes[ord.ncodes++] = s->o->tests[i];
    }
    if (!rc && ord.ncodes > 0)
        rc = send_results(s, &ord, ei);
    arena_free(&a);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The run. */

static err_t add_specimen(sim *s, const char *acc, size_t *cap)
{
    if (s->nspecs == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        const char **v = realloc(s->specs, ncap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        s->specs = v;
        *cap = ncap;
    }
    s->specs[s->nspecs++] = acc;
    return ERR_OK;
}

/* The accessions: the options', then the file's (one a line; blank lines and
 * lines beginning with # are skipped; spaces around an accession are not
 * part of it). */
static err_t load_specimens(sim *s, errinfo *ei)
{
    const sim_opts *o = s->o;
    size_t cap = 0;
    err_t rc = ERR_OK;
    for (size_t i = 0; !rc && i < o->nspecimens; i++)
        rc = add_specimen(s, o->specimens[i], &cap);
    if (rc || !o->specimens_file)
        return rc ? err_set(ei, rc, NULL, NULL) : ERR_OK;
    FILE *f = fopen(o->specimens_file, "r");
    if (!f)
        return err_set(ei, ERR_IO, "--specimens", "%s: %s", o->specimens_file, strerror(errno));
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t len;
    while (!rc && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        char *p = line, *end = line + len;
        while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        *end = '\0';
        if (p == end || *p == '#')
            continue;
        if (!name_ok(p)) {
            rc = err_set(ei, ERR_INVALID, "--specimens",
                         "%s line %zu: an accession has 1 to %d characters and no control "
                         "characters",
                         o->specimens_file, lineno, SIM_NAME_MAX);
            break;
        }
        if (s->nspecs >= SIM_SPECIMENS_MAX) {
            rc = err_set(ei, ERR_INVALID, "--specimens", "%s: more than %d accessions",
                         o->specimens_file, SIM_SPECIMENS_MAX);
            break;
        }
        char *copy = arena_strdup(&s->run, p);
        rc = copy ? add_specimen(s, copy, &cap) : ERR_NOMEM;
        if (rc == ERR_NOMEM)
            err_set(ei, rc, NULL, NULL);
    }
    if (!rc && ferror(f))
        rc = err_set(ei, ERR_IO, "--specimens", "%s: %s", o->specimens_file, strerror(errno));
    free(line);
    fclose(f);
    if (!rc && s->nspecs == 0)
        rc = err_set(ei, ERR_USAGE, "--specimens", "%s holds no accession", o->specimens_file);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double percentile(const double *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return v[rank ? rank - 1 : 0];
}

err_t sim_run(const sim_opts *o, sim_stats *st, volatile int *stop, errinfo *ei)
{
    sim s;
    memset(st, 0, sizeof *st);
    st->protocol = o->protocol;
    err_t rc = sim_check(o, ei);
    if (rc)
        return rc;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.st = st;
    s.stop = stop;
    s.fd = -1;
    arena_init(&s.run, 0);
    mllp_decoder_init(&s.dec, 0);
    e1381_init(&s.link, &(e1381_config){.role = E1381_INSTRUMENT});
    st->seed = o->seeded ? o->seed : (uint64_t)time_now_us() ^ ((uint64_t)getpid() << 32);
    sim_rng_seed(&s.rng, st->seed);
    sim_rng_seed(&s.lat_rng, st->seed ^ 0x5A5A5A5A5A5A5A5AULL);
    s.sender = o->sender ? o->sender : o->protocol == SIM_HL7 ? "SIM-HL7" : "SIM-ASTM";
    snprintf(s.host, sizeof s.host, "%s", o->host ? o->host : "127.0.0.1");
    snprintf(s.port, sizeof s.port, "%u", o->port ? o->port : o->protocol == SIM_HL7 ? 2575 : 5000);
    s.connect_timeout_us = (o->connect_timeout_ms ? o->connect_timeout_ms
                            : o->pty              ? 60000
                                                  : 10000) *
                           1000;
    s.reply_timeout_us = (o->reply_timeout_ms ? o->reply_timeout_ms : 30000) * 1000;
    int64_t started = time_mono_us();

    rc = load_specimens(&s, ei);
    if (!rc && o->pty)
        rc = pty_open(&s, ei);
    if (!rc)
        rc = link_connect(&s, ei);
    if (rc)
        goto done;

    uint64_t total = o->until_stopped ? UINT64_MAX : o->count ? o->count : s.nspecs;
    int64_t interval = (int64_t)(1e6 / (o->rate > 0 ? o->rate : 1.0));
    int64_t t0 = time_mono_us();
    for (uint64_t i = 0; i < total && !stopping(&s); i++) {
        if (i > 0) {
            int64_t due = t0 + (int64_t)i * interval, now = time_mono_us();
            if (now - due > 1000000) /* more than a second behind: no burst to catch up */
                t0 = now - (int64_t)i * interval;
            else
                idle_until(&s, due);
            if (stopping(&s))
                break;
        }
        rc = step(&s, s.specs[i % s.nspecs], ei);
        if (rc)
            break;
    }

done:
    if (o->protocol == SIM_ASTM)
        astm_abandon(&s);
    link_finish(&s);
    if (!rc && s.nomem)
        rc = err_set(ei, ERR_NOMEM, NULL, NULL);
    if (s.nlat) {
        qsort(s.lat, s.nlat, sizeof *s.lat, cmp_double);
        st->latency_p50_ms = percentile(s.lat, s.nlat, 50);
        st->latency_p99_ms = percentile(s.lat, s.nlat, 99);
    }
    st->latency_samples = s.nlat;
    st->elapsed_s = (double)(time_mono_us() - started) / 1e6;
    free(s.lat);
    free(s.specs);
    buf_free(&s.reply);
    buf_free(&s.answer);
    buf_free(&s.scratch);
    mllp_decoder_free(&s.dec);
    e1381_free(&s.link);
    arena_free(&s.run);
    return rc;
}

bool sim_stats_ok(const sim_stats *st)
{
    return st->acknowledged == st->messages_sent;
}

err_t sim_stats_json(const sim_stats *st, buf *out)
{
    char p50[32] = "null", p99[32] = "null";
    if (st->latency_samples) {
        snprintf(p50, sizeof p50, "%.3f", st->latency_p50_ms);
        snprintf(p99, sizeof p99, "%.3f", st->latency_p99_ms);
    }
    return buf_printf(
        out,
        "{\"protocol\":\"%s\",\"messages_sent\":%llu,\"acknowledged\":%llu,\"refused\":%llu,"
        "\"unanswered\":%llu,\"queries\":%llu,\"queries_not_found\":%llu,"
        "\"orders_received\":%llu,\"result_messages\":%llu,\"results_sent\":%llu,"
        "\"critical_injected\":%llu,\"checksum_faults_injected\":%llu,\"naks\":%llu,"
        "\"drops\":%llu,\"reconnects\":%llu,\"unknown_tests\":%llu,"
        "\"ack_latency_ms\":{\"p50\":%s,\"p99\":%s,\"samples\":%zu},\"elapsed_s\":%.3f,"
        "\"seed\":%llu}",
        st->protocol == SIM_HL7 ? "hl7" : "astm", (unsigned long long)st->messages_sent,
        (unsigned long long)st->acknowledged, (unsigned long long)st->refused,
        (unsigned long long)st->unanswered, (unsigned long long)st->queries,
        (unsigned long long)st->queries_not_found, (unsigned long long)st->orders_received,
        (unsigned long long)st->result_messages, (unsigned long long)st->results_sent,
        (unsigned long long)st->critical_injected, (unsigned long long)st->checksum_faults_injected,
        (unsigned long long)st->naks, (unsigned long long)st->drops,
        (unsigned long long)st->reconnects, (unsigned long long)st->unknown_tests, p50, p99,
        st->latency_samples, st->elapsed_s, (unsigned long long)st->seed);
}
