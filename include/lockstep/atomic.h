/* Atomic file writes: temp file in the same directory, fsync, rename; the temp file is
 * unlinked on failure so nothing is ever half-written (systemd write_string_file_atomic). */
#pragma once
#include <stddef.h>
#include <sys/types.h>

struct lks_ctx;
struct lks_buf;

/* Write `len` bytes to `path` atomically. `mode` is used for a new file; an existing file keeps
 * its mode. Returns 0 or a negative error with a detail in ctx. */
int lks_write_file_atomic(struct lks_ctx *ctx, const char *path, const void *data, size_t len,
			  mode_t mode);

/* Read path into b (honouring b->max) when it exists. Returns 1 when read, 0 when there is no
 * such file (b left empty), or a negative error naming `what` and the path. */
int lks_read_file_optional(struct lks_ctx *ctx, const char *path, const char *what,
			   struct lks_buf *b);
