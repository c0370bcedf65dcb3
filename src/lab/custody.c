/*
 * custody.c - chain-of-custody events and rejection (see custody.h).
 */
#include "lab/custody.h"
#include "lab/delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/time.h"
#include "lab/accession.h"
#include "lab/patient.h"
#include "lab/specimen.h"
#include "lab/worklist.h"
#include "store/dbjson.h"

#define CLOCK_SKEW_US (2LL * 60 * 1000000) /* a device clock may run this far ahead */
#define ALIQUOTS_MAX  10

/* Which states an event may happen in, and the state it leaves. */
static const struct transition {
    const char *event;
    const char *from[5];
    const char *to; /* NULL: the state does not change */
} transitions[] = {
    {"collected", {"pending"}, "collected"},
    {"received", {"collected"}, "received"},
    {"centrifuged", {"received", "in-process"}, "in-process"},
    {"aliquoted", {"received", "in-process"}, NULL},
    {"stored", {"received", "in-process", "stored"}, "stored"},
    {"retrieved", {"stored"}, "in-process"},
    {"sent-out", {"received", "in-process", "stored"}, "sent-out"},
    {"disposed", {"received", "in-process", "stored", "sent-out", "rejected"}, "disposed"},
};

static const char *const reject_reasons[] = {
    "hemolyzed",   "clotted",         "insufficient-volume", "unlabelled",
    "mislabelled", "wrong-container", "stability-exceeded",
};
static const char *const reject_from[] = {"collected", "received", "in-process", "stored"};
static const char *const temperatures[] = {"room", "refrigerated", "frozen"};

static const jsonv_field event_fields[] = {
    {"event", JSONV_STRING, true, 16},        {"at", JSONV_STRING, false, 40},
    {"location", JSONV_STRING, false, 64},    {"note", JSONV_STRING, false, 256},
    {"site", JSONV_STRING, false, 64},        {"rack", JSONV_STRING, false, 32},
    {"position", JSONV_STRING, false, 16},    {"temperature", JSONV_STRING, false, 16},
    {"destination", JSONV_STRING, false, 64}, {"count", JSONV_INT, false, 0},
};
static const jsonv_field reject_fields[] = {
    {"reason", JSONV_STRING, true, 32},
    {"note", JSONV_STRING, false, 256},
    {"at", JSONV_STRING, false, 40},
    {"location", JSONV_STRING, false, 64},
};

static const char sql_last_at[] =
    "SELECT COALESCE(MAX(at), 0) FROM specimen_events WHERE specimen_id = ?";
static const char sql_event[] =
    "INSERT INTO specimen_events (id, specimen_id, event, at, by_user, location, detail,"
    " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_move[] =
    "UPDATE specimens SET status = ?, collected_at = COALESCE(CAST(? AS BIGINT), collected_at),"
    " received_at = COALESCE(CAST(? AS BIGINT), received_at),"
    " storage = COALESCE(CAST(? AS TEXT), storage) WHERE id = ? AND status = ?";
static const char sql_child[] =
    "INSERT INTO specimens (id, accession, order_id, patient_id, parent_id, specimen_type,"
    " container, status, collected_at, received_at, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, 'aliquot tube', ?, ?, ?, ?)";
static const char sql_reject[] = "UPDATE specimens SET status = 'rejected', rejection_reason = ?"
                                 " WHERE id = ? AND status = ?";
static const char sql_recollect[] =
    "INSERT INTO specimens (id, accession, order_id, patient_id, parent_id, specimen_type,"
    " container, status, created_at) VALUES (?, ?, ?, ?, NULL, ?, ?, 'pending', ?)";
static const char sql_open_tests[] =
    "SELECT id, test_code, panel_code FROM order_tests WHERE specimen_id = ?"
    " AND status IN ('ordered', 'in-progress') ORDER BY id";
static const char sql_cancel[] =
    "UPDATE order_tests SET status = 'cancelled', cancel_reason = ? WHERE id = ?";
static const char sql_retest[] = "INSERT INTO order_tests (id, order_id, test_code, panel_code,"
                                 " specimen_id, status) VALUES (?, ?, ?, ?, ?, 'ordered')";

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && !strcmp(s, list[i]))
            return true;
    return false;
}

