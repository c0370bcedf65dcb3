/*
 * sim.h - a virtual analyzer: `benchside sim`, for demos, training and load.
 *
 * The simulator plays an instrument on one link to a host (benchside's link
 * listeners, or any LIS): ASTM E1381/E1394 or HL7 v2.5.1 over MLLP, on a TCP
 * connection or on a pseudo-terminal that the host opens as a serial port. For
 * each specimen it asks the host for the pending tests (unless told which to
 * send), then sends results for them, at a chosen rate, and waits for each
 * acknowledgment. On request it injects faults a laboratory meets: critical
 * values, frames with a wrong checksum, connections dropped in the middle of a
 * message. Values are plausible for the demo catalog (src/lab/demo_catalog.json):
 * its codes, its unit strings exactly, drawn around the middle of its
 * reference ranges and rounded to its decimals.
 *
 * The framing and records are those of src/proto (mllp, hl7, e1381, astm);
 * this file only moves bytes, keeps time and decides what to say. One call of
 * sim_run() is one run; it blocks, so `benchside demo` may give it a thread.
 *
 * Wire contract with the host (what the server side reads and answers)
 * ------------------------------------------------------------------------
 * Times: <ts> is HL7 TS "YYYYMMDDHHMMSS+0000" (UTC) in HL7 and
 * "YYYYMMDDHHMMSS" (UTC) in ASTM. <sender> is --sender (SIM-HL7, SIM-ASTM).
 *
 * HL7 v2.5.1, MLLP framing 0x0B message 0x1C 0x0D, segments end with CR.
 *  Host query (unless --tests/--no-query), one per specimen:
 *    MSH|^~\&|<sender>|LAB|benchside|LAB|<ts>||QBP^Q11^QBP_Q11|<ctrl>|P|2.5.1
 *    QPD|WOS^Work Order Step^IHE_LABTF|<querytag>|<accession>
 *    RCP|I||R
 *  The host answers RSP^K11^RSP_K11: MSA|AA|<ctrl>, QAK|<querytag>|OK (NF
 *  when nothing is pending), the QPD echoed, then when OK:
 *    PID|1||<mrn>^^^^MR||<family>^<given>||<YYYYMMDD>|<F/M/U>
 *    SPM|1|<accession>||<specimen type text>
 *    per pending test: ORC|NW|<accession> and OBR|<n>|<accession>||<code>^<name>^L
 *  The simulator takes the test codes from OBR-4.1, the MRN from PID-3.1, the
 *  sex from PID-8 (for the reference range) and the type from SPM-4.1 (SPM-4.2
 *  when .1 is empty).
 *  Results, OUL^R22^OUL_R22 (default) or ORU^R01^ORU_R01 (--hl7-message oru):
 *    MSH|^~\&|<sender>|LAB|benchside|LAB|<ts>||OUL^R22^OUL_R22|<ctrl>|P|2.5.1
 *    PID|1||<mrn>^^^^MR            (PID|1 alone when no MRN is known)
 *    SPM|1|<accession>||<type>     (OUL only)
 *    OBR|1|<accession>             (ORU: OBR|1|<accession>|<accession>)
 *    OBX|<n>|NM|<code>^<name>^L||<value>|<unit>|<range>|<flag>|||F|||<ts>
 *  OBX-2 is ST for coded and text results, which have no unit; <range> is
 *  "<low>-<high>", "<<high>" or "><low>" for numbers and the normal text
 *  ("negative") for coded and text results; <flag> is N, H, L, HH or LL (HH
 *  and LL beyond the catalog's critical limits), A for an abnormal coded or
 *  text value. <ctrl> (MSH-10) is unique per message and kept when the
 *  message is sent again after a lost connection.
 *  The host answers each message with ACK: MSA|AA|<ctrl>, or MSA|AE or AR
 *  with an ERR segment. The next message waits for that answer (30 s,
 *  --reply-timeout).
 *
 * ASTM: E1381 frames over TCP or the pseudo-terminal, E1394 records; the
 * simulator is the instrument (it keeps priority when both sides bid).
 *  Host query, one per specimen: after the simulator's EOT the host bids (ENQ)
 *  and sends its answer as one message.
 *    H|\^&|||<sender>^1.0|||||||P|LIS2-A2|<ts>
 *    Q|1|^<accession>||ALL||||||||O
 *    L|1|N
 *  Answer: H, P|1||<mrn>||<family>^<given>||<YYYYMMDD>|<M/F/U>,
 *    O|1|<accession>||^^^CODE1\^^^CODE2|R||||||N||||<type>, L|1|F; or H and
 *    L|1|I when nothing is pending. Codes are O.5 component 4 of each repeat,
 *    the MRN P.4, the sex P.9, the type O.16.
 *  Results:
 *    H|\^&|||<sender>^1.0|||||||P|LIS2-A2|<ts>
 *    P|1||<mrn>                    (P|1 alone when no MRN is known)
 *    O|1|<accession>||^^^CODE1\^^^CODE2...
 *    R|<n>|^^^CODE|<value>|<unit>|<range>|<flag>||F||||<ts>
 *    C|1|I|simulated critical value|G   (after an injected critical result)
 *    L|1|N
 *  <range> is "<low> to <high>", "<<high>" or "><low>", or the normal text;
 *  flags as for HL7. The host ACKs each frame; it ACKs the last frame only
 *  after it stored the message durably (E1381 gives it 15 s). A message is
 *  acknowledged when every frame was ACKed; refused when a frame (or the bid)
 *  was refused seven times.
 *
 * Faults on request: --critical-every N makes every Nth result a value
 * beyond the catalog's critical limit for its test (deferred to the next
 * result whose test has one); --bad-checksum-every N (ASTM) writes every Nth
 * new frame first with a checksum one off, which the host must NAK, then the
 * state machine sends it again correctly; --drop-every N closes the TCP
 * connection in the middle of every Nth message (HL7: after half its bytes;
 * ASTM: before its middle frame), reconnects and sends the message again.
 */
