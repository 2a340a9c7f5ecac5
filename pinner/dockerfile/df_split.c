/* Splitting a logical Dockerfile line into flags, words and JSON strings, keeping the
 * original byte offset of every character. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "pinner/dockerfile/df_int.h"

void df_text_free(struct df_text *t)
{
	free(t->s);
	free(t->pos);
	t->s = NULL;
	t->pos = NULL;
	t->len = t->cap = 0;
}

int df_text_append(struct df_text *t, const char *data, size_t a, size_t b)
{
	size_t n = b - a;
	if (n > LKS_DF_MAX_LINE || t->len + n > LKS_DF_MAX_LINE) {
		return -LKS_E_TOOBIG;
	}
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 128;
		while (cap < t->len + n + 1) {
			cap *= 2;
		}
		char *s = realloc(t->s, cap);
		if (!s) {
			return -ENOMEM;
		}
		t->s = s;
		size_t *pos = realloc(t->pos, cap * sizeof(*pos));
		if (!pos) {
			return -ENOMEM;
		}
		t->pos = pos;
		t->cap = cap;
	}
	if (n) {
		memcpy(t->s + t->len, data + a, n);
	}
	for (size_t i = 0; i < n; i++) {
		t->pos[t->len + i] = a + i;
	}
	t->len += n;
	t->s[t->len] = '\0';
	return 0;
}

int df_grow(void *p, size_t *cap, size_t n, size_t sz)
{
	void **pp = p;
	if (n + 1 <= *cap) {
		return 0;
	}
	size_t c = *cap ? *cap * 2 : 4;
	while (c < n + 1) {
		c *= 2;
	}
	if (c > SIZE_MAX / sz) {
		return -ENOMEM;
	}
	void *q = realloc(*pp, c * sz);
	if (!q) {
		return -ENOMEM;
	}
	memset((char *)q + *cap * sz, 0, (c - *cap) * sz);
	*pp = q;
	*cap = c;
	return 0;
}

bool df_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

char *df_unquote(const char *s, size_t n, char esc)
{
	size_t plain = 0;
	while (plain < n && s[plain] != esc && s[plain] != '\'' && s[plain] != '"') {
		plain++;
	}
	if (plain == n) {
		return strndup(s, n);
	}
	struct lks_buf b;
	lks_buf_init(&b, 0);
	char q = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char c = s[i];
		if (q != '\'' && c == esc) {
			if (i + 1 < n) {
				rc = lks_buf_putc(&b, s[++i]);
			}
		} else if (q && c == q) {
			q = 0;
		} else if (!q && (c == '\'' || c == '"')) {
			q = c;
		} else {
			rc = lks_buf_putc(&b, c);
		}
	}
	if (rc < 0) {
		lks_buf_free(&b);
		return NULL;
	}
	return lks_buf_detach(&b);
}

int df_word_make(struct lks_df_word *w, const struct df_text *t, size_t a, size_t b, char esc)
{
	memset(w, 0, sizeof(*w));
	size_t n = b - a;
	w->text = strndup(t->s + a, n);
	w->pos = malloc((n ? n : 1) * sizeof(size_t));
	w->value = df_unquote(t->s + a, n, esc);
	if (!w->text || !w->pos || !w->value) {
		df_word_free(w);
		return -ENOMEM;
	}
	if (n) {
		memcpy(w->pos, t->pos + a, n * sizeof(size_t));
	}
	w->off = n ? t->pos[a] : (a < t->len ? t->pos[a] : 0);
	w->len = n ? t->pos[b - 1] + 1 - t->pos[a] : 0;
	w->contiguous = w->len == n;
	return 0;
}

void df_word_free(struct lks_df_word *w)
{
	free(w->text);
	free(w->value);
	free(w->pos);
	memset(w, 0, sizeof(*w));
}

void df_words_free(struct lks_df_word *w, size_t n)
{
	for (size_t i = 0; w && i < n; i++) {
		df_word_free(&w[i]);
	}
	free(w);
}

void df_flags_free(struct lks_df_flag *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].text);
		free(f[i].pos);
		free(f[i].name);
		free(f[i].value);
	}
	free(f);
}

/* Length of the shell operator at s (0 when none). */
static size_t op_len(const char *s, size_t n)
{
	if (!strchr(";&|()", s[0]) || s[0] == '\0') {
		return 0;
	}
	if (n >= 2 && (s[0] == '&' || s[0] == '|' || s[0] == ';') && s[1] == s[0]) {
		return 2;
	}
	return 1;
}

/* End of the word starting at i (quotes and escapes keep it together). */
static size_t word_end(const char *s, size_t i, size_t b, char esc, bool ops)
{
	char q = 0;
	while (i < b) {
		char c = s[i];
		if (q) {
			if (c == q) {
				q = 0;
			} else if (q == '"' && c == esc) {
				i++;
			}
		} else if (c == esc) {
			i++;
		} else if (c == '\'' || c == '"') {
			q = c;
		} else if (df_isspace(c) || (ops && op_len(s + i, b - i))) {
			break;
		}
		i++;
	}
	return i < b ? i : b;
}

int df_split_words(const struct df_text *t, size_t a, size_t b, char esc, bool ops,
                   struct lks_df_word **out, size_t *n)
{
	return df_split_words_max(t, a, b, esc, ops, SIZE_MAX, out, n);
}

int df_split_words_max(const struct df_text *t, size_t a, size_t b, char esc, bool ops, size_t max,
                       struct lks_df_word **out, size_t *n)
{
	struct lks_df_word *w = NULL;
	size_t cnt = 0, cap = 0;
	size_t i = a;
	while (i < b) {
		while (i < b && df_isspace(t->s[i])) {
			i++;
		}
		if (i >= b) {
			break;
		}
		size_t ol = ops ? op_len(t->s + i, b - i) : 0;
		size_t e = ol ? i + ol : word_end(t->s, i, b, esc, ops);
		int rc = cnt < max ? df_grow(&w, &cap, cnt, sizeof(*w)) : -LKS_E_TOOBIG;
		if (rc == 0) {
			rc = df_word_make(&w[cnt], t, i, e, esc);
		}
		if (rc < 0) {
			df_words_free(w, cnt);
			return rc;
		}
		w[cnt++].op = ol > 0;
		i = e;
	}
	*out = w;
	*n = cnt;
	return 0;
}
