/* PEP 440 versions and specifiers; see pinner/python/pep440.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "pinner/python/pep440.h"

/* A cursor over the version text. */
struct vcur {
	const char *s;
	size_t i;
	size_t n;
};

static bool is_sep(char c)
{
	return c == '-' || c == '_' || c == '.';
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool digit_at(const struct vcur *c, size_t at)
{
	return at < c->n && isdigit((unsigned char)c->s[at]);
}

static bool word_at(const struct vcur *c, size_t at, const char *w)
{
	size_t l = strlen(w);
	return at <= c->n && c->n - at >= l && strncasecmp(c->s + at, w, l) == 0;
}

enum {
	SLOT_EPOCH = 0,
	SLOT_RELEASE = 1,
	SLOT_PRE = 1 + LKS_PEP440_MAX_RELEASE,
	SLOT_POST,
	SLOT_DEV
};

/* Keep the digits of a number beyond uint64_t (leading zeros dropped) for its slot. */
static int keep_big(struct lks_pep440 *v, int slot, const char *p, size_t l)
{
	while (l > 1 && *p == '0') {
		p++;
		l--;
	}
	size_t end = 0;
	for (int k = 0; k < LKS_PEP440_SLOTS; k++) {
		if (v->big_at[k]) {
			size_t e = v->big_at[k] - 1u;
			e += strlen(v->big + e) + 1;
			end = e > end ? e : end;
		}
	}
	if (end + l + 1 > sizeof(v->big)) {
		return -LKS_E_TOOBIG;
	}
	memcpy(v->big + end, p, l);
	v->big[end + l] = '\0';
	v->big_at[slot] = (uint16_t)(end + 1);
	return 0;
}

/* Read decimal digits at c->i (at least one must be there) into the number of slot. */
static int read_num(struct vcur *c, struct lks_pep440 *ver, int slot, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = c->i;
	bool big = false;
	while (digit_at(c, c->i)) {
		unsigned d = (unsigned)(c->s[c->i] - '0');
		big = big || v > (UINT64_MAX - d) / 10;
		v = big ? UINT64_MAX : v * 10 + d;
		c->i++;
	}
	*out = v;
	return big ? keep_big(ver, slot, c->s + start, c->i - start) : 0;
}

/* The labels in the order the reference regular expression tries them. */
static const struct {
	const char *word;
	char norm;
} pre_labels[] = {
    {"alpha", 'a'},   {"a", 'a'},   {"beta", 'b'}, {"b", 'b'},
    {"preview", 'c'}, {"pre", 'c'}, {"c", 'c'},    {"rc", 'c'},
};

/* After a label: optional separator, optional number (implicit 0). The separator is consumed
 * even without a number, as the reference expression does. */
static int label_number(struct vcur *c, struct lks_pep440 *v, int slot, size_t j, uint64_t *num)
{
	if (j < c->n && is_sep(c->s[j])) {
		j++;
	}
	c->i = j;
	*num = 0;
	if (digit_at(c, j)) {
		return read_num(c, v, slot, num);
	}
	return 0;
}

static int parse_pre(struct vcur *c, struct lks_pep440 *v)
{
	size_t j = c->i;
	if (j < c->n && is_sep(c->s[j])) {
		j++;
	}
	for (size_t k = 0; k < ARRAY_SIZE(pre_labels); k++) {
		if (word_at(c, j, pre_labels[k].word)) {
			v->pre_l = pre_labels[k].norm;
			return label_number(c, v, SLOT_PRE, j + strlen(pre_labels[k].word),
			                    &v->pre);
		}
	}
	return 0;
}

static int parse_post(struct vcur *c, struct lks_pep440 *v)
{
	size_t j = c->i;
	if (j < c->n && c->s[j] == '-' && digit_at(c, j + 1)) {
		c->i = j + 1;
		v->has_post = true;
		return read_num(c, v, SLOT_POST, &v->post);
	}
	if (j < c->n && is_sep(c->s[j])) {
		j++;
	}
	static const char *const words[] = {"post", "rev", "r"};
	for (size_t k = 0; k < ARRAY_SIZE(words); k++) {
		if (word_at(c, j, words[k])) {
			v->has_post = true;
			return label_number(c, v, SLOT_POST, j + strlen(words[k]), &v->post);
		}
	}
	return 0;
}

static int parse_dev(struct vcur *c, struct lks_pep440 *v)
{
	size_t j = c->i;
	if (j < c->n && is_sep(c->s[j])) {
		j++;
	}
	if (word_at(c, j, "dev")) {
		v->has_dev = true;
		return label_number(c, v, SLOT_DEV, j + 3, &v->dev);
	}
	return 0;
}

/* Append one local segment normalised: lower case, numbers without leading zeros. */
static int local_segment(struct lks_pep440 *v, const char *p, size_t l, size_t *len)
{
	bool numeric = true;
	for (size_t k = 0; k < l; k++) {
		numeric = numeric && isdigit((unsigned char)p[k]);
	}
	while (numeric && l > 1 && p[0] == '0') {
		p++;
		l--;
	}
	if (*len + l + 2 > sizeof(v->local)) {
		return -LKS_E_TOOBIG;
	}
	if (*len) {
		v->local[(*len)++] = '.';
	}
	for (size_t k = 0; k < l; k++) {
		v->local[(*len)++] = (char)tolower((unsigned char)p[k]);
	}
	v->local[*len] = '\0';
	return 0;
}

static int parse_local(struct vcur *c, struct lks_pep440 *v)
{
	if (c->i >= c->n || c->s[c->i] != '+') {
		return 0;
	}
	c->i++;
	size_t len = 0;
	for (;;) {
		size_t start = c->i;
		while (c->i < c->n && isalnum((unsigned char)c->s[c->i])) {
			c->i++;
		}
		if (c->i == start) {
			return -LKS_E_PARSE;
		}
		int rc = local_segment(v, c->s + start, c->i - start, &len);
		if (rc < 0) {
			return rc;
		}
		if (c->i + 1 < c->n && is_sep(c->s[c->i]) &&
		    isalnum((unsigned char)c->s[c->i + 1])) {
			c->i++;
			continue;
		}
		return 0;
	}
}

static int parse_release(struct vcur *c, struct lks_pep440 *v)
{
	if (!digit_at(c, c->i)) {
		return -LKS_E_PARSE;
	}
	uint64_t first;
	int rc = read_num(c, v, SLOT_RELEASE, &first);
	if (rc < 0) {
		return rc;
	}
	if (c->i < c->n && c->s[c->i] == '!') {
		v->epoch = first;
		v->big_at[SLOT_EPOCH] = v->big_at[SLOT_RELEASE];
		v->big_at[SLOT_RELEASE] = 0;
		c->i++;
		if (!digit_at(c, c->i)) {
			return -LKS_E_PARSE;
		}
		rc = read_num(c, v, SLOT_RELEASE, &first);
		if (rc < 0) {
			return rc;
		}
	}
	v->release[v->nrelease++] = first;
	while (c->i < c->n && c->s[c->i] == '.' && digit_at(c, c->i + 1)) {
		if (v->nrelease == LKS_PEP440_MAX_RELEASE) {
			return -LKS_E_TOOBIG;
		}
		c->i++;
		rc = read_num(c, v, SLOT_RELEASE + (int)v->nrelease, &v->release[v->nrelease]);
		if (rc < 0) {
			return rc;
		}
		v->nrelease++;
	}
	return 0;
}

static int parse_all(struct vcur *c, struct lks_pep440 *v)
{
	if (c->i < c->n && (c->s[c->i] == 'v' || c->s[c->i] == 'V')) {
		c->i++;
	}
	int rc = parse_release(c, v);
	if (rc == 0) {
		rc = parse_pre(c, v);
	}
	if (rc == 0) {
		rc = parse_post(c, v);
	}
	if (rc == 0) {
		rc = parse_dev(c, v);
	}
	if (rc == 0) {
		rc = parse_local(c, v);
	}
	if (rc == 0 && c->i != c->n) {
		rc = -LKS_E_PARSE;
	}
	return rc;
}

int lks_pep440_parse(struct lks_ctx *ctx, const char *s, size_t n, struct lks_pep440 *v)
{
	memset(v, 0, sizeof(*v));
	if (n > LKS_PEP440_MAX_INPUT) {
		return lks_err(ctx, -LKS_E_TOOBIG, "version is longer than %d bytes",
		               LKS_PEP440_MAX_INPUT);
	}
	struct vcur c = {.s = s, .i = 0, .n = n};
	while (c.i < c.n && is_ws(c.s[c.i])) {
		c.i++;
	}
	while (c.n > c.i && is_ws(c.s[c.n - 1])) {
		c.n--;
	}
	int rc = parse_all(&c, v);
	if (rc == -LKS_E_TOOBIG) {
		return lks_err(ctx, rc, "version '%.*s' has too many segments or too long a label",
		               (int)n, s);
	}
	if (rc < 0) {
		return lks_err(ctx, rc, "invalid version '%.*s'", (int)n, s);
	}
	return 0;
}

/* Print the number of slot: its kept digits when beyond uint64_t. */
static size_t put_num(char *out, size_t len, const struct lks_pep440 *v, int slot, uint64_t n)
{
	int w = v->big_at[slot] ? snprintf(out, len, "%s", v->big + v->big_at[slot] - 1)
	                        : snprintf(out, len, "%llu", (unsigned long long)n);
	return w > 0 ? (size_t)w : 0;
}

size_t lks_pep440_str(const struct lks_pep440 *v, char *out, size_t out_len)
{
	char tmp[LKS_PEP440_MAX_STR];
	size_t l = 0;
#define PUT(...) l += (size_t)snprintf(tmp + l, sizeof(tmp) - l, __VA_ARGS__)
#define NUM(slot, n) l += put_num(tmp + l, sizeof(tmp) - l, v, slot, n)
	if (v->epoch) {
		NUM(SLOT_EPOCH, v->epoch);
		PUT("!");
	}
	for (size_t k = 0; k < v->nrelease; k++) {
		PUT(k ? "." : "");
		NUM(SLOT_RELEASE + (int)k, v->release[k]);
	}
	if (v->pre_l) {
		PUT("%s", v->pre_l == 'c' ? "rc" : v->pre_l == 'a' ? "a" : "b");
		NUM(SLOT_PRE, v->pre);
	}
	if (v->has_post) {
		PUT(".post");
		NUM(SLOT_POST, v->post);
	}
	if (v->has_dev) {
		PUT(".dev");
		NUM(SLOT_DEV, v->dev);
	}
	if (v->local[0]) {
		PUT("+%s", v->local);
	}
#undef NUM
#undef PUT
	if (out_len) {
		snprintf(out, out_len, "%s", tmp);
	}
	return l;
}

/* Compare number x (slot sa of a) with y (slot sb of b), digits beyond uint64_t included. */
static int cmp_num(const struct lks_pep440 *a, int sa, uint64_t x, const struct lks_pep440 *b,
                   int sb, uint64_t y)
{
	if (x != y || x != UINT64_MAX) {
		return x < y ? -1 : x > y;
	}
	const char *p = a->big_at[sa] ? a->big + a->big_at[sa] - 1 : "18446744073709551615";
	const char *q = b->big_at[sb] ? b->big + b->big_at[sb] - 1 : "18446744073709551615";
	size_t lp = strlen(p), lq = strlen(q);
	if (lp != lq) {
		return lp < lq ? -1 : 1;
	}
	int r = strcmp(p, q);
	return r < 0 ? -1 : r > 0;
}

static int cmp_epoch(const struct lks_pep440 *a, const struct lks_pep440 *b)
{
	return cmp_num(a, SLOT_EPOCH, a->epoch, b, SLOT_EPOCH, b->epoch);
}

/* Release component k, zero past the end. */
static int cmp_component(const struct lks_pep440 *a, const struct lks_pep440 *b, size_t k)
{
	int s = SLOT_RELEASE + (int)k;
	uint64_t x = k < a->nrelease ? a->release[k] : 0;
	uint64_t y = k < b->nrelease ? b->release[k] : 0;
	return cmp_num(a, s, x, b, s, y); /* a padding 0 never looks at big_at */
}

static int cmp_release(const struct lks_pep440 *a, const struct lks_pep440 *b)
{
	size_t n = a->nrelease > b->nrelease ? a->nrelease : b->nrelease;
	for (size_t k = 0; k < n; k++) {
		int r = cmp_component(a, b, k);
		if (r) {
			return r;
		}
	}
	return 0;
}

/* Rank of the pre-release slot: a lone dev release sorts before any pre-release. */
static int pre_rank(const struct lks_pep440 *v)
{
	if (!v->pre_l && !v->has_post && v->has_dev) {
		return 0;
	}
	return v->pre_l ? 1 : 2;
}

static int cmp_pre_post_dev(const struct lks_pep440 *a, const struct lks_pep440 *b)
{
	int ra = pre_rank(a), rb = pre_rank(b);
	if (ra != rb) {
		return ra < rb ? -1 : 1;
	}
	if (ra == 1 && a->pre_l != b->pre_l) {
		return a->pre_l < b->pre_l ? -1 : 1;
	}
	int r = ra == 1 ? cmp_num(a, SLOT_PRE, a->pre, b, SLOT_PRE, b->pre) : 0;
	if (r) {
		return r;
	}
	if (a->has_post != b->has_post) {
		return a->has_post ? 1 : -1;
	}
	r = cmp_num(a, SLOT_POST, a->post, b, SLOT_POST, b->post);
	if (r) {
		return r;
	}
	if (a->has_dev != b->has_dev) {
		return a->has_dev ? -1 : 1;
	}
	return cmp_num(a, SLOT_DEV, a->dev, b, SLOT_DEV, b->dev);
}

static bool all_digits(const char *p, size_t l)
{
	for (size_t k = 0; k < l; k++) {
		if (!isdigit((unsigned char)p[k])) {
			return false;
		}
	}
	return true;
}

/* Local segments: numbers (compared numerically) sort after words (compared as strings). */
static int cmp_segment(const char *a, size_t la, const char *b, size_t lb)
{
	bool na = all_digits(a, la), nb = all_digits(b, lb);
	if (na != nb) {
		return na ? 1 : -1;
	}
	if (na && la != lb) {
		return la < lb ? -1 : 1;
	}
	int r = strncmp(a, b, la < lb ? la : lb);
	if (r || la == lb) {
		return r < 0 ? -1 : r > 0;
	}
	return la < lb ? -1 : 1;
}

static int cmp_local(const char *a, const char *b)
{
	if (!a[0] || !b[0]) {
		return (a[0] != 0) - (b[0] != 0);
	}
	while (*a && *b) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		int r = cmp_segment(a, la, b, lb);
		if (r) {
			return r;
		}
		a += la + (a[la] == '.');
		b += lb + (b[lb] == '.');
	}
	return (*a != 0) - (*b != 0);
}

