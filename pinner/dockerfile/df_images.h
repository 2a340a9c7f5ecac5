/* Image references of a parsed Dockerfile (pinner/dockerfile/df_images.c): FROM, COPY/ADD
 * --from, RUN --mount from=, with global ARGs expanded as BuildKit does. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lockstep/dockerfile.h"

struct lks_ctx;
struct lks_platforms;

enum lks_df_image_kind {
	LKS_DF_IMG_FROM,       /* FROM <image> */
	LKS_DF_IMG_COPY_FROM,  /* COPY/ADD --from=<image> */
	LKS_DF_IMG_MOUNT_FROM, /* RUN --mount=...,from=<image> */
};

/* Why a reference could not be expanded (lks_df_image.blocked_why). */
enum lks_df_block {
	LKS_DF_BLOCK_NO_DEFAULT, /* blocked_by: an ARG declared without a default */
	LKS_DF_BLOCK_SYNTAX,     /* a malformed substitution, or one BuildKit does not support
	                          * (an unclosed ${, ${V:#p}) */
	LKS_DF_BLOCK_TOO_LONG,   /* an expansion passes LKS_DF_MAX_LINE bytes, lockstep's cap */
	LKS_DF_BLOCK_TOO_DEEP,   /* ${...} nested deeper than LKS_DF_MAX_NESTING, lockstep's cap */
	LKS_DF_BLOCK_PATTERN,    /* ${V#p} ${V%p} ${V/p/r} past LKS_DF_MAX_PATTERN_VALUE or
	                          * LKS_DF_MAX_PATTERN_TOKENS, lockstep's caps */
};

struct lks_df_image {
	enum lks_df_image_kind kind;
	size_t line;      /* line where the reference text starts */
	size_t instr;     /* index in df->instrs */
	char *written;    /* the reference as written (logical text, quotes kept) */
	size_t off, len;  /* its range in the original buffer */
	bool contiguous;  /* false when it spans a line continuation */
	char *expanded;   /* after ARG expansion and quote removal: the same image on every
	                     platform it is evaluated on; NULL when blocked or per_platform */
	char *blocked_by; /* the ARG without a value that blocked expansion, else NULL */
	enum lks_df_block blocked_why; /* why, when blocked_by is set. Not LKS_DF_BLOCK_NO_DEFAULT:
	                                  blocked_by is the reference text, or the global ARG whose
	                                  default cannot be expanded */
	char *per_platform; /* different images on different platforms: "linux/amd64: a:amd64,
	                       linux/arm64: a:arm64"; else NULL */
	uint64_t platforms; /* bit i: an image (or blocked) on platform i of the list evaluated */
	char **args_used;   /* names of the ARGs referenced, not the platform ARGs (NULL-terminated,
	                       may be empty) */
	size_t nargs_used;
	int stage;        /* index of the stage it appears in (FROM: the stage it starts) */
	char *stage_name; /* that stage's AS name (lowercased) or NULL */
	char *platform;   /* FROM --platform value as written, or NULL */
	bool has_digest;  /* the expanded (or, if blocked, written) text has @sha256: */
	bool onbuild;     /* inside an ONBUILD trigger */
	bool valid;       /* expanded text uses only reference characters [A-Za-z0-9._:/@-]
	                     with at most one '@' (true when blocked: unknown) */
};

/* All image references in file order, evaluated as BuildKit would for each target platform
 * of `platforms` (NULL: LKS_PLATFORMS_DEFAULT, see platform.h).
 *
 * Expansion uses the global ARGs (before the first FROM) and their defaults, plus BuildKit's
 * platform ARGs, which need no declaration: TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT
 * of the target platform and BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT of the same one (a
 * native build, as BuildKit when only a target is given). Forms: $V ${V} ${V:-w} ${V-w}
 * ${V:+w} ${V+w} ${V:?w} ${V?w} ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}. An ARG
 * declared without a default blocks a plain $V, ${V#p}, ${V/p/r}, ${V?w} (expanded = NULL,
 * blocked_by = "V"); ${V:-d} then gives d and ${V:+x} nothing; an undeclared name expands to
 * "" (as BuildKit). --from values see only the global ARGs. A malformed substitution, and an
 * expansion past lockstep's caps (LKS_DF_MAX_LINE bytes, LKS_DF_MAX_NESTING levels, the pattern
 * caps), also block: blocked_why says which.
 *
 * A scratch, a stage index and a name of an earlier stage (case-insensitive) are not images.
 * A stage is a platform variant when a reference whose value depends on the platform names it
 * on some platform (of a fixed list of common ones, and `platforms`); on a platform, every
 * other stage is evaluated (any stage may be a build target), a variant only when an evaluated
 * stage names it there. A reference is listed when it is an image (or blocked) on at least one
 * platform where its stage is evaluated; one naming a stage on all of them is not listed.
 * *out (array of *n, possibly NULL when *n is 0) is freed with lks_df_images_free. */
int lks_dockerfile_images_on(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                             const struct lks_platforms *platforms, struct lks_df_image **out,
                             size_t *n);
/* lks_dockerfile_images_on with the default platforms. */
int lks_dockerfile_images(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                          struct lks_df_image **out, size_t *n);
void lks_df_images_free(struct lks_df_image *imgs, size_t n);
