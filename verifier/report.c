/* Text report, and the helpers every renderer shares. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/escape.h"
#include "lockstep/report.h"
#include "verifier/report.h"

int lks_report_format_parse(struct lks_ctx *ctx, const char *s, enum lks_report_format *out)
{
	static const struct {
		const char *name;
		enum lks_report_format f;
	} names[] = {
	    {"text", LKS_REPORT_TEXT},         {"json", LKS_REPORT_JSON},
	    {"markdown", LKS_REPORT_MARKDOWN}, {"md", LKS_REPORT_MARKDOWN},
	    {"html", LKS_REPORT_HTML},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*out = names[i].f;
			return 0;
		}
	}
	return lks_err(ctx, -LKS_E_INVAL, "unknown report format '%s' (text, json, markdown, html)",
	               s);
}

int lks_report_escape(const char *s, struct lks_buf *out)
{
	return lks_esc_printable(out, s);
}

const char *report_status(enum lks_layer_status s)
{
	static const char *const names[] = {"identical", "same", "differs", "added", "removed"};
	return names[s];
}

const char *report_layer_status(const struct lks_layer_diff *ld)
{
	if (ld->status == LKS_LAYER_IDENTICAL && !ld->verified) {
		return "identical (registry blobs, not downloaded)";
	}
	return report_status(ld->status);
}

const char *report_step(const struct lks_layer_diff *ld, char *tmp, size_t cap)
{
	const char *s = ld->dockerfile_text ? ld->dockerfile_text : ld->created_by;
	if (!s) {
		return "";
	}
	if (!ld->dockerfile_text) {
		static const char *const prefixes[] = {"/bin/sh -c ", "#(nop) ", "RUN /bin/sh -c "};
		for (size_t i = 0; i < 3; i++) {
			if (!strncmp(s, prefixes[i], strlen(prefixes[i]))) {
				s += strlen(prefixes[i]);
			}
		}
	}
	snprintf(tmp, cap, "%s", s);
	if (strlen(s) >= cap && cap > 4) {
		strcpy(tmp + cap - 4, "...");
	}
	for (char *p = tmp; *p; p++) {
		*p = (*p == '\n' || *p == '\t') ? ' ' : *p;
	}
	return tmp;
}

static const char *type_name(char t)
{
	switch (t) {
	case 'f':
		return "file";
	case 'd':
		return "dir";
	case 'l':
		return "symlink";
	case 'c':
		return "chardev";
	case 'b':
		return "blockdev";
	case 'p':
		return "fifo";
	case 'W':
		return "whiteout";
	case 'O':
		return "opaque-whiteout";
	default:
		return "unknown";
	}
}

static int field_values(const struct lks_file_diff *fd, uint32_t bit, const char *arrow,
                        struct lks_buf *out)
{
	const struct lks_fentry *a = &fd->a, *b = &fd->b;
	switch (bit) {
	case LKS_F_TYPE:
		return lks_buf_printf(out, " %s %s %s", type_name(a->type), arrow,
		                      type_name(b->type));
	case LKS_F_MODE:
		return lks_buf_printf(out, " %04o %s %04o", (unsigned)a->mode, arrow,
		                      (unsigned)b->mode);
	case LKS_F_SIZE:
		return lks_buf_printf(out, " %" PRId64 " %s %" PRId64, a->size, arrow, b->size);
	case LKS_F_UID:
		return lks_buf_printf(out, " %" PRId64 " %s %" PRId64, a->uid, arrow, b->uid);
	case LKS_F_GID:
		return lks_buf_printf(out, " %" PRId64 " %s %" PRId64, a->gid, arrow, b->gid);
	case LKS_F_MTIME:
		return lks_buf_printf(out, " %lld %s %lld", (long long)a->mtime.tv_sec, arrow,
		                      (long long)b->mtime.tv_sec);
	case LKS_F_LINK:
		return lks_buf_printf(out, " %s %s %s", a->link ? a->link : "", arrow,
		                      b->link ? b->link : "");
	default:
		return 0;
	}
}

int report_fields(const struct lks_file_diff *fd, uint32_t fields, const char *arrow,
                  struct lks_buf *out)
{
	int rc = 0;
	bool first = true;
	for (int i = 0; i < LKS_F_NFIELDS && rc == 0; i++) {
		uint32_t bit = 1u << i;
		if (!(fields & bit)) {
			continue;
		}
		rc = lks_buf_printf(out, "%s%s", first ? "" : ", ", lks_field_name(bit));
		first = false;
		if (rc == 0 && fd->has_a && fd->has_b) {
			rc = field_values(fd, bit, arrow, out);
		}
	}
	return rc;
}

int report_json_value(const char *v, struct lks_buf *out)
{
	if (!v) {
		return lks_buf_puts(out, "(absent)");
	}
	size_t n = strlen(v);
	if (n <= REPORT_VALUE_MAX) {
		return lks_report_escape(v, out);
	}
	char cut[REPORT_VALUE_MAX + 1];
	memcpy(cut, v, REPORT_VALUE_MAX);
	cut[REPORT_VALUE_MAX] = '\0';
	int rc = lks_report_escape(cut, out);
	return rc ? rc : lks_buf_puts(out, "...");
}
