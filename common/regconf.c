/* registries.conf (containers-registries.conf(5)) read as containers/image reads it, plus the
 * --registry-mirror option: loading, validation and merging. Matching is in regconf_match.c. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "common/regconf_int.h"
#include "common/toml.h"
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/regconf.h"
#include "lockstep/strv.h"

#define MAX_DROP_INS 256
#define MAX_REGISTRIES 4096

/* What a file is being read as: its name for messages, and the context. */
struct rd {
	struct lks_ctx *ctx;
	const char *name;
};

void lks_regconf_init(struct lks_regconf *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void regconf_endpoint_free(struct lks_regconf_endpoint *e)
{
	free(e->location);
	free(e->origin);
	memset(e, 0, sizeof(*e));
}

void regconf_registry_free(struct lks_regconf_registry *r)
{
	free(r->prefix);
	regconf_endpoint_free(&r->primary);
	for (size_t i = 0; i < r->n_mirrors; i++) {
		regconf_endpoint_free(&r->mirrors[i]);
	}
	free(r->mirrors);
	memset(r, 0, sizeof(*r));
}

/* Everything loaded (not the options, not the lock). */
static void regconf_clear(struct lks_regconf *c)
{
	for (size_t i = 0; i < c->n_regs; i++) {
		regconf_registry_free(&c->regs[i]);
	}
	free(c->regs);
	c->regs = NULL;
	c->n_regs = 0;
	lks_strv_free(c->search, c->n_search);
	lks_strv_free(c->cred_helpers, c->n_cred_helpers);
	lks_strv_free(c->alias_names, c->n_aliases);
	lks_strv_free(c->alias_values, c->n_aliases);
	c->search = c->cred_helpers = c->alias_names = c->alias_values = NULL;
	c->n_search = c->n_cred_helpers = c->n_aliases = 0;
	c->search_set = c->cred_helpers_set = false;
	free(c->short_name_mode);
	free(c->load_err);
	free(c->sources);
	c->short_name_mode = c->load_err = c->sources = NULL;
}

void lks_regconf_free(struct lks_regconf *c)
{
	if (!c) {
		return;
	}
	regconf_clear(c);
	lks_strv_free(c->options, c->n_options);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

/* ---- typed access to the TOML tree, with FILE:LINE messages ---- */

static int bad(const struct rd *r, const struct toml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(const struct rd *r, const struct toml_node *n, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return lks_err(r->ctx, -LKS_E_PARSE, "%s:%u: %s", r->name, n->line, msg);
}

/* Member key of t as a string: 0 (absent: *out NULL), or an error for another type. */
static int get_str(const struct rd *r, const struct toml_node *t, const char *key, char **out)
{
	const struct toml_node *n = toml_get(t, key);
	*out = NULL;
	if (!n) {
		return 0;
	}
	if (n->type != TOML_STRING || strlen(n->str) != n->len) {
		return bad(r, n, "'%s' must be a string%s%s", key,
		           n->type == TOML_STRING ? " without NUL" : ", not ",
		           n->type == TOML_STRING ? "" : toml_type_name(n->type));
	}
	*out = strdup(n->str);
	return *out ? 0 : -ENOMEM;
}

static int get_bool(const struct rd *r, const struct toml_node *t, const char *key, bool *out)
{
	const struct toml_node *n = toml_get(t, key);
	if (n && n->type != TOML_BOOL) {
		return bad(r, n, "'%s' must be true or false, not %s", key,
		           toml_type_name(n->type));
	}
	*out = n ? n->b : false;
	return 0;
}

/* An array of strings; *set tells whether the key was there at all. */
static int get_strv(const struct rd *r, const struct toml_node *t, const char *key, char ***v,
                    size_t *n, bool *set)
{
	const struct toml_node *a = toml_get(t, key);
	*v = NULL;
	*n = 0;
	*set = a != NULL;
	if (a && a->type != TOML_ARRAY) {
		return bad(r, a, "'%s' must be an array of strings, not %s", key,
		           toml_type_name(a->type));
	}
	for (size_t i = 0; a && i < a->n; i++) {
		const struct toml_node *s = a->kids[i];
		int rc = s->type == TOML_STRING && strlen(s->str) == s->len
		             ? lks_strv_push(v, n, 0, s->str, s->len)
		             : bad(r, s, "'%s' must be an array of strings", key);
		if (rc < 0) {
			lks_strv_free(*v, *n);
			*v = NULL;
			*n = 0;
			return rc;
		}
	}
	return 0;
}

/* ---- one [[registry]] table ---- */

/* containers/image's parseLocation: a trailing '/' dropped, no URL scheme. */
static int clean_location(const struct rd *r, const struct toml_node *n, char *s)
{
	size_t len = strlen(s);
	while (len && s[len - 1] == '/') {
		s[--len] = '\0';
	}
	if (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8)) {
		return bad(r, n,
		           "invalid location '%s': URI schemes are not supported (mark a "
		           "plain-HTTP registry with insecure = true)",
		           s);
	}
	return 0;
}

static int set_origin(const struct rd *r, const struct toml_node *n, char **origin)
{
	return asprintf(origin, "%s:%u", r->name, n->line) < 0 ? -ENOMEM : 0;
}

static int pull_from(const struct rd *r, const struct toml_node *t, enum lks_pull_from *out)
{
	_cleanup_free_ char *v = NULL;
	int rc = get_str(r, t, "pull-from-mirror", &v);
	*out = LKS_PULL_ALL;
	if (rc < 0 || !v || !*v || !strcmp(v, "all")) {
		return rc;
	}
	if (!strcmp(v, "digest-only") || !strcmp(v, "tag-only")) {
		*out = v[0] == 'd' ? LKS_PULL_DIGEST_ONLY : LKS_PULL_TAG_ONLY;
		return 0;
	}
	return bad(r, toml_get(t, "pull-from-mirror"),
	           "unsupported pull-from-mirror value '%s' (all, digest-only or tag-only)", v);
}

static int read_mirror(const struct rd *r, const struct toml_node *t, bool by_digest_only,
                       struct lks_regconf_endpoint *m)
{
	if (t->type != TOML_TABLE) {
		return bad(r, t, "each 'mirror' must be a table");
	}
	int rc = get_str(r, t, "location", &m->location);
	rc = rc ? rc : get_bool(r, t, "insecure", &m->insecure);
	rc = rc ? rc : pull_from(r, t, &m->pull);
	rc = rc ? rc : set_origin(r, t, &m->origin);
	if (rc < 0) {
		return rc;
	}
	if (!m->location || (rc = clean_location(r, t, m->location)) < 0 || !*m->location) {
		return rc ? rc : bad(r, t, "a mirror needs a location");
	}
	if (by_digest_only && toml_get(t, "pull-from-mirror")) {
		return bad(r, t,
		           "pull-from-mirror cannot be set when the registry has "
		           "mirror-by-digest-only");
	}
	return 0;
}

static int read_mirrors(const struct rd *r, const struct toml_node *t,
                        struct lks_regconf_registry *g)
{
	const struct toml_node *a = toml_get(t, "mirror");
	if (!a) {
		return 0;
	}
	if (a->type != TOML_ARRAY) {
		return bad(r, a, "'mirror' must be an array of tables ([[registry.mirror]])");
	}
	g->mirrors = calloc(a->n ? a->n : 1, sizeof(*g->mirrors));
	if (!g->mirrors) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->n; i++) {
		g->n_mirrors++;
		int rc = read_mirror(r, a->kids[i], g->mirror_by_digest_only, &g->mirrors[i]);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* A wildcard prefix is "*.host" and nothing more. */
static bool wildcard_ok(const char *p)
{
	return !strncmp(p, "*.", 2) && p[2] && !strpbrk(p + 1, "/@:*");
}

static int check_prefix(const struct rd *r, const struct toml_node *t,
                        struct lks_regconf_registry *g)
{
	if (!g->prefix) {
		if (!*g->primary.location) {
			return bad(r, t, "[[registry]] needs a prefix or a location");
		}
		if (!(g->prefix = strdup(g->primary.location))) {
			return -ENOMEM;
		}
	}
	int rc = clean_location(r, t, g->prefix);
	if (rc < 0) {
		return rc;
	}
	bool wild = !strncmp(g->prefix, "*.", 2);
	if (wild && !wildcard_ok(g->prefix)) {
		return bad(r, t, "wildcard prefix '%s' must be in the form *.example.com",
		           g->prefix);
	}
	if (!*g->prefix || (!wild && !*g->primary.location)) {
		return bad(r, t,
		           "[[registry]] with prefix '%s' needs a location (only a *.domain "
		           "prefix may leave it empty)",
		           g->prefix);
	}
	return 0;
}

static int read_registry(const struct rd *r, const struct toml_node *t,
                         struct lks_regconf_registry *g)
{
	if (t->type != TOML_TABLE) {
		return bad(r, t, "each 'registry' must be a table ([[registry]])");
	}
	if (toml_get(t, "pull-from-mirror")) {
		return bad(r, toml_get(t, "pull-from-mirror"),
		           "pull-from-mirror must not be set for a registry, only for its mirrors");
	}
	int rc = get_str(r, t, "prefix", &g->prefix);
	rc = rc ? rc : get_str(r, t, "location", &g->primary.location);
	rc = rc ? rc : get_bool(r, t, "insecure", &g->primary.insecure);
	rc = rc ? rc : get_bool(r, t, "blocked", &g->blocked);
	rc = rc ? rc : get_bool(r, t, "mirror-by-digest-only", &g->mirror_by_digest_only);
	rc = rc ? rc : set_origin(r, t, &g->primary.origin);
	if (rc == 0 && !g->primary.location && !(g->primary.location = strdup(""))) {
		rc = -ENOMEM;
	}
	rc = rc ? rc : clean_location(r, t, g->primary.location);
	rc = rc ? rc : check_prefix(r, t, g);
	return rc ? rc : read_mirrors(r, t, g);
}

/* ---- a whole file ---- */

struct parsed {
	struct lks_regconf_registry *regs;
	size_t n_regs;
	char **search, **creds;
	size_t n_search, n_creds;
	bool search_set, creds_set;
	char *mode;
	char **anames, **avalues;
	size_t n_aliases;
};

static void parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->n_regs; i++) {
		regconf_registry_free(&p->regs[i]);
	}
	free(p->regs);
	lks_strv_free(p->search, p->n_search);
	lks_strv_free(p->creds, p->n_creds);
	lks_strv_free(p->anames, p->n_aliases);
	lks_strv_free(p->avalues, p->n_aliases);
	free(p->mode);
}

static int add_registry(struct parsed *p, const char *location, struct lks_regconf_registry **out)
{
	for (size_t i = 0; i < p->n_regs; i++) {
		if (!strcmp(p->regs[i].prefix, location)) {
			*out = &p->regs[i];
			return 0;
		}
	}
	struct lks_regconf_registry *v = realloc(p->regs, (p->n_regs + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	p->regs = v;
	*out = memset(&v[p->n_regs++], 0, sizeof(*v));
	(*out)->prefix = strdup(location);
	(*out)->primary.location = strdup(location);
	return (*out)->prefix && (*out)->primary.location ? 0 : -ENOMEM;
}

/* [registries.search/insecure/block] registries = [...] (version 1), as ConvertToV2 does. */
static int read_v1(const struct rd *r, const struct toml_node *v1, struct parsed *p)
{
	static const char *const lists[] = {"block", "insecure", "search"};
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
		const struct toml_node *t = toml_get(v1, lists[k]);
		char **v;
		size_t n;
		bool set;
		int rc = get_strv(r, t, "registries", &v, &n, &set);
		for (size_t i = 0; rc == 0 && k < 2 && i < n; i++) {
			struct lks_regconf_registry *g;
			rc = clean_location(r, t, v[i]);
			rc = rc ? rc : add_registry(p, v[i], &g);
			if (rc == 0) {
				g->blocked |= k == 0;
				g->primary.insecure |= k == 1;
			}
		}
		if (rc < 0 || k < 2) {
			lks_strv_free(v, n);
		} else {
			p->search = v;
			p->n_search = n;
			p->search_set = set;
		}
		if (rc < 0) {
			return rc;
		}
	}
	for (size_t i = 0; i < p->n_regs; i++) {
		const char *pre = p->regs[i].prefix;
		if (!*pre) {
			return bad(r, v1, "an empty registry name in [registries.*]");
		}
		if (!strncmp(pre, "*.", 2) && !wildcard_ok(pre)) {
			return bad(r, v1, "wildcard '%s' must be in the form *.example.com", pre);
		}
		if (set_origin(r, v1, &p->regs[i].primary.origin) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

static int read_aliases(const struct rd *r, const struct toml_node *t, struct parsed *p)
{
	if (t && t->type != TOML_TABLE) {
		return bad(r, t, "'aliases' must be a table");
	}
	for (size_t i = 0; t && i < t->n; i++) {
		const struct toml_node *v = t->kids[i];
		if (v->type != TOML_STRING || strlen(v->str) != v->len) {
			return bad(r, v, "alias '%s' must be a string", v->key);
		}
		int rc = lks_strv_push(&p->anames, &p->n_aliases, 0, v->key, strlen(v->key));
		if (rc == 0) {
			size_t n = p->n_aliases - 1;
			rc = lks_strv_push(&p->avalues, &n, 0, v->str, v->len);
			if (rc < 0) {
				free(p->anames[--p->n_aliases]);
			}
		}
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int read_v2(const struct rd *r, const struct toml_node *root, struct parsed *p)
{
	const struct toml_node *regs = toml_get(root, "registry");
	if (regs && regs->type != TOML_ARRAY) {
		return bad(r, regs, "'registry' must be an array of tables ([[registry]])");
	}
	p->regs = calloc(regs && regs->n ? regs->n : 1, sizeof(*p->regs));
	if (!p->regs) {
		return -ENOMEM;
	}
	for (size_t i = 0; regs && i < regs->n; i++) {
		p->n_regs++;
		int rc = read_registry(r, regs->kids[i], &p->regs[i]);
		if (rc < 0) {
			return rc;
		}
	}
	int rc = get_strv(r, root, "unqualified-search-registries", &p->search, &p->n_search,
	                  &p->search_set);
	rc = rc ? rc
	        : get_strv(r, root, "credential-helpers", &p->creds, &p->n_creds, &p->creds_set);
	rc = rc ? rc : get_str(r, root, "short-name-mode", &p->mode);
	if (rc == 0 && p->mode && *p->mode && strcmp(p->mode, "enforcing") &&
	    strcmp(p->mode, "permissive") && strcmp(p->mode, "disabled")) {
		rc = bad(r, toml_get(root, "short-name-mode"),
		         "invalid short-name-mode '%s' (enforcing, permissive or disabled)",
		         p->mode);
	}
	return rc ? rc : read_aliases(r, toml_get(root, "aliases"), p);
}

/* The same host given twice with different insecure or blocked settings is an error. */
static int check_conflicts(const struct rd *r, const struct toml_node *root, struct parsed *p)
{
	for (size_t i = 0; i < p->n_regs; i++) {
		const struct lks_regconf_registry *a = &p->regs[i];
		const char *ka = *a->primary.location ? a->primary.location : a->prefix;
		for (size_t j = i + 1; j < p->n_regs; j++) {
			const struct lks_regconf_registry *b = &p->regs[j];
			const char *kb = *b->primary.location ? b->primary.location : b->prefix;
			if (strcmp(ka, kb)) {
				continue;
			}
			if (a->primary.insecure != b->primary.insecure ||
			    a->blocked != b->blocked) {
				return lks_err(r->ctx, -LKS_E_PARSE,
				               "%s: registry '%s' is defined more than once with "
				               "conflicting '%s' settings (%s, %s)",
				               r->name, ka,
				               a->blocked != b->blocked ? "blocked" : "insecure",
				               a->primary.origin, b->primary.origin);
			}
		}
	}
	return 0;
}

/* The first table of a prefix wins within one file (later ones are ignored, as
 * containers/image does). */
static void dedupe(struct parsed *p)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n_regs; i++) {
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++) {
			seen = !strcmp(p->regs[j].prefix, p->regs[i].prefix);
		}
		if (seen) {
			regconf_registry_free(&p->regs[i]);
		} else {
			p->regs[k++] = p->regs[i];
		}
	}
	p->n_regs = k;
}

static int read_file(const struct rd *r, const struct toml_node *root, bool drop_in,
                     struct parsed *p)
{
	const struct toml_node *v1 = toml_get(root, "registries");
	bool v2 = toml_get(root, "registry") || toml_get(root, "unqualified-search-registries") ||
	          toml_get(root, "credential-helpers") || toml_get(root, "short-name-mode") ||
	          toml_get(root, "aliases");
	if (v1 && v1->type != TOML_TABLE) {
		return bad(r, v1, "'registries' must be a table (version 1 format)");
	}
	if (v1 && drop_in) {
		return bad(r, v1,
		           "a drop-in file must use the version 2 format ([[registry]]), "
		           "not [registries.*]");
	}
	if (v1 && v2) {
		return bad(r, v1,
		           "mixing the version 1 ([registries.*]) and version 2 formats is "
		           "not supported");
	}
	int rc = v1 ? read_v1(r, v1, p) : read_v2(r, root, p);
	rc = rc ? rc : check_conflicts(r, root, p);
	if (rc == 0) {
		dedupe(p);
		if (p->n_regs > MAX_REGISTRIES) {
			rc = lks_err(r->ctx, -LKS_E_TOOBIG, "%s: more than %d registries", r->name,
			             MAX_REGISTRIES);
		}
	}
	return rc;
}

/* ---- merging: a later file replaces tables by prefix and lists it sets ---- */

static int merge_regs(struct lks_regconf *c, struct parsed *p)
{
	for (size_t i = 0; i < p->n_regs; i++) {
		struct lks_regconf_registry *slot = NULL;
		for (size_t j = 0; j < c->n_regs && !slot; j++) {
			slot = strcmp(c->regs[j].prefix, p->regs[i].prefix) ? NULL : &c->regs[j];
		}
		if (slot) {
			regconf_registry_free(slot);
		} else {
			if (c->n_regs >= MAX_REGISTRIES) {
				return -LKS_E_TOOBIG;
			}
			struct lks_regconf_registry *v =
			    realloc(c->regs, (c->n_regs + 1) * sizeof(*v));
			if (!v) {
				return -ENOMEM;
			}
			c->regs = v;
			slot = &v[c->n_regs++];
		}
		*slot = p->regs[i];
		memset(&p->regs[i], 0, sizeof(p->regs[i]));
	}
	p->n_regs = 0;
	return 0;
}

static void take_strv(char ***dst, size_t *dn, char ***src, size_t *sn)
{
	lks_strv_free(*dst, *dn);
	*dst = *src;
	*dn = *sn;
	*src = NULL;
	*sn = 0;
}

static int merge_alias(struct lks_regconf *c, char *name, char *value)
{
	for (size_t i = 0; i < c->n_aliases; i++) {
		if (strcmp(c->alias_names[i], name)) {
			continue;
		}
		free(c->alias_values[i]);
		c->alias_values[i] = value;
		free(name);
		return 0;
	}
	char **n = realloc(c->alias_names, (c->n_aliases + 1) * sizeof(*n));
	if (n) {
		c->alias_names = n;
	}
	char **v = n ? realloc(c->alias_values, (c->n_aliases + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(name);
		free(value);
		return -ENOMEM;
	}
	c->alias_values = v;
	c->alias_names[c->n_aliases] = name;
	c->alias_values[c->n_aliases++] = value;
	return 0;
}

/* An alias set to "" is erased (containers-registries.conf(5)). */
static void drop_empty_aliases(struct lks_regconf *c)
{
	size_t k = 0;
	for (size_t i = 0; i < c->n_aliases; i++) {
		if (*c->alias_values[i]) {
			c->alias_names[k] = c->alias_names[i];
			c->alias_values[k++] = c->alias_values[i];
		} else {
			free(c->alias_names[i]);
			free(c->alias_values[i]);
		}
	}
	c->n_aliases = k;
}

static int merge(struct lks_regconf *c, struct parsed *p)
{
	int rc = merge_regs(c, p);
	if (p->search_set) {
		take_strv(&c->search, &c->n_search, &p->search, &p->n_search);
		c->search_set = true;
	}
	if (p->creds_set) {
		take_strv(&c->cred_helpers, &c->n_cred_helpers, &p->creds, &p->n_creds);
		c->cred_helpers_set = true;
	}
	if (p->mode && *p->mode) {
		free(c->short_name_mode);
		c->short_name_mode = TAKE_PTR(p->mode);
	}
	for (size_t i = 0; i < p->n_aliases && rc == 0; i++) {
		rc = merge_alias(c, TAKE_PTR(p->anames[i]), TAKE_PTR(p->avalues[i]));
	}
	drop_empty_aliases(c);
	return rc;
}

int lks_regconf_parse(struct lks_ctx *ctx, struct lks_regconf *c, const char *name,
                      const char *data, size_t len, bool drop_in)
{
	struct toml_node *root = NULL;
	struct rd r = {.ctx = ctx, .name = name};
	struct parsed p = {0};
	int rc = toml_parse(ctx, name, data, len, &root);
	rc = rc ? rc : read_file(&r, root, drop_in, &p);
	if (rc == 0 && (rc = merge(c, &p)) < 0) {
		rc = lks_err(ctx, rc, "%s: %s", name,
		             rc == -ENOMEM ? "out of memory" : "too many registries");
	}
	parsed_free(&p);
	toml_free(root);
	return rc;
}

/* ---- files and directories ---- */

static int add_source(struct lks_regconf *c, const char *path)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s", c->sources ? c->sources : "", c->sources ? ", " : "", path) <
	    0) {
		return -ENOMEM;
	}
	free(c->sources);
	c->sources = s;
	return 0;
}

/* 1 when read, 0 when missing (and not required), or an error. */
static int load_file(struct lks_ctx *ctx, struct lks_regconf *c, const char *path, bool required,
                     bool drop_in)
{
	struct lks_buf b;
	lks_buf_init(&b, TOML_MAX_BYTES + 1);
	int rc = lks_read_file_optional(ctx, path, "registries configuration", &b);
	if (rc == 0 && required) {
		rc = lks_err(ctx, -ENOENT,
		             "cannot read registries configuration '%s' "
		             "($CONTAINERS_REGISTRIES_CONF): no such file",
		             path);
	}
	if (rc == -LKS_E_TOOBIG) {
		rc = lks_err(ctx, rc, "%s: larger than %zu bytes", path, TOML_MAX_BYTES);
	}
	if (rc > 0) {
		rc = lks_regconf_parse(ctx, c, path, b.data, b.len, drop_in);
		rc = rc ? rc : add_source(c, path);
		rc = rc ? rc : 1;
	}
	lks_buf_free(&b);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf entries of dir that are not directories, in name order. */
static int list_drop_ins(struct lks_ctx *ctx, const char *dir, char ***v, size_t *n)
{
	DIR *d = opendir(dir);
	if (!d) {
		return errno == ENOENT || errno == ENOTDIR
		           ? 0
		           : lks_err(ctx, -errno, "cannot read registries.conf.d '%s': %s", dir,
		                     strerror(errno));
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".conf") || e->d_type == DT_DIR) {
			continue;
		}
		rc = lks_strv_push(v, n, MAX_DROP_INS, e->d_name, len);
		if (rc == -LKS_E_TOOBIG) {
			rc = lks_err(ctx, rc, "more than %d files in '%s'", MAX_DROP_INS, dir);
		}
	}
	closedir(d);
	if (*n) {
		qsort(*v, *n, sizeof(**v), name_cmp);
	}
	return rc;
}

static int load_dir(struct lks_ctx *ctx, struct lks_regconf *c, const char *dir)
{
	char **names = NULL;
	size_t n = 0;
	int rc = list_drop_ins(ctx, dir, &names, &n);
	for (size_t i = 0; i < n && rc >= 0; i++) {
		_cleanup_free_ char *path = NULL;
		struct stat st;
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			rc = -ENOMEM;
		} else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			continue; /* a symlink to a directory */
		} else {
			rc = load_file(ctx, c, path, false, true);
		}
	}
	lks_strv_free(names, n);
	return rc < 0 ? rc : 0;
}

