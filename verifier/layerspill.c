/* Layer index runs on disk: bounded memory for layers of any entry count. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/sort.h"
#include "lockstep/cleanup.h"
#include "verifier/layerspill.h"

#define SPARSE_EVERY 64           /* records between two offsets kept in memory */
#define WBUF ((size_t)1 << 20)    /* write buffer */
#define RBUF ((size_t)64 << 10)   /* read buffer per run while merging */
#define HLINK_MAX_CHAIN 64

/* One record: this header, then path, uname, gname, link, xattrs, each NUL-terminated
 * (absent optional strings are flagged and empty). */
struct rec {
	uint32_t size; /* whole record */
	char type;
	uint8_t flags;
	uint16_t mode;
	uint32_t seq;
	int64_t uid, gid, size_bytes, rdev;
	int64_t sec[3];
	int32_t nsec[3];
	uint8_t hash[32];
} __attribute__((packed));

enum { R_HARDLINK = 1, R_ATIME = 2, R_CTIME = 4, R_UNAME = 8, R_GNAME = 16, R_LINK = 32,
       R_XATTRS = 64 };

struct run {
	uint64_t off, len;
	uint64_t *sparse; /* offsets (from off) of every SPARSE_EVERY-th record */
	size_t n_sparse;
};

struct grp {
	const char *path, *root, *key;
};

struct lks_spill {
	int fd;
	uint64_t end;
	struct run *runs;
	size_t n_runs;
	uint64_t *sym; /* symlink path hashes, open addressing, 0 = empty */
	size_t sym_cap, sym_n;
	char **hl; /* hardlinks seen: "path\0link\0" each */
	size_t n_hl;
	struct grp *grp; /* path -> group key, sorted by path */
	size_t n_grp;
	char **grp_str; /* strings owned by grp */
	size_t n_grp_str;
	struct lks_fentry scratch; /* lookup result */
	char *sbuf;
	size_t sbuf_cap;
};

static uint64_t hash64(const char *s)
{
	return layerwalk_path_hash(s) | 1; /* never 0, the empty slot */
}

static int sym_add(struct lks_spill *s, const char *path)
{
	if ((s->sym_n + 1) * 2 > s->sym_cap) {
		size_t ncap = s->sym_cap ? s->sym_cap * 2 : 1024;
		uint64_t *t = calloc(ncap, sizeof(*t));
		if (!t) {
			return -ENOMEM;
		}
		for (size_t i = 0; i < s->sym_cap; i++) {
			size_t k = s->sym[i] & (ncap - 1);
			while (s->sym[i] && t[k]) {
				k = (k + 1) & (ncap - 1);
			}
			t[k] = s->sym[i] ? s->sym[i] : t[k];
		}
		free(s->sym);
		s->sym = t;
		s->sym_cap = ncap;
	}
	uint64_t h = hash64(path);
	size_t k = h & (s->sym_cap - 1);
	while (s->sym[k] && s->sym[k] != h) {
		k = (k + 1) & (s->sym_cap - 1);
	}
	s->sym_n += !s->sym[k];
	s->sym[k] = h;
	return 0;
}

bool layerspill_maybe_symlink(const struct lks_layer_index *ix, const char *path)
{
	const struct lks_spill *s = ix->spill;
	if (!s || !s->sym_cap) {
		return false;
	}
	uint64_t h = hash64(path);
	for (size_t k = h & (s->sym_cap - 1); s->sym[k]; k = (k + 1) & (s->sym_cap - 1)) {
		if (s->sym[k] == h) {
			return true;
		}
	}
	return false;
}

static int spill_open(struct lks_layer_index *ix)
{
	struct lks_spill *s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/lockstep-layer-XXXXXX", dir && *dir ? dir : "/tmp");
	s->fd = mkstemp(tmpl);
	if (s->fd < 0) {
		int e = errno;
		free(s);
		return -e;
	}
	unlink(tmpl); /* nothing is left behind, whatever happens to the process */
	ix->spill = s;
	return 0;
}

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 1;
}

