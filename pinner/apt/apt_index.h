/* apt repository indexes: Release/InRelease files and the Packages files they list.
 *
 * A Packages file is used only after its sha256 and size match the Release entry for it:
 * it is hashed while being parsed (streamed, bounded memory) and everything it added is
 * dropped again when the digest turns out wrong. Only the fields lockstep needs are kept
 * per package, in an arena, so the index of a whole Debian suite is a few tens of MB.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct lks_ctx;

struct lks_apt_hashent {
	char *path; /* "main/binary-amd64/Packages.xz" */
	uint64_t size;
	char sha256[65]; /* lowercase hex */
};

enum lks_apt_sig {
	LKS_APT_SIG_UNCHECKED = 0, /* no verification attempted (or gpgv missing) */
	LKS_APT_SIG_GOOD,          /* gpgv accepted the InRelease signature */
	LKS_APT_SIG_UNSIGNED,      /* a plain Release without a signature */
};

struct lks_apt_release {
	char *origin, *label, *suite, *codename, *version, *date;
	char *architectures, *components;
	time_t date_epoch; /* Release Date, the archive's snapshot time; 0 if absent */
	bool not_automatic;
	bool but_automatic_upgrades;
	bool no_arch_all; /* No-Support-for-Architecture-all: Packages */
	struct lks_apt_hashent *hashes;
	size_t n_hashes;
	char *site; /* host of the source URI (for "Pin: origin"), may be NULL */
	char *uri;  /* source URI, may be NULL */
	char *path; /* the file it was read from, may be NULL */
	enum lks_apt_sig sig;
};

/* Parse a Release or InRelease (clearsigned) file. On success *rel owns its strings. */
int lks_apt_release_parse(struct lks_ctx *ctx, const char *what, const char *data, size_t n,
                          struct lks_apt_release *rel);
void lks_apt_release_free(struct lks_apt_release *rel);
/* The SHA256 entry for `path` ("main/binary-amd64/Packages") or NULL. */
const struct lks_apt_hashent *lks_apt_release_find(const struct lks_apt_release *rel,
                                                   const char *path);
/* Check the clearsigned InRelease at `path` (or a Release with its detached `path`.gpg) with gpgv
 * against `keyring` (a keyring file or a directory of *.gpg and *.asc keys). Returns 1 when the
 * signature is good, 0 when gpgv is not installed (a warning says the signature was not checked), a
 * negative error when bad. */
int lks_apt_release_verify(struct lks_ctx *ctx, const char *path, const char *keyring);

/* One package version from one Packages file. Strings live in the index arena. */
struct lks_apt_pkg {
	const char *name, *version, *arch, *filename, *sha256, *provides, *multi_arch;
	/* raw relationship fields (apt_rel.h parses them), may be NULL */
	const char *depends, *pre_depends, *breaks, *conflicts;
	uint64_t size;
	uint32_t pfile; /* index into lks_apt_index.pfiles */
	uint32_t next;  /* hash chain (internal); iterate with lks_apt_index_next() */
};

/* A Packages file: a (release, component, architecture) triple. */
struct lks_apt_pfile {
	size_t release; /* index into lks_apt_index.releases */
	char *component;
	char *arch;
	int priority; /* filled by the resolver */
};

struct lks_apt_index {
	struct lks_apt_release *releases;
	size_t n_releases;
	struct lks_apt_pfile *pfiles;
	size_t n_pfiles;
	struct lks_apt_pkg *pkgs;
	size_t n_pkgs, cap_pkgs;
	uint32_t *buckets; /* name hash -> first pkg */
	size_t n_buckets;
	void *arena;     /* opaque string arena */
	size_t max_pkgs; /* cap on the number of package entries (default 4,000,000) */
	struct apt_snap *snap; /* a snapshot mapped in place (read-only index), or NULL */
};

void lks_apt_index_init(struct lks_apt_index *idx);
void lks_apt_index_free(struct lks_apt_index *idx);
/* Take ownership of a parsed release; returns its index (>= 0) or a negative error. */
int lks_apt_index_add_release(struct lks_apt_index *idx, struct lks_apt_release *rel);
/* Read the uncompressed Packages file at `path` for (release, component, arch), checking it
 * against the release's "COMPONENT/binary-ARCH/Packages" sha256 and size entry. */
