/* Registry authentication: WWW-Authenticate challenges, docker credentials, token cache.
 *
 * Secrets (passwords, identity tokens, bearer tokens) never appear in error messages, warnings,
 * the cache or the lock file: error details name the registry, the helper or the file only.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct lks_ctx;

enum lks_auth_scheme { LKS_AUTH_NONE, LKS_AUTH_BASIC, LKS_AUTH_BEARER };

/* One parsed challenge from a WWW-Authenticate header. Strings are owned, NULL when absent. */
struct lks_auth_challenge {
	enum lks_auth_scheme scheme;
	char *realm;
	char *service;
	char *scope;
	char *error; /* e.g. "insufficient_scope" */
};

void lks_auth_challenge_init(struct lks_auth_challenge *c);
void lks_auth_challenge_free(struct lks_auth_challenge *c);

/* Parse a WWW-Authenticate value (RFC 7235: several challenges, quoted strings with escapes
 * and commas, any case of scheme and parameter names). Picks Bearer when offered, else Basic.
 * Returns 0, or -LKS_E_PARSE when no Basic/Bearer challenge is found (ctx detail set). */
int lks_auth_parse_challenge(struct lks_ctx *ctx, const char *header,
                             struct lks_auth_challenge *out);

/* Credentials for a registry. All owned; NULL when absent. */
struct lks_credentials {
	char *username;
	char *password;
	char *identity_token; /* OAuth2 refresh token ("identitytoken", or helper "<token>" user) */
};

void lks_credentials_init(struct lks_credentials *c);
/* Frees and wipes the secrets. */
void lks_credentials_free(struct lks_credentials *c);

/* Look up credentials for `key` (lks_oci_ref_auth_key(): "https://index.docker.io/v1/" or
 * "host[:port]") in $DOCKER_CONFIG/config.json or ~/.docker/config.json: credHelpers.<key>
 * (runs docker-credential-<name> get), then auths.<key> (auth = base64 user:pass, or
 * username/password, identitytoken), then credsStore. auths keys are also matched by host name
 * ("https://host/v1/", "http://host"). Returns 1 when found, 0 when none, negative on error
 * (unreadable or malformed config, failing helper). */
int lks_auth_lookup(struct lks_ctx *ctx, const char *key, struct lks_credentials *out);

/* Base64 of "user:pass" as an "Authorization: Basic ..." header line; NULL on ENOMEM. */
char *lks_auth_basic_header(const struct lks_credentials *c);

/* Process-wide bearer token cache keyed by realm + service + scope (thread-safe).
 * lks_auth_token_get returns a copy of a valid token (freed by the caller) or NULL. */
char *lks_auth_token_get(const char *realm, const char *service, const char *scope);
/* Store a token valid for `expires_in` seconds (<= 0: the spec's default of 60). */
int lks_auth_token_put(const char *realm, const char *service, const char *scope, const char *token,
                       long expires_in);
void lks_auth_token_cache_clear(void);

/* Base64 encode/decode (standard alphabet, padding). Decode returns -LKS_E_PARSE on bad input.
 * Both return malloc'd NUL-terminated buffers. */
char *lks_base64_encode(const void *p, size_t n);
int lks_base64_decode(const char *s, char **out, size_t *out_len);
