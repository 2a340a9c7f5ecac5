/* PEP 503 names, PEP 508 requirements and markers; see pinner/python/pep508.h. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "pinner/python/pep508.h"

int lks_pep503_normalize(const char *name, size_t n, char *out, size_t out_len)
{
	size_t l = 0;
	for (size_t k = 0; k < n; k++) {
		char c = name[k];
		bool sep = c == '-' || c == '_' || c == '.';
		if (sep && l && out[l - 1] == '-') {
			continue;
		}
		if (l + 1 >= out_len) {
			return -LKS_E_TOOBIG;
		}
		out[l++] = sep ? '-' : (char)tolower((unsigned char)c);
	}
	if (!out_len) {
		return -LKS_E_TOOBIG;
	}
	out[l] = '\0';
	return (int)l;
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

bool lks_pep508_valid_name(const char *name, size_t n)
{
	if (!n || !isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1])) {
		return false;
	}
	for (size_t k = 0; k < n; k++) {
		if (!name_char(name[k])) {
			return false;
		}
	}
	return true;
}

static bool valid_python_version(const char *v)
{
	int dots = 0;
	if (!isdigit((unsigned char)v[0])) {
		return false;
	}
	for (const char *p = v; *p; p++) {
		if (*p == '.') {
			dots++;
			if (!isdigit((unsigned char)p[1])) {
				return false;
			}
		} else if (!isdigit((unsigned char)*p)) {
			return false;
		}
	}
	return dots == 1 || dots == 2;
}

int lks_pep508_env_linux(struct lks_ctx *ctx, struct lks_pep508_env *env,
                         const char *python_version, const char *machine)
{
	memset(env, 0, sizeof(*env));
	if (!python_version || strlen(python_version) > 12 ||
	    !valid_python_version(python_version)) {
		return lks_err(ctx, -LKS_E_INVAL,
		               "invalid python version '%s': expected X.Y or X.Y.Z",
		               python_version ? python_version : "");
	}
	machine = machine ? machine : "x86_64";
	if (strlen(machine) >= sizeof(env->platform_machine)) {
		return lks_err(ctx, -LKS_E_INVAL, "invalid platform machine '%s'", machine);
	}
	const char *second_dot = strchr(strchr(python_version, '.') + 1, '.');
	if (second_dot) {
		snprintf(env->python_version, sizeof(env->python_version), "%.*s",
		         (int)(second_dot - python_version), python_version);
		snprintf(env->python_full_version, sizeof(env->python_full_version), "%s",
		         python_version);
	} else {
		snprintf(env->python_version, sizeof(env->python_version), "%s", python_version);
		snprintf(env->python_full_version, sizeof(env->python_full_version), "%s.0",
		         python_version);
	}
	snprintf(env->implementation_version, sizeof(env->implementation_version), "%s",
	         env->python_full_version);
	snprintf(env->platform_machine, sizeof(env->platform_machine), "%s", machine);
	strcpy(env->os_name, "posix");
	strcpy(env->sys_platform, "linux");
	strcpy(env->platform_system, "Linux");
	strcpy(env->platform_python_implementation, "CPython");
	strcpy(env->implementation_name, "cpython");
	return 0;
}

/* ---- markers ---- */

enum mkind { M_AND, M_OR, M_CMP };

struct lks_marker {
	enum mkind kind;
	struct lks_marker *l, *r;
	int lvar, rvar; /* index in env_vars, or -1 for a literal */
	char *lstr, *rstr;
	char op[8];
};

