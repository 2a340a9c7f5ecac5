/* Explaining differences: which build step made a layer, and known causes of
 * non-determinism with a fix hint for each. */
#pragma once
#include <stddef.h>
#include <jansson.h>

struct lks_ctx;

struct lks_noise {
	const char *glob;    /* path glob (see lks_norm_glob_match) */
	const char *profile; /* noise profile that ignores it */
	const char *cause;
	const char *hint;
};

/* The curated table of known noise. */
const struct lks_noise *lks_explain_table(size_t *n);
/* The known cause for a path, NULL when none. */
const struct lks_noise *lks_explain_path(const char *path);

/* History entry of layer `layer` (0-based) in an image config: empty_layer entries are
 * skipped. Returns the history index or -1 when the history does not cover the layer;
 * *created_by points into config (may be NULL). */
int lks_explain_history(const json_t *config, size_t layer, const char **created_by);

struct lks_dockerfile_step {
	int line;      /* 1-based line of the instruction */
	char *keyword; /* upper case: "RUN", "COPY" ... */
	char *text;    /* the instruction with continuation lines joined */
};

/* Read the instructions of a Dockerfile (continuations joined, comments skipped). */
int lks_explain_dockerfile_load(struct lks_ctx *ctx, const char *path,
                                struct lks_dockerfile_step **steps, size_t *n);
void lks_explain_dockerfile_free(struct lks_dockerfile_step *steps, size_t n);
/* The step whose instruction produced a history created_by, searching from *from on (steps
 * are matched in order; *from advances past a match). -1 when none matches. */
int lks_explain_dockerfile_match(const struct lks_dockerfile_step *steps, size_t n,
                                 const char *created_by, size_t *from);
