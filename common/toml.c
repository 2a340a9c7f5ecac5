/* A bounded TOML 1.0 reader (see toml.h): one pass over the text, a tree out. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/toml.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

/* How a table came to be: TOML forbids defining one twice, or extending an inline one. */
enum {
	T_HEADER = 1u << 0, /* [a.b] */
	T_DOTTED = 1u << 1, /* a.b = 1 made table a */
	T_INLINE = 1u << 2, /* a = {...}: closed */
	A_TABLES = 1u << 3, /* [[a]] made array a */
};

struct parser {
	struct lks_ctx *ctx;
	const char *name;
	const char *p, *end;
	unsigned line;
	size_t nodes;
	int depth;
	struct toml_node *root;
	struct toml_node *cur; /* the table key = value lines go into */
};

struct key {
	char *part[TOML_MAX_DEPTH];
	size_t n;
};

static int perr(struct parser *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct parser *ps, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return lks_err(ps->ctx, code, "%s:%u: %s", ps->name, ps->line, msg);
}

const char *toml_type_name(enum toml_type t)
{
	static const char *const names[] = {"a table", "an array",  "a string", "an integer",
	                                    "a float", "a boolean", "a date"};
	return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "a value";
}

void toml_free(struct toml_node *n)
{
	if (!n) {
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		toml_free(n->kids[i]);
	}
	free(n->kids);
	free(n->key);
	free(n->str);
	free(n);
}

const struct toml_node *toml_get(const struct toml_node *t, const char *key)
{
	for (size_t i = 0; t && t->type == TOML_TABLE && i < t->n; i++) {
		if (!strcmp(t->kids[i]->key, key)) {
			return t->kids[i];
		}
	}
	return NULL;
}

static struct toml_node *find(struct toml_node *t, const char *key)
{
	return (struct toml_node *)toml_get(t, key);
}

static int node_new(struct parser *ps, enum toml_type type, struct toml_node **out)
{
	if (ps->nodes >= TOML_MAX_NODES) {
		return perr(ps, -LKS_E_TOOBIG, "more than %d values", TOML_MAX_NODES);
	}
	struct toml_node *n = calloc(1, sizeof(*n));
	if (!n) {
		return lks_err(ps->ctx, -ENOMEM, "out of memory");
	}
	ps->nodes++;
	n->type = type;
	n->line = ps->line;
	*out = n;
	return 0;
}

/* Append kid to parent (which takes it, also on failure). */
static int add_kid(struct parser *ps, struct toml_node *parent, struct toml_node *kid)
{
	if (parent->n >= TOML_MAX_MEMBERS) {
		toml_free(kid);
		return perr(ps, -LKS_E_TOOBIG, "more than %d members in one table or array",
		            TOML_MAX_MEMBERS);
	}
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct toml_node **k = realloc(parent->kids, cap * sizeof(*k));
		if (!k) {
			toml_free(kid);
			return lks_err(ps->ctx, -ENOMEM, "out of memory");
		}
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

/* A new table or array named key in parent; *out borrowed. */
static int add_named(struct parser *ps, struct toml_node *parent, const char *key,
                     enum toml_type type, unsigned flags, struct toml_node **out)
{
	struct toml_node *n;
	int rc = node_new(ps, type, &n);
	if (rc < 0) {
		return rc;
	}
	n->flags = flags;
	if (!(n->key = strdup(key))) {
		toml_free(n);
		return lks_err(ps->ctx, -ENOMEM, "out of memory");
	}
	*out = n;
	return add_kid(ps, parent, n);
}

/* ---- lexical helpers ---- */

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t')) {
		ps->p++;
	}
}

static bool is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* "'x'" for a printable ASCII character, "byte 0xNN" otherwise (messages). */
static const char *char_desc(unsigned char c, char out[16])
{
	if (c < 0x80 && !is_ctl(c)) {
		snprintf(out, 16, "'%c'", c);
	} else {
		snprintf(out, 16, "byte 0x%02x", c);
	}
	return out;
}

