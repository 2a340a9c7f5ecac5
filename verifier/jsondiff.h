/* Structural diff of two JSON documents (config, manifest) into lks_json_diff entries. */
#pragma once
#include <jansson.h>
#include "lockstep/imgdiff.h"

struct jsondiff {
	const struct lks_diff_opts *opts;
	const char *const *derived; /* path prefixes that mirror layer differences */
	struct lks_json_diff *v;
	size_t n;
};

/* Append the differences between a and b, paths prefixed by `root` ("" or "manifest"). */
int jsondiff_run(struct jsondiff *d, const json_t *a, const json_t *b, const char *root);
void jsondiff_free_items(struct lks_json_diff *v, size_t n);
