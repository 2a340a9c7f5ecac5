#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "lockstep/buf.h"
#include "lockstep/lockfile.h"
#include "lockstep/outdated.h"
#include "lockstep/platform.h"
#include "lockstep/policy.h"

static const char help[] =
    "usage: lockstep outdated [options]\n"
    "\n"
    "List the pins of the lock file that are past the update window: a newer digest or\n"
    "version has existed for longer than the window, the pin has not been re-checked within\n"
    "it, its source has vanished, or its hold in the policy file has expired. Reads the lock\n"
    "only; lookups come from the cache when young enough (--max-age), else the network.\n"
    "Exit: 0 nothing outdated, 1 something flagged, 2 error.\n"
    "\n"
    "options:\n"
    "  --lock FILE               lock file (default lockstep.lock)\n"
    "  --policy FILE             policy file (default lockstep.policy.json beside the lock)\n"
    "  --window DURATION         the window: 30d (default, or the policy's), 14d, 2w, 12h\n"
    "  --only KIND[,KIND]        images, apt, python\n"
    "  --package NAME            only pins known by NAME (or a glob): python:3.12-slim, curl\n"
    "  --cooldown DURATION       newer versions younger than this do not count yet: 3d\n"
    "  --format text|json        output format (default text)\n"
    "  --all                     text: list every pin, not only the flagged ones\n"
    "  --max-age SECONDS         trust cached lookups this young (default 3600)\n"
    "  --platform P[,P...]       only the pins of Dockerfiles pinned for these platforms\n"
    "                            (apt: of their architectures); repeatable\n";

struct outdated_args {
	const char *format;
	const char *policy;
	const char *window;
	const char *cooldown;
	bool all;
	struct lks_outdated_opts o;
	struct lks_platforms plats;
	struct lks_ctx *ctx;
};

static int parse_one(void *opaque, int argc, char **argv, int *i)
{
	struct outdated_args *a = opaque;
	const char *arg = argv[*i];
	int pr = cli_platform_option(a->ctx, argc, argv, i, &a->plats);
	if (pr) {
		return pr < 0 ? -1 : 0;
	}
	if (cli_is_opt(arg, "--lock")) {
		return (a->o.lock_path = cli_opt_value(argc, argv, i, "--lock")) ? 0 : -1;
	}
	if (cli_is_opt(arg, "--policy")) {
		return (a->policy = cli_opt_value(argc, argv, i, "--policy")) ? 0 : -1;
	}
	if (cli_is_opt(arg, "--window")) {
		return (a->window = cli_opt_value(argc, argv, i, "--window")) ? 0 : -1;
	}
	if (cli_is_opt(arg, "--package")) {
		return (a->o.package = cli_opt_value(argc, argv, i, "--package")) ? 0 : -1;
	}
	if (cli_is_opt(arg, "--cooldown")) {
		a->cooldown = cli_opt_value(argc, argv, i, "--cooldown");
		return a->cooldown ? cli_duration(a->cooldown, "--cooldown", &a->o.cooldown) : -1;
	}
	if (cli_is_opt(arg, "--only")) {
		return cli_parse_kinds(cli_opt_value(argc, argv, i, "--only"), &a->o.kinds);
	}
	if (cli_is_opt(arg, "--max-age")) {
		return cli_parse_seconds(cli_opt_value(argc, argv, i, "--max-age"), "--max-age",
		                         &a->o.max_age);
	}
	if (cli_is_opt(arg, "--format")) {
		a->format = cli_opt_value(argc, argv, i, "--format");
		if (a->format && strcmp(a->format, "text") && strcmp(a->format, "json")) {
			cli_error("lockstep outdated: unknown format '%s' (text or json)\n",
			        a->format);
			return -1;
		}
		return a->format ? 0 : -1;
	}
	if (!strcmp(arg, "--all")) {
		a->all = true;
		return 0;
	}
	cli_error("lockstep outdated: unknown %s '%s'\n",
	        arg[0] == '-' ? "option" : "argument", arg);
	return -1;
}

static int render(struct lks_ctx *ctx, const struct outdated_args *a, const struct lks_outdated *r)
{
	struct lks_buf out;
	lks_buf_init(&out, 0);
	int rc = !strcmp(a->format, "json") ? lks_outdated_json(ctx, r, &out)
	                                    : lks_outdated_text(r, a->all, &out);
	if (rc == 0 && !strcmp(a->format, "json")) {
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
		cli_json_printed();
	} else if (rc == 0) {
		cli_lines(stdout, out.data ? out.data : ""); /* names from the lock and sources */
	}
	lks_buf_free(&out);
	return rc;
}

int cmd_outdated(struct lks_ctx *ctx, int argc, char **argv)
{
	struct outdated_args a = {.format = "text", .ctx = ctx};
	lks_outdated_opts_init(&a.o);
	int p = cli_parse_args(ctx, argc, argv, help, parse_one, &a);
	if (p) {
		return p > 0 ? EXIT_OK : EXIT_ERROR;
	}
	struct lks_policy policy;
	lks_policy_init(&policy);
	struct lks_outdated r;
	lks_outdated_init(&r);
	a.o.policy = &policy;
	a.o.platforms = a.plats.n ? &a.plats : NULL;
	int code = EXIT_ERROR;
	int rc = cli_load_policy(ctx, a.policy, a.o.lock_path, &policy);
	if (rc == 0 && !a.cooldown && policy.has_cooldown) {
		a.o.cooldown = policy.cooldown;
	}
	if (rc == 0 && cli_window(a.window, &policy, &a.o.window) == 0) {
		rc = lks_outdated_run(ctx, &a.o, &r);
		rc = rc ? rc : render(ctx, &a, &r);
		code = rc < 0 ? EXIT_ERROR : r.flagged ? EXIT_FINDINGS : EXIT_OK;
	}
	if (rc < 0) {
		cli_fail(ctx, rc);
	}
	lks_outdated_free(&r);
	lks_policy_free(&policy);
	return code;
}
