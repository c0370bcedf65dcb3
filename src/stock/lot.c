/*
 * lot.c - lots and the movements of their stock (see stock.h): receive,
 * use, transfer, dispose and count, each checked against what is on hand at
 * its storage unit before anything is written.
 *
 * A movement first takes its lot's row (stock_lot_lock), so that two uses of
 * one lot never both pass the check of what is on hand: each reads what the
 * one before it committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "stock/stock_impl.h"
#include "store/dbjson.h"

#define DAY_US (86400LL * 1000000LL)

/* The status as the API shows it: "depleted" when nothing is on hand. */
#define LOT_STATUS                                                                                 \
    "CASE WHEN l.status <> 'disposed' AND COALESCE((SELECT SUM(q.quantity) FROM"                   \
    " stock_movements q WHERE q.lot_id = l.id), 0) <= 0 THEN 'depleted' ELSE l.status END"

#define LOT_COLS                                                                                   \
    "SELECT l.id, i.code, i.name, i.kind, i.unit, l.lot, l.expiry, " LOT_STATUS ","                \
    " l.received_at, l.opened_at, i.open_stability_days, l.verified_at, l.created_at,"             \
    " l.created_by, (SELECT CAST(COALESCE(SUM(q.quantity), 0) AS BIGINT) FROM stock_movements q"   \
    " WHERE q.lot_id = l.id) FROM stock_lots l JOIN stock_items i ON i.id = l.item_id"

static const char sql_lot_json[] = LOT_COLS " WHERE l.id = ?";
static const char sql_lots[] =
    LOT_COLS " WHERE (CAST(? AS TEXT) IS NULL OR i.code = ?)"
             " AND (CAST(? AS TEXT) IS NULL OR " LOT_STATUS " = ?)"
             " AND (CAST(? AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM stock_movements w"
             " WHERE w.lot_id = l.id AND w.location = ? GROUP BY w.location"
             " HAVING SUM(w.quantity) > 0))"
             " ORDER BY i.code, l.expiry, l.lot LIMIT 500";
static const char sql_locations[] =
    "SELECT location, CAST(SUM(quantity) AS BIGINT) FROM stock_movements WHERE lot_id = ?"
    " GROUP BY location HAVING SUM(quantity) <> 0 ORDER BY location";
#define MOVE_COLS                                                                                  \
    "SELECT m.id, m.lot_id, i.code, l.lot, m.kind, m.location, m.quantity, m.counted, m.at,"       \
    " m.recorded_at, m.recorded_by, m.reason, m.transfer_id, m.result_id, m.instrument"            \
    " FROM stock_movements m JOIN stock_lots l ON l.id = m.lot_id"                                 \
    " JOIN stock_items i ON i.id = l.item_id"
static const char sql_moves_made[] = MOVE_COLS " WHERE m.id IN (?, ?) ORDER BY m.id";
static const char sql_moves_of[] = MOVE_COLS " WHERE m.lot_id = ? ORDER BY m.id DESC LIMIT 500";
static const char sql_moves[] =
    MOVE_COLS " WHERE (CAST(? AS TEXT) IS NULL OR i.code = ?)"
              " AND (CAST(? AS TEXT) IS NULL OR m.lot_id = ?)"
              " AND (CAST(? AS TEXT) IS NULL OR m.kind = ?) AND m.at >= ?"
              " AND m.at <= ? ORDER BY m.at DESC, m.id DESC LIMIT ?";
static const char sql_verifs_of[] =
    "SELECT v.id, c.lot, v.samples, v.mean_difference, v.bias_percent, v.criterion, v.accepted,"
    " v.note, v.verified_at, v.verified_by FROM stock_verifications v"
    " LEFT JOIN stock_lots c ON c.id = v.compared_lot_id WHERE v.lot_id = ?"
    " ORDER BY v.verified_at DESC";
static const char sql_use_of[] =
    "SELECT instrument, location, started_at, started_by, ended_at, ended_by FROM stock_in_use"
    " WHERE lot_id = ? ORDER BY started_at DESC LIMIT 500";
static const char sql_lot_insert[] =
    "INSERT INTO stock_lots (id, item_id, lot, expiry, status, received_at, created_at,"
    " created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, lot) DO NOTHING";
