/* The transitive dependency closure of apt requests: what `apt-get install -s
 * --no-install-recommends PKGS` would install besides PKGS on a given image.
 *
 * The installed set is the image's /var/lib/dpkg/status: every package dpkg has on disk
 * (Status other than not-installed or config-files). For each requested package at its chosen
 * version, its Pre-Depends then Depends are walked depth first, in field order, as apt's
 * MarkInstall does. A group ("a (>= 1) | b") already satisfied by an installed package or by
 * a package already chosen (by name, or by a Provides of it) is skipped. Otherwise the first
 * alternative that can satisfy it wins (apt's rule): a real package when its candidate meets
 * the version constraint, else a provider of that name. Among several providers, the first
 * in the index's order whose candidate provides it is taken (apt ranks providers by more than
 * that, e.g. the Priority field: a Depends on a virtual package with several providers may
 * differ; an alternative naming a real package first, as Debian policy asks, never does).
 *
 * Not followed: Recommends and Suggests (the closure is that of --no-install-recommends;
 * without that option apt would also install Recommends, which the lock then lacks),
 * Conflicts/Breaks (apt would remove or upgrade installed packages: see
 * lks_apt_closure_clashes), Multi-Arch: foreign satisfying other architectures (NAME:any is
 * honoured: only Multi-Arch: allowed meets it).
 * The caller adds to `inst` what earlier RUN lines of the stage installed.
 */
#pragma once
#include <stddef.h>
#include "pinner/apt/apt_resolve.h"

struct lks_ctx;

#define LKS_APT_CLOSURE_MAX_DEPTH 256
#define LKS_APT_CLOSURE_MAX 20000

/* One package dpkg has installed. */
struct lks_apt_inst {
	char *name, *version, *arch;
	char *provides, *multi_arch, *breaks, *conflicts; /* may be NULL */
};

struct lks_apt_installed {
	struct lks_apt_inst *v;
	size_t n;
};

/* Parse a dpkg status file (`what` names it in messages); out is initialised by this call. */
int lks_apt_installed_parse(struct lks_ctx *ctx, const char *what, const char *data, size_t n,
                            struct lks_apt_installed *out);
void lks_apt_installed_free(struct lks_apt_installed *s);
/* Free the strings of one entry (not the struct). */
void lks_apt_inst_free(struct lks_apt_inst *e);

struct lks_apt_closure_ent {
	struct lks_apt_choice choice;
	const char *of; /* name of the requested package that pulled it in (its pkg->name) */
};

struct lks_apt_closure {
	struct lks_apt_closure_ent *v;
	size_t n, cap;
};

void lks_apt_closure_free(struct lks_apt_closure *c);

/* The closure of reqs[0..n) (the choices of the requested packages) under pol on an image
 * with `inst` installed (may be NULL: nothing installed). The requested packages themselves
 * are not in out. out is initialised by this call. Errors: -LKS_E_CONFLICT when a dependency
 * cannot be satisfied, naming the chain ("curl -> libcurl4 -> 'libssl3 (>= 9)'") and what
 * the candidate is; -LKS_E_TOOBIG past the caps above; -LKS_E_PARSE for a malformed field. */
int lks_apt_closure(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                    const struct lks_apt_installed *inst, const struct lks_apt_choice *reqs,
                    size_t n, struct lks_apt_closure *out);

/* How many installed packages (not replaced by one of chosen[0..n), the requested packages
 * and their closure) a chosen package Breaks or Conflicts with, or that Break or Conflict with
 * a chosen one: apt would upgrade or remove them, which the closure does not follow. The
 * first is described in buf ("'a' 2.0 and the installed 'b' 1.0 break each other"). */
size_t lks_apt_closure_clashes(struct lks_ctx *ctx, const struct lks_apt_installed *inst,
                               const struct lks_apt_pkg *const *chosen, size_t n, char *buf,
                               size_t size);
