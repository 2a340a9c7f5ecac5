/* Resolving references against OCI registries, phase by phase: every phase is one batch of
 * transfers over all references still in play (HEAD, manifest, platform manifests, configs). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/registry_call.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "lockstep/oci_ref.h"
#include "lockstep/registry.h"

#define MAX_PLATFORMS 1024

struct res_state {
	const struct lks_oci_ref *ref;
	struct lks_image_resolution *out;
	char *label; /* familiar form, for messages */
	char *want;  /* digest to GET the manifest by; NULL: by tag */
	bool is_index;
	char **cfg;  /* config digest per platform */
	size_t same; /* index of an earlier identical reference, or SIZE_MAX */
};

typedef bool (*job_make_fn)(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c);
typedef void (*job_done_fn)(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c);

struct job {
	struct reg_call call;
	size_t si, pi;
};

void lks_image_resolution_init(struct lks_image_resolution *r)
{
	memset(r, 0, sizeof(*r));
}

static void platform_free(struct lks_image_platform *p)
{
	free(p->os);
	free(p->arch);
	free(p->variant);
	free(p->digest);
	free(p->created);
	free(p->source);
}

void lks_image_resolution_free(struct lks_image_resolution *r)
{
	if (!r) {
		return;
	}
	for (size_t i = 0; i < r->n_platforms; i++) {
		platform_free(&r->platforms[i]);
	}
	free(r->platforms);
	free(r->error);
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	free(r->media_type);
	free(r->created);
	free(r->source);
	free(r->tag_digest);
	lks_image_resolution_init(r);
}

