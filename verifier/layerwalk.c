/* Streaming a layer into a path -> metadata+hash index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/array.h"
#include "lockstep/sort.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/image.h"
#include "lockstep/imagefs.h"
#include "verifier/layerwalk.h"
#include "verifier/layerspill.h"

#define HLINK_MAX_CHAIN 64

void lks_layer_index_init(struct lks_layer_index *ix)
{
	memset(ix, 0, sizeof(*ix));
}

/* Strings of an index live in an arena of large chunks: one allocation per megabyte instead
 * of several per entry, and user/group names are shared. */
static char *ix_strdup(struct lks_layer_index *ix, const char *s)
{
	return lks_arena_strdup(&ix->arena, s);
}

/* Names repeat on almost every entry: reuse the last few. */
static char *ix_name(struct lks_layer_index *ix, const char *s)
{
	for (size_t i = 0; i < sizeof(ix->names) / sizeof(ix->names[0]); i++) {
		if (ix->names[i] && !strcmp(ix->names[i], s)) {
			return ix->names[i];
		}
	}
	char *p = ix_strdup(ix, s);
	if (p) {
		ix->names[ix->names_next++ % (sizeof(ix->names) / sizeof(ix->names[0]))] = p;
	}
	return p;
}

/* Forget the entries in memory (they are in a run now); keep the tables' capacity. */
static void mem_reset(struct lks_layer_index *ix)
{
	lks_arena_free(&ix->arena);
	memset(ix->names, 0, sizeof(ix->names));
	ix->n = 0;
	if (ix->tab) {
		memset(ix->tab, 0, ix->tab_cap * sizeof(*ix->tab));
	}
}

void lks_layer_index_free(struct lks_layer_index *ix)
{
	mem_reset(ix);
	layerspill_free(ix);
	free(ix->v);
	free(ix->tab);
	lks_layer_index_init(ix);
}

int lks_layer_norm_path(char *p)
{
	return lks_imagefs_norm_path(p, false);
}

uint64_t layerwalk_path_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	}
	/* FNV's low bits mix poorly (only low input bits reach them); the table masks them. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* Slots hold (hash << 32 | index + 1): most probes are settled without touching the entry. */
#define SLOT_IDX(x) ((uint32_t)(x))
#define SLOT_HASH(x) ((uint32_t)((x) >> 32))

static size_t slot_of(const struct lks_layer_index *ix, const char *path, uint32_t h)
{
	size_t mask = ix->tab_cap - 1;
	size_t i = h & mask;
	while (ix->tab[i] &&
	       (SLOT_HASH(ix->tab[i]) != h || strcmp(ix->v[SLOT_IDX(ix->tab[i]) - 1].path, path))) {
		i = (i + 1) & mask;
	}
	return i;
}

static const struct lks_fentry *find_mem(const struct lks_layer_index *ix, const char *path)
{
	if (!ix->tab_cap) {
		return NULL;
	}
	uint32_t k = SLOT_IDX(ix->tab[slot_of(ix, path, (uint32_t)layerwalk_path_hash(path))]);
	return k ? &ix->v[k - 1] : NULL;
}

const struct lks_fentry *lks_layer_find(const struct lks_layer_index *ix, const char *path)
{
	const struct lks_fentry *e = find_mem(ix, path);
	/* The spilled runs' lookup only fills a scratch entry of the index. */
	return e || !ix->spill ? e : layerspill_find((struct lks_layer_index *)ix, path);
}

static int tab_grow(struct lks_layer_index *ix)
{
	size_t ncap = ix->tab_cap ? ix->tab_cap * 2 : 1024;
	uint64_t *old = ix->tab;
	size_t ocap = ix->tab_cap;
	ix->tab = calloc(ncap, sizeof(*ix->tab));
	if (!ix->tab) {
		ix->tab = old;
		return -ENOMEM;
	}
	ix->tab_cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i]) {
			size_t k = SLOT_HASH(old[i]) & (ncap - 1);
			while (ix->tab[k]) {
				k = (k + 1) & (ncap - 1);
			}
			ix->tab[k] = old[i];
		}
	}
	free(old);
	return 0;
}

/* Slot for a new entry at path; a path seen before in this layer is replaced (tar order). */
static int index_put(struct lks_layer_index *ix, struct lks_fentry *e)
{
	if ((ix->n + 1) * 2 > ix->tab_cap && tab_grow(ix) < 0) {
		return -ENOMEM;
	}
	uint32_t h = (uint32_t)layerwalk_path_hash(e->path);
	size_t s = slot_of(ix, e->path, h);
	if (ix->tab[s]) {
		struct lks_fentry *old = &ix->v[SLOT_IDX(ix->tab[s]) - 1];
		*old = *e; /* the old strings stay in the arena until the index is freed */
		return 0;
	}
	if (LKS_GROW(ix->v, ix->cap, ix->n + 1, 256) < 0) {
		return -ENOMEM;
	}
	ix->v[ix->n] = *e;
	ix->tab[s] = (uint64_t)h << 32 | (uint32_t)++ix->n;
	return 0;
}

