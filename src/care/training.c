/*
 * training.c - training items, assignments and signed sign-off (see
 * training.h).
 */
#include "care/training.h"

#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/time.h"
#include "care/care.h"
#include "lab/result.h"
#include "store/dbjson.h"

static const char *const kinds[] = {"course", "device", "procedure"};

#define ITEM_COLS                                                                                  \
    "SELECT code, kind, title, document_code, asset_class, new_staff, created_at, created_by"      \
    " FROM care_training_items"
#define ASSIGN_COLS                                                                                \
    "SELECT a.id, a.item_code, i.title, i.kind, u.username, a.due_on, a.assigned_at,"              \
    " a.assigned_by, a.completed_on, a.trainer, a.signed_off_at, a.note FROM"                      \
    " care_training_assignments a JOIN care_training_items i ON i.code = a.item_code JOIN users u" \
    " ON u.id = a.user_id"

static const char sql_item_one[] = ITEM_COLS " WHERE code = ?";
static const char sql_item_list[] = ITEM_COLS " ORDER BY code LIMIT 500";
static const char sql_new_staff[] = "SELECT code FROM care_training_items WHERE new_staff = 1"
                                    " ORDER BY code LIMIT 500";
static const char sql_item_insert[] =
    "INSERT INTO care_training_items (code, kind, title, document_code, asset_class, new_staff,"
    " created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_assign_one[] = ASSIGN_COLS " WHERE a.id = ?";
static const char sql_assign_list[] =
    ASSIGN_COLS " WHERE (CAST(? AS TEXT) IS NULL OR u.username = ?) AND (? = 0 OR"
                " a.signed_off_at IS NULL) ORDER BY a.due_on, a.item_code LIMIT 500";
static const char sql_assign_insert[] =
    "INSERT INTO care_training_assignments (id, item_code, user_id, due_on, assigned_at,"
    " assigned_by) VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_open_of[] =
    "SELECT COUNT(*) FROM care_training_assignments WHERE item_code = ? AND user_id = ? AND"
    " signed_off_at IS NULL";
static const char sql_sign_off[] =
    "UPDATE care_training_assignments SET completed_on = ?, trainer = ?, signed_off_at = ?,"
    " note = ? WHERE id = ? AND signed_off_at IS NULL";

static json_t *item_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:o,s:s}", "code", db_col_text(st, 0), "kind",
                     db_col_text(st, 1), "title", db_col_text(st, 2), "document",
                     db_col_json_text(st, 3), "class", db_col_json_text(st, 4), "new_staff",
                     db_col_int64(st, 5) != 0, "created_at", db_col_json_time(st, 6), "created_by",
                     db_col_text(st, 7));
}

static json_t *assign_row(db_stmt *st)
{
    char today[11];
    care_today(today);
    bool open = db_col_null(st, 10);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:s,s:o,s:o,s:o,s:o}", "id",
                     db_col_text(st, 0), "item", db_col_text(st, 1), "title", db_col_text(st, 2),
                     "kind", db_col_text(st, 3), "user", db_col_text(st, 4), "due_on",
                     db_col_text(st, 5), "overdue", open && strcmp(db_col_text(st, 5), today) < 0,
                     "assigned_at", db_col_json_time(st, 6), "assigned_by", db_col_text(st, 7),
                     "completed_on", db_col_json_text(st, 8), "trainer", db_col_json_text(st, 9),
                     "signed_off_at", db_col_json_time(st, 10), "note", db_col_json_text(st, 11));
}

/* ---- items ---- */

static const jsonv_field item_fields[] = {
    {"code", JSONV_STRING, true, CARE_CODE_MAX},
    {"kind", JSONV_STRING, true, 16},
    {"title", JSONV_STRING, true, CARE_TEXT_MAX},
    {"document", JSONV_STRING, false, CARE_CODE_MAX},
    {"class", JSONV_STRING, false, EQUIP_CLASS_MAX},
    {"new_staff", JSONV_BOOL, false, 0},
};

/* What kind needs besides its title: a document, a device class. */
static err_t kind_target(db *d, const char *kind, const char *document, const char *cls,
                         errinfo *ei)
{
    int64_t n = 0;
    bool procedure = !strcmp(kind, "procedure"), device = !strcmp(kind, "device");
    if (procedure != (document != NULL))
        return err_set(ei, procedure ? ERR_MISSING_FIELD : ERR_INVALID, "document", "document: %s",
                       procedure ? "a procedure's training names its document"
                                 : "only a procedure's training names a document");
    if (device != (cls != NULL))
        return err_set(ei, device ? ERR_MISSING_FIELD : ERR_INVALID, "class", "class: %s",
                       device ? "a device's training names its asset class"
                              : "only a device's training names a class");
    if (cls && !equip_class_valid(cls))
        return err_set(ei, ERR_INVALID, "class", "class: %s is not an asset class (%s)", cls,
                       equip_class_names());
    if (!document)
        return ERR_OK;
    err_t rc =
        care_count(d, "SELECT COUNT(*) FROM care_documents WHERE code = ?", &document, 1, &n, ei);
    if (!rc && n == 0)
        rc = err_set(ei, ERR_INVALID, "document", "document: no document has code %.32s", document);
    return rc;
}

