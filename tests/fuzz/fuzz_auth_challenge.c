/* WWW-Authenticate parsing must never crash, and a parsed Bearer challenge has a realm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s) {
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	struct lks_auth_challenge c;
	if (lks_auth_parse_challenge(NULL, s, &c) == 0) {
		if (c.scheme == LKS_AUTH_BEARER && !c.realm) {
			abort();
		}
		lks_auth_challenge_free(&c);
	}
	char *dec = NULL;
	size_t n;
	if (lks_base64_decode(s, &dec, &n) == 0) {
		char *enc = lks_base64_encode(dec, n);
		char *again = NULL;
		size_t n2;
		if (!enc || lks_base64_decode(enc, &again, &n2) != 0 || n2 != n ||
		    memcmp(again, dec, n)) {
			abort();
		}
		free(enc);
		free(again);
		free(dec);
	}
	free(s);
	return 0;
}
