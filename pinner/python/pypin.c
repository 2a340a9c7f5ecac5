/* Python requirements of Dockerfiles: discovery and `check`; see include/lockstep/pypin.h. */
#include "lockstep/pypin.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "pinner/python/pyreq.h"
#include "pinner/workspace.h"
#include "pinner/python/pypin_int.h"

void lks_pypin_opts_init(struct lks_pypin_opts *o)
{
	memset(o, 0, sizeof(*o));
}

int pydfile_load(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                 struct pydfile *f)
{
	struct lks_ws_file *wf;
	memset(f, 0, sizeof(*f));
	f->path = path;
	lks_buf_init(&f->data, LKS_DF_MAX_FILE + 1);
	lks_pip_cmds_init(&f->cmds);
	const char *slash = strrchr(path, '/');
	f->dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!f->dir) {
		return -ENOMEM;
	}
	int rc = lks_ws_get(ctx, ws, path, LKS_DF_MAX_FILE, false, &wf);
	rc = rc ? rc : lks_buf_append(&f->data, wf->cur.data ? wf->cur.data : "", wf->cur.len);
	rc = rc ? rc : lks_dockerfile_parse(ctx, path, f->data.data, f->data.len, &f->df);
	return rc ? rc : lks_pyscan(ctx, f->df, &f->cmds);
}

void pydfile_free(struct pydfile *f)
{
	lks_pip_cmds_free(&f->cmds);
	lks_dockerfile_free(f->df);
	lks_buf_free(&f->data);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}

int pydfiles_load(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                  size_t n, struct pydfile **out)
{
	struct pydfile *v = calloc(n ? n : 1, sizeof(*v));
	int rc = v ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = pydfile_load(ctx, ws, files[i], &v[i]);
	}
	*out = v;
	return rc;
}

void pydfiles_free(struct pydfile *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		pydfile_free(&v[i]);
	}
	free(v);
}

void pyjobs_free(struct pyjobs *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->v[i].in);
		free(j->v[i].out);
	}
	free(j->v);
	j->v = NULL;
	j->n = 0;
}

