/*
 * str.h - bounded string views and strict number parsing for untrusted input.
 */
#ifndef BENCHSIDE_BASE_STR_H
#define BENCHSIDE_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* A borrowed slice of someone else's bytes; never freed through the view. */
typedef struct strv {
    const char *p;
    size_t n;
} strv;

#define STRV(lit) ((strv){(lit), sizeof(lit) - 1})

bool strv_eq(strv a, const char *lit);
bool strv_eq_nocase(strv a, const char *lit);

/*
 * Parse all of s[0..n) as a decimal integer in [min, max]. No spaces, no
 * trailing characters. Returns ERR_INVALID otherwise.
 */
err_t str_to_int64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);

/*
 * Parse all of s[0..n) as a finite decimal number ("-12.5", "1e-3"); no
 * spaces, hex, infinities or NaN. Returns ERR_INVALID otherwise.
 */
err_t str_to_double(const char *s, size_t n, double *out);

/* Append s[0..n) to b as a JSON string literal with quotes and escapes. */
err_t str_json_quote(buf *b, const char *s, size_t n);

/* Lower-case hex of p[0..n) into out (2n+1 bytes). */
void str_hex(const unsigned char *p, size_t n, char *out);

/* Constant-time comparison of two equal-length byte strings. */
bool str_ct_equal(const void *a, const void *b, size_t n);

/* Split "ADDR:PORT" or "[ADDR6]:PORT" into addr (size n, NUL-terminated)
 * and port 0-65535. Returns ERR_OK or ERR_INVALID (addr and port untouched). */
err_t str_split_hostport(const char *s, char *addr, size_t n, int *port);

/* Printable text: no control characters, not empty or only spaces. */
bool str_is_text(const char *s);

#endif
