/* The image kind: check (offline), pin (registry + cache), latest; see images.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cache.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/json.h"
#include "lockstep/lockfile.h"
#include "lockstep/oci_ref.h"
#include "lockstep/outdated.h"
#include "lockstep/platform.h"
#include "lockstep/registry.h"
#include "lockstep/update.h"
#include "lockstep/pin.h"
#include "lockstep/policy.h"
#include "pinner/images/images.h"
#include "pinner/pin_int.h"
#include "pinner/workspace.h"
#include "pinner/dockerfile/df_edit.h"

#define CACHE_NS "image"
#define SEEN_KIND "image" /* lks_cache_seen: (reference with tag, digest) */

struct slot;

/* What a pin run decided for one image reference. */
struct img_state {
	const struct slot *use; /* the resolution to pin (NULL when skipped) */
	int cand;               /* update: index of the candidate slot (tag only), or -1 */
	enum lks_update_verdict verdict;
	const struct lks_policy_rule *rule;
};

/* One Dockerfile of the run: the workspace's model and what the image kind adds to it. */
struct dfile {
	const char *path;
	struct ws_dockerfile *m;
	const char *data;          /* m->text */
	struct lks_df_image *imgs; /* m->imgs */
	size_t nimgs;
	struct lks_oci_ref *refs; /* parsed expanded reference per image (empty when skipped) */
	int *slot;                /* index into the unique resolution list, -1 when skipped */
	struct img_state *st;     /* per image */
	struct lks_edit *edit;    /* per image: the edit that pins it, when text[i] is set */
	char **text;              /* per image: the edit's text (owned), NULL when none */
};

static void dfile_free(struct dfile *f)
{
	if (f->refs) {
		for (size_t i = 0; i < f->nimgs; i++) {
			lks_oci_ref_free(&f->refs[i]);
		}
	}
	for (size_t i = 0; f->text && i < f->nimgs; i++) {
		free(f->text[i]);
	}
	free(f->text);
	free(f->edit);
	free(f->refs);
	free(f->slot);
	free(f->st);
	memset(f, 0, sizeof(*f));
}

static void dfiles_free(struct dfile *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		dfile_free(&v[i]);
	}
	free(v);
}

static const char *kind_name(enum lks_df_image_kind k)
{
	switch (k) {
	case LKS_DF_IMG_COPY_FROM:
		return "copy-from";
	case LKS_DF_IMG_MOUNT_FROM:
		return "mount-from";
	default:
		return "from";
	}
}

static const char *kind_suffix(enum lks_df_image_kind k)
{
	switch (k) {
	case LKS_DF_IMG_COPY_FROM:
		return " (COPY --from)";
	case LKS_DF_IMG_MOUNT_FROM:
		return " (RUN --mount from)";
	default:
		return "";
	}
}

/* A Dockerfile reference without a tag means `latest`, also once a digest is written after
 * it (`FROM alpine` pinned is `FROM alpine@sha256:...`): the tag the lock records and update
 * follows, exactly as a written `:latest`. */
static int implicit_latest(struct lks_oci_ref *ref)
{
	if (ref->tag || !ref->digest) {
		return 0;
	}
	ref->tag = strdup("latest");
	ref->implicit_tag = true;
	return ref->tag ? 0 : -ENOMEM;
}

/* The target platforms of a Dockerfile: --platform, else the lock's record, else the
 * default (lks_lock_platforms). */
static int file_platforms(const struct pin_run *r, const char *path, struct lks_platforms *out)
{
	const struct lks_platforms *given = r->o->images.platforms;
	if (given && given->n) {
		*out = *given;
		return 0;
	}
	return lks_lock_platforms(r->ctx, r->lock, path, out);
}

/* The workspace's model of path, with each expanded reference parsed; invalid references are
 * hard errors. */