int lks_pep440_cmp(const struct lks_pep440 *a, const struct lks_pep440 *b)
{
	int r = cmp_epoch(a, b);
	if (r == 0) {
		r = cmp_release(a, b);
	}
	if (r == 0) {
		r = cmp_pre_post_dev(a, b);
	}
	if (r == 0) {
		r = cmp_local(a->local, b->local);
	}
	return r;
}

bool lks_pep440_is_prerelease(const struct lks_pep440 *v)
{
	return v->pre_l || v->has_dev;
}

/* ---- specifiers ---- */

void lks_pep440_specset_init(struct lks_pep440_specset *set)
{
	set->items = NULL;
	set->n = 0;
}

void lks_pep440_specset_free(struct lks_pep440_specset *set)
{
	free(set->items);
	set->items = NULL;
	set->n = 0;
}

static const struct {
	const char *text;
	enum lks_pep440_op op;
} ops[] = {
    {"===", LKS_PEP440_ARBITRARY}, {"~=", LKS_PEP440_COMPAT}, {"==", LKS_PEP440_EQ},
    {"!=", LKS_PEP440_NE},         {"<=", LKS_PEP440_LE},     {">=", LKS_PEP440_GE},
    {"<", LKS_PEP440_LT},          {">", LKS_PEP440_GT},
};

