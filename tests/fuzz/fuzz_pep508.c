/* PEP 508 parser fuzzing: parse one requirement, evaluate its marker for two targets and
 * every extra. Property: PEP 503 normalising the key again changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/python/pep508.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_pep508_req r;
	lks_pep508_req_init(&r);
	if (lks_pep508_parse(NULL, (const char *)data, size, &r) == 0) {
		char again[LKS_PEP508_MAX_NAME];
		if (lks_pep503_normalize(r.key, strlen(r.key), again, sizeof(again)) < 0 ||
		    strcmp(again, r.key)) {
			abort();
		}
		struct lks_pep508_env env;
		bool res;
		lks_pep508_env_linux(NULL, &env, "3.8", "x86_64");
		lks_pep508_applies(NULL, &r, &env, &res);
		lks_pep508_env_linux(NULL, &env, "3.12.1", "aarch64");
		for (size_t k = 0; k < r.nextras; k++) {
			strcpy(env.extra, r.extras[k]);
			lks_pep508_applies(NULL, &r, &env, &res);
		}
	}
	lks_pep508_req_free(&r);
	return 0;
}
