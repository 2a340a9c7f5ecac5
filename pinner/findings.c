#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/array.h"
#include "lockstep/sort.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/escape.h"
#include "lockstep/findings.h"
#include "lockstep/json.h"

void lks_findings_init(struct lks_findings *f)
{
	memset(f, 0, sizeof(*f));
}

void lks_findings_free(struct lks_findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].file);
		free(f->v[i].code);
		free(f->v[i].subject);
		free(f->v[i].message);
	}
	free(f->v);
	lks_findings_init(f);
}

int lks_findings_add(struct lks_findings *f, const char *file, size_t line, enum lks_severity sev,
		     const char *code, const char *subject, const char *fmt, ...)
{
	if (LKS_GROW(f->v, f->cap, f->n + 1, 16) < 0) {
		return -ENOMEM;
	}
	struct lks_finding *x = &f->v[f->n];
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&x->message, fmt, ap);
	va_end(ap);
	if (r < 0) {
		return -ENOMEM;
	}
	x->file = strdup(file ? file : "");
	x->code = strdup(code);
	x->subject = strdup(subject ? subject : "");
	x->line = line;
	x->severity = sev;
	f->n++;
	return x->file && x->code && x->subject ? 0 : -ENOMEM;
}

size_t lks_findings_errors(const struct lks_findings *f)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++) {
		n += f->v[i].severity == LKS_SEV_ERROR;
	}
	return n;
}

static int cmp(const void *a, const void *b)
{
	const struct lks_finding *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	if (c) {
		return c;
	}
	if (x->line != y->line) {
		return x->line < y->line ? -1 : 1;
	}
	if ((c = strcmp(x->code, y->code))) {
		return c;
	}
	if ((c = strcmp(x->subject, y->subject))) {
		return c;
	}
	return strcmp(x->message, y->message);
}

static bool same(const struct lks_finding *a, const struct lks_finding *b)
{
	return cmp(a, b) == 0 && a->severity == b->severity;
}

void lks_findings_sort(struct lks_findings *f)
{
	if (f->n < 2) {
		return;
	}
	lks_qsort(f->v, f->n, sizeof(*f->v), cmp);
	size_t w = 1;
	for (size_t r = 1; r < f->n; r++) {
		if (same(&f->v[w - 1], &f->v[r])) {
			free(f->v[r].file);
			free(f->v[r].code);
			free(f->v[r].subject);
			free(f->v[r].message);
			continue;
		}
		f->v[w++] = f->v[r];
	}
	f->n = w;
}

const char *lks_where(char *buf, size_t len, const char *file, size_t line)
{
	if (line) {
		snprintf(buf, len, "%s:%zu", file, line);
	} else {
		snprintf(buf, len, "%s", file);
	}
	return buf;
}

int lks_findings_text(const struct lks_findings *f, struct lks_buf *out)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct lks_finding *x = &f->v[i];
		char where[4200];
		int rc = lks_esc_terminal(out, lks_where(where, sizeof(where), x->file, x->line));
		rc = rc ? rc
			: lks_buf_printf(out, ": %s",
					 x->severity == LKS_SEV_WARNING ? "warning: " : "");
		rc = rc ? rc : lks_esc_terminal(out, x->message);
		rc = rc ? rc : lks_buf_putc(out, '\n');
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

int lks_findings_json(struct lks_ctx *ctx, const struct lks_findings *f, struct lks_buf *out)
{
	json_auto_t *root = json_object();
	json_t *arr = json_array();
	if (!root || !arr || json_object_set_new(root, "findings", arr) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct lks_finding *x = &f->v[i];
		/* file, subject and message carry Dockerfile bytes: not always UTF-8 */
		json_t *o = json_pack("{s:o, s:I, s:s, s:s, s:o, s:o}", "file",
				      lks_json_bytes(x->file), "line", (json_int_t)x->line,
				      "severity", x->severity == LKS_SEV_ERROR ? "error" : "warning",
				      "code", x->code, "subject", lks_json_bytes(x->subject),
				      "message", lks_json_bytes(x->message));
		if (!o || json_array_append_new(arr, o) < 0) {
			return -ENOMEM;
		}
	}
	size_t errors = lks_findings_errors(f);
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "errors", json_integer((json_int_t)errors));
	json_object_set_new(root, "warnings", json_integer((json_int_t)(f->n - errors)));
	return lks_json_dump_stable(ctx, root, out);
}

void lks_pin_report_init(struct lks_pin_report *r)
{
	memset(r, 0, sizeof(*r));
}

void lks_pin_report_free(struct lks_pin_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].file);
		free(r->v[i].written);
		free(r->v[i].subject);
		free(r->v[i].pinned);
		free(r->v[i].previous);
		free(r->v[i].link);
	}
	free(r->v);
	lks_pin_report_init(r);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int lks_pin_report_add(struct lks_pin_report *r, const char *kind, const char *file, size_t line,
		       const char *written, const char *subject, const char *pinned,
		       const char *previous, bool changed, struct lks_pin_change **out)
{
	struct lks_pin_change *v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	r->v = v;
	struct lks_pin_change *c = &v[r->n];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->line = line;
	c->changed = changed;
	c->file = dup_or_empty(file);
	c->written = dup_or_empty(written);
	c->subject = dup_or_empty(subject);
	c->pinned = dup_or_empty(pinned);
	c->previous = previous ? strdup(previous) : NULL;
	if (!c->file || !c->written || !c->subject || !c->pinned || (previous && !c->previous)) {
		free(c->file);
		free(c->written);
		free(c->subject);
		free(c->pinned);
		free(c->previous);
		return -ENOMEM;
	}
	r->n++;
	if (out) {
		*out = c;
	}
	return 0;
}
