/* registries.conf in use: which table an image name falls under, the places to pull it from
 * (mirrors, then the location), and the configuration written out for builders. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/regconf_int.h"
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/oci_ref.h"
#include "lockstep/regconf.h"

#define REGCONF_WRITE_MAX ((size_t)4 << 20)

static bool boundary(char c)
{
	return c == '\0' || c == ':' || c == '/' || c == '@';
}

long regconf_match(const char *name, const char *prefix)
{
	if (!strncmp(prefix, "*.", 2)) {
		const char *dom = prefix + 1; /* ".example.com" */
		const char *hit = strstr(name, dom);
		if (!hit || memchr(name, '/', (size_t)(hit - name))) {
			return -1;
		}
		size_t end = (size_t)(hit - name) + strlen(dom);
		return boundary(name[end]) ? (long)end : -1;
	}
	size_t n = strlen(prefix);
	return !strncmp(name, prefix, n) && boundary(name[n]) ? (long)n : -1;
}

/* The index of the table with the longest prefix matching name, or -1. */
static long find_index(const struct lks_regconf *c, const char *name)
{
	long best = -1;
	size_t best_len = 0;
	for (size_t i = 0; c && i < c->n_regs; i++) {
		size_t len = strlen(c->regs[i].prefix);
		if (len > best_len && regconf_match(name, c->regs[i].prefix) >= 0) {
			best = (long)i;
			best_len = len;
		}
	}
	return best;
}

const struct lks_regconf_registry *lks_regconf_find(const struct lks_regconf *c, const char *name)
{
	long i = find_index(c, name);
	return i < 0 ? NULL : &c->regs[i];
}

struct lks_regconf_registry *regconf_exact(struct lks_regconf *c, const char *prefix)
{
	for (size_t i = 0; i < c->n_regs; i++) {
		if (!strcmp(c->regs[i].prefix, prefix)) {
			return &c->regs[i];
		}
	}
	return NULL;
}

/* Where name goes through endpoint location (rewriteReference): the matched part replaced. */
static char *rewrite(const char *location, const char *name, long matched)
{
	char *s = NULL;
	if (!*location) {
		return strdup(name); /* a wildcard prefix without location: as is */
	}
	return asprintf(&s, "%s%s", location, name + matched) < 0 ? NULL : s;
}

static int endpoint_copy(const struct lks_regconf_endpoint *e, const char *name, long matched,
                         struct lks_regconf_endpoint *out)
{
	*out = *e;
	out->location = rewrite(e->location, name, matched);
	out->origin = e->origin ? strdup(e->origin) : NULL;
	return out->location && (out->origin || !e->origin) ? 0 : -ENOMEM;
}

static int specialize_from(const struct lks_regconf_registry *m, const char *prefix,
                           struct lks_regconf_registry *g)
{
	long matched = regconf_match(prefix, m->prefix);
	g->blocked = m->blocked;
	g->mirror_by_digest_only = m->mirror_by_digest_only;
	int rc = endpoint_copy(&m->primary, prefix, matched, &g->primary);
	g->mirrors = calloc(m->n_mirrors ? m->n_mirrors : 1, sizeof(*g->mirrors));
	if (rc < 0 || !g->mirrors) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n_mirrors && rc == 0; i++) {
		rc = endpoint_copy(&m->mirrors[i], prefix, matched, &g->mirrors[i]);
		g->n_mirrors += rc == 0;
	}
	return rc;
}

