/* Python distributions: file names (wheel and sdist), wheel tag compatibility with a target
 * interpreter, and core metadata (METADATA / PKG-INFO / PEP 658 .metadata).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/ctx.h"
#include "pinner/python/pep440.h"
#include "pinner/python/pep508.h"

#define LKS_PYDIST_MAX_METADATA ((size_t)4 << 20) /* bytes of a METADATA file */
#define LKS_PYDIST_MAX_DEPS 1024                  /* Requires-Dist lines */

/* The interpreter the image will run: CPython X.Y on Linux/glibc for a machine. */
struct lks_pytarget {
	int major, minor, micro;
	char machine[32]; /* "x86_64", "aarch64" */
	int glibc_minor;  /* glibc 2.N of the image; 0 = 36 (Debian 12) */
};

enum lks_pydist_kind { LKS_PYDIST_OTHER, LKS_PYDIST_WHEEL, LKS_PYDIST_SDIST };

struct lks_pydist_name {
	enum lks_pydist_kind kind;
	char key[LKS_PEP508_MAX_NAME]; /* normalised project name */
	struct lks_pep440 version;
	char version_text[LKS_PEP440_MAX_INPUT + 1];
	char tags[512]; /* wheel: "py-abi-plat" part, "" for sdists */
};

/* Parse a distribution file name for project `key` (normalised). Returns -LKS_E_PARSE when it
 * is neither a wheel nor an sdist of that project with a valid version. */
int lks_pydist_parse_name(struct lks_ctx *ctx, const char *filename, const char *key,
                          struct lks_pydist_name *out);
/* Whether any tag of the wheel is supported by the target (cpXY, abi3, none, py3*, manylinux
 * up to the target glibc and linux_<machine>, any). Sdists are always compatible. */
bool lks_pydist_compatible(const struct lks_pydist_name *d, const struct lks_pytarget *t);

/* Core metadata fields lockstep needs. */
struct lks_pymeta {
	char metadata_version[16];
	char name[LKS_PEP508_MAX_NAME];
	char version[LKS_PEP440_MAX_INPUT + 1];
	char *requires_python; /* NULL when absent; owned */
	char **requires_dist;  /* owned */
	size_t nrequires;
	char **provides_extra; /* normalised; owned */
	size_t nextras;
	char **dynamic; /* lower-cased field names; owned */
	size_t ndynamic;
	/* Where to read about a release: the Project-URL labelled as a changelog (changelog,
	 * changes, release notes, history), else source/homepage, else Home-page; NULL when
	 * none is an http(s) URL. Owned. */
	char *link;
	int link_rank; /* internal: how good link is (lower is better) */
};

void lks_pymeta_init(struct lks_pymeta *m);
void lks_pymeta_free(struct lks_pymeta *m);
/* Parse RFC 822 style metadata text (headers only; the body is ignored). */
int lks_pymeta_parse(struct lks_ctx *ctx, const char *text, size_t n, struct lks_pymeta *m);
/* For an sdist's PKG-INFO: usable without a build only when Metadata-Version >= 2.2 and
 * neither Requires-Dist nor Requires-Python is listed as Dynamic. */
bool lks_pymeta_static_deps(const struct lks_pymeta *m);
