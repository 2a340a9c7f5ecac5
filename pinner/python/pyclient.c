/* Package index client; see pinner/python/pyclient.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/sort.h"
#include "lockstep/archive.h"
#include "lockstep/buf.h"
#include "lockstep/cache.h"
#include "lockstep/cleanup.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/http.h"
#include "lockstep/httpcache.h"
#include "pinner/python/pyclient.h"

#define PYCLIENT_MAX_DIST ((size_t)512 << 20) /* a wheel or sdist downloaded for metadata */

int pyclient_init(struct pyclient *c, struct lks_ctx *ctx, const char *index_url,
                  const struct lks_pytarget *t)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->target = *t;
	size_t l = strlen(index_url);
	c->index_url = malloc(l + 2);
	if (!c->index_url) {
		return -ENOMEM;
	}
	snprintf(c->index_url, l + 2, "%s%s", index_url, l && index_url[l - 1] == '/' ? "" : "/");
	char full[64];
	snprintf(full, sizeof(full), "%d.%d.%d", t->major, t->minor, t->micro);
	return lks_pep440_parse(ctx, full, strlen(full), &c->python);
}

static void proj_free(struct pyproj *p)
{
	if (!p) {
		return;
	}
	for (size_t k = 0; k < p->nversions; k++) {
		free(p->versions[k].files);
		lks_pymeta_free(&p->versions[k].meta);
	}
	free(p->versions);
	free(p->dists);
	lks_pyproject_free(&p->page);
	free(p);
}

void pyclient_free(struct pyclient *c)
{
	for (size_t k = 0; k < c->nprojs; k++) {
		proj_free(c->projs[k]);
	}
	free(c->projs);
	free(c->index_url);
	for (size_t k = 0; k < c->nextra; k++) {
		free(c->extra_urls[k]);
	}
	free(c->extra_urls);
	memset(c, 0, sizeof(*c));
}

bool pyclient_python_ok(const struct lks_pep440 *python, const char *requires_python, bool *invalid)
{
	if (!requires_python) {
		return true;
	}
	struct lks_pep440_specset set;
	lks_pep440_specset_init(&set);
	bool parsed =
	    lks_pep440_specset_parse(NULL, requires_python, strlen(requires_python), &set) == 0;
	bool ok = parsed && lks_pep440_specset_contains(&set, python, true);
	lks_pep440_specset_free(&set);
	*invalid = *invalid || !parsed;
	return ok;
}

static struct pyversion *version_slot(struct pyproj *p, const struct lks_pep440 *v)
{
	for (size_t k = 0; k < p->nversions; k++) {
		if (lks_pep440_cmp(&p->versions[k].v, v) == 0) {
			return &p->versions[k];
		}
	}
	struct pyversion *nv = realloc(p->versions, (p->nversions + 1) * sizeof(*nv));
	if (!nv) {
		return NULL;
	}
	p->versions = nv;
	struct pyversion *s = &nv[p->nversions++];
	memset(s, 0, sizeof(*s));
	s->v = *v;
	s->all_yanked = true;
	lks_pep440_str(v, s->text, sizeof(s->text));
	lks_pymeta_init(&s->meta);
	return s;
}

static int cmp_versions_desc(const void *a, const void *b)
{
	return lks_pep440_cmp(&((const struct pyversion *)b)->v, &((const struct pyversion *)a)->v);
}

