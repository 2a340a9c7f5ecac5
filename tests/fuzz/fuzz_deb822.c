/* The deb822 stream parser and everything built on it: Packages indexing (with a Release
 * entry that matches, so parsing runs to the end), Release/InRelease, preferences and both
 * sources formats. The first byte picks the consumer and the chunk size. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_index.h"
#include "pinner/apt/apt_sources.h"
#include "lockstep/ctx.h"
#include "pinner/apt/deb822.h"
#include "lockstep/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *opaque, const struct lks_deb822_para *p)
{
	for (size_t i = 0; i < p->n; i++) {
		*(size_t *)opaque += strlen(p->fields[i].name) + strlen(p->fields[i].value);
	}
	return 0;
}

static void packages(struct lks_ctx *ctx, const char *d, size_t n)
{
	char dg[LKS_DIGEST_LEN + 1], rel[512];
	lks_sha256_buf(d, n, dg);
	int len = snprintf(rel, sizeof(rel),
	                   "Suite: s\nSHA256:\n %s %zu main/binary-amd64/Packages\n", dg + 7, n);
	struct lks_apt_index idx;
	lks_apt_index_init(&idx);
	struct lks_apt_release r;
	if (lks_apt_release_parse(ctx, "r", rel, (size_t)len, &r) == 0) {
		int ri = lks_apt_index_add_release(&idx, &r);
		lks_apt_index_add_packages_mem(ctx, &idx, (size_t)ri, "main", "amd64", d, n);
		(void)lks_apt_index_find(&idx, "a");
	}
	lks_apt_index_free(&idx);
}

static void chunked(struct lks_ctx *ctx, const char *d, size_t n, size_t chunk)
{
	size_t total = 0;
	struct lks_deb822 p;
	lks_deb822_init(&p, ctx, "f", LKS_DEB822_COMMENTS, 65536, count, &total);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < n; off += chunk) {
		rc = lks_deb822_feed(&p, d + off, n - off < chunk ? n - off : chunk);
	}
	if (rc == 0) {
		lks_deb822_finish(&p);
	}
	lks_deb822_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	const char *d = (const char *)data + 1;
	size_t n = size - 1;
	struct lks_apt_release r;
	struct lks_apt_prefs prefs;
	struct lks_apt_sources src;
	switch (data[0] % 5) {
	case 0:
		chunked(&ctx, d, n, (size_t)(data[0] / 5) + 1);
		break;
	case 1:
		packages(&ctx, d, n);
		break;
	case 2:
		if (lks_apt_release_parse(&ctx, "r", d, n, &r) == 0) {
			lks_apt_release_free(&r);
		}
		break;
	case 3:
		lks_apt_prefs_init(&prefs);
		lks_apt_prefs_parse(&ctx, &prefs, "p", d, n);
		lks_apt_prefs_free(&prefs);
		break;
	default:
		lks_apt_sources_init(&src);
		lks_apt_sources_parse_deb822(&ctx, &src, "s", d, n);
		lks_apt_sources_parse_list(&ctx, &src, "l", d, n);
		lks_apt_sources_free(&src);
		break;
	}
	lks_ctx_free(&ctx);
	return 0;
}
