/*
 * use.c - reagent lots at work (see stock.h): lot-to-lot verification, the
 * lot in use on each instrument, what each result consumed of it, and the
 * release gate's judgement of the lots that measured a result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "lab/instrument.h"
#include "lab/result.h"
#include "stock/stock_impl.h"
#include "store/dbjson.h"

static const char sql_verif_insert[] =
    "INSERT INTO stock_verifications (id, lot_id, compared_lot_id, samples, mean_difference,"
    " bias_percent, criterion, accepted, note, verified_at, verified_by)"
    " VALUES (?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION), ?, ?, ?, ?, ?)";
static const char sql_verified[] =
    "UPDATE stock_lots SET status = 'verified', verified_at = ? WHERE id = ?"
    " AND verified_at IS NULL AND status <> 'disposed'";
#define VERIF_COLS                                                                                 \
    "SELECT v.id, i.code, l.lot, c.lot, v.samples, v.mean_difference, v.bias_percent,"             \
    " v.criterion, v.accepted, v.note, v.verified_at, v.verified_by, v.lot_id"                     \
    " FROM stock_verifications v JOIN stock_lots l ON l.id = v.lot_id"                             \
    " JOIN stock_items i ON i.id = l.item_id LEFT JOIN stock_lots c ON c.id = v.compared_lot_id"
static const char sql_verif[] = VERIF_COLS " WHERE v.id = ?";
static const char sql_verifs[] = VERIF_COLS " WHERE (CAST(? AS TEXT) IS NULL OR i.code = ?)"
                                            " ORDER BY v.verified_at DESC, v.id DESC LIMIT 500";
static const char sql_held_by_lot[] =
    "SELECT DISTINCT r.test_code, COALESCE(r.instrument, '') FROM results r"
    " JOIN stock_movements m ON m.result_id = r.id WHERE m.lot_id = ? AND r.status = 'review'";
static const char sql_best_location[] =
    "SELECT location, SUM(quantity) FROM stock_movements WHERE lot_id = ? GROUP BY location"
    " HAVING SUM(quantity) > 0 ORDER BY SUM(quantity) DESC, location LIMIT 1";
static const char sql_current[] =
    "SELECT u.lot_id, l.lot, u.location FROM stock_in_use u JOIN stock_lots l ON l.id = u.lot_id"
    " WHERE u.instrument = ? AND u.item_id = ? AND u.ended_at IS NULL";
static const char sql_end_use[] =
    "UPDATE stock_in_use SET ended_at = ?, ended_by = ? WHERE instrument = ? AND item_id = ?"
    " AND ended_at IS NULL";
static const char sql_start_use[] =
    "INSERT INTO stock_in_use (id, instrument, item_id, lot_id, location, started_at, started_by)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_opened[] =
    "UPDATE stock_lots SET opened_at = ? WHERE id = ? AND opened_at IS NULL";
#define USE_COLS                                                                                   \
    "SELECT i.code, i.name, l.lot, l.id, l.expiry, l.status, u.location, u.started_at,"            \
    " u.started_by, u.ended_at, u.ended_by, i.id FROM stock_in_use u"                              \
    " JOIN stock_lots l ON l.id = u.lot_id JOIN stock_items i ON i.id = u.item_id"
static const char sql_in_use[] =
    USE_COLS " WHERE u.instrument = ? AND u.ended_at IS NULL ORDER BY i.code";
static const char sql_history[] = USE_COLS " WHERE u.instrument = ? AND u.ended_at IS NOT NULL"
                                           " ORDER BY u.ended_at DESC, u.id DESC LIMIT 500";
static const char sql_consume[] =
    "SELECT u.lot_id, u.location, i.uses_per_test, i.code, l.lot FROM stock_in_use u"
    " JOIN stock_item_tests t ON t.item_id = u.item_id JOIN stock_items i ON i.id = u.item_id"
    " JOIN stock_lots l ON l.id = u.lot_id WHERE u.instrument = ? AND u.ended_at IS NULL"
    " AND t.test_code = ? AND i.uses_per_test > 0 ORDER BY i.code";
static const char sql_use_insert[] =
    "INSERT INTO stock_movements (id, lot_id, kind, location, quantity, at, recorded_at,"
    " recorded_by, result_id, instrument) VALUES (?, ?, 'use', ?, ?, ?, ?, ?, ?, ?)";
static const char sql_gate[] =
    "SELECT i.code, l.lot, l.expiry, l.opened_at, i.open_stability_days, l.verified_at, i.kind"
    " FROM stock_movements m JOIN stock_lots l ON l.id = m.lot_id"
    " JOIN stock_items i ON i.id = l.item_id WHERE m.result_id = ? ORDER BY i.code, l.lot";

static const jsonv_field verif_fields[] = {
    {"item", JSONV_STRING, true, STOCK_CODE_MAX},
    {"lot", JSONV_STRING, true, STOCK_LOT_MAX},
    {"compared_lot", JSONV_STRING, false, STOCK_LOT_MAX},
    {"samples", JSONV_INT, true, 0},
    {"mean_difference", JSONV_NUMBER, true, 0},
    {"bias_percent", JSONV_NUMBER, false, 0},
    {"criterion", JSONV_STRING, true, STOCK_NOTE_MAX},
    {"accepted", JSONV_BOOL, true, 0},
    {"note", JSONV_STRING, false, STOCK_NOTE_MAX},
};
static const jsonv_field put_fields[] = {
    {"item", JSONV_STRING, true, STOCK_CODE_MAX},
    {"lot", JSONV_STRING, true, STOCK_LOT_MAX},
    {"location", JSONV_STRING, false, STOCK_UNIT_NAME_MAX},
};

/* ---- verification ---- */

