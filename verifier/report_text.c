/* The terminal report. */
#include <stdio.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/report.h"
#include "verifier/report.h"

struct tstyle {
	const char *bold, *red, *green, *dim, *off;
};

static const struct tstyle plain = {"", "", "", "", ""};
static const struct tstyle ansi = {"\033[1m", "\033[31m", "\033[32m", "\033[2m", "\033[0m"};

static int file_line(const struct lks_file_diff *fd, const struct tstyle *st, struct lks_buf *o)
{
	size_t start = o->len;
	int rc = lks_buf_puts(o, "  ");
	rc = rc ? rc : lks_report_escape(fd->path, o);
	size_t w = o->len - start;
	rc = rc ? rc : lks_buf_printf(o, "%*s", w < 32 ? (int)(32 - w) : 1, "");
	/* field values hold link targets: any bytes */
	struct lks_buf f;
	lks_buf_init(&f, 0);
	rc = rc ? rc : report_fields(fd, fd->fields, "\xe2\x86\x92", &f);
	rc = rc ? rc : lks_report_escape(f.data ? f.data : "", o);
	lks_buf_free(&f);
	if (rc == 0 && fd->cause) {
		rc = lks_buf_printf(o, "   %s(known noise: %s; %s)%s", st->dim, fd->cause, fd->hint,
		                    st->off);
	}
	rc = rc ? rc : lks_buf_putc(o, '\n');
	if (rc == 0 && fd->detail) {
		rc = lks_buf_puts(o, "      \xe2\x86\xb3 ");
		rc = rc ? rc : lks_report_escape(fd->detail, o);
		rc = rc ? rc : lks_buf_putc(o, '\n');
	}
	return rc;
}

static int layer_head(const struct lks_layer_diff *ld, const struct tstyle *st, struct lks_buf *o)
{
	char step[160];
	int rc = lks_buf_printf(o, "%slayer %zu%s  ", st->bold, ld->index + 1, st->off);
	rc = rc ? rc : lks_report_escape(report_step(ld, step, sizeof(step)), o);
	if (rc == 0 && ld->dockerfile_line) {
		rc = lks_buf_printf(o, "   (Dockerfile:%d)", ld->dockerfile_line);
	}
	return rc;
}

static int layer_body(const struct lks_layer_diff *ld, const struct tstyle *st, struct lks_buf *o)
{
	int rc = 0;
	size_t shown =
	    ld->n_files < LKS_REPORT_TEXT_MAX_FILES ? ld->n_files : LKS_REPORT_TEXT_MAX_FILES;
	for (size_t i = 0; i < shown && rc == 0; i++) {
		rc = file_line(&ld->files[i], st, o);
	}
	if (rc == 0 && ld->n_files_differ > shown) {
		rc = lks_buf_printf(o, "  ... and %zu more files\n", ld->n_files_differ - shown);
	}
	if (rc == 0 && ld->order_differs) {
		rc = lks_buf_puts(o, "  entry order differs\n");
	}
	if (rc == 0 && ld->compression) {
		rc = lks_buf_printf(o, "  %s\n", ld->compression);
	}
	if (rc == 0 && ld->n_normalized) {
		rc = lks_buf_printf(o, "  %s(%zu differences in %zu files normalized away)%s\n",
		                    st->dim, ld->n_normalized, ld->n_files_normalized, st->off);
	}
	return rc;
}

static int layer_text(const struct lks_layer_diff *ld, const struct tstyle *st, struct lks_buf *o)
{
	if (ld->status == LKS_LAYER_IDENTICAL) {
		return 0;
	}
	int rc = layer_head(ld, st, o);
	if (rc < 0) {
		return rc;
	}
	switch (ld->status) {
	case LKS_LAYER_ADDED:
		return lks_buf_printf(o, "  %sonly in B%s (%s)\n", st->red, st->off, ld->digest_b);
	case LKS_LAYER_REMOVED:
		return lks_buf_printf(o, "  %sonly in A%s (%s)\n", st->red, st->off, ld->digest_a);
	case LKS_LAYER_SAME:
		rc = lks_buf_printf(o, "  %ssame after normalization%s\n", st->green, st->off);
		break;
	default:
		rc = lks_buf_putc(o, '\n');
	}
	return rc ? rc : layer_body(ld, st, o);
}

/* "name: a, b differ" for the JSON differences that match `normalized`. */
static int json_line(const char *name, const struct lks_json_diff *v, size_t n, bool normalized,
                     struct lks_buf *o)
{
	size_t shown = 0, total = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (v[i].derived || v[i].normalized != normalized) {
			continue;
		}
		if (total++ < 12) {
			rc = lks_buf_puts(o, shown++ ? ", " : name);
			rc = rc ? rc : lks_report_escape(v[i].path[0] ? v[i].path : "(root)", o);
		}
	}
	if (rc == 0 && total > shown) {
		rc = lks_buf_printf(o, " and %zu more", total - shown);
	}
	if (rc == 0 && total) {
		rc = lks_buf_puts(o, normalized ? " differ (timestamps or names, normalized away)\n"
		                                : " differ\n");
	}
	for (size_t i = 0; i < n && rc == 0 && !normalized; i++) {
		if (v[i].cause && !v[i].derived) {
			rc = lks_buf_puts(o, "  ");
			rc = rc ? rc : lks_report_escape(v[i].path, o);
			rc = rc ? rc : lks_buf_printf(o, ": %s\n", v[i].cause);
		}
	}
	return rc;
}

/* One line per counted difference with both values: for the manifest and the index, whose
 * differences are few and whose values (media types, annotations) are the point. */