/* The event time: "at" or now; never in the future, never before the last event. */
static err_t event_time(db *d, const specimen *s, const json_t *body, int64_t *at, errinfo *ei)
{
    const char *t = jsonv_str(body, "at");
    int64_t now = time_now_us(), last = 0;
    db_stmt *st = NULL;
    bool row = false;
    errinfo tei = {0};
    *at = now;
    if (t && time_parse_iso(t, strlen(t), at, &tei))
        return err_set(ei, ERR_INVALID, "at", "at: %s", tei.message);
    if (*at > now + CLOCK_SKEW_US)
        return err_set(ei, ERR_INVALID, "at", "at is in the future");
    err_t rc = db_query(d, &st, ei, sql_last_at, "t", s->id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row)
        last = db_col_int64(st, 0);
    db_finalize(st);
    if (rc)
        return rc;
    if (last && *at < last) {
        char iso[TIME_ISO_LEN];
        time_format_iso(last, iso);
        return err_set(ei, ERR_INVALID, "at",
                       "at is before the specimen's previous event (%s): events are recorded "
                       "in the order they happened",
                       iso);
    }
    return ERR_OK;
}

static err_t write_event(db *d, const audit_ctx *ctx, const specimen *s, const char *event,
                         int64_t at, const char *location, json_t *detail, errinfo *ei)
{
    char id[ID_LEN + 1];
    char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    err_t rc;
    if (!text)
        return ERR_NOMEM;
    id_new(id);
    rc = db_run(d, ei, NULL, sql_event, "tttittti", id, s->id, event, at,
                ctx->actor ? ctx->actor : "system", location, text, time_now_us());
    free(text);
    if (rc)
        return rc;
    json_t *ad = json_pack("{s:s,s:s}", "event", event, "accession", s->accession);
    rc = audit_write(d, ctx, "specimen.event", "specimen", s->id, "ok", ad, ei);
    json_decref(ad);
    if (!rc)
        rc = db_publish_json(d, "specimen.event",
                             json_pack("{s:s,s:s,s:s}", "accession", s->accession, "event", event,
                                       "priority", s->priority),
                             ei);
    return rc;
}

/* Move s from its state to `to` (NULL keeps it) with the given times and storage. */
static err_t move(db *d, const specimen *s, const char *to, int64_t collected, int64_t received,
                  const char *storage, errinfo *ei)
{
    int64_t changed = 0;
    db_stmt *st = NULL;
    bool row = false;
    /* Bound one by one: the two times are NULL when not given. */
    err_t rc = db_prepare(d, sql_move, &st, ei);
    if (!rc)
        rc = db_bind_str(st, 1, to ? to : s->status);
    if (!rc)
        rc = collected ? db_bind_int64(st, 2, collected) : db_bind_null(st, 2);
    if (!rc)
        rc = received ? db_bind_int64(st, 3, received) : db_bind_null(st, 3);
    if (!rc)
        rc = db_bind_str(st, 4, storage);
    if (!rc)
        rc = db_bind_str(st, 5, s->id);
    if (!rc)
        rc = db_bind_str(st, 6, s->status);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc)
        changed = db_changes(st);
    db_finalize(st);
    if (!rc && changed != 1)
        rc = err_set(ei, ERR_CONFLICT, "event", "the specimen changed meanwhile; try again");
    if (!rc)
        rc = worklist_touch(d, s->id, ei);
    return rc;
}

static err_t make_aliquots(db *d, const specimen *s, int64_t at, int count, json_t *children,
                           errinfo *ei)
{
    for (int i = 0; i < count; i++) {
        char id[ID_LEN + 1], acc[ACCESSION_LEN + 1];
        id_new(id);
        err_t rc = accession_next(d, at, acc, ei);
        if (!rc)
            rc = db_run(d, ei, NULL, sql_child, "tttttttiii", id, acc, s->order_id, s->patient_id,
                        s->id, s->specimen_type, s->status, s->collected_at, s->received_at,
                        time_now_us());
        if (rc)
            return rc;
        json_array_append_new(children, json_string(acc));
    }
    return ERR_OK;
}

