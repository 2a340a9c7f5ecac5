#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "lockstep/buf.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "lockstep/pin.h"
#include "lockstep/platform.h"

static const char help[] =
    "usage: lockstep check [options] [DOCKERFILE...]\n"
    "\n"
    "Report every image reference that is not pinned to a digest, cannot be expanded, or\n"
    "disagrees with the lock file; every apt-get/apt install package without a version;\n"
    "every Python requirement that is not pinned with hashes (a requirements.txt older\n"
    "than its requirements.in, `pip install NAME` words).\n"
    "Offline: never uses the network. Default: ./Dockerfile.\n"
    "Exit: 0 all pinned and agreeing with the lock, 1 findings, 2 error.\n"
    "\n"
    "options:\n"
    "  --lock FILE               lock file (default lockstep.lock)\n"
    "  --format text|json        output format (default text)\n" CLI_PLATFORM_HELP
    "  --requirements FILE       also check FILE (requirements.in -> requirements.txt)\n";

struct check_args {
	const char *lock;
	const char *format;
	const char **files;
	size_t nfiles;
	const char **reqs;
	size_t nreqs;
	struct lks_platforms plats;
	struct lks_ctx *ctx;
};

static int parse_one(void *opaque, int argc, char **argv, int *i)
{
	struct check_args *a = opaque;
	int pr = cli_platform_option(a->ctx, argc, argv, i, &a->plats);
	if (pr) {
		return pr < 0 ? -1 : 0;
	}
	if (cli_is_opt(argv[*i], "--lock")) {
		return (a->lock = cli_opt_value(argc, argv, i, "--lock")) ? 0 : -1;
	}
	if (cli_is_opt(argv[*i], "--format")) {
		if (!(a->format = cli_opt_value(argc, argv, i, "--format"))) {
			return -1;
		}
		if (strcmp(a->format, "text") && strcmp(a->format, "json")) {
			cli_error("lockstep check: unknown format '%s' (text or json)\n",
				a->format);
			return -1;
		}
		return 0;
	}
	if (cli_is_opt(argv[*i], "--requirements")) {
		const char *v = cli_opt_value(argc, argv, i, "--requirements");
		return v ? (a->reqs[a->nreqs++] = v, 0) : -1;
	}
	if (argv[*i][0] == '-' && argv[*i][1]) {
		cli_error("lockstep check: unknown option '%s'\n", argv[*i]);
		return -1;
	}
	a->files[a->nfiles++] = argv[*i];
	return 0;
}

int cmd_check(struct lks_ctx *ctx, int argc, char **argv)
{
	const char *files[argc + 1], *reqs[argc + 1];
	struct check_args a = {
	    .lock = LKS_LOCKFILE_NAME, .format = "text", .files = files, .reqs = reqs, .ctx = ctx};
	int p = cli_parse_args(ctx, argc, argv, help, parse_one, &a);
	if (!a.nfiles) {
		a.files[a.nfiles++] = "Dockerfile";
	}
	if (p) {
		return p > 0 ? EXIT_OK : EXIT_ERROR;
	}
	ctx->offline = true; /* check never touches the network */
	struct lks_pin_opts o;
	lks_pin_opts_init(&o);
	o.lock_path = a.lock;
	o.python.requirements = a.reqs;
	o.python.nrequirements = a.nreqs;
	o.images.platforms = a.plats.n ? &a.plats : NULL;
	struct lks_findings f;
	lks_findings_init(&f);
	struct lks_buf out;
	lks_buf_init(&out, 0);
	int rc = lks_check_files(ctx, &o, a.files, a.nfiles, &f);
	if (rc == 0) {
		lks_findings_sort(&f);
		rc = !strcmp(a.format, "json") ? lks_findings_json(ctx, &f, &out)
					       : lks_findings_text(&f, &out);
	}
	int code = rc < 0 ? cli_fail(ctx, rc) : lks_findings_errors(&f) ? EXIT_FINDINGS : EXIT_OK;
	if (rc == 0) {
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
		cli_json_printed();
	}
	lks_buf_free(&out);
	lks_findings_free(&f);
	return code;
}
