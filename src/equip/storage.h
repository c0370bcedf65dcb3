/*
 * storage.h - storage units: the refrigerators, freezers, incubators and
 * rooms whose temperature is kept between limits (table storage_units,
 * migration 0010). A reagent lot is stored at a unit by name, and a
 * specimen's "stored" custody event names one as its location; readings
 * and their excursions are kept by the temperature log, which reads the
 * limits here.
 *
 * A unit is known by its name (letters, digits, '-', '_', '.'; at most
 * EQUIP_TAG_MAX bytes). Its limits are degrees Celsius, both inclusive, low
 * below high. When the unit is an appliance of the register, it names the
 * asset by tag.
 */
#ifndef BENCHSIDE_EQUIP_STORAGE_H
#define BENCHSIDE_EQUIP_STORAGE_H

#include <jansson.h>
#include <stdbool.h>

#include "auth/audit.h"
#include "base/err.h"
#include "base/id.h"
#include "equip/asset.h"
#include "store/db.h"

#define EQUIP_STORAGE_LIMIT 1000.0 /* |low| and |high| at most, degrees Celsius */

/* A unit as the temperature log needs it. */
typedef struct equip_storage_unit {
    char name[EQUIP_TAG_MAX + 1];
    char kind[16];             /* refrigerator, freezer, incubator, room */
    char asset_id[ID_LEN + 1]; /* "" when it is no asset of the register */
    char asset_tag[EQUIP_TAG_MAX + 1];
    double low, high; /* degrees Celsius, inclusive */
} equip_storage_unit;

/*
 * Create a unit: {"name","kind","asset"?,"low","high","description"?}.
 * kind is refrigerator, freezer, incubator or room; asset the tag of an
 * asset of the register that is not retired; low < high. ERR_CONFLICT
 * naming "name" when the name is taken. *out is the unit as
 * equip_storage_get() gives it (new reference). Audited as
 * equip.storage.create.
 */
err_t equip_storage_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                           errinfo *ei);

/* Every unit by name (at most 1000; new reference). */
err_t equip_storage_list(db *d, json_t **items, errinfo *ei);

/* One unit by name; ERR_NOT_FOUND naming "name" when there is none. */
err_t equip_storage_get(db *d, const char *name, json_t **out, errinfo *ei);

/* The unit named name into *u; ERR_NOT_FOUND naming field when there is
 * none. */
err_t equip_storage_find(db *d, const char *name, const char *field, equip_storage_unit *u,
                         errinfo *ei);

#endif