static const char *op_text(enum lks_pep440_op op)
{
	for (size_t k = 0; k < ARRAY_SIZE(ops); k++) {
		if (ops[k].op == op) {
			return ops[k].text;
		}
	}
	return "?";
}

/* Restrictions each operator puts on its version (PEP 440 "Version specifiers"). */
static int spec_check(struct lks_ctx *ctx, struct lks_pep440_spec *sp, const char *w, size_t wl)
{
	const struct lks_pep440 *v = &sp->v;
	bool eq = sp->op == LKS_PEP440_EQ || sp->op == LKS_PEP440_NE;
	if (v->local[0] && !eq) {
		return lks_err(ctx, -LKS_E_PARSE,
		               "invalid specifier '%s%.*s': local version "
		               "label not allowed with this operator",
		               op_text(sp->op), (int)wl, w);
	}
	if (sp->wildcard && (v->pre_l || v->has_post || v->has_dev || v->local[0])) {
		return lks_err(ctx, -LKS_E_PARSE,
		               "invalid specifier '%s%.*s': '.*' must follow "
		               "the release segment",
		               op_text(sp->op), (int)wl, w);
	}
	if (sp->op == LKS_PEP440_COMPAT && v->nrelease < 2) {
		return lks_err(ctx, -LKS_E_PARSE,
		               "invalid specifier '~=%.*s': '~=' needs at "
		               "least two release components",
		               (int)wl, w);
	}
	return 0;
}

