/* Index pages: PEP 503 HTML and PEP 691 JSON. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/error.h"
#include "pinner/python/pyindex.h"

Test(pyindex, join_url)
{
	const char *cases[][3] = {
	    {"http://h:1/simple/foo/", "../../packages/foo-1.0.tar.gz",
	     "http://h:1/packages/foo-1.0.tar.gz"},
	    {"http://h:1/simple/foo/", "/files/x.whl", "http://h:1/files/x.whl"},
	    {"http://h:1/simple/foo/", "https://o/x.whl", "https://o/x.whl"},
	    {"http://h:1/simple/foo/", "//o/x.whl", "http://o/x.whl"},
	    {"http://h:1/simple/foo/index.html", "x.whl?a=1", "http://h:1/simple/foo/x.whl?a=1"},
	    {"http://h:1/simple/foo/", "./a/../b/./c", "http://h:1/simple/foo/b/c"},
	    {"http://h:1", "x", "http://h:1/x"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *u = lks_pyindex_join_url(cases[k][0], cases[k][1]);
		cr_expect_str_eq(u, cases[k][2], "%s + %s", cases[k][0], cases[k][1]);
		free(u);
	}
}

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test(pyindex, html_page)
{
	const char *page =
	    "<!DOCTYPE html><html><body><h1>Links for foo</h1>\n"
	    "<a href=\"../../packages/foo-1.0-py3-none-any.whl#sha256=" H1 "\" "
	    "data-requires-python=\"&gt;=3.8\" data-dist-info-metadata=\"sha256=" H1 "\">"
	    "foo-1.0-py3-none-any.whl</a><br/>\n"
	    "<A HREF='foo-0.9.tar.gz' data-yanked=\"broken &amp; bad\">foo-0.9.tar.gz</A>\n"
	    "<a href=foo%2B-0.8.zip data-yanked data-core-metadata=true>x</a>\n"
	    "<a name=\"nohref\">skip</a><abbr>not a link</abbr></body></html>\n";
	struct lks_pyproject p;
	lks_pyproject_init(&p);
	cr_assert_eq(
	    lks_pyindex_parse(NULL, "http://127.0.0.1:8/simple/foo/", NULL, page, strlen(page), &p),
	    0);
	cr_assert_eq(p.n, 3);
	cr_expect_str_eq(p.files[0].url, "http://127.0.0.1:8/packages/foo-1.0-py3-none-any.whl");
	cr_expect_str_eq(p.files[0].filename, "foo-1.0-py3-none-any.whl");
	cr_expect_str_eq(p.files[0].sha256, H1);
	cr_expect_str_eq(p.files[0].requires_python, ">=3.8");
	cr_expect(p.files[0].has_metadata);
	cr_expect_str_eq(p.files[0].metadata_sha256, H1);
	cr_expect(!p.files[0].yanked);
	cr_expect(p.files[1].yanked);
	cr_expect_str_eq(p.files[1].yanked_reason, "broken & bad");
	cr_expect_str_eq(p.files[1].sha256, "");
	cr_expect_str_eq(p.files[2].filename, "foo+-0.8.zip");
	cr_expect(p.files[2].yanked);
	cr_expect_null(p.files[2].yanked_reason);
	cr_expect(p.files[2].has_metadata);
	lks_pyproject_free(&p);
}

Test(pyindex, json_page)
{
	const char *page =
	    "{\"meta\": {\"api-version\": \"1.1\"}, \"name\": \"foo\", \"versions\": [\"1.0\"],"
	    " \"files\": [{\"filename\": \"foo-1.0-py3-none-any.whl\","
	    " \"url\": \"/packages/foo-1.0-py3-none-any.whl\", \"hashes\": {\"sha256\": \"" H1
	    "\"},"
	    " \"requires-python\": \">=3.8\", \"upload-time\": \"2026-01-02T03:04:05.123456Z\","
	    " \"core-metadata\": {\"sha256\": \"" H1 "\"}, \"yanked\": false},"
	    " {\"filename\": \"foo-0.9.tar.gz\", \"url\": \"https://o/foo-0.9.tar.gz\","
	    " \"hashes\": {}, \"yanked\": \"bad release\", \"dist-info-metadata\": true}]}";
	struct lks_pyproject p;
	lks_pyproject_init(&p);
	cr_assert_eq(lks_pyindex_parse(NULL, "http://127.0.0.1:8/simple/foo/",
	                               "application/vnd.pypi.simple.v1+json", page, strlen(page),
	                               &p),
	             0);
	cr_assert_eq(p.n, 2);
	cr_expect_str_eq(p.files[0].url, "http://127.0.0.1:8/packages/foo-1.0-py3-none-any.whl");
	cr_expect_str_eq(p.files[0].sha256, H1);
	cr_expect(p.files[0].has_upload_time);
	cr_expect_eq(p.files[0].upload_time, 1767323045);
	cr_expect(p.files[0].has_metadata);
	cr_expect(!p.files[0].yanked);
	cr_expect(p.files[1].yanked);
	cr_expect_str_eq(p.files[1].yanked_reason, "bad release");
	cr_expect(p.files[1].has_metadata);
	cr_expect_str_eq(p.files[1].sha256, "");
	lks_pyproject_free(&p);
}

Test(pyindex, hostile_pages)
{
	const char *bad[] = {
	    "{\"meta\": {\"api-version\": \"2.0\"}, \"files\": []}",
	    "{\"meta\": {\"api-version\": \"1.0\"}, \"files\": [{\"filename\": \"x\"}]}",
	    "{\"meta\": {\"api-version\": \"1.0\"}, \"files\": [{\"filename\": \"../x\", "
	    "\"url\": \"x\"}]}",
	    "{\"meta\": {\"api-version\": \"1.0\"}, \"files\": [{\"filename\": \"x\", "
	    "\"url\": \"x\", \"hashes\": {\"sha256\": \"zz\"}}]}",
	    "{\"meta\": {\"api-version\": \"1.0\"}, \"files\": [1]}",
	    "{\"meta\": ",
	    "<a href=\"x.whl#sha256=1234\">x</a>",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct lks_ctx ctx = {0};
		struct lks_pyproject p;
		lks_pyproject_init(&p);
		cr_expect_lt(
		    lks_pyindex_parse(&ctx, "http://h/simple/x/", NULL, bad[k], strlen(bad[k]), &p),
		    0, "accepted: %s", bad[k]);
		lks_pyproject_free(&p);
	}
}