/* A comment runs to the end of the line; control characters are not allowed in it. */
static int skip_comment(struct parser *ps)
{
	if (ps->p >= ps->end || *ps->p != '#') {
		return 0;
	}
	for (ps->p++; ps->p < ps->end && *ps->p != '\n'; ps->p++) {
		bool crlf = *ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n';
		if (is_ctl((unsigned char)*ps->p) && !crlf) {
			return perr(ps, -LKS_E_PARSE, "control character 0x%02x in a comment",
			            (unsigned char)*ps->p);
		}
	}
	return 0;
}

/* At a newline (\n or \r\n): consume it. */
static bool eat_newline(struct parser *ps)
{
	if (ps->p < ps->end && *ps->p == '\n') {
		ps->p++;
	} else if (ps->end - ps->p >= 2 && ps->p[0] == '\r' && ps->p[1] == '\n') {
		ps->p += 2;
	} else {
		return false;
	}
	ps->line++;
	return true;
}

/* Whitespace, comments and newlines (between array items, between lines). */
static int skip_blank(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		int rc = skip_comment(ps);
		if (rc < 0) {
			return rc;
		}
		if (!eat_newline(ps)) {
			return 0;
		}
	}
}

/* After a key/value pair or a header: only a comment may follow on the line. */
static int end_of_line(struct parser *ps)
{
	skip_ws(ps);
	int rc = skip_comment(ps);
	if (rc < 0) {
		return rc;
	}
	if (ps->p < ps->end && !eat_newline(ps)) {
		char what[16];
		return perr(ps, -LKS_E_PARSE,
		            "unexpected %s after a value (one key = value a line)",
		            char_desc((unsigned char)*ps->p, what));
	}
	return 0;
}

static int hex_escape(struct parser *ps, int digits, struct lks_buf *b)
{
	uint32_t cp = 0;
	if (ps->end - ps->p < digits) {
		return perr(ps, -LKS_E_PARSE, "incomplete \\%c escape", digits == 4 ? 'u' : 'U');
	}
	for (int i = 0; i < digits; i++) {
		char c = ps->p[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (v < 0) {
			return perr(ps, -LKS_E_PARSE, "invalid hex digit in a \\%c escape",
			            digits == 4 ? 'u' : 'U');
		}
		cp = cp << 4 | (uint32_t)v;
	}
	ps->p += digits;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
		return perr(ps, -LKS_E_PARSE, "escape U+%04X is not a Unicode scalar value", cp);
	}
	return lks_buf_put_utf8(b, cp);
}

/* A backslash escape; *p is just after the backslash. */
static int escape(struct parser *ps, struct lks_buf *b)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	if (ps->p >= ps->end) {
		return perr(ps, -LKS_E_PARSE, "unterminated string");
	}
	char c = *ps->p++;
	const char *k = c ? strchr(from, c) : NULL;
	if (k) {
		return lks_buf_putc(b, to[k - from]);
	}
	if (c == 'u' || c == 'U') {
		return hex_escape(ps, c == 'u' ? 4 : 8, b);
	}
	return perr(ps, -LKS_E_PARSE, "invalid escape '\\%c' in a string",
	            is_ctl((unsigned char)c) ? '?' : c);
}

/* Multi-line basic string: a backslash at the end of a line eats the newline and all the
 * whitespace that follows. Returns 1 when it was such a backslash (consumed). */
static int line_ending_backslash(struct parser *ps)
{
	const char *q = ps->p + 1;
	while (q < ps->end && (*q == ' ' || *q == '\t')) {
		q++;
	}
	if (q >= ps->end || (*q != '\n' && *q != '\r')) {
		return 0;
	}
	ps->p = q;
	for (;;) {
		skip_ws(ps);
		if (!eat_newline(ps)) {
			return 1;
		}
	}
}

/* The closing delimiter of a multi-line string: up to two more quotes belong to the text.
 * Returns the number of quote characters that are content, or -1 when not at the end. */
static int multi_close(struct parser *ps, char q)
{
	int run = 0;
	while (ps->p + run < ps->end && ps->p[run] == q && run < 6) {
		run++;
	}
	if (run < 3) {
		return -1;
	}
	if (run > 5) {
		return -2;
	}
	ps->p += run;
	return run - 3;
}