#ifndef BENCHSIDE_LINK_SIM_H
#define BENCHSIDE_LINK_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

typedef enum sim_protocol {
    SIM_ASTM = 0, /* E1381 frames, E1394 records */
    SIM_HL7,      /* HL7 v2.5.1 over MLLP */
} sim_protocol;

typedef enum sim_hl7_kind {
    SIM_OUL_R22 = 0, /* OUL^R22: specimen-oriented observations (IHE LAW) */
    SIM_ORU_R01,     /* ORU^R01: the older unsolicited result */
} sim_hl7_kind;

/* Most accessions, and most tests in one results message. */
#define SIM_SPECIMENS_MAX 100000
#define SIM_TESTS_MAX     64
/* Longest accession and sender name, in bytes. */
#define SIM_NAME_MAX 64

/*
 * What to run. A zeroed struct means the defaults; strings and arrays are
 * borrowed for the duration of sim_run().
 */
typedef struct sim_opts {
    sim_protocol protocol;
    const char *host; /* TCP host (name or address); NULL: 127.0.0.1 */
    unsigned port;    /* 0: 5000 for ASTM, 2575 for HL7 */
    bool pty;         /* a new pseudo-terminal instead of TCP (host must be NULL) */
    /* Called once the pseudo-terminal exists, with the path the host must
     * open (/dev/pts/N), before the simulator waits for it. May be NULL. */
    void (*on_pty)(void *cls, const char *path);
    void *cls;
    const char *sender;           /* NULL: "SIM-ASTM" or "SIM-HL7" */
    const char *const *specimens; /* accessions, in order */
    size_t nspecimens;            /* ... and their number */
    const char *specimens_file;   /* one accession a line, after specimens; NULL: none */
    const char *const *tests;     /* catalog codes to send without asking; */
    size_t ntests;                /* with ntests > 0 no query is sent */
    bool no_query;                /* send tests without asking (needs tests) */
    double rate;                  /* results messages per second; 0: 1 */
    uint64_t count;               /* results messages; 0: one round over the specimens */
    bool until_stopped;           /* ignore count: run until *stop */
    unsigned critical_every;      /* 0: never */
    unsigned bad_checksum_every;  /* ASTM only; 0: never */
    unsigned drop_every;          /* TCP only; 0: never */
    sim_hl7_kind hl7_message;     /* HL7 results message */
    bool seeded;                  /* use seed, else one from the clock */
    uint64_t seed;                /* of the values drawn */
    int64_t connect_timeout_ms;   /* to (re)connect, or for the host to open the
                                     terminal; 0: 10 s (TCP), 60 s (pty) */
    int64_t reply_timeout_ms;     /* HL7 answer, ASTM query answer; 0: 30 s */
} sim_opts;

/*
 * What a run did. Every message the simulator sends (queries and results)
 * ends as exactly one of acknowledged, refused or unanswered, so
 * messages_sent = acknowledged + refused + unanswered. A query counts as
 * acknowledged when its answer came (RSP^K11 with AA; the ASTM answer
 * message).
 */
typedef struct sim_stats {
    sim_protocol protocol;
    uint64_t seed;
    uint64_t messages_sent;     /* queries and results messages */
    uint64_t acknowledged;      /* HL7 AA (or CA); ASTM every frame ACKed */
    uint64_t refused;           /* HL7 AE/AR/CE/CR; ASTM a frame or bid refused 7 times */
    uint64_t unanswered;        /* no answer in time, or the link lost on every attempt */
    uint64_t queries;           /* queries sent */
    uint64_t queries_not_found; /* answered: nothing pending (QAK NF, L|1|I) */
    uint64_t orders_received;   /* tests the host returned as pending */
    uint64_t result_messages;   /* results messages sent */
    uint64_t results_sent;      /* results (OBX, R records) in them */
    uint64_t critical_injected;
    uint64_t checksum_faults_injected;
    uint64_t naks;          /* NAKs (or other refusals) the host gave to frames */
    uint64_t drops;         /* connections closed on purpose mid-message */
    uint64_t reconnects;    /* connections (re)made after the first */
    uint64_t unknown_tests; /* pending tests the simulator has no values for: skipped */
    size_t latency_samples; /* acknowledged results messages measured */
    double latency_p50_ms;  /* results message written -> its acknowledgment */
    double latency_p99_ms;  /* (ASTM: last frame written -> its ACK) */
    double elapsed_s;
} sim_stats;

