#include "lockstep/sort.h"
#include "pinner/apt/apt_sources.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "pinner/apt/deb822.h"
#include "lockstep/error.h"
#include "pinner/apt/apt_int.h"

#define MAX_SOURCES 4096
#define MAX_PINS 65536
#define MAX_CONF_FILE ((size_t)16 << 20)

void apt_strv_free(char **v)
{
	for (char **p = v; p && *p; p++) {
		free(*p);
	}
	free(v);
}

/* Split on whitespace (and commas when `commas`) into a NULL-terminated vector. */
char **apt_strv_split(const char *s, bool commas)
{
	size_t cap = 4, n = 0;
	char **v = calloc(cap, sizeof(*v));
	while (v && s && *s) {
		while (*s && (isspace((unsigned char)*s) || (commas && *s == ','))) {
			s++;
		}
		size_t len = 0;
		while (s[len] && !isspace((unsigned char)s[len]) && !(commas && s[len] == ',')) {
			len++;
		}
		if (!len) {
			break;
		}
		if (n + 2 > cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv) {
				apt_strv_free(v);
				return NULL;
			}
			v = nv;
		}
		v[n] = strndup(s, len);
		v[++n] = NULL;
		s += len;
	}
	return v;
}

void lks_apt_sources_init(struct lks_apt_sources *s)
{
	s->v = NULL;
	s->n = 0;
}

void apt_source_free(struct lks_apt_source *src)
{
	free(src->uri);
	free(src->suite);
	apt_strv_free(src->components);
	apt_strv_free(src->archs);
	free(src->signed_by);
}

