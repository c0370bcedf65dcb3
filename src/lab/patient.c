/*
 * patient.c - patient records (see patient.h).
 */
#include "lab/patient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonv.h"
#include "base/time.h"
#include "base/utf8.h"

#define COLS "id, mrn, family, given, birth_date, sex, created_at, updated_at, identifiers"

static const char sql_insert[] =
    "INSERT INTO patients (id, mrn, family, given, name_key, birth_date, sex, identifiers,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_by_id[] = "SELECT " COLS " FROM patients WHERE id = ?";
static const char sql_by_mrn[] = "SELECT " COLS " FROM patients WHERE mrn = ?";
static const char sql_update[] = "UPDATE patients SET family = ?, given = ?, name_key = ?,"
                                 " birth_date = ?, sex = ?, updated_at = ? WHERE id = ?";
static const char sql_same_person[] =
    "SELECT " COLS " FROM patients WHERE name_key = ? AND birth_date = ? ORDER BY id LIMIT 1";
static const char sql_search[] = "SELECT " COLS " FROM patients"
                                 " WHERE (CAST(? AS TEXT) IS NULL OR mrn = ?)"
                                 " AND (CAST(? AS TEXT) IS NULL OR name_key LIKE ? ESCAPE '!')"
                                 " AND (CAST(? AS TEXT) IS NULL OR birth_date = ?)"
                                 " AND id < ? ORDER BY id DESC LIMIT ?";

static const jsonv_field create_fields[] = {
    {"mrn", JSONV_STRING, true, PATIENT_MRN_MAX},
    {"family", JSONV_STRING, true, PATIENT_NAME_MAX},
    {"given", JSONV_STRING, true, PATIENT_NAME_MAX},
    {"birth_date", JSONV_STRING, true, 10},
    {"sex", JSONV_STRING, true, 8},
    {"identifiers", JSONV_ARRAY, false, 10},
    {"confirm_new", JSONV_BOOL, false, 0},
};

static const jsonv_field identifier_fields[] = {
    {"system", JSONV_STRING, true, 64},
    {"value", JSONV_STRING, true, 64},
};

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* s without leading and trailing spaces, into out (size n). */
static void trim(const char *s, char *out, size_t n)
{
    while (*s == ' ')
        s++;
    size_t len = strlen(s);
    while (len && s[len - 1] == ' ')
        len--;
    snprintf(out, n, "%.*s", (int)len, s);
}

static err_t check_mrn(const char *mrn, errinfo *ei)
{
    for (const char *p = mrn; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              *p == '-'))
            return err_set(ei, ERR_INVALID, "mrn",
                           "mrn may hold only letters, digits and '-' (1 to %d)", PATIENT_MRN_MAX);
    return ERR_OK;
}

static err_t check_birth_date(const char *s, errinfo *ei)
{
    int64_t t = 0, earliest = 0;
    errinfo tei = {0};
    if (strlen(s) != 10 || time_parse_iso(s, 10, &t, &tei))
        return err_set(ei, ERR_INVALID, "birth_date",
                       "birth_date must be a calendar date YYYY-MM-DD");
    if (t > time_now_us())
        return err_set(ei, ERR_INVALID, "birth_date", "birth_date %s is in the future", s);
    time_parse_iso("1870-01-01", 10, &earliest, NULL);
    if (t < earliest)
        return err_set(ei, ERR_INVALID, "birth_date", "birth_date %s is before 1870", s);
    return ERR_OK;
}

/* s[0..len) in capitals (utf8_upper), appended to b; bytes that are no
 * UTF-8 are kept as they are. */
static void fold(const char *s, size_t len, buf *b)
{
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        char enc[4];
        int32_t cp = utf8_decode((const unsigned char *)s + i, &n);
        if (cp < 0 || i + n > len) {
            buf_append(b, s + i, 1);
            i++;
            continue;
        }
        buf_append(b, enc, utf8_encode(utf8_upper((uint32_t)cp), enc));
        i += n;
    }
}

