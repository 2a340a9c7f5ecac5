/* Comparing two image sets: platform pairing, parallel layer walks, config and manifest. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/json.h"
#include "lockstep/error.h"
#include "verifier/explain.h"
#include "lockstep/image.h"
#include "lockstep/imgdiff.h"
#include "verifier/normalize.h"
#include "verifier/capture.h"
#include "verifier/jsondiff.h"

#define MAX_JOBS 64

void filediff_free(struct lks_file_diff *fd);

struct pair_job {
	const struct lks_image_layer *l[2];
	struct lks_layer_index ix[2];
	struct lks_layer_diff *ld;
	int done;
	/* Same digest: the blobs are only hashed, never indexed. skip[side]: nothing to read
	 * there (a registry blob, or the very file the other side reads). */
	bool verify_only;
	bool skip[2];
};

/* One pass over an archive source (lks_image_archive_audit): the members it must hold once,
 * those of identical layers with their digest. */
struct audit {
	const struct lks_image_src *src;
	struct lks_image_member *m;
	size_t n, cap;
};

struct runner {
	pthread_mutex_t mu;
	const struct lks_ctx *parent; /* settings for the workers' own contexts */
	const struct lks_image_src *src[2];
	const struct lks_diff_opts *opts;
	struct pair_job *jobs;
	size_t n_jobs;
	struct audit audit[2]; /* per side; audit[1] unused when both sides are one archive */
	size_t n_audits;
	size_t next;
	int rc;
	char err[2048];
};

void lks_layer_diff_free(struct lks_layer_diff *ld)
{
	for (size_t i = 0; i < ld->n_files; i++) {
		filediff_free(&ld->files[i]);
	}
	free(ld->files);
	free(ld->digest_a);
	free(ld->digest_b);
	free(ld->compression);
	free(ld->created_by);
	free(ld->dockerfile_text);
}

void lks_diff_result_free(struct lks_diff_result *r)
{
	for (size_t p = 0; p < r->n_platforms; p++) {
		struct lks_platform_diff *pd = &r->platforms[p];
		for (size_t i = 0; i < pd->n_layers; i++) {
			lks_layer_diff_free(&pd->layers[i]);
		}
		free(pd->layers);
		jsondiff_free_items(pd->config, pd->n_config);
		jsondiff_free_items(pd->manifest, pd->n_manifest);
		free(pd->platform);
	}
	free(r->platforms);
	jsondiff_free_items(r->index, r->n_index);
	free(r->a_name);
	free(r->b_name);
	memset(r, 0, sizeof(*r));
}

/* Which gzip header fields differ, when both blobs are gzip. */
static void gzip_detail(const struct lks_layer_index *a, const struct lks_layer_index *b, char *out,
                        size_t cap)
{
	const unsigned char *x = a->head, *y = b->head;
	out[0] = '\0';
	if (a->head_len < 10 || b->head_len < 10 || x[0] != 0x1f || x[1] != 0x8b || y[0] != 0x1f ||
	    y[1] != 0x8b) {
		return;
	}
	snprintf(out, cap, "%s%s%s%s", memcmp(x + 4, y + 4, 4) ? "/mtime" : "",
	         x[9] != y[9] ? "/OS" : "", x[8] != y[8] ? "/level" : "",
	         x[3] != y[3] ? "/flags" : "");
}

