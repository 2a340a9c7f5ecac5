/* Reports of `lockstep verify`: the verdict, how it was reached, and each differing pair
 * rendered by the diff report (report.h). */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/escape.h"
#include "lockstep/json.h"
#include "lockstep/verify.h"
#include "verifier/report.h"

/* "path, tz" or "none". */
static int vary_list(unsigned vary, struct lks_buf *o)
{
	int rc = vary ? 0 : lks_buf_puts(o, "none");
	const char *sep = "";
	for (int i = 0; i < LKS_VARY_N && rc == 0; i++) {
		if (vary & (1u << i)) {
			rc = lks_buf_printf(o, "%s%s", sep, lks_vary_name(1u << i));
			sep = ", ";
		}
	}
	return rc;
}

static int verdict(const struct lks_verify_result *r, struct lks_buf *o)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_pairs; i++) {
		n += r->pairs[i].diff.differs;
	}
	int rc =
	    r->reproducible
	        ? lks_buf_printf(o, "reproducible: %zu builds with %s are identical\n", r->n_builds,
	                         r->builder)
	        : lks_buf_printf(o, "not reproducible: %zu of %zu rebuilds differ from build 1\n",
	                         n, r->n_pairs);
	rc = rc ? rc : lks_buf_printf(o, "builder %s", r->builder);
	if (rc == 0 && r->storage) {
		rc = lks_buf_printf(o, " (%s storage)", r->storage);
	}
	rc = rc ? rc
	        : lks_buf_printf(o, ", SOURCE_DATE_EPOCH=%lld (%s), varied: ", r->epoch,
	                         r->epoch_source);
	rc = rc ? rc : vary_list(r->vary, o);
	for (size_t i = 0; i < r->n_builds && rc == 0; i++) {
		rc = lks_buf_printf(o, "%s%.1f s", i ? " + " : "; builds ", r->builds[i].seconds);
	}
	return rc ? rc : lks_buf_putc(o, '\n');
}

static int bisect_text(const struct lks_verify_result *r, struct lks_buf *o)
{
	if (!r->bisected) {
		return 0;
	}
	if (r->differs_unvaried) {
		return lks_buf_puts(o, "bisect: a rebuild without any variation differs too: the "
		                       "build is not reproducible even in the same environment\n");
	}
	if (!r->causes) {
		return lks_buf_puts(o, "bisect: no single variation makes the image differ (a "
		                       "combination does, or the difference is intermittent)\n");
	}
	int rc = lks_buf_puts(o, "bisect: caused by varying ");
	rc = rc ? rc : vary_list(r->causes, o);
	return rc ? rc : lks_buf_puts(o, " (a rebuild varying only that differs from build 1)\n");
}

static int pairs_render(struct lks_ctx *ctx, const struct lks_verify_result *r,
                        enum lks_report_format f, bool colour, struct lks_buf *o)
{
	int rc = 0;
	for (size_t i = 0; i < r->n_pairs && rc == 0; i++) {
		const struct lks_verify_pair *p = &r->pairs[i];
		if (!p->diff.differs) {
			continue;
		}
		rc = lks_buf_printf(o,
		                    f == LKS_REPORT_MARKDOWN ? "\n### build %zu vs build %zu\n\n"
		                                             : "\nbuild %zu vs build %zu:\n",
		                    p->a + 1, p->b + 1);
		rc = rc ? rc : lks_report_render(ctx, &p->diff, f, colour, o);
	}
	return rc;
}

static int text_render(struct lks_ctx *ctx, const struct lks_verify_result *r, bool colour,
                       struct lks_buf *o)
{
	int rc = verdict(r, o);
	rc = rc ? rc : pairs_render(ctx, r, LKS_REPORT_TEXT, colour, o);
	return rc ? rc : bisect_text(r, o);
}

static int markdown_render(struct lks_ctx *ctx, const struct lks_verify_result *r,
                           struct lks_buf *o)
{
	struct lks_buf head;
	lks_buf_init(&head, 0);
	int rc = lks_buf_printf(o, "## lockstep verify: %s\n\n",
	                        r->reproducible ? "reproducible" : "not reproducible");
	rc = rc ? rc : verdict(r, &head);
	rc = rc ? rc : bisect_text(r, &head);
	rc = rc ? rc : lks_esc_md_block(o, head.data ? head.data : "");
	lks_buf_free(&head);
	return rc ? rc : pairs_render(ctx, r, LKS_REPORT_MARKDOWN, false, o);
}

