/* HTTP client over curl multi: the only file that calls libcurl, which it loads on the first
 * transfer (common/dynlib.h) so that commands that never use the network do not load it.
 *
 * Redirects are followed here rather than by curl, so that every hop goes through the same
 * scheme/insecure-host policy and so that Authorization is dropped when the origin changes.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "common/dynlib.h"
#include "common/http_parse.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/http.h"

#define HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)
#define HTTP_MAX_REDIRECTS 5
#define HTTP_MAX_HEADERS 256
#define HTTP_MAX_HEADER_BYTES ((size_t)256 << 10)
#define HTTP_RETRY_CAP_MS 30000LL
#define HTTP_BACKOFF_BASE_MS 250LL

struct lks_http {
	CURLM *multi;
};

/* Per-transfer state, reachable from the easy handle through CURLOPT_PRIVATE. */
struct xfer {
	struct lks_ctx *ctx;
	struct lks_http_req *r;
	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char *url;    /* current hop */
	char *origin; /* scheme://host:port of the original URL */
	int redirects;
	bool drop_auth; /* the current hop left the original origin */
	int body_rc;    /* failure raised inside a callback */
	size_t sink_bytes;
	size_t header_bytes; /* of the current response */
	bool header_overflow;
	bool sink_used;     /* bytes reached the sink: a retry would duplicate them */
	bool transport_err; /* r->rc is not a mapped HTTP status */
	long long start_at; /* monotonic ms before which the next attempt must not start */
	bool new_attempt;   /* the next start is a new attempt, not a redirect hop */
	bool active;
	bool done;
};

/* libcurl is loaded on first use (see common/dynlib.h); every call goes through this table. */
#define CURL_FNS(X)                                                                                \
	X(global_init) X(easy_init) X(easy_setopt) X(easy_getinfo) X(easy_cleanup)                 \
	X(easy_strerror) X(multi_init) X(multi_cleanup) X(multi_add_handle)                        \
	X(multi_remove_handle) X(multi_info_read) X(multi_perform) X(multi_poll) X(multi_setopt)   \
	X(multi_strerror) X(slist_append) X(slist_free_all) X(url) X(url_cleanup) X(url_get)       \
	X(url_set)

static struct {
#define X(f) __typeof__(curl_##f) *f;
	CURL_FNS(X)
#undef X
} curl;

static const struct dynlib_sym curl_syms[] = {
#define X(f) {"curl_" #f, &curl.f},
    CURL_FNS(X)
#undef X
};

static struct dynlib curl_lib = DYNLIB_INIT(LKS_LIBCURL_SONAME, curl_syms);

static void curlu_freep(CURLU **u)
{
	if (*u) {
		curl.url_cleanup(*u);
	}
}

/* Error details are bounded; truncating a long URL in a message is acceptable. */
static void __attribute__((format(printf, 3, 4)))
set_detail(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, n, fmt, ap);
	va_end(ap);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl.global_init(CURL_GLOBAL_DEFAULT);
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lks_http_req_init(struct lks_http_req *r, enum lks_http_method m, const char *url)
{
	memset(r, 0, sizeof(*r));
	r->method = m;
	r->url = url ? strdup(url) : NULL;
	lks_buf_init(&r->body, 0);
}

static void free_resp_headers(struct lks_http_req *r)
{
	for (size_t i = 0; i < r->n_resp_headers; i++) {
		free(r->resp_headers[i].name);
		free(r->resp_headers[i].value);
	}
	free(r->resp_headers);
	r->resp_headers = NULL;
	r->n_resp_headers = 0;
}

void lks_http_req_free(struct lks_http_req *r)
{
	free(r->url);
	r->url = NULL;
	if (r->headers) {
		for (char **p = r->headers; *p; p++) {
			free(*p);
		}
		free(r->headers);
		r->headers = NULL;
	}
	lks_buf_free(&r->body);
	free_resp_headers(r);
	free(r->effective_url);
	r->effective_url = NULL;
}

int lks_http_req_header(struct lks_http_req *r, const char *line)
{
	if (!line || strpbrk(line, "\r\n") || !strchr(line, ':')) {
		return -LKS_E_INVAL;
	}
	size_t n = 0;
	while (r->headers && r->headers[n]) {
		n++;
	}
	char **h = realloc(r->headers, (n + 2) * sizeof(*h));
	if (!h) {
		return -ENOMEM;
	}
	r->headers = h;
	h[n] = strdup(line);
	h[n + 1] = NULL;
	return h[n] ? 0 : -ENOMEM;
}

