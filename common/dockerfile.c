/* Dockerfile parser: physical lines, parser directives, continuations, heredocs. Follows
 * BuildKit's frontend/dockerfile/parser (see the header for where it deliberately differs). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "common/df_int.h"

struct df_parser {
	struct lks_ctx *ctx;
	struct lks_dockerfile *df;
	const char *d;
	size_t n;
	size_t pos;    /* start of the next physical line */
	size_t line;   /* 1-based number of the current physical line */
	size_t ls, ce; /* current line: start, end of content (before \r\n) */
	bool directives_done;
	bool seen_escape, seen_syntax, seen_check;
	bool seen_from;
	size_t iline;  /* first line of the instruction being built, for messages */
	size_t nwords; /* flags + arguments + words so far, against LKS_DF_MAX_WORDS */
	size_t cap;
};

static const char *const keywords[] = {
    "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
    "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
    "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR",
};

static bool is_keyword(const char *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (!strcmp(k, keywords[i])) {
			return true;
		}
	}
	return false;
}

/* Advance to the next physical line: 1 when there is one, 0 at end of file. */
static int next_line(struct df_parser *p)
{
	if (p->pos >= p->n) {
		return 0;
	}
	p->ls = p->pos;
	const char *nl = memchr(p->d + p->pos, '\n', p->n - p->pos);
	size_t end = nl ? (size_t)(nl - p->d) : p->n;
	p->pos = nl ? end + 1 : p->n;
	p->line++;
	if (end - p->ls > LKS_DF_MAX_LINE) {
		return lks_err(p->ctx, -LKS_E_TOOBIG, "%s:%zu: line longer than %zu bytes",
		               p->df->name, p->line, LKS_DF_MAX_LINE);
	}
	if (p->line == 1 && p->df->bom) {
		p->ls += p->df->bom;
	}
	p->ce = end;
	while (p->ce > p->ls && (p->d[p->ce - 1] == '\r' || p->d[p->ce - 1] == '\n')) {
		p->ce--;
	}
	return 1;
}

static size_t skip_ws(const char *d, size_t a, size_t b)
{
	while (a < b && df_isspace(d[a])) {
		a++;
	}
	return a;
}

/* Go's regexp \s: no \v. */
static bool re_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static int directive_set(struct df_parser *p, const char *k, const char *v, size_t vn)
{
	bool *seen = !strcmp(k, "escape")   ? &p->seen_escape
	             : !strcmp(k, "syntax") ? &p->seen_syntax
	                                    : &p->seen_check;
	if (*seen) {
		return lks_err(p->ctx, -LKS_E_PARSE,
		               "%s:%zu: only one %s parser directive can be used", p->df->name,
		               p->line, k);
	}
	*seen = true;
	if (!strcmp(k, "escape")) {
		if (vn != 1 || (v[0] != '\\' && v[0] != '`')) {
			return lks_err(p->ctx, -LKS_E_PARSE,
			               "%s:%zu: invalid escape token '%.*s' does not match ` or \\",
			               p->df->name, p->line, (int)(vn > 64 ? 64 : vn), v);
		}
		p->df->escape = v[0];
		return 0;
	}
	char **dst = !strcmp(k, "syntax") ? &p->df->syntax : &p->df->check;
	*dst = strndup(v, vn);
	return *dst ? 0 : -ENOMEM;
}

/* `# name = value` before anything else (BuildKit's reDirectives); the first line that is
 * not a known directive ends the directive block. */
static int directive(struct df_parser *p, size_t a, size_t b)
{
	const char *s = p->d;
	if (p->directives_done || a >= b || s[a] != '#') {
		p->directives_done = true;
		return 0;
	}
	size_t i = a + 1;
	while (i < b && re_space(s[i])) {
		i++;
	}
	size_t ns = i;
	while (i < b && i - ns < 16 &&
	       (isalpha((unsigned char)s[i]) || (i > ns && isdigit((unsigned char)s[i])))) {
		i++;
	}
	char k[17] = "";
	memcpy(k, s + ns, i - ns);
	while (i < b && re_space(s[i])) {
		i++;
	}
	if (i == ns || i >= b || s[i] != '=') {
		p->directives_done = true;
		return 0;
	}
	i++;
	while (i < b && re_space(s[i])) {
		i++;
	}
	size_t ve = b;
	while (ve > i && re_space(s[ve - 1])) {
		ve--;
	}
	for (char *c = k; *c; c++) {
		*c = (char)tolower((unsigned char)*c);
	}
	if (ve == i || (strcmp(k, "escape") && strcmp(k, "syntax") && strcmp(k, "check"))) {
		p->directives_done = true;
		return 0;
	}
	return directive_set(p, k, s + i, ve - i);
}

