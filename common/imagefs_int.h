/* Internals shared by common/imagefs*.c (not public API). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lockstep/imagefs.h"

/* A path (or last-component glob) the scan keeps: dir "etc/apt" ("" for the root). */
struct ifs_pat {
	char *dir;
	char *base;
	bool glob;
	bool stat_only;
};

enum ifs_type {
	IFS_DEAD = 0,
	IFS_FILE = 'f', /* content kept */
	IFS_STAT = 's', /* exists, content not kept (stat_only) */
	IFS_LINK = 'l',
};

/* What the merged file system holds at a path (only kept files and symlinks). */
struct ifs_node {
	char *path; /* normalised, relative to the root: "etc/apt/sources.list" */
	char *link; /* symlink target as stored */
	char *data;
	size_t len;
	uint32_t mode;
	uint32_t layer; /* the layer that put it there */
	uint32_t next;  /* hash chain: index + 1, 0 ends */
	char type;      /* enum ifs_type */
};

struct lks_imagefs_scan {
	struct lks_ctx *ctx;
	const struct ifs_pat *pats;
	size_t n_pats;
	struct ifs_node *nodes;
	size_t n_nodes, cap_nodes, n_live;
	uint32_t *buckets;
	size_t n_buckets;
	uint32_t layer;
	size_t file_max, total_max, total;
	char **kill; /* this layer: lower nodes strictly below these paths go away */
	size_t n_kill, cap_kill;
	char **need; /* hardlink targets to keep in the next round */
	size_t n_need, cap_need;
};

int ifs_scan_init(struct lks_imagefs_scan *s, struct lks_ctx *ctx, const struct ifs_pat *pats,
                  size_t n_pats, const struct lks_imagefs_opts *opts);
void ifs_scan_free(struct lks_imagefs_scan *s);
/* Start layer i (0 = bottom); layers are fed in order. */
void ifs_scan_begin_layer(struct lks_imagefs_scan *s, uint32_t i);
/* The live node at a normalised path, or NULL. */
struct ifs_node *ifs_lookup(const struct lks_imagefs_scan *s, const char *path);
/* The parent directory part of a normalised path, as a length ("a/b/c" -> 3). */
size_t ifs_dirlen(const char *p);

/* One read of an image's layers: where they come from, what to keep, the caps. */
struct ifs_read {
	const struct lks_imagefs_source *src;
	const struct lks_imagefs_req *reqs;
	size_t n;
	const struct lks_imagefs_opts *o;
};

/* imagefs_memo.c, for lks_imagefs_read with ctx->imagefs_memo set: out answered from the memo
 * (0), the memo cannot answer exactly (1: read the image), or a negative error. manifest is
 * the digest of the platform manifest the layers belong to. */
int ifs_memo_read(struct lks_ctx *ctx, const char *manifest, const struct ifs_read *rd,
                  struct lks_imagefs *out);
