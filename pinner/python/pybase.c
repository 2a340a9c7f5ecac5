/* The Python targets of a Dockerfile stage; see pinner/python/pybase.h. */
#include "pinner/python/pybase.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cache.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "lockstep/imagefs.h"
#include "lockstep/json.h"
#include "lockstep/lockfile.h"
#include "lockstep/oci_ref.h"
#include "pinner/python/pyscan.h"
#include "lockstep/registry.h"

#define CACHE_NS "python-env" /* platform manifest digest -> PYTHON_VERSION ("" when unset) */

/* GOARCH[/variant] -> Python's platform.machine() on Linux. */
static const char *machine_of(const char *arch, const char *variant)
{
	static const char *const map[][2] = {
	    {"amd64", "x86_64"}, {"arm64", "aarch64"}, {"386", "i686"},     {"ppc64le", "ppc64le"},
	    {"s390x", "s390x"},  {"riscv64", "riscv64"}, {"mips64le", "mips64"},
	};
	if (!strcmp(arch, "arm")) {
		return variant && !strcmp(variant, "v6") ? "armv6l" : "armv7l";
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(arch, map[i][0])) {
			return map[i][1];
		}
	}
	return NULL;
}

/* PYTHON_VERSION from an image config's Env, into out ("" when unset). */
static int env_python(struct lks_ctx *ctx, const struct lks_buf *b, const char *what, char *out,
                      size_t len)
{
	json_t *j;
	int rc = lks_json_parse(ctx, b->data ? b->data : "", b->len, LKS_REGISTRY_CONFIG_MAX, what,
	                        &j);
	if (rc < 0) {
		return rc;
	}
	json_t *env = json_object_get(json_object_get(j, "config"), "Env");
	size_t i;
	json_t *v;
	out[0] = '\0';
	json_array_foreach(env, i, v)
	{
		const char *s = json_string_value(v);
		if (s && !strncmp(s, "PYTHON_VERSION=", 15)) {
			snprintf(out, len, "%s", s + 15);
		}
	}
	json_decref(j);
	return 0;
}

/* "3.11.2" from a dpkg status paragraph of python3.X-minimal / libpython3.X-minimal
 * ("Version: 3.11.2-6+deb12u2"); false when none is installed. */
static bool dpkg_python(const char *status, const char *xy, char *out, size_t len)
{
	char want[2][64];
	snprintf(want[0], sizeof(want[0]), "Package: python%s-minimal\n", xy);
	snprintf(want[1], sizeof(want[1]), "Package: libpython%s-minimal\n", xy);
	for (int k = 0; k < 2; k++) {
		const char *p = strstr(status, want[k]);
		const char *end = p ? strstr(p, "\n\n") : NULL;
		const char *v = p ? strstr(p, "\nVersion: ") : NULL;
		if (!v || (end && v > end)) {
			continue;
		}
		v += 10;
		const char *colon = strchr(v, ':'), *nl = strchr(v, '\n');
		if (colon && (!nl || colon < nl)) {
			v = colon + 1; /* epoch */
		}
		size_t n = strspn(v, "0123456789.");
		if (n > strlen(xy) && !strncmp(v, xy, strlen(xy)) && v[strlen(xy)] == '.') {
			snprintf(out, len, "%.*s", (int)n, v);
			return true;
		}
	}
	return false;
}

/* No PYTHON_VERSION: ask the image's own files. The interpreter is where python3 leads
 * (/usr/local/bin/python3 -> python3.12, /usr/bin/python3 -> python3.11); the patch level
 * comes from dpkg's status on Debian and Ubuntu. Leaves out empty when there is no python3. */
