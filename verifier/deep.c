/* --deep: what differs inside .pyc, gzip, tar/zip and text files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/archive.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "verifier/deep.h"
#include "lockstep/digest.h"

#define DEEP_MAX_MEMBERS 4096

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && !strcmp(s + n - k, suf);
}

/* PEP 552 header: magic, flags, then mtime+size (flags 0) or a source hash (flags & 1). */
static int deep_pyc(const unsigned char *a, size_t na, const unsigned char *b, size_t nb,
                    struct lks_buf *out)
{
	if (na < 16 || nb < 16) {
		return lks_buf_puts(out, "pyc: truncated header");
	}
	if (memcmp(a, b, 8)) {
		return lks_buf_printf(out,
		                      "pyc: magic/flags differ (%08x/%u vs %08x/%u): different "
		                      "Python or invalidation mode",
		                      le32(a), le32(a + 4), le32(b), le32(b + 4));
	}
	bool body = na != nb || memcmp(a + 16, b + 16, na - 16);
	if (le32(a + 4) & 1) {
		return lks_buf_printf(out, "pyc (hash-based): %s",
		                      body ? "code differs" : "source hash differs");
	}
	int rc = 0;
	if (le32(a + 8) != le32(b + 8)) {
		rc = lks_buf_printf(out, "pyc header: source mtime %u \xe2\x86\x92 %u; ",
		                    le32(a + 8), le32(b + 8));
	}
	if (rc == 0 && le32(a + 12) != le32(b + 12)) {
		rc = lks_buf_printf(out, "source size %u \xe2\x86\x92 %u; ", le32(a + 12),
		                    le32(b + 12));
	}
	return rc ? rc : lks_buf_puts(out, body ? "code differs" : "code identical");
}

static int deep_gzip(struct lks_ctx *ctx, const unsigned char *a, size_t na, const unsigned char *b,
                     size_t nb, struct lks_buf *out)
{
	struct lks_buf da, db;
	lks_buf_init(&da, LKS_DEEP_MAX_FILE * 8);
	lks_buf_init(&db, LKS_DEEP_MAX_FILE * 8);
	int ra = lks_decompress_mem(ctx, a, na, &da), rb = lks_decompress_mem(ctx, b, nb, &db);
	int rc;
	if (ra < 0 || rb < 0) {
		rc = lks_buf_puts(out, "gzip: cannot decompress one side");
	} else if (da.len == db.len && !memcmp(da.data, db.data, da.len)) {
		rc = lks_buf_printf(out, "gzip: payload identical, header differs (%s%s%s)",
		                    memcmp(a + 4, b + 4, 4) ? "mtime " : "",
		                    a[9] != b[9] ? "OS " : "", a[8] != b[8] ? "level" : "");
	} else {
		rc =
		    lks_buf_printf(out, "gzip: payload differs (%zu vs %zu bytes)", da.len, db.len);
	}
	lks_buf_free(&da);
	lks_buf_free(&db);
	return rc;
}

/* Member list "name\tsha256\n" of an archive in memory, sorted by the archive's order. */
static int members(struct lks_ctx *ctx, const void *p, size_t n, struct lks_buf *out)
{
	struct lks_archive *a = NULL;
	static const struct lks_archive_limits lim = {DEEP_MAX_MEMBERS, 64 << 20, 256 << 20, 1000};
	int rc = lks_archive_open_mem(ctx, &a, p, n, LKS_ARCHIVE_ANY, &lim);
	struct lks_archive_entry *e;
	while (rc == 0 && (rc = lks_archive_next(a, &e)) > 0) {
		struct lks_sha256 h;
		char buf[16384], d[LKS_DIGEST_LEN + 1];
		long got = 0;
		if ((rc = lks_sha256_init(&h)) < 0) {
			break;
		}
		while (rc == 0 && (got = lks_archive_read(a, buf, sizeof(buf))) > 0) {
			rc = lks_sha256_update(&h, buf, (size_t)got);
		}
		if (rc < 0 || got < 0) {
			lks_sha256_free(&h);
			rc = rc < 0 ? rc : (int)got;
			break;
		}
		rc = lks_sha256_final(&h, d);
		rc = rc ? rc : lks_buf_printf(out, "%s\t%.19s\n", e->path, d + 7);
	}
	lks_archive_close(a);
	return rc < 0 ? rc : 0;
}

