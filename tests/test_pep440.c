/* PEP 440: tables under fixtures/python/ were produced with pip 23's packaging 21.3. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/error.h"
#include "pinner/python/pep440.h"

/* Read the next data line of a fixture (skipping '#' comments); split on tabs into f[]. */
static int next_row(FILE *fp, char *line, size_t len, char **f, int nf)
{
	while (fgets(line, (int)len, fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#') {
			continue;
		}
		int k = 0;
		char *p = line;
		while (k < nf) {
			f[k++] = p;
			p = strchr(p, '\t');
			if (!p) {
				break;
			}
			*p++ = '\0';
		}
		return k;
	}
	return -1;
}

static FILE *fixture(const char *name)
{
	char path[4096];
	const char *src = getenv("LKS_SRCDIR");
	snprintf(path, sizeof(path), "%s/fixtures/python/%s", src ? src : ".", name);
	FILE *fp = fopen(path, "r");
	cr_assert(fp, "cannot open %s", path);
	return fp;
}

static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] == 't') {
			*w++ = '\t';
			r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

Test(pep440, versions_table)
{
	FILE *fp = fixture("pep440_versions.tsv");
	char line[1024], *f[2];
	int rows = 0;
	while (next_row(fp, line, sizeof(line), f, 2) == 2) {
		unescape(f[0]);
		struct lks_pep440 v, v2;
		int rc = lks_pep440_parse(NULL, f[0], strlen(f[0]), &v);
		if (!strcmp(f[1], "!")) {
			cr_expect(rc < 0, "'%s' should be rejected", f[0]);
			rows++;
			continue;
		}
		cr_assert_eq(rc, 0, "'%s' should parse", f[0]);
		char out[LKS_PEP440_MAX_STR];
		lks_pep440_str(&v, out, sizeof(out));
		cr_expect_str_eq(out, f[1], "'%s' normalised", f[0]);
		cr_assert_eq(lks_pep440_parse(NULL, out, strlen(out), &v2), 0);
		cr_expect_eq(lks_pep440_cmp(&v, &v2), 0, "'%s' equals its normal form", f[0]);
		rows++;
	}
	fclose(fp);
	cr_assert_gt(rows, 60);
}

Test(pep440, total_order)
{
	FILE *fp = fixture("pep440_order.txt");
	char line[256], *f[1];
	struct lks_pep440 v[64];
	size_t n = 0;
	while (n < 64 && next_row(fp, line, sizeof(line), f, 1) == 1) {
		cr_assert_eq(lks_pep440_parse(NULL, f[0], strlen(f[0]), &v[n]), 0, "%s", f[0]);
		n++;
	}
	fclose(fp);
	cr_assert_gt(n, 20);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = i < j ? -1 : i > j;
			cr_expect_eq(lks_pep440_cmp(&v[i], &v[j]), want, "cmp #%zu #%zu", i, j);
		}
	}
}

Test(pep440, equal_spellings)
{
	const char *same[][2] = {
	    {"1.0", "1.0.0.0"}, {"1.0a0", "1.0a"},   {"1.0.post0", "1.0-r"},
	    {"1!0", "1!0.0"},   {"1.0+01", "1.0+1"}, {"1.0+a.B", "1.0+A-b"},
	};
	for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
		struct lks_pep440 a, b;
		cr_assert_eq(lks_pep440_parse(NULL, same[k][0], strlen(same[k][0]), &a), 0);
		cr_assert_eq(lks_pep440_parse(NULL, same[k][1], strlen(same[k][1]), &b), 0);
		cr_expect_eq(lks_pep440_cmp(&a, &b), 0, "%s == %s", same[k][0], same[k][1]);
	}
}

Test(pep440, hostile_numbers)
{
	struct lks_ctx ctx = {0};
	struct lks_pep440 v;
	char many[200] = "1";
	for (int k = 0; k < 40; k++) {
		strcat(many, ".1");
	}
	cr_expect_eq(lks_pep440_parse(&ctx, many, strlen(many), &v), -LKS_E_TOOBIG);
	cr_expect(strstr(ctx.err, "too many segments"));
	char local[120] = "1+";
	memset(local + 2, 'a', 100);
	local[102] = '\0';
	cr_expect_eq(lks_pep440_parse(&ctx, local, strlen(local), &v), -LKS_E_TOOBIG);
	char digits[300];
	memset(digits, '9', 299);
	digits[299] = '\0';
	cr_expect_eq(lks_pep440_parse(&ctx, digits, strlen(digits), &v), -LKS_E_TOOBIG);
}

