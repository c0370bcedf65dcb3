/*
 * asset.c - the asset register (see asset.h): the table of asset classes,
 * registration, the list with its filters, edits, status changes and the
 * import of a whole register.
 *
 * Checks come first and write nothing; each write then runs in one
 * transaction with its audit event. A tag or an instrument link taken by a
 * concurrent request is still caught by the table's UNIQUE constraints
 * (ERR_CONFLICT), so the check before the write only gives the better
 * message.
 */
#include "equip/asset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "equip/fitness.h"
#include "equip/record.h"
#include "store/dbjson.h"

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* ---- classes ---- */

/* Every kind of device a department registers. Schedules may be set per
 * class (equip/schedule.h); calibration-standard is the class a calibration
 * names as its reference (equip/calibration.h). */
static const char *const classes[] = {
    /* laboratory analyzers and point of care */
    "chemistry-analyzer",
    "hematology-analyzer",
    "immunoassay-analyzer",
    "coagulation-analyzer",
    "urinalysis-analyzer",
    "blood-gas-analyzer",
    "poct",
    /* imaging */
    "mri",
    "ct",
    "xray",
    "ultrasound",
    "mammography",
    /* patient devices */
    "ecg",
    "patient-monitor",
    "pulse-oximeter",
    "defibrillator",
    "infusion-pump",
    /* laboratory equipment */
    "centrifuge",
    "autoclave",
    "cryostat",
    "microtome",
    "refrigerator",
    "freezer",
    "incubator",
    "biosafety-cabinet",
    "pipette",
    "balance",
    "thermometer",
    /* the references other devices are calibrated against */
    "calibration-standard",
};

bool equip_class_valid(const char *cls)
{
    for (size_t i = 0; cls && i < NFIELDS(classes); i++)
        if (!strcmp(classes[i], cls))
            return true;
    return false;
}

const char *equip_class_names(void)
{
    static char names[1024];
    if (!names[0]) {
        size_t n = 0;
        for (size_t i = 0; i < NFIELDS(classes) && n < sizeof(names); i++)
            n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", classes[i]);
    }
    return names;
}

bool equip_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > EQUIP_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool status_valid(const char *s)
{
    return s && (!strcmp(s, "in-service") || !strcmp(s, "out-of-service") || !strcmp(s, "retired"));
}

/* ---- SQL ---- */

#define ASSET_COLS                                                                                 \
    "SELECT id, tag, class, manufacturer, model, serial, location, risk_class, owner,"             \
    " install_date, status, status_reason, status_at, instrument, created_at, created_by,"         \
    " updated_at FROM assets"

static const char sql_by_tag[] = ASSET_COLS " WHERE tag = ?";
static const char sql_list[] =
    ASSET_COLS " WHERE (CAST(? AS TEXT) IS NULL OR class = ?) AND (CAST(? AS TEXT) IS NULL OR"
               " status = ?) AND (CAST(? AS TEXT) IS NULL OR location = ?) AND tag > ?"
               " ORDER BY tag LIMIT ?";
static const char sql_tag_taken[] = "SELECT COUNT(*) FROM assets WHERE tag = ?";
static const char sql_instrument[] = "SELECT COUNT(*) FROM instruments WHERE name = ?";
static const char sql_linked[] = "SELECT tag FROM assets WHERE instrument = ? AND tag <> ?";
static const char sql_insert[] =
    "INSERT INTO assets (id, tag, class, manufacturer, model, serial, location, risk_class,"
    " owner, install_date, status, status_reason, status_at, instrument, created_at, created_by,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_update[] =
    "UPDATE assets SET class = ?, manufacturer = ?, model = ?, serial = ?, location = ?,"
    " risk_class = ?, owner = ?, install_date = ?, instrument = ?, updated_at = ?"
    " WHERE id = ? AND status <> 'retired'";
static const char sql_head[] = "SELECT tag, status, instrument FROM assets WHERE id = ?";
static const char sql_status[] =
    "UPDATE assets SET status = ?, status_reason = ?, status_at = ?, updated_at = ?"
    " WHERE id = ? AND status = ?";
static const char sql_id_of[] = "SELECT id, status FROM assets WHERE tag = ?";

/* ---- request bodies ---- */

/* A new asset's fields; those of an edit are the nine after the tag (the
 * tag and the status are not edited). */
