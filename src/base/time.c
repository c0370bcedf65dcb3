/*
 * time.c - UTC microsecond clock and ISO 8601 formatting and parsing.
 */
#include "base/time.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void time_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void time_format_iso(int64_t t, char out[TIME_ISO_LEN])
{
    int64_t secs = t >= 0 ? t / 1000000 : -((-t + 999999) / 1000000);
    int64_t us = t - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    int m, d;
    time_civil_from_days(days, &y, &m, &d);
    /* The compiler cannot bound the fields; format wide, then copy. */
    char wide[96];
    snprintf(wide, sizeof(wide), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)y, m, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)us);
    memcpy(out, wide, TIME_ISO_LEN - 1);
    out[TIME_ISO_LEN - 1] = '\0';
}

static bool digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
    int v = 0;
    if (at + count > n)
        return false;
    for (size_t i = at; i < at + count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int time_days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

err_t time_parse_iso(const char *s, size_t n, int64_t *out, errinfo *ei)
{
    int y, mo, d, hh = 0, mi = 0, ss = 0, us = 0, tzsign = 0, tzh = 0, tzm = 0;
    size_t i;
    if (!digits(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || !digits(s, n, 5, 2, &mo) ||
        s[7] != '-' || !digits(s, n, 8, 2, &d))
        goto bad;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > time_days_in_month(y, mo))
        return err_set(ei, ERR_INVALID, NULL, "not a calendar date: %.*s", (int)(n > 40 ? 40 : n),
                       s);
    i = 10;
    if (i < n) {
        if (s[i] != 'T' && s[i] != ' ')
            goto bad;
        if (!digits(s, n, 11, 2, &hh) || i + 3 >= n || s[13] != ':' || !digits(s, n, 14, 2, &mi))
            goto bad;
        i = 16;
        if (i < n && s[i] == ':') {
            if (!digits(s, n, 17, 2, &ss))
                goto bad;
            i = 19;
            if (i < n && s[i] == '.') {
                i++;
                size_t start = i;
                int scale = 100000;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    us += (s[i] - '0') * scale;
                    scale /= 10;
                    i++;
                }
                if (i == start)
                    goto bad;
            }
        }
        if (hh > 23 || mi > 59 || ss > 60)
            return err_set(ei, ERR_INVALID, NULL, "not a time of day: %.*s", (int)(n > 40 ? 40 : n),
                           s);
        if (i >= n)
            return err_set(ei, ERR_INVALID, NULL, "a date-time needs a zone (Z or +HH:MM)");
        if (s[i] == 'Z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            tzsign = s[i] == '+' ? 1 : -1;
            if (!digits(s, n, i + 1, 2, &tzh) || i + 3 >= n || s[i + 3] != ':' ||
                !digits(s, n, i + 4, 2, &tzm) || tzh > 23 || tzm > 59)
                goto bad;
            i += 6;
        } else {
            goto bad;
        }
        if (i != n)
            goto bad;
    }
    int64_t secs =
        time_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + (ss > 59 ? 59 : ss);
    secs -= tzsign * (tzh * 3600 + tzm * 60);
    *out = secs * 1000000 + us;
    return ERR_OK;
bad:
    return err_set(ei, ERR_INVALID, NULL,
                   "not an ISO 8601 date or date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ): %.*s",
                   (int)(n > 40 ? 40 : n), s);
}

bool time_date_valid(const char *s)
{
    int64_t t;
    char text[32];
    if (!s || strlen(s) != 10)
        return false;
    snprintf(text, sizeof(text), "%sT00:00:00Z", s);
    return time_parse_iso(text, strlen(text), &t, NULL) == ERR_OK;
}

void time_format_date(int64_t t, char out[11])
{
    char at[TIME_ISO_LEN];
    time_format_iso(t, at);
    snprintf(out, 11, "%.10s", at);
}

void time_format_minute(int64_t t, char out[17])
{
    char at[TIME_ISO_LEN];
    time_format_iso(t, at);
    snprintf(out, 17, "%.10s %.5s", at, at + 11);
}
