/* Resolver and pip-compile writer against an in-memory index (ctx->fetch fault injection).
 * The loopback e2e test (tests/e2e/py_compile.py) covers real servers and pip itself. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/error.h"
#include "lockstep/http.h"
#include "pinner/python/pyresolve.h"

#define IDX "http://127.0.0.1:1/simple/"
#define H64 "00000000000000000000000000000000000000000000000000000000000000aa"

/* project, version, yanked, Requires-Dist lines separated by '|' */
static const struct {
	const char *project, *version;
	bool yanked;
	const char *deps;
} dists[] = {
    {"a", "1.0", false, "c"},
    {"a", "2.0", false, "c<2"},
    {"b", "1.0", false, "c>=2"},
    {"c", "1.0", false, ""},
    {"c", "2.0", false, ""},
    {"d", "1.0", false, "e; extra == 'x'|c>=9; extra == 'y'"},
    {"e", "1.0", false, ""},
    {"f", "1.0", false, ""},
    {"f", "1.1", true, ""},
    {"g", "1.0", false, "pip"},
    {"pip", "23.0", false, ""},
    {"zc", "1.0", false, "c>=5"},
#define M3(n)                                                                                      \
	{n, "1.0", false, ""}, {n, "2.0", false, ""},                                              \
	{                                                                                          \
		n, "3.0", false, ""                                                                \
	}
    M3("m0"),
    M3("m1"),
    M3("m2"),
    M3("m3"),
    M3("m4"),
    M3("m5"),
    M3("m6"),
    M3("m7"),
    M3("m8"),
    M3("m9"),
};

static void respond(struct lks_http_req *r, long status, const char *body)
{
	r->status = status;
	r->rc = status == 200 ? 0 : -LKS_E_NOTFOUND;
	lks_buf_append(&r->body, body, strlen(body));
}

static void project_page(struct lks_http_req *r, const char *key)
{
	char body[16384] = "{\"meta\": {\"api-version\": \"1.0\"}, \"files\": [";
	bool any = false;
	for (size_t k = 0; k < sizeof(dists) / sizeof(dists[0]); k++) {
		if (strcmp(dists[k].project, key)) {
			continue;
		}
		snprintf(body + strlen(body), sizeof(body) - strlen(body),
		         "%s{\"filename\": \"%s-%s-py3-none-any.whl\", \"url\": "
		         "\"../../f/%s-%s-py3-none-any.whl\", \"hashes\": {}, \"yanked\": %s, "
		         "\"core-metadata\": true}",
		         any ? "," : "", key, dists[k].version, key, dists[k].version,
		         dists[k].yanked ? "true" : "false");
		any = true;
	}
	strcat(body, "]}");
	respond(r, any ? 200 : 404, any ? body : "no");
}

static void file_or_metadata(struct lks_http_req *r, const char *fn)
{
	for (size_t k = 0; k < sizeof(dists) / sizeof(dists[0]); k++) {
		char name[128];
		snprintf(name, sizeof(name), "%s-%s-py3-none-any.whl", dists[k].project,
		         dists[k].version);
		if (strncmp(fn, name, strlen(name))) {
			continue;
		}
		if (strcmp(fn + strlen(name), ".metadata")) {
			respond(r, 200, name); /* the "wheel" bytes: its own name */
			return;
		}
		char meta[1024], deps[512];
		snprintf(deps, sizeof(deps), "%s", dists[k].deps);
		snprintf(meta, sizeof(meta), "Metadata-Version: 2.1\nName: %s\nVersion: %s\n",
		         dists[k].project, dists[k].version);
		for (char *d = strtok(deps, "|"); d; d = strtok(NULL, "|")) {
			snprintf(meta + strlen(meta), sizeof(meta) - strlen(meta),
			         "Requires-Dist: %s\n", d);
		}
		respond(r, 200, meta);
		return;
	}
	respond(r, 404, "no");
}

/* What the fake index was asked since the last reset. */
static struct {
	int pages, metadata, files, plain_ok, conditional;
} seen;

static void count(const struct lks_http_req *r)
{
	const char *u = r->url;
	size_t n = strlen(u);
	if (n > 9 && !strcmp(u + n - 9, ".metadata")) {
		seen.metadata++;
	} else if (u[n - 1] == '/') {
		seen.pages++;
	} else {
		seen.files++;
	}
	seen.plain_ok += r->plain_http_ok;
	for (char **h = r->headers; h && *h; h++) {
		seen.conditional += !strncasecmp(*h, "If-None-Match:", 14);
	}
}