err_t custody_record(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                     json_t **out, errinfo *ei)
{
    const struct transition *tr = NULL;
    const char *event, *location;
    json_t *detail = NULL, *children = NULL;
    char storage[160] = "";
    int64_t at = 0, collected = 0, received = 0;
    specimen s;
    err_t rc;

    *out = NULL;
    rc = jsonv_check(body, event_fields, sizeof(event_fields) / sizeof(event_fields[0]), ei);
    if (rc)
        return rc;
    event = jsonv_str(body, "event");
    for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
        if (!strcmp(transitions[i].event, event))
            tr = &transitions[i];
    if (!tr)
        return err_set(ei, ERR_INVALID, "event",
                       "event must be collected, received, centrifuged, aliquoted, stored, "
                       "retrieved, sent-out or disposed (rejection has its own route)");
    location = jsonv_str(body, "location") ? jsonv_str(body, "location") : "laboratory";
    /* Fields that belong to one event only. */
    static const struct {
        const char *field, *event;
    } owned[] = {{"site", "collected"},     {"rack", "stored"},          {"position", "stored"},
                 {"temperature", "stored"}, {"destination", "sent-out"}, {"count", "aliquoted"}};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        if (json_object_get(body, owned[i].field) && strcmp(event, owned[i].event))
            return err_set(ei, ERR_INVALID, owned[i].field, "%s belongs to the %s event",
                           owned[i].field, owned[i].event);
    detail = json_object();
    if (!detail)
        return ERR_NOMEM;
    const char *note = jsonv_str(body, "note");
    if (note)
        json_object_set_new(detail, "note", json_string(note));

    if (!strcmp(event, "stored")) {
        const char *rack = jsonv_str(body, "rack"), *pos = jsonv_str(body, "position");
        const char *temp = jsonv_str(body, "temperature");
        if (!rack || !pos || !temp) {
            rc =
                err_set(ei, ERR_MISSING_FIELD, !rack ? "rack" : (!pos ? "position" : "temperature"),
                        "stored needs rack, position and temperature");
            goto done;
        }
        if (!in_list(temp, temperatures, 3)) {
            rc = err_set(ei, ERR_INVALID, "temperature",
                         "temperature must be room, refrigerated or frozen");
            goto done;
        }
        snprintf(storage, sizeof(storage), "rack %s, position %s, %s", rack, pos, temp);
        json_object_set_new(detail, "rack", json_string(rack));
        json_object_set_new(detail, "position", json_string(pos));
        json_object_set_new(detail, "temperature", json_string(temp));
    } else if (!strcmp(event, "sent-out")) {
        if (!jsonv_str(body, "destination")) {
            rc = err_set(ei, ERR_MISSING_FIELD, "destination", "sent-out needs a destination");
            goto done;
        }
        json_object_set_new(detail, "destination", json_string(jsonv_str(body, "destination")));
    } else if (!strcmp(event, "collected") && jsonv_str(body, "site")) {
        json_object_set_new(detail, "site", json_string(jsonv_str(body, "site")));
    }
    int count = 0;
    if (!strcmp(event, "aliquoted")) {
        json_t *c = json_object_get(body, "count");
        if (!c || json_integer_value(c) < 1 || json_integer_value(c) > ALIQUOTS_MAX) {
            rc = err_set(ei, ERR_INVALID, "count", "aliquoted needs a count from 1 to %d",
                         ALIQUOTS_MAX);
            goto done;
        }
        count = (int)json_integer_value(c);
        children = json_array();
    }

    rc = db_begin(d, ei);
    if (rc)
        goto done;
    rc = specimen_get(d, accession, &s, ei);
    if (rc)
        goto fail;
    if (!in_list(s.status, tr->from, sizeof(tr->from) / sizeof(tr->from[0]))) {
        rc = err_set(ei, ERR_INVALID, "event", "a specimen that is %s cannot be %s", s.status,
                     event);
        goto fail;
    }
    rc = event_time(d, &s, body, &at, ei);
    if (rc)
        goto fail;
    if (!strcmp(event, "collected")) {
        patient p;
        rc = patient_get(d, s.patient_id, &p, ei);
        if (rc)
            goto fail;
        if (patient_age_days(&p, at) < 0) {
            rc = err_set(ei, ERR_INVALID, "at", "collection time is before the patient's birth");
            goto fail;
        }
        collected = at;
    } else if (!strcmp(event, "received")) {
        received = at;
    }
    rc = move(d, &s, tr->to, collected, received, storage[0] ? storage : NULL, ei);
    if (!rc && count) {
        rc = make_aliquots(d, &s, at, count, children, ei);
        if (!rc)
            json_object_set(detail, "aliquots", children);
    }
    if (!rc)
        rc = write_event(d, ctx, &s, event, at, location, detail, ei);
    if (!rc && received)
        rc = delivery_enqueue_orders(d, s.id, ei); /* analyzers that are sent their orders */
    if (!rc)
        rc = specimen_json(d, accession, out, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        goto fail;
    if (children)
        json_object_set(*out, "aliquots", children);
    goto done;
fail:
    db_rollback(d);
    json_decref(*out);
    *out = NULL;
done:
    json_decref(detail);
    json_decref(children);
    return rc;
}

err_t custody_reject(db *d, const audit_ctx *ctx, const char *accession, const json_t *body,
                     json_t **out, errinfo *ei)
{
    const char *reason;
    char new_id[ID_LEN + 1], new_acc[ACCESSION_LEN + 1];
    json_t *detail = NULL, *recollection = NULL, *cancelled = json_array();
    db_stmt *st = NULL;
    bool row = false;
    int64_t at = 0;
    specimen s;
    err_t rc;

    *out = NULL;
    if (!cancelled)
        return ERR_NOMEM;
    rc = jsonv_check(body, reject_fields, sizeof(reject_fields) / sizeof(reject_fields[0]), ei);
    if (rc)
        goto done;
    reason = jsonv_str(body, "reason");
    if (!in_list(reason, reject_reasons, sizeof(reject_reasons) / sizeof(reject_reasons[0]))) {
        rc = err_set(ei, ERR_INVALID, "reason",
                     "reason must be hemolyzed, clotted, insufficient-volume, unlabelled, "
                     "mislabelled, wrong-container or stability-exceeded");
        goto done;
    }
    rc = db_begin(d, ei);
    if (rc)
        goto done;
    rc = specimen_get(d, accession, &s, ei);
    if (rc)
        goto fail;
    if (!in_list(s.status, reject_from, sizeof(reject_from) / sizeof(reject_from[0]))) {
        rc = err_set(ei, ERR_INVALID, "reason", "a specimen that is %s cannot be rejected",
                     s.status);
        goto fail;
    }
    rc = event_time(d, &s, body, &at, ei);
    if (rc)
        goto fail;
    rc = db_run(d, ei, NULL, sql_reject, "ttt", reason, s.id, s.status);
    if (rc)
        goto fail;

    /* The recollection: a new container for the tests this one can no longer serve. */
    id_new(new_id);
    rc = accession_next(d, at, new_acc, ei);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_recollect, "tttttti", new_id, new_acc, s.order_id,
                    s.patient_id, s.specimen_type, s.container, time_now_us());
    if (!rc)
        rc = db_query(d, &st, ei, sql_open_tests, "t", s.id);
    while (!rc) {
        rc = db_step(st, &row, ei);
        if (rc || !row)
            break;
        json_array_append_new(
            cancelled,
            json_pack("{s:s,s:s,s:o}", "id", db_col_text(st, 0), "code", db_col_text(st, 1),
                      "panel", db_col_text(st, 2) ? json_string(db_col_text(st, 2)) : json_null()));
    }
    db_finalize(st);
    st = NULL;
    for (size_t i = 0; !rc && i < json_array_size(cancelled); i++) {
        json_t *t = json_array_get(cancelled, i);
        char tid[ID_LEN + 1];
        id_new(tid);
        rc = db_run(d, ei, NULL, sql_cancel, "tt", reason,
                    json_string_value(json_object_get(t, "id")));
        if (!rc)
            rc = db_run(d, ei, NULL, sql_retest, "ttttt", tid, s.order_id,
                        json_string_value(json_object_get(t, "code")),
                        json_string_value(json_object_get(t, "panel")), new_id);
    }
    if (!rc)
        rc = worklist_touch(d, s.id, ei);
    if (!rc)
        rc = worklist_touch(d, new_id, ei);
    if (rc)
        goto fail;
    detail = json_pack("{s:s,s:s}", "reason", reason, "recollection", new_acc);
    if (jsonv_str(body, "note"))
        json_object_set_new(detail, "note", json_string(jsonv_str(body, "note")));
    rc = write_event(d, ctx, &s, "rejected", at,
                     jsonv_str(body, "location") ? jsonv_str(body, "location") : "laboratory",
                     detail, ei);
    if (!rc) {
        json_t *ad = json_pack("{s:s,s:s}", "reason", reason, "recollection", new_acc);
        rc = audit_write(d, ctx, "specimen.reject", "specimen", s.id, "ok", ad, ei);
        json_decref(ad);
    }
    if (!rc)
        rc = specimen_json(d, accession, out, ei);
    if (!rc)
        rc = specimen_json(d, new_acc, &recollection, ei);
    if (!rc)
        rc = db_commit(d, ei);
    if (rc)
        goto fail;
    json_object_set_new(*out, "recollection", recollection);
    recollection = NULL;
    goto done;
fail:
    db_rollback(d);
    json_decref(*out);
    *out = NULL;
done:
    json_decref(recollection);
    json_decref(detail);
    json_decref(cancelled);
    return rc;
}
