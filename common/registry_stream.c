/* A registry blob as a pull stream: lks_registry_blob pushes bytes from a thread into a socket
 * the reader pulls from, so streaming consumers (libarchive) read layers without spooling. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/http.h"
#include "lockstep/image.h"
#include "lockstep/registry.h"

struct lks_registry_stream {
	struct lks_ctx *ctx;
	struct lks_ctx tctx; /* the thread's own context (own HTTP handle) */
	const struct lks_oci_ref *repo;
	char digest[LKS_DIGEST_LEN + 1];
	pthread_t th;
	bool th_running;
	int fd, wfd;
	int th_rc;
	int err; /* sticky */
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
	dst->http_per_host = src->http_per_host;
	dst->fetch = src->fetch;
	dst->regconf = src->regconf; /* shared, loaded once (it locks) */
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

static int send_all(void *opaque, const void *p, size_t n)
{
	struct lks_registry_stream *s = opaque;
	const char *c = p;
	while (n) {
		ssize_t w = send(s->wfd, c, n, MSG_NOSIGNAL);
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
	struct lks_registry_stream *s = arg;
	s->th_rc = lks_registry_blob(&s->tctx, s->repo, s->digest, send_all, s);
	close(s->wfd);
	s->wfd = -1;
	return NULL;
}

int lks_registry_stream_open(struct lks_ctx *ctx, const struct lks_oci_ref *repo,
                             const char *digest, struct lks_registry_stream **out)
{
	if (!lks_digest_valid(digest) || strncmp(digest, "sha256:", 7)) {
		return lks_err(ctx, -LKS_E_INVAL, "cannot fetch blob '%.80s': not a sha256 digest",
		               digest);
	}
	struct lks_registry_stream *s = calloc(1, sizeof(*s));
	int sv[2];
	if (!s) {
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(s);
		return lks_err(ctx, -errno, "cannot create a socket pair: %s", strerror(errno));
	}
	s->ctx = ctx;
	s->repo = repo;
	s->fd = sv[0];
	s->wfd = sv[1];
	snprintf(s->digest, sizeof(s->digest), "%s", digest);
	lks_image_ctx_derive(&s->tctx, ctx);
	if (pthread_create(&s->th, NULL, fetch_thread, s)) {
		lks_registry_stream_close(s);
		return lks_err(ctx, -EAGAIN, "cannot start a thread to fetch '%s'", digest);
	}
	s->th_running = true;
	*out = s;
	return 0;
}

/* The fetch's outcome (transport, auth, digest) becomes the stream's. */
static int join(struct lks_registry_stream *s)
{
	if (!s->th_running) {
		return 0;
	}
	pthread_join(s->th, NULL);
	s->th_running = false;
	if (s->th_rc < 0 && s->th_rc != -ECANCELED) {
		return s->err = lks_err(s->ctx, s->th_rc, "%s", lks_errmsg(&s->tctx, s->th_rc));
	}
	return 0;
}

long lks_registry_stream_read(struct lks_registry_stream *s, void *buf, size_t n)
{
	if (s->err) {
		return s->err;
	}
	ssize_t got;
	do {
		got = read(s->fd, buf, n);
	} while (got < 0 && errno == EINTR);
	if (got < 0) {
		return s->err = lks_err(s->ctx, -errno, "cannot read blob %s: %s", s->digest,
		                        strerror(errno));
	}
	return got == 0 ? join(s) : (long)got;
}

long lks_registry_stream_read_cb(void *opaque, void *buf, size_t n)
{
	return lks_registry_stream_read(opaque, buf, n);
}

void lks_registry_stream_close(struct lks_registry_stream *s)
{
	if (!s) {
		return;
	}
	if (s->th_running) {
		/* Closing our end makes the sender's next write fail: the fetch stops. */
		shutdown(s->fd, SHUT_RDWR);
		pthread_join(s->th, NULL);
	}
	lks_image_ctx_release(&s->tctx);
	if (s->fd >= 0) {
		close(s->fd);
	}
	if (s->wfd >= 0) {
		close(s->wfd);
	}
	free(s);
}