int lks_apt_index_add_packages_file(struct lks_ctx *ctx, struct lks_apt_index *idx, size_t release,
                                    const char *component, const char *arch, const char *path);
/* Same on bytes already in memory. */
int lks_apt_index_add_packages_mem(struct lks_ctx *ctx, struct lks_apt_index *idx, size_t release,
                                   const char *component, const char *arch, const char *data,
                                   size_t n);
/* A compressed Packages file as fetched from a mirror (ext ".xz", ".gz", ...): its bytes are
 * checked against the "COMPONENT/binary-ARCH/Packages<ext>" entry before anything is
 * decompressed, then it is decompressed in a stream and the result checked against the plain
 * "Packages" entry. A corrupt or truncated stream fails with a clear error, adding nothing. */
int lks_apt_index_add_packages_compressed(struct lks_ctx *ctx, struct lks_apt_index *idx,
                                          size_t release, const char *component, const char *arch,
                                          const char *ext, const void *data, size_t n);
/* Load what `apt-get update` left in an apt lists directory for the given sources (a
 * NULL sources loads every *_InRelease / *_Release found), for the architectures in the
 * NULL-terminated `archs`. Lists kept compressed (Acquire::GzipIndexes: .lz4, .gz, .xz ...) are
 * decompressed in a stream and checked against the plain Packages entry. */
struct lks_apt_sources;
int lks_apt_index_load_lists(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *dir,
                             const struct lks_apt_sources *sources, const char *const *archs);
/* Serialise the index as a snapshot (a local cache format: native byte order, versioned,
 * position independent, with checksums) after `key`, a caller-chosen string naming what the
 * index was built from (sources, architectures, the Release files' digests). Appends to out. */
struct lks_buf;
int lks_apt_index_save(struct lks_ctx *ctx, const struct lks_apt_index *idx, const char *key,
                       struct lks_buf *out);
/* Open a snapshot as a (freshly initialised) index, used in place: only the header, key and
 * release metadata are read now; package entries are read, and their blocks checked against
 * their checksums, when a lookup first touches them. -LKS_E_CONFLICT when the snapshot was
 * made for another key (stale), -LKS_E_VERSION for another format version, -LKS_E_PARSE when
 * truncated or damaged; idx is left empty on failure. The index is read-only, and its lookups
 * fill a cache inside it: one thread at a time. This one works on a copy of data. */
int lks_apt_index_restore(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *key,
                          const void *data, size_t n);
/* Same, from a file, mapped (the file must be replaced by rename, never rewritten in place). */
int lks_apt_index_restore_file(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *key,
                               const char *path);
/* Whether a lookup in a restored index met a block that failed its checksum: its answers may be
 * missing entries, so the caller rebuilds the index (from the lists it was made from) and asks
 * again. lks_apt_index_check() turns that into -LKS_E_PARSE with a detail (0 when sound);
 * lks_apt_index_check_all() first checks every block (for an index used by many lookups
 * later, where asking again is not possible). Always sound for a built index. */
bool lks_apt_index_damaged(const struct lks_apt_index *idx);
int lks_apt_index_check(struct lks_ctx *ctx, const struct lks_apt_index *idx);
int lks_apt_index_check_all(struct lks_ctx *ctx, const struct lks_apt_index *idx);
/* A snapshot key for a lists directory: the architectures, each sources file and every
 * Release/InRelease file by identity (size, inode, mtime, ctime: apt-get update renames new
 * lists in) and `extra` (e.g. the keyring used). Appends to key. */
int lks_apt_snapshot_key(struct lks_ctx *ctx, const char *lists, const char *const *archs,
                         const char *const *sources, size_t n_sources, const char *extra,
                         struct lks_buf *key);
/* Entry i (0 <= i < n_pkgs) in index order, or NULL (out of range, or damaged in a restored
 * index). Use this, not idx->pkgs[i], which a restored index fills on demand. */
const struct lks_apt_pkg *lks_apt_index_at(const struct lks_apt_index *idx, size_t i);
/* First entry of `name`, or NULL; lks_apt_index_next() gives the following ones. */
const struct lks_apt_pkg *lks_apt_index_find(const struct lks_apt_index *idx, const char *name);
const struct lks_apt_pkg *lks_apt_index_next(const struct lks_apt_index *idx,
                                             const struct lks_apt_pkg *p);