static int spec_version(struct lks_ctx *ctx, struct lks_pep440_spec *sp, const char *w, size_t wl)
{
	memcpy(sp->text, w, wl);
	sp->text[wl] = '\0';
	for (size_t k = 0; k < wl; k++) {
		if (is_ws(w[k])) {
			return lks_err(ctx, -LKS_E_PARSE, "invalid specifier '%s%.*s'",
			               op_text(sp->op), (int)wl, w);
		}
	}
	if (sp->op == LKS_PEP440_ARBITRARY) {
		return 0;
	}
	size_t vl = wl;
	if ((sp->op == LKS_PEP440_EQ || sp->op == LKS_PEP440_NE) && wl >= 2 &&
	    !memcmp(w + wl - 2, ".*", 2)) {
		sp->wildcard = true;
		vl -= 2;
	}
	int rc = lks_pep440_parse(ctx, w, vl, &sp->v);
	if (rc < 0) {
		return lks_err(ctx, rc, "invalid specifier '%s%.*s'", op_text(sp->op), (int)wl, w);
	}
	return spec_check(ctx, sp, w, wl);
}

int lks_pep440_spec_parse(struct lks_ctx *ctx, const char *s, size_t n, struct lks_pep440_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	while (n && is_ws(*s)) {
		s++;
		n--;
	}
	while (n && is_ws(s[n - 1])) {
		n--;
	}
	size_t k = 0;
	while (k < ARRAY_SIZE(ops) &&
	       (n < strlen(ops[k].text) || memcmp(s, ops[k].text, strlen(ops[k].text)))) {
		k++;
	}
	if (k == ARRAY_SIZE(ops)) {
		return lks_err(ctx, -LKS_E_PARSE,
		               "invalid specifier '%.*s': no comparison operator",
		               (int)(n > 200 ? 200 : n), s);
	}
	sp->op = ops[k].op;
	size_t ol = strlen(ops[k].text);
	const char *w = s + ol;
	size_t wl = n - ol;
	while (wl && is_ws(*w)) {
		w++;
		wl--;
	}
	if (wl > LKS_PEP440_MAX_INPUT) {
		return lks_err(ctx, -LKS_E_TOOBIG, "specifier is longer than %d bytes",
		               LKS_PEP440_MAX_INPUT);
	}
	return spec_version(ctx, sp, w, wl);
}

