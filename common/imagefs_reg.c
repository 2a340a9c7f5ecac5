/* Reading files out of an image in a registry: pick the platform manifest, stream its layers
 * (each verified against its digest), cache the result by digest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/image.h"
#include "lockstep/imagefs.h"
#include "lockstep/json.h"
#include "lockstep/oci_ref.h"
#include "lockstep/registry.h"

#define CACHE_NS "imagefs"

struct plat {
	char os[32], arch[32], variant[32];
};

struct reg_src {
	struct lks_oci_ref ref;
	const char **layers; /* digests, borrowed from the manifest JSON */
	size_t n;
};

/* "linux/arm64/v8"; NULL: linux and this machine's architecture. */
static int plat_parse(struct lks_ctx *ctx, const char *s, struct plat *p)
{
	memset(p, 0, sizeof(*p));
	if (!s) {
		static const char *const map[][2] = {{"x86_64", "amd64"},    {"aarch64", "arm64"},
		                                     {"i686", "386"},        {"armv7l", "arm"},
		                                     {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
		                                     {"riscv64", "riscv64"}};
		struct utsname u;
		uname(&u);
		snprintf(p->os, sizeof(p->os), "linux");
		snprintf(p->arch, sizeof(p->arch), "amd64");
		for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
			if (!strcmp(u.machine, map[i][0])) {
				snprintf(p->arch, sizeof(p->arch), "%s", map[i][1]);
			}
		}
		return 0;
	}
	int n = sscanf(s, "%31[^/]/%31[^/]/%31s", p->os, p->arch, p->variant);
	if (n < 2 || strlen(s) > 90) {
		return lks_err(ctx, -LKS_E_INVAL, "bad platform '%s' (want os/arch[/variant])", s);
	}
	return 0;
}

static bool plat_match(const struct plat *want, const json_t *p)
{
	const char *os = lks_json_str(p, "os"), *arch = lks_json_str(p, "architecture");
	const char *var = lks_json_str(p, "variant");
	return os && arch && !strcmp(os, want->os) && !strcmp(arch, want->arch) &&
	       (!want->variant[0] || (var && !strcmp(var, want->variant)));
}

static void plat_set(struct lks_imagefs *fs, const json_t *p)
{
	const char *var = lks_json_str(p, "variant");
	fs->os = strdup(lks_json_str(p, "os") ? lks_json_str(p, "os") : "");
	fs->arch = strdup(lks_json_str(p, "architecture") ? lks_json_str(p, "architecture") : "");
	fs->variant = var && *var ? strdup(var) : NULL;
}

static int fetch_json(struct lks_ctx *ctx, const struct lks_oci_ref *ref, const char *reference,
                      char digest[static LKS_DIGEST_LEN + 1], json_t **out)
{
	struct lks_buf b;
	lks_buf_init(&b, LKS_REGISTRY_MANIFEST_MAX);
	int rc = lks_registry_manifest(ctx, ref, reference, &b, NULL, digest);
	if (rc == 0) {
		rc = lks_json_parse(ctx, b.data, b.len, 0, "manifest", out);
	}
	lks_buf_free(&b);
	return rc;
}

/* The platform manifest of an index (attestations have platform unknown/unknown). */
static int pick_from_index(struct lks_ctx *ctx, const char *image, const json_t *idx,
                           const struct plat *want, struct lks_imagefs *fs, const char **digest)
{
	const json_t *v = json_object_get(idx, "manifests"), *e;
	size_t i;
	json_array_foreach(v, i, e)
	{
		const json_t *p = json_object_get(e, "platform");
		const char *d = lks_json_str(e, "digest");
		if (p && d && plat_match(want, p)) {
			plat_set(fs, p);
			*digest = d;
			return 0;
		}
	}
	return lks_err(ctx, -LKS_E_NOTFOUND, "image '%s' has no platform %s/%s%s%s", image,
	               want->os, want->arch, want->variant[0] ? "/" : "", want->variant);
}

