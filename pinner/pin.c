#include <errno.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/findings.h"
#include "lockstep/images.h"
#include "lockstep/json.h"
#include "lockstep/lockfile.h"
#include "lockstep/pin.h"
#include "lockstep/pypin.h"
#include "pinner/workspace.h"

/* One pinner: an offline check and a pin pass, both working on the shared workspace. */
struct pinner {
	unsigned kind;
	int (*check)(struct lks_ctx *ctx, struct lks_workspace *ws, const struct lks_pin_opts *o,
		     const char *const *files, size_t n, struct lks_lock *lock,
		     struct lks_findings *out);
	int (*pin)(struct lks_ctx *ctx, struct lks_workspace *ws, const struct lks_pin_opts *o,
		   const char *const *files, size_t n, struct lks_lock *lock,
		   struct lks_findings *out, struct lks_pin_report *rep);
};

static int images_check(struct lks_ctx *ctx, struct lks_workspace *ws,
			const struct lks_pin_opts *o, const char *const *files, size_t n,
			struct lks_lock *lock, struct lks_findings *out)
{
	return lks_images_check(ctx, ws, files, n, lock, &o->images, out);
}

static int images_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const struct lks_pin_opts *o,
		      const char *const *files, size_t n, struct lks_lock *lock,
		      struct lks_findings *out, struct lks_pin_report *rep)
{
	return lks_images_pin(ctx, ws, files, n, lock, &o->images, &o->update, out, rep);
}

static int apt_check(struct lks_ctx *ctx, struct lks_workspace *ws, const struct lks_pin_opts *o,
		     const char *const *files, size_t n, struct lks_lock *lock,
		     struct lks_findings *out)
{
	(void)o;
	return lks_aptpin_check(ctx, ws, files, n, lock, out);
}

static int apt_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const struct lks_pin_opts *o,
		   const char *const *files, size_t n, struct lks_lock *lock,
		   struct lks_findings *out, struct lks_pin_report *rep)
{
	return lks_aptpin_pin(ctx, ws, files, n, lock, &o->apt, &o->update, out, rep);
}

static int python_check(struct lks_ctx *ctx, struct lks_workspace *ws,
			const struct lks_pin_opts *o, const char *const *files, size_t n,
			struct lks_lock *lock, struct lks_findings *out)
{
	return lks_pypin_check(ctx, ws, files, n, lock, &o->python, out);
}

static int python_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const struct lks_pin_opts *o,
		      const char *const *files, size_t n, struct lks_lock *lock,
		      struct lks_findings *out, struct lks_pin_report *rep)
{
	return lks_pypin_pin(ctx, ws, files, n, lock, &o->python, &o->update, out, rep);
}

static int python_inline(struct lks_ctx *ctx, struct lks_workspace *ws,
			 const struct lks_pin_opts *o, const char *const *files, size_t n,
			 struct lks_lock *lock, struct lks_findings *out, struct lks_pin_report *rep)
{
	return lks_pypin_inline(ctx, ws, files, n, &o->python, out);
}

/* In run order: later pinners see the edits of earlier ones. A NULL check: pin only. */
static const struct pinner pinners[] = {
	{LKS_LOCK_PYTHON, NULL, python_inline}, /* moves lines: before anything records them */
	{LKS_LOCK_IMAGES, images_check, images_pin},
	{LKS_LOCK_APT, apt_check, apt_pin},
	{LKS_LOCK_PYTHON, python_check, python_pin},
};

void lks_pin_opts_init(struct lks_pin_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lock_path = LKS_LOCKFILE_NAME;
	o->kinds = LKS_LOCK_ALL;
	lks_images_opts_init(&o->images);
	lks_aptpin_opts_init(&o->apt);
	lks_pypin_opts_init(&o->python);
}

int lks_check_files(struct lks_ctx *ctx, const struct lks_pin_opts *o, const char *const *files,
		    size_t n, struct lks_findings *out)
{
	struct lks_lock lock;
	struct lks_workspace ws;
	lks_lock_init(&lock);
	lks_ws_init(&ws);
	int rc = lks_lock_recover(ctx, o->lock_path, files, n);
	rc = rc ? rc : lks_lock_load(ctx, o->lock_path, &lock);
	for (size_t i = 0; rc == 0 && i < sizeof(pinners) / sizeof(pinners[0]); i++) {
		if ((o->kinds & pinners[i].kind) && pinners[i].check) {
			rc = pinners[i].check(ctx, &ws, o, files, n, &lock, out);
		}
	}
	lks_ws_free(&ws);
	lks_lock_free(&lock);
	return rc;
}

/* The lock goes through the workspace too, so it is checked and written with the rest. */
static int stage_lock(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
		      struct lks_lock *lock)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	int rc = lks_lock_dump(ctx, lock, &b);
	if (rc == 0) {
		rc = lks_ws_set(ctx, ws, path, b.data ? b.data : "", b.len);
	}
	lks_buf_free(&b);
	return rc;
}

int lks_pin_files(struct lks_ctx *ctx, const struct lks_pin_opts *o, const char *const *files,
		  size_t n, struct lks_findings *out, struct lks_pin_report *rep)
{
	struct lks_lock lock;
	struct lks_workspace ws;
	struct lks_ws_file *lf;
	lks_lock_init(&lock);
	lks_ws_init(&ws);
	/* Read the lock through the workspace so an unchanged lock is not rewritten. */
	int rc = lks_lock_recover(ctx, o->lock_path, files, n);
	rc = rc ? rc : lks_ws_get(ctx, &ws, o->lock_path, LKS_JSON_MAX_BYTES, true, &lf);
	if (rc == 0 && lf->exists) {
		rc = lks_lock_parse(ctx, lf->cur.data ? lf->cur.data : "", lf->cur.len,
				    o->lock_path, &lock);
	}
	for (size_t i = 0; rc == 0 && i < sizeof(pinners) / sizeof(pinners[0]); i++) {
		if (o->kinds & pinners[i].kind) {
			rc = pinners[i].pin(ctx, &ws, o, files, n, &lock, out, rep);
		}
	}
	if (rc == 0) {
		rc = stage_lock(ctx, &ws, o->lock_path, &lock);
	}
	if (rc == 0 && !o->dry_run) {
		_cleanup_free_ char *journal = lks_lock_journal(o->lock_path);
		rc = journal ? lks_ws_commit(ctx, &ws, journal, &rep->files_written) : -ENOMEM;
	}
	lks_ws_free(&ws);
	lks_lock_free(&lock);
	return rc;
}
