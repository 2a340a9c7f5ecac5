/* pin for the apt pinner: base image per stage, its apt configuration per platform, the
 * indexes, and the rewrite of each RUN's package words (see aptpin.h). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_cmd.h"
#include "pinner/apt/apt_rewrite.h"
#include "pinner/apt/apt_resolve.h"
#include "lockstep/aptpin.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "lockstep/platform.h"
#include "pinner/workspace.h"
#include "pinner/apt/apt_env.h"
#include "pinner/apt/apt_files.h"
#include "pinner/apt/apt_pinner_int.h"

static void stages_free(struct apt_pinner_stages *s)
{
	for (size_t i = 0; s->v && i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].base);
		free(s->v[i].platform);
	}
	free(s->v);
	free(s->parent);
	apt_files_free(&s->files);
	memset(s, 0, sizeof(*s));
}

void apt_pinner_stages_free(struct apt_pinner_stages *s)
{
	stages_free(s);
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *c = d; c && *c; c++) {
		*c = (char)tolower((unsigned char)*c);
	}
	return d;
}

/* A FROM naming an earlier stage (by name or index) inherits its base. */
static bool inherit(struct apt_pinner_stages *s, const char *arg, struct apt_pinner_stage *st)
{
	_cleanup_free_ char *v = lower_dup(arg);
	char *end;
	long k = v ? strtol(v, &end, 10) : -1;
	for (size_t j = 0; v && j < s->n; j++) {
		const struct apt_pinner_stage *p = &s->v[j];
		if ((p->name && !strcmp(p->name, v)) || (*v && !*end && k == (long)j)) {
			s->parent[s->n] = j;
			st->base = p->base ? strdup(p->base) : NULL;
			st->platform = p->platform ? strdup(p->platform) : NULL;
			st->img = p->img;
			st->line = p->line;
			st->scratch = p->scratch;
			return true;
		}
	}
	st->scratch = v && !strcmp(v, "scratch");
	return false;
}

static void from_image(struct lks_lock *lock, const char *path, const struct lks_df_image *img,
                       struct apt_pinner_stage *st)
{
	st->line = img->line;
	if (img->platform && !strchr(img->platform, '$')) {
		st->platform = strdup(img->platform);
	}
	if (!img->expanded || !img->has_digest) {
		return; /* the image pinner reports it */
	}
	st->base = strdup(img->expanded);
	st->img = lks_lock_find_image(lock, path, img->written, (long)img->line);
}

int apt_pinner_stages_make(struct lks_ctx *ctx, const struct apt_pinner_file *f,
                           struct lks_lock *lock, struct apt_pinner_stages *s)
{
	struct lks_df_image *imgs = NULL;
	size_t ni = 0;
	struct lks_platforms pl; /* the file's, as the image pinner evaluated it */
	int rc = lks_lock_platforms(ctx, lock, f->path, &pl);
	rc = rc ? rc : lks_dockerfile_images_on(ctx, f->df, &pl, &imgs, &ni);
	s->v = calloc(f->df->ninstrs + 1, sizeof(*s->v));
	s->parent = calloc(f->df->ninstrs + 1, sizeof(*s->parent));
	rc = rc ? rc : s->v && s->parent ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < f->df->ninstrs; i++) {
		const struct lks_df_instr *in = &f->df->instrs[i];
		if (strcmp(in->keyword, "FROM") || in->nargs < 1) {
			continue;
		}
		struct apt_pinner_stage *st = &s->v[s->n];
		s->parent[s->n] = SIZE_MAX;
		const struct lks_df_image *img = NULL;
		for (size_t k = 0; k < ni && !img; k++) {
			if (imgs[k].kind == LKS_DF_IMG_FROM && imgs[k].stage == (int)s->n) {
				img = &imgs[k];
			}
		}
		if (img) {
			from_image(lock, f->path, img, st);
		} else {
			inherit(s, in->args[0].value, st);
		}
		st->name = in->nargs == 3 ? lower_dup(in->args[2].value) : NULL;
		s->n++;
	}
	lks_df_images_free(imgs, ni);
	return rc ? rc : apt_files_collect(ctx, f, &s->files);
}

