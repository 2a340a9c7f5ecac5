/* Backtracking resolver and pip-compile writer; see pinner/python/pyresolve.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/sort.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "pinner/python/pyresolve.h"
#include "pinner/python/pyclient.h"

struct edge {
	char key[LKS_PEP508_MAX_NAME];
	const struct lks_pep508_req *req;  /* borrowed */
	int parent;                        /* pin index, -1 for the requirements file */
	const struct lks_pyreq_item *item; /* root item, NULL for dependencies */
	char extra[LKS_PEP508_MAX_NAME];   /* extra of the parent that brought it ("" base) */
};

struct pin {
	char key[LKS_PEP508_MAX_NAME];
	struct pyproj *proj;
	struct pyversion *ver;
	int depth;
};

struct expansion {
	int pin;
	char extra[LKS_PEP508_MAX_NAME];
};

/* Dependencies of one version, parsed once. */
struct depcache {
	const struct pyversion *ver;
	struct lks_pep508_req *reqs;
	size_t n;
};

struct solver {
	struct lks_ctx *ctx;
	struct pyclient client;
	struct lks_pep508_env env;
	const struct lks_pyresolve_opts *opts;
	struct edge *edges;
	size_t nedges, capedges;
	struct pin *pins;
	size_t npins, cappins;
	struct expansion *exps;
	size_t nexps, capexps;
	struct depcache *deps;
	size_t ndeps;
	long steps;
	bool *cs; /* conflict set of the last dead end: the pins it depends on */
	size_t cscap;
	char conflict[4096]; /* explanation of the deepest dead end */
	size_t conflict_depth;
};

#define GROW(arr, n, cap)                                                                          \
	((n) < (cap)                                                                               \
	     ? 0                                                                                   \
	     : ((cap) = (cap) ? (cap)*2 : 16,                                                      \
	        ((arr) = reallocarray_or_free((arr), (cap), sizeof(*(arr)))) ? 0 : -ENOMEM))

static void *reallocarray_or_free(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n, size);
	if (!q) {
		free(p);
	}
	return q;
}

static bool is_unsafe(const char *key)
{
	return !strcmp(key, "pip") || !strcmp(key, "setuptools") || !strcmp(key, "distribute");
}

static int find_pin(const struct solver *s, const char *key)
{
	for (size_t k = 0; k < s->npins; k++) {
		if (!strcmp(s->pins[k].key, key)) {
			return (int)k;
		}
	}
	return -1;
}

