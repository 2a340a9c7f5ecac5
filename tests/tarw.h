/* A small ustar writer for tests that build their tar inputs in C (test_archive, test_imagefs).
 * Include after criterion/criterion.h and lockstep/buf.h. */
#pragma once
#include <stdio.h>
#include <string.h>

struct th {
	const char *name;
	char type; /* ustar typeflag */
	unsigned long long size;
	unsigned mode;
	const char *link;
	const char *uname, *gname;
	unsigned devmajor, devminor;
	long long mtime;
};

static inline void octal(char *dst, size_t width, unsigned long long v)
{
	/* width-1 octal digits then a NUL, as ustar wants */
	dst[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0;) {
		dst[i] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

static inline void tar_header(struct lks_buf *b, const struct th *h)
{
	unsigned char hd[512] = {0};
	strncpy((char *)hd, h->name, 100);
	octal((char *)hd + 100, 8, h->mode ? h->mode : 0644);
	octal((char *)hd + 108, 8, 1000);
	octal((char *)hd + 116, 8, 1000);
	octal((char *)hd + 124, 12, h->size > 077777777777ULL ? 0 : h->size);
	octal((char *)hd + 136, 12, (unsigned long long)h->mtime);
	hd[156] = (unsigned char)(h->type ? h->type : '0');
	if (h->link) {
		strncpy((char *)hd + 157, h->link, 100);
	}
	memcpy(hd + 257, "ustar", 6);
	memcpy(hd + 263, "00", 2);
	strncpy((char *)hd + 265, h->uname ? h->uname : "", 32);
	strncpy((char *)hd + 297, h->gname ? h->gname : "", 32);
	octal((char *)hd + 329, 8, h->devmajor);
	octal((char *)hd + 337, 8, h->devminor);
	memset(hd + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++) {
		sum += hd[i];
	}
	octal((char *)hd + 148, 7, sum);
	cr_assert_eq(lks_buf_append(b, hd, 512), 0);
}

static inline void tar_pad(struct lks_buf *b, size_t n)
{
	static const char zeros[512];
	if (n % 512) {
		cr_assert_eq(lks_buf_append(b, zeros, 512 - n % 512), 0);
	}
}

static inline void tar_file(struct lks_buf *b, struct th h, const void *data, size_t n)
{
	h.size = n;
	tar_header(b, &h);
	cr_assert_eq(lks_buf_append(b, data, n), 0);
	tar_pad(b, n);
}

static inline void tar_end(struct lks_buf *b)
{
	static const char zeros[1024];
	cr_assert_eq(lks_buf_append(b, zeros, sizeof(zeros)), 0);
}
