/* libFuzzer target for the image reader (verifier/image.c): the input becomes index.json,
 * a manifest or a config of a small OCI layout (first byte picks which; the other documents
 * are valid and reference it by its real digest), which is loaded, compared with itself and
 * rendered in every report format. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/image.h"
#include "lockstep/imgdiff.h"
#include "lockstep/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void put(const char *rel, const void *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* Store a blob under its digest; returns the digest in out. */
static void blob(const void *p, size_t n, char out[LKS_DIGEST_LEN + 1])
{
	char rel[128];
	lks_sha256_buf(p, n, out);
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", out + 7);
	put(rel, p, n);
}

static void setup(void)
{
	if (root[0]) {
		return;
	}
	snprintf(root, sizeof(root), "/tmp/lks-fuzz-manifest-%d", (int)getpid());
	char p[128];
	snprintf(p, sizeof(p), "%s/blobs/sha256", root);
	mkdir(root, 0700);
	snprintf(p, sizeof(p), "%s/blobs", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/blobs/sha256", root);
	mkdir(p, 0700);
}

static const char cfg_tmpl[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
    "\"diff_ids\":[\"sha256:%064d\"]},\"history\":[{\"created_by\":\"x\"}]}";

static void write_docs(int mode, const uint8_t *in, size_t n)
{
	char cfg[512], man[1024], idx[512], dc[LKS_DIGEST_LEN + 1], dm[LKS_DIGEST_LEN + 1];
	int len = snprintf(cfg, sizeof(cfg), cfg_tmpl, 0);
	if (mode == 2) {
		blob(in, n, dc);
	} else {
		blob(cfg, (size_t)len, dc);
	}
	len = snprintf(man, sizeof(man),
	               "{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},"
	               "\"layers\":[{\"digest\":\"sha256:%064d\",\"size\":1}]}",
	               dc, 0);
	if (mode == 1) {
		blob(in, n, dm);
	} else {
		blob(man, (size_t)len, dm);
	}
	len = snprintf(idx, sizeof(idx),
	               "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"%s\","
	               "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
	               dm);
	if (mode == 0) {
		put("index.json", in, n);
	} else {
		put("index.json", idx, (size_t)len);
	}
}

static void compare_and_render(struct lks_ctx *ctx, struct lks_image_set *s)
{
	struct lks_diff_opts o = {0};
	struct lks_diff_result r;
	if (lks_diff_images(ctx, s, s, &o, &r) == 0) {
		for (int f = LKS_REPORT_TEXT; f <= LKS_REPORT_HTML; f++) {
			struct lks_buf b;
			lks_buf_init(&b, 0);
			lks_report_render(ctx, &r, (enum lks_report_format)f, false, &b);
			lks_buf_free(&b);
		}
	}
	lks_diff_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	setup();
	write_docs(data[0] % 3, data + 1, size - 1);
	struct lks_ctx ctx;
	if (lks_ctx_init(&ctx) < 0) {
		return 0;
	}
	char src[128];
	snprintf(src, sizeof(src), "oci:%s", root);
	struct lks_image_set s;
	if (lks_image_set_load(&ctx, src, &s) == 0) {
		compare_and_render(&ctx, &s);
		lks_image_set_free(&s);
	}
	lks_ctx_free(&ctx);
	return 0;
}