static int add_edge(struct solver *s, const struct lks_pep508_req *req, int parent,
                    const struct lks_pyreq_item *item, const char *extra)
{
	if (GROW(s->edges, s->nedges, s->capedges) < 0) {
		return -ENOMEM;
	}
	struct edge *e = &s->edges[s->nedges++];
	memset(e, 0, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", req->key);
	snprintf(e->extra, sizeof(e->extra), "%s", extra);
	e->req = req;
	e->parent = parent;
	e->item = item;
	return 0;
}

/* "a==2.0 <- b==1.0 <- -r requirements.in" */
static void chain(const struct solver *s, const struct edge *e, char *out, size_t len)
{
	size_t l = 0;
	out[0] = '\0';
	for (int guard = 0; e && guard < 64; guard++) {
		if (e->parent < 0) {
			snprintf(out + l, len - l, "%s %s:%d", e->item->constraint ? "-c" : "-r",
			         e->item->file, e->item->line);
			return;
		}
		const struct pin *p = &s->pins[e->parent];
		l += (size_t)snprintf(out + l, len - l, "%s==%s <- ", p->key, p->ver->text);
		if (l >= len) {
			return;
		}
		const struct edge *up = NULL;
		for (size_t k = 0; k < s->nedges && !up; k++) {
			up = !strcmp(s->edges[k].key, p->key) ? &s->edges[k] : NULL;
		}
		e = up;
	}
}

static int version_deps(struct solver *s, struct pin *p, struct depcache **out)
{
	for (size_t k = 0; k < s->ndeps; k++) {
		if (s->deps[k].ver == p->ver) {
			*out = &s->deps[k];
			return 0;
		}
	}
	struct depcache *d = reallocarray(s->deps, s->ndeps + 1, sizeof(*d));
	if (!d) {
		return -ENOMEM;
	}
	s->deps = d;
	d = &s->deps[s->ndeps];
	const struct lks_pymeta *m = &p->ver->meta;
	d->ver = p->ver;
	d->n = 0;
	d->reqs = calloc(m->nrequires ? m->nrequires : 1, sizeof(*d->reqs));
	if (!d->reqs) {
		return -ENOMEM;
	}
	s->ndeps++;
	for (size_t k = 0; k < m->nrequires; k++) {
		lks_pep508_req_init(&d->reqs[k]);
		d->n++;
		int rc = lks_pep508_parse(s->ctx, m->requires_dist[k], strlen(m->requires_dist[k]),
		                          &d->reqs[k]);
		if (rc < 0) {
			char detail[1024];
			snprintf(detail, sizeof(detail), "%.1000s", s->ctx->err);
			return lks_err(s->ctx, rc, "metadata of '%s %s': %s", p->key, p->ver->text,
			               detail);
		}
	}
	*out = d;
	return 0;
}

/* Add the dependencies pin `pi` brings for `extra` ("" for the base set), once. */
static int expand(struct solver *s, int pi, const char *extra)
{
	for (size_t k = 0; k < s->nexps; k++) {
		if (s->exps[k].pin == pi && !strcmp(s->exps[k].extra, extra)) {
			return 0;
		}
	}
	if (GROW(s->exps, s->nexps, s->capexps) < 0) {
		return -ENOMEM;
	}
	s->exps[s->nexps].pin = pi;
	snprintf(s->exps[s->nexps].extra, sizeof(s->exps[0].extra), "%s", extra);
	s->nexps++;
	struct depcache *d;
	int rc = version_deps(s, &s->pins[pi], &d);
	snprintf(s->env.extra, sizeof(s->env.extra), "%s", extra);
	for (size_t k = 0; rc == 0 && k < d->n; k++) {
		bool applies;
		rc = lks_pep508_applies(s->ctx, &d->reqs[k], &s->env, &applies);
		if (rc == 0 && applies &&
		    (extra[0] == '\0' || lks_marker_uses_extra(d->reqs[k].marker))) {
			rc = add_edge(s, &d->reqs[k], pi, NULL, extra);
		}
	}
	s->env.extra[0] = '\0';
	return rc;
}

static void record_pin_conflict(struct solver *s, int pi);

/* Conflict-directed backjumping: a dead end records which pins it depends on, so a decision
 * outside that set is not retried (its alternatives cannot help). */
static int cs_reserve(struct solver *s)
{
	if (s->cscap >= s->cappins + 1) {
		return 0;
	}
	bool *cs = realloc(s->cs, (s->cappins + 1) * sizeof(*cs));
	if (!cs) {
		return -ENOMEM;
	}
	memset(cs + s->cscap, 0, (s->cappins + 1 - s->cscap) * sizeof(*cs));
	s->cs = cs;
	s->cscap = s->cappins + 1;
	return 0;
}

/* The pins an edge exists because of: its parent, and whoever asked for the parent's extra. */
static void cs_add_edge(struct solver *s, const struct edge *e)
{
	if (e->parent < 0) {
		return;
	}
	s->cs[e->parent] = true;
	const char *pkey = s->pins[e->parent].key;
	for (size_t k = 0; e->extra[0] && k < s->nedges; k++) {
		const struct edge *f = &s->edges[k];
		for (size_t x = 0; f->parent >= 0 && !strcmp(f->key, pkey) && x < f->req->nextras;
		     x++) {
			s->cs[f->parent] = s->cs[f->parent] || !strcmp(f->req->extras[x], e->extra);
		}
	}
}

static void cs_add_key(struct solver *s, const char *key)
{
	for (size_t k = 0; k < s->nedges; k++) {
		if (!strcmp(s->edges[k].key, key)) {
			cs_add_edge(s, &s->edges[k]);
		}
	}
}

static bool edge_allows(const struct edge *e, const struct lks_pep440 *v)
{
	return lks_pep440_specset_contains(&e->req->spec, v, true);
}

/* Check every edge on pinned projects and expand requested extras. 1 = conflict. */
static int propagate(struct solver *s, size_t from)
{
	for (size_t k = from; k < s->nedges; k++) {
		int pi = find_pin(s, s->edges[k].key);
		if (pi < 0) {
			continue;
		}
		if (!edge_allows(&s->edges[k], &s->pins[pi].ver->v)) {
			record_pin_conflict(s, pi);
			memset(s->cs, 0, s->cscap * sizeof(*s->cs));
			s->cs[pi] = true;
			cs_add_edge(s, &s->edges[k]);
			return 1;
		}
		const struct lks_pep508_req *r = s->edges[k].req;
		for (size_t x = 0;
		     x < r->nextras && !(s->edges[k].item && s->edges[k].item->constraint); x++) {
			int rc = expand(s, pi, r->extras[x]);
			if (rc < 0) {
				return rc;
			}
		}
	}
	return 0;
}

/* The next project to decide: required (not only constrained), unpinned; prefer '=='-pinned,
 * then shallow, then first requested (after pip's preference order). */
static ssize_t next_key(const struct solver *s)
{
	ssize_t best = -1;
	int best_depth = 0;
	bool best_eq = false;
	for (size_t k = 0; k < s->nedges; k++) {
		const struct edge *e = &s->edges[k];
		if ((e->item && e->item->constraint) || find_pin(s, e->key) >= 0) {
			continue;
		}
		int depth = e->parent < 0 ? 1 : s->pins[e->parent].depth + 1;
		bool eq = false;
		for (size_t j = 0; j < e->req->spec.n; j++) {
			const struct lks_pep440_spec *sp = &e->req->spec.items[j];
			eq = eq || sp->op == LKS_PEP440_ARBITRARY ||
			     (sp->op == LKS_PEP440_EQ && !sp->wildcard);
		}
		if (best < 0 || (eq && !best_eq) || (eq == best_eq && depth < best_depth)) {
			best = (ssize_t)k;
			best_depth = depth;
			best_eq = eq;
		}
	}
	return best;
}

/* All edges on key as one specifier set (borrowing items). */
static int merged_spec(const struct solver *s, const char *key, struct lks_pep440_specset *set,
                       bool *pinned)
{
	*pinned = false;
	for (size_t k = 0; k < s->nedges; k++) {
		if (strcmp(s->edges[k].key, key)) {
			continue;
		}
		const struct lks_pep440_specset *sp = &s->edges[k].req->spec;
		for (size_t j = 0; j < sp->n; j++) {
			if (set->n == LKS_PEP440_MAX_SPECS * 4) {
				return lks_err(s->ctx, -LKS_E_TOOBIG, "too many specifiers on '%s'",
				               key);
			}
			struct lks_pep440_spec *items =
			    reallocarray(set->items, set->n + 1, sizeof(*items));
			if (!items) {
				return -ENOMEM;
			}
			set->items = items;
			items[set->n++] = sp->items[j];
			*pinned = *pinned || sp->items[j].op == LKS_PEP440_ARBITRARY ||
			          (sp->items[j].op == LKS_PEP440_EQ && !sp->items[j].wildcard);
		}
	}
	return 0;
}

static const struct lks_pep440 *existing_pin(const struct solver *s, const char *key)
{
	const struct lks_pyreq_set *ex = s->opts->existing;
	for (size_t k = 0; ex && k < ex->n; k++) {
		const struct lks_pyreq_item *it = &ex->items[k];
		if (it->kind == LKS_PYREQ_NAMED && !strcmp(it->req.key, key) &&
		    it->req.spec.n == 1 && it->req.spec.items[0].op == LKS_PEP440_EQ &&
		    !it->req.spec.items[0].wildcard) {
			return &it->req.spec.items[0].v;
		}
	}
	return NULL;
}

/* Yanked versions stay only when every applicable one is yanked and the set pins (PEP 592). */
static size_t drop_yanked(struct pyversion **c, size_t n, bool pinned)
{
	bool all_yanked = n > 0;
	for (size_t k = 0; k < n; k++) {
		all_yanked = all_yanked && c[k]->all_yanked;
	}
	if (all_yanked && pinned) {
		return n;
	}
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		if (!c[k]->all_yanked) {
			c[m++] = c[k];
		}
	}
	return m;
}

