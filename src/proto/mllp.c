/*
 * mllp.c - MLLP streaming decoder and framer (see mllp.h).
 *
 * A frame that arrives whole within one feed is handed to the callback where
 * it lies, without a copy; only a frame split between feeds is assembled in
 * the decoder's buffer. The state machine below takes each byte of the stream
 * once whatever the split, so the result never depends on where reads end.
 */
#include "proto/mllp.h"

#include <stdlib.h>
#include <string.h>

enum {
    ST_OUTSIDE,     /* between frames */
    ST_FRAME,       /* inside a frame, after its start block */
    ST_END,         /* inside a frame, just after 0x1C */
    ST_DISCARD,     /* skipping the rest of a frame that will not be delivered */
    ST_DISCARD_END, /* skipping, just after 0x1C */
};

/* Buffers larger than this are released once their frame is delivered, so
 * that an idle connection does not keep a big one. */
#define MLLP_KEEP_BYTES ((size_t)64 * 1024)

void mllp_decoder_init(mllp_decoder *dec, size_t max_message_bytes)
{
    memset(dec, 0, sizeof(*dec));
    dec->max = max_message_bytes ? max_message_bytes : MLLP_DEFAULT_MAX_MESSAGE;
    dec->state = ST_OUTSIDE;
}

void mllp_decoder_free(mllp_decoder *dec)
{
    free(dec->data);
    dec->data = NULL;
    dec->len = dec->cap = 0;
}

/* Record a problem in ei unless an earlier one of this call is there. */
static err_t note(err_t *first, errinfo *ei, err_t code, uint64_t at, const char *what)
{
    if (*first)
        return *first;
    *first = code;
    if (ei) {
        err_set(ei, code, NULL, "MLLP stream byte %llu: %s", (unsigned long long)at, what);
        ei->column = at >= 0x7fffffff ? 0x7fffffff : (int)at + 1;
    }
    return code;
}

/* Position of the first 0x0B or 0x1C in p[0..n), or n. */
static size_t find_block(const char *p, size_t n)
{
    const char *e = memchr(p, MLLP_END, n);
    size_t lim = e ? (size_t)(e - p) : n;
    const char *s = memchr(p, MLLP_START, lim);
    return s ? (size_t)(s - p) : lim;
}

/* Append p[0..n) to the frame buffer, growing it up to dec->max. */
static err_t append(mllp_decoder *dec, const char *p, size_t n)
{
    if (n > dec->max - dec->len)
        return ERR_TOO_LARGE;
    if (n == 0)
        return ERR_OK;
    if (dec->len + n > dec->cap) {
        size_t cap = dec->cap ? dec->cap : 4096;
        while (cap < dec->len + n)
            cap = cap > dec->max / 2 ? dec->max : cap * 2;
        if (cap > dec->max)
            cap = dec->max;
        char *d = realloc(dec->data, cap);
        if (!d)
            return ERR_NOMEM;
        dec->data = d;
        dec->cap = cap;
    }
    memcpy(dec->data + dec->len, p, n);
    dec->len += n;
    return ERR_OK;
}

/* Forget the frame held, and release a big buffer. */
static void drop_buffer(mllp_decoder *dec)
{
    dec->len = 0;
    if (dec->cap > MLLP_KEEP_BYTES)
        mllp_decoder_free(dec);
}

static void begin_frame(mllp_decoder *dec, uint64_t at)
{
    dec->state = ST_FRAME;
    drop_buffer(dec);
    dec->frame_start = at;
    dec->reported = false;
}

static void deliver_buffered(mllp_decoder *dec, mllp_message_fn fn, void *cls)
{
    dec->messages++;
    fn(cls, dec->data ? dec->data : "", dec->len);
    drop_buffer(dec);
}

