/*
 * instrument.c - the instrument register (see instrument.h).
 */
#include "lab/instrument.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonv.h"
#include "base/time.h"
#include "lab/catalog.h"

static const char sql_columns[] =
    "name, kind, protocol, transport, match_application, match_facility, match_sender,"
    " match_peer, allowed_peers, serial_device, serial_baud, serial_parity, serial_data_bits,"
    " serial_stop_bits, send_to, enabled, orders_mode, hl7_orders, menu";
static const char sql_upsert[] =
    "INSERT INTO instruments (name, kind, protocol, transport, match_application,"
    " match_facility, match_sender, match_peer, allowed_peers, serial_device, serial_baud,"
    " serial_parity, serial_data_bits, serial_stop_bits, send_to, enabled, created_at,"
    " updated_at, orders_mode, hl7_orders, menu)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, protocol = excluded.protocol,"
    " transport = excluded.transport, match_application = excluded.match_application,"
    " match_facility = excluded.match_facility, match_sender = excluded.match_sender,"
    " match_peer = excluded.match_peer, allowed_peers = excluded.allowed_peers,"
    " serial_device = excluded.serial_device, serial_baud = excluded.serial_baud,"
    " serial_parity = excluded.serial_parity, serial_data_bits = excluded.serial_data_bits,"
    " serial_stop_bits = excluded.serial_stop_bits, send_to = excluded.send_to,"
    " enabled = excluded.enabled, updated_at = excluded.updated_at,"
    " orders_mode = excluded.orders_mode, hl7_orders = excluded.hl7_orders,"
    " menu = excluded.menu";
static const char sql_map_delete[] = "DELETE FROM test_mappings WHERE instrument = ?";
static const char sql_map_insert[] =
    "INSERT INTO test_mappings (instrument, instrument_code, test_code) VALUES (?, ?, ?)";
static const char sql_maps_of[] = "SELECT instrument_code, test_code FROM test_mappings"
                                  " WHERE instrument = ? ORDER BY instrument_code";

