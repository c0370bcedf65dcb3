/*
 * lookup.c - searches for interoperable readers (see lookup.h).
 *
 * Each search is one SQL text whose filters are all written out as
 * "(CAST(? AS TEXT) IS NULL OR column = ?)": a filter left NULL matches
 * everything, so the text never changes with the query and nothing the
 * client sends becomes SQL. A table of binds beside each text says which
 * query member fills each placeholder, in order. The same filters serve the
 * page and its count.
 *
 * Such a filter hides the column from the planners: "p.id = ?" inside an OR
 * with a parameter cannot use the key, so a read by id would walk the
 * table. So each statement is prepared for the filters the query gives:
 * a filter whose value is not NULL has its "IS NULL OR" written "IS NOT
 * NULL AND", which means the same for that value and leaves the equality
 * where the planner uses the column's index; a filter left NULL is written
 * without its columns, so that an index which holds the columns of the
 * filters given answers alone (db_sql_given, store/db.h). The texts so made are kept
 * for the life of the process, one per statement and set of filters given
 * (db_sql_given_kept), so that a connection's prepared statements, which
 * the store finds by the address of their text, serve every search of the
 * same shape.
 */
#include "lab/lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "store/dbjson.h"

#define US_PER_DAY    (86400LL * 1000000LL)
#define LOOKUP_ID_MAX 64 /* an id a reader sends, bytes (FHIR's id) */

/* What fills a placeholder. */
enum bind_what {
    B_ID,
    B_PATIENT,
    B_CODE,
    B_LOINC,
    B_STATE,
    B_SPECIMEN,
    B_IDENT,
    B_TYPE,
    B_FAMILY, /* prefix pattern */
    B_GIVEN,
    B_NAME,
    B_GENDER,
    B_FROM, /* int64 */
    B_TO,
    B_DATES,     /* a text that is NULL when both bounds are open, then the bounds (or NULLs) */
    B_DATE_FROM, /* the bounds as dates YYYY-MM-DD */
    B_DATE_TO,
    B_CATEGORY,
    B_VITAL,
    B_VITAL_ID,    /* the id for its IS NULL test, its set's id, the id again */
    B_WANT_LAB,    /* int64: 1 unless results are left out */
    B_WANT_VITALS, /* int64: 1 unless vital signs are left out */
    B_END,
};

/* One filter: the value once for its IS NULL test, then reps more times. */
struct bind {
    enum bind_what what;
    int reps;
};

struct search {
    const char *entity; /* audited as entity.read / entity.search; NULL: not audited */
    const char *page_sql, *count_sql;
    const struct bind *binds; /* ends with B_END */
    bool sorted;              /* the page SQL takes the direction before LIMIT */
    json_t *(*view)(db_stmt *st);
    err_t (*more)(db *d, json_t *view, errinfo *ei); /* members from other queries */
    /* the audit of a page of several entities; NULL: entity's alone */
    err_t (*audit)(db *d, const audit_ctx *ctx, const lookup_query *q, json_t *items, errinfo *ei);
};

void lookup_query_init(lookup_query *q)
{
    memset(q, 0, sizeof(*q));
    q->from = INT64_MIN;
    q->to = INT64_MAX;
    q->count = 20;
}

/* "ABC%" for a prefix search of s: ASCII letters in capitals, LIKE's own
 * characters escaped with '\'. NULL when s is NULL. */
static char *prefix_pattern(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *p = malloc(2 * n + 2), *w = p;
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' || c == '_' || c == '\\')
            *w++ = '\\';
        *w++ = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    *w++ = '%';
    *w = '\0';
    return p;
}

/* The first day whose start is at or after t, as YYYY-MM-DD. */
static void day_at_or_after(int64_t t, char out[11])
{
    int64_t days = t / US_PER_DAY;
    if (days * US_PER_DAY < t)
        days++;
    time_format_date(days * US_PER_DAY, out);
}

static const char *text_of(const lookup_query *q, enum bind_what w)
{
    switch (w) {
    case B_ID:
        return q->id;
    case B_PATIENT:
        return q->patient;
    case B_CODE:
        return q->code;
    case B_LOINC:
        return q->loinc;
    case B_STATE:
        return q->state;
    case B_SPECIMEN:
        return q->specimen;
    case B_IDENT:
        return q->identifier;
    case B_TYPE:
        return q->type;
    case B_FAMILY:
        return q->family;
    case B_GIVEN:
        return q->given;
    case B_NAME:
        return q->name;
    case B_GENDER:
        return q->gender;
    case B_CATEGORY:
        return q->category;
    case B_VITAL:
        return q->vital;
    default:
        return NULL;
    }
}

/* Where the values of the placeholders go: a statement, or (st NULL) the
 * record of which of the first LOOKUP_PARAMS_MAX are NULL. */
#define LOOKUP_PARAMS_MAX 64
typedef struct binder {
    db_stmt *st;
    bool null[LOOKUP_PARAMS_MAX + 1]; /* by placeholder number, from 1 */
} binder;

static err_t bind_str(binder *b, int i, const char *v)
{
    if (b->st)
        return db_bind_str(b->st, i, v);
    if (i <= LOOKUP_PARAMS_MAX)
        b->null[i] = v == NULL;
    return ERR_OK;
}

static err_t bind_int(binder *b, int i, int64_t v)
{
    if (b->st)
        return db_bind_int64(b->st, i, v);
    if (i <= LOOKUP_PARAMS_MAX)
        b->null[i] = false;
    return ERR_OK;
}

/* A vital sign's id is its set's and the observation's ("<set>-spo2"):
 * the set's id lets the search use the table's key. */
static err_t vital_id_bind(binder *st, const char *id, int *i)
{
    char set[LOOKUP_ID_MAX + 1] = "";
    const char *dash = id ? strrchr(id, '-') : NULL;
    if (id)
        snprintf(set, sizeof(set), "%.*s", (int)(dash ? dash - id : (long)strlen(id)), id);
    err_t rc = bind_str(st, (*i)++, id);
    if (!rc)
        rc = bind_str(st, (*i)++, id ? set : NULL);
    if (!rc)
        rc = bind_str(st, (*i)++, id);
    return rc;
}

