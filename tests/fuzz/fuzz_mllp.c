/*
 * fuzz_mllp.c - libFuzzer target: a byte stream through the MLLP decoder, fed
 * whole, in pieces whose sizes come from the input, and byte by byte; the
 * messages delivered and the statistics must be the same every way (abort()
 * otherwise), the buffer must stay within the limit, and each message framed
 * again must decode to itself.
 *
 * Input: byte 0 chooses the size limit (0: the 1 MiB default, else 1..255),
 * byte 1 seeds the piece sizes, the rest is the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "proto/mllp.h"

typedef struct record {
    buf all; /* "<len>:<bytes>" for each message */
    size_t count;
} record;

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void collect(void *cls, const char *msg, size_t len)
{
    record *r = cls;
    r->count++;
    check(buf_append(&r->all, &len, sizeof(len)) == ERR_OK);
    check(buf_append(&r->all, msg, len) == ERR_OK);
}

typedef struct run {
    record r;
    uint64_t messages, garbage, dropped;
} run;

/* piece sizes: 0 = all at once, 1 = byte by byte, else from the seed */
static void feed(run *out, size_t max, const char *s, size_t n, int mode, unsigned seed)
{
    memset(out, 0, sizeof(*out));
    mllp_decoder dec;
    mllp_decoder_init(&dec, max);
    size_t at = 0;
    uint32_t x = seed * 2654435761u + 1;
    while (at < n || (at == 0 && n == 0)) {
        size_t piece = n - at;
        if (mode == 1) {
            piece = 1;
        } else if (mode == 2) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            piece = 1 + x % 23;
        }
        if (piece > n - at)
            piece = n - at;
        errinfo ei;
        err_t rc = mllp_decoder_feed(&dec, s + at, piece, collect, &out->r, &ei);
        check(rc == ERR_OK || rc == ERR_INVALID || rc == ERR_TOO_LARGE);
        check(dec.len <= dec.max && dec.cap <= dec.max);
        at += piece;
        if (n == 0)
            break;
    }
    (void)mllp_decoder_finish(&dec, NULL);
    out->messages = dec.messages;
    out->garbage = dec.garbage_bytes;
    out->dropped = dec.dropped;
    check(out->messages == out->r.count);
    mllp_decoder_free(&dec);
}

static void reframe(const char *msg, size_t len, size_t max)
{
    buf f = BUF_INIT;
    if (mllp_frame(msg, len, &f) != ERR_OK) {
        buf_free(&f);
        abort(); /* a delivered message never holds 0x0B or 0x1C */
    }
    run o;
    feed(&o, max, f.data, f.len, 0, 0);
    check(o.messages == 1 && o.garbage == 0 && o.dropped == 0);
    check(o.r.all.len == sizeof(len) + len && memcmp(o.r.all.data + sizeof(len), msg, len) == 0);
    buf_free(&o.r.all);
    buf_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max = data[0];
    unsigned seed = data[1];
    const char *s = (const char *)data + 2;
    size_t n = size - 2;
    run runs[3];
    for (int mode = 0; mode < 3; mode++)
        feed(&runs[mode], max, s, n, mode, seed);
    for (int mode = 1; mode < 3; mode++) {
        check(runs[mode].messages == runs[0].messages);
        check(runs[mode].garbage == runs[0].garbage);
        check(runs[mode].dropped == runs[0].dropped);
        check(runs[mode].r.all.len == runs[0].r.all.len);
        check(runs[0].r.all.len == 0 ||
              memcmp(runs[mode].r.all.data, runs[0].r.all.data, runs[0].r.all.len) == 0);
    }
    /* each message, framed again, decodes to itself */
    size_t at = 0;
    while (at < runs[0].r.all.len) {
        size_t len;
        memcpy(&len, runs[0].r.all.data + at, sizeof(len));
        at += sizeof(len);
        check(len <= (max ? max : MLLP_DEFAULT_MAX_MESSAGE) && at + len <= runs[0].r.all.len);
        reframe(runs[0].r.all.data + at, len, max);
        at += len;
    }
    for (int mode = 0; mode < 3; mode++)
        buf_free(&runs[mode].r.all);
    return 0;
}
