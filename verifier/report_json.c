/* The JSON report, schema "lockstep-diff/1" (docs/diff-json.md). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include "lockstep/buf.h"
#include "lockstep/json.h"
#include "lockstep/report.h"
#include "verifier/report.h"

/* A JSON string for raw bytes: escaped (\xNN) when not valid UTF-8, so never dropped. */
static json_t *jstr(const char *s)
{
	return lks_json_bytes(s);
}

static json_t *fields_arr(uint32_t f)
{
	json_t *a = json_array();
	for (int i = 0; i < LKS_F_NFIELDS && a; i++) {
		if (f & (1u << i)) {
			json_array_append_new(a, json_string(lks_field_name(1u << i)));
		}
	}
	return a;
}

static json_t *meta(const struct lks_fentry *e)
{
	char hex[65] = "";
	for (int i = 0; e->type == 'f' && i < 32; i++) {
		snprintf(hex + 2 * i, 3, "%02x", e->hash[i]);
	}
	char mode[8];
	snprintf(mode, sizeof(mode), "%04o", (unsigned)e->mode);
	return json_pack("{s:s#,s:s,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:o,s:o,s:o,s:b}", "type", &e->type,
	                 1, "mode", mode, "uid", (json_int_t)e->uid, "gid", (json_int_t)e->gid,
	                 "uname", jstr(e->uname), "gname", jstr(e->gname), "size",
	                 (json_int_t)e->size, "mtime", (json_int_t)e->mtime.tv_sec, "mtime_nsec",
	                 (json_int_t)e->mtime.tv_nsec, "link", jstr(e->link), "sha256",
	                 hex[0] ? json_string(hex) : json_null(), "xattrs", jstr(e->xattrs),
	                 "hardlink", e->hardlink);
}

static json_t *file_json(const struct lks_file_diff *fd)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "detail", jstr(fd->detail), "path",
	                 jstr(fd->path), "fields", fields_arr(fd->fields), "ignored",
	                 fields_arr(fd->ignored), "a", fd->has_a ? meta(&fd->a) : json_null(), "b",
	                 fd->has_b ? meta(&fd->b) : json_null(), "cause", jstr(fd->cause), "hint",
	                 jstr(fd->hint));
}

static json_t *layer_json(const struct lks_layer_diff *ld)
{
	json_t *files = json_array();
	for (size_t i = 0; i < ld->n_files && files; i++) {
		json_array_append_new(files, file_json(&ld->files[i]));
	}
	json_t *df = ld->dockerfile_line ? json_pack("{s:i,s:o}", "line", ld->dockerfile_line,
	                                             "text", jstr(ld->dockerfile_text))
	                                 : json_null();
	return json_pack(
	    "{s:I,s:s,s:b,s:o,s:o,s:s,s:s,s:o,s:i,s:o,s:o,s:b,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:o}",
	    "index", (json_int_t)ld->index + 1, "status", report_status(ld->status), "verified",
	    ld->verified, "digest_a",
	    jstr(ld->digest_a), "digest_b", jstr(ld->digest_b), "compression_a", ld->filter_a,
	    "compression_b", ld->filter_b, "created_by", jstr(ld->created_by), "history_index",
	    ld->history_index, "dockerfile", df, "compression_verdict", jstr(ld->compression),
	    "order_differs", ld->order_differs, "entries_a", (json_int_t)ld->n_entries_a,
	    "entries_b", (json_int_t)ld->n_entries_b, "files_differ",
	    (json_int_t)ld->n_files_differ, "files_normalized", (json_int_t)ld->n_files_normalized,
	    "normalized", (json_int_t)ld->n_normalized, "timestamps_normalized",
	    (json_int_t)ld->n_timestamps, "files", files);
}

static json_t *jdiffs(const struct lks_json_diff *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n && a; i++) {
		json_array_append_new(
		    a, json_pack("{s:o,s:o,s:o,s:b,s:b,s:o}", "path", jstr(v[i].path), "a",
		                 jstr(v[i].a), "b", jstr(v[i].b), "normalized", v[i].normalized,
		                 "derived", v[i].derived, "cause", jstr(v[i].cause)));
	}
	return a;
}

static json_t *platform_json(const struct lks_platform_diff *pd)
{
	json_t *layers = json_array();
	for (size_t i = 0; i < pd->n_layers && layers; i++) {
		json_array_append_new(layers, layer_json(&pd->layers[i]));
	}
	char only[2] = {pd->only_in, 0};
	return json_pack(
	    "{s:o,s:o,s:b,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "platform", jstr(pd->platform), "only_in",
	    pd->only_in ? json_string(only) : json_null(), "differs", pd->differs, "layers_a",
	    (json_int_t)pd->n_layers_a, "layers_b", (json_int_t)pd->n_layers_b, "normalized",
	    (json_int_t)pd->n_normalized, "timestamps_normalized", (json_int_t)pd->n_timestamps,
	    "layers", layers, "config", jdiffs(pd->config, pd->n_config), "manifest",
	    jdiffs(pd->manifest, pd->n_manifest));
}

json_t *report_json_doc(const struct lks_diff_result *r)
{
	json_t *plats = json_array();
	for (size_t i = 0; i < r->n_platforms && plats; i++) {
		json_array_append_new(plats, platform_json(&r->platforms[i]));
	}
	json_t *doc = json_pack("{s:s,s:o,s:o,s:b,s:{s:I,s:I},s:o}", "schema", LKS_REPORT_SCHEMA,
				"a", jstr(r->a_name), "b", jstr(r->b_name), "differs",
				r->differs, "attestations", "a", (json_int_t)r->n_attestations_a,
				"b", (json_int_t)r->n_attestations_b, "platforms", plats);
	if (doc && json_object_set_new(doc, "index", jdiffs(r->index, r->n_index)) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int report_json(const struct lks_diff_result *r, struct lks_buf *out)
{
	json_auto_t *doc = report_json_doc(r);
	if (!doc) {
		return -ENOMEM;
	}
	return lks_json_dump_stable(NULL, doc, out);
}
