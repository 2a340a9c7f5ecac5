/* Evaluation of a Dockerfile's image references per target platform, as BuildKit evaluates
 * them: the platform ARGs in the global scope, stages built on a platform, and for each
 * reference the image (or the blocking ARG) on every platform considered. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/array.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/platform.h"
#include "pinner/dockerfile/df_expand.h"
#include "pinner/dockerfile/df_images_int.h"

#define REF_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@-"

static const char *const platform_arg_names[] = {
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
    "BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",
};

/* Where a platform variant may be used: the platforms projects build for. Together with the
 * platforms considered, a reference whose value differs between two of them depends on the
 * platform. */
static const char *const common_platforms =
    "linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v6,linux/386,linux/ppc64le,linux/s390x,"
    "linux/riscv64,linux/mips64le,linux/mips64,linux/loong64,windows/amd64,windows/arm64,"
    "darwin/amd64,darwin/arm64,freebsd/amd64";

static bool is_platform_arg(const char *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(platform_arg_names); i++) {
		if (strlen(platform_arg_names[i]) == n && !memcmp(platform_arg_names[i], name, n)) {
			return true;
		}
	}
	return false;
}

/* What the platforms considered say about one reference. */
struct acc {
	char *value; /* the image on the first platform where it is one */
	char *blocked_by;
	enum lks_df_block why;
	bool differs;
	bool stage; /* a stage (or scratch) on some platform */
	uint64_t mask;
	struct lks_buf per; /* "platform: image" for each platform where it is one */
	char **used;        /* ARG names referenced, platform ARGs left out */
	size_t nused, capused;
};

static void acc_free(struct acc *a)
{
	free(a->value);
	free(a->blocked_by);
	lks_buf_free(&a->per);
	for (size_t i = 0; i < a->nused; i++) {
		free(a->used[i]);
	}
	free(a->used);
}

/* The platform ARGs of p, then the global ARGs with their defaults expanded in order. A
 * global `ARG TARGETARCH` without a default keeps the platform's value, as in BuildKit. */
static int platform_args(const struct dfi_state *st, const struct lks_platform *p,
                         struct df_args *args)
{
	char full[LKS_PLATFORM_TEXT];
	const char *vals[] = {lks_platform_format(p, full), p->os, p->arch, p->variant};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(platform_arg_names); i++) {
		const char *v = vals[i % 4];
		rc = df_args_set(args, platform_arg_names[i], strlen(platform_arg_names[i]), v,
		                 strlen(v), '\\');
		if (rc == 0) {
			args->v[args->n - 1].platform_dep = true;
		}
	}
	for (size_t m = 0; rc == 0 && m < st->nmeta; m++) {
		const struct lks_df_instr *in = st->meta[m];
		for (size_t i = 0; rc == 0 && i < in->nargs; i++) {
			const char *t = in->args[i].text;
			const char *eq = strchr(t, '=');
			size_t nn = eq ? (size_t)(eq - t) : strlen(t);
			if (!eq && is_platform_arg(t, nn)) {
				continue;
			}
			rc = df_args_set(args, t, nn, eq ? eq + 1 : NULL, eq ? strlen(eq + 1) : 0,
			                 st->df->escape);
		}
	}
	return rc;
}

/* What v names for reference r: a stage index >= 0, -2 for scratch or a stage number (not an
 * image, no stage to build), -1 for an image (or nothing known: v NULL). */
static long stage_of(const struct dfi_state *st, const struct dfi_ref *r, const char *v)
{
	if (!v) {
		return -1;
	}
	if (!strcasecmp(v, "scratch")) {
		return -2;
	}
	if (*v && strspn(v, "0123456789") == strlen(v)) {
		return -2;
	}
	return dfi_stage_find(st, v, r->known);
}

static int expand_ref(const struct dfi_state *st, const struct df_args *args,
                      const struct dfi_ref *r, struct df_expansion *x)
{
	return df_expand(args, r->text + r->a, r->b - r->a, st->df->escape, x);
}

