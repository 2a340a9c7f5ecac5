/* Registry client against a canned registry (tests/fake_registry.h): parsing, platform
 * selection, digest verification, caps and error messages. Manifests come from
 * fixtures/registry/ (see its README). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "lockstep/oci_ref.h"
#include "lockstep/registry.h"
#include "tests/fake_registry.h"

#define MAX_FIX 8

static struct lks_buf fix[MAX_FIX];
static size_t n_fix;
static struct lks_ctx ctx;

static void setup(void)
{
	lks_ctx_init(&ctx);
	ctx.fetch = fake_fetch;
	fake_reset();
	n_fix = 0;
}

static void teardown(void)
{
	for (size_t i = 0; i < n_fix; i++) {
		lks_buf_free(&fix[i]);
	}
	lks_ctx_free(&ctx);
}

TestSuite(registry, .init = setup, .fini = teardown);

/* Load a fixture; "@CONFIG@"-style placeholders are replaced by earlier digests. */
static struct lks_buf *load(const char *name, const char *from, const char *to)
{
	const char *src = getenv("LKS_SRCDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/registry/%s", src ? src : ".", name);
	struct lks_buf raw;
	lks_buf_init(&raw, 0);
	cr_assert_eq(lks_buf_read_file(&raw, path), 0, "cannot read %s", path);
	struct lks_buf *b = &fix[n_fix++];
	lks_buf_init(b, 0);
	const char *p = raw.data, *hit;
	while (from && (hit = strstr(p, from))) {
		lks_buf_append(b, p, (size_t)(hit - p));
		lks_buf_puts(b, to);
		p = hit + strlen(from);
	}
	lks_buf_puts(b, p);
	lks_buf_free(&raw);
	return b;
}

static void digest_of(const struct lks_buf *b, char out[LKS_DIGEST_LEN + 1])
{
	cr_assert_eq(lks_sha256_buf(b->data, b->len, out), 0);
}

static int resolve_one(const char *s, struct lks_image_resolution *res)
{
	struct lks_oci_ref ref;
	cr_assert_eq(lks_oci_ref_parse(&ctx, s, &ref), 0);
	const struct lks_oci_ref *refs[] = {&ref};
	int rc = lks_registry_resolve(&ctx, refs, 1, res);
	lks_oci_ref_free(&ref);
	return rc;
}

