#include "pinner/apt/apt_cmd.h"
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

#define MAX_CMD ((size_t)1 << 20)
#define MAX_WORDS 65536
#define MAX_HEREDOCS 16

struct tok {
	size_t start, end;
	char *text;
	bool expand; /* contained an unquoted or double-quoted expansion */
};

struct toks {
	struct tok *v;
	size_t n, cap;
	char *out_path; /* literal target of `> FILE` / `>> FILE` (stdout) */
	bool out_append;
	char *pipe_in; /* literal echo output piped into this command */
};

struct lexer {
	struct lks_ctx *ctx;
	const char *s;
	size_t n, i;
	size_t total_words;
	struct lks_buf word;
	char *heredoc[MAX_HEREDOCS];
	bool heredoc_dash[MAX_HEREDOCS];
	size_t n_heredoc;
	int redir_fd; /* the digits before the next redirection (2>x), -1 when none */
};

static void toks_clear(struct toks *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].text);
	}
	t->n = 0;
	free(t->out_path);
	t->out_path = NULL;
}

static int toks_push(struct toks *t, struct tok *tk)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct tok *nv = realloc(t->v, cap * sizeof(*nv));
		if (!nv) {
			return -ENOMEM;
		}
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = *tk;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_op(char c)
{
	return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>' ||
	       c == '\n';
}

static int unterminated(struct lexer *lx, const char *what, size_t at)
{
	return lks_err(lx->ctx, -LKS_E_PARSE,
	               "cannot parse RUN command: unterminated %s at byte %zu", what, at);
}

/* Skip a $(...) or `...` substitution starting at lx->i (on '(' or '`'), copying it raw. */
static int skip_subst(struct lexer *lx, char close)
{
	size_t at = lx->i, depth = 0;
	char open = close == ')' ? '(' : 0;
	for (lx->i++; lx->i < lx->n; lx->i++) {
		char c = lx->s[lx->i];
		if (c == '\\' && lx->i + 1 < lx->n) {
			lx->i++;
		} else if (c == '\'' && close == ')') {
			const char *q = memchr(lx->s + lx->i + 1, '\'', lx->n - lx->i - 1);
			if (!q) {
				return unterminated(lx, "quote", lx->i);
			}
			lx->i = (size_t)(q - lx->s);
		} else if (open && c == open) {
			depth++;
		} else if (c == close && depth-- == 0) {
			lx->i++;
			return lks_buf_append(&lx->word, lx->s + at, lx->i - at);
		}
	}
	return unterminated(lx, close == ')' ? "$(" : "`", at);
}

static int lex_dollar(struct lexer *lx, struct tok *tk)
{
	tk->expand = true;
	int rc = lks_buf_putc(&lx->word, '$');
	lx->i++;
	if (rc == 0 && lx->i < lx->n && lx->s[lx->i] == '(') {
		return skip_subst(lx, ')');
	}
	if (rc == 0 && lx->i < lx->n && lx->s[lx->i] == '{') {
		const char *q = memchr(lx->s + lx->i, '}', lx->n - lx->i);
		if (!q) {
			return unterminated(lx, "${", lx->i);
		}
		size_t len = (size_t)(q - (lx->s + lx->i)) + 1;
		rc = lks_buf_append(&lx->word, lx->s + lx->i, len);
		lx->i += len;
	}
	return rc;
}

static int lex_dquote(struct lexer *lx, struct tok *tk)
{
	size_t at = lx->i++;
	while (lx->i < lx->n && lx->s[lx->i] != '"') {
		char c = lx->s[lx->i];
		int rc = 0;
		if (c == '\\' && lx->i + 1 < lx->n && strchr("$`\"\\\n", lx->s[lx->i + 1])) {
			if (lx->s[lx->i + 1] != '\n') {
				rc = lks_buf_putc(&lx->word, lx->s[lx->i + 1]);
			}
			lx->i += 2;
		} else if (c == '$') {
			rc = lex_dollar(lx, tk);
		} else if (c == '`') {
			tk->expand = true;
			rc = skip_subst(lx, '`');
		} else {
			rc = lks_buf_putc(&lx->word, c);
			lx->i++;
		}
		if (rc < 0) {
			return rc;
		}
	}
	if (lx->i >= lx->n) {
		return unterminated(lx, "double quote", at);
	}
	lx->i++;
	return 0;
}

