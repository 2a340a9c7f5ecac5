/* apt indexes from the archives over HTTP, with the cache in front (see apt_fetch.h). */
#include "pinner/apt/apt_fetch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pinner/apt/apt_image.h"
#include "pinner/apt/apt_index.h"
#include "pinner/apt/apt_sources.h"
#include "lockstep/atomic.h"
#include "lockstep/auth.h"
#include "lockstep/buf.h"
#include "lockstep/cache.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/http.h"
#include "lockstep/httpcache.h"
#include "pinner/apt/apt_int.h"

#define MAX_RELEASE ((size_t)64 << 20)
#define MAX_PACKAGES ((size_t)1 << 30)
#define SNAP_NS "apt-index"
#define BLOB_NS "apt-packages"
#define KEY_VERSION "lockstep apt fetch v1"

/* One suite of one source: its Release file and what it became in the index. */
struct suite_job {
	const struct lks_apt_fetch_src *fs;
	char *base;         /* "URI/dists/SUITE" */
	struct lks_buf rel; /* InRelease, or Release */
	struct lks_buf sig; /* Release.gpg when rel is a plain Release */
	bool inrelease;
	bool found;
	struct lks_apt_release parsed;
	bool have_parsed;
};

/* One file to fetch with the cache in front. */
struct fetch {
	char *url;
	struct lks_buf *out;
	bool revalidate; /* InRelease-like: ask the archive whether the cached copy is current */
	const char *blob_sha; /* Packages-like: cached by this sha256, never revalidated */
	size_t max;
	bool notfound;
	bool offline_miss; /* not found because offline and not cached */
};

/* A Packages-like file already cached under its sha256: f->out filled, true. */
static bool blob_cached(struct lks_ctx *ctx, struct fetch *f)
{
	char got[LKS_DIGEST_LEN + 1];
	int rc = lks_cache_get(ctx, BLOB_NS, f->blob_sha, f->out, NULL);
	if (rc == 0 && lks_sha256_buf(f->out->data, f->out->len, got) == 0 &&
	    !strcmp(got + 7, f->blob_sha)) {
		return true;
	}
	lks_buf_reset(f->out);
	ctx->err[0] = '\0';
	return false;
}

/* The outcome of one transfer (or cache answer) into f->out. Release-family files go through
 * the HTTP cache (revalidated); Packages files are content-addressed and stored here. */
static int take(struct lks_ctx *ctx, struct fetch *f, struct lks_http_req *r)
{
	if (r->rc == -LKS_E_OFFLINE && f->revalidate) {
		/* a Release-family file may legitimately be absent (InRelease vs Release) */
		f->notfound = f->offline_miss = true;
		return 0;
	}
	if (r->rc == -LKS_E_OFFLINE) {
		return lks_err(ctx, r->rc,
		               "cannot fetch apt index '%s' offline: it is not in the cache", f->url);
	}
	if (r->rc == -LKS_E_NOTFOUND) {
		f->notfound = true;
		return 0;
	}
	if (r->rc < 0) {
		return lks_err(ctx, r->rc, "cannot fetch apt index '%s': %s", f->url, r->errdetail);
	}
	int rc = lks_buf_append(f->out, r->body.data ? r->body.data : "", r->body.len);
	if (rc == 0 && f->blob_sha) {
		int prc = lks_cache_put(ctx, BLOB_NS, f->blob_sha, f->out->data, f->out->len);
		if (prc < 0) {
			lks_httpcache_warn(ctx, prc);
		}
	}
	return rc;
}

/* Run the network part: HTTP-cached requests, then content-addressed ones; offline, an
 * uncached blob fails like an uncached page. Transport failures and offline misses are
 * per-request outcomes (r->rc), judged by take(). */
