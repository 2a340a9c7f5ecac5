/* Python requirements of Dockerfiles: `pin`; see include/lockstep/pypin.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/sort.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "lockstep/pypin.h"
#include "pinner/python/pep440.h"
#include "pinner/python/pyresolve.h"
#include "lockstep/update.h"
#include "lockstep/policy.h"
#include "pinner/workspace.h"
#include "pinner/python/pybase.h"
#include "pinner/python/pypin_int.h"

static ssize_t find_key(const struct lks_pyresolution *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++) {
		if (!strcmp(r->pins[i].key, key)) {
			return (ssize_t)i;
		}
	}
	return -1;
}

/* Fold the resolution for target t into acc: equal versions merge, missing pins are added
 * (present[] records on which targets each pin is needed), different versions conflict. */
static int merge(struct lks_ctx *ctx, const char *what, const struct pybase *b, size_t t,
                 struct lks_pyresolution *acc, unsigned *present, struct lks_pyresolution *r)
{
	for (size_t i = 0; i < r->n; i++) {
		ssize_t at = find_key(acc, r->pins[i].key);
		if (at >= 0 && strcmp(acc->pins[at].version, r->pins[i].version)) {
			size_t first = 0;
			while (!(present[at] & (1u << first))) {
				first++;
			}
			return lks_err(ctx, -LKS_E_CONFLICT,
			               "%s: '%s' needs %s on %s (Python %s) but %s on %s (Python %s): "
			               "pin it in the input, or build one platform (FROM --platform)",
			               what, r->pins[i].key, acc->pins[at].version, b->t[first].platform,
			               b->t[first].python, r->pins[i].version, b->t[t].platform,
			               b->t[t].python);
		}
		if (at >= 0) {
			present[at] |= 1u << t;
			continue;
		}
		struct lks_pypin *nv = realloc(acc->pins, (acc->n + 1) * sizeof(*nv));
		if (!nv) {
			return -ENOMEM;
		}
		acc->pins = nv;
		present[acc->n] = 1u << t;
		nv[acc->n++] = r->pins[i];
		memset(&r->pins[i], 0, sizeof(r->pins[i]));
	}
	return 0;
}

/* A pin needed on some platforms only gets a platform_machine marker. */
static int add_markers(const struct pybase *b, struct lks_pyresolution *acc,
                       const unsigned *present, unsigned all)
{
	for (size_t i = 0; i < acc->n; i++) {
		if ((present[i] & all) == all) {
			continue;
		}
		struct lks_buf m;
		lks_buf_init(&m, 4096);
		int rc = 0;
		for (size_t t = 0; rc == 0 && t < b->n; t++) {
			if (present[i] & (1u << t)) {
				rc = lks_buf_printf(&m, "%splatform_machine == \"%s\"", m.len ? " or " : "",
				                    b->t[t].machine);
			}
		}
		acc->pins[i].marker = rc == 0 ? strdup(m.data ? m.data : "") : NULL;
		lks_buf_free(&m);
		if (!acc->pins[i].marker) {
			return -ENOMEM;
		}
	}
	return 0;
}

static int cmp_pin(const void *a, const void *b)
{
	return strcmp(((const struct lks_pypin *)a)->key, ((const struct lks_pypin *)b)->key);
}

