/*
 * sigma.c - Sigma metrics (see sigma.h).
 */
#include "qc/sigma.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* CLIA acceptance limits for proficiency testing (42 CFR 493.927-493.941, in
 * force from 2025), for the tests of the demo catalog that CLIA regulates. */
static const qc_tea_limit clia[] = {
    {"ALB", 8, 0},    {"ALP", 20, 0},  {"ALT", 15, 6},    {"AST", 15, 6}, {"BUN", 9, 2},
    {"CA", 0, 1.0},   {"CHOL", 10, 0}, {"CL", 5, 0},      {"CO2", 20, 0}, {"CREA", 10, 0.2},
    {"GLU", 8, 6},    {"HBA1C", 8, 0}, {"HCT", 4, 0},     {"HDL", 20, 6}, {"HGB", 4, 0},
    {"INR", 15, 0},   {"K", 0, 0.3},   {"LDL", 20, 0},    {"NA", 0, 4},   {"PLT", 25, 0},
    {"PT", 15, 0},    {"RBC", 4, 0},   {"TBIL", 20, 0.4}, {"TP", 8, 0},   {"TRIG", 15, 0},
    {"TSH", 20, 0.2}, {"WBC", 10, 0},  {"FERR", 20, 0},
};

const qc_tea_limit *qc_tea_clia(const char *code)
{
    for (size_t i = 0; code && i < sizeof(clia) / sizeof(clia[0]); i++)
        if (!strcmp(clia[i].code, code) && (clia[i].pct > 0 || clia[i].abs > 0))
            return &clia[i];
    return NULL;
}

double qc_tea_percent(const qc_tea_limit *l, double target)
{
    double pct = l->pct;
    if (l->abs > 0 && target != 0) {
        double from_abs = l->abs / fabs(target) * 100.0;
        if (from_abs > pct)
            pct = from_abs;
    }
    return pct;
}

double qc_sigma(double tea_pct, double bias_pct, double cv_pct)
{
    return (tea_pct - fabs(bias_pct)) / cv_pct;
}

const char *qc_sigma_rules(double sigma)
{
    if (sigma >= 6)
        return "1-3s";
    if (sigma >= 5)
        return "1-3s,2-2s,R-4s";
    if (sigma >= 4)
        return "1-3s,2-2s,R-4s,4-1s";
    return "1-3s,2-2s,R-4s,4-1s,8x";
}

const char *qc_sigma_controls(double sigma)
{
    if (sigma >= 5)
        return "2";
    if (sigma >= 4)
        return "4 (or 2 in each of 2 runs)";
    return "4 in each of 2 runs, or as many as the laboratory can run";
}
