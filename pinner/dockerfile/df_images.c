/* Image references of a parsed Dockerfile: FROM, COPY/ADD --from, RUN --mount from=,
 * collected as written, then evaluated per target platform (df_platform.c). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/array.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "pinner/dockerfile/df_images.h"
#include "pinner/dockerfile/df_images_int.h"

void lks_df_images_free(struct lks_df_image *imgs, size_t n)
{
	for (size_t i = 0; imgs && i < n; i++) {
		struct lks_df_image *m = &imgs[i];
		free(m->written);
		free(m->expanded);
		free(m->blocked_by);
		free(m->per_platform);
		for (size_t k = 0; k < m->nargs_used; k++) {
			free(m->args_used[k]);
		}
		free(m->args_used);
		free(m->stage_name);
		free(m->platform);
	}
	free(imgs);
}

void dfi_state_free(struct dfi_state *st)
{
	for (size_t i = 0; i < st->nstages; i++) {
		free(st->stages[i]);
	}
	free(st->stages);
	free(st->refs);
	free(st->meta);
	free(st->first_ref);
	free(st->variant);
	df_names_free(&st->names);
	free(st->by_name);
	free(st->grp_start);
	memset(st, 0, sizeof(*st));
}

/* Record text[a..b) of instruction st->instr as a reference of the current stage. */
static int add_ref(struct dfi_state *st, enum lks_df_image_kind kind, const char *text,
                   const size_t *pos, size_t a, size_t b, const char *platform)
{
	if (b == a) {
		return 0;
	}
	int rc = LKS_GROW(st->refs, st->caprefs, st->nrefs + 1, 4);
	if (rc < 0) {
		return rc;
	}
	struct dfi_ref *r = &st->refs[st->nrefs++];
	*r = (struct dfi_ref){.kind = kind,
	                      .text = text,
	                      .pos = pos,
	                      .a = a,
	                      .b = b,
	                      .instr = st->instr,
	                      .onbuild = st->onbuild,
	                      .platform = platform};
	/* FROM belongs to the stage it starts and cannot name it (FROM foo AS foo names the
	 * image); the others belong to the current stage and may name any stage so far */
	r->known = st->nstages;
	r->stage = kind == LKS_DF_IMG_FROM ? st->nstages : st->nstages - 1;
	return 0;
}

static const struct lks_df_flag *find_flag(const struct lks_df_instr *in, const char *name)
{
	const struct lks_df_flag *f = NULL;
	for (size_t i = 0; i < in->nflags; i++) {
		if (!strcmp(in->flags[i].name, name)) {
			f = &in->flags[i]; /* the last one wins, as in BuildKit */
		}
	}
	return f;
}

/* Index in f->text where the value starts (after the first '='), or 0 when none. */
static size_t value_start(const struct lks_df_flag *f)
{
	const char *eq = strchr(f->text, '=');
	return eq ? (size_t)(eq - f->text) + 1 : 0;
}

static int stage_push(struct dfi_state *st, const char *name)
{
	int rc = LKS_GROW(st->stages, st->capstages, st->nstages + 1, 4);
	if (rc < 0) {
		return rc;
	}
	char *s = name ? strdup(name) : NULL;
	if (name && !s) {
		return -ENOMEM;
	}
	for (char *c = s; c && *c; c++) {
		*c = (char)tolower((unsigned char)*c);
	}
	st->stages[st->nstages++] = s;
	return 0;
}

static int do_from(struct dfi_state *st, const struct lks_df_instr *in)
{
	const struct lks_df_flag *pf = find_flag(in, "platform");
	const char *platform = pf ? pf->text + value_start(pf) : NULL;
	if (pf && !value_start(pf)) {
		platform = "";
	}
	const struct lks_df_word *w = &in->args[0];
	int rc = add_ref(st, LKS_DF_IMG_FROM, w->text, w->pos, 0, strlen(w->text), platform);
	return rc < 0 ? rc : stage_push(st, in->nargs == 3 ? in->args[2].value : NULL);
}

static int do_copy(struct dfi_state *st, const struct lks_df_instr *in)
{
	const struct lks_df_flag *f = find_flag(in, "from");
	size_t a = f ? value_start(f) : 0;
	if (!a) {
		return 0;
	}
	return add_ref(st, LKS_DF_IMG_COPY_FROM, f->text, f->pos, a, strlen(f->text), NULL);
}

/* The from= field of a --mount CSV value; fields may be double-quoted. */
static int mount_from(struct dfi_state *st, const struct lks_df_flag *f)
{
	size_t i = value_start(f), n = strlen(f->text);
	if (!i) {
		return 0;
	}
	while (i < n) {
		size_t a = i;
		bool q = false;
		while (i < n && (q || f->text[i] != ',')) {
			q ^= f->text[i] == '"';
			i++;
		}
		const char *eq = memchr(f->text + a, '=', i - a);
		size_t k = a;
		k += f->text[k] == '"';
		if (eq && (size_t)(eq - f->text) - k == 4 && !strncasecmp(f->text + k, "from", 4)) {
			size_t va = (size_t)(eq - f->text) + 1, vb = i;
			if (f->text[a] == '"' && vb > va && f->text[vb - 1] == '"') {
				vb--;
			}
			return add_ref(st, LKS_DF_IMG_MOUNT_FROM, f->text, f->pos, va, vb, NULL);
		}
		i++;
	}
	return 0;
}

