/* Front-end internals: the only code that prints. */
#pragma once
#include <stdbool.h>
#include "lockstep/ctx.h"

/* Exit codes, a stable interface (see README). */
enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_ERROR = 2 };

struct cli_cmd {
	const char *name;
	const char *summary;
	int (*run)(struct lks_ctx *ctx, int argc, char **argv);
};

/* Print "lockstep: <detail>" for a failed library call and return EXIT_ERROR. */
int cli_fail(struct lks_ctx *ctx, int rc);
/* Print pending library warnings to stderr and clear them. */
void cli_flush_warnings(struct lks_ctx *ctx);
/* Handle an option shared by every command (--offline, --refresh, --cache-dir, --now,
 * --insecure-registry, -v). Returns 1 when consumed (advancing *i), 0 when not ours,
 * <0 on a bad value (message printed). */
int cli_common_option(struct lks_ctx *ctx, int argc, char **argv, int *i);
/* True when arg is the option opt, alone or as opt=value. */
bool cli_is_opt(const char *arg, const char *opt);
/* The value of option opt at argv[*i] ("--opt=v" or "--opt v", advancing *i); NULL with a
 * message printed when missing. */
const char *cli_opt_value(int argc, char **argv, int *i, const char *opt);
/* Parse argv[1..]: shared options, -h/--help (prints help + shared options, returns 1), and
 * everything else through one(), which consumes argv[*i] (and may advance *i) or prints a
 * message and returns -1. Returns 0 when parsed, 1 after help, -1 on a bad argument. */
int cli_parse_args(struct lks_ctx *ctx, int argc, char **argv, const char *help,
		   int (*one)(void *opaque, int argc, char **argv, int *i), void *opaque);
/* Help text fragment for the shared options. */
extern const char cli_common_help[];

int cmd_check(struct lks_ctx *ctx, int argc, char **argv);
int cmd_diff(struct lks_ctx *ctx, int argc, char **argv);
int cmd_pin(struct lks_ctx *ctx, int argc, char **argv);
int cmd_resolve(struct lks_ctx *ctx, int argc, char **argv);
int cmd_apt_resolve(struct lks_ctx *ctx, int argc, char **argv);
int cmd_image_cat(struct lks_ctx *ctx, int argc, char **argv);
int cmd_py_compile(struct lks_ctx *ctx, int argc, char **argv);