void lks_apt_sources_free(struct lks_apt_sources *s)
{
	for (size_t i = 0; i < s->n; i++) {
		apt_source_free(&s->v[i]);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int add_source(struct lks_ctx *ctx, struct lks_apt_sources *s, const char *uri,
                      const char *suite, char **comps, const char *archs, const char *signed_by)
{
	if (s->n >= MAX_SOURCES) {
		apt_strv_free(comps);
		return lks_err(ctx, -LKS_E_TOOBIG, "too many apt sources (more than %d)",
		               MAX_SOURCES);
	}
	struct lks_apt_source *nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
	if (!nv) {
		apt_strv_free(comps);
		return -ENOMEM;
	}
	s->v = nv;
	struct lks_apt_source *src = &s->v[s->n];
	memset(src, 0, sizeof(*src));
	src->uri = strdup(uri);
	size_t ul = src->uri ? strlen(src->uri) : 0;
	while (ul > 0 && src->uri[ul - 1] == '/') {
		src->uri[--ul] = '\0';
	}
	src->suite = strdup(suite);
	src->components = comps;
	src->archs = archs ? apt_strv_split(archs, true) : NULL;
	src->signed_by = signed_by ? strdup(signed_by) : NULL;
	s->n++;
	if (!src->uri || !src->suite || !src->components || (archs && !src->archs) ||
	    (signed_by && !src->signed_by)) {
		return -ENOMEM;
	}
	return 0;
}

/* "[arch=amd64,arm64 signed-by=/x.gpg]" options of a one-line entry. */
static void parse_options(char *opts, char **archs, char **signed_by)
{
	char *save = NULL;
	for (char *t = strtok_r(opts, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (!strncmp(t, "arch=", 5)) {
			*archs = t + 5;
		} else if (!strncmp(t, "signed-by=", 10)) {
			*signed_by = t + 10;
		}
	}
}

static int parse_list_line(struct lks_ctx *ctx, struct lks_apt_sources *s, const char *what,
                           char *line, size_t ln)
{
	char *hash = strchr(line, '#');
	if (hash) {
		*hash = '\0';
	}
	char *p = line + strspn(line, " \t\r");
	if (!*p) {
		return 0;
	}
	size_t tl = strcspn(p, " \t");
	if (tl == 7 && !strncmp(p, "deb-src", 7)) {
		return 0;
	}
	if (tl != 3 || strncmp(p, "deb", 3)) {
		return lks_err(ctx, -LKS_E_PARSE, "cannot parse %s line %zu: expected 'deb'", what,
		               ln);
	}
	p += tl;
	p += strspn(p, " \t");
	char *archs = NULL, *signed_by = NULL;
	if (*p == '[') {
		char *close = strchr(p, ']');
		if (!close) {
			return lks_err(ctx, -LKS_E_PARSE, "cannot parse %s line %zu: unclosed '['",
			               what, ln);
		}
		*close = '\0';
		parse_options(p + 1, &archs, &signed_by);
		p = close + 1;
	}
	char *save = NULL;
	char *uri = strtok_r(p, " \t\r", &save);
	char *suite = strtok_r(NULL, " \t\r", &save);
	if (!uri || !suite) {
		return lks_err(ctx, -LKS_E_PARSE, "cannot parse %s line %zu: need URI and suite",
		               what, ln);
	}
	char **comps = apt_strv_split(save, false);
	if (!comps) {
		return -ENOMEM;
	}
	return add_source(ctx, s, uri, suite, comps, archs, signed_by);
}

int lks_apt_sources_parse_list(struct lks_ctx *ctx, struct lks_apt_sources *s, const char *what,
                               const char *text, size_t n)
{
	_cleanup_free_ char *copy = strndup(text, n);
	if (!copy) {
		return -ENOMEM;
	}
	size_t ln = 0;
	char *line = copy;
	while (line) {
		char *nl = strchr(line, '\n');
		if (nl) {
			*nl = '\0';
		}
		ln++;
		int rc = parse_list_line(ctx, s, what, line, ln);
		if (rc < 0) {
			return rc;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

struct d822_state {
	struct lks_ctx *ctx;
	struct lks_apt_sources *s;
	const char *what;
};

static bool has_word(const char *list, const char *word)
{
	char **v = apt_strv_split(list, false);
	bool found = false;
	for (char **p = v; p && *p; p++) {
		found = found || !strcmp(*p, word);
	}
	apt_strv_free(v);
	return found;
}

static int d822_para(void *opaque, const struct lks_deb822_para *p)
{
	struct d822_state *st = opaque;
	const char *types = lks_deb822_get(p, "Types");
	const char *uris = lks_deb822_get(p, "URIs");
	const char *suites = lks_deb822_get(p, "Suites");
	const char *enabled = lks_deb822_get(p, "Enabled");
	if (!types || !uris || !suites) {
		return lks_err(st->ctx, -LKS_E_PARSE,
		               "cannot parse %s: paragraph at line %zu lacks Types, URIs or Suites",
		               st->what, p->line);
	}
	if (!has_word(types, "deb") || (enabled && !strcasecmp(enabled, "no"))) {
		return 0;
	}
	const char *comps = lks_deb822_get(p, "Components");
	char **uv = apt_strv_split(uris, false), **sv = apt_strv_split(suites, false);
	int rc = (uv && sv) ? 0 : -ENOMEM;
	for (char **u = uv; rc == 0 && u && *u; u++) {
		for (char **su = sv; rc == 0 && su && *su; su++) {
			char **cv = apt_strv_split(comps ? comps : "", false);
			rc = cv ? add_source(st->ctx, st->s, *u, *su, cv,
			                     lks_deb822_get(p, "Architectures"),
			                     lks_deb822_get(p, "Signed-By"))
			        : -ENOMEM;
		}
	}
	apt_strv_free(uv);
	apt_strv_free(sv);
	return rc;
}

int lks_apt_sources_parse_deb822(struct lks_ctx *ctx, struct lks_apt_sources *s, const char *what,
                                 const char *text, size_t n)
{
	struct d822_state st = {ctx, s, what};
	return lks_deb822_parse(ctx, what, LKS_DEB822_COMMENTS, text, n, d822_para, &st);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int lks_apt_sources_load(struct lks_ctx *ctx, struct lks_apt_sources *s, const char *path)
{
	struct lks_buf b;
	lks_buf_init(&b, MAX_CONF_FILE);
	int rc = lks_buf_read_file(&b, path);
	if (rc < 0) {
		lks_buf_free(&b);
		return lks_err(ctx, rc, "cannot read apt sources '%s': %s", path, lks_strerror(rc));
	}
	if (ends_with(path, ".sources")) {
		rc = lks_apt_sources_parse_deb822(ctx, s, path, b.data ? b.data : "", b.len);
	} else {
		rc = lks_apt_sources_parse_list(ctx, s, path, b.data ? b.data : "", b.len);
	}
	lks_buf_free(&b);
	return rc;
}

/* apt's URItoFileName: drop the scheme and user info, '/' becomes '_'. */
static int uri_to_name(struct lks_buf *b, const char *uri)
{
	const char *p = strstr(uri, "://");
	p = p ? p + 3 : uri;
	const char *at = strchr(p, '@');
	const char *slash = strchr(p, '/');
	if (at && (!slash || at < slash)) {
		p = at + 1;
	}
	int rc = 0;
	for (; *p && rc == 0; p++) {
		rc = lks_buf_putc(b, *p == '/' ? '_' : *p);
	}
	return rc;
}

char *lks_apt_source_list_prefix(const struct lks_apt_source *src)
{
	struct lks_buf b;
	lks_buf_init(&b, 4096);
	int rc = uri_to_name(&b, src->uri);
	size_t sl = strlen(src->suite);
	if (rc == 0 && sl > 0 && src->suite[sl - 1] == '/') {
		/* flat repository: URI/SUITE/ is the directory holding Release */
		rc = lks_buf_putc(&b, '_');
		for (size_t i = 0; rc == 0 && i < sl; i++) {
			rc = lks_buf_putc(&b, src->suite[i] == '/' ? '_' : src->suite[i]);
		}
	} else if (rc == 0) {
		rc = lks_buf_printf(&b, "_dists_%s_", src->suite);
	}
	if (rc < 0) {
		lks_buf_free(&b);
		return NULL;
	}
	return lks_buf_detach(&b);
}

char *lks_apt_uri_site(const char *uri)
{
	const char *p = strstr(uri, "://");
	p = p ? p + 3 : uri;
	const char *at = strchr(p, '@');
	size_t len = strcspn(p, "/");
	if (at && at < p + len) {
		len -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	/* apt's Site is the host alone: no port (and no brackets around an IPv6 address) */
	const char *colon = memrchr(p, ':', len);
	const char *bracket = memrchr(p, ']', len);
	if (colon && (!bracket || colon > bracket)) {
		len = (size_t)(colon - p);
	}
	if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
		p++;
		len -= 2;
	}
	return strndup(p, len);
}

void lks_apt_prefs_init(struct lks_apt_prefs *p)
{
	p->v = NULL;
	p->n = 0;
}

void lks_apt_prefs_free(struct lks_apt_prefs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].package);
		free(p->v[i].data);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

int lks_apt_prefs_add(struct lks_apt_prefs *p, const char *package, enum lks_apt_pin_type type,
                      const char *data, int priority)
{
	if (p->n >= MAX_PINS) {
		return -LKS_E_TOOBIG;
	}
	struct lks_apt_pref *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
	if (!nv) {
		return -ENOMEM;
	}
	p->v = nv;
	struct lks_apt_pref *pin = &p->v[p->n];
	pin->package = strdup(package);
	pin->data = strdup(data);
	pin->type = type;
	pin->priority = priority;
	p->n++;
	return pin->package && pin->data ? 0 : -ENOMEM;
}

struct prefs_state {
	struct lks_ctx *ctx;
	struct lks_apt_prefs *p;
	const char *what;
};

static int parse_pin_spec(const char *pin, enum lks_apt_pin_type *type, const char **data)
{
	static const struct {
		const char *kw;
		enum lks_apt_pin_type type;
	} kws[] = {
	    {"version", LKS_APT_PIN_VERSION},
	    {"release", LKS_APT_PIN_RELEASE},
	    {"origin", LKS_APT_PIN_ORIGIN},
	};
	for (size_t i = 0; i < ARRAY_SIZE(kws); i++) {
		size_t kl = strlen(kws[i].kw);
		if (!strncasecmp(pin, kws[i].kw, kl) &&
		    (pin[kl] == ' ' || pin[kl] == '\t' || pin[kl] == '\0')) {
			*type = kws[i].type;
			*data = pin + kl + strspn(pin + kl, " \t");
			return 0;
		}
	}
	return -LKS_E_PARSE;
}

/* Like apt: a paragraph without Package is an error; one without Pin, with priority 0 or
 * with an unknown pin type is skipped with a warning; "version" pins need a package name. */
static int prefs_para(void *opaque, const struct lks_deb822_para *para)
{
	struct prefs_state *st = opaque;
	const char *pkg = lks_deb822_get(para, "Package");
	const char *pin = lks_deb822_get(para, "Pin");
	const char *prio = lks_deb822_get(para, "Pin-Priority");
	if (!pkg || !*pkg) {
		return lks_err(st->ctx, -LKS_E_PARSE,
		               "cannot parse %s: paragraph at line %zu has no Package", st->what,
		               para->line);
	}
	char *end = NULL;
	errno = 0;
	long pr = prio ? strtol(prio, &end, 10) : 0;
	if (prio && (errno || end == prio || *end || pr < -32768 || pr > 32767)) {
		return lks_err(st->ctx, -LKS_E_PARSE,
		               "cannot parse %s: bad Pin-Priority '%s' at line %zu", st->what, prio,
		               para->line);
	}
	enum lks_apt_pin_type type;
	const char *data;
	if (!pin) {
		return 0;
	}
	if (parse_pin_spec(pin, &type, &data) < 0 ||
	    (type == LKS_APT_PIN_VERSION && !strcmp(pkg, "*"))) {
		lks_warn(st->ctx, "%s line %zu: ignoring pin '%s'", st->what, para->line, pin);
		return 0;
	}
	if (pr == 0) {
		lks_warn(st->ctx, "%s line %zu: ignoring pin without a (non-zero) priority",
		         st->what, para->line);
		return 0;
	}
	char **names = apt_strv_split(pkg, false);
	int rc = names ? 0 : -ENOMEM;
	for (char **n = names; rc == 0 && n && *n; n++) {
		rc = lks_apt_prefs_add(st->p, *n, type, data, (int)pr);
	}
	apt_strv_free(names);
	return rc;
}

int lks_apt_prefs_parse(struct lks_ctx *ctx, struct lks_apt_prefs *p, const char *what,
                        const char *text, size_t n)
{
	struct prefs_state st = {ctx, p, what};
	return lks_deb822_parse(ctx, what, LKS_DEB822_COMMENTS, text, n, prefs_para, &st);
}

int lks_apt_prefs_load(struct lks_ctx *ctx, struct lks_apt_prefs *p, const char *path)
{
	struct lks_buf b;
	lks_buf_init(&b, MAX_CONF_FILE);
	int rc = lks_buf_read_file(&b, path);
	if (rc < 0) {
		lks_buf_free(&b);
		return lks_err(ctx, rc, "cannot read apt preferences '%s': %s", path,
		               lks_strerror(rc));
	}
	rc = lks_apt_prefs_parse(ctx, p, path, b.data ? b.data : "", b.len);
	lks_buf_free(&b);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of dir/sub accepted by `want`, in apt's order (sorted by name); caller frees. */
static char **list_dir(const char *dir, const char *sub, bool (*want)(const char *))
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	DIR *d = opendir(path);
	size_t n = 0;
	char **v = calloc(257, sizeof(*v));
	struct dirent *e;
	while (v && d && (e = readdir(d)) && n < 256) {
		if (e->d_name[0] != '.' && want(e->d_name)) {
			char *full = NULL;
			if (asprintf(&full, "%s/%s", path, e->d_name) >= 0) {
				v[n++] = full;
			}
		}
	}
	if (d) {
		closedir(d);
	}
	if (v) {
		lks_qsort(v, n, sizeof(*v), cmp_names);
	}
	return v;
}

bool apt_conf_is_sources_file(const char *name)
{
	return ends_with(name, ".list") || ends_with(name, ".sources");
}

bool apt_conf_is_prefs_file(const char *name)
{
	return ends_with(name, ".pref") ||
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
	           strlen(name);
}

static bool file_present(const char *path)
{
	return access(path, R_OK) == 0;
}

int lks_apt_config_load(struct lks_ctx *ctx, const char *etc_apt, struct lks_apt_sources *s,
                        struct lks_apt_prefs *p)
{
	char path[4096];
	int rc = 0;
	snprintf(path, sizeof(path), "%s/sources.list", etc_apt);
	if (s && file_present(path)) {
		rc = lks_apt_sources_load(ctx, s, path);
	}
	snprintf(path, sizeof(path), "%s/preferences", etc_apt);
	if (rc == 0 && p && file_present(path)) {
		rc = lks_apt_prefs_load(ctx, p, path);
	}
	char **srcs = s ? list_dir(etc_apt, "sources.list.d", apt_conf_is_sources_file) : NULL;
	char **prefs = p ? list_dir(etc_apt, "preferences.d", apt_conf_is_prefs_file) : NULL;
	if ((s && !srcs) || (p && !prefs)) {
		rc = rc ? rc : -ENOMEM;
	}
	for (size_t i = 0; srcs && srcs[i]; i++) {
		rc = rc ? rc : lks_apt_sources_load(ctx, s, srcs[i]);
	}
	for (size_t i = 0; prefs && prefs[i]; i++) {
		rc = rc ? rc : lks_apt_prefs_load(ctx, p, prefs[i]);
	}
	apt_strv_free(srcs);
	apt_strv_free(prefs);
	return rc;
}