/* Append one entry to the write buffer w (flushed to the file when full). */
static int put_rec(struct lks_spill *s, struct lks_buf *w, const struct lks_fentry *e)
{
	const char *str[5] = {e->path, e->uname, e->gname, e->link, e->xattrs};
	struct rec r = {.type = e->type, .mode = (uint16_t)e->mode, .seq = e->seq, .uid = e->uid,
	                .gid = e->gid, .size_bytes = e->size, .rdev = (int64_t)e->rdev,
	                .sec = {e->mtime.tv_sec, e->atime.tv_sec, e->ctime.tv_sec},
	                .nsec = {(int32_t)e->mtime.tv_nsec, (int32_t)e->atime.tv_nsec,
	                         (int32_t)e->ctime.tv_nsec}};
	r.flags = (e->hardlink ? R_HARDLINK : 0) | (e->atime_set ? R_ATIME : 0) |
	          (e->ctime_set ? R_CTIME : 0) | (e->uname ? R_UNAME : 0) |
	          (e->gname ? R_GNAME : 0) | (e->link ? R_LINK : 0) | (e->xattrs ? R_XATTRS : 0);
	memcpy(r.hash, e->hash, sizeof(r.hash));
	size_t n = sizeof(r);
	for (int i = 0; i < 5; i++) {
		n += slen(str[i]);
	}
	r.size = (uint32_t)n;
	if (w->len + n > WBUF && w->len) {
		if (pwrite(s->fd, w->data, w->len, (off_t)s->end) != (ssize_t)w->len) {
			return errno ? -errno : -EIO;
		}
		s->end += w->len;
		lks_buf_reset(w);
	}
	int rc = lks_buf_append(w, &r, sizeof(r));
	for (int i = 0; i < 5 && rc == 0; i++) {
		rc = lks_buf_append(w, str[i] ? str[i] : "", slen(str[i]));
	}
	return rc;
}

/* Decode a record at p (n bytes available) into e, strings pointing into p. 0 or -EIO. */
static int get_rec(char *p, size_t n, struct lks_fentry *e)
{
	struct rec r;
	if (n < sizeof(r)) {
		return -EIO;
	}
	memcpy(&r, p, sizeof(r));
	if (r.size < sizeof(r) || r.size > n || p[r.size - 1] != '\0') {
		return -EIO;
	}
	*e = (struct lks_fentry){.type = r.type, .hardlink = r.flags & R_HARDLINK,
	                         .atime_set = r.flags & R_ATIME, .ctime_set = r.flags & R_CTIME,
	                         .mode = r.mode, .uid = r.uid, .gid = r.gid,
	                         .size = r.size_bytes, .rdev = (dev_t)r.rdev, .seq = r.seq};
	e->mtime = (struct timespec){r.sec[0], r.nsec[0]};
	e->atime = (struct timespec){r.sec[1], r.nsec[1]};
	e->ctime = (struct timespec){r.sec[2], r.nsec[2]};
	memcpy(e->hash, r.hash, sizeof(e->hash));
	char *str[5];
	char *q = p + sizeof(r), *end = p + r.size;
	for (int i = 0; i < 5; i++) {
		if (q >= end) {
			return -EIO;
		}
		str[i] = q;
		q += strlen(q) + 1;
	}
	e->path = str[0];
	e->uname = r.flags & R_UNAME ? str[1] : NULL;
	e->gname = r.flags & R_GNAME ? str[2] : NULL;
	e->link = r.flags & R_LINK ? str[3] : NULL;
	e->xattrs = r.flags & R_XATTRS ? str[4] : NULL;
	return 0;
}

static int path_cmp(const void *x, const void *y)
{
	const struct lks_fentry *a = *(const struct lks_fentry *const *)x;
	const struct lks_fentry *b = *(const struct lks_fentry *const *)y;
	return strcmp(a->path, b->path);
}

/* The in-memory entries sorted by path (pointers into ix->v). Caller frees. */
static const struct lks_fentry **sorted_mem(const struct lks_layer_index *ix)
{
	const struct lks_fentry **v = malloc((ix->n + 1) * sizeof(*v));
	if (!v) {
		return NULL;
	}
	for (size_t i = 0; i < ix->n; i++) {
		v[i] = &ix->v[i];
	}
	lks_qsort(v, ix->n, sizeof(*v), path_cmp);
	return v;
}

/* Remember what must outlive the memory part: symlinks (for the parent check) and hardlinks
 * (for the groups). */
