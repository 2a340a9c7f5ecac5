/* deb822 relationship fields (see apt_rel.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_rel.h"
#include "lockstep/ctx.h"
#include "pinner/apt/debver.h"
#include "lockstep/error.h"

#define WS " \t\r\n"

static void alt_free(struct lks_apt_alt *a)
{
	free(a->name);
	free(a->arch);
	free(a->version);
}

void lks_apt_rels_free(struct lks_apt_rels *r)
{
	for (size_t i = 0; r->v && i < r->n; i++) {
		for (size_t j = 0; j < r->v[i].n; j++) {
			alt_free(&r->v[i].alts[j]);
		}
		free(r->v[i].alts);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

struct rel_parser {
	struct lks_ctx *ctx;
	const char *text; /* the whole field, for messages */
	const char *p;
};

static int bad(struct rel_parser *ps, const char *why)
{
	return lks_err(ps->ctx, -LKS_E_PARSE,
	               "cannot parse relationship '%.200s': %s at offset %zu", ps->text, why,
	               (size_t)(ps->p - ps->text));
}

static void skip_ws(struct rel_parser *ps)
{
	ps->p += strspn(ps->p, WS);
}

static char *take(struct rel_parser *ps, const char *stop, size_t *len)
{
	*len = strcspn(ps->p, stop);
	char *s = *len && *len < LKS_APT_REL_MAX_NAME ? strndup(ps->p, *len) : NULL;
	ps->p += *len;
	return s;
}

/* Why take() gave nothing: empty (expected `what`), too long, or out of memory. */
static int take_err(struct rel_parser *ps, size_t len, const char *what)
{
	if (!len) {
		return bad(ps, what);
	}
	return len >= LKS_APT_REL_MAX_NAME ? bad(ps, "word too long") : -ENOMEM;
}

static enum lks_apt_relop read_op(struct rel_parser *ps)
{
	static const struct {
		const char *s;
		enum lks_apt_relop op;
	} ops[] = {
	    {"<<", LKS_APT_REL_LT}, {"<=", LKS_APT_REL_LE}, {">=", LKS_APT_REL_GE},
	    {">>", LKS_APT_REL_GT}, {"=", LKS_APT_REL_EQ},  {"<", LKS_APT_REL_LE},
	    {">", LKS_APT_REL_GE},
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].s);
		if (!strncmp(ps->p, ops[i].s, n)) {
			ps->p += n;
			return ops[i].op;
		}
	}
	return LKS_APT_REL_NONE;
}

/* "(OP VERSION)" after the name; ps->p is at '('. */
static int read_constraint(struct rel_parser *ps, struct lks_apt_alt *a)
{
	ps->p++;
	skip_ws(ps);
	a->op = read_op(ps);
	if (a->op == LKS_APT_REL_NONE) {
		return bad(ps, "expected a version operator");
	}
	skip_ws(ps);
	size_t len;
	a->version = take(ps, WS ")", &len);
	if (!a->version) {
		return take_err(ps, len, "expected a version");
	}
	skip_ws(ps);
	if (*ps->p != ')') {
		return bad(ps, "expected ')'");
	}
	ps->p++;
	return 0;
}

/* Source-only restrictions: "[arch ...]" and "<profile ...>", dropped. */
static int skip_restrictions(struct rel_parser *ps)
{
	for (skip_ws(ps); *ps->p == '[' || *ps->p == '<'; skip_ws(ps)) {
		const char *end = strchr(ps->p, *ps->p == '[' ? ']' : '>');
		if (!end) {
			return bad(ps, "unterminated restriction");
		}
		ps->p = end + 1;
	}
	return 0;
}

static int read_alt(struct rel_parser *ps, struct lks_apt_alt *a)
{
	skip_ws(ps);
	size_t len;
	a->name = take(ps, WS ":()|,[<", &len);
	if (!a->name) {
		return take_err(ps, len, "expected a package name");
	}
	if (*ps->p == ':') {
		ps->p++;
		a->arch = take(ps, WS "()|,[<", &len);
		if (!a->arch) {
			return take_err(ps, len, "expected an architecture after ':'");
		}
	}
	skip_ws(ps);
	int rc = *ps->p == '(' ? read_constraint(ps, a) : 0;
	rc = rc ? rc : skip_restrictions(ps);
	if (rc == 0 && *ps->p && *ps->p != '|' && *ps->p != ',') {
		rc = bad(ps, "unexpected character");
	}
	return rc;
}

static int read_group(struct rel_parser *ps, struct lks_apt_group *g)
{
	int rc = 0;
	do {
		if (g->n == LKS_APT_REL_MAX_ALTS) {
			return lks_err(ps->ctx, -LKS_E_TOOBIG,
			               "relationship '%.200s' has more than %d alternatives",
			               ps->text, LKS_APT_REL_MAX_ALTS);
		}
		struct lks_apt_alt *v = realloc(g->alts, (g->n + 1) * sizeof(*v));
		if (!v) {
			return -ENOMEM;
		}
		g->alts = v;
		memset(&v[g->n], 0, sizeof(v[g->n]));
		rc = read_alt(ps, &v[g->n++]);
	} while (rc == 0 && *ps->p == '|' && ps->p++);
	return rc;
}

int lks_apt_rels_parse(struct lks_ctx *ctx, const char *text, struct lks_apt_rels *out)
{
	struct rel_parser ps = {ctx, text ? text : "", text ? text : ""};
	memset(out, 0, sizeof(*out));
	skip_ws(&ps);
	int rc = 0;
	while (rc == 0 && *ps.p) {
		if (out->n == LKS_APT_REL_MAX_GROUPS) {
			rc = lks_err(ctx, -LKS_E_TOOBIG,
			             "relationship field has more than %d entries",
			             LKS_APT_REL_MAX_GROUPS);
			break;
		}
		struct lks_apt_group *v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			break;
		}
		out->v = v;
		memset(&v[out->n], 0, sizeof(v[out->n]));
		rc = read_group(&ps, &v[out->n++]);
		if (rc == 0 && *ps.p == ',') {
			ps.p++;
			skip_ws(&ps);
		}
	}
	if (rc < 0) {
		lks_apt_rels_free(out);
	}
	return rc;
}

bool lks_apt_relop_holds(enum lks_apt_relop op, const char *have, const char *want)
{
	if (op == LKS_APT_REL_NONE) {
		return true;
	}
	int c = lks_debver_cmp(have, want);
	switch (op) {
	case LKS_APT_REL_LT:
		return c < 0;
	case LKS_APT_REL_LE:
		return c <= 0;
	case LKS_APT_REL_EQ:
		return c == 0;
	case LKS_APT_REL_GE:
		return c >= 0;
	default:
		return c > 0;
	}
}

const char *lks_apt_relop_str(enum lks_apt_relop op)
{
	static const char *const s[] = {"", "<<", "<=", "=", ">=", ">>"};
	return (unsigned)op < sizeof(s) / sizeof(s[0]) ? s[op] : "";
}

void lks_apt_alt_format(const struct lks_apt_alt *a, char *buf, size_t size)
{
	if (a->op == LKS_APT_REL_NONE) {
		snprintf(buf, size, "%s%s%s", a->name, a->arch ? ":" : "", a->arch ? a->arch : "");
		return;
	}
	snprintf(buf, size, "%s%s%s (%s %s)", a->name, a->arch ? ":" : "", a->arch ? a->arch : "",
	         lks_apt_relop_str(a->op), a->version);
}
