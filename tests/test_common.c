#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/escape.h"
#include "lockstep/json.h"

Test(buf, cap_is_enforced)
{
	struct lks_buf b;
	lks_buf_init(&b, 8);
	cr_assert_eq(lks_buf_puts(&b, "12345678"), 0);
	cr_assert_eq(lks_buf_putc(&b, 'x'), -LKS_E_TOOBIG);
	cr_assert_str_eq(b.data, "12345678");
	lks_buf_free(&b);
}

Test(buf, printf_grows)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(lks_buf_printf(&b, "%d,", i), 0);
	}
	cr_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	char *s = lks_buf_detach(&b);
	cr_assert_eq(b.data, NULL);
	free(s);
}

Test(digest, known_vectors)
{
	char out[LKS_DIGEST_LEN + 1];
	cr_assert_eq(lks_sha256_buf("abc", 3, out), 0);
	cr_assert_str_eq(out,
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cr_assert(lks_digest_valid(out));
	cr_assert(!lks_digest_valid("sha256:BA78"));
	cr_assert(!lks_digest_valid("md5:abc"));
}

Test(ctx, parse_time)
{
	struct {
		const char *in;
		time_t want;
		int rc;
	} cases[] = {
		{"1970-01-01T00:00:00Z", 0, 0},
		{"2026-11-23T18:00:00Z", 1795456800, 0},
		{"2026-11-23", 1795392000, 0},
		{"@1795456800", 1795456800, 0},
		{"2026-11-23T19:00:00+01:00", 1795456800, 0},
		{"2026-11-23T18:00:00.123456Z", 1795456800, 0},
		{"yesterday", 0, -LKS_E_INVAL},
		{"2026-13-01", 0, -LKS_E_INVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 0;
		int rc = lks_parse_time(cases[i].in, &t);
		cr_assert_eq(rc, cases[i].rc, "%s", cases[i].in);
		if (!rc) {
			cr_assert_eq(t, cases[i].want, "%s: %ld", cases[i].in, (long)t);
		}
	}
	char s[21];
	lks_format_time(1795456800, s);
	cr_assert_str_eq(s, "2026-11-23T18:00:00Z");
}

Test(ctx, insecure_hosts)
{
	struct lks_ctx ctx;
	cr_assert_eq(lks_ctx_init(&ctx), 0);
	cr_assert(lks_host_is_insecure_ok(&ctx, "127.0.0.1:5000"));
	cr_assert(lks_host_is_insecure_ok(&ctx, "localhost:5000"));
	cr_assert(lks_host_is_insecure_ok(&ctx, "[::1]:5000"));
	cr_assert(!lks_host_is_insecure_ok(&ctx, "registry.example:5000"));
	cr_assert(!lks_host_is_insecure_ok(&ctx, "127.0.0.1.example.com"));
	lks_ctx_free(&ctx);
}

Test(atomic, write_and_keep_mode)
{
	char dir[] = "/tmp/lks-atomic-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/f", dir);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	cr_assert_eq(lks_write_file_atomic(&ctx, path, "one", 3, 0640), 0);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);
	chmod(path, 0600);
	cr_assert_eq(lks_write_file_atomic(&ctx, path, "two!", 4, 0644), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 4);
	char bad[300];
	snprintf(bad, sizeof(bad), "%s/missing/f", dir);
	cr_assert_lt(lks_write_file_atomic(&ctx, bad, "x", 1, 0644), 0);
	cr_assert(strstr(ctx.err, "cannot write") != NULL);
	unlink(path);
	rmdir(dir);
	lks_ctx_free(&ctx);
}

Test(json, caps)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	json_t *j = NULL;
	char deep[300];
	memset(deep, '[', 200);
	deep[200] = '\0';
	cr_assert_eq(lks_json_parse(&ctx, deep, 200, 0, "doc", &j), -LKS_E_TOOBIG);
	cr_assert_eq(lks_json_parse(&ctx, "{\"a\":1,\"a\":2}", 13, 0, "doc", &j), -LKS_E_PARSE);
	cr_assert_eq(lks_json_parse(&ctx, "{\"b\":\"x\"}", 9, 0, "doc", &j), 0);
	cr_assert_str_eq(lks_json_str(j, "b"), "x");
	json_decref(j);
	cr_assert_eq(lks_json_parse(&ctx, "{}", 2, 1, "doc", &j), -LKS_E_TOOBIG);
	lks_ctx_free(&ctx);
}

static const struct {
	const char *in;
	const char *printable, *html, *md_cell, *terminal;
} escapes[] = {
    {"plain", "plain", "plain", "`plain`", "plain"},
    {"a|b`c", "a|b`c", "a|b`c", "``a\\|b`c``", "a|b`c"},
    {"`x`", "`x`", "`x`", "`` `x` ``", "`x`"},
    {" x ", " x ", " x ", "`  x  `", " x "},
    {"", "", "", "` `", ""},
    {"<b a=\"1\">&'", "<b a=\"1\">&'", "&lt;b a=&quot;1&quot;&gt;&amp;&#39;", "`<b a=\"1\">&'`",
     "<b a=\"1\">&'"},
    {"l\n\x1b[1m\x7f", "l\\x0a\\x1b[1m\\x7f", "l\\x0a\\x1b[1m\\x7f", "`l\\x0a\\x1b[1m\\x7f`",
     "l\\x0a\\x1b[1m\\x7f"},
    {"b\\s", "b\\\\s", "b\\\\s", "`b\\\\s`", "b\\s"},
    {"\xff\xc0\xaf\xed\xa0\x80", "\\xff\\xc0\\xaf\\xed\\xa0\\x80", "\\xff\\xc0\\xaf\\xed\\xa0\\x80",
     "`\\xff\\xc0\\xaf\\xed\\xa0\\x80`", "\\xff\\xc0\\xaf\\xed\\xa0\\x80"},
    {"\xef\xbf\xbe \xc3\xa9", "\xef\xbf\xbe \xc3\xa9", "\\xef\\xbf\\xbe \xc3\xa9",
     "`\xef\xbf\xbe \xc3\xa9`", "\xef\xbf\xbe \xc3\xa9"},
};

Test(escape, every_form)
{
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		struct lks_buf b;
		const char *got;
		lks_buf_init(&b, 0);
		cr_assert_eq(lks_esc_printable(&b, escapes[i].in), 0);
		got = b.data ? b.data : "";
		cr_expect_str_eq(got, escapes[i].printable, "printable %zu", i);
		lks_buf_reset(&b);
		cr_assert_eq(lks_esc_html(&b, escapes[i].in, 0), 0);
		got = b.data ? b.data : "";
		cr_expect_str_eq(got, escapes[i].html, "html %zu", i);
		lks_buf_reset(&b);
		cr_assert_eq(lks_esc_md_code(&b, escapes[i].in, true), 0);
		cr_expect_str_eq(b.data, escapes[i].md_cell, "md %zu", i);
		lks_buf_reset(&b);
		cr_assert_eq(lks_esc_terminal(&b, escapes[i].in), 0);
		got = b.data ? b.data : "";
		cr_expect_str_eq(got, escapes[i].terminal, "terminal %zu", i);
		lks_buf_free(&b);
	}
}

Test(escape, markdown_block_fence_outgrows_the_text)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	cr_assert_eq(lks_esc_md_block(&b, "a ```` b\n\x1b"), 0);
	cr_expect_str_eq(b.data, "`````\na ```` b\n\\x1b\n`````\n");
	lks_buf_free(&b);
}
