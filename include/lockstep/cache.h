/* The local cache: one sqlite database, the only code that calls sqlite (cache/cache.c).
 *
 * Location: ctx->cache_dir, else $XDG_CACHE_HOME/lockstep (when absolute), else
 * ~/.cache/lockstep; the file is cache.sqlite. Missing directories are created with mode 0700.
 * The database is opened lazily by the first call below and stored in ctx->cache (closed by
 * lks_ctx_free through ctx->cache_close).
 *
 * The schema is versioned with PRAGMA user_version; a database written by a newer lockstep is
 * refused with -LKS_E_VERSION rather than guessed at. WAL mode, a 10 s busy timeout and retries
 * around BEGIN IMMEDIATE let concurrent lockstep runs share one cache without SQLITE_BUSY
 * failures. A damaged file yields -LKS_E_DB naming the file.
 *
 * ctx->refresh: every *_get returns -LKS_E_NOTFOUND (writes still happen); lks_cache_seen is
 * history, not a cached answer, and is not affected. ctx->offline: reads work as usual.
 *
 * All functions return 0 or a negative error with a detail in ctx.
 */
#pragma once
#include <stddef.h>
#include <time.h>
#include "lockstep/buf.h"

struct lks_ctx;
struct lks_cache;

#define LKS_CACHE_SCHEMA_VERSION 1
/* Largest value or body stored; larger puts fail with -LKS_E_TOOBIG. */
#define LKS_CACHE_MAX_VALUE ((size_t)1 << 30)

/* The cache directory that would be used, into out (reset first). */
int lks_cache_dir(struct lks_ctx *ctx, struct lks_buf *out);
/* Open (or return the already open) cache of ctx. Optional: every call below does it lazily. */
int lks_cache_open(struct lks_ctx *ctx, struct lks_cache **out);
/* Close a cache; accepts NULL. Normally called by lks_ctx_free, not directly. */
void lks_cache_close(struct lks_cache *c);

/* Generic resolutions keyed by (namespace, key), e.g. ("image", "python:3.12-slim").
 * get: the value is appended to val (honouring val->max); stored_at may be NULL.
 * -LKS_E_NOTFOUND when absent or ctx->refresh. put replaces, with stored_at = lks_now(ctx).
 * delete of an absent key succeeds. */
int lks_cache_get(struct lks_ctx *ctx, const char *ns, const char *key, struct lks_buf *val,
		  time_t *stored_at);
int lks_cache_put(struct lks_ctx *ctx, const char *ns, const char *key, const void *val,
		  size_t len);
int lks_cache_delete(struct lks_ctx *ctx, const char *ns, const char *key);

/* A cached HTTP response, for revalidation with If-None-Match / If-Modified-Since.
 * Strings are owned (malloc'd) and may be NULL; lks_cache_http_free releases them and the body.
 *
 * Credentials are never stored: only these response fields are kept (no request headers, so
 * no Authorization), the URL's userinfo ("user:pass@") is removed before it is used as the
 * key, and a URL whose query carries a credential-like parameter (token, access_token,
 * X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, Signature, sig, password) is not
 * cached at all: put does nothing and get answers -LKS_E_NOTFOUND. */
struct lks_cache_http {
	char *etag;
	char *last_modified;
	char *content_type;
	struct lks_buf body;
	time_t fetched_at; /* put: 0 means lks_now(ctx) */
};

void lks_cache_http_init(struct lks_cache_http *h);
void lks_cache_http_free(struct lks_cache_http *h);
/* get fills out (which must be initialised; previous contents are replaced). */
int lks_cache_http_get(struct lks_ctx *ctx, const char *url, struct lks_cache_http *out);
int lks_cache_http_put(struct lks_ctx *ctx, const char *url, const struct lks_cache_http *resp);
/* The cache key for url: userinfo and fragment removed. -LKS_E_UNSAFE when the URL carries a
 * credential in its query (not cacheable). out is reset first. */
int lks_cache_url_key(const char *url, struct lks_buf *out);

/* First time (kind, name, version) was seen, e.g. ("apt", "bash", "5.2.15-2+b2"): records
 * `when` unless an earlier time is already stored, and returns the earliest in *first_seen
 * (may be NULL). */
int lks_cache_seen(struct lks_ctx *ctx, const char *kind, const char *name, const char *version,
		   time_t when, time_t *first_seen);
