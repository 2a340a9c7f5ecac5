/* Image pinning: `check` (offline) and `pin` for the image references of Dockerfiles.
 *
 * A session loads each Dockerfile once (parse + image references), then either checks it
 * against the lock (no network) or resolves every reference through the registry client
 * (with the sqlite cache in front) and rewrites the files and the lock. Pinning is
 * all-or-nothing: when any reference fails to resolve, no file is written.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct lks_ctx;
struct lks_lock;
struct lks_findings;

struct lks_images_opts {
	long max_age;  /* seconds a cached tag resolution is trusted (default 3600; <0: always) */
	bool dry_run;  /* resolve and report; write nothing */
	bool no_write_lock; /* rewrite Dockerfiles but leave the lock alone */
};

/* What pin did to one reference. */
struct lks_pin_change {
	char *file;
	size_t line;
	char *written;   /* as written before */
	char *reference; /* expanded, normalised */
	char *digest;    /* pinned digest */
	bool changed;    /* the Dockerfile was edited for this reference */
	bool tag_moved;  /* already pinned, and the tag now points elsewhere */
};

struct lks_pin_report {
	struct lks_pin_change *v;
	size_t n;
	size_t files_written;
	size_t resolved_cached; /* answered from the cache */
	size_t resolved_network;
};

void lks_images_opts_init(struct lks_images_opts *o);
void lks_pin_report_init(struct lks_pin_report *r);
void lks_pin_report_free(struct lks_pin_report *r);

/* Check files against lock without any network access: unpinned references, references
 * whose ARG has no default, pins that disagree with or are missing from the lock, and
 * (warnings) ARG-dependent references whose build-arg override no longer changes the image.
 * Malformed Dockerfiles and invalid references fail with a negative error. */
int lks_images_check(struct lks_ctx *ctx, const char *const *files, size_t n,
		     struct lks_lock *lock, struct lks_findings *out);

/* Resolve and pin every image reference of files; update lock in memory (the caller saves
 * it). References that cannot be expanded are reported in `out` and left alone. Returns 0, or
 * a negative error with nothing written. */
int lks_images_pin(struct lks_ctx *ctx, const char *const *files, size_t n, struct lks_lock *lock,
		   const struct lks_images_opts *o, struct lks_findings *out,
		   struct lks_pin_report *rep);
