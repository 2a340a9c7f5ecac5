/* Markdown (CI job summaries) and HTML (one self-contained page) reports. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/escape.h"
#include "lockstep/report.h"
#include "verifier/linediff.h"
#include "verifier/report.h"

/* An untrusted string: HTML text, or a Markdown code span (in a table cell when in_table). */
static int cell(struct lks_buf *o, const char *s, bool html)
{
	return html ? lks_esc_html(o, s ? s : "", 0) : lks_esc_md_code(o, s ? s : "", true);
}

static int md_files(const struct lks_layer_diff *ld, struct lks_buf *o)
{
	int rc = lks_buf_puts(o, "\n| path | differences | known cause |\n|---|---|---|\n");
	size_t shown =
	    ld->n_files < LKS_REPORT_TEXT_MAX_FILES ? ld->n_files : LKS_REPORT_TEXT_MAX_FILES;
	for (size_t i = 0; i < shown && rc == 0; i++) {
		const struct lks_file_diff *fd = &ld->files[i];
		struct lks_buf f;
		lks_buf_init(&f, 0);
		rc = report_fields(fd, fd->fields, "->", &f);
		rc = rc ? rc : lks_buf_puts(o, "| ");
		rc = rc ? rc : cell(o, fd->path, false);
		rc = rc ? rc : lks_buf_puts(o, " | ");
		rc = rc ? rc : cell(o, f.data, false);
		rc = rc ? rc : lks_buf_puts(o, " | ");
		rc = rc ? rc : fd->cause ? cell(o, fd->cause, false) : 0;
		rc = rc ? rc : lks_buf_puts(o, " |\n");
		lks_buf_free(&f);
	}
	if (rc == 0 && ld->n_files_differ > shown) {
		rc = lks_buf_printf(o, "\n… and %zu more files\n", ld->n_files_differ - shown);
	}
	return rc;
}

/* One row of config, manifest or index differences: path, both values, and whether it
 * counts. */
static int md_json_row(const struct lks_json_diff *d, struct lks_buf *o)
{
	struct lks_buf a, b;
	lks_buf_init(&a, 0);
	lks_buf_init(&b, 0);
	int rc = report_json_value(d->a, &a);
	rc = rc ? rc : report_json_value(d->b, &b);
	rc = rc ? rc : lks_buf_puts(o, "| ");
	rc = rc ? rc : cell(o, d->path, false);
	rc = rc ? rc : lks_buf_puts(o, " | ");
	rc = rc ? rc : cell(o, a.data, false);
	rc = rc ? rc : lks_buf_puts(o, " | ");
	rc = rc ? rc : cell(o, b.data, false);
	rc = rc ? rc : lks_buf_printf(o, " | %s |\n", d->normalized ? "normalized away" : "differs");
	lks_buf_free(&a);
	lks_buf_free(&b);
	return rc;
}

/* Config, manifest or index differences as a table (derived ones left out: they repeat the
 * layer differences). */
static int md_json(const char *what, const struct lks_json_diff *v, size_t n, struct lks_buf *o)
{
	int rc = 0;
	size_t shown = 0;
	for (size_t i = 0; i < n && rc == 0 && shown < LKS_REPORT_TEXT_MAX_FILES; i++) {
		if (v[i].derived) {
			continue;
		}
		if (!shown++) {
			rc = lks_buf_printf(o, "\n| %s | A | B | |\n|---|---|---|---|\n", what);
		}
		rc = rc ? rc : md_json_row(&v[i], o);
	}
	return rc;
}

static int md_platform(const struct lks_platform_diff *pd, struct lks_buf *o)
{
	int rc = lks_buf_puts(o, "### ");
	rc = rc ? rc : lks_esc_md_code(o, pd->platform, false);
	rc = rc ? rc
	        : lks_buf_printf(o,
	                         ": %s\n\n| layer | step | status | files differing | "
	                         "normalized |\n|---|---|---|---|---|\n",
	                         pd->differs ? "differs" : "same");
	for (size_t i = 0; i < pd->n_layers && rc == 0; i++) {
		const struct lks_layer_diff *ld = &pd->layers[i];
		char step[120];
		const char *st = report_step(ld, step, sizeof(step));
		rc = lks_buf_printf(o, "| %zu | ", i + 1);
		rc = rc ? rc : st[0] ? cell(o, st, false) : 0;
		rc = rc ? rc
		        : lks_buf_printf(o, " | %s | %zu | %zu |\n", report_layer_status(ld),
		                         ld->n_files_differ, ld->n_normalized);
	}
	for (size_t i = 0; i < pd->n_layers && rc == 0; i++) {
		const struct lks_layer_diff *ld = &pd->layers[i];
		if (ld->n_files) {
			rc = lks_buf_printf(o, "\n#### layer %zu\n", i + 1);
			rc = rc ? rc : md_files(ld, o);
		}
	}
	rc = rc ? rc : md_json("config", pd->config, pd->n_config, o);
	rc = rc ? rc : md_json("manifest", pd->manifest, pd->n_manifest, o);
	return rc ? rc : lks_buf_putc(o, '\n');
}

