/*
 * e1381.h - the ASTM E1381 (CLSI LIS01-A2) low-level protocol as a pure state
 * machine, frame checksums, and a tolerant decoder for captured sessions.
 *
 * One e1381 object serves one link (a TCP connection or a serial line) in
 * both directions, one at a time as the protocol is half duplex. It does no
 * I/O and reads no clock: the caller feeds it events (bytes received,
 * e1381_feed; the timer it asked for expired, e1381_timeout; a message to
 * send, e1381_send) and carries out the actions each call returns, in order:
 * write bytes, (re)arm or stop the one timer, hand a received message on, and
 * note a message sent, a send that failed, or a protocol fault. The same
 * events always give the same actions, so sessions replay exactly in tests.
 *
 * The link, as LIS01-A2 describes it:
 *
 *   establishment  sender: ENQ; receiver: ACK (ready) or NAK (busy).
 *   transfer       sender: STX FN text ETB|ETX C1 C2 CR LF, one frame at a
 *                  time; receiver: ACK (good, send the next), NAK (bad, send
 *                  it again) or EOT (receiver interrupt, taken as ACK here).
 *                  FN is an ASCII digit: 1 for the first frame, then +1
 *                  modulo 8. ETB ends an intermediate frame of a record
 *                  longer than 240 characters, ETX the last one. C1 C2 is the
 *                  sum of the bytes from FN through ETB/ETX modulo 256, as two
 *                  upper-case hex digits.
 *   termination    sender: EOT; the link is neutral again.
 *
 * A received transmission is delivered at EOT as one message: the texts of
 * its frames joined (ETB continuations run on into the next frame), every
 * ETX frame ending a record, split into records at CR. That is what
 * astm_parse_message() reads.
 *
 * This is a pure codec (src/proto): no I/O, no database, no domain types.
 */
#ifndef BENCHSIDE_PROTO_E1381_H
#define BENCHSIDE_PROTO_E1381_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/str.h"

/* Transmission control characters. */
#define E1381_STX 0x02
#define E1381_ETX 0x03
#define E1381_EOT 0x04
#define E1381_ENQ 0x05
#define E1381_ACK 0x06
#define E1381_LF  0x0A
#define E1381_CR  0x0D
#define E1381_NAK 0x15
#define E1381_ETB 0x17

/*
 * Numbers from the standard. The standard itself is sold by CLSI/ASTM; the
 * values were checked against the E1381-95 text quoted in SENAITE.SERIAL.CLI
 * (frame size, frame numbers, checksum, the 10 s, 15 s and 30 s timers), the
 * Roche cobas e 411 Host Interface Manual 2.3 "Establishment phase" (the
 * instrument wins contention and bids again after 1 s, the host stops
 * bidding; no reply in 15 s ends the bid; six retries), UniversaLIS
 * (roy-harmon/UniversaLIS, a LIS01-A state machine: 15 s reply, 30 s
 * receive, 10 s busy, 20 s contention, abort after six NAKs) and the OpenELIS
 * analyzer simulator's LIS1-A notes (15 s, 30 s, abort after 6 failed
 * retransmissions).
 */
/* "Messages are sent in frames, each frame contains a maximum of 247
 * characters (including frame overhead). Messages longer than 240 characters
 * are divided between two or more frames." The overhead is STX FN ETX C1 C2
 * CR LF, 7 characters, so a frame carries at most 240 of text. */
#define E1381_FRAME_TEXT 240
/* What a receiver accepts by default: 247. Several analyzers read "247
 * characters" as the text alone and send 241-247 characters of text in a
 * frame; the checksum still guards every byte, and refusing those frames
 * would only make the instrument retry six times and give up. Instruments
 * that ignore the limit altogether (the Sysmex XN, GeneXpert and Yumizen
 * captures carry 2.6 to 26 KB in one frame) need e1381_config.accept_text
 * raised. */
#define E1381_FRAME_TEXT_ACCEPT 247
/* A frame is sent at most 1 + 6 times: after the sixth retransmission is
 * NAKed too the sender aborts with EOT. A bid (ENQ) answered NAK is likewise
 * repeated at most six times. */
#define E1381_RETRIES 6
/* Sender: a reply to ENQ or to a frame must come within 15 s; without one
 * the sender ends the transmission with EOT. */
