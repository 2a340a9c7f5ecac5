/* normalize: globs, profiles, the timestamp rule, JSON paths. */
#include <criterion/criterion.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/imgdiff.h"
#include "verifier/normalize.h"

static const struct {
	const char *glob, *path;
	bool match;
} globs[] = {
    {"*.pyc", "usr/lib/x.pyc", true},     {"*.pyc", "x.pyc", true},
    {"/var/log/*", "var/log/a/b", true},  {"var/log/*", "var/lib/x", false},
    {"etc/shadow", "etc/shadow-", false}, {"usr/*/x", "usr/a/b/x", true},
};

Test(normalize, glob_table)
{
	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
		cr_assert_eq(lks_norm_glob_match(globs[i].glob, globs[i].path), globs[i].match,
		             "%s ~ %s", globs[i].glob, globs[i].path);
	}
}

static const struct {
	const char *path;
	uint32_t fields;
	bool strict;
	const char *profile;
	uint32_t want_fields, want_ignored;
} files[] = {
    {"a", LKS_F_MTIME | LKS_F_MODE, false, NULL, LKS_F_MODE, LKS_F_MTIME},
    {"a", LKS_F_MTIME | LKS_F_MODE, true, NULL, LKS_F_MTIME | LKS_F_MODE, 0},
    {"var/log/dpkg.log", LKS_F_CONTENT, false, "apt", 0, LKS_F_CONTENT},
    {"var/log/dpkg.log", LKS_F_CONTENT, true, "noise", 0, LKS_F_CONTENT},
    {"var/log/dpkg.log", LKS_F_CONTENT, false, "python", LKS_F_CONTENT, 0},
    {"x.pyc", LKS_F_CONTENT | LKS_F_CTIME, false, "python", 0, LKS_F_CONTENT | LKS_F_CTIME},
};

Test(normalize, file_table)
{
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *prof[] = {files[i].profile};
		struct lks_diff_opts o = {.strict = files[i].strict,
		                          .profiles = prof,
		                          .n_profiles = files[i].profile ? 1 : 0};
		struct lks_file_diff fd = {.path = (char *)files[i].path,
		                           .fields = files[i].fields};
		lks_norm_file(&o, &fd);
		cr_assert_eq(fd.fields, files[i].want_fields, "case %zu", i);
		cr_assert_eq(fd.ignored, files[i].want_ignored, "case %zu", i);
	}
}

Test(normalize, json_paths)
{
	struct lks_diff_opts def = {0}, strict = {.strict = true};
	cr_assert(lks_norm_json_path(&def, "created"));
	cr_assert(lks_norm_json_path(&def, "history[3].created"));
	cr_assert(
	    lks_norm_json_path(&def, "manifest.annotations.org.opencontainers.image.created"));
	cr_assert(!lks_norm_json_path(&def, "config.Env[0]"));
	cr_assert(!lks_norm_json_path(&def, "history[3].created_by"));
	cr_assert(!lks_norm_json_path(&strict, "created"));
}

Test(normalize, unknown_profile)
{
	const char *prof[] = {"apt", "bogus"};
	struct lks_diff_opts o = {.profiles = prof, .n_profiles = 2};
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	cr_assert_eq(lks_norm_check(&ctx, &o), -LKS_E_INVAL);
	cr_assert_not_null(strstr(ctx.err, "'bogus'"));
	lks_ctx_free(&ctx);
}
