/* COPY/ADD destinations and the directories a stage is known to have (see df_copy.h). */
#include "pinner/dockerfile/df_copy.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "lockstep/dockerfile.h"

void df_fsview_init(struct df_fsview *v, const char *context)
{
	memset(v, 0, sizeof(*v));
	strcpy(v->workdir, "/");
	v->context = context;
}

void df_fsview_free(struct df_fsview *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->paths[i]);
	}
	free(v->paths);
	free(v->dir);
	memset(v, 0, sizeof(*v));
}

int df_fsview_copy(struct df_fsview *dst, const struct df_fsview *src)
{
	df_fsview_init(dst, src->context);
	memcpy(dst->workdir, src->workdir, sizeof(dst->workdir));
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < src->n; i++) {
		rc = df_fsview_add(dst, src->paths[i], src->dir[i]);
	}
	if (rc < 0) {
		df_fsview_free(dst);
	}
	return rc;
}

int df_fsview_add(struct df_fsview *v, const char *path, bool dir)
{
	for (size_t i = 0; i < v->n; i++) {
		if (!strcmp(v->paths[i], path)) {
			v->dir[i] = v->dir[i] || dir;
			return 0;
		}
	}
	if (v->n >= DF_FSVIEW_MAX) {
		return 0; /* bounded: what is not recorded is not known */
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		char **p = realloc(v->paths, cap * sizeof(*p));
		if (!p) {
			return -ENOMEM;
		}
		v->paths = p;
		bool *d = realloc(v->dir, cap * sizeof(*d));
		if (!d) {
			return -ENOMEM;
		}
		v->dir = d;
		v->cap = cap;
	}
	if (!(v->paths[v->n] = strdup(path))) {
		return -ENOMEM;
	}
	v->dir[v->n++] = dir;
	return 0;
}

bool df_fsview_is_dir(const struct df_fsview *v, const char *path)
{
	size_t n = strlen(path);
	if (!strcmp(path, "/")) {
		return true;
	}
	for (size_t i = 0; i < v->n; i++) {
		const char *p = v->paths[i];
		/* a known path below it makes it a directory */
		if (!strncmp(p, path, n) && (p[n] == '/' || (!p[n] && v->dir[i]))) {
			return true;
		}
	}
	return false;
}

/* Collapse //, drop ".", resolve ".." lexically; p is absolute. */
static void clean_path(char *p)
{
	char *out = p, *s = p;
	while (*s) {
		while (*s == '/') {
			s++;
		}
		size_t n = strcspn(s, "/");
		if (n == 0) {
			break;
		}
		if (n == 1 && s[0] == '.') {
			s += n;
			continue;
		}
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (out > p && *--out != '/') {
			}
			s += n;
			continue;
		}
		*out++ = '/';
		memmove(out, s, n);
		out += n;
		s += n;
	}
	if (out == p) {
		*out++ = '/';
	}
	*out = '\0';
}

bool df_path_join(const char *dir, const char *rel, char *out, size_t len)
{
	bool abs = rel[0] == '/';
	int n = snprintf(out, len, "/%s/%s", abs ? "" : dir, rel);
	if (n < 0 || (size_t)n >= len) {
		out[0] = '\0';
		return false;
	}
	clean_path(out);
	return true;
}

static bool has_variable(const char *s)
{
	return strchr(s, '$') != NULL;
}

bool df_copy_source_remote(const char *src)
{
	return strstr(src, "://") || !strncmp(src, "git@", 4) || !strncmp(src, "<<", 2);
}