static err_t bind_all(binder *st, const struct bind *b, const lookup_query *q, int *i)
{
    err_t rc = ERR_OK;
    char day[11];
    for (; !rc && b->what != B_END; b++) {
        if (b->what == B_FROM || b->what == B_TO) {
            rc = bind_int(st, (*i)++, b->what == B_FROM ? q->from : q->to);
            continue;
        }
        if (b->what == B_WANT_LAB || b->what == B_WANT_VITALS) {
            rc = bind_int(st, (*i)++, b->what == B_WANT_LAB ? !q->no_lab : !q->no_vitals);
            continue;
        }
        if (b->what == B_DATES) {
            bool open = q->from == INT64_MIN && q->to == INT64_MAX;
            rc = bind_str(st, (*i)++, open ? NULL : "dates");
            for (int k = 0; !rc && k < 2; k++) {
                int64_t t = k ? q->to : q->from;
                rc = open ? bind_str(st, (*i)++, NULL) : bind_int(st, (*i)++, t);
            }
            continue;
        }
        if (b->what == B_VITAL_ID) {
            rc = vital_id_bind(st, q->id, i);
            continue;
        }
        if (b->what == B_DATE_FROM || b->what == B_DATE_TO) {
            int64_t t = b->what == B_DATE_FROM ? q->from : q->to;
            /* Open bounds as dates every birth date sorts between. */
            if (t == INT64_MIN || t == INT64_MAX)
                snprintf(day, sizeof(day), "%s", t == INT64_MIN ? "0000-00-00" : "9999-99-99");
            else
                day_at_or_after(t, day);
            rc = bind_str(st, (*i)++, day);
            continue;
        }
        const char *v = text_of(q, b->what);
        bool prefix = b->what == B_FAMILY || b->what == B_GIVEN || b->what == B_NAME;
        char *pat = prefix ? prefix_pattern(v) : NULL;
        if (prefix && v && !pat)
            return ERR_NOMEM;
        rc = bind_str(st, (*i)++, v);
        for (int k = 0; !rc && k < b->reps; k++)
            rc = bind_str(st, (*i)++, prefix ? pat : v);
        free(pat);
    }
    return rc;
}

/* sql written for the filters of q (db_sql_given_kept, store/db.h): a kept
 * text, or (the store's table full) a new one in *owned that the caller
 * frees. NULL when out of memory. */
static const char *text_for(const char *sql, const struct bind *binds, const lookup_query *q,
                            char **owned)
{
    binder rec = {0};
    int n = 1;
    *owned = NULL;
    if (bind_all(&rec, binds, q, &n))
        return NULL;
    return db_sql_given_kept(sql, rec.null, LOOKUP_PARAMS_MAX, owned);
}

/* Prepare sql for q (text_for) and bind its filters: *st, and in *i the
 * next placeholder's number. */
static err_t prepare_for(db *d, const char *sql, const struct search *s, const lookup_query *q,
                         db_stmt **st, int *i, errinfo *ei)
{
    char *owned = NULL;
    const char *text = text_for(sql, s->binds, q, &owned);
    *st = NULL;
    *i = 1;
    if (!text)
        return err_set(ei, ERR_NOMEM, NULL, NULL);
    err_t rc = db_prepare(d, text, st, ei);
    free(owned);
    binder b = {.st = *st};
    if (!rc)
        rc = bind_all(&b, s->binds, q, i);
    return rc;
}

static err_t count_rows(db *d, const struct search *s, const lookup_query *q, int64_t *total,
                        errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    int i = 1;
    err_t rc = prepare_for(d, s->count_sql, s, q, &st, &i, ei);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc)
        *total = row ? db_col_int64(st, 0) : 0;
    db_finalize(st);
    return rc;
}

static err_t page_rows(db *d, const struct search *s, const lookup_query *q, json_t *items,
                       errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    int i = 1;
    err_t rc = prepare_for(d, s->page_sql, s, q, &st, &i, ei);
    if (!rc && s->sorted)
        rc = db_bind_int64(st, i++, q->descending ? 1 : 0);
    if (!rc)
        rc = db_bind_int64(st, i++, q->count);
    if (!rc)
        rc = db_bind_int64(st, i++, q->offset);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        json_t *v = s->view(st);
        if (!v || json_array_append_new(items, v))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    /* Other queries only once this one is done: a connection runs one at a time. */
    for (size_t k = 0; !rc && s->more && k < json_array_size(items); k++)
        rc = s->more(d, json_array_get(items, k), ei);
    return rc;
}

/* The audit event "<entity>.read" (read) or "<entity>.search" of the ids
 * (stolen) of the views read, about entity_type entity_id. */
static err_t audit_ids(db *d, const audit_ctx *ctx, const char *entity, bool read,
                       const char *entity_type, const char *entity_id, json_t *ids, errinfo *ei)
{
    char action[48];
    snprintf(action, sizeof(action), "%s.%s", entity, read ? "read" : "search");
    json_t *detail = ids ? json_pack("{s:s,s:o}", "via", "fhir", "ids", ids) : NULL;
    err_t rc =
        detail ? audit_write(d, ctx, action, entity_type, entity_id, "ok", detail, ei) : ERR_NOMEM;
    json_decref(detail);
    return rc;
}

static err_t audit_page(db *d, const audit_ctx *ctx, const struct search *s, const lookup_query *q,
                        json_t *items, errinfo *ei)
{
    if (s->audit)
        return s->audit(d, ctx, q, items, ei);
    json_t *ids = json_array(), *v;
    size_t k;
    json_array_foreach(items, k, v) json_array_append(ids, json_object_get(v, "id"));
    return audit_ids(d, ctx, s->entity, q->id != NULL, s->entity, q->id, ids, ei);
}

