/* `check` and `pin` (and `update`, pin in update mode) over every kind of input: images, apt
 * packages, Python requirements.
 *
 * One mechanism for every kind: the Dockerfiles, the files kinds generate (requirements.txt)
 * and the lock itself live in one workspace; each Dockerfile is parsed once, every kind in turn
 * finds its inputs in that parsed model, records its edits on it and updates the lock in
 * memory; then the workspace is committed — every changed file checked writable first, then
 * each written atomically — so a run writes all of its files or none. Kinds run in a fixed
 * order because later ones build on earlier ones (apt reads the base image that the image kind
 * pinned). How a kind plugs in: pinner/pin_int.h.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/update.h"

struct lks_ctx;
struct lks_findings;
struct lks_pin_report;
struct lks_platforms;

/* Images (FROM, COPY --from, RUN --mount from=). */
struct lks_images_opts {
	long max_age; /* seconds a cached tag resolution is trusted (default 3600; <0: always) */
	/* Target platforms every Dockerfile is evaluated for (--platform); NULL: the ones the
	 * lock records for the file, else LKS_PLATFORMS_DEFAULT (see platform.h). */
	const struct lks_platforms *platforms;
};

/* apt packages of `apt-get install` / `apt install` in RUN lines. */
#define LKS_APT_MAX_SOURCES 64
struct lks_apt_opts {
	/* --apt-source: "deb [opts] URI SUITE COMP..." or a deb822 stanza; a source with the
	 * URI and suite of one of the image's replaces it, others are added. Borrowed. */
	const char *sources[LKS_APT_MAX_SOURCES];
	size_t n_sources;
	/* --apt-sources-file: sources.list or .sources files on this machine. Borrowed. */
	const char *source_files[LKS_APT_MAX_SOURCES];
	size_t n_source_files;
	/* --apt-closure: also record in the lock, per RUN line, the packages its apt-get install
	 * pulls in, each with closure_of naming the word's package. A file whose lock entries
	 * already carry a closure keeps getting one without the option. */
	bool closure;
};

/* Python requirements (requirements files named by `pip install -r`, `pip install` words). */
struct lks_pypin_opts {
	const char *python_version;      /* "3.11" or "3.11.9": overrides the base image's */
	const char *index_url;           /* used when neither the file nor the command names one */
	const char *const *requirements; /* --requirements FILE ...: inputs given by hand */
	size_t nrequirements;
	bool allow_unsafe;   /* pin pip/setuptools too */
	bool insecure_index; /* allow plain http:// indexes off loopback */
	bool inline_to_file; /* `pip install NAME...` words move into a generated, hashed
	                      * requirements file instead of NAME==VERSION */
};

struct lks_pin_opts {
	const char *lock_path; /* default LKS_LOCKFILE_NAME */
	bool dry_run;          /* resolve and report; write nothing */
	unsigned kinds;        /* LKS_LOCK_* mask of the kinds to run (default all) */
	struct lks_images_opts images;
	struct lks_apt_opts apt;
	struct lks_pypin_opts python;
	struct lks_update_opts update; /* lockstep update (see update.h); off for pin */
};

void lks_pin_opts_init(struct lks_pin_opts *o);

/* Offline check of files against the lock: findings of every kind into out. Returns 0 (the
 * findings say whether anything is wrong) or a negative error. */
int lks_check_files(struct lks_ctx *ctx, const struct lks_pin_opts *o, const char *const *files,
		    size_t n, struct lks_findings *out);

/* Pin files with every kind, then write the changed files and the lock (unless dry_run).
 * What could not be pinned is in out; what was pinned or verified in rep. Returns 0, or a
 * negative error with nothing written. */
int lks_pin_files(struct lks_ctx *ctx, const struct lks_pin_opts *o, const char *const *files,
		  size_t n, struct lks_findings *out, struct lks_pin_report *rep);
