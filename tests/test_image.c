/* image: source strings, layouts, index nesting cap, refs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/image.h"

static const struct {
	const char *s;
	int rc;
	enum lks_image_kind kind;
	const char *path, *ref;
} srcs[] = {
    {"oci:dir", 0, LKS_IMAGE_OCI_DIR, "dir", NULL},
    {"oci:some/dir:v1", 0, LKS_IMAGE_OCI_DIR, "some/dir", "v1"},
    {"oci:a:b/c", 0, LKS_IMAGE_OCI_DIR, "a:b/c", NULL},
    {"oci-archive:x.tar:latest", 0, LKS_IMAGE_OCI_ARCHIVE, "x.tar", "latest"},
    {"docker-archive:x.tar", 0, LKS_IMAGE_DOCKER_ARCHIVE, "x.tar", NULL},
    {"docker://127.0.0.1:5000/x:1", 0, LKS_IMAGE_REGISTRY, "127.0.0.1:5000/x:1", NULL},
    {"docker://host.io/Upper", -LKS_E_INVAL, 0, NULL, NULL},
    {"oci:", -LKS_E_INVAL, 0, NULL, NULL},
    {"dir", -LKS_E_INVAL, 0, NULL, NULL},
};

Test(image, source_strings)
{
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		struct lks_image_src s;
		int rc = lks_image_src_parse(NULL, srcs[i].s, &s);
		cr_assert_eq(rc, srcs[i].rc, "%s", srcs[i].s);
		if (rc == 0) {
			cr_assert_eq(s.kind, srcs[i].kind);
			cr_assert_str_eq(s.path, srcs[i].path);
			cr_assert_eq(!s.ref, !srcs[i].ref, "%s", srcs[i].s);
			if (s.ref) {
				cr_assert_str_eq(s.ref, srcs[i].ref);
			}
		}
		lks_image_src_free(&s);
	}
}

static int load(struct lks_ctx *ctx, const char *fixture, const char *ref,
                struct lks_image_set *set)
{
	char src[4096];
	snprintf(src, sizeof(src), "oci:%s/fixtures/diff/%s%s%s", getenv("LKS_SRCDIR"), fixture,
	         ref ? ":" : "", ref ? ref : "");
	return lks_image_set_load(ctx, src, set);
}

Test(image, layout_loads_with_diff_ids)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set s;
	cr_assert_eq(load(&ctx, "tiny-b", "latest", &s), 0, "%s", ctx.err);
	cr_assert_eq(s.n_images, 1);
	cr_assert_eq(s.images[0].n_layers, 3);
	cr_assert_str_eq(s.images[0].platform, "linux/amd64");
	cr_assert(lks_digest_valid(s.images[0].layers[2].diff_id));
	lks_image_set_free(&s);
	cr_assert_eq(load(&ctx, "tiny-b", "nope", &s), -LKS_E_NOTFOUND);
	lks_ctx_free(&ctx);
}

Test(image, index_nesting_is_capped)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set s;
	cr_assert_eq(load(&ctx, "deep-index", NULL, &s), -LKS_E_TOOBIG);
	cr_assert_not_null(strstr(ctx.err, "nest deeper"));
	cr_assert_eq(s.n_images, 0);
	lks_ctx_free(&ctx);
}

Test(image, member_paths)
{
	static const struct {
		const char *m;
		bool ok;
	} t[] = {
	    {"manifest.json", true}, {"blobs/sha256/ab", true}, {"abc/layer.tar", true},
	    {"./x", true},           {"", false},               {"/etc/passwd", false},
	    {"../x", false},         {"a/../../b", false},      {"a//b", false},
	    {"a/", false},           {"..", false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(lks_image_member_safe(t[i].m), t[i].ok, "'%s'", t[i].m);
	}
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_expect(!lks_image_member_safe(longname));
}

Test(image, unsafe_member_paths)
{
	struct lks_image_src src = {.kind = LKS_IMAGE_OCI_DIR, .path = "/tmp"};
	struct lks_blob *b = NULL;
	cr_assert_eq(lks_blob_open(NULL, &src, "../etc/passwd", NULL, &b), -LKS_E_UNSAFE);
	cr_assert_eq(lks_blob_open(NULL, &src, "/etc/passwd", NULL, &b), -LKS_E_UNSAFE);
	cr_assert_eq(lks_blob_open(NULL, &src, "a//b", NULL, &b), -LKS_E_UNSAFE);
}

Test(image, attestations_are_listed_not_loaded)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set s;
	cr_assert_eq(load(&ctx, "attest", NULL, &s), 0, "%s", ctx.err);
	cr_assert_eq(s.n_images, 1);
	cr_assert_eq(s.n_attestations, 1);
	cr_assert_str_eq(s.images[0].platform, "linux/amd64");
	lks_image_set_free(&s);
	lks_ctx_free(&ctx);
}

Test(image, tampered_config_is_refused)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set s;
	cr_assert_eq(load(&ctx, "bad-config", NULL, &s), -LKS_E_DIGEST, "%s", ctx.err);
	lks_ctx_free(&ctx);
}

Test(image, docker25_archive_matches_the_layout)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set d, o;
	char src[4096];
	snprintf(src, sizeof(src), "docker-archive:%s/fixtures/diff/docker25.tar",
		 getenv("LKS_SRCDIR"));
	cr_assert_eq(lks_image_set_load(&ctx, src, &d), 0, "%s", ctx.err);
	cr_assert_eq(load(&ctx, "tiny-a", NULL, &o), 0, "%s", ctx.err);
	cr_assert_eq(d.images[0].n_layers, o.images[0].n_layers);
	for (size_t i = 0; i < d.images[0].n_layers; i++) {
		cr_assert_str_eq(d.images[0].layers[i].digest, o.images[0].layers[i].digest);
	}
	cr_assert_str_eq(d.images[0].config_digest, o.images[0].config_digest);
	lks_image_set_free(&d);
	lks_image_set_free(&o);
	lks_ctx_free(&ctx);
}

static void put_file(const char *dir, const char *name, const char *data, size_t n)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	cr_assert_not_null(f, "%s", p);
	fwrite(data, 1, n, f);
	fclose(f);
}

/* A blob of the layout, named by its digest; *digest gets "sha256:<hex>". */
static void put_blob(const char *dir, const char *data, char digest[LKS_DIGEST_LEN + 1])
{
	cr_assert_eq(lks_sha256_buf(data, strlen(data), digest), 0);
	char name[128];
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	put_file(dir, name, data, strlen(data));
}

