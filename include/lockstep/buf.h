/* Size-capped growable byte buffer (after git's strbuf and curl's dynbuf).
 *
 * Used for everything untrusted: HTTP bodies, file contents, generated text. Appending past
 * `max` fails with -LKS_E_TOOBIG and leaves the buffer as it was. `data` is always
 * NUL-terminated (when non-NULL) so text can be used as a C string; `len` excludes the NUL.
 */
#pragma once
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>

struct lks_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 means the default cap LKS_BUF_DEFAULT_MAX */
};

#define LKS_BUF_DEFAULT_MAX ((size_t)256 << 20)

void lks_buf_init(struct lks_buf *b, size_t max);
void lks_buf_free(struct lks_buf *b);
void lks_buf_reset(struct lks_buf *b);
int lks_buf_append(struct lks_buf *b, const void *p, size_t n);
int lks_buf_puts(struct lks_buf *b, const char *s);
int lks_buf_putc(struct lks_buf *b, char c);
/* Append code point cp (at most U+10FFFF; the caller rejects surrogates) as UTF-8. */
int lks_buf_put_utf8(struct lks_buf *b, uint32_t cp);
int lks_buf_printf(struct lks_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lks_buf_vprintf(struct lks_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hand the data to the caller (never NULL: an empty buffer yields ""); the buffer is reset. */
char *lks_buf_detach(struct lks_buf *b);
/* Read a whole file into b, honouring b->max. */
int lks_buf_read_file(struct lks_buf *b, const char *path);