static err_t verif_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    (void)d;
    (void)ei;
    *out = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:f,s:o,s:s,s:b,s:o,s:o,s:s}", "id",
                     db_col_text(st, 0), "lot_id", db_col_text(st, 12), "item", db_col_text(st, 1),
                     "lot", db_col_text(st, 2), "compared_lot", db_col_json_text(st, 3), "samples",
                     (json_int_t)db_col_int64(st, 4), "mean_difference", db_col_double(st, 5),
                     "bias_percent", db_col_json_num(st, 6), "criterion", db_col_text(st, 7),
                     "accepted", db_col_int64(st, 8) != 0, "note", db_col_json_text(st, 9),
                     "verified_at", db_col_json_time(st, 10), "verified_by", db_col_text(st, 11));
    return *out ? ERR_OK : ERR_NOMEM;
}

err_t stock_verifications_list(db *d, const char *item, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_verifs, "tt", item, item);
    return stock_collect(d, st, rc, verif_row, items, ei);
}

/* Results measured with lot_id that wait for review: automatic verification
 * again, now that the lot is verified. Their ids into released. */
static err_t recheck_lot(db *d, const audit_ctx *ctx, const char *lot_id, json_t *released,
                         errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *pairs = json_array(), *p;
    size_t i;
    err_t rc = pairs ? db_query(d, &st, ei, sql_held_by_lot, "t", lot_id) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        if (json_array_append_new(pairs,
                                  json_pack("[s,s]", db_col_text(st, 0), db_col_text(st, 1))))
            rc = ERR_NOMEM;
    db_finalize(st);
    json_array_foreach(pairs, i, p)
    {
        json_t *ids = NULL;
        if (!rc)
            rc = result_recheck(d, ctx, json_string_value(json_array_get(p, 0)),
                                json_string_value(json_array_get(p, 1)), &ids, ei);
        if (!rc && json_array_extend(released, ids))
            rc = ERR_NOMEM;
        json_decref(ids);
    }
    json_decref(pairs);
    return rc;
}

