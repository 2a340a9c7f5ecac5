/* A binary snapshot of a built apt index, mapped and used in place, so a warm run reads only
 * what its lookups touch (apt's pkgcache.bin works the same way).
 *
 * Layout (native byte order: a local cache, not an interchange format; all offsets are from
 * the start of the file, so it is position independent):
 *
 *   header            struct snap_hdr
 *   key               what the index was built from (sources, architectures, Release digests)
 *   meta              releases and Packages files, decoded when the snapshot is opened
 *   records           n_pkgs fixed-size struct snap_pkg (string offsets, bucket chain)
 *   buckets           n_buckets uint32: first record of each name-hash bucket
 *   strings           NUL-terminated strings; the last byte of the region is NUL
 *   block sums        one checksum per SNAP_BLOCK bytes of records, buckets and strings
 *
 * Opening checks the header, the key, the sizes and one checksum over header, key, meta and
 * block sums. Every other block is checked the first time a lookup touches it, so a warm
 * resolve of a few packages reads a few hundred kilobytes of a file of tens of megabytes. A
 * block that fails its checksum (or an offset out of bounds) marks the index damaged: the
 * lookup finds nothing, lks_apt_index_damaged() says so, and the caller rebuilds the index
 * instead of trusting the answer. Foreign versions, truncated files and other keys are refused
 * when opened. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_index.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "pinner/apt/apt_int.h"

#define SNAP_MAGIC "LKSAPTIX"
#define SNAP_VERSION 3u /* 3: mapped in place, block checksums; 2: Depends ... Conflicts */
#define SNAP_BOM 0x01020304u
#define SNAP_BLOCK 4096u
#define NIL UINT32_MAX
#define N_REL_STRS 11
#define N_PKG_STRS 11

struct snap_hdr {
	char magic[8];
	uint32_t version, bom;
	uint64_t file_size;
	uint64_t head_sum; /* over this header (with head_sum 0), key, meta and block sums */
	uint32_t key_len, n_releases, n_pfiles, n_pkgs;
	uint32_t n_buckets, n_blocks;
	uint64_t meta_off, meta_len;
	uint64_t recs_off, bkts_off, strs_off, strs_len, sums_off;
};

struct snap_pkg {
	uint32_t str[N_PKG_STRS]; /* string offsets (NIL: none), in lks_apt_pkg's order */
	uint32_t pfile;
	uint32_t next; /* next record of the same bucket, NIL at the end */
	uint32_t hash; /* apt_name_hash(name): most chain neighbours are skipped on it */
	uint64_t size;
};
_Static_assert(sizeof(struct snap_pkg) == 64, "records are 64 bytes");
_Static_assert(SNAP_BLOCK % sizeof(struct snap_pkg) == 0, "records never straddle blocks");

/* The mapped file behind an index (idx->snap). */
struct apt_snap {
	const uint8_t *p;
	size_t len;
	bool mapped; /* p is a mapping (else a heap copy) */
	const struct snap_hdr *h;
	uint8_t *checked; /* one bit per block */
	bool damaged;
	uint64_t bad_block;
};

/* ---- checksum: fast, not cryptographic (it finds damage, not forgery) ---- */

static inline uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t snap_sum(const uint8_t *p, size_t n, uint64_t seed)
{
	const uint64_t k1 = 0x9E3779B185EBCA87ull, k2 = 0xC2B2AE3D27D4EB4Full;
	uint64_t a[4] = {seed + k1, seed + k2, seed, seed - k1};
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		for (int l = 0; l < 4; l++) {
			uint64_t w;
			memcpy(&w, p + i + 8 * (size_t)l, 8);
			a[l] = rotl64(a[l] + w * k2, 31) * k1;
		}
	}
	uint64_t h = rotl64(a[0], 1) + rotl64(a[1], 7) + rotl64(a[2], 12) + rotl64(a[3], 18);
	for (; i < n; i++) {
		h = (h ^ p[i]) * k1;
	}
	h ^= n;
	h = (h ^ (h >> 33)) * k2;
	return h ^ (h >> 29);
}

/* ---- writing ---- */

struct wr {
	struct lks_buf meta;
	struct lks_buf strs;
	int rc;
};

