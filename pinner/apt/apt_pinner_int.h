/* Shared by pinner/aptpin.c (load, check) and pinner/aptpin_pin.c (pin); not public API. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "lockstep/apt_cmd.h"
#include "lockstep/buf.h"
#include "aptfiles.h"
#include "aptrun.h"

struct aptenv;
struct aptenv_pool;
struct lks_apt_choice;
struct lks_apt_pin_result;
struct lks_ctx;
struct lks_lock;
struct lks_lock_apt;
struct lks_lock_image;
struct lks_findings;
struct lks_workspace;
struct lks_dockerfile;

/* One Dockerfile as the workspace has it now. */
struct aptpin_file {
	const char *path;
	struct lks_buf data;
	struct lks_dockerfile *df;
	struct aptrun run;
};

int aptpin_file_load(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                     struct aptpin_file *f);
void aptpin_file_free(struct aptpin_file *f);
/* Warnings for shell expansions, patterns and local .debs (nothing for other words). */
int aptpin_report_unpinnable(const struct aptpin_file *f, const struct lks_apt_word *w, size_t line,
                             struct lks_findings *out);
/* lks_apt_cmd_scan of a unit; a command that cannot be lexed becomes a warning and no
 * commands. cmds is initialised by this call. */
int aptpin_scan_unit(struct lks_ctx *ctx, const struct aptpin_file *f, const struct aptrun_unit *u,
                     struct lks_apt_cmds *cmds, struct lks_findings *out);

/* The base image of one stage, as pinned by the image pinner. */
struct aptpin_stage {
	char *name;                       /* AS name, lowercased, or NULL */
	char *base;                       /* reference with digest, NULL when none */
	char *platform;                   /* FROM --platform when literal, else NULL */
	const struct lks_lock_image *img; /* the lock entry of its FROM (platforms) */
	size_t line;                      /* of the FROM that named the image */
	bool scratch;                     /* FROM scratch (or a stage FROM scratch): no apt */
};

struct aptpin_stages {
	struct aptpin_stage *v;
	size_t *parent; /* per stage: the earlier stage it is FROM, SIZE_MAX for an image */
	size_t n;
	struct aptfiles files; /* apt files the Dockerfile's own instructions add */
};

int aptpin_stages_make(struct lks_ctx *ctx, const struct aptpin_file *f, struct lks_lock *lock,
                       struct aptpin_stages *s);
void aptpin_stages_free(struct aptpin_stages *s);
/* The environment a unit's apt sees: its stage's base image (pinned, s->base and s->img set)
 * with the apt files the stage (and those it is FROM) added before it. Owned by the pool. */
int aptpin_unit_env(struct lks_ctx *ctx, struct aptenv_pool *pool, const char *path,
                    const struct aptpin_stages *st, const struct aptrun_unit *u,
                    const char *const *extra, struct aptenv **env);

/* The resolution of one RUN unit, per platform of its stage's environment. */
struct aptpin_unit {
	struct lks_apt_pin_result *res; /* per platform */
	size_t nplat;
};

int aptpin_resolve_unit(struct lks_ctx *ctx, const struct aptenv *env, const struct aptrun_unit *u,
                        struct aptpin_unit *p);
void aptpin_unit_free(struct aptpin_unit *p);

/* The lock entry for (file, RUN line, package, architecture), or NULL. */
const struct lks_lock_apt *aptpin_lock_find(const struct lks_lock *lock, const char *file,
                                            long line, const char *package, const char *arch);
/* When lockstep first saw the chosen version in its archive: the Date of the Release file it
 * was first seen in (now when the Release has none), kept in the cache (lks_cache_seen). A
 * cache that cannot record it answers that Release's Date. */
time_t aptpin_first_seen(struct lks_ctx *ctx, const struct lks_apt_choice *c);

/* Architectures named by NAME:ARCH words of the run's files (their indexes are loaded too). */
#define APTPIN_MAX_EXTRA 8
struct aptpin_extra {
	char *v[APTPIN_MAX_EXTRA + 1]; /* NULL-terminated */
	size_t n;
};

int aptpin_extra_scan(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                      struct aptpin_extra *x);
void aptpin_extra_free(struct aptpin_extra *x);

/* What update does with one pinned word (pinner/aptpin_update.c). */
struct aptpin_move {
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
int aptpin_decide(struct lks_ctx *ctx, const struct lks_update_opts *u, const char *const where[2],
                  size_t line, const struct aptenv *env, const struct aptpin_unit *up, size_t k,
                  struct lks_findings *out, struct aptpin_move *m);

/* The lock entry of a choice for (path, RUN line) under the stage's base image; e is
 * initialised by this call (free it with lks_lock_apt_free). */
int aptpin_lock_entry(struct lks_ctx *ctx, const struct lks_lock *lock, const char *path,
                      size_t line, const char *image, const struct lks_apt_choice *c,
                      struct lks_lock_apt *e);

/* --apt-closure (pinner/aptpin_closure.c). Whether the lock records a closure for file (pin
 * and update keep recording it then, even without the option). */
bool aptpin_lock_has_closure(const struct lks_lock *lock, const char *file);

/* What the RUN lines of a file installed so far, per stage and platform: a later RUN of the
 * stage (or of a stage FROM it) finds them installed. */
struct aptpin_installs {
	struct aptpin_install {
		size_t stage;
		char *platform;
		char *name, *version, *arch, *provides, *multi_arch;
	} *v;
	size_t n;
};

void aptpin_installs_free(struct aptpin_installs *a);

struct aptpin_closure_in {
	const char *path;
	const struct aptrun_unit *u;
	const struct aptenv *env;
	const struct aptpin_unit *up;
	const bool *moved; /* per word: it moves to its candidate (update) */
	const struct aptpin_stages *st;
	struct aptpin_installs *done; /* read, then extended with this unit's packages */
};

/* The closure of a resolved unit (per platform) upserted into the lock with closure_of; a
 * warning when the command installs Recommends. */
int aptpin_closure_unit(struct lks_ctx *ctx, struct lks_lock *lock,
                        const struct aptpin_closure_in *in, struct lks_findings *out);
