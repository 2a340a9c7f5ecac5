/* Tests for lockstep.lock (pinner/lockfile.c), table-driven from fixtures/lockfile/. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/lockfile.h"

static char tmpdir[64];

static void setup_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lks-lock-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "chattr -i '%s' 2>/dev/null; chmod -R u+w '%s'; rm -rf '%s'",
	         tmpdir, tmpdir, tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(lockfile, .init = setup_tmp, .fini = teardown_tmp);

static void fixture(char *out, size_t n, const char *name)
{
	const char *src = getenv("LKS_SRCDIR");
	snprintf(out, n, "%s/fixtures/lockfile/%s", src ? src : ".", name);
}

static void read_fixture(const char *name, struct lks_buf *b)
{
	char path[512];
	fixture(path, sizeof(path), name);
	lks_buf_init(b, 0);
	cr_assert_eq(lks_buf_read_file(b, path), 0, "cannot read %s", path);
}

static void load_fixture(struct lks_ctx *ctx, const char *name, struct lks_lock *l)
{
	char path[512];
	fixture(path, sizeof(path), name);
	lks_ctx_init(ctx);
	lks_lock_init(l);
	cr_assert_eq(lks_lock_load(ctx, path, l), 0, "%s: %s", name, ctx->err);
}

Test(lockfile, roundtrip_is_byte_identical)
{
	struct lks_ctx ctx;
	struct lks_lock l;
	load_fixture(&ctx, "full.lock", &l);
	cr_assert_eq(l.n_images, 3);
	cr_assert_eq(l.n_apt, 2);
	cr_assert_eq(l.n_python, 2);
	cr_assert_eq(l.images[0].n_platforms, 2);
	cr_assert_str_eq(l.images[0].platforms[1].variant, "v8");
	cr_assert(l.images[2].has_published_at);
	cr_assert_eq(l.images[2].published_at, 0, "epoch 0 is a real published time");
	cr_assert(!l.images[1].has_published_at);
	cr_assert_eq(l.apt[0].size, 1485300);
	cr_assert_null(l.apt[0].closure_of);
	cr_assert_str_eq(l.apt[1].closure_of, "bash", "an --apt-closure entry keeps closure_of");
	cr_assert_eq(l.python[1].n_hashes, 2);
	struct lks_buf want, got;
	read_fixture("full.lock", &want);
	lks_buf_init(&got, 0);
	cr_assert_eq(lks_lock_dump(&ctx, &l, &got), 0, "%s", ctx.err);
	cr_assert_eq(got.len, want.len);
	cr_assert_str_eq(got.data, want.data);
	char path[128];
	snprintf(path, sizeof(path), "%s/lockstep.lock", tmpdir);
	cr_assert_eq(lks_lock_save(&ctx, path, &l), 0, "%s", ctx.err);
	struct lks_buf saved;
	lks_buf_init(&saved, 0);
	cr_assert_eq(lks_buf_read_file(&saved, path), 0);
	cr_assert_str_eq(saved.data, want.data);
	lks_buf_free(&saved);
	lks_buf_free(&want);
	lks_buf_free(&got);
	lks_lock_free(&l);
	lks_ctx_free(&ctx);
}

Test(lockfile, output_is_sorted_and_canonical)
{
	struct lks_ctx ctx;
	struct lks_lock l;
	load_fixture(&ctx, "unsorted.lock", &l);
	struct lks_buf want, got;
	read_fixture("full.lock", &want);
	lks_buf_init(&got, 0);
	cr_assert_eq(lks_lock_dump(&ctx, &l, &got), 0, "%s", ctx.err);
	cr_assert_str_eq(got.data, want.data);
	lks_buf_free(&want);
	lks_buf_free(&got);
	lks_lock_free(&l);
	lks_ctx_free(&ctx);
}

Test(lockfile, missing_and_empty)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_lock l;
	lks_lock_init(&l);
	char path[128];
	snprintf(path, sizeof(path), "%s/nope/lockstep.lock", tmpdir);
	cr_assert_eq(lks_lock_load(&ctx, path, &l), 0);
	cr_assert_eq(l.n_images + l.n_apt + l.n_python, 0);
	struct lks_buf got;
	lks_buf_init(&got, 0);
	cr_assert_eq(lks_lock_dump(&ctx, &l, &got), 0);
	cr_assert_str_eq(got.data,
	                 "{\n  \"apt\": [],\n  \"images\": [],\n  \"lockfile_version\": 1,"
	                 "\n  \"python\": []\n}\n");
	lks_buf_free(&got);
	lks_lock_free(&l);
	lks_ctx_free(&ctx);
	load_fixture(&ctx, "empty.lock", &l);
	cr_assert_eq(l.n_images + l.n_apt + l.n_python, 0);
	lks_lock_free(&l);
	lks_ctx_free(&ctx);
}

Test(lockfile, invalid_files)
{
	struct {
		const char *name;
		int rc;
		const char *want[3]; /* substrings of the message */
	} cases[] = {
	    {"future.lock",
	     -LKS_E_VERSION,
	     {"future.lock version 2 is newer than this lockstep supports"}},
	    {"malformed.lock", -LKS_E_PARSE, {"malformed.lock", "not valid JSON"}},
	    {"bad-digest.lock",
	     -LKS_E_PARSE,
	     {"images[1] '127.0.0.1:5000/tools:1'", "'digest'", "sha256:<64 lowercase hex>"}},
	    {"bad-digest-upper.lock", -LKS_E_PARSE, {"images[0] 'python:3.12-slim'", "'digest'"}},
	    {"bad-platform-digest.lock",
	     -LKS_E_PARSE,
	     {"images[0] 'python:3.12-slim'", "'platforms[1].digest'", "md5:abc"}},
	    {"bad-kind.lock", -LKS_E_PARSE, {"'kind' is 'run'"}},
	    {"missing-reference.lock",
	     -LKS_E_PARSE,
	     {"images[2] 'busybox'", "'reference' is missing"}},
	    {"bad-line.lock", -LKS_E_PARSE, {"'line' is not a line number"}},
	    {"bad-time.lock", -LKS_E_PARSE, {"apt[0] 'bash'", "'resolved_at' is 'yesterday'"}},
	    {"bad-sha256.lock", -LKS_E_PARSE, {"apt[1] 'curl'", "'sha256'"}},
	    {"bad-size.lock", -LKS_E_PARSE, {"'size' must not be negative"}},
	    {"bad-hash.lock", -LKS_E_PARSE, {"python[1] 'requests'", "'not-a-hash'"}},
	    {"bad-type.lock", -LKS_E_PARSE, {"python[0] 'urllib3'", "'version' must be a string"}},
	    {"duplicate.lock", -LKS_E_PARSE, {"apt[", "'bash'", "repeats"}},
	    {"not-object.lock", -LKS_E_PARSE, {"not a JSON object"}},
	    {"images-not-array.lock", -LKS_E_PARSE, {"'images' must be an array"}},
	    {"no-version.lock", -LKS_E_PARSE, {"'lockfile_version' is missing"}},
	    {"bad-dockerfiles.lock", -LKS_E_PARSE, {"dockerfiles[0] 'Dockerfile'", "'platforms'"}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_lock l;
		lks_lock_init(&l);
		char path[512];
		fixture(path, sizeof(path), cases[i].name);
		int rc = lks_lock_load(&ctx, path, &l);
		cr_assert_eq(rc, cases[i].rc, "%s: rc %d: %s", cases[i].name, rc, ctx.err);
		for (size_t k = 0; k < 3 && cases[i].want[k]; k++) {
			cr_assert(strstr(ctx.err, cases[i].want[k]), "%s: '%s' not in: %s",
			          cases[i].name, cases[i].want[k], ctx.err);
		}
		cr_assert_eq(l.n_images + l.n_apt + l.n_python, 0, "a failed load leaves it empty");
		lks_lock_free(&l);
		lks_ctx_free(&ctx);
	}
}

