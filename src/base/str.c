/*
 * str.c - string views and strict parsing (see str.h).
 */
#include "base/str.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool strv_eq(strv a, const char *lit)
{
    size_t n = strlen(lit);
    return a.n == n && (n == 0 || memcmp(a.p, lit, n) == 0);
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool strv_eq_nocase(strv a, const char *lit)
{
    size_t n = strlen(lit);
    if (a.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a.p[i]) != lower(lit[i]))
            return false;
    return true;
}

err_t str_to_int64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0, limit;
    if (n == 0)
        return ERR_INVALID;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (n == 1)
            return ERR_INVALID;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_INVALID;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return ERR_INVALID;
        v = v * 10 + d;
    }
    int64_t r = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (r < min || r > max)
        return ERR_INVALID;
    *out = r;
    return ERR_OK;
}

err_t str_to_double(const char *s, size_t n, double *out)
{
    char tmp[64];
    char *end = NULL;
    size_t i = 0;
    if (n == 0 || n >= sizeof(tmp))
        return ERR_INVALID;
    /* Only what a decimal literal holds: strtod alone would take "inf", "0x1p3", " 1". */
    if (s[0] == '+' || s[0] == '-')
        i = 1;
    if (i == n || !((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
        return ERR_INVALID;
    for (; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
              s[i] == '+' || s[i] == '-'))
            return ERR_INVALID;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + n || errno == ERANGE || !isfinite(v))
        return ERR_INVALID;
    *out = v;
    return ERR_OK;
}

err_t str_json_quote(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    err_t rc = buf_append(b, "\"", 1);
    for (size_t i = 0; !rc && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rc = buf_append(b, e, 2);
        } else if (c == '\n') {
            rc = buf_append(b, "\\n", 2);
        } else if (c == '\r') {
            rc = buf_append(b, "\\r", 2);
        } else if (c == '\t') {
            rc = buf_append(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = buf_append(b, e, 6);
        } else {
            rc = buf_append(b, s + i, 1);
        }
    }
    if (!rc)
        rc = buf_append(b, "\"", 1);
    return rc;
}

void str_hex(const unsigned char *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool str_ct_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

err_t str_split_hostport(const char *s, char *addr, size_t n, int *port)
{
    const char *colon, *host = s;
    size_t hlen;
    int64_t p;
    if (!s || !*s)
        return ERR_INVALID;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return ERR_INVALID;
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return ERR_INVALID;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= n)
        return ERR_INVALID;
    if (str_to_int64(colon + 1, strlen(colon + 1), 0, 65535, &p))
        return ERR_INVALID;
    memcpy(addr, host, hlen);
    addr[hlen] = '\0';
    *port = (int)p;
    return ERR_OK;
}

bool str_is_text(const char *s)
{
    if (!s || !*s)
        return false;
    bool any = false;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
        any |= *s != ' ';
    }
    return any;
}