/* Resolve reqs for every target of b and merge the results into out. */
static int resolve_all(struct lks_ctx *ctx, const char *what, const struct lks_pyreq_set *reqs,
                       const struct pybase *b, struct lks_pyresolve_opts *ro,
                       struct lks_pyresolution *out)
{
	unsigned present[4096] = {0};
	int rc = 0;
	for (size_t t = 0; rc == 0 && t < b->n; t++) {
		struct lks_pyresolution r;
		lks_pyresolution_init(&r);
		ro->python_version = b->t[t].python;
		ro->machine = b->t[t].machine;
		rc = lks_pyresolve(ctx, reqs, ro, &r);
		if (rc == 0 && r.n + out->n > sizeof(present) / sizeof(present[0])) {
			rc = lks_err(ctx, -LKS_E_TOOBIG, "%s: too many packages", what);
		}
		rc = rc ? rc : merge(ctx, what, b, t, out, present, &r);
		for (size_t k = 0; rc == 0 && t == 0 && k < r.nunpinnable; k++) {
			lks_warn(ctx, "%s", r.unpinnable[k]);
		}
		if (rc == 0 && t == 0) { /* the index answers the same for every target */
			out->gone = r.gone;
			out->ngone = r.ngone;
			r.gone = NULL;
			r.ngone = 0;
		}
		lks_pyresolution_free(&r);
	}
	rc = rc ? rc : add_markers(b, out, present, (1u << b->n) - 1);
	lks_qsort(out->pins, out->n, sizeof(*out->pins), cmp_pin);
	return rc;
}

/* "-r sub/requirements.in" -> "-r requirements.in" for a file written in sub/. */
static void relative_via(struct lks_pyresolution *r, const char *out)
{
	const char *slash = strrchr(out, '/');
	size_t dl = slash ? (size_t)(slash - out) + 1 : 0;
	for (size_t i = 0; dl && i < r->n; i++) {
		for (size_t k = 0; k < r->pins[i].nvia; k++) {
			char *v = r->pins[i].via[k];
			if ((!strncmp(v, "-r ", 3) || !strncmp(v, "-c ", 3)) && !strncmp(v + 3, out, dl)) {
				memmove(v + 3, v + 3 + dl, strlen(v + 3 + dl) + 1);
			}
		}
	}
}

static int header(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pyjob *j,
                  const struct pybase *b, struct lks_buf *h)
{
	const char *slash = strrchr(j->in, '/');
	int rc = lks_buf_printf(h, "#\n# This file is autogenerated by lockstep from %s\n# for",
	                        slash ? slash + 1 : j->in);
	for (size_t t = 0; rc == 0 && t < b->n; t++) {
		rc = lks_buf_printf(h, "%s %s (Python %s)", t ? "," : "", b->t[t].platform,
		                    b->t[t].python);
	}
	char digest[72] = "";
	if (rc == 0 && strcmp(j->in, j->out)) {
		rc = pypin_input_digest(ctx, ws, j->in, digest);
	}
	if (rc == 0 && digest[0]) {
		rc = lks_buf_printf(h, "\n%s%s", PYPIN_INPUT_TAG, digest);
	}
	return rc ? rc : lks_buf_puts(h, "\n#\n");
}

static char **strv_copy(char *const *v, size_t n)
{
	char **c = calloc(n + 1, sizeof(*c));
	for (size_t i = 0; c && i < n; i++) {
		if (!(c[i] = strdup(v[i]))) {
			for (size_t k = 0; k < i; k++) {
				free(c[k]);
			}
			free(c);
			return NULL;
		}
	}
	return c;
}

/* Record a pin; resolved_at stays what it was while the version does not change. */
static int lock_pin(struct lks_ctx *ctx, struct lks_lock *lock, const char *file, long line,
                    const struct lks_pypin *p)
{
	struct lks_lock_python e = {.line = line, .published_at = p->published_at,
	                            .has_published_at = p->has_published_at,
	                            .n_hashes = p->nhashes, .n_via = p->nvia};
	struct lks_lock_python *old = pypin_lock_find(lock, file, p->key);
	e.resolved_at = old && !strcmp(old->version, p->version) ? old->resolved_at : lks_now(ctx);
	e.name = strdup(p->key);
	e.version = strdup(p->version);
	e.hashes = strv_copy(p->hashes, p->nhashes);
	e.via = strv_copy(p->via, p->nvia);
	e.index = strdup(p->index ? p->index : "");
	e.requires_python = p->requires_python ? strdup(p->requires_python) : NULL;
	e.file = strdup(file);
	int rc = e.name && e.version && e.hashes && e.via && e.index && e.file &&
	                 (e.requires_python || !p->requires_python)
	             ? lks_lock_upsert_python(ctx, lock, &e)
	             : -ENOMEM;
	if (rc < 0) {
		lks_lock_python_free(&e);
	}
	return rc;
}

