/* Properties of lks_debver_cmp on arbitrary input: reflexive, antisymmetric, transitive,
 * '~' appended sorts lower and a letter appended sorts higher, and agreement with a table of
 * dpkg's documented cases. Input: up to three versions separated by '\n'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/debver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static void check_table(void)
{
	static const struct {
		const char *a, *b;
		int want;
	} t[] = {
	    {"1.0", "1.0-0", 0},    {"1:0.1", "9.9", 1},  {"1.10", "1.9", 1},
	    {"1.0~rc1", "1.0", -1}, {"1.0a", "1.0+", -1}, {"1.0-1+deb12u10", "1.0-1+deb12u9", 1},
	    {"1.0~~", "1.0~", -1},  {"1.00", "1.0", 0},   {"2.0-1~bpo12+1", "2.0-1", -1},
	    {"a", "1", 1},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (sign(lks_debver_cmp(t[i].a, t[i].b)) != t[i].want) {
			abort();
		}
	}
}

static char *take(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *s = *p;
	const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
	size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
	*p = nl ? nl + 1 : end;
	char *out = malloc(n + 3);
	memcpy(out, s, n);
	out[n] = '\0';
	out[strlen(out)] = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	if (!once++) {
		check_table();
	}
	const uint8_t *p = data, *end = data + size;
	char *v[3];
	for (int i = 0; i < 3; i++) {
		v[i] = take(&p, end);
	}
	for (int i = 0; i < 3; i++) {
		if (lks_debver_cmp(v[i], v[i]) != 0) {
			abort();
		}
		for (int j = 0; j < 3; j++) {
			int ij = sign(lks_debver_cmp(v[i], v[j]));
			if (ij != -sign(lks_debver_cmp(v[j], v[i]))) {
				abort();
			}
			for (int k = 0; k < 3; k++) {
				if (ij <= 0 && lks_debver_cmp(v[j], v[k]) <= 0 &&
				    lks_debver_cmp(v[i], v[k]) > 0) {
					abort();
				}
			}
		}
		(void)lks_debver_valid(v[i]);
	}
	size_t n = strlen(v[0]);
	char *t = malloc(n + 2);
	memcpy(t, v[0], n);
	t[n + 1] = '\0';
	t[n] = '~';
	if (lks_debver_cmp(t, v[0]) >= 0) {
		abort();
	}
	t[n] = 'a';
	if (lks_debver_cmp(t, v[0]) <= 0) {
		abort();
	}
	free(t);
	for (int i = 0; i < 3; i++) {
		free(v[i]);
	}
	return 0;
}
