/* Property: expansion succeeds or fails with -LKS_E_INVAL; on success the result contains
 * the quoted {out} value, and doubling every brace of any input makes it a literal that
 * expands back to itself (plus the required {out}). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/build.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct lks_build_req req = {
    .context = "/c", .dockerfile = "/c/D", .out = "/o'x", .work = "/w", .tag = "t", .epoch = 1};

static void literal(const char *s, size_t n)
{
	char *t = malloc(2 * n + 8);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		t[k++] = s[i];
		if (s[i] == '{' || s[i] == '}') {
			t[k++] = s[i];
		}
	}
	memcpy(t + k, "{out}", 6);
	char *out = NULL;
	if (lks_build_template_expand(NULL, t, &req, &out) != 0 || strncmp(out, s, n) ||
	    strcmp(out + n, "'/o'\\''x'")) {
		abort();
	}
	free(out);
	free(t);
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
	char *out = NULL;
	int rc = lks_build_template_expand(&ctx, s, &req, &out);
	if ((rc != 0 && rc != -LKS_E_INVAL && rc != -LKS_E_TOOBIG) || (rc == 0) != (out != NULL)) {
		abort();
	}
	if (rc == 0 && !strstr(out, "'/o'\\''x'")) {
		abort();
	}
	free(out);
	if (strlen(s) < 30000) {
		literal(s, strlen(s));
	}
	lks_ctx_free(&ctx);
	free(s);
	return 0;
}
