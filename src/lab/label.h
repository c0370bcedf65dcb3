/*
 * label.h - specimen labels: the 2 x 1 inch (50.8 x 25.4 mm) sticker on every
 * tube, as ZPL II for Zebra thermal printers (203 dpi) and as a one-page PDF
 * for any other printer and for previews.
 *
 * A label carries the accession as a Code 128 barcode and as text, the
 * patient's name ("FAMILY, Given"), MRN, birth date and sex (F/M/O/U), the
 * container, the specimen type, the collection time (UTC, "YYYY-MM-DD HH:MM
 * UTC", or a blank "Coll: ____" to fill in by hand), the tests, and a reversed
 * STAT flag for stat orders (ASAP is printed plainly).
 *
 * A pure module: no database, no files. Text from people (names, container,
 * tests...) is cleaned before it is printed: control characters are removed
 * (line breaks and tabs become a space), bidirectional overrides are dropped,
 * invalid UTF-8 becomes '?', runs of spaces are collapsed, and each field is
 * cut to what fits its line. In ZPL it is then escaped so that no name can
 * carry a printer command.
 */
#ifndef BENCHSIDE_LAB_LABEL_H
#define BENCHSIDE_LAB_LABEL_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define LABEL_ACCESSION_MAX 20 /* characters of [0-9A-Z-] */

/* What goes on a label. Strings are borrowed, UTF-8, NUL-terminated; NULL
 * (or "") prints as empty. Nothing is kept after the call. */
typedef struct label_data {
    const char *accession; /* required: 1-20 of [0-9A-Z-]; barcode and text */
    const char *family, *given;
    const char *mrn;
    const char *birth_date;    /* YYYY-MM-DD, or NULL/"" */
    const char *sex;           /* female/male/other/unknown -> F/M/O/U; NULL prints empty */
    const char *container;     /* e.g. "EDTA (lavender)" */
    const char *specimen_type; /* e.g. "Whole blood" */
    int64_t collected_at;      /* UTC microseconds; 0 = not collected yet (blank) */
    const char *tests;         /* short test list, e.g. "CBC BMP"; may be NULL */
    const char *priority;      /* routine/asap/stat; NULL = routine */
} label_data;

/*
 * Append one ZPL II label (^XA ... ^XZ, UTF-8 via ^CI28, 406 x 203 dots) for l
 * to out.
 *
 * Returns ERR_OK; ERR_INVALID with ei->field naming the field when the
 * accession is missing or not 1-20 of [0-9A-Z-] ("accession"), sex or
 * priority is not one of the values above ("sex", "priority"), birth_date is
 * not a calendar date YYYY-MM-DD ("birth_date") or collected_at is negative
 * or past year 9999 ("collected_at"); ERR_NOMEM.
 *
 * Ownership: out belongs to the caller, who frees it with buf_free(). On
 * failure out is left as it was before the call.
 */
err_t label_zpl(const label_data *l, buf *out, errinfo *ei);

/*
 * Append the same label as a one-page PDF of 50.8 x 25.4 mm (144 x 72 pt),
 * drawn with cairo: the barcode as vector bars from libzint (Code 128, a quiet
 * zone of 10 modules each side, modules a whole number of 300 dpi pixels, at
 * least two), text in cairo's "sans-serif", each field cut to fit its line.
 *
 * Returns ERR_OK; the same ERR_INVALID cases as label_zpl(); ERR_NOMEM;
 * ERR_INTERNAL with a message in ei when cairo or zint fails.
 *
 * Ownership: out belongs to the caller, who frees it with buf_free(). On
 * failure out is left as it was before the call.
 */
err_t label_pdf(const label_data *l, buf *out, errinfo *ei);

#endif