/* The pin a requirements file had before, for the report. */
static const char *previous(const struct lks_pyreq_set *existing, const char *key)
{
	for (size_t i = 0; i < existing->n; i++) {
		const struct lks_pyreq_item *it = &existing->items[i];
		if (it->kind == LKS_PYREQ_NAMED && !strcmp(it->req.key, key) &&
		    lks_pyreq_item_pinned(it)) {
			return it->req.spec.items[0].text;
		}
	}
	return NULL;
}

/* Everything one resolution needs: the requirements, the pins to keep, the options. */
struct pyrun {
	struct lks_pyreq_set reqs, existing;
	struct lks_pyresolve_opts ro;
	struct pybase base;
	struct lks_pyresolution res;
	struct lks_ctx *ctx;
	const struct lks_update_opts *u; /* update mode when enabled, else NULL */
	const char *lock_index;          /* the index the lock records for the output, or NULL */
};

/* Update moves the pins lks_update_verdict selects (existing pins of the others stay). */
static bool upgrade_key(void *opaque, const char *key)
{
	const struct pyrun *r = opaque;
	const char *names[1] = {key};
	return lks_update_verdict(r->u, lks_now(r->ctx), "python", names, 1, NULL) ==
	       LKS_UPDATE_MOVE;
}

static void update_opts(struct pyrun *r)
{
	if (!r->u || !r->u->enabled) {
		return;
	}
	r->ro.upgrade = upgrade_key;
	r->ro.upgrade_opaque = r;
	r->ro.has_exclude_newer = r->u->cooldown > 0;
	r->ro.exclude_newer = lks_now(r->ctx) - r->u->cooldown;
}

static void pyrun_init(struct pyrun *r)
{
	memset(r, 0, sizeof(*r));
	lks_pyreq_set_init(&r->reqs);
	lks_pyreq_set_init(&r->existing);
	lks_pyresolution_init(&r->res);
}

static void pyrun_free(struct pyrun *r)
{
	lks_pyreq_set_free(&r->reqs);
	lks_pyreq_set_free(&r->existing);
	lks_pyresolution_free(&r->res);
}

/* Targets of the stage at instr (or of --python-version alone), then resolve. */
static int pyrun_resolve(struct lks_ctx *ctx, const struct pydfile *f, size_t instr,
                         struct lks_lock *lock, const struct lks_pypin_opts *o, const char *what,
                         struct pyrun *r)
{
	int rc = 0;
	if (f) {
		rc = pybase_targets(ctx, f->df, f->path, instr, lock, o->python_version, &r->base);
	} else if (!o->python_version) {
		return lks_err(ctx, -LKS_E_INVAL, "%s: no Dockerfile to take the Python version "
		                                  "from; give --python-version", what);
	} else {
		struct pybase_target *t = &r->base.t[r->base.n++];
		snprintf(t->platform, sizeof(t->platform), "linux/amd64");
		snprintf(t->machine, sizeof(t->machine), "x86_64");
		snprintf(t->python, sizeof(t->python), "%s", o->python_version);
	}
	r->ro.index_url = r->reqs.index_url ? r->reqs.index_url : o->index_url;
	if (!r->ro.index_url && r->lock_index && r->lock_index[0]) {
		r->ro.index_url = r->lock_index; /* update and outdated without --index-url */
	}
	r->ro.extra_index_urls = (const char *const *)r->reqs.extra_index_urls;
	r->ro.nextra = r->reqs.nextra;
	r->ro.pre = r->reqs.pre;
	r->ro.allow_unsafe = o->allow_unsafe;
	r->ro.insecure_index = o->insecure_index;
	r->ro.existing = r->existing.n ? &r->existing : NULL;
	update_opts(r);
	if (rc == 0 && !r->ro.index_url) {
		rc = lks_err(ctx, -LKS_E_INVAL,
		             "%s: no package index: give --index-url, or name one in the "
		             "requirements (--index-url URL)",
		             what);
	}
	return rc ? rc : resolve_all(ctx, what, &r->reqs, &r->base, &r->ro, &r->res);
}

