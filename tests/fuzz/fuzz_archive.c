/* libFuzzer target for common/archive.c: every entry and all its data, with small caps.
 * The first byte picks the mode (tar, zip, raw, any); the rest is the archive. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "lockstep/archive.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_entries(struct lks_archive *a)
{
	struct lks_archive_entry *e;
	char buf[4096];
	while (lks_archive_next(a, &e) == 1) {
		/* Touch every field so a dangling pointer would show under ASan. */
		volatile size_t sink = strlen(e->path);
		sink += e->uname ? strlen(e->uname) : 0;
		sink += e->gname ? strlen(e->gname) : 0;
		sink += e->link ? strlen(e->link) : 0;
		for (size_t i = 0; i < e->n_xattrs; i++) {
			sink += strlen(e->xattrs[i].name) + e->xattrs[i].size;
			if (e->xattrs[i].size) {
				sink += ((const unsigned char *)e->xattrs[i].value)[e->xattrs[i].size - 1];
			}
		}
		(void)sink;
		while (lks_archive_read(a, buf, sizeof(buf)) > 0) {
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	static const enum lks_archive_mode modes[] = {LKS_ARCHIVE_TAR, LKS_ARCHIVE_ZIP,
						      LKS_ARCHIVE_RAW, LKS_ARCHIVE_ANY};
	enum lks_archive_mode mode = modes[data[0] % 4];
	struct lks_archive_limits lim = {
		.max_entries = 1000,
		.max_entry_size = 1 << 20,
		.max_total = 8 << 20,
		.max_ratio = 100,
	};
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_archive *a = NULL;
	if (lks_archive_open_mem(&ctx, &a, data + 1, size - 1, mode, &lim) == 0) {
		read_entries(a);
		(void)lks_archive_filter_name(a);
		lks_archive_close(a);
	}
	if (data[0] % 4 == 2) {
		struct lks_buf out;
		lks_buf_init(&out, 1 << 20);
		(void)lks_decompress_mem(&ctx, data + 1, size - 1, &out);
		lks_buf_free(&out);
	}
	lks_ctx_free(&ctx);
	return 0;
}
