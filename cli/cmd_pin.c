#include <stdio.h>
#include "cli/cli.h"

int cmd_pin(struct lks_ctx *ctx, int argc, char **argv)
{
	fprintf(stderr, "lockstep pin: not built yet\n");
	return EXIT_ERROR;
}
