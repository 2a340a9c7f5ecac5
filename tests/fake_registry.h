/* A canned registry behind ctx->fetch, for unit tests and fuzz targets of the registry
 * client's parsing and verification (the real server is exercised in tests/e2e/registry.py).
 * Routes match on method + URL suffix; unmatched requests get 404. Header-only: static. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/http.h"

#define FAKE_MAX_ROUTES 32

struct fake_route {
	enum lks_http_method method;
	char suffix[256];
	long status;
	const char *body; /* not owned */
	size_t body_len;
	char dcd[128];   /* Docker-Content-Digest, "" for none */
	char extra[256]; /* one more header "name: value" (lowercase name), "" for none */
};

static struct fake_route fake_routes[FAKE_MAX_ROUTES];
static size_t fake_n_routes;
static int fake_requests;
static char fake_last_url[512];

static inline void fake_reset(void)
{
	fake_n_routes = 0;
	fake_requests = 0;
	fake_last_url[0] = '\0';
}

/* dcd: NULL = none, "auto" = sha256 of body, else the value. */
static inline struct fake_route *fake_add(enum lks_http_method m, const char *suffix, long status,
                                          const char *body, size_t len, const char *dcd)
{
	struct fake_route *r = &fake_routes[fake_n_routes++];
	memset(r, 0, sizeof(*r));
	r->method = m;
	snprintf(r->suffix, sizeof(r->suffix), "%s", suffix);
	r->status = status;
	r->body = body;
	r->body_len = len;
	if (dcd && !strcmp(dcd, "auto")) {
		lks_sha256_buf(body ? body : "", len, r->dcd);
	} else if (dcd) {
		snprintf(r->dcd, sizeof(r->dcd), "%s", dcd);
	}
	return r;
}

static inline const struct fake_route *fake_match(const struct lks_http_req *q)
{
	size_t ul = strlen(q->url);
	for (size_t i = 0; i < fake_n_routes; i++) {
		const struct fake_route *r = &fake_routes[i];
		size_t sl = strlen(r->suffix);
		bool method_ok = r->method == q->method ||
		                 (q->method == LKS_HTTP_HEAD && r->method == LKS_HTTP_GET);
		if (method_ok && ul >= sl && !strcmp(q->url + ul - sl, r->suffix)) {
			return r;
		}
	}
	return NULL;
}

static inline void fake_header(struct lks_http_req *q, const char *name, const char *value)
{
	q->resp_headers =
	    realloc(q->resp_headers, (q->n_resp_headers + 1) * sizeof(*q->resp_headers));
	q->resp_headers[q->n_resp_headers].name = strdup(name);
	q->resp_headers[q->n_resp_headers].value = strdup(value);
	q->n_resp_headers++;
}

static inline void fake_body(struct lks_http_req *q, const struct fake_route *r)
{
	if (q->method == LKS_HTTP_HEAD || !r->body) {
		return;
	}
	if (q->sink && r->status / 100 == 2) {
		if (q->sink(q->sink_opaque, r->body, r->body_len) != 0) {
			q->rc = -ECANCELED;
		}
		return;
	}
	if (q->max_body && r->body_len > q->max_body) {
		q->rc = -LKS_E_TOOBIG;
		return;
	}
	lks_buf_append(&q->body, r->body, r->body_len);
}

static inline int fake_fetch(void *vctx, struct lks_http_req **reqs, int n)
{
	for (int i = 0; i < n; i++) {
		struct lks_http_req *q = reqs[i];
		fake_requests++;
		snprintf(fake_last_url, sizeof(fake_last_url), "%s", q->url);
		const struct fake_route *r = fake_match(q);
		long st = r ? r->status : 404;
		q->status = st;
		q->rc = st / 100 == 2            ? 0
		        : st == 401 || st == 403 ? -LKS_E_AUTH
		        : st == 404              ? -LKS_E_NOTFOUND
		                                 : -LKS_E_HTTP;
		if (q->rc < 0) {
			snprintf(q->errdetail, sizeof(q->errdetail), "server answered %ld", st);
		}
		if (!r) {
			continue;
		}
		if (r->dcd[0]) {
			fake_header(q, "docker-content-digest", r->dcd);
		}
		if (r->extra[0]) {
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(r->extra, ":"), r->extra);
			fake_header(q, name, r->extra + strlen(name) + 2);
		}
		fake_body(q, r);
	}
	return 0;
}
