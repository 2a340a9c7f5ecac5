/* Atomic writes of one file and of several, and the recovery of an interrupted commit (see
 * include/lockstep/atomic.h for the protocol). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/json.h"

#define TMP_TAG ".lockstep-tmp."
#define JOURNAL_VERSION 1
#define JOURNAL_MAX ((size_t)1 << 20)

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

/* Directory fsync can be unsupported on some file systems (EINVAL): the rename happened. */
static int fsync_dir(const char *dir)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		return -errno;
	}
	return fsync(dfd) < 0 && errno != EINVAL ? -errno : 0;
}

static char *dir_of(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	return copy ? strdup(dirname(copy)) : NULL;
}

static int fsync_dir_of(const char *path)
{
	_cleanup_free_ char *dir = dir_of(path);
	return dir ? fsync_dir(dir) : -ENOMEM;
}

/* A temp file beside path holding data, fsynced; *tmp gets its name (the caller frees it). */
static int temp_write(const char *path, const void *data, size_t len, mode_t mode, char **tmp)
{
	size_t cap = strlen(path) + sizeof(TMP_TAG) + 7;
	char *t = malloc(cap);
	if (!t) {
		return -ENOMEM;
	}
	snprintf(t, cap, "%s" TMP_TAG "XXXXXX", path);
	int fd = mkostemp(t, O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		free(t);
		return rc;
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
	if (rc < 0) {
		unlink(t);
		free(t);
		return rc;
	}
	*tmp = t;
	return 0;
}

static mode_t mode_of(const char *path, mode_t dflt)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mode & 07777 : dflt;
}

int lks_write_file_atomic(struct lks_ctx *ctx, const char *path, const void *data, size_t len,
                          mode_t mode)
{
	_cleanup_free_ char *tmp = NULL;
	int rc = temp_write(path, data, len, mode_of(path, mode), &tmp);
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
	}
	if (rc < 0) {
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

/* ---- stale temp files ---- */

/* "<base>.lockstep-tmp.XXXXXX", or (legacy) "<base>.tmpXXXXXX" as lockstep named them before. */
static bool is_temp_of(const char *name, const char *base, bool legacy)
{
	size_t n = strlen(base);
	if (strncmp(name, base, n)) {
		return false;
	}
	const char *rest = name + n, *x;
	if (!strncmp(rest, TMP_TAG, strlen(TMP_TAG))) {
		x = rest + strlen(TMP_TAG);
	} else if (legacy && !strncmp(rest, ".tmp", 4)) {
		x = rest + 4;
	} else {
		return false;
	}
	for (int i = 0; i < 6; i++) {
		if (!isalnum((unsigned char)x[i])) {
			return false;
		}
	}
	return x[6] == '\0';
}

static void clean_temps_beside(const char *path)
{
	_cleanup_free_ char *d = strdup(path), *b = strdup(path);
	if (!d || !b) {
		return;
	}
	const char *base = basename(b);
	DIR *dir = opendir(dirname(d));
	if (!dir) {
		return;
	}
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (is_temp_of(e->d_name, base, true)) {
			(void)unlinkat(dirfd(dir), e->d_name, 0);
		}
	}
	closedir(dir);
}

/* Temp files of a path, and of the file it names when it is a symlink. */
static void clean_temps(const char *path)
{
	clean_temps_beside(path);
	_cleanup_free_ char *real = realpath(path, NULL);
	if (real && strcmp(real, path)) {
		clean_temps_beside(real);
	}
}

/* ---- the commit ---- */

/* flock on the journal's directory: one commit or recovery at a time per journal. A file
 * system without flock (ENOLCK, EINVAL) runs unlocked. */
static int commit_lock(struct lks_ctx *ctx, const char *journal, int *fd)
{
	_cleanup_free_ char *dir = dir_of(journal);
	if (!dir) {
		return -ENOMEM;
	}
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		return lks_err(ctx, -errno, "cannot open directory '%s': %s", dir, strerror(errno));
	}
	while (flock(*fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			return errno == ENOLCK || errno == EINVAL
			           ? 0
			           : lks_err(ctx, -errno, "cannot lock '%s': %s", dir,
			                     strerror(errno));
		}
	}
	return 0;
}

struct target {
	char *path; /* the file written: an existing file's real path, else the path as named */
	char *tmp;  /* temp file beside it, NULL until written */
	char old[LKS_DIGEST_LEN + 1]; /* sha256 of what the run read, "" when it did not exist */
	char new[LKS_DIGEST_LEN + 1];
};