/* "FAMILY|GIVEN", trimmed and in capitals, for search and duplicates. */
static void name_key(const char *family, const char *given, char *out, size_t n)
{
    buf b = BUF_INIT;
    const char *parts[2] = {family, given};
    for (int k = 0; k < 2; k++) {
        const char *s = parts[k];
        while (*s == ' ')
            s++;
        size_t len = strlen(s);
        while (len && s[len - 1] == ' ')
            len--;
        fold(s, len, &b);
        if (k == 0)
            buf_append(&b, "|", 1);
    }
    snprintf(out, n, "%s", b.data ? b.data : "");
    buf_free(&b);
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static void row_to_patient(db_stmt *st, patient *p)
{
    memset(p, 0, sizeof(*p));
    copy(p->id, sizeof(p->id), db_col_text(st, 0));
    copy(p->mrn, sizeof(p->mrn), db_col_text(st, 1));
    copy(p->family, sizeof(p->family), db_col_text(st, 2));
    copy(p->given, sizeof(p->given), db_col_text(st, 3));
    copy(p->birth_date, sizeof(p->birth_date), db_col_text(st, 4));
    copy(p->sex, sizeof(p->sex), db_col_text(st, 5));
    p->created_at = db_col_int64(st, 6);
    p->updated_at = db_col_int64(st, 7);
}

static json_t *row_ids(db_stmt *st)
{
    json_error_t je;
    const char *t = db_col_text(st, 8);
    json_t *ids = t ? json_loads(t, 0, &je) : NULL;
    return ids ? ids : json_array();
}

/* One row by key (and key2 when the query has a second parameter); *ids (may
 * be NULL) receives the identifiers. */
static err_t get_one2(db *d, const char *sql, const char *key, const char *key2, patient *out,
                      json_t **ids, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_prepare(d, sql, &st, ei);
    if (rc)
        return rc;
    rc = db_bind_str(st, 1, key);
    if (!rc && key2)
        rc = db_bind_str(st, 2, key2);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such patient");
    if (!rc) {
        row_to_patient(st, out);
        if (ids)
            *ids = row_ids(st);
    }
    db_finalize(st);
    return rc;
}

static err_t get_one(db *d, const char *sql, const char *key, patient *out, json_t **ids,
                     errinfo *ei)
{
    return get_one2(d, sql, key, NULL, out, ids, ei);
}

err_t patient_get(db *d, const char *id, patient *out, errinfo *ei)
{
    return get_one(d, sql_by_id, id, out, NULL, ei);
}

json_t *patient_to_json(const patient *p, const json_t *ids)
{
    char created[TIME_ISO_LEN], updated[TIME_ISO_LEN];
    time_format_iso(p->created_at, created);
    time_format_iso(p->updated_at, updated);
    /* "o" takes a reference: a new empty array, or one more on the caller's */
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "id", p->id, "mrn", p->mrn, "family",
                     p->family, "given", p->given, "birth_date", p->birth_date, "sex", p->sex,
                     "identifiers", ids ? json_incref((json_t *)ids) : json_array(), "created_at",
                     created, "updated_at", updated);
}

static err_t check_identifiers(const json_t *ids, errinfo *ei)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        char field[64];
        snprintf(field, sizeof(field), "identifiers[%zu]", i);
        if (!json_is_object(v))
            return err_set(ei, ERR_INVALID, field, "%s must be {\"system\",\"value\"}", field);
        if (jsonv_check(v, identifier_fields, 2, ei)) {
            char inner[64];
            snprintf(inner, sizeof(inner), "%s", ei ? ei->field : "");
            if (ei)
                snprintf(ei->field, sizeof(ei->field), "%.30s.%.30s", field, inner);
            return ei ? ei->code : ERR_INVALID;
        }
    }
    return ERR_OK;
}

/* The person fields of a create or sync body, checked; names trimmed into
 * family and given, the search key into key. */