int report_markdown(const struct lks_diff_result *r, struct lks_buf *o)
{
	int rc = lks_buf_printf(o, "## lockstep diff: %s\n\n",
	                        r->differs ? "images differ" : "images are the same");
	rc = rc ? rc : lks_buf_puts(o, "A: ");
	rc = rc ? rc : lks_esc_md_code(o, r->a_name ? r->a_name : "", false);
	rc = rc ? rc : lks_buf_puts(o, "  \nB: ");
	rc = rc ? rc : lks_esc_md_code(o, r->b_name ? r->b_name : "", false);
	rc = rc ? rc : lks_buf_puts(o, "\n\n");
	for (size_t i = 0; i < r->n_platforms && rc == 0; i++) {
		rc = md_platform(&r->platforms[i], o);
	}
	rc = rc ? rc : md_json("index", r->index, r->n_index, o);
	return rc;
}

const char report_html_style[] =
    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:2px 6px;font-family:monospace;font-size:90%}"
    ".differs{color:#b00}.same{color:#070}.cause{color:#666}"
    "table.text td{white-space:pre-wrap;tab-size:8}tr.del td{background:#fdd}"
    "tr.ins td{background:#dfd}tr.chg td{background:#ffd}tr.fold td{color:#666;"
    "text-align:center}</style>";

static int html_side(const struct lks_fentry *e, bool has, struct lks_buf *o)
{
	if (!has) {
		return lks_buf_puts(o, "<td>(absent)</td>");
	}
	char hex[17] = "";
	for (int i = 0; e->type == 'f' && i < 8; i++) {
		snprintf(hex + 2 * i, 3, "%02x", e->hash[i]);
	}
	int rc = lks_buf_printf(
	    o, "<td>%c %04o %" PRId64 ":%" PRId64 " size %" PRId64 " mtime %lld %s ", e->type,
	    (unsigned)e->mode, e->uid, e->gid, e->size, (long long)e->mtime.tv_sec, hex);
	rc = rc ? rc : cell(o, e->link, true);
	return rc ? rc : lks_buf_puts(o, "</td>");
}

/* A line of a text file for <td>: HTML-escaped, tabs kept, other control bytes and bytes that
 * are not UTF-8 as \xNN (a "text" file is only known to hold no NUL). */
static int html_code(struct lks_buf *o, const struct linediff_line *l)
{
	if (!l) {
		return 0;
	}
	char *line = strndup(l->p, l->len);
	int rc = line ? lks_esc_html(o, line, LKS_ESC_LINES) : -ENOMEM;
	free(line);
	return rc;
}

#define TEXT_CONTEXT 3   /* unchanged lines shown around a change */
#define TEXT_MAX_ROWS 400 /* rows per file */

/* One side-by-side row: line numbers and texts, either side may be empty. */
static int html_row(struct lks_buf *o, const struct linediff *d, const struct linediff_op *l,
                    const struct linediff_op *r)
{
	const char *cls = !l ? "ins" : !r ? "del" : l->kind == '=' ? "same" : "chg";
	int rc = lks_buf_printf(o, "<tr class=\"%s\">", cls);
	rc = rc ? rc : l ? lks_buf_printf(o, "<td>%zu</td><td>", l->a + 1) : 0;
	rc = rc ? rc : l ? html_code(o, &d->la[l->a]) : lks_buf_puts(o, "<td></td><td>");
	rc = rc ? rc : r ? lks_buf_printf(o, "</td><td>%zu</td><td>", r->b + 1) : 0;
	rc = rc ? rc : r ? html_code(o, &d->lb[r->b]) : lks_buf_puts(o, "</td><td></td><td>");
	return rc ? rc : lks_buf_puts(o, "</td></tr>\n");
}

/* A run of unchanged lines [i, end): the context next to changes, the rest folded. */
static int html_same_run(struct lks_buf *o, const struct linediff *d, size_t i, size_t end,
                         size_t *rows)
{
	size_t head = i == 0 ? 0 : TEXT_CONTEXT, tail = end == d->n_ops ? 0 : TEXT_CONTEXT;
	int rc = 0;
	for (size_t k = i; k < end && rc == 0 && *rows < TEXT_MAX_ROWS; k++) {
		if (end - i > head + tail + 1 && k == i + head) {
			rc = lks_buf_printf(o, "<tr class=\"fold\"><td colspan=\"4\">\xe2\x8b\xaf %zu "
			                       "unchanged lines</td></tr>\n",
			                    end - i - head - tail);
			k = end - tail - 1;
		} else {
			rc = html_row(o, d, &d->ops[k], &d->ops[k]);
		}
		++*rows;
	}
	return rc;
}

