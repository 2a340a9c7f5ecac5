/* Exec-form (JSON array) arguments and leading --flags of a Dockerfile instruction. The JSON
 * subset here is only an array of strings, parsed in place so that every string keeps its
 * byte range; anything else is shell form, as in BuildKit's parseMaybeJSON. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/error.h"
#include "pinner/dockerfile/df_int.h"

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Decode one escape after '\\' at s[*i]; returns <0 when invalid. Surrogates become U+FFFD. */
static int json_escape(const char *s, size_t *i, size_t b, struct lks_buf *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	char c = s[*i];
	const char *p = c ? strchr(from, c) : NULL;
	if (p) {
		(*i)++;
		return lks_buf_putc(out, to[p - from]);
	}
	if (c != 'u' || *i + 4 >= b) {
		return -LKS_E_PARSE;
	}
	uint32_t cp = 0;
	for (size_t k = 1; k <= 4; k++) {
		int h = hexval(s[*i + k]);
		if (h < 0) {
			return -LKS_E_PARSE;
		}
		cp = cp * 16 + (uint32_t)h;
	}
	*i += 5;
	if (cp >= 0xD800 && cp <= 0xDFFF) {
		cp = 0xFFFD;
	}
	return lks_buf_put_utf8(out, cp);
}

/* The string starting at the quote s[*i]; on success *i is past the closing quote. */
static int json_string(const struct df_text *t, size_t *i, size_t b, struct lks_df_word *w)
{
	struct lks_buf v;
	lks_buf_init(&v, 0);
	size_t start = *i, k = *i + 1;
	int rc = 0;
	while (rc == 0 && k < b && t->s[k] != '"') {
		unsigned char c = (unsigned char)t->s[k];
		if (c < 0x20) {
			rc = -LKS_E_PARSE;
		} else if (c == '\\') {
			k++;
			rc = k < b ? json_escape(t->s, &k, b, &v) : -LKS_E_PARSE;
		} else {
			rc = lks_buf_putc(&v, (char)c);
			k++;
		}
	}
	if (rc == 0 && k >= b) {
		rc = -LKS_E_PARSE;
	}
	if (rc == 0) {
		rc = df_word_make(w, t, start, k + 1, '\\');
	}
	if (rc == 0) {
		free(w->value);
		w->value = lks_buf_detach(&v);
		*i = k + 1;
	}
	lks_buf_free(&v);
	return rc;
}

static size_t skip_ws(const struct df_text *t, size_t i, size_t b)
{
	while (i < b && json_ws(t->s[i])) {
		i++;
	}
	return i;
}

/* Parse the array; -LKS_E_PARSE means "not JSON". */
static int json_array(const struct df_text *t, size_t a, size_t b, size_t max,
                      struct lks_df_word **w, size_t *cnt, size_t *cap)
{
	size_t i = skip_ws(t, a, b);
	if (i >= b || t->s[i] != '[') {
		return -LKS_E_PARSE;
	}
	i = skip_ws(t, i + 1, b);
	bool first = true;
	while (i < b && t->s[i] != ']') {
		if (!first) {
			if (t->s[i] != ',') {
				return -LKS_E_PARSE;
			}
			i = skip_ws(t, i + 1, b);
		}
		first = false;
		if (i >= b || t->s[i] != '"') {
			return -LKS_E_PARSE;
		}
		int rc = *cnt < max ? df_grow(w, cap, *cnt, sizeof(**w)) : -LKS_E_TOOBIG;
		if (rc == 0) {
			rc = json_string(t, &i, b, &(*w)[*cnt]);
		}
		if (rc < 0) {
			return rc;
		}
		(*cnt)++;
		i = skip_ws(t, i, b);
	}
	if (i >= b) {
		return -LKS_E_PARSE;
	}
	return skip_ws(t, i + 1, b) == b ? 0 : -LKS_E_PARSE;
}

int df_parse_json(const struct df_text *t, size_t a, size_t b, size_t max, struct lks_df_word **out,
                  size_t *n)
{
	struct lks_df_word *w = NULL;
	size_t cnt = 0, cap = 0;
	int rc = json_array(t, a, b, max, &w, &cnt, &cap);
	if (rc < 0) {
		df_words_free(w, cnt);
		return rc == -LKS_E_PARSE ? 0 : rc;
	}
	*out = w;
	*n = cnt;
	return 1;
}

/* End of a flag word starting at i: quotes and backslash escapes keep it together. */
static size_t flag_end(const char *s, size_t i, size_t b)
{
	char q = 0;
	for (; i < b; i++) {
		char c = s[i];
		if (q) {
			if (c == q) {
				q = 0;
			} else if (c == '\\') {
				i++;
			}
		} else if (c == '\\') {
			i++;
		} else if (c == '\'' || c == '"') {
			q = c;
		} else if (df_isspace(c)) {
			break;
		}
	}
	return i < b ? i : b;
}

static int flag_make(struct lks_df_flag *f, const struct df_text *t, size_t a, size_t b)
{
	struct lks_df_word w;
	int rc = df_word_make(&w, t, a, b, '\\');
	if (rc < 0) {
		return rc;
	}
	f->text = w.text;
	f->pos = w.pos;
	f->off = w.off;
	f->len = w.len;
	f->contiguous = w.contiguous;
	char *eq = strchr(w.value + 2, '=');
	f->name = strndup(w.value + 2, eq ? (size_t)(eq - w.value - 2) : strlen(w.value + 2));
	f->value = eq ? strdup(eq + 1) : NULL;
	free(w.value);
	if (!f->name || (eq && !f->value)) {
		return -ENOMEM;
	}
	const char *req = memchr(t->s + a, '=', b - a);
	if (req && req + 1 < t->s + b) {
		size_t k = (size_t)(req - t->s) + 1;
		f->value_off = t->pos[k];
		f->value_len = t->pos[b - 1] + 1 - t->pos[k];
	} else {
		f->value_off = t->pos[b - 1] + 1;
	}
	return 0;
}

int df_split_flags(const struct df_text *t, size_t a, size_t b, struct lks_df_flag **out, size_t *n,
                   size_t *rest)
{
	struct lks_df_flag *f = NULL;
	size_t cnt = 0, cap = 0, i = a;
	for (;;) {
		while (i < b && df_isspace(t->s[i])) {
			i++;
		}
		if (i + 1 >= b || t->s[i] != '-' || t->s[i + 1] != '-') {
			break;
		}
		size_t e = flag_end(t->s, i, b);
		if (e - i == 2) {
			i = e;
			break;
		}
		int rc = df_grow(&f, &cap, cnt, sizeof(*f));
		if (rc == 0) {
			rc = flag_make(&f[cnt++], t, i, e);
		}
		if (rc < 0) {
			df_flags_free(f, cnt);
			return rc;
		}
		i = e;
	}
	*out = f;
	*n = cnt;
	*rest = i < b ? i : b;
	return 0;
}
