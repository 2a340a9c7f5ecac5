/* check and pin over every kind: pin_kinds[] (pin_int.h) run in order on one workspace. */
#include <errno.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/findings.h"
#include "lockstep/imagefs.h"
#include "lockstep/json.h"
#include "lockstep/lockfile.h"
#include "lockstep/pin.h"
#include "lockstep/update.h"
#include "pinner/pin_int.h"
#include "pinner/workspace.h"

/* In run order: python's prepare moves lines before anything records them; apt and python
 * read the base images the image kind pinned. */
const struct pin_kind *const pin_kinds[] = {&pin_kind_images, &pin_kind_apt, &pin_kind_python};
const size_t pin_nkinds = sizeof(pin_kinds) / sizeof(pin_kinds[0]);

void lks_pin_opts_init(struct lks_pin_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lock_path = LKS_LOCKFILE_NAME;
	o->kinds = LKS_LOCK_ALL;
	o->images.max_age = 3600;
}

/* op(kind) for every selected kind that has it, in order. */
static int run_kinds(struct pin_run *r, size_t op)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < pin_nkinds; i++) {
		const struct pin_kind *k = pin_kinds[i];
		int (*const ops[])(struct pin_run *) = {k->prepare, k->check, k->pin};
		if ((r->o->kinds & k->mask) && ops[op]) {
			rc = ops[op](r);
		}
	}
	return rc;
}

enum { OP_PREPARE, OP_CHECK, OP_PIN };

int lks_check_files(struct lks_ctx *ctx, const struct lks_pin_opts *o, const char *const *files,
		    size_t n, struct lks_findings *out)
{
	struct lks_lock lock;
	struct lks_workspace ws;
	lks_lock_init(&lock);
	lks_ws_init(&ws);
	struct pin_run r = {ctx, &ws, files, n, &lock, o, &o->update, out, NULL};
	int rc = lks_lock_recover(ctx, o->lock_path, files, n);
	rc = rc ? rc : lks_lock_load(ctx, o->lock_path, &lock);
	rc = rc ? rc : run_kinds(&r, OP_CHECK);
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

struct lks_imagefs_memo *pin_image_memo(unsigned mask, const struct lks_pin_opts *o,
                                        const struct lks_lock *lock)
{
	struct lks_imagefs_memo *m = lks_imagefs_memo_new();
	int rc = m ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < pin_nkinds; i++) {
		const struct pin_kind *k = pin_kinds[i];
		rc = (mask & k->mask) && k->image_files ? k->image_files(m, o, lock) : 0;
	}
	if (rc < 0) {
		lks_imagefs_memo_free(m);
		return NULL;
	}
	return m;
}

static int pin_run(struct pin_run *r)
{
	struct lks_imagefs_memo *memo = pin_image_memo(r->o->kinds, r->o, r->lock);
	size_t streams = r->ctx->image_streams;
	r->ctx->imagefs_memo = memo;
	int rc = memo ? run_kinds(r, OP_PREPARE) : -ENOMEM;
	rc = rc ? rc : run_kinds(r, OP_PIN);
	rc = rc ? rc : ws_dockerfiles_flush(r->ctx, r->ws);
	r->ctx->imagefs_memo = NULL;
	lks_imagefs_memo_free(memo);
	r->rep->dockerfiles = r->ws->dfs.n;
	r->rep->dockerfiles_parsed = r->ws->dfs.parses;
	r->rep->image_streams = r->ctx->image_streams - streams;
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
	struct pin_run r = {ctx, &ws, files, n, &lock, o, &o->update, out, rep};
	/* Read the lock through the workspace so an unchanged lock is not rewritten. */
	int rc = lks_lock_recover(ctx, o->lock_path, files, n);
	rc = rc ? rc : lks_ws_get(ctx, &ws, o->lock_path, LKS_JSON_MAX_BYTES, true, &lf);
	if (rc == 0 && lf->exists) {
		rc = lks_lock_parse(ctx, lf->cur.data ? lf->cur.data : "", lf->cur.len,
				    o->lock_path, &lock);
	}
	rc = rc ? rc : pin_run(&r);
	rc = rc ? rc : stage_lock(ctx, &ws, o->lock_path, &lock);
	if (rc == 0 && !o->dry_run) {
		_cleanup_free_ char *journal = lks_lock_journal(o->lock_path);
		rc = journal ? lks_ws_commit(ctx, &ws, journal, &rep->files_written) : -ENOMEM;
	}
	lks_ws_free(&ws);
	lks_lock_free(&lock);
	return rc;
}