const char *lks_http_req_get_header(const struct lks_http_req *r, const char *name)
{
	for (size_t i = 0; i < r->n_resp_headers; i++) {
		if (strcasecmp(r->resp_headers[i].name, name) == 0) {
			return r->resp_headers[i].value;
		}
	}
	return NULL;
}

void lks_http_free(struct lks_http *h)
{
	if (!h) {
		return;
	}
	if (h->multi) {
		curl.multi_cleanup(h->multi);
	}
	free(h);
}

/* One multi handle per run keeps the connections of every batch for the next one (a new
 * connection costs a round trip, or a TLS handshake); the pool is sized for the transfers in
 * flight, not by the handles added at the moment, as curl's default is. The per-host cap keeps
 * a batch of hundreds of requests to one registry from opening hundreds of connections;
 * HTTP/2 transfers share one connection and are not counted. */
static int multi_limits(const struct lks_ctx *ctx, CURLM *m)
{
	long parallel = ctx->http_parallel > 0 ? ctx->http_parallel : 1;
	long per_host = ctx->http_per_host > 0 ? ctx->http_per_host : parallel;
	bool bad = curl.multi_setopt(m, CURLMOPT_MAXCONNECTS, parallel * 2) != CURLM_OK;
	bad |= curl.multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, per_host) != CURLM_OK;
	bad |= curl.multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK;
	return bad ? -LKS_E_NET : 0;
}

static int http_get(struct lks_ctx *ctx, struct lks_http **out)
{
	if (!ctx->http) {
		int rc = dynlib_load(ctx, &curl_lib, "network access");
		if (rc < 0) {
			return rc;
		}
		pthread_once(&global_once, global_init);
		struct lks_http *h = calloc(1, sizeof(*h));
		if (!h) {
			return -ENOMEM;
		}
		h->multi = curl.multi_init();
		if (!h->multi || multi_limits(ctx, h->multi) < 0) {
			lks_http_free(h);
			return lks_err(ctx, -LKS_E_NET, "cannot create the curl multi handle");
		}
		ctx->http = h;
	}
	*out = ctx->http;
	return 0;
}

/* Check the URL against the transport policy; on success *origin is "scheme://host:port". */
static int url_check(struct lks_ctx *ctx, const char *url, bool plain_ok, char *err, size_t errn,
		     char **origin)
{
	char red[512];
	http_redact_url(url ? url : "", red, sizeof(red));
	_cleanup_(curlu_freep) CURLU *u = curl.url();
	_cleanup_free_ char *scheme = NULL, *host = NULL, *port = NULL;
	if (!u) {
		return -ENOMEM;
	}
	if (!url || curl.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		set_detail(err, errn, "malformed URL '%s'", red);
		return -LKS_E_INVAL;
	}
	curl.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	char hostport[300];
	snprintf(hostport, sizeof(hostport), "%s%s%s", host, port ? ":" : "", port ? port : "");
	if (strcasecmp(scheme, "http") == 0) {
		if (!plain_ok && !lks_host_is_insecure_ok(ctx, hostport) &&
		    !lks_host_is_insecure_ok(ctx, host)) {
			set_detail(
			    err, errn,
			    "refusing plain http to '%s' (fetching '%s'): use https, or allow "
			    "the host with --insecure-registry %s",
			    host, red, host);
			return -LKS_E_UNSAFE;
		}
	} else if (strcasecmp(scheme, "https") != 0) {
		set_detail(err, errn, "unsupported URL scheme '%s' in '%s'", scheme, red);
		return -LKS_E_UNSAFE;
	}
	if (origin && asprintf(origin, "%s://%s", scheme, hostport) < 0) {
		*origin = NULL;
		return -ENOMEM;
	}
	return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *opaque)
{
	struct xfer *x = opaque;
	struct lks_http_req *r = x->r;
	size_t len = size * n;
	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		free_resp_headers(r); /* a new response (1xx, or the next hop) */
		x->header_bytes = 0;
		return len;
	}
	x->header_bytes += len;
	if (r->n_resp_headers >= HTTP_MAX_HEADERS || x->header_bytes > HTTP_MAX_HEADER_BYTES) {
		x->body_rc = -LKS_E_TOOBIG;
		x->header_overflow = true;
		return 0;
	}
	_cleanup_free_ char *name = NULL, *value = NULL;
	if (http_header_parse(p, len, &name, &value) != 0) {
		return len; /* status, blank or malformed line: not kept */
	}
	struct lks_http_header *h = realloc(r->resp_headers, (r->n_resp_headers + 1) * sizeof(*h));
	if (!h) {
		x->body_rc = -ENOMEM;
		return 0;
	}
	r->resp_headers = h;
	h[r->n_resp_headers].name = TAKE_PTR(name);
	h[r->n_resp_headers].value = TAKE_PTR(value);
	r->n_resp_headers++;
	return len;
}