int pyedits_add(struct pyedits *e, size_t off, size_t len, char *text)
{
	struct lks_edit *nv = text ? realloc(e->v, (e->n + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(text);
		return -ENOMEM;
	}
	e->v = nv;
	nv[e->n++] = (struct lks_edit){.off = off, .len = len, .text = text};
	return 0;
}

void pyedits_free(struct pyedits *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free((char *)e->v[i].text);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

int pyedits_apply(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                  const struct pyedits *e)
{
	if (!e->n) {
		return 0;
	}
	struct lks_buf text;
	lks_buf_init(&text, LKS_DF_MAX_FILE + 1);
	int rc = lks_edits_apply(ctx, f->data.data, f->data.len, e->v, e->n, &text);
	rc = rc ? rc : lks_ws_set(ctx, ws, f->path, text.data ? text.data : "", text.len);
	lks_buf_free(&text);
	return rc;
}

bool pypin_ws_has(const struct lks_ws_file *wf)
{
	return wf->exists || lks_ws_file_changed(wf);
}

static bool ws_exists(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path)
{
	struct lks_ws_file *wf;
	return lks_ws_get(ctx, ws, path, LKS_PYREQ_MAX_FILE, true, &wf) == 0 && pypin_ws_has(wf);
}

/* requirements.txt -> requirements.in when that exists, else the file itself. */
static int input_for(struct lks_ctx *ctx, struct lks_workspace *ws, const char *out, char **in)
{
	size_t n = strlen(out);
	size_t stem = n > 4 && !strcmp(out + n - 4, ".txt") ? n - 4 : n;
	if (asprintf(in, "%.*s.in", (int)stem, out) < 0) {
		*in = NULL;
		return -ENOMEM;
	}
	if (strcmp(*in, out) && ws_exists(ctx, ws, *in)) {
		return 0;
	}
	free(*in);
	*in = strdup(out);
	return *in ? 0 : -ENOMEM;
}

static int add_job(struct lks_ctx *ctx, struct lks_workspace *ws, struct pyjobs *j,
                   const char *out, const struct pydfile *f, const struct lks_pip_cmd *cmd)
{
	for (size_t i = 0; i < j->n; i++) {
		if (!strcmp(j->v[i].out, out)) {
			return 0;
		}
	}
	struct pyjob *nv = realloc(j->v, (j->n + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	j->v = nv;
	struct pyjob *jb = &nv[j->n];
	*jb = (struct pyjob){.f = f, .cmd = cmd, .line = cmd ? cmd->line : 0};
	jb->out = strdup(out);
	int rc = jb->out ? input_for(ctx, ws, out, &jb->in) : -ENOMEM;
	if (rc < 0) {
		free(jb->out);
		return rc;
	}
	j->n++;
	return 0;
}

static int cmd_jobs(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pydfile *f,
                    const struct lks_pip_cmd *c, struct pyjobs *out, struct lks_findings *fd)
{
	int rc = 0;
	for (size_t r = 0; rc == 0 && r < c->nreqfiles; r++) {
		_cleanup_free_ char *rel = NULL, *path = NULL;
		rc = lks_pyscan_context_path(ctx, f->df, c->instr, ".", c->reqfiles[r], &rel);
		if (rc == 0 && !rel) {
			rc = lks_findings_add(fd, f->path, c->line, LKS_SEV_ERROR,
			                      "python-requirements-unknown", c->reqfiles[r],
			                      "cannot tell which file of the build context '-r %s' "
			                      "is: no COPY brings it in (give --requirements FILE)",
			                      c->reqfiles[r]);
			continue;
		}
		bool here = !strcmp(f->dir, ".");
		if (rc == 0 && asprintf(&path, "%s%s%s", here ? "" : f->dir, here ? "" : "/",
		                        rel) < 0) {
			path = NULL;
			rc = -ENOMEM;
		}
		rc = rc ? rc : add_job(ctx, ws, out, path, f, c);
	}
	return rc;
}

/* --requirements FILE: FILE is the input; its output is FILE.txt for FILE.in. */
static int given_job(struct lks_ctx *ctx, struct lks_workspace *ws, const char *file,
                     const struct pydfile *f, struct pyjobs *out)
{
	size_t n = strlen(file);
	_cleanup_free_ char *txt = NULL;
	bool in = n > 3 && !strcmp(file + n - 3, ".in");
	if (asprintf(&txt, "%.*s%s", (int)(in ? n - 3 : n), file, in ? ".txt" : "") < 0) {
		return -ENOMEM;
	}
	size_t before = out->n;
	int rc = add_job(ctx, ws, out, txt, f, f && f->cmds.n ? &f->cmds.v[0] : NULL);
	if (rc == 0 && out->n > before) {
		free(out->v[before].in);
		out->v[before].in = strdup(file);
		rc = out->v[before].in ? 0 : -ENOMEM;
	}
	return rc;
}

int pyjobs_collect(struct lks_ctx *ctx, struct lks_workspace *ws, struct pydfile *v, size_t n,
                   const struct lks_pypin_opts *o, struct pyjobs *out,
                   struct lks_findings *findings)
{
	int rc = 0;
	for (size_t r = 0; rc == 0 && r < o->nrequirements; r++) {
		rc = given_job(ctx, ws, o->requirements[r], n ? &v[0] : NULL, out);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		for (size_t c = 0; rc == 0 && c < v[i].cmds.n; c++) {
			rc = cmd_jobs(ctx, ws, &v[i], &v[i].cmds.v[c], out, findings);
		}
	}
	return rc;
}

static int argv_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	*v = nv;
	nv[*n] = strdup(s);
	nv[*n + 1] = NULL;
	return nv[*n] ? (int)(++*n, 0) : -ENOMEM;
}

int pypin_cmd_set(struct lks_ctx *ctx, const struct pydfile *f, const struct lks_pip_cmd *cmd,
                  bool words, struct lks_pyreq_set *set)
{
	char **argv = NULL;
	size_t argc = 0;
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < cmd->argc; k++) {
		enum lks_pyreq_pip_arg_kind kind = cmd->kinds[k];
		bool word = kind == LKS_PYREQ_ARG_REQUIREMENT || kind == LKS_PYREQ_ARG_EDITABLE;
		if ((kind == LKS_PYREQ_ARG_OPTION || (word && words)) &&
		    !lks_pyscan_word_variable(cmd->words[k])) {
			rc = argv_add(&argv, &argc, cmd->argv[k]);
		}
	}
	for (size_t k = 0; rc == 0 && k < cmd->nconstraints; k++) {
		_cleanup_free_ char *rel = NULL;
		rc = lks_pyscan_context_path(ctx, f->df, cmd->instr, ".", cmd->constraints[k], &rel);
		if (rc == 0 && !rel) {
			rc = lks_err(ctx, -LKS_E_NOTFOUND,
			             "%s:%zu: cannot tell which file of the build context '-c %s' is: "
			             "no COPY brings it in",
			             f->path, cmd->line, cmd->constraints[k]);
		}
		rc = rc ? rc : argv_add(&argv, &argc, "-c");
		rc = rc ? rc : argv_add(&argv, &argc, rel);
	}
	if (rc == 0) {
		rc = lks_pyreq_parse_pip_args(ctx, f->path, (int)cmd->line, argv, argc, set);
	}
	for (size_t k = 0; k < argc; k++) {
		free(argv[k]);
	}
	free(argv);
	return rc;
}

int pypin_read_reqs(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                    struct lks_pyreq_set *set)
{
	struct lks_ws_file *wf;
	int rc = lks_ws_get(ctx, ws, path, LKS_PYREQ_MAX_FILE, false, &wf);
	return rc ? rc
	          : lks_pyreq_parse_buf(ctx, path, wf->cur.data ? wf->cur.data : "", wf->cur.len,
	                                true, set);
}

int pypin_input_digest(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                       char out[static 72])
{
	struct lks_ws_file *wf;
	out[0] = '\0';
	int rc = lks_ws_get(ctx, ws, path, LKS_PYREQ_MAX_FILE, true, &wf);
	if (rc == 0 && pypin_ws_has(wf)) {
		rc = lks_sha256_buf(wf->cur.data ? wf->cur.data : "", wf->cur.len, out);
	}
	return rc;
}

/* ---- check ---- */

struct lks_lock_python *pypin_lock_find(struct lks_lock *l, const char *file, const char *key)
{
	for (size_t i = 0; i < l->n_python; i++) {
		if (!strcmp(l->python[i].file, file) && !strcmp(l->python[i].name, key)) {
			return &l->python[i];
		}
	}
	return NULL;
}

static bool same_hashes(const struct lks_lock_python *e, const struct lks_pyreq_item *it)
{
	if (e->n_hashes != it->nhashes) {
		return false;
	}
	for (size_t i = 0; i < it->nhashes; i++) {
		bool found = false;
		for (size_t j = 0; j < e->n_hashes && !found; j++) {
			found = !strcmp(e->hashes[j], it->hashes[i]);
		}
		if (!found) {
			return false;
		}
	}
	return true;
}

/* A pinned requirement against the lock entry of (file, key). */
static int check_lock(struct lks_lock *lock, const char *file, size_t line,
                      const struct lks_pyreq_item *it, bool hashes, struct lks_findings *out)
{
	const char *key = it->req.key;
	char version[LKS_PEP440_MAX_STR];
	const struct lks_pep440_spec *sp = &it->req.spec.items[0];
	if (sp->op == LKS_PEP440_ARBITRARY) {
		snprintf(version, sizeof(version), "%s", sp->text);
	} else {
		lks_pep440_str(&sp->v, version, sizeof(version));
	}
	struct lks_lock_python *e = pypin_lock_find(lock, file, key);
	if (!e) {
		return lks_findings_add(out, file, line, LKS_SEV_ERROR, "python-not-in-lock", key,
		                        "python package '%s' is pinned to %s but not in the lock",
		                        key, version);
	}
	if (strcmp(e->version, version) || (hashes && !same_hashes(e, it))) {
		return lks_findings_add(out, file, line, LKS_SEV_ERROR, "python-lock-mismatch", key,
		                        "python package '%s' is pinned to %s%s but the lock has %s",
		                        key, version, strcmp(e->version, version) ? "" : " (hashes)",
		                        e->version);
	}
	return 0;
}

/* One item of a requirements file (or a pip command word at line). */
static int check_item(struct lks_lock *lock, const char *file, size_t line,
                      const struct lks_pyreq_item *it, bool need_hashes,
                      struct lks_findings *out)
{
	if (it->constraint) {
		return 0;
	}
	if (it->kind != LKS_PYREQ_NAMED || it->req.url) {
		return lks_findings_add(out, it->file, (size_t)it->line, LKS_SEV_WARNING,
		                        "python-unpinnable", it->text,
		                        "'%s' is a URL, path or editable install: not pinned "
		                        "from the index",
		                        it->text);
	}
	if (!lks_pyreq_item_pinned(it)) {
		return lks_findings_add(out, it->file, (size_t)it->line, LKS_SEV_ERROR,
		                        "python-unpinned", it->req.key,
		                        "python requirement '%s' is not pinned to a version",
		                        it->text);
	}
	if (need_hashes && !it->nhashes) {
		return lks_findings_add(out, it->file, (size_t)it->line, LKS_SEV_ERROR,
		                        "python-unhashed", it->req.key,
		                        "python requirement '%s' has no --hash", it->text);
	}
	return check_lock(lock, file, line, it, need_hashes, out);
}

static int check_words(struct lks_ctx *ctx, const struct pydfile *f, const struct lks_pip_cmd *c,
                       struct lks_lock *lock, struct lks_findings *out)
{
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < c->argc; k++) {
		if (c->kinds[k] == LKS_PYREQ_ARG_REQUIREMENT && lks_pyscan_word_variable(c->words[k])) {
			rc = lks_findings_add(out, f->path, c->line, LKS_SEV_ERROR,
			                      "python-unpinnable", c->argv[k],
			                      "python requirement '%s' holds a variable: it is "
			                      "known only when the image builds",
			                      c->argv[k]);
		}
	}
	rc = rc ? rc : pypin_cmd_set(ctx, f, c, true, &set);
	for (size_t i = 0; rc == 0 && i < set.n; i++) {
		if (set.items[i].file == set.files[0]) {
			rc = check_item(lock, f->path, c->line, &set.items[i], false, out);
		}
	}
	lks_pyreq_set_free(&set);
	return rc;
}

/* The generated header's recorded input digest is still the input's. */
static int check_fresh(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pyjob *j,
                       const struct lks_buf *txt, struct lks_findings *out)
{
	char want[72];
	int rc = pypin_input_digest(ctx, ws, j->in, want);
	if (rc < 0 || !strcmp(j->in, j->out)) {
		return rc;
	}
	const char *tag = txt->data ? strstr(txt->data, PYPIN_INPUT_TAG) : NULL;
	size_t tl = strlen(PYPIN_INPUT_TAG);
	if (tag && !strncmp(tag + tl, want, strlen(want)) && tag[tl + strlen(want)] == '\n') {
		return 0;
	}
	return lks_findings_add(out, j->out, 0, LKS_SEV_ERROR, "python-out-of-date", j->in,
	                        "'%s' is out of date with '%s': run lockstep pin", j->out, j->in);
}

static int check_job(struct lks_ctx *ctx, struct lks_workspace *ws, const struct pyjob *j,
                     struct lks_lock *lock, struct lks_findings *out)
{
	struct lks_ws_file *wf;
	int rc = lks_ws_get(ctx, ws, j->out, LKS_PYREQ_MAX_FILE, true, &wf);
	if (rc == 0 && !wf->exists) {
		return lks_findings_add(out, j->f ? j->f->path : j->in, j->line, LKS_SEV_ERROR,
		                        "python-missing", j->out,
		                        "'%s' does not exist: run lockstep pin", j->out);
	}
	rc = rc ? rc : check_fresh(ctx, ws, j, &wf->cur, out);
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	rc = rc ? rc : pypin_read_reqs(ctx, ws, j->out, &set);
	for (size_t i = 0; rc == 0 && i < set.n; i++) {
		rc = check_item(lock, j->out, 0, &set.items[i], true, out);
	}
	lks_pyreq_set_free(&set);
	return rc;
}

int lks_pypin_check(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                    size_t n, struct lks_lock *lock, const struct lks_pypin_opts *o,
                    struct lks_findings *out)
{
	struct pydfile *v;
	struct pyjobs jobs = {0};
	int rc = pydfiles_load(ctx, ws, files, n, &v);
	rc = rc ? rc : pyjobs_collect(ctx, ws, v, n, o, &jobs, out);
	for (size_t i = 0; rc == 0 && i < jobs.n; i++) {
		rc = check_job(ctx, ws, &jobs.v[i], lock, out);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		for (size_t c = 0; rc == 0 && c < v[i].cmds.n; c++) {
			rc = check_words(ctx, &v[i], &v[i].cmds.v[c], lock, out);
		}
	}
	pyjobs_free(&jobs);
	pydfiles_free(v, n);
	return rc;
}
