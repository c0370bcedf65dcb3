/*
 * h_links.c - interface routes: the instrument register, the message journal
 * (search, read, replay) and the outbox to the EHRs.
 */
#include <stdio.h>
#include <string.h>

#include "http/handlers.h"
#include "lab/delivery.h"
#include "lab/instrument.h"
#include "link/handle.h"
#include "lab/journal.h"

err_t http_instruments_list(http_req *r)
{
    json_t *items = NULL;
    err_t rc = instrument_list_json(r->db, &items, &r->ei);
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", items);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_instruments_get(http_req *r)
{
    return instrument_get_json(r->db, r->params[0], &r->out, &r->ei);
}

err_t http_instruments_put(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    int n = 0;
    err_t rc = instrument_import(r->db, &ctx, r->body, &n, &r->ei);
    if (rc)
        return rc;
    r->out = json_pack("{s:i}", "instruments", n);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_links_state(http_req *r)
{
    if (!r->cfg->link_state)
        return err_set(&r->ei, ERR_NOT_FOUND, NULL, "this process runs no instrument links");
    return r->cfg->link_state(&r->out);
}

err_t http_messages_search(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    journal_filter f = {
        .instrument = http_query(r, "instrument"),
        .status = http_query(r, "status"),
        .type = http_query(r, "type"),
        .control_id = http_query(r, "control_id"),
        .peer = http_query(r, "peer"),
    };
    json_t *items = NULL;
    char next[ID_LEN + 1];
    int limit = 0;
    err_t rc = http_query_limit(r, 50, JOURNAL_SEARCH_MAX, &limit);
    if (!rc)
        rc = http_query_time(r, "from", &f.from);
    if (!rc)
        rc = http_query_time(r, "to", &f.to);
    if (!rc)
        rc = journal_search(r->db, &ctx, &f, limit, http_query(r, "cursor"), &items, next, &r->ei);
    if (rc)
        return rc;
    r->out =
        json_pack("{s:o,s:o}", "items", items, "next", next[0] ? json_string(next) : json_null());
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_messages_get(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    return journal_read(r->db, &ctx, r->params[0], &r->out, &r->ei);
}

/*
 * Handle a journalled message again, as if it had just arrived from the same
 * peer: for one that was refused because something was missing then (an
 * instrument not yet configured, a specimen not yet received). A message
 * stored once is found as a duplicate, never stored twice.
 */
err_t http_messages_replay(http_req *r)
{
    audit_ctx ctx = http_actor(r);
    journal_source src;
    buf raw = BUF_INIT;
    link_reply rep = {.out = BUF_INIT};
    err_t rc = db_begin(r->db, &r->ei);
    if (rc)
        return rc;
    rc = journal_raw(r->db, r->params[0], &raw, &src, &r->ei);
    if (!rc && strcmp(src.direction, "in"))
        rc = err_set(&r->ei, ERR_CONFLICT, "id",
                     "message %s was sent, not received: it cannot "
                     "be replayed",
                     r->params[0]);
    if (!rc && !strcmp(src.transport, "replay"))
        rc = err_set(&r->ei, ERR_CONFLICT, "id", "message %s is a replay: replay the original",
                     r->params[0]);
    if (!rc) {
        /* The address part of the peer, for the allowed-peers check. */
        char ip[64] = "";
        const char *colon = strrchr(src.peer, ':');
        if (src.peer[0] != '/' && colon)
            snprintf(ip, sizeof(ip), "%.*s", (int)(colon - src.peer), src.peer);
        if (ip[0] == '[')
            snprintf(ip, sizeof(ip), "%.*s", (int)(strlen(ip) - 2), src.peer + 1);
        link_msg m = {
            .proto = strcmp(src.protocol, "hl7") ? LINK_ASTM : LINK_HL7,
            .transport = "replay",
            .peer = src.peer,
            .peer_ip = ip,
            .instrument =
                !strcmp(src.transport, "serial") && src.instrument[0] ? src.instrument : NULL,
            .data = raw.data ? raw.data : "",
            .len = raw.len,
            .replay_of = r->params[0],
        };
        rc = link_handle(r->db, &m, &rep, &r->ei);
    }
    if (!rc) {
        json_t *detail = json_pack("{s:s,s:s}", "journal_id", rep.journal_id, "status", rep.status);
        rc = audit_write(r->db, &ctx, "message.replay", "message", r->params[0], "ok", detail,
                         &r->ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(r->db, &r->ei);
    else
        db_rollback(r->db);
    if (!rc) {
        r->out = json_pack("{s:s,s:s,s:s,s:o,s:s%}", "replay_of", r->params[0], "journal_id",
                           rep.journal_id, "status", rep.status, "error",
                           rep.error[0] ? json_string(rep.error) : json_null(), "reply",
                           rep.out.data ? rep.out.data : "", rep.out.len);
        if (!r->out)
            rc = ERR_NOMEM;
    }
    buf_free(&raw);
    buf_free(&rep.out);
    return rc;
}

/* GET /api/v1/outbox and /api/v1/outbox/orders: one page of a queue. */
static err_t outbox_page(http_req *r, err_t (*list)(db *, const char *, int, json_t **, errinfo *))
{
    json_t *items = NULL;
    int limit = 0;
    err_t rc = http_query_limit(r, 100, 1000, &limit);
    if (!rc)
        rc = list(r->db, http_query(r, "status"), limit, &items, &r->ei);
    if (rc)
        return rc;
    r->out = json_pack("{s:o}", "items", items);
    return r->out ? ERR_OK : ERR_NOMEM;
}

err_t http_outbox_list(http_req *r)
{
    return outbox_page(r, delivery_list_json);
}

err_t http_outbox_orders(http_req *r)
{
    return outbox_page(r, delivery_orders_json);
}