static int remember(struct lks_spill *s, const struct lks_fentry *e)
{
	int rc = e->type == 'l' ? sym_add(s, e->path) : 0;
	if (rc < 0) {
		return rc;
	}
	if (!e->hardlink || !e->link) {
		return 0;
	}
	if (s->n_hl % 256 == 0) {
		char **p = realloc(s->hl, (s->n_hl + 256) * sizeof(*p));
		if (!p) {
			return -ENOMEM;
		}
		s->hl = p;
	}
	size_t a = strlen(e->path) + 1, b = strlen(e->link) + 1;
	char *x = malloc(a + b);
	if (!x) {
		return -ENOMEM;
	}
	memcpy(x, e->path, a);
	memcpy(x + a, e->link, b);
	s->hl[s->n_hl++] = x;
	return 0;
}

static int write_run(struct lks_spill *s, const struct lks_fentry **v, size_t n, struct run *r)
{
	struct lks_buf w;
	lks_buf_init(&w, WBUF * 2 + ((size_t)1 << 20));
	r->off = s->end;
	r->n_sparse = 0;
	r->sparse = malloc((n / SPARSE_EVERY + 1) * sizeof(*r->sparse));
	int rc = r->sparse ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i % SPARSE_EVERY == 0) {
			r->sparse[r->n_sparse++] = s->end + w.len - r->off;
		}
		rc = put_rec(s, &w, v[i]);
		rc = rc ? rc : remember(s, v[i]);
	}
	if (rc == 0 && w.len && pwrite(s->fd, w.data, w.len, (off_t)s->end) != (ssize_t)w.len) {
		rc = errno ? -errno : -EIO;
	}
	s->end += rc == 0 ? w.len : 0;
	r->len = s->end - r->off;
	lks_buf_free(&w);
	return rc;
}

int layerspill_run(struct lks_layer_index *ix)
{
	int rc = ix->spill ? 0 : spill_open(ix);
	if (rc < 0 || ix->n == 0) {
		return rc;
	}
	struct lks_spill *s = ix->spill;
	struct run *runs = realloc(s->runs, (s->n_runs + 1) * sizeof(*runs));
	if (!runs) {
		return -ENOMEM;
	}
	s->runs = runs;
	_cleanup_free_ const struct lks_fentry **v = sorted_mem(ix);
	if (!v) {
		return -ENOMEM;
	}
	struct run *r = &s->runs[s->n_runs];
	memset(r, 0, sizeof(*r));
	rc = write_run(s, v, ix->n, r);
	s->n_runs++; /* counted even on failure so that its table is freed */
	return rc;
}

/* Read the record at offset off of run r into s->sbuf and decode it into e. */
static int read_at(struct lks_spill *s, const struct run *r, uint64_t off, struct lks_fentry *e)
{
	uint32_t size;
	if (off + sizeof(size) > r->len ||
	    pread(s->fd, &size, sizeof(size), (off_t)(r->off + off)) != sizeof(size) ||
	    size > r->len - off) {
		return -EIO;
	}
	if (size > s->sbuf_cap) {
		char *p = realloc(s->sbuf, size);
		if (!p) {
			return -ENOMEM;
		}
		s->sbuf = p;
		s->sbuf_cap = size;
	}
	if (pread(s->fd, s->sbuf, size, (off_t)(r->off + off)) != (ssize_t)size) {
		return -EIO;
	}
	return get_rec(s->sbuf, size, e);
}

/* Binary search for the last sparse block starting at or before path, then a scan. */
static int run_find(struct lks_spill *s, const struct run *r, const char *path,
                    struct lks_fentry *e)
{
	size_t lo = 0, hi = r->n_sparse;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		int rc = read_at(s, r, r->sparse[mid], e);
		if (rc < 0) {
			return rc;
		}
		if (strcmp(e->path, path) <= 0) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	uint64_t off = r->n_sparse ? r->sparse[lo] : r->len;
	for (int i = 0; i < SPARSE_EVERY && off < r->len; i++) {
		int rc = read_at(s, r, off, e);
		if (rc < 0) {
			return rc;
		}
		int c = strcmp(e->path, path);
		if (c >= 0) {
			return c == 0;
		}
		off += ((const struct rec *)s->sbuf)->size;
	}
	return 0;
}

const struct lks_fentry *layerspill_find(struct lks_layer_index *ix, const char *path)
{
	struct lks_spill *s = ix->spill;
	if (!s) {
		return NULL;
	}
	/* The key may live in the scratch area that the search overwrites. */
	_cleanup_free_ char *key = strdup(path);
	for (size_t i = s->n_runs; key && i-- > 0;) {
		if (run_find(s, &s->runs[i], key, &s->scratch) > 0) {
			return &s->scratch;
		}
	}
	return NULL;
}