static int dfile_load(const struct pin_run *r, struct dfile *f, const char *path)
{
	struct lks_ctx *ctx = r->ctx;
	struct lks_platforms plats;
	f->path = path;
	int rc = file_platforms(r, path, &plats);
	rc = rc ? rc : ws_dockerfile_get(ctx, r->ws, path, &f->m);
	rc = rc ? rc : ws_dockerfile_images_on(ctx, f->m, &plats);
	if (rc < 0) {
		return rc;
	}
	f->data = f->m->text.data;
	f->imgs = f->m->imgs;
	f->nimgs = f->m->nimgs;
	f->refs = calloc(f->nimgs ? f->nimgs : 1, sizeof(*f->refs));
	f->slot = calloc(f->nimgs ? f->nimgs : 1, sizeof(*f->slot));
	f->st = calloc(f->nimgs ? f->nimgs : 1, sizeof(*f->st));
	f->edit = calloc(f->nimgs ? f->nimgs : 1, sizeof(*f->edit));
	f->text = calloc(f->nimgs ? f->nimgs : 1, sizeof(*f->text));
	if (!f->refs || !f->slot || !f->st || !f->edit || !f->text) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->nimgs; i++) {
		const struct lks_df_image *img = &f->imgs[i];
		lks_oci_ref_init(&f->refs[i]);
		f->slot[i] = -1;
		f->st[i].cand = -1;
		f->st[i].verdict = LKS_UPDATE_NOT_SELECTED;
		if (!img->expanded) {
			continue;
		}
		rc = lks_oci_ref_parse(ctx, img->expanded, &f->refs[i]);
		if (rc < 0) {
			char detail[sizeof(ctx->err)];
			snprintf(detail, sizeof(detail), "%s", ctx->err);
			return lks_err(ctx, rc, "%s:%zu: %s", f->path, img->line, detail);
		}
		rc = implicit_latest(&f->refs[i]);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int dfiles_load(const struct pin_run *r, struct dfile **out)
{
	struct dfile *v = calloc(r->n ? r->n : 1, sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n; i++) {
		int rc = dfile_load(r, &v[i], r->files[i]);
		if (rc < 0) {
			dfiles_free(v, r->n);
			return rc;
		}
	}
	*out = v;
	return 0;
}

/* Findings shared by check and pin: references that cannot be expanded (and why), or name a
 * different image on each platform (no single digest can be written after them). */
static int report_unpinnable(const struct dfile *f, const struct lks_df_image *img,
                             struct lks_findings *out)
{
	if (img->per_platform) {
		return lks_findings_add(
		    out, f->path, img->line, LKS_SEV_ERROR, "image-per-platform", img->written,
		    "image '%s'%s names a different image per platform (%s): one "
		    "digest cannot pin it (give each platform its own stage, "
		    "'FROM IMAGE@sha256:... AS base-amd64', and use "
		    "'FROM base-${TARGETARCH}')",
		    img->written, kind_suffix(img->kind), img->per_platform);
	}
	if (img->blocked_why == LKS_DF_BLOCK_NO_DEFAULT) {
		return lks_findings_add(out, f->path, img->line, LKS_SEV_ERROR,
		                        "image-arg-no-default", img->written,
		                        "image '%s'%s cannot be resolved: ARG '%s' has no default "
		                        "value (set a default or pin the reference by hand)",
		                        img->written, kind_suffix(img->kind), img->blocked_by);
	}
	/* the reference itself, or the global ARG whose default cannot be expanded */
	char what[160];
	const char *code = "image-arg-too-long";
	switch (img->blocked_why) {
	case LKS_DF_BLOCK_TOO_LONG:
		snprintf(what, sizeof(what),
		         "expands to more than %zu MiB (%zu bytes), lockstep's cap on an expansion",
		         LKS_DF_MAX_LINE >> 20, LKS_DF_MAX_LINE);
		break;
	case LKS_DF_BLOCK_TOO_DEEP:
		snprintf(what, sizeof(what), "nests ${...} deeper than %d levels, lockstep's cap",
		         LKS_DF_MAX_NESTING);
		break;
	case LKS_DF_BLOCK_PATTERN:
		snprintf(what, sizeof(what),
		         "applies a pattern to a value longer than %d bytes, or a pattern of more "
		         "than %d characters, lockstep's caps on ${V#p} ${V%%p} ${V/p/r}",
		         LKS_DF_MAX_PATTERN_VALUE, LKS_DF_MAX_PATTERN_TOKENS);
		break;
	default:
		code = "image-bad-substitution";
		snprintf(what, sizeof(what),
		         "has a malformed substitution, or one BuildKit does not support");
		break;
	}
	bool self = !strcmp(img->blocked_by, img->written);
	return lks_findings_add(out, f->path, img->line, LKS_SEV_ERROR, code, img->written,
	                        "image '%s'%s cannot be resolved: %s%s%s %s (pin the reference "
	                        "by hand)",
	                        img->written, kind_suffix(img->kind),
	                        self ? "it" : "the default of ARG '", self ? "" : img->blocked_by,
	                        self ? "" : "'", what);
}

static int report_arg_override(const struct dfile *f, const struct lks_df_image *img,
			       struct lks_findings *out)
{
	struct lks_buf names;
	lks_buf_init(&names, 4096);
	for (size_t k = 0; k < img->nargs_used; k++) {
		lks_buf_printf(&names, "%s'%s'", k ? ", " : "", img->args_used[k]);
	}
	int rc = lks_findings_add(out, f->path, img->line, LKS_SEV_WARNING, "image-arg-override",
				  img->written,
				  "image '%s' is pinned by digest: a --build-arg override of ARG %s "
				  "no longer changes the image",
				  img->written, names.data ? names.data : "");
	lks_buf_free(&names);
	return rc;
}

static const char *digest_of(const struct lks_df_image *img, const struct lks_oci_ref *ref)
{
	return ref->digest ? ref->digest : (img->has_digest ? strrchr(img->written, '@') + 1 : NULL);
}

static int check_one(struct lks_lock *lock, const struct dfile *f, size_t i,
		     struct lks_findings *out)
{
	const struct lks_df_image *img = &f->imgs[i];
	if (!img->expanded) {
		return report_unpinnable(f, img, out);
	}
	if (!img->has_digest) {
		return lks_findings_add(out, f->path, img->line, LKS_SEV_ERROR, "image-unpinned",
					img->expanded, "image '%s'%s is not pinned to a digest",
					img->expanded, kind_suffix(img->kind));
	}
	int rc = img->nargs_used ? report_arg_override(f, img, out) : 0;
	if (rc < 0) {
		return rc;
	}
	const char *digest = digest_of(img, &f->refs[i]);
	struct lks_lock_image *e = lks_lock_find_image(lock, f->path, img->written, (long)img->line);
	if (!e) {
		return lks_findings_add(out, f->path, img->line, LKS_SEV_ERROR, "image-not-in-lock",
					img->expanded,
					"image '%s' is pinned but not recorded in %s (run 'lockstep pin')",
					img->expanded, LKS_LOCKFILE_NAME);
	}
	if (!digest || !lks_digest_equal(e->digest, digest)) {
		return lks_findings_add(out, f->path, img->line, LKS_SEV_ERROR, "image-lock-mismatch",
					img->expanded, "image '%s' is pinned to %s but %s records %s",
					img->expanded, digest ? digest : "?", LKS_LOCKFILE_NAME,
					e->digest);
	}
	return 0;
}

static int images_check(struct pin_run *r)
{
	struct dfile *v = NULL;
	int rc = dfiles_load(r, &v);
	if (rc < 0) {
		return rc;
	}
	for (size_t k = 0; k < r->n && rc == 0; k++) {
		for (size_t i = 0; i < v[k].nimgs && rc == 0; i++) {
			rc = check_one(r->lock, &v[k], i, r->out);
		}
	}
	dfiles_free(v, r->n);
	return rc;
}

/* ---- resolution with the cache in front of the registry ---- */

struct slot {
	const struct lks_oci_ref *ref; /* borrowed from a dfile */
	char *key;                      /* full form, the cache key */
	struct lks_image_resolution res;
	bool have;
	bool cached;
	bool skip;     /* not needed in this run */
	bool tolerant; /* a missing tag is an answer (gone), not a failure */
	bool gone;     /* tolerant: the registry does not know the tag */
	time_t at;     /* when the answer was obtained */
};

static json_t *platforms_json(const struct lks_image_resolution *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < r->n_platforms; i++) {
		const struct lks_image_platform *p = &r->platforms[i];
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "os",
						     p->os, "arch", p->arch, "variant", p->variant,
						     "digest", p->digest, "created", p->created,
						     "source", p->source));
	}
	return arr;
}

