/*
 * astm.h - ASTM E1394 (CLSI LIS02-A2) records: a zero-copy parser, escaping,
 * and a writer for the records the LIS sends (H, P, O, Q, L).
 *
 * A message is a sequence of records, each ended by CR: H (header), P
 * (patient), O (order), R (result), C (comment), Q (request information), M
 * (manufacturer information), S (scientific) and L (terminator); instruments
 * add their own record types, which are kept like the others. The H record
 * declares the delimiters in force: the byte after "H" is the field
 * delimiter, and the next three are the repeat, component and escape
 * delimiters ("H|\^&" is the standard set; a GeneXpert sends "H|@^\").
 *
 * Numbering follows the standard (the LIS02-A2 / E1394 field tables, which
 * vendors' interface manuals quote): fields, repeats and components are
 * 1-based and field 1 is the record type, so H.2 is the delimiter
 * definition, O.3 the specimen id, R.3 the universal test id and R.4 the
 * value. (Not the HL7 habit, where the segment id is field 0.) A value that
 * is absent reads as the empty view (never a NULL pointer).
 *
 * astm_parse_message() splits a message into records and each record into
 * fields, keeping only slices of the caller's text (the index lives in an
 * arena). Values are raw: astm_unescape() / astm_get() decode &F& &S& &R& &E&
 * and &Xhh..&. The writer escapes what it is given.
 *
 * This is a pure codec (src/proto): no I/O, no database, no domain types.
 */
#ifndef BENCHSIDE_PROTO_ASTM_H
#define BENCHSIDE_PROTO_ASTM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/str.h"

/* Longest message text astm_parse_message() accepts (ERR_TOO_LARGE above). */
#define ASTM_MESSAGE_MAX ((size_t)16 << 20)
/* Most records in one message (ERR_TOO_LARGE above). */
#define ASTM_RECORDS_MAX 200000

/* The four delimiters of an H record. */
typedef struct astm_delims {
    char field;     /* usually '|' */
    char repeat;    /* usually '\\' */
    char component; /* usually '^' */
    char escape;    /* usually '&' */
} astm_delims;

/* | \ ^ &: what a message without an H record is read with, and what the
 * writer uses by default. */
extern const astm_delims astm_standard_delims;

/* One record: slices of the caller's text plus its field index. */
typedef struct astm_record {
    char type;          /* first byte of field 1: 'H', 'P', 'O', 'R', 'C', 'Q', 'M', 'S', 'L'... */
    strv text;          /* the record, without its CR */
    astm_delims delims; /* delimiters in force (those of the last H record before it) */
    size_t nfields;     /* number of fields, field 1 (the type) included; at least 1 */
    const strv *fields; /* fields[i] is field i + 1, raw; in the arena */
    size_t index;       /* 0-based position in the message */
} astm_record;

/* A parsed message. Views stay valid while the text and the arena do. */
typedef struct astm_message {
    size_t nrecords;
    const astm_record *records; /* in the arena */
    astm_delims delims;         /* of the first H record; standard when there is none */
    bool has_header;            /* the first record is an H record */
    bool delims_repaired;       /* an H record's delimiter definition was read by the
                                   repair rule of astm_parse_delims() */
} astm_message;

/*
 * Read the delimiters an H record declares. rec is the record text, beginning
 * with 'H'. The field delimiter is rec[1]; the delimiter definition is the
 * text from rec[2] up to the next field delimiter (or the end of the record):
 * normally three characters, the repeat, component and escape delimiters.
 *
 * All four must be distinct printable ASCII that is neither a letter, a digit
 * nor a space. "H" or "H|" alone (nothing declared) gives the standard set
 * with rec[1] as field delimiter.
 *
 * Repair rule: a definition longer than three characters whose adjacent
 * duplicates collapse to three valid ones is accepted with *repaired = true.
 * Captures written from escaped strings double the backslash ("H|\\^&", seen
 * in the senaite.astm mock files); reading it as "\^&" is what the sender
 * meant, and refusing it would lose the message.
 *
 * repaired may be NULL. Returns ERR_OK, or ERR_INVALID (ei->field "H.2", the
 * message says why) and *out unchanged.
 */
err_t astm_parse_delims(strv rec, astm_delims *out, bool *repaired, errinfo *ei);

