/*
 * audit.c - hash-chained audit events (see audit.h).
 *
 * The hash of an event is BLAKE2b-256 over its fields in a fixed order, each
 * written as "<decimal length>:<bytes>;" so that no two different events can
 * serialise alike, ending with the previous event's hash.
 */
#include "auth/audit.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"

#define HASH_HEX  65
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

enum {
    F_SEQ,
    F_ID,
    F_AT,
    F_ACTOR_ID,
    F_ACTOR,
    F_ACTION,
    F_ETYPE,
    F_EID,
    F_SOURCE,
    F_OUTCOME,
    F_DETAIL,
    F_PREV,
    F__COUNT
};

static const char sql_head_bump[] =
    "UPDATE audit_head SET seq = seq + ? WHERE id = 1 RETURNING seq, hash, at";
static const char sql_head_set[] = "UPDATE audit_head SET hash = ?, at = ? WHERE id = 1";
static const char sql_insert[] =
    "INSERT INTO audit_event (seq, id, at, actor_id, actor, action, entity_type, entity_id,"
    " source, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_all[] =
    "SELECT seq, id, at, actor_id, actor, action, entity_type, entity_id, source, outcome,"
    " detail, prev_hash, hash FROM audit_event ORDER BY seq";
static const char sql_head[] = "SELECT seq, hash FROM audit_head WHERE id = 1";

/* fields[i] are the texts of the event in the order above (seq and at in decimal). */
static err_t event_hash(const char *const fields[F__COUNT], char out[HASH_HEX])
{
    crypto_generichash_state st;
    unsigned char h[32];
    char len[24];
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    for (int i = 0; i < F__COUNT; i++) {
        const char *f = fields[i] ? fields[i] : "";
        size_t n = strlen(f);
        /* "<n>:" written by hand: this runs a dozen times for every event */
        char *p = len + sizeof(len);
        *--p = ':';
        for (size_t k = n;; k /= 10) {
            *--p = (char)('0' + k % 10);
            if (k < 10)
                break;
        }
        crypto_generichash_update(&st, (const unsigned char *)p, (size_t)(len + sizeof(len) - p));
        crypto_generichash_update(&st, (const unsigned char *)f, n);
        crypto_generichash_update(&st, (const unsigned char *)";", 1);
    }
    crypto_generichash_final(&st, h, sizeof(h));
    str_hex(h, sizeof(h), out);
    return ERR_OK;
}

/*
 * The chain's end while events are appended in the open transaction: the
 * next number, the hash the next event follows, and the time no event may
 * come before. Taking numbers locks the head row until commit, so events are
 * numbered, chained and timed in one order; a batch takes all of its numbers
 * at once and writes the head once.
 */
typedef struct chain {
    int64_t seq, at;
    char prev[HASH_HEX];
} chain;

/* Take n numbers: c is where the first of them goes. */
static err_t chain_take(db *d, size_t n, chain *c, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc;
    if (!db_in_transaction(d))
        return err_set(ei, ERR_INTERNAL, NULL, "audit_write needs an open transaction");
    rc = db_prepare(d, sql_head_bump, &st, ei);
    if (!rc)
        rc = db_bind_int64(st, 1, (int64_t)n);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && (!row || db_col_len(st, 1) != HASH_HEX - 1))
        rc = err_set(ei, ERR_AUDIT_BROKEN, NULL, "audit_head is missing or malformed");
    if (!rc) {
        c->seq = db_col_int64(st, 0) - (int64_t)n + 1;
        c->at = db_col_int64(st, 2);
        memcpy(c->prev, db_col_text(st, 1), HASH_HEX);
    }
    db_finalize(st);
    return rc;
}

/* Append one event at the chain's end. at is when it happened (0: now, read
 * under the head's lock); an event is never timed before the one it follows. */
