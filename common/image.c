/* Loading images from OCI layouts, oci-archive and docker-archive tars. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/image.h"
#include "lockstep/json.h"
#include "lockstep/manifest.h"
#include "lockstep/oci_ref.h"
#include "lockstep/registry.h"
#include "lockstep/buf.h"

#define META_MAX ((size_t)4 << 20)

static const struct {
	const char *prefix;
	enum lks_image_kind kind;
} kinds[] = {
    {"oci:", LKS_IMAGE_OCI_DIR},
    {"oci-archive:", LKS_IMAGE_OCI_ARCHIVE},
    {"docker-archive:", LKS_IMAGE_DOCKER_ARCHIVE},
};

int lks_image_src_parse(struct lks_ctx *ctx, const char *s, struct lks_image_src *src)
{
	memset(src, 0, sizeof(*src));
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(s, kinds[i].prefix, n) || !s[n]) {
			continue;
		}
		src->kind = kinds[i].kind;
		src->path = strdup(s + n);
		if (!src->path) {
			return -ENOMEM;
		}
		/* A trailing ":REF" names the image; a ':' before a '/' belongs to the path. */
		char *colon = strrchr(src->path, ':');
		if (colon && !strchr(colon, '/') && colon != src->path) {
			*colon = '\0';
			src->ref = colon[1] ? strdup(colon + 1) : NULL;
		}
		return 0;
	}
	if (!strncmp(s, "docker://", 9)) {
		src->kind = LKS_IMAGE_REGISTRY;
		src->path = strdup(s + 9);
		src->oref = calloc(1, sizeof(*src->oref));
		if (!src->path || !src->oref) {
			return -ENOMEM;
		}
		return lks_oci_ref_parse(ctx, s + 9, src->oref);
	}
	return lks_err(ctx, -LKS_E_INVAL,
	               "cannot parse image source '%s': expected oci:DIR[:REF], "
	               "oci-archive:FILE[:REF] or docker-archive:FILE",
	               s);
}

void lks_image_src_free(struct lks_image_src *src)
{
	free(src->path);
	free(src->ref);
	src->path = src->ref = NULL;
	if (src->oref) {
		lks_oci_ref_free(src->oref);
		free(src->oref);
		src->oref = NULL;
	}
}

static void image_free(struct lks_image *img)
{
	for (size_t i = 0; i < img->n_layers; i++) {
		free(img->layers[i].digest);
		free(img->layers[i].media_type);
		free(img->layers[i].diff_id);
		free(img->layers[i].member);
	}
	free(img->layers);
	free(img->platform);
	free(img->manifest_digest);
	free(img->config_digest);
	json_decref(img->manifest);
	json_decref(img->desc);
	json_decref(img->config);
	memset(img, 0, sizeof(*img));
}

void lks_image_set_free(struct lks_image_set *set)
{
	for (size_t i = 0; i < set->n_images; i++) {
		image_free(&set->images[i]);
	}
	free(set->images);
	for (size_t i = 0; i < set->n_attestations; i++) {
		free(set->attestations[i]);
	}
	free(set->attestations);
	json_decref(set->index);
	json_decref(set->top);
	lks_image_src_free(&set->src);
	memset(set, 0, sizeof(*set));
}

static int load_json(struct lks_ctx *ctx, const struct lks_image_src *src, const char *member,
                     const char *digest, json_t **out)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int rc = lks_blob_load(ctx, src, member, digest, META_MAX, &data, &len);
	if (rc < 0) {
		return rc;
	}
	char what[300];
	snprintf(what, sizeof(what), "'%s'", member);
	rc = lks_json_parse(ctx, data, len, META_MAX, what, out);
	if (rc == 0 && !json_is_object(*out) && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return lks_err(ctx, -LKS_E_PARSE, "'%s' is not a JSON object", member);
	}
	return rc;
}

