/* Docker credential helpers: a child process speaking JSON on stdout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common/auth_helper.h"
#include "lockstep/auth.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/json.h"

#define HELPER_OUT_MAX ((size_t)64 << 10)
#define HELPER_TIMEOUT_MS 30000

extern char **environ;

static bool helper_name_ok(const char *n)
{
	size_t len = strlen(n);
	return len > 0 && len < 64 &&
	       strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789._-") == len &&
	       n[0] != '.';
}

/* Write all of s to fd without dying of SIGPIPE if the helper exits early. */
static void write_input(int fd, const char *s)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w <= 0 && errno != EINTR) {
			break;
		}
		if (w > 0) {
			s += w;
			n -= (size_t)w;
		}
	}
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, NULL, &zero) > 0) {
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Read until EOF, the cap, or the timeout; returns 0 or a negative error. */
static int read_output(int fd, struct lks_buf *out)
{
	char tmp[4096];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, HELPER_TIMEOUT_MS);
		if (r == 0) {
			return -LKS_E_TIMEOUT;
		}
		if (r < 0 && errno != EINTR) {
			return -errno;
		}
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n == 0) {
			return 0;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			return -errno;
		}
		if (n > 0 && lks_buf_append(out, tmp, (size_t)n) < 0) {
			return -LKS_E_TOOBIG;
		}
	}
}

static int spawn_helper(const char *prog, int *in_fd, int *out_fd, pid_t *pid)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0) {
		return -errno;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		return -e;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {(char *)prog, (char *)"get", NULL};
	int rc = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		return -rc;
	}
	*in_fd = in[1];
	*out_fd = out[0];
	return 0;
}

static int run_helper(const char *prog, const char *server, struct lks_buf *out, int *status)
{
	int in_fd = -1, out_fd = -1;
	pid_t pid;
	int rc = spawn_helper(prog, &in_fd, &out_fd, &pid);
	if (rc < 0) {
		return rc;
	}
	write_input(in_fd, server);
	close(in_fd);
	rc = read_output(out_fd, out);
	close(out_fd);
	if (rc < 0) {
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
	}
	return rc;
}

static int parse_helper_json(struct lks_ctx *ctx, const char *prog, const struct lks_buf *b,
                             struct lks_credentials *out)
{
	json_auto_t *j = NULL;
	/* The parse error text could quote the secret: replace it with our own message. */
	lks_json_parse(ctx, b->data ? b->data : "", b->len, HELPER_OUT_MAX, "helper output", &j);
	const char *user = lks_json_str(j, "Username");
	const char *secret = lks_json_str(j, "Secret");
	if (!j || !secret) {
		return lks_err(ctx, -LKS_E_AUTH, "credential helper '%s' returned malformed output",
		               prog);
	}
	if (user && !strcmp(user, "<token>")) {
		out->identity_token = strdup(secret);
		return out->identity_token ? 1 : -ENOMEM;
	}
	out->username = strdup(user ? user : "");
	out->password = strdup(secret);
	return out->username && out->password ? 1 : -ENOMEM;
}

int auth_helper_get(struct lks_ctx *ctx, const char *name, const char *server,
                    struct lks_credentials *out)
{
	if (!helper_name_ok(name)) {
		return lks_err(ctx, -LKS_E_AUTH, "invalid credential helper name '%s'", name);
	}
	char prog[96];
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	struct lks_buf b;
	lks_buf_init(&b, HELPER_OUT_MAX);
	int status = 0;
	int rc = run_helper(prog, server, &b, &status);
	if (rc < 0) {
		lks_buf_free(&b);
		return lks_err(ctx, rc == -ENOENT ? -LKS_E_AUTH : rc,
		               "cannot run credential helper "
		               "'%s' for '%s': %s",
		               prog, server, lks_strerror(rc));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bool none = b.data && strstr(b.data, "credentials not found");
		lks_buf_free(&b);
		if (none) {
			return 0;
		}
		return lks_err(ctx, -LKS_E_AUTH, "credential helper '%s' failed for '%s'", prog,
		               server);
	}
	rc = parse_helper_json(ctx, prog, &b, out);
	if (b.data) {
		explicit_bzero(b.data, b.len);
	}
	lks_buf_free(&b);
	return rc;
}