static err_t check_person(const json_t *body, char family[PATIENT_NAME_MAX + 1],
                          char given[PATIENT_NAME_MAX + 1], char key[2 * PATIENT_NAME_MAX + 2],
                          errinfo *ei)
{
    const char *sex = jsonv_str(body, "sex");
    const json_t *ids = json_object_get(body, "identifiers");
    err_t rc = check_mrn(jsonv_str(body, "mrn"), ei);
    if (rc)
        return rc;
    trim(jsonv_str(body, "family"), family, PATIENT_NAME_MAX + 1);
    trim(jsonv_str(body, "given"), given, PATIENT_NAME_MAX + 1);
    if (!*family)
        return err_set(ei, ERR_INVALID, "family", "family must not be blank");
    if (!*given)
        return err_set(ei, ERR_INVALID, "given", "given must not be blank");
    if (!printable(family))
        return err_set(ei, ERR_INVALID, "family", "family holds a control character");
    if (!printable(given))
        return err_set(ei, ERR_INVALID, "given", "given holds a control character");
    rc = check_birth_date(jsonv_str(body, "birth_date"), ei);
    if (rc)
        return rc;
    if (strcmp(sex, "female") && strcmp(sex, "male") && strcmp(sex, "other") &&
        strcmp(sex, "unknown"))
        return err_set(ei, ERR_INVALID, "sex", "sex must be female, male, other or unknown");
    if (ids && !json_is_null(ids)) {
        rc = check_identifiers(ids, ei);
        if (rc)
            return rc;
    }
    name_key(family, given, key, 2 * PATIENT_NAME_MAX + 2);
    return ERR_OK;
}

err_t patient_create(db *d, const audit_ctx *ctx, const json_t *body, patient *out,
                     json_t **candidate, errinfo *ei)
{
    char id[ID_LEN + 1], key[2 * PATIENT_NAME_MAX + 2];
    char family[PATIENT_NAME_MAX + 1], given[PATIENT_NAME_MAX + 1];
    const char *mrn, *birth, *sex;
    json_t *ids, *same_ids = NULL;
    char *ids_text = NULL;
    int64_t now = time_now_us();
    patient same;
    err_t rc;

    *candidate = NULL;
    rc = jsonv_check(body, create_fields, sizeof(create_fields) / sizeof(create_fields[0]), ei);
    if (!rc)
        rc = check_person(body, family, given, key, ei);
    if (rc)
        return rc;
    mrn = jsonv_str(body, "mrn");
    birth = jsonv_str(body, "birth_date");
    sex = jsonv_str(body, "sex");
    ids = json_object_get(body, "identifiers");
    ids_text = ids && json_is_array(ids) ? json_dumps(ids, JSON_COMPACT) : strdup("[]");
    if (!ids_text)
        return ERR_NOMEM;

    rc = db_begin(d, ei);
    if (rc)
        goto done;
    rc = get_one(d, sql_by_mrn, mrn, &same, NULL, ei);
    if (!rc) {
        rc = err_set(ei, ERR_CONFLICT, "mrn", "mrn %s belongs to another patient already", mrn);
        goto fail;
    }
    if (rc != ERR_NOT_FOUND)
        goto fail;
    if (!json_is_true(json_object_get(body, "confirm_new"))) {
        rc = get_one2(d, sql_same_person, key, birth, &same, &same_ids, ei);
        if (rc && rc != ERR_NOT_FOUND)
            goto fail;
        if (!rc) {
            /* Showing the candidate is a read of that record. */
            rc = audit_write(d, ctx, "patient.read", "patient", same.id, "ok", NULL, ei);
            if (!rc)
                rc = db_commit(d, ei);
            if (rc)
                goto fail;
            *candidate = patient_to_json(&same, same_ids);
            rc = err_set(ei, ERR_CONFLICT, "birth_date",
                         "a patient with this name and birth date exists (MRN %s); send "
                         "\"confirm_new\": true if this is a different person",
                         same.mrn);
            goto done;
        }
    }
    id_new(id);
    rc = db_run(d, ei, NULL, sql_insert, "ttttttttii", id, mrn, family, given, key, birth, sex,
                ids_text, now, now);
    if (rc == ERR_CONFLICT)
        err_set(ei, ERR_CONFLICT, "mrn", "mrn %s belongs to another patient already", mrn);
    if (rc)
        goto fail;
    json_t *detail = json_pack("{s:s}", "mrn", mrn);
    rc = audit_write(d, ctx, "patient.create", "patient", id, "ok", detail, ei);
    json_decref(detail);
    if (rc)
        goto fail;
    rc = db_commit(d, ei);
    if (!rc && out)
        rc = patient_get(d, id, out, ei);
    goto done;
fail:
    db_rollback(d);
done:
    json_decref(same_ids);
    free(ids_text);
    return rc;
}

