/* apt files added by a Dockerfile's own instructions (see apt_files.h). */
#include "pinner/apt/apt_files.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_cmd.h"
#include "pinner/apt/apt_image.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "pinner/apt/apt_pinner_int.h"
#include "pinner/dockerfile/df_copy.h"

#define MAX_CONTEXT_FILE ((size_t)1 << 20)
#define MAX_FILES 4096

void apt_files_free(struct apt_files *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].path);
		free(a->v[i].data);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* "/etc//apt/./x" -> "/etc/apt/x"; NULL for a relative path or one with "..". */
static char *norm_abs(const char *p)
{
	char out[DF_PATH_MAX];
	if (p[0] != '/' || strstr(p, "..") || !df_path_join("/", p, out, sizeof(out))) {
		return NULL;
	}
	return strdup(out);
}

static bool wanted(const char *path)
{
	return !strncmp(path, "/etc/apt/", 9) || ends_with(path, ".gpg") || ends_with(path, ".asc");
}

/* Takes data (malloc'd, NUL-terminated) in every case. */
static int add(struct apt_files *a, size_t instr, size_t stage, const char *path, char *data,
               size_t len, bool append)
{
	char *p = norm_abs(path);
	if (!p || !wanted(p) || a->n >= MAX_FILES) {
		free(p);
		free(data);
		return 0;
	}
	struct aptfile *nv = realloc(a->v, (a->n + 1) * sizeof(*nv));
	if (!nv) {
		free(p);
		free(data);
		return -ENOMEM;
	}
	a->v = nv;
	a->v[a->n++] = (struct aptfile){instr, stage, p, data, len, append};
	return 0;
}

static int from_unit(struct lks_ctx *ctx, const struct apt_run_unit *u, struct apt_files *a)
{
	struct lks_apt_cmds cmds;
	lks_apt_cmds_init(&cmds);
	int rc = lks_apt_cmd_scan(ctx, u->text, u->len, &cmds);
	if (rc == -LKS_E_PARSE || rc == -LKS_E_TOOBIG) {
		ctx->err[0] = '\0'; /* the apt scan reports it */
		rc = 0;
	}
	for (size_t i = 0; rc == 0 && i < cmds.n_writes; i++) {
		const struct lks_apt_write *w = &cmds.writes[i];
		char *d = strdup(w->text);
		rc = d ? add(a, u->instr, u->stage, w->path, d, strlen(d), w->append) : -ENOMEM;
	}
	lks_apt_cmds_free(&cmds);
	return rc;
}

/* ---- COPY / ADD ---- */

/* A heredoc body as the builder writes it: <<- strips leading tabs. NULL when it expands. */
static char *heredoc_body(const struct lks_dockerfile *df, const struct lks_df_heredoc *h,
                          size_t *len)
{
	const char *s = df->data + h->off;
	if (h->expand && memchr(s, '$', h->len)) {
		return NULL;
	}
	char *out = malloc(h->len + 1);
	size_t n = 0;
	bool bol = true;
	for (size_t i = 0; out && i < h->len; i++) {
		if (!(h->chomp && bol && s[i] == '\t')) {
			out[n++] = s[i];
		}
		bol = s[i] == '\n' || (bol && h->chomp && s[i] == '\t');
	}
	if (out) {
		out[n] = '\0';
	}
	*len = n;
	return out;
}

static const struct lks_df_heredoc *heredoc_named(const struct lks_df_instr *in, const char *arg)
{
	if (strncmp(arg, "<<", 2)) {
		return NULL;
	}
	arg += 2 + (arg[2] == '-');
	size_t n = strlen(arg);
	if (n >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[n - 1] == arg[0]) {
		arg++;
		n -= 2;
	}
	for (size_t h = 0; h < in->nheredocs; h++) {
		if (strlen(in->heredocs[h].name) == n && !strncmp(in->heredocs[h].name, arg, n)) {
			return &in->heredocs[h];
		}
	}
	return NULL;
}

/* A source file of the build context (the Dockerfile's directory). */
static char *context_file(const char *dockerfile, const char *src, size_t *len)
{
	if (strstr(src, "://") || strpbrk(src, "*?[") || strstr(src, "..")) {
		return NULL;
	}
	const char *slash = strrchr(dockerfile, '/');
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%.*s%s", slash ? (int)(slash - dockerfile + 1) : 0, dockerfile,
	             src[0] == '/' ? src + 1 : src) < 0) {
		return NULL;
	}
	struct lks_buf b;
	lks_buf_init(&b, MAX_CONTEXT_FILE);
	if (lks_buf_read_file(&b, path) < 0) {
		lks_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return lks_buf_detach(&b);
}

