/* Growable arrays (after git's ALLOC_GROW): one checked growth rule for every `T *v; size_t n,
 * cap;` of the code base instead of a `cap ? cap * 2 : N` written out at each site.
 *
 *	if ((rc = LKS_GROW(list->v, list->cap, list->n + 1, 16)) < 0)
 *		return rc;
 *	list->v[list->n++] = item;
 */
#pragma once
#include <stddef.h>

/* Make *(T **)pv hold at least need elements of size sz: the capacity *cap doubles, starting at
 * min, and the new elements are zeroed. Returns 0, or -ENOMEM (also when need * sz would
 * overflow) with *pv and *cap unchanged. */
int lks_array_grow(void *pv, size_t *cap, size_t need, size_t sz, size_t min);

#define LKS_GROW(v, cap, need, min) lks_array_grow(&(v), &(cap), (need), sizeof(*(v)), (min))
