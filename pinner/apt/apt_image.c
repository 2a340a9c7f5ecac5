/* The apt configuration of a base image, read out of its layers (see apt_image.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_image.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/imagefs.h"
#include "pinner/apt/apt_int.h"

#define MAX_ARCHS 16

static const struct lks_imagefs_req image_reqs[] = {
    {"/etc/os-release", false},       {"/usr/lib/os-release", false},
    {"/etc/apt/sources.list", false}, {"/etc/apt/sources.list.d/*", false},
    {"/etc/apt/preferences", false},  {"/etc/apt/preferences.d/*", false},
    {"/etc/apt/trusted.gpg", false},  {"/etc/apt/trusted.gpg.d/*", false},
    {"/usr/share/keyrings/*", false}, {"/etc/apt/keyrings/*", false},
    {"/var/lib/dpkg/arch", false},    {"/usr/bin/dpkg", true},
    {"/usr/bin/apt-get", true},
};

void lks_apt_config_init(struct lks_apt_config *c)
{
	memset(c, 0, sizeof(*c));
	lks_apt_sources_init(&c->sources);
	lks_apt_prefs_init(&c->prefs);
}

void lks_apt_config_free(struct lks_apt_config *c)
{
	lks_apt_sources_free(&c->sources);
	lks_apt_prefs_free(&c->prefs);
	free(c->arch);
	apt_strv_free(c->archs);
	free(c->os_id);
	free(c->os_version_id);
	free(c->codename);
	free(c->image_digest);
	free(c->manifest_digest);
	free(c->platform);
	for (size_t i = 0; i < c->n_keyrings; i++) {
		free(c->keyrings[i].path);
		free(c->keyrings[i].data);
	}
	free(c->keyrings);
	lks_apt_config_init(c);
}

const char *lks_apt_dpkg_arch(const char *oci_arch, const char *variant)
{
	static const char *const map[][3] = {
	    {"amd64", NULL, "amd64"},     {"arm64", NULL, "arm64"},
	    {"386", NULL, "i386"},        {"arm", "v5", "armel"},
	    {"arm", "v6", "armel"},       {"arm", "v7", "armhf"},
	    {"arm", NULL, "armhf"},       {"ppc64le", NULL, "ppc64el"},
	    {"s390x", NULL, "s390x"},     {"mips64le", NULL, "mips64el"},
	    {"riscv64", NULL, "riscv64"}, {"loong64", NULL, "loong64"},
	};
	for (size_t i = 0; oci_arch && i < ARRAY_SIZE(map); i++) {
		if (!strcmp(oci_arch, map[i][0]) &&
		    (!map[i][1] || (variant && !strcmp(variant, map[i][1])))) {
			return map[i][2];
		}
	}
	return NULL;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool in_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/' && !strchr(path + n + 1, '/');
}

/* "KEY=value" or KEY="value" of an os-release file, unquoted; NULL when absent. */
static char *os_release_get(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, kl) || l[kl] != '=') {
			continue;
		}
		const char *v = l + kl + 1;
		size_t n = strcspn(v, "\n");
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v++;
			n -= 2;
		}
		return strndup(v, n);
	}
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int parse_file(struct lks_ctx *ctx, const char *image, const struct lks_imagefs_file *f,
                      struct lks_apt_config *c, bool prefs)
{
	char what[512];
	snprintf(what, sizeof(what), "'%s' of image '%s'", f->path, image);
	if (prefs) {
		return lks_apt_prefs_parse(ctx, &c->prefs, what, f->data, f->len);
	}
	if (ends_with(f->path, ".sources")) {
		return lks_apt_sources_parse_deb822(ctx, &c->sources, what, f->data, f->len);
	}
	return lks_apt_sources_parse_list(ctx, &c->sources, what, f->data, f->len);
}

