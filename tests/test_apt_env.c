/* The apt pinner's environments (pinner/apt/apt_env.c): an image served by a canned registry and
 * the fixture archive of fixtures/apt/fetch behind ctx->fetch. Table-driven: each row lays
 * files over the image (as a Dockerfile's echo/COPY lines would) or asks for a platform, and
 * says which suites the environment's index holds, or the error. Environments with the same
 * inputs are shared, and so are indexes with the same sources. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fake_registry.h"
#include "pinner/apt/apt_image.h"
#include "pinner/apt/apt_index.h"
#include "lockstep/aptpin.h"
#include "lockstep/lockfile.h"
#include "pinner/apt/apt_env.h"
#include "tarw.h"

#define URI "http://127.0.0.1:1/r"
#define IMG "127.0.0.1:1/app@"
#define XZ "/main/binary-amd64/Packages.xz"
#define KEYED "deb [signed-by=/usr/share/keyrings/k.gpg] " URI

static struct lks_buf fixtures[6], layer, config, manifest;
static char mdigest[LKS_DIGEST_LEN + 1];

static void load(struct lks_buf *b, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/apt/fetch/%s", getenv("LKS_SRCDIR"), rel);
	lks_buf_init(b, 0);
	cr_assert_eq(lks_buf_read_file(b, path), 0, "%s", path);
}

static void file(struct lks_buf *b, const char *name, const void *data, size_t n)
{
	tar_file(b, (struct th){.name = name, .type = '0', .mode = 0755}, data, n);
}

static void add_blob(struct lks_buf *b, char d[LKS_DIGEST_LEN + 1])
{
	char s[200];
	lks_sha256_buf(b->data, b->len, d);
	snprintf(s, sizeof(s), "/v2/app/blobs/%s", d);
	fake_add(LKS_HTTP_GET, s, 200, b->data, b->len, NULL);
}

/* An amd64 image: apt, one keyed source for suite s, the key, a preferences file. */
static void serve(void)
{
	static const char *const rel[] = {"dists/s/InRelease",   "dists/s" XZ, "dists/d/Release",
	                                  "dists/d/Release.gpg", "dists/d" XZ, "key.gpg"};
	static const char *const sfx[] = {"/dists/s/InRelease", "/dists/s" XZ, "/dists/d/Release",
	                                  "/dists/d/Release.gpg", "/dists/d" XZ};
	fake_reset();
	for (size_t i = 0; i < 6; i++) {
		load(&fixtures[i], rel[i]);
		if (i < 5) {
			fake_add(LKS_HTTP_GET, sfx[i], 200, fixtures[i].data, fixtures[i].len,
			         NULL);
		}
	}
	lks_buf_init(&layer, 0);
	file(&layer, "usr/bin/dpkg", "#!/bin/sh\n", 10);
	file(&layer, "usr/bin/apt-get", "#!/bin/sh\n", 10);
	file(&layer, "etc/apt/sources.list", KEYED " s main\n", strlen(KEYED " s main\n"));
	file(&layer, "usr/share/keyrings/k.gpg", fixtures[5].data, fixtures[5].len);
	static const char pref[] = "Package: tool\nPin: version 2*\nPin-Priority: 900\n";
	file(&layer, "etc/apt/preferences.d/p", pref, strlen(pref));
	tar_end(&layer);
	char ld[LKS_DIGEST_LEN + 1], cd[LKS_DIGEST_LEN + 1];
	add_blob(&layer, ld);
	lks_buf_init(&config, 0);
	lks_buf_printf(&config,
	               "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
	               "\"layers\",\"diff_ids\":[\"%s\"]}}",
	               ld);
	add_blob(&config, cd);
	lks_buf_init(&manifest, 0);
	lks_buf_printf(
	    &manifest,
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+"
	    "json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\""
	    ",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"application/"
	    "vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
	    cd, config.len, ld, layer.len);
	lks_sha256_buf(manifest.data, manifest.len, mdigest);
	char s[200];
	snprintf(s, sizeof(s), "/v2/app/manifests/%s", mdigest);
	fake_add(LKS_HTTP_GET, s, 200, manifest.data, manifest.len, "auto");
}

static void unserve(void)
{
	for (size_t i = 0; i < 6; i++) {
		lks_buf_free(&fixtures[i]);
	}
	lks_buf_free(&layer);
	lks_buf_free(&config);
	lks_buf_free(&manifest);
}