#define E1381_T_REPLY_MS 15000
/* Receiver: after ACKing the ENQ and after every reply to a frame, the next
 * frame or EOT must come within 30 s; after that the receiver discards what
 * it received of the transmission and the line is neutral again. */
#define E1381_T_RECEIVE_MS 30000
/* Sender: "Upon receiving <NAK> [to ENQ], the sender must wait at least 10 s
 * before transmitting another <ENQ>." */
#define E1381_T_BUSY_MS 10000
/* Contention (both sides sent ENQ): the instrument has priority and bids
 * again after 1 s; the computer system stops bidding, prepares to receive,
 * and bids again only if no ENQ came within 20 s. */
#define E1381_T_CONTENTION_INSTRUMENT_MS 1000
#define E1381_T_CONTENTION_COMPUTER_MS   20000
/* Receiver default cap on one transmission's text (e1381_config.max_message). */
#define E1381_MESSAGE_MAX ((size_t)8 << 20)

/* Sum modulo 256 of p[0..n): for a frame, the bytes from FN through ETB/ETX. */
unsigned e1381_checksum(const void *p, size_t n);

/*
 * Append one frame to out: STX, the digit fn % 8, text[0..n), ETB (last =
 * false) or ETX, the checksum as two upper-case hex digits, CR, LF. text must
 * not hold STX, ETX, ETB, EOT or ENQ (ERR_INVALID); its length is not
 * limited here. Returns ERR_OK, ERR_INVALID or ERR_NOMEM (out unchanged).
 */
err_t e1381_frame_build(buf *out, unsigned fn, const char *text, size_t n, bool last);

/* What e1381_frame_check() found in a frame. */
typedef struct e1381_frame_info {
    unsigned fn;    /* frame number 0-7 */
    bool last;      /* ETX (true) or ETB */
    strv text;      /* slice of the frame between FN and ETB/ETX */
    unsigned sum;   /* checksum computed */
    unsigned given; /* checksum the frame carries */
} e1381_frame_info;

/*
 * Check frame[0..len): STX, a digit 0-7, text, ETB or ETX, two hex digits
 * (either case) equal to the checksum, CR, LF (a missing LF, or LF alone, is
 * tolerated; nothing else may follow). info may be NULL.
 * Returns ERR_OK; ERR_INVALID with the reason in ei ("checksum 4B, computed
 * 4C", "no frame number", ...) and as much of info as was read.
 */
err_t e1381_frame_check(const char *frame, size_t len, e1381_frame_info *info, errinfo *ei);

/* Which side of the link this object plays; it matters only in contention. */
typedef enum e1381_role {
    E1381_COMPUTER = 0, /* the LIS (default): yields on contention */
    E1381_INSTRUMENT,   /* an analyzer (simulators, tests): keeps priority */
} e1381_role;

typedef struct e1381_config {
    e1381_role role;
    size_t accept_text; /* receiver: longest frame text accepted; 0 = 247;
                           at most max_message */
    size_t frame_text;  /* sender: longest frame text written, 1..240; 0 = 240 */
    size_t max_message; /* receiver: longest text of one transmission, and
                           longest message e1381_send takes; 0 = 8 MiB */
    bool hold_last;     /* receiver: deliver each message at its terminator
                           (L) frame and hold that frame's ACK until the caller
                           says it was stored: see e1381_release() */
} e1381_config;

typedef enum e1381_state {
    E1381_IDLE = 0,   /* neutral: nothing under way */
    E1381_RECEIVING,  /* we ACKed an ENQ; frames or EOT are due */
    E1381_ENQ_SENT,   /* we bid; ACK, NAK or ENQ is due */
    E1381_FRAME_SENT, /* a frame is out; ACK, NAK or EOT is due */
    E1381_WAITING,    /* a message is pending; we bid again when the timer fires */
} e1381_state;

