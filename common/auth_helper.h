/* Internal: docker credential helpers (docker-credential-<name> get). */
#pragma once

struct lks_ctx;
struct lks_credentials;

/* Run `docker-credential-<name> get` with `server` on stdin and parse {"Username","Secret"}.
 * Returns 1 with credentials, 0 when the helper has none for server, negative on failure.
 * The helper's output is never copied into error messages. */
int auth_helper_get(struct lks_ctx *ctx, const char *name, const char *server,
                    struct lks_credentials *out);