err_t care_training_item_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                                errinfo *ei)
{
    *out = NULL;
    err_t rc = jsonv_check(body, item_fields, CARE_NFIELDS(item_fields), ei);
    const char *code = jsonv_str(body, "code"), *kind = jsonv_str(body, "kind");
    const char *title = jsonv_str(body, "title"), *document = jsonv_str(body, "document");
    const char *cls = jsonv_str(body, "class");
    bool new_staff = json_is_true(json_object_get(body, "new_staff"));
    if (!rc && !equip_name_valid(code))
        rc = err_set(ei, ERR_INVALID, "code",
                     "code: 1 to %d letters, digits, '-', '_' or '.' (BLOOD-BORNE-2026)",
                     EQUIP_TAG_MAX);
    if (!rc)
        rc = care_enum(kind, kinds, CARE_NFIELDS(kinds), "kind", ei);
    if (!rc)
        rc = care_text(title, "title", ei);
    if (!rc)
        rc = kind_target(d, kind, document, cls, ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_item_insert, "tttttiit", code, kind, title, document, cls,
                (int64_t)new_staff, time_now_us(), care_actor(ctx));
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "code", "a training item has code %s already", code);
    if (!rc)
        rc = care_audit(
            d, ctx, "care.training.item", "training_item", code,
            json_pack("{s:s,s:s,s:b}", "kind", kind, "title", title, "new_staff", new_staff), ei);
    if (!rc)
        rc =
            care_get(d, sql_item_one, code, item_row, out, "code", "the training item is gone", ei);
    return care_finish(d, rc, out, ei);
}

err_t care_training_item_list(db *d, json_t **items, errinfo *ei)
{
    return care_list(d, sql_item_list, item_row, items, ei);
}

/* ---- assignments ---- */

static const jsonv_field assign_fields[] = {
    {"user", JSONV_STRING, true, USER_NAME_MAX},
    {"items", JSONV_ARRAY, false, CARE_ASSIGN_MAX},
    {"new_staff", JSONV_BOOL, false, 0},
    {"due_on", JSONV_STRING, true, 10},
};

/* The codes to assign: body's items (each known, once) and with new_staff
 * the new-staff checklist; *codes is a new array. */
static err_t codes_to_assign(db *d, const json_t *body, json_t **codes, errinfo *ei)
{
    const json_t *listed = json_object_get(body, "items");
    json_t *all = json_array(), *v, *checklist = NULL;
    size_t i;
    err_t rc = all ? ERR_OK : ERR_NOMEM;
    *codes = NULL;
    json_array_foreach(listed, i, v)
    {
        char f[40];
        int64_t n = 0;
        const char *code = json_string_value(v);
        snprintf(f, sizeof(f), "items[%zu]", i);
        if (rc)
            break;
        if (!code)
            rc = err_set(ei, ERR_INVALID, f, "%s must be an item's code", f);
        if (!rc && care_has_string(all, code))
            rc = err_set(ei, ERR_INVALID, f, "%s: %s is listed twice", f, code);
        if (!rc)
            rc = care_count(d, "SELECT COUNT(*) FROM care_training_items WHERE code = ?", &code, 1,
                            &n, ei);
        if (!rc && n == 0)
            rc = err_set(ei, ERR_INVALID, f, "%s: no training item has code %.32s", f, code);
        if (!rc)
            json_array_append_new(all, json_string(code));
    }
    if (!rc && json_is_true(json_object_get(body, "new_staff"))) {
        db_stmt *st = NULL;
        rc = db_query(d, &st, ei, sql_new_staff, "");
        rc = db_rows_json(rc, st, care_text_row, &checklist, ei);
        json_array_foreach(checklist, i, v)
        {
            if (!care_has_string(all, json_string_value(v)))
                json_array_append(all, v);
        }
        json_decref(checklist);
    }
    if (!rc && json_array_size(all) == 0)
        rc = err_set(ei, ERR_INVALID, "items",
                     "items: name the items, or new_staff for the new-staff checklist (which "
                     "has none yet)");
    if (rc)
        json_decref(all);
    else
        *codes = all;
    return rc;
}