static const char sql_move_insert[] =
    "INSERT INTO stock_movements (id, lot_id, kind, location, quantity, at, recorded_at,"
    " recorded_by, counted, reason, transfer_id, result_id, instrument)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS BIGINT), ?, ?, NULL, NULL)";
static const char sql_disposed[] = "UPDATE stock_lots SET status = 'disposed' WHERE id = ?";
static const char sql_first_receipt[] =
    "UPDATE stock_lots SET received_at = ? WHERE id = ? AND received_at > ?";

/* ---- request bodies, one table a kind ---- */

/* clang-format off */
#define F_KIND     {"kind", JSONV_STRING, true, 12}
#define F_ITEM     {"item", JSONV_STRING, true, STOCK_CODE_MAX}
#define F_LOT      {"lot", JSONV_STRING, true, STOCK_LOT_MAX}
#define F_QUANTITY {"quantity", JSONV_NUMBER, true, 0}
#define F_LOCATION {"location", JSONV_STRING, true, STOCK_UNIT_NAME_MAX}
#define F_AT       {"at", JSONV_STRING, false, 40}
#define F_NOTE     {"note", JSONV_STRING, false, STOCK_NOTE_MAX}
/* clang-format on */

static const jsonv_field receive_fields[] = {
    F_KIND, F_ITEM, F_LOT, F_QUANTITY, F_LOCATION, {"expiry", JSONV_STRING, false, 10},
    F_AT,   F_NOTE,
};
static const jsonv_field use_fields[] = {F_KIND,     F_ITEM, F_LOT, F_QUANTITY,
                                         F_LOCATION, F_AT,   F_NOTE};
static const jsonv_field transfer_fields[] = {
    F_KIND,
    F_ITEM,
    F_LOT,
    F_QUANTITY,
    {"from", JSONV_STRING, true, STOCK_UNIT_NAME_MAX},
    {"to", JSONV_STRING, true, STOCK_UNIT_NAME_MAX},
    F_AT,
    F_NOTE,
};
static const jsonv_field dispose_fields[] = {
    F_KIND, F_ITEM, F_LOT, F_QUANTITY, F_LOCATION, {"reason", JSONV_STRING, true, STOCK_NOTE_MAX},
    F_AT,
};
static const jsonv_field count_fields[] = {
    F_KIND, F_ITEM, F_LOT, {"counted", JSONV_NUMBER, true, 0}, F_LOCATION, F_AT, F_NOTE,
};

static const struct kind {
    const char *name;
    const jsonv_field *fields;
    size_t n;
} kinds[] = {
    {"receive", receive_fields, STOCK_NFIELDS(receive_fields)},
    {"use", use_fields, STOCK_NFIELDS(use_fields)},
    {"transfer", transfer_fields, STOCK_NFIELDS(transfer_fields)},
    {"dispose", dispose_fields, STOCK_NFIELDS(dispose_fields)},
    {"count", count_fields, STOCK_NFIELDS(count_fields)},
};

/* ---- reading ---- */

static err_t movement_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    (void)d;
    (void)ei;
    *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:o}", "id",
                     db_col_text(st, 0), "lot_id", db_col_text(st, 1), "item", db_col_text(st, 2),
                     "lot", db_col_text(st, 3), "kind", db_col_text(st, 4), "location",
                     db_col_text(st, 5), "quantity", stock_qty_json(db_col_int64(st, 6)), "counted",
                     db_col_null(st, 7) ? json_null() : stock_qty_json(db_col_int64(st, 7)), "at",
                     db_col_json_time(st, 8), "recorded_at", db_col_json_time(st, 9), "recorded_by",
                     db_col_text(st, 10), "reason", db_col_json_text(st, 11), "transfer_id",
                     db_col_json_text(st, 12), "result_id", db_col_json_text(st, 13), "instrument",
                     db_col_json_text(st, 14));
    return *out ? ERR_OK : ERR_NOMEM;
}

static err_t location_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    (void)d;
    (void)ei;
    *out = json_pack("{s:s,s:o}", "location", db_col_text(st, 0), "quantity",
                     stock_qty_json(db_col_int64(st, 1)));
    return *out ? ERR_OK : ERR_NOMEM;
}

