/* lks_apt_fetch_index against a canned archive (fixtures/apt/fetch, made by its regen.sh)
 * served through ctx->fetch: InRelease and Release + Release.gpg, gpgv with the right, a wrong
 * and an armored key, no key (a warning), a tampered InRelease, a Packages file that does not
 * match its Release entry, a truncated one its Release vouches for, 404s, offline, and a warm
 * run that costs one request per suite. Table-driven: one row per case. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fake_registry.h"
#include "pinner/apt/apt_fetch.h"
#include "pinner/apt/apt_image.h"
#include "pinner/apt/apt_index.h"
#include "pinner/apt/apt_sources.h"

#define URI "http://127.0.0.1:1/r"
#define XZ "/main/binary-amd64/Packages.xz"

static char *slurp(const char *rel, size_t *n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/apt/fetch/%s", getenv("LKS_SRCDIR"), rel);
	struct lks_buf b;
	lks_buf_init(&b, 0);
	cr_assert_eq(lks_buf_read_file(&b, path), 0, "%s", path);
	*n = b.len;
	return lks_buf_detach(&b);
}

/* What the archive serves: URL suffix -> fixture file ("!x" tampers one byte of it). */
struct route {
	const char *suffix, *file;
};

struct fcase {
	const char *name;
	const char *sources; /* sources.list text with URI */
	struct route routes[6];
	const char *key; /* fixture keyring, NULL: none */
	int rc;
	const char *err;   /* substring of ctx.err */
	const char *warn;  /* substring of ctx.warn, NULL: no warning */
	const char *hello; /* version of hello in the index */
};

static const struct fcase cases[] = {
    {"inrelease",
     "deb " URI " s main\n",
     {{"/dists/s/InRelease", "dists/s/InRelease"}, {"/dists/s" XZ, "dists/s" XZ}},
     "key.gpg",
     0,
     NULL,
     NULL,
     "1.0-s"},
    {"armored key",
     "deb " URI " s main\n",
     {{"/dists/s/InRelease", "dists/s/InRelease"}, {"/dists/s" XZ, "dists/s" XZ}},
     "key.asc",
     0,
     NULL,
     NULL,
     "1.0-s"},
    {"detached",
     "deb " URI " d main\n",
     {{"/dists/d/Release", "dists/d/Release"},
      {"/dists/d/Release.gpg", "dists/d/Release.gpg"},
      {"/dists/d" XZ, "dists/d" XZ}},
     "key.gpg",
     0,
     NULL,
     NULL,
     "1.0-d"},
    {"two suites",
     "deb " URI " s main\ndeb " URI " d main\n",
     {{"/dists/s/InRelease", "dists/s/InRelease"},
      {"/dists/s" XZ, "dists/s" XZ},
      {"/dists/d/Release", "dists/d/Release"},
      {"/dists/d/Release.gpg", "dists/d/Release.gpg"},
      {"/dists/d" XZ, "dists/d" XZ}},
     "key.gpg",
     0,
     NULL,
     NULL,
     NULL},
    {"no key",
     "deb " URI " s main\n",
     {{"/dists/s/InRelease", "dists/s/InRelease"}, {"/dists/s" XZ, "dists/s" XZ}},
     NULL,
     0,
     NULL,
     "signature of '" URI "/dists/s/InRelease' not checked: no keyring for it",
     "1.0-s"},
    {"wrong key",
     "deb " URI " s main\n",
     {{"/dists/s/InRelease", "dists/s/InRelease"}, {"/dists/s" XZ, "dists/s" XZ}},
     "other.gpg",
     -LKS_E_CRYPTO,
     "bad or unverifiable signature on '" URI "/dists/s/InRelease'",
     NULL,
     NULL},
    {"tampered",
     "deb " URI " s main\n",
     {{"/dists/s/InRelease", "!dists/s/InRelease"}, {"/dists/s" XZ, "dists/s" XZ}},
     "key.gpg",
     -LKS_E_CRYPTO,
     "bad or unverifiable signature",
     NULL,
     NULL},
    {"unsigned release",
     "deb " URI " d main\n",
     {{"/dists/d/Release", "dists/d/Release"}, {"/dists/d" XZ, "dists/d" XZ}},
     "key.gpg",
     -LKS_E_CRYPTO,
     "'" URI "/dists/d/Release' is not signed (no Release.gpg)",
     NULL,
     NULL},
    {"packages not matching",
     "deb " URI " s main\n",
     {{"/dists/s/InRelease", "dists/s/InRelease"}, {"/dists/s" XZ, "dists/d" XZ}},
     "key.gpg",
     -LKS_E_DIGEST,
     "apt archive '" URI "/dists/s': cannot use 'main/binary-amd64/Packages.xz': sha256 ",
     NULL,
     NULL},
    {"truncated xz",
     "deb " URI " t main\n",
     {{"/dists/t/InRelease", "dists/t/InRelease"}, {"/dists/t" XZ, "dists/t" XZ}},
     "key.gpg",
     -LKS_E_ARCHIVE,
     "apt archive '" URI "/dists/t': cannot decompress 'main/binary-amd64/Packages.xz' "
     "(corrupt or truncated?)",
     NULL,
     NULL},
    {"packages 404",
     "deb " URI " s main\n",
     {{"/dists/s/InRelease", "dists/s/InRelease"}},
     "key.gpg",
     -LKS_E_NOTFOUND,
     "cannot fetch apt index '" URI "/dists/s" XZ
     "': the archive answered 404 although its Release lists it",
     NULL,
     NULL},
    {"no release",
     "deb " URI " nosuite main\n",
     {{"/x", "key.gpg"}},
     "key.gpg",
     -LKS_E_NOTFOUND,
     "apt source '" URI " nosuite' has no InRelease or Release file at '" URI "/dists/nosuite/'",
     NULL,
     NULL},
    {"flat",
     "deb " URI " ./\n",
     {{"/x", "key.gpg"}},
     "key.gpg",
     -LKS_E_UNSUPPORTED,
     "flat repositories are not supported",
     NULL,
     NULL},
};

