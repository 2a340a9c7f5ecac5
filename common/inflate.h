/* gzip inflation with ISA-L (libisal), an optional accelerator for gzip layers.
 *
 * ISA-L inflates about twice as fast as zlib on this kind of machine, and inflating is what
 * `diff` and `verify` wait on. It is loaded on first use like libcurl (common/dynlib.h) and
 * never required: when the library is missing (or LOCKSTEP_NO_ISAL is set in the environment),
 * inflate_gz_new() fails and common/archive.c lets libarchive's zlib path inflate instead.
 * This file is the only one that calls ISA-L.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct inflate_gz;

/* Buffers for one step; the step advances in/in_len and out/out_len. */
struct inflate_io {
	const unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_len;
};

/* A gzip inflater, or -ELIBACC when ISA-L cannot be used (no detail: the caller falls back). */
int inflate_gz_new(struct inflate_gz **out);
void inflate_gz_free(struct inflate_gz *z);
/* Inflate what fits: returns 0 when it needs more input or more output room, 1 when a gzip
 * member ended and its trailer (CRC-32, size) matched (call inflate_gz_next_member() before
 * feeding the next member), or -LKS_E_ARCHIVE with *why describing the damage. */
int inflate_gz_step(struct inflate_gz *z, struct inflate_io *io, const char **why);
void inflate_gz_next_member(struct inflate_gz *z);
/* Whether bytes start a gzip member (magic and the deflate method). */
bool inflate_gz_magic(const unsigned char *p, size_t n);
