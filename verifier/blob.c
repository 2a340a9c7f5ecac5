/* Reading blobs out of an image source, verifying each against its digest as it passes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lockstep/archive.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/http.h"
#include "lockstep/image.h"
#include "lockstep/registry.h"

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
	/* registry sources: a thread pushes the blob into a socket the reader pulls from */
	const struct lks_image_src *src;
	struct lks_ctx tctx;
	pthread_t th;
	bool th_running;
	int wfd;
	int th_rc;
};

void lks_image_ctx_derive(struct lks_ctx *dst, const struct lks_ctx *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->offline = src->offline;
	dst->refresh = src->refresh;
	dst->verbose = src->verbose;
	dst->now = src->now;
	dst->cache_dir = src->cache_dir;
	dst->insecure_hosts = src->insecure_hosts;
	dst->http_timeout_ms = src->http_timeout_ms;
	dst->http_connect_timeout_ms = src->http_connect_timeout_ms;
	dst->http_max_retries = src->http_max_retries;
	dst->http_parallel = src->http_parallel;
	dst->fetch = src->fetch;
}

void lks_image_ctx_release(struct lks_ctx *c)
{
	if (c->http) {
		lks_http_free(c->http);
		c->http = NULL;
	}
	if (c->cache && c->cache_close) {
		c->cache_close(c->cache);
	}
	c->cache = NULL;
}

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

/* Member names come from untrusted manifests: relative, no "..", no empty components. */
static bool member_safe(const char *m)
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
		if (*p == '/') {
			p++;
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

static int send_all(void *opaque, const void *p, size_t n)
{
	struct lks_blob *b = opaque;
	const char *c = p;
	while (n) {
		ssize_t w = send(b->wfd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return 1; /* the reader went away */
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *fetch_thread(void *arg)
{
	struct lks_blob *b = arg;
	b->th_rc = lks_registry_blob(&b->tctx, b->src->oref, b->expect, send_all, b);
	close(b->wfd);
	b->wfd = -1;
	return NULL;
}

static int open_remote(struct lks_blob *b, const struct lks_image_src *src)
{
	int sv[2];
	if (!b->verify) {
		return lks_err(b->ctx, -LKS_E_INVAL, "registry blobs are fetched by digest only");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		return lks_err(b->ctx, -errno, "cannot create a socket pair: %s", strerror(errno));
	}
	b->fd = sv[0];
	b->wfd = sv[1];
	b->src = src;
	lks_image_ctx_derive(&b->tctx, b->ctx);
	if (pthread_create(&b->th, NULL, fetch_thread, b)) {
		return lks_err(b->ctx, -EAGAIN, "cannot start a thread to fetch '%s'", b->expect);
	}
	b->th_running = true;
	return 0;
}

/* Wait for the fetching thread; its error (transport, auth, digest) becomes the blob's. */
static int join_remote(struct lks_blob *b)
{
	if (!b->th_running) {
		return 0;
	}
	pthread_join(b->th, NULL);
	b->th_running = false;
	if (b->th_rc < 0 && b->th_rc != -ECANCELED) {
		return b->err = lks_err(b->ctx, b->th_rc, "%s", lks_errmsg(&b->tctx, b->th_rc));
	}
	return 0;
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
	if (!member_safe(member)) {
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
	b->wfd = -1;
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
		int rc = join_remote(b);
		rc = rc ? rc : blob_verify(b);
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
	if (b->th_running) {
		/* Closing our end makes the sender's next write fail: the fetch stops. */
		shutdown(b->fd, SHUT_RDWR);
		pthread_join(b->th, NULL);
	}
	lks_image_ctx_release(&b->tctx);
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
