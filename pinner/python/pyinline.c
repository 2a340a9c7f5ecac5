/* `pin --pip-inline-to-file`: the requirement words of `pip install NAME...` move into a
 * generated requirements file, so that they get hashes (pip takes no --hash on the command
 * line).
 *
 *   RUN pip install --no-cache-dir flask gunicorn
 * becomes
 *   COPY requirements-lockstep-app.txt /tmp/requirements-lockstep-app.txt
 *   RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements-lockstep-app.txt
 * with requirements-lockstep-app.in (the words, one a line) beside the Dockerfile. The .txt is
 * then generated from the .in by the ordinary requirements pinning, like any `-r` file a COPY
 * brings in, so a later `pin` treats it the same way (stable) and `check` checks it. The copy
 * goes to an absolute path so that the command does not depend on WORKDIR.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "pinner/python/pyreq.h"
#include "pinner/python/pyscan.h"
#include "pinner/workspace.h"
#include "pinner/python/pypin_int.h"

#define INLINE_PREFIX "requirements-lockstep-"
#define INLINE_DEST "/tmp/"

/* Whether the words of c can move: false with *why saying which word cannot (a variable, a
 * URL, a path, -e); *named counts the requirement words. */
static bool movable(struct lks_ctx *ctx, const struct pydfile *f, const struct lks_pip_cmd *c,
                    size_t *named, bool *variable, char *why, size_t len)
{
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	*named = 0;
	why[0] = '\0';
	for (size_t k = 0; k < c->argc; k++) {
		*named += c->kinds[k] == LKS_PYREQ_ARG_REQUIREMENT;
	}
	for (size_t k = 0; *named && k < c->argc && !why[0]; k++) {
		*variable = c->kinds[k] == LKS_PYREQ_ARG_REQUIREMENT &&
		            lks_pyscan_word_variable(c->words[k]);
		if (c->kinds[k] == LKS_PYREQ_ARG_EDITABLE || *variable) {
			snprintf(why, len, "'%s' is a variable or editable install", c->argv[k]);
		}
	}
	if (*named && !why[0] && pypin_cmd_set(ctx, f, c, true, &set) < 0) {
		snprintf(why, len, "its arguments do not parse (%s)",
		         lks_errmsg(ctx, -LKS_E_PARSE));
		ctx->err[0] = '\0';
	}
	for (size_t i = 0; !why[0] && i < set.n; i++) {
		const struct lks_pyreq_item *it = &set.items[i];
		if (it->file == set.files[0] && (it->kind != LKS_PYREQ_NAMED || it->req.url)) {
			snprintf(why, len, "'%s' is a URL, path or editable install", it->text);
		}
	}
	lks_pyreq_set_free(&set);
	return !why[0];
}

/* The stage's AS name, else "stage<N>"; only [a-z0-9._-] kept, for a file name. */
static void stage_label(const struct pydfile *f, const struct lks_pip_cmd *c, char *out, size_t len)
{
	int parent;
	const struct lks_df_instr *from =
	    &f->df->instrs[lks_pyscan_stage_from(f->df, c->instr, &parent)];
	const char *name =
	    from->nargs >= 3 && !strcasecmp(from->args[1].value, "as") ? from->args[2].value : NULL;
	size_t n = 0;
	for (const char *p = name ? name : ""; *p && n + 1 < len; p++) {
		char ch = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", ch)) {
			out[n++] = ch;
		}
	}
	out[n] = '\0';
	if (!n) {
		snprintf(out, len, "stage%d", c->stage);
	}
}

static bool ws_taken(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path)
{
	struct lks_ws_file *wf;
	return lks_ws_get(ctx, ws, path, LKS_PYREQ_MAX_FILE, true, &wf) < 0 || pypin_ws_has(wf);
}

/* "requirements-lockstep-<stage>[-N]" whose .in and .txt are both free; *dir_path gets the
 * stem's path beside the Dockerfile. */
