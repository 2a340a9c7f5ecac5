/* Command texts of RUN instructions with a map back to the Dockerfile (see apt_run.h). */
#include "pinner/apt/apt_run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/dockerfile.h"
#include "lockstep/ptext.h"

static int add_unit(struct apt_run *r, size_t instr, size_t stage, struct lks_ptext *t, bool exec)
{
	if (r->n == r->cap) { /* one unit per RUN: doubling keeps 60,000 of them linear */
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct apt_run_unit *nv = realloc(r->v, cap * sizeof(*nv));
		if (!nv) {
			return -ENOMEM;
		}
		r->v = nv;
		r->cap = cap;
	}
	const struct lks_df_instr *in = &r->df->instrs[instr];
	r->v[r->n++] = (struct apt_run_unit){
	    instr, stage, in->start_line, t->s ? t->s : strdup(""), t->len, t->pos, exec};
	memset(t, 0, sizeof(*t));
	return r->v[r->n - 1].text ? 0 : -ENOMEM;
}

/* The shell words as BuildKit hands them to the shell; a blank only where the file had one. */
static int shell_unit(struct apt_run *r, size_t i, size_t stage)
{
	const struct lks_df_instr *in = &r->df->instrs[i];
	struct lks_ptext t = {0};
	int rc = 0;
	for (size_t w = 0; rc == 0 && w < in->nwords; w++) {
		const struct lks_df_word *wd = &in->words[w];
		size_t n = strlen(wd->text);
		if (w > 0 && n && wd->pos[0] != in->words[w - 1].off + in->words[w - 1].len) {
			rc = lks_ptext_putc(&t, ' ', APTRUN_NOPOS);
		}
		for (size_t k = 0; rc == 0 && k < n; k++) {
			rc = lks_ptext_putc(&t, wd->text[k], wd->pos[k]);
		}
	}
	if (rc < 0) {
		lks_ptext_free(&t);
		return rc;
	}
	return add_unit(r, i, stage, &t, false);
}

/* Exec form: each argument single-quoted, every byte mapped to the argument's index. */
static int exec_unit(struct apt_run *r, size_t i, size_t stage)
{
	const struct lks_df_instr *in = &r->df->instrs[i];
	struct lks_ptext t = {0};
	int rc = 0;
	for (size_t a = 0; rc == 0 && a < in->nargs; a++) {
		const char *v = in->args[a].value;
		rc = a ? lks_ptext_putc(&t, ' ', APTRUN_NOPOS) : 0;
		rc = rc ? rc : lks_ptext_putc(&t, '\'', a);
		for (; rc == 0 && *v; v++) {
			if (*v == '\'') {
				rc = lks_ptext_putc(&t, '\'', a) | lks_ptext_putc(&t, '\\', a) |
				     lks_ptext_putc(&t, '\'', a);
			}
			rc = rc ? rc : lks_ptext_putc(&t, *v, a);
		}
		rc = rc ? rc : lks_ptext_putc(&t, '\'', a);
	}
	if (rc < 0) {
		lks_ptext_free(&t);
		return rc;
	}
	return add_unit(r, i, stage, &t, true);
}

static bool is_heredoc_word(const char *s)
{
	s += strspn(s, "0123456789");
	return s[0] == '<' && s[1] == '<';
}

static bool is_shell(const char *w)
{
	static const char *const shells[] = {"sh", "bash", "dash", "ash", "zsh", "ksh"};
	const char *b = strrchr(w, '/');
	b = b ? b + 1 : w;
	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		if (!strcmp(b, shells[i])) {
			return true;
		}
	}
	return false;
}

/* Does a shell run the heredoc bodies of this RUN as a script? */
static bool heredoc_is_script(const struct lks_df_instr *in)
{
	const char *first = NULL;
	for (size_t w = 0; w < in->nwords; w++) {
		const char *s = in->words[w].value;
		if (in->words[w].op || is_heredoc_word(s)) {
			continue;
		}
		if (!first) {
			first = s;
		} else if (!strcmp(s, "-c")) {
			return false;
		}
	}
	return !first || is_shell(first);
}

static int heredoc_units(struct apt_run *r, size_t i, size_t stage)
{
	const struct lks_df_instr *in = &r->df->instrs[i];
	if (!heredoc_is_script(in)) {
		return 0;
	}
	for (size_t h = 0; h < in->nheredocs; h++) {
		const struct lks_df_heredoc *hd = &in->heredocs[h];
		struct lks_ptext t = {0};
		int rc =
		    hd->len ? lks_ptext_append(&t, r->df->data, hd->off, hd->off + hd->len, 0) : 0;
		rc = rc ? rc : add_unit(r, i, stage, &t, false);
		if (rc < 0) {
			lks_ptext_free(&t);
			return rc;
		}
	}
	return 0;
}

static int line_table(struct apt_run *r)
{
	size_t n = 1;
	for (size_t i = 0; i < r->df->len; i++) {
		n += r->df->data[i] == '\n';
	}
	r->lines = malloc(n * sizeof(*r->lines));
	if (!r->lines) {
		return -ENOMEM;
	}
	r->lines[r->nlines++] = 0;
	for (size_t i = 0; i < r->df->len; i++) {
		if (r->df->data[i] == '\n') {
			r->lines[r->nlines++] = i + 1;
		}
	}
	return 0;
}

int apt_run_collect(const struct lks_dockerfile *df, struct apt_run *r)
{
	memset(r, 0, sizeof(*r));
	r->df = df;
	int rc = line_table(r);
	size_t stage = 0;
	bool seen_from = false;
	for (size_t i = 0; rc == 0 && i < df->ninstrs; i++) {
		const struct lks_df_instr *in = &df->instrs[i];
		if (!strcmp(in->keyword, "FROM")) {
			stage += seen_from;
			seen_from = true;
		}
		if (strcmp(in->keyword, "RUN") || (in->foreign_shell && !in->json)) {
			continue; /* under SHELL ["powershell", ...] the text is not sh */
		}
		rc = in->json ? exec_unit(r, i, stage) : shell_unit(r, i, stage);
		rc = rc ? rc : heredoc_units(r, i, stage);
	}
	if (rc < 0) {
		apt_run_free(r);
	}
	return rc;
}

void apt_run_free(struct apt_run *r)
{
	for (size_t i = 0; r->v && i < r->n; i++) {
		free(r->v[i].text);
		free(r->v[i].pos);
	}
	free(r->v);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}

size_t apt_run_line(const struct apt_run *r, size_t off)
{
	size_t lo = 0, hi = r->nlines;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (r->lines[mid] <= off) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return lo + 1;
}

void apt_run_span(const struct apt_run *r, const struct apt_run_unit *u, size_t start, size_t end,
                  struct apt_run_span *out)
{
	memset(out, 0, sizeof(*out));
	if (u->exec) {
		const struct lks_df_word *a = &r->df->instrs[u->instr].args[u->pos[start]];
		*out = (struct apt_run_span){a->off, a->len, apt_run_line(r, a->off), true, true};
		return;
	}
	size_t first = u->pos[start], last = u->pos[end - 1];
	bool contiguous = first != APTRUN_NOPOS && last != APTRUN_NOPOS && last >= first &&
	                  last - first == end - 1 - start;
	for (size_t k = start; contiguous && k + 1 < end; k++) {
		contiguous = u->pos[k + 1] == u->pos[k] + 1;
	}
	out->off = first;
	out->len = contiguous ? last + 1 - first : 0;
	out->line = apt_run_line(r, first == APTRUN_NOPOS ? 0 : first);
	out->editable = contiguous;
}
