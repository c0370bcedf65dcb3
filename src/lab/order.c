/*
 * order.c - laboratory orders and their expansion into specimens (see order.h).
 */
#include "lab/order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/time.h"
#include "lab/accession.h"
#include "lab/catalog.h"
#include "lab/patient.h"
#include "lab/specimen.h"
#include "lab/worklist.h"

static const char sql_order[] =
    "INSERT INTO orders (id, patient_id, priority, clinician, reasons, instructions, status,"
    " ordered_at, created_by, placer, placer_id) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)";
static const char sql_by_placer[] =
    "SELECT id, status FROM orders WHERE placer = ? AND placer_id = ?";
static const char sql_open_tests[] =
    "SELECT COUNT(*) FROM order_tests WHERE order_id = ? AND status IN ('resulted', 'released')";
static const char sql_cancel_tests[] =
    "UPDATE order_tests SET status = 'cancelled', cancel_reason = ? WHERE order_id = ?"
    " AND status IN ('ordered', 'in-progress')";
static const char sql_cancel_order[] = "UPDATE orders SET status = 'cancelled' WHERE id = ?";
static const char sql_specimen[] =
    "INSERT INTO specimens (id, accession, order_id, patient_id, parent_id, specimen_type,"
    " container, status, created_at) VALUES (?, ?, ?, ?, NULL, ?, ?, 'pending', ?)";
static const char sql_test[] = "INSERT INTO order_tests (id, order_id, test_code, panel_code,"
                               " specimen_id, status) VALUES (?, ?, ?, ?, ?, 'ordered')";
static const char sql_read[] = "SELECT id, patient_id, priority, clinician, reasons,"
                               " instructions, status, ordered_at, created_by FROM orders"
                               " WHERE id = ?";
static const char sql_accessions[] =
    "SELECT accession FROM specimens WHERE order_id = ? ORDER BY accession";

static const jsonv_field order_fields[] = {
    {"patient_id", JSONV_STRING, true, ID_LEN},
    {"tests", JSONV_ARRAY, true, ORDER_TESTS_MAX},
    {"priority", JSONV_STRING, true, 8},
    {"clinician", JSONV_STRING, true, 128},
    {"reasons", JSONV_ARRAY, true, ORDER_REASONS_MAX},
    {"instructions", JSONV_OBJECT, false, 0},
    {"placer", JSONV_STRING, false, 64},
    {"placer_id", JSONV_STRING, false, ORDER_PLACER_ID_MAX},
};

static const jsonv_field instruction_fields[] = {
    {"fasting", JSONV_BOOL, false, 0},
    {"timed_at", JSONV_STRING, false, 40},
    {"note", JSONV_STRING, false, 256},
};

bool order_icd10_valid(const char *code)
{
    size_t n = strlen(code), i;
    if (n < 3 || n > 8)
        return false;
    if (!(code[0] >= 'A' && code[0] <= 'Z') || !(code[1] >= '0' && code[1] <= '9'))
        return false;
    if (!((code[2] >= '0' && code[2] <= '9') || (code[2] >= 'A' && code[2] <= 'Z')))
        return false;
    if (n == 3)
        return true;
    if (code[3] != '.' || n == 4)
        return false;
    for (i = 4; i < n; i++)
        if (!((code[i] >= '0' && code[i] <= '9') || (code[i] >= 'A' && code[i] <= 'Z')))
            return false;
    return true;
}

/* One test of the order, with the specimen it goes in. */
struct wanted {
    char code[CATALOG_CODE_MAX + 1];
    char panel[CATALOG_CODE_MAX + 1];
    char specimen_type[CATALOG_UTF8_BYTES(CATALOG_LABEL_MAX) + 1];
    char container[CATALOG_UTF8_BYTES(CATALOG_LABEL_MAX) + 1];
    int group;
};

