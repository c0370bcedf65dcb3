/*
 * westgard.c - the Westgard multirule engine (see westgard.h for the exact
 * definitions it implements).
 *
 * The rules are rows of a table: how many points a window holds, how many of
 * them must be beyond which limit, in which scopes. One evaluator reads the
 * table; only R-4s, which pairs the levels of a run, has code of its own.
 * The engine walks the points once, keeping for each level the indices of its
 * latest points and the start of the current run block; every window is read
 * from those, so the time is linear in the points and the memory fixed.
 */
#include "qc/westgard.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"

/* Allowance on every limit, in SD: see "beyond k" in westgard.h. */
#define LIMIT_SLACK 1e-9

/* The longest window any rule reads (12x). */
#define WINDOW_MAX 12

enum rule_kind {
    KIND_ALL_BEYOND, /* every point of the window beyond limit, one side (need = window) */
    KIND_OF_WINDOW,  /* the newest and at least need-1 others beyond it, on its side */
    KIND_RANGE,      /* R-4s */
};

#define SCOPE_BIT(s) (1u << (s))
#define IN_RUN       SCOPE_BIT(QC_WESTGARD_WITHIN_RUN)
#define IN_LEVEL     SCOPE_BIT(QC_WESTGARD_ACROSS_RUNS)
#define IN_ALL       SCOPE_BIT(QC_WESTGARD_ACROSS_LEVELS)

static const struct rule_def {
    const char *name;
    const char *aliases[2]; /* other spellings accepted */
    enum rule_kind kind;
    int window;   /* points in the window */
    int need;     /* of them beyond the limit on one side */
    double limit; /* SD; 0 means "on one side of the mean" */
    bool reject;
    unsigned scopes;
} rule_defs[] = {
    [QC_WESTGARD_1_2S] = {"1-2s", {"12s", "1_2s"}, KIND_ALL_BEYOND, 1, 1, 2, false, IN_RUN},
    [QC_WESTGARD_1_3S] = {"1-3s", {"13s", "1_3s"}, KIND_ALL_BEYOND, 1, 1, 3, true, IN_RUN},
    [QC_WESTGARD_2_2S] =
        {"2-2s", {"22s", "2_2s"}, KIND_ALL_BEYOND, 2, 2, 2, true, IN_RUN | IN_LEVEL},
    [QC_WESTGARD_R_4S] = {"R-4s", {"R4s", "R_4s"}, KIND_RANGE, 2, 2, 2, true, IN_RUN},
    [QC_WESTGARD_4_1S] =
        {"4-1s", {"41s", "4_1s"}, KIND_ALL_BEYOND, 4, 4, 1, true, IN_LEVEL | IN_ALL},
    [QC_WESTGARD_2OF3_2S] =
        {"2of3-2s", {"2of32s", "2of3_2s"}, KIND_OF_WINDOW, 3, 2, 2, true, IN_RUN | IN_LEVEL},
    [QC_WESTGARD_3_1S] =
        {"3-1s", {"31s", "3_1s"}, KIND_ALL_BEYOND, 3, 3, 1, true, IN_LEVEL | IN_ALL},
    [QC_WESTGARD_6X] = {"6x", {"6-x", "6_x"}, KIND_ALL_BEYOND, 6, 6, 0, true, IN_LEVEL | IN_ALL},
    [QC_WESTGARD_8X] = {"8x", {"8-x", "8_x"}, KIND_ALL_BEYOND, 8, 8, 0, true, IN_LEVEL | IN_ALL},
    [QC_WESTGARD_9X] = {"9x", {"9-x", "9_x"}, KIND_ALL_BEYOND, 9, 9, 0, true, IN_LEVEL | IN_ALL},
    [QC_WESTGARD_10X] =
        {"10x", {"10-x", "10_x"}, KIND_ALL_BEYOND, 10, 10, 0, true, IN_LEVEL | IN_ALL},
    [QC_WESTGARD_12X] =
        {"12x", {"12-x", "12_x"}, KIND_ALL_BEYOND, 12, 12, 0, true, IN_LEVEL | IN_ALL},
};

_Static_assert(sizeof(rule_defs) / sizeof(rule_defs[0]) == QC_WESTGARD__COUNT, "one row per rule");
_Static_assert(WINDOW_MAX <= QC_WESTGARD_POINTS_MAX, "a window fits in a violation");
_Static_assert(QC_WESTGARD__COUNT <= 32, "a rule set fits in 32 bits");

