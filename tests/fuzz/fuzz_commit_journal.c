/* libFuzzer target for the commit intent record (common/atomic.c, lks_commit_recover): any
 * record is completed or refused with an error, inside a scratch directory, and never touches
 * a file that is not a lockstep temp file of a path it names. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lockstep/atomic.h"
#include "lockstep/ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (chdir("/") == 0 && system(cmd) != 0) {
		fprintf(stderr, "cannot remove %s\n", dir);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/lks-fuzz-commit-XXXXXX");
		if (!mkdtemp(dir) || chdir(dir) < 0) {
			abort();
		}
		atexit(cleanup);
	}
	/* A file and a temp file whose record the input may or may not describe. */
	put("Dockerfile", "FROM a\n", 7);
	put("Dockerfile.lockstep-tmp.AAAAAA", "FROM b\n", 7);
	put("lockstep.lock.commit", data, size);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	const char *files[] = {"Dockerfile"};
	int rc = lks_commit_recover(&ctx, "lockstep.lock.commit", files, 1);
	if (rc < 0 && !ctx.err[0]) {
		abort(); /* every refusal says why */
	}
	lks_ctx_free(&ctx);
	unlink("lockstep.lock.commit");
	return 0;
}
