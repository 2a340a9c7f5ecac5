/* Rendering an image comparison (lks_diff_result) for people and machines.
 *
 * text: terminal report (colour when asked), markdown: for CI job summaries, json: the
 * stable machine-readable form (schema "lockstep-diff/1", documented in docs/diff-json.md),
 * html: one self-contained page. Paths are byte-exact: bytes that are not printable UTF-8 are
 * written as \xNN.
 */
#pragma once
#include <stdbool.h>

struct lks_ctx;
struct lks_buf;
struct lks_diff_result;

enum lks_report_format { LKS_REPORT_TEXT, LKS_REPORT_JSON, LKS_REPORT_MARKDOWN, LKS_REPORT_HTML };

#define LKS_REPORT_SCHEMA "lockstep-diff/1"
#define LKS_REPORT_TEXT_MAX_FILES 200 /* file lines per layer in text/markdown/html */

/* Parse "text", "json", "markdown"/"md", "html". -LKS_E_INVAL otherwise. */
int lks_report_format_parse(struct lks_ctx *ctx, const char *s, enum lks_report_format *out);
/* Append the report to out. colour applies to text only. */
int lks_report_render(struct lks_ctx *ctx, const struct lks_diff_result *r,
                      enum lks_report_format f, bool colour, struct lks_buf *out);
/* Byte-exact printable form of a path: valid UTF-8 kept, other bytes as \xNN. */
int lks_report_escape(const char *s, struct lks_buf *out);
