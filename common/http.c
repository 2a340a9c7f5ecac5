/* Placeholder until the curl multi client lands. */
#include <stdlib.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/http.h"

int lks_http_run(struct lks_ctx *ctx, struct lks_http_req **reqs, int n)
{
	return lks_err(ctx, -LKS_E_UNSUPPORTED, "HTTP client not built");
}

void lks_http_free(struct lks_http *h)
{
	free(h);
}
