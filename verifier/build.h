/* Builder drivers for `lockstep verify`: how to build a Dockerfile from scratch with a given
 * builder and leave the image as an OCI layout directory.
 *
 * A driver only plans: it turns a request into the commands to run (argv vectors, run in
 * order by the caller; see lks_verify_run). Drivers: buildah, podman, docker (buildx) and
 * command (a user template run with /bin/sh -c). Nothing here starts a process except
 * lks_build_detect, which asks each builder for its version, and lks_build_storage_probe.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;

struct lks_build_req {
	const char *context;           /* build context directory */
	const char *dockerfile;        /* the Dockerfile */
	const char *out;               /* OCI layout directory the build must leave */
	const char *work;              /* private scratch directory (builder storage) */
	const char *tag;               /* image name inside the builder's storage */
	const char *const *build_args; /* "NAME=VALUE" */
	size_t n_build_args;
	const char *target;    /* stage, NULL: the last */
	const char *platform;  /* "linux/arm64", NULL: the host's */
	const char *isolation; /* buildah/podman --isolation, NULL: chroot */
	const char *storage;   /* buildah/podman --storage-driver (overlay, vfs), NULL: vfs */
	const char *template;  /* command driver: the build command template */
	long long epoch;       /* SOURCE_DATE_EPOCH */
	bool tls_verify_off;   /* base images from plain-HTTP registries */
	/* the registries configuration lockstep uses, written out when --registry-mirror adds to
	 * what the builder would read itself (NULL otherwise): buildah gets --registries-conf and
	 * --registries-conf-dir (an empty directory), podman and the command driver
	 * CONTAINERS_REGISTRIES_CONF (verify.c) */
	const char *registries_conf;
	const char *registries_conf_dir;
};

/* One command: a NULL-terminated argv (owned). */
struct lks_build_cmd {
	char **argv;
	size_t n, cap;
};

void lks_build_cmd_init(struct lks_build_cmd *c);
void lks_build_cmd_free(struct lks_build_cmd *c);
/* Append a copy of s (NULL-termination kept). 0 or -ENOMEM. */
int lks_build_cmd_push(struct lks_build_cmd *c, const char *s);

#define LKS_BUILD_MAX_CMDS 4

struct lks_builder {
	const char *name;
	/* Fill cmds[0..*n) (each initialised here; free them even on failure). */
	int (*plan)(struct lks_ctx *ctx, const struct lks_build_req *req,
	            struct lks_build_cmd cmds[LKS_BUILD_MAX_CMDS], size_t *n);
	const char *const *probe; /* argv whose success means the builder is usable */
};

/* The driver called name ("buildah", "podman", "docker", "command"); NULL when unknown. */
const struct lks_builder *lks_builder_find(const char *name);
/* Names of every driver, NULL-terminated. */
const char *const *lks_builder_names(void);
/* The first installed builder (buildah, podman, docker buildx); -LKS_E_NOTFOUND when none. */
int lks_build_detect(struct lks_ctx *ctx, const struct lks_builder **out);

/* The storage driver buildah/podman builds use: "overlay" when the builder can set up
 * overlay storage under work (a scratch directory, removed again here), else "vfs", which
 * works everywhere but copies every layer. *driver is NULL for the other builders. Starts
 * the builder once; its failure only means "vfs". */
int lks_build_storage_probe(struct lks_ctx *ctx, const struct lks_builder *b, const char *work,
                            const char **driver);

/* Expand a build command template: {context}, {dockerfile}, {out}, {tag}, {epoch}, {work}
 * (a private scratch directory), {platform} and {target} become the request's values
 * quoted for /bin/sh; "{{" and "}}" are literal braces. An unknown or unterminated placeholder, or
 * a template without {out}, is -LKS_E_INVAL with a detail naming it. *out is the caller's to free.
 */
int lks_build_template_expand(struct lks_ctx *ctx, const char *tmpl,
                              const struct lks_build_req *req, char **out);
