/* Dockerfile parser, image references and lossless rewrite.
 * Fixture-driven: fixtures/dockerfiles/NAME.Dockerfile with NAME.expect (image references,
 * format in tests/dfexpect.h) or NAME.err (line 1: error code name, line 2: message). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/platform.h"
#include "dfexpect.h"
#include "pinner/dockerfile/df_edit.h"

static char *fixture_dir(void)
{
	const char *src = getenv("LKS_SRCDIR");
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/fixtures/dockerfiles", src ? src : ".") > 0);
	return p;
}

static int read_path(const char *dir, const char *name, const char *ext, struct lks_buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
	lks_buf_init(b, 64 << 20);
	return lks_buf_read_file(b, path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fixture base names (without .Dockerfile), sorted. */
static char **list_fixtures(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	cr_assert(d, "cannot open %s", dir);
	char **v = NULL;
	size_t cnt = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 11 && !strcmp(e->d_name + l - 11, ".Dockerfile")) {
			v = realloc(v, (cnt + 1) * sizeof(*v));
			v[cnt++] = strndup(e->d_name, l - 11);
		}
	}
	closedir(d);
	qsort(v, cnt, sizeof(*v), cmp_str);
	*n = cnt;
	return v;
}

static void fake_digest(size_t i, int variant, char out[72])
{
	int k = snprintf(out, 72, "sha256:");
	for (int j = 0; j < 64; j++) {
		k += snprintf(out + k, 72 - (size_t)k, "%x",
		              (unsigned)((i * 7 + (size_t)j + (size_t)variant * 3) % 16));
	}
}

/* Pin every reference that can be pinned; returns the number of edits in *ne. */
static void pin_all(const char *data, size_t len, int variant, struct lks_buf *out, size_t *ne,
                    const char *name, bool only_unpinned)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df;
	cr_assert_eq(lks_dockerfile_parse(&ctx, name, data, len, &df), 0, "%s: %s", name, ctx.err);
	struct lks_df_image *imgs;
	size_t n;
	cr_assert_eq(lks_dockerfile_images(&ctx, df, &imgs, &n), 0, "%s: %s", name, ctx.err);
	struct lks_edit *e = calloc(n + 1, sizeof(*e));
	char **texts = calloc(n + 1, sizeof(*texts));
	size_t cnt = 0;
	for (size_t i = 0; i < n; i++) {
		char dg[72];
		if (only_unpinned && imgs[i].has_digest) {
			continue;
		}
		fake_digest(i, variant, dg);
		int rc = lks_df_pin_edit(&ctx, data, &imgs[i], dg, &e[cnt], &texts[cnt]);
		cr_assert(rc == 0 || rc == -LKS_E_UNSUPPORTED, "%s: %s", name, ctx.err);
		cnt += rc == 0;
	}
	lks_buf_init(out, 0);
	cr_assert_eq(lks_edits_apply(&ctx, data, len, e, cnt, out), 0, "%s: %s", name, ctx.err);
	/* bytes outside the edits are unchanged: walk the output against the input */
	size_t in_at = 0, out_at = 0;
	for (size_t i = 0; i < cnt; i++) {
		size_t keep = e[i].off - in_at;
		cr_assert(!memcmp(data + in_at, out->data + out_at, keep), "%s: bytes changed",
		          name);
		out_at += keep;
		cr_assert(!memcmp(out->data + out_at, e[i].text, strlen(e[i].text)), "%s", name);
		out_at += strlen(e[i].text);
		in_at = e[i].off + e[i].len;
	}
	cr_assert_eq(len - in_at, out->len - out_at, "%s", name);
	cr_assert(!memcmp(data + in_at, out->data + out_at, len - in_at), "%s", name);
	*ne = cnt;
	for (size_t i = 0; i < cnt; i++) {
		free(texts[i]);
	}
	free(texts);
	free(e);
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
}

static void check_expect(const char *dir, const char *name, const struct lks_buf *src)
{
	struct lks_buf want, got;
	cr_assert_eq(read_path(dir, name, ".expect", &want), 0, "%s: no .expect/.err", name);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df;
	struct lks_df_image *imgs;
	size_t n;
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", src->data, src->len, &df), 0,
	             "%s: %s", name, ctx.err);
	cr_assert_eq(lks_dockerfile_images(&ctx, df, &imgs, &n), 0, "%s: %s", name, ctx.err);
	lks_buf_init(&got, 0);
	dfexpect_format(&got, imgs, n);
	cr_assert_str_eq(got.data ? got.data : "", want.data ? want.data : "", "%s.expect", name);
	lks_buf_free(&got);
	lks_buf_free(&want);
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
}

