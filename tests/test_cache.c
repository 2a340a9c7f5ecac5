/* Tests for the sqlite cache (cache/cache.c). Databases live in fresh temp directories; the
 * "future schema" and "corrupt" cases are made by editing the file's bytes (the sqlite header
 * keeps user_version at offset 60, big-endian), so no other code needs to call sqlite. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/cache.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

static char tmpdir[64];

static void setup_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lks-cache-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(cache, .init = setup_tmp, .fini = teardown_tmp);

static void ctx_at(struct lks_ctx *ctx, const char *sub)
{
	cr_assert_eq(lks_ctx_init(ctx), 0);
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
	ctx->cache_dir = strdup(dir);
	ctx->now = 1795456800;
}

static void db_path(char *out, size_t n, const char *sub)
{
	snprintf(out, n, "%s/%s/cache.sqlite", tmpdir, sub);
}

Test(cache, kv_roundtrip)
{
	struct lks_ctx ctx;
	ctx_at(&ctx, "c");
	static const char bin[] = "a\0b\xff";
	struct {
		const char *ns, *key;
		const void *val;
		size_t len;
	} cases[] = {
	    {"image", "python:3.12-slim", "{\"digest\":\"sha256:00\"}", 22},
	    {"image", "debian:12", "{}", 2},
	    {"apt", "bookworm/main/amd64", bin, sizeof(bin) - 1},
	    {"empty", "", "", 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(
		    lks_cache_put(&ctx, cases[i].ns, cases[i].key, cases[i].val, cases[i].len), 0,
		    "%s", ctx.err);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lks_buf v;
		lks_buf_init(&v, 0);
		time_t at = 0;
		cr_assert_eq(lks_cache_get(&ctx, cases[i].ns, cases[i].key, &v, &at), 0, "%s",
		             ctx.err);
		cr_assert_eq(v.len, cases[i].len);
		cr_assert(!memcmp(v.data, cases[i].val, v.len));
		cr_assert_eq(at, 1795456800);
		lks_buf_free(&v);
	}
	struct lks_buf v;
	lks_buf_init(&v, 0);
	cr_assert_eq(lks_cache_get(&ctx, "image", "nope", &v, NULL), -LKS_E_NOTFOUND);
	cr_assert_eq(lks_cache_get(&ctx, "apt", "debian:12", &v, NULL), -LKS_E_NOTFOUND,
	             "namespaces are separate");
	ctx.now += 60;
	cr_assert_eq(lks_cache_put(&ctx, "image", "debian:12", "{\"x\":1}", 7), 0);
	time_t at;
	cr_assert_eq(lks_cache_get(&ctx, "image", "debian:12", &v, &at), 0);
	cr_assert_str_eq(v.data, "{\"x\":1}");
	cr_assert_eq(at, 1795456860);
	cr_assert_eq(lks_cache_delete(&ctx, "image", "debian:12"), 0);
	cr_assert_eq(lks_cache_delete(&ctx, "image", "debian:12"), 0);
	cr_assert_eq(lks_cache_get(&ctx, "image", "debian:12", &v, NULL), -LKS_E_NOTFOUND);
	lks_buf_free(&v);
	lks_ctx_free(&ctx);
}

Test(cache, persists_refresh_offline_and_caps)
{
	struct lks_ctx ctx;
	ctx_at(&ctx, "c");
	cr_assert_eq(lks_cache_put(&ctx, "image", "alpine:3", "0123456789", 10), 0);
	lks_ctx_free(&ctx);
	ctx_at(&ctx, "c");
	struct lks_buf v;
	lks_buf_init(&v, 0);
	ctx.refresh = true;
	cr_assert_eq(lks_cache_get(&ctx, "image", "alpine:3", &v, NULL), -LKS_E_NOTFOUND);
	ctx.refresh = false;
	ctx.offline = true;
	cr_assert_eq(lks_cache_get(&ctx, "image", "alpine:3", &v, NULL), 0, "%s", ctx.err);
	cr_assert_str_eq(v.data, "0123456789");
	lks_buf_free(&v);
	lks_buf_init(&v, 4);
	cr_assert_eq(lks_cache_get(&ctx, "image", "alpine:3", &v, NULL), -LKS_E_TOOBIG);
	lks_buf_free(&v);
	lks_ctx_free(&ctx);
}

Test(cache, directory_resolution)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_buf d;
	lks_buf_init(&d, 0);
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	setenv("HOME", "/home/u", 1);
	cr_assert_eq(lks_cache_dir(&ctx, &d), 0);
	cr_assert_str_eq(d.data, "/x/cache/lockstep");
	setenv("XDG_CACHE_HOME", "relative/cache", 1);
	cr_assert_eq(lks_cache_dir(&ctx, &d), 0);
	cr_assert_str_eq(d.data, "/home/u/.cache/lockstep", "a relative XDG path is ignored");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	cr_assert_eq(lks_cache_dir(&ctx, &d), -LKS_E_INVAL);
	ctx.cache_dir = strdup("/given");
	cr_assert_eq(lks_cache_dir(&ctx, &d), 0);
	cr_assert_str_eq(d.data, "/given");
	lks_buf_free(&d);
	lks_ctx_free(&ctx);
}

Test(cache, creates_private_parents)
{
	struct lks_ctx ctx;
	ctx_at(&ctx, "a/b/c");
	cr_assert_eq(lks_cache_put(&ctx, "k", "k", "v", 1), 0, "%s", ctx.err);
	const char *subs[] = {"a", "a/b", "a/b/c"};
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", tmpdir, subs[i]);
		struct stat st;
		cr_assert_eq(stat(p, &st), 0);
		cr_assert_eq(st.st_mode & 0777, 0700, "%s has mode %o", p, st.st_mode & 0777);
	}
	lks_ctx_free(&ctx);
	/* A file where the directory should be is a clear error. */
	char f[256];
	snprintf(f, sizeof(f), "%s/file", tmpdir);
	close(open(f, O_CREAT | O_WRONLY, 0600));
	ctx_at(&ctx, "file/sub");
	cr_assert_lt(lks_cache_put(&ctx, "k", "k", "v", 1), 0);
	cr_assert(strstr(ctx.err, "cannot create cache directory"), "%s", ctx.err);
	lks_ctx_free(&ctx);
}