static err_t run(db *d, const audit_ctx *ctx, const struct search *s, const lookup_query *q,
                 json_t **items, int64_t *total, errinfo *ei)
{
    json_t *page = json_array();
    err_t rc;
    if (items)
        *items = NULL;
    if (!page)
        return ERR_NOMEM;
    rc = db_begin(d, ei);
    if (rc)
        goto done;
    if (total)
        rc = count_rows(d, s, q, total, ei);
    if (!rc && items && q->count > 0)
        rc = page_rows(d, s, q, page, ei);
    if (!rc && s->entity && items && q->count > 0 && (!q->id || json_array_size(page)))
        rc = audit_page(d, ctx, s, q, page, ei);
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
done:
    if (!rc && items) {
        *items = page;
        page = NULL;
    }
    json_decref(page);
    return rc;
}

/* The text of column i of a JSON document column, parsed; fallback when it is not one. */
static json_t *col_json(db_stmt *st, int i, json_t *fallback)
{
    json_error_t je;
    const char *t = db_col_text(st, i);
    json_t *v = t ? json_loads(t, 0, &je) : NULL;
    if (v) {
        json_decref(fallback);
        return v;
    }
    return fallback;
}

/* The ids a query answers, one per row, into key of view. */
static err_t id_list(db *d, json_t *view, const char *key, const char *sql, int nparams,
                     errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *ids = json_array();
    const char *id = json_string_value(json_object_get(view, "id"));
    const char *code = json_string_value(json_object_get(view, "code"));
    err_t rc = ids ? db_prepare(d, sql, &st, ei) : ERR_NOMEM;
    if (!rc)
        rc = db_bind_str(st, 1,
                         nparams > 1 ? json_string_value(json_object_get(view, "order_id")) : id);
    if (!rc && nparams > 1)
        rc = db_bind_str(st, 2, code);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        json_array_append_new(ids, json_string(db_col_text(st, 0)));
    }
    db_finalize(st);
    if (rc) {
        json_decref(ids);
        return rc;
    }
    return json_object_set_new(view, key, ids) ? ERR_NOMEM : ERR_OK;
}

/* ---------------------------------------------------------------- patients */

#define PATIENT_WHERE                                                                              \
    " FROM patients p WHERE (CAST(? AS TEXT) IS NULL OR p.id = ?)"                                 \
    " AND (CAST(? AS TEXT) IS NULL OR p.mrn = ?)"                                                  \
    " AND (CAST(? AS TEXT) IS NULL OR UPPER(p.family) LIKE ? ESCAPE '\\')"                         \
    " AND (CAST(? AS TEXT) IS NULL OR UPPER(p.given) LIKE ? ESCAPE '\\')"                          \
    " AND (CAST(? AS TEXT) IS NULL OR UPPER(p.family) LIKE ? ESCAPE '\\'"                          \
    " OR UPPER(p.given) LIKE ? ESCAPE '\\')"                                                       \
    " AND (CAST(? AS TEXT) IS NULL OR p.sex = ?)"                                                  \
    " AND p.birth_date >= ? AND p.birth_date < ?"

static const struct bind patient_binds[] = {
    {B_ID, 1},     {B_IDENT, 1},     {B_FAMILY, 1},  {B_GIVEN, 1}, {B_NAME, 2},
    {B_GENDER, 1}, {B_DATE_FROM, 0}, {B_DATE_TO, 0}, {B_END, 0},
};

static json_t *patient_view(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "id", db_col_text(st, 0), "mrn",
                     db_col_text(st, 1), "family", db_col_text(st, 2), "given", db_col_text(st, 3),
                     "birth_date", db_col_text(st, 4), "sex", db_col_text(st, 5), "identifiers",
                     col_json(st, 6, json_array()), "updated_at", db_col_json_time(st, 7));
}

static const struct search patients = {
    "patient",
    "SELECT p.id, p.mrn, p.family, p.given, p.birth_date, p.sex, p.identifiers, "
    "p.updated_at" PATIENT_WHERE " ORDER BY p.family, p.given, p.id LIMIT ? OFFSET ?",
    "SELECT COUNT(*)" PATIENT_WHERE,
    patient_binds,
    false,
    patient_view,
    NULL,
    NULL,
};

/* ------------------------------------------------------------ ordered items */

/* An item is a test asked alone, or a panel, of one order: its id is the
 * smallest id of its test rows. The filters on the order go inside the
 * grouping, those on the item outside. */
#define ITEM_STATE                                                                                 \
    "CASE WHEN y.order_status = 'cancelled' OR y.n_cancelled = y.n THEN 'cancelled'"               \
    " WHEN y.n_open > 0 THEN 'open' ELSE 'done' END"
#define ITEM_WHERE                                                                                 \
    " FROM (SELECT y.*, " ITEM_STATE " AS state FROM (SELECT MIN(ot.id) AS id, ot.order_id,"       \
    " COALESCE(ot.panel_code, ot.test_code) AS code, o.patient_id, o.priority, o.clinician,"       \
    " o.reasons, o.instructions, o.status AS order_status, o.ordered_at, o.placer, o.placer_id,"   \
    " SUM(CASE WHEN ot.status IN ('ordered', 'in-progress', 'resulted') THEN 1 ELSE 0 END)"        \
    " AS n_open, SUM(CASE WHEN ot.status = 'cancelled' THEN 1 ELSE 0 END) AS n_cancelled,"         \
    " COUNT(*) AS n FROM order_tests ot JOIN orders o ON o.id = ot.order_id"                       \
    " WHERE (CAST(? AS TEXT) IS NULL OR ot.order_id IN"                                            \
    " (SELECT x.order_id FROM order_tests x WHERE x.id = ?))"                                      \
    " AND (CAST(? AS TEXT) IS NULL OR o.patient_id = ?)"                                           \
    " AND (CAST(? AS TEXT) IS NULL OR o.id = ? OR o.placer_id = ?)"                                \
    " AND o.ordered_at >= ? AND o.ordered_at < ?"                                                  \
    " GROUP BY ot.order_id, COALESCE(ot.panel_code, ot.test_code), o.patient_id, o.priority,"      \
    " o.clinician, o.reasons, o.instructions, o.status, o.ordered_at, o.placer, o.placer_id) y) z" \
    " LEFT JOIN tests t ON t.code = z.code LEFT JOIN panels pa ON pa.code = z.code"                \
    " WHERE (CAST(? AS TEXT) IS NULL OR z.id = ?)"                                                 \
    " AND (CAST(? AS TEXT) IS NULL OR z.state = ?)"                                                \
    " AND (CAST(? AS TEXT) IS NULL OR z.code = ?)"                                                 \
    " AND (CAST(? AS TEXT) IS NULL OR COALESCE(t.loinc, pa.loinc) = ?)"

