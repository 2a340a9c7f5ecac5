/* deb822 package relationships (Depends, Pre-Depends, Provides): parsing and checks.
 *
 * A field is a comma-separated list of groups; a group is '|'-separated alternatives; an
 * alternative is NAME[:ARCH] [(OP VERSION)] with OP one of << <= = >= >> (and the obsolete
 * < and >, which dpkg reads as <= and >=). Architecture restrictions ("[amd64 !i386]") and
 * build profiles ("<!nocheck>") only occur in source packages: they are accepted and
 * dropped. Versions compare with lks_debver_cmp.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;

#define LKS_APT_REL_MAX_GROUPS 4096
#define LKS_APT_REL_MAX_ALTS 64
#define LKS_APT_REL_MAX_NAME 256

enum lks_apt_relop {
	LKS_APT_REL_NONE = 0, /* no version constraint */
	LKS_APT_REL_LT,       /* << */
	LKS_APT_REL_LE,       /* <= (and the obsolete <) */
	LKS_APT_REL_EQ,       /* = */
	LKS_APT_REL_GE,       /* >= (and the obsolete >) */
	LKS_APT_REL_GT,       /* >> */
};

struct lks_apt_alt {
	char *name;    /* "libc6" */
	char *arch;    /* qualifier after ':' ("any", "native", "amd64"), NULL when none */
	char *version; /* NULL when op is NONE */
	enum lks_apt_relop op;
};

struct lks_apt_group {
	struct lks_apt_alt *alts;
	size_t n;
};

struct lks_apt_rels {
	struct lks_apt_group *v;
	size_t n;
};

/* Parse a relationship field ("a (>= 1.0) | b:any, c"); NULL or "" gives no groups. out is
 * initialised by this call and owns its strings. -LKS_E_PARSE (detail names the field
 * text) on malformed input, -LKS_E_TOOBIG over the caps above. */
int lks_apt_rels_parse(struct lks_ctx *ctx, const char *text, struct lks_apt_rels *out);
void lks_apt_rels_free(struct lks_apt_rels *r);
/* Does version `have` satisfy (op want)? NONE always holds. */
bool lks_apt_relop_holds(enum lks_apt_relop op, const char *have, const char *want);
/* "<<", "<=", "=", ">=", ">>", "" for NONE. */
const char *lks_apt_relop_str(enum lks_apt_relop op);
/* Format an alternative as written ("libc6:any (>= 2.36)") into buf (truncated). */
void lks_apt_alt_format(const struct lks_apt_alt *a, char *buf, size_t size);
