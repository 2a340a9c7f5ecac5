/* Requirements files: fixtures/python/reqs/basic.expected is pip 23's own reading of basic.in. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "pinner/python/pyreq.h"

static void enter_fixtures(void)
{
	char path[4096];
	const char *src = getenv("LKS_SRCDIR");
	snprintf(path, sizeof(path), "%s/fixtures/python/reqs", src ? src : ".");
	cr_assert_eq(chdir(path), 0, "chdir %s", path);
}

static void trim(char *s)
{
	size_t l = strlen(s);
	while (l && s[l - 1] == ' ') {
		s[--l] = '\0';
	}
}

static void join_hashes(const struct lks_pyreq_item *it, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t k = 0; k < it->nhashes; k++) {
		snprintf(out + strlen(out), len - strlen(out), "%s%s", k ? "," : "", it->hashes[k]);
	}
	if (!it->nhashes) {
		snprintf(out, len, "-");
	}
}

/* pip puts the "; marker" back on URL lines; so do we for the comparison. */
static void item_text(const struct lks_pyreq_item *it, char *out, size_t len)
{
	if (it->marker_text) {
		snprintf(out, len, "%s; %s", it->text, it->marker_text);
	} else {
		snprintf(out, len, "%s", it->text);
	}
}

Test(pyreq, same_items_as_pip)
{
	enter_fixtures();
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	cr_assert_eq(lks_pyreq_parse_file(&ctx, "basic.in", &set), 0, "%s", ctx.err);
	FILE *fp = fopen("basic.expected", "r");
	cr_assert(fp);
	char line[1024];
	size_t k = 0;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#') {
			continue;
		}
		char *f[6], *p = line;
		for (int i = 0; i < 6; i++) {
			f[i] = strsep(&p, "\t");
			cr_assert(f[i]);
		}
		cr_assert_lt(k, set.n, "fewer items than pip");
		const struct lks_pyreq_item *it = &set.items[k++];
		char buf[2048];
		cr_expect_str_eq(it->file, f[0]);
		cr_expect_eq(it->line, atoi(f[1]), "%s line", f[4]);
		cr_expect_eq(it->constraint, f[2][0] == '1', "%s constraint", f[4]);
		cr_expect_eq(it->kind == LKS_PYREQ_EDITABLE, f[3][0] == '1', "%s editable", f[4]);
		item_text(it, buf, sizeof(buf));
		trim(f[4]);
		cr_expect_str_eq(buf, f[4]);
		join_hashes(it, buf, sizeof(buf));
		cr_expect_str_eq(buf, f[5], "%s hashes", f[4]);
	}
	fclose(fp);
	cr_expect_eq(k, set.n, "more items than pip");
	cr_expect_str_eq(set.index_url, "http://127.0.0.1:1/simple");
	cr_assert_eq(set.nextra, 1);
	cr_expect_str_eq(set.extra_index_urls[0], "http://127.0.0.1:2/simple");
	cr_expect(set.pre);
	cr_expect_eq(set.nfiles, 5);
	lks_pyreq_set_free(&set);
	lks_ctx_free(&ctx);
}

Test(pyreq, kinds_and_parsed_requirements)
{
	enter_fixtures();
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	cr_assert_eq(lks_pyreq_parse_file(&ctx, "basic.in", &set), 0, "%s", ctx.err);
	cr_assert_geq(set.n, 9);
	cr_expect_eq(set.items[0].kind, LKS_PYREQ_NAMED);
	cr_expect_str_eq(set.items[0].req.key, "requests");
	cr_expect_eq(set.items[0].req.nextras, 2);
	cr_expect_eq(set.items[0].req.spec.n, 2);
	cr_expect_str_eq(set.items[2].req.key, "zope-interface");
	cr_expect_eq(set.items[4].kind, LKS_PYREQ_NAMED);
	cr_expect_str_eq(set.items[4].req.url,
	                 "https://example.invalid/name-1.0-py3-none-any.whl#sha256=abc");
	cr_expect_eq(set.items[5].kind, LKS_PYREQ_URL);
	cr_expect_str_eq(set.items[5].marker_text, "python_version < \"3.10\"");
	cr_expect_eq(set.items[6].kind, LKS_PYREQ_PATH);
	cr_expect_eq(set.items[7].kind, LKS_PYREQ_PATH);
	lks_pyreq_set_free(&set);
	lks_ctx_free(&ctx);
}

Test(pyreq, include_cycle)
{
	enter_fixtures();
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	cr_expect_lt(lks_pyreq_parse_file(&ctx, "cycle_a.in", &set), 0);
	cr_expect_str_eq(ctx.err, "cycle_b.in:2: 'cycle_a.in' includes itself (include cycle)");
	lks_pyreq_set_free(&set);
	lks_ctx_free(&ctx);
}

