/*
 * custody.h - chain of custody: every step of a specimen from collection to
 * disposal, with who, when and where, in order; and rejection.
 *
 * Events and the states they move a specimen between are a table of data
 * (custody.c). An event out of order (received before collected, an event
 * time before the previous one, a time in the future, a collection before
 * the patient's birth) is refused and changes nothing. Every event is
 * written with its audit event in one transaction.
 */
#ifndef BENCHSIDE_LAB_CUSTODY_H
#define BENCHSIDE_LAB_CUSTODY_H

#include <jansson.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

/*
 * Record one event from a request body: {"event","at"?,"location"?,"note"?,
 * plus "site" (collected), "rack","position","temperature" (stored),
 * "destination" (sent-out), "count" (aliquoted)}. *out is the specimen as
 * specimen_read shows it, with the new aliquots under "aliquots" when any.
 * Errors name the field; an event out of order (a state it cannot follow)
 * is ERR_INVALID naming "event", like any other bad input.
 */
err_t custody_record(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                     json_t **out, errinfo *ei);

/*
 * Reject a specimen: {"reason","note"?}. The reason is one of hemolyzed,
 * clotted, insufficient-volume, unlabelled, mislabelled, wrong-container,
 * stability-exceeded. Its open tests are cancelled and a recollection
 * specimen (a new accession, pending) is created for them. *out is the
 * rejected specimen with "recollection" (the new specimen).
 */
err_t custody_reject(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                     json_t **out, errinfo *ei);

#endif
