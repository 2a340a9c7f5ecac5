/* Tests for the pin workspace (pinner/workspace.c): reads once, commits all or nothing,
 * writes through symlinks, leaves unchanged files alone. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "pinner/workspace.h"

static char dir[64];
static struct lks_ctx ctx;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lks-ws-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(lks_ctx_init(&ctx), 0);
}

static void teardown(void)
{
	char cmd[256];
	lks_ctx_free(&ctx);
	cr_assert_eq(chdir("/"), 0);
	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s'; rm -rf '%s'", dir, dir);
	cr_assert_eq(system(cmd), 0);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *path)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	cr_assert_eq(lks_buf_read_file(&b, path), 0, "read %s", path);
	return lks_buf_detach(&b);
}

TestSuite(workspace, .init = setup, .fini = teardown);

Test(workspace, edits_are_written_only_on_commit)
{
	struct lks_workspace ws;
	struct lks_ws_file *f;
	size_t n;
	put("a", "one\n");
	put("b", "two\n");
	lks_ws_init(&ws);
	cr_assert_eq(lks_ws_get(&ctx, &ws, "a", 100, false, &f), 0);
	cr_assert_str_eq(f->cur.data, "one\n");
	cr_assert_eq(lks_ws_set(&ctx, &ws, "a", "ONE\n", 4), 0);
	cr_assert_eq(lks_ws_set(&ctx, &ws, "new", "x", 1), 0);
	cr_assert_eq(lks_ws_get(&ctx, &ws, "b", 100, false, &f), 0);
	char *a = slurp("a");
	cr_assert_str_eq(a, "one\n", "nothing written before commit");
	free(a);
	cr_assert_eq(lks_ws_commit(&ctx, &ws, "lock.commit", &n), 0);
	cr_assert_eq(n, 2, "a and new written, b unchanged");
	a = slurp("a");
	char *x = slurp("new");
	cr_assert_str_eq(a, "ONE\n");
	cr_assert_str_eq(x, "x");
	free(a);
	free(x);
	lks_ws_free(&ws);
}

Test(workspace, missing_and_oversized_files)
{
	struct lks_workspace ws;
	struct lks_ws_file *f;
	lks_ws_init(&ws);
	cr_assert_eq(lks_ws_get(&ctx, &ws, "nope", 100, false, &f), -ENOENT);
	cr_assert(strstr(ctx.err, "nope"), "%s", ctx.err);
	cr_assert_eq(lks_ws_get(&ctx, &ws, "nope", 100, true, &f), 0);
	cr_assert(!f->exists && f->cur.len == 0);
	put("big", "0123456789");
	cr_assert_lt(lks_ws_get(&ctx, &ws, "big", 4, false, &f), 0);
	cr_assert(strstr(ctx.err, "larger than 4 bytes"), "%s", ctx.err);
	lks_ws_free(&ws);
}

Test(workspace, read_only_file_means_nothing_is_written)
{
	struct lks_workspace ws;
	size_t n;
	put("a", "one\n");
	put("ro", "two\n");
	cr_assert_eq(chmod("ro", 0444), 0);
	lks_ws_init(&ws);
	cr_assert_eq(lks_ws_set(&ctx, &ws, "a", "ONE\n", 4), 0);
	cr_assert_eq(lks_ws_set(&ctx, &ws, "ro", "TWO\n", 4), 0);
	cr_assert_lt(lks_ws_commit(&ctx, &ws, "lock.commit", &n), 0);
	cr_assert(strstr(ctx.err, "'ro'") && strstr(ctx.err, "read-only"), "%s", ctx.err);
	char *a = slurp("a");
	cr_assert_str_eq(a, "one\n", "all or nothing");
	free(a);
	lks_ws_free(&ws);
}

Test(workspace, symlink_is_written_through)
{
	struct lks_workspace ws;
	size_t n;
	struct stat st;
	cr_assert_eq(mkdir("d", 0755), 0);
	put("d/real", "one\n");
	cr_assert_eq(symlink("d/real", "link"), 0);
	lks_ws_init(&ws);
	cr_assert_eq(lks_ws_set(&ctx, &ws, "link", "ONE\n", 4), 0);
	cr_assert_eq(lks_ws_commit(&ctx, &ws, "lock.commit", &n), 0);
	cr_assert_eq(lstat("link", &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the link stays a link");
	char *r = slurp("d/real");
	cr_assert_str_eq(r, "ONE\n");
	free(r);
	lks_ws_free(&ws);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

Test(workspace, a_file_changed_since_it_was_read_means_nothing_is_written)
{
	struct lks_workspace ws;
	struct lks_ws_file *f;
	size_t n;
	put("a", "one\n");
	put("b", "two\n");
	lks_ws_init(&ws);
	cr_assert_eq(lks_ws_get(&ctx, &ws, "a", 100, false, &f), 0);
	cr_assert_eq(lks_ws_set(&ctx, &ws, "a", "ONE\n", 4), 0);
	cr_assert_eq(lks_ws_set(&ctx, &ws, "b", "TWO\n", 4), 0);
	put("a", "edited meanwhile\n");
	cr_assert_eq(lks_ws_commit(&ctx, &ws, "lock.commit", &n), -LKS_E_CONFLICT);
	cr_assert(strstr(ctx.err, "'a' changed on disk"), "%s", ctx.err);
	char *b = slurp("b");
	cr_assert_str_eq(b, "two\n");
	free(b);
	cr_assert(!exists("lock.commit"));
	lks_ws_free(&ws);
}

/* The state a run killed right after its commit point leaves: the journal and the temp files,
 * "a" already renamed, "b" not yet. */
