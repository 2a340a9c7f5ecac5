/* The apt pinner in `lockstep update` and `lockstep outdated`: apt's candidate for a pinned
 * word, and when lockstep first saw a version (see aptpin.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pinner/apt/apt_cmd.h"
#include "pinner/apt/apt_rewrite.h"
#include "pinner/apt/apt_resolve.h"
#include "lockstep/aptpin.h"
#include "lockstep/cache.h"
#include "lockstep/ctx.h"
#include "pinner/apt/debver.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "lockstep/update.h"
#include "lockstep/policy.h"
#include "pinner/workspace.h"
#include "pinner/apt/apt_env.h"
#include "pinner/apt/apt_pinner_int.h"

#define SEEN_KIND "apt" /* lks_cache_seen: ("URI NAME:ARCH", version) */

const struct lks_lock_apt *apt_pinner_lock_find(const struct lks_lock *lock, const char *file,
                                                long line, const char *package, const char *arch)
{
	for (size_t i = 0; i < lock->n_apt; i++) {
		const struct lks_lock_apt *e = &lock->apt[i];
		if (e->line == line && !strcmp(e->file, file) && !strcmp(e->package, package) &&
		    !strcmp(e->architecture, arch)) {
			return e;
		}
	}
	return NULL;
}

time_t apt_pinner_first_seen(struct lks_ctx *ctx, const struct lks_apt_choice *c)
{
	time_t t = c->release->date_epoch ? c->release->date_epoch : lks_now(ctx);
	char key[1024];
	snprintf(key, sizeof(key), "%s %s:%s", c->release->uri ? c->release->uri : "", c->pkg->name,
	         c->pkg->arch);
	if (lks_cache_seen(ctx, SEEN_KIND, key, c->pkg->version, t, &t) < 0) {
		if (!ctx->cache_warned) {
			lks_warn(ctx, "warning: cache not used: %s", ctx->err);
			ctx->cache_warned = true;
		}
		t = c->release->date_epoch ? c->release->date_epoch : lks_now(ctx);
	}
	ctx->err[0] = '\0';
	return t;
}

/* ---- update ---- */

/* Every platform has a candidate, and the same one. */
static int cands_agree(struct lks_ctx *ctx, const char *const where[2], size_t line,
                       const struct apt_env *env, const struct apt_pinner_unit *up, size_t k)
{
	const struct lks_apt_rewrite_word *w0 = &up->res[0].v[k];
	for (size_t p = 0; p < up->nplat; p++) {
		const struct lks_apt_rewrite_word *w = &up->res[p].v[k];
		if (w->cand_rc < 0) {
			return lks_err(
			    ctx, w->cand_rc,
			    "%s:%zu: cannot update apt package '%s': %s (base image '%s', "
			    "%s)",
			    where[0], line, w->word, w->cand_err, where[1], env->v[p].platform);
		}
		if (w->cand_rc == 0 && strcmp(w->cand.pkg->version, w0->cand.pkg->version)) {
			return lks_err(
			    ctx, -LKS_E_CONFLICT,
			    "%s:%zu: cannot update apt package '%s': the candidate is %s on "
			    "%s but %s on %s",
			    where[0], line, w->word, w0->cand.pkg->version, env->v[0].platform,
			    w->cand.pkg->version, env->v[p].platform);
		}
	}
	return 0;
}

static bool vanished(const struct apt_pinner_unit *up, size_t k)
{
	for (size_t p = 0; p < up->nplat; p++) {
		if (up->res[p].v[k].rc < 0) {
			return true;
		}
	}
	return false;
}

static int cooldown_kept(struct lks_findings *out, const char *file, size_t line,
                         const struct lks_apt_rewrite_word *w, const struct lks_apt_request *req,
                         time_t seen)
{
	char when[21];
	lks_format_time(seen, when);
	return lks_findings_add(out, file, line, LKS_SEV_WARNING, "apt-cooldown", req->name,
	                        "candidate %s of apt package '%s' was first seen %s, within the "
	                        "cooldown: kept %s",
	                        w->cand.pkg->version, req->name, when, req->version);
}

