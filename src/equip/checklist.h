/*
 * checklist.h - checklist templates and the checks made against them: daily
 * and weekly checks (a defibrillator's battery, discharge and pads; an
 * autoclave's Bowie-Dick test; a centrifuge's speed) and electrical safety
 * tests (IEC 62353). Templates are data: a table, loaded from JSON
 * (`benchside import checklists FILE`, POST /api/v1/equipment/checklists, and
 * the defaults embedded from src/equip/checklists.json).
 *
 * A template:
 *   {"code":"defib-daily",              letters, digits, '-', '_', '.'; 1-32
 *    "name":"Defibrillator daily check",
 *    "kind":"check",                    check or electrical-safety
 *    "fields":[...]}                    1 to EQUIP_FIELDS_MAX
 * A field:
 *   {"key":"battery_ok",                a-z, 0-9, '_'; 1-40; unique
 *    "label":"Battery charged, indicator green",
 *    "type":"boolean|number|text|choice",
 *    "required":true,                   default true
 *    boolean: "expected":true           the value that passes (none: any)
 *    number:  "unit":"J","min":..,"max":..   limits, inclusive (either, both
 *                                            or none)
 *             "relative_to":"set_rpm","tolerance_percent":5
 *                                       passes within 5% of the value of an
 *                                       earlier required number field
 *    choice:  "choices":["I","II"],"pass":["I"]  the allowed values; those
 *                                       that pass (none: all)
 *    "when":{"field":"protection_class","in":["I"]}}
 *                                       the field applies only when an
 *                                       earlier choice field has one of
 *                                       those values; otherwise it must be
 *                                       left out
 *
 * Templates are versioned: importing a template that differs from its latest
 * version makes a new version; one that does not changes nothing. A check
 * keeps the version it was made against.
 *
 * A check's values are an object by field key. A key that is not a field of
 * the template (ERR_UNKNOWN_FIELD), a required field missing
 * (ERR_MISSING_FIELD), a value of the wrong type, a choice not allowed, a
 * field given where it does not apply (ERR_INVALID): refused naming the
 * field ("values.pads_in_date"), nothing written. Otherwise the check passes
 * when every field's value passes; the fields that failed are listed.
 */
#ifndef BENCHSIDE_EQUIP_CHECKLIST_H
#define BENCHSIDE_EQUIP_CHECKLIST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define EQUIP_FIELDS_MAX    100 /* fields of a template */
#define EQUIP_KEY_MAX       40  /* a field key: bytes */
#define EQUIP_CHOICES_MAX   50  /* choices of a choice field */
#define EQUIP_TEMPLATES_MAX 200 /* templates of one import document */

/* The defaults shipped with benchside (src/equip/checklists.json, embedded):
 * {"checklists":[...]}. */
extern const char equip_checklists_json[];
extern const size_t equip_checklists_json_len;

/* ---- pure: no database ---- */

/* Check the fields of a template (see above); errors name "fields[i].x". */
err_t equip_checklist_check_fields(const json_t *fields, errinfo *ei);

/*
 * Judge values (an object by key) against fields (checked by the function
 * above). Bad input is refused naming "values.<key>" (see above). Otherwise
 * *passed says whether every value passes and *failed is a new array of
 * {"key","label","value","expected"} for those that did not.
 */
err_t equip_checklist_evaluate(const json_t *fields, const json_t *values, bool *passed,
                               json_t **failed, errinfo *ei);

/* ---- templates on record ---- */

/*
 * Store a template (see above) as its next version, unless it is the same
 * as its latest version. *out is the template as stored with "version" and
 * "created" (whether a version was made). Audited as equip.checklist.create.
 */
err_t equip_checklist_put(db *d, const audit_ctx *ctx, const json_t *tmpl, json_t **out,
                          errinfo *ei);

/* Import {"checklists":[template...]}: all checked, then stored in one
 * transaction; errors name "checklists[i].field". *created: how many new
 * versions were made. */
err_t equip_checklist_import(db *d, const audit_ctx *ctx, const json_t *doc, int *created,
                             errinfo *ei);

/* Import the embedded defaults (equip_checklists_json). */
err_t equip_checklist_defaults(db *d, const audit_ctx *ctx, int *created, errinfo *ei);

/* The latest version of every template, by code (new reference). */
err_t equip_checklist_list(db *d, json_t **items, errinfo *ei);

/* One template: its latest version (version 0) or the one asked for;
 * ERR_NOT_FOUND naming "code" (or "version"). */
err_t equip_checklist_get(db *d, const char *code, int version, json_t **out, errinfo *ei);

/* The latest version and the kind of template code; ERR_INVALID naming field
 * when there is no such template. kind: EQUIP_KIND_MAX bytes. */
err_t equip_checklist_latest(db *d, const char *code, const char *field, int *version, char *kind,
                             errinfo *ei);

/* ---- checks on record ---- */

/*
 * Record a check: {"asset":TAG,"template":CODE,"performed_at"?,"by"?,
 * "values":{...},"notes"?}, against the template's latest version. *out is
 * the check (new reference). Audited as equip.check.record; the results held
 * from the asset's instrument are looked at again.
 */
err_t equip_check_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                         errinfo *ei);

/* One check by id; ERR_NOT_FOUND naming "id". */
err_t equip_check_get(db *d, const char *id, json_t **out, errinfo *ei);

/* The checks of an asset, latest first (at most 200). */
err_t equip_check_list(db *d, const char *tag, json_t **items, errinfo *ei);

#endif
