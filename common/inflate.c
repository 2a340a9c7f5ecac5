/* gzip inflation with ISA-L, loaded on first use (see inflate.h). Built without ISA-L's header
 * (libisal-dev absent), every inflater request fails and libarchive inflates instead. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/dynlib.h"
#include "common/inflate.h"
#include "lockstep/error.h"

bool inflate_gz_magic(const unsigned char *p, size_t n)
{
	return n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8;
}

#ifdef LKS_HAVE_ISAL
#include <isa-l/igzip_lib.h>

#define ISAL_FNS(X) X(isal_inflate_init) X(isal_inflate_reset) X(isal_inflate)

static struct {
#define X(f) __typeof__(f) *f;
	ISAL_FNS(X)
#undef X
} isal;

static const struct dynlib_sym isal_syms[] = {
#define X(f) {#f, &isal.f},
    ISAL_FNS(X)
#undef X
};

static struct dynlib isal_lib = DYNLIB_INIT(LKS_LIBISAL_SONAME, isal_syms);

struct inflate_gz {
	struct inflate_state st;
};

int inflate_gz_new(struct inflate_gz **out)
{
	const char *off = getenv("LOCKSTEP_NO_ISAL");
	if ((off && *off && strcmp(off, "0")) || !*LKS_LIBISAL_SONAME) {
		return -ELIBACC;
	}
	int rc = dynlib_open(&isal_lib);
	if (rc < 0) {
		return rc;
	}
	struct inflate_gz *z = malloc(sizeof(*z));
	if (!z) {
		return -ENOMEM;
	}
	isal.isal_inflate_init(&z->st);
	z->st.crc_flag = ISAL_GZIP; /* parse the header, check CRC-32 and size in the trailer */
	*out = z;
	return 0;
}

void inflate_gz_free(struct inflate_gz *z)
{
	free(z);
}

void inflate_gz_next_member(struct inflate_gz *z)
{
	isal.isal_inflate_reset(&z->st);
	z->st.crc_flag = ISAL_GZIP;
}

static const char *isal_why(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "invalid deflate block";
	case ISAL_INVALID_SYMBOL:
		return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK:
		return "invalid back-reference distance";
	case ISAL_INVALID_WRAPPER:
		return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD:
		return "unsupported compression method";
	case ISAL_INCORRECT_CHECKSUM:
		return "CRC or size check failed";
	case ISAL_NEED_DICT:
		return "stream needs a preset dictionary";
	default:
		return "inflate failed";
	}
}

/* avail_in and avail_out are 32-bit: larger buffers are fed in slices. */
static uint32_t slice(size_t n)
{
	return n > ((size_t)1 << 30) ? (uint32_t)1 << 30 : (uint32_t)n;
}

int inflate_gz_step(struct inflate_gz *z, struct inflate_io *io, const char **why)
{
	struct inflate_state *st = &z->st;
	st->next_in = (uint8_t *)(uintptr_t)io->in;
	st->avail_in = slice(io->in_len);
	st->next_out = io->out;
	st->avail_out = slice(io->out_len);
	uint32_t in0 = st->avail_in, out0 = st->avail_out;
	int r = isal.isal_inflate(st);
	io->in += in0 - st->avail_in;
	io->in_len -= in0 - st->avail_in;
	io->out += out0 - st->avail_out;
	io->out_len -= out0 - st->avail_out;
	if (r < 0 || r == ISAL_NEED_DICT) {
		*why = isal_why(r);
		return -LKS_E_ARCHIVE;
	}
	return st->block_state == ISAL_BLOCK_FINISH ? 1 : 0;
}

#else /* !LKS_HAVE_ISAL */

int inflate_gz_new(struct inflate_gz **out)
{
	(void)out;
	return -ELIBACC;
}

void inflate_gz_free(struct inflate_gz *z)
{
	(void)z;
}

void inflate_gz_next_member(struct inflate_gz *z)
{
	(void)z;
}

int inflate_gz_step(struct inflate_gz *z, struct inflate_io *io, const char **why)
{
	(void)z;
	(void)io;
	*why = "ISA-L is not built in";
	return -LKS_E_ARCHIVE;
}

#endif