/* ---- --registry-mirror and $LOCKSTEP_REGISTRY_MIRROR ---- */

/* "docker.io" for Docker Hub's other names, as a prefix or at its start. */
static char *hub_prefix(const char *p, size_t n)
{
	static const char *const aliases[] = {"index.docker.io", "registry-1.docker.io"};
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
		size_t an = strlen(aliases[i]);
		if (n >= an && !strncmp(p, aliases[i], an) && (n == an || p[an] == '/')) {
			char *s = NULL;
			return asprintf(&s, "docker.io%.*s", (int)(n - an), p + an) < 0 ? NULL : s;
		}
	}
	return strndup(p, n);
}

/* host[:port][/namespace...] whose host a reference would take for a domain. */
static bool location_ok(const char *loc)
{
	size_t hn = strcspn(loc, "/");
	if (hn == 0 ||
	    loc[strspn(loc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                    "-._:/[]")] != '\0') {
		return false;
	}
	return memchr(loc, '.', hn) || memchr(loc, ':', hn) ||
	       (hn == 9 && !strncmp(loc, "localhost", 9));
}

static int spec_err(struct lks_ctx *ctx, const char *origin, const char *spec, const char *why)
{
	return lks_err(ctx, -LKS_E_INVAL, "%s '%s': %s", origin, spec, why);
}