/* HTML and JUnit XML: builder output and reports keep their lines, and nothing else that
 * could break the document (escape.h). */
static int html_escape(struct lks_buf *o, const char *s)
{
	return lks_esc_html(o, s, LKS_ESC_LINES);
}

/* The body of each differing pair's diff page. */
static int html_pairs(struct lks_ctx *ctx, const struct lks_verify_result *r, struct lks_buf *o)
{
	struct lks_buf page;
	lks_buf_init(&page, (size_t)1 << 30);
	int rc = 0;
	for (size_t i = 0; i < r->n_pairs && rc == 0; i++) {
		if (!r->pairs[i].diff.differs) {
			continue;
		}
		lks_buf_reset(&page);
		rc = lks_report_render(ctx, &r->pairs[i].diff, LKS_REPORT_HTML, false, &page);
		const char *b = rc ? NULL : strstr(page.data ? page.data : "", "<body>\n");
		const char *e = b ? strstr(b, "</body>") : NULL;
		rc = rc ? rc
		        : lks_buf_printf(o, "<h2>build %zu vs build %zu</h2>\n", r->pairs[i].a + 1,
		                         r->pairs[i].b + 1);
		if (rc == 0 && b && e) {
			rc = lks_buf_append(o, b + 7, (size_t)(e - b - 7));
		}
	}
	lks_buf_free(&page);
	return rc;
}

/* What each builder printed (the end of it), folded. */
static int html_outputs(const struct lks_verify_result *r, struct lks_buf *o)
{
	int rc = lks_buf_puts(o, "<h2>build output</h2>\n");
	for (size_t i = 0; i < r->n_builds && rc == 0; i++) {
		const struct lks_verify_build *b = &r->builds[i];
		rc = lks_buf_printf(o, "<details><summary>build %zu (%.1f s, varied: ", i + 1,
		                    b->seconds);
		rc = rc ? rc : vary_list(b->vary, o);
		rc = rc ? rc : lks_buf_puts(o, ")</summary><pre>");
		rc = rc ? rc : html_escape(o, b->output ? b->output : "(not available)");
		rc = rc ? rc : lks_buf_puts(o, "</pre></details>\n");
	}
	return rc;
}

/* One page: the verdict, each differing pair's diff, the builds' output. */
static int html_render(struct lks_ctx *ctx, const struct lks_verify_result *r, struct lks_buf *o)
{
	struct lks_buf head;
	lks_buf_init(&head, 0);
	int rc = verdict(r, &head);
	rc = rc ? rc : bisect_text(r, &head);
	const char *v = r->reproducible ? "reproducible" : "not reproducible";
	rc = rc ? rc
	        : lks_buf_printf(o,
	                         "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	                         "<title>lockstep verify: %s</title>\n%s</head><body>\n"
	                         "<h1 class=\"%s\">lockstep verify: %s</h1>\n<pre>",
	                         v, report_html_style, r->reproducible ? "same" : "differs", v);
	rc = rc ? rc : html_escape(o, head.data ? head.data : "");
	rc = rc ? rc : lks_buf_puts(o, "</pre>\n");
	rc = rc ? rc : html_pairs(ctx, r, o);
	rc = rc ? rc : html_outputs(r, o);
	lks_buf_free(&head);
	return rc ? rc : lks_buf_puts(o, "</body></html>\n");
}

static json_t *vary_json(unsigned vary)
{
	json_t *a = json_array();
	for (int i = 0; i < LKS_VARY_N && a; i++) {
		if (vary & (1u << i)) {
			json_array_append_new(a, json_string(lks_vary_name(1u << i)));
		}
	}
	return a;
}

static json_t *builds_json(const struct lks_verify_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->n_builds && a; i++) {
		const struct lks_verify_build *b = &r->builds[i];
		json_array_append_new(a, json_pack("{s:o,s:f,s:s?,s:s?}", "varied",
		                                   vary_json(b->vary), "seconds", b->seconds,
		                                   "image", b->image, "log", b->log));
	}
	return a;
}

static json_t *pairs_json(const struct lks_verify_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->n_pairs && a; i++) {
		const struct lks_verify_pair *p = &r->pairs[i];
		json_array_append_new(a,
		                      json_pack("{s:I,s:I,s:b,s:o}", "a", (json_int_t)p->a + 1, "b",
		                                (json_int_t)p->b + 1, "differs", p->diff.differs,
		                                "diff", report_json_doc(&p->diff)));
	}
	return a;
}

