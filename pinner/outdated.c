/* lockstep outdated: every pin of the lock against the update window. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/imagefs.h"
#include "lockstep/json.h"
#include "lockstep/lockfile.h"
#include "lockstep/platform.h"
#include "lockstep/outdated.h"
#include "pinner/pin_int.h"
#include "pinner/workspace.h"

/* Not selected by --package: true. */
static bool unselected(const struct lks_outdated_opts *o, const char *const *names, size_t n)
{
	return o->package && !lks_name_match(o->package, names, n);
}

void pin_entry_free(struct pin_entry *e)
{
	for (size_t i = 0; i < PIN_NAMES; i++) {
		free(e->names[i]);
	}
	memset(e, 0, sizeof(*e));
}

int pin_entry_versioned(const struct pin_versioned *v, struct pin_entry *out)
{
	out->names[0] = strdup(v->name);
	out->file = v->file;
	out->line = v->line;
	out->pinned = v->version;
	out->resolved_at = v->resolved_at;
	out->published_at = v->has_published_at ? v->published_at : 0;
	out->has_published_at = v->has_published_at;
	return out->names[0] ? 0 : -ENOMEM;
}

/* Not selected by --platform: 1 (its file pinned for none of them, or the kind says the pin
 * is for none of them). */
static int off_platform(struct lks_ctx *ctx, const struct pin_kind *k, const struct lks_lock *l,
                        const struct lks_outdated_opts *o, const struct pin_entry *e)
{
	struct lks_platforms fp;
	if (!o->platforms || !k->on_platform) {
		return 0;
	}
	int rc = lks_lock_platforms(ctx, l, e->file, &fp);
	if (rc < 0) {
		return rc;
	}
	bool file_ok = false, kind_ok = false;
	for (size_t i = 0; i < o->platforms->n; i++) {
		const struct lks_platform *p = &o->platforms->v[i];
		file_ok |= lks_platforms_find(&fp, p) >= 0;
		kind_ok |= k->on_platform(e, p);
	}
	return file_ok && kind_ok ? 0 : 1;
}

/* The row of pin i of kind k: 1 when --platform or --package does not select it. */
static int row_of(struct lks_ctx *ctx, const struct pin_kind *k, const struct lks_lock *l, size_t i,
                  const struct lks_outdated_opts *o, struct lks_outdated_row *r)
{
	struct pin_entry e = {0};
	int rc = k->entry(ctx, l, i, &e);
	const char *const *names = (const char *const *)e.names;
	rc = rc ? rc : off_platform(ctx, k, l, o, &e);
	if (rc == 0 && unselected(o, names, PIN_NAMES)) {
		rc = 1;
	}
	if (rc == 0) {
		r->rule = lks_policy_match(o->policy, k->name, names, PIN_NAMES);
		r->name = strdup(e.names[e.shown]);
		r->file = strdup(e.file);
		r->line = e.line;
		r->pinned = strdup(e.pinned);
		r->resolved_at = e.resolved_at;
		r->published_at = e.published_at;
		r->has_published_at = e.has_published_at;
		rc = r->name && r->file && r->pinned ? 0 : -ENOMEM;
	}
	pin_entry_free(&e);
	return rc;
}

void lks_outdated_opts_init(struct lks_outdated_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lock_path = LKS_LOCKFILE_NAME;
	o->window = LKS_WINDOW_DEFAULT;
	o->max_age = 3600;
	o->kinds = LKS_LOCK_ALL;
}

void lks_outdated_init(struct lks_outdated *r)
{
	memset(r, 0, sizeof(*r));
}

static void row_free(struct lks_outdated_row *r)
{
	free(r->file);
	free(r->name);
	free(r->pinned);
	lks_latest_free(&r->latest);
	memset(r, 0, sizeof(*r));
}

void lks_outdated_free(struct lks_outdated *r)
{
	for (size_t i = 0; r->v && i < r->n; i++) {
		row_free(&r->v[i]);
	}
	free(r->v);
	lks_outdated_init(r);
}