/* A change: the lines only in A beside the lines only in B, paired in order. */
static int html_change(struct lks_buf *o, const struct linediff *d, size_t i, size_t end,
                       size_t *rows)
{
	const struct linediff_op *del[TEXT_MAX_ROWS], *ins[TEXT_MAX_ROWS];
	size_t nd = 0, ni = 0;
	for (size_t k = i; k < end; k++) {
		if (d->ops[k].kind == '-' && nd < TEXT_MAX_ROWS) {
			del[nd++] = &d->ops[k];
		} else if (d->ops[k].kind == '+' && ni < TEXT_MAX_ROWS) {
			ins[ni++] = &d->ops[k];
		}
	}
	int rc = 0;
	for (size_t k = 0; k < (nd > ni ? nd : ni) && rc == 0 && *rows < TEXT_MAX_ROWS; k++) {
		rc = html_row(o, d, k < nd ? del[k] : NULL, k < ni ? ins[k] : NULL);
		++*rows;
	}
	return rc;
}

/* Side-by-side line diff of two small text files (Myers), unchanged stretches folded. */
static int html_text_diff(const struct lks_file_diff *fd, struct lks_buf *o)
{
	struct linediff d;
	linediff_init(&d);
	int rc = linediff_run(&d, fd->text_a, strlen(fd->text_a), fd->text_b, strlen(fd->text_b),
	                      LINEDIFF_MAX_EDITS);
	rc = rc ? rc
	        : lks_buf_puts(o, "<tr><td colspan=\"5\"><table class=\"text\"><tr><th>#</th>"
	                          "<th>A</th><th>#</th><th>B</th></tr>\n");
	size_t rows = 0;
	for (size_t i = 0; rc == 0 && i < d.n_ops && rows < TEXT_MAX_ROWS;) {
		bool same = d.ops[i].kind == '=';
		size_t end = i;
		while (end < d.n_ops && (d.ops[end].kind == '=') == same) {
			end++;
		}
		rc = same ? html_same_run(o, &d, i, end, &rows) : html_change(o, &d, i, end, &rows);
		i = end;
	}
	bool edits = false;
	for (size_t i = 0; i < d.n_ops; i++) {
		edits |= d.ops[i].kind != '=';
	}
	if (rc == 0 && (rows >= TEXT_MAX_ROWS || !edits)) {
		rc = lks_buf_printf(o, "<tr class=\"fold\"><td colspan=\"4\">%s</td></tr>\n",
		                    edits ? "(cut)" : "the lines are the same: only the final newline "
		                                      "differs");
	}
	linediff_free(&d);
	return rc ? rc : lks_buf_puts(o, "</table></td></tr>\n");
}

static int html_layer(const struct lks_layer_diff *ld, struct lks_buf *o)
{
	char step[400];
	int rc = lks_buf_printf(o, "<h3>layer %zu: <span class=\"%s\">%s</span></h3><p>",
	                        ld->index + 1, ld->status == LKS_LAYER_DIFFERS ? "differs" : "same",
	                        report_status(ld->status));
	rc = rc ? rc : cell(o, report_step(ld, step, sizeof(step)), true);
	rc = rc ? rc
	        : lks_buf_printf(o, "</p>\n<table><tr><th>path</th><th>differences</th>"
	                            "<th>A</th><th>B</th><th>known cause</th></tr>\n");
	for (size_t i = 0; i < ld->n_files && i < LKS_REPORT_TEXT_MAX_FILES && rc == 0; i++) {
		const struct lks_file_diff *fd = &ld->files[i];
		struct lks_buf f;
		lks_buf_init(&f, 0);
		rc = report_fields(fd, fd->fields, "\xe2\x86\x92", &f);
		rc = rc ? rc : lks_buf_puts(o, "<tr><td>");
		rc = rc ? rc : cell(o, fd->path, true);
		rc = rc ? rc : lks_buf_puts(o, "</td><td>");
		rc = rc ? rc : cell(o, f.data, true);
		rc = rc ? rc : lks_buf_puts(o, "</td>");
		rc = rc ? rc : html_side(&fd->a, fd->has_a, o);
		rc = rc ? rc : html_side(&fd->b, fd->has_b, o);
		rc = rc ? rc : lks_buf_puts(o, "<td class=\"cause\">");
		rc = rc ? rc : cell(o, fd->cause, true);
		rc = rc ? rc : lks_buf_puts(o, "</td></tr>\n");
		if (rc == 0 && fd->detail) {
			rc = lks_buf_puts(o, "<tr><td></td><td colspan=\"4\">");
			rc = rc ? rc : cell(o, fd->detail, true);
			rc = rc ? rc : lks_buf_puts(o, "</td></tr>\n");
		}
		if (rc == 0 && fd->text_a && fd->text_b) {
			rc = html_text_diff(fd, o);
		}
		lks_buf_free(&f);
	}
	return rc ? rc : lks_buf_puts(o, "</table>\n");
}

