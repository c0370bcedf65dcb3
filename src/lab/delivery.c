/*
 * delivery.c - the outbox (see delivery.h).
 */
#include "lab/delivery.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/time.h"
#include "lab/catalog.h"
#include "lab/patient.h"
#include "lab/specimen.h"
#include "store/dbjson.h"

static const char sql_destinations[] =
    "SELECT name FROM instruments WHERE kind = 'ehr' AND enabled = 1 AND send_to IS NOT NULL"
    " ORDER BY name";
static const char sql_insert[] =
    "INSERT INTO outbox (id, destination, patient_id, result_id, result_version, result_status,"
    " status, attempts, next_attempt_at, created_at) SELECT ?, ?, patient_id, id, version, ?,"
    " 'pending', 0, ?, ? FROM results WHERE id = ?";
/* What is due and free: not claimed, or its claim has lapsed. */
#define SQL_DUE                                                                                    \
    "SELECT o.id, o.destination, i.send_to, o.attempts, o.result_status, p.mrn, p.family,"         \
    " p.given, p.birth_date, p.sex, ord.placer, ord.placer_id, ord.id, ord.clinician,"             \
    " ord.priority, s.accession, s.specimen_type, s.collected_at, s.received_at, r.id,"            \
    " r.test_code, t.name, t.loinc, r.kind, r.value_text, r.unit, r.ref_text, r.flag,"             \
    " r.ref_low, r.ref_high, r.resulted_at, r.released_at, r.released_by, r.version"               \
    " FROM outbox o JOIN instruments i ON i.name = o.destination"                                  \
    " JOIN results r ON r.id = o.result_id JOIN patients p ON p.id = o.patient_id"                 \
    " JOIN specimens s ON s.id = r.specimen_id JOIN orders ord ON ord.id = s.order_id"             \
    " JOIN tests t ON t.code = r.test_code"                                                        \
    " WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND i.enabled = 1"                     \
    " AND (o.claimed_until IS NULL OR o.claimed_until <= ?)"                                       \
    " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.destination = o.destination"                  \
    " AND e.patient_id = o.patient_id AND e.status = 'pending' AND e.id < o.id)"                   \
    " ORDER BY o.id LIMIT ?"
/*
 * On PostgreSQL the rows are locked as they are read, and rows another
 * node is claiming at this moment are skipped rather than waited for: the
 * two nodes then take different rows. A patient's later result stays behind
 * the earlier one even so: the earlier one is still pending, claimed or not.
 * SQLite takes its write lock at BEGIN, which serialises claimers.
 */
static const char sql_due[] = SQL_DUE;
static const char sql_due_pg[] = SQL_DUE " FOR UPDATE OF o SKIP LOCKED";
static const char sql_claim[] = "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ?";
static const char sql_hold[] = "UPDATE outbox SET claimed_until = ? WHERE id = ?"
                               " AND claimed_by = ? AND status = 'pending'";
static const char sql_unclaim[] = "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL"
                                  " WHERE claimed_by = ? AND status = 'pending'";
static const char sql_done[] = "UPDATE outbox SET status = 'delivered', delivered_at = ?,"
                               " attempts = attempts + 1, control_id = ?, last_error = NULL,"
                               " claimed_by = NULL, claimed_until = NULL WHERE id = ?";
static const char sql_failed[] = "UPDATE outbox SET attempts = attempts + 1, last_error = ?,"
                                 " next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL"
                                 " WHERE id = ?";
static const char sql_list[] =
    "SELECT o.id, o.destination, o.result_id, o.result_version, o.result_status, o.status,"
    " o.attempts, o.next_attempt_at, o.last_error, o.control_id, o.created_at, o.delivered_at"
    " FROM outbox o WHERE (CAST(? AS TEXT) IS NULL OR o.status = ?) ORDER BY o.id DESC LIMIT ?";

