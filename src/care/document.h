/*
 * document.h - procedure documents under document control: standard
 * operating procedures with their versions, author, approval by a
 * supervisor, effective date, review every two years, and the signed
 * read-and-understood acknowledgements of staff.
 *
 * A document has a code (SOP-CHEM-012), a title and an audience: the roles
 * whose people must read it (supervisor and technician by default). A
 * version is a draft until a supervisor other than its author approves it
 * with a date it takes effect (today or later); it is due for review two
 * years after that date (CARE_REVIEW_MONTHS). The version in force is the
 * latest approved one effective on or before today; a new version replaces
 * it on its own effective date, and everyone reads it again. One draft at a
 * time: a new version waits until the draft before it is approved.
 *
 * Every write is audited in the transaction that makes it; approvals and
 * acknowledgements are signed with the password.
 */
#ifndef BENCHSIDE_CARE_DOCUMENT_H
#define BENCHSIDE_CARE_DOCUMENT_H

#include <jansson.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define CARE_REVIEW_MONTHS 24     /* a document is reviewed every two years */
#define CARE_DOC_TEXT_MAX  200000 /* the text of one version: bytes */

/*
 * Create a document with its first version (a draft by the actor):
 *   {"code","title","text","audience"?:[roles]}
 * ERR_CONFLICT naming "code" when it exists. *out is the document as
 * care_doc_get() gives it. Audited as care.document.create.
 */
err_t care_doc_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);

/* A new draft version: {"text","change"}. ERR_CONFLICT while a draft
 * waits for approval. Audited as care.document.version. */
err_t care_doc_version(db *d, const audit_ctx *ctx, const char *code, const json_t *body,
                       json_t **out, errinfo *ei);

/*
 * Approve draft version n, signed by u: {"effective_on","password"}.
 * The approver is not the author; effective_on is today or later.
 * ERR_CONFLICT when approved already. Audited as care.document.approve.
 */
err_t care_doc_approve(db *d, const audit_ctx *ctx, const user *u, const char *code, int n,
                       const json_t *body, json_t **out, errinfo *ei);

/* u's signed acknowledgement that they read and understood the version in
 * force: {"password"}. ERR_CONFLICT when none is in force or u
 * acknowledged it already. Audited as care.document.read. */
err_t care_doc_acknowledge(db *d, const audit_ctx *ctx, const user *u, const char *code,
                           const json_t *body, json_t **out, errinfo *ei);

/*
 * A document: {"code","title","audience","current":version or null,
 * "draft":version or null,"review_due","review_overdue","versions":[...],
 * "acknowledged":[{"user","read_at"}],"not_read":[usernames]} (who in the
 * audience, enabled, has not acknowledged the version in force).
 * ERR_NOT_FOUND naming "code".
 */
err_t care_doc_get(db *d, const char *code, json_t **out, errinfo *ei);

/* Every document with its version in force, its draft, review due and
 * whether overdue, and how many of its audience have not read it. */
err_t care_doc_list(db *d, json_t **items, errinfo *ei);

#endif
