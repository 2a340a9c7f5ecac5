/* libFuzzer target for the registries.conf reader: the TOML parser (common/toml.c) and the
 * registries.conf model on top of it (common/regconf.c). Any input either gives a tree whose
 * table members all have keys, or a "NAME:LINE: ..." refusal; a configuration that loads
 * gives pull sources for a few names, and the text written for builders reads back to the
 * same text (render, parse, render: the same bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/toml.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/oci_ref.h"
#include "lockstep/regconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const struct toml_node *n)
{
	for (size_t i = 0; i < n->n; i++) {
		if ((n->type == TOML_TABLE) != (n->kids[i]->key != NULL)) {
			abort();
		}
		check_tree(n->kids[i]);
	}
}

static void sources(struct lks_ctx *ctx, const struct lks_regconf *c)
{
	static const char *const refs[] = {
	    "busybox:1",
	    ("docker.io/library/busybox@sha256:"
	     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	    "a.example.com/x/y:1", "example.com:5000/foo/bar:2", "quay.io/x/y"};
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		struct lks_oci_ref r;
		if (lks_oci_ref_parse(ctx, refs[i], &r) < 0) {
			abort();
		}
		struct lks_pull_source *s;
		size_t n;
		if (lks_regconf_sources(ctx, c, &r, r.digest != NULL, &s, &n) == 0) {
			if (n == 0 || s[n - 1].mirror) {
				abort(); /* the location always comes last */
			}
			lks_pull_sources_free(s, n);
		}
		lks_oci_ref_free(&r);
	}
}

static void round_trip(struct lks_ctx *ctx, const struct lks_regconf *c)
{
	struct lks_buf a, b;
	lks_buf_init(&a, 0);
	lks_buf_init(&b, 0);
	struct lks_regconf back;
	lks_regconf_init(&back);
	if (lks_regconf_render(c, &a) < 0 ||
	    lks_regconf_parse(ctx, &back, "written.conf", a.data, a.len, false) < 0 ||
	    lks_regconf_render(&back, &b) < 0 || a.len != b.len || memcmp(a.data, b.data, a.len)) {
		abort();
	}
	lks_regconf_free(&back);
	lks_buf_free(&a);
	lks_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct toml_node *root = NULL;
	int rc = toml_parse(&ctx, "fuzz.toml", (const char *)data, size, &root);
	if (rc == 0) {
		check_tree(root);
	} else if (strncmp(ctx.err, "fuzz.toml:", 10)) {
		abort(); /* every refusal names the file (and the line) */
	}
	toml_free(root);
	struct lks_regconf c;
	lks_regconf_init(&c);
	if (lks_regconf_parse(&ctx, &c, "fuzz.conf", (const char *)data, size, false) == 0) {
		sources(&ctx, &c);
		round_trip(&ctx, &c);
	} else if (!ctx.err[0]) {
		abort();
	}
	lks_regconf_free(&c);
	lks_ctx_free(&ctx);
	return 0;
}