static bool blank(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && is_ws(s[k])) {
		k++;
	}
	return k == n;
}

/* Blank clauses are dropped, as packaging's SpecifierSet does: ">=3.9," reads ">=3.9". */
int lks_pep440_specset_parse(struct lks_ctx *ctx, const char *s, size_t n,
                             struct lks_pep440_specset *set)
{
	for (size_t start = 0; start <= n;) {
		size_t end = start;
		while (end < n && s[end] != ',') {
			end++;
		}
		if (!blank(s + start, end - start)) {
			if (set->n == LKS_PEP440_MAX_SPECS) {
				return lks_err(ctx, -LKS_E_TOOBIG,
				               "more than %d version specifiers",
				               LKS_PEP440_MAX_SPECS);
			}
			struct lks_pep440_spec *items =
			    realloc(set->items, (set->n + 1) * sizeof(*items));
			if (!items) {
				return -ENOMEM;
			}
			set->items = items;
			int rc = lks_pep440_spec_parse(ctx, s + start, end - start, &items[set->n]);
			if (rc < 0) {
				return rc;
			}
			set->n++;
		}
		start = end + 1;
	}
	return 0;
}

size_t lks_pep440_specset_str(const struct lks_pep440_specset *set, char *out, size_t out_len)
{
	size_t l = 0;
	if (out_len) {
		out[0] = '\0';
	}
	for (size_t k = 0; k < set->n; k++) {
		const struct lks_pep440_spec *sp = &set->items[k];
		int w = snprintf(out + (l < out_len ? l : out_len), l < out_len ? out_len - l : 0,
		                 "%s%s%s", k ? "," : "", op_text(sp->op), sp->text);
		l += w > 0 ? (size_t)w : 0;
	}
	return l;
}

