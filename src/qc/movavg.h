/*
 * movavg.h - patient-based QC: a running average of the patient results of
 * one test on one instrument, judged against a target and limits of its own.
 * A shift of the instrument moves the average of its patients even when the
 * control material does not show it (a reagent or calibration change that
 * fresh blood feels and a stabilized control does not, or a shift too small
 * for the control's limits).
 *
 * Every method computes one point every `batch` results counted:
 *
 *   bull  Bull's algorithm, the XB of hematology analyzers (MCV, MCH, MCHC),
 *         on batches of N = batch results x_1 .. x_N:
 *
 *           S    = sum over j of sgn(x_j - XB(i-1)) * |x_j - XB(i-1)|^(1/2)
 *           XB(i) = XB(i-1) + sgn(S) * (S / N)^2
 *
 *         The square root shrinks the pull of outlying patients; squaring the
 *         mean of the roots brings the step back to the units of the test.
 *         XB(0) is the target. Bull BS, Elashoff RM, Heilbron DC, Couperus J.
 *         A study of various estimators for the derivation of quality control
 *         procedures from patient erythrocyte indices. Am J Clin Pathol
 *         1974;61:473-481 (N = 20, limits +/-3% of the target). The formula
 *         is checked against the worked example in the Sysmex SF-3000
 *         Operator's Manual (1995), "X-M Control", p. 6-50: XB(i-1) = 90 and
 *         the batch 92, 84, 84, 95, 88 give S = -2.66 and XB(i) = 89.72.
 *
 *   ewma  the exponentially weighted moving average, updated at every result:
 *           E(k) = lambda * x_k + (1 - lambda) * E(k-1),  E(0) = target;
 *         the point is E after every batch-th result (batch 1: every result).
 *
 *   mean  the plain mean of each batch of N results.
 *
 * (Moving average, EWMA and Bull's algorithm side by side: Lukic V,
 * Ignjatovic S. Optimizing moving average control procedures for
 * small-volume laboratories: can it be done? Biochem Med 2019;29(3):030710.)
 *
 * Results below truncate_low or above truncate_high (when set; the bounds
 * themselves are in) are left out: they count toward no batch.
 *
 * A point is out of limits when it is further from the target than the
 * limit: limit percent of |target|, or limit in the test's units. A point
 * exactly on a limit is in; the comparison allows 1e-9 of the limit, so that
 * decimal inputs stay exact (90 * 1.03 is on a 3% limit around 90).
 *
 * Pure: no I/O, no database, no allocation.
 */
#ifndef BENCHSIDE_QC_MOVAVG_H
#define BENCHSIDE_QC_MOVAVG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define QC_MOVAVG_BATCH_MAX      500
#define QC_MOVAVG_BULL_BATCH_MIN 10 /* Bull's smoothing needs a real batch */
#define QC_MOVAVG_BATCH_DEFAULT  20

typedef enum {
    QC_MOVAVG_BULL,
    QC_MOVAVG_EWMA,
    QC_MOVAVG_MEAN,
} qc_movavg_method;

typedef struct qc_movavg_config {
    qc_movavg_method method;
    int batch;          /* results a point; 1..QC_MOVAVG_BATCH_MAX (bull: 10 and more) */
    double lambda;      /* ewma: the weight of the newest result, in (0, 1] */
    double target;      /* where the average should be */
    double limit;       /* > 0: the half-width of the band around the target */
    bool limit_percent; /* limit is a percentage of |target| (then below 100) */
    bool has_low, has_high;
    double truncate_low, truncate_high; /* results outside are left out */
} qc_movavg_config;

/* The running state: small enough to live in one row of the database. */
typedef struct qc_movavg_state {
    double value; /* bull: XB(i-1); ewma: E; mean: the last batch's mean */
    double acc;   /* bull: S of the batch so far; mean: the sum of its results */
    int pending;  /* results counted in the batch so far, 0..batch-1 */
} qc_movavg_state;

/* A computed point. */
typedef struct qc_movavg_point {
    double value;     /* XB(i), E or the batch mean */
    double low, high; /* the limits it was judged against */
    int n;            /* results in it (the batch) */
    bool out;         /* beyond a limit */
} qc_movavg_point;

typedef enum {
    QC_MOVAVG_LEFT_OUT, /* outside the truncation limits (or not a number) */
    QC_MOVAVG_COUNTED,  /* counted; the batch is not complete */
    QC_MOVAVG_POINT,    /* counted, and it completed a point */
} qc_movavg_outcome;

/* "bull", "ewma", "mean" (exactly, lower case). */
bool qc_movavg_method_parse(const char *s, qc_movavg_method *out);
const char *qc_movavg_method_name(qc_movavg_method m);

/*
 * Check a configuration. ERR_INVALID naming the field at fault ("batch",
 * "lambda", "target", "limit", "truncate_low", "truncate_high") with a
 * message for people. The target must lie within the truncation limits.
 */
err_t qc_movavg_check(const qc_movavg_config *c, errinfo *ei);

/* The state at the start, or after a restart: the average at the target. */
void qc_movavg_start(const qc_movavg_config *c, qc_movavg_state *s);

/*
 * Add one result x to the state s of configuration c (checked). When it
 * completes a point, *pt (may be NULL) receives it and the state moves on to
 * the next batch.
 */
qc_movavg_outcome qc_movavg_add(const qc_movavg_config *c, qc_movavg_state *s, double x,
                                qc_movavg_point *pt);

/* The limits around the target: [*low, *high]. */
void qc_movavg_limits(const qc_movavg_config *c, double *low, double *high);
/* Whether value is beyond a limit (on a limit is in). */
bool qc_movavg_out(const qc_movavg_config *c, double value);

/* One step of Bull's algorithm: XB(i) from XB(i-1) = prev and a batch x[0..n), n > 0. */
double qc_movavg_bull(double prev, const double *x, size_t n);

#endif