static void check_rewrite(const char *name, const struct lks_buf *src)
{
	struct lks_buf none, p1, p2, p3, p4;
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	lks_buf_init(&none, 0);
	cr_assert_eq(lks_edits_apply(&ctx, src->data, src->len, NULL, 0, &none), 0);
	cr_assert(none.len == src->len && !memcmp(none.data, src->data, src->len), "%s", name);
	size_t n1, n2, n3, n4;
	pin_all(src->data, src->len, 0, &p1, &n1, name, false);
	pin_all(p1.data, p1.len, 0, &p2, &n2, name, false);
	cr_assert_eq(n1, n2, "%s: pinning again found other references", name);
	cr_assert(p1.len == p2.len && !memcmp(p1.data, p2.data, p1.len), "%s: not stable", name);
	pin_all(p1.data, p1.len, 1, &p3, &n3, name, false);
	pin_all(p3.data, p3.len, 0, &p4, &n4, name, false);
	cr_assert(p1.len == p4.len && !memcmp(p1.data, p4.data, p1.len), "%s: repin", name);
	/* pinning only what has no digest yet: with nothing to pin the file is unchanged */
	lks_buf_free(&p2);
	pin_all(src->data, src->len, 0, &p2, &n2, name, true);
	if (n2 == 0) {
		cr_assert(p2.len == src->len && !memcmp(p2.data, src->data, src->len), "%s", name);
	}
	lks_buf_free(&none);
	lks_buf_free(&p1);
	lks_buf_free(&p2);
	lks_buf_free(&p3);
	lks_buf_free(&p4);
	lks_ctx_free(&ctx);
}

static const char *const err_names[] = {"PARSE", "TOOBIG", "INVAL", "UNSUPPORTED"};
static const int err_codes[] = {-LKS_E_PARSE, -LKS_E_TOOBIG, -LKS_E_INVAL, -LKS_E_UNSUPPORTED};

static void check_error(const char *name, const struct lks_buf *src, struct lks_buf *err)
{
	char *nl = strchr(err->data, '\n');
	cr_assert(nl, "%s.err: needs 2 lines", name);
	*nl = '\0';
	char *msg = nl + 1;
	msg[strcspn(msg, "\n")] = '\0';
	int want = 0;
	for (size_t i = 0; i < ARRAY_SIZE(err_names); i++) {
		want = strcmp(err->data, err_names[i]) ? want : err_codes[i];
	}
	cr_assert(want, "%s.err: unknown code %s", name, err->data);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df = NULL;
	int rc =
	    lks_dockerfile_parse(&ctx, "Dockerfile", src->data ? src->data : "", src->len, &df);
	cr_assert_eq(rc, want, "%s: rc %d (%s), want %d", name, rc, ctx.err, want);
	cr_assert_null(df);
	cr_assert_str_eq(ctx.err, msg, "%s", name);
	lks_ctx_free(&ctx);
}

Test(dockerfile, fixtures)
{
	char *dir = fixture_dir();
	size_t n;
	char **names = list_fixtures(dir, &n);
	cr_assert(n >= 30, "only %zu fixtures", n);
	for (size_t i = 0; i < n; i++) {
		struct lks_buf src, err;
		cr_assert_eq(read_path(dir, names[i], ".Dockerfile", &src), 0, "%s", names[i]);
		if (read_path(dir, names[i], ".err", &err) == 0) {
			check_error(names[i], &src, &err);
		} else {
			check_expect(dir, names[i], &src);
			check_rewrite(names[i], &src);
		}
		lks_buf_free(&err);
		lks_buf_free(&src);
		free(names[i]);
	}
	free(names);
	free(dir);
}

/* Every contiguous range must hold exactly its text; every instruction range starts with its
 * keyword. Checked over all fixtures. */
static void check_word_ranges(const char *data, const struct lks_df_word *w, size_t n,
                              const char *name)
{
	for (size_t i = 0; i < n; i++) {
		size_t tl = strlen(w[i].text);
		if (w[i].contiguous) {
			cr_assert_eq(w[i].len, tl, "%s: %s", name, w[i].text);
			cr_assert(!memcmp(data + w[i].off, w[i].text, tl), "%s: %s", name,
			          w[i].text);
		}
		for (size_t k = 0; k < tl; k++) {
			cr_assert_eq(data[w[i].pos[k]], w[i].text[k], "%s: %s[%zu]", name,
			             w[i].text, k);
		}
	}
}

