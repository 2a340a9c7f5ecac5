/* Python dependency resolution for a target interpreter, and pip-compile's output format.
 *
 * lks_pyresolve() reads every project it needs from one index, evaluates markers for the
 * target (not the host), and backtracks over the whole graph (extras included) choosing the
 * newest allowed versions; existing pins are tried first when still allowed. The choice is
 * deterministic. When no solution exists the ctx detail names the conflicting requirements
 * and the chain that led to each. Hashes of every file of each chosen version (all platforms
 * and the sdist) are collected as pip-compile --generate-hashes does.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "pinner/python/pyreq.h"

#define LKS_PYRESOLVE_MAX_STEPS 20000 /* candidate attempts before giving up */

struct lks_pyresolve_opts {
	const char *index_url;               /* NULL: the requirements file's --index-url */
	const char *const *extra_index_urls; /* NULL: the requirements file's --extra-index-url */
	size_t nextra;
	const char *python_version; /* "3.12" or "3.12.1" */
	const char *machine;        /* NULL: "x86_64" */
	int glibc_minor;            /* 0: 36 */
	bool pre;                   /* allow pre-releases everywhere (--pre) */
	bool allow_unsafe;          /* pin pip/setuptools/distribute instead of commenting them */
	bool insecure_index;        /* allow plain http:// indexes off loopback (--insecure-index) */
	const struct lks_pyreq_set *existing; /* pins to keep when still allowed, or NULL */
	/* lockstep update: keys for which the existing pin is not preferred (the newest allowed
	 * version is chosen). NULL: every existing pin is preferred. */
	bool (*upgrade)(void *opaque, const char *key);
	void *upgrade_opaque;
	/* The cooldown (uv's exclude-newer): for upgraded keys (every key without `existing`),
	 * versions first uploaded after this instant are not chosen, except the existing pin,
	 * unless that leaves no version at all (the pin was yanked). */
	time_t exclude_newer;
	bool has_exclude_newer;
	const char *header; /* lks_pyresolution_write: this text instead of pip-compile's header */
};

struct lks_pypin {
	char key[LKS_PEP508_MAX_NAME];
	char version[LKS_PEP440_MAX_STR];
	char **hashes; /* "sha256:<hex>", sorted; owned */
	size_t nhashes;
	char **via; /* "-r requirements.in", "-c c.txt" or parent keys, sorted; owned */
	size_t nvia;
	bool unsafe; /* pip, setuptools, distribute */
	char *marker;          /* written after "; " (pin needed on some platforms only), or NULL */
	char *index;           /* the index URL it was found on; owned */
	char *requires_python; /* of the chosen version, or NULL; owned */
	bool has_published_at;
	time_t published_at; /* earliest upload-time of the version's files */
	char *link;          /* the release's changelog or project URL (lks_pymeta.link); owned */
};

/* An existing pin whose release is no longer installable from the index. */
struct lks_pygone {
	char key[LKS_PEP508_MAX_NAME];
	char version[LKS_PEP440_MAX_STR];
	bool yanked;  /* every file yanked (PEP 592); else no file of it is listed any more */
	char *reason; /* the yank reason, or NULL; owned */
};

struct lks_pyresolution {
	struct lks_pypin *pins; /* sorted by key */
	size_t n;
	struct lks_pygone *gone; /* existing pins that are yanked or gone (opts->upgrade only) */
	size_t ngone;
	char **unpinnable; /* "FILE:LINE: text (why)" for URL/path/editable items; owned */
	size_t nunpinnable;
};

void lks_pyresolution_init(struct lks_pyresolution *r);
void lks_pyresolution_free(struct lks_pyresolution *r);

int lks_pyresolve(struct lks_ctx *ctx, const struct lks_pyreq_set *reqs,
                  const struct lks_pyresolve_opts *opts, struct lks_pyresolution *out);

/* pip-compile --generate-hashes text: header (with `command` and the Python version), index
 * options, "key==version \" with one "--hash=" per line, "# via" annotations, unsafe packages
 * last. Deterministic bytes. */
int lks_pyresolution_write(struct lks_ctx *ctx, const struct lks_pyresolution *r,
                           const struct lks_pyresolve_opts *opts, const char *command,
                           struct lks_buf *out);