/* When a version was first uploaded; false when the index gives no upload-time. */
static bool uploaded(const struct pyproj *p, const struct pyversion *v, time_t *t)
{
	bool has = false;
	for (size_t k = 0; k < v->nfiles; k++) {
		const struct lks_pyfile *f = &p->page.files[v->files[k]];
		if (f->has_upload_time && (!has || f->upload_time < *t)) {
			*t = f->upload_time;
			has = true;
		}
	}
	return has;
}

/* Update: no preference for the existing pin, and versions younger than the cooldown out. */
static bool upgrading(const struct solver *s, const char *key)
{
	return !s->opts->existing ||
	       (s->opts->upgrade && s->opts->upgrade(s->opts->upgrade_opaque, key));
}

static size_t drop_young(const struct solver *s, const struct pyproj *p, struct pyversion **c,
                         size_t n, const struct lks_pep440 *pref)
{
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		time_t t = 0;
		if (!uploaded(p, c[k], &t) || t <= s->opts->exclude_newer ||
		    (pref && lks_pep440_cmp(&c[k]->v, pref) == 0)) {
			c[m++] = c[k];
		}
	}
	if (m == 0) {
		return n; /* nothing older (a yanked pin): the cooldown cannot apply */
	}
	return m;
}

static int candidates(struct solver *s, struct pyproj *p, struct pyversion ***out, size_t *n)
{
	struct lks_pep440_specset set;
	lks_pep440_specset_init(&set);
	bool pinned;
	size_t nv = p->nversions;
	struct pyversion **c = calloc(nv + 1, sizeof(*c));
	const struct lks_pep440 **vs = calloc(nv + 1, sizeof(*vs));
	bool *keep = calloc(nv + 1, sizeof(*keep));
	int rc = c && vs && keep ? merged_spec(s, p->key, &set, &pinned) : -ENOMEM;
	size_t m = 0;
	for (size_t k = 0; rc == 0 && k < nv; k++) {
		if (p->versions[k].usable) {
			c[m] = &p->versions[k];
			vs[m++] = &p->versions[k].v;
		}
	}
	if (rc == 0) {
		lks_pep440_specset_filter(&set, vs, m, s->opts->pre, keep);
		size_t j = 0;
		for (size_t k = 0; k < m; k++) {
			c[j] = c[k];
			j += keep[k];
		}
		m = drop_yanked(c, j, pinned);
		const struct lks_pep440 *pref = existing_pin(s, p->key);
		bool up = upgrading(s, p->key);
		if (up && s->opts->has_exclude_newer) {
			m = drop_young(s, p, c, m, pref);
		}
		for (size_t k = 1; pref && !up && k < m; k++) {
			if (lks_pep440_cmp(&c[k]->v, pref) == 0) {
				struct pyversion *t = c[k];
				memmove(c + 1, c, k * sizeof(*c));
				c[0] = t;
			}
		}
	}
	free(set.items);
	free(vs);
	free(keep);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	*n = m;
	return 0;
}

