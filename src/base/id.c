/*
 * id.c - time-ordered 128-bit ids (see id.h). Randomness from libsodium.
 */
#include "base/id.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "base/time.h"

static const char id_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t id_last_ms;
static unsigned char id_last_rand[10];

void id_new(char out[ID_LEN + 1])
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)(time_now_us() / 1000);

    pthread_mutex_lock(&id_lock);
    if (ms <= id_last_ms) {
        /* Same (or earlier) millisecond: keep order by incrementing. */
        ms = id_last_ms;
        int i = 9;
        while (i >= 0 && ++id_last_rand[i] == 0)
            i--;
        if (i < 0)
            ms = ++id_last_ms;
    } else {
        randombytes_buf(id_last_rand, sizeof(id_last_rand));
        id_last_rand[0] &= 0x7f; /* room to increment without carrying into the time */
        id_last_ms = ms;
    }
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    memcpy(b + 6, id_last_rand, 10);
    pthread_mutex_unlock(&id_lock);

    id_encode(b, out);
}

void id_encode(const unsigned char b[16], char out[ID_LEN + 1])
{
    /* 128 bits as 26 base32 digits: the first digit carries the top 3 bits. */
    int bit = -2; /* 26 * 5 = 130 bits: two leading zero bits */
    for (int c = 0; c < ID_LEN; c++) {
        int v = 0;
        for (int k = 0; k < 5; k++, bit++) {
            v <<= 1;
            if (bit >= 0)
                v |= (b[bit / 8] >> (7 - bit % 8)) & 1;
        }
        out[c] = id_alphabet[v];
    }
    out[ID_LEN] = '\0';
}

bool id_valid(const char *s, size_t n)
{
    if (n != ID_LEN || s[0] > '7')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!memchr(id_alphabet, s[i], sizeof(id_alphabet) - 1))
            return false;
    return true;
}