static bool is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
	struct xfer *x = opaque;
	struct lks_http_req *r = x->r;
	size_t len = size * n;
	long status = 0;
	curl.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (is_redirect(status)) {
		return len;
	}
	if (r->sink && status / 100 == 2) {
		x->sink_used = true;
		x->sink_bytes += len;
		if (r->max_body && x->sink_bytes > r->max_body) {
			x->body_rc = -LKS_E_TOOBIG;
			return 0;
		}
		int rc = r->sink(r->sink_opaque, p, len);
		if (rc) {
			x->body_rc = rc < 0 ? rc : -ECANCELED;
			return 0;
		}
		return len;
	}
	int rc = lks_buf_append(&r->body, p, len);
	if (rc < 0) {
		x->body_rc = rc;
		return 0;
	}
	return len;
}

/* A transfer that receives nothing for the timeout is given up too (a hang after the
 * headers): the same number --help documents, never a shorter one of our own. */
static long low_speed_secs(const struct lks_ctx *ctx)
{
	long s = ctx->http_timeout_ms > 0 ? ctx->http_timeout_ms / 1000 : LKS_HTTP_TIMEOUT_S;
	return s < 1 ? 1 : s;
}

/* Options that stay the same across attempts and hops. */
static int easy_setup(struct xfer *x)
{
	struct lks_ctx *ctx = x->ctx;
	CURL *e = curl.easy_init();
	if (!e) {
		return -ENOMEM;
	}
	x->easy = e;
	int bad = 0;
	bad |= curl.easy_setopt(e, CURLOPT_PRIVATE, x);
	bad |= curl.easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	bad |= curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	bad |= curl.easy_setopt(e, CURLOPT_WRITEDATA, x);
	bad |= curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	bad |= curl.easy_setopt(e, CURLOPT_HEADERDATA, x);
	bad |= curl.easy_setopt(e, CURLOPT_NOBODY, x->r->method == LKS_HTTP_HEAD ? 1L : 0L);
	bad |= curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	bad |= curl.easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
	bad |= curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= curl.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	bad |= curl.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	bad |= curl.easy_setopt(e, CURLOPT_USERAGENT, "lockstep/" LKS_VERSION);
	bad |= curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ctx->http_connect_timeout_ms);
	bad |= curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, ctx->http_timeout_ms);
	bad |= curl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	bad |= curl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, low_speed_secs(ctx));
	if (x->r->method == LKS_HTTP_GET && (!x->r->sink || x->r->max_body)) {
		/* refuse early when the server announces a body over the cap */
		curl_off_t cap = (curl_off_t)(x->r->sink ? x->r->max_body : x->r->body.max);
		bad |= curl.easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, cap);
	}
	if (bad) {
		set_detail(x->r->errdetail, sizeof(x->r->errdetail),
		           "cannot configure curl transfer");
		return -LKS_E_NET;
	}
	return 0;
}

static int build_headers(struct xfer *x)
{
	curl.slist_free_all(x->hdrs);
	x->hdrs = NULL;
	for (char **p = x->r->headers; p && *p; p++) {
		if (x->drop_auth && strncasecmp(*p, "authorization:", 14) == 0) {
			continue;
		}
		struct curl_slist *l = curl.slist_append(x->hdrs, *p);
		if (!l) {
			return -ENOMEM;
		}
		x->hdrs = l;
	}
	return 0;
}