struct ecase {
	const char *name;
	struct lks_apt_file files[2];
	const char *platform;
	int rc;
	const char *want; /* suites of the index, space separated, or a substring of ctx.err */
	int prefs;        /* pins in the environment */
};

static const struct ecase cases[] = {
    {"the image's own", {{0}}, NULL, 0, "s", 1},
    {"a source added",
     {{"/etc/apt/sources.list.d/d.list", KEYED " d main\n", 0, false}},
     NULL,
     0,
     "s d",
     1},
    {"sources.list replaced",
     {{"/etc/apt/sources.list", KEYED " d main\n", 0, false}},
     NULL,
     0,
     "d",
     1},
    {"sources.list appended",
     {{"/etc/apt/sources.list", KEYED " d main\n", 0, true}},
     NULL,
     0,
     "s d",
     1},
    {"preferences added",
     {{"/etc/apt/preferences", "Package: hello\nPin: version 1*\nPin-Priority: 100\n", 0, false}},
     NULL,
     0,
     "s",
     2},
    {"key at another path",
     {{"/etc/apt/sources.list", "deb [signed-by=/k/x.gpg] " URI " s main\n", 0, false},
      {"/k/x.gpg", "@key", 0, false}},
     NULL,
     0,
     "s",
     1},
    {"no sources left",
     {{"/etc/apt/sources.list", "# nothing\n", 0, false}},
     NULL,
     -LKS_E_UNSUPPORTED,
     "has no apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/)",
     0},
    {"platform not in the image",
     {{0}},
     "linux/arm64",
     -LKS_E_NOTFOUND,
     "has no platform 'linux/arm64'",
     0},
};

static void suites(const struct apt_env *e, struct lks_buf *o)
{
	lks_buf_puts(o, "");
	for (size_t i = 0; i < e->v[0].idx->n_releases; i++) {
		lks_buf_printf(o, "%s%s", i ? " " : "", e->v[0].idx->releases[i].suite);
	}
}

Test(aptenv, table)
{
	char dir[] = "/tmp/lks-aptenv-XXXXXX";
	cr_assert(mkdtemp(dir));
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	ctx.fetch = fake_fetch;
	ctx.cache_dir = strdup(dir);
	serve();
	char image[300];
	snprintf(image, sizeof(image), IMG "%s", mdigest);
	struct lks_lock_platform plat = {.os = (char *)"linux", .architecture = (char *)"amd64"};
	struct lks_lock_image img = {.platforms = &plat, .n_platforms = 1};
	struct lks_aptpin_opts o;
	lks_aptpin_opts_init(&o);
	struct apt_env_pool *pool = apt_env_pool_new(&o);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ecase *c = &cases[i];
		struct lks_apt_file files[2];
		size_t n = 0;
		for (; n < 2 && c->files[n].path; n++) {
			files[n] = c->files[n];
			files[n].len = strlen(files[n].data);
			if (!strcmp(files[n].data, "@key")) {
				files[n].data = fixtures[5].data;
				files[n].len = fixtures[5].len;
			}
		}
		struct apt_env *e = NULL;
		ctx.err[0] = '\0';
		int rc = apt_env_get(&ctx, pool, image, &img, c->platform, NULL, files, n, &e);
		cr_expect_eq(rc, c->rc, "%s: rc %d %s", c->name, rc, ctx.err);
		if (rc < 0) {
			cr_expect(strstr(ctx.err, c->want), "%s: %s", c->name, ctx.err);
			continue;
		}
		struct lks_buf got;
		lks_buf_init(&got, 0);
		suites(e, &got);
		cr_expect_str_eq(got.data, c->want, "%s", c->name);
		cr_expect_eq(e->n, 1);
		cr_expect_str_eq(e->v[0].platform, "linux/amd64");
		cr_expect_str_eq(e->v[0].arch, "amd64");
		cr_expect_eq(e->v[0].prefs.n, (size_t)c->prefs, "%s: %zu pins", c->name,
		             e->v[0].prefs.n);
		cr_expect(!strstr(ctx.warn, "not checked"), "%s: %s", c->name, ctx.warn);
		lks_buf_free(&got);
		/* the same inputs again: the same environment, no request */
		int before = fake_requests;
		struct apt_env *again = NULL;
		cr_expect_eq(
		    apt_env_get(&ctx, pool, image, &img, c->platform, NULL, files, n, &again), 0);
		cr_expect(again == e && fake_requests == before, "%s: not shared", c->name);
	}
	apt_env_pool_free(pool);
	unserve();
	lks_ctx_free(&ctx);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}
