#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "pinner/apt/apt_cmd.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

/* Each case: a RUN command and the expected words "kind:raw" (raw = the exact bytes of the
 * range, quotes included), with "|" between separate install invocations, and "@T" giving the
 * target release of an invocation. */
static const struct {
	const char *cmd;
	const char *want;
} cases[] = {
    {"apt-get update && apt-get install -y --no-install-recommends ca-certificates curl tini",
     "plain:ca-certificates plain:curl plain:tini"},
    {"apt-get update; apt install -y curl=7.88.1-10+deb12u12 tini:arm64 ./x.deb",
     "pinned:curl=7.88.1-10+deb12u12 plain:tini:arm64 local:./x.deb"},
    {"set -e; DEBIAN_FRONTEND=noninteractive apt-get -qq install -y \\\n  git \\\n  make",
     "plain:git plain:make"},
    {"apt-get -t bookworm-backports install -y nginx/bookworm-backports",
     "@bookworm-backports release:nginx/bookworm-backports"},
    {"apt-get install -o Dpkg::Options::=--force-confold -o APT::Install-Recommends=0 -y vim",
     "plain:vim"},
    {"apt-get install --target-release=stable -y a --target-release testing b",
     "@testing plain:a plain:b"},
    {"apt-get install -y $PKGS \"${EXTRA}\" $(cat list) `echo x` lit",
     "variable:$PKGS variable:\"${EXTRA}\" variable:$(cat list) variable:`echo x` plain:lit"},
    {"sh -c 'apt-get install -y curl' && echo apt-get install no", ""},
    {"apt-get update || true; sudo -E apt-get install -y 'jq' \"less\" && rm -rf /var/lib/apt",
     "plain:'jq' plain:\"less\""},
    {"apt-get remove -y foo && apt-get purge bar && apt-get install baz", "plain:baz"},
    {"cat <<EOF > /etc/x\napt-get install -y nope\nEOF\napt-get install -y yes", "plain:yes"},
    {"apt-get install -y a # trailing comment b\n apt-get install c", "plain:a|plain:c"},
    {"if true; then apt-get install -y x; fi; (apt-get install -y y) | tee log 2>&1",
     "plain:x|plain:y"},
    {"apt-get install -y foo >/dev/null 2>&1 && env A=1 apt-get install -y -- -weird",
     "plain:foo|plain:-weird"},
    {"apt-get install -y 'lib*' '?name(x)' ~nfoo",
     "pattern:'lib*' pattern:'?name(x)' pattern:~nfoo"},
    {"/usr/bin/apt-get install -yq python3", "plain:python3"},
    {"apt-get install -y pkg-a\\\n-continued", "plain:pkg-a\\\n-continued"},
    {"apt-cache policy curl; apt-get -s install x", "plain:x"},
    {"apt-get install", ""},
    /* issue 11: install commands as users write them */
    {"apt-get -y install curl && apt-get -qq -y reinstall tzdata", "plain:curl|plain:tzdata"},
    {"xx-apt-get install -y gcc libc6-dev=2.36-9 $X && xx-apt install ./l.deb",
     "cross:gcc cross:libc6-dev=2.36-9 variable:$X|local:./l.deb"},
    {"cat pkgs.txt | xargs -r -n 1 apt-get install -y lit && xargs -a f apt-get install",
     "<plain:lit|<"},
    {"apt-get install -y curl=7.88.1* 'jq=1.6-2.1*' x=/^1\\.2/ y=1.?-1 z=1.0-1",
     "version-glob:curl=7.88.1* version-glob:'jq=1.6-2.1*' pinned:x=/^1\\.2/ "
     "version-glob:y=1.?-1 pinned:z=1.0-1"},
    {"xargs echo deb http://x y z > /etc/apt/sources.list", ""},
};

static void render(const char *cmd, const struct lks_apt_cmds *c, struct lks_buf *out)
{
	for (size_t i = 0; i < c->n; i++) {
		if (i) {
			lks_buf_puts(out, "|");
		}
		if (c->v[i].target_release) {
			lks_buf_printf(out, "@%s ", c->v[i].target_release);
		}
		if (c->v[i].from_input) {
			lks_buf_puts(out, "<");
		}
		for (size_t j = 0; j < c->v[i].n; j++) {
			const struct lks_apt_word *w = &c->v[i].words[j];
			lks_buf_printf(out, "%s%s:%.*s", j ? " " : "",
			               lks_apt_word_kind_name(w->kind), (int)(w->end - w->start),
			               cmd + w->start);
		}
	}
	lks_buf_puts(out, "");
}

