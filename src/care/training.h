/*
 * training.h - training items (a course, a device, a procedure document),
 * their assignment to people with a due date, and completion with the
 * trainer's signed sign-off; the new-staff checklist is every item marked
 * new_staff, assigned at once.
 *
 * The trainer who signs off is not the trainee. An item is assigned to a
 * person once until it is signed off. Every write is audited in the
 * transaction that makes it; a refused request writes nothing.
 */
#ifndef BENCHSIDE_CARE_TRAINING_H
#define BENCHSIDE_CARE_TRAINING_H

#include <jansson.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define CARE_ASSIGN_MAX 100 /* items in one assignment */

/*
 * Define an item: {"code","kind":"course|device|procedure","title",
 * "document"? (kind procedure: a document's code),"class"? (kind device: an
 * asset class),"new_staff"?}. ERR_CONFLICT naming "code" when it exists.
 * Audited as care.training.item.
 */
err_t care_training_item_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                                errinfo *ei);

/* Every item, by code. */
err_t care_training_item_list(db *d, json_t **items, errinfo *ei);

/*
 * Assign items to a person: {"user","items"?:[codes],"new_staff"?:true,
 * "due_on"}: the items listed, and with new_staff the new-staff checklist
 * too (at least one of the two). due_on is today or later. An item the
 * person has open already is ERR_CONFLICT naming it. All or none. *out is
 * {"items":[assignments]}. Audited as care.training.assign.
 */
err_t care_training_assign(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei);

/* Assignments, of one person (username; NULL all), open ones only when
 * open_only; due date first. Each says whether it is overdue. */
err_t care_training_list(db *d, const char *username, bool open_only, json_t **items, errinfo *ei);

/*
 * Sign an assignment off as its trainer u: {"completed_on","note"?,
 * "password"}. completed_on is not in the future; the trainer is not the
 * trainee. ERR_CONFLICT when signed off already. *out is the assignment.
 * Audited as care.training.sign-off.
 */
err_t care_training_sign_off(db *d, const audit_ctx *ctx, const user *u, const char *id,
                             const json_t *body, json_t **out, errinfo *ei);

#endif
