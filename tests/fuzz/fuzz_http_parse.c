/* Fuzz the HTTP response-header helpers: header line split, Retry-After, URL redaction. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = NULL, *value = NULL;
	if (http_header_parse((const char *)data, size, &name, &value) == 0) {
		if (!name || !value || strlen(value) > size) {
			abort();
		}
	}
	free(name);
	free(value);
	char *s = malloc(size + 1);
	if (!s) {
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	if (http_retry_after(s, 784111777) < -1) {
		abort();
	}
	char out[64];
	http_redact_url(s, out, sizeof(out));
	if (strlen(out) >= sizeof(out)) {
		abort();
	}
	free(s);
	return 0;
}
