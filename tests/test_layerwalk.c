/* Layer walker: normalisation of paths, hostile layers, hardlink groups, bounded entries. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/buf.h"
#include "lockstep/imgdiff.h"
#include "verifier/layerwalk.h"

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

/* A ustar header for an empty entry. */
static void tar_header(char hdr[512], const char *name, unsigned mode, char type,
                       const char *link)
{
	memset(hdr, 0, 512);
	memcpy(hdr, name, strnlen(name, 99));
	snprintf(hdr + 100, 8, "%07o", mode);
	memcpy(hdr + 108, "0000000", 7);
	memcpy(hdr + 116, "0000000", 7);
	memcpy(hdr + 124, "00000000000", 11);
	memcpy(hdr + 136, "00000000000", 11);
	hdr[156] = type;
	memcpy(hdr + 157, link, strnlen(link, 99));
	memcpy(hdr + 257, "ustar", 6);
	memcpy(hdr + 263, "00", 2);
	memset(hdr + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++) {
		sum += (unsigned char)hdr[i];
	}
	snprintf(hdr + 148, 8, "%06o", sum);
}

static void make_header(struct gen *g)
{
	char name[32];
	snprintf(name, sizeof(name), "e%lu", g->n++);
	tar_header(g->hdr, name, 0644, '0', "");
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

/* A generated layer: files, directories, symlinks, hardlinks (direction set by `flip`),
 * repeated paths, and a mode change on side b; n entries. */
struct genl {
	unsigned long i, n;
	int side;
	char hdr[512];
	size_t off;
};

static void genl_header(struct genl *g)
{
	unsigned long i = g->i++;
	char name[100], link[100] = "";
	char type = '0';
	unsigned mode = 0644;
	snprintf(name, sizeof(name), "d%03lu/f%06lu", i % 97, i);
	if (i % 50 == 1) {
		type = '5';
		snprintf(name, sizeof(name), "d%03lu", i % 97);
		mode = 0755;
	} else if (i % 50 == 2) {
		type = '2';
		snprintf(link, sizeof(link), "../target%lu", i);
	} else if (i % 50 == 4) { /* hardlink to the previous (regular) entry, or the reverse */
		type = '1';
		snprintf(link, sizeof(link), "d%03lu/f%06lu", (i - 1) % 97, i - 1);
		if (g->side && i % 100 == 4) {
			snprintf(name, sizeof(name), "d%03lu/f%06lu", (i - 1) % 97, i - 1);
			snprintf(link, sizeof(link), "d%03lu/f%06lu", i % 97, i);
		}
	} else if (i % 50 == 5) {
		snprintf(name, sizeof(name), "d%03lu/f%06lu", (i - 2) % 97, i - 2); /* repeated */
		mode = 0600;
	} else if (i % 1000 == 7 && g->side) {
		mode = 0664;
	}
	tar_header(g->hdr, name, mode, type, link);
}

static long genl_read(void *opaque, void *buf, size_t n)
{
	struct genl *g = opaque;
	size_t done = 0;
	while (done < n) {
		if (g->off == 0 && g->i >= g->n) {
			if (g->i >= g->n + 2) {
				break;
			}
			memset(g->hdr, 0, sizeof(g->hdr)); /* two zero blocks end the tar */
			g->i++;
		} else if (g->off == 0) {
			genl_header(g);
		}
		size_t k = 512 - g->off < n - done ? 512 - g->off : n - done;
		memcpy((char *)buf + done, g->hdr + g->off, k);
		done += k;
		g->off = (g->off + k) % 512;
	}
	return (long)done;
}

/* "path fields" lines of a layer comparison, for comparing two runs of it. */
static void summary(const struct lks_layer_diff *ld, struct lks_buf *out)
{
	lks_buf_printf(out, "differ %zu normalized %zu order %d entries %zu %zu\n",
	               ld->n_files_differ, ld->n_files_normalized, ld->order_differs,
	               ld->n_entries_a, ld->n_entries_b);
	for (size_t i = 0; i < ld->n_files; i++) {
		lks_buf_printf(out, "%s %#x %#x\n", ld->files[i].path, ld->files[i].fields,
		               ld->files[i].ignored);
	}
}

static void gen_diff(unsigned long n, size_t spill_at, bool swap, struct lks_buf *out)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_layer_index ix[2];
	for (int s = 0; s < 2; s++) {
		struct genl g = {.n = n, .side = s};
		lks_layer_index_init(&ix[s]);
		ix[s].spill_at = spill_at;
		cr_assert_eq(lks_layer_walk_cb(&ctx, genl_read, &g, NULL, &ix[s]), 0, "%s", ctx.err);
		cr_assert(ix[s].spill || !spill_at || spill_at > n / 2);
	}
	struct lks_diff_opts o = {.strict = true};
	struct lks_layer_diff ld;
	memset(&ld, 0, sizeof(ld));
	cr_assert_eq(lks_diff_layer_pair(&ix[swap], &ix[!swap], &o, &ld), 0);
	summary(&ld, out);
	lks_layer_diff_free(&ld);
	lks_layer_index_free(&ix[0]);
	lks_layer_index_free(&ix[1]);
	lks_ctx_free(&ctx);
}

/* Spilling changes nothing in the result: every field, hardlink groups whose direction
 * flips, repeated paths (the last wins), counts and order, whatever the run size. */
Test(layerwalk, spilled_index_compares_like_memory)
{
	struct lks_buf want, got;
	lks_buf_init(&want, 0);
	gen_diff(10000, 0, false, &want);
	cr_assert_not_null(strstr(want.data, " 0x8000 "), "no hardlink difference:\n%.2000s",
	                   want.data);
	static const size_t runs[] = {100, 1000, 9000};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		lks_buf_init(&got, 0);
		gen_diff(10000, runs[i], false, &got);
		cr_assert_str_eq(got.data, want.data, "spill_at %zu", runs[i]);
		lks_buf_free(&got);
	}
	lks_buf_free(&want);
}
