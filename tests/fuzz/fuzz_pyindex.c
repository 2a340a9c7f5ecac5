/* Index page fuzzing: the body is parsed as PEP 691 JSON and as PEP 503 HTML. Property: every
 * file has an absolute URL and a file name without '/' or a fragment. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/python/pyindex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct lks_pyproject *p)
{
	for (size_t k = 0; k < p->n; k++) {
		const struct lks_pyfile *f = &p->files[k];
		if (strncmp(f->url, "http://127.0.0.1:1/", 19) && !strchr(f->url, ':')) {
			abort();
		}
		if (strchr(f->url, '#') || (f->sha256[0] && strlen(f->sha256) != 64)) {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx = {0};
	struct lks_pyproject p;
	const char *url = "http://127.0.0.1:1/simple/foo/";
	lks_pyproject_init(&p);
	if (lks_pyindex_parse_json(&ctx, url, (const char *)data, size, &p) == 0) {
		check(&p);
	}
	lks_pyproject_free(&p);
	if (lks_pyindex_parse_html(&ctx, url, (const char *)data, size, &p) == 0) {
		check(&p);
	}
	lks_pyproject_free(&p);
	return 0;
}