/*
 * Check o as sim_run() does, without doing anything. Returns ERR_OK or
 * ERR_USAGE with ei->field the command-line option at fault ("--tests") and
 * ei->message saying why.
 */
err_t sim_check(const sim_opts *o, errinfo *ei);

/*
 * Run the simulator until it has sent what o asks, or until *stop becomes
 * non-zero (a signal handler or another thread sets it; an exchange under
 * way gets two more seconds to finish). st is filled in every case,
 * partially when the run fails. stop may be NULL.
 *
 * Returns ERR_OK when the run went to its end (messages refused or
 * unanswered are counted in st, not errors: see sim_stats_ok()); ERR_USAGE
 * as sim_check(); ERR_IO when the host cannot be reached within the connect
 * timeout, the terminal cannot be made or a specimens file read
 * (ei->message says which); ERR_INVALID for a bad line in the specimens
 * file; ERR_NOMEM.
 */
err_t sim_run(const sim_opts *o, sim_stats *st, volatile int *stop, errinfo *ei);

/* True when everything sent was acknowledged (the exit status 0 of `benchside sim`). */
bool sim_stats_ok(const sim_stats *st);

/*
 * Append st as one JSON object (no line break) to out: messages_sent,
 * acknowledged, refused, unanswered, queries, queries_not_found,
 * orders_received, result_messages, results_sent, critical_injected,
 * checksum_faults_injected, naks, drops, reconnects, unknown_tests,
 * ack_latency_ms {p50, p99, samples} (null values without samples),
 * elapsed_s, protocol and seed. Returns ERR_OK or ERR_NOMEM.
 */
err_t sim_stats_json(const sim_stats *st, buf *out);

/* ---- the values: exposed for tests and tools ---- */

typedef enum sim_kind {
    SIM_NUMERIC = 0, /* a number with a unit */
    SIM_CODED,       /* one of a list ("negative", "trace", "1+"...) */
    SIM_TEXT,        /* free text ("yellow") */
} sim_kind;

/* A range or limits; NAN where the catalog gives no bound. */
typedef struct sim_range {
    double low, high;
} sim_range;

/* What values are drawn from: a normal distribution. */
typedef struct sim_dist {
    double mean, sd;
} sim_dist;

/* One test of the demo catalog, as the simulator sends it. */
typedef struct sim_test {
    const char *code; /* the catalog code */
    const char *name; /* the catalog name */
    sim_kind kind;
    const char *specimen_type; /* the catalog's ("serum") */
    const char *unit;          /* numeric: the catalog's unit string exactly; else NULL */
    int decimals;              /* numeric: digits after the point */
    sim_range female, male;    /* reference ranges (equal for "any") */
    sim_range critical;        /* critical limits; NAN when none */
    sim_dist dist_female, dist_male;
    const char *const *values; /* coded and text: the normal value first, NULL-terminated */
} sim_test;

/* The built-in table: sim_test_count() tests, sim_test_at(0..count-1). */
size_t sim_test_count(void);
const sim_test *sim_test_at(size_t i);
/* The test with catalog code code (exact case), or NULL. */
const sim_test *sim_test_find(const char *code);

/* A small fast generator (xoshiro256**): the same seed gives the same values. */
typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);

/* One result as sent. */
typedef struct sim_value {
    char text[32]; /* the value: a number with the test's decimals, or the text */
    char flag[3];  /* N, H, L, HH, LL; A for an abnormal coded or text value */
    bool critical; /* beyond a critical limit (then the flag is HH or LL) */
} sim_value;

/*
 * Draw a value of t for a patient of sex 'F', 'M' or anything else
 * (unknown: the union of both ranges). A normal draw is positive and never
 * at or beyond a critical limit; with critical and a test that has critical
 * limits the value is beyond one of them (out->critical). Coded and text
 * tests give their normal value most of the time.
 */
void sim_value_make(const sim_test *t, char sex, bool critical, sim_rng *r, sim_value *out);

/* The reference range for sex as sent: "4-11" (HL7) or "4 to 11" (ASTM),
 * "<199", ">40", or the normal text. Truncated to fit n bytes. */
void sim_range_text(const sim_test *t, char sex, bool astm, char *out, size_t n);

#endif
