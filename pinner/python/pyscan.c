/* Finding pip install commands in a Dockerfile; see pinner/python/pyscan.h. */
#include "pinner/python/pyscan.h"
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/strv.h"
#include "pinner/dockerfile/df_copy.h"

void lks_pip_cmds_init(struct lks_pip_cmds *c)
{
	c->v = NULL;
	c->n = 0;
}

static void cmd_free(struct lks_pip_cmd *c)
{
	lks_strv_free(c->argv, c->argc);
	lks_strv_free(c->reqfiles, c->nreqfiles);
	lks_strv_free(c->constraints, c->nconstraints);
	free(c->words);
	free(c->kinds);
}

void lks_pip_cmds_free(struct lks_pip_cmds *c)
{
	for (size_t i = 0; i < c->n; i++) {
		cmd_free(&c->v[i]);
	}
	free(c->v);
	lks_pip_cmds_init(c);
}

bool lks_pyscan_word_variable(const struct lks_df_word *w)
{
	return strchr(w->value, '$') || strchr(w->value, '`');
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* "pip", "pip3", "pip3.11" (prefix "pip"), "python", "python3", "python3.11". */
static bool versioned(const char *w, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(w, prefix, n)) {
		return false;
	}
	w += n;
	return !*w || (strspn(w, "0123456789.") == strlen(w) && w[0] != '.');
}

static bool is_assignment(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	return n > 0 && t[n] == '=' && !(t[0] >= '0' && t[0] <= '9');
}

/* Skip NAME=value prefixes, shell keywords and sudo/env/nice (with their options). */
static size_t skip_prefix(const struct lks_df_word *const *w, size_t n)
{
	static const char *const kw[] = {"if",      "then", "else",  "elif", "do", "while", "until",
	                                 "!",       "{",    "time",  "exec", "command", "nohup"};
	size_t i = 0;
	while (i < n) {
		const char *v = w[i]->value;
		bool skip = is_assignment(v);
		for (size_t k = 0; !skip && k < ARRAY_SIZE(kw); k++) {
			skip = !strcmp(v, kw[k]);
		}
		if (!skip && (!strcmp(v, "sudo") || !strcmp(v, "env") || !strcmp(v, "nice"))) {
			while (i + 1 < n && w[i + 1]->value[0] == '-') {
				i++;
			}
			skip = true;
		}
		if (!skip) {
			break;
		}
		i++;
	}
	return i;
}

/* Index of the first argument after "install" when w[0..n) is a pip install, else 0. */
static size_t pip_install_start(const struct lks_df_word *const *w, size_t n)
{
	size_t i = skip_prefix(w, n);
	if (i >= n) {
		return 0;
	}
	const char *prog = base_name(w[i]->value);
	if (versioned(prog, "python")) {
		/* interpreter options before -m (-u, -B, -I ...) take no value */
		for (i++; i < n && w[i]->value[0] == '-' && strcmp(w[i]->value, "-m") &&
		          strcmp(w[i]->value, "-mpip");
		     i++) {
		}
		if (i < n && !strcmp(w[i]->value, "-m") && i + 1 < n &&
		    !strcmp(w[i + 1]->value, "pip")) {
			i += 2;
		} else if (i < n && !strcmp(w[i]->value, "-mpip")) {
			i++;
		} else {
			return 0;
		}
	} else if (versioned(prog, "pip")) {
		i++;
	} else {
		return 0;
	}
	/* pip's general options before the subcommand */
	while (i < n && w[i]->value[0] == '-') {
		i++;
	}
	return i < n && !strcmp(w[i]->value, "install") ? i + 1 : 0;
}

static int classify(struct lks_pip_cmd *c)
{
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < c->argc; k++) {
		size_t first = k;
		const char *val;
		enum lks_pyreq_pip_arg_kind kind = lks_pyreq_pip_arg(c->argv, c->argc, &k, &val);
		for (size_t j = first; j <= k; j++) {
			c->kinds[j] = kind;
		}
		if (kind == LKS_PYREQ_ARG_REQFILE && val) {
			rc = lks_strv_push(&c->reqfiles, &c->nreqfiles, 0, val, strlen(val));
		} else if (kind == LKS_PYREQ_ARG_CONSTRAINT && val) {
			rc = lks_strv_push(&c->constraints, &c->nconstraints, 0, val, strlen(val));
		}
	}
	return rc;
}

