/* Directory trees: recursive copy and removal with directory file descriptors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "verifier/tree.h"

struct copy {
	struct lks_ctx *ctx;
	const char *src, *dst; /* roots, absolute */
	char rel[PATH_MAX];    /* current directory relative to the roots */
};

/* Ownership is copied when we may (root); otherwise the files stay ours. */
static void keep_owner(int fd, const struct stat *st)
{
	if (fchown(fd, st->st_uid, st->st_gid) < 0) {
		return;
	}
}

static int copy_bytes(struct copy *c, int sfd, int dfd, const char *name, const struct stat *st)
{
	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out =
	    in < 0
	        ? -1
	        : openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (in < 0 || out < 0) {
		return lks_err(c->ctx, -errno, "cannot copy '%s/%s%s': %s", c->src, c->rel, name,
		               strerror(errno));
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			return lks_err(c->ctx, errno ? -errno : -EIO, "cannot write '%s/%s%s': %s",
			               c->dst, c->rel, name, strerror(errno ? errno : EIO));
		}
	}
	if (n < 0) {
		return lks_err(c->ctx, -errno, "cannot read '%s/%s%s': %s", c->src, c->rel, name,
		               strerror(errno));
	}
	fchmod(out, st->st_mode & 07777); /* the umask applied at creation */
	keep_owner(out, st);
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	futimens(out, ts);
	return 0;
}

static int copy_link(struct copy *c, int sfd, int dfd, const char *name, const struct stat *st)
{
	char target[PATH_MAX], moved[PATH_MAX];
	ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
	if (n < 0) {
		return lks_err(c->ctx, -errno, "cannot read link '%s/%s%s'", c->src, c->rel, name);
	}
	target[n] = '\0';
	size_t sl = strlen(c->src);
	const char *t = target;
	if (!strncmp(target, c->src, sl) && (target[sl] == '/' || !target[sl])) {
		snprintf(moved, sizeof(moved), "%s%s", c->dst, target + sl);
		t = moved;
	}
	if (symlinkat(t, dfd, name) < 0) {
		return lks_err(c->ctx, -errno, "cannot create link '%s/%s%s'", c->dst, c->rel,
		               name);
	}
	fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int copy_dir(struct copy *c, int sfd, int dfd, int depth);

static int copy_sub(struct copy *c, int sfd, int dfd, const char *name, const struct stat *st,
                    int depth)
{
	size_t len = strlen(c->rel);
	if (depth >= TREE_MAX_DEPTH || len + strlen(name) + 2 >= sizeof(c->rel)) {
		return lks_err(c->ctx, -LKS_E_TOOBIG, "'%s/%s%s' is nested too deeply", c->src,
		               c->rel, name);
	}
	if (mkdirat(dfd, name, 0700) < 0) {
		return lks_err(c->ctx, -errno, "cannot create '%s/%s%s': %s", c->dst, c->rel, name,
		               strerror(errno));
	}
	_cleanup_close_ int s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0 || d < 0) {
		return lks_err(c->ctx, -errno, "cannot open '%s/%s%s'", c->src, c->rel, name);
	}
	snprintf(c->rel + len, sizeof(c->rel) - len, "%s/", name);
	int rc = copy_dir(c, s, d, depth + 1);
	c->rel[len] = '\0';
	fchmod(d, st->st_mode & 07777);
	keep_owner(d, st);
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	futimens(d, ts); /* after the children, which touched it */
	return rc;
}

static int copy_dir(struct copy *c, int sfd, int dfd, int depth)
{
	DIR *dir = fdopendir(dup(sfd));
	if (!dir) {
		return lks_err(c->ctx, -errno, "cannot list '%s/%s'", c->src, c->rel);
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(dir))) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
			continue;
		}
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = lks_err(c->ctx, -errno, "cannot stat '%s/%s%s'", c->src, c->rel,
			             e->d_name);
		} else if (S_ISDIR(st.st_mode)) {
			rc = copy_sub(c, sfd, dfd, e->d_name, &st, depth);
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_bytes(c, sfd, dfd, e->d_name, &st);
		} else if (S_ISLNK(st.st_mode)) {
			rc = copy_link(c, sfd, dfd, e->d_name, &st);
		}
	}
	closedir(dir);
	return rc;
}

