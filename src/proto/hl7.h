/*
 * hl7.h - HL7 v2.x messages: a zero-copy parser, escaping, a writer, and TS times.
 *
 * hl7_parse() reads a message in one pass and keeps only an index of its
 * segments; every value handed out afterwards is a strv slice into the
 * caller's bytes, raw (still escaped). Fields, repetitions, components and
 * sub-components are found on demand by the accessors, which scan only the
 * segment they are asked about. hl7_unescape() / hl7_decode() turn a raw value
 * into plain text; hl7_escape() and the writer go the other way.
 *
 * Numbering follows HL7: fields, repetitions, components and sub-components
 * are 1-based, and a value that is absent reads as the empty view (never a
 * NULL pointer). Segments are numbered 0-based by hl7_segment(); error
 * messages count them from 1 as people do ("segment 3" is hl7_segment(m, 2)).
 *
 * This is a pure codec (src/proto): no I/O, no database, no domain types.
 */
#ifndef BENCHSIDE_PROTO_HL7_H
#define BENCHSIDE_PROTO_HL7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/str.h"

/* The delimiters a message declares in MSH-1 and MSH-2. */
typedef struct hl7_delims {
    char field;        /* MSH-1, usually '|' */
    char component;    /* MSH-2 [0], usually '^' */
    char repetition;   /* MSH-2 [1], usually '~' */
    char escape;       /* MSH-2 [2], usually '\\' */
    char subcomponent; /* MSH-2 [3], usually '&' */
    char truncation;   /* MSH-2 [4] (v2.7+, usually '#'); '\0' when MSH-2 has four characters */
} hl7_delims;

/* |^~\& without a truncation character: what the writer uses. */
extern const hl7_delims hl7_default_delims;

/*
 * A parsed message: an index of segments over bytes the caller keeps. The
 * views it hands out stay valid while both the bytes and the arena passed to
 * hl7_parse() do. It may be copied by value.
 */
typedef struct hl7_msg {
    const char *buf; /* the message bytes (borrowed, never copied) */
    size_t len;
    hl7_delims delims; /* as declared by the first MSH */
    size_t nsegs;      /* number of segments */
    size_t wrapped;    /* line breaks kept inside a segment, see hl7_parse() */
    const strv *segs;  /* nsegs segment texts, in the arena; use hl7_segment() */
} hl7_msg;

/* One segment, as returned by hl7_segment(). Self-contained: it may outlive
 * the hl7_msg it came from (not the bytes). */
typedef struct hl7_seg {
    char id[4];        /* "OBX", NUL-terminated; "" when the index was out of range */
    strv text;         /* from the id up to (not including) the segment terminator */
    hl7_delims delims; /* the message's delimiters */
    size_t index;      /* 0-based position in the message */
} hl7_seg;

/*
 * Parse bytes[0..len) as one HL7 v2 message and index its segments.
 *
 * The message must begin with "MSH", then the field separator (MSH-1), then 4
 * or 5 encoding characters (MSH-2: component, repetition, escape,
 * sub-component and, from v2.7, truncation) followed by the field separator or
 * the end of the segment. The five or six delimiters must be distinct
 * printable ASCII punctuation (not letters, digits or space).
 *
 * Segments end with CR, LF or CR LF; blank lines are skipped. A segment begins
 * with a segment id of three characters (an upper-case letter, then upper-case
 * letters or digits) followed by the field separator, a line break or the end.
 * A line break followed by anything else does not end the segment: it is kept
 * in the segment's text (so the value of the field it falls in holds it) and
 * counted in out->wrapped. Files edited by people wrap long lines that way;
 * callers that want only clean messages refuse wrapped > 0.
 *
 * Several concatenated messages (later MSH segments) are accepted as one
 * sequence of segments when they declare the same delimiters.
 *
 * a:   arena for the segment index (16 bytes a segment, in arrays that
 *      double); required (ERR_USAGE without one).
 * out: filled on success; on failure it is left as an empty message.
 * Returns ERR_OK; ERR_INVALID with ei->message "segment N (ID) at byte B: what",
 *   ei->line = N (1-based segment number), ei->column = B + 1, ei->field the
 *   field at fault ("MSH-1", "MSH-2") when there is one; ERR_NOMEM.
 * Nothing of bytes is copied: keep them alive and unchanged while out is used.
 */
err_t hl7_parse(const char *bytes, size_t len, arena *a, hl7_msg *out, errinfo *ei);

/* Number of segments in m. */
size_t hl7_segment_count(const hl7_msg *m);

/* Segment i (0-based) of m; an empty segment (id "", empty text) when i is out
 * of range. */
hl7_seg hl7_segment(const hl7_msg *m, size_t i);

