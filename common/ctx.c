#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/http.h"
#include "lockstep/regconf.h"

int lks_ctx_init(struct lks_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->http_timeout_ms = LKS_HTTP_TIMEOUT_S * 1000L;
	ctx->http_connect_timeout_ms = LKS_HTTP_CONNECT_TIMEOUT_S * 1000L;
	ctx->http_max_retries = 4;
	ctx->http_parallel = 64;
	ctx->http_per_host = 32;
	lks_regconf_init(&ctx->regconf_store);
	ctx->regconf = &ctx->regconf_store;
	const char *now = getenv("LOCKSTEP_NOW");
	if (now && *now) {
		if (lks_parse_time(now, &ctx->now) < 0) {
			return lks_err(ctx, -LKS_E_INVAL, "cannot parse LOCKSTEP_NOW '%s'", now);
		}
	}
	return 0;
}

void lks_ctx_free(struct lks_ctx *ctx)
{
	if (ctx->http) {
		lks_http_free(ctx->http);
		ctx->http = NULL;
	}
	if (ctx->cache && ctx->cache_close) {
		ctx->cache_close(ctx->cache);
	}
	ctx->cache = NULL;
	if (ctx->regconf == &ctx->regconf_store) {
		lks_regconf_free(&ctx->regconf_store);
	}
	ctx->regconf = NULL;
	free(ctx->cache_dir);
	ctx->cache_dir = NULL;
	if (ctx->insecure_hosts) {
		for (char **p = ctx->insecure_hosts; *p; p++) {
			free(*p);
		}
		free(ctx->insecure_hosts);
		ctx->insecure_hosts = NULL;
	}
}

int lks_err(struct lks_ctx *ctx, int code, const char *fmt, ...)
{
	if (ctx) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
		va_end(ap);
	}
	return code < 0 ? code : -code;
}

void lks_warn(struct lks_ctx *ctx, const char *fmt, ...)
{
	size_t len = strlen(ctx->warn);
	if (len + 2 >= sizeof(ctx->warn)) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->warn + len, sizeof(ctx->warn) - len - 1, fmt, ap);
	va_end(ap);
	len = strlen(ctx->warn);
	ctx->warn[len] = '\n';
	ctx->warn[len + 1] = '\0';
}

const char *lks_errmsg(const struct lks_ctx *ctx, int code)
{
	if (ctx && ctx->err[0]) {
		return ctx->err;
	}
	return lks_strerror(code);
}

time_t lks_now(const struct lks_ctx *ctx)
{
	if (ctx && ctx->now) {
		return ctx->now;
	}
	return time(NULL);
}

static int parse_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			return -1;
		}
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_epoch(const char *s, time_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		return -LKS_E_INVAL;
	}
	*out = (time_t)v;
	return 0;
}

int lks_parse_time(const char *s, time_t *out)
{
	if (*s == '@') {
		return parse_epoch(s + 1, out);
	}
	size_t n = strlen(s);
	if (n > 0 && strspn(s, "0123456789") == n) {
		return parse_epoch(s, out);
	}
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0;
	if (n < 10 || parse_digits(s, 4, &y) || s[4] != '-' || parse_digits(s + 5, 2, &mo) ||
	    s[7] != '-' || parse_digits(s + 8, 2, &d)) {
		return -LKS_E_INVAL;
	}
	const char *p = s + 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (strlen(p) < 9 || parse_digits(p + 1, 2, &h) || p[3] != ':' ||
		    parse_digits(p + 4, 2, &mi) || p[6] != ':' || parse_digits(p + 7, 2, &sec)) {
			return -LKS_E_INVAL;
		}
		p += 9;
		if (*p == '.') { /* fractional seconds are dropped */
			p++;
			while (isdigit((unsigned char)*p)) {
				p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om;
			if (strlen(p) < 6 || parse_digits(p + 1, 2, &oh) || p[3] != ':' ||
			    parse_digits(p + 4, 2, &om)) {
				return -LKS_E_INVAL;
			}
			int off = (oh * 60 + om) * 60;
			sec -= *p == '+' ? off : -off;
			p += 6;
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) {
		return -LKS_E_INVAL;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return 0;
}

void lks_format_time(time_t t, char out[static 21])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool is_loopback(const char *host, size_t n)
{
	if ((n == 9 && strncasecmp(host, "localhost", 9) == 0) || (n == 5 && !memcmp(host, "[::1]", 5)) ||
	    (n == 3 && !memcmp(host, "::1", 3))) {
		return true;
	}
	return n >= 4 && !memcmp(host, "127.", 4) && strspn(host, "0123456789.") == n;
}

bool lks_host_is_insecure_ok(const struct lks_ctx *ctx, const char *host)
{
	size_t n = strlen(host);
	const char *colon = strrchr(host, ':');
	size_t hn = n;
	if (colon && host[0] != '[' ) {
		hn = (size_t)(colon - host);
	} else if (host[0] == '[') {
		const char *rb = strchr(host, ']');
		hn = rb ? (size_t)(rb - host + 1) : n;
	}
	if (is_loopback(host, hn)) {
		return true;
	}
	if (!ctx || !ctx->insecure_hosts) {
		return false;
	}
	for (char **p = ctx->insecure_hosts; *p; p++) {
		if (strcasecmp(*p, host) == 0 ||
		    (strlen(*p) == hn && strncasecmp(*p, host, hn) == 0)) {
			return true;
		}
	}
	return false;
}