static const jsonv_field doc_fields[] = {
    {"instruments", JSONV_ARRAY, true, INSTRUMENT_DOCUMENT_MAX},
};
static const jsonv_field item_fields[] = {
    {"name", JSONV_STRING, true, INSTRUMENT_NAME_MAX},
    {"kind", JSONV_STRING, true, 12},
    {"protocol", JSONV_STRING, true, 8},
    {"transport", JSONV_STRING, false, 8},
    {"match", JSONV_OBJECT, false, 0},
    {"allowed_peers", JSONV_ARRAY, false, INSTRUMENT_PEERS_MAX},
    {"serial", JSONV_OBJECT, false, 0},
    {"send_to", JSONV_STRING, false, INSTRUMENT_ADDRESS_MAX},
    {"mappings", JSONV_OBJECT, false, 0},
    {"enabled", JSONV_BOOL, false, 0},
    {"orders", JSONV_OBJECT, false, 0},
    {"menu", JSONV_ARRAY, false, INSTRUMENT_MENU_MAX},
};
static const jsonv_field orders_fields[] = {
    {"mode", JSONV_STRING, true, 8},
    {"message", JSONV_STRING, false, 4},
};
static const jsonv_field match_fields[] = {
    {"application", JSONV_STRING, false, INSTRUMENT_MATCH_MAX},
    {"facility", JSONV_STRING, false, INSTRUMENT_MATCH_MAX},
    {"sender", JSONV_STRING, false, INSTRUMENT_MATCH_MAX},
    {"peer", JSONV_STRING, false, INSTRUMENT_ADDRESS_MAX},
};
static const jsonv_field serial_fields[] = {
    {"device", JSONV_STRING, true, INSTRUMENT_DEVICE_MAX},
    {"baud", JSONV_INT, false, 0},
    {"parity", JSONV_STRING, false, 8},
    {"data_bits", JSONV_INT, false, 0},
    {"stop_bits", JSONV_INT, false, 0},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

static const int bauds[] = {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200};

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

static bool name_valid(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

/* Printable ASCII without spaces at the ends: what a peer or match key may hold. */
static bool key_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* HOST:PORT with a port 1-65535. */
static bool address_valid(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !key_valid(s))
        return false;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    return colon[1] && *end == '\0' && port >= 1 && port <= 65535;
}

/* Check member nested inside path, naming "path.member" on failure. */
static err_t check_nested(const json_t *obj, const jsonv_field *f, size_t n, const char *path,
                          errinfo *ei)
{
    err_t rc = jsonv_check(obj, f, n, ei);
    if (rc && ei) {
        char inner[sizeof(ei->field)], msg[sizeof(ei->message)];
        snprintf(inner, sizeof(inner), "%s", ei->field);
        snprintf(msg, sizeof(msg), "%s", ei->message);
        snprintf(ei->field, sizeof(ei->field), "%.40s.%.20s", path, inner);
        snprintf(ei->message, sizeof(ei->message), "%.40s: %.400s", path, msg);
    }
    return rc;
}

static err_t bad(errinfo *ei, const char *path, const char *member, const char *why)
{
    char field[96];
    snprintf(field, sizeof(field), "%s.%s", path, member);
    return err_set(ei, ERR_INVALID, field, "%s %s", field, why);
}

/* Check one entry of the document; fill *out. */
static err_t check_item(db *d, const json_t *it, const char *path, instrument *out, errinfo *ei)
{
    static const char *const kinds[] = {"analyzer", "poc", "monitor", "ehr", NULL};
    static const char *const protocols[] = {"hl7", "astm", NULL};
    static const char *const transports[] = {"tcp", "serial", NULL};
    static const char *const parities[] = {"none", "even", "odd", NULL};
    if (!json_is_object(it))
        return err_set(ei, ERR_INVALID, path, "%s must be an object", path);
    err_t rc = check_nested(it, item_fields, NFIELDS(item_fields), path, ei);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    const char *s = jsonv_str(it, "name");
    if (!name_valid(s))
        return bad(ei, path, "name", "may hold only letters, digits, '-', '_' and '.'");
    snprintf(out->name, sizeof(out->name), "%s", s);
    s = jsonv_str(it, "kind");
    if (!one_of(s, kinds))
        return bad(ei, path, "kind", "must be analyzer, poc, monitor or ehr");
    snprintf(out->kind, sizeof(out->kind), "%s", s);
    s = jsonv_str(it, "protocol");
    if (!one_of(s, protocols))
        return bad(ei, path, "protocol", "must be hl7 or astm");
    snprintf(out->protocol, sizeof(out->protocol), "%s", s);
    s = jsonv_str(it, "transport");
    if (s && !one_of(s, transports))
        return bad(ei, path, "transport", "must be tcp or serial");
    snprintf(out->transport, sizeof(out->transport), "%s", s ? s : "tcp");
    json_t *en = json_object_get(it, "enabled");
    out->enabled = !en || json_is_true(en);

    const json_t *m = json_object_get(it, "match");
    if (m) {
        char mp[80];
        snprintf(mp, sizeof(mp), "%s.match", path);
        rc = check_nested(m, match_fields, NFIELDS(match_fields), path, ei);
        if (rc)
            return rc;
        const char *app = jsonv_str(m, "application"), *fac = jsonv_str(m, "facility");
        const char *snd = jsonv_str(m, "sender"), *peer = jsonv_str(m, "peer");
        const char *vals[] = {app, fac, snd, peer};
        const char *names[] = {"application", "facility", "sender", "peer"};
        for (int k = 0; k < 4; k++)
            if (vals[k] && !key_valid(vals[k]))
                return bad(ei, mp, names[k], "must be printable ASCII without spaces at the ends");
        if ((app || fac) && strcmp(out->protocol, "hl7"))
            return bad(ei, mp, app ? "application" : "facility",
                       "is an HL7 key (MSH-3/MSH-4); this instrument speaks astm");
        if (snd && strcmp(out->protocol, "astm"))
            return bad(ei, mp, "sender", "is an ASTM key (H.5); this instrument speaks hl7");
        if (fac && !app)
            return bad(ei, mp, "facility", "needs match.application too");
        snprintf(out->match_application, sizeof(out->match_application), "%s", app ? app : "");
        snprintf(out->match_facility, sizeof(out->match_facility), "%s", fac ? fac : "");
        snprintf(out->match_sender, sizeof(out->match_sender), "%s", snd ? snd : "");
        snprintf(out->match_peer, sizeof(out->match_peer), "%s", peer ? peer : "");
    }
    if (!out->match_application[0] && !out->match_sender[0] && !out->match_peer[0] &&
        strcmp(out->transport, "serial"))
        return err_set(ei, ERR_INVALID, path,
                       "%s.match must say how %s is recognised: application (HL7 MSH-3), sender "
                       "(ASTM H.5) or peer",
                       path, out->name);

    json_t *peers = json_array(), *p;
    size_t i;
    if (!peers)
        return ERR_NOMEM;
    json_array_foreach(json_object_get(it, "allowed_peers"), i, p)
    {
        char f[96];
        snprintf(f, sizeof(f), "%s.allowed_peers[%zu]", path, i);
        if (!json_is_string(p) || !key_valid(json_string_value(p)) ||
            strlen(json_string_value(p)) > INSTRUMENT_ADDRESS_MAX) {
            json_decref(peers);
            return err_set(ei, ERR_INVALID, f, "%s must be an address", f);
        }
        json_array_append(peers, p);
    }
    char *text = json_dumps(peers, JSON_COMPACT);
    json_decref(peers);
    if (!text)
        return ERR_NOMEM;
    snprintf(out->allowed_peers, sizeof(out->allowed_peers), "%s", text);
    free(text);

    const json_t *se = json_object_get(it, "serial");
    bool serial = !strcmp(out->transport, "serial");
    if (se && !serial)
        return bad(ei, path, "serial", "is only for transport serial");
    if (serial && !se)
        return bad(ei, path, "serial", "is required for transport serial (device, baud...)");
    if (se) {
        char sp[80];
        snprintf(sp, sizeof(sp), "%s.serial", path);
        rc = check_nested(se, serial_fields, NFIELDS(serial_fields), sp, ei);
        if (rc)
            return rc;
        s = jsonv_str(se, "device");
        if (s[0] != '/' || !key_valid(s))
            return bad(ei, sp, "device", "must be an absolute device path like /dev/ttyUSB0");
        snprintf(out->serial_device, sizeof(out->serial_device), "%s", s);
        json_t *b = json_object_get(se, "baud");
        out->serial_baud = b ? (int)json_integer_value(b) : 9600;
        bool ok = false;
        for (size_t k = 0; k < NFIELDS(bauds); k++)
            ok |= bauds[k] == out->serial_baud;
        if (!ok || (b && json_integer_value(b) != out->serial_baud))
            return bad(ei, sp, "baud",
                       "must be one of 1200 2400 4800 9600 19200 38400 57600 115200");
        s = jsonv_str(se, "parity");
        if (s && !one_of(s, parities))
            return bad(ei, sp, "parity", "must be none, even or odd");
        snprintf(out->serial_parity, sizeof(out->serial_parity), "%s", s ? s : "none");
        json_t *db_ = json_object_get(se, "data_bits"), *sb = json_object_get(se, "stop_bits");
        out->serial_data_bits = db_ ? (int)json_integer_value(db_) : 8;
        out->serial_stop_bits = sb ? (int)json_integer_value(sb) : 1;
        if (out->serial_data_bits != 7 && out->serial_data_bits != 8)
            return bad(ei, sp, "data_bits", "must be 7 or 8");
        if (out->serial_stop_bits != 1 && out->serial_stop_bits != 2)
            return bad(ei, sp, "stop_bits", "must be 1 or 2");
    }
    s = jsonv_str(it, "send_to");
    if (s && !address_valid(s))
        return bad(ei, path, "send_to", "must be HOST:PORT");
    snprintf(out->send_to, sizeof(out->send_to), "%s", s ? s : "");
    if (!strcmp(out->kind, "ehr") && !out->send_to[0])
        return bad(ei, path, "send_to", "is required for an EHR (where results are delivered)");

    snprintf(out->hl7_orders, sizeof(out->hl7_orders), "oml");
    const json_t *ord = json_object_get(it, "orders");
    if (ord) {
        char op[80];
        snprintf(op, sizeof(op), "%s.orders", path);
        rc = check_nested(ord, orders_fields, NFIELDS(orders_fields), op, ei);
        if (rc)
            return rc;
        const char *mode = jsonv_str(ord, "mode"), *msg = jsonv_str(ord, "message");
        if (strcmp(mode, "query") && strcmp(mode, "push"))
            return bad(ei, op, "mode", "must be query (the analyzer asks) or push");
        out->push = !strcmp(mode, "push");
        if (msg && strcmp(msg, "oml") && strcmp(msg, "orm"))
            return bad(ei, op, "message", "must be oml (OML^O33) or orm (ORM^O01)");
        if (msg && strcmp(out->protocol, "hl7"))
            return bad(ei, op, "message", "is for HL7 analyzers");
        if (msg)
            snprintf(out->hl7_orders, sizeof(out->hl7_orders), "%s", msg);
        if (out->push && strcmp(out->kind, "ehr") == 0)
            return bad(ei, op, "mode", "push is for analyzers: an EHR receives results");
        if (out->push && (!out->send_to[0] || strcmp(out->transport, "tcp")))
            return bad(ei, op, "mode",
                       "push needs send_to (HOST:PORT the orders go to) over tcp; serial "
                       "analyzers ask for their orders");
    }
    json_t *menu = json_array(), *mv;
    size_t mi;
    if (!menu)
        return ERR_NOMEM;
    json_array_foreach(json_object_get(it, "menu"), mi, mv)
    {
        char f[96];
        catalog_test t;
        snprintf(f, sizeof(f), "%s.menu[%zu]", path, mi);
        rc = json_is_string(mv) ? catalog_get(d, json_string_value(mv), &t, ei) : ERR_INVALID;
        if (rc == ERR_NOT_FOUND || rc == ERR_INVALID) {
            json_decref(menu);
            return err_set(ei, ERR_INVALID, f, "%s must be a test of the catalog", f);
        }
        if (rc) {
            json_decref(menu);
            return rc;
        }
        json_array_append(menu, mv);
    }
    char *mtext = json_dumps(menu, JSON_COMPACT);
    json_decref(menu);
    if (!mtext || strlen(mtext) >= sizeof(out->menu)) {
        free(mtext);
        return bad(ei, path, "menu", "is too long");
    }
    snprintf(out->menu, sizeof(out->menu), "%s", mtext);
    free(mtext);

    const json_t *maps = json_object_get(it, "mappings");
    if (json_object_size(maps) > INSTRUMENT_MAPPINGS_MAX)
        return bad(ei, path, "mappings", "has too many entries");
    const char *code;
    json_t *v;
    json_object_foreach((json_t *)maps, code, v)
    {
        char f[160];
        catalog_test t;
        snprintf(f, sizeof(f), "%s.mappings.%.64s", path, code);
        if (!*code || strlen(code) > CATALOG_INSTR_CODE_MAX || !key_valid(code))
            return err_set(ei, ERR_INVALID, f,
                           "%s: an instrument code is 1-%d printable characters", f,
                           CATALOG_INSTR_CODE_MAX);
        if (!json_is_string(v))
            return err_set(ei, ERR_INVALID, f, "%s must be a catalog test code", f);
        rc = catalog_get(d, json_string_value(v), &t, ei);
        if (rc == ERR_NOT_FOUND || rc == ERR_INVALID)
            return err_set(ei, ERR_INVALID, f, "%s: '%.20s' is not a test of the catalog", f,
                           json_string_value(v));
        if (rc)
            return rc;
    }
    return ERR_OK;
}

static err_t write_one(db *d, const instrument *in, const json_t *maps, int64_t now, errinfo *ei)
{
    err_t rc = db_run(
        d, ei, NULL, sql_upsert, "ttttttttttitiitiiittt", in->name, in->kind, in->protocol,
        in->transport, in->match_application[0] ? in->match_application : NULL,
        in->match_facility[0] ? in->match_facility : NULL,
        in->match_sender[0] ? in->match_sender : NULL, in->match_peer[0] ? in->match_peer : NULL,
        in->allowed_peers, in->serial_device[0] ? in->serial_device : NULL,
        (int64_t)in->serial_baud, in->serial_device[0] ? in->serial_parity : NULL,
        (int64_t)in->serial_data_bits, (int64_t)in->serial_stop_bits,
        in->send_to[0] ? in->send_to : NULL, (int64_t)in->enabled, now, now,
        in->push ? "push" : "query", in->hl7_orders, in->menu);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_map_delete, "t", in->name);
    const char *code;
    json_t *v;
    json_object_foreach((json_t *)maps, code, v)
    {
        if (rc)
            break;
        rc = db_run(d, ei, NULL, sql_map_insert, "ttt", in->name, code, json_string_value(v));
    }
    return rc;
}

