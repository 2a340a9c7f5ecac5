/* Internal to pinner/dockerfile: image references collected as written (df_images.c) and
 * evaluated per target platform (df_platform.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "common/df_int.h"
#include "pinner/dockerfile/df_images.h"

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