/* The layer cap is named as a cap, not as a malformed manifest. */
Test(image, more_layers_than_the_limit)
{
	char dir[] = "/tmp/lks-layers-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char sub[600], cfg[LKS_DIGEST_LEN + 1], man[LKS_DIGEST_LEN + 1];
	snprintf(sub, sizeof(sub), "mkdir -p %s/blobs/sha256", dir);
	cr_assert_eq(system(sub), 0);
	put_blob(dir, "{\"architecture\":\"amd64\",\"os\":\"linux\"}", cfg);
	struct lks_buf m;
	lks_buf_init(&m, 0);
	lks_buf_printf(&m, "{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\",\"size\":1},"
	                   "\"layers\":[",
	               cfg);
	for (int i = 0; i <= LKS_IMAGE_MAX_LAYERS; i++) {
		lks_buf_printf(&m, "%s{\"digest\":\"sha256:%064d\",\"size\":1}", i ? "," : "", i);
	}
	lks_buf_puts(&m, "]}");
	put_blob(dir, m.data, man);
	lks_buf_reset(&m);
	lks_buf_printf(&m, "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"%s\",\"size\":1}]}",
	               man);
	put_file(dir, "index.json", m.data, m.len);
	lks_buf_free(&m);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set s;
	char src[600];
	snprintf(src, sizeof(src), "oci:%s", dir);
	cr_assert_eq(lks_image_set_load(&ctx, src, &s), -LKS_E_TOOBIG, "%s", ctx.err);
	cr_assert(strstr(ctx.err, "has 1025 layers, which exceeds the layer limit of 1024"), "%s",
	          ctx.err);
	lks_ctx_free(&ctx);
	snprintf(sub, sizeof(sub), "rm -rf %s", dir);
	cr_assert_eq(system(sub), 0);
}

/* The same cap for a docker-archive's manifest.json (old-style members). */
Test(image, docker_archive_more_layers_than_the_limit)
{
	char dir[] = "/tmp/lks-layers-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	struct lks_buf m;
	lks_buf_init(&m, 0);
	char cfg[LKS_DIGEST_LEN + 1], cname[100];
	cr_assert_eq(lks_sha256_buf("{}", 2, cfg), 0);
	snprintf(cname, sizeof(cname), "%s.json", cfg + 7);
	lks_buf_printf(&m, "[{\"Config\":\"%s\",\"RepoTags\":[\"x:1\"],\"Layers\":[", cname);
	for (int i = 0; i <= LKS_IMAGE_MAX_LAYERS; i++) {
		lks_buf_printf(&m, "%s\"%d/layer.tar\"", i ? "," : "", i);
	}
	lks_buf_puts(&m, "]}]");
	put_file(dir, "manifest.json", m.data, m.len);
	put_file(dir, cname, "{}", 2);
	lks_buf_free(&m);
	char sub[700], src[600];
	snprintf(sub, sizeof(sub), "tar -C %s -cf %s/a.tar manifest.json %s", dir, dir, cname);
	cr_assert_eq(system(sub), 0);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set s;
	snprintf(src, sizeof(src), "docker-archive:%s/a.tar", dir);
	cr_assert_eq(lks_image_set_load(&ctx, src, &s), -LKS_E_TOOBIG, "%s", ctx.err);
	cr_assert(strstr(ctx.err, "lists 1025 layers, which exceeds the layer limit of 1024"), "%s",
	          ctx.err);
	lks_ctx_free(&ctx);
	snprintf(sub, sizeof(sub), "rm -rf %s", dir);
	cr_assert_eq(system(sub), 0);
}
