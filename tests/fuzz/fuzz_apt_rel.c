/* The relationship parser (Depends, Pre-Depends, Provides) on arbitrary input: no crash, no
 * leak, and on success every alternative is well formed: a non-empty name without separators,
 * a version exactly when there is an operator, and formatting then parsing again gives the
 * same groups. Input: the field text (NUL bytes end it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pinner/apt/apt_rel.h"
#include "lockstep/ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_alt(const struct lks_apt_alt *a)
{
	if (!a->name || !*a->name || strpbrk(a->name, " \t\n,|()") ||
	    (a->op == LKS_APT_REL_NONE) != (a->version == NULL) || (a->arch && !*a->arch)) {
		abort();
	}
	(void)lks_apt_relop_holds(a->op, "1.0", a->version);
}

static void round_trip(struct lks_ctx *ctx, const struct lks_apt_rels *r)
{
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->v[i].n; j++) {
			check_alt(&r->v[i].alts[j]);
			char one[1024];
			lks_apt_alt_format(&r->v[i].alts[j], one, sizeof(one));
			struct lks_apt_rels again;
			if (lks_apt_rels_parse(ctx, one, &again) == 0) {
				if (again.n != 1 || again.v[0].n != 1 ||
				    strcmp(again.v[0].alts[0].name, r->v[i].alts[j].name) ||
				    again.v[0].alts[0].op != r->v[i].alts[j].op) {
					abort();
				}
				lks_apt_rels_free(&again);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lks_ctx ctx;
	static int once;
	if (!once++) {
		lks_ctx_init(&ctx);
	}
	char *text = malloc(size + 1);
	if (!text) {
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	struct lks_apt_rels r;
	if (lks_apt_rels_parse(&ctx, text, &r) == 0) {
		round_trip(&ctx, &r);
		lks_apt_rels_free(&r);
	}
	free(text);
	return 0;
}