/* Describe every requirement on key with where it came from. */
static void describe_edges(const struct solver *s, const char *key, char *out, size_t len)
{
	size_t l = strlen(out);
	for (size_t k = 0; k < s->nedges && l < len; k++) {
		const struct edge *e = &s->edges[k];
		if (strcmp(e->key, key)) {
			continue;
		}
		char spec[512], via[1024];
		lks_pep440_specset_str(&e->req->spec, spec, sizeof(spec));
		chain(s, e, via, sizeof(via));
		l += (size_t)snprintf(out + l, len - l, "\n  '%s%s' from %s", e->req->name,
		                      spec[0] ? spec : " (any version)", via);
	}
}

/* Versions left out because a Requires-Python could not be parsed, so the message says why. */
static void list_bad_requires_python(struct solver *s, const struct pyproj *p, size_t l)
{
	const char *head = "\n  not chosen, Requires-Python cannot be parsed:";
	for (size_t k = 0, shown = 0; k < p->nversions && l < sizeof(s->conflict) && shown < 20;
	     k++) {
		if (p->versions[k].bad_requires_python) {
			l += (size_t)snprintf(s->conflict + l, sizeof(s->conflict) - l, "%s %s",
			                      shown++ ? "" : head, p->versions[k].text);
		}
	}
}

static void record_conflict(struct solver *s, const struct pyproj *p)
{
	if (s->conflict[0] && s->npins <= s->conflict_depth) {
		return;
	}
	s->conflict_depth = s->npins;
	snprintf(s->conflict, sizeof(s->conflict),
	         "no version of '%s' satisfies all requirements:", p->key);
	describe_edges(s, p->key, s->conflict, sizeof(s->conflict));
	size_t l = strlen(s->conflict);
	l += (size_t)snprintf(s->conflict + l, sizeof(s->conflict) - l, "\n  available:");
	size_t shown = 0;
	for (size_t k = 0; k < p->nversions && l < sizeof(s->conflict) && shown < 20; k++) {
		if (p->versions[k].usable) {
			l += (size_t)snprintf(s->conflict + l, sizeof(s->conflict) - l, " %s%s",
			                      p->versions[k].text,
			                      p->versions[k].all_yanked ? " (yanked)" : "");
			shown++;
		}
	}
	if (!shown && l < sizeof(s->conflict)) {
		l += (size_t)snprintf(s->conflict + l, sizeof(s->conflict) - l,
		                      " none for Python %s on %s", s->env.python_full_version,
		                      s->env.platform_machine);
	}
	list_bad_requires_python(s, p, l);
}

static bool meta_python_ok(const struct solver *s, struct pyversion *v)
{
	return pyclient_python_ok(&s->client.python, v->meta.requires_python,
	                          &v->bad_requires_python);
}

/* Pin key=v and add its base and requested-extra dependencies. */
static int pin_version(struct solver *s, struct pyproj *p, struct pyversion *v, int depth)
{
	if (GROW(s->pins, s->npins, s->cappins) < 0 || cs_reserve(s) < 0) {
		return -ENOMEM;
	}
	int pi = (int)s->npins++;
	struct pin *pin = &s->pins[pi];
	snprintf(pin->key, sizeof(pin->key), "%s", p->key);
	pin->proj = p;
	pin->ver = v;
	pin->depth = depth;
	int rc = expand(s, pi, "");
	for (size_t k = 0; rc == 0 && k < s->nedges; k++) {
		/* expand() may move s->edges: keep only the (stable) requirement pointer */
		const struct lks_pep508_req *req = s->edges[k].req;
		bool constraint = s->edges[k].item && s->edges[k].item->constraint;
		if (strcmp(s->edges[k].key, p->key) || constraint) {
			continue;
		}
		for (size_t x = 0; rc == 0 && x < req->nextras; x++) {
			rc = expand(s, pi, req->extras[x]);
		}
	}
	return rc;
}

static void record_pin_conflict(struct solver *s, int pi)
{
	if (s->conflict[0] && s->npins <= s->conflict_depth) {
		return;
	}
	s->conflict_depth = s->npins;
	const struct pin *p = &s->pins[pi];
	snprintf(s->conflict, sizeof(s->conflict),
	         "'%s' was resolved to %s, which does not satisfy all requirements:", p->key,
	         p->ver->text);
	describe_edges(s, p->key, s->conflict, sizeof(s->conflict));
}

static int try_candidates(struct solver *s, struct pyproj *p, struct pyversion **c, size_t m,
                          int depth);

/* Pages of every project named by an edge and not known yet, in one parallel batch. Returns
 * how many were requested. */