static char *suffix(const char *kind, const char *ref)
{
	static char s[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(s[k], sizeof(s[k]), "/v2/app/%s/%s", kind, ref);
	return s[k];
}

/* Serve config + single manifest under tag "1"; returns the manifest digest in md. */
static void serve_single(const char *config_name, char md[LKS_DIGEST_LEN + 1], const char *dcd)
{
	char cd[LKS_DIGEST_LEN + 1];
	struct lks_buf *cfg = load(config_name, NULL, NULL);
	digest_of(cfg, cd);
	struct lks_buf *m = load("manifest.json", "@CONFIG@", cd);
	digest_of(m, md);
	fake_add(LKS_HTTP_HEAD, suffix("manifests", "1"), 200, NULL, 0, dcd ? dcd : md);
	fake_add(LKS_HTTP_GET, suffix("manifests", md), 200, m->data, m->len, "auto");
	fake_add(LKS_HTTP_GET, suffix("manifests", "1"), 200, m->data, m->len, "auto");
	fake_add(LKS_HTTP_GET, suffix("blobs", cd), 200, cfg->data, cfg->len, NULL);
}

Test(registry, single_manifest)
{
	char md[LKS_DIGEST_LEN + 1];
	serve_single("config-amd64.json", md, NULL);
	struct lks_image_resolution r;
	cr_assert_eq(resolve_one("127.0.0.1:5000/app:1", &r), 0, "%s", ctx.err);
	cr_expect_str_eq(r.digest, md);
	cr_expect_str_eq(r.registry, "127.0.0.1:5000");
	cr_expect_str_eq(r.repository, "app");
	cr_expect_str_eq(r.tag, "1");
	cr_expect_str_eq(r.media_type, "application/vnd.oci.image.manifest.v1+json");
	cr_assert_eq(r.n_platforms, 1);
	cr_expect_str_eq(r.platforms[0].digest, md);
	cr_expect_str_eq(r.platforms[0].os, "linux");
	cr_expect_str_eq(r.platforms[0].arch, "amd64");
	cr_expect_null(r.platforms[0].variant);
	cr_expect_str_eq(r.platforms[0].created, "2024-01-02T03:04:05Z");
	cr_expect_str_eq(r.created, "2024-01-02T03:04:05Z");
	cr_expect_str_eq(r.source, "https://example.org/app", "config label");
	cr_expect_str_eq(r.platforms[0].source, "https://example.org/app");
	cr_expect(!strncmp(fake_last_url, "http://127.0.0.1:5000/v2/app/", 29), "%s",
	          fake_last_url);
	lks_image_resolution_free(&r);
}

Test(registry, head_without_digest_gets_by_tag)
{
	char md[LKS_DIGEST_LEN + 1];
	serve_single("config-amd64.json", md, NULL);
	fake_routes[0].dcd[0] = '\0';
	struct lks_image_resolution r;
	cr_assert_eq(resolve_one("127.0.0.1:5000/app:1", &r), 0, "%s", ctx.err);
	cr_expect_str_eq(r.digest, md);
	lks_image_resolution_free(&r);
}

Test(registry, lying_docker_content_digest)
{
	char md[LKS_DIGEST_LEN + 1];
	serve_single("config-amd64.json", md, NULL);
	/* GET by tag answers the right body with a wrong header. */
	fake_routes[0].dcd[0] = '\0';
	snprintf(fake_routes[2].dcd, sizeof(fake_routes[2].dcd), "sha256:%064d", 0);
	struct lks_image_resolution r;
	cr_assert_eq(resolve_one("127.0.0.1:5000/app:1", &r), -LKS_E_DIGEST);
	cr_expect(strstr(r.error, "cannot resolve '127.0.0.1:5000/app:1'"), "%s", r.error);
	cr_expect(strstr(r.error, "Docker-Content-Digest"), "%s", r.error);
	cr_expect_str_eq(ctx.err, r.error);
	lks_image_resolution_free(&r);
}

Test(registry, body_not_matching_requested_digest)
{
	char md[LKS_DIGEST_LEN + 1], other[LKS_DIGEST_LEN + 1];
	serve_single("config-amd64.json", md, NULL);
	lks_sha256_buf("x", 1, other);
	fake_routes[0].dcd[0] = '\0';
	snprintf(fake_routes[0].dcd, sizeof(fake_routes[0].dcd), "%s", other);
	fake_add(LKS_HTTP_GET, suffix("manifests", other), 200, fix[1].data, fix[1].len, NULL);
	struct lks_image_resolution r;
	cr_assert_eq(resolve_one("127.0.0.1:5000/app:1", &r), -LKS_E_DIGEST);
	cr_expect(strstr(r.error, "does not match its digest"), "%s", r.error);
	lks_image_resolution_free(&r);
}

Test(registry, config_digest_mismatch)
{
	char md[LKS_DIGEST_LEN + 1];
	serve_single("config-amd64.json", md, NULL);
	struct lks_buf *other = load("config-arm64.json", NULL, NULL);
	fake_routes[3].body = other->data;
	fake_routes[3].body_len = other->len;
	struct lks_image_resolution r;
	cr_assert_eq(resolve_one("127.0.0.1:5000/app:1", &r), -LKS_E_DIGEST);
	cr_expect(strstr(r.error, "image config"), "%s", r.error);
	lks_image_resolution_free(&r);
}

Test(registry, index_skips_attestations)
{
	char ca[LKS_DIGEST_LEN + 1], cb[LKS_DIGEST_LEN + 1];
	char ma[LKS_DIGEST_LEN + 1], mb[LKS_DIGEST_LEN + 1], ix[LKS_DIGEST_LEN + 1];
	struct lks_buf *cfga = load("config-amd64.json", NULL, NULL);
	struct lks_buf *cfgb = load("config-arm64.json", NULL, NULL);
	digest_of(cfga, ca);
	digest_of(cfgb, cb);
	struct lks_buf *a = load("manifest.json", "@CONFIG@", ca);
	struct lks_buf *b = load("manifest.json", "@CONFIG@", cb);
	digest_of(a, ma);
	digest_of(b, mb);
	struct lks_buf *i1 = load("index.json", "@AMD64@", ma);
	struct lks_buf *idx = &fix[n_fix++];
	lks_buf_init(idx, 0);
	const char *at = strstr(i1->data, "@ARM64@");
	cr_assert_not_null(at);
	lks_buf_append(idx, i1->data, (size_t)(at - i1->data));
	lks_buf_puts(idx, mb);
	lks_buf_puts(idx, at + 7);
	digest_of(idx, ix);
	fake_add(LKS_HTTP_GET, suffix("manifests", "1"), 200, idx->data, idx->len, "auto");
	fake_add(LKS_HTTP_GET, suffix("manifests", ix), 200, idx->data, idx->len, "auto");
	fake_add(LKS_HTTP_GET, suffix("manifests", ma), 200, a->data, a->len, "auto");
	fake_add(LKS_HTTP_GET, suffix("manifests", mb), 200, b->data, b->len, "auto");
	fake_add(LKS_HTTP_GET, suffix("blobs", ca), 200, cfga->data, cfga->len, NULL);
	fake_add(LKS_HTTP_GET, suffix("blobs", cb), 200, cfgb->data, cfgb->len, NULL);
	struct lks_image_resolution r;
	cr_assert_eq(resolve_one("127.0.0.1:5000/app:1", &r), 0, "%s", ctx.err);
	cr_expect_str_eq(r.digest, ix);
	cr_expect_str_eq(r.media_type, "application/vnd.oci.image.index.v1+json");
	cr_assert_eq(r.n_platforms, 2, "attestation and unknown/unknown must be skipped");
	cr_expect_str_eq(r.platforms[0].digest, ma);
	cr_expect_str_eq(r.platforms[1].digest, mb);
	cr_expect_str_eq(r.platforms[1].arch, "arm64");
	cr_expect_str_eq(r.platforms[1].variant, "v8");
	cr_expect_str_eq(r.created, "2024-03-04T05:06:07.123456789Z", "newest platform wins");
	lks_image_resolution_free(&r);
}

struct bad_case {
	const char *fixture;
	int rc;
	const char *msg;
};

Test(registry, bad_manifests)
{
	static const struct bad_case cases[] = {
	    {"schema1.json", -LKS_E_UNSUPPORTED, "schema version 1"},
	    {"not-json.txt", -LKS_E_PARSE, "not valid JSON"},
	    {"index-only-attestation.json", -LKS_E_PARSE, "no image for any platform"},
	    {"manifest-no-config.json", -LKS_E_PARSE, "no valid config"},
	    {"index-bad-digest.json", -LKS_E_PARSE, "without a valid digest"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fake_reset();
		struct lks_buf *m = load(cases[i].fixture, NULL, NULL);
		/* No Docker-Content-Digest: the client GETs by tag and hashes the body. */
		fake_add(LKS_HTTP_GET, suffix("manifests", "1"), 200, m->data, m->len, NULL);
		struct lks_image_resolution r;
		cr_expect_eq(resolve_one("127.0.0.1:5000/app:1", &r), cases[i].rc, "%s: %s",
		             cases[i].fixture, ctx.err);
		cr_expect(r.error && strstr(r.error, cases[i].msg), "%s: '%s'", cases[i].fixture,
		          r.error);
		lks_image_resolution_free(&r);
		lks_buf_free(&fix[--n_fix]);
	}
}

Test(registry, http_errors)
{
	static const struct {
		long status;
		const char *extra;
		int rc;
		const char *msg;
	} cases[] = {
	    {404, "", -LKS_E_NOTFOUND, "tag not found in registry '127.0.0.1:5000'"},
	    {500, "", -LKS_E_HTTP, "answered HTTP 500"},
	    {403, "", -LKS_E_AUTH, "denied access (403)"},
	    {401, "", -LKS_E_AUTH, "without a usable authentication challenge"},
	    {401, "www-authenticate: Basic realm=\"r\"", -LKS_E_AUTH, "requires credentials"},
	};
	setenv("DOCKER_CONFIG", "/nonexistent-lockstep", 1);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fake_reset();
		struct fake_route *fr = fake_add(LKS_HTTP_GET, suffix("manifests", "1"),
		                                 cases[i].status, "{}", 2, NULL);
		snprintf(fr->extra, sizeof(fr->extra), "%s", cases[i].extra);
		struct lks_image_resolution r;
		cr_expect_eq(resolve_one("127.0.0.1:5000/app:1", &r), cases[i].rc, "%ld: %s",
		             cases[i].status, ctx.err);
		cr_expect(r.error && strstr(r.error, cases[i].msg), "%ld: '%s'", cases[i].status,
		          r.error);
		lks_image_resolution_free(&r);
	}
	unsetenv("DOCKER_CONFIG");
}

Test(registry, manifest_cap)
{
	size_t n = LKS_REGISTRY_MANIFEST_MAX + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	fake_add(LKS_HTTP_GET, suffix("manifests", "1"), 200, big, n, NULL);
	struct lks_image_resolution r;
	cr_expect_eq(resolve_one("127.0.0.1:5000/app:1", &r), -LKS_E_TOOBIG, "%s", ctx.err);
	lks_image_resolution_free(&r);
	free(big);
}

Test(registry, docker_hub_host_and_many_refs)
{
	char md[LKS_DIGEST_LEN + 1];
	serve_single("config-amd64.json", md, NULL);
	struct lks_oci_ref a, b;
	cr_assert_eq(lks_oci_ref_parse(&ctx, "127.0.0.1:5000/app:1", &a), 0);
	cr_assert_eq(lks_oci_ref_parse(&ctx, "127.0.0.1:5000/app:missing", &b), 0);
	const struct lks_oci_ref *refs[] = {&a, &b, &a};
	struct lks_image_resolution r[3];
	cr_expect_eq(lks_registry_resolve(&ctx, refs, 3, r), -LKS_E_NOTFOUND);
	/* HEAD+GET+config for a, HEAD for b: the repeated a costs no request. */
	cr_expect_eq(fake_requests, 4, "requests: %d", fake_requests);
	cr_expect_str_eq(r[2].created, "2024-01-02T03:04:05Z");
	cr_expect_eq(r[2].n_platforms, 1);
	cr_expect_eq(r[0].rc, 0);
	cr_expect_eq(r[1].rc, -LKS_E_NOTFOUND);
	cr_expect_eq(r[2].rc, 0);
	cr_expect_str_eq(r[2].digest, md);
	for (int i = 0; i < 3; i++) {
		lks_image_resolution_free(&r[i]);
	}
	lks_oci_ref_free(&a);
	lks_oci_ref_free(&b);
	struct lks_image_resolution h;
	resolve_one("python:3.12", &h);
	cr_expect(!strncmp(fake_last_url, "https://registry-1.docker.io/v2/library/python/", 47),
	          "%s", fake_last_url);
	lks_image_resolution_free(&h);
}

struct sink_state {
	struct lks_buf got;
	int stop_after;
};

static int test_sink(void *opaque, const void *p, size_t n)
{
	struct sink_state *s = opaque;
	if (s->stop_after >= 0 && s->got.len >= (size_t)s->stop_after) {
		return 1;
	}
	return lks_buf_append(&s->got, p, n) < 0;
}

Test(registry, blob_stream)
{
	static const char data[] = "layer bytes";
	char d[LKS_DIGEST_LEN + 1], other[LKS_DIGEST_LEN + 1];
	lks_sha256_buf(data, sizeof(data) - 1, d);
	lks_sha256_buf("x", 1, other);
	fake_add(LKS_HTTP_GET, suffix("blobs", d), 200, data, sizeof(data) - 1, NULL);
	fake_add(LKS_HTTP_GET, suffix("blobs", other), 200, data, sizeof(data) - 1, NULL);
	struct lks_oci_ref repo;
	cr_assert_eq(lks_oci_ref_parse(&ctx, "127.0.0.1:5000/app", &repo), 0);
	struct sink_state s = {.stop_after = -1};
	lks_buf_init(&s.got, 0);
	cr_expect_eq(lks_registry_blob(&ctx, &repo, d, test_sink, &s), 0, "%s", ctx.err);
	cr_expect_str_eq(s.got.data, data);
	lks_buf_reset(&s.got);
	cr_expect_eq(lks_registry_blob(&ctx, &repo, other, test_sink, &s), -LKS_E_DIGEST);
	cr_expect(strstr(ctx.err, "does not match its digest"), "%s", ctx.err);
	s.stop_after = 0;
	cr_expect_eq(lks_registry_blob(&ctx, &repo, d, test_sink, &s), -ECANCELED);
	char missing[LKS_DIGEST_LEN + 1];
	lks_sha256_buf("y", 1, missing);
	cr_expect_eq(lks_registry_blob(&ctx, &repo, missing, test_sink, &s), -LKS_E_NOTFOUND);
	cr_expect_eq(lks_registry_blob(&ctx, &repo, "sha256:nothex", test_sink, &s), -LKS_E_INVAL);
	struct lks_buf mem;
	lks_buf_init(&mem, 0);
	cr_expect_eq(lks_registry_blob_mem(&ctx, &repo, d, 0, &mem), 0, "%s", ctx.err);
	cr_expect_str_eq(mem.data, data);
	lks_buf_free(&mem);
	lks_buf_free(&s.got);
	lks_oci_ref_free(&repo);
}

/* Live: run by tests/e2e/registry.py with LKS_LIVE_REGISTRY=host:port of a real (token-auth)
 * registry seeded by tests/servers/registry.py; skipped otherwise. */
static size_t live_bytes;

static int count_sink(void *opaque, const void *p, size_t n)
{
	live_bytes += n;
	return 0;
}

Test(registry_live, manifest_and_blob_stream)
{
	const char *host = getenv("LKS_LIVE_REGISTRY");
	if (!host) {
		cr_skip_test("LKS_LIVE_REGISTRY not set (run by tests/e2e/registry.py)");
	}
	struct lks_ctx c;
	lks_ctx_init(&c);
	char refs[300];
	snprintf(refs, sizeof(refs), "%s/single:1", host);
	struct lks_oci_ref ref;
	cr_assert_eq(lks_oci_ref_parse(&c, refs, &ref), 0);
	struct lks_buf m;
	lks_buf_init(&m, 0);
	char *mt = NULL;
	char md[LKS_DIGEST_LEN + 1];
	cr_assert_eq(lks_registry_manifest(&c, &ref, NULL, &m, &mt, md), 0, "%s", c.err);
	json_t *j = NULL;
	cr_assert_eq(lks_json_parse(&c, m.data, m.len, 0, "manifest", &j), 0);
	json_t *layer = json_array_get(json_object_get(j, "layers"), 0);
	const char *ld = json_string_value(json_object_get(layer, "digest"));
	json_int_t size = json_integer_value(json_object_get(layer, "size"));
	cr_assert_not_null(ld);
	live_bytes = 0;
	cr_assert_eq(lks_registry_blob(&c, &ref, ld, count_sink, NULL), 0, "%s", c.err);
	cr_expect_eq((long long)live_bytes, (long long)size, "streamed %zu of %lld bytes",
	             live_bytes, (long long)size);
	cr_expect_gt(live_bytes, 100000, "the busybox layer should be large");
	struct lks_buf cfg;
	lks_buf_init(&cfg, 0);
	const char *cd = json_string_value(json_object_get(json_object_get(j, "config"), "digest"));
	cr_expect_eq(lks_registry_blob_mem(&c, &ref, cd, 0, &cfg), 0, "%s", c.err);
	cr_expect(strstr(cfg.data ? cfg.data : "", "\"created\""));
	/* A layer digest that is not in the repository. */
	char missing[LKS_DIGEST_LEN + 1];
	lks_sha256_buf("missing", 7, missing);
	cr_expect_eq(lks_registry_blob(&c, &ref, missing, count_sink, NULL), -LKS_E_NOTFOUND);
	json_decref(j);
	free(mt);
	lks_buf_free(&cfg);
	lks_buf_free(&m);
	lks_oci_ref_free(&ref);
	lks_ctx_free(&c);
}