err_t mllp_decoder_feed(mllp_decoder *dec, const char *bytes, size_t n, mllp_message_fn fn,
                        void *cls, errinfo *ei)
{
    err_t first = ERR_OK;
    size_t i = 0;
    while (i < n) {
        uint64_t at = dec->offset + i; /* stream offset of bytes[i] */
        unsigned char c = (unsigned char)bytes[i];
        switch (dec->state) {
        case ST_OUTSIDE:
            if (c == MLLP_START) {
                begin_frame(dec, at);
                i++;
            } else {
                if (c != '\r' && c != '\n') {
                    dec->garbage_bytes++;
                    if (!dec->reported) {
                        note(&first, ei, ERR_INVALID, at,
                             "bytes outside a frame (expected the start block 0x0B); skipped");
                        dec->reported = true;
                    }
                }
                i++;
            }
            break;
        case ST_FRAME: {
            size_t k = i + find_block(bytes + i, n - i);
            /* A whole frame within this call: deliver it where it lies. */
            if (dec->len == 0 && k + 1 < n && (unsigned char)bytes[k] == MLLP_END &&
                bytes[k + 1] == MLLP_CR && k - i <= dec->max) {
                dec->messages++;
                dec->state = ST_OUTSIDE;
                fn(cls, bytes + i, k - i);
                i = k + 2;
                break;
            }
            err_t rc = append(dec, bytes + i, k - i);
            if (rc) {
                dec->dropped++;
                drop_buffer(dec);
                dec->state = ST_DISCARD;
                dec->reported = true;
                note(&first, ei, rc, dec->frame_start,
                     rc == ERR_TOO_LARGE ? "message over the size limit; discarded"
                                         : "out of memory for a frame; discarded");
                i = k;
                break;
            }
            i = k;
            if (k == n)
                break;
            if ((unsigned char)bytes[k] == MLLP_END) {
                dec->state = ST_END;
            } else { /* a start block inside a frame */
                dec->dropped++;
                note(&first, ei, ERR_INVALID, dec->frame_start,
                     "frame cut short by a new start block before its end block 0x1C 0x0D; "
                     "discarded");
                begin_frame(dec, dec->offset + k);
            }
            i = k + 1;
            break;
        }
        case ST_END:
            if (c == MLLP_CR) {
                dec->state = ST_OUTSIDE;
                deliver_buffered(dec, fn, cls);
                i++;
            } else { /* take c again as if between frames */
                dec->dropped++;
                drop_buffer(dec);
                dec->state = ST_OUTSIDE;
                dec->reported = true;
                note(&first, ei, ERR_INVALID, at - 1,
                     "end block 0x1C not followed by 0x0D; frame discarded");
            }
            break;
        case ST_DISCARD: {
            size_t k = i + find_block(bytes + i, n - i);
            if (k == n) {
                i = n;
            } else if ((unsigned char)bytes[k] == MLLP_END) {
                dec->state = ST_DISCARD_END;
                i = k + 1;
            } else {
                begin_frame(dec, dec->offset + k);
                i = k + 1;
            }
            break;
        }
        case ST_DISCARD_END:
            if (c == MLLP_CR) {
                dec->state = ST_OUTSIDE;
                i++;
            } else {
                dec->state = ST_DISCARD; /* the 0x1C was junk too: take c again */
            }
            break;
        default:
            dec->state = ST_OUTSIDE;
            break;
        }
    }
    dec->offset += n;
    return first;
}

err_t mllp_decoder_finish(mllp_decoder *dec, errinfo *ei)
{
    err_t rc = ERR_OK;
    if (dec->state == ST_FRAME || dec->state == ST_END) {
        dec->dropped++;
        note(&rc, ei, ERR_INVALID, dec->frame_start, "stream ended inside a frame; discarded");
    }
    dec->state = ST_OUTSIDE;
    dec->reported = false;
    drop_buffer(dec);
    return rc;
}

err_t mllp_frame(const char *msg, size_t len, buf *out)
{
    if (len && (memchr(msg, MLLP_START, len) || memchr(msg, MLLP_END, len)))
        return ERR_INVALID;
    err_t rc = buf_reserve(out, len + 3);
    if (rc)
        return rc;
    char *w = out->data + out->len;
    *w++ = MLLP_START;
    if (len)
        memcpy(w, msg, len);
    w += len;
    *w++ = MLLP_END;
    *w++ = MLLP_CR;
    *w = '\0';
    out->len += len + 3;
    return ERR_OK;
}

bool mllp_decoder_in_frame(const mllp_decoder *dec)
{
    return dec->state != ST_OUTSIDE;
}
