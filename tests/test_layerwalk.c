/* Layer walker: normalisation of paths, hostile layers, hardlink groups, bounded entries. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/layerwalk.h"

static long fd_read(void *opaque, void *buf, size_t n)
{
	return read(*(int *)opaque, buf, n);
}

static int walk_fixture(const char *name, struct lks_layer_index *ix, struct lks_ctx *ctx,
                        const struct lks_archive_limits *lim)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/diff/%s", getenv("LKS_SRCDIR"), name);
	int fd = open(path, O_RDONLY);
	cr_assert(fd >= 0, "cannot open %s", path);
	lks_layer_index_init(ix);
	int rc = lks_layer_walk_cb(ctx, fd_read, &fd, lim, ix);
	close(fd);
	return rc;
}

static const struct {
	const char *in, *out;
	int rc;
} norm_cases[] = {
    {"./a/b/", "a/b", 0},          {"/etc//passwd", "etc/passwd", 0},
    {"a/./b", "a/b", 0},           {"./", "", 0},
    {"../x", NULL, -LKS_E_UNSAFE}, {"a/../../b", NULL, -LKS_E_UNSAFE},
    {"a/..b", "a/..b", 0},         {"...", "...", 0},
};

Test(layerwalk, norm_path_table)
{
	for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", norm_cases[i].in);
		cr_assert_eq(lks_layer_norm_path(buf), norm_cases[i].rc, "case %s",
		             norm_cases[i].in);
		if (norm_cases[i].out) {
			cr_assert_str_eq(buf, norm_cases[i].out, "case %s", norm_cases[i].in);
		}
	}
}

/* Each hostile layer fails with a clear error, never a crash. */
static const struct {
	const char *file;
	int rc;
	const char *msg; /* substring of the detail */
} hostile[] = {
    {"dotdot.tar", -LKS_E_UNSAFE, "escapes the root"},
    {"symlink-escape.tar", -LKS_E_UNSAFE, "symlink"},
    {"huge-claim.tar", -LKS_E_TOOBIG, "claims"},
    {"bomb.tar.zst", -LKS_E_UNSAFE, ""},
    {"truncated.tar.gz", -LKS_E_ARCHIVE, ""},
};

Test(layerwalk, hostile_layers_table)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_layer_index ix;
		int rc = walk_fixture(hostile[i].file, &ix, &ctx, NULL);
		cr_assert_eq(rc, hostile[i].rc, "%s: rc %d (%s)", hostile[i].file, rc, ctx.err);
		cr_assert(strstr(ctx.err, hostile[i].msg), "%s: detail '%s'", hostile[i].file,
		          ctx.err);
		lks_layer_index_free(&ix);
		lks_ctx_free(&ctx);
	}
}

Test(layerwalk, absolute_paths_are_rooted)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_layer_index ix;
	cr_assert_eq(walk_fixture("absolute.tar", &ix, &ctx, NULL), 0, "%s", ctx.err);
	cr_assert_not_null(lks_layer_find(&ix, "etc/abs"));
	lks_layer_index_free(&ix);
	lks_ctx_free(&ctx);
}

/* An endless stream of empty entries: stopped by the entry cap, memory stays bounded. */
struct gen {
	unsigned long n;
	char hdr[512];
	size_t off;
};

static void make_header(struct gen *g)
{
	memset(g->hdr, 0, sizeof(g->hdr));
	snprintf(g->hdr, 100, "e%lu", g->n++);
	memcpy(g->hdr + 100, "0000644", 7);
	memcpy(g->hdr + 124, "00000000000", 11);
	memcpy(g->hdr + 136, "00000000000", 11);
	g->hdr[156] = '0';
	memcpy(g->hdr + 257, "ustar", 6);
	memcpy(g->hdr + 263, "00", 2);
	memset(g->hdr + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++) {
		sum += (unsigned char)g->hdr[i];
	}
	snprintf(g->hdr + 148, 8, "%06o", sum);
}

static long gen_read(void *opaque, void *buf, size_t n)
{
	struct gen *g = opaque;
	size_t done = 0;
	while (done < n) {
		if (g->off == 0) {
			make_header(g);
		}
		size_t k = 512 - g->off < n - done ? 512 - g->off : n - done;
		memcpy((char *)buf + done, g->hdr + g->off, k);
		done += k;
		g->off = (g->off + k) % 512;
	}
	return (long)done;
}

Test(layerwalk, endless_empty_entries_hit_the_cap)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_archive_limits lim = {.max_entries = 20000,
	                                 .max_entry_size = 1 << 20,
	                                 .max_total = 1 << 30,
	                                 .max_ratio = 1000};
	struct lks_layer_index ix;
	lks_layer_index_init(&ix);
	struct gen g = {0};
	int rc = lks_layer_walk_cb(&ctx, gen_read, &g, &lim, &ix);
	cr_assert_eq(rc, -LKS_E_TOOBIG, "rc %d: %s", rc, ctx.err);
	cr_assert(ix.n <= 20000);
	lks_layer_index_free(&ix);
	lks_ctx_free(&ctx);
}
