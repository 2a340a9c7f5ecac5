/* Parse + image references of the 200-line multi-stage fixture: median CPU time per parse over
 * 21 runs of 200 parses each. Usage: bench_dockerfile [FILE] (default: the fixture). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "pinner/dockerfile/df_images.h"

#define RUNS 21
#define ITERS 200

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int once(struct lks_ctx *ctx, const struct lks_buf *in, size_t *nimg)
{
	struct lks_dockerfile *df;
	struct lks_df_image *imgs;
	int rc = lks_dockerfile_parse(ctx, "Dockerfile", in->data, in->len, &df);
	if (rc == 0) {
		rc = lks_dockerfile_images(ctx, df, &imgs, nimg);
		lks_df_images_free(imgs, *nimg);
		lks_dockerfile_free(df);
	}
	return rc;
}

int main(int argc, char **argv)
{
	char path[4096];
	const char *src = getenv("LKS_SRCDIR");
	snprintf(path, sizeof(path), "%s/fixtures/dockerfiles/36-bench-200-lines.Dockerfile",
	         src ? src : ".");
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_buf in;
	lks_buf_init(&in, 0);
	if (lks_buf_read_file(&in, argc > 1 ? argv[1] : path) < 0) {
		fprintf(stderr, "cannot read %s\n", argc > 1 ? argv[1] : path);
		return 1;
	}
	double t[RUNS];
	size_t nimg = 0;
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_us();
		for (int i = 0; i < ITERS; i++) {
			if (once(&ctx, &in, &nimg) < 0) {
				fprintf(stderr, "%s\n", ctx.err);
				return 1;
			}
		}
		t[r] = (now_us() - t0) / ITERS;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	printf("dockerfile parse+images: %zu bytes, %zu refs: median %.1f us/parse "
	       "(min %.1f, max %.1f; %d runs x %d)\n",
	       in.len, nimg, t[RUNS / 2], t[0], t[RUNS - 1], RUNS, ITERS);
	lks_buf_free(&in);
	lks_ctx_free(&ctx);
	return 0;
}
