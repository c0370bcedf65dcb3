/*
 * schedule.h - what must be done to devices and how often: preventive
 * maintenance, calibration, electrical safety tests and checks, for one
 * asset or for every asset of a class; and when each is due.
 *
 * A schedule has an interval and a grace period in days. What was done last
 * comes from the records (maintenance.h, calibration.h, checklist.h): the
 * latest record of the schedule's kind for the asset (for checks and
 * electrical safety tests, made against the schedule's template).
 *
 * Due (equip_due_compute, pure):
 *   base       = the last record's time; never done: the asset's install
 *                date (00:00 UTC) or the schedule's creation, whichever is
 *                later
 *   due_at     = base + interval
 *   overdue_at = due_at + grace
 *   state      = overdue  when now > overdue_at
 *                due      when now >= due_at - within (within: 7 days for
 *                         "this week"), and not overdue
 *                ok       otherwise
 *
 * Calibration and electrical safety schedules are safety-critical unless
 * said otherwise; a safety-critical schedule that is overdue, or whose last
 * record failed, makes the device unfit for use (fitness.h).
 */
#ifndef BENCHSIDE_EQUIP_SCHEDULE_H
#define BENCHSIDE_EQUIP_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "base/err.h"
#include "equip/asset.h"
#include "store/db.h"

#define EQUIP_DAY_US       (86400LL * 1000000LL)
#define EQUIP_INTERVAL_MAX 3660 /* days: ten years */
#define EQUIP_WITHIN_MAX   366  /* days ahead a due list looks */
#define EQUIP_KIND_MAX     20   /* "electrical-safety" and its NUL fit */

/* ---- due: pure, no database ---- */

typedef enum { EQUIP_DUE_OK, EQUIP_DUE_SOON, EQUIP_DUE_OVERDUE } equip_due_state;

typedef struct equip_due {
    int64_t base;       /* what the interval counts from */
    int64_t due_at;     /* base + interval */
    int64_t overdue_at; /* due_at + grace: after it, overdue */
    equip_due_state state;
} equip_due;

/*
 * The due state of one schedule for one asset at now. last: the time of the
 * last record (0: never done); install: the asset's install date as a time
 * (0: unknown); created: when the schedule was made. interval_days > 0,
 * grace_days >= 0, within_days >= 0.
 */
equip_due equip_due_compute(int64_t last, int64_t install, int64_t created, int interval_days,
                            int grace_days, int within_days, int64_t now);

/* "ok", "due" or "overdue". */
const char *equip_due_state_name(equip_due_state s);

/* ---- schedules applied to assets ---- */

/* One schedule as it applies to one asset, with the asset's last record of
 * it at or before a time. */
typedef struct equip_applied {
    char schedule_id[ID_LEN + 1];
    char kind[EQUIP_KIND_MAX];
    char template_code[EQUIP_TAG_MAX + 1]; /* "" for pm and calibration */
    int interval_days, grace_days;
    bool safety_critical;
    int64_t created_at;
    char asset_id[ID_LEN + 1];
    char tag[EQUIP_TAG_MAX + 1];
    int64_t install; /* 0: unknown */
    int64_t last;    /* 0: never done */
    bool last_passed;
} equip_applied;

/*
 * Every schedule that applies to the asset asset_id (its own and its
 * class's), with its last record at or before at; calibration only, when
 * calibration_only. At most max into out; *n how many. Calibration
 * validity of standards and device fitness read them.
 */
err_t equip_schedules_applied(db *d, const char *asset_id, int64_t at, bool calibration_only,
                              equip_applied *out, size_t max, size_t *n, errinfo *ei);

/* The due state of an applied schedule at now (within: days ahead). */
equip_due equip_applied_due(const equip_applied *a, int within_days, int64_t now);

/* ---- on record ---- */

/*
 * Create a schedule:
 *   {"asset"?:TAG | "class"?:CLASS, "kind":"pm|calibration|electrical-safety|check",
 *    "template"?, "interval_days", "grace_days"?, "safety_critical"?,
 *    "description"?}
 * Exactly one of asset and class. template (a checklist code of the same
 * kind) for check and electrical-safety, and only for them. grace_days
 * defaults to 0; safety_critical to true for calibration and
 * electrical-safety, false otherwise. ERR_CONFLICT when the asset or class
 * has a schedule of that kind (and template) already. *out is the schedule
 * (new reference). Audited as equip.schedule.create.
 */
err_t equip_schedule_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                            errinfo *ei);

/* Schedules, for one asset (asset_tag: its own and its class's) or one class
 * (cls), or all (both NULL). *items is a new array. */
err_t equip_schedule_list(db *d, const char *asset_tag, const char *cls, json_t **items,
                          errinfo *ei);

/* Delete a schedule (its records stay). ERR_NOT_FOUND naming "id". Audited
 * as equip.schedule.delete with what it was. */
err_t equip_schedule_delete(db *d, const audit_ctx *ctx, const char *id, errinfo *ei);

/*
 * The due list at now: for every in-service asset, each schedule that is
 * overdue or due within within_days (0..EQUIP_WITHIN_MAX), overdue first,
 * then by due date. *items is a new array of {asset, class, location,
 * instrument, schedule_id, kind, template, safety_critical, interval_days,
 * grace_days, last_done, last_passed, due_at, overdue_at, state}.
 */
err_t equip_due_list(db *d, int within_days, int64_t now, json_t **items, errinfo *ei);

/* The asset's record time text (a "performed_at" member): now when absent;
 * ERR_INVALID naming it when malformed or in the future. */
err_t equip_performed_at(const char *text, int64_t now, int64_t *out, errinfo *ei);

#endif