static int group_versions(struct pyclient *c, struct pyproj *p)
{
	p->dists = calloc(p->page.n ? p->page.n : 1, sizeof(*p->dists));
	if (!p->dists) {
		return -ENOMEM;
	}
	for (size_t k = 0; k < p->page.n; k++) {
		const struct lks_pyfile *f = &p->page.files[k];
		struct pydist_info *d = &p->dists[k];
		d->ok = lks_pydist_parse_name(NULL, f->filename, p->key, &d->name) == 0;
		if (!d->ok) {
			continue; /* pip ignores files it cannot attribute to a version */
		}
		struct pyversion *v = version_slot(p, &d->name.version);
		size_t *files = v ? realloc(v->files, (v->nfiles + 1) * sizeof(*files)) : NULL;
		if (!files) {
			return -ENOMEM;
		}
		d->usable =
		    lks_pydist_compatible(&d->name, &c->target) &&
		    pyclient_python_ok(&c->python, f->requires_python, &v->bad_requires_python);
		v->files = files;
		files[v->nfiles++] = k;
		if (d->usable) {
			v->usable = true;
			v->all_yanked = v->all_yanked && f->yanked;
		}
	}
	lks_qsort(p->versions, p->nversions, sizeof(*p->versions), cmp_versions_desc);
	return 0;
}

/* Plain http:// refused: say which option allows it (the URL without credentials). */
static int unsafe_index(struct pyclient *c, const char *url)
{
	struct lks_buf key;
	lks_buf_init(&key, 0);
	bool shown = lks_cache_url_key(url, &key) == 0;
	int rc = lks_err(c->ctx, -LKS_E_UNSAFE,
	                 "refusing plain http to the package index ('%s' is neither https nor "
	                 "loopback): use https, or allow it with --insecure-index",
	                 shown ? key.data : "a URL with credentials");
	lks_buf_free(&key);
	return rc;
}

/* The outcome of one finished request: 0 for 200, an error with a detail otherwise. */
static int fetch_check(struct pyclient *c, struct lks_http_req *r, int rc)
{
	if (rc == 0) {
		rc = r->rc;
	}
	if (rc == -LKS_E_UNSAFE && !strncasecmp(r->url, "http:", 5)) {
		return unsafe_index(c, r->url);
	}
	if (rc < 0 && r->errdetail[0]) {
		return lks_err(c->ctx, rc, "%s", r->errdetail);
	}
	if (rc < 0) {
		return lks_err(c->ctx, rc, "cannot fetch '%s': %s", r->url, lks_strerror(rc));
	}
	if (r->status == 404) {
		return lks_err(c->ctx, -LKS_E_NOTFOUND, "'%s' answered 404", r->url);
	}
	if (r->status != 200) {
		return lks_err(c->ctx, -LKS_E_HTTP, "'%s' answered %ld", r->url, r->status);
	}
	return 0;
}

/* One request per index for the page of key (r has 1 + nextra slots). */
static int page_reqs(struct pyclient *c, const char *key, struct lks_http_req *r)
{
	int rc = 0;
	for (size_t k = 0; k <= c->nextra; k++) {
		const char *index = k ? c->extra_urls[k - 1] : c->index_url;
		_cleanup_free_ char *url = NULL;
		if (asprintf(&url, "%s%s%s/", index, index[strlen(index) - 1] == '/' ? "" : "/",
		             key) < 0) {
			url = NULL;
		}
		lks_http_req_init(&r[k], LKS_HTTP_GET, url ? url : "");
		r[k].max_body = LKS_PYINDEX_MAX_PAGE;
		r[k].plain_http_ok = c->plain_http_ok;
		if (!url || lks_http_req_header(&r[k], LKS_PYINDEX_ACCEPT) < 0) {
			rc = -ENOMEM;
		}
	}
	return rc;
}

/* Files from every index are merged, as pip does with --extra-index-url. */
static int pages_done(struct pyclient *c, const char *key, struct lks_http_req *r,
                      const struct lks_httpcache_entry *e, int run_rc, struct pyproj *p)
{
	bool found = false;
	for (size_t k = 0; k <= c->nextra; k++) {
		int rc = fetch_check(c, &r[k], e[k].served ? 0 : run_rc);
		if (rc == -LKS_E_NOTFOUND) {
			continue;
		}
		if (rc == 0) {
			rc = lks_pyindex_parse(c->ctx,
			                       r[k].effective_url ? r[k].effective_url : r[k].url,
			                       lks_httpcache_content_type(&r[k], &e[k]),
			                       r[k].body.data, r[k].body.len, &p->page);
		}
		if (rc < 0) {
			return rc;
		}
		found = true;
	}
	if (!found) {
		return lks_err(c->ctx, -LKS_E_NOTFOUND,
		               "unknown package '%s': the index answered 404 for '%s'%s", key,
		               r[0].url, c->nextra ? " (and so did every extra index)" : "");
	}
	return group_versions(c, p);
}