static int cache_put_pinned(struct lks_ctx *ctx, const char *key, const char *digest,
			    const struct lks_buf *b)
{
	struct lks_buf k;
	lks_buf_init(&k, 0);
	int rc = lks_buf_printf(&k, "%s@%s", key, digest);
	if (rc == 0) {
		rc = lks_cache_put(ctx, CACHE_NS, k.data, b->data, b->len);
	}
	lks_buf_free(&k);
	return rc;
}

static int cache_store(struct lks_ctx *ctx, const struct slot *s)
{
	const struct lks_image_resolution *r = &s->res;
	json_auto_t *j = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:s?, s:o}",
				   "registry", r->registry, "repository", r->repository, "tag",
				   r->tag, "digest", r->digest, "media_type", r->media_type,
				   "created", r->created, "source", r->source, "tag_moved",
				   r->tag_moved, "tag_digest", r->tag_digest, "platforms",
				   platforms_json(r));
	if (!j) {
		return -ENOMEM;
	}
	struct lks_buf b;
	lks_buf_init(&b, 0);
	int rc = lks_json_dump_stable(ctx, j, &b);
	if (rc == 0) {
		rc = lks_cache_put(ctx, CACHE_NS, s->key, b.data, b.len);
	}
	/* Also under the form pin writes (name:tag@digest): the same answer at this moment, so
	 * the next pin of the pinned file is served from the cache within --max-age too. */
	if (rc == 0 && s->ref->tag && !s->ref->digest && r->digest) {
		rc = cache_put_pinned(ctx, s->key, r->digest, &b);
	}
	lks_buf_free(&b);
	return rc;
}

static char *jdup(const json_t *o, const char *k)
{
	const char *s = lks_json_str(o, k);
	return s ? strdup(s) : NULL;
}

static int platforms_from_json(const json_t *arr, struct lks_image_resolution *r)
{
	size_t n = json_array_size(arr);
	r->platforms = calloc(n ? n : 1, sizeof(*r->platforms));
	if (!r->platforms) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(arr, i);
		struct lks_image_platform *x = &r->platforms[i];
		x->os = jdup(p, "os");
		x->arch = jdup(p, "arch");
		x->variant = jdup(p, "variant");
		x->digest = jdup(p, "digest");
		x->created = jdup(p, "created");
		x->source = jdup(p, "source");
		r->n_platforms++;
		if (!x->digest || !lks_digest_valid(x->digest)) {
			return -LKS_E_PARSE;
		}
	}
	return 0;
}

static int resolution_from_json(struct lks_ctx *ctx, const struct lks_buf *b,
				struct lks_image_resolution *r)
{
	json_t *j = NULL;
	int rc = lks_json_parse(ctx, b->data, b->len, 0, "cached image resolution", &j);
	if (rc < 0) {
		return rc;
	}
	r->registry = jdup(j, "registry");
	r->repository = jdup(j, "repository");
	r->tag = jdup(j, "tag");
	r->digest = jdup(j, "digest");
	r->media_type = jdup(j, "media_type");
	r->created = jdup(j, "created");
	r->source = jdup(j, "source");
	r->tag_digest = jdup(j, "tag_digest");
	r->tag_moved = json_is_true(json_object_get(j, "tag_moved"));
	rc = platforms_from_json(json_object_get(j, "platforms"), r);
	json_decref(j);
	if (rc == 0 && (!r->digest || !lks_digest_valid(r->digest))) {
		rc = -LKS_E_PARSE;
	}
	return rc;
}

/* Answer a slot from the cache when allowed: always offline, otherwise when young enough.
 * A damaged entry is treated as a miss. */
static int cache_lookup(struct lks_ctx *ctx, struct slot *s, long max_age)
{
	struct lks_buf b;
	lks_buf_init(&b, 1 << 20);
	time_t at = 0;
	int rc = lks_cache_get(ctx, CACHE_NS, s->key, &b, &at);
	if (rc == 0) {
		/* An answer from the future (a clock set back) is not trusted. */
		bool fresh = ctx->offline || max_age < 0 ||
			     (at <= lks_now(ctx) && lks_now(ctx) - at <= max_age);
		lks_image_resolution_init(&s->res);
		if (fresh && resolution_from_json(ctx, &b, &s->res) == 0) {
			s->have = s->cached = true;
			s->at = at;
		} else {
			lks_image_resolution_free(&s->res);
			lks_image_resolution_init(&s->res);
		}
		rc = 0;
	} else if (rc != -LKS_E_NOTFOUND && !ctx->cache_warned) {
		/* A broken cache slows lockstep down but must not stop it. */
		lks_warn(ctx, "warning: cache not used: %s", lks_errmsg(ctx, rc));
		ctx->cache_warned = true;
	}
	lks_buf_free(&b);
	ctx->err[0] = '\0';
	return 0;
}

