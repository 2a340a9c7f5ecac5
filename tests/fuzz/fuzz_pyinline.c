/* --pip-inline-to-file fuzzing: a Dockerfile (in a workspace, under a directory that does not
 * exist) has the requirement words of its pip commands moved into generated files.
 * Properties: when the input parses, the rewritten Dockerfile parses too, and moving again
 * changes nothing (no movable word is left behind). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/findings.h"
#include "lockstep/pypin.h"
#include "pinner/workspace.h"

#define PATH "/nonexistent-lockstep-fuzz/Dockerfile"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool parses(struct lks_ctx *ctx, const struct lks_buf *b)
{
	struct lks_dockerfile *df = NULL;
	int rc = lks_dockerfile_parse(ctx, "Dockerfile", b->data ? b->data : "", b->len, &df);
	lks_dockerfile_free(df);
	return rc == 0;
}

/* Move once; the text afterwards into out. Returns the move's result. */
static int move(struct lks_ctx *ctx, struct lks_workspace *ws, struct lks_buf *out)
{
	const char *files[] = {PATH};
	struct lks_pypin_opts o;
	lks_pypin_opts_init(&o);
	o.inline_to_file = true;
	struct lks_findings f;
	lks_findings_init(&f);
	struct lks_ws_file *wf;
	int rc = lks_pypin_inline(ctx, ws, files, 1, &o, &f);
	if (rc == 0 && lks_ws_get(ctx, ws, PATH, LKS_DF_MAX_FILE, false, &wf) == 0) {
		lks_buf_append(out, wf->cur.data ? wf->cur.data : "", wf->cur.len);
	}
	lks_findings_free(&f);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	struct lks_workspace ws;
	struct lks_buf in, once, twice;
	if (lks_ctx_init(&ctx) < 0) {
		return 0;
	}
	lks_ws_init(&ws);
	lks_buf_init(&in, 0);
	lks_buf_init(&once, 0);
	lks_buf_init(&twice, 0);
	lks_buf_append(&in, data, size);
	if (parses(&ctx, &in) && lks_ws_set(&ctx, &ws, PATH, in.data ? in.data : "", in.len) == 0 &&
	    move(&ctx, &ws, &once) == 0) {
		if (!parses(&ctx, &once) || move(&ctx, &ws, &twice) != 0 || once.len != twice.len ||
		    memcmp(once.data ? once.data : "", twice.data ? twice.data : "", once.len)) {
			abort();
		}
	}
	lks_buf_free(&in);
	lks_buf_free(&once);
	lks_buf_free(&twice);
	lks_ws_free(&ws);
	lks_ctx_free(&ctx);
	return 0;
}
