/* lockstep verify: build twice with a real builder and report non-determinism. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "lockstep/verify.h"

static const char verify_help[] =
    "usage: lockstep verify [options] [CONTEXT]\n\n"
    "Build CONTEXT (default .) twice from scratch with a real builder and compare the images\n"
    "layer by layer and file by file; each difference names its Dockerfile line.\n\n"
    "build:\n"
    "  -f, --file FILE           the Dockerfile (default CONTEXT/Dockerfile)\n"
    "  --builder NAME            buildah, podman, docker (buildx) or command (default: the\n"
    "                            first installed of buildah, podman, docker)\n"
    "  --build-cmd TEMPLATE      run TEMPLATE with /bin/sh (the command builder); placeholders\n"
    "                            {context} {dockerfile} {out} {tag} {epoch} {work} {platform}\n"
    "                            {target} ({work}: a private scratch directory);\n"
    "                            the build must leave an OCI layout (or oci-archive) at {out}\n"
    "  --build-arg NAME=VALUE    passed to the builder (repeatable)\n"
    "  --target STAGE, --platform OS/ARCH, --isolation TYPE (buildah, podman; default chroot)\n"
    "  --storage-driver NAME     buildah, podman: auto (default: overlay when it works here,\n"
    "                            else vfs), overlay, vfs, ...\n"
    "  --source-date-epoch N     SOURCE_DATE_EPOCH for every build (default: the last commit\n"
    "                            time of CONTEXT's git repository, else 0)\n"
    "  --timeout SECONDS         kill a build command that runs longer (default: no limit)\n"
    "  --repeat N                build N times, compare each build with the first (default 2)\n"
    "  --vary all|none|LIST      vary builds 2.. : path, tz, lang, umask, hostname (default none)\n"
    "  --bisect-variations       when the images differ, rebuild with one variation at a time\n"
    "                            to name the cause\n"
    "  --keep DIR                keep the images (OCI layouts) and build logs in DIR\n"
    "comparison (as lockstep diff): --strict, --ignore GLOB, --profile NAME, --deep\n"
    "report:\n"
    "  --format FMT              text (default), json, markdown, html\n"
    "  --report FILE             write the HTML report (each difference, the builders'\n"
    "                            output) to FILE (default lockstep-verify.html)\n"
    "  --no-report               do not write it\n"
    "  --junit FILE              also write a JUnit XML report\n"
    "  --markdown-summary        append a markdown report to $GITHUB_STEP_SUMMARY when set\n"
    "  --color WHEN              auto, always, never\n"
    "  -v                        show the builders' output as they run\n"
    "exit status: 0 reproducible, 1 not reproducible, 2 build or tool failure\n";

struct verify_args {
	struct lks_verify_opts o;
	const char *build_args[64];
	const char *ignore[64];
	const char *profiles[16];
	const char *builder;
	const char *junit;
	const char *report; /* HTML report file, NULL: none */
	bool md_summary;
	bool have_context;
	enum lks_report_format fmt;
	int colour;
};

static int number(const char *opt, const char *v, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (end == v || *end || errno || n < lo || n > hi) {
		cli_error("lockstep verify: %s needs a number in %ld..%ld, not '%s'\n", opt,
		        lo, hi, v);
		return -1;
	}
	*out = n;
	return 0;
}

static int add(const char **v, size_t *n, size_t cap, const char *s, const char *opt)
{
	if (*n >= cap) {
		cli_error("lockstep verify: too many '%s' options\n", opt);
		return -1;
	}
	v[(*n)++] = s;
	return 0;
}