int regconf_specialize(struct lks_ctx *ctx, struct lks_regconf *c, const char *prefix,
                       struct lks_regconf_registry **out)
{
	long mi = find_index(c, prefix);
	struct lks_regconf_registry *v = realloc(c->regs, (c->n_regs + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	c->regs = v;
	const struct lks_regconf_registry *m = mi >= 0 ? &v[mi] : NULL;
	struct lks_regconf_registry *g = memset(&v[c->n_regs], 0, sizeof(*g));
	int rc = (g->prefix = strdup(prefix)) ? 0 : -ENOMEM;
	if (rc == 0 && m) {
		rc = specialize_from(m, prefix, g);
	} else if (rc == 0) {
		/* a *.domain prefix leaves names as they are */
		g->primary.location = strdup(strncmp(prefix, "*.", 2) ? prefix : "");
		g->primary.origin = strdup("--registry-mirror");
		rc = g->primary.location && g->primary.origin ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		regconf_registry_free(g);
		return lks_err(ctx, rc, "out of memory");
	}
	c->n_regs++;
	*out = g;
	return 0;
}

/* ---- pull sources ---- */

void lks_pull_sources_free(struct lks_pull_source *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		lks_oci_ref_free(&s[i].ref);
		free(s[i].blocked);
		free(s[i].label);
	}
	free(s);
}

static bool mirror_allowed(const struct lks_regconf_registry *g,
                           const struct lks_regconf_endpoint *m, bool by_digest)
{
	if (g->mirror_by_digest_only) {
		return by_digest;
	}
	return m->pull == LKS_PULL_ALL || (m->pull == LKS_PULL_DIGEST_ONLY) == by_digest;
}

/* The physical reference for name (domain and path only). */
static int physical(struct lks_ctx *ctx, const char *name, const char *origin,
                    struct lks_oci_ref *out)
{
	int rc = strchr(name, '/') ? lks_oci_ref_parse(ctx, name, out) : -LKS_E_INVAL;
	if (rc < 0) {
		return lks_err(ctx, rc,
		               "registries configuration (%s) sends images to '%s', which is "
		               "not host/repository",
		               origin ? origin : "?", name);
	}
	free(out->tag);
	free(out->digest);
	out->tag = out->digest = NULL;
	out->implicit_tag = false;
	return 0;
}

static int label_for(struct lks_pull_source *s, const struct lks_regconf_registry *g,
                     const struct lks_regconf_endpoint *e, const char *name)
{
	int n;
	if (s->mirror) {
		n = asprintf(&s->label, "mirror '%s' of '%s'", e->location, g->prefix);
	} else if (*e->location && strcmp(e->location, g->prefix)) {
		n = asprintf(&s->label, "registry '%s' (the location of '%s')", e->location,
		             g->prefix);
	} else {
		n = asprintf(&s->label, "registry '%s'", s->ref.domain);
	}
	return n < 0 ? -ENOMEM : 0;
}

static int one_source(struct lks_ctx *ctx, const struct lks_regconf *c,
                      const struct lks_regconf_registry *g, const struct lks_regconf_endpoint *e,
                      const char *name, struct lks_pull_source *s)
{
	_cleanup_free_ char *phys = rewrite(e->location, name, regconf_match(name, g->prefix));
	if (!phys) {
		return -ENOMEM;
	}
	int rc = physical(ctx, phys, e->origin, &s->ref);
	rc = rc ? rc : label_for(s, g, e, name);
	if (rc < 0) {
		return rc;
	}
	s->insecure = e->insecure;
	_cleanup_free_ char *pname = lks_oci_ref_format(&s->ref, LKS_OCI_REF_NAME);
	const struct lks_regconf_registry *h = pname ? lks_regconf_find(c, pname) : NULL;
	if (!pname) {
		return -ENOMEM;
	}
	if (h && h->blocked &&
	    asprintf(&s->blocked, "registry '%s' is blocked in the registries configuration (%s)",
	             h->prefix, h->primary.origin ? h->primary.origin : c->sources) < 0) {
		return -ENOMEM;
	}
	return 0;
}

static int default_source(const struct lks_oci_ref *ref, struct lks_pull_source *s)
{
	int rc = lks_oci_ref_copy(ref, &s->ref);
	if (rc == 0) {
		free(s->ref.tag);
		free(s->ref.digest);
		s->ref.tag = s->ref.digest = NULL;
	}
	return rc ? rc : asprintf(&s->label, "registry '%s'", ref->domain) < 0 ? -ENOMEM : 0;
}

int lks_regconf_sources(struct lks_ctx *ctx, const struct lks_regconf *c,
                        const struct lks_oci_ref *ref, bool by_digest, struct lks_pull_source **out,
                        size_t *n)
{
	_cleanup_free_ char *name = lks_oci_ref_format(ref, LKS_OCI_REF_NAME);
	const struct lks_regconf_registry *g = name ? lks_regconf_find(c, name) : NULL;
	size_t cap = g ? g->n_mirrors + 1 : 1, k = 0;
	struct lks_pull_source *s = calloc(cap, sizeof(*s));
	int rc = name && s ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && g && i < g->n_mirrors; i++) {
		if (mirror_allowed(g, &g->mirrors[i], by_digest)) {
			s[k].mirror = true;
			rc = one_source(ctx, c, g, &g->mirrors[i], name, &s[k++]);
		}
	}
	if (rc == 0) {
		rc = g ? one_source(ctx, c, g, &g->primary, name, &s[k++])
		       : default_source(ref, &s[k++]);
	}
	if (rc < 0) {
		lks_pull_sources_free(s, k);
		return rc == -ENOMEM ? lks_err(ctx, rc, "out of memory") : rc;
	}
	*out = s;
	*n = k;
	return 0;
}

/* ---- written out for builders ---- */

