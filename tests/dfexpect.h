/* The .expect format of fixtures/dockerfiles (shared by test_dockerfile and dfdump).
 * One line per image reference, tab-separated:
 *   LINE KIND WRITTEN EXPANDED|!BLOCKER|?TEXT|~PER-PLATFORM STAGE[:NAME] PLATFORM|- ARGS|- FLAGS
 * (!: the ARG without a value that blocks it; ?: a malformed substitution, or one past lockstep's caps; ~: the images it
 * names on the default platforms, "linux/amd64: a, linux/arm64: b").
 * KIND is from, copy or mount; FLAGS is a subset of "digest,onbuild,invalid,split" or "-".
 */
#pragma once
#include <stdbool.h>
#include "lockstep/buf.h"
#include "lockstep/dockerfile.h"
#include "pinner/dockerfile/df_images.h"

static inline const char *dfexpect_kind(enum lks_df_image_kind k)
{
	return k == LKS_DF_IMG_FROM ? "from" : k == LKS_DF_IMG_COPY_FROM ? "copy" : "mount";
}

static inline int dfexpect_flags(struct lks_buf *b, const struct lks_df_image *m)
{
	const char *sep = "";
	int rc = 0;
	if (m->has_digest) {
		rc |= lks_buf_printf(b, "%sdigest", sep);
		sep = ",";
	}
	if (m->onbuild) {
		rc |= lks_buf_printf(b, "%sonbuild", sep);
		sep = ",";
	}
	if (!m->valid) {
		rc |= lks_buf_printf(b, "%sinvalid", sep);
		sep = ",";
	}
	if (!m->contiguous) {
		rc |= lks_buf_printf(b, "%ssplit", sep);
		sep = ",";
	}
	return rc | (*sep ? 0 : lks_buf_puts(b, "-"));
}

static inline int dfexpect_format(struct lks_buf *b, const struct lks_df_image *imgs, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct lks_df_image *m = &imgs[i];
		const char *mark = m->expanded       ? ""
		                   : m->per_platform ? "~"
		                   : m->blocked_why  ? "?"
		                                     : "!";
		const char *val = m->expanded       ? m->expanded
		                  : m->per_platform ? m->per_platform
		                                    : m->blocked_by;
		rc |= lks_buf_printf(b, "%zu\t%s\t%s\t%s%s\t%d%s%s\t%s\t", m->line,
		                     dfexpect_kind(m->kind), m->written, mark, val, m->stage,
		                     m->stage_name ? ":" : "", m->stage_name ? m->stage_name : "",
		                     m->platform ? m->platform : "-");
		for (size_t k = 0; k < m->nargs_used; k++) {
			rc |= lks_buf_printf(b, "%s%s", k ? "," : "", m->args_used[k]);
		}
		rc |= lks_buf_puts(b, m->nargs_used ? "\t" : "-\t");
		rc |= dfexpect_flags(b, m);
		rc |= lks_buf_putc(b, '\n');
	}
	return rc;
}
