/* libFuzzer target for pinner/lockfile.c: whatever parses must serialise, and serialising is
 * a fixed point (parse(dump(x)) dumps to the same bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/lockfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dump(struct lks_ctx *ctx, struct lks_lock *l, struct lks_buf *out)
{
	lks_buf_init(out, 0);
	return lks_lock_dump(ctx, l, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_lock l;
	lks_lock_init(&l);
	if (lks_lock_parse(&ctx, (const char *)data, size, "fuzz.lock", &l) == 0) {
		struct lks_buf a, b;
		if (dump(&ctx, &l, &a) < 0) {
			abort(); /* a lock that loaded must be writable */
		}
		struct lks_lock again;
		lks_lock_init(&again);
		if (lks_lock_parse(&ctx, a.data, a.len, "dumped", &again) < 0 ||
		    dump(&ctx, &again, &b) < 0 || a.len != b.len || memcmp(a.data, b.data, a.len)) {
			abort(); /* dump is not a fixed point */
		}
		lks_lock_free(&again);
		lks_buf_free(&a);
		lks_buf_free(&b);
	}
	lks_lock_free(&l);
	lks_ctx_free(&ctx);
	return 0;
}
