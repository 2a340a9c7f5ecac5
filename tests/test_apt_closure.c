#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_closure.h"
#include "pinner/apt/apt_index.h"
#include "pinner/apt/apt_rel.h"
#include "pinner/apt/apt_resolve.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"

/* ---- relationship fields ---- */

static const struct {
	const char *text;
	int rc;
	const char *want; /* groups ", "-joined, alternatives " | "-joined, as formatted */
} rel_cases[] = {
    {"", 0, ""},
    {"libc6 (>= 2.36)", 0, "libc6 (>= 2.36)"},
    {"a | b:any, c (<< 1:2.0~rc1)", 0, "a | b:any, c (<< 1:2.0~rc1)"},
    {" a(=1.0) ,b  ( >> 2 )|c:native ", 0, "a (= 1.0), b (>> 2) | c:native"},
    {"a (< 1), b (> 2)", 0, "a (<= 1), b (>= 2)"},
    {"foo [amd64 !i386] <!nocheck> | bar", 0, "foo | bar"},
    {"multi,\n line (>= 1),\n next", 0, "multi, line (>= 1), next"},
    {"a (>= 1", -LKS_E_PARSE, "expected ')'"},
    {"a (~ 1)", -LKS_E_PARSE, "expected a version operator"},
    {"a ()", -LKS_E_PARSE, "expected a version operator"},
    {"a (>= )", -LKS_E_PARSE, "expected a version"},
    {"a, | b", -LKS_E_PARSE, "expected a package name"},
    {"a b", -LKS_E_PARSE, "unexpected character"},
    {"a:", -LKS_E_PARSE, "expected an architecture"},
    {"a [amd64", -LKS_E_PARSE, "unterminated restriction"},
};

static void format_rels(const struct lks_apt_rels *r, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->v[i].n; j++) {
			char one[600];
			lks_apt_alt_format(&r->v[i].alts[j], one, sizeof(one));
			n += (size_t)snprintf(out + n, cap - n, "%s%s",
			                      j   ? " | "
			                      : i ? ", "
			                          : "",
			                      one);
		}
	}
}

Test(apt_rel, table)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	for (size_t i = 0; i < sizeof(rel_cases) / sizeof(rel_cases[0]); i++) {
		struct lks_apt_rels r;
		int rc = lks_apt_rels_parse(&ctx, rel_cases[i].text, &r);
		cr_expect_eq(rc, rel_cases[i].rc, "'%s': rc %d (%s)", rel_cases[i].text, rc,
		             ctx.err);
		if (rc == 0) {
			char got[2048];
			format_rels(&r, got, sizeof(got));
			cr_expect_str_eq(got, rel_cases[i].want, "'%s'", rel_cases[i].text);
			lks_apt_rels_free(&r);
		} else {
			cr_expect(strstr(ctx.err, rel_cases[i].want), "'%s': %s", rel_cases[i].text,
			          ctx.err);
		}
	}
	lks_ctx_free(&ctx);
}

Test(apt_rel, caps_and_ops)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_buf b;
	lks_buf_init(&b, 0);
	for (int i = 0; i <= LKS_APT_REL_MAX_ALTS; i++) {
		lks_buf_printf(&b, "%sp%d", i ? " | " : "", i);
	}
	struct lks_apt_rels r;
	cr_expect_eq(lks_apt_rels_parse(&ctx, b.data, &r), -LKS_E_TOOBIG);
	lks_buf_free(&b);
	cr_expect(lks_apt_relop_holds(LKS_APT_REL_GE, "1.0-1", "1.0"));
	cr_expect(!lks_apt_relop_holds(LKS_APT_REL_LT, "1.0", "1.0~rc1"));
	cr_expect(lks_apt_relop_holds(LKS_APT_REL_GT, "1:0.1", "9.9"));
	cr_expect(lks_apt_relop_holds(LKS_APT_REL_EQ, "1.00", "1.0"));
	cr_expect(lks_apt_relop_holds(LKS_APT_REL_LE, "1.0~", "1.0"));
	cr_expect(lks_apt_relop_holds(LKS_APT_REL_NONE, "x", NULL));
	lks_ctx_free(&ctx);
}

