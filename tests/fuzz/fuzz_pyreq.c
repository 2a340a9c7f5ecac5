/* Requirements-file parser fuzzing (includes disabled). Properties: every item names a line
 * inside the input; every key is already PEP 503 normal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/python/pyreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	if (lks_ctx_init(&ctx) < 0) {
		return 0;
	}
	struct lks_pyreq_set set;
	lks_pyreq_set_init(&set);
	lks_pyreq_parse_buf(&ctx, "fuzz.in", (const char *)data, size, false, &set);
	int lines = 1;
	for (size_t k = 0; k < size; k++) {
		lines += data[k] == '\n';
	}
	for (size_t k = 0; k < set.n; k++) {
		const struct lks_pyreq_item *it = &set.items[k];
		if (it->line < 1 || it->line > lines) {
			abort();
		}
		char again[LKS_PEP508_MAX_NAME];
		if (it->kind == LKS_PYREQ_NAMED &&
		    (lks_pep503_normalize(it->req.key, strlen(it->req.key), again, sizeof(again)) <
		         0 ||
		     strcmp(again, it->req.key))) {
			abort();
		}
	}
	lks_pyreq_set_free(&set);
	lks_ctx_free(&ctx);
	return 0;
}
