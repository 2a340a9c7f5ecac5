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
	if (p[0] != '/' || strstr(p, "..")) {
		return NULL;
	}
	char *out = malloc(strlen(p) + 1);
	size_t n = 0;
	for (const char *c = p; out && *c; c++) {
		if (*c == '/' && (n && out[n - 1] == '/')) {
			continue;
		}
		if (*c == '.' && n && out[n - 1] == '/' && (c[1] == '/' || !c[1])) {
			continue;
		}
		out[n++] = *c;
	}
	while (out && n > 1 && out[n - 1] == '/') {
		n--;
	}
	if (out) {
		out[n] = '\0';
	}
	return out;
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

static bool is_dir_dest(const char *dest, size_t nsrc)
{
	static const char *const dirs[] = {"/etc/apt/sources.list.d", "/etc/apt/keyrings",
	                                   "/etc/apt/trusted.gpg.d", "/etc/apt/preferences.d",
	                                   "/usr/share/keyrings"};
	size_t n = strlen(dest);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t dl = strlen(dirs[i]);
		if (!strncmp(dest, dirs[i], dl) && (n == dl || !strcmp(dest + dl, "/"))) {
			return true;
		}
	}
	return nsrc > 1 || (n && dest[n - 1] == '/');
}

static int copy_src(const struct apt_pinner_file *f, const struct lks_df_instr *in, size_t instr,
                    size_t stage, const char *src, const char *dest, bool dir, struct apt_files *a)
{
	const struct lks_df_heredoc *h = in->json ? NULL : heredoc_named(in, src);
	const char *name = h ? h->name : strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	_cleanup_free_ char *to = NULL;
	if (asprintf(&to, dir ? "%s/%s" : "%s", dest, name) < 0) {
		return -ENOMEM;
	}
	_cleanup_free_ char *norm = norm_abs(to);
	if (!norm || !wanted(norm)) {
		return 0; /* not read: only apt files matter */
	}
	size_t len = 0;
	char *data = h ? heredoc_body(f->df, h, &len) : context_file(f->path, src, &len);
	return data ? add(a, instr, stage, to, data, len, false) : 0;
}

static int from_copy(const struct apt_pinner_file *f, size_t instr, size_t stage,
                     struct apt_files *a)
{
	const struct lks_df_instr *in = &f->df->instrs[instr];
	for (size_t i = 0; i < in->nflags; i++) {
		if (!strcmp(in->flags[i].name, "from")) {
			return 0; /* another stage or image: not followed */
		}
	}
	if (in->nargs < 2) {
		return 0;
	}
	const char *dest = in->args[in->nargs - 1].value;
	bool dir = is_dir_dest(dest, in->nargs - 1);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i + 1 < in->nargs; i++) {
		rc = copy_src(f, in, instr, stage, in->args[i].value, dest, dir, a);
	}
	return rc;
}

int apt_files_collect(struct lks_ctx *ctx, const struct apt_pinner_file *f, struct apt_files *out)
{
	memset(out, 0, sizeof(*out));
	size_t stage = 0, unit = 0;
	bool seen_from = false;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < f->df->ninstrs; i++) {
		const char *kw = f->df->instrs[i].keyword;
		if (!strcmp(kw, "FROM")) {
			stage += seen_from;
			seen_from = true;
		} else if (!strcmp(kw, "COPY") || !strcmp(kw, "ADD")) {
			rc = from_copy(f, i, stage, out);
		}
		for (; rc == 0 && unit < f->run.n && f->run.v[unit].instr == i; unit++) {
			rc = from_unit(ctx, &f->run.v[unit], out);
		}
	}
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
