/* PEP 440 parser fuzzing. Input: up to three lines, each a version; the first line is also
 * parsed as a specifier set. Properties: normalising twice changes nothing; the order is total
 * (antisymmetric, transitive, consistent with normal forms). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/python/pep440.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_normal_form(const struct lks_pep440 *v)
{
	char a[LKS_PEP440_MAX_STR], b[LKS_PEP440_MAX_STR];
	struct lks_pep440 w;
	size_t la = lks_pep440_str(v, a, sizeof(a));
	if (la >= sizeof(a) || lks_pep440_parse(NULL, a, la, &w) != 0) {
		abort();
	}
	lks_pep440_str(&w, b, sizeof(b));
	if (strcmp(a, b) || lks_pep440_cmp(v, &w) != 0) {
		abort();
	}
}

static void check_order(const struct lks_pep440 *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			if (lks_pep440_cmp(&v[i], &v[j]) != -lks_pep440_cmp(&v[j], &v[i])) {
				abort();
			}
			for (size_t k = 0; k < n; k++) {
				if (lks_pep440_cmp(&v[i], &v[j]) <= 0 &&
				    lks_pep440_cmp(&v[j], &v[k]) <= 0 &&
				    lks_pep440_cmp(&v[i], &v[k]) > 0) {
					abort();
				}
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct lks_pep440 v[3];
	size_t n = 0, start = 0;
	struct lks_pep440_specset set;
	lks_pep440_specset_init(&set);
	size_t first = 0;
	while (first < size && s[first] != '\n') {
		first++;
	}
	int set_ok = lks_pep440_specset_parse(NULL, s, first, &set) == 0;
	while (start <= size && n < 3) {
		size_t end = start;
		while (end < size && s[end] != '\n') {
			end++;
		}
		if (lks_pep440_parse(NULL, s + start, end - start, &v[n]) == 0) {
			check_normal_form(&v[n]);
			if (set_ok) {
				lks_pep440_specset_contains(&set, &v[n], n & 1);
			}
			n++;
		}
		start = end + 1;
	}
	check_order(v, n);
	lks_pep440_specset_free(&set);
	return 0;
}