static void poke_user_version(const char *path, unsigned v)
{
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	unsigned char be[4] = {v >> 24, v >> 16, v >> 8, v};
	cr_assert_eq(pwrite(fd, be, 4, 60), 4);
	close(fd);
}

Test(cache, future_schema_is_refused)
{
	struct lks_ctx ctx;
	ctx_at(&ctx, "c");
	cr_assert_eq(lks_cache_put(&ctx, "k", "k", "v", 1), 0);
	lks_ctx_free(&ctx); /* last close checkpoints the WAL into the main file */
	char path[256];
	db_path(path, sizeof(path), "c");
	poke_user_version(path, 99);
	ctx_at(&ctx, "c");
	struct lks_buf v;
	lks_buf_init(&v, 0);
	cr_assert_eq(lks_cache_get(&ctx, "k", "k", &v, NULL), -LKS_E_VERSION);
	char want[256];
	snprintf(want, sizeof(want),
	         "cache schema 99 is newer than this lockstep supports; remove %s/c or upgrade",
	         tmpdir);
	cr_assert_str_eq(ctx.err, want);
	lks_buf_free(&v);
	lks_ctx_free(&ctx);
}

Test(cache, corrupt_file_is_a_clear_error)
{
	static const char text[] = "this is not a database, just some text\n";
	static const char header[] = "SQLite format 3\0garbage-garbage-garbage";
	struct {
		const char *p;
		size_t n;
	} contents[] = {{text, sizeof(text) - 1}, {header, sizeof(header) - 1}};
	for (size_t i = 0; i < ARRAY_SIZE(contents); i++) {
		char sub[16], dir[256], path[256];
		snprintf(sub, sizeof(sub), "bad%zu", i);
		snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
		cr_assert_eq(mkdir(dir, 0700), 0);
		db_path(path, sizeof(path), sub);
		FILE *f = fopen(path, "wb");
		char block[4096];
		memset(block, 'G', sizeof(block));
		memcpy(block, contents[i].p, contents[i].n);
		cr_assert_eq(fwrite(block, 1, sizeof(block), f), sizeof(block));
		fclose(f);
		struct lks_ctx ctx;
		ctx_at(&ctx, sub);
		cr_assert_eq(lks_cache_put(&ctx, "k", "k", "v", 1), -LKS_E_DB);
		cr_assert(strstr(ctx.err, path) && strstr(ctx.err, "damaged"), "%s", ctx.err);
		lks_ctx_free(&ctx);
	}
}

