/* The per-run memo of image reads (see "per-run memo" in include/lockstep/imagefs.h): every
 * platform manifest's layers are streamed once for the union of what the run's readers asked
 * for, and each reader gets exactly what its own read would have returned. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/array.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "common/imagefs_int.h"

struct memo_req {
	char *path;
	bool stat_only;
};

struct memo_entry {
	char *manifest; /* the platform manifest digest the layers belong to */
	struct memo_req *reqs;
	size_t n;
	struct lks_imagefs fs; /* the union's result */
};

struct lks_imagefs_memo {
	struct memo_req *want; /* registered by the run's readers */
	size_t n_want, cap_want;
	size_t file_max, total_max;
	struct memo_entry *v;
	size_t n, cap;
};

struct lks_imagefs_memo *lks_imagefs_memo_new(void)
{
	return calloc(1, sizeof(struct lks_imagefs_memo));
}

static void reqs_free(struct memo_req *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].path);
	}
	free(r);
}

void lks_imagefs_memo_free(struct lks_imagefs_memo *m)
{
	if (!m) {
		return;
	}
	reqs_free(m->want, m->n_want);
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].manifest);
		reqs_free(m->v[i].reqs, m->v[i].n);
		lks_imagefs_free(&m->v[i].fs);
	}
	free(m->v);
	free(m);
}

/* Add r to (*v, *n): a content request upgrades a stat-only one. */
static int req_add(struct memo_req **v, size_t *n, size_t *cap, const char *path, bool stat_only)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp((*v)[i].path, path)) {
			(*v)[i].stat_only = (*v)[i].stat_only && stat_only;
			return 0;
		}
	}
	char *p = strdup(path);
	if (!p || LKS_GROW(*v, *cap, *n + 1, 16) < 0) {
		free(p);
		return -ENOMEM;
	}
	(*v)[(*n)++] = (struct memo_req){p, stat_only};
	return 0;
}

static size_t cap_or(size_t v, size_t dflt)
{
	return v ? v : dflt;
}

int lks_imagefs_memo_want(struct lks_imagefs_memo *m, const struct lks_imagefs_req *reqs, size_t n,
                          const struct lks_imagefs_opts *caps)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = req_add(&m->want, &m->n_want, &m->cap_want, reqs[i].path, reqs[i].stat_only);
	}
	size_t fm = cap_or(caps ? caps->file_max : 0, LKS_IMAGEFS_FILE_MAX);
	size_t tm = cap_or(caps ? caps->total_max : 0, LKS_IMAGEFS_TOTAL_MAX);
	m->file_max = fm > m->file_max ? fm : m->file_max;
	m->total_max += tm; /* every reader's files fit at once */
	return rc;
}

static struct memo_entry *find(struct lks_imagefs_memo *m, const char *manifest)
{
	for (size_t i = 0; manifest && i < m->n; i++) {
		if (!strcmp(m->v[i].manifest, manifest)) {
			return &m->v[i];
		}
	}
	return NULL;
}

static bool covered(const struct memo_entry *e, const struct lks_imagefs_req *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < e->n && (strcmp(e->reqs[k].path, reqs[i].path) ||
		                    (e->reqs[k].stat_only && !reqs[i].stat_only))) {
			k++;
		}
		if (k == e->n) {
			return false;
		}
	}
	return true;
}

/* The union of what e covered, what the run registered, and reqs. */
static int union_of(const struct lks_imagefs_memo *m, const struct memo_entry *e,
                    const struct lks_imagefs_req *reqs, size_t n, struct memo_req **out,
                    size_t *nout)
{
	size_t cap = 0;
	int rc = 0;
	*out = NULL;
	*nout = 0;
	for (size_t i = 0; rc == 0 && e && i < e->n; i++) {
		rc = req_add(out, nout, &cap, e->reqs[i].path, e->reqs[i].stat_only);
	}
	for (size_t i = 0; rc == 0 && i < m->n_want; i++) {
		rc = req_add(out, nout, &cap, m->want[i].path, m->want[i].stat_only);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = req_add(out, nout, &cap, reqs[i].path, reqs[i].stat_only);
	}
	return rc;
}

