/* The parsed Dockerfiles of a pin workspace; see pinner/ws_dockerfile.h. */
#include "pinner/dockerfile/ws_dockerfile.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/array.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "pinner/workspace.h"
#include "pinner/dockerfile/df_edit.h"

static void edits_free(struct ws_dockerfile *d)
{
	for (size_t i = 0; i < d->nedits; i++) {
		free((char *)d->edits[i].text);
	}
	free(d->edits);
	d->edits = NULL;
	d->nedits = d->cap = 0;
}

/* The image references and what pinning them made. */
static void images_drop(struct ws_dockerfile *d)
{
	for (size_t i = 0; d->values && i < d->nimgs; i++) {
		free(d->values[i]);
	}
	free(d->values);
	lks_df_images_free(d->imgs, d->nimgs);
	d->values = NULL;
	d->imgs = NULL;
	d->nimgs = 0;
	d->have_imgs = false;
}

/* Everything parsed from d->text (not the path, the text, the platforms or the edits). */
static void model_free(struct ws_dockerfile *d)
{
	images_drop(d);
	lks_dockerfile_free(d->df);
	d->df = NULL;
}

static void ws_dockerfile_free(struct ws_dockerfile *d)
{
	if (!d) {
		return;
	}
	model_free(d);
	edits_free(d);
	lks_buf_free(&d->text);
	free(d->path);
	free(d);
}