/* Numbers beyond uint64_t compare as the Python integers packaging uses (issue 11). */
Test(pep440, big_numbers)
{
	const char *order[] = {
	    "18446744073709551615",
	    "18446744073709551616",
	    "18446744073709551616.0.1",
	    "18446744073709551617",
	    "99999999999999999999",
	    "100000000000000000000",
	    "1!0",
	    "18446744073709551616!0",
	};
	struct lks_pep440 v[8];
	for (size_t k = 0; k < 8; k++) {
		cr_assert_eq(lks_pep440_parse(NULL, order[k], strlen(order[k]), &v[k]), 0, "%s",
		             order[k]);
		char out[LKS_PEP440_MAX_STR];
		lks_pep440_str(&v[k], out, sizeof(out));
		cr_expect_str_eq(out, order[k]);
	}
	for (size_t i = 0; i < 8; i++) {
		for (size_t j = 0; j < 8; j++) {
			cr_expect_eq(lks_pep440_cmp(&v[i], &v[j]), i < j ? -1 : i > j, "%s vs %s",
			             order[i], order[j]);
		}
	}
	struct lks_pep440 a, b;
	const char *x = "1.000018446744073709551616", *y = "1.18446744073709551616.0";
	cr_assert_eq(lks_pep440_parse(NULL, x, strlen(x), &a), 0);
	cr_assert_eq(lks_pep440_parse(NULL, y, strlen(y), &b), 0);
	cr_expect_eq(lks_pep440_cmp(&a, &b), 0, "leading zeros and trailing .0 do not count");
}

/* Blank clauses are dropped as packaging and pip do (issue 11: Requires-Python ">=3.9,"). */
Test(pep440, blank_clauses)
{
	const char *sets[][2] = {
	    {">=3.9,", ">=3.9"}, {",>=3.9", ">=3.9"}, {">=3.9,,<4", ">=3.9,<4"},
	    {" , ", ""},         {",", ""},           {">=3.9 , ", ">=3.9"},
	};
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		struct lks_pep440_specset set;
		lks_pep440_specset_init(&set);
		cr_assert_eq(lks_pep440_specset_parse(NULL, sets[k][0], strlen(sets[k][0]), &set),
		             0, "'%s'", sets[k][0]);
		char out[128];
		lks_pep440_specset_str(&set, out, sizeof(out));
		cr_expect_str_eq(out, sets[k][1], "'%s'", sets[k][0]);
		lks_pep440_specset_free(&set);
	}
}

Test(pep440, specifier_table)
{
	FILE *fp = fixture("pep440_specs.tsv");
	char line[512], *f[4];
	int rows = 0;
	while (next_row(fp, line, sizeof(line), f, 4) == 4) {
		struct lks_pep440_specset set;
		struct lks_pep440 v;
		lks_pep440_specset_init(&set);
		cr_assert_eq(lks_pep440_specset_parse(NULL, f[0], strlen(f[0]), &set), 0, "%s",
		             f[0]);
		cr_assert_eq(lks_pep440_parse(NULL, f[1], strlen(f[1]), &v), 0, "%s", f[1]);
		cr_expect_eq(lks_pep440_specset_contains(&set, &v, false), f[2][0] == '1',
		             "'%s' contains '%s'", f[0], f[1]);
		cr_expect_eq(lks_pep440_specset_contains(&set, &v, true), f[3][0] == '1',
		             "'%s' contains '%s' (pre-releases allowed)", f[0], f[1]);
		lks_pep440_specset_free(&set);
		rows++;
	}
	fclose(fp);
	cr_assert_gt(rows, 500);
}

Test(pep440, bad_specifiers)
{
	const char *bad[] = {
	    "1.0",       ">=1.0+local", "~=1", "~=1.0.*", "==1.0a1.*", "<1.*",
	    "== 1.0 .*", "=>1.0",       ">=",  ">=1.0,<", "==1.0+",    "!=1.0.*.*",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct lks_ctx ctx = {0};
		struct lks_pep440_specset set;
		lks_pep440_specset_init(&set);
		cr_expect_lt(lks_pep440_specset_parse(&ctx, bad[k], strlen(bad[k]), &set), 0,
		             "'%s' should be rejected", bad[k]);
		cr_expect_neq(ctx.err[0], '\0', "'%s' has a message", bad[k]);
		lks_pep440_specset_free(&set);
	}
}

