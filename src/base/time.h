/*
 * time.h - wall-clock time as int64 UTC microseconds, and ISO 8601 at the edges.
 */
#ifndef BENCHSIDE_BASE_TIME_H
#define BENCHSIDE_BASE_TIME_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define TIME_ISO_LEN 28 /* "2026-11-21T17:37:29.123456Z" plus NUL */

/* Microseconds since 1970-01-01T00:00:00Z. */
int64_t time_now_us(void);
/* Monotonic microseconds, for timeouts and durations only. */
int64_t time_mono_us(void);
/* Format t as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into out (TIME_ISO_LEN bytes). */
void time_format_iso(int64_t t, char out[TIME_ISO_LEN]);
/*
 * Parse an ISO 8601 date or date-time: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.f]]"
 * followed by "Z" or "+HH:MM"/"-HH:MM" (a date-time needs a zone). Returns
 * ERR_INVALID with a message in ei when s[0..n) is not one.
 */
err_t time_parse_iso(const char *s, size_t n, int64_t *out, errinfo *ei);

/* Days since 1970-01-01 of a date of the proleptic Gregorian calendar. */
int64_t time_days_from_civil(int64_t y, int m, int d);
/* The date of a day counted from 1970-01-01 (the inverse of the above). */
void time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Days in month m (1-12) of year y. */
int time_days_in_month(int y, int m);

/* Whether s is YYYY-MM-DD of a real day. */
bool time_date_valid(const char *s);

/* The UTC date of t, "YYYY-MM-DD". */
void time_format_date(int64_t t, char out[11]);

/* The UTC time of t to the minute, "YYYY-MM-DD HH:MM". */
void time_format_minute(int64_t t, char out[17]);

#endif
