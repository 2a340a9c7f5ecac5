/* Internal to regconf.c and regconf_match.c. */
#pragma once
#include <stddef.h>
#include "lockstep/regconf.h"

struct lks_ctx;

void regconf_endpoint_free(struct lks_regconf_endpoint *e);
void regconf_registry_free(struct lks_regconf_registry *r);

/* Length of name's part matched by prefix (containers/image's refMatchingPrefix: a match
 * ends at the end of name or before ':', '/' or '@'; "*.example.com" matches subdomains), or
 * -1. name is "host[:port]/path" (no tag). */
long regconf_match(const char *name, const char *prefix);

/* The table whose prefix is exactly prefix, or NULL. */
struct lks_regconf_registry *regconf_exact(struct lks_regconf *c, const char *prefix);

/* Add a table for prefix that sends names under it where the table matching prefix today
 * would (its location and mirrors rewritten, insecure, blocked and mirror settings kept), or
 * to prefix itself when none matches. *out borrowed. */
int regconf_specialize(struct lks_ctx *ctx, struct lks_regconf *c, const char *prefix,
                       struct lks_regconf_registry **out);

/* "REGISTRY=URL" or "URL" (Docker Hub) into a prefix and an endpoint (origin names the
 * option or variable in messages). */
int regconf_parse_mirror(struct lks_ctx *ctx, const char *spec, const char *origin, char **prefix,
                         struct lks_regconf_endpoint *ep);
