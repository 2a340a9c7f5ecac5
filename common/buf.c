#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"

void lks_buf_init(struct lks_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : LKS_BUF_DEFAULT_MAX;
}

void lks_buf_free(struct lks_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void lks_buf_reset(struct lks_buf *b)
{
	b->len = 0;
	if (b->data) {
		b->data[0] = '\0';
	}
}

static int grow(struct lks_buf *b, size_t extra)
{
	size_t max = b->max ? b->max : LKS_BUF_DEFAULT_MAX;
	if (extra > max || b->len > max - extra) {
		return -LKS_E_TOOBIG;
	}
	size_t need = b->len + extra + 1;
	if (need <= b->cap) {
		return 0;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need) {
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	}
	char *p = realloc(b->data, cap);
	if (!p) {
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int lks_buf_append(struct lks_buf *b, const void *p, size_t n)
{
	int rc = grow(b, n);
	if (rc < 0) {
		return rc;
	}
	if (n) {
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int lks_buf_puts(struct lks_buf *b, const char *s)
{
	return lks_buf_append(b, s, strlen(s));
}

int lks_buf_putc(struct lks_buf *b, char c)
{
	return lks_buf_append(b, &c, 1);
}

int lks_buf_put_utf8(struct lks_buf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return lks_buf_append(b, u, n);
}

int lks_buf_vprintf(struct lks_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		return -EINVAL;
	}
	int rc = grow(b, (size_t)n);
	if (rc < 0) {
		return rc;
	}
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int lks_buf_printf(struct lks_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = lks_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *lks_buf_detach(struct lks_buf *b)
{
	char *p = b->data ? b->data : strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int lks_buf_read_file(struct lks_buf *b, const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			break;
		}
		int rc = lks_buf_append(b, tmp, (size_t)n);
		if (rc < 0) {
			return rc;
		}
	}
	if (!b->data) {
		return lks_buf_append(b, "", 0);
	}
	return 0;
}
