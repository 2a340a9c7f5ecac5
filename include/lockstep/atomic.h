/* Atomic file writes: temp file in the same directory, fsync, rename; the temp file is
 * unlinked on failure so nothing is ever half-written (systemd write_string_file_atomic).
 *
 * Several files at once (lks_commit_files), all-or-nothing across a crash:
 *   1. every file's new bytes go to a temp file beside it, `<target>.lockstep-tmp.XXXXXX`,
 *      each fsynced, and their directories too; if any write fails (ENOSPC, EIO, ...) every
 *      temp file is unlinked and nothing is renamed;
 *   2. an intent record (the journal, e.g. `lockstep.lock.commit`) listing each target with the
 *      sha256 of its old and new bytes is written atomically beside the lock: the commit point;
 *   3. each temp file is renamed over its target, the directories fsynced, the journal removed.
 * Killed before 2, the old files stand (the temp files are removed by the next run); killed
 * after, the next lks_commit_recover completes the renames from the journal. Recovery never
 * overwrites a file that changed since the journal was written (-LKS_E_CONFLICT).
 * Commits and recoveries with one journal are serialised by flock on the journal's directory.
 */
#pragma once
#include <stdbool.h>
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

/* One file of a commit. */
struct lks_commit_file {
	const char *path; /* as named; a symlink is written through to its target */
	const void *data; /* the new bytes */
	size_t len;
	/* What the run read (NULL/0/false: the file did not exist): the file must still hold it
	 * when the commit starts, else -LKS_E_CONFLICT and nothing is written. */
	const void *orig;
	size_t orig_len;
	bool existed;
};

#define LKS_COMMIT_SUFFIX ".commit" /* journal = lock path + this */

/* Write the n files all-or-nothing (see above). journal: the intent record's path. Returns 0,
 * or a negative error with nothing renamed; after the commit point an error leaves the journal
 * for the next lks_commit_recover (the message says so). */
int lks_commit_files(struct lks_ctx *ctx, const char *journal, const struct lks_commit_file *f,
		     size_t n);

/* Before reading files a commit may have written: complete an interrupted commit whose
 * journal is there (a warning names the files), and remove lockstep's stale temp files
 * (`<name>.lockstep-tmp.XXXXXX`, and `<name>.tmpXXXXXX` of earlier versions) beside the
 * journal's files, the journal and each of paths. Returns 0 or a negative error. */
int lks_commit_recover(struct lks_ctx *ctx, const char *journal, const char *const *paths,
		       size_t n);
