/*
 * document.c - procedure documents: versions, approval, review and
 * read-and-understood acknowledgements (see document.h).
 */
#include "care/document.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/str.h"
#include "base/time.h"
#include "care/care.h"
#include "lab/result.h"
#include "store/dbjson.h"

#define VERSION_COLS                                                                               \
    "SELECT id, version, body, change_note, author, created_at, approved_by, approved_at,"         \
    " effective_on, review_due FROM care_document_versions"

static const char sql_doc_head[] =
    "SELECT code, title, audience, created_at, created_by FROM care_documents WHERE code = ?";
static const char sql_doc_codes[] = "SELECT code FROM care_documents ORDER BY code LIMIT 500";
static const char sql_doc_insert[] =
    "INSERT INTO care_documents (code, title, audience, created_at, created_by)"
    " VALUES (?, ?, ?, ?, ?)";
static const char sql_versions[] =
    VERSION_COLS " WHERE document_code = ? ORDER BY version DESC LIMIT 500";
static const char sql_current[] = VERSION_COLS " WHERE document_code = ? AND approved_at IS NOT"
                                               " NULL AND effective_on <= ? ORDER BY effective_on"
                                               " DESC, version DESC LIMIT 1";
static const char sql_draft[] = VERSION_COLS " WHERE document_code = ? AND approved_at IS NULL";
static const char sql_version_n[] = VERSION_COLS " WHERE document_code = ? AND version = ?";
static const char sql_version_insert[] =
    "INSERT INTO care_document_versions (id, document_code, version, body, change_note, author,"
    " created_at) VALUES (?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM"
    " care_document_versions WHERE document_code = ?), ?, ?, ?, ?)";
static const char sql_approve[] =
    "UPDATE care_document_versions SET approved_by = ?, approved_at = ?, effective_on = ?,"
    " review_due = ? WHERE document_code = ? AND version = ? AND approved_at IS NULL";
static const char sql_reads[] =
    "SELECT u.username, r.read_at FROM care_document_reads r JOIN users u ON u.id = r.user_id"
    " WHERE r.version_id = ? ORDER BY r.read_at, u.username LIMIT 1000";
static const char sql_unread[] =
    "SELECT u.username, u.role FROM users u WHERE u.disabled = 0 AND NOT EXISTS (SELECT 1 FROM"
    " care_document_reads r WHERE r.version_id = ? AND r.user_id = u.id) ORDER BY u.username"
    " LIMIT 1000";
static const char sql_read_insert[] =
    "INSERT INTO care_document_reads (version_id, user_id, read_at) VALUES (?, ?, ?)";

static json_t *version_row(db_stmt *st)
{
    return json_pack("{s:s,s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "id", db_col_text(st, 0),
                     "version", (json_int_t)db_col_int64(st, 1), "text", db_col_text(st, 2),
                     "change", db_col_text(st, 3), "author", db_col_text(st, 4), "created_at",
                     db_col_json_time(st, 5), "approved_by", db_col_json_text(st, 6), "approved_at",
                     db_col_json_time(st, 7), "effective_on", db_col_json_text(st, 8), "review_due",
                     db_col_json_text(st, 9));
}

static json_t *read_row(db_stmt *st)
{
    return json_pack("{s:s,s:o}", "user", db_col_text(st, 0), "read_at", db_col_json_time(st, 1));
}

/* The version of sql (code, and a second text parameter, may be NULL) into
 * *out, or JSON null when there is none. */
static err_t version_or_null(db *d, const char *sql, const char *code, const char *arg,
                             json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *out = NULL;
    err_t rc =
        arg ? db_query(d, &st, ei, sql, "tt", code, arg) : db_query(d, &st, ei, sql, "t", code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !(*out = row ? version_row(st) : json_null()))
        rc = ERR_NOMEM;
    db_finalize(st);
    return rc;
}

/* Who in audience (a JSON array of role names), enabled, has not
 * acknowledged version_id: a new array of usernames. */
static err_t unread(db *d, const char *version_id, const json_t *audience, json_t **out,
                    errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *names = json_array();
    *out = NULL;
    err_t rc = names ? db_query(d, &st, ei, sql_unread, "t", version_id) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        size_t i;
        json_t *r;
        json_array_foreach(audience, i, r)
        {
            if (!strcmp(json_string_value(r), db_col_text(st, 1)))
                json_array_append_new(names, json_string(db_col_text(st, 0)));
        }
    }
    db_finalize(st);
    if (rc)
        json_decref(names);
    else
        *out = names;
    return rc;
}