/* One character of a string body that is not an escape or a delimiter. */
static int string_char(struct parser *ps, bool multi, struct lks_buf *b)
{
	unsigned char c = (unsigned char)*ps->p;
	if (multi && (c == '\n' || c == '\r')) {
		if (!eat_newline(ps)) {
			return perr(ps, -LKS_E_PARSE, "carriage return without a line feed");
		}
		return lks_buf_putc(b, '\n');
	}
	if (c == '\n' || c == '\r') {
		return perr(ps, -LKS_E_PARSE, "newline in a single-line string");
	}
	if (is_ctl(c)) {
		return perr(ps, -LKS_E_PARSE, "control character 0x%02x in a string", c);
	}
	ps->p++;
	return lks_buf_putc(b, (char)c);
}

/* A string body after its opening delimiter q (" or '), single- or multi-line. */
static int string_body(struct parser *ps, char q, bool multi, struct lks_buf *b)
{
	if (multi) {
		eat_newline(ps); /* a newline right after the delimiter is not content */
	}
	for (;;) {
		if (ps->p >= ps->end) {
			return perr(ps, -LKS_E_PARSE, "unterminated string");
		}
		int rc = 0;
		if (*ps->p == q && !multi) {
			ps->p++;
			return 0;
		}
		if (*ps->p == q) {
			int extra = multi_close(ps, q);
			if (extra == -2) {
				return perr(ps, -LKS_E_PARSE, "too many quotes closing a string");
			}
			if (extra >= 0) {
				return extra ? lks_buf_append(b, q == '"' ? "\"\"" : "''",
				                              (size_t)extra)
				             : 0;
			}
			ps->p++;
			rc = lks_buf_putc(b, q);
		} else if (*ps->p == '\\' && q == '"') {
			rc = multi ? line_ending_backslash(ps) : 0;
			if (rc == 0) {
				ps->p++;
				rc = escape(ps, b);
			}
			rc = rc > 0 ? 0 : rc;
		} else {
			rc = string_char(ps, multi, b);
		}
		if (rc < 0) {
			return rc == -LKS_E_TOOBIG ? perr(ps, rc, "string too long") : rc;
		}
	}
}

/* A quoted string at *p (basic or literal, single- or multi-line) into a new C string. */
static int parse_string(struct parser *ps, char **out, size_t *len, bool allow_multi)
{
	char q = *ps->p;
	bool multi = ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q;
	if (multi && !allow_multi) {
		return perr(ps, -LKS_E_PARSE, "a key cannot be a multi-line string");
	}
	ps->p += multi ? 3 : 1;
	struct lks_buf b;
	lks_buf_init(&b, TOML_MAX_BYTES);
	int rc = string_body(ps, q, multi, &b);
	if (rc < 0) {
		lks_buf_free(&b);
		return rc;
	}
	*len = b.len;
	*out = lks_buf_detach(&b);
	return 0;
}

/* ---- keys ---- */

static bool bare_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static int key_part(struct parser *ps, char **out)
{
	size_t len;
	if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
		int rc = parse_string(ps, out, &len, false);
		if (rc == 0 && strlen(*out) != len) {
			free(*out);
			*out = NULL;
			return perr(ps, -LKS_E_PARSE, "a key cannot hold a NUL character");
		}
		return rc;
	}
	const char *s = ps->p;
	while (ps->p < ps->end && bare_char(*ps->p)) {
		ps->p++;
	}
	if (ps->p == s) {
		if (ps->p >= ps->end) {
			return perr(ps, -LKS_E_PARSE, "expected a key at the end of the file");
		}
		char what[16];
		return perr(ps, -LKS_E_PARSE, "expected a key, found %s",
		            char_desc((unsigned char)*ps->p, what));
	}
	*out = strndup(s, (size_t)(ps->p - s));
	return *out ? 0 : lks_err(ps->ctx, -ENOMEM, "out of memory");
}

static void key_free(struct key *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->part[i]);
	}
	k->n = 0;
}

