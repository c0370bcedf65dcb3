/*
 * stock_impl.h - what the files of src/stock/ share and nobody else uses:
 * an item and a lot as read from their rows, lookups that name the field at
 * fault, quantities on hand, the JSON of a lot, and the checks of request
 * fields. Private to src/stock/.
 */
#ifndef BENCHSIDE_STOCK_STOCK_IMPL_H
#define BENCHSIDE_STOCK_STOCK_IMPL_H

#include "base/id.h"
#include "base/jsonv.h"
#include "stock/stock.h"

#define STOCK_UNIT_NAME_MAX 64                   /* storage-unit names, bytes */
#define STOCK_SKEW_US       (5 * 60 * 1000000LL) /* how far ahead a client's clock may be */
#define STOCK_NFIELDS(t)    (sizeof(t) / sizeof((t)[0]))

/* An item as its row holds it. */
typedef struct stock_item_row {
    char id[ID_LEN + 1];
    char code[STOCK_CODE_MAX + 1];
    char name[STOCK_TEXT_MAX + 1];
    char kind[20];
    char unit[STOCK_UNIT_MAX + 1];
    int open_days;         /* 0: none */
    int64_t uses_per_test; /* millionths; 0: none */
} stock_item_row;

/* A lot as its row holds it. */
typedef struct stock_lot_row {
    char id[ID_LEN + 1];
    char item_id[ID_LEN + 1];
    char lot[STOCK_LOT_MAX + 1];
    char expiry[11];
    char status[12];
    int64_t received_at, opened_at, verified_at; /* 0: not yet */
} stock_lot_row;

/* Whether kind is one of the item kinds; whether its lots need a
 * lot-to-lot verification before use (reagent, control, calibrator). */
bool stock_kind_valid(const char *kind);
bool stock_kind_verified(const char *kind);

/* The item of code; ERR_INVALID naming field when there is none (a request
 * names it), or ERR_NOT_FOUND naming it when not_found is set (a path does). */
err_t stock_item_find(db *d, const char *code, const char *field, bool not_found,
                      stock_item_row *out, errinfo *ei);

/* The lot numbered lot of item; *found false when there is none. */
err_t stock_lot_find(db *d, const char *item_id, const char *lot, bool *found, stock_lot_row *out,
                     errinfo *ei);

/* The lot of item named by the request's "lot"; ERR_INVALID naming "lot"
 * when the item has none of that number. */
err_t stock_lot_named(db *d, const stock_item_row *item, const char *lot, stock_lot_row *out,
                      errinfo *ei);

/* A storage unit of the register; ERR_INVALID naming field otherwise. */
err_t stock_unit_check(db *d, const char *unit, const char *field, errinfo *ei);

/* What lot_id has on hand at location (location NULL: everywhere), millionths. */
err_t stock_on_hand(db *d, const char *lot_id, const char *location, int64_t *out, errinfo *ei);

/* Take the lot's row for the rest of the transaction, so that checks of
 * what is on hand and the writes that follow them are not interleaved
 * (PostgreSQL; SQLite's write transaction holds the database already). */
err_t stock_lot_lock(db *d, const char *lot_id, errinfo *ei);

/* The lot as the API shows it, with its quantity per storage unit. */
err_t stock_lot_json(db *d, const char *lot_id, json_t **out, errinfo *ei);

/* Check obj against fields; a failure names field with its path
 * ("items[2].code"). */
err_t stock_check_nested(const json_t *obj, const char *path, const jsonv_field *fields, size_t n,
                         errinfo *ei);

/* Makes the JSON of the current row of st into *out (NULL: the row is left
 * out); it may run queries of its own. */
typedef err_t (*stock_row_fn)(db *d, db_stmt *st, json_t **out, errinfo *ei);

/* Step st (prepared with result rc: an error stops here) to its end and
 * finalize it; *items is a new array of what row made of each row. */
err_t stock_collect(db *d, db_stmt *st, err_t rc, stock_row_fn row, json_t **items, errinfo *ei);

/* The codes of the catalog tests item_id serves, as a new array. */
err_t stock_item_tests(db *d, const char *item_id, json_t **out, errinfo *ei);

/*
 * The audit event action on entity_type id with detail, and the live event
 * of the same kind (stock.*) with detail and id under id_key, both in the
 * caller's transaction. detail is consumed (NULL is ERR_NOMEM).
 */
err_t stock_audit_event(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                        const char *id_key, const char *id, json_t *detail, errinfo *ei);

/* End a write: commit when rc is ERR_OK, else roll back and release *out
 * (set to NULL). Returns the outcome. */
err_t stock_finish(db *d, err_t rc, json_t **out, errinfo *ei);

/* A text field, when present, must be printable text (not blank). */
err_t stock_text_check(const json_t *obj, const char *name, const char *path, errinfo *ei);

/* The optional ISO 8601 "at" of a request (default now), not in the future. */
err_t stock_at_parse(const json_t *obj, int64_t now, int64_t *at, errinfo *ei);

#endif