/* What the caller must do; see e1381_action. */
typedef enum e1381_action_kind {
    E1381_WRITE = 1,   /* write data to the link */
    E1381_TIMER_START, /* (re)arm the one timer for ms milliseconds, replacing any
                          running one; call e1381_timeout() when it fires */
    E1381_TIMER_STOP,  /* stop the timer */
    E1381_MESSAGE,     /* a transmission arrived: data, records */
    E1381_SENT,        /* the message given to e1381_send() was accepted frame by
                          frame and EOT was written */
    E1381_SEND_FAILED, /* that message was abandoned (err, detail); it is dropped
                          and the caller decides whether to send it again */
    E1381_FAULT,       /* a protocol fault (err, detail): a frame NAKed, data
                          discarded, a timeout; the link carries on. For logs. */
    E1381_HOLD,        /* hold_last: the MESSAGE before it ended with an L frame
                          whose reply waits for e1381_release() */
} e1381_action_kind;

typedef struct e1381_action {
    e1381_action_kind kind;
    strv data;           /* WRITE: the bytes; MESSAGE: the text, each record ended by CR */
    const strv *records; /* MESSAGE: the records, without their CR */
    size_t nrecords;
    int64_t ms;       /* TIMER_START */
    err_t err;        /* SEND_FAILED, FAULT: ERR_INVALID (bad frame), ERR_TIMEOUT,
                         ERR_TOO_LARGE, ERR_IO (refused by the peer) */
    char detail[112]; /* SEND_FAILED, FAULT: what happened, for people and logs */
    /* private */
    size_t off_, nrec_first_;
} e1381_action;

/* The actions one call produced, in the order to carry them out. Views
 * (data, records) point into the e1381 object and stay valid until the next
 * call of e1381_feed, e1381_timeout, e1381_send, e1381_reset or e1381_free on
 * it. */
typedef struct e1381_actions {
    const e1381_action *v;
    size_t n;
} e1381_actions;

/* One link. Initialise with e1381_init(), release with e1381_free(). The
 * fields are private. */
typedef struct e1381 {
    e1381_config cfg;
    e1381_state state;
    bool busy;
    /* receiver */
    int phase;           /* frame reader: see e1381.c */
    buf frame;           /* FN and text of the frame being read, up to accept_text */
    size_t flen;         /* bytes from FN up to ETB/ETX seen (kept or not) */
    unsigned fsum;       /* their sum, for the checksum */
    unsigned char fterm; /* ETB or ETX */
    char fcs[2];         /* checksum characters */
    bool have_fn;        /* a frame was accepted in this transmission */
    unsigned last_fn;    /* number of the last frame accepted */
    buf rx;              /* text accepted in this transmission */
    size_t rx_done;      /* length of rx up to the end of its last ETX frame */
    size_t rx_frames;    /* frames accepted in this transmission */
    size_t rx_sent;      /* hold_last: length of rx already delivered */
    bool held;           /* hold_last: the reply to an L frame is withheld */
    bool held_prev_fn;   /* ... and what to go back to if it is refused */
    unsigned held_last_fn;
    size_t held_rx_len, held_rx_done;
    size_t rx_refused; /* hold_last: rx up to here was delivered and refused */
    /* sender */
    bool pending;   /* a message from e1381_send() is waiting or under way */
    buf tx;         /* its text, each record ended by CR */
    size_t tx_off;  /* where the frame in flight begins in tx */
    size_t tx_n;    /* text length of the frame in flight */
    unsigned tx_fn; /* its frame number */
    unsigned tries; /* NAKs for the frame in flight, or for our bids */
    buf out_frame;  /* the frame in flight, for retransmission */
    /* actions of the current call */
    e1381_action *act;
    size_t nact, capact;
    buf wbuf;      /* bytes of WRITE and text of MESSAGE actions */
    size_t *spans; /* (offset, length) in wbuf of each record of MESSAGE actions */
    size_t nspans, capspans;
    strv *recs; /* the same as views, built when a call returns */
    size_t caprecs;
    bool oom;
} e1381;

/* Prepare a link in the neutral state. cfg may be NULL (defaults). Values out
 * of range are clamped to the nearest allowed one. Allocates nothing. */
void e1381_init(e1381 *e, const e1381_config *cfg);

/* Release what e has allocated; it may be initialised again after. */
void e1381_free(e1381 *e);

/* Back to the neutral state: a transmission being received is discarded and
 * a pending message dropped, without actions (the link was closed). */
void e1381_reset(e1381 *e);

