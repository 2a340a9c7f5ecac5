/* Which differences count: profiles, globs, and the timestamp rule. */
#include <fnmatch.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "verifier/explain.h"
#include "lockstep/imgdiff.h"
#include "verifier/normalize.h"

static const char *const profiles[] = {
    "apt", "ldconfig", "python", "shadow", "machine-id", "fontconfig", "tmp", "noise", NULL,
};

const char *const *lks_norm_profile_names(void)
{
	return profiles;
}

int lks_norm_check(struct lks_ctx *ctx, const struct lks_diff_opts *o)
{
	for (size_t i = 0; i < o->n_profiles; i++) {
		bool ok = false;
		for (size_t k = 0; profiles[k]; k++) {
			ok = ok || !strcmp(profiles[k], o->profiles[i]);
		}
		if (!ok) {
			return lks_err(ctx, -LKS_E_INVAL,
			               "unknown noise profile '%s' (known: apt, ldconfig, python, "
			               "shadow, machine-id, fontconfig, tmp, noise)",
			               o->profiles[i]);
		}
	}
	return 0;
}

bool lks_norm_glob_match(const char *glob, const char *path)
{
	while (*glob == '/') {
		glob++;
	}
	if (fnmatch(glob, path, 0) == 0) {
		return true;
	}
	/* A glob without '/' also matches a base name anywhere ("*.pyc"). */
	const char *base = strrchr(path, '/');
	return !strchr(glob, '/') && base && fnmatch(glob, base + 1, 0) == 0;
}

static bool profile_on(const struct lks_diff_opts *o, const char *name)
{
	for (size_t i = 0; i < o->n_profiles; i++) {
		if (!strcmp(o->profiles[i], name) || !strcmp(o->profiles[i], "noise")) {
			return true;
		}
	}
	return false;
}

static bool path_ignored(const struct lks_diff_opts *o, const char *path)
{
	for (size_t i = 0; i < o->n_ignore; i++) {
		if (lks_norm_glob_match(o->ignore[i], path)) {
			return true;
		}
	}
	if (!o->n_profiles) {
		return false;
	}
	size_t n;
	const struct lks_noise *t = lks_explain_table(&n);
	for (size_t i = 0; i < n; i++) {
		if (profile_on(o, t[i].profile) && lks_norm_glob_match(t[i].glob, path)) {
			return true;
		}
	}
	return false;
}

void lks_norm_file(const struct lks_diff_opts *o, struct lks_file_diff *fd)
{
	uint32_t drop = 0;
	if (path_ignored(o, fd->path)) {
		drop = fd->fields;
	} else if (!o->strict) {
		drop = fd->fields & LKS_F_TIMES;
	}
	fd->fields &= ~drop;
	fd->ignored |= drop;
}

bool lks_norm_json_is_time(const char *path)
{
	const char *last = strrchr(path, '.');
	last = last ? last + 1 : path;
	return !strcmp(last, "created") || strstr(path, "org.opencontainers.image.created");
}

bool lks_norm_json_path(const struct lks_diff_opts *o, const char *path)
{
	if (o->strict) {
		return false;
	}
	/* The ref name is the layout's name for the image (oci:DIR:REF), not its content. */
	return lks_norm_json_is_time(path) || strstr(path, "org.opencontainers.image.ref.name");
}
