#include "pinner/apt/apt_rewrite.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

void lks_apt_rewrite_result_free(struct lks_apt_rewrite_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].word);
		free(r->v[i].replacement);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static void word_error(struct lks_ctx *ctx, struct lks_apt_rewrite_word *p, int rc)
{
	p->rc = rc;
	snprintf(p->err, sizeof(p->err), "%s", lks_errmsg(ctx, rc));
	ctx->err[0] = '\0';
}

/* The candidate of a pinned word as if it were not pinned (update moves it there). */
static void float_word(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                       const struct lks_apt_request *req, struct lks_apt_rewrite_word *p)
{
	struct lks_apt_request free_req = *req;
	free_req.version[0] = '\0';
	p->cand_rc = lks_apt_resolve(ctx, pol, &free_req, &p->cand);
	if (p->cand_rc < 0) {
		snprintf(p->cand_err, sizeof(p->cand_err), "%s", lks_errmsg(ctx, p->cand_rc));
		ctx->err[0] = '\0';
	}
}

/* Resolve one word; sets replacement for words that get pinned. */
static int pin_word(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                    struct lks_apt_rewrite_word *p)
{
	static const char *const why[] = {
	    [LKS_APT_WORD_LOCAL] = "a local .deb file",
	    [LKS_APT_WORD_VARIABLE] = "a shell expansion, resolved only when the image builds",
	    [LKS_APT_WORD_PATTERN] = "a pattern, not one package",
	    [LKS_APT_WORD_CROSS] = "xx-apt-get installs it for the target architecture",
	};
	if (p->kind == LKS_APT_WORD_LOCAL || p->kind == LKS_APT_WORD_VARIABLE ||
	    p->kind == LKS_APT_WORD_PATTERN || p->kind == LKS_APT_WORD_CROSS) {
		word_error(
		    ctx, p,
		    lks_err(ctx, -LKS_E_UNSUPPORTED, "cannot pin '%s': %s", p->word, why[p->kind]));
		return 0;
	}
	struct lks_apt_request req;
	int parsed = lks_apt_request_parse(ctx, p->word, &req);
	int rc = parsed ? parsed : lks_apt_resolve(ctx, pol, &req, &p->choice);
	if (rc < 0) {
		word_error(ctx, p, rc);
		if (p->kind == LKS_APT_WORD_PINNED && parsed == 0) {
			float_word(ctx, pol, &req, p); /* a vanished version: where it would go */
		}
		return 0;
	}
	if (p->kind == LKS_APT_WORD_PINNED) {
		float_word(ctx, pol, &req, p);
		return 0; /* verified, kept as written */
	}
	const char *name = p->choice.pkg->name; /* the provider for a virtual name */
	char buf[600];
	snprintf(buf, sizeof(buf), "%s%s%s=%s", name, req.arch[0] ? ":" : "", req.arch,
	         p->choice.pkg->version);
	p->replacement = strdup(buf);
	return p->replacement ? 0 : -ENOMEM;
}

static int pin_install(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                       const struct lks_apt_install *in, struct lks_apt_rewrite_result *res)
{
	struct lks_apt_policy local;
	const struct lks_apt_policy *use = pol;
	int rc = 0;
	if (in->target_release) {
		rc = lks_apt_policy_init(ctx, &local, pol->idx, pol->prefs, in->target_release,
		                         pol->native_arch);
		use = &local;
	}
	for (size_t i = 0; rc == 0 && i < in->n; i++) {
		struct lks_apt_rewrite_word *nv = realloc(res->v, (res->n + 1) * sizeof(*nv));
		if (!nv) {
			rc = -ENOMEM;
			break;
		}
		res->v = nv;
		struct lks_apt_rewrite_word *p = &res->v[res->n++];
		memset(p, 0, sizeof(*p));
		p->start = in->words[i].start;
		p->end = in->words[i].end;
		p->kind = in->words[i].kind;
		p->word = strdup(in->words[i].text);
		p->cand_rc = 1;
		rc = p->word ? pin_word(ctx, use, p) : -ENOMEM;
	}
	if (in->target_release) {
		lks_apt_policy_free(&local);
	}
	return rc;
}

static int rewrite(const char *cmd, size_t len, const struct lks_apt_rewrite_result *res,
                   struct lks_buf *out)
{
	size_t at = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < res->n; i++) {
		const struct lks_apt_rewrite_word *p = &res->v[i];
		if (!p->replacement || p->start < at) {
			continue;
		}
		rc = lks_buf_append(out, cmd + at, p->start - at);
		rc = rc ? rc : lks_buf_puts(out, p->replacement);
		at = p->end;
	}
	return rc ? rc : lks_buf_append(out, cmd + at, len - at);
}

int lks_apt_rewrite_command(struct lks_ctx *ctx, const struct lks_apt_policy *pol, const char *cmd,
                            size_t len, struct lks_buf *out, struct lks_apt_rewrite_result *res)
{
	struct lks_apt_cmds cmds;
	lks_apt_cmds_init(&cmds);
	int rc = lks_apt_cmd_scan(ctx, cmd, len, &cmds);
	for (size_t i = 0; rc == 0 && i < cmds.n; i++) {
		rc = pin_install(ctx, pol, &cmds.v[i], res);
	}
	lks_apt_cmds_free(&cmds);
	return rc ? rc : rewrite(cmd, len, res, out);
}