Test(apt_cmd, table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_apt_cmds c;
		lks_apt_cmds_init(&c);
		int rc = lks_apt_cmd_scan(&ctx, cases[i].cmd, strlen(cases[i].cmd), &c);
		cr_expect_eq(rc, 0, "case %zu: %s", i, ctx.err);
		struct lks_buf out;
		lks_buf_init(&out, 0);
		render(cases[i].cmd, &c, &out);
		cr_expect_str_eq(out.data, cases[i].want, "case %zu: %s", i, cases[i].cmd);
		lks_buf_free(&out);
		lks_apt_cmds_free(&c);
		lks_ctx_free(&ctx);
	}
}

Test(apt_cmd, word_text_is_unquoted)
{
	static const char cmd[] = "apt-get install -y 'jq' \"a\"b c\\d";
	struct lks_apt_cmds c;
	lks_apt_cmds_init(&c);
	cr_assert_eq(lks_apt_cmd_scan(NULL, cmd, strlen(cmd), &c), 0);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(c.v[0].n, 3);
	cr_expect_str_eq(c.v[0].words[0].text, "jq");
	cr_expect_str_eq(c.v[0].words[1].text, "ab");
	cr_expect_str_eq(c.v[0].words[2].text, "cd");
	lks_apt_cmds_free(&c);
}

Test(apt_cmd, errors)
{
	static const char *bad[] = {"apt-get install 'x", "apt-get install \"x", "echo $(x",
	                            "echo `x", "echo ${x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_apt_cmds c;
		lks_apt_cmds_init(&c);
		cr_expect_eq(lks_apt_cmd_scan(&ctx, bad[i], strlen(bad[i]), &c), -LKS_E_PARSE, "%s",
		             bad[i]);
		cr_expect(strstr(ctx.err, "unterminated"), "%s", ctx.err);
		lks_apt_cmds_free(&c);
		lks_ctx_free(&ctx);
	}
}

Test(apt_cmd, exec_form)
{
	const char *argv[] = {"apt-get",  "install", "-y",           "-t",
	                      "bookworm", "curl",    "tini=0.19.0-1"};
	struct lks_apt_cmds c;
	lks_apt_cmds_init(&c);
	cr_assert_eq(lks_apt_cmd_scan_argv(NULL, argv, 7, &c), 0);
	cr_assert_eq(c.n, 1);
	cr_expect_str_eq(c.v[0].target_release, "bookworm");
	cr_assert_eq(c.v[0].n, 2);
	cr_expect_eq(c.v[0].words[0].start, 5);
	cr_expect_eq(c.v[0].words[1].kind, LKS_APT_WORD_PINNED);
	lks_apt_cmds_free(&c);
}

/* Files written with literal text: "PATH<TEXT" (">>" for an append), "|" between writes. */
static const struct {
	const char *cmd;
	const char *want;
} writes[] = {
    {"echo \"deb [signed-by=/k.gpg] http://h/d bookworm main\" > /etc/apt/sources.list.d/x.list",
     "/etc/apt/sources.list.d/x.list<deb [signed-by=/k.gpg] http://h/d bookworm main\n"},
    {"echo deb http://h/d s main >>/etc/apt/sources.list && apt-get update",
     "/etc/apt/sources.list>>deb http://h/d s main\n"},
    {"echo 'deb http://h/d s main' | tee /a.list /b.list >/dev/null",
     "/a.list<deb http://h/d s main\n|/b.list<deb http://h/d s main\n"},
    {"echo -n x | sudo tee -a /f", "/f>>x"},
    {"echo \"deb $MIRROR s main\" > /x.list; echo y > \"$F\"; echo 'a\\nb' > /z", ""},
    {"echo a 2>/dev/null >/y; echo b 2> /e; echo c >&2", "/y<a\n"},
    {"cat /x | tee /t; echo a | grep a > /g; echo q || tee /n", ""},
    {"echo a >/one >/two", "/two<a\n"},
};

Test(apt_cmd, writes_table)
{
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		struct lks_apt_cmds c;
		lks_apt_cmds_init(&c);
		cr_assert_eq(lks_apt_cmd_scan(NULL, writes[i].cmd, strlen(writes[i].cmd), &c), 0);
		struct lks_buf out;
		lks_buf_init(&out, 0);
		lks_buf_puts(&out, "");
		for (size_t k = 0; k < c.n_writes; k++) {
			const struct lks_apt_write *w = &c.writes[k];
			lks_buf_printf(&out, "%s%s%s%s", k ? "|" : "", w->path,
			               w->append ? ">>" : "<", w->text);
		}
		cr_expect_str_eq(out.data, writes[i].want, "case %zu: %s", i, writes[i].cmd);
		lks_buf_free(&out);
		lks_apt_cmds_free(&c);
	}
}