static struct pyproj *new_proj(const char *key)
{
	struct pyproj *p = calloc(1, sizeof(*p));
	if (p) {
		snprintf(p->key, sizeof(p->key), "%s", key);
		lks_pyproject_init(&p->page);
	}
	return p;
}

static struct pyproj *known(const struct pyclient *c, const char *key)
{
	for (size_t k = 0; k < c->nprojs; k++) {
		if (!strcmp(c->projs[k]->key, key)) {
			return c->projs[k];
		}
	}
	return NULL;
}

static int add_proj(struct pyclient *c, struct pyproj *p)
{
	struct pyproj **v = reallocarray(c->projs, c->nprojs + 1, sizeof(*v));
	if (!v) {
		proj_free(p);
		return -ENOMEM;
	}
	c->projs = v;
	v[c->nprojs++] = p;
	return 0;
}

int pyclient_add_index(struct pyclient *c, const char *url)
{
	char **v = reallocarray(c->extra_urls, c->nextra + 1, sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	c->extra_urls = v;
	v[c->nextra] = strdup(url);
	return v[c->nextra++] ? 0 : -ENOMEM;
}

/* The page requests of a batch of projects: per project, one request per index. */
struct pagebatch {
	struct lks_http_req *r;
	struct lks_http_req **ptrs;
	struct lks_httpcache_entry *e;
	struct pyproj **ps;
	size_t m, per;
};

static void pagebatch_free(struct pagebatch *b)
{
	for (size_t k = 0; b->r && k < b->m * b->per; k++) {
		lks_http_req_free(&b->r[k]);
		lks_httpcache_entry_free(&b->e[k]);
	}
	for (size_t k = 0; b->ps && k < b->m; k++) {
		proj_free(b->ps[k]);
	}
	free(b->r);
	free(b->ptrs);
	free(b->e);
	free(b->ps);
}

static int pagebatch_add(struct pyclient *c, struct pagebatch *b, const char *key)
{
	if (known(c, key) || !(b->ps[b->m] = new_proj(key))) {
		return known(c, key) ? 0 : -ENOMEM;
	}
	size_t at = b->m * b->per;
	for (size_t j = 0; j < b->per; j++) {
		lks_httpcache_entry_init(&b->e[at + j]);
		b->ptrs[at + j] = &b->r[at + j];
	}
	b->m++;
	return page_reqs(c, key, &b->r[at]);
}

/* Fetch the pages of keys not known yet in one parallel batch (the cache in front); projects
 * found are added. The first failure is returned when report is set, else forgotten: the
 * project is fetched again, and the failure reported, if it is really needed. */
static int fetch_pages(struct pyclient *c, const char *const *keys, size_t n, bool report)
{
	struct pagebatch b = {.per = c->nextra + 1};
	b.r = calloc(n * b.per + 1, sizeof(*b.r));
	b.ptrs = calloc(n * b.per + 1, sizeof(*b.ptrs));
	b.e = calloc(n * b.per + 1, sizeof(*b.e));
	b.ps = calloc(n + 1, sizeof(*b.ps));
	int rc = b.r && b.ptrs && b.e && b.ps ? 0 : -ENOMEM;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		rc = pagebatch_add(c, &b, keys[k]);
	}
	int run = rc == 0 && b.m ? lks_httpcache_run(c->ctx, b.ptrs, b.e, (int)(b.m * b.per)) : 0;
	rc = rc ? rc : run == -ENOMEM ? run : 0;
	for (size_t k = 0; rc == 0 && k < b.m; k++) {
		size_t at = k * b.per;
		int prc = pages_done(c, b.ps[k]->key, &b.r[at], &b.e[at], run, b.ps[k]);
		if (prc == 0) {
			rc = add_proj(c, TAKE_PTR(b.ps[k]));
		} else if (report || prc == -ENOMEM) {
			rc = prc;
		}
	}
	if (!report) {
		c->ctx->err[0] = '\0';
	}
	pagebatch_free(&b);
	return rc;
}