/* The flags of row r; a newer version within the cooldown does not count yet. */
static void row_flags(const struct lks_outdated_opts *o, struct lks_outdated *out,
                      struct lks_outdated_row *r)
{
	const struct lks_latest *l = &r->latest;
	bool young =
	    o->cooldown > 0 && l->has_published_at && out->now - l->published_at < o->cooldown;
	struct lks_pin_age a = {
	    .resolved_at = r->resolved_at,
	    .newer = l->state == LKS_PIN_NEWER && !young,
	    .behind_since = l->since,
	    .vanished = l->state == LKS_PIN_VANISHED,
	    .rule = r->rule,
	};
	r->flags = lks_pin_age_flags(&a, out->now, out->window);
	out->flagged += r->flags != 0;
}

/* Rows of one kind, appended to out (whose array has room). */
static int run_kind(struct latest_run *lr, const struct pin_kind *k, struct lks_outdated *out)
{
	struct lks_ctx *ctx = lr->ctx;
	const struct lks_lock *lock = lr->lock;
	const struct lks_outdated_opts *o = lr->o;
	size_t n = k->count(lock);
	struct lks_latest *latest = calloc(n ? n : 1, sizeof(*latest));
	int rc = latest ? k->latest(lr, latest) : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct lks_outdated_row *r = &out->v[out->n++];
		r->kind = k->name;
		rc = row_of(ctx, k, lock, i, o, r);
		if (rc != 0) {
			row_free(r); /* not selected by --package (1), or an error */
			out->n--;
			rc = rc > 0 ? 0 : rc;
			continue;
		}
		r->latest = latest[i];
		memset(&latest[i], 0, sizeof(latest[i]));
		row_flags(o, out, r);
	}
	for (size_t i = 0; latest && i < n; i++) {
		lks_latest_free(&latest[i]);
	}
	free(latest);
	return rc;
}

/* Rules that match no pin are probably stale or misspelt. */
static void warn_unused_rules(struct lks_ctx *ctx, const struct lks_policy *p,
                              const struct lks_outdated *out)
{
	for (size_t i = 0; p && i < p->n; i++) {
		size_t k = 0;
		while (k < out->n && out->v[k].rule != &p->rules[i]) {
			k++;
		}
		if (k == out->n) {
			lks_warn(ctx, "warning: %s: rules[%zu] '%s' matches no pin", p->path,
			         p->rules[i].index, p->rules[i].name);
		}
	}
}

int lks_outdated_run(struct lks_ctx *ctx, const struct lks_outdated_opts *o,
                     struct lks_outdated *out)
{
	struct lks_lock lock;
	struct lks_workspace ws;
	lks_lock_init(&lock);
	lks_ws_init(&ws);
	struct latest_run lr = {ctx, &ws, &lock, o};
	out->now = lks_now(ctx);
	out->window = o->window;
	/* A missing lock would look like "nothing outdated": CI must not pass on a wrong path. */
	int rc = lks_lock_recover(ctx, o->lock_path, NULL, 0);
	rc = rc                              ? rc
	     : access(o->lock_path, F_OK) == 0 ? lks_lock_load(ctx, o->lock_path, &lock)
	             : lks_err(ctx, -errno, "cannot read '%s': %s (run 'lockstep pin' first)",
	                       o->lock_path, strerror(errno));
	size_t total = 0;
	for (size_t k = 0; rc == 0 && k < pin_nkinds; k++) {
		total += o->kinds & pin_kinds[k]->mask ? pin_kinds[k]->count(&lock) : 0;
	}
	if (rc == 0 && !(out->v = calloc(total ? total : 1, sizeof(*out->v)))) {
		rc = -ENOMEM;
	}
	struct lks_imagefs_memo *memo = rc ? NULL : pin_image_memo(o->kinds, NULL, &lock);
	rc = rc || memo ? rc : -ENOMEM;
	ctx->imagefs_memo = memo;
	for (size_t k = 0; rc == 0 && k < pin_nkinds; k++) {
		if (o->kinds & pin_kinds[k]->mask) {
			rc = run_kind(&lr, pin_kinds[k], out);
		}
	}
	ctx->imagefs_memo = NULL;
	lks_imagefs_memo_free(memo);
	if (rc == 0 && !o->package) {
		warn_unused_rules(ctx, o->policy, out);
	}
	lks_ws_free(&ws);
	lks_lock_free(&lock);
	return rc;
}