static int run_split(struct lks_ctx *ctx, struct lks_http_req **web, struct lks_httpcache_entry *e,
                     int nweb, struct lks_http_req **blobs, int nblobs)
{
	int rc = nweb ? lks_httpcache_run(ctx, web, e, nweb) : 0;
	rc = rc == -LKS_E_NET || rc == -LKS_E_TIMEOUT || rc == -LKS_E_OFFLINE ? 0 : rc;
	for (int i = 0; ctx->offline && i < nblobs; i++) {
		blobs[i]->rc = -LKS_E_OFFLINE;
	}
	if (rc == 0 && nblobs && !ctx->offline) {
		rc = lks_http_run(ctx, blobs, nblobs);
		rc = rc == -LKS_E_NET || rc == -LKS_E_TIMEOUT ? 0 : rc;
	}
	return rc;
}

static int run_batch(struct lks_ctx *ctx, struct fetch *f, size_t n, struct lks_http_req *reqs,
                     struct lks_http_req **ptrs, struct lks_httpcache_entry *e, size_t *which)
{
	int nweb = 0, nblobs = 0;
	for (size_t i = 0; i < n; i++) { /* pages fill ptrs from the front, blobs from the back */
		if (f[i].blob_sha && blob_cached(ctx, &f[i])) {
			continue;
		}
		size_t k = f[i].blob_sha ? n - 1 - (size_t)nblobs++ : (size_t)nweb++;
		lks_http_req_init(&reqs[k], LKS_HTTP_GET, f[i].url);
		reqs[k].plain_http_ok = true;
		reqs[k].max_body = f[i].max;
		ptrs[k] = &reqs[k];
		which[k] = i;
	}
	int rc = run_split(ctx, ptrs, e, nweb, ptrs + n - nblobs, nblobs);
	for (size_t k = 0; k < n; k++) {
		bool used = k < (size_t)nweb || k >= n - (size_t)nblobs;
		if (used && rc == 0) {
			rc = take(ctx, &f[which[k]], &reqs[k]);
		}
		if (used) {
			lks_http_req_free(&reqs[k]);
		}
	}
	return rc;
}

/* Fetch every file (cache first), in parallel batches. */
static int fetch_all(struct lks_ctx *ctx, struct fetch *f, size_t n)
{
	if (n == 0) {
		return 0;
	}
	struct lks_http_req *reqs = calloc(n, sizeof(*reqs));
	struct lks_http_req **ptrs = calloc(n, sizeof(*ptrs));
	struct lks_httpcache_entry *e = calloc(n, sizeof(*e));
	size_t *which = calloc(n, sizeof(*which));
	int rc = reqs && ptrs && e && which ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		lks_httpcache_entry_init(&e[i]);
	}
	if (rc == 0) {
		rc = run_batch(ctx, f, n, reqs, ptrs, e, which);
	}
	for (size_t i = 0; e && i < n; i++) {
		lks_httpcache_entry_free(&e[i]);
	}
	free(which);
	free(e);
	free(ptrs);
	free(reqs);
	return rc;
}

/* ---- Release files ---- */

static bool same_suite(const struct lks_apt_source *a, const struct lks_apt_source *b)
{
	return !strcmp(a->uri, b->uri) && !strcmp(a->suite, b->suite);
}

static int jobs_make(struct lks_ctx *ctx, const struct lks_apt_fetch_src *srcs, size_t n,
                     struct suite_job *jobs, size_t *nj)
{
	*nj = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++) {
			dup = same_suite(srcs[i].src, srcs[j].src);
		}
		const struct lks_apt_source *s = srcs[i].src;
		if (dup) {
			continue;
		}
		if (s->suite[0] && s->suite[strlen(s->suite) - 1] == '/') {
			return lks_err(ctx, -LKS_E_UNSUPPORTED,
			               "apt source '%s %s': flat repositories are not supported",
			               s->uri, s->suite);
		}
		struct suite_job *j = &jobs[(*nj)++];
		j->fs = &srcs[i];
		lks_buf_init(&j->rel, MAX_RELEASE);
		lks_buf_init(&j->sig, 1 << 20);
		if (asprintf(&j->base, "%s/dists/%s", s->uri, s->suite) < 0) {
			j->base = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

static void jobs_free(struct suite_job *jobs, size_t n)
{
	for (size_t i = 0; jobs && i < n; i++) {
		free(jobs[i].base);
		lks_buf_free(&jobs[i].rel);
		lks_buf_free(&jobs[i].sig);
		if (jobs[i].have_parsed) {
			lks_apt_release_free(&jobs[i].parsed);
		}
	}
	free(jobs);
}

static void fetches_free(struct fetch *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].url);
	}
	free(f);
}