static err_t chain_append(db *d, chain *c, int64_t at, const char *actor_id, const char *actor,
                          const char *action, const char *entity_type, const char *entity_id,
                          const char *source, const char *outcome, const char *detail_text,
                          errinfo *ei)
{
    char hash[HASH_HEX], id[ID_LEN + 1], seqs[24], ats[24];
    if (at <= 0)
        at = time_now_us();
    if (at < c->at)
        at = c->at;
    id_new(id);
    snprintf(seqs, sizeof(seqs), "%lld", (long long)c->seq);
    snprintf(ats, sizeof(ats), "%lld", (long long)at);
    const char *fields[F__COUNT] = {
        [F_SEQ] = seqs,
        [F_ID] = id,
        [F_AT] = ats,
        [F_ACTOR_ID] = actor_id ? actor_id : "",
        [F_ACTOR] = actor ? actor : "system",
        [F_ACTION] = action,
        [F_ETYPE] = entity_type ? entity_type : "",
        [F_EID] = entity_id ? entity_id : "",
        [F_SOURCE] = source ? source : "system",
        [F_OUTCOME] = outcome,
        [F_DETAIL] = detail_text,
        [F_PREV] = c->prev,
    };
    event_hash(fields, hash);
    err_t rc = db_run(d, ei, NULL, sql_insert, "ititttttttttt", c->seq, id, at, fields[F_ACTOR_ID],
                      fields[F_ACTOR], action, fields[F_ETYPE], fields[F_EID], fields[F_SOURCE],
                      outcome, detail_text, c->prev, hash);
    if (!rc) {
        c->seq++;
        c->at = at;
        memcpy(c->prev, hash, HASH_HEX);
    }
    return rc;
}

/* The head after the last event appended. */
static err_t chain_close(db *d, const chain *c, errinfo *ei)
{
    return db_run(d, ei, NULL, sql_head_set, "ti", c->prev, c->at);
}

/* Append one event inside the open transaction (chain_append's arguments). */
static err_t write_event(db *d, int64_t at, const char *actor_id, const char *actor,
                         const char *action, const char *entity_type, const char *entity_id,
                         const char *source, const char *outcome, const char *detail_text,
                         errinfo *ei)
{
    chain c;
    err_t rc = chain_take(d, 1, &c, ei);
    if (!rc)
        rc = chain_append(d, &c, at, actor_id, actor, action, entity_type, entity_id, source,
                          outcome, detail_text, ei);
    if (!rc)
        rc = chain_close(d, &c, ei);
    return rc;
}

/* The holder of the thread's events, while a read's handler runs. */
static _Thread_local audit_held *held_here;

audit_held *audit_hold(audit_held *h)
{
    audit_held *before = held_here;
    held_here = h;
    return before;
}

void audit_held_init(audit_held *h)
{
    memset(h, 0, sizeof(*h));
}

static void event_free(audit_event *e)
{
    free(e->actor_id);
    free(e->actor);
    free(e->source);
    free(e->action);
    free(e->entity_type);
    free(e->entity_id);
    free(e->outcome);
    free(e->detail);
}

void audit_held_free(audit_held *h)
{
    for (size_t i = 0; i < h->n; i++)
        event_free(&h->ev[i]);
    free(h->ev);
    audit_held_init(h);
}

/* strdup of s, or of dflt when s is NULL; false when memory ran out. */
static bool copy_text(char **out, const char *s, const char *dflt)
{
    *out = strdup(s ? s : dflt);
    return *out != NULL;
}

/* Append a copy of the event to h, timed now. detail_text is taken. */
static err_t hold_event(audit_held *h, const audit_ctx *ctx, const char *action,
                        const char *entity_type, const char *entity_id, const char *outcome,
                        char *detail_text)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4;
        audit_event *ev = realloc(h->ev, cap * sizeof(*ev));
        if (!ev) {
            free(detail_text);
            return ERR_NOMEM;
        }
        h->ev = ev;
        h->cap = cap;
    }
    audit_event *e = &h->ev[h->n];
    memset(e, 0, sizeof(*e));
    e->at = time_now_us();
    e->detail = detail_text;
    if (!copy_text(&e->actor_id, ctx->actor_id, "") ||
        !copy_text(&e->actor, ctx->actor, "system") ||
        !copy_text(&e->source, ctx->source, "system") || !copy_text(&e->action, action, "") ||
        !copy_text(&e->entity_type, entity_type, "") || !copy_text(&e->entity_id, entity_id, "") ||
        !copy_text(&e->outcome, outcome, "")) {
        event_free(e);
        return ERR_NOMEM;
    }
    h->n++;
    return ERR_OK;
}

