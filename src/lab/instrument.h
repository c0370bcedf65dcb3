/*
 * instrument.h - the analyzers, monitors and EHRs benchside exchanges
 * messages with: how each is recognised, where it may connect from, how its
 * serial line is set, where messages for it go, and what it calls the
 * catalog's tests.
 *
 * A document {"instruments":[...]} (benchside import instruments FILE.json,
 * PUT /api/v1/instruments) is checked whole, then written in one transaction:
 *
 *   {"name":"CHEM-1",                   letters, digits, '-', '_', '.'; 1-64
 *    "kind":"analyzer",                 analyzer, poc, monitor or ehr
 *    "protocol":"astm",                 hl7 or astm
 *    "transport":"tcp",                 tcp (default) or serial
 *    "match":{"application":"AU680","facility":"LAB"}    HL7 MSH-3 / MSH-4
 *         or {"sender":"XN-550"}                         ASTM H.5
 *         or {"peer":"10.1.2.3"}                         the peer address alone
 *    "allowed_peers":["10.1.2.3"],      [] or absent: any address
 *    "serial":{"device":"/dev/ttyUSB0","baud":9600,"parity":"none",
 *              "data_bits":8,"stop_bits":1},           transport serial only
 *    "send_to":"ehr.example.org:2575",  where messages for it are delivered
 *    "orders":{"mode":"push","message":"oml"},  query (default: it asks) or
 *                                       push (sent when a specimen is received;
 *                                       needs send_to); HL7: oml (OML^O33) or orm
 *    "menu":["GLU","NA"],               the catalog tests it runs; [] or absent: all
 *    "mappings":{"Glucose":"GLU"},      instrument code -> catalog code
 *    "enabled":true}
 *
 * An instrument's mappings are replaced by the document's (catalog imports
 * write the same table by test: the later import wins).
 */
#ifndef BENCHSIDE_LAB_INSTRUMENT_H
#define BENCHSIDE_LAB_INSTRUMENT_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define INSTRUMENT_NAME_MAX     64
#define INSTRUMENT_MATCH_MAX    64
#define INSTRUMENT_PEERS_MAX    16
#define INSTRUMENT_DEVICE_MAX   128
#define INSTRUMENT_ADDRESS_MAX  128
#define INSTRUMENT_DOCUMENT_MAX 500
#define INSTRUMENT_MAPPINGS_MAX 500
#define INSTRUMENT_MENU_MAX     100

typedef struct instrument {
    char name[INSTRUMENT_NAME_MAX + 1];
    char kind[12];
    char protocol[8];
    char transport[8];
    char match_application[INSTRUMENT_MATCH_MAX + 1];
    char match_facility[INSTRUMENT_MATCH_MAX + 1];
    char match_sender[INSTRUMENT_MATCH_MAX + 1];
    char match_peer[INSTRUMENT_ADDRESS_MAX + 1];
    char allowed_peers[INSTRUMENT_PEERS_MAX * (INSTRUMENT_ADDRESS_MAX + 4) + 4]; /* JSON */
    char serial_device[INSTRUMENT_DEVICE_MAX + 1];
    int serial_baud;
    char serial_parity[8];
    int serial_data_bits, serial_stop_bits;
    char send_to[INSTRUMENT_ADDRESS_MAX + 1];
    bool enabled;
    bool push;          /* orders are pushed to it (else it asks) */
    char hl7_orders[4]; /* "oml" (OML^O33) or "orm" (ORM^O01) */
    char menu[2048];    /* JSON array of catalog codes; "[]" for all */
} instrument;

/* Check and write a document (see above); *count is the number written.
 * Errors name the field ("instruments[2].serial.baud"); nothing is written
 * then. Audited as instrument.import. */
err_t instrument_import(db *d, const audit_ctx *ctx, const json_t *doc, int *count, errinfo *ei);

/* Every instrument as the API shows it, by name (new reference). */
err_t instrument_list_json(db *d, json_t **out, errinfo *ei);

/* One instrument with its mappings; ERR_NOT_FOUND when none. */
err_t instrument_get_json(db *d, const char *name, json_t **out, errinfo *ei);

/* One instrument by name; ERR_NOT_FOUND when none. */
err_t instrument_get(db *d, const char *name, instrument *out, errinfo *ei);

/*
 * Who sent a message: the enabled instrument of that protocol recognised by
 * key (HL7: MSH-3 application and MSH-4 facility; ASTM: the H.5 sender, with
 * facility NULL), else by the peer address alone. ERR_NOT_FOUND when none.
 */
err_t instrument_recognise(db *d, const char *protocol, const char *application,
                           const char *facility, const char *peer_ip, instrument *out, errinfo *ei);

/* Whether it runs catalog test code (its menu is empty or lists it). */
bool instrument_runs(const instrument *in, const char *code);

/* Whether peer_ip may speak for it (its allowed_peers is empty or lists it). */
bool instrument_peer_allowed(const instrument *in, const char *peer_ip);

/* Calls fn for each enabled instrument whose field kind, transport or
 * orders_mode equals value ("ehr", "serial", "push"); stops at fn's first
 * error. */
err_t instrument_each(db *d, const char *column, const char *value,
                      err_t (*fn)(void *cls, const instrument *in), void *cls, errinfo *ei);

#endif
