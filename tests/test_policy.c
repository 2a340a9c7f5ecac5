/* Tests for pinner/policy.c: durations, lockstep.policy.json (fixtures/policy) and the rule
 * that flags outdated pins. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/policy.h"

#define DAY 86400L

static const char *fixture(const char *name)
{
	static char path[4096];
	const char *src = getenv("LKS_SRCDIR");
	snprintf(path, sizeof(path), "%s/fixtures/policy/%s", src ? src : ".", name);
	return path;
}

Test(window, durations)
{
	static const struct {
		const char *s;
		long want; /* -1: invalid */
	} cases[] = {
	    {"30d", 30 * DAY},
	    {"14d", 14 * DAY},
	    {"2w", 14 * DAY},
	    {"12h", 12 * 3600},
	    {"90m", 5400},
	    {"45s", 45},
	    {"3600", 3600},
	    {"0d", -1},
	    {"-1d", -1},
	    {"d", -1},
	    {"", -1},
	    {"30 d", -1},
	    {"30dd", -1},
	    {"1y", -1},
	    {"+3d", -1},
	    {"99999999999999d", -1},
	    {"36600d", 36600 * DAY},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long v = 0;
		int rc = lks_duration_parse(cases[i].s, &v);
		if (cases[i].want < 0) {
			cr_expect_eq(rc, -LKS_E_INVAL, "'%s' should be refused", cases[i].s);
		} else {
			cr_expect(rc == 0 && v == cases[i].want, "'%s' -> %ld", cases[i].s, v);
		}
	}
	cr_expect_eq(lks_days_between(0, 3 * DAY - 1), 2);
	cr_expect_eq(lks_days_between(5 * DAY, DAY), 0);
}

Test(window, good_policy)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_policy p;
	lks_policy_init(&p);
	cr_assert_eq(lks_policy_load(&ctx, fixture("good.json"), true, &p), 0, "%s", ctx.err);
	cr_expect_eq(p.window, 14 * DAY);
	cr_expect(p.has_cooldown && p.cooldown == 3 * DAY);
	cr_assert_eq(p.n, 3);
	time_t t;
	lks_parse_time("2027-01-31T00:00:00Z", &t);
	cr_expect(p.rules[0].action == LKS_POLICY_HOLD && p.rules[0].until == t);
	cr_expect_str_eq(p.rules[1].kind, "apt");
	const char *img[] = {"docker.io/library/python:3.12-slim", "python:3.12-slim"};
	const char *node[] = {"docker.io/library/node:22", "node:22"};
	const char *curl[] = {"curl"};
	cr_expect_eq(lks_policy_match(&p, "image", img, 2), &p.rules[0]);
	cr_expect_null(lks_policy_match(&p, "apt", img, 2), "kind limits a rule");
	cr_expect_eq(lks_policy_match(&p, "image", node, 2), &p.rules[2], "fnmatch pattern");
	cr_expect_eq(lks_policy_match(&p, "apt", curl, 1), &p.rules[1]);
	cr_expect_null(lks_policy_match(&p, "python", curl, 1));
	lks_policy_free(&p);
	cr_expect_eq(lks_policy_load(&ctx, "/nonexistent/lockstep.policy.json", false, &p), 0);
	cr_expect_eq(p.n, 0, "a missing optional policy is empty");
	cr_expect_eq(lks_policy_load(&ctx, "/nonexistent/x.json", true, &p), -ENOENT);
	cr_expect(strstr(ctx.err, "/nonexistent/x.json") != NULL, "%s", ctx.err);
	lks_policy_free(&p);
	lks_ctx_free(&ctx);
}

Test(window, bad_policies)
{
	static const struct {
		const char *file;
		int rc;
		const char *msg;
	} cases[] = {
	    {"unknown-key.json", -LKS_E_PARSE, "rules[0]: unknown key 'untill'"},
	    {"unknown-top.json", -LKS_E_PARSE, "unknown-top.json: unknown key 'rule'"},
	    {"bad-date.json", -LKS_E_PARSE, "rules[0]: 'until' is not a date"},
	    {"bad-window.json", -LKS_E_PARSE, "'window' is not a duration"},
	    {"hold-no-until.json", -LKS_E_PARSE, "rules[0]: 'until' is required"},
	    {"no-reason.json", -LKS_E_PARSE, "rules[0]: 'reason' is required"},
	    {"ignore-until.json", -LKS_E_PARSE, "'until' is only for action hold"},
	    {"bad-kind.json", -LKS_E_PARSE, "'kind' is 'deb'"},
	    {"bad-action.json", -LKS_E_PARSE, "'action' is 'skip'"},
	    {"newer.json", -LKS_E_VERSION, "policy_version 2 is newer"},
	    {"truncated.json", -LKS_E_PARSE, "truncated.json"},
	    {"not-object.json", -LKS_E_PARSE, "must be a JSON object"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_policy p;
		lks_policy_init(&p);
		int rc = lks_policy_load(&ctx, fixture(cases[i].file), true, &p);
		cr_expect_eq(rc, cases[i].rc, "%s: rc %d (%s)", cases[i].file, rc, ctx.err);
		cr_expect(strstr(ctx.err, cases[i].msg) != NULL, "%s: '%s' lacks '%s'",
		          cases[i].file, ctx.err, cases[i].msg);
		lks_policy_free(&p);
		lks_ctx_free(&ctx);
	}
}

Test(window, flags)
{
	const time_t t0 = 1790000000;
	struct lks_policy_rule hold = {
	    .name = "x", .action = LKS_POLICY_HOLD, .until = t0 + 20 * DAY};
	struct lks_policy_rule ignore = {.name = "x", .action = LKS_POLICY_IGNORE};
	static const struct {
		long now_days, since_days;
		bool newer, vanished;
		int rule; /* 0 none, 1 hold, 2 ignore */
		unsigned want;
	} cases[] = {
	    {10, 4, true, false, 0, 0}, /* behind 6 days: inside the window */
	    {40, 4, true, false, 0, LKS_AGE_BEHIND | LKS_AGE_UNCHECKED},
	    {40, 0, false, false, 0, LKS_AGE_UNCHECKED}, /* current, but not re-checked */
	    {29, -2, true, false, 0, LKS_AGE_BEHIND},    /* behind since before the pin */
	    {10, 4, false, true, 0, LKS_AGE_VANISHED},
	    {15, -30, true, true, 1, 0}, /* held: behind and vanished excused */
	    {40, 4, true, false, 1, LKS_AGE_BEHIND | LKS_AGE_UNCHECKED | LKS_AGE_HOLD_EXPIRED},
	    {20, 4, false, false, 1, LKS_AGE_HOLD_EXPIRED}, /* expires at its instant */
	    {40, 4, true, true, 2, 0},                      /* ignored: nothing */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lks_pin_age a = {
		    .resolved_at = t0,
		    .newer = cases[i].newer,
		    .behind_since = t0 + cases[i].since_days * DAY,
		    .vanished = cases[i].vanished,
		    .rule = cases[i].rule == 1   ? &hold
		            : cases[i].rule == 2 ? &ignore
		                                 : NULL,
		};
		unsigned f = lks_pin_age_flags(&a, t0 + cases[i].now_days * DAY, 30 * DAY);
		cr_expect_eq(f, cases[i].want, "case %zu: flags %#x, want %#x", i, f,
		             cases[i].want);
	}
	cr_expect_str_eq(lks_age_flag_name(LKS_AGE_HOLD_EXPIRED), "hold-expired");
}