/* ---- editing ---- */

static struct lks_lock_image image(const char *file, long line, const char *written, char hex)
{
	struct lks_lock_image e = {0};
	char digest[72] = "sha256:";
	memset(digest + 7, hex, 64);
	digest[71] = '\0';
	e.file = strdup(file);
	e.line = line;
	e.kind = strdup("from");
	e.written = strdup(written);
	e.reference = strdup(written);
	e.registry = strdup("127.0.0.1:5000");
	e.digest = strdup(digest);
	e.media_type = strdup("application/vnd.oci.image.manifest.v1+json");
	e.resolved_at = 1795456800;
	return e;
}

static void dump_str(struct lks_lock *l, struct lks_buf *out)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	lks_buf_init(out, 0);
	cr_assert_eq(lks_lock_dump(&ctx, l, out), 0, "%s", ctx.err);
	lks_ctx_free(&ctx);
}

Test(lockfile, upsert_order_does_not_matter)
{
	struct {
		const char *file;
		long line;
		const char *written;
	} refs[] = {
	    {"b/Dockerfile", 1, "b:1"}, {"Dockerfile", 10, "x:1"}, {"Dockerfile", 2, "y:1"},
	    {"Dockerfile", 2, "a:1"},   {"a/Dockerfile", 5, "z"},
	};
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_lock fwd, rev;
	lks_lock_init(&fwd);
	lks_lock_init(&rev);
	size_t n = ARRAY_SIZE(refs);
	for (size_t i = 0; i < n; i++) {
		struct lks_lock_image a = image(refs[i].file, refs[i].line, refs[i].written, 'a');
		struct lks_lock_image b =
		    image(refs[n - 1 - i].file, refs[n - 1 - i].line, refs[n - 1 - i].written, 'a');
		cr_assert_eq(lks_lock_upsert_image(&ctx, &fwd, &a), 0);
		cr_assert_eq(lks_lock_upsert_image(&ctx, &rev, &b), 0);
		cr_assert_null(a.file, "upsert moves the entry");
	}
	struct lks_buf x, y;
	dump_str(&fwd, &x);
	dump_str(&rev, &y);
	cr_assert_str_eq(x.data, y.data);
	cr_assert_str_eq(fwd.images[0].file, "Dockerfile");
	cr_assert_str_eq(fwd.images[0].written, "a:1");
	cr_assert_str_eq(fwd.images[1].written, "y:1");
	cr_assert_eq(fwd.images[2].line, 10);
	cr_assert_str_eq(fwd.images[3].file, "a/Dockerfile");
	lks_buf_free(&x);
	lks_buf_free(&y);
	lks_lock_free(&fwd);
	lks_lock_free(&rev);
	lks_ctx_free(&ctx);
}

