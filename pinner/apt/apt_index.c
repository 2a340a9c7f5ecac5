#include "lockstep/sort.h"
#include "pinner/apt/apt_index.h"
#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "pinner/apt/deb822.h"
#include "lockstep/digest.h"
#include "pinner/apt/apt_sources.h"
#include "lockstep/archive.h"
#include "lockstep/error.h"
#include "pinner/apt/apt_int.h"

#define ARENA_BLOCK ((size_t)1 << 20)
#define MAX_RELEASE ((size_t)64 << 20)
#define MAX_HASHES 100000
#define DEFAULT_MAX_PKGS 4000000
#define NIL UINT32_MAX
#define RESERVE_MAX ((size_t)1 << 20)
#define PARA_BYTES_MIN 600 /* Debian's Packages average ~790 bytes a paragraph */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

static char *arena_strdup(struct lks_apt_index *idx, const char *s)
{
	if (!s) {
		return NULL;
	}
	size_t n = strlen(s) + 1;
	struct arena_block *b = idx->arena;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		struct arena_block *nb = malloc(sizeof(*nb) + cap);
		if (!nb) {
			return NULL;
		}
		nb->next = b;
		nb->used = 0;
		nb->cap = cap;
		idx->arena = b = nb;
	}
	char *p = b->data + b->used;
	memcpy(p, s, n);
	b->used += n;
	return p;
}

static int rehash(struct lks_apt_index *idx, size_t n_buckets);

void lks_apt_index_init(struct lks_apt_index *idx)
{
	memset(idx, 0, sizeof(*idx));
	idx->max_pkgs = DEFAULT_MAX_PKGS;
}

void lks_apt_index_free(struct lks_apt_index *idx)
{
	for (size_t i = 0; i < idx->n_releases; i++) {
		lks_apt_release_free(&idx->releases[i]);
	}
	free(idx->releases);
	for (size_t i = 0; i < idx->n_pfiles; i++) {
		free(idx->pfiles[i].component);
		free(idx->pfiles[i].arch);
	}
	free(idx->pfiles);
	free(idx->pkgs);
	free(idx->buckets);
	apt_snap_close(idx->snap);
	struct arena_block *b = idx->arena;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	memset(idx, 0, sizeof(*idx));
}

uint32_t apt_name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h = (h ^ (unsigned char)*s) * 16777619u;
	}
	return h;
}

static int rehash(struct lks_apt_index *idx, size_t n_buckets)
{
	uint32_t *b = malloc(n_buckets * sizeof(*b));
	if (!b) {
		return -ENOMEM;
	}
	memset(b, 0xff, n_buckets * sizeof(*b));
	for (size_t i = 0; i < idx->n_pkgs; i++) {
		uint32_t h = apt_name_hash(idx->pkgs[i].name) & (uint32_t)(n_buckets - 1);
		idx->pkgs[i].next = b[h];
		b[h] = (uint32_t)i;
	}
	free(idx->buckets);
	idx->buckets = b;
	idx->n_buckets = n_buckets;
	return 0;
}

/* Room for `more` entries up front (from a Packages file's size), so a big index is not
 * copied by doubling nor rehashed on the way. Bounded: the size may be a hostile claim. */
static int reserve(struct lks_apt_index *idx, size_t more)
{
	size_t want = idx->n_pkgs + (more < RESERVE_MAX ? more : RESERVE_MAX);
	want = want < idx->max_pkgs ? want : idx->max_pkgs;
	if (idx->snap || want <= idx->cap_pkgs) {
		return 0;
	}
	struct lks_apt_pkg *p = realloc(idx->pkgs, want * sizeof(*p));
	if (!p) {
		return -ENOMEM;
	}
	idx->pkgs = p;
	idx->cap_pkgs = want;
	size_t nb = idx->n_buckets ? idx->n_buckets : 4096;
	while (nb < want) {
		nb *= 4;
	}
	return nb != idx->n_buckets ? rehash(idx, nb) : 0;
}

static int add_pkg(struct lks_apt_index *idx, const struct lks_apt_pkg *pkg)
{
	if (idx->snap) {
		return -LKS_E_INVAL; /* a mapped snapshot is read-only */
	}
	if (idx->n_pkgs >= idx->max_pkgs) {
		return -LKS_E_TOOBIG;
	}
	if (idx->n_pkgs == idx->cap_pkgs) {
		size_t cap = idx->cap_pkgs ? idx->cap_pkgs * 2 : 1024;
		struct lks_apt_pkg *p = realloc(idx->pkgs, cap * sizeof(*p));
		if (!p) {
			return -ENOMEM;
		}
		idx->pkgs = p;
		idx->cap_pkgs = cap;
	}
	idx->pkgs[idx->n_pkgs++] = *pkg;
	if (idx->n_pkgs > idx->n_buckets) {
		return rehash(idx, idx->n_buckets ? idx->n_buckets * 4 : 4096);
	}
	uint32_t h = apt_name_hash(pkg->name) & (uint32_t)(idx->n_buckets - 1);
	idx->pkgs[idx->n_pkgs - 1].next = idx->buckets[h];
	idx->buckets[h] = (uint32_t)(idx->n_pkgs - 1);
	return 0;
}