err_t delivery_enqueue(db *d, const char *result_id, char status, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    char names[8][65];
    int n = 0;
    err_t rc = db_query(d, &st, ei, sql_destinations, "");
    while (!rc && !(rc = db_step(st, &row, ei)) && row && n < 8)
        snprintf(names[n++], sizeof(names[0]), "%s", db_col_text(st, 0));
    db_finalize(st);
    st = NULL;
    int64_t now = time_now_us();
    char s[2] = {status, '\0'};
    for (int i = 0; i < n && !rc; i++) {
        char id[ID_LEN + 1];
        id_new(id);
        rc = db_run(d, ei, NULL, sql_insert, "tttiit", id, names[i], s, now, now, result_id);
    }
    return rc;
}

static void col(db_stmt *st, int i, char *out, size_t n)
{
    const char *s = db_col_text(st, i);
    snprintf(out, n, "%s", s ? s : "");
}

/* Fill one item from a row of SQL_DUE. */
static void item_fill(db_stmt *st, delivery_item *it)
{
    memset(it, 0, sizeof(*it));
    col(st, 0, it->id, sizeof(it->id));
    col(st, 1, it->destination, sizeof(it->destination));
    col(st, 2, it->send_to, sizeof(it->send_to));
    it->attempts = (int)db_col_int64(st, 3);
    it->result_status = db_col_text(st, 4) ? db_col_text(st, 4)[0] : 'F';
    col(st, 5, it->mrn, sizeof(it->mrn));
    col(st, 6, it->family, sizeof(it->family));
    col(st, 7, it->given, sizeof(it->given));
    col(st, 8, it->birth_date, sizeof(it->birth_date));
    col(st, 9, it->sex, sizeof(it->sex));
    col(st, 10, it->placer, sizeof(it->placer));
    col(st, 11, it->placer_id, sizeof(it->placer_id));
    col(st, 12, it->order_id, sizeof(it->order_id));
    col(st, 13, it->clinician, sizeof(it->clinician));
    col(st, 14, it->priority, sizeof(it->priority));
    col(st, 15, it->accession, sizeof(it->accession));
    col(st, 16, it->specimen_type, sizeof(it->specimen_type));
    it->collected_at = db_col_int64(st, 17);
    it->received_at = db_col_int64(st, 18);
    col(st, 19, it->result_id, sizeof(it->result_id));
    col(st, 20, it->code, sizeof(it->code));
    col(st, 21, it->name, sizeof(it->name));
    col(st, 22, it->loinc, sizeof(it->loinc));
    col(st, 23, it->kind, sizeof(it->kind));
    col(st, 24, it->value, sizeof(it->value));
    col(st, 25, it->unit, sizeof(it->unit));
    col(st, 26, it->ref_text, sizeof(it->ref_text));
    col(st, 27, it->flag, sizeof(it->flag));
    it->has_low = !db_col_null(st, 28);
    it->low = db_col_double(st, 28);
    it->has_high = !db_col_null(st, 29);
    it->high = db_col_double(st, 29);
    it->resulted_at = db_col_int64(st, 30);
    it->released_at = db_col_int64(st, 31);
    col(st, 32, it->released_by, sizeof(it->released_by));
    it->version = (int)db_col_int64(st, 33);
}

err_t delivery_due(db *d, const char *node, int64_t now, int64_t lease_us, delivery_item *items,
                   int max, int *n, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_query(d, &st, ei, db_kind(d) == DB_POSTGRES ? sql_due_pg : sql_due, "iii", now, now,
                  (int64_t)max);
    while (!rc && !(rc = db_step(st, &row, ei)) && row && *n < max)
        item_fill(st, &items[(*n)++]);
    db_finalize(st);
    for (int i = 0; !rc && i < *n; i++)
        rc = db_run(d, ei, NULL, sql_claim, "tit", node, now + lease_us, items[i].id);
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
    if (rc)
        *n = 0;
    return rc;
}

