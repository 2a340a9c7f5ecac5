/* ARG expansion for image references (internal to pinner/). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/dockerfile.h"

/* A global ARG: value NULL and blocked_by NULL means declared without a default. */
struct df_arg {
	char *name;
	char *value;      /* expanded default */
	char *blocked_by; /* the default needed an ARG without a value (or this ARG's name when its
	                   * own default cannot be expanded: see why) */
	enum lks_df_block why;
};

struct df_args {
	struct df_arg *v;
	size_t n, cap;
};

struct df_expansion {
	char *value;      /* NULL when blocked */
	char *blocked_by; /* ARG name (or the text, when the syntax is not supported) */
	enum lks_df_block why;
	bool own;    /* the text itself could not be expanded (not an ARG it uses) */
	char **used; /* names referenced, in order, without duplicates */
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