/* apt's order: the main file, then the directory's files by name. */
static int parse_conf(struct lks_ctx *ctx, const char *image, const struct lks_imagefs *fs,
                      struct lks_apt_config *c, bool prefs)
{
	const char *main_file = prefs ? "/etc/apt/preferences" : "/etc/apt/sources.list";
	const char *dir = prefs ? "/etc/apt/preferences.d" : "/etc/apt/sources.list.d";
	const struct lks_imagefs_file *f = lks_imagefs_get(fs, main_file);
	int rc = f && f->data ? parse_file(ctx, image, f, c, prefs) : 0;
	for (size_t i = 0; rc == 0 && i < fs->n; i++) {
		f = &fs->v[i];
		const char *name = base_name(f->path);
		bool ok = prefs ? apt_conf_is_prefs_file(name) : apt_conf_is_sources_file(name);
		if (f->data && in_dir(f->path, dir) && ok) {
			rc = parse_file(ctx, image, f, c, prefs);
		}
	}
	return rc;
}

static const struct lks_apt_keyring *keyring_find(const struct lks_apt_config *c, const char *path)
{
	for (size_t i = 0; i < c->n_keyrings; i++) {
		if (!strcmp(c->keyrings[i].path, path)) {
			return &c->keyrings[i];
		}
	}
	return NULL;
}

const struct lks_apt_keyring *lks_apt_config_keyring(const struct lks_apt_config *c,
                                                     const struct lks_apt_source *src)
{
	return src->signed_by && src->signed_by[0] == '/' ? keyring_find(c, src->signed_by) : NULL;
}

static int keyring_add(struct lks_apt_config *c, const struct lks_imagefs_file *f)
{
	struct lks_apt_keyring *v = realloc(c->keyrings, (c->n_keyrings + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	c->keyrings = v;
	struct lks_apt_keyring *k = &v[c->n_keyrings];
	k->path = strdup(f->path);
	k->data = malloc(f->len + 1);
	if (!k->path || !k->data) {
		free(k->path);
		free(k->data);
		return -ENOMEM;
	}
	memcpy(k->data, f->data, f->len + 1);
	k->len = f->len;
	c->n_keyrings++;
	return 0;
}

static int keyrings_from(struct lks_apt_config *c, const struct lks_imagefs *fs)
{
	static const char *const dirs[] = {"/etc/apt/trusted.gpg.d", "/usr/share/keyrings",
	                                   "/etc/apt/keyrings"};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < fs->n; i++) {
		const struct lks_imagefs_file *f = &fs->v[i];
		bool want = !strcmp(f->path, "/etc/apt/trusted.gpg");
		for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
			want = want || in_dir(f->path, dirs[d]);
		}
		if (want && f->data && !keyring_find(c, f->path)) {
			rc = keyring_add(c, f);
		}
	}
	return rc;
}

static int arch_add(char ***v, size_t *n, const char *a)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp((*v)[i], a)) {
			return 0;
		}
	}
	if (*n >= MAX_ARCHS) {
		return 0;
	}
	(*v)[*n] = strdup(a);
	return (*v)[(*n)++] ? 0 : -ENOMEM;
}

/* Native architecture from the platform, foreign ones from dpkg's own list. */
static int set_archs(struct lks_ctx *ctx, const char *image, const struct lks_imagefs *fs,
                     struct lks_apt_config *c)
{
	const char *a = lks_apt_dpkg_arch(fs->arch, fs->variant);
	if (!a) {
		return lks_err(ctx, -LKS_E_UNSUPPORTED,
		               "image '%s': no dpkg architecture for %s%s%s", image,
		               fs->arch ? fs->arch : "?", fs->variant ? "/" : "",
		               fs->variant ? fs->variant : "");
	}
	size_t n = 0;
	c->arch = strdup(a);
	c->archs = calloc(MAX_ARCHS + 1, sizeof(*c->archs));
	int rc = c->arch && c->archs ? arch_add(&c->archs, &n, a) : -ENOMEM;
	const struct lks_imagefs_file *f = lks_imagefs_get(fs, "/var/lib/dpkg/arch");
	char **words = f && f->data ? apt_strv_split(f->data, false) : NULL;
	for (size_t i = 0; rc == 0 && words && words[i]; i++) {
		rc = arch_add(&c->archs, &n, words[i]);
	}
	apt_strv_free(words);
	return rc;
}