static err_t verification_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    (void)d;
    (void)ei;
    *out = json_pack("{s:s,s:o,s:I,s:f,s:o,s:s,s:b,s:o,s:o,s:s}", "id", db_col_text(st, 0),
                     "compared_lot", db_col_json_text(st, 1), "samples",
                     (json_int_t)db_col_int64(st, 2), "mean_difference", db_col_double(st, 3),
                     "bias_percent", db_col_json_num(st, 4), "criterion", db_col_text(st, 5),
                     "accepted", db_col_int64(st, 6) != 0, "note", db_col_json_text(st, 7),
                     "verified_at", db_col_json_time(st, 8), "verified_by", db_col_text(st, 9));
    return *out ? ERR_OK : ERR_NOMEM;
}

static err_t use_row(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    (void)d;
    (void)ei;
    *out = json_pack("{s:s,s:s,s:o,s:s,s:o,s:o}", "instrument", db_col_text(st, 0), "location",
                     db_col_text(st, 1), "started_at", db_col_json_time(st, 2), "started_by",
                     db_col_text(st, 3), "ended_at", db_col_json_time(st, 4), "ended_by",
                     db_col_json_text(st, 5));
    return *out ? ERR_OK : ERR_NOMEM;
}

/* Run sql with the one parameter arg; *items the rows as row makes them. */
static err_t rows_of(db *d, const char *sql, const char *arg, stock_row_fn row, json_t **items,
                     errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql, "t", arg);
    return stock_collect(d, st, rc, row, items, ei);
}

/* The lot of the current row (columns of LOT_COLS), with its locations. */
static err_t lot_row_json(db *d, db_stmt *st, json_t **out, errinfo *ei)
{
    json_t *locs = NULL, *open_until = json_null();
    *out = NULL;
    err_t rc = rows_of(d, sql_locations, db_col_text(st, 0), location_row, &locs, ei);
    if (rc) {
        json_decref(open_until);
        return rc;
    }
    if (!db_col_null(st, 9) && !db_col_null(st, 10)) {
        char iso[TIME_ISO_LEN];
        time_format_iso(db_col_int64(st, 9) + db_col_int64(st, 10) * DAY_US, iso);
        json_decref(open_until);
        open_until = json_string(iso);
    }
    *out = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o}", "id",
        db_col_text(st, 0), "item", db_col_text(st, 1), "item_name", db_col_text(st, 2), "kind",
        db_col_text(st, 3), "unit", db_col_text(st, 4), "lot", db_col_text(st, 5), "expiry",
        db_col_text(st, 6), "status", db_col_text(st, 7), "received_at", db_col_json_time(st, 8),
        "opened_at", db_col_json_time(st, 9), "open_until", open_until, "verified_at",
        db_col_json_time(st, 11), "created_at", db_col_json_time(st, 12), "created_by",
        db_col_text(st, 13), "on_hand", stock_qty_json(db_col_int64(st, 14)), "locations", locs);
    return *out ? ERR_OK : ERR_NOMEM;
}

err_t stock_lot_json(db *d, const char *lot_id, json_t **out, errinfo *ei)
{
    db_stmt *st = NULL;
    *out = NULL;
    err_t rc = db_query_by_id(d, &st, sql_lot_json, lot_id, "lot", ei);
    if (!rc)
        rc = lot_row_json(d, st, out, ei);
    db_finalize(st);
    return rc;
}

err_t stock_lots_list(db *d, const char *item, const char *status, const char *location,
                      json_t **items, errinfo *ei)
{
    static const char *const statuses[] = {"quarantine", "verified", "available", "depleted",
                                           "disposed"};
    db_stmt *st = NULL;
    bool known = !status;
    *items = NULL;
    for (size_t i = 0; status && i < sizeof(statuses) / sizeof(statuses[0]); i++)
        known = known || !strcmp(statuses[i], status);
    if (!known)
        return err_set(ei, ERR_INVALID, "status",
                       "status must be quarantine, verified, available, depleted or disposed");
    err_t rc =
        db_query(d, &st, ei, sql_lots, "tttttt", item, item, status, status, location, location);
    return stock_collect(d, st, rc, lot_row_json, items, ei);
}

