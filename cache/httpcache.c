/* GETs with the HTTP response cache in front; see include/lockstep/httpcache.h. */
#include "lockstep/httpcache.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/http.h"

#define HTTPCACHE_DEFAULT_MAX ((size_t)64 << 20) /* lks_http's cap when max_body is 0 */

void lks_httpcache_entry_init(struct lks_httpcache_entry *e)
{
	memset(e, 0, sizeof(*e));
	lks_cache_http_init(&e->c);
}

void lks_httpcache_entry_free(struct lks_httpcache_entry *e)
{
	lks_cache_http_free(&e->c);
	memset(e, 0, sizeof(*e));
}

/* A cache that does not work costs speed, not correctness: say so once and go on. */
void lks_httpcache_warn(struct lks_ctx *ctx, int rc)
{
	if (rc != -LKS_E_NOTFOUND && !ctx->cache_warned) {
		lks_warn(ctx, "warning: HTTP cache not used: %s", lks_errmsg(ctx, rc));
		ctx->cache_warned = true;
	}
	ctx->err[0] = '\0';
}

/* The stored response becomes the answer of r. */
static void serve(struct lks_http_req *r, struct lks_httpcache_entry *e)
{
	struct lks_buf b = r->body;
	r->body = e->c.body;
	e->c.body = b;
	lks_buf_reset(&e->c.body);
	r->status = 200;
	r->rc = 0;
	r->errdetail[0] = '\0';
	e->served = true;
}

static int add_validator(struct lks_http_req *r, const char *name, const char *value)
{
	char line[1024];
	if (!value || (size_t)snprintf(line, sizeof(line), "%s: %s", name, value) >= sizeof(line)) {
		return 0; /* an absurd validator only costs the revalidation */
	}
	return lks_http_req_header(r, line);
}

/* Look r up; true when the cache answers it without the network. */
static bool begin(struct lks_ctx *ctx, struct lks_http_req *r, struct lks_httpcache_entry *e,
                  int *err)
{
	e->c.body.max = r->max_body ? r->max_body : HTTPCACHE_DEFAULT_MAX;
	int rc = lks_cache_http_get(ctx, r->url, &e->c);
	if (rc < 0) {
		lks_httpcache_warn(ctx, rc);
		return false;
	}
	e->cached = true;
	if (ctx->offline) {
		serve(r, e);
		return true;
	}
	rc = add_validator(r, "If-None-Match", e->c.etag);
	rc = rc ? rc : add_validator(r, "If-Modified-Since", e->c.last_modified);
	*err = rc;
	return false;
}

static void end(struct lks_ctx *ctx, struct lks_http_req *r, struct lks_httpcache_entry *e)
{
	if (r->rc == 0 && r->status == 304 && e->cached) {
		serve(r, e);
		return;
	}
	if (r->rc < 0 || r->status != 200) {
		return;
	}
	struct lks_cache_http put = {
	    .etag = (char *)lks_http_req_get_header(r, "etag"),
	    .last_modified = (char *)lks_http_req_get_header(r, "last-modified"),
	    .content_type = (char *)lks_http_req_get_header(r, "content-type"),
	    .body = r->body,
	};
	int rc = lks_cache_http_put(ctx, r->url, &put);
	if (rc < 0) {
		lks_httpcache_warn(ctx, rc);
	}
}

int lks_httpcache_run(struct lks_ctx *ctx, struct lks_http_req **reqs,
                      struct lks_httpcache_entry *e, int n)
{
	struct lks_http_req **net = calloc(n > 0 ? (size_t)n : 1, sizeof(*net));
	struct lks_httpcache_entry **ne = calloc(n > 0 ? (size_t)n : 1, sizeof(*ne));
	int rc = net && ne ? 0 : -ENOMEM, m = 0;
	for (int i = 0; rc == 0 && i < n; i++) {
		if (!begin(ctx, reqs[i], &e[i], &rc)) {
			ne[m] = &e[i];
			net[m++] = reqs[i];
		}
	}
	if (rc == 0 && m) {
		rc = lks_http_run(ctx, net, m);
		for (int i = 0; i < m; i++) {
			end(ctx, net[i], ne[i]);
		}
	}
	free(net);
	free(ne);
	return rc;
}

const char *lks_httpcache_content_type(const struct lks_http_req *r,
                                       const struct lks_httpcache_entry *e)
{
	if (e->served) {
		return e->c.content_type;
	}
	return lks_http_req_get_header(r, "content-type");
}
