/* The apt configuration a base image's own apt would use, read from the image through the
 * registry (imagefs.h): its sources, preferences, native architecture, keyrings and release.
 *
 * Files read, in apt's order: /etc/apt/sources.list, /etc/apt/sources.list.d/ *.list and
 * *.sources (by name), /etc/apt/preferences, /etc/apt/preferences.d/ (files without an
 * extension or ending in .pref, by name), /etc/apt/trusted.gpg, /etc/apt/trusted.gpg.d/ *,
 * /usr/share/keyrings/ *, /etc/os-release (else /usr/lib/os-release), /var/lib/dpkg/arch and
 * /etc/dpkg/arch (foreign architectures), and any keyring a source names with signed-by.
 * The struct feeds the existing APIs directly: `sources` to lks_apt_index_load_lists,
 * `prefs` to lks_apt_policy_init with `arch` as the native architecture, `archs` as the
 * architectures to load.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "pinner/apt/apt_sources.h"

struct lks_ctx;
struct lks_imagefs_opts;

/* A keyring file of the image (binary .gpg or armored .asc). */
struct lks_apt_keyring {
	char *path; /* inside the image: "/usr/share/keyrings/debian-archive-keyring.gpg" */
	char *data;
	size_t len;
};

struct lks_apt_config {
	struct lks_apt_sources sources; /* image's sources, then --apt-source additions */
	struct lks_apt_prefs prefs;
	char *arch;   /* dpkg native architecture of the platform: "amd64", "arm64", "armhf" */
	char **archs; /* NULL-terminated: arch first, then the image's foreign architectures */
	char *os_id;  /* os-release ID: "debian", "ubuntu" (NULL when absent) */
	char *os_version_id;   /* "12" (may be NULL) */
	char *codename;        /* VERSION_CODENAME (or UBUNTU_CODENAME): "bookworm" (may be NULL) */
	char *image_digest;    /* what was read: the reference's digest */
	char *manifest_digest; /* the platform manifest */
	char *platform;        /* "linux/arm64/v8" */
	struct lks_apt_keyring *keyrings; /* trusted.gpg(.d), /usr/share/keyrings, signed-by */
	size_t n_keyrings;
	bool from_cache; /* read from the cache, no network used */
};

void lks_apt_config_init(struct lks_apt_config *c);
void lks_apt_config_free(struct lks_apt_config *c);

/* Read the apt configuration of `image_ref` (with a digest, so it can be cached) for
 * `platform` ("linux/amd64", NULL: see lks_imagefs_read). c is initialised by this call.
 * opts (may be NULL) passes caps and the cache hooks (lks_cache_get/lks_cache_put).
 * Errors: -LKS_E_UNSUPPORTED when the image has no apt ("image 'x' has no apt:
 * /usr/bin/dpkg not found" / "... no apt sources"), -LKS_E_UNSUPPORTED for a platform
 * without a dpkg architecture, the parse errors of the sources/preferences files naming the
 * file in the image, and those of lks_imagefs_read. */
int lks_apt_image_config(struct lks_ctx *ctx, const char *image_ref, const char *platform,
                         const struct lks_imagefs_opts *opts, struct lks_apt_config *c);

/* A file the Dockerfile puts into the image before an apt command runs (`echo ... >
 * /etc/apt/sources.list.d/x.list`, `COPY x.gpg /etc/apt/keyrings/`): it replaces the image's
 * file of that path (append: it is added to the end of it). Borrowed. */
struct lks_apt_file {
	const char *path; /* absolute, normalised */
	const char *data;
	size_t len;
	bool append;
};

/* lks_apt_image_config with files laid over the image's, in order, before anything is read
 * from them: sources, preferences and keyrings (also a signed-by keyring at any path). */
int lks_apt_image_config_with(struct lks_ctx *ctx, const char *image_ref, const char *platform,
                              const struct lks_imagefs_opts *opts, const struct lks_apt_file *files,
                              size_t n_files, struct lks_apt_config *c);

/* Add a user source (--apt-source): a one-line "deb [opts] URI SUITE COMP..." or a deb822
 * stanza (text containing "URIs:"). A source with the same URI and suite as one already in
 * c replaces it (its components and options with it); others are appended. */
int lks_apt_config_add_source(struct lks_ctx *ctx, struct lks_apt_config *c, const char *text);

/* The keyring a source's InRelease is checked with, as apt would: its signed-by file (a path
 * in the image, or an inline key block) when given, else NULL meaning "all of trusted.gpg and
 * trusted.gpg.d". */
const struct lks_apt_keyring *lks_apt_config_keyring(const struct lks_apt_config *c,
                                                     const struct lks_apt_source *src);

/* dpkg architecture of an OCI platform (arch "arm", variant "v7" -> "armhf"), or NULL. */
const char *lks_apt_dpkg_arch(const char *oci_arch, const char *variant);
