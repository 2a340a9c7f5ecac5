/* OCI distribution (registry) client: resolve tags to digests, fetch manifests and blobs.
 *
 * Speaks the OCI distribution API (/v2/) over lks_http_run, so many references resolve in
 * parallel (every phase is one batch of transfers). Authentication is automatic: anonymous or
 * credentialed Bearer tokens (Docker Hub flow) and Basic, with credentials from docker's
 * config.json and credential helpers (see auth.h). Plain http:// is used for hosts that
 * lks_host_is_insecure_ok() allows (loopback, --insecure-registry), https:// otherwise.
 *
 * Everything downloaded is verified against its digest before use: manifests against the
 * digest asked for and against Docker-Content-Digest, blobs against their digest while
 * streaming. Caps: manifests 4 MiB, image configs 8 MiB, 1024 platforms per index.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/digest.h"

struct lks_ctx;
struct lks_buf;
struct lks_oci_ref;

#define LKS_REGISTRY_MANIFEST_MAX ((size_t)4 << 20)
#define LKS_REGISTRY_CONFIG_MAX ((size_t)8 << 20)

/* One platform of an image: the per-platform manifest and its config's creation time. */
struct lks_image_platform {
	char *os;
	char *arch;
	char *variant; /* NULL when none */
	char *digest;  /* manifest digest for this platform */
	char *created; /* config "created" as published (RFC 3339), NULL when absent */
	char *source;  /* config label org.opencontainers.image.source (a URL), or NULL */
};

/* The outcome of resolving one reference. All strings owned; NULL when absent. */
struct lks_image_resolution {
	int rc;           /* 0, or the negative error for this reference */
	char *error;      /* detail when rc < 0 ("cannot resolve 'x': ...") */
	char *registry;   /* domain as in the reference, "docker.io" */
	char *repository; /* "library/python" */
	char *tag;        /* NULL when the reference had only a digest */
	char *digest;     /* what to pin: the index digest for multi-platform images */
	char *media_type; /* of the pinned manifest */
	char *created;    /* newest platform creation time (published_at) */
	char *source;     /* the first platform's org.opencontainers.image.source label */
	struct lks_image_platform *platforms; /* attestations and unknown/unknown skipped */
	size_t n_platforms;
	/* For a reference with both tag and digest: the tag now points elsewhere (tag_digest,
	 * NULL when the tag no longer exists). The digest is still what is pinned. */
	bool tag_moved;
	char *tag_digest;
};

void lks_image_resolution_init(struct lks_image_resolution *r);
void lks_image_resolution_free(struct lks_image_resolution *r);

/* Resolve n references in parallel; out[0..n-1] are initialised and filled, each with its
 * own rc/error so one bad image does not hide the others. Returns 0 when all resolved, else
 * the first failing reference's rc with its detail in ctx.
 * Errors: -LKS_E_NOTFOUND (tag or digest unknown), -LKS_E_AUTH (401/403 after
 * authenticating, missing credentials), -LKS_E_DIGEST (content does not match its digest),
 * -LKS_E_NET/-LKS_E_TIMEOUT (registry unreachable), -LKS_E_TOOBIG, -LKS_E_PARSE,
 * -LKS_E_UNSUPPORTED (schema 1 manifests). */
int lks_registry_resolve(struct lks_ctx *ctx, const struct lks_oci_ref *const *refs, size_t n,
                         struct lks_image_resolution *out);

/* Stream blob `digest` of repository `repo` (its tag/digest are ignored) to sink, verifying
 * sha256 as bytes arrive. Returns 0, -LKS_E_DIGEST at the end on mismatch (the sink has then
 * seen bad bytes: the caller must discard them), -LKS_E_NOTFOUND, a sink's non-zero return
 * as -ECANCELED, or a transport/auth error. */
int lks_registry_blob(struct lks_ctx *ctx, const struct lks_oci_ref *repo, const char *digest,
                      int (*sink)(void *opaque, const void *p, size_t n), void *opaque);

/* Fetch a blob into memory (configs and the like), capped at max bytes (0: 8 MiB), verified. */
int lks_registry_blob_mem(struct lks_ctx *ctx, const struct lks_oci_ref *repo, const char *digest,
                          size_t max, struct lks_buf *out);

/* Fetch the manifest `reference` (a tag or a digest; NULL: the ref's digest, else its tag)
 * into out (4 MiB cap), verified; media_type (may be NULL) and digest are set. */
int lks_registry_manifest(struct lks_ctx *ctx, const struct lks_oci_ref *repo,
                          const char *reference, struct lks_buf *out, char **media_type,
                          char digest[static LKS_DIGEST_LEN + 1]);

/* A blob as a pull stream (for readers such as the archive reader): a thread fetches it with
 * lks_registry_blob (its own HTTP handle; settings copied from ctx) into a socket. read gives
 * bytes, 0 at the end once the whole blob arrived and matched its digest, or a negative error
 * (-LKS_E_DIGEST, transport, auth), sticky. close stops an unfinished fetch; accepts NULL. */
struct lks_registry_stream;
int lks_registry_stream_open(struct lks_ctx *ctx, const struct lks_oci_ref *repo,
                             const char *digest, struct lks_registry_stream **out);
long lks_registry_stream_read(struct lks_registry_stream *s, void *buf, size_t n);
/* The same with an opaque pointer (an lks_archive_read_fn). */
long lks_registry_stream_read_cb(void *opaque, void *buf, size_t n);
void lks_registry_stream_close(struct lks_registry_stream *s);
