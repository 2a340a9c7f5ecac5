#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "lockstep/buf.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "lockstep/pin.h"
#include "lockstep/platform.h"

static const char help[] =
	"usage: lockstep pin [options] [DOCKERFILE...]\n"
	"\n"
	"Resolve every image reference (FROM, COPY --from, RUN --mount from) to its digest and\n"
	"pin it in place (FROM python:3.12-slim -> FROM python:3.12-slim@sha256:...); references\n"
	"already pinned are verified, not changed. apt: every apt-get/apt install package is\n"
	"pinned to the version the base image's own apt would install (NAME=VERSION).\n"
	"Python: the requirements.txt that a `pip install -r` installs is generated with\n"
	"hashes from the requirements.in beside it (or rewritten from itself), for the base\n"
	"image's Python on each of its platforms; `pip install NAME` words become\n"
	"NAME==VERSION. Records each pin in the lock file. Default: ./Dockerfile.\n"
	"Exit: 0 all pinned; 1 what resolved is pinned and written, what is listed could not\n"
	"be (e.g. ARG without default); 2 error, nothing written.\n"
	"\n"
	"options:\n"
	"  --lock FILE               lock file (default lockstep.lock)\n"
	"  --dry-run                 resolve and show what would change; write nothing\n"
	"  --only KIND[,KIND]        pin only images, apt, python (default all); the lock's\n"
	"                            entries of the other kinds are kept as they are\n"
	"  --max-age SECONDS         trust cached tag resolutions this young (default 3600)\n"
	CLI_PLATFORM_HELP
	"  --apt-source LINE         add an apt source to every base image ('deb [signed-by=K]\n"
	"                            URI SUITE COMP...'; replaces the image's source with the\n"
	"                            same URI and suite); repeatable\n"
	"  --apt-sources-file FILE   add the sources of a sources.list or .sources file\n"
	"  --apt-closure             also record in the lock the packages each RUN's apt install\n"
	"                            pulls in (what apt-get install -s would install), with\n"
	"                            closure_of naming the package that needs them\n"
	"  --python-version X.Y[.Z]  Python of the image (default: PYTHON_VERSION of its config)\n"
	"  --index-url URL           package index when the requirements name none\n"
	"  --requirements FILE       also pin FILE (requirements.in -> requirements.txt)\n"
	"  --allow-unsafe            pin pip and setuptools too\n"
	"  --insecure-index          allow a package index over plain HTTP on a non-loopback host\n"
	"  --pip-inline-to-file      move `pip install NAME...` words into a generated, hashed\n"
	"                            requirements-lockstep-STAGE.txt (from a .in holding the\n"
	"                            words), COPY it in, and install it with --require-hashes -r\n"
	"  -q, --quiet               print only problems\n";

struct pin_args {
	const char **files;
	size_t nfiles;
	const char **reqs;
	bool quiet;
	struct lks_pin_opts o;
	struct lks_platforms plats;
	struct lks_ctx *ctx;
};

static int apt_option(struct lks_apt_opts *o, int argc, char **argv, int *i)
{
	bool file = cli_is_opt(argv[*i], "--apt-sources-file");
	const char *opt = file ? "--apt-sources-file" : "--apt-source";
	const char *v = cli_opt_value(argc, argv, i, opt);
	size_t *n = file ? &o->n_source_files : &o->n_sources;
	if (!v || *n >= LKS_APT_MAX_SOURCES) {
		fprintf(stderr, "lockstep pin: %s needs a value (at most %d)\n", opt,
		        LKS_APT_MAX_SOURCES);
		return -1;
	}
	(file ? o->source_files : o->sources)[(*n)++] = v;
	return 0;
}