int apt_pinner_unit_env(struct lks_ctx *ctx, struct apt_env_pool *pool, const char *path,
                        const struct apt_pinner_stages *st, const struct apt_run_unit *u,
                        const char *const *extra, struct apt_env **env)
{
	const struct apt_pinner_stage *s = &st->v[u->stage];
	struct lks_apt_file *files = NULL;
	size_t nf = 0;
	int rc = apt_files_for(&st->files, st->parent, u->stage, u->instr, &files, &nf);
	rc = rc ? rc : apt_env_get(ctx, pool, s->base, s->img, s->platform, extra, files, nf, env);
	free(files);
	if (rc < 0 && rc != -ENOMEM) {
		char detail[sizeof(ctx->err)];
		snprintf(detail, sizeof(detail), "%s", lks_errmsg(ctx, rc));
		return lks_err(ctx, rc, "%s:%zu: %s", path, nf ? u->line : s->line, detail);
	}
	return rc;
}

/* ---- one RUN unit ---- */

void apt_pinner_unit_free(struct apt_pinner_unit *p)
{
	for (size_t i = 0; p->res && i < p->nplat; i++) {
		lks_apt_rewrite_result_free(&p->res[i]);
	}
	free(p->res);
	memset(p, 0, sizeof(*p));
}

int apt_pinner_resolve_unit(struct lks_ctx *ctx, const struct apt_env *env,
                            const struct apt_run_unit *u, struct apt_pinner_unit *p)
{
	p->res = calloc(env->n + 1, sizeof(*p->res));
	if (!p->res) {
		return -ENOMEM;
	}
	p->nplat = env->n;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < env->n; i++) {
		const struct apt_env_plat *pl = &env->v[i];
		struct lks_apt_policy pol;
		struct lks_buf tmp;
		lks_buf_init(&tmp, 0);
		rc = lks_apt_policy_init(ctx, &pol, pl->idx, &pl->prefs, NULL, pl->arch);
		rc =
		    rc ? rc : lks_apt_rewrite_command(ctx, &pol, u->text, u->len, &tmp, &p->res[i]);
		lks_apt_policy_free(&pol);
		lks_buf_free(&tmp);
	}
	return rc;
}

/* ---- the run ---- */

struct pin_run {
	struct lks_ctx *ctx;
	struct apt_env_pool *pool;
	struct lks_lock *lock;
	const struct lks_update_opts *u;
	struct lks_findings *out;
	struct lks_pin_report *rep;
	struct apt_pinner_extra extra; /* architectures named by NAME:ARCH words */
	bool closure;              /* --apt-closure */
};

struct file_pin {
	struct apt_pinner_file f;
	struct apt_pinner_stages st;
	struct lks_edit *edits;
	char **texts;
	size_t n, cap;
	bool closure; /* record the apt closure of each RUN in the lock */
	struct apt_pinner_installs done;
};

static int edit_add(struct file_pin *fp, const struct apt_run_span *sp, const char *word)
{
	if (fp->n == fp->cap) {
		size_t cap = fp->cap ? fp->cap * 2 : 16;
		struct lks_edit *e = realloc(fp->edits, cap * sizeof(*e));
		if (e) {
			fp->edits = e;
		}
		char **t = realloc(fp->texts, cap * sizeof(*t));
		if (t) {
			fp->texts = t;
		}
		if (!e || !t) {
			return -ENOMEM;
		}
		fp->cap = cap;
	}
	char *text = NULL;
	if (asprintf(&text, sp->json ? "\"%s\"" : "%s", word) < 0) {
		return -ENOMEM;
	}
	fp->texts[fp->n] = text;
	fp->edits[fp->n++] = (struct lks_edit){sp->off, sp->len, text};
	return 0;
}