/*
 * Parse text[0..len) as an E1394 message. Records end with CR (the wire
 * form); LF and CR LF are accepted as well, for captures and files, and empty
 * lines are skipped. Each H record sets the delimiters of the records that
 * follow it; records before any H (a message that lacks one) use
 * astm_standard_delims. Field splitting is by the field delimiter only, so
 * the escape sequence &F& is how a field delimiter travels inside a value.
 *
 * a:   arena for the index (one astm_record per record and one strv per
 *      field); required.
 * out: filled on success; on failure an empty message.
 * Returns ERR_OK; ERR_INVALID when there is no record at all (ei->message
 * "empty message") or an H record declares unusable delimiters (ei->line is
 * the 1-based record number, ei->field "H.2"); ERR_TOO_LARGE beyond
 * ASTM_MESSAGE_MAX bytes or ASTM_RECORDS_MAX records; ERR_NOMEM.
 * Nothing of text is copied: keep it alive and unchanged while out is used.
 */
err_t astm_parse_message(const char *text, size_t len, arena *a, astm_message *out, errinfo *ei);

/* Record i (0-based) of m, or NULL when i is out of range. */
const astm_record *astm_record_at(const astm_message *m, size_t i);

/* Index of the first record at index >= from whose type is t, or m->nrecords:
 *     for (size_t i = astm_find(m, 'R', 0); i < m->nrecords; i = astm_find(m, 'R', i + 1)) */
size_t astm_find(const astm_message *m, char type, size_t from);

/* What a record type is called ("header", "patient", "order", "result",
 * "comment", "query", "manufacturer", "scientific", "terminator"), or
 * "unknown" for the types instruments make up. Never NULL. */
const char *astm_type_name(char type);

/* Field n (1-based, n = 1 is the type) of r, raw; empty when absent. */
strv astm_field(const astm_record *r, size_t n);

/* Number of repeats in field n: 0 when the field is absent or empty. The
 * delimiter definition (H.2) is one value, never split. */
size_t astm_repeat_count(const astm_record *r, size_t n);

/* Repeat rep (1-based) of field n, raw; empty when absent. */
strv astm_repeat(const astm_record *r, size_t n, size_t rep);

/*
 * Component comp (1-based) of repeat rep (1-based) of field n, raw; empty when
 * absent. rep = 0 reads the first repeat. The Sysmex XN test code in R.3
 * "^^^^WBC^1" is astm_component(r, 3, 1, 5). H.2 is never split.
 */
strv astm_component(const astm_record *r, size_t n, size_t rep, size_t comp);

/*
 * The plain text of a value, by path: comp = 0 means the whole repeat, and
 * rep = 0 with comp = 0 the whole field. The result is the slice itself when
 * it holds no escape delimiter (no copy), else a NUL-terminated unescaped
 * copy in arena a. Returns ERR_OK or ERR_NOMEM (*out empty).
 */
err_t astm_get(const astm_record *r, size_t n, size_t rep, size_t comp, arena *a, strv *out);

/* s without leading and trailing spaces (instruments pad ids and values:
 * "^^                    27^M", "|  5.5|"). */
strv astm_trim(strv s);

/* Number of parts s splits into at sep: 0 for an empty s, else one more than
 * the separators in it. */
size_t astm_count(strv s, char sep);

/* Part i (1-based) of s split at sep; empty when absent. */
strv astm_part(strv s, char sep, size_t i);

/*
 * Append the plain text of a raw value to out. Decoded: &F& &S& &R& &E& (the
 * field, component, repeat and escape delimiters of d) and &Xhh..& (an even,
 * non-zero number of hex digits, to those bytes). Every other sequence
 * (&Z..& local ones included), a malformed one and an escape delimiter
 * without a closing one are copied unchanged. The output is never longer than
 * the input. Returns ERR_OK or ERR_NOMEM (out unchanged).
 */
err_t astm_unescape(strv in, const astm_delims *d, buf *out);

/*
 * Append text escaped for a value to out: the four delimiters become &F& &S&
 * &R& &E&, control bytes (0x00-0x1F and 0x7F: CR would end the record, the
 * others are E1381 link controls) become &Xhh&. Other bytes (UTF-8 included)
 * are copied. astm_unescape() gives the text back exactly. Returns ERR_OK or
 * ERR_NOMEM (out unchanged).
 */
err_t astm_escape(strv in, const astm_delims *d, buf *out);

/*
 * A writer appends records to a buf, each ended by CR, escaping the text it
 * is given. The first error is kept: later calls do nothing, so a caller may
 * check only astm_writer_error() at the end. On an error the buf holds a
 * partial record: discard it. Fields are written in increasing order; a
 * field or component number lower than the current one, the same component
 * twice, field 1 (the type) or H.2 (the definition), a repeat before any
 * value, or a value outside a record is ERR_USAGE.
 *
 *     buf b = BUF_INIT; astm_writer w;
 *     astm_writer_init(&w, &b, NULL);
 *     astm_write_header(&w, &(astm_header_spec){.sender = STRV("benchside")});
 *     astm_write_begin(&w, 'O');
 *     astm_write_uint(&w, 2, 1);
 *     astm_write_text(&w, 3, STRV("S-0001"));
 *     astm_write_component(&w, 5, 4, STRV("GLU"));   -> O|1|S-0001||^^^GLU
 *     astm_write_end(&w);
 *     astm_write_terminator(&w, 'N');
 *     if (astm_writer_error(&w)) ...                 -> b.data, b.len
 */