static const char *const scope_names[] = {
    [QC_WESTGARD_WITHIN_RUN] = "within-run",
    [QC_WESTGARD_ACROSS_RUNS] = "across-runs",
    [QC_WESTGARD_ACROSS_LEVELS] = "across-levels",
};

const char *qc_westgard_rule_name(qc_westgard_rule rule)
{
    if ((unsigned)rule >= QC_WESTGARD__COUNT)
        return "unknown";
    return rule_defs[rule].name;
}

const char *qc_westgard_scope_name(qc_westgard_scope scope)
{
    if ((unsigned)scope > QC_WESTGARD_ACROSS_LEVELS)
        return "unknown";
    return scope_names[scope];
}

void qc_westgard_violations_free(qc_westgard_violations *vs)
{
    free(vs->v);
    vs->v = NULL;
    vs->n = vs->cap = 0;
}

/* --- Rule lists ------------------------------------------------------------ */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int rule_by_name(strv name)
{
    for (int r = 0; r < QC_WESTGARD__COUNT; r++) {
        if (strv_eq_nocase(name, rule_defs[r].name))
            return r;
        for (size_t a = 0; a < sizeof(rule_defs[r].aliases) / sizeof(rule_defs[r].aliases[0]); a++)
            if (strv_eq_nocase(name, rule_defs[r].aliases[a]))
                return r;
    }
    return -1;
}

err_t qc_westgard_rules_parse(const char *s, size_t n, uint32_t *rules, errinfo *ei)
{
    uint32_t mask = 0;
    size_t i = 0;
    bool blank = true;
    if (!s)
        n = 0;
    for (size_t k = 0; k < n && blank; k++)
        blank = is_space(s[k]);
    if (blank)
        return err_set(ei, ERR_INVALID, "rules", "no rules given (e.g. 1-3s,2-2s,R-4s)");
    while (i <= n) {
        size_t start = i, end;
        while (i < n && s[i] != ',')
            i++;
        end = i;
        while (start < end && is_space(s[start]))
            start++;
        while (end > start && is_space(s[end - 1]))
            end--;
        if (end == start)
            return err_set(ei, ERR_INVALID, "rules", "an empty rule name in the list");
        strv name = {s + start, end - start};
        int r = rule_by_name(name);
        if (r < 0)
            return err_set(ei, ERR_INVALID, "rules",
                           "unknown Westgard rule '%.*s' (known: 1-2s, 1-3s, 2-2s, R-4s, 4-1s, "
                           "2of3-2s, 3-1s, 6x, 8x, 9x, 10x, 12x)",
                           (int)(name.n > 40 ? 40 : name.n), name.p);
        mask |= QC_WESTGARD_BIT(r);
        i++; /* past the comma, or past the end */
    }
    *rules = mask;
    return ERR_OK;
}

/* --- Points ----------------------------------------------------------------- */

static bool key_eq(const qc_westgard_key *a, const qc_westgard_key *b)
{
    if (!a->text.p || !b->text.p)
        return !a->text.p && !b->text.p && a->num == b->num;
    return a->text.n == b->text.n && !memcmp(a->text.p, b->text.p, a->text.n);
}

err_t qc_westgard_point_check(const qc_westgard_point *p, const qc_westgard_point *prev,
                              errinfo *ei)
{
    if (prev && p->time < prev->time) {
        char at[TIME_ISO_LEN], before[TIME_ISO_LEN];
        time_format_iso(p->time, at);
        time_format_iso(prev->time, before);
        return err_set(ei, ERR_INVALID, "time",
                       "out of time order: %s is earlier than %s, the time of the point before", at,
                       before);
    }
    if (p->run.text.p && p->run.text.n == 0)
        return err_set(ei, ERR_INVALID, "run", "the run is empty");
    if (p->level.text.p && p->level.text.n == 0)
        return err_set(ei, ERR_INVALID, "level", "the level is empty");
    if (!isfinite(p->value))
        return err_set(ei, ERR_INVALID, "value", "the value is not a finite number");
    if (!isfinite(p->mean))
        return err_set(ei, ERR_INVALID, "mean", "the mean is not a finite number");
    if (!isfinite(p->sd))
        return err_set(ei, ERR_INVALID, "sd", "the SD is not a finite number");
    if (!(p->sd > 0))
        return err_set(ei, ERR_INVALID, "sd", "the SD must be greater than 0, got %g", p->sd);
    return ERR_OK;
}

