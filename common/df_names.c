/* Stage names by hash, matched without case: a lookup per FROM or reference must not walk
 * every stage (60,000 FROM lines). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>
#include "common/df_int.h"

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 16777619u;
	}
	return h ^ (h >> 15);
}

/* The slot of name: its entry's, or the empty one where it would go. */
static size_t slot_of(const struct df_names *t, const char *name)
{
	size_t mask = t->cap - 1, i = name_hash(name) & mask;
	while (t->slot[i] && strcasecmp(t->key[t->slot[i] - 1], name)) {
		i = (i + 1) & mask;
	}
	return i;
}

long df_names_find(const struct df_names *t, const char *name)
{
	uint32_t s = t->cap ? t->slot[slot_of(t, name)] : 0;
	return s ? (long)s - 1 : -1;
}

static int grow(struct df_names *t)
{
	size_t ncap = t->cap ? 2 * t->cap : 64;
	uint32_t *old = t->slot;
	size_t ocap = t->cap;
	const char **key = realloc(t->key, ncap / 2 * sizeof(*key));
	if (!key) {
		return -ENOMEM;
	}
	t->key = key;
	if (!(t->slot = calloc(ncap, sizeof(*t->slot)))) {
		t->slot = old;
		return -ENOMEM;
	}
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i]) {
			t->slot[slot_of(t, t->key[old[i] - 1])] = old[i];
		}
	}
	free(old);
	return 0;
}

int df_names_add(struct df_names *t, const char *name, size_t *id)
{
	long have = df_names_find(t, name);
	if (have >= 0) {
		*id = (size_t)have;
		return 1;
	}
	if ((t->n + 1) * 2 > t->cap && grow(t) < 0) {
		return -ENOMEM;
	}
	t->key[t->n] = name;
	t->slot[slot_of(t, name)] = (uint32_t)++t->n;
	*id = t->n - 1;
	return 0;
}

void df_names_free(struct df_names *t)
{
	free(t->slot);
	free(t->key);
	t->slot = NULL;
	t->key = NULL;
	t->cap = t->n = 0;
}
