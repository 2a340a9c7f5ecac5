/* Growable arrays; see include/lockstep/array.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/array.h"

int lks_array_grow(void *pv, size_t *cap, size_t need, size_t sz, size_t min)
{
	if (need <= *cap) {
		return 0;
	}
	size_t c = *cap ? *cap : (min ? min : 1);
	while (c < need) {
		c = c > SIZE_MAX / 2 ? need : c * 2;
	}
	if (sz && c > SIZE_MAX / sz) {
		return -ENOMEM;
	}
	void *old;
	memcpy(&old, pv, sizeof(old));
	char *nv = realloc(old, c * sz);
	if (!nv) {
		return -ENOMEM;
	}
	memset(nv + *cap * sz, 0, (c - *cap) * sz);
	memcpy(pv, &nv, sizeof(nv));
	*cap = c;
	return 0;
}