static const struct {
	const char *name;
	size_t off;
	bool is_extra;
} env_vars[] = {
#define V(n, f)                                                                                    \
	{                                                                                          \
		n, offsetof(struct lks_pep508_env, f), false                                       \
	}
    V("python_version", python_version),
    V("python_full_version", python_full_version),
    V("os_name", os_name),
    V("sys_platform", sys_platform),
    V("platform_release", platform_release),
    V("platform_system", platform_system),
    V("platform_version", platform_version),
    V("platform_machine", platform_machine),
    V("platform_python_implementation", platform_python_implementation),
    V("implementation_name", implementation_name),
    V("implementation_version", implementation_version),
    {"extra", offsetof(struct lks_pep508_env, extra), true},
    /* legacy spellings packaging still accepts */
    V("os.name", os_name),
    V("sys.platform", sys_platform),
    V("platform.version", platform_version),
    V("platform.machine", platform_machine),
    V("platform.python_implementation", platform_python_implementation),
    V("python_implementation", platform_python_implementation),
#undef V
};

void lks_marker_free(struct lks_marker *m)
{
	if (!m) {
		return;
	}
	lks_marker_free(m->l);
	lks_marker_free(m->r);
	free(m->lstr);
	free(m->rstr);
	free(m);
}
DEFINE_CLEANUP_FUNC(struct lks_marker, lks_marker_free)

struct mparse {
	struct lks_ctx *ctx;
	const char *s;
	size_t i, n;
	int depth;
	int nodes;
};

static void skip_ws(struct mparse *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t')) {
		p->i++;
	}
}

static int mfail(struct mparse *p, const char *what)
{
	return lks_err(p->ctx, -LKS_E_PARSE, "invalid marker '%.*s': %s at column %zu",
	               (int)(p->n > 200 ? 200 : p->n), p->s, what, p->i + 1);
}

static struct lks_marker *new_node(struct mparse *p, enum mkind kind)
{
	if (++p->nodes > LKS_MARKER_MAX_NODES) {
		return NULL;
	}
	struct lks_marker *m = calloc(1, sizeof(*m));
	if (m) {
		m->kind = kind;
		m->lvar = m->rvar = -1;
	}
	return m;
}

static int parse_string(struct mparse *p, char **out)
{
	char q = p->s[p->i];
	size_t start = ++p->i;
	while (p->i < p->n && p->s[p->i] != q) {
		p->i++;
	}
	if (p->i >= p->n) {
		return mfail(p, "unterminated string");
	}
	size_t l = p->i - start;
	p->i++;
	if (l > LKS_MARKER_MAX_STR) {
		return lks_err(p->ctx, -LKS_E_TOOBIG, "marker string longer than %d bytes",
		               LKS_MARKER_MAX_STR);
	}
	*out = strndup(p->s + start, l);
	return *out ? 0 : -ENOMEM;
}

/* A variable name or a quoted literal; sets *var (-1 for a literal) or *str. */
static int parse_var(struct mparse *p, int *var, char **str)
{
	skip_ws(p);
	if (p->i < p->n && (p->s[p->i] == '"' || p->s[p->i] == '\'')) {
		*var = -1;
		return parse_string(p, str);
	}
	size_t start = p->i;
	while (p->i < p->n &&
	       (isalnum((unsigned char)p->s[p->i]) || p->s[p->i] == '_' || p->s[p->i] == '.')) {
		p->i++;
	}
	for (size_t k = 0; k < ARRAY_SIZE(env_vars); k++) {
		if (strlen(env_vars[k].name) == p->i - start &&
		    !memcmp(env_vars[k].name, p->s + start, p->i - start)) {
			*var = (int)k;
			return 0;
		}
	}
	p->i = start;
	return mfail(p, "expected a marker variable or a quoted string");
}

static bool word_here(struct mparse *p, const char *w)
{
	size_t l = strlen(w);
	return p->n - p->i >= l && !memcmp(p->s + p->i, w, l);
}