static void check_instr_ranges(const char *data, const struct lks_df_instr *in, const char *name)
{
	cr_assert(!strncasecmp(data + in->off, in->keyword, strlen(in->keyword)), "%s: %s", name,
	          in->keyword);
	check_word_ranges(data, in->args, in->nargs, name);
	check_word_ranges(data, in->words, in->nwords, name);
	for (size_t i = 0; i < in->nflags; i++) {
		const struct lks_df_flag *f = &in->flags[i];
		cr_assert(!memcmp(data + f->off, "--", 2), "%s: flag %s", name, f->name);
		for (size_t k = 0; f->text[k]; k++) {
			cr_assert_eq(data[f->pos[k]], f->text[k], "%s: flag %s", name, f->text);
		}
	}
	for (size_t i = 0; i < in->nheredocs; i++) {
		cr_assert(in->heredocs[i].off + in->heredocs[i].len <= in->off + in->len, "%s",
		          name);
	}
	if (in->sub) {
		check_instr_ranges(data, in->sub, name);
	}
}

Test(dockerfile, ranges_hold_their_text)
{
	char *dir = fixture_dir();
	size_t n;
	char **names = list_fixtures(dir, &n);
	for (size_t i = 0; i < n; i++) {
		struct lks_buf src, err;
		cr_assert_eq(read_path(dir, names[i], ".Dockerfile", &src), 0);
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_dockerfile *df = NULL;
		if (read_path(dir, names[i], ".err", &err) < 0) {
			cr_assert_eq(lks_dockerfile_parse(&ctx, "x", src.data, src.len, &df), 0);
			for (size_t k = 0; k < df->ninstrs; k++) {
				check_instr_ranges(src.data, &df->instrs[k], names[i]);
			}
		}
		lks_dockerfile_free(df);
		lks_ctx_free(&ctx);
		lks_buf_free(&err);
		lks_buf_free(&src);
		free(names[i]);
	}
	free(names);
	free(dir);
}

static struct lks_dockerfile *parse_ok(const char *text)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df = NULL;
	int rc = lks_dockerfile_parse(&ctx, "Dockerfile", text, strlen(text), &df);
	cr_assert_eq(rc, 0, "%s: %s", text, ctx.err);
	lks_ctx_free(&ctx);
	return df;
}

