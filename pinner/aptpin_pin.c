/* pin for the apt pinner: base image per stage, its apt configuration per platform, the
 * indexes, and the rewrite of each RUN's package words (see aptpin.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/apt_cmd.h"
#include "lockstep/apt_pin.h"
#include "lockstep/apt_resolve.h"
#include "lockstep/aptpin.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/findings.h"
#include "lockstep/lockfile.h"
#include "lockstep/workspace.h"
#include "aptenv.h"
#include "aptpin_int.h"

/* The base image of one stage, as pinned by the image pinner. */
struct stage {
	char *name;        /* AS name, lowercased, or NULL */
	char *base;        /* reference with digest, NULL when none */
	char *platform;    /* FROM --platform when literal, else NULL */
	const struct lks_lock_image *img; /* the lock entry of its FROM (platforms) */
	size_t line;       /* of the FROM that named the image */
	bool scratch;      /* FROM scratch (or a stage FROM scratch): no apt */
	struct aptenv *env; /* resolved lazily, owned by the pool */
};

struct stages {
	struct stage *v;
	size_t n;
};

static void stages_free(struct stages *s)
{
	for (size_t i = 0; s->v && i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].base);
		free(s->v[i].platform);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *c = d; c && *c; c++) {
		*c = (char)tolower((unsigned char)*c);
	}
	return d;
}

/* A FROM naming an earlier stage (by name or index) inherits its base. */
static bool inherit(struct stages *s, const char *arg, struct stage *st)
{
	_cleanup_free_ char *v = lower_dup(arg);
	char *end;
	long k = v ? strtol(v, &end, 10) : -1;
	for (size_t j = 0; v && j < s->n; j++) {
		const struct stage *p = &s->v[j];
		if ((p->name && !strcmp(p->name, v)) || (*v && !*end && k == (long)j)) {
			st->base = p->base ? strdup(p->base) : NULL;
			st->platform = p->platform ? strdup(p->platform) : NULL;
			st->img = p->img;
			st->line = p->line;
			st->scratch = p->scratch;
			return true;
		}
	}
	st->scratch = v && !strcmp(v, "scratch");
	return false;
}

static void from_image(struct lks_lock *lock, const char *path, const struct lks_df_image *img,
		       struct stage *st)
{
	st->line = img->line;
	if (img->platform && !strchr(img->platform, '$')) {
		st->platform = strdup(img->platform);
	}
	if (!img->expanded || !img->has_digest) {
		return; /* the image pinner reports it */
	}
	st->base = strdup(img->expanded);
	st->img = lks_lock_find_image(lock, path, img->written, (long)img->line);
}

static int stages_make(struct lks_ctx *ctx, const struct aptpin_file *f, struct lks_lock *lock,
		       struct stages *s)
{
	struct lks_df_image *imgs = NULL;
	size_t ni = 0;
	int rc = lks_dockerfile_images(ctx, f->df, &imgs, &ni);
	s->v = calloc(f->df->ninstrs + 1, sizeof(*s->v));
	rc = rc ? rc : s->v ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < f->df->ninstrs; i++) {
		const struct lks_df_instr *in = &f->df->instrs[i];
		if (strcmp(in->keyword, "FROM") || in->nargs < 1) {
			continue;
		}
		struct stage *st = &s->v[s->n];
		const struct lks_df_image *img = NULL;
		for (size_t k = 0; k < ni && !img; k++) {
			if (imgs[k].kind == LKS_DF_IMG_FROM && imgs[k].stage == (int)s->n) {
				img = &imgs[k];
			}
		}
		if (img) {
			from_image(lock, f->path, img, st);
		} else {
			inherit(s, in->args[0].value, st);
		}
		st->name = in->nargs == 3 ? lower_dup(in->args[2].value) : NULL;
		s->n++;
	}
	lks_df_images_free(imgs, ni);
	return rc;
}

/* ---- one RUN unit ---- */

struct unit_pin {
	struct lks_apt_pin_result *res; /* per platform */
	size_t nplat;
};

static void unit_pin_free(struct unit_pin *p)
{
	for (size_t i = 0; p->res && i < p->nplat; i++) {
		lks_apt_pin_result_free(&p->res[i]);
	}
	free(p->res);
	memset(p, 0, sizeof(*p));
}

static int resolve_unit(struct lks_ctx *ctx, const struct aptenv *env,
			const struct aptrun_unit *u, struct unit_pin *p)
{
	p->res = calloc(env->n + 1, sizeof(*p->res));
	if (!p->res) {
		return -ENOMEM;
	}
	p->nplat = env->n;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < env->n; i++) {
		const struct aptenv_plat *pl = &env->v[i];
		struct lks_apt_policy pol;
		struct lks_buf tmp;
		lks_buf_init(&tmp, 0);
		rc = lks_apt_policy_init(ctx, &pol, pl->idx, &pl->prefs, NULL, pl->arch);
		rc = rc ? rc : lks_apt_pin_command(ctx, &pol, u->text, u->len, &tmp, &p->res[i]);
		lks_apt_policy_free(&pol);
		lks_buf_free(&tmp);
	}
	return rc;
}
