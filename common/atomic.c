#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	if (!copy) {
		return -ENOMEM;
	}
	_cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		return -errno;
	}
	/* Directory fsync can be unsupported on some file systems; the rename already happened. */
	(void)fsync(dfd);
	return 0;
}

int lks_write_file_atomic(struct lks_ctx *ctx, const char *path, const void *data, size_t len,
			  mode_t mode)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
	}
	size_t n = strlen(path);
	_cleanup_free_ char *tmp = malloc(n + 16);
	if (!tmp) {
		return -ENOMEM;
	}
	snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		return lks_err(ctx, -errno, "cannot write '%s': %s", path, strerror(errno));
	}
	int rc = write_all(fd, data, len);
	if (rc == 0 && fchmod(fd, mode) < 0) {
		rc = -errno;
	}
	if (rc == 0 && fsync(fd) < 0) {
		rc = -errno;
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
	}
	if (rc < 0) {
		unlink(tmp);
		return lks_err(ctx, rc, "cannot write '%s': %s", path, strerror(-rc));
	}
	return fsync_dir_of(path);
}

int lks_read_file_optional(struct lks_ctx *ctx, const char *path, const char *what,
			   struct lks_buf *b)
{
	int rc = lks_buf_read_file(b, path);
	if (rc == -ENOENT) {
		lks_buf_reset(b);
		return 0;
	}
	if (rc < 0) {
		lks_buf_reset(b);
		return lks_err(ctx, rc, "cannot read %s '%s': %s", what, path, lks_strerror(rc));
	}
	return 1;
}