static int json_render(struct lks_ctx *ctx, const struct lks_verify_result *r, struct lks_buf *o)
{
	json_t *bis = r->bisected ? json_pack("{s:b,s:o,s:o}", "differs_without_variation",
	                                      r->differs_unvaried, "tried", vary_json(r->tried),
	                                      "causes", vary_json(r->causes))
	                          : json_null();
	json_auto_t *doc = json_pack(
	    "{s:s,s:b,s:s,s:s?,s:s?,s:I,s:s,s:o,s:o,s:o,s:o,s:f,s:f}", "schema", LKS_VERIFY_SCHEMA,
	    "reproducible", r->reproducible, "builder", r->builder, "storage_driver", r->storage,
	    "dockerfile", r->dockerfile, "source_date_epoch", (json_int_t)r->epoch, "epoch_source",
	    r->epoch_source, "varied", vary_json(r->vary), "builds", builds_json(r), "pairs",
	    pairs_json(r), "bisect", bis, "build_seconds", r->build_seconds, "total_seconds",
	    r->total_seconds);
	return doc ? lks_json_dump_stable(ctx, doc, o) : -ENOMEM;
}

int lks_verify_render(struct lks_ctx *ctx, const struct lks_verify_result *r,
                      enum lks_report_format f, bool colour, struct lks_buf *out)
{
	int rc;
	switch (f) {
	case LKS_REPORT_JSON:
		rc = json_render(ctx, r, out);
		break;
	case LKS_REPORT_MARKDOWN:
		rc = markdown_render(ctx, r, out);
		break;
	case LKS_REPORT_HTML:
		rc = html_render(ctx, r, out);
		break;
	default:
		rc = text_render(ctx, r, colour, out);
	}
	return rc < 0 ? lks_err(ctx, rc, "cannot render the report: %s", lks_strerror(rc)) : 0;
}

static int junit_case(struct lks_ctx *ctx, const struct lks_verify_pair *p,
                      const struct lks_verify_result *r, struct lks_buf *o)
{
	int rc = lks_buf_printf(o,
	                        "  <testcase classname=\"lockstep.verify\" name=\"build %zu vs "
	                        "build %zu\" time=\"%.3f\">\n",
	                        p->a + 1, p->b + 1, r->builds[p->b].seconds);
	if (rc == 0 && p->diff.differs) {
		struct lks_buf t;
		lks_buf_init(&t, (size_t)1 << 30);
		rc = lks_report_render(ctx, &p->diff, LKS_REPORT_TEXT, false, &t);
		rc = rc ? rc : lks_buf_puts(o, "   <failure message=\"not reproducible\">");
		rc = rc ? rc : html_escape(o, t.data ? t.data : "");
		rc = rc ? rc : lks_buf_puts(o, "</failure>\n");
		lks_buf_free(&t);
	}
	return rc ? rc : lks_buf_puts(o, "  </testcase>\n");
}

int lks_verify_junit(struct lks_ctx *ctx, const struct lks_verify_result *r, const char *error,
                     struct lks_buf *o)
{
	size_t fails = 0;
	for (size_t i = 0; i < r->n_pairs; i++) {
		fails += r->pairs[i].diff.differs;
	}
	int rc = lks_buf_printf(o,
	                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
	                        " <testsuite name=\"lockstep verify\" tests=\"%zu\" "
	                        "failures=\"%zu\" errors=\"%d\" time=\"%.3f\">\n",
	                        error ? 1 : r->n_pairs, error ? 0 : fails, error ? 1 : 0,
	                        r->total_seconds);
	if (error) {
		rc = rc ? rc
		        : lks_buf_puts(o, "  <testcase classname=\"lockstep.verify\" "
		                          "name=\"build\">\n   <error message=\"");
		rc = rc ? rc : html_escape(o, error);
		rc = rc ? rc : lks_buf_puts(o, "\"/>\n  </testcase>\n");
	}
	for (size_t i = 0; i < r->n_pairs && rc == 0 && !error; i++) {
		rc = junit_case(ctx, &r->pairs[i], r, o);
	}
	rc = rc ? rc : lks_buf_puts(o, " </testsuite>\n</testsuites>\n");
	return rc < 0 ? lks_err(ctx, rc, "cannot render the JUnit report: %s", lks_strerror(rc))
	              : 0;
}