/* Stream the layers once for the union; the entry of manifest is (re)placed. */
static int fill(struct lks_ctx *ctx, struct lks_imagefs_memo *m, const char *manifest,
                const struct ifs_read *rd)
{
	const struct lks_imagefs_req *reqs = rd->reqs;
	const struct lks_imagefs_opts *o = rd->o;
	size_t n = rd->n;
	struct memo_entry *e = find(m, manifest);
	struct memo_req *u = NULL;
	size_t nu = 0;
	int rc = union_of(m, e, reqs, n, &u, &nu);
	struct lks_imagefs_req *r = rc ? NULL : calloc(nu + 1, sizeof(*r));
	rc = rc ? rc : r ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < nu; i++) {
		r[i] = (struct lks_imagefs_req){u[i].path, u[i].stat_only};
	}
	struct lks_imagefs_opts caps = *o;
	caps.file_max = cap_or(o->file_max, LKS_IMAGEFS_FILE_MAX) > m->file_max
	                    ? cap_or(o->file_max, LKS_IMAGEFS_FILE_MAX)
	                    : m->file_max;
	caps.total_max = cap_or(o->total_max, LKS_IMAGEFS_TOTAL_MAX) + m->total_max;
	struct lks_imagefs fs;
	lks_imagefs_init(&fs);
	rc = rc ? rc : lks_imagefs_read_source(ctx, rd->src, r, nu, &caps, &fs);
	ctx->image_streams++;
	free(r);
	if (rc == 0 && !e) {
		rc = LKS_GROW(m->v, m->cap, m->n + 1, 4);
		e = rc ? NULL : &m->v[m->n];
		if (e && !(e->manifest = strdup(manifest))) {
			rc = -ENOMEM;
		}
		m->n += e && e->manifest;
	}
	if (rc < 0) {
		reqs_free(u, nu);
		lks_imagefs_free(&fs);
		return rc;
	}
	reqs_free(e->reqs, e->n);
	lks_imagefs_free(&e->fs);
	e->reqs = u;
	e->n = nu;
	e->fs = fs;
	return 0;
}

static bool matches(const struct lks_imagefs_req *r, const char *path)
{
	const char *slash = strrchr(r->path, '/');
	if (!slash || !strpbrk(slash, "*?[")) {
		return !strcmp(r->path, path);
	}
	size_t dl = (size_t)(slash - r->path);
	return !strncmp(path, r->path, dl + 1) && !strchr(path + dl + 1, '/') &&
	       fnmatch(slash + 1, path + dl + 1, FNM_PERIOD) == 0;
}

static int copy_file(struct lks_imagefs_file *d, const struct lks_imagefs_file *f, bool stat_only)
{
	*d = (struct lks_imagefs_file){.len = f->len, .mode = f->mode};
	d->path = strdup(f->path);
	d->resolved = strdup(f->resolved);
	if (!stat_only && f->data && (d->data = malloc(f->len + 1))) {
		memcpy(d->data, f->data, f->len + 1);
	}
	return d->path && d->resolved && (stat_only || !f->data || d->data) ? 0 : -ENOMEM;
}

/* What reqs would have read, from e; 1 when that is not certain (caps): read instead. */
static int serve(const struct memo_entry *e, const struct lks_imagefs_req *reqs, size_t n,
                 const struct lks_imagefs_opts *o, struct lks_imagefs *out)
{
	size_t total = 0, cap = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < e->fs.n; i++) {
		const struct lks_imagefs_file *f = &e->fs.v[i];
		bool want = false, content = false;
		for (size_t k = 0; k < n; k++) {
			if (matches(&reqs[k], f->path)) {
				want = true;
				content = content || !reqs[k].stat_only;
			}
		}
		if (!want) {
			continue;
		}
		total += content ? f->len : 0;
		if ((content && f->len > cap_or(o->file_max, LKS_IMAGEFS_FILE_MAX)) ||
		    total > cap_or(o->total_max, LKS_IMAGEFS_TOTAL_MAX)) {
			return 1;
		}
		rc = LKS_GROW(out->v, cap, out->n + 1, 16);
		rc = rc ? rc : copy_file(&out->v[out->n], f, !content);
		out->n += rc == 0;
	}
	return rc;
}

int ifs_memo_read(struct lks_ctx *ctx, const char *manifest, const struct ifs_read *rd,
                  struct lks_imagefs *out)
{
	struct lks_imagefs_memo *m = ctx->imagefs_memo;
	struct memo_entry *e = find(m, manifest);
	if (!e || !covered(e, rd->reqs, rd->n)) {
		if (fill(ctx, m, manifest, rd) < 0) {
			ctx->err[0] = '\0';
			return 1; /* the caller's own read says what is wrong, in its words */
		}
		e = find(m, manifest);
	}
	int rc = serve(e, rd->reqs, rd->n, rd->o, out);
	if (rc != 0) {
		lks_imagefs_free(out);
		lks_imagefs_init(out);
	}
	return rc;
}