#define UPDATE_FIELDS  (&create_fields[1])
#define UPDATE_NFIELDS 9
static const jsonv_field create_fields[] = {
    {"tag", JSONV_STRING, true, EQUIP_TAG_MAX},
    {"class", JSONV_STRING, true, EQUIP_CLASS_MAX},
    {"manufacturer", JSONV_STRING, true, EQUIP_TEXT_MAX},
    {"model", JSONV_STRING, true, EQUIP_TEXT_MAX},
    {"serial", JSONV_STRING, true, EQUIP_TEXT_MAX},
    {"location", JSONV_STRING, true, EQUIP_TEXT_MAX},
    {"risk_class", JSONV_STRING, true, 8},
    {"owner", JSONV_STRING, true, EQUIP_TEXT_MAX},
    {"install_date", JSONV_STRING, false, 10},
    {"instrument", JSONV_STRING, false, 64},
    {"status", JSONV_STRING, false, EQUIP_STATUS_MAX},
    {"status_reason", JSONV_STRING, false, EQUIP_REASON_MAX},
};
static const jsonv_field status_fields[] = {
    {"status", JSONV_STRING, true, EQUIP_STATUS_MAX},
    {"reason", JSONV_STRING, false, EQUIP_REASON_MAX},
};

/* An asset as a request gives it; strings borrowed from the body. */
struct asset_in {
    const char *tag, *cls, *manufacturer, *model, *serial, *location, *risk, *owner;
    const char *install, *instrument, *status, *reason;
};

/* ---- reading ---- */

static json_t *asset_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:s,s:o}", "id",
                     db_col_text(st, 0), "tag", db_col_text(st, 1), "class", db_col_text(st, 2),
                     "manufacturer", db_col_text(st, 3), "model", db_col_text(st, 4), "serial",
                     db_col_text(st, 5), "location", db_col_text(st, 6), "risk_class",
                     db_col_text(st, 7), "owner", db_col_text(st, 8), "install_date",
                     db_col_json_text(st, 9), "status", db_col_text(st, 10), "status_reason",
                     db_col_json_text(st, 11), "status_at", db_col_json_time(st, 12), "instrument",
                     db_col_json_text(st, 13), "created_at", db_col_json_time(st, 14), "created_by",
                     db_col_text(st, 15), "updated_at", db_col_json_time(st, 16));
}

err_t equip_asset_get(db *d, const char *tag, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_by_tag, "t", tag);
    return equip_row(rc, st, asset_row, out, "tag", "asset is tagged", tag, ei);
}

err_t equip_asset_list(db *d, const char *cls, const char *status, const char *location,
                       const char *cursor, int limit, json_t **items, json_t **next, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    int n = 0;
    *items = *next = NULL;
    if (cls && !equip_class_valid(cls))
        return err_set(ei, ERR_INVALID, "class", "class must be one of: %s", equip_class_names());
    if (status && !status_valid(status))
        return err_set(ei, ERR_INVALID, "status",
                       "status must be in-service, out-of-service or retired");
    if (limit < 1 || limit > EQUIP_PAGE_MAX)
        return err_set(ei, ERR_INVALID, "limit", "limit must be from 1 to %d", EQUIP_PAGE_MAX);
    json_t *arr = json_array();
    if (!arr)
        return ERR_NOMEM;
    /* one more than asked, to know whether a next page exists */
    err_t rc = db_query(d, &st, ei, sql_list, "ttttttti", cls, cls, status, status, location,
                        location, cursor ? cursor : "", (int64_t)limit + 1);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        if (++n > limit) {
            *next = json_string(json_string_value(
                json_object_get(json_array_get(arr, json_array_size(arr) - 1), "tag")));
            break;
        }
        if (json_array_append_new(arr, asset_row(st)))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    if (rc) {
        json_decref(arr);
        json_decref(*next);
        *next = NULL;
        return rc;
    }
    *items = arr;
    return ERR_OK;
}

err_t equip_asset_id(db *d, const char *tag, const char *field, char id[ID_LEN + 1], char *status,
                     errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_query(d, &st, ei, sql_id_of, "t", tag);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_INVALID, field, "%s: no asset is tagged %.40s", field, tag);
    if (!rc) {
        snprintf(id, ID_LEN + 1, "%s", db_col_text(st, 0));
        if (status)
            snprintf(status, EQUIP_STATUS_MAX, "%s", db_col_text(st, 1));
    }
    db_finalize(st);
    return rc;
}

/* ---- checks ---- */

static err_t count_of(db *d, const char *sql, const char *arg, int64_t *n, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    err_t rc = db_query(d, &st, ei, sql, "t", arg);
    if (!rc && !(rc = db_step(st, &row, ei)) && row)
        *n = db_col_int64(st, 0);
    db_finalize(st);
    return rc;
}

/* The instrument link: an instrument of the register, linked to no other
 * asset than tag. */