Test(cache, url_keys_drop_credentials)
{
	struct {
		const char *in, *want;
		int rc;
	} cases[] = {
	    {"https://user:s3cret@127.0.0.1:5000/v2/x", "https://127.0.0.1:5000/v2/x", 0},
	    {"https://tok@host/a?b=c#frag", "https://host/a?b=c", 0},
	    {"http://host/a@b", "http://host/a@b", 0},
	    {"https://host/blob?X-Amz-Signature=abc&X-Amz-Expires=60", NULL, -LKS_E_UNSAFE},
	    {"https://host/token?service=s&scope=x", "https://host/token?service=s&scope=x", 0},
	    {"https://host/x?a=1&access_token=zzz", NULL, -LKS_E_UNSAFE},
	    {"https://host/x?token=zzz", NULL, -LKS_E_UNSAFE},
	    {"https://host/x?tokens=1", "https://host/x?tokens=1", 0},
	    {"https:/u:p@host/x", "https:/host/x", 0},
	    {"https:///u:p@host/x", "https:///host/x", 0},
	    {"u:p@host:5000/x", "host:5000/x", 0},
	    {"https:/er:pass@12?/u:p@12?a=b#f://", "https:/12?/u:p@12?a=b", 0},
	};
	struct lks_buf k;
	lks_buf_init(&k, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(lks_cache_url_key(cases[i].in, &k), cases[i].rc, "%s", cases[i].in);
		if (cases[i].want) {
			cr_assert_str_eq(k.data, cases[i].want);
		}
	}
	lks_buf_free(&k);
}

static bool file_contains(const char *path, const char *needle)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	if (lks_buf_read_file(&b, path) < 0) {
		lks_buf_free(&b);
		return false;
	}
	bool found = memmem(b.data, b.len, needle, strlen(needle)) != NULL;
	lks_buf_free(&b);
	return found;
}

Test(cache, http_roundtrip_without_credentials)
{
	struct lks_ctx ctx;
	ctx_at(&ctx, "c");
	struct lks_cache_http r;
	lks_cache_http_init(&r);
	r.etag = strdup("\"abc\"");
	r.content_type = strdup("application/vnd.oci.image.index.v1+json");
	cr_assert_eq(lks_buf_append(&r.body, "{\"m\":1}\0tail", 12), 0);
	cr_assert_eq(
	    lks_cache_http_put(&ctx, "https://bob:hunter2@127.0.0.1:5000/v2/x/manifests/1", &r), 0,
	    "%s", ctx.err);
	cr_assert_eq(lks_cache_http_put(&ctx, "https://127.0.0.1/b?X-Amz-Signature=SIGSIGSIG", &r),
	             0);
	lks_cache_http_free(&r);
	struct lks_cache_http g;
	lks_cache_http_init(&g);
	cr_assert_eq(lks_cache_http_get(&ctx, "https://127.0.0.1:5000/v2/x/manifests/1", &g), 0,
	             "%s", ctx.err);
	cr_assert_str_eq(g.etag, "\"abc\"");
	cr_assert_null(g.last_modified);
	cr_assert_str_eq(g.content_type, "application/vnd.oci.image.index.v1+json");
	cr_assert_eq(g.body.len, 12);
	cr_assert(!memcmp(g.body.data, "{\"m\":1}\0tail", 12));
	cr_assert_eq(g.fetched_at, 1795456800);
	cr_assert_eq(lks_cache_http_get(&ctx, "https://127.0.0.1/b?X-Amz-Signature=SIGSIGSIG", &g),
	             -LKS_E_NOTFOUND);
	ctx.refresh = true;
	cr_assert_eq(lks_cache_http_get(&ctx, "https://127.0.0.1:5000/v2/x/manifests/1", &g),
	             -LKS_E_NOTFOUND);
	lks_cache_http_free(&g);
	lks_ctx_free(&ctx);
	char path[256];
	db_path(path, sizeof(path), "c");
	cr_assert(file_contains(path, "/v2/x/manifests/1"), "the check itself must see the URL");
	cr_assert(!file_contains(path, "hunter2"), "password stored in the cache");
	cr_assert(!file_contains(path, "bob:"), "user name stored in the cache");
	cr_assert(!file_contains(path, "SIGSIGSIG"), "signed URL stored in the cache");
}

