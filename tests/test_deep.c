/* deep: the byte-level cause inside differing files (fixtures/diff/deep/). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "verifier/deep.h"

static void slurp(const char *name, struct lks_buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/diff/deep/%s", getenv("LKS_SRCDIR"), name);
	lks_buf_init(b, 1 << 20);
	cr_assert_eq(lks_buf_read_file(b, path), 0, "%s", path);
}

static const struct {
	const char *a, *b, *path, *want;
} cases[] = {
    {"a.gz", "b.gz", "x/file.gz", "gzip: payload identical, header differs (mtime"},
    {"a.gz", "c.gz", "x/file.gz", "gzip: payload differs"},
    {"a.whl", "b.whl", "x/p-1.0-py3-none-any.whl", "archive: 2 members differ: pkg/version.txt"},
    {"a.pyc", "b.pyc", "x/__pycache__/m.cpython-311.pyc",
     "pyc header: source mtime 1600000000 \xe2\x86\x92 1600000001; code identical"},
    {"a.txt", "b.txt", "x/notes", "text: first difference on line 2: \"line two a\""},
    {"a.bin", "b.bin", "x/blob", "binary: first difference at byte 4"},
    {"a.bin", "b.bin", "x/truncated.pyc", "pyc: truncated header"},
};

Test(deep, explain_table)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lks_buf a, b, out;
		slurp(cases[i].a, &a);
		slurp(cases[i].b, &b);
		lks_buf_init(&out, 0);
		cr_assert_eq(
		    lks_deep_explain(&ctx, cases[i].path, a.data, a.len, b.data, b.len, &out), 0);
		cr_assert_not_null(strstr(out.data ? out.data : "", cases[i].want), "%s: got '%s'",
		                   cases[i].path, out.data);
		lks_buf_free(&a);
		lks_buf_free(&b);
		lks_buf_free(&out);
	}
	lks_ctx_free(&ctx);
}

Test(deep, text_detection)
{
	cr_assert(lks_deep_is_text("abc\n", 4));
	cr_assert(!lks_deep_is_text("a\0c", 3));
}
