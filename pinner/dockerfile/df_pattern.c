/* Shell patterns in ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}, as BuildKit's shell
 * lexer applies them (frontend/dockerfile/shell/lex.go): '*' any string, '?' one character,
 * '\x' the character x; everything else, '[' included, stands for itself.
 *
 * Matching runs the pattern as a small automaton over the value, so the cost is bounded by
 * value length x pattern length (x value length for a replacement), whatever the input:
 * values and patterns past the caps below are refused (image references are far shorter). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/error.h"
#include "pinner/dockerfile/df_expand.h"

#define PAT_MAX_VALUE LKS_DF_MAX_PATTERN_VALUE
#define PAT_MAX_TOKENS LKS_DF_MAX_PATTERN_TOKENS

enum { TOK_CHAR, TOK_ANY, TOK_STAR };

struct pat {
	unsigned char kind[PAT_MAX_TOKENS];
	char ch[PAT_MAX_TOKENS];
	size_t n;
};

static int compile(const char *s, bool reverse, struct pat *p)
{
	struct pat t = {0};
	for (size_t i = 0; s[i]; i++) {
		if (t.n == PAT_MAX_TOKENS) {
			return -LKS_E_TOOBIG;
		}
		bool esc = s[i] == '\\' && s[i + 1];
		i += esc;
		t.kind[t.n] = esc           ? TOK_CHAR
		              : s[i] == '*' ? TOK_STAR
		              : s[i] == '?' ? TOK_ANY
		                            : TOK_CHAR;
		t.ch[t.n++] = s[i];
	}
	p->n = t.n;
	for (size_t i = 0; i < t.n; i++) {
		size_t j = reverse ? t.n - 1 - i : i;
		p->kind[i] = t.kind[j];
		p->ch[i] = t.ch[j];
	}
	return 0;
}

/* Close the state set under "a star may match nothing". */
static void closure(const struct pat *p, bool *st)
{
	for (size_t j = 0; j < p->n; j++) {
		if (st[j] && p->kind[j] == TOK_STAR) {
			st[j + 1] = true;
		}
	}
}

/* ends[k] = p matches s[0..k) exactly, for k in 0..n (s read backwards when rev). */
static void match_ends(const struct pat *p, const char *s, size_t n, bool rev, bool *ends)
{
	bool st[PAT_MAX_TOKENS + 1] = {true}, nx[PAT_MAX_TOKENS + 1];
	closure(p, st);
	ends[0] = st[p->n];
	for (size_t k = 0; k < n; k++) {
		char c = rev ? s[n - 1 - k] : s[k];
		memset(nx, 0, sizeof(nx));
		for (size_t j = 0; j < p->n; j++) {
			if (!st[j]) {
				continue;
			}
			if (p->kind[j] == TOK_STAR) {
				nx[j] = true;
			} else if (p->kind[j] == TOK_ANY || p->ch[j] == c) {
				nx[j + 1] = true;
			}
		}
		closure(p, nx);
		memcpy(st, nx, sizeof(st));
		ends[k + 1] = st[p->n];
	}
}

int df_trim(const char *v, const char *pat, bool prefix, bool greedy, struct lks_buf *out)
{
	size_t n = strlen(v);
	struct pat p;
	bool ends[PAT_MAX_VALUE + 1];
	if (n > PAT_MAX_VALUE || compile(pat, !prefix, &p) < 0) {
		return -LKS_E_TOOBIG;
	}
	match_ends(&p, v, n, !prefix, ends);
	for (size_t j = 0; j <= n; j++) {
		size_t k = greedy ? n - j : j; /* shortest first, or longest first */
		if (ends[k]) {
			return prefix ? lks_buf_puts(out, v + k) : lks_buf_append(out, v, n - k);
		}
	}
	return lks_buf_puts(out, v);
}

int df_replace(const char *v, const char *pat, const char *rep, bool all, struct lks_buf *out)
{
	size_t n = strlen(v), i = 0;
	struct pat p;
	bool ends[PAT_MAX_VALUE + 1], done = false;
	if (n > PAT_MAX_VALUE || compile(pat, false, &p) < 0) {
		return -LKS_E_TOOBIG;
	}
	int rc = 0;
	while (rc == 0 && i <= n) {
		long k = -1;
		if (!done) {
			match_ends(&p, v + i, n - i, false, ends);
			for (size_t j = n - i + 1; k < 0 && j-- > 0;) {
				k = ends[j] ? (long)j : -1; /* the longest, as a greedy regexp */
			}
		}
		if (k < 0) {
			rc = i < n ? lks_buf_putc(out, v[i]) : 0;
			i++;
			continue;
		}
		rc = lks_buf_puts(out, rep);
		done = !all;
		if (k == 0) { /* an empty match: the replacement goes between characters */
			rc = rc == 0 && i < n ? lks_buf_putc(out, v[i]) : rc;
			i++;
		} else {
			i += (size_t)k;
		}
	}
	return rc;
}
