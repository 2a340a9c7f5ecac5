#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "lockstep/platform.h"
#include "lockstep/buf.h"
#include "lockstep/error.h"
#include "lockstep/escape.h"
#include "lockstep/findings.h"
#include "lockstep/json.h"
#include "lockstep/report.h"
#include "lockstep/verify.h"
#include "lockstep/lockfile.h"
#include "lockstep/policy.h"
#include "lockstep/regconf.h"

#define LKS_STR_(x) #x
#define LKS_STR(x) LKS_STR_(x)

const char cli_common_help[] =
	"  --offline                 never use the network; answer from the cache\n"
	"  --refresh                 ignore cached answers\n"
	"  --cache-dir DIR           cache location (default $XDG_CACHE_HOME/lockstep)\n"
	"  --now TIME                the clock, RFC 3339 or @epoch (also LOCKSTEP_NOW)\n"
	"  --insecure-registry HOST  allow plain HTTP to HOST (loopback is always allowed)\n"
	"  --registry-mirror [REGISTRY=]URL\n"
	"                            pull REGISTRY's images (default docker.io) through the\n"
	"                            mirror at URL first (repeatable; also LOCKSTEP_REGISTRY_MIRROR;\n"
	"                            registries.conf mirrors are read as buildah reads them)\n"
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

/* The first line of the last error printed, for the JSON error document. */
static char last_error[2048];

static void keep_error(const char *msg)
{
	snprintf(last_error, sizeof(last_error), "%.*s", (int)strcspn(msg, "\n"), msg);
}

void cli_lines(FILE *f, const char *text)
{
	for (const char *p = text, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl) {
			cli_line(f, "%s", p);
			break;
		}
		cli_line(f, "%.*s", (int)(nl - p), p);
	}
}

int cli_fail(struct lks_ctx *ctx, int rc)
{
	keep_error(lks_errmsg(ctx, rc));
	cli_line(stderr, "lockstep: %s", lks_errmsg(ctx, rc));
	return EXIT_ERROR;
}

int cli_error(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_lines(stderr, msg);
	/* "lockstep check: unknown option" -> "unknown option" */
	const char *m = !strncmp(msg, "lockstep", 8) ? strstr(msg, ": ") : NULL;
	keep_error(m && m < msg + strcspn(msg, "\n") ? m + 2 : msg);
	return EXIT_ERROR;
}

/* ---- JSON whatever happens ---- */

static const struct {
	const char *command;
	const char *skeleton;
	const char *findings;
} json_docs[] = {
    {"check", "{\"version\": 1, \"findings\": [], \"errors\": 1, \"warnings\": 0}", "findings"},
    {"outdated", "{\"version\": 1, \"flagged\": 0, \"pins\": []}", NULL},
    {"diff", "{\"schema\": \"" LKS_REPORT_SCHEMA "\"}", NULL},
    {"verify", "{\"schema\": \"" LKS_VERIFY_SCHEMA "\"}", NULL},
};
static int json_doc = -1;
static bool json_done;

void cli_json_begin(const char *command, int argc, char **argv)
{
	for (size_t k = 0; k < ARRAY_SIZE(json_docs); k++) {
		if (strcmp(command, json_docs[k].command)) {
			continue;
		}
		for (int i = 1; i < argc; i++) {
			if ((!strcmp(argv[i], "--format") && i + 1 < argc &&
			     !strcmp(argv[i + 1], "json")) ||
			    !strcmp(argv[i], "--format=json")) {
				json_doc = (int)k;
			}
		}
	}
}

void cli_json_printed(void)
{
	json_done = true;
}

/* "FILE:LINE: what", "FILE: what" or "FILE is ..." (FILE exists), "cannot read 'FILE'", and
 * "(line N)" after a file: where it happened. */