/* The direct requirement of the input naming key, for the report. */
static const struct lks_pyreq_item *direct(const struct pyrun *r, const char *in, const char *key)
{
	for (size_t i = 0; i < r->reqs.n; i++) {
		const struct lks_pyreq_item *it = &r->reqs.items[i];
		if (!it->constraint && it->kind == LKS_PYREQ_NAMED && !strcmp(it->file, in) &&
		    !strcmp(it->req.key, key)) {
			return it;
		}
	}
	return NULL;
}

/* Published times for the update summary (the old one from the lock, before it changes). */
static void report_times(struct lks_lock *lock, const char *file, const struct lks_pypin *p,
                         const char *prev, struct lks_pin_change *c)
{
	const struct lks_lock_python *old = pypin_lock_find(lock, file, p->key);
	c->published_at = p->published_at;
	c->has_published_at = p->has_published_at;
	c->link = p->link ? strdup(p->link) : NULL; /* optional: no link on ENOMEM */
	if (prev && old && old->has_published_at && !strcmp(old->version, prev)) {
		c->previous_published_at = old->published_at;
		c->has_previous_published_at = true;
	}
}

static int job_record(struct lks_ctx *ctx, const struct pyjob *j, struct pyrun *r,
                      struct lks_lock *lock, struct lks_pin_report *rep)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->res.n; i++) {
		const struct lks_pypin *p = &r->res.pins[i];
		if (p->unsafe && !r->ro.allow_unsafe) {
			continue;
		}
		const char *prev = previous(&r->existing, p->key);
		const struct lks_pyreq_item *d = direct(r, j->in, p->key);
		struct lks_pin_change *c;
		rc = lks_pin_report_add(rep, "python", d ? j->in : j->out, d ? (size_t)d->line : 0,
		                        d ? d->text : p->key, p->key, p->version, prev,
		                        !prev || strcmp(prev, p->version), &c);
		if (rc == 0) {
			report_times(lock, j->out, p, prev, c);
		}
		rc = rc ? rc : lock_pin(ctx, lock, j->out, 0, p);
	}
	return rc;
}

/* Read a job's input and its current output, and resolve (r initialised by the caller). */
static int job_resolve(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pyjob *j,
                       struct lks_lock *lock, const struct lks_pypin_opts *o, struct pyrun *r)
{
	struct lks_ws_file *wf;
	int rc = pypin_read_reqs(ctx, ws, j->in, &r->reqs);
	if (rc == 0 && j->cmd) {
		rc = pypin_cmd_set(ctx, j->f, j->cmd, false, &r->reqs);
	}
	rc = rc ? rc : lks_ws_get(ctx, ws, j->out, LKS_PYREQ_MAX_FILE, true, &wf);
	if (rc == 0 && wf->exists && pypin_read_reqs(ctx, ws, j->out, &r->existing) < 0) {
		ctx->err[0] = '\0'; /* an unreadable old output only loses its pins */
	}
	size_t instr = j->f ? (j->cmd ? j->cmd->instr : j->f->df->ninstrs - 1) : 0;
	for (size_t i = 0; i < lock->n_python && !r->lock_index; i++) {
		r->lock_index = !strcmp(lock->python[i].file, j->out) ? lock->python[i].index : NULL;
	}
	rc = rc ? rc : pyrun_resolve(ctx, j->f, instr, lock, o, j->in, r);
	relative_via(&r->res, j->out);
	return rc;
}

