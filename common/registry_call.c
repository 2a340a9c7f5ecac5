/* Authenticated batches of registry requests (see registry_call.h).
 * Learned auth (scheme, realm, service, Basic header) is kept per registry host for the
 * process, so later batches authenticate up front instead of collecting a 401 each time. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/registry_call.h"
#include "lockstep/auth.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "lockstep/oci_ref.h"
#include "lockstep/regconf.h"

#define TOKEN_BODY_MAX ((size_t)1 << 20)
#define MAX_HINTS 64

static const char accept_line[] = "Accept: application/vnd.oci.image.index.v1+json, "
                                  "application/vnd.docker.distribution.manifest.list.v2+json, "
                                  "application/vnd.oci.image.manifest.v1+json, "
                                  "application/vnd.docker.distribution.manifest.v2+json";

struct host_hint {
	char *host;
	enum lks_auth_scheme scheme;
	char *realm;
	char *service;
	char *basic;    /* "Authorization: Basic ..." (secret), NULL when no credentials */
	bool looked_up; /* credentials were looked up (found or not) */
	bool identity_only;
	bool unreachable; /* a mirror here could not be reached: skip it from now on */
	bool announced;   /* -v: "using mirror" said once */
};

static pthread_mutex_t hint_lock = PTHREAD_MUTEX_INITIALIZER;
static struct host_hint hints[MAX_HINTS];
static size_t n_hints;

static void hint_clear(struct host_hint *h)
{
	free(h->host);
	free(h->realm);
	free(h->service);
	if (h->basic) {
		explicit_bzero(h->basic, strlen(h->basic));
		free(h->basic);
	}
	memset(h, 0, sizeof(*h));
}

void registry_auth_reset(void)
{
	pthread_mutex_lock(&hint_lock);
	for (size_t i = 0; i < n_hints; i++) {
		hint_clear(&hints[i]);
	}
	n_hints = 0;
	pthread_mutex_unlock(&hint_lock);
	lks_auth_token_cache_clear();
}

/* Find or add the hint for host; called with hint_lock held. */
static struct host_hint *hint_for(const char *host, bool create)
{
	for (size_t i = 0; i < n_hints; i++) {
		if (!strcmp(hints[i].host, host)) {
			return &hints[i];
		}
	}
	if (!create) {
		return NULL;
	}
	if (n_hints == MAX_HINTS) {
		hint_clear(&hints[--n_hints]);
	}
	struct host_hint *h = &hints[n_hints];
	if (!(h->host = strdup(host))) {
		return NULL;
	}
	n_hints++;
	return h;
}

static char *default_scope(const struct lks_oci_ref *ref)
{
	char *s = NULL;
	return asprintf(&s, "repository:%s:pull", ref->path) < 0 ? NULL : s;
}

/* The repository the call's current source serves (physical: a mirror's own name). */
static const struct lks_oci_ref *phys(const struct reg_call *c)
{
	return &c->src[c->si].ref;
}

const char *reg_call_where(const struct reg_call *c)
{
	return c->src ? c->src[c->si].label : "registry";
}

/* The Authorization line to send up front for a call, or NULL. */
static char *auth_line_for(const struct reg_call *c)
{
	char *line = NULL;
	pthread_mutex_lock(&hint_lock);
	struct host_hint *h = hint_for(lks_oci_ref_api_host(phys(c)), false);
	if (h && h->scheme == LKS_AUTH_BASIC && h->basic) {
		line = strdup(h->basic);
	} else if (h && h->scheme == LKS_AUTH_BEARER) {
		_cleanup_free_ char *scope = c->scope ? strdup(c->scope) : default_scope(phys(c));
		char *tok = scope ? lks_auth_token_get(h->realm, h->service, scope) : NULL;
		if (tok && asprintf(&line, "Authorization: Bearer %s", tok) < 0) {
			line = NULL;
		}
		if (tok) {
			explicit_bzero(tok, strlen(tok));
			free(tok);
		}
	}
	pthread_mutex_unlock(&hint_lock);
	return line;
}

/* The URL for the current source: plain HTTP where registries.conf says insecure, for
 * --insecure-registry hosts and loopback. */
