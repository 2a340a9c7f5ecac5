/* The update window: durations, lockstep.policy.json and the outdated rule. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "lockstep/policy.h"

#define MAX_DURATION (100L * 366 * 86400)

int lks_duration_parse(const char *s, long *seconds)
{
	static const struct {
		char unit;
		long mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	if (!s || *s < '0' || *s > '9') {
		return -LKS_E_INVAL;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	long mult = 0;
	if (errno || v <= 0) {
		return -LKS_E_INVAL;
	}
	if (*end == '\0') {
		mult = 1;
	}
	for (size_t i = 0; !mult && *end && !end[1] && i < sizeof(units) / sizeof(units[0]); i++) {
		mult = units[i].unit == *end ? units[i].mult : 0;
	}
	if (!mult || v > MAX_DURATION / mult) {
		return -LKS_E_INVAL;
	}
	*seconds = (long)v * mult;
	return 0;
}

long lks_days_between(time_t from, time_t to)
{
	return to > from ? (long)((to - from) / 86400) : 0;
}

void lks_policy_init(struct lks_policy *p)
{
	memset(p, 0, sizeof(*p));
}

void lks_policy_free(struct lks_policy *p)
{
	for (size_t i = 0; p->rules && i < p->n; i++) {
		free(p->rules[i].name);
		free(p->rules[i].kind);
		free(p->rules[i].until_text);
		free(p->rules[i].reason);
	}
	free(p->rules);
	free(p->path);
	lks_policy_init(p);
}

/* Where a problem is, for messages: "lockstep.policy.json: rules[2]". */
struct where {
	struct lks_ctx *ctx;
	const char *name;
	long index; /* -1: the top level */
};

static int bad(const struct where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(const struct where *w, const char *fmt, ...)
{
	char what[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (w->index < 0) {
		return lks_err(w->ctx, -LKS_E_PARSE, "%s: %s", w->name, what);
	}
	return lks_err(w->ctx, -LKS_E_PARSE, "%s: rules[%ld]: %s", w->name, w->index, what);
}

static int check_keys(const struct where *w, const json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], key)) {
			i++;
		}
		if (!allowed[i]) {
			return bad(w, "unknown key '%s'%s", key,
			           w->index < 0 ? " (policy_version, window, cooldown, rules)"
			                        : " (name, kind, action, until, reason)");
		}
	}
	return 0;
}

/* A required (or optional) non-empty string member, copied into *out. */
static int get_str(const struct where *w, const json_t *obj, const char *key, bool required,
                   char **out)
{
	const json_t *v = json_object_get(obj, key);
	if (!v && !required) {
		return 0;
	}
	if (!v) {
		return bad(w, "'%s' is required", key);
	}
	if (!json_is_string(v) || !json_string_value(v)[0]) {
		return bad(w, "'%s' must be a non-empty string", key);
	}
	if (strlen(json_string_value(v)) > 1024) {
		return bad(w, "'%s' is longer than 1024 bytes", key);
	}
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int get_duration(const struct where *w, const json_t *obj, const char *key, long *out,
                        bool *has)
{
	char *s = NULL;
	int rc = get_str(w, obj, key, false, &s);
	if (rc == 0 && s) {
		rc = lks_duration_parse(s, out) == 0
		         ? 0
		         : bad(w, "'%s' is not a duration like 30d, 12h or 2w: '%s'", key, s);
		if (has && rc == 0) {
			*has = true;
		}
	}
	free(s);
	return rc;
}

static int rule_action(const struct where *w, const json_t *obj, struct lks_policy_rule *r)
{
	char *action = NULL;
	int rc = get_str(w, obj, "action", true, &action);
	if (rc < 0) {
		return rc;
	}
	if (!strcmp(action, "hold")) {
		r->action = LKS_POLICY_HOLD;
	} else if (!strcmp(action, "ignore")) {
		r->action = LKS_POLICY_IGNORE;
	} else {
		rc = bad(w, "'action' is '%s', not hold or ignore", action);
	}
	free(action);
	if (rc == 0 && r->action == LKS_POLICY_HOLD) {
		rc = get_str(w, obj, "until", true, &r->until_text);
		if (rc == 0 && lks_parse_time(r->until_text, &r->until) < 0) {
			rc = bad(w, "'until' is not a date (2026-12-31 or RFC 3339): '%s'",
			         r->until_text);
		}
	} else if (rc == 0 && json_object_get(obj, "until")) {
		rc = bad(w, "'until' is only for action hold (an ignore has no end)");
	}
	return rc;
}

static int parse_rule(const struct where *w, const json_t *obj, struct lks_policy_rule *r)
{
	static const char *const keys[] = {"name", "kind", "action", "until", "reason", NULL};
	if (!json_is_object(obj)) {
		return bad(w, "a rule must be an object");
	}
	int rc = check_keys(w, obj, keys);
	if (rc == 0) {
		rc = get_str(w, obj, "name", true, &r->name);
	}
	if (rc == 0) {
		rc = get_str(w, obj, "kind", false, &r->kind);
	}
	if (rc == 0 && r->kind && strcmp(r->kind, "image") && strcmp(r->kind, "apt") &&
	    strcmp(r->kind, "python")) {
		rc = bad(w, "'kind' is '%s', not image, apt or python", r->kind);
	}
	if (rc == 0) {
		rc = rule_action(w, obj, r);
	}
	if (rc == 0) {
		rc = get_str(w, obj, "reason", true, &r->reason);
	}
	return rc;
}

static int parse_rules(struct where *w, const json_t *arr, struct lks_policy *p)
{
	if (!arr) {
		return 0;
	}
	if (!json_is_array(arr)) {
		return bad(w, "'rules' must be an array");
	}
	size_t n = json_array_size(arr);
	if (n > LKS_POLICY_MAX_RULES) {
		return lks_err(w->ctx, -LKS_E_TOOBIG, "%s: more than %d rules", w->name,
		               LKS_POLICY_MAX_RULES);
	}
	p->rules = calloc(n ? n : 1, sizeof(*p->rules));
	if (!p->rules) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		w->index = (long)i;
		p->rules[i].index = i;
		p->n++;
		int rc = parse_rule(w, json_array_get(arr, i), &p->rules[i]);
		if (rc < 0) {
			return rc;
		}
	}
	w->index = -1;
	return 0;
}

