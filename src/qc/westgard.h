/*
 * westgard.h - the Westgard multirule engine: which control results break
 * which rules, and which results complete each violation.
 *
 * Pure: no I/O, no database, no clock. The only memory it takes is the growing
 * array of violations it hands back (qc_westgard_violations).
 *
 * Definitions, so that a supervisor can check a result by hand:
 *
 *   z         (value - mean) / sd of one point.
 *   beyond k  a point is beyond k SD above the mean when z > k, below when
 *             z < -k; a point exactly on the limit is not beyond it. To keep
 *             decimal inputs exact (mean 4.1, sd 0.3, value 4.7 is on +2 SD,
 *             not beyond it), the comparison allows 1e-9 SD: above means
 *             z > k + 1e-9, below means z < -(k + 1e-9).
 *   side      "the same side of the mean" is k = 0 in the above: z > 1e-9 is
 *             above, z < -1e-9 below; a point on the mean is on neither side
 *             and breaks a run of points on one side.
 *   order     the points are given in time order (times never decrease;
 *             points with equal times keep the order they are given in).
 *             "Consecutive" always means adjacent in one of the three
 *             sequences below, in that order.
 *
 * The sequences, at point i (each ends with i itself):
 *
 *   RUN(i)    within-run: the points of i's run block up to i. A run block is
 *             a stretch of adjacent points with the same run key; a run key
 *             seen again after another run starts a new block.
 *   LEVEL(i)  across-runs: every point of i's control level up to i, whatever
 *             run it belongs to (a level measured twice in one run counts
 *             twice).
 *   ALL(i)    across-levels: every point up to i, of every level.
 *
 * "The last k of" a sequence exists only when it holds at least k points (a
 * rule never fires on a partial window). A within-run window is used only
 * when its points are all of different levels (a repeat of one level is seen
 * in LEVEL). An across-levels window is used only when it holds at least two
 * levels (one level alone is exactly that level's across-runs window, which
 * is reported instead).
 *
 * The rules, evaluated at each point i in order. A violation is reported at
 * the point that completes it, and i is always one of its points; while a
 * pattern goes on (a long run on one side) it is reported again at each
 * further point, each time with its latest points.
 *
 *   1-2s     i beyond 2 SD. Warning only. Scope within-run, points [i].
 *   1-3s     i beyond 3 SD. Reject. Scope within-run, points [i].
 *   2-2s     the last 2 of RUN(i) (two levels of one run) beyond 2 SD on the
 *            same side; and the last 2 of LEVEL(i). Reject.
 *   R-4s     i beyond 2 SD, and for each other level that has a point in
 *            i's run block, its latest point there; those beyond 2 SD on the
 *            other side. Reject, within-run only (never across runs); the
 *            points are i and every such other-level point.
 *   4-1s     the last 4 of LEVEL(i), and the last 4 of ALL(i), all beyond
 *            1 SD on the same side. Reject.
 *   2of3-2s  i beyond 2 SD, and at least one other of the last 3 of RUN(i)
 *            (three levels of one run), or of the last 3 of LEVEL(i), beyond
 *            2 SD on the same side as i. Reject; the points are those of the
 *            three beyond 2 SD on that side (two or three).
 *   3-1s     the last 3 of LEVEL(i), and of ALL(i), beyond 1 SD on the same
 *            side. Reject.
 *   Nx       N = 6, 8, 9, 10, 12: the last N of LEVEL(i), and of ALL(i), on
 *            the same side of the mean. Reject.
 *
 * The rules are independent: the 1-2s warning does not gate the others.
 */
#ifndef BENCHSIDE_QC_WESTGARD_H
#define BENCHSIDE_QC_WESTGARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/str.h"

/* The rules, in the order violations at one point are reported. */
typedef enum {
    QC_WESTGARD_1_2S,
    QC_WESTGARD_1_3S,
    QC_WESTGARD_2_2S,
    QC_WESTGARD_R_4S,
    QC_WESTGARD_4_1S,
    QC_WESTGARD_2OF3_2S,
    QC_WESTGARD_3_1S,
    QC_WESTGARD_6X,
    QC_WESTGARD_8X,
    QC_WESTGARD_9X,
    QC_WESTGARD_10X,
    QC_WESTGARD_12X,
    QC_WESTGARD__COUNT
} qc_westgard_rule;

/* A rule set is a bit mask of rules. */
#define QC_WESTGARD_BIT(rule) (UINT32_C(1) << (rule))
#define QC_WESTGARD_ALL_RULES (QC_WESTGARD_BIT(QC_WESTGARD__COUNT) - 1)
/* 1-2s,1-3s,2-2s,R-4s,4-1s,10x: the classic multirule with its warning. */
#define QC_WESTGARD_DEFAULT_RULES                                                                  \
    (QC_WESTGARD_BIT(QC_WESTGARD_1_2S) | QC_WESTGARD_BIT(QC_WESTGARD_1_3S) |                       \
     QC_WESTGARD_BIT(QC_WESTGARD_2_2S) | QC_WESTGARD_BIT(QC_WESTGARD_R_4S) |                       \
     QC_WESTGARD_BIT(QC_WESTGARD_4_1S) | QC_WESTGARD_BIT(QC_WESTGARD_10X))

