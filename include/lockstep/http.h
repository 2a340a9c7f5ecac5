/* HTTP client over curl multi: the only code that calls libcurl.
 *
 * Callers fill an array of requests and run them together; up to ctx->http_parallel transfers
 * are in flight, at most ctx->http_per_host connections to one host (HTTP/2 multiplexes over
 * one), and the run's one multi handle keeps connections open from batch to batch. Each transfer has an error buffer, connect and total timeouts, and is retried
 * with exponential backoff on connection failures, 429 and 5xx, honouring Retry-After
 * (capped). Plain http:// is refused unless lks_host_is_insecure_ok() allows the host.
 * Bodies are collected in a size-capped lks_buf (max_body); exceeding it fails the request
 * with -LKS_E_TOOBIG. Redirects are followed (max 5), and Authorization is not sent across
 * hosts.
 *
 * Typical use:
 *   struct lks_http_req r;
 *   lks_http_req_init(&r, LKS_HTTP_GET, url);
 *   lks_http_req_header(&r, "Accept: application/json");
 *   int rc = lks_http_run(ctx, (struct lks_http_req *[]){&r}, 1);
 *   ... r.status, r.body.data, lks_http_req_get_header(&r, "etag") ...
 *   lks_http_req_free(&r);
 *
 * Outcome per request: r->rc is 0 for 2xx and 304; 401/403/407 give -LKS_E_AUTH, 404/410
 * -LKS_E_NOTFOUND, other statuses -LKS_E_HTTP (all "HTTP level": lks_http_run still returns 0);
 * transport failures give -LKS_E_NET (incl. truncated bodies, TLS), -LKS_E_TIMEOUT, -LKS_E_TOOBIG,
 * -LKS_E_UNSAFE (policy). r->errdetail always says why, with credentials and query stripped from
 * URLs. r->status may be set even with a transport error (e.g. 200 then a truncated body).
 * Only 2xx bodies reach a sink (error pages go to r->body); once a byte has reached the sink
 * the transfer is not retried. For a sink, max_body applies only when set. Timeouts are not
 * retried (a hang would multiply the wait).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/buf.h"

struct lks_ctx;
struct lks_http;

enum lks_http_method { LKS_HTTP_GET, LKS_HTTP_HEAD };

struct lks_http_header {
	char *name;  /* lowercased */
	char *value; /* trimmed */
};

struct lks_http_req {
	/* input */
	enum lks_http_method method;
	char *url;
	char **headers;       /* NULL-terminated "Name: value" lines sent with the request */
	size_t max_body;      /* cap on the body; 0 = 64 MiB */
	bool no_retry;        /* do not retry (e.g. the caller handles it) */
	bool plain_http_ok;   /* allow http:// to any host: the body is verified by other means
	                       * (apt: a signed Release and the sha256 entries it lists) */
	/* Optional streaming sink: when set, body bytes go here instead of into `body`
	 * (return non-zero to abort the transfer). */
	int (*sink)(void *opaque, const void *p, size_t n);
	void *sink_opaque;
	/* output */
	long status;          /* final HTTP status, 0 when no response */
	int rc;               /* 0 or negative error for this transfer */
	char errdetail[512];  /* curl's error buffer or a description of rc */
	struct lks_buf body;
	struct lks_http_header *resp_headers; /* of the final response */
	size_t n_resp_headers;
	char *effective_url;  /* after redirects */
	int attempts;
	void *priv;           /* implementation state */
};

void lks_http_req_init(struct lks_http_req *r, enum lks_http_method m, const char *url);
void lks_http_req_free(struct lks_http_req *r);
/* Add a request header line "Name: value". */
int lks_http_req_header(struct lks_http_req *r, const char *line);
/* Case-insensitive lookup of a response header; NULL when absent. */
const char *lks_http_req_get_header(const struct lks_http_req *r, const char *name);

/* Run all requests, in parallel. Returns 0 when every transfer completed at the HTTP level
 * (check each r->status and r->rc), or the first transport error (each r->rc is set anyway).
 * Goes through ctx->fetch when set. Fails with -LKS_E_OFFLINE when ctx->offline. */
int lks_http_run(struct lks_ctx *ctx, struct lks_http_req **reqs, int n);

/* Free the per-ctx multi handle (called by lks_ctx_free). */
void lks_http_free(struct lks_http *h);