static int grp_cmp(const void *x, const void *y)
{
	return strcmp(((const struct grp *)x)->path, ((const struct grp *)y)->path);
}

static int root_cmp(const void *x, const void *y)
{
	return strcmp(((const struct grp *)x)->root, ((const struct grp *)y)->root);
}

/* The non-hardlink entry a hardlink chain ends at, as a new string; NULL when none. */
static char *root_of(struct lks_layer_index *ix, const char *member, const char *link)
{
	const struct lks_fentry *m = layerspill_find(ix, member);
	if (!m || !m->hardlink) {
		return NULL; /* replaced by a later entry */
	}
	char *cur = strdup(link);
	for (int i = 0; cur && i < HLINK_MAX_CHAIN; i++) {
		const struct lks_fentry *t = layerspill_find(ix, cur);
		free(cur);
		if (!t) {
			return NULL;
		}
		if (!t->hardlink) {
			return strdup(t->path);
		}
		cur = t->link ? strdup(t->link) : NULL;
	}
	free(cur);
	return NULL;
}

static void grp_add(struct lks_spill *s, char *path, const char *root)
{
	s->grp_str[s->n_grp_str++] = path;
	s->grp[s->n_grp++] = (struct grp){path, root, NULL};
}

/* Each row's key: the smallest path among the rows of its root (the root's own row
 * included), as link_groups does in memory. */
static void group_keys(struct lks_spill *s)
{
	lks_qsort(s->grp, s->n_grp, sizeof(*s->grp), root_cmp);
	for (size_t i = 0, end; i < s->n_grp; i = end) {
		const char *min = s->grp[i].path;
		for (end = i; end < s->n_grp && !strcmp(s->grp[end].root, s->grp[i].root); end++) {
			min = strcmp(s->grp[end].path, min) < 0 ? s->grp[end].path : min;
		}
		for (size_t k = i; k < end; k++) {
			s->grp[k].key = min;
		}
	}
	lks_qsort(s->grp, s->n_grp, sizeof(*s->grp), grp_cmp);
}

/* Rows member -> root and root -> root for every hardlink still in the layer. */
static int hardlink_groups(struct lks_layer_index *ix)
{
	struct lks_spill *s = ix->spill;
	s->grp = calloc(2 * s->n_hl + 1, sizeof(*s->grp));
	s->grp_str = calloc(2 * s->n_hl + 1, sizeof(*s->grp_str));
	if (!s->grp || !s->grp_str) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_hl; i++) {
		const char *member = s->hl[i], *link = member + strlen(member) + 1;
		char *root = root_of(ix, member, link);
		char *m = root ? strdup(member) : NULL;
		if (root && !m) {
			free(root);
			return -ENOMEM;
		}
		if (root) {
			grp_add(s, root, root);
			grp_add(s, m, root);
		}
	}
	group_keys(s);
	return 0;
}

int layerspill_finish(struct lks_layer_index *ix)
{
	int rc = layerspill_run(ix);
	return rc < 0 ? rc : hardlink_groups(ix);
}

void layerspill_free(struct lks_layer_index *ix)
{
	struct lks_spill *s = ix->spill;
	if (!s) {
		return;
	}
	close(s->fd);
	for (size_t i = 0; i < s->n_runs; i++) {
		free(s->runs[i].sparse);
	}
	free(s->runs);
	free(s->sym);
	for (size_t i = 0; i < s->n_hl; i++) {
		free(s->hl[i]);
	}
	free(s->hl);
	for (size_t i = 0; i < s->n_grp_str; i++) {
		free(s->grp_str[i]);
	}
	free(s->grp_str);
	free(s->grp);
	free(s->sbuf);
	free(s);
	ix->spill = NULL;
}

/* Sequential reader of one run while merging. */
struct reader {
	uint64_t off, end; /* file offsets: next byte to read, end of the run */
	char *buf;
	size_t cap, pos, len;
	struct lks_fentry e; /* current entry, strings in buf */
	uint32_t size;       /* its record size */
	bool have;
};

struct lks_layer_cursor {
	const struct lks_layer_index *ix;
	const struct lks_fentry **mem; /* in-memory layer: entries sorted by path */
	size_t i_mem;
	struct reader *rd;
	size_t n_rd;
	struct lks_fentry out;
	char *obuf;
	size_t ocap;
};

