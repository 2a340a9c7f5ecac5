/* build: template expansion (quoting, escapes, unknown placeholders), driver plans, the
 * child runner (exit status, output tail, timeout), variations and context copies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "verifier/build.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/verify.h"
#include "verifier/spawn.h"
#include "verifier/tree.h"

static const struct lks_build_req req = {.context = "/src/my app",
                                         .dockerfile = "/src/my app/Dockerfile",
                                         .out = "/o/it's",
                                         .work = "/w",
                                         .tag = "localhost/t:1",
                                         .epoch = 1700000000,
                                         .platform = "linux/arm64"};

static const struct {
	const char *tmpl;
	const char *want; /* NULL: -LKS_E_INVAL */
	const char *err;  /* substring of the detail */
} expand_cases[] = {
    {"b {context} {out}", "b '/src/my app' '/o/it'\\''s'", NULL},
    {"b -f {dockerfile} --ts={epoch} {out}",
     "b -f '/src/my app/Dockerfile' --ts='1700000000' '/o/it'\\''s'", NULL},
    {"{{x}} {work}/{tag} {platform}{target} {out}",
     "{x} '/w'/'localhost/t:1' 'linux/arm64''' '/o/it'\\''s'", NULL},
    {"b {outdir}", NULL, "unknown placeholder '{outdir}'"},
    {"b {out} {", NULL, "unterminated placeholder '{'"},
    {"b {out} {con{text}", NULL, "unterminated"},
    {"b {out} }", NULL, "unmatched brace '}'"},
    {"b {context}", NULL, "{out}"},
    {"b {} {out}", NULL, "unknown placeholder '{}'"},
    {"", NULL, "{out}"},
};

Test(build, template_expand)
{
	for (size_t i = 0; i < sizeof(expand_cases) / sizeof(expand_cases[0]); i++) {
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		char *got = NULL;
		int rc = lks_build_template_expand(&ctx, expand_cases[i].tmpl, &req, &got);
		if (expand_cases[i].want) {
			cr_assert_eq(rc, 0, "%s: %s", expand_cases[i].tmpl, ctx.err);
			cr_assert_str_eq(got, expand_cases[i].want);
		} else {
			cr_assert_eq(rc, -LKS_E_INVAL, "%s", expand_cases[i].tmpl);
			cr_assert_null(got);
			cr_assert(strstr(ctx.err, expand_cases[i].err), "%s: %s",
			          expand_cases[i].tmpl, ctx.err);
		}
		free(got);
		lks_ctx_free(&ctx);
	}
}

/* The expanded command really runs: sh sees each value as one word. */
Test(build, template_runs_in_sh)
{
	char *sh = NULL;
	cr_assert_eq(lks_build_template_expand(NULL, "printf '[%s]' {context} {out}", &req, &sh),
	             0);
	char *const argv[] = {"/bin/sh", "-c", sh, NULL};
	struct lks_buf out;
	lks_buf_init(&out, 0);
	struct spawn_opts o = {.argv = argv, .umask = -1, .log_fd = -1, .tail = &out};
	int status = -1;
	cr_assert_eq(spawn_run(NULL, &o, &status), 0);
	cr_assert_eq(status, 0);
	cr_assert_str_eq(out.data, "[/src/my app][/o/it's]");
	lks_buf_free(&out);
	free(sh);
}

static char *joined(const struct lks_build_cmd *c)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	for (size_t i = 0; i < c->n; i++) {
		lks_buf_printf(&b, "%s%s", i ? " " : "", c->argv[i]);
	}
	return lks_buf_detach(&b);
}

