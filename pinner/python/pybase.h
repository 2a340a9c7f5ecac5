/* The Python interpreter(s) a Dockerfile stage runs (internal to pinner/): the platforms of its
 * pinned base image, and the Python version from each platform's image config (Env
 * PYTHON_VERSION, as the official python images set it), or an override. */
#pragma once
#include <stddef.h>

struct lks_ctx;
struct lks_dockerfile;
struct lks_lock;

#define PYBASE_MAX_PLATFORMS 16

struct pybase_target {
	char platform[64]; /* "linux/amd64", "linux/arm64/v8" */
	char machine[32];  /* platform_machine: "x86_64", "aarch64" */
	char python[32];   /* "3.11.9" */
};

struct pybase {
	char image[512]; /* the base image as written, for messages */
	struct pybase_target t[PYBASE_MAX_PLATFORMS];
	size_t n;
};

/* The targets of the stage holding instruction `instr` of df (file `file`), whose base image
 * the image pinner has pinned into lock. python_version overrides the image's (may be NULL).
 * Configs are fetched through the registry client once per platform manifest and cached.
 * Errors name the image and say to give --python-version when the version is unknown. */
int pybase_targets(struct lks_ctx *ctx, const struct lks_dockerfile *df, const char *file,
                   size_t instr, struct lks_lock *lock, const char *python_version,
                   struct pybase *out);