/* InRelease of every suite; then Release + Release.gpg where there is no InRelease. */
static int fetch_releases(struct lks_ctx *ctx, struct suite_job *jobs, size_t nj)
{
	struct fetch *f = calloc(2 * nj + 1, sizeof(*f));
	size_t nf = 0;
	int rc = f ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < nj; i++, nf++) {
		f[nf] = (struct fetch){.out = &jobs[i].rel, .revalidate = true, .max = MAX_RELEASE};
		rc = asprintf(&f[nf].url, "%s/InRelease", jobs[i].base) < 0 ? -ENOMEM : 0;
	}
	rc = rc ? rc : fetch_all(ctx, f, nf);
	size_t first = nf;
	for (size_t i = 0; rc == 0 && i < nj; i++) {
		jobs[i].inrelease = jobs[i].found = !f[i].notfound;
		if (!f[i].notfound) {
			continue;
		}
		f[nf] = (struct fetch){.out = &jobs[i].rel, .revalidate = true, .max = MAX_RELEASE};
		rc = asprintf(&f[nf++].url, "%s/Release", jobs[i].base) < 0 ? -ENOMEM : 0;
	}
	rc = rc ? rc : fetch_all(ctx, f + first, nf - first);
	for (size_t i = 0, k = first; rc == 0 && i < nj; i++) {
		if (jobs[i].inrelease) {
			continue;
		}
		jobs[i].found = !f[k].notfound;
		if (!jobs[i].found && f[k].offline_miss) {
			rc = lks_err(
			    ctx, -LKS_E_OFFLINE,
			    "cannot fetch the Release file of '%s' offline: it is not in the "
			    "cache",
			    jobs[i].base);
		} else if (!jobs[i].found) {
			rc = lks_err(ctx, -LKS_E_NOTFOUND,
			             "apt source '%s %s' has no InRelease or Release file at '%s/'",
			             jobs[i].fs->src->uri, jobs[i].fs->src->suite, jobs[i].base);
		}
		k++;
	}
	fetches_free(f, nf);
	return rc;
}

/* Release.gpg of the suites that only have a plain Release (missing: unsigned). */
static int fetch_detached(struct lks_ctx *ctx, struct suite_job *jobs, size_t nj)
{
	struct fetch *f = calloc(nj + 1, sizeof(*f));
	size_t nf = 0;
	int rc = f ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < nj; i++) {
		if (jobs[i].inrelease || jobs[i].fs->n_keys == 0) {
			continue;
		}
		f[nf] = (struct fetch){.out = &jobs[i].sig, .revalidate = true, .max = 1 << 20};
		rc = asprintf(&f[nf++].url, "%s/Release.gpg", jobs[i].base) < 0 ? -ENOMEM : 0;
	}
	rc = rc ? rc : fetch_all(ctx, f, nf);
	fetches_free(f, nf);
	return rc;
}

/* ---- signatures ---- */

/* The binary form of an armored key block (gpgv reads only binary keyrings). */
static int dearmor(const char *data, size_t len, struct lks_buf *out)
{
	struct lks_buf b64;
	lks_buf_init(&b64, len + 1);
	const char *p = data, *end = data + len;
	bool body = false;
	int rc = 0;
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		while (l && (p[l - 1] == '\r' || p[l - 1] == ' ')) {
			l--;
		}
		if ((l >= 8 && !strncmp(p, "-----END", 8)) || (body && l && p[0] == '=')) {
			break;
		}
		if (body) {
			rc = lks_buf_append(&b64, p, l);
		} else if (l == 0) {
			body = true;
		}
		p = nl ? nl + 1 : end;
	}
	char *dec = NULL;
	size_t n = 0;
	rc = rc ? rc : lks_base64_decode(b64.data ? b64.data : "", &dec, &n);
	rc = rc ? rc : lks_buf_append(out, dec, n);
	free(dec);
	lks_buf_free(&b64);
	return rc;
}