/* A continuation: the escape as last non-blank character, not itself escaped. *cut is where
 * the escape sits. */
static bool is_cont(const struct df_parser *p, size_t a, size_t e, size_t *cut)
{
	char esc = p->df->escape;
	while (e > a && (p->d[e - 1] == ' ' || p->d[e - 1] == '\t')) {
		e--;
	}
	if (e == a || p->d[e - 1] != esc || (e - 1 > a && p->d[e - 2] == esc)) {
		return false;
	}
	*cut = e - 1;
	return true;
}

/* Gather the logical line starting at a on the current line; *end is the end of the last
 * physical line that belongs to it. */
static int gather(struct df_parser *p, size_t a, struct lks_ptext *t, size_t *end)
{
	size_t cut = 0;
	bool cont = is_cont(p, a, p->ce, &cut);
	int rc = df_text_append(t, p->d, a, cont ? cut : p->ce);
	*end = p->ce;
	while (rc == 0 && cont) {
		rc = next_line(p);
		if (rc <= 0) {
			break; /* BuildKit accepts a continuation at end of file */
		}
		*end = p->ce;
		size_t b = skip_ws(p->d, p->ls, p->ce);
		if (b == p->ce || p->d[b] == '#') {
			rc = 0;
			continue; /* dropped, as BuildKit does */
		}
		cont = is_cont(p, p->ls, p->ce, &cut);
		rc = df_text_append(t, p->d, p->ls, cont ? cut : p->ce);
	}
	if (rc == -LKS_E_TOOBIG) {
		return lks_err(p->ctx, rc, "%s:%zu: instruction longer than %zu bytes", p->df->name,
		               p->line, LKS_DF_MAX_LINE);
	}
	return rc;
}

static bool may_have_heredoc(const struct lks_df_instr *in)
{
	if (in->sub) {
		in = in->sub;
	}
	return !in->json && (!strcmp(in->keyword, "RUN") || !strcmp(in->keyword, "COPY") ||
	                     !strcmp(in->keyword, "ADD"));
}

/* BuildKit's reHeredoc ^(\d*)<<(-?)([^<]*)$ on a word as written. */
static int heredoc_match(const struct lks_df_word *w, struct lks_df_heredoc *h, bool *found)
{
	const char *s = w->text;
	size_t i = strspn(s, "0123456789");
	*found = false;
	if (strncmp(s + i, "<<", 2)) {
		return 0;
	}
	const char *rest = s + i + 2;
	bool chomp = *rest == '-';
	rest += chomp;
	if (!*rest || strchr(rest, '<')) {
		return 0;
	}
	memset(h, 0, sizeof(*h));
	h->fd = i ? atoi(s) : -1;
	h->chomp = chomp;
	h->expand = !strpbrk(rest, "'\"");
	h->name = df_unquote(rest, strlen(rest), '\\');
	if (!h->name) {
		return -ENOMEM;
	}
	*found = h->name[0] != '\0';
	if (!*found) {
		free(h->name);
	}
	return 0;
}

static bool heredoc_end(const struct df_parser *p, const struct lks_df_heredoc *h)
{
	size_t a = p->ls;
	if (h->chomp) {
		while (a < p->ce && p->d[a] == '\t') {
			a++;
		}
	}
	size_t n = strlen(h->name);
	return p->ce - a == n && !memcmp(p->d + a, h->name, n);
}

/* Read the body of h from the lines after the instruction. */
static int heredoc_body(struct df_parser *p, struct lks_df_instr *in, struct lks_df_heredoc *h,
                        size_t *end)
{
	h->off = p->pos;
	h->start_line = p->line + 1;
	for (;;) {
		int rc = next_line(p);
		if (rc < 0) {
			return rc;
		}
		if (rc == 0) {
			return lks_err(p->ctx, -LKS_E_PARSE, "%s:%zu: unterminated heredoc '%s'",
			               p->df->name, in->start_line, h->name);
		}
		if (heredoc_end(p, h)) {
			h->len = p->ls - h->off;
			h->end_line = p->line;
			*end = p->ce;
			return 0;
		}
	}
}

