/* Pinning the apt packages of a RUN command: every apt-get/apt install word is resolved to
 * apt's candidate and rewritten as NAME[:ARCH]=VERSION; words already pinned are verified
 * against the index and left as they are; variables, patterns and local .debs are left alone
 * and reported. Only the bytes of the package words change, so the rest of the command (and
 * anything inside sh -c '...') is kept byte for byte.
 */
#pragma once
#include <stddef.h>
#include "pinner/apt/apt_cmd.h"
#include "pinner/apt/apt_resolve.h"

struct lks_ctx;
struct lks_buf;

struct lks_apt_rewrite_word {
	size_t start, end; /* byte range of the word in the command */
	char *word;        /* the word as written (quotes removed) */
	enum lks_apt_word_kind kind;
	char *replacement;            /* "curl=7.88.1-10+deb12u12", NULL when left as is */
	struct lks_apt_choice choice; /* valid when rc == 0 and the word was resolvable */
	int rc;                       /* 0, or the error for this word (detail in err) */
	char err[512];
	/* A pinned word (NAME=VERSION) also gets apt's candidate for NAME, as if the word were
	 * not pinned: what `lockstep update` would move it to. */
	struct lks_apt_choice cand; /* valid when cand_rc == 0 (pinned words only) */
	int cand_rc;                /* 0, the error, or 1 when not looked up */
	char cand_err[256];
};

struct lks_apt_rewrite_result {
	struct lks_apt_rewrite_word *v;
	size_t n;
};

void lks_apt_rewrite_result_free(struct lks_apt_rewrite_result *r);

/* Scan `cmd`, resolve each package word (pinned words twice: their version and, in cand, the
 * candidate ignoring it) under `pol` (an install's -t/--target-release acts
 * as apt's default release for that command), append the rewritten command to `out` and
 * describe every word in *res. Returns 0 when the command could be scanned (per-word failures
 * are in res), or a negative error. */
int lks_apt_rewrite_command(struct lks_ctx *ctx, const struct lks_apt_policy *pol, const char *cmd,
                            size_t len, struct lks_buf *out, struct lks_apt_rewrite_result *res);
