/* Image diff on hand-made OCI layouts (fixtures/diff/tiny-a, tiny-b): every field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/image.h"
#include "lockstep/imgdiff.h"
#include "lockstep/json.h"
#include "lockstep/report.h"
#include "lockstep/buf.h"

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

static const struct lks_json_diff *jfind(const struct lks_json_diff *v, size_t n, const char *p)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].path, p)) {
			return &v[i];
		}
	}
	return NULL;
}

/* Annotations and media types of the manifest, of its index descriptor and of the top-level
 * index are compared; the layout's ref name is normalised away (counted, not deciding). */
Test(imgdiff, manifest_and_index_annotations_and_media_types, .init = setup, .fini = teardown)
{
	struct lks_image_set c;
	load("tiny-a", &c);
	json_t *desc = sa.images[0].desc;
	cr_assert_not_null(desc);
	cr_assert_not_null(c.top);
	json_object_set_new(c.top, "annotations", json_pack("{s:s}", "com.example.ci", "run-2"));
	json_object_set_new(c.images[0].manifest, "mediaType",
	                    json_string("application/vnd.docker.distribution.manifest.v2+json"));
	json_object_set_new(c.images[0].manifest, "annotations",
	                    json_pack("{s:s}", "org.opencontainers.image.revision", "abc"));
	json_object_set_new(c.images[0].desc, "annotations",
	                    json_pack("{s:s,s:s}", "org.opencontainers.image.ref.name", "other",
	                              "com.example.k", "v"));
	struct lks_diff_opts o = {0};
	struct lks_diff_result r;
	cr_assert_eq(lks_diff_images(&ctx, &sa, &c, &o, &r), 0, "%s", ctx.err);
	cr_assert(r.differs);
	const struct lks_platform_diff *pd = &r.platforms[0];
	cr_assert(pd->differs);
	static const char *const counted[] = {"manifest.mediaType",
	                                      "manifest.annotations.org.opencontainers.image.revision",
	                                      "descriptor.annotations.com.example.k"};
	for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
		const struct lks_json_diff *d = jfind(pd->manifest, pd->n_manifest, counted[i]);
		cr_assert_not_null(d, "%s not reported", counted[i]);
		cr_assert(!d->normalized && !d->derived, "%s does not count", counted[i]);
	}
	const struct lks_json_diff *ref = jfind(
	    pd->manifest, pd->n_manifest, "descriptor.annotations.org.opencontainers.image.ref.name");
	cr_assert(ref && ref->normalized, "ref.name not normalised");
	const struct lks_json_diff *ix = jfind(r.index, r.n_index, "index.annotations.com.example.ci");
	cr_assert(ix && !ix->normalized && !ix->a && !strcmp(ix->b, "\"run-2\""),
	          "index annotations not compared");
	static const struct {
		enum lks_report_format f;
		const char *needle;
	} shown[] = {
	    {LKS_REPORT_TEXT, "manifest: manifest.mediaType: \"application/vnd.oci.image.manifest."
	                      "v1+json\" \xe2\x86\x92 \"application/vnd.docker.distribution."},
	    {LKS_REPORT_TEXT, "index: index.annotations.com.example.ci: (absent) \xe2\x86\x92 "
	                      "\"run-2\""},
	    {LKS_REPORT_MARKDOWN, "| `descriptor.annotations.com.example.k` | `(absent)` | "
	                          "`\"v\"` | differs |"},
	    {LKS_REPORT_MARKDOWN, "| index | A | B | |"},
	    {LKS_REPORT_HTML, "<tr class=\"differs\"><td>index.annotations.com.example.ci</td>"
	                      "<td>(absent)</td><td>&quot;run-2&quot;</td><td>differs</td></tr>"},
	    {LKS_REPORT_JSON, "\"path\": \"index.annotations.com.example.ci\""},
	};
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		struct lks_buf b;
		lks_buf_init(&b, 0);
		cr_assert_eq(lks_report_render(&ctx, &r, shown[i].f, false, &b), 0);
		cr_assert_not_null(strstr(b.data, shown[i].needle), "format %d lacks '%s':\n%s",
		                   shown[i].f, shown[i].needle, b.data);
		lks_buf_free(&b);
	}
	lks_diff_result_free(&r);
	/* The same image against itself: nothing at any level. */
	cr_assert_eq(lks_diff_images(&ctx, &c, &c, &o, &r), 0, "%s", ctx.err);
	cr_assert(!r.differs && r.n_index == 0 && r.platforms[0].n_manifest == 0);
	lks_diff_result_free(&r);
	lks_image_set_free(&c);
}

