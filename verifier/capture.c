/* Collecting differing files' bytes in a second, bounded pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "verifier/deep.h"
#include "verifier/capture.h"

struct picked {
	struct lks_file_diff *fd;
	struct lks_buf data[2];
	struct lks_capture cap[2];
};

static bool wanted(const struct lks_file_diff *fd, const struct lks_diff_opts *o)
{
	size_t max = o->deep ? LKS_DEEP_MAX_FILE : LKS_TEXT_MAX_FILE;
	return (fd->fields & LKS_F_CONTENT) && fd->has_a && fd->has_b && fd->a.type == 'f' &&
	       fd->b.type == 'f' && !fd->a.hardlink && !fd->b.hardlink &&
	       (uint64_t)fd->a.size <= max && (uint64_t)fd->b.size <= max;
}

static size_t pick(struct lks_layer_diff *ld, const struct lks_diff_opts *o, struct picked *p)
{
	size_t n = 0;
	size_t max = o->deep ? LKS_DEEP_MAX_FILE : LKS_TEXT_MAX_FILE;
	for (size_t i = 0; i < ld->n_files && n < LKS_DEEP_MAX_FILES; i++) {
		if (!wanted(&ld->files[i], o)) {
			continue;
		}
		struct picked *x = &p[n++];
		x->fd = &ld->files[i];
		for (int s = 0; s < 2; s++) {
			lks_buf_init(&x->data[s], max + 1);
			x->cap[s] = (struct lks_capture){
			    .path = x->fd->path, .max = max, .data = &x->data[s]};
		}
	}
	return n;
}

static int use(struct lks_ctx *ctx, const struct lks_diff_opts *o, struct picked *x)
{
	const struct lks_buf *a = &x->data[0], *b = &x->data[1];
	if (!x->cap[0].found || !x->cap[1].found) {
		return 0;
	}
	if (o->deep) {
		struct lks_buf d;
		lks_buf_init(&d, 4096);
		int rc = lks_deep_explain(ctx, x->fd->path, a->data ? a->data : "", a->len,
		                          b->data ? b->data : "", b->len, &d);
		x->fd->detail = rc == 0 && d.len ? lks_buf_detach(&d) : NULL;
		lks_buf_free(&d);
	}
	bool small = a->len <= LKS_TEXT_MAX_FILE && b->len <= LKS_TEXT_MAX_FILE;
	if (o->capture_text && small && lks_deep_is_text(a->data ? a->data : "", a->len) &&
	    lks_deep_is_text(b->data ? b->data : "", b->len)) {
		x->fd->text_a = strndup(a->data ? a->data : "", a->len);
		x->fd->text_b = strndup(b->data ? b->data : "", b->len);
		if (!x->fd->text_a || !x->fd->text_b) {
			return -ENOMEM;
		}
	}
	return 0;
}

int capture_layer_pair(struct lks_ctx *ctx, const struct lks_image_src *const src[2],
                       const struct lks_image_layer *const l[2], const struct lks_diff_opts *o,
                       struct lks_layer_diff *ld)
{
	struct picked *p = calloc(LKS_DEEP_MAX_FILES, sizeof(*p));
	if (!p) {
		return -ENOMEM;
	}
	size_t n = pick(ld, o, p);
	int rc = 0;
	for (int s = 0; s < 2 && n && rc == 0; s++) {
		struct lks_capture caps[LKS_DEEP_MAX_FILES];
		for (size_t i = 0; i < n; i++) {
			caps[i] = p[i].cap[s];
		}
		rc = lks_layer_capture(ctx, src[s], l[s], o->limits, caps, n);
		for (size_t i = 0; i < n; i++) {
			p[i].cap[s] = caps[i];
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = use(ctx, o, &p[i]);
	}
	for (size_t i = 0; i < n; i++) {
		lks_buf_free(&p[i].data[0]);
		lks_buf_free(&p[i].data[1]);
	}
	free(p);
	return rc;
}