static double z_of(const qc_westgard_point *p)
{
    return (p->value - p->mean) / p->sd;
}

/* +1 beyond limit above the mean, -1 below, 0 neither. */
static int side_of(const qc_westgard_point *p, double limit)
{
    double z = z_of(p);
    if (z > limit + LIMIT_SLACK)
        return 1;
    if (z < -(limit + LIMIT_SLACK))
        return -1;
    return 0;
}

/* --- Evaluation ------------------------------------------------------------- */

/* The latest points of one level, newest first. */
struct level_hist {
    const qc_westgard_key *key;
    size_t recent[WINDOW_MAX];
    size_t nrecent;
};

struct state {
    const qc_westgard_point *pts;
    struct level_hist levels[QC_WESTGARD_LEVELS_MAX];
    size_t nlevels;
    size_t run_start; /* first point of the current run block */
};

static int level_find(const struct state *st, const qc_westgard_key *key)
{
    for (size_t l = 0; l < st->nlevels; l++)
        if (key_eq(st->levels[l].key, key))
            return (int)l;
    return -1;
}

static err_t push(qc_westgard_violations *out, const qc_westgard_violation *v)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        if (cap > SIZE_MAX / sizeof(*out->v))
            return ERR_NOMEM;
        qc_westgard_violation *grown = realloc(out->v, cap * sizeof(*grown));
        if (!grown)
            return ERR_NOMEM;
        out->v = grown;
        out->cap = cap;
    }
    out->v[out->n++] = *v;
    return ERR_OK;
}

/* Report points w[0..n) (time order) as a violation of rule in scope. */
static err_t report(const struct state *st, qc_westgard_violations *out, int rule,
                    qc_westgard_scope scope, const size_t *w, size_t n)
{
    qc_westgard_violation v;
    if (n == 0 || n > QC_WESTGARD_POINTS_MAX) /* the table's windows make this impossible */
        return ERR_INTERNAL;
    memset(&v, 0, sizeof v);
    v.rule = (qc_westgard_rule)rule;
    v.scope = scope;
    v.reject = rule_defs[rule].reject;
    v.level = &st->pts[w[0]].level;
    for (size_t k = 0; k < n; k++) {
        v.points[k] = w[k];
        if (v.level && !key_eq(v.level, &st->pts[w[k]].level))
            v.level = NULL;
    }
    v.npoints = n;
    return push(out, &v);
}

/*
 * The last k points of point i's sequence in scope, oldest first, into w.
 * False when the sequence is shorter, or the window is not one the scope
 * uses (within-run: levels all different; across-levels: two levels or more).
 */
static bool window(const struct state *st, size_t i, int level, qc_westgard_scope scope, int k,
                   size_t *w)
{
    size_t n = (size_t)k;
    switch (scope) {
    case QC_WESTGARD_WITHIN_RUN:
        if (i + 1 - st->run_start < n)
            return false;
        for (size_t j = 0; j < n; j++)
            w[j] = i + 1 - n + j;
        for (size_t a = 0; a < n; a++)
            for (size_t b = a + 1; b < n; b++)
                if (key_eq(&st->pts[w[a]].level, &st->pts[w[b]].level))
                    return false;
        return true;
    case QC_WESTGARD_ACROSS_RUNS: {
        const struct level_hist *h = &st->levels[level];
        if (h->nrecent < n)
            return false;
        for (size_t j = 0; j < n; j++)
            w[j] = h->recent[n - 1 - j];
        return true;
    }
    case QC_WESTGARD_ACROSS_LEVELS:
        if (i + 1 < n)
            return false;
        for (size_t j = 0; j < n; j++)
            w[j] = i + 1 - n + j;
        for (size_t j = 1; j < n; j++)
            if (!key_eq(&st->pts[w[0]].level, &st->pts[w[j]].level))
                return true;
        return false;
    }
    return false;
}

