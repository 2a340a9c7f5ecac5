/* qsort that accepts an empty (possibly NULL) array: qsort's base must never be NULL, even
 * for zero elements (UBSan reports it), and vectors here start out NULL. */
#pragma once
#include <stdlib.h>

static inline void lks_qsort(void *base, size_t n, size_t size,
			     int (*cmp)(const void *, const void *))
{
	if (n > 1) {
		qsort(base, n, size, cmp);
	}
}
