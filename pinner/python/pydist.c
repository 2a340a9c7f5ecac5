/* Python distribution names, wheel tags and core metadata; see pinner/python/pydist.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "pinner/python/pydist.h"
#include "lockstep/strv.h"

static const char *const sdist_exts[] = {
    ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tbz", ".txz", ".tar",
};

static bool ends_with(const char *s, size_t n, const char *ext)
{
	size_t l = strlen(ext);
	return n >= l && !strncasecmp(s + n - l, ext, l);
}

static int set_version(struct lks_ctx *ctx, struct lks_pydist_name *out, const char *v, size_t n)
{
	if (n > LKS_PEP440_MAX_INPUT) {
		return lks_err(ctx, -LKS_E_PARSE, "version in file name too long");
	}
	memcpy(out->version_text, v, n);
	out->version_text[n] = '\0';
	return lks_pep440_parse(ctx, v, n, &out->version);
}

static int parse_wheel(struct lks_ctx *ctx, const char *fn, size_t n, const char *key,
                       struct lks_pydist_name *out)
{
	const char *dash[8];
	int nd = 0;
	for (size_t k = 0; k < n; k++) {
		if (fn[k] == '-') {
			if (nd == 5) {
				return lks_err(ctx, -LKS_E_PARSE, "invalid wheel name '%s'", fn);
			}
			dash[nd++] = fn + k;
		}
	}
	if (nd != 4 && nd != 5) {
		return lks_err(ctx, -LKS_E_PARSE, "invalid wheel name '%s'", fn);
	}
	out->kind = LKS_PYDIST_WHEEL;
	if (lks_pep503_normalize(fn, (size_t)(dash[0] - fn), out->key, sizeof(out->key)) < 0 ||
	    strcmp(out->key, key)) {
		return lks_err(ctx, -LKS_E_PARSE, "wheel '%s' is not of project '%s'", fn, key);
	}
	const char *tags = dash[nd - 3] + 1;
	snprintf(out->tags, sizeof(out->tags), "%.*s", (int)(fn + n - tags), tags);
	char ver[LKS_PEP440_MAX_INPUT + 1];
	size_t vl = (size_t)(dash[1] - dash[0] - 1);
	if (vl > LKS_PEP440_MAX_INPUT) {
		return lks_err(ctx, -LKS_E_PARSE, "version in '%s' too long", fn);
	}
	for (size_t k = 0; k < vl; k++) {
		ver[k] = dash[0][1 + k] == '_' ? '-' : dash[0][1 + k];
	}
	return set_version(ctx, out, ver, vl);
}

/* pip's rule: the version starts after the first '-' whose prefix normalises to the project. */
static int parse_sdist(struct lks_ctx *ctx, const char *fn, size_t n, const char *key,
                       struct lks_pydist_name *out)
{
	out->kind = LKS_PYDIST_SDIST;
	for (size_t k = 0; k < n; k++) {
		if (fn[k] != '-') {
			continue;
		}
		char norm[LKS_PEP508_MAX_NAME];
		if (lks_pep503_normalize(fn, k, norm, sizeof(norm)) >= 0 && !strcmp(norm, key)) {
			snprintf(out->key, sizeof(out->key), "%s", key);
			return set_version(ctx, out, fn + k + 1, n - k - 1);
		}
	}
	return lks_err(ctx, -LKS_E_PARSE, "sdist '%s' is not of project '%s'", fn, key);
}

int lks_pydist_parse_name(struct lks_ctx *ctx, const char *filename, const char *key,
                          struct lks_pydist_name *out)
{
	memset(out, 0, sizeof(*out));
	size_t n = strlen(filename);
	if (ends_with(filename, n, ".whl")) {
		return parse_wheel(ctx, filename, n - 4, key, out);
	}
	for (size_t k = 0; k < ARRAY_SIZE(sdist_exts); k++) {
		if (ends_with(filename, n, sdist_exts[k])) {
			return parse_sdist(ctx, filename, n - strlen(sdist_exts[k]), key, out);
		}
	}
	return lks_err(ctx, -LKS_E_PARSE, "'%s' is neither a wheel nor an sdist", filename);
}

/* ---- wheel tags (the order does not matter here, only membership) ---- */

static int glibc_minor(const struct lks_pytarget *t)
{
	return t->glibc_minor ? t->glibc_minor : 36;
}

/* manylinux_2_N_<arch>, the legacy aliases, and linux_<arch>. */
static bool platform_ok(const char *plat, size_t n, const struct lks_pytarget *t)
{
	char buf[128];
	if (n >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, plat, n);
	buf[n] = '\0';
	const char *m = t->machine;
	bool x86 = !strcmp(m, "x86_64") || !strcmp(m, "i686");
	int oldest = x86 ? 5 : 17;
	char want[96];
	snprintf(want, sizeof(want), "linux_%s", m);
	if (!strcmp(buf, want)) {
		return true;
	}
	static const struct {
		const char *alias;
		int minor;
	} legacy[] = {{"manylinux1", 5}, {"manylinux2010", 12}, {"manylinux2014", 17}};
	for (size_t k = 0; k < ARRAY_SIZE(legacy); k++) {
		snprintf(want, sizeof(want), "%s_%s", legacy[k].alias, m);
		if (!strcmp(buf, want)) {
			return legacy[k].minor >= oldest && legacy[k].minor <= glibc_minor(t);
		}
	}
	int major = 0, minor = 0, used = 0;
	if (sscanf(buf, "manylinux_%d_%d_%n", &major, &minor, &used) == 2 && used > 0 &&
	    !strcmp(buf + used, m)) {
		return major == 2 && minor >= oldest && minor <= glibc_minor(t);
	}
	return false;
}

