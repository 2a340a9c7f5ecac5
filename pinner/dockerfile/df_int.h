/* Internal helpers shared by the Dockerfile parser files (not public API). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lockstep/dockerfile.h"

/* A logical line: text plus, for each byte, its offset in the original buffer. */
struct df_text {
	char *s;
	size_t *pos;
	size_t len, cap;
};

void df_text_free(struct df_text *t);
/* Append data[a..b) keeping offsets; -LKS_E_TOOBIG past LKS_DF_MAX_LINE, -ENOMEM. */
int df_text_append(struct df_text *t, const char *data, size_t a, size_t b);

/* Grow *p (elements of sz bytes) so that it holds at least n + 1 elements. */
int df_grow(void *p, size_t *cap, size_t n, size_t sz);

bool df_isspace(char c);

/* Fill w from t[a..b): text, positions, range, contiguity and the unquoted value. */
int df_word_make(struct lks_df_word *w, const struct df_text *t, size_t a, size_t b, char esc);
void df_word_free(struct lks_df_word *w);
void df_words_free(struct lks_df_word *w, size_t n);
void df_flags_free(struct lks_df_flag *f, size_t n);

/* Remove quotes and escapes (no variable expansion). Returns NULL on ENOMEM. */
char *df_unquote(const char *s, size_t n, char esc);

/* Split t[a..b) into blank-separated words, quotes keeping words together; with ops, shell
 * operators (&& || ; | & ( )) become words of their own with op set. */
int df_split_words(const struct df_text *t, size_t a, size_t b, char esc, bool ops,
                   struct lks_df_word **out, size_t *n);
/* The same with at most max words (-LKS_E_TOOBIG beyond). */
int df_split_words_max(const struct df_text *t, size_t a, size_t b, char esc, bool ops, size_t max,
                       struct lks_df_word **out, size_t *n);
/* Parse t[a..b) as a JSON array of strings. Returns 1 (JSON form, *out filled), 0 (not JSON),
 * or a negative error (-LKS_E_TOOBIG past max strings). */
int df_parse_json(const struct df_text *t, size_t a, size_t b, size_t max, struct lks_df_word **out,
                  size_t *n);
/* Leading --flags of t[a..b) as BuildKit's extractBuilderFlags; *rest is where the
 * remaining arguments start. */
int df_split_flags(const struct df_text *t, size_t a, size_t b, struct lks_df_flag **out, size_t *n,
                   size_t *rest);

/* Names (borrowed, matched without case) numbered 0, 1, ... in the order added
 * (df_names.c). */
struct df_names {
	uint32_t *slot; /* id + 1, 0 empty */
	size_t cap, n;
	const char **key; /* [id] */
};

/* The id of name, or -1. */
long df_names_find(const struct df_names *t, const char *name);
/* *id of name, added when new: 1 when it was there, 0 added, -ENOMEM. */
int df_names_add(struct df_names *t, const char *name, size_t *id);
void df_names_free(struct df_names *t);

/* ---- image references: collected as written (df_images.c), evaluated per platform
 * (df_platform.c) ---- */

struct lks_platforms;

/* A reference as written, before expansion. */
struct dfi_ref {
	enum lks_df_image_kind kind;
	const char *text; /* borrowed from the instruction: the flag or argument text */
	const size_t *pos;
	size_t a, b; /* the reference is text[a..b) */
	size_t instr;
	size_t stage;         /* the stage it belongs to (FROM: the stage it starts) */
	size_t known;         /* it may name stages [0, known) */
	const char *platform; /* FROM --platform value as written, or NULL */
	bool onbuild;
};

struct dfi_state {
	struct lks_ctx *ctx;
	const struct lks_dockerfile *df;
	const struct lks_df_instr **meta; /* the ARG instructions before the first FROM */
	size_t nmeta, capmeta;
	char **stages; /* lowercased AS names (NULL for unnamed stages) */
	size_t nstages, capstages;
	struct dfi_ref *refs;
	size_t nrefs, caprefs;
	size_t
	    *first_ref; /* [nstages + 1]: stage s has references [first_ref[s], first_ref[s+1]) */
	bool *variant;  /* [nstages]: a platform variant (see dfi_evaluate) */
	/* Stage names: the stages of name id g, ascending, are by_name[grp_start[g] ..
	 * grp_start[g + 1]) (a lookup per reference must not walk every stage). */
	struct df_names names;
	size_t *by_name, *grp_start;
	size_t instr;
	bool onbuild;
};

void dfi_state_free(struct dfi_state *st);
/* The last stage before `known` named v (case-insensitive), or -1. */
long dfi_stage_find(const struct dfi_state *st, const char *v, size_t known);

/* Evaluate the collected references on each platform (NULL: LKS_PLATFORMS_DEFAULT) and
 * build the public list (see lks_dockerfile_images_on; df_platform.c). */
int dfi_evaluate(struct dfi_state *st, const struct lks_platforms *platforms,
                 struct lks_df_image **out, size_t *n);
