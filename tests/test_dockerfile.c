/* Dockerfile parser, image references and lossless rewrite.
 * Fixture-driven: fixtures/dockerfiles/NAME.Dockerfile with NAME.expect (image references,
 * format in tests/dfexpect.h) or NAME.err (line 1: error code name, line 2: message). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "dfexpect.h"

static char *fixture_dir(void)
{
	const char *src = getenv("LKS_SRCDIR");
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/fixtures/dockerfiles", src ? src : ".") > 0);
	return p;
}

static int read_path(const char *dir, const char *name, const char *ext, struct lks_buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
	lks_buf_init(b, 64 << 20);
	return lks_buf_read_file(b, path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fixture base names (without .Dockerfile), sorted. */
static char **list_fixtures(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	cr_assert(d, "cannot open %s", dir);
	char **v = NULL;
	size_t cnt = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 11 && !strcmp(e->d_name + l - 11, ".Dockerfile")) {
			v = realloc(v, (cnt + 1) * sizeof(*v));
			v[cnt++] = strndup(e->d_name, l - 11);
		}
	}
	closedir(d);
	qsort(v, cnt, sizeof(*v), cmp_str);
	*n = cnt;
	return v;
}

static void fake_digest(size_t i, int variant, char out[72])
{
	int k = snprintf(out, 72, "sha256:");
	for (int j = 0; j < 64; j++) {
		k += snprintf(out + k, 72 - (size_t)k, "%x", (unsigned)((i * 7 + (size_t)j +
							      (size_t)variant * 3) % 16));
	}
}

/* Pin every reference that can be pinned; returns the number of edits in *ne. */
static void pin_all(const char *data, size_t len, int variant, struct lks_buf *out, size_t *ne,
		    const char *name)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df;
	cr_assert_eq(lks_dockerfile_parse(&ctx, name, data, len, &df), 0, "%s: %s", name, ctx.err);
	struct lks_df_image *imgs;
	size_t n;
	cr_assert_eq(lks_dockerfile_images(&ctx, df, &imgs, &n), 0, "%s: %s", name, ctx.err);
	struct lks_edit *e = calloc(n + 1, sizeof(*e));
	char **texts = calloc(n + 1, sizeof(*texts));
	size_t cnt = 0;
	for (size_t i = 0; i < n; i++) {
		char dg[72];
		fake_digest(i, variant, dg);
		int rc = lks_df_pin_edit(&ctx, data, &imgs[i], dg, &e[cnt], &texts[cnt]);
		cr_assert(rc == 0 || rc == -LKS_E_UNSUPPORTED, "%s: %s", name, ctx.err);
		cnt += rc == 0;
	}
	lks_buf_init(out, 0);
	cr_assert_eq(lks_edits_apply(&ctx, data, len, e, cnt, out), 0, "%s: %s", name, ctx.err);
	/* bytes outside the edits are unchanged: walk the output against the input */
	size_t in_at = 0, out_at = 0;
	for (size_t i = 0; i < cnt; i++) {
		size_t keep = e[i].off - in_at;
		cr_assert(!memcmp(data + in_at, out->data + out_at, keep), "%s: bytes changed", name);
		out_at += keep;
		cr_assert(!memcmp(out->data + out_at, e[i].text, strlen(e[i].text)), "%s", name);
		out_at += strlen(e[i].text);
		in_at = e[i].off + e[i].len;
	}
	cr_assert_eq(len - in_at, out->len - out_at, "%s", name);
	cr_assert(!memcmp(data + in_at, out->data + out_at, len - in_at), "%s", name);
	*ne = cnt;
	for (size_t i = 0; i < cnt; i++) {
		free(texts[i]);
	}
	free(texts);
	free(e);
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
}

