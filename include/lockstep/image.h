/* Container image sources for the verifier: read an image without a daemon.
 *
 * Source strings:
 *   oci:DIR[:REF]            OCI image layout directory (REF: org.opencontainers.image.ref.name)
 *   oci-archive:FILE[:REF]   the same layout inside a tar
 *   docker-archive:FILE      `docker save` output (old layout and the Docker >= 25 OCI one)
 *   docker://REF             a registry reference (host/name:tag or @sha256:...), fetched
 *                            through the registry client (registry.h) with its auth
 *
 * Every blob is verified against its digest while it is read: manifests and configs before
 * they are parsed, layer blobs as they stream (a mismatch is a hard -LKS_E_DIGEST error when
 * the stream ends). Image indexes are expanded to one lks_image per platform; attestation
 * manifests are listed, not loaded as images. Index nesting is capped (LKS_IMAGE_MAX_NEST).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "lockstep/digest.h"

struct lks_ctx;

#define LKS_IMAGE_MAX_NEST 8
#define LKS_IMAGE_MAX_LAYERS 1024
#define LKS_IMAGE_MAX_PLATFORMS 64

enum lks_image_kind {
	LKS_IMAGE_OCI_DIR,
	LKS_IMAGE_OCI_ARCHIVE,
	LKS_IMAGE_DOCKER_ARCHIVE,
	LKS_IMAGE_REGISTRY,
};

struct lks_oci_ref;

struct lks_image_src {
	enum lks_image_kind kind;
	char *path;               /* directory or archive file */
	char *ref;                /* NULL when none given */
	struct lks_oci_ref *oref; /* LKS_IMAGE_REGISTRY: the parsed reference (owned) */
};

struct lks_image_layer {
	char *digest;     /* descriptor digest (compressed bytes); NULL for old docker-archive */
	char *media_type; /* may be NULL */
	int64_t size;     /* -1 when unknown */
	char *diff_id;    /* from the config's rootfs.diff_ids, may be NULL */
	char *member;     /* path of the blob inside the source */
};

struct lks_image {
	char *platform;        /* "linux/amd64[/v8]", "" when unknown */
	char *manifest_digest; /* NULL for old docker-archive */
	char *config_digest;
	json_t *manifest; /* owned; NULL for old docker-archive */
	json_t *desc;     /* descriptor that named the manifest (owned), NULL for docker-archive */
	json_t *config;   /* owned */
	struct lks_image_layer *layers;
	size_t n_layers;
};

struct lks_image_set {
	struct lks_image_src src;
	json_t *index; /* the layout's index.json (owned), NULL for docker-archive and registry */
	json_t *top;   /* the outermost image index the images come from (owned): a nested
	                * index, a registry index, else index.json; NULL for docker-archive
	                * and a registry tag naming a single manifest */
	struct lks_image *images;
	size_t n_images;
	char **attestations; /* "platform-less" attestation manifest digests, reported only */
	size_t n_attestations;
};

/* Parse "oci:DIR[:REF]" etc. into src (fields owned by src). -LKS_E_INVAL on a bad string. */
int lks_image_src_parse(struct lks_ctx *ctx, const char *s, struct lks_image_src *src);
void lks_image_src_free(struct lks_image_src *src);

/* Open a source and load every image it names. set is initialised by this call and left
 * empty on failure. */
int lks_image_set_load(struct lks_ctx *ctx, const char *s, struct lks_image_set *set);
void lks_image_set_free(struct lks_image_set *set);

/* A blob being read. */
struct lks_blob;

/* Open the blob at `member` (a path inside the source) and verify it against `expect` (a
 * digest; NULL: no verification) while it is read. */
int lks_blob_open(struct lks_ctx *ctx, const struct lks_image_src *src, const char *member,
                  const char *expect, struct lks_blob **out);
/* Read up to n bytes: count, 0 at the end (digest verified), negative on error. */
long lks_blob_read(struct lks_blob *b, void *buf, size_t n);
/* Read and hash the rest of the blob, then verify it. 0 or a negative error. */
int lks_blob_finish(struct lks_blob *b);
/* First bytes of the blob (compression header), up to 16. */
size_t lks_blob_head(const struct lks_blob *b, const unsigned char **p);
uint64_t lks_blob_bytes(const struct lks_blob *b);
void lks_blob_close(struct lks_blob *b);

/* Whole small blob into memory (cap `max`), verified; the caller frees *data. */
int lks_blob_load(struct lks_ctx *ctx, const struct lks_image_src *src, const char *member,
                  const char *expect, size_t max, char **data, size_t *len);

/* A context for another thread: the settings of src (borrowed: insecure hosts, cache dir,
 * fetch hook), no shared handles. Release it with lks_image_ctx_release, never
 * lks_ctx_free. */
void lks_image_ctx_derive(struct lks_ctx *dst, const struct lks_ctx *src);
void lks_image_ctx_release(struct lks_ctx *c);

/* A member name from an untrusted manifest (docker-archive manifest.json, a layout): relative,
 * at most 200 bytes, no ".." and no empty component. Checked when a source is loaded and again
 * when a blob is opened. */
bool lks_image_member_safe(const char *member);

/* One member an archive audit looks for. */
struct lks_image_member {
	const char *name;   /* path inside the archive (borrowed) */
	const char *digest; /* hashed and compared when not NULL */
	unsigned seen;      /* set by the audit */
};

/* Read an archive source (oci-archive, docker-archive; 0 for the others) once, end to end:
 * each of the n members must be there exactly once, as a regular file (tar extraction keeps the
 * last of two copies, lockstep would read the first: -LKS_E_UNSAFE), and those with a digest
 * must match it (-LKS_E_DIGEST). Sorts m. */
int lks_image_archive_audit(struct lks_ctx *ctx, const struct lks_image_src *src,
                            struct lks_image_member *m, size_t n);

/* "blobs/sha256/<hex>" for a digest; NULL when the digest is malformed. Caller frees. */
char *lks_image_blob_path(const char *digest);
