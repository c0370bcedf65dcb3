/*
 * utf8.h - the little of Unicode that names need: decoding and encoding
 * UTF-8, and capitals for the scripts patients' names are written in here.
 */
#ifndef BENCHSIDE_BASE_UTF8_H
#define BENCHSIDE_BASE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode one UTF-8 sequence at s (NUL-terminated). Returns the code point and
 * its length in *len, or -1 with *len = 1 for a byte that starts no valid
 * sequence (overlong forms, surrogates and values past U+10FFFF included).
 */
int32_t utf8_decode(const unsigned char *s, size_t *len);

/* Write cp as UTF-8 to out (room for 4 bytes); returns the bytes written. */
size_t utf8_encode(uint32_t cp, char *out);

/*
 * Capital of a lower-case letter: ASCII, Latin-1, Latin Extended-A, Latin
 * Extended Additional (Vietnamese), modern Greek and basic Cyrillic. Anything
 * else (ß among them) is returned as it is. No locale is used.
 */
uint32_t utf8_upper(uint32_t cp);

#endif
