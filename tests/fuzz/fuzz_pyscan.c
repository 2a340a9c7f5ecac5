/* pip install scanner fuzzing: a Dockerfile is parsed, then every pip install in it is found
 * and its -r/-c files are traced through COPY/WORKDIR (pinner/dockerfile/df_copy.c: BuildKit's
 * destination rules, RUN mkdir). Properties: every argument word lies
 * inside the input; option values are classified like their option; a traced path is never
 * empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "pinner/python/pyscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_cmd(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                      const struct lks_pip_cmd *c, size_t size)
{
	for (size_t k = 0; k < c->argc; k++) {
		const struct lks_df_word *w = c->words[k];
		if (w->off + w->len > size || (unsigned)c->kinds[k] > LKS_PYREQ_ARG_UNKNOWN) {
			abort();
		}
	}
	for (size_t r = 0; r < c->nreqfiles; r++) {
		char *p = NULL;
		if (lks_pyscan_context_path(ctx, df, c->instr, "/nonexistent-fuzz", c->reqfiles[r],
		                            &p) == 0 &&
		    p && !p[0]) {
			abort();
		}
		free(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	if (lks_ctx_init(&ctx) < 0) {
		return 0;
	}
	struct lks_dockerfile *df = NULL;
	if (lks_dockerfile_parse(&ctx, "Dockerfile", (const char *)data, size, &df) == 0) {
		struct lks_pip_cmds cmds;
		lks_pip_cmds_init(&cmds);
		if (lks_pyscan(&ctx, df, &cmds) == 0) {
			for (size_t i = 0; i < cmds.n; i++) {
				check_cmd(&ctx, df, &cmds.v[i], size);
			}
		}
		lks_pip_cmds_free(&cmds);
		lks_dockerfile_free(df);
	}
	lks_ctx_free(&ctx);
	return 0;
}
