/* A base image's apt view per platform, and a pool of fetched indexes (see apt_env.h). */
#include "pinner/apt/apt_env.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_fetch.h"
#include "pinner/apt/apt_image.h"
#include "lockstep/aptpin.h"
#include "lockstep/buf.h"
#include "lockstep/cache.h"
#include "lockstep/imagefs.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/lockfile.h"

#define MAX_ARCHS 16

struct pooled_index {
	char *key;
	struct lks_apt_index idx;
};

struct apt_env_pool {
	const struct lks_aptpin_opts *o;
	struct apt_env **envs;
	size_t n_envs;
	struct pooled_index **idx; /* pointers: environments point into the entries */
	size_t n_idx;
};

struct apt_env_pool *apt_env_pool_new(const struct lks_aptpin_opts *o)
{
	struct apt_env_pool *p = calloc(1, sizeof(*p));
	if (p) {
		p->o = o;
	}
	return p;
}

static void env_free(struct apt_env *e)
{
	for (size_t i = 0; e && i < e->n; i++) {
		free(e->v[i].platform);
		free(e->v[i].arch);
		lks_apt_prefs_free(&e->v[i].prefs);
	}
	if (e) {
		free(e->v);
		free(e->image);
		free(e->want);
		free(e->files);
		free(e);
	}
}

void apt_env_pool_free(struct apt_env_pool *p)
{
	for (size_t i = 0; p && i < p->n_envs; i++) {
		env_free(p->envs[i]);
	}
	for (size_t i = 0; p && i < p->n_idx; i++) {
		free(p->idx[i]->key);
		lks_apt_index_free(&p->idx[i]->idx);
		free(p->idx[i]);
	}
	if (p) {
		free(p->envs);
		free(p->idx);
		free(p);
	}
}

/* ---- configuration ---- */

/* The user's --apt-source lines and --apt-sources-file files on top of the image's. */
static int add_user_sources(struct lks_ctx *ctx, const struct lks_aptpin_opts *o,
                            struct lks_apt_config *cfg)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < o->n_source_files; i++) {
		rc = lks_apt_sources_load(ctx, &cfg->sources, o->source_files[i]);
	}
	for (size_t i = 0; rc == 0 && i < o->n_sources; i++) {
		rc = lks_apt_config_add_source(ctx, cfg, o->sources[i]);
	}
	return rc;
}

/* What an environment is made of besides the image: its --apt-source lines and the files. */
struct env_in {
	const struct lks_aptpin_opts *o;
	const char *const *extra;
	const struct lks_apt_file *files;
	size_t n_files;
};

static int load_config(struct lks_ctx *ctx, const struct env_in *in, const char *image,
                       const char *platform, struct lks_apt_config *cfg)
{
	struct lks_imagefs_opts io = {.cache_get = lks_cache_get, .cache_put = lks_cache_put};
	const struct lks_aptpin_opts *o = in->o;
	int rc = lks_apt_image_config_with(ctx, image, platform, &io, in->files, in->n_files, cfg);
	rc = rc ? rc : add_user_sources(ctx, o, cfg);
	if (rc == 0 && cfg->sources.n == 0) {
		rc = lks_err(ctx, -LKS_E_NOTFOUND,
		             "image '%s' (%s) has no apt sources: add them with --apt-source",
		             image, platform);
	}
	return rc;
}

/* ---- indexes ---- */

static int archs_make(const struct lks_apt_config *cfg, const char *const *extra,
                      const char **archs)
{
	size_t n = 0;
	archs[n++] = cfg->arch;
	for (size_t pass = 0; pass < 2; pass++) {
		const char *const *v = pass ? extra : (const char *const *)cfg->archs;
		for (size_t i = 0; v && v[i] && n < MAX_ARCHS; i++) {
			bool dup = false;
			for (size_t j = 0; j < n && !dup; j++) {
				dup = !strcmp(archs[j], v[i]);
			}
			if (!dup) {
				archs[n++] = v[i];
			}
		}
	}
	archs[n] = NULL;
	return 0;
}

