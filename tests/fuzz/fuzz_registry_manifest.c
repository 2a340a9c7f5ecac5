/* A hostile registry answer to a manifest GET must give an error or a verified resolution,
 * never a crash or a leak: the input is served as the body of GET /v2/app/manifests/1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/oci_ref.h"
#include "lockstep/registry.h"
#include "tests/fake_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	ctx.fetch = fake_fetch;
	fake_reset();
	fake_add(LKS_HTTP_GET, "/v2/app/manifests/1", 200, (const char *)data, size, NULL);
	struct lks_oci_ref ref;
	if (lks_oci_ref_parse(&ctx, "127.0.0.1:5000/app:1", &ref) < 0) {
		abort();
	}
	const struct lks_oci_ref *refs[] = {&ref};
	struct lks_image_resolution r;
	int rc = lks_registry_resolve(&ctx, refs, 1, &r);
	char want[LKS_DIGEST_LEN + 1];
	lks_sha256_buf(data, size, want);
	if (rc == 0 && (!r.digest || strcmp(r.digest, want))) {
		abort(); /* a resolution must pin exactly the bytes served */
	}
	if (rc < 0 && !r.error) {
		abort();
	}
	lks_image_resolution_free(&r);
	lks_oci_ref_free(&ref);
	lks_ctx_free(&ctx);
	return 0;
}