static int parse_doc(struct lks_ctx *ctx, struct lks_buf *b, const char *digest, json_t **out)
{
	char what[128];
	snprintf(what, sizeof(what), "'%s'", digest);
	int rc = lks_json_parse(ctx, b->data ? b->data : "", b->len, META_MAX, what, out);
	lks_buf_free(b);
	if (rc == 0 && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return lks_err(ctx, -LKS_E_PARSE, "%s is not a JSON object", what);
	}
	return rc;
}

/* Manifests and configs from a registry, verified against their digests by the client. */
static int load_remote(struct lks_ctx *ctx, const struct lks_image_src *src, const char *digest,
                       bool manifest, json_t **out)
{
	struct lks_buf b;
	lks_buf_init(&b, META_MAX);
	char got[LKS_DIGEST_LEN + 1];
	int rc = manifest ? lks_registry_manifest(ctx, src->oref, digest, &b, NULL, got)
	                  : lks_registry_blob_mem(ctx, src->oref, digest, META_MAX, &b);
	if (rc < 0) {
		lks_buf_free(&b);
		return rc;
	}
	return parse_doc(ctx, &b, digest, out);
}

static int load_blob_json(struct lks_ctx *ctx, const struct lks_image_src *src, const char *digest,
                          json_t **out)
{
	_cleanup_free_ char *member = lks_image_blob_path(digest);
	if (!member) {
		return lks_err(ctx, -LKS_E_PARSE, "malformed digest '%s'",
		               digest ? digest : "(none)");
	}
	return load_json(ctx, src, member, digest, out);
}

static int load_doc(struct lks_ctx *ctx, const struct lks_image_src *src, const char *digest,
                    bool manifest, json_t **out)
{
	if (src->kind == LKS_IMAGE_REGISTRY) {
		return load_remote(ctx, src, digest, manifest, out);
	}
	return load_blob_json(ctx, src, digest, out);
}

static struct lks_image *set_add(struct lks_image_set *set)
{
	if (set->n_images >= LKS_IMAGE_MAX_PLATFORMS) {
		return NULL;
	}
	struct lks_image *p = realloc(set->images, (set->n_images + 1) * sizeof(*p));
	if (!p) {
		return NULL;
	}
	set->images = p;
	memset(&p[set->n_images], 0, sizeof(*p));
	return &p[set->n_images++];
}

static char *platform_str(const json_t *plat)
{
	const char *os = lks_json_str(plat, "os");
	const char *arch = lks_json_str(plat, "architecture");
	const char *var = lks_json_str(plat, "variant");
	char *s = NULL;
	if (asprintf(&s, "%s/%s%s%s", os ? os : "?", arch ? arch : "?", var ? "/" : "",
	             var ? var : "") < 0) {
		return NULL;
	}
	return s;
}

/* Attach rootfs.diff_ids to the layers; counts must agree. */
static int attach_diff_ids(struct lks_ctx *ctx, struct lks_image *img)
{
	json_t *ids = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) != img->n_layers) {
		return lks_err(ctx, -LKS_E_PARSE,
		               "config %s: rootfs.diff_ids does not list %zu layers",
		               img->config_digest ? img->config_digest : "", img->n_layers);
	}
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *d = json_string_value(json_array_get(ids, i));
		if (!d || !lks_digest_valid(d)) {
			return lks_err(ctx, -LKS_E_PARSE, "config: malformed diff_id %zu", i);
		}
		if (!(img->layers[i].diff_id = strdup(d))) {
			return -ENOMEM;
		}
	}
	return 0;
}

static int manifest_layers(struct lks_image *img, const struct lks_manifest *mf)
{
	img->layers = calloc(mf->n + 1, sizeof(*img->layers));
	if (!img->layers) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < mf->n; i++) {
		const struct lks_desc *l = &mf->v[i];
		struct lks_image_layer *dst = &img->layers[img->n_layers++];
		dst->size = l->size;
		dst->member = lks_image_blob_path(l->digest);
		dst->digest = strdup(l->digest);
		dst->media_type = l->media_type ? strdup(l->media_type) : NULL;
		if (!dst->member || !dst->digest || (l->media_type && !dst->media_type)) {
			return -ENOMEM;
		}
	}
	return 0;
}

