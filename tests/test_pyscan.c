/* pip install scanning and COPY tracing (pinner/python/pyscan.c), table-driven. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "pinner/python/pyscan.h"

static const char df_text[] =
    "FROM python:3.11 AS base\n"                                              /* 1 */
    "WORKDIR /app\n"                                                          /* 2 */
    "COPY requirements.txt ./\n"                                              /* 3 */
    "RUN pip install --no-cache-dir -r requirements.txt -c /app/c.txt\n"      /* 4 */
    "FROM base\n"                                                             /* 5 */
    "RUN python3 -m pip install speedup \"dep-left\" && sudo -H pip3.11 -q install -rx.txt\n"
    "RUN [\"pip\",\"install\",\"flask==3.0.3\"]\n"                            /* 7 */
    "COPY sub/ /src/\n"                                                       /* 8 */
    "WORKDIR /src\n"                                                          /* 9 */
    "RUN env A=1 python -u -m pip install -r req.txt $EXTRA -i http://x/ six\n" /* 10 */
    "RUN pip download flask && python -m venv v && echo pip install no\n";   /* 11 */

struct want {
	size_t line;
	const char *argv; /* space-joined */
	const char *kinds; /* one letter per argument: R req, F -r, C -c, O option */
	const char *reqfiles;
};

static const struct want wants[] = {
    {4, "--no-cache-dir -r requirements.txt -c /app/c.txt", "OFFCC", "requirements.txt"},
    {6, "speedup dep-left", "RR", ""},
    {6, "-rx.txt", "F", "x.txt"},
    {7, "flask==3.0.3", "R", ""},
    {10, "-r req.txt $EXTRA -i http://x/ six", "FFROOR", "req.txt"},
};

static struct lks_dockerfile *parse(struct lks_ctx *ctx)
{
	struct lks_dockerfile *df = NULL;
	cr_assert_eq(lks_dockerfile_parse(ctx, "Dockerfile", df_text, strlen(df_text), &df), 0,
	             "%s", ctx->err);
	return df;
}

Test(pyscan, finds_every_pip_install)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df = parse(&ctx);
	struct lks_pip_cmds cmds;
	lks_pip_cmds_init(&cmds);
	cr_assert_eq(lks_pyscan(&ctx, df, &cmds), 0);
	cr_assert_eq(cmds.n, sizeof(wants) / sizeof(wants[0]));
	for (size_t i = 0; i < cmds.n; i++) {
		const struct lks_pip_cmd *c = &cmds.v[i];
		char argv[512] = "", kinds[64] = "", reqs[256] = "";
		for (size_t k = 0; k < c->argc; k++) {
			snprintf(argv + strlen(argv), sizeof(argv) - strlen(argv), "%s%s", k ? " " : "",
			         c->argv[k]);
			kinds[k] = "RFCEOU"[c->kinds[k]];
		}
		for (size_t k = 0; k < c->nreqfiles; k++) {
			snprintf(reqs + strlen(reqs), sizeof(reqs) - strlen(reqs), "%s", c->reqfiles[k]);
		}
		cr_expect_eq(c->line, wants[i].line, "cmd %zu line %zu", i, c->line);
		cr_expect_str_eq(argv, wants[i].argv);
		cr_expect_str_eq(kinds, wants[i].kinds, "cmd %zu", i);
		cr_expect_str_eq(reqs, wants[i].reqfiles);
	}
	cr_expect(lks_pyscan_word_variable(cmds.v[4].words[2]));
	cr_expect_eq(cmds.v[1].stage, 1);
	lks_pip_cmds_free(&cmds);
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
}

/* COPY tracing: a file COPY into WORKDIR, a parent stage's COPY, a directory COPY. */
Test(pyscan, traces_copy_to_the_context)
{
	char dir[] = "/tmp/lks-pyscan-XXXXXX";
	cr_assert(mkdtemp(dir));
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df = parse(&ctx);
	struct {
		size_t instr;
		const char *path, *want;
	} cases[] = {
	    {3, "requirements.txt", "requirements.txt"},
	    {3, "/app/requirements.txt", "requirements.txt"},
	    {3, "/app/c.txt", NULL},
	    {5, "/app/requirements.txt", "requirements.txt"}, /* through FROM base */
	    {9, "req.txt", "sub/req.txt"},
	    {9, "../app/requirements.txt", "requirements.txt"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = NULL;
		cr_assert_eq(lks_pyscan_context_path(&ctx, df, cases[i].instr, dir, cases[i].path,
		                                     &got),
		             0);
		char want[4300];
		snprintf(want, sizeof(want), "%s/%s", dir, cases[i].want ? cases[i].want : "");
		if (cases[i].want) {
			cr_expect(got && !strcmp(got, want), "case %zu: got %s want %s", i,
			          got ? got : "(none)", want);
		} else {
			cr_expect_null(got, "case %zu: got %s", i, got);
		}
		free(got);
	}
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
	rmdir(sub);
	rmdir(dir);
}

/* issue 11: pip under SHELL ["powershell", ...] is not sh; under bash it is scanned */
Test(pyscan, foreign_shell)
{
	const char *src = "FROM w\nSHELL [\"powershell\", \"-Command\"]\nRUN pip install a; $x=\"`\"\n"
	                  "FROM python:3\nSHELL [\"bash\", \"-c\"]\nRUN pip install b\n";
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile *df = NULL;
	cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", src, strlen(src), &df), 0, "%s",
	             ctx.err);
	struct lks_pip_cmds cmds;
	lks_pip_cmds_init(&cmds);
	cr_assert_eq(lks_pyscan(&ctx, df, &cmds), 0);
	cr_assert_eq(cmds.n, 1);
	cr_expect_eq(cmds.v[0].line, 6);
	lks_pip_cmds_free(&cmds);
	lks_dockerfile_free(df);
	lks_ctx_free(&ctx);
}