Test(pyreq, errors_name_file_and_line)
{
	struct {
		const char *text;
		const char *want; /* prefix of the message */
	} cases[] = {
	    {"ok\nfoo>=\n", "t.in:2: invalid requirement 'foo>='"},
	    {"a\n\nb c\n", "t.in:3: invalid requirement 'b c'"},
	    {"foo --hash=md5:abc\n", "t.in:1: invalid --hash 'md5:abc': allowed hash"},
	    {"foo --hash=sha256:abc\n", "t.in:1: invalid --hash 'sha256:abc': expected 64"},
	    {"x\n--bogus\n", "t.in:2: unknown option '--bogus'"},
	    {"--index-url\n", "t.in:1: option '--index-url' needs a value"},
	    {"--hash=sha256:00\n", "t.in:1: option '--hash' needs a requirement"},
	    {"-r other.txt\n", "t.in:1: includes are not allowed here"},
	    {"foo \\\n  ; python_version <\n", "t.in:1: invalid requirement 'foo"},
	    {"foo\n-r https://x.invalid/r.txt\n", "t.in:2: includes are not allowed"},
	    {"foo; bogus == '1'\n", "t.in:1: invalid requirement 'foo; bogus == '1''"},
	    {"pkg --pre 'unterminated\n", "t.in:1: unterminated quote"},
	    {"a\nb\0c\n", "t.in:2: NUL byte"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_pyreq_set set;
		lks_pyreq_set_init(&set);
		size_t n = strlen(cases[k].text);
		if (strstr(cases[k].want, "NUL")) {
			n = 6;
		}
		cr_expect_lt(lks_pyreq_parse_buf(&ctx, "t.in", cases[k].text, n, false, &set), 0,
		             "'%s' accepted", cases[k].text);
		cr_expect(!strncmp(ctx.err, cases[k].want, strlen(cases[k].want)), "'%s': got '%s'",
		          cases[k].text, ctx.err);
		lks_pyreq_set_free(&set);
		lks_ctx_free(&ctx);
	}
}

Test(pyreq, hostile_sizes)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	size_t n = LKS_PYREQ_MAX_LINE + 10;
	char *big = malloc(n + 1);
	for (size_t k = 0; k < n; k++) {
		big[k] = k % 2 ? '\\' : '\n';
	}
	memset(big, 'a', 10);
	for (size_t k = 10; k < n; k += 2) {
		big[k] = 'b';
		big[k + 1] = '\\';
	}
	big[n - 1] = '\n';
	big[n] = '\0';
	cr_expect_eq(lks_pyreq_parse_buf(&ctx, "t.in", big, n, false, &set), -LKS_E_TOOBIG);
	cr_expect(strstr(ctx.err, "t.in:1: line longer than"), "%s", ctx.err);
	free(big);
	lks_pyreq_set_free(&set);
	lks_ctx_free(&ctx);
}

Test(pyreq, env_expansion_and_warnings)
{
	setenv("LKS_TEST_INDEX", "http://127.0.0.1:9/simple", 1);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	const char *t = "-i ${LKS_TEST_INDEX}\n--prefer-binary\nfoo==1 --pre\nbar  #c\n";
	cr_assert_eq(lks_pyreq_parse_buf(&ctx, "t.in", t, strlen(t), false, &set), 0, "%s",
	             ctx.err);
	cr_expect_str_eq(set.index_url, "http://127.0.0.1:9/simple");
	cr_expect(strstr(ctx.warn, "t.in:2: option '--prefer-binary' has no effect"));
	cr_expect(strstr(ctx.warn, "t.in:3: option '--pre' is ignored on a requirement line"));
	cr_assert_eq(set.n, 2);
	cr_expect_str_eq(set.items[1].text, "bar");
	cr_expect(!set.pre);
	lks_pyreq_set_free(&set);
	lks_ctx_free(&ctx);
}

Test(pyreq, pip_install_arguments)
{
	enter_fixtures();
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	char *argv[] = {"--no-cache-dir",
	                "-U",
	                "flask",
	                "gunicorn==21.2.0",
	                "requests[socks]>=2",
	                "--target",
	                "/opt/x",
	                "-i",
	                "http://127.0.0.1:3/simple",
	                "-r",
	                "leaf.in",
	                "--root-user-action=ignore",
	                "./wheels/x-1.0-py3-none-any.whl"};
	cr_assert_eq(lks_pyreq_parse_pip_args(&ctx, "Dockerfile", 7, argv, ARRAY_SIZE(argv), &set),
	             0, "%s", ctx.err);
	cr_assert_eq(set.n, 5);
	cr_expect_str_eq(set.items[0].req.key, "flask");
	cr_expect(!lks_pyreq_item_pinned(&set.items[0]));
	cr_expect(lks_pyreq_item_pinned(&set.items[1]));
	cr_expect_str_eq(set.items[2].req.extras[0], "socks");
	cr_expect_eq(set.items[0].line, 7);
	cr_expect_str_eq(set.items[0].file, "Dockerfile");
	cr_expect_str_eq(set.items[3].file, "leaf.in");
	cr_expect_str_eq(set.items[3].req.key, "leaf-pkg");
	cr_expect(lks_pyreq_item_pinned(&set.items[3]));
	cr_expect_eq(set.items[4].kind, LKS_PYREQ_PATH);
	cr_expect_str_eq(set.index_url, "http://127.0.0.1:3/simple");
	lks_pyreq_set_free(&set);

	lks_pyreq_set_init(&set);
	char *bad[] = {"flask", "--frobnicate"};
	cr_expect_lt(lks_pyreq_parse_pip_args(&ctx, "Dockerfile", 9, bad, 2, &set), 0);
	cr_expect_str_eq(ctx.err, "Dockerfile:9: unknown option '--frobnicate'");
	lks_pyreq_set_free(&set);
	lks_ctx_free(&ctx);
}
