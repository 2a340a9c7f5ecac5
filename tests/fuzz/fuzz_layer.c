/* libFuzzer target for the layer walker (verifier/layerwalk.c): index any byte stream as a
 * layer (any compression), then compare it with itself and with an empty index. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/imgdiff.h"
#include "verifier/layerwalk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t n, off;
};

static long mem_read(void *opaque, void *buf, size_t n)
{
	struct mem *m = opaque;
	size_t k = m->n - m->off < n ? m->n - m->off : n;
	memcpy(buf, m->p + m->off, k);
	m->off += k;
	return (long)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct lks_archive_limits lim = {
	    .max_entries = 5000,
	    .max_entry_size = 16 << 20,
	    .max_total = 64 << 20,
	    .max_ratio = 1000,
	};
	struct lks_ctx ctx;
	if (lks_ctx_init(&ctx) < 0) {
		return 0;
	}
	struct mem m = {data, size, 0};
	struct lks_layer_index ix, empty;
	lks_layer_index_init(&ix);
	lks_layer_index_init(&empty);
	ix.spill_at = size % 2 ? 8 : 0; /* half the inputs through the spilled runs */
	if (lks_layer_walk_cb(&ctx, mem_read, &m, &lim, &ix) == 0) {
		struct lks_diff_opts o = {.strict = true};
		struct lks_layer_diff ld;
		memset(&ld, 0, sizeof(ld));
		lks_diff_layer_pair(&ix, &ix, &o, &ld);
		lks_diff_layer_pair(&ix, &empty, &o, &ld);
		lks_layer_diff_free(&ld);
	}
	lks_layer_index_free(&ix);
	lks_ctx_free(&ctx);
	return 0;
}