bool lks_pep440_spec_prereleases(const struct lks_pep440_spec *sp)
{
	switch (sp->op) {
	case LKS_PEP440_EQ:
	case LKS_PEP440_GE:
	case LKS_PEP440_LE:
	case LKS_PEP440_COMPAT:
		return lks_pep440_is_prerelease(&sp->v);
	case LKS_PEP440_ARBITRARY: {
		struct lks_pep440 v;
		return lks_pep440_parse(NULL, sp->text, strlen(sp->text), &v) == 0 &&
		       lks_pep440_is_prerelease(&v);
	}
	default:
		return false;
	}
}

bool lks_pep440_specset_prereleases(const struct lks_pep440_specset *set)
{
	for (size_t k = 0; k < set->n; k++) {
		if (lks_pep440_spec_prereleases(&set->items[k])) {
			return true;
		}
	}
	return false;
}

/* Comparison of the public parts (local label ignored). */
static int cmp_public(const struct lks_pep440 *a, const struct lks_pep440 *b)
{
	int r = cmp_epoch(a, b);
	r = r ? r : cmp_release(a, b);
	return r ? r : cmp_pre_post_dev(a, b);
}

static bool same_base(const struct lks_pep440 *a, const struct lks_pep440 *b)
{
	return cmp_epoch(a, b) == 0 && cmp_release(a, b) == 0;
}

