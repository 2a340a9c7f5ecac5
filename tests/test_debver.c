#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/debver.h"

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

/* fixtures/apt/debver.tsv: every documented case, checked in both directions. */
Test(debver, documented_table)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/apt/debver.tsv", getenv("LKS_SRCDIR"));
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n') {
			continue;
		}
		char a[200], op[4], b[200];
		cr_assert_eq(sscanf(line, "%199s %3s %199s", a, op, b), 3, "bad line %s", line);
		int want = op[0] == '<' ? -1 : op[0] == '>' ? 1 : 0;
		cr_expect_eq(sign(lks_debver_cmp(a, b)), want, "%s %s %s", a, op, b);
		cr_expect_eq(sign(lks_debver_cmp(b, a)), -want, "reverse of %s %s %s", a, op, b);
		n++;
	}
	fclose(f);
	cr_assert_gt(n, 30);
}

Test(debver, validity)
{
	static const struct {
		const char *v;
		bool ok;
	} cases[] = {
	    {"1.0", true},      {"1:1.0-1", true},  {"1.0-1+deb12u1", true},
	    {"0.19.0-1", true}, {"1.0~rc1", true},  {"2:1.2.3-4ubuntu5~bpo1", true},
	    {"1.0-1-2", true},  {"", false},        {"a1.0", false},
	    {"1.0-", false},    {":1.0", false},    {"x:1.0", false},
	    {"1.0 1", false},   {"1:", false},      {"99999999999:1", false},
	    {"1.0_1", false},   {"1.0-a:b", false}, {"1.0-1!", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(lks_debver_valid(cases[i].v), cases[i].ok, "'%s'", cases[i].v);
	}
}

/* Total order over a pool of versions: antisymmetric, reflexive, transitive. */
Test(debver, total_order)
{
	static const char *pool[] = {"1.0",      "1.0-0",   "1.0~",  "1.0~~", "1.0a",
	                             "1.0+",     "1:0",     "0:1.0", "1.00",  "1.0.1",
	                             "1.0-1",    "1.0-1~",  "2",     "10",    "1a",
	                             "1.0-1+b1", "1.0-1.1", "1~",    "~",     "0"};
	size_t n = sizeof(pool) / sizeof(pool[0]);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(lks_debver_cmp(pool[i], pool[i]), 0);
		for (size_t j = 0; j < n; j++) {
			int ij = sign(lks_debver_cmp(pool[i], pool[j]));
			cr_expect_eq(ij, -sign(lks_debver_cmp(pool[j], pool[i])), "%s %s", pool[i],
			             pool[j]);
			for (size_t k = 0; k < n; k++) {
				int jk = sign(lks_debver_cmp(pool[j], pool[k]));
				if (ij <= 0 && jk <= 0) {
					cr_expect_leq(lks_debver_cmp(pool[i], pool[k]), 0,
					              "%s %s %s", pool[i], pool[j], pool[k]);
				}
			}
		}
	}
}