static int fake_fetch(void *ctx, struct lks_http_req **reqs, int n)
{
	for (int i = 0; i < n; i++) {
		count(reqs[i]);
		const char *u = reqs[i]->url;
		if (!strncmp(u, IDX, strlen(IDX))) {
			char key[128];
			snprintf(key, sizeof(key), "%.*s", (int)strcspn(u + strlen(IDX), "/"),
			         u + strlen(IDX));
			project_page(reqs[i], key);
		} else if (!strcmp(u, "http://127.0.0.1:2/simple/c/")) {
			/* an extra index offering one more version of c */
			respond(
			    reqs[i], 200,
			    "{\"meta\": {\"api-version\": \"1.0\"}, \"files\": [{\"filename\": "
			    "\"c-3.0-py3-none-any.whl\", \"url\": \"/f/c-3.0-py3-none-any.whl\", "
			    "\"hashes\": {\"sha256\": \"" H64 "\"}, \"core-metadata\": true}]}");
		} else if (!strcmp(u, "http://127.0.0.1:2/f/c-3.0-py3-none-any.whl.metadata")) {
			respond(reqs[i], 200, "Metadata-Version: 2.1\nName: c\nVersion: 3.0\n");
		} else if (!strncmp(u, "http://127.0.0.1:1/f/", 21)) {
			file_or_metadata(reqs[i], u + 21);
		} else {
			respond(reqs[i], 404, "no");
		}
	}
	return 0;
}

static char cachedir[64];

static void setup_cache(void)
{
	snprintf(cachedir, sizeof(cachedir), "/tmp/lks-pyresolve-XXXXXX");
	cr_assert_not_null(mkdtemp(cachedir));
}

static void teardown_cache(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cachedir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(pyresolve, .init = setup_cache, .fini = teardown_cache);

/* Options of the next resolve() (reset after each). */
static struct {
	bool offline, insecure;
	const char *sub; /* cache subdirectory, default "c" */
} next;

static int resolve(const char *in, const char *existing, bool unsafe, struct lks_ctx *ctx,
                   struct lks_buf *out)
{
	lks_ctx_init(ctx);
	ctx->fetch = fake_fetch;
	ctx->offline = next.offline;
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/%s", cachedir, next.sub ? next.sub : "c");
	ctx->cache_dir = strdup(dir);
	struct lks_pyreq_set reqs, ex;
	lks_pyreq_set_init(&reqs);
	lks_pyreq_set_init(&ex);
	struct lks_pyresolve_opts o = {
	    .index_url = IDX, .python_version = "3.12", .allow_unsafe = unsafe,
	    .insecure_index = next.insecure};
	memset(&next, 0, sizeof(next));
	memset(&seen, 0, sizeof(seen));
	int rc = lks_pyreq_parse_buf(ctx, "r.in", in, strlen(in), false, &reqs);
	if (rc == 0 && existing) {
		rc = lks_pyreq_parse_buf(ctx, "r.txt", existing, strlen(existing), false, &ex);
		o.existing = &ex;
	}
	struct lks_pyresolution res;
	lks_pyresolution_init(&res);
	if (rc == 0) {
		rc = lks_pyresolve(ctx, &reqs, &o, &res);
	}
	lks_buf_init(out, 0);
	if (rc == 0) {
		rc = lks_pyresolution_write(ctx, &res, &o, "pip-compile r.in", out);
	}
	lks_pyresolution_free(&res);
	lks_pyreq_set_free(&reqs);
	lks_pyreq_set_free(&ex);
	return rc;
}

/* "a==1.0 b==1.0 ..." from the output */
static void pins_of(const char *text, char *out, size_t len)
{
	out[0] = '\0';
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (*l != ' ' && *l != '#' && *l != '-' && *l != '\n') {
			snprintf(out + strlen(out), len - strlen(out), "%s%.*s", out[0] ? " " : "",
			         (int)strcspn(l, " \n"), l);
		}
	}
}

