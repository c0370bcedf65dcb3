/*
 * accession.h - accession numbers: what the laboratory calls a specimen, on its
 * label and in every message about it.
 *
 * Twelve digits, YY DDD NNNNNN C: the UTC year and day of the year the number
 * was given, a sequence within that day (1 to 999999), and a Luhn check digit so
 * that a mistyped digit or two swapped neighbours are refused rather than
 * finding another patient's tube.
 */
#ifndef BENCHSIDE_LAB_ACCESSION_H
#define BENCHSIDE_LAB_ACCESSION_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/db.h"

#define ACCESSION_LEN 12

/* The Luhn check digit ('0'..'9') of digits[0..n); -1 when a byte is no digit. */
int accession_check_digit(const char *digits, size_t n);

/*
 * Whether s[0..n) is a well-formed accession with the right check digit.
 * ERR_INVALID with field "accession" and a message saying which: not 12
 * digits, or a wrong check digit (mistyped).
 */
err_t accession_check(const char *s, size_t n, errinfo *ei);

/* The next number for the day of now, inside the caller's transaction. */
err_t accession_next(db *d, int64_t now, char out[ACCESSION_LEN + 1], errinfo *ei);

/* The day part of the accessions of time t (UTC microseconds): two digits of
 * the year and three of the day of the year, "25153", and its NUL. */
#define ACCESSION_DAY_LEN 5
void accession_day(int64_t t, char out[ACCESSION_DAY_LEN + 1]);

/* The accession of sequence seq (1..999999) of day (accession_day's) into
 * out, with its check digit. ERR_CONFLICT when seq is out of range. */
err_t accession_compose(const char *day, int64_t seq, char out[ACCESSION_LEN + 1], errinfo *ei);

#endif