static int xattr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lks_xattr *)a)->name, ((const struct lks_xattr *)b)->name);
}

/* xattrs are kept as sorted "name=hash" lines, every one compared, none dropped; past
 * LKS_LAYER_XATTR_INLINE bytes of lines only their count and digest are kept, so memory per
 * entry stays small however many there are (the comparison is the same: equal lines, equal
 * digest). */
static int xattrs_str(struct lks_layer_index *ix, const struct lks_archive_entry *ae, char **out)
{
	*out = NULL;
	if (!ae->n_xattrs) {
		return 0;
	}
	_cleanup_free_ struct lks_xattr *v = calloc(ae->n_xattrs, sizeof(*v));
	struct lks_sha256 all;
	if (!v || lks_sha256_init(&all) < 0) {
		return v ? -LKS_E_CRYPTO : -ENOMEM;
	}
	memcpy(v, ae->xattrs, ae->n_xattrs * sizeof(*v));
	lks_qsort(v, ae->n_xattrs, sizeof(*v), xattr_cmp);
	char lines[LKS_LAYER_XATTR_INLINE + 1];
	size_t len = 0, total = 0;
	int rc = 0;
	for (size_t i = 0; i < ae->n_xattrs && rc == 0; i++) {
		char d[LKS_DIGEST_LEN + 1], line[LKS_DIGEST_LEN + 8];
		rc = lks_sha256_buf(v[i].value, v[i].size, d);
		int n = snprintf(line, sizeof(line), "=%s\n", d + 7);
		size_t nn = strlen(v[i].name);
		rc = rc ? rc : lks_sha256_update(&all, v[i].name, nn);
		rc = rc ? rc : lks_sha256_update(&all, line, (size_t)n);
		total += nn + (size_t)n;
		if (rc == 0 && total <= LKS_LAYER_XATTR_INLINE) {
			len += (size_t)snprintf(lines + len, sizeof(lines) - len, "%s%s", v[i].name,
			                        line);
		}
	}
	char d[LKS_DIGEST_LEN + 1];
	if (rc < 0 || lks_sha256_final(&all, d) < 0) {
		lks_sha256_free(&all);
		return rc < 0 && rc != -LKS_E_CRYPTO ? rc : -LKS_E_CRYPTO;
	}
	if (total > LKS_LAYER_XATTR_INLINE) {
		snprintf(lines, sizeof(lines), "%zu xattrs %s\n", ae->n_xattrs, d);
	}
	*out = ix_strdup(ix, lines);
	return *out ? 0 : -ENOMEM;
}

static char type_of(const struct lks_archive_entry *ae, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strcmp(base, ".wh..wh..opq")) {
		return 'O';
	}
	if (!strncmp(base, ".wh.", 4)) {
		return 'W';
	}
	return ae->type;
}

/* A path that goes through a symlink of the same layer would escape on extraction. */
static int check_parents(struct lks_ctx *ctx, const struct lks_layer_index *ix, char *path)
{
	for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		/* Spilled runs are searched only when a symlink of that name may be there. */
		const struct lks_fentry *p = find_mem(ix, path);
		if (!p && layerspill_maybe_symlink(ix, path)) {
			p = lks_layer_find(ix, path);
		}
		bool bad = p && p->type == 'l';
		*s = '/';
		if (bad) {
			return lks_err(ctx, -LKS_E_UNSAFE,
			               "layer entry '%s' goes through a symlink of the same layer",
			               path);
		}
	}
	return 0;
}

static int hash_data(struct lks_ctx *ctx, struct lks_archive *a, struct lks_fentry *e,
                     struct lks_layer_index *ix)
{
	int64_t total;
	int rc = lks_archive_sha256(a, e->hash, &total);
	if (rc < 0) {
		return rc == -LKS_E_CRYPTO ? lks_err(ctx, rc, "cannot hash '%s'", e->path) : rc;
	}
	ix->data_bytes += (uint64_t)total;
	e->size = total;
	return 0;
}

static int link_target(struct lks_ctx *ctx, struct lks_layer_index *ix, struct lks_fentry *e)
{
	if (lks_layer_norm_path(e->link) < 0) {
		return lks_err(ctx, -LKS_E_UNSAFE, "hardlink '%s' points outside the root",
		               e->path);
	}
	e->hardlink = true;
	const struct lks_fentry *t = lks_layer_find(ix, e->link);
	if (!t) {
		/* Nothing to take the content from; keep it visible as its own kind. */
		e->type = '?';
		return 0;
	}
	e->type = t->type;
	e->size = t->size;
	memcpy(e->hash, t->hash, sizeof(e->hash));
	return 0;
}

