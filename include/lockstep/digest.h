/* sha256 digests through one OpenSSL EVP wrapper (the only file that calls EVP).
 *
 * Digest strings are always "sha256:<64 lowercase hex>" (LKS_DIGEST_LEN chars + NUL).
 */
#pragma once
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define LKS_DIGEST_LEN 71 /* strlen("sha256:") + 64 */

struct lks_sha256 {
	void *md; /* EVP_MD_CTX *, opaque here */
};

int lks_sha256_init(struct lks_sha256 *h);
int lks_sha256_update(struct lks_sha256 *h, const void *p, size_t n);
/* Writes "sha256:<hex>"; the context is freed. */
int lks_sha256_final(struct lks_sha256 *h, char out[static LKS_DIGEST_LEN + 1]);
/* "sha256:<hex>" of a raw 32-byte sha256. */
void lks_digest_format(const uint8_t raw[static 32], char out[static LKS_DIGEST_LEN + 1]);
/* Raw 32-byte variant. */
int lks_sha256_final_raw(struct lks_sha256 *h, uint8_t out[static 32]);
void lks_sha256_free(struct lks_sha256 *h);
/* One-shot helpers. */
int lks_sha256_buf(const void *p, size_t n, char out[static LKS_DIGEST_LEN + 1]);
int lks_sha256_file(const char *path, char out[static LKS_DIGEST_LEN + 1]);
/* Syntactic check of "sha256:<64 hex lowercase>" (also accepts "sha512:<128 hex>"). */
bool lks_digest_valid(const char *s);
/* Constant-time-insensitive equality of two digest strings (case-insensitive hex). */
bool lks_digest_equal(const char *a, const char *b);