Test(lockfile, find_upsert_mark_sweep)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_lock l;
	lks_lock_init(&l);
	struct lks_lock_image e[] = {
	    image("Dockerfile", 1, "python:3.12", 'a'),
	    image("Dockerfile", 7, "busybox", 'b'),
	    image("Dockerfile", 9, "busybox", 'c'),
	    image("other/Dockerfile", 1, "python:3.12", 'd'),
	};
	for (size_t i = 0; i < ARRAY_SIZE(e); i++) {
		cr_assert_eq(lks_lock_upsert_image(&ctx, &l, &e[i]), 0);
	}
	struct lks_lock_image *f = lks_lock_find_image(&l, "Dockerfile", "python:3.12", 1);
	cr_assert_not_null(f);
	cr_assert_eq(f->digest[7], 'a');
	f = lks_lock_find_image(&l, "Dockerfile", "python:3.12", 3);
	cr_assert(f && f->line == 1, "the only occurrence is found after lines moved");
	cr_assert_null(lks_lock_find_image(&l, "Dockerfile", "busybox", 8), "ambiguous");
	cr_assert_eq(lks_lock_find_image(&l, "Dockerfile", "busybox", 9)->digest[7], 'c');
	cr_assert_null(lks_lock_find_image(&l, "Dockerfile", "nginx", 1));
	cr_assert_not_null(lks_lock_find_image_ref(&l, "busybox"));
	/* Same key replaces. */
	struct lks_lock_image r = image("Dockerfile", 7, "busybox", 'e');
	cr_assert_eq(lks_lock_upsert_image(&ctx, &l, &r), 0);
	cr_assert_eq(l.n_images, 4);
	cr_assert_eq(lks_lock_find_image(&l, "Dockerfile", "busybox", 7)->digest[7], 'e');
	/* Re-pin Dockerfile: line 9 disappeared, line 1 kept as is, line 7 re-resolved. */
	lks_lock_mark_file(&l, "Dockerfile", LKS_LOCK_ALL);
	lks_lock_find_image(&l, "Dockerfile", "python:3.12", 1)->stale = false;
	struct lks_lock_image again = image("Dockerfile", 7, "busybox", 'f');
	cr_assert_eq(lks_lock_upsert_image(&ctx, &l, &again), 0);
	cr_assert_eq(lks_lock_sweep_file(&l, "Dockerfile", LKS_LOCK_ALL), 1);
	cr_assert_eq(l.n_images, 3);
	cr_assert_eq(lks_lock_find_image(&l, "Dockerfile", "busybox", 9)->line, 7,
	             "line 9 is gone");
	cr_assert_not_null(lks_lock_find_image(&l, "other/Dockerfile", "python:3.12", 1));
	cr_assert_eq(lks_lock_remove_file(&l, "other/Dockerfile"), 1);
	cr_assert_eq(l.n_images, 2);
	/* Re-pinning one kind leaves the other kinds' entries of the file alone. */
	struct lks_lock_apt ap = {.package = strdup("curl"), .version = strdup("1"),
	                          .architecture = strdup("amd64"), .file = strdup("Dockerfile"),
	                          .line = 2};
	cr_assert_eq(lks_lock_upsert_apt(&ctx, &l, &ap), 0);
	lks_lock_mark_file(&l, "Dockerfile", LKS_LOCK_IMAGES);
	cr_assert_eq(lks_lock_sweep_file(&l, "Dockerfile", LKS_LOCK_IMAGES), 2);
	cr_assert_eq(l.n_apt, 1, "apt entry kept when images are re-pinned");
	cr_assert_eq(lks_lock_remove_file(&l, "Dockerfile"), 1);
	lks_lock_free(&l);
	lks_ctx_free(&ctx);
}