/* Split "REGISTRY=URL" (or "URL": Docker Hub) into a prefix and a mirror endpoint. */
int regconf_parse_mirror(struct lks_ctx *ctx, const char *spec, const char *origin, char **prefix,
                         struct lks_regconf_endpoint *ep)
{
	const char *eq = strchr(spec, '=');
	const char *url = eq ? eq + 1 : spec;
	const char *reg = eq ? spec : "docker.io";
	size_t rn = eq ? (size_t)(eq - spec) : strlen(reg);
	memset(ep, 0, sizeof(*ep));
	*prefix = NULL;
	const char *scheme = strstr(spec, "://");
	if (rn == 0 || (eq && scheme && scheme < eq) || strcspn(reg, " \t\n") < rn) {
		return spec_err(ctx, origin, spec,
		                "expected REGISTRY=URL (e.g. "
		                "docker.io=https://mirror.example.com)");
	}
	bool http = !strncmp(url, "http://", 7);
	url += http ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
	if (strstr(url, "://")) {
		return spec_err(ctx, origin, spec, "a mirror URL is http:// or https://");
	}
	if (strpbrk(url, "@?#")) {
		return spec_err(ctx, origin, spec,
		                strchr(url, '@') ? "credentials do not belong "
		                                   "in a mirror URL (docker "
		                                   "config.json has them)"
		                                 : "a mirror URL has no query or "
		                                   "fragment");
	}
	size_t ln = strlen(url);
	while (ln && url[ln - 1] == '/') {
		ln--;
	}
	ep->location = strndup(url, ln);
	ep->origin = strdup(origin);
	*prefix = hub_prefix(reg, rn);
	if (!ep->location || !ep->origin || !*prefix) {
		return -ENOMEM;
	}
	if (!strncmp(*prefix, "*.", 2) && !wildcard_ok(*prefix)) {
		return spec_err(ctx, origin, spec, "a wildcard registry is *.example.com");
	}
	if (!location_ok(ep->location)) {
		return spec_err(ctx, origin, spec,
		                "the mirror must be host[:port][/path] with a "
		                "host name containing '.' or a :port");
	}
	char host[256];
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(ep->location, "/"), ep->location);
	ep->insecure = http || lks_host_is_insecure_ok(NULL, host);
	return 0;
}