typedef struct astm_writer {
    buf *out;           /* borrowed; the caller owns and frees it */
    astm_delims delims; /* checked distinct at init */
    err_t err;          /* first failure, ERR_OK so far */
    bool in_record;
    char type;      /* type of the record being written */
    size_t field;   /* number of the field being written (1 = the type) */
    size_t comp;    /* number of the component being written in its repeat */
    bool comp_used; /* something was written in that component */
    unsigned pseq;  /* last P sequence number; reset by H */
    unsigned oseq;  /* last O sequence number; reset by H and P */
    unsigned qseq;  /* last Q sequence number; reset by H */
} astm_writer;

/* Start writing to out with delimiters d (NULL: astm_standard_delims). Bad
 * delimiters (not distinct, or not printable punctuation) make every later
 * call fail with ERR_INVALID. */
void astm_writer_init(astm_writer *w, buf *out, const astm_delims *d);

/* First error, or ERR_OK. */
err_t astm_writer_error(const astm_writer *w);

/* Begin a record of type t (a printable character that is not a delimiter);
 * an H record gets its delimiter definition as field 2. A record still open
 * is ended first. */
void astm_write_begin(astm_writer *w, char type);

/* Component comp (1-based) of field n, in the current repeat when n is the
 * current field, escaped. Fields and components skipped stay empty. */
void astm_write_component(astm_writer *w, size_t n, size_t comp, strv text);

/* Field n as one escaped value (component 1). */
void astm_write_text(astm_writer *w, size_t n, strv text);

/* Field n as a decimal number. */
void astm_write_uint(astm_writer *w, size_t n, unsigned v);

/* Start the next repeat of the current field (after at least one value). */
void astm_write_repeat(astm_writer *w);

/* End the current record with CR. */
void astm_write_end(astm_writer *w);

/*
 * The typed writers below each write one whole record (begin to end), every
 * value escaped, and skip empty values so that records carry no trailing
 * empty fields. Sequence numbers (field 2) are counted by the writer as
 * E1394 wants them: P from 1 after each H, O from 1 after each H or P, Q from
 * 1 after each H; L is always 1.
 *
 * H record: H|\^&|message_id|password|sender|...|receiver|...|processing_id|
 * version|timestamp (fields 3, 4, 5, 10, 12, 13 and 14); processing_id
 * defaults to "P", version to "LIS2-A2".
 */
typedef struct astm_header_spec {
    strv message_id, password, sender, receiver, processing_id, version, timestamp;
} astm_header_spec;
void astm_write_header(astm_writer *w, const astm_header_spec *h);

/* P record: P.2 sequence, P.3 practice patient id, P.4 laboratory patient
 * id, P.6 name as last^first, P.8 birth date, P.9 sex. */
typedef struct astm_patient_spec {
    strv practice_id, lab_id, last_name, first_name, birth_date, sex;
} astm_patient_spec;
void astm_write_patient(astm_writer *w, const astm_patient_spec *p);

/* O record: O.2 sequence, O.3 specimen id, O.5 one repeat ^^^code per test
 * (empty codes skipped), O.6 priority (S, R, A...), O.7 requested date-time,
 * O.8 collection date-time, O.12 action code (N new, A add, C cancel, Q
 * control...), O.16 specimen type, O.26 report type (O order, F final, Q
 * response to query, Y no order, ...). */
typedef struct astm_order_spec {
    strv specimen_id;
    const strv *tests;
    size_t ntests;
    strv priority, requested, collected, action, specimen_type, report_type;
} astm_order_spec;
void astm_write_order(astm_writer *w, const astm_order_spec *o);

/* Q record: Q|seq|patient_id^specimen_id||^^^test (ALL when no test)||||||||
 * status (Q.13: O orders, F final results... default "O"). */
typedef struct astm_query_spec {
    strv patient_id, specimen_id, test, status;
} astm_query_spec;
void astm_write_query(astm_writer *w, const astm_query_spec *q);

/* L record: L|1|code (N normal, Q error in last query, I no information,
 * F last request for information processed...). code 0 leaves L.3 empty. */
void astm_write_terminator(astm_writer *w, char code);

#endif
