/* Image pinning: `check` (offline) and `pin` for the image references of Dockerfiles.
 *
 * Each Dockerfile is read from the workspace (see workspace.h) and parsed, then either checked
 * against the lock (no network) or every reference is resolved through the registry client
 * (with the sqlite cache in front); the rewritten text goes back into the workspace and the
 * lock is updated in memory. Nothing is written here: the caller commits the workspace and
 * saves the lock, so pinning is all-or-nothing across every pinner of the run.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct lks_ctx;
struct lks_lock;
struct lks_findings;
struct lks_pin_report;
struct lks_workspace;

struct lks_images_opts {
	long max_age;  /* seconds a cached tag resolution is trusted (default 3600; <0: always) */
};

void lks_images_opts_init(struct lks_images_opts *o);

/* Check files against lock without any network access: unpinned references, references
 * whose ARG has no default, pins that disagree with or are missing from the lock, and
 * (warnings) ARG-dependent references whose build-arg override no longer changes the image.
 * Malformed Dockerfiles and invalid references fail with a negative error. */
int lks_images_check(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
		     size_t n, struct lks_lock *lock, struct lks_findings *out);

/* Resolve and pin every image reference of files: new texts into ws, the lock's image entries
 * of these files updated in memory, one change per reference appended to rep (kind "image").
 * References that cannot be expanded are reported in `out` and left alone. Returns 0 or a
 * negative error. */
int lks_images_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
		   size_t n, struct lks_lock *lock, const struct lks_images_opts *o,
		   struct lks_findings *out, struct lks_pin_report *rep);