static bool armored(const struct lks_apt_keyring *k)
{
	static const char tag[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
	return k->len >= sizeof(tag) - 1 && memmem(k->data, k->len, tag, sizeof(tag) - 1);
}

static int write_keys(struct lks_ctx *ctx, const char *dir, const struct lks_apt_fetch_src *fs)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < fs->n_keys; i++) {
		const struct lks_apt_keyring *k = fs->keys[i];
		char path[4200];
		struct lks_buf bin;
		lks_buf_init(&bin, 0);
		snprintf(path, sizeof(path), "%s/keys/k%zu.gpg", dir, i);
		if (armored(k) && dearmor(k->data, k->len, &bin) < 0) {
			lks_buf_free(&bin);
			return lks_err(ctx, -LKS_E_PARSE, "cannot read the armored keyring '%s'",
			               k->path);
		}
		rc = armored(k) ? lks_write_file_atomic(ctx, path, bin.data, bin.len, 0600)
		                : lks_write_file_atomic(ctx, path, k->data, k->len, 0600);
		lks_buf_free(&bin);
	}
	return rc;
}

static void rm_tree(const char *dir, const struct suite_job *j)
{
	char path[4200];
	for (size_t i = 0; i < j->fs->n_keys; i++) {
		snprintf(path, sizeof(path), "%s/keys/k%zu.gpg", dir, i);
		unlink(path);
	}
	const char *const names[] = {"InRelease", "Release", "Release.gpg"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/keys", dir);
	rmdir(path);
	rmdir(dir);
}

/* gpgv needs files: the Release (and signature) and the keys go to a private temp dir. */
static int verify_in(struct lks_ctx *ctx, const char *dir, const struct suite_job *j)
{
	char path[4200], keys[4200];
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	if (mkdir(keys, 0700) < 0) {
		return lks_err(ctx, -errno, "cannot create '%s': %s", keys, strerror(errno));
	}
	int rc = write_keys(ctx, dir, j->fs);
	snprintf(path, sizeof(path), "%s/%s", dir, j->inrelease ? "InRelease" : "Release");
	rc = rc ? rc : lks_write_file_atomic(ctx, path, j->rel.data, j->rel.len, 0600);
	if (rc == 0 && !j->inrelease) {
		char sig[4300];
		snprintf(sig, sizeof(sig), "%s.gpg", path);
		rc = lks_write_file_atomic(ctx, sig, j->sig.data, j->sig.len, 0600);
	}
	return rc ? rc : lks_apt_release_verify(ctx, path, keys);
}

/* Check the signature of a suite's Release; sets the release's sig state. */
static int verify(struct lks_ctx *ctx, struct suite_job *j)
{
	const char *url = j->base;
	if (j->fs->n_keys == 0) {
		lks_warn(ctx, "warning: signature of '%s/%s' not checked: no keyring for it", url,
		         j->inrelease ? "InRelease" : "Release");
		return 0;
	}
	if (!j->inrelease && j->sig.len == 0) {
		return lks_err(ctx, -LKS_E_CRYPTO, "'%s/Release' is not signed (no Release.gpg)",
		               url);
	}
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/lockstep-apt-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		return lks_err(ctx, -errno, "cannot create a temporary directory: %s",
		               strerror(errno));
	}
	int rc = verify_in(ctx, dir, j);
	rm_tree(dir, j);
	if (rc == -LKS_E_CRYPTO) {
		return lks_err(ctx, rc, "bad or unverifiable signature on '%s/%s'", url,
		               j->inrelease ? "InRelease" : "Release");
	}
	if (rc == 1) {
		j->parsed.sig = LKS_APT_SIG_GOOD;
	}
	return rc < 0 ? rc : 0;
}