Test(dockerfile, instructions)
{
	struct {
		const char *in;
		size_t idx;
		const char *keyword, *logical;
		size_t start, end;
		bool json;
	} cases[] = {
	    {"from alpine\n", 0, "FROM", "from alpine", 1, 1, false},
	    {"FROM a\nRUN x \\\n  y\n", 1, "RUN", "RUN x   y", 2, 3, false},
	    {"FROM a\nRUN x \\\n# c\n\n  y\n", 1, "RUN", "RUN x   y", 2, 5, false},
	    {"FROM a\r\nRUN x \\\r\n  y\r\n", 1, "RUN", "RUN x   y", 2, 3, false},
	    {"FROM a\nCMD [\"a\", \"b\"]", 1, "CMD", "CMD [\"a\", \"b\"]", 2, 2, true},
	    {"FROM a\nCMD [\"a\", b]", 1, "CMD", "CMD [\"a\", b]", 2, 2, false},
	    {"FROM a\nRUN echo \\\\\nRUN b\n", 2, "RUN", "RUN b", 3, 3, false},
	    {"# escape=`\nFROM a\nRUN x `\n y\n", 1, "RUN", "RUN x  y", 3, 4, false},
	    {"# escape=`\nFROM a\nRUN x \\\nRUN y\n", 2, "RUN", "RUN y", 4, 4, false},
	    {"\xEF\xBB\xBF"
	     "FROM a\n",
	     0, "FROM", "FROM a", 1, 1, false},
	    {"FROM a\nRUN <<E\nE\nRUN z\n", 2, "RUN", "RUN z", 4, 4, false},
	    {"FROM a\n  onbuild   run  x", 1, "ONBUILD", "onbuild   run  x", 2, 2, false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lks_dockerfile *df = parse_ok(cases[i].in);
		cr_assert_gt(df->ninstrs, cases[i].idx, "case %zu", i);
		const struct lks_df_instr *in = &df->instrs[cases[i].idx];
		cr_assert_str_eq(in->keyword, cases[i].keyword, "case %zu", i);
		cr_assert_str_eq(in->logical, cases[i].logical, "case %zu", i);
		cr_assert_eq(in->start_line, cases[i].start, "case %zu", i);
		cr_assert_eq(in->end_line, cases[i].end, "case %zu: %zu", i, in->end_line);
		cr_assert_eq(in->json, cases[i].json, "case %zu", i);
		lks_dockerfile_free(df);
	}
}

Test(dockerfile, directives)
{
	struct lks_dockerfile *df = parse_ok("# Syntax = docker/dockerfile:1.7 \n"
	                                     "#CHECK=skip=all\n# escape=`\nFROM a\n");
	cr_assert_str_eq(df->syntax, "docker/dockerfile:1.7");
	cr_assert_str_eq(df->check, "skip=all");
	cr_assert_eq(df->escape, '`');
	lks_dockerfile_free(df);
	/* after a blank line, a plain comment or an unknown directive: only comments */
	const char *late[] = {"\n# escape=`\nFROM a\n", "# hi\n# escape=`\nFROM a\n",
	                      "# foo=bar\n# escape=`\nFROM a\n", "FROM a\n# escape=`\n"};
	for (size_t i = 0; i < ARRAY_SIZE(late); i++) {
		df = parse_ok(late[i]);
		cr_assert_eq(df->escape, '\\', "%s", late[i]);
		lks_dockerfile_free(df);
	}
}

Test(dockerfile, heredoc_bodies)
{
	const char *src = "FROM a\nRUN <<A cat && <<-\"B\" cat\nline a\n\t\tA\nA\n\tline b\n\tB\n"
	                  "COPY <<EOF /x\r\nx\r\nEOF\r\n";
	struct lks_dockerfile *df = parse_ok(src);
	cr_assert_eq(df->ninstrs, 3);
	const struct lks_df_instr *run = &df->instrs[1];
	cr_assert_eq(run->nheredocs, 2);
	const struct lks_df_heredoc *a = &run->heredocs[0], *b = &run->heredocs[1];
	cr_assert_str_eq(a->name, "A");
	cr_assert(!a->chomp && a->expand);
	cr_assert_eq(a->len, strlen("line a\n\t\tA\n"));
	cr_assert(!memcmp(src + a->off, "line a\n\t\tA\n", a->len));
	cr_assert_str_eq(b->name, "B");
	cr_assert(b->chomp && !b->expand);
	cr_assert(!memcmp(src + b->off, "\tline b\n", b->len));
	cr_assert_eq(run->end_line, 7);
	const struct lks_df_instr *cp = &df->instrs[2];
	cr_assert_eq(cp->nheredocs, 1);
	cr_assert(!memcmp(src + cp->heredocs[0].off, "x\r\n", cp->heredocs[0].len));
	cr_assert_eq(cp->off + cp->len + 2, strlen(src));
	lks_dockerfile_free(df);
}

Test(dockerfile, run_words)
{
	const char *src = "FROM a\nRUN apt-get update&&apt-get install -y \\\n"
	                  "    # comment\n    'cu'rl=7.88.1-10 \"git\"; pip install x==1|| true\n";
	struct lks_dockerfile *df = parse_ok(src);
	const struct lks_df_instr *run = &df->instrs[1];
	const char *want[] = {"apt-get", "update",         "&&",  "apt-get", "install",
	                      "-y",      "curl=7.88.1-10", "git", ";",       "pip",
	                      "install", "x==1",           "||",  "true"};
	cr_assert_eq(run->nwords, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		cr_assert_str_eq(run->words[i].value, want[i], "word %zu", i);
		cr_assert_eq(run->words[i].op,
		             !strcmp(want[i], "&&") || !strcmp(want[i], ";") ||
		                 !strcmp(want[i], "||"),
		             "word %zu", i);
	}
	const struct lks_df_word *curl = &run->words[6];
	cr_assert(curl->contiguous);
	cr_assert(!memcmp(src + curl->off, "'cu'rl=7.88.1-10", curl->len));
	lks_dockerfile_free(df);
	/* a word spanning a continuation */
	const char *split = "FROM a\nRUN apt-get install cu\\\nrl\n";
	df = parse_ok(split);
	const struct lks_df_word *w = &df->instrs[1].words[2];
	cr_assert_str_eq(w->text, "curl");
	cr_assert(!w->contiguous);
	cr_assert_eq(w->len, strlen("cu\\\nrl"));
	cr_assert_eq(split[w->pos[2]], 'r');
	lks_dockerfile_free(df);
}

Test(dockerfile, flags)
{
	const char *src = "FROM --platform=linux/arm64 a AS b\n"
	                  "COPY --chown=1:1 --from=\"b\" -- --x /y\n";
	struct lks_dockerfile *df = parse_ok(src);
	const struct lks_df_instr *from = &df->instrs[0], *cp = &df->instrs[1];
	cr_assert_eq(from->nflags, 1);
	cr_assert_str_eq(from->flags[0].name, "platform");
	cr_assert_str_eq(from->flags[0].value, "linux/arm64");
	cr_assert(!memcmp(src + from->flags[0].value_off, "linux/arm64", 11));
	cr_assert_eq(from->flags[0].value_len, 11);
	cr_assert_eq(cp->nflags, 2);
	cr_assert_str_eq(cp->flags[1].value, "b");
	cr_assert_eq(cp->nargs, 2, "'--' ends the flags");
	cr_assert_str_eq(cp->args[0].text, "--x");
	lks_dockerfile_free(df);
}

Test(dockerfile, caps)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df = NULL;
	size_t big = 10 << 20;
	char *s = malloc(big + 64);
	cr_assert_not_null(s);
	if (!s) {
		return;
	}
	strcpy(s, "FROM a\nRUN echo ");
	memset(s + 16, 'x', big);
	strcpy(s + 16 + big, "\n");
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", s, strlen(s), &df), -LKS_E_TOOBIG);
	cr_assert_str_eq(ctx.err, "Dockerfile:2: line longer than 1048576 bytes");
	/* many short continuation lines adding up to a too long instruction */
	size_t n = 0;
	n += (size_t)sprintf(s, "FROM a\nRUN x");
	while (n < (2u << 20)) {
		n += (size_t)sprintf(s + n, " %s \\\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	}
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", s, n, &df), -LKS_E_TOOBIG);
	cr_assert(strstr(ctx.err, "instruction longer than 1048576 bytes"), "%s", ctx.err);
	free(s);
	char *huge = calloc(1, LKS_DF_MAX_FILE + 2);
	cr_assert_not_null(huge);
	if (!huge) {
		return;
	}
	memset(huge, '\n', LKS_DF_MAX_FILE + 1);
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", huge, LKS_DF_MAX_FILE + 1, &df),
	             -LKS_E_TOOBIG);
	cr_assert_str_eq(ctx.err, "Dockerfile: file larger than 16777216 bytes");
	/* hostile counts: many tiny instructions, many words (memory stays bounded) */
	size_t hn = 0;
	hn += (size_t)sprintf(huge, "FROM a\n");
	while (hn < (1u << 20)) {
		hn += (size_t)sprintf(huge + hn, "RUN\n");
	}
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", huge, hn, &df), -LKS_E_TOOBIG);
	cr_assert_str_eq(ctx.err, "Dockerfile:65537: more than 65536 instructions");
	hn = (size_t)sprintf(huge, "FROM a\n");
	for (int k = 0; k < 4; k++) {
		hn += (size_t)sprintf(huge + hn, "CMD [");
		for (int j = 0; j < 100000; j++) {
			hn += (size_t)sprintf(huge + hn, "\"\",");
		}
		hn += (size_t)sprintf(huge + hn, "\"\"]\n");
	}
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", huge, hn, &df), -LKS_E_TOOBIG);
	cr_assert_str_eq(ctx.err, "Dockerfile:4: more than 262144 words in the file");
	free(huge);
	cr_assert_null(df);
	lks_ctx_free(&ctx);
}

Test(edits, apply_and_reject_overlaps)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	const char *src = "FROM a\nFROM b\n";
	struct lks_edit ok[] = {{12, 1, "c"}, {6, 0, "@x"}, {0, 4, "from"}};
	struct lks_buf out;
	lks_buf_init(&out, 0);
	cr_assert_eq(lks_edits_apply(&ctx, src, strlen(src), ok, 3, &out), 0);
	cr_assert_str_eq(out.data, "from a@x\nFROM c\n");
	struct {
		struct lks_edit e[2];
	} bad[] = {
	    {{{0, 5, "x"}, {4, 1, "y"}}},  {{{3, 0, "x"}, {3, 0, "y"}}},
	    {{{3, 2, "x"}, {3, 0, "y"}}},  {{{0, 1, "x"}, {14, 1, "y"}}},
	    {{{0, 1, "x"}, {15, 0, "y"}}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		lks_buf_reset(&out);
		cr_assert_eq(lks_edits_apply(&ctx, src, strlen(src), bad[i].e, 2, &out),
		             -LKS_E_INVAL, "case %zu", i);
	}
	lks_buf_free(&out);
	lks_ctx_free(&ctx);
}

Test(edits, pin_edit_refuses)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	const char *src = "ARG IMG=alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
	                  "0123456789abcdef\nFROM ${IMG}\nFROM busybox\n";
	struct lks_dockerfile *df = parse_ok(src);
	struct lks_df_image *imgs;
	size_t n;
	cr_assert_eq(lks_dockerfile_images(&ctx, df, &imgs, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert(imgs[0].has_digest);
	struct lks_edit e;
	char *t = NULL;
	const char *dg = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	cr_assert_eq(lks_df_pin_edit(&ctx, src, &imgs[0], dg, &e, &t), -LKS_E_UNSUPPORTED);
	cr_assert_eq(lks_df_pin_edit(&ctx, src, &imgs[1], "sha256:abc", &e, &t), -LKS_E_INVAL);
	cr_assert_eq(lks_df_pin_edit(&ctx, src, &imgs[1], dg, &e, &t), 0);
	cr_assert_eq(e.off, strlen(src) - 1);
	cr_assert_eq(e.len, 0);
	free(t);
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
}

/* fixtures/dockerfiles/39-expansion-limits: why each reference is blocked, so check names
 * the cause (the cap, the syntax, a missing default) instead of "no default value". */
Test(dockerfile, expansion_block_reasons)
{
	static const enum lks_df_block want[] = {
	    LKS_DF_BLOCK_TOO_LONG,   LKS_DF_BLOCK_TOO_LONG, LKS_DF_BLOCK_SYNTAX,
	    LKS_DF_BLOCK_SYNTAX,     LKS_DF_BLOCK_SYNTAX,   LKS_DF_BLOCK_SYNTAX,
	    LKS_DF_BLOCK_NO_DEFAULT, LKS_DF_BLOCK_PATTERN,  LKS_DF_BLOCK_PATTERN,
	    LKS_DF_BLOCK_TOO_DEEP,
	};
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	char *dir = fixture_dir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/39-expansion-limits.Dockerfile", dir);
	struct lks_buf b;
	lks_buf_init(&b, 0);
	cr_assert_eq(lks_buf_read_file(&b, path), 0);
	struct lks_dockerfile *df = NULL;
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", b.data, b.len, &df), 0, "%s",
	             ctx.err);
	struct lks_df_image *imgs = NULL;
	size_t n = 0;
	cr_assert_eq(lks_dockerfile_images(&ctx, df, &imgs, &n), 0, "%s", ctx.err);
	cr_assert_eq(n, ARRAY_SIZE(want) + 1);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		cr_expect_not_null(imgs[i].blocked_by, "%zu", i);
		cr_expect_eq(imgs[i].blocked_why, want[i], "%zu: %d", i, imgs[i].blocked_why);
	}
	/* 16 nested ${...} are still followed */
	cr_expect_str_eq(imgs[n - 1].expanded ? imgs[n - 1].expanded : "(null)", "img:a");
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	lks_buf_free(&b);
	free(dir);
	lks_ctx_free(&ctx);
}