static const struct bind item_binds[] = {
    {B_ID, 1}, {B_PATIENT, 1}, {B_IDENT, 2}, {B_FROM, 0},  {B_TO, 0},
    {B_ID, 1}, {B_STATE, 1},   {B_CODE, 1},  {B_LOINC, 1}, {B_END, 0},
};

static json_t *item_view(db_stmt *st)
{
    json_t *ins = col_json(st, 7, json_object());
    json_t *v = json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:O?}", "id", db_col_text(st, 0),
        "order_id", db_col_text(st, 1), "code", db_col_text(st, 2), "patient_id",
        db_col_text(st, 3), "name", db_col_json_text(st, 12), "loinc", db_col_json_text(st, 13),
        "state", db_col_text(st, 11), "priority", db_col_text(st, 4), "clinician",
        db_col_text(st, 5), "reasons", col_json(st, 6, json_array()), "ordered_at",
        db_col_json_time(st, 8), "placer", db_col_json_text(st, 9), "placer_id",
        db_col_json_text(st, 10), "note", json_object_get(ins, "note"));
    json_decref(ins);
    return v;
}

static err_t item_more(db *d, json_t *view, errinfo *ei)
{
    return id_list(d, view, "specimens",
                   "SELECT DISTINCT specimen_id FROM order_tests WHERE order_id = ?"
                   " AND COALESCE(panel_code, test_code) = ? ORDER BY specimen_id",
                   2, ei);
}

static const struct search items_search = {
    "order_test",
    "SELECT z.id, z.order_id, z.code, z.patient_id, z.priority, z.clinician, z.reasons,"
    " z.instructions, z.ordered_at, z.placer, z.placer_id, z.state,"
    " COALESCE(t.name, pa.name), COALESCE(t.loinc, pa.loinc)" ITEM_WHERE
    " ORDER BY CASE WHEN ? = 1 THEN z.ordered_at END DESC, z.ordered_at, z.id LIMIT ? OFFSET ?",
    "SELECT COUNT(*)" ITEM_WHERE,
    item_binds,
    true,
    item_view,
    item_more,
    NULL,
};

/* ---------------------------------------------------------------- specimens */

#define SPECIMEN_STATE                                                                             \
    "CASE s.status WHEN 'pending' THEN 'pending' WHEN 'rejected' THEN 'rejected'"                  \
    " WHEN 'disposed' THEN 'gone' WHEN 'sent-out' THEN 'gone' ELSE 'held' END"
#define SPECIMEN_WHERE                                                                             \
    " FROM specimens s WHERE (CAST(? AS TEXT) IS NULL OR s.id = ?)"                                \
    " AND (CAST(? AS TEXT) IS NULL OR s.patient_id = ?)"                                           \
    " AND (CAST(? AS TEXT) IS NULL OR s.accession = ?)"                                            \
    " AND (CAST(? AS TEXT) IS NULL OR LOWER(s.specimen_type) = LOWER(?))"                          \
    " AND (CAST(? AS TEXT) IS NULL OR " SPECIMEN_STATE " = ?)"                                     \
    " AND COALESCE(s.collected_at, s.created_at) >= ? AND COALESCE(s.collected_at, s.created_at) " \
    "< ?"

static const struct bind specimen_binds[] = {
    {B_ID, 1},    {B_PATIENT, 1}, {B_IDENT, 1}, {B_TYPE, 1},
    {B_STATE, 1}, {B_FROM, 0},    {B_TO, 0},    {B_END, 0},
};

static json_t *specimen_view(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s}", "id", db_col_text(st, 0),
                     "accession", db_col_text(st, 1), "patient_id", db_col_text(st, 2),
                     "specimen_type", db_col_text(st, 3), "container", db_col_text(st, 4), "status",
                     db_col_text(st, 5), "parent_id", db_col_json_text(st, 6), "collected_at",
                     db_col_json_time(st, 7), "received_at", db_col_json_time(st, 8),
                     "rejection_reason", db_col_json_text(st, 9), "state", db_col_text(st, 10));
}

static err_t specimen_more(db *d, json_t *view, errinfo *ei)
{
    return id_list(d, view, "requests",
                   "SELECT DISTINCT (SELECT MIN(o2.id) FROM order_tests o2"
                   " WHERE o2.order_id = ot.order_id AND COALESCE(o2.panel_code, o2.test_code) ="
                   " COALESCE(ot.panel_code, ot.test_code)) FROM order_tests ot"
                   " WHERE ot.specimen_id = ? ORDER BY 1",
                   1, ei);
}

static const struct search specimens = {
    "specimen",
    "SELECT s.id, s.accession, s.patient_id, s.specimen_type, s.container, s.status, s.parent_id,"
    " s.collected_at, s.received_at, s.rejection_reason, " SPECIMEN_STATE SPECIMEN_WHERE
    " ORDER BY CASE WHEN ? = 1 THEN COALESCE(s.collected_at, s.created_at) END DESC,"
    " COALESCE(s.collected_at, s.created_at), s.id LIMIT ? OFFSET ?",
    "SELECT COUNT(*)" SPECIMEN_WHERE,
    specimen_binds,
    true,
    specimen_view,
    specimen_more,
    NULL,
};

/* ------------------------------------------------------------------ results */

#define RESULT_DATE "COALESCE(s.collected_at, r.resulted_at)"
/* The rows a result's view joins, for the result r. */
#define RESULT_JOINS                                                                               \
    " JOIN tests t ON t.code = r.test_code JOIN specimens s ON s.id = r.specimen_id"               \
    " JOIN order_tests ot ON ot.id = r.order_test_id"                                              \
    " LEFT JOIN users u ON u.username = COALESCE(NULLIF(r.released_by, 'auto-verification'),"      \
    " r.resulted_by) LEFT JOIN assets a ON a.instrument = r.instrument"