static int index_key(const struct lks_apt_config *cfg, const char *const *archs,
                     struct lks_buf *key)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && archs[i]; i++) {
		rc = lks_buf_printf(key, "%s ", archs[i]);
	}
	for (size_t i = 0; rc == 0 && i < cfg->sources.n; i++) {
		const struct lks_apt_source *s = &cfg->sources.v[i];
		const struct lks_apt_keyring *k = lks_apt_config_keyring(cfg, s);
		char sha[LKS_DIGEST_LEN + 1] = "";
		rc = k ? lks_sha256_buf(k->data, k->len, sha) : 0;
		rc = rc ? rc
		        : lks_buf_printf(key, "\n%s %s [%s %s]", s->uri, s->suite, k ? k->path : "",
		                         sha);
		for (char **c = s->components; rc == 0 && c && *c; c++) {
			rc = lks_buf_printf(key, " %s", *c);
		}
		for (char **a = s->archs; rc == 0 && a && *a; a++) {
			rc = lks_buf_printf(key, " arch=%s", *a);
		}
	}
	return rc;
}

/* The keyrings apt checks a source with: its signed-by, else trusted.gpg and trusted.gpg.d. */
static size_t source_keys(const struct lks_apt_config *cfg, const struct lks_apt_source *s,
                          const struct lks_apt_keyring **keys, size_t cap)
{
	const struct lks_apt_keyring *k = lks_apt_config_keyring(cfg, s);
	if (k) {
		keys[0] = k;
		return 1;
	}
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_keyrings && n < cap; i++) {
		if (!strncmp(cfg->keyrings[i].path, "/etc/apt/trusted.gpg", 20)) {
			keys[n++] = &cfg->keyrings[i];
		}
	}
	return n;
}

static int fetch(struct lks_ctx *ctx, const struct lks_apt_config *cfg, const char *const *archs,
                 struct lks_apt_index *idx)
{
	size_t n = cfg->sources.n, cap = cfg->n_keyrings + 1;
	struct lks_apt_fetch_src *fs = calloc(n + 1, sizeof(*fs));
	const struct lks_apt_keyring **keys = calloc((n + 1) * cap, sizeof(*keys));
	int rc = fs && keys ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		fs[i].src = &cfg->sources.v[i];
		fs[i].keys = keys + i * cap;
		fs[i].n_keys = source_keys(cfg, fs[i].src, keys + i * cap, cap);
	}
	lks_apt_index_init(idx);
	rc = rc ? rc : lks_apt_fetch_index(ctx, fs, n, archs, idx);
	free(keys);
	free(fs);
	return rc;
}

static int pooled(struct lks_ctx *ctx, struct apt_env_pool *p, const struct lks_apt_config *cfg,
                  const char *const *extra, const struct lks_apt_index **out)
{
	const char *archs[MAX_ARCHS + 1];
	struct lks_buf key;
	lks_buf_init(&key, 0);
	archs_make(cfg, extra, archs);
	int rc = index_key(cfg, archs, &key);
	for (size_t i = 0; rc == 0 && i < p->n_idx; i++) {
		if (!strcmp(p->idx[i]->key, key.data)) {
			*out = &p->idx[i]->idx;
			lks_buf_free(&key);
			return 0;
		}
	}
	struct pooled_index **nv = rc ? NULL : realloc(p->idx, (p->n_idx + 1) * sizeof(*nv));
	struct pooled_index *e = nv ? calloc(1, sizeof(*e)) : NULL;
	if (nv) {
		p->idx = nv;
	}
	rc = rc ? rc : e ? 0 : -ENOMEM;
	rc = rc ? rc : fetch(ctx, cfg, archs, &e->idx);
	if (rc == 0) {
		e->key = lks_buf_detach(&key);
		nv[p->n_idx++] = e;
		*out = &e->idx;
	} else if (e) {
		lks_apt_index_free(&e->idx);
		free(e);
	}
	lks_buf_free(&key);
	return rc;
}

/* ---- environments ---- */

static int plat_string(const struct lks_lock_platform *pl, char *out, size_t cap)
{
	int w = snprintf(out, cap, "%s/%s%s%s", pl->os ? pl->os : "linux",
	                 pl->architecture ? pl->architecture : "?", pl->variant ? "/" : "",
	                 pl->variant ? pl->variant : "");
	return w > 0 && (size_t)w < cap ? 0 : -LKS_E_TOOBIG;
}