static int layers_python(struct lks_ctx *ctx, const struct lks_oci_ref *ref, const char *digest,
                         char *out, size_t len)
{
	static const struct lks_imagefs_req reqs[] = {
	    {"/usr/local/bin/python3", true},
	    {"/usr/bin/python3", true},
	    {"/var/lib/dpkg/status", false},
	};
	const struct lks_imagefs_opts o = {.file_max = (size_t)16 << 20,
	                                   .cache_get = lks_cache_get,
	                                   .cache_put = lks_cache_put};
	struct lks_oci_ref at;
	lks_oci_ref_init(&at);
	int rc = lks_oci_ref_copy(ref, &at);
	free(at.tag);
	at.tag = NULL;
	free(at.digest);
	at.digest = rc == 0 ? strdup(digest) : NULL;
	_cleanup_free_ char *image = at.digest ? lks_oci_ref_format(&at, LKS_OCI_REF_FULL) : NULL;
	lks_oci_ref_free(&at);
	struct lks_imagefs fs;
	lks_imagefs_init(&fs);
	rc = image ? lks_imagefs_read(ctx, image, NULL, reqs, 3, &o, &fs) : -ENOMEM;
	const struct lks_imagefs_file *py = NULL, *st = NULL;
	for (size_t i = 0; rc == 0 && i < 2 && !py; i++) {
		py = lks_imagefs_get(&fs, reqs[i].path);
	}
	st = rc == 0 ? lks_imagefs_get(&fs, "/var/lib/dpkg/status") : NULL;
	const char *base = py ? strrchr(py->resolved, '/') : NULL;
	char xy[16] = "";
	if (base && !strncmp(base, "/python", 7) &&
	    strspn(base + 7, "0123456789.") == strlen(base + 7) && strchr(base + 7, '.')) {
		snprintf(xy, sizeof(xy), "%s", base + 7);
	}
	if (xy[0] && !(st && st->data && dpkg_python(st->data, xy, out, len))) {
		snprintf(out, len, "%s", xy);
		lks_warn(ctx, "warning: '%s' runs %s (its python3); the patch level is unknown, so "
		         "python_full_version is taken as %s: give --python-version to be exact",
		         image, py->resolved, xy);
	}
	lks_imagefs_free(&fs);
	return rc;
}

/* Fetch the platform manifest, then its config, and read PYTHON_VERSION. */
static int fetch_python(struct lks_ctx *ctx, const struct lks_oci_ref *ref, const char *digest,
                        char *out, size_t len)
{
	struct lks_buf b;
	char got[LKS_DIGEST_LEN + 1];
	json_t *m = NULL;
	lks_buf_init(&b, 0);
	int rc = lks_registry_manifest(ctx, ref, digest, &b, NULL, got);
	if (rc == 0) {
		rc = lks_json_parse(ctx, b.data, b.len, LKS_REGISTRY_MANIFEST_MAX, "manifest", &m);
	}
	const char *cfg = rc == 0 ? lks_json_str(json_object_get(m, "config"), "digest") : NULL;
	if (rc == 0 && !cfg) {
		rc = lks_err(ctx, -LKS_E_PARSE, "manifest '%s' has no config digest", digest);
	}
	lks_buf_reset(&b);
	if (rc == 0) {
		rc = lks_registry_blob_mem(ctx, ref, cfg, 0, &b);
	}
	if (rc == 0) {
		rc = env_python(ctx, &b, "image config", out, len);
	}
	if (rc == 0 && !out[0]) {
		rc = layers_python(ctx, ref, digest, out, len);
	}
	json_decref(m);
	lks_buf_free(&b);
	return rc;
}

/* The image config is immutable for a digest: cache the answer under it. */
static int python_of(struct lks_ctx *ctx, const struct lks_oci_ref *ref, const char *digest,
                     char *out, size_t len)
{
	struct lks_buf b;
	lks_buf_init(&b, 64);
	int rc = lks_cache_get(ctx, CACHE_NS, digest, &b, NULL);
	if (rc == 0) {
		snprintf(out, len, "%.*s", (int)b.len, b.data ? b.data : "");
	}
	lks_buf_free(&b);
	if (rc == 0) {
		return 0;
	}
	rc = fetch_python(ctx, ref, digest, out, len);
	if (rc == 0 && lks_cache_put(ctx, CACHE_NS, digest, out, strlen(out)) < 0) {
		ctx->err[0] = '\0'; /* a cache failure only costs a fetch next time */
	}
	return rc;
}

/* The lock entry of the image the stage of `instr` is built on (through stage names). */
static int base_entry(struct lks_ctx *ctx, const struct lks_dockerfile *df, const char *file,
                      size_t instr, struct lks_lock *lock, struct lks_lock_image **out,
                      const struct lks_df_instr **from)
{
	int parent;
	size_t f = lks_pyscan_stage_from(df, instr, &parent);
	for (int guard = 0; parent >= 0 && guard < 256; guard++) {
		size_t i = 0;
		for (int s = -1; i < df->ninstrs; i++) {
			s += !strcmp(df->instrs[i].keyword, "FROM");
			if (s == parent) {
				break;
			}
		}
		f = lks_pyscan_stage_from(df, i, &parent);
	}
	struct lks_df_image *imgs = NULL;
	size_t n = 0;
	int rc = lks_dockerfile_images(ctx, df, &imgs, &n);
	*out = NULL;
	*from = &df->instrs[f];
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (imgs[i].kind == LKS_DF_IMG_FROM && imgs[i].instr == f) {
			*out = lks_lock_find_image(lock, file, imgs[i].written, (long)imgs[i].line);
		}
	}
	lks_df_images_free(imgs, n);
	return rc;
}