/* Begin one attempt (or hop): fresh body, fresh headers. */
static int xfer_start(struct lks_http *h, struct xfer *x)
{
	struct lks_http_req *r = x->r;
	lks_buf_reset(&r->body);
	free_resp_headers(r);
	x->body_rc = 0;
	x->header_overflow = false;
	x->header_bytes = 0;
	x->errbuf[0] = '\0';
	if (x->new_attempt) {
		r->attempts++;
		x->new_attempt = false;
	}
	int rc = build_headers(x);
	if (rc < 0) {
		return rc;
	}
	/* Waiting for a connection to multiplex only pays with TLS, where ALPN tells early whether
	 * it is HTTP/2; over plain http it would serialise the first transfer with all others. */
	long pipewait = strncasecmp(x->url, "https:", 6) == 0;
	if (curl.easy_setopt(x->easy, CURLOPT_PIPEWAIT, pipewait) != CURLE_OK ||
	    curl.easy_setopt(x->easy, CURLOPT_URL, x->url) != CURLE_OK ||
	    curl.easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK) {
		set_detail(r->errdetail, sizeof(r->errdetail), "cannot configure curl transfer");
		return -LKS_E_NET;
	}
	if (curl.multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		set_detail(r->errdetail, sizeof(r->errdetail), "cannot start curl transfer");
		return -LKS_E_NET;
	}
	x->active = true;
	return 0;
}

static void xfer_fail(struct xfer *x, int rc, bool transport)
{
	if (!x->r->errdetail[0]) {
		set_detail(x->r->errdetail, sizeof(x->r->errdetail), "%s", lks_strerror(rc));
	}
	x->r->rc = rc;
	x->transport_err = transport;
	x->done = true;
}

static int xfer_prepare(struct lks_ctx *ctx, struct xfer *x, struct lks_http_req *r)
{
	x->ctx = ctx;
	x->r = r;
	r->status = 0;
	r->rc = 0;
	r->errdetail[0] = '\0';
	r->attempts = 0;
	r->body.max = r->max_body ? r->max_body : HTTP_DEFAULT_MAX_BODY;
	lks_buf_reset(&r->body);
	free_resp_headers(r);
	free(r->effective_url);
	r->effective_url = NULL;
	int rc = url_check(ctx, r->url, r->plain_http_ok, r->errdetail, sizeof(r->errdetail),
			   &x->origin);
	if (rc < 0) {
		return rc;
	}
	x->new_attempt = true;
	x->url = strdup(r->url);
	if (!x->url) {
		return -ENOMEM;
	}
	return easy_setup(x);
}

static void xfer_release(struct lks_http *h, struct xfer *x)
{
	if (x->easy) {
		if (x->active) {
			curl.multi_remove_handle(h->multi, x->easy);
		}
		curl.easy_cleanup(x->easy);
	}
	curl.slist_free_all(x->hdrs);
	free(x->url);
	free(x->origin);
	x->r->priv = NULL;
}

static bool may_retry(const struct xfer *x)
{
	return !x->r->no_retry && !x->sink_used && x->r->attempts <= x->ctx->http_max_retries;
}

/* Exponential backoff with jitter, unless the server said how long to wait (capped). */
static void schedule_retry(struct xfer *x, long retry_after_s)
{
	long long delay;
	if (retry_after_s >= 0) {
		delay = retry_after_s > HTTP_RETRY_CAP_MS / 1000 ? HTTP_RETRY_CAP_MS
		                                                 : retry_after_s * 1000LL;
	} else {
		int shift = x->r->attempts > 1 ? x->r->attempts - 1 : 0;
		delay = HTTP_BACKOFF_BASE_MS << (shift > 10 ? 10 : shift);
		delay = delay > HTTP_RETRY_CAP_MS ? HTTP_RETRY_CAP_MS : delay;
		delay += random() % (delay / 2 + 1);
	}
	x->start_at = mono_ms() + delay;
	x->new_attempt = true;
	/* start over from the original URL: a redirect target may have been a short-lived one */
	free(x->url);
	x->url = strdup(x->r->url);
	if (!x->url) {
		xfer_fail(x, -ENOMEM, true);
		return;
	}
	x->redirects = 0;
	x->drop_auth = false;
}

static int status_rc(long status)
{
	if (status / 100 == 2 || status == 304) {
		return 0;
	}
	if (status == 401 || status == 403 || status == 407) {
		return -LKS_E_AUTH;
	}
	if (status == 404 || status == 410) {
		return -LKS_E_NOTFOUND;
	}
	return -LKS_E_HTTP;
}

static bool status_retryable(long status)
{
	return status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505);
}

