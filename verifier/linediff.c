/* Myers' greedy shortest edit script over lines, with the V arrays of every step kept for
 * the backtrack: (D+1)^2 ints for D edits, so D is capped. Common prefix and suffix are
 * trimmed first, which keeps D (and the memory) small for the usual few-line changes. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/linediff.h"

void linediff_init(struct linediff *d)
{
	memset(d, 0, sizeof(*d));
}

void linediff_free(struct linediff *d)
{
	free(d->la);
	free(d->lb);
	free(d->ops);
	linediff_init(d);
}

static int split(const char *s, size_t n, struct linediff_line **out, size_t *count)
{
	size_t lines = 0;
	for (size_t i = 0; i < n; i++) {
		lines += s[i] == '\n';
	}
	lines += n && s[n - 1] != '\n';
	*out = calloc(lines + 1, sizeof(**out));
	if (!*out) {
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (s + i)) : n - i;
		(*out)[k++] = (struct linediff_line){s + i, len};
		i += len + 1;
	}
	*count = k;
	return 0;
}

static bool line_eq(const struct linediff_line *x, const struct linediff_line *y)
{
	return x->len == y->len && !memcmp(x->p, y->p, x->len);
}

/* ops has room for na + nb entries (allocated by linediff_run): each op consumes a line. */
static void push(struct linediff *d, char kind, size_t a, size_t b)
{
	d->ops[d->n_ops++] = (struct linediff_op){kind, a, b};
}

/* The middle lines [p, na - s) x [p, nb - s) as a plain replacement. */
static void replace_all(struct linediff *d, size_t p, size_t ea, size_t eb)
{
	for (size_t i = p; i < ea; i++) {
		push(d, '-', i, 0);
	}
	for (size_t i = p; i < eb; i++) {
		push(d, '+', 0, i);
	}
}

struct myers {
	const struct linediff_line *a, *b; /* already offset by the common prefix */
	long n, m;
	long max;
	int32_t *trace; /* V of step d at trace[d * d ...], 2d+1 entries, index k + d */
	long d;         /* edits found */
};

static long snake(const struct myers *w, long x, long k)
{
	long y = x - k;
	while (x < w->n && y < w->m && line_eq(&w->a[x], &w->b[y])) {
		x++;
		y++;
	}
	return x;
}

/* Forward search; returns 1 when the end was reached within w->max edits. */
static int search(struct myers *w, int32_t *v)
{
	for (long d = 0; d <= w->max; d++) {
		int32_t *snap = w->trace + d * d;
		for (long k = -d; k <= d; k++) {
			snap[k + d] = v[k];
		}
		for (long k = -d; k <= d; k += 2) {
			long x = (k == -d || (k != d && v[k - 1] < v[k + 1])) ? v[k + 1]
			                                                      : v[k - 1] + 1;
			v[k] = (int32_t)snake(w, x, k);
			if (v[k] >= w->n && v[k] - k >= w->m) {
				w->d = d;
				return 1;
			}
		}
	}
	return 0;
}

/* Walk back from (n, m) through the saved V arrays, writing ops from the end. */
static void backtrack(const struct myers *w, struct linediff_op *rev, size_t *nrev, size_t p)
{
	long x = w->n, y = w->m;
	for (long d = w->d; d >= 0; d--) {
		const int32_t *v = w->trace + d * d + d; /* v[k] for k in [-d, d] */
		long k = x - y;
		bool down = k == -d || (k != d && v[k - 1] < v[k + 1]);
		long pk = d == 0 ? 0 : down ? k + 1 : k - 1;
		long px = d == 0 ? 0 : v[pk], py = px - pk;
		long sx = d == 0 ? 0 : down ? px : px + 1; /* where the snake started */
		while (x > sx && y > sx - k) {
			rev[(*nrev)++] = (struct linediff_op){'=', p + --x, p + --y};
		}
		if (d > 0) {
			rev[(*nrev)++] = down ? (struct linediff_op){'+', 0, p + py}
			                      : (struct linediff_op){'-', p + px, 0};
		}
		x = px;
		y = py;
	}
}

static int middle(struct linediff *d, size_t p, size_t ea, size_t eb, size_t max_edits)
{
	struct myers w = {d->la + p, d->lb + p, (long)(ea - p), (long)(eb - p), 0, NULL, 0};
	w.max = w.n + w.m < (long)max_edits ? w.n + w.m : (long)max_edits;
	size_t vcap = 2 * (size_t)w.max + 3;
	int32_t *vbuf = calloc(vcap, sizeof(*vbuf));
	w.trace = calloc(((size_t)w.max + 1) * ((size_t)w.max + 1), sizeof(*w.trace));
	struct linediff_op *rev = calloc((size_t)(w.n + w.m) + 1, sizeof(*rev));
	int rc = vbuf && w.trace && rev ? 0 : -ENOMEM;
	if (rc == 0 && search(&w, vbuf + w.max + 1)) {
		size_t nrev = 0;
		backtrack(&w, rev, &nrev, p);
		while (nrev) {
			d->ops[d->n_ops++] = rev[--nrev];
		}
	} else if (rc == 0) {
		replace_all(d, p, ea, eb);
	}
	free(vbuf);
	free(w.trace);
	free(rev);
	return rc;
}

int linediff_run(struct linediff *d, const char *a, size_t na, const char *b, size_t nb,
                 size_t max_edits)
{
	linediff_free(d);
	int rc = split(a, na, &d->la, &d->na);
	rc = rc ? rc : split(b, nb, &d->lb, &d->nb);
	d->ops = rc ? NULL : calloc(d->na + d->nb + 1, sizeof(*d->ops));
	if (rc || !d->ops) {
		return -ENOMEM;
	}
	size_t p = 0, s = 0;
	while (p < d->na && p < d->nb && line_eq(&d->la[p], &d->lb[p])) {
		push(d, '=', p, p);
		p++;
	}
	while (s < d->na - p && s < d->nb - p &&
	       line_eq(&d->la[d->na - 1 - s], &d->lb[d->nb - 1 - s])) {
		s++;
	}
	rc = middle(d, p, d->na - s, d->nb - s, max_edits);
	for (size_t i = s; rc == 0 && i > 0; i--) {
		push(d, '=', d->na - i, d->nb - i);
	}
	return rc;
}