static int load_image(struct lks_ctx *ctx, struct lks_image_set *set, const json_t *desc,
                      json_t *manifest, const char *digest)
{
	struct lks_image *img = set_add(set);
	if (!img) {
		json_decref(manifest);
		return lks_err(ctx, -LKS_E_TOOBIG, "too many images in '%s'", set->src.path);
	}
	img->manifest = manifest;
	img->desc = json_deep_copy(desc);
	img->manifest_digest = strdup(digest);
	if (!img->desc || !img->manifest_digest) {
		return -ENOMEM;
	}
	char what[200];
	struct lks_manifest mf;
	snprintf(what, sizeof(what), "manifest %s", digest);
	int rc = lks_manifest_parse(ctx, manifest, what, &mf);
	if (rc == 0 && !(img->config_digest = strdup(mf.config.digest))) {
		rc = -ENOMEM;
	}
	rc = rc ? rc : load_doc(ctx, &set->src, mf.config.digest, false, &img->config);
	rc = rc ? rc : manifest_layers(img, &mf);
	lks_manifest_free(&mf);
	if (rc < 0) {
		return rc;
	}
	if ((rc = attach_diff_ids(ctx, img)) < 0) {
		return rc;
	}
	json_t *plat = json_object_get(desc, "platform");
	img->platform = platform_str(plat ? plat : img->config);
	return img->platform ? 0 : -ENOMEM;
}

static bool is_attestation(const json_t *desc)
{
	const char *t =
	    lks_json_str(json_object_get(desc, "annotations"), "vnd.docker.reference.type");
	return t && !strcmp(t, "attestation-manifest");
}

static int add_attestation(struct lks_image_set *set, const char *digest)
{
	char **p = realloc(set->attestations, (set->n_attestations + 1) * sizeof(*p));
	if (!p) {
		return -ENOMEM;
	}
	set->attestations = p;
	p[set->n_attestations] = strdup(digest);
	return p[set->n_attestations++] ? 0 : -ENOMEM;
}

static int expand_desc(struct lks_ctx *ctx, struct lks_image_set *set, const json_t *desc,
                       int depth);