static int prefetch(struct solver *s)
{
	const char *keys[64];
	size_t n = 0;
	for (size_t k = 0; k < s->nedges && n < ARRAY_SIZE(keys); k++) {
		const char *key = s->edges[k].key;
		bool dup = find_pin(s, key) >= 0;
		for (size_t j = 0; j < s->client.nprojs && !dup; j++) {
			dup = !strcmp(s->client.projs[j]->key, key);
		}
		for (size_t j = 0; j < n && !dup; j++) {
			dup = !strcmp(keys[j], key);
		}
		if (!dup) {
			keys[n++] = key;
		}
	}
	if (n < 2) {
		return 0;
	}
	int rc = pyclient_prefetch(&s->client, keys, n);
	return rc < 0 ? rc : (int)n;
}

/* The PEP 658 metadata of the newest candidate of every pending project, in one batch. */
static int prefetch_metadata(struct solver *s)
{
	struct pyproj *ps[64];
	struct pyversion *vs[64];
	size_t n = 0;
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < s->client.nprojs && n < ARRAY_SIZE(ps); k++) {
		struct pyproj *p = s->client.projs[k];
		bool pending = false;
		for (size_t e = 0; e < s->nedges && !pending; e++) {
			pending = !strcmp(s->edges[e].key, p->key) &&
			          !(s->edges[e].item && s->edges[e].item->constraint);
		}
		if (!pending || find_pin(s, p->key) >= 0) {
			continue;
		}
		struct pyversion **c;
		size_t m;
		rc = candidates(s, p, &c, &m);
		if (rc == 0 && m && !c[0]->meta_loaded) {
			ps[n] = p;
			vs[n++] = c[0];
		}
		free(rc == 0 ? c : NULL);
	}
	return rc == 0 && n > 1 ? pyclient_prefetch_metadata(&s->client, ps, vs, n) : rc;
}

static int solve(struct solver *s, size_t from)
{
	int rc = propagate(s, from);
	if (rc) {
		return rc;
	}
	rc = prefetch(s);
	if (rc > 0) {
		/* new projects arrived: fetch their likely metadata together too */
		rc = prefetch_metadata(s);
	}
	if (rc < 0) {
		return rc;
	}
	ssize_t ei = next_key(s);
	if (ei < 0) {
		return 0;
	}
	const struct edge *e = &s->edges[ei];
	int depth = e->parent < 0 ? 1 : s->pins[e->parent].depth + 1;
	struct pyproj *p;
	rc = pyclient_project(&s->client, e->key, &p);
	if (rc < 0) {
		return rc;
	}
	struct pyversion **c;
	size_t m;
	rc = candidates(s, p, &c, &m);
	if (rc < 0) {
		return rc;
	}
	if (m == 0) {
		record_conflict(s, p);
		memset(s->cs, 0, s->cscap * sizeof(*s->cs));
		cs_add_key(s, p->key);
		rc = 1;
	} else {
		rc = try_candidates(s, p, c, m, depth);
	}
	free(c);
	return rc;
}

static int try_each(struct solver *s, struct pyproj *p, struct pyversion **c, size_t m, int depth,
                    bool *acc);

static int try_candidates(struct solver *s, struct pyproj *p, struct pyversion **c, size_t m,
                          int depth)
{
	size_t level = s->npins;
	bool *acc = calloc(level + 1, sizeof(*acc));
	if (!acc) {
		return -ENOMEM;
	}
	int rc = try_each(s, p, c, m, depth, acc);
	if (rc == 2) {
		rc = 1; /* backjump: s->cs already names the decisions to revisit */
	} else if (rc == 1) {
		/* every candidate failed: the union of their reasons, and what limited the choice
		 */
		memset(s->cs, 0, s->cscap * sizeof(*s->cs));
		memcpy(s->cs, acc, level * sizeof(*acc));
		cs_add_key(s, p->key);
	}
	free(acc);
	return rc;
}

/* Returns 2 when a dead end does not depend on this decision (s->cs is left as found). */
static int try_each(struct solver *s, struct pyproj *p, struct pyversion **c, size_t m, int depth,
                    bool *acc)
{
	size_t level = s->npins;
	for (size_t k = 0; k < m; k++) {
		if (++s->steps > LKS_PYRESOLVE_MAX_STEPS) {
			return lks_err(s->ctx, -LKS_E_TOOBIG,
			               "resolution gave up after %d attempts",
			               LKS_PYRESOLVE_MAX_STEPS);
		}
		int rc = pyclient_metadata(&s->client, p, c[k]);
		if (rc < 0) {
			return rc;
		}
		if (!meta_python_ok(s, c[k])) {
			continue;
		}
		size_t ne = s->nedges, np = s->npins, nx = s->nexps;
		rc = pin_version(s, p, c[k], depth);
		if (rc == 0) {
			rc = solve(s, ne);
		}
		if (rc <= 0) {
			return rc;
		}
		s->nedges = ne;
		s->npins = np;
		s->nexps = nx;
		if (!s->cs[level]) {
			return 2;
		}
		for (size_t i = 0; i < level; i++) {
			acc[i] = acc[i] || s->cs[i];
		}
	}
	return 1;
}

/* ---- driver ---- */

