/* JSON loading and dumping with caps (jansson), mapping errors into the ctx.
 *
 * jansson's accessors (json_object_get, ...) are used directly by modules; parsing and
 * serialising go through here so caps and error messages are uniform.
 */
#pragma once
#include <stddef.h>
#include <jansson.h>
#include "lockstep/cleanup.h"

struct lks_ctx;
struct lks_buf;

/* jansson >= 2.9 provides json_auto_t (cleanup-attributed json_t). */

#define LKS_JSON_MAX_BYTES ((size_t)16 << 20)
#define LKS_JSON_MAX_DEPTH 64

/* Parse at most max bytes (0 = LKS_JSON_MAX_BYTES) and at most LKS_JSON_MAX_DEPTH nesting.
 * `what` names the document in error messages ("manifest from 'x'"). */
int lks_json_parse(struct lks_ctx *ctx, const char *data, size_t len, size_t max, const char *what,
                   json_t **out);
/* Serialise with sorted keys, 2-space indent, trailing newline: stable and diff-friendly. */
int lks_json_dump_stable(struct lks_ctx *ctx, const json_t *j, struct lks_buf *out);
/* Convenience: string member or NULL. */
const char *lks_json_str(const json_t *obj, const char *key);
/* A JSON string for bytes from outside (a path, a name): as it is when it is valid UTF-8, else
 * its printable form (escape.h: ill-formed bytes as \xNN, '\' as "\\") so nothing is dropped;
 * json_null() for NULL. New reference, NULL only without memory. */
json_t *lks_json_bytes(const char *s);

/* Where an error happened, for lks_json_error_doc(); file NULL and line 0 when unknown. */
struct lks_json_error {
	const char *message;
	const char *file;
	long line;
};

/* The JSON document of a command that failed: `skeleton` (a JSON object text with the
 * command's usual top-level keys) plus "error": {"message", "file", "line"} (the last two
 * when known). When `findings` names an array of the skeleton, the error is appended to it as
 * a finding {file, line, severity "error", code "lockstep-error", subject "", message}.
 * Bytes of the message that are not UTF-8 become '?'. */
int lks_json_error_doc(struct lks_ctx *ctx, const char *skeleton, const char *findings,
                       const struct lks_json_error *e, struct lks_buf *out);