/* Unique references of all files, each an index into slots. */
static int collect_slots(struct lks_ctx *ctx, struct dfile *v, size_t n, struct slot **out,
			 size_t *nout)
{
	size_t total = 0, ns = 0;
	for (size_t k = 0; k < n; k++) {
		total += v[k].nimgs;
	}
	struct slot *s = calloc(total ? total : 1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < v[k].nimgs; i++) {
			if (!v[k].imgs[i].expanded) {
				continue;
			}
			char *key = lks_oci_ref_format(&v[k].refs[i], LKS_OCI_REF_FULL);
			if (!key) {
				free(s);
				return -ENOMEM;
			}
			size_t j = 0;
			while (j < ns && strcmp(s[j].key, key)) {
				j++;
			}
			if (j == ns) {
				s[ns].key = key;
				s[ns++].ref = &v[k].refs[i];
			} else {
				free(key);
			}
			v[k].slot[i] = (int)j;
		}
	}
	*out = s;
	*nout = ns;
	return 0;
}

static void slots_free(struct slot *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].key);
		if (s[i].have) {
			lks_image_resolution_free(&s[i].res);
		}
	}
	free(s);
}

/* Resolve the cache misses in one parallel batch; any failure fails the whole pin. */
/* Take the registry's answer for slot x: a missing tag of a tolerant slot is recorded as gone;
 * any other failure fails the run (the first one's detail into ctx). */
static int take_answer(struct lks_ctx *ctx, struct slot *x, struct lks_image_resolution *r, int rc)
{
	if (r->rc == -LKS_E_NOTFOUND && x->tolerant) {
		x->gone = true;
		lks_image_resolution_free(r);
		return rc;
	}
	if (rc == 0 && r->rc < 0) {
		rc = lks_err(ctx, r->rc, "%s", r->error ? r->error : lks_strerror(r->rc));
	}
	x->res = *r;
	x->have = true;
	x->at = lks_now(ctx);
	return rc;
}

static int resolve_misses(struct lks_ctx *ctx, struct slot *s, size_t n, size_t *nnet)
{
	size_t m = 0;
	const struct lks_oci_ref **refs = calloc(n ? n : 1, sizeof(*refs));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	struct lks_image_resolution *res = calloc(n ? n : 1, sizeof(*res));
	int rc = refs && idx && res ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!s[i].have && !s[i].skip && !(ctx->offline && s[i].tolerant)) {
			idx[m] = i;
			refs[m++] = s[i].ref;
		}
	}
	if (rc == 0 && m && ctx->offline) {
		rc = lks_err(ctx, -LKS_E_OFFLINE,
			     "cannot resolve '%s' offline: it is not in the cache "
			     "(run once without --offline)", s[idx[0]].key);
	} else if (rc == 0 && m) {
		int rr = lks_registry_resolve(ctx, refs, m, res);
		for (size_t j = 0; j < m; j++) {
			rc = take_answer(ctx, &s[idx[j]], &res[j], rc);
		}
		for (size_t j = 0; rc == 0 && rr < 0 && j < m; j++) {
			rc = s[idx[j]].have || s[idx[j]].gone ? 0 : rr; /* a failure of the batch */
		}
		for (size_t j = 0; rc == 0 && j < m; j++) {
			if (s[idx[j]].have && cache_store(ctx, &s[idx[j]]) < 0 &&
			    !ctx->cache_warned) {
				lks_warn(ctx, "warning: cache not updated: %s", ctx->err);
				ctx->cache_warned = true;
			}
		}
		*nnet = m;
	}
	free(refs);
	free(idx);
	free(res);
	return rc;
}

static int resolve_all(struct lks_ctx *ctx, struct slot *s, size_t n, long max_age,
		       struct lks_pin_report *rep)
{
	for (size_t i = 0; i < n; i++) {
		if (!ctx->refresh && !s[i].skip) {
			int rc = cache_lookup(ctx, &s[i], max_age);
			if (rc < 0) {
				return rc;
			}
		}
		rep->resolved_cached += s[i].cached;
	}
	return resolve_misses(ctx, s, n, &rep->resolved_network);
}

/* ---- update: the tag alone (candidates) and what to pin ---- */

int lks_images_names(const struct lks_oci_ref *ref, char *names[LKS_IMAGE_NAMES])
{
	struct lks_oci_ref bare;
	memset(names, 0, LKS_IMAGE_NAMES * sizeof(*names));
	lks_oci_ref_init(&bare);
	if (lks_oci_ref_copy(ref, &bare) < 0) {
		return -ENOMEM;
	}
	free(bare.digest);
	bare.digest = NULL;
	if (bare.tag) {
		names[0] = lks_oci_ref_format(&bare, LKS_OCI_REF_FULL);
		names[1] = lks_oci_ref_format(&bare, LKS_OCI_REF_FAMILIAR);
	}
	names[2] = lks_oci_ref_format(&bare, LKS_OCI_REF_NAME);
	names[3] = lks_oci_ref_format(&bare, LKS_OCI_REF_FAMILIAR_NAME);
	int rc = (bare.tag && (!names[0] || !names[1])) || !names[2] || !names[3] ? -ENOMEM : 0;
	lks_oci_ref_free(&bare);
	if (rc < 0) {
		lks_images_names_free(names);
	}
	return rc;
}