/* Extend a claim on a row of table's SQL (sql_hold or sql_order_hold). */
static err_t hold_row(db *d, const char *sql, const char *id, const char *node, int64_t until,
                      bool *ours, errinfo *ei)
{
    int64_t changes = 0;
    err_t rc = db_run(d, ei, &changes, sql, "itt", until, id, node);
    *ours = !rc && changes == 1;
    return rc;
}

err_t delivery_hold(db *d, const char *id, const char *node, int64_t until, bool *ours, errinfo *ei)
{
    return hold_row(d, sql_hold, id, node, until, ours, ei);
}

err_t delivery_done(db *d, const char *id, const char *control_id, errinfo *ei)
{
    return db_run(d, ei, NULL, sql_done, "itt", time_now_us(), control_id, id);
}

err_t delivery_failed(db *d, const char *id, const char *why, int64_t next_at, errinfo *ei)
{
    return db_run(d, ei, NULL, sql_failed, "tit", why, next_at, id);
}

err_t delivery_list_json(db *d, const char *status, int limit, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    *items = NULL;
    if (status && strcmp(status, "pending") && strcmp(status, "delivered")) {
        json_decref(arr);
        return err_set(ei, ERR_INVALID, "status", "status must be pending or delivered");
    }
    err_t rc =
        arr ? db_query(d, &st, ei, sql_list, "tti", status, status, (int64_t)limit) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "id", db_col_text(st, 0),
            "destination", db_col_text(st, 1), "result_id", db_col_text(st, 2), "result_version",
            (json_int_t)db_col_int64(st, 3), "result_status", db_col_text(st, 4), "status",
            db_col_text(st, 5), "attempts", (json_int_t)db_col_int64(st, 6), "next_attempt_at",
            !strcmp(db_col_text(st, 5), "pending") ? db_col_json_time(st, 7) : json_null(),
            "last_error", db_col_json_text(st, 8), "control_id", db_col_json_text(st, 9),
            "created_at", db_col_json_time(st, 10), "delivered_at", db_col_json_time(st, 11));
        if (!o || json_array_append_new(arr, o))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (rc)
        json_decref(arr);
    else
        *items = arr;
    return rc;
}

/* ---- orders pushed to analyzers ---- */

static const char sql_order_insert[] =
    "INSERT INTO order_outbox (id, destination, specimen_id, status, attempts, next_attempt_at,"
    " created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)";
#define SQL_ORDERS_DUE                                                                             \
    "SELECT o.id, o.destination, o.specimen_id, o.attempts FROM order_outbox o"                    \
    " JOIN instruments i ON i.name = o.destination"                                                \
    " WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND i.enabled = 1"                     \
    " AND (o.claimed_until IS NULL OR o.claimed_until <= ?)"                                       \
    " ORDER BY o.id LIMIT ?"
static const char sql_orders_due[] = SQL_ORDERS_DUE;
static const char sql_orders_due_pg[] = SQL_ORDERS_DUE " FOR UPDATE OF o SKIP LOCKED";
static const char sql_order_claim[] =
    "UPDATE order_outbox SET claimed_by = ?, claimed_until = ? WHERE id = ?";
static const char sql_order_hold[] = "UPDATE order_outbox SET claimed_until = ? WHERE id = ?"
                                     " AND claimed_by = ? AND status = 'pending'";
static const char sql_order_unclaim[] =
    "UPDATE order_outbox SET claimed_by = NULL, claimed_until = NULL"
    " WHERE claimed_by = ? AND status = 'pending'";
static const char sql_order_done[] =
    "UPDATE order_outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1,"
    " control_id = ?, tests = ?, last_error = NULL, claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ?";
static const char sql_order_failed[] =
    "UPDATE order_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
    " claimed_by = NULL, claimed_until = NULL WHERE id = ?";
