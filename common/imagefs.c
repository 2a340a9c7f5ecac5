/* Reading files out of an image's layers: requests, symlink resolution, results. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/imagefs_int.h"
#include "lockstep/array.h"
#include "lockstep/sort.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

#define MAX_PATS (LKS_IMAGEFS_MAX_REQS * (LKS_IMAGEFS_MAX_ROUNDS + 2))
#define PATH_CAP ((size_t)64 << 10)

void lks_imagefs_init(struct lks_imagefs *fs)
{
	memset(fs, 0, sizeof(*fs));
}

void lks_imagefs_free(struct lks_imagefs *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].path);
		free(fs->v[i].resolved);
		free(fs->v[i].data);
	}
	free(fs->v);
	free(fs->image_digest);
	free(fs->manifest_digest);
	free(fs->os);
	free(fs->arch);
	free(fs->variant);
	lks_imagefs_init(fs);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct lks_imagefs_file *)a)->path,
	              ((const struct lks_imagefs_file *)b)->path);
}

const struct lks_imagefs_file *lks_imagefs_get(const struct lks_imagefs *fs, const char *path)
{
	struct lks_imagefs_file key = {.path = (char *)path};
	return fs->n ? bsearch(&key, fs->v, fs->n, sizeof(*fs->v), cmp_file) : NULL;
}

struct pats {
	struct ifs_pat v[MAX_PATS];
	size_t n;
};

static void pats_free(struct pats *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].dir);
		free(p->v[i].base);
	}
	p->n = 0;
}

/* 1 when added, 0 when already there (a content request upgrades a stat-only one). */
static int pats_add(struct pats *p, const char *dir, size_t dl, const char *base, bool stat_only)
{
	bool glob = strpbrk(base, "*?[") != NULL;
	for (size_t i = 0; i < p->n; i++) {
		struct ifs_pat *q = &p->v[i];
		if (strlen(q->dir) == dl && !strncmp(q->dir, dir, dl) && !strcmp(q->base, base)) {
			int up = q->stat_only && !stat_only;
			q->stat_only = q->stat_only && stat_only;
			return up;
		}
	}
	if (p->n == MAX_PATS) {
		return -LKS_E_TOOBIG;
	}
	struct ifs_pat *q = &p->v[p->n];
	q->dir = strndup(dir, dl);
	q->base = strdup(base);
	if (!q->dir || !q->base) {
		free(q->dir);
		free(q->base);
		return -ENOMEM;
	}
	q->glob = glob;
	q->stat_only = stat_only;
	p->n++;
	return 1;
}

/* An exact normalised path. */
static int pats_add_path(struct pats *p, const char *path, bool stat_only)
{
	size_t dl = ifs_dirlen(path);
	return pats_add(p, path, dl, dl ? path + dl + 1 : path, stat_only);
}