static int put_str(struct lks_buf *b, const char *s)
{
	int rc = lks_buf_putc(b, '"');
	for (; *s && rc == 0; s++) {
		unsigned char ch = (unsigned char)*s;
		rc = ch == '"' || ch == '\\'   ? lks_buf_printf(b, "\\%c", ch)
		     : ch < 0x20 || ch == 0x7f ? lks_buf_printf(b, "\\u%04x", ch)
		                               : lks_buf_putc(b, (char)ch);
	}
	return rc ? rc : lks_buf_putc(b, '"');
}

static int put_strv(struct lks_buf *b, const char *key, char **v, size_t n)
{
	int rc = lks_buf_printf(b, "%s = [", key);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = lks_buf_puts(b, i ? ", " : "");
		rc = rc ? rc : put_str(b, v[i]);
	}
	return rc ? rc : lks_buf_puts(b, "]\n");
}

static int put_kv(struct lks_buf *b, const char *key, const char *v)
{
	int rc = lks_buf_printf(b, "%s = ", key);
	rc = rc ? rc : put_str(b, v);
	return rc ? rc : lks_buf_putc(b, '\n');
}

static int put_endpoint(struct lks_buf *b, const struct lks_regconf_endpoint *e, bool mirror)
{
	static const char *const pulls[] = {"all", "digest-only", "tag-only"};
	int rc = mirror ? lks_buf_puts(b, "\n[[registry.mirror]]\n") : 0;
	rc = rc ? rc : put_kv(b, "location", e->location);
	if (rc == 0 && e->insecure) {
		rc = lks_buf_puts(b, "insecure = true\n");
	}
	if (rc == 0 && mirror && e->pull != LKS_PULL_ALL) {
		rc = put_kv(b, "pull-from-mirror", pulls[e->pull]);
	}
	return rc;
}

static int put_registry(struct lks_buf *b, const struct lks_regconf_registry *g)
{
	int rc = lks_buf_puts(b, "\n[[registry]]\n");
	rc = rc ? rc : put_kv(b, "prefix", g->prefix);
	rc = rc ? rc : put_endpoint(b, &g->primary, false);
	if (rc == 0 && g->blocked) {
		rc = lks_buf_puts(b, "blocked = true\n");
	}
	if (rc == 0 && g->mirror_by_digest_only) {
		rc = lks_buf_puts(b, "mirror-by-digest-only = true\n");
	}
	for (size_t i = 0; i < g->n_mirrors && rc == 0; i++) {
		rc = put_endpoint(b, &g->mirrors[i], true);
	}
	return rc;
}

int lks_regconf_render(const struct lks_regconf *c, struct lks_buf *b)
{
	const char *from = c->sources ? c->sources : "";
	int rc =
	    lks_buf_printf(b,
	                   "# Written by lockstep for the builder: the registries "
	                   "configuration lockstep uses\n# (%s%smirrors from --registry-mirror or "
	                   "$%s).\n",
	                   from, *from ? "; " : "", LKS_REGCONF_ENV_MIRROR);
	if (rc == 0 && c->search_set) {
		rc = put_strv(b, "unqualified-search-registries", c->search, c->n_search);
	}
	if (rc == 0 && c->cred_helpers_set) {
		rc = put_strv(b, "credential-helpers", c->cred_helpers, c->n_cred_helpers);
	}
	if (rc == 0 && c->short_name_mode) {
		rc = put_kv(b, "short-name-mode", c->short_name_mode);
	}
	for (size_t i = 0; i < c->n_regs && rc == 0; i++) {
		rc = put_registry(b, &c->regs[i]);
	}
	if (rc == 0 && c->n_aliases) {
		rc = lks_buf_puts(b, "\n[aliases]\n");
	}
	for (size_t i = 0; i < c->n_aliases && rc == 0; i++) {
		rc = put_str(b, c->alias_names[i]);
		rc = rc ? rc : lks_buf_puts(b, " = ");
		rc = rc ? rc : put_str(b, c->alias_values[i]);
		rc = rc ? rc : lks_buf_putc(b, '\n');
	}
	return rc;
}

int lks_regconf_write(struct lks_ctx *ctx, const struct lks_regconf *c, const char *path)
{
	struct lks_buf b;
	lks_buf_init(&b, REGCONF_WRITE_MAX);
	int rc = lks_regconf_render(c, &b);
	if (rc < 0) {
		rc = lks_err(ctx, rc, "cannot write the registries configuration: %s",
		             lks_strerror(rc));
	} else {
		rc = lks_write_file_atomic(ctx, path, b.data, b.len, 0644);
	}
	lks_buf_free(&b);
	return rc;
}