/* A source string for a fixture: "KIND:<srcdir>/fixtures/diff/NAME". */
static void src_of(char *out, size_t cap, const char *kind, const char *name)
{
	snprintf(out, cap, "%s:%s/fixtures/diff/%s", kind, getenv("LKS_SRCDIR"), name);
}

/* Hostile twins of a clean image: each must be an error, never "same", strict or not. */
static const struct {
	const char *a, *b; /* "kind:name" relative to fixtures/diff */
	int rc;
	const char *msg;
} tampered[] = {
    {"docker-archive:docker-old.tar", "docker-archive:docker-old-tampered.tar", -LKS_E_DIGEST,
     "does not match its digest"},
    {"docker-archive:docker-old.tar", "docker-archive:docker-old-dup.tar", -LKS_E_UNSAFE,
     "twice"},
    {"oci:tiny-a", "oci:tampered-a", -LKS_E_DIGEST, "does not match its digest"},
    {"oci:tiny-a", "oci-archive:tampered-a.tar", -LKS_E_DIGEST, "does not match its digest"},
    {"oci-archive:tampered-a.tar", "oci-archive:tampered-a.tar", -LKS_E_DIGEST,
     "does not match its digest"},
};

static void load_src(const char *spec, struct lks_image_set *s)
{
	char kind[32], src[4096];
	const char *colon = strchr(spec, ':');
	snprintf(kind, sizeof(kind), "%.*s", (int)(colon - spec), spec);
	src_of(src, sizeof(src), kind, colon + 1);
	cr_assert_eq(lks_image_set_load(&ctx, src, s), 0, "load %s: %s", spec, ctx.err);
}

Test(imgdiff, tampered_blobs_are_never_same, .init = setup, .fini = teardown)
{
	for (size_t i = 0; i < sizeof(tampered) / sizeof(tampered[0]); i++) {
		for (int strict = 0; strict < 2; strict++) {
			struct lks_image_set a, b;
			load_src(tampered[i].a, &a);
			load_src(tampered[i].b, &b);
			struct lks_diff_opts o = {.strict = strict};
			struct lks_diff_result r;
			ctx.err[0] = '\0';
			int rc = lks_diff_images(&ctx, &a, &b, &o, &r);
			cr_expect_eq(rc, tampered[i].rc, "%s vs %s: rc %d: %s", tampered[i].a,
				     tampered[i].b, rc, ctx.err);
			cr_expect_not_null(strstr(ctx.err, tampered[i].msg), "%s", ctx.err);
			lks_diff_result_free(&r);
			lks_image_set_free(&a);
			lks_image_set_free(&b);
		}
	}
}

Test(imgdiff, identical_layers_are_hashed, .init = setup, .fini = teardown)
{
	struct lks_image_set d;
	load_src("docker-archive:docker-old.tar", &d);
	struct lks_diff_opts o = {.strict = true};
	struct lks_diff_result r;
	cr_assert_eq(lks_diff_images(&ctx, &d, &d, &o, &r), 0, "%s", ctx.err);
	cr_assert(!r.differs);
	for (size_t i = 0; i < r.platforms[0].n_layers; i++) {
		cr_assert_eq(r.platforms[0].layers[i].status, LKS_LAYER_IDENTICAL);
		cr_assert(r.platforms[0].layers[i].verified);
	}
	lks_diff_result_free(&r);
	lks_image_set_free(&d);
}

Test(imgdiff, unsafe_member_paths_fail_at_load, .init = setup, .fini = teardown)
{
	char src[4096];
	struct lks_image_set s;
	src_of(src, sizeof(src), "docker-archive", "docker-old-unsafe.tar");
	cr_assert_eq(lks_image_set_load(&ctx, src, &s), -LKS_E_UNSAFE, "%s", ctx.err);
	cr_assert_not_null(strstr(ctx.err, "unsafe path '../../etc/passwd'"), "%s", ctx.err);
}