int pyclient_project(struct pyclient *c, const char *key, struct pyproj **out)
{
	int rc = known(c, key) ? 0 : fetch_pages(c, &key, 1, true);
	*out = known(c, key);
	return rc;
}

/* Fetch the pages of several projects at once; failures are left for pyclient_project() to
 * report when (and if) the project is really needed. */
int pyclient_prefetch(struct pyclient *c, const char *const *keys, size_t n)
{
	return fetch_pages(c, keys, n, false);
}

/* The sha256 the index claims for a body, checked before the body is used. */
static int verify(struct pyclient *c, const char *what, const char *claimed, const void *p,
                  size_t n)
{
	if (!claimed[0]) {
		return 0;
	}
	char got[LKS_DIGEST_LEN + 1];
	int rc = lks_sha256_buf(p, n, got);
	if (rc < 0) {
		return rc;
	}
	if (strcmp(got + 7, claimed)) {
		return lks_err(c->ctx, -LKS_E_DIGEST,
		               "'%s' does not match the index: sha256 is %s, "
		               "the index says %s",
		               what, got + 7, claimed);
	}
	return 0;
}

/* Top-level "<dir>.dist-info/METADATA" of a wheel, or "<dir>/PKG-INFO" of an sdist. */
static bool member_wanted(const char *path, bool wheel)
{
	const char *slash = strchr(path, '/');
	if (!slash || strchr(slash + 1, '/')) {
		return false;
	}
	if (!wheel) {
		return !strcmp(slash + 1, "PKG-INFO");
	}
	size_t dl = (size_t)(slash - path);
	return !strcmp(slash + 1, "METADATA") && dl > 10 && !strncmp(slash - 10, ".dist-info", 10);
}

static int read_member(struct pyclient *c, struct lks_archive *a, const char *fn, bool wheel,
                       struct lks_buf *out)
{
	struct lks_archive_entry *e;
	int rc;
	while ((rc = lks_archive_next(a, &e)) > 0) {
		if (!member_wanted(e->path, wheel)) {
			continue;
		}
		char buf[16384];
		long n;
		while ((n = lks_archive_read(a, buf, sizeof(buf))) > 0) {
			if (lks_buf_append(out, buf, (size_t)n) < 0) {
				return lks_err(c->ctx, -LKS_E_TOOBIG,
				               "'%s': %s is larger than %zu "
				               "bytes",
				               fn, e->path, (size_t)LKS_PYDIST_MAX_METADATA);
			}
		}
		return n < 0 ? (int)n : 0;
	}
	if (rc == 0) {
		return lks_err(c->ctx, -LKS_E_NOTFOUND, "'%s' has no %s", fn,
		               wheel ? ".dist-info/METADATA" : "PKG-INFO");
	}
	return rc;
}

static int metadata_from_archive(struct pyclient *c, const struct lks_pyfile *f, bool wheel,
                                 const struct lks_buf *body, struct lks_buf *out)
{
	struct lks_archive_limits lim = {
	    .max_entries = 100000,
	    .max_entry_size = (uint64_t)1 << 32,
	    .max_total = (uint64_t)1 << 32,
	    .max_ratio = 200,
	};
	struct lks_archive *a = NULL;
	int rc = lks_archive_open_mem(c->ctx, &a, body->data, body->len,
	                              wheel ? LKS_ARCHIVE_ZIP : LKS_ARCHIVE_ANY, &lim);
	if (rc == 0) {
		rc = read_member(c, a, f->filename, wheel, out);
	}
	lks_archive_close(a);
	return rc;
}

