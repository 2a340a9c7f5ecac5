/* The Python kind (pin_kind_python): Python requirements of Dockerfiles. Not public API; the
 * files: pypin.c (discovery, check, the kind's table entry), pypin_pin.c (pin, update,
 * latest), pyinline.c (--pip-inline-to-file).
 *
 * Inputs are found from each Dockerfile's `pip install` commands (pyscan.h): a requirements
 * file the command names with -r is traced back through COPY to the build context; its input
 * is the requirements.in beside it (or, without one, the file itself, rewritten with hashes),
 * resolved for the interpreter of the stage's pinned base image on each of its platforms
 * (pybase.h) and written like `pip-compile --generate-hashes` with a header recording the
 * sha256 of the input. Requirement words on the command line (`pip install flask`) are pinned
 * in place (flask==3.0.3, an edit on the workspace's model); their hashes are recorded in the
 * lock only (pip takes no --hash on the command line). Generated files go through the
 * workspace; the lock's python entries are updated in memory, one report line per pin (kind
 * "python", with the upload-time of the pinned release).
 *
 * check (offline): requirements.txt missing or older than its requirements.in, unpinned or
 * unhashed lines, unpinned `pip install` words, pins that disagree with (or are missing from)
 * the lock. Stable codes: python-unpinned, python-unhashed, python-out-of-date,
 * python-missing, python-not-in-lock, python-lock-mismatch, python-unpinnable,
 * python-requirements-unknown.
 *
 * Update mode: requirements files are re-resolved without preferring their existing pins for
 * the packages lks_update_verdict selects, so those take the newest versions requirements.in
 * allows (hashes refreshed), leaving out versions first uploaded within the cooldown (unless
 * already pinned); a moved pin is reported with `previous` and both upload times. Requirement
 * words pinned on a pip command line are requirements, not pins: update leaves them.
 *
 * latest (outdated): whether a newer version is allowed for each python pin (its requirements
 * file re-resolved from its input as update would, for the Dockerfiles the lock names; NEWER
 * with the upload-time, since when it is the newest), its release was yanked or removed from
 * the index (VANISHED, with the way out), or the pin is CURRENT. Pins of requirements no
 * Dockerfile of the lock installs, and words of pip command lines, are UNKNOWN and UNTRACKED.
 * Versions uploaded less than the cooldown ago are left out. The index is the one the
 * requirements name, else the one the lock records.
 *
 * prepare (--pip-inline-to-file; otherwise nothing happens): the requirement words of each
 * `pip install NAME...` move into a generated requirements-lockstep-STAGE.in beside the
 * Dockerfile, a COPY of requirements-lockstep-STAGE.txt is added before the RUN, and the words
 * become `--require-hashes -r /tmp/requirements-lockstep-STAGE.txt`; pin then generates the
 * .txt like any other. It runs before every kind pins, so the lines they record are the final
 * ones (the model is parsed again after it: it added lines). Words that cannot move
 * (variables, URLs, paths, -e) stay: a python-inline-kept warning.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/buf.h"
#include "pinner/python/pyscan.h"
#include "pinner/dockerfile/df_edit.h"

struct lks_ctx;
struct lks_dockerfile;
struct lks_findings;
struct lks_workspace;
struct lks_ws_file;
struct lks_edit;
struct lks_pyreq_set;
struct lks_pypin_opts;
struct lks_lock;
struct lks_latest;
struct latest_run;
struct pin_run;
struct ws_dockerfile;

#define PYPIN_INPUT_TAG "# input: " /* header line recording the input's digest */

/* One Dockerfile of the run: the workspace's parsed model, and its pip commands. */
struct pydfile {
	const char *path;
	char *dir;                 /* its directory: the build context */
	struct ws_dockerfile *m;   /* the workspace's model */
	const char *data;          /* m->text */
	struct lks_dockerfile *df; /* m->df */
	struct lks_pip_cmds cmds;
};

/* One requirements file to generate. */
struct pyjob {
	char *in;  /* the input: requirements.in, or the .txt itself */
	char *out; /* requirements.txt */
	const struct pydfile *f; /* where it was found (NULL: --requirements without Dockerfile) */
	const struct lks_pip_cmd *cmd; /* the pip command naming it, or NULL */
	size_t line;                   /* its line in f, 0 when none */
};

struct pyjobs {
	struct pyjob *v;
	size_t n;
};

int pydfile_load(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                 struct pydfile *f);
void pydfile_free(struct pydfile *f);
/* All of files loaded into *out (n entries, freed with pydfiles_free even on failure). */
int pydfiles_load(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                  size_t n, struct pydfile **out);
void pydfiles_free(struct pydfile *v, size_t n);
/* Every requirements file the Dockerfiles name (deduplicated by output), plus the ones given
 * with --requirements; -r files no COPY brings in are findings. */
int pyjobs_collect(struct lks_ctx *ctx, struct lks_workspace *ws, struct pydfile *v, size_t n,
                   const struct lks_pypin_opts *o, struct pyjobs *out,
                   struct lks_findings *findings);
void pyjobs_free(struct pyjobs *j);
/* The options of cmd (index URLs, --pre, -c files) as requirement-set settings; with words,
 * its requirement words too (variables excluded). */
int pypin_cmd_set(struct lks_ctx *ctx, const struct pydfile *f, const struct lks_pip_cmd *cmd,
                  bool words, struct lks_pyreq_set *set);
/* Read a requirements file through the workspace into set. */
int pypin_read_reqs(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                    struct lks_pyreq_set *set);
/* "sha256:<hex>" of the bytes of path as the workspace has them, "" when missing. */
int pypin_input_digest(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                       char out[static 72]);
/* Byte edits of one Dockerfile; every text is owned (malloc'd). */
struct pyedits {
	struct lks_edit *v;
	size_t n;
};

/* Add an edit replacing [off, off+len) by text, taking text (freed on failure; NULL gives
 * -ENOMEM). */
int pyedits_add(struct pyedits *e, size_t off, size_t len, char *text);
void pyedits_free(struct pyedits *e);
/* Record e on f's model (the workspace applies every kind's edits at the end of the run). */
int pyedits_apply(const struct pydfile *f, const struct pyedits *e);
/* True when the workspace has the file: on disk, or written in this run. */
bool pypin_ws_has(const struct lks_ws_file *wf);
/* --pip-inline-to-file: move the requirement words of f's pip commands into generated
 * requirements files (pinner/python/pyinline.c); *moved is set when f was changed. Words that
 * cannot move (variables, URLs, paths, -e) stay, with a python-inline-kept warning in out. */
int pyinline_move(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                  struct lks_findings *out, bool *moved);
/* The lock's python entry for (file, name), or NULL. */
struct lks_lock_python *pypin_lock_find(struct lks_lock *l, const char *file, const char *key);

/* The kind's operations (pin_kind_python, pypin.c): prepare (--pip-inline-to-file), pin and
 * latest (pypin_pin.c). */
int pypin_prepare(struct pin_run *r);
int pypin_pin(struct pin_run *r);
int pypin_latest(struct latest_run *r, struct lks_latest *out);