static int pats_from_reqs(struct lks_ctx *ctx, struct pats *p, const struct lks_imagefs_req *reqs,
                          size_t n)
{
	if (n > LKS_IMAGEFS_MAX_REQS) {
		return lks_err(ctx, -LKS_E_TOOBIG, "more than %d paths asked of an image",
		               LKS_IMAGEFS_MAX_REQS);
	}
	for (size_t i = 0; i < n; i++) {
		const char *r = reqs[i].path;
		_cleanup_free_ char *c = r && r[0] == '/' ? strdup(r) : NULL;
		if (c) {
			lks_imagefs_norm_path(c, true);
		}
		size_t dl = c ? ifs_dirlen(c) : 0;
		if (!c || !*c || strcspn(c, "*?[") < dl) {
			return lks_err(ctx, -LKS_E_INVAL,
			               "bad image path '%s': absolute, globs only in the last part",
			               r ? r : "");
		}
		int rc = pats_add(p, c, dl, dl ? c + dl + 1 : c, reqs[i].stat_only);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static void buf_cut(struct lks_buf *b, size_t len)
{
	b->len = len;
	if (b->data) {
		b->data[len] = '\0';
	}
}

/* Replace the unresolved rest with link + "/" + rest[next..]. */
static int splice_link(struct lks_buf *rest, size_t next, const char *link)
{
	struct lks_buf t;
	lks_buf_init(&t, PATH_CAP);
	int rc = lks_buf_printf(&t, "%s/%s", link, rest->data + next);
	if (rc == 0) {
		lks_buf_reset(rest);
		rc = lks_buf_append(rest, t.data, t.len);
	}
	lks_buf_free(&t);
	return rc;
}

/* Follow path through the image's symlinks as the kernel would, with the image root as "/".
 * res: the resolved path; *out: the file or link-less node there (NULL: a directory, missing,
 * or a file used as a directory, which returns 1). */
static int resolve(const struct lks_imagefs_scan *s, const char *path, struct lks_buf *res,
                   const struct ifs_node **out)
{
	struct lks_buf rest;
	lks_buf_init(&rest, PATH_CAP);
	lks_buf_reset(res);
	int rc = lks_buf_puts(&rest, path), hops = 0;
	size_t off = 0;
	*out = NULL;
	while (rc == 0 && off < rest.len) {
		const char *c = rest.data + off;
		size_t n = strcspn(c, "/"), next = off + n + strspn(c + n, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			buf_cut(res, ifs_dirlen(res->data ? res->data : ""));
		}
		size_t keep = res->len;
		if (n && !(n <= 2 && !strncmp(c, "..", n))) {
			rc = lks_buf_printf(res, "%s%.*s", keep ? "/" : "", (int)n, c);
		}
		const struct ifs_node *node = res->len > keep ? ifs_lookup(s, res->data) : NULL;
		if (rc == 0 && node && node->type == IFS_LINK) {
			if (++hops > LKS_IMAGEFS_MAX_LINKS) {
				rc = lks_err(s->ctx, -LKS_E_UNSAFE,
				             "too many levels of symbolic links in '/%s'", path);
				break;
			}
			buf_cut(res, node->link[0] == '/' ? 0 : keep);
			rc = splice_link(&rest, next, node->link);
			off = 0;
			continue;
		}
		off = next;
		if (node && off < rest.len) {
			rc = 1; /* not a directory */
			node = NULL;
		}
		*out = node;
	}
	lks_buf_free(&rest);
	return rc;
}

struct results {
	struct lks_imagefs_file *v;
	size_t n, cap;
};

static int result_add(struct results *r, const char *path, const char *resolved,
                      const struct ifs_node *node)
{
	if (LKS_GROW(r->v, r->cap, r->n + 1, 16) < 0) {
		return -ENOMEM;
	}
	struct lks_imagefs_file *f = &r->v[r->n];
	memset(f, 0, sizeof(*f));
	f->len = node->len;
	f->mode = node->mode;
	if (asprintf(&f->path, "/%s", path) < 0 || asprintf(&f->resolved, "/%s", resolved) < 0 ||
	    (node->type == IFS_FILE && !(f->data = malloc(node->len + 1)))) {
		free(f->path);
		return -ENOMEM; /* asprintf leaves the pointer undefined only on its own failure */
	}
	if (f->data) {
		memcpy(f->data, node->data, node->len + 1);
	}
	r->n++;
	return 0;
}

struct collect {
	const struct lks_imagefs_scan *s;
	struct pats *p;
	struct results *r;
	int added;
};

/* The file at path (a request or a glob match): a result, or a path to keep next round. */
static int collect_one(struct collect *c, const char *path, bool stat_only)
{
	struct lks_buf res;
	lks_buf_init(&res, PATH_CAP);
	const struct ifs_node *node;
	int rc = resolve(c->s, path, &res, &node);
	const char *rp = res.data ? res.data : "";
	if (rc == 0 && node) {
		rc = result_add(c->r, path, rp, node);
	} else if (rc == 0 && *rp && strcmp(rp, path)) {
		rc = pats_add_path(c->p, rp, stat_only);
		c->added += rc > 0;
	}
	lks_buf_free(&res);
	return rc < 0 ? rc : 0;
}

static int collect_glob(struct collect *c, const struct ifs_pat *pat)
{
	struct lks_buf dir;
	lks_buf_init(&dir, PATH_CAP);
	const struct ifs_node *node;
	int rc = resolve(c->s, pat->dir, &dir, &node);
	const char *rd = dir.data ? dir.data : "";
	if (rc == 0 && strcmp(rd, pat->dir)) {
		rc = pats_add(c->p, rd, strlen(rd), pat->base, pat->stat_only);
		c->added += rc > 0;
		rc = rc < 0 ? rc : 0;
	}
	size_t dl = strlen(rd);
	for (size_t i = 0; rc == 0 && !node && i < c->s->n_nodes; i++) {
		const struct ifs_node *n = &c->s->nodes[i];
		if (n->type == IFS_DEAD || ifs_dirlen(n->path) != dl || strncmp(n->path, rd, dl)) {
			continue;
		}
		const char *name = dl ? n->path + dl + 1 : n->path;
		if (fnmatch(pat->base, name, FNM_PERIOD) == 0) {
			char *p = NULL;
			if (asprintf(&p, "%s%s%s", pat->dir, *pat->dir ? "/" : "", name) < 0) {
				rc = -ENOMEM;
				break;
			}
			rc = collect_one(c, p, pat->stat_only);
			free(p);
		}
	}
	lks_buf_free(&dir);
	return rc < 0 ? rc : 0;
}

/* Sorted by path, first of duplicates kept; moved into out. */
static void results_take(struct results *r, struct lks_imagefs *out)
{
	lks_qsort(r->v, r->n, sizeof(*r->v), cmp_file);
	size_t w = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (w && !strcmp(r->v[w - 1].path, r->v[i].path)) {
			free(r->v[i].path);
			free(r->v[i].resolved);
			free(r->v[i].data);
			continue;
		}
		r->v[w++] = r->v[i];
	}
	out->v = r->v;
	out->n = w;
	memset(r, 0, sizeof(*r));
}

static void results_free(struct results *r)
{
	struct lks_imagefs tmp;
	lks_imagefs_init(&tmp);
	results_take(r, &tmp);
	lks_imagefs_free(&tmp);
}

static int collect_all(struct collect *c, size_t n_req)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n_req; i++) {
		const struct ifs_pat *pat = &c->p->v[i];
		if (pat->glob) {
			rc = collect_glob(c, pat);
			continue;
		}
		char *p = NULL;
		if (asprintf(&p, "%s%s%s", pat->dir, *pat->dir ? "/" : "", pat->base) < 0) {
			return -ENOMEM;
		}
		rc = collect_one(c, p, pat->stat_only);
		free(p);
	}
	for (size_t i = 0; rc == 0 && i < c->s->n_need; i++) {
		rc = pats_add_path(c->p, c->s->need[i], false);
		c->added += rc > 0;
		rc = rc < 0 ? rc : 0;
	}
	return rc;
}

