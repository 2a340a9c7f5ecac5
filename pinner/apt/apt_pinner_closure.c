/* --apt-closure for the apt pinner: the packages a RUN's apt-get install pulls in besides the
 * words it names, recorded in the lock with closure_of (see apt_closure.h for the rules). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_closure.h"
#include "pinner/apt/apt_rewrite.h"
#include "lockstep/cache.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/imagefs.h"
#include "lockstep/lockfile.h"
#include "pinner/apt/apt_env.h"
#include "pinner/apt/apt_pinner_int.h"

#define DPKG_STATUS "/var/lib/dpkg/status"
#define STATUS_MAX ((size_t)64 << 20)

bool apt_pinner_lock_has_closure(const struct lks_lock *lock, const char *file)
{
	for (size_t i = 0; i < lock->n_apt; i++) {
		if (lock->apt[i].closure_of && !strcmp(lock->apt[i].file, file)) {
			return true;
		}
	}
	return false;
}

/* The installed set of one platform of the image; an image without a status file has
 * nothing installed. */
static int read_installed(struct lks_ctx *ctx, const char *image, const char *platform,
                          struct lks_apt_installed *inst)
{
	static const struct lks_imagefs_req req = {DPKG_STATUS, false};
	struct lks_imagefs_opts io = {.file_max = STATUS_MAX,
	                              .total_max = STATUS_MAX,
	                              .cache_get = lks_cache_get,
	                              .cache_put = lks_cache_put};
	struct lks_imagefs fs;
	memset(inst, 0, sizeof(*inst));
	int rc = lks_imagefs_read(ctx, image, platform, &req, 1, &io, &fs);
	if (rc < 0) {
		return rc;
	}
	const struct lks_imagefs_file *f = lks_imagefs_get(&fs, DPKG_STATUS);
	char what[600];
	snprintf(what, sizeof(what), "%s of image '%s' (%s)", DPKG_STATUS, image, platform);
	rc = f && f->data ? lks_apt_installed_parse(ctx, what, f->data, f->len, inst) : 0;
	lks_imagefs_free(&fs);
	return rc;
}

struct clash_note {
	size_t n;
	char msg[600];
};

