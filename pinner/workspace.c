#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/array.h"
#include "lockstep/atomic.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "pinner/workspace.h"

void lks_ws_init(struct lks_workspace *ws)
{
	memset(ws, 0, sizeof(*ws));
}

static void ws_file_free(struct lks_ws_file *f)
{
	if (!f) {
		return;
	}
	free(f->path);
	lks_buf_free(&f->orig);
	lks_buf_free(&f->cur);
	free(f);
}

void lks_ws_free(struct lks_workspace *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		ws_file_free(ws->v[i]);
	}
	free(ws->v);
	ws_dockerfiles_free(&ws->dfs);
	lks_ws_init(ws);
}

static struct lks_ws_file *ws_find(struct lks_workspace *ws, const char *path)
{
	for (size_t i = 0; i < ws->n; i++) {
		if (!strcmp(ws->v[i]->path, path)) {
			return ws->v[i];
		}
	}
	return NULL;
}

static int ws_add(struct lks_workspace *ws, const char *path, size_t max, struct lks_ws_file **out)
{
	if (LKS_GROW(ws->v, ws->cap, ws->n + 1, 8) < 0) {
		return -ENOMEM;
	}
	struct lks_ws_file *f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return -ENOMEM;
	}
	lks_buf_init(&f->orig, max);
	lks_buf_init(&f->cur, 0);
	ws->v[ws->n++] = f;
	*out = f;
	return 0;
}

static int ws_read(struct lks_ctx *ctx, struct lks_ws_file *f, size_t max, bool allow_missing)
{
	int rc = lks_buf_read_file(&f->orig, f->path);
	if (rc == -ENOENT && allow_missing) {
		lks_buf_reset(&f->orig);
		return 0;
	}
	if (rc == -LKS_E_TOOBIG) {
		return lks_err(ctx, rc, "cannot read '%s': larger than %zu bytes", f->path, max);
	}
	if (rc < 0) {
		return lks_err(ctx, rc, "cannot read '%s': %s", f->path, strerror(-rc));
	}
	f->exists = true;
	return lks_buf_append(&f->cur, f->orig.data ? f->orig.data : "", f->orig.len);
}

int lks_ws_get(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path, size_t max,
               bool allow_missing, struct lks_ws_file **out)
{
	struct lks_ws_file *f = ws_find(ws, path);
	if (f) {
		if (!f->exists && !allow_missing && !lks_ws_file_changed(f)) {
			return lks_err(ctx, -ENOENT, "cannot read '%s': %s", path,
			               strerror(ENOENT));
		}
		*out = f;
		return 0;
	}
	int rc = ws_add(ws, path, max, &f);
	if (rc < 0) {
		return rc;
	}
	rc = ws_read(ctx, f, max, allow_missing);
	if (rc < 0) {
		ws_file_free(f);
		ws->n--;
		return rc;
	}
	*out = f;
	return 0;
}

int lks_ws_set(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path, const char *data,
               size_t len)
{
	struct lks_ws_file *f;
	int rc = lks_ws_get(ctx, ws, path, LKS_BUF_DEFAULT_MAX, true, &f);
	if (rc < 0) {
		return rc;
	}
	lks_buf_reset(&f->cur);
	return lks_buf_append(&f->cur, data, len);
}

bool lks_ws_file_changed(const struct lks_ws_file *f)
{
	if (!f->exists) {
		return f->cur.len > 0;
	}
	return f->cur.len != f->orig.len ||
	       memcmp(f->cur.data ? f->cur.data : "", f->orig.data ? f->orig.data : "", f->cur.len);
}

/* Refuse a read-only file up front: the atomic rename would otherwise replace it silently
 * (and root ignores permission bits). A new file needs a writable directory. */
static int ws_writable(struct lks_ctx *ctx, const struct lks_ws_file *f)
{
	struct stat st;
	if (!f->exists) {
		_cleanup_free_ char *copy = strdup(f->path);
		if (!copy) {
			return -ENOMEM;
		}
		const char *dir = dirname(copy);
		if (access(dir, W_OK) < 0) {
			return lks_err(ctx, -errno, "cannot write '%s': %s", f->path,
			               strerror(errno));
		}
		return 0;
	}
	if (stat(f->path, &st) < 0) {
		return lks_err(ctx, -errno, "cannot write '%s': %s", f->path, strerror(errno));
	}
	if (!(st.st_mode & 0222) || access(f->path, W_OK) < 0) {
		return lks_err(ctx, -EACCES, "cannot write '%s': the file is read-only", f->path);
	}
	return 0;
}

int lks_ws_commit(struct lks_ctx *ctx, struct lks_workspace *ws, const char *journal,
                  size_t *written)
{
	*written = 0;
	_cleanup_free_ struct lks_commit_file *cf = calloc(ws->n + 1, sizeof(*cf));
	if (!cf) {
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < ws->n; i++) {
		const struct lks_ws_file *f = ws->v[i];
		if (!lks_ws_file_changed(f)) {
			continue;
		}
		int rc = ws_writable(ctx, f);
		if (rc < 0) {
			return rc;
		}
		cf[n++] = (struct lks_commit_file){
		    .path = f->path,
		    .data = f->cur.data,
		    .len = f->cur.len,
		    .orig = f->orig.data,
		    .orig_len = f->orig.len,
		    .existed = f->exists,
		};
	}
	int rc = lks_commit_files(ctx, journal, cf, n);
	if (rc == 0) {
		*written = n;
	}
	return rc;
}