err_t care_training_assign(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei)
{
    user u;
    json_t *codes = NULL, *made = NULL, *v;
    size_t i;
    char today[11];
    int64_t now = time_now_us();
    *out = NULL;
    err_t rc = jsonv_check(body, assign_fields, CARE_NFIELDS(assign_fields), ei);
    const char *due = jsonv_str(body, "due_on");
    care_today(today);
    if (!rc)
        rc = care_date(due, "due_on", false, ei);
    if (!rc && strcmp(due, today) < 0)
        rc = err_set(ei, ERR_INVALID, "due_on", "due_on (%s) is past", due);
    if (!rc)
        rc = care_user(d, jsonv_str(body, "user"), "user", &u, ei);
    if (!rc)
        rc = codes_to_assign(d, body, &codes, ei);
    if (!rc && !(made = json_array()))
        rc = ERR_NOMEM;
    if (!rc)
        rc = db_begin(d, ei);
    if (rc) {
        json_decref(codes);
        json_decref(made);
        return rc;
    }
    json_array_foreach(codes, i, v)
    {
        const char *args[] = {json_string_value(v), u.id};
        char id[ID_LEN + 1];
        int64_t open = 0;
        if (rc)
            break;
        rc = care_count(d, sql_open_of, args, 2, &open, ei);
        if (!rc && open)
            rc = err_set(ei, ERR_CONFLICT, "items", "%s has %s assigned already, not signed off",
                         u.username, args[0]);
        id_new(id);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_assign_insert, "ttttit", id, args[0], u.id, due, now,
                        care_actor(ctx));
        if (!rc) {
            json_t *a = NULL;
            rc =
                care_get(d, sql_assign_one, id, assign_row, &a, "id", "the assignment is gone", ei);
            if (!rc)
                json_array_append_new(made, a);
        }
    }
    if (!rc)
        rc = care_audit(d, ctx, "care.training.assign", "user", u.id,
                        json_pack("{s:O,s:s,s:b}", "items", codes, "due_on", due, "new_staff",
                                  json_is_true(json_object_get(body, "new_staff"))),
                        ei);
    json_decref(codes);
    if (!rc && !(*out = json_pack("{s:o}", "items", made)))
        rc = ERR_NOMEM;
    if (rc && !*out)
        json_decref(made);
    return care_finish(d, rc, out, ei);
}

err_t care_training_list(db *d, const char *username, bool open_only, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_assign_list, "tti", username, username, (int64_t)open_only);
    return db_rows_json(rc, st, assign_row, items, ei);
}

static const jsonv_field sign_fields[] = {
    {"completed_on", JSONV_STRING, true, 10},
    {"note", JSONV_STRING, false, CARE_NOTE_MAX},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

err_t care_training_sign_off(db *d, const audit_ctx *ctx, const user *u, const char *id,
                             const json_t *body, json_t **out, errinfo *ei)
{
    json_t *before = NULL;
    int64_t changed = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, sign_fields, CARE_NFIELDS(sign_fields), ei);
    const char *on = jsonv_str(body, "completed_on"), *note = jsonv_str(body, "note");
    if (!rc)
        rc = care_date(on, "completed_on", true, ei);
    if (!rc)
        rc = care_text(note, "note", ei);
    if (!rc) {
        rc = care_get(d, sql_assign_one, id, assign_row, &before, "id",
                      "no training assignment has this id", ei);
    }
    if (!rc && !strcmp(jsonv_str(before, "user"), u->username))
        rc = err_set(ei, ERR_INVALID, "id", "a trainer signs off someone else's training");
    if (!rc && !json_is_null(json_object_get(before, "signed_off_at")))
        rc = err_set(ei, ERR_CONFLICT, "id", "this training was signed off already");
    rc = care_signed_begin(d, rc, ctx, u, body, ei);
    if (rc) {
        json_decref(before);
        return rc;
    }
    rc = db_run(d, ei, &changed, sql_sign_off, "ttitt", on, u->username, time_now_us(), note, id);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "id", "this training was signed off meanwhile");
    if (!rc)
        rc = care_audit(d, ctx, "care.training.sign-off", "training_assignment", id,
                        json_pack("{s:s,s:s,s:s}", "item", jsonv_str(before, "item"), "user",
                                  jsonv_str(before, "user"), "completed_on", on),
                        ei);
    json_decref(before);
    if (!rc)
        rc = care_get(d, sql_assign_one, id, assign_row, out, "id", "the assignment is gone", ei);
    return care_finish(d, rc, out, ei);
}