/* Prefer a non-yanked installable file: a wheel with PEP 658 metadata, a wheel, an sdist. */
static ssize_t pick_file(const struct pyproj *p, const struct pyversion *v)
{
	ssize_t best = -1;
	int best_score = -1;
	for (size_t k = 0; k < v->nfiles; k++) {
		size_t i = v->files[k];
		const struct lks_pyfile *f = &p->page.files[i];
		const struct pydist_info *d = &p->dists[i];
		if (!d->usable || (f->yanked && !v->all_yanked)) {
			continue;
		}
		bool wheel = d->name.kind == LKS_PYDIST_WHEEL;
		int score = wheel ? (f->has_metadata ? 3 : 2) : 1;
		if (score > best_score) {
			best = (ssize_t)i;
			best_score = score;
		}
	}
	return best;
}

static bool uses_pep658(const struct pyproj *p, size_t i)
{
	return p->dists[i].name.kind == LKS_PYDIST_WHEEL && p->page.files[i].has_metadata;
}

/* The request that brings the metadata of file i: its PEP 658 file, or the file itself. */
static int meta_req(const struct pyclient *c, const struct pyproj *p, size_t i,
                    struct lks_http_req *r)
{
	_cleanup_free_ char *url = NULL;
	bool pep658 = uses_pep658(p, i);
	if (asprintf(&url, "%s%s", p->page.files[i].url, pep658 ? ".metadata" : "") < 0) {
		url = NULL;
	}
	lks_http_req_init(r, LKS_HTTP_GET, url ? url : "");
	r->max_body = pep658 ? LKS_PYDIST_MAX_METADATA : PYCLIENT_MAX_DIST;
	r->plain_http_ok = c->plain_http_ok;
	return url ? 0 : -ENOMEM;
}

/* A remembered file hash, by URL (see PYCLIENT_SHA_NS). */
static void sha_memo_get(struct pyclient *c, const char *url, char out[static 65])
{
	struct lks_buf key, val;
	lks_buf_init(&key, 0);
	lks_buf_init(&val, 65);
	if (lks_cache_url_key(url, &key) == 0 &&
	    lks_cache_get(c->ctx, PYCLIENT_SHA_NS, key.data, &val, NULL) == 0 && val.len == 64 &&
	    strspn(val.data, "0123456789abcdef") == 64) {
		memcpy(out, val.data, 65);
	}
	c->ctx->err[0] = '\0';
	lks_buf_free(&key);
	lks_buf_free(&val);
}

static void sha_memo_put(struct pyclient *c, const char *url, const char *hex)
{
	struct lks_buf key;
	lks_buf_init(&key, 0);
	if (lks_cache_url_key(url, &key) == 0) {
		int rc = lks_cache_put(c->ctx, PYCLIENT_SHA_NS, key.data, hex, strlen(hex));
		if (rc < 0) {
			lks_httpcache_warn(c->ctx, rc);
		}
	}
	lks_buf_free(&key);
}

/* The sha256 of file i: the index's, else one computed from its URL before; "" if unknown. */
static const char *file_sha(struct pyclient *c, struct pyproj *p, size_t i)
{
	struct pydist_info *d = &p->dists[i];
	if (p->page.files[i].sha256[0]) {
		return p->page.files[i].sha256;
	}
	if (!d->sha256[0] && !d->sha_looked_up) {
		d->sha_looked_up = true;
		sha_memo_get(c, p->page.files[i].url, d->sha256);
	}
	return d->sha256;
}