int apt_pinner_lock_entry(struct lks_ctx *ctx, const struct lks_lock *lock, const char *path,
                          size_t line, const char *image, const struct lks_apt_choice *c,
                          struct lks_lock_apt *e)
{
	const struct lks_apt_pkg *p = c->pkg;
	memset(e, 0, sizeof(*e));
	e->package = strdup(p->name);
	e->version = strdup(p->version);
	e->architecture = strdup(p->arch);
	e->suite = c->release->suite ? strdup(c->release->suite) : NULL;
	e->component = strdup(c->pfile->component);
	e->filename = strdup(p->filename ? p->filename : "");
	e->sha256 = p->sha256 ? strdup(p->sha256) : NULL;
	e->size = p->size;
	e->source = strdup(c->release->uri ? c->release->uri : "");
	e->snapshot = c->release->date_epoch;
	e->has_snapshot = c->release->date_epoch != 0;
	e->resolved_at = lks_now(ctx);
	e->file = strdup(path);
	e->line = (long)line;
	e->image = strdup(image);
	/* The lock keeps what was first seen when the cache no longer knows it (a fresh CI). */
	const struct lks_lock_apt *old =
	    apt_pinner_lock_find(lock, path, e->line, p->name, p->arch);
	e->has_published_at = true;
	e->published_at = old && old->has_published_at && !strcmp(old->version, p->version)
	                      ? old->published_at
	                      : apt_pinner_first_seen(ctx, c);
	bool ok = e->package && e->version && e->architecture && e->component && e->filename &&
	          e->source && e->file && e->image;
	return ok ? 0 : -ENOMEM;
}

static int lock_word(struct pin_run *r, const struct file_pin *fp, const struct apt_run_unit *u,
                     const struct apt_env *env, const struct apt_pinner_unit *up, size_t k,
                     bool cand)
{
	int rc = 0;
	for (size_t p = 0; rc == 0 && p < up->nplat; p++) {
		const struct lks_apt_rewrite_word *w = &up->res[p].v[k];
		struct lks_lock_apt e;
		rc = apt_pinner_lock_entry(r->ctx, r->lock, fp->f.path, u->line, env->image,
		                           cand ? &w->cand : &w->choice, &e);
		rc = rc ? rc : lks_lock_upsert_apt(r->ctx, r->lock, &e);
		lks_lock_apt_free(&e);
	}
	return rc;
}

/* Every platform must have resolved the word, and to the same version. */
static int word_agrees(struct pin_run *r, const struct file_pin *fp, const struct apt_env *env,
                       const struct apt_pinner_unit *up, size_t k, size_t line)
{
	const struct lks_apt_rewrite_word *w0 = &up->res[0].v[k];
	for (size_t p = 0; p < up->nplat; p++) {
		const struct lks_apt_rewrite_word *w = &up->res[p].v[k];
		if (w->rc < 0 && w->kind == LKS_APT_WORD_PINNED && w->cand_rc == 0) {
			return lks_err(r->ctx, w->rc,
			               "%s:%zu: %s (base image '%s', %s): the candidate is now %s "
			               "('lockstep update --package %s' moves the pin)",
			               fp->f.path, line, w->err, env->image, env->v[p].platform,
			               w->cand.pkg->version, w->cand.pkg->name);
		}
		if (w->rc < 0) {
			return lks_err(r->ctx, w->rc, "%s:%zu: %s (base image '%s', %s)",
			               fp->f.path, line, w->err, env->image, env->v[p].platform);
		}
		if (strcmp(w->choice.pkg->version, w0->choice.pkg->version)) {
			return lks_err(
			    r->ctx, -LKS_E_CONFLICT,
			    "%s:%zu: apt package '%s' resolves to %s on %s but %s on %s: "
			    "pin it by hand",
			    fp->f.path, line, w->word, w0->choice.pkg->version, env->v[0].platform,
			    w->choice.pkg->version, env->v[p].platform);
		}
	}
	return 0;
}

/* The change of one word in rep; a move carries the first-seen times of both versions. */
static int report_word(struct pin_run *r, const struct file_pin *fp, size_t line,
                       const struct apt_run_unit *u, const struct lks_apt_rewrite_word *w,
                       const struct apt_pinner_move *mv, bool changed)
{
	const struct lks_apt_choice *c = mv->move ? &w->cand : &w->choice;
	const struct lks_lock_apt *old =
	    apt_pinner_lock_find(r->lock, fp->f.path, (long)u->line, c->pkg->name, c->pkg->arch);
	struct lks_pin_change *ch;
	int rc = lks_pin_report_add(r->rep, "apt", fp->f.path, line, w->word, c->pkg->name,
	                            c->pkg->version, mv->move ? mv->previous : NULL, changed, &ch);
	if (rc == 0 && mv->move) {
		ch->published_at = mv->published;
		ch->has_published_at = true;
		ch->has_previous_published_at =
		    old && old->has_published_at && !strcmp(old->version, mv->previous);
		ch->previous_published_at = ch->has_previous_published_at ? old->published_at : 0;
	}
	return rc;
}