static bool platform_wanted(const struct lks_df_instr *from, const char *platform)
{
	for (size_t i = 0; i < from->nflags; i++) {
		const char *v = from->flags[i].value;
		if (!strcmp(from->flags[i].name, "platform") && v && !strchr(v, '$')) {
			return !strncmp(platform, v, strlen(v));
		}
	}
	return true;
}

static int add_target(struct lks_ctx *ctx, struct pybase *b, const struct lks_oci_ref *ref,
                      const struct lks_lock_platform *p, const char *python_version)
{
	const char *machine = machine_of(p->architecture ? p->architecture : "", p->variant);
	if (!machine || b->n == PYBASE_MAX_PLATFORMS || strcmp(p->os ? p->os : "", "linux")) {
		return 0; /* not a Linux platform Python wheels are built for */
	}
	struct pybase_target *t = &b->t[b->n];
	snprintf(t->platform, sizeof(t->platform), "%s/%s%s%s", p->os, p->architecture,
	         p->variant ? "/" : "", p->variant ? p->variant : "");
	snprintf(t->machine, sizeof(t->machine), "%s", machine);
	int rc = python_version ? 0 : python_of(ctx, ref, p->digest, t->python, sizeof(t->python));
	if (python_version) {
		snprintf(t->python, sizeof(t->python), "%s", python_version);
	}
	if (rc == 0 && !t->python[0]) {
		return lks_err(ctx, -LKS_E_UNSUPPORTED,
		               "cannot tell which Python '%s' (%s) runs: its config sets no "
		               "PYTHON_VERSION and it has no python3; give --python-version",
		               b->image, t->platform);
	}
	for (size_t u = 0; rc == 0 && u < b->n; u++) {
		if (!strcmp(b->t[u].machine, t->machine) && !strcmp(b->t[u].python, t->python)) {
			return 0; /* arm64 and arm64/v8: one interpreter, resolved once */
		}
	}
	b->n += rc == 0;
	return rc;
}

int pybase_targets(struct lks_ctx *ctx, const struct lks_dockerfile *df, const char *file,
                   size_t instr, struct lks_lock *lock, const char *python_version,
                   struct pybase *out)
{
	struct lks_lock_image *e;
	const struct lks_df_instr *from;
	struct lks_oci_ref ref;
	lks_oci_ref_init(&ref);
	memset(out, 0, sizeof(*out));
	int rc = base_entry(ctx, df, file, instr, lock, &e, &from);
	snprintf(out->image, sizeof(out->image), "%s", from->nargs ? from->args[0].value : "");
	if (rc == 0 && (!e || !e->n_platforms)) {
		if (!python_version) {
			return lks_err(ctx, -LKS_E_UNSUPPORTED,
			               "%s:%zu: cannot tell which Python the base image '%s' runs "
			               "(it is not pinned in the lock); give --python-version",
			               file, from->start_line, out->image);
		}
		struct pybase_target *t = &out->t[out->n++];
		snprintf(t->platform, sizeof(t->platform), "linux/amd64");
		snprintf(t->machine, sizeof(t->machine), "x86_64");
		snprintf(t->python, sizeof(t->python), "%s", python_version);
		return 0;
	}
	rc = rc ? rc : lks_oci_ref_parse(ctx, e->reference, &ref);
	for (size_t i = 0; rc == 0 && i < e->n_platforms; i++) {
		const struct lks_lock_platform *p = &e->platforms[i];
		char name[64];
		snprintf(name, sizeof(name), "%s/%s%s%s", p->os ? p->os : "",
		         p->architecture ? p->architecture : "", p->variant ? "/" : "",
		         p->variant ? p->variant : "");
		rc = platform_wanted(from, name) ? add_target(ctx, out, &ref, p, python_version) : 0;
	}
	if (rc == 0 && out->n == 0) {
		rc = lks_err(ctx, -LKS_E_UNSUPPORTED, "base image '%s' has no Linux platform",
		             out->image);
	}
	lks_oci_ref_free(&ref);
	return rc;
}
