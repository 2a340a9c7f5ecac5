#include <stdio.h>
/* Distribution file names, wheel tag compatibility, core metadata. */
#include <criterion/criterion.h>
#include <string.h>
#include "lockstep/error.h"
#include "pinner/python/pydist.h"

Test(pydist, file_names)
{
	struct {
		const char *fn, *key;
		int kind; /* 0 invalid */
		const char *version;
	} cases[] = {
	    {"Foo_Bar-1.0-py3-none-any.whl", "foo-bar", LKS_PYDIST_WHEEL, "1.0"},
	    {"foo-1.0-1build-cp38-cp38-manylinux1_x86_64.whl", "foo", LKS_PYDIST_WHEEL, "1.0"},
	    {"foo-bar-2.0rc1.tar.gz", "foo-bar", LKS_PYDIST_SDIST, "2.0rc1"},
	    {"Foo.Bar-2.0.zip", "foo-bar", LKS_PYDIST_SDIST, "2.0"},
	    {"foo-1.0-py3-none-any.whl", "bar", 0, NULL},
	    {"foo-1.0.exe", "foo", 0, NULL},
	    {"foo-notaversion.tar.gz", "foo", 0, NULL},
	    {"foo-1.0-a-b-c-d-e.whl", "foo", 0, NULL},
	    {"foo-1.0.whl", "foo", 0, NULL},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct lks_pydist_name d;
		int rc = lks_pydist_parse_name(NULL, cases[k].fn, cases[k].key, &d);
		if (!cases[k].kind) {
			cr_expect_lt(rc, 0, "%s accepted", cases[k].fn);
			continue;
		}
		cr_assert_eq(rc, 0, "%s", cases[k].fn);
		cr_expect_eq((int)d.kind, cases[k].kind, "%s", cases[k].fn);
		cr_expect_str_eq(d.version_text, cases[k].version, "%s", cases[k].fn);
	}
}

Test(pydist, wheel_tags_for_target)
{
	struct lks_pytarget t38 = {3, 8, 0, "x86_64", 0}, t312 = {3, 12, 0, "aarch64", 0};
	struct {
		const char *fn;
		bool ok38, ok312;
	} cases[] = {
	    {"f-1-py3-none-any.whl", true, true},
	    {"f-1-py2.py3-none-any.whl", true, true},
	    {"f-1-py2-none-any.whl", false, false},
	    {"f-1-cp38-none-any.whl", true, false},
	    {"f-1-py310-none-any.whl", false, true},
	    {"f-1-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", false, true},
	    {"f-1-cp38-cp38-manylinux_2_17_x86_64.whl", true, false},
	    {"f-1-cp38-cp38-manylinux1_x86_64.whl", true, false},
	    {"f-1-cp37-abi3-manylinux2014_x86_64.whl", true, false},
	    {"f-1-cp38-abi3-linux_aarch64.whl", false, true},
	    {"f-1-cp38-cp38-musllinux_1_1_x86_64.whl", false, false},
	    {"f-1-cp38-cp38-manylinux_2_40_x86_64.whl", false, false},
	    {"f-1-cp38-cp38-win_amd64.whl", false, false},
	    {"f-1-cp312-cp312-manylinux_2_5_aarch64.whl", false, false},
	    {"f-1-pp39-pypy39_pp73-manylinux2014_x86_64.whl", false, false},
	    {"f-1.tar.gz", true, true},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct lks_pydist_name d;
		cr_assert_eq(lks_pydist_parse_name(NULL, cases[k].fn, "f", &d), 0, "%s",
		             cases[k].fn);
		cr_expect_eq(lks_pydist_compatible(&d, &t38), cases[k].ok38, "%s on 3.8/x86_64",
		             cases[k].fn);
		cr_expect_eq(lks_pydist_compatible(&d, &t312), cases[k].ok312, "%s on 3.12/aarch64",
		             cases[k].fn);
	}
}

