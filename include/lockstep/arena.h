/* A string arena: many small copies that live and die together (the strings of an apt index,
 * of a layer index), one allocation per block instead of one per string.
 *
 * Copies are never moved: pointers stay valid until lks_arena_free. A copy larger than the
 * block size gets a block of its own, kept behind the current one so small copies still fill
 * it.
 */
#pragma once
#include <stddef.h>

struct lks_arena_block;

struct lks_arena {
	struct lks_arena_block *head; /* the block small copies go into, then older ones */
	size_t block;                 /* block size (default 1 MiB) */
	size_t bytes;                 /* bytes copied in */
};

void lks_arena_init(struct lks_arena *a, size_t block);
void lks_arena_free(struct lks_arena *a);
/* A copy of p[0..n); NULL on ENOMEM. */
void *lks_arena_copy(struct lks_arena *a, const void *p, size_t n);
/* A copy of s with its NUL; NULL for NULL and on ENOMEM. */
char *lks_arena_strdup(struct lks_arena *a, const char *s);
