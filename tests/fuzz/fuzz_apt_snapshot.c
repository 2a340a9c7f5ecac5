/* The apt index snapshot opened in place (pinner/apt/apt_snapshot.c). A valid snapshot of a small
 * index is damaged where the input says; the first input byte chooses whether the checksums
 * are then recomputed (damage that passes them must still be caught by the bounds checks) or
 * the rest of the input is the whole file. Every lookup stays in bounds, whatever the bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_index.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "pinner/apt/apt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char packages[] =
    "Package: curl\nVersion: 7.88.1-10\nArchitecture: amd64\nFilename: pool/c/curl.deb\n"
    "SHA256: 00\nSize: 10\nDepends: libc6 (>= 2.34), libcurl4 (= 7.88.1-10)\n\n"
    "Package: curl\nVersion: 8.0-1\nArchitecture: amd64\nProvides: web-get\n\n"
    "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\nMulti-Arch: same\n"
    "Breaks: nscd (<< 2.36)\n\n"
    "Package: nano\nVersion: 7.2-1\nArchitecture: all\nProvides: editor\n";

static struct lks_buf base;

static void make_base(void)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	char dg[LKS_DIGEST_LEN + 1], rel[512];
	lks_sha256_buf(packages, sizeof(packages) - 1, dg);
	snprintf(rel, sizeof(rel),
	         "Suite: s\nCodename: c\nSHA256:\n %s %zu main/binary-amd64/Packages\n", dg + 7,
	         sizeof(packages) - 1);
	struct lks_apt_index idx;
	lks_apt_index_init(&idx);
	struct lks_apt_release r;
	if (lks_apt_release_parse(&ctx, "Release", rel, strlen(rel), &r) == 0) {
		int ri = lks_apt_index_add_release(&idx, &r);
		if (ri >= 0) {
			lks_apt_index_add_packages_mem(&ctx, &idx, (size_t)ri, "main", "amd64",
			                               packages, sizeof(packages) - 1);
		}
	}
	lks_buf_init(&base, 0);
	lks_apt_index_save(&ctx, &idx, "k", &base);
	lks_apt_index_free(&idx);
	lks_ctx_free(&ctx);
}

static void use(const struct lks_apt_index *idx)
{
	static const char *names[] = {"curl", "libc6", "nano", "editor", ""};
	for (size_t i = 0; i < idx->n_pkgs; i++) {
		const struct lks_apt_pkg *p = lks_apt_index_at(idx, i);
		if (p) {
			volatile size_t sink = strlen(p->name) + strlen(p->version) + p->pfile;
			(void)sink;
		}
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (const struct lks_apt_pkg *p = lks_apt_index_find(idx, names[i]); p;
		     p = lks_apt_index_next(idx, p)) {
			volatile size_t sink =
			    strlen(p->name) + (p->depends ? strlen(p->depends) : 0);
			(void)sink;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base.data) {
		make_base();
	}
	if (size < 1 || !base.len) {
		return 0;
	}
	struct lks_buf f;
	lks_buf_init(&f, 0);
	if (data[0] & 1) { /* the input is the file */
		lks_buf_append(&f, data + 1, size - 1);
	} else { /* (offset, xor) pairs applied to the valid snapshot */
		lks_buf_append(&f, base.data, base.len);
		for (size_t i = 1; i + 3 <= size; i += 3) {
			size_t off = ((size_t)data[i] << 8 | data[i + 1]) % f.len;
			f.data[off] ^= (char)data[i + 2];
		}
		if (data[0] & 2) {
			apt_snap_reseal(f.data, f.len);
		}
	}
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_apt_index idx;
	lks_apt_index_init(&idx);
	if (lks_apt_index_restore(&ctx, &idx, "k", f.data ? f.data : "", f.len) == 0) {
		use(&idx);
		(void)lks_apt_index_check_all(&ctx, &idx);
	}
	lks_apt_index_free(&idx);
	lks_buf_free(&f);
	lks_ctx_free(&ctx);
	return 0;
}