err_t stock_lot_get(db *d, const char *id, json_t **out, errinfo *ei)
{
    json_t *lot = NULL, *moves = NULL, *verifs = NULL, *uses = NULL;
    *out = NULL;
    err_t rc = stock_lot_json(d, id, &lot, ei);
    if (!rc)
        rc = rows_of(d, sql_moves_of, id, movement_row, &moves, ei);
    if (!rc)
        rc = rows_of(d, sql_verifs_of, id, verification_row, &verifs, ei);
    if (!rc)
        rc = rows_of(d, sql_use_of, id, use_row, &uses, ei);
    if (!rc &&
        (json_object_set(lot, "movements", moves) ||
         json_object_set(lot, "verifications", verifs) || json_object_set(lot, "in_use", uses)))
        rc = ERR_NOMEM;
    json_decref(moves);
    json_decref(verifs);
    json_decref(uses);
    if (rc) {
        json_decref(lot);
        return rc;
    }
    *out = lot;
    return ERR_OK;
}

err_t stock_movements_list(db *d, const stock_movement_filter *f, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    *items = NULL;
    if (f->kind) {
        size_t i = 0;
        while (i < STOCK_NFIELDS(kinds) && strcmp(kinds[i].name, f->kind))
            i++;
        if (i == STOCK_NFIELDS(kinds))
            return err_set(ei, ERR_INVALID, "kind",
                           "kind must be receive, use, transfer, dispose or count");
    }
    if (f->limit < 1 || f->limit > STOCK_LIST_MAX)
        return err_set(ei, ERR_INVALID, "limit", "limit must be from 1 to %d", STOCK_LIST_MAX);
    err_t rc = db_query(d, &st, ei, sql_moves, "ttttttiii", f->item, f->item, f->lot_id, f->lot_id,
                        f->kind, f->kind, f->from, f->to ? f->to : INT64_MAX, (int64_t)f->limit);
    return stock_collect(d, st, rc, movement_row, items, ei);
}

/* ---- recording ---- */

/* A movement request, checked. */
struct move {
    const struct kind *kind;
    const char *item, *lot, *location, *to, *expiry, *reason;
    int64_t quantity, at;
};

static err_t check_move(const json_t *body, int64_t now, struct move *m, errinfo *ei)
{
    const char *kind = jsonv_str(body, "kind");
    memset(m, 0, sizeof(*m));
    if (!json_is_object(body))
        return err_set(ei, ERR_INVALID, NULL, "the body must be an object");
    if (!json_object_get(body, "kind"))
        return err_set(ei, ERR_MISSING_FIELD, "kind", "missing field 'kind'");
    for (size_t i = 0; kind && i < STOCK_NFIELDS(kinds); i++)
        if (!strcmp(kinds[i].name, kind))
            m->kind = &kinds[i];
    if (!m->kind)
        return err_set(ei, ERR_INVALID, "kind",
                       "kind must be receive, use, transfer, dispose or count");
    err_t rc = jsonv_check(body, m->kind->fields, m->kind->n, ei);
    static const char *const texts[] = {"lot", "location", "from", "to", "reason", "note"};
    for (size_t k = 0; !rc && k < sizeof(texts) / sizeof(texts[0]); k++)
        rc = stock_text_check(body, texts[k], NULL, ei);
    if (rc)
        return rc;
    bool count = !strcmp(kind, "count");
    m->item = jsonv_str(body, "item");
    m->lot = jsonv_str(body, "lot");
    m->location = jsonv_str(body, count || strcmp(kind, "transfer") ? "location" : "from");
    m->to = jsonv_str(body, "to");
    m->expiry = jsonv_str(body, "expiry");
    m->reason = jsonv_str(body, !strcmp(kind, "dispose") ? "reason" : "note");
    rc = stock_qty_parse(json_object_get(body, count ? "counted" : "quantity"),
                         count ? "counted" : "quantity", count, &m->quantity, ei);
    if (!rc && m->expiry && !time_date_valid(m->expiry))
        rc = err_set(ei, ERR_INVALID, "expiry", "expiry must be a date YYYY-MM-DD");
    if (!rc && m->to && !strcmp(m->to, m->location))
        rc = err_set(ei, ERR_INVALID, "to", "to must be another storage unit than from");
    if (!rc)
        rc = stock_at_parse(body, now, &m->at, ei);
    return rc;
}

