/* `check` and `pin` over every pinner: images, then (as they are added) apt and python.
 *
 * One general mechanism: the Dockerfiles, the files pinners generate (requirements.txt) and
 * the lock itself live in one workspace (workspace.h); each pinner in turn reads the current
 * texts, edits them and updates the lock in memory; then the workspace is committed — every
 * changed file checked writable first, then each written atomically — so a run writes all of
 * its files or none. Pinners run in a fixed order because later ones build on earlier ones
 * (apt reads the base image that the image pinner pinned).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/aptpin.h"
#include "lockstep/images.h"
#include "lockstep/pypin.h"
#include "lockstep/update.h"

struct lks_ctx;
struct lks_findings;
struct lks_pin_report;

struct lks_pin_opts {
	const char *lock_path; /* default LKS_LOCKFILE_NAME */
	bool dry_run;          /* resolve and report; write nothing */
	unsigned kinds;        /* LKS_LOCK_* mask of the pinners to run (default all) */
	struct lks_images_opts images;
	struct lks_aptpin_opts apt;
	struct lks_pypin_opts python;
	struct lks_update_opts update; /* lockstep update (see update.h); off for pin */
};

void lks_pin_opts_init(struct lks_pin_opts *o);

/* Offline check of files against the lock: findings of every pinner into out. Returns 0 (the
 * findings say whether anything is wrong) or a negative error. */
int lks_check_files(struct lks_ctx *ctx, const struct lks_pin_opts *o, const char *const *files,
		    size_t n, struct lks_findings *out);

/* Pin files with every pinner, then write the changed files and the lock (unless dry_run).
 * What could not be pinned is in out; what was pinned or verified in rep. Returns 0, or a
 * negative error with nothing written. */
int lks_pin_files(struct lks_ctx *ctx, const struct lks_pin_opts *o, const char *const *files,
		  size_t n, struct lks_findings *out, struct lks_pin_report *rep);
