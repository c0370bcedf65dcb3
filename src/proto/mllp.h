/*
 * mllp.h - MLLP framing of HL7 messages (HL7 Minimal Lower Layer Protocol):
 * a streaming decoder and a framer.
 *
 * On the wire each message is a frame: the start block 0x0B, the message, the
 * end block 0x1C and a carriage return 0x0D. The decoder takes the bytes of a
 * stream as they arrive, split anywhere, and hands each complete message to a
 * callback. Bad input is reported and skipped without losing the frames that
 * follow it: bytes outside a frame, a frame cut short by a new start block, an
 * end block without its CR, and a message over the size limit. Its memory is
 * bounded by that limit.
 *
 * This is a pure codec (src/proto): no I/O; the link layer feeds it.
 */
#ifndef BENCHSIDE_PROTO_MLLP_H
#define BENCHSIDE_PROTO_MLLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define MLLP_START 0x0B /* start block (VT) */
#define MLLP_END   0x1C /* end block (FS) */
#define MLLP_CR    0x0D /* follows the end block */

/* The default limit on one message: 1 MiB. */
#define MLLP_DEFAULT_MAX_MESSAGE ((size_t)1 << 20)

/*
 * Called once for each complete message, in stream order. msg[0..len) is the
 * message without its framing, not NUL-terminated. It is borrowed: it points
 * either into the bytes given to mllp_decoder_feed() or into the decoder's
 * buffer, and is valid only until the callback returns (copy what you keep).
 * The callback must not feed, finish or free the decoder that called it.
 */
typedef void (*mllp_message_fn)(void *cls, const char *msg, size_t len);

/* A streaming decoder. Treat the fields as private except the statistics. */
typedef struct mllp_decoder {
    char *data; /* the frame being assembled when it spans feeds (owned) */
    size_t len, cap;
    size_t max;           /* largest message accepted, in bytes */
    int state;            /* where in a frame the stream is */
    uint64_t offset;      /* stream bytes fed before the current call */
    uint64_t frame_start; /* stream offset of the current frame's start block */
    bool reported;        /* the junk now being skipped was already reported */
    /* Statistics since mllp_decoder_init(), for logs and tests. */
    uint64_t messages;      /* messages delivered */
    uint64_t garbage_bytes; /* bytes outside frames (CR and LF between frames excepted) */
    uint64_t dropped;       /* frames discarded: cut short, broken end, too large, no memory */
} mllp_decoder;

/*
 * Prepare dec for a new stream. max_message_bytes limits one message (0 takes
 * MLLP_DEFAULT_MAX_MESSAGE). Allocates nothing; the decoder's buffer grows
 * only while a frame spans several feeds, never past max_message_bytes, and
 * is released by mllp_decoder_free().
 */
void mllp_decoder_init(mllp_decoder *dec, size_t max_message_bytes);

/* Release the decoder's buffer; dec may be initialised again after. */
void mllp_decoder_free(mllp_decoder *dec);

/*
 * Take the next n bytes of the stream (read, never kept past the call), and
 * call fn(cls, msg, len) for each message they complete. All n bytes are
 * always consumed and every good frame is delivered, also after a bad one.
 *
 * Bytes outside a frame are skipped, except that CR and LF between frames are
 * ignored silently (some senders end frames with 0x1C 0x0D 0x0A). A frame
 * followed by a new start block before its end, a 0x1C not followed by 0x0D,
 * and a message longer than the limit are discarded (counted in
 * dec->dropped). A run of skipped bytes is reported once, however it is split
 * between calls.
 *
 * Returns ERR_OK when these bytes held nothing wrong; else the first problem
 * in them, with ei->message naming it and its stream offset: ERR_INVALID
 * (bytes outside a frame, a frame cut short, an end block without CR),
 * ERR_TOO_LARGE (a message over the limit), ERR_NOMEM (no memory to hold a
 * frame: it is discarded). Either way the decoder stays usable: keep feeding.
 */
err_t mllp_decoder_feed(mllp_decoder *dec, const char *bytes, size_t n, mllp_message_fn fn,
                        void *cls, errinfo *ei);

/* True while the stream is inside a frame (a start block was read and its
 * end has not come): a peer that stops there is stalled mid-message. */
bool mllp_decoder_in_frame(const mllp_decoder *dec);

/*
 * The stream has ended (connection closed). Returns ERR_INVALID when it ended
 * inside a frame, which is discarded, else ERR_OK. The decoder is then ready
 * for a new stream, its statistics kept.
 */
err_t mllp_decoder_finish(mllp_decoder *dec, errinfo *ei);

/*
 * Append msg[0..len) framed (0x0B msg 0x1C 0x0D) to out. Returns ERR_OK,
 * ERR_INVALID when msg holds 0x0B or 0x1C (it could not be framed
 * unambiguously; hl7_escape() never produces them), or ERR_NOMEM; out is
 * unchanged on error.
 */
err_t mllp_frame(const char *msg, size_t len, buf *out);

#endif
