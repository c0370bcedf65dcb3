/*
 * journal.c - the message journal (see journal.h).
 */
#include "lab/journal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "base/utf8.h"
#include "store/dbjson.h"

static const char sql_insert[] =
    "INSERT INTO messages (id, direction, protocol, transport, peer, instrument, sender,"
    " control_id, type, status, ack, error, error_field, summary, raw, raw_encoding, bytes,"
    " received_at, replay_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_accepted[] =
    "SELECT id FROM messages WHERE sender = ? AND control_id = ? AND status = 'accepted'"
    " AND direction = 'in' AND control_id <> ''";
static const char sql_meta[] =
    "id, direction, protocol, transport, peer, instrument, sender, control_id, type, status,"
    " ack, error, error_field, summary, bytes, received_at, replay_of";
static const char sql_raw[] = "SELECT raw, raw_encoding, protocol, transport, peer, instrument,"
                              " direction FROM messages WHERE id = ?";

/* Text the database can hold as TEXT: UTF-8 without NUL. */
static bool is_text(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        /* utf8_decode reads a NUL-terminated string: copy the sequence. */
        unsigned char seq[5] = {0};
        size_t k = 0, len = 0;
        for (; k < 4 && i + k < n; k++)
            seq[k] = (unsigned char)p[i + k];
        if (utf8_decode(seq, &len) < 0)
            return false;
        i += len;
    }
    return true;
}

err_t journal_write(db *d, const journal_entry *e, char id[ID_LEN + 1], errinfo *ei)
{
    char own[ID_LEN + 1];
    char *summary = e->summary ? json_dumps(e->summary, JSON_COMPACT) : strdup("{}");
    char *enc = NULL;
    const char *raw = e->raw ? e->raw : "";
    bool text = is_text(raw, e->len);
    if (!text) {
        size_t cap = sodium_base64_ENCODED_LEN(e->len, sodium_base64_VARIANT_ORIGINAL);
        enc = malloc(cap);
        if (enc)
            sodium_bin2base64(enc, cap, (const unsigned char *)raw, e->len,
                              sodium_base64_VARIANT_ORIGINAL);
    }
    if (!summary || (!text && !enc)) {
        free(summary);
        free(enc);
        return ERR_NOMEM;
    }
    if (!id)
        id = own;
    id_new(id);
    /* Raw text is bound with its length: it is not NUL-terminated. */
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_prepare(d, sql_insert, &st, ei);
    if (!rc) {
        const char *vals[] = {id,
                              e->direction,
                              e->protocol,
                              e->transport,
                              e->peer ? e->peer : "",
                              e->instrument,
                              e->sender ? e->sender : "",
                              e->control_id ? e->control_id : "",
                              e->type ? e->type : "",
                              e->status,
                              e->ack ? e->ack : "",
                              e->error,
                              e->error_field,
                              summary};
        for (int i = 0; i < 14 && !rc; i++)
            rc = db_bind_str(st, i + 1, vals[i]);
        if (!rc)
            rc = text ? db_bind_text(st, 15, raw, e->len) : db_bind_str(st, 15, enc);
        if (!rc)
            rc = db_bind_str(st, 16, text ? "text" : "base64");
        if (!rc)
            rc = db_bind_int64(st, 17, (int64_t)e->len);
        if (!rc)
            rc = db_bind_int64(st, 18, time_now_us());
        if (!rc)
            rc = db_bind_str(st, 19, e->replay_of);
        if (!rc)
            rc = db_step(st, &row, ei);
    }
    db_finalize(st);
    st = NULL;
    free(summary);
    free(enc);
    return rc;
}

err_t journal_find_accepted(db *d, const char *sender, const char *control_id, bool *found,
                            char id[ID_LEN + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *found = false;
    err_t rc = db_query(d, &st, ei, sql_accepted, "tt", sender, control_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        *found = true;
        if (id)
            snprintf(id, ID_LEN + 1, "%s", db_col_text(st, 0));
    }
    db_finalize(st);
    return rc;
}

/* One row of sql_meta's columns as the API shows it. */
static json_t *meta_json(db_stmt *st)
{
    char at[TIME_ISO_LEN];
    time_format_iso(db_col_int64(st, 15), at);
    json_t *summary = json_loads(db_col_text(st, 13) ? db_col_text(st, 13) : "{}", 0, NULL);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:I,s:s,s:o}", "id",
        db_col_text(st, 0), "direction", db_col_text(st, 1), "protocol", db_col_text(st, 2),
        "transport", db_col_text(st, 3), "peer", db_col_text(st, 4), "instrument",
        db_col_json_text(st, 5), "sender", db_col_text(st, 6), "control_id", db_col_text(st, 7),
        "type", db_col_text(st, 8), "status", db_col_text(st, 9), "ack", db_col_text(st, 10),
        "error", db_col_json_text(st, 11), "error_field", db_col_json_text(st, 12), "summary",
        summary ? summary : json_object(), "bytes", (json_int_t)db_col_int64(st, 14), "received_at",
        at, "replay_of", db_col_json_text(st, 16));
}

