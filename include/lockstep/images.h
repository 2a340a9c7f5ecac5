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
struct lks_update_opts;
struct lks_oci_ref;
struct lks_lock_image;
struct lks_latest;
struct lks_platforms;

struct lks_images_opts {
	long max_age; /* seconds a cached tag resolution is trusted (default 3600; <0: always) */
	/* Target platforms every Dockerfile is evaluated for (--platform); NULL: the ones the
	 * lock records for the file, else LKS_PLATFORMS_DEFAULT. */
	const struct lks_platforms *platforms;
};

void lks_images_opts_init(struct lks_images_opts *o);

/* Check files against lock without any network access, each evaluated for its platforms (see
 * lks_images_opts): unpinned references, references whose ARG has no default or whose
 * substitution is malformed, references naming a different image per platform, pins that
 * disagree with or are missing from the lock, and (warnings) ARG-dependent references whose
 * build-arg override no longer changes the image. A reference without a tag follows `latest`
 * (pinned or not). Malformed Dockerfiles and invalid references fail with a negative error. */
int lks_images_check(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                     size_t n, struct lks_lock *lock, const struct lks_images_opts *o,
                     struct lks_findings *out);

/* The platforms file is evaluated for: o->platforms, else the lock's record for the file,
 * else LKS_PLATFORMS_DEFAULT. -LKS_E_PARSE naming the lock for a bad recorded platform. */
int lks_images_platforms(struct lks_ctx *ctx, const struct lks_lock *lock, const char *file,
                         const struct lks_images_opts *o, struct lks_platforms *out);

/* Resolve and pin every image reference of files: new texts into ws, the lock's image entries
 * of these files (and the platforms they were evaluated for) updated in memory, one change per
 * reference appended to rep (kind "image"). References that cannot be expanded, or name a
 * different image per platform, are reported in `out` and left alone. A reference without a
 * tag follows `latest`: the digest is written after the name, the lock records `:latest`.
 * Returns 0 or a negative error.
 *
 * Update mode (u->enabled): a reference pinned with a tag and selected by lks_update_verdict
 * moves to the digest its tag points to now, unless that digest was published (config
 * `created`, else first seen by lockstep) within the cooldown (a warning "image-cooldown" says
 * so); the change carries `previous` and both published times. A tag that no longer exists
 * fails the run (-LKS_E_NOTFOUND, naming it and the way out) unless a policy rule holds or
 * ignores it. u may be NULL (pin). */
int lks_images_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
		   size_t n, struct lks_lock *lock, const struct lks_images_opts *o,
		   const struct lks_update_opts *u, struct lks_findings *out,
		   struct lks_pin_report *rep);

/* The names users know an image by, for policy rules and --package: full and familiar
 * reference without the digest, then full and familiar name ("docker.io/library/python:3.12",
 * "python:3.12", "docker.io/library/python", "python"); entries may be NULL when the reference
 * has no tag. Free with lks_images_names_free. */
#define LKS_IMAGE_NAMES 4
int lks_images_names(const struct lks_oci_ref *ref, char *names[LKS_IMAGE_NAMES]);
void lks_images_names_free(char *names[LKS_IMAGE_NAMES]);

/* Outdated lookups for every image pin of the lock: out[i] (zeroed by the caller, freed with
 * lks_latest_free) says whether the tag of lock->images[i] still points at the pinned digest,
 * or the newer digest, its `created` and since when the pin is behind (the new config's
 * created when it is after the pinned image's, else when lockstep first saw the new digest
 * under the tag, recorded in the cache). Tag resolutions younger than max_age seconds come
 * from the cache; the rest are fetched in one parallel batch and cached. A deleted tag is
 * VANISHED, a cache miss offline UNKNOWN; other registry failures fail the call. */
int lks_images_latest(struct lks_ctx *ctx, const struct lks_lock *lock, long max_age,
		      struct lks_latest *out);