static int take_build(struct lks_ctx *ctx, struct verify_args *d, const char *a, const char *v)
{
	struct lks_build_req *q = &d->o.req;
	long n;
	if (cli_is_opt(a, "--file") || !strcmp(a, "-f")) {
		q->dockerfile = v;
	} else if (cli_is_opt(a, "--builder")) {
		d->builder = v;
	} else if (cli_is_opt(a, "--build-cmd")) {
		q->template = v;
	} else if (cli_is_opt(a, "--build-arg")) {
		return add(d->build_args, &q->n_build_args, ARRAY_SIZE(d->build_args), v, a);
	} else if (cli_is_opt(a, "--target")) {
		q->target = v;
	} else if (cli_is_opt(a, "--platform")) {
		q->platform = v;
	} else if (cli_is_opt(a, "--isolation")) {
		q->isolation = v;
	} else if (cli_is_opt(a, "--storage-driver")) {
		d->o.storage = strcmp(v, "auto") ? v : NULL;
	} else if (cli_is_opt(a, "--source-date-epoch")) {
		if (number(a, v, 0, 253402300799L, &n) < 0) {
			return -1;
		}
		q->epoch = n;
		d->o.epoch_set = true;
	} else if (cli_is_opt(a, "--timeout")) {
		if (number(a, v, 1, 604800, &n) < 0) {
			return -1;
		}
		d->o.timeout_ms = n * 1000;
	} else if (cli_is_opt(a, "--repeat")) {
		if (number(a, v, 2, 100, &n) < 0) {
			return -1;
		}
		d->o.repeat = (int)n;
	} else if (cli_is_opt(a, "--vary")) {
		return lks_vary_parse(ctx, v, &d->o.vary) < 0 ? (cli_fail(ctx, -LKS_E_INVAL), -1)
		                                              : 0;
	} else if (cli_is_opt(a, "--keep")) {
		d->o.keep = v;
	} else {
		return 1;
	}
	return 0;
}

static int take_report(struct lks_ctx *ctx, struct verify_args *d, const char *a, const char *v)
{
	if (cli_is_opt(a, "--ignore")) {
		return add(d->ignore, &d->o.diff.n_ignore, ARRAY_SIZE(d->ignore), v, a);
	} else if (cli_is_opt(a, "--profile")) {
		return add(d->profiles, &d->o.diff.n_profiles, ARRAY_SIZE(d->profiles), v, a);
	} else if (cli_is_opt(a, "--format")) {
		return lks_report_format_parse(ctx, v, &d->fmt) < 0 ? (cli_fail(ctx, -1), -1) : 0;
	} else if (cli_is_opt(a, "--junit")) {
		d->junit = v;
	} else if (cli_is_opt(a, "--report")) {
		d->report = v;
	} else if (cli_is_opt(a, "--color")) {
		d->colour = !strcmp(v, "always") ? 1 : !strcmp(v, "never") ? 0 : -1;
	} else {
		return 1;
	}
	return 0;
}

static const char *const valued[] = {"--file",
                                     "-f",
                                     "--builder",
                                     "--build-cmd",
                                     "--build-arg",
                                     "--target",
                                     "--platform",
                                     "--isolation",
                                     "--source-date-epoch",
                                     "--timeout",
                                     "--repeat",
                                     "--vary",
                                     "--keep",
                                     "--ignore",
                                     "--profile",
                                     "--format",
                                     "--junit",
                                     "--color",
                                     "--report",
                                     "--storage-driver"};

/* One argument at argv[*i]: 0 consumed, 1 help printed, -1 bad (message printed). */
static int one_arg(struct lks_ctx *ctx, struct verify_args *d, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	for (size_t k = 0; k < ARRAY_SIZE(valued); k++) {
		if (!cli_is_opt(a, valued[k])) {
			continue;
		}
		const char *v = cli_opt_value(argc, argv, i, valued[k]);
		int rc = v ? take_build(ctx, d, valued[k], v) : -1;
		return rc == 1 ? (take_report(ctx, d, valued[k], v) < 0 ? -1 : 0) : rc;
	}
	if (!strcmp(a, "--no-report")) {
		d->report = NULL;
		return 0;
	}
	if (!strcmp(a, "--bisect-variations") || !strcmp(a, "--markdown-summary") ||
	    !strcmp(a, "--strict") || !strcmp(a, "--deep")) {
		d->o.bisect |= !strcmp(a, "--bisect-variations");
		d->md_summary |= !strcmp(a, "--markdown-summary");
		d->o.diff.strict |= !strcmp(a, "--strict");
		d->o.diff.deep |= !strcmp(a, "--deep");
		return 0;
	}
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		printf("%s\nshared options:\n%s", verify_help, cli_common_help);
		return 1;
	}
	if ((a[0] == '-' && a[1]) || d->have_context) {
		cli_error("lockstep verify: unexpected argument '%s'\n%s", a, verify_help);
		return -1;
	}
	d->o.req.context = a;
	d->have_context = true;
	return 0;
}

