/* Shared by pinner/aptpin.c (load, check) and pinner/aptpin_pin.c (pin); not public API. */
#pragma once
#include <stddef.h>
#include "lockstep/apt_cmd.h"
#include "lockstep/buf.h"
#include "aptrun.h"

struct lks_ctx;
struct lks_findings;
struct lks_workspace;
struct lks_dockerfile;

/* One Dockerfile as the workspace has it now. */
struct aptpin_file {
	const char *path;
	struct lks_buf data;
	struct lks_dockerfile *df;
	struct aptrun run;
};

int aptpin_file_load(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                     struct aptpin_file *f);
void aptpin_file_free(struct aptpin_file *f);
/* Warnings for shell expansions, patterns and local .debs (nothing for other words). */
int aptpin_report_unpinnable(const struct aptpin_file *f, const struct lks_apt_word *w, size_t line,
                             struct lks_findings *out);
/* lks_apt_cmd_scan of a unit; a command that cannot be lexed becomes a warning and no
 * commands. cmds is initialised by this call. */
int aptpin_scan_unit(struct lks_ctx *ctx, const struct aptpin_file *f, const struct aptrun_unit *u,
                     struct lks_apt_cmds *cmds, struct lks_findings *out);