Test(build, plans)
{
	static const struct {
		const char *builder;
		size_t n;
		const char *want0, *want1;
	} cases[] = {
	    {"buildah", 2,
	     "buildah --storage-driver vfs --root /w/root --runroot /w/run bud --no-cache "
	     "--layers --isolation chroot --timestamp 1700000000 -t localhost/t:1 -f /src/my app/Dockerfile "
	     "--platform linux/arm64 /src/my app",
	     "buildah --storage-driver vfs --root /w/root --runroot /w/run push localhost/t:1 "
	     "oci:/o/it's:latest"},
	    {"podman", 2, "podman --storage-driver vfs --root /w/root --runroot /w/run build",
	     NULL},
	    {"docker", 1,
	     "docker buildx build --no-cache --output type=oci,dest=/o/it's,tar=false,"
	     "rewrite-timestamp=true --build-arg SOURCE_DATE_EPOCH=1700000000",
	     NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lks_builder *b = lks_builder_find(cases[i].builder);
		cr_assert_not_null(b);
		struct lks_build_cmd cmds[LKS_BUILD_MAX_CMDS];
		size_t n = 0;
		cr_assert_eq(b->plan(NULL, &req, cmds, &n), 0);
		cr_assert_eq(n, cases[i].n);
		char *s0 = joined(&cmds[0]);
		cr_assert(!strncmp(s0, cases[i].want0, strlen(cases[i].want0)), "%s", s0);
		if (cases[i].want1) {
			char *s1 = joined(&cmds[1]);
			cr_assert_str_eq(s1, cases[i].want1);
			free(s1);
		}
		free(s0);
		for (size_t k = 0; k < n; k++) {
			lks_build_cmd_free(&cmds[k]);
		}
	}
	cr_assert_null(lks_builder_find("kaniko"));
}

static int run_sh(const char *script, struct spawn_opts *o, struct lks_buf *out, int *status)
{
	char *const argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	o->argv = argv;
	o->log_fd = -1;
	o->tail = out;
	return spawn_run(NULL, o, status);
}

Test(build, spawn_status_umask_timeout)
{
	struct lks_buf out;
	lks_buf_init(&out, 0);
	int status = -1;
	struct spawn_opts o = {.umask = 002};
	cr_assert_eq(run_sh("umask; echo err >&2; exit 3", &o, &out, &status), 0);
	cr_assert_eq(status, 3);
	cr_assert_str_eq(out.data, "0002\nerr\n");
	/* the whole group is killed: the background sleep must not keep the pipe open */
	lks_buf_reset(&out);
	o = (struct spawn_opts){.umask = -1, .timeout_ms = 300};
	cr_assert_eq(run_sh("sleep 30 & sleep 30", &o, &out, &status), -LKS_E_TIMEOUT);
	lks_buf_reset(&out);
	o = (struct spawn_opts){.umask = -1};
	cr_assert_eq(run_sh("kill -9 $$", &o, &out, &status), 0);
	cr_assert_eq(status, 128 + 9);
	char *const argv[] = {"lockstep-no-such-builder", NULL};
	o = (struct spawn_opts){.argv = argv, .umask = -1, .log_fd = -1};
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	cr_assert_eq(spawn_run(&ctx, &o, &status), -ENOENT);
	cr_assert(strstr(ctx.err, "'lockstep-no-such-builder': not found"), "%s", ctx.err);
	lks_ctx_free(&ctx);
	lks_buf_free(&out);
}

/* The output tail keeps the end of a long output. */
Test(build, spawn_tail)
{
	struct lks_buf out;
	lks_buf_init(&out, 0);
	int status;
	struct spawn_opts o = {.umask = -1};
	cr_assert_eq(run_sh("i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done", &o,
	                    &out, &status),
	             0);
	cr_assert(out.len <= 8192 && out.len > 4000);
	cr_assert(strstr(out.data, "line 2999\n"));
	cr_assert_null(strstr(out.data, "line 1\n"));
	lks_buf_free(&out);
}

Test(build, vary_parse)
{
	unsigned v;
	cr_assert_eq(lks_vary_parse(NULL, "all", &v), 0);
	cr_assert_eq(v, LKS_VARY_ALL);
	cr_assert_eq(lks_vary_parse(NULL, "none", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(lks_vary_parse(NULL, "tz,path", &v), 0);
	cr_assert_eq(v, LKS_VARY_TZ | LKS_VARY_PATH);
	cr_assert_eq(lks_vary_parse(NULL, "tz,", &v), 0);
	cr_assert_eq(lks_vary_parse(NULL, "tz,moon", &v), -LKS_E_INVAL);
	cr_assert_eq(lks_vary_parse(NULL, "pathx", &v), -LKS_E_INVAL);
	cr_assert_str_eq(lks_vary_name(LKS_VARY_HOSTNAME), "hostname");
	cr_assert_null(lks_vary_name(3));
}

Test(build, tree_copy_repoints_inner_links)
{
	char root[] = "/tmp/lks-tree-XXXXXX";
	cr_assert_not_null(mkdtemp(root));
	char src[256], dst[256], p[512], t[512];
	snprintf(src, sizeof(src), "%s/src", root);
	snprintf(dst, sizeof(dst), "%s/elsewhere", root);
	mkdir(src, 0755);
	snprintf(p, sizeof(p), "%s/sub", src);
	mkdir(p, 0750);
	snprintf(p, sizeof(p), "%s/sub/x", src);
	FILE *f = fopen(p, "w");
	fputs("x\n", f);
	fclose(f);
	chmod(p, 0604);
	snprintf(p, sizeof(p), "%s/in", src);
	snprintf(t, sizeof(t), "%s/sub/x", src);
	cr_assert_eq(symlink(t, p), 0);
	snprintf(p, sizeof(p), "%s/out", src);
	cr_assert_eq(symlink("/etc/passwd", p), 0);
	cr_assert_eq(tree_copy(NULL, src, dst), 0);
	char got[512], want[512];
	snprintf(p, sizeof(p), "%s/in", dst);
	got[readlink(p, got, sizeof(got) - 1)] = '\0';
	snprintf(want, sizeof(want), "%s/sub/x", dst);
	cr_assert_str_eq(got, want);
	snprintf(p, sizeof(p), "%s/out", dst);
	got[readlink(p, got, sizeof(got) - 1)] = '\0';
	cr_assert_str_eq(got, "/etc/passwd");
	struct stat st;
	snprintf(p, sizeof(p), "%s/sub/x", dst);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0604);
	snprintf(p, sizeof(p), "%s/sub", dst);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0750);
	cr_assert_eq(tree_remove(NULL, root), 0);
	cr_assert_neq(access(root, F_OK), 0);
	cr_assert_eq(tree_remove(NULL, root), 0); /* missing is fine */
}
