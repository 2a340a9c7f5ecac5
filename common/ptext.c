/* Position-tracking text; see include/lockstep/ptext.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/error.h"
#include "lockstep/ptext.h"

void lks_ptext_free(struct lks_ptext *t)
{
	free(t->s);
	free(t->pos);
	t->s = NULL;
	t->pos = NULL;
	t->len = t->cap = 0;
}

/* Room for n more bytes and the NUL; s and pos grow together. */
static int reserve(struct lks_ptext *t, size_t n)
{
	if (t->len + n + 1 <= t->cap) {
		return 0;
	}
	size_t cap = t->cap ? t->cap : 128;
	while (cap < t->len + n + 1) {
		cap *= 2;
	}
	char *s = realloc(t->s, cap);
	if (!s) {
		return -ENOMEM;
	}
	t->s = s;
	size_t *pos = realloc(t->pos, cap * sizeof(*pos));
	if (!pos) {
		return -ENOMEM;
	}
	t->pos = pos;
	t->cap = cap;
	return 0;
}

int lks_ptext_putc(struct lks_ptext *t, char c, size_t pos)
{
	int rc = reserve(t, 1);
	if (rc < 0) {
		return rc;
	}
	t->s[t->len] = c;
	t->pos[t->len++] = pos;
	t->s[t->len] = '\0';
	return 0;
}

int lks_ptext_append(struct lks_ptext *t, const char *data, size_t a, size_t b, size_t max)
{
	size_t n = b - a;
	if (max && (n > max || t->len + n > max)) {
		return -LKS_E_TOOBIG;
	}
	int rc = reserve(t, n);
	if (rc < 0) {
		return rc;
	}
	if (n) {
		memcpy(t->s + t->len, data + a, n);
	}
	for (size_t i = 0; i < n; i++) {
		t->pos[t->len + i] = a + i;
	}
	t->len += n;
	t->s[t->len] = '\0';
	return 0;
}