/* ---- rendering ---- */

static const struct pin_kind *kind_of(const struct lks_outdated_row *r)
{
	for (size_t k = 0; k < pin_nkinds; k++) {
		if (!strcmp(pin_kinds[k]->name, r->kind)) {
			return pin_kinds[k];
		}
	}
	return pin_kinds[0];
}

static void day(time_t t, char out[static 21])
{
	lks_format_time(t, out);
	out[10] = '\0';
}

static const char *plural(long n)
{
	return n == 1 ? "" : "s";
}

/* What to say about a row: its flags, or (with --all) its state. */
static int reasons(const struct lks_outdated *o, const struct lks_outdated_row *r,
                   struct lks_buf *b)
{
	const struct lks_latest *l = &r->latest;
	char d[21];
	int rc = 0;
	const char *sep = "";
	if (l->state == LKS_PIN_NEWER) {
		const struct pin_kind *k = kind_of(r);
		day(l->since, d);
		rc = lks_buf_printf(b, "%s%s%s since %s%s", k->newer, k->versioned ? " " : "",
		                    k->versioned ? l->latest : "", d,
		                    r->flags & LKS_AGE_BEHIND || r->rule ? ""
		                                                         : " (within the window)");
		sep = "; ";
	}
	if (rc == 0 && l->detail) {
		rc = lks_buf_printf(b, "%s%s%s%s", sep, l->detail, l->action ? ": " : "",
		                    l->action ? l->action : "");
		sep = "; ";
	}
	if (rc == 0 && (r->flags & LKS_AGE_UNCHECKED)) {
		long n = lks_days_between(r->resolved_at, o->now);
		rc = lks_buf_printf(b, "%snot re-checked for %ld day%s", sep, n, plural(n));
		sep = "; ";
	}
	if (rc == 0 && r->rule) {
		const struct lks_policy_rule *p = r->rule;
		bool expired = r->flags & LKS_AGE_HOLD_EXPIRED;
		rc = p->action == LKS_POLICY_IGNORE
		         ? lks_buf_printf(b, "%signored: %s", sep, p->reason)
		         : lks_buf_printf(b, "%shold %s %s: %s%s", sep,
		                          expired ? "expired on" : "until", p->until_text,
		                          p->reason, expired ? " (extend or remove the rule)" : "");
		sep = "; ";
	}
	return rc == 0 && !*sep ? lks_buf_puts(b, "current") : rc;
}

/* The text name column: "python:3.12-slim", or "curl 7.88.1-10+deb12u8". */
static int name_width(const struct lks_outdated_row *r)
{
	int w = (int)strlen(r->name);
	return kind_of(r)->versioned ? w + 1 + (int)strlen(r->pinned) : w;
}

static int text_row(const struct lks_outdated *o, const struct lks_outdated_row *r, int wname,
                    struct lks_buf *b)
{
	char d[21];
	day(r->resolved_at, d);
	long age = lks_days_between(r->resolved_at, o->now);
	bool v = kind_of(r)->versioned;
	int rc = lks_buf_printf(b, "%-6s %s%s%s%*s  pinned %s (%ld day%s)  ", kind_of(r)->label,
	                        r->name, v ? " " : "", v ? r->pinned : "",
	                        wname > name_width(r) ? wname - name_width(r) : 0, "", d, age,
	                        plural(age));
	rc = rc ? rc : reasons(o, r, b);
	if (rc == 0 && r->line) {
		rc = lks_buf_printf(b, "  %s:%ld\n", r->file, r->line);
	} else if (rc == 0) {
		rc = lks_buf_printf(b, "  %s\n", r->file);
	}
	return rc;
}

