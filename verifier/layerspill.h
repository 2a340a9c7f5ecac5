/* Spilling a layer index to a temporary file: sorted runs, looked up and merged.
 *
 * A layer index keeps at most `spill_at` entries in memory; beyond that the entries in memory
 * are sorted by path and appended as one run to a temporary file ($TMPDIR, unlinked at once),
 * and memory starts over. Lookups search the runs newest first (binary search over a sparse
 * offset table, then a short scan); symlinks are also remembered by a 64-bit path hash so
 * that the check of every entry's parents costs no disk access unless a parent may be a
 * symlink. Hardlink groups are computed once the walk ends, from the hardlinks of every run.
 * The comparison reads both indexes in path order (lks_layer_cursor), merging the runs.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "verifier/layerwalk.h"

#define LKS_LAYER_SPILL_ENTRIES 32768u          /* default entries kept in memory */
#define LKS_LAYER_SPILL_BYTES ((size_t)8 << 20) /* or this many bytes of strings */

/* The index's path hash (FNV-1a with a final mix), shared by the table and the filter. */
uint64_t layerwalk_path_hash(const char *s);
/* Sort the in-memory entries, append them as a run and empty the memory part. */
int layerspill_run(struct lks_layer_index *ix);
/* Lookup among the spilled runs (newest first); NULL when absent. The entry lives in a
 * scratch area of the index until the next lookup. */
const struct lks_fentry *layerspill_find(struct lks_layer_index *ix, const char *path);
/* True when path may be a symlink of a spilled run (hash filter; confirm with _find). */
bool layerspill_maybe_symlink(const struct lks_layer_index *ix, const char *path);
/* After the walk: spill what is left and compute the hardlink groups. */
int layerspill_finish(struct lks_layer_index *ix);
void layerspill_free(struct lks_layer_index *ix);

/* Reading an index in path order, one entry per path (the newest), groups set. */
struct lks_layer_cursor;
int lks_layer_cursor_open(const struct lks_layer_index *ix, struct lks_layer_cursor **out);
/* The next entry (valid until the next call), NULL at the end; *rc set on a read error. */
const struct lks_fentry *lks_layer_cursor_next(struct lks_layer_cursor *c, int *rc);
void lks_layer_cursor_close(struct lks_layer_cursor *c);