Test(lockfile, invalid_entry_is_not_written)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_lock l;
	lks_lock_init(&l);
	char path[128];
	snprintf(path, sizeof(path), "%s/lockstep.lock", tmpdir);
	struct lks_lock_image ok = image("Dockerfile", 1, "good:1", 'a');
	cr_assert_eq(lks_lock_upsert_image(&ctx, &l, &ok), 0);
	cr_assert_eq(lks_lock_save(&ctx, path, &l), 0);
	struct lks_lock_image e = image("Dockerfile", 2, "bad:1", 'a');
	free(e.digest);
	e.digest = strdup("sha256:nothex");
	cr_assert_eq(lks_lock_upsert_image(&ctx, &l, &e), 0);
	cr_assert_eq(lks_lock_save(&ctx, path, &l), -LKS_E_PARSE);
	cr_assert(strstr(ctx.err, "'bad:1'") && strstr(ctx.err, "sha256:nothex"), "%s", ctx.err);
	struct lks_lock back;
	lks_lock_init(&back);
	cr_assert_eq(lks_lock_load(&ctx, path, &back), 0, "old file must stay loadable");
	cr_assert_eq(back.n_images, 1);
	lks_lock_free(&back);
	/* JSON cannot hold a non-UTF-8 string: a clear error, not a mangled file. */
	lks_lock_free(&l);
	struct lks_lock_image raw = image("Dockerfile", 3, "caf\xe9:1", 'a');
	cr_assert_eq(lks_lock_upsert_image(&ctx, &l, &raw), 0);
	cr_assert_eq(lks_lock_save(&ctx, path, &l), -LKS_E_INVAL);
	cr_assert(strstr(ctx.err, "images[0]") && strstr(ctx.err, "UTF-8"), "%s", ctx.err);
	lks_lock_free(&l);
	lks_ctx_free(&ctx);
}

