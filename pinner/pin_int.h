/* The operations every input kind implements (not public API).
 *
 * A kind (images, apt, python; pinner/<kind>/) fills one `struct pin_kind`; pin.c runs `check`
 * and `pin` (and `update`, which is pin in update mode) over pin_kinds[] in order, and
 * outdated.c runs `latest` over the same table. Adding a kind is a folder and one entry in
 * pin_kinds[] (pin.c).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct lks_ctx;
struct lks_findings;
struct lks_imagefs_memo;
struct lks_latest;
struct lks_lock;
struct lks_outdated_opts;
struct lks_pin_opts;
struct lks_pin_report;
struct lks_platform;
struct lks_update_opts;
struct lks_workspace;

/* One check or pin run over a set of Dockerfiles. The workspace holds each Dockerfile parsed
 * once (ws_dockerfile_get); kinds record their edits there and update lock in memory. */
struct pin_run {
	struct lks_ctx *ctx;
	struct lks_workspace *ws;
	const char *const *files; /* the Dockerfiles */
	size_t n;
	struct lks_lock *lock;
	const struct lks_pin_opts *o;    /* every kind's options */
	const struct lks_update_opts *u; /* update mode when u->enabled (never NULL) */
	struct lks_findings *out;        /* what is wrong or could not be pinned */
	struct lks_pin_report *rep;      /* pin: what was pinned (NULL for check) */
};

/* One outdated run: the lock's pins against what is newer. The workspace holds the Dockerfiles
 * the lock names, parsed once for every kind that re-reads them (apt, python). */
struct latest_run {
	struct lks_ctx *ctx;
	struct lks_workspace *ws;
	const struct lks_lock *lock;
	const struct lks_outdated_opts *o;
};

/* What outdated shows of one pin of the lock (pin_entry_free frees the names). */
#define PIN_NAMES 4
struct pin_entry {
	char *names[PIN_NAMES]; /* how users know it, for policy rules and --package (NULLs
	                           skipped); names[shown] is the one outdated shows */
	size_t shown;
	const char *file; /* borrowed from the lock */
	long line;
	const char *pinned; /* digest or version, borrowed from the lock */
	const char *arch;   /* apt: the dpkg architecture, borrowed from the lock; else NULL */
	time_t resolved_at;
	time_t published_at;
	bool has_published_at;
};

void pin_entry_free(struct pin_entry *e);

/* The entry of a versioned pin (apt, python) known by one name (outdated.c). */
struct pin_versioned {
	const char *name, *file, *version;
	long line;
	time_t resolved_at, published_at;
	bool has_published_at;
};

int pin_entry_versioned(const struct pin_versioned *v, struct pin_entry *out);

struct pin_kind {
	const char *name;  /* "image", "apt", "python": policy rules, reports */
	const char *label; /* outdated's text column: "IMAGE" */
	const char *newer; /* outdated's text: how a newer version is named */
	bool versioned;    /* outdated's text: show versions (not digests) */
	unsigned mask;     /* LKS_LOCK_*: its lock section, --only */
	/* Before any kind pins (NULL: nothing): edits that move lines, so that every kind
	 * records the final ones (python: --pip-inline-to-file). */
	int (*prepare)(struct pin_run *r);
	/* Offline: the inputs of r->files that are not pinned or disagree with the lock. */
	int (*check)(struct pin_run *r);
	/* Resolve and pin (or, in update mode, move) every input; edits on the workspace's
	 * models, lock entries of these files replaced, one change per input in r->rep. */
	int (*pin)(struct pin_run *r);
	/* outdated: the number of pins of this kind in the lock, what pin i is, and out[i]
	 * (zeroed by the caller) for every pin i: what is newer. */
	size_t (*count)(const struct lks_lock *l);
	int (*entry)(struct lks_ctx *ctx, const struct lks_lock *l, size_t i, struct pin_entry *e);
	int (*latest)(struct latest_run *r, struct lks_latest *out);
	/* outdated --platform P: whether pin e is for platform p, its file being pinned for p
	 * (NULL: --platform does not select this kind's pins). */
	bool (*on_platform)(const struct pin_entry *e, const struct lks_platform *p);
	/* The files the kind reads out of base images (NULL: none), registered in the run's
	 * memo so that each base image is streamed once for every kind (imagefs.h). o is NULL
	 * for outdated. */
	int (*image_files)(struct lks_imagefs_memo *m, const struct lks_pin_opts *o,
	                   const struct lks_lock *lock);
};

extern const struct pin_kind pin_kind_images;
extern const struct pin_kind pin_kind_apt;
extern const struct pin_kind pin_kind_python;

/* In run order: later kinds see what earlier ones did (apt and python read the base image the
 * image kind pinned). */
extern const struct pin_kind *const pin_kinds[];
extern const size_t pin_nkinds;

/* A memo of image reads with the files of every kind in mask (pin.c); set as ctx->imagefs_memo
 * for a run and freed with lks_imagefs_memo_free. NULL on ENOMEM. */
struct lks_imagefs_memo *pin_image_memo(unsigned mask, const struct lks_pin_opts *o,
                                        const struct lks_lock *lock);