/* One pass over every layer; *added: paths found to be needed that the pass did not keep. */
static int one_round(struct lks_ctx *ctx, const struct lks_imagefs_source *src, struct pats *p,
                     size_t n_req, const struct lks_imagefs_opts *opts, struct results *r,
                     int *added)
{
	struct lks_imagefs_scan s;
	int rc = ifs_scan_init(&s, ctx, p->v, p->n, opts);
	for (size_t i = 0; rc == 0 && i < src->n_layers; i++) {
		ifs_scan_begin_layer(&s, (uint32_t)i);
		rc = src->layer(ctx, src->opaque, i, &s);
	}
	struct collect c = {&s, p, r, 0};
	if (rc == 0) {
		rc = collect_all(&c, n_req);
	}
	*added = c.added;
	ifs_scan_free(&s);
	return rc;
}

int lks_imagefs_read_source(struct lks_ctx *ctx, const struct lks_imagefs_source *src,
                            const struct lks_imagefs_req *reqs, size_t n,
                            const struct lks_imagefs_opts *opts, struct lks_imagefs *out)
{
	lks_imagefs_init(out);
	struct pats *p = calloc(1, sizeof(*p));
	if (!p) {
		return -ENOMEM;
	}
	struct results r = {0};
	int rc = pats_from_reqs(ctx, p, reqs, n), added = 0;
	size_t n_req = p->n;
	for (int round = 0; rc == 0 && round < LKS_IMAGEFS_MAX_ROUNDS; round++) {
		results_free(&r);
		rc = one_round(ctx, src, p, n_req, opts, &r, &added);
		if (!added) {
			break;
		}
	}
	if (rc == -LKS_E_TOOBIG && p->n == MAX_PATS) {
		rc = lks_err(ctx, rc, "too many paths to follow in the image");
	}
	if (rc == 0) {
		results_take(&r, out);
	}
	results_free(&r);
	pats_free(p);
	free(p);
	return rc;
}

/* Cache format: magic, then strings as (u32 length + 1, 0 for NULL; bytes) and numbers in
 * native byte order: 5 platform strings, u64 count, per file path, resolved, u32 mode,
 * u8 has-data, u64 length, bytes. */
#define SAVE_MAGIC "LKSIFS1\n"