static int compression_verdict(struct pair_job *j)
{
	struct lks_layer_diff *ld = j->ld;
	if (ld->n_files_differ || ld->n_files_normalized || ld->order_differs) {
		return 0;
	}
	char g[64], what[160];
	gzip_detail(&j->ix[0], &j->ix[1], g, sizeof(g));
	bool same_tar = j->l[0]->diff_id && j->l[1]->diff_id &&
	                lks_digest_equal(j->l[0]->diff_id, j->l[1]->diff_id);
	if (strcmp(ld->filter_a, ld->filter_b)) {
		snprintf(what, sizeof(what), "compression differs (%s vs %s)", ld->filter_a,
		         ld->filter_b);
	} else if (g[0]) {
		snprintf(what, sizeof(what), "compressed bytes differ (%s header %s)", ld->filter_a,
		         g + 1);
	} else {
		snprintf(what, sizeof(what),
		         "compressed bytes differ (%s stream: compressor or level)", ld->filter_a);
	}
	if (asprintf(&ld->compression, "%s content identical, %s",
	             same_tar ? "uncompressed" : "entry", what) < 0) {
		ld->compression = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int finish_pair(struct lks_ctx *lctx, struct runner *r, struct pair_job *j)
{
	struct lks_layer_diff *ld = j->ld;
	ld->verified = true; /* every blob read is checked against its digest */
	if (j->verify_only) {
		return 0;
	}
	snprintf(ld->filter_a, sizeof(ld->filter_a), "%s", j->ix[0].filter);
	snprintf(ld->filter_b, sizeof(ld->filter_b), "%s", j->ix[1].filter);
	int rc = lks_diff_layer_pair(&j->ix[0], &j->ix[1], r->opts, ld);
	if (rc == 0) {
		rc = compression_verdict(j);
	}
	if (rc == 0 && ld->n_files && (r->opts->deep || r->opts->capture_text)) {
		lks_layer_index_free(&j->ix[0]); /* not needed for the second pass */
		lks_layer_index_free(&j->ix[1]);
		rc = capture_layer_pair(lctx, r->src, j->l, r->opts, ld);
	}
	bool counts =
	    ld->n_files_differ || (r->opts->strict && (ld->order_differs || ld->compression));
	ld->status = counts ? LKS_LAYER_DIFFERS : LKS_LAYER_SAME;
	lks_layer_index_free(&j->ix[0]);
	lks_layer_index_free(&j->ix[1]);
	return rc;
}

static void fail(struct runner *r, int rc, const struct lks_ctx *lctx, const struct pair_job *j,
                 int side)
{
	pthread_mutex_lock(&r->mu);
	if (r->rc == 0) {
		r->rc = rc;
		if (j) {
			snprintf(r->err, sizeof(r->err), "layer %zu of %s: %s", j->ld->index + 1,
			         side ? "B" : "A", lks_errmsg(lctx, rc));
		} else {
			snprintf(r->err, sizeof(r->err), "%s", lks_errmsg(lctx, rc));
		}
	}
	pthread_mutex_unlock(&r->mu);
}

static void pair_work(struct lks_ctx *lctx, struct runner *r, size_t item)
{
	struct pair_job *j = &r->jobs[item / 2];
	int side = (int)(item % 2);
	int rc = 0;
	if (!j->verify_only) {
		rc = lks_layer_walk(lctx, r->src[side], j->l[side], r->opts->limits, &j->ix[side]);
	} else if (!j->skip[side]) {
		rc = lks_layer_verify(lctx, r->src[side], j->l[side]);
	}
	if (rc < 0) {
		fail(r, rc, lctx, j, side);
	}
	pthread_mutex_lock(&r->mu);
	bool last = ++j->done == 2 && r->rc == 0;
	pthread_mutex_unlock(&r->mu);
	if (last && (rc = finish_pair(lctx, r, j)) < 0) {
		fail(r, rc, lctx, j, side);
	}
}

static void *worker(void *arg)
{
	struct runner *r = arg;
	struct lks_ctx *lctx = calloc(1, sizeof(*lctx));
	if (lctx) {
		lks_image_ctx_derive(lctx, r->parent);
	}
	for (;;) {
		pthread_mutex_lock(&r->mu);
		size_t item = r->next++;
		bool stop = r->rc != 0 || item >= r->n_audits + 2 * r->n_jobs || !lctx;
		pthread_mutex_unlock(&r->mu);
		if (stop) {
			break;
		}
		lctx->err[0] = '\0';
		if (item < r->n_audits) {
			struct audit *au = &r->audit[item];
			int rc = lks_image_archive_audit(lctx, au->src, au->m, au->n);
			if (rc < 0) {
				fail(r, rc, lctx, NULL, 0);
			}
			continue;
		}
		pair_work(lctx, r, item - r->n_audits);
	}
	if (!lctx) {
		pthread_mutex_lock(&r->mu);
		r->rc = r->rc ? r->rc : -ENOMEM;
		pthread_mutex_unlock(&r->mu);
	}
	if (lctx) {
		lks_image_ctx_release(lctx);
	}
	free(lctx);
	return NULL;
}

static int run_jobs(struct lks_ctx *ctx, struct runner *r)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = r->opts->jobs > 0 ? (size_t)r->opts->jobs : (size_t)(ncpu > 0 ? ncpu : 1);
	n = n > MAX_JOBS ? MAX_JOBS : n;
	n = n > r->n_audits + 2 * r->n_jobs ? r->n_audits + 2 * r->n_jobs : n;
	pthread_t th[MAX_JOBS];
	size_t started = 0;
	for (; started < n; started++) {
		if (pthread_create(&th[started], NULL, worker, r)) {
			break;
		}
	}
	if (!started && (r->n_jobs || r->n_audits)) {
		worker(r); /* no threads available: do it here */
	}
	for (size_t i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
	}
	for (size_t i = 0; i < r->n_jobs; i++) {
		lks_layer_index_free(&r->jobs[i].ix[0]);
		lks_layer_index_free(&r->jobs[i].ix[1]);
	}
	if (r->rc < 0) {
		return lks_err(ctx, r->rc, "%s", r->err);
	}
	return 0;
}

static struct pair_job *add_job(struct runner *r, const struct lks_image_layer *la,
                                const struct lks_image_layer *lb, struct lks_layer_diff *ld)
{
	if (r->n_jobs % 32 == 0) {
		void *p = realloc(r->jobs, (r->n_jobs + 32) * sizeof(*r->jobs));
		if (!p) {
			return NULL;
		}
		r->jobs = p;
	}
	struct pair_job *j = &r->jobs[r->n_jobs++];
	memset(j, 0, sizeof(*j));
	j->l[0] = la;
	j->l[1] = lb;
	j->ld = ld;
	return j;
}

static bool is_archive(const struct lks_image_src *src)
{
	return src->kind == LKS_IMAGE_OCI_ARCHIVE || src->kind == LKS_IMAGE_DOCKER_ARCHIVE;
}

static bool same_source(const struct runner *r)
{
	return r->src[0]->kind == r->src[1]->kind && !strcmp(r->src[0]->path, r->src[1]->path);
}

/* A member the archive of `side` must hold once; with a digest, hashed in the audit pass. */
static int audit_add(struct runner *r, int side, const char *name, const char *digest)
{
	if (!is_archive(r->src[side])) {
		return 0;
	}
	struct audit *au = &r->audit[side && same_source(r) ? 0 : side];
	if (au->n == au->cap) {
		size_t cap = au->cap ? 2 * au->cap : 16;
		struct lks_image_member *m = realloc(au->m, cap * sizeof(*m));
		if (!m) {
			return -ENOMEM;
		}
		au->m = m;
		au->cap = cap;
	}
	au->src = r->src[side];
	au->m[au->n++] = (struct lks_image_member){.name = name, .digest = digest};
	return 0;
}

/* Equal digests say nothing about bytes nobody read: a local blob is hashed before the pair is
 * called identical (a layout's file here, an archive's member in the audit pass). Registry
 * blobs are not downloaded for this; the report says so (lks_layer_diff.verified). */
static int add_verify_job(struct runner *r, const struct lks_image_layer *la,
                          const struct lks_image_layer *lb, struct lks_layer_diff *ld)
{
	const struct lks_image_layer *l[2] = {la, lb};
	bool skip[2];
	for (int s = 0; s < 2; s++) {
		int rc = audit_add(r, s, l[s]->member, l[s]->digest);
		if (rc < 0) {
			return rc;
		}
		skip[s] = r->src[s]->kind == LKS_IMAGE_REGISTRY || is_archive(r->src[s]);
	}
	skip[1] |= same_source(r) && !strcmp(la->member, lb->member);
	if (r->src[0]->kind == LKS_IMAGE_REGISTRY && r->src[1]->kind == LKS_IMAGE_REGISTRY) {
		return 0;
	}
	struct pair_job *j = add_job(r, la, lb, ld);
	if (!j) {
		return -ENOMEM;
	}
	j->verify_only = true;
	j->skip[0] = skip[0];
	j->skip[1] = skip[1];
	return 0;
}

static int add_walk_job(struct runner *r, const struct lks_image_layer *la,
                        const struct lks_image_layer *lb, struct lks_layer_diff *ld)
{
	int rc = audit_add(r, 0, la->member, NULL);
	rc = rc ? rc : audit_add(r, 1, lb->member, NULL);
	if (rc == 0 && !add_job(r, la, lb, ld)) {
		rc = -ENOMEM;
	}
	return rc;
}

static int plan_layers(struct runner *r, const struct lks_image *ia, const struct lks_image *ib,
                       struct lks_platform_diff *pd)
{
	size_t na = ia ? ia->n_layers : 0, nb = ib ? ib->n_layers : 0;
	pd->n_layers_a = na;
	pd->n_layers_b = nb;
	pd->n_layers = na > nb ? na : nb;
	pd->layers = calloc(pd->n_layers + 1, sizeof(*pd->layers));
	if (!pd->layers) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < pd->n_layers; i++) {
		struct lks_layer_diff *ld = &pd->layers[i];
		ld->index = i;
		ld->history_index = -1;
		ld->digest_a = i < na ? strdup(ia->layers[i].digest) : NULL;
		ld->digest_b = i < nb ? strdup(ib->layers[i].digest) : NULL;
		if ((i < na && !ld->digest_a) || (i < nb && !ld->digest_b)) {
			return -ENOMEM;
		}
		if (i >= na || i >= nb) {
			ld->status = i >= na ? LKS_LAYER_ADDED : LKS_LAYER_REMOVED;
		} else if (lks_digest_equal(ld->digest_a, ld->digest_b)) {
			ld->status = LKS_LAYER_IDENTICAL;
			if (add_verify_job(r, &ia->layers[i], &ib->layers[i], ld) < 0) {
				return -ENOMEM;
			}
		} else if (add_walk_job(r, &ia->layers[i], &ib->layers[i], ld) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

static int explain_layers(const struct lks_image *ia, const struct lks_image *ib,
                          const struct lks_dockerfile_step *steps, size_t n_steps,
                          struct lks_platform_diff *pd)
{
	size_t from = 0;
	for (size_t i = 0; i < pd->n_layers; i++) {
		struct lks_layer_diff *ld = &pd->layers[i];
		const char *cb = NULL;
		const struct lks_image *img = i < pd->n_layers_b ? ib : ia;
		ld->history_index = lks_explain_history(img->config, i, &cb);
		if (cb && !(ld->created_by = strdup(cb))) {
			return -ENOMEM;
		}
		int s = steps ? lks_explain_dockerfile_match(steps, n_steps, cb, &from) : -1;
		if (s >= 0) {
			ld->dockerfile_line = steps[s].line;
			if (!(ld->dockerfile_text = strdup(steps[s].text))) {
				return -ENOMEM;
			}
		}
	}
	return 0;
}

static int diff_json(const struct lks_image *ia, const struct lks_image *ib,
                     const struct lks_diff_opts *o, struct lks_platform_diff *pd)
{
	static const char *const cfg_derived[] = {"rootfs.diff_ids", NULL};
	static const char *const man_derived[] = {"manifest.layers", "manifest.config",
	                                          "descriptor.digest", "descriptor.size", NULL};
	struct jsondiff c = {.opts = o, .derived = cfg_derived};
	int rc = jsondiff_run(&c, ia->config, ib->config, "");
	pd->config = c.v;
	pd->n_config = c.n;
	if (rc < 0 || !ia->manifest || !ib->manifest) {
		return rc;
	}
	struct jsondiff m = {.opts = o, .derived = man_derived};
	rc = jsondiff_run(&m, ia->manifest, ib->manifest, "manifest");
	if (rc == 0 && ia->desc && ib->desc) {
		rc = jsondiff_run(&m, ia->desc, ib->desc, "descriptor");
	}
	pd->manifest = m.v;
	pd->n_manifest = m.n;
	return rc;
}

static void count_platform(struct lks_platform_diff *pd)
{
	bool differs = pd->only_in != 0;
	for (size_t i = 0; i < pd->n_layers; i++) {
		const struct lks_layer_diff *ld = &pd->layers[i];
		differs |= ld->status == LKS_LAYER_DIFFERS || ld->status == LKS_LAYER_ADDED ||
		           ld->status == LKS_LAYER_REMOVED;
		pd->n_normalized += ld->n_normalized;
		pd->n_timestamps += ld->n_timestamps;
	}
	struct lks_json_diff *sets[2] = {pd->config, pd->manifest};
	size_t ns[2] = {pd->n_config, pd->n_manifest};
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < ns[s]; i++) {
			differs |= !sets[s][i].normalized && !sets[s][i].derived;
			pd->n_normalized += sets[s][i].normalized;
			pd->n_timestamps +=
			    sets[s][i].normalized && lks_norm_json_is_time(sets[s][i].path);
		}
	}
	pd->differs = differs;
}

struct img_pair {
	const struct lks_image *a, *b;
};

static int pair_platforms(const struct lks_image_set *a, const struct lks_image_set *b,
                          struct img_pair *pairs, size_t *n)
{
	bool used[LKS_IMAGE_MAX_PLATFORMS] = {0};
	*n = 0;
	if (a->n_images == 1 && b->n_images == 1) {
		pairs[(*n)++] = (struct img_pair){&a->images[0], &b->images[0]};
		return 0;
	}
	for (size_t i = 0; i < a->n_images; i++) {
		const struct lks_image *m = NULL;
		for (size_t k = 0; k < b->n_images && !m; k++) {
			if (!used[k] && !strcmp(a->images[i].platform, b->images[k].platform)) {
				used[k] = true;
				m = &b->images[k];
			}
		}
		pairs[(*n)++] = (struct img_pair){&a->images[i], m};
	}
	for (size_t k = 0; k < b->n_images; k++) {
		if (!used[k]) {
			pairs[(*n)++] = (struct img_pair){NULL, &b->images[k]};
		}
	}
	return 0;
}

static int plan_platform(struct runner *r, const struct img_pair *p, struct lks_platform_diff *pd)
{
	const struct lks_image *any = p->a ? p->a : p->b;
	pd->only_in = !p->a ? 'b' : !p->b ? 'a' : 0;
	if (p->a && p->b && strcmp(p->a->platform, p->b->platform)) {
		if (asprintf(&pd->platform, "%s vs %s", p->a->platform, p->b->platform) < 0) {
			pd->platform = NULL;
		}
	} else {
		pd->platform = strdup(any->platform);
	}
	if (!pd->platform) {
		return -ENOMEM;
	}
	return pd->only_in ? 0 : plan_layers(r, p->a, p->b, pd);
}

static int finish_platform(const struct img_pair *p, const struct lks_diff_opts *o,
                           const struct lks_dockerfile_step *steps, size_t n_steps,
                           struct lks_platform_diff *pd)
{
	int rc = 0;
	if (!pd->only_in) {
		rc = explain_layers(p->a, p->b, steps, n_steps, pd);
		if (rc == 0) {
			rc = diff_json(p->a, p->b, o, pd);
		}
	}
	count_platform(pd);
	return rc;
}

/* The top-level indexes without their manifests lists (those are paired per platform). */
static int diff_index(const struct lks_image_set *a, const struct lks_image_set *b,
                      const struct lks_diff_opts *o, struct lks_diff_result *out)
{
	if (!json_is_object(a->top) || !json_is_object(b->top)) {
		return 0;
	}
	json_auto_t *x = json_copy(a->top);
	json_auto_t *y = json_copy(b->top);
	if (!x || !y) {
		return -ENOMEM;
	}
	json_object_del(x, "manifests");
	json_object_del(y, "manifests");
	struct jsondiff d = {.opts = o};
	int rc = jsondiff_run(&d, x, y, "index");
	out->index = d.v;
	out->n_index = d.n;
	for (size_t i = 0; i < d.n; i++) {
		out->differs |= !d.v[i].normalized;
	}
	return rc;
}

/* The top document of each archive is read by name, unverified: it too must be there once. */
static int plan_audits(struct runner *r)
{
	for (int s = 0; s < 2; s++) {
		const char *top =
		    r->src[s]->kind == LKS_IMAGE_DOCKER_ARCHIVE ? "manifest.json" : "index.json";
		int rc = audit_add(r, s, top, NULL);
		if (rc < 0) {
			return rc;
		}
	}
	if (!r->audit[0].n) {
		r->audit[0] = r->audit[1];
		memset(&r->audit[1], 0, sizeof(r->audit[1]));
	}
	r->n_audits = (r->audit[0].n > 0) + (r->audit[1].n > 0);
	return 0;
}

static int diff_sets(struct lks_ctx *ctx, const struct lks_image_set *a,
                     const struct lks_image_set *b, const struct lks_diff_opts *o,
                     const struct lks_dockerfile_step *steps, size_t n_steps,
                     struct lks_diff_result *out)
{
	struct img_pair pairs[2 * LKS_IMAGE_MAX_PLATFORMS];
	size_t n = 0;
	pair_platforms(a, b, pairs, &n);
	out->platforms = calloc(n + 1, sizeof(*out->platforms));
	if (!out->platforms) {
		return -ENOMEM;
	}
	struct runner r = {.src = {&a->src, &b->src}, .opts = o, .parent = ctx};
	pthread_mutex_init(&r.mu, NULL);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		out->n_platforms++;
		rc = plan_platform(&r, &pairs[i], &out->platforms[i]);
	}
	if (rc == 0) {
		rc = plan_audits(&r);
	}
	if (rc == 0) {
		rc = run_jobs(ctx, &r);
	}
	free(r.audit[0].m);
	free(r.audit[1].m);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = finish_platform(&pairs[i], o, steps, n_steps, &out->platforms[i]);
		out->differs |= out->platforms[i].differs;
	}
	free(r.jobs);
	pthread_mutex_destroy(&r.mu);
	return rc ? rc : diff_index(a, b, o, out);
}

int lks_diff_images(struct lks_ctx *ctx, const struct lks_image_set *a,
                    const struct lks_image_set *b, const struct lks_diff_opts *o,
                    struct lks_diff_result *out)
{
	memset(out, 0, sizeof(*out));
	int rc = lks_norm_check(ctx, o);
	if (rc < 0) {
		return rc;
	}
	struct lks_dockerfile_step *steps = NULL;
	size_t n_steps = 0;
	if (o->dockerfile &&
	    (rc = lks_explain_dockerfile_load(ctx, o->dockerfile, &steps, &n_steps)) < 0) {
		return rc;
	}
	out->n_attestations_a = a->n_attestations;
	out->n_attestations_b = b->n_attestations;
	rc = diff_sets(ctx, a, b, o, steps, n_steps, out);
	lks_explain_dockerfile_free(steps, n_steps);
	if (rc == -ENOMEM) {
		rc = lks_err(ctx, rc, "out of memory comparing images");
	}
	return rc;
}