static int copy_src(const struct apt_pinner_file *f, const struct df_copy *c, size_t instr,
                    size_t stage, const char *src, struct apt_files *a)
{
	const struct lks_df_instr *in = c->in;
	const struct lks_df_heredoc *h = in->json ? NULL : heredoc_named(in, src);
	char to[DF_PATH_MAX];
	if ((!h && df_copy_source_remote(src)) ||
	    !df_copy_target(c, h ? h->name : src, false, to, sizeof(to)) || !wanted(to)) {
		return 0; /* not read: only apt files matter */
	}
	size_t len = 0;
	char *data = h ? heredoc_body(f->df, h, &len) : context_file(f->path, src, &len);
	return data ? add(a, instr, stage, to, data, len, false) : 0;
}

static int from_copy(const struct apt_pinner_file *f, const struct df_fsview *v, size_t instr,
                     size_t stage, struct apt_files *a)
{
	struct df_copy c;
	if (!df_copy_resolve(v, &f->df->instrs[instr], &c) || !c.context) {
		return 0; /* another stage or image: not followed */
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i + 1 < c.in->nargs; i++) {
		rc = copy_src(f, &c, instr, stage, c.in->args[i].value, a);
	}
	return rc;
}

/* A new stage's view: its parent stage's, else an image with apt's directories. */
static int stage_view(const struct apt_pinner_file *f, size_t from, struct df_fsview *views,
                      size_t stage, const char *context)
{
	static const char *const dirs[] = {"/etc/apt/sources.list.d", "/etc/apt/keyrings",
	                                   "/etc/apt/trusted.gpg.d", "/etc/apt/preferences.d",
	                                   "/usr/share/keyrings"};
	int parent = df_stage_parent(f->df, from);
	if (parent >= 0 && (size_t)parent < stage) {
		return df_fsview_copy(&views[stage], &views[parent]);
	}
	df_fsview_init(&views[stage], context);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		rc = df_fsview_add(&views[stage], dirs[i], true);
	}
	return rc;
}

static size_t count_stages(const struct lks_dockerfile *df)
{
	size_t n = 0;
	for (size_t i = 0; i < df->ninstrs; i++) {
		n += !strcmp(df->instrs[i].keyword, "FROM");
	}
	return n;
}

static int collect(struct lks_ctx *ctx, const struct apt_pinner_file *f, struct df_fsview *views,
                   const char *context, struct apt_files *out)
{
	size_t stage = 0, unit = 0;
	bool seen_from = false;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < f->df->ninstrs; i++) {
		const struct lks_df_instr *in = &f->df->instrs[i];
		if (!strcmp(in->keyword, "FROM")) {
			stage += seen_from;
			seen_from = true;
			rc = stage_view(f, i, views, stage, context);
		} else if (seen_from) {
			rc = from_copy(f, &views[stage], i, stage, out);
			rc = rc ? rc : df_fsview_step(&views[stage], in);
		}
		for (; rc == 0 && unit < f->run.n && f->run.v[unit].instr == i; unit++) {
			rc = from_unit(ctx, &f->run.v[unit], out);
		}
	}
	return rc;
}

int apt_files_collect(struct lks_ctx *ctx, const struct apt_pinner_file *f, struct apt_files *out)
{
	memset(out, 0, sizeof(*out));
	size_t n = count_stages(f->df);
	struct df_fsview *views = calloc(n ? n : 1, sizeof(*views));
	const char *slash = strrchr(f->path, '/');
	_cleanup_free_ char *context = !slash ? strdup(".")
	                               : slash == f->path
	                                   ? strdup("/")
	                                   : strndup(f->path, (size_t)(slash - f->path));
	int rc = views && context ? collect(ctx, f, views, context, out) : -ENOMEM;
	for (size_t i = 0; views && i < n; i++) {
		df_fsview_free(&views[i]);
	}
	free(views);
	if (rc < 0) {
		apt_files_free(out);
	}
	return rc;
}

static int push(struct lks_apt_file **v, size_t *n, const struct aptfile *e)
{
	struct lks_apt_file *nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = (struct lks_apt_file){e->path, e->data, e->len, e->append};
	return 0;
}

int apt_files_for(const struct apt_files *a, const size_t *parent, size_t stage, size_t instr,
                  struct lks_apt_file **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc = 0;
	size_t chain[64], depth = 0;
	for (size_t s = stage; s != SIZE_MAX && depth < 64; s = parent[s]) {
		chain[depth++] = s;
	}
	/* oldest ancestor first; every file of an ancestor precedes the stage's own */
	for (size_t d = depth; rc == 0 && d-- > 0;) {
		for (size_t i = 0; rc == 0 && i < a->n; i++) {
			const struct aptfile *e = &a->v[i];
			if (e->stage == chain[d] && (d > 0 || e->instr < instr)) {
				rc = push(out, n, e);
			}
		}
	}
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