/* py3, py3Y..py30, and pyXY: the pure-Python interpreter range. */
static bool py_range(const char *py, const struct lks_pytarget *t)
{
	char want[32];
	snprintf(want, sizeof(want), "py%d", t->major);
	if (!strcmp(py, want)) {
		return true;
	}
	for (int y = t->minor; y >= 0; y--) {
		snprintf(want, sizeof(want), "py%d%d", t->major, y);
		if (!strcmp(py, want)) {
			return true;
		}
	}
	return false;
}

static bool tag_ok(const char *py, const char *abi, const char *plat, size_t plen,
                   const struct lks_pytarget *t)
{
	char cp[16], cpabi[16];
	snprintf(cp, sizeof(cp), "cp%d%d", t->major, t->minor);
	snprintf(cpabi, sizeof(cpabi), "cp%d%d%s", t->major, t->minor, t->minor <= 7 ? "m" : "");
	if (plen == 3 && !memcmp(plat, "any", 3)) {
		return !strcmp(abi, "none") && (!strcmp(py, cp) || py_range(py, t));
	}
	if (!platform_ok(plat, plen, t)) {
		return false;
	}
	if (!strcmp(py, cp)) {
		return !strcmp(abi, cpabi) || !strcmp(abi, "abi3") || !strcmp(abi, "none");
	}
	int x, y, used = 0;
	if (sscanf(py, "cp%1d%d%n", &x, &y, &used) == 2 && !py[used] && !strcmp(abi, "abi3")) {
		return x == t->major && y >= 2 && y < t->minor;
	}
	return !strcmp(abi, "none") && py_range(py, t);
}

/* Expand the compressed tag set "py1.py2-abi-plat1.plat2" and test every combination. */
bool lks_pydist_compatible(const struct lks_pydist_name *d, const struct lks_pytarget *t)
{
	if (d->kind == LKS_PYDIST_SDIST) {
		return true;
	}
	char buf[sizeof(d->tags)];
	snprintf(buf, sizeof(buf), "%s", d->tags);
	char *abi = strchr(buf, '-');
	char *plat = abi ? strchr(abi + 1, '-') : NULL;
	if (!plat) {
		return false;
	}
	*abi++ = '\0';
	*plat++ = '\0';
	for (char *py = buf; py; py = strchr(py, '.') ? strchr(py, '.') + 1 : NULL) {
		char pyt[32], abit[32];
		snprintf(pyt, sizeof(pyt), "%.*s", (int)strcspn(py, "."), py);
		for (char *a = abi; a; a = strchr(a, '.') ? strchr(a, '.') + 1 : NULL) {
			snprintf(abit, sizeof(abit), "%.*s", (int)strcspn(a, "."), a);
			for (char *p = plat; p; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL) {
				if (tag_ok(pyt, abit, p, strcspn(p, "."), t)) {
					return true;
				}
			}
		}
	}
	return false;
}

/* ---- core metadata ---- */

void lks_pymeta_init(struct lks_pymeta *m)
{
	memset(m, 0, sizeof(*m));
}

void lks_pymeta_free(struct lks_pymeta *m)
{
	free(m->link);
	free(m->requires_python);
	lks_strv_free(m->requires_dist, m->nrequires);
	lks_strv_free(m->provides_extra, m->nextras);
	lks_strv_free(m->dynamic, m->ndynamic);
	memset(m, 0, sizeof(*m));
}

static void copy_field(char *dst, size_t cap, const char *v, size_t n)
{
	snprintf(dst, cap, "%.*s", (int)(n < cap ? n : cap - 1), v);
}

/* How good a Project-URL label is for the update summary (PEP 753 normalised labels). */
static int label_rank(const char *label, size_t n)
{
	static const char *const ranked[] = {"changelog", "changes",    "releasenotes", "history",
	                                     "source",    "sourcecode", "repository",   "homepage"};
	char norm[64];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < sizeof(norm); i++) {
		if (isalnum((unsigned char)label[i])) {
			norm[k++] = (char)tolower((unsigned char)label[i]);
		}
	}
	norm[k] = '\0';
	for (size_t i = 0; i < sizeof(ranked) / sizeof(ranked[0]); i++) {
		if (!strcmp(norm, ranked[i])) {
			return (int)i + 1;
		}
	}
	return 0;
}

