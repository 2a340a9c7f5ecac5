#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "lockstep/error.h"

static const struct cli_cmd commands[] = {
	{"check", "report unpinned or stale references (offline)", cmd_check},
	{"diff", "compare two images layer by layer, file by file; explain differences", cmd_diff},
	{"outdated", "list pins past the update window (exit 1 when any)", cmd_outdated},
	{"pin", "resolve references and pin them in place; write lockstep.lock", cmd_pin},
	{"resolve", "resolve image references to digests (debugging aid)", cmd_resolve},
	{"update", "move pins to the newest allowed versions; summarise for a PR", cmd_update},
	{"apt-resolve", NULL, cmd_apt_resolve}, /* hidden: debugging and differential tests */
	{"image-cat", NULL, cmd_image_cat},     /* hidden: files read out of an image */
	{"py-compile", "compile requirements.in into hashed pins for a target Python", cmd_py_compile},
	{"verify", "build twice with a real builder and report non-determinism", cmd_verify},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lockstep <command> [options] [args]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!commands[i].summary) {
			continue;
		}
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	}
	fprintf(f, "\nRun 'lockstep <command> --help' for a command's options.\n"
		   "Exit codes: 0 ok, 1 findings (unpinned, differs, outdated), 2 error.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("lockstep %s\n", LKS_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(name, commands[i].name)) {
			continue;
		}
		struct lks_ctx ctx;
		cli_json_begin(name, argc - 1, argv + 1);
		int rc = lks_ctx_init(&ctx);
		if (rc < 0) {
			rc = cli_fail(&ctx, rc);
		} else {
			rc = commands[i].run(&ctx, argc - 1, argv + 1);
		}
		cli_json_end(&ctx, rc);
		cli_flush_warnings(&ctx);
		lks_ctx_free(&ctx);
		return rc;
	}
	fprintf(stderr, "lockstep: unknown command '%s'\n", name);
	usage(stderr);
	return EXIT_ERROR;
}