static void finish_curl_error(struct xfer *x, CURLcode res, const char *url)
{
	struct lks_http_req *r = x->r;
	const char *why = x->errbuf[0] ? x->errbuf : curl.easy_strerror(res);
	size_t dn = sizeof(r->errdetail);
	double secs = 0;
	curl.easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &secs);
	int rc = -LKS_E_NET;
	bool retry = false;
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		/* not retried: a hanging server would multiply the configured timeout */
		set_detail(r->errdetail, dn, "timed out after %.0f s fetching '%s' (%s)", secs, url,
		           why);
		rc = -LKS_E_TIMEOUT;
		break;
	case CURLE_PARTIAL_FILE:
		set_detail(r->errdetail, dn, "truncated body fetching '%s': %s", url, why);
		retry = true;
		break;
	case CURLE_FILESIZE_EXCEEDED:
		set_detail(r->errdetail, dn, "body of '%s' exceeds the size limit", url);
		rc = -LKS_E_TOOBIG;
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		set_detail(r->errdetail, dn, "TLS verification failed fetching '%s': %s", url, why);
		break;
	default:
		set_detail(r->errdetail, dn, "cannot fetch '%s': %s", url, why);
		retry = res != CURLE_UNSUPPORTED_PROTOCOL && res != CURLE_URL_MALFORMAT;
		break;
	}
	if (retry && may_retry(x)) {
		schedule_retry(x, -1);
		return;
	}
	xfer_fail(x, rc, true);
}

static void finish_body_error(struct xfer *x, const char *url)
{
	struct lks_http_req *r = x->r;
	size_t dn = sizeof(r->errdetail);
	if (x->header_overflow) {
		set_detail(r->errdetail, dn,
		           "response headers from '%s' exceed %d lines or %zu bytes", url,
		           HTTP_MAX_HEADERS, HTTP_MAX_HEADER_BYTES);
	} else if (x->body_rc == -LKS_E_TOOBIG) {
		set_detail(r->errdetail, dn, "body of '%s' exceeds %zu bytes", url,
		           r->sink ? r->max_body : r->body.max);
	} else if (r->sink && x->sink_used) {
		set_detail(r->errdetail, dn, "transfer of '%s' aborted by its consumer: %s", url,
		           lks_strerror(x->body_rc));
	} else {
		set_detail(r->errdetail, dn, "cannot store body of '%s': %s", url,
		           lks_strerror(x->body_rc));
	}
	xfer_fail(x, x->body_rc, true);
}

static void follow_redirect(struct xfer *x, long status, const char *url)
{
	struct lks_http_req *r = x->r;
	char *loc = NULL;
	curl.easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &loc);
	if (!loc) {
		set_detail(r->errdetail, sizeof(r->errdetail),
		           "cannot fetch '%s': server answered %ld without a Location", url,
		           status);
		xfer_fail(x, -LKS_E_HTTP, false);
		return;
	}
	if (++x->redirects > HTTP_MAX_REDIRECTS) {
		set_detail(r->errdetail, sizeof(r->errdetail),
		           "cannot fetch '%s': more than %d redirects", url, HTTP_MAX_REDIRECTS);
		xfer_fail(x, -LKS_E_HTTP, false);
		return;
	}
	_cleanup_free_ char *origin = NULL;
	_cleanup_free_ char *next = strdup(loc);
	int rc = next ? url_check(x->ctx, next, r->plain_http_ok, r->errdetail,
				  sizeof(r->errdetail), &origin)
		      : -ENOMEM;
	if (rc < 0) {
		xfer_fail(x, rc, true);
		return;
	}
	/* sticky: once a hop left the original origin, credentials are never sent again */
	x->drop_auth = x->drop_auth || strcmp(origin, x->origin) != 0;
	free(x->url);
	x->url = TAKE_PTR(next);
	x->start_at = 0;
}

static void xfer_done(struct lks_http *h, struct xfer *x, CURLcode res)
{
	struct lks_http_req *r = x->r;
	curl.multi_remove_handle(h->multi, x->easy);
	x->active = false;
	char url[512];
	http_redact_url(x->url, url, sizeof(url));
	long status = 0;
	curl.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	r->status = status;
	if (x->body_rc) {
		finish_body_error(x, url);
		return;
	}
	if (res != CURLE_OK) {
		finish_curl_error(x, res, url);
		return;
	}
	if (is_redirect(status)) {
		follow_redirect(x, status, url);
		return;
	}
	if (status_retryable(status) && may_retry(x)) {
		const char *ra = lks_http_req_get_header(r, "retry-after");
		schedule_retry(x, ra ? http_retry_after(ra, time(NULL)) : -1);
		return;
	}
	r->effective_url = strdup(x->url);
	int rc = status_rc(status);
	if (rc < 0) {
		set_detail(r->errdetail, sizeof(r->errdetail),
		           "cannot fetch '%s': server answered %ld%s", url, status,
		           r->attempts > 1 ? " (retries exhausted)" : "");
	}
	x->r->rc = rc;
	x->done = true;
}

