/* Tests for common/toml.c: documents and the tree they give (dumped canonically), refusals
 * with their line, the caps, and the registries.conf fixtures (fixtures/registries). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/toml.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

/* {key:value,...} [a,b] "str" 12 true f:1.5 d:1979-05-27 */
static void dump(const struct toml_node *n, struct lks_buf *b)
{
	switch (n->type) {
	case TOML_TABLE:
	case TOML_ARRAY:
		lks_buf_putc(b, n->type == TOML_TABLE ? '{' : '[');
		for (size_t i = 0; i < n->n; i++) {
			if (i) {
				lks_buf_putc(b, ',');
			}
			if (n->type == TOML_TABLE) {
				lks_buf_printf(b, "%s:", n->kids[i]->key);
			}
			dump(n->kids[i], b);
		}
		lks_buf_putc(b, n->type == TOML_TABLE ? '}' : ']');
		break;
	case TOML_STRING:
		lks_buf_putc(b, '"');
		for (size_t i = 0; i < n->len; i++) {
			unsigned char c = (unsigned char)n->str[i];
			if (c < 0x20) {
				lks_buf_printf(b, "\\x%02x", c);
			} else {
				lks_buf_putc(b, (char)c);
			}
		}
		lks_buf_putc(b, '"');
		break;
	case TOML_INT:
		lks_buf_printf(b, "%lld", n->i);
		break;
	case TOML_BOOL:
		lks_buf_puts(b, n->b ? "true" : "false");
		break;
	case TOML_FLOAT:
		lks_buf_printf(b, "f:%s", n->str);
		break;
	case TOML_DATETIME:
		lks_buf_printf(b, "d:%s", n->str);
		break;
	}
}

static int parse_dump(const char *text, size_t len, char **out, char *err, size_t errlen)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct toml_node *root = NULL;
	int rc = toml_parse(&ctx, "t.toml", text, len, &root);
	snprintf(err, errlen, "%s", ctx.err);
	struct lks_buf b;
	lks_buf_init(&b, 0);
	if (rc == 0) {
		dump(root, &b);
	}
	*out = lks_buf_detach(&b);
	toml_free(root);
	lks_ctx_free(&ctx);
	return rc;
}

Test(toml, documents)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"", "{}"},
	    {"# only a comment\n\n", "{}"},
	    {"a = 1\nb = \"x\" # c\n", "{a:1,b:\"x\"}"},
	    {"a.b.c = true\na.b.d = false", "{a:{b:{c:true,d:false}}}"},
	    {"\"quoted key\" = 'lit\\eral'\n'' = 2", "{quoted key:\"lit\\eral\",:2}"},
	    {"a = \"tab\\tq\\\"s\\\\ \\u00e9\\U0001F600\"",
	     "{a:\"tab\\x09q\"s\\ \xc3\xa9\xf0\x9f\x98\x80\"}"},
	    {"a = \"\"\"\nl1\nl2\\\n   l2b\"\"\"", "{a:\"l1\\x0al2l2b\"}"},
	    {"a = '''\nraw \\n ''quotes'' here'''", "{a:\"raw \\n ''quotes'' here\"}"},
	    {"a = \"\"\"ends with quotes\"\"\"\"\"", "{a:\"ends with quotes\"\"\"}"},
	    {"a = [1, 2,\n  # comment\n  3,]\nb = []", "{a:[1,2,3],b:[]}"},
	    {"a = [[1], ['x', {k = 1}]]", "{a:[[1],[\"x\",{k:1}]]}"},
	    {"t = {x = 1, y.z = \"s\"}", "{t:{x:1,y:{z:\"s\"}}}"},
	    {"n = [+17, -0, 0x1F, 0o17, 0b101, 1_000, 9223372036854775807, -9223372036854775808]",
	     "{n:[17,0,31,15,5,1000,9223372036854775807,-9223372036854775808]}"},
	    {"f = [1.5, -0.01, 5e+22, 6.626e-34, inf, -nan, 1_0.5]",
	     "{f:[f:1.5,f:-0.01,f:5e+22,f:6.626e-34,f:inf,f:-nan,f:1_0.5]}"},
	    {"d = [1979-05-27T07:32:00Z, 1979-05-27 07:32:00, 1979-05-27, 07:32:00]",
	     "{d:[d:1979-05-27T07:32:00Z,d:1979-05-27 07:32:00,d:1979-05-27,d:07:32:00]}"},
	    {"[a]\nx = 1\n[b.c]\ny = 2\n[a.d]\nz = 3", "{a:{x:1,d:{z:3}},b:{c:{y:2}}}"},
	    {"[x.y.z]\n[x]\nk = 1", "{x:{y:{z:{}},k:1}}"},
	    {"[[r]]\np = 1\n[[r.m]]\nl = 'a'\n[[r.m]]\nl = 'b'\n[[r]]\np = 2",
	     "{r:[{p:1,m:[{l:\"a\"},{l:\"b\"}]},{p:2}]}"},
	    {"[fruit]\napple.color = 'red'\n[fruit.apple.texture]\nsmooth = true",
	     "{fruit:{apple:{color:\"red\",texture:{smooth:true}}}}"},
	    {"a = 1\r\nb = 2\r\n", "{a:1,b:2}"},
	    {"\xEF\xBB\xBF"
	     "a = 1",
	     "{a:1}"},
	    {"[ a . \"b\" ]\nk=1", "{a:{b:{k:1}}}"},
	    {"s = \"nul\\u0000inside\"", "{s:\"nul\\x00inside\"}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got, err[2048];
		int rc = parse_dump(cases[i].in, strlen(cases[i].in), &got, err, sizeof(err));
		cr_expect_eq(rc, 0, "case %zu: %s", i, err);
		cr_expect_str_eq(got, cases[i].want, "case %zu", i);
		free(got);
	}
}