err_t care_doc_get(db *d, const char *code, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *audience = NULL, *current = NULL, *draft = NULL, *versions = NULL, *reads = NULL;
    json_t *not_read = NULL;
    json_error_t je;
    char today[11], title[CARE_TEXT_MAX + 1] = "", created_by[USER_NAME_MAX + 16] = "";
    int64_t created_at = 0;
    *out = NULL;
    care_today(today);
    err_t rc = db_query(d, &st, ei, sql_doc_head, "t", code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, "code", "no document has code %.32s", code);
    if (!rc) {
        snprintf(title, sizeof(title), "%s", db_col_text(st, 1));
        audience = json_loads(db_col_text(st, 2), 0, &je);
        created_at = db_col_int64(st, 3);
        snprintf(created_by, sizeof(created_by), "%s", db_col_text(st, 4));
        if (!audience)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = version_or_null(d, sql_current, code, today, &current, ei);
    if (!rc)
        rc = version_or_null(d, sql_draft, code, NULL, &draft, ei);
    if (!rc) {
        rc = db_query(d, &st, ei, sql_versions, "t", code);
        rc = db_rows_json(rc, st, version_row, &versions, ei);
    }
    const char *cid = jsonv_str(current, "id");
    if (!rc && cid) {
        rc = db_query(d, &st, ei, sql_reads, "t", cid);
        rc = db_rows_json(rc, st, read_row, &reads, ei);
    }
    if (!rc && cid)
        rc = unread(d, cid, audience, &not_read, ei);
    const char *due = jsonv_str(current, "review_due");
    char at[TIME_ISO_LEN];
    time_format_iso(created_at, at);
    if (!rc && !(*out = json_pack("{s:s,s:s,s:O,s:O,s:O,s:o,s:b,s:O,s:o,s:o,s:s,s:s}", "code", code,
                                  "title", title, "audience", audience, "current", current, "draft",
                                  draft, "review_due", due ? json_string(due) : json_null(),
                                  "review_overdue", due && strcmp(due, today) < 0, "versions",
                                  versions, "acknowledged", reads ? reads : json_array(),
                                  "not_read", not_read ? not_read : json_array(), "created_at", at,
                                  "created_by", created_by)))
        rc = ERR_NOMEM;
    json_decref(audience);
    json_decref(current);
    json_decref(draft);
    json_decref(versions);
    return rc;
}

err_t care_doc_list(db *d, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    json_t *codes = NULL, *list = json_array(), *c;
    size_t i;
    *items = NULL;
    err_t rc = list ? db_query(d, &st, ei, sql_doc_codes, "") : ERR_NOMEM;
    rc = db_rows_json(rc, st, care_text_row, &codes, ei);
    json_array_foreach(codes, i, c)
    {
        json_t *doc = NULL;
        if (rc)
            break;
        rc = care_doc_get(d, json_string_value(c), &doc, ei);
        if (!rc) {
            json_t *cur = json_object_get(doc, "current"), *dr = json_object_get(doc, "draft");
            json_array_append_new(
                list,
                json_pack(
                    "{s:O,s:O,s:o,s:O,s:o,s:O,s:O,s:I}", "code", json_object_get(doc, "code"),
                    "title", json_object_get(doc, "title"), "version",
                    json_is_null(cur) ? json_null() : json_copy(json_object_get(cur, "version")),
                    "effective_on",
                    json_is_null(cur) ? json_null() : json_object_get(cur, "effective_on"),
                    "draft_version",
                    json_is_null(dr) ? json_null() : json_copy(json_object_get(dr, "version")),
                    "review_due", json_object_get(doc, "review_due"), "review_overdue",
                    json_object_get(doc, "review_overdue"), "not_read_count",
                    (json_int_t)json_array_size(json_object_get(doc, "not_read"))));
        }
        json_decref(doc);
    }
    json_decref(codes);
    if (rc)
        json_decref(list);
    else
        *items = list;
    return rc;
}

/* ---- writing ---- */

static const jsonv_field doc_fields[] = {
    {"code", JSONV_STRING, true, CARE_CODE_MAX},
    {"title", JSONV_STRING, true, CARE_TEXT_MAX},
    {"text", JSONV_STRING, true, CARE_DOC_TEXT_MAX},
    {"audience", JSONV_ARRAY, false, 6},
};
static const jsonv_field version_fields[] = {
    {"text", JSONV_STRING, true, CARE_DOC_TEXT_MAX},
    {"change", JSONV_STRING, true, CARE_NOTE_MAX},
};
static const jsonv_field approve_fields[] = {
    {"effective_on", JSONV_STRING, true, 10},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};
static const jsonv_field ack_fields[] = {
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

/* The audience: role names of people, each once; default supervisor and
 * technician. *out is the JSON text to store (caller frees). */
static err_t check_audience(const json_t *audience, char **out, errinfo *ei)
{
    json_t *list =
        audience ? json_deep_copy(audience) : json_pack("[s,s]", "supervisor", "technician");
    size_t i;
    json_t *r;
    *out = NULL;
    if (!list)
        return ERR_NOMEM;
    if (json_array_size(list) == 0) {
        json_decref(list);
        return err_set(ei, ERR_INVALID, "audience", "audience names at least one role");
    }
    json_array_foreach(list, i, r)
    {
        perm_role role = perm_role_from_name(json_string_value(r));
        bool twice = false;
        for (size_t k = 0; k < i; k++)
            twice = twice || json_equal(json_array_get(list, k), r);
        if (role == ROLE_NONE || role == ROLE_INTERFACE || twice) {
            char f[40];
            snprintf(f, sizeof(f), "audience[%zu]", i);
            json_decref(list);
            return err_set(ei, ERR_INVALID, f,
                           "%s must be a role of people, each once: admin, supervisor, "
                           "technician, biomed or clinician",
                           f);
        }
    }
    *out = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return *out ? ERR_OK : ERR_NOMEM;
}

err_t care_doc_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    char vid[ID_LEN + 1], *audience = NULL;
    int64_t now = time_now_us();
    *out = NULL;
    err_t rc = jsonv_check(body, doc_fields, CARE_NFIELDS(doc_fields), ei);
    const char *code = jsonv_str(body, "code"), *title = jsonv_str(body, "title");
    const char *text = jsonv_str(body, "text");
    if (!rc && !equip_name_valid(code))
        rc =
            err_set(ei, ERR_INVALID, "code",
                    "code: 1 to %d letters, digits, '-', '_' or '.' (SOP-CHEM-012)", EQUIP_TAG_MAX);
    if (!rc)
        rc = care_text(title, "title", ei);
    if (!rc)
        rc = check_audience(json_object_get(body, "audience"), &audience, ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc) {
        free(audience);
        return rc;
    }
    rc = db_run(d, ei, NULL, sql_doc_insert, "tttit", code, title, audience, now, care_actor(ctx));
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "code", "a document has code %s already", code);
    id_new(vid);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_version_insert, "tttttti", vid, code, code, text,
                    "first version", care_actor(ctx), now);
    if (!rc)
        rc = care_audit(d, ctx, "care.document.create", "document", code,
                        json_pack("{s:s,s:s}", "title", title, "audience", audience), ei);
    free(audience);
    if (!rc)
        rc = care_doc_get(d, code, out, ei);
    return care_finish(d, rc, out, ei);
}