err_t audit_write(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                  const char *entity_id, const char *outcome, const json_t *detail, errinfo *ei)
{
    char *detail_text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    if (!detail_text)
        return ERR_NOMEM;
    if (held_here)
        return hold_event(held_here, ctx, action, entity_type, entity_id, outcome, detail_text);
    err_t rc = write_event(d, 0, ctx->actor_id, ctx->actor, action, entity_type, entity_id,
                           ctx->source, outcome, detail_text, ei);
    free(detail_text);
    return rc;
}

err_t audit_write_held(db *d, const audit_held *const *h, size_t n, errinfo *ei)
{
    size_t events = 0;
    chain c;
    err_t rc;
    for (size_t k = 0; k < n; k++)
        events += h[k]->n;
    if (!events)
        return ERR_OK;
    rc = chain_take(d, events, &c, ei);
    for (size_t k = 0; k < n && !rc; k++)
        for (size_t i = 0; i < h[k]->n && !rc; i++) {
            const audit_event *e = &h[k]->ev[i];
            rc = chain_append(d, &c, e->at, e->actor_id, e->actor, e->action, e->entity_type,
                              e->entity_id, e->source, e->outcome, e->detail, ei);
        }
    if (!rc)
        rc = chain_close(d, &c, ei);
    return rc;
}

err_t audit_record(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                   const char *entity_id, const char *outcome, const json_t *detail, errinfo *ei)
{
    if (held_here)
        return audit_write(d, ctx, action, entity_type, entity_id, outcome, detail, ei);
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = audit_write(d, ctx, action, entity_type, entity_id, outcome, detail, ei);
    if (rc) {
        db_rollback(d);
        return rc;
    }
    return db_commit(d, ei);
}

static void broken(audit_verify_result *r, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void broken(audit_verify_result *r, int64_t seq, const char *fmt, ...)
{
    va_list ap;
    r->ok = false;
    r->seq = seq;
    va_start(ap, fmt);
    vsnprintf(r->problem, sizeof(r->problem), fmt, ap);
    va_end(ap);
}

err_t audit_verify(db *d, audit_verify_result *r, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    char prev[HASH_HEX] = ZERO_HASH, hash[HASH_HEX], seqs[24], ats[24];
    int64_t expect = 1;
    err_t rc;

    memset(r, 0, sizeof(*r));
    r->ok = true;
    rc = db_prepare(d, sql_all, &st, ei);
    if (rc)
        return rc;
    for (;;) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        int64_t seq = db_col_int64(st, 0);
        const char *fields[F__COUNT];
        for (int i = 0; i < F__COUNT; i++) {
            const char *t = db_col_text(st, i);
            fields[i] = t ? t : "";
        }
        /* seq and at are compared as numbers, so use their canonical text. */
        snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
        snprintf(ats, sizeof(ats), "%lld", (long long)db_col_int64(st, 2));
        fields[F_SEQ] = seqs;
        fields[F_AT] = ats;
        const char *stored = db_col_text(st, 12);
        if (seq > expect) {
            broken(r, expect,
                   "event %lld is missing: events were removed before event %lld (id %s)",
                   (long long)expect, (long long)seq, fields[F_ID]);
            break;
        }
        if (seq < expect) {
            broken(r, seq, "event %lld (id %s) was inserted out of sequence", (long long)seq,
                   fields[F_ID]);
            break;
        }
        event_hash(fields, hash);
        if (!stored || strcmp(hash, stored)) {
            broken(r, seq, "event %lld (id %s) was changed: its hash does not match its content",
                   (long long)seq, fields[F_ID]);
            break;
        }
        if (strcmp(fields[F_PREV], prev)) {
            broken(r, seq,
                   "event %lld (id %s) does not follow event %lld: an event was inserted or "
                   "replaced",
                   (long long)seq, fields[F_ID], (long long)(seq - 1));
            break;
        }
        memcpy(prev, hash, HASH_HEX);
        r->events++;
        expect++;
    }
    db_finalize(st);
    st = NULL;
    if (rc || !r->ok)
        return rc;

    rc = db_prepare(d, sql_head, &st, ei);
    if (rc)
        return rc;
    rc = db_step(st, &row, ei);
    if (!rc) {
        if (!row) {
            broken(r, expect, "the audit head record is missing");
        } else if (db_col_int64(st, 0) != expect - 1) {
            int64_t head = db_col_int64(st, 0);
            if (head > expect - 1)
                broken(r, expect, "events %lld to %lld were removed from the end of the trail",
                       (long long)expect, (long long)head);
            else
                broken(r, head + 1,
                       "event %lld is not in the audit head (which ends at event %lld): it was "
                       "inserted, or the head was moved back",
                       (long long)(head + 1), (long long)head);
        } else if (strcmp(db_col_text(st, 1) ? db_col_text(st, 1) : "", prev)) {
            broken(r, expect - 1, "the audit head hash does not match event %lld",
                   (long long)(expect - 1));
        }
    }
    db_finalize(st);
    return rc;
}