/* issue 11 point 6: COPY destinations as BuildKit resolves them. Each case is a Dockerfile
 * whose last instruction is the RUN, the image path pip reads, and the context path BuildKit
 * would have copied there (NULL: none). The context has dir/ (a directory) and files. */
static const struct {
	const char *df, *path, *want;
} dest_cases[] = {
    /* WORKDIR made /app: a file COPY to /app (no slash) goes inside it (awesome-compose) */
    {"FROM p\nWORKDIR /app\nCOPY requirements.txt /app\nRUN x\n", "requirements.txt",
     "requirements.txt"},
    /* /app not known to exist: the file becomes /app itself */
    {"FROM p\nCOPY requirements.txt /app\nRUN x\n", "/app/requirements.txt", NULL},
    {"FROM p\nCOPY requirements.txt /app\nRUN x\n", "/app", "requirements.txt"},
    /* relative to WORKDIR, trailing slash, "." */
    {"FROM p\nWORKDIR /w\nCOPY r.txt sub/\nRUN x\n", "/w/sub/r.txt", "r.txt"},
    {"FROM p\nWORKDIR /w\nCOPY r.txt .\nRUN x\n", "r.txt", "r.txt"},
    {"FROM p\nWORKDIR /w\nCOPY r.txt new.txt\nRUN x\n", "/w/new.txt", "r.txt"},
    /* COPY . . and a directory source: its contents */
    {"FROM p\nWORKDIR /code\nCOPY . .\nRUN x\n", "dir/r.txt", "dir/r.txt"},
    {"FROM p\nCOPY dir /opt\nRUN x\n", "/opt/r.txt", "dir/r.txt"},
    /* several sources: a directory destination */
    {"FROM p\nCOPY a.txt r.txt /req\nRUN x\n", "/req/r.txt", "r.txt"},
    /* RUN mkdir made it; an earlier COPY put something in it; the parent stage did */
    {"FROM p\nRUN set -e && mkdir -p -m 0755 /srv/app /x\nCOPY r.txt /srv/app\nRUN x\n",
     "/srv/app/r.txt", "r.txt"},
    {"FROM p\nCOPY a.txt /etc/app/\nCOPY r.txt /etc/app\nRUN x\n", "/etc/app/r.txt", "r.txt"},
    {"FROM p AS b\nWORKDIR /app\nFROM b\nCOPY r.txt /app\nRUN x\n", "/app/r.txt", "r.txt"},
    /* --parents keeps the source path (below a /./ pivot) */
    {"FROM p\nCOPY --parents dir/r.txt /out/\nRUN x\n", "/out/dir/r.txt", "dir/r.txt"},
    {"FROM p\nCOPY --parents ./dir/./r.txt /out/\nRUN x\n", "/out/r.txt", "dir/r.txt"},
    {"FROM p\nCOPY --parents dir/*.txt /out\nRUN x\n", "/out/dir/r.txt", "dir/r.txt"},
    /* ADD the same; a URL or another stage is not the context */
    {"FROM p\nWORKDIR /app\nADD r.txt /app\nRUN x\n", "/app/r.txt", "r.txt"},
    {"FROM p\nWORKDIR /app\nADD https://h/r.txt /app\nRUN x\n", "/app/r.txt", NULL},
    {"FROM p\nWORKDIR /app\nCOPY --from=b r.txt /app\nRUN x\n", "/app/r.txt", NULL},
    /* a glob into a directory; the WORKDIR from a variable is not known */
    {"FROM p\nCOPY dir/*.txt /g/\nRUN x\n", "/g/r.txt", "dir/r.txt"},
    {"FROM p\nWORKDIR $HOME\nCOPY r.txt .\nRUN x\n", "r.txt", NULL},
};

Test(pyscan, copy_destinations)
{
	char dir[] = "/tmp/lks-pyscan-XXXXXX";
	cr_assert(mkdtemp(dir));
	char p[4200];
	snprintf(p, sizeof(p), "%s/dir", dir);
	cr_assert_eq(mkdir(p, 0755), 0);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	for (size_t i = 0; i < sizeof(dest_cases) / sizeof(dest_cases[0]); i++) {
		struct lks_dockerfile *df = NULL;
		const char *src = dest_cases[i].df;
		cr_assert_eq(lks_dockerfile_parse(&ctx, "Dockerfile", src, strlen(src), &df), 0);
		char *got = NULL;
		cr_assert_eq(lks_pyscan_context_path(&ctx, df, df->ninstrs - 1, dir,
		                                     dest_cases[i].path, &got),
		             0);
		char want[4300] = "";
		if (dest_cases[i].want) {
			snprintf(want, sizeof(want), "%s/%s", dir, dest_cases[i].want);
		}
		cr_expect(dest_cases[i].want ? got && !strcmp(got, want) : !got,
		          "case %zu (%s): got %s want %s", i, dest_cases[i].path,
		          got ? got : "(none)", dest_cases[i].want ? want : "(none)");
		free(got);
		lks_dockerfile_free(df);
	}
	lks_ctx_free(&ctx);
	rmdir(p);
	rmdir(dir);
}
