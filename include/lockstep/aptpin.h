/* apt packages of Dockerfiles: `check` (offline) and `pin` (resolved the way the base image's
 * own apt would resolve them).
 *
 * Every `apt-get install` / `apt install` of a RUN (shell form, exec form, heredoc scripts) is
 * found (apt_cmd.h). check reports words without a version ("apt-unpinned", an error), shell
 * expansions, patterns and local .debs (warnings: they cannot be pinned), and pinned words
 * that the lock does not record or records with another version. pin takes, for each stage,
 * its base image as the image pinner pinned it (a stage FROM another stage inherits that
 * stage's base) and every platform of it (lock->images), reads the image's apt configuration
 * (sources, preferences, architecture, keyrings), adds the user's --apt-source lines, fetches
 * the indexes (apt_fetch.h) and rewrites each word to NAME[:ARCH]=VERSION with
 * lks_apt_rewrite_command. Words already pinned are verified against the index, not changed. Each
 * choice is recorded in the lock per (file, RUN line, package, architecture).
 *
 * A package missing for one platform, an unknown package, a version the index does not carry,
 * an unreachable archive or a base image without apt fails the whole run (nothing is written),
 * naming the file and line.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;
struct lks_lock;
struct lks_findings;
struct lks_pin_report;
struct lks_workspace;
struct lks_update_opts;
struct lks_latest;

#define LKS_APTPIN_MAX_SOURCES 64

struct lks_aptpin_opts {
	/* --apt-source: "deb [opts] URI SUITE COMP..." or a deb822 stanza; a source with the
	 * URI and suite of one of the image's replaces it, others are added. Borrowed. */
	const char *sources[LKS_APTPIN_MAX_SOURCES];
	size_t n_sources;
	/* --apt-sources-file: sources.list or .sources files on this machine. Borrowed. */
	const char *source_files[LKS_APTPIN_MAX_SOURCES];
	size_t n_source_files;
	/* --apt-closure: also record in the lock, per RUN line, the packages its apt-get install
	 * pulls in (apt_closure.h), each with closure_of naming the word's package. A file whose
	 * lock entries already carry a closure keeps getting one without the option. */
	bool closure;
};

void lks_aptpin_opts_init(struct lks_aptpin_opts *o);

/* Offline check of the apt words of files against lock; findings into out. Returns 0 or a
 * negative error (a Dockerfile that does not parse). */
int lks_aptpin_check(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                     size_t n, struct lks_lock *lock, struct lks_findings *out);

/* Pin the apt words of files: new texts into ws, the apt entries of these files in lock
 * replaced, one change per word in rep (kind "apt"). Each lock entry records in published_at
 * when lockstep first saw its version: the Date of the Release file it first appeared in (kept
 * in the cache, and in the lock for as long as the version stays). Returns 0 or a negative
 * error.
 *
 * Update mode (u->enabled): a word already pinned (NAME=VERSION) and selected by
 * lks_update_verdict moves to apt's candidate for NAME when that is newer than VERSION (or
 * VERSION has vanished from the archive), unless the candidate was first seen within the
 * cooldown (a warning "apt-cooldown"); the change carries `previous` and both first-seen
 * times. u may be NULL (pin). */
int lks_aptpin_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                   size_t n, struct lks_lock *lock, const struct lks_aptpin_opts *o,
                   const struct lks_update_opts *u, struct lks_findings *out,
                   struct lks_pin_report *rep);

/* Outdated lookups for every apt pin of the lock: out[i] (zeroed by the caller, freed with
 * lks_latest_free) says whether apt's candidate for lock->apt[i] (its Dockerfile's RUN line
 * re-resolved against the stage's pinned base image, as update would) is newer (NEWER, since
 * when the candidate was first seen), the pinned version has vanished from the archive
 * (VANISHED, with the way out), or the pin is CURRENT. An entry its Dockerfile no longer
 * installs is UNKNOWN. Indexes come through the cache (one revalidation per suite). */
int lks_aptpin_latest(struct lks_ctx *ctx, const struct lks_lock *lock, struct lks_latest *out);
