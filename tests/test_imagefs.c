/* Tests for reading files out of image layers (common/imagefs*.c): layers are tars built here
 * in C, so every whiteout, link and cap case is exactly what it claims to be. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/imagefs.h"
#include "tests/tarw.h"

#define MAX_LAYERS 4

struct img {
	struct lks_buf l[MAX_LAYERS];
	size_t n;
	int calls;
	bool ended;
};

static struct lks_buf *layer(struct img *im)
{
	struct lks_buf *b = &im->l[im->n++];
	lks_buf_init(b, 0);
	return b;
}

static void F(struct lks_buf *b, const char *name, const char *content)
{
	tar_file(b, (struct th){.name = name, .type = '0'}, content, strlen(content));
}

static void S(struct lks_buf *b, const char *name, const char *target)
{
	tar_file(b, (struct th){.name = name, .type = '2', .link = target, .mode = 0777}, "", 0);
}

static void H(struct lks_buf *b, const char *name, const char *target)
{
	tar_file(b, (struct th){.name = name, .type = '1', .link = target}, "", 0);
}

static void D(struct lks_buf *b, const char *name)
{
	tar_file(b, (struct th){.name = name, .type = '5', .mode = 0755}, "", 0);
}

static int feed(struct lks_ctx *ctx, void *opaque, size_t i, struct lks_imagefs_scan *scan)
{
	struct img *im = opaque;
	im->calls++;
	return lks_imagefs_scan_layer_mem(scan, "test", im->l[i].data, im->l[i].len);
}

static int read_img(struct lks_ctx *ctx, struct img *im, const struct lks_imagefs_req *reqs,
                    size_t n, const struct lks_imagefs_opts *opts, struct lks_imagefs *out)
{
	for (size_t i = 0; !im->ended && i < im->n; i++) {
		tar_end(&im->l[i]);
	}
	im->ended = true;
	struct lks_imagefs_source src = {im->n, feed, im};
	return lks_imagefs_read_source(ctx, &src, reqs, n, opts, out);
}

static void img_free(struct img *im)
{
	for (size_t i = 0; i < im->n; i++) {
		lks_buf_free(&im->l[i]);
	}
}

static const char *content(const struct lks_imagefs *fs, const char *path)
{
	const struct lks_imagefs_file *f = lks_imagefs_get(fs, path);
	return f ? f->data : NULL;
}

#define APT_REQS                                                                                   \
	{"/etc/os-release", false}, {"/etc/apt/sources.list", false},                              \
	    {"/etc/apt/sources.list.d/*", false}, {"/usr/bin/dpkg", true}

Test(imagefs, later_layers_win_and_globs_match)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im), *l1 = layer(&im);
	D(l0, "./etc/");
	F(l0, "./etc/os-release", "ID=debian\n");
	F(l0, "./etc/apt/sources.list", "deb http://a/ x main\n");
	F(l0, "./etc/apt/sources.list.d/a.list", "A");
	F(l0, "./etc/apt/sources.list.d/.hidden", "H");
	F(l0, "./usr/bin/dpkg", "ELF....");
	F(l1, "etc/apt/sources.list", "deb http://b/ y main\n");
	F(l1, "/etc/apt/sources.list.d/b.sources", "B");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list"), "deb http://b/ y main\n");
	cr_assert_str_eq(content(&fs, "/etc/os-release"), "ID=debian\n");
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list.d/a.list"), "A");
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list.d/b.sources"), "B");
	cr_assert_null(lks_imagefs_get(&fs, "/etc/apt/sources.list.d/.hidden"));
	const struct lks_imagefs_file *dpkg = lks_imagefs_get(&fs, "/usr/bin/dpkg");
	cr_assert_not_null(dpkg);
	cr_assert_null(dpkg->data);
	cr_assert_eq(dpkg->len, 7);
	cr_assert_eq(fs.n, 5);
	cr_assert_eq(im.calls, 2, "one pass over the layers");
	lks_imagefs_free(&fs);
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, whiteouts_hide_lower_layers_only)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im), *l1 = layer(&im), *l2 = layer(&im);
	F(l0, "etc/apt/sources.list.d/a.list", "A0");
	F(l0, "etc/apt/sources.list.d/b.list", "B0");
	F(l0, "etc/apt/sources.list", "S0");
	F(l0, "etc/os-release", "O0");
	/* a layer's own file survives its whiteout, whatever the order */
	F(l1, "etc/apt/sources.list.d/a.list", "A1");
	F(l1, "etc/apt/sources.list.d/.wh.a.list", "");
	F(l1, "etc/apt/sources.list.d/.wh.b.list", "");
	F(l1, "etc/.wh.os-release", "");
	F(l1, "etc/apt/.wh..wh.plnk", "");
	F(l2, "etc/apt/.wh.sources.list", "");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list.d/a.list"), "A1");
	cr_assert_null(content(&fs, "/etc/apt/sources.list.d/b.list"));
	cr_assert_null(content(&fs, "/etc/os-release"));
	cr_assert_null(content(&fs, "/etc/apt/sources.list"));
	cr_assert_eq(fs.n, 1);
	lks_imagefs_free(&fs);
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, opaque_dirs_and_directory_whiteouts)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im), *l1 = layer(&im), *l2 = layer(&im);
	F(l0, "etc/apt/sources.list.d/a.list", "A");
	F(l0, "etc/apt/sources.list.d/b.list", "B");
	F(l0, "etc/apt/sources.list", "S");
	F(l1, "etc/apt/sources.list.d/c.list", "C");
	F(l1, "etc/apt/sources.list.d/.wh..wh..opq", "");
	F(l2, "etc/.wh.apt", "");
	F(l2, "etc/apt/sources.list.d/d.list", "D"); /* a new dir in the same layer */
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	cr_assert_eq(fs.n, 1);
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list.d/d.list"), "D");
	lks_imagefs_free(&fs);
	/* without the last layer: the opaque dir hides a and b, keeps its own c and the parent */
	im.n = 2;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	cr_assert_eq(fs.n, 2);
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list.d/c.list"), "C");
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list"), "S");
	lks_imagefs_free(&fs);
	im.n = 3;
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, files_replace_dirs_and_dirs_replace_links)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im), *l1 = layer(&im);
	F(l0, "etc/apt/sources.list.d/a.list", "A");
	S(l0, "etc/os-release", "../usr/lib/os-release");
	F(l0, "usr/lib/os-release", "LOWER");
	F(l1, "etc/apt/sources.list.d", "now a file");
	D(l1, "etc/os-release/");
	F(l1, "etc/os-release/x", "");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	cr_assert_eq(fs.n, 0, "%s", fs.n ? fs.v[0].path : "");
	lks_imagefs_free(&fs);
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, symlinks_are_followed_inside_the_image)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im), *l1 = layer(&im);
	S(l0, "etc/os-release", "../usr/lib/os-release");
	F(l0, "usr/lib/os-release", "ID=debian\n");
	S(l0, "etc/apt", "/opt/apt");
	F(l0, "opt/apt/sources.list.d/x.list", "X");
	S(l1, "opt/apt/sources.list.d/y.list", "../../../../../../../srv/y");
	F(l1, "srv/y", "Y");
	S(l1, "opt/apt/sources.list", "./real/../real/./list");
	F(l1, "opt/apt/real/list", "L");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	cr_assert_str_eq(content(&fs, "/etc/os-release"), "ID=debian\n");
	cr_assert_str_eq(lks_imagefs_get(&fs, "/etc/os-release")->resolved, "/usr/lib/os-release");
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list.d/x.list"), "X");
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list.d/y.list"), "Y");
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list"), "L");
	cr_assert_eq(fs.n, 4);
	lks_imagefs_free(&fs);
	img_free(&im);
	lks_ctx_free(&ctx);
}