static int pick_stem(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                     const struct lks_pip_cmd *c, char **stem, char **dir_path)
{
	char label[128];
	stage_label(f, c, label, sizeof(label));
	bool here = !strcmp(f->dir, ".");
	for (int k = 1; k < 1000; k++) {
		char s[200], num[16] = "";
		if (k > 1) {
			snprintf(num, sizeof(num), "-%d", k);
		}
		snprintf(s, sizeof(s), "%s%s%s", INLINE_PREFIX, label, num);
		_cleanup_free_ char *in = NULL, *txt = NULL, *p = NULL;
		if (asprintf(&p, "%s%s%s", here ? "" : f->dir, here ? "" : "/", s) < 0 ||
		    asprintf(&in, "%s.in", p) < 0 || asprintf(&txt, "%s.txt", p) < 0) {
			return -ENOMEM;
		}
		if (!ws_taken(ctx, ws, in) && !ws_taken(ctx, ws, txt)) {
			*stem = strdup(s);
			*dir_path = TAKE_PTR(p);
			return *stem ? 0 : -ENOMEM;
		}
	}
	return lks_err(ctx, -LKS_E_TOOBIG, "%s:%zu: no free name for the requirements file",
	               f->path, c->line);
}

/* The .in: a comment saying where the words came from, then the words. */
static int write_in(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                    const struct lks_pip_cmd *c, const char *path)
{
	struct lks_buf b;
	lks_buf_init(&b, LKS_PYREQ_MAX_FILE);
	int rc = lks_buf_printf(
	    &b,
	    "# the requirement words of `pip install` at %s:%zu, moved here by\n"
	    "# lockstep pin --pip-inline-to-file (the .txt beside it is generated)\n",
	    f->path, c->line);
	for (size_t k = 0; rc == 0 && k < c->argc; k++) {
		if (c->kinds[k] == LKS_PYREQ_ARG_REQUIREMENT) {
			rc = lks_buf_printf(&b, "%s\n", c->argv[k]);
		}
	}
	char path_in[4096];
	snprintf(path_in, sizeof(path_in), "%s.in", path);
	rc = rc ? rc : lks_ws_set(ctx, ws, path_in, b.data, b.len);
	lks_buf_free(&b);
	return rc;
}

/* Where a word to drop starts: the blanks (commas in JSON form, line continuations, blank
 * lines) between it and the word before go with it, so no empty gap or continuation line is
 * left. SIZE_MAX when something else stands there (a comment line): dropping the word alone
 * could leave a blank last line, which would let the instruction swallow the next line. */
static size_t drop_from(const struct pydfile *f, const struct lks_df_word *prev,
                        const struct lks_df_word *w)
{
	const char *d = f->data.data;
	size_t from = prev->off + prev->len;
	for (size_t i = from; i < w->off; i++) {
		bool cont = d[i] == f->df->escape && i + 1 < w->off &&
		            (d[i + 1] == '\n' || (d[i + 1] == '\r' && i + 2 < w->off));
		if (cont) {
			i += d[i + 1] == '\r' ? 2 : 1;
		} else if (!strchr(" \t,\n\r", d[i])) {
			return SIZE_MAX;
		}
	}
	return from;
}

/* Every requirement word after the first can be dropped cleanly. */
static bool droppable(const struct pydfile *f, const struct lks_pip_cmd *c)
{
	bool first = true;
	for (size_t k = 0; k < c->argc; k++) {
		if (c->kinds[k] != LKS_PYREQ_ARG_REQUIREMENT) {
			continue;
		}
		if (!first && drop_from(f, c->words[k - 1], c->words[k]) == SIZE_MAX) {
			return false;
		}
		first = false;
	}
	return true;
}

