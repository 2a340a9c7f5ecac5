/* PEP 440 versions and version specifiers.
 *
 * Parsing accepts exactly the forms the `packaging` library accepts (case-insensitive, optional
 * leading 'v', alternative spellings of pre/post/dev labels, implicit numbers, surrounding ASCII
 * whitespace) and normalises them. Numbers of any size are compared as numbers, as packaging's
 * Python integers are: one that does not fit a uint64_t is kept as UINT64_MAX with its digits
 * beside it (big_at[], big[]), which the comparisons and lks_pep440_str() use.
 *
 * Pre-release selection follows the behaviour of pip 23 (packaging 21.3): a specifier set that
 * names no pre-release excludes pre-releases; an empty set admits them only when nothing else
 * matches (see lks_pep440_specset_filter()).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lockstep/ctx.h"

#define LKS_PEP440_MAX_RELEASE 32 /* release components kept; more is -LKS_E_TOOBIG */
#define LKS_PEP440_MAX_LOCAL 64   /* normalised local label bytes incl. NUL */
#define LKS_PEP440_MAX_STR 512    /* buffer size that always holds a normalised version */
#define LKS_PEP440_MAX_INPUT 256  /* longest version string accepted */
#define LKS_PEP440_MAX_SPECS 64   /* specifiers in one set */
/* Number slots: epoch, release components, pre, post, dev (see big_at). */
#define LKS_PEP440_SLOTS (LKS_PEP440_MAX_RELEASE + 4)

struct lks_pep440 {
	uint64_t epoch;
	uint64_t release[LKS_PEP440_MAX_RELEASE];
	size_t nrelease;
	char pre_l; /* 0 (none), 'a', 'b' or 'c' (rc) */
	uint64_t pre;
	bool has_post;
	uint64_t post;
	bool has_dev;
	uint64_t dev;
	char local[LKS_PEP440_MAX_LOCAL]; /* normalised ("ubuntu.1"), "" when none */
	/* A number beyond UINT64_MAX: 1 + offset in big[] of its digits (no leading zero,
	 * NUL-terminated), by slot (0 epoch, 1.. release, then pre, post, dev); 0 otherwise. */
	uint16_t big_at[LKS_PEP440_SLOTS];
	char big[LKS_PEP440_MAX_INPUT + 2];
};

/* Parse the n bytes at s (no NUL needed). Returns 0, -LKS_E_PARSE (not a PEP 440 version) or
 * -LKS_E_TOOBIG (input, component count or local label longer than the limits above). ctx may be
 * NULL; when given, a detail naming the input is recorded. */
int lks_pep440_parse(struct lks_ctx *ctx, const char *s, size_t n, struct lks_pep440 *v);
/* Write the normalised form ("1!2.0rc1.post3.dev4+abc.5") into out; returns its length.
 * out_len >= LKS_PEP440_MAX_STR always suffices. */
size_t lks_pep440_str(const struct lks_pep440 *v, char *out, size_t out_len);
/* Total order of PEP 440 (trailing zeros ignored, dev < pre < final < post, local after). */
int lks_pep440_cmp(const struct lks_pep440 *a, const struct lks_pep440 *b);
/* A pre-release or a development release. */
bool lks_pep440_is_prerelease(const struct lks_pep440 *v);

enum lks_pep440_op {
	LKS_PEP440_COMPAT,    /* ~= */
	LKS_PEP440_EQ,        /* == (wildcard when spec.wildcard) */
	LKS_PEP440_NE,        /* != */
	LKS_PEP440_LE,        /* <= */
	LKS_PEP440_GE,        /* >= */
	LKS_PEP440_LT,        /* < */
	LKS_PEP440_GT,        /* > */
	LKS_PEP440_ARBITRARY, /* === */
};

struct lks_pep440_spec {
	enum lks_pep440_op op;
	bool wildcard;                       /* ==X.* or !=X.* */
	struct lks_pep440 v;                 /* unused for === */
	char text[LKS_PEP440_MAX_INPUT + 1]; /* the version as written (=== compares this) */
};

struct lks_pep440_specset {
	struct lks_pep440_spec *items;
	size_t n;
};

void lks_pep440_specset_init(struct lks_pep440_specset *set);
void lks_pep440_specset_free(struct lks_pep440_specset *set);

/* Parse one specifier such as ">= 1.0" or "==2.*" (n bytes at s). */
int lks_pep440_spec_parse(struct lks_ctx *ctx, const char *s, size_t n, struct lks_pep440_spec *sp);
/* Parse a comma separated list (">=1.0, !=1.3.*, <2"); blank clauses are skipped as packaging
 * does (">=3.9," is ">=3.9"), so an empty or blank string gives an empty set. Items are
 * appended to set (which must be initialised). */
int lks_pep440_specset_parse(struct lks_ctx *ctx, const char *s, size_t n,
                             struct lks_pep440_specset *set);
/* Write "op+version" items joined by ',' in the order given; returns the length (truncates). */
size_t lks_pep440_specset_str(const struct lks_pep440_specset *set, char *out, size_t out_len);

/* Whether the specifier itself names a pre-release (so admits pre-releases). */
bool lks_pep440_spec_prereleases(const struct lks_pep440_spec *sp);
/* Whether any specifier in the set admits pre-releases. */
bool lks_pep440_specset_prereleases(const struct lks_pep440_specset *set);
/* The operator semantics alone, pre-release policy not applied. */
bool lks_pep440_spec_match(const struct lks_pep440_spec *sp, const struct lks_pep440 *v);
/* Membership: every specifier matches, and v is not a pre-release unless allow_pre or the set
 * names a pre-release. */
bool lks_pep440_specset_contains(const struct lks_pep440_specset *set, const struct lks_pep440 *v,
                                 bool allow_pre);
/* Choose among n candidate versions as pip does: keep[i] is set for every candidate admitted.
 * Pre-releases are admitted when allow_pre, when the set names one, or - only for an empty
 * set - when no final release matches. Returns the number kept. */
size_t lks_pep440_specset_filter(const struct lks_pep440_specset *set,
                                 const struct lks_pep440 *const *vs, size_t n, bool allow_pre,
                                 bool *keep);
