/* libFuzzer target for reading files out of image layers (common/imagefs*.c): the input is
 * split into two layers (the first byte says where), read for apt's paths with small caps, and
 * the result goes through the cache format and back. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/imagefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct two {
	const uint8_t *p[2];
	size_t n[2];
};

static int feed(struct lks_ctx *ctx, void *opaque, size_t i, struct lks_imagefs_scan *scan)
{
	struct two *t = opaque;
	return lks_imagefs_scan_layer_mem(scan, "fuzz", t->p[i], t->n[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct lks_imagefs_req reqs[] = {
	    {"/etc/os-release", false},
	    {"/etc/apt/sources.list", false},
	    {"/etc/apt/sources.list.d/*", false},
	    {"/usr/share/keyrings/*", false},
	    {"/a", false},
	    {"/a/*", false},
	    {"/usr/bin/dpkg", true},
	};
	if (size < 1) {
		return 0;
	}
	size_t cut = size > 1 ? (size_t)data[0] * (size - 1) / 255 : 0;
	struct two t = {{data + 1, data + 1 + cut}, {cut, size - 1 - cut}};
	struct lks_imagefs_source src = {2, feed, &t};
	struct lks_imagefs_opts o = {.file_max = 1 << 16, .total_max = 1 << 20};
	struct lks_ctx ctx;
	if (lks_ctx_init(&ctx) < 0) {
		return 0;
	}
	struct lks_imagefs fs, back;
	if (lks_imagefs_read_source(&ctx, &src, reqs, sizeof(reqs) / sizeof(reqs[0]), &o, &fs) ==
	    0) {
		struct lks_buf b;
		lks_buf_init(&b, 0);
		if (lks_imagefs_save(&fs, &b) == 0 &&
		    lks_imagefs_restore(&ctx, b.data, b.len, &back) == 0) {
			if (back.n != fs.n) {
				__builtin_trap();
			}
			lks_imagefs_free(&back);
		}
		lks_buf_free(&b);
		lks_imagefs_free(&fs);
	}
	lks_ctx_free(&ctx);
	return 0;
}