/* The lot a receipt adds to: the one of that number, or a new one. */
static err_t receive_lot(db *d, const audit_ctx *ctx, const stock_item_row *item,
                         const struct move *m, int64_t now, stock_lot_row *lot, bool *created,
                         errinfo *ei)
{
    char id[ID_LEN + 1], day[11];
    int64_t changed = 0;
    bool found = false;
    *created = false;
    err_t rc = stock_lot_find(d, item->id, m->lot, &found, lot, ei);
    if (rc || found) {
        if (!rc && m->expiry && strcmp(m->expiry, lot->expiry))
            rc = err_set(ei, ERR_INVALID, "expiry", "lot %s of %s expires on %s, not %s", lot->lot,
                         item->code, lot->expiry, m->expiry);
        return rc;
    }
    if (!m->expiry)
        return err_set(ei, ERR_MISSING_FIELD, "expiry",
                       "expiry is required to receive a new lot (%.40s of %s)", m->lot, item->code);
    time_format_date(m->at, day);
    if (strcmp(day, m->expiry) > 0)
        return err_set(ei, ERR_INVALID, "expiry",
                       "lot %.40s expired on %s: an expired lot is not received", m->lot,
                       m->expiry);
    id_new(id);
    rc = db_run(d, ei, &changed, sql_lot_insert, "tttttiit", id, item->id, m->lot, m->expiry,
                stock_kind_verified(item->kind) ? "quarantine" : "available", m->at, now,
                ctx->actor ? ctx->actor : "system");
    if (!rc)
        rc = stock_lot_find(d, item->id, m->lot, &found, lot, ei);
    if (!rc && !found)
        rc = err_set(ei, ERR_INTERNAL, NULL, "the new lot is not there");
    *created = !rc && changed == 1;
    return rc;
}

/* Checks against the lot and what is on hand; *adjust is the signed change
 * at m->location (a count's difference). */
static err_t check_against_lot(db *d, const stock_item_row *item, const stock_lot_row *lot,
                               const struct move *m, int64_t *adjust, errinfo *ei)
{
    char day[11], iso[TIME_ISO_LEN], have[32], want[32];
    int64_t on_hand = 0;
    const char *kind = m->kind->name;
    if (!strcmp(lot->status, "disposed"))
        return err_set(ei, ERR_CONFLICT, "lot", "lot %s of %s was disposed", lot->lot, item->code);
    /* an earlier delivery of a lot may be recorded late; nothing else
     * happens to a lot before it arrives */
    if (m->at < lot->received_at && strcmp(kind, "receive")) {
        time_format_iso(lot->received_at, iso);
        return err_set(ei, ERR_INVALID, "at", "at is before lot %s of %s was received (%s)",
                       lot->lot, item->code, iso);
    }
    time_format_date(m->at, day);
    if (strcmp(day, lot->expiry) > 0 && strcmp(kind, "dispose"))
        return err_set(ei, ERR_CONFLICT, "lot",
                       "lot %s of %s expired on %s: of an expired lot only its disposal is "
                       "recorded",
                       lot->lot, item->code, lot->expiry);
    if (!strcmp(kind, "receive")) {
        *adjust = m->quantity;
        return ERR_OK;
    }
    err_t rc = stock_on_hand(d, lot->id, m->location, &on_hand, ei);
    if (rc)
        return rc;
    if (!strcmp(kind, "count")) {
        *adjust = m->quantity - on_hand;
        return ERR_OK;
    }
    if (m->quantity > on_hand)
        return err_set(ei, ERR_CONFLICT, "quantity",
                       "%s %s %s of lot %s: only %s %s on hand at %s (stock never goes below "
                       "nothing)",
                       kind, stock_qty_text(m->quantity, want), item->unit, lot->lot,
                       stock_qty_text(on_hand, have), item->unit, m->location);
    *adjust = -m->quantity;
    return ERR_OK;
}

static err_t insert_move(db *d, const audit_ctx *ctx, const char *lot_id, const char *kind,
                         const char *location, int64_t quantity, const struct move *m,
                         const char *counted, const char *transfer_id, int64_t now, json_t *ids,
                         errinfo *ei)
{
    char id[ID_LEN + 1];
    id_new(id);
    err_t rc =
        db_run(d, ei, NULL, sql_move_insert, "ttttiiitttt", id, lot_id, kind, location, quantity,
               m->at, now, ctx->actor ? ctx->actor : "system", counted, m->reason, transfer_id);
    if (!rc && json_array_append_new(ids, json_string(id)))
        rc = ERR_NOMEM;
    return rc;
}

