/* pip requirements files (requirements.in / requirements.txt).
 *
 * Follows pip's reader: physical lines ending in '\' are joined (a comment line is never
 * continued), comments start at a '#' at the line start or after whitespace, ${VAR} is expanded
 * from the environment when set, the first token starting with '-' ends the requirement and
 * begins its options. Every item records the file and line it came from; every error is
 * reported as "FILE:LINE: detail". Includes (-r, -c) are resolved relative to the including
 * file, with cycle detection and a depth cap. Only strong hashes (sha256/384/512) are accepted.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/ctx.h"
#include "pinner/python/pep508.h"

#define LKS_PYREQ_MAX_FILE ((size_t)16 << 20) /* bytes per file */
#define LKS_PYREQ_MAX_LINE 65536              /* bytes per logical line */
#define LKS_PYREQ_MAX_ITEMS 20000             /* items over all files */
#define LKS_PYREQ_MAX_DEPTH 16                /* include nesting */
#define LKS_PYREQ_MAX_HASHES 256              /* --hash options on one requirement */

enum lks_pyreq_kind {
	LKS_PYREQ_NAMED,    /* a PEP 508 requirement by name (may be "name @ url") */
	LKS_PYREQ_URL,      /* a bare URL (https://.../x.whl): unpinnable unless hashed */
	LKS_PYREQ_PATH,     /* a local path (./pkg, x.whl): unpinnable unless hashed */
	LKS_PYREQ_EDITABLE, /* -e ...: reported, never pinned */
};

struct lks_pyreq_item {
	enum lks_pyreq_kind kind;
	const char *file;          /* borrowed from lks_pyreq_set.files */
	int line;                  /* first physical line of the logical line */
	bool constraint;           /* from a -c file */
	char *text;                /* the requirement as written, options removed; owned */
	struct lks_pep508_req req; /* parsed for NAMED (and for a URL/path "#egg=" is ignored) */
	char *marker_text;         /* marker after "; " on URL/path lines, or NULL; owned */
	char **hashes;             /* "sha256:<hex>" ...; owned */
	size_t nhashes;
};

struct lks_pyreq_set {
	struct lks_pyreq_item *items;
	size_t n;
	char **files; /* every file read, in order (the top file first); owned */
	size_t nfiles;
	char *index_url; /* last -i/--index-url seen, or NULL */
	char **extra_index_urls;
	size_t nextra;
	char **find_links;
	size_t nfind_links;
	char **trusted_hosts;
	size_t ntrusted;
	bool no_index;
	bool pre;
	bool require_hashes;
};

void lks_pyreq_set_init(struct lks_pyreq_set *set);
void lks_pyreq_set_free(struct lks_pyreq_set *set);

/* Read path and everything it includes, appending to set. ctx is required (warnings about
 * options without effect go to ctx->warn). */
int lks_pyreq_parse_file(struct lks_ctx *ctx, const char *path, struct lks_pyreq_set *set);
/* Parse text already in memory, named `name` in messages. Includes are read relative to the
 * directory of `name` when allow_includes, otherwise they are an error. */
int lks_pyreq_parse_buf(struct lks_ctx *ctx, const char *name, const char *text, size_t n,
                        bool allow_includes, struct lks_pyreq_set *set);

/* The arguments of one `pip install` command (tokens after "install", already shell-split),
 * as found in a Dockerfile RUN line: requirements become items at name:line; -r/-c files are
 * read relative to the directory of `name` (the usual `COPY requirements.txt .` case); -i,
 * --extra-index-url, --pre ... set the same fields as in a requirements file; options that do
 * not affect pinning (-U, --no-cache-dir, --user, --target DIR ...) are skipped. */
int lks_pyreq_parse_pip_args(struct lks_ctx *ctx, const char *name, int line, char **argv,
                             size_t argc, struct lks_pyreq_set *set);
/* What one `pip install` argument is (see lks_pyreq_pip_arg). */
enum lks_pyreq_pip_arg_kind {
	LKS_PYREQ_ARG_REQUIREMENT, /* a requirement word (name, URL or path) */
	LKS_PYREQ_ARG_REQFILE,     /* -r/--requirement FILE */
	LKS_PYREQ_ARG_CONSTRAINT,  /* -c/--constraint FILE */
	LKS_PYREQ_ARG_EDITABLE,    /* -e/--editable TARGET */
	LKS_PYREQ_ARG_OPTION,      /* any other known option (with its value) */
	LKS_PYREQ_ARG_UNKNOWN,     /* an option pip install does not have */
};

/* Classify argv[*k] of a `pip install` command (arguments after "install"): *k is left on the
 * last element used (the value of "-r FILE" included); *val points at the value of
 * -r/-c/-e ("-rFILE", "--requirement=FILE" and "-r FILE" alike), else NULL. */
enum lks_pyreq_pip_arg_kind lks_pyreq_pip_arg(char *const *argv, size_t argc, size_t *k,
                                              const char **val);
/* A named requirement pinned to one version ("==X" without wildcard, or "===X"). */
bool lks_pyreq_item_pinned(const struct lks_pyreq_item *it);