static int parse_op(struct mparse *p, char op[8])
{
	static const char *const cmp[] = {"===", "==", "!=", "<=", ">=", "~=", "<", ">", "in"};
	skip_ws(p);
	for (size_t k = 0; k < ARRAY_SIZE(cmp); k++) {
		if (word_here(p, cmp[k])) {
			strcpy(op, cmp[k]);
			p->i += strlen(cmp[k]);
			return 0;
		}
	}
	if (word_here(p, "not") && p->i + 3 < p->n &&
	    (p->s[p->i + 3] == ' ' || p->s[p->i + 3] == '\t')) {
		p->i += 3;
		skip_ws(p);
		if (word_here(p, "in")) {
			strcpy(op, "not in");
			p->i += 2;
			return 0;
		}
	}
	return mfail(p, "expected a comparison operator");
}

static int parse_or(struct mparse *p, struct lks_marker **out);

static int parse_expr(struct mparse *p, struct lks_marker **out)
{
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == '(') {
		if (++p->depth > LKS_MARKER_MAX_DEPTH) {
			return lks_err(p->ctx, -LKS_E_TOOBIG, "marker nested deeper than %d",
			               LKS_MARKER_MAX_DEPTH);
		}
		p->i++;
		int rc = parse_or(p, out);
		if (rc < 0) {
			return rc;
		}
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != ')') {
			return mfail(p, "expected ')'");
		}
		p->i++;
		p->depth--;
		return 0;
	}
	_cleanup_(lks_marker_freep) struct lks_marker *m = new_node(p, M_CMP);
	if (!m) {
		return lks_err(p->ctx, -LKS_E_TOOBIG, "marker has too many terms");
	}
	int rc = parse_var(p, &m->lvar, &m->lstr);
	if (rc == 0) {
		rc = parse_op(p, m->op);
	}
	if (rc == 0) {
		rc = parse_var(p, &m->rvar, &m->rstr);
	}
	if (rc < 0) {
		return rc;
	}
	*out = TAKE_PTR(m);
	return 0;
}

/* One level of the and/or grammar: operand (kw operand)*. */
static int parse_chain(struct mparse *p, struct lks_marker **out, const char *kw, enum mkind kind,
                       int (*operand)(struct mparse *, struct lks_marker **))
{
	_cleanup_(lks_marker_freep) struct lks_marker *left = NULL;
	int rc = operand(p, &left);
	if (rc < 0) {
		return rc;
	}
	for (;;) {
		size_t save = p->i;
		skip_ws(p);
		if (!word_here(p, kw)) {
			p->i = save;
			break;
		}
		p->i += strlen(kw);
		struct lks_marker *node = new_node(p, kind);
		if (!node) {
			return lks_err(p->ctx, -LKS_E_TOOBIG, "marker has too many terms");
		}
		node->l = TAKE_PTR(left);
		left = node;
		rc = operand(p, &node->r);
		if (rc < 0) {
			return rc;
		}
	}
	*out = TAKE_PTR(left);
	return 0;
}

static int parse_and(struct mparse *p, struct lks_marker **out)
{
	return parse_chain(p, out, "and", M_AND, parse_expr);
}

static int parse_or(struct mparse *p, struct lks_marker **out)
{
	return parse_chain(p, out, "or", M_OR, parse_and);
}

int lks_marker_parse(struct lks_ctx *ctx, const char *s, size_t n, struct lks_marker **out)
{
	struct mparse p = {.ctx = ctx, .s = s, .i = 0, .n = n};
	*out = NULL;
	if (n > LKS_PEP508_MAX_INPUT) {
		return lks_err(ctx, -LKS_E_TOOBIG, "marker longer than %d bytes",
		               LKS_PEP508_MAX_INPUT);
	}
	_cleanup_(lks_marker_freep) struct lks_marker *m = NULL;
	int rc = parse_or(&p, &m);
	if (rc < 0) {
		return rc;
	}
	skip_ws(&p);
	if (p.i != p.n) {
		return mfail(&p, "unexpected text");
	}
	*out = TAKE_PTR(m);
	return 0;
}

static const char *var_value(const struct lks_pep508_env *env, int var, const char *lit)
{
	return var < 0 ? lit : (const char *)env + env_vars[var].off;
}

