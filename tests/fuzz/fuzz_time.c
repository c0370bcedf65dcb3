/*
 * fuzz_time.c - libFuzzer target: ISO 8601 parsing (query parameters such as
 * from/to), and that what parses formats back and parses to the same instant
 * at microsecond precision.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t t = 0, back = 0;
    char iso[TIME_ISO_LEN];
    if (time_parse_iso((const char *)data, size, &t, NULL) != ERR_OK)
        return 0;
    time_format_iso(t, iso);
    if (time_parse_iso(iso, strlen(iso), &back, NULL) != ERR_OK || back != t)
        abort();
    return 0;
}
