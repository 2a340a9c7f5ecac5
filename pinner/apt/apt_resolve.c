#include "lockstep/sort.h"
#include "pinner/apt/apt_resolve.h"
#include <errno.h>
#include <fnmatch.h>
#include <strings.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "pinner/apt/debver.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "pinner/apt/apt_int.h"

#define MAX_VERSIONS 4096
#define LKS_SHA_FIELD 80

bool apt_pattern_match(const char *pattern, const char *s)
{
	size_t n = strlen(pattern);
	if (!s) {
		return false;
	}
	if (n >= 2 && pattern[0] == '/' && pattern[n - 1] == '/') {
		_cleanup_free_ char *re_text = strndup(pattern + 1, n - 2);
		regex_t re;
		if (!re_text || regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB)) {
			return false;
		}
		bool ok = regexec(&re, s, 0, NULL, 0) == 0;
		regfree(&re);
		return ok;
	}
	return fnmatch(pattern, s, 0) == 0;
}

static bool icase_regex(const char *re_text, const char *s)
{
	regex_t re;
	if (regcomp(&re, re_text, REG_EXTENDED | REG_ICASE | REG_NOSUB)) {
		return false;
	}
	bool ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

bool apt_version_match(const char *pattern, const char *version)
{
	size_t n = strlen(pattern), vl = strlen(version);
	bool prefix = n && pattern[n - 1] == '*';
	size_t pl = prefix ? n - 1 : n;
	if ((vl == pl || (prefix && vl >= pl)) && strncasecmp(pattern, version, pl) == 0) {
		return true;
	}
	_cleanup_free_ char *p = strndup(pattern, pl);
	if (!p) {
		return false;
	}
	if (pl >= 2 && p[0] == '/' && p[pl - 1] == '/') {
		p[pl - 1] = '\0';
		return icase_regex(p + 1, version);
	}
	return fnmatch(p, version, FNM_CASEFOLD) == 0;
}

bool apt_version_is_pattern(const char *pattern)
{
	/* no /regex/ here: apt-get reads the last '/' of a word as pkg/release */
	return strpbrk(pattern, "*?[") && !strchr(pattern, '/');
}

static bool release_key_match(char key, const char *v, const struct lks_apt_release *r,
                              const struct lks_apt_pfile *pf)
{
	const char *have;
	switch (key) {
	case 'a':
		have = r->suite;
		break;
	case 'n':
		have = r->codename;
		break;
	case 'v':
		have = r->version;
		break;
	case 'o':
		have = r->origin;
		break;
	case 'l':
		have = r->label;
		break;
	case 'c':
		have = pf->component;
		break;
	case 'b':
		have = pf->arch;
		break;
	default:
		return true;
	}
	return have && apt_pattern_match(v, have);
}

/* "Pin: release" data against one Packages file. A bare string matches the suite, codename
 * or (prefix with '*') version; otherwise every key=value given must match. */
static bool release_match(const char *data, const struct lks_apt_release *r,
                          const struct lks_apt_pfile *pf)
{
	if (!strpbrk(data, ",=")) {
		return apt_pattern_match(data, r->version) || apt_pattern_match(data, r->suite) ||
		       apt_pattern_match(data, r->codename);
	}
	_cleanup_free_ char *copy = strdup(data);
	bool ok = copy != NULL;
	char *save = NULL;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; ok && t;
	     t = strtok_r(NULL, ",", &save)) {
		t += strspn(t, " \t");
		size_t tl = strlen(t);
		while (tl > 0 && (t[tl - 1] == ' ' || t[tl - 1] == '\t')) {
			t[--tl] = '\0';
		}
		if (tl < 2 || t[1] != '=') {
			continue;
		}
		ok = release_key_match(t[0], t + 2, r, pf);
	}
	return ok;
}

/* "Pin: origin HOST"; origin "" (quoted empty) means local files, which have no site. */
static bool origin_match(const char *data, const char *site)
{
	size_t n = strlen(data);
	char host[256];
	if (n >= 2 && data[0] == '"' && data[n - 1] == '"') {
		snprintf(host, sizeof(host), "%.*s", (int)(n - 2), data + 1);
	} else {
		snprintf(host, sizeof(host), "%s", data);
	}
	if (!host[0]) {
		return !site || !*site;
	}
	return apt_pattern_match(host, site);
}

static bool file_match(const struct lks_apt_index *idx, enum lks_apt_pin_type type,
                       const char *data, size_t pfile)
{
	const struct lks_apt_pfile *pf = &idx->pfiles[pfile];
	const struct lks_apt_release *r = &idx->releases[pf->release];
	switch (type) {
	case LKS_APT_PIN_RELEASE:
		return release_match(data, r, pf);
	case LKS_APT_PIN_ORIGIN:
		return origin_match(data, r->site);
	default:
		return false;
	}
}

