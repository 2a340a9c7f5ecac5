/* A pin workspace: every file one `pin` or `update` run may rewrite, held in memory.
 *
 * Dockerfiles are parsed once into the workspace (ws_dockerfile.h): each kind (images, apt,
 * python) works on that model and records its edits on it, and a later kind sees what an
 * earlier one did there (apt reads the base image digest that the image kind just pinned).
 * Other files (requirements.txt, the lock) are read and replaced whole. Nothing touches the
 * disk until lks_ws_commit, which checks that every changed file can be written and then
 * writes them all or none, across a crash too (lks_commit_files, through symlinks). So a run
 * is all-or-nothing across kinds.
 *
 * Ownership: the workspace owns every path and buffer; pointers returned by lks_ws_get stay
 * valid until lks_ws_free (the file table never moves its entries: it is an array of pointers).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/buf.h"
#include "pinner/dockerfile/ws_dockerfile.h"

struct lks_ctx;

struct lks_ws_file {
	char *path;
	struct lks_buf orig; /* as read from disk (empty for a new file) */
	struct lks_buf cur;  /* current text */
	bool exists;         /* was on disk when first read */
};

struct lks_workspace {
	struct lks_ws_file **v;
	size_t n, cap;
	struct ws_dockerfiles dfs; /* the parsed Dockerfiles (ws_dockerfile.h) */
};

void lks_ws_init(struct lks_workspace *ws);
void lks_ws_free(struct lks_workspace *ws);

/* The file at path, read from disk on first use (at most max bytes: -LKS_E_TOOBIG naming it).
 * A missing file is -ENOENT with a message unless allow_missing, which yields an empty file
 * with exists == false. */
int lks_ws_get(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path, size_t max,
	       bool allow_missing, struct lks_ws_file **out);
/* Replace the current text of path (adding the file when it is not in the workspace yet). */
int lks_ws_set(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path, const char *data,
	       size_t len);
/* True when the current text differs from what is on disk (or the file is new). */
bool lks_ws_file_changed(const struct lks_ws_file *f);
/* Write every changed file, all or nothing (lks_commit_files, with `journal` as its intent
 * record): first refuse (writing nothing) when any cannot be written (read-only file, missing
 * directory) or changed on disk since it was read; a path that is a symlink is written through
 * to its target. *written counts the files written. */
int lks_ws_commit(struct lks_ctx *ctx, struct lks_workspace *ws, const char *journal,
		  size_t *written);
