#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/error.h"
#include "lockstep/strv.h"

int lks_strv_push(char ***v, size_t *n, size_t max, const char *s, size_t len)
{
	if (max && *n >= max) {
		return -LKS_E_TOOBIG;
	}
	char *copy = strndup(s, len);
	char **nv = copy ? realloc(*v, (*n + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = copy;
	return 0;
}

void lks_strv_free(char **v, size_t n)
{
	for (size_t k = 0; v && k < n; k++) {
		free(v[k]);
	}
	free(v);
}