static int parse_one(void *opaque, int argc, char **argv, int *i)
{
	struct pin_args *a = opaque;
	const char *v;
	int pr = cli_platform_option(a->ctx, argc, argv, i, &a->plats);
	if (pr) {
		return pr < 0 ? -1 : 0;
	}
	if (cli_is_opt(argv[*i], "--lock")) {
		return (a->o.lock_path = cli_opt_value(argc, argv, i, "--lock")) ? 0 : -1;
	}
	if (cli_is_opt(argv[*i], "--max-age")) {
		if (!(v = cli_opt_value(argc, argv, i, "--max-age"))) {
			return -1;
		}
		char *end;
		a->o.images.max_age = strtol(v, &end, 10);
		if (*end || end == v) {
			fprintf(stderr, "lockstep pin: --max-age needs seconds, not '%s'\n", v);
			return -1;
		}
		return 0;
	}
	if (cli_is_opt(argv[*i], "--apt-source") || cli_is_opt(argv[*i], "--apt-sources-file")) {
		return apt_option(&a->o.apt, argc, argv, i);
	}
	if (cli_is_opt(argv[*i], "--only")) {
		return cli_parse_kinds(cli_opt_value(argc, argv, i, "--only"), &a->o.kinds);
	}
	if (cli_is_opt(argv[*i], "--python-version")) {
		v = cli_opt_value(argc, argv, i, "--python-version");
		return (a->o.python.python_version = v) ? 0 : -1;
	}
	if (cli_is_opt(argv[*i], "--index-url")) {
		return (a->o.python.index_url = cli_opt_value(argc, argv, i, "--index-url")) ? 0 : -1;
	}
	if (cli_is_opt(argv[*i], "--requirements")) {
		if (!(v = cli_opt_value(argc, argv, i, "--requirements"))) {
			return -1;
		}
		a->reqs[a->o.python.nrequirements++] = v;
		return 0;
	}
	if (!strcmp(argv[*i], "--allow-unsafe")) {
		a->o.python.allow_unsafe = true;
	} else if (!strcmp(argv[*i], "--insecure-index")) {
		a->o.python.insecure_index = true;
	} else if (!strcmp(argv[*i], "--pip-inline-to-file")) {
		a->o.python.inline_to_file = true;
	} else if (!strcmp(argv[*i], "--dry-run")) {
		a->o.dry_run = true;
	} else if (!strcmp(argv[*i], "--apt-closure")) {
		a->o.apt.closure = true;
	} else if (!strcmp(argv[*i], "-q") || !strcmp(argv[*i], "--quiet")) {
		a->quiet = true;
	} else if (argv[*i][0] == '-' && argv[*i][1]) {
		fprintf(stderr, "lockstep pin: unknown option '%s'\n", argv[*i]);
		return -1;
	} else {
		a->files[a->nfiles++] = argv[*i];
	}
	return 0;
}

/* -v: what the run read, for the curious and for the tests that keep it cheap. */
void cli_print_pin_stats(const struct lks_ctx *ctx, const struct lks_pin_report *rep)
{
	if (ctx->verbose) {
		fprintf(stderr, "pin: %zu Dockerfile%s, %zu parse%s\n", rep->dockerfiles,
		        rep->dockerfiles == 1 ? "" : "s", rep->dockerfiles_parsed,
		        rep->dockerfiles_parsed == 1 ? "" : "s");
		fprintf(stderr, "pin: image layers streamed %zu time%s\n", rep->image_streams,
		        rep->image_streams == 1 ? "" : "s");
	}
}

static void print_report(const struct lks_pin_report *rep, const struct pin_args *a)
{
	size_t changed = 0;
	for (size_t i = 0; i < rep->n; i++) {
		const struct lks_pin_change *c = &rep->v[i];
		changed += c->changed;
		if (!a->quiet) {
			char where[4200];
			cli_line(stdout, "%s: %s %s '%s' %s %s",
				 lks_where(where, sizeof(where), c->file, c->line),
				 c->changed ? "pinned" : "verified", c->kind, c->written,
				 c->changed ? "to" : "at", c->pinned);
		}
	}
	if (!a->quiet) {
		printf("%zu reference%s: %zu pinned, %zu already pinned%s\n", rep->n,
		       rep->n == 1 ? "" : "s", changed, rep->n - changed,
		       a->o.dry_run ? " (dry run: nothing written)" : "");
	}
}

int cmd_pin(struct lks_ctx *ctx, int argc, char **argv)
{
	const char *files[argc + 1], *reqs[argc + 1];
	struct pin_args a = {.files = files, .reqs = reqs, .ctx = ctx};
	lks_pin_opts_init(&a.o);
	a.o.python.requirements = reqs;
	int p = cli_parse_args(ctx, argc, argv, help, parse_one, &a);
	if (!a.nfiles) {
		a.files[a.nfiles++] = "Dockerfile";
	}
	if (p) {
		return p > 0 ? EXIT_OK : EXIT_ERROR;
	}
	a.o.images.platforms = a.plats.n ? &a.plats : NULL;
	struct lks_findings f;
	lks_findings_init(&f);
	struct lks_pin_report rep;
	lks_pin_report_init(&rep);
	int rc = lks_pin_files(ctx, &a.o, a.files, a.nfiles, &f, &rep);
	int code;
	if (rc < 0) {
		code = cli_fail(ctx, rc);
	} else {
		print_report(&rep, &a);
		cli_print_pin_stats(ctx, &rep);
		cli_print_findings(&f, stderr);
		code = lks_findings_errors(&f) ? EXIT_FINDINGS : EXIT_OK;
	}
	lks_pin_report_free(&rep);
	lks_findings_free(&f);
	return code;
}