err_t stock_verification_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                                errinfo *ei)
{
    stock_item_row item;
    stock_lot_row lot, cmp;
    char id[ID_LEN + 1], bias[DB_NUM_TEXT], iso[TIME_ISO_LEN];
    int64_t now = time_now_us(), changed = 0;
    json_t *verif = NULL, *lj = NULL, *released = NULL;
    *out = NULL;
    err_t rc = jsonv_check(body, verif_fields, STOCK_NFIELDS(verif_fields), ei);
    if (!rc)
        rc = stock_text_check(body, "criterion", NULL, ei);
    if (!rc)
        rc = stock_text_check(body, "note", NULL, ei);
    if (rc)
        return rc;
    const char *compared = jsonv_str(body, "compared_lot");
    json_int_t samples = json_integer_value(json_object_get(body, "samples"));
    json_t *b = json_object_get(body, "bias_percent");
    bool accepted = json_is_true(json_object_get(body, "accepted"));
    if (samples < 1 || samples > 10000)
        return err_set(ei, ERR_INVALID, "samples", "samples must be from 1 to 10000");
    if (compared && !strcmp(compared, jsonv_str(body, "lot")))
        return err_set(ei, ERR_INVALID, "compared_lot", "a lot is compared with another lot");
    released = json_array();
    rc = released ? db_begin(d, ei) : ERR_NOMEM;
    if (rc) {
        json_decref(released);
        return rc;
    }
    rc = stock_item_find(d, jsonv_str(body, "item"), "item", false, &item, ei);
    if (!rc && !stock_kind_verified(item.kind))
        rc = err_set(ei, ERR_INVALID, "item",
                     "%s is a %s: only lots of reagents, controls and calibrators are verified",
                     item.code, item.kind);
    if (!rc)
        rc = stock_lot_named(d, &item, jsonv_str(body, "lot"), &lot, ei);
    if (!rc && compared) {
        bool found = false;
        rc = stock_lot_find(d, item.id, compared, &found, &cmp, ei);
        if (!rc && !found)
            rc = err_set(ei, ERR_INVALID, "compared_lot", "%s has no lot %.40s", item.code,
                         compared);
    }
    if (!rc)
        rc = stock_lot_lock(d, lot.id, ei);
    if (!rc && !strcmp(lot.status, "disposed"))
        rc = err_set(ei, ERR_CONFLICT, "lot", "lot %s of %s was disposed", lot.lot, item.code);
    if (!rc && lot.verified_at) {
        time_format_iso(lot.verified_at, iso);
        rc = err_set(ei, ERR_CONFLICT, "lot", "lot %s of %s was verified on %.10s already", lot.lot,
                     item.code, iso);
    }
    id_new(id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_verif_insert, "tttidttitit", id, lot.id,
                    compared ? cmp.id : NULL, (int64_t)samples,
                    json_number_value(json_object_get(body, "mean_difference")),
                    db_num_text(json_is_number(b), json_number_value(b), bias),
                    jsonv_str(body, "criterion"), (int64_t)accepted, jsonv_str(body, "note"), now,
                    ctx->actor ? ctx->actor : "system");
    if (!rc && accepted)
        rc = db_run(d, ei, &changed, sql_verified, "it", now, lot.id);
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s,s:o,s:I,s:b,s:s}", "item", item.code, "lot", lot.lot,
                                   "compared_lot", compared ? json_string(compared) : json_null(),
                                   "samples", (json_int_t)samples, "accepted", accepted,
                                   "criterion", jsonv_str(body, "criterion"));
        rc = stock_audit_event(d, ctx, "stock.verification", "stock_lot", "lot_id", lot.id, detail,
                               ei);
    }
    if (!rc && accepted)
        rc = recheck_lot(d, ctx, lot.id, released, ei);
    if (!rc) {
        db_stmt *st = NULL;
        rc = db_query_by_id(d, &st, sql_verif, id, "verification", ei);
        if (!rc)
            rc = verif_row(d, st, &verif, ei);
        db_finalize(st);
    }
    if (!rc)
        rc = stock_lot_json(d, lot.id, &lj, ei);
    if (!rc && !(*out = json_pack("{s:O,s:O,s:O}", "verification", verif, "lot", lj, "released",
                                  released)))
        rc = ERR_NOMEM;
    rc = stock_finish(d, rc, out, ei);
    json_decref(verif);
    json_decref(lj);
    json_decref(released);
    return rc;
}

