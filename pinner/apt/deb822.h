/* Streaming deb822 parser (Packages, Release, .sources, apt preferences).
 *
 * Input is fed in chunks of any size; each complete paragraph (stanza) is handed to a
 * callback as an array of fields, then forgotten, so memory stays bounded by the paragraph
 * cap whatever the file size. Field names are matched case-insensitively; values keep their
 * continuation lines ("\n" plus the original leading space) with surrounding whitespace
 * trimmed. Lines starting with '#' are comments when LKS_DEB822_COMMENTS is set.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/buf.h"

struct lks_ctx;

#define LKS_DEB822_COMMENTS 0x1

#define LKS_DEB822_MAX_PARA ((size_t)4 << 20) /* default cap on one paragraph's bytes */
#define LKS_DEB822_MAX_FIELDS 256

struct lks_deb822_field {
	const char *name;  /* NUL-terminated, valid during the callback */
	const char *value; /* NUL-terminated, valid during the callback */
};

struct lks_deb822_para {
	struct lks_deb822_field fields[LKS_DEB822_MAX_FIELDS];
	size_t n;
	size_t line; /* 1-based line of the paragraph's first field */
};

/* Called once per paragraph; return 0 to go on or a negative error to stop parsing. */
typedef int (*lks_deb822_fn)(void *opaque, const struct lks_deb822_para *p);

struct lks_deb822 {
	struct lks_ctx *ctx;
	const char *what; /* names the input in error messages */
	unsigned flags;
	lks_deb822_fn fn;
	void *opaque;
	struct lks_buf para; /* raw text of the current paragraph */
	struct lks_buf line; /* a line split across chunks */
	size_t lineno;
	size_t para_line;
	size_t n_paras;
	struct lks_deb822_para cur;
};

/* max_para: cap on one paragraph (0 = LKS_DEB822_MAX_PARA). `what` is not copied. */
void lks_deb822_init(struct lks_deb822 *p, struct lks_ctx *ctx, const char *what, unsigned flags,
                     size_t max_para, lks_deb822_fn fn, void *opaque);
void lks_deb822_free(struct lks_deb822 *p);
/* Feed the next chunk. Returns 0 or a negative error (detail in ctx). */
int lks_deb822_feed(struct lks_deb822 *p, const void *data, size_t n);
/* End of input: flushes the last paragraph. */
int lks_deb822_finish(struct lks_deb822 *p);
/* Parse a whole buffer. */
int lks_deb822_parse(struct lks_ctx *ctx, const char *what, unsigned flags, const void *data,
                     size_t n, lks_deb822_fn fn, void *opaque);

/* Value of field `name` (case-insensitive) or NULL. */
const char *lks_deb822_get(const struct lks_deb822_para *p, const char *name);