static int parse_version(const struct where *w, const json_t *root)
{
	const json_t *v = json_object_get(root, "policy_version");
	if (!v) {
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		return bad(w, "'policy_version' must be a positive integer");
	}
	if (json_integer_value(v) > LKS_POLICY_VERSION) {
		return lks_err(w->ctx, -LKS_E_VERSION,
		               "%s: policy_version %lld is newer than this lockstep supports (%d)",
		               w->name, (long long)json_integer_value(v), LKS_POLICY_VERSION);
	}
	return 0;
}

int lks_policy_parse(struct lks_ctx *ctx, const char *data, size_t len, const char *name,
                     struct lks_policy *p)
{
	static const char *const keys[] = {"policy_version", "window", "cooldown", "rules", NULL};
	struct where w = {ctx, name, -1};
	json_auto_t *root = NULL;
	int rc = lks_json_parse(ctx, data, len, LKS_POLICY_MAX_BYTES, name, &root);
	if (rc < 0) {
		return rc;
	}
	if (!json_is_object(root)) {
		return bad(&w, "the policy must be a JSON object");
	}
	rc = check_keys(&w, root, keys);
	if (rc == 0) {
		rc = parse_version(&w, root);
	}
	if (rc == 0) {
		rc = get_duration(&w, root, "window", &p->window, NULL);
	}
	if (rc == 0) {
		rc = get_duration(&w, root, "cooldown", &p->cooldown, &p->has_cooldown);
	}
	if (rc == 0) {
		rc = parse_rules(&w, json_object_get(root, "rules"), p);
	}
	if (rc == 0 && !(p->path = strdup(name))) {
		rc = -ENOMEM;
	}
	return rc;
}

int lks_policy_load(struct lks_ctx *ctx, const char *path, bool required, struct lks_policy *p)
{
	struct lks_buf b;
	lks_buf_init(&b, LKS_POLICY_MAX_BYTES);
	int rc = lks_read_file_optional(ctx, path, "policy file", &b);
	if (rc == 0 && required) {
		rc = lks_err(ctx, -ENOENT, "cannot read policy file '%s': %s", path,
		             lks_strerror(-ENOENT));
	} else if (rc > 0) {
		rc = lks_policy_parse(ctx, b.data ? b.data : "", b.len, path, p);
	}
	lks_buf_free(&b);
	return rc;
}

bool lks_name_match(const char *pattern, const char *const *names, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (names[k] &&
		    (!strcmp(pattern, names[k]) || fnmatch(pattern, names[k], 0) == 0)) {
			return true;
		}
	}
	return false;
}

const struct lks_policy_rule *lks_policy_match(const struct lks_policy *p, const char *kind,
                                               const char *const *names, size_t n)
{
	for (size_t i = 0; p && i < p->n; i++) {
		const struct lks_policy_rule *r = &p->rules[i];
		if ((!r->kind || !kind || !strcmp(r->kind, kind)) &&
		    lks_name_match(r->name, names, n)) {
			return r;
		}
	}
	return NULL;
}

void lks_latest_free(struct lks_latest *l)
{
	free(l->latest);
	free(l->detail);
	free(l->action);
	memset(l, 0, sizeof(*l));
}

unsigned lks_pin_age_flags(const struct lks_pin_age *a, time_t now, long window)
{
	const struct lks_policy_rule *r = a->rule;
	if (r && r->action == LKS_POLICY_IGNORE) {
		return 0;
	}
	bool held = r && r->action == LKS_POLICY_HOLD && now < r->until;
	unsigned f = 0;
	if (r && r->action == LKS_POLICY_HOLD && !held) {
		f |= LKS_AGE_HOLD_EXPIRED;
	}
	if (!held && a->newer && now - a->behind_since > window) {
		f |= LKS_AGE_BEHIND;
	}
	if (!held && a->vanished) {
		f |= LKS_AGE_VANISHED;
	}
	if (now - a->resolved_at > window) {
		f |= LKS_AGE_UNCHECKED;
	}
	return f;
}

const char *lks_age_flag_name(unsigned flag)
{
	switch (flag) {
	case LKS_AGE_BEHIND:
		return "behind";
	case LKS_AGE_UNCHECKED:
		return "unchecked";
	case LKS_AGE_VANISHED:
		return "vanished";
	case LKS_AGE_HOLD_EXPIRED:
		return "hold-expired";
	default:
		return "unknown";
	}
}