static void crashed_commit(const char *b_now)
{
	char ha[LKS_DIGEST_LEN + 1], hb_old[LKS_DIGEST_LEN + 1], hb_new[LKS_DIGEST_LEN + 1];
	put("a", "A-new\n");
	put("b", b_now);
	put("b.lockstep-tmp.Ab12Cd", "B-new\n");
	cr_assert_eq(lks_sha256_buf("A-new\n", 6, ha), 0);
	cr_assert_eq(lks_sha256_buf("B-old\n", 6, hb_old), 0);
	cr_assert_eq(lks_sha256_buf("B-new\n", 6, hb_new), 0);
	FILE *j = fopen("lock.commit", "w");
	cr_assert_not_null(j);
	fprintf(j,
		"{\"lockstep_commit\": 1, \"files\": ["
		"{\"path\": \"a\", \"temp\": \"a.lockstep-tmp.Zz99Yy\", \"old\": null, "
		"\"new\": \"%s\"},"
		"{\"path\": \"b\", \"temp\": \"b.lockstep-tmp.Ab12Cd\", \"old\": \"%s\", "
		"\"new\": \"%s\"}]}\n",
		ha, hb_old, hb_new);
	fclose(j);
}

Test(workspace, the_next_run_completes_an_interrupted_commit)
{
	crashed_commit("B-old\n");
	put("a.tmpQw3rTy", "stale, from an earlier lockstep\n");
	put("c.lockstep-tmp.Kk11Ll", "stale\n");
	put("a.tmp-keep", "not lockstep's\n");
	const char *files[] = {"c"};
	cr_assert_eq(lks_commit_recover(&ctx, "lock.commit", files, 1), 0, "%s", ctx.err);
	char *a = slurp("a"), *b = slurp("b");
	cr_assert_str_eq(a, "A-new\n");
	cr_assert_str_eq(b, "B-new\n");
	free(a);
	free(b);
	cr_assert(!exists("lock.commit") && !exists("b.lockstep-tmp.Ab12Cd"));
	cr_assert(!exists("a.tmpQw3rTy") && !exists("c.lockstep-tmp.Kk11Ll"), "stale temps removed");
	cr_assert(exists("a.tmp-keep"), "other files stay");
	cr_assert(strstr(ctx.warn, "completed the commit an interrupted run left"), "reported: %s", ctx.warn);
	cr_assert_eq(lks_commit_recover(&ctx, "lock.commit", NULL, 0), 0, "nothing left to do");
}

Test(workspace, an_interrupted_commit_never_overwrites_a_later_edit)
{
	crashed_commit("edited by hand after the crash\n");
	cr_assert_eq(lks_commit_recover(&ctx, "lock.commit", NULL, 0), -LKS_E_CONFLICT);
	cr_assert(strstr(ctx.err, "'b' changed since") && strstr(ctx.err, "remove 'lock.commit'"),
		  "%s", ctx.err);
	char *b = slurp("b");
	cr_assert_str_eq(b, "edited by hand after the crash\n");
	free(b);
	cr_assert(exists("lock.commit"), "kept for the user to decide");
}

Test(workspace, a_commit_of_several_files_leaves_no_journal_or_temp)
{
	struct lks_workspace ws;
	size_t n;
	put("a", "one\n");
	put("a.lockstep-tmp.Old123", "left by a killed run\n");
	lks_ws_init(&ws);
	cr_assert_eq(lks_ws_set(&ctx, &ws, "a", "ONE\n", 4), 0);
	cr_assert_eq(lks_ws_set(&ctx, &ws, "b", "TWO\n", 4), 0);
	cr_assert_eq(lks_ws_commit(&ctx, &ws, "lock.commit", &n), 0, "%s", ctx.err);
	cr_assert_eq(n, 2);
	cr_assert(!exists("lock.commit") && !exists("a.lockstep-tmp.Old123"));
	lks_ws_free(&ws);
}