void ws_dockerfiles_free(struct ws_dockerfiles *m)
{
	for (size_t i = 0; i < m->n; i++) {
		ws_dockerfile_free(m->v[i]);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Parse the workspace's current text of d->path into d. */
static int model_parse(struct lks_ctx *ctx, struct lks_workspace *ws, struct ws_dockerfile *d)
{
	struct lks_ws_file *wf;
	model_free(d);
	lks_buf_reset(&d->text);
	int rc = lks_ws_get(ctx, ws, d->path, LKS_DF_MAX_FILE, false, &wf);
	rc = rc ? rc : lks_buf_append(&d->text, wf->cur.data ? wf->cur.data : "", wf->cur.len);
	rc = rc ? rc : lks_dockerfile_parse(ctx, d->path, d->text.data, d->text.len, &d->df);
	ws->dfs.parses++;
	d->stale = false;
	return rc;
}

static int model_add(struct lks_workspace *ws, const char *path, struct ws_dockerfile **out)
{
	struct ws_dockerfiles *m = &ws->dfs;
	if (LKS_GROW(m->v, m->cap, m->n + 1, 8) < 0) {
		return -ENOMEM;
	}
	struct ws_dockerfile *d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return -ENOMEM;
	}
	lks_buf_init(&d->text, LKS_DF_MAX_FILE + 1);
	m->v[m->n++] = d;
	*out = d;
	return 0;
}

static int flush_one(struct lks_ctx *ctx, struct lks_workspace *ws, const struct ws_dockerfile *d)
{
	if (!d->nedits) {
		return 0;
	}
	struct lks_buf nd;
	lks_buf_init(&nd, LKS_DF_MAX_FILE * 2);
	int rc = lks_edits_apply(ctx, d->text.data, d->text.len, d->edits, d->nedits, &nd);
	rc = rc ? rc : lks_ws_set(ctx, ws, d->path, nd.data ? nd.data : "", nd.len);
	lks_buf_free(&nd);
	return rc;
}

int ws_dockerfile_get(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                      struct ws_dockerfile **out)
{
	struct ws_dockerfile *d = NULL;
	for (size_t i = 0; i < ws->dfs.n && !d; i++) {
		d = strcmp(ws->dfs.v[i]->path, path) ? NULL : ws->dfs.v[i];
	}
	int rc = 0;
	if (!d) {
		rc = model_add(ws, path, &d);
		rc = rc ? rc : model_parse(ctx, ws, d);
	} else if (d->stale) {
		rc = flush_one(ctx, ws, d);
		edits_free(d);
		rc = rc ? rc : model_parse(ctx, ws, d);
	} else if (!d->df) {
		rc = model_parse(ctx, ws, d); /* an earlier parse failed: the same error again */
	}
	*out = d;
	return rc;
}

static bool same_platforms(const struct lks_platforms *a, const struct lks_platforms *b)
{
	bool same = a->n == b->n;
	for (size_t i = 0; same && i < a->n; i++) {
		same = lks_platform_equal(&a->v[i], &b->v[i]);
	}
	return same;
}

int ws_dockerfile_images_on(struct lks_ctx *ctx, struct ws_dockerfile *d,
                            const struct lks_platforms *p)
{
	if (!same_platforms(&d->plats, p)) {
		d->plats = *p;
		images_drop(d);
	}
	return ws_dockerfile_images(ctx, d);
}

int ws_dockerfile_images(struct lks_ctx *ctx, struct ws_dockerfile *d)
{
	if (d->have_imgs) {
		return 0;
	}
	const struct lks_platforms *p = d->plats.n ? &d->plats : NULL;
	int rc = lks_dockerfile_images_on(ctx, d->df, p, &d->imgs, &d->nimgs);
	if (rc < 0) {
		return rc;
	}
	d->values = calloc(d->nimgs + 1, sizeof(*d->values));
	d->have_imgs = d->values != NULL;
	return d->have_imgs ? 0 : -ENOMEM;
}

static bool has_newline(const char *s, size_t n)
{
	return memchr(s, '\n', n) != NULL;
}

int ws_dockerfile_edit(struct ws_dockerfile *d, size_t off, size_t len, const char *text)
{
	for (size_t i = 0; i < d->nedits; i++) {
		const struct lks_edit *e = &d->edits[i];
		if (e->off == off && e->len == len && !strcmp(e->text, text)) {
			return 1;
		}
	}
	if (LKS_GROW(d->edits, d->cap, d->nedits + 1, 16) < 0) {
		return -ENOMEM;
	}
	char *copy = strdup(text);
	if (!copy) {
		return -ENOMEM;
	}
	d->edits[d->nedits++] = (struct lks_edit){.off = off, .len = len, .text = copy};
	if ((off <= d->text.len && len <= d->text.len - off &&
	     has_newline(d->text.data + off, len)) ||
	    strchr(text, '\n')) {
		d->stale = true;
	}
	return 0;
}

/* s, whose last n bytes are what the edit replaced, with the edit's text instead. */
static char *tail_edited(const char *s, size_t n, const char *text)
{
	size_t l = strlen(s);
	char *r;
	if (n > l || asprintf(&r, "%.*s%s", (int)(l - n), s, text) < 0) {
		return NULL;
	}
	return r;
}

int ws_dockerfile_pinned(struct ws_dockerfile *d, size_t k, const struct lks_edit *e)
{
	struct lks_df_image *img = &d->imgs[k];
	if (!img->contiguous || e->off < img->off || e->off + e->len > img->off + img->len) {
		d->stale = true; /* the written text and the bytes differ: parse the result */
		return 0;
	}
	/* Contiguous: written is the bytes, and the edit is its tail (before a closing quote),
	 * a literal digest that the expanded text and the FROM value end with too. */
	size_t head = e->off - img->off;
	char *written = NULL;
	if (asprintf(&written, "%.*s%s%s", (int)head, img->written, e->text,
	             img->written + head + e->len) < 0) {
		written = NULL;
	}
	char *expanded = img->expanded ? tail_edited(img->expanded, e->len, e->text) : NULL;
	const struct lks_df_instr *in = &d->df->instrs[img->instr];
	bool from = img->kind == LKS_DF_IMG_FROM && in->nargs;
	char *value = from ? tail_edited(in->args[0].value, e->len, e->text) : NULL;
	if (!written || (img->expanded && !expanded) || (from && !value)) {
		free(written);
		free(expanded);
		free(value);
		return -ENOMEM;
	}
	free(img->written);
	free(img->expanded);
	free(d->values[k]);
	img->written = written;
	img->expanded = expanded;
	img->has_digest = true;
	d->values[k] = value;
	return 0;
}

const char *ws_dockerfile_from_value(const struct ws_dockerfile *d, size_t instr)
{
	for (size_t k = 0; d->have_imgs && k < d->nimgs; k++) {
		if (d->imgs[k].kind == LKS_DF_IMG_FROM && d->imgs[k].instr == instr &&
		    d->values[k]) {
			return d->values[k];
		}
	}
	const struct lks_df_instr *in = &d->df->instrs[instr];
	return in->nargs ? in->args[0].value : "";
}

void ws_dockerfile_restructure(struct ws_dockerfile *d)
{
	d->stale = true;
}

int ws_dockerfiles_flush(struct lks_ctx *ctx, struct lks_workspace *ws)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ws->dfs.n; i++) {
		rc = flush_one(ctx, ws, ws->dfs.v[i]);
	}
	return rc;
}
