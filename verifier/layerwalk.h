/* Layer walker: stream one layer blob and index its entries, never extracting anything.
 *
 * The blob is verified against its digest as it streams (see image.h); each regular file is
 * hashed with sha256 as its data passes. The index maps the normalised path to metadata and
 * the content hash. Hostile layers fail with a clear error: "..", paths that go through a
 * symlink of the same layer, more than max_entries entries, and the archive caps of
 * lks_archive_limits (sizes, total, compression ratio).
 */
#pragma once
#include "lockstep/arena.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "lockstep/archive.h"
#include "lockstep/buf.h"

struct lks_ctx;
struct lks_image_src;
struct lks_image_layer;

#define LKS_LAYER_MAX_ENTRIES 1000000u
#define LKS_LAYER_MAX_XATTRS 4000000u /* extended attributes in one layer (4096 per entry) */
#define LKS_LAYER_XATTR_INLINE 512    /* bytes of "name=hash" lines kept as they are */

struct lks_fentry {
	/* Strings (path, names, link, xattrs) are owned by the index. */
	char *path;    /* normalised: no leading "./" or "/", no trailing "/"; raw bytes */
	char type;     /* 'f' 'd' 'l' 'c' 'b' 'p', 'W' whiteout, 'O' opaque whiteout, '?' */
	bool hardlink; /* stored as a hardlink; type/size/hash are the target's */
	bool atime_set, ctime_set;
	mode_t mode; /* permission bits only (S_IFMT stripped) */
	int64_t uid, gid;
	char *uname, *gname; /* NULL when absent */
	int64_t size;
	struct timespec mtime, atime, ctime;
	char *link; /* symlink target or hardlink target (normalised), NULL otherwise */
	dev_t rdev;
	char *xattrs;      /* "name=sha256hex\n" lines sorted by name, NULL when none; past
	                    * LKS_LAYER_XATTR_INLINE bytes "N xattrs sha256:<digest of the
	                    * lines>\n" */
	uint8_t hash[32];  /* content sha256 for regular files */
	uint32_t seq;      /* position in the layer (tar order) */
	const char *group; /* hardlink group key (smallest path of the group), NULL when none */
};

struct lks_layer_index {
	struct lks_fentry *v;
	size_t n, cap;
	uint64_t *tab; /* open addressing: hash << 32 | index + 1, 0 = empty */
	size_t tab_cap;
	char filter[32];        /* compression detected ("gzip", "zstd", "none") */
	unsigned char head[16]; /* first bytes of the compressed blob */
	size_t head_len;
	uint64_t blob_bytes; /* compressed bytes read */
	uint64_t data_bytes; /* uncompressed file data hashed */
	struct lks_arena arena; /* owns every string of the entries */
	char *names[8];      /* recent user/group names, shared by the entries */
	unsigned names_next;
	/* Bounded memory: past spill_at entries in memory (0: LKS_LAYER_SPILL_ENTRIES, see
	 * verifier/layerspill.h) they go to sorted runs in a temporary file; v/n/tab then hold
	 * only the entries since the last run. */
	size_t spill_at;
	uint32_t n_seen;         /* entries read in tar order (the next seq) */
	uint64_t n_xattrs;       /* extended attributes read (LKS_LAYER_MAX_XATTRS) */
	struct lks_spill *spill; /* NULL while the layer fits in memory */
};

void lks_layer_index_init(struct lks_layer_index *ix);
void lks_layer_index_free(struct lks_layer_index *ix);

/* Stream layer `l` of `src` and fill ix (initialised by the caller). lim may be NULL. */
int lks_layer_walk(struct lks_ctx *ctx, const struct lks_image_src *src,
                   const struct lks_image_layer *l, const struct lks_archive_limits *lim,
                   struct lks_layer_index *ix);
/* Read layer `l` of `src` to its end only to check its digest: -LKS_E_DIGEST on a mismatch. */
int lks_layer_verify(struct lks_ctx *ctx, const struct lks_image_src *src,
                     const struct lks_image_layer *l);
/* Index an already open tar stream (tests, fuzzing): read through fn/opaque. */
int lks_layer_walk_cb(struct lks_ctx *ctx, lks_archive_read_fn fn, void *opaque,
                      const struct lks_archive_limits *lim, struct lks_layer_index *ix);
/* The entry for a normalised path, NULL when absent. With spilled runs the entry lives in a
 * scratch area of the index until the next lookup. */
const struct lks_fentry *lks_layer_find(const struct lks_layer_index *ix, const char *path);
/* Normalise a tar path in place: strip "./" and "/" prefixes and trailing "/", collapse "//"
 * and "/./". Returns -LKS_E_UNSAFE for ".." components, 0 otherwise (may leave ""). */
int lks_layer_norm_path(char *p);

/* One file whose bytes a second pass collects (for --deep and the HTML content diff). */
struct lks_capture {
	const char *path;     /* normalised path to look for */
	size_t max;           /* bytes kept; the rest is skipped */
	struct lks_buf *data; /* initialised by the caller */
	bool found, truncated;
};

/* Stream layer l of src again (verified) and collect the data of the regular files named
 * in caps. Memory is bounded by the caps' max. */
int lks_layer_capture(struct lks_ctx *ctx, const struct lks_image_src *src,
                      const struct lks_image_layer *l, const struct lks_archive_limits *lim,
                      struct lks_capture *caps, size_t n);
