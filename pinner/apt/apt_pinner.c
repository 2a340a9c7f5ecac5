/* The apt pinner over Dockerfiles: check (offline) and pin (see aptpin.h). */
#include "lockstep/aptpin.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_cmd.h"
#include "pinner/apt/apt_resolve.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "pinner/workspace.h"
#include "pinner/apt/apt_pinner_int.h"
#include "pinner/apt/apt_run.h"

void lks_aptpin_opts_init(struct lks_aptpin_opts *o)
{
	memset(o, 0, sizeof(*o));
}

int apt_pinner_file_load(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                         struct apt_pinner_file *f)
{
	struct lks_ws_file *wf;
	memset(f, 0, sizeof(*f));
	f->path = path;
	lks_buf_init(&f->data, LKS_DF_MAX_FILE + 1);
	int rc = lks_ws_get(ctx, ws, path, LKS_DF_MAX_FILE, false, &wf);
	rc = rc ? rc : lks_buf_append(&f->data, wf->cur.data ? wf->cur.data : "", wf->cur.len);
	rc = rc ? rc : lks_dockerfile_parse(ctx, path, f->data.data, f->data.len, &f->df);
	rc = rc ? rc : apt_run_collect(f->df, &f->run);
	return rc;
}

void apt_pinner_file_free(struct apt_pinner_file *f)
{
	apt_run_free(&f->run);
	lks_dockerfile_free(f->df);
	lks_buf_free(&f->data);
	memset(f, 0, sizeof(*f));
}

/* Findings for words that are not package names, shared by check and pin. */
int apt_pinner_report_unpinnable(const struct apt_pinner_file *f, const struct lks_apt_word *w,
                                 size_t line, struct lks_findings *out)
{
	switch (w->kind) {
	case LKS_APT_WORD_VARIABLE:
		if (w->text[0] == '`' || !strncmp(w->text, "$(", 2)) {
			return lks_findings_add(
			    out, f->path, line, LKS_SEV_WARNING, "apt-unscanned", w->text,
			    "apt packages of '%s' come from that command when the image builds: "
			    "not checked or pinned (name the packages in the Dockerfile)",
			    w->text);
		}
		return lks_findings_add(out, f->path, line, LKS_SEV_WARNING, "apt-variable",
		                        w->text,
		                        "apt package '%s' is a shell expansion: not checked or "
		                        "pinned (name the packages literally)",
		                        w->text);
	case LKS_APT_WORD_PATTERN:
		return lks_findings_add(out, f->path, line, LKS_SEV_WARNING, "apt-pattern", w->text,
		                        "apt package '%s' is a pattern: not checked or pinned",
		                        w->text);
	case LKS_APT_WORD_LOCAL:
		return lks_findings_add(out, f->path, line, LKS_SEV_WARNING, "apt-local", w->text,
		                        "apt package '%s' is a local file: not checked or pinned",
		                        w->text);
	case LKS_APT_WORD_CROSS:
		return lks_findings_add(
		    out, f->path, line, LKS_SEV_WARNING, "apt-cross", w->text,
		    "apt package '%s' of xx-apt-get is installed for the target architecture "
		    "(as %s-TRIPLE or %s:ARCH): a version in the word would break that, so it is "
		    "not checked or pinned",
		    w->text, w->text, w->text);
	default:
		return 0;
	}
}

/* ---- check ---- */

/* Lock entries of (file, package[, arch]): those of this RUN line, else any line (moved). */
static size_t lock_matches(const struct lks_lock *lock, const char *file, long line,
                           const struct lks_apt_request *req, const struct lks_lock_apt **m,
                           size_t cap)
{
	size_t n = 0;
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		for (size_t i = 0; i < lock->n_apt && n < cap; i++) {
			const struct lks_lock_apt *e = &lock->apt[i];
			if (strcmp(e->file, file) || strcmp(e->package, req->name) ||
			    (pass == 0 && e->line != line)) {
				continue;
			}
			if (req->arch[0] && strcmp(e->architecture, req->arch) &&
			    strcmp(e->architecture, "all")) {
				continue;
			}
			m[n++] = e;
		}
	}
	return n;
}