/* A version comparison when "op rhs" is a PEP 440 specifier; returns -1 when it is not. */
static int version_compare(const char *lhs, const char *op, const char *rhs)
{
	char text[LKS_MARKER_MAX_STR + 8];
	struct lks_pep440_spec sp;
	struct lks_pep440 v;
	snprintf(text, sizeof(text), "%s%s", op, rhs);
	if (lks_pep440_spec_parse(NULL, text, strlen(text), &sp) < 0) {
		return -1;
	}
	if (lks_pep440_parse(NULL, lhs, strlen(lhs), &v) < 0) {
		/* packaging compares a non-version as a string only for === */
		return sp.op == LKS_PEP440_ARBITRARY && strcasecmp(lhs, sp.text) == 0;
	}
	if (lks_pep440_is_prerelease(&v) && !lks_pep440_spec_prereleases(&sp)) {
		return 0;
	}
	return lks_pep440_spec_match(&sp, &v);
}

static int string_compare(struct lks_ctx *ctx, const char *lhs, const char *op, const char *rhs)
{
	int c = strcmp(lhs, rhs);
	if (!strcmp(op, "in")) {
		return strstr(rhs, lhs) != NULL;
	}
	if (!strcmp(op, "not in")) {
		return strstr(rhs, lhs) == NULL;
	}
	static const struct {
		const char *op;
		int lt, eq, gt;
	} table[] = {
	    {"==", 0, 1, 0}, {"!=", 1, 0, 1}, {"<", 1, 0, 0},
	    {"<=", 1, 1, 0}, {">", 0, 0, 1},  {">=", 0, 1, 1},
	};
	for (size_t k = 0; k < ARRAY_SIZE(table); k++) {
		if (!strcmp(op, table[k].op)) {
			return c < 0 ? table[k].lt : c == 0 ? table[k].eq : table[k].gt;
		}
	}
	return lks_err(ctx, -LKS_E_INVAL, "undefined marker comparison '\"%s\" %s \"%s\"'", lhs, op,
	               rhs);
}

static int eval_cmp(struct lks_ctx *ctx, const struct lks_marker *m,
                    const struct lks_pep508_env *env, bool *result)
{
	if (m->lvar < 0 && m->rvar < 0) {
		/* packaging looks the right side up as a variable name and fails */
		return lks_err(ctx, -LKS_E_INVAL, "marker compares two strings: '\"%s\" %s \"%s\"'",
		               m->lstr, m->op, m->rstr);
	}
	const char *lhs = var_value(env, m->lvar, m->lstr);
	const char *rhs = var_value(env, m->rvar, m->rstr);
	char nl[LKS_PEP508_MAX_NAME], nr[LKS_PEP508_MAX_NAME];
	bool extra = (m->lvar >= 0 && env_vars[m->lvar].is_extra) ||
	             (m->rvar >= 0 && env_vars[m->rvar].is_extra);
	/* PEP 685: extras compare normalised */
	if (extra && lks_pep503_normalize(lhs, strlen(lhs), nl, sizeof(nl)) >= 0 &&
	    lks_pep503_normalize(rhs, strlen(rhs), nr, sizeof(nr)) >= 0) {
		lhs = nl;
		rhs = nr;
	}
	int r = version_compare(lhs, m->op, rhs);
	if (r < 0) {
		r = string_compare(ctx, lhs, m->op, rhs);
	}
	if (r < 0) {
		return r;
	}
	*result = r;
	return 0;
}

int lks_marker_eval(struct lks_ctx *ctx, const struct lks_marker *m,
                    const struct lks_pep508_env *env, bool *result)
{
	if (m->kind == M_CMP) {
		return eval_cmp(ctx, m, env, result);
	}
	/* both sides are evaluated, as packaging does, so errors are never hidden */
	bool a, b;
	int rc = lks_marker_eval(ctx, m->l, env, &a);
	if (rc == 0) {
		rc = lks_marker_eval(ctx, m->r, env, &b);
	}
	if (rc == 0) {
		*result = m->kind == M_AND ? (a && b) : (a || b);
	}
	return rc;
}