void lks_pyresolution_init(struct lks_pyresolution *r)
{
	memset(r, 0, sizeof(*r));
}

static void strv_free(char **v, size_t n)
{
	for (size_t k = 0; v && k < n; k++) {
		free(v[k]);
	}
	free(v);
}

void lks_pyresolution_free(struct lks_pyresolution *r)
{
	for (size_t k = 0; k < r->n; k++) {
		strv_free(r->pins[k].hashes, r->pins[k].nhashes);
		strv_free(r->pins[k].via, r->pins[k].nvia);
		free(r->pins[k].marker);
		free(r->pins[k].index);
		free(r->pins[k].requires_python);
		free(r->pins[k].link);
	}
	free(r->pins);
	strv_free(r->unpinnable, r->nunpinnable);
	for (size_t k = 0; k < r->ngone; k++) {
		free(r->gone[k].reason);
	}
	free(r->gone);
	memset(r, 0, sizeof(*r));
}

static void solver_free(struct solver *s)
{
	for (size_t k = 0; k < s->ndeps; k++) {
		for (size_t j = 0; j < s->deps[k].n; j++) {
			lks_pep508_req_free(&s->deps[k].reqs[j]);
		}
		free(s->deps[k].reqs);
	}
	free(s->deps);
	free(s->edges);
	free(s->pins);
	free(s->exps);
	free(s->cs);
	pyclient_free(&s->client);
}

static int target_from_opts(struct lks_ctx *ctx, const struct lks_pyresolve_opts *o,
                            struct lks_pytarget *t, struct lks_pep508_env *env)
{
	int rc = lks_pep508_env_linux(ctx, env, o->python_version, o->machine);
	if (rc < 0) {
		return rc;
	}
	memset(t, 0, sizeof(*t));
	sscanf(env->python_full_version, "%d.%d.%d", &t->major, &t->minor, &t->micro);
	snprintf(t->machine, sizeof(t->machine), "%s", env->platform_machine);
	t->glibc_minor = o->glibc_minor;
	return 0;
}

