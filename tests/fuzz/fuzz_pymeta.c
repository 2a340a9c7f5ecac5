/* Core metadata and distribution file name fuzzing: the input is parsed as METADATA, and its
 * first line as a file name of project "foo" (with tag compatibility for two targets). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/python/pydist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_pymeta m;
	lks_pymeta_init(&m);
	if (lks_pymeta_parse(NULL, (const char *)data, size, &m) == 0) {
		lks_pymeta_static_deps(&m);
		for (size_t k = 0; k < m.nrequires; k++) {
			struct lks_pep508_req r;
			lks_pep508_req_init(&r);
			lks_pep508_parse(NULL, m.requires_dist[k], strlen(m.requires_dist[k]), &r);
			lks_pep508_req_free(&r);
		}
	}
	lks_pymeta_free(&m);
	char name[256];
	size_t l = 0;
	while (l < size && l + 1 < sizeof(name) && data[l] != '\n' && data[l]) {
		name[l] = (char)data[l];
		l++;
	}
	name[l] = '\0';
	struct lks_pydist_name d;
	if (lks_pydist_parse_name(NULL, name, "foo", &d) == 0) {
		struct lks_pytarget a = {3, 8, 0, "x86_64", 0}, b = {3, 12, 1, "aarch64", 28};
		lks_pydist_compatible(&d, &a);
		lks_pydist_compatible(&d, &b);
	}
	return 0;
}
