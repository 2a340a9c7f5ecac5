/* ARG expansion for image references (internal to pinner/). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/dockerfile.h"
#include "pinner/dockerfile/df_images.h" /* enum lks_df_block */

struct lks_buf;

/* A global ARG: value NULL and blocked_by NULL means declared without a default. */
struct df_arg {
	char *name;
	char *value;      /* expanded default */
	char *blocked_by; /* the default needed an ARG without a value (or this ARG's name when its
	                   * own default cannot be expanded: see why) */
	enum lks_df_block why;
	bool
	    platform_dep; /* a platform ARG, or its default used one (it may differ per platform) */
};

struct df_args {
	struct df_arg *v;
	size_t n, cap;
};

struct df_expansion {
	char *value;       /* NULL when blocked */
	char *blocked_by;  /* ARG name (or the text, when the syntax is not supported) */
	enum lks_df_block why; /* what blocked it */
	bool own; /* the text itself could not be expanded (not an ARG it uses) */
	bool platform_dep; /* an ARG marked platform_dep was read: the value may differ per platform
	                    */
	char **used;       /* names referenced, in order, without duplicates */
	size_t nused, capused;
};

void df_args_free(struct df_args *a);
const struct df_arg *df_args_find(const struct df_args *a, const char *name, size_t n);
/* Declare name; raw (may be NULL: no default) is expanded with the ARGs declared so far. */
int df_args_set(struct df_args *a, const char *name, size_t nn, const char *raw, size_t rn,
                char esc);
/* Expand s[0..n); 0 with res filled (value or blocked_by), or -ENOMEM. */
int df_expand(const struct df_args *args, const char *s, size_t n, char esc,
              struct df_expansion *res);
void df_expansion_free(struct df_expansion *r);

/* Shell patterns (df_pattern.c): v with the shortest (greedy: longest) prefix or suffix
 * matching pat removed; v with the first (all: every) longest match of pat replaced by rep.
 * Appended to out; -LKS_E_TOOBIG for values or patterns past the caps, -ENOMEM. */
int df_trim(const char *v, const char *pat, bool prefix, bool greedy, struct lks_buf *out);
int df_replace(const char *v, const char *pat, const char *rep, bool all, struct lks_buf *out);