static const char sql_list[] =
    "SELECT seq, id, at, actor_id, actor, action, entity_type, entity_id, source, outcome,"
    " detail, hash FROM audit_event"
    " WHERE (CAST(? AS TEXT) IS NULL OR actor = ?)"
    " AND (CAST(? AS TEXT) IS NULL OR action = ?)"
    " AND (CAST(? AS TEXT) IS NULL OR entity_type = ?)"
    " AND (CAST(? AS TEXT) IS NULL OR entity_id = ?)"
    " AND (CAST(? AS TEXT) IS NULL OR outcome = ?)"
    " AND at >= ? AND at <= ? AND seq < ?"
    " ORDER BY seq DESC LIMIT ?";

err_t audit_list(db *d, const audit_filter *f, json_t **items, int64_t *next_seq, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *arr = json_array();
    const char *texts[5] = {f->actor, f->action, f->entity_type, f->entity_id, f->outcome};
    int limit = f->limit < 1 ? 1 : (f->limit > 500 ? 500 : f->limit);
    int count = 0, p = 1;
    err_t rc;

    *items = NULL;
    *next_seq = 0;
    if (!arr)
        return ERR_NOMEM;
    /* Prepared for the filters given, so that an entity's, an actor's or an
     * action's events are a range of their index, not a walk of the trail. */
    bool is_null[12] = {false};
    for (int i = 0; i < 5; i++)
        is_null[1 + 2 * i] = is_null[2 + 2 * i] = texts[i] == NULL;
    char *owned = NULL;
    const char *sql = db_sql_given_kept(sql_list, is_null, 11, &owned);
    if (!sql) {
        rc = ERR_NOMEM;
        goto fail;
    }
    rc = db_prepare(d, sql, &st, ei);
    free(owned);
    if (rc)
        goto fail;
    for (int i = 0; i < 5 && !rc; i++) {
        rc = db_bind_str(st, p++, texts[i]);
        if (!rc)
            rc = db_bind_str(st, p++, texts[i]);
    }
    if (!rc)
        rc = db_bind_int64(st, p++, f->from);
    if (!rc)
        rc = db_bind_int64(st, p++, f->to ? f->to : INT64_MAX);
    if (!rc)
        rc = db_bind_int64(st, p++, f->before_seq > 0 ? f->before_seq : INT64_MAX);
    if (!rc)
        rc = db_bind_int64(st, p++, limit + 1);
    if (rc)
        goto fail;
    for (;;) {
        rc = db_step(st, &row, ei);
        if (rc)
            goto fail;
        if (!row)
            break;
        if (count == limit) {
            *next_seq = json_integer_value(json_object_get(json_array_get(arr, count - 1), "seq"));
            break;
        }
        char at[TIME_ISO_LEN];
        json_error_t je;
        time_format_iso(db_col_int64(st, 2), at);
        json_t *detail = json_loads(db_col_text(st, 10) ? db_col_text(st, 10) : "{}", 0, &je);
        const char *actor_id = db_col_text(st, 3);
        json_t *ev =
            json_pack("{s:I,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s}", "seq",
                      (json_int_t)db_col_int64(st, 0), "id", db_col_text(st, 1), "at", at,
                      "actor_id", actor_id && *actor_id ? json_string(actor_id) : json_null(),
                      "actor", db_col_text(st, 4), "action", db_col_text(st, 5), "entity_type",
                      db_col_text(st, 6), "entity_id", db_col_text(st, 7), "source",
                      db_col_text(st, 8), "outcome", db_col_text(st, 9), "detail",
                      detail ? detail : json_object(), "hash", db_col_text(st, 11));
        if (!ev || json_array_append_new(arr, ev)) {
            rc = ERR_NOMEM;
            goto fail;
        }
        count++;
    }
    db_finalize(st);
    *items = arr;
    return ERR_OK;
fail:
    db_finalize(st);
    json_decref(arr);
    return rc;
}

