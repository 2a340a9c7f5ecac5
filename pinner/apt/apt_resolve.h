/* apt's candidate selection over an lks_apt_index.
 *
 * Each Packages file gets a priority: 500, or 1 for a NotAutomatic suite, 100 when it also
 * says ButAutomaticUpgrades; then the first matching generic pin ("Package: *") of the
 * preferences replaces it, and -t / APT::Default-Release gives 990 to the suites it names.
 * A version's priority is that of the first package-specific pin matching it, else the
 * highest priority of the files carrying it. The candidate is the highest version among
 * those with the highest priority (> 0). Nothing is installed, so the >= 1000 downgrade
 * rules never change the answer.
 */
#pragma once
#include <stdbool.h>
#include "pinner/apt/apt_index.h"
#include "pinner/apt/apt_sources.h"

struct lks_ctx;

struct lks_apt_policy {
	const struct lks_apt_index *idx;
	const struct lks_apt_prefs *prefs; /* may be NULL */
	const char *default_release;       /* -t value or NULL */
	const char *native_arch;           /* "amd64" */
	int *pfile_prio;                   /* per Packages file, owned */
};

/* A request word as apt-get install takes it: NAME[:ARCH][=VERSION | /RELEASE]. */
struct lks_apt_request {
	char name[256];
	char arch[64];     /* "" for the native architecture */
	char version[256]; /* "" when not pinned with '=' */
	char release[256]; /* "" when not given with '/' */
};

struct lks_apt_choice {
	const struct lks_apt_pkg *pkg;         /* the chosen entry (from its best file) */
	const struct lks_apt_release *release; /* the suite it came from */
	const struct lks_apt_pfile *pfile;
	int priority;
	char provider_of[256]; /* the virtual name asked for, "" otherwise */
};

int lks_apt_policy_init(struct lks_ctx *ctx, struct lks_apt_policy *pol,
                        const struct lks_apt_index *idx, const struct lks_apt_prefs *prefs,
                        const char *default_release, const char *native_arch);
void lks_apt_policy_free(struct lks_apt_policy *pol);

/* Parse a request word; -LKS_E_INVAL with a detail when malformed. */
int lks_apt_request_parse(struct lks_ctx *ctx, const char *word, struct lks_apt_request *req);

/* Resolve one request to apt's candidate. Errors: -LKS_E_NOTFOUND naming package, suites and
 * architecture; -LKS_E_CONFLICT for a virtual package with several providers (listed) or a
 * package without a candidate (all priorities <= 0). A pinned '=VERSION' must exist. */
int lks_apt_resolve(struct lks_ctx *ctx, const struct lks_apt_policy *pol,
                    const struct lks_apt_request *req, struct lks_apt_choice *out);

/* The lock record of a choice as a new JSON object: package, version, architecture,
 * filename, sha256 ("sha256:<hex>"), size, suite, codename, snapshot (the Release Date,
 * RFC 3339 UTC), signature ("good" or "unchecked"), provides (for a virtual request).
 * NULL on allocation failure. */
struct json_t;
struct json_t *lks_apt_choice_json(const struct lks_apt_choice *c);
