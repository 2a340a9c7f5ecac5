/* Reading blobs out of an image source, verifying each against its digest as it passes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/archive.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/http.h"
#include "lockstep/image.h"
#include "lockstep/registry.h"
#include "lockstep/sort.h"

struct lks_blob {
	struct lks_ctx *ctx;
	int fd;
	struct lks_archive *outer; /* the source tar, positioned on the member */
	struct lks_sha256 h;
	bool verify;
	bool done;
	int err; /* sticky: a failed verification fails every later read */
	char expect[LKS_DIGEST_LEN + 1];
	char member[256];
	uint64_t n;
	unsigned char head[16];
	size_t head_len;
	struct lks_registry_stream *stream; /* registry sources */
};

char *lks_image_blob_path(const char *digest)
{
	if (!digest || !lks_digest_valid(digest)) {
		return NULL;
	}
	const char *colon = strchr(digest, ':');
	char *p = NULL;
	if (asprintf(&p, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1) < 0) {
		return NULL;
	}
	return p;
}

bool lks_image_member_safe(const char *m)
{
	if (!m || !*m || m[0] == '/' || strlen(m) > 200) {
		return false;
	}
	for (const char *p = m; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 2 && !strncmp(p, "..", 2))) {
			return false;
		}
		p += n;
		if (*p == '/' && !*++p) {
			return false; /* a trailing '/': an empty last component */
		}
	}
	return true;
}

static const char *strip_dot(const char *p)
{
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
	}
	return p;
}

static int find_member(struct lks_blob *b, const char *path)
{
	int rc = lks_archive_open_fd(b->ctx, &b->outer, b->fd, LKS_ARCHIVE_TAR, NULL);
	if (rc < 0) {
		return rc;
	}
	struct lks_archive_entry *e;
	while ((rc = lks_archive_next(b->outer, &e)) > 0) {
		if (e->type == 'f' && !strcmp(strip_dot(e->path), b->member)) {
			return 0;
		}
	}
	if (rc < 0) {
		return rc;
	}
	return lks_err(b->ctx, -LKS_E_NOTFOUND, "'%s' has no member '%s'", path, b->member);
}

static int open_remote(struct lks_blob *b, const struct lks_image_src *src)
{
	if (!b->verify) {
		return lks_err(b->ctx, -LKS_E_INVAL, "registry blobs are fetched by digest only");
	}
	return lks_registry_stream_open(b->ctx, src->oref, b->expect, &b->stream);
}

static int blob_open_src(struct lks_blob *b, const struct lks_image_src *src)
{
	if (src->kind == LKS_IMAGE_REGISTRY) {
		return open_remote(b, src);
	}
	if (src->kind == LKS_IMAGE_OCI_DIR) {
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%s/%s", src->path, b->member) < 0) {
			p = NULL; /* undefined after a failure */
			return -ENOMEM;
		}
		b->fd = open(p, O_RDONLY | O_CLOEXEC);
		if (b->fd < 0) {
			int err = errno;
			return lks_err(b->ctx, err == ENOENT ? -LKS_E_NOTFOUND : -err,
			               "cannot open blob '%s': %s", p, strerror(err));
		}
		return 0;
	}
	b->fd = open(src->path, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0) {
		int err = errno;
		return lks_err(b->ctx, -err, "cannot open '%s': %s", src->path, strerror(err));
	}
	return find_member(b, src->path);
}