static int fill_meta(struct lks_layer_index *ix, struct lks_fentry *e,
                     const struct lks_archive_entry *ae)
{
	e->mode = ae->mode & 07777;
	e->uid = ae->uid;
	e->gid = ae->gid;
	e->size = ae->size;
	e->mtime = ae->mtime;
	e->atime = ae->atime;
	e->ctime = ae->ctime;
	e->atime_set = ae->atime_set;
	e->ctime_set = ae->ctime_set;
	e->rdev = (ae->type == 'c' || ae->type == 'b') ? ae->rdev : 0;
	if ((ae->uname && !(e->uname = ix_name(ix, ae->uname))) ||
	    (ae->gname && !(e->gname = ix_name(ix, ae->gname))) ||
	    (ae->link && !(e->link = ix_strdup(ix, ae->link)))) {
		return -ENOMEM;
	}
	return xattrs_str(ix, ae, &e->xattrs);
}

static int add_entry(struct lks_ctx *ctx, struct lks_archive *a, const struct lks_archive_entry *ae,
                     struct lks_layer_index *ix)
{
	struct lks_fentry e = {0};
	int rc;
	if (!(e.path = ix_strdup(ix, ae->path))) {
		return -ENOMEM;
	}
	if (lks_layer_norm_path(e.path) < 0) {
		return lks_err(ctx, -LKS_E_UNSAFE, "layer entry '%s' escapes the root", ae->path);
	}
	if (!e.path[0]) {
		return 0; /* the root directory itself */
	}
	e.type = type_of(ae, e.path);
	e.seq = ix->n_seen++;
	if ((rc = fill_meta(ix, &e, ae)) < 0 || (rc = check_parents(ctx, ix, e.path)) < 0) {
		return rc;
	}
	if (e.type == 'h') {
		rc = link_target(ctx, ix, &e);
	} else if (e.type == 'f') {
		rc = hash_data(ctx, a, &e, ix);
	}
	if (rc < 0 || (rc = index_put(ix, &e)) < 0) {
		return rc;
	}
	size_t cap = ix->spill_at ? ix->spill_at : LKS_LAYER_SPILL_ENTRIES;
	if (ix->n >= cap || ix->arena.bytes >= LKS_LAYER_SPILL_BYTES) {
		rc = layerspill_run(ix);
		if (rc < 0) {
			return lks_err(ctx, rc,
			               "cannot spill the index of a layer to a temporary "
			               "file: %s",
			               lks_strerror(rc));
		}
		mem_reset(ix);
	}
	return 0;
}

static struct lks_fentry *group_root(struct lks_layer_index *ix, struct lks_fentry *e)
{
	for (int i = 0; e && e->hardlink && i < HLINK_MAX_CHAIN; i++) {
		e = (struct lks_fentry *)lks_layer_find(ix, e->link);
	}
	return e && !e->hardlink ? e : NULL;
}

/* Hardlink groups are keyed by their smallest path, so which member holds the data (and so
 * the direction of the links in the tar) does not matter. */
static void link_groups(struct lks_layer_index *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		struct lks_fentry *e = &ix->v[i];
		struct lks_fentry *r = e->hardlink ? group_root(ix, e) : NULL;
		if (!r) {
			continue;
		}
		const char *m = r->group ? r->group : r->path;
		r->group = strcmp(e->path, m) < 0 ? e->path : m;
	}
	for (size_t i = 0; i < ix->n; i++) {
		struct lks_fentry *e = &ix->v[i];
		struct lks_fentry *r = e->hardlink ? group_root(ix, e) : NULL;
		if (r) {
			e->group = r->group;
		}
	}
}

int lks_layer_walk_cb(struct lks_ctx *ctx, lks_archive_read_fn fn, void *opaque,
                      const struct lks_archive_limits *lim, struct lks_layer_index *ix)
{
	struct lks_archive *a = NULL;
	int rc = lks_archive_open_cb(ctx, &a, fn, opaque, LKS_ARCHIVE_TAR, lim);
	if (rc < 0) {
		return rc;
	}
	struct lks_archive_entry *ae;
	while ((rc = lks_archive_next(a, &ae)) > 0) {
		if (ix->n_seen >= LKS_LAYER_MAX_ENTRIES) {
			rc = lks_err(ctx, -LKS_E_TOOBIG, "layer has more than %u entries",
			             LKS_LAYER_MAX_ENTRIES);
			break;
		}
		ix->n_xattrs += ae->n_xattrs;
		if (ix->n_xattrs > LKS_LAYER_MAX_XATTRS) {
			rc = lks_err(ctx, -LKS_E_TOOBIG,
			             "layer has more than %u extended attributes",
			             LKS_LAYER_MAX_XATTRS);
			break;
		}
		if ((rc = add_entry(ctx, a, ae, ix)) < 0) {
			break;
		}
	}
	const char *f = lks_archive_filter_name(a);
	snprintf(ix->filter, sizeof(ix->filter), "%s", f && *f ? f : "none");
	lks_archive_close(a);
	if (rc == 0 && !ix->spill) {
		link_groups(ix);
	} else if (rc == 0 && (rc = layerspill_finish(ix)) < 0) {
		rc = lks_err(ctx, rc, "cannot spill the index of a layer: %s", lks_strerror(rc));
	}
	return rc;
}

