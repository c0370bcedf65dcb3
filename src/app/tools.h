/*
 * tools.h - files shown or judged for people: `benchside hl7 parse FILE` and
 * `benchside astm decode FILE`, so that an interface analyst can see what a
 * message holds, field by field, or exactly where it is malformed; and
 * `benchside qc evaluate FILE`, control results from a CSV file judged by the
 * Westgard rules. The codecs are in src/proto and the rules in src/qc; this
 * only reads the files and renders what they say.
 */
#ifndef BENCHSIDE_APP_TOOLS_H
#define BENCHSIDE_APP_TOOLS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
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

/* Most data rows tools_qc_evaluate reads; longest run or level text. */
#define TOOLS_QC_ROWS_MAX 1000000
#define TOOLS_QC_KEY_MAX  64

/*
 * Control results as CSV, judged by the Westgard rules (a mask of
 * QC_WESTGARD_BIT, see src/qc/westgard.h).
 *
 * The first line is the header; it names the columns time, run, level,
 * value, mean and sd, in any order and any case (other columns are ignored).
 * Then one control result a row, in time order: time is an ISO 8601
 * date-time with a zone; run and level are a whole number or text (at most
 * TOOLS_QC_KEY_MAX bytes of UTF-8); value, mean and sd are decimal numbers,
 * sd > 0. Fields may be quoted ("..." with "" for a quote); spaces around a
 * field are dropped; a UTF-8 byte order mark, CRLF line ends and empty lines
 * are accepted. Data rows are numbered from 1 (the line after the header),
 * empty lines not counted.
 *
 * Each violation is appended to out as one JSON object and a newline, in the
 * order qc_westgard_eval finds them:
 *   {"rule":"2-2s","scope":"across-runs","level":1,"rows":[3,5],
 *    "time":"2026-03-02T08:00:00.000000Z","action":"reject"}
 * level is the level's number or text, null when the points are of several
 * levels; rows are data row numbers, in time order; time is the last row's,
 * in UTC; action is "reject", or "warning" for 1-2s.
 *
 * A file that cannot be judged gives ERR_INVALID with a message naming the
 * row, line and column ("row 4 (line 5), column sd: ..."), ei->line the
 * line and ei->field the column; out is then as it was. ERR_NOMEM likewise.
 */
err_t tools_qc_evaluate(const char *csv, size_t len, uint32_t rules, buf *out, errinfo *ei);

#endif