int tree_copy(struct lks_ctx *ctx, const char *src, const char *dst)
{
	struct copy c = {.ctx = ctx, .src = src, .dst = dst};
	struct stat st;
	_cleanup_close_ int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s < 0 || fstat(s, &st) < 0) {
		return lks_err(ctx, -errno, "cannot open '%s': %s", src, strerror(errno));
	}
	if (mkdir(dst, 0700) < 0) {
		return lks_err(ctx, -errno, "cannot create '%s': %s", dst, strerror(errno));
	}
	_cleanup_close_ int d = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0) {
		return lks_err(ctx, -errno, "cannot open '%s': %s", dst, strerror(errno));
	}
	int rc = copy_dir(&c, s, d, 0);
	fchmod(d, st.st_mode & 07777);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	futimens(d, ts);
	return rc;
}

static int remove_dir(struct lks_ctx *ctx, int fd, const char *path, dev_t dev, int depth);

static int remove_entry(struct lks_ctx *ctx, int fd, const char *path, const char *name, dev_t dev,
                        int depth)
{
	struct stat st;
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		return errno == ENOENT ? 0
		                       : lks_err(ctx, -errno, "cannot stat '%s/%s'", path, name);
	}
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev != dev || depth >= TREE_MAX_DEPTH) {
			return lks_err(ctx, -EBUSY,
			               "not removing '%s/%s': a mount point or too deep", path,
			               name);
		}
		_cleanup_close_ int sub =
		    openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			return lks_err(ctx, -errno, "cannot open '%s/%s'", path, name);
		}
		int rc = remove_dir(ctx, sub, path, dev, depth + 1);
		if (rc < 0) {
			return rc;
		}
	}
	if (unlinkat(fd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) {
		return lks_err(ctx, -errno, "cannot remove '%s/%s': %s", path, name,
		               strerror(errno));
	}
	return 0;
}

static int remove_dir(struct lks_ctx *ctx, int fd, const char *path, dev_t dev, int depth)
{
	DIR *dir = fdopendir(dup(fd));
	if (!dir) {
		return lks_err(ctx, -errno, "cannot list '%s'", path);
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(dir))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			rc = remove_entry(ctx, fd, path, e->d_name, dev, depth);
		}
	}
	closedir(dir);
	return rc;
}

int tree_remove(struct lks_ctx *ctx, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		return errno == ENOENT ? 0 : lks_err(ctx, -errno, "cannot stat '%s'", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		return unlink(path) < 0 ? lks_err(ctx, -errno, "cannot remove '%s'", path) : 0;
	}
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return lks_err(ctx, -errno, "cannot open '%s'", path);
	}
	int rc = remove_dir(ctx, fd, path, st.st_dev, 0);
	if (rc == 0 && rmdir(path) < 0) {
		rc = lks_err(ctx, -errno, "cannot remove '%s': %s", path, strerror(errno));
	}
	return rc;
}

/* mountinfo escapes blanks, newlines and backslashes in paths as octal: undo it in place. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

/* The mount point (fifth field) of a mountinfo line when it is dir or below it. */
static bool mount_below(char *line, const char *dir, char **point)
{
	char *save = NULL, *f = strtok_r(line, " ", &save);
	for (int i = 1; f && i < 5; i++) {
		f = strtok_r(NULL, " ", &save);
	}
	if (!f) {
		return false;
	}
	unescape_octal(f);
	size_t n = strlen(dir);
	*point = f;
	return !strncmp(f, dir, n) && (f[n] == '/' || !f[n]);
}

int tree_unmount(struct lks_ctx *ctx, const char *path)
{
	char dir[PATH_MAX];
	if (!realpath(path, dir)) {
		return 0; /* gone, or never made */
	}
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char *points[TREE_MAX_MOUNTS], line[PATH_MAX * 2 + 512];
	size_t n = 0;
	int rc = 0;
	while (f && n < TREE_MAX_MOUNTS && fgets(line, sizeof(line), f)) {
		char *p;
		if (mount_below(line, dir, &p) && !(points[n++] = strdup(p))) {
			n--;
			rc = -ENOMEM;
		}
	}
	/* mountinfo lists a mount after the one it sits on: undo them in reverse */
	while (n--) {
		if (rc == 0 && umount2(points[n], MNT_DETACH) < 0 && errno != EINVAL &&
		    errno != ENOENT) {
			rc = lks_err(ctx, -errno, "cannot unmount '%s': %s", points[n],
			             strerror(errno));
		}
		free(points[n]);
	}
	return rc;
}