int lks_regconf_add_mirror(struct lks_ctx *ctx, const char *spec)
{
	char *prefix;
	struct lks_regconf_endpoint ep;
	int rc = regconf_parse_mirror(ctx, spec, "--registry-mirror", &prefix, &ep);
	free(prefix);
	regconf_endpoint_free(&ep);
	if (rc == 0 && !ctx->regconf) {
		rc = lks_err(ctx, -LKS_E_INVAL,
		             "--registry-mirror: no configuration in this context");
	}
	struct lks_regconf *c = ctx->regconf;
	return rc ? rc : lks_strv_push(&c->options, &c->n_options, 0, spec, strlen(spec));
}

/* Put ep in front of the mirrors of the table with exactly this prefix, after those the
 * options put there before (k of them), making that table when needed. Takes ep. */
static int add_option_mirror(struct lks_ctx *ctx, struct lks_regconf *c, const char *prefix,
                             struct lks_regconf_endpoint *ep, size_t k)
{
	struct lks_regconf_registry *g = regconf_exact(c, prefix);
	int rc = g ? 0 : regconf_specialize(ctx, c, prefix, &g);
	struct lks_regconf_endpoint *v =
	    rc ? NULL : realloc(g->mirrors, (g->n_mirrors + 1) * sizeof(*v));
	if (!v) {
		regconf_endpoint_free(ep);
		return rc ? rc : -ENOMEM;
	}
	g->mirrors = v;
	memmove(&v[k + 1], &v[k], (g->n_mirrors - k) * sizeof(*v));
	v[k] = *ep;
	g->n_mirrors++;
	if (g->mirror_by_digest_only) {
		/* the option is explicit: its mirror serves tags too */
		for (size_t i = 0; i < g->n_mirrors; i++) {
			g->mirrors[i].pull = i == k ? LKS_PULL_ALL : LKS_PULL_DIGEST_ONLY;
		}
		g->mirror_by_digest_only = false;
	}
	return 0;
}