static long blob_read_cb(void *opaque, void *buf, size_t n)
{
	return lks_blob_read(opaque, buf, n);
}

/* The digest covers every byte, including what the tar reader never asked for. A stream that
 * fails to inflate is most often a blob that is not what its digest says (ISA-L checks the gzip
 * CRC on the way): read the rest and say so when it is. */
static int finish_blob(struct lks_ctx *ctx, struct lks_blob *b, int rc)
{
	if (rc == 0) {
		return lks_blob_finish(b);
	}
	if (rc != -LKS_E_ARCHIVE) {
		return rc;
	}
	char why[sizeof(ctx->err)];
	memcpy(why, ctx->err, sizeof(why));
	if (lks_blob_finish(b) == -LKS_E_DIGEST) {
		return -LKS_E_DIGEST;
	}
	memcpy(ctx->err, why, sizeof(why));
	return rc;
}

int lks_layer_walk(struct lks_ctx *ctx, const struct lks_image_src *src,
                   const struct lks_image_layer *l, const struct lks_archive_limits *lim,
                   struct lks_layer_index *ix)
{
	struct lks_blob *b = NULL;
	int rc = lks_blob_open(ctx, src, l->member, l->digest, &b);
	if (rc < 0) {
		return rc;
	}
	rc = finish_blob(ctx, b, lks_layer_walk_cb(ctx, blob_read_cb, b, lim, ix));
	const unsigned char *head;
	ix->head_len = lks_blob_head(b, &head);
	memcpy(ix->head, head, ix->head_len);
	ix->blob_bytes = lks_blob_bytes(b);
	lks_blob_close(b);
	return rc;
}

int lks_layer_verify(struct lks_ctx *ctx, const struct lks_image_src *src,
                     const struct lks_image_layer *l)
{
	struct lks_blob *b = NULL;
	int rc = lks_blob_open(ctx, src, l->member, l->digest, &b);
	if (rc == 0) {
		rc = lks_blob_finish(b);
	}
	lks_blob_close(b);
	return rc;
}

static int capture_entry(struct lks_archive *a, struct lks_capture *c)
{
	char buf[16384];
	long got;
	c->found = true;
	while ((got = lks_archive_read(a, buf, sizeof(buf))) > 0) {
		size_t room = c->max > c->data->len ? c->max - c->data->len : 0;
		size_t k = (size_t)got < room ? (size_t)got : room;
		c->truncated |= k < (size_t)got;
		if (k && lks_buf_append(c->data, buf, k) < 0) {
			return -ENOMEM;
		}
	}
	return got < 0 ? (int)got : 0;
}

static int capture_walk(struct lks_ctx *ctx, struct lks_blob *b,
                        const struct lks_archive_limits *lim, struct lks_capture *caps, size_t n)
{
	struct lks_archive *a = NULL;
	int rc = lks_archive_open_cb(ctx, &a, blob_read_cb, b, LKS_ARCHIVE_TAR, lim);
	struct lks_archive_entry *ae;
	while (rc == 0 && (rc = lks_archive_next(a, &ae)) > 0) {
		rc = 0;
		if (ae->type != 'f') {
			continue;
		}
		_cleanup_free_ char *p = strdup(ae->path);
		if (!p || lks_layer_norm_path(p) < 0) {
			rc = p ? 0 : -ENOMEM;
			continue;
		}
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (!strcmp(caps[i].path, p)) {
				lks_buf_reset(
				    caps[i].data); /* a later entry of the same path wins */
				caps[i].truncated = false;
				rc = capture_entry(a, &caps[i]);
			}
		}
	}
	lks_archive_close(a);
	return rc < 0 ? rc : 0;
}

int lks_layer_capture(struct lks_ctx *ctx, const struct lks_image_src *src,
                      const struct lks_image_layer *l, const struct lks_archive_limits *lim,
                      struct lks_capture *caps, size_t n)
{
	struct lks_blob *b = NULL;
	int rc = lks_blob_open(ctx, src, l->member, l->digest, &b);
	if (rc < 0) {
		return rc;
	}
	rc = finish_blob(ctx, b, capture_walk(ctx, b, lim, caps, n));
	lks_blob_close(b);
	return rc;
}