static int set_os(const struct lks_imagefs *fs, struct lks_apt_config *c)
{
	const struct lks_imagefs_file *f = lks_imagefs_get(fs, "/etc/os-release");
	if (!f || !f->data) {
		f = lks_imagefs_get(fs, "/usr/lib/os-release");
	}
	if (!f || !f->data) {
		return 0;
	}
	c->os_id = os_release_get(f->data, "ID");
	c->os_version_id = os_release_get(f->data, "VERSION_ID");
	c->codename = os_release_get(f->data, "VERSION_CODENAME");
	if (!c->codename) {
		c->codename = os_release_get(f->data, "UBUNTU_CODENAME");
	}
	return 0;
}

static int check_apt(struct lks_ctx *ctx, const char *image, const struct lks_imagefs *fs,
                     const struct lks_apt_config *c)
{
	static const char *const tools[] = {"/usr/bin/dpkg", "/usr/bin/apt-get"};
	for (size_t i = 0; i < ARRAY_SIZE(tools); i++) {
		if (!lks_imagefs_get(fs, tools[i])) {
			return lks_err(ctx, -LKS_E_UNSUPPORTED,
			               "image '%s' has no apt: '%s' not found in the image", image,
			               tools[i]);
		}
	}
	if (!c->sources.n) {
		return lks_err(ctx, -LKS_E_UNSUPPORTED,
		               "image '%s' has no apt sources (/etc/apt/sources.list, "
		               "/etc/apt/sources.list.d/)",
		               image);
	}
	return 0;
}

/* Keyrings named by signed-by outside the directories read first (one more read). */
static int signed_by_keyrings(struct lks_ctx *ctx, const char *image, const char *platform,
                              const struct lks_imagefs_opts *opts, struct lks_apt_config *c)
{
	struct lks_imagefs_req reqs[LKS_IMAGEFS_MAX_REQS];
	size_t n = 0;
	for (size_t i = 0; i < c->sources.n && n < ARRAY_SIZE(reqs); i++) {
		const char *sb = c->sources.v[i].signed_by;
		if (sb && sb[0] == '/' && !strpbrk(sb, "*?[") && !keyring_find(c, sb)) {
			reqs[n++] = (struct lks_imagefs_req){sb, false};
		}
	}
	if (!n) {
		return 0;
	}
	struct lks_imagefs fs;
	int rc = lks_imagefs_read(ctx, image, platform, reqs, n, opts, &fs);
	for (size_t i = 0; rc == 0 && i < fs.n; i++) {
		rc = fs.v[i].data && !keyring_find(c, fs.v[i].path) ? keyring_add(c, &fs.v[i]) : 0;
	}
	lks_imagefs_free(&fs);
	return rc;
}

static int set_ids(const struct lks_imagefs *fs, struct lks_apt_config *c)
{
	c->image_digest = fs->image_digest ? strdup(fs->image_digest) : NULL;
	c->manifest_digest = fs->manifest_digest ? strdup(fs->manifest_digest) : NULL;
	if (asprintf(&c->platform, "%s/%s%s%s", fs->os ? fs->os : "?", fs->arch ? fs->arch : "?",
	             fs->variant ? "/" : "", fs->variant ? fs->variant : "") < 0) {
		c->platform = NULL;
		return -ENOMEM;
	}
	c->from_cache = fs->from_cache;
	return 0;
}

/* ---- files the Dockerfile adds ---- */

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct lks_imagefs_file *)a)->path,
	              ((const struct lks_imagefs_file *)b)->path);
}

static int overlay_one(struct lks_imagefs *fs, const struct lks_apt_file *af)
{
	struct lks_imagefs_file *f = NULL;
	for (size_t i = 0; i < fs->n && !f; i++) {
		f = !strcmp(fs->v[i].path, af->path) ? &fs->v[i] : NULL;
	}
	if (!f) {
		struct lks_imagefs_file *nv = realloc(fs->v, (fs->n + 1) * sizeof(*nv));
		if (!nv) {
			return -ENOMEM;
		}
		fs->v = nv;
		f = &fs->v[fs->n++];
		*f = (struct lks_imagefs_file){
		    .path = strdup(af->path), .resolved = strdup(af->path), .mode = 0644};
		if (!f->path || !f->resolved) {
			return -ENOMEM;
		}
	}
	size_t keep = af->append && f->data ? f->len : 0;
	char *d = realloc(f->data, keep + af->len + 1);
	if (!d) {
		return -ENOMEM;
	}
	memcpy(d + keep, af->data, af->len);
	d[keep + af->len] = '\0';
	f->data = d;
	f->len = keep + af->len;
	return 0;
}