static int apply_options(struct lks_ctx *ctx, struct lks_regconf *c, char **specs, size_t n,
                         const char *origin)
{
	for (size_t i = 0; i < n; i++) {
		char *prefix;
		struct lks_regconf_endpoint ep;
		int rc = regconf_parse_mirror(ctx, specs[i], origin, &prefix, &ep);
		size_t k = 0; /* option mirrors already in front for this prefix */
		for (size_t j = 0; rc == 0 && j < i; j++) {
			char *pj;
			struct lks_regconf_endpoint ej;
			rc = regconf_parse_mirror(ctx, specs[j], origin, &pj, &ej);
			k += rc == 0 && !strcmp(pj, prefix);
			free(pj);
			regconf_endpoint_free(&ej);
		}
		rc = rc ? rc : add_option_mirror(ctx, c, prefix, &ep, k);
		if (rc < 0) {
			regconf_endpoint_free(&ep);
		}
		free(prefix);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* The option values, else the variable's (comma- or space-separated). */
static int options(struct lks_ctx *ctx, struct lks_regconf *c)
{
	if (c->n_options) {
		return apply_options(ctx, c, c->options, c->n_options, "--registry-mirror");
	}
	const char *env = getenv(LKS_REGCONF_ENV_MIRROR);
	char **v = NULL;
	size_t n = 0;
	int rc = 0;
	for (const char *p = env ? env : ""; *p && rc == 0;) {
		size_t w = strcspn(p, ", \t\n");
		rc = w ? lks_strv_push(&v, &n, 64, p, w) : 0;
		p += w + (p[w] != '\0');
	}
	if (rc == -LKS_E_TOOBIG) {
		rc = lks_err(ctx, rc, "%s: more than 64 mirrors", LKS_REGCONF_ENV_MIRROR);
	}
	rc = rc ? rc : apply_options(ctx, c, v, n, LKS_REGCONF_ENV_MIRROR);
	lks_strv_free(v, n);
	return rc;
}

bool lks_regconf_has_options(const struct lks_regconf *c)
{
	if (!c) {
		return false;
	}
	const char *env = getenv(LKS_REGCONF_ENV_MIRROR);
	return c->n_options || (env && env[strspn(env, ", \t\n")]);
}

int lks_regconf_load(struct lks_ctx *ctx, struct lks_regconf *c, const char *main_path,
                     bool main_required, const char *const *dirs)
{
	regconf_clear(c);
	int rc = main_path ? load_file(ctx, c, main_path, main_required, false) : 0;
	for (size_t i = 0; rc >= 0 && dirs && dirs[i]; i++) {
		rc = load_dir(ctx, c, dirs[i]);
	}
	rc = rc < 0 ? rc : options(ctx, c);
	if (rc == 0 && !c->sources && !(c->sources = strdup(""))) {
		rc = -ENOMEM;
	}
	return rc;
}

#define SYSTEM_FILE "/etc/containers/registries.conf"
#define SYSTEM_DIR "/etc/containers/registries.conf.d"

/* The files containers/image would read (sysregistriesv2's configWrapper). */
static int load_default(struct lks_ctx *ctx, struct lks_regconf *c)
{
	const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
	if (!env || !*env) {
		env = getenv("REGISTRIES_CONFIG_PATH");
	}
	const char *home = getenv("HOME");
	_cleanup_free_ char *ufile = NULL, *udir = NULL;
	if (home && *home &&
	    (asprintf(&ufile, "%s/.config/containers/registries.conf", home) < 0 ||
	     asprintf(&udir, "%s/.config/containers/registries.conf.d", home) < 0)) {
		return -ENOMEM;
	}
	struct stat st;
	if (env && *env) {
		const char *dirs[] = {SYSTEM_DIR, udir, NULL};
		return lks_regconf_load(ctx, c, env, true, dirs);
	}
	if (ufile && stat(ufile, &st) == 0) {
		const char *dirs[] = {udir, NULL};
		return lks_regconf_load(ctx, c, ufile, false, dirs);
	}
	const char *dirs[] = {SYSTEM_DIR, udir, NULL};
	return lks_regconf_load(ctx, c, SYSTEM_FILE, false, dirs);
}

int lks_regconf_get(struct lks_ctx *ctx, const struct lks_regconf **out)
{
	struct lks_regconf *c = ctx->regconf;
	*out = c;
	if (!c) {
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	if (!c->loaded) {
		c->loaded = true;
		c->load_rc = load_default(ctx, c);
		if (c->load_rc < 0) {
			c->load_err = strdup(lks_errmsg(ctx, c->load_rc));
		}
	}
	int rc = c->load_rc;
	if (rc < 0) {
		lks_err(ctx, rc, "%s", c->load_err ? c->load_err : lks_strerror(rc));
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}
