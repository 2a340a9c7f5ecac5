/* Image references, normalised the way docker does (see oci_ref.h for the grammar). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/oci_ref.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define DEFAULT_API_HOST "registry-1.docker.io"
#define DOCKER_AUTH_KEY "https://index.docker.io/v1/"
/* Longer inputs cannot be valid (name 255 + tag 128 + digest) and are refused early. */
#define REF_INPUT_MAX 1024

void lks_oci_ref_init(struct lks_oci_ref *r)
{
	memset(r, 0, sizeof(*r));
}

void lks_oci_ref_free(struct lks_oci_ref *r)
{
	if (!r) {
		return;
	}
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	lks_oci_ref_init(r);
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

/* path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )* */
static bool path_component_ok(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (!is_lower_alnum(p[i])) {
			return false;
		}
		while (i < n && is_lower_alnum(p[i])) {
			i++;
		}
		if (i == n) {
			return true;
		}
		size_t s = i;
		while (i < n && (p[i] == '.' || p[i] == '_' || p[i] == '-')) {
			i++;
		}
		size_t sl = i - s;
		bool dashes = strspn(p + s, "-") >= sl;
		bool ok = dashes || (sl == 1) || (sl == 2 && p[s] == '_' && p[s + 1] == '_');
		if (!ok || i == n) {
			return false;
		}
	}
	return n > 0;
}

static bool path_ok(const char *p)
{
	for (;;) {
		const char *sl = strchr(p, '/');
		size_t n = sl ? (size_t)(sl - p) : strlen(p);
		if (!path_component_ok(p, n)) {
			return false;
		}
		if (!sl) {
			return true;
		}
		p = sl + 1;
	}
}

/* domain-component := [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9] */
static bool domain_name_ok(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t s = i;
		while (i < n && (is_alnum(p[i]) || p[i] == '-')) {
			i++;
		}
		if (i == s || p[s] == '-' || p[i - 1] == '-') {
			return false;
		}
		if (i < n && p[i] != '.') {
			return false;
		}
		if (i < n && ++i == n) {
			return false; /* trailing dot */
		}
	}
	return n > 0;
}

static bool domain_ok(const char *d)
{
	size_t n = strlen(d);
	size_t hn;
	if (d[0] == '[') {
		const char *rb = strchr(d, ']');
		if (!rb || rb == d + 1 ||
		    strspn(d + 1, "0123456789abcdefABCDEF:") != (size_t)(rb - d - 1)) {
			return false;
		}
		hn = (size_t)(rb - d + 1);
	} else {
		const char *colon = strchr(d, ':');
		hn = colon ? (size_t)(colon - d) : n;
		if (!domain_name_ok(d, hn)) {
			return false;
		}
	}
	if (hn == n) {
		return true;
	}
	return d[hn] == ':' && n > hn + 1 && strspn(d + hn + 1, "0123456789") == n - hn - 1;
}

static bool tag_ok(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > LKS_OCI_TAG_MAX || !(is_alnum(t[0]) || t[0] == '_')) {
		return false;
	}
	for (size_t i = 1; i < n; i++) {
		if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-')) {
			return false;
		}
	}
	return true;
}

static bool hex_lower(const char *p, size_t n)
{
	return strlen(p) == n && strspn(p, "0123456789abcdef") == n;
}

/* Returns NULL when fine, else what is wrong. */
static const char *digest_problem(const char *d)
{
	const char *colon = strchr(d, ':');
	if (!colon || colon == d) {
		return "digest must be <algorithm>:<hex>";
	}
	size_t an = (size_t)(colon - d);
	static const struct {
		const char *alg;
		size_t hexlen;
	} algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		if (an == strlen(algs[i].alg) && !strncmp(d, algs[i].alg, an)) {
			return hex_lower(colon + 1, algs[i].hexlen)
			           ? NULL
			           : "digest hex has the wrong length or is not lowercase hex";
		}
	}
	return "unsupported digest algorithm";
}