static int build_url(struct lks_ctx *ctx, struct reg_call *c)
{
	const struct lks_pull_source *s = &c->src[c->si];
	const char *host = lks_oci_ref_api_host(&s->ref);
	const char *scheme = s->insecure || lks_host_is_insecure_ok(ctx, host) ? "http" : "https";
	free(c->url);
	if (asprintf(&c->url, "%s://%s/v2/%s/%s/%s", scheme, host, s->ref.path, c->kind,
	             c->reference) < 0) {
		c->url = NULL;
		return -ENOMEM;
	}
	return 0;
}

int reg_call_init(struct lks_ctx *ctx, struct reg_call *c, const struct lks_oci_ref *ref,
                  enum lks_http_method m, const char *kind, const char *reference, size_t max_body)
{
	memset(c, 0, sizeof(*c));
	c->ref = ref;
	c->method = m;
	c->max_body = max_body;
	c->kind = kind;
	c->manifest_accept = !strcmp(kind, "manifests");
	if (!(c->reference = strdup(reference))) {
		return -ENOMEM;
	}
	const struct lks_regconf *conf;
	int rc = lks_regconf_get(ctx, &conf);
	/* an image named by digest may use digest-only mirrors, one named by tag tag-only ones,
	 * for all its requests (containers/image decides per image, not per request) */
	rc = rc ? rc : lks_regconf_sources(ctx, conf, ref, ref->digest != NULL, &c->src, &c->n_src);
	return rc ? rc : build_url(ctx, c);
}

void reg_call_start_at(struct reg_call *c, size_t si)
{
	c->si = si < c->n_src ? si : c->si;
}

void reg_call_free(struct reg_call *c)
{
	if (!c) {
		return;
	}
	if (c->started) {
		lks_http_req_free(&c->req);
	}
	free(c->url);
	free(c->scope);
	free(c->reference);
	lks_pull_sources_free(c->src, c->n_src);
	memset(c, 0, sizeof(*c));
}

/* Bytes reaching the caller's sink are counted: a source that failed after some cannot hand
 * the call to the next one. */
static int counting_sink(void *opaque, const void *p, size_t n)
{
	struct reg_call *c = opaque;
	c->sunk += n;
	return c->sink(c->sink_opaque, p, n);
}

static int prepare_req(struct reg_call *c)
{
	if (c->started) {
		lks_http_req_free(&c->req);
	}
	lks_http_req_init(&c->req, c->method, c->url);
	c->started = true;
	c->tries++;
	c->req.max_body = c->max_body;
	c->req.sink = c->sink ? counting_sink : NULL;
	c->req.sink_opaque = c;
	c->req.plain_http_ok = c->src[c->si].insecure;
	/* a failing mirror hands over to the next source at once; the last one is retried */
	c->req.no_retry = c->si + 1 < c->n_src;
	if (c->manifest_accept && lks_http_req_header(&c->req, accept_line) < 0) {
		return -ENOMEM;
	}
	_cleanup_free_ char *auth = auth_line_for(c);
	int rc = auth ? lks_http_req_header(&c->req, auth) : 0;
	if (auth) {
		explicit_bzero(auth, strlen(auth));
	}
	return rc;
}

