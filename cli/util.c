#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "lockstep/buf.h"
#include "lockstep/error.h"
#include "lockstep/escape.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "lockstep/policy.h"

#define LKS_STR_(x) #x
#define LKS_STR(x) LKS_STR_(x)

const char cli_common_help[] =
	"  --offline                 never use the network; answer from the cache\n"
	"  --refresh                 ignore cached answers\n"
	"  --cache-dir DIR           cache location (default $XDG_CACHE_HOME/lockstep)\n"
	"  --now TIME                the clock, RFC 3339 or @epoch (also LOCKSTEP_NOW)\n"
	"  --insecure-registry HOST  allow plain HTTP to HOST (loopback is always allowed)\n"
	"  --timeout SECONDS         give up a request that takes longer or stalls that long\n"
	"                            (default " LKS_STR(LKS_HTTP_TIMEOUT_S) "; connect "
	LKS_STR(LKS_HTTP_CONNECT_TIMEOUT_S) ")\n"
	"  -v, --verbose             more detail on stderr\n"
	"  -h, --help                this help\n";

void cli_line(FILE *f, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	struct lks_buf b;
	lks_buf_init(&b, 0);
	if (n >= 0 && lks_esc_terminal(&b, line) == 0) {
		fwrite(b.data ? b.data : "", 1, b.len, f);
		fputc('\n', f);
	}
	lks_buf_free(&b);
	free(line);
}

int cli_fail(struct lks_ctx *ctx, int rc)
{
	cli_line(stderr, "lockstep: %s", lks_errmsg(ctx, rc));
	return EXIT_ERROR;
}

void cli_flush_warnings(struct lks_ctx *ctx)
{
	for (char *p = ctx->warn, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl) {
			cli_line(stderr, "%s", p);
			break;
		}
		cli_line(stderr, "%.*s", (int)(nl - p), p);
	}
	ctx->warn[0] = '\0';
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

int cli_parse_kinds(const char *v, unsigned *mask)
{
	static const struct {
		const char *name;
		unsigned mask;
	} kinds[] = {{"images", LKS_LOCK_IMAGES}, {"image", LKS_LOCK_IMAGES},
		     {"apt", LKS_LOCK_APT},       {"python", LKS_LOCK_PYTHON}};
	if (!v) {
		return -1;
	}
	*mask = 0;
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ","), k = 0;
		while (k < sizeof(kinds) / sizeof(kinds[0]) &&
		       (strlen(kinds[k].name) != n || strncmp(kinds[k].name, p, n))) {
			k++;
		}
		if (k == sizeof(kinds) / sizeof(kinds[0])) {
			fprintf(stderr,
				"lockstep: --only takes images, apt or python, not '%.*s'\n",
				(int)n, p);
			return -1;
		}
		*mask |= kinds[k].mask;
		p += n + (p[n] == ',');
	}
	return *mask ? 0 : -1;
}

int cli_parse_seconds(const char *v, const char *opt, long *out)
{
	char *end;
	if (!v) {
		return -1;
	}
	*out = strtol(v, &end, 10);
	if (*end || end == v) {
		fprintf(stderr, "lockstep: %s needs seconds, not '%s'\n", opt, v);
		return -1;
	}
	return 0;
}

int cli_load_policy(struct lks_ctx *ctx, const char *path, const char *lock,
		    struct lks_policy *p)
{
	if (path) {
		return lks_policy_load(ctx, path, true, p);
	}
	const char *slash = strrchr(lock, '/');
	struct lks_buf b;
	lks_buf_init(&b, 0);
	int rc = lks_buf_printf(&b, "%.*s%s", slash ? (int)(slash - lock + 1) : 0, lock,
				LKS_POLICY_NAME);
	if (rc == 0) {
		rc = lks_policy_load(ctx, b.data, false, p);
	}
	lks_buf_free(&b);
	return rc;
}

int cli_duration(const char *v, const char *opt, long *out)
{
	if (v && lks_duration_parse(v, out) < 0) {
		fprintf(stderr,
			"lockstep: %s needs a duration like 30d, 14d, 2w or 12h, not '%s'\n", opt,
			v);
		return -1;
	}
	return 0;
}

int cli_window(const char *v, const struct lks_policy *p, long *out)
{
	if (!v && p->window) {
		*out = p->window;
	}
	return cli_duration(v, "--window", out);
}

void cli_print_findings(struct lks_findings *f, FILE *to)
{
	struct lks_buf out;
	lks_buf_init(&out, 0);
	lks_findings_sort(f);
	lks_findings_text(f, &out);
	fwrite(out.data ? out.data : "", 1, out.len, to);
	lks_buf_free(&out);
}