void lks_images_names_free(char *names[LKS_IMAGE_NAMES])
{
	for (size_t i = 0; i < LKS_IMAGE_NAMES; i++) {
		free(names[i]);
		names[i] = NULL;
	}
}

/* Resolutions of tags alone, deduplicated; the slots point into refs, which never moves. */
struct cands {
	struct slot *s;
	struct lks_oci_ref *refs;
	size_t n;
};

static int cands_init(struct cands *c, size_t cap)
{
	c->n = 0;
	c->s = calloc(cap ? cap : 1, sizeof(*c->s));
	c->refs = calloc(cap ? cap : 1, sizeof(*c->refs));
	return c->s && c->refs ? 0 : -ENOMEM;
}

static void cands_free(struct cands *c)
{
	for (size_t i = 0; c->refs && i < c->n; i++) {
		lks_oci_ref_free(&c->refs[i]);
	}
	free(c->refs);
	slots_free(c->s, c->n);
	memset(c, 0, sizeof(*c));
}

/* The candidate slot for ref's tag without its digest (added once); its index into *idx. */
static int cand_add(struct cands *c, const struct lks_oci_ref *ref, int *idx)
{
	struct lks_oci_ref t;
	lks_oci_ref_init(&t);
	if (lks_oci_ref_copy(ref, &t) < 0) {
		return -ENOMEM;
	}
	free(t.digest);
	t.digest = NULL;
	char *key = lks_oci_ref_format(&t, LKS_OCI_REF_FULL);
	size_t j = 0;
	while (key && j < c->n && strcmp(c->s[j].key, key)) {
		j++;
	}
	if (!key || j < c->n) {
		free(key);
		lks_oci_ref_free(&t);
		*idx = (int)j;
		return key ? 0 : -ENOMEM;
	}
	c->refs[j] = t;
	c->s[j].key = key;
	c->s[j].ref = &c->refs[j];
	c->s[j].tolerant = true;
	c->n++;
	*idx = (int)j;
	return 0;
}

/* When lockstep first saw digest under the tag `key` (recorded now when new). A cache that
 * cannot record it makes the answer "now", which only delays flags. */
static time_t first_seen(struct lks_ctx *ctx, const char *key, const char *digest)
{
	time_t t = lks_now(ctx);
	if (lks_cache_seen(ctx, SEEN_KIND, key, digest, t, &t) < 0) {
		if (!ctx->cache_warned) {
			lks_warn(ctx, "warning: cache not used: %s", ctx->err);
			ctx->cache_warned = true;
		}
		t = lks_now(ctx);
	}
	ctx->err[0] = '\0';
	return t;
}

/* When the tag's digest was published: its config's `created`, else when first seen. */
static time_t cand_published(struct lks_ctx *ctx, const struct slot *c, bool *has)
{
	time_t t;
	*has = c->res.created && lks_parse_time(c->res.created, &t) == 0;
	return *has ? t : first_seen(ctx, c->key, c->res.digest);
}

/* Update may follow the tag of image i: a digest written in the reference next to a tag. */
static bool followable(const struct dfile *f, size_t i)
{
	const struct lks_df_image *img = &f->imgs[i];
	return f->slot[i] >= 0 && img->has_digest && strchr(img->written, '@') && f->refs[i].tag;
}

static int collect_candidates(struct lks_ctx *ctx, struct dfile *v, size_t n,
			      const struct lks_update_opts *u, struct cands *c)
{
	size_t total = 0;
	for (size_t k = 0; k < n; k++) {
		total += v[k].nimgs;
	}
	int rc = cands_init(c, total);
	for (size_t k = 0; rc == 0 && k < n; k++) {
		for (size_t i = 0; rc == 0 && i < v[k].nimgs; i++) {
			struct img_state *st = &v[k].st[i];
			char *names[LKS_IMAGE_NAMES];
			if (!followable(&v[k], i) ||
			    (rc = lks_images_names(&v[k].refs[i], names))) {
				continue;
			}
			st->verdict = lks_update_verdict(u, lks_now(ctx), "image",
							 (const char *const *)names,
							 LKS_IMAGE_NAMES, &st->rule);
			lks_images_names_free(names);
			if (st->verdict == LKS_UPDATE_MOVE) {
				rc = cand_add(c, &v[k].refs[i], &st->cand);
			}
		}
	}
	return rc;
}

/* Image i of f follows its tag unless the tag is gone (an error) or the new digest is too
 * young for the cooldown (a warning; the pin stays). */
static int decide(struct lks_ctx *ctx, const struct lks_update_opts *u, struct dfile *f,
		  size_t i, const struct cands *c, struct lks_findings *out)
{
	struct img_state *st = &f->st[i];
	const struct lks_df_image *img = &f->imgs[i];
	const struct slot *s = st->cand >= 0 ? &c->s[st->cand] : NULL;
	if (!s || !(s->have || s->gone)) {
		return 0; /* nothing to follow, or offline without an answer: pin as is */
	}
	if (s->gone) {
		return lks_err(ctx, -LKS_E_NOTFOUND,
			       "%s:%zu: cannot update '%s': the tag no longer exists in the "
			       "registry (pin another tag, or hold or ignore it in %s)",
			       f->path, img->line, s->key, LKS_POLICY_NAME);
	}
	const char *pinned = digest_of(img, &f->refs[i]);
	bool has;
	time_t pub = lks_digest_equal(s->res.digest, pinned) ? 0 : cand_published(ctx, s, &has);
	if (!pub || lks_update_cooled(u, lks_now(ctx), pub)) {
		st->use = s;
		return 0;
	}
	char when[21];
	lks_format_time(pub, when);
	return lks_findings_add(out, f->path, img->line, LKS_SEV_WARNING, "image-cooldown", s->key,
				"newer digest %s of '%s' was published %s, within the cooldown: "
				"kept %s",
				s->res.digest, s->key, when, pinned);
}

