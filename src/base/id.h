/*
 * id.h - program-made record ids: 128 bits, time-ordered, as 26 characters of
 * Crockford base32 (48 bits of milliseconds since 1970, then 80 random bits).
 * Ids made by one process in the same millisecond still sort in creation order.
 */
#ifndef BENCHSIDE_BASE_ID_H
#define BENCHSIDE_BASE_ID_H

#include <stdbool.h>
#include <stddef.h>

#define ID_LEN 26

/* Write a new id and its NUL into out. Thread-safe. */
void id_new(char out[ID_LEN + 1]);
/* The 128 bits b (the time's 48 then 80 more) as an id and its NUL into out:
 * for ids made from other sources than the clock (generated data). */
void id_encode(const unsigned char b[16], char out[ID_LEN + 1]);
/* True when s[0..n) has the form of an id. */
bool id_valid(const char *s, size_t n);

#endif
