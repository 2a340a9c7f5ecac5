/* Loading and dumping JSON with caps; the accessors are used directly elsewhere. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/escape.h"
#include "lockstep/json.h"

/* jansson has no depth limit of its own on older versions: scan before parsing. */
static int depth_ok(const char *p, size_t n, int max)
{
	int depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\') {
				i++;
			} else if (c == '"') {
				in_str = false;
			}
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max) {
				return 0;
			}
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 1;
}

int lks_json_parse(struct lks_ctx *ctx, const char *data, size_t len, size_t max, const char *what,
                   json_t **out)
{
	if (!max) {
		max = LKS_JSON_MAX_BYTES;
	}
	if (len > max) {
		return lks_err(ctx, -LKS_E_TOOBIG, "%s is too large (%zu bytes, limit %zu)", what,
		               len, max);
	}
	if (!depth_ok(data, len, LKS_JSON_MAX_DEPTH)) {
		return lks_err(ctx, -LKS_E_TOOBIG, "%s nests deeper than %d levels", what,
		               LKS_JSON_MAX_DEPTH);
	}
	json_error_t e;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		return lks_err(ctx, -LKS_E_PARSE, "%s is not valid JSON: %s (line %d)", what,
		               e.text, e.line);
	}
	*out = j;
	return 0;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	return lks_buf_append(data, buffer, size) < 0 ? -1 : 0;
}

int lks_json_dump_stable(struct lks_ctx *ctx, const json_t *j, struct lks_buf *out)
{
	if (json_dump_callback(j, dump_cb, out, JSON_SORT_KEYS | JSON_INDENT(2)) < 0) {
		return lks_err(ctx, -ENOMEM, "cannot serialise JSON");
	}
	return lks_buf_putc(out, '\n');
}

const char *lks_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_t *lks_json_bytes(const char *s)
{
	if (!s) {
		return json_null();
	}
	json_t *j = json_string(s);
	if (j) {
		return j;
	}
	struct lks_buf b;
	lks_buf_init(&b, 0);
	if (lks_esc_printable(&b, s) == 0) {
		j = json_string(b.data ? b.data : "");
	}
	lks_buf_free(&b);
	return j;
}

static json_t *error_object(const struct lks_json_error *e)
{
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "message", lks_json_bytes(e->message)) < 0 ||
	    (e->file && json_object_set_new(o, "file", lks_json_bytes(e->file)) < 0) ||
	    (e->line > 0 && json_object_set_new(o, "line", json_integer(e->line)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int lks_json_error_doc(struct lks_ctx *ctx, const char *skeleton, const char *findings,
                       const struct lks_json_error *e, struct lks_buf *out)
{
	json_auto_t *doc = json_loads(skeleton, 0, NULL);
	json_t *err = doc ? error_object(e) : NULL;
	if (!err || json_object_set_new(doc, "error", err) < 0) {
		return lks_err(ctx, -ENOMEM, "cannot build the JSON error document");
	}
	json_t *arr = findings ? json_object_get(doc, findings) : NULL;
	if (arr) {
		json_t *f = json_pack(
		    "{s:o, s:I, s:s, s:s, s:s, s:O}", "file", lks_json_bytes(e->file ? e->file : ""),
		    "line",
		    (json_int_t)(e->line > 0 ? e->line : 0), "severity", "error", "code",
		    "lockstep-error", "subject", "", "message", json_object_get(err, "message"));
		if (!f || json_array_append_new(arr, f) < 0) {
			return lks_err(ctx, -ENOMEM, "cannot build the JSON error document");
		}
	}
	return lks_json_dump_stable(ctx, doc, out);
}