/* A file the index gave no hash for was downloaded: remember its hash. */
static int sha_learned(struct pyclient *c, struct pyproj *p, size_t i, const struct lks_buf *body)
{
	char got[LKS_DIGEST_LEN + 1];
	int rc = lks_sha256_buf(body->data ? body->data : "", body->len, got);
	if (rc == 0) {
		snprintf(p->dists[i].sha256, sizeof(p->dists[i].sha256), "%s", got + 7);
		sha_memo_put(c, p->page.files[i].url, got + 7);
	}
	return rc;
}

static int meta_text(struct pyclient *c, struct pyproj *p, size_t i, struct lks_http_req *r,
                     int run_rc, struct lks_buf *text)
{
	const struct lks_pyfile *f = &p->page.files[i];
	bool pep658 = uses_pep658(p, i);
	int rc = fetch_check(c, r, run_rc);
	if (rc == -LKS_E_TOOBIG && pep658) {
		rc = lks_err(c->ctx, rc, "'%s' is larger than %zu bytes", r->url,
		             (size_t)LKS_PYDIST_MAX_METADATA);
	}
	if (rc == 0) {
		rc = verify(c, r->url, pep658 ? f->metadata_sha256 : f->sha256, r->body.data,
		            r->body.len);
	}
	if (rc == 0 && !pep658 && !f->sha256[0]) {
		rc = sha_learned(c, p, i, &r->body);
	}
	if (rc == 0 && pep658) {
		rc = lks_buf_append(text, r->body.data ? r->body.data : "", r->body.len);
	} else if (rc == 0) {
		rc = metadata_from_archive(c, f, p->dists[i].name.kind == LKS_PYDIST_WHEEL,
		                           &r->body, text);
	}
	return rc;
}

/* Parse the metadata text of v (from file i). */
static int meta_parse(struct pyclient *c, struct pyproj *p, struct pyversion *v, size_t i,
                      const struct lks_buf *text)
{
	int rc = lks_pymeta_parse(c->ctx, text->data ? text->data : "", text->len, &v->meta);
	if (rc == 0 && p->dists[i].name.kind == LKS_PYDIST_SDIST &&
	    !lks_pymeta_static_deps(&v->meta)) {
		rc = lks_err(c->ctx, -LKS_E_UNSUPPORTED,
		             "sdist '%s' would need a build to know its dependencies (PKG-INFO is "
		             "not Metadata-Version >= 2.2 with static Requires-Dist)",
		             p->page.files[i].filename);
	}
	if (rc < 0) {
		lks_pymeta_free(&v->meta);
		return rc;
	}
	v->meta_loaded = true;
	return 0;
}

/* The cache key of the metadata of file i: the file's sha256 as the index gives it, else its
 * URL (see PYCLIENT_META_NS). "" when the URL is not cacheable (credentials). */
static void meta_key(const struct pyproj *p, size_t i, char *out, size_t len)
{
	const struct lks_pyfile *f = &p->page.files[i];
	struct lks_buf key;
	lks_buf_init(&key, len);
	if (f->sha256[0]) {
		snprintf(out, len, "sha256:%s", f->sha256);
	} else if (lks_cache_url_key(f->url, &key) == 0) {
		snprintf(out, len, "url:%s", key.data);
	} else {
		out[0] = '\0';
	}
	lks_buf_free(&key);
}

/* The metadata of v (file i) from the cache: 1 when loaded, 0 when not cached (or the copy
 * does not match the index's PEP 658 hash), or the error parsing the cached copy. */
