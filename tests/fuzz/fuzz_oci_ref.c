/* Property: parse(format(parse(x))) == parse(x) for the full form, and for the familiar form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/oci_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct lks_oci_ref *r, enum lks_oci_ref_form form)
{
	char *s = lks_oci_ref_format(r, form);
	if (!s) {
		abort();
	}
	struct lks_oci_ref again;
	if (lks_oci_ref_parse(NULL, s, &again) < 0 || !lks_oci_ref_equal(r, &again)) {
		abort();
	}
	lks_oci_ref_free(&again);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s) {
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_oci_ref r;
	if (lks_oci_ref_parse(&ctx, s, &r) == 0) {
		roundtrip(&r, LKS_OCI_REF_FULL);
		roundtrip(&r, LKS_OCI_REF_FAMILIAR);
		lks_oci_ref_free(&r);
	}
	lks_ctx_free(&ctx);
	free(s);
	return 0;
}