/* The stage v names, a digest written after it left out (a pinned pattern is still one). */
static long stage_named(const struct dfi_state *st, const struct dfi_ref *r, char *v)
{
	char *at = v ? strchr(v, '@') : NULL;
	if (at) {
		*at = '\0';
	}
	return stage_of(st, r, v);
}

/* The platform-dependent references (dep) on each platform of `all`: one whose value is not
 * the same on all of them makes the stages it names there variants. */
static int find_variants(struct dfi_state *st, const struct lks_platforms *all, const bool *dep)
{
	char **first = calloc(st->nrefs + 1, sizeof(*first));
	bool *differs = calloc(st->nrefs + 1, sizeof(*differs));
	long *named = calloc(st->nrefs * all->n + 1, sizeof(*named));
	int rc = first && differs && named ? 0 : -ENOMEM;
	for (size_t p = 0; rc == 0 && p < all->n; p++) {
		struct df_args args = {0};
		rc = platform_args(st, &all->v[p], &args);
		for (size_t i = 0; rc == 0 && i < st->nrefs; i++) {
			struct df_expansion x;
			if (!dep[i] || (rc = expand_ref(st, &args, &st->refs[i], &x))) {
				continue;
			}
			const char *v = x.value ? x.value : "";
			if (!first[i]) {
				rc = (first[i] = strdup(v)) ? 0 : -ENOMEM;
			}
			differs[i] |= rc == 0 && (strcmp(first[i], v) || !x.value);
			named[i * all->n + p] = stage_named(st, &st->refs[i], x.value);
			df_expansion_free(&x);
		}
		df_args_free(&args);
	}
	for (size_t i = 0; rc == 0 && i < st->nrefs; i++) {
		for (size_t p = 0; differs[i] && p < all->n; p++) {
			long t = named[i * all->n + p];
			if (t >= 0) {
				st->variant[t] = true;
			}
		}
	}
	for (size_t i = 0; first && i < st->nrefs; i++) {
		free(first[i]);
	}
	free(first);
	free(differs);
	free(named);
	return rc;
}

/* live[s]: stage s is built on this platform: every stage that is not a variant, and the
 * variants a built stage names here (ONBUILD triggers do not run in this build). */
static int mark_live(const struct dfi_state *st, const struct df_expansion *const *x, bool *live)
{
	size_t *todo = calloc(st->nstages + 1, sizeof(*todo)), nt = 0;
	if (!todo) {
		return -ENOMEM;
	}
	for (size_t s = 0; s < st->nstages; s++) {
		live[s] = !st->variant[s];
		if (live[s]) {
			todo[nt++] = s;
		}
	}
	while (nt) {
		size_t s = todo[--nt];
		for (size_t i = st->first_ref[s]; i < st->first_ref[s + 1]; i++) {
			long t = st->refs[i].onbuild ? -1 : stage_of(st, &st->refs[i], x[i]->value);
			if (t >= 0 && !live[t]) {
				live[t] = true;
				todo[nt++] = (size_t)t;
			}
		}
	}
	free(todo);
	return 0;
}

static int note_used(struct acc *a, const struct df_expansion *x)
{
	for (size_t k = 0; k < x->nused; k++) {
		const char *u = x->used[k];
		bool have = is_platform_arg(u, strlen(u));
		for (size_t j = 0; !have && j < a->nused; j++) {
			have = !strcmp(a->used[j], u);
		}
		if (have) {
			continue;
		}
		int rc = LKS_GROW(a->used, a->capused, a->nused + 1, 4);
		if (rc < 0 || !(a->used[a->nused] = strdup(u))) {
			return -ENOMEM;
		}
		a->nused++;
	}
	return 0;
}

/* Fold what reference r is on platform p (index pi) into a. A stage on one platform and an
 * image on another cannot take a digest either: written after it, the digest would turn the
 * stage into an image reference. */
