/* Tests for common/regconf.c and regconf_match.c: registries.conf as containers/image reads
 * it (fixtures/registries), the pull sources for a name, --registry-mirror, the
 * configuration written for builders, and bad files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/oci_ref.h"
#include "lockstep/regconf.h"

static const char *fixture(const char *name)
{
	static char path[4096];
	const char *src = getenv("LKS_SRCDIR");
	snprintf(path, sizeof(path), "%s/fixtures/registries/%s", src ? src : ".", name);
	return path;
}

/* "label>domain/path[!insecure][ BLOCKED]|..." for ref's sources. */
static char *sources(struct lks_ctx *ctx, const struct lks_regconf *c, const char *ref)
{
	struct lks_oci_ref r;
	cr_assert_eq(lks_oci_ref_parse(ctx, ref, &r), 0, "%s", ctx->err);
	struct lks_pull_source *s;
	size_t n;
	struct lks_buf b;
	lks_buf_init(&b, 0);
	int rc = lks_regconf_sources(ctx, c, &r, r.digest != NULL, &s, &n);
	if (rc < 0) {
		lks_buf_printf(&b, "error: %s", ctx->err);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		lks_buf_printf(&b, "%s%s>%s/%s%s%s", i ? "|" : "", s[i].mirror ? "m" : "r",
		               s[i].ref.domain, s[i].ref.path, s[i].insecure ? "!" : "",
		               s[i].blocked ? " BLOCKED" : "");
	}
	if (rc == 0) {
		lks_pull_sources_free(s, n);
	}
	lks_oci_ref_free(&r);
	return lks_buf_detach(&b);
}

static void load(struct lks_ctx *ctx, struct lks_regconf *c, const char *main_file,
                 const char *const *dirs)
{
	lks_regconf_init(c);
	int rc = lks_regconf_load(ctx, c, main_file ? fixture(main_file) : NULL, true, dirs);
	cr_assert_eq(rc, 0, "%s", ctx->err);
}

#define D "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
	const char *ref, *want;
} example_cases[] = {
    /* location rewrite, mirrors in order, the insecure one marked */
    {"example.com/foo/img:1", "m>mirror-0.example.net/mirror-for-foo/img|"
                              "m>mirror-1.example.net:5000/mirrors/foo/img!|"
                              "r>internal.example.net/bar/img"},
    /* the prefix ends at a '/': example.com/foobar is not under example.com/foo */
    {"example.com/foobar/img:1", "r>example.com/foobar/img"},
    /* Docker Hub: the digest-only cache is skipped for a tag, used for a digest */
    {"python:3.12", "m>hub-mirror.example.net/library/python|r>docker.io/library/python"},
    {"python@" D, "m>cache.example.net/dockerhub/library/python|"
                  "m>hub-mirror.example.net/library/python|r>docker.io/library/python"},
    /* the longest prefix wins; mirror-by-digest-only */
    {"busybox:1", "r>docker.io/library/busybox"},
    {"busybox:1@" D, "m>busybox-mirror.example.net/bb|r>docker.io/library/busybox"},
    {"docker.io/library/busybox-extra:1",
     "m>hub-mirror.example.net/library/busybox-extra|r>docker.io/library/busybox-extra"},
    /* wildcard: any subdomain, names left as they are, tag-only mirror */
    {"a.b.example.com/x/y:1", "m>wild-mirror.example.net/x/y|r>a.b.example.com/x/y"},
    {"a.example.com:5000/x@" D, "r>a.example.com:5000/x"},
    {"example.com/x:1", "r>example.com/x"},
    /* blocked */
    {"evil.example.org/x:1", "r>evil.example.org/x BLOCKED"},
    /* not configured */
    {"quay.io/x/y:1", "r>quay.io/x/y"},
};

Test(regconf, example)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_regconf c;
	load(&ctx, &c, "example.conf", NULL);
	for (size_t i = 0; i < sizeof(example_cases) / sizeof(example_cases[0]); i++) {
		char *got = sources(&ctx, &c, example_cases[i].ref);
		cr_expect_str_eq(got, example_cases[i].want, "%s", example_cases[i].ref);
		free(got);
	}
	cr_expect(c.search_set && c.n_search == 2 && !strcmp(c.search[1], "docker.io"));
	cr_expect_str_eq(c.short_name_mode, "enforcing");
	cr_expect(c.n_aliases == 1 &&
	          !strcmp(c.alias_values[0], "registry.example.org/tools/tool"));
	const struct lks_regconf_registry *g = lks_regconf_find(&c, "evil.example.org/x");
	cr_assert_not_null(g);
	cr_expect(strstr(g->primary.origin, "example.conf:47") != NULL, "%s", g->primary.origin);
	lks_regconf_free(&c);
	lks_ctx_free(&ctx);
}