/* A table rule in one scope at point i (the newest of the window). */
static err_t eval_window(const struct state *st, qc_westgard_violations *out, size_t i, int level,
                         int rule, qc_westgard_scope scope)
{
    const struct rule_def *d = &rule_defs[rule];
    size_t w[WINDOW_MAX], hit[WINDOW_MAX], nhit = 0;
    if (!window(st, i, level, scope, d->window, w))
        return ERR_OK;
    size_t n = (size_t)d->window;
    int side = side_of(&st->pts[i], d->limit);
    if (side == 0)
        return ERR_OK;
    for (size_t j = 0; j < n; j++)
        if (side_of(&st->pts[w[j]], d->limit) == side)
            hit[nhit++] = w[j];
    if (nhit < (size_t)d->need)
        return ERR_OK;
    return report(st, out, rule, scope, hit, nhit);
}

/* R-4s at point i: i beyond 2 SD one way, another level of its run the other. */
static err_t eval_range(const struct state *st, qc_westgard_violations *out, size_t i, int level,
                        int rule)
{
    const struct rule_def *d = &rule_defs[rule];
    size_t w[QC_WESTGARD_POINTS_MAX], n = 0;
    int side = side_of(&st->pts[i], d->limit);
    if (side == 0)
        return ERR_OK;
    for (size_t l = 0; l < st->nlevels; l++) {
        const struct level_hist *h = &st->levels[l];
        if ((int)l == level || h->nrecent == 0 || h->recent[0] < st->run_start)
            continue;
        if (side_of(&st->pts[h->recent[0]], d->limit) == -side)
            w[n++] = h->recent[0];
    }
    if (n == 0)
        return ERR_OK;
    /* time order: the other levels' points, then i (the newest) */
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && w[b - 1] > w[b]; b--) {
            size_t t = w[b];
            w[b] = w[b - 1];
            w[b - 1] = t;
        }
    w[n++] = i;
    return report(st, out, rule, QC_WESTGARD_WITHIN_RUN, w, n);
}

err_t qc_westgard_eval(const qc_westgard_point *pts, size_t n, uint32_t rules,
                       qc_westgard_violations *out, errinfo *ei)
{
    struct state st;
    err_t rc = ERR_OK;
    out->n = 0;
    if (rules & ~(uint32_t)QC_WESTGARD_ALL_RULES)
        return err_set(ei, ERR_INVALID, "rules", "unknown rule bits 0x%x",
                       (unsigned)(rules & ~(uint32_t)QC_WESTGARD_ALL_RULES));
    memset(&st, 0, sizeof st);
    st.pts = pts;

    /* Check everything before reporting anything. */
    for (size_t i = 0; i < n; i++) {
        rc = qc_westgard_point_check(&pts[i], i ? &pts[i - 1] : NULL, ei);
        if (!rc && level_find(&st, &pts[i].level) < 0) {
            if (st.nlevels == QC_WESTGARD_LEVELS_MAX)
                rc = err_set(ei, ERR_INVALID, "level", "more than %d control levels",
                             QC_WESTGARD_LEVELS_MAX);
            else
                st.levels[st.nlevels++].key = &pts[i].level;
        }
        if (rc) {
            if (ei)
                ei->line = i + 1 > (size_t)INT32_MAX ? 0 : (int)(i + 1);
            return rc;
        }
    }

    for (size_t i = 0; i < n && !rc; i++) {
        int level = level_find(&st, &pts[i].level);
        struct level_hist *h = &st.levels[level];
        memmove(h->recent + 1, h->recent, (WINDOW_MAX - 1) * sizeof(h->recent[0]));
        h->recent[0] = i;
        if (h->nrecent < WINDOW_MAX)
            h->nrecent++;
        if (i > 0 && !key_eq(&pts[i].run, &pts[i - 1].run))
            st.run_start = i;

        for (int r = 0; r < QC_WESTGARD__COUNT && !rc; r++) {
            if (!(rules & QC_WESTGARD_BIT(r)))
                continue;
            if (rule_defs[r].kind == KIND_RANGE) {
                rc = eval_range(&st, out, i, level, r);
                continue;
            }
            for (int s = QC_WESTGARD_WITHIN_RUN; s <= QC_WESTGARD_ACROSS_LEVELS && !rc; s++)
                if (rule_defs[r].scopes & SCOPE_BIT(s))
                    rc = eval_window(&st, out, i, level, r, (qc_westgard_scope)s);
        }
    }
    if (rc) {
        out->n = 0;
        return err_set(ei, rc, NULL, NULL);
    }
    return ERR_OK;
}