err_t instrument_import(db *d, const audit_ctx *ctx, const json_t *doc, int *count, errinfo *ei)
{
    *count = 0;
    err_t rc = jsonv_check(doc, doc_fields, NFIELDS(doc_fields), ei);
    if (rc)
        return rc;
    const json_t *list = json_object_get(doc, "instruments");
    size_t n = json_array_size(list), i;
    if (n == 0)
        return err_set(ei, ERR_INVALID, "instruments", "the document lists no instrument");
    instrument *all = calloc(n, sizeof(*all));
    json_t *names = json_array();
    if (!all || !names) {
        free(all);
        json_decref(names);
        return ERR_NOMEM;
    }
    for (i = 0; i < n && !rc; i++) {
        char path[48];
        snprintf(path, sizeof(path), "instruments[%zu]", i);
        rc = check_item(d, json_array_get(list, i), path, &all[i], ei);
        for (size_t k = 0; !rc && k < i; k++)
            if (!strcmp(all[k].name, all[i].name))
                rc = err_set(ei, ERR_INVALID, path, "%s repeats the name %s of instruments[%zu]",
                             path, all[i].name, k);
    }
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        goto done;
    int64_t now = time_now_us();
    for (i = 0; i < n && !rc; i++) {
        rc = write_one(d, &all[i], json_object_get(json_array_get(list, i), "mappings"), now, ei);
        json_array_append_new(names, json_string(all[i].name));
    }
    if (!rc) {
        json_t *detail = json_pack("{s:O}", "instruments", names);
        rc = audit_write(d, ctx, "instrument.import", "instrument", NULL, "ok", detail, ei);
        json_decref(detail);
    }
    if (!rc)
        rc = db_commit(d, ei);
    else
        db_rollback(d);
    if (!rc)
        *count = (int)n;
done:
    free(all);
    json_decref(names);
    return rc;
}

