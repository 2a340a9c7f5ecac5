/* libFuzzer target for the cache's URL key (cache/cache.c lks_cache_url_key): never crashes,
 * and a key never keeps userinfo ("user:pass@") in its authority. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1);
	if (!url) {
		return 0;
	}
	memcpy(url, data, size);
	url[size] = '\0';
	struct lks_buf key;
	lks_buf_init(&key, 0);
	struct lks_buf again;
	lks_buf_init(&again, 0);
	if (lks_cache_url_key(url, &key) == 0) {
		/* Stripping is complete: a key is its own key, and has no fragment. */
		if (lks_cache_url_key(key.data, &again) < 0 || strcmp(again.data, key.data) ||
		    strchr(key.data, '#') || key.len > strlen(url)) {
			abort();
		}
		/* Without any '@' nothing but the fragment may be removed. */
		if (!strchr(url, '@') && strncmp(url, key.data, strcspn(url, "#"))) {
			abort();
		}
	}
	lks_buf_free(&again);
	lks_buf_free(&key);
	free(url);
	return 0;
}
