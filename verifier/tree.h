/* Directory trees for `verify`: copying a build context to a second path, removing scratch
 * directories. Symlinks are never followed and mount points are never crossed. */
#pragma once

struct lks_ctx;

#define TREE_MAX_DEPTH 256
#define TREE_MAX_MOUNTS 1024 /* mounts tree_unmount detaches at most */

/* Copy the tree at src to dst (which must not exist): regular files, directories and
 * symlinks with their modes and times; other file types are skipped. An absolute symlink
 * that points inside src is re-pointed inside dst, as if the tree had been made at dst. */
int tree_copy(struct lks_ctx *ctx, const char *src, const char *dst);
/* rm -rf path (missing is fine). */
int tree_remove(struct lks_ctx *ctx, const char *path);
/* Detach every mount at or below path (a builder killed while it had its overlay storage
 * mounted leaves them), deepest first, so tree_remove can remove the tree. */
int tree_unmount(struct lks_ctx *ctx, const char *path);