bool df_copy_resolve(const struct df_fsview *v, const struct lks_df_instr *in, struct df_copy *c)
{
	if ((strcmp(in->keyword, "COPY") && strcmp(in->keyword, "ADD")) || in->nargs < 2) {
		return false;
	}
	memset(c, 0, sizeof(*c));
	c->in = in;
	c->context = true;
	for (size_t f = 0; f < in->nflags; f++) {
		const struct lks_df_flag *fl = &in->flags[f];
		if (!strcmp(fl->name, "from")) {
			c->context = false;
		} else if (!strcmp(fl->name, "parents")) {
			c->parents = !fl->value || !strcmp(fl->value, "true");
		}
	}
	const char *d = in->args[in->nargs - 1].value;
	size_t dl = strlen(d);
	if (has_variable(d) || (d[0] != '/' && !v->workdir[0]) ||
	    !df_path_join(v->workdir, d, c->dest, sizeof(c->dest))) {
		return false;
	}
	bool slash =
	    !dl || d[dl - 1] == '/' || !strcmp(d, ".") || (dl >= 2 && !strcmp(d + dl - 2, "/."));
	c->into = slash || in->nargs > 2 || c->parents || df_fsview_is_dir(v, c->dest);
	return true;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

bool df_copy_target(const struct df_copy *c, const char *src, bool src_dir, char *out, size_t len)
{
	char s[DF_PATH_MAX];
	int n = snprintf(s, sizeof(s), "%s", src);
	if (n < 0 || (size_t)n >= sizeof(s)) {
		return false;
	}
	while (n > 1 && s[n - 1] == '/') {
		s[--n] = '\0';
	}
	if (c->parents) {
		const char *pivot = strstr(s, "/./");
		/* the path kept: below the pivot, else the whole source path */
		return df_path_join(c->dest, pivot ? pivot + 3 : s[0] == '/' ? s + 1 : s, out, len);
	}
	if (src_dir) {
		return df_path_join(c->dest, ".", out, len);
	}
	return df_path_join(c->dest, c->into ? base_name(s) : ".", out, len);
}

static bool source_is_dir(const struct df_fsview *v, const char *src)
{
	if (!v->context || strpbrk(src, "*?[") || df_copy_source_remote(src)) {
		return false;
	}
	char p[2 * DF_PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", v->context, src);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int step_copy(struct df_fsview *v, const struct lks_df_instr *in)
{
	struct df_copy c;
	if (!df_copy_resolve(v, in, &c)) {
		return 0;
	}
	int rc = df_fsview_add(v, c.dest, c.into);
	for (size_t i = 0; rc == 0 && i + 1 < in->nargs; i++) {
		const char *src = in->args[i].value;
		bool dir = c.context && source_is_dir(v, src);
		char to[DF_PATH_MAX];
		if (!strncmp(src, "<<", 2) || strpbrk(src, "*?[") ||
		    !df_copy_target(&c, src, dir, to, sizeof(to))) {
			continue;
		}
		rc = df_fsview_add(v, to, dir);
	}
	return rc;
}

/* mkdir's options that take the next word as their value */
static bool mkdir_valued(const char *w)
{
	return !strcmp(w, "-m") || !strcmp(w, "--mode") || !strcmp(w, "--context");
}

/* The literal paths of `mkdir [OPTION]... PATH...` in words[i..] up to a shell operator. */
static int step_mkdir(struct df_fsview *v, const struct lks_df_word *w, size_t n, bool json)
{
	bool opts = true;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n && (json || !w[i].op); i++) {
		const char *p = w[i].value;
		if (opts && !strcmp(p, "--")) {
			opts = false;
		} else if (opts && p[0] == '-') {
			i += mkdir_valued(p);
		} else if (!has_variable(p) && !strpbrk(p, "*?[{`~") && v->workdir[0]) {
			char abs[DF_PATH_MAX];
			rc = df_path_join(v->workdir, p, abs, sizeof(abs))
			         ? df_fsview_add(v, abs, true)
			         : 0;
		}
	}
	return rc;
}

static int step_run(struct df_fsview *v, const struct lks_df_instr *in)
{
	if (in->foreign_shell) {
		return 0;
	}
	if (in->json) {
		bool is = in->nargs && !strcmp(base_name(in->args[0].value), "mkdir");
		return is ? step_mkdir(v, in->args + 1, in->nargs - 1, true) : 0;
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < in->nwords; i++) {
		bool start = i == 0 || in->words[i - 1].op;
		if (start && !in->words[i].op && !strcmp(in->words[i].value, "mkdir")) {
			rc = step_mkdir(v, in->words + i + 1, in->nwords - i - 1, false);
		}
	}
	return rc;
}

int df_fsview_step(struct df_fsview *v, const struct lks_df_instr *in)
{
	if (!strcmp(in->keyword, "WORKDIR") && in->nargs) {
		const char *p = in->args[0].value;
		char abs[DF_PATH_MAX];
		if (has_variable(p) || (p[0] != '/' && !v->workdir[0]) ||
		    !df_path_join(v->workdir, p, abs, sizeof(abs))) {
			v->workdir[0] = '\0'; /* unknown from here on */
			return 0;
		}
		memcpy(v->workdir, abs, sizeof(abs));
		return df_fsview_add(v, abs, true); /* WORKDIR creates it */
	}
	if (!strcmp(in->keyword, "RUN")) {
		return step_run(v, in);
	}
	return step_copy(v, in);
}

/* The AS name of a FROM ("" when none). */
static const char *stage_name(const struct lks_df_instr *in)
{
	return in->nargs >= 3 && !strcasecmp(in->args[1].value, "as") ? in->args[2].value : "";
}

int df_stage_parent(const struct lks_dockerfile *df, size_t from)
{
	const char *base = df->instrs[from].nargs ? df->instrs[from].args[0].value : "";
	int stage = 0, parent = -1;
	for (size_t i = 0; i < from; i++) {
		if (strcmp(df->instrs[i].keyword, "FROM")) {
			continue;
		}
		char idx[16];
		snprintf(idx, sizeof(idx), "%d", stage);
		if (!strcasecmp(stage_name(&df->instrs[i]), base) || !strcmp(idx, base)) {
			parent = stage;
		}
		stage++;
	}
	return parent;
}
