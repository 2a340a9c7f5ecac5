/* Front-end internals: the only code that prints. */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include "lockstep/ctx.h"

/* Exit codes, a stable interface (see README). */
enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_ERROR = 2 };

struct cli_cmd {
	const char *name;
	const char *summary;
	int (*run)(struct lks_ctx *ctx, int argc, char **argv);
};

/* Print one line (a newline is added) with every control byte, escape sequence and ill-formed
 * byte of the formatted text as \xNN: messages quote Dockerfiles and images. */
void cli_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Each line of text through cli_line (a missing final newline is added). */
void cli_lines(FILE *f, const char *text);
/* Print "lockstep: <detail>" for a failed library call and return EXIT_ERROR. */
int cli_fail(struct lks_ctx *ctx, int rc);
/* Print a usage or input error on stderr (a whole message, newline included) and keep its
 * first line for the JSON error document. Returns EXIT_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --format json whatever happens (README "Stable interfaces"): main() calls cli_json_begin
 * before a command and cli_json_end after it; a command that printed its own JSON document
 * says so with cli_json_printed(). When json was asked for and the command ends in an error
 * without a document, cli_json_end prints one on stdout with the error, its file and line
 * where the message names them ("FILE:LINE: ...", "cannot read 'FILE'"). */
void cli_json_begin(const char *command, int argc, char **argv);
void cli_json_printed(void);
void cli_json_end(struct lks_ctx *ctx, int exit_code);
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
/* --platform OS/ARCH[/VARIANT][,...] (repeatable) into pl: 1 when argv[*i] was it (advancing
 * *i), 0 when not, -1 with a message on a bad value. */
struct lks_platforms;
int cli_platform_option(struct lks_ctx *ctx, int argc, char **argv, int *i,
                        struct lks_platforms *pl);
/* Help text of --platform, shared by check, pin, update and outdated. */
#define CLI_PLATFORM_HELP                                                                          \
	"  --platform P[,P...]       target platforms (repeatable): os/arch[/variant], e.g.\n"     \
	"                            linux/amd64,linux/arm/v7 (default: the ones the lock\n"       \
	"                            records for the file, else linux/amd64,linux/arm64)\n"
/* --only images,apt,python into a LKS_LOCK_* mask; -1 with a message when invalid. */
int cli_parse_kinds(const char *v, unsigned *mask);
/* An integer number of seconds (v may be NULL: -1); -1 with a message when invalid. */
int cli_parse_seconds(const char *v, const char *opt, long *out);
/* A duration ("30d") into *out when v is not NULL; -1 with a message when invalid. */
int cli_duration(const char *v, const char *opt, long *out);
/* The window: --window v, else the policy's, else *out unchanged. */
struct lks_policy;
int cli_window(const char *v, const struct lks_policy *p, long *out);
/* The policy: path when given (must exist), else lockstep.policy.json beside the lock (may be
 * missing). Returns 0 or a negative error (printed by cli_fail). */
int cli_load_policy(struct lks_ctx *ctx, const char *path, const char *lock,
		    struct lks_policy *p);
/* Sort findings and print them as text ("file:line: message") to `to`. */
struct lks_findings;
void cli_print_findings(struct lks_findings *f, FILE *to);
/* -v: the run's Dockerfile parses and image streams (cmd_pin.c; pin and update). */
struct lks_pin_report;
void cli_print_pin_stats(const struct lks_ctx *ctx, const struct lks_pin_report *rep);
/* Help text fragment for the shared options. */
extern const char cli_common_help[];

int cmd_check(struct lks_ctx *ctx, int argc, char **argv);
int cmd_diff(struct lks_ctx *ctx, int argc, char **argv);
int cmd_outdated(struct lks_ctx *ctx, int argc, char **argv);
int cmd_pin(struct lks_ctx *ctx, int argc, char **argv);
int cmd_update(struct lks_ctx *ctx, int argc, char **argv);
int cmd_resolve(struct lks_ctx *ctx, int argc, char **argv);
int cmd_apt_resolve(struct lks_ctx *ctx, int argc, char **argv);
int cmd_image_cat(struct lks_ctx *ctx, int argc, char **argv);
int cmd_py_compile(struct lks_ctx *ctx, int argc, char **argv);
int cmd_verify(struct lks_ctx *ctx, int argc, char **argv);