int apt_pinner_decide(struct lks_ctx *ctx, const struct lks_update_opts *u,
                      const char *const where[2], size_t line, const struct apt_env *env,
                      const struct apt_pinner_unit *up, size_t k, struct lks_findings *out,
                      struct apt_pinner_move *m)
{
	const struct lks_apt_rewrite_word *w = &up->res[0].v[k];
	struct lks_apt_request req;
	memset(m, 0, sizeof(*m));
	if (!u || !u->enabled || w->kind != LKS_APT_WORD_PINNED || w->cand_rc > 0 ||
	    lks_apt_request_parse(ctx, w->word, &req) < 0) {
		ctx->err[0] = '\0';
		return 0;
	}
	const char *names[2] = {req.name, w->cand_rc == 0 ? w->cand.pkg->name : NULL};
	time_t now = lks_now(ctx);
	if (lks_update_verdict(u, now, "apt", names, 2, NULL) != LKS_UPDATE_MOVE) {
		return 0;
	}
	int rc = cands_agree(ctx, where, line, env, up, k);
	bool gone = vanished(up, k);
	if (rc < 0 || (!gone && lks_debver_cmp(w->cand.pkg->version, req.version) <= 0)) {
		return rc;
	}
	time_t seen = apt_pinner_first_seen(ctx, &w->cand);
	if (!gone && !lks_update_cooled(u, now, seen)) {
		return cooldown_kept(out, where[0], line, w, &req, seen);
	}
	m->move = true;
	m->published = seen;
	snprintf(m->previous, sizeof(m->previous), "%s", req.version);
	snprintf(m->word, sizeof(m->word), "%s%s%s=%s", req.name, req.arch[0] ? ":" : "", req.arch,
	         w->cand.pkg->version);
	return 0;
}

/* ---- outdated ---- */

struct latest_run {
	struct lks_ctx *ctx;
	const struct lks_lock *lock;
	struct lks_latest *out;
	bool *done; /* per lock entry */
	struct apt_env_pool *pool;
	struct apt_pinner_extra extra;
};

static int vanished_entry(const struct lks_lock_apt *e, const struct lks_apt_rewrite_word *w,
                          struct lks_latest *l)
{
	l->state = LKS_PIN_VANISHED;
	if (asprintf(&l->detail, "version %s is no longer in the archive (%s)", e->version,
	             e->suite ? e->suite : e->source) < 0) {
		l->detail = NULL;
	}
	int n = w->cand_rc == 0
	            ? asprintf(&l->action, "run 'lockstep update --package %s' (candidate %s)",
	                       e->package, w->cand.pkg->version)
	            : asprintf(&l->action, "pin a version the archive has, or hold or ignore it "
	                                   "in " LKS_POLICY_NAME);
	if (n < 0) {
		l->action = NULL;
	}
	return l->detail && l->action ? 0 : -ENOMEM;
}

static int fill(struct latest_run *r, const struct lks_lock_apt *e,
                const struct lks_apt_rewrite_word *w, struct lks_latest *l)
{
	if (w->rc < 0) {
		return vanished_entry(e, w, l);
	}
	if (w->cand_rc != 0 || lks_debver_cmp(w->cand.pkg->version, e->version) <= 0) {
		l->state = LKS_PIN_CURRENT;
		return 0;
	}
	l->state = LKS_PIN_NEWER;
	l->latest = strdup(w->cand.pkg->version);
	l->since = l->published_at = apt_pinner_first_seen(r->ctx, &w->cand);
	l->has_published_at = true;
	return l->latest ? 0 : -ENOMEM;
}

/* The lock entries of one resolved word (one per platform architecture). */
static int word_entries(struct latest_run *r, const char *file, const struct apt_run_unit *u,
                        const struct apt_pinner_unit *up, size_t k)
{
	int rc = 0;
	for (size_t p = 0; rc == 0 && p < up->nplat; p++) {
		const struct lks_apt_rewrite_word *w = &up->res[p].v[k];
		const struct lks_apt_choice *c = w->rc == 0 ? &w->choice : &w->cand;
		if (w->kind != LKS_APT_WORD_PINNED || (w->rc < 0 && w->cand_rc != 0)) {
			continue;
		}
		for (size_t i = 0; rc == 0 && i < r->lock->n_apt; i++) {
			const struct lks_lock_apt *e = &r->lock->apt[i];
			if (!r->done[i] && e->line == (long)u->line && !strcmp(e->file, file) &&
			    !strcmp(e->package, c->pkg->name) &&
			    !strcmp(e->architecture, c->pkg->arch)) {
				r->done[i] = true;
				rc = fill(r, e, w, &r->out[i]);
			}
		}
	}
	return rc;
}