static int parse_release(struct lks_ctx *ctx, struct suite_job *j)
{
	char what[4200];
	snprintf(what, sizeof(what), "%s/%s", j->base, j->inrelease ? "InRelease" : "Release");
	int rc = lks_apt_release_parse(ctx, what, j->rel.data ? j->rel.data : "", j->rel.len,
	                               &j->parsed);
	if (rc < 0) {
		return rc;
	}
	j->have_parsed = true;
	j->parsed.sig = LKS_APT_SIG_UNCHECKED;
	j->parsed.uri = strdup(j->fs->src->uri);
	j->parsed.site = lks_apt_uri_site(j->fs->src->uri);
	j->parsed.path = strdup(what);
	if (!j->parsed.uri || !j->parsed.site || !j->parsed.path) {
		return -ENOMEM;
	}
	return verify(ctx, j);
}

/* ---- Packages files ---- */

struct pkgs_job {
	size_t job; /* suite_job and release index */
	const char *comp, *arch;
	const char *ext;
	const struct lks_apt_hashent *h;
	struct lks_buf data;
};

static bool arch_wanted(const struct lks_apt_source *src, const char *arch)
{
	for (char **a = src->archs; a && *a; a++) {
		if (!strcmp(*a, arch)) {
			return true;
		}
	}
	return !src->archs;
}

/* The smallest form of comp/binary-arch/Packages the Release lists, NULL when none. */
static const struct lks_apt_hashent *pick_form(const struct lks_apt_release *r, const char *comp,
                                               const char *arch, const char **ext)
{
	static const char *const exts[] = {".xz", ".gz", ""};
	char path[600];
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		snprintf(path, sizeof(path), "%s/binary-%s/Packages%s", comp, arch, exts[i]);
		const struct lks_apt_hashent *h = lks_apt_release_find(r, path);
		if (h) {
			*ext = exts[i];
			return h;
		}
	}
	return NULL;
}

static int pkgs_plan(const struct suite_job *jobs, size_t nj, const struct lks_apt_index *idx,
                     const char *const *archs, struct pkgs_job **out, size_t *n)
{
	size_t cap = 0, cnt = 0;
	struct pkgs_job *v = NULL;
	for (size_t i = 0; i < nj; i++) {
		const struct lks_apt_source *s = jobs[i].fs->src;
		for (char **c = s->components; c && *c; c++) {
			for (size_t a = 0; archs[a]; a++) {
				const char *ext;
				const struct lks_apt_hashent *h =
				    arch_wanted(s, archs[a])
				        ? pick_form(&idx->releases[i], *c, archs[a], &ext)
				        : NULL;
				if (!h) {
					continue; /* the suite does not carry it */
				}
				if (cnt == cap) {
					cap = cap ? cap * 2 : 8;
					struct pkgs_job *nv = realloc(v, cap * sizeof(*nv));
					if (!nv) {
						free(v);
						return -ENOMEM;
					}
					v = nv;
				}
				v[cnt] = (struct pkgs_job){i, *c, archs[a], ext, h, {0}};
				lks_buf_init(&v[cnt++].data, h->size + 1);
			}
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

static void pkgs_free(struct pkgs_job *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		lks_buf_free(&v[i].data);
	}
	free(v);
}

static int pkgs_fetch(struct lks_ctx *ctx, struct suite_job *jobs, struct pkgs_job *pj, size_t n)
{
	struct fetch *f = calloc(n + 1, sizeof(*f));
	int rc = f ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		f[i] = (struct fetch){
		    .out = &pj[i].data, .blob_sha = pj[i].h->sha256, .max = pj[i].h->size + 1};
		rc = asprintf(&f[i].url, "%s/%s", jobs[pj[i].job].base, pj[i].h->path) < 0 ? -ENOMEM
		                                                                           : 0;
	}
	rc = rc ? rc : fetch_all(ctx, f, n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (f[i].notfound) {
			rc = lks_err(
			    ctx, -LKS_E_NOTFOUND,
			    "cannot fetch apt index '%s': the archive answered 404 although "
			    "its Release lists it",
			    f[i].url);
		}
	}
	fetches_free(f, n);
	return rc;
}

/* The index module names the file relative to its suite: say which archive and suite. */
static int pkgs_add(struct lks_ctx *ctx, const struct suite_job *jobs, struct lks_apt_index *idx,
                    struct pkgs_job *pj, size_t n)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct pkgs_job *p = &pj[i];
		if (p->ext[0]) {
			rc = lks_apt_index_add_packages_compressed(
			    ctx, idx, p->job, p->comp, p->arch, p->ext, p->data.data, p->data.len);
		} else {
			rc = lks_apt_index_add_packages_mem(ctx, idx, p->job, p->comp, p->arch,
			                                    p->data.data ? p->data.data : "",
			                                    p->data.len);
		}
		if (rc < 0 && rc != -ENOMEM) {
			char detail[sizeof(ctx->err)];
			snprintf(detail, sizeof(detail), "%s", lks_errmsg(ctx, rc));
			rc = lks_err(ctx, rc, "apt archive '%s': %s", jobs[p->job].base, detail);
		}
	}
	return rc;
}

