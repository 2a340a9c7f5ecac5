/* What apt would see in a stage's base image, per platform: its configuration (sources,
 * preferences, native architecture, keyrings) with the user's --apt-source lines, and the
 * fetched index. Internal to the apt pinner. Indexes are shared between images and platforms
 * that use the same sources and architectures (a pool, freed at the end of the run).
 */
#pragma once
#include <stddef.h>
#include "pinner/apt/apt_index.h"
#include "pinner/apt/apt_sources.h"

struct lks_ctx;
struct lks_lock_image;
struct lks_aptpin_opts;
struct lks_apt_file;

struct apt_env_plat {
	char *platform; /* "linux/arm64/v8" */
	char *arch;     /* dpkg native architecture: "arm64" */
	struct lks_apt_prefs prefs;
	const struct lks_apt_index *idx; /* owned by the pool */
};

struct apt_env {
	char *image; /* reference with digest */
	char *want;  /* the FROM --platform it was made for, or NULL */
	char *files; /* digest of the files laid over the image ("" when none) */
	struct apt_env_plat *v;
	size_t n;
};

struct apt_env_pool;

struct apt_env_pool *apt_env_pool_new(const struct lks_aptpin_opts *o);
void apt_env_pool_free(struct apt_env_pool *p);
/* The environment of image (pinned, with digest) for each platform of its lock entry img
 * (only `platform` when not NULL, e.g. "linux/amd64"), with the NULL-terminated extra
 * architectures loaded too (for NAME:ARCH words), and the files the Dockerfile added before
 * the command laid over the image's (lks_apt_image_config_with). Owned by the pool. */
int apt_env_get(struct lks_ctx *ctx, struct apt_env_pool *p, const char *image,
                const struct lks_lock_image *img, const char *platform, const char *const *extra,
                const struct lks_apt_file *files, size_t n_files, struct apt_env **out);
