/* lockstep update: which pins may move, and the pull-request summary. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/sort.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/escape.h"
#include "lockstep/findings.h"
#include "lockstep/json.h"
#include "lockstep/update.h"
#include "lockstep/policy.h"

enum lks_update_verdict lks_update_verdict(const struct lks_update_opts *u, time_t now,
                                           const char *kind, const char *const *names, size_t n,
                                           const struct lks_policy_rule **rule)
{
	if (rule) {
		*rule = NULL;
	}
	if (!u || !u->enabled || (u->package && !lks_name_match(u->package, names, n))) {
		return LKS_UPDATE_NOT_SELECTED;
	}
	const struct lks_policy_rule *r = lks_policy_match(u->policy, kind, names, n);
	if (rule) {
		*rule = r;
	}
	if (r && r->action == LKS_POLICY_IGNORE) {
		return LKS_UPDATE_IGNORED;
	}
	if (r && r->action == LKS_POLICY_HOLD && now < r->until) {
		return LKS_UPDATE_HELD;
	}
	return LKS_UPDATE_MOVE;
}

bool lks_update_cooled(const struct lks_update_opts *u, time_t now, time_t published)
{
	return !u || u->cooldown <= 0 || now - published >= u->cooldown;
}

static bool is_update(const struct lks_pin_change *c)
{
	return c->changed && c->previous;
}

size_t lks_update_count(const struct lks_pin_report *rep)
{
	size_t n = 0;
	for (size_t i = 0; i < rep->n; i++) {
		n += is_update(&rep->v[i]);
	}
	return n;
}

/* ---- the summary ---- */

static const struct kind_text {
	const char *kind, *title, *column, *singular, *plural;
} kinds[] = {
    {"image", "Images", "Image", "image", "images"},
    {"apt", "apt packages", "Package", "apt package", "apt packages"},
    {"python", "Python packages", "Package", "Python package", "Python packages"},
};

static size_t kind_rank(const char *kind)
{
	size_t i = 0;
	while (i < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[i].kind, kind)) {
		i++;
	}
	return i;
}

/* The name users know: an image subject without its digest. */
static size_t name_len(const struct lks_pin_change *c)
{
	const char *at = strchr(c->subject, '@');
	return at ? (size_t)(at - c->subject) : strlen(c->subject);
}

static int cmp_change(const void *pa, const void *pb)
{
	const struct lks_pin_change *a = *(const struct lks_pin_change *const *)pa;
	const struct lks_pin_change *b = *(const struct lks_pin_change *const *)pb;
	size_t ka = kind_rank(a->kind), kb = kind_rank(b->kind);
	if (ka != kb) {
		return ka < kb ? -1 : 1;
	}
	size_t la = name_len(a), lb = name_len(b);
	int c = strncmp(a->subject, b->subject, la < lb ? la : lb);
	if (c || la != lb) {
		return c ? c : (la < lb ? -1 : 1);
	}
	if ((c = strcmp(a->file, b->file))) {
		return c;
	}
	return a->line < b->line ? -1 : a->line > b->line;
}

/* The updates of rep, sorted; *n receives the count. NULL only on allocation failure. */
static const struct lks_pin_change **sorted_updates(const struct lks_pin_report *rep, size_t *n)
{
	const struct lks_pin_change **v = calloc(rep->n ? rep->n : 1, sizeof(*v));
	*n = 0;
	for (size_t i = 0; v && i < rep->n; i++) {
		if (is_update(&rep->v[i])) {
			v[(*n)++] = &rep->v[i];
		}
	}
	if (v) {
		lks_qsort(v, *n, sizeof(*v), cmp_change);
	}
	return v;
}

/* A value as a code span (escape.h); digests shortened to 12 hex digits as registries show
 * them. */
static int md_code(struct lks_buf *b, const char *s, size_t len, bool shorten)
{
	if (shorten && !strncmp(s, "sha256:", 7) && len > 19) {
		len = 19;
	}
	char *v = strndup(s, len);
	int rc = v ? lks_esc_md_code(b, v, true) : -ENOMEM;
	free(v);
	return rc;
}

/* Links come from image labels and package metadata: only plain https URLs whose characters
 * cannot end the Markdown link or the table cell are used. */
static bool md_safe_link(const char *u)
{
	if (!u || strncmp(u, "https://", 8) || strlen(u) > 2048) {
		return false;
	}
	for (const char *p = u; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("-._~:/?#@!$&'*+,;=%", *p)) {
			return false;
		}
	}
	return true;
}