static err_t check_body(const json_t *body, errinfo *ei)
{
    size_t i;
    json_t *v;
    const char *priority;
    err_t rc = jsonv_check(body, order_fields, sizeof(order_fields) / sizeof(order_fields[0]), ei);
    if (rc)
        return rc;
    priority = jsonv_str(body, "priority");
    if (strcmp(priority, "routine") && strcmp(priority, "asap") && strcmp(priority, "stat"))
        return err_set(ei, ERR_INVALID, "priority", "priority must be routine, asap or stat");
    if (json_array_size(json_object_get(body, "tests")) == 0)
        return err_set(ei, ERR_INVALID, "tests", "an order needs at least one test");
    if (json_array_size(json_object_get(body, "reasons")) == 0)
        return err_set(ei, ERR_INVALID, "reasons",
                       "an order needs at least one ICD-10-CM reason code");
    json_array_foreach(json_object_get(body, "reasons"), i, v)
    {
        char field[32];
        snprintf(field, sizeof(field), "reasons[%zu]", i);
        if (!json_is_string(v) || !order_icd10_valid(json_string_value(v)))
            return err_set(ei, ERR_INVALID, field,
                           "%s is not an ICD-10-CM code (like E11.9 or Z00.00)", field);
    }
    json_t *ins = json_object_get(body, "instructions");
    if (ins && json_is_object(ins)) {
        rc = jsonv_check(ins, instruction_fields, 3, ei);
        if (rc) {
            char inner[64];
            snprintf(inner, sizeof(inner), "%s", ei ? ei->field : "");
            if (ei)
                snprintf(ei->field, sizeof(ei->field), "instructions.%.40s", inner);
            return rc;
        }
        const char *timed = jsonv_str(ins, "timed_at");
        int64_t t;
        if (timed && (strlen(timed) <= 10 || time_parse_iso(timed, strlen(timed), &t, NULL)))
            return err_set(ei, ERR_INVALID, "instructions.timed_at",
                           "instructions.timed_at must be an ISO 8601 date-time with a zone");
    }
    return ERR_OK;
}

/* The order a placer knows by placer_id: its id into id ("" when none). */
static err_t find_placer(db *d, const char *placer, const char *placer_id, char id[ID_LEN + 1],
                         char status[16], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    id[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_by_placer, "tt", placer, placer_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        snprintf(id, ID_LEN + 1, "%s", db_col_text(st, 0));
        snprintf(status, 16, "%s", db_col_text(st, 1));
    }
    db_finalize(st);
    return rc;
}

/* Expand the requested codes into distinct tests, grouped by container. */
static err_t expand(db *d, const json_t *tests, struct wanted *w, int *nw, int *ngroups,
                    errinfo *ei)
{
    size_t i;
    json_t *v;
    *nw = 0;
    *ngroups = 0;
    json_array_foreach(tests, i, v)
    {
        char field[32], codes[ORDER_TESTS_MAX][CATALOG_CODE_MAX + 1];
        int n = 0;
        snprintf(field, sizeof(field), "tests[%zu]", i);
        if (!json_is_string(v))
            return err_set(ei, ERR_INVALID, field, "%s must be a test or panel code", field);
        const char *code = json_string_value(v);
        err_t rc = catalog_expand(d, code, codes, ORDER_TESTS_MAX, &n, ei);
        if (rc == ERR_INVALID || rc == ERR_NOT_FOUND)
            return err_set(ei, ERR_INVALID, field, "%s: unknown test or panel code '%.20s'", field,
                           code);
        if (rc)
            return rc;
        bool is_panel = n != 1 || strcmp(codes[0], code);
        for (int k = 0; k < n; k++) {
            int j;
            for (j = 0; j < *nw; j++)
                if (!strcmp(w[j].code, codes[k]))
                    break;
            if (j < *nw)
                continue; /* asked twice (alone and in a panel): collected once */
            if (*nw >= ORDER_TESTS_MAX)
                return err_set(ei, ERR_INVALID, "tests", "an order holds at most %d tests",
                               ORDER_TESTS_MAX);
            catalog_test t;
            rc = catalog_get(d, codes[k], &t, ei);
            if (rc)
                return rc;
            struct wanted *x = &w[(*nw)++];
            memset(x, 0, sizeof(*x));
            snprintf(x->code, sizeof(x->code), "%.16s", codes[k]);
            snprintf(x->panel, sizeof(x->panel), "%.16s", is_panel ? code : "");
            snprintf(x->specimen_type, sizeof(x->specimen_type), "%s", t.specimen_type);
            snprintf(x->container, sizeof(x->container), "%s", t.container);
            x->group = -1;
            for (j = 0; j < *nw - 1; j++)
                if (!strcmp(w[j].specimen_type, x->specimen_type) &&
                    !strcmp(w[j].container, x->container))
                    x->group = w[j].group;
            if (x->group < 0)
                x->group = (*ngroups)++;
        }
    }
    return ERR_OK;
}