static int add_unpinnable(struct lks_pyresolution *out, const struct lks_pyreq_item *it)
{
	static const char *const why[] = {
	    [LKS_PYREQ_NAMED] = "a direct URL reference",
	    [LKS_PYREQ_URL] = "a URL",
	    [LKS_PYREQ_PATH] = "a local path",
	    [LKS_PYREQ_EDITABLE] = "an editable install",
	};
	char **v = reallocarray(out->unpinnable, out->nunpinnable + 1, sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	out->unpinnable = v;
	if (asprintf(&v[out->nunpinnable],
	             "%s:%d: '%s' is %s and cannot be pinned from the "
	             "index%s",
	             it->file, it->line, it->text, why[it->kind],
	             it->nhashes ? " (its --hash lines are kept)" : "") < 0) {
		return -ENOMEM;
	}
	out->nunpinnable++;
	return 0;
}

static int root_edges(struct solver *s, const struct lks_pyreq_set *reqs,
                      struct lks_pyresolution *out)
{
	for (size_t k = 0; k < reqs->n; k++) {
		const struct lks_pyreq_item *it = &reqs->items[k];
		int rc = 0;
		bool applies = true;
		if (it->kind != LKS_PYREQ_NAMED || it->req.url) {
			rc = it->constraint ? 0 : add_unpinnable(out, it);
		} else {
			rc = lks_pep508_applies(s->ctx, &it->req, &s->env, &applies);
			if (rc == 0 && applies) {
				rc = add_edge(s, &it->req, -1, it, "");
			}
		}
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_pin(const void *a, const void *b)
{
	return strcmp(((const struct lks_pypin *)a)->key, ((const struct lks_pypin *)b)->key);
}

static int pin_via(const struct solver *s, struct lks_pypin *pin)
{
	for (size_t k = 0; k < s->nedges; k++) {
		const struct edge *e = &s->edges[k];
		if (strcmp(e->key, pin->key)) {
			continue;
		}
		char v[1200];
		if (e->parent < 0) {
			snprintf(v, sizeof(v), "%s %s", e->item->constraint ? "-c" : "-r",
			         e->item->file);
		} else {
			snprintf(v, sizeof(v), "%s", s->pins[e->parent].key);
		}
		bool dup = false;
		for (size_t j = 0; j < pin->nvia; j++) {
			dup = dup || !strcmp(pin->via[j], v);
		}
		char **nv = dup ? pin->via : reallocarray(pin->via, pin->nvia + 1, sizeof(*nv));
		if (!nv || (!dup && !(nv[pin->nvia] = strdup(v)))) {
			return -ENOMEM;
		}
		pin->via = nv;
		pin->nvia += !dup;
	}
	lks_qsort(pin->via, pin->nvia, sizeof(*pin->via), cmp_str);
	return 0;
}

/* What the lock records besides the version: index, Requires-Python, first upload. */
static int pin_facts(const struct solver *s, const struct pin *p, struct lks_pypin *pin)
{
	const struct lks_pymeta *m = &p->ver->meta;
	for (size_t k = 0; k < p->ver->nfiles; k++) {
		const struct lks_pyfile *f = &p->proj->page.files[p->ver->files[k]];
		if (f->has_upload_time &&
		    (!pin->has_published_at || f->upload_time < pin->published_at)) {
			pin->published_at = f->upload_time;
			pin->has_published_at = true;
		}
	}
	pin->index = strdup(s->client.index_url);
	pin->requires_python = m->requires_python ? strdup(m->requires_python) : NULL;
	pin->link = m->link ? strdup(m->link) : NULL;
	return pin->index && (pin->requires_python || !m->requires_python) &&
	               (pin->link || !m->link)
	           ? 0
	           : -ENOMEM;
}

static int collect(struct solver *s, struct lks_pyresolution *out)
{
	size_t n = s->npins;
	out->pins = calloc(n ? n : 1, sizeof(*out->pins));
	struct pyproj **projs = calloc(n ? n : 1, sizeof(*projs));
	struct pyversion **vers = calloc(n ? n : 1, sizeof(*vers));
	char ***hashes = calloc(n ? n : 1, sizeof(*hashes));
	int rc = out->pins && projs && vers && hashes ? 0 : -ENOMEM;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		projs[k] = s->pins[k].proj;
		vers[k] = s->pins[k].ver;
	}
	if (rc == 0) {
		rc = pyclient_hashes(&s->client, projs, vers, n, hashes);
	}
	for (size_t k = 0; rc == 0 && k < n; k++) {
		struct lks_pypin *pin = &out->pins[out->n++];
		snprintf(pin->key, sizeof(pin->key), "%s", s->pins[k].key);
		snprintf(pin->version, sizeof(pin->version), "%s", s->pins[k].ver->text);
		pin->unsafe = is_unsafe(pin->key);
		pin->hashes = TAKE_PTR(hashes[k]);
		while (pin->hashes[pin->nhashes]) {
			pin->nhashes++;
		}
		rc = pin_via(s, pin);
		rc = rc ? rc : pin_facts(s, &s->pins[k], pin);
	}
	for (size_t k = 0; hashes && k < n; k++) {
		for (size_t j = 0; hashes[k] && hashes[k][j]; j++) {
			free(hashes[k][j]);
		}
		free(hashes[k]);
	}
	free(hashes);
	free(projs);
	free(vers);
	lks_qsort(out->pins, out->n, sizeof(*out->pins), cmp_pin);
	return rc;
}

/* The state of one existing pin's release on the index; 1 when gone (g filled). */
static int pin_state(struct solver *s, const struct lks_pyreq_item *it, struct lks_pygone *g)
{
	struct pyproj *p;
	const struct lks_pep440 *v = &it->req.spec.items[0].v;
	int rc = pyclient_project(&s->client, it->req.key, &p);
	if (rc == -LKS_E_NOTFOUND) {
		s->ctx->err[0] = '\0';
		return 1;
	}
	for (size_t k = 0; rc == 0 && k < p->nversions; k++) {
		const struct pyversion *pv = &p->versions[k];
		if (lks_pep440_cmp(&pv->v, v) || !pv->usable) {
			continue;
		}
		if (!pv->all_yanked) {
			return 0;
		}
		g->yanked = true;
		for (size_t f = 0; f < pv->nfiles && !g->reason; f++) {
			const char *r = p->page.files[pv->files[f]].yanked_reason;
			g->reason = r && *r ? strdup(r) : NULL;
		}
		return 1;
	}
	return rc < 0 ? rc : 1;
}

/* Existing pins whose release is yanked or gone (update and outdated runs only, as they set
 * opts->upgrade): outdated reports them, update moves them. */
static int collect_gone(struct solver *s, struct lks_pyresolution *out)
{
	const struct lks_pyreq_set *ex = s->opts->upgrade ? s->opts->existing : NULL;
	for (size_t k = 0; ex && k < ex->n; k++) {
		const struct lks_pyreq_item *it = &ex->items[k];
		if (it->kind != LKS_PYREQ_NAMED || it->req.spec.n != 1 ||
		    existing_pin(s, it->req.key) != &it->req.spec.items[0].v) {
			continue; /* not pinned, or not the first pin of its key */
		}
		struct lks_pygone g = {0};
		int rc = pin_state(s, it, &g);
		if (rc <= 0) {
			if (rc < 0) {
				return rc;
			}
			continue;
		}
		struct lks_pygone *nv = reallocarray(out->gone, out->ngone + 1, sizeof(*nv));
		if (!nv) {
			free(g.reason);
			return -ENOMEM;
		}
		out->gone = nv;
		snprintf(g.key, sizeof(g.key), "%s", it->req.key);
		lks_pep440_str(&it->req.spec.items[0].v, g.version, sizeof(g.version));
		nv[out->ngone++] = g;
	}
	return 0;
}

int lks_pyresolve(struct lks_ctx *ctx, const struct lks_pyreq_set *reqs,
                  const struct lks_pyresolve_opts *opts, struct lks_pyresolution *out)
{
	struct solver s = {.ctx = ctx, .opts = opts};
	struct lks_pytarget t;
	const char *index = opts->index_url ? opts->index_url : reqs->index_url;
	if (!index) {
		return lks_err(ctx, -LKS_E_INVAL, "no package index: give --index-url");
	}
	int rc = target_from_opts(ctx, opts, &t, &s.env);
	if (rc == 0) {
		rc = pyclient_init(&s.client, ctx, index, &t);
		s.client.plain_http_ok = opts->insecure_index;
	}
	const char *const *extra = opts->extra_index_urls
	                               ? opts->extra_index_urls
	                               : (const char *const *)reqs->extra_index_urls;
	size_t nextra = opts->extra_index_urls ? opts->nextra : reqs->nextra;
	for (size_t k = 0; rc == 0 && k < nextra; k++) {
		rc = pyclient_add_index(&s.client, extra[k]);
	}
	if (rc == 0) {
		rc = cs_reserve(&s);
	}
	if (rc == 0) {
		rc = root_edges(&s, reqs, out);
	}
	if (rc == 0) {
		rc = solve(&s, 0);
	}
	if (rc == 1) {
		rc = lks_err(ctx, -LKS_E_CONFLICT,
		             "cannot resolve the requirements for Python %s on "
		             "%s: %s",
		             s.env.python_full_version, s.env.platform_machine, s.conflict);
	}
	if (rc == 0) {
		rc = collect(&s, out);
	}
	if (rc == 0) {
		rc = collect_gone(&s, out);
	}
	solver_free(&s);
	return rc;
}

/* ---- pip-compile output ---- */

static int write_pin(const struct lks_pypin *p, struct lks_buf *out)
{
	int rc = lks_buf_printf(out, "%s==%s%s%s%s\n", p->key, p->version, p->marker ? " ; " : "",
	                        p->marker ? p->marker : "", p->nhashes ? " \\" : "");
	for (size_t k = 0; rc == 0 && k < p->nhashes; k++) {
		rc = lks_buf_printf(out, "    --hash=%s%s\n", p->hashes[k],
		                    k + 1 < p->nhashes ? " \\" : "");
	}
	if (rc == 0 && p->nvia == 1) {
		rc = lks_buf_printf(out, "    # via %s\n", p->via[0]);
	} else if (rc == 0 && p->nvia > 1) {
		rc = lks_buf_puts(out, "    # via\n");
		for (size_t k = 0; rc == 0 && k < p->nvia; k++) {
			rc = lks_buf_printf(out, "    #   %s\n", p->via[k]);
		}
	}
	return rc;
}

static int write_index(const struct lks_pyresolve_opts *o, struct lks_buf *out);

static int write_header(const struct lks_pyresolve_opts *o, const char *command,
                        struct lks_buf *out)
{
	char pyver[16];
	if (o->header) {
		int rc = lks_buf_puts(out, o->header);
		return rc ? rc : write_index(o, out);
	}
	snprintf(pyver, sizeof(pyver), "%s", o->python_version);
	char *second = strchr(pyver, '.') ? strchr(strchr(pyver, '.') + 1, '.') : NULL;
	if (second) {
		*second = '\0';
	}
	int rc = lks_buf_printf(out,
	                        "#\n# This file is autogenerated by pip-compile with Python "
	                        "%s\n# by the following command:\n#\n#    %s\n#\n",
	                        pyver, command);
	return rc ? rc : write_index(o, out);
}

static int write_index(const struct lks_pyresolve_opts *o, struct lks_buf *out)
{
	int rc = 0;
	if (o->index_url) {
		rc = lks_buf_printf(out, "--index-url %s\n", o->index_url);
	}
	for (size_t k = 0; rc == 0 && o->extra_index_urls && k < o->nextra; k++) {
		rc = lks_buf_printf(out, "--extra-index-url %s\n", o->extra_index_urls[k]);
	}
	if (rc == 0 && o->index_url) {
		rc = lks_buf_putc(out, '\n');
	}
	return rc;
}

int lks_pyresolution_write(struct lks_ctx *ctx, const struct lks_pyresolution *r,
                           const struct lks_pyresolve_opts *opts, const char *command,
                           struct lks_buf *out)
{
	int rc = write_header(opts, command, out);
	bool any_unsafe = false;
	for (size_t k = 0; rc == 0 && k < r->n; k++) {
		any_unsafe = any_unsafe || r->pins[k].unsafe;
		rc = r->pins[k].unsafe ? 0 : write_pin(&r->pins[k], out);
	}
	if (rc == 0 && any_unsafe) {
		rc =
		    lks_buf_puts(out, "\n# The following packages are considered to be unsafe in a "
		                      "requirements file:\n");
	}
	for (size_t k = 0; rc == 0 && k < r->n; k++) {
		if (!r->pins[k].unsafe) {
			continue;
		}
		rc = opts->allow_unsafe ? write_pin(&r->pins[k], out)
		                        : lks_buf_printf(out, "# %s\n", r->pins[k].key);
	}
	if (rc < 0) {
		return lks_err(ctx, rc, "cannot format requirements: %s", lks_strerror(rc));
	}
	return 0;
}