err_t journal_search(db *d, const audit_ctx *ctx, const journal_filter *f, int limit,
                     const char *after, json_t **items, char next[ID_LEN + 1], errinfo *ei)
{
    char sql[1024];
    const char *texts[6];
    int64_t ints[2];
    int nt = 0, ni = 0;
    size_t off;
    *items = NULL;
    next[0] = '\0';
    if (after && *after && !id_valid(after, strlen(after)))
        return err_set(ei, ERR_INVALID, "cursor", "cursor must be a value from 'next'");
    if (f->status && strcmp(f->status, "accepted") && strcmp(f->status, "duplicate") &&
        strcmp(f->status, "rejected") && strcmp(f->status, "error"))
        return err_set(ei, ERR_INVALID, "status",
                       "status must be accepted, duplicate, rejected or error");
    off = (size_t)snprintf(sql, sizeof(sql), "SELECT %s FROM messages WHERE 1 = 1", sql_meta);
    struct {
        const char *col, *val;
    } eq[] = {{"instrument", f->instrument}, {"status", f->status}, {"type", f->type},
              {"control_id", f->control_id}, {"peer", f->peer},     {"id <", after}};
    for (size_t i = 0; i < sizeof(eq) / sizeof(eq[0]); i++)
        if (eq[i].val && *eq[i].val) {
            off += (size_t)snprintf(sql + off, sizeof(sql) - off, " AND %s%s ?", eq[i].col,
                                    strchr(eq[i].col, '<') ? "" : " =");
            texts[nt++] = eq[i].val;
        }
    if (f->from) {
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, " AND received_at >= ?");
        ints[ni++] = f->from;
    }
    if (f->to) {
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, " AND received_at < ?");
        ints[ni++] = f->to;
    }
    snprintf(sql + off, sizeof(sql) - off, " ORDER BY id DESC LIMIT %d", limit + 1);

    json_t *arr = json_array(), *ids = json_array();
    db_stmt *st = NULL;
    bool row = false;
    int n = 0;
    err_t rc = arr && ids ? db_begin(d, ei) : ERR_NOMEM;
    if (rc)
        goto done;
    rc = db_prepare(d, sql, &st, ei);
    for (int i = 0; !rc && i < nt; i++)
        rc = db_bind_str(st, i + 1, texts[i]);
    for (int i = 0; !rc && i < ni; i++)
        rc = db_bind_int64(st, nt + i + 1, ints[i]);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        if (n == limit) {
            snprintf(next, ID_LEN + 1, "%s",
                     json_string_value(json_object_get(json_array_get(arr, (size_t)n - 1), "id")));
            break;
        }
        json_t *o = meta_json(st);
        if (!o) {
            rc = ERR_NOMEM;
            break;
        }
        json_array_append(ids, json_object_get(o, "id"));
        json_array_append_new(arr, o);
        n++;
    }
    db_finalize(st);
    st = NULL;
    if (!rc) {
        json_t *detail = json_pack("{s:O}", "messages", ids);
        rc = audit_write(d, ctx, "message.search", "message", NULL, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
done:
    json_decref(ids);
    if (rc)
        json_decref(arr);
    else
        *items = arr;
    return rc;
}

err_t journal_read(db *d, const audit_ctx *ctx, const char *id, json_t **out, errinfo *ei)
{
    char sql[512];
    db_stmt *st = NULL;
    json_t *o = NULL;
    *out = NULL;
    snprintf(sql, sizeof(sql), "SELECT %s, raw, raw_encoding FROM messages WHERE id = ?", sql_meta);
    err_t rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_query_by_id(d, &st, sql, id, "message", ei);
    if (!rc) {
        o = meta_json(st);
        bool b64 = !strcmp(db_col_text(st, 18), "base64");
        if (o)
            json_object_set_new(
                o, b64 ? "raw_base64" : "raw",
                json_stringn(db_col_text(st, 17) ? db_col_text(st, 17) : "", db_col_len(st, 17)));
        if (!o)
            rc = ERR_NOMEM;
    }
    db_finalize(st);
    st = NULL;
    if (!rc)
        rc = audit_write(d, ctx, "message.read", "message", id, "ok", NULL, ei);
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
    if (rc)
        json_decref(o);
    else
        *out = o;
    return rc;
}

err_t journal_raw(db *d, const char *id, buf *raw, journal_source *src, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query_by_id(d, &st, sql_raw, id, "message", ei);
    if (!rc) {
        const char *text = db_col_text(st, 0);
        size_t n = db_col_len(st, 0);
        if (!strcmp(db_col_text(st, 1), "base64")) {
            size_t cap = n, got = 0;
            if (buf_reserve(raw, cap + 1))
                rc = ERR_NOMEM;
            else if (sodium_base642bin((unsigned char *)raw->data + raw->len, cap, text, n, NULL,
                                       &got, NULL, sodium_base64_VARIANT_ORIGINAL))
                rc = err_set(ei, ERR_INTERNAL, "id", "message %s: its base64 is damaged", id);
            else {
                raw->len += got;
                raw->data[raw->len] = '\0';
            }
        } else {
            rc = buf_append(raw, text, n);
        }
        snprintf(src->protocol, sizeof(src->protocol), "%s", db_col_text(st, 2));
        snprintf(src->transport, sizeof(src->transport), "%s", db_col_text(st, 3));
        snprintf(src->peer, sizeof(src->peer), "%s", db_col_text(st, 4));
        snprintf(src->instrument, sizeof(src->instrument), "%s",
                 db_col_text(st, 5) ? db_col_text(st, 5) : "");
        snprintf(src->direction, sizeof(src->direction), "%s", db_col_text(st, 6));
    }
    db_finalize(st);
    return rc;
}