static int meta_from_cache(struct pyclient *c, struct pyproj *p, struct pyversion *v, size_t i)
{
	char key[8192];
	const char *want = uses_pep658(p, i) ? p->page.files[i].metadata_sha256 : "";
	meta_key(p, i, key, sizeof(key));
	if (!key[0]) {
		return 0;
	}
	struct lks_buf text;
	lks_buf_init(&text, LKS_PYDIST_MAX_METADATA);
	int rc = lks_cache_get(c->ctx, PYCLIENT_META_NS, key, &text, NULL);
	if (rc == 0) {
		rc = verify(c, "cached metadata", want, text.data, text.len);
	}
	if (rc == 0) {
		rc = meta_parse(c, p, v, i, &text);
		rc = rc < 0 ? rc : 1;
	} else {
		c->ctx->err[0] = '\0';
		rc = 0;
	}
	lks_buf_free(&text);
	return rc;
}

/* Parse the metadata of v (from file i) out of a finished request; keep it in the cache. */
static int meta_done(struct pyclient *c, struct pyproj *p, struct pyversion *v, size_t i,
                     struct lks_http_req *r, int run_rc)
{
	struct lks_buf text;
	lks_buf_init(&text, LKS_PYDIST_MAX_METADATA);
	int rc = meta_text(c, p, i, r, run_rc, &text);
	rc = rc ? rc : meta_parse(c, p, v, i, &text);
	char key[8192] = "";
	if (rc == 0) {
		meta_key(p, i, key, sizeof(key));
	}
	if (key[0]) {
		int crc = lks_cache_put(c->ctx, PYCLIENT_META_NS, key, text.data ? text.data : "",
		                        text.len);
		if (crc < 0) {
			lks_httpcache_warn(c->ctx, crc);
		}
	}
	lks_buf_free(&text);
	return rc;
}

int pyclient_metadata(struct pyclient *c, struct pyproj *p, struct pyversion *v)
{
	if (v->meta_loaded) {
		return 0;
	}
	ssize_t i = pick_file(p, v);
	if (i < 0) {
		return lks_err(c->ctx, -LKS_E_NOTFOUND, "'%s %s' has no file for this target",
		               p->key, v->text);
	}
	int rc = meta_from_cache(c, p, v, (size_t)i);
	if (rc != 0) {
		return rc < 0 ? rc : 0;
	}
	struct lks_http_req r;
	rc = meta_req(c, p, (size_t)i, &r);
	if (rc == 0) {
		rc = lks_http_run(c->ctx, (struct lks_http_req *[]){&r}, 1);
		rc = meta_done(c, p, v, (size_t)i, &r, rc);
	}
	lks_http_req_free(&r);
	return rc;
}

/* The file whose metadata is worth fetching ahead for v: a PEP 658 one not cached. */
static ssize_t prefetchable(struct pyclient *c, struct pyproj *p, struct pyversion *v)
{
	ssize_t i = v->meta_loaded ? -1 : pick_file(p, v);
	if (i < 0 || !uses_pep658(p, (size_t)i) || meta_from_cache(c, p, v, (size_t)i) != 0) {
		return -1; /* only the small PEP 658 files are fetched ahead */
	}
	return i;
}

int pyclient_prefetch_metadata(struct pyclient *c, struct pyproj **ps, struct pyversion **vs,
                               size_t n)
{
	struct lks_http_req *r = calloc(n + 1, sizeof(*r));
	struct lks_http_req **ptrs = calloc(n + 1, sizeof(*ptrs));
	size_t *file = calloc(n + 1, sizeof(*file)), *who = calloc(n + 1, sizeof(*who));
	int rc = r && ptrs && file && who ? 0 : -ENOMEM;
	size_t m = 0;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		ssize_t i = prefetchable(c, ps[k], vs[k]);
		if (i < 0) {
			continue;
		}
		file[m] = (size_t)i;
		who[m] = k;
		ptrs[m] = &r[m];
		rc = meta_req(c, ps[k], (size_t)i, &r[m++]);
	}
	int run = rc == 0 && m && !c->ctx->offline ? lks_http_run(c->ctx, ptrs, (int)m) : 0;
	for (size_t k = 0; k < m; k++) {
		if (rc == 0 && !c->ctx->offline && !vs[who[k]]->meta_loaded) {
			meta_done(c, ps[who[k]], vs[who[k]], file[k], &r[k], run);
		}
		lks_http_req_free(&r[k]);
	}
	c->ctx->err[0] = '\0';
	free(r);
	free(ptrs);
	free(file);
	free(who);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Download (in parallel) every listed file the index gave no hash for and fill its sha256. */
