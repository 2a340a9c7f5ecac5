/* `lockstep outdated`: which pins of the lock are past the update window (pinner/outdated.c).
 *
 * Works from the lock alone (no Dockerfile is read). For every pin, the lookup of its kind
 * (images: lks_images_latest; apt and python add theirs as one row of the table in
 * outdated.c) says whether a newer allowed version exists and since when; the rule in
 * policy.h, with the policy, turns that into flags. Lookups go through the cache, so a warm
 * run touches no network.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "lockstep/policy.h"

struct lks_buf;
struct lks_ctx;
struct lks_platforms;

struct lks_outdated_opts {
	const char *lock_path;           /* default LKS_LOCKFILE_NAME */
	long window;                     /* seconds, default LKS_WINDOW_DEFAULT */
	long max_age;                    /* trust cached lookups this young (default 3600) */
	unsigned kinds;                  /* LKS_LOCK_* mask (default all) */
	const char *package;             /* only pins known by this name (or fnmatch pattern) */
	long cooldown;                   /* seconds: newer versions younger than this wait */
	const struct lks_policy *policy; /* may be NULL */
	/* --platform: only the pins of Dockerfiles pinned for one of these (the lock's dockerfiles
	 * record, else LKS_PLATFORMS_DEFAULT), apt pins of their architectures; NULL: all. */
	const struct lks_platforms *platforms;
};

void lks_outdated_opts_init(struct lks_outdated_opts *o);

struct lks_outdated_row {
	const char *kind; /* "image", "apt", "python" (static) */
	char *file;
	long line;  /* 0 when the lock has none */
	char *name; /* as users know it: "python:3.12-slim", "curl", "requests" */
	char *pinned;
	time_t resolved_at;
	time_t published_at;
	bool has_published_at;
	struct lks_latest latest;
	const struct lks_policy_rule *rule; /* borrowed from the policy, or NULL */
	unsigned flags;                     /* LKS_AGE_* */
};

struct lks_outdated {
	struct lks_outdated_row *v;
	size_t n;
	size_t flagged; /* rows with flags */
	time_t now;
	long window;
};

void lks_outdated_init(struct lks_outdated *r);
void lks_outdated_free(struct lks_outdated *r);

/* Load the lock, look every pin up, flag. Rows are in lock order (kinds: images, apt,
 * python). A policy rule that matches no pin is a warning in ctx. Returns 0 or a negative
 * error (bad lock, registry failure other than a missing tag, ...). */
int lks_outdated_run(struct lks_ctx *ctx, const struct lks_outdated_opts *o,
                     struct lks_outdated *out);

/* Text: one line per flagged row (every row with all) and a last line with the counts. */
int lks_outdated_text(const struct lks_outdated *r, bool all, struct lks_buf *out);
/* JSON (a stable interface; see README): {"version":1,"now","window_days","window_seconds",
 * "flagged","pins":[{kind,file,line,name,pinned,resolved_at,published_at,state,latest,
 * latest_published_at,behind_since,behind_days,checked_days,flags,policy,detail,action}]}. */
int lks_outdated_json(struct lks_ctx *ctx, const struct lks_outdated *r, struct lks_buf *out);
