/* Variable expansion of image references with global ARGs, after BuildKit's shell lexer:
 * quotes and escapes are removed, $V ${V} ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?w} ${V?w},
 * ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r} are expanded (inside the pattern words
 * escapes are kept for the pattern). An ARG declared without a default (or whose default
 * could not be expanded) "blocks" expansion wherever its value is needed; ${V-w} and ${V+w}
 * read it as unset. An undeclared name expands to "" as in BuildKit. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "lockstep/array.h"
#include "lockstep/dockerfile.h"
#include "pinner/dockerfile/df_expand.h"


struct exp {
	const char *s;
	size_t n, i;
	char esc;
	const struct df_args *args;
	struct df_expansion *res;
	int depth;
	bool raw; /* a pattern word: escapes stay in the text (BuildKit's rawEscapes) */
	bool too_deep;    /* past LKS_DF_MAX_NESTING */
	bool pattern_cap; /* a pattern or its value past the pattern caps */
};

void df_args_free(struct df_args *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].value);
		free(a->v[i].blocked_by);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

void df_expansion_free(struct df_expansion *r)
{
	free(r->value);
	free(r->blocked_by);
	for (size_t i = 0; i < r->nused; i++) {
		free(r->used[i]);
	}
	free(r->used);
	memset(r, 0, sizeof(*r));
}

const struct df_arg *df_args_find(const struct df_args *a, const char *name, size_t n)
{
	for (size_t i = a->n; i-- > 0;) {
		if (strlen(a->v[i].name) == n && !memcmp(a->v[i].name, name, n)) {
			return &a->v[i];
		}
	}
	return NULL;
}

static int note_used(struct df_expansion *r, const char *name, size_t n)
{
	for (size_t i = 0; i < r->nused; i++) {
		if (strlen(r->used[i]) == n && !memcmp(r->used[i], name, n)) {
			return 0;
		}
	}
	int rc = LKS_GROW(r->used, r->capused, r->nused + 1, 4);
	if (rc < 0) {
		return rc;
	}
	r->used[r->nused] = strndup(name, n);
	return r->used[r->nused] ? (int)(++r->nused, 0) : -ENOMEM;
}

static int block(struct df_expansion *r, const char *name, size_t n, enum lks_df_block why)
{
	if (r->blocked_by) {
		return 0;
	}
	r->why = why;
	r->blocked_by = strndup(name, n);
	return r->blocked_by ? 0 : -ENOMEM;
}

static int expand_until(struct exp *e, struct lks_buf *out, char stop);

/* A word of ${V<op>word} up to stop ('}' or the '/' of ${V/p/r}), expanded into its own
 * buffer; e->i ends on stop. raw: a pattern word (escapes kept). */
static int brace_word(struct exp *e, struct lks_buf *w, char stop, bool raw)
{
	if (++e->depth > LKS_DF_MAX_NESTING) {
		e->too_deep = true;
		return -LKS_E_TOOBIG;
	}
	bool was = e->raw;
	e->raw = raw;
	int rc = expand_until(e, w, stop);
	e->raw = was;
	e->depth--;
	if (rc == 0 && (e->i >= e->n || e->s[e->i] != stop)) {
		rc = -LKS_E_PARSE;
	}
	return rc;
}

/* Value of name: 1 set (*v), 0 unset, -1 blocked. */
static int lookup(struct exp *e, const char *name, size_t n, const char **v)
{
	const struct df_arg *a = df_args_find(e->args, name, n);
	if (!a) {
		return 0;
	}
	e->res->platform_dep |= a->platform_dep;
	if (a->blocked_by) {
		return block(e->res, a->blocked_by, strlen(a->blocked_by), a->why) < 0 ? -2 : -1;
	}
	*v = a->value;
	return a->value ? 1 : 0;
}

/* What blocked the word of ${V<op>word}, if anything (it only matters when the word is
 * used). */
struct word_block {
	char *by;
	enum lks_df_block why;
};

/* Apply ${name<op>word}. */
static int apply_op(struct exp *e, struct lks_buf *out, const char *name, size_t nn, char op,
                    bool colon, const char *word, const struct word_block *wb)
{
	const char *v = NULL;
	const struct df_arg *a = df_args_find(e->args, name, nn);
	int st = lookup(e, name, nn, &v);
	if (st == -2) {
		return -ENOMEM;
	}
	if (st < 0) {
		return 0;
	}
	bool set = st == 1 && (!colon || *v);
	if (op == 0) {
		if (st == 0 && a) {
			return block(e->res, name, nn, LKS_DF_BLOCK_NO_DEFAULT);
		}
		return st == 1 ? lks_buf_puts(out, v) : 0;
	}
	bool use_word = (op == '-' && !set) || (op == '+' && set);
	if (use_word && wb && wb->by) {
		return block(e->res, wb->by, strlen(wb->by), wb->why);
	}
	if (op == '-') {
		return lks_buf_puts(out, set ? v : word);
	}
	if (op == '+') {
		return set ? lks_buf_puts(out, word) : 0;
	}
	/* '?': an error when unset; we cannot know the value */
	return set ? lks_buf_puts(out, v) : block(e->res, name, nn, LKS_DF_BLOCK_NO_DEFAULT);
}