static bool has_upper(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 'A' && p[i] <= 'Z') {
			return true;
		}
	}
	return false;
}

/* docker's splitDockerDomain on the name (tag and digest already removed). */
static int split_domain(const char *name, char **domain, char **path)
{
	const char *sl = strchr(name, '/');
	size_t n = sl ? (size_t)(sl - name) : 0;
	bool explicit_domain =
	    sl && (memchr(name, '.', n) || memchr(name, ':', n) ||
	           (n == 9 && !memcmp(name, "localhost", 9)) || has_upper(name, n));
	const char *rest = explicit_domain ? sl + 1 : name;
	*domain = explicit_domain ? strndup(name, n) : strdup(DEFAULT_DOMAIN);
	if (*domain && !strcmp(*domain, LEGACY_DOMAIN)) {
		strcpy(*domain, DEFAULT_DOMAIN); /* shorter, fits */
	}
	if (*domain && !strcmp(*domain, DEFAULT_DOMAIN) && !strchr(rest, '/')) {
		*path = malloc(strlen(rest) + sizeof("library/"));
		if (*path) {
			sprintf(*path, "library/%s", rest);
		}
	} else {
		*path = strdup(rest);
	}
	return *domain && *path ? 0 : -ENOMEM;
}

/* Split "name[:tag][@digest]" into owned pieces; tag/digest NULL when absent. */
static int split_parts(const char *s, char **name, char **tag, char **digest)
{
	const char *at = strchr(s, '@');
	size_t nt = at ? (size_t)(at - s) : strlen(s);
	*digest = at ? strdup(at + 1) : NULL;
	_cleanup_free_ char *nametag = strndup(s, nt);
	if (!nametag || (at && !*digest)) {
		return -ENOMEM;
	}
	char *last_slash = strrchr(nametag, '/');
	char *colon = strrchr(last_slash ? last_slash : nametag, ':');
	*tag = NULL;
	if (colon) {
		*colon = '\0';
		if (!(*tag = strdup(colon + 1))) {
			return -ENOMEM;
		}
	}
	*name = TAKE_PTR(nametag);
	return 0;
}

static const char *check_parts(const struct lks_oci_ref *r, const char *name)
{
	if (!*name) {
		return "repository name is empty";
	}
	if (r->tag && !tag_ok(r->tag)) {
		return "tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
	}
	if (r->digest) {
		const char *p = digest_problem(r->digest);
		if (p) {
			return p;
		}
	}
	if (has_upper(r->path, strlen(r->path))) {
		return "repository name must be lowercase";
	}
	if (!domain_ok(r->domain)) {
		return "invalid registry host";
	}
	if (!path_ok(r->path)) {
		return "invalid repository name (components are lowercase letters and digits "
		       "joined by '.', '_', '__' or dashes)";
	}
	if (strlen(r->domain) + 1 + strlen(r->path) > LKS_OCI_NAME_MAX) {
		return "repository name is longer than 255 characters";
	}
	return NULL;
}

static int parse_into(struct lks_ctx *ctx, const char *s, struct lks_oci_ref *out)
{
	_cleanup_free_ char *name = NULL;
	if (!*s) {
		return lks_err(ctx, -LKS_E_INVAL, "invalid reference '': reference is empty");
	}
	if (strlen(s) > REF_INPUT_MAX) {
		return lks_err(ctx, -LKS_E_INVAL,
		               "invalid reference '%.64s...': longer than %d "
		               "characters",
		               s, REF_INPUT_MAX);
	}
	if (hex_lower(s, 64)) {
		return lks_err(ctx, -LKS_E_INVAL,
		               "invalid reference '%s': a 64-character hex "
		               "string is an image ID, not a repository name",
		               s);
	}
	if (split_parts(s, &name, &out->tag, &out->digest) < 0 ||
	    split_domain(name, &out->domain, &out->path) < 0) {
		return lks_err(ctx, -ENOMEM, "out of memory parsing reference");
	}
	const char *problem = check_parts(out, name);
	if (problem) {
		return lks_err(ctx, -LKS_E_INVAL, "invalid reference '%s': %s", s, problem);
	}
	if (!out->tag && !out->digest) {
		if (!(out->tag = strdup("latest"))) {
			return lks_err(ctx, -ENOMEM, "out of memory parsing reference");
		}
		out->implicit_tag = true;
	}
	return 0;
}