static void check_expect(const char *dir, const char *name, const struct lks_buf *src)
{
	struct lks_buf want, got;
	cr_assert_eq(read_path(dir, name, ".expect", &want), 0, "%s: no .expect/.err", name);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df;
	struct lks_df_image *imgs;
	size_t n;
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", src->data, src->len, &df), 0,
		     "%s: %s", name, ctx.err);
	cr_assert_eq(lks_dockerfile_images(&ctx, df, &imgs, &n), 0, "%s: %s", name, ctx.err);
	lks_buf_init(&got, 0);
	dfexpect_format(&got, imgs, n);
	cr_assert_str_eq(got.data ? got.data : "", want.data ? want.data : "", "%s.expect", name);
	lks_buf_free(&got);
	lks_buf_free(&want);
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
}

static void check_rewrite(const char *name, const struct lks_buf *src)
{
	struct lks_buf none, p1, p2, p3, p4;
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	lks_buf_init(&none, 0);
	cr_assert_eq(lks_edits_apply(&ctx, src->data, src->len, NULL, 0, &none), 0);
	cr_assert(none.len == src->len && !memcmp(none.data, src->data, src->len), "%s", name);
	size_t n1, n2, n3, n4;
	pin_all(src->data, src->len, 0, &p1, &n1, name);
	pin_all(p1.data, p1.len, 0, &p2, &n2, name);
	cr_assert_eq(n1, n2, "%s: pinning again found other references", name);
	cr_assert(p1.len == p2.len && !memcmp(p1.data, p2.data, p1.len), "%s: not stable", name);
	pin_all(p1.data, p1.len, 1, &p3, &n3, name);
	pin_all(p3.data, p3.len, 0, &p4, &n4, name);
	cr_assert(p1.len == p4.len && !memcmp(p1.data, p4.data, p1.len), "%s: repin", name);
	if (n1 == 0) {
		cr_assert(p1.len == src->len && !memcmp(p1.data, src->data, src->len), "%s", name);
	}
	lks_buf_free(&none);
	lks_buf_free(&p1);
	lks_buf_free(&p2);
	lks_buf_free(&p3);
	lks_buf_free(&p4);
	lks_ctx_free(&ctx);
}

static const char *const err_names[] = {"PARSE", "TOOBIG", "INVAL", "UNSUPPORTED"};
static const int err_codes[] = {-LKS_E_PARSE, -LKS_E_TOOBIG, -LKS_E_INVAL, -LKS_E_UNSUPPORTED};

static void check_error(const char *name, const struct lks_buf *src, struct lks_buf *err)
{
	char *nl = strchr(err->data, '\n');
	cr_assert(nl, "%s.err: needs 2 lines", name);
	*nl = '\0';
	char *msg = nl + 1;
	msg[strcspn(msg, "\n")] = '\0';
	int want = 0;
	for (size_t i = 0; i < ARRAY_SIZE(err_names); i++) {
		want = strcmp(err->data, err_names[i]) ? want : err_codes[i];
	}
	cr_assert(want, "%s.err: unknown code %s", name, err->data);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df = NULL;
	int rc = lks_dockerfile_parse(&ctx, "Dockerfile", src->data ? src->data : "", src->len,
				      &df);
	cr_assert_eq(rc, want, "%s: rc %d (%s), want %d", name, rc, ctx.err, want);
	cr_assert_null(df);
	cr_assert_str_eq(ctx.err, msg, "%s", name);
	lks_ctx_free(&ctx);
}

Test(dockerfile, fixtures)
{
	char *dir = fixture_dir();
	size_t n;
	char **names = list_fixtures(dir, &n);
	cr_assert(n >= 30, "only %zu fixtures", n);
	for (size_t i = 0; i < n; i++) {
		struct lks_buf src, err;
		cr_assert_eq(read_path(dir, names[i], ".Dockerfile", &src), 0, "%s", names[i]);
		if (read_path(dir, names[i], ".err", &err) == 0) {
			check_error(names[i], &src, &err);
		} else {
			check_expect(dir, names[i], &src);
			check_rewrite(names[i], &src);
		}
		lks_buf_free(&err);
		lks_buf_free(&src);
		free(names[i]);
	}
	free(names);
	free(dir);
}