Test(regconf, version1_inline_and_dropins)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_regconf c;
	load(&ctx, &c, "v1.conf", NULL);
	char *got = sources(&ctx, &c, "registry3.example.com:5000/x:1");
	cr_expect_str_eq(got, "r>registry3.example.com:5000/x! BLOCKED");
	free(got);
	cr_expect(c.n_search == 2 && !strcmp(c.search[0], "registry1.example.com"));
	lks_regconf_free(&c);

	load(&ctx, &c, "inline.conf", NULL);
	got = sources(&ctx, &c, "quay.example.io/a/b:1");
	cr_expect_str_eq(got, "m>mirror.example.net/quay/a/b!|r>quay.example.io/a/b");
	free(got);
	got = sources(&ctx, &c, "ghcr.example.io/a/b:1");
	cr_expect_str_eq(got, "r>ghcr.example.io/a/b");
	free(got);
	lks_regconf_free(&c);

	/* drop-ins in name order; the same prefix replaced; lists replaced even when empty */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", fixture("dropins"));
	const char *dirs[] = {dir, "/nonexistent-lockstep-dir", NULL};
	load(&ctx, &c, "example.conf", dirs);
	got = sources(&ctx, &c, "python:3");
	cr_expect_str_eq(got, "m>second.example.net/library/python|r>docker.io/library/python");
	free(got);
	got = sources(&ctx, &c, "quay.example.io/x:1");
	cr_expect_str_eq(got, "r>quay.example.io/x!");
	free(got);
	cr_expect(c.search_set && c.n_search == 0);
	cr_expect(strstr(c.sources, "10-first.conf") < strstr(c.sources, "20-second.conf") &&
	              !strstr(c.sources, "notes") && !strstr(c.sources, "sub.conf"),
	          "%s", c.sources);
	lks_regconf_free(&c);

	/* aliases: a later "" erases */
	load(&ctx, &c, "example.conf", NULL);
	struct lks_buf b;
	lks_buf_init(&b, 0);
	cr_assert_eq(lks_buf_read_file(&b, fixture("aliases.conf")), 0);
	cr_assert_eq(lks_regconf_parse(&ctx, &c, "aliases.conf", b.data, b.len, true), 0, "%s",
	             ctx.err);
	cr_expect_eq(c.n_aliases, 2);
	for (size_t i = 0; i < c.n_aliases; i++) {
		cr_expect(strcmp(c.alias_names[i], "tool"), "'tool' was erased");
	}
	lks_buf_free(&b);
	lks_regconf_free(&c);
	lks_ctx_free(&ctx);
}

