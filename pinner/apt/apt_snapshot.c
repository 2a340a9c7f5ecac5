/* A binary snapshot of a built apt index, so a warm run skips hashing and parsing the
 * Packages files. Native byte order (it is a local cache, not an interchange format); every
 * count, index and string offset is checked on load, so a corrupt file is an error. */
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
#define SNAP_VERSION 2u /* 2: Depends, Pre-Depends, Breaks, Conflicts */
#define SNAP_BOM 0x01020304u
#define NIL UINT32_MAX
#define N_REL_STRS 11

struct wr {
	struct lks_buf recs;
	struct lks_buf strs;
	int rc;
};

static void put(struct wr *w, const void *p, size_t n)
{
	if (w->rc == 0) {
		w->rc = lks_buf_append(&w->recs, p, n);
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

static void put_str(struct wr *w, const char *s)
{
	if (!s || w->rc) {
		put_u32(w, NIL);
		return;
	}
	if (w->strs.len >= NIL - 1) {
		w->rc = -LKS_E_TOOBIG;
		return;
	}
	put_u32(w, (uint32_t)w->strs.len);
	if (w->rc == 0) {
		w->rc = lks_buf_append(&w->strs, s, strlen(s) + 1);
	}
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

int lks_apt_index_save(struct lks_ctx *ctx, const struct lks_apt_index *idx, const char *key,
                       struct lks_buf *out)
{
	struct wr w = {.rc = 0};
	lks_buf_init(&w.recs, (size_t)1 << 31);
	lks_buf_init(&w.strs, (size_t)1 << 31);
	put_u32(&w, (uint32_t)idx->n_releases);
	put_u32(&w, (uint32_t)idx->n_pfiles);
	put_u32(&w, (uint32_t)idx->n_pkgs);
	for (size_t i = 0; i < idx->n_releases; i++) {
		put_release(&w, &idx->releases[i]);
	}
	for (size_t i = 0; i < idx->n_pfiles; i++) {
		put_u32(&w, (uint32_t)idx->pfiles[i].release);
		put_str(&w, idx->pfiles[i].component);
		put_str(&w, idx->pfiles[i].arch);
	}
	for (size_t i = 0; i < idx->n_pkgs; i++) {
		const struct lks_apt_pkg *p = &idx->pkgs[i];
		const char *v[] = {p->name,   p->version,  p->arch,      p->filename,
		                   p->sha256, p->provides, p->multi_arch, p->depends,
		                   p->pre_depends, p->breaks, p->conflicts};
		for (size_t j = 0; j < ARRAY_SIZE(v); j++) {
			put_str(&w, v[j]);
		}
		put_u64(&w, p->size);
		put_u32(&w, p->pfile);
	}
	uint32_t hdr[4] = {SNAP_VERSION, SNAP_BOM, (uint32_t)strlen(key), 0};
	uint64_t strs_len = w.strs.len;
	int rc = w.rc;
	rc = rc ? rc : lks_buf_append(out, SNAP_MAGIC, 8);
	rc = rc ? rc : lks_buf_append(out, hdr, sizeof(hdr));
	rc = rc ? rc : lks_buf_append(out, key, strlen(key));
	rc = rc ? rc : lks_buf_append(out, &strs_len, sizeof(strs_len));
	rc = rc ? rc : lks_buf_append(out, w.recs.data, w.recs.len);
	rc = rc ? rc : lks_buf_append(out, w.strs.data, w.strs.len);
	lks_buf_free(&w.recs);
	lks_buf_free(&w.strs);
	return rc < 0 ? lks_err(ctx, rc, "cannot serialise the apt index: %s", lks_strerror(rc))
	              : 0;
}

struct rd {
	const uint8_t *p;
	size_t end, off;
	const char *strs; /* in the index arena */
	uint64_t strs_len;
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
	uint32_t o = (uint32_t)get(r, 4);
	if (r->bad || o == NIL) {
		return NULL;
	}
	if (o >= r->strs_len) {
		r->bad = true;
		return NULL;
	}
	return r->strs + o;
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
	uint32_t nh = (uint32_t)get(r, 4);
	if (r->bad || nh > (r->end - r->off) / 16) {
		r->bad = true;
		return rc;
	}
	rel->hashes = calloc(nh ? nh : 1, sizeof(*rel->hashes));
	if (!rel->hashes) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nh && !r->bad; i++, rel->n_hashes++) {
		struct lks_apt_hashent *h = &rel->hashes[i];
		h->path = dup_str(r, &rc);
		h->size = get(r, 8);
		const char *sha = get_str(r);
		snprintf(h->sha256, sizeof(h->sha256), "%s", sha ? sha : "");
		r->bad = r->bad || !h->path;
	}
	return rc;
}

static int get_releases(struct rd *r, struct lks_apt_index *idx, uint32_t n)
{
	if (n > (r->end - r->off) / 60) {
		r->bad = true;
		return 0;
	}
	idx->releases = calloc(n ? n : 1, sizeof(*idx->releases));
	if (!idx->releases) {
		return -ENOMEM;
	}
	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0 && !r->bad; i++) {
		idx->n_releases++;
		rc = get_release(r, &idx->releases[i]);
	}
	return rc;
}

static int get_pfiles(struct rd *r, struct lks_apt_index *idx, uint32_t n)
{
	if (n > (r->end - r->off) / 12) {
		r->bad = true;
		return 0;
	}
	idx->pfiles = calloc(n ? n : 1, sizeof(*idx->pfiles));
	if (!idx->pfiles) {
		return -ENOMEM;
	}
	int rc = 0;
	for (uint32_t i = 0; i < n && rc == 0 && !r->bad; i++) {
		struct lks_apt_pfile *pf = &idx->pfiles[i];
		idx->n_pfiles++;
		pf->release = (size_t)get(r, 4);
		pf->component = dup_str(r, &rc);
		pf->arch = dup_str(r, &rc);
		r->bad = r->bad || pf->release >= idx->n_releases || !pf->component || !pf->arch;
	}
	return rc;
}

static int get_pkgs(struct rd *r, struct lks_apt_index *idx, uint32_t n)
{
	if (n > (r->end - r->off) / 56 || n > idx->max_pkgs) {
		r->bad = true;
		return 0;
	}
	idx->pkgs = calloc(n ? n : 1, sizeof(*idx->pkgs));
	if (!idx->pkgs) {
		return -ENOMEM;
	}
	idx->cap_pkgs = n ? n : 1;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct lks_apt_pkg *p = &idx->pkgs[i];
		p->name = get_str(r);
		p->version = get_str(r);
		p->arch = get_str(r);
		p->filename = get_str(r);
		p->sha256 = get_str(r);
		p->provides = get_str(r);
		p->multi_arch = get_str(r);
		p->depends = get_str(r);
		p->pre_depends = get_str(r);
		p->breaks = get_str(r);
		p->conflicts = get_str(r);
		p->size = get(r, 8);
		p->pfile = (uint32_t)get(r, 4);
		r->bad = r->bad || !p->name || !p->version || !p->arch || p->pfile >= idx->n_pfiles;
		idx->n_pkgs++;
	}
	return 0;
}

