#include <stdio.h>
#include "cli/cli.h"

int cmd_check(struct lks_ctx *ctx, int argc, char **argv)
{
	fprintf(stderr, "lockstep check: not built yet\n");
	return EXIT_ERROR;
}
