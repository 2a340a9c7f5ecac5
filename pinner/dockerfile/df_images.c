/* Image references of a parsed Dockerfile: FROM, COPY/ADD --from, RUN --mount from=. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "pinner/dockerfile/df_expand.h"
#include "pinner/dockerfile/df_int.h"

/* Platform ARGs BuildKit defines for FROM: their values depend on the build machine. */
static const char *const builtin_args[] = {
    "BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
};

#define REF_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@-"

struct img_state {
	struct lks_ctx *ctx;
	const struct lks_dockerfile *df;
	struct df_args args;
	char **stages; /* lowercased AS names (NULL entries for unnamed stages) */
	size_t nstages, capstages;
	/* Stage names by hash (index + 1 into stages, 0 empty): a lookup per reference must not
	 * walk every stage (60,000 FROM lines). */
	uint32_t *names;
	size_t names_cap, names_n;
	struct lks_df_image *imgs;
	size_t n, cap;
	size_t instr;
	bool onbuild;
	size_t line_off, line_no; /* a reference's line is counted on from the last one's */
};

void lks_df_images_free(struct lks_df_image *imgs, size_t n)
{
	for (size_t i = 0; imgs && i < n; i++) {
		struct lks_df_image *m = &imgs[i];
		free(m->written);
		free(m->expanded);
		free(m->blocked_by);
		for (size_t k = 0; k < m->nargs_used; k++) {
			free(m->args_used[k]);
		}
		free(m->args_used);
		free(m->stage_name);
		free(m->platform);
	}
	free(imgs);
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 16777619u;
	}
	return h ^ (h >> 15);
}

/* The slot of name (matched without case) in the table: its entry or the empty slot. */
static size_t name_slot(const struct img_state *st, const char *name)
{
	size_t mask = st->names_cap - 1, i = name_hash(name) & mask;
	while (st->names[i] && strcasecmp(st->stages[st->names[i] - 1], name)) {
		i = (i + 1) & mask;
	}
	return i;
}

static int names_add(struct img_state *st, size_t stage)
{
	if ((st->names_n + 1) * 2 > st->names_cap) {
		size_t ocap = st->names_cap, ncap = ocap ? 2 * ocap : 64;
		uint32_t *old = st->names;
		if (!(st->names = calloc(ncap, sizeof(*st->names)))) {
			st->names = old;
			return -ENOMEM;
		}
		st->names_cap = ncap;
		for (size_t i = 0; i < ocap; i++) {
			if (old[i]) {
				st->names[name_slot(st, st->stages[old[i] - 1])] = old[i];
			}
		}
		free(old);
	}
	size_t k = name_slot(st, st->stages[stage]);
	if (!st->names[k]) { /* a repeated name keeps its first stage */
		st->names[k] = (uint32_t)stage + 1;
		st->names_n++;
	}
	return 0;
}

static bool is_stage_ref(const struct img_state *st, const char *v)
{
	return v && st->names_cap && st->names[name_slot(st, v)];
}

static int fill_image(struct img_state *st, struct lks_df_image *m, struct df_expansion *x,
                      const char *platform)
{
	const char *cur = st->nstages ? st->stages[st->nstages - 1] : NULL;
	if (m->off < st->line_off || !st->line_no) {
		st->line_off = 0;
		st->line_no = 1;
	}
	const char *d = st->df->data, *end = d + m->off;
	for (const char *c = d + st->line_off; (c = memchr(c, '\n', (size_t)(end - c))); c++) {
		st->line_no++;
	}
	st->line_off = m->off;
	m->line = st->line_no;
	m->instr = st->instr;
	m->stage = (int)st->nstages - 1;
	m->onbuild = st->onbuild;
	m->expanded = TAKE_PTR(x->value);
	m->blocked_by = TAKE_PTR(x->blocked_by);
	m->blocked_why = x->why;
	m->args_used = calloc(x->nused + 1, sizeof(char *));
	m->stage_name = cur ? strdup(cur) : NULL;
	m->platform = platform ? strdup(platform) : NULL;
	if (!m->args_used || (cur && !m->stage_name) || (platform && !m->platform)) {
		return -ENOMEM;
	}
	if (x->nused) {
		memcpy(m->args_used, x->used, x->nused * sizeof(char *));
	}
	m->nargs_used = x->nused;
	free(x->used);
	x->used = NULL;
	x->nused = 0;
	const char *t = m->expanded ? m->expanded : m->written;
	m->has_digest = strchr(t, '@') != NULL;
	const char *at = strchr(t, '@');
	m->valid = !m->expanded ||
	           (*t && strspn(t, REF_CHARS) == strlen(t) && (!at || !strchr(at + 1, '@')));
	return 0;
}