err_t audit_read(db *d, const audit_ctx *ctx, const char *action, const char *entity_type,
                 const char *id, err_t (*read)(db *, const char *, json_t **, errinfo *),
                 json_t **out, errinfo *ei)
{
    *out = NULL;
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = read(d, id, out, ei);
    if (!rc)
        rc = audit_write(d, ctx, action, entity_type, id, "ok", NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc) {
        db_rollback(d);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static const char sql_last[] =
    "SELECT seq, id, at, actor_id, actor, action, entity_type, entity_id, source, outcome,"
    " detail, prev_hash, hash FROM audit_event ORDER BY seq DESC LIMIT 1";

err_t audit_head_check(db *d, audit_verify_result *r, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    int64_t head = 0;
    char head_hash[HASH_HEX] = "", hash[HASH_HEX], seqs[24], ats[24];
    memset(r, 0, sizeof(*r));
    r->ok = true;
    err_t rc = db_query(d, &st, ei, sql_head, "");
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        head = db_col_int64(st, 0);
        snprintf(head_hash, sizeof(head_hash), "%s", db_col_text(st, 1) ? db_col_text(st, 1) : "");
    } else if (!rc) {
        broken(r, 0, "the audit head record is missing");
    }
    db_finalize(st);
    st = NULL;
    if (rc || !r->ok)
        return rc;
    r->events = head;
    rc = db_query(d, &st, ei, sql_last, "");
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row && head != 0)
        broken(r, head, "the head says %lld events but the trail is empty", (long long)head);
    if (!rc && row) {
        const char *fields[F__COUNT];
        for (int i = 0; i < F__COUNT; i++) {
            const char *t = db_col_text(st, i);
            fields[i] = t ? t : "";
        }
        int64_t seq = db_col_int64(st, 0);
        snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
        snprintf(ats, sizeof(ats), "%lld", (long long)db_col_int64(st, 2));
        fields[F_SEQ] = seqs;
        fields[F_AT] = ats;
        event_hash(fields, hash);
        if (seq != head)
            broken(r, seq < head ? seq + 1 : head + 1,
                   "the head ends at event %lld but the last event is %lld", (long long)head,
                   (long long)seq);
        else if (strcmp(hash, db_col_text(st, 12) ? db_col_text(st, 12) : ""))
            broken(r, seq, "event %lld was changed: its hash does not match its content",
                   (long long)seq);
        else if (strcmp(hash, head_hash))
            broken(r, seq, "the audit head hash does not match event %lld", (long long)seq);
    }
    db_finalize(st);
    return rc;
}
