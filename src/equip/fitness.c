/*
 * fitness.c - device fitness for the release gate (see fitness.h).
 */
#include "equip/fitness.h"

#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "equip/asset.h"
#include "equip/schedule.h"
#include "lab/result.h"
#include "qc/tolerance.h"

#define FIT_SCHEDULES_MAX 64 /* schedules read for one device */

static const char sql_by_instrument[] =
    "SELECT id, tag, status, status_reason, status_at, COALESCE(instrument, '') FROM assets"
    " WHERE instrument = ?";
static const char sql_by_tag[] =
    "SELECT id, tag, status, status_reason, status_at, COALESCE(instrument, '') FROM assets"
    " WHERE tag = ?";
/* What a schedule's kind is called in a reason. */
static void kind_label(const equip_applied *a, char *out, size_t n)
{
    if (!strcmp(a->kind, "pm"))
        snprintf(out, n, "preventive maintenance");
    else if (!strcmp(a->kind, "electrical-safety"))
        snprintf(out, n, "electrical safety test %s", a->template_code);
    else if (!strcmp(a->kind, "check"))
        snprintf(out, n, "check %s", a->template_code);
    else
        snprintf(out, n, "calibration");
}

struct device {
    char id[ID_LEN + 1];
    char tag[EQUIP_TAG_MAX + 1];
    char status[EQUIP_STATUS_MAX];
    char reason[EQUIP_REASON_MAX + 1];
    int64_t status_at;
    char instrument[65];
};

/* The asset of sql's one parameter into *dv; *found false when none. */
static err_t device_of(db *d, const char *sql, const char *key, struct device *dv, bool *found,
                       errinfo *ei)
{
    db_stmt *st = NULL;
    memset(dv, 0, sizeof(*dv));
    err_t rc = db_query(d, &st, ei, sql, "t", key);
    if (!rc)
        rc = db_step(st, found, ei);
    if (!rc && *found) {
        snprintf(dv->id, sizeof(dv->id), "%s", db_col_text(st, 0));
        snprintf(dv->tag, sizeof(dv->tag), "%s", db_col_text(st, 1));
        snprintf(dv->status, sizeof(dv->status), "%s", db_col_text(st, 2));
        snprintf(dv->reason, sizeof(dv->reason), "%s",
                 db_col_null(st, 3) ? "" : db_col_text(st, 3));
        dv->status_at = db_col_int64(st, 4);
        snprintf(dv->instrument, sizeof(dv->instrument), "%s", db_col_text(st, 5));
    }
    db_finalize(st);
    return rc;
}

/* The reasons dv is not fit at at, as a new array of strings; with
 * schedules (may be NULL), each schedule's state too. */
