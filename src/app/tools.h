/*
 * tools.h - messages shown as JSON for people: `benchside hl7 parse FILE` and
 * `benchside astm decode FILE`, so that an interface analyst can see what a
 * message holds, field by field, or exactly where it is malformed. The codecs
 * are in src/proto; this only renders what they read.
 */
#ifndef BENCHSIDE_APP_TOOLS_H
#define BENCHSIDE_APP_TOOLS_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/*
 * An HL7 v2 message as {"delimiters", "segments":[{"id","fields":[...]}]}.
 * A field is its unescaped text, or when it has repetitions or components an
 * array of repetitions, each an array of components (a component with
 * sub-components is an array of them). Fields are numbered as in HL7: the
 * first element of "fields" is field 1 (MSH-1 is the field separator).
 * A malformed message: ERR_INVALID with the segment and byte in ei.
 */
err_t tools_hl7_json(const char *bytes, size_t len, json_t **out, errinfo *ei);

/*
 * An ASTM capture as {"messages":[{"kind","frames","bad_checksums",
 * "frame_number_breaks","records":[{"type","name","fields":[...]}]}]}, fields
 * rendered as for HL7 (repeats and components, unescaped; field 1 is the
 * record type).
 */
err_t tools_astm_json(const char *bytes, size_t len, json_t **out, errinfo *ei);

#endif