int lks_outdated_text(const struct lks_outdated *r, bool all, struct lks_buf *out)
{
	int wname = 0, rc = 0;
	for (size_t i = 0; i < r->n; i++) {
		int w = name_width(&r->v[i]);
		wname = (all || r->v[i].flags) && w > wname && w < 80 ? w : wname;
	}
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		rc = all || r->v[i].flags ? text_row(r, &r->v[i], wname, out) : 0;
	}
	long days = r->window / 86400;
	if (rc == 0 && r->flagged) {
		rc = lks_buf_printf(out, "%zu of %zu pin%s outdated (%ld-day window)\n", r->flagged,
		                    r->n, plural((long)r->n), days);
	} else if (rc == 0) {
		rc = lks_buf_printf(out, "%zu pin%s, none outdated (%ld-day window)\n", r->n,
		                    plural((long)r->n), days);
	}
	return rc;
}

static json_t *jtime(time_t t)
{
	char s[21];
	lks_format_time(t, s);
	return json_string(s);
}

static const char *state_name(enum lks_pin_state s)
{
	static const char *const names[] = {"current", "newer", "vanished", "unknown", "untracked"};
	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static json_t *flags_json(unsigned flags)
{
	json_t *a = json_array();
	for (unsigned f = 1; a && f <= LKS_AGE_HOLD_EXPIRED; f <<= 1) {
		if (flags & f) {
			json_array_append_new(a, json_string(lks_age_flag_name(f)));
		}
	}
	return a;
}

static json_t *policy_json(const struct lks_policy_rule *p)
{
	if (!p) {
		return NULL;
	}
	return json_pack("{s:s, s:o*, s:o}", "action",
	                 p->action == LKS_POLICY_HOLD ? "hold" : "ignore", "until",
	                 p->until_text ? lks_json_bytes(p->until_text) : NULL, "reason",
	                 lks_json_bytes(p->reason));
}

static json_t *row_json(const struct lks_outdated *o, const struct lks_outdated_row *r)
{
	const struct lks_latest *l = &r->latest;
	bool newer = l->state == LKS_PIN_NEWER;
	/* Names, versions and details come from the lock, registries and indexes: any bytes. */
	json_t *j = json_pack(
	    "{s:s, s:o, s:o, s:o, s:o, s:s, s:I, s:o, s:o*, s:o*, s:o*, s:o*}", "kind", r->kind,
	    "file", lks_json_bytes(r->file), "name", lks_json_bytes(r->name), "pinned",
	    lks_json_bytes(r->pinned), "resolved_at", jtime(r->resolved_at), "state",
	    state_name(l->state), "checked_days",
	    (json_int_t)lks_days_between(r->resolved_at, o->now), "flags", flags_json(r->flags),
	    "published_at", r->has_published_at ? jtime(r->published_at) : NULL, "policy",
	    policy_json(r->rule), "detail", l->detail ? lks_json_bytes(l->detail) : NULL,
	    "action", l->action ? lks_json_bytes(l->action) : NULL);
	if (j && r->line) {
		json_object_set_new(j, "line", json_integer(r->line));
	}
	if (j && newer) {
		json_object_set_new(j, "latest", lks_json_bytes(l->latest));
		json_object_set_new(j, "behind_since", jtime(l->since));
		json_object_set_new(j, "behind_days",
		                    json_integer(lks_days_between(l->since, o->now)));
	}
	if (j && newer && l->has_published_at) {
		json_object_set_new(j, "latest_published_at", jtime(l->published_at));
	}
	return j;
}

int lks_outdated_json(struct lks_ctx *ctx, const struct lks_outdated *r, struct lks_buf *out)
{
	json_auto_t *pins = json_array();
	int rc = pins ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		if (json_array_append_new(pins, row_json(r, &r->v[i])) < 0) {
			rc = -ENOMEM;
		}
	}
	json_auto_t *root =
	    rc ? NULL
	       : json_pack("{s:i, s:o, s:I, s:I, s:I, s:O}", "version", 1, "now", jtime(r->now),
	                   "window_days", (json_int_t)(r->window / 86400), "window_seconds",
	                   (json_int_t)r->window, "flagged", (json_int_t)r->flagged, "pins", pins);
	if (rc == 0 && !root) {
		rc = -ENOMEM;
	}
	return rc ? rc : lks_json_dump_stable(ctx, root, out);
}