/* Record text[a..b) (positions pos) as an image reference unless it names a stage. */
static int add_image(struct img_state *st, enum lks_df_image_kind kind, const char *text,
                     const size_t *pos, size_t a, size_t b, const char *platform)
{
	struct df_expansion x;
	int rc = df_expand(&st->args, text + a, b - a, st->df->escape, &x);
	if (rc < 0) {
		return rc;
	}
	const char *v = x.value;
	bool index = v && *v && strspn(v, "0123456789") == strlen(v);
	if (b == a || (v && (!strcasecmp(v, "scratch") || is_stage_ref(st, v) || index))) {
		df_expansion_free(&x);
		return 0;
	}
	rc = df_grow(&st->imgs, &st->cap, st->n, sizeof(*st->imgs));
	struct lks_df_image *m = rc == 0 ? &st->imgs[st->n++] : NULL;
	if (m) {
		m->kind = kind;
		m->written = strndup(text + a, b - a);
		m->off = pos[a];
		m->len = pos[b - 1] + 1 - pos[a];
		m->contiguous = m->len == b - a;
		rc = m->written ? fill_image(st, m, &x, platform) : -ENOMEM;
	}
	df_expansion_free(&x);
	return rc;
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

static int stage_push(struct img_state *st, const char *name)
{
	int rc = df_grow(&st->stages, &st->capstages, st->nstages, sizeof(char *));
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
	return s ? names_add(st, st->nstages - 1) : 0;
}

static int do_from(struct img_state *st, const struct lks_df_instr *in)
{
	const struct lks_df_flag *pf = find_flag(in, "platform");
	const char *platform = pf ? pf->text + value_start(pf) : NULL;
	if (pf && !value_start(pf)) {
		platform = "";
	}
	const struct lks_df_word *w = &in->args[0];
	/* the stage is pushed first so the reference is recorded in the stage it starts, but
	 * its own name must not hide an image of the same name (FROM foo AS foo) */
	size_t before = st->n;
	int rc = add_image(st, LKS_DF_IMG_FROM, w->text, w->pos, 0, strlen(w->text), platform);
	if (rc < 0) {
		return rc;
	}
	rc = stage_push(st, in->nargs == 3 ? in->args[2].value : NULL);
	if (rc == 0 && st->n > before) {
		struct lks_df_image *m = &st->imgs[st->n - 1];
		m->stage = (int)st->nstages - 1;
		free(m->stage_name);
		const char *nm = st->stages[st->nstages - 1];
		m->stage_name = nm ? strdup(nm) : NULL;
		rc = nm && !m->stage_name ? -ENOMEM : 0;
	}
	return rc;
}

static int do_copy(struct img_state *st, const struct lks_df_instr *in)
{
	const struct lks_df_flag *f = find_flag(in, "from");
	size_t a = f ? value_start(f) : 0;
	if (!a) {
		return 0;
	}
	return add_image(st, LKS_DF_IMG_COPY_FROM, f->text, f->pos, a, strlen(f->text), NULL);
}

/* The from= field of a --mount CSV value; fields may be double-quoted. */
static int mount_from(struct img_state *st, const struct lks_df_flag *f)
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
			return add_image(st, LKS_DF_IMG_MOUNT_FROM, f->text, f->pos, va, vb, NULL);
		}
		i++;
	}
	return 0;
}

static int do_run(struct img_state *st, const struct lks_df_instr *in)
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

/* ARG before the first FROM: NAME or NAME=value, several per line. */
static int do_meta_arg(struct img_state *st, const struct lks_df_instr *in)
{
	for (size_t i = 0; i < in->nargs; i++) {
		const char *t = in->args[i].text;
		const char *eq = strchr(t, '=');
		size_t nn = eq ? (size_t)(eq - t) : strlen(t);
		int rc = df_args_set(&st->args, t, nn, eq ? eq + 1 : NULL, eq ? strlen(eq + 1) : 0,
		                     st->df->escape);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int do_instr(struct img_state *st, const struct lks_df_instr *in)
{
	const char *k = in->keyword;
	if (!strcmp(k, "ARG") && st->nstages == 0 && !st->onbuild) {
		return do_meta_arg(st, in);
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

static int images_run(struct img_state *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin_args); i++) {
		int rc =
		    df_args_set(&st->args, builtin_args[i], strlen(builtin_args[i]), NULL, 0, '\\');
		if (rc < 0) {
			return rc;
		}
	}
	for (st->instr = 0; st->instr < st->df->ninstrs; st->instr++) {
		int rc = do_instr(st, &st->df->instrs[st->instr]);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

int lks_dockerfile_images(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                          struct lks_df_image **out, size_t *n)
{
	struct img_state st = {.ctx = ctx, .df = df};
	int rc = images_run(&st);
	df_args_free(&st.args);
	for (size_t i = 0; i < st.nstages; i++) {
		free(st.stages[i]);
	}
	free(st.stages);
	free(st.names);
	if (rc < 0) {
		lks_df_images_free(st.imgs, st.n);
		*out = NULL;
		*n = 0;
		return lks_err(ctx, rc, "%s: cannot list image references: %s", df->name,
		               lks_strerror(rc));
	}
	*out = st.imgs;
	*n = st.n;
	return 0;
}
