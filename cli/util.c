#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "lockstep/error.h"

const char cli_common_help[] =
	"  --offline                 never use the network; answer from the cache\n"
	"  --refresh                 ignore cached answers\n"
	"  --cache-dir DIR           cache location (default $XDG_CACHE_HOME/lockstep)\n"
	"  --now TIME                the clock, RFC 3339 or @epoch (also LOCKSTEP_NOW)\n"
	"  --insecure-registry HOST  allow plain HTTP to HOST (loopback is always allowed)\n"
	"  --timeout SECONDS         network timeout per request (default 60; connect 10)\n"
	"  -v, --verbose             more detail on stderr\n"
	"  -h, --help                this help\n";

int cli_fail(struct lks_ctx *ctx, int rc)
{
	fprintf(stderr, "lockstep: %s\n", lks_errmsg(ctx, rc));
	return EXIT_ERROR;
}

void cli_flush_warnings(struct lks_ctx *ctx)
{
	if (ctx->warn[0]) {
		fputs(ctx->warn, stderr);
		ctx->warn[0] = '\0';
	}
}

/* --timeout SECONDS: whole-transfer timeout; the connect timeout never exceeds it */
static int set_timeout(struct lks_ctx *ctx, const char *v)
{
	char *end;
	long s = strtol(v, &end, 10);
	if (end == v || *end || s < 1 || s > 86400) {
		fprintf(stderr, "lockstep: --timeout needs 1..86400 seconds, not '%s'\n", v);
		return -1;
	}
	ctx->http_timeout_ms = s * 1000;
	if (ctx->http_connect_timeout_ms > ctx->http_timeout_ms) {
		ctx->http_connect_timeout_ms = ctx->http_timeout_ms;
	}
	return 0;
}

static int add_insecure(struct lks_ctx *ctx, const char *host)
{
	size_t n = 0;
	while (ctx->insecure_hosts && ctx->insecure_hosts[n]) {
		n++;
	}
	char **p = realloc(ctx->insecure_hosts, (n + 2) * sizeof(*p));
	if (!p) {
		return -1;
	}
	ctx->insecure_hosts = p;
	p[n] = strdup(host);
	p[n + 1] = NULL;
	return p[n] ? 0 : -1;
}

const char *cli_opt_value(int argc, char **argv, int *i, const char *opt)
{
	size_t n = strlen(opt);
	if (!strncmp(argv[*i], opt, n) && argv[*i][n] == '=') {
		return argv[*i] + n + 1;
	}
	if (*i + 1 >= argc) {
		fprintf(stderr, "lockstep: option '%s' needs a value\n", opt);
		return NULL;
	}
	return argv[++*i];
}

bool cli_is_opt(const char *arg, const char *opt)
{
	size_t n = strlen(opt);
	return !strncmp(arg, opt, n) && (arg[n] == '\0' || arg[n] == '=');
}

int cli_common_option(struct lks_ctx *ctx, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *v;
	if (!strcmp(a, "--offline")) {
		ctx->offline = true;
	} else if (!strcmp(a, "--refresh")) {
		ctx->refresh = true;
	} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
		ctx->verbose = true;
	} else if (cli_is_opt(a, "--cache-dir")) {
		if (!(v = cli_opt_value(argc, argv, i, "--cache-dir"))) {
			return -1;
		}
		free(ctx->cache_dir);
		ctx->cache_dir = strdup(v);
	} else if (cli_is_opt(a, "--now")) {
		if (!(v = cli_opt_value(argc, argv, i, "--now"))) {
			return -1;
		}
		if (lks_parse_time(v, &ctx->now) < 0) {
			fprintf(stderr, "lockstep: cannot parse time '%s'\n", v);
			return -1;
		}
	} else if (cli_is_opt(a, "--timeout")) {
		if (!(v = cli_opt_value(argc, argv, i, "--timeout")) || set_timeout(ctx, v) < 0) {
			return -1;
		}
	} else if (cli_is_opt(a, "--insecure-registry")) {
		if (!(v = cli_opt_value(argc, argv, i, "--insecure-registry")) || add_insecure(ctx, v) < 0) {
			return -1;
		}
	} else {
		return 0;
	}
	return 1;
}

int cli_parse_args(struct lks_ctx *ctx, int argc, char **argv, const char *help,
		   int (*one)(void *opaque, int argc, char **argv, int *i), void *opaque)
{
	for (int i = 1; i < argc; i++) {
		int c = cli_common_option(ctx, argc, argv, &i);
		if (c < 0) {
			return -1;
		}
		if (c > 0) {
			continue;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(help, stdout);
			fputs("\nshared options:\n", stdout);
			fputs(cli_common_help, stdout);
			return 1;
		}
		if (one(opaque, argc, argv, &i) < 0) {
			return -1;
		}
	}
	return 0;
}