/* Prefix match on epoch and the first `count` release components, zero padded. */
static bool prefix_match(const struct lks_pep440 *v, const struct lks_pep440 *spec, size_t count)
{
	if (cmp_epoch(v, spec) != 0) {
		return false;
	}
	for (size_t k = 0; k < count; k++) {
		if (cmp_component(v, spec, k) != 0) {
			return false;
		}
	}
	return true;
}

static bool match_eq(const struct lks_pep440_spec *sp, const struct lks_pep440 *v)
{
	if (sp->wildcard) {
		return prefix_match(v, &sp->v, sp->v.nrelease);
	}
	if (sp->v.local[0]) {
		return lks_pep440_cmp(v, &sp->v) == 0;
	}
	return cmp_public(v, &sp->v) == 0;
}

static bool match_lt(const struct lks_pep440_spec *sp, const struct lks_pep440 *v)
{
	if (lks_pep440_cmp(v, &sp->v) >= 0) {
		return false;
	}
	return !(!lks_pep440_is_prerelease(&sp->v) && lks_pep440_is_prerelease(v) &&
	         same_base(v, &sp->v));
}

static bool match_gt(const struct lks_pep440_spec *sp, const struct lks_pep440 *v)
{
	if (lks_pep440_cmp(v, &sp->v) <= 0) {
		return false;
	}
	if (!sp->v.has_post && v->has_post && same_base(v, &sp->v)) {
		return false;
	}
	return !(v->local[0] && same_base(v, &sp->v));
}

bool lks_pep440_spec_match(const struct lks_pep440_spec *sp, const struct lks_pep440 *v)
{
	char buf[LKS_PEP440_MAX_STR];
	switch (sp->op) {
	case LKS_PEP440_COMPAT:
		return cmp_public(v, &sp->v) >= 0 && prefix_match(v, &sp->v, sp->v.nrelease - 1);
	case LKS_PEP440_EQ:
		return match_eq(sp, v);
	case LKS_PEP440_NE:
		return !match_eq(sp, v);
	case LKS_PEP440_LE:
		return cmp_public(v, &sp->v) <= 0;
	case LKS_PEP440_GE:
		return cmp_public(v, &sp->v) >= 0;
	case LKS_PEP440_LT:
		return match_lt(sp, v);
	case LKS_PEP440_GT:
		return match_gt(sp, v);
	case LKS_PEP440_ARBITRARY:
		lks_pep440_str(v, buf, sizeof(buf));
		return strcasecmp(buf, sp->text) == 0;
	}
	return false;
}

bool lks_pep440_specset_contains(const struct lks_pep440_specset *set, const struct lks_pep440 *v,
                                 bool allow_pre)
{
	bool pre = allow_pre || lks_pep440_specset_prereleases(set);
	if (!pre && lks_pep440_is_prerelease(v)) {
		return false;
	}
	for (size_t k = 0; k < set->n; k++) {
		if (!lks_pep440_spec_match(&set->items[k], v)) {
			return false;
		}
	}
	return true;
}

size_t lks_pep440_specset_filter(const struct lks_pep440_specset *set,
                                 const struct lks_pep440 *const *vs, size_t n, bool allow_pre,
                                 bool *keep)
{
	size_t kept = 0, finals = 0;
	for (size_t k = 0; k < n; k++) {
		keep[k] = lks_pep440_specset_contains(set, vs[k], allow_pre);
		kept += keep[k];
		finals += keep[k] && !lks_pep440_is_prerelease(vs[k]);
	}
	if (set->n || allow_pre || finals) {
		return kept;
	}
	/* An empty set falls back to pre-releases when there is nothing else (pip 23). */
	for (size_t k = 0; k < n; k++) {
		keep[k] = true;
		kept++;
	}
	return kept;
}
