/* OCI / Docker image references: parsing, normalisation and formatting.
 *
 * Follows docker's reference grammar and normalisation (distribution/reference):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component *( "/" path-component )
 *   domain    := ( domain-name | "[" ipv6 "]" ) [ ":" port ]
 *   tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest    := "sha256:" 64 hex | "sha384:" 96 hex | "sha512:" 128 hex   (lowercase)
 * The first '/'-separated component is a domain when it contains '.' or ':', is "localhost",
 * or has an uppercase letter; otherwise the domain is docker.io. "index.docker.io" becomes
 * "docker.io"; a single-component docker.io path gets "library/". The repository path must be
 * lowercase; the full name (domain "/" path) is at most 255 characters. A bare 64-hex string
 * is rejected (it is an image ID, not a name).
 *
 *   python                     -> docker.io/library/python:latest
 *   127.0.0.1:5000/x:1         -> 127.0.0.1:5000/x:1
 *   [::1]:5000/x@sha256:<hex>  -> [::1]:5000/x@sha256:<hex>   (no implicit tag with a digest)
 */
#pragma once
#include <stdbool.h>

struct lks_ctx;

struct lks_oci_ref {
	char *domain;      /* "docker.io", "127.0.0.1:5000", "[::1]:5000"; owned */
	char *path;        /* repository path, "library/python"; owned */
	char *tag;         /* NULL when none (only possible with a digest); owned */
	char *digest;      /* NULL or "sha256:<hex>"; owned */
	bool implicit_tag; /* the tag "latest" was added by normalisation */
};

enum lks_oci_ref_form {
	LKS_OCI_REF_FULL,          /* docker.io/library/python:3.12@sha256:... */
	LKS_OCI_REF_FAMILIAR,      /* python:3.12@sha256:... (docker.io/ and library/ dropped) */
	LKS_OCI_REF_NAME,          /* docker.io/library/python */
	LKS_OCI_REF_FAMILIAR_NAME, /* python */
};

#define LKS_OCI_NAME_MAX 255
#define LKS_OCI_TAG_MAX 128

void lks_oci_ref_init(struct lks_oci_ref *r);
/* Frees the members and re-initialises; accepts NULL. */
void lks_oci_ref_free(struct lks_oci_ref *r);

/* Parse and normalise `s` into `out` (which is initialised first). On failure returns
 * -LKS_E_INVAL with "invalid reference '<s>': <what is wrong>" in ctx, and `out` is empty. */
int lks_oci_ref_parse(struct lks_ctx *ctx, const char *s, struct lks_oci_ref *out);

/* Deep copy; 0 or -ENOMEM. */
int lks_oci_ref_copy(const struct lks_oci_ref *src, struct lks_oci_ref *dst);

/* Format as a newly allocated string (NULL on allocation failure). The implicit "latest"
 * tag is included in the FULL and FAMILIAR forms. */
char *lks_oci_ref_format(const struct lks_oci_ref *r, enum lks_oci_ref_form form);

/* The host[:port] to send registry API requests to: docker.io -> registry-1.docker.io. */
const char *lks_oci_ref_api_host(const struct lks_oci_ref *r);

/* The key under which docker's config.json stores credentials for this registry:
 * "https://index.docker.io/v1/" for docker.io, the domain otherwise. */
const char *lks_oci_ref_auth_key(const struct lks_oci_ref *r);

/* True when both refs are equal field by field (implicit_tag ignored). */
bool lks_oci_ref_equal(const struct lks_oci_ref *a, const struct lks_oci_ref *b);
