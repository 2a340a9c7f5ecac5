/* lockstep resolve REF...: resolve image references against their registries (debugging aid;
 * `pin` uses the same library calls). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "lockstep/oci_ref.h"
#include "lockstep/registry.h"

static const char resolve_help[] = "usage: lockstep resolve [options] REF...\n"
                                   "Resolve image references to digests. One line per reference:\n"
                                   "  REF DIGEST OS/ARCH[/VARIANT]=DIGEST,... CREATED\n"
                                   "  --json                    print a JSON array instead\n";

static void print_text(const char *in, const struct lks_image_resolution *r)
{
	printf("%s %s ", in, r->digest);
	for (size_t i = 0; i < r->n_platforms; i++) {
		const struct lks_image_platform *p = &r->platforms[i];
		printf("%s%s/%s%s%s=%s", i ? "," : "", p->os ? p->os : "?", p->arch ? p->arch : "?",
		       p->variant ? "/" : "", p->variant ? p->variant : "", p->digest);
	}
	printf(" %s\n", r->created ? r->created : "-");
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *to_json(const char *in, const struct lks_image_resolution *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "ref", json_string(in));
	if (r->rc < 0) {
		json_object_set_new(o, "error", str_or_null(r->error));
		return o;
	}
	json_object_set_new(o, "registry", str_or_null(r->registry));
	json_object_set_new(o, "repository", str_or_null(r->repository));
	json_object_set_new(o, "tag", str_or_null(r->tag));
	json_object_set_new(o, "digest", str_or_null(r->digest));
	json_object_set_new(o, "media_type", str_or_null(r->media_type));
	json_object_set_new(o, "created", str_or_null(r->created));
	json_object_set_new(o, "tag_moved", json_boolean(r->tag_moved));
	json_object_set_new(o, "tag_digest", str_or_null(r->tag_digest));
	json_t *ps = json_array();
	for (size_t i = 0; i < r->n_platforms; i++) {
		const struct lks_image_platform *p = &r->platforms[i];
		json_t *po = json_object();
		json_object_set_new(po, "os", str_or_null(p->os));
		json_object_set_new(po, "architecture", str_or_null(p->arch));
		json_object_set_new(po, "variant", str_or_null(p->variant));
		json_object_set_new(po, "digest", str_or_null(p->digest));
		json_object_set_new(po, "created", str_or_null(p->created));
		json_array_append_new(ps, po);
	}
	json_object_set_new(o, "platforms", ps);
	return o;
}

static int report(struct lks_ctx *ctx, char **in, const struct lks_image_resolution *res, size_t n,
                  bool as_json)
{
	int exit_code = EXIT_OK;
	json_auto_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if (res[i].rc < 0) {
			fprintf(stderr, "lockstep: %s\n",
			        res[i].error ? res[i].error : lks_strerror(res[i].rc));
			exit_code = EXIT_ERROR;
		} else if (res[i].tag_moved) {
			fprintf(stderr, "lockstep: warning: tag '%s' of '%s' now points to %s\n",
			        res[i].tag, in[i],
			        res[i].tag_digest ? res[i].tag_digest : "nothing");
		}
		if (as_json) {
			json_array_append_new(arr, to_json(in[i], &res[i]));
		} else if (res[i].rc == 0) {
			print_text(in[i], &res[i]);
		}
	}
	if (as_json) {
		struct lks_buf b;
		lks_buf_init(&b, 0);
		if (lks_json_dump_stable(ctx, arr, &b) == 0) {
			fputs(b.data, stdout);
		}
		lks_buf_free(&b);
	}
	return exit_code;
}

static int parse_refs(struct lks_ctx *ctx, char **in, size_t n, struct lks_oci_ref *refs)
{
	for (size_t i = 0; i < n; i++) {
		int rc = lks_oci_ref_parse(ctx, in[i], &refs[i]);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int resolve_all(struct lks_ctx *ctx, char **in, size_t n, bool as_json)
{
	struct lks_oci_ref *refs = calloc(n, sizeof(*refs));
	const struct lks_oci_ref **ptrs = calloc(n, sizeof(*ptrs));
	struct lks_image_resolution *res = calloc(n, sizeof(*res));
	int rc = refs && ptrs && res ? parse_refs(ctx, in, n, refs) : -1;
	if (rc == 0) {
		for (size_t i = 0; i < n; i++) {
			ptrs[i] = &refs[i];
		}
		lks_registry_resolve(ctx, ptrs, n, res);
		rc = report(ctx, in, res, n, as_json);
	} else {
		rc = refs && ptrs && res ? cli_fail(ctx, rc) : EXIT_ERROR;
	}
	for (size_t i = 0; refs && res && i < n; i++) {
		lks_oci_ref_free(&refs[i]);
		lks_image_resolution_free(&res[i]);
	}
	free(refs);
	free(ptrs);
	free(res);
	return rc;
}

int cmd_resolve(struct lks_ctx *ctx, int argc, char **argv)
{
	bool as_json = false;
	char **in = calloc((size_t)argc + 1, sizeof(*in));
	size_t n = 0;
	for (int i = 1; in && i < argc; i++) {
		int c = cli_common_option(ctx, argc, argv, &i);
		if (c < 0) {
			free(in);
			return EXIT_ERROR;
		} else if (c > 0) {
			continue;
		}
		if (!strcmp(argv[i], "--json")) {
			as_json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("%s%s", resolve_help, cli_common_help);
			free(in);
			return EXIT_OK;
		} else {
			in[n++] = argv[i];
		}
	}
	if (!in || n == 0) {
		fputs(resolve_help, stderr);
		free(in);
		return EXIT_ERROR;
	}
	int rc = resolve_all(ctx, in, n, as_json);
	free(in);
	return rc;
}