static void copy_col(db_stmt *st, int i, char *out, size_t n)
{
    const char *s = db_col_text(st, i);
    snprintf(out, n, "%s", s ? s : "");
}

static void from_row(db_stmt *st, instrument *in)
{
    memset(in, 0, sizeof(*in));
    copy_col(st, 0, in->name, sizeof(in->name));
    copy_col(st, 1, in->kind, sizeof(in->kind));
    copy_col(st, 2, in->protocol, sizeof(in->protocol));
    copy_col(st, 3, in->transport, sizeof(in->transport));
    copy_col(st, 4, in->match_application, sizeof(in->match_application));
    copy_col(st, 5, in->match_facility, sizeof(in->match_facility));
    copy_col(st, 6, in->match_sender, sizeof(in->match_sender));
    copy_col(st, 7, in->match_peer, sizeof(in->match_peer));
    copy_col(st, 8, in->allowed_peers, sizeof(in->allowed_peers));
    copy_col(st, 9, in->serial_device, sizeof(in->serial_device));
    in->serial_baud = (int)db_col_int64(st, 10);
    copy_col(st, 11, in->serial_parity, sizeof(in->serial_parity));
    in->serial_data_bits = (int)db_col_int64(st, 12);
    in->serial_stop_bits = (int)db_col_int64(st, 13);
    copy_col(st, 14, in->send_to, sizeof(in->send_to));
    in->enabled = db_col_int64(st, 15) != 0;
    in->push = db_col_text(st, 16) && !strcmp(db_col_text(st, 16), "push");
    copy_col(st, 17, in->hl7_orders, sizeof(in->hl7_orders));
    copy_col(st, 18, in->menu, sizeof(in->menu));
}