/* ---- in use on an instrument ---- */

/* An entry of the history of an instrument's reagents (columns of USE_COLS). */
static err_t history_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    (void)d;
    (void)ei;
    *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o}", "item", db_col_text(st, 0),
                     "name", db_col_text(st, 1), "lot", db_col_text(st, 2), "lot_id",
                     db_col_text(st, 3), "expiry", db_col_text(st, 4), "status", db_col_text(st, 5),
                     "location", db_col_text(st, 6), "started_at", db_col_json_time(st, 7),
                     "started_by", db_col_text(st, 8), "ended_at", db_col_json_time(st, 9),
                     "ended_by", db_col_json_text(st, 10));
    return *out ? ERR_OK : ERR_NOMEM;
}

/* A lot in use now: the same, with the tests its item serves. */
static err_t in_use_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    json_t *tests = NULL;
    err_t rc = history_row(d, st, out, ei);
    if (!rc)
        rc = stock_item_tests(d, db_col_text(st, 11), &tests, ei);
    if (!rc && json_object_set_new(*out, "tests", tests))
        rc = ERR_NOMEM;
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static err_t use_list(db *d, const char *sql, const char *inst_name, stock_row_fn row,
                      json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql, "t", inst_name);
    return stock_collect(d, st, rc, row, items, ei);
}

err_t stock_reagents_get(db *d, const char *inst_name, json_t **out, errinfo *ei)
{
    instrument in;
    json_t *now_in = NULL, *hist = NULL;
    *out = NULL;
    err_t rc = instrument_get(d, inst_name, &in, ei);
    if (rc == ERR_NOT_FOUND)
        rc = err_set(ei, ERR_NOT_FOUND, "name", "no instrument is named '%.64s'", inst_name);
    if (!rc)
        rc = use_list(d, sql_in_use, in.name, in_use_row, &now_in, ei);
    if (!rc)
        rc = use_list(d, sql_history, in.name, history_row, &hist, ei);
    if (!rc && !(*out = json_pack("{s:s,s:O,s:O}", "instrument", in.name, "in_use", now_in,
                                  "history", hist)))
        rc = ERR_NOMEM;
    json_decref(now_in);
    json_decref(hist);
    return rc;
}

/* Where a lot put in use draws its stock from: the storage unit given (it
 * must hold some), else the one holding most. */
