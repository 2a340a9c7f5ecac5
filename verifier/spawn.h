/* Running a builder as a child process: fork/exec in its own process group, stdout and
 * stderr captured through one pipe, a deadline that kills the whole group. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;
struct lks_buf;

typedef void (*spawn_output_fn)(void *opaque, const char *data, size_t len);

struct spawn_opts {
	char *const *argv;    /* argv[0] is looked up in PATH */
	char *const *envp;    /* NULL: the current environment */
	const char *cwd;      /* NULL: inherit */
	int umask;            /* -1: inherit */
	const char *hostname; /* non-NULL: run in a new UTS namespace with this hostname */
	int log_fd;           /* the child's output is appended here; -1: not kept */
	struct lks_buf *tail; /* non-NULL: the output is also collected here (bounded) */
	long timeout_ms;      /* 0: no deadline */
	spawn_output_fn live; /* non-NULL: the output is also passed here as it arrives */
	void *live_opaque;
	const volatile sig_atomic_t *cancel; /* non-NULL: when it becomes non-zero, the group is
	                                      * stopped as on a timeout */
};

/* Run a child to completion. *status is its exit code (128 + signal when killed by one).
 * Returns 0 when it ran, -LKS_E_TIMEOUT when the deadline passed (the group was sent SIGTERM,
 * then SIGKILL after a grace period), -ENOENT when argv[0] cannot be found, another
 * negative error when it could not be started, -ECANCELED when *cancel was set; a detail
 * is left in ctx. */
int spawn_run(struct lks_ctx *ctx, const struct spawn_opts *o, int *status);
