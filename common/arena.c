/* String arena; see include/lockstep/arena.h. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/arena.h"

#define ARENA_DEFAULT_BLOCK ((size_t)1 << 20)

struct lks_arena_block {
	struct lks_arena_block *next;
	size_t used, cap;
	char data[];
};

void lks_arena_init(struct lks_arena *a, size_t block)
{
	a->head = NULL;
	a->block = block ? block : ARENA_DEFAULT_BLOCK;
	a->bytes = 0;
}

void lks_arena_free(struct lks_arena *a)
{
	struct lks_arena_block *b = a->head;
	while (b) {
		struct lks_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->bytes = 0;
}

static struct lks_arena_block *block_new(size_t cap)
{
	struct lks_arena_block *b = cap > SIZE_MAX - sizeof(*b) ? NULL : malloc(sizeof(*b) + cap);
	if (b) {
		b->next = NULL;
		b->used = 0;
		b->cap = cap;
	}
	return b;
}

void *lks_arena_copy(struct lks_arena *a, const void *p, size_t n)
{
	struct lks_arena_block *b = a->head;
	if (!a->block) {
		a->block = ARENA_DEFAULT_BLOCK; /* zeroed rather than initialised */
	}
	if (!b || b->cap - b->used < n) {
		bool own = n > a->block / 4; /* a big copy: its own block, behind the current */
		struct lks_arena_block *nb = block_new(own ? n : a->block);
		if (!nb) {
			return NULL;
		}
		if (own && b) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	char *dst = b->data + b->used;
	memcpy(dst, p, n);
	b->used += n;
	a->bytes += n;
	return dst;
}

char *lks_arena_strdup(struct lks_arena *a, const char *s)
{
	return s ? lks_arena_copy(a, s, strlen(s) + 1) : NULL;
}