/* Update mode: resolve the candidates, decide every image, and keep only the pinned-form
 * resolutions still needed (images that do not move). */
static int update_decide(struct lks_ctx *ctx, struct dfile *v, size_t n,
			 const struct lks_update_opts *u, long max_age, struct cands *c,
			 struct slot *slots, size_t ns, struct lks_findings *out,
			 struct lks_pin_report *rep)
{
	int rc = collect_candidates(ctx, v, n, u, c);
	if (rc == 0) {
		rc = resolve_all(ctx, c->s, c->n, max_age, rep);
	}
	for (size_t k = 0; rc == 0 && k < n; k++) {
		for (size_t i = 0; rc == 0 && i < v[k].nimgs; i++) {
			rc = decide(ctx, u, &v[k], i, c, out);
		}
	}
	for (size_t j = 0; j < ns; j++) {
		slots[j].skip = true;
	}
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < v[k].nimgs; i++) {
			if (v[k].slot[i] >= 0 && !v[k].st[i].use) {
				slots[v[k].slot[i]].skip = false;
			}
		}
	}
	return rc;
}

/* ---- rewriting and the lock ---- */

static int report_add(struct lks_pin_report *rep, struct lks_lock *lock, const struct dfile *f,
		      const struct lks_df_image *img, const struct slot *s, bool changed,
		      const char *old)
{
	struct lks_pin_change *c;
	const char *previous = changed ? old : NULL;
	int rc = lks_pin_report_add(rep, "image", f->path, img->line, img->written, s->key,
				    s->res.digest, previous, changed, &c);
	if (rc < 0) {
		return rc;
	}
	c->tag_moved = s->res.tag_moved;
	/* optional: no link on ENOMEM */
	c->link = s->res.source && !strncmp(s->res.source, "https://", 8) ? strdup(s->res.source)
									  : NULL;
	c->has_published_at =
		s->res.created && lks_parse_time(s->res.created, &c->published_at) == 0;
	const struct lks_lock_image *e =
		previous ? lks_lock_find_image(lock, f->path, img->written, (long)img->line) : NULL;
	if (e && e->has_published_at && lks_digest_equal(e->digest, previous)) {
		c->has_previous_published_at = true;
		c->previous_published_at = e->published_at;
	}
	return 0;
}

/* A pinned tag that points elsewhere now: pin keeps the digest and says so; update says why
 * it did not move it (a hold) or already did (cooldown); ignored images are not mentioned. */
static int tag_moved_warning(const struct dfile *f, size_t i, const struct slot *s,
			     struct lks_findings *out)
{
	const struct img_state *st = &f->st[i];
	const struct lks_df_image *img = &f->imgs[i];
	const char *to = s->res.tag_digest ? s->res.tag_digest : "nothing";
	char *names[LKS_IMAGE_NAMES];
	if (st->verdict == LKS_UPDATE_IGNORED || st->cand >= 0) {
		return 0;
	}
	int rc = lks_images_names(&f->refs[i], names);
	if (rc < 0) {
		return rc;
	}
	const char *tag = names[1] ? names[1] : img->expanded; /* the tag, without the digest */
	if (st->verdict == LKS_UPDATE_HELD) {
		rc = lks_findings_add(out, f->path, img->line, LKS_SEV_WARNING, "image-held",
		                      img->expanded, "tag '%s' now points to %s; held until %s: %s",
		                      tag, to, st->rule->until_text, st->rule->reason);
	} else {
		rc = lks_findings_add(out, f->path, img->line, LKS_SEV_WARNING, "image-tag-moved",
		                      img->expanded,
		                      "tag '%s' now points to %s; the pinned digest is kept "
		                      "('lockstep update' moves it)",
		                      tag, to);
	}
	lks_images_names_free(names);
	return rc;
}

/* The edits that pin (or move) every reference of f, into f->edit; records what happened in
 * rep/out. The model is not changed yet (a file named twice sees the same references). */