static int lex_one(struct lexer *lx, struct tok *tk)
{
	char c = lx->s[lx->i];
	if (c == '\\') {
		if (lx->i + 1 < lx->n && lx->s[lx->i + 1] != '\n') {
			int rc = lks_buf_putc(&lx->word, lx->s[lx->i + 1]);
			lx->i += 2;
			return rc;
		}
		/* a line continuation inside a word vanishes; a final lone backslash too */
		lx->i += lx->i + 1 < lx->n ? 2 : 1;
		return 0;
	}
	if (c == '\'') {
		const char *q = memchr(lx->s + lx->i + 1, '\'', lx->n - lx->i - 1);
		if (!q) {
			return unterminated(lx, "single quote", lx->i);
		}
		size_t len = (size_t)(q - (lx->s + lx->i + 1));
		int rc = lks_buf_append(&lx->word, lx->s + lx->i + 1, len);
		lx->i += len + 2;
		return rc;
	}
	if (c == '"') {
		return lex_dquote(lx, tk);
	}
	if (c == '$') {
		return lex_dollar(lx, tk);
	}
	if (c == '`') {
		tk->expand = true;
		return skip_subst(lx, '`');
	}
	lx->i++;
	return lks_buf_putc(&lx->word, c);
}

/* Read one word at lx->i into tk (text owned by tk). */
static int lex_word(struct lexer *lx, struct tok *tk)
{
	memset(tk, 0, sizeof(*tk));
	tk->start = lx->i;
	lks_buf_reset(&lx->word);
	int rc = lks_buf_puts(&lx->word, "");
	while (rc == 0 && lx->i < lx->n && !is_blank(lx->s[lx->i]) && !is_op(lx->s[lx->i])) {
		rc = lex_one(lx, tk);
	}
	if (rc < 0) {
		return rc;
	}
	if (++lx->total_words > MAX_WORDS) {
		return lks_err(lx->ctx, -LKS_E_TOOBIG,
		               "cannot parse RUN command: more than %d words", MAX_WORDS);
	}
	tk->end = lx->i > lx->n ? lx->n : lx->i;
	tk->text = strdup(lx->word.data);
	return tk->text ? 0 : -ENOMEM;
}

static void skip_blanks(struct lexer *lx)
{
	while (lx->i < lx->n) {
		if (is_blank(lx->s[lx->i])) {
			lx->i++;
		} else if (lx->s[lx->i] == '\\' && lx->i + 1 < lx->n && lx->s[lx->i + 1] == '\n') {
			lx->i += 2;
		} else {
			break;
		}
	}
}

/* `> FILE`, `>> FILE`, `>| FILE` on stdout: remember a literal target for lks_apt_write. */
static void note_output(const struct lexer *lx, struct toks *t, const char *s, size_t n,
                        struct tok *tk)
{
	bool out = (n == 1 && s[0] == '>') || (n == 2 && s[0] == '>' && strchr(">|", s[1]));
	if (!out || (lx->redir_fd != -1 && lx->redir_fd != 1)) {
		return;
	}
	free(t->out_path);
	t->out_path = tk->expand ? NULL : tk->text;
	t->out_append = n == 2 && s[1] == '>';
	if (!tk->expand) {
		tk->text = NULL;
	}
}

/* A redirection operator at lx->i: consume it and its target word (a heredoc delimiter is
 * remembered so the body is skipped after the next newline). */