Test(pydist, metadata)
{
	const char *text = "Metadata-Version: 2.2\r\nName: Foo\nVersion: 1.0\n"
	                   "Summary: folded\n  continuation: not a field\n"
	                   "Requires-Python: >=3.8\nRequires-Dist: bar>=1\n"
	                   "Requires-Dist: baz; extra == 'Test_X'\nProvides-Extra: Test_X\n"
	                   "Dynamic: Description\n\nRequires-Dist: in-the-body\n";
	struct lks_pymeta m;
	lks_pymeta_init(&m);
	cr_assert_eq(lks_pymeta_parse(NULL, text, strlen(text), &m), 0);
	cr_expect_str_eq(m.name, "Foo");
	cr_expect_str_eq(m.version, "1.0");
	cr_expect_str_eq(m.requires_python, ">=3.8");
	cr_assert_eq(m.nrequires, 2);
	cr_expect_str_eq(m.requires_dist[1], "baz; extra == 'Test_X'");
	cr_assert_eq(m.nextras, 1);
	cr_expect_str_eq(m.provides_extra[0], "test-x");
	cr_expect(lks_pymeta_static_deps(&m));
	lks_pymeta_free(&m);

	const char *dyn = "Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Requires-Dist\n";
	lks_pymeta_init(&m);
	cr_assert_eq(lks_pymeta_parse(NULL, dyn, strlen(dyn), &m), 0);
	cr_expect(!lks_pymeta_static_deps(&m));
	lks_pymeta_free(&m);

	const char *old = "Metadata-Version: 2.1\nName: a\nVersion: 1\n";
	lks_pymeta_init(&m);
	cr_assert_eq(lks_pymeta_parse(NULL, old, strlen(old), &m), 0);
	cr_expect(!lks_pymeta_static_deps(&m));
	lks_pymeta_free(&m);

	struct lks_ctx ctx = {0};
	lks_pymeta_init(&m);
	cr_expect_eq(lks_pymeta_parse(&ctx, "Name: x\n", 8, &m), -LKS_E_PARSE);
	cr_expect_eq(lks_pymeta_parse(&ctx, "garbage\n", 8, &m), -LKS_E_PARSE);
	cr_expect_eq(lks_pymeta_parse(&ctx, "x", LKS_PYDIST_MAX_METADATA + 1, &m), -LKS_E_TOOBIG);
	lks_pymeta_free(&m);
}

/* The release link of the update summary: the best-labelled http(s) Project-URL, else the
 * Home-page; never a value that would break a Markdown link. */
Test(pydist, metadata_link)
{
	static const struct {
		const char *fields, *want;
	} cases[] = {
	    {"Home-page: https://h.example/\nProject-URL: Source, https://s.example/\n"
	     "Project-URL: Release Notes, https://r.example/notes\n",
	     "https://r.example/notes"},
	    {"Project-URL: Documentation, https://d.example/\nHome-page: http://h.example/\n",
	     "http://h.example/"},
	    {"Project-URL: Change-Log, https://c.example/x\nProject-URL: changes, https://y/\n",
	     "https://c.example/x"},
	    {"Project-URL: Changelog, ftp://c.example/\nProject-URL: Source, javascript:x\n", NULL},
	    {"Project-URL: Changelog, https://c.example/a) b\n", NULL},
	    {"Project-URL: Changelog\n", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), "Metadata-Version: 2.1\nName: a\nVersion: 1\n%s",
		         cases[i].fields);
		struct lks_pymeta m;
		lks_pymeta_init(&m);
		cr_assert_eq(lks_pymeta_parse(NULL, text, strlen(text), &m), 0, "case %zu", i);
		if (cases[i].want) {
			cr_expect(m.link && !strcmp(m.link, cases[i].want), "case %zu: %s", i,
			          m.link ? m.link : "(null)");
		} else {
			cr_expect_null(m.link, "case %zu: %s", i, m.link);
		}
		lks_pymeta_free(&m);
	}
}