static err_t reasons_of(db *d, const struct device *dv, int64_t at, json_t **reasons,
                        json_t *schedules, errinfo *ei)
{
    equip_applied sch[FIT_SCHEDULES_MAX];
    size_t n = 0;
    char day[11], text[EQUIP_REASON_MAX + 128];
    json_t *arr = json_array();
    *reasons = NULL;
    if (!arr)
        return ERR_NOMEM;
    if (strcmp(dv->status, "in-service")) {
        time_format_date(dv->status_at, day);
        if (dv->reason[0])
            snprintf(text, sizeof(text), "%s since %s: %s", dv->status, day, dv->reason);
        else
            snprintf(text, sizeof(text), "%s since %s", dv->status, day);
        json_array_append_new(arr, json_string(text));
    }
    err_t rc = equip_schedules_applied(d, dv->id, at, false, sch, FIT_SCHEDULES_MAX, &n, ei);
    for (size_t i = 0; !rc && i < n; i++) {
        const equip_applied *a = &sch[i];
        char label[64], due_at[TIME_ISO_LEN], overdue_at[TIME_ISO_LEN], last[TIME_ISO_LEN];
        equip_due du = equip_applied_due(a, 0, at);
        kind_label(a, label, sizeof(label));
        if (a->safety_critical && du.state == EQUIP_DUE_OVERDUE) {
            time_format_date(du.overdue_at, day);
            snprintf(text, sizeof(text), "%s overdue since %s", label, day);
            json_array_append_new(arr, json_string(text));
        } else if (a->safety_critical && a->last && !a->last_passed) {
            time_format_date(a->last, day);
            snprintf(text, sizeof(text), "%s failed on %s", label, day);
            json_array_append_new(arr, json_string(text));
        }
        if (!schedules)
            continue;
        time_format_iso(du.due_at, due_at);
        time_format_iso(du.overdue_at, overdue_at);
        time_format_iso(a->last, last);
        if (json_array_append_new(
                schedules,
                json_pack("{s:s,s:s,s:o,s:b,s:s,s:s,s:s,s:o,s:o}", "schedule_id", a->schedule_id,
                          "kind", a->kind, "template",
                          a->template_code[0] ? json_string(a->template_code) : json_null(),
                          "safety_critical", a->safety_critical, "state",
                          equip_due_state_name(du.state), "due_at", due_at, "overdue_at",
                          overdue_at, "last_done", a->last ? json_string(last) : json_null(),
                          "last_passed", a->last ? json_boolean(a->last_passed) : json_null())))
            rc = ERR_NOMEM;
    }
    /* tolerance QC of the device (qc/tolerance.h): a lockout, a check overdue */
    if (!rc)
        rc = qc_tolerance_fitness(d, dv->id, at, text, sizeof(text), ei);
    if (!rc && text[0] && json_array_append_new(arr, json_string(text)))
        rc = ERR_NOMEM;
    if (rc)
        json_decref(arr);
    else
        *reasons = arr;
    return rc;
}

err_t equip_fitness(db *d, const char *instrument, int64_t at, char *why, size_t n, errinfo *ei)
{
    struct device dv;
    bool found = false;
    json_t *reasons = NULL, *r;
    size_t i, len;
    if (n)
        why[0] = '\0';
    err_t rc = device_of(d, sql_by_instrument, instrument, &dv, &found, ei);
    if (rc || !found)
        return rc;
    rc = reasons_of(d, &dv, at, &reasons, NULL, ei);
    if (rc || !json_array_size(reasons) || !n) {
        json_decref(reasons);
        return rc;
    }
    len = (size_t)snprintf(why, n, "%s (%s): ", instrument, dv.tag);
    json_array_foreach(reasons, i, r)
    {
        if (len < n)
            len +=
                (size_t)snprintf(why + len, n - len, "%s%s", i ? "; " : "", json_string_value(r));
    }
    json_decref(reasons);
    return ERR_OK;
}

err_t equip_fitness_json(db *d, const char *tag, int64_t at, json_t **out, errinfo *ei)
{
    struct device dv;
    bool found = false;
    json_t *reasons = NULL, *schedules = json_array();
    char when[TIME_ISO_LEN];
    *out = NULL;
    err_t rc = schedules ? device_of(d, sql_by_tag, tag, &dv, &found, ei) : ERR_NOMEM;
    if (!rc && !found)
        rc = err_set(ei, ERR_NOT_FOUND, "tag", "no asset is tagged %.40s", tag);
    if (!rc)
        rc = reasons_of(d, &dv, at, &reasons, schedules, ei);
    time_format_iso(at, when);
    if (!rc && !(*out = json_pack("{s:s,s:o,s:s,s:b,s:O,s:O}", "asset", dv.tag, "instrument",
                                  dv.instrument[0] ? json_string(dv.instrument) : json_null(), "at",
                                  when, "fit", json_array_size(reasons) == 0, "reasons", reasons,
                                  "schedules", schedules)))
        rc = ERR_NOMEM;
    json_decref(reasons);
    json_decref(schedules);
    return rc;
}

err_t equip_fitness_recheck(db *d, const audit_ctx *ctx, const char *instrument, json_t **released,
                            errinfo *ei)
{
    json_t *ids = NULL;
    if (released)
        *released = NULL;
    err_t rc = result_recheck(d, ctx, NULL, instrument, &ids, ei);
    if (!rc && released)
        *released = ids;
    else
        json_decref(ids);
    return rc;
}
