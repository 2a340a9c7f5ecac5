#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "lockstep/buf.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "lockstep/pin.h"
#include "lockstep/platform.h"
#include "lockstep/update.h"
#include "lockstep/policy.h"

static const char help[] =
    "usage: lockstep update [options] [DOCKERFILE...]\n"
    "\n"
    "Re-resolve every pin and move it to the newest allowed version (images: the digest the\n"
    "same tag points to now), rewriting the Dockerfiles and the lock file in one atomic step,\n"
    "then list what changed. Pins held or ignored in the policy file stay; so do versions\n"
    "published within the cooldown. Unpinned references are pinned as by 'lockstep pin'.\n"
    "Default: ./Dockerfile.\n"
    "Exit: 0 updated or nothing to update, 1 something could not be pinned, 2 error (nothing\n"
    "written).\n"
    "\n"
    "options:\n"
    "  --lock FILE               lock file (default lockstep.lock)\n"
    "  --policy FILE             policy file (default lockstep.policy.json beside the lock)\n"
    "  --only KIND[,KIND]        images, apt, python (default all)\n"
    "  --package NAME            only pins known by NAME (or a glob): python:3.12-slim, curl\n"
    "  --cooldown DURATION       skip versions published less than this ago: 3d, 12h\n"
    "  --dry-run                 resolve and show what would change; write nothing\n"
    "  --summary markdown|json   print a pull-request summary on stdout (the list goes to\n"
    "                            stderr)\n"
    "  --max-age SECONDS         trust cached tag resolutions this young (default "
    "3600)\n" CLI_PLATFORM_HELP
    "  --apt-closure             also record each RUN's apt dependency closure in the lock\n"
    "                            (kept by files whose lock already records one)\n"
    "  -q, --quiet               print only problems\n";

struct update_args {
	const char **files;
	size_t nfiles;
	const char *policy;
	const char *cooldown;
	const char *summary;
	bool quiet;
	struct lks_pin_opts o;
	struct lks_platforms plats;
	struct lks_ctx *ctx;
};

static int parse_value(struct update_args *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (cli_is_opt(arg, "--lock")) {
		return (a->o.lock_path = cli_opt_value(argc, argv, i, "--lock")) ? 0 : -1;
	}
	if (cli_is_opt(arg, "--policy")) {
		return (a->policy = cli_opt_value(argc, argv, i, "--policy")) ? 0 : -1;
	}
	if (cli_is_opt(arg, "--package")) {
		return (a->o.update.package = cli_opt_value(argc, argv, i, "--package")) ? 0 : -1;
	}
	if (cli_is_opt(arg, "--cooldown")) {
		a->cooldown = cli_opt_value(argc, argv, i, "--cooldown");
		return cli_duration(a->cooldown, "--cooldown", &a->o.update.cooldown);
	}
	if (cli_is_opt(arg, "--only")) {
		return cli_parse_kinds(cli_opt_value(argc, argv, i, "--only"), &a->o.kinds);
	}
	if (cli_is_opt(arg, "--max-age")) {
		return cli_parse_seconds(cli_opt_value(argc, argv, i, "--max-age"), "--max-age",
		                         &a->o.images.max_age);
	}
	a->summary = cli_opt_value(argc, argv, i, "--summary");
	if (a->summary && strcmp(a->summary, "markdown") && strcmp(a->summary, "json")) {
		fprintf(stderr, "lockstep update: unknown summary '%s' (markdown or json)\n",
		        a->summary);
		return -1;
	}
	return a->summary ? 0 : -1;
}

static int parse_one(void *opaque, int argc, char **argv, int *i)
{
	static const char *const valued[] = {"--lock", "--policy",  "--package", "--cooldown",
	                                     "--only", "--max-age", "--summary"};
	struct update_args *a = opaque;
	const char *arg = argv[*i];
	int pr = cli_platform_option(a->ctx, argc, argv, i, &a->plats);
	if (pr) {
		return pr < 0 ? -1 : 0;
	}
	for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
		if (cli_is_opt(arg, valued[k])) {
			return parse_value(a, argc, argv, i);
		}
	}
	if (!strcmp(arg, "--dry-run")) {
		a->o.dry_run = true;
	} else if (!strcmp(arg, "--apt-closure")) {
		a->o.apt.closure = true;
	} else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
		a->quiet = true;
	} else if (arg[0] == '-' && arg[1]) {
		fprintf(stderr, "lockstep update: unknown option '%s'\n", arg);
		return -1;
	} else {
		a->files[a->nfiles++] = arg;
	}
	return 0;
}

