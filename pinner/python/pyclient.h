/* Package index client (internal to pinner/): project pages grouped into versions, metadata
 * (PEP 658 file, wheel METADATA, or a static sdist PKG-INFO), and file hashes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/ctx.h"
#include "pinner/python/pep440.h"
#include "pinner/python/pydist.h"
#include "pinner/python/pyindex.h"

struct pyversion {
	struct lks_pep440 v;
	char text[LKS_PEP440_MAX_STR]; /* normalised */
	size_t *files;                 /* every file of this version (indices into page) */
	size_t nfiles;
	bool usable;     /* a file installable on the target exists */
	bool all_yanked; /* every installable file is yanked */
	bool meta_loaded;
	bool bad_requires_python; /* a file or its metadata has a Requires-Python that cannot be
	                           * parsed: never taken as satisfied, so not chosen */
	struct lks_pymeta meta;
};

struct pyproj {
	char key[LKS_PEP508_MAX_NAME];
	struct lks_pyproject page;
	struct pydist_info *dists;  /* parallel to page.files */
	struct pyversion *versions; /* newest first */
	size_t nversions;
};

struct pydist_info {
	bool ok;     /* a distribution of this project */
	bool usable; /* compatible and Requires-Python allows the target */
	struct lks_pydist_name name;
	char sha256[65]; /* the file's sha256 computed here before (cache), "" when unknown */
	bool sha_looked_up;
};

struct pyclient {
	struct lks_ctx *ctx;
	char *index_url;   /* ends with '/' */
	char **extra_urls; /* --extra-index-url, searched too */
	size_t nextra;
	bool plain_http_ok; /* --insecure-index: every request may use plain http:// */
	struct lks_pytarget target;
	struct lks_pep440 python; /* target's full version */
	struct pyproj **projs;
	size_t nprojs;
};

/* Whether a Requires-Python (NULL: none) admits python, pre-releases allowed as pip does. One
 * that cannot be parsed admits nothing (*invalid is then set): pip would ignore it with a
 * warning, but the file may well not run on python. */
bool pyclient_python_ok(const struct lks_pep440 *python, const char *requires_python,
                        bool *invalid);

int pyclient_init(struct pyclient *c, struct lks_ctx *ctx, const char *index_url,
                  const struct lks_pytarget *t);
void pyclient_free(struct pyclient *c);
/* Search another index too (files of all indexes are merged). */
int pyclient_add_index(struct pyclient *c, const char *url);
/* The project page for key (fetched once). -LKS_E_NOTFOUND for an unknown project. */
int pyclient_project(struct pyclient *c, const char *key, struct pyproj **out);
/* Fetch the pages of several projects in parallel (errors are reported later, on use). */
int pyclient_prefetch(struct pyclient *c, const char *const *keys, size_t n);
/* Core metadata of one version (fetched once). */
int pyclient_metadata(struct pyclient *c, struct pyproj *p, struct pyversion *v);
/* Fetch the PEP 658 metadata of several versions in parallel (errors are reported later, by
 * pyclient_metadata()). */
int pyclient_prefetch_metadata(struct pyclient *c, struct pyproj **ps, struct pyversion **vs,
                               size_t n);
/* Cache namespaces: core metadata by the sha256 of its distribution file ("sha256:HEX"; by
 * "url:URL" when the index gives no hash), and the sha256 of files the index lists without
 * one, by URL. A URL stands for fixed bytes because an index never serves other bytes under
 * the name of a published file (PyPI refuses to reuse a filename). */
#define PYCLIENT_META_NS "py-metadata"
#define PYCLIENT_SHA_NS "py-file-sha256"

/* sha256 of every file of the given versions, downloading files the index gave no hash for.
 * hashes[i] receives a NULL-terminated, sorted "sha256:<hex>" list; caller frees. */
int pyclient_hashes(struct pyclient *c, struct pyproj **projs, struct pyversion **vers, size_t n,
                    char ***hashes);