/*
 * Index of the first segment at index >= from whose id is id (three
 * characters, "OBX"), or hl7_segment_count(m) when there is none:
 *     for (size_t i = hl7_find(m, "OBX", 0); i < hl7_segment_count(m);
 *          i = hl7_find(m, "OBX", i + 1))
 */
size_t hl7_find(const hl7_msg *m, const char *id, size_t from);

/*
 * Field n of a segment, raw. n = 0 gives the segment id. In MSH (and the batch
 * headers FHS, BHS) field 1 is the field separator itself and field 2 the
 * encoding characters, as HL7 numbers them; in other segments field 1 is the
 * first one after the id. Empty view when the segment has no field n (a
 * segment whose id is not followed by the field separator has no fields).
 */
strv hl7_field(const hl7_seg *s, size_t n);

/* Number of the last field present in s (0 when only the id is there). */
size_t hl7_field_count(const hl7_seg *s);

/* Repetition r (1-based) of a raw field; empty when absent. */
strv hl7_repetition(strv field, const hl7_delims *d, size_t r);

/* Component c (1-based) of a raw value. A value that still holds repetitions
 * is read in its first repetition. Empty when absent. */
strv hl7_component(strv v, const hl7_delims *d, size_t c);

/* Sub-component sc (1-based) of a raw value, read in its first repetition and
 * first component when it still holds those. Empty when absent. */
strv hl7_subcomponent(strv v, const hl7_delims *d, size_t sc);

/*
 * One value of a segment by its HL7 path, raw: PID-5.1 is
 * hl7_get(&pid, 5, 0, 1, 0), PID-3(2).4.2 is hl7_get(&pid, 3, 2, 4, 2). A 0
 * for rep, comp or sub means "the whole value at that level", except that rep
 * 0 with comp or sub given reads the first repetition (and comp 0 with sub
 * given the first component). MSH-1 and MSH-2 are never split. Empty when
 * absent.
 */
strv hl7_get(const hl7_seg *s, size_t field, size_t rep, size_t comp, size_t sub);

/* Number of parts v splits into at sep: 0 for an empty v, else one more than
 * the separators in it. */
size_t hl7_count(strv v, char sep);

/*
 * Walk the parts of a value in one pass: set rest to the value, then call
 * until it returns false; each call stores the next part in *part. "a||b"
 * gives "a", "", "b"; the empty value gives one empty part. (For MSH, the
 * parts of the segment text at the field separator are the id, MSH-2, MSH-3...)
 */
bool hl7_next(strv *rest, char sep, strv *part);

/*
 * A cursor walks every sub-component of a segment in one pass, in order,
 * telling where each lies: the fastest way to read a whole segment. Fields
 * start at 1 (at 3 in MSH, FHS and BHS: read MSH-1 and MSH-2 with
 * hl7_field()). An empty field, repetition or component still gives one
 * (empty) sub-component, so every position that hl7_get() can name with
 * non-zero numbers is visited.
 */
typedef struct hl7_cursor {
    size_t field, rep, comp, sub; /* path of the value last returned (1-based) */
    /* private */
    const char *text; /* the segment */
    size_t len, p;    /* its length; where the next value begins */
    size_t blk;       /* start of the 16-byte block being scanned */
    unsigned mask;    /* delimiters in that block not yet taken, one bit each */
    bool tail, done;  /* fewer than 16 bytes left: scan byte by byte; no more values */
    hl7_delims delims;
    size_t next_field, next_rep, next_comp, next_sub;
} hl7_cursor;

/* Start a walk over s; s's bytes must stay valid while it is used. */
void hl7_cursor_init(hl7_cursor *c, const hl7_seg *s);

/*
 * Store the next sub-component of the segment, raw, in *value and its path in
 * c->field, c->rep, c->comp and c->sub; return false after the last one.
 * hl7_get(s, c->field, c->rep, c->comp, c->sub) gives the same view.
 */
bool hl7_cursor_next(hl7_cursor *c, strv *value);

/*
 * Append the plain text of a raw value to out. Decoded: \F\ \S\ \T\ \R\ \E\
 * (the delimiters and the escape character), \P\ (truncation character, when
 * the message declares one), \Xhh...\ (an even number of hex digits, to those
 * bytes) and \.br\ (to a line feed). Every other sequence (\H\ \N\ \.sp\
 * \Cxxyy\ \Mxxyyzz\ \Zxx\ ...), a malformed one, and an escape character
 * without a closing one are copied unchanged. The output is never longer than
 * the input. Returns ERR_OK or ERR_NOMEM (out unchanged).
 */
err_t hl7_unescape(strv in, const hl7_delims *d, buf *out);

/*
 * Plain text of a raw value into *out: the view itself when it holds no escape
 * character (no copy), else a NUL-terminated unescaped copy in arena a.
 * Returns ERR_OK or ERR_NOMEM.
 */