static int open_header(struct lks_ctx *ctx, struct rd *r, const char *key)
{
	if (r->end < 8 || memcmp(r->p, SNAP_MAGIC, 8)) {
		return lks_err(ctx, -LKS_E_PARSE, "not an apt index snapshot");
	}
	r->off = 8;
	uint32_t version = (uint32_t)get(r, 4), bom = (uint32_t)get(r, 4);
	uint32_t key_len = (uint32_t)get(r, 4);
	(void)get(r, 4);
	if (r->bad || version != SNAP_VERSION || bom != SNAP_BOM) {
		return lks_err(ctx, -LKS_E_VERSION,
		               "apt index snapshot version %u is not supported", version);
	}
	if (key_len != strlen(key) || r->end - r->off < key_len ||
	    memcmp(r->p + r->off, key, key_len)) {
		return lks_err(ctx, -LKS_E_CONFLICT, "apt index snapshot is stale");
	}
	r->off += key_len;
	r->strs_len = get(r, 8);
	if (r->bad || r->strs_len > r->end - r->off || (r->strs_len && r->p[r->end - 1] != '\0')) {
		return lks_err(ctx, -LKS_E_PARSE, "apt index snapshot is truncated");
	}
	return 0;
}

int lks_apt_index_restore(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *key,
                          const void *data, size_t n)
{
	struct rd r = {.p = data, .end = n};
	int rc = open_header(ctx, &r, key);
	if (rc < 0) {
		return rc;
	}
	r.end -= r.strs_len;
	r.strs = r.strs_len ? apt_arena_copy(idx, r.p + r.end, r.strs_len) : "";
	if (!r.strs) {
		return -ENOMEM;
	}
	uint32_t n_rel = (uint32_t)get(&r, 4), n_pf = (uint32_t)get(&r, 4);
	uint32_t n_pkg = (uint32_t)get(&r, 4);
	rc = get_releases(&r, idx, n_rel);
	rc = rc ? rc : get_pfiles(&r, idx, n_pf);
	rc = rc ? rc : get_pkgs(&r, idx, n_pkg);
	if (rc == 0 && (r.bad || r.off != r.end)) {
		rc = lks_err(ctx, -LKS_E_PARSE, "apt index snapshot is corrupt");
	}
	rc = rc ? rc : apt_index_rebuild(idx);
	if (rc < 0) {
		size_t max = idx->max_pkgs;
		lks_apt_index_free(idx);
		lks_apt_index_init(idx);
		idx->max_pkgs = max;
	}
	return rc;
}

static int key_file(struct lks_buf *key, const char *label, const char *path)
{
	char dg[LKS_DIGEST_LEN + 1];
	int rc = lks_sha256_file(path, dg);
	if (rc < 0) {
		return rc;
	}
	return lks_buf_printf(key, "%s=%s %s\n", label, path, dg);
}

/* Every Release/InRelease in the lists directory, by name, with its digest. */
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
	int rc = lks_apt_index_restore(ctx, idx, key, p, (size_t)st.st_size);
	munmap(p, (size_t)st.st_size);
	return rc;
}