int lks_blob_open(struct lks_ctx *ctx, const struct lks_image_src *src, const char *member,
                  const char *expect, struct lks_blob **out)
{
	if (!lks_image_member_safe(member)) {
		return lks_err(ctx, -LKS_E_UNSAFE, "unsafe blob path '%s'", member ? member : "");
	}
	if (expect && (!lks_digest_valid(expect) || strncmp(expect, "sha256:", 7))) {
		return lks_err(ctx, -LKS_E_UNSUPPORTED, "unsupported digest '%s'", expect);
	}
	struct lks_blob *b = calloc(1, sizeof(*b));
	if (!b) {
		return -ENOMEM;
	}
	b->ctx = ctx;
	b->fd = -1;
	snprintf(b->member, sizeof(b->member), "%s", member);
	int rc = 0;
	if (expect) {
		snprintf(b->expect, sizeof(b->expect), "%s", expect);
		b->verify = true;
		rc = lks_sha256_init(&b->h);
	}
	rc = rc ? rc : blob_open_src(b, src);
	if (rc < 0) {
		lks_blob_close(b);
		return rc;
	}
	*out = b;
	return 0;
}

static int blob_verify(struct lks_blob *b)
{
	b->done = true;
	if (!b->verify) {
		return 0;
	}
	char got[LKS_DIGEST_LEN + 1];
	b->verify = false;
	if (lks_sha256_final(&b->h, got) < 0) {
		return lks_err(b->ctx, -LKS_E_CRYPTO, "cannot hash blob '%s'", b->member);
	}
	if (!lks_digest_equal(got, b->expect)) {
		return b->err = lks_err(b->ctx, -LKS_E_DIGEST,
		                        "blob '%s' does not match its digest: want %s, got %s",
		                        b->member, b->expect, got);
	}
	return 0;
}

long lks_blob_read(struct lks_blob *b, void *buf, size_t n)
{
	if (b->err) {
		return b->err;
	}
	if (b->done) {
		return 0;
	}
	long got;
	if (b->outer) {
		got = lks_archive_read(b->outer, buf, n);
	} else if (b->stream) {
		got = lks_registry_stream_read(b->stream, buf, n);
	} else {
		do {
			got = read(b->fd, buf, n);
		} while (got < 0 && errno == EINTR);
		if (got < 0) {
			return lks_err(b->ctx, -errno, "cannot read blob '%s': %s", b->member,
			               strerror(errno));
		}
	}
	if (got < 0) {
		return got;
	}
	if (got == 0) {
		int rc = blob_verify(b);
		return rc < 0 ? rc : 0;
	}
	if (b->head_len < sizeof(b->head)) {
		size_t k = sizeof(b->head) - b->head_len;
		k = k < (size_t)got ? k : (size_t)got;
		memcpy(b->head + b->head_len, buf, k);
		b->head_len += k;
	}
	b->n += (uint64_t)got;
	if (b->verify && lks_sha256_update(&b->h, buf, (size_t)got) < 0) {
		return lks_err(b->ctx, -LKS_E_CRYPTO, "cannot hash blob '%s'", b->member);
	}
	return got;
}

int lks_blob_finish(struct lks_blob *b)
{
	char tmp[65536];
	long got;
	while ((got = lks_blob_read(b, tmp, sizeof(tmp))) > 0) {
	}
	return got < 0 ? (int)got : 0;
}

size_t lks_blob_head(const struct lks_blob *b, const unsigned char **p)
{
	*p = b->head;
	return b->head_len;
}

uint64_t lks_blob_bytes(const struct lks_blob *b)
{
	return b->n;
}

void lks_blob_close(struct lks_blob *b)
{
	if (!b) {
		return;
	}
	lks_registry_stream_close(b->stream);
	if (b->verify) {
		lks_sha256_free(&b->h);
	}
	if (b->outer) {
		lks_archive_close(b->outer);
	}
	if (b->fd >= 0) {
		close(b->fd);
	}
	free(b);
}

int lks_blob_load(struct lks_ctx *ctx, const struct lks_image_src *src, const char *member,
                  const char *expect, size_t max, char **data, size_t *len)
{
	struct lks_blob *b = NULL;
	int rc = lks_blob_open(ctx, src, member, expect, &b);
	if (rc < 0) {
		return rc;
	}
	struct lks_buf out;
	lks_buf_init(&out, max);
	char tmp[16384];
	long got;
	while ((got = lks_blob_read(b, tmp, sizeof(tmp))) > 0) {
		if ((rc = lks_buf_append(&out, tmp, (size_t)got)) < 0) {
			rc = lks_err(ctx, rc, "blob '%s' is larger than %zu bytes", member, max);
			break;
		}
	}
	lks_blob_close(b);
	if (rc == 0 && got < 0) {
		rc = (int)got;
	}
	if (rc < 0) {
		lks_buf_free(&out);
		return rc;
	}
	*len = out.len;
	*data = lks_buf_detach(&out);
	return 0;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lks_image_member *)a)->name,
	              ((const struct lks_image_member *)b)->name);
}