/* A single-platform image: its config says which platform it is. */
static int check_single(struct lks_ctx *ctx, const char *image, const struct lks_oci_ref *ref,
                        const json_t *man, const struct plat *want, bool any,
                        struct lks_imagefs *fs)
{
	const char *cd = lks_json_str(json_object_get(man, "config"), "digest");
	struct lks_buf b;
	json_auto_t *cfg = NULL;
	lks_buf_init(&b, LKS_REGISTRY_CONFIG_MAX);
	int rc = cd ? lks_registry_blob_mem(ctx, ref, cd, 0, &b)
	            : lks_err(ctx, -LKS_E_PARSE, "manifest of '%s' has no config", image);
	if (rc == 0) {
		rc = lks_json_parse(ctx, b.data, b.len, LKS_REGISTRY_CONFIG_MAX, "image config",
		                    &cfg);
	}
	lks_buf_free(&b);
	if (rc < 0) {
		return rc;
	}
	plat_set(fs, cfg);
	if (!any && !plat_match(want, cfg)) {
		return lks_err(ctx, -LKS_E_NOTFOUND,
		               "image '%s' has no platform %s/%s%s%s (it is %s/%s)", image,
		               want->os, want->arch, want->variant[0] ? "/" : "", want->variant,
		               fs->os, fs->arch);
	}
	return 0;
}

static bool is_tar_layer(const char *mt)
{
	return !mt || strstr(mt, ".tar") || strstr(mt, "rootfs.diff") || strstr(mt, "layer.v1");
}

static int list_layers(struct lks_ctx *ctx, const char *image, const json_t *man,
                       struct reg_src *src)
{
	const json_t *v = json_object_get(man, "layers"), *e;
	size_t n = json_array_size(v), i;
	if (!json_is_array(v)) {
		return lks_err(ctx, -LKS_E_PARSE, "manifest of '%s' has no usable layer list",
		               image);
	}
	if (n > LKS_IMAGE_MAX_LAYERS) {
		return lks_err(
		    ctx, -LKS_E_TOOBIG,
		    "manifest of '%s' has %zu layers, which exceeds the layer limit of %d", image,
		    n, LKS_IMAGE_MAX_LAYERS);
	}
	src->layers = calloc(n ? n : 1, sizeof(*src->layers));
	if (!src->layers) {
		return -ENOMEM;
	}
	json_array_foreach(v, i, e)
	{
		const char *d = lks_json_str(e, "digest"), *mt = lks_json_str(e, "mediaType");
		if (!d || !is_tar_layer(mt)) {
			return lks_err(ctx, -LKS_E_UNSUPPORTED,
			               "image '%s': layer %zu is not a tar (%s)", image, i + 1,
			               mt ? mt : "no digest");
		}
		src->layers[src->n++] = d;
	}
	return 0;
}

/* Stream one layer into the scan, then drain it: the digest is checked at the blob's end,
 * which the tar's end-of-archive marker may precede. */
static int reg_layer(struct lks_ctx *ctx, void *opaque, size_t i, struct lks_imagefs_scan *scan)
{
	struct reg_src *src = opaque;
	struct lks_registry_stream *st = NULL;
	int rc = lks_registry_stream_open(ctx, &src->ref, src->layers[i], &st);
	if (rc == 0) {
		rc = lks_imagefs_scan_layer(scan, src->layers[i], lks_registry_stream_read_cb, st);
	}
	char buf[16384];
	long got = 0;
	while (rc == 0 && (got = lks_registry_stream_read(st, buf, sizeof(buf))) > 0) {
	}
	lks_registry_stream_close(st);
	return rc ? rc : (int)got;
}

static int cache_key(const char *digest, const char *platform, const struct lks_imagefs_req *reqs,
                     size_t n, const struct lks_imagefs_opts *o, struct lks_buf *k)
{
	int rc = lks_buf_printf(k, "v1 %s %s %zu %zu", digest, platform ? platform : "-",
	                        o->file_max, o->total_max);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = lks_buf_printf(k, "\n%c%s", reqs[i].stat_only ? '?' : '=', reqs[i].path);
	}
	return rc;
}

