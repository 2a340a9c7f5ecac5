/* libFuzzer target for the policy parser (pinner/policy.c): any input either parses into rules
 * whose strings are all set, or fails with a message. */
#include <stdint.h>
#include <stdlib.h>
#include "lockstep/ctx.h"
#include "lockstep/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_policy p;
	lks_policy_init(&p);
	int rc = lks_policy_parse(&ctx, (const char *)data, size, "fuzz.json", &p);
	if (rc == 0) {
		for (size_t i = 0; i < p.n; i++) {
			const struct lks_policy_rule *r = &p.rules[i];
			if (!r->name || !r->reason ||
			    (r->action == LKS_POLICY_HOLD && !r->until_text)) {
				abort();
			}
			const char *names[] = {r->name};
			if (!lks_policy_match(&p, r->kind, names, 1)) {
				abort(); /* a rule always matches its own name */
			}
		}
	} else if (!ctx.err[0]) {
		abort(); /* every refusal says why */
	}
	lks_policy_free(&p);
	lks_ctx_free(&ctx);
	return 0;
}
