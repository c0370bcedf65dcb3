/*
 * fuzz_fhir.c - libFuzzer target: what a FHIR client sends besides the path.
 * The first byte chooses:
 *   even: a query string ("name=value&..."), each parameter read as the
 *         search of every resource type served reads it (its kind, then a
 *         token, a date range, a status or an id);
 *   odd:  a ServiceRequest body (JSON) read into an order.
 * Checked (abort() when one fails): a refusal names the parameter or the
 * element at fault (400, or 422 for a well-formed request benchside cannot
 * take); a token's code is 1 to FHIR_CODE_MAX bytes and its system
 * lies inside the value; an order read has a valid patient id, a code, at
 * most FHIR_REASONS_MAX reasons and a priority of routine, asap or stat.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonv.h"
#include "proto/fhir.h"

#define PARAMS_MAX 16

static const char *const types[] = {"Patient",     "Practitioner",     "ServiceRequest", "Specimen",
                                    "Observation", "DiagnosticReport", "Device"};

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void param(const char *key, const char *value)
{
    errinfo ei;
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        char kind[16];
        if (!fhir_search_param(types[t], key, kind))
            continue;
        if (!strcmp(kind, "date")) {
            int64_t lo = 0, hi = 0;
            err_t rc = fhir_date_narrow(key, value, &lo, &hi, &ei);
            check(rc == ERR_OK || (rc == ERR_INVALID && !strcmp(ei.field, key)));
        } else if (!strcmp(kind, "token") || !strcmp(kind, "reference")) {
            const char *system = NULL;
            size_t n = 0;
            char code[FHIR_CODE_MAX + 1];
            err_t rc = fhir_token(key, value, &system, &n, code, &ei);
            check(rc == ERR_OK || (rc == ERR_INVALID && !strcmp(ei.field, key)));
            if (rc == ERR_OK) {
                size_t cl = strlen(code);
                check(cl >= 1 && cl <= FHIR_CODE_MAX);
                check(!system || (system >= value && system + n <= value + strlen(value)));
                bool known = false;
                const char *state = fhir_status_state(types[t], code, &known);
                check(!state || known);
            }
        }
        (void)fhir_id_valid(value);
    }
}

static void query(char *q)
{
    char *save = NULL;
    int n = 0;
    for (char *kv = strtok_r(q, "&", &save); kv && n < PARAMS_MAX;
         kv = strtok_r(NULL, "&", &save), n++) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = '\0';
        param(kv, eq ? eq + 1 : "");
    }
}

static void order(const char *text, size_t len)
{
    json_t *body = NULL;
    errinfo ei;
    fhir_order o;
    if (jsonv_parse_object(text, len, &body, &ei) != ERR_OK)
        return;
    err_t rc = fhir_order_parse(body, &o, &ei);
    if (rc == ERR_OK) {
        check(fhir_id_valid(o.patient_id) && o.code[0]);
        check(o.nreasons >= 0 && o.nreasons <= FHIR_REASONS_MAX);
        check(!strcmp(o.priority, "routine") || !strcmp(o.priority, "asap") ||
              !strcmp(o.priority, "stat"));
    } else {
        char path[64];
        /* 400 for what is not a ServiceRequest, 422 for one benchside cannot take */
        check((rc == ERR_INVALID || rc == ERR_UNPROCESSABLE) && ei.message[0] && ei.field[0]);
        fhir_order_field(ei.field, path, sizeof(path));
        check(strlen(path) < sizeof(path));
    }
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] % 2 == 0)
        query(text);
    else
        order(text, size - 1);
    free(text);
    return 0;
}
