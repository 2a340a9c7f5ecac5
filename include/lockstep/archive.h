/* Streaming archive and compression reader: the only code that calls libarchive.
 *
 * Reads tar (any compression libarchive knows: gzip, zstd, xz, bzip2, lz4, none), zip, or a
 * single compressed stream ("raw" mode, for Packages.xz and the like), entry by entry, without
 * extracting anything to disk. Caps bound hostile input: entry count, per-entry size, total
 * uncompressed size, compression ratio, path length. ARCHIVE_WARN is recorded as a warning;
 * worse fails with archive_error_string() in the ctx detail.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct lks_ctx;

enum lks_archive_mode {
	LKS_ARCHIVE_TAR,  /* tar, possibly compressed (layers) */
	LKS_ARCHIVE_ZIP,  /* zip (wheels) */
	LKS_ARCHIVE_RAW,  /* one compressed or plain stream (Packages.xz) */
	LKS_ARCHIVE_ANY,  /* any format libarchive detects */
};

struct lks_archive_limits {
	uint64_t max_entries;     /* default 10,000,000 */
	uint64_t max_entry_size;  /* default 64 GiB */
	uint64_t max_total;       /* total uncompressed bytes, default 256 GiB */
	uint64_t max_ratio;       /* uncompressed/compressed once past 64 MiB, default 1000 */
};

struct lks_xattr {
	char *name;
	void *value;
	size_t size;
};

/* Paths: tar names (ustar, GNU, pax) are the stored bytes exactly, whatever the process locale
 * (NFD stays NFD, invalid UTF-8 stays invalid); zip names flagged UTF-8 are decoded to
 * NFC UTF-8 by libarchive, and one that cannot be decoded is -LKS_E_ARCHIVE. Paths longer than
 * 4096 bytes are -LKS_E_TOOBIG. Callers judge "../" and absolute paths. */
struct lks_archive_entry {
	const char *path;     /* as stored (not normalised), valid until the next call */
	char type;            /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c', 'b', 'p', '?' */
	mode_t mode;          /* permission bits incl. suid/sgid/sticky (no S_IFMT) */
	int64_t uid, gid;
	const char *uname, *gname; /* may be NULL */
	int64_t size;
	bool size_set;
	struct timespec mtime, atime, ctime;
	bool atime_set, ctime_set;
	const char *link;     /* symlink or hardlink target, NULL otherwise */
	dev_t rdev;
	struct lks_xattr *xattrs;
	size_t n_xattrs;
};

struct lks_archive;

/* Read callback for streaming sources: fill up to n bytes, return count, 0 at EOF, <0 error. */
typedef long (*lks_archive_read_fn)(void *opaque, void *buf, size_t n);

/* lim may be NULL, and a zero field means its default. The fd is not closed by the reader.
 * A callback's negative return is passed through unchanged (its lks_err detail is kept). */
int lks_archive_open_fd(struct lks_ctx *ctx, struct lks_archive **out, int fd,
			enum lks_archive_mode mode, const struct lks_archive_limits *lim);
int lks_archive_open_mem(struct lks_ctx *ctx, struct lks_archive **out, const void *p, size_t n,
			 enum lks_archive_mode mode, const struct lks_archive_limits *lim);
int lks_archive_open_cb(struct lks_ctx *ctx, struct lks_archive **out, lks_archive_read_fn fn,
			void *opaque, enum lks_archive_mode mode,
			const struct lks_archive_limits *lim);
/* Next entry: 1 when an entry is available, 0 at the end, negative on error. */
int lks_archive_next(struct lks_archive *a, struct lks_archive_entry **e);
/* Read the current entry's data: bytes read (>0), 0 at end of entry, negative on error.
 * Unread data is skipped by the next lks_archive_next, through the same caps. A bomb fails
 * with -LKS_E_UNSAFE, a cap with -LKS_E_TOOBIG, damage (e.g. truncated gzip) with
 * -LKS_E_ARCHIVE; errors are sticky. */
long lks_archive_read(struct lks_archive *a, void *buf, size_t n);
/* Read the rest of the current entry's data, hashing it: its sha256 into out and its size.
 * Returns 0, lks_archive_read's negative error, or -LKS_E_CRYPTO (no detail in the ctx). */
int lks_archive_sha256(struct lks_archive *a, uint8_t out[static 32], int64_t *size);
/* Names of the filters (compression) detected, e.g. "gzip", "none"; valid while open. */
const char *lks_archive_filter_name(struct lks_archive *a);
/* What inflates a gzip source: "isa-l" when ISA-L is installed (loaded on first use; set
 * LOCKSTEP_NO_ISAL=1 to turn it off), otherwise "libarchive" (its zlib path), which also reads
 * everything that is not gzip. Both give the same bytes and the same errors. */
const char *lks_archive_inflater(const struct lks_archive *a);
void lks_archive_close(struct lks_archive *a);

/* Decompress a whole single stream (xz/gz/zst/bz2/plain) from memory into a capped buffer:
 * appended to out, over out->max is -LKS_E_TOOBIG; default caps (ratio 1000) apply. */
struct lks_buf;
int lks_decompress_mem(struct lks_ctx *ctx, const void *p, size_t n, struct lks_buf *out);
