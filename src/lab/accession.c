/*
 * accession.c - accession numbers with a Luhn check digit (see accession.h).
 */
#include "lab/accession.h"

#include <stdio.h>
#include <string.h>

#include "base/time.h"

#define SEQ_MAX 999999

static const char sql_seed[] = "INSERT INTO accession_counters (day, next) VALUES (?, 1)"
                               " ON CONFLICT (day) DO NOTHING";
static const char sql_take[] =
    "UPDATE accession_counters SET next = next + 1 WHERE day = ? RETURNING next - 1";

int accession_check_digit(const char *digits, size_t n)
{
    int sum = 0;
    /* Luhn: from the right, double every second digit of the payload. */
    for (size_t k = 0; k < n; k++) {
        char c = digits[n - 1 - k];
        if (c < '0' || c > '9')
            return -1;
        int v = c - '0';
        if (k % 2 == 0) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return '0' + (10 - sum % 10) % 10;
}

err_t accession_check(const char *s, size_t n, errinfo *ei)
{
    if (n != ACCESSION_LEN)
        return err_set(ei, ERR_INVALID, "accession", "an accession number has %d digits, not %zu",
                       ACCESSION_LEN, n);
    int c = accession_check_digit(s, n - 1);
    if (c < 0 || s[n - 1] < '0' || s[n - 1] > '9')
        return err_set(ei, ERR_INVALID, "accession", "an accession number has only digits");
    if (c != s[n - 1])
        return err_set(ei, ERR_INVALID, "accession",
                       "the check digit of %.12s is wrong: the number was mistyped or misread", s);
    return ERR_OK;
}

void accession_day(int64_t t, char out[ACCESSION_DAY_LEN + 1])
{
    int64_t y = 0, day = t >= 0 ? t / (86400LL * 1000000) : (t + 1) / (86400LL * 1000000) - 1;
    int m = 0, d = 0;
    time_civil_from_days(day, &y, &m, &d);
    /* Day of the year from the date's own midnight and 1 January of its year. */
    int64_t doy = day - time_days_from_civil(y, 1, 1) + 1;
    unsigned yy = (unsigned)((y % 100 + 100) % 100), dd = (unsigned)((doy % 1000 + 1000) % 1000);
    snprintf(out, ACCESSION_DAY_LEN + 1, "%02u%03u", yy, dd);
}

err_t accession_compose(const char *day, int64_t seq, char out[ACCESSION_LEN + 1], errinfo *ei)
{
    if (seq < 1 || seq > SEQ_MAX)
        return err_set(ei, ERR_CONFLICT, NULL, "no accession numbers left for day %s", day);
    /* 5 digits of day and 6 of sequence, then the check digit. */
    char text[32];
    snprintf(text, sizeof(text), "%.5s%06d", day, (int)seq);
    memcpy(out, text, ACCESSION_LEN - 1);
    out[ACCESSION_LEN - 1] = (char)accession_check_digit(out, ACCESSION_LEN - 1);
    out[ACCESSION_LEN] = '\0';
    return ERR_OK;
}

err_t accession_next(db *d, int64_t now, char out[ACCESSION_LEN + 1], errinfo *ei)
{
    char day[ACCESSION_DAY_LEN + 1];
    db_stmt *st = NULL;
    bool row = false;
    int64_t seq = 0;
    err_t rc;

    accession_day(now, day);
    rc = db_run(d, ei, NULL, sql_seed, "t", day);
    if (rc)
        return rc;
    rc = db_query(d, &st, ei, sql_take, "t", day);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        seq = db_col_int64(st, 0);
    db_finalize(st);
    if (rc)
        return rc;
    if (!row)
        seq = 0;
    return accession_compose(day, seq, out, ei);
}