/* Make n bytes available at r->buf + r->pos. */
static int reader_fill(int fd, struct reader *r, size_t n)
{
	if (r->len - r->pos >= n) {
		return 0;
	}
	memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->len -= r->pos;
	r->pos = 0;
	if (n > r->cap) {
		char *p = realloc(r->buf, n);
		if (!p) {
			return -ENOMEM;
		}
		r->buf = p;
		r->cap = n;
	}
	size_t want = r->cap - r->len;
	want = want > r->end - r->off ? (size_t)(r->end - r->off) : want;
	ssize_t got = want ? pread(fd, r->buf + r->len, want, (off_t)r->off) : 0;
	if (got < 0) {
		return -errno;
	}
	r->off += (uint64_t)got;
	r->len += (size_t)got;
	return r->len >= n ? 0 : -EIO;
}

static int reader_next(int fd, struct reader *r)
{
	r->pos += r->have ? r->size : 0;
	r->have = false;
	if (r->pos == r->len && r->off == r->end) {
		return 0;
	}
	int rc = reader_fill(fd, r, sizeof(uint32_t));
	if (rc == 0) {
		memcpy(&r->size, r->buf + r->pos, sizeof(r->size));
		rc = r->size >= sizeof(struct rec) ? reader_fill(fd, r, r->size) : -EIO;
	}
	rc = rc ? rc : get_rec(r->buf + r->pos, r->size, &r->e);
	r->have = rc == 0;
	return rc;
}

int lks_layer_cursor_open(const struct lks_layer_index *ix, struct lks_layer_cursor **out)
{
	struct lks_layer_cursor *c = calloc(1, sizeof(*c));
	if (!c) {
		return -ENOMEM;
	}
	*out = c;
	c->ix = ix;
	if (!ix->spill) {
		c->mem = sorted_mem(ix);
		return c->mem ? 0 : -ENOMEM;
	}
	const struct lks_spill *s = ix->spill;
	c->rd = calloc(s->n_runs + 1, sizeof(*c->rd));
	if (!c->rd) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_runs; i++) {
		struct reader *r = &c->rd[c->n_rd++];
		r->off = s->runs[i].off;
		r->end = s->runs[i].off + s->runs[i].len;
		r->cap = RBUF;
		r->buf = malloc(RBUF);
		int rc = r->buf ? reader_next(s->fd, r) : -ENOMEM;
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* Copy the winner's record out of its reader, set its group, advance the readers. */
static const struct lks_fentry *take(struct lks_layer_cursor *c, struct reader *w, int *rc)
{
	const struct lks_spill *s = c->ix->spill;
	if (w->size > c->ocap) {
		char *p = realloc(c->obuf, w->size);
		if (!p) {
			*rc = -ENOMEM;
			return NULL;
		}
		c->obuf = p;
		c->ocap = w->size;
	}
	memcpy(c->obuf, w->buf + w->pos, w->size);
	*rc = get_rec(c->obuf, w->size, &c->out);
	struct grp key = {c->out.path, NULL, NULL};
	const struct grp *g =
	    s->n_grp ? bsearch(&key, s->grp, s->n_grp, sizeof(*s->grp), grp_cmp) : NULL;
	c->out.group = g ? g->key : NULL;
	for (size_t i = 0; i < c->n_rd && *rc == 0; i++) {
		if (c->rd[i].have && &c->rd[i] != w && !strcmp(c->rd[i].e.path, c->out.path)) {
			*rc = reader_next(s->fd, &c->rd[i]); /* an older version of the same path */
		}
	}
	*rc = *rc ? *rc : reader_next(s->fd, w);
	return *rc ? NULL : &c->out;
}

const struct lks_fentry *lks_layer_cursor_next(struct lks_layer_cursor *c, int *rc)
{
	*rc = 0;
	if (c->mem) {
		return c->i_mem < c->ix->n ? c->mem[c->i_mem++] : NULL;
	}
	struct reader *w = NULL;
	for (size_t i = 0; i < c->n_rd; i++) {
		/* Later runs are newer: on equal paths the last one wins. */
		if (c->rd[i].have && (!w || strcmp(c->rd[i].e.path, w->e.path) <= 0)) {
			w = &c->rd[i];
		}
	}
	return w ? take(c, w, rc) : NULL;
}

void lks_layer_cursor_close(struct lks_layer_cursor *c)
{
	if (!c) {
		return;
	}
	for (size_t i = 0; i < c->n_rd; i++) {
		free(c->rd[i].buf);
	}
	free(c->rd);
	free(c->mem);
	free(c->obuf);
	free(c);
}
