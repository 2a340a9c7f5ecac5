/* The apt pinner's view of a Dockerfile, table-driven from fixtures/apt/aptrun:
 * NAME.Dockerfile -> NAME.expect. aptrun (pinner/apt/apt_run.c): every command text a shell runs
 * and where each package word sits in the file ("unit" and "word" lines); aptfiles
 * (pinner/apt/apt_files.c): the apt files the stage writes itself ("file" lines) and those in
 * effect at each RUN that installs packages ("for" lines). The context is ctx/ beside. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_cmd.h"
#include "pinner/apt/apt_image.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "pinner/apt/apt_files.h"
#include "pinner/apt/apt_pinner_int.h"
#include "pinner/apt/apt_run.h"

static void quoted(struct lks_buf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			lks_buf_puts(o, "\\n");
		} else if (s[i] == '\\') {
			lks_buf_puts(o, "\\\\");
		} else {
			lks_buf_putc(o, s[i]);
		}
	}
}

static void render_words(const struct apt_pinner_file *f, const struct apt_run_unit *u,
                         struct lks_buf *o)
{
	struct lks_apt_cmds c;
	lks_apt_cmds_init(&c);
	cr_assert_eq(lks_apt_cmd_scan(NULL, u->text, u->len, &c), 0);
	for (size_t i = 0; i < c.n; i++) {
		for (size_t k = 0; k < c.v[i].n; k++) {
			const struct lks_apt_word *w = &c.v[i].words[k];
			struct apt_run_span sp;
			apt_run_span(&f->run, u, w->start, w->end, &sp);
			size_t off = sp.off, len = sp.len;
			if (!sp.editable) { /* the raw range, for the record */
				off = u->pos[w->start];
				len = u->pos[w->end - 1] + 1 - off;
			}
			lks_buf_printf(o, "word %zu %s '", sp.line,
			               sp.json       ? "json"
			               : sp.editable ? "edit"
			                             : "split");
			quoted(o, f->data.data + off, len);
			lks_buf_puts(o, "'\n");
		}
	}
	lks_apt_cmds_free(&c);
}

static void render_units(const struct apt_pinner_file *f, struct lks_buf *o)
{
	for (size_t i = 0; i < f->run.n; i++) {
		const struct apt_run_unit *u = &f->run.v[i];
		lks_buf_printf(o, "unit %zu stage %zu line %zu %s: ", i, u->stage, u->line,
		               u->exec ? "exec" : "shell");
		quoted(o, u->text, u->len);
		lks_buf_puts(o, "\n");
		render_words(f, u, o);
	}
}

static size_t *stage_parents(const struct apt_pinner_file *f)
{
	/* fixtures: a stage FROM "base" is FROM stage 0; others are images */
	size_t *p = calloc(f->df->ninstrs + 1, sizeof(*p));
	size_t s = 0;
	for (size_t i = 0; i < f->df->ninstrs; i++) {
		if (!strcmp(f->df->instrs[i].keyword, "FROM")) {
			p[s++] = strcmp(f->df->instrs[i].args[0].value, "base") ? SIZE_MAX : 0;
		}
	}
	return p;
}

static void render_files(struct lks_ctx *ctx, const struct apt_pinner_file *f, struct lks_buf *o)
{
	struct apt_files a;
	cr_assert_eq(apt_files_collect(ctx, f, &a), 0, "%s", ctx->err);
	for (size_t i = 0; i < a.n; i++) {
		lks_buf_printf(o, "file %zu stage %zu %s %s '", a.v[i].instr, a.v[i].stage,
		               a.v[i].path, a.v[i].append ? ">>" : "=");
		quoted(o, a.v[i].data, a.v[i].len);
		lks_buf_puts(o, "'\n");
	}
	size_t *parent = stage_parents(f);
	for (size_t i = 0; i < f->run.n; i++) {
		const struct apt_run_unit *u = &f->run.v[i];
		if (!strstr(u->text, "apt-get install")) {
			continue;
		}
		struct lks_apt_file *v;
		size_t n;
		cr_assert_eq(apt_files_for(&a, parent, u->stage, u->instr, &v, &n), 0);
		lks_buf_printf(o, "for %zu stage %zu:", u->instr, u->stage);
		for (size_t k = 0; k < n; k++) {
			lks_buf_printf(o, " %s", v[k].path);
		}
		lks_buf_puts(o, "\n");
		free(v);
	}
	free(parent);
	apt_files_free(&a);
}

static void check_fixture(const char *name, bool files)
{
	char path[4096];
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct apt_pinner_file f = {.path = path};
	snprintf(path, sizeof(path), "%s/fixtures/apt/aptrun/%s.Dockerfile", getenv("LKS_SRCDIR"),
	         name);
	lks_buf_init(&f.data, 0);
	cr_assert_eq(lks_buf_read_file(&f.data, path), 0, "%s", path);
	cr_assert_eq(lks_dockerfile_parse(&ctx, name, f.data.data, f.data.len, &f.df), 0, "%s",
	             ctx.err);
	cr_assert_eq(apt_run_collect(f.df, &f.run), 0);
	struct lks_buf got, want;
	lks_buf_init(&got, 0);
	lks_buf_init(&want, 0);
	lks_buf_puts(&got, "");
	if (files) {
		render_files(&ctx, &f, &got);
	} else {
		render_units(&f, &got);
	}
	char exp[4200];
	snprintf(exp, sizeof(exp), "%s/fixtures/apt/aptrun/%s.expect", getenv("LKS_SRCDIR"), name);
	cr_assert_eq(lks_buf_read_file(&want, exp), 0, "%s", exp);
	cr_expect_str_eq(got.data, want.data, "%s: got\n%s", name, got.data);
	lks_buf_free(&got);
	lks_buf_free(&want);
	apt_run_free(&f.run);
	lks_dockerfile_free(f.df);
	lks_buf_free(&f.data);
	lks_ctx_free(&ctx);
}

Test(aptrun, units_and_word_spans)
{
	check_fixture("shapes", false);
}

Test(aptrun, files_the_dockerfile_adds)
{
	check_fixture("files", true);
}

/* issue 11: SHELL ["powershell"|"cmd", ...] makes RUN text not sh; POSIX shells are scanned */
Test(aptrun, foreign_shell)
{
	check_fixture("shell", false);
}
