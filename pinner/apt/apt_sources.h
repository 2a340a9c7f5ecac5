/* apt configuration inputs: sources (one-line sources.list and deb822 .sources) and
 * preferences (pin) files.
 *
 * All strings are owned by the containing struct and released by its _free function.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;

struct lks_apt_source {
	char *uri;         /* without a trailing '/' */
	char *suite;       /* "bookworm", or an exact path ending in '/' (flat repository) */
	char **components; /* NULL-terminated */
	char **archs;      /* NULL-terminated, NULL when not restricted by [arch=...] */
	char *signed_by;   /* NULL when not given */
};

struct lks_apt_sources {
	struct lks_apt_source *v;
	size_t n;
};

void lks_apt_sources_init(struct lks_apt_sources *s);
void lks_apt_sources_free(struct lks_apt_sources *s);
/* One-line format: "deb [opt=val ...] URI SUITE COMP...". deb-src lines are skipped. */
int lks_apt_sources_parse_list(struct lks_ctx *ctx, struct lks_apt_sources *s, const char *what,
                               const char *text, size_t n);
/* deb822 format (Types/URIs/Suites/Components/Architectures/Signed-By/Enabled). */
int lks_apt_sources_parse_deb822(struct lks_ctx *ctx, struct lks_apt_sources *s, const char *what,
                                 const char *text, size_t n);
/* Read a file, choosing the format by its name (".sources" is deb822, else one-line). */
int lks_apt_sources_load(struct lks_ctx *ctx, struct lks_apt_sources *s, const char *path);
/* apt's lists-directory file-name prefix for a source, e.g.
 * "deb.example_debian_dists_bookworm_" (what apt-get update names its files); caller frees. */
char *lks_apt_source_list_prefix(const struct lks_apt_source *src);
/* Host of the URI without port (apt's "site", matched by "Pin: origin"); caller frees. */
char *lks_apt_uri_site(const char *uri);

enum lks_apt_pin_type {
	LKS_APT_PIN_VERSION, /* Pin: version GLOB */
	LKS_APT_PIN_RELEASE, /* Pin: release a=..,n=..,v=..,o=..,l=..,c=..,b=.. or a bare string */
	LKS_APT_PIN_ORIGIN,  /* Pin: origin HOST */
};

struct lks_apt_pref {
	char *package; /* "*" for a generic (per release) pin, else a name or glob */
	enum lks_apt_pin_type type;
	char *data; /* the text after the pin type keyword */
	int priority;
};

struct lks_apt_prefs {
	struct lks_apt_pref *v;
	size_t n;
};

void lks_apt_prefs_init(struct lks_apt_prefs *p);
void lks_apt_prefs_free(struct lks_apt_prefs *p);
/* Parse a preferences file (Package/Pin/Pin-Priority paragraphs, comments allowed). One pin is
 * added per name in a space-separated Package list. */
int lks_apt_prefs_parse(struct lks_ctx *ctx, struct lks_apt_prefs *p, const char *what,
                        const char *text, size_t n);
int lks_apt_prefs_load(struct lks_ctx *ctx, struct lks_apt_prefs *p, const char *path);
/* An image's apt configuration from its etc/apt directory, in apt's order: sources.list, then
 * sources.list.d/ *.list and *.sources by name; preferences, then preferences.d/ files without
 * an extension or ending in .pref, by name. Missing files are fine. s or p may be NULL. */
int lks_apt_config_load(struct lks_ctx *ctx, const char *etc_apt, struct lks_apt_sources *s,
			struct lks_apt_prefs *p);
/* Add one pin (for -t / APT::Default-Release: package "*", RELEASE, data, 990). */
int lks_apt_prefs_add(struct lks_apt_prefs *p, const char *package, enum lks_apt_pin_type type,
                      const char *data, int priority);