const struct lks_apt_pkg *lks_apt_index_find(const struct lks_apt_index *idx, const char *name)
{
	if (idx->snap) {
		return apt_snap_find(idx, name);
	}
	if (!idx->n_buckets) {
		return NULL;
	}
	uint32_t i = idx->buckets[apt_name_hash(name) & (uint32_t)(idx->n_buckets - 1)];
	while (i != NIL && strcmp(idx->pkgs[i].name, name)) {
		i = idx->pkgs[i].next;
	}
	return i == NIL ? NULL : &idx->pkgs[i];
}

const struct lks_apt_pkg *lks_apt_index_next(const struct lks_apt_index *idx,
                                             const struct lks_apt_pkg *p)
{
	if (idx->snap) {
		return apt_snap_next(idx, p);
	}
	uint32_t i = p->next;
	while (i != NIL && strcmp(idx->pkgs[i].name, p->name)) {
		i = idx->pkgs[i].next;
	}
	return i == NIL ? NULL : &idx->pkgs[i];
}

const struct lks_apt_pkg *lks_apt_index_at(const struct lks_apt_index *idx, size_t i)
{
	if (idx->snap) {
		return apt_snap_at(idx, i);
	}
	return i < idx->n_pkgs ? &idx->pkgs[i] : NULL;
}

/* Strip the OpenPGP clearsign armour: the text between the header block and the signature,
 * with dash-escaping undone. Plain Release files pass through unchanged. */
static int unarmor(struct lks_ctx *ctx, const char *what, const char *d, size_t n,
                   struct lks_buf *out)
{
	static const char begin[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	if (n < sizeof(begin) - 1 || memcmp(d, begin, sizeof(begin) - 1)) {
		return lks_buf_append(out, d, n);
	}
	const char *end = d + n;
	const char *p = memmem(d, n, "\n\n", 2);
	if (!p) {
		return lks_err(ctx, -LKS_E_PARSE, "cannot parse %s: clearsigned header not ended",
		               what);
	}
	p += 2;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (len >= 5 && !memcmp(p, "-----", 5)) {
			return 0;
		}
		const char *l = p;
		if (len >= 2 && !memcmp(l, "- ", 2)) {
			l += 2;
			len -= 2;
		}
		int rc = lks_buf_append(out, l, len);
		if (rc < 0) {
			return rc;
		}
		p = nl ? nl + 1 : end;
	}
	return lks_err(ctx, -LKS_E_PARSE, "cannot parse %s: clearsigned text has no signature",
	               what);
}

static int parse_hashes(struct lks_ctx *ctx, const char *what, const char *v,
                        struct lks_apt_release *rel)
{
	size_t cap = 0;
	while (*v) {
		const char *nl = strchr(v, '\n');
		size_t len = nl ? (size_t)(nl - v) : strlen(v);
		char hex[65], path[1024];
		unsigned long long size;
		_cleanup_free_ char *line = strndup(v, len);
		if (!line) {
			return -ENOMEM;
		}
		v = nl ? nl + 1 : v + len;
		if (line[strspn(line, " \t")] == '\0') {
			continue;
		}
		if (sscanf(line, " %64[0-9a-fA-F] %llu %1023s", hex, &size, path) != 3 ||
		    strlen(hex) != 64) {
			return lks_err(ctx, -LKS_E_PARSE,
			               "cannot parse %s: bad SHA256 line '%.80s'", what, line);
		}
		if (rel->n_hashes >= MAX_HASHES) {
			return lks_err(ctx, -LKS_E_TOOBIG,
			               "cannot parse %s: too many SHA256 entries", what);
		}
		if (rel->n_hashes == cap) {
			cap = cap ? cap * 2 : 64;
			struct lks_apt_hashent *h = realloc(rel->hashes, cap * sizeof(*h));
			if (!h) {
				return -ENOMEM;
			}
			rel->hashes = h;
		}
		struct lks_apt_hashent *e = &rel->hashes[rel->n_hashes];
		for (int i = 0; i < 65; i++) {
			e->sha256[i] =
			    (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] + 32 : hex[i]);
		}
		e->size = size;
		if (!(e->path = strdup(path))) {
			return -ENOMEM;
		}
		rel->n_hashes++;
	}
	return 0;
}

static time_t parse_release_date(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *comma = strchr(s, ',');
	const char *p = comma ? comma + 1 : s;
	const char *end = strptime(p, " %d %b %Y %H:%M:%S", &tm);
	if (!end) {
		return 0;
	}
	return timegm(&tm);
}

