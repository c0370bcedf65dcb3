/*
 * sigma.h - Sigma metrics: how many of the method's SDs fit between its bias
 * and the allowable total error, and the Westgard rules that suit it.
 *
 *   Sigma = (TEa% - |bias%|) / CV%
 *
 * TEa is the allowable total error. Unless a site sets its own per test, it
 * is the CLIA proficiency-testing acceptance limit (42 CFR 493, as revised in
 * 2024): a percentage of the target, or a fixed amount in the test's units,
 * whichever is larger at the control's concentration. The rule sets follow
 * the Westgard Sigma Rules:
 *
 *   Sigma >= 6      1-3s                        (2 controls a run)
 *   5 <= Sigma < 6  1-3s 2-2s R-4s              (2 controls a run)
 *   4 <= Sigma < 5  1-3s 2-2s R-4s 4-1s         (4 controls, or 2 in 2 runs)
 *   Sigma < 4       1-3s 2-2s R-4s 4-1s 8x      (the most QC the lab can run)
 *
 * Pure: no I/O, no database.
 */
#ifndef BENCHSIDE_QC_SIGMA_H
#define BENCHSIDE_QC_SIGMA_H

#include <stdbool.h>

/* A CLIA limit: pct percent of the target, or abs in the test's units,
 * whichever is larger; abs 0 when there is none. */
typedef struct qc_tea_limit {
    const char *code; /* catalog code of the demo catalog */
    double pct, abs;
} qc_tea_limit;

/* The CLIA limit for a catalog code, or NULL when CLIA sets none. */
const qc_tea_limit *qc_tea_clia(const char *code);

/* TEa as a percentage at the concentration target (> 0). */
double qc_tea_percent(const qc_tea_limit *l, double target);

/* Sigma from TEa%, bias% and CV% (cv > 0); negative when the bias alone
 * exceeds TEa. */
double qc_sigma(double tea_pct, double bias_pct, double cv_pct);

/* The rule set the Westgard Sigma Rules suggest ("1-3s,2-2s,R-4s"), and the
 * controls a run they call for ("2", "4 (or 2 in each of 2 runs)"). */
const char *qc_sigma_rules(double sigma);
const char *qc_sigma_controls(double sigma);

#endif