/* A (dotted) key: part [ws '.' ws part]... */
static int parse_key(struct parser *ps, struct key *k)
{
	k->n = 0;
	for (;;) {
		if (k->n == TOML_MAX_DEPTH) {
			return perr(ps, -LKS_E_TOOBIG, "a dotted key of more than %d parts",
			            TOML_MAX_DEPTH);
		}
		int rc = key_part(ps, &k->part[k->n]);
		if (rc < 0) {
			return rc;
		}
		k->n++;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '.') {
			return 0;
		}
		ps->p++;
		skip_ws(ps);
	}
}

/* "a.b.c" for messages. */
static const char *key_text(const struct key *k, size_t upto, char *buf, size_t cap)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < upto && off < cap; i++) {
		int w = snprintf(buf + off, cap - off, "%s%s", i ? "." : "", k->part[i]);
		off += w > 0 ? (size_t)w : 0;
	}
	return buf;
}

/* ---- values ---- */

static int parse_value(struct parser *ps, struct toml_node **out);

static bool token_char(char c)
{
	return bare_char(c) || c == '+' || c == '.' || c == ':';
}

/* Digits of the given base with single underscores between digits. */
static bool digits_ok(const char *s, size_t n, int base)
{
	if (n == 0 || s[0] == '_' || s[n - 1] == '_') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool d = base == 16 ? (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		                          (c >= 'A' && c <= 'F')
		                    : c >= '0' && c < '0' + base;
		if (!d && !(c == '_' && s[i + 1] != '_')) {
			return false;
		}
	}
	return true;
}

static int int_value(struct parser *ps, const char *t, struct toml_node *n)
{
	int base = 10;
	const char *s = t;
	bool neg = *s == '-';
	if (*s == '+' || *s == '-') {
		s++;
	} else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
		base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		s += 2;
	}
	size_t len = strlen(s);
	if (!digits_ok(s, len, base) || (base == 10 && s[0] == '0' && len > 1)) {
		return perr(ps, -LKS_E_PARSE, "invalid value '%.64s'", t);
	}
	unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; *s; s++) {
		if (*s == '_') {
			continue;
		}
		unsigned d = *s <= '9' ? (unsigned)(*s - '0') : (unsigned)((*s | 0x20) - 'a' + 10);
		if (v > (lim - d) / (unsigned)base) {
			return perr(ps, -LKS_E_PARSE, "integer '%.64s' out of range", t);
		}
		v = v * (unsigned)base + d;
	}
	n->type = TOML_INT;
	n->i = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

/* [+-] (inf | nan | int [. digits] [e [+-] digits]) */
static bool float_ok(const char *t)
{
	const char *s = t + (*t == '+' || *t == '-');
	if (!strcmp(s, "inf") || !strcmp(s, "nan")) {
		return true;
	}
	size_t ip = strcspn(s, ".eE");
	if (!digits_ok(s, ip, 10) || (s[0] == '0' && ip > 1)) {
		return false;
	}
	s += ip;
	if (*s == '.') {
		size_t fp = strcspn(++s, "eE");
		if (!digits_ok(s, fp, 10)) {
			return false;
		}
		s += fp;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		s += *s == '+' || *s == '-';
		return digits_ok(s, strlen(s), 10);
	}
	return *s == '\0';
}

/* Dates and times are kept as text: only their shape is checked. */
static bool date_like(const char *t)
{
	bool date = strlen(t) >= 10 && t[4] == '-' && t[7] == '-';
	bool time = strlen(t) >= 8 && t[2] == ':' && t[5] == ':';
	if (!date && !time) {
		return false;
	}
	for (const char *s = t; *s; s++) {
		if (!strchr("0123456789-:.+TtZz ", *s)) {
			return false;
		}
	}
	return true;
}

