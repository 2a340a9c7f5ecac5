/* Registry auth: challenges, docker config credentials, base64, token cache.
 * Table-driven from fixtures/auth/ (see its README). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/auth.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

static const char *srcdir(void)
{
	const char *s = getenv("LKS_SRCDIR");
	return s ? s : ".";
}

static const char *opt(const char *s)
{
	return strcmp(s, "-") ? s : NULL;
}

static void expect_opt(const char *got, const char *want, const char *what, const char *in)
{
	if (opt(want)) {
		cr_expect(got && !strcmp(got, want), "%s of '%s': got '%s' want '%s'", what, in,
		          got ? got : "(null)", want);
	} else {
		cr_expect_null(got, "%s of '%s' should be absent, got '%s'", what, in, got);
	}
}

static void check_challenge(char **f)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_auth_challenge c;
	int rc = lks_auth_parse_challenge(&ctx, f[0], &c);
	if (!strcmp(f[1], "ERR")) {
		cr_expect_eq(rc, -LKS_E_PARSE, "'%s' should be rejected", f[0]);
		cr_expect(ctx.err[0], "rejection of '%s' has a message", f[0]);
		lks_ctx_free(&ctx);
		return;
	}
	cr_assert_eq(rc, 0, "'%s': %s", f[0], ctx.err);
	enum lks_auth_scheme want = !strcmp(f[1], "bearer") ? LKS_AUTH_BEARER : LKS_AUTH_BASIC;
	cr_expect_eq(c.scheme, want, "scheme of '%s'", f[0]);
	expect_opt(c.realm, f[2], "realm", f[0]);
	expect_opt(c.service, f[3], "service", f[0]);
	expect_opt(c.scope, f[4], "scope", f[0]);
	expect_opt(c.error, f[5], "error", f[0]);
	lks_auth_challenge_free(&c);
	lks_ctx_free(&ctx);
}

Test(auth, challenge_table)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/auth/challenges.tsv", srcdir());
	_cleanup_fclose_ FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	char line[4096];
	int cases = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#') {
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		char *fields[6];
		int n = 0;
		for (char *p = line; n < 6; n++) {
			fields[n] = p;
			char *t = strchr(p, '\t');
			if (!t) {
				n++;
				break;
			}
			*t = '\0';
			p = t + 1;
		}
		cr_assert_eq(n, 6, "bad fixture line %d", cases + 1);
		check_challenge(fields);
		cases++;
	}
	cr_assert_gt(cases, 15);
}

Test(auth, challenge_huge_is_rejected)
{
	size_t n = 100000;
	char *s = malloc(n + 1);
	memset(s, 'a', n);
	memcpy(s, "Bearer realm=\"", 14);
	s[n] = '\0';
	struct lks_auth_challenge c;
	cr_expect_eq(lks_auth_parse_challenge(NULL, s, &c), -LKS_E_PARSE);
	free(s);
}

Test(auth, base64_roundtrip)
{
	static const char *const in[] = {"",     "f",     "fo",     "foo",
	                                 "foob", "fooba", "foobar", "alice:pa:ss"};
	static const char *const enc[] = {"",         "Zg==",     "Zm8=",     "Zm9v",
	                                  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "YWxpY2U6cGE6c3M="};
	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		_cleanup_free_ char *e = lks_base64_encode(in[i], strlen(in[i]));
		cr_expect_str_eq(e, enc[i]);
		_cleanup_free_ char *d = NULL;
		size_t dn;
		cr_assert_eq(lks_base64_decode(enc[i], &d, &dn), 0);
		cr_expect_eq(dn, strlen(in[i]));
		cr_expect_str_eq(d, in[i]);
	}
	char *d = NULL;
	size_t dn;
	cr_expect_eq(lks_base64_decode("Zm9v!", &d, &dn), -LKS_E_PARSE);
	cr_expect_eq(lks_base64_decode("Zg=a", &d, &dn), -LKS_E_PARSE);
	cr_expect_eq(lks_base64_decode("Zg===", &d, &dn), -LKS_E_PARSE);
}

struct lookup_case {
	const char *dir, *key;
	int rc;
	const char *user, *pass, *identity, *err_has, *secret;
};

static void run_lookup(const struct lookup_case *lc)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/fixtures/auth/%s", srcdir(), lc->dir);
	setenv("DOCKER_CONFIG", dir, 1);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_credentials c;
	int rc = lks_auth_lookup(&ctx, lc->key, &c);
	cr_expect_eq(rc, lc->rc, "%s/%s: rc %d (%s)", lc->dir, lc->key, rc, ctx.err);
	if (rc > 0) {
		expect_opt(c.username, lc->user ? lc->user : "-", "username", lc->dir);
		expect_opt(c.password, lc->pass ? lc->pass : "-", "password", lc->dir);
		expect_opt(c.identity_token, lc->identity ? lc->identity : "-", "identity",
		           lc->dir);
	}
	if (lc->err_has) {
		cr_expect(strstr(ctx.err, lc->err_has), "%s: message '%s'", lc->dir, ctx.err);
	}
	if (lc->secret) {
		cr_expect(!strstr(ctx.err, lc->secret), "%s: message leaks a secret", lc->dir);
	}
	lks_credentials_free(&c);
	lks_ctx_free(&ctx);
}

Test(auth, docker_config_lookup)
{
	static const struct lookup_case cases[] = {
	    {"dc-auth", "reg.example:5000", 1, "alice", "pa:ss", NULL, NULL, NULL},
	    {"dc-auth", "other.example", 0, NULL, NULL, NULL, NULL, NULL},
	    {"dc-userpass", "reg.example", 1, "bob", "hunter2", NULL, NULL, NULL},
	    {"dc-hub", "https://index.docker.io/v1/", 1, "hubuser", "hubpass", NULL, NULL, NULL},
	    {"dc-identity", "reg.example", 1, NULL, NULL, "refresh-xyz", NULL, NULL},
	    {"dc-badauth", "reg.example", -LKS_E_PARSE, NULL, NULL, NULL, "not base64 of user",
	     "nocolon-secret"},
	    {"dc-badjson", "reg.example", -LKS_E_PARSE, NULL, NULL, NULL, "not valid JSON",
	     "c2VjcmV0"},
	    {"dc-helper", "helped.example", -LKS_E_AUTH, NULL, NULL, NULL,
	     "docker-credential-lks-fixture-missing", NULL},
	    {"dc-helper", "reg.example", 1, "x", "y", NULL, NULL, NULL},
	    {"does-not-exist", "reg.example", 0, NULL, NULL, NULL, NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		run_lookup(&cases[i]);
	}
	unsetenv("DOCKER_CONFIG");
}

Test(auth, basic_header)
{
	struct lks_credentials c = {.username = (char *)"alice", .password = (char *)"pa:ss"};
	_cleanup_free_ char *h = lks_auth_basic_header(&c);
	cr_expect_str_eq(h, "Authorization: Basic YWxpY2U6cGE6c3M=");
}

Test(auth, token_cache)
{
	lks_auth_token_cache_clear();
	cr_expect_null(lks_auth_token_get("r", "s", "repository:x:pull"));
	cr_assert_eq(lks_auth_token_put("r", "s", "repository:x:pull", "tok1", 300), 0);
	cr_assert_eq(lks_auth_token_put("r", "s", "repository:y:pull", "tok2", 300), 0);
	_cleanup_free_ char *a = lks_auth_token_get("r", "s", "repository:x:pull");
	_cleanup_free_ char *b = lks_auth_token_get("r", "s", "repository:y:pull");
	cr_expect_str_eq(a, "tok1");
	cr_expect_str_eq(b, "tok2");
	cr_expect_null(lks_auth_token_get("r", "other", "repository:x:pull"));
	cr_assert_eq(lks_auth_token_put("r", "s", "repository:x:pull", "tok3", 300), 0);
	_cleanup_free_ char *c = lks_auth_token_get("r", "s", "repository:x:pull");
	cr_expect_str_eq(c, "tok3");
	cr_assert_eq(lks_auth_token_put("r", "s", "short", "tok4", 1), 0);
	sleep(2);
	cr_expect_null(lks_auth_token_get("r", "s", "short"), "expired token served");
	for (int i = 0; i < 1000; i++) {
		char scope[32];
		snprintf(scope, sizeof(scope), "s%d", i);
		cr_assert_eq(lks_auth_token_put("r", "s", scope, "t", 300), 0);
	}
	_cleanup_free_ char *last = lks_auth_token_get("r", "s", "s999");
	cr_expect_str_eq(last, "t");
	lks_auth_token_cache_clear();
}