static size_t name_len(const char *s, size_t i, size_t n)
{
	size_t k = i;
	while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_')) {
		k++;
	}
	return k - i;
}

/* The value of name for ${V#p} ${V%p} ${V/p/r}: like $V, a declared ARG without a value
 * blocks. Returns 1 with *v set, 0 when blocked (nothing to compute), or -ENOMEM. */
static int value_for_pattern(struct exp *e, const char *name, size_t nn, const char **v)
{
	const struct df_arg *a = df_args_find(e->args, name, nn);
	int st = lookup(e, name, nn, v);
	if (st == -2) {
		return -ENOMEM;
	}
	if (st < 0 || (st == 0 && a)) {
		return st < 0 ? 0
		              : (block(e->res, name, nn, LKS_DF_BLOCK_NO_DEFAULT) < 0 ? -ENOMEM : 0);
	}
	if (st == 0) {
		*v = "";
	}
	return 1;
}

/* ${V#p} ${V##p} ${V%p} ${V%%p}; e->i is on the operator. */
static int expand_trim(struct exp *e, struct lks_buf *out, const char *name, size_t nn)
{
	char op = e->s[e->i++];
	bool greedy = e->i < e->n && e->s[e->i] == op;
	e->i += greedy;
	struct lks_buf w;
	lks_buf_init(&w, LKS_DF_MAX_LINE);
	int rc = brace_word(e, &w, '}', e->esc == '\\');
	const char *v = NULL;
	if (rc == 0) {
		e->i++;
		rc = value_for_pattern(e, name, nn, &v);
	}
	if (rc == 1) {
		rc = e->res->blocked_by ? 0
		                        : df_trim(v, w.data ? w.data : "", op == '#', greedy, out);
		e->pattern_cap |= rc == -LKS_E_TOOBIG;
	}
	lks_buf_free(&w);
	return rc;
}

/* ${V/p/r} ${V//p/r}; e->i is on the first '/'. */
static int expand_replace(struct exp *e, struct lks_buf *out, const char *name, size_t nn)
{
	bool all = ++e->i < e->n && e->s[e->i] == '/';
	e->i += all;
	bool raw = e->esc == '\\';
	struct lks_buf p, r;
	lks_buf_init(&p, LKS_DF_MAX_LINE);
	lks_buf_init(&r, LKS_DF_MAX_LINE);
	int rc = brace_word(e, &p, '/', raw);
	if (rc == 0) {
		e->i++;
		rc = brace_word(e, &r, '}', raw);
	}
	const char *v = NULL;
	if (rc == 0) {
		e->i++;
		rc = value_for_pattern(e, name, nn, &v);
	}
	if (rc == 1) {
		rc = e->res->blocked_by
		         ? 0
		         : df_replace(v, p.data ? p.data : "", r.data ? r.data : "", all, out);
		e->pattern_cap |= rc == -LKS_E_TOOBIG;
	}
	lks_buf_free(&p);
	lks_buf_free(&r);
	return rc;
}

static int expand_brace(struct exp *e, struct lks_buf *out)
{
	size_t ns = ++e->i; /* past '{' */
	size_t nn = name_len(e->s, ns, e->n);
	e->i += nn;
	int rc = nn ? note_used(e->res, e->s + ns, nn) : 0;
	if (rc < 0 || nn == 0 || e->i >= e->n) {
		return rc < 0 ? rc : -LKS_E_PARSE;
	}
	char c = e->s[e->i];
	if (c == '}') {
		e->i++;
		return apply_op(e, out, e->s + ns, nn, 0, false, "", NULL);
	}
	if (c == '#' || c == '%') {
		return expand_trim(e, out, e->s + ns, nn);
	}
	if (c == '/') {
		return expand_replace(e, out, e->s + ns, nn);
	}
	bool colon = c == ':';
	e->i += colon;
	char op = e->i < e->n ? e->s[e->i] : 0;
	if (op != '-' && op != '+' && op != '?') {
		return -LKS_E_UNSUPPORTED; /* also ${V:#p}, which BuildKit refuses */
	}
	e->i++;
	struct lks_buf w;
	lks_buf_init(&w, LKS_DF_MAX_LINE);
	bool had = e->res->blocked_by != NULL;
	rc = brace_word(e, &w, '}', false);
	struct word_block wb = {had ? NULL : TAKE_PTR(e->res->blocked_by), e->res->why};
	if (rc == 0) {
		e->i++;
		rc = apply_op(e, out, e->s + ns, nn, op, colon, w.data ? w.data : "", &wb);
	}
	free(wb.by);
	lks_buf_free(&w);
	return rc;
}