static void targets_free(struct target *t, size_t n, bool unlink_temps)
{
	for (size_t i = 0; t && i < n; i++) {
		if (unlink_temps && t[i].tmp) {
			unlink(t[i].tmp);
		}
		free(t[i].path);
		free(t[i].tmp);
	}
	free(t);
}

/* The file must still hold what the run read: another writer wins, this run writes nothing. */
static int still_as_read(struct lks_ctx *ctx, const struct lks_commit_file *f)
{
	struct lks_buf cur;
	lks_buf_init(&cur, f->orig_len + 1);
	int rc = lks_buf_read_file(&cur, f->path);
	bool same = f->existed ? rc == 0 && cur.len == f->orig_len &&
	                             !memcmp(cur.data, f->orig ? f->orig : "", cur.len)
	                       : rc == -ENOENT;
	lks_buf_free(&cur);
	if (!same) {
		return lks_err(ctx, -LKS_E_CONFLICT,
		               "'%s' changed on disk while lockstep was running; nothing written "
		               "(run again)",
		               f->path);
	}
	return 0;
}

static int target_init(struct lks_ctx *ctx, const struct lks_commit_file *f, struct target *t)
{
	int rc = still_as_read(ctx, f);
	if (rc < 0) {
		return rc;
	}
	t->path = f->existed ? realpath(f->path, NULL) : NULL;
	if (!t->path && !(t->path = strdup(f->path))) {
		return -ENOMEM;
	}
	if (f->existed && lks_sha256_buf(f->orig ? f->orig : "", f->orig_len, t->old) < 0) {
		return lks_err(ctx, -LKS_E_CRYPTO, "cannot hash '%s'", f->path);
	}
	if (lks_sha256_buf(f->data ? f->data : "", f->len, t->new) < 0) {
		return lks_err(ctx, -LKS_E_CRYPTO, "cannot hash '%s'", f->path);
	}
	clean_temps(t->path);
	return 0;
}

/* Every temp file written and fsynced, then their directories: nothing renamed yet. */
static int write_temps(struct lks_ctx *ctx, const struct lks_commit_file *f, struct target *t,
                       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = temp_write(t[i].path, f[i].data ? f[i].data : "", f[i].len,
		                    mode_of(t[i].path, 0644), &t[i].tmp);
		if (rc < 0) {
			return lks_err(ctx, rc, "cannot write '%s': %s; nothing written", f[i].path,
			               strerror(-rc));
		}
	}
	for (size_t i = 0; i < n; i++) {
		int rc = fsync_dir_of(t[i].path);
		if (rc < 0) {
			return lks_err(ctx, rc, "cannot sync the directory of '%s': %s", f[i].path,
			               strerror(-rc));
		}
	}
	return 0;
}

/* A journal path: relative to the journal's directory when the file is inside it. */
static const char *rel_path(const char *path, const char *base)
{
	size_t n = base ? strlen(base) : 0;
	if (n && !strncmp(path, base, n) && path[n] == '/') {
		return path + n + 1;
	}
	return path;
}

static json_t *journal_entry(const struct target *t, const char *base)
{
	const char *tb = strrchr(t->tmp, '/');
	json_t *path = json_string(rel_path(t->path, base));
	if (!path) {
		return NULL; /* not UTF-8: such a commit is not journaled (see journal_doc) */
	}
	return json_pack("{s:o,s:s,s:s?,s:s}", "path", path, "temp", tb ? tb + 1 : t->tmp, "old",
	                 t->old[0] ? t->old : NULL, "new", t->new);
}

static int journal_doc(struct lks_ctx *ctx, const char *journal, const struct target *t, size_t n,
                       struct lks_buf *out)
{
	_cleanup_free_ char *dir = dir_of(journal);
	_cleanup_free_ char *base = dir ? realpath(dir, NULL) : NULL;
	json_t *files = json_array();
	json_auto_t *doc =
	    json_pack("{s:i,s:o}", "lockstep_commit", JOURNAL_VERSION, "files", files);
	if (!dir || !files || !doc) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = journal_entry(&t[i], base);
		if (!e || json_array_append_new(files, e) < 0) {
			return lks_err(ctx, -LKS_E_INVAL, "cannot record '%s' in '%s'", t[i].path,
			               journal);
		}
	}
	return lks_json_dump_stable(ctx, doc, out);
}

