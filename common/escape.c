/* Escaping untrusted strings for text, HTML/XML and Markdown (see include/lockstep/escape.h). */
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/escape.h"

#define HOW_HTML 0x100u   /* & < > " ' as entities, U+FFFE/U+FFFF as \xNN */
#define HOW_TABLE 0x200u  /* '|' as "\|" (GFM table cell) */
#define HOW_RAW_BS 0x400u /* '\' kept as it is */

static bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t lks_utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	if (c < 0x80) {
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		return cont(p[1]) ? 2 : 0;
	}
	if (c >= 0xe0 && c <= 0xef) {
		/* E0: no overlong forms; ED: no surrogates */
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && cont(p[2]) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* F0: no overlong forms; F4: nothing past U+10FFFF */
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && cont(p[2]) && cont(p[3]) ? 4 : 0;
	}
	return 0;
}

static int hex(struct lks_buf *o, unsigned char c)
{
	return lks_buf_printf(o, "\\x%02x", c);
}

static int esc_ascii(struct lks_buf *o, unsigned char c, unsigned how)
{
	bool line = (how & LKS_ESC_LINES) && (c == '\t' || c == '\n' || c == '\r');
	if ((c < 0x20 || c == 0x7f) && !line) {
		return hex(o, c);
	}
	if (c == '\\' && !(how & (LKS_ESC_LINES | HOW_RAW_BS))) {
		return lks_buf_puts(o, "\\\\");
	}
	if (how & HOW_HTML) {
		static const char *const ent[] = {['&'] = "&amp;",
		                                  ['<'] = "&lt;",
		                                  ['>'] = "&gt;",
		                                  ['"'] = "&quot;",
		                                  ['\''] = "&#39;"};
		if (c < sizeof(ent) / sizeof(ent[0]) && ent[c]) {
			return lks_buf_puts(o, ent[c]);
		}
	}
	if ((how & HOW_TABLE) && c == '|') {
		return lks_buf_puts(o, "\\|");
	}
	return lks_buf_putc(o, (char)c);
}

/* XML 1.0 allows neither U+FFFE nor U+FFFF, even as a character reference. */
static bool xml_nonchar(const unsigned char *p, size_t n)
{
	return n == 3 && p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf);
}

static int esc(struct lks_buf *o, const char *s, unsigned how)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int rc = 0;
	while (*p && rc == 0) {
		size_t n = lks_utf8_len(p);
		if (n == 1) {
			rc = esc_ascii(o, *p, how);
		} else if (n == 0 || ((how & HOW_HTML) && xml_nonchar(p, n))) {
			n = n ? n : 1;
			for (size_t i = 0; i < n && rc == 0; i++) {
				rc = hex(o, p[i]);
			}
		} else {
			rc = lks_buf_append(o, p, n);
		}
		p += n;
	}
	return rc;
}

int lks_esc_printable(struct lks_buf *o, const char *s)
{
	return esc(o, s, 0);
}

int lks_esc_terminal(struct lks_buf *o, const char *s)
{
	return esc(o, s, HOW_RAW_BS);
}

int lks_esc_html(struct lks_buf *o, const char *s, unsigned flags)
{
	return esc(o, s, HOW_HTML | (flags & LKS_ESC_LINES));
}

static size_t longest_run(const char *s, size_t n, char c)
{
	size_t best = 0, run = 0;
	for (size_t i = 0; i < n; i++) {
		run = s[i] == c ? run + 1 : 0;
		best = run > best ? run : best;
	}
	return best;
}

static int fence(struct lks_buf *o, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = lks_buf_putc(o, '`');
	}
	return rc;
}

int lks_esc_md_code(struct lks_buf *o, const char *s, bool in_table)
{
	struct lks_buf t;
	lks_buf_init(&t, 0);
	int rc = esc(&t, s, in_table ? HOW_TABLE : 0);
	const char *c = t.data ? t.data : "";
	size_t n = t.len;
	if (rc == 0 && n == 0) {
		rc = lks_buf_puts(o, "` `"); /* an empty code span is no code span */
	} else if (rc == 0) {
		/* CommonMark strips one space from each end when both are spaces (and not all are),
		 * and a backtick at an end would join the fence: pad with a space then. */
		size_t sp = strspn(c, " ");
		bool pad =
		    c[0] == '`' || c[n - 1] == '`' || (sp < n && c[0] == ' ' && c[n - 1] == ' ');
		size_t f = longest_run(c, n, '`') + 1;
		rc = fence(o, f);
		rc = rc ? rc : pad ? lks_buf_putc(o, ' ') : 0;
		rc = rc ? rc : lks_buf_append(o, c, n);
		rc = rc ? rc : pad ? lks_buf_putc(o, ' ') : 0;
		rc = rc ? rc : fence(o, f);
	}
	lks_buf_free(&t);
	return rc;
}

int lks_esc_md_block(struct lks_buf *o, const char *text)
{
	struct lks_buf t;
	lks_buf_init(&t, 0);
	int rc = esc(&t, text, LKS_ESC_LINES);
	size_t f = t.len ? longest_run(t.data, t.len, '`') + 1 : 0;
	f = f < 3 ? 3 : f;
	rc = rc ? rc : fence(o, f);
	rc = rc ? rc : lks_buf_putc(o, '\n');
	rc = rc ? rc : lks_buf_append(o, t.data ? t.data : "", t.len);
	if (rc == 0 && t.len && t.data[t.len - 1] != '\n') {
		rc = lks_buf_putc(o, '\n');
	}
	rc = rc ? rc : fence(o, f);
	rc = rc ? rc : lks_buf_putc(o, '\n');
	lks_buf_free(&t);
	return rc;
}