static err_t check_instrument(db *d, const char *instrument, const char *tag, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    int64_t n = 0;
    err_t rc = count_of(d, sql_instrument, instrument, &n, ei);
    if (!rc && n == 0)
        return err_set(ei, ERR_INVALID, "instrument",
                       "instrument: no instrument is named %.64s in the interface register",
                       instrument);
    if (!rc)
        rc = db_query(d, &st, ei, sql_linked, "tt", instrument, tag);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        rc = err_set(ei, ERR_CONFLICT, "instrument",
                     "instrument %.64s is linked to asset %.40s already", instrument,
                     db_col_text(st, 0));
    db_finalize(st);
    return rc;
}

/* A status and its reason, as a request sets them. */
static err_t check_status(const char *status, const char *reason, const char *reason_field,
                          errinfo *ei)
{
    if (!status_valid(status))
        return err_set(ei, ERR_INVALID, "status",
                       "status must be in-service, out-of-service or retired");
    if (reason && !str_is_text(reason))
        return err_set(ei, ERR_INVALID, reason_field, "%s must be printable text", reason_field);
    if (strcmp(status, "in-service") && !reason)
        return err_set(ei, ERR_INVALID, reason_field, "%s: say why the asset is %s", reason_field,
                       status);
    return ERR_OK;
}

/* Check a body against fields (create_fields or update_fields) into a;
 * the database only for the instrument link (tag: the asset's own). */
static err_t check_asset(db *d, const json_t *body, bool create, const char *tag,
                         struct asset_in *a, errinfo *ei)
{
    static const char *const texts[] = {"manufacturer", "model", "serial", "location", "owner"};
    char today[11];
    memset(a, 0, sizeof(*a));
    err_t rc = create ? jsonv_check(body, create_fields, NFIELDS(create_fields), ei)
                      : jsonv_check(body, UPDATE_FIELDS, UPDATE_NFIELDS, ei);
    if (rc)
        return rc;
    a->tag = create ? jsonv_str(body, "tag") : tag;
    a->cls = jsonv_str(body, "class");
    a->manufacturer = jsonv_str(body, "manufacturer");
    a->model = jsonv_str(body, "model");
    a->serial = jsonv_str(body, "serial");
    a->location = jsonv_str(body, "location");
    a->risk = jsonv_str(body, "risk_class");
    a->owner = jsonv_str(body, "owner");
    a->install = jsonv_str(body, "install_date");
    a->instrument = jsonv_str(body, "instrument");
    a->status = create ? jsonv_str(body, "status") : NULL;
    a->reason = create ? jsonv_str(body, "status_reason") : NULL;
    if (create && !equip_name_valid(a->tag))
        return err_set(ei, ERR_INVALID, "tag",
                       "tag: 1 to %d letters, digits, '-', '_' or '.' (the label on the device)",
                       EQUIP_TAG_MAX);
    if (!equip_class_valid(a->cls))
        return err_set(ei, ERR_INVALID, "class", "class must be one of: %s", equip_class_names());
    for (size_t i = 0; i < NFIELDS(texts); i++)
        if (!str_is_text(jsonv_str(body, texts[i])))
            return err_set(ei, ERR_INVALID, texts[i], "%s must be printable text", texts[i]);
    if (strcmp(a->risk, "low") && strcmp(a->risk, "medium") && strcmp(a->risk, "high"))
        return err_set(ei, ERR_INVALID, "risk_class", "risk_class must be low, medium or high");
    time_format_date(time_now_us(), today);
    if (a->install && !time_date_valid(a->install))
        return err_set(ei, ERR_INVALID, "install_date",
                       "install_date must be a date YYYY-MM-DD of the calendar");
    if (a->install && strcmp(a->install, today) > 0)
        return err_set(ei, ERR_INVALID, "install_date", "install_date %s is in the future",
                       a->install);
    if (create) {
        if (!a->status)
            a->status = "in-service";
        rc = check_status(a->status, a->reason, "status_reason", ei);
        if (rc)
            return rc;
    }
    return a->instrument ? check_instrument(d, a->instrument, a->tag, ei) : ERR_OK;
}

/* ---- writing ---- */

static err_t insert_asset(db *d, const audit_ctx *ctx, const struct asset_in *a, int64_t now,
                          char id[ID_LEN + 1], errinfo *ei)
{
    int64_t taken = 0;
    err_t rc = count_of(d, sql_tag_taken, a->tag, &taken, ei);
    if (!rc && taken)
        return err_set(ei, ERR_CONFLICT, "tag", "an asset is tagged %s already", a->tag);
    id_new(id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_insert, "ttttttttttttititi", id, a->tag, a->cls,
                    a->manufacturer, a->model, a->serial, a->location, a->risk, a->owner,
                    a->install, a->status, a->reason, now, a->instrument, now,
                    ctx->actor ? ctx->actor : "system", now);
    if (rc == ERR_CONFLICT) /* a concurrent request took the tag or the link */
        rc = err_set(ei, ERR_CONFLICT, "tag",
                     "asset %s (or its instrument link) was registered meanwhile", a->tag);
    return rc;
}