err_t patient_read(db *d, const audit_ctx *ctx, const char *id, patient *out, json_t **ids,
                   errinfo *ei)
{
    if (ids)
        *ids = NULL;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = get_one(d, sql_by_id, id, out, ids, ei);
    if (!rc)
        rc = audit_write(d, ctx, "patient.read", "patient", id, "ok", NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        if (ids) {
            json_decref(*ids);
            *ids = NULL;
        }
    }
    return rc;
}

/* A LIKE pattern matching keys that start with s (a name key); '!' escapes. */
static void like_prefix(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 3 < n; s++) {
        char c = *s;
        if (c == '%' || c == '_' || c == '!')
            out[o++] = '!';
        out[o++] = c;
    }
    out[o++] = '%';
    out[o] = '\0';
}

err_t patient_search(db *d, const audit_ctx *ctx, const char *mrn, const char *name,
                     const char *birth_date, int limit, const char *after, json_t **items,
                     char next[ID_LEN + 1], errinfo *ei)
{
    char pattern[2 * PATIENT_NAME_MAX + 8] = "", fam[PATIENT_NAME_MAX + 1] = "";
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array(), *found = json_array(), *criteria = json_array();
    int count = 0;
    err_t rc;

    *items = NULL;
    next[0] = '\0';
    if (!arr || !found || !criteria) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (!mrn && !name && !birth_date) {
        rc = err_set(ei, ERR_MISSING_FIELD, "mrn", "search by mrn, name or birth_date");
        goto out;
    }
    if (after && *after && !id_valid(after, strlen(after))) {
        rc = err_set(ei, ERR_INVALID, "cursor", "cursor must be a value from 'next'");
        goto out;
    }
    if (birth_date && check_birth_date(birth_date, ei)) {
        rc = ERR_INVALID;
        goto out;
    }
    if (name) {
        /* "family, given" searches both parts; "family" the family name. */
        const char *comma = strchr(name, ',');
        if (strlen(name) > 2 * PATIENT_NAME_MAX || !*name) {
            rc = err_set(ei, ERR_INVALID, "name", "name must be 1 to %d characters",
                         2 * PATIENT_NAME_MAX);
            goto out;
        }
        if (comma) {
            char given[PATIENT_NAME_MAX + 1];
            snprintf(fam, sizeof(fam), "%.*s", (int)(comma - name), name);
            const char *g = comma + 1;
            while (*g == ' ')
                g++;
            snprintf(given, sizeof(given), "%s", g);
            char key[2 * PATIENT_NAME_MAX + 2];
            name_key(fam, given, key, sizeof(key));
            like_prefix(key, pattern, sizeof(pattern));
        } else {
            char key[2 * PATIENT_NAME_MAX + 2];
            name_key(name, "", key, sizeof(key));
            /* key is "family|": match the family name exactly or as a prefix */
            key[strlen(key) - 1] = '\0';
            like_prefix(key, pattern, sizeof(pattern));
        }
    }
    rc = db_begin(d, ei);
    if (rc)
        goto out;
    rc = db_prepare(d, sql_search, &st, ei);
    const char *vals[3] = {mrn, name ? pattern : NULL, birth_date};
    for (int i = 0, p = 1; !rc && i < 3; i++) {
        rc = db_bind_str(st, p++, vals[i]);
        if (!rc)
            rc = db_bind_str(st, p++, vals[i]);
    }
    if (!rc)
        rc = db_bind_str(st, 7, after && *after ? after : "~");
    if (!rc)
        rc = db_bind_int64(st, 8, limit + 1);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        patient p;
        row_to_patient(st, &p);
        if (count == limit) {
            json_t *last = json_array_get(arr, (size_t)count - 1);
            snprintf(next, ID_LEN + 1, "%s", json_string_value(json_object_get(last, "id")));
            break;
        }
        json_t *ids = row_ids(st);
        json_array_append_new(arr, patient_to_json(&p, ids));
        json_array_append_new(found, json_string(p.id));
        json_decref(ids);
        count++;
    }
    db_finalize(st);
    if (!rc) {
        if (mrn)
            json_array_append_new(criteria, json_string("mrn"));
        if (name)
            json_array_append_new(criteria, json_string("name"));
        if (birth_date)
            json_array_append_new(criteria, json_string("birth_date"));
        json_t *detail = json_pack("{s:O,s:O}", "criteria", criteria, "results", found);
        rc = audit_write(d, ctx, "patient.search", "patient", "", "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        goto out;
    }
    *items = arr;
    arr = NULL;
out:
    json_decref(arr);
    json_decref(found);
    json_decref(criteria);
    return rc;
}