/* The document exists: ERR_NOT_FOUND naming "code" otherwise. */
static err_t doc_exists(db *d, const char *code, errinfo *ei)
{
    int64_t n = 0;
    err_t rc =
        care_count(d, "SELECT COUNT(*) FROM care_documents WHERE code = ?", &code, 1, &n, ei);
    if (!rc && n == 0)
        rc = err_set(ei, ERR_NOT_FOUND, "code", "no document has code %.32s", code);
    return rc;
}

err_t care_doc_version(db *d, const audit_ctx *ctx, const char *code, const json_t *body,
                       json_t **out, errinfo *ei)
{
    char vid[ID_LEN + 1];
    int64_t drafts = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, version_fields, CARE_NFIELDS(version_fields), ei);
    const char *text = jsonv_str(body, "text"), *change = jsonv_str(body, "change");
    if (!rc)
        rc = care_text(change, "change", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = doc_exists(d, code, ei);
    if (!rc)
        rc = care_count(d,
                        "SELECT COUNT(*) FROM care_document_versions WHERE document_code = ? AND"
                        " approved_at IS NULL",
                        &code, 1, &drafts, ei);
    if (!rc && drafts)
        rc = err_set(ei, ERR_CONFLICT, "code",
                     "a draft of %s waits for approval: approve it before the next version", code);
    id_new(vid);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_version_insert, "tttttti", vid, code, code, text, change,
                    care_actor(ctx), time_now_us());
    if (!rc)
        rc = care_audit(d, ctx, "care.document.version", "document", code,
                        json_pack("{s:s}", "change", change), ei);
    if (!rc)
        rc = care_doc_get(d, code, out, ei);
    return care_finish(d, rc, out, ei);
}

