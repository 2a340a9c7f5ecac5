/* Where COPY and ADD put files, as BuildKit resolves the destination (dockerfile2llb
 * dispatchCopy and pathRelativeToWorkingDir, fsutil copy.Copy), and which directories a stage
 * is known to have (internal to pinner/: the apt and Python kinds trace files with it).
 *
 * BuildKit's rules, followed here:
 *  - a relative destination is relative to the WORKDIR; "." and "" mean the WORKDIR itself;
 *  - a destination ending in '/' (or "."), or naming a directory that exists in the stage,
 *    receives each file source as DEST/NAME; otherwise a file source becomes DEST itself;
 *  - the contents of a directory source go into DEST (created when missing);
 *  - several sources need a directory destination (BuildKit's documented rule): DEST/NAME;
 *  - --parents keeps each source's path (below a "/./" pivot when there is one) under DEST;
 *  - ADD the same (URLs and git sources are not files of the context; a local archive is
 *    unpacked, so what is inside it is not known).
 * A directory is known to exist in a stage when WORKDIR made it (WORKDIR creates it), an
 * earlier COPY/ADD put something in it or made it, or `RUN mkdir [-p] PATH...` with literal
 * paths made it, in the stage or in the stage it is built FROM; also every parent directory
 * of a known path. Not known: what the base image itself holds (beyond what the caller seeds),
 * paths with variables ($HOME), and directories made by other commands. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_dockerfile;
struct lks_df_instr;

#define DF_PATH_MAX 4096
#define DF_FSVIEW_MAX 4096 /* known paths per stage; more are not recorded */

/* What a stage's filesystem is known to hold, in build order. */
struct df_fsview {
	char workdir[DF_PATH_MAX]; /* absolute, cleaned; "" when it has a variable (unknown) */
	const char *context;       /* the build context directory on disk, or NULL: used to tell
	                              directory sources from files */
	char **paths;              /* known paths (absolute, cleaned) */
	bool *dir; /* dir[i]: paths[i] is a directory (else: exists, kind unknown) */
	size_t n, cap;
};

/* A view of an empty stage (WORKDIR "/"); context may be NULL. */
void df_fsview_init(struct df_fsview *v, const char *context);
void df_fsview_free(struct df_fsview *v);
/* dst (not initialised) becomes a copy of src: the view of a stage built FROM src's stage. */
int df_fsview_copy(struct df_fsview *dst, const struct df_fsview *src);
/* Records an absolute path as known (a directory when dir); -ENOMEM. */
int df_fsview_add(struct df_fsview *v, const char *path, bool dir);
/* The absolute path is a directory known to exist in the stage. */
bool df_fsview_is_dir(const struct df_fsview *v, const char *path);
/* The view after instruction in: WORKDIR, COPY/ADD destinations, RUN mkdir. -ENOMEM. */
int df_fsview_step(struct df_fsview *v, const struct lks_df_instr *in);

/* One COPY or ADD, its destination resolved against the stage before it. */
struct df_copy {
	const struct lks_df_instr *in;
	char dest[DF_PATH_MAX]; /* absolute, cleaned (no trailing '/') */
	bool into;              /* file sources go to DEST/NAME (see above) */
	bool parents;           /* --parents */
	bool context;           /* sources are files of the build context (no --from) */
};

/* Resolves in against v; false for another instruction, one with fewer than two arguments, or
 * a relative destination under an unknown WORKDIR. */
bool df_copy_resolve(const struct df_fsview *v, const struct lks_df_instr *in, struct df_copy *c);
/* A source that is not a file of the build context: a URL, a git address, a heredoc. */
bool df_copy_source_remote(const char *src);
/* Where source src (as written) lands: for a file, its path in the image; for a directory
 * (src_dir), the directory its contents go to. With --parents, src's kept path is part of it.
 * Returns false when out is too small. */
bool df_copy_target(const struct df_copy *c, const char *src, bool src_dir, char *out, size_t len);

/* The index of the stage the FROM at df->instrs[from] is built on, when its base names an
 * earlier stage (by AS name, case-insensitive, or by index); else -1. */
int df_stage_parent(const struct lks_dockerfile *df, size_t from);

/* dir joined with rel (rel absolute: rel alone), cleaned lexically (// . ..) into out; false
 * when out is too small. */
bool df_path_join(const char *dir, const char *rel, char *out, size_t len);
