/* linediff: shortest edit scripts, checked against an LCS table on random texts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/linediff.h"

/* "=a -b +c" for a script (line texts are one character here). */
static void script(const struct linediff *d, char *out, size_t cap)
{
	size_t w = 0;
	for (size_t i = 0; i < d->n_ops && w + 4 < cap; i++) {
		const struct linediff_op *o = &d->ops[i];
		const struct linediff_line *l = o->kind == '+' ? &d->lb[o->b] : &d->la[o->a];
		w += (size_t)snprintf(out + w, cap - w, "%s%c%.*s", i ? " " : "", o->kind,
		                      (int)l->len, l->p);
	}
	out[w] = '\0';
}

static const struct {
	const char *a, *b, *want;
} cases[] = {
    {"", "", ""},
    {"a\n", "a\n", "=a"},
    {"a\nb\nc\n", "a\nx\nc\n", "=a -b +x =c"},
    {"a\nb\n", "a\nb\nc", "=a =b +c"},
    {"a\nb\nc\n", "c\n", "-a -b =c"},
    {"a\nb\nc\na\nb\nb\na\n", "c\nb\na\nb\na\nc\n", NULL}, /* Myers' example: 5 edits */
    {"x", "", "-x"},
    {"\n\n", "\n", "= -"},
};

Test(linediff, table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct linediff d;
		linediff_init(&d);
		cr_assert_eq(linediff_run(&d, cases[i].a, strlen(cases[i].a), cases[i].b,
		                          strlen(cases[i].b), LINEDIFF_MAX_EDITS),
		             0);
		char got[256];
		script(&d, got, sizeof(got));
		if (cases[i].want) {
			cr_assert_str_eq(got, cases[i].want, "case %zu", i);
		} else {
			size_t edits = 0;
			for (size_t k = 0; k < d.n_ops; k++) {
				edits += d.ops[k].kind != '=';
			}
			cr_assert_eq(edits, 5, "case %zu: %s", i, got);
		}
		linediff_free(&d);
	}
}

static size_t lcs(const char *a, size_t n, const char *b, size_t m)
{
	static size_t t[65][65];
	for (size_t i = 0; i <= n; i++) {
		for (size_t k = 0; k <= m; k++) {
			t[i][k] = !i || !k               ? 0
			          : a[i - 1] == b[k - 1] ? t[i - 1][k - 1] + 1
			          : t[i - 1][k] > t[i][k - 1] ? t[i - 1][k]
			                                      : t[i][k - 1];
		}
	}
	return t[n][m];
}

/* Random texts over a small alphabet: the script rebuilds both sides, and its edit count is
 * n + m - 2 LCS (a shortest script). */
Test(linediff, random_scripts_are_shortest)
{
	srand(7);
	for (int round = 0; round < 2000; round++) {
		char a[64], b[64], ta[130], tb[130];
		size_t n = (size_t)rand() % 40, m = (size_t)rand() % 40;
		for (size_t i = 0; i < n; i++) {
			a[i] = (char)('a' + rand() % 4);
			ta[2 * i] = a[i];
			ta[2 * i + 1] = '\n';
		}
		for (size_t i = 0; i < m; i++) {
			b[i] = (char)('a' + rand() % 4);
			tb[2 * i] = b[i];
			tb[2 * i + 1] = '\n';
		}
		struct linediff d;
		linediff_init(&d);
		cr_assert_eq(linediff_run(&d, ta, 2 * n, tb, 2 * m, LINEDIFF_MAX_EDITS), 0);
		size_t ia = 0, ib = 0, edits = 0;
		for (size_t k = 0; k < d.n_ops; k++) {
			const struct linediff_op *o = &d.ops[k];
			cr_assert(o->kind == '+' || o->a == ia++, "round %d: a order", round);
			cr_assert(o->kind == '-' || o->b == ib++, "round %d: b order", round);
			cr_assert(o->kind != '=' || a[o->a] == b[o->b], "round %d: '=' on unequal",
			          round);
			edits += o->kind != '=';
		}
		cr_assert_eq(ia, n);
		cr_assert_eq(ib, m);
		cr_assert_eq(edits, n + m - 2 * lcs(a, n, b, m), "round %d", round);
		linediff_free(&d);
	}
}

/* Past the edit cap the middle is replaced wholesale: still a valid script. */
Test(linediff, capped_edits_replace_the_middle)
{
	const char *a = "same\n1\n2\n3\nend\n", *b = "same\n4\n5\n6\nend\n";
	struct linediff d;
	linediff_init(&d);
	cr_assert_eq(linediff_run(&d, a, strlen(a), b, strlen(b), 2), 0);
	char got[256];
	script(&d, got, sizeof(got));
	cr_assert_str_eq(got, "=same -1 -2 -3 +4 +5 +6 =end");
	linediff_free(&d);
}
