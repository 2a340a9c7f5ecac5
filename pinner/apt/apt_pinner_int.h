/* Shared by the apt pinner's files: apt_pinner.c (load, check), apt_pinner_pin.c (pin),
 * apt_pinner_latest.c (update, outdated), apt_pinner_closure.c; not public API. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "pinner/apt/apt_cmd.h"
#include "lockstep/buf.h"
#include "pinner/apt/apt_files.h"
#include "pinner/apt/apt_run.h"

struct apt_env;
struct apt_env_pool;
struct lks_apt_choice;
struct lks_apt_rewrite_result;
struct lks_ctx;
struct lks_lock;
struct lks_lock_apt;
struct lks_lock_image;
struct lks_findings;
struct lks_workspace;
struct lks_dockerfile;

/* One Dockerfile as the workspace has it now. */
struct apt_pinner_file {
	const char *path;
	struct lks_buf data;
	struct lks_dockerfile *df;
	struct apt_run run;
};

int apt_pinner_file_load(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                         struct apt_pinner_file *f);
void apt_pinner_file_free(struct apt_pinner_file *f);
/* Warnings for shell expansions, patterns and local .debs (nothing for other words). */
int apt_pinner_report_unpinnable(const struct apt_pinner_file *f, const struct lks_apt_word *w,
                                 size_t line, struct lks_findings *out);
/* lks_apt_cmd_scan of a unit; a command that cannot be lexed becomes a warning and no
 * commands. cmds is initialised by this call. */
int apt_pinner_scan_unit(struct lks_ctx *ctx, const struct apt_pinner_file *f,
                         const struct apt_run_unit *u, struct lks_apt_cmds *cmds,
                         struct lks_findings *out);

/* The base image of one stage, as pinned by the image pinner. */
struct apt_pinner_stage {
	char *name;                       /* AS name, lowercased, or NULL */
	char *base;                       /* reference with digest, NULL when none */
	char *platform;                   /* FROM --platform when literal, else NULL */
	const struct lks_lock_image *img; /* the lock entry of its FROM (platforms) */
	size_t line;                      /* of the FROM that named the image */
	bool scratch;                     /* FROM scratch (or a stage FROM scratch): no apt */
};

struct apt_pinner_stages {
	struct apt_pinner_stage *v;
	size_t *parent; /* per stage: the earlier stage it is FROM, SIZE_MAX for an image */
	size_t n;
	struct apt_files files; /* apt files the Dockerfile's own instructions add */
};

int apt_pinner_stages_make(struct lks_ctx *ctx, const struct apt_pinner_file *f,
                           struct lks_lock *lock, struct apt_pinner_stages *s);
void apt_pinner_stages_free(struct apt_pinner_stages *s);
/* The environment a unit's apt sees: its stage's base image (pinned, s->base and s->img set)
 * with the apt files the stage (and those it is FROM) added before it. Owned by the pool. */
int apt_pinner_unit_env(struct lks_ctx *ctx, struct apt_env_pool *pool, const char *path,
                        const struct apt_pinner_stages *st, const struct apt_run_unit *u,
                        const char *const *extra, struct apt_env **env);

/* The resolution of one RUN unit, per platform of its stage's environment. */
struct apt_pinner_unit {
	struct lks_apt_rewrite_result *res; /* per platform */
	size_t nplat;
};

int apt_pinner_resolve_unit(struct lks_ctx *ctx, const struct apt_env *env,
                            const struct apt_run_unit *u, struct apt_pinner_unit *p);
void apt_pinner_unit_free(struct apt_pinner_unit *p);

/* The lock entry for (file, RUN line, package, architecture), or NULL. */
const struct lks_lock_apt *apt_pinner_lock_find(const struct lks_lock *lock, const char *file,
                                                long line, const char *package, const char *arch);
/* When lockstep first saw the chosen version in its archive: the Date of the Release file it
 * was first seen in (now when the Release has none), kept in the cache (lks_cache_seen). A
 * cache that cannot record it answers that Release's Date. */
time_t apt_pinner_first_seen(struct lks_ctx *ctx, const struct lks_apt_choice *c);

/* Architectures named by NAME:ARCH words of the run's files (their indexes are loaded too). */
#define APT_PINNER_MAX_EXTRA 8
struct apt_pinner_extra {
	char *v[APT_PINNER_MAX_EXTRA + 1]; /* NULL-terminated */
	size_t n;
};

int apt_pinner_extra_scan(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                          struct apt_pinner_extra *x);
void apt_pinner_extra_free(struct apt_pinner_extra *x);

/* What update does with one pinned word (pinner/apt/apt_pinner_latest.c). */
struct apt_pinner_move {
	bool move;          /* rewrite the word to the candidate */
	char word[600];     /* move: the new word, NAME[:ARCH]=CANDIDATE */
	char previous[256]; /* move: the version it had */
	time_t published;   /* move: when the candidate was first seen */
};

struct lks_update_opts;
/* Update mode: a pinned word selected by lks_update_verdict moves to apt's candidate when the
 * candidate is newer than its version (or that version has vanished from the archive) and was
 * first seen before the cooldown (a warning "apt-cooldown" says what was kept). where[] is
 * the Dockerfile and the base image, for messages. u may be NULL (pin: never moves). */
int apt_pinner_decide(struct lks_ctx *ctx, const struct lks_update_opts *u,
                      const char *const where[2], size_t line, const struct apt_env *env,
                      const struct apt_pinner_unit *up, size_t k, struct lks_findings *out,
                      struct apt_pinner_move *m);

/* The lock entry of a choice for (path, RUN line) under the stage's base image; e is
 * initialised by this call (free it with lks_lock_apt_free). */
int apt_pinner_lock_entry(struct lks_ctx *ctx, const struct lks_lock *lock, const char *path,
                          size_t line, const char *image, const struct lks_apt_choice *c,
                          struct lks_lock_apt *e);

/* --apt-closure (pinner/apt/apt_pinner_closure.c). Whether the lock records a closure for file (pin
 * and update keep recording it then, even without the option). */
bool apt_pinner_lock_has_closure(const struct lks_lock *lock, const char *file);

/* What the RUN lines of a file installed so far, per stage and platform: a later RUN of the
 * stage (or of a stage FROM it) finds them installed. */
struct apt_pinner_installs {
	struct apt_pinner_install {
		size_t stage;
		char *platform;
		char *name, *version, *arch, *provides, *multi_arch;
	} * v;
	size_t n;
};

void apt_pinner_installs_free(struct apt_pinner_installs *a);

struct apt_pinner_closure_in {
	const char *path;
	const struct apt_run_unit *u;
	const struct apt_env *env;
	const struct apt_pinner_unit *up;
	const bool *moved; /* per word: it moves to its candidate (update) */
	const struct apt_pinner_stages *st;
	struct apt_pinner_installs *done; /* read, then extended with this unit's packages */
};

/* The closure of a resolved unit (per platform) upserted into the lock with closure_of; a
 * warning when the command installs Recommends. */
int apt_pinner_closure_unit(struct lks_ctx *ctx, struct lks_lock *lock,
                            const struct apt_pinner_closure_in *in, struct lks_findings *out);