static int json_values(const char *name, const struct lks_json_diff *v, size_t n,
                       struct lks_buf *o)
{
	size_t shown = 0, total = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (v[i].derived || v[i].normalized || total++ >= 12) {
			continue;
		}
		shown++;
		rc = lks_buf_puts(o, name);
		rc = rc ? rc : lks_report_escape(v[i].path, o);
		rc = rc ? rc : lks_buf_puts(o, ": ");
		rc = rc ? rc : report_json_value(v[i].a, o);
		rc = rc ? rc : lks_buf_puts(o, " \xe2\x86\x92 ");
		rc = rc ? rc : report_json_value(v[i].b, o);
		rc = rc ? rc : lks_buf_putc(o, '\n');
	}
	if (rc == 0 && total > shown) {
		rc = lks_buf_printf(o, "%s... and %zu more differences\n", name, total - shown);
	}
	return rc;
}

static int platform_summary(const struct lks_platform_diff *pd, const struct tstyle *st,
                            struct lks_buf *o)
{
	size_t differ = 0, ident = 0, unread = 0;
	for (size_t i = 0; i < pd->n_layers; i++) {
		enum lks_layer_status s = pd->layers[i].status;
		differ += s == LKS_LAYER_DIFFERS || s == LKS_LAYER_ADDED || s == LKS_LAYER_REMOVED;
		ident += s == LKS_LAYER_IDENTICAL;
		unread += s == LKS_LAYER_IDENTICAL && !pd->layers[i].verified;
	}
	if (pd->only_in) {
		return lks_buf_printf(o, "%simage differs:%s platform only in %c\n", st->red,
		                      st->off, pd->only_in == 'a' ? 'A' : 'B');
	}
	char how[80] = "";
	if (unread) {
		snprintf(how, sizeof(how), ", %zu of them registry blobs not downloaded", unread);
	}
	if (!pd->differs) {
		return lks_buf_printf(
		    o, "%simage is the same%s: %zu layers (%zu identical by digest%s)\n", st->green,
		    st->off, pd->n_layers, ident, how);
	}
	int rc = lks_buf_printf(o,
	                        "%simage differs:%s %zu of %zu layers differ (%zu identical by "
	                        "digest%s)",
	                        st->red, st->off, differ, pd->n_layers, ident, how);
	if (rc == 0 && pd->n_layers_a != pd->n_layers_b) {
		rc = lks_buf_printf(o, "; A has %zu layers, B has %zu", pd->n_layers_a,
		                    pd->n_layers_b);
	}
	return rc ? rc : lks_buf_putc(o, '\n');
}

static int platform_text(const struct lks_platform_diff *pd, bool many, const struct tstyle *st,
                         struct lks_buf *o)
{
	int rc = many ? lks_buf_printf(o, "%splatform ", st->bold) : 0;
	rc = rc || !many ? rc : lks_report_escape(pd->platform, o);
	rc = rc || !many ? rc : lks_buf_printf(o, "%s: ", st->off);
	rc = rc ? rc : platform_summary(pd, st, o);
	for (size_t i = 0; i < pd->n_layers && rc == 0; i++) {
		rc = layer_text(&pd->layers[i], st, o);
	}
	rc = rc ? rc : json_line("config: ", pd->config, pd->n_config, false, o);
	rc = rc ? rc : json_line("config: ", pd->config, pd->n_config, true, o);
	rc = rc ? rc : json_values("manifest: ", pd->manifest, pd->n_manifest, o);
	rc = rc ? rc : json_line("manifest: ", pd->manifest, pd->n_manifest, true, o);
	if (rc == 0 && pd->n_timestamps) {
		rc = lks_buf_printf(o, "%zu timestamp differences normalized away\n",
		                    pd->n_timestamps);
	}
	if (rc == 0 && pd->n_normalized > pd->n_timestamps) {
		rc = lks_buf_printf(o, "%zu other differences ignored (--ignore, --profile)\n",
		                    pd->n_normalized - pd->n_timestamps);
	}
	return rc;
}

static int report_text(const struct lks_diff_result *r, bool colour, struct lks_buf *o)
{
	const struct tstyle *st = colour ? &ansi : &plain;
	bool many = r->n_platforms > 1;
	int rc = 0;
	if (many) {
		size_t n = 0;
		for (size_t i = 0; i < r->n_platforms; i++) {
			n += r->platforms[i].differs;
		}
		rc = lks_buf_printf(o, "%s: %zu of %zu platforms differ\n",
		                    r->differs ? "index differs" : "index is the same", n,
		                    r->n_platforms);
	}
	for (size_t i = 0; i < r->n_platforms && rc == 0; i++) {
		rc = platform_text(&r->platforms[i], many, st, o);
	}
	rc = rc ? rc : json_values("index: ", r->index, r->n_index, o);
	rc = rc ? rc : json_line("index: ", r->index, r->n_index, true, o);
	if (rc == 0 && (r->n_attestations_a || r->n_attestations_b)) {
		rc =
		    lks_buf_printf(o, "attestations: %zu in A, %zu in B (reported, not compared)\n",
		                   r->n_attestations_a, r->n_attestations_b);
	}
	return rc;
}

int lks_report_render(struct lks_ctx *ctx, const struct lks_diff_result *r,
                      enum lks_report_format f, bool colour, struct lks_buf *out)
{
	int rc;
	switch (f) {
	case LKS_REPORT_JSON:
		rc = report_json(r, out);
		break;
	case LKS_REPORT_MARKDOWN:
		rc = report_markdown(r, out);
		break;
	case LKS_REPORT_HTML:
		rc = report_html(r, out);
		break;
	default:
		rc = report_text(r, colour, out);
	}
	return rc < 0 ? lks_err(ctx, rc, "cannot render the report: %s", lks_strerror(rc)) : 0;
}