bool lks_marker_uses_extra(const struct lks_marker *m)
{
	if (!m) {
		return false;
	}
	if (m->kind != M_CMP) {
		return lks_marker_uses_extra(m->l) || lks_marker_uses_extra(m->r);
	}
	return (m->lvar >= 0 && env_vars[m->lvar].is_extra) ||
	       (m->rvar >= 0 && env_vars[m->rvar].is_extra);
}

/* ---- requirements ---- */

void lks_pep508_req_init(struct lks_pep508_req *r)
{
	memset(r, 0, sizeof(*r));
	lks_pep440_specset_init(&r->spec);
}

void lks_pep508_req_free(struct lks_pep508_req *r)
{
	lks_pep440_specset_free(&r->spec);
	free(r->url);
	r->url = NULL;
	lks_marker_free(r->marker);
	r->marker = NULL;
}

struct rparse {
	struct lks_ctx *ctx;
	const char *s;
	size_t i, n;
};

static void rskip(struct rparse *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t')) {
		p->i++;
	}
}

static int rfail(struct rparse *p, const char *what)
{
	return lks_err(p->ctx, -LKS_E_PARSE, "invalid requirement '%.*s': %s at column %zu",
	               (int)(p->n > 200 ? 200 : p->n), p->s, what, p->i + 1);
}

/* A name (project or extra) at the cursor, normalised into key when given. */
static int read_name(struct rparse *p, char *raw, char *key, const char *what)
{
	size_t start = p->i;
	while (p->i < p->n && name_char(p->s[p->i])) {
		p->i++;
	}
	size_t l = p->i - start;
	if (!lks_pep508_valid_name(p->s + start, l)) {
		p->i = start;
		return rfail(p, what);
	}
	if (l >= LKS_PEP508_MAX_NAME) {
		return lks_err(p->ctx, -LKS_E_TOOBIG, "name longer than %d bytes",
		               LKS_PEP508_MAX_NAME - 1);
	}
	if (raw) {
		memcpy(raw, p->s + start, l);
		raw[l] = '\0';
	}
	return lks_pep503_normalize(p->s + start, l, key, LKS_PEP508_MAX_NAME) < 0 ? -LKS_E_TOOBIG
	                                                                           : 0;
}

static int read_extras(struct rparse *p, struct lks_pep508_req *r)
{
	p->i++;
	rskip(p);
	if (p->i < p->n && p->s[p->i] == ']') {
		p->i++;
		return 0;
	}
	for (;;) {
		if (r->nextras == LKS_PEP508_MAX_EXTRAS) {
			return lks_err(p->ctx, -LKS_E_TOOBIG, "more than %d extras",
			               LKS_PEP508_MAX_EXTRAS);
		}
		int rc = read_name(p, NULL, r->extras[r->nextras], "expected an extra name");
		if (rc < 0) {
			return rc;
		}
		r->nextras++;
		rskip(p);
		if (p->i < p->n && p->s[p->i] == ']') {
			p->i++;
			return 0;
		}
		if (p->i >= p->n || p->s[p->i] != ',') {
			return rfail(p, "expected ',' or ']' in extras");
		}
		p->i++;
		rskip(p);
	}
}

/* scheme://netloc..., or file: with a path (what packaging accepts). */
static bool url_ok(const char *u)
{
	size_t k = 0;
	while (isalnum((unsigned char)u[k]) || u[k] == '+' || u[k] == '-' || u[k] == '.') {
		k++;
	}
	if (!k || u[k] != ':' || !isalpha((unsigned char)u[0])) {
		return false;
	}
	if (k == 4 && !strncasecmp(u, "file", 4)) {
		return u[k + 1] != '\0';
	}
	return u[k + 1] == '/' && u[k + 2] == '/' && u[k + 3] && u[k + 3] != '/';
}

