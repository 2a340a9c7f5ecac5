/* Transitive dependency closure of apt requests (see apt_closure.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_closure.h"
#include "pinner/apt/apt_rel.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "pinner/apt/deb822.h"
#include "lockstep/error.h"

/* ---- the installed set ---- */

void lks_apt_inst_free(struct lks_apt_inst *e)
{
	free(e->name);
	free(e->version);
	free(e->arch);
	free(e->provides);
	free(e->multi_arch);
	free(e->breaks);
	free(e->conflicts);
	memset(e, 0, sizeof(*e));
}

void lks_apt_installed_free(struct lks_apt_installed *s)
{
	for (size_t i = 0; s->v && i < s->n; i++) {
		lks_apt_inst_free(&s->v[i]);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* dpkg has the package's files: any state but not-installed and config-files. */
static bool status_installed(const char *status)
{
	const char *last = status ? strrchr(status, ' ') : NULL;
	return last && strcmp(last + 1, "not-installed") && strcmp(last + 1, "config-files");
}

/* A copy of an optional field: *ok turns false when it could not be copied. */
static char *opt_dup(const struct lks_deb822_para *p, const char *field, bool *ok)
{
	const char *v = lks_deb822_get(p, field);
	char *d = v ? strdup(v) : NULL;
	*ok = *ok && (!v || d);
	return d;
}

static int status_para(void *opaque, const struct lks_deb822_para *p)
{
	struct lks_apt_installed *s = opaque;
	const char *name = lks_deb822_get(p, "Package");
	const char *ver = lks_deb822_get(p, "Version");
	const char *arch = lks_deb822_get(p, "Architecture");
	if (!name || !ver || !status_installed(lks_deb822_get(p, "Status"))) {
		return 0;
	}
	if (s->n >= LKS_APT_CLOSURE_MAX) {
		return -LKS_E_TOOBIG;
	}
	struct lks_apt_inst *v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	s->v = v;
	bool ok = true;
	struct lks_apt_inst *e = &v[s->n++];
	*e = (struct lks_apt_inst){.name = strdup(name),
	                           .version = strdup(ver),
	                           .arch = strdup(arch ? arch : "all"),
	                           .provides = opt_dup(p, "Provides", &ok),
	                           .multi_arch = opt_dup(p, "Multi-Arch", &ok),
	                           .breaks = opt_dup(p, "Breaks", &ok),
	                           .conflicts = opt_dup(p, "Conflicts", &ok)};
	return ok && e->name && e->version && e->arch ? 0 : -ENOMEM;
}

int lks_apt_installed_parse(struct lks_ctx *ctx, const char *what, const char *data, size_t n,
                            struct lks_apt_installed *out)
{
	memset(out, 0, sizeof(*out));
	int rc = lks_deb822_parse(ctx, what, 0, data, n, status_para, out);
	if (rc == -LKS_E_TOOBIG) {
		rc = lks_err(ctx, rc, "%s lists more than %d installed packages", what,
		             LKS_APT_CLOSURE_MAX);
	}
	if (rc < 0) {
		lks_apt_installed_free(out);
	}
	return rc;
}

void lks_apt_closure_free(struct lks_apt_closure *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* ---- satisfaction ---- */

struct walk {
	struct lks_ctx *ctx;
	const struct lks_apt_policy *pol;
	const struct lks_apt_installed *inst;
	struct lks_apt_closure *out;
	const struct lks_apt_pkg **marked; /* requested and chosen so far */
	size_t n_marked, cap_marked;
	const char *of;
	const char *chain[LKS_APT_CLOSURE_MAX_DEPTH];
	size_t depth;
};

/* The architecture a package's dependencies are looked up for. */
static const char *dep_arch(const struct walk *w, const char *pkg_arch, const struct lks_apt_alt *a)
{
	if (a->arch && strcmp(a->arch, "any") && strcmp(a->arch, "native")) {
		return a->arch;
	}
	return !strcmp(pkg_arch, "all") || (a->arch && !strcmp(a->arch, "native"))
	           ? w->pol->native_arch
	           : pkg_arch;
}

/* NAME:any is met only by a package marked Multi-Arch: allowed (as apt and dpkg hold). */
static bool arch_ok(const char *have, const char *ma, const char *want, const struct lks_apt_alt *a)
{
	if (a->arch && !strcmp(a->arch, "any")) {
		return ma && !strcmp(ma, "allowed");
	}
	return !strcmp(have, want) || !strcmp(have, "all");
}

/* Does a Provides field provide a? An unversioned Provides meets only unversioned deps. */
static bool provides(struct lks_ctx *ctx, const char *field, const struct lks_apt_alt *a)
{
	struct lks_apt_rels r;
	if (!field || !strstr(field, a->name) || lks_apt_rels_parse(ctx, field, &r) < 0) {
		ctx->err[0] = '\0';
		return false;
	}
	bool ok = false;
	for (size_t i = 0; i < r.n && !ok; i++) {
		const struct lks_apt_alt *p = &r.v[i].alts[0];
		ok = !strcmp(p->name, a->name) &&
		     (a->op == LKS_APT_REL_NONE ||
		      (p->op == LKS_APT_REL_EQ &&
		       lks_apt_relop_holds(a->op, p->version, a->version)));
	}
	lks_apt_rels_free(&r);
	return ok;
}

/* One package (name, version, arch, Provides, Multi-Arch) meets a. */
static bool meets(struct lks_ctx *ctx, const char *const f[5], const struct lks_apt_alt *a,
                  const char *want)
{
	const char *name = f[0], *ver = f[1], *prov = f[3];
	if (!arch_ok(f[2], f[4], want, a)) {
		return false;
	}
	if (!strcmp(name, a->name) && lks_apt_relop_holds(a->op, ver, a->version)) {
		return true;
	}
	return provides(ctx, prov, a);
}

static bool is_marked(const struct walk *w, const char *name)
{
	for (size_t i = 0; i < w->n_marked; i++) {
		if (!strcmp(w->marked[i]->name, name)) {
			return true;
		}
	}
	return false;
}

/* Satisfied by what is chosen, or by what is installed and not replaced by a choice. */
static bool satisfied(struct walk *w, const struct lks_apt_alt *a, const char *want)
{
	for (size_t i = 0; i < w->n_marked; i++) {
		const struct lks_apt_pkg *p = w->marked[i];
		const char *f[5] = {p->name, p->version, p->arch, p->provides, p->multi_arch};
		if (meets(w->ctx, f, a, want)) {
			return true;
		}
	}
	for (size_t i = 0; w->inst && i < w->inst->n; i++) {
		const struct lks_apt_inst *p = &w->inst->v[i];
		const char *f[5] = {p->name, p->version, p->arch, p->provides, p->multi_arch};
		if (!is_marked(w, p->name) && meets(w->ctx, f, a, want)) {
			return true;
		}
	}
	return false;
}

/* ---- choosing ---- */

static bool is_real(const struct lks_apt_policy *pol, const char *name, const char *want)
{
	for (const struct lks_apt_pkg *p = lks_apt_index_find(pol->idx, name); p;
	     p = lks_apt_index_next(pol->idx, p)) {
		if (!strcmp(p->arch, want) ||
		    (!strcmp(p->arch, "all") && !strcmp(want, pol->native_arch))) {
			return true;
		}
	}
	return false;
}

static int candidate(struct walk *w, const char *name, const char *want, struct lks_apt_choice *c)
{
	struct lks_apt_request req;
	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", name);
	if (strcmp(want, w->pol->native_arch)) {
		snprintf(req.arch, sizeof(req.arch), "%s", want);
	}
	int rc = lks_apt_resolve(w->ctx, w->pol, &req, c);
	if (rc < 0) {
		w->ctx->err[0] = '\0';
	}
	return rc;
}

/* The first package in index order whose candidate provides a. */
static int by_provider(struct walk *w, const struct lks_apt_alt *a, const char *want,
                       struct lks_apt_choice *c)
{
	const struct lks_apt_index *idx = w->pol->idx;
	for (size_t i = 0; i < idx->n_pkgs; i++) {
		const struct lks_apt_pkg *p = lks_apt_index_at(idx, i);
		if (!p || !p->provides || !arch_ok(p->arch, p->multi_arch, want, a) ||
		    !provides(w->ctx, p->provides, a)) {
			continue;
		}
		if (candidate(w, p->name, want, c) == 0 && provides(w->ctx, c->pkg->provides, a)) {
			return 0;
		}
	}
	return -LKS_E_NOTFOUND;
}

static int choose(struct walk *w, const struct lks_apt_group *g, const char *pkg_arch,
                  struct lks_apt_choice *c)
{
	for (size_t j = 0; j < g->n; j++) {
		const struct lks_apt_alt *a = &g->alts[j];
		const char *want = dep_arch(w, pkg_arch, a);
		if (is_real(w->pol, a->name, want) && candidate(w, a->name, want, c) == 0 &&
		    lks_apt_relop_holds(a->op, c->pkg->version, a->version) &&
		    arch_ok(c->pkg->arch, c->pkg->multi_arch, want, a)) {
			return 0;
		}
		if (by_provider(w, a, want, c) == 0) {
			return 0;
		}
	}
	return -LKS_E_NOTFOUND;
}

static int unsatisfiable(struct walk *w, const struct lks_apt_group *g, const char *pkg_arch)
{
	char what[512] = "", chain[1024] = "", why[300];
	size_t n = 0, m = 0;
	for (size_t j = 0; j < g->n && n + 1 < sizeof(what); j++) {
		char one[400];
		lks_apt_alt_format(&g->alts[j], one, sizeof(one));
		int k = snprintf(what + n, sizeof(what) - n, "%s%s", j ? " | " : "", one);
		n += k > 0 ? (size_t)k : 0;
	}
	for (size_t j = 0; j < w->depth && m + 1 < sizeof(chain); j++) {
		int k =
		    snprintf(chain + m, sizeof(chain) - m, "%s%s", j ? " -> " : "", w->chain[j]);
		m += k > 0 ? (size_t)k : 0;
	}
	const struct lks_apt_alt *a = &g->alts[0];
	struct lks_apt_choice c;
	if (candidate(w, a->name, dep_arch(w, pkg_arch, a), &c) == 0) {
		snprintf(why, sizeof(why), "the candidate of '%s' is %s", a->name, c.pkg->version);
	} else {
		snprintf(why, sizeof(why), "'%s' has no candidate and no provider", a->name);
	}
	return lks_err(w->ctx, -LKS_E_CONFLICT, "apt dependency '%s' of %s cannot be satisfied: %s",
	               what, chain, why);
}

static int mark(struct walk *w, const struct lks_apt_pkg *p)
{
	if (w->n_marked == w->cap_marked) {
		size_t cap = w->cap_marked ? w->cap_marked * 2 : 64;
		const struct lks_apt_pkg **v = realloc(w->marked, cap * sizeof(*v));
		if (!v) {
			return -ENOMEM;
		}
		w->marked = v;
		w->cap_marked = cap;
	}
	w->marked[w->n_marked++] = p;
	return 0;
}

static int add_choice(struct walk *w, const struct lks_apt_choice *c)
{
	struct lks_apt_closure *o = w->out;
	if (o->n >= LKS_APT_CLOSURE_MAX) {
		return lks_err(w->ctx, -LKS_E_TOOBIG,
		               "apt closure of '%s' has more than %d packages", w->of,
		               LKS_APT_CLOSURE_MAX);
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 32;
		struct lks_apt_closure_ent *v = realloc(o->v, cap * sizeof(*v));
		if (!v) {
			return -ENOMEM;
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = (struct lks_apt_closure_ent){*c, w->of};
	return mark(w, c->pkg);
}

/* ---- the walk ---- */

static int walk_pkg(struct walk *w, const struct lks_apt_pkg *p);

static int walk_group(struct walk *w, const struct lks_apt_pkg *p, const struct lks_apt_group *g)
{
	for (size_t j = 0; j < g->n; j++) {
		if (satisfied(w, &g->alts[j], dep_arch(w, p->arch, &g->alts[j]))) {
			return 0;
		}
	}
	struct lks_apt_choice c;
	if (choose(w, g, p->arch, &c) < 0) {
		return unsatisfiable(w, g, p->arch);
	}
	int rc = add_choice(w, &c);
	return rc ? rc : walk_pkg(w, c.pkg);
}

static int walk_field(struct walk *w, const struct lks_apt_pkg *p, const char *field)
{
	struct lks_apt_rels r;
	int rc = lks_apt_rels_parse(w->ctx, field, &r);
	if (rc < 0 && rc != -ENOMEM) {
		char detail[sizeof(w->ctx->err)];
		snprintf(detail, sizeof(detail), "%s", lks_errmsg(w->ctx, rc));
		return lks_err(w->ctx, rc, "apt package '%s' %s: %s", p->name, p->version, detail);
	}
	for (size_t i = 0; rc == 0 && i < r.n; i++) {
		rc = walk_group(w, p, &r.v[i]);
	}
	lks_apt_rels_free(&r);
	return rc;
}

static int walk_pkg(struct walk *w, const struct lks_apt_pkg *p)
{
	if (w->depth == LKS_APT_CLOSURE_MAX_DEPTH) {
		return lks_err(w->ctx, -LKS_E_TOOBIG,
		               "apt dependencies of '%s' nest deeper than %d", w->of,
		               LKS_APT_CLOSURE_MAX_DEPTH);
	}
	w->chain[w->depth++] = p->name;
	int rc = walk_field(w, p, p->pre_depends);
	rc = rc ? rc : walk_field(w, p, p->depends);
	w->depth--;
	return rc;
}

int lks_apt_closure(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                    const struct lks_apt_installed *inst, const struct lks_apt_choice *reqs,
                    size_t n, struct lks_apt_closure *out)
{
	memset(out, 0, sizeof(*out));
	struct walk w = {.ctx = ctx, .pol = pol, .inst = inst, .out = out};
	int rc = 0;
	/* apt-get marks every requested package first, then their dependencies in order. */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = mark(&w, reqs[i].pkg);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		w.of = reqs[i].pkg->name;
		rc = walk_pkg(&w, reqs[i].pkg);
	}
	free(w.marked);
	if (rc < 0) {
		lks_apt_closure_free(out);
	}
	return rc;
}

/* ---- clashes with the installed set ---- */

/* Does field (Breaks or Conflicts) name package (name, version)? */
static bool names(struct lks_ctx *ctx, const char *field, const char *name, const char *version)
{
	struct lks_apt_rels r;
	if (!field || !strstr(field, name) || lks_apt_rels_parse(ctx, field, &r) < 0) {
		ctx->err[0] = '\0';
		return false;
	}
	bool hit = false;
	for (size_t i = 0; i < r.n && !hit; i++) {
		for (size_t j = 0; j < r.v[i].n && !hit; j++) {
			const struct lks_apt_alt *a = &r.v[i].alts[j];
			hit = !strcmp(a->name, name) &&
			      lks_apt_relop_holds(a->op, version, a->version);
		}
	}
	lks_apt_rels_free(&r);
	return hit;
}

/* Does chosen package p clash with installed package e, either way? */
static bool clash(struct lks_ctx *ctx, const struct lks_apt_pkg *p, const struct lks_apt_inst *e)
{
	return names(ctx, p->breaks, e->name, e->version) ||
	       names(ctx, p->conflicts, e->name, e->version) ||
	       names(ctx, e->breaks, p->name, p->version) ||
	       names(ctx, e->conflicts, p->name, p->version);
}

static bool replaced(const struct lks_apt_pkg *const *chosen, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(chosen[i]->name, name)) {
			return true;
		}
	}
	return false;
}

size_t lks_apt_closure_clashes(struct lks_ctx *ctx, const struct lks_apt_installed *inst,
                               const struct lks_apt_pkg *const *chosen, size_t n, char *buf,
                               size_t size)
{
	size_t hits = 0;
	for (size_t k = 0; inst && k < inst->n; k++) {
		const struct lks_apt_inst *e = &inst->v[k];
		if (replaced(chosen, n, e->name)) {
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (!clash(ctx, chosen[i], e)) {
				continue;
			}
			if (!hits++ && size) {
				snprintf(buf, size,
				         "'%s' %s and the installed '%s' %s break each other",
				         chosen[i]->name, chosen[i]->version, e->name, e->version);
			}
			break;
		}
	}
	return hits;
}
