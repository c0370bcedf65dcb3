/*
 * fuzz_text.c - libFuzzer target: the small decoders that read query values,
 * headers and fields of bodies: whole numbers and decimals (str.h), UTF-8
 * (utf8.h), ids, "ADDR:PORT", --origin values, LOINC and ICD-10-CM codes.
 * Checked (abort() when one fails):
 *   - a whole number read lies in its bounds and prints back as the input
 *     when the input has no sign or leading zero of its own;
 *   - a decimal read is finite;
 *   - UTF-8 decoding advances by 1 to 4 bytes, never past the end, and a
 *     code point decoded encodes back to the same bytes;
 *   - an address split has a port from 0 to 65535 and an address that fits.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/str.h"
#include "base/utf8.h"
#include "http/http.h"
#include "lab/catalog.h"
#include "lab/order.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void numbers(const char *s, size_t n)
{
    int64_t v = 0;
    double x = 0;
    if (str_to_int64(s, n, -1000000, 1000000, &v) == ERR_OK) {
        char back[32];
        check(v >= -1000000 && v <= 1000000);
        snprintf(back, sizeof(back), "%lld", (long long)v);
        if (n && s[0] != '+' && s[0] != '-' && !(s[0] == '0' && n > 1))
            check(strlen(back) == n && !memcmp(back, s, n));
    }
    if (str_to_int64(s, n, INT64_MIN, INT64_MAX, &v) == ERR_OK)
        check(n > 0);
    if (str_to_double(s, n, &x) == ERR_OK)
        check(isfinite(x));
}

static void utf8(const char *s)
{
    size_t left = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    while (left) {
        size_t len = 0;
        int32_t cp = utf8_decode(p, &len);
        check(len >= 1 && len <= 4 && len <= left);
        if (cp >= 0) {
            char out[4];
            check(utf8_encode((uint32_t)cp, out) == len && !memcmp(out, p, len));
            (void)utf8_upper((uint32_t)cp);
        }
        p += len;
        left -= len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    numbers(s, size);
    utf8(s);
    char addr[64];
    int port = -1;
    if (str_split_hostport(s, addr, sizeof(addr), &port) == ERR_OK)
        check(port >= 0 && port <= 65535 && strlen(addr) < sizeof(addr));
    (void)str_is_text(s);
    (void)id_valid(s, size);
    (void)http_origin_valid(s);
    (void)catalog_loinc_valid(s, size);
    (void)order_icd10_valid(s);
    free(s);
    return 0;
}