static int md_row(struct lks_buf *b, const struct lks_pin_change *c, time_t now)
{
	bool link = md_safe_link(c->link);
	int rc = lks_buf_puts(b, "| ");
	if (rc == 0 && link) {
		rc = lks_buf_putc(b, '[');
	}
	rc = rc ? rc : md_code(b, c->subject, name_len(c), false);
	if (rc == 0 && link) {
		rc = lks_buf_printf(b, "](%s)", c->link);
	}
	rc = rc ? rc : lks_buf_puts(b, " | ");
	rc = rc ? rc : md_code(b, c->previous, strlen(c->previous), true);
	rc = rc ? rc : lks_buf_puts(b, " | ");
	rc = rc ? rc : md_code(b, c->pinned, strlen(c->pinned), true);
	char when[21] = "unknown";
	if (c->has_published_at) {
		lks_format_time(c->published_at, when);
		when[10] = '\0';
	}
	rc = rc ? rc : lks_buf_printf(b, " | %s | ", when);
	if (rc == 0 && c->has_published_at) {
		long d = lks_days_between(c->published_at, now);
		rc = lks_buf_printf(b, "%ld day%s", d, d == 1 ? "" : "s");
	}
	rc = rc ? rc : lks_buf_puts(b, " | ");
	rc = rc ? rc : md_code(b, c->file, strlen(c->file), false);
	return rc ? rc : lks_buf_printf(b, ":%zu |\n", c->line);
}

static int md_counts(struct lks_buf *b, const struct lks_pin_change **v, size_t n)
{
	int rc = lks_buf_printf(b, "%zu pin%s updated", n, n == 1 ? "" : "s");
	const char *sep = ": ";
	for (size_t k = 0; rc == 0 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			m += !strcmp(v[i]->kind, kinds[k].kind);
		}
		if (m) {
			rc = lks_buf_printf(b, "%s%zu %s", sep, m,
			                    m == 1 ? kinds[k].singular : kinds[k].plural);
			sep = ", ";
		}
	}
	return rc ? rc : lks_buf_puts(b, ".\n");
}

int lks_update_summary_markdown(const struct lks_pin_report *rep, time_t now, struct lks_buf *out)
{
	size_t n;
	const struct lks_pin_change **v = sorted_updates(rep, &n);
	if (!v) {
		return -ENOMEM;
	}
	int rc = lks_buf_puts(out, "## lockstep update\n\n");
	rc = rc ? rc : n ? md_counts(out, v, n) : lks_buf_puts(out, "Nothing to update.\n");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct kind_text *k = &kinds[kind_rank(v[i]->kind) % 3];
		if (i == 0 || strcmp(v[i - 1]->kind, v[i]->kind)) {
			rc = lks_buf_printf(
			    out,
			    "\n### %s\n\n| %s | Old | New | Published | Age | Where |\n"
			    "|---|---|---|---|---|---|\n",
			    k->title, k->column);
		}
		rc = rc ? rc : md_row(out, v[i], now);
	}
	free(v);
	return rc;
}

static json_t *time_json(bool has, time_t t)
{
	char s[21];
	if (!has) {
		return NULL;
	}
	lks_format_time(t, s);
	return json_string(s);
}

static json_t *update_json(const struct lks_pin_change *c, time_t now)
{
	json_t *age =
	    c->has_published_at ? json_integer(lks_days_between(c->published_at, now)) : NULL;
	_cleanup_free_ char *name = strndup(c->subject, name_len(c));
	/* names, files and links come from Dockerfiles, registries and indexes: any bytes */
	return json_pack("{s:s, s:o, s:o, s:I, s:o, s:o, s:o*, s:o*, s:o*, s:o*}", "kind", c->kind,
	                 "name", lks_json_bytes(name), "file", lks_json_bytes(c->file), "line",
	                 (json_int_t)c->line, "old", lks_json_bytes(c->previous), "new",
	                 lks_json_bytes(c->pinned), "published_at",
	                 time_json(c->has_published_at, c->published_at), "previous_published_at",
	                 time_json(c->has_previous_published_at, c->previous_published_at),
	                 "age_days", age, "link", c->link ? lks_json_bytes(c->link) : NULL);
}

int lks_update_summary_json(struct lks_ctx *ctx, const struct lks_pin_report *rep, time_t now,
                            struct lks_buf *out)
{
	size_t n;
	const struct lks_pin_change **v = sorted_updates(rep, &n);
	json_auto_t *arr = json_array();
	int rc = v && arr ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (json_array_append_new(arr, update_json(v[i], now)) < 0) {
			rc = -ENOMEM;
		}
	}
	free(v);
	json_auto_t *root =
	    rc ? NULL
	       : json_pack("{s:i, s:I, s:O}", "version", 1, "count", (json_int_t)n, "updates", arr);
	if (rc == 0 && !root) {
		rc = -ENOMEM;
	}
	return rc ? rc : lks_json_dump_stable(ctx, root, out);
}