err_t order_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    struct wanted w[ORDER_TESTS_MAX];
    char order_id[ID_LEN + 1], spec_ids[ORDER_TESTS_MAX][ID_LEN + 1];
    char accessions[ORDER_TESTS_MAX][ACCESSION_LEN + 1];
    char *reasons = NULL, *instructions = NULL;
    int nw = 0, ngroups = 0;
    int64_t now = time_now_us();
    patient p;
    json_t *detail = NULL, *acc_list = NULL, *codes = NULL;
    err_t rc;

    *out = NULL;
    rc = check_body(body, ei);
    if (rc)
        return rc;
    rc = expand(d, json_object_get(body, "tests"), w, &nw, &ngroups, ei);
    if (rc)
        return rc;
    reasons = json_dumps(json_object_get(body, "reasons"), JSON_COMPACT);
    json_t *ins = json_object_get(body, "instructions");
    instructions =
        ins && json_is_object(ins) ? json_dumps(ins, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    acc_list = json_array();
    codes = json_array();
    if (!reasons || !instructions || !acc_list || !codes) {
        rc = ERR_NOMEM;
        goto done;
    }

    rc = db_begin(d, ei);
    if (rc)
        goto done;
    rc = patient_get(d, jsonv_str(body, "patient_id"), &p, ei);
    if (rc == ERR_NOT_FOUND)
        rc = err_set(ei, ERR_INVALID, "patient_id", "no patient has id %.30s",
                     jsonv_str(body, "patient_id"));
    if (rc)
        goto fail;
    id_new(order_id);
    const char *placer = jsonv_str(body, "placer"), *placer_id = jsonv_str(body, "placer_id");
    if (placer && placer_id) {
        char existing[ID_LEN + 1] = "", status[16];
        rc = find_placer(d, placer, placer_id, existing, status, ei);
        if (!rc && existing[0])
            rc = err_set(ei, ERR_CONFLICT, "placer_id", "%s order %s was placed already (order %s)",
                         placer, placer_id, existing);
        if (rc)
            goto fail;
    }
    rc = db_run(d, ei, NULL, sql_order, "ttttttittt", order_id, p.id, jsonv_str(body, "priority"),
                jsonv_str(body, "clinician"), reasons, instructions, now,
                ctx->actor ? ctx->actor : "system", placer, placer_id);
    for (int g = 0; !rc && g < ngroups; g++) {
        int first = 0;
        while (w[first].group != g)
            first++;
        id_new(spec_ids[g]);
        rc = accession_next(d, now, accessions[g], ei);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_specimen, "tttttti", spec_ids[g], accessions[g], order_id,
                        p.id, w[first].specimen_type, w[first].container, now);
        if (!rc)
            json_array_append_new(acc_list, json_string(accessions[g]));
    }
    for (int k = 0; !rc && k < nw; k++) {
        char tid[ID_LEN + 1];
        id_new(tid);
        rc = db_run(d, ei, NULL, sql_test, "ttttt", tid, order_id, w[k].code,
                    w[k].panel[0] ? w[k].panel : NULL, spec_ids[w[k].group]);
        if (!rc)
            json_array_append_new(codes, json_string(w[k].code));
    }
    if (!rc)
        rc = worklist_touch_order(d, order_id, ei);
    if (rc)
        goto fail;
    detail = json_pack("{s:s,s:O,s:O,s:s}", "patient_id", p.id, "tests", codes, "accessions",
                       acc_list, "priority", jsonv_str(body, "priority"));
    rc = audit_write(d, ctx, "order.create", "order", order_id, "ok", detail, ei);
    if (rc)
        goto fail;
    rc = db_commit(d, ei);
    if (rc)
        goto done;
    rc = order_read(d, ctx, order_id, out, ei);
    goto done;