static int file_edits(struct lks_ctx *ctx, struct dfile *f, struct lks_lock *lock,
                      struct lks_findings *out, struct lks_pin_report *rep)
{
	for (size_t i = 0; i < f->nimgs; i++) {
		const struct lks_df_image *img = &f->imgs[i];
		const struct slot *s = f->st[i].use;
		int rc = 0;
		if (!s) {
			rc = report_unpinnable(f, img, out);
			if (rc < 0) {
				return rc;
			}
			continue;
		}
		const char *old = img->has_digest ? digest_of(img, &f->refs[i]) : NULL;
		bool change = !old || !lks_digest_equal(old, s->res.digest);
		if (change) {
			rc = lks_df_pin_edit(ctx, f->data, img, s->res.digest, &f->edit[i],
			                     &f->text[i]);
			if (rc < 0) {
				return lks_err(ctx, rc, "%s:%zu: cannot pin '%s': %s", f->path,
					       img->line, img->written, lks_errmsg(ctx, rc));
			}
		} else if (s->res.tag_moved) {
			rc = tag_moved_warning(f, i, s, out);
		}
		rc = rc ? rc : report_add(rep, lock, f, img, s, change, old);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* Record f's edits on the model, which then says what the file will say. */
static int model_edits(struct dfile *f)
{
	for (size_t i = 0; i < f->nimgs; i++) {
		if (!f->text[i]) {
			continue;
		}
		const struct lks_edit *e = &f->edit[i];
		int rc = ws_dockerfile_edit(f->m, e->off, e->len, e->text);
		rc = rc == 0 ? ws_dockerfile_pinned(f->m, i, e) : rc > 0 ? 0 : rc;
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int lock_entry(const struct dfile *f, const struct lks_df_image *img, const struct slot *s,
		      time_t now, struct lks_lock_image *e)
{
	const struct lks_image_resolution *r = &s->res;
	memset(e, 0, sizeof(*e));
	struct lks_oci_ref bare;
	lks_oci_ref_init(&bare);
	if (lks_oci_ref_copy(s->ref, &bare) < 0) {
		return -ENOMEM;
	}
	if (bare.tag) { /* the lock records the tag form; the digest has its own field */
		free(bare.digest);
		bare.digest = NULL;
	}
	e->reference = lks_oci_ref_format(&bare, LKS_OCI_REF_FULL);
	lks_oci_ref_free(&bare);
	e->file = strdup(f->path);
	e->line = (long)img->line;
	e->kind = strdup(kind_name(img->kind));
	e->written = strdup(img->written);
	e->registry = strdup(r->registry ? r->registry : s->ref->domain);
	e->digest = strdup(r->digest);
	e->media_type = r->media_type ? strdup(r->media_type) : NULL;
	e->resolved_at = s->at ? s->at : now;
	if (r->created && lks_parse_time(r->created, &e->published_at) == 0) {
		e->has_published_at = true;
	}
	e->platforms = calloc(r->n_platforms ? r->n_platforms : 1, sizeof(*e->platforms));
	if (!e->platforms || !e->reference || !e->file || !e->kind || !e->written ||
	    !e->registry || !e->digest) {
		return -ENOMEM;
	}
	for (size_t p = 0; p < r->n_platforms; p++, e->n_platforms++) {
		const struct lks_image_platform *x = &r->platforms[p];
		e->platforms[p].os = x->os ? strdup(x->os) : NULL;
		e->platforms[p].architecture = x->arch ? strdup(x->arch) : NULL;
		e->platforms[p].variant = x->variant ? strdup(x->variant) : NULL;
		e->platforms[p].digest = strdup(x->digest);
	}
	return 0;
}

/* The platforms f was evaluated for, so the next run without --platform uses them again. */
static int lock_platforms(struct lks_ctx *ctx, struct lks_lock *lock, const struct dfile *f)
{
	struct lks_lock_dockerfile e = {.file = strdup(f->path)};
	const struct lks_platforms *pl = &f->m->plats;
	e.platforms = calloc(pl->n + 1, sizeof(char *));
	int rc = e.file && e.platforms ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < pl->n; i++, e.n_platforms++) {
		char t[LKS_PLATFORM_TEXT];
		e.platforms[i] = strdup(lks_platform_format(&pl->v[i], t));
		rc = e.platforms[i] ? 0 : -ENOMEM;
	}
	rc = rc ? rc : lks_lock_upsert_dockerfile(ctx, lock, &e);
	lks_lock_dockerfile_free(&e);
	return rc;
}

/* Record the pins of a file as it will be (`written` with the digest). The model already says
 * so unless an edit moved lines (a digest across a line continuation): then it is parsed
 * again. Image order and count do not change by pinning. */
static int lock_file(struct lks_ctx *ctx, struct lks_workspace *ws, struct lks_lock *lock,
                     const struct dfile *f)
{
	struct ws_dockerfile *m = f->m;
	int rc = m->stale ? ws_dockerfile_get(ctx, ws, f->path, &m) : 0;
	rc = rc ? rc : ws_dockerfile_images(ctx, m);
	if (rc == 0 && m->nimgs != f->nimgs) {
		rc =
		    lks_err(ctx, -LKS_E_INVAL, "%s: pinning changed the number of images", f->path);
	}
	lks_lock_mark_file(lock, f->path, LKS_LOCK_IMAGES | LKS_LOCK_DOCKERFILES);
	if (rc == 0) {
		rc = lock_platforms(ctx, lock, f);
	}
	for (size_t i = 0; rc == 0 && i < m->nimgs; i++) {
		if (!f->st[i].use) {
			continue;
		}
		struct lks_lock_image e;
		rc = lock_entry(f, &m->imgs[i], f->st[i].use, lks_now(ctx), &e);
		if (rc == 0) {
			rc = lks_lock_upsert_image(ctx, lock, &e);
		}
		lks_lock_image_free(&e);
	}
	if (rc == 0) {
		lks_lock_sweep_file(lock, f->path, LKS_LOCK_IMAGES | LKS_LOCK_DOCKERFILES);
	}
	return rc;
}

/* Images that do not move are pinned with the resolution of the reference as written. */
static void use_pinned(struct dfile *v, size_t n, const struct slot *slots)
{
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < v[k].nimgs; i++) {
			if (v[k].slot[i] >= 0 && !v[k].st[i].use) {
				v[k].st[i].use = &slots[v[k].slot[i]];
			}
		}
	}
}

/* Edits (on the models) and lock entries for every file, once every reference is resolved. */
static int pin_files(struct pin_run *r, struct dfile *v)
{
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < r->n; k++) {
		rc = file_edits(r->ctx, &v[k], r->lock, r->out, r->rep);
	}
	for (size_t k = 0; rc == 0 && k < r->n; k++) {
		rc = model_edits(&v[k]);
	}
	for (size_t k = 0; rc == 0 && k < r->n; k++) {
		rc = lock_file(r->ctx, r->ws, r->lock, &v[k]);
	}
	return rc;
}