static int fold(const struct dfi_state *st, const struct dfi_ref *r, const struct df_expansion *x,
                const struct lks_platform *p, size_t pi, struct acc *a)
{
	char t[LKS_PLATFORM_TEXT];
	if (x->value && stage_of(st, r, x->value) != -1) {
		a->stage = true;
		return lks_buf_printf(&a->per, "%s%s: stage %s", a->per.len ? ", " : "",
		                      lks_platform_format(p, t), x->value);
	}
	a->mask |= (uint64_t)1 << pi;
	int rc = note_used(a, x);
	if (rc < 0 || !x->value) {
		if (rc == 0 && !a->blocked_by) {
			a->why = x->why;
			rc = (a->blocked_by = strdup(x->blocked_by)) ? 0 : -ENOMEM;
		}
		return rc;
	}
	if (!a->value) {
		rc = (a->value = strdup(x->value)) ? 0 : -ENOMEM;
	} else {
		a->differs |= strcmp(a->value, x->value) != 0;
	}
	return rc ? rc
	          : lks_buf_printf(&a->per, "%s%s: %s", a->per.len ? ", " : "",
	                           lks_platform_format(p, t), x->value);
}

/* Every reference on the first platform: what the others reuse where nothing depends on the
 * platform (dep[i] false). */
static int eval_first(const struct dfi_state *st, const struct lks_platforms *plats,
                      struct df_expansion *x0, bool *dep)
{
	struct df_args args = {0};
	int rc = platform_args(st, &plats->v[0], &args);
	for (size_t i = 0; rc == 0 && i < st->nrefs; i++) {
		rc = expand_ref(st, &args, &st->refs[i], &x0[i]);
		dep[i] = x0[i].platform_dep;
	}
	df_args_free(&args);
	return rc;
}

/* Evaluate the references on platform pi of the list (those that do not depend on the
 * platform: as on the first, x0) and fold them into acc. */
static int eval_platform(const struct dfi_state *st, const struct lks_platforms *plats, size_t pi,
                         const struct df_expansion *x0, const bool *dep, struct acc *acc)
{
	struct df_args args = {0};
	struct df_expansion *x = calloc(st->nrefs + 1, sizeof(*x));
	const struct df_expansion **xs = calloc(st->nrefs + 1, sizeof(*xs));
	bool *live = calloc(st->nstages + 1, sizeof(*live));
	int rc = x && xs && live ? 0 : -ENOMEM;
	bool any = false;
	for (size_t i = 0; rc == 0 && i < st->nrefs; i++) {
		any |= pi > 0 && dep[i];
	}
	rc = rc == 0 && any ? platform_args(st, &plats->v[pi], &args) : rc;
	for (size_t i = 0; rc == 0 && i < st->nrefs; i++) {
		bool own = pi > 0 && dep[i];
		rc = own ? expand_ref(st, &args, &st->refs[i], &x[i]) : 0;
		xs[i] = own ? &x[i] : &x0[i];
	}
	rc = rc ? rc : mark_live(st, xs, live);
	for (size_t i = 0; rc == 0 && i < st->nrefs; i++) {
		if (live[st->refs[i].stage]) {
			rc = fold(st, &st->refs[i], xs[i], &plats->v[pi], pi, &acc[i]);
		}
	}
	for (size_t i = 0; x && i < st->nrefs; i++) {
		df_expansion_free(&x[i]);
	}
	free(x);
	free(xs);
	free(live);
	df_args_free(&args);
	return rc;
}

/* The line of offset off of instruction in (the instruction's first line plus the newlines
 * between them). */
static size_t line_of(const struct lks_dockerfile *df, const struct lks_df_instr *in, size_t off)
{
	size_t line = in->start_line;
	for (const char *c = df->data + in->off; (c = memchr(c, '\n', df->data + off - c)); c++) {
		line++;
	}
	return line;
}

static bool ref_valid(const char *t)
{
	const char *at = strchr(t, '@');
	return *t && strspn(t, REF_CHARS) == strlen(t) && (!at || !strchr(at + 1, '@'));
}