static const char sql_orders_list[] =
    "SELECT o.id, o.destination, s.accession, o.status, o.attempts, o.next_attempt_at,"
    " o.last_error, o.control_id, o.tests, o.created_at, o.delivered_at FROM order_outbox o"
    " JOIN specimens s ON s.id = o.specimen_id"
    " WHERE (CAST(? AS TEXT) IS NULL OR o.status = ?) ORDER BY o.id DESC LIMIT ?";
static const char sql_placer_of[] = "SELECT o.placer_id FROM orders o JOIN specimens s"
                                    " ON s.order_id = o.id WHERE s.id = ?";

struct enqueue_ctx {
    db *d;
    json_t *tests;
    const char *specimen_id;
    int64_t now;
    errinfo *ei;
};

static bool pending(const json_t *t)
{
    const char *st = jsonv_str(t, "status");
    return !strcmp(st, "ordered") || !strcmp(st, "in-progress");
}

static err_t enqueue_for(void *cls, const instrument *in)
{
    struct enqueue_ctx *c = cls;
    size_t i;
    json_t *t;
    bool any = false;
    json_array_foreach(c->tests, i, t) any |=
        pending(t) && instrument_runs(in, jsonv_str(t, "code"));
    if (!any || !in->send_to[0])
        return ERR_OK;
    char id[ID_LEN + 1];
    id_new(id);
    return db_run(c->d, c->ei, NULL, sql_order_insert, "tttii", id, in->name, c->specimen_id,
                  c->now, c->now);
}

err_t delivery_enqueue_orders(db *d, const char *specimen_id, errinfo *ei)
{
    struct enqueue_ctx c = {d, NULL, specimen_id, time_now_us(), ei};
    err_t rc = specimen_tests_json(d, specimen_id, &c.tests, ei);
    if (!rc)
        rc = instrument_each(d, "orders_mode", "push", enqueue_for, &c, ei);
    json_decref(c.tests);
    return rc;
}