static int expand_dollar(struct exp *e, struct lks_buf *out)
{
	e->i++; /* past '$' */
	if (e->i < e->n && e->s[e->i] == '{') {
		return expand_brace(e, out);
	}
	size_t nn = name_len(e->s, e->i, e->n);
	if (nn == 0) {
		return lks_buf_putc(out, '$');
	}
	const char *name = e->s + e->i;
	e->i += nn;
	int rc = note_used(e->res, name, nn);
	return rc < 0 ? rc : apply_op(e, out, name, nn, 0, false, "", NULL);
}

/* One character (or escape, quote, expansion) at e->i. q is the open quote or 0. */
static int expand_char(struct exp *e, struct lks_buf *out, char *q)
{
	char c = e->s[e->i];
	if (*q != '\'' && c == e->esc) {
		e->i++;
		int rc = e->raw && e->i < e->n ? lks_buf_putc(out, c) : 0;
		return rc == 0 && e->i < e->n ? lks_buf_putc(out, e->s[e->i++]) : rc;
	}
	if (*q && c == *q) {
		*q = 0;
		e->i++;
		return 0;
	}
	if (!*q && (c == '\'' || c == '"')) {
		*q = c;
		e->i++;
		return 0;
	}
	if (*q != '\'' && c == '$') {
		return expand_dollar(e, out);
	}
	e->i++;
	return lks_buf_putc(out, c);
}

static int expand_until(struct exp *e, struct lks_buf *out, char stop)
{
	char q = 0;
	while (e->i < e->n) {
		if (stop && !q && e->s[e->i] == stop) {
			return 0;
		}
		int rc = expand_char(e, out, &q);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

int df_expand(const struct df_args *args, const char *s, size_t n, char esc,
              struct df_expansion *res)
{
	memset(res, 0, sizeof(*res));
	struct exp e = {.s = s, .n = n, .esc = esc, .args = args, .res = res};
	struct lks_buf out;
	lks_buf_init(&out, LKS_DF_MAX_LINE);
	int rc = expand_until(&e, &out, 0);
	if (rc == 0 && !res->blocked_by) {
		res->value = lks_buf_detach(&out);
	}
	lks_buf_free(&out);
	if (rc < 0 && rc != -ENOMEM) {
		/* malformed, unsupported or past a cap: blocked by the text itself */
		free(res->blocked_by);
		res->why = rc != -LKS_E_TOOBIG ? LKS_DF_BLOCK_SYNTAX
		           : e.too_deep        ? LKS_DF_BLOCK_TOO_DEEP
		           : e.pattern_cap     ? LKS_DF_BLOCK_PATTERN
		                               : LKS_DF_BLOCK_TOO_LONG;
		res->own = true;
		res->blocked_by = strndup(s, n);
		rc = res->blocked_by ? 0 : -ENOMEM;
	}
	return rc;
}

int df_args_set(struct df_args *a, const char *name, size_t nn, const char *raw, size_t rn,
                char esc)
{
	int rc = LKS_GROW(a->v, a->cap, a->n + 1, 4);
	if (rc < 0) {
		return rc;
	}
	struct df_arg *v = &a->v[a->n];
	memset(v, 0, sizeof(*v));
	struct df_expansion x = {0};
	if (raw) {
		rc = df_expand(a, raw, rn, esc, &x);
		if (rc < 0) {
			return rc;
		}
	}
	v->name = strndup(name, nn);
	v->value = TAKE_PTR(x.value);
	/* a default that cannot be expanded itself is named by its ARG wherever it is used */
	v->blocked_by = x.own ? strndup(name, nn) : TAKE_PTR(x.blocked_by);
	v->why = x.why;
	v->platform_dep = x.platform_dep;
	bool lost = x.own && !v->blocked_by;
	df_expansion_free(&x);
	if (!v->name || lost) {
		free(v->value);
		free(v->blocked_by);
		return -ENOMEM;
	}
	a->n++;
	return 0;
}