static int check_pinned(struct lks_ctx *ctx, const struct apt_pinner_file *f,
                        const struct apt_run_unit *u, const struct lks_apt_word *w, size_t line,
                        const struct lks_lock *lock, struct lks_findings *out)
{
	struct lks_apt_request req;
	if (lks_apt_request_parse(ctx, w->text, &req) < 0) {
		ctx->err[0] = '\0';
		return lks_findings_add(out, f->path, line, LKS_SEV_ERROR, "apt-invalid", w->text,
		                        "apt package '%s' is not a valid package=version", w->text);
	}
	const struct lks_lock_apt *m[16];
	size_t n = lock_matches(lock, f->path, (long)u->line, &req, m, 16);
	if (n == 0) {
		return lks_findings_add(out, f->path, line, LKS_SEV_ERROR, "apt-not-in-lock",
		                        req.name,
		                        "apt package '%s' is pinned but not recorded in %s (run "
		                        "'lockstep pin')",
		                        w->text, LKS_LOCKFILE_NAME);
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m[i]->version, req.version)) {
			return lks_findings_add(
			    out, f->path, line, LKS_SEV_ERROR, "apt-lock-mismatch", req.name,
			    "apt package '%s' is pinned to %s but %s records %s "
			    "(%s)",
			    req.name, req.version, LKS_LOCKFILE_NAME, m[i]->version,
			    m[i]->architecture);
		}
	}
	return 0;
}

static int check_word(struct lks_ctx *ctx, const struct apt_pinner_file *f,
                      const struct apt_run_unit *u, const struct lks_apt_word *w,
                      const struct lks_lock *lock, struct lks_findings *out)
{
	struct apt_run_span sp;
	apt_run_span(&f->run, u, w->start, w->end, &sp);
	switch (w->kind) {
	case LKS_APT_WORD_PLAIN:
	case LKS_APT_WORD_RELEASE:
		return lks_findings_add(out, f->path, sp.line, LKS_SEV_ERROR, "apt-unpinned",
		                        w->text, "apt package '%s' is not pinned to a version",
		                        w->text);
	case LKS_APT_WORD_VERSION_GLOB:
		return lks_findings_add(out, f->path, sp.line, LKS_SEV_ERROR, "apt-unpinned",
		                        w->text,
		                        "apt package '%s' is a version pattern, not pinned to a "
		                        "version",
		                        w->text);
	case LKS_APT_WORD_PINNED:
		return check_pinned(ctx, f, u, w, sp.line, lock, out);
	default:
		return apt_pinner_report_unpinnable(f, w, sp.line, out);
	}
}

/* A command the shell lexer cannot follow is reported, not fatal: the build decides. */
int apt_pinner_scan_unit(struct lks_ctx *ctx, const struct apt_pinner_file *f,
                         const struct apt_run_unit *u, struct lks_apt_cmds *cmds,
                         struct lks_findings *out)
{
	lks_apt_cmds_init(cmds);
	int rc = lks_apt_cmd_scan(ctx, u->text, u->len, cmds);
	if (rc == -LKS_E_PARSE) {
		rc = lks_findings_add(out, f->path, u->line, LKS_SEV_WARNING, "apt-unscanned",
		                      "RUN", "apt packages of this RUN not checked: %s", ctx->err);
		ctx->err[0] = '\0';
		lks_apt_cmds_free(cmds);
		lks_apt_cmds_init(cmds);
	}
	for (size_t i = 0; rc == 0 && i < cmds->n; i++) {
		if (cmds->v[i].from_input) {
			struct apt_run_span sp;
			apt_run_span(&f->run, u, cmds->v[i].start, cmds->v[i].end, &sp);
			rc = lks_findings_add(
			    out, f->path, sp.line, LKS_SEV_WARNING, "apt-unscanned", "xargs",
			    "apt packages that xargs reads from its input are not "
			    "checked or pinned (name the packages in the Dockerfile)");
		}
	}
	return rc;
}

static int check_file(struct lks_ctx *ctx, const struct apt_pinner_file *f,
                      const struct lks_lock *lock, struct lks_findings *out)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < f->run.n; i++) {
		struct lks_apt_cmds cmds;
		rc = apt_pinner_scan_unit(ctx, f, &f->run.v[i], &cmds, out);
		for (size_t c = 0; rc == 0 && c < cmds.n; c++) {
			for (size_t k = 0; rc == 0 && k < cmds.v[c].n; k++) {
				rc = check_word(ctx, f, &f->run.v[i], &cmds.v[c].words[k], lock,
				                out);
			}
		}
		lks_apt_cmds_free(&cmds);
	}
	return rc;
}

int lks_aptpin_check(struct lks_ctx *ctx, struct lks_workspace *ws, const char *const *files,
                     size_t n, struct lks_lock *lock, struct lks_findings *out)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct apt_pinner_file f;
		rc = apt_pinner_file_load(ctx, ws, files[i], &f);
		rc = rc ? rc : check_file(ctx, &f, lock, out);
		apt_pinner_file_free(&f);
	}
	return rc;
}