struct loaded {
	char *data[6];
};

static void serve(const struct fcase *c, struct loaded *l)
{
	fake_reset();
	for (size_t i = 0; i < 6 && c->routes[i].suffix; i++) {
		const char *f = c->routes[i].file;
		size_t n;
		l->data[i] = slurp(f + (f[0] == '!'), &n);
		if (f[0] == '!') {
			char *p = strstr(l->data[i], "Codename: ");
			cr_assert(p);
			p[10] ^= 1;
		}
		fake_add(LKS_HTTP_GET, c->routes[i].suffix, 200, l->data[i], n, NULL);
	}
}

static void unserve(struct loaded *l)
{
	for (size_t i = 0; i < 6; i++) {
		free(l->data[i]);
		l->data[i] = NULL;
	}
}

/* Fetch with the case's sources and key; returns rc, idx filled. */
static int run_fetch(struct lks_ctx *ctx, const struct fcase *c, struct lks_apt_index *idx)
{
	struct lks_apt_sources s;
	lks_apt_sources_init(&s);
	cr_assert_eq(lks_apt_sources_parse_list(ctx, &s, "t", c->sources, strlen(c->sources)), 0,
	             "%s", ctx->err);
	struct lks_apt_keyring k = {.path = (char *)"/k.gpg"};
	const struct lks_apt_keyring *keys[] = {&k};
	if (c->key) {
		k.data = slurp(c->key, &k.len);
	}
	struct lks_apt_fetch_src fs[4];
	for (size_t i = 0; i < s.n; i++) {
		fs[i] = (struct lks_apt_fetch_src){&s.v[i], keys, c->key ? 1 : 0};
	}
	const char *archs[] = {"amd64", NULL};
	lks_apt_index_init(idx);
	int rc = lks_apt_fetch_index(ctx, fs, s.n, archs, idx);
	free(k.data);
	lks_apt_sources_free(&s);
	return rc;
}

