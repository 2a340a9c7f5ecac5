/* Looking inside differing files (--deep): the byte-level cause of a content difference.
 *
 * Recognises compiled Python (.pyc header: source mtime and size, or hash-based), gzip
 * (header fields vs payload), archives libarchive reads (tar, zip/wheel/jar: member names and
 * hashes), and text (first differing line). Inputs are capped by the caller.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;
struct lks_buf;

#define LKS_DEEP_MAX_FILE ((size_t)2 << 20)  /* bytes captured per side for --deep */
#define LKS_DEEP_MAX_FILES 16                /* files looked into per layer */
#define LKS_TEXT_MAX_FILE ((size_t)64 << 10) /* small text files kept for the HTML diff */

/* Append a one-line explanation of how a and b differ to out (nothing when no format is
 * recognised). 0 or a negative error (only allocation failures; bad inputs are described). */
int lks_deep_explain(struct lks_ctx *ctx, const char *path, const void *a, size_t na, const void *b,
                     size_t nb, struct lks_buf *out);
/* True when the bytes look like UTF-8/ASCII text (no NUL, valid sequences). */
bool lks_deep_is_text(const void *p, size_t n);