static err_t draw_location(db *d, const stock_item_row *item, const stock_lot_row *lot,
                           const char *given, char out[STOCK_UNIT_NAME_MAX + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    int64_t there = 0;
    err_t rc;
    if (given) {
        rc = stock_unit_check(d, given, "location", ei);
        if (!rc)
            rc = stock_on_hand(d, lot->id, given, &there, ei);
        if (!rc && there <= 0)
            rc = err_set(ei, ERR_CONFLICT, "location", "%.64s holds none of lot %s of %s", given,
                         lot->lot, item->code);
        if (!rc)
            snprintf(out, STOCK_UNIT_NAME_MAX + 1, "%s", given);
        return rc;
    }
    rc = db_query(d, &st, ei, sql_best_location, "t", lot->id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        snprintf(out, STOCK_UNIT_NAME_MAX + 1, "%s", db_col_text(st, 0));
    db_finalize(st);
    if (!rc && !row)
        rc = err_set(ei, ERR_CONFLICT, "lot", "lot %s of %s has nothing on hand to put in use",
                     lot->lot, item->code);
    return rc;
}

err_t stock_reagent_put(db *d, const audit_ctx *ctx, const char *inst_name, const json_t *body,
                        json_t **out, errinfo *ei)
{
    instrument in;
    stock_item_row item;
    stock_lot_row lot;
    char location[STOCK_UNIT_NAME_MAX + 1] = "", prev_lot[STOCK_LOT_MAX + 1] = "";
    char why[256];
    bool same = false, had = false;
    int64_t now = time_now_us();
    const char *by = ctx->actor ? ctx->actor : "system";
    json_t *warnings = NULL;
    *out = NULL;
    err_t rc = jsonv_check(body, put_fields, STOCK_NFIELDS(put_fields), ei);
    if (rc)
        return rc;
    warnings = json_array();
    rc = warnings ? db_begin(d, ei) : ERR_NOMEM;
    if (rc) {
        json_decref(warnings);
        return rc;
    }
    rc = instrument_get(d, inst_name, &in, ei);
    if (rc == ERR_NOT_FOUND)
        rc = err_set(ei, ERR_NOT_FOUND, "name", "no instrument is named '%.64s'", inst_name);
    if (!rc)
        rc = stock_item_find(d, jsonv_str(body, "item"), "item", false, &item, ei);
    if (!rc && strcmp(item.kind, "reagent"))
        rc = err_set(ei, ERR_INVALID, "item",
                     "%s is a %s: only reagents are put in use on an instrument", item.code,
                     item.kind);
    if (!rc)
        rc = stock_lot_named(d, &item, jsonv_str(body, "lot"), &lot, ei);
    if (!rc)
        rc = stock_lot_lock(d, lot.id, ei);
    if (!rc && !strcmp(lot.status, "disposed"))
        rc = err_set(ei, ERR_CONFLICT, "lot", "lot %s of %s was disposed", lot.lot, item.code);
    if (!rc)
        rc = draw_location(d, &item, &lot, jsonv_str(body, "location"), location, ei);
    if (!rc) {
        db_stmt *st = NULL;
        rc = db_query(d, &st, ei, sql_current, "tt", in.name, item.id);
        if (!rc)
            rc = db_step(st, &had, ei);
        if (!rc && had) {
            same = !strcmp(db_col_text(st, 0), lot.id) && !strcmp(db_col_text(st, 2), location);
            snprintf(prev_lot, sizeof(prev_lot), "%s", db_col_text(st, 1));
        }
        db_finalize(st);
    }
    if (!rc && !same) {
        char uid[ID_LEN + 1];
        id_new(uid);
        rc = db_run(d, ei, NULL, sql_end_use, "ittt", now, by, in.name, item.id);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_start_use, "tttttit", uid, in.name, item.id, lot.id,
                        location, now, by);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_opened, "it", now, lot.id);
        if (!rc && !lot.opened_at)
            lot.opened_at = now;
    }
    if (!rc) {
        stock_lot_state ls = {
            .item = item.code,
            .lot = lot.lot,
            .expiry = lot.expiry,
            .opened_at = lot.opened_at,
            .open_days = item.open_days,
            .needs_verification = true,
            .verified = lot.verified_at != 0,
        };
        if (stock_lot_unfit(&ls, now, why, sizeof(why)) &&
            json_array_append_new(warnings, json_string(why)))
            rc = ERR_NOMEM;
    }
    if (!rc && !same) {
        json_t *detail = json_pack("{s:s,s:s,s:s,s:o,s:O}", "item", item.code, "lot", lot.lot,
                                   "location", location, "replaced",
                                   had ? json_string(prev_lot) : json_null(), "warnings", warnings);
        rc = stock_audit_event(d, ctx, "stock.reagent.in-use", "instrument", "instrument", in.name,
                               detail, ei);
    }
    if (!rc)
        rc = stock_reagents_get(d, in.name, out, ei);
    if (!rc && json_object_set(*out, "warnings", warnings))
        rc = ERR_NOMEM;
    rc = stock_finish(d, rc, out, ei);
    json_decref(warnings);
    return rc;
}