static int lex_redirect(struct lexer *lx, struct toks *t)
{
	bool heredoc = lx->i + 1 < lx->n && lx->s[lx->i] == '<' && lx->s[lx->i + 1] == '<';
	size_t op = lx->i++;
	while (lx->i < lx->n && strchr("<>&|-", lx->s[lx->i])) {
		lx->i++;
	}
	size_t op_end = lx->i;
	bool dash = heredoc && lx->s[lx->i - 1] == '-';
	skip_blanks(lx);
	if (lx->i >= lx->n || is_op(lx->s[lx->i])) {
		return 0;
	}
	struct tok tk;
	int rc = lex_word(lx, &tk);
	if (rc < 0) {
		return rc;
	}
	if (heredoc && lx->n_heredoc < MAX_HEREDOCS && strcmp(tk.text, "<")) {
		lx->heredoc_dash[lx->n_heredoc] = dash;
		lx->heredoc[lx->n_heredoc++] = tk.text;
		lx->redir_fd = -1;
		return 0;
	}
	note_output(lx, t, lx->s + op, op_end - op, &tk);
	lx->redir_fd = -1;
	free(tk.text);
	return 0;
}

/* At the start of a line after a command with here-documents: skip their bodies. */
static void skip_heredocs(struct lexer *lx)
{
	for (size_t h = 0; h < lx->n_heredoc; h++) {
		const char *delim = lx->heredoc[h];
		size_t dl = strlen(delim);
		while (lx->i < lx->n) {
			const char *l = lx->s + lx->i;
			const char *nl = memchr(l, '\n', lx->n - lx->i);
			size_t len = nl ? (size_t)(nl - l) : lx->n - lx->i;
			lx->i += len + (nl ? 1 : 0);
			while (lx->heredoc_dash[h] && len > 0 && *l == '\t') {
				l++;
				len--;
			}
			if (len == dl && !memcmp(l, delim, dl)) {
				break;
			}
		}
		free(lx->heredoc[h]);
	}
	lx->n_heredoc = 0;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static bool is_assignment(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	return n > 0 && t[n] == '=' && !(t[0] >= '0' && t[0] <= '9');
}

static bool in_list(const char *t, const char *const *list)
{
	for (; *list; list++) {
		if (!strcmp(t, *list)) {
			return true;
		}
	}
	return false;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Skip the options of a wrapper at t->v[i] (sudo, env, nice, xargs); index after them. */
static size_t skip_wrapper_options(const struct toks *t, size_t i, const char *const *valued)
{
	for (i++; i < t->n && t->v[i].text[0] == '-'; i++) {
		if (in_list(t->v[i].text, valued)) {
			i++;
		}
	}
	return i;
}

/* Skip NAME=value prefixes, keywords and wrappers (sudo, env, nice, xargs ...); index of the
 * program. *xargs is set when xargs runs it (its input gives more arguments). */
static size_t skip_prefix(const struct toks *t, bool *xargs)
{
	static const char *const kw[] = {"if", "then", "else", "elif",    "do",   "while", "until",
	                                 "!",  "{",    "time", "command", "exec", "nohup", NULL};
	static const char *const wrapper_valued[] = {"-u", "-g", "-n", "-C", "-h",
	                                             "-p", "-U", "-D", "-S", NULL};
	static const char *const xargs_valued[] = {"-a", "-d", "-E", "-I", "-L",
	                                           "-n", "-P", "-s", NULL};
	size_t i = 0;
	*xargs = false;
	while (i < t->n) {
		const char *w = t->v[i].text;
		if (is_assignment(w) || in_list(w, kw)) {
			i++;
		} else if (!strcmp(w, "sudo") || !strcmp(w, "env") || !strcmp(w, "nice")) {
			i = skip_wrapper_options(t, i, wrapper_valued);
		} else if (!strcmp(base_name(w), "xargs")) {
			*xargs = true;
			i = skip_wrapper_options(t, i, xargs_valued);
		} else {
			break;
		}
	}
	return i;
}

/* An option word at t->v[*i]: advance past it and its value; a -t value is returned. */
static const char *skip_option(const struct toks *t, size_t *i)
{
	static const char *const long_valued[] = {
	    "--target-release",    "--default-release", "--option",  "--config-file",
	    "--host-architecture", "--solver",          "--planner", NULL};
	static const char *const release_opts[] = {"--target-release", "--default-release", NULL};
	const char *w = t->v[*i].text;
	const char *value = NULL;
	bool is_t = false;
	if (w[1] == '-') {
		const char *eq = strchr(w, '=');
		char name[64];
		size_t nl = eq ? (size_t)(eq - w) : strlen(w);
		snprintf(name, sizeof(name), "%.*s", (int)(nl < 63 ? nl : 63), w);
		is_t = in_list(name, release_opts);
		if (eq) {
			value = eq + 1;
		} else if (in_list(name, long_valued) && *i + 1 < t->n) {
			value = t->v[++*i].text;
		}
	} else {
		for (size_t j = 1; w[j]; j++) {
			if (!strchr("otca", w[j])) {
				continue;
			}
			is_t = w[j] == 't';
			value = w[j + 1] ? w + j + 1 : (*i + 1 < t->n ? t->v[++*i].text : NULL);
			break;
		}
	}
	(*i)++;
	return is_t ? value : NULL;
}

static enum lks_apt_word_kind classify(const struct tok *tk)
{
	const char *w = tk->text;
	size_t n = strlen(w);
	if (tk->expand) {
		return LKS_APT_WORD_VARIABLE;
	}
	if (w[0] == '.' || w[0] == '/' || (n > 4 && !strcmp(w + n - 4, ".deb"))) {
		return LKS_APT_WORD_LOCAL;
	}
	const char *eq = strchr(w, '=');
	if (strpbrk(w, "*?[]~^$") && !eq) {
		return LKS_APT_WORD_PATTERN;
	}
	if (eq) { /* apt-get takes no /regex/ here: a '/' starts a release */
		return strpbrk(eq + 1, "*?[") && !strchr(eq + 1, '/') ? LKS_APT_WORD_VERSION_GLOB
		                                                      : LKS_APT_WORD_PINNED;
	}
	if (strchr(w, '/')) {
		return LKS_APT_WORD_RELEASE;
	}
	return LKS_APT_WORD_PLAIN;
}

static int push_install(struct lks_apt_cmds *out, struct lks_apt_install *in)
{
	struct lks_apt_install *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	out->v = nv;
	out->v[out->n++] = *in;
	return 0;
}

static int add_word(struct lks_apt_install *in, const struct tok *tk)
{
	struct lks_apt_word *nv = realloc(in->words, (in->n + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	in->words = nv;
	struct lks_apt_word *w = &in->words[in->n];
	w->start = tk->start;
	w->end = tk->end;
	w->kind = classify(tk);
	w->text = strdup(tk->text);
	in->n++;
	return w->text ? 0 : -ENOMEM;
}

static void install_free(struct lks_apt_install *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free(in->words[i].text);
	}
	free(in->words);
	free(in->target_release);
	free(in->tool);
}

static bool is_apt_program(const char *prog, bool *cross)
{
	static const char *const apt[] = {"apt-get", "apt", NULL};
	static const char *const xx[] = {"xx-apt-get", "xx-apt", NULL};
	*cross = in_list(prog, xx);
	return *cross || in_list(prog, apt);
}

/* The words after the subcommand: options skipped (-t kept), package words recorded. */
static int install_words(const struct toks *t, size_t i, bool cross, struct lks_apt_install *in,
                         const char **target)
{
	bool opts = true;
	int rc = 0;
	const char *v;
	while (rc == 0 && i < t->n) {
		const char *w = t->v[i].text;
		if (opts && !strcmp(w, "--")) {
			opts = false;
			i++;
		} else if (opts && w[0] == '-' && w[1]) {
			if ((v = skip_option(t, &i))) {
				*target = v;
			}
		} else {
			rc = add_word(in, &t->v[i++]);
			enum lks_apt_word_kind *k = rc == 0 ? &in->words[in->n - 1].kind : NULL;
			if (k && cross && *k != LKS_APT_WORD_VARIABLE && *k != LKS_APT_WORD_LOCAL &&
			    *k != LKS_APT_WORD_PATTERN) {
				*k = LKS_APT_WORD_CROSS;
			}
		}
	}
	return rc;
}

/* One simple command: record it when it is an apt install or reinstall. */
static int analyse(const struct toks *t, struct lks_apt_cmds *out)
{
	bool xargs, cross;
	size_t i = skip_prefix(t, &xargs);
	if (i >= t->n) {
		return 0;
	}
	const char *prog = base_name(t->v[i].text);
	if (!is_apt_program(prog, &cross)) {
		return 0;
	}
	struct lks_apt_install in = {
	    .start = t->v[0].start, .end = t->v[t->n - 1].end, .from_input = xargs};
	const char *target = NULL, *v;
	for (i++; i < t->n && t->v[i].text[0] == '-';) {
		if ((v = skip_option(t, &i))) {
			target = v;
		}
	}
	if (i >= t->n || (strcmp(t->v[i].text, "install") && strcmp(t->v[i].text, "reinstall"))) {
		return 0;
	}
	int rc = install_words(t, i + 1, cross, &in, &target);
	in.tool = strdup(prog);
	in.target_release = target ? strdup(target) : NULL;
	if (rc == 0 && (!in.tool || (target && !in.target_release))) {
		rc = -ENOMEM;
	}
	rc = rc ? rc : push_install(out, &in);
	if (rc < 0) {
		install_free(&in);
	}
	return rc;
}

/* ---- files written with literal text ---- */

static int add_write(struct lks_apt_cmds *out, const struct toks *t, const char *path,
                     const char *text, bool append)
{
	struct lks_apt_write *nv = realloc(out->writes, (out->n_writes + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	out->writes = nv;
	struct lks_apt_write *w = &nv[out->n_writes];
	*w = (struct lks_apt_write){t->v[0].start, t->v[t->n - 1].end, strdup(path), strdup(text),
	                            append};
	if (!w->path || !w->text) {
		free(w->path);
		free(w->text);
		return -ENOMEM;
	}
	out->n_writes++;
	return 0;
}

/* What a literal `echo [-n] WORDS` prints, or NULL (not echo, or not literal). */
static char *echo_text(const struct toks *t)
{
	bool xargs;
	size_t i = skip_prefix(t, &xargs);
	if (xargs || i >= t->n || strcmp(base_name(t->v[i].text), "echo")) {
		return NULL;
	}
	bool newline = true;
	for (i++; i < t->n && !strcmp(t->v[i].text, "-n"); i++) {
		newline = false;
	}
	struct lks_buf b;
	lks_buf_init(&b, MAX_CMD);
	int rc = lks_buf_puts(&b, "");
	for (size_t k = i; rc == 0 && k < t->n; k++) {
		const struct tok *tk = &t->v[k];
		rc = tk->expand || strchr(tk->text, '\\') ? -EINVAL : 0;
		rc = rc ? rc : lks_buf_printf(&b, "%s%s", k > i ? " " : "", tk->text);
	}
	rc = rc ? rc : newline ? lks_buf_putc(&b, '\n') : 0;
	if (rc < 0) {
		lks_buf_free(&b);
		return NULL;
	}
	return lks_buf_detach(&b);
}

/* `tee [-a] FILE...` fed by a literal echo. */
static int tee_writes(const struct toks *t, struct lks_apt_cmds *out)
{
	bool xargs;
	size_t i = skip_prefix(t, &xargs);
	if (xargs || i >= t->n || strcmp(base_name(t->v[i].text), "tee")) {
		return 0;
	}
	bool append = false;
	for (size_t k = i + 1; k < t->n; k++) {
		const char *w = t->v[k].text;
		append = append || !strcmp(w, "-a") || !strcmp(w, "--append");
	}
	int rc = 0;
	for (size_t k = i + 1; rc == 0 && k < t->n; k++) {
		if (t->v[k].text[0] != '-' && !t->v[k].expand) {
			rc = add_write(out, t, t->v[k].text, t->pipe_in, append);
		}
	}
	return rc;
}

static int writes(struct toks *t, struct lks_apt_cmds *out, bool piped)
{
	char *echo = t->n ? echo_text(t) : NULL;
	int rc = t->n && t->pipe_in ? tee_writes(t, out) : 0;
	free(t->pipe_in);
	t->pipe_in = NULL;
	if (rc == 0 && echo && !piped && t->out_path) {
		rc = add_write(out, t, t->out_path, echo, t->out_append);
	}
	if (piped) {
		t->pipe_in = echo;
		echo = NULL;
	}
	free(echo);
	return rc;
}

static int end_command(struct toks *t, struct lks_apt_cmds *out, bool piped)
{
	int rc = t->n ? analyse(t, out) : 0;
	rc = rc ? rc : writes(t, out, piped);
	toks_clear(t);
	return rc;
}

static int scan_step(struct lexer *lx, struct toks *t, struct lks_apt_cmds *out)
{
	char c = lx->s[lx->i];
	if (c == '#') {
		const char *nl = memchr(lx->s + lx->i, '\n', lx->n - lx->i);
		lx->i = nl ? (size_t)(nl - lx->s) : lx->n;
		return 0;
	}
	if (c == '\n') {
		lx->i++;
		skip_heredocs(lx);
		return end_command(t, out, false);
	}
	if (c == '<' || c == '>') {
		return lex_redirect(lx, t);
	}
	if (is_op(c)) {
		size_t op = lx->i;
		while (lx->i < lx->n && strchr(";&|()", lx->s[lx->i]) && lx->s[lx->i] != '\0') {
			lx->i++;
			if (lx->s[lx->i - 1] == '(' || lx->s[lx->i - 1] == ')') {
				break;
			}
		}
		return end_command(t, out, lx->i - op == 1 && c == '|');
	}
	struct tok tk;
	int rc = lex_word(lx, &tk);
	if (rc < 0) {
		return rc;
	}
	if (lx->i < lx->n && (lx->s[lx->i] == '<' || lx->s[lx->i] == '>') && all_digits(tk.text)) {
		lx->redir_fd = strlen(tk.text) < 4 ? atoi(tk.text) : 99;
		free(tk.text);
		return 0;
	}
	rc = toks_push(t, &tk);
	if (rc < 0) {
		free(tk.text);
	}
	return rc;
}

int lks_apt_cmd_scan(struct lks_ctx *ctx, const char *cmd, size_t len, struct lks_apt_cmds *out)
{
	if (len > MAX_CMD) {
		return lks_err(ctx, -LKS_E_TOOBIG, "RUN command of %zu bytes exceeds %zu", len,
		               MAX_CMD);
	}
	struct lexer lx = {.ctx = ctx, .s = cmd, .n = len, .redir_fd = -1};
	struct toks t = {0};
	lks_buf_init(&lx.word, MAX_CMD + 1);
	int rc = 0;
	while (rc == 0 && lx.i < lx.n) {
		skip_blanks(&lx);
		if (lx.i < lx.n) {
			rc = scan_step(&lx, &t, out);
		}
	}
	if (rc == 0) {
		rc = end_command(&t, out, false);
	}
	toks_clear(&t);
	free(t.v);
	free(t.pipe_in);
	for (size_t h = 0; h < lx.n_heredoc; h++) {
		free(lx.heredoc[h]);
	}
	lks_buf_free(&lx.word);
	return rc;
}

int lks_apt_cmd_scan_argv(struct lks_ctx *ctx, const char *const *argv, size_t argc,
                          struct lks_apt_cmds *out)
{
	struct toks t = {0};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < argc; i++) {
		struct tok tk = {.start = i, .end = i + 1, .text = strdup(argv[i])};
		rc = tk.text ? toks_push(&t, &tk) : -ENOMEM;
		if (rc < 0) {
			free(tk.text);
		}
	}
	if (rc == 0) {
		rc = end_command(&t, out, false);
	}
	toks_clear(&t);
	free(t.v);
	free(t.pipe_in);
	(void)ctx;
	return rc;
}

void lks_apt_cmds_init(struct lks_apt_cmds *c)
{
	memset(c, 0, sizeof(*c));
}

void lks_apt_cmds_free(struct lks_apt_cmds *c)
{
	for (size_t i = 0; i < c->n; i++) {
		install_free(&c->v[i]);
	}
	free(c->v);
	for (size_t i = 0; i < c->n_writes; i++) {
		free(c->writes[i].path);
		free(c->writes[i].text);
	}
	free(c->writes);
	memset(c, 0, sizeof(*c));
}

const char *lks_apt_word_kind_name(enum lks_apt_word_kind k)
{
	static const char *const names[] = {"plain",    "pinned",  "release",      "local",
	                                    "variable", "pattern", "version-glob", "cross"};
	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : "?";
}