static void res_fail(struct res_state *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void res_fail(struct res_state *s, int rc, const char *fmt, ...)
{
	if (s->out->rc < 0) {
		return; /* keep the first reason */
	}
	char why[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->out->rc = rc;
	free(s->out->error);
	if (asprintf(&s->out->error, "cannot resolve '%s': %s", s->label, why) < 0) {
		s->out->error = NULL;
	}
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Still to be worked on: not failed, and not a repeat of an earlier reference. */
static bool live(const struct res_state *s)
{
	return s->out->rc == 0 && s->same == SIZE_MAX;
}

/* Build jobs for every live state, run them as one batch, hand each result back. */
static int run_phase(struct lks_ctx *ctx, struct res_state *st, size_t n,
                     size_t (*count)(const struct res_state *), job_make_fn make, job_done_fn done)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		total += live(&st[i]) ? count(&st[i]) : 0;
	}
	if (total == 0) {
		return 0;
	}
	_cleanup_free_ struct job *jobs = calloc(total, sizeof(*jobs));
	_cleanup_free_ struct reg_call **calls = calloc(total, sizeof(*calls));
	if (!jobs || !calls) {
		return lks_err(ctx, -ENOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t m = live(&st[i]) ? count(&st[i]) : 0;
		for (size_t p = 0; p < m; p++) {
			if (make(ctx, &st[i], p, &jobs[k].call)) {
				jobs[k].si = i;
				jobs[k].pi = p;
				calls[k] = &jobs[k].call;
				k++;
			}
		}
	}
	int rc = registry_run(ctx, calls, k);
	for (size_t j = 0; j < k; j++) {
		if (rc == 0) {
			done(ctx, &st[jobs[j].si], jobs[j].pi, &jobs[j].call);
		}
		reg_call_free(&jobs[j].call);
	}
	return rc;
}

static size_t one(const struct res_state *s)
{
	return 1;
}

/* reg_call_init for a state: a failure (no memory, a bad registries.conf) fails the reference. */
static bool call_init(struct lks_ctx *ctx, struct res_state *s, struct reg_call *c,
                      enum lks_http_method m, const char *kind, const char *reference, size_t max)
{
	int rc = reg_call_init(ctx, c, s->ref, m, kind, reference, max);
	if (rc < 0) {
		res_fail(s, rc, "%s", rc == -ENOMEM ? "out of memory" : lks_errmsg(ctx, rc));
		reg_call_free(c);
		return false;
	}
	return true;
}

/* " (tried first: ...)" when mirrors were tried before the source that answered last. */
static const char *tried_open(const struct reg_call *c)
{
	return c->tried[0] ? " (tried first: " : "";
}

static const char *tried_close(const struct reg_call *c)
{
	return c->tried[0] ? ")" : "";
}

/* Hash a body and check it against the digest asked for and Docker-Content-Digest. */
static int verify_body(const struct reg_call *c, const char *want, char got[LKS_DIGEST_LEN + 1],
                       char *why, size_t whylen)
{
	if (lks_sha256_buf(c->req.body.data ? c->req.body.data : "", c->req.body.len, got) < 0) {
		snprintf(why, whylen, "cannot compute sha256");
		return -LKS_E_CRYPTO;
	}
	const char *hdr = lks_http_req_get_header(&c->req, "docker-content-digest");
	if (want && !lks_digest_equal(want, got)) {
		snprintf(why, whylen,
		         "content from %s does not match its digest: "
		         "asked for %s, received %s",
		         reg_call_where(c), want, got);
		return -LKS_E_DIGEST;
	}
	if (hdr && !strncmp(hdr, "sha256:", 7) && !lks_digest_equal(hdr, got)) {
		snprintf(why, whylen,
		         "%s sent Docker-Content-Digest %.80s but the "
		         "body hashes to %s",
		         reg_call_where(c), hdr, got);
		return -LKS_E_DIGEST;
	}
	return 0;
}

/* ---- phase 1: HEAD the tag (or the digest) ---- */

static bool make_head(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c)
{
	const char *reference = s->ref->tag ? s->ref->tag : s->ref->digest;
	return call_init(ctx, s, c, LKS_HTTP_HEAD, "manifests", reference, 0);
}

static void head_done(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c)
{
	const struct lks_oci_ref *r = s->ref;
	const char *hdr = lks_http_req_get_header(&c->req, "docker-content-digest");
	bool hdr_ok = c->rc == 0 && hdr && lks_digest_valid(hdr);
	if (c->rc == -LKS_E_NOTFOUND && r->tag && r->digest) {
		s->out->tag_moved = true; /* the tag is gone; the digest decides below */
	} else if (c->rc == -LKS_E_NOTFOUND) {
		res_fail(s, c->rc, "%s not found in %s%s%s%s", r->tag ? "tag" : "manifest",
		         reg_call_where(c), tried_open(c), c->tried, tried_close(c));
		return;
	} else if (c->rc < 0) {
		res_fail(s, c->rc, "%s", c->err);
		return;
	} else if (r->tag && r->digest && hdr_ok && !lks_digest_equal(hdr, r->digest)) {
		s->out->tag_moved = true;
		s->out->tag_digest = strdup(hdr);
	}
	s->want = dup_or_null(r->digest ? r->digest : hdr_ok ? hdr : NULL);
}

/* ---- phase 2: GET the manifest, verify, list platforms ---- */

static bool make_manifest(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c)
{
	const char *reference = s->want ? s->want : s->ref->tag;
	return call_init(ctx, s, c, LKS_HTTP_GET, "manifests", reference,
	                 LKS_REGISTRY_MANIFEST_MAX);
}

static char *media_type_of(const struct reg_call *c, const json_t *m)
{
	const char *mt = lks_json_str(m, "mediaType");
	if (mt) {
		return strdup(mt);
	}
	const char *ct = lks_http_req_get_header(&c->req, "content-type");
	if (ct) {
		return strndup(ct, strcspn(ct, "; "));
	}
	return strdup(json_object_get(m, "manifests")
	                  ? "application/vnd.oci.image.index.v1+json"
	                  : "application/vnd.oci.image.manifest.v1+json");
}

static bool skip_entry(const json_t *e)
{
	const char *kind =
	    lks_json_str(json_object_get(e, "annotations"), "vnd.docker.reference.type");
	const json_t *p = json_object_get(e, "platform");
	const char *os = lks_json_str(p, "os"), *arch = lks_json_str(p, "architecture");
	if (kind && !strcmp(kind, "attestation-manifest")) {
		return true;
	}
	return os && arch && !strcmp(os, "unknown") && !strcmp(arch, "unknown");
}

static int add_platform(struct res_state *s, const json_t *e)
{
	const json_t *p = json_object_get(e, "platform");
	const char *d = lks_json_str(e, "digest");
	if (!d || !lks_digest_valid(d)) {
		res_fail(s, -LKS_E_PARSE, "index entry without a valid digest");
		return -LKS_E_PARSE;
	}
	struct lks_image_platform *pl = &s->out->platforms[s->out->n_platforms++];
	pl->digest = strdup(d);
	pl->os = dup_or_null(lks_json_str(p, "os"));
	pl->arch = dup_or_null(lks_json_str(p, "architecture"));
	pl->variant = dup_or_null(lks_json_str(p, "variant"));
	return pl->digest ? 0 : -ENOMEM;
}

static int list_index(struct res_state *s, const json_t *m)
{
	const json_t *arr = json_object_get(m, "manifests");
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > MAX_PLATFORMS) {
		res_fail(s, json_is_array(arr) ? -LKS_E_TOOBIG : -LKS_E_PARSE, "index has %s",
		         json_is_array(arr) ? "too many entries" : "no manifest list");
		return -1;
	}
	s->is_index = true;
	s->out->platforms = calloc(n ? n : 1, sizeof(*s->out->platforms));
	s->cfg = calloc(n ? n : 1, sizeof(*s->cfg));
	if (!s->out->platforms || !s->cfg) {
		res_fail(s, -ENOMEM, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		if (!skip_entry(e) && add_platform(s, e) < 0) {
			return -1;
		}
	}
	if (s->out->n_platforms == 0) {
		res_fail(s, -LKS_E_PARSE, "index lists no image for any platform");
		return -1;
	}
	return 0;
}

/* The config digest of an image manifest, or NULL. */
static const char *config_digest(const json_t *m)
{
	const char *d = lks_json_str(json_object_get(m, "config"), "digest");
	return d && lks_digest_valid(d) ? d : NULL;
}

static int list_single(struct res_state *s, const json_t *m)
{
	const char *cd = config_digest(m);
	if (!cd) {
		res_fail(s, -LKS_E_PARSE, "manifest has no valid config descriptor");
		return -1;
	}
	s->out->platforms = calloc(1, sizeof(*s->out->platforms));
	s->cfg = calloc(1, sizeof(*s->cfg));
	if (!s->out->platforms || !s->cfg || !(s->cfg[0] = strdup(cd)) ||
	    !(s->out->platforms[0].digest = strdup(s->out->digest))) {
		res_fail(s, -ENOMEM, "out of memory");
		return -1;
	}
	s->out->n_platforms = 1;
	return 0;
}

static void manifest_done(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c)
{
	char got[LKS_DIGEST_LEN + 1], why[512];
	int rc = c->rc;
	if (rc == -LKS_E_NOTFOUND) {
		res_fail(s, rc, "manifest %s not found in %s%s%s%s",
		         s->want ? s->want : s->ref->tag, reg_call_where(c), tried_open(c),
		         c->tried, tried_close(c));
		return;
	}
	if (rc < 0 || (rc = verify_body(c, s->want, got, why, sizeof(why))) < 0) {
		res_fail(s, rc, "%s", rc == c->rc ? c->err : why);
		return;
	}
	json_auto_t *m = NULL;
	if (lks_json_parse(ctx, c->req.body.data, c->req.body.len, LKS_REGISTRY_MANIFEST_MAX,
	                   "manifest", &m) < 0) {
		res_fail(s, -LKS_E_PARSE, "%s", ctx->err);
		return;
	}
	json_t *sv = json_object_get(m, "schemaVersion");
	if (json_integer_value(sv) != 2) {
		res_fail(s, -LKS_E_UNSUPPORTED, "manifest schema version %lld is not supported",
		         (long long)json_integer_value(sv));
		return;
	}
	s->out->digest = strdup(got);
	s->out->media_type = media_type_of(c, m);
	if (json_object_get(m, "manifests")) {
		list_index(s, m);
	} else {
		list_single(s, m);
	}
}

/* ---- phase 3: per-platform manifests of an index (for their config digests) ---- */

static size_t index_platforms(const struct res_state *s)
{
	return s->is_index ? s->out->n_platforms : 0;
}

static bool make_platform(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c)
{
	return call_init(ctx, s, c, LKS_HTTP_GET, "manifests", s->out->platforms[i].digest,
	                 LKS_REGISTRY_MANIFEST_MAX);
}

static void platform_done(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c)
{
	char got[LKS_DIGEST_LEN + 1], why[512];
	const char *want = s->out->platforms[i].digest;
	int rc = c->rc;
	if (rc < 0 || (rc = verify_body(c, want, got, why, sizeof(why))) < 0) {
		res_fail(s, rc, "platform manifest %s: %s", want, rc == c->rc ? c->err : why);
		return;
	}
	json_auto_t *m = NULL;
	if (lks_json_parse(ctx, c->req.body.data, c->req.body.len, LKS_REGISTRY_MANIFEST_MAX,
	                   "platform manifest", &m) < 0) {
		res_fail(s, -LKS_E_PARSE, "%s", ctx->err);
		return;
	}
	const char *cd = config_digest(m);
	if (cd) { /* a nested index has none: its creation time stays unknown */
		s->cfg[i] = strdup(cd);
	}
}

/* ---- phase 4: image configs (creation time, platform of a single manifest) ---- */

static size_t all_platforms(const struct res_state *s)
{
	return s->out->n_platforms;
}

static bool make_config(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c)
{
	if (!s->cfg || !s->cfg[i]) {
		return false;
	}
	return call_init(ctx, s, c, LKS_HTTP_GET, "blobs", s->cfg[i], LKS_REGISTRY_CONFIG_MAX);
}

static void fill_missing(char **slot, const char *v)
{
	if (!*slot && v) {
		*slot = strdup(v);
	}
}

static void config_done(struct lks_ctx *ctx, struct res_state *s, size_t i, struct reg_call *c)
{
	char got[LKS_DIGEST_LEN + 1], why[512];
	int rc = c->rc;
	if (rc < 0 || (rc = verify_body(c, s->cfg[i], got, why, sizeof(why))) < 0) {
		res_fail(s, rc, "image config %s: %s", s->cfg[i], rc == c->rc ? c->err : why);
		return;
	}
	json_auto_t *j = NULL;
	if (lks_json_parse(ctx, c->req.body.data, c->req.body.len, LKS_REGISTRY_CONFIG_MAX,
	                   "image config", &j) < 0) {
		res_fail(s, -LKS_E_PARSE, "%s", ctx->err);
		return;
	}
	struct lks_image_platform *p = &s->out->platforms[i];
	fill_missing(&p->created, lks_json_str(j, "created"));
	const json_t *labels = json_object_get(json_object_get(j, "config"), "Labels");
	fill_missing(&p->source, lks_json_str(labels, "org.opencontainers.image.source"));
	fill_missing(&p->os, lks_json_str(j, "os"));
	fill_missing(&p->arch, lks_json_str(j, "architecture"));
	fill_missing(&p->variant, lks_json_str(j, "variant"));
}

/* ---- driver ---- */

static int copy_str(const char *src, char **dst)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

static int platforms_copy(const struct lks_image_resolution *a, struct lks_image_resolution *b)
{
	b->platforms = calloc(a->n_platforms ? a->n_platforms : 1, sizeof(*b->platforms));
	if (!b->platforms) {
		return -ENOMEM;
	}
	b->n_platforms = a->n_platforms;
	int rc = 0;
	for (size_t i = 0; i < a->n_platforms && rc == 0; i++) {
		const struct lks_image_platform *p = &a->platforms[i];
		struct lks_image_platform *q = &b->platforms[i];
		rc = copy_str(p->os, &q->os) ?: copy_str(p->arch, &q->arch)
		         ?: copy_str(p->variant, &q->variant) ?: copy_str(p->digest, &q->digest)
		                ?: copy_str(p->created, &q->created) ?: copy_str(p->source, &q->source);
	}
	return rc;
}

/* A repeated reference gets a copy of the first one's outcome (requests are not repeated). */
static int resolution_copy(const struct lks_image_resolution *a, struct lks_image_resolution *b)
{
	for (size_t i = 0; i < b->n_platforms; i++) {
		platform_free(&b->platforms[i]);
	}
	free(b->platforms);
	free(b->error);
	free(b->digest);
	free(b->media_type);
	free(b->tag_digest);
	b->platforms = NULL;
	b->n_platforms = 0;
	b->rc = a->rc;
	b->tag_moved = a->tag_moved;
	return copy_str(a->error, &b->error) ?: copy_str(a->digest, &b->digest)
	       ?: copy_str(a->media_type, &b->media_type) ?: copy_str(a->tag_digest, &b->tag_digest)
	       ?: platforms_copy(a, b);
}

static int state_init(struct res_state *s, const struct lks_oci_ref *ref,
                      struct lks_image_resolution *out)
{
	lks_image_resolution_init(out);
	s->ref = ref;
	s->out = out;
	s->same = SIZE_MAX;
	s->label = lks_oci_ref_format(ref, LKS_OCI_REF_FAMILIAR);
	out->registry = strdup(ref->domain);
	out->repository = strdup(ref->path);
	out->tag = dup_or_null(ref->tag);
	if (!s->label || !out->registry || !out->repository || (ref->tag && !out->tag)) {
		return -ENOMEM;
	}
	return 0;
}

static void state_free(struct res_state *s)
{
	for (size_t i = 0; s->cfg && i < s->out->n_platforms; i++) {
		free(s->cfg[i]);
	}
	free(s->cfg);
	free(s->label);
	free(s->want);
}

/* published_at of the whole image: the newest platform's creation time. */
static void set_created(struct lks_image_resolution *r)
{
	const char *best = NULL;
	time_t best_t = 0;
	for (size_t i = 0; i < r->n_platforms; i++) {
		time_t t;
		const char *c = r->platforms[i].created;
		if (c && lks_parse_time(c, &t) == 0 && (!best || t > best_t)) {
			best = c;
			best_t = t;
		}
	}
	r->created = dup_or_null(best);
	for (size_t i = 0; i < r->n_platforms && !r->source; i++) {
		r->source = dup_or_null(r->platforms[i].source);
	}
}

static int run_all_phases(struct lks_ctx *ctx, struct res_state *st, size_t n)
{
	int rc = run_phase(ctx, st, n, one, make_head, head_done);
	rc = rc ?: run_phase(ctx, st, n, one, make_manifest, manifest_done);
	rc = rc ?: run_phase(ctx, st, n, index_platforms, make_platform, platform_done);
	rc = rc ?: run_phase(ctx, st, n, all_platforms, make_config, config_done);
	return rc;
}

int lks_registry_resolve(struct lks_ctx *ctx, const struct lks_oci_ref *const *refs, size_t n,
                         struct lks_image_resolution *out)
{
	_cleanup_free_ struct res_state *st = calloc(n ? n : 1, sizeof(*st));
	if (!st) {
		return lks_err(ctx, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		lks_image_resolution_init(&out[i]);
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = state_init(&st[i], refs[i], &out[i]);
		for (size_t j = 0; j < i && st[i].same == SIZE_MAX; j++) {
			st[i].same = lks_oci_ref_equal(refs[i], refs[j]) ? j : SIZE_MAX;
		}
	}
	rc = rc ?: run_all_phases(ctx, st, n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (st[i].same != SIZE_MAX && resolution_copy(&out[st[i].same], &out[i]) < 0) {
			rc = lks_err(ctx, -ENOMEM, "out of memory");
		}
	}
	int first = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc < 0 && out[i].rc == 0) {
			out[i].rc = rc;
			out[i].error = strdup(lks_errmsg(ctx, rc));
		}
		if (out[i].rc == 0) {
			set_created(&out[i]);
		} else if (!first) {
			first = out[i].rc;
			lks_err(ctx, first, "%s",
			        out[i].error ? out[i].error : lks_strerror(first));
		}
		if (st[i].out) {
			state_free(&st[i]);
		}
	}
	return first;
}

/* ---- single fetches ---- */

static int run_one(struct lks_ctx *ctx, struct reg_call *c)
{
	struct reg_call *calls[] = {c};
	int rc = registry_run(ctx, calls, 1);
	if (rc < 0) {
		return rc;
	}
	return c->rc < 0 ? lks_err(ctx, c->rc, "%s", c->err) : 0;
}

struct blob_sink {
	struct lks_sha256 h;
	int (*sink)(void *, const void *, size_t);
	void *opaque;
	bool canceled;
	int hash_rc;
};

static int blob_sink_cb(void *opaque, const void *p, size_t n)
{
	struct blob_sink *b = opaque;
	if (b->hash_rc == 0) {
		b->hash_rc = lks_sha256_update(&b->h, p, n);
	}
	if (b->sink(b->opaque, p, n) != 0) {
		b->canceled = true;
		return 1;
	}
	return 0;
}

static int blob_check(struct lks_ctx *ctx, const char *digest, struct blob_sink *b,
                      struct reg_call *c)
{
	char got[LKS_DIGEST_LEN + 1];
	if (b->canceled) {
		return lks_err(ctx, -ECANCELED, "blob %s from %s: stopped by the reader", digest,
		               reg_call_where(c));
	}
	if (c->rc < 0) {
		return lks_err(ctx, c->rc, "cannot fetch blob %s: %s", digest, c->err);
	}
	if (b->hash_rc < 0 || lks_sha256_final(&b->h, got) < 0) {
		return lks_err(ctx, -LKS_E_CRYPTO, "cannot hash blob %s", digest);
	}
	if (!lks_digest_equal(got, digest)) {
		return lks_err(ctx, -LKS_E_DIGEST,
		               "blob %s from %s does not match its "
		               "digest: received %s",
		               digest, reg_call_where(c), got);
	}
	return 0;
}

int lks_registry_blob(struct lks_ctx *ctx, const struct lks_oci_ref *repo, const char *digest,
                      int (*sink)(void *opaque, const void *p, size_t n), void *opaque)
{
	if (!lks_digest_valid(digest) || strncmp(digest, "sha256:", 7)) {
		return lks_err(ctx, -LKS_E_INVAL, "cannot fetch blob '%.80s': not a sha256 digest",
		               digest);
	}
	/* HEAD first: authenticates and checks existence before any byte reaches the sink. */
	struct reg_call head, get;
	int rc = reg_call_init(ctx, &head, repo, LKS_HTTP_HEAD, "blobs", digest, 0);
	rc = rc ?: run_one(ctx, &head);
	size_t answered = head.si; /* the GET starts where the HEAD was answered */
	reg_call_free(&head);
	if (rc < 0) {
		return rc;
	}
	struct blob_sink b = {.sink = sink, .opaque = opaque};
	if (lks_sha256_init(&b.h) < 0) {
		return lks_err(ctx, -ENOMEM, "out of memory");
	}
	rc = reg_call_init(ctx, &get, repo, LKS_HTTP_GET, "blobs", digest, 0);
	if (rc < 0) {
		lks_sha256_free(&b.h);
		reg_call_free(&get);
		return rc == -ENOMEM ? lks_err(ctx, rc, "out of memory") : rc;
	}
	reg_call_start_at(&get, answered);
	get.sink = blob_sink_cb;
	get.sink_opaque = &b;
	rc = registry_run(ctx, (struct reg_call *[]){&get}, 1);
	rc = rc ?: blob_check(ctx, digest, &b, &get);
	lks_sha256_free(&b.h);
	reg_call_free(&get);
	return rc;
}

static int fetch_verified(struct lks_ctx *ctx, const struct lks_oci_ref *repo, const char *kind,
                          const char *reference, size_t max, struct reg_call *c,
                          char got[LKS_DIGEST_LEN + 1])
{
	char why[512];
	int rc = reg_call_init(ctx, c, repo, LKS_HTTP_GET, kind, reference, max);
	if (rc < 0) {
		return rc == -ENOMEM ? lks_err(ctx, rc, "out of memory") : rc;
	}
	rc = run_one(ctx, c);
	if (rc < 0) {
		return rc;
	}
	const char *want = lks_digest_valid(reference) ? reference : NULL;
	rc = verify_body(c, want, got, why, sizeof(why));
	return rc < 0 ? lks_err(ctx, rc, "%s", why) : 0;
}

int lks_registry_blob_mem(struct lks_ctx *ctx, const struct lks_oci_ref *repo, const char *digest,
                          size_t max, struct lks_buf *out)
{
	char got[LKS_DIGEST_LEN + 1];
	struct reg_call c;
	if (!lks_digest_valid(digest)) {
		return lks_err(ctx, -LKS_E_INVAL, "cannot fetch blob '%.80s': not a digest",
		               digest);
	}
	int rc = fetch_verified(ctx, repo, "blobs", digest, max ? max : LKS_REGISTRY_CONFIG_MAX, &c,
	                        got);
	if (rc == 0) {
		rc = lks_buf_append(out, c.req.body.data, c.req.body.len);
	}
	reg_call_free(&c);
	return rc;
}

int lks_registry_manifest(struct lks_ctx *ctx, const struct lks_oci_ref *repo,
                          const char *reference, struct lks_buf *out, char **media_type,
                          char digest[static LKS_DIGEST_LEN + 1])
{
	if (!reference) {
		reference = repo->digest ? repo->digest : repo->tag;
	}
	if (!reference) {
		return lks_err(ctx, -LKS_E_INVAL, "no tag or digest to fetch a manifest for");
	}
	struct reg_call c;
	int rc = fetch_verified(ctx, repo, "manifests", reference, LKS_REGISTRY_MANIFEST_MAX, &c,
	                        digest);
	if (rc == 0) {
		rc = lks_buf_append(out, c.req.body.data, c.req.body.len);
	}
	if (rc == 0 && media_type) {
		const char *ct = lks_http_req_get_header(&c.req, "content-type");
		*media_type = ct ? strndup(ct, strcspn(ct, "; ")) : NULL;
	}
	reg_call_free(&c);
	return rc;
}
