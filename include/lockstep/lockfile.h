/* lockstep.lock: the pins, as deterministic JSON (pinner/lockfile.c).
 *
 * Format (see docs-lockfile.md): one object with "lockfile_version": 1 and three arrays,
 * "images", "apt", "python", plus "dockerfiles" when it has entries. Keys are sorted, indent is 2
 * spaces, the file ends with a newline, entries are sorted by (file, line, name) with full
 * tie-breaks, so pinning twice with nothing changed yields the same bytes. Times are RFC 3339 UTC
 * ("2026-11-23T18:00:00Z").
 *
 * Ownership: every char * and array in these structs is malloc'd and owned by the struct that
 * holds it; lks_lock_free releases all of it. Upserts *move* an entry into the lock (the
 * caller's struct is zeroed and must not be freed again).
 *
 * Errors: a missing file loads as an empty lock; malformed JSON or a wrong type is -LKS_E_PARSE
 * naming the file; a semantically invalid entry (e.g. a digest that is not sha256:<64 hex>) is
 * -LKS_E_PARSE naming the file, the array index and the entry; a newer lockfile_version is
 * -LKS_E_VERSION.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct lks_ctx;
struct lks_buf;

#define LKS_LOCKFILE_VERSION 1
#define LKS_LOCKFILE_NAME "lockstep.lock"

struct lks_lock_platform {
	char *os;           /* "linux" */
	char *architecture; /* "amd64", "arm64" */
	char *variant;      /* "v8", or NULL */
	char *digest;       /* the platform's manifest, "sha256:<hex>" */
};

/* One image reference occurrence in a Dockerfile. Key: (file, line, kind, written). */
struct lks_lock_image {
	char *file;       /* Dockerfile path as given to lockstep */
	long line;        /* 1-based line of the instruction */
	char *kind;       /* "from", "copy-from" or "mount-from" */
	char *written;    /* the reference as written in the Dockerfile */
	char *reference;  /* expanded, normalised: "docker.io/library/python:3.12-slim" */
	char *registry;   /* "registry-1.docker.io" */
	char *digest;     /* pinned index or manifest digest, "sha256:<64 hex>" */
	char *media_type; /* media type of what digest names */
	struct lks_lock_platform *platforms;
	size_t n_platforms;
	time_t resolved_at;
	time_t published_at; /* config "created"; only when has_published_at */
	bool has_published_at;
	bool stale; /* see lks_lock_mark_file; not serialised */
};

/* One apt package pinned for a Dockerfile. Key: (file, line, package, architecture). */
struct lks_lock_apt {
	char *package;
	char *version;
	char *architecture;
	char *suite;     /* "bookworm" */
	char *component; /* "main" */
	char *filename;  /* pool path from Packages */
	char *sha256;    /* 64 lowercase hex, as in Packages */
	uint64_t size;
	char *source;    /* archive base URL */
	time_t snapshot; /* the Release file's Date; only when has_snapshot */
	bool has_snapshot;
	time_t resolved_at;
	time_t published_at;
	bool has_published_at;
	char *file;  /* Dockerfile */
	long line;   /* RUN line, 0 when unknown (omitted) */
	char *image; /* the stage's base image reference, or NULL */
	/* --apt-closure: a dependency the RUN line installs without naming it; the requested
	 * package that pulled it in. NULL for a package written in the Dockerfile. */
	char *closure_of;
	bool stale;
};

/* One Python distribution pinned for a requirements file. Key: (file, name). */
struct lks_lock_python {
	char *name; /* normalised project name (PEP 503) */
	char *version;
	char **hashes; /* "sha256:<hex>" of each accepted file */
	size_t n_hashes;
	char *index;           /* index URL */
	char *requires_python; /* or NULL */
	time_t published_at;
	bool has_published_at;
	time_t resolved_at;
	char **via; /* what required it: requirement lines or parent names */
	size_t n_via;
	char *file; /* requirements file (or Dockerfile) */
	long line;  /* 0 for transitive dependencies (omitted) */
	bool stale;
};

/* The target platforms a Dockerfile was pinned for (the images' --platform). Key: file. */
struct lks_lock_dockerfile {
	char *file;
	char **platforms; /* "linux/amd64", ... as given or defaulted, normalised */
	size_t n_platforms;
	long line; /* always 0: not serialised */
	bool stale;
};

struct lks_lock {
	struct lks_lock_image *images;
	size_t n_images;
	struct lks_lock_apt *apt;
	size_t n_apt;
	struct lks_lock_python *python;
	size_t n_python;
	struct lks_lock_dockerfile *dockerfiles;
	size_t n_dockerfiles;
};

