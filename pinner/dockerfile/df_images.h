/* Image references of a parsed Dockerfile (pinner/dockerfile/df_images.c): FROM, COPY/ADD
 * --from, RUN --mount from=, with global ARGs expanded as BuildKit does. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/dockerfile.h"

struct lks_ctx;

enum lks_df_image_kind {
	LKS_DF_IMG_FROM,       /* FROM <image> */
	LKS_DF_IMG_COPY_FROM,  /* COPY/ADD --from=<image> */
	LKS_DF_IMG_MOUNT_FROM, /* RUN --mount=...,from=<image> */
};

struct lks_df_image {
	enum lks_df_image_kind kind;
	size_t line;      /* line where the reference text starts */
	size_t instr;     /* index in df->instrs */
	char *written;    /* the reference as written (logical text, quotes kept) */
	size_t off, len;  /* its range in the original buffer */
	bool contiguous;  /* false when it spans a line continuation */
	char *expanded;   /* after ARG expansion and quote removal; NULL when blocked */
	char *blocked_by; /* the ARG without a value that blocked expansion, else NULL */
	char **args_used; /* names of the ARGs referenced (NULL-terminated, may be empty) */
	size_t nargs_used;
	int stage;        /* index of the stage it appears in (FROM: the stage it starts) */
	char *stage_name; /* that stage's AS name (lowercased) or NULL */
	char *platform;   /* FROM --platform value as written, or NULL */
	bool has_digest;  /* the expanded (or, if blocked, written) text has @sha256: */
	bool onbuild;     /* inside an ONBUILD trigger */
	bool valid;       /* expanded text uses only reference characters [A-Za-z0-9._:/@-]
	                     with at most one '@' (true when blocked: unknown) */
};

/* All image references in file order. Global ARGs (before the first FROM) and their defaults
 * expand FROM values and --from values ($V, ${V}, ${V:-d}, ${V-d}, ${V:+x}, ${V+x}); a stage
 * name (case-insensitive), a stage index and "scratch" are not images. An ARG declared
 * without a default blocks a plain $V (expanded = NULL, blocked_by = "V"); ${V:-d} then gives d;
 * an undeclared name expands to "" (as BuildKit). The platform ARGs (TARGETARCH, BUILDPLATFORM
 * ...) count as declared without default. Other forms (${V#p}, ${V%p}, ${V/a/b}) are not
 * expanded: blocked_by is then the reference text. --from values see only the global ARGs, not ARGs
 * declared inside the stage. *out (array of *n, possibly NULL when *n is 0) is freed with
 * lks_df_images_free. */
int lks_dockerfile_images(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                          struct lks_df_image **out, size_t *n);
void lks_df_images_free(struct lks_df_image *imgs, size_t n);