static void error_place(const char *msg, char *file, size_t cap, long *line)
{
	const char *q = strstr(msg, " '");
	size_t n = strcspn(msg, ": '\"");
	*line = 0;
	file[0] = '\0';
	if (n && msg[n] == ':') {
		char *end;
		long l = strtol(msg + n + 1, &end, 10);
		snprintf(file, cap, "%.*s", (int)n, msg);
		if (end > msg + n + 1 && *end == ':' && l > 0) {
			*line = l;
			return;
		}
		if (access(file, F_OK) == 0) {
			return;
		}
		file[0] = '\0';
	}
	size_t w = strcspn(msg, " :");
	snprintf(file, cap, "%.*s", (int)w, msg);
	if (w == 0 || msg[w] != ' ' || access(file, F_OK) != 0) {
		file[0] = '\0'; /* "FILE is not valid JSON" names a file that exists */
	}
	if (!file[0] && !strncmp(msg, "cannot ", 7) && q && strchr(q + 2, '\'')) {
		snprintf(file, cap, "%.*s", (int)(strchr(q + 2, '\'') - q - 2), q + 2);
	}
	const char *lp = strstr(msg, "(line ");
	if (lp && file[0]) {
		*line = strtol(lp + 6, NULL, 10);
	}
}

void cli_json_end(struct lks_ctx *ctx, int exit_code)
{
	if (json_doc < 0 || json_done || exit_code == EXIT_OK || exit_code == EXIT_FINDINGS) {
		return;
	}
	char file[1024];
	struct lks_json_error e = {.message = last_error[0] ? last_error : "failed (see stderr)",
	                           .file = file};
	error_place(e.message, file, sizeof(file), &e.line);
	e.file = file[0] ? file : NULL;
	struct lks_buf out;
	lks_buf_init(&out, 0);
	if (lks_json_error_doc(ctx, json_docs[json_doc].skeleton, json_docs[json_doc].findings, &e,
	                       &out) == 0) {
		fwrite(out.data, 1, out.len, stdout);
	}
	lks_buf_free(&out);
}

void cli_flush_warnings(struct lks_ctx *ctx)
{
	cli_lines(stderr, ctx->warn);
	ctx->warn[0] = '\0';
}

/* --timeout SECONDS: a request taking longer or stalling that long ends; the connect timeout
 * never exceeds it */
static int set_timeout(struct lks_ctx *ctx, const char *v)
{
	char *end;
	long s = strtol(v, &end, 10);
	if (end == v || *end || s < 1 || s > 86400) {
		cli_error("lockstep: --timeout needs 1..86400 seconds, not '%s'\n", v);
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
		cli_error("lockstep: option '%s' needs a value\n", opt);
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
			cli_error("lockstep: cannot parse time '%s'\n", v);
			return -1;
		}
	} else if (cli_is_opt(a, "--timeout")) {
		if (!(v = cli_opt_value(argc, argv, i, "--timeout")) || set_timeout(ctx, v) < 0) {
			return -1;
		}
	} else if (cli_is_opt(a, "--registry-mirror")) {
		if (!(v = cli_opt_value(argc, argv, i, "--registry-mirror"))) {
			return -1;
		}
		if (lks_regconf_add_mirror(ctx, v) < 0) {
			cli_error("lockstep: %s\n", ctx->err);
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

int cli_platform_option(struct lks_ctx *ctx, int argc, char **argv, int *i,
                        struct lks_platforms *pl)
{
	if (!cli_is_opt(argv[*i], "--platform")) {
		return 0;
	}
	const char *v = cli_opt_value(argc, argv, i, "--platform");
	if (!v) {
		return -1;
	}
	if (lks_platforms_add(ctx, pl, v) < 0) {
		fprintf(stderr, "lockstep: --platform: %s\n", ctx->err);
		ctx->err[0] = '\0';
		return -1;
	}
	return 1;
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
			cli_error(
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
		cli_error("lockstep: %s needs seconds, not '%s'\n", opt, v);
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
		cli_error(
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
