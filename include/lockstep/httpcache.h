/* GETs with the HTTP response cache in front: revalidation and offline answers
 * (cache/httpcache.c).
 *
 * Before a batch runs, each URL is looked up in the cache (lks_cache_http_get). A cached
 * response turns the request into a conditional GET (If-None-Match from its ETag,
 * If-Modified-Since from its Last-Modified); offline (ctx->offline) the cached response is the
 * answer and nothing is sent. After the batch, a 304 becomes the cached response and a new 200
 * is stored with its validators. Either way the request then reads like a 200: r->status is
 * 200, r->rc 0, and r->body holds the body; e->served says it came from the cache.
 *
 * A cache that cannot be used (unwritable, damaged) is not an error: a warning once per ctx,
 * and the network answers. With ctx->refresh nothing is read from the cache (new answers are
 * still stored). Offline, a URL not in the cache fails with -LKS_E_OFFLINE in its r->rc, with
 * r->errdetail naming it.
 */
#pragma once
#include <stdbool.h>
#include "lockstep/cache.h"

struct lks_ctx;
struct lks_http_req;

struct lks_httpcache_entry {
	struct lks_cache_http c; /* the stored response, when cached */
	bool cached;             /* c holds a stored response for the URL */
	bool served;             /* the answer came from the cache (offline, or a 304) */
};

void lks_httpcache_entry_init(struct lks_httpcache_entry *e);
void lks_httpcache_entry_free(struct lks_httpcache_entry *e);

/* Run reqs (initialised GETs; e[i] belongs to reqs[i]) with the cache in front, in parallel.
 * Returns what lks_http_run() returns for the requests that needed the network (0 when none
 * did), or -ENOMEM; each request's outcome is in its r->rc and r->status as usual. */
int lks_httpcache_run(struct lks_ctx *ctx, struct lks_http_req **reqs,
                      struct lks_httpcache_entry *e, int n);

/* Report a cache that cannot be used (any error but -LKS_E_NOTFOUND): a warning, once per
 * ctx; the detail in ctx is cleared. */
void lks_httpcache_warn(struct lks_ctx *ctx, int rc);

/* The Content-Type of the answer: the response's, or the stored one when served. */
const char *lks_httpcache_content_type(const struct lks_http_req *r,
                                       const struct lks_httpcache_entry *e);
