/*
 * movavg.c - running averages of patient results and their limits (see
 * movavg.h for the formulas and their sources).
 */
#include "qc/movavg.h"

#include <math.h>
#include <string.h>

static const char *const method_names[] = {
    [QC_MOVAVG_BULL] = "bull",
    [QC_MOVAVG_EWMA] = "ewma",
    [QC_MOVAVG_MEAN] = "mean",
};

bool qc_movavg_method_parse(const char *s, qc_movavg_method *out)
{
    for (size_t i = 0; s && i < sizeof(method_names) / sizeof(method_names[0]); i++) {
        if (!strcmp(s, method_names[i])) {
            *out = (qc_movavg_method)i;
            return true;
        }
    }
    return false;
}

const char *qc_movavg_method_name(qc_movavg_method m)
{
    return (unsigned)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : "?";
}

err_t qc_movavg_check(const qc_movavg_config *c, errinfo *ei)
{
    const char *name = qc_movavg_method_name(c->method);
    int min = c->method == QC_MOVAVG_BULL ? QC_MOVAVG_BULL_BATCH_MIN : 1;
    if (c->batch < min || c->batch > QC_MOVAVG_BATCH_MAX)
        return err_set(ei, ERR_INVALID, "batch",
                       "batch must be a whole number from %d to %d for %s", min,
                       QC_MOVAVG_BATCH_MAX, name);
    if (c->method == QC_MOVAVG_EWMA && !(c->lambda > 0 && c->lambda <= 1))
        return err_set(ei, ERR_INVALID, "lambda",
                       "lambda (the weight of the newest result) must be greater than 0 and at "
                       "most 1");
    if (!isfinite(c->target))
        return err_set(ei, ERR_INVALID, "target", "target must be a number");
    if (!(c->limit > 0) || !isfinite(c->limit))
        return err_set(ei, ERR_INVALID, "limit", "limit must be greater than 0");
    if (c->limit_percent && !(c->limit < 100))
        return err_set(ei, ERR_INVALID, "limit", "a limit in percent must be below 100");
    if (c->limit_percent && c->target == 0)
        return err_set(ei, ERR_INVALID, "limit",
                       "a limit in percent of a target of 0 is no band: give it in the test's "
                       "units (absolute)");
    if (c->has_low && !isfinite(c->truncate_low))
        return err_set(ei, ERR_INVALID, "truncate_low", "truncate_low must be a number");
    if (c->has_high && !isfinite(c->truncate_high))
        return err_set(ei, ERR_INVALID, "truncate_high", "truncate_high must be a number");
    if (c->has_low && c->has_high && !(c->truncate_low < c->truncate_high))
        return err_set(ei, ERR_INVALID, "truncate_high",
                       "truncate_high must be above truncate_low");
    if (c->has_low && c->target < c->truncate_low)
        return err_set(ei, ERR_INVALID, "truncate_low",
                       "truncate_low leaves out the target itself: it must be at most %g",
                       c->target);
    if (c->has_high && c->target > c->truncate_high)
        return err_set(ei, ERR_INVALID, "truncate_high",
                       "truncate_high leaves out the target itself: it must be at least %g",
                       c->target);
    return ERR_OK;
}

void qc_movavg_start(const qc_movavg_config *c, qc_movavg_state *s)
{
    s->value = c->target;
    s->acc = 0;
    s->pending = 0;
}

static double half_width(const qc_movavg_config *c)
{
    return c->limit_percent ? fabs(c->target) * c->limit / 100.0 : c->limit;
}

void qc_movavg_limits(const qc_movavg_config *c, double *low, double *high)
{
    double w = half_width(c);
    *low = c->target - w;
    *high = c->target + w;
}

bool qc_movavg_out(const qc_movavg_config *c, double value)
{
    double w = half_width(c);
    return fabs(value - c->target) - w > 1e-9 * w;
}

/* sgn(d) * |d|^(1/2): one result's pull in Bull's sum. */
static double bull_term(double d)
{
    return d < 0 ? -sqrt(-d) : sqrt(d);
}

/* XB(i) from XB(i-1) and S, the sum of the terms of a batch of n. */
static double bull_step(double prev, double sum, int n)
{
    double m = sum / n;
    return sum < 0 ? prev - m * m : prev + m * m;
}

double qc_movavg_bull(double prev, const double *x, size_t n)
{
    double sum = 0;
    if (n == 0)
        return prev;
    for (size_t j = 0; j < n; j++)
        sum += bull_term(x[j] - prev);
    return bull_step(prev, sum, (int)n);
}

qc_movavg_outcome qc_movavg_add(const qc_movavg_config *c, qc_movavg_state *s, double x,
                                qc_movavg_point *pt)
{
    if (!isfinite(x) || (c->has_low && x < c->truncate_low) ||
        (c->has_high && x > c->truncate_high))
        return QC_MOVAVG_LEFT_OUT;
    switch (c->method) {
    case QC_MOVAVG_BULL:
        s->acc += bull_term(x - s->value);
        break;
    case QC_MOVAVG_EWMA:
        s->value = c->lambda * x + (1 - c->lambda) * s->value;
        break;
    case QC_MOVAVG_MEAN:
        s->acc += x;
        break;
    }
    if (++s->pending < c->batch)
        return QC_MOVAVG_COUNTED;
    if (c->method == QC_MOVAVG_BULL)
        s->value = bull_step(s->value, s->acc, s->pending);
    else if (c->method == QC_MOVAVG_MEAN)
        s->value = s->acc / s->pending;
    if (pt) {
        pt->value = s->value;
        qc_movavg_limits(c, &pt->low, &pt->high);
        pt->n = s->pending;
        pt->out = qc_movavg_out(c, s->value);
    }
    s->acc = 0;
    s->pending = 0;
    return QC_MOVAVG_POINT;
}