static int pin_job(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pyjob *j,
                   struct lks_lock *lock, const struct lks_pypin_opts *o,
                   const struct lks_update_opts *u, struct lks_pin_report *rep)
{
	struct pyrun r;
	struct lks_buf h, text;
	pyrun_init(&r);
	r.ctx = ctx;
	r.u = u;
	lks_buf_init(&h, 0);
	lks_buf_init(&text, 0);
	int rc = job_resolve(ctx, ws, j, lock, o, &r);
	rc = rc ? rc : header(ctx, ws, j, &r.base, &h);
	r.ro.header = h.data;
	rc = rc ? rc : lks_pyresolution_write(ctx, &r.res, &r.ro, NULL, &text);
	rc = rc ? rc : lks_ws_set(ctx, ws, j->out, text.data ? text.data : "", text.len);
	if (rc == 0) {
		lks_lock_mark_file(lock, j->out, LKS_LOCK_PYTHON);
		rc = job_record(ctx, j, &r, lock, rep);
		lks_lock_sweep_file(lock, j->out, LKS_LOCK_PYTHON);
	}
	lks_buf_free(&h);
	lks_buf_free(&text);
	pyrun_free(&r);
	return rc;
}

/* ---- requirement words on the pip command line ---- */

static bool shell_safe(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-=[],+") ==
	       strlen(s);
}

/* The word as it must be written: quoted like the original, or as needed. */
static char *word_text(const struct lks_df_word *w, bool json, const char *value)
{
	char *out = NULL;
	char q = w->text[0];
	if (json) {
		q = '"';
	} else if ((q != '"' && q != '\'') || w->text[strlen(w->text) - 1] != q) {
		q = shell_safe(value) ? 0 : '\'';
	}
	if (q && strchr(value, q)) {
		return NULL; /* not expressible without escapes: left for the user */
	}
	return asprintf(&out, "%s%s%s", q ? (char[]){q, 0} : "", value, q ? (char[]){q, 0} : "") <
	               0
	           ? NULL
	           : out;
}

/* "Name[extra]==1.0; marker" for a word pinned to version. */
static char *pinned_value(const struct lks_pyreq_item *it, const char *version)
{
	struct lks_buf b;
	lks_buf_init(&b, LKS_PEP508_MAX_INPUT);
	int rc = lks_buf_puts(&b, it->req.name);
	for (size_t e = 0; rc == 0 && e < it->req.nextras; e++) {
		rc = lks_buf_printf(&b, "%s%s", e ? "," : "[", it->req.extras[e]);
	}
	if (rc == 0 && it->req.nextras) {
		rc = lks_buf_putc(&b, ']');
	}
	const char *semi = strchr(it->text, ';');
	rc = rc ? rc : lks_buf_printf(&b, "==%s%s", version, semi ? semi : "");
	char *s = rc == 0 ? strdup(b.data) : NULL;
	lks_buf_free(&b);
	return s;
}

/* One requirement word: its pin written in place (when it changes), locked and reported. */
static int pin_word(struct lks_ctx *ctx, const struct pydfile *f, const struct lks_pip_cmd *c,
                    size_t k, const struct lks_pyreq_item *it, const struct lks_pypin *p,
                    struct pyedits *ed, struct lks_lock *lock, struct lks_findings *out,
                    struct lks_pin_report *rep)
{
	const struct lks_df_word *w = c->words[k];
	_cleanup_free_ char *value = pinned_value(it, p->version);
	char *text = value ? word_text(w, c->json, value) : NULL;
	if (!text) {
		return value ? lks_findings_add(out, f->path, c->line, LKS_SEV_ERROR,
		                                "python-unpinnable", it->req.key,
		                                "cannot write the pin of '%s' into its quotes",
		                                c->argv[k])
		             : -ENOMEM;
	}
	bool changed = strcmp(text, w->text) != 0;
	if (changed && !w->contiguous) {
		free(text);
		return lks_findings_add(out, f->path, c->line, LKS_SEV_ERROR, "python-unpinnable",
		                        it->req.key,
		                        "python requirement '%s' spans a line continuation: pin it "
		                        "by hand (%s)",
		                        c->argv[k], value);
	}
	int rc = changed ? pyedits_add(ed, w->off, w->len, text) : (free(text), 0);
	const char *prev = lks_pyreq_item_pinned(it) ? it->req.spec.items[0].text : NULL;
	rc = rc ? rc : lock_pin(ctx, lock, f->path, (long)c->line, p);
	return rc ? rc
	          : lks_pin_report_add(rep, "python", f->path, c->line, c->argv[k], p->key,
	                               p->version, prev, changed, NULL);
}