/* The public entry for reference r from what the platforms said (a). */
static int make_image(const struct dfi_state *st, const struct dfi_ref *r, struct acc *a,
                      struct lks_df_image *m)
{
	const struct lks_df_instr *in = &st->df->instrs[r->instr];
	const char *stage = st->stages[r->stage];
	m->kind = r->kind;
	m->written = strndup(r->text + r->a, r->b - r->a);
	m->off = r->pos[r->a];
	m->len = r->pos[r->b - 1] + 1 - r->pos[r->a];
	m->contiguous = m->len == r->b - r->a;
	m->line = line_of(st->df, in, m->off);
	m->instr = r->instr;
	m->stage = (int)r->stage;
	m->onbuild = r->onbuild;
	m->platforms = a->mask;
	m->blocked_by = TAKE_PTR(a->blocked_by);
	m->blocked_why = m->blocked_by ? a->why : LKS_DF_BLOCK_NO_DEFAULT;
	a->differs |= a->stage;
	if (!m->blocked_by && a->differs) {
		m->per_platform = lks_buf_detach(&a->per);
	} else if (!m->blocked_by) {
		m->expanded = TAKE_PTR(a->value);
	}
	m->args_used = calloc(a->nused + 1, sizeof(char *));
	if (m->args_used && a->nused) {
		memcpy(m->args_used, a->used, a->nused * sizeof(char *));
		m->nargs_used = a->nused;
		a->nused = 0;
	}
	m->stage_name = stage ? strdup(stage) : NULL;
	m->platform = r->platform ? strdup(r->platform) : NULL;
	if (!m->written || !m->args_used || (stage && !m->stage_name) ||
	    (r->platform && !m->platform) || (a->differs && !m->blocked_by && !m->per_platform)) {
		return -ENOMEM;
	}
	m->has_digest = strchr(m->expanded ? m->expanded : m->written, '@') != NULL;
	m->valid = !m->expanded || ref_valid(m->expanded);
	return 0;
}

static int build_list(const struct dfi_state *st, struct acc *acc, struct lks_df_image **out,
                      size_t *n)
{
	size_t cnt = 0;
	for (size_t i = 0; i < st->nrefs; i++) {
		cnt += acc[i].mask != 0;
	}
	struct lks_df_image *v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < st->nrefs; i++) {
		if (acc[i].mask) {
			rc = make_image(st, &st->refs[i], &acc[i], &v[k++]);
		}
	}
	if (rc < 0) {
		lks_df_images_free(v, k);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* The platforms considered and, to find the variants, the common ones too. */
static int evaluate(struct dfi_state *st, const struct lks_platforms *plats, struct acc *acc)
{
	struct df_expansion *x0 = calloc(st->nrefs + 1, sizeof(*x0));
	bool *dep = calloc(st->nrefs + 1, sizeof(*dep)), anydep = false;
	int rc = x0 && dep ? eval_first(st, plats, x0, dep) : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < st->nrefs; i++) {
		anydep |= dep[i];
	}
	if (rc == 0 && anydep) { /* else no reference depends on the platform: no variants */
		struct lks_platforms all = *plats;
		rc = lks_platforms_add(NULL, &all, common_platforms);
		rc = rc == -LKS_E_TOOBIG ? 0 : rc;
		rc = rc ? rc : find_variants(st, &all, dep);
	}
	for (size_t p = 0; rc == 0 && p < plats->n; p++) {
		rc = eval_platform(st, plats, p, x0, dep, acc);
	}
	for (size_t i = 0; x0 && i < st->nrefs; i++) {
		df_expansion_free(&x0[i]);
	}
	free(x0);
	free(dep);
	return rc;
}

int dfi_evaluate(struct dfi_state *st, const struct lks_platforms *platforms,
                 struct lks_df_image **out, size_t *n)
{
	struct lks_platforms def = {0};
	int rc =
	    platforms && platforms->n ? 0 : lks_platforms_add(NULL, &def, LKS_PLATFORMS_DEFAULT);
	const struct lks_platforms *plats = platforms && platforms->n ? platforms : &def;
	struct acc *acc = calloc(st->nrefs + 1, sizeof(*acc));
	rc = rc ? rc : acc ? evaluate(st, plats, acc) : -ENOMEM;
	if (rc == 0) {
		rc = build_list(st, acc, out, n);
	}
	for (size_t i = 0; acc && i < st->nrefs; i++) {
		acc_free(&acc[i]);
	}
	free(acc);
	return rc;
}
