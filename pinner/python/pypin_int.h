/* Shared between pinner/python/pypin.c (discovery, check) and pinner/python/pypin_pin.c (pin). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/buf.h"
#include "pinner/python/pyscan.h"

struct lks_ctx;
struct lks_dockerfile;
struct lks_findings;
struct lks_workspace;
struct lks_ws_file;
struct lks_edit;
struct lks_pyreq_set;
struct lks_pypin_opts;
struct lks_lock;

#define PYPIN_INPUT_TAG "# input: " /* header line recording the input's digest */

/* One Dockerfile being looked at: a private copy of its text, parsed and scanned. */
struct pydfile {
	const char *path;
	char *dir; /* its directory: the build context */
	struct lks_buf data;
	struct lks_dockerfile *df;
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
/* Apply e (when any) to f's text and put the result into the workspace. */
int pyedits_apply(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                  const struct pyedits *e);
/* True when the workspace has the file: on disk, or written in this run. */
bool pypin_ws_has(const struct lks_ws_file *wf);
/* --pip-inline-to-file: move the requirement words of f's pip commands into generated
 * requirements files (pinner/python/pyinline.c); *moved is set when f was changed. Words that
 * cannot move (variables, URLs, paths, -e) stay, with a python-inline-kept warning in out. */
int pyinline_move(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                  struct lks_findings *out, bool *moved);
/* The lock's python entry for (file, name), or NULL. */
struct lks_lock_python *pypin_lock_find(struct lks_lock *l, const char *file, const char *key);
