/* lockstep py-compile: pip-compile --generate-hashes for a target interpreter (debugging aid). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "pinner/python/pyresolve.h"

static const char help[] =
    "usage: lockstep py-compile [options] requirements.in -o requirements.txt\n"
    "  --index-url URL          package index (PEP 503/691 simple API)\n"
    "  --python-version X.Y[.Z] target interpreter (default 3.12)\n"
    "  --platform-machine M     x86_64 (default), aarch64, ...\n"
    "  --glibc-minor N          target glibc 2.N (default 36)\n"
    "  --pre                    allow pre-releases\n"
    "  --allow-unsafe           pin pip/setuptools instead of listing them as comments\n"
    "  --insecure-index         allow the index over plain HTTP on a non-loopback host\n"
    "  -o, --output-file FILE   write here (existing pins in it are kept when allowed)\n";

struct pyc_args {
	struct lks_pyresolve_opts o;
	const char *extra[8];
	const char *in, *out;
};

static const char *val(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "lockstep py-compile: option '%s' needs a value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static int parse_one(struct lks_ctx *ctx, struct pyc_args *a, int argc, char **argv, int *i)
{
	const char *s = argv[*i];
	const char **dst = !strcmp(s, "--index-url")                         ? &a->o.index_url
	                   : !strcmp(s, "--python-version")                  ? &a->o.python_version
	                   : !strcmp(s, "--platform-machine")                ? &a->o.machine
	                   : !strcmp(s, "-o") || !strcmp(s, "--output-file") ? &a->out
	                                                                     : NULL;
	if (dst) {
		return (*dst = val(argc, argv, i)) ? 0 : -1;
	}
	if (!strcmp(s, "--extra-index-url")) {
		if (a->o.nextra == ARRAY_SIZE(a->extra)) {
			fprintf(stderr, "lockstep py-compile: too many --extra-index-url\n");
			return -1;
		}
		a->o.extra_index_urls = a->extra;
		return (a->extra[a->o.nextra++] = val(argc, argv, i)) ? 0 : -1;
	}
	if (!strcmp(s, "--glibc-minor")) {
		const char *v = val(argc, argv, i);
		return v ? (a->o.glibc_minor = atoi(v), 0) : -1;
	}
	bool *flag = !strcmp(s, "--pre")              ? &a->o.pre
	             : !strcmp(s, "--allow-unsafe")   ? &a->o.allow_unsafe
	             : !strcmp(s, "--insecure-index") ? &a->o.insecure_index
	                                              : NULL;
	if (flag) {
		*flag = true;
		return 0;
	}
	int rc = cli_common_option(ctx, argc, argv, i);
	if (rc != 0) {
		return rc > 0 ? 0 : -1;
	}
	if (s[0] == '-' || a->in) {
		fprintf(stderr, "lockstep py-compile: unexpected argument '%s'\n%s", s, help);
		return -1;
	}
	a->in = s;
	return 0;
}

static int compile(struct lks_ctx *ctx, struct pyc_args *a, struct lks_pyreq_set *existing,
                   struct lks_buf *text)
{
	struct lks_pyreq_set reqs;
	lks_pyreq_set_init(&reqs);
	struct lks_pyresolution res;
	lks_pyresolution_init(&res);
	int rc = lks_pyreq_parse_file(ctx, a->in, &reqs);
	if (rc == 0 && a->out && access(a->out, F_OK) == 0 &&
	    lks_pyreq_parse_file(ctx, a->out, existing) == 0) {
		a->o.existing = existing;
	}
	if (rc == 0 && !a->o.index_url) {
		a->o.index_url = reqs.index_url;
	}
	if (rc == 0 && !a->o.extra_index_urls) {
		a->o.extra_index_urls = (const char *const *)reqs.extra_index_urls;
		a->o.nextra = reqs.nextra;
	}
	if (rc == 0) {
		rc = lks_pyresolve(ctx, &reqs, &a->o, &res);
	}
	for (size_t k = 0; rc == 0 && k < res.nunpinnable; k++) {
		fprintf(stderr, "lockstep py-compile: %s\n", res.unpinnable[k]);
	}
	if (rc == 0) {
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "pip-compile --generate-hashes%s --output-file=%s %s",
		         a->o.allow_unsafe ? " --allow-unsafe" : "", a->out ? a->out : "-", a->in);
		rc = lks_pyresolution_write(ctx, &res, &a->o, cmd, text);
	}
	lks_pyresolution_free(&res);
	lks_pyreq_set_free(&reqs);
	return rc;
}

int cmd_py_compile(struct lks_ctx *ctx, int argc, char **argv)
{
	struct pyc_args a = {.o = {.python_version = "3.12"}};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(help, stdout);
			return EXIT_OK;
		}
		if (parse_one(ctx, &a, argc, argv, &i) < 0) {
			return EXIT_ERROR;
		}
	}
	if (!a.in) {
		fputs(help, stderr);
		return EXIT_ERROR;
	}
	struct lks_pyreq_set existing;
	lks_pyreq_set_init(&existing);
	struct lks_buf text;
	lks_buf_init(&text, 0);
	int rc = compile(ctx, &a, &existing, &text);
	if (rc == 0 && a.out) {
		rc = lks_write_file_atomic(ctx, a.out, text.data, text.len, 0644);
	} else if (rc == 0) {
		fwrite(text.data, 1, text.len, stdout);
	}
	lks_buf_free(&text);
	lks_pyreq_set_free(&existing);
	return rc < 0 ? cli_fail(ctx, rc) : EXIT_OK;
}
