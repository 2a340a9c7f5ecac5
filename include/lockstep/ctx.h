/* The library context: one per command invocation.
 *
 * Holds the last error detail (the library never prints; see STYLE rule 5), options shared by
 * every module, the clock, and lazily created shared resources (HTTP multi handle, cache).
 */
#pragma once
#include <stdbool.h>
#include <stdarg.h>
#include <time.h>
#include "lockstep/regconf.h"

struct lks_http;
struct lks_cache;
struct lks_imagefs_memo;

/* Fault-injection hook: tests may replace how HTTP transfers are run (see http.h). */
struct lks_http_req;
typedef int (*lks_http_fetch_fn)(void *ctx, struct lks_http_req **reqs, int n);

/* Network timeouts by default, in seconds (--timeout; --help prints these very numbers). */
#define LKS_HTTP_TIMEOUT_S 60
#define LKS_HTTP_CONNECT_TIMEOUT_S 10

struct lks_ctx {
	char err[2048];          /* detail of the last failure, "" when none */
	char warn[4096];         /* accumulated non-fatal warnings, newline separated */
	bool offline;            /* never touch the network; answer from the cache */
	bool refresh;            /* ignore cached answers (still writes them) */
	bool verbose;
	bool cache_warned;       /* a cache failure was already reported */
	time_t now;              /* the clock; see lks_now() */
	char *cache_dir;         /* NULL: $XDG_CACHE_HOME/lockstep or ~/.cache/lockstep */
	char **insecure_hosts;   /* NULL-terminated: hosts allowed over plain HTTP */
	long http_timeout_ms;    /* a request that takes longer, or receives nothing for that
	                          * long, is given up; default LKS_HTTP_TIMEOUT_S seconds */
	long http_connect_timeout_ms; /* default LKS_HTTP_CONNECT_TIMEOUT_S seconds */
	int http_max_retries;    /* default 4 */
	int http_parallel;       /* transfers in flight, default 64 */
	int http_per_host;       /* connections to one host, default 32 (HTTP/2: one) */
	lks_http_fetch_fn fetch; /* NULL: the real curl multi implementation */
	struct lks_http *http;   /* lazily created, owned */
	struct lks_cache *cache; /* lazily opened by cache/, owned */
	void (*cache_close)(struct lks_cache *); /* set by whoever opened cache */
	struct lks_imagefs_memo *imagefs_memo;   /* a run's memo of image reads (imagefs.h) */
	size_t image_streams; /* how often an image's layers were streamed (imagefs), for -v */
	/* registries.conf and --registry-mirror (regconf.h): regconf_store after lks_ctx_init,
	 * loaded on first use; a derived context points at its parent's. NULL: no mirrors, no
	 * registries.conf (a context not made by lks_ctx_init). */
	struct lks_regconf *regconf;
	struct lks_regconf regconf_store;
};

/* Initialise with defaults. Reads LOCKSTEP_NOW (epoch seconds or RFC 3339 UTC) for the clock. */
int lks_ctx_init(struct lks_ctx *ctx);
void lks_ctx_free(struct lks_ctx *ctx);

/* Record a failure detail and return `code` (a negative error) for `return lks_err(...)`. */
int lks_err(struct lks_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append a warning line to ctx->warn (truncated when full). */
void lks_warn(struct lks_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The detail string, or lks_strerror(code) when no detail was recorded. */
const char *lks_errmsg(const struct lks_ctx *ctx, int code);

/* The one clock every time comparison uses: ctx->now when set (tests, --now), else time(). */
time_t lks_now(const struct lks_ctx *ctx);
/* Parse "2026-11-23T18:00:00Z", "2026-11-23" or "@1700000000"/"1700000000" to epoch seconds. */
int lks_parse_time(const char *s, time_t *out);
/* Format epoch seconds as RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" into out (>= 21 bytes). */
void lks_format_time(time_t t, char out[static 21]);

/* True when host (optionally with :port) may be used over plain HTTP: loopback always,
 * otherwise only hosts listed in ctx->insecure_hosts. */
bool lks_host_is_insecure_ok(const struct lks_ctx *ctx, const char *host);
