/*
 * appt.h - appointments: the resources they are kept on (a room, a
 * phlebotomy chair, a device of the asset register), their slots with the
 * technician who works each, booking, check-in, no-show, cancellation, and
 * a technician's day.
 *
 * Slots of a resource never overlap. A slot holds one appointment at a time
 * (cancelled ones aside): booking a booked slot is ERR_CONFLICT and changes
 * nothing. A slot is booked until it ends; a patient checks in from two
 * hours before it starts (CARE_CHECKIN_EARLY_US) until it ends, and is
 * marked a no-show once it has started. Days are UTC dates.
 *
 * Every write is audited in the transaction that makes it; what names a
 * patient is read with an audit event too.
 */
#ifndef BENCHSIDE_CARE_APPT_H
#define BENCHSIDE_CARE_APPT_H

#include <jansson.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "store/db.h"

#define CARE_SLOTS_MAX        200 /* slots made by one request */
#define CARE_CHECKIN_EARLY_US (2 * 3600 * 1000000LL)

/* A resource: {"code","kind":"room|chair|device","name","device"? (kind
 * device: an asset's tag)}. ERR_CONFLICT naming "code" when it exists.
 * Audited as care.resource.create. */
err_t care_resource_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei);

/* The resources by code. */
err_t care_resource_list(db *d, json_t **items, errinfo *ei);

/*
 * Make slots of minutes each on a resource from start until end:
 *   {"resource","start","end","minutes","technician"?}
 * (times ISO 8601; the last slot ends by end; end not past). A slot that
 * would overlap one of the resource's is ERR_CONFLICT naming "start"; all
 * or none. *out is {"items":[slots]}. Audited as care.slots.create.
 */
err_t care_slots_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);

/* Slots of a resource on a date (YYYY-MM-DD, UTC), each with whether it
 * is booked; free_only: those not booked and not over. */
err_t care_slots_list(db *d, const char *resource, const char *date, bool free_only, json_t **items,
                      errinfo *ei);

/* Book: {"slot","patient_id","reason"}. ERR_CONFLICT naming "slot" when it
 * is booked or over. *out is the appointment. Audited as
 * care.appointment.book. */
err_t care_appointment_book(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                            errinfo *ei);

/*
 * Change a booked appointment: to is "checked-in", "no-show" or
 * "cancelled" (body {"reason"} for cancelled, {} otherwise). ERR_CONFLICT
 * when it is not booked, or too early or late for that. *out is the
 * appointment. Audited as care.appointment.<to>.
 */
err_t care_appointment_change(db *d, const audit_ctx *ctx, const char *id, const char *to,
                              const json_t *body, json_t **out, errinfo *ei);

/*
 * A technician's day: {"technician","date","slots":[{"slot_id","resource",
 * "resource_name","starts_at","ends_at","appointment":null or {"id",
 * "status","reason","patient":{"id","mrn","name"}}}]} for the slots they
 * work on date (UTC). ERR_INVALID naming "technician" or "date". No audit of
 * its own.
 */
err_t care_day(db *d, const char *technician, const char *date, json_t **out, errinfo *ei);

#endif