struct rel_state {
	struct lks_ctx *ctx;
	const char *what;
	struct lks_apt_release *rel;
	int n;
};

static int dup_field(const struct lks_deb822_para *p, const char *name, char **out)
{
	const char *v = lks_deb822_get(p, name);
	if (!v) {
		return 0;
	}
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int release_para(void *opaque, const struct lks_deb822_para *p)
{
	struct rel_state *st = opaque;
	struct lks_apt_release *rel = st->rel;
	if (st->n++) {
		return lks_err(st->ctx, -LKS_E_PARSE, "cannot parse %s: more than one paragraph",
		               st->what);
	}
	int rc = 0;
	rc = rc ? rc : dup_field(p, "Origin", &rel->origin);
	rc = rc ? rc : dup_field(p, "Label", &rel->label);
	rc = rc ? rc : dup_field(p, "Suite", &rel->suite);
	rc = rc ? rc : dup_field(p, "Codename", &rel->codename);
	rc = rc ? rc : dup_field(p, "Version", &rel->version);
	rc = rc ? rc : dup_field(p, "Date", &rel->date);
	rc = rc ? rc : dup_field(p, "Architectures", &rel->architectures);
	rc = rc ? rc : dup_field(p, "Components", &rel->components);
	if (rc < 0) {
		return rc;
	}
	const char *v = lks_deb822_get(p, "NotAutomatic");
	rel->not_automatic = v && !strcasecmp(v, "yes");
	v = lks_deb822_get(p, "ButAutomaticUpgrades");
	rel->but_automatic_upgrades = v && !strcasecmp(v, "yes");
	v = lks_deb822_get(p, "No-Support-for-Architecture-all");
	rel->no_arch_all = v && !strcasecmp(v, "Packages");
	rel->date_epoch = rel->date ? parse_release_date(rel->date) : 0;
	v = lks_deb822_get(p, "SHA256");
	return v ? parse_hashes(st->ctx, st->what, v, rel) : 0;
}

int lks_apt_release_parse(struct lks_ctx *ctx, const char *what, const char *data, size_t n,
                          struct lks_apt_release *rel)
{
	memset(rel, 0, sizeof(*rel));
	struct lks_buf body;
	lks_buf_init(&body, MAX_RELEASE);
	int rc = unarmor(ctx, what, data, n, &body);
	struct rel_state st = {ctx, what, rel, 0};
	if (rc == 0) {
		rc = lks_deb822_parse(ctx, what, 0, body.data ? body.data : "", body.len,
		                      release_para, &st);
	}
	lks_buf_free(&body);
	if (rc == 0 && st.n == 0) {
		rc = lks_err(ctx, -LKS_E_PARSE, "cannot parse %s: empty Release file", what);
	}
	if (rc < 0) {
		lks_apt_release_free(rel);
	}
	return rc;
}

void lks_apt_release_free(struct lks_apt_release *rel)
{
	char **strs[] = {&rel->origin,  &rel->label, &rel->suite,         &rel->codename,
	                 &rel->version, &rel->date,  &rel->architectures, &rel->components,
	                 &rel->site,    &rel->uri,   &rel->path};
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < rel->n_hashes; i++) {
		free(rel->hashes[i].path);
	}
	free(rel->hashes);
	rel->hashes = NULL;
	rel->n_hashes = 0;
}

const struct lks_apt_hashent *lks_apt_release_find(const struct lks_apt_release *rel,
                                                   const char *path)
{
	for (size_t i = 0; i < rel->n_hashes; i++) {
		if (!strcmp(rel->hashes[i].path, path)) {
			return &rel->hashes[i];
		}
	}
	return NULL;
}