/* The COPY before the RUN (indented like it) and the words replaced by the -r option. */
static int edit_cmd(const struct pydfile *f, const struct lks_pip_cmd *c, const char *stem,
                    struct pyedits *ed)
{
	const struct lks_df_instr *in = &f->df->instrs[c->instr];
	size_t ls = in->off;
	while (ls > 0 && (f->data.data[ls - 1] == ' ' || f->data.data[ls - 1] == '\t')) {
		ls--;
	}
	char *copy = NULL, *opt = NULL;
	if (asprintf(&copy, "COPY %s.txt %s%s.txt\n%.*s", stem, INLINE_DEST, stem,
	             (int)(in->off - ls), f->data.data + ls) < 0) {
		copy = NULL;
	}
	int rc = pyedits_add(ed, in->off, 0, copy);
	bool first = true;
	for (size_t k = 0; rc == 0 && k < c->argc; k++) {
		if (c->kinds[k] != LKS_PYREQ_ARG_REQUIREMENT) {
			continue;
		}
		const struct lks_df_word *w = c->words[k];
		if (first) {
			const char *q = c->json ? "\"" : "", *sep = c->json ? "\", \"" : " ";
			rc = asprintf(&opt, "%s--require-hashes%s-r%s%s%s.txt%s", q, sep, sep,
			              INLINE_DEST, stem, q) < 0
			         ? -ENOMEM
			         : pyedits_add(ed, w->off, w->len, opt);
			first = false;
			continue;
		}
		size_t from = drop_from(f, c->words[k - 1], w);
		rc = pyedits_add(ed, from, w->off + w->len - from, strdup(""));
	}
	return rc;
}

/* Two pip commands in one RUN: one COPY insertion holding both lines. */
static int merge_inserts(struct pyedits *ed)
{
	for (size_t i = 1; i < ed->n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (ed->v[j].off != ed->v[i].off || ed->v[j].len || ed->v[i].len) {
				continue;
			}
			char *both = NULL;
			if (asprintf(&both, "%s%s", ed->v[j].text, ed->v[i].text) < 0) {
				return -ENOMEM;
			}
			free((char *)ed->v[j].text);
			free((char *)ed->v[i].text);
			ed->v[j].text = both;
			ed->v[i--] = ed->v[--ed->n];
			break;
		}
	}
	return 0;
}

static int kept(const struct pydfile *f, const struct lks_pip_cmd *c, const char *subject,
                const char *why, struct lks_findings *out)
{
	return lks_findings_add(out, f->path, c->line, LKS_SEV_WARNING, "python-inline-kept",
	                        subject,
	                        "the requirement words of this pip command stay on the command "
	                        "line, pinned without hashes: %s",
	                        why);
}

static int move_cmd(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                    const struct lks_pip_cmd *c, struct pyedits *ed, struct lks_findings *out)
{
	size_t named;
	bool variable = false;
	char why[512];
	if (!movable(ctx, f, c, &named, &variable, why, sizeof(why))) {
		/* a variable is reported by the pinning itself (python-unpinnable) */
		return variable ? 0 : kept(f, c, why, why, out);
	}
	if (!named) {
		return 0;
	}
	if (!droppable(f, c)) {
		return kept(f, c, "comment", "a comment line stands between its words", out);
	}
	_cleanup_free_ char *stem = NULL, *path = NULL;
	int rc = pick_stem(ctx, ws, f, c, &stem, &path);
	rc = rc ? rc : write_in(ctx, ws, f, c, path);
	return rc ? rc : edit_cmd(f, c, stem, ed);
}

int pyinline_move(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                  struct lks_findings *out, bool *moved)
{
	struct pyedits ed = {0};
	int rc = 0;
	for (size_t c = 0; rc == 0 && c < f->cmds.n; c++) {
		rc = move_cmd(ctx, ws, f, &f->cmds.v[c], &ed, out);
	}
	rc = rc ? rc : merge_inserts(&ed);
	*moved = *moved || (rc == 0 && ed.n);
	rc = rc ? rc : pyedits_apply(ctx, ws, f, &ed);
	pyedits_free(&ed);
	return rc;
}