/* Config, manifest or index differences side by side. */
static int html_json(const char *what, const struct lks_json_diff *v, size_t n, struct lks_buf *o)
{
	int rc = n ? lks_buf_printf(o, "<h3>%s</h3>\n<table><tr><th>path</th><th>A</th><th>B</th>"
	                               "<th></th></tr>\n",
	                            what)
	           : 0;
	for (size_t i = 0; i < n && i < LKS_DIFF_MAX_CONFIG && rc == 0; i++) {
		const struct lks_json_diff *d = &v[i];
		struct lks_buf a, b;
		lks_buf_init(&a, 0);
		lks_buf_init(&b, 0);
		rc = report_json_value(d->a, &a);
		rc = rc ? rc : report_json_value(d->b, &b);
		bool counts = !d->normalized && !d->derived;
		rc = rc ? rc : lks_buf_printf(o, "<tr%s><td>", counts ? " class=\"differs\"" : "");
		rc = rc ? rc : cell(o, d->path, true);
		rc = rc ? rc : lks_buf_puts(o, "</td><td>");
		rc = rc ? rc : cell(o, a.data, true);
		rc = rc ? rc : lks_buf_puts(o, "</td><td>");
		rc = rc ? rc : cell(o, b.data, true);
		rc = rc ? rc
		        : lks_buf_printf(o, "</td><td>%s</td></tr>\n",
		                         d->derived      ? "follows from the layers"
		                         : d->normalized ? "normalized away"
		                                         : "differs");
		lks_buf_free(&a);
		lks_buf_free(&b);
	}
	return rc ? rc : n ? lks_buf_puts(o, "</table>\n") : 0;
}

/* Identical layers are not listed; how many, and whether their bytes were read, is said. */
static int html_identical(const struct lks_platform_diff *pd, struct lks_buf *o)
{
	size_t ident = 0, unread = 0;
	for (size_t i = 0; i < pd->n_layers; i++) {
		ident += pd->layers[i].status == LKS_LAYER_IDENTICAL;
		unread += pd->layers[i].status == LKS_LAYER_IDENTICAL && !pd->layers[i].verified;
	}
	if (!ident) {
		return 0;
	}
	int rc = lks_buf_printf(o, "<p>%zu of %zu layers identical by digest", ident,
	                        pd->n_layers);
	if (rc == 0 && unread) {
		rc = lks_buf_printf(o, " (%zu of them registry blobs, not downloaded)", unread);
	}
	return rc ? rc : lks_buf_puts(o, "</p>\n");
}

int report_html(const struct lks_diff_result *r, struct lks_buf *o)
{
	int rc = lks_buf_printf(o,
	                        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	                        "<title>lockstep diff</title>\n%s</head><body>\n",
	                        report_html_style);
	rc = rc ? rc
	        : lks_buf_printf(
	              o, "<h1 class=\"%s\">%s</h1>\n<p>A: ", r->differs ? "differs" : "same",
	              r->differs ? "images differ" : "images are the same");
	rc = rc ? rc : cell(o, r->a_name, true);
	rc = rc ? rc : lks_buf_puts(o, "<br>B: ");
	rc = rc ? rc : cell(o, r->b_name, true);
	rc = rc ? rc : lks_buf_puts(o, "</p>\n");
	for (size_t p = 0; p < r->n_platforms && rc == 0; p++) {
		const struct lks_platform_diff *pd = &r->platforms[p];
		rc = lks_buf_puts(o, "<h2>");
		rc = rc ? rc : cell(o, pd->platform, true);
		rc = rc ? rc : lks_buf_puts(o, "</h2>\n");
		rc = rc ? rc : html_identical(pd, o);
		for (size_t i = 0; i < pd->n_layers && rc == 0; i++) {
			if (pd->layers[i].status != LKS_LAYER_IDENTICAL) {
				rc = html_layer(&pd->layers[i], o);
			}
		}
		rc = rc ? rc : html_json("config", pd->config, pd->n_config, o);
		rc = rc ? rc : html_json("manifest", pd->manifest, pd->n_manifest, o);
	}
	rc = rc ? rc : html_json("index", r->index, r->n_index, o);
	return rc ? rc : lks_buf_puts(o, "</body></html>\n");
}