Test(cache, seen_keeps_earliest)
{
	struct lks_ctx ctx;
	ctx_at(&ctx, "c");
	struct {
		const char *name;
		time_t when, want;
	} steps[] = {
	    {"bash", 200, 200},
	    {"bash", 100, 100},
	    {"bash", 300, 100},
	    {"zsh", 500, 500},
	};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		time_t first = 0;
		cr_assert_eq(
		    lks_cache_seen(&ctx, "apt", steps[i].name, "1.0", steps[i].when, &first), 0,
		    "%s", ctx.err);
		cr_assert_eq(first, steps[i].want, "step %zu", i);
	}
	time_t first = 0;
	ctx.refresh = true;
	cr_assert_eq(lks_cache_seen(&ctx, "apt", "bash", "1.0", 999, &first), 0);
	cr_assert_eq(first, 100, "refresh does not forget history");
	cr_assert_eq(lks_cache_seen(&ctx, "python", "bash", "1.0", 999, &first), 0);
	cr_assert_eq(first, 999, "kinds are separate");
	lks_ctx_free(&ctx);
}

/* ---- concurrency: 4 processes x 200 writes into one new database, reading meanwhile ---- */

#define WORKERS 4
#define WRITES 200

static int worker(int id, int gate)
{
	char go;
	if (read(gate, &go, 1) != 1) {
		return 10;
	}
	struct lks_ctx ctx;
	ctx_at(&ctx, "shared");
	for (int i = 0; i < WRITES; i++) {
		char key[32], val[64];
		snprintf(key, sizeof(key), "w%d-%d", id, i);
		int n = snprintf(val, sizeof(val), "value of %s", key);
		if (lks_cache_put(&ctx, "conc", key, val, (size_t)n) < 0) {
			fprintf(stderr, "worker %d put %d: %s\n", id, i, ctx.err);
			return 1;
		}
		struct lks_buf v;
		lks_buf_init(&v, 0);
		int rc = lks_cache_get(&ctx, "conc", key, &v, NULL);
		lks_buf_free(&v);
		time_t first;
		if (rc < 0 || lks_cache_seen(&ctx, "apt", "pkg", "1", 1000 + id, &first) < 0 ||
		    first > 1000 + id) {
			fprintf(stderr, "worker %d read/seen %d: %s\n", id, i, ctx.err);
			return 2;
		}
	}
	lks_ctx_free(&ctx);
	return 0;
}

Test(cache, concurrent_processes, .timeout = 120)
{
	int gate[2];
	cr_assert_eq(pipe(gate), 0);
	pid_t pids[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		cr_assert_geq(pids[w], 0);
		if (pids[w] == 0) {
			close(gate[1]);
			_exit(worker(w, gate[0]));
		}
	}
	close(gate[0]);
	/* Release all workers at once so they also race to create the schema. */
	cr_assert_eq(write(gate[1], "gggg", WORKERS), WORKERS);
	close(gate[1]);
	for (int w = 0; w < WORKERS; w++) {
		int status;
		cr_assert_eq(waitpid(pids[w], &status, 0), pids[w]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d failed (%d)", w,
		          status);
	}
	struct lks_ctx ctx;
	ctx_at(&ctx, "shared");
	int found = 0;
	for (int w = 0; w < WORKERS; w++) {
		for (int i = 0; i < WRITES; i++) {
			char key[32];
			snprintf(key, sizeof(key), "w%d-%d", w, i);
			struct lks_buf v;
			lks_buf_init(&v, 0);
			if (lks_cache_get(&ctx, "conc", key, &v, NULL) == 0 &&
			    !strcmp(v.data + 9, key)) {
				found++;
			}
			lks_buf_free(&v);
		}
	}
	cr_assert_eq(found, WORKERS * WRITES);
	time_t first;
	cr_assert_eq(lks_cache_seen(&ctx, "apt", "pkg", "1", 5000, &first), 0);
	cr_assert_eq(first, 1000);
	lks_ctx_free(&ctx);
}
