/* libFuzzer target: Dockerfile parse + image references + rewrite.
 * Properties: no crash or leak; zero edits give identical bytes; pinning every reference
 * gives a file that still parses with the same number of references, and pinning that file
 * again changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "pinner/dockerfile/df_edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char dg[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* Pin all references of data into out; returns the number of references or -1. */
static long pin_all(struct lks_ctx *ctx, const char *data, size_t len, struct lks_buf *out)
{
	struct lks_dockerfile *df = NULL;
	struct lks_df_image *imgs = NULL;
	size_t n = 0;
	if (lks_dockerfile_parse(ctx, "fuzz", data, len, &df) < 0) {
		return -1;
	}
	if (lks_dockerfile_images(ctx, df, &imgs, &n) < 0) {
		abort(); /* only ENOMEM may fail here */
	}
	struct lks_edit *e = calloc(n + 1, sizeof(*e));
	char **t = calloc(n + 1, sizeof(*t));
	size_t cnt = 0;
	for (size_t i = 0; i < n; i++) {
		cnt += lks_df_pin_edit(ctx, data, &imgs[i], dg, &e[cnt], &t[cnt]) == 0;
	}
	if (lks_edits_apply(ctx, data, len, e, cnt, out) < 0) {
		abort(); /* edits for distinct references never overlap */
	}
	for (size_t i = 0; i < cnt; i++) {
		free(t[i]);
	}
	free(t);
	free(e);
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	return (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	const char *s = (const char *)data;
	struct lks_buf same, p1, p2;
	lks_buf_init(&same, 0);
	lks_buf_init(&p1, 0);
	lks_buf_init(&p2, 0);
	if (lks_edits_apply(&ctx, s, size, NULL, 0, &same) < 0 || same.len != size ||
	    (size && memcmp(same.data, s, size))) {
		abort();
	}
	long n1 = pin_all(&ctx, s, size, &p1);
	if (n1 >= 0) {
		long n2 = pin_all(&ctx, p1.data ? p1.data : "", p1.len, &p2);
		if (n2 != n1 || p1.len != p2.len || (p1.len && memcmp(p1.data, p2.data, p1.len))) {
			abort();
		}
	}
	lks_buf_free(&same);
	lks_buf_free(&p1);
	lks_buf_free(&p2);
	lks_ctx_free(&ctx);
	return 0;
}
