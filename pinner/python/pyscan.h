/* Finding `pip install` in a parsed Dockerfile (pinner/python/pyscan.c).
 *
 * Every RUN (shell form: its shell words split at && || ; | & ( ); exec form: its JSON
 * strings) is split into simple commands; a command whose program is pip, pip3, pip3.N, or
 * python/python3/python3.N with `-m pip` (after NAME=value prefixes, sudo, env, and pip's own
 * general options) and whose subcommand is install is returned with every argument classified
 * (lks_pyreq_pip_arg). Nothing inside quoted strings is looked into (sh -c '...' is left
 * alone), nor are heredoc bodies. Nothing is modified.
 *
 * Requirement files named by -r/-c are paths inside the image; lks_pyscan_context_path maps
 * one back to the build context through the COPY/ADD instructions of the stage (and of the
 * stages it is built FROM), resolving each destination as BuildKit does
 * (pinner/dockerfile/df_copy.h).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "pinner/python/pyreq.h"

struct lks_ctx;
struct lks_dockerfile;
struct lks_df_word;

#define LKS_PYSCAN_MAX_ARGS 4096 /* arguments of one pip command */

struct lks_pip_cmd {
	size_t instr;  /* index of the RUN in df->instrs */
	size_t line;   /* its first line */
	int stage;     /* index of its stage (0-based) */
	bool json;     /* exec form: the words are JSON strings */
	char **argv;   /* the arguments after "install", quotes removed (owned) */
	size_t argc;
	const struct lks_df_word **words;   /* words[i]: where argv[i] is written (borrowed) */
	enum lks_pyreq_pip_arg_kind *kinds; /* kinds[i]; an option's value has its option's kind */
	char **reqfiles; /* values of -r, in order (owned) */
	size_t nreqfiles;
	char **constraints; /* values of -c (owned) */
	size_t nconstraints;
};

struct lks_pip_cmds {
	struct lks_pip_cmd *v;
	size_t n;
};

void lks_pip_cmds_init(struct lks_pip_cmds *c);
void lks_pip_cmds_free(struct lks_pip_cmds *c);

/* Every pip install of df, in file order (ONBUILD triggers are skipped). Returns 0, -ENOMEM,
 * or -LKS_E_TOOBIG for a command with more than LKS_PYSCAN_MAX_ARGS arguments. */
int lks_pyscan(struct lks_ctx *ctx, const struct lks_dockerfile *df, struct lks_pip_cmds *out);

/* True when the word's value holds a shell or build-arg expansion ($X, ${X}, $(...), `...`). */
bool lks_pyscan_word_variable(const struct lks_df_word *w);

/* The build-context path (relative to context_dir, joined to it) of the file that the RUN at
 * instruction `instr` sees at image path `path` (relative to its WORKDIR, or absolute), found
 * through the COPY/ADD instructions before it; files are looked at on disk under context_dir
 * to tell directories from files. *out is NULL (return 0) when no COPY brings that path in. */
int lks_pyscan_context_path(struct lks_ctx *ctx, const struct lks_dockerfile *df, size_t instr,
                            const char *context_dir, const char *path, char **out);

/* Index in df->instrs of the FROM starting the stage of instruction instr, and the index of
 * the stage it is built on when its base is an earlier stage name (-1 otherwise). */
size_t lks_pyscan_stage_from(const struct lks_dockerfile *df, size_t instr, int *parent_stage);
