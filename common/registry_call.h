/* Internal: batches of authenticated registry API requests.
 *
 * A reg_call is one GET/HEAD on /v2/<repository>/<kind>/<reference>. registry_run() sends a
 * batch through lks_http_run, answers 401 challenges (Basic or Bearer, tokens fetched in one
 * batch and cached), re-sends the challenged calls once, and maps each outcome to rc + err.
 *
 * A call goes to the places registries.conf and --registry-mirror give for its image
 * (regconf.h): the allowed mirrors in order, then the location. A source that fails (cannot
 * be reached, answers an error, refuses the credentials, is blocked) hands the call to the
 * next one in the same batch; the last one's failure is the call's, with the others' named.
 * Credentials and tokens are per physical host: a mirror never sees the upstream's. A mirror
 * that could not be reached is skipped for the rest of the process.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/ctx.h" /* http.h needs struct lks_http declared first */
#include "lockstep/http.h"
#include "lockstep/regconf.h"

struct lks_ctx;
struct lks_oci_ref;

struct reg_call {
	/* input */
	const struct lks_oci_ref *ref; /* the image as named (registry + repository) */
	enum lks_http_method method;
	const char *kind;     /* "manifests" or "blobs" (static) */
	char *reference;      /* tag or digest */
	bool manifest_accept; /* send the four manifest media types */
	size_t max_body;
	int (*sink)(void *opaque, const void *p, size_t n);
	void *sink_opaque;
	char *scope; /* Bearer scope from the last challenge, owned */
	/* where: mirrors and the location registries.conf / --registry-mirror give, in order */
	struct lks_pull_source *src;
	size_t n_src;
	size_t si; /* the source in use */
	char *url; /* of the request to src[si] */
	/* output */
	struct lks_http_req req;
	int rc;          /* 0 for a 2xx answer, negative otherwise */
	char err[1024];  /* what went wrong, naming the registry; never a secret */
	char tried[512]; /* "; mirror 'm' of 'docker.io': not found": earlier sources' failures */
	size_t sunk;     /* body bytes that reached the sink (no fallback after one) */
	int tries;       /* requests sent to src[si] (a 401 is answered once) */
	bool started;
	bool done;
	bool final; /* failed on its last source: rc and err stand */
};

/* kind is "manifests" or "blobs"; reference a tag or digest. Looks up the sources for ref
 * (registries.conf, --registry-mirror): a configuration error is returned with its detail in
 * ctx. Returns 0, -ENOMEM or that error. */
int reg_call_init(struct lks_ctx *ctx, struct reg_call *c, const struct lks_oci_ref *ref,
                  enum lks_http_method m, const char *kind, const char *reference, size_t max_body);
void reg_call_free(struct reg_call *c);

/* Where the call's answer came from (or its last attempt went): "registry 'docker.io'",
 * "mirror '127.0.0.1:5001' of 'docker.io'". */
const char *reg_call_where(const struct reg_call *c);

/* Start at source si (the one an earlier call of the same image answered from). */
void reg_call_start_at(struct reg_call *c, size_t si);

/* Run the calls; returns 0 (check each c->rc). */
int registry_run(struct lks_ctx *ctx, struct reg_call **calls, size_t n);

/* Forget learned per-host auth (tests). */
void registry_auth_reset(void);