/* ---- the parsed-index snapshot ----
 *
 * A file beside the cache database, mapped and used in place (apt_snapshot.c): one slot per
 * set of sources and architectures, replaced (atomically) when a Release changes, so the
 * directory does not grow with every archive update. Its key adds the Release digests. */

static int snap_key(const struct suite_job *jobs, size_t nj, const char *const *archs,
                    struct lks_buf *slot, struct lks_buf *key)
{
	int rc = lks_buf_puts(slot, KEY_VERSION "\narchs");
	for (size_t a = 0; rc == 0 && archs[a]; a++) {
		rc = lks_buf_printf(slot, " %s", archs[a]);
	}
	for (size_t i = 0; rc == 0 && i < nj; i++) {
		const struct lks_apt_source *s = jobs[i].fs->src;
		rc = lks_buf_printf(slot, "\n%s %s", s->uri, s->suite);
		for (char **c = s->components; rc == 0 && c && *c; c++) {
			rc = lks_buf_printf(slot, " %s", *c);
		}
		for (char **a = s->archs; rc == 0 && a && *a; a++) {
			rc = lks_buf_printf(slot, " arch=%s", *a);
		}
	}
	rc = rc ? rc : lks_buf_append(key, slot->data, slot->len);
	for (size_t i = 0; rc == 0 && i < nj; i++) {
		char sha[LKS_DIGEST_LEN + 1];
		rc = lks_sha256_buf(jobs[i].rel.data, jobs[i].rel.len, sha);
		rc = rc ? rc : lks_buf_printf(key, "\nrelease %zu %s %d", i, sha,
		                              (int)jobs[i].parsed.sig);
	}
	return rc;
}