static int put_str(struct lks_buf *b, const char *s, size_t len)
{
	uint32_t n = s ? (uint32_t)len + 1 : 0;
	int rc = lks_buf_append(b, &n, sizeof(n));
	return rc == 0 && s ? lks_buf_append(b, s, len) : rc;
}

int lks_imagefs_save(const struct lks_imagefs *fs, struct lks_buf *out)
{
	const char *meta[] = {fs->image_digest, fs->manifest_digest, fs->os, fs->arch, fs->variant};
	int rc = lks_buf_puts(out, SAVE_MAGIC);
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(meta); i++) {
		rc = put_str(out, meta[i], meta[i] ? strlen(meta[i]) : 0);
	}
	uint64_t n = fs->n;
	rc = rc ? rc : lks_buf_append(out, &n, sizeof(n));
	for (size_t i = 0; rc == 0 && i < fs->n; i++) {
		const struct lks_imagefs_file *f = &fs->v[i];
		uint8_t has = f->data != NULL;
		uint64_t len = f->len;
		rc = put_str(out, f->path, strlen(f->path));
		rc = rc ? rc : put_str(out, f->resolved, strlen(f->resolved));
		rc = rc ? rc : lks_buf_append(out, &f->mode, sizeof(f->mode));
		rc = rc ? rc : lks_buf_append(out, &has, 1);
		rc = rc ? rc : lks_buf_append(out, &len, sizeof(len));
		rc = rc || !has ? rc : lks_buf_append(out, f->data, f->len);
	}
	return rc;
}

struct rd {
	const char *p;
	size_t n, off;
	bool bad;
};

static void get_raw(struct rd *r, void *dst, size_t n)
{
	if (r->bad || r->n - r->off < n) {
		r->bad = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p + r->off, n);
	r->off += n;
}

/* A copy of n bytes (NUL-terminated), NULL for a NULL string or on failure (r->bad). */
static char *get_bytes(struct rd *r, uint64_t n)
{
	if (r->bad || r->n - r->off < n) {
		r->bad = true;
		return NULL;
	}
	char *s = malloc(n + 1);
	if (!s) {
		r->bad = true;
		return NULL;
	}
	memcpy(s, r->p + r->off, n);
	s[n] = '\0';
	r->off += n;
	return s;
}

static char *get_str(struct rd *r, bool nullable)
{
	uint32_t n;
	get_raw(r, &n, sizeof(n));
	if (n == 0) {
		r->bad = r->bad || !nullable;
		return NULL;
	}
	return get_bytes(r, n - 1);
}

static int restore_file(struct rd *r, struct lks_imagefs_file *f)
{
	uint8_t has;
	uint64_t len;
	f->path = get_str(r, false);
	f->resolved = get_str(r, false);
	get_raw(r, &f->mode, sizeof(f->mode));
	get_raw(r, &has, 1);
	get_raw(r, &len, sizeof(len));
	f->len = (size_t)len;
	f->data = has ? get_bytes(r, len) : NULL;
	return r->bad ? -LKS_E_PARSE : 0;
}

int lks_imagefs_restore(struct lks_ctx *ctx, const void *p, size_t n, struct lks_imagefs *fs)
{
	lks_imagefs_init(fs);
	size_t ml = strlen(SAVE_MAGIC);
	if (n < ml || memcmp(p, SAVE_MAGIC, ml)) {
		return lks_err(ctx, -LKS_E_VERSION, "unknown image file cache format");
	}
	struct rd r = {p, n, ml, false};
	char **meta[] = {&fs->image_digest, &fs->manifest_digest, &fs->os, &fs->arch, &fs->variant};
	for (size_t i = 0; i < ARRAY_SIZE(meta); i++) {
		*meta[i] = get_str(&r, true);
	}
	uint64_t cnt;
	get_raw(&r, &cnt, sizeof(cnt));
	if (!r.bad && cnt <= (n - r.off) / 16) {
		fs->v = calloc(cnt ? cnt : 1, sizeof(*fs->v));
	}
	int rc = fs->v ? 0 : -LKS_E_PARSE;
	for (uint64_t i = 0; rc == 0 && i < cnt; i++) {
		fs->n++;
		rc = restore_file(&r, &fs->v[i]);
	}
	if (rc == 0 && r.off != n) {
		rc = -LKS_E_PARSE;
	}
	if (rc < 0) {
		lks_imagefs_free(fs);
		return lks_err(ctx, rc, "damaged image file cache entry");
	}
	return 0;
}