int lks_apt_index_add_release(struct lks_apt_index *idx, struct lks_apt_release *rel)
{
	struct lks_apt_release *nv = realloc(idx->releases, (idx->n_releases + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	idx->releases = nv;
	idx->releases[idx->n_releases] = *rel;
	memset(rel, 0, sizeof(*rel));
	return (int)idx->n_releases++;
}

struct pkgs_state {
	struct lks_ctx *ctx;
	struct lks_apt_index *idx;
	const char *what;
	uint32_t pfile;
};

static bool valid_sha256_hex(const char *s)
{
	if (!s || strlen(s) != 64) {
		return false;
	}
	return strspn(s, "0123456789abcdef") == 64;
}

enum pkg_field {
	F_PACKAGE, F_VERSION, F_ARCH, F_SIZE, F_SHA256, F_FILENAME, F_PROVIDES, F_MULTI_ARCH,
	F_DEPENDS, F_PRE_DEPENDS, F_BREAKS, F_CONFLICTS, N_PKG_FIELDS
};

/* The fields an entry keeps, found in one pass over the paragraph (a Packages paragraph has
 * ~20 fields; looking each up by name would compare ~250 names per package). The first of
 * a repeated field wins, as with lks_deb822_get. */
static void pkg_fields(const struct lks_deb822_para *p, const char *v[N_PKG_FIELDS])
{
#define F(s) {s, sizeof(s) - 1}
	static const struct {
		const char *name;
		size_t len;
	} want[N_PKG_FIELDS] = {F("Package"),     F("Version"),  F("Architecture"), F("Size"),
	                        F("SHA256"),      F("Filename"), F("Provides"),     F("Multi-Arch"),
	                        F("Depends"),     F("Pre-Depends"), F("Breaks"),    F("Conflicts")};
#undef F
	memset(v, 0, N_PKG_FIELDS * sizeof(*v));
	for (size_t i = 0; i < p->n; i++) {
		const char *name = p->fields[i].name;
		size_t len = strlen(name);
		for (size_t k = 0; k < N_PKG_FIELDS; k++) {
			if (len == want[k].len && !v[k] && !strcasecmp(name, want[k].name)) {
				v[k] = p->fields[i].value;
				break;
			}
		}
	}
}

static int pkgs_para(void *opaque, const struct lks_deb822_para *p)
{
	struct pkgs_state *st = opaque;
	struct lks_apt_index *idx = st->idx;
	const char *f[N_PKG_FIELDS];
	pkg_fields(p, f);
	if (!f[F_PACKAGE] || !f[F_VERSION] || !f[F_ARCH] || !*f[F_PACKAGE] || !*f[F_VERSION] ||
	    !*f[F_ARCH]) {
		return lks_err(st->ctx, -LKS_E_PARSE,
		               "cannot parse %s: paragraph at line %zu lacks Package, Version or "
		               "Architecture",
		               st->what, p->line);
	}
	struct lks_apt_pkg pkg = {
	    .name = arena_strdup(idx, f[F_PACKAGE]),
	    .version = arena_strdup(idx, f[F_VERSION]),
	    .arch = arena_strdup(idx, f[F_ARCH]),
	    .filename = arena_strdup(idx, f[F_FILENAME]),
	    .sha256 = valid_sha256_hex(f[F_SHA256]) ? arena_strdup(idx, f[F_SHA256]) : NULL,
	    .provides = arena_strdup(idx, f[F_PROVIDES]),
	    .multi_arch = arena_strdup(idx, f[F_MULTI_ARCH]),
	    .depends = arena_strdup(idx, f[F_DEPENDS]),
	    .pre_depends = arena_strdup(idx, f[F_PRE_DEPENDS]),
	    .breaks = arena_strdup(idx, f[F_BREAKS]),
	    .conflicts = arena_strdup(idx, f[F_CONFLICTS]),
	    .size = f[F_SIZE] ? strtoull(f[F_SIZE], NULL, 10) : 0,
	    .pfile = st->pfile,
	    .next = NIL,
	};
	if (!pkg.name || !pkg.version || !pkg.arch) {
		return -ENOMEM;
	}
	int rc = add_pkg(idx, &pkg);
	if (rc == -LKS_E_TOOBIG) {
		return lks_err(st->ctx, rc, "cannot index %s: more than %zu package entries",
		               st->what, idx->max_pkgs);
	}
	return rc;
}

static int add_pfile(struct lks_apt_index *idx, size_t release, const char *comp, const char *arch)
{
	struct lks_apt_pfile *nv = realloc(idx->pfiles, (idx->n_pfiles + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	idx->pfiles = nv;
	struct lks_apt_pfile *pf = &idx->pfiles[idx->n_pfiles];
	pf->release = release;
	pf->component = strdup(comp);
	pf->arch = strdup(arch);
	pf->priority = 0;
	idx->n_pfiles++;
	return pf->component && pf->arch ? (int)(idx->n_pfiles - 1) : -ENOMEM;
}

/* Parsing runs while hashing; on any failure the entries this file added are dropped, so
 * nothing from an unverified file is ever visible. */
struct pkgs_load {
	struct pkgs_state st;
	struct lks_deb822 parser;
	struct lks_sha256 sha;
	uint64_t total;
	size_t start_pkgs;
	const struct lks_apt_hashent *want; /* NULL: the compressed file was verified instead */
	char label[512];
};

/* Cap on a decompressed Packages file the Release gives no size for (its compressed form was
 * verified, as apt accepts). */
#define MAX_UNLISTED_PLAIN ((uint64_t)1 << 30)

/* verified: the caller checked the compressed form against the Release, so the plain file
 * may be absent from it (apt-ftparchive lists only the files that exist). */
static int load_begin(struct lks_ctx *ctx, struct lks_apt_index *idx, size_t release,
                      const char *comp, const char *arch, bool verified, struct pkgs_load *l)
{
	memset(l, 0, sizeof(*l));
	if (release >= idx->n_releases) {
		return lks_err(ctx, -LKS_E_INVAL, "no release %zu in the apt index", release);
	}
	const struct lks_apt_release *rel = &idx->releases[release];
	char path[512];
	snprintf(path, sizeof(path), "%s/binary-%s/Packages", comp, arch);
	snprintf(l->label, sizeof(l->label), "Packages of '%s' %s (%s)",
	         rel->suite ? rel->suite : "?", comp, arch);
	l->want = lks_apt_release_find(rel, path);
	if (!l->want && !verified) {
		return lks_err(ctx, -LKS_E_DIGEST,
		               "cannot use %s: the Release file has no SHA256 entry for '%s'",
		               l->label, path);
	}
	int pf = add_pfile(idx, release, comp, arch);
	if (pf < 0) {
		return pf;
	}
	if (l->want && reserve(idx, (size_t)(l->want->size / PARA_BYTES_MIN)) < 0) {
		return -ENOMEM;
	}
	l->start_pkgs = idx->n_pkgs;
	l->st = (struct pkgs_state){ctx, idx, l->label, (uint32_t)pf};
	lks_deb822_init(&l->parser, ctx, l->label, 0, 0, pkgs_para, &l->st);
	return lks_sha256_init(&l->sha) < 0 ? lks_err(ctx, -LKS_E_CRYPTO, "sha256 init failed") : 0;
}

static int load_chunk(struct pkgs_load *l, const void *p, size_t n)
{
	l->total += n;
	if (!l->want && l->total > MAX_UNLISTED_PLAIN) {
		return lks_err(l->st.ctx, -LKS_E_TOOBIG, "cannot use %s: larger than %llu bytes",
		               l->label, (unsigned long long)MAX_UNLISTED_PLAIN);
	}
	if (l->want && l->total > l->want->size) {
		return lks_err(l->st.ctx, -LKS_E_DIGEST,
		               "cannot use %s: larger than the %llu bytes its Release entry says",
		               l->label, (unsigned long long)l->want->size);
	}
	if (lks_sha256_update(&l->sha, p, n) < 0) {
		return lks_err(l->st.ctx, -LKS_E_CRYPTO, "sha256 update failed");
	}
	return lks_deb822_feed(&l->parser, p, n);
}

static int load_end(struct pkgs_load *l, int rc)
{
	struct lks_ctx *ctx = l->st.ctx;
	char got[LKS_DIGEST_LEN + 1];
	if (rc == 0) {
		rc = lks_deb822_finish(&l->parser);
	}
	if (rc == 0 && l->want && l->total != l->want->size) {
		rc = lks_err(ctx, -LKS_E_DIGEST,
		             "cannot use %s: %llu bytes, its Release entry says %llu", l->label,
		             (unsigned long long)l->total, (unsigned long long)l->want->size);
	}
	if (rc == 0 && lks_sha256_final(&l->sha, got) < 0) {
		rc = lks_err(ctx, -LKS_E_CRYPTO, "sha256 final failed");
	} else if (rc == 0 && l->want && strcmp(got + 7, l->want->sha256)) {
		rc = lks_err(ctx, -LKS_E_DIGEST,
		             "cannot use %s: sha256 %s, its Release entry says %s", l->label,
		             got + 7, l->want->sha256);
	}
	lks_sha256_free(&l->sha);
	lks_deb822_free(&l->parser);
	if (rc < 0 && l->st.idx->n_pkgs != l->start_pkgs) {
		l->st.idx->n_pkgs = l->start_pkgs;
		int rc2 = rehash(l->st.idx, l->st.idx->n_buckets ? l->st.idx->n_buckets : 4096);
		(void)rc2;
	}
	return rc;
}

/* Decompress an opened raw stream chunk by chunk into the loader (bounded memory). */
static int feed_archive(struct pkgs_load *l, struct lks_archive *a)
{
	struct lks_archive_entry *e;
	int rc = lks_archive_next(a, &e);
	if (rc <= 0) {
		return rc;
	}
	_cleanup_free_ char *buf = malloc((size_t)1 << 20);
	if (!buf) {
		return -ENOMEM;
	}
	for (;;) {
		long got = lks_archive_read(a, buf, (size_t)1 << 20);
		if (got <= 0) {
			return (int)got;
		}
		rc = load_chunk(l, buf, (size_t)got);
		if (rc < 0) {
			return rc;
		}
	}
}

/* Name the file in decompression errors; the loader's own errors already do. */
static int decompress_error(struct lks_ctx *ctx, int rc, const char *what)
{
	if (rc >= 0 || rc == -LKS_E_DIGEST || rc == -LKS_E_PARSE || rc == -LKS_E_TOOBIG) {
		return rc;
	}
	char detail[sizeof(ctx->err)];
	snprintf(detail, sizeof(detail), "%s", lks_errmsg(ctx, rc));
	return lks_err(ctx, rc, "cannot decompress '%s' (corrupt or truncated?): %s", what, detail);
}

static int add_compressed_fd(struct lks_ctx *ctx, struct lks_apt_index *idx, size_t release,
                             const char *component, const char *arch, const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return lks_err(ctx, -errno, "cannot open '%s': %s", path, strerror(errno));
	}
	struct pkgs_load l;
	int rc = load_begin(ctx, idx, release, component, arch, false, &l);
	if (rc < 0) {
		return rc;
	}
	struct lks_archive *a = NULL;
	rc = lks_archive_open_fd(ctx, &a, fd, LKS_ARCHIVE_RAW, NULL);
	if (rc == 0) {
		rc = feed_archive(&l, a);
	}
	lks_archive_close(a);
	return load_end(&l, decompress_error(ctx, rc, path));
}

int lks_apt_index_add_packages_compressed(struct lks_ctx *ctx, struct lks_apt_index *idx,
                                          size_t release, const char *component, const char *arch,
                                          const char *ext, const void *data, size_t n)
{
	if (release >= idx->n_releases) {
		return lks_err(ctx, -LKS_E_INVAL, "no release %zu in the apt index", release);
	}
	char path[512], got[LKS_DIGEST_LEN + 1];
	snprintf(path, sizeof(path), "%s/binary-%s/Packages%s", component, arch, ext);
	const struct lks_apt_hashent *h = lks_apt_release_find(&idx->releases[release], path);
	if (!h) {
		return lks_err(ctx, -LKS_E_DIGEST,
		               "cannot use '%s': not listed in the Release file", path);
	}
	if (lks_sha256_buf(data, n, got) < 0) {
		return lks_err(ctx, -LKS_E_CRYPTO, "sha256 failed");
	}
	if (n != h->size || strcmp(got + 7, h->sha256)) {
		return lks_err(ctx, -LKS_E_DIGEST,
		               "cannot use '%s': sha256 %s (%zu bytes), the Release "
		               "file says %s (%llu bytes)",
		               path, got + 7, n, h->sha256, (unsigned long long)h->size);
	}
	struct pkgs_load l;
	int rc = load_begin(ctx, idx, release, component, arch, true, &l);
	if (rc < 0) {
		return rc;
	}
	struct lks_archive *a = NULL;
	rc = lks_archive_open_mem(ctx, &a, data, n, LKS_ARCHIVE_RAW, NULL);
	if (rc == 0) {
		rc = feed_archive(&l, a);
	}
	lks_archive_close(a);
	return load_end(&l, decompress_error(ctx, rc, path));
}

int lks_apt_index_add_packages_mem(struct lks_ctx *ctx, struct lks_apt_index *idx, size_t release,
                                   const char *component, const char *arch, const char *data,
                                   size_t n)
{
	struct pkgs_load l;
	int rc = load_begin(ctx, idx, release, component, arch, false, &l);
	if (rc < 0) {
		return rc;
	}
	return load_end(&l, load_chunk(&l, data, n));
}

int lks_apt_index_add_packages_file(struct lks_ctx *ctx, struct lks_apt_index *idx, size_t release,
                                    const char *component, const char *arch, const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return lks_err(ctx, -errno, "cannot open '%s': %s", path, strerror(errno));
	}
	struct pkgs_load l;
	int rc = load_begin(ctx, idx, release, component, arch, false, &l);
	if (rc < 0) {
		return rc;
	}
	_cleanup_free_ char *buf = malloc((size_t)1 << 20);
	if (!buf) {
		return load_end(&l, -ENOMEM);
	}
	for (;;) {
		ssize_t got = read(fd, buf, (size_t)1 << 20);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got < 0) {
			rc = lks_err(ctx, -errno, "cannot read '%s': %s", path, strerror(errno));
		} else if (got > 0) {
			rc = load_chunk(&l, buf, (size_t)got);
		}
		if (got <= 0 || rc < 0) {
			break;
		}
	}
	return load_end(&l, rc);
}

static int load_release_file(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *dir,
                             const char *prefix, const char *uri)
{
	char path[4096];
	struct lks_buf b;
	lks_buf_init(&b, MAX_RELEASE);
	snprintf(path, sizeof(path), "%s/%sInRelease", dir, prefix);
	int rc = lks_buf_read_file(&b, path);
	bool signed_file = rc == 0;
	if (rc == -ENOENT) {
		snprintf(path, sizeof(path), "%s/%sRelease", dir, prefix);
		rc = lks_buf_read_file(&b, path);
	}
	if (rc < 0) {
		lks_buf_free(&b);
		return lks_err(ctx, rc, "cannot read the Release file for '%s' in '%s': %s", prefix,
		               dir, lks_strerror(rc));
	}
	struct lks_apt_release rel;
	rc = lks_apt_release_parse(ctx, path, b.data, b.len, &rel);
	lks_buf_free(&b);
	if (rc < 0) {
		return rc;
	}
	char detached[4200];
	snprintf(detached, sizeof(detached), "%s.gpg", path);
	bool has_sig = signed_file || access(detached, F_OK) == 0;
	rel.sig = has_sig ? LKS_APT_SIG_UNCHECKED : LKS_APT_SIG_UNSIGNED;
	rel.uri = uri ? strdup(uri) : NULL;
	rel.site = uri ? lks_apt_uri_site(uri) : NULL;
	rel.path = strdup(path);
	if (!rel.path) {
		lks_apt_release_free(&rel);
		return -ENOMEM;
	}
	rc = lks_apt_index_add_release(idx, &rel);
	if (rc < 0) {
		lks_apt_release_free(&rel);
	}
	return rc;
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int load_one_packages(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *dir,
                             const char *prefix, size_t rel, const char *comp, const char *arch,
                             bool strict)
{
	char ent[512], path[4096];
	snprintf(ent, sizeof(ent), "%s/binary-%s/Packages", comp, arch);
	if (!lks_apt_release_find(&idx->releases[rel], ent)) {
		return 0; /* this suite does not carry the component/architecture */
	}
	int n = snprintf(path, sizeof(path), "%s/%s", dir, prefix);
	for (const char *c = ent; *c && n < (int)sizeof(path) - 1; c++) {
		path[n++] = *c == '/' ? '_' : *c;
	}
	path[n] = '\0';
	if (file_exists(path)) {
		return lks_apt_index_add_packages_file(ctx, idx, rel, comp, arch, path);
	}
	/* Acquire::GzipIndexes keeps lists compressed; the plain entry's digest still applies */
	static const char *const comp_ext[] = {".lz4", ".gz", ".xz", ".zst", ".bz2"};
	for (size_t i = 0; i < ARRAY_SIZE(comp_ext); i++) {
		char cpath[4200];
		snprintf(cpath, sizeof(cpath), "%s%s", path, comp_ext[i]);
		if (file_exists(cpath)) {
			return add_compressed_fd(ctx, idx, rel, comp, arch, cpath);
		}
	}
	if (!strict) {
		return 0; /* without sources we cannot know the component was wanted */
	}
	return lks_err(ctx, -LKS_E_NOTFOUND, "cannot find '%s': run apt-get update for it", path);
}

static int load_suite(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *dir,
                      const char *prefix, const char *uri, char *const *comps,
                      const char *const *archs)
{
	int rel = load_release_file(ctx, idx, dir, prefix, uri);
	if (rel < 0) {
		return rel;
	}
	char **own = NULL;
	if (!comps) {
		const char *c = idx->releases[rel].components;
		own = apt_strv_split(c ? c : "main", false);
		if (!own) {
			return -ENOMEM;
		}
		comps = own;
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && comps[i]; i++) {
		for (size_t j = 0; rc == 0 && archs[j]; j++) {
			rc = load_one_packages(ctx, idx, dir, prefix, (size_t)rel, comps[i],
			                       archs[j], own == NULL);
		}
	}
	apt_strv_free(own);
	return rc;
}

static bool arch_allowed(const struct lks_apt_source *src, const char *arch)
{
	if (!src->archs) {
		return true;
	}
	for (char **a = src->archs; *a; a++) {
		if (!strcmp(*a, arch)) {
			return true;
		}
	}
	return false;
}

static int load_source(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *dir,
                       const struct lks_apt_source *src, const char *const *archs)
{
	const char *use[32];
	size_t n = 0;
	for (size_t i = 0; archs[i] && n + 1 < ARRAY_SIZE(use); i++) {
		if (arch_allowed(src, archs[i])) {
			use[n++] = archs[i];
		}
	}
	use[n] = NULL;
	_cleanup_free_ char *prefix = lks_apt_source_list_prefix(src);
	if (!prefix) {
		return -ENOMEM;
	}
	return load_suite(ctx, idx, dir, prefix, src->uri, src->components, use);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int apt_lists_releases(struct lks_ctx *ctx, const char *dir, char ***names, size_t *n)
{
	enum { MAX_RELEASES = 1024 };
	DIR *d = opendir(dir);
	if (!d) {
		return lks_err(ctx, -errno, "cannot open apt lists '%s': %s", dir, strerror(errno));
	}
	char **v = calloc(MAX_RELEASES, sizeof(*v));
	size_t k = 0;
	struct dirent *e;
	int rc = v ? 0 : -ENOMEM;
	while (rc == 0 && k < MAX_RELEASES && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 7 && !strcmp(e->d_name + l - 7, "Release")) {
			rc = (v[k++] = strdup(e->d_name)) ? 0 : -ENOMEM;
		}
	}
	closedir(d);
	if (rc < 0) {
		for (size_t i = 0; v && i < k; i++) {
			free(v[i]);
		}
		free(v);
		return rc;
	}
	lks_qsort(v, k, sizeof(v[0]), cmp_str);
	*names = v;
	*n = k;
	return 0;
}

/* The suite prefix of a lists file name: "<prefix>InRelease", or "<prefix>Release" when no
 * InRelease of the same prefix exists. NULL when the name is not one to load. */
static char *release_prefix(const char *dir, const char *name)
{
	size_t l = strlen(name);
	if (l > 9 && !strcmp(name + l - 9, "InRelease")) {
		return strndup(name, l - 9);
	}
	if (l > 8 && !strcmp(name + l - 8, "_Release")) {
		char in[1024];
		snprintf(in, sizeof(in), "%s/%.*sInRelease", dir, (int)(l - 7), name);
		return file_exists(in) ? NULL : strndup(name, l - 7);
	}
	return NULL;
}

/* Without sources: every "<prefix>InRelease" (or "<prefix>Release") in the directory. */
static int scan_dir(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *dir,
                    const char *const *archs)
{
	char **names = NULL;
	size_t n = 0;
	int rc = apt_lists_releases(ctx, dir, &names, &n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *prefix = rc == 0 ? release_prefix(dir, names[i]) : NULL;
		if (prefix) {
			rc = load_suite(ctx, idx, dir, prefix, NULL, NULL, archs);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int lks_apt_index_load_lists(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *dir,
                             const struct lks_apt_sources *sources, const char *const *archs)
{
	if (!sources) {
		return scan_dir(ctx, idx, dir, archs);
	}
	for (size_t i = 0; i < sources->n; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++) {
			dup = dup || (!strcmp(sources->v[i].uri, sources->v[j].uri) &&
			              !strcmp(sources->v[i].suite, sources->v[j].suite));
		}
		int rc = dup ? 0 : load_source(ctx, idx, dir, &sources->v[i], archs);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int run_gpgv(struct lks_ctx *ctx, char **argv)
{
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	extern char **environ;
	int rc = posix_spawnp(&pid, "gpgv", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == ENOENT) {
		return 0;
	}
	if (rc) {
		return lks_err(ctx, -rc, "cannot run gpgv: %s", strerror(rc));
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			return lks_err(ctx, -errno, "cannot wait for gpgv: %s", strerror(errno));
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		return 0;
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : -LKS_E_CRYPTO;
}

int lks_apt_release_verify(struct lks_ctx *ctx, const char *path, const char *keyring)
{
	char *argv[72] = {"gpgv", "--quiet"};
	size_t n = 2;
	_cleanup_free_ char *keys = NULL;
	DIR *d = opendir(keyring);
	struct lks_buf kb;
	lks_buf_init(&kb, 65536);
	/* gpgv looks up a keyring name without a slash in its home directory */
	char rel[4096];
	snprintf(rel, sizeof(rel), "%s%s", strchr(keyring, '/') ? "" : "./", keyring);
	if (!d) {
		argv[n++] = "--keyring";
		argv[n++] = rel;
	}
	struct dirent *e;
	size_t offs[32], nk = 0;
	while (d && (e = readdir(d)) && nk < ARRAY_SIZE(offs)) {
		size_t l = strlen(e->d_name);
		if (l > 4 &&
		    (!strcmp(e->d_name + l - 4, ".gpg") || !strcmp(e->d_name + l - 4, ".asc"))) {
			offs[nk++] = kb.len;
			if (lks_buf_printf(&kb, "%s/%s", keyring, e->d_name) < 0 ||
			    lks_buf_putc(&kb, '\0') < 0) {
				break;
			}
		}
	}
	if (d) {
		closedir(d);
	}
	keys = kb.data;
	for (size_t i = 0; i < nk; i++) {
		argv[n++] = "--keyring";
		argv[n++] = keys + offs[i];
	}
	/* a plain Release is checked against its detached Release.gpg */
	char detached[4200];
	size_t pl = strlen(path);
	snprintf(detached, sizeof(detached), "%s.gpg", path);
	if (pl >= 9 && strcmp(path + pl - 9, "InRelease") && access(detached, F_OK) == 0) {
		argv[n++] = detached;
	}
	argv[n++] = (char *)path;
	argv[n] = NULL;
	int rc = run_gpgv(ctx, argv);
	if (rc == 0) {
		lks_warn(ctx, "signature of '%s' not checked: gpgv is not installed", path);
	} else if (rc == -LKS_E_CRYPTO) {
		rc = lks_err(ctx, rc, "bad or unverifiable signature on '%s' (keyring '%s')", path,
		             keyring);
	}
	return rc;
}