err_t care_doc_approve(db *d, const audit_ctx *ctx, const user *u, const char *code, int n,
                       const json_t *body, json_t **out, errinfo *ei)
{
    json_t *version = NULL;
    char today[11], due[11], number[16];
    int64_t changed = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, approve_fields, CARE_NFIELDS(approve_fields), ei);
    const char *effective = jsonv_str(body, "effective_on");
    care_today(today);
    if (!rc)
        rc = care_date(effective, "effective_on", false, ei);
    if (!rc && strcmp(effective, today) < 0)
        rc = err_set(ei, ERR_INVALID, "effective_on",
                     "effective_on (%s) is past: a version takes effect today or later", effective);
    snprintf(number, sizeof(number), "%d", n);
    if (!rc)
        rc = doc_exists(d, code, ei);
    if (!rc)
        rc = version_or_null(d, sql_version_n, code, number, &version, ei);
    if (!rc && json_is_null(version))
        rc = err_set(ei, ERR_NOT_FOUND, "version", "%s has no version %d", code, n);
    if (!rc && !json_is_null(json_object_get(version, "approved_at")))
        rc = err_set(ei, ERR_CONFLICT, "version", "version %d of %s is approved already", n, code);
    if (!rc && !strcmp(jsonv_str(version, "author"), u->username))
        rc = err_set(ei, ERR_INVALID, "version",
                     "version %d was written by you: another supervisor approves it", n);
    json_decref(version);
    rc = care_signed_begin(d, rc, ctx, u, body, ei);
    if (rc)
        return rc;
    care_date_add_months(effective, CARE_REVIEW_MONTHS, due);
    rc = db_run(d, ei, &changed, sql_approve, "tittti", u->username, time_now_us(), effective, due,
                code, (int64_t)n);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "version", "version %d of %s was approved meanwhile", n,
                     code);
    if (!rc)
        rc = care_audit(
            d, ctx, "care.document.approve", "document", code,
            json_pack("{s:i,s:s,s:s}", "version", n, "effective_on", effective, "review_due", due),
            ei);
    if (!rc)
        rc = care_doc_get(d, code, out, ei);
    return care_finish(d, rc, out, ei);
}

err_t care_doc_acknowledge(db *d, const audit_ctx *ctx, const user *u, const char *code,
                           const json_t *body, json_t **out, errinfo *ei)
{
    json_t *current = NULL;
    char today[11], vid[ID_LEN + 1] = "";
    int64_t version = 0;
    *out = NULL;
    err_t rc = jsonv_check(body, ack_fields, CARE_NFIELDS(ack_fields), ei);
    care_today(today);
    if (!rc)
        rc = doc_exists(d, code, ei);
    if (!rc)
        rc = version_or_null(d, sql_current, code, today, &current, ei);
    if (!rc && json_is_null(current))
        rc = err_set(ei, ERR_CONFLICT, "code", "no version of %s is in force yet", code);
    if (!rc) {
        snprintf(vid, sizeof(vid), "%s", jsonv_str(current, "id"));
        version = json_integer_value(json_object_get(current, "version"));
    }
    json_decref(current);
    rc = care_signed_begin(d, rc, ctx, u, body, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_read_insert, "tti", vid, u->id, time_now_us());
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "code", "you acknowledged version %lld of %s already",
                     (long long)version, code);
    if (!rc)
        rc = care_audit(d, ctx, "care.document.read", "document", code,
                        json_pack("{s:I}", "version", (json_int_t)version), ei);
    if (!rc)
        rc = care_doc_get(d, code, out, ei);
    return care_finish(d, rc, out, ei);
}
