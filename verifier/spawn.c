/* Child processes for builders: fork/exec rather than posix_spawn because the child needs
 * a umask, a process group and optionally its own UTS namespace before exec. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "verifier/spawn.h"

#define SPAWN_TAIL_MAX 8192  /* output kept for error messages */
#define SPAWN_GRACE_MS 3000  /* SIGTERM to SIGKILL */
#define SPAWN_LINGER_MS 2000 /* after exit, how long stragglers may hold the pipe */

extern char **environ;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Only async-signal-safe calls from here to exec. */
static void child(const struct spawn_opts *o, int out_fd, int err_fd)
{
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	if (o->umask >= 0) {
		umask((mode_t)o->umask);
	}
	if (o->hostname &&
	    (unshare(CLONE_NEWUTS) < 0 || sethostname(o->hostname, strlen(o->hostname)) < 0)) {
		goto fail;
	}
	if (o->cwd && chdir(o->cwd) < 0) {
		goto fail;
	}
	int nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) {
		goto fail;
	}
	execvpe(o->argv[0], o->argv, o->envp ? o->envp : environ);
fail:;
	int e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0) {
		_exit(127);
	}
	_exit(127);
}

static void keep_tail(struct lks_buf *t, const char *p, size_t n)
{
	if (n >= SPAWN_TAIL_MAX) {
		lks_buf_reset(t);
		lks_buf_append(t, p + n - SPAWN_TAIL_MAX, SPAWN_TAIL_MAX);
		return;
	}
	if (t->len + n > SPAWN_TAIL_MAX) {
		size_t drop = t->len + n - SPAWN_TAIL_MAX;
		memmove(t->data, t->data + drop, t->len - drop);
		t->len -= drop;
		t->data[t->len] = '\0';
	}
	lks_buf_append(t, p, n);
}

struct pump {
	const struct spawn_opts *o;
	pid_t pid;
	int fd;
	bool reaped;
	int wstatus;
	int stage; /* 0 running, 1 sent SIGTERM, 2 sent SIGKILL */
	long next; /* when the next escalation is due, 0: never */
	bool timed_out;
	bool cancelled;
};

static int deliver(struct pump *p)
{
	char chunk[65536];
	ssize_t n = read(p->fd, chunk, sizeof(chunk));
	if (n < 0) {
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	}
	if (n == 0) {
		close(p->fd);
		p->fd = -1;
		return 0;
	}
	if (p->o->log_fd >= 0 && write(p->o->log_fd, chunk, (size_t)n) != n) {
		return errno ? -errno : -EIO;
	}
	if (p->o->tail) {
		keep_tail(p->o->tail, chunk, (size_t)n);
	}
	if (p->o->live) {
		p->o->live(p->o->live_opaque, chunk, (size_t)n);
	}
	return 0;
}

/* Escalate when a deadline passes: the deadline itself, the grace period after SIGTERM, and
 * the time stragglers may keep the pipe open after the child exited. */
static void escalate(struct pump *p, long t)
{
	if (!p->next || t < p->next) {
		return;
	}
	if (p->reaped || p->stage >= 1) {
		kill(-p->pid, SIGKILL);
		p->stage = 2;
		p->next = 0;
		if (p->reaped && p->fd >= 0) {
			close(p->fd); /* a straggler outside our group may still hold it */
			p->fd = -1;
		}
		return;
	}
	p->timed_out = true;
	kill(-p->pid, SIGTERM);
	p->stage = 1;
	p->next = t + SPAWN_GRACE_MS;
}

static int pump_loop(struct pump *p)
{
	int rc = 0;
	while (!p->reaped || p->fd >= 0) {
		if (p->fd >= 0) {
			struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
			int n = poll(&pfd, 1, 50);
			if (n > 0 && (rc = deliver(p)) < 0) {
				kill(-p->pid, SIGKILL);
				close(p->fd);
				p->fd = -1;
			}
		} else {
			struct timespec ts = {0, 20 * 1000000L};
			nanosleep(&ts, NULL);
		}
		if (!p->reaped && waitpid(p->pid, &p->wstatus, WNOHANG) == p->pid) {
			p->reaped = true;
			p->next = now_ms() + SPAWN_LINGER_MS;
		}
		if (p->o->cancel && *p->o->cancel && !p->cancelled && !p->reaped) {
			p->cancelled = true;
			p->next = now_ms(); /* stop it now, as on a timeout */
		}
		escalate(p, now_ms());
	}
	return rc;
}

/* The child reports a failure before exec through a close-on-exec pipe: EOF means exec ran. */
static int exec_error(int fd)
{
	int e = 0;
	ssize_t n;
	do {
		n = read(fd, &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	close(fd);
	return n == (ssize_t)sizeof(e) ? (e ? e : EIO) : 0;
}

static int start(struct lks_ctx *ctx, const struct spawn_opts *o, pid_t *pid, int *out_fd)
{
	int out[2], ep[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		return lks_err(ctx, -errno, "cannot create a pipe: %s", strerror(errno));
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		int e = errno;
		close(out[0]);
		close(out[1]);
		return lks_err(ctx, -e, "cannot create a pipe: %s", strerror(e));
	}
	*pid = fork();
	if (*pid == 0) {
		child(o, out[1], ep[1]);
	}
	int fork_errno = errno;
	close(out[1]);
	close(ep[1]);
	if (*pid < 0) {
		close(out[0]);
		close(ep[0]);
		return lks_err(ctx, -fork_errno, "cannot fork: %s", strerror(fork_errno));
	}
	setpgid(*pid, *pid); /* also in the parent, so a kill right away reaches the group */
	int e = exec_error(ep[0]);
	if (e) {
		close(out[0]);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {
		}
		const char *what = e == ENOENT ? "not found" : strerror(e);
		return lks_err(ctx, -e, "cannot run '%s': %s", o->argv[0], what);
	}
	*out_fd = out[0];
	return 0;
}

int spawn_run(struct lks_ctx *ctx, const struct spawn_opts *o, int *status)
{
	struct pump p = {.o = o, .fd = -1};
	int rc = start(ctx, o, &p.pid, &p.fd);
	if (rc < 0) {
		return rc;
	}
	if (o->timeout_ms > 0) {
		p.next = now_ms() + o->timeout_ms;
	}
	rc = pump_loop(&p);
	if (p.cancelled) {
		kill(-p.pid, SIGKILL);
		return lks_err(ctx, -ECANCELED, "interrupted: '%s' stopped", o->argv[0]);
	}
	if (p.timed_out) {
		kill(-p.pid, SIGKILL);
		return lks_err(ctx, -LKS_E_TIMEOUT, "'%s' did not finish within %ld s: killed",
		               o->argv[0], o->timeout_ms / 1000);
	}
	if (rc < 0) {
		return lks_err(ctx, rc, "cannot keep the output of '%s': %s", o->argv[0],
		               strerror(-rc));
	}
	if (WIFEXITED(p.wstatus)) {
		*status = WEXITSTATUS(p.wstatus);
	} else {
		*status = 128 + (WIFSIGNALED(p.wstatus) ? WTERMSIG(p.wstatus) : 0);
	}
	return 0;
}