#define RESULT_WHERE                                                                               \
    " FROM results r" RESULT_JOINS " WHERE (CAST(? AS TEXT) IS NULL OR r.id = ?)"                  \
    " AND (CAST(? AS TEXT) IS NULL OR r.patient_id = ?)"                                           \
    " AND (CAST(? AS TEXT) IS NULL OR r.test_code = ?)"                                            \
    " AND (CAST(? AS TEXT) IS NULL OR t.loinc = ?)"                                                \
    " AND (CAST(? AS TEXT) IS NULL OR r.status = ?)"                                               \
    " AND (CAST(? AS TEXT) IS NULL OR r.specimen_id = ?)"                                          \
    " AND " RESULT_DATE " >= ? AND " RESULT_DATE " < ?"

static const struct bind result_binds[] = {
    {B_ID, 1},       {B_PATIENT, 1}, {B_CODE, 1}, {B_LOINC, 1}, {B_STATE, 1},
    {B_SPECIMEN, 1}, {B_FROM, 0},    {B_TO, 0},   {B_END, 0},
};

static json_t *result_view(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o,"
                     "s:o,s:o,s:o,s:o}",
                     "id", db_col_text(st, 0), "patient_id", db_col_text(st, 1), "specimen_id",
                     db_col_text(st, 2), "request_id", db_col_json_text(st, 3), "code",
                     db_col_text(st, 4), "name", db_col_text(st, 5), "loinc",
                     db_col_json_text(st, 6), "kind", db_col_text(st, 7), "value",
                     db_col_text(st, 8), "value_num", db_col_json_num(st, 9), "unit",
                     db_col_json_text(st, 10), "ref_low", db_col_json_num(st, 11), "ref_high",
                     db_col_json_num(st, 12), "ref_text", db_col_json_text(st, 13), "flag",
                     db_col_json_text(st, 14), "status", db_col_text(st, 15), "effective",
                     db_col_json_time(st, 16), "issued", db_col_json_time(st, 17), "performer_id",
                     db_col_json_text(st, 18), "performer", db_col_json_text(st, 19), "device_id",
                     db_col_json_text(st, 20));
}

/* The columns of result_view (named where the observations' order needs them). */
#define RESULT_COLS                                                                                \
    "SELECT r.id, r.patient_id, r.specimen_id, (SELECT MIN(o2.id) FROM order_tests o2"             \
    " WHERE o2.order_id = ot.order_id AND COALESCE(o2.panel_code, o2.test_code) ="                 \
    " COALESCE(ot.panel_code, ot.test_code)), r.test_code, t.name, t.loinc, r.kind,"               \
    " r.value_text, r.value_num, r.unit, r.ref_low, r.ref_high, r.ref_text, r.flag, r.status,"     \
    " " RESULT_DATE " AS effective, COALESCE(r.released_at, r.resulted_at), u.id AS user_id,"      \
    " COALESCE(NULLIF(r.released_by, 'auto-verification'), r.resulted_by), a.id AS asset_id"

static const struct search results = {
    "result",
    RESULT_COLS RESULT_WHERE " ORDER BY CASE WHEN ? = 1 THEN " RESULT_DATE " END DESC, " RESULT_DATE
                             ", r.id LIMIT ? OFFSET ?",
    "SELECT COUNT(*)" RESULT_WHERE,
    result_binds,
    true,
    result_view,
    NULL,
    NULL,
};

/* ------------------------------------------------------------- observations */

/*
 * Observations are the laboratory's results and the vital signs of
 * care_vitals, one page of both in date order. A set of vital signs is
 * several observations (proto/fhir.h, fhir_vital_sign): one per parameter
 * it holds, its id the set's id and the parameter's name, and its NEWS2
 * score. Each side has its own filters, so that each can use its table's
 * keys; a filter one side has no counterpart for leaves that side out (a
 * specimen, a catalog code), as do no_lab and no_vitals.
 *
 * A page is found in two steps, so that its cost follows the page and not
 * the patient's whole record: the keys of every match (a result's id and
 * date, a vital sign's set and parameter), read from the patient's indexes
 * (results_patient_keys holds what a result's key needs), are sorted and cut to
 * the page; only then are the page's rows joined to what their views show.
 * The total counts the same matches on the same indexes. Both assume what
 * the foreign keys hold: a result's test, specimen and ordered test exist.
 */
#define VITAL_PARAMS                                                                               \
    "(SELECT 'resp' AS k, 'vital-signs' AS cat UNION ALL SELECT 'spo2', 'vital-signs'"             \
    " UNION ALL SELECT 'oxygen', 'vital-signs' UNION ALL SELECT 'bp', 'vital-signs'"               \
    " UNION ALL SELECT 'pulse', 'vital-signs' UNION ALL SELECT 'acvpu', 'vital-signs'"             \
    " UNION ALL SELECT 'temp', 'vital-signs' UNION ALL SELECT 'news2', 'survey') k"
#define VITAL_PRESENT                                                                              \
    "((k.k = 'resp' AND v.respiration_rate IS NOT NULL) OR (k.k = 'spo2' AND v.spo2 IS NOT NULL)"  \
    " OR (k.k = 'oxygen' AND v.oxygen IS NOT NULL) OR (k.k = 'bp' AND (v.systolic_bp IS NOT NULL"  \
    " OR v.diastolic_bp IS NOT NULL)) OR (k.k = 'pulse' AND v.pulse IS NOT NULL)"                  \
    " OR (k.k = 'acvpu' AND v.acvpu IS NOT NULL) OR (k.k = 'temp' AND v.temperature IS NOT NULL)"  \
    " OR k.k = 'news2')"

/* The results r that match, then the clause of the dates' bounds on the
 * date of the keys (their specimens s joined) or of the count. */
