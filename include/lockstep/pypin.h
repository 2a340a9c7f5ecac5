/* Python requirements of Dockerfiles: `check` (offline) and `pin` (pinner/python/pypin.c).
 *
 * Inputs are found from each Dockerfile's `pip install` commands (pyscan.h): a requirements
 * file the command names with -r is traced back through COPY to the build context; its input
 * is the requirements.in beside it (or, without one, the file itself, rewritten with hashes),
 * resolved for the interpreter of the stage's pinned base image on each of its platforms
 * (pybase.h) and written like `pip-compile --generate-hashes` with a header recording the
 * sha256 of the input. Requirement words on the command line (`pip install flask`) are pinned
 * in place (flask==3.0.3); their hashes are recorded in the lock only (pip takes no --hash on
 * the command line).
 * All output goes through the workspace; the lock's python entries are updated in memory.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;
struct lks_findings;
struct lks_lock;
struct lks_pin_report;
struct lks_workspace;
struct lks_update_opts;
struct lks_latest;

struct lks_pypin_opts {
	const char *python_version; /* "3.11" or "3.11.9": overrides the base image's */
	const char *index_url;      /* used when neither the file nor the command names one */
	const char *const *requirements; /* --requirements FILE ...: inputs given by hand */
	size_t nrequirements;
	bool allow_unsafe;   /* pin pip/setuptools too */
	bool insecure_index; /* allow plain http:// indexes off loopback */
	bool inline_to_file; /* `pip install NAME...` words move into a generated, hashed
	                      * requirements file (pinner/python/pyinline.c) instead of
	                      * NAME==VERSION */
};

void lks_pypin_opts_init(struct lks_pypin_opts *o);

/* Offline: requirements.txt missing or older than its requirements.in, unpinned or unhashed
 * lines, unpinned `pip install` words, pins that disagree with (or are missing from) the lock.
 * Stable codes: python-unpinned, python-unhashed, python-out-of-date, python-missing,
 * python-not-in-lock, python-lock-mismatch, python-unpinnable, python-requirements-unknown. */
int lks_pypin_check(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                    size_t n, struct lks_lock *lock, const struct lks_pypin_opts *o,
                    struct lks_findings *out);

/* Resolve and pin; new texts into ws, lock entries updated, one report line per pin (kind
 * "python", with the upload-time of the pinned release). What cannot be pinned goes to out.
 * Returns 0 or a negative error.
 *
 * Update mode (u->enabled): requirements files are re-resolved without preferring their
 * existing pins for the packages lks_update_verdict selects, so those take the newest
 * versions requirements.in allows (hashes refreshed), leaving out versions first uploaded
 * within the cooldown (unless already pinned); a moved pin is reported with `previous` and
 * both upload times. Requirement words pinned on a pip command line are requirements, not
 * pins: update leaves them. u may be NULL (pin). */
int lks_pypin_pin(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                  size_t n, struct lks_lock *lock, const struct lks_pypin_opts *o,
                  const struct lks_update_opts *u, struct lks_findings *out,
                  struct lks_pin_report *rep);

/* Outdated lookups for every python pin of the lock: out[i] (zeroed by the caller, freed with
 * lks_latest_free) says whether a newer version is allowed for lock->python[i] (its
 * requirements file re-resolved from its input as update would, for the Dockerfiles the lock
 * names; NEWER with the upload-time, since when it is the newest), its release was yanked or
 * removed from the index (VANISHED, with the way out), or the pin is CURRENT. Pins of
 * requirements no Dockerfile of the lock installs, and words of pip command lines, are
 * UNKNOWN and UNTRACKED. Versions uploaded less than `cooldown` seconds ago are left out.
 * The index is the one the requirements name, else the one the lock records. */
int lks_pypin_latest(struct lks_ctx *ctx, const struct lks_lock *lock, long cooldown,
                     struct lks_latest *out);

/* --pip-inline-to-file (o->inline_to_file; otherwise nothing happens): the requirement words of
 * each `pip install NAME...` move into a generated requirements-lockstep-STAGE.in beside the
 * Dockerfile, a COPY of requirements-lockstep-STAGE.txt is added before the RUN, and the words
 * become `--require-hashes -r /tmp/requirements-lockstep-STAGE.txt`; lks_pypin_pin() then
 * generates the .txt like any other. Runs before every other pinner, so the lines they record
 * are the final ones. Words that cannot move (variables, URLs, paths, -e) stay: a
 * python-inline-kept warning in out. */
int lks_pypin_inline(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                     size_t n, const struct lks_pypin_opts *o, struct lks_findings *out);
