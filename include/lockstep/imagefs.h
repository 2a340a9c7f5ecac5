/* Reading a few files out of a container image without extracting it.
 *
 * The image's layers are streamed through the archive reader (archive.h) bottom to top, and a
 * small view of the merged file system is kept in memory: the content of the files asked for,
 * every symlink, and nothing else. OCI whiteouts (".wh.NAME") and opaque whiteouts
 * (".wh..wh..opq") hide what lower layers put there, as overlayfs would; a layer's whiteouts
 * never hide its own entries, and later layers win. Paths asked for are resolved through the
 * image's own symlinks the way a process inside the container sees them: absolute targets
 * start at the image root and ".." stops at the root, so nothing outside the image is ever
 * named; at most LKS_IMAGEFS_MAX_LINKS links are followed (then -LKS_E_UNSAFE). When a link
 * leads to a file the scan did not keep, the layers are read again with that path added (at
 * most LKS_IMAGEFS_MAX_ROUNDS times). Entries whose path has a ".." component fail with
 * -LKS_E_UNSAFE; contents larger than the per-file cap, or more than the total cap in all,
 * fail with -LKS_E_TOOBIG naming the file.
 *
 * Requested paths are absolute. The last component may be a glob (fnmatch, '*' does not
 * match a leading '.'), e.g. "/etc/apt/sources.list.d/ *"; the directory part must be
 * literal (-LKS_E_INVAL otherwise).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "lockstep/archive.h"

struct lks_ctx;
struct lks_buf;

#define LKS_IMAGEFS_FILE_MAX ((size_t)1 << 20)   /* default per-file cap */
#define LKS_IMAGEFS_TOTAL_MAX ((size_t)32 << 20) /* default cap on all contents kept */
#define LKS_IMAGEFS_MAX_LINKS 40
#define LKS_IMAGEFS_MAX_ROUNDS 4
#define LKS_IMAGEFS_MAX_REQS 64
#define LKS_IMAGEFS_MAX_NODES 2000000 /* symlinks + kept files */

/* One thing to read: a path or last-component glob. stat_only: only whether it exists (and
 * its size), not its content (e.g. "/usr/bin/dpkg"). */
struct lks_imagefs_req {
	const char *path;
	bool stat_only;
};

/* A file found. */
struct lks_imagefs_file {
	char *path;     /* the path asked for, or what a glob matched: "/etc/apt/sources.list" */
	char *resolved; /* where the content is after following symlinks (== path when none) */
	char *data;     /* NUL-terminated content; NULL for a stat_only request */
	size_t len;     /* size of the content */
	uint32_t mode;  /* permission bits */
};

struct lks_imagefs {
	struct lks_imagefs_file *v; /* sorted by path, no duplicates */
	size_t n;
	char *image_digest;    /* digest the image was read by (index or manifest), may be NULL */
	char *manifest_digest; /* the platform manifest the layers came from, may be NULL */
	char *os, *arch, *variant; /* the platform read ("linux", "arm64", "v8"); variant may be
	                            * NULL; all NULL when unknown (in-memory sources) */
	bool from_cache;           /* answered from the cache without reading a layer */
};

void lks_imagefs_init(struct lks_imagefs *fs);
void lks_imagefs_free(struct lks_imagefs *fs);
/* The file at exactly `path` ("/etc/os-release"), or NULL. */
const struct lks_imagefs_file *lks_imagefs_get(const struct lks_imagefs *fs, const char *path);

/* Cache hooks with the signatures of lks_cache_get / lks_cache_put (cache.h), so the caller
 * passes those (common/ cannot reach the cache itself). */
typedef int (*lks_imagefs_cache_get_fn)(struct lks_ctx *ctx, const char *ns, const char *key,
                                        struct lks_buf *val, time_t *stored_at);
typedef int (*lks_imagefs_cache_put_fn)(struct lks_ctx *ctx, const char *ns, const char *key,
                                        const void *val, size_t len);