#define LAB_MATCH                                                                                  \
    " WHERE (CAST(? AS TEXT) IS NULL OR r.id = ?)"                                                 \
    " AND (CAST(? AS TEXT) IS NULL OR r.patient_id = ?)"                                           \
    " AND (CAST(? AS TEXT) IS NULL OR r.test_code = ?)"                                            \
    " AND (CAST(? AS TEXT) IS NULL OR r.test_code IN (SELECT t.code FROM tests t"                  \
    " WHERE t.loinc = ?)) AND (CAST(? AS TEXT) IS NULL OR r.status = ?)"                           \
    " AND (CAST(? AS TEXT) IS NULL OR r.specimen_id = ?)"
#define LAB_KEY_DATES                                                                              \
    " AND (CAST(? AS TEXT) IS NULL OR (" RESULT_DATE " >= ? AND " RESULT_DATE " < ?)) AND ? = 1"
#define LAB_COUNT_DATES                                                                            \
    " AND (CAST(? AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM specimens s"                           \
    " WHERE s.id = r.specimen_id AND " RESULT_DATE " >= ? AND " RESULT_DATE " < ?)) AND ? = 1"
/* The vital signs that match: the sets v, each with its parameters k. */
#define VITAL_MATCH                                                                                \
    " FROM care_vitals v CROSS JOIN " VITAL_PARAMS " WHERE " VITAL_PRESENT                         \
    " AND (CAST(? AS TEXT) IS NULL OR (v.id = ? AND v.id || '-' || k.k = ?))"                      \
    " AND (CAST(? AS TEXT) IS NULL OR v.patient_id = ?) AND (CAST(? AS TEXT) IS NULL OR k.k = ?)"  \
    " AND (CAST(? AS TEXT) IS NULL OR CAST(? AS TEXT) = 'released')"                               \
    " AND CAST(? AS TEXT) IS NULL"                                                                 \
    " AND (CAST(? AS TEXT) IS NULL OR k.cat = ?)"                                                  \
    " AND v.taken_at >= ? AND v.taken_at < ? AND ? = 1"

/* The page's keys, pg: set_id and param NULL for a result; skey the date
 * in the page's direction (id breaks ties, ascending). */
#define LAB_KEYS                                                                                   \
    "SELECT r.id AS id, " RESULT_DATE " AS effective, CAST(NULL AS TEXT) AS set_id,"               \
    " CAST(NULL AS TEXT) AS param FROM results r JOIN specimens s ON s.id = r.specimen_id"
#define VITAL_KEYS "SELECT v.id || '-' || k.k, v.taken_at, v.id, k.k" VITAL_MATCH
#define OBS_KEYS                                                                                   \
    "WITH keys AS (" LAB_KEYS LAB_MATCH LAB_KEY_DATES " UNION ALL " VITAL_KEYS "),"                \
    " pg AS MATERIALIZED (SELECT keys.id, keys.effective, keys.set_id, keys.param,"                \
    " CASE WHEN ? = 1 THEN -keys.effective ELSE keys.effective END AS skey"                        \
    " FROM keys ORDER BY skey, id LIMIT ? OFFSET ?)"
/* The page's results in result_view's 21 columns, then the vital signs'
 * (NULL), then skey. */
#define OBS_LAB                                                                                    \
    RESULT_COLS                                                                                    \
    ", 'laboratory', CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),"                  \
    " CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER),"                        \
    " CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER),"                        \
    " CAST(NULL AS INTEGER), CAST(NULL AS TEXT), CAST(NULL AS DOUBLE PRECISION),"                  \
    " CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), CAST(NULL AS TEXT), pg.skey"                   \
    " FROM pg JOIN results r ON r.id = pg.id" RESULT_JOINS " WHERE pg.set_id IS NULL"
/* The page's vital signs in result_view's 21 columns (those a result has
 * alone NULL), then the category and the set's own, then skey. */
#define OBS_VITALS                                                                                 \
    "SELECT v.id || '-' || k.k, v.patient_id, CAST(NULL AS TEXT), CAST(NULL AS TEXT),"             \
    " CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),"             \
    " CAST(NULL AS TEXT), CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS TEXT),"                     \
    " CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS TEXT),"         \
    " CAST(NULL AS TEXT), 'released', v.taken_at, v.recorded_at, u.id,"                            \
    " CASE WHEN v.source = 'hand' THEN v.recorded_by END, a.id, k.cat, v.id, k.k,"                 \
    " CASE WHEN v.source <> 'hand' THEN v.source END, v.respiration_rate, v.spo2, v.spo2_scale,"   \
    " v.oxygen, v.systolic_bp, v.diastolic_bp, v.pulse, v.acvpu, v.temperature, v.score,"          \
    " v.complete, v.band, pg.skey FROM pg JOIN care_vitals v ON v.id = pg.set_id"                  \
    " JOIN " VITAL_PARAMS " ON k.k = pg.param"                                                     \
    " LEFT JOIN users u ON v.source = 'hand' AND u.username = v.recorded_by"                       \
    " LEFT JOIN assets a ON v.source <> 'hand' AND a.instrument = v.source"

static const struct bind observation_binds[] = {
    {B_ID, 1},       {B_PATIENT, 1},     {B_CODE, 1},     {B_LOINC, 1},    {B_STATE, 1},
    {B_SPECIMEN, 1}, {B_DATES, 0},       {B_WANT_LAB, 0}, {B_VITAL_ID, 0}, {B_PATIENT, 1},
    {B_VITAL, 1},    {B_STATE, 1},       {B_SPECIMEN, 0}, {B_CATEGORY, 1}, {B_FROM, 0},
    {B_TO, 0},       {B_WANT_VITALS, 0}, {B_END, 0},
};

/* An integer column, or null. */
static json_t *col_int(db_stmt *st, int i)
{
    return db_col_null(st, i) ? json_null() : json_integer(db_col_int64(st, i));
}

