#include "pinner/apt/deb822.h"
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"

#define MAX_LINE ((size_t)1 << 20)

void lks_deb822_init(struct lks_deb822 *p, struct lks_ctx *ctx, const char *what, unsigned flags,
                     size_t max_para, lks_deb822_fn fn, void *opaque)
{
	memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	p->what = what ? what : "deb822 input";
	p->flags = flags;
	p->fn = fn;
	p->opaque = opaque;
	lks_buf_init(&p->para, max_para ? max_para : LKS_DEB822_MAX_PARA);
	lks_buf_init(&p->line, MAX_LINE);
}

void lks_deb822_free(struct lks_deb822 *p)
{
	lks_buf_free(&p->para);
	lks_buf_free(&p->line);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static char *trim_end(char *s, char *end)
{
	while (end > s && (is_blank(end[-1]) || end[-1] == '\n')) {
		end--;
	}
	*end = '\0';
	return s;
}

/* Turn the raw paragraph text (lines ending in '\n') into NUL-terminated fields in place. */
static int split_fields(struct lks_deb822 *p)
{
	char *s = p->para.data, *end = s + p->para.len;
	struct lks_deb822_para *cur = &p->cur;
	cur->n = 0;
	cur->line = p->para_line;
	size_t ln = p->para_line;
	while (s < end) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *colon = memchr(s, ':', (size_t)(nl - s));
		if (!colon || colon == s) {
			return lks_err(p->ctx, -LKS_E_PARSE,
			               "cannot parse %s: line %zu is not 'Field: value'", p->what,
			               ln);
		}
		if (cur->n == LKS_DEB822_MAX_FIELDS) {
			return lks_err(
			    p->ctx, -LKS_E_TOOBIG,
			    "cannot parse %s: more than %d fields in paragraph at line %zu",
			    p->what, LKS_DEB822_MAX_FIELDS, p->para_line);
		}
		char *name_end = colon;
		while (name_end > s && is_blank(name_end[-1])) {
			name_end--;
		}
		char *v = colon + 1;
		while (v < nl && is_blank(*v)) {
			v++;
		}
		/* continuation lines start with a space or tab */
		char *last = nl;
		while (last + 1 < end && (last[1] == ' ' || last[1] == '\t')) {
			last = memchr(last + 1, '\n', (size_t)(end - last - 1));
			ln++;
		}
		*name_end = '\0';
		cur->fields[cur->n].name = s;
		cur->fields[cur->n].value = trim_end(v, last);
		cur->n++;
		s = last + 1;
		ln++;
	}
	return 0;
}

static int flush_para(struct lks_deb822 *p)
{
	if (p->para.len == 0) {
		return 0;
	}
	int rc = split_fields(p);
	if (rc == 0) {
		p->n_paras++;
		rc = p->fn(p->opaque, &p->cur);
	}
	lks_buf_reset(&p->para);
	return rc;
}

/* One complete line including its '\n'. */
static int take_line(struct lks_deb822 *p, const char *l, size_t n)
{
	p->lineno++;
	size_t i = 0;
	while (i < n && is_blank(l[i])) {
		i++;
	}
	bool blank = i == n || l[i] == '\n';
	if (blank) {
		return flush_para(p);
	}
	if ((p->flags & LKS_DEB822_COMMENTS) && l[0] == '#') {
		return 0;
	}
	if (p->para.len == 0) {
		if (i > 0) {
			return lks_err(p->ctx, -LKS_E_PARSE,
			               "cannot parse %s: line %zu continues no field", p->what,
			               p->lineno);
		}
		p->para_line = p->lineno;
	}
	if (lks_buf_append(&p->para, l, n) < 0) {
		return lks_err(p->ctx, -LKS_E_TOOBIG,
		               "cannot parse %s: paragraph at line %zu exceeds %zu bytes", p->what,
		               p->para_line, p->para.max);
	}
	return 0;
}

int lks_deb822_feed(struct lks_deb822 *p, const void *data, size_t n)
{
	const char *s = data, *end = s + n;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl) {
			if (lks_buf_append(&p->line, s, (size_t)(end - s)) < 0) {
				return lks_err(p->ctx, -LKS_E_TOOBIG,
				               "cannot parse %s: line %zu too long", p->what,
				               p->lineno + 1);
			}
			return 0;
		}
		int rc;
		size_t len = (size_t)(nl - s) + 1;
		if (p->line.len) {
			if (lks_buf_append(&p->line, s, len) < 0) {
				return lks_err(p->ctx, -LKS_E_TOOBIG,
				               "cannot parse %s: line %zu too long", p->what,
				               p->lineno + 1);
			}
			rc = take_line(p, p->line.data, p->line.len);
			lks_buf_reset(&p->line);
		} else {
			rc = take_line(p, s, len);
		}
		if (rc < 0) {
			return rc;
		}
		s = nl + 1;
	}
	return 0;
}

int lks_deb822_finish(struct lks_deb822 *p)
{
	if (p->line.len) {
		int rc = lks_buf_putc(&p->line, '\n');
		if (rc == 0) {
			rc = take_line(p, p->line.data, p->line.len);
		}
		lks_buf_reset(&p->line);
		if (rc < 0) {
			return rc;
		}
	}
	return flush_para(p);
}

int lks_deb822_parse(struct lks_ctx *ctx, const char *what, unsigned flags, const void *data,
                     size_t n, lks_deb822_fn fn, void *opaque)
{
	struct lks_deb822 p;
	lks_deb822_init(&p, ctx, what, flags, 0, fn, opaque);
	int rc = lks_deb822_feed(&p, data, n);
	if (rc == 0) {
		rc = lks_deb822_finish(&p);
	}
	lks_deb822_free(&p);
	return rc;
}

const char *lks_deb822_get(const struct lks_deb822_para *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++) {
		if (!strcasecmp(p->fields[i].name, name)) {
			return p->fields[i].value;
		}
	}
	return NULL;
}
