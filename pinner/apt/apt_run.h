/* The apt-get / apt install commands of a Dockerfile's RUN instructions, mapped back to the
 * bytes of the file (internal to the apt pinner, pinner/apt/apt_pinner.c).
 *
 * A unit is one command text a shell runs: the logical line of a shell-form RUN (the words
 * BuildKit keeps, continuations and comment lines gone), a heredoc body that the shell runs
 * (RUN <<EOF, RUN bash <<EOF; not the body of `cat <<EOF >file` or `python3 <<EOF`), or an
 * exec-form argv written as single-quoted shell words. Each byte of a unit's text maps to its
 * offset in the file (exec form: to its argument), so a word found by lks_apt_cmd_scan or
 * lks_apt_rewrite_command can be rewritten in place. ONBUILD triggers are not units: they run in
 * other images.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lks_ctx;
struct lks_dockerfile;

#define APTRUN_NOPOS SIZE_MAX

struct apt_run_unit {
	size_t instr; /* index in df->instrs */
	size_t stage; /* 0-based stage the RUN belongs to */
	size_t line;  /* first line of the RUN */
	char *text;
	size_t len;
	size_t *pos; /* per byte: file offset (exec form: argument index), or APTRUN_NOPOS */
	bool exec;
};

struct apt_run {
	const struct lks_dockerfile *df;
	struct apt_run_unit *v;
	size_t n, cap;
	size_t *lines; /* offsets where each line starts */
	size_t nlines;
};

/* Where a range [start, end) of a unit's text is in the file. */
struct apt_run_span {
	size_t off, len;
	size_t line;
	bool editable; /* one contiguous piece of the file: it can be replaced */
	bool json;     /* a JSON string of an exec form (quotes included in off/len) */
};

/* Every unit of df, in file order. r is initialised by this call. */
int apt_run_collect(const struct lks_dockerfile *df, struct apt_run *r);
void apt_run_free(struct apt_run *r);
void apt_run_span(const struct apt_run *r, const struct apt_run_unit *u, size_t start, size_t end,
                  struct apt_run_span *out);
/* 1-based line of a file offset. */
size_t apt_run_line(const struct apt_run *r, size_t off);