/* "Project-URL: Label, URL" or "Home-page: URL" (rank 9): keep the best http(s) one. */
static int meta_link(struct lks_pymeta *m, const char *v, size_t vl, bool home)
{
	const char *comma = home ? NULL : memchr(v, ',', vl);
	int rank = home ? 9 : comma ? label_rank(v, (size_t)(comma - v)) : 0;
	const char *u = comma ? comma + 1 : v;
	size_t ul = vl - (size_t)(u - v);
	while (ul && *u == ' ') {
		u++, ul--;
	}
	bool web = (ul > 8 && !strncmp(u, "https://", 8)) || (ul > 7 && !strncmp(u, "http://", 7));
	if (!rank || !web || (m->link && m->link_rank <= rank) || memchr(u, ')', ul) ||
	    memchr(u, ' ', ul)) {
		return 0;
	}
	free(m->link);
	m->link = strndup(u, ul);
	m->link_rank = rank;
	return m->link ? 0 : -ENOMEM;
}

static int meta_field(struct lks_pymeta *m, const char *k, size_t kl, const char *v, size_t vl)
{
#define IS(name) (kl == strlen(name) && !strncasecmp(k, name, kl))
	if (IS("Metadata-Version")) {
		copy_field(m->metadata_version, sizeof(m->metadata_version), v, vl);
	} else if (IS("Name")) {
		copy_field(m->name, sizeof(m->name), v, vl);
	} else if (IS("Version")) {
		copy_field(m->version, sizeof(m->version), v, vl);
	} else if (IS("Requires-Python")) {
		free(m->requires_python);
		m->requires_python = strndup(v, vl);
		return m->requires_python ? 0 : -ENOMEM;
	} else if (IS("Project-URL") || IS("Home-page")) {
		return meta_link(m, v, vl, IS("Home-page"));
	} else if (IS("Requires-Dist")) {
		return lks_strv_push(&m->requires_dist, &m->nrequires, LKS_PYDIST_MAX_DEPS, v, vl);
	} else if (IS("Provides-Extra")) {
		char norm[LKS_PEP508_MAX_NAME];
		int l = lks_pep503_normalize(v, vl, norm, sizeof(norm));
		return l < 0 ? l
		             : lks_strv_push(&m->provides_extra, &m->nextras, LKS_PYDIST_MAX_DEPS,
		                             norm, (size_t)l);
	} else if (IS("Dynamic")) {
		int rc = lks_strv_push(&m->dynamic, &m->ndynamic, LKS_PYDIST_MAX_DEPS, v, vl);
		for (char *p = rc == 0 ? m->dynamic[m->ndynamic - 1] : NULL; p && *p; p++) {
			*p = (char)tolower((unsigned char)*p);
		}
		return rc;
	}
#undef IS
	return 0;
}

/* One header: "Key: value" (folded continuation lines are not needed by the fields we read). */
static int meta_line(struct lks_ctx *ctx, struct lks_pymeta *m, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	if (!colon) {
		return lks_err(ctx, -LKS_E_PARSE, "malformed metadata line '%.80s'", p);
	}
	size_t kl = (size_t)(colon - p);
	const char *v = colon + 1;
	size_t vl = len - kl - 1;
	while (vl && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl && isspace((unsigned char)v[vl - 1])) {
		vl--;
	}
	int rc = meta_field(m, p, kl, v, vl);
	if (rc == -LKS_E_TOOBIG) {
		return lks_err(ctx, rc, "metadata has more than %d entries", LKS_PYDIST_MAX_DEPS);
	}
	return rc;
}

int lks_pymeta_parse(struct lks_ctx *ctx, const char *text, size_t n, struct lks_pymeta *m)
{
	if (n > LKS_PYDIST_MAX_METADATA) {
		return lks_err(ctx, -LKS_E_TOOBIG, "metadata larger than %zu bytes",
		               (size_t)LKS_PYDIST_MAX_METADATA);
	}
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (text + i)) : n - i;
		const char *p = text + i;
		i += len + (nl != NULL);
		len -= len && p[len - 1] == '\r';
		if (len == 0) {
			break; /* the body (description) starts here */
		}
		if (p[0] == ' ' || p[0] == '\t') {
			continue;
		}
		int rc = meta_line(ctx, m, p, len);
		if (rc < 0) {
			return rc;
		}
	}
	if (!m->name[0] || !m->version[0]) {
		return lks_err(ctx, -LKS_E_PARSE, "metadata lacks Name or Version");
	}
	return 0;
}

bool lks_pymeta_static_deps(const struct lks_pymeta *m)
{
	struct lks_pep440 v, min;
	if (lks_pep440_parse(NULL, m->metadata_version, strlen(m->metadata_version), &v) < 0 ||
	    lks_pep440_parse(NULL, "2.2", 3, &min) < 0 || lks_pep440_cmp(&v, &min) < 0) {
		return false;
	}
	for (size_t k = 0; k < m->ndynamic; k++) {
		if (!strcmp(m->dynamic[k], "requires-dist") ||
		    !strcmp(m->dynamic[k], "requires-python")) {
			return false;
		}
	}
	return true;
}