Test(regconf, refusals)
{
	static const struct {
		const char *text, *want;
		bool drop_in;
	} cases[] = {
	    {"[[registry]]\ninsecure = true\n",
	     "r.conf:1: [[registry]] needs a prefix or a location", false},
	    {"[[registry]]\nprefix = \"x.io\"\n",
	     "r.conf:1: [[registry]] with prefix 'x.io' needs a location", false},
	    {"[[registry]]\nprefix = \"*.x.io/ns\"\n", "r.conf:1: wildcard prefix '*.x.io/ns'",
	     false},
	    {"[[registry]]\nlocation = \"http://x.io\"\n",
	     "r.conf:1: invalid location 'http://x.io'", false},
	    {"[[registry]]\nlocation = \"x.io\"\ninsecure = \"yes\"\n",
	     "r.conf:3: 'insecure' must be true or false, not a string", false},
	    {"[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\ninsecure = true\n",
	     "r.conf:3: a mirror needs a location", false},
	    {"[[registry]]\nlocation = \"x.io\"\nmirror-by-digest-only = "
	     "true\n[[registry.mirror]]\n"
	     "location = \"m.io\"\npull-from-mirror = \"all\"\n",
	     "r.conf:4: pull-from-mirror cannot be set when the registry has mirror-by-digest-only",
	     false},
	    {"[[registry]]\nlocation = \"x.io\"\npull-from-mirror = \"all\"\n",
	     "r.conf:3: pull-from-mirror must not be set for a registry", false},
	    {"[[registry]]\nlocation = \"x.io\"\n[[registry]]\nlocation = \"x.io\"\ninsecure = "
	     "true\n",
	     "registry 'x.io' is defined more than once with conflicting 'insecure' settings",
	     false},
	    {"registry = \"x\"\n", "r.conf:1: 'registry' must be an array of tables", false},
	    {"registry = [1]\n", "r.conf:1: each 'registry' must be a table", false},
	    {"unqualified-search-registries = \"docker.io\"\n",
	     "r.conf:1: 'unqualified-search-registries' must be an array of strings, not a string",
	     false},
	    {"short-name-mode = \"prompt\"\n", "r.conf:1: invalid short-name-mode 'prompt'", false},
	    {"[aliases]\nx = 1\n", "r.conf:2: alias 'x' must be a string", false},
	    {"[registries.search]\nregistries = [\"x.io\"]\n",
	     "r.conf:1: a drop-in file must use the version 2", true},
	    {"[[registry]]\nlocation = \"a\\u0000b\"\n",
	     "r.conf:2: 'location' must be a string without NUL", false},
	};
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lks_regconf c;
		lks_regconf_init(&c);
		ctx.err[0] = '\0';
		int rc = lks_regconf_parse(&ctx, &c, "r.conf", cases[i].text, strlen(cases[i].text),
		                           cases[i].drop_in);
		cr_expect(rc < 0, "case %zu accepted", i);
		cr_expect(strstr(ctx.err, cases[i].want) != NULL, "case %zu: '%s' lacks '%s'", i,
		          ctx.err, cases[i].want);
		lks_regconf_free(&c);
	}
	/* the first table of a prefix wins within a file */
	struct lks_regconf c;
	lks_regconf_init(&c);
	const char *dup = "[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\nlocation = "
	                  "\"one.io\"\n[[registry]]\nlocation = \"x.io\"\n";
	cr_expect_eq(lks_regconf_parse(&ctx, &c, "r.conf", dup, strlen(dup), false), 0);
	char *got = sources(&ctx, &c, "x.io/a:1");
	cr_expect_str_eq(got, "m>one.io/a|r>x.io/a");
	free(got);
	lks_regconf_free(&c);
	/* a required file that is missing */
	lks_regconf_init(&c);
	cr_expect_lt(lks_regconf_load(&ctx, &c, "/nonexistent/registries.conf", true, NULL), 0);
	cr_expect(strstr(ctx.err, "no such file"), "%s", ctx.err);
	lks_regconf_free(&c);
	lks_ctx_free(&ctx);
}

Test(regconf, option_mirrors)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	static const struct {
		const char *spec, *want; /* want: NULL accepted, else part of the message */
	} specs[] = {
	    {"docker.io=https://m1.example.net", NULL},
	    {"http://127.0.0.1:5000/hub", NULL},
	    {"index.docker.io=m2.example.net:5000/", NULL},
	    {"example.com/foo=http://m3.example.net", NULL},
	    {"new.example.io=localhost:5001", NULL},
	    {"=https://x.io", "expected REGISTRY=URL"},
	    {"docker.io=ftp://x.io", "http:// or https://"},
	    {"docker.io=https://user:pw@x.io", "credentials do not belong"},
	    {"docker.io=https://x.io/?a=b", "no query"},
	    {"docker.io=mirror", "host name"},
	    {"docker.io=", "host name"},
	    {"*.x/ns=y.io", "wildcard"},
	};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		int rc = lks_regconf_add_mirror(&ctx, specs[i].spec);
		if (!specs[i].want) {
			cr_expect_eq(rc, 0, "%s: %s", specs[i].spec, ctx.err);
		} else {
			cr_expect(rc == -LKS_E_INVAL && strstr(ctx.err, specs[i].want), "%s: %s",
			          specs[i].spec, ctx.err);
			cr_expect(strstr(ctx.err, specs[i].spec) != NULL, "names the value: %s",
			          ctx.err);
		}
	}
	const char *dirs[] = {NULL};
	struct lks_regconf *c = ctx.regconf;
	cr_assert_eq(lks_regconf_load(&ctx, c, fixture("example.conf"), true, dirs), 0, "%s",
	             ctx.err);
	cr_expect(lks_regconf_has_options(c));
	/* option mirrors first, in order, then the file's */
	char *got = sources(&ctx, c, "python:3");
	cr_expect_str_eq(got,
	                 "m>m1.example.net/library/python|m>127.0.0.1:5000/hub/library/python!|"
	                 "m>m2.example.net:5000/library/python|"
	                 "m>hub-mirror.example.net/library/python|r>docker.io/library/python");
	free(got);
	/* an option for a prefix the file rewrites: the rewrite stays */
	got = sources(&ctx, c, "example.com/foo/img:1");
	cr_expect_str_eq(got, "m>m3.example.net/img!|m>mirror-0.example.net/mirror-for-foo/img|"
	                      "m>mirror-1.example.net:5000/mirrors/foo/img!|"
	                      "r>internal.example.net/bar/img");
	free(got);
	got = sources(&ctx, c, "new.example.io/a:1");
	cr_expect_str_eq(got, "m>localhost:5001/a!|r>new.example.io/a");
	free(got);
	/* busybox has its own table (mirror-by-digest-only): docker.io's options do not apply */
	got = sources(&ctx, c, "busybox:1");
	cr_expect_str_eq(got, "r>docker.io/library/busybox");
	free(got);
	lks_ctx_free(&ctx);
}