/* Which sequence a violation was found in (see above). */
typedef enum {
    QC_WESTGARD_WITHIN_RUN,
    QC_WESTGARD_ACROSS_RUNS,
    QC_WESTGARD_ACROSS_LEVELS,
} qc_westgard_scope;

/* Distinct control levels one evaluation accepts. */
#define QC_WESTGARD_LEVELS_MAX 16
/* Most points one violation lists (R-4s: one a level). */
#define QC_WESTGARD_POINTS_MAX QC_WESTGARD_LEVELS_MAX

/*
 * A run id or a control level: text, or when text.p is NULL the integer num.
 * Two keys are the same when both are text with the same bytes, or both are
 * integers with the same value; text "1" and the integer 1 are different
 * keys. The text is borrowed from the caller.
 */
typedef struct qc_westgard_key {
    strv text;
    int64_t num;
} qc_westgard_key;

#define QC_WESTGARD_KEY_NUM(v)    ((qc_westgard_key){{NULL, 0}, (v)})
#define QC_WESTGARD_KEY_TEXT(lit) ((qc_westgard_key){STRV(lit), 0})

/* One control result with the target it is judged against. */
typedef struct qc_westgard_point {
    int64_t time;          /* when it was measured, UTC microseconds */
    qc_westgard_key run;   /* the analytical run */
    qc_westgard_key level; /* the control level (material) */
    double value;          /* the result */
    double mean, sd;       /* the level's target mean and SD; sd > 0 */
} qc_westgard_point;

/* One broken rule. */
typedef struct qc_westgard_violation {
    qc_westgard_rule rule;
    qc_westgard_scope scope;
    bool reject; /* false: a warning (1-2s) */
    /* The level all its points share (borrowed from the input points), or
     * NULL when they are of several levels. */
    const qc_westgard_key *level;
    /* Indices into the input, in time order; the last is the point that
     * completed the violation. */
    size_t points[QC_WESTGARD_POINTS_MAX];
    size_t npoints;
} qc_westgard_violation;

/* Violations in the order found: by completing point, then rule (enum
 * order), then scope (enum order). Owned by the caller; free with
 * qc_westgard_violations_free(). */
typedef struct qc_westgard_violations {
    qc_westgard_violation *v;
    size_t n, cap;
} qc_westgard_violations;

#define QC_WESTGARD_VIOLATIONS_INIT                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void qc_westgard_violations_free(qc_westgard_violations *vs);

/* Canonical names: "1-2s", "2of3-2s", "R-4s", "10x"; "within-run",
 * "across-runs", "across-levels". Never NULL. */
const char *qc_westgard_rule_name(qc_westgard_rule rule);
const char *qc_westgard_scope_name(qc_westgard_scope scope);

/*
 * Parse a rule list such as "1-2s,1-3s,2-2s,R-4s,4-1s,2of3-2s,3-1s,6x,8x,9x,
 * 10x,12x" from s[0..n) into *rules. Names are matched ignoring case, and
 * each has two other spellings: 1-3s is also 13s and 1_3s, R-4s R4s and
 * R_4s, 2of3-2s 2of32s and 2of3_2s, 10x 10-x and 10_x. Spaces around a name
 * are ignored; a rule named twice is the same rule. An empty list, an empty
 * item or an unknown name is ERR_INVALID with field "rules" and the name in
 * the message; *rules is then untouched.
 */
err_t qc_westgard_rules_parse(const char *s, size_t n, uint32_t *rules, errinfo *ei);

/*
 * Check one point before it is evaluated: run and level present (a text key
 * must not be empty), value, mean and sd finite, sd > 0, and, when prev (the
 * point before it) is not NULL, a time not before prev's. Returns ERR_OK, or
 * ERR_INVALID with ei->field naming the member at fault ("time", "run",
 * "level", "value", "mean", "sd") and a message without the position (the
 * caller knows it).
 */
err_t qc_westgard_point_check(const qc_westgard_point *p, const qc_westgard_point *prev,
                              errinfo *ei);

/*
 * Evaluate rules (a mask of QC_WESTGARD_BIT) over pts[0..n), which must be
 * in time order. out is emptied first (its memory kept) and receives every
 * violation. The points are checked first with qc_westgard_point_check;
 * the first bad one gives ERR_INVALID with ei->line its 1-based position in
 * pts and ei->field the member at fault. More than QC_WESTGARD_LEVELS_MAX
 * distinct levels, or bits outside QC_WESTGARD_ALL_RULES, are ERR_INVALID
 * too. Returns ERR_NOMEM when out cannot grow. On any error out is empty.
 * The violations borrow pts (their level pointers) and live as long as it.
 */
err_t qc_westgard_eval(const qc_westgard_point *pts, size_t n, uint32_t rules,
                       qc_westgard_violations *out, errinfo *ei);

#endif