/* FROM --platform=linux/arm64 keeps only that platform (a missing variant matches any). */
static bool plat_wanted(const char *want, const char *have)
{
	size_t n = strlen(want);
	return !want[0] || !strcmp(want, have) || (!strncmp(have, want, n) && have[n] == '/');
}

static int plat_make(struct lks_ctx *ctx, struct apt_env_pool *p, const char *image,
                     const char *platform, const struct env_in *in, struct apt_env_plat *pl)
{
	struct lks_apt_config cfg;
	lks_apt_config_init(&cfg);
	int rc = load_config(ctx, in, image, platform, &cfg);
	rc = rc ? rc : pooled(ctx, p, &cfg, in->extra, &pl->idx);
	if (rc == 0) {
		pl->platform = strdup(platform);
		pl->arch = strdup(cfg.arch);
		pl->prefs = cfg.prefs; /* moved */
		lks_apt_prefs_init(&cfg.prefs);
		rc = pl->platform && pl->arch ? 0 : -ENOMEM;
	}
	lks_apt_config_free(&cfg);
	return rc;
}

static int env_make(struct lks_ctx *ctx, struct apt_env_pool *p, const char *image,
                    const struct lks_lock_image *img, const char *want, const struct env_in *in,
                    struct apt_env *e)
{
	e->image = strdup(image);
	e->want = want ? strdup(want) : NULL;
	e->v = calloc(img->n_platforms + 1, sizeof(*e->v));
	int rc = e->image && e->v && e->files && (e->want || !want) ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < img->n_platforms; i++) {
		char plat[256];
		rc = plat_string(&img->platforms[i], plat, sizeof(plat));
		if (rc == 0 && want && !plat_wanted(want, plat)) {
			continue;
		}
		rc = rc ? rc : plat_make(ctx, p, image, plat, in, &e->v[e->n]);
		e->n += rc == 0;
	}
	if (rc == 0 && e->n == 0) {
		rc = lks_err(ctx, -LKS_E_NOTFOUND, "image '%s' has no platform '%s'", image,
		             want ? want : "?");
	}
	return rc;
}

/* One digest for the files, so that environments with the same files are shared. */
static int files_key(const struct lks_apt_file *files, size_t n, char **out)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	int rc = lks_buf_puts(&b, "");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc =
		    lks_buf_printf(&b, "%s %d %zu\n", files[i].path, files[i].append, files[i].len);
		rc = rc ? rc : lks_buf_append(&b, files[i].data, files[i].len);
	}
	char sha[LKS_DIGEST_LEN + 1] = "";
	rc = rc || n == 0 ? rc : lks_sha256_buf(b.data, b.len, sha);
	lks_buf_free(&b);
	*out = rc ? NULL : strdup(sha);
	return rc ? rc : *out ? 0 : -ENOMEM;
}

int apt_env_get(struct lks_ctx *ctx, struct apt_env_pool *p, const char *image,
                const struct lks_lock_image *img, const char *platform, const char *const *extra,
                const struct lks_apt_file *files, size_t n_files, struct apt_env **out)
{
	char *fk = NULL;
	int rc = files_key(files, n_files, &fk);
	for (size_t i = 0; rc == 0 && i < p->n_envs; i++) {
		const char *w = p->envs[i]->want;
		if (!strcmp(p->envs[i]->image, image) && !strcmp(p->envs[i]->files, fk) &&
		    !strcmp(w ? w : "", platform ? platform : "")) {
			free(fk);
			*out = p->envs[i];
			return 0;
		}
	}
	struct apt_env **nv = rc ? NULL : realloc(p->envs, (p->n_envs + 1) * sizeof(*nv));
	struct apt_env *e = nv ? calloc(1, sizeof(*e)) : NULL;
	if (nv) {
		p->envs = nv;
	}
	struct env_in in = {p->o, extra, files, n_files};
	if (e) {
		e->files = fk;
		fk = NULL;
	}
	free(fk);
	rc = rc ? rc : e ? env_make(ctx, p, image, img, platform, &in, e) : -ENOMEM;
	if (rc < 0) {
		env_free(e);
		return rc;
	}
	p->envs[p->n_envs++] = e;
	*out = e;
	return 0;
}