Test(toml, refusals)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"a = 1\na = 2", "t.toml:2: key 'a' is defined twice"},
	    {"a = 1\na.b = 2", "t.toml:2: key 'a' is already defined"},
	    {"[a]\n[a]", "t.toml:2: table 'a' is defined twice"},
	    {"a.b = 1\n[a]", "t.toml:2: table 'a' is defined twice"},
	    {"a = 1\n[a.b]", "t.toml:2: key 'a' is already defined as an integer"},
	    {"a = []\n[[a]]", "t.toml:2: 'a' is already defined as an array"},
	    {"[[a]]\n[a]", "t.toml:2: table 'a' is defined twice"},
	    {"t = {x = 1}\n[t]", "t.toml:2: table 't' is defined twice"},
	    {"t = {x = 1}\nt.y = 2", "t.toml:2: key 't' is already defined"},
	    {"a = ", "t.toml:1: expected a value at the end of the file"},
	    {"a = 1 2", "t.toml:1: unexpected '2' after a value"},
	    {"a", "t.toml:1: expected '=' after key 'a'"},
	    {"= 1", "t.toml:1: expected a key, found '='"},
	    {"\n\na = \"x\ny\"", "t.toml:3: newline in a single-line string"},
	    {"a = \"\\q\"", "t.toml:1: invalid escape '\\q'"},
	    {"a = \"\\uD800\"", "t.toml:1: escape U+D800 is not a Unicode scalar value"},
	    {"a = \"\\u12zz\"", "t.toml:1: invalid hex digit"},
	    {"a = 'no end", "t.toml:1: unterminated string"},
	    {"a = \"\"\"x\n\ny", "t.toml:3: unterminated string"},
	    {"a = [1 2]", "t.toml:1: expected ',' or ']' in an array"},
	    {"a = {x = 1,\n y = 2}", "t.toml:1: expected a key"},
	    {"a = {x = 1, }", "t.toml:1: expected a key, found '}'"},
	    {"a = 01", "t.toml:1: invalid value '01'"},
	    {"a = 1__0", "t.toml:1: invalid value '1__0'"},
	    {"a = 9223372036854775808", "t.toml:1: integer '9223372036854775808' out of range"},
	    {"a = tru", "t.toml:1: invalid value 'tru'"},
	    {"a = 1.", "t.toml:1: invalid value '1.'"},
	    {"a = \"x\x01\"", "t.toml:1: control character 0x01 in a string"},
	    {"# c\x7f\n", "t.toml:1: control character 0x7f in a comment"},
	    {"a = 1\n\xff = 2", "t.toml:2: invalid UTF-8"},
	    {"a = \"\xc0\xaf\"", "t.toml:1: invalid UTF-8"},
	    {"a = \"\xed\xa0\x80\"", "t.toml:1: invalid UTF-8"},
	    {"a = 1\rb = 2", "t.toml:1: unexpected byte 0x0d"},
	    {"[[a]\nx=1", "t.toml:1: expected ']]' to close a table header"},
	    {"\"\"\"k\"\"\" = 1", "t.toml:1: a key cannot be a multi-line string"},
	    {"\"a\\u0000b\" = 1", "t.toml:1: a key cannot hold a NUL character"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got, err[2048];
		int rc = parse_dump(cases[i].in, strlen(cases[i].in), &got, err, sizeof(err));
		cr_expect(rc < 0, "case %zu: accepted as %s", i, got);
		cr_expect(strstr(err, cases[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err,
		          cases[i].want);
		free(got);
	}
	/* a NUL byte is refused wherever it is */
	char *got, err[2048];
	cr_expect_lt(parse_dump("a = 1\n\0b = 2", 12, &got, err, sizeof(err)), 0);
	cr_expect(strstr(err, "t.toml:2: NUL byte"), "%s", err);
	free(got);
}

static void repeat(struct lks_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		lks_buf_puts(b, s);
	}
}

