/* explain: history mapping (empty_layer skipped), Dockerfile matching, known noise. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/ctx.h"
#include "verifier/explain.h"
#include "lockstep/json.h"

static const char config[] =
    "{\"history\":["
    "{\"created_by\":\"/bin/sh -c #(nop) ADD file:abc in /\"},"
    "{\"created_by\":\"/bin/sh -c #(nop) ENV A=1\",\"empty_layer\":true},"
    "{\"created_by\":\"/bin/sh -c #(nop) WORKDIR /x\",\"empty_layer\":true},"
    "{\"created_by\":\"/bin/sh -c apt-get update && apt-get install -y curl\"},"
    "{\"created_by\":\"/bin/sh -c #(nop) COPY dir:123 in /app \"},"
    "{\"created_by\":\"COPY app/ /app # buildkit\",\"empty_layer\":false}]}";

static const struct {
	size_t layer;
	int index;
} hist_cases[] = {{0, 0}, {1, 3}, {2, 4}, {3, 5}, {4, -1}};

Test(explain, history_skips_empty_layers)
{
	json_auto_t *j = NULL;
	cr_assert_eq(lks_json_parse(NULL, config, strlen(config), 0, "config", &j), 0);
	for (size_t i = 0; i < sizeof(hist_cases) / sizeof(hist_cases[0]); i++) {
		const char *cb;
		int got = lks_explain_history(j, hist_cases[i].layer, &cb);
		cr_assert_eq(got, hist_cases[i].index, "layer %zu -> %d", hist_cases[i].layer, got);
		cr_assert((got < 0) == (cb == NULL));
	}
}

static const char dockerfile[] = "# syntax=docker/dockerfile:1\n"
                                 "FROM debian:bookworm\n"
                                 "ENV A=1\n"
                                 "RUN apt-get update \\\n"
                                 "    # a comment inside\n"
                                 "    && apt-get install -y curl\n"
                                 "COPY app/ /app\n"
                                 "CMD [\"/app/run\"]\n";

Test(explain, dockerfile_lines_in_order)
{
	char path[] = "/tmp/lks-df-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, dockerfile, strlen(dockerfile)), (ssize_t)strlen(dockerfile));
	close(fd);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_dockerfile_step *s;
	size_t n;
	cr_assert_eq(lks_explain_dockerfile_load(&ctx, path, &s, &n), 0, "%s", ctx.err);
	unlink(path);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(s[2].keyword, "RUN");
	cr_assert_eq(s[2].line, 4);
	static const struct {
		const char *created_by;
		int line;
	} m[] = {
	    {"/bin/sh -c #(nop) ADD file:abc in /", -1},
	    {"/bin/sh -c apt-get update     && apt-get install -y curl", 4},
	    {"/bin/sh -c #(nop) COPY dir:123 in /app ", 7},
	};
	size_t from = 0;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		int k = lks_explain_dockerfile_match(s, n, m[i].created_by, &from);
		cr_assert_eq(k < 0 ? -1 : s[k].line, m[i].line, "%s", m[i].created_by);
	}
	lks_explain_dockerfile_free(s, n);
	lks_ctx_free(&ctx);
}

static const struct {
	const char *path;
	const char *cause_part; /* NULL: no known cause */
} noise_cases[] = {
    {"var/log/dpkg.log", "dpkg log"},
    {"var/cache/apt/pkgcache.bin", "apt cache"},
    {"usr/lib/python3.11/__pycache__/x.cpython-311.pyc", ".pyc"},
    {"var/cache/ldconfig/aux-cache", "ldconfig"},
    {"etc/shadow", "last-change"},
    {"etc/machine-id", "machine-id"},
    {"var/lib/apt/lists/x_Packages", "apt lists"},
    {"usr/lib/python3/dist-packages/foo-1.0.dist-info/RECORD", "RECORD"},
    {"var/cache/fontconfig/abc-le64.cache-8", "fontconfig"},
    {"tmp/leftover", "/tmp"},
    {"usr/bin/curl", NULL},
    {"etc/passwd", NULL},
};

Test(explain, known_noise_table)
{
	for (size_t i = 0; i < sizeof(noise_cases) / sizeof(noise_cases[0]); i++) {
		const struct lks_noise *n = lks_explain_path(noise_cases[i].path);
		if (!noise_cases[i].cause_part) {
			cr_assert_null(n, "%s", noise_cases[i].path);
			continue;
		}
		cr_assert_not_null(n, "%s", noise_cases[i].path);
		cr_assert_not_null(strstr(n->cause, noise_cases[i].cause_part), "%s: %s",
		                   noise_cases[i].path, n->cause);
		cr_assert_not_null(n->hint);
	}
}
