/* Tests for pinner/update.c: which pins update may move, the cooldown, and the pull-request
 * summary (markdown and JSON: sorted, byte-stable). */
#include <criterion/criterion.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/findings.h"
#include "lockstep/update.h"
#include "lockstep/policy.h"

#define DAY 86400L
#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const time_t now = 1796083200; /* 2026-12-01 */

Test(update, verdicts)
{
	struct lks_policy_rule rules[] = {
	    {.name = "*/held:*",
	     .kind = "image",
	     .action = LKS_POLICY_HOLD,
	     .until = now + DAY,
	     .until_text = "2026-12-02",
	     .reason = "r"},
	    {.name = "expired",
	     .action = LKS_POLICY_HOLD,
	     .until = now,
	     .until_text = "x",
	     .reason = "r"},
	    {.name = "curl", .kind = "apt", .action = LKS_POLICY_IGNORE, .reason = "r"},
	};
	struct lks_policy p = {.rules = rules, .n = 3};
	struct lks_update_opts u = {.enabled = true, .policy = &p};
	const char *held[] = {"docker.io/library/held:1", "held:1"};
	const char *curl[] = {"curl"};
	const char *expired[] = {"expired"};
	const struct lks_policy_rule *r;
	cr_expect_eq(lks_update_verdict(&u, now, "image", held, 2, &r), LKS_UPDATE_HELD);
	cr_expect_eq(r, &rules[0]);
	cr_expect_eq(lks_update_verdict(&u, now + DAY, "image", held, 2, &r), LKS_UPDATE_MOVE,
	             "a hold ends at its instant");
	cr_expect_eq(lks_update_verdict(&u, now, "apt", curl, 1, &r), LKS_UPDATE_IGNORED);
	cr_expect_eq(lks_update_verdict(&u, now, "python", curl, 1, &r), LKS_UPDATE_MOVE,
	             "the kind limits a rule");
	cr_expect_eq(lks_update_verdict(&u, now, "apt", expired, 1, &r), LKS_UPDATE_MOVE);
	u.package = "held:*";
	cr_expect_eq(lks_update_verdict(&u, now, "apt", curl, 1, &r), LKS_UPDATE_NOT_SELECTED);
	cr_expect_eq(lks_update_verdict(&u, now, "image", held, 2, &r), LKS_UPDATE_HELD);
	u.enabled = false;
	cr_expect_eq(lks_update_verdict(&u, now, "image", held, 2, &r), LKS_UPDATE_NOT_SELECTED);
	cr_expect_eq(lks_update_verdict(NULL, now, "image", held, 2, &r), LKS_UPDATE_NOT_SELECTED);
}

Test(update, cooldown)
{
	struct lks_update_opts u = {.enabled = true, .cooldown = 3 * DAY};
	cr_expect(lks_update_cooled(&u, now, now - 3 * DAY));
	cr_expect_not(lks_update_cooled(&u, now, now - 3 * DAY + 1));
	cr_expect_not(lks_update_cooled(&u, now, now + DAY), "published in the future waits");
	u.cooldown = 0;
	cr_expect(lks_update_cooled(&u, now, now));
}

static void add(struct lks_pin_report *r, const char *kind, const char *file, size_t line,
                const char *subject, const char *pinned, const char *previous, time_t published)
{
	struct lks_pin_change *c;
	cr_assert_eq(lks_pin_report_add(r, kind, file, line, subject, subject, pinned, previous,
	                                previous != NULL || !strcmp(pinned, "new"), &c),
	             0);
	if (published) {
		c->has_published_at = true;
		c->published_at = published;
	}
}

/* The same changes in another order give the same bytes; verified pins are left out. */
static void fill(struct lks_pin_report *r, bool reverse)
{
	lks_pin_report_init(r);
	for (int k = 0; k < 4; k++) {
		switch (reverse ? 3 - k : k) {
		case 0:
			add(r, "image", "Dockerfile", 3, "b.io/x:1@" D1, D2, D1, now - 10 * DAY);
			break;
		case 1:
			add(r, "apt", "Dockerfile", 5, "curl", "7.88.1-10+deb12u12",
			    "7.88.1-10+deb12u8", 0);
			break;
		case 2:
			add(r, "image", "Dockerfile", 1, "a.io/y:2", D1, D2, now - DAY);
			break;
		default:
			add(r, "image", "Other", 1, "a.io/z:2", D1, NULL, 0); /* verified */
		}
	}
}