/* The answer: the movements recorded (one, or a transfer's two) and the lot
 * after them. */
static err_t answer(db *d, const json_t *ids, const char *lot_id, json_t **out, errinfo *ei)
{
    json_t *moves = NULL, *lot = NULL;
    db_stmt *st = NULL;
    const char *first = json_string_value(json_array_get(ids, 0));
    const char *second = json_string_value(json_array_get(ids, json_array_size(ids) - 1));
    err_t rc = db_query(d, &st, ei, sql_moves_made, "tt", first, second);
    rc = stock_collect(d, st, rc, movement_row, &moves, ei);
    if (!rc)
        rc = stock_lot_json(d, lot_id, &lot, ei);
    if (!rc && !(*out = json_pack("{s:O,s:O}", "movements", moves, "lot", lot)))
        rc = ERR_NOMEM;
    json_decref(moves);
    json_decref(lot);
    return rc;
}

err_t stock_movement_record(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                            errinfo *ei)
{
    struct move m;
    stock_item_row item;
    stock_lot_row lot;
    bool created = false;
    int64_t now = time_now_us(), adjust = 0, total = 0;
    json_t *ids = NULL;
    *out = NULL;
    err_t rc = check_move(body, now, &m, ei);
    if (rc)
        return rc;
    const char *kind = m.kind->name;
    ids = json_array();
    rc = ids ? db_begin(d, ei) : ERR_NOMEM;
    if (rc) {
        json_decref(ids);
        return rc;
    }
    rc = stock_item_find(d, m.item, "item", false, &item, ei);
    if (!rc)
        rc = stock_unit_check(d, m.location, m.to ? "from" : "location", ei);
    if (!rc && m.to)
        rc = stock_unit_check(d, m.to, "to", ei);
    if (!rc)
        rc = !strcmp(kind, "receive") ? receive_lot(d, ctx, &item, &m, now, &lot, &created, ei)
                                      : stock_lot_named(d, &item, m.lot, &lot, ei);
    if (!rc)
        rc = stock_lot_lock(d, lot.id, ei);
    if (!rc)
        rc = check_against_lot(d, &item, &lot, &m, &adjust, ei);
    if (!rc && m.to) {
        char tid[ID_LEN + 1];
        id_new(tid);
        rc =
            insert_move(d, ctx, lot.id, kind, m.location, -m.quantity, &m, NULL, tid, now, ids, ei);
        if (!rc)
            rc = insert_move(d, ctx, lot.id, kind, m.to, m.quantity, &m, NULL, tid, now, ids, ei);
    } else if (!rc) {
        char counted[24];
        snprintf(counted, sizeof(counted), "%lld", (long long)m.quantity);
        rc = insert_move(d, ctx, lot.id, kind, m.location, adjust, &m,
                         !strcmp(kind, "count") ? counted : NULL, NULL, now, ids, ei);
    }
    if (!rc && !strcmp(kind, "receive"))
        rc = db_run(d, ei, NULL, sql_first_receipt, "iti", m.at, lot.id, m.at);
    /* a disposal that leaves nothing anywhere disposes of the lot */
    if (!rc && !strcmp(kind, "dispose"))
        rc = stock_on_hand(d, lot.id, NULL, &total, ei);
    if (!rc && !strcmp(kind, "dispose") && total == 0)
        rc = db_run(d, ei, NULL, sql_disposed, "t", lot.id);
    if (!rc) {
        char q[32], a[32];
        json_t *detail =
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "kind", kind, "item", item.code, "lot",
                      lot.lot, "quantity", stock_qty_text(m.quantity, q), "location", m.location,
                      "change", stock_qty_text(m.to ? 0 : adjust, a), "new_lot", created);
        if (detail && m.to)
            json_object_set_new(detail, "to", json_string(m.to));
        rc = stock_audit_event(d, ctx, "stock.movement", "stock_lot", "lot_id", lot.id, detail, ei);
    }
    if (!rc)
        rc = answer(d, ids, lot.id, out, ei);
    rc = stock_finish(d, rc, out, ei);
    json_decref(ids);
    return rc;
}