static int read_url(struct rparse *p, struct lks_pep508_req *r)
{
	p->i++;
	rskip(p);
	size_t start = p->i;
	while (p->i < p->n && p->s[p->i] != ' ' && p->s[p->i] != '\t') {
		p->i++;
	}
	r->url = strndup(p->s + start, p->i - start);
	if (!r->url) {
		return -ENOMEM;
	}
	if (!url_ok(r->url)) {
		p->i = start;
		return rfail(p, "invalid URL");
	}
	rskip(p);
	return 0;
}

static bool spec_char(char c)
{
	return isalnum((unsigned char)c) || strchr(" \t-_.*+!,<>=~", c);
}

static int read_specs(struct rparse *p, struct lks_pep508_req *r)
{
	bool paren = p->i < p->n && p->s[p->i] == '(';
	p->i += paren;
	size_t start = p->i;
	while (p->i < p->n && p->s[p->i] && spec_char(p->s[p->i])) {
		p->i++;
	}
	size_t end = p->i;
	if (paren) {
		if (p->i >= p->n || p->s[p->i] != ')') {
			return rfail(p, "expected ')' after the version specifiers");
		}
		p->i++;
	}
	if (end == start && paren) {
		return rfail(p, "empty version specifier list");
	}
	int rc = lks_pep440_specset_parse(p->ctx, p->s + start, end - start, &r->spec);
	if (rc < 0) {
		char detail[512];
		snprintf(detail, sizeof(detail), "%.400s", p->ctx ? p->ctx->err : "bad specifier");
		return lks_err(p->ctx, rc, "invalid requirement '%.*s': %s",
		               (int)(p->n > 200 ? 200 : p->n), p->s, detail);
	}
	return 0;
}

static int read_marker(struct rparse *p, struct lks_pep508_req *r)
{
	if (p->i >= p->n) {
		return 0;
	}
	if (p->s[p->i] != ';') {
		return rfail(p, "unexpected text");
	}
	p->i++;
	int rc = lks_marker_parse(p->ctx, p->s + p->i, p->n - p->i, &r->marker);
	if (rc < 0) {
		char detail[512];
		snprintf(detail, sizeof(detail), "%.400s", p->ctx ? p->ctx->err : "bad marker");
		return lks_err(p->ctx, rc, "invalid requirement '%.*s': %s",
		               (int)(p->n > 200 ? 200 : p->n), p->s, detail);
	}
	return 0;
}

int lks_pep508_parse(struct lks_ctx *ctx, const char *s, size_t n, struct lks_pep508_req *r)
{
	struct rparse p = {.ctx = ctx, .s = s, .i = 0, .n = n};
	lks_pep508_req_free(r);
	lks_pep508_req_init(r);
	if (n > LKS_PEP508_MAX_INPUT) {
		return lks_err(ctx, -LKS_E_TOOBIG, "requirement longer than %d bytes",
		               LKS_PEP508_MAX_INPUT);
	}
	while (p.n > 0 && (s[p.n - 1] == ' ' || s[p.n - 1] == '\t')) {
		p.n--;
	}
	rskip(&p);
	int rc = read_name(&p, r->name, r->key, "expected a project name");
	if (rc < 0) {
		return rc;
	}
	rskip(&p);
	if (p.i < p.n && p.s[p.i] == '[' && (rc = read_extras(&p, r)) < 0) {
		return rc;
	}
	rskip(&p);
	if (p.i < p.n && p.s[p.i] == '@') {
		rc = read_url(&p, r);
	} else {
		rc = read_specs(&p, r);
	}
	if (rc < 0) {
		return rc;
	}
	rskip(&p);
	return read_marker(&p, r);
}

int lks_pep508_applies(struct lks_ctx *ctx, const struct lks_pep508_req *r,
                       const struct lks_pep508_env *env, bool *result)
{
	*result = true;
	return r->marker ? lks_marker_eval(ctx, r->marker, env, result) : 0;
}