/* ---- atomic writes ---- */

static void save_sample(struct lks_ctx *ctx, const char *path, int want_rc)
{
	struct lks_lock l;
	lks_lock_init(&l);
	for (int i = 1; i <= 200; i++) {
		struct lks_lock_image e = image("Dockerfile", i, "some/long/image-name:tag", 'b');
		cr_assert_eq(lks_lock_upsert_image(ctx, &l, &e), 0);
	}
	int rc = lks_lock_save(ctx, path, &l);
	if (want_rc) {
		cr_assert_lt(rc, 0, "save must fail");
	} else {
		cr_assert_eq(rc, 0, "%s", ctx->err);
	}
	lks_lock_free(&l);
}

static void assert_old_intact(const char *dir, const char *path)
{
	struct lks_buf b, want;
	read_fixture("full.lock", &want);
	lks_buf_init(&b, 0);
	cr_assert_eq(lks_buf_read_file(&b, path), 0);
	cr_assert_str_eq(b.data, want.data, "old lock file changed");
	lks_buf_free(&b);
	lks_buf_free(&want);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", dir);
	cr_assert_eq(system(cmd), 0, "a temp file was left behind in %s", dir);
}

static void copy_full(const char *path)
{
	struct lks_buf b;
	read_fixture("full.lock", &b);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	lks_buf_free(&b);
}

Test(lockfile, unwritable_directory_keeps_old_file)
{
	char dir[128], path[160];
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	snprintf(path, sizeof(path), "%s/lockstep.lock", dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	copy_full(path);
	char cmd[512];
	/* root ignores mode bits; the immutable attribute stops it too (ext4 here). */
	snprintf(cmd, sizeof(cmd), geteuid() == 0 ? "chattr +i '%s'" : "chmod 0555 '%s'", dir);
	if (system(cmd) != 0) {
		cr_skip_test("cannot make %s unwritable", dir);
	}
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	save_sample(&ctx, path, 1);
	cr_assert(strstr(ctx.err, "cannot write") && strstr(ctx.err, path), "%s", ctx.err);
	lks_ctx_free(&ctx);
	snprintf(cmd, sizeof(cmd), "chattr -i '%s' 2>/dev/null; chmod 0755 '%s'", dir, dir);
	cr_assert_eq(system(cmd), 0);
	assert_old_intact(dir, path);
}

Test(lockfile, failed_write_midway_keeps_old_file)
{
	char dir[128], path[160];
	snprintf(dir, sizeof(dir), "%s/full", tmpdir);
	snprintf(path, sizeof(path), "%s/lockstep.lock", dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	copy_full(path);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* A full disk, simulated: writes past 4 KiB fail with EFBIG. */
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = {4096, 4096};
		setrlimit(RLIMIT_FSIZE, &rl);
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		save_sample(&ctx, path, 1);
		_exit(strstr(ctx.err, "cannot write") ? 0 : 3);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	assert_old_intact(dir, path);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	save_sample(&ctx, path, 0);
	lks_ctx_free(&ctx);
}