/* ".." past the root stays at the image root: the host's /etc/passwd is never named. */
Test(imagefs, escaping_links_stay_in_the_image)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im);
	F(l0, "etc/passwd", "root:image\n");
	S(l0, "etc/apt/sources.list", "../../../../../../../../etc/passwd");
	S(l0, "etc/os-release", "/../../etc/passwd");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list"), "root:image\n");
	cr_assert_str_eq(content(&fs, "/etc/os-release"), "root:image\n");
	lks_imagefs_free(&fs);
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, link_loops_and_unsafe_entries_fail)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im);
	S(l0, "etc/os-release", "a");
	S(l0, "etc/a", "b");
	S(l0, "etc/b", "/etc/a");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), -LKS_E_UNSAFE);
	cr_assert(strstr(ctx.err, "too many levels of symbolic links"), "%s", ctx.err);
	cr_assert_eq(fs.n, 0);
	img_free(&im);
	im = (struct img){0};
	F(layer(&im), "etc/../../x", "x");
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), -LKS_E_UNSAFE);
	cr_assert(strstr(ctx.err, "outside the root: 'etc/../../x'"), "%s", ctx.err);
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, hardlinks_share_their_target)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im);
	F(l0, "usr/share/x", "shared");
	H(l0, "etc/os-release", "usr/share/x");
	F(l0, "etc/apt/sources.list", "S");
	H(l0, "etc/apt/sources.list.d/s.list", "etc/apt/sources.list");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	cr_assert_str_eq(content(&fs, "/etc/os-release"), "shared");
	cr_assert_str_eq(content(&fs, "/etc/apt/sources.list.d/s.list"), "S");
	cr_assert_eq(im.calls, 2, "a second pass keeps the link's target");
	lks_imagefs_free(&fs);
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, caps)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im);
	F(l0, "etc/apt/sources.list.d/a.list", "0123456789");
	F(l0, "etc/apt/sources.list.d/b.list", "0123456789");
	F(l0, "etc/big-but-unwanted", "0123456789012345678901234567890123456789");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs;
	struct lks_imagefs_opts o = {.file_max = 9};
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, &o, &fs), -LKS_E_TOOBIG);
	cr_assert(strstr(ctx.err, "'/etc/apt/sources.list.d/a.list' in layer test is larger than 9"),
	          "%s", ctx.err);
	o = (struct lks_imagefs_opts){.file_max = 10, .total_max = 15};
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, &o, &fs), -LKS_E_TOOBIG);
	cr_assert(strstr(ctx.err, "exceed 15 bytes"), "%s", ctx.err);
	o.total_max = 20;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, &o, &fs), 0, "%s", ctx.err);
	cr_assert_eq(fs.n, 2);
	lks_imagefs_free(&fs);
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, bad_requests)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	F(layer(&im), "etc/x", "x");
	struct lks_imagefs fs;
	struct lks_imagefs_req rel[] = {{"etc/x", false}};
	cr_assert_eq(read_img(&ctx, &im, rel, 1, NULL, &fs), -LKS_E_INVAL);
	struct lks_imagefs_req glob[] = {{"/etc/*/x", false}};
	cr_assert_eq(read_img(&ctx, &im, glob, 1, NULL, &fs), -LKS_E_INVAL);
	struct lks_imagefs_req root[] = {{"/", false}};
	cr_assert_eq(read_img(&ctx, &im, root, 1, NULL, &fs), -LKS_E_INVAL);
	img_free(&im);
	lks_ctx_free(&ctx);
}

