#include "pinner/apt/debver.h"
#include <limits.h>
#include <stddef.h>
#include <string.h>

struct vparts {
	unsigned long epoch;
	const char *up;
	size_t up_len;
	const char *rev;
	size_t rev_len;
};

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Sort weight of one character of a non-digit run; 0 is the end of the run. */
static int weight(const char *s, size_t i, size_t n)
{
	if (i >= n) {
		return 0;
	}
	int c = (unsigned char)s[i];
	if (is_digit(c)) {
		return 0;
	}
	if (is_alpha(c)) {
		return c;
	}
	if (c == '~') {
		return -1;
	}
	return c + 256;
}

static int cmp_fragment(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	while (i < an || j < bn) {
		while ((i < an && !is_digit(a[i])) || (j < bn && !is_digit(b[j]))) {
			int wa = weight(a, i, an), wb = weight(b, j, bn);
			if (wa != wb) {
				return wa < wb ? -1 : 1;
			}
			i++;
			j++;
		}
		while (i < an && a[i] == '0') {
			i++;
		}
		while (j < bn && b[j] == '0') {
			j++;
		}
		int first = 0;
		while (i < an && j < bn && is_digit(a[i]) && is_digit(b[j])) {
			if (!first) {
				first = a[i] - b[j];
			}
			i++;
			j++;
		}
		if (i < an && is_digit(a[i])) {
			return 1;
		}
		if (j < bn && is_digit(b[j])) {
			return -1;
		}
		if (first) {
			return first < 0 ? -1 : 1;
		}
	}
	return 0;
}

static void split(const char *v, struct vparts *p)
{
	const char *colon = strchr(v, ':');
	p->epoch = 0;
	if (colon) {
		for (const char *s = v; s < colon; s++) {
			if (!is_digit(*s)) {
				continue;
			}
			if (p->epoch < (unsigned long)INT_MAX * 10) {
				p->epoch = p->epoch * 10 + (unsigned long)(*s - '0');
			}
		}
		v = colon + 1;
	}
	const char *dash = strrchr(v, '-');
	p->up = v;
	if (dash) {
		p->up_len = (size_t)(dash - v);
		p->rev = dash + 1;
		p->rev_len = strlen(dash + 1);
	} else {
		p->up_len = strlen(v);
		p->rev = "";
		p->rev_len = 0;
	}
}

int lks_debver_cmp(const char *a, const char *b)
{
	struct vparts pa, pb;
	split(a, &pa);
	split(b, &pb);
	if (pa.epoch != pb.epoch) {
		return pa.epoch < pb.epoch ? -1 : 1;
	}
	int rc = cmp_fragment(pa.up, pa.up_len, pb.up, pb.up_len);
	if (rc) {
		return rc;
	}
	return cmp_fragment(pa.rev, pa.rev_len, pb.rev, pb.rev_len);
}

static bool chars_ok(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!is_digit(c) && !is_alpha(c) && !strchr(extra, c)) {
			return false;
		}
	}
	return true;
}

bool lks_debver_valid(const char *v)
{
	if (!v || !*v) {
		return false;
	}
	const char *colon = strchr(v, ':');
	if (colon) {
		if (colon == v || colon - v > 10) {
			return false;
		}
		unsigned long e = 0;
		for (const char *s = v; s < colon; s++) {
			if (!is_digit(*s)) {
				return false;
			}
			e = e * 10 + (unsigned long)(*s - '0');
		}
		if (e > INT_MAX) {
			return false;
		}
		v = colon + 1;
	}
	struct vparts p;
	split(v, &p);
	const char *dash = strrchr(v, '-');
	if (p.up_len == 0 || !is_digit(p.up[0]) || (dash && p.rev_len == 0)) {
		return false;
	}
	return chars_ok(p.up, p.up_len, ".+-~") && chars_ok(p.rev, p.rev_len, ".+~");
}