/* An option for a prefix below a table: that table's location and mirrors, rewritten. */
Test(regconf, option_specializes)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	cr_assert_eq(lks_regconf_add_mirror(&ctx, "example.com/foo/img=opt.example.net/o"), 0);
	cr_assert_eq(lks_regconf_add_mirror(
	                 &ctx, "docker.io/library/busybox=bb.example.net/library/busybox"),
	             0);
	const char *dirs[] = {NULL};
	cr_assert_eq(lks_regconf_load(&ctx, ctx.regconf, fixture("example.conf"), true, dirs), 0,
	             "%s", ctx.err);
	char *got = sources(&ctx, ctx.regconf, "example.com/foo/img:1");
	cr_expect_str_eq(got, "m>opt.example.net/o|m>mirror-0.example.net/mirror-for-foo/img|"
	                      "m>mirror-1.example.net:5000/mirrors/foo/img!|"
	                      "r>internal.example.net/bar/img");
	free(got);
	/* mirror-by-digest-only gives way: the option serves tags, the file's mirror digests */
	got = sources(&ctx, ctx.regconf, "busybox:1");
	cr_expect_str_eq(got, "m>bb.example.net/library/busybox|r>docker.io/library/busybox");
	free(got);
	got = sources(&ctx, ctx.regconf, "busybox@" D);
	cr_expect_str_eq(got, "m>bb.example.net/library/busybox|m>busybox-mirror.example.net/bb|"
	                      "r>docker.io/library/busybox");
	free(got);
	lks_ctx_free(&ctx);
}

/* What builders get: the configuration in effect, read back to the same sources, and the
 * same bytes when written again. */
Test(regconf, written_for_builders)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	cr_assert_eq(lks_regconf_add_mirror(&ctx, "http://127.0.0.1:5000"), 0);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", fixture("dropins"));
	const char *dirs[] = {dir, NULL};
	cr_assert_eq(lks_regconf_load(&ctx, ctx.regconf, fixture("example.conf"), true, dirs), 0,
	             "%s", ctx.err);
	char tmpl[] = "/tmp/lks-regconf-XXXXXX";
	cr_assert_not_null(mkdtemp(tmpl));
	char p1[4200], p2[4200];
	snprintf(p1, sizeof(p1), "%s/one.conf", tmpl);
	snprintf(p2, sizeof(p2), "%s/two.conf", tmpl);
	cr_assert_eq(lks_regconf_write(&ctx, ctx.regconf, p1), 0, "%s", ctx.err);

	struct lks_regconf back;
	lks_regconf_init(&back);
	cr_assert_eq(lks_regconf_load(&ctx, &back, p1, true, NULL), 0, "%s", ctx.err);
	const char *refs[] = {"python:3",           "python@" D,
	                      "busybox@" D,         "example.com/foo/x:1",
	                      "a.example.com/x:1",  "evil.example.org/x:1",
	                      "quay.example.io/x:1"};
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		char *a = sources(&ctx, ctx.regconf, refs[i]), *b = sources(&ctx, &back, refs[i]);
		cr_expect_str_eq(a, b, "%s", refs[i]);
		free(a);
		free(b);
	}
	cr_expect(back.n_aliases == ctx.regconf->n_aliases && back.search_set &&
	          back.n_search == 0 && !strcmp(back.short_name_mode, "enforcing"));
	free(back.sources);
	back.sources = strdup(ctx.regconf->sources); /* the header names the files read */
	cr_assert_eq(lks_regconf_write(&ctx, &back, p2), 0, "%s", ctx.err);
	struct lks_buf b1, b2;
	lks_buf_init(&b1, 0);
	lks_buf_init(&b2, 0);
	cr_assert_eq(lks_buf_read_file(&b1, p1), 0);
	cr_assert_eq(lks_buf_read_file(&b2, p2), 0);
	cr_expect_str_eq(b1.data, b2.data);
	cr_expect(strstr(b1.data, "location = \"127.0.0.1:5000\"\ninsecure = true\n"), "%s",
	          b1.data);
	lks_buf_free(&b1);
	lks_buf_free(&b2);
	lks_regconf_free(&back);
	unlink(p1);
	unlink(p2);
	rmdir(tmpl);
	lks_ctx_free(&ctx);
}