Test(pep440, filter_prereleases_like_pip)
{
	struct {
		const char *spec;
		const char *versions;
		const char *want;
	} cases[] = {
	    {"", "1.0 2.0b1", "1.0"},      {"", "2.0b1 2.0b2", "2.0b1 2.0b2"},
	    {">=1.0", "2.0b1", ""},        {">=2.0b1", "1.5 2.0b1 2.0", "2.0b1 2.0"},
	    {"<3", "1.0 2.0.dev1", "1.0"}, {"==2.0b1", "2.0b1 2.0", "2.0b1"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct lks_pep440_specset set;
		lks_pep440_specset_init(&set);
		cr_assert_eq(
		    lks_pep440_specset_parse(NULL, cases[k].spec, strlen(cases[k].spec), &set), 0);
		struct lks_pep440 vs[8];
		const struct lks_pep440 *pv[8];
		char names[8][32];
		size_t n = 0;
		char tmp[128];
		snprintf(tmp, sizeof(tmp), "%s", cases[k].versions);
		for (char *t = strtok(tmp, " "); t; t = strtok(NULL, " ")) {
			snprintf(names[n], sizeof(names[n]), "%s", t);
			cr_assert_eq(lks_pep440_parse(NULL, t, strlen(t), &vs[n]), 0);
			pv[n] = &vs[n];
			n++;
		}
		bool keep[8];
		lks_pep440_specset_filter(&set, pv, n, false, keep);
		char got[128] = "";
		for (size_t i = 0; i < n; i++) {
			if (keep[i]) {
				strcat(got, got[0] ? " " : "");
				strcat(got, names[i]);
			}
		}
		cr_expect_str_eq(got, cases[k].want, "filter '%s'", cases[k].spec);
		lks_pep440_specset_free(&set);
	}
}

/* One of the two oracles' answers (pip 23, packaging HEAD): equal to both where they agree. */
static bool either(const char *got, const char *a, const char *b)
{
	return !strcmp(got, a) || !strcmp(got, b);
}

/* pypa/packaging's own test suite, answers from pip 23 and packaging HEAD
 * (fixtures/python/harvest_packaging.py). */
Test(pep440, packaging_suite_versions)
{
	FILE *fp = fixture("packaging_versions.tsv");
	char line[512], *f[5];
	static struct lks_pep440 v[1024];
	static long rank[1024];
	size_t n = 0;
	int rows = 0;
	while (next_row(fp, line, sizeof(line), f, 5) == 5) {
		struct lks_ctx ctx = {0};
		struct lks_pep440 pv;
		int rc = lks_pep440_parse(&ctx, f[0], strlen(f[0]), &pv);
		rows++;
		cr_assert_str_eq(f[1], f[3], "the oracles agree on '%s'", f[0]);
		cr_assert_str_eq(f[2], f[4], "the oracles agree on the order of '%s'", f[0]);
		if (!strcmp(f[1], "!")) {
			cr_expect(rc < 0 && ctx.err[0], "'%s' should be rejected", f[0]);
			continue;
		}
		cr_expect_eq(rc, 0, "'%s' should parse: %s", f[0], ctx.err);
		if (rc < 0) {
			continue;
		}
		char out[LKS_PEP440_MAX_STR];
		lks_pep440_str(&pv, out, sizeof(out));
		cr_expect_str_eq(out, f[1], "'%s' normalised", f[0]);
		cr_assert_lt(n, 1024);
		v[n] = pv;
		rank[n++] = atol(f[2]);
	}
	fclose(fp);
	cr_assert_gt(rows, 400);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = rank[i] < rank[j] ? -1 : rank[i] > rank[j];
			cr_expect_eq(lks_pep440_cmp(&v[i], &v[j]), want, "cmp rank %ld rank %ld",
			             rank[i], rank[j]);
		}
	}
}

Test(pep440, packaging_suite_specifiers)
{
	FILE *fp = fixture("packaging_specs.tsv");
	char line[512], *f[6];
	int rows = 0;
	while (next_row(fp, line, sizeof(line), f, 6) == 6) {
		struct lks_ctx ctx = {0};
		struct lks_pep440_specset set;
		lks_pep440_specset_init(&set);
		int rc = lks_pep440_specset_parse(&ctx, f[0], strlen(f[0]), &set);
		rows++;
		const char *parsed = rc < 0 ? "!" : "ok";
		if (!strcmp(f[2], "!") || !strcmp(f[4], "!")) {
			cr_expect(either(parsed, !strcmp(f[2], "!") ? "!" : "ok",
			                 !strcmp(f[4], "!") ? "!" : "ok"),
			          "'%s': %s (%s)", f[0], parsed, ctx.err);
			cr_expect(rc == 0 || ctx.err[0], "'%s' rejected with a message", f[0]);
		} else {
			cr_expect_eq(rc, 0, "'%s' should parse: %s", f[0], ctx.err);
		}
		struct lks_pep440 v;
		if (rc == 0 && strcmp(f[1], "-") && strcmp(f[2], "!")) {
			cr_assert_eq(lks_pep440_parse(NULL, f[1], strlen(f[1]), &v), 0, "%s", f[1]);
			const char *got = lks_pep440_specset_contains(&set, &v, false) ? "1" : "0";
			cr_expect(either(got, f[2], f[4]), "'%s' contains '%s': %s", f[0], f[1],
			          got);
			got = lks_pep440_specset_contains(&set, &v, true) ? "1" : "0";
			cr_expect(either(got, f[3], f[5]), "'%s' contains '%s' (pre-releases): %s",
			          f[0], f[1], got);
		}
		lks_pep440_specset_free(&set);
	}
	fclose(fp);
	cr_assert_gt(rows, 800);
}