static int pin_loaded(struct pin_run *r, struct dfile *v)
{
	struct slot *slots = NULL;
	size_t ns = 0;
	struct cands c = {0};
	long max_age = r->o->images.max_age;
	int rc = collect_slots(r->ctx, v, r->n, &slots, &ns);
	if (rc == 0 && r->u->enabled) {
		rc = update_decide(r->ctx, v, r->n, r->u, max_age, &c, slots, ns, r->out, r->rep);
	}
	if (rc == 0) {
		rc = resolve_all(r->ctx, slots, ns, max_age, r->rep);
		use_pinned(v, r->n, slots);
	}
	rc = rc ? rc : pin_files(r, v);
	cands_free(&c);
	slots_free(slots, ns);
	return rc;
}

static int images_pin(struct pin_run *r)
{
	struct dfile *v = NULL;
	int rc = dfiles_load(r, &v);
	if (rc < 0) {
		return rc;
	}
	rc = pin_loaded(r, v);
	dfiles_free(v, r->n);
	return rc;
}

/* ---- outdated: where the tags of the lock's pins point now ---- */

static int latest_one(struct lks_ctx *ctx, const struct lks_lock_image *e, const struct slot *s,
		      struct lks_latest *l)
{
	if (s->gone) {
		l->state = LKS_PIN_VANISHED;
		l->detail = strdup("the tag no longer exists in the registry");
		l->action = strdup("pin another tag, or hold or ignore it in " LKS_POLICY_NAME);
		return l->detail && l->action ? 0 : -ENOMEM;
	}
	if (!s->have) {
		l->state = LKS_PIN_UNKNOWN;
		l->detail = strdup("not in the cache (run once without --offline)");
		return l->detail ? 0 : -ENOMEM;
	}
	if (lks_digest_equal(s->res.digest, e->digest)) {
		l->state = LKS_PIN_CURRENT;
		return 0;
	}
	l->state = LKS_PIN_NEWER;
	l->latest = strdup(s->res.digest);
	l->has_published_at = s->res.created &&
			      lks_parse_time(s->res.created, &l->published_at) == 0;
	l->since = first_seen(ctx, s->key, s->res.digest);
	/* The tag moved between the new image's build and lockstep first seeing it: the build
	 * time is the better answer when it is plausible (after the pinned image's). */
	if (l->has_published_at && l->published_at < l->since &&
	    (!e->has_published_at || l->published_at > e->published_at)) {
		l->since = l->published_at;
	}
	return l->latest ? 0 : -ENOMEM;
}

static int images_latest(struct latest_run *r, struct lks_latest *out)
{
	struct lks_ctx *ctx = r->ctx;
	const struct lks_lock *lock = r->lock;
	long max_age = r->o->max_age;
	struct cands c = {0};
	struct lks_pin_report rep;
	lks_pin_report_init(&rep);
	int *idx = calloc(lock->n_images ? lock->n_images : 1, sizeof(*idx));
	int rc = idx ? cands_init(&c, lock->n_images) : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < lock->n_images; i++) {
		struct lks_oci_ref ref;
		idx[i] = -1;
		rc = lks_oci_ref_parse(ctx, lock->images[i].reference, &ref);
		/* a digest alone (a lock from before the implicit `latest` was kept) follows it */
		rc = rc ? rc : implicit_latest(&ref);
		if (rc == 0) {
			rc = cand_add(&c, &ref, &idx[i]);
		}
		lks_oci_ref_free(&ref);
	}
	if (rc == 0) {
		rc = resolve_all(ctx, c.s, c.n, max_age, &rep);
	}
	for (size_t i = 0; rc == 0 && i < lock->n_images; i++) {
		rc = latest_one(ctx, &lock->images[i], &c.s[idx[i]], &out[i]);
	}
	free(idx);
	cands_free(&c);
	lks_pin_report_free(&rep);
	return rc;
}

/* ---- the kind ---- */

static size_t images_count(const struct lks_lock *l)
{
	return l->n_images;
}

static int images_entry(struct lks_ctx *ctx, const struct lks_lock *l, size_t i,
                        struct pin_entry *out)
{
	const struct lks_lock_image *e = &l->images[i];
	struct lks_oci_ref ref;
	int rc = lks_oci_ref_parse(ctx, e->reference, &ref);
	if (rc == 0) {
		rc = lks_images_names(&ref, out->names);
		lks_oci_ref_free(&ref);
	}
	out->shown = out->names[1] ? 1 : 3;
	out->file = e->file;
	out->line = e->line;
	out->pinned = e->digest;
	out->resolved_at = e->resolved_at;
	out->published_at = e->published_at;
	out->has_published_at = e->has_published_at;
	return rc;
}

/* Images are for every platform their file is pinned for. */
static bool images_on_platform(const struct pin_entry *e, const struct lks_platform *p)
{
	(void)e;
	(void)p;
	return true;
}

const struct pin_kind pin_kind_images = {
    .name = "image",
    .label = "IMAGE",
    .newer = "newer digest",
    .versioned = false,
    .mask = LKS_LOCK_IMAGES,
    .check = images_check,
    .pin = images_pin,
    .count = images_count,
    .entry = images_entry,
    .latest = images_latest,
    .on_platform = images_on_platform,
};