Test(toml, caps)
{
	struct lks_buf b;
	char *got, err[2048];
	lks_buf_init(&b, 0);
	lks_buf_puts(&b, "a = ");
	repeat(&b, "[", TOML_MAX_DEPTH + 1);
	cr_expect_eq(parse_dump(b.data, b.len, &got, err, sizeof(err)), -LKS_E_TOOBIG, "%s", err);
	cr_expect(strstr(err, "nested more than"), "%s", err);
	free(got);

	lks_buf_reset(&b);
	for (int i = 0; i <= TOML_MAX_MEMBERS; i++) {
		lks_buf_printf(&b, "k%d = %d\n", i, i);
	}
	cr_expect_eq(parse_dump(b.data, b.len, &got, err, sizeof(err)), -LKS_E_TOOBIG, "%s", err);
	cr_expect(strstr(err, "members"), "%s", err);
	free(got);

	lks_buf_reset(&b);
	repeat(&b, "[[a]]\n", 10);
	repeat(&b, "# padding to past the size cap ..........................................\n",
	       TOML_MAX_BYTES / 70);
	cr_expect_eq(parse_dump(b.data, b.len, &got, err, sizeof(err)), -LKS_E_TOOBIG, "%s", err);
	cr_expect(strstr(err, "larger than"), "%s", err);
	free(got);

	lks_buf_reset(&b);
	lks_buf_puts(&b, "a = [");
	repeat(&b, "[],", TOML_MAX_MEMBERS - 1);
	lks_buf_puts(&b, "]\nb = [");
	repeat(&b, "[],", TOML_MAX_MEMBERS - 1);
	lks_buf_puts(&b, "]\n");
	for (int i = 0; i < 20; i++) {
		lks_buf_printf(&b, "c%d = [", i);
		repeat(&b, "1,", TOML_MAX_MEMBERS - 1);
		lks_buf_puts(&b, "]\n");
	}
	cr_expect_eq(parse_dump(b.data, b.len, &got, err, sizeof(err)), -LKS_E_TOOBIG, "%s", err);
	cr_expect(strstr(err, "more than 65536 values"), "%s", err);
	free(got);
	lks_buf_free(&b);
}

/* Every registries.conf fixture is valid TOML. */
Test(toml, fixtures)
{
	const char *src = getenv("LKS_SRCDIR");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/fixtures/registries", src ? src : ".");
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".conf")) {
			continue;
		}
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct lks_buf b;
		lks_buf_init(&b, 0);
		cr_assert_eq(lks_buf_read_file(&b, path), 0, "%s", path);
		char *got, err[2048];
		cr_expect_eq(parse_dump(b.data, b.len, &got, err, sizeof(err)), 0, "%s: %s", path,
		             err);
		free(got);
		lks_buf_free(&b);
		n++;
	}
	closedir(d);
	cr_expect_geq(n, 3);
}