struct lks_imagefs_opts {
	size_t file_max;                    /* 0: LKS_IMAGEFS_FILE_MAX */
	size_t total_max;                   /* 0: LKS_IMAGEFS_TOTAL_MAX */
	lks_imagefs_cache_get_fn cache_get; /* both NULL: no cache */
	lks_imagefs_cache_put_fn cache_put;
};

/* Read `reqs` from `image` ("host/name[:tag]@sha256:..."; a tag alone is resolved through
 * the registry and then not cached) for `platform` ("linux/arm64/v8"; NULL: the only
 * platform of a single-platform image, else linux/<this machine's architecture>).
 * Layers are fetched through the registry client, each verified against its digest
 * (-LKS_E_DIGEST). With cache hooks and a digest in the reference, the result is cached under
 * (digest, platform, requests, caps), so a warm run touches no network (and works with
 * ctx->offline). out is initialised by this call and left empty on failure.
 * Errors: those of the registry client, -LKS_E_NOTFOUND for a platform the image lacks,
 * -LKS_E_UNSUPPORTED for a non-tar layer, and the scan errors above. */
int lks_imagefs_read(struct lks_ctx *ctx, const char *image, const char *platform,
                     const struct lks_imagefs_req *reqs, size_t n,
                     const struct lks_imagefs_opts *opts, struct lks_imagefs *out);

/* ---- per-run memo ----
 * A run that reads different files out of the same base images (apt's configuration, dpkg's
 * status for --apt-closure, the Python interpreter) registers every path its readers need
 * first (lks_imagefs_memo_want) and sets ctx->imagefs_memo. Then the first read of a platform
 * manifest streams its layers once for the union of the registered paths and its own, and the
 * later reads of that manifest (by any reference or platform naming it) are answered from
 * memory, each with exactly what its own read would have returned. A read the memo cannot
 * answer exactly (a path not registered, a smaller cap, an error) reads the image as without
 * a memo. The cache is consulted first, as always. */
struct lks_imagefs_memo *lks_imagefs_memo_new(void);
void lks_imagefs_memo_free(struct lks_imagefs_memo *m);
/* Paths some reader of the run will ask for, with that reader's caps (NULL: the defaults). */
int lks_imagefs_memo_want(struct lks_imagefs_memo *m, const struct lks_imagefs_req *reqs, size_t n,
                          const struct lks_imagefs_opts *caps);

/* Lower level, for other image sources, tests and fuzzing: the caller supplies the layers. */
struct lks_imagefs_scan;
struct lks_imagefs_source {
	size_t n_layers;
	/* Stream layer i (0 = bottom) into scan with lks_imagefs_scan_layer or _mem. */
	int (*layer)(struct lks_ctx *ctx, void *opaque, size_t i, struct lks_imagefs_scan *scan);
	void *opaque;
};
/* Feed one layer (a tar, compressed or not) to the scan. `what` names it in messages
 * (e.g. its digest). */
int lks_imagefs_scan_layer(struct lks_imagefs_scan *scan, const char *what, lks_archive_read_fn fn,
                           void *opaque);
int lks_imagefs_scan_layer_mem(struct lks_imagefs_scan *scan, const char *what, const void *p,
                               size_t n);
/* Read reqs from the layers of src; out is initialised and filled (platform fields NULL). */
int lks_imagefs_read_source(struct lks_ctx *ctx, const struct lks_imagefs_source *src,
                            const struct lks_imagefs_req *reqs, size_t n,
                            const struct lks_imagefs_opts *opts, struct lks_imagefs *out);

/* Normalise a path in place: no leading, trailing or doubled '/', no "." components. ".."
 * fails with -LKS_E_UNSAFE unless clamp, which applies it the way the kernel does inside a
 * root (stopping at the root). */
int lks_imagefs_norm_path(char *p, bool clamp);

/* Serialise a result (the cache format: versioned, native byte order) / read it back into a
 * freshly initialised fs (-LKS_E_VERSION, -LKS_E_PARSE). */
int lks_imagefs_save(const struct lks_imagefs *fs, struct lks_buf *out);
int lks_imagefs_restore(struct lks_ctx *ctx, const void *p, size_t n, struct lks_imagefs *fs);