static int add_cmd(struct lks_ctx *ctx, const struct lks_df_instr *in, size_t instr, int stage,
                   const struct lks_df_word *const *w, size_t n, struct lks_pip_cmds *out)
{
	size_t start = pip_install_start(w, n);
	if (!start) {
		return 0;
	}
	if (n - start > LKS_PYSCAN_MAX_ARGS) {
		return lks_err(ctx, -LKS_E_TOOBIG, "line %zu: pip install with more than %d arguments",
		               in->start_line, LKS_PYSCAN_MAX_ARGS);
	}
	struct lks_pip_cmd *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	out->v = nv;
	struct lks_pip_cmd *c = &nv[out->n++];
	memset(c, 0, sizeof(*c));
	*c = (struct lks_pip_cmd){.instr = instr, .line = in->start_line, .stage = stage,
	                          .json = in->json};
	size_t m = n - start;
	c->argv = calloc(m + 1, sizeof(*c->argv));
	c->words = calloc(m + 1, sizeof(*c->words));
	c->kinds = calloc(m + 1, sizeof(*c->kinds));
	if (!c->argv || !c->words || !c->kinds) {
		return -ENOMEM;
	}
	for (size_t k = 0; k < m; k++, c->argc++) {
		c->words[k] = w[start + k];
		if (!(c->argv[k] = strdup(w[start + k]->value))) {
			return -ENOMEM;
		}
	}
	return classify(c);
}

/* Split the words of one RUN at shell operators into simple commands. */
static int scan_run(struct lks_ctx *ctx, const struct lks_df_instr *in, size_t instr, int stage,
                    struct lks_pip_cmds *out)
{
	const struct lks_df_word *words = in->json ? in->args : in->words;
	size_t n = in->json ? in->nargs : in->nwords;
	const struct lks_df_word **seg = calloc(n + 1, sizeof(*seg));
	if (!seg) {
		return -ENOMEM;
	}
	size_t m = 0;
	int rc = 0;
	for (size_t k = 0; rc == 0 && k <= n; k++) {
		if (k < n && !words[k].op) {
			seg[m++] = &words[k];
			continue;
		}
		rc = m ? add_cmd(ctx, in, instr, stage, seg, m, out) : 0;
		m = 0;
	}
	free(seg);
	return rc;
}

int lks_pyscan(struct lks_ctx *ctx, const struct lks_dockerfile *df, struct lks_pip_cmds *out)
{
	int stage = -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < df->ninstrs; i++) {
		const struct lks_df_instr *in = &df->instrs[i];
		if (!strcmp(in->keyword, "FROM")) {
			stage++;
		} else if (!strcmp(in->keyword, "RUN") && stage >= 0 &&
		           !(in->foreign_shell && !in->json)) {
			rc = scan_run(ctx, in, i, stage, out);
		}
	}
	return rc;
}

/* ---- stages and COPY ---- */

size_t lks_pyscan_stage_from(const struct lks_dockerfile *df, size_t instr, int *parent_stage)
{
	size_t from = instr;
	while (from > 0 && strcmp(df->instrs[from].keyword, "FROM")) {
		from--;
	}
	*parent_stage = df_stage_parent(df, from);
	return from;
}

/* The index of the FROM of stage s. */
static size_t stage_start(const struct lks_dockerfile *df, int s)
{
	for (size_t i = 0; i < df->ninstrs; i++) {
		if (!strcmp(df->instrs[i].keyword, "FROM") && s-- == 0) {
			return i;
		}
	}
	return 0;
}