/* While busy, an ENQ is answered NAK (the peer bids again after 10 s). */
void e1381_set_busy(e1381 *e, bool busy);

/* The state the link is in (for logs, status pages and tests). */
e1381_state e1381_get_state(const e1381 *e);

/* True while a message given to e1381_send() is waiting or being sent. */
bool e1381_pending(const e1381 *e);

/*
 * Bytes received from the link, in any pieces (a frame may be split across
 * calls, several may come in one). All of data is consumed.
 *
 * Receiver: ENQ in the neutral state is answered ACK (or NAK when busy) and
 * starts the 30 s timer. Each frame is checked: STX, FN = the expected number
 * (1, then +1 modulo 8), at most accept_text characters of text, ETB or ETX,
 * the checksum (hex in either case), CR. The frame is judged at its CR: the LF
 * after it is skipped when it comes and not waited for, and LF alone stands
 * for CR LF. A good frame is ACKed; a frame
 * that repeats the last one accepted (its ACK was lost) is ACKed and not
 * taken twice; any other is NAKed, with a FAULT saying why. Every reply
 * restarts the 30 s timer. At EOT the text up to the last ETX frame is
 * delivered as a MESSAGE (text after it, from ETB frames whose message never
 * ended, is discarded with a FAULT; a transmission of empty records only is
 * not delivered, with a FAULT), and the timer stops. Bytes between
 * frames that mean nothing here (the LF of a frame, noise) are ignored; an
 * STX or EOT inside a frame abandons that frame.
 *
 * Sender: see e1381_send(). A reply other than ACK, NAK or ENQ to a bid is
 * ignored; to a frame, anything but ACK or EOT is taken as NAK.
 *
 * out receives the actions (valid until the next call). Returns ERR_OK or
 * ERR_NOMEM: then the link has been reset (as e1381_reset) and should be
 * closed; out is empty.
 */
err_t e1381_feed(e1381 *e, const void *data, size_t len, e1381_actions *out);

/*
 * The timer the last TIMER_START asked for has expired. In a state without a
 * timer (the caller saw TIMER_STOP) it does nothing.
 *
 * receiving: the transmission so far is discarded (FAULT ERR_TIMEOUT), the
 *            line is neutral; a pending message is bid for.
 * bid or frame without reply: EOT is written, SEND_FAILED ERR_TIMEOUT.
 * waiting (busy or contention): ENQ is written again.
 * Returns ERR_OK or ERR_NOMEM (as for e1381_feed).
 */
err_t e1381_timeout(e1381 *e, e1381_actions *out);

/*
 * Send one message: text[0..len) is a sequence of records, each ended by CR
 * (LF and CR LF also end one; the last needs no terminator). The text is
 * copied. Each record goes out as one frame, or as ETB frames of frame_text
 * characters and a last ETX frame when it is longer; frame numbers run 1, 2,
 * ... 7, 0, 1 across the transmission.
 *
 * In the neutral state ENQ is written at once (timer 15 s); while a
 * transmission is being received the bid waits for its EOT. NAK to the bid:
 * wait 10 s and bid again (at most six times, then SEND_FAILED ERR_IO).
 * Contention (ENQ received after our ENQ): as computer system we yield,
 * answer the instrument's next ENQ and bid again after its transmission, or
 * after 20 s if none comes; as instrument we bid again after 1 s. ACK to a
 * frame sends the next one, then EOT and SENT; NAK retransmits it, and after
 * six retransmissions NAKed EOT is written and SEND_FAILED ERR_IO.
 *
 * Returns ERR_OK; ERR_CONFLICT when a message is already pending (wait for
 * its SENT or SEND_FAILED); ERR_INVALID for a text without any record or
 * holding transmission control characters (SOH STX ETX EOT ENQ ACK DLE DC1-4
 * NAK SYN ETB); ERR_TOO_LARGE beyond max_message; ERR_NOMEM (the message
 * is not taken and the link has been reset, as for e1381_feed). out receives
 * the actions (none on failure).
 */
err_t e1381_send(e1381 *e, const char *text, size_t len, e1381_actions *out);