static int default_prio(const struct lks_apt_release *r)
{
	if (r->not_automatic) {
		return r->but_automatic_upgrades ? 100 : 1;
	}
	return 500;
}

int lks_apt_policy_init(struct lks_ctx *ctx, struct lks_apt_policy *pol,
                        const struct lks_apt_index *idx, const struct lks_apt_prefs *prefs,
                        const char *default_release, const char *native_arch)
{
	memset(pol, 0, sizeof(*pol));
	pol->idx = idx;
	pol->prefs = prefs;
	pol->default_release = default_release;
	pol->native_arch = native_arch;
	pol->pfile_prio = calloc(idx->n_pfiles + 1, sizeof(int));
	if (!pol->pfile_prio) {
		return -ENOMEM;
	}
	for (size_t f = 0; f < idx->n_pfiles; f++) {
		const struct lks_apt_release *r = &idx->releases[idx->pfiles[f].release];
		bool fixed = false;
		pol->pfile_prio[f] = default_prio(r);
		for (size_t i = 0; prefs && i < prefs->n && !fixed; i++) {
			const struct lks_apt_pref *pin = &prefs->v[i];
			if (!strcmp(pin->package, "*") &&
			    file_match(idx, pin->type, pin->data, f)) {
				pol->pfile_prio[f] = pin->priority;
				fixed = true;
			}
		}
		if (!fixed && default_release &&
		    file_match(idx, LKS_APT_PIN_RELEASE, default_release, f)) {
			pol->pfile_prio[f] = 990;
		}
	}
	return 0;
}

void lks_apt_policy_free(struct lks_apt_policy *pol)
{
	free(pol->pfile_prio);
	pol->pfile_prio = NULL;
}

static bool name_char_ok(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
	       c == '.' || (c >= 'A' && c <= 'Z');
}

static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap) {
		return -LKS_E_TOOBIG;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

int lks_apt_request_parse(struct lks_ctx *ctx, const char *word, struct lks_apt_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t n = strcspn(word, "=/");
	int rc = 0;
	if (word[n] == '=') {
		rc = copy_part(req->version, sizeof(req->version), word + n + 1,
		               strlen(word + n + 1));
	} else if (word[n] == '/') {
		rc = copy_part(req->release, sizeof(req->release), word + n + 1,
		               strlen(word + n + 1));
	}
	const char *colon = memchr(word, ':', n);
	size_t nl = colon ? (size_t)(colon - word) : n;
	if (rc == 0 && colon) {
		rc = copy_part(req->arch, sizeof(req->arch), colon + 1, n - nl - 1);
	}
	if (rc == 0) {
		rc = copy_part(req->name, sizeof(req->name), word, nl);
	}
	bool ok = rc == 0 && nl > 0 && (word[n] == '\0' || word[n + 1] != '\0') &&
	          (!colon || req->arch[0]);
	for (size_t i = 0; ok && i < nl; i++) {
		ok = name_char_ok((unsigned char)word[i]);
	}
	if (ok && req->version[0] && !lks_debver_valid(req->version) &&
	    !apt_version_is_pattern(req->version)) {
		ok = false;
	}
	if (!ok) {
		return lks_err(ctx, -LKS_E_INVAL, "invalid apt package request '%.300s'", word);
	}
	return 0;
}

struct ver {
	const char *version;
	const struct lks_apt_pkg *best; /* entry from the highest-priority file */
	int file_prio;
	int prio;
	size_t order;
};

struct verset {
	struct ver v[MAX_VERSIONS];
	size_t n;
	const char *arch; /* the architecture resolved for */
};

static bool arch_fits(const struct lks_apt_policy *pol, const char *want, const char *arch)
{
	return !strcmp(arch, want) || (!strcmp(arch, "all") && !strcmp(want, pol->native_arch));
}

static void add_version(const struct lks_apt_policy *pol, struct verset *vs,
                        const struct lks_apt_pkg *p)
{
	int fp = pol->pfile_prio[p->pfile];
	for (size_t i = 0; i < vs->n; i++) {
		if (!strcmp(vs->v[i].version, p->version)) {
			if (fp > vs->v[i].file_prio ||
			    (fp == vs->v[i].file_prio && p < vs->v[i].best)) {
				vs->v[i].file_prio = fp;
				vs->v[i].best = p;
			}
			return;
		}
	}
	if (vs->n < MAX_VERSIONS) {
		vs->v[vs->n] = (struct ver){p->version, p, fp, fp, (size_t)(p - pol->idx->pkgs)};
		vs->n++;
	}
}

/* Does any file carrying (name, version) match the pin? */
static bool pin_matches_version(const struct lks_apt_policy *pol, const struct lks_apt_pref *pin,
                                const char *name, const struct ver *v, const char *want)
{
	if (pin->type == LKS_APT_PIN_VERSION) {
		return apt_version_match(pin->data, v->version);
	}
	const struct lks_apt_index *idx = pol->idx;
	for (const struct lks_apt_pkg *p = lks_apt_index_find(idx, name); p;
	     p = lks_apt_index_next(idx, p)) {
		if (!strcmp(p->version, v->version) && arch_fits(pol, want, p->arch) &&
		    file_match(idx, pin->type, pin->data, p->pfile)) {
			return true;
		}
	}
	return false;
}

static void apply_package_pins(const struct lks_apt_policy *pol, struct verset *vs,
                               const char *name)
{
	for (size_t i = 0; i < vs->n; i++) {
		for (size_t j = 0; pol->prefs && j < pol->prefs->n; j++) {
			const struct lks_apt_pref *pin = &pol->prefs->v[j];
			if (!strcmp(pin->package, "*") || !apt_pattern_match(pin->package, name)) {
				continue;
			}
			if (pin_matches_version(pol, pin, name, &vs->v[i], vs->arch)) {
				vs->v[i].prio = pin->priority;
				break;
			}
		}
	}
}

static int ver_desc(const void *a, const void *b)
{
	const struct ver *x = a, *y = b;
	int c = lks_debver_cmp(y->version, x->version);
	if (c) {
		return c;
	}
	return x->order < y->order ? -1 : (x->order > y->order);
}

static void collect(const struct lks_apt_policy *pol, const char *name, const char *want,
                    struct verset *vs)
{
	vs->n = 0;
	vs->arch = want;
	for (const struct lks_apt_pkg *p = lks_apt_index_find(pol->idx, name); p;
	     p = lks_apt_index_next(pol->idx, p)) {
		if (arch_fits(pol, want, p->arch)) {
			add_version(pol, vs, p);
		}
	}
	apply_package_pins(pol, vs, name);
	lks_qsort(vs->v, vs->n, sizeof(vs->v[0]), ver_desc);
}

static void fill_choice(const struct lks_apt_policy *pol, const struct ver *v,
                        const struct lks_apt_pkg *entry, struct lks_apt_choice *out)
{
	out->pkg = entry;
	out->pfile = &pol->idx->pfiles[entry->pfile];
	out->release = &pol->idx->releases[out->pfile->release];
	out->priority = v->prio;
}

static void suites_list(const struct lks_apt_index *idx, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < idx->n_releases && len + 1 < cap; i++) {
		const char *s = idx->releases[i].suite ? idx->releases[i].suite : "?";
		int w = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", s);
		len += w > 0 ? (size_t)w : 0;
	}
}

