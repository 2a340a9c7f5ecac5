/* Internal helpers shared by the Dockerfile parser files (not public API). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lockstep/dockerfile.h"
#include "lockstep/ptext.h"

/* A logical line is an lks_ptext: text plus, for each byte, its offset in the original
 * buffer. Append data[a..b) keeping offsets; -LKS_E_TOOBIG past LKS_DF_MAX_LINE, -ENOMEM. */
int df_text_append(struct lks_ptext *t, const char *data, size_t a, size_t b);

/* Grow *p (elements of sz bytes) so that it holds at least n + 1 elements. */
int df_grow(void *p, size_t *cap, size_t n, size_t sz);

bool df_isspace(char c);

/* Fill w from t[a..b): text, positions, range, contiguity and the unquoted value. */
int df_word_make(struct lks_df_word *w, const struct lks_ptext *t, size_t a, size_t b, char esc);
void df_word_free(struct lks_df_word *w);
void df_words_free(struct lks_df_word *w, size_t n);
void df_flags_free(struct lks_df_flag *f, size_t n);

/* Remove quotes and escapes (no variable expansion). Returns NULL on ENOMEM. */
char *df_unquote(const char *s, size_t n, char esc);

/* Split t[a..b) into blank-separated words, quotes keeping words together; with ops, shell
 * operators (&& || ; | & ( )) become words of their own with op set. */
int df_split_words(const struct lks_ptext *t, size_t a, size_t b, char esc, bool ops,
                   struct lks_df_word **out, size_t *n);
/* The same with at most max words (-LKS_E_TOOBIG beyond). */
int df_split_words_max(const struct lks_ptext *t, size_t a, size_t b, char esc, bool ops,
                       size_t max, struct lks_df_word **out, size_t *n);
/* Parse t[a..b) as a JSON array of strings. Returns 1 (JSON form, *out filled), 0 (not JSON),
 * or a negative error (-LKS_E_TOOBIG past max strings). */
int df_parse_json(const struct lks_ptext *t, size_t a, size_t b, size_t max,
                  struct lks_df_word **out, size_t *n);
/* Leading --flags of t[a..b) as BuildKit's extractBuilderFlags; *rest is where the
 * remaining arguments start. */
int df_split_flags(const struct lks_ptext *t, size_t a, size_t b, struct lks_df_flag **out,
                   size_t *n, size_t *rest);

/* Names (borrowed, matched without case) numbered 0, 1, ... in the order added
 * (df_names.c): the parser's stage names, and the image references' (pinner/dockerfile). */
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
