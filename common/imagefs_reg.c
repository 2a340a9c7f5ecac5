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
#include "lockstep/manifest.h"
#include "lockstep/oci_ref.h"
#include "lockstep/registry.h"
#include "common/imagefs_int.h"

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

static bool plat_match(const struct plat *want, const char *os, const char *arch, const char *var)
{
	return os && arch && !strcmp(os, want->os) && !strcmp(arch, want->arch) &&
	       (!want->variant[0] || (var && !strcmp(var, want->variant)));
}

static void plat_set(struct lks_imagefs *fs, const char *os, const char *arch, const char *var)
{
	fs->os = strdup(os ? os : "");
	fs->arch = strdup(arch ? arch : "");
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
static int pick_from_index(struct lks_ctx *ctx, const char *image, const struct lks_manifest *idx,
                           const struct plat *want, struct lks_imagefs *fs, const char **digest)
{
	for (size_t i = 0; i < idx->n; i++) {
		const struct lks_desc *d = &idx->v[i];
		if (plat_match(want, d->os, d->arch, d->variant)) {
			plat_set(fs, d->os, d->arch, d->variant);
			*digest = d->digest;
			return 0;
		}
	}
	return lks_err(ctx, -LKS_E_NOTFOUND, "image '%s' has no platform %s/%s%s%s", image,
	               want->os, want->arch, want->variant[0] ? "/" : "", want->variant);
}

/* A single-platform image: its config says which platform it is. */
static int check_single(struct lks_ctx *ctx, const char *image, const struct lks_oci_ref *ref,
                        const struct lks_manifest *man, const struct plat *want, bool any,
                        struct lks_imagefs *fs)
{
	struct lks_buf b;
	json_auto_t *cfg = NULL;
	lks_buf_init(&b, LKS_REGISTRY_CONFIG_MAX);
	int rc = lks_registry_blob_mem(ctx, ref, man->config.digest, 0, &b);
	if (rc == 0) {
		rc = lks_json_parse(ctx, b.data, b.len, LKS_REGISTRY_CONFIG_MAX, "image config",
		                    &cfg);
	}
	lks_buf_free(&b);
	if (rc < 0) {
		return rc;
	}
	const char *os = lks_json_str(cfg, "os"), *arch = lks_json_str(cfg, "architecture");
	plat_set(fs, os, arch, lks_json_str(cfg, "variant"));
	if (!any && !plat_match(want, os, arch, lks_json_str(cfg, "variant"))) {
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

static int list_layers(struct lks_ctx *ctx, const char *image, const struct lks_manifest *man,
                       struct reg_src *src)
{
	src->layers = calloc(man->n + 1, sizeof(*src->layers));
	if (!src->layers) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < man->n; i++) {
		const char *mt = man->v[i].media_type;
		if (!is_tar_layer(mt)) {
			return lks_err(ctx, -LKS_E_UNSUPPORTED,
			               "image '%s': layer %zu is not a tar (%s)", image, i + 1, mt);
		}
		src->layers[src->n++] = man->v[i].digest;
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

/* A manifest or index fetched: its digest, the document, and what it says (borrowed). */
struct fetched {
	char digest[LKS_DIGEST_LEN + 1];
	json_t *doc;
	struct lks_manifest mf;
};

/* Fetch and parse one manifest or index of image (by digest, or its tag when NULL). */
static int fetch_manifest(struct lks_ctx *ctx, const char *image, const struct lks_oci_ref *ref,
                          const char *reference, struct fetched *f)
{
	char what[600];
	snprintf(what, sizeof(what), "manifest of '%s'", image);
	int rc = fetch_json(ctx, ref, reference, f->digest, &f->doc);
	return rc ? rc : lks_manifest_parse(ctx, f->doc, what, &f->mf);
}

/* Resolve the manifest to read and its layers (borrowed from *man, src->layers); fills fs's
 * digests and platform. */
static int open_image(struct lks_ctx *ctx, const char *image, const char *platform,
                      struct reg_src *src, json_t **man, struct lks_imagefs *fs)
{
	struct plat want;
	struct fetched top = {0}, pm = {0};
	int rc = plat_parse(ctx, platform, &want);
	rc = rc ? rc : fetch_manifest(ctx, image, &src->ref, NULL, &top);
	if (rc == 0 && !(fs->image_digest = strdup(top.digest))) {
		rc = -ENOMEM;
	}
	struct fetched *use = &top;
	const char *pd = NULL;
	if (rc == 0 && top.mf.index) {
		rc = pick_from_index(ctx, image, &top.mf, &want, fs, &pd);
		rc = rc ? rc : fetch_manifest(ctx, image, &src->ref, pd, &pm);
		rc = rc || !pm.mf.index
		         ? rc
		         : lks_err(ctx, -LKS_E_UNSUPPORTED,
		                   "image '%s': platform manifest %s is an index", image, pd);
		use = &pm;
	} else if (rc == 0) {
		rc = check_single(ctx, image, &src->ref, &top.mf, &want, !platform, fs);
	}
	if (rc == 0 && !(fs->manifest_digest = strdup(use->digest))) {
		rc = -ENOMEM;
	}
	rc = rc ? rc : list_layers(ctx, image, &use->mf, src);
	*man = TAKE_PTR(use->doc); /* the layer digests point into it */
	lks_manifest_free(&top.mf);
	lks_manifest_free(&pm.mf);
	json_decref(top.doc);
	json_decref(pm.doc);
	return rc;
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
	const struct ifs_read rd = {&s, reqs, n, &o};
	int memo =
	    rc == 0 && ctx->imagefs_memo ? ifs_memo_read(ctx, meta.manifest_digest, &rd, out) : 1;
	rc = rc ? rc : memo < 0 ? memo : 0;
	if (rc == 0 && memo == 1) {
		rc = lks_imagefs_read_source(ctx, &s, reqs, n, &o, out);
		ctx->image_streams++;
	}
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