static int not_found(struct lks_ctx *ctx, const struct lks_apt_policy *pol, const char *name,
                     const char *arch, const char *extra)
{
	char suites[512];
	suites_list(pol->idx, suites, sizeof(suites));
	return lks_err(ctx, -LKS_E_NOTFOUND,
	               "apt package '%s'%s not found in suites '%s' for architecture '%s'", name,
	               extra, suites, arch);
}

/* The entry of version v from a file matching release spec `rel` (for pkg/suite). */
static const struct lks_apt_pkg *entry_in_release(const struct lks_apt_policy *pol,
                                                  const char *name, const struct ver *v,
                                                  const char *want, const char *rel)
{
	for (const struct lks_apt_pkg *p = lks_apt_index_find(pol->idx, name); p;
	     p = lks_apt_index_next(pol->idx, p)) {
		if (!strcmp(p->version, v->version) && arch_fits(pol, want, p->arch) &&
		    file_match(pol->idx, LKS_APT_PIN_RELEASE, rel, p->pfile)) {
			return p;
		}
	}
	return NULL;
}

static int pick(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                const struct lks_apt_request *req, const char *want, struct verset *vs,
                struct lks_apt_choice *out)
{
	char extra[300];
	for (size_t i = 0; i < vs->n; i++) {
		const struct ver *v = &vs->v[i];
		/* vs is newest first, as apt's version list: the first match is apt's */
		if (req->version[0] && apt_version_match(req->version, v->version)) {
			fill_choice(pol, v, v->best, out);
			return 0;
		}
		const struct lks_apt_pkg *e = NULL;
		if (req->release[0] &&
		    (e = entry_in_release(pol, req->name, v, want, req->release))) {
			fill_choice(pol, v, e, out);
			return 0;
		}
	}
	if (req->version[0]) {
		snprintf(extra, sizeof(extra), " version '%s'", req->version);
		return not_found(ctx, pol, req->name, want, extra);
	}
	if (req->release[0]) {
		snprintf(extra, sizeof(extra), " in release '%s'", req->release);
		return not_found(ctx, pol, req->name, want, extra);
	}
	const struct ver *cand = NULL;
	int max = 0;
	for (size_t i = 0; i < vs->n; i++) {
		if (vs->v[i].prio > max) {
			max = vs->v[i].prio;
			cand = &vs->v[i];
		}
	}
	if (!cand) {
		return lks_err(
		    ctx, -LKS_E_CONFLICT,
		    "apt package '%s' has no installation candidate for architecture '%s' "
		    "(every version is pinned at priority <= 0)",
		    req->name, want);
	}
	fill_choice(pol, cand, cand->best, out);
	return 0;
}

