/*
 * arena.h - a region allocator: many small allocations, freed in one call.
 *
 * An arena lives as long as one HTTP request or one inbound message. Memory it
 * hands out is owned by the arena and released by arena_free(); nothing handed
 * out is freed on its own. Allocation failure returns NULL (never aborts).
 */
#ifndef BENCHSIDE_BASE_ARENA_H
#define BENCHSIDE_BASE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_chunk;

typedef struct arena {
    struct arena_chunk *head;
    size_t chunk_size; /* default size of a new chunk */
} arena;

/* Prepare an empty arena; chunk_size 0 chooses a default (16 KiB). */
void arena_init(arena *a, size_t chunk_size);
/* Release everything the arena handed out; it can be used again after. */
void arena_free(arena *a);
/* n bytes aligned for any type, or NULL. */
void *arena_alloc(arena *a, size_t n);
/* A NUL-terminated copy of s[0..n), or NULL. */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
/* printf into the arena, or NULL. */
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
