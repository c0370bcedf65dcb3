/*
 * specimen.h - specimens: the containers collected for an order, known by
 * their accession numbers.
 */
#ifndef BENCHSIDE_LAB_SPECIMEN_H
#define BENCHSIDE_LAB_SPECIMEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/id.h"
#include "lab/accession.h"
#include "store/db.h"

typedef struct specimen {
    char id[ID_LEN + 1];
    char accession[ACCESSION_LEN + 1];
    char order_id[ID_LEN + 1];
    char patient_id[ID_LEN + 1];
    char parent_id[ID_LEN + 1]; /* "" unless an aliquot */
    char specimen_type[257];    /* up to 64 characters of UTF-8, as in the catalog */
    char container[257];
    char status[16];
    char priority[8];                  /* the order's */
    int64_t collected_at, received_at; /* 0 when not yet */
    char storage[65];
    char rejection_reason[32];
    int64_t created_at;
} specimen;

/* By accession number (checked first: a wrong check digit is ERR_INVALID). */
err_t specimen_get(db *d, const char *accession, specimen *out, errinfo *ei);

/* Its tests as a JSON array of {"id","code","name","panel","status"} (new reference). */
err_t specimen_tests_json(db *d, const char *specimen_id, json_t **out, errinfo *ei);

/* The specimen as the API shows it, with its tests and chain of custody
 * ("events"), without an audit event (for use inside an audited action). */
err_t specimen_json(db *d, const char *accession, json_t **out, errinfo *ei);

/* The same, audited as specimen.read. */
err_t specimen_read(db *d, const audit_ctx *ctx, const char *accession, json_t **out, errinfo *ei);

json_t *specimen_to_json(const specimen *s);

/*
 * The specimen's label, as ZPL for a Zebra printer (pdf false) or as a PDF,
 * appended to out (the caller frees it). Audited as specimen.label: a label
 * shows the patient's name.
 */
err_t specimen_label(db *d, const audit_ctx *ctx, const char *accession, bool pdf, buf *out,
                     errinfo *ei);

#endif