static int latest_unit(struct latest_run *r, const struct apt_pinner_file *f,
                       struct apt_pinner_stages *st, const struct apt_run_unit *u)
{
	struct apt_pinner_stage *s = u->stage < st->n ? &st->v[u->stage] : NULL;
	if (!s || s->scratch || !s->base || !s->img) {
		return 0; /* nothing pinned to look up: the entries stay unknown */
	}
	struct apt_env *env = NULL;
	int rc = apt_pinner_unit_env(r->ctx, r->pool, f->path, st, u,
	                             (const char *const *)r->extra.v, &env);
	struct apt_pinner_unit up = {0};
	rc = rc ? rc : apt_pinner_resolve_unit(r->ctx, env, u, &up);
	for (size_t k = 0; rc == 0 && up.nplat && k < up.res[0].n; k++) {
		rc = word_entries(r, f->path, u, &up, k);
	}
	apt_pinner_unit_free(&up);
	return rc;
}

static int latest_file(struct latest_run *r, struct lks_workspace *ws, const char *path)
{
	struct apt_pinner_file f;
	struct apt_pinner_stages st = {0};
	struct lks_findings ignore;
	lks_findings_init(&ignore);
	int rc = apt_pinner_file_load(r->ctx, ws, path, &f);
	rc = rc ? rc : apt_pinner_stages_make(r->ctx, &f, (struct lks_lock *)r->lock, &st);
	for (size_t i = 0; rc == 0 && i < f.run.n; i++) {
		struct lks_apt_cmds cmds;
		rc = apt_pinner_scan_unit(r->ctx, &f, &f.run.v[i], &cmds, &ignore);
		bool any = false;
		for (size_t c = 0; rc == 0 && c < cmds.n; c++) {
			any = any || cmds.v[c].n;
		}
		lks_apt_cmds_free(&cmds);
		rc = rc || !any ? rc : latest_unit(r, &f, &st, &f.run.v[i]);
	}
	apt_pinner_stages_free(&st);
	apt_pinner_file_free(&f);
	lks_findings_free(&ignore);
	return rc;
}

/* The Dockerfiles of the lock's apt entries, each once, that still exist. */
static bool first_of_file(const struct lks_lock *lock, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (!strcmp(lock->apt[j].file, lock->apt[i].file)) {
			return false;
		}
	}
	return access(lock->apt[i].file, F_OK) == 0;
}

static int unknown_rest(struct latest_run *r)
{
	for (size_t i = 0; i < r->lock->n_apt; i++) {
		const struct lks_lock_apt *e = &r->lock->apt[i];
		if (r->done[i]) {
			continue;
		}
		if (e->closure_of) {
			/* A dependency follows the package that pulled it in (update recomputes it). */
			r->out[i].state = LKS_PIN_UNTRACKED;
			if (asprintf(&r->out[i].detail, "dependency of '%s' (--apt-closure)",
			             e->closure_of) < 0) {
				return -ENOMEM;
			}
			continue;
		}
		r->out[i].state = LKS_PIN_UNKNOWN;
		if (asprintf(&r->out[i].detail,
		             "%s:%ld no longer installs it as pinned (run 'lockstep pin')", e->file,
		             e->line) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

int lks_aptpin_latest(struct lks_ctx *ctx, const struct lks_lock *lock, struct lks_latest *out)
{
	struct lks_aptpin_opts o;
	struct lks_workspace ws;
	lks_aptpin_opts_init(&o);
	lks_ws_init(&ws);
	struct latest_run r = {.ctx = ctx, .lock = lock, .out = out};
	r.done = calloc(lock->n_apt + 1, sizeof(*r.done));
	r.pool = apt_env_pool_new(&o);
	int rc = r.done && r.pool ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < lock->n_apt; i++) {
		rc = first_of_file(lock, i)
		         ? apt_pinner_extra_scan(ctx, &ws, lock->apt[i].file, &r.extra)
		         : 0;
	}
	for (size_t i = 0; rc == 0 && i < lock->n_apt; i++) {
		rc = first_of_file(lock, i) ? latest_file(&r, &ws, lock->apt[i].file) : 0;
	}
	rc = rc ? rc : unknown_rest(&r);
	apt_pinner_extra_free(&r.extra);
	apt_env_pool_free(r.pool);
	lks_ws_free(&ws);
	free(r.done);
	return rc;
}