static int parse_args(struct lks_ctx *ctx, int argc, char **argv, struct verify_args *d)
{
	for (int i = 1; i < argc; i++) {
		/* --timeout is ours (the build deadline), not the shared network timeout */
		int rc =
		    cli_is_opt(argv[i], "--timeout") ? 0 : cli_common_option(ctx, argc, argv, &i);
		if (rc < 0) {
			return -1;
		}
		if (rc == 0 && (rc = one_arg(ctx, d, argc, argv, &i)) != 0) {
			return rc;
		}
	}
	return 0;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* Builders run in their own process group, out of reach of the terminal's ^C: stop them
 * (and remove the scratch space) ourselves. */
static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

struct progress {
	bool tty;
	bool live;
};

static void on_event(void *opaque, const struct lks_verify_event *ev)
{
	const struct progress *p = opaque;
	char what[64];
	if (ev->bisect) {
		snprintf(what, sizeof(what), "bisect: rebuild varying %s",
		         ev->vary ? lks_vary_name(ev->vary) : "nothing");
	} else {
		snprintf(what, sizeof(what), "build %zu/%zu", ev->build, ev->n_builds);
	}
	if (ev->kind == LKS_VERIFY_BUILD_START && p->tty && !p->live) {
		fprintf(stderr, "\r\033[K%s ...", what);
	} else if (ev->kind == LKS_VERIFY_BUILD_DONE) {
		fprintf(stderr, "%s%s %.1f s\n", p->tty && !p->live ? "\r\033[K" : "", what,
		        ev->seconds);
	} else if (ev->kind == LKS_VERIFY_COMPARE && p->tty && !p->live) {
		fprintf(stderr, "\r\033[Kcomparing ...\r");
	}
	fflush(stderr);
}

static void on_output(void *opaque, const char *data, size_t len)
{
	fwrite(data, 1, len, stderr);
}

static int pick_builder(struct lks_ctx *ctx, struct verify_args *d)
{
	const char *name = d->builder ? d->builder : d->o.req.template ? "command" : NULL;
	if (!name) {
		return lks_build_detect(ctx, &d->o.builder);
	}
	if (!(d->o.builder = lks_builder_find(name))) {
		return lks_err(ctx, -LKS_E_INVAL,
		               "unknown builder '%s' (buildah, podman, docker, "
		               "command)",
		               name);
	}
	if (d->o.req.template && strcmp(name, "command")) {
		return lks_err(ctx, -LKS_E_INVAL,
		               "--build-cmd goes with --builder command, not '%s'", name);
	}
	return 0;
}

/* --junit and --markdown-summary: written whatever the outcome. */
static int side_reports(struct lks_ctx *ctx, const struct verify_args *d,
                        const struct lks_verify_result *res, const char *error)
{
	struct lks_buf b;
	lks_buf_init(&b, (size_t)1 << 30);
	int rc = 0;
	if (d->junit) {
		rc = lks_verify_junit(ctx, res, error, &b);
		rc = rc ? rc
		        : lks_write_file_atomic(ctx, d->junit, b.data ? b.data : "", b.len, 0644);
	}
	const char *summary = getenv("GITHUB_STEP_SUMMARY");
	if (rc == 0 && d->md_summary && summary && *summary) {
		lks_buf_reset(&b);
		rc = error
		         ? lks_buf_printf(&b, "## lockstep verify: failed\n\n```\n%s\n```\n", error)
		         : lks_verify_render(ctx, res, LKS_REPORT_MARKDOWN, false, &b);
		_cleanup_close_ int fd =
		    rc ? -1 : open(summary, O_WRONLY | O_APPEND | O_CREAT, 0644);
		if (rc == 0 && (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len)) {
			rc = lks_err(ctx, -errno, "cannot append to '%s': %s", summary,
			             strerror(errno));
		}
	}
	lks_buf_free(&b);
	return rc;
}

/* The HTML report file; "report: FILE" goes with the text on stdout, else to stderr. */
static int report_file(struct lks_ctx *ctx, const struct verify_args *d,
                       const struct lks_verify_result *res)
{
	struct lks_buf page;
	lks_buf_init(&page, (size_t)1 << 30);
	int rc = lks_verify_render(ctx, res, LKS_REPORT_HTML, false, &page);
	rc = rc ? rc : lks_write_file_atomic(ctx, d->report, page.data, page.len, 0644);
	lks_buf_free(&page);
	if (rc == 0) {
		fprintf(d->fmt == LKS_REPORT_TEXT ? stdout : stderr, "report: %s\n", d->report);
	}
	return rc;
}

static int report(struct lks_ctx *ctx, const struct verify_args *d,
                  const struct lks_verify_result *res)
{
	bool colour =
	    d->colour == 1 || (d->colour < 0 && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	struct lks_buf out;
	lks_buf_init(&out, (size_t)1 << 30);
	int rc = lks_verify_render(ctx, res, d->fmt, colour, &out);
	if (rc == 0) {
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
		cli_json_printed();
	}
	lks_buf_free(&out);
	return rc == 0 && d->report ? report_file(ctx, d, res) : rc;
}

int cmd_verify(struct lks_ctx *ctx, int argc, char **argv)
{
	struct verify_args d = {
	    .colour = -1, .fmt = LKS_REPORT_TEXT, .report = "lockstep-verify.html"};
	d.o.req.context = ".";
	d.o.req.build_args = d.build_args;
	d.o.diff.ignore = d.ignore;
	d.o.diff.profiles = d.profiles;
	d.o.repeat = 2;
	int rc = parse_args(ctx, argc, argv, &d);
	if (rc != 0) {
		return rc > 0 ? EXIT_OK : EXIT_ERROR;
	}
	d.o.req.tls_verify_off = ctx->insecure_hosts && ctx->insecure_hosts[0];
	d.o.diff.capture_text = d.fmt == LKS_REPORT_HTML || d.report;
	struct progress pr = {.tty = isatty(STDERR_FILENO), .live = ctx->verbose};
	d.o.progress = on_event;
	d.o.output = ctx->verbose ? on_output : NULL;
	d.o.opaque = &pr;
	d.o.cancel = &interrupted;
	catch_signals();
	struct lks_verify_result res = {0};
	rc = pick_builder(ctx, &d);
	rc = rc ? rc : lks_verify_run(ctx, &d.o, &res);
	char error[sizeof(ctx->err)];
	snprintf(error, sizeof(error), "%s", rc < 0 ? lks_errmsg(ctx, rc) : "");
	int side = side_reports(ctx, &d, &res, rc < 0 ? error : NULL);
	int exit_code = EXIT_OK;
	if (rc < 0) {
		cli_error("lockstep: %s\n", error);
		exit_code = interrupted ? 128 + interrupted : EXIT_ERROR;
	} else if ((rc = report(ctx, &d, &res)) < 0 || side < 0) {
		exit_code = cli_fail(ctx, rc < 0 ? rc : side);
	} else {
		exit_code = res.reproducible ? EXIT_OK : EXIT_FINDINGS;
	}
	lks_verify_result_free(&res);
	return exit_code;
}
