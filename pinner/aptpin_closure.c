/* --apt-closure for the apt pinner: the packages a RUN's apt-get install pulls in besides the
 * words it names, recorded in the lock with closure_of (see apt_closure.h for the rules). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/apt_closure.h"
#include "lockstep/apt_pin.h"
#include "lockstep/cache.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/imagefs.h"
#include "lockstep/lockfile.h"
#include "aptenv.h"
#include "aptpin_int.h"

#define DPKG_STATUS "/var/lib/dpkg/status"
#define STATUS_MAX ((size_t)64 << 20)

bool aptpin_lock_has_closure(const struct lks_lock *lock, const char *file)
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

/* The closure of the words of one platform under the command's -t (apt applies it to
 * dependencies too). */
static int plat_closure(struct lks_ctx *ctx, const struct aptenv *env, size_t p,
                        const struct aptpin_unit *up, const bool *moved, const char *target,
                        struct lks_apt_closure *out)
{
	const struct aptenv_plat *pl = &env->v[p];
	const struct lks_apt_pin_result *res = &up->res[p];
	_cleanup_free_ struct lks_apt_choice *reqs = calloc(res->n + 1, sizeof(*reqs));
	size_t n = 0;
	for (size_t k = 0; reqs && k < res->n; k++) {
		const struct lks_apt_pinned *w = &res->v[k];
		if (moved[k] && w->cand_rc == 0) {
			reqs[n++] = w->cand;
		} else if (w->rc == 0 && w->choice.pkg) {
			reqs[n++] = w->choice;
		}
	}
	if (!reqs) {
		return -ENOMEM;
	}
	struct lks_apt_installed inst;
	struct lks_apt_policy pol = {0};
	int rc = read_installed(ctx, env->image, pl->platform, &inst);
	rc = rc ? rc : lks_apt_policy_init(ctx, &pol, pl->idx, &pl->prefs, target, pl->arch);
	rc = rc ? rc : lks_apt_closure(ctx, &pol, &inst, reqs, n, out);
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
		rc = aptpin_lock_entry(ctx, lock, path, line, image, &c->v[i].choice, &e);
		if (rc == 0 && !(e.closure_of = strdup(c->v[i].of))) {
			rc = -ENOMEM;
		}
		rc = rc ? rc : lks_lock_upsert_apt(ctx, lock, &e);
		lks_lock_apt_free(&e);
	}
	return rc;
}

/* The -t of the unit's first install command, or NULL. Owned by the caller. */
static char *target_release(struct lks_ctx *ctx, const struct aptrun_unit *u)
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

static bool no_recommends(const struct aptrun_unit *u)
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

int aptpin_closure_unit(struct lks_ctx *ctx, struct lks_lock *lock, const char *path,
                        const struct aptrun_unit *u, const struct aptenv *env,
                        const struct aptpin_unit *up, const bool *moved, struct lks_findings *out)
{
	int rc = 0;
	if (!no_recommends(u)) {
		rc = lks_findings_add(out, path, u->line, LKS_SEV_WARNING, "apt-closure-recommends",
		                      "RUN",
		                      "the apt closure in the lock leaves out Recommends, which this "
		                      "apt install also installs (add --no-install-recommends)");
	}
	_cleanup_free_ char *target = u->exec ? NULL : target_release(ctx, u);
	for (size_t p = 0; rc == 0 && p < up->nplat; p++) {
		struct lks_apt_closure c = {0};
		rc = plat_closure(ctx, env, p, up, moved, target, &c);
		if (rc < 0 && rc != -ENOMEM) {
			char detail[sizeof(ctx->err)];
			snprintf(detail, sizeof(detail), "%s", lks_errmsg(ctx, rc));
			return lks_err(ctx, rc, "%s:%zu: %s (base image '%s', %s)", path, u->line,
			               detail, env->image, env->v[p].platform);
		}
		rc = rc ? rc : lock_closure(ctx, lock, path, u->line, env->image, &c);
		lks_apt_closure_free(&c);
	}
	return rc;
}
