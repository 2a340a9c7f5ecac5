/* lockstep diff A B: are two images the same, and if not what differs and why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "lockstep/image.h"
#include "lockstep/imgdiff.h"
#include "lockstep/report.h"

static const char diff_help[] =
    "usage: lockstep diff [options] IMAGE_A IMAGE_B\n\n"
    "Compare two images layer by layer and file by file; explain what differs.\n\n"
    "images:\n"
    "  oci:DIR[:REF]             OCI image layout directory\n"
    "  oci-archive:FILE[:REF]    OCI image layout in a tar\n"
    "  docker-archive:FILE       'docker save' output\n"
    "  docker://HOST/NAME:TAG    a registry image (or @sha256:...), credentials from\n"
    "                            $DOCKER_CONFIG/config.json and credential helpers\n\n"
    "options:\n"
    "  --strict                  compare everything (default ignores timestamps)\n"
    "  --ignore GLOB             ignore differences of matching paths (repeatable, counted)\n"
    "  --profile NAME            ignore known noise: apt, ldconfig, python, shadow,\n"
    "                            machine-id, fontconfig, tmp, or noise (all of them)\n"
    "  --dockerfile FILE         map layers to Dockerfile lines\n"
    "  --deep                    look inside differing files (.pyc, gzip, tar, zip/wheel/jar,\n"
    "                            text) to show the byte-level cause\n"
    "  --format FMT              text (default), json, markdown, html\n"
    "  --color WHEN              auto (default: on a terminal without NO_COLOR), always, never\n"
    "  -j, --jobs N              layers streamed in parallel (default: CPUs)\n"
    "exit status: 0 same (after normalization), 1 differs, 2 error\n";

struct diff_args {
	struct lks_diff_opts o;
	const char *ignore[64];
	const char *profiles[16];
	const char *img[2];
	int n_img;
	enum lks_report_format fmt;
	int colour; /* -1 auto */
};

static const char *need(int argc, char **argv, int *i)
{
	const char *eq = strchr(argv[*i], '=');
	if (eq && argv[*i][1] == '-') {
		return eq + 1;
	}
	if (*i + 1 >= argc) {
		cli_error("lockstep diff: option '%s' needs a value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static bool opt_is(const char *a, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(a, name, n) && (a[n] == '\0' || a[n] == '=');
}

static int take_value(struct lks_ctx *ctx, struct diff_args *d, const char *a, const char *v)
{
	if (opt_is(a, "--ignore") && d->o.n_ignore < ARRAY_SIZE(d->ignore)) {
		d->ignore[d->o.n_ignore++] = v;
	} else if (opt_is(a, "--profile") && d->o.n_profiles < ARRAY_SIZE(d->profiles)) {
		d->profiles[d->o.n_profiles++] = v;
	} else if (opt_is(a, "--dockerfile")) {
		d->o.dockerfile = v;
	} else if (opt_is(a, "--format")) {
		return lks_report_format_parse(ctx, v, &d->fmt) < 0 ? cli_fail(ctx, -LKS_E_INVAL)
		                                                    : 0;
	} else if (opt_is(a, "--color")) {
		d->colour = !strcmp(v, "always") ? 1 : !strcmp(v, "never") ? 0 : -1;
	} else if (opt_is(a, "--jobs") || !strcmp(a, "-j")) {
		d->o.jobs = atoi(v);
	} else {
		cli_error("lockstep diff: too many '%s' options\n", a);
		return EXIT_ERROR;
	}
	return 0;
}

static int parse_args(struct lks_ctx *ctx, int argc, char **argv, struct diff_args *d)
{
	static const char *const valued[] = {
	    "--ignore", "--profile", "--dockerfile", "--format", "--color", "--jobs", "-j"};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = cli_common_option(ctx, argc, argv, &i);
		if (rc < 0) {
			return EXIT_ERROR;
		}
		if (rc > 0) {
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\nshared options:\n%s", diff_help, cli_common_help);
			return -1;
		}
		if (!strcmp(a, "--strict") || !strcmp(a, "--deep")) {
			d->o.strict |= !strcmp(a, "--strict");
			d->o.deep |= !strcmp(a, "--deep");
			continue;
		}
		bool known = false;
		for (size_t k = 0; k < ARRAY_SIZE(valued) && !known; k++) {
			known = opt_is(a, valued[k]);
		}
		if (known) {
			const char *v = need(argc, argv, &i);
			if (!v || (rc = take_value(ctx, d, a, v)) != 0) {
				return EXIT_ERROR;
			}
		} else if (a[0] == '-' && a[1]) {
			cli_error("lockstep diff: unknown option '%s'\n%s", a, diff_help);
			return EXIT_ERROR;
		} else if (d->n_img < 2) {
			d->img[d->n_img++] = a;
		} else {
			cli_error("lockstep diff: expected two images\n%s", diff_help);
			return EXIT_ERROR;
		}
	}
	return 0;
}

static int compare(struct lks_ctx *ctx, struct diff_args *d, struct lks_image_set *sets,
                   struct lks_diff_result *res)
{
	for (int i = 0; i < 2; i++) {
		int rc = lks_image_set_load(ctx, d->img[i], &sets[i]);
		if (rc < 0) {
			return rc;
		}
	}
	int rc = lks_diff_images(ctx, &sets[0], &sets[1], &d->o, res);
	if (rc == 0) {
		res->a_name = strdup(d->img[0]);
		res->b_name = strdup(d->img[1]);
	}
	return rc;
}

int cmd_diff(struct lks_ctx *ctx, int argc, char **argv)
{
	struct diff_args d = {.colour = -1, .fmt = LKS_REPORT_TEXT};
	d.o.ignore = d.ignore;
	d.o.profiles = d.profiles;
	int rc = parse_args(ctx, argc, argv, &d);
	if (rc != 0) {
		return rc < 0 ? EXIT_OK : rc;
	}
	if (d.n_img != 2) {
		cli_error("lockstep diff: expected two images\n%s", diff_help);
		return EXIT_ERROR;
	}
	d.o.capture_text = d.fmt == LKS_REPORT_HTML;
	struct lks_image_set sets[2] = {0};
	struct lks_diff_result res = {0};
	rc = compare(ctx, &d, sets, &res);
	struct lks_buf out;
	lks_buf_init(&out, (size_t)1 << 30);
	bool colour =
	    d.colour == 1 || (d.colour < 0 && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	if (rc == 0) {
		rc = lks_report_render(ctx, &res, d.fmt, colour, &out);
	}
	int exit_code = rc < 0 ? cli_fail(ctx, rc) : res.differs ? EXIT_FINDINGS : EXIT_OK;
	if (rc == 0) {
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
		cli_json_printed();
	}
	lks_buf_free(&out);
	lks_diff_result_free(&res);
	lks_image_set_free(&sets[0]);
	lks_image_set_free(&sets[1]);
	return exit_code;
}