static json_t *observation_view(db_stmt *st)
{
    if (!strcmp(db_col_text(st, 21), "laboratory"))
        return result_view(st);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
        "s:o,s:o}",
        "id", db_col_text(st, 0), "patient_id", db_col_text(st, 1), "category", db_col_text(st, 21),
        "set_id", db_col_text(st, 22), "param", db_col_text(st, 23), "effective",
        db_col_json_time(st, 16), "issued", db_col_json_time(st, 17), "performer_id",
        db_col_json_text(st, 18), "performer", db_col_json_text(st, 19), "device_id",
        db_col_json_text(st, 20), "device", db_col_json_text(st, 24), "respiration_rate",
        col_int(st, 25), "spo2", col_int(st, 26), "spo2_scale", col_int(st, 27), "oxygen",
        col_int(st, 28), "systolic_bp", col_int(st, 29), "diastolic_bp", col_int(st, 30), "pulse",
        col_int(st, 31), "acvpu", db_col_json_text(st, 32), "temperature", db_col_json_num(st, 33),
        "score", col_int(st, 34), "complete", json_boolean(db_col_int64(st, 35) != 0), "band",
        db_col_json_text(st, 36));
}

/*
 * A page holds results and vital signs: the results are audited as results
 * are (result.read, result.search, also for a page with nothing), the vital
 * signs as the REST API audits them (care.vitals.read, care.vitals.search:
 * of the patient read, or searched for).
 */
static err_t observation_audit(db *d, const audit_ctx *ctx, const lookup_query *q, json_t *items,
                               errinfo *ei)
{
    json_t *lab = json_array(), *vitals = json_array(), *v;
    const char *patient = q->patient;
    size_t k;
    err_t rc = ERR_OK;
    json_array_foreach(items, k, v)
    {
        bool vital = json_object_get(v, "category") != NULL;
        json_array_append(vital ? vitals : lab, json_object_get(v, "id"));
        if (vital && q->id)
            patient = json_string_value(json_object_get(v, "patient_id"));
    }
    if (json_array_size(lab) || !json_array_size(vitals))
        rc = audit_ids(d, ctx, "result", q->id != NULL, "result", q->id, json_incref(lab), ei);
    if (!rc && json_array_size(vitals))
        rc = audit_ids(d, ctx, "care.vitals", q->id != NULL, "patient", patient,
                       json_incref(vitals), ei);
    json_decref(lab);
    json_decref(vitals);
    return rc;
}

/* The page: its keys' rows, in their order (skey, column 38, then the id). */
static const struct search observations = {
    "result",
    OBS_KEYS " " OBS_LAB " UNION ALL " OBS_VITALS " ORDER BY 38, 1",
    "SELECT (SELECT COUNT(*) FROM results r" LAB_MATCH LAB_COUNT_DATES
    ") + (SELECT COUNT(*)" VITAL_MATCH ")",
    observation_binds,
    true,
    observation_view,
    NULL,
    observation_audit,
};

/* ------------------------------------------------------------------ reports */

#define REPORT_RESULTS(cond)                                                                       \
    "(SELECT COUNT(*) FROM results r JOIN order_tests ot ON ot.id = r.order_test_id"               \
    " WHERE ot.order_id = o.id" cond ")"
#define REPORT_STATE                                                                               \
    "CASE WHEN x.n_released = 0 THEN 'preliminary' WHEN x.n_open > 0 THEN 'partial'"               \
    " WHEN x.n_corrected > 0 THEN 'corrected' ELSE 'final' END"
#define REPORT_WHERE                                                                                                                                                           \
    " FROM (SELECT x.*, " REPORT_STATE " AS state FROM (SELECT o.id, o.patient_id,"                                                                                            \
    " COALESCE((SELECT MIN(s.collected_at) FROM specimens s WHERE s.order_id = o.id),"                                                                                         \
    " o.ordered_at) AS effective, (SELECT MAX(r.released_at) FROM results r JOIN order_tests ot"                                                                               \
    " ON ot.id = r.order_test_id WHERE ot.order_id = o.id) AS issued, " REPORT_RESULTS(                                                                                        \
        "") " AS n_results, " REPORT_RESULTS(" AND r.status IN ('released', 'corrected')") " AS "                                                                              \
                                                                                           "n_"                                                                                \
                                                                                           "relea"                                                                             \
                                                                                           "sed,"                                                                              \
                                                                                           " " REPORT_RESULTS(                                                                 \
                                                                                               " "                                                                             \
                                                                                               "A"                                                                             \
                                                                                               "N"                                                                             \
                                                                                               "D"                                                                             \
                                                                                               " "                                                                             \
                                                                                               "r"                                                                             \
                                                                                               "."                                                                             \
                                                                                               "s"                                                                             \
                                                                                               "t"                                                                             \
                                                                                               "a"                                                                             \
                                                                                               "t"                                                                             \
                                                                                               "u"                                                                             \
                                                                                               "s"                                                                             \
                                                                                               " "                                                                             \
                                                                                               "="                                                                             \
                                                                                               " "                                                                             \
                                                                                               "'"                                                                             \
                                                                                               "c"                                                                             \
                                                                                               "o"                                                                             \
                                                                                               "r"                                                                             \
                                                                                               "r"                                                                             \
                                                                                               "e"                                                                             \
                                                                                               "c"                                                                             \
                                                                                               "t"                                                                             \
                                                                                               "e"                                                                             \
                                                                                               "d"                                                                             \
                                                                                               "'") " AS n_corrected,"                                                         \
                                                                                                    " (SELECT COUNT(*) FROM order_tests ot WHERE ot.order_id = o.id"           \
                                                                                                    " AND ot.status NOT IN ('released', 'cancelled')) AS n_open FROM orders o" \
                                                                                                    " WHERE (CAST(? AS TEXT) IS NULL OR o.id = ?)"                             \
                                                                                                    " AND (CAST(? AS TEXT) IS NULL OR o.patient_id = ?)) x) z"                 \
                                                                                                    " WHERE z.n_results > 0 AND (CAST(? AS TEXT) IS NULL OR z.state = ?)"      \
                                                                                                    " AND z.effective >= ? AND z.effective < ?"

static const struct bind report_binds[] = {
    {B_ID, 1}, {B_PATIENT, 1}, {B_STATE, 1}, {B_FROM, 0}, {B_TO, 0}, {B_END, 0},
};