static int overlay(struct lks_imagefs *fs, const struct lks_apt_file *files, size_t n)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = overlay_one(fs, &files[i]);
	}
	if (fs->n) {
		qsort(fs->v, fs->n, sizeof(*fs->v), cmp_path);
	}
	return rc;
}

/* A signed-by keyring the Dockerfile put at any path. */
static int overlay_keyrings(struct lks_apt_config *c, const struct lks_imagefs *fs)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < c->sources.n; i++) {
		const char *sb = c->sources.v[i].signed_by;
		const struct lks_imagefs_file *f = sb ? lks_imagefs_get(fs, sb) : NULL;
		rc = f && f->data && !keyring_find(c, sb) ? keyring_add(c, f) : 0;
	}
	return rc;
}

int lks_apt_image_config(struct lks_ctx *ctx, const char *image_ref, const char *platform,
                         const struct lks_imagefs_opts *opts, struct lks_apt_config *c)
{
	return lks_apt_image_config_with(ctx, image_ref, platform, opts, NULL, 0, c);
}

int lks_apt_image_config_with(struct lks_ctx *ctx, const char *image_ref, const char *platform,
                              const struct lks_imagefs_opts *opts, const struct lks_apt_file *files,
                              size_t n_files, struct lks_apt_config *c)
{
	lks_apt_config_init(c);
	struct lks_imagefs fs;
	int rc = lks_imagefs_read(ctx, image_ref, platform, image_reqs, ARRAY_SIZE(image_reqs),
	                          opts, &fs);
	if (rc < 0) {
		return rc;
	}
	rc = overlay(&fs, files, n_files);
	rc = rc ? rc : set_ids(&fs, c);
	rc = rc ? rc : parse_conf(ctx, image_ref, &fs, c, false);
	rc = rc ? rc : check_apt(ctx, image_ref, &fs, c);
	rc = rc ? rc : parse_conf(ctx, image_ref, &fs, c, true);
	rc = rc ? rc : set_archs(ctx, image_ref, &fs, c);
	rc = rc ? rc : set_os(&fs, c);
	rc = rc ? rc : keyrings_from(c, &fs);
	rc = rc ? rc : overlay_keyrings(c, &fs);
	lks_imagefs_free(&fs);
	rc = rc ? rc : signed_by_keyrings(ctx, image_ref, platform, opts, c);
	if (rc < 0) {
		lks_apt_config_free(c);
	}
	return rc;
}

static bool same_source(const struct lks_apt_source *a, const struct lks_apt_source *b)
{
	return !strcmp(a->uri, b->uri) && !strcmp(a->suite, b->suite);
}

int lks_apt_config_add_source(struct lks_ctx *ctx, struct lks_apt_config *c, const char *text)
{
	struct lks_apt_sources add;
	lks_apt_sources_init(&add);
	bool deb822 = strstr(text, "URIs:") != NULL;
	int rc = deb822
	             ? lks_apt_sources_parse_deb822(ctx, &add, "--apt-source", text, strlen(text))
	             : lks_apt_sources_parse_list(ctx, &add, "--apt-source", text, strlen(text));
	if (rc == 0 && !add.n) {
		rc = lks_err(ctx, -LKS_E_INVAL, "--apt-source '%s' names no deb source", text);
	}
	size_t n0 = c->sources.n;
	struct lks_apt_source *v = NULL;
	if (rc == 0 && !(v = realloc(c->sources.v, (n0 + add.n) * sizeof(*v)))) {
		rc = -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < add.n; i++) {
		c->sources.v = v;
		size_t j = 0;
		while (j < c->sources.n && !same_source(&v[j], &add.v[i])) {
			j++;
		}
		if (j < c->sources.n) {
			apt_source_free(&v[j]);
		} else {
			c->sources.n++;
		}
		v[j] = add.v[i];
	}
	if (rc == 0) {
		add.n = 0; /* moved */
	}
	lks_apt_sources_free(&add);
	return rc;
}
