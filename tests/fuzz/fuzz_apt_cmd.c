/* The RUN command scanner: any bytes must give words and written files whose ranges lie
 * inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include "pinner/apt/apt_cmd.h"
#include "lockstep/ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_apt_cmds c;
	lks_apt_cmds_init(&c);
	if (lks_apt_cmd_scan(&ctx, (const char *)data, size, &c) == 0) {
		for (size_t i = 0; i < c.n; i++) {
			for (size_t j = 0; j < c.v[i].n; j++) {
				if (c.v[i].words[j].start > c.v[i].words[j].end ||
				    c.v[i].words[j].end > size) {
					abort();
				}
			}
		}
		for (size_t i = 0; i < c.n_writes; i++) {
			const struct lks_apt_write *w = &c.writes[i];
			if (w->start > w->end || w->end > size || !w->path || !w->text) {
				abort();
			}
		}
	}
	lks_apt_cmds_free(&c);
	lks_ctx_free(&ctx);
	return 0;
}