static int pin_word(struct pin_run *r, struct file_pin *fp, const struct apt_run_unit *u,
                    const struct apt_env *env, const struct apt_pinner_unit *up, size_t k,
                    bool *moved)
{
	const struct lks_apt_rewrite_word *w = &up->res[0].v[k];
	struct apt_run_span sp;
	apt_run_span(&fp->f.run, u, w->start, w->end, &sp);
	if (w->kind == LKS_APT_WORD_VARIABLE || w->kind == LKS_APT_WORD_PATTERN ||
	    w->kind == LKS_APT_WORD_LOCAL || w->kind == LKS_APT_WORD_CROSS) {
		struct lks_apt_word aw = {.text = w->word, .kind = w->kind};
		return apt_pinner_report_unpinnable(&fp->f, &aw, sp.line, r->out);
	}
	struct apt_pinner_move mv;
	const char *where[2] = {fp->f.path, env->image};
	int rc = apt_pinner_decide(r->ctx, r->u, where, sp.line, env, up, k, r->out, &mv);
	*moved = mv.move;
	if (rc == 0 && !mv.move) {
		rc = word_agrees(r, fp, env, up, k, sp.line);
	}
	const char *text = mv.move ? mv.word : w->replacement;
	if (rc == 0 && text && !sp.editable) {
		return lks_findings_add(
		    r->out, fp->f.path, sp.line, LKS_SEV_ERROR, "apt-split-word", w->word,
		    "apt package '%s' spans a line continuation: pin it by hand "
		    "(%s)",
		    w->word, text);
	}
	rc = rc ? rc : text ? edit_add(fp, &sp, text) : 0;
	rc = rc ? rc : report_word(r, fp, sp.line, u, w, &mv, text != NULL);
	return rc ? rc : lock_word(r, fp, u, env, up, k, mv.move);
}

static bool has_words(const struct lks_apt_cmds *c)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].n) {
			return true;
		}
	}
	return false;
}

/* The environment of a unit's stage; NULL (with a finding) when the base is not pinned. */
static int unit_env(struct pin_run *r, struct file_pin *fp, const struct apt_run_unit *u,
                    struct apt_env **env)
{
	struct apt_pinner_stage *st = u->stage < fp->st.n ? &fp->st.v[u->stage] : NULL;
	*env = NULL;
	if (!st || st->scratch) {
		return lks_err(r->ctx, -LKS_E_UNSUPPORTED,
		               "%s:%zu: RUN installs apt packages but its stage has no base image "
		               "with apt (FROM scratch), so they cannot be pinned; pin the rest "
		               "with 'lockstep pin --only images,python'",
		               fp->f.path, u->line);
	}
	if (!st->base || !st->img) {
		return lks_findings_add(
		    r->out, fp->f.path, u->line, LKS_SEV_ERROR, "apt-base-unpinned", "RUN",
		    "apt packages of this RUN not pinned: the stage's base image "
		    "is not pinned");
	}
	return apt_pinner_unit_env(r->ctx, r->pool, fp->f.path, &fp->st, u,
	                           (const char *const *)r->extra.v, env);
}

static int pin_unit(struct pin_run *r, struct file_pin *fp, const struct apt_run_unit *u)
{
	struct lks_apt_cmds cmds;
	int rc = apt_pinner_scan_unit(r->ctx, &fp->f, u, &cmds, r->out);
	bool any = rc == 0 && has_words(&cmds);
	lks_apt_cmds_free(&cmds);
	struct apt_env *env = NULL;
	if (!any || (rc = unit_env(r, fp, u, &env)) < 0 || !env) {
		return rc;
	}
	struct apt_pinner_unit up = {0};
	rc = apt_pinner_resolve_unit(r->ctx, env, u, &up);
	_cleanup_free_ bool *moved = rc ? NULL : calloc(up.res[0].n + 1, sizeof(*moved));
	rc = rc || moved ? rc : -ENOMEM;
	for (size_t k = 0; rc == 0 && up.nplat && k < up.res[0].n; k++) {
		rc = pin_word(r, fp, u, env, &up, k, &moved[k]);
	}
	if (rc == 0 && fp->closure && up.nplat) {
		struct apt_pinner_closure_in in = {fp->f.path, u,       env,      &up,
		                                   moved,      &fp->st, &fp->done};
		rc = apt_pinner_closure_unit(r->ctx, r->lock, &in, r->out);
	}
	apt_pinner_unit_free(&up);
	return rc;
}

