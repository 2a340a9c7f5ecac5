/* Streaming one layer after the other into the merged view of the files asked for.
 *
 * Only kept files and symlinks are stored; directories and other files are not, but they
 * still replace what lower layers had at their path. Whiteouts apply to lower layers only
 * (OCI image spec, "Whiteouts"), so deletions below a path are collected per layer and applied
 * to the nodes of lower layers when the layer ends; entries of the same layer are untouched
 * whatever their order in the tar.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/imagefs_int.h"
#include "lockstep/array.h"
#include "lockstep/sort.h"
#include "lockstep/archive.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."

int lks_imagefs_norm_path(char *p, bool clamp)
{
	char *w = p;
	const char *r = p;
	while (*r) {
		size_t n = strcspn(r, "/");
		if (n == 2 && r[0] == '.' && r[1] == '.') {
			if (!clamp) {
				return -LKS_E_UNSAFE;
			}
			while (w > p && *--w != '/') {
			}
		} else if (n && !(n == 1 && r[0] == '.')) {
			if (w != p) {
				*w++ = '/';
			}
			memmove(w, r, n);
			w += n;
		}
		r += n;
		while (*r == '/') {
			r++;
		}
	}
	*w = '\0';
	return 0;
}

size_t ifs_dirlen(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? (size_t)(s - p) : 0;
}

static uint32_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	}
	h ^= h >> 33;
	return (uint32_t)h;
}

int ifs_scan_init(struct lks_imagefs_scan *s, struct lks_ctx *ctx, const struct ifs_pat *pats,
                  size_t n_pats, const struct lks_imagefs_opts *opts)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->pats = pats;
	s->n_pats = n_pats;
	s->file_max = opts && opts->file_max ? opts->file_max : LKS_IMAGEFS_FILE_MAX;
	s->total_max = opts && opts->total_max ? opts->total_max : LKS_IMAGEFS_TOTAL_MAX;
	s->n_buckets = 1024;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	return s->buckets ? 0 : -ENOMEM;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
}

static void node_clear(struct ifs_node *n)
{
	free(n->path);
	free(n->link);
	free(n->data);
	n->path = n->link = n->data = NULL;
	n->type = IFS_DEAD;
}

void ifs_scan_free(struct lks_imagefs_scan *s)
{
	for (size_t i = 0; i < s->n_nodes; i++) {
		node_clear(&s->nodes[i]);
	}
	free(s->nodes);
	free(s->buckets);
	strv_free(s->kill, s->n_kill);
	strv_free(s->need, s->n_need);
	memset(s, 0, sizeof(*s));
}

struct ifs_node *ifs_lookup(const struct lks_imagefs_scan *s, const char *path)
{
	uint32_t i = s->buckets[hash_path(path) & (s->n_buckets - 1)];
	while (i) {
		struct ifs_node *n = &s->nodes[i - 1];
		if (!strcmp(n->path, path)) {
			return n;
		}
		i = n->next;
	}
	return NULL;
}

static void node_unlink(struct lks_imagefs_scan *s, struct ifs_node *n)
{
	uint32_t *pp = &s->buckets[hash_path(n->path) & (s->n_buckets - 1)];
	uint32_t self = (uint32_t)(n - s->nodes) + 1;
	while (*pp && *pp != self) {
		pp = &s->nodes[*pp - 1].next;
	}
	if (*pp) {
		*pp = n->next;
	}
	node_clear(n);
	s->n_live--;
}

static void rehash(struct lks_imagefs_scan *s)
{
	uint32_t *nb = calloc(s->n_buckets * 2, sizeof(*nb));
	if (!nb) {
		return; /* longer chains, still correct */
	}
	free(s->buckets);
	s->buckets = nb;
	s->n_buckets *= 2;
	for (size_t i = 0; i < s->n_nodes; i++) {
		struct ifs_node *n = &s->nodes[i];
		if (n->type != IFS_DEAD) {
			uint32_t *b = &s->buckets[hash_path(n->path) & (s->n_buckets - 1)];
			n->next = *b;
			*b = (uint32_t)i + 1;
		}
	}
}

