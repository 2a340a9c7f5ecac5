#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "pinner/apt/deb822.h"
#include "lockstep/error.h"

static void load(const char *name, struct lks_buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/apt/deb822/%s", getenv("LKS_SRCDIR"), name);
	lks_buf_init(b, 0);
	cr_assert_eq(lks_buf_read_file(b, path), 0, "cannot read %s", path);
}

struct collect {
	struct lks_buf out;
};

/* Serialise paragraphs so different chunkings can be compared. */
static int collect_para(void *opaque, const struct lks_deb822_para *p)
{
	struct collect *c = opaque;
	lks_buf_printf(&c->out, "[%zu]", p->line);
	for (size_t i = 0; i < p->n; i++) {
		lks_buf_printf(&c->out, "%s=<%s>;", p->fields[i].name, p->fields[i].value);
	}
	return lks_buf_putc(&c->out, '\n');
}

static char *parse_chunked(const struct lks_buf *in, size_t chunk, int *rc)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct collect c;
	lks_buf_init(&c.out, 0);
	struct lks_deb822 p;
	lks_deb822_init(&p, &ctx, "test", 0, 0, collect_para, &c);
	*rc = 0;
	for (size_t off = 0; *rc == 0 && off < in->len; off += chunk) {
		size_t n = in->len - off < chunk ? in->len - off : chunk;
		*rc = lks_deb822_feed(&p, in->data + off, n);
	}
	if (*rc == 0) {
		*rc = lks_deb822_finish(&p);
	}
	lks_deb822_free(&p);
	lks_ctx_free(&ctx);
	lks_buf_putc(&c.out, '\0');
	return lks_buf_detach(&c.out);
}

Test(deb822, fields_and_continuations_any_chunking)
{
	struct lks_buf in;
	load("two.txt", &in);
	int rc;
	char *whole = parse_chunked(&in, in.len, &rc);
	cr_assert_eq(rc, 0);
	cr_expect(strstr(whole, "[1]Package=<foo>;Version=<1.0-1>;Architecture=<amd64>;"
	                        "Description=<short\n long line one\n .\n long line two>;"));
	cr_expect(strstr(whole, "[13]Package=<bar>;Version=<2:3.4>;Architecture=<all>;"
	                        "Provides=<baz (= 1.0), qux>;"),
	          "%s", whole);
	for (size_t chunk = 1; chunk < 40; chunk++) {
		char *got = parse_chunked(&in, chunk, &rc);
		cr_assert_eq(rc, 0);
		cr_expect_str_eq(got, whole, "chunk size %zu", chunk);
		free(got);
	}
	free(whole);
	lks_buf_free(&in);
}

Test(deb822, errors)
{
	static const struct {
		const char *file;
		int rc;
		const char *msg;
	} cases[] = {
	    {"bad_line.txt", -LKS_E_PARSE, "line 4"},
	    {"bad_cont.txt", -LKS_E_PARSE, "line 1"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lks_buf in;
		load(cases[i].file, &in);
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct collect c;
		lks_buf_init(&c.out, 0);
		int rc = lks_deb822_parse(&ctx, "t", 0, in.data, in.len, collect_para, &c);
		cr_expect_eq(rc, cases[i].rc, "%s: rc %d", cases[i].file, rc);
		cr_expect(strstr(ctx.err, cases[i].msg), "%s: %s", cases[i].file, ctx.err);
		lks_buf_free(&c.out);
		lks_buf_free(&in);
		lks_ctx_free(&ctx);
	}
}

static int count_para(void *opaque, const struct lks_deb822_para *p)
{
	(*(size_t *)opaque)++;
	return 0;
}

/* A paragraph over the cap is refused; memory stays bounded by it. */
Test(deb822, paragraph_cap)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	size_t n = 0;
	struct lks_deb822 p;
	lks_deb822_init(&p, &ctx, "big", 0, 4096, count_para, &n);
	int rc = lks_deb822_feed(&p, "Package: a\n", 11);
	for (int i = 0; rc == 0 && i < 1000; i++) {
		rc = lks_deb822_feed(&p, " continuation line of some length\n", 34);
	}
	cr_expect_eq(rc, -LKS_E_TOOBIG);
	cr_expect(strstr(ctx.err, "exceeds 4096 bytes"), "%s", ctx.err);
	lks_deb822_free(&p);
	lks_ctx_free(&ctx);
}

Test(deb822, comments_only_when_allowed)
{
	static const char text[] = "# comment\nTypes: deb\n# inner\nURIs: http://x\n";
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	size_t n = 0;
	cr_expect_eq(
	    lks_deb822_parse(&ctx, "s", LKS_DEB822_COMMENTS, text, strlen(text), count_para, &n),
	    0);
	cr_expect_eq(n, 1);
	cr_expect_eq(lks_deb822_parse(&ctx, "s", 0, text, strlen(text), count_para, &n),
	             -LKS_E_PARSE);
	lks_ctx_free(&ctx);
}