err_t hl7_decode(strv in, const hl7_delims *d, arena *a, strv *out);

/*
 * Append text escaped for a field to out: the field, component, repetition
 * and sub-component separators, the escape character and the truncation
 * character (when d has one) become \F\ \S\ \R\ \T\ \E\ \P\; control bytes
 * other than TAB (CR and LF, which would end a segment; 0x0B and 0x1C, which
 * would break MLLP framing; the rest of C0) become \Xhh..\, a run of them in
 * one sequence. Other bytes (UTF-8 included) are copied. hl7_unescape() gives
 * the text back exactly. Returns ERR_OK or ERR_NOMEM (out unchanged).
 */
err_t hl7_escape(strv in, const hl7_delims *d, buf *out);

/* Levels a writer can add a value at. */
typedef enum {
    HL7_FIELD,        /* a new field */
    HL7_REPETITION,   /* a new repetition of the current field */
    HL7_COMPONENT,    /* a new component of the current repetition */
    HL7_SUBCOMPONENT, /* a new sub-component of the current component */
} hl7_level;

/*
 * A writer appends one or more messages to a buf, with delimiters |^~\& and
 * CR after each segment, escaping the text it is given as hl7_escape() does
 * (so no text can add a field, a segment or an MLLP block). The first error is
 * kept: later calls do nothing and return it, so callers may check only
 * hl7_writer_end(). On an error the buf holds a partial message: discard it.
 */
typedef struct hl7_writer {
    buf *out; /* borrowed; the caller owns and frees it */
    hl7_delims delims;
    size_t field;     /* number of the field being written, 0 before the first */
    size_t min_field; /* first field that may hold components (3 in MSH, else 1) */
    bool in_segment;
    err_t err; /* first error, ERR_OK while none */
} hl7_writer;

/* Start writing at the end of out (which is not cleared). */
void hl7_writer_init(hl7_writer *w, buf *out);

/*
 * End the current segment, if any, and begin segment id (three characters: an
 * upper-case letter, then upper-case letters or digits). For "MSH" the field
 * separator and encoding characters (MSH-1, MSH-2) are written too, and the
 * next field written is MSH-3. Returns ERR_OK, ERR_USAGE for a bad id, or
 * ERR_NOMEM.
 */
err_t hl7_writer_segment(hl7_writer *w, const char *id);

/*
 * Add p[0..n) (plain text, escaped here) at level: a new field, or a new
 * repetition, component or sub-component of the current field. Returns ERR_OK,
 * ERR_USAGE (no segment begun; a repetition/component/sub-component before
 * the first field, or into MSH-1/MSH-2), or ERR_NOMEM.
 */
err_t hl7_writer_put(hl7_writer *w, hl7_level level, const char *p, size_t n);

/* hl7_writer_put() of a NUL-terminated text; NULL writes an empty value. */
err_t hl7_writer_field(hl7_writer *w, const char *text);
err_t hl7_writer_repetition(hl7_writer *w, const char *text);
err_t hl7_writer_component(hl7_writer *w, const char *text);
err_t hl7_writer_subcomponent(hl7_writer *w, const char *text);

/* Write field n of the current segment (HL7 numbering), leaving the fields
 * between the last one written and n empty. ERR_USAGE when n is not past the
 * current field. */
err_t hl7_writer_field_at(hl7_writer *w, size_t n, const char *text);

/* End the current segment (CR). Returns the first error of the writer, or
 * ERR_OK: then out holds complete messages. */
err_t hl7_writer_end(hl7_writer *w);

/* Length of a TS written by hl7_ts_format(), with its NUL. */
#define HL7_TS_LEN 20

/*
 * Format utc_us (UTC microseconds) as an HL7 TS/DTM to the second with an explicit
 * UTC offset, "YYYYMMDDHHMMSS+0000" (19 characters and a NUL). Sub-second
 * digits are dropped (rounded down). Instants before 0001-01-01 or after
 * 9999-12-31T23:59:59Z are written as those limits.
 */
void hl7_ts_format(int64_t utc_us, char out[HL7_TS_LEN]);

/*
 * Parse an HL7 TS/DTM value (the first component of a TS field):
 * YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. Missing parts take their
 * first value (month and day 1, time 00:00:00); the fraction may have 1 to 6
 * digits (HL7 allows 4); a leap second 60 reads as 59. With a +/-HHMM offset
 * the local time is converted to UTC. Without one the time is taken as UTC:
 * HL7 means the sender's local time then, which this codec cannot know, so
 * callers that need it must apply the site's offset themselves.
 * Returns ERR_OK with *utc_us set, or ERR_INVALID (message in ei; *utc_us
 * untouched).
 */
err_t hl7_ts_parse(strv s, int64_t *utc_us, errinfo *ei);

#endif