static int download_missing(struct pyclient *c, struct lks_pyfile **need, size_t n)
{
	struct lks_http_req *reqs = calloc(n ? n : 1, sizeof(*reqs));
	struct lks_http_req **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	int rc = reqs && ptrs ? 0 : -ENOMEM;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		lks_http_req_init(&reqs[k], LKS_HTTP_GET, need[k]->url);
		reqs[k].max_body = PYCLIENT_MAX_DIST;
		reqs[k].plain_http_ok = c->plain_http_ok;
		ptrs[k] = &reqs[k];
	}
	if (rc == 0 && n) {
		rc = lks_http_run(c->ctx, ptrs, (int)n);
	}
	for (size_t k = 0; rc == 0 && k < n; k++) {
		char d[LKS_DIGEST_LEN + 1];
		if (reqs[k].rc < 0 || reqs[k].status != 200) {
			rc = lks_err(c->ctx, reqs[k].rc < 0 ? reqs[k].rc : -LKS_E_HTTP,
			             "cannot download '%s' to hash it: %s (status %ld)",
			             need[k]->url, reqs[k].errdetail, reqs[k].status);
		} else if ((rc = lks_sha256_buf(reqs[k].body.data, reqs[k].body.len, d)) == 0) {
			snprintf(need[k]->sha256, sizeof(need[k]->sha256), "%s", d + 7);
			sha_memo_put(c, need[k]->url, d + 7);
		}
	}
	for (size_t k = 0; reqs && ptrs && k < n; k++) {
		lks_http_req_free(&reqs[k]);
	}
	free(reqs);
	free(ptrs);
	return rc;
}

static int version_hashes(struct pyproj *p, struct pyversion *v, char ***out)
{
	char **list = calloc(v->nfiles + 1, sizeof(*list));
	if (!list) {
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t k = 0; k < v->nfiles; k++) {
		if (asprintf(&list[n], "sha256:%s", p->page.files[v->files[k]].sha256) < 0) {
			list[n] = NULL;
			break;
		}
		n++;
	}
	bool complete = n == v->nfiles;
	lks_qsort(list, n, sizeof(*list), cmp_str);
	/* the same file offered by several indexes is listed once */
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		if (m && !strcmp(list[m - 1], list[k])) {
			free(list[k]);
		} else {
			list[m++] = list[k];
		}
	}
	list[m] = NULL;
	*out = list;
	return complete ? 0 : -ENOMEM;
}

int pyclient_hashes(struct pyclient *c, struct pyproj **projs, struct pyversion **vers, size_t n,
                    char ***hashes)
{
	size_t total = 0, nneed = 0;
	for (size_t k = 0; k < n; k++) {
		total += vers[k]->nfiles;
	}
	struct lks_pyfile **need = calloc(total ? total : 1, sizeof(*need));
	if (!need) {
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		for (size_t j = 0; j < vers[k]->nfiles; j++) {
			size_t i = vers[k]->files[j];
			struct lks_pyfile *f = &projs[k]->page.files[i];
			const char *sha = file_sha(c, projs[k], i);
			if (!sha[0]) {
				need[nneed++] = f;
			} else if (sha != f->sha256) {
				snprintf(f->sha256, sizeof(f->sha256), "%s", sha);
			}
		}
	}
	int rc = download_missing(c, need, nneed);
	free(need);
	for (size_t k = 0; rc == 0 && k < n; k++) {
		rc = version_hashes(projs[k], vers[k], &hashes[k]);
	}
	return rc;
}