static int do_run(struct dfi_state *st, const struct lks_df_instr *in)
{
	for (size_t i = 0; i < in->nflags; i++) {
		if (!strcmp(in->flags[i].name, "mount")) {
			int rc = mount_from(st, &in->flags[i]);
			if (rc < 0) {
				return rc;
			}
		}
	}
	return 0;
}

static int do_instr(struct dfi_state *st, const struct lks_df_instr *in)
{
	const char *k = in->keyword;
	if (!strcmp(k, "ARG") && st->nstages == 0 && !st->onbuild) {
		int rc = LKS_GROW(st->meta, st->capmeta, st->nmeta + 1, 4);
		return rc < 0 ? rc : (st->meta[st->nmeta++] = in, 0);
	}
	if (!strcmp(k, "FROM") && !st->onbuild) {
		return do_from(st, in);
	}
	if (!strcmp(k, "COPY")) {
		return do_copy(st, in);
	}
	if (!strcmp(k, "RUN")) {
		return do_run(st, in);
	}
	if (!strcmp(k, "ONBUILD") && in->sub) {
		st->onbuild = true;
		int rc = do_instr(st, in->sub);
		st->onbuild = false;
		return rc;
	}
	return 0;
}

/* The name table: stages grouped by name (a counting sort by name id, stages ascending). */
static int index_names(struct dfi_state *st)
{
	size_t *grp = calloc(st->nstages + 1, sizeof(*grp));
	st->by_name = calloc(st->nstages + 1, sizeof(*st->by_name));
	st->grp_start = calloc(st->nstages + 2, sizeof(*st->grp_start));
	int rc = grp && st->by_name && st->grp_start ? 0 : -ENOMEM;
	for (size_t s = 0; rc == 0 && s < st->nstages; s++) {
		if (st->stages[s]) {
			rc = df_names_add(&st->names, st->stages[s], &grp[s]);
			rc = rc < 0 ? rc : 0;
			st->grp_start[grp[s] + 1]++;
		}
	}
	for (size_t g = 0; rc == 0 && g < st->names.n; g++) {
		st->grp_start[g + 1] += st->grp_start[g];
	}
	size_t *fill = rc == 0 ? calloc(st->names.n + 1, sizeof(*fill)) : NULL;
	rc = rc ? rc : fill ? 0 : -ENOMEM;
	for (size_t s = 0; rc == 0 && s < st->nstages; s++) {
		if (st->stages[s]) {
			st->by_name[st->grp_start[grp[s]] + fill[grp[s]]++] = s;
		}
	}
	free(fill);
	free(grp);
	return rc;
}

long dfi_stage_find(const struct dfi_state *st, const char *v, size_t known)
{
	long id = df_names_find(&st->names, v);
	if (id < 0) {
		return -1;
	}
	/* the last stage of the name below known: binary search (names may repeat) */
	size_t g = (size_t)id, lo = st->grp_start[g], hi = st->grp_start[g + 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->by_name[mid] < known) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo > st->grp_start[g] ? (long)st->by_name[lo - 1] : -1;
}

/* Stages, global ARGs and references as written; first_ref[s] is where the references of
 * stage s start (they are in file order, so each stage's form one run). */
static int collect(struct dfi_state *st)
{
	for (st->instr = 0; st->instr < st->df->ninstrs; st->instr++) {
		int rc = do_instr(st, &st->df->instrs[st->instr]);
		if (rc < 0) {
			return rc;
		}
	}
	int rc = index_names(st);
	if (rc < 0) {
		return rc;
	}
	st->first_ref = calloc(st->nstages + 1, sizeof(*st->first_ref));
	st->variant = calloc(st->nstages + 1, sizeof(*st->variant));
	if (!st->first_ref || !st->variant) {
		return -ENOMEM;
	}
	size_t r = 0;
	for (size_t s = 0; s <= st->nstages; s++) {
		while (r < st->nrefs && st->refs[r].stage < s) {
			r++;
		}
		st->first_ref[s] = r;
	}
	return 0;
}

int lks_dockerfile_images(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                          struct lks_df_image **out, size_t *n)
{
	return lks_dockerfile_images_on(ctx, df, NULL, out, n);
}

int lks_dockerfile_images_on(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                             const struct lks_platforms *platforms, struct lks_df_image **out,
                             size_t *n)
{
	struct dfi_state st = {.ctx = ctx, .df = df};
	*out = NULL;
	*n = 0;
	int rc = collect(&st);
	if (rc == 0) {
		rc = dfi_evaluate(&st, platforms, out, n);
	}
	dfi_state_free(&st);
	if (rc < 0) {
		return lks_err(ctx, rc, "%s: cannot list image references: %s", df->name,
		               lks_strerror(rc));
	}
	return 0;
}