/* The image of the only reference of a one-FROM Dockerfile (NULL when not listed), with the
 * default platforms or those of csv; the marked value as in .expect (!, ?, ~). */
static char *one_image(const char *src, const char *csv)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_platforms pl = {0};
	if (csv) {
		cr_assert_eq(lks_platforms_add(&ctx, &pl, csv), 0, "%s", ctx.err);
	}
	struct lks_dockerfile *df = parse_ok(src);
	struct lks_df_image *imgs;
	size_t n;
	cr_assert_eq(lks_dockerfile_images_on(&ctx, df, csv ? &pl : NULL, &imgs, &n), 0, "%s",
	             ctx.err);
	char *r = NULL;
	if (n) {
		const struct lks_df_image *m = &imgs[n - 1];
		const char *mark = m->expanded       ? ""
		                   : m->per_platform ? "~"
		                   : m->blocked_why  ? "?"
		                                     : "!";
		cr_assert(asprintf(&r, "%s%s", mark,
		                   m->expanded       ? m->expanded
		                   : m->per_platform ? m->per_platform
		                                     : m->blocked_by) > 0);
	}
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
	return r;
}

/* BuildKit's own expectations for the pattern forms (frontend/dockerfile/shell/lex_test.go),
 * through global ARGs and a FROM. */
