/*
 * chart.h - Levey-Jennings charts of a test's QC on an instrument, drawn with
 * cairo as SVG (for the web), PNG or PDF.
 *
 * One panel per control material (lot and level), in time order over the
 * range asked for. Each result is plotted as its z-score against the target
 * in force when it was judged (so a changed target does not bend the chart),
 * on a scale with the mean and the +-1, 2 and 3 SD lines; the panel's title
 * gives the current target in the test's units. Accepted results are dots,
 * warnings (1-2s) orange dots, rejected ones red crosses labelled with the
 * rules they broke, provisional ones (target still being established) grey
 * rings. Lockouts are marked where they opened (L1, L2 ...) and corrective
 * actions where they closed them (A1, A2 ...), and listed under the panels
 * with who, when and what was done. Tolerance checks of devices are drawn
 * the same way, against their target and tolerance.
 */
#ifndef BENCHSIDE_QC_CHART_H
#define BENCHSIDE_QC_CHART_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/db.h"

typedef enum { QC_CHART_SVG, QC_CHART_PNG, QC_CHART_PDF } qc_chart_format;

/* "svg", "png", "pdf" -> the format; false for anything else. */
bool qc_chart_format_parse(const char *s, qc_chart_format *out);

/*
 * Draw the chart of test on instrument ("" the manual bench) for results in
 * [from, to) (0: the last 31 days up to now) and append it to out.
 * ERR_INVALID for an unknown test or an empty or inverted range; a range
 * without results draws the empty frame saying so.
 */
err_t qc_chart(db *d, const char *test, const char *instrument, int64_t from, int64_t to,
               qc_chart_format format, buf *out, errinfo *ei);

/*
 * Draw the results of a tolerance check (qc/tolerance.h) in [from, to) (0:
 * the last 31 days): one panel with the target and the +- tolerance lines,
 * each result at its deviation to scale with the tolerance it was judged
 * against; lockouts and corrective actions marked as above. ERR_NOT_FOUND
 * naming "id" for an unknown check.
 */
err_t qc_chart_check(db *d, const char *check_id, int64_t from, int64_t to, qc_chart_format format,
                     buf *out, errinfo *ei);

#endif