/* A bare value: boolean, number or date. */
static int bare_value(struct parser *ps, struct toml_node *n)
{
	const char *s = ps->p;
	while (ps->p < ps->end && token_char(*ps->p)) {
		ps->p++;
		/* "1979-05-27 07:32:00": a date, a space, then a time */
		if (ps->p - s == 10 && s[4] == '-' && s[7] == '-' && ps->end - ps->p >= 4 &&
		    ps->p[0] == ' ' && ps->p[3] == ':') {
			ps->p++;
		}
	}
	char t[128];
	size_t len = (size_t)(ps->p - s);
	if (len == 0 || len >= sizeof(t)) {
		if (len) {
			return perr(ps, -LKS_E_PARSE, "invalid value '%.64s...'", s);
		}
		char what[16];
		return perr(ps, -LKS_E_PARSE, "expected a value, found %s",
		            char_desc((unsigned char)*ps->p, what));
	}
	memcpy(t, s, len);
	t[len] = '\0';
	if (!strcmp(t, "true") || !strcmp(t, "false")) {
		n->type = TOML_BOOL;
		n->b = t[0] == 't';
		return 0;
	}
	if (!(n->str = strdup(t))) {
		return lks_err(ps->ctx, -ENOMEM, "out of memory");
	}
	n->len = len;
	if (date_like(t)) {
		n->type = TOML_DATETIME;
		return 0;
	}
	if (strpbrk(t, ".eEn") && strncmp(t, "0x", 2) && float_ok(t)) {
		n->type = TOML_FLOAT;
		return 0;
	}
	return int_value(ps, t, n);
}

static int parse_array(struct parser *ps, struct toml_node *arr)
{
	ps->p++; /* [ */
	for (;;) {
		int rc = skip_blank(ps);
		if (rc < 0) {
			return rc;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return 0;
		}
		struct toml_node *item;
		rc = parse_value(ps, &item);
		rc = rc ? rc : add_kid(ps, arr, item);
		rc = rc ? rc : skip_blank(ps);
		if (rc < 0) {
			return rc;
		}
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
		} else if (ps->p >= ps->end || *ps->p != ']') {
			return perr(ps, -LKS_E_PARSE, "expected ',' or ']' in an array");
		}
	}
}

static int assign(struct parser *ps, struct toml_node *t, struct key *k, struct toml_node *val);

/* { k = v, ... } on one line (TOML 1.0); the table is closed once read. */
static int parse_inline(struct parser *ps, struct toml_node *tab)
{
	ps->p++; /* { */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct key k;
		struct toml_node *val = NULL;
		int rc = parse_key(ps, &k);
		if (rc == 0 && (ps->p >= ps->end || *ps->p != '=')) {
			rc = perr(ps, -LKS_E_PARSE, "expected '=' after a key in an inline table");
		}
		if (rc == 0) {
			ps->p++;
			skip_ws(ps);
			rc = parse_value(ps, &val);
		}
		rc = rc ? rc : assign(ps, tab, &k, val);
		key_free(&k);
		if (rc < 0) {
			return rc;
		}
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return 0;
		}
		if (ps->p >= ps->end || *ps->p != ',') {
			return perr(ps, -LKS_E_PARSE,
			            "expected ',' or '}' in an inline table "
			            "(it must fit on one line)");
		}
		ps->p++;
		skip_ws(ps);
	}
}

static void close_inline(struct toml_node *n)
{
	n->flags |= T_INLINE;
	for (size_t i = 0; i < n->n; i++) {
		if (n->kids[i]->type == TOML_TABLE) {
			close_inline(n->kids[i]);
		}
	}
}