/* Fill one due row: the analyzer, the patient, the specimen, its tests. */
static err_t order_fill(db *d, const char *specimen_id, delivery_order *it, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    specimen s;
    patient p;
    json_t *tests = NULL, *t;
    size_t i;
    char acc[ACCESSION_LEN + 1] = "";
    err_t rc =
        db_query(d, &st, ei, "SELECT accession FROM specimens WHERE id = ?", "t", specimen_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        snprintf(acc, sizeof(acc), "%s", db_col_text(st, 0));
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = specimen_get(d, acc, &s, ei);
    if (!rc)
        rc = patient_get(d, s.patient_id, &p, ei);
    if (!rc)
        rc = db_query(d, &st, ei, sql_placer_of, "t", specimen_id);
    if (!rc && !(rc = db_step(st, &row, ei)) && row)
        col(st, 0, it->placer_id, sizeof(it->placer_id));
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = specimen_tests_json(d, specimen_id, &tests, ei);
    if (rc)
        return rc;
    snprintf(it->mrn, sizeof(it->mrn), "%s", p.mrn);
    snprintf(it->family, sizeof(it->family), "%s", p.family);
    snprintf(it->given, sizeof(it->given), "%s", p.given);
    snprintf(it->birth_date, sizeof(it->birth_date), "%s", p.birth_date);
    snprintf(it->sex, sizeof(it->sex), "%s", p.sex);
    snprintf(it->accession, sizeof(it->accession), "%s", s.accession);
    snprintf(it->specimen_type, sizeof(it->specimen_type), "%.64s", s.specimen_type);
    snprintf(it->priority, sizeof(it->priority), "%s", s.priority);
    it->collected_at = s.collected_at;
    json_array_foreach(tests, i, t)
    {
        if (!pending(t) || !instrument_runs(&it->in, jsonv_str(t, "code")) ||
            it->ntests == DELIVERY_ORDER_TESTS)
            continue;
        rc = catalog_instrument_code(d, it->in.name, jsonv_str(t, "code"),
                                     it->tests[it->ntests].code, ei);
        if (rc)
            break;
        snprintf(it->tests[it->ntests].name, sizeof(it->tests[0].name), "%s", jsonv_str(t, "name"));
        it->ntests++;
    }
    json_decref(tests);
    return rc;
}

err_t delivery_orders_due(db *d, const char *node, int64_t now, int64_t lease_us,
                          delivery_order *items, int max, int *n, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    char specimens[64][ID_LEN + 1];
    *n = 0;
    if (max > 64)
        max = 64;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_query(d, &st, ei, db_kind(d) == DB_POSTGRES ? sql_orders_due_pg : sql_orders_due, "iii",
                  now, now, (int64_t)max);
    while (!rc && !(rc = db_step(st, &row, ei)) && row && *n < max) {
        delivery_order *it = &items[*n];
        memset(it, 0, sizeof(*it));
        col(st, 0, it->id, sizeof(it->id));
        col(st, 1, it->in.name, sizeof(it->in.name));
        col(st, 2, specimens[*n], sizeof(specimens[0]));
        it->attempts = (int)db_col_int64(st, 3);
        (*n)++;
    }
    db_finalize(st);
    st = NULL;
    for (int i = 0; !rc && i < *n; i++)
        rc = db_run(d, ei, NULL, sql_order_claim, "tit", node, now + lease_us, items[i].id);
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
    /* Claimed: what to send is read now, outside the claiming transaction. */
    for (int i = 0; !rc && i < *n; i++) {
        char name[sizeof(items[i].in.name)];
        snprintf(name, sizeof(name), "%s", items[i].in.name);
        rc = instrument_get(d, name, &items[i].in, ei);
        if (!rc)
            rc = order_fill(d, specimens[i], &items[i], ei);
    }
    if (rc)
        *n = 0;
    return rc;
}

err_t delivery_order_hold(db *d, const char *id, const char *node, int64_t until, bool *ours,
                          errinfo *ei)
{
    return hold_row(d, sql_order_hold, id, node, until, ours, ei);
}

err_t delivery_unclaim(db *d, const char *node, errinfo *ei)
{
    err_t rc = db_run(d, ei, NULL, sql_unclaim, "t", node);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_order_unclaim, "t", node);
    return rc;
}

err_t delivery_order_done(db *d, const char *id, const char *control_id, const char *tests,
                          errinfo *ei)
{
    return db_run(d, ei, NULL, sql_order_done, "ittt", time_now_us(), control_id, tests, id);
}

err_t delivery_order_failed(db *d, const char *id, const char *why, int64_t next_at, errinfo *ei)
{
    return db_run(d, ei, NULL, sql_order_failed, "tit", why, next_at, id);
}

err_t delivery_orders_json(db *d, const char *status, int limit, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    *items = NULL;
    if (status && strcmp(status, "pending") && strcmp(status, "delivered")) {
        json_decref(arr);
        return err_set(ei, ERR_INVALID, "status", "status must be pending or delivered");
    }
    err_t rc = arr ? db_query(d, &st, ei, sql_orders_list, "tti", status, status, (int64_t)limit)
                   : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        json_t *tests = db_col_text(st, 8) ? json_loads(db_col_text(st, 8), 0, NULL) : NULL;
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "id", db_col_text(st, 0),
            "destination", db_col_text(st, 1), "accession", db_col_text(st, 2), "status",
            db_col_text(st, 3), "attempts", (json_int_t)db_col_int64(st, 4), "next_attempt_at",
            !strcmp(db_col_text(st, 3), "pending") ? db_col_json_time(st, 5) : json_null(),
            "last_error", db_col_json_text(st, 6), "control_id", db_col_json_text(st, 7), "tests",
            tests ? tests : json_null(), "created_at", db_col_json_time(st, 9), "delivered_at",
            db_col_json_time(st, 10));
        if (!o || json_array_append_new(arr, o))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (rc)
        json_decref(arr);
    else
        *items = arr;
    return rc;
}