/* ---- closure ---- */

static void fixture(const char *name, struct lks_buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/apt/closure/%s", getenv("LKS_SRCDIR"), name);
	lks_buf_init(b, 0);
	cr_assert_eq(lks_buf_read_file(b, path), 0, "cannot read %s", path);
}

static struct lks_ctx ctx;
static struct lks_apt_index idx;
static struct lks_apt_installed inst;
static struct lks_apt_policy pol;

static void setup(void)
{
	lks_ctx_init(&ctx);
	lks_apt_index_init(&idx);
	struct lks_buf pk, rel, st;
	fixture("Packages", &pk);
	fixture("status", &st);
	char dg[LKS_DIGEST_LEN + 1];
	cr_assert_eq(lks_sha256_buf(pk.data, pk.len, dg), 0);
	lks_buf_init(&rel, 0);
	lks_buf_printf(&rel, "Suite: stable\nSHA256:\n %s %zu main/binary-amd64/Packages\n", dg + 7,
	               pk.len);
	struct lks_apt_release r;
	cr_assert_eq(lks_apt_release_parse(&ctx, "Release", rel.data, rel.len, &r), 0);
	int ri = lks_apt_index_add_release(&idx, &r);
	cr_assert_eq(lks_apt_index_add_packages_mem(&ctx, &idx, (size_t)ri, "main", "amd64",
	                                            pk.data, pk.len),
	             0, "%s", ctx.err);
	cr_assert_eq(lks_apt_installed_parse(&ctx, "status", st.data, st.len, &inst), 0, "%s",
	             ctx.err);
	cr_assert_eq(lks_apt_policy_init(&ctx, &pol, &idx, NULL, NULL, "amd64"), 0);
	lks_buf_free(&pk);
	lks_buf_free(&rel);
	lks_buf_free(&st);
}

static void teardown(void)
{
	lks_apt_policy_free(&pol);
	lks_apt_installed_free(&inst);
	lks_apt_index_free(&idx);
	lks_ctx_free(&ctx);
}

/* The closure of space-separated names as "name=version<of" sorted by name. */
static int closure_of(const char *names, char *out, size_t cap)
{
	struct lks_apt_choice reqs[8];
	size_t n = 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", names);
	for (char *s = strtok(buf, " "); s && n < 8; s = strtok(NULL, " ")) {
		struct lks_apt_request req;
		cr_assert_eq(lks_apt_request_parse(&ctx, s, &req), 0);
		cr_assert_eq(lks_apt_resolve(&ctx, &pol, &req, &reqs[n++]), 0, "%s", ctx.err);
	}
	struct lks_apt_closure c;
	int rc = lks_apt_closure(&ctx, &pol, &inst, reqs, n, &c);
	out[0] = '\0';
	size_t len = 0;
	for (size_t i = 0; rc == 0 && i < c.n; i++) {
		len += (size_t)snprintf(out + len, cap - len, "%s%s=%s<%s", i ? " " : "",
		                        c.v[i].choice.pkg->name, c.v[i].choice.pkg->version,
		                        c.v[i].of);
	}
	lks_apt_closure_free(&c);
	return rc;
}

TestSuite(apt_closure, .init = setup, .fini = teardown);

Test(apt_closure, installed_set)
{
	cr_expect_eq(inst.n, 5); /* "gone" has only config files */
	cr_expect_str_eq(inst.v[0].name, "libc6");
	cr_expect_str_eq(inst.v[3].name, "exim-old");
}

