/*
 * calc.c - the arithmetic of supplies, pure (see stock.h): exact quantities
 * in millionths of a unit, how much to reorder, and whether a lot was fit
 * for a measurement.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "stock/stock.h"

#define DAY_US (86400LL * 1000000LL)

err_t stock_qty_parse(const json_t *v, const char *field, bool zero_ok, int64_t *out, errinfo *ei)
{
    int64_t micro;
    if (!json_is_number(v))
        return err_set(ei, ERR_INVALID, field, "%s must be a number", field);
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < -STOCK_QTY_MAX || i > STOCK_QTY_MAX)
            return err_set(ei, ERR_INVALID, field, "%s must be at most %d", field, STOCK_QTY_MAX);
        micro = (int64_t)i * STOCK_QTY_SCALE;
    } else {
        double x = json_real_value(v);
        if (!isfinite(x) || fabs(x) > STOCK_QTY_MAX)
            return err_set(ei, ERR_INVALID, field, "%s must be at most %d", field, STOCK_QTY_MAX);
        double scaled = x * (double)STOCK_QTY_SCALE;
        double r = nearbyint(scaled);
        /* A decimal with six places is within binary rounding of a whole
         * number of millionths; anything further off has more places. */
        double tol = fmax(1e-3, fabs(scaled) * 1e-15);
        if (fabs(scaled - r) > tol)
            return err_set(ei, ERR_INVALID, field, "%s has more than six decimals", field);
        micro = (int64_t)r;
    }
    if (micro < 0 || (micro == 0 && !zero_ok))
        return err_set(ei, ERR_INVALID, field, "%s must be %s", field,
                       zero_ok ? "0 or more" : "greater than 0");
    *out = micro;
    return ERR_OK;
}

json_t *stock_qty_json(int64_t micro)
{
    if (micro % STOCK_QTY_SCALE == 0)
        return json_integer((json_int_t)(micro / STOCK_QTY_SCALE));
    return json_real((double)micro / (double)STOCK_QTY_SCALE);
}

const char *stock_qty_text(int64_t micro, char out[32])
{
    /* |micro| below 2^63: its magnitude fits an unsigned 64-bit value */
    uint64_t m = micro < 0 ? (uint64_t)0 - (uint64_t)micro : (uint64_t)micro;
    int n = snprintf(out, 32, "%s%" PRIu64, micro < 0 ? "-" : "", m / (uint64_t)STOCK_QTY_SCALE);
    uint64_t frac = m % (uint64_t)STOCK_QTY_SCALE;
    if (frac && n > 0 && n < 24) {
        char digits[8];
        snprintf(digits, sizeof(digits), "%06" PRIu64, frac);
        size_t k = strlen(digits);
        while (k > 0 && digits[k - 1] == '0')
            digits[--k] = '\0';
        snprintf(out + n, (size_t)(32 - n), ".%s", digits);
    }
    return out;
}

int64_t stock_order_quantity(int64_t on_hand, int64_t reorder_point, int64_t reorder_quantity)
{
    if (on_hand > reorder_point || reorder_quantity <= 0)
        return 0;
    /* the least amount that brings on hand above the point: one millionth more */
    int64_t need = reorder_point - on_hand + 1;
    int64_t orders = (need + reorder_quantity - 1) / reorder_quantity;
    return orders * reorder_quantity;
}

bool stock_lot_unfit(const stock_lot_state *l, int64_t at, char *why, size_t n)
{
    char day[11], iso[TIME_ISO_LEN];
    why[0] = '\0';
    time_format_date(at, day);
    if (strcmp(day, l->expiry) > 0) {
        snprintf(why, n, "%.32s lot %.40s expired on %s, before this measurement (%s)", l->item,
                 l->lot, l->expiry, day);
        return true;
    }
    if (l->opened_at && l->open_days > 0 && at > l->opened_at + (int64_t)l->open_days * DAY_US) {
        time_format_iso(l->opened_at + (int64_t)l->open_days * DAY_US, iso);
        snprintf(why, n,
                 "%.32s lot %.40s was past its open-vial stability of %d days (usable until "
                 "%.16s)",
                 l->item, l->lot, l->open_days, iso);
        return true;
    }
    if (l->needs_verification && !l->verified) {
        snprintf(why, n,
                 "%.32s lot %.40s is not verified: held until its lot-to-lot verification "
                 "is accepted",
                 l->item, l->lot);
        return true;
    }
    return false;
}