/* <cache>/apt-index/<digest of the slot>.idx; mkdir makes the directories. */
static int snap_path(struct lks_ctx *ctx, const struct lks_buf *slot, bool mkdir_too,
                     struct lks_buf *path)
{
	char id[LKS_DIGEST_LEN + 1];
	int rc = lks_cache_dir(ctx, path);
	if (rc == 0 && mkdir_too && mkdir(path->data, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
	}
	rc = rc ? rc : lks_buf_puts(path, "/" SNAP_NS);
	if (rc == 0 && mkdir_too && mkdir(path->data, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
	}
	rc = rc ? rc : lks_sha256_buf(slot->data, slot->len, id);
	return rc ? rc : lks_buf_printf(path, "/%.32s.idx", id + 7);
}

/* The index shared by every resolution of the run: its blocks are all checked up front (a
 * resolution cannot be asked again later if a block turned out damaged). A missing or stale
 * snapshot is rebuilt silently; a damaged or foreign one with a warning. */
static bool snap_restore(struct lks_ctx *ctx, const struct lks_buf *slot, const char *key,
                         struct lks_apt_index *idx)
{
	struct lks_buf path;
	lks_buf_init(&path, 8192);
	int rc = snap_path(ctx, slot, false, &path);
	rc = rc ? rc : lks_apt_index_restore_file(ctx, idx, key, path.data);
	rc = rc ? rc : lks_apt_index_check_all(ctx, idx);
	if (rc < 0 && rc != -ENOENT && rc != -LKS_E_CONFLICT) {
		lks_warn(ctx, "warning: rebuilding the apt index: %s", lks_errmsg(ctx, rc));
	}
	if (rc < 0) {
		size_t max = idx->max_pkgs;
		lks_apt_index_free(idx);
		lks_apt_index_init(idx);
		idx->max_pkgs = max;
	}
	lks_buf_free(&path);
	ctx->err[0] = '\0';
	return rc == 0;
}

static void snap_save(struct lks_ctx *ctx, const struct lks_buf *slot, const char *key,
                      const struct lks_apt_index *idx)
{
	struct lks_buf b, path;
	lks_buf_init(&b, (size_t)1 << 31);
	lks_buf_init(&path, 8192);
	int rc = lks_apt_index_save(ctx, idx, key, &b);
	rc = rc ? rc : snap_path(ctx, slot, true, &path);
	rc = rc ? rc : lks_write_file_atomic(ctx, path.data, b.data, b.len, 0600);
	if (rc < 0) {
		lks_httpcache_warn(ctx, rc);
	}
	lks_buf_free(&b);
	lks_buf_free(&path);
}

static int load_packages(struct lks_ctx *ctx, struct suite_job *jobs, size_t nj,
                         const char *const *archs, struct lks_apt_index *idx)
{
	for (size_t i = 0; i < nj; i++) {
		int rc = lks_apt_index_add_release(idx, &jobs[i].parsed);
		if (rc < 0) {
			return rc;
		}
		jobs[i].have_parsed = false; /* owned by the index now */
	}
	struct pkgs_job *pj = NULL;
	size_t np = 0;
	int rc = pkgs_plan(jobs, nj, idx, archs, &pj, &np);
	rc = rc ? rc : pkgs_fetch(ctx, jobs, pj, np);
	rc = rc ? rc : pkgs_add(ctx, jobs, idx, pj, np);
	pkgs_free(pj, np);
	return rc;
}

int lks_apt_fetch_index(struct lks_ctx *ctx, const struct lks_apt_fetch_src *srcs, size_t n,
                        const char *const *archs, struct lks_apt_index *idx)
{
	struct suite_job *jobs = calloc(n + 1, sizeof(*jobs));
	size_t nj = 0;
	struct lks_buf key, slot;
	lks_buf_init(&key, 0);
	lks_buf_init(&slot, 0);
	int rc = jobs ? jobs_make(ctx, srcs, n, jobs, &nj) : -ENOMEM;
	rc = rc ? rc : fetch_releases(ctx, jobs, nj);
	rc = rc ? rc : fetch_detached(ctx, jobs, nj);
	for (size_t i = 0; rc == 0 && i < nj; i++) {
		rc = parse_release(ctx, &jobs[i]);
	}
	rc = rc ? rc : snap_key(jobs, nj, archs, &slot, &key);
	bool warm = rc == 0 && !ctx->refresh && snap_restore(ctx, &slot, key.data, idx);
	if (rc == 0 && !warm) {
		rc = load_packages(ctx, jobs, nj, archs, idx);
		if (rc == 0) {
			snap_save(ctx, &slot, key.data, idx);
		}
	}
	jobs_free(jobs, nj);
	lks_buf_free(&key);
	lks_buf_free(&slot);
	return rc;
}
