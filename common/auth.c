/* Registry auth: challenges, docker config credentials, credential helpers, token cache.
 * Never put a secret into ctx->err or a warning: name the registry, helper or file instead. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "lockstep/atomic.h"
#include "lockstep/auth.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "common/auth_helper.h"

#define CHALLENGE_MAX 8192
#define TOKEN_CACHE_MAX 256
#define DOCKER_CONFIG_MAX ((size_t)1 << 20)

void lks_auth_challenge_init(struct lks_auth_challenge *c)
{
	memset(c, 0, sizeof(*c));
}

void lks_auth_challenge_free(struct lks_auth_challenge *c)
{
	if (!c) {
		return;
	}
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	lks_auth_challenge_init(c);
}

static bool is_tchar(char c)
{
	return isascii((unsigned char)c) &&
	       (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	return p;
}

static const char *token_end(const char *p)
{
	while (*p && is_tchar(*p)) {
		p++;
	}
	return p;
}

/* Read a token or quoted-string value at *pp into a new string; advances *pp. */
static char *read_value(const char **pp)
{
	const char *p = *pp;
	struct lks_buf b;
	lks_buf_init(&b, CHALLENGE_MAX);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1]) {
				p++;
			}
			if (lks_buf_putc(&b, *p) < 0) {
				break;
			}
		}
		if (*p == '"') {
			p++;
		}
	} else {
		/* Lenient: servers send unquoted URLs, which are not RFC 7235 tokens. */
		size_t n = strcspn(p, ", \t");
		lks_buf_append(&b, p, n);
		p += n;
	}
	*pp = p;
	return lks_buf_detach(&b);
}

static void set_param(struct lks_auth_challenge *c, const char *name, size_t n, char *value)
{
	char **slot = NULL;
	if (n == 5 && !strncasecmp(name, "realm", 5)) {
		slot = &c->realm;
	} else if (n == 7 && !strncasecmp(name, "service", 7)) {
		slot = &c->service;
	} else if (n == 5 && !strncasecmp(name, "scope", 5)) {
		slot = &c->scope;
	} else if (n == 5 && !strncasecmp(name, "error", 5)) {
		slot = &c->error;
	}
	if (slot && !*slot) {
		*slot = value;
	} else {
		free(value);
	}
}

/* Parse the auth-params after a scheme; stops before the next challenge. */
static const char *parse_params(const char *p, struct lks_auth_challenge *c)
{
	for (;;) {
		p = skip_ows(p);
		while (*p == ',') {
			p = skip_ows(p + 1);
		}
		const char *name = p, *e = token_end(p);
		const char *q = skip_ows(e);
		if (e == name || *q != '=') {
			return name; /* a new challenge, token68, or the end */
		}
		p = skip_ows(q + 1);
		set_param(c, name, (size_t)(e - name), read_value(&p));
		p = skip_ows(p);
		if (*p && *p != ',') {
			return p; /* malformed: give up on the rest */
		}
	}
}

static enum lks_auth_scheme scheme_of(const char *p, size_t n)
{
	if (n == 6 && !strncasecmp(p, "bearer", 6)) {
		return LKS_AUTH_BEARER;
	}
	if (n == 5 && !strncasecmp(p, "basic", 5)) {
		return LKS_AUTH_BASIC;
	}
	return LKS_AUTH_NONE;
}