Test(imagefs, save_restore_roundtrip)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct img im = {0};
	struct lks_buf *l0 = layer(&im);
	F(l0, "etc/os-release", "ID=debian\n");
	tar_file(l0, (struct th){.name = "etc/apt/sources.list.d/k.list", .type = '0'}, "a\0b", 3);
	F(l0, "usr/bin/dpkg", "ELF");
	struct lks_imagefs_req reqs[] = {APT_REQS};
	struct lks_imagefs fs, back;
	cr_assert_eq(read_img(&ctx, &im, reqs, 4, NULL, &fs), 0, "%s", ctx.err);
	fs.arch = strdup("arm64");
	struct lks_buf b;
	lks_buf_init(&b, 0);
	cr_assert_eq(lks_imagefs_save(&fs, &b), 0);
	cr_assert_eq(lks_imagefs_restore(&ctx, b.data, b.len, &back), 0, "%s", ctx.err);
	cr_assert_eq(back.n, 3);
	cr_assert_str_eq(back.arch, "arm64");
	cr_assert_null(back.os);
	const struct lks_imagefs_file *k = lks_imagefs_get(&back, "/etc/apt/sources.list.d/k.list");
	cr_assert_eq(k->len, 3);
	cr_assert_eq(memcmp(k->data, "a\0b", 3), 0);
	cr_assert_null(lks_imagefs_get(&back, "/usr/bin/dpkg")->data);
	for (size_t cut = 0; cut < b.len; cut += 7) {
		struct lks_imagefs t;
		cr_assert_lt(lks_imagefs_restore(&ctx, b.data, cut, &t), 0);
	}
	lks_imagefs_free(&back);
	lks_imagefs_free(&fs);
	lks_buf_free(&b);
	img_free(&im);
	lks_ctx_free(&ctx);
}
