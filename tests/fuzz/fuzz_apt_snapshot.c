/* The apt index snapshot loader: arbitrary bytes after a valid header must be refused or
 * give an index whose strings and indices are all in bounds. */
#include <stdint.h>
#include <string.h>
#include "pinner/apt/apt_index.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_buf b;
	lks_buf_init(&b, 0);
	/* a valid header for key "k" so the fuzzer reaches the records */
	uint32_t hdr[4] = {2, 0x01020304, 1, 0}; /* SNAP_VERSION 2 */
	lks_buf_append(&b, "LKSAPTIX", 8);
	lks_buf_append(&b, hdr, sizeof(hdr));
	lks_buf_append(&b, "k", 1);
	lks_buf_append(&b, data, size);
	struct lks_apt_index idx;
	lks_apt_index_init(&idx);
	if (lks_apt_index_restore(&ctx, &idx, "k", b.data, b.len) == 0) {
		for (size_t i = 0; i < idx.n_pkgs; i++) {
			(void)strlen(idx.pkgs[i].name);
			(void)lks_apt_index_find(&idx, idx.pkgs[i].name);
		}
	}
	lks_apt_index_free(&idx);
	lks_buf_free(&b);
	lks_ctx_free(&ctx);
	return 0;
}