/* The human list: stdout, or stderr when stdout carries the summary. */
static void print_list(const struct lks_pin_report *rep, const struct update_args *a)
{
	FILE *f = a->summary ? stderr : stdout;
	size_t moved = lks_update_count(rep), pinned = 0;
	for (size_t i = 0; !a->quiet && i < rep->n; i++) {
		const struct lks_pin_change *c = &rep->v[i];
		char where[4200];
		if (c->changed && c->previous) {
			cli_line(f, "%s: updated %s '%s' %s -> %s",
				 lks_where(where, sizeof(where), c->file, c->line), c->kind,
				 c->written, c->previous, c->pinned);
		} else if (c->changed) {
			pinned++;
			cli_line(f, "%s: pinned %s '%s' to %s",
				 lks_where(where, sizeof(where), c->file, c->line), c->kind,
				 c->written, c->pinned);
		}
	}
	if (a->quiet) {
		return;
	}
	if (moved || pinned) {
		fprintf(f, "%zu pin%s updated, %zu newly pinned, %zu unchanged%s\n", moved,
		        moved == 1 ? "" : "s", pinned, rep->n - moved - pinned,
		        a->o.dry_run ? " (dry run: nothing written)" : "");
	} else {
		fprintf(f, "nothing to update (%zu pin%s checked)\n", rep->n,
		        rep->n == 1 ? "" : "s");
	}
}

static int print_summary(struct lks_ctx *ctx, const struct lks_pin_report *rep, const char *summary)
{
	struct lks_buf out;
	lks_buf_init(&out, 0);
	int rc = !strcmp(summary, "json") ? lks_update_summary_json(ctx, rep, lks_now(ctx), &out)
	                                  : lks_update_summary_markdown(rep, lks_now(ctx), &out);
	if (rc == 0) {
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	}
	lks_buf_free(&out);
	return rc;
}

static int run(struct lks_ctx *ctx, struct update_args *a, struct lks_findings *f,
               struct lks_pin_report *rep)
{
	int rc = lks_pin_files(ctx, &a->o, a->files, a->nfiles, f, rep);
	if (rc == 0) {
		print_list(rep, a);
		cli_print_pin_stats(ctx, rep);
		cli_print_findings(f, stderr);
	}
	if (rc == 0 && a->summary) {
		rc = print_summary(ctx, rep, a->summary);
	}
	return rc;
}

int cmd_update(struct lks_ctx *ctx, int argc, char **argv)
{
	const char *files[argc + 1];
	struct update_args a = {.files = files, .ctx = ctx};
	lks_pin_opts_init(&a.o);
	a.o.update.enabled = true;
	int p = cli_parse_args(ctx, argc, argv, help, parse_one, &a);
	if (!a.nfiles) {
		a.files[a.nfiles++] = "Dockerfile";
	}
	if (p) {
		return p > 0 ? EXIT_OK : EXIT_ERROR;
	}
	struct lks_policy policy;
	lks_policy_init(&policy);
	struct lks_findings f;
	lks_findings_init(&f);
	struct lks_pin_report rep;
	lks_pin_report_init(&rep);
	int rc = cli_load_policy(ctx, a.policy, a.o.lock_path, &policy);
	if (rc == 0 && !a.cooldown && policy.has_cooldown) {
		a.o.update.cooldown = policy.cooldown;
	}
	a.o.update.policy = &policy;
	a.o.images.platforms = a.plats.n ? &a.plats : NULL;
	rc = rc ? rc : run(ctx, &a, &f, &rep);
	int code = rc < 0 ? cli_fail(ctx, rc) : lks_findings_errors(&f) ? EXIT_FINDINGS : EXIT_OK;
	lks_pin_report_free(&rep);
	lks_findings_free(&f);
	lks_policy_free(&policy);
	return code;
}
