/* Lossless rewrite: byte edits applied to the original buffer. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/sort.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"

/* what may follow '@' in a written digest we replace ("sha256:hex"); else not in place */
#define DIGEST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:+._-="

/* The written text after '@' (minus a closing quote) is a plain digest we can replace. */
static bool digest_tail_ok(const char *wat, bool quoted)
{
	size_t n = strlen(wat + 1) - (quoted ? 1 : 0);
	return strspn(wat + 1, DIGEST_CHARS) >= n;
}

static int cmp_edit(const void *a, const void *b)
{
	const struct lks_edit *x = *(const struct lks_edit *const *)a;
	const struct lks_edit *y = *(const struct lks_edit *const *)b;
	return x->off < y->off ? -1 : x->off > y->off ? 1 : 0;
}

static int check_edits(struct lks_ctx *ctx, size_t len, const struct lks_edit **s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i]->off > len || s[i]->len > len - s[i]->off || !s[i]->text) {
			return lks_err(ctx, -LKS_E_INVAL,
			               "edit at offset %zu (+%zu) is outside the %zu-byte file",
			               s[i]->off, s[i]->len, len);
		}
		if (i > 0 &&
		    (s[i]->off == s[i - 1]->off || s[i]->off < s[i - 1]->off + s[i - 1]->len)) {
			return lks_err(ctx, -LKS_E_INVAL, "edits at offsets %zu and %zu overlap",
			               s[i - 1]->off, s[i]->off);
		}
	}
	return 0;
}

int lks_edits_apply(struct lks_ctx *ctx, const char *data, size_t len, const struct lks_edit *e,
                    size_t n, struct lks_buf *out)
{
	_cleanup_free_ const struct lks_edit **s = calloc(n ? n : 1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		s[i] = &e[i];
	}
	lks_qsort(s, n, sizeof(*s), cmp_edit);
	int rc = check_edits(ctx, len, s, n);
	size_t at = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = lks_buf_append(out, data + at, s[i]->off - at);
		if (rc == 0) {
			rc = lks_buf_puts(out, s[i]->text);
		}
		at = s[i]->off + s[i]->len;
	}
	if (rc == 0) {
		rc = lks_buf_append(out, data + at, len - at);
	}
	if (rc == -LKS_E_TOOBIG) {
		return lks_err(ctx, rc, "rewritten file larger than %zu bytes", out->max);
	}
	return rc;
}

int lks_df_pin_edit(struct lks_ctx *ctx, const char *data, const struct lks_df_image *img,
                    const char *digest, struct lks_edit *out, char **text)
{
	*text = NULL;
	if (!digest || !lks_digest_valid(digest)) {
		return lks_err(ctx, -LKS_E_INVAL, "cannot pin '%s': invalid digest '%s'",
		               img->written, digest ? digest : "(null)");
	}
	if (!img->valid) {
		return lks_err(ctx, -LKS_E_UNSUPPORTED,
		               "cannot pin '%s': not a valid image reference", img->written);
	}
	if (img->per_platform) {
		return lks_err(ctx, -LKS_E_UNSUPPORTED,
		               "cannot pin '%s': it names a different image (or a stage) on "
		               "different platforms",
		               img->written);
	}
	size_t wl = strlen(img->written), end = img->off + img->len;
	char last = wl ? img->written[wl - 1] : 0;
	if (wl >= 2 && (last == '"' || last == '\'') && img->written[0] == last) {
		end--; /* keep the closing quote after the digest */
	}
	const char *at = NULL;
	for (size_t i = img->off; i < end; i++) {
		if (data[i] == '@') {
			at = data + i;
		}
	}
	const char *wat = strrchr(img->written, '@');
	if (at && (!wat || !digest_tail_ok(wat, end < img->off + img->len))) {
		at = NULL; /* an '@' inside ${...}: not a digest we can replace in place */
	}
	if (!at && img->has_digest) {
		return lks_err(ctx, -LKS_E_UNSUPPORTED,
		               "cannot pin '%s': its digest comes from an ARG value", img->written);
	}
	if (asprintf(text, "@%s", digest) < 0) {
		*text = NULL;
		return -ENOMEM;
	}
	out->off = at ? (size_t)(at - data) : end;
	out->len = at ? end - out->off : 0;
	out->text = *text;
	return 0;
}