int lks_auth_parse_challenge(struct lks_ctx *ctx, const char *header,
                             struct lks_auth_challenge *out)
{
	lks_auth_challenge_init(out);
	const char *p = header ? header : "";
	if (strlen(p) > CHALLENGE_MAX) {
		return lks_err(ctx, -LKS_E_PARSE, "WWW-Authenticate header is too long");
	}
	while (*p) {
		p = skip_ows(p);
		while (*p == ',' || *p == ' ') {
			p++;
		}
		const char *s = p, *e = token_end(p);
		if (e == s) {
			break;
		}
		struct lks_auth_challenge c;
		lks_auth_challenge_init(&c);
		c.scheme = scheme_of(s, (size_t)(e - s));
		const char *next = parse_params(e, &c);
		if (next == e && *next && !is_tchar(*next) && *skip_ows(next) != ',') {
			next++; /* skip junk so the loop always advances */
		}
		p = next;
		bool better = c.scheme == LKS_AUTH_BEARER ||
		              (c.scheme == LKS_AUTH_BASIC && out->scheme == LKS_AUTH_NONE);
		if (better && out->scheme != LKS_AUTH_BEARER) {
			lks_auth_challenge_free(out);
			*out = c;
		} else {
			lks_auth_challenge_free(&c);
		}
	}
	if (out->scheme == LKS_AUTH_BEARER && !out->realm) {
		lks_auth_challenge_free(out);
		return lks_err(ctx, -LKS_E_PARSE, "Bearer challenge without a realm");
	}
	if (out->scheme == LKS_AUTH_NONE) {
		return lks_err(ctx, -LKS_E_PARSE,
		               "no Basic or Bearer challenge in WWW-Authenticate");
	}
	return 0;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *lks_base64_encode(const void *p, size_t n)
{
	const uint8_t *s = p;
	char *out = malloc((n + 2) / 3 * 4 + 1);
	if (!out) {
		return NULL;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		v |= i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0;
		v |= i + 2 < n ? s[i + 2] : 0;
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

int lks_base64_decode(const char *s, char **out, size_t *out_len)
{
	size_t n = strlen(s);
	_cleanup_free_ char *r = malloc(n / 4 * 3 + 3);
	if (!r) {
		return -ENOMEM;
	}
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, i = 0;
	for (; i < n && s[i] != '='; i++) {
		const char *c = strchr(b64, s[i]);
		if (!c || !s[i]) {
			return -LKS_E_PARSE;
		}
		acc = (acc << 6) | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			r[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (strspn(s + i, "=") != n - i || n - i > 2) {
		return -LKS_E_PARSE;
	}
	r[o] = '\0';
	*out = TAKE_PTR(r);
	*out_len = o;
	return 0;
}

/* ---- credentials ---- */

void lks_credentials_init(struct lks_credentials *c)
{
	memset(c, 0, sizeof(*c));
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void lks_credentials_free(struct lks_credentials *c)
{
	if (!c) {
		return;
	}
	free_secret(c->username);
	free_secret(c->password);
	free_secret(c->identity_token);
	lks_credentials_init(c);
}

char *lks_auth_basic_header(const struct lks_credentials *c)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	if (lks_buf_printf(&b, "%s:%s", c->username ? c->username : "",
	                   c->password ? c->password : "") < 0) {
		lks_buf_free(&b);
		return NULL;
	}
	char *enc = lks_base64_encode(b.data, b.len);
	explicit_bzero(b.data, b.len);
	lks_buf_free(&b);
	if (!enc) {
		return NULL;
	}
	char *line = NULL;
	if (asprintf(&line, "Authorization: Basic %s", enc) < 0) {
		line = NULL;
	}
	free_secret(enc);
	return line;
}

/* ---- token cache ---- */

struct token_entry {
	char *key;
	char *token;
	struct timespec expires; /* CLOCK_MONOTONIC: --now must not affect token lifetime */
	struct token_entry *next;
};

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static struct token_entry *tokens;
static size_t n_tokens;

static char *token_key(const char *realm, const char *service, const char *scope)
{
	char *k = NULL;
	if (asprintf(&k, "%s\n%s\n%s", realm ? realm : "", service ? service : "",
	             scope ? scope : "") < 0) {
		return NULL;
	}
	return k;
}

static void entry_free(struct token_entry *e)
{
	free(e->key);
	free_secret(e->token);
	free(e);
}

char *lks_auth_token_get(const char *realm, const char *service, const char *scope)
{
	_cleanup_free_ char *k = token_key(realm, service, scope);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	char *r = NULL;
	pthread_mutex_lock(&token_lock);
	for (struct token_entry *e = tokens; k && e; e = e->next) {
		if (!strcmp(e->key, k) && now.tv_sec < e->expires.tv_sec) {
			r = strdup(e->token);
			break;
		}
	}
	pthread_mutex_unlock(&token_lock);
	return r;
}

/* Drop the entry for k (and the oldest when full); called with the lock held. */
static void token_evict(const char *k)
{
	struct token_entry **pp = &tokens;
	while (*pp) {
		struct token_entry *e = *pp;
		bool last = !e->next;
		if (!strcmp(e->key, k) || (last && n_tokens >= TOKEN_CACHE_MAX)) {
			*pp = e->next;
			entry_free(e);
			n_tokens--;
			continue;
		}
		pp = &e->next;
	}
}

int lks_auth_token_put(const char *realm, const char *service, const char *scope, const char *token,
                       long expires_in)
{
	struct token_entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->key = token_key(realm, service, scope)) || !(e->token = strdup(token))) {
		if (e) {
			entry_free(e);
		}
		return -ENOMEM;
	}
	if (expires_in <= 0) {
		expires_in = 60;
	}
	clock_gettime(CLOCK_MONOTONIC, &e->expires);
	/* Renew a little early so a token does not expire in flight. */
	e->expires.tv_sec += expires_in > 20 ? expires_in - 10 : expires_in;
	pthread_mutex_lock(&token_lock);
	token_evict(e->key);
	e->next = tokens;
	tokens = e;
	n_tokens++;
	pthread_mutex_unlock(&token_lock);
	return 0;
}

void lks_auth_token_cache_clear(void)
{
	pthread_mutex_lock(&token_lock);
	while (tokens) {
		struct token_entry *e = tokens;
		tokens = e->next;
		entry_free(e);
	}
	n_tokens = 0;
	pthread_mutex_unlock(&token_lock);
}

/* ---- docker config.json ---- */

static int set_dup(char **slot, const char *v)
{
	if (!v || !*v) {
		return 0;
	}
	free_secret(*slot);
	*slot = strdup(v);
	return *slot ? 0 : -ENOMEM;
}

/* auths.<key>: {"auth": base64(user:pass)} or username/password, identitytoken. */
static int creds_from_auths_entry(struct lks_ctx *ctx, const char *file, const char *key,
                                  const json_t *e, struct lks_credentials *out)
{
	const char *auth = lks_json_str(e, "auth");
	if (auth && *auth) {
		char *dec = NULL;
		size_t n;
		if (lks_base64_decode(auth, &dec, &n) < 0 || !memchr(dec, ':', n) ||
		    strlen(dec) != n) {
			free_secret(dec);
			return lks_err(ctx, -LKS_E_PARSE,
			               "invalid 'auth' for '%s' in '%s': not "
			               "base64 of user:password",
			               key, file);
		}
		char *colon = strchr(dec, ':');
		*colon = '\0';
		int rc = set_dup(&out->username, dec) ?: set_dup(&out->password, colon + 1);
		free_secret(dec);
		if (rc < 0) {
			return rc;
		}
	}
	if (set_dup(&out->username, lks_json_str(e, "username")) < 0 ||
	    set_dup(&out->password, lks_json_str(e, "password")) < 0 ||
	    set_dup(&out->identity_token, lks_json_str(e, "identitytoken")) < 0) {
		return -ENOMEM;
	}
	return out->username || out->password || out->identity_token;
}

/* "https://host/v1/" -> "host"; writes into buf. */
static const char *host_of(const char *key, char *buf, size_t size)
{
	const char *p = strstr(key, "://");
	p = p ? p + 3 : key;
	size_t n = strcspn(p, "/");
	if (n >= size) {
		n = size - 1;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static bool same_registry(const char *a, const char *b)
{
	char ha[512], hb[512];
	host_of(a, ha, sizeof(ha));
	host_of(b, hb, sizeof(hb));
	static const char *const hub[] = {"index.docker.io", "docker.io", "registry-1.docker.io"};
	bool hub_a = false, hub_b = false;
	for (size_t i = 0; i < ARRAY_SIZE(hub); i++) {
		hub_a |= !strcasecmp(ha, hub[i]);
		hub_b |= !strcasecmp(hb, hub[i]);
	}
	return (hub_a && hub_b) || !strcasecmp(ha, hb);
}

static const json_t *find_auths_entry(const json_t *auths, const char *key)
{
	const json_t *e = json_object_get(auths, key);
	if (e) {
		return e;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)auths, k, v)
	{
		if (same_registry(k, key)) {
			return v;
		}
	}
	return NULL;
}

static int load_config(struct lks_ctx *ctx, char *path, size_t size, json_t **out)
{
	const char *dir = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	int n = dir && *dir ? snprintf(path, size, "%s/config.json", dir)
	                    : snprintf(path, size, "%s/.docker/config.json", home ? home : "/");
	if (n < 0 || (size_t)n >= size) {
		return lks_err(ctx, -LKS_E_INVAL, "docker config path is too long");
	}
	struct lks_buf b;
	lks_buf_init(&b, DOCKER_CONFIG_MAX);
	int rc = lks_read_file_optional(ctx, path, "docker config", &b);
	if (rc <= 0) {
		lks_buf_free(&b);
		return rc;
	}
	rc = lks_json_parse(ctx, b.data, b.len, DOCKER_CONFIG_MAX, "docker config", out);
	explicit_bzero(b.data, b.len);
	lks_buf_free(&b);
	if (rc < 0) {
		/* jansson's message may quote the text near the error: it could be a secret. */
		return lks_err(ctx, rc, "docker config '%s' is not valid JSON", path);
	}
	return 1;
}

static const char *helper_for(const json_t *cfg, const char *key)
{
	const json_t *helpers = json_object_get(cfg, "credHelpers");
	const char *k;
	json_t *v;
	const char *h = lks_json_str(helpers, key);
	if (h) {
		return h;
	}
	json_object_foreach((json_t *)helpers, k, v)
	{
		if (same_registry(k, key) && json_is_string(v)) {
			return json_string_value(v);
		}
	}
	return NULL;
}

int lks_auth_lookup(struct lks_ctx *ctx, const char *key, struct lks_credentials *out)
{
	lks_credentials_init(out);
	char path[4096];
	json_auto_t *cfg = NULL;
	int rc = load_config(ctx, path, sizeof(path), &cfg);
	if (rc <= 0) {
		return rc;
	}
	const char *helper = helper_for(cfg, key);
	if (helper) {
		return auth_helper_get(ctx, helper, key, out);
	}
	const json_t *e = find_auths_entry(json_object_get(cfg, "auths"), key);
	if (e) {
		rc = creds_from_auths_entry(ctx, path, key, e, out);
		if (rc != 0) {
			if (rc < 0) {
				lks_credentials_free(out);
			}
			return rc;
		}
	}
	const char *store = lks_json_str(cfg, "credsStore");
	if (store && *store) {
		return auth_helper_get(ctx, store, key, out);
	}
	return 0;
}