Test(pyresolve, choices)
{
	struct {
		const char *in, *existing, *want;
	} cases[] = {
	    {"a\nb\n", NULL, "a==1.0 b==1.0 c==2.0"},
	    {"a\n", NULL, "a==2.0 c==1.0"},
	    {"c\n", "c==1.0\n", "c==1.0"},
	    {"c\n", "c==7.0\n", "c==2.0"},
	    {"d[x]\n", NULL, "d==1.0 e==1.0"},
	    {"d\n", NULL, "d==1.0"},
	    {"f\n", NULL, "f==1.0"},
	    {"f==1.1\n", NULL, "f==1.1"},
	    {"g\n", NULL, "g==1.0"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct lks_ctx ctx;
		struct lks_buf out;
		int rc = resolve(cases[k].in, cases[k].existing, false, &ctx, &out);
		cr_expect_eq(rc, 0, "%s: %s", cases[k].in, ctx.err);
		char got[512];
		pins_of(out.data ? out.data : "", got, sizeof(got));
		cr_expect_str_eq(got, cases[k].want, "%s", cases[k].in);
		lks_buf_free(&out);
		lks_ctx_free(&ctx);
	}
}

Test(pyresolve, exact_output)
{
	struct lks_ctx ctx;
	struct lks_buf out;
	cr_assert_eq(resolve("d[x]\ne\ng\n", NULL, true, &ctx, &out), 0, "%s", ctx.err);
	/* hashes are sha256 of the fake wheel bytes: check the structure, not the digits */
	cr_expect(strstr(out.data, "# via -r r.in\ne==1.0 \\\n    --hash=sha256:"));
	cr_expect(strstr(out.data, "    # via\n    #   -r r.in\n    #   d\n"));
	cr_expect(strstr(out.data, "\n# The following packages are considered to be unsafe in a "
	                           "requirements file:\npip==23.0 \\\n"));
	cr_expect(!strncmp(out.data,
	                   "#\n# This file is autogenerated by pip-compile with Python "
	                   "3.12\n",
	                   60));
	struct lks_buf again;
	lks_ctx_free(&ctx);
	cr_assert_eq(resolve("d[x]\ne\ng\n", NULL, true, &ctx, &again), 0);
	cr_expect_str_eq(out.data, again.data, "output is deterministic");
	lks_buf_free(&out);
	lks_buf_free(&again);
	lks_ctx_free(&ctx);
}

Test(pyresolve, conflicts_explained)
{
	struct {
		const char *in, *needle;
		int rc;
	} cases[] = {
	    {"c<1\n",
	     "no version of 'c' satisfies all requirements:\n  'c<1' from -r r.in:1\n"
	     "  available: 2.0 1.0",
	     -LKS_E_CONFLICT},
	    {"a==2.0\nb\n", "'c<2' from a==2.0 <- -r r.in:1", -LKS_E_CONFLICT},
	    {"zzz\n", "unknown package 'zzz'", -LKS_E_NOTFOUND},
	    /* 3^10 combinations before zc: only backjumping reaches the real conflict in time */
	    {"m0\nm1\nm2\nm3\nm4\nm5\nm6\nm7\nm8\nm9\nzc\n", "'c>=5' from zc==1.0",
	     -LKS_E_CONFLICT},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct lks_ctx ctx;
		struct lks_buf out;
		cr_expect_eq(resolve(cases[k].in, NULL, false, &ctx, &out), cases[k].rc, "%s",
		             cases[k].in);
		cr_expect(strstr(ctx.err, cases[k].needle), "%s: %s", cases[k].in, ctx.err);
		lks_buf_free(&out);
		lks_ctx_free(&ctx);
	}
}

/* The index answers through the cache: a second resolution sends only the project pages again
 * (conditional when validators were stored; this index sends none), and takes metadata and the
 * hashes it computed from the cache; offline nothing is sent at all; a cold offline run fails
 * naming the page. */
Test(pyresolve, cached)
{
	struct lks_ctx ctx;
	struct lks_buf cold, warm, off;
	next.sub = "cached";
	cr_assert_eq(resolve("a\nb\n", NULL, false, &ctx, &cold), 0, "%s", ctx.err);
	cr_expect(seen.pages == 3 && seen.metadata >= 3 && seen.files == 3, "cold %d %d %d",
	          seen.pages, seen.metadata, seen.files);
	lks_ctx_free(&ctx);
	next.sub = "cached";
	cr_assert_eq(resolve("a\nb\n", NULL, false, &ctx, &warm), 0, "%s", ctx.err);
	cr_expect(seen.pages == 3 && seen.metadata == 0 && seen.files == 0, "warm %d %d %d",
	          seen.pages, seen.metadata, seen.files);
	cr_expect_str_eq(warm.data, cold.data);
	lks_ctx_free(&ctx);
	next.sub = "cached";
	next.offline = true;
	cr_assert_eq(resolve("a\nb\n", NULL, false, &ctx, &off), 0, "%s", ctx.err);
	cr_expect(seen.pages + seen.metadata + seen.files == 0, "offline sent requests");
	cr_expect_str_eq(off.data, cold.data);
	lks_ctx_free(&ctx);
	lks_buf_free(&cold);
	lks_buf_free(&warm);
	lks_buf_free(&off);
	next.sub = "empty";
	next.offline = true;
	cr_expect_eq(resolve("a\n", NULL, false, &ctx, &off), -LKS_E_OFFLINE);
	cr_expect(strstr(ctx.err, "simple/a/") && strstr(ctx.err, "offline"), "%s", ctx.err);
	lks_buf_free(&off);
	lks_ctx_free(&ctx);
}

/* --insecure-index marks every request of the index client as allowed over plain HTTP. */
Test(pyresolve, insecure_index)
{
	struct lks_ctx ctx;
	struct lks_buf out;
	cr_assert_eq(resolve("a\n", NULL, false, &ctx, &out), 0, "%s", ctx.err);
	cr_expect_eq(seen.plain_ok, 0);
	lks_buf_free(&out);
	lks_ctx_free(&ctx);
	next.insecure = true;
	next.sub = "insecure";
	cr_assert_eq(resolve("a\n", NULL, false, &ctx, &out), 0, "%s", ctx.err);
	cr_expect(seen.plain_ok > 0 && seen.plain_ok == seen.pages + seen.metadata + seen.files);
	lks_buf_free(&out);
	lks_ctx_free(&ctx);
}
