/*
 * order.h - laboratory orders: a patient, the tests or panels asked for, a
 * priority, the ordering clinician, ICD-10-CM reasons and collection
 * instructions. An order expands at once into the specimens to collect: one
 * container per specimen type and container kind, each with its accession
 * number and the tests it serves.
 */
#ifndef BENCHSIDE_LAB_ORDER_H
#define BENCHSIDE_LAB_ORDER_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

#define ORDER_TESTS_MAX     60
#define ORDER_REASONS_MAX   12
#define ORDER_PLACER_ID_MAX 64

/* ICD-10-CM code form: letter, digit, letter or digit, then optionally '.'
 * and 1 to 4 letters or digits ("E11.9", "S72.001A", "Z00.00", "R51"). */
bool order_icd10_valid(const char *code);

/*
 * Create an order from a request body {"patient_id","tests":[codes],
 * "priority","clinician","reasons":[ICD-10-CM],"instructions"?:{"fasting",
 * "timed_at","note"}}. Unknown test codes, a bad reason code, an unknown
 * patient: ERR_INVALID naming the field ("tests[2]", "reasons[0]",
 * "patient_id"). Everything (order, specimens, accession numbers, tests, the
 * audit event) is written in one transaction. *out is the order as order_read
 * shows it (new reference).
 */
err_t order_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);

/*
 * Cancel the order that placer (an EHR's name) knows as placer_id (ORC-2):
 * its open tests are cancelled with reason, and the order. Refused
 * (ERR_CONFLICT) once any test has a result; ERR_NOT_FOUND when there is no
 * such order; an order cancelled already is left as it is. Its id into
 * order_id. Audited as order.cancel.
 */
err_t order_cancel_placed(db *d, const audit_ctx *ctx, const char *placer, const char *placer_id,
                          const char *reason, char order_id[ID_LEN + 1], errinfo *ei);
/* An order with its specimens and tests, audited as order.read. */
err_t order_read(db *d, const audit_ctx *ctx, const char *id, json_t **out, errinfo *ei);

#endif
