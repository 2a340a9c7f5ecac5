/* OCI manifests and indexes; see include/lockstep/manifest.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "lockstep/manifest.h"

static bool attestation(const json_t *e, const char *os, const char *arch)
{
	const char *t =
	    lks_json_str(json_object_get(e, "annotations"), "vnd.docker.reference.type");
	return (t && !strcmp(t, "attestation-manifest")) ||
	       (os && arch && !strcmp(os, "unknown") && !strcmp(arch, "unknown"));
}

static int desc(struct lks_ctx *ctx, const char *what, const char *kind, size_t i, const json_t *e,
                struct lks_desc *d)
{
	const char *digest = lks_json_str(e, "digest");
	if ((!json_is_object(e) || !digest || !lks_digest_valid(digest)) &&
	    !strcmp(kind, "config")) {
		return lks_err(ctx, -LKS_E_PARSE, "%s: no valid config descriptor", what);
	}
	if (!json_is_object(e) || !digest || !lks_digest_valid(digest)) {
		return lks_err(ctx, -LKS_E_PARSE, "%s: %s %zu without a valid digest", what, kind,
		               i + 1);
	}
	const json_t *p = json_object_get(e, "platform");
	const json_t *sz = json_object_get(e, "size");
	*d = (struct lks_desc){
	    .digest = digest,
	    .media_type = lks_json_str(e, "mediaType"),
	    .size = json_is_integer(sz) ? json_integer_value(sz) : -1,
	    .os = lks_json_str(p, "os"),
	    .arch = lks_json_str(p, "architecture"),
	    .variant = lks_json_str(p, "variant"),
	    .json = e,
	};
	d->attestation = attestation(e, d->os, d->arch);
	return 0;
}

static bool is_index(const json_t *doc, const char *mt)
{
	return json_is_array(json_object_get(doc, "manifests")) ||
	       (mt && (!strcmp(mt, LKS_MT_OCI_INDEX) || !strcmp(mt, LKS_MT_DOCKER_LIST)));
}

static int entries(struct lks_ctx *ctx, const char *what, const json_t *arr, bool index,
                   struct lks_manifest *m)
{
	size_t n = json_array_size(arr),
	       cap = index ? LKS_MANIFEST_MAX_ENTRIES : LKS_MANIFEST_MAX_LAYERS;
	if (!json_is_array(arr)) {
		return lks_err(ctx, -LKS_E_PARSE, "%s: no %s list", what,
		               index ? "manifest" : "layer");
	}
	if (n > cap) {
		return lks_err(ctx, -LKS_E_TOOBIG,
		               "%s has %zu %ss, which exceeds the %s limit of %zu", what, n,
		               index ? "manifest" : "layer", index ? "manifest" : "layer", cap);
	}
	m->v = calloc(n + 1, sizeof(*m->v));
	if (!m->v) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = desc(ctx, what, index ? "manifest" : "layer", i, json_array_get(arr, i),
		              &m->v[m->n]);
		if (rc < 0) {
			return rc;
		}
		m->n++;
	}
	return 0;
}

int lks_manifest_parse(struct lks_ctx *ctx, const json_t *doc, const char *what,
                       struct lks_manifest *m)
{
	memset(m, 0, sizeof(*m));
	if (!json_is_object(doc)) {
		return lks_err(ctx, -LKS_E_PARSE, "%s: not a JSON object", what);
	}
	m->media_type = lks_json_str(doc, "mediaType");
	m->index = is_index(doc, m->media_type);
	int rc = 0;
	if (!m->index) {
		const json_t *c = json_object_get(doc, "config");
		rc = c ? desc(ctx, what, "config", 0, c, &m->config)
		       : lks_err(ctx, -LKS_E_PARSE, "%s: no valid config descriptor", what);
	}
	rc = rc ? rc
	        : entries(ctx, what, json_object_get(doc, m->index ? "manifests" : "layers"),
	                  m->index, m);
	if (rc < 0) {
		lks_manifest_free(m);
	}
	return rc;
}

void lks_manifest_free(struct lks_manifest *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

char *lks_desc_platform(const struct lks_desc *d)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s%s%s", d->os ? d->os : "?", d->arch ? d->arch : "?",
	             d->variant ? "/" : "", d->variant ? d->variant : "") < 0) {
		return NULL;
	}
	return s;
}