fail:
    db_rollback(d);
done:
    json_decref(detail);
    json_decref(acc_list);
    json_decref(codes);
    free(reasons);
    free(instructions);
    return rc;
}

err_t order_read(db *d, const audit_ctx *ctx, const char *id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *o = NULL, *specs = json_array();
    json_error_t je;
    char at[TIME_ISO_LEN];
    err_t rc;

    *out = NULL;
    if (!specs)
        return ERR_NOMEM;
    rc = db_begin(d, ei);
    if (rc)
        goto fail;
    rc = db_query(d, &st, ei, sql_read, "t", id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_NOT_FOUND, NULL, "no such order");
    if (!rc) {
        json_t *reasons = json_loads(db_col_text(st, 4), 0, &je);
        json_t *ins = json_loads(db_col_text(st, 5), 0, &je);
        time_format_iso(db_col_int64(st, 7), at);
        o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:s}", "id", db_col_text(st, 0),
                      "patient_id", db_col_text(st, 1), "priority", db_col_text(st, 2), "clinician",
                      db_col_text(st, 3), "reasons", reasons ? reasons : json_array(),
                      "instructions", ins ? ins : json_object(), "status", db_col_text(st, 6),
                      "ordered_at", at, "ordered_by", db_col_text(st, 8));
        if (!o)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = db_query(d, &st, ei, sql_accessions, "t", id);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        json_array_append_new(specs, json_string(db_col_text(st, 0)));
    }
    db_finalize(st);
    st = NULL;
    /* Each specimen in full, with its tests. */
    for (size_t i = 0; !rc && i < json_array_size(specs); i++) {
        specimen s;
        json_t *tests = NULL;
        rc = specimen_get(d, json_string_value(json_array_get(specs, i)), &s, ei);
        if (!rc)
            rc = specimen_tests_json(d, s.id, &tests, ei);
        if (!rc) {
            json_t *sj = specimen_to_json(&s);
            json_object_set_new(sj, "tests", tests);
            json_array_set_new(specs, i, sj);
        }
    }
    if (!rc)
        rc = audit_write(d, ctx, "order.read", "order", id, "ok", NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        goto fail;
    json_object_set_new(o, "specimens", specs);
    *out = o;
    return ERR_OK;
fail:
    db_rollback(d);
    json_decref(o);
    json_decref(specs);
    return rc;
}

err_t order_cancel_placed(db *d, const audit_ctx *ctx, const char *placer, const char *placer_id,
                          const char *reason, char order_id[ID_LEN + 1], errinfo *ei)
{
    char status[16] = "";
    int64_t done = 0, changed = 0;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = find_placer(d, placer, placer_id, order_id, status, ei);
    if (!rc && !order_id[0])
        rc = err_set(ei, ERR_NOT_FOUND, "placer_id", "%s has no order %.40s here", placer,
                     placer_id);
    if (!rc && !strcmp(status, "cancelled"))
        goto commit; /* cancelled already: nothing more to do */
    if (!rc) {
        db_stmt *st = NULL;
        bool row = false;
        rc = db_query(d, &st, ei, sql_open_tests, "t", order_id);
        if (!rc)
            rc = db_step(st, &row, ei);
        if (!rc && row)
            done = db_col_int64(st, 0);
        db_finalize(st);
    }
    if (!rc && done > 0)
        rc = err_set(ei, ERR_CONFLICT, "placer_id",
                     "order %s has %lld test(s) with results: it cannot be cancelled", placer_id,
                     (long long)done);
    if (!rc)
        rc = db_run(d, ei, &changed, sql_cancel_tests, "tt", reason, order_id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_cancel_order, "t", order_id);
    if (!rc)
        rc = worklist_touch_order(d, order_id, ei);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:s,s:I}", "placer", placer, "placer_id", placer_id,
                                   "reason", reason, "tests", (json_int_t)changed);
        rc = audit_write(d, ctx, "order.cancel", "order", order_id, "ok", detail, ei);
        json_decref(detail);
    }
commit:
    if (rc) {
        db_rollback(d);
        return rc;
    }
    return db_commit(d, ei);
}
