/* libFuzzer target: --platform lists (lks_platforms_add).
 * Properties: no crash; what parses formats to text that parses to the same platforms. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096) {
		return 0;
	}
	char *s = malloc(size + 1);
	if (!s) {
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_platforms a = {0}, b = {0};
	if (lks_platforms_add(&ctx, &a, s) == 0) {
		for (size_t i = 0; i < a.n; i++) {
			char t[LKS_PLATFORM_TEXT];
			if (lks_platforms_add(&ctx, &b, lks_platform_format(&a.v[i], t)) < 0) {
				abort();
			}
		}
		if (b.n != a.n) {
			abort();
		}
		for (size_t i = 0; i < a.n; i++) {
			if (!lks_platform_equal(&a.v[i], &b.v[i])) {
				abort();
			}
		}
	}
	lks_ctx_free(&ctx);
	free(s);
	return 0;
}