static int word_findings(const struct pydfile *f, const struct lks_pip_cmd *c,
                         struct lks_findings *out)
{
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < c->argc; k++) {
		if (c->kinds[k] == LKS_PYREQ_ARG_REQUIREMENT && lks_pyscan_word_variable(c->words[k])) {
			rc = lks_findings_add(out, f->path, c->line, LKS_SEV_ERROR, "python-unpinnable",
			                      c->argv[k],
			                      "python requirement '%s' holds a variable: it is known "
			                      "only when the image builds",
			                      c->argv[k]);
		}
	}
	return rc;
}

/* Walk the requirement words and their items (same order) and pin each named one. */
static int pin_words_of(struct lks_ctx *ctx, const struct pydfile *f, const struct lks_pip_cmd *c,
                        struct pyrun *r, struct pyedits *ed, struct lks_lock *lock,
                        struct lks_findings *out, struct lks_pin_report *rep)
{
	size_t i = 0;
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < c->argc; k++) {
		if (c->kinds[k] != LKS_PYREQ_ARG_REQUIREMENT || lks_pyscan_word_variable(c->words[k])) {
			continue;
		}
		while (i < r->reqs.n && (r->reqs.items[i].file != r->reqs.files[0] ||
		                         r->reqs.items[i].kind == LKS_PYREQ_EDITABLE)) {
			i++;
		}
		if (i == r->reqs.n) {
			break;
		}
		const struct lks_pyreq_item *it = &r->reqs.items[i++];
		ssize_t at = it->kind == LKS_PYREQ_NAMED && !it->req.url ? find_key(&r->res, it->req.key)
		                                                         : -1;
		if (at < 0) {
			rc = lks_findings_add(out, f->path, c->line, LKS_SEV_WARNING, "python-unpinnable",
			                      c->argv[k], "'%s' is a URL or path: not pinned from the index",
			                      c->argv[k]);
			continue;
		}
		rc = pin_word(ctx, f, c, k, it, &r->res.pins[at], ed, lock, out, rep);
	}
	return rc;
}

static int pin_words(struct lks_ctx *ctx, const struct pydfile *f, const struct lks_pip_cmd *c,
                     struct pyedits *ed, struct lks_lock *lock, const struct lks_pypin_opts *o,
                     struct lks_findings *out, struct lks_pin_report *rep)
{
	struct pyrun r;
	pyrun_init(&r);
	int rc = word_findings(f, c, out);
	rc = rc ? rc : pypin_cmd_set(ctx, f, c, true, &r.reqs);
	bool any = false;
	for (size_t i = 0; rc == 0 && i < r.reqs.n; i++) {
		any = any || (r.reqs.items[i].file == r.reqs.files[0] &&
		              r.reqs.items[i].kind == LKS_PYREQ_NAMED && !r.reqs.items[i].req.url);
	}
	char what[512];
	snprintf(what, sizeof(what), "%s:%zu", f->path, c->line);
	if (rc == 0 && any) {
		rc = pyrun_resolve(ctx, f, c->instr, lock, o, what, &r);
		rc = rc ? rc : pin_words_of(ctx, f, c, &r, ed, lock, out, rep);
	}
	pyrun_free(&r);
	return rc;
}

