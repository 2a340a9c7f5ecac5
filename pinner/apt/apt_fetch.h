/* Fetching apt indexes from the archives themselves: what `apt-get update` does, into an
 * lks_apt_index (pinner/apt/apt_fetch.c).
 *
 * For each source: dists/SUITE/InRelease (else Release with Release.gpg), revalidated against
 * the cache (ETag / Last-Modified) and checked with gpgv against the keyrings given; then, for
 * each component and architecture the Release lists, its Packages file (.xz, else .gz, else
 * plain), kept in the cache under its sha256 and checked against the Release entry before
 * anything of it is used. The transfers of each step run in parallel. Plain http:// is
 * allowed for these fetches, as apt allows it: integrity comes from the signed Release and the
 * sha256 entries it lists. A parsed-index snapshot keyed by every Release file's digest makes a
 * warm run cost one revalidation per suite.
 *
 * Offline (ctx->offline): everything comes from the cache; -LKS_E_OFFLINE names the first file
 * missing. Errors name the URL: -LKS_E_NET / -LKS_E_TIMEOUT for an unreachable archive,
 * -LKS_E_NOTFOUND for a suite without Release file, -LKS_E_CRYPTO for a bad signature,
 * -LKS_E_DIGEST / -LKS_E_ARCHIVE for a Packages file that does not match or is corrupt.
 */
#pragma once
#include <stddef.h>

struct lks_ctx;
struct lks_apt_index;
struct lks_apt_source;
struct lks_apt_keyring;

struct lks_apt_fetch_src {
	const struct lks_apt_source *src;
	const struct lks_apt_keyring *const *keys; /* keyrings its Release is checked with */
	size_t n_keys; /* 0: the signature is not checked (a warning says so) */
};

/* Fetch the indexes of srcs for the NULL-terminated archs into idx (initialised, empty).
 * Sources repeating a URI and suite are fetched once. Returns 0 or a negative error. */
int lks_apt_fetch_index(struct lks_ctx *ctx, const struct lks_apt_fetch_src *srcs, size_t n,
                        const char *const *archs, struct lks_apt_index *idx);
