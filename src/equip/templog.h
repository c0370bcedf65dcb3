/*
 * templog.h - temperature logs of the storage units (refrigerators, freezers,
 * incubators, rooms) and the alerts their excursions raise.
 *
 * A reading is recorded by hand by a person, or pushed by a sensor through an
 * interface account, one or a batch of up to EQUIP_READINGS_MAX, all or
 * nothing. Readings are append-only: a sensor that sends a reading again
 * (same unit, sensor and time, same value) is told it is a duplicate; the
 * same time with another value is refused.
 *
 * A reading outside the unit's limits [low, high] (both inclusive) is an
 * excursion. The first one opens an alert on the unit (one open alert per
 * unit), which keeps the list of what was stored in the unit at that moment
 * (equip_templog_stored()). Further excursions join the open alert and move
 * its extreme (the reading farthest outside the limits); a reading back in
 * range does not close it. A person closes it with the action taken and the
 * disposition of the stored products.
 *
 * Every write is audited in the transaction that makes it; a refused request
 * writes nothing and names the field at fault ("readings[3].at").
 */
#ifndef BENCHSIDE_EQUIP_TEMPLOG_H
#define BENCHSIDE_EQUIP_TEMPLOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "equip/storage.h"
#include "store/db.h"

#define EQUIP_READINGS_MAX 1000 /* readings in one request */
#define EQUIP_SENSOR_MAX   64   /* a sensor's name: bytes */
#define EQUIP_NOTE_MAX     2000 /* notes, actions, dispositions: bytes */
#define EQUIP_CELSIUS_MIN  (-273.15)
#define EQUIP_CELSIUS_MAX  EQUIP_STORAGE_LIMIT /* as far as a unit's limits may lie */
#define EQUIP_RANGE_DAYS   92                  /* the longest period a readings query covers */

/* ---- pure ---- */

/* How far celsius lies outside [low, high]: 0 inside (the limits included),
 * else the distance to the nearer limit. */
double equip_excursion(double celsius, double low, double high);

/* ---- on record ---- */

/*
 * Record readings of the storage unit named unit. The body is one reading,
 *   {"celsius","at"?,"sensor"?,"note"?}          (at: default now)
 * or a batch,
 *   {"readings":[{"at","celsius","sensor"?,"note"?}]}   (1 to EQUIP_READINGS_MAX)
 * Times are ISO 8601 and not in the future. A reading recorded by an
 * interface account has source "sensor", by anyone else "manual". The
 * readings are applied in time order; excursions open or join the unit's
 * alert. ERR_NOT_FOUND (field "name") when there is no such unit.
 * *out: {"unit","recorded","duplicates","excursions","alert_opened","alert"}
 * where alert is the unit's open alert after the request (its summary, as
 * in equip_templog_alerts()) or null. New reference. Audited as
 * equip.temperature.record (and equip.temperature.alert.open).
 */
err_t equip_templog_record(db *d, const audit_ctx *ctx, const user *u, const char *unit,
                           const json_t *body, json_t **out, errinfo *ei);

/*
 * Readings of a unit measured in [from, to) (UTC microseconds; 0 for from:
 * to minus 7 days; 0 for to: now), oldest first, at most EQUIP_RANGE_DAYS
 * days; with the minimum and maximum of each UTC day. *out:
 *   {"unit":{"name","kind","low","high"},"from","to",
 *    "days":[{"date","min","max","readings","excursions"}],
 *    "readings":[{"id","at","celsius","source","sensor","note","recorded_by",
 *                 "recorded_at","excursion","alert_id"}]}
 * New reference. ERR_NOT_FOUND (field "name"), ERR_INVALID naming "from" or
 * "to" for a period that is empty or too long.
 */
err_t equip_templog_readings(db *d, const char *unit, int64_t from, int64_t to, json_t **out,
                             errinfo *ei);

/*
 * What is stored in the unit now, for an alert: {"specimens":[{"accession",
 * "patient_id","tests","stored_at","rack","position"}]}, the specimens whose
 * latest custody event is "stored" with the unit as its location (and whose
 * state is still stored), by accession. *out is a new reference.
 */
err_t equip_templog_stored(db *d, const char *unit, json_t **out, errinfo *ei);

/* Alerts, newest first (at most 500): status NULL for all, or "open" or
 * "closed"; unit NULL for every unit. Summaries: every field of an alert but
 * the stored list, with "stored_count" in its place. *items is a new
 * reference. */
err_t equip_templog_alerts(db *d, const char *status, const char *unit, json_t **items,
                           errinfo *ei);

/*
 * One alert with what was stored in the unit when it opened (audited as
 * equip.temperature.alert.read: the list names specimens and patients).
 * Without patients (the reader may not read patient data) each specimen's
 * patient_id is null. ERR_NOT_FOUND (field "id"). *out is a new reference.
 */
err_t equip_templog_alert_get(db *d, const audit_ctx *ctx, const char *id, bool patients,
                              json_t **out, errinfo *ei);

/*
 * Close an alert: {"action","disposition"}, what was done and what became of
 * the products stored in the unit ("moved to FRIDGE-3; reagents
 * quarantined"). Both are required. A person closes it: ERR_FORBIDDEN for an
 * interface account. ERR_CONFLICT when it is closed already. *out is the
 * alert as equip_templog_alert_get() gives it. Audited as
 * equip.temperature.alert.close.
 */
err_t equip_templog_alert_close(db *d, const audit_ctx *ctx, const user *u, const char *id,
                                const json_t *body, bool patients, json_t **out, errinfo *ei);

#endif