Test(apt_closure, apt_order)
{
	char got[2048];
	cr_assert_eq(closure_of("app", got, sizeof(got)), 0, "%s", ctx.err);
	cr_expect_str_eq(got, "prelib=2.0-1<app libfoo=1.3-1<app libbar=1.3-1<app "
	                      "newalt=1.0-1<app exim-like=4.96-1<app p-one=1.0<app gone=1.0<app");
	cr_assert_eq(closure_of("app2", got, sizeof(got)), 0, "%s", ctx.err);
	cr_expect_str_eq(got, "upgrade-me=1.1<app2 newalt=1.0-1<app2 vv-new=1.0<app2");
	/* what one requested package pulled in satisfies the next one's dependencies */
	cr_assert_eq(closure_of("app app2", got, sizeof(got)), 0, "%s", ctx.err);
	cr_expect_str_eq(got, "prelib=2.0-1<app libfoo=1.3-1<app libbar=1.3-1<app "
	                      "newalt=1.0-1<app exim-like=4.96-1<app p-one=1.0<app gone=1.0<app "
	                      "upgrade-me=1.1<app2 vv-new=1.0<app2");
	cr_assert_eq(closure_of("cyclic-a", got, sizeof(got)), 0, "%s", ctx.err);
	cr_expect_str_eq(got, "cyclic-b=1.0<cyclic-a");
	cr_assert_eq(closure_of("newalt", got, sizeof(got)), 0, "%s", ctx.err);
	cr_expect_str_eq(got, "");
}

Test(apt_closure, unsatisfiable_names_the_chain)
{
	char got[2048];
	cr_assert_eq(closure_of("broken", got, sizeof(got)), -LKS_E_CONFLICT);
	cr_expect(strstr(ctx.err, "apt dependency 'libbar (>= 9)' of broken cannot be satisfied: "
	                          "the candidate of 'libbar' is 1.3-1"),
	          "%s", ctx.err);
}

Test(apt_closure, any_needs_multi_arch_allowed)
{
	char got[2048];
	cr_assert_eq(closure_of("needs-any", got, sizeof(got)), -LKS_E_CONFLICT);
	cr_expect(strstr(ctx.err, "apt dependency 'libc6:any' of needs-any cannot be satisfied"),
	          "%s", ctx.err);
}

/* Installed packages apt would upgrade or remove, for the closure of `names`. */
static size_t clashes_of(const char *names, char *msg, size_t cap)
{
	struct lks_apt_choice reqs[8];
	const struct lks_apt_pkg *chosen[64];
	size_t n = 0, m = 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", names);
	for (char *s = strtok(buf, " "); s && n < 8; s = strtok(NULL, " ")) {
		struct lks_apt_request req;
		cr_assert_eq(lks_apt_request_parse(&ctx, s, &req), 0);
		cr_assert_eq(lks_apt_resolve(&ctx, &pol, &req, &reqs[n]), 0, "%s", ctx.err);
		chosen[m++] = reqs[n++].pkg;
	}
	struct lks_apt_closure c;
	cr_assert_eq(lks_apt_closure(&ctx, &pol, &inst, reqs, n, &c), 0, "%s", ctx.err);
	for (size_t i = 0; i < c.n && m < 64; i++) {
		chosen[m++] = c.v[i].choice.pkg;
	}
	lks_apt_closure_free(&c);
	msg[0] = '\0';
	return lks_apt_closure_clashes(&ctx, &inst, chosen, m, msg, cap);
}

Test(apt_closure, breaks_and_conflicts_with_the_installed_set)
{
	char msg[600];
	cr_expect_eq(clashes_of("breaker", msg, sizeof(msg)), 1);
	cr_expect_str_eq(msg,
	                 "'breaker' 1.0 and the installed 'installed-ok' 1.5 break each other");
	cr_expect_eq(clashes_of("app2", msg, sizeof(msg)), 1, "exim-old conflicts with newalt");
	cr_expect(strstr(msg, "'newalt' 1.0-1 and the installed 'exim-old' 1.0"), "%s", msg);
	cr_expect_eq(clashes_of("cyclic-a newalt", msg, sizeof(msg)), 1);
	cr_expect_eq(clashes_of("cyclic-a", msg, sizeof(msg)), 0);
	/* a package the closure replaces does not clash: upgrade-me 1.1 replaces 0.9 */
	cr_expect_eq(clashes_of("upgrade-me", msg, sizeof(msg)), 0);
}
