/* Image diff on hand-made OCI layouts (fixtures/diff/tiny-a, tiny-b): every field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/image.h"
#include "lockstep/imgdiff.h"

static struct lks_ctx ctx;
static struct lks_image_set sa, sb;

static void load(const char *name, struct lks_image_set *s)
{
	char src[4096];
	snprintf(src, sizeof(src), "oci:%s/fixtures/diff/%s", getenv("LKS_SRCDIR"), name);
	int rc = lks_image_set_load(&ctx, src, s);
	cr_assert_eq(rc, 0, "load %s: %s", name, ctx.err);
}

static void setup(void)
{
	lks_ctx_init(&ctx);
	load("tiny-a", &sa);
	load("tiny-b", &sb);
}

static void teardown(void)
{
	lks_image_set_free(&sa);
	lks_image_set_free(&sb);
	lks_ctx_free(&ctx);
}

static const struct lks_file_diff *find(const struct lks_layer_diff *ld, const char *path)
{
	for (size_t i = 0; i < ld->n_files; i++) {
		if (!strcmp(ld->files[i].path, path)) {
			return &ld->files[i];
		}
	}
	return NULL;
}

/* Expected differences of layer 2 in the default profile; 0 = no difference reported. */
static const struct {
	const char *path;
	uint32_t fields;
} layer2[] = {
    {"mode.txt", LKS_F_MODE},
    {"owner.txt", LKS_F_UID | LKS_F_UNAME},
    {"x.txt", LKS_F_XATTR},
    {"link", LKS_F_LINK},
    {"dev/null2", LKS_F_RDEV},
    {"usr/lib/python3/__pycache__/m.cpython-311.pyc", LKS_F_CONTENT},
    {"bad\xff.bin", LKS_F_CONTENT},
    {"opq/.wh..wh..opq", LKS_F_ADDED},
    {"etc/.wh.os-release", LKS_F_ADDED},
    {"hl/a", 0}, /* hardlink direction flipped: same group */
    {"hl/b", 0},
    {"same.txt", 0}, /* mtime only: normalised */
};

Test(imgdiff, every_field_default_profile, .init = setup, .fini = teardown)
{
	struct lks_diff_opts o = {0};
	struct lks_diff_result r;
	cr_assert_eq(lks_diff_images(&ctx, &sa, &sb, &o, &r), 0, "%s", ctx.err);
	cr_assert(r.differs);
	cr_assert_eq(r.n_platforms, 1);
	const struct lks_platform_diff *pd = &r.platforms[0];
	cr_assert_eq(pd->n_layers, 3);
	cr_assert_eq(pd->layers[0].status, LKS_LAYER_SAME);
	cr_assert_not_null(strstr(pd->layers[0].compression, "uncompressed content identical"));
	cr_assert_not_null(strstr(pd->layers[0].compression, "gzip header mtime"));
	cr_assert_eq(pd->layers[1].status, LKS_LAYER_DIFFERS);
	cr_assert_eq(pd->layers[2].status, LKS_LAYER_ADDED);
	for (size_t i = 0; i < sizeof(layer2) / sizeof(layer2[0]); i++) {
		const struct lks_file_diff *fd = find(&pd->layers[1], layer2[i].path);
		uint32_t got = fd ? fd->fields : 0;
		cr_assert_eq(got, layer2[i].fields, "%s: fields %#x, want %#x", layer2[i].path, got,
		             layer2[i].fields);
	}
	cr_assert_eq(pd->layers[1].n_timestamps, 1);
	cr_assert_eq(pd->layers[1].history_index, 2); /* the ENV entry is an empty layer */
	cr_assert_not_null(
	    find(&pd->layers[1], "usr/lib/python3/__pycache__/m.cpython-311.pyc")->cause);
	bool leak = false;
	for (size_t i = 0; i < pd->n_config; i++) {
		leak |= !strcmp(pd->config[i].path, "history[2].created_by") &&
		        pd->config[i].cause && strstr(pd->config[i].cause, "build-arg");
	}
	cr_assert(leak, "build-arg leakage not explained");
	lks_diff_result_free(&r);
}

Test(imgdiff, strict_counts_timestamps_and_compression, .init = setup, .fini = teardown)
{
	struct lks_diff_opts o = {.strict = true, .jobs = 1};
	struct lks_diff_result r;
	cr_assert_eq(lks_diff_images(&ctx, &sa, &sb, &o, &r), 0, "%s", ctx.err);
	const struct lks_platform_diff *pd = &r.platforms[0];
	cr_assert_eq(pd->layers[0].status, LKS_LAYER_DIFFERS);
	const struct lks_file_diff *fd = find(&pd->layers[1], "same.txt");
	cr_assert_not_null(fd);
	cr_assert_eq(fd->fields, LKS_F_MTIME);
	cr_assert_eq(pd->n_timestamps, 0);
	lks_diff_result_free(&r);
}

Test(imgdiff, ignore_glob_is_counted, .init = setup, .fini = teardown)
{
	const char *ign[] = {"*.pyc", "/x.txt"};
	struct lks_diff_opts o = {.ignore = ign, .n_ignore = 2};
	struct lks_diff_result r;
	cr_assert_eq(lks_diff_images(&ctx, &sa, &sb, &o, &r), 0, "%s", ctx.err);
	const struct lks_layer_diff *ld = &r.platforms[0].layers[1];
	cr_assert_null(find(ld, "usr/lib/python3/__pycache__/m.cpython-311.pyc"));
	cr_assert_null(find(ld, "x.txt"));
	cr_assert_eq(ld->n_files_normalized, 3); /* same.txt, the .pyc, x.txt */
	lks_diff_result_free(&r);
}

Test(imgdiff, same_image_is_same, .init = setup, .fini = teardown)
{
	struct lks_diff_opts o = {.strict = true};
	struct lks_diff_result r;
	cr_assert_eq(lks_diff_images(&ctx, &sa, &sa, &o, &r), 0, "%s", ctx.err);
	cr_assert(!r.differs);
	cr_assert_eq(r.platforms[0].layers[1].status, LKS_LAYER_IDENTICAL);
	lks_diff_result_free(&r);
}

Test(imgdiff, tampered_blob_is_a_hard_error, .init = setup, .fini = teardown)
{
	struct lks_image_set bad;
	load("bad-blob", &bad);
	struct lks_diff_opts o = {0};
	struct lks_diff_result r;
	int rc = lks_diff_images(&ctx, &bad, &sb, &o, &r);
	cr_assert_eq(rc, -LKS_E_DIGEST, "rc %d: %s", rc, ctx.err);
	cr_assert_not_null(strstr(ctx.err, "does not match its digest"), "%s", ctx.err);
	lks_diff_result_free(&r);
	lks_image_set_free(&bad);
}

Test(imgdiff, unknown_profile_is_rejected, .init = setup, .fini = teardown)
{
	const char *prof[] = {"nope"};
	struct lks_diff_opts o = {.profiles = prof, .n_profiles = 1};
	struct lks_diff_result r;
	cr_assert_eq(lks_diff_images(&ctx, &sa, &sb, &o, &r), -LKS_E_INVAL);
	lks_diff_result_free(&r);
}