int64_t patient_age_days(const patient *p, int64_t t)
{
    int64_t born = 0;
    if (time_parse_iso(p->birth_date, strlen(p->birth_date), &born, NULL))
        return -1;
    if (t < born)
        return -1;
    return (t - born) / (86400LL * 1000000);
}

err_t patient_sync(db *d, const audit_ctx *ctx, const json_t *body, patient *out, bool *created,
                   errinfo *ei)
{
    char key[2 * PATIENT_NAME_MAX + 2], family[PATIENT_NAME_MAX + 1], given[PATIENT_NAME_MAX + 1];
    patient cur;
    *created = false;
    err_t rc =
        jsonv_check(body, create_fields, sizeof(create_fields) / sizeof(create_fields[0]), ei);
    if (!rc)
        rc = check_person(body, family, given, key, ei);
    if (rc)
        return rc;
    rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = get_one(d, sql_by_mrn, jsonv_str(body, "mrn"), &cur, NULL, ei);
    if (rc == ERR_NOT_FOUND) {
        json_t *copy = json_deep_copy(body), *candidate = NULL;
        rc = copy ? ERR_OK : ERR_NOMEM;
        if (!rc) {
            json_object_set_new(copy, "confirm_new", json_true());
            rc = patient_create(d, ctx, copy, out, &candidate, ei);
        }
        json_decref(copy);
        json_decref(candidate);
        *created = rc == ERR_OK;
    } else if (!rc) {
        const char *birth = jsonv_str(body, "birth_date"), *sex = jsonv_str(body, "sex");
        bool same = !strcmp(cur.family, family) && !strcmp(cur.given, given) &&
                    !strcmp(cur.birth_date, birth) && !strcmp(cur.sex, sex);
        if (!same) {
            rc = db_run(d, ei, NULL, sql_update, "tttttit", family, given, key, birth, sex,
                        time_now_us(), cur.id);
            if (!rc) {
                json_t *detail = json_pack("{s:s}", "mrn", cur.mrn);
                rc = audit_write(d, ctx, "patient.update", "patient", cur.id, "ok", detail, ei);
                json_decref(detail);
            }
        }
        if (!rc && out)
            rc = patient_get(d, cur.id, out, ei);
    }
    if (rc) {
        db_rollback(d);
        return rc;
    }
    return db_commit(d, ei);
}
