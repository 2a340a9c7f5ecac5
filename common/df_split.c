/* Splitting a logical Dockerfile line into flags, words and JSON strings, keeping the
 * original byte offset of every character. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/array.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "common/df_int.h"

int df_text_append(struct lks_ptext *t, const char *data, size_t a, size_t b)
{
	return lks_ptext_append(t, data, a, b, LKS_DF_MAX_LINE);
}

int df_grow(void *p, size_t *cap, size_t n, size_t sz)
{
	return lks_array_grow(p, cap, n + 1, sz, 4);
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

int df_word_make(struct lks_df_word *w, const struct lks_ptext *t, size_t a, size_t b, char esc)
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

int df_split_words(const struct lks_ptext *t, size_t a, size_t b, char esc, bool ops,
                   struct lks_df_word **out, size_t *n)
{
	return df_split_words_max(t, a, b, esc, ops, SIZE_MAX, out, n);
}

int df_split_words_max(const struct lks_ptext *t, size_t a, size_t b, char esc, bool ops,
                       size_t max, struct lks_df_word **out, size_t *n)
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
