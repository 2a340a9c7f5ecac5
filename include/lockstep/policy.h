/* The monthly update window (pinner/policy.c): durations, the policy file and the rule that
 * decides whether a pin is outdated.
 *
 * Every pin has two clocks: `resolved_at` (when lockstep last confirmed it) and the age of
 * what is pinned (`published_at`). A pin is flagged when a newer allowed version exists and
 * the pin has been behind it for longer than the window, and separately when it has not been
 * re-checked within the window. All comparisons take `now` from the caller, which takes it
 * from lks_now(ctx), so tests set the clock (--now, LOCKSTEP_NOW) instead of sleeping.
 *
 * The policy file, lockstep.policy.json, records the explicit, dated decisions to leave a
 * pin behind:
 *
 *   {
 *     "policy_version": 1,
 *     "window": "30d",
 *     "cooldown": "3d",
 *     "rules": [
 *       {"name": "python:3.12-slim", "kind": "image", "action": "hold",
 *        "until": "2027-01-31", "reason": "3.13 breaks the wheels of numpy"},
 *       {"name": "curl", "kind": "apt", "action": "ignore", "reason": "patched downstream"}
 *     ]
 *   }
 *
 * Every key is optional except each rule's name, action and reason (and until for a hold).
 * `name` matches a pin's names exactly or as an fnmatch(3) pattern (an image is known by its
 * full and familiar reference, with and without the tag: "docker.io/library/python:3.12-slim",
 * "python:3.12-slim", "docker.io/library/python", "python"). `kind` limits a rule to "image",
 * "apt" or "python". A hold lasts until the instant `until` (a date means 00:00:00Z that
 * day); an expired hold is itself flagged. Unknown keys, bad dates and bad durations are
 * errors (-LKS_E_PARSE naming the file and where), as is a newer policy_version
 * (-LKS_E_VERSION).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct lks_ctx;

#define LKS_POLICY_NAME "lockstep.policy.json"
#define LKS_POLICY_VERSION 1
#define LKS_POLICY_MAX_BYTES ((size_t)1 << 20)
#define LKS_POLICY_MAX_RULES 4096
#define LKS_WINDOW_DEFAULT (30L * 86400)

/* Parse a duration: a positive integer with a unit, "45s", "90m", "12h", "14d", "2w" (also
 * a bare integer: seconds). At most 100 years. Returns 0 or -LKS_E_INVAL. */
int lks_duration_parse(const char *s, long *seconds);
/* Whole days from `from` to `to` (0 when to <= from). */
long lks_days_between(time_t from, time_t to);

enum lks_policy_action { LKS_POLICY_IGNORE, LKS_POLICY_HOLD };

struct lks_policy_rule {
	char *name; /* exact name or fnmatch pattern */
	char *kind; /* "image", "apt", "python", or NULL for every kind */
	enum lks_policy_action action;
	time_t until;     /* hold: when it ends */
	char *until_text; /* hold: as written in the file */
	char *reason;
	size_t index; /* position in "rules", for messages */
};

struct lks_policy {
	char *path;  /* for messages; NULL when there is no file */
	long window; /* seconds; 0 when the file does not say */
	long cooldown;
	bool has_cooldown;
	struct lks_policy_rule *rules;
	size_t n;
};

void lks_policy_init(struct lks_policy *p);
void lks_policy_free(struct lks_policy *p);
/* Parse a policy document; `name` is used in messages. p must be initialised (empty). */
int lks_policy_parse(struct lks_ctx *ctx, const char *data, size_t len, const char *name,
                     struct lks_policy *p);
/* Load path; a missing file is an empty policy unless required. */
int lks_policy_load(struct lks_ctx *ctx, const char *path, bool required, struct lks_policy *p);
/* True when pattern equals one of names[0..n) (NULL entries skipped) or matches it as an
 * fnmatch(3) pattern. */
bool lks_name_match(const char *pattern, const char *const *names, size_t n);
/* The first rule for a pin of `kind` known by any of names[0..n), or NULL. */
const struct lks_policy_rule *lks_policy_match(const struct lks_policy *p, const char *kind,
                                               const char *const *names, size_t n);

/* What a kind's lookup (lks_images_latest, ...) found out about one pin of the lock. */
enum lks_pin_state {
	LKS_PIN_CURRENT,   /* the pinned version is the newest allowed */
	LKS_PIN_NEWER,     /* a newer allowed version exists */
	LKS_PIN_VANISHED,  /* the source is gone: image tag deleted, apt version gone, yanked */
	LKS_PIN_UNKNOWN,   /* could not be looked up (offline and not in the cache) */
	LKS_PIN_UNTRACKED, /* nothing to follow (a pin no source moves, e.g. an apt closure entry)
	                    */
};

struct lks_latest {
	enum lks_pin_state state;
	char *latest;        /* NEWER: the newest allowed digest or version (owned) */
	time_t published_at; /* NEWER: when latest was published, if has_published_at */
	bool has_published_at;
	time_t since; /* NEWER: since when the pin has been behind */
	char *detail; /* VANISHED, UNKNOWN, UNTRACKED: what happened (owned) */
	char *action; /* VANISHED: what to do about it (owned) */
};

void lks_latest_free(struct lks_latest *l);

/* What lockstep knows about one pin, for deciding whether it is outdated. */
struct lks_pin_age {
	time_t resolved_at;  /* when lockstep last confirmed the pin */
	bool newer;          /* a newer allowed version exists */
	time_t behind_since; /* newer: since when the pin is behind */
	bool vanished;       /* the pinned source is gone (tag deleted, version removed) */
	const struct lks_policy_rule *rule; /* matching policy rule or NULL */
};

/* Flags of an outdated pin (a mask). */
enum {
	LKS_AGE_BEHIND = 1u << 0,       /* behind a newer version for longer than the window */
	LKS_AGE_UNCHECKED = 1u << 1,    /* not re-checked within the window */
	LKS_AGE_VANISHED = 1u << 2,     /* its source is gone */
	LKS_AGE_HOLD_EXPIRED = 1u << 3, /* a hold rule for it has expired */
};

/* The flags of a pin at `now` with `window` seconds. An ignore rule clears every flag; an
 * active hold clears BEHIND and VANISHED (the decision to stay behind is recorded) but not
 * UNCHECKED; an expired hold adds HOLD_EXPIRED and no longer clears anything. */
unsigned lks_pin_age_flags(const struct lks_pin_age *a, time_t now, long window);
/* Stable names of the flags for JSON ("behind", "unchecked", "vanished", "hold-expired"). */
const char *lks_age_flag_name(unsigned flag);