void apt_pinner_installs_free(struct apt_pinner_installs *a)
{
	for (size_t i = 0; a->v && i < a->n; i++) {
		struct apt_pinner_install *e = &a->v[i];
		free(e->platform);
		free(e->name);
		free(e->version);
		free(e->arch);
		free(e->provides);
		free(e->multi_arch);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Record a package the unit installs on (stage, platform). */
static int done_add(struct apt_pinner_installs *a, size_t stage, const char *platform,
                    const struct lks_apt_pkg *p)
{
	struct apt_pinner_install *v = realloc(a->v, (a->n + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	a->v = v;
	v[a->n] = (struct apt_pinner_install){
	    stage,           strdup(platform),  strdup(p->name),    strdup(p->version),
	    strdup(p->arch), dup0(p->provides), dup0(p->multi_arch)};
	struct apt_pinner_install *e = &v[a->n++];
	return e->platform && e->name && e->version && e->arch ? 0 : -ENOMEM;
}

/* Is stage `r` the unit's stage or one it is built FROM? */
static bool stage_sees(const struct apt_pinner_stages *st, size_t s, size_t r)
{
	for (size_t x = s, hops = 0; x != SIZE_MAX && x < st->n && hops <= st->n; hops++) {
		if (x == r) {
			return true;
		}
		x = st->parent[x];
	}
	return false;
}

/* Lay what earlier RUN lines installed over the image's installed set (a later version of a
 * package replaces the earlier one). */
static int overlay_done(const struct apt_pinner_closure_in *in, const char *platform,
                        struct lks_apt_installed *inst)
{
	for (size_t i = 0; i < in->done->n; i++) {
		const struct apt_pinner_install *d = &in->done->v[i];
		if (strcmp(d->platform, platform) || !stage_sees(in->st, in->u->stage, d->stage)) {
			continue;
		}
		size_t j = 0;
		while (j < inst->n && strcmp(inst->v[j].name, d->name)) {
			j++;
		}
		if (j == inst->n) {
			struct lks_apt_inst *v = realloc(inst->v, (inst->n + 1) * sizeof(*v));
			if (!v) {
				return -ENOMEM;
			}
			inst->v = v;
			memset(&v[inst->n++], 0, sizeof(*v));
		}
		struct lks_apt_inst *e = &inst->v[j];
		lks_apt_inst_free(e);
		*e = (struct lks_apt_inst){.name = strdup(d->name),
		                           .version = strdup(d->version),
		                           .arch = strdup(d->arch),
		                           .provides = dup0(d->provides),
		                           .multi_arch = dup0(d->multi_arch)};
		if (!e->name || !e->version || !e->arch) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* The requested packages of one platform: each word's choice (its candidate when it moves). */
static size_t requests(const struct apt_pinner_closure_in *in, size_t p,
                       struct lks_apt_choice *reqs)
{
	const struct lks_apt_rewrite_result *res = &in->up->res[p];
	size_t n = 0;
	for (size_t k = 0; k < res->n; k++) {
		const struct lks_apt_rewrite_word *w = &res->v[k];
		if (in->moved[k] && w->cand_rc == 0) {
			reqs[n++] = w->cand;
		} else if (w->rc == 0 && w->choice.pkg) {
			reqs[n++] = w->choice;
		}
	}
	return n;
}

/* What the unit installs on a platform: recorded in in->done, and checked for packages of
 * the installed set that apt would have to upgrade or remove (Breaks, Conflicts). */
static int installs(struct lks_ctx *ctx, const struct apt_pinner_closure_in *in,
                    const char *platform, const struct lks_apt_installed *inst,
                    const struct lks_apt_choice *reqs, size_t n, const struct lks_apt_closure *c,
                    struct clash_note *note)
{
	_cleanup_free_ const struct lks_apt_pkg **pk = calloc(n + c->n + 1, sizeof(*pk));
	int rc = pk ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n + c->n; i++) {
		pk[i] = i < n ? reqs[i].pkg : c->v[i - n].choice.pkg;
		rc = done_add(in->done, in->u->stage, platform, pk[i]);
	}
	if (rc == 0 && !note->n) {
		note->n =
		    lks_apt_closure_clashes(ctx, inst, pk, n + c->n, note->msg, sizeof(note->msg));
	}
	return rc;
}

/* The closure of the words of one platform under the command's -t (apt applies it to
 * dependencies too). */
static int plat_closure(struct lks_ctx *ctx, const struct apt_pinner_closure_in *in, size_t p,
                        const char *target, struct lks_apt_closure *out, struct clash_note *note)
{
	const struct apt_env_plat *pl = &in->env->v[p];
	_cleanup_free_ struct lks_apt_choice *reqs = calloc(in->up->res[p].n + 1, sizeof(*reqs));
	if (!reqs) {
		return -ENOMEM;
	}
	size_t n = requests(in, p, reqs);
	struct lks_apt_installed inst;
	struct lks_apt_policy pol = {0};
	int rc = read_installed(ctx, in->env->image, pl->platform, &inst);
	rc = rc ? rc : overlay_done(in, pl->platform, &inst);
	rc = rc ? rc : lks_apt_policy_init(ctx, &pol, pl->idx, &pl->prefs, target, pl->arch);
	rc = rc ? rc : lks_apt_closure(ctx, &pol, &inst, reqs, n, out);
	rc = rc ? rc : installs(ctx, in, pl->platform, &inst, reqs, n, out, note);
	lks_apt_policy_free(&pol);
	lks_apt_installed_free(&inst);
	return rc;
}

static int lock_closure(struct lks_ctx *ctx, struct lks_lock *lock, const char *path, size_t line,
                        const char *image, const struct lks_apt_closure *c)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < c->n; i++) {
		struct lks_lock_apt e;
		rc = apt_pinner_lock_entry(ctx, lock, path, line, image, &c->v[i].choice, &e);
		if (rc == 0 && !(e.closure_of = strdup(c->v[i].of))) {
			rc = -ENOMEM;
		}
		rc = rc ? rc : lks_lock_upsert_apt(ctx, lock, &e);
		lks_lock_apt_free(&e);
	}
	return rc;
}

/* The -t of the unit's first install command, or NULL. Owned by the caller. */
static char *target_release(struct lks_ctx *ctx, const struct apt_run_unit *u)
{
	struct lks_apt_cmds cmds;
	lks_apt_cmds_init(&cmds);
	int rc = lks_apt_cmd_scan(ctx, u->text, u->len, &cmds);
	char *t = NULL;
	for (size_t i = 0; rc == 0 && i < cmds.n && !t; i++) {
		t = cmds.v[i].target_release ? strdup(cmds.v[i].target_release) : NULL;
	}
	ctx->err[0] = '\0';
	lks_apt_cmds_free(&cmds);
	return t;
}

static bool no_recommends(const struct apt_run_unit *u)
{
	static const char *const opts[] = {"--no-install-recommends", "Install-Recommends=false",
	                                   "Install-Recommends=0", "Install-Recommends=no"};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (memmem(u->text, u->len, opts[i], strlen(opts[i]))) {
			return true;
		}
	}
	return false;
}

int apt_pinner_closure_unit(struct lks_ctx *ctx, struct lks_lock *lock,
                            const struct apt_pinner_closure_in *in, struct lks_findings *out)
{
	const struct apt_run_unit *u = in->u;
	int rc = 0;
	if (!no_recommends(u)) {
		rc = lks_findings_add(
		    out, in->path, u->line, LKS_SEV_WARNING, "apt-closure-recommends", "RUN",
		    "the apt closure in the lock leaves out Recommends, which this "
		    "apt install also installs (add --no-install-recommends)");
	}
	_cleanup_free_ char *target = u->exec ? NULL : target_release(ctx, u);
	struct clash_note note = {0};
	for (size_t p = 0; rc == 0 && p < in->up->nplat; p++) {
		struct lks_apt_closure c = {0};
		rc = plat_closure(ctx, in, p, target, &c, &note);
		if (rc < 0 && rc != -ENOMEM) {
			char detail[sizeof(ctx->err)];
			snprintf(detail, sizeof(detail), "%s", lks_errmsg(ctx, rc));
			lks_apt_closure_free(&c);
			return lks_err(ctx, rc, "%s:%zu: %s (base image '%s', %s)", in->path,
			               u->line, detail, in->env->image, in->env->v[p].platform);
		}
		rc = rc ? rc : lock_closure(ctx, lock, in->path, u->line, in->env->image, &c);
		lks_apt_closure_free(&c);
	}
	if (rc == 0 && note.n) {
		rc = lks_findings_add(
		    out, in->path, u->line, LKS_SEV_WARNING, "apt-closure-breaks", "RUN",
		    "apt would also upgrade or remove %zu installed package%s, which "
		    "the closure in the lock leaves out: %s",
		    note.n, note.n == 1 ? "" : "s", note.msg);
	}
	return rc;
}