/* The commit point: the journal, written like any file, and its directory synced. */
static int journal_write(struct lks_ctx *ctx, const char *journal, const struct target *t, size_t n)
{
	struct lks_buf b;
	lks_buf_init(&b, JOURNAL_MAX);
	int rc = journal_doc(ctx, journal, t, n, &b);
	_cleanup_free_ char *tmp = NULL;
	if (rc == 0 && (rc = temp_write(journal, b.data, b.len, 0644, &tmp)) == 0 &&
	    rename(tmp, journal) < 0) {
		rc = -errno;
		unlink(tmp);
	}
	lks_buf_free(&b);
	if (rc == 0) {
		rc = fsync_dir_of(journal);
		if (rc < 0) {
			unlink(journal);
		}
	}
	if (rc < 0 && !ctx->err[0]) {
		return lks_err(ctx, rc, "cannot write '%s': %s; nothing written", journal,
		               strerror(-rc));
	}
	return rc;
}

static int rename_all(struct lks_ctx *ctx, const char *journal, struct target *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rename(t[i].tmp, t[i].path) < 0) {
			int err = errno;
			return lks_err(
			    ctx, -err,
			    "cannot write '%s': %s; the commit is recorded in '%s' and the "
			    "next lockstep run completes it",
			    t[i].path, strerror(err), journal);
		}
		free(t[i].tmp);
		t[i].tmp = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = fsync_dir_of(t[i].path);
		if (rc < 0) {
			return lks_err(ctx, rc, "cannot sync the directory of '%s': %s", t[i].path,
			               strerror(-rc));
		}
	}
	return 0;
}

int lks_commit_files(struct lks_ctx *ctx, const char *journal, const struct lks_commit_file *f,
                     size_t n)
{
	if (!n) {
		return 0;
	}
	_cleanup_close_ int lk = -1;
	struct target *t = calloc(n, sizeof(*t));
	int rc = t ? commit_lock(ctx, journal, &lk) : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = target_init(ctx, &f[i], &t[i]);
	}
	if (rc == 0) {
		clean_temps(journal);
		rc = write_temps(ctx, f, t, n);
	}
	/* One file needs no journal: its rename is the commit. */
	if (rc == 0 && n > 1) {
		rc = journal_write(ctx, journal, t, n);
	}
	if (rc < 0) {
		targets_free(t, n, true);
		return rc;
	}
	rc = rename_all(ctx, journal, t, n);
	if (rc == 0 && n > 1) {
		if (unlink(journal) < 0 || fsync_dir_of(journal) < 0) {
			rc = lks_err(ctx, -errno, "cannot remove '%s': %s", journal,
			             strerror(errno));
		}
	}
	targets_free(t, n, false);
	return rc;
}

/* ---- recovery ---- */

/* 1 and the digest when path exists, 0 when it does not, or a negative error. */
static int hash_of(const char *path, char out[static LKS_DIGEST_LEN + 1])
{
	int rc = lks_sha256_file(path, out);
	return rc == -ENOENT ? 0 : rc < 0 ? rc : 1;
}

struct replay {
	const char *journal;
	char *target, *tmp;
	const char *old, *new; /* old NULL: the file did not exist */
};

static int replay_conflict(struct lks_ctx *ctx, const struct replay *r, const char *why)
{
	return lks_err(ctx, -LKS_E_CONFLICT,
	               "cannot complete the interrupted commit recorded in '%s': '%s' %s; "
	               "remove '%s' to give it up",
	               r->journal, r->target, why, r->journal);
}

/* One file of an interrupted commit: rename its temp file unless that already happened. */
static int replay_one(struct lks_ctx *ctx, const struct replay *r)
{
	char cur[LKS_DIGEST_LEN + 1], tmp[LKS_DIGEST_LEN + 1];
	int have = hash_of(r->target, cur);
	int tmp_there = hash_of(r->tmp, tmp);
	if (have < 0 || tmp_there < 0) {
		int rc = have < 0 ? have : tmp_there;
		return lks_err(ctx, rc, "cannot read '%s': %s", have < 0 ? r->target : r->tmp,
		               strerror(-rc));
	}
	bool is_new = have && lks_digest_equal(cur, r->new);
	if (!tmp_there) {
		return is_new ? 0 : replay_conflict(ctx, r, "no longer holds what it recorded");
	}
	if (!lks_digest_equal(tmp, r->new)) {
		return replay_conflict(ctx, r, "has a temp file that does not hold its new bytes");
	}
	if (is_new) {
		return unlink(r->tmp) < 0 ? -errno : 0;
	}
	bool is_old = r->old ? have && lks_digest_equal(cur, r->old) : !have;
	if (!is_old) {
		return replay_conflict(ctx, r, "changed since");
	}
	if (rename(r->tmp, r->target) < 0) {
		return lks_err(ctx, -errno, "cannot write '%s': %s", r->target, strerror(errno));
	}
	return fsync_dir_of(r->target);
}