static void ctx_make(struct lks_ctx *ctx, char *dir)
{
	lks_ctx_init(ctx);
	ctx->fetch = fake_fetch;
	cr_assert(mkdtemp(dir));
	ctx->cache_dir = strdup(dir);
}

/* A context with its own cache directory, and the case's archive served. */
static void start(struct lks_ctx *ctx, char *dir, const struct fcase *c, struct loaded *l)
{
	ctx_make(ctx, dir);
	serve(c, l);
}

static void ctx_done(struct lks_ctx *ctx, const char *dir)
{
	lks_ctx_free(ctx);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(apt_fetch, table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fcase *c = &cases[i];
		struct lks_ctx ctx;
		char dir[] = "/tmp/lks-aptfetch-XXXXXX";
		struct loaded l = {0};
		start(&ctx, dir, c, &l);
		struct lks_apt_index idx;
		int rc = run_fetch(&ctx, c, &idx);
		cr_expect_eq(rc, c->rc, "%s: rc %d: %s", c->name, rc, ctx.err);
		cr_expect(!c->err || strstr(ctx.err, c->err), "%s: %s", c->name, ctx.err);
		cr_expect(c->warn ? strstr(ctx.warn, c->warn) != NULL : !ctx.warn[0],
		          "%s: warn '%s'", c->name, ctx.warn);
		const struct lks_apt_pkg *p = rc ? NULL : lks_apt_index_find(&idx, "hello");
		cr_expect(!c->hello || (p && !strcmp(p->version, c->hello)), "%s: hello %s",
		          c->name, p ? p->version : "(none)");
		lks_apt_index_free(&idx);
		unserve(&l);
		ctx_done(&ctx, dir);
	}
}

/* A warm run asks only for the Release files; Packages and the parse come from the cache; then
 * offline with no request at all; offline with an empty cache names what is missing. */
Test(apt_fetch, warm_and_offline)
{
	const struct fcase *c = &cases[3]; /* two suites */
	struct lks_ctx ctx;
	char dir[] = "/tmp/lks-aptfetch-XXXXXX";
	struct loaded l = {0};
	start(&ctx, dir, c, &l);
	struct lks_apt_index idx;
	cr_assert_eq(run_fetch(&ctx, c, &idx), 0, "%s", ctx.err);
	lks_apt_index_free(&idx);
	/* s: InRelease, Packages.xz; d: InRelease (404), Release, Release.gpg, Packages.xz */
	cr_expect_eq(fake_requests, 6, "cold: %d requests", fake_requests);
	fake_requests = 0;
	cr_assert_eq(run_fetch(&ctx, c, &idx), 0, "%s", ctx.err);
	cr_expect_eq(fake_requests, 4, "warm: the Release files only: %d", fake_requests);
	cr_expect_str_eq(lks_apt_index_find(&idx, "tool")->version, "2.0");
	lks_apt_index_free(&idx);
	fake_requests = 0;
	ctx.offline = true;
	cr_assert_eq(run_fetch(&ctx, c, &idx), 0, "%s", ctx.err);
	cr_expect_eq(fake_requests, 0);
	lks_apt_index_free(&idx);
	unserve(&l);
	ctx_done(&ctx, dir);

	strcpy(dir, "/tmp/lks-aptfetch-XXXXXX");
	ctx_make(&ctx, dir);
	ctx.offline = true;
	cr_expect_eq(run_fetch(&ctx, &cases[0], &idx), -LKS_E_OFFLINE);
	cr_expect(strstr(ctx.err, "'" URI "/dists/s' offline: it is not in the cache"), "%s",
	          ctx.err);
	lks_apt_index_free(&idx);
	ctx_done(&ctx, dir);
}