static json_t *opt(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static json_t *to_json(const instrument *in)
{
    json_t *match = json_object(), *peers = json_loads(in->allowed_peers, 0, NULL);
    if (in->match_application[0])
        json_object_set_new(match, "application", json_string(in->match_application));
    if (in->match_facility[0])
        json_object_set_new(match, "facility", json_string(in->match_facility));
    if (in->match_sender[0])
        json_object_set_new(match, "sender", json_string(in->match_sender));
    if (in->match_peer[0])
        json_object_set_new(match, "peer", json_string(in->match_peer));
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b}", "name", in->name, "kind", in->kind,
                          "protocol", in->protocol, "transport", in->transport, "match", match,
                          "allowed_peers", peers ? peers : json_array(), "send_to",
                          opt(in->send_to), "enabled", in->enabled);
    if (o) {
        json_t *orders = json_pack("{s:s}", "mode", in->push ? "push" : "query");
        if (orders && !strcmp(in->protocol, "hl7"))
            json_object_set_new(orders, "message", json_string(in->hl7_orders));
        json_t *menu = json_loads(in->menu, 0, NULL);
        json_object_set_new(o, "orders", orders);
        json_object_set_new(o, "menu", menu ? menu : json_array());
    }
    if (o && in->serial_device[0])
        json_object_set_new(o, "serial",
                            json_pack("{s:s,s:i,s:s,s:i,s:i}", "device", in->serial_device, "baud",
                                      in->serial_baud, "parity", in->serial_parity, "data_bits",
                                      in->serial_data_bits, "stop_bits", in->serial_stop_bits));
    return o;
}

