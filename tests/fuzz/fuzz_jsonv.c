/*
 * fuzz_jsonv.c - libFuzzer target: a request body through the JSON parser and
 * the field checker, as the dispatcher and handlers use them.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/jsonv.h"

static const jsonv_field fields[] = {
    {"username", JSONV_STRING, true, 64}, {"password", JSONV_STRING, true, 1024},
    {"role", JSONV_STRING, false, 64},    {"disabled", JSONV_BOOL, false, 0},
    {"count", JSONV_INT, false, 0},       {"items", JSONV_ARRAY, false, 4},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    errinfo ei;
    if (jsonv_parse_object((const char *)data, size, &v, &ei) == ERR_OK) {
        jsonv_check(v, fields, sizeof(fields) / sizeof(fields[0]), &ei);
        (void)jsonv_str(v, "username");
        json_decref(v);
    }
    return 0;
}