static void call_fail(struct reg_call *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void call_fail(struct reg_call *c, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->rc = rc;
	c->done = true;
}

/* Run the not-yet-done calls as one batch. */
static int run_pending(struct lks_ctx *ctx, struct reg_call **calls, size_t n)
{
	_cleanup_free_ struct lks_http_req **reqs = calloc(n ? n : 1, sizeof(*reqs));
	_cleanup_free_ struct reg_call **map = calloc(n ? n : 1, sizeof(*map));
	if (!reqs || !map) {
		return -ENOMEM;
	}
	int k = 0;
	for (size_t i = 0; i < n; i++) {
		if (calls[i]->done) {
			continue;
		}
		if (prepare_req(calls[i]) < 0) {
			call_fail(calls[i], -ENOMEM, "out of memory");
			continue;
		}
		map[k] = calls[i];
		reqs[k++] = &calls[i]->req;
	}
	if (k == 0) {
		return 0;
	}
	int rc = lks_http_run(ctx, reqs, k);
	for (int i = 0; i < k; i++) {
		if (rc < 0 && reqs[i]->rc == 0 && reqs[i]->status == 0) {
			/* Not even attempted (offline, no client): every transfer shares the
			 * reason. */
			reqs[i]->rc = rc;
			snprintf(reqs[i]->errdetail, sizeof(reqs[i]->errdetail), "%s",
			         lks_errmsg(ctx, rc));
		}
	}
	return 0;
}

/* Look up credentials for the hint's registry once per process. */
static int ensure_creds(struct lks_ctx *ctx, struct host_hint *h, const struct lks_oci_ref *ref)
{
	if (h->looked_up) {
		return 0;
	}
	struct lks_credentials cr;
	int rc = lks_auth_lookup(ctx, lks_oci_ref_auth_key(ref), &cr);
	if (rc < 0) {
		return rc;
	}
	h->looked_up = true;
	if (rc > 0 && (cr.username || cr.password)) {
		h->basic = lks_auth_basic_header(&cr);
	} else if (rc > 0 && cr.identity_token) {
		h->identity_only = true;
	}
	lks_credentials_free(&cr);
	return 0;
}

static int learn_challenge(struct lks_ctx *ctx, struct reg_call *c, struct lks_auth_challenge *ch)
{
	const char *domain = reg_call_where(c);
	if (lks_auth_parse_challenge(NULL, lks_http_req_get_header(&c->req, "www-authenticate"),
	                             ch) < 0) {
		call_fail(c, -LKS_E_AUTH,
		          "%s answered 401 without a usable "
		          "authentication challenge",
		          domain);
		return -LKS_E_AUTH;
	}
	pthread_mutex_lock(&hint_lock);
	struct host_hint *h = hint_for(lks_oci_ref_api_host(phys(c)), true);
	int rc = h ? 0 : -ENOMEM;
	if (h) {
		h->scheme = ch->scheme;
		free(h->realm);
		free(h->service);
		h->realm = ch->realm ? strdup(ch->realm) : NULL;
		h->service = ch->service ? strdup(ch->service) : NULL;
		rc = ensure_creds(ctx, h, phys(c));
	}
	bool no_basic = h && ch->scheme == LKS_AUTH_BASIC && !h->basic;
	if (h && h->identity_only) {
		lks_warn(ctx,
		         "%s: identity tokens from docker config are not "
		         "supported; trying anonymous access",
		         domain);
		h->identity_only = false;
	}
	pthread_mutex_unlock(&hint_lock);
	if (rc < 0) {
		call_fail(c, rc, "cannot authenticate to %s: %s", domain, lks_errmsg(ctx, rc));
	} else if (no_basic) {
		rc = -LKS_E_AUTH;
		call_fail(c, rc,
		          "%s requires credentials and none were found "
		          "(docker config.json or credential helper)",
		          domain);
	}
	return rc;
}

struct token_fetch {
	char *realm;
	char *service;
	char *scope;
	const char *domain;
	struct lks_http_req req;
	bool started;
};

static void token_fetch_free(struct token_fetch *t)
{
	free(t->realm);
	free(t->service);
	free(t->scope);
	if (t->started) {
		lks_http_req_free(&t->req);
	}
}

static bool opt_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool token_matches(const struct token_fetch *t, const char *realm, const char *service,
                          const char *scope)
{
	return opt_eq(t->realm, realm) && opt_eq(t->service, service) && opt_eq(t->scope, scope);
}

/* Percent-encode a query value (RFC 3986 unreserved kept). */
static int put_query_value(struct lks_buf *b, const char *v)
{
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		int rc = (isalnum(ch) && ch < 128) || strchr("-._~", ch)
		             ? lks_buf_putc(b, (char)ch)
		             : lks_buf_printf(b, "%%%02X", ch);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int token_url(const struct token_fetch *t, char **out)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	int rc = lks_buf_puts(&b, t->realm);
	char sep = strchr(t->realm, '?') ? '&' : '?';
	if (rc == 0 && t->service) {
		rc = lks_buf_printf(&b, "%cservice=", sep);
		rc = rc ?: put_query_value(&b, t->service);
		sep = '&';
	}
	if (rc == 0 && t->scope) {
		rc = lks_buf_printf(&b, "%cscope=", sep);
		rc = rc ?: put_query_value(&b, t->scope);
	}
	if (rc < 0) {
		lks_buf_free(&b);
		return rc;
	}
	*out = lks_buf_detach(&b);
	return 0;
}

static int token_start(struct token_fetch *t, const struct lks_oci_ref *ref)
{
	_cleanup_free_ char *url = NULL;
	int rc = token_url(t, &url);
	if (rc < 0) {
		return rc;
	}
	lks_http_req_init(&t->req, LKS_HTTP_GET, url);
	t->started = true;
	t->req.max_body = TOKEN_BODY_MAX;
	pthread_mutex_lock(&hint_lock);
	struct host_hint *h = hint_for(lks_oci_ref_api_host(ref), false);
	if (h && h->basic) {
		rc = lks_http_req_header(&t->req, h->basic);
	}
	pthread_mutex_unlock(&hint_lock);
	return rc;
}

/* Parse a token response and cache it; 0 or negative (message set on ctx, no secret). */
static int token_store(struct lks_ctx *ctx, struct token_fetch *t)
{
	json_auto_t *j = NULL;
	if (lks_json_parse(ctx, t->req.body.data ? t->req.body.data : "", t->req.body.len,
	                   TOKEN_BODY_MAX, "token response", &j) < 0) {
		return lks_err(ctx, -LKS_E_AUTH,
		               "token server for %s answered with "
		               "invalid JSON",
		               t->domain);
	}
	const char *tok = lks_json_str(j, "token");
	if (!tok || !*tok) {
		tok = lks_json_str(j, "access_token");
	}
	if (!tok || !*tok) {
		return lks_err(ctx, -LKS_E_AUTH, "token server for %s sent no token", t->domain);
	}
	json_t *exp = json_object_get(j, "expires_in");
	long expires_in = json_is_integer(exp) ? (long)json_integer_value(exp) : 0;
	return lks_auth_token_put(t->realm, t->service, t->scope, tok, expires_in);
}

static int token_outcome(struct lks_ctx *ctx, struct token_fetch *t)
{
	if (t->req.rc < 0 && t->req.status == 0) {
		return lks_err(ctx, t->req.rc, "cannot reach the token server of %s: %s", t->domain,
		               t->req.errdetail);
	}
	if (t->req.status == 401 || t->req.status == 403) {
		return lks_err(ctx, -LKS_E_AUTH,
		               "token server of %s refused the "
		               "credentials (HTTP %ld)",
		               t->domain, t->req.status);
	}
	if (t->req.status != 200 || t->req.rc < 0) {
		return lks_err(ctx, -LKS_E_AUTH, "token server of %s answered HTTP %ld%s",
		               t->domain, t->req.status,
		               t->req.rc < 0 ? " with an unusable body" : "");
	}
	return token_store(ctx, t);
}

/* For a Bearer-challenged call: queue a token fetch unless one is already queued. */
static int queue_token(struct reg_call *c, const struct lks_auth_challenge *ch,
                       struct token_fetch *tf, size_t *ntf)
{
	free(c->scope);
	c->scope = ch->scope ? strdup(ch->scope) : default_scope(phys(c));
	if (!c->scope) {
		return -ENOMEM;
	}
	/* No cache lookup here: a 401 may mean the cached token was refused, so fetch anew
	 * (calls of one batch share the fetch). */
	for (size_t i = 0; i < *ntf; i++) {
		if (token_matches(&tf[i], ch->realm, ch->service, c->scope)) {
			return 0;
		}
	}
	struct token_fetch *t = &tf[*ntf];
	t->realm = strdup(ch->realm);
	t->service = ch->service ? strdup(ch->service) : NULL;
	t->scope = strdup(c->scope);
	t->domain = reg_call_where(c);
	bool ok = t->realm && t->scope && (!ch->service || t->service);
	int rc = ok ? token_start(t, phys(c)) : -ENOMEM;
	if (rc < 0) {
		token_fetch_free(t); /* never run a half-built request */
		memset(t, 0, sizeof(*t));
		return rc;
	}
	(*ntf)++;
	return 0;
}

static void fetch_tokens(struct lks_ctx *ctx, struct token_fetch *tf, size_t ntf,
                         struct reg_call **calls, size_t n)
{
	_cleanup_free_ struct lks_http_req **reqs = calloc(ntf, sizeof(*reqs));
	if (!reqs) {
		return;
	}
	for (size_t i = 0; i < ntf; i++) {
		reqs[i] = &tf[i].req;
	}
	int rc = lks_http_run(ctx, reqs, (int)ntf);
	for (size_t i = 0; i < ntf; i++) {
		if (rc < 0 && tf[i].req.rc == 0 && tf[i].req.status == 0) {
			tf[i].req.rc = rc;
			snprintf(tf[i].req.errdetail, sizeof(tf[i].req.errdetail), "%s",
			         lks_strerror(rc));
		}
		int trc = token_outcome(ctx, &tf[i]);
		for (size_t j = 0; trc < 0 && j < n; j++) {
			struct reg_call *c = calls[j];
			if (!c->done && c->req.status == 401 && c->scope &&
			    !strcmp(c->scope, tf[i].scope)) {
				call_fail(c, trc, "%s", ctx->err);
			}
		}
	}
}

/* Answer the 401s of this round; challenged calls stay pending for a second try. */
static int authenticate(struct lks_ctx *ctx, struct reg_call **calls, size_t n)
{
	struct token_fetch *tf = calloc(n ? n : 1, sizeof(*tf));
	if (!tf) {
		return -ENOMEM;
	}
	size_t ntf = 0;
	for (size_t i = 0; i < n; i++) {
		struct reg_call *c = calls[i];
		if (c->done || c->req.status != 401 || c->tries != 1) {
			continue;
		}
		struct lks_auth_challenge ch;
		int lrc = learn_challenge(ctx, c, &ch);
		if (lrc == 0 && ch.scheme == LKS_AUTH_BEARER && queue_token(c, &ch, tf, &ntf) < 0) {
			call_fail(c, -ENOMEM, "out of memory");
		}
		lks_auth_challenge_free(&ch);
	}
	if (ntf > 0) {
		fetch_tokens(ctx, tf, ntf, calls, n);
	}
	for (size_t i = 0; i < ntf; i++) {
		token_fetch_free(&tf[i]);
	}
	free(tf);
	return 0;
}

static void finish(struct reg_call *c)
{
	const char *reg = reg_call_where(c);
	long st = c->req.status;
	if (c->req.rc == -LKS_E_TOOBIG) {
		call_fail(c, -LKS_E_TOOBIG, "answer from %s exceeds %zu bytes", reg, c->max_body);
	} else if (c->req.rc == -LKS_E_OFFLINE) {
		call_fail(c, c->req.rc, "%s is needed but lockstep runs offline", reg);
	} else if (c->req.rc < 0 && (st == 0 || st / 100 == 2)) {
		/* no HTTP answer (or a broken 2xx one): a transport failure */
		call_fail(c, c->req.rc, "cannot reach %s: %s", reg, c->req.errdetail);
	} else if (st >= 200 && st < 300) {
		c->rc = 0;
		c->done = true;
	} else if (st == 401) {
		call_fail(c, -LKS_E_AUTH,
		          "%s answered 401 (unauthorized) after "
		          "authenticating",
		          reg);
	} else if (st == 403) {
		call_fail(c, -LKS_E_AUTH, "%s denied access (403)", reg);
	} else if (st == 404) {
		call_fail(c, -LKS_E_NOTFOUND, "not found in %s", reg);
	} else {
		call_fail(c, -LKS_E_HTTP, "%s answered HTTP %ld", reg, st);
	}
}

/* ---- mirrors: one source after the other ---- */

static bool transport_failure(const struct reg_call *c)
{
	return c->req.status == 0 && (c->rc == -LKS_E_NET || c->rc == -LKS_E_TIMEOUT);
}

/* Mark (mark) or ask whether a mirror's host could not be reached in this process. */
static bool host_unreachable(const struct lks_pull_source *s, bool mark)
{
	pthread_mutex_lock(&hint_lock);
	struct host_hint *h = hint_for(lks_oci_ref_api_host(&s->ref), mark);
	bool dead = h && (h->unreachable |= mark);
	pthread_mutex_unlock(&hint_lock);
	return dead;
}

static void note_tried(struct reg_call *c, const char *what)
{
	size_t len = strlen(c->tried);
	snprintf(c->tried + len, sizeof(c->tried) - len, "%s%s", len ? "; " : "", what);
}

/* Move to the next source; false when there is none left (the call's failure stands, with
 * the sources tried before named). */
static bool next_source(struct lks_ctx *ctx, struct reg_call *c)
{
	if (c->si + 1 >= c->n_src) {
		if (c->tried[0]) {
			size_t len = strlen(c->err);
			snprintf(c->err + len, sizeof(c->err) - len, " (tried first: %s)",
			         c->tried);
		}
		return false;
	}
	c->si++;
	c->done = false;
	c->rc = 0;
	c->err[0] = '\0';
	c->tries = 0;
	free(c->scope);
	c->scope = NULL;
	if (build_url(ctx, c) < 0) {
		call_fail(c, -ENOMEM, "out of memory");
		return false;
	}
	return true;
}

/* After a failure on the current source: hand over to the next one when that can help. */
static bool fall_back(struct lks_ctx *ctx, struct reg_call *c)
{
	if (c->src[c->si].mirror && transport_failure(c)) {
		host_unreachable(&c->src[c->si], true);
	}
	bool last = c->si + 1 >= c->n_src;
	if (c->rc == -ENOMEM || c->rc == -LKS_E_OFFLINE || c->sunk > 0 || last) {
		c->final = true;
		if (last) {
			next_source(ctx, c); /* names the sources tried before */
		}
		return false;
	}
	note_tried(c, c->err);
	return next_source(ctx, c);
}

/* Skip sources refused up front: blocked ones, mirrors found unreachable before. */
static void skip_refused(struct lks_ctx *ctx, struct reg_call *c)
{
	for (;;) {
		const struct lks_pull_source *s = &c->src[c->si];
		if (s->blocked) {
			call_fail(c, -EPERM, "%s", s->blocked);
		} else if (s->mirror && c->si + 1 < c->n_src && host_unreachable(s, false)) {
			call_fail(c, -LKS_E_NET, "%s could not be reached earlier in this run",
			          s->label);
		} else {
			return;
		}
		if (c->si + 1 >= c->n_src) {
			c->final = true;
			next_source(ctx, c); /* names the sources tried before */
			return;
		}
		note_tried(c, c->err);
		next_source(ctx, c);
	}
}

/* -v: say once per mirror host that it serves. */
static void announce(struct lks_ctx *ctx, const struct reg_call *c)
{
	const struct lks_pull_source *s = &c->src[c->si];
	if (!ctx->verbose || !s->mirror) {
		return;
	}
	pthread_mutex_lock(&hint_lock);
	struct host_hint *h = hint_for(lks_oci_ref_api_host(&s->ref), true);
	bool say = h && !h->announced;
	if (h) {
		h->announced = true;
	}
	pthread_mutex_unlock(&hint_lock);
	if (say) {
		lks_warn(ctx, "lockstep: pulling through %s", s->label);
	}
}

int registry_run(struct lks_ctx *ctx, struct reg_call **calls, size_t n)
{
	/* each source takes at most two rounds (the second answers a 401) */
	for (int round = 0; round < 1000; round++) {
		for (size_t i = 0; i < n; i++) {
			if (!calls[i]->done) {
				skip_refused(ctx, calls[i]);
			}
		}
		int rc = run_pending(ctx, calls, n);
		rc = rc ? rc : authenticate(ctx, calls, n);
		if (rc < 0) {
			return rc;
		}
		bool again = false;
		for (size_t i = 0; i < n; i++) {
			struct reg_call *c = calls[i];
			if (c->final) {
				continue;
			}
			if (!c->done && c->req.status == 401 && c->tries == 1) {
				again = true;
				continue;
			}
			if (!c->done) {
				finish(c);
				if (c->rc == 0) {
					announce(ctx, c);
				}
			}
			again |= c->rc < 0 && fall_back(ctx, c);
		}
		if (!again) {
			break;
		}
	}
	return 0;
}