static int drain_messages(struct lks_http *h)
{
	int left = 0, finished = 0;
	CURLMsg *m;
	while ((m = curl.multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE) {
			continue;
		}
		struct xfer *x = NULL;
		curl.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		CURLcode res = m->data.result; /* m is invalid once the handle is removed */
		xfer_done(h, x, res);
		finished++;
	}
	return finished;
}

/* Start what may start; returns the number of transfers not yet done. */
static int start_ready(struct lks_http *h, struct xfer *xs, int n, int parallel, long long *wake)
{
	long long now = mono_ms();
	int active = 0, pending = 0;
	for (int i = 0; i < n; i++) {
		active += xs[i].active;
	}
	for (int i = 0; i < n; i++) {
		struct xfer *x = &xs[i];
		if (x->done || x->active) {
			pending += !x->done;
			continue;
		}
		pending++;
		if (x->start_at > now) {
			*wake = x->start_at < *wake ? x->start_at : *wake;
			continue;
		}
		if (active >= parallel) {
			continue;
		}
		int rc = xfer_start(h, x);
		if (rc < 0) {
			xfer_fail(x, rc, true);
			pending--;
			continue;
		}
		active++;
	}
	return pending;
}

static int run_loop(struct lks_http *h, struct xfer *xs, int n, int parallel)
{
	for (;;) {
		long long wake = mono_ms() + 1000;
		if (start_ready(h, xs, n, parallel, &wake) == 0) {
			return 0;
		}
		int running = 0;
		CURLMcode mc = curl.multi_perform(h->multi, &running);
		if (mc != CURLM_OK) {
			return lks_err(xs[0].ctx, -LKS_E_NET, "curl multi failed: %s",
			               curl.multi_strerror(mc));
		}
		if (drain_messages(h) > 0) {
			continue;
		}
		long long wait = wake - mono_ms();
		mc = curl.multi_poll(h->multi, NULL, 0, wait < 0 ? 0 : (int)wait, NULL);
		if (mc != CURLM_OK) {
			return lks_err(xs[0].ctx, -LKS_E_NET, "curl multi poll failed: %s",
			               curl.multi_strerror(mc));
		}
	}
}

static int offline_fail(struct lks_ctx *ctx, struct lks_http_req **reqs, int n)
{
	for (int i = 0; i < n; i++) {
		char url[512];
		http_redact_url(reqs[i]->url ? reqs[i]->url : "", url, sizeof(url));
		set_detail(reqs[i]->errdetail, sizeof(reqs[i]->errdetail),
		           "cannot fetch '%s': running offline", url);
		reqs[i]->status = 0;
		reqs[i]->rc = -LKS_E_OFFLINE;
	}
	return lks_err(ctx, -LKS_E_OFFLINE, "%s", reqs[0]->errdetail);
}

int lks_http_run(struct lks_ctx *ctx, struct lks_http_req **reqs, int n)
{
	if (n <= 0) {
		return 0;
	}
	if (ctx->offline) {
		return offline_fail(ctx, reqs, n);
	}
	if (ctx->fetch) {
		return ctx->fetch(ctx, reqs, n);
	}
	struct lks_http *h = NULL;
	int rc = http_get(ctx, &h);
	if (rc < 0) {
		return rc;
	}
	_cleanup_free_ struct xfer *xs = calloc((size_t)n, sizeof(*xs));
	if (!xs) {
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		reqs[i]->priv = &xs[i];
		rc = xfer_prepare(ctx, &xs[i], reqs[i]);
		if (rc < 0) {
			xfer_fail(&xs[i], rc, true);
		}
	}
	rc = run_loop(h, xs, n, ctx->http_parallel > 0 ? ctx->http_parallel : 1);
	for (int i = 0; i < n; i++) {
		xfer_release(h, &xs[i]);
	}
	if (rc < 0) {
		return rc;
	}
	for (int i = 0; i < n; i++) {
		if (xs[i].transport_err && reqs[i]->rc < 0) {
			return lks_err(ctx, reqs[i]->rc, "%s", reqs[i]->errdetail);
		}
	}
	return 0;
}