static int cache_lookup(struct lks_ctx *ctx, const struct lks_imagefs_opts *o, const char *key,
                        struct lks_imagefs *out)
{
	struct lks_buf v;
	lks_buf_init(&v, 0);
	int rc = o->cache_get(ctx, CACHE_NS, key, &v, NULL);
	if (rc == 0) {
		rc = lks_imagefs_restore(ctx, v.data, v.len, out);
		out->from_cache = rc == 0;
	}
	lks_buf_free(&v);
	ctx->err[0] = '\0'; /* a miss or a damaged entry: read the image */
	return rc;
}

static void cache_store(struct lks_ctx *ctx, const struct lks_imagefs_opts *o, const char *key,
                        const struct lks_imagefs *fs)
{
	struct lks_buf v;
	lks_buf_init(&v, 0);
	if (lks_imagefs_save(fs, &v) == 0 && o->cache_put(ctx, CACHE_NS, key, v.data, v.len) < 0) {
		lks_warn(ctx, "cannot cache files of '%s': %s", fs->image_digest, ctx->err);
	}
	lks_buf_free(&v);
}

/* Resolve the manifest to read and its layers; fills fs's digests and platform. */
static int open_image(struct lks_ctx *ctx, const char *image, const char *platform,
                      struct reg_src *src, json_t **man, struct lks_imagefs *fs)
{
	struct plat want;
	char digest[LKS_DIGEST_LEN + 1];
	int rc = plat_parse(ctx, platform, &want);
	rc = rc ? rc : fetch_json(ctx, &src->ref, NULL, digest, man);
	if (rc == 0 && !(fs->image_digest = strdup(digest))) {
		rc = -ENOMEM;
	}
	const char *pd = NULL;
	if (rc == 0 && json_object_get(*man, "manifests")) {
		rc = pick_from_index(ctx, image, *man, &want, fs, &pd);
		json_t *idx = *man;
		*man = NULL;
		rc = rc ? rc : fetch_json(ctx, &src->ref, pd, digest, man);
		json_decref(idx);
	} else if (rc == 0) {
		rc = check_single(ctx, image, &src->ref, *man, &want, !platform, fs);
	}
	if (rc == 0 && !(fs->manifest_digest = strdup(digest))) {
		rc = -ENOMEM;
	}
	return rc ? rc : list_layers(ctx, image, *man, src);
}

int lks_imagefs_read(struct lks_ctx *ctx, const char *image, const char *platform,
                     const struct lks_imagefs_req *reqs, size_t n,
                     const struct lks_imagefs_opts *opts, struct lks_imagefs *out)
{
	struct lks_imagefs_opts o = opts ? *opts : (struct lks_imagefs_opts){0};
	bool cache = o.cache_get && o.cache_put;
	struct reg_src src = {0};
	json_auto_t *man = NULL;
	struct lks_buf key;
	lks_buf_init(&key, 0);
	lks_imagefs_init(out);
	int rc = lks_oci_ref_parse(ctx, image, &src.ref);
	if (rc == 0 && cache && src.ref.digest) {
		rc = cache_key(src.ref.digest, platform, reqs, n, &o, &key);
		if (rc == 0 && cache_lookup(ctx, &o, key.data, out) == 0) {
			goto done;
		}
	}
	struct lks_imagefs meta;
	lks_imagefs_init(&meta);
	rc = rc ? rc : open_image(ctx, image, platform, &src, &man, &meta);
	struct lks_imagefs_source s = {src.n, reg_layer, &src};
	rc = rc ? rc : lks_imagefs_read_source(ctx, &s, reqs, n, &o, out);
	if (rc == 0) {
		out->image_digest = TAKE_PTR(meta.image_digest);
		out->manifest_digest = TAKE_PTR(meta.manifest_digest);
		out->os = TAKE_PTR(meta.os);
		out->arch = TAKE_PTR(meta.arch);
		out->variant = TAKE_PTR(meta.variant);
		lks_buf_reset(&key);
		if (cache && cache_key(out->image_digest, platform, reqs, n, &o, &key) == 0) {
			cache_store(ctx, &o, key.data, out);
		}
	}
	lks_imagefs_free(&meta);
done:
	lks_buf_free(&key);
	free(src.layers);
	lks_oci_ref_free(&src.ref);
	return rc;
}
