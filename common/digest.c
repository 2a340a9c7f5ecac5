/* The only file that calls OpenSSL's EVP API; every call is checked. libcrypto is loaded on the
 * first digest (common/dynlib.h): its ~17,000 relocations cost more than `lockstep check` does,
 * and `check`, `--help` and `--version` never hash anything. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "common/dynlib.h"
#include "lockstep/cleanup.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"

#define EVP_FNS(X)                                                                                 \
	X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestInit_ex) X(EVP_DigestUpdate)              \
	X(EVP_DigestFinal_ex) X(EVP_sha256) X(EVP_MD_fetch) X(EVP_Digest)

static struct {
#define X(f) __typeof__(f) *f;
	EVP_FNS(X)
#undef X
} ev;

static const struct dynlib_sym crypto_syms[] = {
#define X(f) {#f, &ev.f},
    EVP_FNS(X)
#undef X
};

static struct dynlib crypto_lib = DYNLIB_INIT(LKS_LIBCRYPTO_SONAME, crypto_syms);

/* SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up (under a
 * lock) on every init, which dominated hashing millions of small values (xattrs). Called
 * once crypto_lib is open. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = ev.EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md ? sha256_md : ev.EVP_sha256();
}

int lks_sha256_init(struct lks_sha256 *h)
{
	h->md = NULL;
	int rc = dynlib_open(&crypto_lib);
	if (rc < 0) {
		return rc;
	}
	EVP_MD_CTX *md = ev.EVP_MD_CTX_new();
	if (!md) {
		return -ENOMEM;
	}
	if (ev.EVP_DigestInit_ex(md, sha256(), NULL) != 1) {
		ev.EVP_MD_CTX_free(md);
		h->md = NULL;
		return -LKS_E_CRYPTO;
	}
	h->md = md;
	return 0;
}

int lks_sha256_update(struct lks_sha256 *h, const void *p, size_t n)
{
	if (!h->md) {
		return -LKS_E_CRYPTO;
	}
	if (n && ev.EVP_DigestUpdate(h->md, p, n) != 1) {
		return -LKS_E_CRYPTO;
	}
	return 0;
}

int lks_sha256_final_raw(struct lks_sha256 *h, uint8_t out[static 32])
{
	unsigned int len = 0;
	int ok = h->md && ev.EVP_DigestFinal_ex(h->md, out, &len) == 1 && len == 32;
	lks_sha256_free(h);
	return ok ? 0 : -LKS_E_CRYPTO;
}

void lks_digest_format(const uint8_t raw[static 32], char out[static LKS_DIGEST_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[raw[i] >> 4];
		out[8 + 2 * i] = hex[raw[i] & 15];
	}
	out[LKS_DIGEST_LEN] = '\0';
}

int lks_sha256_final(struct lks_sha256 *h, char out[static LKS_DIGEST_LEN + 1])
{
	uint8_t raw[32];
	int rc = lks_sha256_final_raw(h, raw);
	if (rc == 0) {
		lks_digest_format(raw, out);
	}
	return rc;
}

void lks_sha256_free(struct lks_sha256 *h)
{
	if (h->md) {
		ev.EVP_MD_CTX_free(h->md);
		h->md = NULL;
	}
}

int lks_sha256_buf(const void *p, size_t n, char out[static LKS_DIGEST_LEN + 1])
{
	int rc = dynlib_open(&crypto_lib);
	if (rc < 0) {
		return rc;
	}
	uint8_t raw[32];
	unsigned int len = 0;
	if (ev.EVP_Digest(p, n, raw, &len, sha256(), NULL) != 1 || len != 32) {
		return -LKS_E_CRYPTO;
	}
	lks_digest_format(raw, out);
	return 0;
}

int lks_sha256_file(const char *path, char out[static LKS_DIGEST_LEN + 1])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	struct lks_sha256 h;
	int rc = lks_sha256_init(&h);
	if (rc < 0) {
		return rc;
	}
	static __thread char tmp[1 << 17];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			if (n < 0) {
				lks_sha256_free(&h);
				return -errno;
			}
			break;
		}
		rc = lks_sha256_update(&h, tmp, (size_t)n);
		if (rc < 0) {
			lks_sha256_free(&h);
			return rc;
		}
	}
	return lks_sha256_final(&h, out);
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
			return false;
		}
	}
	return s[n] == '\0';
}

bool lks_digest_valid(const char *s)
{
	if (!strncmp(s, "sha256:", 7)) {
		return strlen(s) == 71 && all_hex(s + 7, 64);
	}
	if (!strncmp(s, "sha512:", 7)) {
		return strlen(s) == 135 && all_hex(s + 7, 128);
	}
	return false;
}

bool lks_digest_equal(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}