/*
 * hold_last: answer the L frame that a MESSAGE and HOLD were delivered for.
 * stored true writes ACK: the message is taken and the transmission goes on.
 * stored false writes NAK: the frame is not taken, so the sender sends it
 * again and the message is delivered again (after six NAKs the sender gives
 * up). While the reply is held a repeat of that frame is not answered. Does
 * nothing when no reply is held (the transmission ended or was reset in the
 * meantime). Returns ERR_OK or ERR_NOMEM (as for e1381_feed).
 */
err_t e1381_release(e1381 *e, bool stored, e1381_actions *out);

/* True while the reply to an L frame is held. */
bool e1381_holding(const e1381 *e);

/* Name of an action kind ("write", "timer_start"...), for logs and tests. */
const char *e1381_action_name(e1381_action_kind k);

/*
 * Capture decoding, for tests and tools: files of what an instrument sent,
 * like those in tests/data/astm (senaite.astm's captures).
 *
 * The decoder takes what it finds, in order:
 *  - E1381 frames: STX, a digit 0-7, text, ETB|ETX, two hex digits. Whatever
 *    follows (CR LF, CR, LF or nothing) is skipped. ETB frames run on into the
 *    next; ETX ends a record (CR is added when the text lacks it).
 *  - bioMerieux VIDAS blocks: STX RS ... GS C1 C2, where C1 C2 (hex, either
 *    case) is the sum modulo 256 of the bytes after STX through GS.
 *  - other STX ... ETX blocks (no frame number or checksum: a Spotchem EL
 *    sends its printout so): the text between them.
 *  - when there is no STX at all, the whole capture as bare records (lines
 *    ended by CR, LF or CR LF).
 * Control characters may be written as literal bytes or, when the capture
 * holds no STX byte, as the mnemonics <STX> <ETX> <ETB> <EOT> <ENQ> <ACK>
 * <NAK> <CR> <LF> (any case), as manuals and logs print them.
 * Messages end at EOT or ENQ, and a record H that starts a frame after a
 * complete record starts a new message. Frames whose checksum does not match
 * are kept and counted: a capture is evidence, not a live link.
 */
typedef enum e1381_capture_kind {
    E1381_CAPTURE_FRAMED = 1, /* E1381 frames */
    E1381_CAPTURE_BARE,       /* records without any framing */
    E1381_CAPTURE_BLOCK,      /* STX text ETX without frame number or checksum */
    E1381_CAPTURE_VIDAS,      /* a bioMerieux VIDAS block */
} e1381_capture_kind;

typedef struct e1381_capture_frame {
    size_t offset;    /* of its STX in the capture (after mnemonics are read) */
    int fn;           /* frame number 0-7; -1 for blocks */
    bool last;        /* ended by ETX (or is a block) */
    bool checksummed; /* carries a checksum */
    bool checksum_ok; /* ... and it matches */
    unsigned sum, given;
    size_t text_len;
} e1381_capture_frame;

typedef struct e1381_capture_msg {
    e1381_capture_kind kind;
    strv text;                         /* FRAMED and BARE: records each ended by CR; BLOCK and
                                          VIDAS: the block's text. In the arena. */
    const e1381_capture_frame *frames; /* in the arena; none for BARE */
    size_t nframes;
    size_t bad_checksums; /* frames whose checksum did not match */
    size_t fn_breaks;     /* frames numbered other than the previous + 1 (mod 8),
                             or a first frame other than 1 */
    size_t long_frames;   /* frames with more than 240 characters of text */
    bool incomplete;      /* ended by an ETB frame (its record never ended) */
} e1381_capture_msg;

typedef struct e1381_capture {
    const e1381_capture_msg *msgs; /* in the arena */
    size_t nmsgs;
    size_t truncated; /* frames cut off by another STX, EOT or the end of the
                         capture before their ETB/ETX: skipped */
} e1381_capture;

/* Longest capture e1381_capture_decode() reads. */
#define E1381_CAPTURE_MAX ((size_t)64 << 20)

/*
 * Decode data[0..len) as described above; a receives everything handed out.
 * Returns ERR_OK (out->nmsgs is 0 for a capture with nothing in it);
 * ERR_TOO_LARGE beyond E1381_CAPTURE_MAX; ERR_NOMEM.
 */
err_t e1381_capture_decode(const char *data, size_t len, arena *a, e1381_capture *out, errinfo *ei);

#endif
