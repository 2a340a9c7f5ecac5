/* Reference parsing, table-driven from fixtures/oci_ref/ (see its README). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/oci_ref.h"

#define MAX_FIELDS 6

static FILE *open_fixture(const char *name)
{
	const char *src = getenv("LKS_SRCDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/oci_ref/%s", src ? src : ".", name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	return f;
}

/* Split a tab-separated line in place; returns the field count. */
static int split_tabs(char *line, char **fields)
{
	line[strcspn(line, "\n")] = '\0';
	int n = 0;
	for (char *p = line; n < MAX_FIELDS; n++) {
		fields[n] = p;
		char *t = strchr(p, '\t');
		if (!t) {
			return n + 1;
		}
		*t = '\0';
		p = t + 1;
	}
	return n;
}

static const char *opt(const char *s)
{
	return strcmp(s, "-") ? s : NULL;
}

static void check_valid(char **f)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_oci_ref r, again;
	int rc = lks_oci_ref_parse(&ctx, f[0], &r);
	cr_assert_eq(rc, 0, "'%s' should parse: %s", f[0], ctx.err);
	cr_expect_str_eq(r.domain, f[1], "domain of '%s'", f[0]);
	cr_expect_str_eq(r.path, f[2], "path of '%s'", f[0]);
	if (opt(f[3])) {
		cr_expect_str_eq(r.tag ? r.tag : "(null)", f[3], "tag of '%s'", f[0]);
	} else {
		cr_expect_null(r.tag, "'%s' should have no tag", f[0]);
	}
	if (opt(f[4])) {
		cr_expect_str_eq(r.digest ? r.digest : "(null)", f[4], "digest of '%s'", f[0]);
	} else {
		cr_expect_null(r.digest, "'%s' should have no digest", f[0]);
	}
	_cleanup_free_ char *fam = lks_oci_ref_format(&r, LKS_OCI_REF_FAMILIAR);
	cr_expect_str_eq(fam, f[5], "familiar form of '%s'", f[0]);
	/* Both forms must re-parse to the same reference. */
	_cleanup_free_ char *full = lks_oci_ref_format(&r, LKS_OCI_REF_FULL);
	cr_assert_eq(lks_oci_ref_parse(&ctx, full, &again), 0, "'%s': %s", full, ctx.err);
	cr_expect(lks_oci_ref_equal(&r, &again), "'%s' does not round-trip via '%s'", f[0], full);
	lks_oci_ref_free(&again);
	cr_assert_eq(lks_oci_ref_parse(&ctx, fam, &again), 0, "'%s': %s", fam, ctx.err);
	cr_expect(lks_oci_ref_equal(&r, &again), "'%s' does not round-trip via '%s'", f[0], fam);
	lks_oci_ref_free(&again);
	lks_oci_ref_free(&r);
	lks_ctx_free(&ctx);
}

Test(oci_ref, valid_table)
{
	_cleanup_fclose_ FILE *f = open_fixture("refs.tsv");
	char line[2048];
	int cases = 0;
	while (fgets(line, sizeof(line), f)) {
		char *fields[MAX_FIELDS];
		if (line[0] == '#' || split_tabs(line, fields) != 6) {
			continue;
		}
		check_valid(fields);
		cases++;
	}
	cr_assert_gt(cases, 30);
}

Test(oci_ref, invalid_table)
{
	_cleanup_fclose_ FILE *f = open_fixture("invalid.tsv");
	char line[2048];
	int cases = 0;
	while (fgets(line, sizeof(line), f)) {
		char *fields[MAX_FIELDS];
		if (line[0] == '#' || split_tabs(line, fields) != 2) {
			continue;
		}
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_oci_ref r;
		int rc = lks_oci_ref_parse(&ctx, fields[0], &r);
		cr_expect_eq(rc, -LKS_E_INVAL, "'%s' should be rejected", fields[0]);
		cr_expect(strstr(ctx.err, fields[1]) != NULL, "'%s': message '%s' lacks '%s'",
		          fields[0], ctx.err, fields[1]);
		cr_expect(!strncmp(ctx.err, "invalid reference '", 19), "message: %s", ctx.err);
		cr_expect_null(r.domain);
		lks_ctx_free(&ctx);
		cases++;
	}
	cr_assert_gt(cases, 25);
}

Test(oci_ref, empty_and_huge)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_oci_ref r;
	cr_assert_eq(lks_oci_ref_parse(&ctx, "", &r), -LKS_E_INVAL);
	cr_assert(strstr(ctx.err, "empty"));
	char *big = malloc(100001);
	memset(big, 'a', 100000);
	big[100000] = '\0';
	cr_assert_eq(lks_oci_ref_parse(&ctx, big, &r), -LKS_E_INVAL);
	cr_assert_lt(strlen(ctx.err), 200);
	free(big);
	lks_ctx_free(&ctx);
}

Test(oci_ref, forms_and_hosts)
{
	static const struct {
		const char *in, *name, *fam_name, *api, *auth;
	} cases[] = {
	    {"python", "docker.io/library/python", "python", "registry-1.docker.io",
	     "https://index.docker.io/v1/"},
	    {"user/app:1", "docker.io/user/app", "user/app", "registry-1.docker.io",
	     "https://index.docker.io/v1/"},
	    {"127.0.0.1:5000/x:1", "127.0.0.1:5000/x", "127.0.0.1:5000/x", "127.0.0.1:5000",
	     "127.0.0.1:5000"},
	    {"ghcr.io/o/r", "ghcr.io/o/r", "ghcr.io/o/r", "ghcr.io", "ghcr.io"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lks_oci_ref r;
		cr_assert_eq(lks_oci_ref_parse(NULL, cases[i].in, &r), 0);
		_cleanup_free_ char *name = lks_oci_ref_format(&r, LKS_OCI_REF_NAME);
		_cleanup_free_ char *fam = lks_oci_ref_format(&r, LKS_OCI_REF_FAMILIAR_NAME);
		cr_expect_str_eq(name, cases[i].name);
		cr_expect_str_eq(fam, cases[i].fam_name);
		cr_expect_str_eq(lks_oci_ref_api_host(&r), cases[i].api);
		cr_expect_str_eq(lks_oci_ref_auth_key(&r), cases[i].auth);
		struct lks_oci_ref c;
		cr_assert_eq(lks_oci_ref_copy(&r, &c), 0);
		cr_expect(lks_oci_ref_equal(&r, &c));
		lks_oci_ref_free(&c);
		lks_oci_ref_free(&r);
	}
	struct lks_oci_ref r;
	cr_assert_eq(lks_oci_ref_parse(NULL, "python", &r), 0);
	cr_expect(r.implicit_tag);
	lks_oci_ref_free(&r);
}
