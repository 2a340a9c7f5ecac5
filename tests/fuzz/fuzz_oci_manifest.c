/* The one manifest/index parser (common/manifest.c): any JSON document gives an error or a
 * result within the caps whose every descriptor has a valid digest; never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/json.h"
#include "lockstep/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	json_t *doc = NULL;
	lks_ctx_init(&ctx);
	if (lks_json_parse(&ctx, (const char *)data, size, 0, "fuzz", &doc) == 0) {
		struct lks_manifest m;
		if (lks_manifest_parse(&ctx, doc, "fuzz", &m) == 0) {
			size_t cap = m.index ? LKS_MANIFEST_MAX_ENTRIES : LKS_MANIFEST_MAX_LAYERS;
			if (m.n > cap || (!m.index && !lks_digest_valid(m.config.digest))) {
				abort();
			}
			for (size_t i = 0; i < m.n; i++) {
				char *p = lks_desc_platform(&m.v[i]);
				if (!lks_digest_valid(m.v[i].digest) || !p) {
					abort();
				}
				free(p);
			}
		}
		lks_manifest_free(&m);
		json_decref(doc);
	}
	lks_ctx_free(&ctx);
	return 0;
}