/* Does the Provides field name `virt`? ("a, b (= 1.0), c:any") */
static bool provides_name(const char *provides, const char *virt)
{
	size_t vl = strlen(virt);
	const char *p = provides;
	while (p && *p) {
		p += strspn(p, " \t\n,|");
		size_t len = strcspn(p, " \t\n,(:|");
		if (len == vl && !strncmp(p, virt, vl)) {
			return true;
		}
		p = strchr(p, ',');
	}
	return false;
}

static int virtual_providers(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                             const char *virt, const char *want, const char **only)
{
	const char *names[16];
	size_t n = 0;
	const struct lks_apt_index *idx = pol->idx;
	for (size_t i = 0; i < idx->n_pkgs; i++) {
		const struct lks_apt_pkg *p = lks_apt_index_at(idx, i);
		if (!p || !p->provides || !arch_fits(pol, want, p->arch) ||
		    !provides_name(p->provides, virt)) {
			continue;
		}
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++) {
			seen = !strcmp(names[j], p->name);
		}
		if (!seen && n < ARRAY_SIZE(names)) {
			names[n++] = p->name;
		}
	}
	if (n == 1) {
		*only = names[0];
		return 0;
	}
	if (n == 0) {
		return not_found(ctx, pol, virt, want, "");
	}
	char list[1024];
	size_t len = 0;
	list[0] = '\0';
	for (size_t j = 0; j < n && len + 1 < sizeof(list); j++) {
		int w = snprintf(list + len, sizeof(list) - len, "%s%s", j ? ", " : "", names[j]);
		len += w > 0 ? (size_t)w : 0;
	}
	return lks_err(
	    ctx, -LKS_E_CONFLICT,
	    "apt package '%s' is virtual, provided by %s%s for architecture '%s': pick one", virt,
	    list, n == ARRAY_SIZE(names) ? " ..." : "", want);
}

int lks_apt_resolve(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                    const struct lks_apt_request *req, struct lks_apt_choice *out)
{
	memset(out, 0, sizeof(*out));
	const char *want = req->arch[0] ? req->arch : pol->native_arch;
	_cleanup_free_ struct verset *vs = malloc(sizeof(*vs));
	if (!vs) {
		return -ENOMEM;
	}
	collect(pol, req->name, want, vs);
	if (vs->n > 0) {
		return pick(ctx, pol, req, want, vs, out);
	}
	const char *only = NULL;
	int rc = virtual_providers(ctx, pol, req->name, want, &only);
	if (rc < 0) {
		return rc;
	}
	struct lks_apt_request sub = *req;
	snprintf(sub.name, sizeof(sub.name), "%s", only);
	collect(pol, sub.name, want, vs);
	rc = pick(ctx, pol, &sub, want, vs, out);
	if (rc == 0) {
		snprintf(out->provider_of, sizeof(out->provider_of), "%s", req->name);
	}
	return rc;
}

static int set_str(json_t *o, const char *k, const char *v)
{
	return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

json_t *lks_apt_choice_json(const struct lks_apt_choice *c)
{
	json_auto_t *o = json_object();
	const struct lks_apt_pkg *p = c->pkg;
	char date[21] = "", sha[LKS_SHA_FIELD];
	if (!o || !p) {
		return NULL;
	}
	if (c->release->date_epoch) {
		lks_format_time(c->release->date_epoch, date);
	}
	snprintf(sha, sizeof(sha), "sha256:%s", p->sha256 ? p->sha256 : "");
	int rc =
	    set_str(o, "package", p->name) | set_str(o, "version", p->version) |
	    set_str(o, "architecture", p->arch) | set_str(o, "filename", p->filename) |
	    set_str(o, "sha256", p->sha256 ? sha : NULL) |
	    json_object_set_new(o, "size", json_integer((json_int_t)p->size)) |
	    set_str(o, "suite", c->release->suite) | set_str(o, "codename", c->release->codename) |
	    set_str(o, "snapshot", date[0] ? date : NULL) |
	    set_str(o, "signature", c->release->sig == LKS_APT_SIG_GOOD ? "good" : "unchecked") |
	    set_str(o, "provides", c->provider_of[0] ? c->provider_of : NULL);
	return rc ? NULL : TAKE_PTR(o);
}