err_t stock_reagent_remove(db *d, const audit_ctx *ctx, const char *inst_name, const char *item,
                           json_t **out, errinfo *ei)
{
    instrument in;
    stock_item_row it;
    int64_t changed = 0;
    *out = NULL;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = instrument_get(d, inst_name, &in, ei);
    if (rc == ERR_NOT_FOUND)
        rc = err_set(ei, ERR_NOT_FOUND, "name", "no instrument is named '%.64s'", inst_name);
    if (!rc)
        rc = stock_item_find(d, item, "item", true, &it, ei);
    if (!rc)
        rc = db_run(d, ei, &changed, sql_end_use, "ittt", time_now_us(),
                    ctx->actor ? ctx->actor : "system", in.name, it.id);
    if (!rc && changed == 0)
        rc = err_set(ei, ERR_NOT_FOUND, "item", "no lot of %s is in use on %s", it.code, in.name);
    if (!rc) {
        json_t *detail = json_pack("{s:s}", "item", it.code);
        rc = stock_audit_event(d, ctx, "stock.reagent.out-of-use", "instrument", "instrument",
                               in.name, detail, ei);
    }
    if (!rc)
        rc = stock_reagents_get(d, in.name, out, ei);
    return stock_finish(d, rc, out, ei);
}

/* ---- consumption and the gate ---- */

err_t stock_consume(db *d, const audit_ctx *ctx, const char *result_id, const char *test,
                    const char *inst_name, int64_t at, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *used = json_array();
    err_t rc = used ? db_query(d, &st, ei, sql_consume, "tt", inst_name, test) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        char q[32];
        json_t *u =
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "lot_id", db_col_text(st, 0), "location",
                      db_col_text(st, 1), "item", db_col_text(st, 3), "lot", db_col_text(st, 4),
                      "quantity", stock_qty_text(db_col_int64(st, 2), q));
        if (!u || json_array_append_new(used, u))
            rc = ERR_NOMEM;
        else if (json_object_set_new(u, "micro", json_integer(db_col_int64(st, 2))))
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    size_t i;
    json_t *u;
    json_array_foreach(used, i, u)
    {
        char id[ID_LEN + 1];
        if (rc)
            break;
        id_new(id);
        rc = db_run(d, ei, NULL, sql_use_insert, "tttiiittt", id, jsonv_str(u, "lot_id"),
                    jsonv_str(u, "location"),
                    -(int64_t)json_integer_value(json_object_get(u, "micro")), at, at,
                    ctx->actor ? ctx->actor : "system", result_id, inst_name);
        json_object_del(u, "micro");
        json_object_del(u, "lot_id");
    }
    if (!rc && json_array_size(used) > 0) {
        json_t *detail =
            json_pack("{s:s,s:s,s:O}", "instrument", inst_name, "test", test, "used", used);
        rc = audit_write(d, ctx, "stock.consume", "result", result_id, "ok", detail, ei);
        json_decref(detail);
    }
    json_decref(used);
    return rc;
}

err_t stock_gate_reason(db *d, const char *result_id, int64_t resulted_at, char *why, size_t n,
                        errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false, unfit = false;
    why[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_gate, "t", result_id);
    while (!unfit && !rc && !(rc = db_step(st, &row, ei)) && row) {
        stock_lot_state ls = {
            .item = db_col_text(st, 0),
            .lot = db_col_text(st, 1),
            .expiry = db_col_text(st, 2),
            .opened_at = db_col_null(st, 3) ? 0 : db_col_int64(st, 3),
            .open_days = db_col_null(st, 4) ? 0 : (int)db_col_int64(st, 4),
            .needs_verification = stock_kind_verified(db_col_text(st, 6)),
            .verified = !db_col_null(st, 5),
        };
        unfit = stock_lot_unfit(&ls, resulted_at, why, n);
    }
    db_finalize(st);
    if (rc)
        why[0] = '\0';
    return rc;
}