Test(expand, patterns_as_buildkit)
{
	static const struct {
		const char *src, *want;
	} t[] = {
	    {"ARG FOO='()[]{}^$.*?|\\x'\nFROM ${FOO#()[]{\\}^$.\\*\\?|\\\\}\n", "x"},
	    {"ARG FOO=xx**\nFROM ${FOO%%\\**}\n", "xx"},
	    {"ARG FOO=xxyy\nFROM ${FOO#*x*y}\n", "y"},
	    {"ARG FOO=xxyy\nFROM ${FOO#*}\n", "xxyy"},
	    {"ARG FOO=xxyy\nARG BAR=x\nFROM ${FOO#$BAR}\n", "xyy"},
	    {"ARG FOO=xxyy\nARG BAR=\nFROM ${FOO#$BAR}\n", "xxyy"},
	    {"ARG FOO=xxyy\nFROM ${FOO#}\n", "xxyy"},
	    {"ARG FOO=xxyy\nFROM ${FOO##*x}\n", "yy"},
	    {"ARG FOO=xxyy\nFROM ${FOO##}\n", "xxyy"},
	    {"ARG FOO=???y\nFROM ${FOO#?\\?}\n", "?y"},
	    {"ARG FOO=xxyy\nFROM ${ABC:-.}${FOO%x}${ABC:-.}\n", ".xxyy."},
	    {"ARG FOO=a***yy*\nFROM ${FOO%%\\**\\*}\n", "a"},
	    {"ARG FOO=xxyy\nFROM ${FOO%}\n", "xxyy"},
	    {"ARG FOO=/foo*/*/*.txt\nARG NEEDLE='\\*/'\nFROM ${FOO/$NEEDLE/.}\n", "/foo.*/*.txt"},
	    {"ARG FOO=/foo*/*/*.txt\nARG NEEDLE='\\*/'\nFROM ${FOO//$NEEDLE/.}\n", "/foo..*.txt"},
	    {"ARG FOO=/tmp/tmp/bar.txt\nARG N=/tmp\nFROM ${FOO/$N/}-${FOO//$N/}\n",
	     "/tmp/bar.txt-/bar.txt"},
	    {"ARG FOO=/a/foo/b/c.txt\nARG N=/?/\nARG R=/\nFROM ${FOO/$N/$R}-${FOO//$N/$R}\n",
	     "/foo/b/c.txt-/foo/c.txt"},
	    {"ARG FOO=/tmp/foo.txt\nFROM ${FOO//\\//\\/}\n", "\\/tmp\\/foo.txt"},
	    {"ARG FOO=xxyy\nARG BAR=\nFROM ${FOO/$BAR/ww}\n", "wwxxyy"},
	    {"ARG FOO=xxyy\nFROM ${FOO///}\n", "xxyy"},
	    {"FROM a${FOO///}\n", "a"},
	    {"ARG FOO=xxyy\nFROM a${FOO:#x}\n", "?a${FOO:#x}"},
	    {"ARG FOO=xxyy\nFROM a${FOO//ww}\n", "?a${FOO//ww}"},
	    {"ARG FOO=xxyy\nFROM a${FOO//}\n", "?a${FOO//}"},
	    /* an ARG without a default blocks a pattern on it (its value is needed) */
	    {"ARG V\nFROM a${V#x}\n", "!V"},
	    {"ARG V\nARG W=${V%%-*}\nFROM a${W}\n", "!V"},
	    /* quotes inside ${...} words are removed, as moby's DELVE_SUPPORTED chain needs */
	    {"ARG D=${TARGETPLATFORM#linux/amd64}\nARG D=${D:+\"no\"}\nARG D=${D:-\"yes\"}\n"
	     "FROM a-${D}\n",
	     "a-yes"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *got = one_image(t[i].src, "linux/amd64");
		cr_assert_str_eq(got ? got : "(none)", t[i].want, "case %zu: %s -> %s", i, t[i].src,
		                 got ? got : "(none)");
		free(got);
	}
}

/* BuildKit's platform ARGs in the global scope, per target platform. */
Test(platforms, evaluation)
{
	static const struct {
		const char *src, *platforms, *want; /* want NULL: not an image anywhere */
	} t[] = {
	    {"FROM scratch AS binaries-linux\nFROM scratch AS binaries-windows\n"
	     "FROM binaries-$TARGETOS\n",
	     NULL, NULL},
	    /* a stage on one platform, an image on another: no digest can be written after it */
	    {"FROM scratch AS binaries-linux\nFROM binaries-$TARGETOS\n",
	     "linux/amd64,darwin/arm64",
	     "~linux/amd64: stage binaries-linux, darwin/arm64: binaries-darwin"},
	    {"FROM scratch AS binaries-linux\nFROM binaries-$TARGETOS\n", "darwin/arm64",
	     "binaries-darwin"},
	    {"ARG FLAVOR=${TARGETARCH}\nFROM scratch AS amd64\nFROM scratch AS arm64\n"
	     "FROM ${FLAVOR}\n",
	     NULL, NULL},
	    {"FROM alpine:${TARGETARCH}\n", NULL,
	     "~linux/amd64: alpine:amd64, linux/arm64: alpine:arm64"},
	    {"FROM alpine:${TARGETARCH}\n", "linux/arm64/v8", "alpine:arm64"},
	    {"FROM a:${TARGETPLATFORM}-${TARGETVARIANT}\n", "linux/arm/v7", "a:linux/arm/v7-v7"},
	    {"FROM a:${BUILDOS}-${BUILDARCH}\n", "linux/amd64", "a:linux-amd64"},
	    {"FROM --platform=$BUILDPLATFORM golang:1.22 AS b\n", NULL, "golang:1.22"},
	    /* a global ARG TARGETARCH without a default keeps the platform's value */
	    {"ARG TARGETARCH\nFROM a:${TARGETARCH}\n", "linux/s390x", "a:s390x"},
	    /* a variant stage for another platform is not evaluated: moby's containerutil */
	    {"FROM scratch AS c-linux\nFROM scratch AS c-windows-amd64\n"
	     "FROM c-windows-${TARGETARCH} AS c-windows\nFROM c-${TARGETOS}\n",
	     NULL, NULL},
	    /* ... but it is where a built stage names it */
	    {"FROM scratch AS c-linux\nFROM scratch AS c-windows-amd64\n"
	     "FROM c-windows-${TARGETARCH} AS c-windows\nFROM c-${TARGETOS}\n",
	     "windows/arm64", "c-windows-arm64"},
	    /* a stage of no variant (any stage may be a target) is always evaluated */
	    {"FROM busybox:${TARGETARCH} AS b\n", "linux/riscv64", "busybox:riscv64"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *got = one_image(t[i].src, t[i].platforms);
		if (!t[i].want) {
			cr_assert_null(got, "case %zu: listed %s", i, got);
			continue;
		}
		cr_assert_str_eq(got ? got : "(none)", t[i].want, "case %zu: %s -> %s", i, t[i].src,
		                 got ? got : "(none)");
		free(got);
	}
}

Test(platforms, parse_and_normalise)
{
	static const struct {
		const char *in, *want; /* want NULL: refused */
	} t[] = {
	    {"linux/amd64", "linux/amd64"},
	    {"Linux/X86_64", "linux/amd64"},
	    {"linux/aarch64", "linux/arm64"},
	    {"linux/arm64/v8", "linux/arm64"},
	    {"linux/arm", "linux/arm/v7"},
	    {"linux/armhf", "linux/arm/v7"},
	    {"linux/armel", "linux/arm/v6"},
	    {"linux/arm/6", "linux/arm/v6"},
	    {"linux/i686", "linux/386"},
	    {"windows/amd64", "windows/amd64"},
	    {"linux/amd64/v1", "linux/amd64"},
	    {"linux/amd64/v3", "linux/amd64/v3"},
	    {"macos/arm64", "darwin/arm64"},
	    {"linux", NULL},
	    {"linux/", NULL},
	    {"/amd64", NULL},
	    {"linux/amd64/v2/x", NULL},
	    {"linux/am d64", NULL},
	    {"", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct lks_platform p;
		char buf[LKS_PLATFORM_TEXT];
		int rc = lks_platform_parse(NULL, t[i].in, &p);
		if (!t[i].want) {
			cr_assert_eq(rc, -LKS_E_INVAL, "'%s' accepted", t[i].in);
			continue;
		}
		cr_assert_eq(rc, 0, "'%s'", t[i].in);
		cr_assert_str_eq(lks_platform_format(&p, buf), t[i].want, "'%s'", t[i].in);
	}
	struct lks_platforms l = {0};
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	cr_assert_eq(lks_platforms_add(&ctx, &l, " linux/amd64 , linux/arm64,linux/x86_64"), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_eq(lks_platforms_add(&ctx, &l, "linux/amd64,,linux/386"), -LKS_E_INVAL);
	cr_assert(strstr(ctx.err, "empty"), "%s", ctx.err);
	lks_ctx_free(&ctx);
}