static int pin_dockerfile(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                          struct lks_lock *lock, const struct lks_pypin_opts *o,
                          struct lks_findings *out, struct lks_pin_report *rep)
{
	struct pyedits ed = {0};
	int rc = 0;
	for (size_t c = 0; rc == 0 && c < f->cmds.n; c++) {
		rc = pin_words(ctx, f, &f->cmds.v[c], &ed, lock, o, out, rep);
	}
	rc = rc ? rc : pyedits_apply(ctx, ws, f, &ed);
	pyedits_free(&ed);
	return rc;
}

int lks_pypin_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                  size_t n, struct lks_lock *lock, const struct lks_pypin_opts *o,
                  const struct lks_update_opts *u, struct lks_findings *out,
                  struct lks_pin_report *rep)
{
	struct pydfile *v;
	struct pyjobs jobs = {0};
	int rc = pydfiles_load(ctx, ws, files, n, &v);
	rc = rc ? rc : pyjobs_collect(ctx, ws, v, n, o, &jobs, out);
	for (size_t i = 0; rc == 0 && i < jobs.n; i++) {
		rc = pin_job(ctx, ws, &jobs.v[i], lock, o, u, rep);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		lks_lock_mark_file(lock, v[i].path, LKS_LOCK_PYTHON);
		rc = pin_dockerfile(ctx, ws, &v[i], lock, o, out, rep);
		lks_lock_sweep_file(lock, v[i].path, LKS_LOCK_PYTHON);
	}
	pyjobs_free(&jobs);
	pydfiles_free(v, n);
	return rc;
}

int lks_pypin_inline(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                     size_t n, const struct lks_pypin_opts *o, struct lks_findings *out)
{
	struct pydfile *v = NULL;
	bool moved = false;
	int rc = o->inline_to_file ? pydfiles_load(ctx, ws, files, n, &v) : 0;
	for (size_t i = 0; rc == 0 && o->inline_to_file && i < n; i++) {
		rc = pyinline_move(ctx, ws, &v[i], out, &moved);
	}
	pydfiles_free(v, o->inline_to_file ? n : 0);
	return rc;
}

/* ---- outdated ---- */

struct latest_run {
	const struct lks_lock *lock;
	struct lks_latest *out;
	bool *done; /* per lock entry */
};

static int gone_entry(const struct lks_pygone *g, const struct lks_pypin *now,
                      struct lks_latest *l)
{
	l->state = LKS_PIN_VANISHED;
	int n = g->yanked ? asprintf(&l->detail, "release %s was yanked%s%s", g->version,
	                             g->reason ? ": " : "", g->reason ? g->reason : "")
	                  : asprintf(&l->detail, "release %s is no longer on the index", g->version);
	l->detail = n < 0 ? NULL : l->detail;
	n = now ? asprintf(&l->action, "run 'lockstep update --package %s' (newest allowed: %s)",
	                   g->key, now->version)
	        : asprintf(&l->action, "run 'lockstep update --package %s'", g->key);
	l->action = n < 0 ? NULL : l->action;
	return l->detail && l->action ? 0 : -ENOMEM;
}

static bool newer(const char *a, const char *b)
{
	struct lks_pep440 va, vb;
	return lks_pep440_parse(NULL, a, strlen(a), &va) == 0 &&
	       lks_pep440_parse(NULL, b, strlen(b), &vb) == 0 && lks_pep440_cmp(&va, &vb) > 0;
}

static int latest_entry(const struct pyrun *r, const struct lks_lock_python *e,
                        struct lks_latest *l)
{
	ssize_t at = find_key(&r->res, e->name);
	const struct lks_pypin *p = at >= 0 ? &r->res.pins[at] : NULL;
	for (size_t g = 0; g < r->res.ngone; g++) {
		if (!strcmp(r->res.gone[g].key, e->name)) {
			return gone_entry(&r->res.gone[g], p, l);
		}
	}
	if (!p) {
		l->state = LKS_PIN_UNKNOWN;
		l->detail = strdup("no longer required by the newest resolution ('lockstep update' "
		                   "removes it)");
		return l->detail ? 0 : -ENOMEM;
	}
	if (!newer(p->version, e->version)) {
		l->state = LKS_PIN_CURRENT;
		return 0;
	}
	l->state = LKS_PIN_NEWER;
	l->latest = strdup(p->version);
	l->has_published_at = p->has_published_at;
	l->published_at = p->published_at;
	/* Behind since the newer release came out (or since pinning, without upload-time). */
	l->since = p->has_published_at ? p->published_at : e->resolved_at;
	return l->latest ? 0 : -ENOMEM;
}