/* Names of the lines of `x` that `y` lacks, ", "-separated, at most `max` of them. */
static size_t missing(const char *x, const char *y, struct lks_buf *names, size_t max)
{
	size_t n = 0;
	for (const char *l = x; *l;) {
		size_t len = strcspn(l, "\n");
		bool found = false;
		for (const char *m = y; *m && !found;) {
			size_t k = strcspn(m, "\n");
			found = k == len && !memcmp(m, l, len);
			m += k + (m[k] == '\n');
		}
		if (!found && n++ < max) {
			lks_buf_printf(names, "%s%.*s", n > 1 ? ", " : "", (int)strcspn(l, "\t"),
			               l);
		}
		l += len + (l[len] == '\n');
	}
	return n;
}

static int deep_archive(struct lks_ctx *ctx, const void *a, size_t na, const void *b, size_t nb,
                        struct lks_buf *out)
{
	struct lks_buf ma, mb, names;
	lks_buf_init(&ma, 1 << 20);
	lks_buf_init(&mb, 1 << 20);
	lks_buf_init(&names, 4096);
	int rc;
	if (members(ctx, a, na, &ma) < 0 || members(ctx, b, nb, &mb) < 0) {
		rc = lks_buf_printf(out, "archive: cannot list members (%s)", ctx->err);
	} else {
		const char *x = ma.data ? ma.data : "", *y = mb.data ? mb.data : "";
		size_t n = missing(x, y, &names, 8);
		n += missing(y, x, &names, 8);
		rc = n ? lks_buf_printf(out, "archive: %zu members differ: %s", n,
		                        names.data ? names.data : "")
		       : lks_buf_puts(out, "archive: same members and contents; its own metadata "
		                           "differs (timestamps, order, compression)");
	}
	lks_buf_free(&ma);
	lks_buf_free(&mb);
	lks_buf_free(&names);
	return rc;
}

bool lks_deep_is_text(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		if (c[i] == 0) {
			return false;
		}
	}
	return true;
}

static int deep_text(const char *a, size_t na, const char *b, size_t nb, struct lks_buf *out)
{
	size_t line = 1, i = 0;
	while (i < na && i < nb && a[i] == b[i]) {
		line += a[i++] == '\n';
	}
	size_t sa = i, sb = i;
	while (sa > 0 && a[sa - 1] != '\n') {
		sa--;
	}
	sb = sa;
	int la = (int)strcspn(a + sa, "\n"), lb = (int)strcspn(b + sb, "\n");
	la = sa + (size_t)la > na ? (int)(na - sa) : la;
	lb = sb + (size_t)lb > nb ? (int)(nb - sb) : lb;
	return lks_buf_printf(out,
	                      "text: first difference on line %zu: \"%.*s\" \xe2\x86\x92 \"%.*s\"",
	                      line, la > 60 ? 60 : la, a + sa, lb > 60 ? 60 : lb, b + sb);
}

static bool is_archive(const char *path, const unsigned char *p, size_t n)
{
	static const char *const ext[] = {".whl", ".jar", ".zip", ".tar", ".egg", ".war"};
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		if (ends_with(path, ext[i])) {
			return true;
		}
	}
	return (n > 4 && !memcmp(p, "PK\3\4", 4)) || (n > 262 && !memcmp(p + 257, "ustar", 5));
}

int lks_deep_explain(struct lks_ctx *ctx, const char *path, const void *a, size_t na, const void *b,
                     size_t nb, struct lks_buf *out)
{
	const unsigned char *x = a, *y = b;
	if (ends_with(path, ".pyc")) {
		return deep_pyc(x, na, y, nb, out);
	}
	if (na > 10 && nb > 10 && x[0] == 0x1f && x[1] == 0x8b && y[0] == 0x1f && y[1] == 0x8b) {
		return deep_gzip(ctx, x, na, y, nb, out);
	}
	if (is_archive(path, x, na) && is_archive(path, y, nb)) {
		return deep_archive(ctx, a, na, b, nb, out);
	}
	if (lks_deep_is_text(a, na) && lks_deep_is_text(b, nb)) {
		return deep_text(a, na, b, nb, out);
	}
	size_t i = 0;
	while (i < na && i < nb && x[i] == y[i]) {
		i++;
	}
	return lks_buf_printf(out, "binary: first difference at byte %zu (sizes %zu, %zu)", i, na,
	                      nb);
}