int lks_oci_ref_parse(struct lks_ctx *ctx, const char *s, struct lks_oci_ref *out)
{
	lks_oci_ref_init(out);
	int rc = parse_into(ctx, s, out);
	if (rc < 0) {
		lks_oci_ref_free(out);
	}
	return rc;
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s && !(*out = strdup(s))) {
		return -ENOMEM;
	}
	return 0;
}

int lks_oci_ref_copy(const struct lks_oci_ref *src, struct lks_oci_ref *dst)
{
	lks_oci_ref_init(dst);
	if (dup_opt(src->domain, &dst->domain) < 0 || dup_opt(src->path, &dst->path) < 0 ||
	    dup_opt(src->tag, &dst->tag) < 0 || dup_opt(src->digest, &dst->digest) < 0) {
		lks_oci_ref_free(dst);
		return -ENOMEM;
	}
	dst->implicit_tag = src->implicit_tag;
	return 0;
}

static bool familiar_library(const struct lks_oci_ref *r)
{
	return !strncmp(r->path, "library/", 8) && !strchr(r->path + 8, '/');
}

/* Dropping "docker.io/" is only safe when the path's first component would not be taken
 * for a domain on re-parsing ("docker.io/foo.com/x" must keep its domain). */
static bool familiar_ok(const struct lks_oci_ref *r)
{
	if (strcmp(r->domain, DEFAULT_DOMAIN)) {
		return false;
	}
	const char *sl = strchr(r->path, '/');
	size_t n = sl ? (size_t)(sl - r->path) : strlen(r->path);
	return familiar_library(r) ||
	       !(memchr(r->path, '.', n) || (n == 9 && !memcmp(r->path, "localhost", 9)));
}

char *lks_oci_ref_format(const struct lks_oci_ref *r, enum lks_oci_ref_form form)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	bool familiar = form == LKS_OCI_REF_FAMILIAR || form == LKS_OCI_REF_FAMILIAR_NAME;
	int rc;
	if (familiar && familiar_ok(r)) {
		rc = lks_buf_puts(&b, familiar_library(r) ? r->path + 8 : r->path);
	} else {
		rc = lks_buf_printf(&b, "%s/%s", r->domain, r->path);
	}
	bool full = form == LKS_OCI_REF_FULL || form == LKS_OCI_REF_FAMILIAR;
	if (rc == 0 && full && r->tag) {
		rc = lks_buf_printf(&b, ":%s", r->tag);
	}
	if (rc == 0 && full && r->digest) {
		rc = lks_buf_printf(&b, "@%s", r->digest);
	}
	if (rc < 0) {
		lks_buf_free(&b);
		return NULL;
	}
	return lks_buf_detach(&b);
}

const char *lks_oci_ref_api_host(const struct lks_oci_ref *r)
{
	return strcmp(r->domain, DEFAULT_DOMAIN) ? r->domain : DEFAULT_API_HOST;
}

const char *lks_oci_ref_auth_key(const struct lks_oci_ref *r)
{
	return strcmp(r->domain, DEFAULT_DOMAIN) ? r->domain : DOCKER_AUTH_KEY;
}

static bool str_eq_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool lks_oci_ref_equal(const struct lks_oci_ref *a, const struct lks_oci_ref *b)
{
	return str_eq_opt(a->domain, b->domain) && str_eq_opt(a->path, b->path) &&
	       str_eq_opt(a->tag, b->tag) && str_eq_opt(a->digest, b->digest);
}