void lks_lock_init(struct lks_lock *l);
void lks_lock_free(struct lks_lock *l);
void lks_lock_image_free(struct lks_lock_image *e);
void lks_lock_apt_free(struct lks_lock_apt *e);
void lks_lock_python_free(struct lks_lock_python *e);
void lks_lock_dockerfile_free(struct lks_lock_dockerfile *e);

/* Complete a commit an interrupted `pin` or `update` left behind (its intent record is the lock
 * path + LKS_COMMIT_SUFFIX, see atomic.h) and remove lockstep's stale temp files beside the lock
 * and the n files. Every command that reads the lock calls this first. */
int lks_lock_recover(struct lks_ctx *ctx, const char *path, const char *const *files, size_t n);
/* The intent record of a commit of the lock at path (caller frees), NULL without memory. */
char *lks_lock_journal(const char *path);

/* Load path into an initialised (empty) lock; a missing file leaves it empty. */
int lks_lock_load(struct lks_ctx *ctx, const char *path, struct lks_lock *l);
/* Parse bytes; `name` is used in messages. */
int lks_lock_parse(struct lks_ctx *ctx, const char *data, size_t len, const char *name,
                   struct lks_lock *l);
/* Sort the entries, then serialise into out (appended). The result is checked by parsing it
 * back, so an invalid entry fails here (naming it) instead of producing an unloadable file. */
int lks_lock_dump(struct lks_ctx *ctx, struct lks_lock *l, struct lks_buf *out);
/* lks_lock_dump, then lks_write_file_atomic (mode 0644 for a new file). */
int lks_lock_save(struct lks_ctx *ctx, const char *path, struct lks_lock *l);
/* Put entries in canonical order (done by dump; exposed for callers that iterate). */
void lks_lock_sort(struct lks_lock *l);

/* The entry for (file, written, line); when none matches exactly (lines moved) and exactly
 * one entry of file has `written`, that one; else NULL. Pointers are valid until the lock is
 * changed. */
struct lks_lock_image *lks_lock_find_image(struct lks_lock *l, const char *file,
                                           const char *written, long line);
/* The first entry (in canonical order once sorted) with this normalised reference, or NULL. */
struct lks_lock_image *lks_lock_find_image_ref(struct lks_lock *l, const char *reference);

/* Insert, or replace the entry with the same key. Moves *e into the lock (zeroing *e) and
 * clears its stale flag. */
int lks_lock_upsert_image(struct lks_ctx *ctx, struct lks_lock *l, struct lks_lock_image *e);
int lks_lock_upsert_apt(struct lks_ctx *ctx, struct lks_lock *l, struct lks_lock_apt *e);
int lks_lock_upsert_python(struct lks_ctx *ctx, struct lks_lock *l, struct lks_lock_python *e);
int lks_lock_upsert_dockerfile(struct lks_ctx *ctx, struct lks_lock *l,
                               struct lks_lock_dockerfile *e);
/* The entry of file in the dockerfiles section, or NULL. */
const struct lks_lock_dockerfile *lks_lock_find_dockerfile(const struct lks_lock *l,
                                                           const char *file);
/* The target platforms file is evaluated for when no --platform is given: the ones l records
 * for it, else LKS_PLATFORMS_DEFAULT. -LKS_E_PARSE naming the lock for a bad recorded one. */
struct lks_platforms;
int lks_lock_platforms(struct lks_ctx *ctx, const struct lks_lock *l, const char *file,
                       struct lks_platforms *out);

/* Sections of the lock, as a mask: each pinner re-pins only its own kind of entry. */
enum {
	LKS_LOCK_IMAGES = 1u << 0,
	LKS_LOCK_APT = 1u << 1,
	LKS_LOCK_PYTHON = 1u << 2,
	LKS_LOCK_DOCKERFILES = 1u << 3, /* kept with the images: marked and swept with them */
	LKS_LOCK_ALL = 15u,
};

/* Re-pinning a file: mark its entries of the sections in `kinds` stale, upsert (or clear
 * `stale` on) what still exists, then sweep removes the rest and returns how many were
 * removed. */
void lks_lock_mark_file(struct lks_lock *l, const char *file, unsigned kinds);
size_t lks_lock_sweep_file(struct lks_lock *l, const char *file, unsigned kinds);
/* Remove every entry of file (a Dockerfile that no longer exists); returns the count. */
size_t lks_lock_remove_file(struct lks_lock *l, const char *file);