static int expand_index(struct lks_ctx *ctx, struct lks_image_set *set,
                        const struct lks_manifest *index, int depth)
{
	for (size_t i = 0; i < index->n; i++) {
		int rc = expand_desc(ctx, set, index->v[i].json, depth + 1);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int expand_desc(struct lks_ctx *ctx, struct lks_image_set *set, const json_t *desc,
                       int depth)
{
	if (depth > LKS_IMAGE_MAX_NEST) {
		return lks_err(ctx, -LKS_E_TOOBIG, "image indexes in '%s' nest deeper than %d",
		               set->src.path, LKS_IMAGE_MAX_NEST);
	}
	const char *digest = lks_json_str(desc, "digest");
	if (!digest) {
		return lks_err(ctx, -LKS_E_PARSE, "descriptor without digest in '%s'",
		               set->src.path);
	}
	if (is_attestation(desc)) {
		return add_attestation(set, digest);
	}
	json_t *doc = NULL;
	int rc = load_doc(ctx, &set->src, digest, true, &doc);
	if (rc < 0) {
		return rc;
	}
	char what[600];
	struct lks_manifest mf;
	snprintf(what, sizeof(what), "manifest %s in '%s'", digest, set->src.path);
	if ((rc = lks_manifest_parse(ctx, doc, what, &mf)) < 0) {
		json_decref(doc);
		return rc;
	}
	if (!mf.index) {
		lks_manifest_free(&mf);
		return load_image(ctx, set, desc, doc, digest);
	}
	if (!set->top) {
		set->top = json_incref(doc);
	}
	rc = expand_index(ctx, set, &mf, depth);
	lks_manifest_free(&mf);
	json_decref(doc);
	return rc;
}

/* The descriptors of index.json this source names: the one matching :REF, or all. */
static int pick_top(struct lks_ctx *ctx, struct lks_image_set *set)
{
	char what[600];
	struct lks_manifest ix;
	snprintf(what, sizeof(what), "index.json in '%s'", set->src.path);
	int rc = lks_manifest_parse(ctx, set->index, what, &ix);
	if (rc == 0 && (!ix.index || !ix.n)) {
		rc = lks_err(ctx, -LKS_E_PARSE, "index.json in '%s' lists no manifests",
		             set->src.path);
	}
	size_t found = 0;
	for (size_t i = 0; rc == 0 && i < ix.n; i++) {
		const char *name = lks_json_str(json_object_get(ix.v[i].json, "annotations"),
		                                "org.opencontainers.image.ref.name");
		if (set->src.ref && (!name || strcmp(name, set->src.ref))) {
			continue;
		}
		rc = expand_desc(ctx, set, ix.v[i].json, 1);
		found += rc == 0;
	}
	lks_manifest_free(&ix);
	if (rc < 0) {
		return rc;
	}
	if (!found) {
		return lks_err(ctx, -LKS_E_NOTFOUND, "'%s' has no image named '%s'", set->src.path,
		               set->src.ref);
	}
	return 0;
}

static int load_oci(struct lks_ctx *ctx, struct lks_image_set *set)
{
	int rc = load_json(ctx, &set->src, "index.json", NULL, &set->index);
	if (rc < 0 || (rc = pick_top(ctx, set)) < 0) {
		return rc;
	}
	if (!set->top) {
		set->top = json_incref(set->index);
	}
	return 0;
}

/* "blobs/sha256/<hex>" names its own digest (Docker >= 25); older saves do not. */
static char *digest_of_member(const char *member)
{
	const char *p = member;
	if (!strncmp(p, "blobs/", 6)) {
		p += 6;
		const char *slash = strchr(p, '/');
		char *d = NULL;
		if (slash && asprintf(&d, "%.*s:%s", (int)(slash - p), p, slash + 1) >= 0) {
			if (lks_digest_valid(d)) {
				return d;
			}
			free(d);
		}
	}
	return NULL;
}

/* A hostile name for a message: printable ASCII kept, other bytes '?', cut at cap. */
static const char *printable(const char *s, char *out, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 4 < cap; i++) {
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	}
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

static int docker_layers(struct lks_ctx *ctx, struct lks_image *img, const json_t *layers)
{
	if (!json_is_array(layers)) {
		return lks_err(ctx, -LKS_E_PARSE, "manifest.json: bad Layers list");
	}
	if (json_array_size(layers) > LKS_IMAGE_MAX_LAYERS) {
		return lks_err(
		    ctx, -LKS_E_TOOBIG,
		    "manifest.json lists %zu layers, which exceeds the layer limit of %d",
		    json_array_size(layers), LKS_IMAGE_MAX_LAYERS);
	}
	img->layers = calloc(json_array_size(layers) + 1, sizeof(*img->layers));
	if (!img->layers) {
		return -ENOMEM;
	}
	img->n_layers = json_array_size(layers);
	int rc = attach_diff_ids(ctx, img);
	if (rc < 0) {
		return rc;
	}
	for (size_t i = 0; i < img->n_layers; i++) {
		struct lks_image_layer *l = &img->layers[i];
		const char *m = json_string_value(json_array_get(layers, i));
		if (!m) {
			return lks_err(ctx, -LKS_E_PARSE, "manifest.json: layer %zu is not a path",
			               i);
		}
		if (!lks_image_member_safe(m)) {
			char shown[80];
			return lks_err(ctx, -LKS_E_UNSAFE,
			               "manifest.json: layer %zu has an unsafe path '%s'", i + 1,
			               printable(m, shown, sizeof(shown)));
		}
		l->member = strdup(m);
		l->size = -1;
		/* Old saves hold uncompressed tars: their digest is the diff_id. */
		l->digest = digest_of_member(m);
		if (!l->digest) {
			l->digest = strdup(l->diff_id);
		}
		if (!l->member || !l->digest) {
			return -ENOMEM;
		}
	}
	return 0;
}

static int load_docker(struct lks_ctx *ctx, struct lks_image_set *set)
{
	json_auto_t *man = NULL;
	int rc = load_json(ctx, &set->src, "manifest.json", NULL, &man);
	if (rc < 0) {
		return rc;
	}
	if (!json_is_array(man) || json_array_size(man) == 0) {
		return lks_err(ctx, -LKS_E_PARSE, "manifest.json in '%s' lists no image",
		               set->src.path);
	}
	if (json_array_size(man) > 1) {
		lks_warn(ctx, "'%s' holds %zu images; comparing the first", set->src.path,
		         json_array_size(man));
	}
	json_t *ent = json_array_get(man, 0);
	const char *cfg = lks_json_str(ent, "Config");
	if (cfg && !lks_image_member_safe(cfg)) {
		char shown[80];
		return lks_err(ctx, -LKS_E_UNSAFE, "manifest.json: Config has an unsafe path '%s'",
		               printable(cfg, shown, sizeof(shown)));
	}
	struct lks_image *img = set_add(set);
	if (!img) {
		return -ENOMEM;
	}
	if (!cfg || !(img->config_digest = digest_of_member(cfg))) {
		/* Old saves name the config "<hex>.json". */
		if (cfg && asprintf(&img->config_digest, "sha256:%.64s", cfg) < 0) {
			img->config_digest = NULL; /* undefined after a failure */
		}
		if (!img->config_digest || !lks_digest_valid(img->config_digest)) {
			return lks_err(ctx, -LKS_E_PARSE, "manifest.json: bad Config '%s'",
			               cfg ? cfg : "(none)");
		}
	}
	if ((rc = load_json(ctx, &set->src, cfg, img->config_digest, &img->config)) < 0) {
		return rc;
	}
	if ((rc = docker_layers(ctx, img, json_object_get(ent, "Layers"))) < 0) {
		return rc;
	}
	img->platform = platform_str(img->config);
	return img->platform ? 0 : -ENOMEM;
}

/* The tag (or digest) names the top manifest; from there it is the same walk as a layout. */
static int load_registry(struct lks_ctx *ctx, struct lks_image_set *set)
{
	struct lks_buf b;
	lks_buf_init(&b, META_MAX);
	char digest[LKS_DIGEST_LEN + 1];
	_cleanup_free_ char *mt = NULL;
	int rc = lks_registry_manifest(ctx, set->src.oref, NULL, &b, &mt, digest);
	lks_buf_free(&b);
	if (rc < 0) {
		return rc;
	}
	/* The media type the registry served is the descriptor's, as in an index. */
	json_auto_t *desc = json_pack("{s:s,s:s?}", "digest", digest, "mediaType", mt);
	return desc ? expand_desc(ctx, set, desc, 1) : -ENOMEM;
}

int lks_image_set_load(struct lks_ctx *ctx, const char *s, struct lks_image_set *set)
{
	memset(set, 0, sizeof(*set));
	int rc = lks_image_src_parse(ctx, s, &set->src);
	if (rc < 0) {
		return rc;
	}
	switch (set->src.kind) {
	case LKS_IMAGE_DOCKER_ARCHIVE:
		rc = load_docker(ctx, set);
		break;
	case LKS_IMAGE_REGISTRY:
		rc = load_registry(ctx, set);
		break;
	default:
		rc = load_oci(ctx, set);
	}
	if (rc < 0) {
		lks_image_set_free(set);
	}
	return rc;
}
