/* OCI image manifests and indexes (and Docker's v2 manifests and manifest lists): one parser
 * with one set of limits for every reader of images (the registry client's tag resolution,
 * imagefs, the image reader of diff and verify).
 *
 * The document is an index when it has a "manifests" array or an index media type, else an
 * image manifest. Every descriptor must be an object with a valid digest ("sha256:<hex>");
 * an index lists at most LKS_MANIFEST_MAX_ENTRIES, a manifest at most LKS_MANIFEST_MAX_LAYERS
 * layers (-LKS_E_TOOBIG beyond); anything else malformed is -LKS_E_PARSE, with "WHAT: ..." in
 * the ctx. Strings are borrowed from the JSON document, which must outlive the result.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct lks_ctx;

#define LKS_MANIFEST_MAX_ENTRIES 1024 /* manifests in one index */
#define LKS_MANIFEST_MAX_LAYERS 1024  /* layers in one image manifest */

#define LKS_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define LKS_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define LKS_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct lks_desc {
	const char *digest;              /* valid */
	const char *media_type;          /* NULL when absent */
	int64_t size;                    /* -1 when absent */
	const char *os, *arch, *variant; /* the descriptor's platform; NULL when absent */
	bool attestation;   /* a BuildKit attestation manifest (annotation, or unknown/unknown) */
	const json_t *json; /* the descriptor (annotations ...) */
};

struct lks_manifest {
	bool index;             /* entries are manifests; else an image manifest */
	const char *media_type; /* as the document says it, NULL when absent */
	struct lks_desc config; /* image manifest: its config */
	struct lks_desc *v;     /* index: the manifests; image manifest: the layers */
	size_t n;
};

/* Parse doc; `what` names it in messages ("manifest of 'python:3.12'"). m is initialised by
 * this call and empty on failure. */
int lks_manifest_parse(struct lks_ctx *ctx, const json_t *doc, const char *what,
                       struct lks_manifest *m);
void lks_manifest_free(struct lks_manifest *m);
/* The platform of d as "os/arch[/variant]" ("?" for a missing part); NULL on ENOMEM. */
char *lks_desc_platform(const struct lks_desc *d);