static int heredocs(struct df_parser *p, struct lks_df_instr *in, size_t *end)
{
	const struct lks_df_instr *src = in->sub ? in->sub : in;
	size_t cap = 0;
	for (size_t i = 0; i < src->nargs; i++) {
		struct lks_df_heredoc h;
		bool found;
		int rc = heredoc_match(&src->args[i], &h, &found);
		if (rc < 0 || !found) {
			if (rc < 0) {
				return rc;
			}
			continue;
		}
		rc = df_grow(&in->heredocs, &cap, in->nheredocs, sizeof(h));
		if (rc < 0) {
			free(h.name);
			return rc;
		}
		in->heredocs[in->nheredocs++] = h;
		rc = heredoc_body(p, in, &in->heredocs[in->nheredocs - 1], end);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static bool maybe_json(const char *k)
{
	static const char *const j[] = {"RUN",  "CMD", "ENTRYPOINT", "SHELL",
	                                "COPY", "ADD", "VOLUME"};
	for (size_t i = 0; i < ARRAY_SIZE(j); i++) {
		if (!strcmp(k, j[i])) {
			return true;
		}
	}
	return false;
}

static int build_instr(struct df_parser *p, const struct lks_ptext *t, size_t a,
                       struct lks_df_instr *in, bool trigger);

static int build_onbuild(struct df_parser *p, const struct lks_ptext *t, size_t rest,
                         struct lks_df_instr *in, bool trigger)
{
	if (trigger) {
		return lks_err(p->ctx, -LKS_E_PARSE,
		               "%s:%zu: chaining ONBUILD via 'ONBUILD ONBUILD' isn't allowed",
		               p->df->name, p->iline);
	}
	if (skip_ws(t->s, rest, t->len) == t->len) {
		return lks_err(p->ctx, -LKS_E_PARSE,
		               "%s:%zu: ONBUILD requires at least one argument", p->df->name,
		               p->iline);
	}
	in->sub = calloc(1, sizeof(*in->sub));
	if (!in->sub || !(in->sub->logical = strdup(t->s + rest))) {
		return -ENOMEM;
	}
	int rc = build_instr(p, t, rest, in->sub, true);
	if (rc == 0 &&
	    (!strcmp(in->sub->keyword, "FROM") || !strcmp(in->sub->keyword, "MAINTAINER"))) {
		rc = lks_err(p->ctx, -LKS_E_PARSE, "%s:%zu: %s isn't allowed as an ONBUILD trigger",
		             p->df->name, p->iline, in->sub->keyword);
	}
	return rc;
}

static int check_from(struct df_parser *p, const struct lks_df_instr *in)
{
	if (in->nargs != 1 && in->nargs != 3) {
		return lks_err(p->ctx, -LKS_E_PARSE,
		               "%s:%zu: FROM requires either one or three arguments", p->df->name,
		               p->iline);
	}
	if (in->nargs == 3 && strcasecmp(in->args[1].text, "AS")) {
		return lks_err(p->ctx, -LKS_E_PARSE,
		               "%s:%zu: FROM: expected 'AS' as second argument, got '%.64s'",
		               p->df->name, p->iline, in->args[1].text);
	}
	return 0;
}

static int split_args(struct df_parser *p, const struct lks_ptext *t, size_t rest,
                      struct lks_df_instr *in)
{
	int rc = 0;
	size_t budget = LKS_DF_MAX_WORDS - p->nwords;
	if (maybe_json(in->keyword)) {
		rc = df_parse_json(t, rest, t->len, budget, &in->args, &in->nargs);
		in->json = rc == 1;
	}
	if (rc == 0) {
		rc = df_split_words_max(t, rest, t->len, p->df->escape, false, budget, &in->args,
		                        &in->nargs);
	}
	if (rc >= 0 && !in->json && !strcmp(in->keyword, "RUN")) {
		rc = df_split_words_max(t, rest, t->len, '\\', true, budget - in->nargs, &in->words,
		                        &in->nwords);
	}
	if (rc == -LKS_E_TOOBIG) {
		return lks_err(p->ctx, rc, "%s:%zu: more than %zu words in the file", p->df->name,
		               p->iline, LKS_DF_MAX_WORDS);
	}
	return rc < 0 ? rc : 0;
}

static int build_instr(struct df_parser *p, const struct lks_ptext *t, size_t a,
                       struct lks_df_instr *in, bool trigger)
{
	size_t i = skip_ws(t->s, a, t->len), k = i;
	while (k < t->len && !df_isspace(t->s[k])) {
		k++;
	}
	in->keyword = strndup(t->s + i, k - i);
	if (!in->keyword) {
		return -ENOMEM;
	}
	for (char *c = in->keyword; *c; c++) {
		*c = (char)toupper((unsigned char)*c);
	}
	if (!trigger && !is_keyword(in->keyword)) {
		return lks_err(p->ctx, -LKS_E_PARSE, "%s:%zu: unknown instruction '%.64s'",
		               p->df->name, p->iline, in->keyword);
	}
	size_t rest;
	int rc =
	    df_split_flags(t, skip_ws(t->s, k, t->len), t->len, &in->flags, &in->nflags, &rest);
	if (rc < 0) {
		return rc;
	}
	if (rest < t->len) {
		in->rest_off = t->pos[rest];
		in->rest_len = t->pos[t->len - 1] + 1 - in->rest_off;
	}
	if (!strcmp(in->keyword, "ONBUILD")) {
		return build_onbuild(p, t, rest, in, trigger);
	}
	rc = split_args(p, t, rest, in);
	p->nwords += in->nflags + in->nargs + in->nwords;
	if (rc == 0 && p->nwords > LKS_DF_MAX_WORDS) {
		return lks_err(p->ctx, -LKS_E_TOOBIG, "%s:%zu: more than %zu words in the file",
		               p->df->name, p->iline, LKS_DF_MAX_WORDS);
	}
	if (rc == 0 && !strcmp(in->keyword, "FROM")) {
		rc = check_from(p, in);
	}
	return rc;
}

static int check_order(struct df_parser *p, const struct lks_df_instr *in)
{
	if (!strcmp(in->keyword, "FROM")) {
		p->seen_from = true;
	} else if (!p->seen_from && strcmp(in->keyword, "ARG")) {
		return lks_err(
		    p->ctx, -LKS_E_PARSE,
		    "%s:%zu: no build stage in current context ('%s' before the first FROM)",
		    p->df->name, in->start_line, in->keyword);
	}
	return 0;
}

/* One instruction whose first line starts at a on the current line. */
static int parse_instruction(struct df_parser *p, size_t a)
{
	struct lks_dockerfile *df = p->df;
	if (df->ninstrs >= LKS_DF_MAX_INSTRS) {
		return lks_err(p->ctx, -LKS_E_TOOBIG, "%s:%zu: more than %zu instructions",
		               df->name, p->line, LKS_DF_MAX_INSTRS);
	}
	int rc = df_grow(&df->instrs, &p->cap, df->ninstrs, sizeof(*df->instrs));
	if (rc < 0) {
		return rc;
	}
	struct lks_df_instr *in = &df->instrs[df->ninstrs++];
	in->start_line = p->line;
	p->iline = p->line;
	in->off = a;
	struct lks_ptext t = {0};
	size_t end;
	rc = gather(p, a, &t, &end);
	if (rc == 0) {
		rc = build_instr(p, &t, 0, in, false);
	}
	if (rc == 0) {
		in->logical = t.s;
		t.s = NULL;
		rc = check_order(p, in);
	}
	if (rc == 0 && may_have_heredoc(in)) {
		rc = heredocs(p, in, &end);
	}
	in->end_line = p->line;
	in->len = end - a;
	if (in->sub) {
		in->sub->start_line = in->start_line;
		in->sub->end_line = in->end_line;
		in->sub->off = in->rest_off;
		in->sub->len = end - in->rest_off;
	}
	lks_ptext_free(&t);
	return rc;
}

static int parse_lines(struct df_parser *p)
{
	int rc;
	while ((rc = next_line(p)) > 0) {
		size_t a = skip_ws(p->d, p->ls, p->ce);
		rc = directive(p, a, p->ce);
		if (rc < 0) {
			return rc;
		}
		if (a == p->ce || p->d[a] == '#') {
			continue;
		}
		rc = parse_instruction(p, a);
		if (rc < 0) {
			return rc;
		}
	}
	if (rc == 0 && p->df->ninstrs == 0) {
		return lks_err(p->ctx, -LKS_E_PARSE, "%s:%zu: file with no instructions",
		               p->df->name, p->line);
	}
	return rc;
}

/* A SHELL ["prog", ...] whose program is not a POSIX shell. Without JSON form BuildKit refuses
 * SHELL, so the default stays. `env [VAR=x] bash` looks past env. */
static bool shell_is_foreign(const struct lks_df_instr *in)
{
	static const char *const posix[] = {"sh",  "bash", "dash",    "ash", "zsh",
	                                    "ksh", "mksh", "busybox", NULL};
	for (size_t k = 0; in->json && k < in->nargs; k++) {
		const char *w = in->args[k].value;
		const char *b = w + strlen(w);
		while (b > w && b[-1] != '/' && b[-1] != '\\') {
			b--;
		}
		size_t n = strlen(b);
		if (n > 4 && !strcasecmp(b + n - 4, ".exe")) {
			n -= 4;
		}
		if ((n == 3 && !strncasecmp(b, "env", 3)) ||
		    (k && (w[0] == '-' || strchr(w, '=')))) {
			continue;
		}
		for (size_t i = 0; posix[i]; i++) {
			if (strlen(posix[i]) == n && !strncasecmp(b, posix[i], n)) {
				return false;
			}
		}
		return true;
	}
	return false;
}

/* Set foreign_shell on every instruction from the SHELLs of its stage (see the header). */
static int mark_shells(struct lks_dockerfile *df)
{
	/* foreign[id]: the SHELL state of the first stage named id (a FROM of that name builds
	 * on it); a stage without AS name cannot be named */
	bool *foreign = calloc(df->ninstrs + 1, sizeof(*foreign));
	struct df_names names = {0};
	bool cur = false, in_stage = false;
	int rc = foreign ? 0 : -ENOMEM;
	long stage = -1; /* the current stage's name id, or -1 */
	for (size_t i = 0; rc == 0 && i < df->ninstrs; i++) {
		struct lks_df_instr *in = &df->instrs[i];
		if (!strcmp(in->keyword, "FROM")) {
			long parent = in->nargs ? df_names_find(&names, in->args[0].value) : -1;
			cur = parent >= 0 && foreign[parent];
			stage = -1;
			if (in->nargs >= 3 && !strcasecmp(in->args[1].value, "as")) {
				size_t id;
				rc = df_names_add(&names, in->args[2].value, &id);
				/* a repeated name keeps naming its first stage */
				stage = rc == 0 ? (long)id : -1;
				rc = rc < 0 ? rc : 0;
				if (stage >= 0) {
					foreign[stage] = cur;
				}
			}
			in_stage = true;
		} else if (!strcmp(in->keyword, "SHELL") && in_stage) {
			cur = shell_is_foreign(in);
			if (stage >= 0) {
				foreign[stage] = cur;
			}
		}
		in->foreign_shell = cur;
	}
	df_names_free(&names);
	free(foreign);
	return rc;
}

static int check_input(struct lks_ctx *ctx, const char *name, const char *data, size_t len)
{
	if (len > LKS_DF_MAX_FILE) {
		return lks_err(ctx, -LKS_E_TOOBIG, "%s: file larger than %zu bytes", name,
		               LKS_DF_MAX_FILE);
	}
	const char *z = len ? memchr(data, '\0', len) : NULL;
	if (z) {
		size_t line = 1;
		for (const char *c = data; c < z; c++) {
			line += *c == '\n';
		}
		return lks_err(ctx, -LKS_E_PARSE, "%s:%zu: NUL byte in file (binary data?)", name,
		               line);
	}
	return 0;
}

int lks_dockerfile_parse(struct lks_ctx *ctx, const char *name, const char *data, size_t len,
                         struct lks_dockerfile **out)
{
	*out = NULL;
	name = name ? name : "Dockerfile";
	int rc = check_input(ctx, name, data, len);
	if (rc < 0) {
		return rc;
	}
	struct lks_dockerfile *df = calloc(1, sizeof(*df));
	if (!df || !(df->name = strdup(name))) {
		free(df);
		return -ENOMEM;
	}
	df->data = data;
	df->len = len;
	df->escape = '\\';
	df->bom = len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3) ? 3 : 0;
	struct df_parser p = {.ctx = ctx, .df = df, .d = data, .n = len};
	rc = parse_lines(&p);
	rc = rc < 0 ? rc : mark_shells(df);
	if (rc < 0) {
		lks_dockerfile_free(df);
		return rc == -ENOMEM ? lks_err(ctx, rc, "%s: out of memory", name) : rc;
	}
	*out = df;
	return 0;
}

static void instr_free(struct lks_df_instr *in)
{
	free(in->keyword);
	free(in->logical);
	df_flags_free(in->flags, in->nflags);
	df_words_free(in->args, in->nargs);
	df_words_free(in->words, in->nwords);
	for (size_t i = 0; i < in->nheredocs; i++) {
		free(in->heredocs[i].name);
	}
	free(in->heredocs);
	if (in->sub) {
		instr_free(in->sub);
		free(in->sub);
	}
}

void lks_dockerfile_free(struct lks_dockerfile *df)
{
	if (!df) {
		return;
	}
	for (size_t i = 0; i < df->ninstrs; i++) {
		instr_free(&df->instrs[i]);
	}
	free(df->instrs);
	free(df->name);
	free(df->syntax);
	free(df->check);
	free(df);
}
