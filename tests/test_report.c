/* report: byte-exact escaping, and every format rendered from a real comparison. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/image.h"
#include "lockstep/imgdiff.h"
#include "lockstep/json.h"
#include "lockstep/report.h"

static const struct {
	const char *in, *out;
} esc[] = {
    {"plain/path", "plain/path"},  {"bad\xff.bin", "bad\\xff.bin"},  {"caf\xc3\xa9", "caf\xc3\xa9"},
    {"tab\there", "tab\\x09here"}, {"back\\slash", "back\\\\slash"}, {"\xc3", "\\xc3"},
};

Test(report, escape_table)
{
	for (size_t i = 0; i < sizeof(esc) / sizeof(esc[0]); i++) {
		struct lks_buf b;
		lks_buf_init(&b, 0);
		cr_assert_eq(lks_report_escape(esc[i].in, &b), 0);
		cr_assert_str_eq(b.data ? b.data : "", esc[i].out, "case %zu", i);
		lks_buf_free(&b);
	}
}

static void diff_tiny(struct lks_ctx *ctx, struct lks_image_set *s, struct lks_diff_result *r)
{
	const char *names[] = {"tiny-a", "tiny-b"};
	for (int i = 0; i < 2; i++) {
		char src[4096];
		snprintf(src, sizeof(src), "oci:%s/fixtures/diff/%s", getenv("LKS_SRCDIR"),
		         names[i]);
		cr_assert_eq(lks_image_set_load(ctx, src, &s[i]), 0, "%s", ctx->err);
	}
	struct lks_diff_opts o = {0};
	cr_assert_eq(lks_diff_images(ctx, &s[0], &s[1], &o, r), 0, "%s", ctx->err);
}

/* Each format: a fragment that must appear. */
static const struct {
	enum lks_report_format f;
	const char *needle;
} formats[] = {
    {LKS_REPORT_TEXT, "image differs: 2 of 3 layers differ"},
    {LKS_REPORT_TEXT, "mode.txt                      mode 0644 \xe2\x86\x92 0664"},
    {LKS_REPORT_TEXT, "bad\\xff.bin"},
    {LKS_REPORT_TEXT, "3 timestamp differences normalized away"},
    {LKS_REPORT_MARKDOWN, "| `mode.txt` | `mode 0644 -> 0664` |"},
    {LKS_REPORT_HTML, "<!DOCTYPE html>"},
    {LKS_REPORT_JSON, "\"schema\": \"lockstep-diff/1\""},
};

Test(report, formats_table)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set s[2];
	struct lks_diff_result r;
	diff_tiny(&ctx, s, &r);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct lks_buf b;
		lks_buf_init(&b, 0);
		cr_assert_eq(lks_report_render(&ctx, &r, formats[i].f, false, &b), 0);
		cr_assert_not_null(strstr(b.data, formats[i].needle), "format %d lacks '%s':\n%s",
		                   formats[i].f, formats[i].needle, b.data);
		lks_buf_free(&b);
	}
	lks_diff_result_free(&r);
	lks_image_set_free(&s[0]);
	lks_image_set_free(&s[1]);
	lks_ctx_free(&ctx);
}

Test(report, json_is_valid_and_byte_exact)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_image_set s[2];
	struct lks_diff_result r;
	diff_tiny(&ctx, s, &r);
	struct lks_buf b;
	lks_buf_init(&b, 0);
	cr_assert_eq(lks_report_render(&ctx, &r, LKS_REPORT_JSON, false, &b), 0);
	json_auto_t *j = NULL;
	cr_assert_eq(lks_json_parse(&ctx, b.data, b.len, 0, "report", &j), 0, "%s", ctx.err);
	json_t *files = json_object_get(
	    json_array_get(
	        json_object_get(json_array_get(json_object_get(j, "platforms"), 0), "layers"), 1),
	    "files");
	bool found = false;
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		found |= !strcmp(lks_json_str(f, "path"), "bad\\xff.bin");
	}
	cr_assert(found);
	lks_buf_free(&b);
	lks_diff_result_free(&r);
	lks_image_set_free(&s[0]);
	lks_image_set_free(&s[1]);
	lks_ctx_free(&ctx);
}

Test(report, format_names)
{
	enum lks_report_format f;
	cr_assert_eq(lks_report_format_parse(NULL, "md", &f), 0);
	cr_assert_eq(f, LKS_REPORT_MARKDOWN);
	cr_assert_eq(lks_report_format_parse(NULL, "yaml", &f), -LKS_E_INVAL);
}

/* The HTML content diff aligns changed lines side by side, escapes them and folds long
 * unchanged stretches. */
Test(report, html_text_diff_side_by_side)
{
	struct lks_buf a, b, o;
	lks_buf_init(&a, 0);
	lks_buf_init(&b, 0);
	lks_buf_init(&o, 0);
	for (int i = 1; i <= 20; i++) {
		lks_buf_printf(&a, i == 10 ? "old <b>&\"%d\"\n" : "line %d\n", i);
		lks_buf_printf(&b, i == 10 ? "new\t%d\n" : "line %d\n", i);
	}
	lks_buf_puts(&b, "added\n");
	struct lks_file_diff fd = {.path = "etc/app.conf", .fields = LKS_F_CONTENT,
	                           .has_a = true, .has_b = true,
	                           .a = {.type = 'f'}, .b = {.type = 'f'},
	                           .text_a = a.data, .text_b = b.data};
	struct lks_layer_diff ld = {.status = LKS_LAYER_DIFFERS, .files = &fd, .n_files = 1,
	                            .n_files_differ = 1, .history_index = -1};
	struct lks_platform_diff pd = {.platform = "linux/amd64", .differs = true, .layers = &ld,
	                               .n_layers = 1};
	struct lks_diff_result r = {.platforms = &pd, .n_platforms = 1, .differs = true,
	                            .a_name = "oci:a", .b_name = "oci:b"};
	cr_assert_eq(lks_report_render(NULL, &r, LKS_REPORT_HTML, false, &o), 0);
	static const char *const want[] = {
	    "<tr class=\"chg\"><td>10</td><td>old &lt;b&gt;&amp;&quot;10&quot;</td><td>10</td>"
	    "<td>new\t10</td></tr>",
	    "<tr class=\"same\"><td>9</td><td>line 9</td><td>9</td><td>line 9</td></tr>",
	    "\xe2\x8b\xaf 6 unchanged lines",  /* lines 1-6 before the context */
	    "\xe2\x8b\xaf 4 unchanged lines",  /* lines 14-17 between the changes */
	    "<tr class=\"ins\"><td></td><td></td><td>21</td><td>added</td></tr>",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert_not_null(strstr(o.data, want[i]), "missing '%s' in:\n%s", want[i], o.data);
	}
	cr_assert_null(strstr(o.data, "<td>line 3</td>"), "unchanged lines not folded");
	lks_buf_free(&a);
	lks_buf_free(&b);
	lks_buf_free(&o);
}