Test(update, summary_markdown)
{
	struct lks_pin_report a, b;
	fill(&a, false);
	fill(&b, true);
	cr_expect_eq(lks_update_count(&a), 3);
	struct lks_buf x, y;
	lks_buf_init(&x, 0);
	lks_buf_init(&y, 0);
	cr_assert_eq(lks_update_summary_markdown(&a, now, &x), 0);
	cr_assert_eq(lks_update_summary_markdown(&b, now, &y), 0);
	const char *want =
	    "## lockstep update\n\n3 pins updated: 2 images, 1 apt package.\n\n"
	    "### Images\n\n| Image | Old | New | Published | Age | Where |\n"
	    "|---|---|---|---|---|---|\n"
	    "| `a.io/y:2` | `sha256:222222222222` | `sha256:111111111111` | 2026-11-30 | 1 day "
	    "| `Dockerfile`:1 |\n"
	    "| `b.io/x:1` | `sha256:111111111111` | `sha256:222222222222` | 2026-11-21 | 10 days "
	    "| `Dockerfile`:3 |\n\n"
	    "### apt packages\n\n| Package | Old | New | Published | Age | Where |\n"
	    "|---|---|---|---|---|---|\n"
	    "| `curl` | `7.88.1-10+deb12u8` | `7.88.1-10+deb12u12` | unknown |  | `Dockerfile`:5 "
	    "|\n";
	cr_expect_str_eq(x.data, want);
	cr_expect_str_eq(y.data, want, "order of the report does not matter");
	lks_buf_reset(&x);
	struct lks_pin_report none;
	lks_pin_report_init(&none);
	cr_assert_eq(lks_update_summary_markdown(&none, now, &x), 0);
	cr_expect_str_eq(x.data, "## lockstep update\n\nNothing to update.\n");
	lks_buf_free(&x);
	lks_buf_free(&y);
	lks_pin_report_free(&a);
	lks_pin_report_free(&b);
}

Test(update, summary_json)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_pin_report a, b;
	fill(&a, false);
	fill(&b, true);
	struct lks_buf x, y;
	lks_buf_init(&x, 0);
	lks_buf_init(&y, 0);
	cr_assert_eq(lks_update_summary_json(&ctx, &a, now, &x), 0);
	cr_assert_eq(lks_update_summary_json(&ctx, &b, now, &y), 0);
	cr_expect_str_eq(x.data, y.data);
	cr_expect(strstr(x.data, "\"count\": 3") && strstr(x.data, "\"name\": \"b.io/x:1\"") &&
	              strstr(x.data, "\"age_days\": 10") &&
	              strstr(x.data, "\"published_at\": \"2026-11-21T00:00:00Z\""),
	          "%s", x.data);
	cr_expect(strstr(x.data, "a.io/z:2") == NULL, "verified pins are not updates");
	lks_buf_free(&x);
	lks_buf_free(&y);
	lks_pin_report_free(&a);
	lks_pin_report_free(&b);
	lks_ctx_free(&ctx);
}

/* Links from labels or metadata: plain https URLs only; anything that could close the link or
 * the table cell (or inject markup) is dropped, the row stays. */
Test(update, summary_links_are_sanitised)
{
	static const struct {
		const char *link;
		const char *want;
	} cases[] = {
	    {"https://example.org/app", "| [`a.io/y:2`](https://example.org/app) |"},
	    {"https://example.org/a)b", "| `a.io/y:2` |"},
	    {"https://example.org/a b", "| `a.io/y:2` |"},
	    {"https://example.org/a|b", "| `a.io/y:2` |"},
	    {"javascript:alert(1)", "| `a.io/y:2` |"},
	    {"http://example.org/", "| `a.io/y:2` |"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lks_pin_report r;
		struct lks_pin_change *c;
		lks_pin_report_init(&r);
		cr_assert_eq(lks_pin_report_add(&r, "image", "Dockerfile", 1, "a.io/y:2", "a.io/y:2",
		                                D1, D2, true, &c),
		             0);
		c->link = strdup(cases[i].link);
		struct lks_buf x;
		lks_buf_init(&x, 0);
		cr_assert_eq(lks_update_summary_markdown(&r, now, &x), 0);
		cr_expect(strstr(x.data, cases[i].want), "%s -> %s", cases[i].link, x.data);
		lks_buf_free(&x);
		lks_pin_report_free(&r);
	}
}

/* A Dockerfile path (any bytes) must not end the table cell or row, open markup, or make the
 * JSON summary invalid. */
Test(update, summary_hostile_names)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_pin_report r;
	struct lks_pin_change *c;
	lks_pin_report_init(&r);
	cr_assert_eq(lks_pin_report_add(&r, "image", "a|b`c\n![x](https://e.example/i.png)\xff/Dockerfile",
	                                2, "a.io/y:2", "a.io/y:2", D1, D2, true, &c),
	             0);
	struct lks_buf x;
	lks_buf_init(&x, 0);
	cr_assert_eq(lks_update_summary_markdown(&r, now, &x), 0);
	cr_expect(strstr(x.data, "| ``a\\|b`c\\x0a![x](https://e.example/i.png)\\xff/Dockerfile``:2 |\n"),
	          "%s", x.data);
	lks_buf_reset(&x);
	cr_assert_eq(lks_update_summary_json(&ctx, &r, now, &x), 0, "%s", ctx.err);
	cr_expect(strstr(x.data, "\"file\": \"a|b`c\\\\x0a![x](https://e.example/i.png)\\\\xff/"
	                         "Dockerfile\"") ||
	              strstr(x.data, "\"file\": \"a|b`c\\n![x](https://e.example/i.png)\\\\xff/"
	                             "Dockerfile\""),
	          "%s", x.data);
	lks_buf_free(&x);
	lks_pin_report_free(&r);
	lks_ctx_free(&ctx);
}