static void put(struct wr *w, const void *p, size_t n)
{
	if (w->rc == 0) {
		w->rc = lks_buf_append(&w->meta, p, n);
	}
}

static void put_u32(struct wr *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

static void put_u64(struct wr *w, uint64_t v)
{
	put(w, &v, sizeof(v));
}

static uint32_t str_off(struct wr *w, const char *s)
{
	if (!s || w->rc) {
		return NIL;
	}
	if (w->strs.len >= NIL - 1) {
		w->rc = -LKS_E_TOOBIG;
		return NIL;
	}
	uint32_t o = (uint32_t)w->strs.len;
	w->rc = lks_buf_append(&w->strs, s, strlen(s) + 1);
	return o;
}

static void put_str(struct wr *w, const char *s)
{
	put_u32(w, str_off(w, s));
}

static void rel_strs(const struct lks_apt_release *r, const char *out[N_REL_STRS])
{
	const char *v[N_REL_STRS] = {r->origin,  r->label, r->suite,         r->codename,
	                             r->version, r->date,  r->architectures, r->components,
	                             r->site,    r->uri,   r->path};
	memcpy(out, v, sizeof(v));
}

static void put_release(struct wr *w, const struct lks_apt_release *r)
{
	const char *v[N_REL_STRS];
	rel_strs(r, v);
	for (size_t i = 0; i < N_REL_STRS; i++) {
		put_str(w, v[i]);
	}
	put_u64(w, (uint64_t)r->date_epoch);
	put_u32(
	    w, (uint32_t)(r->not_automatic | r->but_automatic_upgrades << 1 | r->no_arch_all << 2));
	put_u32(w, (uint32_t)r->sig);
	put_u32(w, (uint32_t)r->n_hashes);
	for (size_t i = 0; i < r->n_hashes; i++) {
		put_str(w, r->hashes[i].path);
		put_u64(w, r->hashes[i].size);
		put_str(w, r->hashes[i].sha256);
	}
}

static void put_meta(struct wr *w, const struct lks_apt_index *idx)
{
	for (size_t i = 0; i < idx->n_releases; i++) {
		put_release(w, &idx->releases[i]);
	}
	for (size_t i = 0; i < idx->n_pfiles; i++) {
		put_u32(w, (uint32_t)idx->pfiles[i].release);
		put_str(w, idx->pfiles[i].component);
		put_str(w, idx->pfiles[i].arch);
	}
}

static void pkg_strs(const struct lks_apt_pkg *p, const char *v[N_PKG_STRS])
{
	const char *s[N_PKG_STRS] = {p->name,        p->version,  p->arch,       p->filename,
	                             p->sha256,      p->provides, p->multi_arch, p->depends,
	                             p->pre_depends, p->breaks,   p->conflicts};
	memcpy(v, s, sizeof(s));
}

static uint32_t n_buckets_for(size_t n_pkgs)
{
	uint32_t nb = 1024;
	while (nb < n_pkgs && nb < (1u << 30)) {
		nb *= 2;
	}
	return nb;
}

/* Records with their chains, in index order; a chain lists later entries first, as the
 * in-memory index does (lks_apt_index_find/next give the same order either way). */
static int put_records(struct wr *w, const struct lks_apt_index *idx, struct lks_buf *recs,
                       uint32_t *bkts, uint32_t nb)
{
	memset(bkts, 0xff, (size_t)nb * sizeof(*bkts));
	for (size_t i = 0; i < idx->n_pkgs && w->rc == 0; i++) {
		const struct lks_apt_pkg *p = lks_apt_index_at(idx, i);
		const char *v[N_PKG_STRS];
		pkg_strs(p, v);
		struct snap_pkg r = {.pfile = p->pfile, .size = p->size};
		for (size_t j = 0; j < N_PKG_STRS; j++) {
			r.str[j] = str_off(w, v[j]);
		}
		r.hash = apt_name_hash(p->name);
		r.next = bkts[r.hash & (nb - 1)];
		bkts[r.hash & (nb - 1)] = (uint32_t)i;
		w->rc = w->rc ? w->rc : lks_buf_append(recs, &r, sizeof(r));
	}
	return w->rc;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static int pad_to(struct lks_buf *out, uint64_t off)
{
	static const char zeros[SNAP_BLOCK];
	int rc = 0;
	while (rc == 0 && out->len < off) {
		size_t k =
		    off - out->len < sizeof(zeros) ? (size_t)(off - out->len) : sizeof(zeros);
		rc = lks_buf_append(out, zeros, k);
	}
	return rc;
}

/* Header fields from the sizes of the parts. */
static void layout(struct snap_hdr *h, size_t key_len, size_t meta_len, size_t n_pkgs, uint32_t nb,
                   size_t strs_len)
{
	memcpy(h->magic, SNAP_MAGIC, 8);
	h->version = SNAP_VERSION;
	h->bom = SNAP_BOM;
	h->key_len = (uint32_t)key_len;
	h->n_pkgs = (uint32_t)n_pkgs;
	h->n_buckets = nb;
	h->meta_off = align_up(sizeof(*h) + key_len, 8);
	h->meta_len = meta_len;
	h->recs_off = align_up(h->meta_off + meta_len, SNAP_BLOCK);
	h->bkts_off = h->recs_off + n_pkgs * sizeof(struct snap_pkg);
	h->strs_off = h->bkts_off + (uint64_t)nb * 4;
	h->strs_len = strs_len;
	h->sums_off = align_up(h->strs_off + strs_len, 8);
	h->n_blocks = (uint32_t)((h->sums_off - h->recs_off + SNAP_BLOCK - 1) / SNAP_BLOCK);
	h->file_size = h->sums_off + (uint64_t)h->n_blocks * 8;
}

static uint64_t head_sum(const uint8_t *file, const struct snap_hdr *h)
{
	struct snap_hdr copy = *h;
	copy.head_sum = 0;
	uint64_t s = snap_sum((const uint8_t *)&copy, sizeof(copy), 1);
	s = snap_sum(file + sizeof(copy), h->key_len, s);
	s = snap_sum(file + h->meta_off, h->meta_len, s);
	return snap_sum(file + h->sums_off, (size_t)h->n_blocks * 8, s);
}

static void seal(uint8_t *f, const struct snap_hdr *h0)
{
	for (uint32_t b = 0; b < h0->n_blocks; b++) {
		uint64_t start = h0->recs_off + (uint64_t)b * SNAP_BLOCK;
		uint64_t end =
		    start + SNAP_BLOCK < h0->sums_off ? start + SNAP_BLOCK : h0->sums_off;
		uint64_t s = snap_sum(f + start, (size_t)(end - start), b);
		memcpy(f + h0->sums_off + (uint64_t)b * 8, &s, 8);
	}
	struct snap_hdr h;
	memcpy(&h, f, sizeof(h));
	h.head_sum = head_sum(f, &h);
	memcpy(f, &h, sizeof(h));
}

static bool layout_ok(const struct snap_hdr *h, size_t len);

void apt_snap_reseal(void *file, size_t len)
{
	struct snap_hdr h;
	if (len >= sizeof(h)) {
		memcpy(&h, file, sizeof(h));
		if (layout_ok(&h, len)) {
			seal(file, &h);
		}
	}
}

/* The parts laid out in out (header first), then the checksums filled in. */
static int assemble(const struct snap_hdr *h0, const char *key, const struct wr *w,
                    const struct lks_buf *recs, const uint32_t *bkts, struct lks_buf *out)
{
	size_t base = out->len;
	int rc = lks_buf_append(out, h0, sizeof(*h0));
	rc = rc ? rc : lks_buf_append(out, key, h0->key_len);
	rc = rc ? rc : pad_to(out, base + h0->meta_off);
	rc = rc ? rc : lks_buf_append(out, w->meta.data, w->meta.len);
	rc = rc ? rc : pad_to(out, base + h0->recs_off);
	rc = rc ? rc : lks_buf_append(out, recs->data, recs->len);
	rc = rc ? rc : lks_buf_append(out, bkts, (size_t)h0->n_buckets * 4);
	rc = rc ? rc : lks_buf_append(out, w->strs.data, w->strs.len);
	rc = rc ? rc : pad_to(out, base + h0->sums_off);
	rc = rc ? rc : pad_to(out, base + h0->file_size);
	if (rc == 0) {
		seal((uint8_t *)out->data + base, h0);
	}
	return rc;
}

int lks_apt_index_save(struct lks_ctx *ctx, const struct lks_apt_index *idx, const char *key,
                       struct lks_buf *out)
{
	struct wr w = {.rc = 0};
	lks_buf_init(&w.meta, (size_t)1 << 31);
	lks_buf_init(&w.strs, (size_t)1 << 31);
	struct lks_buf recs;
	lks_buf_init(&recs, (size_t)1 << 31);
	uint32_t nb = n_buckets_for(idx->n_pkgs);
	uint32_t *bkts = malloc((size_t)nb * sizeof(*bkts));
	int rc = bkts ? 0 : -ENOMEM;
	if (rc == 0 && (idx->n_pkgs >= NIL || strlen(key) >= NIL)) {
		rc = -LKS_E_TOOBIG;
	}
	if (rc == 0) {
		put_meta(&w, idx);
		rc = put_records(&w, idx, &recs, bkts, nb);
	}
	if (rc == 0 && (rc = lks_buf_append(&w.strs, "", 1)) == 0) { /* the region ends in NUL */
		struct snap_hdr h = {0};
		layout(&h, strlen(key), w.meta.len, idx->n_pkgs, nb, w.strs.len);
		h.n_releases = (uint32_t)idx->n_releases;
		h.n_pfiles = (uint32_t)idx->n_pfiles;
		rc = assemble(&h, key, &w, &recs, bkts, out);
	}
	free(bkts);
	lks_buf_free(&recs);
	lks_buf_free(&w.meta);
	lks_buf_free(&w.strs);
	return rc < 0 ? lks_err(ctx, rc, "cannot serialise the apt index: %s", lks_strerror(rc))
	              : 0;
}

/* ---- reading in place ---- */

static bool snap_bad(struct apt_snap *s, uint64_t block)
{
	if (!s->damaged) {
		s->damaged = true;
		s->bad_block = block;
	}
	return false;
}

/* Check the blocks covering [start, end) of the body once each. */
static bool snap_check(struct apt_snap *s, uint64_t start, uint64_t end)
{
	const struct snap_hdr *h = s->h;
	if (s->damaged || start < h->recs_off || end > h->sums_off || start >= end) {
		return snap_bad(s, 0);
	}
	for (uint64_t b = (start - h->recs_off) / SNAP_BLOCK;
	     b <= (end - 1 - h->recs_off) / SNAP_BLOCK; b++) {
		if (s->checked[b / 8] & (1u << (b % 8))) {
			continue;
		}
		uint64_t bs = h->recs_off + b * SNAP_BLOCK;
		uint64_t be = bs + SNAP_BLOCK < h->sums_off ? bs + SNAP_BLOCK : h->sums_off;
		uint64_t want;
		memcpy(&want, s->p + h->sums_off + b * 8, 8);
		if (snap_sum(s->p + bs, (size_t)(be - bs), b) != want) {
			return snap_bad(s, b);
		}
		s->checked[b / 8] |= (uint8_t)(1u << (b % 8));
	}
	return true;
}

/* The string at offset o, checked; NULL for NIL. *ok turns false on damage ("" returned). */
static const char *snap_str(struct apt_snap *s, uint32_t o, bool *ok)
{
	if (o == NIL) {
		return NULL;
	}
	const struct snap_hdr *h = s->h;
	if (o >= h->strs_len) {
		*ok = snap_bad(s, 0);
		return "";
	}
	const char *p = (const char *)s->p + h->strs_off + o;
	/* the region's last byte is NUL (checked when opened), so this stops inside it */
	size_t n = strlen(p);
	if (!snap_check(s, h->strs_off + o, h->strs_off + o + n + 1)) {
		*ok = false;
		return "";
	}
	return p;
}

static const struct snap_pkg *snap_rec(struct apt_snap *s, uint32_t i)
{
	const struct snap_hdr *h = s->h;
	if (i >= h->n_pkgs) {
		snap_bad(s, 0);
		return NULL;
	}
	uint64_t off = h->recs_off + (uint64_t)i * sizeof(struct snap_pkg);
	if (!snap_check(s, off, off + sizeof(struct snap_pkg))) {
		return NULL;
	}
	return (const struct snap_pkg *)(const void *)(s->p + off);
}

static uint32_t snap_bucket(struct apt_snap *s, uint32_t hash)
{
	const struct snap_hdr *h = s->h;
	uint64_t off = h->bkts_off + (uint64_t)(hash & (h->n_buckets - 1)) * 4;
	uint32_t v;
	if (!snap_check(s, off, off + 4)) {
		return NIL;
	}
	memcpy(&v, s->p + off, 4);
	return v;
}

/* Fill idx->pkgs[i] from its record the first time it is asked for. */
static const struct lks_apt_pkg *snap_pkg_at(const struct lks_apt_index *idx, uint32_t i)
{
	struct apt_snap *s = idx->snap;
	struct lks_apt_pkg *p = &idx->pkgs[i];
	if (p->name) {
		return p;
	}
	const struct snap_pkg *r = snap_rec(s, i);
	if (!r) {
		return NULL;
	}
	bool ok = true;
	const char **v[N_PKG_STRS] = {&p->name,        &p->version,  &p->arch,       &p->filename,
	                              &p->sha256,      &p->provides, &p->multi_arch, &p->depends,
	                              &p->pre_depends, &p->breaks,   &p->conflicts};
	for (size_t j = 0; j < N_PKG_STRS; j++) {
		*v[j] = snap_str(s, r->str[j], &ok);
	}
	/* chains run from later records to earlier ones: a link that does not go down is damage
	 * (it could make a walk over versions of one name loop for ever) */
	if (!ok || !p->name || !p->version || !p->arch || r->pfile >= idx->n_pfiles ||
	    (r->next != NIL && r->next >= i)) {
		snap_bad(s, 0);
		memset(p, 0, sizeof(*p));
		return NULL;
	}
	p->size = r->size;
	p->pfile = r->pfile;
	p->next = r->next;
	return p;
}

/* The first record at or after chain position i named name (hash h), or NULL. */
static const struct lks_apt_pkg *snap_walk(const struct lks_apt_index *idx, uint32_t i,
                                           const char *name, uint32_t h)
{
	struct apt_snap *s = idx->snap;
	/* a damaged chain could loop: no chain is longer than the index */
	for (uint32_t steps = 0; i != NIL && steps <= s->h->n_pkgs; steps++) {
		const struct snap_pkg *r = snap_rec(s, i);
		if (!r) {
			return NULL;
		}
		if (r->hash == h) {
			const struct lks_apt_pkg *p = snap_pkg_at(idx, i);
			if (!p) {
				return NULL;
			}
			if (!strcmp(p->name, name)) {
				return p;
			}
		}
		if (r->next != NIL && r->next >= i) {
			snap_bad(s, 0);
			return NULL;
		}
		i = r->next;
	}
	if (i != NIL) {
		snap_bad(s, 0);
	}
	return NULL;
}

const struct lks_apt_pkg *apt_snap_find(const struct lks_apt_index *idx, const char *name)
{
	uint32_t h = apt_name_hash(name);
	return snap_walk(idx, snap_bucket(idx->snap, h), name, h);
}

const struct lks_apt_pkg *apt_snap_next(const struct lks_apt_index *idx,
                                        const struct lks_apt_pkg *p)
{
	return snap_walk(idx, p->next, p->name, apt_name_hash(p->name));
}

const struct lks_apt_pkg *apt_snap_at(const struct lks_apt_index *idx, size_t i)
{
	return i < idx->n_pkgs ? snap_pkg_at(idx, (uint32_t)i) : NULL;
}

void apt_snap_close(struct apt_snap *s)
{
	if (!s) {
		return;
	}
	if (s->mapped) {
		munmap((void *)(uintptr_t)s->p, s->len);
	} else {
		free((void *)(uintptr_t)s->p);
	}
	free(s->checked);
	free(s);
}

bool lks_apt_index_damaged(const struct lks_apt_index *idx)
{
	return idx->snap && idx->snap->damaged;
}

int lks_apt_index_check(struct lks_ctx *ctx, const struct lks_apt_index *idx)
{
	if (!lks_apt_index_damaged(idx)) {
		return 0;
	}
	return lks_err(ctx, -LKS_E_PARSE, "apt index snapshot is damaged (block %llu)",
	               (unsigned long long)idx->snap->bad_block);
}

int lks_apt_index_check_all(struct lks_ctx *ctx, const struct lks_apt_index *idx)
{
	struct apt_snap *s = idx->snap;
	if (s && !s->damaged && s->h->sums_off > s->h->recs_off) {
		snap_check(s, s->h->recs_off, s->h->sums_off);
	}
	return lks_apt_index_check(ctx, idx);
}

/* ---- opening: header, key and meta ---- */

struct rd {
	struct apt_snap *s;
	const uint8_t *p;
	size_t end, off;
	bool bad;
};

static uint64_t get(struct rd *r, size_t n)
{
	uint64_t v = 0;
	if (r->bad || r->end - r->off < n) {
		r->bad = true;
		return 0;
	}
	if (n == 4) {
		uint32_t v32;
		memcpy(&v32, r->p + r->off, 4);
		v = v32;
	} else {
		memcpy(&v, r->p + r->off, 8);
	}
	r->off += n;
	return v;
}

static const char *get_str(struct rd *r)
{
	bool ok = true;
	const char *s = snap_str(r->s, (uint32_t)get(r, 4), &ok);
	r->bad = r->bad || !ok;
	return s;
}

static char *dup_str(struct rd *r, int *rc)
{
	const char *s = get_str(r);
	char *d = s ? strdup(s) : NULL;
	if (s && !d) {
		*rc = -ENOMEM;
	}
	return d;
}

static int get_hashes(struct rd *r, struct lks_apt_release *rel)
{
	uint32_t nh = (uint32_t)get(r, 4);
	if (r->bad || nh > (r->end - r->off) / 16) {
		r->bad = true;
		return 0;
	}
	rel->hashes = calloc(nh ? nh : 1, sizeof(*rel->hashes));
	if (!rel->hashes) {
		return -ENOMEM;
	}
	int rc = 0;
	for (uint32_t i = 0; i < nh && !r->bad && rc == 0; i++, rel->n_hashes++) {
		struct lks_apt_hashent *h = &rel->hashes[i];
		h->path = dup_str(r, &rc);
		h->size = get(r, 8);
		const char *sha = get_str(r);
		size_t n = sha ? strnlen(sha, sizeof(h->sha256) - 1) : 0;
		memcpy(h->sha256, sha ? sha : "", n);
		h->sha256[n] = '\0';
		r->bad = r->bad || !h->path;
	}
	return rc;
}

static int get_release(struct rd *r, struct lks_apt_release *rel)
{
	int rc = 0;
	char **v[N_REL_STRS] = {&rel->origin,  &rel->label, &rel->suite,         &rel->codename,
	                        &rel->version, &rel->date,  &rel->architectures, &rel->components,
	                        &rel->site,    &rel->uri,   &rel->path};
	for (size_t i = 0; i < N_REL_STRS; i++) {
		*v[i] = dup_str(r, &rc);
	}
	rel->date_epoch = (time_t)get(r, 8);
	uint32_t flags = (uint32_t)get(r, 4);
	rel->not_automatic = flags & 1;
	rel->but_automatic_upgrades = flags & 2;
	rel->no_arch_all = flags & 4;
	rel->sig = (enum lks_apt_sig)(get(r, 4) % 3);
	return rc ? rc : get_hashes(r, rel);
}

static int get_meta(struct rd *r, struct lks_apt_index *idx, uint32_t n_rel, uint32_t n_pf)
{
	if (n_rel > r->end / 60 || n_pf > r->end / 12) {
		r->bad = true;
		return 0;
	}
	idx->releases = calloc(n_rel ? n_rel : 1, sizeof(*idx->releases));
	idx->pfiles = calloc(n_pf ? n_pf : 1, sizeof(*idx->pfiles));
	if (!idx->releases || !idx->pfiles) {
		return -ENOMEM;
	}
	int rc = 0;
	for (uint32_t i = 0; i < n_rel && rc == 0 && !r->bad; i++) {
		idx->n_releases++;
		rc = get_release(r, &idx->releases[i]);
	}
	for (uint32_t i = 0; i < n_pf && rc == 0 && !r->bad; i++) {
		struct lks_apt_pfile *pf = &idx->pfiles[i];
		idx->n_pfiles++;
		pf->release = (size_t)get(r, 4);
		pf->component = dup_str(r, &rc);
		pf->arch = dup_str(r, &rc);
		r->bad = r->bad || pf->release >= idx->n_releases || !pf->component || !pf->arch;
	}
	return rc;
}

/* Sizes and offsets agree with each other and with the file; nothing can overflow. */
static bool layout_ok(const struct snap_hdr *h, size_t len)
{
	struct snap_hdr want = {0};
	if (h->file_size != len || h->key_len > len || h->meta_len > len || h->n_pkgs > len / 64 ||
	    h->n_buckets == 0 || (h->n_buckets & (h->n_buckets - 1)) || h->n_buckets > len / 4 ||
	    h->strs_len == 0 || h->strs_len > len) {
		return false;
	}
	layout(&want, h->key_len, h->meta_len, h->n_pkgs, h->n_buckets, h->strs_len);
	return want.meta_off == h->meta_off && want.recs_off == h->recs_off &&
	       want.bkts_off == h->bkts_off && want.strs_off == h->strs_off &&
	       want.sums_off == h->sums_off && want.n_blocks == h->n_blocks &&
	       want.file_size == h->file_size;
}

static int open_header(struct lks_ctx *ctx, struct apt_snap *s, const char *key)
{
	struct snap_hdr h; /* an aligned copy for the checks */
	if (s->len < 16 || memcmp(s->p, SNAP_MAGIC, 8)) {
		return lks_err(ctx, -LKS_E_PARSE, "not an apt index snapshot");
	}
	uint32_t version, bom;
	memcpy(&version, s->p + 8, 4);
	memcpy(&bom, s->p + 12, 4);
	if (version != SNAP_VERSION || bom != SNAP_BOM) {
		return lks_err(ctx, -LKS_E_VERSION,
		               "apt index snapshot version %u is not supported", version);
	}
	if (s->len < sizeof(h)) {
		return lks_err(ctx, -LKS_E_PARSE, "apt index snapshot is truncated");
	}
	memcpy(&h, s->p, sizeof(h));
	if (!layout_ok(&h, s->len)) {
		return lks_err(ctx, -LKS_E_PARSE, "apt index snapshot is truncated or damaged");
	}
	if (h.key_len != strlen(key) || memcmp(s->p + sizeof(h), key, h.key_len)) {
		return lks_err(ctx, -LKS_E_CONFLICT, "apt index snapshot is stale");
	}
	if (head_sum(s->p, &h) != h.head_sum) {
		return lks_err(ctx, -LKS_E_PARSE, "apt index snapshot is damaged (header)");
	}
	return 0;
}

static int snap_open(struct lks_ctx *ctx, struct apt_snap *s, const char *key,
                     struct lks_apt_index *idx)
{
	int rc = open_header(ctx, s, key);
	if (rc < 0) {
		return rc;
	}
	s->h = (const struct snap_hdr *)(const void *)s->p; /* mappings and malloc are aligned */
	s->checked = calloc(s->h->n_blocks / 8 + 1, 1);
	if (!s->checked) {
		return -ENOMEM;
	}
	/* The strings region must end in NUL (checked) before any string is read. */
	uint64_t last = s->h->strs_off + s->h->strs_len - 1;
	bool ok = s->p[last] == '\0' && snap_check(s, last, last + 1);
	struct rd r = {.s = s, .p = s->p + s->h->meta_off, .end = s->h->meta_len};
	if (ok) {
		rc = get_meta(&r, idx, s->h->n_releases, s->h->n_pfiles);
	}
	if (rc == 0 && (!ok || r.bad || r.off != r.end || s->damaged)) {
		rc = lks_err(ctx, -LKS_E_PARSE, "apt index snapshot is damaged");
	}
	if (rc == 0 && s->h->n_pkgs > idx->max_pkgs) {
		rc = lks_err(ctx, -LKS_E_TOOBIG, "apt index snapshot has more than %zu packages",
		             idx->max_pkgs);
	}
	/* Entries are filled on first use; untouched pages of this array are never faulted. */
	idx->pkgs = rc ? NULL : calloc(s->h->n_pkgs ? s->h->n_pkgs : 1, sizeof(*idx->pkgs));
	if (rc == 0 && !idx->pkgs) {
		rc = -ENOMEM;
	}
	if (rc == 0) {
		idx->n_pkgs = idx->cap_pkgs = s->h->n_pkgs;
	}
	return rc;
}

/* Open s (owned from here) as the backing of a freshly initialised idx. */
static int restore(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *key,
                   struct apt_snap *s)
{
	int rc = snap_open(ctx, s, key, idx);
	if (rc < 0) {
		size_t max = idx->max_pkgs;
		apt_snap_close(s);
		lks_apt_index_free(idx);
		lks_apt_index_init(idx);
		idx->max_pkgs = max;
		return rc;
	}
	idx->snap = s;
	return 0;
}

int lks_apt_index_restore(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *key,
                          const void *data, size_t n)
{
	struct apt_snap *s = calloc(1, sizeof(*s));
	void *copy = malloc(n ? n : 1);
	if (!s || !copy) {
		free(s);
		free(copy);
		return -ENOMEM;
	}
	if (n) {
		memcpy(copy, data, n);
	}
	s->p = copy;
	s->len = n;
	return restore(ctx, idx, key, s);
}

int lks_apt_index_restore_file(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *key,
                               const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		return lks_err(ctx, -errno, "cannot open apt index snapshot '%s': %s", path,
		               strerror(errno));
	}
	if (st.st_size <= 0) {
		return lks_err(ctx, -LKS_E_PARSE, "apt index snapshot '%s' is empty", path);
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		return lks_err(ctx, -errno, "cannot map '%s': %s", path, strerror(errno));
	}
	struct apt_snap *s = calloc(1, sizeof(*s));
	if (!s) {
		munmap(p, (size_t)st.st_size);
		return -ENOMEM;
	}
	s->p = p;
	s->len = (size_t)st.st_size;
	s->mapped = true;
	return restore(ctx, idx, key, s);
}

/* ---- keys ---- */

/* A file by identity, as apt keys pkgcache.bin to its lists: `apt-get update` replaces a list
 * by renaming a new file over it, so a changed Release has a new inode, mtime and ctime.
 * No digest: hashing would load libcrypto and read every Release on each warm run. */
static int key_file(struct lks_buf *key, const char *label, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		return -errno;
	}
	return lks_buf_printf(key,
	                      "%s=%s size=%lld ino=%llu dev=%llu mtime=%lld.%09ld "
	                      "ctime=%lld.%09ld\n",
	                      label, path, (long long)st.st_size, (unsigned long long)st.st_ino,
	                      (unsigned long long)st.st_dev, (long long)st.st_mtim.tv_sec,
	                      st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* Every Release/InRelease in the lists directory, by name. */
static int key_lists(struct lks_ctx *ctx, struct lks_buf *key, const char *dir)
{
	char **names = NULL;
	size_t n = 0;
	int rc = apt_lists_releases(ctx, dir, &names, &n);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		rc = rc ? rc : key_file(key, "release", path);
		free(names[i]);
	}
	free(names);
	return rc;
}

int lks_apt_snapshot_key(struct lks_ctx *ctx, const char *lists, const char *const *archs,
                         const char *const *sources, size_t n_sources, const char *extra,
                         struct lks_buf *key)
{
	int rc = lks_buf_printf(key, "lockstep apt index v%u\nextra=%s\n", SNAP_VERSION,
	                        extra ? extra : "");
	for (size_t i = 0; rc == 0 && archs[i]; i++) {
		rc = lks_buf_printf(key, "arch=%s\n", archs[i]);
	}
	for (size_t i = 0; rc == 0 && i < n_sources; i++) {
		rc = key_file(key, "sources", sources[i]);
	}
	rc = rc ? rc : key_lists(ctx, key, lists);
	if (rc < 0 && !ctx->err[0]) {
		return lks_err(ctx, rc, "cannot compute the apt index key: %s", lks_strerror(rc));
	}
	return rc;
}