static void file_pin_free(struct file_pin *fp)
{
	for (size_t i = 0; i < fp->n; i++) {
		free(fp->texts[i]);
	}
	free(fp->texts);
	free(fp->edits);
	apt_pinner_installs_free(&fp->done);
	stages_free(&fp->st);
	apt_pinner_file_free(&fp->f);
}

static int pin_file(struct pin_run *r, struct lks_workspace *ws, const char *path)
{
	struct file_pin fp;
	memset(&fp, 0, sizeof(fp));
	int rc = apt_pinner_file_load(r->ctx, ws, path, &fp.f);
	rc = rc ? rc : apt_pinner_stages_make(r->ctx, &fp.f, r->lock, &fp.st);
	fp.closure = r->closure || apt_pinner_lock_has_closure(r->lock, path);
	lks_lock_mark_file(r->lock, path, LKS_LOCK_APT);
	for (size_t i = 0; rc == 0 && i < fp.f.run.n; i++) {
		rc = pin_unit(r, &fp, &fp.f.run.v[i]);
	}
	if (rc == 0) {
		lks_lock_sweep_file(r->lock, path, LKS_LOCK_APT);
	}
	if (rc == 0 && fp.n) {
		struct lks_buf nd;
		lks_buf_init(&nd, LKS_DF_MAX_FILE * 2);
		rc = lks_edits_apply(r->ctx, fp.f.data.data, fp.f.data.len, fp.edits, fp.n, &nd);
		rc = rc ? rc : lks_ws_set(r->ctx, ws, path, nd.data, nd.len);
		lks_buf_free(&nd);
	}
	file_pin_free(&fp);
	return rc;
}

/* NAME:ARCH words name architectures the indexes must carry besides the native ones. */
static void collect_extra(struct lks_ctx *ctx, struct apt_pinner_extra *x,
                          const struct lks_apt_cmds *c)
{
	for (size_t i = 0; i < c->n; i++) {
		for (size_t k = 0; k < c->v[i].n; k++) {
			struct lks_apt_request req;
			if (lks_apt_request_parse(ctx, c->v[i].words[k].text, &req) < 0) {
				ctx->err[0] = '\0';
				continue;
			}
			bool seen = !req.arch[0] || !strcmp(req.arch, "any");
			for (size_t j = 0; j < x->n && !seen; j++) {
				seen = !strcmp(x->v[j], req.arch);
			}
			if (!seen && x->n < APT_PINNER_MAX_EXTRA) {
				x->v[x->n] = strdup(req.arch);
				x->n += x->v[x->n] != NULL;
			}
		}
	}
}

int apt_pinner_extra_scan(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                          struct apt_pinner_extra *x)
{
	struct apt_pinner_file f;
	struct lks_findings ignore;
	lks_findings_init(&ignore);
	int rc = apt_pinner_file_load(ctx, ws, path, &f);
	for (size_t i = 0; rc == 0 && i < f.run.n; i++) {
		struct lks_apt_cmds cmds;
		rc = apt_pinner_scan_unit(ctx, &f, &f.run.v[i], &cmds, &ignore);
		collect_extra(ctx, x, &cmds);
		lks_apt_cmds_free(&cmds);
	}
	apt_pinner_file_free(&f);
	lks_findings_free(&ignore);
	return rc;
}

void apt_pinner_extra_free(struct apt_pinner_extra *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i]);
	}
	memset(x, 0, sizeof(*x));
}

int lks_aptpin_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                   size_t n, struct lks_lock *lock, const struct lks_aptpin_opts *o,
                   const struct lks_update_opts *u, struct lks_findings *out,
                   struct lks_pin_report *rep)
{
	struct pin_run r = {
	    .ctx = ctx, .lock = lock, .u = u, .out = out, .rep = rep, .closure = o->closure};
	r.pool = apt_env_pool_new(o);
	int rc = r.pool ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = apt_pinner_extra_scan(ctx, ws, files[i], &r.extra);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = pin_file(&r, ws, files[i]);
	}
	apt_pinner_extra_free(&r.extra);
	apt_env_pool_free(r.pool);
	return rc;
}