static err_t select_rows(db *d, const char *where, const char *types, const char *a, const char *b,
                         err_t (*fn)(void *cls, const instrument *in), void *cls, errinfo *ei)
{
    char sql[1024];
    db_stmt *st = NULL;
    bool row = false;
    snprintf(sql, sizeof(sql), "SELECT %s FROM instruments %s ORDER BY name", sql_columns, where);
    err_t rc = db_query(d, &st, ei, sql, types, a, b);
    while (!rc && !(rc = db_step(st, &row, ei)) && row) {
        instrument in;
        from_row(st, &in);
        rc = fn(cls, &in);
    }
    db_finalize(st);
    return rc;
}

static err_t add_json(void *cls, const instrument *in)
{
    json_t *o = to_json(in);
    return o && !json_array_append_new(cls, o) ? ERR_OK : ERR_NOMEM;
}

err_t instrument_list_json(db *d, json_t **out, errinfo *ei)
{
    json_t *arr = json_array();
    err_t rc = arr ? select_rows(d, "", "", NULL, NULL, add_json, arr, ei) : ERR_NOMEM;
    if (rc) {
        json_decref(arr);
        arr = NULL;
    }
    *out = arr;
    return rc;
}

static err_t keep_first(void *cls, const instrument *in)
{
    instrument *out = cls;
    if (!out->name[0])
        *out = *in;
    return ERR_OK;
}

err_t instrument_get(db *d, const char *name, instrument *out, errinfo *ei)
{
    memset(out, 0, sizeof(*out));
    err_t rc = select_rows(d, "WHERE name = ?", "t", name, NULL, keep_first, out, ei);
    if (!rc && !out->name[0])
        rc = err_set(ei, ERR_NOT_FOUND, "name", "no instrument is called '%.64s'", name);
    return rc;
}

