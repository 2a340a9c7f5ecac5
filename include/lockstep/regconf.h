/* Where image pulls go: containers-registries.conf(5) and --registry-mirror.
 *
 * lockstep reads the registry configuration buildah, podman and skopeo read, the same way:
 * $CONTAINERS_REGISTRIES_CONF (else $REGISTRIES_CONFIG_PATH), else
 * $HOME/.config/containers/registries.conf when it exists, else
 * /etc/containers/registries.conf; then the *.conf drop-ins of /etc/containers/registries.conf.d
 * and $HOME/.config/containers/registries.conf.d in name order (only the user directory when
 * the user file was read), each replacing the [[registry]] tables with the same prefix.
 * Version 1 files ([registries.search/insecure/block]) are converted as containers/image does.
 *
 * For an image name, the [[registry]] with the longest matching prefix decides (a prefix
 * matches at a '/', ':' or '@' boundary; "*.example.com" matches any subdomain): its mirrors in
 * order (those pull-from-mirror / mirror-by-digest-only allow for a tag or a digest request),
 * then its location (the prefix rewritten to it), or the name itself. A blocked registry is
 * refused. --registry-mirror REGISTRY=URL (or $LOCKSTEP_REGISTRY_MIRROR) adds mirrors in front
 * of those the files give for REGISTRY.
 *
 * The configuration is loaded on first use, once per context (thread-safe: contexts derived
 * for threads share it).
 */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/oci_ref.h"

struct lks_ctx;

#define LKS_REGCONF_ENV_MIRROR "LOCKSTEP_REGISTRY_MIRROR"

enum lks_pull_from {
	LKS_PULL_ALL,         /* "all" or unset */
	LKS_PULL_DIGEST_ONLY, /* "digest-only" */
	LKS_PULL_TAG_ONLY,    /* "tag-only" */
};

struct lks_regconf_endpoint {
	char *location;          /* host[:port][/namespace...]; "" for a wildcard prefix's own */
	bool insecure;           /* plain HTTP allowed (TLS errors are not ignored) */
	enum lks_pull_from pull; /* mirrors only */
	char *origin;            /* "FILE:LINE" or "--registry-mirror" / the variable */
};

struct lks_regconf_registry {
	char *prefix;
	struct lks_regconf_endpoint primary;
	struct lks_regconf_endpoint *mirrors;
	size_t n_mirrors;
	bool blocked;
	bool mirror_by_digest_only;
};

struct lks_regconf {
	pthread_mutex_t lock;
	bool loaded;
	int load_rc;    /* the outcome of loading, repeated to every caller */
	char *load_err; /* its detail */
	char *sources;  /* the files read, for messages ("" when none) */
	struct lks_regconf_registry *regs;
	size_t n_regs;
	/* kept for builders that read registries.conf themselves (lks_regconf_write) */
	char **search; /* unqualified-search-registries */
	size_t n_search;
	bool search_set;
	char *short_name_mode;
	char **cred_helpers;
	size_t n_cred_helpers;
	bool cred_helpers_set;
	char **alias_names, **alias_values;
	size_t n_aliases;
	/* --registry-mirror values, in order; $LOCKSTEP_REGISTRY_MIRROR when none */
	char **options;
	size_t n_options;
};

/* One place to ask for an image, in the order to try them. */
struct lks_pull_source {
	struct lks_oci_ref ref; /* physical: domain and path (no tag or digest) */
	bool mirror;            /* false for the registry's own location */
	bool insecure;
	char *blocked; /* non-NULL: refused, why ("registry 'x' is blocked in ...") */
	char *label;   /* "registry 'docker.io'", "mirror '127.0.0.1:5001' of 'docker.io'" */
};

void lks_regconf_init(struct lks_regconf *c);
void lks_regconf_free(struct lks_regconf *c);

/* Validate and keep a --registry-mirror value: "REGISTRY=URL", or "URL" for docker.io.
 * URL: [http://|https://]host[:port][/namespace...]; http:// (and loopback hosts) marks the
 * mirror insecure. -LKS_E_INVAL with a message naming the value when malformed. */
int lks_regconf_add_mirror(struct lks_ctx *ctx, const char *spec);

/* The configuration in effect (loaded on first call): 0, or the loading error (a file that
 * cannot be read, "FILE:LINE: ..." for bad contents, a bad $LOCKSTEP_REGISTRY_MIRROR) with
 * its detail in ctx. *out may be NULL when ctx has no configuration slot (no mirrors then). */
int lks_regconf_get(struct lks_ctx *ctx, const struct lks_regconf **out);

/* Load from explicit paths (tests and lks_regconf_get): main file (required: missing is an
 * error; else a missing file is an empty configuration), then the drop-in directories
 * (NULL-terminated; missing ones skipped), then c->options. */
int lks_regconf_load(struct lks_ctx *ctx, struct lks_regconf *c, const char *main_path,
                     bool main_required, const char *const *dirs);

/* Parse one file's text into c (merged over what c holds, as a drop-in is). drop_in refuses
 * the version 1 format. For tests and fuzzing; lks_regconf_load calls it. */
int lks_regconf_parse(struct lks_ctx *ctx, struct lks_regconf *c, const char *name,
                      const char *data, size_t len, bool drop_in);

/* The registry entry for an image name ("docker.io/library/python"), or NULL. */
const struct lks_regconf_registry *lks_regconf_find(const struct lks_regconf *c, const char *name);

/* The places to try for ref, in order: mirrors allowed for a digest (by_digest) or a tag
 * request, then the location. Always at least one. Returns 0 or -ENOMEM/-LKS_E_INVAL (a
 * rewritten name that is not a valid reference, with ctx detail). c may be NULL. */
int lks_regconf_sources(struct lks_ctx *ctx, const struct lks_regconf *c,
                        const struct lks_oci_ref *ref, bool by_digest, struct lks_pull_source **out,
                        size_t *n);
void lks_pull_sources_free(struct lks_pull_source *s, size_t n);

/* True when the --registry-mirror option or variable adds mirrors: builders then need the
 * configuration lockstep uses written out for them (lks_regconf_write). */
bool lks_regconf_has_options(const struct lks_regconf *c);

/* The configuration as registries.conf text (version 2, everything merged) appended to out. */
struct lks_buf;
int lks_regconf_render(const struct lks_regconf *c, struct lks_buf *out);

/* Write the configuration in effect as one registries.conf (version 2, drop-ins merged,
 * option mirrors in place) to path, atomically. */
int lks_regconf_write(struct lks_ctx *ctx, const struct lks_regconf *c, const char *path);