static int latest_job(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pyjob *j,
                      const struct lks_pypin_opts *o, const struct lks_update_opts *u,
                      struct latest_run *lr)
{
	struct pyrun r;
	pyrun_init(&r);
	r.ctx = ctx;
	r.u = u;
	int rc = job_resolve(ctx, ws, j, (struct lks_lock *)lr->lock, o, &r);
	for (size_t i = 0; rc == 0 && i < lr->lock->n_python; i++) {
		const struct lks_lock_python *e = &lr->lock->python[i];
		if (!lr->done[i] && !strcmp(e->file, j->out)) {
			lr->done[i] = true;
			rc = latest_entry(&r, e, &lr->out[i]);
		}
	}
	pyrun_free(&r);
	return rc;
}

/* The Dockerfiles the lock names (those of its image entries), each once, that exist. */
static size_t lock_dockerfiles(const struct lks_lock *lock, const char **files)
{
	size_t n = 0;
	for (size_t i = 0; i < lock->n_images; i++) {
		const char *f = lock->images[i].file;
		size_t k = 0;
		while (k < n && strcmp(files[k], f)) {
			k++;
		}
		if (k == n && access(f, F_OK) == 0) {
			files[n++] = f;
		}
	}
	return n;
}

static int latest_rest(const struct latest_run *lr)
{
	for (size_t i = 0; i < lr->lock->n_python; i++) {
		const struct lks_lock_python *e = &lr->lock->python[i];
		struct lks_latest *l = &lr->out[i];
		if (lr->done[i]) {
			continue;
		}
		l->state = e->line ? LKS_PIN_UNTRACKED : LKS_PIN_UNKNOWN;
		l->detail = strdup(e->line ? "a requirement of a pip command line: nothing to follow"
		                           : "no Dockerfile of the lock installs this file");
		if (!l->detail) {
			return -ENOMEM;
		}
	}
	return 0;
}

int lks_pypin_latest(struct lks_ctx *ctx, const struct lks_lock *lock, long cooldown,
                     struct lks_latest *out)
{
	struct lks_pypin_opts o;
	struct lks_workspace ws;
	struct lks_findings ignore;
	struct pyjobs jobs = {0};
	struct pydfile *v = NULL;
	struct lks_update_opts u = {.enabled = true, .cooldown = cooldown};
	lks_pypin_opts_init(&o);
	lks_ws_init(&ws);
	lks_findings_init(&ignore);
	const char **files = calloc(lock->n_images + 1, sizeof(*files));
	struct latest_run lr = {.lock = lock, .out = out};
	lr.done = calloc(lock->n_python + 1, sizeof(*lr.done));
	int rc = files && lr.done ? 0 : -ENOMEM;
	size_t n = rc == 0 && lock->n_python ? lock_dockerfiles(lock, files) : 0;
	rc = rc ? rc : pydfiles_load(ctx, &ws, files, n, &v);
	rc = rc ? rc : pyjobs_collect(ctx, &ws, v, n, &o, &jobs, &ignore);
	for (size_t i = 0; rc == 0 && i < jobs.n; i++) {
		rc = latest_job(ctx, &ws, &jobs.v[i], &o, &u, &lr);
	}
	rc = rc ? rc : latest_rest(&lr);
	pyjobs_free(&jobs);
	pydfiles_free(v, n);
	lks_findings_free(&ignore);
	lks_ws_free(&ws);
	free(lr.done);
	free(files);
	return rc;
}
