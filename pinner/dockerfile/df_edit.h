/* Lossless rewriting of a Dockerfile (pinner/dockerfile/df_edit.c): byte edits applied to the
 * original buffer, so bytes outside the edits never change; and the edit that pins an image
 * reference to a digest. */
#pragma once
#include <stddef.h>
#include "pinner/dockerfile/df_images.h"

struct lks_buf;
struct lks_ctx;

struct lks_edit {
	size_t off, len;  /* replace data[off..off+len) */
	const char *text; /* with this NUL-terminated text (not owned) */
};

/* out (initialised by the caller) receives data with the edits applied. Edits may be in any
 * order; two edits overlapping or starting at the same offset, or reaching past len, give
 * -LKS_E_INVAL. With n == 0 the output is byte-identical to the input. */
int lks_edits_apply(struct lks_ctx *ctx, const char *data, size_t len, const struct lks_edit *e,
                    size_t n, struct lks_buf *out);

/* The edit that pins img to digest ("sha256:<64 hex>"): appends "@<digest>" to the reference
 * as written (before a closing quote), or replaces the digest already written. *text receives
 * the replacement text, owned by the caller and referenced by out->text. Returns
 * -LKS_E_INVAL for a malformed digest and -LKS_E_UNSUPPORTED when the existing digest comes
 * from an ARG value rather than the reference text, the reference is not valid, or it names
 * different images (or a stage) on different platforms. */
int lks_df_pin_edit(struct lks_ctx *ctx, const char *data, const struct lks_df_image *img,
                    const char *digest, struct lks_edit *out, char **text);
