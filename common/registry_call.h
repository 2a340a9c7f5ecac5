/* Internal: batches of authenticated registry API requests.
 *
 * A reg_call is one GET/HEAD on /v2/<repository>/<kind>/<reference>. registry_run() sends a
 * batch through lks_http_run, answers 401 challenges (Basic or Bearer, tokens fetched in one
 * batch and cached), re-sends the challenged calls once, and maps each outcome to rc + err.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/ctx.h" /* http.h needs struct lks_http declared first */
#include "lockstep/http.h"

struct lks_ctx;
struct lks_oci_ref;

struct reg_call {
	/* input */
	const struct lks_oci_ref *ref; /* registry + repository */
	enum lks_http_method method;
	char *url;
	bool manifest_accept; /* send the four manifest media types */
	size_t max_body;
	int (*sink)(void *opaque, const void *p, size_t n);
	void *sink_opaque;
	char *scope; /* Bearer scope from the last challenge, owned */
	/* output */
	struct lks_http_req req;
	int rc;        /* 0 for a 2xx answer, negative otherwise */
	char err[768]; /* what went wrong, naming the registry; never a secret */
	bool started;
	bool done;
};

/* kind is "manifests" or "blobs"; reference a tag or digest. Returns 0 or -ENOMEM. */
int reg_call_init(struct lks_ctx *ctx, struct reg_call *c, const struct lks_oci_ref *ref,
                  enum lks_http_method m, const char *kind, const char *reference, size_t max_body);
void reg_call_free(struct reg_call *c);

/* Run the calls; returns 0 (check each c->rc). */
int registry_run(struct lks_ctx *ctx, struct reg_call **calls, size_t n);

/* Forget learned per-host auth (tests). */
void registry_auth_reset(void);