static int parse_value(struct parser *ps, struct toml_node **out)
{
	if (ps->depth >= TOML_MAX_DEPTH) {
		return perr(ps, -LKS_E_TOOBIG, "values nested more than %d deep", TOML_MAX_DEPTH);
	}
	if (ps->p >= ps->end) {
		return perr(ps, -LKS_E_PARSE, "expected a value at the end of the file");
	}
	char c = *ps->p;
	enum toml_type type = c == '[' ? TOML_ARRAY : c == '{' ? TOML_TABLE : TOML_STRING;
	struct toml_node *n;
	int rc = node_new(ps, type, &n);
	if (rc < 0) {
		return rc;
	}
	ps->depth++;
	if (c == '"' || c == '\'') {
		rc = parse_string(ps, &n->str, &n->len, true);
	} else if (c == '[') {
		rc = parse_array(ps, n);
	} else if (c == '{') {
		rc = parse_inline(ps, n);
		close_inline(n);
	} else {
		rc = bare_value(ps, n);
	}
	ps->depth--;
	if (rc < 0) {
		toml_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* ---- tables ---- */

/* key = value into table t, dotted parts making (or extending dotted-made) tables. Takes val. */
static int assign(struct parser *ps, struct toml_node *t, struct key *k, struct toml_node *val)
{
	char kt[512];
	for (size_t i = 0; i + 1 < k->n; i++) {
		struct toml_node *sub = find(t, k->part[i]);
		int rc = 0;
		if (!sub) {
			rc = add_named(ps, t, k->part[i], TOML_TABLE, T_DOTTED, &sub);
		} else if (sub->type != TOML_TABLE || !(sub->flags & T_DOTTED) ||
		           (sub->flags & T_INLINE)) {
			rc = perr(ps, -LKS_E_PARSE, "key '%s' is already defined",
			          key_text(k, i + 1, kt, sizeof(kt)));
		}
		if (rc < 0) {
			toml_free(val);
			return rc;
		}
		t = sub;
	}
	if (find(t, k->part[k->n - 1])) {
		toml_free(val);
		return perr(ps, -LKS_E_PARSE, "key '%s' is defined twice",
		            key_text(k, k->n, kt, sizeof(kt)));
	}
	if (!(val->key = strdup(k->part[k->n - 1]))) {
		toml_free(val);
		return lks_err(ps->ctx, -ENOMEM, "out of memory");
	}
	return add_kid(ps, t, val);
}

/* Walk the parts of a header but the last, making implicit tables; [[x]] arrays lead into
 * their last table. */
static int header_path(struct parser *ps, struct key *k, struct toml_node **out)
{
	char kt[512];
	struct toml_node *t = ps->root;
	for (size_t i = 0; i + 1 < k->n; i++) {
		struct toml_node *sub = find(t, k->part[i]);
		int rc = 0;
		if (!sub) {
			rc = add_named(ps, t, k->part[i], TOML_TABLE, 0, &sub);
		} else if (sub->type == TOML_ARRAY && (sub->flags & A_TABLES)) {
			sub = sub->kids[sub->n - 1];
		} else if (sub->type != TOML_TABLE || (sub->flags & T_INLINE)) {
			rc = perr(ps, -LKS_E_PARSE, "key '%s' is already defined as %s",
			          key_text(k, i + 1, kt, sizeof(kt)), toml_type_name(sub->type));
		}
		if (rc < 0) {
			return rc;
		}
		t = sub;
	}
	*out = t;
	return 0;
}

static int table_header(struct parser *ps, struct key *k)
{
	char kt[512];
	struct toml_node *t;
	int rc = header_path(ps, k, &t);
	if (rc < 0) {
		return rc;
	}
	const char *last = k->part[k->n - 1];
	struct toml_node *sub = find(t, last);
	if (!sub) {
		rc = add_named(ps, t, last, TOML_TABLE, T_HEADER, &sub);
	} else if (sub->type != TOML_TABLE || (sub->flags & (T_HEADER | T_DOTTED | T_INLINE))) {
		rc = perr(ps, -LKS_E_PARSE, "table '%s' is defined twice",
		          key_text(k, k->n, kt, sizeof(kt)));
	} else {
		sub->flags |= T_HEADER;
	}
	ps->cur = sub;
	return rc;
}

static int array_header(struct parser *ps, struct key *k)
{
	char kt[512];
	struct toml_node *t, *tab;
	int rc = header_path(ps, k, &t);
	if (rc < 0) {
		return rc;
	}
	const char *last = k->part[k->n - 1];
	struct toml_node *arr = find(t, last);
	if (!arr) {
		rc = add_named(ps, t, last, TOML_ARRAY, A_TABLES, &arr);
	} else if (arr->type != TOML_ARRAY || !(arr->flags & A_TABLES)) {
		rc = perr(ps, -LKS_E_PARSE, "'%s' is already defined as %s, not an array of tables",
		          key_text(k, k->n, kt, sizeof(kt)), toml_type_name(arr->type));
	}
	rc = rc ? rc : node_new(ps, TOML_TABLE, &tab);
	if (rc < 0) {
		return rc;
	}
	tab->flags = T_HEADER;
	ps->cur = tab;
	return add_kid(ps, arr, tab);
}

/* [table] or [[array of tables]] */
static int header(struct parser *ps)
{
	bool aot = ps->end - ps->p >= 2 && ps->p[1] == '[';
	ps->p += aot ? 2 : 1;
	skip_ws(ps);
	struct key k;
	int rc = parse_key(ps, &k);
	if (rc == 0 &&
	    (ps->end - ps->p < (aot ? 2 : 1) || ps->p[0] != ']' || (aot && ps->p[1] != ']'))) {
		rc = perr(ps, -LKS_E_PARSE, "expected '%s' to close a table header",
		          aot ? "]]" : "]");
	}
	if (rc == 0) {
		ps->p += aot ? 2 : 1;
		rc = aot ? array_header(ps, &k) : table_header(ps, &k);
	}
	key_free(&k);
	return rc ? rc : end_of_line(ps);
}

static int key_value_line(struct parser *ps)
{
	struct key k;
	struct toml_node *val = NULL;
	int rc = parse_key(ps, &k);
	if (rc == 0 && (ps->p >= ps->end || *ps->p != '=')) {
		char kt[512];
		rc = perr(ps, -LKS_E_PARSE, "expected '=' after key '%s'",
		          key_text(&k, k.n, kt, sizeof(kt)));
	}
	if (rc == 0) {
		ps->p++;
		skip_ws(ps);
		rc = parse_value(ps, &val);
	}
	rc = rc ? rc : assign(ps, ps->cur, &k, val);
	key_free(&k);
	return rc ? rc : end_of_line(ps);
}

/* Valid UTF-8 without NUL, or the line of the first bad byte. */
static int check_text(struct parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->p, *e = (const unsigned char *)ps->end;
	while (s < e) {
		unsigned char c = *s;
		size_t l = c < 0x80                ? 1
		           : c >= 0xC2 && c < 0xE0 ? 2
		           : c >= 0xE0 && c < 0xF0 ? 3
		           : c >= 0xF0 && c < 0xF5 ? 4
		                                   : 0;
		bool ok = l && (size_t)(e - s) >= l && c != 0;
		for (size_t i = 1; ok && i < l; i++) {
			ok = (s[i] & 0xC0) == 0x80;
		}
		/* no overlong 3/4-byte forms, no surrogates, nothing past U+10FFFF */
		ok = ok && !(c == 0xE0 && s[1] < 0xA0) && !(c == 0xED && s[1] >= 0xA0) &&
		     !(c == 0xF0 && s[1] < 0x90) && !(c == 0xF4 && s[1] >= 0x90);
		if (!ok) {
			return perr(ps, -LKS_E_PARSE, c ? "invalid UTF-8" : "NUL byte");
		}
		ps->line += c == '\n';
		s += l;
	}
	ps->line = 1;
	return 0;
}

static int parse_document(struct parser *ps)
{
	int rc = check_text(ps);
	if (rc == 0 && ps->end - ps->p >= 3 && !memcmp(ps->p, "\xEF\xBB\xBF", 3)) {
		ps->p += 3;
	}
	while (rc == 0) {
		rc = skip_blank(ps);
		if (rc < 0 || ps->p >= ps->end) {
			break;
		}
		rc = *ps->p == '[' ? header(ps) : key_value_line(ps);
	}
	return rc;
}

int toml_parse(struct lks_ctx *ctx, const char *name, const char *data, size_t len,
               struct toml_node **out)
{
	*out = NULL;
	struct parser ps = {.ctx = ctx, .name = name, .p = data, .end = data + len, .line = 1};
	if (len > TOML_MAX_BYTES) {
		return lks_err(ctx, -LKS_E_TOOBIG, "%s: larger than %zu bytes", name,
		               TOML_MAX_BYTES);
	}
	int rc = node_new(&ps, TOML_TABLE, &ps.root);
	if (rc < 0) {
		return rc;
	}
	ps.cur = ps.root;
	rc = parse_document(&ps);
	if (rc < 0) {
		toml_free(ps.root);
		return rc;
	}
	*out = ps.root;
	return 0;
}
