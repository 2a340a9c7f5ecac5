/* Python package index pages: the PEP 691 JSON simple API (with PEP 700 upload-time and
 * PEP 658/714 metadata) and the PEP 503 HTML page, parsed into one list of files.
 *
 * File URLs are resolved against the page URL. Hashes come from the JSON "hashes" object or the
 * HTML link fragment (#sha256=...). Nothing here touches the network.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "lockstep/ctx.h"

#define LKS_PYINDEX_MAX_PAGE ((size_t)32 << 20) /* bytes of one project page */
#define LKS_PYINDEX_MAX_FILES 100000            /* files listed on one page */

/* The Accept header lockstep sends for project pages (JSON preferred, HTML accepted). */
#define LKS_PYINDEX_ACCEPT                                                                         \
	"Accept: application/vnd.pypi.simple.v1+json, "                                            \
	"application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

struct lks_pyfile {
	char *filename;        /* last path component of the URL, percent-decoded */
	char *url;             /* absolute, without fragment */
	char sha256[65];       /* lowercase hex, "" when the index gave none */
	char *requires_python; /* NULL when none */
	bool yanked;
	char *yanked_reason; /* NULL when none */
	bool has_upload_time;
	time_t upload_time;
	bool has_metadata;        /* PEP 658/714: <url>.metadata is served */
	char metadata_sha256[65]; /* "" when not given */
};

struct lks_pyproject {
	struct lks_pyfile *files;
	size_t n;
};

void lks_pyproject_init(struct lks_pyproject *p);
void lks_pyproject_free(struct lks_pyproject *p);

/* Parse a PEP 691 JSON page served at page_url. Fails with -LKS_E_VERSION for an API major
 * version other than 1. */
int lks_pyindex_parse_json(struct lks_ctx *ctx, const char *page_url, const char *body, size_t n,
                           struct lks_pyproject *out);
/* Parse a PEP 503 HTML page served at page_url (anchors, data-requires-python, data-yanked,
 * data-core-metadata / data-dist-info-metadata; HTML entities decoded). */
int lks_pyindex_parse_html(struct lks_ctx *ctx, const char *page_url, const char *body, size_t n,
                           struct lks_pyproject *out);
/* Choose by Content-Type (NULL: sniff the body). */
int lks_pyindex_parse(struct lks_ctx *ctx, const char *page_url, const char *content_type,
                      const char *body, size_t n, struct lks_pyproject *out);
/* Resolve ref against base (RFC 3986 section 5.2, dot segments removed); caller frees. */
char *lks_pyindex_join_url(const char *base, const char *ref);