err_t equip_asset_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    struct asset_in a;
    char id[ID_LEN + 1];
    *out = NULL;
    err_t rc = check_asset(d, body, true, NULL, &a, ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = insert_asset(d, ctx, &a, time_now_us(), id, ei);
    if (!rc) {
        json_t *detail =
            json_pack("{s:s,s:s,s:s}", "tag", a.tag, "class", a.cls, "status", a.status);
        rc = audit_write(d, ctx, "equip.asset.create", "asset", id, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = equip_asset_get(d, a.tag, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

err_t equip_asset_update(db *d, const audit_ctx *ctx, const char *tag, const json_t *body,
                         json_t **out, errinfo *ei)
{
    static const char *const edited[] = {"class",  "manufacturer", "model",
                                         "serial", "location",     "risk_class",
                                         "owner",  "install_date", "instrument"};
    struct asset_in a;
    json_t *before = NULL, *changes = NULL;
    int64_t changed = 0;
    *out = NULL;
    err_t rc = check_asset(d, body, false, tag, &a, ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = equip_asset_get(d, tag, &before, ei);
    if (!rc && !strcmp(json_string_value(json_object_get(before, "status")), "retired"))
        rc = err_set(ei, ERR_CONFLICT, "tag", "asset %s is retired: its record is closed", tag);
    const char *id = json_string_value(json_object_get(before, "id"));
    if (!rc)
        rc = db_run(d, ei, &changed, sql_update, "tttttttttit", a.cls, a.manufacturer, a.model,
                    a.serial, a.location, a.risk, a.owner, a.install, a.instrument, time_now_us(),
                    id);
    if (rc == ERR_CONFLICT && a.instrument && !changed)
        rc = err_set(ei, ERR_CONFLICT, "instrument",
                     "instrument %s was linked to another asset meanwhile", a.instrument);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "tag", "asset %s changed meanwhile; try again", tag);
    if (!rc)
        rc = equip_asset_get(d, tag, out, ei);
    if (!rc) {
        /* what changed, from and to, for the audit trail */
        changes = json_object();
        for (size_t i = 0; changes && i < NFIELDS(edited); i++) {
            json_t *was = json_object_get(before, edited[i]),
                   *now = json_object_get(*out, edited[i]);
            if (!json_equal(was, now))
                json_object_set_new(changes, edited[i], json_pack("[O,O]", was, now));
        }
        json_t *detail = changes ? json_pack("{s:s,s:O}", "tag", tag, "changes", changes) : NULL;
        rc = detail ? audit_write(d, ctx, "equip.asset.update", "asset", id, "ok", detail, ei)
                    : ERR_NOMEM;
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    json_decref(before);
    json_decref(changes);
    return rc;
}

err_t equip_asset_set_status(db *d, const audit_ctx *ctx, const char *asset_id, const char *status,
                             const char *reason, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    char tag[EQUIP_TAG_MAX + 1] = "", from[EQUIP_STATUS_MAX] = "", inst[65] = "";
    int64_t changed = 0, now = time_now_us();
    err_t rc = check_status(status, reason, "reason", ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_query(d, &st, ei, sql_head, "t", asset_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "asset", "no asset has id %.30s", asset_id);
    if (!rc) {
        snprintf(tag, sizeof(tag), "%s", db_col_text(st, 0));
        snprintf(from, sizeof(from), "%s", db_col_text(st, 1));
        snprintf(inst, sizeof(inst), "%s", db_col_null(st, 2) ? "" : db_col_text(st, 2));
    }
    db_finalize(st);
    if (!rc && !strcmp(from, "retired"))
        rc = err_set(ei, ERR_CONFLICT, "status",
                     "asset %s is retired: a retired asset does not return", tag);
    else if (!rc && !strcmp(from, status))
        rc = err_set(ei, ERR_CONFLICT, "status", "asset %s is %s already", tag, status);
    if (!rc)
        rc =
            db_run(d, ei, &changed, sql_status, "ttiitt", status, reason, now, now, asset_id, from);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "status", "asset %s changed meanwhile; try again", tag);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:s,s:s?}", "tag", tag, "from", from, "to", status,
                                   "reason", reason);
        rc = audit_write(d, ctx, "equip.asset.status", "asset", asset_id, "ok", detail, ei);
        json_decref(detail);
    }
    /* Out of service or retired, a device is not fit for use (equip/fitness.h). */
    if (!rc)
        rc = db_publish_json(
            d, "device.status",
            json_pack("{s:s,s:s,s:s}", "asset", tag, "status", status, "from", from), ei);
    /* back in service: what the gate held for this device may pass now */
    if (!rc && inst[0] && !strcmp(status, "in-service"))
        rc = equip_fitness_recheck(d, ctx, inst, NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        db_rollback(d);
    return rc;
}

err_t equip_asset_status(db *d, const audit_ctx *ctx, const char *tag, const json_t *body,
                         json_t **out, errinfo *ei)
{
    char id[ID_LEN + 1];
    *out = NULL;
    err_t rc = jsonv_check(body, status_fields, NFIELDS(status_fields), ei);
    if (rc)
        return rc;
    rc = equip_asset_get(d, tag, out, ei); /* 404 for an unknown tag */
    json_decref(*out);
    *out = NULL;
    if (!rc)
        rc = equip_asset_id(d, tag, "tag", id, NULL, ei);
    if (!rc)
        rc = equip_asset_set_status(d, ctx, id, jsonv_str(body, "status"),
                                    jsonv_str(body, "reason"), ei);
    if (!rc)
        rc = equip_asset_get(d, tag, out, ei);
    return rc;
}

/* ---- import ---- */

/* Say which item of the document is at fault: "assets[3].tag". */
err_t equip_field_at(errinfo *ei, err_t rc, const char *where)
{
    char field[64], message[sizeof(ei->message)];
    if (!ei)
        return rc;
    snprintf(field, sizeof(field), "%.30s%s%.30s", where, ei->field[0] ? "." : "", ei->field);
    snprintf(message, sizeof(message), "%.30s: %.400s", where, ei->message);
    return err_set(ei, rc, field, "%s", message);
}

static err_t at_item(errinfo *ei, err_t rc, size_t i)
{
    char where[24];
    snprintf(where, sizeof(where), "assets[%d]", (int)i); /* i < EQUIP_IMPORT_MAX */
    return equip_field_at(ei, rc, where);
}

err_t equip_asset_import(db *d, const audit_ctx *ctx, const json_t *doc, int *count, errinfo *ei)
{
    size_t n = json_array_size(doc), i;
    struct asset_in *all = NULL;
    json_t *tags = NULL;
    err_t rc = ERR_OK;
    *count = 0;
    if (!json_is_array(doc) || n == 0)
        return err_set(ei, ERR_INVALID, "assets",
                       "the document must be a JSON array of assets (at least one)");
    if (n > EQUIP_IMPORT_MAX)
        return err_set(ei, ERR_INVALID, "assets", "at most %d assets in one document",
                       EQUIP_IMPORT_MAX);
    all = calloc(n, sizeof(*all));
    tags = json_array();
    if (!all || !tags) {
        rc = ERR_NOMEM;
        goto done;
    }
    for (i = 0; i < n && !rc; i++) {
        const json_t *item = json_array_get(doc, i);
        if (!json_is_object(item)) {
            rc = err_set(ei, ERR_INVALID, NULL, "an asset must be an object");
            rc = at_item(ei, rc, i);
            break;
        }
        rc = check_asset(d, item, true, NULL, &all[i], ei);
        for (size_t k = 0; !rc && k < i; k++) {
            if (!strcmp(all[k].tag, all[i].tag))
                rc = err_set(ei, ERR_INVALID, "tag", "tag %s is also assets[%zu]'s", all[i].tag, k);
            else if (all[i].instrument && all[k].instrument &&
                     !strcmp(all[k].instrument, all[i].instrument))
                rc = err_set(ei, ERR_INVALID, "instrument",
                             "instrument %s is also linked to assets[%zu]", all[i].instrument, k);
        }
        if (rc)
            rc = at_item(ei, rc, i);
    }
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        goto done;
    int64_t now = time_now_us();
    for (i = 0; i < n && !rc; i++) {
        char id[ID_LEN + 1];
        rc = insert_asset(d, ctx, &all[i], now, id, ei);
        if (rc)
            rc = at_item(ei, rc, i);
        else if (json_array_append_new(tags, json_string(all[i].tag)))
            rc = ERR_NOMEM;
    }
    if (!rc) {
        json_t *detail = json_pack("{s:O}", "tags", tags);
        rc = audit_write(d, ctx, "equip.asset.import", "asset", NULL, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        db_rollback(d);
    else
        *count = (int)n;
done:
    free(all);
    json_decref(tags);
    return rc;
}