err_t instrument_get_json(db *d, const char *name, json_t **out, errinfo *ei)
{
    instrument in;
    db_stmt *st = NULL;
    bool row = false;
    *out = NULL;
    err_t rc = instrument_get(d, name, &in, ei);
    if (rc)
        return rc;
    json_t *o = to_json(&in), *maps = json_object();
    if (!o || !maps) {
        json_decref(o);
        json_decref(maps);
        return ERR_NOMEM;
    }
    rc = db_query(d, &st, ei, sql_maps_of, "t", name);
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_object_set_new(maps, db_col_text(st, 0), json_string(db_col_text(st, 1)));
    db_finalize(st);
    st = NULL;
    json_object_set_new(o, "mappings", maps);
    if (rc)
        json_decref(o);
    else
        *out = o;
    return rc;
}

err_t instrument_recognise(db *d, const char *protocol, const char *application,
                           const char *facility, const char *peer_ip, instrument *out, errinfo *ei)
{
    err_t rc = ERR_OK;
    memset(out, 0, sizeof(*out));
    if (application && *application) {
        const char *col = strcmp(protocol, "hl7") ? "match_sender" : "match_application";
        char where[256];
        /* A facility-specific entry wins over one that names no facility. */
        snprintf(where, sizeof(where),
                 "WHERE enabled = 1 AND protocol = ? AND %s = ? AND (match_facility IS NULL OR "
                 "match_facility = ?)",
                 col);
        char sql_where[300];
        snprintf(sql_where, sizeof(sql_where), "%s", where);
        db_stmt *st = NULL;
        bool row = false;
        char sql[1200];
        snprintf(sql, sizeof(sql),
                 "SELECT %s FROM instruments %s ORDER BY match_facility IS NULL, name LIMIT 1",
                 sql_columns, sql_where);
        rc = db_query(d, &st, ei, sql, "ttt", protocol, application, facility ? facility : "");
        if (!rc)
            rc = db_step(st, &row, ei);
        if (!rc && row)
            from_row(st, out);
        db_finalize(st);
        st = NULL;
        if (rc || out->name[0])
            return rc;
    }
    if (peer_ip && *peer_ip) {
        rc = select_rows(d, "WHERE enabled = 1 AND protocol = ? AND match_peer = ?", "tt", protocol,
                         peer_ip, keep_first, out, ei);
        if (rc || out->name[0])
            return rc;
    }
    return err_set(ei, ERR_NOT_FOUND, NULL, "unknown sender '%.64s'%s%.64s (peer %.64s)",
                   application ? application : "", facility && *facility ? " at " : "",
                   facility ? facility : "", peer_ip ? peer_ip : "?");
}

bool instrument_runs(const instrument *in, const char *code)
{
    json_t *menu = json_loads(in->menu, 0, NULL), *m;
    size_t i;
    bool ok = json_array_size(menu) == 0;
    json_array_foreach(menu, i, m) ok |= !strcmp(json_string_value(m), code);
    json_decref(menu);
    return ok;
}

bool instrument_peer_allowed(const instrument *in, const char *peer_ip)
{
    json_t *peers = json_loads(in->allowed_peers, 0, NULL), *p;
    size_t i;
    bool ok = json_array_size(peers) == 0;
    json_array_foreach(peers, i, p) ok |= peer_ip && !strcmp(json_string_value(p), peer_ip);
    json_decref(peers);
    return ok;
}

err_t instrument_each(db *d, const char *column, const char *value,
                      err_t (*fn)(void *cls, const instrument *in), void *cls, errinfo *ei)
{
    const char *where = !strcmp(column, "kind")          ? "WHERE enabled = 1 AND kind = ?"
                        : !strcmp(column, "transport")   ? "WHERE enabled = 1 AND transport = ?"
                        : !strcmp(column, "orders_mode") ? "WHERE enabled = 1 AND orders_mode = ?"
                                                         : NULL;
    if (!where)
        return err_set(ei, ERR_USAGE, NULL, "instrument_each: no column %s", column);
    return select_rows(d, where, "t", value, NULL, fn, cls, ei);
}