static bool is_dir(const char *context, const char *rel)
{
	char p[8192];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", context, rel);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Image path `path` under directory `to` (rest: below it), or equal when rest is NULL. */
static bool below(const char *path, const char *to, const char **rest)
{
	size_t tl = strlen(to);
	if (tl == 1) {
		*rest = path + 1;
		return path[1] != '\0';
	}
	*rest = path + tl + 1;
	return !strncmp(path, to, tl) && path[tl] == '/';
}

/* A source with a wildcard: matched against the image path through its target pattern. */
static bool match_glob(const struct df_copy *c, const char *src, const char *path, char *out,
                       size_t len)
{
	char pat[DF_PATH_MAX];
	if (!c->into || !df_copy_target(c, src, false, pat, sizeof(pat)) ||
	    fnmatch(pat, path, strstr(pat, "**") ? 0 : FNM_PATHNAME)) {
		return false; /* a wildcard onto a file destination: which match is unknown */
	}
	if (c->parents) {
		const char *pivot = strstr(src, "/./"), *rest;
		below(path, c->dest, &rest);
		snprintf(out, len, "%.*s%s%s", pivot ? (int)(pivot - src) : 0, src,
		         pivot ? "/" : "", rest);
	} else {
		snprintf(out, len, "%.*s%s", (int)(base_name(src) - src), src, base_name(path));
	}
	return true;
}

/* Whether source src of c brings image path `path` in; its context path into out. */
static bool match_source(const struct df_copy *c, const char *context, const char *src,
                         const char *path, char *out, size_t len)
{
	if (df_copy_source_remote(src)) {
		return false;
	}
	if (strpbrk(src, "*?[")) {
		return match_glob(c, src, path, out, len);
	}
	char s[DF_PATH_MAX], to[DF_PATH_MAX];
	snprintf(s, sizeof(s), "%s", src);
	size_t sl = strlen(s);
	while (sl > 1 && s[sl - 1] == '/') {
		s[--sl] = '\0';
	}
	bool dir = is_dir(context, s);
	if (!df_copy_target(c, s, dir, to, sizeof(to))) {
		return false;
	}
	const char *rest;
	if (dir && below(path, to, &rest)) {
		snprintf(out, len, "%s/%s", s, rest);
		return true;
	}
	if (!dir && !strcmp(path, to)) {
		snprintf(out, len, "%s", s);
		return true;
	}
	return false;
}

/* The instructions the RUN builds on, in build order: the stages it is FROM (oldest first),
 * then its own stage up to (not including) the RUN. Returns the count. */
static size_t build_order(const struct lks_dockerfile *df, size_t instr, size_t *v, size_t max)
{
	size_t starts[16], ends[16], ns = 0;
	size_t end = instr;
	while (ns < ARRAY_SIZE(starts)) {
		int parent;
		starts[ns] = lks_pyscan_stage_from(df, end - 1, &parent);
		ends[ns++] = end;
		if (parent < 0) {
			break;
		}
		size_t pe = stage_start(df, parent) + 1;
		while (pe < df->ninstrs && strcmp(df->instrs[pe].keyword, "FROM")) {
			pe++;
		}
		end = pe; /* exclusive, like instr */
	}
	size_t n = 0;
	for (size_t s = ns; s-- > 0;) {
		for (size_t i = starts[s] + 1; i < ends[s] && n < max; i++) {
			v[n++] = i;
		}
	}
	return n;
}

int lks_pyscan_context_path(struct lks_ctx *ctx, const struct lks_dockerfile *df, size_t instr,
                            const char *context_dir, const char *path, char **out)
{
	size_t order[1024];
	size_t n = build_order(df, instr, order, ARRAY_SIZE(order));
	struct df_copy *specs = calloc(n ? n : 1, sizeof(*specs));
	char want[DF_PATH_MAX], found[8192] = "";
	size_t ns = 0;
	*out = NULL;
	if (!specs) {
		return -ENOMEM;
	}
	struct df_fsview v;
	df_fsview_init(&v, context_dir);
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		const struct lks_df_instr *in = &df->instrs[order[k]];
		ns += df_copy_resolve(&v, in, &specs[ns]) && specs[ns].context;
		rc = df_fsview_step(&v, in);
	}
	bool known = rc == 0 && (path[0] == '/' || v.workdir[0]) &&
	             df_path_join(v.workdir, path, want, sizeof(want));
	df_fsview_free(&v);
	if (rc < 0 || !known) {
		free(specs);
		return rc;
	}
	/* the last COPY writing the path wins */
	for (size_t k = ns; k-- > 0 && !found[0];) {
		const struct lks_df_instr *in = specs[k].in;
		for (size_t a = 0; a + 1 < in->nargs && !found[0]; a++) {
			if (!match_source(&specs[k], context_dir, in->args[a].value, want, found,
			                  sizeof(found))) {
				found[0] = '\0';
			}
		}
	}
	free(specs);
	(void)ctx;
	char clean[DF_PATH_MAX];
	/* "./dir/./r.txt" -> "dir/r.txt": BuildKit reads sources inside the context */
	const char *rel = df_path_join("/", found, clean, sizeof(clean)) ? clean + 1 : "";
	found[0] = rel[0] ? found[0] : '\0';
	bool here = !context_dir[0] || !strcmp(context_dir, ".");
	if (found[0] && asprintf(out, "%s%s%s", here ? "" : context_dir, here ? "" : "/", rel) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
