/* Normalisation: which differences count, explicitly and always reported.
 *
 * The default profile ignores timestamps (file mtime/atime/ctime, config `created`,
 * history[].created, the image.created annotation): what a reproducibility check needs; it
 * also ignores the layout's ref.name annotation (the name given to oci:DIR:REF).
 * --strict ignores nothing. Path globs (fnmatch, '*' also matches '/', a leading '/' is
 * optional) and named noise profiles ignore every difference of the paths they match.
 * Ignored differences are moved to lks_file_diff.ignored and counted, never dropped.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;
struct lks_diff_opts;
struct lks_file_diff;

/* Names of the noise profiles, NULL-terminated. */
const char *const *lks_norm_profile_names(void);
/* Check the profile names in o: -LKS_E_INVAL naming the unknown one. */
int lks_norm_check(struct lks_ctx *ctx, const struct lks_diff_opts *o);
/* True when glob matches the normalised path. */
bool lks_norm_glob_match(const char *glob, const char *path);
/* Move the differences of fd that o ignores from fd->fields to fd->ignored. */
void lks_norm_file(const struct lks_diff_opts *o, struct lks_file_diff *fd);
/* True when a config/manifest difference at this JSON path is ignored ("history[2].created",
 * the image.created annotation, the layout's ref.name annotation). */
bool lks_norm_json_path(const struct lks_diff_opts *o, const char *path);
/* True when the JSON path names a timestamp (counted as such when normalised). */
bool lks_norm_json_is_time(const char *path);