/* The data of the current entry against m's digest. */
static int audit_hash(struct lks_ctx *ctx, struct lks_archive *a, const char *path,
                      const struct lks_image_member *m)
{
	uint8_t raw[32];
	int64_t size;
	int rc = lks_archive_sha256(a, raw, &size);
	if (rc < 0) {
		return rc == -LKS_E_CRYPTO ? lks_err(ctx, rc, "cannot hash '%s'", m->name) : rc;
	}
	char d[LKS_DIGEST_LEN + 1];
	lks_digest_format(raw, d);
	if (!lks_digest_equal(d, m->digest)) {
		return lks_err(ctx, -LKS_E_DIGEST,
		               "blob '%s' in '%s' does not match its digest: want %s, got %s",
		               m->name, path, m->digest, d);
	}
	return 0;
}

static int audit_entry(struct lks_ctx *ctx, struct lks_archive *a, const char *path,
                       const struct lks_archive_entry *e, struct lks_image_member *m, size_t n)
{
	struct lks_image_member key = {.name = strip_dot(e->path)};
	struct lks_image_member *hit = bsearch(&key, m, n, sizeof(*m), member_cmp);
	if (!hit) {
		return 0;
	}
	/* Tar extraction keeps the last copy, lockstep reads the first: both must be one. */
	if (hit->seen++ || e->type != 'f') {
		return lks_err(ctx, -LKS_E_UNSAFE, "'%s' holds member '%s' %s", path, hit->name,
		               e->type != 'f' ? "as something other than a regular file" : "twice");
	}
	return hit->digest ? audit_hash(ctx, a, path, hit) : 0;
}

int lks_image_archive_audit(struct lks_ctx *ctx, const struct lks_image_src *src,
                            struct lks_image_member *m, size_t n)
{
	if (src->kind != LKS_IMAGE_OCI_ARCHIVE && src->kind != LKS_IMAGE_DOCKER_ARCHIVE) {
		return 0;
	}
	lks_qsort(m, n, sizeof(*m), member_cmp);
	size_t k = 0; /* one entry per name; a digest claimed twice must be one digest */
	for (size_t i = 0; i < n; i++) {
		if (k && !strcmp(m[k - 1].name, m[i].name)) {
			if (m[i].digest && m[k - 1].digest &&
			    !lks_digest_equal(m[i].digest, m[k - 1].digest)) {
				return lks_err(ctx, -LKS_E_DIGEST,
				               "'%s' names member '%s' with two "
				               "digests",
				               src->path, m[i].name);
			}
			m[k - 1].digest = m[k - 1].digest ? m[k - 1].digest : m[i].digest;
			continue;
		}
		m[k++] = m[i];
	}
	n = k;
	_cleanup_close_ int fd = open(src->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		return lks_err(ctx, -err, "cannot open '%s': %s", src->path, strerror(err));
	}
	struct lks_archive *a = NULL;
	int rc = lks_archive_open_fd(ctx, &a, fd, LKS_ARCHIVE_TAR, NULL);
	struct lks_archive_entry *e;
	while (rc == 0 && (rc = lks_archive_next(a, &e)) > 0) {
		rc = audit_entry(ctx, a, src->path, e, m, n);
	}
	lks_archive_close(a);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!m[i].seen) {
			rc = lks_err(ctx, -LKS_E_NOTFOUND, "'%s' has no member '%s'", src->path,
			             m[i].name);
		}
	}
	return rc;
}