static char *join_path(const char *dir, const char *p)
{
	char *s = NULL;
	bool here = p[0] == '/' || !strcmp(dir, ".");
	if (here ? asprintf(&s, "%s", p) < 0 : asprintf(&s, "%s/%s", dir, p) < 0) {
		return NULL;
	}
	return s;
}

static int replay_entry(struct lks_ctx *ctx, const char *journal, const char *dir, json_t *e,
                        struct lks_buf *names)
{
	const char *path = lks_json_str(e, "path"), *temp = lks_json_str(e, "temp");
	struct replay r = {
	    .journal = journal, .old = lks_json_str(e, "old"), .new = lks_json_str(e, "new")};
	if (!path || !*path || !temp || strchr(temp, '/') || !r.new || !lks_digest_valid(r.new) ||
	    (r.old && !lks_digest_valid(r.old))) {
		return lks_err(ctx, -LKS_E_PARSE, "'%s' is not a lockstep commit record", journal);
	}
	r.target = join_path(dir, path);
	_cleanup_free_ char *tdir = r.target ? dir_of(r.target) : NULL;
	_cleanup_free_ char *tbase = strdup(path);
	r.tmp = tdir ? join_path(tdir, temp) : NULL;
	if (!r.tmp || !tbase) {
		free(r.target);
		free(r.tmp);
		return -ENOMEM;
	}
	/* Only a temp file of that very name is ever renamed or removed. */
	int rc = is_temp_of(temp, basename(tbase), false)
	             ? replay_one(ctx, &r)
	             : lks_err(ctx, -LKS_E_PARSE, "'%s' is not a lockstep commit record", journal);
	if (rc == 0 && path[0] != '/') {
		clean_temps(r.target); /* beside files of this tree only: the record is a file */
	}
	if (rc == 0) {
		rc = lks_buf_printf(names, "%s'%s'", names->len ? ", " : "", path);
	}
	free(r.target);
	free(r.tmp);
	return rc;
}

static int replay(struct lks_ctx *ctx, const char *journal, const struct lks_buf *b)
{
	json_auto_t *doc = NULL;
	int rc = lks_json_parse(ctx, b->data, b->len, JOURNAL_MAX, journal, &doc);
	if (rc < 0) {
		return rc;
	}
	json_t *v = json_object_get(doc, "lockstep_commit");
	if (!json_is_integer(v) || json_integer_value(v) != JOURNAL_VERSION) {
		return lks_err(ctx, -LKS_E_VERSION,
		               "'%s' is not a version %d lockstep commit record", journal,
		               JOURNAL_VERSION);
	}
	_cleanup_free_ char *dir = dir_of(journal);
	json_t *files = json_object_get(doc, "files"), *e;
	size_t i;
	struct lks_buf names;
	lks_buf_init(&names, 0);
	rc = dir ? 0 : -ENOMEM;
	json_array_foreach(files, i, e)
	{
		if (rc == 0) {
			rc = replay_entry(ctx, journal, dir, e, &names);
		}
	}
	if (rc == 0 && (unlink(journal) < 0 || fsync_dir(dir) < 0)) {
		rc = lks_err(ctx, -errno, "cannot remove '%s': %s", journal, strerror(errno));
	}
	if (rc == 0) {
		lks_warn(ctx, "warning: completed the commit an interrupted run left in '%s': %s",
		         journal, names.data ? names.data : "");
	}
	lks_buf_free(&names);
	return rc;
}

int lks_commit_recover(struct lks_ctx *ctx, const char *journal, const char *const *paths, size_t n)
{
	_cleanup_close_ int lk = -1;
	int rc = commit_lock(ctx, journal, &lk);
	if (rc < 0) {
		return rc;
	}
	struct lks_buf b;
	lks_buf_init(&b, JOURNAL_MAX);
	rc = lks_read_file_optional(ctx, journal, "commit record", &b);
	if (rc > 0) {
		rc = replay(ctx, journal, &b);
	}
	lks_buf_free(&b);
	if (rc < 0) {
		return rc;
	}
	clean_temps(journal);
	for (size_t i = 0; i < n; i++) {
		clean_temps(paths[i]);
	}
	return 0;
}
