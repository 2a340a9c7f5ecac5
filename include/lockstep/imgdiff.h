/* Image comparison: two images, layer by layer and file by file.
 *
 * Layers are paired by position. Pairs with equal digests are identical without reading
 * them; the others are streamed (lks_layer_walk) in parallel, and every entry is compared on
 * every field (not only the first that differs). Differences are then normalised (see
 * lks_norm_*): ignored fields are moved from `fields` to `ignored` and still counted. The
 * config and the manifest are compared as JSON trees. Each differing layer is explained
 * (history entry, Dockerfile line, known causes of non-determinism).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "verifier/layerwalk.h"

struct lks_ctx;
struct lks_image;
struct lks_image_set;

enum lks_field {
	LKS_F_ADDED = 1u << 0,
	LKS_F_REMOVED = 1u << 1,
	LKS_F_TYPE = 1u << 2,
	LKS_F_CONTENT = 1u << 3,
	LKS_F_SIZE = 1u << 4,
	LKS_F_MODE = 1u << 5,
	LKS_F_UID = 1u << 6,
	LKS_F_GID = 1u << 7,
	LKS_F_UNAME = 1u << 8,
	LKS_F_GNAME = 1u << 9,
	LKS_F_MTIME = 1u << 10,
	LKS_F_ATIME = 1u << 11,
	LKS_F_CTIME = 1u << 12,
	LKS_F_XATTR = 1u << 13,
	LKS_F_LINK = 1u << 14,
	LKS_F_HLGROUP = 1u << 15,
	LKS_F_RDEV = 1u << 16,
	LKS_F_NFIELDS = 17,
};
#define LKS_F_TIMES (LKS_F_MTIME | LKS_F_ATIME | LKS_F_CTIME)

/* Name of one field bit ("content", "mode" ...), NULL for an unknown bit. */
const char *lks_field_name(uint32_t bit);

#define LKS_DIFF_MAX_FILES 10000 /* file differences kept per layer (all are counted) */
#define LKS_DIFF_MAX_CONFIG 500  /* config/manifest differences kept */

struct lks_file_diff {
	char *path;
	uint32_t fields;  /* differences that count */
	uint32_t ignored; /* differences normalised away */
	bool has_a, has_b;
	struct lks_fentry a, b; /* deep copies (group not kept) */
	const char *cause;      /* known cause (static), NULL when none */
	const char *hint;       /* fix hint (static), NULL when none */
	char *detail;           /* --deep: what differs inside the file, NULL when not looked at */
	char *text_a, *text_b;  /* small text contents (capture_text), NULL otherwise */
};

enum lks_layer_status {
	LKS_LAYER_IDENTICAL, /* same digest; local blobs hashed, not indexed (see verified) */
	LKS_LAYER_SAME,      /* read, no difference left after normalisation */
	LKS_LAYER_DIFFERS,
	LKS_LAYER_ADDED,   /* only in B */
	LKS_LAYER_REMOVED, /* only in A */
};

struct lks_layer_diff {
	size_t index;
	enum lks_layer_status status;
	bool verified; /* the blobs were read and match their digests; false for added and
	                * removed layers and for an IDENTICAL pair of registry blobs (trusted by
	                * their digest, not downloaded) */
	char *digest_a, *digest_b;
	struct lks_file_diff *files;
	size_t n_files;            /* kept (<= LKS_DIFF_MAX_FILES) */
	size_t n_files_differ;     /* files with differences that count (kept or not) */
	size_t n_files_normalized; /* files whose every difference was normalised away */
	size_t n_normalized;       /* field differences normalised away */
	size_t n_timestamps;       /* of those, timestamps */
	bool order_differs;
	size_t n_entries_a, n_entries_b;
	char filter_a[32], filter_b[32];
	char *compression;     /* verdict when contents match but blobs differ, else NULL */
	char *created_by;      /* history entry of the layer, NULL when unknown */
	int history_index;     /* -1 when unknown */
	int dockerfile_line;   /* 0 when unknown */
	char *dockerfile_text; /* the instruction, NULL when unknown */
};

struct lks_json_diff {
	char *path;        /* "config.Env", "history[3].created" */
	char *a, *b;       /* compact JSON, NULL when absent on that side */
	bool normalized;   /* ignored by the profile (timestamps) */
	bool derived;      /* follows from a layer difference (diff_ids, layer digests) */
	const char *cause; /* known cause with a hint (static), NULL when none */
};

struct lks_platform_diff {
	char *platform;
	char only_in; /* 'a' or 'b' when the platform is on one side only, 0 when paired */
	bool differs;
	struct lks_layer_diff *layers;
	size_t n_layers;
	size_t n_layers_a, n_layers_b;
	struct lks_json_diff *config; /* config differences */
	size_t n_config;
	struct lks_json_diff *manifest; /* manifest ("manifest.*") and descriptor ("descriptor.*":
	                                 * media type, annotations, platform of the index entry) */
	size_t n_manifest;
	size_t n_normalized; /* all differences normalised away, files + config */
	size_t n_timestamps;
};

struct lks_diff_result {
	struct lks_platform_diff *platforms;
	size_t n_platforms;
	size_t n_attestations_a, n_attestations_b;
	/* Top-level index differences (annotations, mediaType ...; the manifests list is compared
	 * per platform, as "descriptor.*" in lks_platform_diff.manifest). Paths "index.*". */
	struct lks_json_diff *index;
	size_t n_index;
	bool differs;
	char *a_name, *b_name;
};

struct lks_diff_opts {
	bool strict;         /* compare everything, normalise nothing */
	const char **ignore; /* path globs whose differences are ignored (counted) */
	size_t n_ignore;
	const char **profiles; /* named noise profiles, see lks_norm_profile_names */
	size_t n_profiles;
	int jobs;               /* parallel layer walks; 0 = online CPUs */
	const char *dockerfile; /* path of the Dockerfile for line mapping, NULL when none */
	const struct lks_archive_limits *limits; /* NULL: archive defaults */
	bool deep;         /* look inside differing files (lks_deep_explain) */
	bool capture_text; /* keep small differing text files for a content diff */
};

/* Compare two loaded image sets. out is initialised here; free it with
 * lks_diff_result_free even on failure. */
int lks_diff_images(struct lks_ctx *ctx, const struct lks_image_set *a,
                    const struct lks_image_set *b, const struct lks_diff_opts *o,
                    struct lks_diff_result *out);
void lks_diff_result_free(struct lks_diff_result *r);

/* Free what a layer diff owns (files, strings); the struct itself is the caller's. */
void lks_layer_diff_free(struct lks_layer_diff *ld);

/* Compare two indexed entries on every field; returns the LKS_F_* mask. */
uint32_t lks_diff_entry(const struct lks_fentry *a, const struct lks_fentry *b);
/* Compare two layer indexes into ld: every differing entry is normalised (o) and counted;
 * those with differences left are kept (up to LKS_DIFF_MAX_FILES) with their known cause. */
int lks_diff_layer_pair(const struct lks_layer_index *a, const struct lks_layer_index *b,
                        const struct lks_diff_opts *o, struct lks_layer_diff *ld);