static json_t *report_view(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:s}", "id", db_col_text(st, 0), "patient_id",
                     db_col_text(st, 1), "effective", db_col_json_time(st, 2), "issued",
                     db_col_json_time(st, 3), "state", db_col_text(st, 4));
}

static err_t report_more(db *d, json_t *view, errinfo *ei)
{
    err_t rc = id_list(d, view, "results",
                       "SELECT r.id FROM results r JOIN order_tests ot ON ot.id = r.order_test_id"
                       " WHERE ot.order_id = ? ORDER BY r.id",
                       1, ei);
    if (!rc)
        rc = id_list(d, view, "requests",
                     "SELECT MIN(id) FROM order_tests WHERE order_id = ?"
                     " GROUP BY COALESCE(panel_code, test_code) ORDER BY 1",
                     1, ei);
    return rc;
}

static const struct search reports = {
    "order",
    "SELECT z.id, z.patient_id, z.effective, z.issued, z.state" REPORT_WHERE
    " ORDER BY CASE WHEN ? = 1 THEN z.effective END DESC, z.effective, z.id LIMIT ? OFFSET ?",
    "SELECT COUNT(*)" REPORT_WHERE,
    report_binds,
    true,
    report_view,
    report_more,
    NULL,
};

/* ------------------------------------------------------------ users, assets */

#define USER_WHERE                                                                                 \
    " FROM users u WHERE (CAST(? AS TEXT) IS NULL OR u.id = ?)"                                    \
    " AND (CAST(? AS TEXT) IS NULL OR u.username = ?)"                                             \
    " AND (CAST(? AS TEXT) IS NULL OR UPPER(u.display_name) LIKE ? ESCAPE '\\'"                    \
    " OR UPPER(u.username) LIKE ? ESCAPE '\\')"

static const struct bind user_binds[] = {{B_ID, 1}, {B_IDENT, 1}, {B_NAME, 2}, {B_END, 0}};

static json_t *user_view(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:b}", "id", db_col_text(st, 0), "username", db_col_text(st, 1),
                     "display_name", db_col_text(st, 2), "disabled", (int)db_col_int64(st, 3));
}

static const struct search users = {
    NULL,
    "SELECT u.id, u.username, u.display_name, u.disabled" USER_WHERE
    " ORDER BY u.username LIMIT ? OFFSET ?",
    "SELECT COUNT(*)" USER_WHERE,
    user_binds,
    false,
    user_view,
    NULL,
    NULL,
};

#define ASSET_WHERE                                                                                \
    " FROM assets a WHERE (CAST(? AS TEXT) IS NULL OR a.id = ?)"                                   \
    " AND (CAST(? AS TEXT) IS NULL OR a.tag = ?)"                                                  \
    " AND (CAST(? AS TEXT) IS NULL OR a.class = ?)"                                                \
    " AND (CAST(? AS TEXT) IS NULL OR a.status = ?"                                                \
    " OR (CAST(? AS TEXT) = 'inactive' AND a.status <> 'in-service'))"

static const struct bind asset_binds[] = {
    {B_ID, 1}, {B_IDENT, 1}, {B_TYPE, 1}, {B_STATE, 2}, {B_END, 0},
};

static json_t *asset_view(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", db_col_text(st, 0), "tag",
                     db_col_text(st, 1), "class", db_col_text(st, 2), "manufacturer",
                     db_col_text(st, 3), "model", db_col_text(st, 4), "serial", db_col_text(st, 5),
                     "location", db_col_text(st, 6), "owner", db_col_text(st, 7), "status",
                     db_col_text(st, 8), "status_reason", db_col_json_text(st, 9));
}

static const struct search assets = {
    NULL,
    "SELECT a.id, a.tag, a.class, a.manufacturer, a.model, a.serial, a.location, a.owner,"
    " a.status, a.status_reason" ASSET_WHERE " ORDER BY a.tag LIMIT ? OFFSET ?",
    "SELECT COUNT(*)" ASSET_WHERE,
    asset_binds,
    false,
    asset_view,
    NULL,
    NULL,
};

/* The searches in the order of lookup_kind. */
static const struct search *const searches[] = {
    [LOOKUP_PATIENTS] = &patients,   [LOOKUP_REQUESTS] = &items_search,
    [LOOKUP_SPECIMENS] = &specimens, [LOOKUP_RESULTS] = &results,
    [LOOKUP_REPORTS] = &reports,     [LOOKUP_USERS] = &users,
    [LOOKUP_ASSETS] = &assets,       [LOOKUP_OBSERVATIONS] = &observations,
};

err_t lookup_search(db *d, const audit_ctx *ctx, lookup_kind kind, const lookup_query *q,
                    json_t **items, int64_t *total, errinfo *ei)
{
    if ((unsigned)kind >= sizeof(searches) / sizeof(searches[0]) || !searches[kind])
        return err_set(ei, ERR_INTERNAL, NULL, "no search %d", (int)kind);
    return run(d, ctx, searches[kind], q, items, total, ei);
}

/* ---------------------------------------------------------------- ordering */

static const char sql_orderable_test[] =
    "SELECT code FROM tests WHERE code = ? AND active = 1"
    " UNION ALL SELECT code FROM panels WHERE code = ? AND active = 1";
static const char sql_orderable_loinc[] =
    "SELECT code FROM tests WHERE loinc = ? AND active = 1"
    " UNION ALL SELECT code FROM panels WHERE loinc = ? AND active = 1 ORDER BY 1";

err_t lookup_orderable(db *d, const char *system, const char *code, char out[CATALOG_CODE_MAX + 1],
                       errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false, loinc = !strcmp(system, "loinc");
    out[0] = '\0';
    err_t rc =
        db_query(d, &st, ei, loinc ? sql_orderable_loinc : sql_orderable_test, "tt", code, code);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        snprintf(out, CATALOG_CODE_MAX + 1, "%s", db_col_text(st, 0));
    db_finalize(st);
    if (!rc && !row)
        rc = err_set(ei, ERR_UNPROCESSABLE, "code", "no active test or panel has the %s code %.64s",
                     loinc ? "LOINC" : "catalog", code);
    return rc;
}
