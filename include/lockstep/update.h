/* `lockstep update`: the pin run in update mode, and the summary for the bot's pull request
 * (pinner/update.c).
 *
 * Update is not a separate pass: it is `pin` with `struct lks_pin_opts.update.enabled` set,
 * so every pinner moves its pins inside the same all-or-nothing workspace run. A pinner asks
 * lks_update_verdict() whether it may move a pin, resolves the newest allowed version (images:
 * the digest the same tag points to now), checks lks_update_cooled() for the cooldown, and
 * reports the move with lks_pin_report_add(..., previous, changed = true) plus the published
 * times in the change (findings.h). Pins it may not move are pinned as `pin` would (verified).
 * `--only KIND` is the pin run's `kinds` mask.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct lks_buf;
struct lks_ctx;
struct lks_pin_report;
struct lks_policy;
struct lks_policy_rule;

struct lks_update_opts {
	bool enabled;                    /* update mode (pin does not move pins) */
	const char *package;             /* only pins known by this name (or fnmatch pattern) */
	long cooldown;                   /* seconds: newer versions younger than this wait */
	const struct lks_policy *policy; /* ignore/hold rules (may be NULL) */
};

enum lks_update_verdict {
	LKS_UPDATE_MOVE,         /* may move to the newest allowed version */
	LKS_UPDATE_NOT_SELECTED, /* not update mode, or not the --package asked for */
	LKS_UPDATE_IGNORED,      /* an ignore rule */
	LKS_UPDATE_HELD,         /* a hold rule that has not expired */
};

/* Whether update may move a pin of kind ("image", "apt", "python") known by names[0..n).
 * *rule (may be NULL) receives the policy rule for IGNORED and HELD. */
enum lks_update_verdict lks_update_verdict(const struct lks_update_opts *u, time_t now,
                                           const char *kind, const char *const *names, size_t n,
                                           const struct lks_policy_rule **rule);
/* Whether a version published at `published` may be taken at `now` under the cooldown. */
bool lks_update_cooled(const struct lks_update_opts *u, time_t now, time_t published);

/* Changes of rep that moved a pin (previous set and changed). */
size_t lks_update_count(const struct lks_pin_report *rep);
/* The pull-request body: a table per kind (old -> new, published date, age at `now`, link),
 * sorted, so the same changes always give the same bytes. Appended to out. */
int lks_update_summary_markdown(const struct lks_pin_report *rep, time_t now, struct lks_buf *out);
/* The same as JSON: {"version":1,"updates":[...],"count":N}, keys sorted. */
int lks_update_summary_json(struct lks_ctx *ctx, const struct lks_pin_report *rep, time_t now,
                            struct lks_buf *out);