/* Dead slots are reused only by compaction-free appends: nodes are few (links and kept
 * files), so the array simply grows, capped. */
static int node_add(struct lks_imagefs_scan *s, struct ifs_node *tmpl)
{
	struct ifs_node *old = ifs_lookup(s, tmpl->path);
	if (old) {
		node_unlink(s, old);
	}
	if (s->n_nodes >= LKS_IMAGEFS_MAX_NODES) {
		return lks_err(s->ctx, -LKS_E_TOOBIG, "image has more than %d symlinks",
		               LKS_IMAGEFS_MAX_NODES);
	}
	if (LKS_GROW(s->nodes, s->cap_nodes, s->n_nodes + 1, 256) < 0) {
		return -ENOMEM;
	}
	if (s->n_live * 2 > s->n_buckets) {
		rehash(s);
	}
	struct ifs_node *n = &s->nodes[s->n_nodes++];
	*n = *tmpl;
	n->layer = s->layer;
	uint32_t *b = &s->buckets[hash_path(n->path) & (s->n_buckets - 1)];
	n->next = *b;
	*b = (uint32_t)s->n_nodes;
	s->n_live++;
	return 0;
}

static int strv_add(char ***v, size_t *n, size_t *cap, const char *str)
{
	if (LKS_GROW(*v, *cap, *n + 1, 16) < 0) {
		return -ENOMEM;
	}
	char *d = strdup(str);
	if (!d) {
		return -ENOMEM;
	}
	(*v)[(*n)++] = d;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool killed(const struct lks_imagefs_scan *s, char *path)
{
	for (char *sl = strchr(path, '/'); sl; sl = strchr(sl + 1, '/')) {
		*sl = '\0';
		const char *key = path;
		bool hit = bsearch(&key, s->kill, s->n_kill, sizeof(*s->kill), cmp_str) != NULL;
		*sl = '/';
		if (hit) {
			return true;
		}
	}
	return false;
}

/* Apply the layer's deletions below paths ("" is the root: everything) to lower nodes. */
static void end_layer(struct lks_imagefs_scan *s)
{
	if (!s->n_kill) {
		return;
	}
	lks_qsort(s->kill, s->n_kill, sizeof(*s->kill), cmp_str);
	const char *root = "";
	bool all = bsearch(&root, s->kill, s->n_kill, sizeof(*s->kill), cmp_str) != NULL;
	for (size_t i = 0; i < s->n_nodes; i++) {
		struct ifs_node *n = &s->nodes[i];
		if (n->type != IFS_DEAD && n->layer < s->layer && (all || killed(s, n->path))) {
			node_unlink(s, n);
		}
	}
	strv_free(s->kill, s->n_kill);
	s->kill = NULL;
	s->n_kill = s->cap_kill = 0;
}

void ifs_scan_begin_layer(struct lks_imagefs_scan *s, uint32_t i)
{
	s->layer = i;
}

/* The strongest request matching path: 2 content, 1 stat only, 0 none. */
static int wanted(const struct lks_imagefs_scan *s, const char *path)
{
	size_t dl = ifs_dirlen(path);
	const char *base = dl ? path + dl + 1 : path;
	int best = 0;
	for (size_t i = 0; i < s->n_pats && best < 2; i++) {
		const struct ifs_pat *p = &s->pats[i];
		if (strlen(p->dir) != dl || strncmp(p->dir, path, dl)) {
			continue;
		}
		bool hit =
		    p->glob ? fnmatch(p->base, base, FNM_PERIOD) == 0 : !strcmp(p->base, base);
		if (hit) {
			best = p->stat_only ? (best > 1 ? best : 1) : 2;
		}
	}
	return best;
}

static void drop_any(struct lks_imagefs_scan *s, const char *path)
{
	struct ifs_node *n = ifs_lookup(s, path);
	if (n) {
		node_unlink(s, n);
	}
}

static int read_content(struct lks_imagefs_scan *s, struct lks_archive *a, const char *what,
                        const struct lks_archive_entry *e, struct ifs_node *n)
{
	if (e->size < 0 || (uint64_t)e->size > s->file_max) {
		return lks_err(s->ctx, -LKS_E_TOOBIG, "'/%s' in layer %s is larger than %zu bytes",
		               n->path, what, s->file_max);
	}
	if ((size_t)e->size > s->total_max - s->total) {
		return lks_err(s->ctx, -LKS_E_TOOBIG,
		               "files read from the image exceed %zu bytes (at '/%s' in layer %s)",
		               s->total_max, n->path, what);
	}
	n->data = malloc((size_t)e->size + 1);
	if (!n->data) {
		return -ENOMEM;
	}
	long got;
	while ((got = lks_archive_read(a, n->data + n->len, (size_t)e->size - n->len + 1)) > 0) {
		n->len += (size_t)got;
		if (n->len > (size_t)e->size) {
			return lks_err(s->ctx, -LKS_E_ARCHIVE,
			               "'/%s' in layer %s is longer than its header says", n->path,
			               what);
		}
	}
	if (got < 0) {
		return (int)got;
	}
	n->data[n->len] = '\0';
	s->total += n->len;
	return 0;
}

/* A hardlink shares its target's content: the target must have been kept, else it is kept in
 * the next round (it is in this layer or a lower one, before the link). */
static int take_link_target(struct lks_imagefs_scan *s, const char *target, struct ifs_node *n)
{
	const struct ifs_node *t = ifs_lookup(s, target);
	if (t && t->type == IFS_LINK) {
		n->type = IFS_LINK;
		n->link = strdup(t->link);
		return n->link ? 0 : -ENOMEM;
	}
	if (!t || (t->type == IFS_STAT && n->type == IFS_FILE)) {
		n->type = IFS_DEAD;
		return strv_add(&s->need, &s->n_need, &s->cap_need, target);
	}
	if (t->type == IFS_FILE && n->type == IFS_FILE) {
		if (t->len > s->total_max - s->total) {
			return lks_err(s->ctx, -LKS_E_TOOBIG,
			               "files read from the image exceed %zu bytes", s->total_max);
		}
		n->data = malloc(t->len + 1);
		if (!n->data) {
			return -ENOMEM;
		}
		memcpy(n->data, t->data, t->len + 1);
		s->total += t->len;
	}
	n->len = t->len;
	return 0;
}

/* A kept file, stat-only file, symlink or hardlink at a wanted path. */
static int keep(struct lks_imagefs_scan *s, struct lks_archive *a, const char *what,
                const struct lks_archive_entry *e, char *path, int want)
{
	struct ifs_node n = {.path = path, .mode = (uint32_t)e->mode & 07777};
	int rc = 0;
	if (e->type == 'l') {
		n.type = IFS_LINK;
		n.link = strdup(e->link ? e->link : "");
		rc = n.link ? 0 : -ENOMEM;
	} else {
		n.type = want == 2 ? IFS_FILE : IFS_STAT;
		n.len = n.type == IFS_STAT && e->size > 0 ? (size_t)e->size : 0;
	}
	if (rc == 0 && e->type == 'f' && n.type == IFS_FILE) {
		rc = read_content(s, a, what, e, &n);
	} else if (rc == 0 && e->type == 'h') {
		char *t = strdup(e->link ? e->link : "");
		rc = !t ? -ENOMEM : lks_imagefs_norm_path(t, false);
		rc = rc ? rc : take_link_target(s, t, &n);
		if (rc == -LKS_E_UNSAFE) {
			rc =
			    lks_err(s->ctx, rc, "hardlink '%s' in layer %s points outside the root",
			            e->path, what);
		}
		free(t);
	}
	if (rc == 0 && n.type == IFS_DEAD) {
		free(path);
		return 0;
	}
	rc = rc ? rc : node_add(s, &n);
	if (rc < 0) {
		free(n.link);
		free(n.data);
		free(path);
	}
	return rc;
}

/* ".wh.NAME" hides NAME of lower layers, ".wh..wh..opq" everything below its directory. */
static int whiteout(struct lks_imagefs_scan *s, const char *path, size_t dl, const char *base)
{
	if (!strcmp(base, WH_OPAQUE)) {
		char *dir = strndup(path, dl);
		int rc = dir ? strv_add(&s->kill, &s->n_kill, &s->cap_kill, dir) : -ENOMEM;
		free(dir);
		return rc;
	}
	if (!strncmp(base, WH_META, strlen(WH_META))) {
		return 0; /* aufs bookkeeping (.wh..wh.plnk ...) */
	}
	char *hidden = NULL;
	if (asprintf(&hidden, "%.*s%s%s", (int)dl, path, dl ? "/" : "", base + strlen(WH_PREFIX)) <
	    0) {
		return -ENOMEM;
	}
	struct ifs_node *n = ifs_lookup(s, hidden);
	if (n && n->layer < s->layer) {
		node_unlink(s, n);
	}
	int rc = strv_add(&s->kill, &s->n_kill, &s->cap_kill, hidden);
	free(hidden);
	return rc;
}

static int entry(struct lks_imagefs_scan *s, struct lks_archive *a, const char *what,
                 const struct lks_archive_entry *e)
{
	char *path = strdup(e->path);
	if (!path) {
		return -ENOMEM;
	}
	if (lks_imagefs_norm_path(path, false) < 0) {
		free(path);
		return lks_err(s->ctx, -LKS_E_UNSAFE,
		               "layer %s has an entry outside the root: '%s'", what, e->path);
	}
	size_t dl = ifs_dirlen(path);
	const char *base = dl ? path + dl + 1 : path;
	int rc = 0;
	if (!*path) {
		/* the root itself */
	} else if (!strncmp(base, WH_PREFIX, strlen(WH_PREFIX))) {
		rc = whiteout(s, path, dl, base);
	} else if (e->type == 'd') {
		drop_any(s, path); /* a directory replaces a lower symlink or file */
	} else {
		int want = e->type == 'l' ? 2 : wanted(s, path);
		drop_any(s, path);
		if (s->layer > 0 && s->n_live) {
			/* a lower directory here, if any, goes with everything below it */
			rc = strv_add(&s->kill, &s->n_kill, &s->cap_kill, path);
		}
		if (rc == 0 && want && (e->type == 'f' || e->type == 'l' || e->type == 'h')) {
			return keep(s, a, what, e, path, want); /* takes path */
		}
	}
	free(path);
	return rc;
}

static int scan_archive(struct lks_imagefs_scan *s, const char *what, struct lks_archive *a, int rc)
{
	struct lks_archive_entry *e;
	while (rc == 0 && (rc = lks_archive_next(a, &e)) > 0) {
		rc = entry(s, a, what, e);
	}
	lks_archive_close(a);
	if (rc == 0) {
		end_layer(s);
	}
	return rc;
}

int lks_imagefs_scan_layer(struct lks_imagefs_scan *s, const char *what, lks_archive_read_fn fn,
                           void *opaque)
{
	struct lks_archive *a = NULL;
	int rc = lks_archive_open_cb(s->ctx, &a, fn, opaque, LKS_ARCHIVE_TAR, NULL);
	return scan_archive(s, what, a, rc);
}

int lks_imagefs_scan_layer_mem(struct lks_imagefs_scan *s, const char *what, const void *p,
                               size_t n)
{
	struct lks_archive *a = NULL;
	int rc = lks_archive_open_mem(s->ctx, &a, p, n, LKS_ARCHIVE_TAR, NULL);
	return scan_archive(s, what, a, rc);
}
